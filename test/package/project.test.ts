// The whole path in a user's own project, from a fresh folder: install the packed tarball, init,
// add a spec and stub its runtime, generate, test, deploy to the simulated board, run there,
// record a trace and decode it; in an ESM project and in a CommonJS one (npm's default), each
// moved to a layout of its own (in wirestate.config.json, in package.json). Also what
// a command loads (nothing heavy for --version; neither ts-morph nor Graphviz for a check whose
// output is cached), piping into `head`, and errors without a stack trace unless --debug.
import { cpSync, existsSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeRoot, repoRoot, writeTree } from '../generator/support.ts';
import { exec, installProject, pack, wirestate } from './support.ts';

const version = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')).version as string;
const turnstile = join(repoRoot, 'test', 'fixtures', 'golden', 'turnstile');

/** Packages that only some commands need. */
const HEAVY = ['ts-morph', 'typescript', '@ts-morph/common', 'serialport', '@serialport/bindings-cpp', '@micropython/micropython-webassembly-pyscript', '@hpcc-js/wasm-graphviz', '@pybricks/mpy-cross-v6', 'yaml', 'ajv', 'handlebars', 'xstate', 'ws'];

// Records every module a command resolves (module.register's resolve hook), one URL a line.
const HOOKS = `import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  appendFileSync(process.env.WIRESTATE_RESOLVED, r.url + '\\n');
  return r;
}
`;
const REGISTER = `import { register } from 'node:module';\nregister('./hooks.mjs', import.meta.url);\n`;

/** The packages (by name, under node_modules) a command line loads. */
async function packagesLoaded(root: string, ...args: string[]): Promise<string[]> {
  const log = join(root, 'resolved.log');
  rmSync(log, { force: true });
  const r = await exec(process.execPath, ['--import', './register.mjs', join(root, 'node_modules', '.bin', 'wirestate'), ...args], root, { WIRESTATE_RESOLVED: log });
  expect(r.code, r.stderr).toBe(0);
  const names = readFileSync(log, 'utf8')
    .split('\n')
    .map((url) => /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)?.[1])
    .filter((n): n is string => n !== undefined && n !== 'wirestate');
  return [...new Set(names)].sort();
}

// Fires 5000 events: the trace keeps the last 4096 steps, more text than a pipe holds. The
// turnstile's runtime is the stub as written: every guard is false.
const LOOP = `from turnstile import Turnstile
t = Turnstile()
for i in range(2500):
    t.fire(0)  # coin
    t.fire(1)  # push
print('turnstile state', t.state)
`;

interface Kind {
  name: string;
  type?: 'module';
  /** Where this project keeps its files after `init`, and how it says so. */
  spec: string;
  runtime: string;
  generated: string;
  /** Moves what `init` wrote (its default layout, in wirestate.config.json) to this layout. */
  relayout(root: string): void;
}

const kinds: Kind[] = [
  {
    name: 'ESM',
    type: 'module',
    spec: 'machines',
    runtime: 'device',
    generated: 'build/wirestate',
    relayout(root) {
      renameSync(join(root, 'spec'), join(root, this.spec));
      renameSync(join(root, 'runtime-esp8266'), join(root, this.runtime));
      const file = join(root, 'wirestate.config.json');
      const config = JSON.parse(readFileSync(file, 'utf8'));
      writeFileSync(file, JSON.stringify({ ...config, spec: this.spec, runtime: this.runtime, generated: this.generated }, null, 2));
    },
  },
  {
    name: 'CommonJS',
    spec: 'spec',
    runtime: 'py',
    generated: 'gen',
    relayout(root) {
      renameSync(join(root, 'runtime-esp8266'), join(root, this.runtime));
      rmSync(join(root, 'wirestate.config.json'));
      const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
      writeFileSync(join(root, 'package.json'), JSON.stringify({ ...pkg, wirestate: { runtime: this.runtime, generated: this.generated } }, null, 2));
    },
  },
];

