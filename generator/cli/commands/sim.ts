import { resolve } from 'node:path';
import { existsSync, writeFileSync } from 'node:fs';
import { projectFiles, runScript, type RunScriptOptions } from '../../sim/device.ts';
import { tableRuntime } from '../../deploy/files.ts';
import { ESP8266_GENERIC, RUNTIME_PATHS, checkFirmware, formatFirmwareFinding } from '../../analyses/firmware.ts';
import { EXIT_FAILURE, EXIT_OK, UsageError, type Command } from '../command.ts';
import { SUMMARIES } from '../summaries.ts';

/** 16 KB of the simulated device's heap: plenty for a script, nothing like a board's budget. */
const TRACE_RECORDS = 4096;
const DEVICE_TRACE = '/trace.wst';

export const sim: Command = {
  name: 'sim',
  summary: SUMMARIES.sim,
  usage: 'sim run FILE.py [--trace OUT] [--root DIR] | sim check [PATH...] [--root DIR]',
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
    '',
    '`sim check` reads the .py files under each PATH (default: runtime-esp8266 and generated/micropython',
    `of the root) for what the ${ESP8266_GENERIC.firmware} firmware lacks though the simulated VM has it`,
    '(str.partition, compile(), math.inf, ...; the list is generator/analyses/esp8266-generic.json) and',
    'exits with 1 when it finds any. The simulated device refuses to import such files too.',
  ].join('\n'),
  async run({ values, positionals }) {
    const [sub, file, ...rest] = positionals;
    if (sub === 'check') {
      const root = resolve((values.root as string | undefined) ?? '.');
      const paths = positionals.slice(1);
      for (const p of paths) if (!existsSync(resolve(root, p))) throw new UsageError(`no such file or folder: ${p}`);
      const findings = checkFirmware(root, paths.length ? paths : RUNTIME_PATHS.filter((p) => existsSync(resolve(root, p))));
      for (const f of findings) console.log(formatFirmwareFinding(f));
      if (findings.length) return EXIT_FAILURE;
      console.log(`nothing the ${ESP8266_GENERIC.firmware} firmware lacks`);
      return EXIT_OK;
    }
    if (sub !== 'run') throw new UsageError(sub === undefined ? 'missing subcommand: run or check' : `unknown subcommand '${sub}'`);
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

