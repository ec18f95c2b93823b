// Heap of the check emit() runs on its data (runtime-esp8266/usocketio/strict.py), measured in
// the MicroPython VM of the simulated ESP8266: the walk allocates an iterator per container it
// enters and nothing per item, and keeps nothing. Heap figures are deterministic, so they are
// budgets here. (In that VM gc.collect() runs when control returns to JavaScript: each figure
// is read in a top-level call of its own.)
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimDevice, TOOLKIT_ROOT } from '../../generator/sim/device.ts';

describe('usocketio.strict.walk heap on the simulated ESP8266', () => {
  let dev: SimDevice;
  beforeAll(async () => {
    const strict = fs.readFileSync(path.join(TOOLKIT_ROOT, 'runtime-esp8266', 'usocketio', 'strict.py'), 'utf8');
    dev = await SimDevice.boot({ files: { 'usocketio/__init__.py': '', 'usocketio/strict.py': strict } });
    await dev.exec(
      [
        'import gc',
        'from usocketio.strict import walk',
        "one = ['e', 1]",
        "ints = ['e'] + list(range(2000))",
        "mixed = ['e'] + [0.5, 'text', None, True, False, -7, b'\\x00'] * 300",
        "dicts = ['e', {'k%d' % i: i * 0.25 for i in range(300)}]",
        'def run(x):',
        '    global got',
        '    got = walk(x)',
      ].join('\n'),
    );
  });
  afterAll(() => dev?.close());

  /** Bytes allocated by walk(<name>) with the collector off, and bytes kept after a collection. */
  async function figures(name: string): Promise<{ allocated: number; retained: number }> {
    await dev.exec('gc.collect()');
    const before = await dev.eval<number>('gc.mem_alloc()');
    await dev.exec(`gc.disable()\nrun(${name})`);
    const allocated = (await dev.eval<number>('gc.mem_alloc()')) - before;
    await dev.exec('gc.enable()\ngot = None');
    await dev.exec('gc.collect()');
    const retained = (await dev.eval<number>('gc.mem_alloc()')) - before;
    return { allocated, retained };
  }

  it('allocates nothing per item: 2000 items of every kind cost what 1 does; nothing is kept', async () => {
    await figures('one'); // the first call's own interning
    const base = await figures('one');
    for (const name of ['ints', 'mixed']) {
      const f = await figures(name);
      console.log(`walk(${name}): allocated ${f.allocated} B (one item: ${base.allocated} B), retained ${f.retained} B`);
      expect(f.allocated, name).toBe(base.allocated);
      expect(f.retained, name).toBeLessThanOrEqual(0);
    }
    // A dict: one more iterator for its keys and one for its values, whatever its size.
    const d = await figures('dicts');
    console.log(`walk(dicts): allocated ${d.allocated} B, retained ${d.retained} B`);
    expect(d.allocated - base.allocated).toBeLessThanOrEqual(96);
    expect(d.retained).toBeLessThanOrEqual(0);
    expect(await dev.eval<boolean>('walk(mixed)')).toBe(true);
  });
});
