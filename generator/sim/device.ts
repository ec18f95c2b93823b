// The simulated ESP8266: the real MicroPython VM (WebAssembly) in a worker thread, with board
// modules (generator/sim/board/*.py) that give it the ESP8266 firmware's socket, select, ssl,
// hashlib, os and time behaviour, talking to real host TCP/TLS servers.
//
// This file is the host side. It owns the real sockets (node:net / node:tls) and never blocks;
// the VM thread (worker.mjs) blocks on shared memory while it waits for it. See protocol.mjs
// for the shared layout and README.md for the simulated board semantics.

import { Worker } from 'node:worker_threads';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { lookup } from 'node:dns/promises';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TextDecoder, TextEncoder } from 'node:util';
import * as P from './protocol.mjs';
import { ESP8266_GENERIC, checkFirmwareSource, formatFirmwareFinding, type FirmwareFeatures } from '../analyses/firmware.ts';

export interface DeviceOptions {
  /** Extra files to put in the VM filesystem, path → content (e.g. '/lib/fsm.py'). */
  files?: Record<string, string | Uint8Array>;
  /** What the board prints (default: process.stdout). */
  stdout?: (text: string) => void;
  /** What the board writes to sys.stderr (default: process.stderr). */
  stderr?: (text: string) => void;
  /**
   * The firmware's missing features: a .py module (or script) that uses one is refused with
   * ImportError when imported (or run). Default ESP8266_GENERIC; null checks nothing.
   */
  firmware?: FirmwareFeatures | null;
}

/** An uncaught Python exception; `traceback` is the text the board prints for it. */
export class PythonError extends Error {
  readonly traceback: string;
  /** The exception's class name, e.g. 'ValueError'. */
  readonly type: string;

  constructor(type: string, traceback: string) {
    const lines = traceback.trimEnd().split('\n');
    super(lines[lines.length - 1] || type);
    this.name = 'PythonError';
    this.type = type;
    this.traceback = traceback;
  }
}

type Errno = Record<'EAGAIN' | 'EBADF' | 'ECONNABORTED' | 'ECONNRESET' | 'EHOSTUNREACH' | 'ETIMEDOUT', number>;

interface HostSocket {
  slot: number;
  raw: net.Socket;
  stream: net.Socket | tls.TLSSocket;
  queue: Buffer[];
  queued: number;
  paused: boolean;
  closed: boolean;
  /** Bytes written by the board that the host's TCP stack has taken (ST_ACCEPTED). */
  accepted: number;
}

type FromWorker =
  | { t: 'ready'; errno: Errno; boardHeapBytes: number }
  | { t: 'out'; fd: number; bytes: Uint8Array }
  | { t: 'send'; id: number; bytes: Uint8Array }
  | { t: 'req'; op: 'connect'; id: number; ip: string; port: number }
  | { t: 'req'; op: 'fetch'; id: number; max: number }
  | { t: 'req'; op: 'close'; id: number; unread: boolean }
  | { t: 'req'; op: 'resolve'; host: string }
  | { t: 'req'; op: 'check'; path: string; source: string }
  | {
      t: 'req';
      op: 'tls';
      id: number;
      servername: string | null;
      verify: boolean;
      ca: Uint8Array | null;
      key: Uint8Array | null;
      cert: Uint8Array | null;
    }
  | {
      t: 'done';
      rid: number;
      ok: boolean;
      json?: string;
      data?: Uint8Array;
      python?: { type: string; traceback: string };
      error?: string;
    };

type Done = Extract<FromWorker, { t: 'done' }>;

/** Received bytes kept on the host per socket before the host stops reading (TCP backpressure). */
const HIGH_WATER = 256 * 1024;
/** A closed socket whose peer never closes is destroyed after this, like lwIP's close timeout. */
const CLOSE_LINGER_MS = 10_000;

const WORKER_URL = new URL('./worker.mjs', import.meta.url);
/** Root of the wirestate checkout this file belongs to. */
export const TOOLKIT_ROOT = path.resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..');

