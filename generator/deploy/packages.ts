// Which of the runtime's packages an application needs. A package is a top-level name in the
// board's /lib: a folder with modules (uwebsockets, usocketio) or a single module (fsm, dial,
// websocket_fsm). What a package needs is read from the import statements of its modules, those
// inside functions included (the runtime imports code for one phase only when it runs), and
// followed until nothing new turns up; nothing about the runtime is hard-coded here.

import { DeployError } from './link.ts';
import type { BoardFile } from './sync.ts';

const LIB = '/lib/';

/** The package a board file belongs to ('/lib/uwebsockets/client.py' -> 'uwebsockets', '/lib/fsm.mpy' -> 'fsm'), if it is in /lib. */
export function packageOf(path: string): string | undefined {
  if (!path.startsWith(LIB)) return undefined;
  const first = path.slice(LIB.length).split('/')[0] as string;
  return first.replace(/\.m?py$/, '');
}

/**
 * The top-level names a module's source imports: `import a.b as c, d`, `from a.b import x`,
 * `__import__('a')`, statements after `;` or `:` on a line included. A relative import
 * (`from . import x`) names `own`, the package the module is in. Over-reading (a line of a
 * string that looks like an import) can only add a package, never lose one.
 */
export function importedNames(source: string, own?: string): string[] {
  const names = new Set<string>();
  // Continuation lines joined. Comments stay: cutting at '#' would cut `s = '#'; import x`, and
  // a comment reads as an import only after ':' or ';' (an over-read).
  const code = source.replace(/\\\r?\n/g, ' ');
  for (const m of code.matchAll(/(?:^|[;:])[ \t]*import[ \t]+([^\n;]+)/gm)) {
    for (const part of (m[1] as string).split(',')) {
      const name = /^\s*([A-Za-z_]\w*)/.exec(part)?.[1];
      if (name) names.add(name);
    }
  }
  for (const m of code.matchAll(/(?:^|[;:])[ \t]*from[ \t]+(\.*)([A-Za-z_]\w*)?[\w.]*[ \t]+import\b/gm)) {
    if (m[1]) {
      if (own) names.add(own);
    } else if (m[2]) names.add(m[2]);
  }
  for (const m of code.matchAll(/__import__\(\s*['"]([A-Za-z_]\w*)/g)) names.add(m[1] as string);
  return [...names];
}

/** The packages of `files` (their board paths under /lib), each with its files. */
export function packagesOf(files: BoardFile[]): Map<string, BoardFile[]> {
  const out = new Map<string, BoardFile[]>();
  for (const f of files) {
    const p = packageOf(f.path);
    if (p !== undefined) out.set(p, [...(out.get(p) ?? []), f]);
  }
  return out;
}

/** The packages that each package imports (only those among `packages`). */
function importGraph(packages: Map<string, BoardFile[]>): Map<string, Set<string>> {
  const graph = new Map<string, Set<string>>();
  for (const [name, files] of packages) {
    const deps = new Set<string>();
    for (const f of files) {
      if (!f.path.endsWith('.py')) continue;
      for (const n of importedNames(Buffer.from(f.data).toString('utf8'), name)) if (n !== name && packages.has(n)) deps.add(n);
    }
    graph.set(name, deps);
  }
  return graph;
}

/** `roots` and every package they import, directly or not, sorted. */
export function closure(packages: Map<string, BoardFile[]>, roots: Iterable<string>): string[] {
  const graph = importGraph(packages);
  const seen = new Set<string>();
  const todo = [...roots];
  // A work list, not recursion: import cycles (usocketio <-> uwebsockets would be one) end here.
  while (todo.length) {
    const p = todo.pop() as string;
    if (seen.has(p)) continue;
    seen.add(p);
    for (const d of graph.get(p) ?? []) todo.push(d);
  }
  return [...seen].sort();
}

export interface Selection {
  /** The files to deploy: the packages chosen and what they import, in the order given. */
  files: BoardFile[];
  /** The packages asked for (by --only or by the application's imports), sorted. */
  roots: string[];
  /** What they import besides, sorted. */
  needed: string[];
}

/**
 * The runtime files (under /lib) of the packages named in `roots` and of every package they
 * import. Throws a DeployError naming the packages there are when a root is not one of them.
 */
export function selectPackages(files: BoardFile[], roots: string[]): Selection {
  const packages = packagesOf(files);
  const unknown = roots.filter((r) => !packages.has(r));
  if (unknown.length) {
    throw new DeployError(`no package ${unknown.map((u) => `'${u}'`).join(', ')} in the runtime; there are: ${[...packages.keys()].sort().join(', ')}`);
  }
  const all = closure(packages, roots);
  const chosen = new Set(all);
  return {
    files: files.filter((f) => chosen.has(packageOf(f.path) as string)),
    roots: [...new Set(roots)].sort(),
    needed: all.filter((p) => !roots.includes(p)),
  };
}

/** The runtime packages that the application's own files (main.py, app modules) import. */
export function applicationImports(runtime: BoardFile[], app: BoardFile[]): string[] {
  const packages = packagesOf(runtime);
  const names = new Set<string>();
  for (const f of app) for (const n of importedNames(Buffer.from(f.data).toString('utf8'))) if (packages.has(n)) names.add(n);
  return [...names].sort();
}

const list = (names: string[]) => names.join(', ');

/**
 * What to deploy (or freeze) of `runtime`: the packages named in `only` and what they import;
 * without `only`, those the user's files import and what they import; without user files,
 * everything. `said` tells the user what was chosen and why.
 */
export function choosePackages(runtime: BoardFile[], user: BoardFile[], only: string[] | undefined, doing = 'deploying'): { files: BoardFile[]; said: string[] } {
  const said: string[] = [];
  const yours = list(user.map((f) => f.path.slice(1)));
  const verb = user.length > 1 ? 'import' : 'imports';
  if (only?.length) {
    const s = selectPackages(runtime, only);
    const they = s.roots.length > 1 ? 'they import' : 'it imports';
    said.push(`only ${list(s.roots)}${s.needed.length ? `, and what ${they}: ${list(s.needed)}` : ''}`);
    const chosen = new Set([...s.roots, ...s.needed]);
    const left = applicationImports(runtime, user).filter((p) => !chosen.has(p));
    if (left.length) said.push(`note: ${yours} ${verb} ${list(left)}, which --only leaves out`);
    return { files: s.files, said };
  }
  if (!user.length) return { files: runtime, said };
  const s = selectPackages(runtime, applicationImports(runtime, user));
  const them = s.roots.length > 1 ? 'them' : 'it';
  if (s.roots.length) {
    const they = s.roots.length > 1 ? 'they import' : 'it imports';
    said.push(`${yours} ${verb} ${list(s.roots)}: ${doing} ${them}${s.needed.length ? ` and what ${they}: ${list(s.needed)}` : ''} (--only chooses)`);
  } else said.push(`${yours} ${verb} none of the runtime's packages (--only chooses)`);
  return { files: s.files, said };
}
