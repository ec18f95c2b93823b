// Real Socket.IO servers for the end-to-end tests of the Socket.IO client (runtime-esp8266/
// usocketio), on ephemeral ports of 127.0.0.1, and what they record:
//   - the `socket.io` 4.8 package (Engine.IO 4, and 3 with allowEIO3), in process;
//   - the `socket.io` 2.x package (npm alias `socket.io-v2`, Engine.IO 3), in process;
//   - Flask-SocketIO 5 on eventlet from Debian (py/flask_sio_server.py), in a /usr/bin/python3;
// and a TCP proxy the tests control, to freeze or cut a connection.
//
// The Node servers behave alike on namespaces '/', '/chat', '/private' (its middleware wants
// auth {token: 'secret'}, or ?token=secret on protocol 4, which has no auth) and '/admin' (its
// middleware refuses everyone, with data) and '/slow' (its middleware lets everyone in after
// ?slow=<ms>, 500 by default). On each, every event is recorded, and:
//   echo(...args, ack)      acks with the args
//   reflect(...args)        emits 'echo' with the args
//   ask(event, ...args)     emits event with args and an ack callback; the answer is recorded
//                           ('answer'); acks 'asked' if the client asked for an ack
//   kick()                  disconnects the socket (socket.disconnect(true))
//   burst(n, prefix)        emits 'burst' n times at once: prefix + i
//   big(n, marker)          emits 'big': n 'x's with marker in the middle
// and '/' emits 'welcome' ('hello <tag>') on connection if the query has welcome=1. Hostile
// choices, by the handshake's query: on socket.io 4.8, ?sidis=crlf, long or reserved makes the
// Engine.IO sid one with CR/LF and a header line in it, 30,000 characters, or characters that
// mean something in a query ('+', '/', '=', '&', ' '); on '/slow', ?drop=1 closes the Engine.IO
// session instead of letting the socket in.
// Each client tags its connection with ?case=<tag> (the handshake query), so that the cases
// of one describe can share a server.
import { createRequire } from 'node:module';
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import * as path from 'node:path';
import type { AddressInfo } from 'node:net';
import { Server as Sio4Server, type ServerOptions } from 'socket.io';
import { ROOT, debianPythonLacks, reviver, spawnDebianServer, stopChild } from './pyRunner.ts';
import { eventLog } from './eventLog.ts';
import { tlsOptions } from './wsTestServer.ts';

const require = createRequire(import.meta.url);


export interface SioEvent {
  /** engine: an Engine.IO session opened (transport: its first); upgrade: it upgraded
   *  (transport: the new one); middleware: a namespace middleware ran; connect, disconnect
   *  (reason); event (name, args); answer (name: the event asked, args: the client's ack);
   *  packet (with the packets option: an Engine.IO message packet, dir 'in' or 'out');
   *  closed: the Engine.IO session ended (reason: the server's, e.g. 'transport close' for a
   *  close packet, 'ping timeout' for a client that left without one); request (with the
   *  requests option): an HTTP request or WebSocket upgrade arrived (url, headers). */
  kind: 'engine' | 'upgrade' | 'middleware' | 'connect' | 'disconnect' | 'event' | 'answer' | 'packet' | 'closed' | 'request';
  tag: string;
  ns?: string;
  sid?: string;
  /** The Engine.IO session's id. */
  eid?: string;
  transport?: string;
  name?: string;
  args?: unknown[];
  reason?: string;
  auth?: unknown;
  query?: Record<string, unknown>;
  dir?: 'in' | 'out';
  data?: unknown;
  /** The request's target (request), as sent. */
  url?: string;
  /** The request's headers (engine: the handshake's; request), names in lower case. */
  headers?: Record<string, unknown>;
  t: number;
}

export interface SioServer {
  port: number;
  url: string;
  events: SioEvent[];
  /** Events of one tag (and kind). */
  of(tag: string, kind?: SioEvent['kind']): SioEvent[];
  /** The first event that matches, waiting up to ms for it. */
  wait(pred: (e: SioEvent) => boolean, ms?: number, what?: string): Promise<SioEvent>;
  /** Drops every TCP connection at once and stops listening, as if the process died. */
  kill(): Promise<void>;
  /** Listens again on the same port, with a fresh server (kill() first). */
  restart(): Promise<void>;
  close(): Promise<void>;
}

type Kind = 'v4' | 'v2';

