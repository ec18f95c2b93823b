// The simulated board as a deploy target: the simulated ESP8266 (generator/sim) with its console
// behind a serial port binding (what `--sim` and the tests open, through the same serial
// transport as a real port) and, on demand, a loopback WebREPL server in front of the same VM.
// Its flash can be kept in a folder between runs, so that what `deploy --sim` wrote is there
// for `run --sim` and `repl --sim`.

import * as fs from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import { BoardConsole } from '../sim/console.ts';
import { SimDevice } from '../sim/device.ts';
import type { SerialBinding, SerialBindingPort } from './serial.ts';

export interface SimBoardOptions {
  /** The flash: files by absolute path. */
  files?: Record<string, string | Uint8Array>;
  /** Offer raw-paste mode (default true); false answers as firmware before MicroPython 1.14. */
  rawPaste?: boolean;
  /** The serial port the board answers on (default "sim"). */
  port?: string;
  /** What the board sends when its port is opened, before anything else (a reset's boot messages). */
  noiseOnOpen?: Uint8Array;
}

/** Faults of the serial link, counted in bytes from the host since they were set. */
export interface SerialFaults {
  /** Lose `count` bytes from byte `at` on. */
  lose?: { at: number; count: number };
  /** From byte `at` on, the board takes no input and sends nothing (it hangs, or the cable is out). */
  stallAt?: number;
}

/** A WebREPL session's file transfer: the request as it arrives, then the file's bytes. */
interface Put {
  header: Buffer;
  /** Set while the file's bytes arrive. */
  name?: string;
  size: number;
  parts: Buffer[];
  got: number;
}

/** Folders of the VM that are not the board's flash. */
const NOT_FLASH = new Set(['/tmp', '/home', '/dev', '/proc', '/board']);

/** The WebREPL board's input buffer: the ESP8266's 256-byte stdin ring, which WebREPL input bursts overflow. */
const WEBREPL_INPUT_BUFFER = 256;

export class SimBoard {
  readonly binding: SerialBinding;
  private faults: SerialFaults = {};
  private hostBytes = 0;
  private portOpen: SimPort | undefined;
  private webrepl: { http: Server; wss: WebSocketServer; session: WebSocket | undefined } | undefined;

  private constructor(
    readonly device: SimDevice,
    readonly console: BoardConsole,
    readonly portPath: string,
    private readonly noise: Uint8Array | undefined,
  ) {
    this.binding = {
      open: async ({ path: p }) => {
        // Worded as the operating system's binding words them, so one message mapping serves both.
        if (p !== this.portPath) throw new Error(`Error: No such file or directory, cannot open ${p}`);
        if (this.portOpen) throw new Error('Error Resource temporarily unavailable Cannot lock port');
        const port = new SimPort(this);
        this.portOpen = port;
        if (this.noise) port.deliver(this.noise);
        return port;
      },
    };
  }

  static async start(options: SimBoardOptions = {}): Promise<SimBoard> {
    const device = await SimDevice.boot({ files: options.files ?? {} });
    try {
      const console = await BoardConsole.start(device, { rawPaste: options.rawPaste });
      return new SimBoard(device, console, options.port ?? 'sim', options.noiseOnOpen);
    } catch (e) {
      await device.close();
      throw e;
    }
  }

  /** Faults of the serial link from now on (an empty object clears them). */
  setFaults(faults: SerialFaults): void {
    this.faults = faults;
    this.hostBytes = 0;
  }

  private get stalled(): boolean {
    return this.faults.stallAt !== undefined && this.hostBytes >= this.faults.stallAt;
  }

  /** Bytes from the serial port's host side, through the faults. */
  fromSerialHost(bytes: Uint8Array): void {
    const kept: number[] = [];
    for (const b of bytes) {
      const i = this.hostBytes++;
      const lose = this.faults.lose;
      if (this.stalled || (lose && i >= lose.at && i < lose.at + lose.count)) continue;
      kept.push(b);
    }
    if (kept.length) this.console.write(Uint8Array.from(kept));
  }

  /** Bytes the board sends to the serial port's host side, through the faults. */
  toSerialHost(port: SimPort, bytes: Uint8Array): void {
    if (!this.stalled) port.deliver(bytes);
  }

  portClosed(port: SimPort): void {
    if (this.portOpen === port) this.portOpen = undefined;
  }