/** Removes the frames of the simulator's own board modules, which the board's C modules do not have. */
function boardTraceback(tb: string): string {
  return tb
    .split('\n')
    .filter((line) => !line.startsWith('  File "/board/'))
    .join('\n');
}

export class SimDevice {
  /**
   * Python heap taken by the simulator's board modules (pre-imported at boot, so part of every
   * gc.mem_alloc() figure). On the board these modules are C in flash and cost no heap.
   */
  boardHeapBytes = 0;

  private readonly worker: Worker;
  private readonly ctl = new Int32Array(new SharedArrayBuffer(P.CTL_SIZE * 4));
  private readonly data = new Uint8Array(new SharedArrayBuffer(P.DATA_CAP));
  private readonly status = new Int32Array(new SharedArrayBuffer(P.MAX_SOCKETS * P.STATUS_FIELDS * 4));
  private readonly sockets = new Map<number, HostSocket>();
  private readonly pending = new Map<number, { resolve: (d: Done) => void; reject: (e: Error) => void }>();
  private readonly decoders = new Map<number, TextDecoder>();
  private readonly stdout: (text: string) => void;
  private readonly stderr: (text: string) => void;
  private readonly firmware: FirmwareFeatures | null;
  private errno: Errno | undefined;
  private replOutput: ((bytes: Uint8Array) => void) | undefined;
  private nextRid = 1;
  private dead: Error | undefined;
  private readonly ready: Promise<void>;

  private constructor(options: DeviceOptions) {
    this.stdout = options.stdout ?? ((s) => void process.stdout.write(s));
    this.stderr = options.stderr ?? ((s) => void process.stderr.write(s));
    this.firmware = options.firmware === undefined ? ESP8266_GENERIC : options.firmware;
    let bootResolve!: () => void;
    let bootReject!: (e: Error) => void;
    this.ready = new Promise<void>((res, rej) => {
      bootResolve = res;
      bootReject = rej;
    });
    this.worker = new Worker(WORKER_URL, {
      workerData: { ctl: this.ctl.buffer, data: this.data.buffer, status: this.status.buffer, files: options.files ?? {}, firmwareCheck: this.firmware !== null },
      execArgv: [],
      stdout: false,
      stderr: false,
    });
    this.worker.on('message', (m: FromWorker) => {
      try {
        if (m.t === 'ready') {
          this.errno = m.errno;
          this.boardHeapBytes = m.boardHeapBytes;
          bootResolve();
        } else this.onMessage(m);
      } catch (err) {
        this.fail(err instanceof Error ? err : new Error(String(err)));
      }
    });
    this.worker.on('error', (err) => {
      bootReject(err);
      this.fail(err);
    });
    this.worker.on('exit', (code) => {
      const err = this.dead ?? new Error(`simulated device stopped (worker exit code ${code})`);
      bootReject(err);
      this.fail(err);
    });
  }

  /** Starts a device: a fresh VM with the board modules and `options.files` installed. */
  static async boot(options: DeviceOptions = {}): Promise<SimDevice> {
    const dev = new SimDevice(options);
    try {
      await dev.ready;
    } catch (err) {
      await dev.close();
      throw err;
    }
    return dev;
  }

  /** One top-level runPython call; rejects with PythonError on an uncaught exception. */
  async exec(code: string): Promise<void> {
    await this.command({ t: 'exec', code });
  }

  /** The value of a Python expression, converted through JSON (tuples become arrays). */
  async eval<T = unknown>(expr: string): Promise<T> {
    const d = await this.command({ t: 'eval', expr });
    return JSON.parse(d.json ?? 'null') as T;
  }

  /**
   * Calls a global Python function with number, string, boolean or null arguments, straight
   * from JavaScript: nothing is parsed or compiled, so the call allocates no heap of its own
   * (heap figures read this way are exact). A collection marked pending (gc.collect()) runs
   * as the call starts. Returns the result converted through JSON.
   */
  async call<T = unknown>(fn: string, ...args: (number | string | boolean | null)[]): Promise<T> {
    const d = await this.command({ t: 'call', fn, args });
    return JSON.parse(d.json ?? 'null') as T;
  }

