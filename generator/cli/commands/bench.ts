import { resolve } from 'node:path';
import { socketioBench } from '../../bench/socketio.ts';
import { websocketBench } from '../../bench/websocket.ts';
import { EXIT_OK, UsageError, type Command } from '../command.ts';

export const bench: Command = {
  name: 'bench',
  summary: 'Print throughput, heap and generator figures (npm run bench).',
  usage: 'bench [--root DIR]',
  options: {
    root: { type: 'string', description: 'project root (default: .)' },
  },
  details: 'Speeds depend on the host machine; heap figures are deterministic.',
  async run({ values, positionals }) {
    if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`);
    const root = resolve((values.root as string | undefined) ?? '.');
    console.log('WebSocket (uwebsockets)');
    await websocketBench(root);
    console.log('\nSocket.IO (usocketio)');
    await socketioBench(root);
    return EXIT_OK;
  },
};
