#!/usr/bin/env node
// The `wirestate` command: the toolkit is TypeScript, run through tsx so no build step can go stale.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