  /** Runs a script from the VM filesystem as __main__ (as the board runs main.py). */
  async runFile(file: string): Promise<void> {
    await this.command({ t: 'runFile', path: file });
  }

  /** Writes a file in the VM filesystem, creating parent directories. */
  async writeFile(file: string, data: string | Uint8Array): Promise<void> {
    await this.command({ t: 'writeFile', path: file, data });
  }

  async readFile(file: string): Promise<Uint8Array> {
    const d = await this.command({ t: 'readFile', path: file });
    return d.data ?? new Uint8Array();
  }

  /**
   * Starts the board's interactive REPL as its UART sees it (the friendly REPL, as after boot):
   * from now on `output` gets, as raw bytes, everything the board prints while it processes
   * REPL input (banner, prompts, echo, what the code prints, tracebacks).
   */
  async replStart(output: (bytes: Uint8Array) => void): Promise<void> {
    this.replOutput = output;
    await this.command({ t: 'replStart' });
  }

  /**
   * Feeds bytes to the REPL as typed on the board's UART; resolves once they are processed,
   * including the code they ran. Ctrl-D soft-reboots as the board does (see README.md).
   */
  async replInput(bytes: Uint8Array): Promise<void> {
    await this.command({ t: 'repl', bytes });
  }

  /** Stops the VM (even inside an endless loop), closes host sockets, rejects pending calls. */
  async close(): Promise<void> {
    if (!this.dead) this.fail(new Error('simulated device closed'));
    await this.worker.terminate();
  }

  // -------------------------------------------------------------------------------------------

  private command(msg: Record<string, unknown>): Promise<Done> {
    if (this.dead) return Promise.reject(this.dead);
    const rid = this.nextRid++;
    return new Promise<Done>((resolve, reject) => {
      this.pending.set(rid, { resolve, reject });
      this.worker.postMessage({ ...msg, rid });
    }).then((d) => {
      if (d.ok) return d;
      if (d.python) throw new PythonError(d.python.type, boardTraceback(d.python.traceback));
      throw new Error(d.error ?? 'simulated device command failed');
    });
  }

  private fail(err: Error): void {
    if (!this.dead) this.dead = err;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    for (const hs of this.sockets.values()) this.destroy(hs);
    this.sockets.clear();
  }

  private onMessage(m: FromWorker): void {
    switch (m.t) {
      case 'out':
        this.output(m.fd, m.bytes);
        break;
      case 'send': {
        const hs = this.sockets.get(m.id);
        if (hs && !hs.closed) {
          const n = m.bytes.length;
          // The callback runs once the bytes are handed to the TCP stack (or the write failed):
          // then they leave the board's send buffer.
          hs.stream.write(m.bytes, () => {
            if (hs.closed) return;
            hs.accepted = (hs.accepted + n) | 0;
            this.setField(hs.slot, P.ST_ACCEPTED, hs.accepted);
            this.bump();
          });
        }
        break;
      }
      case 'done': {
        const p = this.pending.get(m.rid);
        this.pending.delete(m.rid);
        p?.resolve(m);
        break;
      }
      case 'req':
        this.request(m);
        break;
    }
  }

  private output(fd: number, bytes: Uint8Array): void {
    if (fd === P.FD_REPL) {
      this.replOutput?.(bytes);
      return;
    }
    let dec = this.decoders.get(fd);
    if (!dec) this.decoders.set(fd, (dec = new TextDecoder()));
    const text = dec.decode(bytes, { stream: true });
    if (text) (fd === 2 ? this.stderr : this.stdout)(text);
  }

  private respond(result: number, len = 0): void {
    Atomics.store(this.ctl, P.CTL_RESULT, result);
    Atomics.store(this.ctl, P.CTL_LEN, len);
    Atomics.store(this.ctl, P.CTL_RESP, 1);
    Atomics.notify(this.ctl, P.CTL_RESP);
  }

