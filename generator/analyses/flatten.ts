// Flattens the state hierarchy at generation time, so the device never computes an exit or
// entry set: every (atomic state, event) gets its ordered candidate transitions, each with the
// complete list of steps (exit actions and timer cancels, transition actions, entry actions and
// timer arms) and the atomic state it ends in. The order follows XState v5 (and SCXML): the
// innermost state's transitions first, exits innermost first, entries outermost first, a
// state's timers armed after its entry actions and cancelled after its exit actions.
import { ancestry, eventNames, isCompound, isDescendant, type GuardUse, type MachineIR, type StateIR, type TransitionIR } from '../ir/model.ts';

export type Step = { kind: 'action'; name: string } | { kind: 'arm' | 'cancel'; timer: string };

export interface Candidate {
  guard: GuardUse | null;
  /** Atomic state index reached, or null to stay in the current one. */
  target: number | null;
  steps: Step[];
  transition: TransitionIR;
}

export interface FlatMachine {
  machine: MachineIR;
  /** Atomic state indices in table order: non-final in document order, then final ones. */
  leaves: number[];
  events: string[];
  /** Steps run when the machine starts, ending in `initialLeaf`. */
  start: { target: number; steps: Step[] };
  /** candidates[leaf position][event position], in the order they are tried. */
  candidates: Candidate[][][];
}

export function flatten(m: MachineIR): FlatMachine {
  const atomic = m.states.filter((s) => !isCompound(s));
  const leaves = [...atomic.filter((s) => !s.final), ...atomic.filter((s) => s.final)].map((s) => s.index);
  const events = eventNames(m);
  const candidates = leaves.map((leaf) =>
    events.map((event) => {
      const all = ancestry(m, leaf).flatMap((s) =>
        m.transitions.filter((t) => t.source === s.index && t.event === event).map((t) => resolve(m, leaf, t)),
      );
      // Past an unguarded candidate (a child's, overriding its ancestors') none can be taken.
      const first = all.findIndex((c) => c.guard === null);
      return first < 0 ? all : all.slice(0, first + 1);
    }),
  );
  const entered = enterPath(m, null, m.initial, true);
  return {
    machine: m,
    leaves,
    events,
    start: { target: entered[entered.length - 1]!.index, steps: entered.flatMap(entrySteps) },
    candidates,
  };
}

/** The candidate a transition becomes when taken from atomic state `leaf`. */
function resolve(m: MachineIR, leaf: number, t: TransitionIR): Candidate {
  if (t.target === null) {
    return { guard: t.guard, target: null, steps: t.actions.map(action), transition: t };
  }
  const domain = transitionDomain(m, t);
  const exited = ancestry(m, leaf).filter((s) => domain === null || isDescendant(m, s.index, domain));
  const includeTarget = !(t.target === t.source && t.source === domain && !t.reenter);
  const entered = enterPath(m, domain, t.target, includeTarget);
  const steps = [...exited.flatMap(exitSteps), ...t.actions.map(action), ...entered.flatMap(entrySteps)];
  const last = entered[entered.length - 1];
  return { guard: t.guard, target: last ? last.index : null, steps, transition: t };
}

/**
 * The state whose descendants the transition exits and enters (null: the machine root).
 * A transition to its own source or a descendant stays inside the source unless it re-enters.
 */
function transitionDomain(m: MachineIR, t: TransitionIR): number | null {
  const target = t.target!;
  if (!t.reenter && (target === t.source || isDescendant(m, target, t.source))) return t.source;
  for (const a of ancestry(m, target).slice(1)) {
    if (isDescendant(m, t.source, a.index)) return a.index;
  }
  return null;
}

/** States entered, outermost first: ancestors of `target` below `domain`, the target, its initial descent. */
function enterPath(m: MachineIR, domain: number | null, target: number, includeTarget: boolean): StateIR[] {
  const above = ancestry(m, target)
    .slice(1)
    .filter((s) => domain === null || isDescendant(m, s.index, domain))
    .reverse();
  const path = [...above];
  if (includeTarget) path.push(m.states[target]!);
  for (let s = m.states[target]!; s.initial !== null; ) {
    s = m.states[s.initial]!;
    path.push(s);
  }
  return path;
}

const action = (r: { name: string }): Step => ({ kind: 'action', name: r.name });

function entrySteps(s: StateIR): Step[] {
  return [...s.entry.map(action), ...s.timers.map((t): Step => ({ kind: 'arm', timer: t.name }))];
}

function exitSteps(s: StateIR): Step[] {
  return [...s.exit.map(action), ...s.timers.map((t): Step => ({ kind: 'cancel', timer: t.name }))];
}
