// `wirestate stub`: a new runtime module that the drift check accepts as it is, and an update
// after the spec grew (an action and a guard inserted first: every later id moves) that keeps the
// user's code and again passes the drift check.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cli, copyOfRepo, lampSpec, makeRoot, readTree, removeRoot, writeTree } from './support.ts';

const SPEC = lampSpec('home/lamp.py:Lamp');

let root: string;
const module = () => join(root, 'runtime-esp8266/home/lamp.py');
beforeAll(() => {
  root = makeRoot('stub');
  writeTree(root, { 'spec/lamp.yaml': SPEC });
});
afterAll(() => removeRoot(root));

it('writes a module the drift check accepts: ids, the class, act() and guard() for every id, docs as comments', async () => {
  expect((await cli('generate', '--root', root)).stderr).toContain('implementation module runtime-esp8266/home/lamp.py does not exist');
  const r = await cli('stub', 'lamp', '--root', root);
  expect(r).toMatchObject({ code: 0, stderr: '' });
  expect(r.stdout).toContain('wrote   runtime-esp8266/home/lamp.py');
  const py = readFileSync(module(), 'utf8');
  for (const line of ['_A_LIGHT = const(0)', '_A_DARK = const(1)', '_G_DAYLIGHT = const(0)', '_E_TOGGLE = const(0)', '_T_AUTO_OFF = const(0)', '_S_ON = const(1)', 'class Lamp:', '        self.delays = list(M.TIMER_MS)', '        if a == _A_LIGHT:', '            # light: Turn the light on.', '        elif a == _A_DARK:', '        if g == _G_DAYLIGHT:', '            # daylight: The sun is up.']) {
    expect(py).toContain(line);
  }
  expect(py).not.toContain('"""');
  expect(await cli('generate', '--strict', '--root', root)).toMatchObject({ code: 0, stderr: '' });
});

it('updates it after the spec grew, keeping the code written in it', async () => {
  writeFileSync(module(), readFileSync(module(), 'utf8').replace("            # light: Turn the light on.\n            pass  # to do", "            # light: Turn the light on.\n            self.lit = True  # mine"));
  const spec = join(root, 'spec/lamp.yaml');
  writeFileSync(
    spec,
    SPEC.replace('actions:\n', 'actions:\n  blink: Flash once.\n')
      .replace('guards:\n', 'guards:\n  night: It is dark.\n')
      .replace('    entry: light\n', '    entry: [blink, light]\n')
      .replace('        - guard: daylight\n', '        - guard: daylight\n        - guard: night\n          target: on\n'),
  );
  const stale = await cli('generate', '--root', root);
  expect(stale.code).toBe(1);
  expect(stale.stderr).toContain("does not implement action 'blink'");

  const r = await cli('stub', 'lamp', '--root', root);
  expect(r).toMatchObject({ code: 0, stderr: '' });
  expect(r.stdout).toContain('updated runtime-esp8266/home/lamp.py: id block rewritten; act(): branches for blink; guard(): branches for night');
  const py = readFileSync(module(), 'utf8');
  expect(py).toContain('            self.lit = True  # mine');
  expect(py).toContain('_A_BLINK = const(0)');
  expect(py).toContain('_A_LIGHT = const(1)');
  expect(py).toContain('        if a == _A_BLINK:\n            # blink: Flash once.\n            return  # to do\n');
  expect(await cli('generate', '--strict', '--root', root)).toMatchObject({ code: 0, stderr: '' });
  expect((await cli('stub', 'lamp', '--root', root)).stdout).toBe('runtime-esp8266/home/lamp.py is up to date\n');
});

it('refuses an unknown machine, exit 2', async () => {
  const r = await cli('stub', 'lump', '--root', root);
  expect(r.code).toBe(2);
  expect(r.stderr).toContain('no machine named lump (the specs define lamp)');
});

it('puts two machines in one module when their specs say so, each with its own tables', async () => {
  const two = makeRoot('stub-two');
  try {
    writeTree(two, {
      'spec/pair.yaml': `machine: alpha
doc: A.
implementation: both.py:Alpha
events: {go: Go.}
actions: {hi: Hi.}
initial: s
states:
  s: {doc: S., on: {go: {target: t, actions: hi}}}
  t: {doc: T., on: {go: s}}
---
machine: beta
doc: B.
implementation: both.py:Beta
events: {tick: Tick., tock: Tock.}
actions: {ho: Ho.}
initial: u
states:
  u: {doc: U., on: {tick: {target: v, actions: ho}}}
  v: {doc: V., on: {tock: u}}
`,
    });
    expect((await cli('stub', 'alpha', '--root', two)).code).toBe(0);
    expect((await cli('stub', 'beta', '--root', two)).stdout).toBe('updated runtime-esp8266/both.py: id block rewritten; class Beta added\n');
    const py = readFileSync(join(two, 'runtime-esp8266/both.py'), 'utf8');
    expect(py).toContain('import alpha_fsm as M\nimport beta_fsm\n');
    expect(py).toContain('        start(beta_fsm, self)');
    expect(await cli('generate', '--strict', '--root', two)).toMatchObject({ code: 0, stderr: '' });
    for (const m of ['alpha', 'beta']) expect((await cli('stub', m, '--root', two)).stdout).toBe('runtime-esp8266/both.py is up to date\n');
  } finally {
    removeRoot(two);
  }
});

it("leaves a complete hand-written runtime as it is: this repository's, machine by machine", async () => {
  const copy = copyOfRepo('stub-repo', ['spec', 'runtime-esp8266']);
  try {
    const before = readTree(join(copy, 'runtime-esp8266'));
    for (const m of ['websocket', 'engineio', 'engineio_heartbeat', 'socketio_manager', 'socketio_namespace']) {
      const r = await cli('stub', m, '--root', copy);
      expect(r.stdout, m).toMatch(/ is up to date\n$/);
    }
    expect(readTree(join(copy, 'runtime-esp8266'))).toEqual(before);
  } finally {
    removeRoot(copy);
  }
});
