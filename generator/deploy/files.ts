// The files a project puts on a board: its runtime folder and generated modules, and the part of
// wirestate's own runtime that every generated table needs. In a user's project the runtime
// folder holds only the user's modules; the table interpreter (fsm.py) and its tracer
// (fsmtrace.py) ship in the wirestate package, and come from there unless the project has its own.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { UsageError } from '../cli/command.ts';
import { loadLayout } from '../config/config.ts';
import { TOOLKIT_ROOT, projectFiles } from '../sim/device.ts';
import { packageOf } from './packages.ts';
import { checkBoardPath, type BoardFile } from './sync.ts';

/** The modules of wirestate's runtime that tables need whatever the protocol, by board path. */
const TABLE_RUNTIME = ['fsm.py', 'fsmtrace.py'];

/** Where the package's own runtime is (its runtime-esp8266/). */
export const PACKAGE_RUNTIME = path.join(TOOLKIT_ROOT, 'runtime-esp8266');

/**
 * The modules of the package's runtime that `files` (board path -> content) lacks: fsm.py and
 * fsmtrace.py, as /lib/fsm.py and /lib/fsmtrace.py.
 */
export function tableRuntime(files: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of TABLE_RUNTIME) {
    if (!(`/lib/${name}` in files)) out[`/lib/${name}`] = fs.readFileSync(path.join(PACKAGE_RUNTIME, name), 'utf8');
  }
  return out;
}

/**
 * What a project deploys to /lib (board path -> source): every .py of `root`'s runtime folder and
 * generated modules, and fsm.py and fsmtrace.py from the package where the runtime folder has none.
 */
export function boardSources(root: string): Record<string, string> {
  const files = projectFiles(root);
  return { ...files, ...tableRuntime(files) };
}

/**
 * Where a package of /lib is on the host: the folder that holds it (the project's runtime or
 * generated folder, as configured, or the package's runtime), and whether it is a folder (a
 * package of modules) or one module.
 */
export function hostPackage(root: string, name: string): { base: string; folder: boolean } {
  const layout = loadLayout(root);
  for (const base of [path.join(root, layout.runtime), path.join(root, layout.micropython), PACKAGE_RUNTIME]) {
    if (fs.existsSync(path.join(base, name)) && fs.statSync(path.join(base, name)).isDirectory()) return { base, folder: true };
    if (fs.existsSync(path.join(base, `${name}.py`))) return { base, folder: false };
  }
  throw new Error(`no package ${name} under ${root}`);
}

/** A file of the user's, named by option --`option`. */
function readUserFile(file: string, option: string): Uint8Array {
  if (!fs.existsSync(file) || !fs.statSync(file).isFile()) throw new UsageError(`--${option}: no such file: ${file}`);
  return fs.readFileSync(file);
}

/** The project's runtime and generated modules (board path and source), and the user's files. */
export function projectAndUserFiles(root: string, main: string | undefined, apps: string[]): { runtime: BoardFile[]; user: BoardFile[] } {
  const runtime: BoardFile[] = Object.entries(boardSources(root)).map(([p, text]) => ({ path: p, data: Buffer.from(text, 'utf8') }));
  if (!runtime.some((f) => packageOf(f.path) !== 'fsm' && packageOf(f.path) !== 'fsmtrace')) {
    const layout = loadLayout(root);
    throw new UsageError(`nothing to deploy: ${root} has no ${layout.runtime}/ or ${layout.micropython}/ with .py files`);
  }
  const user: BoardFile[] = [];
  if (main !== undefined) user.push({ path: '/main.py', data: readUserFile(main, 'main') });
  for (const app of apps) {
    const boardPath = '/' + path.basename(app);
    if (user.some((f) => f.path === boardPath)) throw new UsageError(`--app: ${boardPath} is deployed twice`);
    user.push({ path: boardPath, data: readUserFile(app, 'app') });
  }
  for (const f of [...runtime, ...user]) checkBoardPath(f.path);
  return { runtime, user };
}

