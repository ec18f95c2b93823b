import { resolve } from 'node:path';
import type { Link } from '../../deploy/link.ts';
import { TARGET_DETAILS, TARGET_OPTIONS, openTarget, targetOptions } from '../../deploy/target.ts';
import { EXIT_OK, UsageError, type Command } from '../command.ts';
import { SUMMARIES } from '../summaries.ts';

const { 'no-reset': _, ...options } = TARGET_OPTIONS;

/** Ctrl-]: leaves the session (as in telnet and mpremote); every other key goes to the board. */
const LEAVE = 0x1d;

export const repl: Command = {
  name: 'repl',
  summary: SUMMARIES.repl,
  usage: 'repl [--port PATH | --webrepl URL | --sim]',
  options,
  details: ['Keys go to the board as typed (Ctrl-C interrupts, Ctrl-D soft-resets); Ctrl-] leaves.', '', TARGET_DETAILS].join('\n'),
  async run({ values, positionals }) {
    if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`);
    const opts = targetOptions(values, resolve((values.root as string | undefined) ?? '.'));
    const target = await openTarget(opts);
    console.error(`connected to ${target.name}; Ctrl-] leaves`);
    try {
      await terminal(target.link, process.stdin, process.stdout);
    } finally {
      await target.close();
    }
    return EXIT_OK;
  },
};

/**
 * Passes keys from `input` to the board and what it prints to `output` until Ctrl-] (or the
 * end of input, or of the link). Starts with Ctrl-B, which leaves the raw REPL if a tool left the
 * board there, or else shows the banner and a prompt.
 */
export async function terminal(link: Link, input: NodeJS.ReadStream | NodeJS.ReadableStream, output: NodeJS.WritableStream): Promise<void> {
  const tty = 'isTTY' in input && input.isTTY ? input : undefined;
  tty?.setRawMode(true);
  let stop!: () => void;
  const stopped = new Promise<void>((r) => (stop = r));
  const onData = (d: Buffer) => {
    const at = d.indexOf(LEAVE);
    const keys = at < 0 ? d : d.subarray(0, at);
    if (keys.length) link.write(keys).catch(stop);
    if (at >= 0) stop();
  };
  input.on('data', onData);
  input.once('end', stop);
  input.resume();
  (async () => {
    for (;;) output.write(await link.readSome(null, 'in the REPL'));
  })().catch(stop);
  try {
    await link.write('\x02');
    await stopped;
  } finally {
    input.off('data', onData);
    input.off('end', stop);
    input.pause();
    tty?.setRawMode(false);
  }
}
