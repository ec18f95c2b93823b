// Runs client scenarios (Python code that sets R) on the two platforms the WebSocket client
// supports: the simulated ESP8266 (MicroPython in generator/sim) and CPython 3.11, both with
// runtime-esp8266 and generated/micropython importable and test/support/py/prelude.py loaded.
// A scenario that does not finish in time is reported (timedOut) and its interpreter replaced.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PythonError, SimDevice, TOOLKIT_ROOT, projectFiles } from '../../generator/sim/device.ts';
import { eventLog } from './eventLog.ts';
import { sleep } from './net.ts';

export const ROOT = TOOLKIT_ROOT;
const PY_DIR = path.join(ROOT, 'test', 'support', 'py');
const PRELUDE = fs.readFileSync(path.join(PY_DIR, 'prelude.py'), 'utf8');

export type TargetName = 'sim' | 'cpython';

export interface RunResult<T> {
  /** R after the run (bytes as Buffer). */
  value: T;
  /** The uncaught exception, if any. */
  error?: { type: string; message: string; traceback: string };
  timedOut: boolean;
  /** What the scenario printed. */
  output: string;
  ms: number;
}

export interface PyTarget {
  readonly name: TargetName;
  run<T = unknown>(code: string, opts?: { timeoutMs?: number }): Promise<RunResult<T>>;
  close(): Promise<void>;
}

/** JSON.parse reviver of the drivers' output: {$b: hex} is bytes. */
export const reviver = (_k: string, v: unknown) =>
  v && typeof v === 'object' && typeof (v as { $b?: unknown }).$b === 'string' ? Buffer.from((v as { $b: string }).$b, 'hex') : v;

/** R of a run that must have finished without an uncaught exception. */
export function ok<T>(r: RunResult<T>): T {
  if (r.timedOut) throw new Error(`scenario timed out after ${r.ms.toFixed(0)} ms; output:\n${r.output}`);
  if (r.error) throw new Error(`scenario raised ${r.error.type}: ${r.error.message}\n${r.error.traceback}\noutput:\n${r.output}`);
  return r.value;
}


// ------------------------------------------------------------------------------ simulated board

class SimTarget implements PyTarget {
  readonly name = 'sim' as const;
  private dev: SimDevice | undefined;
  private out = '';

  private async device(): Promise<SimDevice> {
    if (!this.dev) {
      const dev = await SimDevice.boot({
        files: projectFiles(ROOT),
        stdout: (s) => (this.out += s),
        stderr: (s) => (this.out += s),
      });
      await dev.exec(PRELUDE);
      this.dev = dev;
    }
    return this.dev;
  }

  async run<T>(code: string, opts: { timeoutMs?: number } = {}): Promise<RunResult<T>> {
    const dev = await this.device();
    this.out = '';
    const t0 = performance.now();
    await dev.exec('R = None');
    const TIMEOUT = Symbol('timeout');
    let timer: NodeJS.Timeout | undefined;
    const r = await Promise.race([
      dev.exec(code).then(
        () => undefined,
        (e: unknown) => e,
      ),
      new Promise<typeof TIMEOUT>((res) => (timer = setTimeout(() => res(TIMEOUT), opts.timeoutMs ?? 15_000))),
    ]);
    clearTimeout(timer);
    const ms = performance.now() - t0;
    if (r === TIMEOUT) {
      this.dev = undefined;
      await dev.close();
      return { value: undefined as T, timedOut: true, output: this.out, ms };
    }
    let error: RunResult<T>['error'];
    if (r instanceof PythonError) error = { type: r.type, message: r.message, traceback: r.traceback };
    else if (r) throw r;
    const json = await dev.eval<string>('_JS(R)');
    return { value: JSON.parse(json, reviver) as T, error, timedOut: false, output: this.out, ms };
  }

  async close(): Promise<void> {
    const d = this.dev;
    this.dev = undefined;
    await d?.close();
  }
}

// --------------------------------------------------------------------------------------- CPython

function version(py: string): string | undefined {
  try {
    return execFileSync(py, ['-c', 'import sys; print("%d.%d" % sys.version_info[:2])'], { encoding: 'utf8' }).trim();
  } catch {
    return undefined;
  }
}

/** A python3 that is CPython 3.11: /usr/bin/python3 or the first python3 on PATH. */
function findPython311(): string | undefined {
  const candidates = ['/usr/bin/python3'];
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const p = path.join(dir, 'python3');
    if (fs.existsSync(p)) {
      candidates.push(p);
      break;
    }
  }
  return candidates.find((p) => version(p) === '3.11');
}

