// `wirestate stub`: the runtime module a spec names (`implementation: <path>.py:<Class>`),
// written when it does not exist, else brought up to date keeping the user's code:
//  - the id block between its marker comments is rewritten (an id the spec dropped stays, marked,
//    until the code that uses it is gone: the drift check names it);
//  - a branch is added at the top of act() or guard() for each action or guard that no module
//    of the machine handles yet, with the spec's doc as a comment (the VM would keep docstrings
//    in RAM); a missing act(), guard() or class is added whole.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { CompiledMachine } from '../pipeline.ts';
import type { Named } from '../ir/model.ts';
import { machineModules, readRuntime, stripComments } from '../analyses/drift.ts';
import { loadLayout } from '../config/config.ts';
import { micropythonModuleName, runtimeIds, type RuntimeId } from '../analyses/ids.ts';
import { oneLine } from '../backends/text.ts';

const BEGIN = '# wirestate ids: begin';
const END = '# wirestate ids: end';
const ID_LINE = /^(_[ESTAG]_[A-Z0-9_]*|_FINAL)\s*=\s*const\(/;

export interface StubResult {
  /** Project-relative path of the module. */
  file: string;
  created: boolean;
  /** What was added or rewritten, for the report. */
  changes: string[];
}

/** `all`: every machine of the project (a module may hold several machines' ids). */
export function stub(root: string, c: CompiledMachine, all: CompiledMachine[]): StubResult {
  const m = c.machine;
  const file = join(loadLayout(root).runtime, m.implementation.module);
  const path = join(root, file);
  const ids = runtimeIds(c.flat, c.tables);
  if (!existsSync(path)) {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, freshModule(c, ids));
    return { file, created: true, changes: [`class ${m.implementation.className} with act() and guard() for every action and guard`] };
  }
  const changes: string[] = [];
  let lines = readFileSync(path, 'utf8').split('\n');
  // The ids of the other machines this module serves (it may implement several) are theirs.
  const runtime = readRuntime(root);
  const tablesOf = new Map(all.map((o) => [micropythonModuleName(o.machine.name), runtimeIds(o.flat, o.tables)] as const));
  const theirs = new Set(
    all
      .filter((o) => o !== c)
      .filter((o) => machineModules(root, o.machine, new Map([...tablesOf].filter(([mod]) => mod !== micropythonModuleName(o.machine.name))), runtime).some(([p]) => p === path))
      .flatMap((o) => [...tablesOf.get(micropythonModuleName(o.machine.name))!.keys()]),
  );
  const mine = machineModules(root, m, new Map([...tablesOf].filter(([mod]) => mod !== micropythonModuleName(m.name))), runtime);
  const declared = new Set(mine.flatMap(([, source]) => source.split('\n').flatMap((l) => (ID_LINE.test(l) ? [ID_LINE.exec(l)![1]!] : []))));
  lines = updateIdBlock(lines, ids, theirs, declared, changes);
  const handled = handledIds(root, c, all);
  lines = updateClass(lines, c, handled, changes);
  writeFileSync(path, lines.join('\n'));
  return { file, created: false, changes };
}

// ------------------------------------------------------------------------------ a new module

function freshModule(c: CompiledMachine, ids: Map<string, RuntimeId>): string {
  const m = c.machine;
  return [
    `# ${m.implementation.module}: implements the ${m.name} machine of ${m.file}.`,
    ...(m.doc ? ['#', ...comment(m.doc, '')] : []),
    '#',
    '# The runtime contract: fsm.start() sets self.state and self.timers; self.delays holds each',
    "# timer's duration in ms; fsm calls guard(g) and act(a) with the ids below. Actions never",
    '# call fire(): they record what to do, and the code that fed the event acts on it after.',
    'from fsm import const, due, fire, start',
    `import ${micropythonModuleName(m.name)} as M`,
    '',
    ...idBlock(ids, []),
    '',
    '',
    ...classText(c, ids),
  ].join('\n');
}

function idBlock(ids: Map<string, RuntimeId>, stale: string[], others: string[] = []): string[] {
  return [
    `${BEGIN} (\`wirestate stub\` rewrites this block, \`wirestate generate --fix\` its values)`,
    ...[...ids].map(([name, id]) => `${name} = const(${id.value})  # ${id.what}`),
    ...others,
    ...stale.map((line) => `${line.replace(/\s+# not in the spec.*$/, '')}  # not in the spec any more: remove it and its uses`),
    END,
  ];
}

