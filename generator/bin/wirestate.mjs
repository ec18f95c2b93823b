#!/usr/bin/env node
// The `wirestate` command. In the repository it runs the TypeScript sources through tsx, so no
// build can go stale; the published package has no sources and runs the compiled dist/
// (WIRESTATE_FROM=dist runs dist/ in the repository too, as `npm run bench` measures it).
import { existsSync } from 'node:fs';

// Output piped into `head` and the like: once the reader is gone, stop quietly, as Unix tools do.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
}

const source = new URL('../cli/main.ts', import.meta.url);
let main;
if (existsSync(source) && process.env.WIRESTATE_FROM !== 'dist') {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import(source.href));
} else {
  ({ main } = await import('../../dist/cli/main.js'));
}
process.exitCode = await main(process.argv.slice(2));
