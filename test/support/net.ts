// Small helpers of the tests that talk to servers.
import * as net from 'node:net';
import * as tls from 'node:tls';
import { tlsOptions } from './wsTestServer.ts';

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A port of 127.0.0.1 where nothing listens (now). */
export async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

export interface TestServer {
  port: number;
  conns: net.Socket[];
  /** What the connections have sent so far, as latin1 text. */
  received: () => string;
  close: () => Promise<void>;
}

/** A local TCP (or TLS) server; `handler` gets every accepted connection. */
export async function testServer(handler: (c: net.Socket) => void, secure = false): Promise<TestServer> {
  const conns: net.Socket[] = [];
  let received = '';
  const onConn = (c: net.Socket) => {
    conns.push(c);
    c.on('error', () => {});
    c.on('data', (d) => (received += d.toString('latin1')));
    handler(c);
  };
  const srv = secure ? tls.createServer(tlsOptions(), onConn) : net.createServer(onConn);
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return {
    port: (srv.address() as net.AddressInfo).port,
    conns,
    received: () => received,
    close: () => {
      for (const c of conns) c.destroy();
      return new Promise<void>((r) => srv.close(() => r()));
    },
  };
}
