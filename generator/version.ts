// The toolkit version, written into every generated file so output can be traced to its generator.
import { readFileSync } from 'node:fs';

export const version: string = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version;
