// Drift between a spec and the hand-written runtime. The implementing class dispatches on ids:
// fsm calls its act(a) for every action and guard(g) for every guard. So:
//  - every action and guard must have its private id (`_A_SEND_PONG = const(7)`) declared and
//    used (a branch of act() or guard()) in the machine's modules: the implementing module and
//    the modules it hands some of the work to. Those are the runtime modules that import the
//    machine's tables, and the helpers in the implementing module's package (its folder, when
//    that is not the runtime's top level): modules that declare private ids but import no
//    machine's tables. A mention in a comment is not a use;
//  - a private id for an action, guard, event, state or timer the spec does not have is an
//    error (the runtime implements something the spec dropped);
//  - every private id in the machine's modules must equal the spec's. (A helper's id that
//    another machine has, with the value declared, is left to that machine.)
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import type { MachineIR } from '../ir/model.ts';
import type { Diagnostic } from '../spec/diagnostics.ts';
import { micropythonModuleName, type RuntimeId } from './ids.ts';
import { loadLayout } from '../config/config.ts';

/** The project's runtime folder (runtime-esp8266 unless its configuration names another). */
const runtimeDir = (root: string) => loadLayout(root).runtime;

/** Every .py under runtime-esp8266/ (path as the drift check joins it -> source). */
export type RuntimeSources = Map<string, string>;

/** Reads the runtime's Python sources: once per build, for every machine's drift check. */
export function readRuntime(root: string): RuntimeSources {
  return new Map(pythonFiles(join(root, runtimeDir(root))).map((p) => [p, readFileSync(p, 'utf8')] as const));
}

/**
 * `runtime`: the runtime's sources (readRuntime). `others`: the ids of every other machine, by
 * table module name; a runtime module that uses several machines may hold ids of each, which
 * must not clash.
 */
