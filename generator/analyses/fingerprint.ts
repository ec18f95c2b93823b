// The spec version a device runs: a hash of a machine's tables, which runtime-esp8266/fsmtrace.py
// computes from the table module when it saves a trace (so the device spends nothing on it
// until it traces). `wirestate trace decode` and the explorer refuse a trace whose version is
// not the spec's, because its ids would be read against other tables.
import type { FlatMachine } from './flatten.ts';
import type { Tables } from './encode.ts';

/**
 * ROW, CELL, OFF, PROG, then NE and NA, folded as h = (h * 29 + value) mod 2^25: every
 * intermediate stays below 2^30, a small int on MicroPython, so hashing allocates nothing.
 */
export function specVersion(flat: FlatMachine, tables: Tables): number {
  let h = 0;
  for (const values of [tables.row, tables.cell, tables.off, tables.prog, [flat.events.length, flat.machine.actions.length]]) {
    for (const v of values) h = (h * 29 + v) & 0x1ffffff;
  }
  return h;
}
