import { resolve } from 'node:path';
import { existsSync, writeFileSync } from 'node:fs';
import { projectFiles, runScript, type RunScriptOptions } from '../../sim/device.ts';
import { tableRuntime } from '../../deploy/files.ts';
import { UsageError, type Command } from '../command.ts';

/** 16 KB of the simulated device's heap: plenty for a script, nothing like a board's budget. */
const TRACE_RECORDS = 4096;
const DEVICE_TRACE = '/trace.wst';

export const sim: Command = {
  name: 'sim',
  summary: 'Run a MicroPython script on the simulated ESP8266 (the real MicroPython VM, host TCP/TLS).',
  usage: 'sim run FILE.py [--trace OUT] [--root DIR]',
  options: {
    root: { type: 'string', description: 'project whose runtime and generated tables go to /lib (the folders its configuration names; default: .)' },
    trace: { type: 'string', description: `record every transition (the last ${TRACE_RECORDS}) with fsmtrace and save them to OUT` },
  },
  details: [
    'The device has the runtime and the generated modules in /lib and board modules (socket, select,',
    'ssl, hashlib, os, time, network) backed by the host. Output appears as on the board\'s REPL;',
    'an uncaught exception prints its traceback and the exit status is 1.',
    'With --trace the trace is saved however the script ends; read it with `wirestate trace decode OUT`',
    'or in the explorer (`wirestate visualise --html FILE`).',
  ].join('\n'),
  async run({ values, positionals }) {
    const [sub, file, ...rest] = positionals;
    if (sub !== 'run') throw new UsageError(sub === undefined ? 'missing subcommand: run' : `unknown subcommand '${sub}'`);
    if (!file) throw new UsageError('missing FILE.py');
    if (rest.length) throw new UsageError(`unexpected argument '${rest[0]}'`);
    if (!existsSync(file)) throw new UsageError(`no such file: ${file}`);
    const root = resolve((values.root as string | undefined) ?? '.');
    // fsm.py and fsmtrace.py come from wirestate's runtime when the project's runtime has none.
    const options: RunScriptOptions = { root, files: tableRuntime(projectFiles(root)) };
    const out = values.trace as string | undefined;
    if (out !== undefined) {
      // __import__ keeps the name fsmtrace out of the script's globals.
      options.before = (dev) => dev.exec(`__import__('fsmtrace').start(${TRACE_RECORDS})`);
      options.after = async (dev) => {
        await dev.exec(`__import__('fsmtrace').save('${DEVICE_TRACE}')`);
        writeFileSync(out, await dev.readFile(DEVICE_TRACE));
      };
    }
    return runScript(resolve(file), options);
  },
};

