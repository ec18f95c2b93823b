// Heap figures of the runtime, measured in the MicroPython VM of the simulated device.
//
// In this VM gc.collect() only marks a collection as pending; it runs when control returns to
// JavaScript. So every figure is read in a top-level call of its own, after the call that
// asked for the collection. The board modules the simulation adds (socket, ssl, ...) are
// imported at boot and are part of the baseline, as the board's own C modules would be.
import { SimDevice, projectFiles } from './device.ts';

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

/** Heap retained and allocated by `import <module>` on a freshly booted simulated device. */
export async function importFigures(root: string, module: string): Promise<ImportFigures> {
  const dev = await SimDevice.boot({ files: projectFiles(root) });
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

/**
 * Heap taken by open connections made with `connectExpr` (a Python expression that returns an
 * open connection, e.g. "uwebsockets.client.connect('ws://127.0.0.1:8080/')"), after
 * `import <module>` and a collection.
 */
export async function connectionFigures(root: string, module: string, connectExpr: string): Promise<ConnectionFigures> {
  const dev = await SimDevice.boot({ files: projectFiles(root) });
  try {
    await dev.exec(`import ${module}\nconns = []`);
    const imported = await collected(dev);
    await dev.exec(`gc.disable()\nconns.append(${connectExpr})`);
    const connectPeak = (await dev.eval<number>('gc.mem_alloc()')) - imported;
    await dev.exec('gc.enable()');
    const one = await collected(dev);
    await dev.exec(`conns.append(${connectExpr})`);
    const two = await collected(dev);
    await dev.exec('for c in conns:\n    c.close()');
    return { first: one - imported, further: two - one, connectPeak };
  } finally {
    await dev.close();
  }
}
