// Golden-file tests: each folder in test/fixtures/golden/ is a small project root (spec/ and a
// stub runtime-esp8266/) whose generated files are committed under expected/ (the path under
// generated/). The generator must reproduce them byte for byte.
//
// After an intended change to the generator, regenerate them and review the diff:
//
//   UPDATE_GOLDEN=1 npx vitest run test/generator/golden.test.ts
import { describe, expect, it } from 'vitest';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { build, compare, isFresh, type Build } from '../../generator/pipeline.ts';
import { makeRoot, readTree, removeRoot, repoRoot, writeTree } from './support.ts';

const goldenDir = join(repoRoot, 'test/fixtures/golden');
const fixtures = readdirSync(goldenDir, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name)
  .sort();
const update = Boolean(process.env.UPDATE_GOLDEN);

/** generated/micropython/x_fsm.py -> micropython/x_fsm.py */
const expectedPath = (output: string) => output.replace(/^generated\//, '');

function firstDifference(actual: string, expected: string): string {
  const a = actual.split('\n');
  const e = expected.split('\n');
  for (let i = 0; i < Math.max(a.length, e.length); i++) {
    if (a[i] !== e[i]) {
      return `first difference at line ${i + 1}:\n  expected: ${JSON.stringify(e[i] ?? '<end of file>')}\n  actual:   ${JSON.stringify(a[i] ?? '<end of file>')}`;
    }
  }
  return 'the files differ only in bytes that do not show line by line';
}

const hint = 'if the change is intended, run `UPDATE_GOLDEN=1 npx vitest run test/generator/golden.test.ts` and review the diff';

describe('golden files', () => {
  it('has fixtures to check', () => {
    expect(fixtures).toEqual(expect.arrayContaining(['beacon', 'modem', 'turnstile']));
  });

  describe.each(fixtures)('%s', (name) => {
    const root = join(goldenDir, name);
    const expectedDir = join(root, 'expected');

    it('generates exactly the expected files, byte for byte', async () => {
      const { outputs } = await build(root);
      if (update) {
        rmSync(expectedDir, { recursive: true, force: true });
        for (const [path, content] of outputs) {
          const full = join(expectedDir, expectedPath(path));
          mkdirSync(dirname(full), { recursive: true });
          writeFileSync(full, content);
        }
      }
      const expected = readTree(expectedDir);
      const produced = [...outputs.keys()].map(expectedPath).sort();
      expect(produced, `files generated for ${name} vs. ${relative(repoRoot, expectedDir)}/; ${hint}`).toEqual([...expected.keys()].sort());
      for (const [path, content] of outputs) {
        const shown = relative(repoRoot, join(expectedDir, expectedPath(path)));
        const want = expected.get(expectedPath(path))!;
        const same = Buffer.from(content, 'utf8').equals(Buffer.from(want, 'utf8'));
        // toBe on the strings shows vitest's line diff; the message says where and what to do.
        if (!same) expect(content, `${shown} is not what the generator produces; ${firstDifference(content, want)}\n${hint}`).toBe(want);
      }
    });

    it('generates the same bytes every time', async () => {
      const a = await build(root);
      const b = await build(root);
      expect([...b.outputs]).toEqual([...a.outputs]);
    });
  });
});

describe("the repository's own generated/", () => {
  let first: Build;

  it('is what build() produces for the repository (what `generate --check` guards)', async () => {
    first = await build(repoRoot);
    const stale = compare(repoRoot, first.outputs);
    expect(stale, 'generated/ is stale: run `npx wirestate generate`').toEqual({ changed: [], missing: [], orphaned: [] });
    expect(isFresh(stale)).toBe(true);
    const names = first.machines.map((c) => c.machine.name);
    expect(names).toContain('websocket');
    const perMachine = (n: string) => ['dot', 'mmd', 'svg'].map((x) => `generated/diagrams/${n}.${x}`).concat(`generated/micropython/${n}_fsm.py`, `generated/xstate/${n}.ts`);
    expect([...first.outputs.keys()].sort()).toEqual(['generated/diagrams/README.md', ...names.flatMap(perMachine)].sort());
  });

  it('is generated deterministically', async () => {
    const again = await build(repoRoot);
    expect([...again.outputs]).toEqual([...(first ?? (await build(repoRoot))).outputs]);
  });
});

/** Decodes the program a (state, event) cell runs, following encode.ts's layout comment. */
function programOf(b: Build, machine: string, state: string, event: string): number[] {
  const { flat, tables } = b.machines.find((c) => c.machine.name === machine)!;
  const leaf = tables.leafId.get(flat.machine.states.findIndex((s) => s.name === state))!;
  const ne = flat.events.length;
  const p = tables.cell[tables.row[leaf]! * ne + tables.eventId.get(event)!]!;
  if (p === 0) return [];
  const start = tables.off[2 * p]! | (tables.off[2 * p + 1]! << 8);
  const bytes = [tables.prog[start]!];
  let i = start + 1;
  for (let n = 0; n < bytes[0]!; n++) {
    const len = 3 + tables.prog[i + 2]!;
    bytes.push(...tables.prog.slice(i, i + len));
    i += len;
  }
  return bytes;
}

// The golden bytes were reviewed by hand; these spell a few programs out, so a reader can see
// what the layout means without decoding hex.
describe('hand-checked programs', () => {
  const STAY = 0xff;

  it('turnstile: guard, fallback that stays, unless, and reenter on a flat state', async () => {
    const b = await build(join(goldenDir, 'turnstile'));
    // ids: leaves locked 0, unlocked 1, out_of_order 2, retired 3, scrapped 4 (finals last);
    // actions count_coin 0, unlock 1, lock 2, refund 3, alarm 4, log_fault 5; guards fare_paid 0, maintenance 1.
    // locked.coin: [fare_paid] -> unlocked running count_coin, unlock; else stay running count_coin.
    expect(programOf(b, 'turnstile', 'locked', 'coin')).toEqual([2, 0 + 1, 1, 2, 0, 1, 0, STAY, 1, 0]);
    // locked.push: unless maintenance (0x80 | id + 1) stay and alarm; else re-enter locked (lock runs again).
    expect(programOf(b, 'turnstile', 'locked', 'push')).toEqual([2, 0x80 | 2, STAY, 1, 4, 0, 0, 1, 2]);
    // unlocked.coin targets itself without reenter: no exit or entry, just refund, so it stays.
    expect(programOf(b, 'turnstile', 'unlocked', 'coin')).toEqual([1, 0, STAY, 1, 3]);
    expect(programOf(b, 'turnstile', 'out_of_order', 'remove')).toEqual([2, 2, 3, 1, 2, 0, 4, 0]);
    expect(programOf(b, 'turnstile', 'unlocked', 'remove')).toEqual([]);
    const { tables } = b.machines[0]!;
    expect(tables.firstFinal).toBe(3);
  });

  it('modem: exits innermost first, entries outermost first, timers after actions', async () => {
    const b = await build(join(goldenDir, 'modem'));
    // actions: pick_up 0, dial_number 1, stop_dialing 2, report_busy 3, raise_dtr 4, drop_dtr 5,
    // buffer 6, transmit 7, flush 8, ping 9, hang_up 10 (NA = 11); timers dial_timeout 0,
    // train_timeout 1, keepalive 2: arm = 11 + 2t, cancel = 12 + 2t.
    // leaves: on_hook 0, dialing 1, training 2, quiet 3, receiving 4, sending 5, unplugged 6.
    const arm = (t: number) => 11 + 2 * t;
    const cancel = (t: number) => 12 + 2 * t;
    // Starting: nothing but the initial leaf.
    // training.trained [line_ok] -> online: exit training (cancel train_timeout), connecting
    // (stop_dialing, cancel dial_timeout); enter online (raise_dtr, arm keepalive), quiet.
    // Else re-enter training: cancel and re-arm its own timer, connecting stays.
    expect(programOf(b, 'modem', 'training', 'trained')).toEqual([
      2,
      1, 3, 5, cancel(1), 2, cancel(0), 4, arm(2),
      0, 2, 2, cancel(1), arm(1),
    ]);
    // dial_timeout is handled by the compound state connecting, from either child.
    expect(programOf(b, 'modem', 'dialing', 'dial_timeout')).toEqual([1, 0, 0, 4, 2, cancel(0), 3, 10]);
    expect(programOf(b, 'modem', 'training', 'dial_timeout')).toEqual([1, 0, 0, 5, cancel(1), 2, cancel(0), 3, 10]);
    // training.train_timeout -> dialing: a sibling, so connecting is neither exited nor entered.
    expect(programOf(b, 'modem', 'training', 'train_timeout')).toEqual([1, 0, 1, 2, cancel(1), 1]);
    // online.keepalive re-enters online from receiving: exit receiving, busy (flush), online
    // (drop_dtr, cancel keepalive), ping, enter online (raise_dtr, arm keepalive) and quiet.
    expect(programOf(b, 'modem', 'receiving', 'keepalive')).toEqual([1, 0, 3, 6, 8, 5, cancel(2), 9, 4, arm(2)]);
    // online.retrain: unless line_ok -> training (leave online, enter connecting but not its
    // initial child); guard line_ok -> online without reenter: only busy is left, quiet entered.
    expect(programOf(b, 'modem', 'sending', 'retrain')).toEqual([
      2,
      0x80 | 1, 2, 6, 8, 5, cancel(2), 0, arm(0), arm(1),
      1, 3, 1, 8,
    ]);
    // online.send -> sending from sending itself: online stays, busy is left and re-entered.
    expect(programOf(b, 'modem', 'sending', 'send')).toEqual([1, 0, 5, 2, 8, 7]);
    // receiving.data targets itself without reenter: buffer only, staying. busy's unguarded data
    // handler comes after it and can never be taken, so it is not in the table.
    expect(programOf(b, 'modem', 'receiving', 'data')).toEqual([1, 0, STAY, 1, 6]);
    // sending has no data handler of its own: busy's targetless one stays in sending.
    expect(programOf(b, 'modem', 'sending', 'data')).toEqual([1, 0, STAY, 1, 6]);
    // sending.sent [more_queued] re-enters sending (transmit again); else quiet (busy exits).
    expect(programOf(b, 'modem', 'sending', 'sent')).toEqual([2, 2, 5, 1, 7, 0, 3, 1, 8]);
  });

  it('beacon: timer steps with no actions (NA = 0)', async () => {
    const b = await build(join(goldenDir, 'beacon'));
    // dark.blink -> lit: cancel blink (1), arm blink (0).
    expect(programOf(b, 'beacon', 'dark', 'blink')).toEqual([1, 0, 1, 2, 1, 0]);
    expect(programOf(b, 'beacon', 'held', 'switch_on')).toEqual([1, 0, 1, 1, 0]);
    expect(programOf(b, 'beacon', 'held', 'blink')).toEqual([]);
  });
});

/** (state, event) pairs that have candidate transitions but whose CELL says "ignored". */
function droppedCells(b: Build): string[] {
  return b.machines.flatMap(({ flat, tables }) =>
    flat.candidates.flatMap((byEvent, leaf) =>
      byEvent.flatMap((cands, e) =>
        cands.length > 0 && tables.cell[tables.row[leaf]! * flat.events.length + e] === 0
          ? [`${flat.machine.name}: ${flat.machine.states[flat.leaves[leaf]!]!.name}.${flat.events[e]}`]
          : [],
      ),
    ),
  );
}

describe('every transition has a program', () => {
  it.each([...fixtures.map((f) => `test/fixtures/golden/${f}`), 'the repository'])('%s', async (where) => {
    expect(droppedCells(await build(where === 'the repository' ? repoRoot : join(repoRoot, where)))).toEqual([]);
  });

  // BUG: encode.ts stores identical programs once, and program 0 is the start program; CELL 0
  // means "ignored". A transition whose bytes equal the start program's (here on.flip -> off:
  // [1, 0, 0, 0]) gets program 0 and is dropped: fsm.fire() ignores the event on the device.
  it('also when its bytes equal the start program', async () => {
    const root = makeRoot('toggle');
    try {
      writeTree(root, {
        'spec/toggle.yaml': `machine: toggle
doc: Two states and one event.
implementation: toggle.py:Toggle
events:
  flip: Flip.
guards: {}
actions: {}
initial: off
states:
  off:
    doc: Off.
    on:
      flip: on
  on:
    doc: On.
    on:
      flip: off
`,
        'runtime-esp8266/toggle.py': 'class Toggle:\n    pass\n',
      });
      const b = await build(root);
      expect(programOf(b, 'toggle', 'off', 'flip')).toEqual([1, 0, 1, 0]);
      expect(droppedCells(b)).toEqual([]);
      expect(programOf(b, 'toggle', 'on', 'flip')).toEqual([1, 0, 0, 0]);
    } finally {
      removeRoot(root);
    }
  });
});