class CPythonTarget implements PyTarget {
  readonly name = 'cpython' as const;
  private proc: ChildProcess | undefined;
  private answers: string[] = [];
  private answerWaiter: (() => void) | undefined;
  private out = '';
  private exited = false;

  constructor(private readonly python: string) {}

  private start(): ChildProcess {
    if (this.proc && !this.exited) return this.proc;
    this.exited = false;
    this.answers = [];
    const env = {
      ...process.env,
      PYTHONPATH: [path.join(ROOT, 'runtime-esp8266'), path.join(ROOT, 'generated', 'micropython'), PY_DIR].join(path.delimiter),
      PYTHONDONTWRITEBYTECODE: '1',
    };
    const p = spawn(this.python, ['-u', path.join(PY_DIR, 'driver.py')], { env, stdio: ['pipe', 'pipe', 'pipe', 'pipe'] });
    p.stdout?.on('data', (d: Buffer) => (this.out += d.toString()));
    p.stderr?.on('data', (d: Buffer) => (this.out += d.toString()));
    let buf = '';
    (p.stdio[3] as NodeJS.ReadableStream).on('data', (d: Buffer) => {
      buf += d.toString();
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        this.answers.push(buf.slice(0, i));
        buf = buf.slice(i + 1);
      }
      this.answerWaiter?.();
    });
    p.on('exit', () => {
      this.exited = true;
      this.answerWaiter?.();
    });
    p.stdin?.write(JSON.stringify({ code: PRELUDE }) + '\n'); // its answer is checked in run()
    this.proc = p;
    this.preludePending = true;
    return p;
  }

  private preludePending = false;

  private async answer(timeoutMs: number): Promise<string | undefined> {
    const deadline = performance.now() + timeoutMs;
    while (!this.answers.length) {
      if (this.exited) return undefined;
      const left = deadline - performance.now();
      if (left <= 0) return undefined;
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.answerWaiter = () => {
          clearTimeout(t);
          r();
        };
      });
      this.answerWaiter = undefined;
    }
    return this.answers.shift();
  }

  async run<T>(code: string, opts: { timeoutMs?: number } = {}): Promise<RunResult<T>> {
    const p = this.start();
    if (this.preludePending) {
      this.preludePending = false;
      const a = await this.answer(15_000);
      const pre = a && JSON.parse(a);
      if (!pre?.ok) throw new Error(`CPython prelude failed: ${pre?.traceback ?? 'no answer'}\n${this.out}`);
    }
    this.out = '';
    const t0 = performance.now();
    p.stdin?.write(JSON.stringify({ code }) + '\n');
    const a = await this.answer(opts.timeoutMs ?? 15_000);
    const ms = performance.now() - t0;
    if (a === undefined) {
      await this.kill();
      return { value: undefined as T, timedOut: true, output: this.out, ms };
    }
    const res = JSON.parse(a) as { ok: boolean; type?: string; message?: string; traceback?: string; value: string };
    return {
      value: JSON.parse(res.value, reviver) as T,
      error: res.ok ? undefined : { type: res.type ?? '', message: res.message ?? '', traceback: res.traceback ?? '' },
      timedOut: false,
      output: this.out,
      ms,
    };
  }

  private async kill(): Promise<void> {
    const p = this.proc;
    this.proc = undefined;
    if (!p || this.exited) return;
    const gone = new Promise<void>((r) => p.once('exit', () => r()));
    p.kill('SIGKILL');
    await Promise.race([gone, sleep(2000)]);
  }

  async close(): Promise<void> {
    const p = this.proc;
    if (!p || this.exited) return;
    const gone = new Promise<void>((r) => p.once('exit', () => r()));
    p.stdin?.end();
    await Promise.race([gone, sleep(2000)]);
    if (!this.exited) await this.kill();
    this.proc = undefined;
  }
}

const PYTHON311 = findPython311();

/** Which targets can run here, and why one cannot. */
export function availableTargets(): { name: TargetName; skip?: string }[] {
  return [{ name: 'sim' }, { name: 'cpython', skip: PYTHON311 ? undefined : 'no CPython 3.11 (checked /usr/bin/python3 and python3 on PATH)' }];
}

export function makeTarget(name: TargetName): PyTarget {
  if (name === 'sim') return new SimTarget();
  if (!PYTHON311) throw new Error('no CPython 3.11 found');
  return new CPythonTarget(PYTHON311);
}