/** `tables`: the name the module knows the machine's tables by. */
function classText(c: CompiledMachine, ids: Map<string, RuntimeId>, tables = 'M'): string[] {
  const m = c.machine;
  return [
    `class ${m.implementation.className}:`,
    '    def __init__(self):',
    '        # Timer durations in ms, by timer id (the spec\'s defaults; set others here).',
    `        self.delays = list(${tables}.TIMER_MS)`,
    '        # Last: start() enters the initial state and runs its entry actions.',
    `        start(${tables}, self)`,
    '',
    '    def fire(self, ev):',
    '        # Feed event `ev` (an _E_ id); False if the current state ignores it.',
    `        return fire(${tables}, self, ev)`,
    '',
    '    def poll(self):',
    "        # Fire a due timer's event and return 0; else ms until the next is due (None: none armed).",
    `        return due(${tables}, self)`,
    ...(m.guards.length ? ['', ...method('guard', 'g', m.guards, ids, 'return False  # to do'), `        raise ValueError(g)`] : []),
    ...(m.actions.length ? ['', ...method('act', 'a', m.actions, ids, 'pass  # to do'), `        else:`, `            raise ValueError(a)`] : []),
    '',
  ];
}

function method(name: string, param: string, items: Named[], ids: Map<string, RuntimeId>, body: string): string[] {
  const prefix = name === 'act' ? 'A' : 'G';
  const out = [`    def ${name}(self, ${param}):`];
  items.forEach((item, i) => {
    const id = `_${prefix}_${item.name.toUpperCase()}`;
    if (!ids.has(id)) return;
    out.push(`        ${name === 'act' && i > 0 ? 'elif' : 'if'} ${param} == ${id}:`, ...comment(`${item.name}: ${item.doc}`, '            '), `            ${body}`);
  });
  return out;
}

/** A doc as comment lines of at most 96 columns. */
function comment(text: string, indent: string): string[] {
  const words = oneLine(text).split(' ');
  const out: string[] = [];
  let line = '';
  for (const w of words) {
    if (line && indent.length + 2 + line.length + 1 + w.length > 96) {
      out.push(`${indent}# ${line}`);
      line = w;
    } else line = line ? `${line} ${w}` : w;
  }
  if (line) out.push(`${indent}# ${line}`);
  return out;
}

// ------------------------------------------------------------------------- updating a module

/** `declared`: the ids the machine's modules (this one and its helpers) declare. */
function updateIdBlock(lines: string[], all: Map<string, RuntimeId>, theirs: Set<string>, declared: Set<string>, changes: string[]): string[] {
  // A name another machine here also has is left to the user (the drift check judges it).
  const ids = new Map([...all].filter(([name]) => !theirs.has(name)));
  const begin = lines.findIndex((l) => l.startsWith(BEGIN));
  const end = lines.findIndex((l, i) => i > begin && l.startsWith(END));
  if (begin >= 0 && end > begin) {
    const old = lines.slice(begin + 1, end);
    const name = (l: string) => ID_LINE.exec(l)?.[1];
    const others = old.filter((l) => name(l) && !ids.has(name(l)!) && theirs.has(name(l)!));
    const stale = old.filter((l) => name(l) && !ids.has(name(l)!) && !theirs.has(name(l)!));
    const block = idBlock(ids, stale, others);
    // The same lines in another order (another machine's stub wrote it) are up to date.
    if ([...block.slice(1, -1)].sort().join('\n') === [...old].sort().join('\n')) return lines;
    changes.push('id block rewritten');
    return [...lines.slice(0, begin), ...block, ...lines.slice(end + 1)];
  }
  // No block yet (a module written by hand): one for the action and guard ids no module of the
  // machine declares (those it must have), after its last import or id.
  const missing = new Map([...ids].filter(([name]) => /^_[AG]_/.test(name) && !declared.has(name)));
  if (!missing.size) return lines;
  changes.push(`id block added (${missing.size} ids)`);
  const at = lines.reduce((last, l, i) => (/^(import |from \S+ import )/.test(l) || ID_LINE.test(l) ? i : last), -1);
  return [...lines.slice(0, at + 1), '', ...idBlock(missing, []), ...lines.slice(at + 1)];
}

