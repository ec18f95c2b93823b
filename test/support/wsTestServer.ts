// A configurable WebSocket test server on the `ws` package, on an ephemeral port of 127.0.0.1,
// plain or TLS (with the self-signed fixture certificate of test/sim/fixtures).
//
// Every connection echoes messages back with their type, except text commands:
//   '!close <code> [reason]'  the server closes with that code and reason
//   '!send <n>'               the server sends a binary message of n bytes (byte i = i & 255)
//   '!ping <payload>'         the server pings with that payload (its Pong is recorded)
//   '!terminate'              the server drops TCP without a closing handshake
// and the URL path can ask for something at once:
//   /close/<code>/<reason>    close right after the handshake
//   /send/<n>                 send n bytes as above right after the handshake
// Everything each connection sees is recorded.
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

const FIXTURES = new URL('../sim/fixtures/', import.meta.url);
export const fixturePath = (name: string) => new URL(name, FIXTURES).pathname;

/** Key and certificate of the TLS test servers: the self-signed fixture pair. */
export const tlsOptions = () => ({ key: fs.readFileSync(fixturePath('server-key.pem')), cert: fs.readFileSync(fixturePath('server-cert.pem')) });

/** Python that sets CTX, the ssl argument for the TLS servers here: on CPython a context that
 *  trusts the fixture certificate; on the simulated board (like the ESP8266's axTLS, which
 *  verifies nothing) None. */
export const trustFixturePy = (target: string) =>
  target === 'cpython'
    ? `import ssl as _ssl\nCTX = _ssl.create_default_context(cafile=${JSON.stringify(fixturePath('server-cert.pem'))})\n`
    : 'CTX = None\n';

export interface WsRecord {
  path: string;
  headers: http.IncomingHttpHeaders;
  protocol: string;
  messages: { data: Buffer; isBinary: boolean }[];
  pings: Buffer[];
  pongs: Buffer[];
  /** What the client's Close said, once the connection has closed (1005: none, 1006: no Close). */
  closed: Promise<{ code: number; reason: string }>;
  ws: WebSocket;
}

export interface WsTestServer {
  port: number;
  url: string;
  records: WsRecord[];
  /** The first connection accepted after this call. */
  next(): Promise<WsRecord>;
  close(): Promise<void>;
}

/** Payload of '!send n': byte i is i & 255. */
export const pattern = (n: number) => Buffer.from(Array.from({ length: n }, (_, i) => i & 255));

export async function startWsServer(opts: { tls?: boolean; protocols?: (offered: Set<string>) => string | false } = {}): Promise<WsTestServer> {
  const server = opts.tls
    ? https.createServer(tlsOptions())
    : http.createServer();
  const wss = new WebSocketServer({
    server,
    maxPayload: 16 * 1024 * 1024,
    handleProtocols: opts.protocols ? (p) => opts.protocols?.(p) ?? false : undefined,
  });
  const records: WsRecord[] = [];
  let takers: { index: number; take: (r: WsRecord) => void }[] = [];
  wss.on('connection', (ws, req) => {
    let resolveClosed!: (c: { code: number; reason: string }) => void;
    const rec: WsRecord = {
      path: req.url ?? '/',
      headers: req.headers,
      protocol: ws.protocol,
      messages: [],
      pings: [],
      pongs: [],
      closed: new Promise((r) => (resolveClosed = r)),
      ws,
    };
    records.push(rec);
    const ready = takers.filter((t) => t.index < records.length);
    takers = takers.filter((t) => t.index >= records.length);
    for (const t of ready) t.take(records[t.index] as WsRecord);
    ws.on('error', () => {});
    ws.on('close', (code, reason) => resolveClosed({ code, reason: reason.toString('utf8') }));
    ws.on('ping', (d) => rec.pings.push(Buffer.from(d)));
    ws.on('pong', (d) => rec.pongs.push(Buffer.from(d)));
    const sendBig = (n: number) => ws.send(pattern(n), { binary: true });
    ws.on('message', (data, isBinary) => {
      const d = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
      rec.messages.push({ data: d, isBinary });
      const s = isBinary ? '' : d.toString('utf8');
      let m: RegExpExecArray | null;
      if ((m = /^!close (\d+) ?(.*)$/s.exec(s))) ws.close(Number(m[1]), m[2]);
      else if ((m = /^!send (\d+)$/.exec(s))) sendBig(Number(m[1]));
      else if ((m = /^!ping (.*)$/s.exec(s))) ws.ping(m[1]);
      else if (s === '!terminate') ws.terminate();
      else ws.send(d, { binary: isBinary });
    });
    const path = rec.path.split('/');
    if (path[1] === 'close') ws.close(Number(path[2]), decodeURIComponent(path[3] ?? ''));
    else if (path[1] === 'send') sendBig(Number(path[2]));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: `${opts.tls ? 'wss' : 'ws'}://${opts.tls ? 'localhost' : '127.0.0.1'}:${port}`,
    records,
    next: () => {
      const index = records.length;
      return new Promise<WsRecord>((take) => takers.push({ index, take }));
    },
    close: async () => {
      for (const c of wss.clients) c.terminate();
      await new Promise<void>((r) => wss.close(() => r()));
      server.closeAllConnections?.();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
