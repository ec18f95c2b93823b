import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { boardSources } from '../../deploy/files.ts';
import { packageOf } from '../../deploy/packages.ts';
import { RawRepl } from '../../deploy/rawrepl.ts';
import { RESET_DETAILS, TARGET_DETAILS, TARGET_OPTIONS, openTarget, targetOptions } from '../../deploy/target.ts';
import { EXIT_FAILURE, EXIT_OK, UsageError, type Command } from '../command.ts';
import { SUMMARIES } from '../summaries.ts';

export const run: Command = {
  name: 'run',
  summary: SUMMARIES.run,
  usage: 'run FILE.py [--port PATH | --webrepl URL | --sim]',
  options: TARGET_OPTIONS,
  details: [
    'The script runs in the board\'s raw REPL with the modules in its /lib, as deployed; nothing is copied.',
    'It may run as long as it likes; --timeout bounds only the protocol\'s own waits.',
    '',
    TARGET_DETAILS,
    RESET_DETAILS,
    '',
    'Exit status: 0 the script ended, 1 it raised (its traceback is printed) or the board could not be',
    'reached, 2 bad command line.',
  ].join('\n'),
  async run({ values, positionals }) {
    const [file, ...rest] = positionals;
    if (file === undefined) throw new UsageError('missing FILE.py');
    if (rest.length) throw new UsageError(`unexpected argument '${rest[0]}'`);
    if (!existsSync(file)) throw new UsageError(`no such file: ${file}`);
    const code = readFileSync(file, 'utf8');
    const root = resolve((values.root as string | undefined) ?? '.');
    const opts = targetOptions(values, root);
    const target = await openTarget(opts);
    try {
      const repl = new RawRepl(target.link, opts.timeoutMs);
      await repl.enter(target.canSoftReset && opts.softReset);
      const { err } = await repl.execRaw(code, { doing: `running ${file}`, timeoutMs: null, onOutput: (b) => process.stdout.write(b) });
      await repl.leave();
      if (!err.length) return EXIT_OK;
      process.stderr.write(err);
      const hint = missingModuleHint(err.toString('utf8'), root);
      if (hint) process.stderr.write(hint);
      return EXIT_FAILURE;
    } finally {
      await target.close();
    }
  },
};

/**
 * When a script failed to import a package that the project deploys (the board has not got it
 * yet, or a deploy with --only or --main left it out), a line saying how to put it there.
 */
function missingModuleHint(traceback: string, root: string): string | undefined {
  const name = /ImportError: no module named '([\w.]+)'/.exec(traceback)?.[1]?.split('.')[0];
  if (name === undefined) return undefined;
  let deployed: Set<string | undefined>;
  try {
    deployed = new Set(Object.keys(boardSources(root)).map(packageOf));
  } catch {
    return undefined;
  }
  return deployed.has(name) ? `wirestate run: the board has no ${name}, which this project deploys: \`wirestate deploy --only ${name}\` puts it there (with what it imports)\n` : undefined;
}
