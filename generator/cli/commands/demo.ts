import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, writeOutputs } from '../../pipeline.ts';
import { SpecError } from '../../spec/diagnostics.ts';
import { SimDevice, projectFiles } from '../../sim/device.ts';
import { startGreeter, startSocketIoAnnouncer, type LocalServer } from '../../demo/servers.ts';
import { EXIT_FAILURE, EXIT_OK, UsageError, type Command } from '../command.ts';
import { SUMMARIES } from '../summaries.ts';

const demoFile = (name: string) => fileURLToPath(new URL(`../../demo/${name}`, import.meta.url));

export const demo: Command = {
  name: 'demo',
  summary: SUMMARIES.demo,
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
      console.log(`generated ${result.outputs.size} files for ${result.machines.length} machine(s)${changed ? ` (${changed} updated)` : ', all up to date'}`);
    } catch (e) {
      if (e instanceof SpecError) {
        console.error(e.message);
        return EXIT_FAILURE;
      }
      throw e;
    }
    const ws = await runExample(root, 'hello.py', "'ws://127.0.0.1:5000/'", startGreeter, 'greeting WebSocket server');
    if (ws !== EXIT_OK) return ws;
    console.log();
    return runExample(root, 'socketio_client.py', "'http://127.0.0.1:5000/'", startSocketIoAnnouncer, 'Socket.IO server');
  },
};

/** Runs generator/demo/<name> on a fresh simulated ESP8266 against a local server, at its URL. */
async function runExample(root: string, name: string, address: string, start: () => Promise<LocalServer>, what: string): Promise<number> {
  const server = await start();
  console.log(`${what} at ${server.url}; running generator/demo/${name} on the simulated ESP8266:\n`);
  const script = readFileSync(demoFile(name), 'utf8').replace(address, `'${server.url}'`);
  const dev = await SimDevice.boot({ files: { ...projectFiles(root), [`/${name}`]: script, '/logging.py': readFileSync(demoFile('logging.py'), 'utf8') } });
  try {
    await dev.runFile(name);
    return EXIT_OK;
  } catch (e) {
    console.error((e as { traceback?: string }).traceback ?? e);
    return EXIT_FAILURE;
  } finally {
    await dev.close();
    await server.close();
  }
}
