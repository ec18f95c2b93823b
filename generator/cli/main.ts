// Entry point of the `wirestate` command. A command's module loads only when that command runs
// (the --help listing takes the summaries from summaries.ts), so `--help`, `--version` and every
// command pay for nothing but what they use: ts-morph, Graphviz, the serial port and the simulator load with
// the commands that need them.
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, runCommand, type Command } from './command.ts';
import { ConfigError } from '../config/config.ts';
import { version } from '../version.ts';
import { SUMMARIES } from './summaries.ts';

const registry: Record<keyof typeof SUMMARIES, () => Promise<Command>> = {
  generate: async () => (await import('./commands/generate.ts')).generate,
  visualise: async () => (await import('./commands/visualise.ts')).visualise,
  sim: async () => (await import('./commands/sim.ts')).sim,
  trace: async () => (await import('./commands/trace.ts')).trace,
  demo: async () => (await import('./commands/demo.ts')).demo,
  bench: async () => (await import('./commands/bench.ts')).bench,
  deploy: async () => (await import('./commands/deploy.ts')).deploy,
  run: async () => (await import('./commands/run.ts')).run,
  repl: async () => (await import('./commands/repl.ts')).repl,
  init: async () => (await import('./commands/init.ts')).init,
  stub: async () => (await import('./commands/stub.ts')).stub,
  test: async () => (await import('./commands/test.ts')).test,
  freeze: async () => (await import('./commands/freeze.ts')).freeze,
};

export const commandNames = Object.keys(registry) as (keyof typeof SUMMARIES)[];

/** Every command, loaded. */
export async function loadCommands(): Promise<Command[]> {
  return Promise.all(Object.values(registry).map((load) => load()));
}

function usage(): string {
  return [
    'Usage: wirestate <command> [options]',
    '',
    'Declarative protocol state machines to table-driven MicroPython for tiny devices.',
    '',
    'Commands:',
    ...commandNames.map((name) => `  ${name.padEnd(12)} ${SUMMARIES[name]}`),
    '',
    'Options of every command: --help, -h (its options); --debug (a stack trace with an error).',
    'Run `wirestate <command> --help` for a command\'s options.',
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  // --debug is everyone's: taken out before a command parses its own options.
  const debug = argv.includes('--debug');
  const [name, ...rest] = argv.filter((a) => a !== '--debug');
  if (name === undefined) {
    console.error(usage());
    return EXIT_USAGE;
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return EXIT_OK;
  }
  if (name === '--version' || name === '-v') {
    console.log(version);
    return EXIT_OK;
  }
  const load = Object.hasOwn(registry, name) ? registry[name as keyof typeof registry] : undefined;
  if (!load) {
    console.error(`wirestate: unknown command '${name}'\n\n${usage()}`);
    return EXIT_USAGE;
  }
  try {
    return await runCommand(await load(), rest);
  } catch (e) {
    console.error(describeError(name, e, debug));
    return EXIT_FAILURE;
  }
}

/** An error no command reported itself: its message, and its stack only with --debug. */
function describeError(command: string, e: unknown, debug: boolean): string {
  const message = e instanceof Error ? e.message : String(e);
  if (debug) return `wirestate ${command}: ${e instanceof Error && e.stack ? e.stack : message}`;
  // A configuration error is the user's to fix and says everything; anything else may be ours.
  const hint = e instanceof ConfigError ? '' : '\n(run again with --debug for the stack trace)';
  return `wirestate ${command}: ${message}${hint}`;
}
