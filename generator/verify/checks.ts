// The differential checks, as the repository's tests and `wirestate test` run them: every
// shortest path (each extended by every event and guard outcome), every single-fault mutant of
// the tables, and seeded random sequences; plus the coverage of states and transitions they give.
import { initialTransition, transition, type AnyMachineSnapshot } from 'xstate';
import type { SimDevice } from '../sim/device.ts';
import { compareRuns, runMicroPython, runTables, runXState, type MachineUnderTest, type PathSuite, type RunResult, type TestEvent } from './differential.ts';
import { progMutants, programsRun } from './mutants.ts';

export interface PathsResult {
  failures: string[];
  /** Atomic states reached. */
  reached: Set<string>;
  steps: number;
}

/** Both forms on every sequence of the suite. */
export async function checkPaths(dev: SimDevice, mut: MachineUnderTest, suite: PathSuite): Promise<PathsResult> {
  const py = await runMicroPython(dev, mut, suite.sequences);
  const failures: string[] = [];
  const reached = new Set<string>();
  suite.sequences.forEach((seq, i) => {
    const xs = runXState(mut, seq);
    xs.forEach((s) => reached.add(s.state));
    const report = compareRuns(mut.name, seq, xs, py[i]!);
    if (report) failures.push(report);
  });
  return { failures, reached, steps: suite.sequences.reduce((n, s) => n + s.length + 1, 0) };
}

export interface MutantsResult {
  total: number;
  /** What each mutant the suite did not tell apart from the XState machine changed. */
  survivors: string[];
  runs: number;
}

/** Each single-fault mutant of the tables runs the sequences that execute the program it changes. */
export async function checkMutants(dev: SimDevice, mut: MachineUnderTest, suite: PathSuite): Promise<MutantsResult> {
  const { tables, machine: m, flat } = mut.compiled;
  const mutants = progMutants(tables, flat.leaves.length, m.actions.length + 2 * m.timers.length);
  const xs = suite.sequences.map((seq) => runXState(mut, seq));
  const used = suite.sequences.map((seq, i) => programsRun(mut.compiled, seq, xs[i]!));
  const jobs = mutants.map((x) => ({ prog: x.prog, which: suite.sequences.flatMap((_, i) => (used[i]!.has(x.program) ? [i] : [])) }));
  const runs = await runTables(dev, mut, suite.sequences, jobs);
  const survivors = mutants.filter((_, k) => jobs[k]!.which.every((i, j) => compareRuns(mut.name, suite.sequences[i]!, xs[i]!, runs[k]![j]!) === null));
  return { total: mutants.length, survivors: survivors.map((x) => x.what), runs: jobs.reduce((n, j) => n + j.which.length, 0) };
}

/**
 * `count` random sequences from `seed`: a random shortest path (or none), so that runs start in
 * every reachable state, then up to `maxLength` arbitrary events with arbitrary guard outcomes.
 */
export function randomSequences(mut: MachineUnderTest, suite: PathSuite, count: number, maxLength: number, seed: number): TestEvent[][] {
  const next = mulberry32(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!;
  return Array.from({ length: count }, () => {
    const start = next() < 1 / (suite.prefixes.length + 1) ? [] : pick(suite.prefixes);
    const rest = Array.from({ length: Math.floor(next() * (maxLength + 1)) }, () => ({
      type: pick(mut.events),
      trueGuards: mut.guards.filter(() => next() < 0.5),
    }));
    return [...start, ...rest];
  });
}

/** The first disagreement on random sequences, or null. */
export async function checkRandom(dev: SimDevice, mut: MachineUnderTest, sequences: TestEvent[][]): Promise<string | null> {
  const py = await runMicroPython(dev, mut, sequences);
  for (let i = 0; i < sequences.length; i++) {
    const report = compareRuns(mut.name, sequences[i]!, runXState(mut, sequences[i]!), py[i]!);
    if (report) return report;
  }
  return null;
}

export interface Coverage {
  states: { covered: number; total: number; missed: string[] };
  transitions: { covered: number; total: number; missed: string[] };
}

/**
 * Which atomic states the sequences reach and which of the spec's transitions they take (the
 * transition XState selects: the candidates of a state and event are in spec order).
 */
export function coverage(mut: MachineUnderTest, sequences: readonly (readonly TestEvent[])[], runs?: RunResult[]): Coverage {
  const m = mut.compiled.machine;
  const leaves = mut.compiled.flat.leaves.map((l) => m.states[l]!.name);
  const reached = new Set<string>();
  const taken = new Set<number>();
  sequences.forEach((seq, k) => {
    let [snapshot] = initialTransition(mut.xstate) as [AnyMachineSnapshot, unknown];
    for (const s of runs?.[k] ?? runXState(mut, seq)) reached.add(s.state);
    for (const e of seq) {
      if (snapshot.status !== 'active') break;
      for (const t of mut.xstate.getTransitionData(snapshot, e as never)) {
        const source = t.source.id;
        const candidates = t.source.transitions.get(t.eventType) ?? [];
        const spec = m.transitions.filter((x) => m.states[x.source]!.name === source && x.event === t.eventType);
        const i = spec[candidates.indexOf(t)];
        if (i) taken.add(m.transitions.indexOf(i));
      }
      [snapshot] = transition(mut.xstate, snapshot, e as never) as [AnyMachineSnapshot, unknown];
    }
  });
  const describe = (i: number) => {
    const t = m.transitions[i]!;
    const guard = t.guard ? ` [${t.guard.negated ? '!' : ''}${t.guard.name}]` : '';
    return `${m.states[t.source]!.name} --${t.event}${guard}--> ${t.target === null ? '(stay)' : m.states[t.target]!.name} (${t.pos.file}:${t.pos.line})`;
  };
  const missedT = m.transitions.flatMap((_, i) => (taken.has(i) ? [] : [describe(i)]));
  return {
    states: { covered: leaves.filter((l) => reached.has(l)).length, total: leaves.length, missed: leaves.filter((l) => !reached.has(l)) },
    transitions: { covered: m.transitions.length - missedT.length, total: m.transitions.length, missed: missedT },
  };
}

/** Mulberry32: a small seeded generator, so a run can be repeated from its seed. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
