// A raw TCP WebSocket "server" for hostile tests: it reads the client's opening handshake,
// answers it (correctly or not) itself, and then writes whatever bytes a test scripts, frame
// by frame, split across writes, byte by byte, or glued to the 101 response, so that tests
// can send what a real server (or the `ws` package) never would. It records everything the
// client sends, with arrival times, and parses it into frames.
import * as net from 'node:net';
import { sleep } from './net.ts';
import { acceptKey, parseFrames, type ParsedFrame, type Bytes, bytes, close as closeFrame, closeInfo, OP } from './wsFrames.ts';


export interface RequestHead {
  /** The request line, e.g. 'GET /path HTTP/1.1'. */
  line: string;
  /** Header names lower-cased; repeated headers joined with ', '. */
  headers: Record<string, string>;
  raw: string;
}

export interface ResponseOptions {
  status?: string;
  /** Value of the Upgrade header, or null to leave it out. */
  upgrade?: string | null;
  /** Value of the Connection header, or null to leave it out. */
  connection?: string | null;
  /** Value of Sec-WebSocket-Accept (default: the right one), or null to leave it out. */
  accept?: string | null;
  /** More header lines, e.g. ['Sec-WebSocket-Protocol: chat']. */
  extra?: string[];
  /** Bytes written in the same write as the response, right after its empty line. */
  trailing?: Bytes;
}

export interface Chunk {
  at: number;
  data: Buffer;
}

export class RawConnection {
  readonly socket: net.Socket;
  /** Chunks received after the request head, as the server's socket delivered them. */
  readonly chunks: Chunk[] = [];
  /** The client's request head, once read. */
  readonly request: Promise<RequestHead>;
  /** Resolves when the client has ended its side of TCP (FIN) or the socket closed; with the time. */
  readonly clientEnded: Promise<number>;
  /** Resolves when the socket is fully closed (reset included). */
  readonly closed: Promise<number>;
  /** True if the client reset the connection. */
  reset = false;
  /** Settles when the connection's script has finished (rejects with its error). */
  done: Promise<void> = Promise.resolve();
  private head = Buffer.alloc(0);
  private headDone = false;
  private data = Buffer.alloc(0);
  private waiters: (() => void)[] = [];
  private ended = false;

