// MicroPython backend: one module per machine, `generated/micropython/<machine>_fsm.py`, from
// the Handlebars template in templates/micropython/. Only tables and ids: the code that reads
// them is runtime-esp8266/fsm.py.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import Handlebars from 'handlebars';
import type { FlatMachine } from '../analyses/flatten.ts';
import type { Tables } from '../analyses/encode.ts';
import { runtimeIds } from '../analyses/ids.ts';
import { version } from '../version.ts';
import { oneLine } from './text.ts';

const templatePath = fileURLToPath(new URL('../../templates/micropython/machine.py.hbs', import.meta.url));

const helpers = {
  pybytes: (bytes: number[]) => `b'${bytes.map((b) => '\\x' + b.toString(16).padStart(2, '0')).join('')}'`,
  pytuple: (values: (string | number)[]) => {
    const items = values.map((v) => (typeof v === 'string' ? `'${v}'` : String(v)));
    return items.length === 1 ? `(${items[0]},)` : `(${items.join(', ')})`;
  },
};

let template: Handlebars.TemplateDelegate | undefined;

function compile(): Handlebars.TemplateDelegate {
  // noEscape: this is Python, not HTML. preventIndent keeps partials from re-indenting code.
  const hb = Handlebars.create();
  hb.registerHelper(helpers);
  template ??= hb.compile(readFileSync(templatePath, 'utf8'), {
    noEscape: true,
    strict: true,
    preventIndent: true,
    knownHelpersOnly: true,
    knownHelpers: Object.fromEntries([...Object.keys(helpers), 'each', 'if'].map((k) => [k, true])),
  });
  return template;
}

export function emitMicropython(flat: FlatMachine, tables: Tables): string {
  const m = flat.machine;
  const leafName = (id: number) => m.states[flat.leaves[id]!]!.name;
  const rowsUsing = (r: number) => tables.row.flatMap((row, leaf) => (row === r ? [leafName(leaf)] : []));
  const nRows = tables.cell.length / Math.max(1, flat.events.length);
  const cellRows = Array.from({ length: nRows }, (_, r) => ({
    bytes: tables.cell.slice(r * flat.events.length, (r + 1) * flat.events.length),
    label: `row ${r}: ${rowsUsing(r).join(', ')}`,
  }));
  const programs: { bytes: number[]; label: string }[] = [];
  for (let p = 0; 2 * p < tables.off.length; p++) {
    const start = tables.off[2 * p]! | (tables.off[2 * p + 1]! << 8);
    const end = 2 * p + 2 < tables.off.length ? tables.off[2 * p + 2]! | (tables.off[2 * p + 3]! << 8) : tables.prog.length;
    programs.push({ bytes: tables.prog.slice(start, end), label: `${p} @${start}: ${programLabel(flat, tables, p)}` });
  }
  const offLines: number[][] = [];
  for (let i = 0; i < tables.off.length; i += 16) offLines.push(tables.off.slice(i, i + 16));
  return compile()({
    version,
    specFile: m.file,
    name: m.name,
    docLines: wrap(`${m.name}: ${m.doc}`, 94),
    sizes: tables.sizes,
    events: flat.events,
    actions: m.actions,
    idLines: [...runtimeIds(flat, tables)].map(([name, id]) => `${name} = const(${id.value})  # ${id.what}`),
    timerMs: m.timers.map((t) => t.ms),
    implementation: `${m.implementation.module}:${m.implementation.className}`,
    row: tables.row,
    cellRows,
    offLines,
    programs,
  });
}

/** Which (state, event) cells use program p, for the comment beside it. */
function programLabel(flat: FlatMachine, tables: Tables, p: number): string {
  if (p === 0) return `start in ${flat.machine.states[flat.start.target]!.name}`;
  const users: string[] = [];
  const ne = flat.events.length;
  tables.row.forEach((r, leaf) => {
    for (let e = 0; e < ne; e++) {
      if (tables.cell[r * ne + e] === p) users.push(`${flat.machine.states[flat.leaves[leaf]!]!.name}.${flat.events[e]}`);
    }
  });
  const first = [...new Set(users)];
  return first.length > 3 ? `${first.slice(0, 3).join(', ')} (+${first.length - 3})` : first.join(', ');
}

function wrap(s: string, width: number): string[] {
  const words = oneLine(s).split(' ');
  const lines: string[] = [];
  let line = '';
  for (const w of words) {
    if (line && line.length + 1 + w.length > width) {
      lines.push(line);
      line = w;
    } else line = line ? `${line} ${w}` : w;
  }
  if (line) lines.push(line);
  return lines;
}

