import { resolve } from 'node:path';
import { EXIT_OK, UsageError, type Command } from '../command.ts';
import { SUMMARIES } from '../summaries.ts';

export const bench: Command = {
  name: 'bench',
  summary: SUMMARIES.bench,
  usage: 'bench [--root DIR] [--memory]',
  options: {
    root: { type: 'string', description: 'project root (default: .)' },
    memory: { type: 'boolean', description: 'only the memory jobs (heap per step, .py and .mpy)' },
  },
  details: 'Speeds depend on the host machine; heap figures are deterministic. Needs the repository\'s development install (socket.io, tsx, TypeScript).',
  async run({ values, positionals }) {
    if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`);
    const root = resolve((values.root as string | undefined) ?? '.');
    // Loaded here: the benchmarks' test servers are development dependencies.
    const { memoryBench } = await import('../../bench/memory.ts');
    if (values.memory) {
      await memoryBench(root);
      return EXIT_OK;
    }
    const [{ cliBench }, { websocketBench }, { socketioBench }] = await Promise.all([import('../../bench/cli.ts'), import('../../bench/websocket.ts'), import('../../bench/socketio.ts')]);
    console.log('The wirestate command');
    cliBench(root);
    console.log('\nWebSocket (uwebsockets)');
    await websocketBench(root);
    console.log('\nSocket.IO (usocketio)');
    await socketioBench(root);
    console.log('\nMemory jobs on the simulated ESP8266 (issue 9; README "Heap figures" says what is measured and what is a bound)');
    await memoryBench(root);
    return EXIT_OK;
  },
};