// ----------------------------------------------------------------------- python-websockets server

export interface PyWebsocketsServer {
  port: number;
  url: string;
  /** Event lines the server printed so far (parsed). */
  events: Record<string, unknown>[];
  /** Waits for an event matching pred. */
  waitEvent(pred: (e: Record<string, unknown>) => boolean, ms?: number): Promise<Record<string, unknown>>;
  close(): Promise<void>;
}

/** Why Debian's /usr/bin/python3 cannot import the modules, or undefined if it can. */
export function debianPythonLacks(...modules: string[]): string | undefined {
  try {
    execFileSync('/usr/bin/python3', ['-c', `import ${modules.join(', ')}`], { stdio: 'ignore' });
    return undefined;
  } catch {
    return `/usr/bin/python3 cannot import ${modules.join(' and ')}`;
  }
}

/** Why Debian's python3-websockets cannot be used here, or undefined if it can. */
export const pyWebsocketsUnavailable = () => debianPythonLacks('websockets');

/**
 * Starts `/usr/bin/python3 -u <script>` (Debian's packages), a server that prints its port on
 * a line of its own, then a JSON line per event, each handed to onEvent; resolves once the
 * port is known (`name` names the server in errors).
 */
export async function spawnDebianServer(
  name: string,
  script: string,
  onEvent: (line: string) => void,
  startMs = 15_000,
): Promise<{ p: ChildProcess & { stdin: NonNullable<ChildProcess['stdin']> }; port: number; stderr: () => string }> {
  const p = spawn('/usr/bin/python3', ['-u', script], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  let buf = '';
  let resolvePort!: (n: number) => void;
  let rejectPort!: (e: Error) => void;
  const portP = new Promise<number>((res, rej) => {
    resolvePort = res;
    rejectPort = rej;
  });
  p.stdout.on('data', (d: Buffer) => {
    buf += d.toString();
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      if (/^\d+$/.test(line)) resolvePort(Number(line));
      else if (line.startsWith('{')) onEvent(line);
    }
  });
  p.on('exit', (code) => rejectPort(new Error(`${name} exited (${code}): ${stderr}`)));
  const timer = setTimeout(() => rejectPort(new Error(`${name} did not start: ${stderr}`)), startMs);
  const port = await portP.finally(() => clearTimeout(timer));
  return { p, port, stderr: () => stderr };
}

export async function startPyWebsocketsServer(): Promise<PyWebsocketsServer> {
  let stderr = () => '';
  const log = eventLog<Record<string, unknown>>('the python-websockets server', () => `\n${stderr()}`);
  const s = await spawnDebianServer('python-websockets server', path.join(PY_DIR, 'websockets_server.py'), (line) => log.record(JSON.parse(line) as Record<string, unknown>), 10_000);
  stderr = s.stderr;
  const p = s.p;
  return {
    port: s.port,
    url: `ws://127.0.0.1:${s.port}/`,
    events: log.events,
    waitEvent: (pred, ms) => log.wait(pred, ms),
    close: () => stopChild(p, 'stdin', 3000),
  };
}

/** Asks child p to end (closing its stdin, or SIGTERM), and kills it if it has not within ms. */
export async function stopChild(p: ChildProcess, how: 'stdin' | 'SIGTERM', ms: number): Promise<void> {
  const gone = new Promise<void>((r) => (p.exitCode !== null ? r() : p.once('exit', () => r())));
  if (how === 'stdin') p.stdin?.end();
  else p.kill('SIGTERM');
  await Promise.race([gone, sleep(ms)]);
  if (p.exitCode === null) p.kill('SIGKILL');
}

/** A port on 127.0.0.1 where TCP connects hang (see py/blackhole.py); stop() ends it. */
export async function startBlackhole(): Promise<{ port: number; stop: () => Promise<void> }> {
  const python = PYTHON311 ?? '/usr/bin/python3';
  const p = spawn(python, ['-u', path.join(PY_DIR, 'blackhole.py')], { stdio: ['pipe', 'pipe', 'inherit'] });
  const port = await new Promise<number>((res, rej) => {
    let buf = '';
    p.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      if (buf.includes('\n')) res(Number(buf.trim()));
    });
    p.on('exit', (code) => rej(new Error(`blackhole listener exited (${code})`)));
  });
  return {
    port,
    stop: () => stopChild(p, 'stdin', 2000),
  };
}
