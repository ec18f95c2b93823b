// `wirestate test` on a project of one's own: both forms of its machines on the simulated
// device, coverage printed; exit 1 when the tables disagree with the XState machine.
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { cli, lampSpec, makeRoot, removeRoot, writeTree } from './support.ts';

const SPEC = lampSpec('lamp.py:Lamp');

const RUNTIME = `from fsm import const

_A_LIGHT = const(0)
_A_DARK = const(1)
_G_DAYLIGHT = const(0)


class Lamp:
    def guard(self, g):
        return g == _G_DAYLIGHT and False

    def act(self, a):
        if a == _A_LIGHT or a == _A_DARK:
            pass
`;

let root: string;
beforeAll(() => {
  root = makeRoot('test-command');
  writeTree(root, { 'spec/lamp.yaml': SPEC, 'runtime-esp8266/lamp.py': RUNTIME });
});
afterAll(() => removeRoot(root));

it('checks both forms of every machine and prints their coverage, exit 0', async () => {
  const { code, stdout, stderr } = await cli('test', '--root', root, '--runs', '50');
  expect(stderr).toBe('');
  expect(stdout).toContain('lamp: 2 shortest paths');
  expect(stdout).toMatch(/lamp: (\d+) of \1 table mutants caught/);
  expect(stdout).toContain('lamp: 50 random sequences (seed 1): all agree');
  expect(stdout).toContain('lamp: coverage: states 2/2, transitions 4/4');
  expect(stdout).toContain('wirestate test: 1 machine, both forms agree');
  expect(code).toBe(0);
});

it('refuses a machine the specs do not define, exit 2', async () => {
  const { code, stderr } = await cli('test', 'lump', '--root', root);
  expect(code).toBe(2);
  expect(stderr).toContain('no machine named lump (the specs define lamp)');
});

// Last: it reloads the modules the command uses, with one of them replaced.
it('exits 1 naming the step where the tables and the XState machine disagree', async () => {
  // A generator fault: the MicroPython backend writes a table with one wrong step.
  vi.resetModules();
  vi.doMock('../../generator/backends/micropython.ts', async (load) => {
    const real = await load<typeof import('../../generator/backends/micropython.ts')>();
    const { progMutants } = await import('../../generator/verify/mutants.ts');
    return {
      ...real,
      emitMicropython: (...[flat, tables]: Parameters<typeof real.emitMicropython>) => {
        const wrong = progMutants(tables, flat.leaves.length, flat.machine.actions.length + 2 * flat.machine.timers.length).find((x) => x.program > 0)!;
        return real.emitMicropython(flat, { ...tables, prog: wrong.prog });
      },
    };
  });
  try {
    const { code, stdout, stderr } = await cli('test', '--root', root, '--runs', '20');
    expect(stdout).toContain('DISAGREE');
    expect(stderr).toContain('lamp: the two forms differ at');
    expect(stdout).toContain('wirestate test: FAILED');
    expect(code).toBe(1);
  } finally {
    vi.doUnmock('../../generator/backends/micropython.ts');
  }
});
