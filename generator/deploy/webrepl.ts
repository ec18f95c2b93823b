// The WebREPL transport: a board's REPL over a WebSocket (MicroPython's webrepl module).
// Text frames carry the REPL, both ways; binary frames carry the file protocol, of which this
// uses PUT: an 82-byte request, "WB" + u16 status once the file is open, the file's bytes, and
// "WB" + u16 status once it is written. The password is sent once and never kept or shown.

import { WebSocket } from 'ws';
import { DeployError, Link, LinkTimeout, type Pacing } from './link.ts';

/** The file protocol's request: "WA", type, flags, u64 offset, u32 size, u16 name length, name[64]. */
const REQUEST_SIZE = 82;
const PUT = 1;
/** The board reads a file name of up to 63 bytes (it is a C string in a 64-byte field). */
export const MAX_PUT_NAME = 63;
/** The board refuses frames with a 64-bit length; file data goes in frames of this size. */
const DATA_FRAME = 1024;

/** Bytes a client frame of `n` payload bytes takes on the wire: header, length, mask. */
function clientFrameSize(n: number): number {
  return n + 2 + (n > 125 ? 2 : 0) + 4;
}

export interface WebReplOptions {
  password: string;
  timeoutMs: number;
}

export class WebReplLink extends Link {
  readonly name: string;
  // The ESP8266 moves WebREPL input into its 256-byte stdin buffer as it arrives and drops what
  // does not fit, so plain raw mode sends half of it at a time and lets the REPL catch up.
  readonly pacing: Pacing = { chunk: 128, delayMs: 20 };
  private readonly binary: Buffer[] = [];
  private binaryWake: (() => void) | undefined;
  private closed: Error | undefined;
  private readonly ws: WebSocket;

  private constructor(readonly url: string, timeoutMs: number) {
    super();
    this.name = `WebREPL ${url}`;
    this.ws = new WebSocket(url, { perMessageDeflate: false, skipUTF8Validation: true, handshakeTimeout: timeoutMs });
    // Listening from the start: the password prompt may come in the same read as the handshake.
    this.ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) {
        this.binary.push(data);
        this.binaryWake?.();
      } else this.received(data);
    });
    this.ws.on('close', () => {
      this.closed ??= new DeployError(`the board closed ${this.name}`);
      this.end(this.closed);
      this.binaryWake?.();
    });
  }

  /** Connects and logs in; the board is then at its friendly REPL. */
  static async open(url: string, options: WebReplOptions): Promise<WebReplLink> {
    const link = new WebReplLink(url, options.timeoutMs);
    await new Promise<void>((resolve, reject) => {
      link.ws.once('open', () => resolve());
      link.ws.on('error', (e: NodeJS.ErrnoException) => {
        if (e.code === 'ECONNREFUSED') reject(new DeployError(`nothing answers at ${url}: is WebREPL started on the board (import webrepl; webrepl.start()) and the address right?`));
        else if (/hang up|ECONNRESET|closed before/i.test(e.message)) {
          reject(new DeployError(`the board at ${url} closed the connection at once: WebREPL takes one client at a time, so another one is probably connected (a browser tab?)`));
        } else reject(new DeployError(`cannot connect to ${url}: ${e.message}`));
      });
    });
    try {
      await link.login(options.password, options.timeoutMs);
    } catch (e) {
      await link.close();
      throw e;
    }
    return link;
  }

  private async login(password: string, timeoutMs: number): Promise<void> {
    const doing = 'waiting for the password prompt';
    await this.readUntil('Password: ', timeoutMs, doing).catch((e: Error) => {
      throw e instanceof LinkTimeout ? e : new DeployError(`${this.name} closed before asking for the password`);
    });
    await this.write(password + '\r');
    for (;;) {
      const line = (await this.readUntil('\r\n', timeoutMs, 'logging in')).toString('latin1');
      if (line === 'Access denied') throw new DeployError('the board refused the WebREPL password (access denied)');
      if (line === 'WebREPL connected') break;
    }
    await this.readUntil('>>> ', timeoutMs, 'logging in');
  }

  write(bytes: Uint8Array | string): Promise<void> {
    const b = typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : Buffer.from(bytes);
    return this.send(b, false);
  }

  private send(b: Buffer, binary: boolean): Promise<void> {
    if (this.closed) return Promise.reject(this.closed);
    return new Promise<void>((resolve, reject) => {
      this.ws.send(b, { binary }, (err) => {
        if (err) reject(this.closed ?? new DeployError(`writing to ${this.name} failed: ${err.message}`));
        else {
          this.stats.sent += clientFrameSize(b.length);
          resolve();
        }
      });
    });
  }

  private async readBinary(timeoutMs: number, doing: string): Promise<Buffer> {
    while (!this.binary.length) {
      if (this.closed) throw this.closed;
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new LinkTimeout(`no answer from the board on ${this.name} for ${timeoutMs / 1000} s while ${doing}`)), timeoutMs);
        this.binaryWake = () => {
          clearTimeout(timer);
          this.binaryWake = undefined;
          resolve();
        };
      });
    }
    return this.binary.shift() as Buffer;
  }

  private async status(timeoutMs: number, doing: string): Promise<void> {
    const r = await this.readBinary(timeoutMs, doing);
    if (r.length !== 4 || r.toString('latin1', 0, 2) !== 'WB') throw new DeployError(`unexpected file-protocol reply from ${this.name} while ${doing}`);
    const code = r.readUInt16LE(2);
    if (code !== 0) throw new DeployError(`the board reported error ${code} while ${doing}`);
  }

  /**
   * Writes a file with the file protocol. Its folder must exist: the board's WebREPL session
   * dies when it cannot open the file.
   */
  async putFile(name: string, data: Uint8Array, timeoutMs: number, onProgress?: (done: number) => void): Promise<void> {
    const fname = Buffer.from(name, 'utf8');
    if (fname.length > MAX_PUT_NAME) throw new DeployError(`file name too long for the WebREPL file protocol (${fname.length} bytes, at most ${MAX_PUT_NAME}): ${name}`);
    const req = Buffer.alloc(REQUEST_SIZE);
    req.write('WA', 0, 'latin1');
    req[2] = PUT;
    req.writeUInt32LE(data.length, 12);
    req.writeUInt16LE(fname.length, 16);
    fname.copy(req, 18);
    const doing = `writing ${name}`;
    await this.send(req, true);
    await this.status(timeoutMs, doing);
    for (let i = 0; i < data.length; i += DATA_FRAME) {
      const part = Buffer.from(data.subarray(i, i + DATA_FRAME));
      await this.send(part, true);
      onProgress?.(i + part.length);
    }
    await this.status(timeoutMs, doing);
  }

  async close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return;
    const gone = new Promise<void>((r) => this.ws.once('close', () => r()));
    this.closed ??= new DeployError(`${this.name} is closed`);
    this.ws.close();
    const timer = setTimeout(() => this.ws.terminate(), 1000);
    await gone;
    clearTimeout(timer);
  }
}