  private request(m: Extract<FromWorker, { t: 'req' }>): void {
    switch (m.op) {
      case 'connect':
        this.connect(m.id, m.ip, m.port);
        this.respond(0);
        break;
      case 'fetch':
        this.respond(this.fetch(m.id, m.max));
        break;
      case 'close':
        this.closeSocket(m.id, m.unread);
        this.respond(0);
        break;
      case 'resolve':
        lookup(m.host, { family: 4 }).then(
          (r) => {
            const b = new TextEncoder().encode(r.address);
            this.data.set(b);
            this.respond(b.length, b.length);
          },
          () => this.respond(-2), // lwIP's DNS failure status: the board raises OSError(-2)
        );
        break;
      case 'tls':
        this.respond(this.startTls(m));
        break;
      case 'check': {
        const findings = this.firmware ? checkFirmwareSource(m.path, m.source, this.firmware) : [];
        const first = findings[0];
        const text = first ? formatFirmwareFinding(first, this.firmware ?? undefined) + (findings.length > 1 ? ` (and ${findings.length - 1} more)` : '') : '';
        const b = new TextEncoder().encode(text);
        this.data.set(b.subarray(0, P.DATA_CAP));
        this.respond(b.length, b.length);
        break;
      }
    }
  }

  // ------------------------------------------------------------------ host sockets and status

  private field(slot: number, f: number): number {
    return Atomics.load(this.status, slot * P.STATUS_FIELDS + f);
  }

  private setField(slot: number, f: number, v: number): void {
    Atomics.store(this.status, slot * P.STATUS_FIELDS + f, v);
  }

  private bump(): void {
    Atomics.add(this.ctl, P.CTL_GEN, 1);
    Atomics.notify(this.ctl, P.CTL_GEN);
  }

  private setState(hs: HostSocket, state: number, errno = 0): void {
    if (hs.closed) return;
    this.setField(hs.slot, P.ST_ERRNO, errno);
    this.setField(hs.slot, P.ST_STATE, state);
    this.bump();
  }

  /** Maps a host socket error to what lwIP on the board reports. */
  private mapError(hs: HostSocket, err: NodeJS.ErrnoException): number {
    const e = this.errno as Errno;
    const code = err.code ?? '';
    const handshaking = hs.stream !== hs.raw && this.field(hs.slot, P.ST_TLS) === P.TLS_HANDSHAKE;
    switch (code) {
      case 'ECONNREFUSED': // lwIP has no ECONNREFUSED: the RST answering the SYN is ERR_RST
      case 'ECONNRESET':
      case 'EPIPE':
        return e.ECONNRESET;
      case 'ETIMEDOUT': // lwIP gives up retransmitting with ERR_ABRT
        return e.ECONNABORTED;
      case 'EHOSTUNREACH':
      case 'ENETUNREACH':
      case 'EADDRNOTAVAIL':
        return e.EHOSTUNREACH;
    }
    if (handshaking) {
      if (/CERT|ISSUER|SIGNATURE|ALTNAME|VERIFY|UNTRUSTED|CHAIN/.test(code)) return P.TLS_VERIFY_FAILED;
      return P.TLS_FAILED;
    }
    return e.ECONNABORTED;
  }

  private listen(hs: HostSocket, stream: net.Socket | tls.TLSSocket): void {
    stream.on('data', (buf: Buffer) => {
      if (hs.closed) return;
      hs.queue.push(buf);
      hs.queued += buf.length;
      this.setField(hs.slot, P.ST_QUEUED, Math.min(hs.queued, 0x7fffffff));
      this.bump();
      if (hs.queued >= HIGH_WATER && !hs.paused) {
        hs.paused = true;
        stream.pause();
      }
    });
    stream.on('end', () => {
      if (!hs.closed && this.field(hs.slot, P.ST_STATE) !== P.S_ERROR) this.setState(hs, P.S_PEER_CLOSED);
    });
    stream.on('close', () => {
      if (hs.closed) return;
      const state = this.field(hs.slot, P.ST_STATE);
      if (state === P.S_CONNECTED) this.setState(hs, P.S_PEER_CLOSED);
      else if (state === P.S_CONNECTING) this.setState(hs, P.S_ERROR, (this.errno as Errno).ECONNABORTED);
    });
  }

