import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, writeOutputs } from '../../pipeline.ts';
import { SpecError } from '../../spec/diagnostics.ts';
import { SimDevice, projectFiles } from '../../sim/device.ts';
import { startGreeter } from '../../demo/servers.ts';
import { EXIT_FAILURE, EXIT_OK, UsageError, type Command } from '../command.ts';

const example = fileURLToPath(new URL('../../demo/hello.py', import.meta.url));

export const demo: Command = {
  name: 'demo',
  summary: 'The quick start (npm start): regenerate, start a local server, run the original README\'s example on the simulated ESP8266.',
  usage: 'demo [--root DIR]',
  options: {
    root: { type: 'string', description: 'project root (default: .)' },
  },
  async run({ values, positionals }) {
    if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`);
    const root = resolve((values.root as string | undefined) ?? '.');
    try {
      const result = await build(root);
      const s = writeOutputs(root, result.outputs);
      const changed = s.changed.length + s.missing.length + s.orphaned.length;
      console.log(`generated ${result.outputs.size} files from ${result.machines.length} spec(s)${changed ? ` (${changed} updated)` : ', all up to date'}`);
    } catch (e) {
      if (e instanceof SpecError) {
        console.error(e.message);
        return EXIT_FAILURE;
      }
      throw e;
    }
    const server = await startGreeter();
    console.log(`greeting server at ${server.url}; running generator/demo/hello.py on the simulated ESP8266:\n`);
    const script = readFileSync(example, 'utf8').replace("'ws://127.0.0.1:5000/'", `'${server.url}'`);
    const dev = await SimDevice.boot({ files: { ...projectFiles(root), '/hello.py': script } });
    try {
      await dev.runFile('hello.py');
      return EXIT_OK;
    } catch (e) {
      console.error((e as { traceback?: string }).traceback ?? e);
      return EXIT_FAILURE;
    } finally {
      await dev.close();
      await server.close();
    }
  },
};
