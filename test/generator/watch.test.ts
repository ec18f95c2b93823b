// `generate --watch`: regenerates on save, reports a bad spec without writing, and recovers.
import { spawn } from 'node:child_process';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { binPath, copyOfRepo, removeRoot } from './support.ts';

function startWatch(root: string) {
  const child = spawn(process.execPath, [binPath, 'generate', '--watch', '--root', root], { env: { ...process.env, NO_COLOR: '1' } });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  return {
    child,
    mark: () => out.length,
    async waitFor(text: string, from: number) {
      // Up to 15 s: a regeneration renders every diagram, slow on a machine busy with other suites.
      for (let i = 0; i < 300 && !out.slice(from).includes(text); i++) await new Promise((r) => setTimeout(r, 50));
      expect(out.slice(from), `waiting for ${JSON.stringify(text)}`).toContain(text);
    },
  };
}

describe('generate --watch', () => {
  let root: string | undefined;
  afterEach(() => removeRoot(root));

  it("survives editors' atomic saves (a temporary file renamed over the spec) and renamed specs", async () => {
    root = copyOfRepo('watch-atomic');
    const w = startWatch(root);
    try {
      await w.waitFor('watching', 0);
      const spec = join(root, 'spec/websocket.yaml');
      const ts = join(root, 'generated/xstate/websocket.ts');
      const original = readFileSync(spec, 'utf8');
      const atomicSave = (path: string, text: string) => {
        writeFileSync(`${path}.swp`, text);
        renameSync(`${path}.swp`, path);
      };
      // Each save replaces the file: a watch on the old file would see only the first.
      for (const word of ['frame', 'control frame', 'Ping frame now']) {
        const mark = w.mark();
        atomicSave(spec, original.replace('The application asked to send a Ping.', `The application asked to send a ${word}.`));
        await w.waitFor('wrote   generated/xstate/websocket.ts', mark);
        expect(readFileSync(ts, 'utf8')).toContain(`The application asked to send a ${word}.`);
      }
      // Renamed, the spec is still seen, and so are saves of it under its new name.
      const renamed = join(root, 'spec/ws.yaml');
      renameSync(spec, renamed);
      const mark = w.mark();
      atomicSave(renamed, original);
      await w.waitFor('wrote   generated/xstate/websocket.ts', mark);
      expect(readFileSync(ts, 'utf8')).toContain('spec/ws.yaml');
    } finally {
      w.child.kill();
    }
  });

  it('regenerates when a spec is saved, and writes nothing while it is invalid', async () => {
    root = copyOfRepo('watch');
    const { child, mark: at, waitFor } = startWatch(root);
    try {
      await waitFor('watching', 0);
      const spec = join(root, 'spec/websocket.yaml');
      const ts = join(root, 'generated/xstate/websocket.ts');
      const original = readFileSync(spec, 'utf8');

      let mark = at();
      writeFileSync(spec, original.replace('The application asked to send a Ping.', 'The application asked to send a Ping frame.'));
      await waitFor('wrote   generated/xstate/websocket.ts', mark);
      expect(readFileSync(ts, 'utf8')).toContain('The application asked to send a Ping frame.');

      mark = at();
      const before = readFileSync(ts, 'utf8');
      writeFileSync(spec, original.replace('target: open', 'target: opne'));
      await waitFor("unknown state 'opne' (did you mean 'open'?)", mark);
      await waitFor('nothing was written', mark);
      expect(readFileSync(ts, 'utf8')).toBe(before);

      mark = at();
      writeFileSync(spec, original);
      await waitFor('wrote   generated/xstate/websocket.ts', mark);
      expect(readFileSync(ts, 'utf8')).not.toContain('a Ping frame.');
    } finally {
      child.kill();
    }
  });
});
