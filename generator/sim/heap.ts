// Heap figures of the runtime, measured in the MicroPython VM of the simulated device.
//
// In this VM gc.collect() only marks a collection as pending; it runs when control returns to
// JavaScript. So every figure is read in a top-level call of its own, after the call that
// asked for the collection. The board modules the simulation adds (socket, ssl, ...) are
// imported at boot and are part of the baseline, as the board's own C modules would be.
import { SimDevice, projectFiles } from './device.ts';
import { precompile } from '../deploy/mpy.ts';

export interface ImportFigures {
  /** Heap still allocated after importing and collecting. */
  retained: number;
  /**
   * Heap allocated while importing with the collector off, net of what the compiler freed again
   * (its parse tree): from .py not a bound of the import peak; jobs.ts measures that (freed).
   */
  allocated: number;
}

export interface ConnectionFigures {
  /** Heap retained by the first open connection, beyond the import (code imported on connect included). */
  first: number;
  /** Heap retained by each further open connection. */
  further: number;
  /** Heap allocated while the first connection opened, with the collector off. */
  connectPeak: number;
}

async function collected(dev: SimDevice): Promise<number> {
  await dev.exec('import gc\ngc.collect()');
  return dev.eval<number>('gc.mem_alloc()');
}

/** The runtime and generated modules, as source or, with mpy, precompiled as `deploy --mpy` does. */
export async function runtimeFiles(root: string, mpy: boolean): Promise<Record<string, string | Uint8Array>> {
  const sources = projectFiles(root);
  if (!mpy) return sources;
  const compiled = await precompile(Object.entries(sources).map(([path, source]) => ({ path, data: Buffer.from(source, 'utf8') })));
  return Object.fromEntries(compiled.map((f) => [f.path, f.data]));
}

/**
 * Heap retained and allocated by `import <module>` on a freshly booted simulated device, from
 * source or (mpy) from .mpy files.
 */
export async function importFigures(root: string, module: string, mpy = false): Promise<ImportFigures> {
  const dev = await SimDevice.boot({ files: await runtimeFiles(root, mpy) });
  try {
    const before = await collected(dev);
    await dev.exec(`gc.disable()\nimport ${module}`);
    const allocated = (await dev.eval<number>('gc.mem_alloc()')) - before;
    await dev.exec('gc.enable()');
    const retained = (await collected(dev)) - before;
    return { retained, allocated };
  } finally {
    await dev.close();
  }
}

/** A Socket.IO session to url, run until it is upgraded to WebSocket with '/' connected (at most 500 steps of 20 ms). */
export const upgradedSocketIo = (url: string) =>
  `(lambda c: ([c.step(20) for i in range(500) if c.engine.ws is None or c.sid is None], c)[1])(usocketio.client.connect('${url}'))`;
/** Whether connection c is what upgradedSocketIo() waits for. */
export const SOCKETIO_UPGRADED = 'c.engine.ws is not None and c.sid is not None';

/**
 * Heap taken by open connections made with `connectExpr` (a Python expression that returns an
 * open connection, e.g. "uwebsockets.client.connect('ws://127.0.0.1:8080/')"), after
 * `import <module>` and a collection; from source or (mpy) from .mpy files. With `ready` (a
 * Python expression of the connection c), each connection must be in that state, or the
 * figures would measure something else: it throws.
 */
export async function connectionFigures(root: string, module: string, connectExpr: string, mpy = false, ready?: string): Promise<ConnectionFigures> {
  const dev = await SimDevice.boot({ files: await runtimeFiles(root, mpy) });
  const check = async (which: string) => {
    if (ready && !(await dev.eval<boolean>(`(lambda c: bool(${ready}))(conns[-1])`)))
      throw new Error(`the ${which} connection is not as measured (${ready} is false)`);
  };
  try {
    await dev.exec(`import ${module}\nconns = []`);
    const imported = await collected(dev);
    await dev.exec(`gc.disable()\nconns.append(${connectExpr})`);
    const connectPeak = (await dev.eval<number>('gc.mem_alloc()')) - imported;
    await dev.exec('gc.enable()');
    const one = await collected(dev);
    await check('first');
    await dev.exec(`conns.append(${connectExpr})`);
    const two = await collected(dev);
    await check('second');
    await dev.exec('for c in conns:\n    c.close()');
    return { first: one - imported, further: two - one, connectPeak };
  } finally {
    await dev.close();
  }
}

// The harness in the VM, defined before the baseline. _step runs one step function with the
// collector off and returns what it allocated. A top-level call from JavaScript
// (SimDevice.call) compiles nothing, and a collection marked pending runs as the call starts:
// _live() then reads the live heap exactly. Both print the heap's block layout
// (micropython.mem_info(1)), which allocates nothing: blocks in the layout after the step that
// were not in it before are what the step allocated (nothing is collected in between).
// _plug(n) fills n free blocks, lowest first (the allocator's first fit), with one-block
// objects: run until no block below the heap's frontier is free (plugHoles()), it makes what a
// step allocates go beyond the frontier, where what the C code frees again within the step
// (a parse tree, a buffer moved to grow) stays visible as holes; in a hole below the frontier
// it left no trace. _unplug() lets them go.
export const HARNESS = `import gc, micropython
def _live():
    a = gc.mem_alloc()
    micropython.mem_info(1)
    return a
_plugs = []
def _plug(n):
    p = [None] * n
    for i in range(n):
        p[i] = (i,)
    _plugs.append(p)
    micropython.mem_info(1)
def _unplug():
    _plugs.clear()
def _step(i):
    f = _steps[i]
    gc.disable()
    a = gc.mem_alloc()
    try:
        f()
    finally:
        b = gc.mem_alloc()
        micropython.mem_info(1)
        gc.enable()
    return b - a
`;

