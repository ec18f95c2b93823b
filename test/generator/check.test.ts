// `wirestate generate --check` and `generate` through the real CLI, on temp copies of the
// repository's spec/, runtime-esp8266/ and generated/ (templates come from the package, so the
// copies have none).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { copyOfRepo, readTree, removeRoot, repoRoot, runCli, writeTree } from './support.ts';

const PY = 'generated/micropython/websocket_fsm.py';
const TS = 'generated/xstate/websocket.ts';
/** Every file the repository's specs generate (tables, XState machines, diagrams). */
const FILES = readTree(join(repoRoot, 'generated')).size;

let r: string;
beforeAll(() => {
  r = copyOfRepo('check');
});
afterAll(() => removeRoot(r));

/** Runs the CLI from a directory that is not the project, so only --root can point at it. */
const cli = (...args: string[]) => runCli(args, tmpdir());

// One root, in order: fresh, then made stale three ways, then regenerated.
describe('generate --check, then generate', () => {
  it('--check --strict exits 0 when generated/ is fresh (the specs here have no warnings)', async () => {
    const { code, stdout, stderr } = await cli('generate', '--check', '--strict', '--root', r);
    expect(stderr).toBe('');
    expect(stdout).toBe(`generated/ is up to date (${FILES} files)\n`);
    expect(code).toBe(0);
  });

  it('--check exits 1 listing a changed, a missing and orphaned files, and writes nothing', async () => {
    appendFileSync(join(r, PY), '# a hand edit\n');
    rmSync(join(r, TS));
    writeTree(r, {
      'generated/micropython/old_fsm.py': '# from a spec that was deleted\n',
      'generated/xstate/nested/old.ts': 'export {};\n',
      // Not in a folder the generator manages: none of its business.
      'generated/README.md': 'notes\n',
    });
    const before = readTree(join(r, 'generated'));
    const { code, stdout, stderr } = await cli('generate', '--check', '--root', r);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toBe(
      [
        'generated/ is stale; run `npx wirestate generate`:',
        `  changed  ${PY}`,
        `  missing  ${TS}`,
        '  orphaned generated/micropython/old_fsm.py',
        '  orphaned generated/xstate/nested/old.ts',
        '',
      ].join('\n'),
    );
    expect(readTree(join(r, 'generated'))).toEqual(before);
  });

  it('generate rewrites what is stale and removes the orphans, and nothing else', async () => {
    const { code, stdout, stderr } = await cli('generate', '--root', r);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toMatch(/^websocket +spec\/websocket\.yaml: \d+ states \(\d+ atomic\), \d+ events, \d+ transitions -> table \d+ bytes/m);
    const actions = stdout.split('\n').filter((l) => /^  (wrote|removed)/.test(l)).sort();
    expect(actions).toEqual([
      '  removed generated/micropython/old_fsm.py',
      '  removed generated/xstate/nested/old.ts',
      `  wrote   ${PY}`,
      `  wrote   ${TS}`,
    ]);
    expect(stdout).toMatch(new RegExp(`\\ngenerated ${FILES} files in \\d+ ms\\n$`));

    // The repository's generated files again, and the file generate does not manage; no
    // temporary file left from the write-and-rename.
    const expected = new Map([...readTree(join(repoRoot, 'generated')), ['README.md', 'notes\n']]);
    const after = readTree(join(r, 'generated'));
    expect([...after.keys()].sort()).toEqual([...expected.keys()].sort());
    for (const [path, content] of expected) expect(after.get(path), path).toBe(content);
  });

  it('a second run finds everything up to date', async () => {
    const [check, again] = await Promise.all([cli('generate', '--check', '--root', r), cli('generate', '--root', r)]);
    expect(check.code).toBe(0);
    expect(check.stdout).toBe(`generated/ is up to date (${FILES} files)\n`);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(new RegExp(`\\ngenerated ${FILES} files in \\d+ ms \\(all up to date\\)\\n$`));
    expect(again.stdout).not.toMatch(/wrote|removed/);
  });
});
