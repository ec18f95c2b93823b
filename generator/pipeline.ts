// spec -> IR -> analyses -> backends, for every spec of the project (its folders from
// wirestate.config.json; by default spec/, runtime-esp8266/ and generated/). Everything is
// computed in memory first; files are written only when every spec is valid, so a bad spec never
// leaves a half-written generated/. The backends' libraries (ts-morph, Graphviz, Handlebars)
// load only when their output is not in the render cache.
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import type { MachineIR } from './ir/model.ts';
import { SpecError, isWarning, sortDiagnostics, type Diagnostic } from './spec/diagnostics.ts';
import { parseSpec, posAt, type SpecSource } from './spec/source.ts';
import { checkSchema } from './spec/schema.ts';
import { buildMachine } from './spec/build.ts';
import { flatten, type FlatMachine } from './analyses/flatten.ts';
import { checkMachine } from './analyses/checks.ts';
import { encode, TableLimitError, type Tables } from './analyses/encode.ts';
import { checkDrift, readRuntime } from './analyses/drift.ts';
import { micropythonModuleName, runtimeIds } from './analyses/ids.ts';
import { emitDiagramIndex, emitDiagrams, renderSvg } from './backends/diagrams.ts';
import { loadLayout, type Layout } from './config/config.ts';
import { RenderCache } from './cache.ts';

/** Folders whose every file is generated: a file here that the specs no longer produce is stale. */
export function managedDirs(layout: Layout): string[] {
  return [layout.micropython, layout.xstate, layout.diagrams];
}

export interface CompiledMachine {
  machine: MachineIR;
  flat: FlatMachine;
  tables: Tables;
}

export interface Build {
  machines: CompiledMachine[];
  /** Found in specs that compile: printed, and with --strict errors. */
  warnings: Diagnostic[];
  /** Project-relative path -> content. */
  outputs: Map<string, string>;
  /** Where the project keeps its files. */
  layout: Layout;
}

export function specFiles(root: string, layout = loadLayout(root)): string[] {
  const specDir = layout.spec;
  const dir = join(root, specDir);
  if (!existsSync(dir)) {
    const hint = layout.source ? `(${layout.source} names it as "spec")` : ': run in a project root, pass --root, or name the folder in wirestate.config.json';
    throw new SpecError([{ file: specDir, line: 1, col: 1, message: `no ${specDir}/ folder in ${root}${layout.source ? ' ' : ''}${hint}` }]);
  }
  return readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((f) => join(specDir, f));
}

/** Validates one spec file and builds its machines (none if there is an error), with every diagnostic. */
export function compileSpec(root: string, file: string, text = readFileSync(join(root, file), 'utf8')): { machines: CompiledMachine[]; diagnostics: Diagnostic[] } {
  const { machines, diagnostics } = compileFile(file, text);
  diagnostics.push(...driftOf(root, machines));
  return diagnostics.some((d) => !isWarning(d)) ? { machines: [], diagnostics } : { machines, diagnostics };
}

/** Every machine of a file, checked except against the runtime. */
function compileFile(file: string, text: string): { machines: CompiledMachine[]; diagnostics: Diagnostic[] } {
  const parsed = parseSpec(file, text);
  const machines: CompiledMachine[] = [];
  const diagnostics = [...parsed.diagnostics];
  // Generating from it would delete its machines' modules, which the runtime may still import.
  if (!diagnostics.length && parsed.sources.every((s) => s.doc.contents === null)) {
    diagnostics.push({ file, line: 1, col: 1, message: `${file} defines no machine (it is empty or only comments): write a spec, or delete the file` });
  }
  for (const source of parsed.sources) {
    const one = compileMachine(source);
    diagnostics.push(...one.diagnostics);
    if (one.compiled) machines.push(one.compiled);
  }
  return { machines, diagnostics };
}

/** Drift between the machines and the runtime (its sources read once); a module may use several machines' ids. */
function driftOf(root: string, machines: CompiledMachine[]): Diagnostic[] {
  if (!machines.length) return [];
  const runtime = readRuntime(root);
  const ids = new Map(machines.map((c) => [micropythonModuleName(c.machine.name), runtimeIds(c.flat, c.tables)] as const));
  return machines.flatMap((c) => {
    const mine = micropythonModuleName(c.machine.name);
    return checkDrift(root, c.machine, ids.get(mine)!, runtime, new Map([...ids].filter(([mod]) => mod !== mine)));
  });
}

function compileMachine(source: SpecSource): { compiled?: CompiledMachine; diagnostics: Diagnostic[] } {
  const schemaErrors = checkSchema(source);
  if (schemaErrors.length) return { diagnostics: schemaErrors };
  const built = buildMachine(source);
  if (!built.machine) return { diagnostics: built.diagnostics };
  const machine = built.machine;
  const flat = flatten(machine);
  const diagnostics = [...built.diagnostics, ...checkMachine(flat)];
  if (diagnostics.some((d) => !isWarning(d))) return { diagnostics };
  let tables: Tables;
  try {
    tables = encode(flat);
  } catch (e) {
    if (e instanceof TableLimitError) return { diagnostics: [{ ...posAt(source, source.doc.contents), message: e.message }] };
    throw e;
  }
  return { compiled: { machine, flat, tables }, diagnostics };
}

