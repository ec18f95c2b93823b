// `wirestate init`: a project of one's own, ready for `generate`, `test`, `deploy` and `run`:
// wirestate.config.json, the example spec (the SNTP client of examples/sntp) with its schema
// line pointing into the installed package, its runtime module as `stub` writes it, a main.py,
// and package.json scripts. Existing files are never overwritten.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CONFIG_FILE, DEFAULTS, configSchemaPath, specSchemaReference } from '../config/config.ts';
import { compileSpecs } from '../pipeline.ts';
import { stub } from './stub.ts';

/** The example spec `init` starts a project with (inside the package). */
export const exampleSpec = fileURLToPath(new URL('../../examples/sntp/spec/sntp.yaml', import.meta.url));

export const SCRIPTS: Record<string, string> = {
  generate: 'wirestate generate',
  check: 'wirestate generate --check --strict && wirestate test',
  deploy: 'wirestate deploy --main main.py',
  start: 'wirestate run main.py',
};

const MAIN = `# main.py: runs on the board after boot.py. \`npm run deploy\` copies it with the runtime and the
# generated tables; \`npm start\` runs it on the board (the simulated one unless the project's
# deploy target or --port/--webrepl says otherwise).
from sntp import Sntp

c = Sntp()
print('sntp machine in state', c.state)
c.fire(0)  # event 'sync' (_E_SYNC in runtime-esp8266/sntp.py); send_request is still to do
print('after sync:', c.state)
`;

export interface InitResult {
  written: string[];
  skipped: string[];
  scripts: { added: string[]; kept: string[] };
}

export function init(root: string): InitResult {
  const result: InitResult = { written: [], skipped: [], scripts: { added: [], kept: [] } };
  const put = (file: string, text: string) => {
    const full = join(root, file);
    if (existsSync(full)) return void result.skipped.push(file);
    mkdirSync(dirname(full), { recursive: true });
    writeFileSync(full, text);
    result.written.push(file);
  };
  const slash = (p: string) => p.split(sep).join('/');
  put(CONFIG_FILE, JSON.stringify({ $schema: slash(relative(root, configSchemaPath)), ...DEFAULTS }, null, 2) + '\n');
  const spec = readFileSync(exampleSpec, 'utf8').replace(/^# yaml-language-server: \$schema=.*$/m, `# yaml-language-server: $schema=${specSchemaReference(join(root, DEFAULTS.spec))}`);
  put(`${DEFAULTS.spec}/sntp.yaml`, spec);
  put('main.py', MAIN);
  // The runtime module, as `wirestate stub sntp` writes it (unless there is one).
  const { machines } = compileSpecs(root);
  const sntp = machines.find((c) => c.machine.name === 'sntp');
  if (sntp) {
    const file = join(DEFAULTS.runtime, sntp.machine.implementation.module);
    if (existsSync(join(root, file))) result.skipped.push(file);
    else result.written.push(stub(root, sntp, machines).file);
  }
  const pkgPath = join(root, 'package.json');
  const pkg = existsSync(pkgPath) ? (JSON.parse(readFileSync(pkgPath, 'utf8')) as Record<string, unknown>) : { name: basename(root).toLowerCase().replace(/[^a-z0-9-]+/g, '-'), version: '0.1.0', private: true };
  const scripts = { ...((pkg.scripts as Record<string, string> | undefined) ?? {}) };
  for (const [name, command] of Object.entries(SCRIPTS)) {
    if (scripts[name] === undefined) {
      scripts[name] = command;
      result.scripts.added.push(name);
    } else if (scripts[name] !== command) result.scripts.kept.push(name);
  }
  if (result.scripts.added.length || !existsSync(pkgPath)) {
    writeFileSync(pkgPath, JSON.stringify({ ...pkg, scripts }, null, 2) + '\n');
    if (!result.written.includes('package.json')) result.written.push('package.json');
  }
  return result;
}