  private connect(slot: number, ip: string, port: number): void {
    // allowHalfOpen: lwIP keeps sending after the peer's FIN until the board closes the socket.
    // Nagle's algorithm stays on (Node's default), as in lwIP.
    const raw = new net.Socket({ allowHalfOpen: true });
    const hs: HostSocket = { slot, raw, stream: raw, queue: [], queued: 0, paused: false, closed: false, accepted: 0 };
    this.sockets.set(slot, hs);
    raw.on('error', (err) => this.setState(hs, P.S_ERROR, this.mapError(hs, err)));
    raw.on('connect', () => this.setState(hs, P.S_CONNECTED));
    this.listen(hs, raw);
    this.setField(slot, P.ST_QUEUED, 0);
    this.setField(slot, P.ST_TLS, P.TLS_NONE);
    this.setField(slot, P.ST_ACCEPTED, 0);
    this.setState(hs, P.S_CONNECTING);
    raw.connect({ host: ip, port, family: 4 });
  }

  private fetch(slot: number, max: number): number {
    const hs = this.sockets.get(slot);
    if (!hs) {
      this.setField(slot, P.ST_QUEUED, 0);
      return 0;
    }
    let n = 0;
    while (n < max && hs.queue.length) {
      const b = hs.queue[0] as Buffer;
      const take = Math.min(b.length, max - n);
      this.data.set(b.subarray(0, take), n);
      n += take;
      if (take === b.length) hs.queue.shift();
      else hs.queue[0] = b.subarray(take);
    }
    hs.queued -= n;
    this.setField(slot, P.ST_QUEUED, Math.min(hs.queued, 0x7fffffff));
    if (hs.paused && hs.queued < HIGH_WATER / 2) {
      hs.paused = false;
      hs.stream.resume();
    }
    return n;
  }

