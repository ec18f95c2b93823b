// `generate --fix`: the spec's ids moved (an action moved to the top of its list renumbers every
// action before it); --fix rewrites the runtime's id constants to the new values and nothing else.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cli, copyOfRepo, readTree, removeRoot } from './support.ts';

let root: string;
beforeAll(() => {
  root = copyOfRepo('fix');
});
afterAll(() => removeRoot(root));

const CLOSE_TCP = `  close_tcp: >
    Close the TCP connection. If no Close frame was received (nor sent for a failure), the
    close code is 1006: the connection closed abnormally (7.1.5).
`;

it('rewrites only the values of the moved ids, after which the specs generate', async () => {
  const spec = join(root, 'spec/websocket.yaml');
  const text = readFileSync(spec, 'utf8');
  expect(text).toContain(CLOSE_TCP);
  writeFileSync(spec, text.replace(CLOSE_TCP, '').replace('actions:\n', `actions:\n${CLOSE_TCP}`));
  const before = readTree(join(root, 'runtime-esp8266'));

  const stale = await cli('generate', '--check', '--root', root);
  expect(stale.code).toBe(1);
  const moved = stale.stderr.split('\n').filter((l) => l.includes('error: _A_'));
  expect(moved.length, stale.stderr).toBeGreaterThan(10);

  const fixed = await cli('generate', '--fix', '--root', root);
  expect(fixed.stderr).toBe('');
  expect(fixed.code).toBe(0);
  expect(fixed.stdout).toMatch(/fixed {3}runtime-esp8266\/uwebsockets\/protocol\.py: \d+ ids/);

  // Line for line the same files, but for the values of const() ids.
  const after = readTree(join(root, 'runtime-esp8266'));
  expect([...after.keys()]).toEqual([...before.keys()]);
  let changed = 0;
  for (const [path, source] of before) {
    const old = source.split('\n');
    const now = after.get(path)!.split('\n');
    expect(now.length, path).toBe(old.length);
    old.forEach((line, i) => {
      if (line === now[i]) return;
      changed++;
      expect(now[i]!.replace(/const\(\d+\)/, ''), `${path}:${i + 1}`).toBe(line.replace(/const\(\d+\)/, ''));
      expect(line, `${path}:${i + 1}`).toMatch(/^_A_[A-Z0-9_]+ = const\(\d+\)/);
    });
  }
  expect(changed).toBe(moved.length);
  expect(after.get('uwebsockets/closing.py')).toMatch(/^_A_CLOSE_TCP = const\(0\)/m);
  expect((await cli('generate', '--check', '--root', root)).code).toBe(0);
});

it('changes nothing when the specs have errors, and says so', async () => {
  const spec = join(root, 'spec/websocket.yaml');
  writeFileSync(spec, readFileSync(spec, 'utf8').replace('target: open', 'target: opne'));
  const before = readTree(join(root, 'runtime-esp8266'));
  const r = await cli('generate', '--fix', '--root', root);
  expect(r.code).toBe(1);
  expect(r.stderr).toContain("unknown state 'opne'");
  expect(r.stderr).toContain('no id was changed');
  expect(readTree(join(root, 'runtime-esp8266'))).toEqual(before);
});
