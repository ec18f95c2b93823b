// Differential tests: for every spec in spec/, the generated MicroPython tables (run by
// runtime-esp8266/fsm.py in the simulated VM) and the generated XState machine must do the same
// thing for the same events: same atomic state, same ordered actions and timer operations, and
// the same answer to "was the event handled" at every step, start included.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { SimDevice, TOOLKIT_ROOT as root } from '../../generator/sim/device.ts';
import { build, compare } from '../../generator/pipeline.ts';
import { ancestry } from '../../generator/ir/model.ts';
import {
  atomicName,
  compareRuns,
  deviceFiles,
  installHarness,
  loadMachines,
  pathSuite,
  runMicroPython,
  runXState,
  xstateSnapshotAfter,
  xstateStep,
  type MachineUnderTest,
} from '../../generator/verify/differential.ts';
import { checkMutants, checkPaths } from '../../generator/verify/checks.ts';

/** Fixed so that a failure reproduces; override with WIRESTATE_DIFF_SEED to explore. */
const SEED = Number(process.env.WIRESTATE_DIFF_SEED ?? 0x5eed);
const RUNS = 300;
const MAX_LENGTH = 30;

const machines = await loadMachines();
let dev: SimDevice;

beforeAll(async () => {
  dev = await SimDevice.boot({ files: deviceFiles(machines) });
  await installHarness(dev, machines);
});

afterAll(async () => {
  await dev?.close();
});

it('finds the specs', () => {
  expect(machines.map((m) => m.name)).toContain('websocket');
});

it('tests the generated files the specs produce today', async () => {
  // Both forms are read from generated/, the ids from compiling the spec: stale files would make
  // every difference below misleading.
  const s = compare(root, (await build(root)).outputs);
  expect(s, 'run `npx wirestate generate`').toEqual({ changed: [], missing: [], orphaned: [] });
});

describe.each(machines.map((m) => [m.name, m] as const))('%s', (_name, mut) => {
  const suite = pathSuite(mut);
  const isFinal = (state: string) => mut.compiled.machine.states.some((s) => s.name === state && s.final);

  it('agrees on start and on every shortest path, each extended by every event and guard outcome', async () => {
    const { failures, reached, steps } = await checkPaths(dev, mut, suite);
    console.log(
      `${mut.name}: ${suite.prefixes.length} shortest paths, each alone and extended by each of ${suite.variants.length} event variants: ` +
        `${suite.sequences.length} sequences, ${steps} steps compared, ${failures.length} differing`,
    );
    expect(failures.join('\n\n')).toBe('');
    // The traversal must have reached every atomic state the tables have.
    const { flat, machine } = mut.compiled;
    expect([...reached].sort()).toEqual(flat.leaves.map((l) => machine.states[l]!.name).sort());
  });

  it('notices every single-fault mutant of the MicroPython tables (harness check)', async () => {
    const { total, survivors, runs } = await checkMutants(dev, mut, suite);
    console.log(`${mut.name}: ${total - survivors.length} of ${total} table mutants told apart from the XState machine (${runs} mutant runs)`);
    expect(survivors).toEqual([]);
  });

  it('xstate form: the `after` event of an armed timer does what the timer event does', () => {
    // The suites fire timer events directly; this checks the XState wiring between a state's
    // `after` entry and its timer's event, in every reachable state.
    const m = mut.compiled.machine;
    const failures: string[] = [];
    let checked = 0;
    for (const prefix of suite.prefixes) {
      const snapshot = xstateSnapshotAfter(mut, prefix);
      if (snapshot.status !== 'active') continue;
      const leaf = atomicName(snapshot.value);
      for (const s of ancestry(m, m.states.find((x) => x.name === leaf)!.index)) {
        for (const t of s.timers) {
          checked++;
          const [, viaAfter] = xstateStep(mut, snapshot, { type: `xstate.after.${t.name}.${s.name}` });
          const [, direct] = xstateStep(mut, snapshot, { type: t.name, trueGuards: [] });
          const expected = { state: direct.state, trace: [`raise ${t.name}`, ...direct.trace] };
          const got = { state: viaAfter.state, trace: viaAfter.trace };
          if (JSON.stringify(got) !== JSON.stringify(expected)) {
            failures.push(`in ${leaf}, after ${t.name} (of ${s.name}): ${JSON.stringify(got)}, expected ${JSON.stringify(expected)}`);
          }
        }
      }
    }
    console.log(`${mut.name}: after-event = timer-event checked for ${checked} armed timers in reachable states`);
    expect(failures).toEqual([]);
    if (m.timers.length) expect(checked).toBeGreaterThan(0);
  });

  it(`agrees on ${RUNS} random event sequences (seed ${SEED})`, async () => {
    // Arbitrary events with arbitrary guard outcomes, after a random shortest path (possibly
    // empty) so that runs start in every reachable state instead of mostly ending in the first
    // final state the initial one leads to.
    const event = fc.record({ type: fc.constantFrom(...mut.events), trueGuards: fc.subarray(mut.guards) });
    const sequence = fc
      .tuple(fc.constantFrom([], ...suite.prefixes), fc.array(event, { maxLength: MAX_LENGTH, size: 'max' }))
      .map(([start, rest]) => [...start, ...rest]);
    // fast-check generates the same values for the same seed in sample() and assert(): run them
    // all on the VM in one batch first, and go to the VM per run only while shrinking.
    const samples = fc.sample(sequence, { seed: SEED, numRuns: RUNS });
    const batch = await runMicroPython(dev, mut, samples);
    const cache = new Map(samples.map((s, i) => [JSON.stringify(s), batch[i]!]));
    let vmRuns = 0;
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(sequence, async (events) => {
        runs++;
        let py = cache.get(JSON.stringify(events));
        if (!py) {
          vmRuns++;
          py = (await runMicroPython(dev, mut, [events]))[0]!;
        }
        const report = compareRuns(mut.name, events, runXState(mut, events), py);
        if (report) throw new Error(`${report}\n  (WIRESTATE_DIFF_SEED=${SEED})`);
      }),
      { seed: SEED, numRuns: RUNS },
    );
    const events = batch.reduce((n, run) => n + run.length - 1, 0);
    const live = batch.reduce((n, run) => n + run.slice(0, -1).filter((s) => !isFinal(s.state)).length, 0);
    const handled = batch.reduce((n, run) => n + run.slice(1).filter((s) => s.handled).length, 0);
    console.log(
      `${mut.name}: ${runs} random sequences (seed ${SEED}), ${events} events, ${live} of them in a non-final state, ` +
        `${handled} handled; ${vmRuns} VM runs outside the batch`,
    );
  });
});
