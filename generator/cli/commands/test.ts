// `wirestate test`: for the project's own specs, what the toolkit's differential tests do for
// its own: both forms of every machine on the simulated ESP8266, compared step by step.
import { resolve } from 'node:path';
import { EXIT_FAILURE, EXIT_OK, UsageError, type Command } from '../command.ts';
import { SUMMARIES } from '../summaries.ts';

export const test: Command = {
  name: 'test',
  summary: SUMMARIES.test,
  usage: 'test [MACHINE...] [--runs N] [--seed N] [--root DIR]',
  options: {
    runs: { type: 'string', description: 'random sequences per machine (default 300)' },
    seed: { type: 'string', description: 'seed of the random sequences (default 1), to repeat a run' },
    root: { type: 'string', description: 'project root (default: the current directory)' },
  },
  details: [
    'For every machine (or those named), on the simulated device:',
    '  - start and every shortest path to each state, each extended by every event under every',
    '    outcome of its guards: same state, actions, timer operations and "handled" at every step;',
    "  - every single-fault mutant of the tables must be told apart from the XState machine;",
    '  - random sequences of events with random guard outcomes;',
    'then the states and transitions those sequences covered.',
    'Exit status: 0 all agree, 1 a disagreement (or a spec error), 2 bad command line.',
  ].join('\n'),
  async run({ values, positionals }) {
    const root = resolve((values.root as string | undefined) ?? '.');
    const runs = count(values.runs, '--runs', 300);
    const seed = count(values.seed, '--seed', 1);
    const { compileAll } = await import('../../pipeline.ts');
    const { SpecError, formatDiagnostic } = await import('../../spec/diagnostics.ts');
    let compiled;
    try {
      const all = compileAll(root);
      for (const w of all.warnings) console.error(formatDiagnostic(w));
      compiled = all.machines;
    } catch (e) {
      if (!(e instanceof SpecError)) throw e;
      console.error(e.message);
      return EXIT_FAILURE;
    }
    const unknown = positionals.filter((p) => !compiled.some((c) => c.machine.name === p));
    if (unknown.length) throw new UsageError(`no machine named ${unknown.join(', ')} (the specs define ${compiled.map((c) => c.machine.name).join(', ')})`);
    const chosen = positionals.length ? compiled.filter((c) => positionals.includes(c.machine.name)) : compiled;

    const { loadMachines, deviceFiles, installHarness, pathSuite } = await import('../../verify/differential.ts');
    const { checkMutants, checkPaths, checkRandom, coverage, randomSequences } = await import('../../verify/checks.ts');
    const { SimDevice } = await import('../../sim/device.ts');
    const machines = await loadMachines(root, 'memory', chosen);
    const dev = await SimDevice.boot({ files: deviceFiles(machines) });
    let failed = false;
    try {
      await installHarness(dev, machines);
      for (const mut of machines) {
        const suite = pathSuite(mut);
        const paths = await checkPaths(dev, mut, suite);
        failed ||= paths.failures.length > 0;
        console.log(`${mut.name}: ${suite.prefixes.length} shortest paths, each extended by ${suite.variants.length} event variants: ${paths.steps} steps, ${paths.failures.length ? `${paths.failures.length} sequences DISAGREE` : 'all agree'}`);
        for (const f of paths.failures.slice(0, 3)) console.error(f);

        const mutants = await checkMutants(dev, mut, suite);
        failed ||= mutants.survivors.length > 0;
        console.log(`${mut.name}: ${mutants.total - mutants.survivors.length} of ${mutants.total} table mutants caught`);
        for (const s of mutants.survivors) console.error(`  not caught: ${s}`);

        const random = randomSequences(mut, suite, runs, 30, seed);
        const report = await checkRandom(dev, mut, random);
        failed ||= report !== null;
        console.log(`${mut.name}: ${runs} random sequences (seed ${seed}): ${report ? 'DISAGREE' : 'all agree'}`);
        if (report) console.error(report);

        const c = coverage(mut, [...suite.sequences, ...random]);
        console.log(`${mut.name}: coverage: states ${c.states.covered}/${c.states.total}, transitions ${c.transitions.covered}/${c.transitions.total}`);
        for (const s of c.states.missed) console.log(`  state never reached: ${s}`);
        for (const t of c.transitions.missed) console.log(`  transition never taken: ${t}`);
      }
    } finally {
      await dev.close();
    }
    console.log(failed ? 'wirestate test: FAILED' : `wirestate test: ${machines.length} machine${machines.length === 1 ? '' : 's'}, both forms agree`);
    return failed ? EXIT_FAILURE : EXIT_OK;
  },
};

function count(value: unknown, flag: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`${flag} takes a whole number, not '${String(value)}'`);
  return n;
}