  private startTls(m: Extract<FromWorker, { op: 'tls' }>): number {
    const hs = this.sockets.get(m.id);
    if (!hs || hs.stream !== hs.raw) return -(this.errno as Errno).EBADF;
    const raw = hs.raw;
    raw.removeAllListeners('data');
    raw.removeAllListeners('end');
    raw.removeAllListeners('close');
    if (hs.paused) {
      hs.paused = false;
      raw.resume();
    }
    hs.queue = [];
    hs.queued = 0;
    this.setField(hs.slot, P.ST_QUEUED, 0);
    const pem = (b: Uint8Array | null): string | Buffer | undefined => {
      if (!b) return undefined;
      const buf = Buffer.from(b.buffer, b.byteOffset, b.length);
      if (buf.includes('-----BEGIN')) return buf;
      // DER (as cadata often is on the board): wrap it as PEM for OpenSSL.
      const lines = buf.toString('base64').match(/.{1,64}/g) ?? [];
      return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`;
    };
    const options: tls.ConnectionOptions = {
      socket: raw,
      rejectUnauthorized: m.verify,
      ca: m.verify ? pem(m.ca) : undefined,
      key: m.key ? Buffer.from(m.key) : undefined,
      cert: m.cert ? Buffer.from(m.cert) : undefined,
    };
    if (m.servername && net.isIP(m.servername) === 0) options.servername = m.servername;
    // Without server_hostname only the chain is checked (mbedTLS does the same).
    if (!m.servername) options.checkServerIdentity = () => undefined;
    else if (net.isIP(m.servername)) options.checkServerIdentity = (_h, cert) => tls.checkServerIdentity(m.servername as string, cert);
    this.setField(hs.slot, P.ST_TLS, P.TLS_HANDSHAKE);
    let t: tls.TLSSocket;
    try {
      t = tls.connect(options);
    } catch {
      // Unusable key, certificate or CA data.
      this.setField(hs.slot, P.ST_TLS, P.TLS_NONE);
      return P.TLS_FAILED;
    }
    hs.stream = t;
    t.on('secureConnect', () => {
      if (hs.closed) return;
      this.setField(hs.slot, P.ST_TLS, P.TLS_SECURE);
      this.bump();
    });
    t.on('error', (err) => this.setState(hs, P.S_ERROR, this.mapError(hs, err)));
    this.listen(hs, t);
    this.bump();
    return 0;
  }

  private closeSocket(slot: number, unread: boolean): void {
    const hs = this.sockets.get(slot);
    this.sockets.delete(slot);
    if (hs) {
      const rst = unread || hs.queued > 0;
      hs.closed = true;
      if (rst) {
        // lwIP answers a close with unread data with RST.
        this.destroy(hs, true);
      } else {
        hs.stream.end();
        const timer = setTimeout(() => this.destroy(hs), CLOSE_LINGER_MS);
        timer.unref();
        hs.stream.once('close', () => clearTimeout(timer));
      }
    }
    for (let f = 0; f < P.STATUS_FIELDS; f++) this.setField(slot, f, 0);
  }

  private destroy(hs: HostSocket, reset = false): void {
    hs.closed = true;
    hs.stream.on('error', () => {});
    hs.raw.on('error', () => {});
    if (reset && hs.stream === hs.raw && !hs.raw.destroyed && hs.raw.readyState === 'open') hs.raw.resetAndDestroy();
    else {
      hs.stream.destroy();
      hs.raw.destroy();
    }
  }
}

// ---------------------------------------------------------------------------------------------

function walkPy(dir: string, rel: string, out: Record<string, string>, into: string): void {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (e.isDirectory()) {
      if (e.name !== '__pycache__') walkPy(path.join(dir, e.name), `${rel}${e.name}/`, out, into);
    } else if (e.name.endsWith('.py')) {
      out[`${into}${rel}${e.name}`] = fs.readFileSync(path.join(dir, e.name), 'utf8');
    }
  }
}

/**
 * The files a project deploys to the board: every .py under <root>/runtime-esp8266/ (keeping
 * its package layout) and under <root>/generated/micropython/, all under /lib.
 */
export function projectFiles(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  walkPy(path.join(root, 'runtime-esp8266'), '', out, '/lib/');
  walkPy(path.join(root, 'generated', 'micropython'), '', out, '/lib/');
  return out;
}

export interface RunScriptOptions {
  stdout?: (text: string) => void;
  stderr?: (text: string) => void;
  /** Project whose runtime and generated modules are installed (default: this checkout). */
  root?: string;
  /** More files for the VM filesystem. */
  files?: Record<string, string | Uint8Array>;
  /** Runs on the booted device before the script. */
  before?: (dev: SimDevice) => Promise<void>;
  /** Runs on the device once the script has ended, however it ended, before the device stops. */
  after?: (dev: SimDevice) => Promise<void>;
}

/**
 * Boots a device with projectFiles(root), runs a host Python file on it as __main__ (copied to
 * the VM's / under its base name) and returns the exit code: 0, the SystemExit code, or 1 after
 * printing the traceback of an uncaught exception to stderr as the board prints it.
 */
export async function runScript(scriptPath: string, options: RunScriptOptions = {}): Promise<number> {
  const stderr = options.stderr ?? ((s: string) => void process.stderr.write(s));
  const name = path.basename(scriptPath);
  const files = {
    ...projectFiles(options.root ?? TOOLKIT_ROOT),
    ...options.files,
    [`/${name}`]: fs.readFileSync(scriptPath),
  };
  const dev = await SimDevice.boot({ files, stdout: options.stdout, stderr });
  try {
    await options.before?.(dev);
    await dev.runFile(name);
    return 0;
  } catch (err) {
    if (!(err instanceof PythonError)) throw err;
    if (err.type === 'SystemExit') {
      const arg = /^SystemExit(?::\s*(.*))?$/.exec(err.message)?.[1];
      if (arg === undefined || arg === 'None') return 0;
      if (/^-?\d+$/.test(arg)) return Number(arg);
      stderr(arg + '\n');
      return 1;
    }
    stderr(err.traceback);
    return 1;
  } finally {
    try {
      await options.after?.(dev);
    } finally {
      await dev.close();
    }
  }
}