  /**
   * Starts WebREPL on 127.0.0.1 (a free port) with this password; resolves with its ws:// URL.
   * Like the board's webrepl module it takes one client at a time, asks for the password, and
   * serves the REPL in text frames and the file protocol's PUT in binary frames.
   */
  async startWebRepl(password: string): Promise<string> {
    const http = createServer((_req, res) => res.writeHead(404).end());
    const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, skipUTF8Validation: true });
    const w = { http, wss, session: undefined as WebSocket | undefined };
    http.on('upgrade', (req, socket, head) => {
      // The board closes a second client's connection before its handshake.
      if (w.session) return void socket.destroy();
      wss.handleUpgrade(req, socket, head, (ws) => {
        w.session = ws;
        ws.on('close', () => (w.session = undefined));
        this.webReplSession(ws, password);
      });
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    this.webrepl = w;
    return `ws://127.0.0.1:${(http.address() as AddressInfo).port}/`;
  }

  private webReplSession(ws: WebSocket, password: string): void {
    let typed = '';
    let detach: (() => void) | undefined;
    let files = Promise.resolve();
    const put: Put = { header: Buffer.alloc(0), size: 0, parts: [], got: 0 };
    ws.on('close', () => detach?.());
    ws.send('Password: ');
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (!detach) {
        typed += data.toString('utf8');
        const end = typed.search(/[\r\n]/);
        if (end < 0) return;
        if (typed.slice(0, end) !== password) {
          ws.send('\r\nAccess denied\r\n');
          ws.close();
          return;
        }
        ws.send('\r\nWebREPL connected\r\n>>> ');
        detach = this.console.attach((b) => ws.send(b, { binary: false }));
        return;
      }
      if (!isBinary) this.console.write(data, WEBREPL_INPUT_BUFFER);
      // In order, one frame at a time; a device that stopped ends the session.
      else files = files.then(() => this.fileProtocol(ws, put, data)).catch(() => ws.terminate());
    });
  }

  private async fileProtocol(ws: WebSocket, put: Put, data: Buffer): Promise<void> {
    const ok = Buffer.from('WB\0\0', 'latin1');
    if (put.name === undefined) {
      put.header = Buffer.concat([put.header, data]);
      if (put.header.length < 82) return;
      const h = put.header;
      // Only PUT is simulated; the board closes the session on what it cannot do.
      if (h.toString('latin1', 0, 2) !== 'WA' || h[2] !== 1) return void ws.terminate();
      const raw = h.subarray(18, 18 + Math.min(h.readUInt16LE(16), 63)).toString('utf8');
      const name = raw.startsWith('/') ? raw : '/' + raw;
      // The board's session dies when it cannot open the file: this raises, which ends it.
      await this.device.exec(`__import__('os').stat(${JSON.stringify(path.posix.dirname(name))})`);
      Object.assign(put, { header: Buffer.alloc(0), name, size: h.readUInt32LE(12), parts: [], got: 0 });
      ws.send(ok, { binary: true });
      data = h.subarray(82);
      if (!data.length && put.size) return;
    }
    put.parts.push(data);
    put.got += data.length;
    if (put.got < put.size) return;
    await this.device.writeFile(put.name as string, Buffer.concat(put.parts).subarray(0, put.size));
    put.name = undefined;
    ws.send(ok, { binary: true });
  }

  /** Every file in the board's flash, by absolute path. */
  async files(): Promise<Map<string, Uint8Array>> {
    await this.device.exec(
      'def __sim_walk__(d):\n r=[]\n for e in __import__("os").ilistdir(d):\n  p=d.rstrip("/")+"/"+e[0]\n' +
        '  if p not in ' + JSON.stringify([...NOT_FLASH]).replace('[', '(').replace(']', ',)') + ':r+=__sim_walk__(p) if e[1]&0x4000 else [p]\n return r',
    );
    const paths = await this.device.eval<string[]>('__sim_walk__("/")');
    await this.device.exec('del __sim_walk__');
    const out = new Map<string, Uint8Array>();
    for (const p of paths.sort()) out.set(p, await this.device.readFile(p));
    return out;
  }

  /** Replaces the folder's contents with the board's flash. */
  async saveFlash(dir: string): Promise<void> {
    const files = await this.files();
    const tmp = `${dir}.tmp`;
    fs.rmSync(tmp, { recursive: true, force: true });
    for (const [p, data] of files) {
      const to = path.join(tmp, ...p.split('/'));
      fs.mkdirSync(path.dirname(to), { recursive: true });
      fs.writeFileSync(to, data);
    }
    fs.mkdirSync(tmp, { recursive: true });
    fs.rmSync(dir, { recursive: true, force: true });
    fs.renameSync(tmp, dir);
  }

  async close(): Promise<void> {
    if (this.webrepl) {
      const { http, wss } = this.webrepl;
      for (const c of wss.clients) c.terminate();
      wss.close();
      await new Promise<void>((r) => http.close(() => r()));
    }
    await this.device.close();
  }
}

/** A flash saved by saveFlash(), as SimBoardOptions.files; empty if the folder does not exist. */
export function loadFlash(dir: string): Record<string, Uint8Array> {
  const out: Record<string, Uint8Array> = {};
  if (!fs.existsSync(dir)) return out;
  for (const d of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!d.isFile()) continue;
    const full = path.join(d.parentPath, d.name);
    out['/' + path.relative(dir, full).split(path.sep).join('/')] = fs.readFileSync(full);
  }
  return out;
}

/** The simulated board's end of its serial port. */
class SimPort implements SerialBindingPort {
  private buf: Buffer[] = [];
  private waiting: { resolve: () => void; reject: (e: Error) => void } | undefined;
  private readonly detach: () => void;
  private open = true;

  constructor(private readonly board: SimBoard) {
    this.detach = board.console.attach((b) => board.toSerialHost(this, b));
  }

  deliver(bytes: Uint8Array): void {
    this.buf.push(Buffer.from(bytes));
    this.waiting?.resolve();
  }

  async read(buffer: Buffer, offset: number, length: number): Promise<{ buffer: Buffer; bytesRead: number }> {
    while (!this.buf.length) {
      if (!this.open) throw Object.assign(new Error('port is closed'), { canceled: true });
      await new Promise<void>((resolve, reject) => (this.waiting = { resolve, reject }));
      this.waiting = undefined;
    }
    const all = Buffer.concat(this.buf);
    const n = all.copy(buffer, offset, 0, length);
    this.buf = n < all.length ? [all.subarray(n)] : [];
    return { buffer, bytesRead: n };
  }

  async write(buffer: Buffer): Promise<void> {
    if (!this.open) throw new Error('Port is not open');
    this.board.fromSerialHost(buffer);
  }

  async close(): Promise<void> {
    if (!this.open) return;
    this.open = false;
    this.detach();
    this.board.portClosed(this);
    this.waiting?.reject(Object.assign(new Error('port is closed'), { canceled: true }));
  }
}
