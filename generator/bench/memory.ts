// Figures for `npm run bench`: the memory jobs of issue 9 (generator/bench/jobs.ts) on the
// simulated ESP8266, from .py and from .mpy, and what compiling each runtime module costs.
// Heap figures are deterministic up to how many step() calls a Socket.IO phase takes.
import { JOBS, compileFigures, runJobOn, startJobServers } from './jobs.ts';

const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;

export async function memoryBench(root: string): Promise<void> {
  const servers = await startJobServers();
  try {
    for (const job of JOBS) {
      console.log(job.name);
      let py, mpy;
      try {
        [py, mpy] = [await runJobOn(root, job, servers, false), await runJobOn(root, job, servers, true)];
      } catch (e) {
        console.log(`  failed: ${(e as Error).message.split('\n').pop()}\n`);
        continue;
      }
      console.log(`  ${'step'.padEnd(38)} ${'runs'.padStart(4)}  ${'live'.padStart(9)} ${'allocated'.padStart(9)} ${'freed'.padStart(9)} ${'names'.padStart(5)} ${'pools'.padStart(7)} ${'bound'.padStart(9)} ${'largest'.padStart(9)}  (.py; .mpy bound)`);
      for (const [i, s] of py.steps.entries()) {
        const m = mpy.steps[i];
        console.log(`  ${s.label.padEnd(38)} ${String(s.runs).padStart(4)}  ${kb(s.live).padStart(9)} ${kb(s.allocated).padStart(9)} ${kb(s.freed).padStart(9)} ${String(s.names).padStart(5)} ${kb(s.pools).padStart(7)} ${kb(s.bound).padStart(9)} ${kb(s.largestBlock).padStart(9)}  ${m ? kb(m.bound) : ''}`);
      }
      console.log(`  free heap needed, at most (bound): ${kb(py.bound)} from .py, ${kb(mpy.bound)} from .mpy`);
      console.log(`  largest allocation (measured):     ${py.largestBlock} B from .py, ${mpy.largestBlock} B from .mpy`);
      console.log(`  retained after close (measured, the board's qstr pools modelled): ${kb(py.retained)} from .py, ${kb(mpy.retained)} from .mpy\n`);
    }
  } finally {
    await servers.close();
  }
  console.log('Compiling each runtime module from .py, alone (peak = allocated + freed)');
  for (const c of await compileFigures(root)) {
    console.log(`  ${c.path.padEnd(38)} ${String(c.size).padStart(6)} B source  peak ${kb(c.peak).padStart(8)}  (kept or garbage ${kb(c.allocated)}, freed ${kb(c.freed)}), largest block ${c.largestBlock} B`);
  }
}
