// The whole path in a user's own project, from a fresh folder: install the packed tarball, write
// a spec, generate, deploy to the simulated board, run there, record a trace and decode it; in an
// ESM project and in a CommonJS one (npm's default), each with its own configuration. Also what
// a command loads (nothing heavy for --version; neither ts-morph nor Graphviz for a check whose
// output is cached), piping into `head`, and errors without a stack trace unless --debug.
import { cpSync, existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
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

// Fires 5000 events: the trace keeps the last 4096 steps, more text than a pipe holds.
const LOOP = `import fsm, turnstile_fsm as m
from turnstile import Turnstile
t = Turnstile()
t.delays = []
fsm.start(m, t)
for i in range(2500):
    fsm.fire(m, t, 0)  # coin
    fsm.fire(m, t, 1)  # push
print('credit', t.credit)
`;

const MAIN = `import fsm, turnstile_fsm as m
from turnstile import Turnstile
t = Turnstile()
t.delays = []
fsm.start(m, t)
for ev in (0, 0, 0):  # three coins: the third pays
    fsm.fire(m, t, ev)
print('turnstile state', t.state, 'credit', t.credit)
`;

interface Kind {
  name: string;
  type?: 'module';
  /** Where this project keeps its files, and how it says so. */
  spec: string;
  runtime: string;
  generated: string;
  configure(root: string, layout: Record<string, string>): void;
}

const kinds: Kind[] = [
  {
    name: 'ESM',
    type: 'module',
    spec: 'machines',
    runtime: 'device',
    generated: 'build/wirestate',
    configure: (root, layout) => writeFileSync(join(root, 'wirestate.config.json'), JSON.stringify({ $schema: './node_modules/wirestate/config.schema.json', ...layout, deploy: { target: 'sim' } }, null, 2)),
  },
  {
    name: 'CommonJS',
    spec: 'spec',
    runtime: 'py',
    generated: 'gen',
    configure: (root, layout) => {
      const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
      writeFileSync(join(root, 'package.json'), JSON.stringify({ ...pkg, wirestate: layout }, null, 2));
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
    kind.configure(root, { spec: kind.spec, runtime: kind.runtime, generated: kind.generated });
    cpSync(join(turnstile, 'spec'), join(root, kind.spec), { recursive: true });
    cpSync(join(turnstile, 'runtime-esp8266', 'turnstile.py'), join(root, kind.runtime, 'turnstile.py'));
    writeTree(root, { 'main.py': MAIN, 'loop.py': LOOP, 'many.py': 'for i in range(20000):\n    print("line", i)\n', 'hooks.mjs': HOOKS, 'register.mjs': REGISTER });
  }, 600_000);
  afterAll(() => removeRoot(root));

  it('`wirestate --version` prints the version and loads none of the heavy packages', async () => {
    const r = await wirestate(root, '--version');
    expect(r).toMatchObject({ code: 0, stdout: `${version}\n`, stderr: '' });
    expect(await packagesLoaded(root, '--version')).toEqual([]);
  });

  it('generate writes the configured folders; generate --check then passes without ts-morph or Graphviz', async () => {
    const g = await wirestate(root, 'generate');
    expect(g.stderr).toBe('');
    expect(g.code).toBe(0);
    expect(readdirSync(join(root, kind.generated)).sort()).toEqual(['diagrams', 'micropython', 'xstate']);
    expect(existsSync(join(root, kind.generated, 'micropython', 'turnstile_fsm.py'))).toBe(true);
    const c = await wirestate(root, 'generate', '--check');
    expect(c).toMatchObject({ code: 0, stdout: `${kind.generated}/ is up to date (6 files)\n` });
    const loaded = await packagesLoaded(root, 'generate', '--check');
    for (const heavy of ['ts-morph', '@hpcc-js/wasm-graphviz', 'serialport', '@micropython/micropython-webassembly-pyscript', 'ws', 'ajv']) expect(loaded).not.toContain(heavy);
  });

  it("deploy --sim copies the runtime (fsm.py from wirestate's) and the tables, precompiled; run --sim runs main.py there", async () => {
    const d = await wirestate(root, 'deploy', '--sim', '--main', 'main.py');
    expect(d.stderr).toBe('');
    expect(d.code).toBe(0);
    for (const f of ['/lib/turnstile.mpy', '/lib/turnstile_fsm.mpy', '/lib/fsm.mpy', '/main.py']) expect(d.stdout).toContain(`copied ${f}`);
    const r = await wirestate(root, 'run', '--sim', 'main.py');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.replace(/\r\n/g, '\n')).toBe('turnstile state 1 credit 3\n'); // the board's REPL ends lines with CR LF
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
    expect(lines.slice(-2)).toEqual([expect.stringMatching(/turnstile\s+locked --coin--> unlocked/), expect.stringMatching(/turnstile\s+unlocked --push--> locked/)]);
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