export interface SioOptions {
  transports?: ('polling' | 'websocket')[];
  allowEIO3?: boolean;
  pingInterval?: number;
  pingTimeout?: number;
  /** Record every Engine.IO message packet both ways (kind 'packet'). */
  packets?: boolean;
  /** HTTPS with the self-signed fixture certificate (test/sim/fixtures), url https://localhost. */
  tls?: boolean;
  /** Record every HTTP request and WebSocket upgrade (kind 'request'), and take request heads
   *  up to 64 KiB (Node's default, 16 KiB, would answer a longer one 431 unrecorded). */
  requests?: boolean;
  /** socket.io's maxHttpBufferSize (its maxPayload in the handshake); its default otherwise. */
  maxHttpBufferSize?: number;
}

function tagOf(q: unknown): string {
  const v = (q as Record<string, unknown> | undefined)?.case;
  return typeof v === 'string' ? v : '';
}

/** Arguments as recorded: functions (ack callbacks) left out. */
const plain = (args: unknown[]) => args.filter((a) => typeof a !== 'function');

/** A server's event log: the SioServer members events, of and wait, and record(). */
function sioLog(who: string, more?: () => string) {
  const log = eventLog<SioEvent>(who, more);
  return {
    events: log.events,
    wait: log.wait,
    of: (tag: string, kind?: SioEvent['kind']) => log.events.filter((e) => e.tag === tag && (!kind || e.kind === kind)),
    /** Records e, stamped now. */
    record: (e: Omit<SioEvent, 't'>) => log.record({ ...e, t: performance.now() }),
  };
}

/** Starts a socket.io 4.8 server ('v4') or a socket.io 2.x server ('v2'). */
export async function startSioServer(kind: Kind, opts: SioOptions = {}): Promise<SioServer> {
  const log = sioLog('the server');
  const record = log.record;
  let port = 0;
  let httpServer: http.Server;
  let io: any;
  let conns = new Set<net.Socket>();

  async function listen(): Promise<void> {
    const heads = opts.requests ? { maxHeaderSize: 1 << 16 } : {};
    httpServer = opts.tls
      ? https.createServer({ ...tlsOptions(), ...heads })
      : http.createServer(heads);
    conns = new Set();
    httpServer.on('connection', (s) => {
      conns.add(s);
      s.on('close', () => conns.delete(s));
    });
    const common = {
      transports: opts.transports ?? ['polling', 'websocket'],
      pingInterval: opts.pingInterval ?? 25000,
      pingTimeout: opts.pingTimeout ?? 20000,
      ...(opts.maxHttpBufferSize ? { maxHttpBufferSize: opts.maxHttpBufferSize } : {}),
    };
    if (kind === 'v4') {
      io = new Sio4Server(httpServer, { ...common, allowEIO3: opts.allowEIO3 ?? false } as Partial<ServerOptions>);
      const id = io.engine.generateId.bind(io.engine);
      let n = 0;
      io.engine.generateId = (req: http.IncomingMessage) => {
        const hostile = new URL(req.url ?? '/', 'http://x').searchParams.get('sidis');
        n++;
        if (hostile === 'crlf') return `s${n}\r\nX-Injected: yes`;
        if (hostile === 'long') return 'x'.repeat(30_000);
        if (hostile === 'reserved') return `a+b/c=d&e f${n}`;
        return id(req);
      };
    } else {
      const v2 = require('socket.io-v2');
      io = v2(httpServer, common);
    }
    install(io, kind, record, opts.packets ?? false);
    if (opts.requests) // (after the server: engine.io takes over the 'request' listeners)
      for (const ev of ['request', 'upgrade'])
        httpServer.prependListener(ev, (req: http.IncomingMessage) =>
          record({ kind: 'request', tag: new URL(req.url ?? '/', 'http://x').searchParams.get('case') ?? '', url: req.url, headers: { ...req.headers } }),
        );
    await new Promise<void>((res, rej) => {
      httpServer.once('error', rej);
      httpServer.listen(port, '127.0.0.1', () => res());
    });
    port = (httpServer.address() as AddressInfo).port;
  }

  await listen();
  let killed = false;

  const srv: SioServer = {
    port,
    url: opts.tls ? `https://localhost:${port}` : `http://127.0.0.1:${port}`,
    events: log.events,
    of: log.of,
    wait: log.wait,
    async kill() {
      killed = true;
      httpServer.close();
      for (const s of conns) s.destroy();
      conns.clear();
      try {
        io.close();
      } catch {
        // already closed
      }
    },
    async restart() {
      if (!killed) throw new Error('restart() without kill()');
      killed = false;
      await listen();
    },
    async close() {
      if (killed) return;
      killed = true;
      for (const s of conns) s.destroy();
      await new Promise<void>((r) => {
        try {
          io.close(() => r());
        } catch {
          r();
        }
        setTimeout(r, 2000);
      });
    },
  };
  return srv;
}

