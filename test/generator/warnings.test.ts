// Warnings and errors: a sketch's loose ends (an unused declaration, a missing doc) are printed
// and generation goes on, exit 0; --strict makes them errors. A spec file that defines no
// machine is an error: generating from it would delete its machines' modules.
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cli, makeRoot, readTree, removeRoot, writeTree } from './support.ts';

const SPEC = `machine: lamp
doc: A lamp.
implementation: lamp.py:Lamp
events:
  toggle: The switch was pressed.
  spare: Declared, handled nowhere.
actions:
  light: Turn the light on.
initial: off
states:
  off:
    doc: Dark.
    on: {toggle: on}
  on:
    entry: light
    on: {toggle: off}
`;

const RUNTIME = `from fsm import const

_A_LIGHT = const(0)


class Lamp:
    def act(self, a):
        if a == _A_LIGHT:
            pass
`;

let root: string | undefined;
afterEach(() => removeRoot(root));

function project(spec = SPEC): string {
  root = makeRoot('warnings');
  writeTree(root, { 'spec/lamp.yaml': spec, 'runtime-esp8266/lamp.py': RUNTIME });
  return root;
}

describe('warnings', () => {
  it('are printed, and generate writes its files, exit 0', async () => {
    const r = project();
    const { code, stderr } = await cli('generate', '--root', r);
    expect(stderr).toBe(
      [
        "spec/lamp.yaml:6:3: warning: event 'spare' is declared but no state handles it",
        "spec/lamp.yaml:14:3: warning: state 'on' has no doc: say in a sentence what it is",
        'wirestate generate: 2 warnings (--strict makes them errors)',
        '',
      ].join('\n'),
    );
    expect(code).toBe(0);
    expect(existsSync(join(r, 'generated/micropython/lamp_fsm.py'))).toBe(true);
    expect((await cli('generate', '--check', '--root', r)).code).toBe(0);
  });

  it('are errors with --strict: exit 1, nothing written', async () => {
    const r = project();
    const { code, stderr } = await cli('generate', '--strict', '--root', r);
    expect(stderr).toContain("spec/lamp.yaml:6:3: error: event 'spare' is declared but no state handles it\n");
    expect(stderr).toContain("spec/lamp.yaml:14:3: error: state 'on' has no doc");
    expect(stderr).toContain('wirestate generate: 2 errors; nothing was written');
    expect(code).toBe(1);
    expect(readTree(join(r, 'generated'))).toEqual(new Map());
    expect((await cli('generate', '--check', '--strict', '--root', r)).code).toBe(1);
  });
});

describe('a spec file that defines no machine', () => {
  it.each([
    ['empty', ''],
    ['comments only', '# yaml-language-server: $schema=wirestate.schema.json\n# to do\n'],
  ])('(%s) is an error, and the generated files stay', async (_, text) => {
    const r = project(SPEC.replace('  spare: Declared, handled nowhere.\n', '').replace('  on:\n    entry', '  on:\n    doc: Lit.\n    entry'));
    expect(await cli('generate', '--strict', '--root', r)).toMatchObject({ code: 0, stderr: '' });
    const generated = readTree(join(r, 'generated'));
    writeFileSync(join(r, 'spec/lamp.yaml'), text);
    const { code, stderr } = await cli('generate', '--root', r);
    expect(stderr).toContain('spec/lamp.yaml:1:1: error: spec/lamp.yaml defines no machine (it is empty or only comments)');
    expect(code).toBe(1);
    expect(readTree(join(r, 'generated'))).toEqual(generated);
  });
});
