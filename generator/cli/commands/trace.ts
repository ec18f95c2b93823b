import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { compileProject } from '../../pipeline.ts';
import { SpecError } from '../../spec/diagnostics.ts';
import { decodeTrace } from '../../trace/decode.ts';
import { TraceError, formatVersion, parseTrace } from '../../trace/format.mjs';
import { EXIT_FAILURE, EXIT_OK, UsageError, type Command } from '../command.ts';
import { SUMMARIES } from '../summaries.ts';

export const trace: Command = {
  name: 'trace',
  summary: SUMMARIES.trace,
  usage: 'trace decode FILE [--root DIR]',
  options: {
    root: { type: 'string', description: 'project whose specs and generated/xstate/ read the trace (default: .)' },
  },
  details: [
    'One line per transition: machine, state, event, new state, and where the spec says so.',
    'A step that the generated XState machine cannot make, whatever its guards say, is marked',
    'IMPOSSIBLE. Exit status: 0 every step is possible, 1 an impossible step, a trace from',
    'another version of the spec or a corrupt file (naming the first bad record), 2 bad command line.',
  ].join('\n'),
  async run({ values, positionals }) {
    const [sub, file, ...rest] = positionals;
    if (sub !== 'decode') throw new UsageError(sub === undefined ? 'missing subcommand: decode' : `unknown subcommand '${sub}'`);
    if (!file) throw new UsageError('missing FILE');
    if (rest.length) throw new UsageError(`unexpected argument '${rest[0]}'`);
    if (!existsSync(file)) throw new UsageError(`no such file: ${file}`);
    const root = resolve((values.root as string | undefined) ?? '.');
    let decoded;
    try {
      // The file first: a corrupt one is reported whatever the specs say.
      const parsed = parseTrace(readFileSync(file));
      decoded = await decodeTrace(root, compileProject(root), parsed);
    } catch (e) {
      if (!(e instanceof TraceError || e instanceof SpecError)) throw e;
      console.error(`wirestate trace: ${file}: ${e.message}`);
      return EXIT_FAILURE;
    }
    const { trace: t, steps } = decoded;
    const machines = t.machines.map((m) => `${m.module} ${formatVersion(m.version)}`).join(', ');
    console.log(`${file}: ${steps.length} step${steps.length === 1 ? '' : 's'} of ${machines || 'no machine'}`);
    if (t.dropped) console.log(`(${t.dropped} earlier step${t.dropped === 1 ? ' was' : 's were'} dropped: the device kept the last ${steps.length})`);
    const width = Math.max(0, ...steps.map((s) => s.machine.length));
    const digits = String(Math.max(0, steps.length - 1)).length;
    let impossible = 0;
    for (const s of steps) {
      const move = s.event === null ? `start -> ${s.to}` : `${s.from} --${s.event}--> ${s.to}`;
      const ok = s.possible.includes(s.to);
      if (!ok) impossible++;
      const note = ok
        ? s.where.map((w) => `${w.guard ? `[${w.guard}] ` : ''}${w.pos.file}:${w.pos.line}`).join(' or ')
        : `IMPOSSIBLE: XState's ${s.machine} machine ${s.event === null ? `starts in ${s.possible[0]}` : s.possible.length ? `goes from ${s.from} on ${s.event} only to ${s.possible.join(' or ')}` : `ignores ${s.event} in ${s.from}`}`;
      console.log(`${String(s.record).padStart(digits)}  ${s.machine.padEnd(width)}  ${move}${note ? `  ${note}` : ''}`);
    }
    if (impossible) {
      console.error(`wirestate trace: ${impossible} impossible step${impossible === 1 ? '' : 's'}`);
      return EXIT_FAILURE;
    }
    return EXIT_OK;
  },
};