/** The heap's blocks as micropython.mem_info(1) prints them: "area:first block" -> length in blocks. */
export function heapBlocks(printed: string): Map<string, number> {
  const blocks = new Map<string, number>();
  let area = -1;
  let head = '';
  let prev = -2; // index of the previous block character seen, to see runs broken by free lines
  for (const line of printed.split(/\r?\n/)) {
    if (line.startsWith('GC memory layout')) {
      area++;
      prev = -2;
      continue;
    }
    const m = /^([0-9a-f]{8}): (.*)$/.exec(line);
    if (!m || area < 0) continue;
    const first = parseInt(m[1] as string, 16) / 16;
    const row = m[2] as string;
    for (let k = 0; k < row.length; k++) {
      const c = row[k] as string;
      const at = first + k;
      if (c === '=' && head && prev === at - 1) blocks.set(head, (blocks.get(head) ?? 0) + 1);
      else if (c !== '.' && c !== '=') {
        head = `${area}:${at}`;
        blocks.set(head, 1);
      } else head = '';
      prev = at;
    }
  }
  if (area < 0) throw new Error('micropython.mem_info(1) printed no heap layout');
  return blocks;
}

/** Free blocks below the highest block in use, in every area of a layout micropython.mem_info(1) printed. */
export function freeBelowFrontier(printed: string): number {
  let total = 0;
  let free = 0; // free blocks seen in this area since its last block in use
  for (const line of printed.split(/\r?\n/)) {
    if (line.startsWith('GC memory layout')) {
      free = 0; // (what was free after the last area's last block is beyond its frontier)
      continue;
    }
    const all = /^\s+\((\d+) lines all free\)/.exec(line);
    if (all) {
      free += Number(all[1]) * 64;
      continue;
    }
    const m = /^[0-9a-f]{8}: (.*)$/.exec(line);
    if (!m) continue;
    for (const c of m[1] as string) {
      if (c === '.') free++;
      else {
        total += free;
        free = 0;
      }
    }
  }
  return total;
}

/**
 * Plugs the free blocks below the heap's frontier (HARNESS's _plug), given the layout `_live()`
 * printed, until none is left; returns the layout after it. `take()` returns what the device
 * printed since the last call and forgets it.
 */
export async function plugHoles(dev: SimDevice, layout: string, take: () => string): Promise<string> {
  for (let n = freeBelowFrontier(layout), round = 0; n > 0; n = freeBelowFrontier(layout), round++) {
    if (round === 8) throw new Error(`${n} free blocks below the heap's frontier are left after 8 rounds of plugging`);
    take();
    await dev.call('_plug', n);
    layout = take();
  }
  return layout;
}

export interface StepHeap {
  /** Bytes of the largest block in the layout after the step that was not there before. */
  largest: number;
  /**
   * Bytes of free holes the step left beyond the highest block in use before it: the step
   * allocated there and the C code freed it again within the step (first-fit allocation fills
   * the free space beyond that frontier without gaps).
   */
  freed: number;
}

/** What a step did to the heap, from the layouts before it (after a collection) and after it (nothing collected). */
export function stepHeap(before: Map<string, number>, after: Map<string, number>): StepHeap {
  let largest = 0;
  for (const [at, n] of after) if (before.get(at) !== n) largest = Math.max(largest, n);
  const extent = (blocks: Map<string, number>) => {
    const top = new Map<string, number>();
    for (const [at, n] of blocks) {
      const [area, first] = at.split(':') as [string, string];
      top.set(area, Math.max(top.get(area) ?? 0, Number(first) + n));
    }
    return top;
  };
  const frontier = extent(before);
  const top = extent(after);
  let freed = 0;
  for (const [area, t] of top) {
    const f = frontier.get(area) ?? 0;
    let used = 0;
    for (const [at, n] of after) {
      const [a, first] = at.split(':') as [string, string];
      if (a === area) used += Math.max(0, Math.min(t, Number(first) + n) - Math.max(f, Number(first)));
    }
    freed += Math.max(0, t - f - used);
  }
  return { largest: largest * 16, freed: freed * 16 };
}

/**
 * What one piece of code costs on a freshly booted device with `files`: `setup` (Python, run
 * after HARNESS) defines `_steps`, whose first runs with the collector off, after a collection:
 * what it allocated, and from the heap's layout what it freed again and its largest block.
 */
export async function measureOneStep(files: Record<string, string | Uint8Array>, setup: string): Promise<StepHeap & { allocated: number }> {
  let printed = '';
  const dev = await SimDevice.boot({ files, stdout: (s) => (printed += s) });
  try {
    await dev.exec(`${HARNESS}${setup}`);
    await dev.exec('gc.collect()');
    printed = '';
    await dev.call('_live');
    const take = () => [printed, (printed = '')][0] as string;
    const before = heapBlocks(await plugHoles(dev, take(), take));
    const allocated = await dev.call<number>('_step', 0);
    return { allocated, ...stepHeap(before, heapBlocks(printed)) };
  } finally {
    await dev.close();
  }
}

/**
 * The peak of `import <module>` on a freshly booted device, from source or .mpy: what the import
 * allocates with the collector off plus what the compiler allocated and freed again within it
 * (its parse tree), as the heap layout shows it.
 */
export async function importPeak(root: string, module: string, mpy = false): Promise<number> {
  const h = await measureOneStep(await runtimeFiles(root, mpy), `def _import():\n    __import__(${JSON.stringify(module)})\n_steps = [_import]`);
  return h.allocated + h.freed;
}
