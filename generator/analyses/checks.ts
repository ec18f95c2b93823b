// Whole-machine checks on the IR: things that are well-formed YAML with resolvable names but
// still a wrong machine (errors), or an unfinished one (warnings: declarations nothing uses,
// states nothing reaches or that lead nowhere; the tables work, the sketch is not done).
import { ancestry, type MachineIR, type Named, type TransitionIR } from '../ir/model.ts';
import { warning, type Diagnostic } from '../spec/diagnostics.ts';
import type { FlatMachine } from './flatten.ts';

export function checkMachine(flat: FlatMachine): Diagnostic[] {
  return [...guardConflicts(flat.machine), ...unused(flat.machine), ...reachability(flat), ...idClashes(flat.machine)];
}

/** A compound state x has the runtime id _S_X_END (see ids.ts), so no state may be named x_end. */
function idClashes(m: MachineIR): Diagnostic[] {
  return m.states.flatMap((s) => {
    const twin = m.states.find((t) => t.name === `${s.name}_end`);
    return s.children.length && twin
      ? [{ ...twin.pos, message: `state '${twin.name}' would share the runtime id _S_${twin.name.toUpperCase()} with the end of compound state '${s.name}'; rename it` }]
      : [];
  });
}

/**
 * Candidates for one state and event are tried in order, so two of them must be told apart by
 * their guards: the same guard twice, a candidate after an unguarded one, or a candidate after
 * both `guard: g` and `unless: g` can never be taken.
 */
function guardConflicts(m: MachineIR): Diagnostic[] {
  const out: Diagnostic[] = [];
  const groups = new Map<string, TransitionIR[]>();
  for (const t of m.transitions) {
    const key = `${t.source}\0${t.event}`;
    groups.set(key, [...(groups.get(key) ?? []), t]);
  }
  for (const group of groups.values()) {
    const seen = new Map<string, TransitionIR>();
    let exhausted: { t: TransitionIR; why: string } | null = null;
    for (const t of group) {
      const state = m.states[t.source]!.name;
      const label = t.guard ? `${t.guard.negated ? 'unless' : 'guard'} '${t.guard.name}'` : 'no guard';
      if (exhausted) {
        out.push({ ...t.pos, message: `in state '${state}', this '${t.event}' transition can never be taken: ${exhausted.why} (line ${exhausted.t.pos.line})` });
        continue;
      }
      const key = t.guard ? `${t.guard.negated ? '!' : ''}${t.guard.name}` : '';
      const twin = seen.get(key);
      if (twin) {
        out.push({ ...t.pos, message: `in state '${state}', two '${t.event}' transitions have ${label} (lines ${twin.pos.line} and ${t.pos.line}) and cannot be told apart` });
        continue;
      }
      seen.set(key, t);
      if (!t.guard) exhausted = { t, why: 'the unguarded transition before it is always taken' };
      else if (seen.has(t.guard.negated ? t.guard.name : `!${t.guard.name}`)) {
        exhausted = { t, why: `'guard: ${t.guard.name}' and 'unless: ${t.guard.name}' before it cover every case` };
      }
    }
  }
  return out;
}

function unused(m: MachineIR): Diagnostic[] {
  const actions = new Set<string>();
  const timers = new Set<string>();
  for (const s of m.states) {
    [...s.entry, ...s.exit].forEach((a) => actions.add(a.name));
    s.timers.forEach((t) => timers.add(t.name));
  }
  m.transitions.forEach((t) => t.actions.forEach((a) => actions.add(a.name)));
  const guards = new Set(m.transitions.flatMap((t) => (t.guard ? [t.guard.name] : [])));
  const events = new Set(m.transitions.map((t) => t.event));
  const out: Diagnostic[] = [];
  const check = (kind: string, items: Named[], used: Set<string>, hint: string) => {
    for (const item of items) {
      if (!used.has(item.name)) out.push(warning(item.pos, `${kind} '${item.name}' is declared but ${hint}`));
    }
  };
  check('action', m.actions, actions, 'no state or transition runs it');
  check('guard', m.guards, guards, 'no transition uses it');
  check('timer', m.timers, timers, 'no state arms it');
  check('event', m.events, events, 'no state handles it');
  for (const t of m.timers) {
    if (timers.has(t.name) && !events.has(t.name)) {
      out.push(warning(t.pos, `timer '${t.name}' is armed but no state handles its event '${t.name}'`));
    }
  }
  return out;
}

/**
 * Every state must be reachable from the initial one, and every reachable non-final state must
 * have a way out: with final states in the machine, one of them must stay reachable from it;
 * without any, some transition must lead to another state.
 */
function reachability(flat: FlatMachine): Diagnostic[] {
  const m = flat.machine;
  const position = new Map(flat.leaves.map((leaf, i) => [leaf, i]));
  const next = flat.candidates.map((row) => new Set(row.flat().flatMap((c) => (c.target === null ? [] : [c.target]))));
  const reachFrom = (leaf: number): Set<number> => {
    const seen = new Set([leaf]);
    const todo = [leaf];
    while (todo.length) {
      for (const n of next[position.get(todo.pop()!)!]!) {
        if (!seen.has(n)) {
          seen.add(n);
          todo.push(n);
        }
      }
    }
    return seen;
  };
  const out: Diagnostic[] = [];
  const reached = reachFrom(flat.start.target);
  const live = new Set([...reached].flatMap((leaf) => ancestry(m, leaf).map((s) => s.index)));
  for (const s of m.states) {
    if (!live.has(s.index) && (s.parent === null || live.has(s.parent))) {
      out.push(warning(s.pos, `state '${s.name}' is unreachable: no transition from the initial state leads to it`));
    }
  }
  const finals = m.states.filter((s) => s.final).map((s) => s.index);
  for (const leaf of flat.leaves) {
    const s = m.states[leaf]!;
    if (s.final || !reached.has(leaf)) continue;
    const ahead = reachFrom(leaf);
    if (finals.length > 0 ? !finals.some((f) => ahead.has(f)) : ahead.size === 1) {
      const trap = [...ahead].map((l) => m.states[l]!.name);
      const why = trap.length === 1 ? 'no transition from it or its parents leads to another state' : `its transitions only lead among ${trap.join(', ')}`;
      out.push(warning(s.pos, `state '${s.name}' has no way out and is not final: ${why}`));
    }
  }
  return out;
}
