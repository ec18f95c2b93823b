// `wirestate stub MACHINE`: write or update the runtime module that implements a machine.
import { resolve } from 'node:path';
import { EXIT_FAILURE, EXIT_OK, UsageError, type Command } from '../command.ts';
import { SUMMARIES } from '../summaries.ts';

export const stub: Command = {
  name: 'stub',
  summary: SUMMARIES.stub,
  usage: 'stub MACHINE... [--root DIR]',
  options: {
    root: { type: 'string', description: 'project root (default: the current directory)' },
  },
  details: [
    'A new module gets the class with __init__ (delays, start), fire(), poll(), guard() and act().',
    'An existing one keeps all your code: its id block (between the "# wirestate ids" markers) is',
    'rewritten, and each action or guard no module of the machine handles yet gets a branch at the',
    'top of act() or guard(). Then fill in the branches marked "to do" and run `wirestate generate`.',
  ].join('\n'),
  async run({ values, positionals }) {
    if (!positionals.length) throw new UsageError('name the machine(s) to stub');
    const root = resolve((values.root as string | undefined) ?? '.');
    const { compileSpecs } = await import('../../pipeline.ts');
    const { formatDiagnostic, isWarning } = await import('../../spec/diagnostics.ts');
    const { stub: write } = await import('../../scaffold/stub.ts');
    const { machines, diagnostics } = compileSpecs(root);
    const errors = diagnostics.filter((d) => !isWarning(d));
    if (errors.length) {
      for (const d of errors) console.error(formatDiagnostic(d));
      console.error(`wirestate stub: the specs have ${errors.length} error${errors.length === 1 ? '' : 's'}; nothing was written`);
      return EXIT_FAILURE;
    }
    const unknown = positionals.filter((p) => !machines.some((c) => c.machine.name === p));
    if (unknown.length) throw new UsageError(`no machine named ${unknown.join(', ')} (the specs define ${machines.map((c) => c.machine.name).join(', ') || 'none'})`);
    for (const name of positionals) {
      const r = write(root, machines.find((c) => c.machine.name === name)!, machines);
      if (r.created) console.log(`wrote   ${r.file}: ${r.changes.join('; ')}`);
      else if (r.changes.length) console.log(`updated ${r.file}: ${r.changes.join('; ')}`);
      else console.log(`${r.file} is up to date`);
    }
    return EXIT_OK;
  },
};
