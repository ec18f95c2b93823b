// Memory jobs: real work (echoes, events, acks) run on the simulated ESP8266 against real local
// servers, as a sequence of top-level steps with heap figures after every step. The VM's heap
// grows instead of filling up and collects only between top-level calls, so it cannot show the
// board's MemoryError; these figures are its honest proxies (see README "Heap figures"):
//
// - live: heap in use after a collection, before the step (measured);
// - allocated: heap allocated during the step with the collector off (measured); as nothing
//   is collected, it covers every object the step made, garbage included;
// - freed: what the C code allocated and freed again within the step (a buffer grown by moving
//   it, the compiler's parse tree), seen as holes in the heap's layout (measured: the holes
//   below the heap's frontier are plugged before the step, heap.ts plugHoles(), so that what
//   the step allocates goes beyond it);
// - bound = live + allocated + freed (+ pools, below): what the step can need at its peak (a
//   bound, not a measurement);
// - largest block: the largest heap block the step allocated (measured: blocks in the heap's
//   layout at the end of the step, nothing collected, that were not there before it). Blocks
//   the C code freed again within the step are not seen: see README "Heap figures";
// - names, pools: the interned names (qstrs) the job made so far, and the pools that hold
//   them as a board would have them (a model: boardQstrPools()). MicroPython keeps interned
//   names in pools of 20, 40, 80... entries, each allocated when the last one fills; in this
//   VM the simulated board's own modules (Python here, C in the firmware) fill the first pools
//   at boot, so where the VM allocates its next pool (2.3 KB) says nothing about a board. The
//   job runs with room for its names made beforehand, and every step's bound adds the pools a
//   board has allocated by the step's end.
//
// Heap figures are relative to the booted device with the job's own code defined (the job's
// script is the application: its functions and its messages are in the baseline).
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { SimDevice } from '../sim/device.ts';
import { HARNESS, heapBlocks, measureOneStep, plugHoles, runtimeFiles, stepHeap } from '../sim/heap.ts';
import { startWebSocketServer } from '../demo/servers.ts';

export interface Step {
  /** What the step does (figures of steps with the same label are reported together). */
  label: string;
  /** Python statements, run as the body of a function (declare globals they assign). */
  code: string;
  /** Repeat the step until this Python expression is true (checked between steps), at most `max` times. */
  until?: string;
  /** Repeat the step exactly this many times (default 1), or at most this many with `until`. */
  times?: number;
}

export interface Job {
  name: string;
  server: 'websocket' | 'socketio';
  /** Python run once before the baseline is read (the application's own code and data); URL is the server's. */
  setup: string;
  steps: Step[];
}

export interface StepFigures {
  label: string;
  /** How many times the step ran (the other figures are the maximum over the runs). */
  runs: number;
  /** Heap in use before the step, after a collection. */
  live: number;
  /** Heap allocated during the step with the collector off, net of what the C code freed itself. */
  allocated: number;
  /** Heap the C code allocated and freed again within the step, as far as the layout shows it. */
  freed: number;
  /** Interned names the job has made by the step's end, beyond its own script's (measured). */
  names: number;
  /** Heap of the qstr pools that hold names + the script's on a board (modelled: boardQstrPools()). */
  pools: number;
  /** live + allocated + freed + pools: a bound of the step's peak. */
  bound: number;
  /** Bytes of the largest block the step allocated (and the C code did not free itself), a board's new qstr pool included. */
  largestBlock: number;
}

export interface JobFigures {
  job: string;
  mpy: boolean;
  steps: StepFigures[];
  /** Free heap the job needs, at most: max over steps of live-before + allocated-in-step. */
  bound: number;
  /** The largest block any step allocated: the job's largest single allocation. */
  largestBlock: number;
  /** Heap still in use after the last step, after a collection (a leak shows here), the board's qstr pools included. */
  retained: number;
}

const TEXT = `'x' * 100`;
const ws = (binary: boolean): Job => ({
  name: binary ? 'WebSocket: 200 text echoes of 100 B + 20 binary echoes of 4000 B, close' : 'WebSocket: 200 text echoes of 100 B, close',
  server: 'websocket',
  setup: `T = ${TEXT}\n${binary ? 'B = bytes(range(250)) * 16\n' : ''}`,
  steps: [
    { label: 'import uwebsockets.client', code: 'global uwebsockets\nimport uwebsockets.client' },
    // connect() as the calls it makes: connect(wait=False), then step() until the handshake is over.
    { label: 'connect(wait=False): dial', code: 'global c\nc = uwebsockets.client.connect(URL, wait=False)' },
    // Open, and its decoder loaded (the step after the handshake's last does that alone).
    { label: 'connect(): step() until open', code: 'c.step(20)', until: "c.open and 'uwebsockets.frames' in __import__('sys').modules", times: 500 },
    { label: 'text echo (100 B)', code: 'c.send(T)\nif c.recv() != T:\n    raise AssertionError("echo")', times: 200 },
    ...(binary ? [{ label: 'binary echo (4000 B)', code: 'c.send(B)\nif c.recv() != B:\n    raise AssertionError("echo")', times: 20 }] : []),
    { label: 'close()', code: 'global c\nc.close()\nc = None' },
  ],
});

