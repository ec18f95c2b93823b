// Helpers of the hostile-input fuzzers: byte-level mutations of a stream (flip a bit, set a
// byte, truncate, insert, delete, duplicate: what a broken or hostile peer could send), and
// violations collected by kind, so that one bug does not hide the others.
import fc from 'fast-check';

/** Mutations whose set bytes come from `value` and whose inserts and deletes span at most `span` bytes (duplications twice that). */
export function byteMutations(value: fc.Arbitrary<number>, span: number) {
  return fc.oneof(
    fc.record({ kind: fc.constant('flip' as const), pos: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
    fc.record({ kind: fc.constant('set' as const), pos: fc.nat(), value }),
    fc.record({ kind: fc.constant('truncate' as const), pos: fc.nat() }),
    fc.record({ kind: fc.constant('insert' as const), pos: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: span }) }),
    fc.record({ kind: fc.constant('delete' as const), pos: fc.nat(), len: fc.integer({ min: 1, max: span }) }),
    fc.record({ kind: fc.constant('dup' as const), pos: fc.nat(), len: fc.integer({ min: 1, max: 2 * span }) }),
  );
}

export type ByteMut = ReturnType<typeof byteMutations> extends fc.Arbitrary<infer T> ? T : never;

/** b with mutation m applied (positions wrap around its length). */
export function mutate(b: Buffer, m: ByteMut): Buffer {
  if (!b.length) return m.kind === 'insert' ? Buffer.from(m.bytes) : b;
  const p = m.pos % b.length;
  switch (m.kind) {
    case 'flip':
    case 'set': {
      const c = Buffer.from(b);
      c[p] = m.kind === 'flip' ? (c[p] as number) ^ (1 << m.bit) : m.value;
      return c;
    }
    case 'truncate':
      return b.subarray(0, p);
    case 'insert':
      return Buffer.concat([b.subarray(0, p), m.bytes, b.subarray(p)]);
    case 'delete':
      return Buffer.concat([b.subarray(0, p), b.subarray(p + m.len)]);
    case 'dup':
      return Buffer.concat([b.subarray(0, p + m.len), b.subarray(p)]);
  }
}

/** Violations by kind: how many, and the example of the smallest case. */
export type Found = Map<string, { count: number; example: string; size: number }>;

/** Adds violations vs ([kind, detail]) of a case of the given size, described by describe(). */
export function collect(found: Found, size: number, vs: Iterable<[string, string]>, describe: () => string): void {
  for (const [kind, detail] of vs) {
    const f = found.get(kind);
    const example = `${detail ? detail + '\n    ' : ''}${describe()}`;
    if (!f) found.set(kind, { count: 1, example, size });
    else {
      f.count++;
      if (size < f.size) Object.assign(f, { example, size });
    }
  }
}

/** The violations found, a kind a line with its count and example. */
export const report = (found: Found) => [...found].map(([kind, f]) => `- ${kind} (${f.count}x), e.g.\n    ${f.example}`).join('\n');