let tarball: string;
beforeAll(async () => {
  tarball = await pack();
}, 600_000);
afterAll(() => removeRoot(tarball && join(tarball, '..')));

describe.each(kinds)('in a fresh $name project', (kind) => {
  let root: string;
  beforeAll(async () => {
    root = await installProject(kind.name.toLowerCase(), tarball, { type: kind.type });
    writeTree(root, { 'loop.py': LOOP, 'many.py': 'for i in range(20000):\n    print("line", i)\n', 'hooks.mjs': HOOKS, 'register.mjs': REGISTER });
  }, 600_000);
  afterAll(() => removeRoot(root));

  it('`wirestate --version` prints the version and loads none of the heavy packages', async () => {
    const r = await wirestate(root, '--version');
    expect(r).toMatchObject({ code: 0, stdout: `${version}\n`, stderr: '' });
    expect(await packagesLoaded(root, '--version')).toEqual([]);
  });

  it("the package's JavaScript API loads in this project: the installed spec schema's path", async () => {
    // api.js is ESM or CommonJS as the project says: each imports the package its own way.
    const use = `(w) => console.log(w.version, w.specSchemaReference(${JSON.stringify(join(root, 'spec'))}))`;
    writeFileSync(join(root, 'api.js'), kind.type === 'module' ? `import * as w from 'wirestate';\n(${use})(w);\n` : `import('wirestate').then(${use});\n`);
    const r = await exec(process.execPath, ['api.js'], root);
    expect(r).toMatchObject({ code: 0, stdout: `${version} ../node_modules/wirestate/spec/wirestate.schema.json\n`, stderr: '' });
  });

  it('init scaffolds the project: configuration, the example spec whose schema line resolves, its runtime module, main.py, scripts', async () => {
    const r = await wirestate(root, 'init');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    for (const f of ['wirestate.config.json', 'spec/sntp.yaml', 'runtime-esp8266/sntp.py', 'main.py']) expect(existsSync(join(root, f)), f).toBe(true);
    const schemaLine = /^# yaml-language-server: \$schema=(.+)$/m.exec(readFileSync(join(root, 'spec', 'sntp.yaml'), 'utf8'))![1]!;
    expect(schemaLine).toBe('../node_modules/wirestate/spec/wirestate.schema.json');
    expect(existsSync(join(root, 'spec', schemaLine))).toBe(true);
    const config = JSON.parse(readFileSync(join(root, 'wirestate.config.json'), 'utf8'));
    expect(existsSync(join(root, config.$schema))).toBe(true);
    expect(Object.keys(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).scripts)).toEqual(expect.arrayContaining(['generate', 'deploy', 'start']));
    kind.relayout(root);
  });

  it('stub writes the runtime module of a new spec, in the configured runtime folder', async () => {
    cpSync(join(turnstile, 'spec', 'turnstile.yaml'), join(root, kind.spec, 'turnstile.yaml'));
    const r = await wirestate(root, 'stub', 'turnstile');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(readFileSync(join(root, kind.runtime, 'turnstile.py'), 'utf8')).toMatch(/^class Turnstile:$/m);
  });

  it('generate writes the configured folders; generate --check then passes without ts-morph or Graphviz', async () => {
    const g = await wirestate(root, 'generate');
    expect(g.stderr).toBe('');
    expect(g.code).toBe(0);
    expect(readdirSync(join(root, kind.generated)).sort()).toEqual(['diagrams', 'micropython', 'xstate']);
    expect(readdirSync(join(root, kind.generated, 'micropython')).sort()).toEqual(['sntp_fsm.py', 'turnstile_fsm.py']);
    const c = await wirestate(root, 'generate', '--check');
    expect(c).toMatchObject({ code: 0, stdout: `${kind.generated}/ is up to date (11 files)\n` });
    const loaded = await packagesLoaded(root, 'generate', '--check');
    for (const heavy of ['ts-morph', '@hpcc-js/wasm-graphviz', 'serialport', '@micropython/micropython-webassembly-pyscript', 'ws', 'ajv']) expect(loaded).not.toContain(heavy);
  });

  it('test checks both machines\' XState form against their tables on the simulated device', async () => {
    const r = await wirestate(root, 'test');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('sntp: coverage: states 5/5, transitions 9/9');
    expect(r.stdout).toMatch(/wirestate test: 2 machines, both forms agree\n$/);
  });

  it("deploy --sim copies main.py, what it imports and fsm from wirestate's runtime (the project has none); run --sim runs it there", async () => {
    expect(existsSync(join(root, kind.runtime, 'fsm.py'))).toBe(false);
    const d = await wirestate(root, 'deploy', '--sim', '--main', 'main.py');
    expect(d.stderr).toBe('');
    expect(d.code).toBe(0);
    for (const f of ['/lib/sntp.mpy', '/lib/sntp_fsm.mpy', '/lib/fsm.mpy', '/main.py']) expect(d.stdout).toContain(`copied ${f}`);
    const r = await wirestate(root, 'run', '--sim', 'main.py');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.replace(/\r\n/g, '\n')).toBe('sntp machine in state 0\nafter sync: 1\n'); // the board's REPL ends lines with CR LF
  });

  it('sim run --trace records a trace; trace decode names every step; piped into head it stops quietly', async () => {
    const s = await wirestate(root, 'sim', 'run', 'loop.py', '--trace', 'loop.wst');
    expect(s.stderr).toBe('');
    expect(s.code).toBe(0);
    const d = await wirestate(root, 'trace', 'decode', 'loop.wst');
    expect(d.code).toBe(0);
    expect(d.stderr).toBe('');
    const lines = d.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^loop\.wst: 4096 steps of turnstile_fsm 0x[0-9a-f]{8}$/);
    expect(lines[1]).toBe('(905 earlier steps were dropped: the device kept the last 4096)');
    expect(lines.slice(-2)).toEqual([expect.stringMatching(/turnstile\s+locked --coin--> locked\s+\[else\]/), expect.stringMatching(/turnstile\s+locked --push--> locked\s+\[!maintenance\]/)]);
    expect(d.stdout.length).toBeGreaterThan(200_000); // more than any pipe holds
    const bin = join(root, 'node_modules', '.bin', 'wirestate');
    const head = await exec('bash', ['-c', `set -o pipefail; "${bin}" trace decode loop.wst | head -n 1`], root);
    expect(head).toMatchObject({ code: 0, stdout: `${lines[0]}\n`, stderr: '' });
    // The simulated board's output goes straight to stdout: far more than a pipe holds.
    const many = await exec('bash', ['-c', `set -o pipefail; "${bin}" sim run many.py | head -n 2`], root);
    expect(many).toMatchObject({ code: 0, stdout: 'line 0\nline 1\n', stderr: '' });
  });

  it('reports an error without a stack trace, and with it under --debug', async () => {
    const config = join(root, 'wirestate.config.json');
    const saved = existsSync(config) ? readFileSync(config, 'utf8') : undefined;
    writeFileSync(config, '{"spec": 3}');
    try {
      const plain = await wirestate(root, 'generate', '--check');
      expect(plain).toMatchObject({ code: 1, stdout: '', stderr: 'wirestate generate: wirestate.config.json: "spec" must be a folder name (a non-empty string)\n' });
      const debug = await wirestate(root, 'generate', '--check', '--debug');
      expect(debug.code).toBe(1);
      expect(debug.stderr).toMatch(/^wirestate generate: ConfigError: wirestate.config.json: "spec" must be a folder name[^\n]*\n\s+at /);
    } finally {
      if (saved === undefined) rmSync(config);
      else writeFileSync(config, saved);
    }
  });
});
