// Single-fault mutants of a machine's PROG table (layout: generator/analyses/encode.ts), to
// show that the differential harness notices a wrong table: a transition going elsewhere, a
// guard read the wrong way round, a wrong action or timer operation, two steps out of order.
import type { Tables } from '../analyses/encode.ts';
import type { CompiledMachine } from '../pipeline.ts';
import type { RunResult, TestEvent } from './differential.ts';

export interface Mutant {
  what: string;
  /** The program changed (0: start). */
  program: number;
  prog: number[];
}

interface CandidateAt {
  program: number;
  index: number;
  /** Offset of the guard byte; target, step count and steps follow. */
  at: number;
  guard: number;
  target: number;
  steps: number;
}

const STAY = 0xff;

function candidates(t: Tables): CandidateAt[] {
  const out: CandidateAt[] = [];
  for (let p = 0; 2 * p < t.off.length; p++) {
    let i = t.off[2 * p]! | (t.off[2 * p + 1]! << 8);
    const n = t.prog[i++]!;
    for (let c = 0; c < n; c++) {
      out.push({ program: p, index: c, at: i, guard: t.prog[i]!, target: t.prog[i + 1]!, steps: t.prog[i + 2]! });
      i += 3 + t.prog[i + 2]!;
    }
  }
  return out;
}

/** `leaves` atomic states, `stepValues` = actions + 2 * timers. */
export function progMutants(t: Tables, leaves: number, stepValues: number): Mutant[] {
  const out: Mutant[] = [];
  for (const c of candidates(t)) {
    const mutate = (what: string, f: (prog: number[]) => void) => {
      const prog = [...t.prog];
      f(prog);
      out.push({ what, program: c.program, prog });
    };
    const where = c.program === 0 ? 'start program' : `program ${c.program} candidate ${c.index}`;
    if (c.target !== STAY && leaves > 1) {
      const other = (c.target + 1) % leaves;
      mutate(`${where}: target ${c.target} -> ${other}`, (p) => (p[c.at + 1] = other));
    }
    if (c.guard !== 0) mutate(`${where}: guard ${c.guard} -> ${c.guard ^ 0x80} (guard <-> unless)`, (p) => (p[c.at] = c.guard ^ 0x80));
    for (let s = 0; s < c.steps; s++) {
      const i = c.at + 3 + s;
      const v = t.prog[i]!;
      if (stepValues > 1) mutate(`${where}: step ${s} ${v} -> ${(v + 1) % stepValues}`, (p) => (p[i] = (v + 1) % stepValues));
      if (s + 1 < c.steps && t.prog[i + 1] !== v) {
        mutate(`${where}: steps ${s} and ${s + 1} swapped`, (p) => {
          p[i] = t.prog[i + 1]!;
          p[i + 1] = v;
        });
      }
    }
  }
  return out;
}

/**
 * The programs a run executes, read from the tables: program 0 at start, then for each event
 * the cell of the state the run was in (0: ignored, nothing executed).
 */
export function programsRun(c: CompiledMachine, events: readonly TestEvent[], run: RunResult): Set<number> {
  const { tables: t, flat, machine: m } = c;
  const id = new Map(flat.leaves.map((leaf, i) => [m.states[leaf]!.name, i]));
  const used = new Set([0]);
  events.forEach((e, i) => {
    const state = id.get(run[i]!.state);
    if (state === undefined) return;
    const p = t.cell[t.row[state]! * flat.events.length + flat.events.indexOf(e.type)]!;
    if (p) used.add(p);
  });
  return used;
}
