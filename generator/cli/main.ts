// Entry point of the `wirestate` command.
import { EXIT_OK, EXIT_USAGE, runCommand, type Command } from './command.ts';
import { generate } from './commands/generate.ts';
import { sim } from './commands/sim.ts';
import { demo } from './commands/demo.ts';
import { bench } from './commands/bench.ts';
import { visualise } from './commands/visualise.ts';
import { trace } from './commands/trace.ts';
import { deploy } from './commands/deploy.ts';
import { repl } from './commands/repl.ts';
import { run } from './commands/run.ts';
import { test } from './commands/test.ts';
import { stub } from './commands/stub.ts';
import { version } from '../version.ts';

export const commands: Command[] = [generate, visualise, sim, trace, demo, bench];
commands.push(deploy, run, repl);
commands.push(stub, test);

function usage(): string {
  return [
    'Usage: wirestate <command> [options]',
    '',
    'Declarative protocol state machines to table-driven MicroPython for tiny devices.',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(12)} ${c.summary}`),
    '',
    'Run `wirestate <command> --help` for a command\'s options.',
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
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
  const command = commands.find((c) => c.name === name);
  if (!command) {
    console.error(`wirestate: unknown command '${name}'\n\n${usage()}`);
    return EXIT_USAGE;
  }
  return runCommand(command, rest);
}