/** Compiles every spec of the project; throws SpecError listing all errors (warnings too if `strict`). */
export function compileProject(root: string, strict = false): CompiledMachine[] {
  return compileAll(root, strict).machines;
}

/** compileProject, with the warnings found (none if `strict`: they are errors then). */
export function compileAll(root: string, strict = false): { machines: CompiledMachine[]; warnings: Diagnostic[] } {
  const { machines, diagnostics } = compileSpecs(root);
  diagnostics.push(...driftOf(root, machines));
  const warnings = sortDiagnostics(diagnostics.filter(isWarning));
  if (strict) warnings.forEach((w) => delete w.severity);
  if (diagnostics.some((d) => !isWarning(d))) throw new SpecError(diagnostics);
  return { machines, warnings };
}

/** Every spec of the project compiled, without the drift check (`stub` and `--fix` mend what it finds). */
export function compileSpecs(root: string): { machines: CompiledMachine[]; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const machines: CompiledMachine[] = [];
  for (const file of specFiles(root)) {
    const { machines: compiled, diagnostics: ds } = compileFile(file, readFileSync(join(root, file), 'utf8'));
    diagnostics.push(...ds);
    for (const c of compiled) {
      const twin = machines.find((m) => m.machine.name === c.machine.name);
      if (twin) {
        diagnostics.push({ file, line: 1, col: 1, message: `machine '${c.machine.name}' is also defined in ${twin.machine.file}` });
        continue;
      }
      machines.push(c);
    }
  }
  return { machines, diagnostics };
}

/**
 * Compiles every spec and renders every generated file; throws SpecError listing all problems.
 * Async because Graphviz (WebAssembly) loads asynchronously.
 */
export async function build(root: string, strict = false): Promise<Build> {
  const layout = loadLayout(root);
  const { machines, warnings } = compileAll(root, strict);
  const cache = new RenderCache(root);
  const outputs = new Map<string, string>();
  for (const { machine, flat, tables } of machines) {
    const tablesPy = await cache.get('micropython', { flat, tables }, async () => (await import('./backends/micropython.ts')).emitMicropython(flat, tables));
    outputs.set(`${layout.micropython}/${micropythonModuleName(machine.name)}.py`, tablesPy);
    const xstate = await cache.get('xstate', machine, async () => (await import('./backends/xstate.ts')).emitXState(machine));
    outputs.set(`${layout.xstate}/${machine.name}.ts`, xstate);
  }
  const diagrams = machines.map((c) => emitDiagrams(c.machine));
  const svgs = await Promise.all(diagrams.map((d) => cache.get('svg', d.dot, () => renderSvg(d.dot))));
  machines.forEach(({ machine }, i) => {
    outputs.set(`${layout.diagrams}/${machine.name}.dot`, diagrams[i]!.dot);
    outputs.set(`${layout.diagrams}/${machine.name}.svg`, svgs[i]!);
    outputs.set(`${layout.diagrams}/${machine.name}.mmd`, diagrams[i]!.mermaid);
  });
  outputs.set(`${layout.diagrams}/README.md`, emitDiagramIndex(machines.map((c) => c.machine), diagrams));
  return { machines, warnings, outputs, layout };
}

export interface Staleness {
  /** Differ from what the specs produce. */
  changed: string[];
  /** Produced by the specs but absent. */
  missing: string[];
  /** Present in a managed folder but no longer produced. */
  orphaned: string[];
}

/** `dirs`: the managed folders `outputs` covers, where a file it lacks is an orphan. */
export function compare(root: string, outputs: Map<string, string>, dirs = managedDirs(loadLayout(root))): Staleness {
  const result: Staleness = { changed: [], missing: [], orphaned: [] };
  for (const [path, content] of outputs) {
    const full = join(root, path);
    if (!existsSync(full)) result.missing.push(path);
    else if (readFileSync(full, 'utf8') !== content) result.changed.push(path);
  }
  for (const path of managedFiles(root, dirs)) if (!outputs.has(path)) result.orphaned.push(path);
  return result;
}

export function isFresh(s: Staleness): boolean {
  return s.changed.length + s.missing.length + s.orphaned.length === 0;
}

/** Writes changed files (each through a temporary file and a rename) and removes orphans. */
export function writeOutputs(root: string, outputs: Map<string, string>, dirs = managedDirs(loadLayout(root))): Staleness {
  const s = compare(root, outputs, dirs);
  const toWrite = [...s.missing, ...s.changed];
  const temps = toWrite.map((path) => {
    const full = join(root, path);
    mkdirSync(dirname(full), { recursive: true });
    const temp = `${full}.${process.pid}.tmp`;
    writeFileSync(temp, outputs.get(path)!);
    return [temp, full] as const;
  });
  for (const [temp, full] of temps) renameSync(temp, full);
  for (const path of s.orphaned) {
    rmSync(join(root, path));
    for (let dir = dirname(join(root, path)); dirs.some((m) => dir.startsWith(join(root, m) + '/')) && readdirSync(dir).length === 0; dir = dirname(dir)) {
      rmSync(dir, { recursive: true });
    }
  }
  return s;
}

function managedFiles(root: string, dirs: string[]): string[] {
  return dirs.flatMap((dir) => {
    const full = join(root, dir);
    if (!existsSync(full)) return [];
    return readdirSync(full, { recursive: true, withFileTypes: true })
      .filter((d) => d.isFile())
      .map((d) => relative(root, join(d.parentPath, d.name)));
  });
}
