// What every CLI command shares: option parsing with --help, and conventional exit codes (a
// UsageError is exit 2 with the help, a DeployError exit 1 with its message).
import { parseArgs } from 'node:util';
import { DeployError } from '../deploy/link.ts';

export const EXIT_OK = 0;
/** The command ran and found a problem: invalid spec, stale files, a failing script. */
export const EXIT_FAILURE = 1;
/** The command line itself was wrong. */
export const EXIT_USAGE = 2;

export interface Command {
  name: string;
  summary: string;
  usage: string;
  options: Record<string, Option>;
  /** Extra help text after the options. */
  details?: string;
  run(args: { values: Record<string, string | boolean | string[] | undefined>; positionals: string[] }): Promise<number>;
}

export interface Option {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
  description: string;
}

export class UsageError extends Error {}

export function helpText(c: Command): string {
  const opts = Object.entries(c.options).map(([name, o]) => {
    const flag = `--${name}${o.type === 'string' ? ' VALUE' : ''}${o.short ? `, -${o.short}` : ''}`;
    return `  ${flag.padEnd(24)} ${o.description}`;
  });
  return [`Usage: wirestate ${c.usage}`, '', c.summary, '', 'Options:', ...opts, `  ${'--help, -h'.padEnd(24)} show this help`, ...(c.details ? ['', c.details] : [])].join('\n');
}

export async function runCommand(c: Command, argv: string[]): Promise<number> {
  let parsed;
  try {
    const options = Object.fromEntries(Object.entries(c.options).map(([k, { description: _, ...o }]) => [k, o]));
    parsed = parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  } catch (e) {
    console.error(`wirestate ${c.name}: ${(e as Error).message}\n\n${helpText(c)}`);
    return EXIT_USAGE;
  }
  if (parsed.values.help) {
    console.log(helpText(c));
    return EXIT_OK;
  }
  try {
    return await c.run(parsed as never);
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`wirestate ${c.name}: ${e.message}\n\n${helpText(c)}`);
      return EXIT_USAGE;
    }
    // A problem with the board, the link or a file: the message says it all.
    if (e instanceof DeployError) {
      console.error(`wirestate ${c.name}: ${e.message}`);
      return EXIT_FAILURE;
    }
    throw e;
  }
}
