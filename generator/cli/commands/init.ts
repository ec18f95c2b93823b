// `wirestate init [DIR]`: start a project of one's own.
import { resolve } from 'node:path';
import { EXIT_OK, UsageError, type Command } from '../command.ts';
import { SUMMARIES } from '../summaries.ts';

export const init: Command = {
  name: 'init',
  summary: SUMMARIES.init,
  usage: 'init [DIR]',
  options: {},
  details: [
    'Then: `wirestate generate` (or `npm run generate`), fill in the actions in runtime-esp8266/sntp.py,',
    '`wirestate test`, `wirestate deploy --main main.py` and `wirestate run main.py` (npm run deploy, npm start).',
    'README, "Add a protocol", walks through it; examples/sntp in the package is the finished example.',
  ].join('\n'),
  async run({ positionals }) {
    if (positionals.length > 1) throw new UsageError(`unexpected argument '${positionals[1]}'`);
    const root = resolve(positionals[0] ?? '.');
    const { init: scaffold } = await import('../../scaffold/init.ts');
    const r = scaffold(root);
    for (const f of r.written) console.log(`wrote   ${f}`);
    for (const f of r.skipped) console.log(`kept    ${f} (exists)`);
    if (r.scripts.added.length) console.log(`package.json scripts added: ${r.scripts.added.join(', ')}`);
    if (r.scripts.kept.length) console.log(`package.json scripts kept as they were: ${r.scripts.kept.join(', ')}`);
    console.log('next: wirestate generate, then fill in the actions in runtime-esp8266/sntp.py (README: "Add a protocol")');
    return EXIT_OK;
  },
};
