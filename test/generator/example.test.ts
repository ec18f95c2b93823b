// The example protocol of the README's "Add a protocol" (examples/sntp), its whole path from a
// copy of the folder: generate --strict, stub (the implementation is up to date), test (both
// forms agree), deploy and run its demo on the simulated board, the demo on CPython, and the
// runtime contract.
import { cpSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { makeRoot, removeRoot, repoRoot, runCli } from './support.ts';
import { runScript } from '../../generator/sim/device.ts';

let root: string;
beforeAll(() => {
  root = makeRoot('example');
  cpSync(join(repoRoot, 'examples/sntp'), root, { recursive: true, filter: (src) => !/[/\\](generated|\.cache)$/.test(src) });
});
afterAll(() => removeRoot(root));

const DEMO = [
  'start: idle',
  'sync: requesting 48 bytes out, try 1',
  'reply_timeout: waiting',
  'retry_delay: requesting try 2',
  'forged reply: requesting',
  'reply: synced unix time 1704067200',
  '',
].join('\n');

/** What fsm.py from the toolkit adds to a project's runtime on the device. */
const toolkitFsm = () => ({ '/lib/fsm.py': readFileSync(join(repoRoot, 'runtime-esp8266/fsm.py'), 'utf8') });

it('generates with no warning, and its implementation is what stub leaves in place', async () => {
  const gen = await runCli(['generate', '--strict', '--root', root]);
  expect(gen.stderr).toBe('');
  expect(gen.code).toBe(0);
  expect(gen.stdout).toContain('sntp       spec/sntp.yaml: 5 states');
  const stub = await runCli(['stub', 'sntp', '--root', root]);
  expect(stub).toEqual({ code: 0, stdout: 'runtime-esp8266/sntp.py is up to date\n', stderr: '' });
});

it('`wirestate test`: both forms agree, every state and transition covered', async () => {
  const r = await runCli(['test', '--runs', '100', '--root', root]);
  expect(r.stderr).toBe('');
  expect(r.stdout).toContain('sntp: coverage: states 5/5, transitions 9/9');
  expect(r.stdout).toContain('wirestate test: 1 machine, both forms agree');
  expect(r.code).toBe(0);
});

it('deployed to the simulated board (with fsm.py from the toolkit), its demo tells the whole story', async () => {
  const deploy = await runCli(['deploy', '--sim'], root);
  expect(deploy.stderr).toBe('');
  expect(deploy.code).toBe(0);
  const run = await runCli(['run', '--sim', 'demo.py'], root);
  expect(run.stderr).toBe('');
  expect(run.stdout.replace(/\r\n/g, '\n')).toBe(DEMO); // the board's REPL ends lines with CRLF
  expect(run.code).toBe(0);
});

it('and on CPython', () => {
  const r = spawnSync('/usr/bin/python3', ['demo.py'], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, PYTHONPATH: [join(root, 'runtime-esp8266'), join(root, 'generated/micropython'), join(repoRoot, 'runtime-esp8266')].join(':') },
  });
  expect(r.stderr).toBe('');
  expect(r.stdout).toBe(DEMO);
});

it('the runtime contract: an object without delays fails at start, naming the attribute', async () => {
  let err = '';
  const script = join(root, 'nodelays.py');
  const { writeFileSync } = await import('node:fs');
  writeFileSync(script, 'import fsm, sntp_fsm\n\nclass O:\n    def act(self, a):\n        pass\n\nfsm.start(sntp_fsm, O())\nprint("started")\n');
  const code = await runScript(script, { root, files: toolkitFsm(), stderr: (s) => (err += s), stdout: () => {} });
  expect(code).toBe(1);
  expect(err).toMatch(/File "\/lib\/fsm\.py", line \d+, in start/);
  expect(err).toContain("AttributeError: 'O' object has no attribute 'delays'");
});