/** Action and guard ids used (beyond their declaration) in any of the machine's modules. */
function handledIds(root: string, c: CompiledMachine, all: CompiledMachine[]): Set<string> {
  const others = new Map(all.filter((o) => o !== c).map((o) => [micropythonModuleName(o.machine.name), runtimeIds(o.flat, o.tables)] as const));
  const sources = machineModules(root, c.machine, others, readRuntime(root)).map(([, s]) => stripComments(s).replace(/^_[A-Z][A-Z0-9_]*\s*=\s*const\(.*$/gm, ''));
  return new Set(sources.flatMap((s) => s.match(/\b_[AG]_[A-Z0-9_]+\b/g) ?? []));
}

function updateClass(lines: string[], c: CompiledMachine, handled: Set<string>, changes: string[]): string[] {
  const m = c.machine;
  const name = m.implementation.className;
  const start = lines.findIndex((l) => new RegExp(`^class ${name}\\b`).test(l));
  const ids = runtimeIds(c.flat, c.tables);
  if (start < 0) {
    // Beside another machine's class: this one's tables by their own name.
    const tables = micropythonModuleName(m.name);
    changes.push(`class ${name} added`);
    if (!new RegExp(`^import ${tables}\\s*$`, 'm').test(lines.join('\n'))) {
      const at = lines.reduce((last, l, i) => (/^(import |from \S+ import )/.test(l) ? i : last), -1);
      lines.splice(at + 1, 0, `import ${tables}`);
    }
    while (lines.length && lines[lines.length - 1] === '') lines.pop();
    return [...lines, '', '', ...classText(c, ids, tables)];
  }
  const classEnd = blockEnd(lines, start);
  for (const [kind, items, param, body] of [['act', m.actions, 'a', 'return  # to do'], ['guard', m.guards, 'g', 'return False  # to do']] as const) {
    const todo = items.filter((x) => !handled.has(`_${kind === 'act' ? 'A' : 'G'}_${x.name.toUpperCase()}`));
    if (!todo.length) continue;
    const def = lines.findIndex((l, i) => i > start && i < classEnd && new RegExp(`^\\s+def ${kind}\\s*\\(`).test(l));
    if (def < 0) {
      const text = method(kind, param, todo, ids, kind === 'act' ? 'pass  # to do' : 'return False  # to do');
      const tail = kind === 'act' ? ['        else:', '            raise ValueError(a)'] : ['        raise ValueError(g)'];
      lines.splice(blockEnd(lines, start), 0, '', ...text, ...tail);
      changes.push(`${kind}() added`);
      continue;
    }
    const p = /def \w+\s*\(\s*self\s*,\s*(\w+)/.exec(lines[def]!)?.[1] ?? param;
    const indent = /^\s*/.exec(lines.slice(def + 1).find((l) => l.trim()) ?? '')![0];
    // After a docstring, so that it stays one.
    let at = def + 1;
    if (/^\s*[rbuRBU]?("""|''')/.test(lines[at] ?? '')) {
      const q = /("""|''')/.exec(lines[at]!)![1]!;
      while (at < lines.length && !(lines[at]!.split(q).length > (at === def + 1 ? 2 : 1))) at++;
      at++;
    }
    const branches = todo.flatMap((x) => [`${indent}if ${p} == _${kind === 'act' ? 'A' : 'G'}_${x.name.toUpperCase()}:`, ...comment(`${x.name}: ${x.doc}`, `${indent}    `), `${indent}    ${body}`]);
    lines.splice(at, 0, ...branches);
    changes.push(`${kind}(): branches for ${todo.map((x) => x.name).join(', ')}`);
  }
  return lines;
}

/** The index after the last line of the indented block that starts at `start`. */
function blockEnd(lines: string[], start: number): number {
  let end = start + 1;
  for (let i = start + 1; i < lines.length; i++) {
    if (!lines[i]!.trim()) continue;
    if (!/^\s/.test(lines[i]!)) break;
    end = i + 1;
  }
  return end;
}
