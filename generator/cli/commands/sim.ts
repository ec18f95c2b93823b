import { resolve } from 'node:path';
import { existsSync } from 'node:fs';
import { runScript } from '../../sim/device.ts';
import { UsageError, type Command } from '../command.ts';

export const sim: Command = {
  name: 'sim',
  summary: 'Run a MicroPython script on the simulated ESP8266 (the real MicroPython VM, host TCP/TLS).',
  usage: 'sim run FILE.py [--root DIR]',
  options: {
    root: { type: 'string', description: 'project whose runtime-esp8266/ and generated/micropython/ go to /lib (default: .)' },
  },
  details: [
    'The device has the runtime and the generated modules in /lib and board modules (socket, select,',
    'ssl, hashlib, os, time, network) backed by the host. Output appears as on the board\'s REPL;',
    'an uncaught exception prints its traceback and the exit status is 1.',
  ].join('\n'),
  async run({ values, positionals }) {
    const [sub, file, ...rest] = positionals;
    if (sub !== 'run') throw new UsageError(sub === undefined ? 'missing subcommand: run' : `unknown subcommand '${sub}'`);
    if (!file) throw new UsageError('missing FILE.py');
    if (rest.length) throw new UsageError(`unexpected argument '${rest[0]}'`);
    if (!existsSync(file)) throw new UsageError(`no such file: ${file}`);
    return runScript(resolve(file), { root: resolve((values.root as string | undefined) ?? '.') });
  },
};
