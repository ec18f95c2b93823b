// `wirestate init`: a project that generates, tests and runs as it is, whose spec finds its
// schema from where it is, and whose existing files are kept.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { cli, makeRoot, readTree, removeRoot, repoRoot } from './support.ts';
import { loadLayout } from '../../generator/config/config.ts';
import { runScript } from '../../generator/sim/device.ts';

let root: string | undefined;
afterEach(() => removeRoot(root));

it('scaffolds a project that generates with no warning, passes `test` and runs main.py', async () => {
  root = makeRoot('init');
  const r = await cli('init', root);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  for (const f of ['wirestate.config.json', 'spec/sntp.yaml', 'main.py', 'runtime-esp8266/sntp.py', 'package.json']) expect(r.stdout).toContain(`wrote   ${f}\n`);

  expect(loadLayout(root)).toMatchObject({ spec: 'spec', runtime: 'runtime-esp8266', generated: 'generated', source: 'wirestate.config.json' });
  const config = JSON.parse(readFileSync(join(root, 'wirestate.config.json'), 'utf8')) as { $schema: string };
  expect(existsSync(join(root, config.$schema)), config.$schema).toBe(true);
  const schemaLine = /^# yaml-language-server: \$schema=(.+)$/m.exec(readFileSync(join(root, 'spec/sntp.yaml'), 'utf8'))![1]!;
  expect(join(root, 'spec', schemaLine)).toBe(join(repoRoot, 'spec/wirestate.schema.json'));
  expect(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).scripts).toMatchObject({ generate: 'wirestate generate', deploy: 'wirestate deploy --main main.py', start: 'wirestate run main.py' });

  expect(await cli('generate', '--strict', '--root', root)).toMatchObject({ code: 0, stderr: '' });
  const t = await cli('test', '--runs', '20', '--root', root);
  expect(t.stdout).toContain('wirestate test: 1 machine, both forms agree');
  expect(t.code).toBe(0);

  let out = '';
  const fsm = { '/lib/fsm.py': readFileSync(join(repoRoot, 'runtime-esp8266/fsm.py'), 'utf8') };
  expect(await runScript(join(root, 'main.py'), { root, files: fsm, stdout: (s) => (out += s) })).toBe(0);
  expect(out).toBe('sntp machine in state 0\nafter sync: 1\n');
});

it('keeps every file that exists, and the scripts a package.json has', async () => {
  root = makeRoot('init-again');
  writeFileSync(join(root, 'package.json'), JSON.stringify({ name: 'mine', scripts: { start: 'node server.js' } }));
  writeFileSync(join(root, 'main.py'), 'print("mine")\n');
  const first = await cli('init', root);
  expect(first.stdout).toContain('kept    main.py (exists)');
  expect(first.stdout).toContain('package.json scripts kept as they were: start');
  expect(readFileSync(join(root, 'main.py'), 'utf8')).toBe('print("mine")\n');
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  expect(pkg).toMatchObject({ name: 'mine', scripts: { start: 'node server.js', generate: 'wirestate generate' } });

  const before = readTree(root);
  const again = await cli('init', root);
  expect(again.code).toBe(0);
  expect(again.stdout).not.toContain('wrote');
  expect(readTree(root)).toEqual(before);
});