const sio = (websocketOnly: boolean): Job => ({
  name: websocketOnly
    ? "Socket.IO, transports=('websocket',): the server's event, an acked emit, close"
    : "Socket.IO, default transports (polling, then the upgrade): the server's event, an acked emit, close",
  server: 'socketio',
  setup: 'got = []\nacks = []\n',
  steps: [
    { label: 'import usocketio.client', code: 'global usocketio\nimport usocketio.client' },
    {
      label: 'connect(wait=False)',
      code: `global c\nc = usocketio.client.connect(URL, wait=False${websocketOnly ? ", transports=('websocket',)" : ''})\nc.on('hello', got.append)`,
    },
    { label: "step() until '/' is connected", code: 'c.step(20)', until: 'c.sid is not None', times: 500 },
    ...(websocketOnly ? [] : [{ label: 'step() until upgraded to WebSocket', code: 'c.step(20)', until: 'c.engine.ws is not None', times: 500 }]),
    { label: "step() until the server's event", code: 'c.step(20)', until: 'len(got) > 0', times: 500 },
    { label: 'emit() with an ack', code: `c.emit('ack', ${TEXT}, callback=acks.append)` },
    { label: 'step() until the ack', code: 'c.step(20)', until: 'len(acks) > 0', times: 500 },
    { label: 'close()', code: 'global c\nc.close()\nc = None' },
  ],
});

/** The jobs of issue 9, in its order. */
export const JOBS: Job[] = [ws(true), ws(false), sio(false), sio(true)];

/** Local servers the jobs talk to: a `ws` echo server and a socket.io 4 server. */
export interface JobServers {
  websocket: string;
  socketio: string;
  close(): Promise<void>;
}

