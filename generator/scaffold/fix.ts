// `generate --fix`: after the spec's ids move (an action inserted first renumbers every later
// one), rewrite the value of each private id constant in the runtime (`_A_SEND_PONG = const(7)`)
// to the spec's, and nothing else: no line is added, removed or moved, and an id that names
// nothing in the spec, or that two machines a module uses give different values, is left for
// the drift check to report.
import { readFileSync, writeFileSync } from 'node:fs';
import { relative } from 'node:path';
import { compileSpecs, type CompiledMachine } from '../pipeline.ts';
import { formatDiagnostic, isWarning } from '../spec/diagnostics.ts';
import { machineModules, readRuntime } from '../analyses/drift.ts';
import { micropythonModuleName, runtimeIds, type RuntimeId } from '../analyses/ids.ts';

const ID_LINE = /^(_[ESTAG]_[A-Z0-9_]*|_FINAL)(\s*=\s*const\()(\d+)(\).*)$/;

export interface Fixed {
  file: string;
  changes: number;
}

/** The files rewritten, or null (errors printed) when the specs themselves have errors. */
export function fixIds(root: string): Fixed[] | null {
  const { machines, diagnostics } = compileSpecs(root);
  const errors = diagnostics.filter((d) => !isWarning(d));
  if (errors.length) {
    for (const d of errors) console.error(formatDiagnostic(d));
    console.error(`wirestate generate --fix: the specs have ${errors.length} error${errors.length === 1 ? '' : 's'}; no id was changed`);
    return null;
  }
  const values = idValuesByModule(root, machines);
  const out: Fixed[] = [];
  for (const [path, ids] of values) {
    const source = readFileSync(path, 'utf8');
    let changes = 0;
    const lines = source.split('\n').map((line) => {
      const m = ID_LINE.exec(line);
      const wanted = m && ids.get(m[1]!);
      // One value among the machines the module uses: anything else is not ours to settle.
      if (!m || !wanted || wanted.size !== 1) return line;
      const value = [...wanted][0]!;
      if (value === Number(m[3])) return line;
      changes++;
      return `${m[1]}${m[2]}${value}${m[4]}`;
    });
    if (changes) {
      writeFileSync(path, lines.join('\n'));
      out.push({ file: relative(root, path), changes });
    }
  }
  return out;
}

/** For each runtime module of some machine: id name -> the values the machines it serves give it. */
function idValuesByModule(root: string, machines: CompiledMachine[]): Map<string, Map<string, Set<number>>> {
  const runtime = readRuntime(root);
  const ids = new Map(machines.map((c) => [micropythonModuleName(c.machine.name), runtimeIds(c.flat, c.tables)] as const));
  const out = new Map<string, Map<string, Set<number>>>();
  for (const c of machines) {
    const mine = micropythonModuleName(c.machine.name);
    const others = new Map([...ids].filter(([mod]) => mod !== mine));
    for (const [path] of machineModules(root, c.machine, others, runtime)) {
      const byName = out.get(path) ?? new Map<string, Set<number>>();
      for (const [name, id] of ids.get(mine)! as Map<string, RuntimeId>) byName.set(name, (byName.get(name) ?? new Set()).add(id.value));
      out.set(path, byName);
    }
  }
  return out;
}