export function checkDrift(root: string, m: MachineIR, ids: Map<string, RuntimeId>, runtime: RuntimeSources, others = new Map<string, Map<string, RuntimeId>>()): Diagnostic[] {
  const { module, className, pos } = m.implementation;
  const path = join(root, runtimeDir(root), module);
  const shown = relative(root, path);
  // A module outside the runtime's .py files (a path out of the folder) is read from disk.
  let source = runtime.get(path);
  if (source === undefined) {
    if (!existsSync(path)) return [{ ...pos, message: `implementation module ${shown} does not exist` }];
    source = readFileSync(path, 'utf8');
  }
  const methods = classMethods(source, className);
  if (!methods) return [{ ...pos, message: `implementation class ${className} is not defined in ${shown}` }];
  const out: Diagnostic[] = [];
  const mine = machineModules(root, m, others, runtime);
  const modules = mine.map(([, s]) => stripComments(s));
  const uses = modules.map((s) => s.replace(/^_[A-Z][A-Z0-9_]*\s*=\s*const\(.*$/gm, ''));
  for (const [kind, items, method] of [['action', m.actions, 'act'], ['guard', m.guards, 'guard']] as const) {
    if (items.length && !methods.includes(method)) out.push({ ...pos, message: `${shown}: ${className} has no ${method}() method to run the spec's ${kind}s` });
    for (const item of items) {
      const id = `_${kind === 'action' ? 'A' : 'G'}_${item.name.toUpperCase()}`;
      const declared = modules.some((s) => new RegExp(`^${id}\\s*=\\s*const\\(`, 'm').test(s));
      const used = uses.some((s) => new RegExp(`\\b${id}\\b`).test(s));
      if (!declared) out.push({ ...item.pos, message: `${shown} does not implement ${kind} '${item.name}': declare ${id} = const(${ids.get(id)!.value}) and handle it in ${className}.${method}()` });
      else if (!used) out.push({ ...item.pos, message: `${shown} declares ${id} but nothing handles it: handle ${kind} '${item.name}' in ${className}.${method}()` });
    }
  }
  return [...out, ...checkIds(root, m, ids, others, mine), ...firesInActions(root, mine)];
}

/**
 * An act() (method or helper function) in the machine's modules that calls fire() directly:
 * the interpreter is still inside the transition, so the nested one would run first and the
 * outer one's remaining steps (its timers) would land in the wrong state. A call through
 * another function is not seen here; the runtime contract (README) forbids it too.
 */
function firesInActions(root: string, modules: [string, string][]): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const [path, source] of modules) {
    const lines = stripComments(source).split('\n');
    lines.forEach((line, i) => {
      const def = /^(\s*)def act\s*\(/.exec(line);
      if (!def) return;
      for (let j = i + 1; j < lines.length && (!lines[j]!.trim() || /^\s*/.exec(lines[j]!)![0].length > def[1]!.length); j++) {
        if (/(^|[^\w.]|\b(fsm|self)\.)fire\s*\(/.test(lines[j]!)) {
          out.push({ file: relative(root, path), line: j + 1, col: lines[j]!.search(/\S/) + 1, message: 'act() calls fire(): an action must not fire an event (the transition is still running, and its timers would be armed in the state the nested event left); record it, and fire once fire() has returned' });
        }
      }
    });
  }
  return out;
}

const PRIVATE_ID = /^(_[ESTAG]_[A-Z0-9_]*|_FINAL)\s*=\s*const\(/m;

/**
 * The machine's modules, as [path, source]: the implementing module, every runtime module that
 * imports the machine's tables, and the helpers in the implementing module's package (modules
 * there that declare private ids and import no machine's tables).
 */
export function machineModules(root: string, m: MachineIR, others: Map<string, Map<string, RuntimeId>>, runtime: RuntimeSources): [string, string][] {
  const mod = micropythonModuleName(m.name);
  const runtimeRoot = join(root, runtimeDir(root));
  const implementation = join(runtimeRoot, m.implementation.module);
  const pkg = dirname(implementation);
  const inPackage = (p: string) => pkg !== runtimeRoot && p.startsWith(pkg + sep);
  return [...runtime].filter(([p, source]) => p === implementation || importsModule(source, mod) || (inPackage(p) && isHelper(source, others)));
}

/** A module that declares private ids but imports no machine's tables. */
function isHelper(source: string, others: Map<string, Map<string, RuntimeId>>): boolean {
  return PRIVATE_ID.test(source) && ![...others.keys()].some((mod) => importsModule(source, mod));
}

/** Private id constants in the machine's modules. */
function checkIds(root: string, m: MachineIR, ids: Map<string, RuntimeId>, others: Map<string, Map<string, RuntimeId>>, modules: [string, string][]): Diagnostic[] {
  const out: Diagnostic[] = [];
  const mine = micropythonModuleName(m.name);
  const implementation = join(root, runtimeDir(root), m.implementation.module);
  for (const [path, source] of modules) {
    const file = relative(root, path);
    const helper = path !== implementation && !importsModule(source, mine) && isHelper(source, others);
    const alsoImported = [...others].filter(([mod]) => importsModule(source, mod));
    source.split('\n').forEach((line, i) => {
      const c = /^(_[A-Z][A-Z0-9_]*)\s*=\s*const\((\d+)\)/.exec(line);
      if (!c || !/^_[ESTAG]_|^_FINAL$/.test(c[1]!)) return;
      const name = c[1]!;
      const id = ids.get(name);
      const elsewhere = alsoImported.flatMap(([mod, theirs]) => (theirs.has(name) ? [[mod, theirs.get(name)!] as const] : []));
      const at = { file, line: i + 1, col: 1 };
      const clash = id && elsewhere.find(([, theirs]) => theirs.value !== id.value);
      // A helper imports no tables to say whose its ids are: an id another machine has, with
      // the value declared, may be that machine's (whose package the helper may also be in).
      if (helper && (!id || id.value !== Number(c[2])) && [...others.values()].some((theirs) => theirs.get(name)?.value === Number(c[2]))) return;
      if (!id) {
        if (elsewhere.length) return; // another machine's: its own check judges it
        const kind = { E: 'event', S: 'state', T: 'timer', A: 'action', G: 'guard' }[name[1] as 'E'] ?? 'id';
        out.push({ ...at, message: `${name} names no ${kind} of ${m.file} (the spec may have dropped or renamed it): remove it, or declare the ${kind}` });
      } else if (clash) {
        // Reported once, by the machine whose module name sorts first.
        const [mod, theirs] = clash;
        if (mod > micropythonModuleName(m.name)) {
          out.push({ ...at, message: `${name} is ${id.value} for ${m.name} but ${theirs.value} for ${mod.replace(/_fsm$/, '')}, and ${file} uses both: rename one of the two in its spec` });
        }
      } else if (id.value !== Number(c[2])) {
        out.push({ ...at, message: `${name} is ${id.value} in ${m.file} (${id.what}); write ${name} = const(${id.value})` });
      }
    });
  }
  return out;
}

/**
 * Python source without its comments (a `#` outside string literals, to the end of its line),
 * line breaks kept. Strings: '...' and "..." (with backslash escapes) and their triple-quoted
 * forms, whatever their prefix.
 */
export function stripComments(source: string): string {
  let out = '';
  let i = 0;
  while (i < source.length) {
    const ch = source[i]!;
    if (ch === '#') {
      while (i < source.length && source[i] !== '\n') i++;
    } else if (ch === "'" || ch === '"') {
      const q = source.startsWith(ch.repeat(3), i) ? ch.repeat(3) : ch;
      let j = i + q.length;
      while (j < source.length && !source.startsWith(q, j) && (q.length === 3 || source[j] !== '\n')) j += source[j] === '\\' ? 2 : 1;
      j = Math.min(source.length, source.startsWith(q, j) ? j + q.length : j);
      out += source.slice(i, j);
      i = j;
    } else {
      out += ch;
      i++;
    }
  }
  return out;
}

function importsModule(source: string, mod: string): boolean {
  return new RegExp(`^\\s*(import\\s+${mod}\\b|from\\s+${mod}\\s+import)`, 'm').test(source);
}

/** Names of the methods defined directly in `class <name>` and in bases in the same module. */
function classMethods(source: string, name: string, seen = new Set<string>()): string[] | null {
  if (seen.has(name)) return [];
  seen.add(name);
  const lines = source.split('\n');
  const start = lines.findIndex((l) => new RegExp(`^class ${name}\\b`).test(l));
  if (start < 0) return null;
  const bases = /^class \w+\(([^)]*)\)/.exec(lines[start]!)?.[1]?.split(',').map((b) => b.trim()).filter(Boolean) ?? [];
  const methods: string[] = [];
  const body = lines.slice(start + 1).find((l) => l.trim() && !l.trim().startsWith('#'));
  const indent = body ? /^\s*/.exec(body)![0] : '    ';
  for (let i = start + 1; i < lines.length && (!lines[i]!.trim() || lines[i]!.startsWith(indent)); i++) {
    const def = new RegExp(`^${indent}def (\\w+)\\s*\\(`).exec(lines[i]!);
    if (def) methods.push(def[1]!);
  }
  for (const base of bases) methods.push(...(classMethods(source, base, seen) ?? []));
  return methods;
}

function pythonFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile() && d.name.endsWith('.py'))
    .map((d) => join(d.parentPath, d.name))
    .sort();
}