/** A socket.io server that sends each client 'hello' and acknowledges 'ack' with its data. */
async function startSocketIo(): Promise<{ url: string; close: () => Promise<void> }> {
  const http = createServer();
  const io = new Server(http);
  io.on('connection', (s) => {
    s.emit('hello', { text: 'from the server' });
    s.on('ack', (m, cb) => typeof cb === 'function' && cb(m));
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(http.address() as AddressInfo).port}/`, close: () => new Promise((resolve) => io.close(() => resolve())) };
}

export async function startJobServers(): Promise<JobServers> {
  const echo = await startWebSocketServer((m) => m);
  const io = await startSocketIo();
  return {
    websocket: echo.url,
    socketio: io.url,
    close: async () => {
      await echo.close();
      await io.close();
    },
  };
}

/** Names the VM's qstr pools hold before the next one is allocated: pools 1..n of 20, 40, 80... entries. */
const capacity = (pools: number) => 20 * (2 ** pools - 1);

/**
 * The qstr pools a board allocates to hold `names` interned names, their sizes in bytes
 * (MicroPython's py/qstr.c: the first pool made at run time has 20 entries, each next one twice
 * the last's; a pool is a 24-byte header and 7 bytes an entry, in 16-byte heap blocks, as in
 * this VM: test/memory/jobs.test.ts checks it). On a board the firmware's own names are in
 * flash: what boot.py and the application intern fill them.
 */
export function boardQstrPools(names: number): number[] {
  const pools: number[] = [];
  for (let held = 0, size = 20; held < names; held += size, size *= 2) pools.push(Math.ceil((24 + 7 * size) / 16) * 16);
  return pools;
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

/** Interned names room made before a job runs: more than any job interns. */
const QSTR_ROOM = 600;

const indent = (code: string) => code.split('\n').map((l) => '    ' + l).join('\n');

/** Heap figures of one job, from source or (mpy) from .mpy files as `deploy --mpy` installs them. */
export async function runJob(root: string, job: Job, url: string, mpy = false): Promise<JobFigures> {
  let printed = '';
  const dev = await SimDevice.boot({ files: await runtimeFiles(root, mpy), stdout: (s) => (printed += s) });
  try {
    const defs = job.steps.map((s, i) => `def _s${i}():\n${indent(s.code)}\n`).join('');
    const qstrs = async () => {
      printed = '';
      await dev.exec('micropython.qstr_info()');
      const m = /n_pool=(\d+), n_qstr=(\d+)/.exec(printed);
      if (!m) throw new Error(`no qstr_info() figures in: ${printed}`);
      return { pools: Number(m[1]), names: Number(m[2]) };
    };
    await dev.exec(HARNESS);
    const beforeScript = await qstrs();
    await dev.exec(`URL = ${JSON.stringify(url)}\n${job.setup}${defs}_steps = [${job.steps.map((_, i) => `_s${i}`).join(', ')}]`);
    const script = (await qstrs()).names - beforeScript.names; // the application's own names, on a board too
    // Room for the job's names, so that the VM allocates no qstr pool while it runs.
    for (let q = await qstrs(), i = 0; capacity(q.pools) - q.names < QSTR_ROOM; q = await qstrs(), i += 100)
      await dev.exec(`for _i in range(${i}, ${i + 100}):\n    getattr(gc, '_room%d' % _i, None)`);
    const room = await qstrs();
    const interned = async () => {
      const q = await qstrs();
      if (q.pools !== room.pools) throw new Error(`${job.name}: the job interned more than ${QSTR_ROOM} names`);
      return q.names - room.names;
    };
    const take = () => [printed, (printed = '')][0] as string;
    await dev.exec('gc.collect()');
    const base = await dev.call<number>('_live');
    const figures: StepFigures[] = [];
    let had = 0; // names interned before the step
    for (const [i, s] of job.steps.entries()) {
      const f: StepFigures = { label: s.label, runs: 0, live: 0, allocated: 0, freed: 0, names: 0, pools: 0, bound: 0, largestBlock: 0 };
      const most = s.times ?? 1;
      for (;;) {
        if (s.until && (await dev.eval<boolean>(`bool(${s.until})`))) break;
        if (f.runs === most) {
          if (s.until) throw new Error(`${job.name}: ${s.label}: ${s.until} is still false after ${most} steps`);
          break;
        }
        await dev.exec('_unplug()\ngc.collect()');
        printed = '';
        const live = (await dev.call<number>('_live')) - base;
        const before = heapBlocks(await plugHoles(dev, take(), take));
        const allocated = await dev.call<number>('_step', i);
        const h = stepHeap(before, heapBlocks(printed));
        const names = await interned();
        const pools = boardQstrPools(script + names);
        const made = pools.slice(boardQstrPools(script + had).length); // allocated in this step
        had = names;
        f.runs++;
        f.live = Math.max(f.live, live);
        f.allocated = Math.max(f.allocated, allocated);
        f.freed = Math.max(f.freed, h.freed);
        f.names = Math.max(f.names, names);
        f.pools = Math.max(f.pools, sum(pools));
        f.bound = Math.max(f.bound, live + allocated + h.freed + sum(pools));
        f.largestBlock = Math.max(f.largestBlock, h.largest, ...made);
      }
      figures.push(f);
    }
    await dev.exec('_unplug()\ngc.collect()');
    const retained = (await dev.call<number>('_live')) - base + sum(boardQstrPools(script + (await interned())));
    return {
      job: job.name,
      mpy,
      steps: figures,
      bound: Math.max(...figures.map((f) => f.bound)),
      largestBlock: Math.max(...figures.map((f) => f.largestBlock)),
      retained,
    };
  } finally {
    await dev.close();
  }
}

/** Runs a job against the matching server of `servers`. */
export const runJobOn = (root: string, job: Job, servers: JobServers, mpy = false) =>
  runJob(root, job, job.server === 'websocket' ? servers.websocket : servers.socketio, mpy);

export interface CompileFigures {
  /** The module's path on the board, e.g. /lib/usocketio/client.py. */
  path: string;
  /** Bytes of source. */
  size: number;
  /** Heap allocated while compiling it alone, with the collector off: what stays (the code, its names) and garbage. */
  allocated: number;
  /** Heap the compiler allocated and freed again (the parse tree, moved buffers), as the layout shows it. */
  freed: number;
  /** allocated + freed: the compile's peak, as far as the layout shows it. */
  peak: number;
  /** Bytes of the largest block the compile allocated. */
  largestBlock: number;
}

/**
 * What compiling each runtime module from .py costs, each alone on a freshly booted device (as
 * the board does at import, on top of what is live then): heap allocated by compile() (the VM's, which the simulated board hides as __sim_compile__) with the
 * collector off, and the largest block; `only` picks the modules. Sorted largest peak first.
 */
export async function compileFigures(root: string, only?: (path: string, source: string) => boolean): Promise<CompileFigures[]> {
  const files = await runtimeFiles(root, false);
  const out: CompileFigures[] = [];
  for (const [path, source] of Object.entries(files)) {
    if (only && !only(path, source as string)) continue;
    const h = await measureOneStep(
      files,
      `with open(${JSON.stringify(path)}) as f:\n    src = f.read()\n` +
        `def _compile():\n    __sim_compile__(src, ${JSON.stringify(path)}, 'exec')\n_steps = [_compile]`,
    );
    out.push({ path, size: Buffer.byteLength(source as string), allocated: h.allocated, freed: h.freed, peak: h.allocated + h.freed, largestBlock: h.largest });
  }
  return out.sort((a, b) => b.peak - a.peak);
}
