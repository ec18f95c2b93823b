// A trace file read with the names of the project's specs, each step checked against the
// generated XState machine: a step is possible when XState, fed the recorded event in the
// recorded state, reaches the recorded state for some outcome of the guards involved (the
// trace does not record them).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { initialTransition, transition, type AnyStateMachine, type StateValue } from 'xstate';
import { ancestry, type Pos } from '../ir/model.ts';
import { specVersion } from '../analyses/fingerprint.ts';
import { micropythonModuleName } from '../analyses/ids.ts';
import { xstateMachineName } from '../backends/xstate.ts';
import { importXStateModule } from '../backends/xstate-load.ts';
import { guardText } from '../backends/diagrams.ts';
import type { CompiledMachine } from '../pipeline.ts';
import { loadLayout } from '../config/config.ts';
import { nameTrace, type KnownMachine, type NamedStep, type Trace } from './format.mjs';

export interface DecodedStep extends NamedStep {
  /** The atomic states XState reaches from `from` on `event` (on start: the initial one). */
  possible: string[];
  /** The transitions that make this step: where the spec has them, and their guards. */
  where: { pos: Pos; guard: string }[];
}

export interface DecodedTrace {
  trace: Trace;
  steps: DecodedStep[];
}

/** What the trace format needs to know of a compiled machine to name its records. */
export function knownMachine(c: CompiledMachine): KnownMachine {
  const m = c.machine;
  return { name: m.name, file: m.file, version: specVersion(c.flat, c.tables), states: c.flat.leaves.map((s) => m.states[s]!.name), events: c.flat.events };
}

/** Names and checks a parsed trace; throws the format's TraceError at its first bad record. */
export async function decodeTrace(root: string, machines: CompiledMachine[], trace: Trace): Promise<DecodedTrace> {
  const byModule = new Map(machines.map((c) => [micropythonModuleName(c.machine.name), c]));
  const named = nameTrace(trace, (module) => {
    const c = byModule.get(module);
    return c && knownMachine(c);
  });
  const checkers = new Map<string, Checker>();
  const steps: DecodedStep[] = [];
  for (const step of named) {
    const c = machines.find((x) => x.machine.name === step.machine)!;
    let check = checkers.get(step.machine);
    if (!check) checkers.set(step.machine, (check = await checker(root, c)));
    steps.push({ ...step, ...check(step) });
  }
  return { trace, steps };
}

type Checker = (step: NamedStep) => Pick<DecodedStep, 'possible' | 'where'>;

async function checker(root: string, c: CompiledMachine): Promise<Checker> {
  const { machine: m, flat } = c;
  const file = join(root, loadLayout(root).xstate, `${m.name}.ts`);
  const mod = (await importXStateModule(readFileSync(file, 'utf8'), file)) as Record<string, AnyStateMachine | undefined>;
  const generated = mod[xstateMachineName(m.name)];
  if (!generated) throw new Error(`${file} does not export ${xstateMachineName(m.name)}: run \`npx wirestate generate\``);
  // The guards hold as the event says: every outcome is tried in turn.
  const guards = Object.fromEntries(m.guards.map((g) => [g.name, ({ event }: { event: { holding: string[] } }) => event.holding.includes(g.name)]));
  const xm = generated.provide({ guards } as never);
  const valueOf = (leaf: number): StateValue => {
    const [first, ...rest] = ancestry(m, leaf).map((s) => s.name);
    return rest.reduce<StateValue>((inner, outer) => ({ [outer]: inner }), first!);
  };
  const leafByValue = new Map(flat.leaves.map((leaf) => [JSON.stringify(valueOf(leaf)), m.states[leaf]!.name]));
  const nameOf = (value: StateValue) => leafByValue.get(JSON.stringify(value)) ?? JSON.stringify(value);
  const start = nameOf(initialTransition(xm)[0].value);
  const cache = new Map<string, string[]>();
  return (step) => {
    if (step.event === null) return { possible: [start], where: [] };
    const leafPos = flat.leaves.findIndex((l) => m.states[l]!.name === step.from);
    const candidates = flat.candidates[leafPos]![flat.events.indexOf(step.event)]!;
    const key = `${step.from} ${step.event}`;
    let possible = cache.get(key);
    if (!possible) {
      const snapshot = xm.resolveState({ value: valueOf(flat.leaves[leafPos]!), context: undefined });
      const involved = [...new Set(candidates.flatMap((cand) => (cand.guard ? [cand.guard.name] : [])))];
      const reached = new Set<string>();
      for (const holding of subsets(involved)) {
        const event = { type: step.event, holding } as never;
        // An outcome in which no transition is taken records nothing.
        if (xm.getTransitionData(snapshot, event).length === 0) continue;
        reached.add(nameOf(transition(xm, snapshot, event)[0].value));
      }
      cache.set(key, (possible = [...reached]));
    }
    const where = candidates
      .filter((cand) => (cand.target === null ? step.from : m.states[cand.target]!.name) === step.to)
      .map((cand) => ({ pos: cand.transition.pos, guard: guardText(m, cand.transition) }));
    return { possible, where };
  };
}

function subsets<T>(items: T[]): T[][] {
  return items.reduce<T[][]>((acc, x) => [...acc, ...acc.map((s) => [...s, x])], [[]]);
}
