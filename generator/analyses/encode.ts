// Encodes a flattened machine as the byte tables runtime-esp8266/fsm.py interprets. Layout:
//
//   ROW[leaf]              row of CELL used by that atomic state (identical rows are shared)
//   CELL[row * NE + event] program number, 0 for "event ignored here"
//   OFF[2p], OFF[2p+1]     little-endian offset of program p in PROG (program 0 starts the machine)
//   PROG                   programs: [count] then `count` candidates, each
//                          [guard, target, nsteps, step...]
//     guard  0 = none, else (guard id + 1), | 0x80 when negated (`unless:`)
//     target atomic state id, or 0xFF to stay
//     step   action id below NA; NA + 2*t arms timer t, NA + 2*t + 1 cancels it
//
// Identical programs are stored once. Everything is one byte wide except OFF.
import type { FlatMachine, Step } from './flatten.ts';

export const STAY = 0xff;

export interface Tables {
  row: number[];
  cell: number[];
  off: number[];
  prog: number[];
  /** Bytes per table and in all. */
  sizes: { row: number; cell: number; off: number; prog: number; total: number };
  /** Ids as the tables use them: atomic state index -> leaf id, event name -> event id. */
  leafId: Map<number, number>;
  eventId: Map<string, number>;
  /** First final leaf id (== number of leaves when there is none). */
  firstFinal: number;
}

export class TableLimitError extends Error {}

export function encode(flat: FlatMachine): Tables {
  const m = flat.machine;
  const leafId = new Map(flat.leaves.map((s, i) => [s, i]));
  const eventId = new Map(flat.events.map((e, i) => [e, i]));
  const guardId = new Map(m.guards.map((g, i) => [g.name, i]));
  const actionId = new Map(m.actions.map((a, i) => [a.name, i]));
  const timerId = new Map(m.timers.map((t, i) => [t.name, i]));
  const na = m.actions.length;
  limit(flat.leaves.length < STAY, `${flat.leaves.length} atomic states (at most ${STAY - 1})`);
  limit(m.guards.length < 0x7f, `${m.guards.length} guards (at most 126)`);
  limit(na + 2 * m.timers.length <= 0x100, `${na} actions and ${m.timers.length} timers (actions + 2 * timers must not exceed 256)`);

  const step = (s: Step): number => (s.kind === 'action' ? actionId.get(s.name)! : na + 2 * timerId.get(s.timer)! + (s.kind === 'cancel' ? 1 : 0));
  const programs: number[][] = [];
  const programIndex = new Map<string, number>();
  const program = (bytes: number[]): number => {
    const key = bytes.join(',');
    let p = programIndex.get(key);
    if (p === undefined) {
      p = programs.length;
      programs.push(bytes);
      programIndex.set(key, p);
    }
    return p;
  };
  // Program 0 starts the machine and is never shared: a CELL value of 0 means "ignored", so a
  // transition whose bytes happen to equal the start program's must get a program of its own.
  programs.push([1, 0, leafId.get(flat.start.target)!, flat.start.steps.length, ...flat.start.steps.map(step)]);

  const rows: number[][] = [];
  const rowIndex = new Map<string, number>();
  const row = flat.candidates.map((byEvent) => {
    const cells = byEvent.map((cands) => {
      if (cands.length === 0) return 0;
      const bytes = [cands.length];
      for (const c of cands) {
        const g = c.guard ? (guardId.get(c.guard.name)! + 1) | (c.guard.negated ? 0x80 : 0) : 0;
        bytes.push(g, c.target === null ? STAY : leafId.get(c.target)!, c.steps.length, ...c.steps.map(step));
      }
      return program(bytes);
    });
    limit(programs.length <= 0x100, `${programs.length} distinct transition programs (at most 256)`);
    const key = cells.join(',');
    let r = rowIndex.get(key);
    if (r === undefined) {
      r = rows.length;
      rows.push(cells);
      rowIndex.set(key, r);
    }
    return r;
  });

  const prog: number[] = [];
  const off: number[] = [];
  for (const p of programs) {
    off.push(prog.length & 0xff, prog.length >> 8);
    prog.push(...p);
  }
  limit(prog.length <= 0xffff, `${prog.length} bytes of programs (at most 65535)`);
  const cell = rows.flat();
  const firstFinal = flat.leaves.findIndex((s) => m.states[s]!.final);
  const sizes = { row: row.length, cell: cell.length, off: off.length, prog: prog.length, total: row.length + cell.length + off.length + prog.length };
  return { row, cell, off, prog, sizes, leafId, eventId, firstFinal: firstFinal < 0 ? flat.leaves.length : firstFinal };
}

function limit(ok: boolean, what: string): void {
  if (!ok) throw new TableLimitError(`the machine is too large for one-byte tables: ${what}`);
}
