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
  /** Heap allocated while importing with the collector off: an upper bound of the import peak. */
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