function install(io: any, kind: Kind, record: (e: Omit<SioEvent, 't'>) => void, packets: boolean): void {
  io.engine.on('connection', (sock: any) => {
    const url = new URL(sock.request.url, 'http://x');
    const tag = url.searchParams.get('case') ?? '';
    record({ kind: 'engine', tag, eid: sock.id, transport: sock.transport.name, query: Object.fromEntries(url.searchParams), headers: { ...sock.request.headers } });
    sock.on('upgrade', (t: any) => record({ kind: 'upgrade', tag, eid: sock.id, transport: t.name }));
    sock.on('close', (reason: string) => record({ kind: 'closed', tag, eid: sock.id, reason }));
    if (packets) {
      sock.on('packet', (p: any) => p.type === 'message' && record({ kind: 'packet', tag, eid: sock.id, dir: 'in', data: p.data }));
      sock.on('packetCreate', (p: any) => p.type === 'message' && record({ kind: 'packet', tag, eid: sock.id, dir: 'out', data: p.data }));
    }
  });
  for (const name of ['/', '/chat', '/private', '/admin', '/slow']) {
    const nsp = io.of(name);
    if (name === '/private')
      nsp.use((socket: any, next: (e?: Error) => void) => {
        const auth = kind === 'v4' ? socket.handshake.auth : undefined;
        const token = auth?.token ?? socket.handshake.query.token;
        record({ kind: 'middleware', tag: tagOf(socket.handshake.query), ns: name, auth, query: { ...socket.handshake.query } });
        if (token === 'secret') return next();
        const err = new Error('bad token') as Error & { data?: unknown };
        err.data = { code: 401, token: token ?? null };
        next(err);
      });
    if (name === '/admin')
      nsp.use((socket: any, next: (e?: Error) => void) => {
        record({ kind: 'middleware', tag: tagOf(socket.handshake.query), ns: name });
        const err = new Error('not authorized') as Error & { data?: unknown };
        err.data = { code: 403, why: 'admins only ✓' };
        next(err);
      });
    if (name === '/slow')
      nsp.use((socket: any, next: (e?: Error) => void) => {
        record({ kind: 'middleware', tag: tagOf(socket.handshake.query), ns: name });
        if (socket.handshake.query.drop) socket.conn.close();
        else setTimeout(next, Number(socket.handshake.query.slow ?? 500));
      });
    nsp.on('connection', (socket: any) => {
      const tag = tagOf(socket.handshake.query);
      const base = { tag, ns: name, sid: socket.id as string, eid: socket.conn.id as string };
      record({
        ...base,
        kind: 'connect',
        transport: socket.conn.transport.name,
        auth: kind === 'v4' ? socket.handshake.auth : undefined,
        query: { ...socket.handshake.query },
      });
      socket.on('disconnect', (reason: string) => record({ ...base, kind: 'disconnect', reason }));
      if (name === '/' && socket.handshake.query.welcome) socket.emit('welcome', `hello ${tag}`);
      socket.use((packet: unknown[], next: () => void) => {
        record({ ...base, kind: 'event', name: packet[0] as string, args: plain(packet.slice(1)) });
        next();
      });
      socket.on('echo', (...args: unknown[]) => {
        const ack = args[args.length - 1];
        if (typeof ack === 'function') ack(...args.slice(0, -1));
      });
      socket.on('reflect', (...args: unknown[]) => socket.emit('echo', ...args));
      socket.on('ask', (event: string, ...args: unknown[]) => {
        const ack = args[args.length - 1];
        if (typeof ack === 'function') args.pop();
        socket.emit(event, ...args, (...answer: unknown[]) => record({ ...base, kind: 'answer', name: event, args: answer }));
        if (typeof ack === 'function') ack('asked');
      });
      socket.on('kick', () => socket.disconnect(true));
      socket.on('burst', (n: number, prefix: string) => {
        for (let i = 0; i < n; i++) socket.emit('burst', prefix + i);
      });
      socket.on('big', (n: number, marker: string) => socket.emit('big', 'x'.repeat(n >> 1) + marker + 'x'.repeat(n - (n >> 1))));
    });
  }
}

