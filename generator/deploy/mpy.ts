// Precompiling modules to .mpy with mpy-cross (MicroPython 1.19's, built to WebAssembly:
// @pybricks/mpy-cross-v6). It writes .mpy version 6 bytecode, which every MicroPython from 1.19
// on loads: the loader checks the sub-version only for native code, which this never emits.

import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { compile } from '@pybricks/mpy-cross-v6';
import { DeployError } from './link.ts';
import type { BoardFile } from './sync.ts';

/** What compiles, for the cache: another version of the compiler, or other options, make other files. */
const COMPILER = `mpy-cross-v6 ${JSON.parse(fs.readFileSync(path.join(path.dirname(createRequire(import.meta.url).resolve('@pybricks/mpy-cross-v6')), '..', 'package.json'), 'utf8')).version} -s`;

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
 * Whether a deploy precompiles, from --py / --mpy and the board's sys.implementation._mpy: with
 * neither, when the board loads what mpy-cross writes, else source with a note saying why.
 * --mpy to a board that cannot load them throws (checkMpyVersion).
 */
export function deployFormat(options: { py?: boolean; mpy?: boolean }, boardMpy: number): { mpy: boolean; note?: string } {
  if (options.py) return { mpy: false };
  if (options.mpy) checkMpyVersion(boardMpy);
  if (loadsMpy(boardMpy)) return { mpy: true };
  const why = boardMpy ? `it loads version ${boardMpy & 0xff}` : 'it has no sys.implementation._mpy: MicroPython before 1.19';
  return { mpy: false, note: `as source: the board does not load .mpy version ${MPY_VERSION} (${why})` };
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
 * With `cacheDir`, compiled files are kept there by the sha256 of their name and source, and a
 * deploy of unchanged sources compiles nothing.
 */
export async function precompile(files: BoardFile[], cacheDir?: string): Promise<BoardFile[]> {
  const out: BoardFile[] = [];
  // One at a time: the compiler's loader is sensitive to a global that compileMpy takes away.
  for (const f of files) {
    if (!f.path.endsWith('.py') || f.path === '/main.py' || f.path === '/boot.py') out.push(f);
    else {
      const name = f.path.replace(/^\/lib\//, '').replace(/^\//, '');
      const source = Buffer.from(f.data).toString('utf8');
      const key = cacheDir && path.join(cacheDir, createHash('sha256').update(`${COMPILER}\0${name}\0${source}`).digest('hex') + '.mpy');
      let data: Uint8Array | undefined;
      if (key) {
        try {
          data = fs.readFileSync(key);
        } catch {
          // not compiled yet
        }
      }
      if (!data) {
        data = await compileMpy(name, source);
        if (key) {
          fs.mkdirSync(cacheDir as string, { recursive: true });
          fs.writeFileSync(key + '.tmp', data);
          fs.renameSync(key + '.tmp', key);
        }
      }
      out.push({ path: f.path.slice(0, -3) + '.mpy', data });
    }
  }
  return out;
}
