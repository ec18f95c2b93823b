// Precompiling modules to .mpy with mpy-cross (MicroPython 1.19's, built to WebAssembly:
// @pybricks/mpy-cross-v6). It writes .mpy version 6 bytecode, which every MicroPython from 1.19
// on loads: the loader checks the sub-version only for native code, which this never emits.

import { compile } from '@pybricks/mpy-cross-v6';
import { DeployError } from './link.ts';
import type { BoardFile } from './sync.ts';

/** The .mpy major version mpy-cross writes. */
export const MPY_VERSION = 6;

/** Whether a board that reports sys.implementation._mpy `boardMpy` (0: none) loads what mpy-cross writes. */
export function loadsMpy(boardMpy: number): boolean {
  return boardMpy !== 0 && (boardMpy & 0xff) === MPY_VERSION;
}

/**
 * Checks the board's sys.implementation._mpy (0 when the board does not report one) against
 * what mpy-cross writes; throws a DeployError saying why it does not fit.
 */
export function checkMpyVersion(boardMpy: number): void {
  if (!boardMpy) throw new DeployError('--mpy: the board does not report the .mpy version it loads (sys.implementation._mpy), so it predates MicroPython 1.19; deploy with --py');
  if (!loadsMpy(boardMpy)) {
    throw new DeployError(`--mpy: the board loads .mpy version ${boardMpy & 0xff}, wirestate's mpy-cross writes version ${MPY_VERSION} (MicroPython 1.19 and later); deploy with --py`);
  }
}

/**
 * Compiles MicroPython source to .mpy. `name` is what tracebacks show as the file. Throws a
 * DeployError with mpy-cross's message when the source does not compile.
 */
export async function compileMpy(name: string, source: string): Promise<Uint8Array> {
  // Emscripten's loader in this build fetches the .wasm when a global fetch exists, which in
  // Node fails on a file path; without one it reads the file.
  const g = globalThis as { fetch?: typeof fetch };
  const saved = g.fetch;
  delete g.fetch;
  // Each compile also adds process-wide handlers that rethrow; they would pile up.
  const uncaught = process.listeners('uncaughtException');
  const unhandled = process.listeners('unhandledRejection');
  try {
    const r = await compile(name.split('/').pop() as string, source, ['-s', name]);
    if (r.status !== 0 || !r.mpy) throw new DeployError(`mpy-cross could not compile ${name}:\n${[...r.out, ...r.err].join('\n')}`);
    return r.mpy;
  } finally {
    if (saved) g.fetch = saved;
    for (const l of process.listeners('uncaughtException')) if (!uncaught.includes(l)) process.off('uncaughtException', l);
    for (const l of process.listeners('unhandledRejection')) if (!unhandled.includes(l)) process.off('unhandledRejection', l);
  }
}

/**
 * The files as .mpy, but main.py and boot.py, which the board runs from source only (and files
 * that are not .py). Each is compiled under its name in /lib (or /): what tracebacks show.
 */
export async function precompile(files: BoardFile[]): Promise<BoardFile[]> {
  const out: BoardFile[] = [];
  // One at a time: the compiler's loader is sensitive to a global that compileMpy takes away.
  for (const f of files) {
    if (!f.path.endsWith('.py') || f.path === '/main.py' || f.path === '/boot.py') out.push(f);
    else {
      const name = f.path.replace(/^\/lib\//, '').replace(/^\//, '');
      out.push({ path: f.path.slice(0, -3) + '.mpy', data: await compileMpy(name, Buffer.from(f.data).toString('utf8')) });
    }
  }
  return out;
}
