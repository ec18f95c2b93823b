// What deploying precompiled modules saves: the heap an import allocates and retains on the
// simulated device from .py (compiled on the device) and from .mpy (as `deploy` sends them by
// default). Heap bytes in this VM are deterministic; the README's table has the figures.
import { describe, expect, it } from 'vitest';
import { importFigures, importPeak } from '../../generator/sim/heap.ts';
import { repoRoot } from './support.ts';

describe('.py or .mpy: heap of an import on the simulated device', () => {
  for (const module of ['uwebsockets.client', 'usocketio.client']) {
    it(`${module}: from .mpy the import's peak is at least 30% lower (no compiling) and it retains less`, async () => {
      const py = await importFigures(repoRoot, module, false);
      const mpy = await importFigures(repoRoot, module, true);
      expect(await importPeak(repoRoot, module, true)).toBeLessThan((await importPeak(repoRoot, module, false)) * 0.7);
      expect(mpy.retained).toBeLessThan(py.retained);
    });
  }
});