// ------------------------------------------------------------------------------------- TCP proxy

export interface Proxy {
  port: number;
  url: string;
  /** Connections made through it so far. */
  count: number;
  /** Hold a new connection whose request asks for transport=websocket until this settles
   *  before forwarding it: an upgrade that waits, while polling carries the session. */
  holdWebsocket?: Promise<unknown>;
  /** Stops forwarding on every connection open now (both ways, silently); new ones pass. */
  freeze(): void;
  /** On the next server-to-client bytes that hold `marker`, forwards what precedes it and half
   *  of it, then destroys both sides; resolves when it has. */
  cutAt(marker: string): Promise<void>;
  close(): Promise<void>;
}

export async function startProxy(targetPort: number): Promise<Proxy> {
  const pairs = new Set<{ a: net.Socket; b: net.Socket; frozen: boolean }>();
  let cut: { marker: Buffer; done: () => void } | undefined;
  const server = net.createServer({ allowHalfOpen: false }, (a) => {
    proxy.count++;
    const b = net.connect(targetPort, '127.0.0.1');
    const pair = { a, b, frozen: false };
    pairs.add(pair);
    let tail = Buffer.alloc(0); // the last bytes sent to the client, for a marker across chunks
    let first = true;
    let held: Buffer[] | undefined;
    a.on('data', (d) => {
      if (pair.frozen) return;
      if (first && proxy.holdWebsocket && d.includes('transport=websocket')) {
        held = [];
        const release = () => {
          for (const x of held ?? []) if (!pair.frozen) b.write(x);
          held = undefined;
        };
        proxy.holdWebsocket.then(release, release);
      }
      first = false;
      if (held) held.push(d);
      else b.write(d);
    });
    b.on('data', (d) => {
      if (pair.frozen) return;
      if (cut) {
        const win = Buffer.concat([tail, d]);
        const i = win.indexOf(cut.marker);
        if (i >= 0) {
          const upto = i + (cut.marker.length >> 1) - tail.length; // in d
          if (upto > 0) a.write(d.subarray(0, upto));
          const done = cut.done;
          cut = undefined;
          a.end();
          setTimeout(() => {
            a.destroy();
            b.destroy();
            done();
          }, 50);
          pair.frozen = true;
          return;
        }
        tail = win.subarray(Math.max(0, win.length - cut.marker.length));
      }
      a.write(d);
    });
    const end = () => {
      pairs.delete(pair);
      if (pair.frozen) return; // a frozen connection says nothing, not even goodbye
      a.destroy();
      b.destroy();
    };
    a.on('close', end);
    b.on('close', end);
    a.on('error', () => undefined);
    b.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  const proxy: Proxy = {
    port,
    url: `http://127.0.0.1:${port}`,
    count: 0,
    freeze() {
      for (const p of pairs) p.frozen = true;
    },
    cutAt(marker) {
      return new Promise<void>((done) => (cut = { marker: Buffer.from(marker), done }));
    },
    async close() {
      for (const p of pairs) {
        p.a.destroy();
        p.b.destroy();
      }
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
  return proxy;
}

// --------------------------------------------------------------------------- Flask-SocketIO server

/** Why Flask-SocketIO on eventlet cannot run here, or undefined if it can. */
export const flaskSocketioUnavailable = () => debianPythonLacks('flask_socketio', 'eventlet');

/** Flask-SocketIO on eventlet (py/flask_sio_server.py); its events are printed as JSON lines. */
export async function startFlaskServer(): Promise<SioServer> {
  let stderr = () => '';
  const log = sioLog('the Flask server', () => `\n${stderr()}`);
  const { p, port, ...rest } = await spawnDebianServer('Flask-SocketIO server', path.join(ROOT, 'test', 'support', 'py', 'flask_sio_server.py'), (line) =>
    log.record(JSON.parse(line, reviver) as Omit<SioEvent, 't'>),
  );
  stderr = rest.stderr;
  const no = () => {
    throw new Error('not on the Flask server');
  };
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    events: log.events,
    of: log.of,
    wait: log.wait,
    kill: no,
    restart: no,
    close: () => stopChild(p, 'SIGTERM', 3000),
  };
}
