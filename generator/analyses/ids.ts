// The ids a runtime copies into private const() names (inlined by MicroPython's compiler, so
// they cost no RAM): _E_<EVENT>, _S_<STATE> (a compound state's is its first atomic state,
// _S_<STATE>_END one past its last), _T_<TIMER>, _FINAL (the first final state), and the
// ids its act() and guard() dispatch on: _A_<ACTION> and _G_<GUARD>.
import type { FlatMachine } from './flatten.ts';
import type { Tables } from './encode.ts';
import { isCompound } from '../ir/model.ts';

/** The machine's tables module (generated/micropython/<machine>_fsm.py), as the runtime imports it. */
export function micropythonModuleName(machine: string): string {
  return `${machine}_fsm`;
}

export interface RuntimeId {
  value: number;
  /** What the id names, for messages and the generated comment. */
  what: string;
}

export function runtimeIds(flat: FlatMachine, tables: Tables): Map<string, RuntimeId> {
  const m = flat.machine;
  const ids = new Map<string, RuntimeId>();
  flat.events.forEach((e, i) => ids.set(`_E_${e.toUpperCase()}`, { value: i, what: `event '${e}'` }));
  for (const s of m.states) {
    const leaves = flat.leaves.flatMap((leaf, id) => (within(flat, leaf, s.index) ? [id] : []));
    ids.set(`_S_${s.name.toUpperCase()}`, { value: Math.min(...leaves), what: isCompound(s) ? `first atomic state of '${s.name}'` : `state '${s.name}'` });
    if (isCompound(s)) ids.set(`_S_${s.name.toUpperCase()}_END`, { value: Math.max(...leaves) + 1, what: `one past the last atomic state of '${s.name}'` });
  }
  m.timers.forEach((t, i) => ids.set(`_T_${t.name.toUpperCase()}`, { value: i, what: `timer '${t.name}'` }));
  m.actions.forEach((a, i) => ids.set(`_A_${a.name.toUpperCase()}`, { value: i, what: `action '${a.name}'` }));
  m.guards.forEach((g, i) => ids.set(`_G_${g.name.toUpperCase()}`, { value: i, what: `guard '${g.name}'` }));
  ids.set('_FINAL', { value: tables.firstFinal, what: 'first final state: state >= _FINAL means the machine has stopped' });
  return ids;
}

function within(flat: FlatMachine, leaf: number, outer: number): boolean {
  for (let s: number | null = leaf; s !== null; s = flat.machine.states[s]!.parent) if (s === outer) return true;
  return false;
}