  constructor(socket: net.Socket) {
    this.socket = socket;
    socket.setNoDelay(true); // so that separate writes go out as separate segments
    let resolveRequest!: (h: RequestHead) => void;
    this.request = new Promise((r) => (resolveRequest = r));
    let resolveEnded!: (t: number) => void;
    this.clientEnded = new Promise((r) => (resolveEnded = r));
    let resolveClosed!: (t: number) => void;
    this.closed = new Promise((r) => (resolveClosed = r));
    socket.on('data', (d: Buffer) => {
      if (!this.headDone) {
        this.head = Buffer.concat([this.head, d]);
        const e = this.head.indexOf('\r\n\r\n');
        if (e < 0) return;
        this.headDone = true;
        const raw = this.head.subarray(0, e).toString('latin1');
        const rest = this.head.subarray(e + 4);
        const [line = '', ...lines] = raw.split('\r\n');
        const headers: Record<string, string> = {};
        for (const l of lines) {
          const i = l.indexOf(':');
          if (i <= 0) continue;
          const k = l.slice(0, i).trim().toLowerCase();
          const v = l.slice(i + 1).trim();
          headers[k] = k in headers ? `${headers[k]}, ${v}` : v;
        }
        resolveRequest({ line, headers, raw });
        if (!rest.length) return;
        d = rest;
      }
      this.chunks.push({ at: performance.now(), data: d });
      this.data = Buffer.concat([this.data, d]);
      this.wake();
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNRESET') this.reset = true;
    });
    socket.on('end', () => {
      this.ended = true;
      resolveEnded(performance.now());
      this.wake();
    });
    socket.on('close', () => {
      this.ended = true;
      resolveEnded(performance.now());
      resolveClosed(performance.now());
      this.wake();
    });
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Everything received after the request head. */
  get received(): Buffer {
    return this.data;
  }

  /** The client's frames received so far; `rest` is an incomplete frame at the end. */
  parsed(): { frames: ParsedFrame[]; rest: Buffer } {
    return parseFrames(this.data);
  }

  frames(): ParsedFrame[] {
    return this.parsed().frames;
  }

  /** Waits until `pred` holds for the client's frames (or throws after ms, or if the client ends first). */
  async waitFrames(pred: (frames: ParsedFrame[]) => boolean, ms = 5000, what = 'client frames'): Promise<ParsedFrame[]> {
    const deadline = performance.now() + ms;
    for (;;) {
      const f = this.frames();
      if (pred(f)) return f;
      if (this.ended) throw new Error(`client closed TCP while waiting for ${what}; got ${describeFrames(f)}`);
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; got ${describeFrames(f)}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  /** Waits for the n-th (0-based) client frame with this opcode. */
  async waitOp(op: number, n = 0, ms = 5000): Promise<ParsedFrame> {
    const f = await this.waitFrames((fs) => fs.filter((x) => x.op === op).length > n, ms, `client frame op=${op} #${n}`);
    return f.filter((x) => x.op === op)[n] as ParsedFrame;
  }

  /** Waits for the client's Close frame and returns its code and reason. */
  async waitClose(ms = 5000): Promise<{ code?: number; reason: string; frame: ParsedFrame }> {
    const f = await this.waitOp(OP.CLOSE, 0, ms);
    return { ...closeInfo(f.payload), frame: f };
  }

  /** Writes bytes (one write); resolves once handed to the kernel. */
  write(data: Bytes): Promise<void> {
    const b = bytes(data);
    return new Promise((resolve) => {
      if (this.socket.destroyed || this.socket.writableEnded) return resolve();
      this.socket.write(b, () => resolve());
    });
  }

  /** Writes bytes in pieces of `size` bytes, `gapMs` apart: each piece its own TCP segment. */
  async writeSplit(data: Bytes, size = 1, gapMs = 2): Promise<void> {
    const b = bytes(data);
    for (let i = 0; i < b.length; i += size) {
      await this.write(b.subarray(i, i + size));
      if (gapMs) await sleep(gapMs);
    }
  }

  /** The 101 response to the request (right, or wrong as told), as bytes. */
  async response(o: ResponseOptions = {}): Promise<Buffer> {
    const req = await this.request;
    const key = req.headers['sec-websocket-key'] ?? '';
    const lines = [`HTTP/1.1 ${o.status ?? '101 Switching Protocols'}`];
    if (o.upgrade !== null) lines.push(`Upgrade: ${o.upgrade ?? 'websocket'}`);
    if (o.connection !== null) lines.push(`Connection: ${o.connection ?? 'Upgrade'}`);
    if (o.accept !== null) lines.push(`Sec-WebSocket-Accept: ${o.accept ?? acceptKey(key)}`);
    lines.push(...(o.extra ?? []));
    return Buffer.concat([Buffer.from(lines.join('\r\n') + '\r\n\r\n', 'latin1'), bytes(o.trailing ?? '')]);
  }

  /** Answers the handshake (in one write, with o.trailing glued to it). */
  async handshake(o: ResponseOptions = {}): Promise<void> {
    await this.write(await this.response(o));
  }

  /**
   * Answers the handshake, then waits for the client's first text frame (by convention
   * 'ready', sent right after connect() returns), so that frames written next cannot arrive
   * together with the 101 response.
   */
  async handshakeReady(o: ResponseOptions = {}): Promise<void> {
    await this.handshake(o);
    await this.waitOp(OP.TEXT, 0, 5000);
  }

  /** Half-closes TCP (FIN). */
  end(): void {
    this.socket.end();
  }

  /**
   * The server's part of a closing handshake the client started: wait for its Close, echo
   * the code (or send `reply`), then end TCP. Returns the client's close code and reason.
   */
  async answerClose(reply?: Buffer, ms = 5000): Promise<{ code?: number; reason: string; frame: ParsedFrame }> {
    const c = await this.waitClose(ms);
    await this.write(reply ?? closeFrame(c.code));
    this.end();
    return c;
  }
}

export function describeFrames(frames: ParsedFrame[]): string {
  return (
    '[' +
    frames
      .map((f) => {
        const p = f.op === OP.CLOSE ? JSON.stringify(closeInfo(f.payload)) : f.payload.length > 40 ? `${f.payload.length} bytes` : JSON.stringify(f.payload.toString('latin1'));
        return `op=${f.op}${f.fin ? '' : ' !fin'}${f.masked ? '' : ' UNMASKED'} ${p}`;
      })
      .join(', ') +
    ']'
  );
}

export interface RawServer {
  port: number;
  url: string;
  connections: RawConnection[];
  close(): Promise<void>;
}

/**
 * Starts a raw server on an ephemeral port of 127.0.0.1 (or host: '::1' for IPv6). `script`
 * runs for each connection (after nothing has been read: await c.request or c.handshake() first).
 */
export async function startRawServer(script?: (c: RawConnection) => Promise<void> | void, host = '127.0.0.1'): Promise<RawServer> {
  const connections: RawConnection[] = [];
  const sockets = new Set<net.Socket>();
  const srv = net.createServer({ allowHalfOpen: true }, (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    const c = new RawConnection(s);
    connections.push(c);
    if (script) {
      c.done = Promise.resolve().then(() => script(c));
      c.done.catch(() => {}); // reported through done
    }
  });
  await new Promise<void>((r) => srv.listen(0, host, r));
  const port = (srv.address() as net.AddressInfo).port;
  return {
    port,
    url: `ws://${host.includes(':') ? `[${host}]` : host}:${port}/`,
    connections,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise<void>((r) => srv.close(() => r()));
    },
  };
}
