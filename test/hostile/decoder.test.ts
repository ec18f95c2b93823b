// Hostile input for the sans-I/O WebSocket core (uwebsockets.protocol.Connection) in the
// MicroPython VM: a connection opened with a correct 101 is fed random bytes and mutated
// valid frame sequences (bit flips, truncations, changed and huge length fields), in random
// chunkings. Cases run in batches (one exec per batch) through test/support/py/sansio_driver.py.
//
// Properties: received() raises nothing; send() raises ConnectionClosed exactly when the
// connection is no longer open; the state ends open, closing or closed with a close code of
// 1002, 1007, 1009 or none (or the code of a valid server Close the client echoed, or 1006
// after TCP closed); messages are str or bytearray within max_size; what the client writes is
// whole masked frames with nothing after its Close; valid sequences are decoded exactly; and
// the heap reachable from the loaded modules does not grow over the run.
import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimDevice, projectFiles } from '../../generator/sim/device.ts';
import { byteMutations, collect, mutate, report, type Found } from '../support/fuzz.ts';
import { ROOT } from '../support/pyRunner.ts';
import { OP, closePayload, frame, parseFrames, type FrameSpec } from '../support/wsFrames.ts';
import { hostilePayloads } from '../../generator/bench/websocket.ts';

const MAX_SIZE = 4096;
const BATCH = 40;
const BATCHES = 8; // 320 cases
// Leaks. gc.mem_alloc() after a collection cannot bound them tightly here: MicroPython's
// collector is conservative and scans every live block word by word, the qstr pools included,
// whose characters and 16-bit hash and length tables read as addresses inside this VM's heap
// ("\0NA\0" is 0x414e00). Whatever garbage sits at such an address when the collector runs is
// kept for good, with all it refers to: a stray bytearray with a 4 KB payload, or the 12 KB JSON
// of a batch's results (found by dumping the heap with uctypes). So gc.mem_alloc() jumps by
// 4 KB or more (once 33 KB) in about a quarter of the runs, whatever the cases: its figures
// are only logged. Instead the driver counts the bytes of every object reachable from the loaded
// modules (sansio_driver.reachable()): exact, and the same after every batch unless something
// keeps what a case left. Tried: a module-level list in the decoder that keeps one item per
// connection grows it by 1280 bytes over the run (320 cases, 4 bytes each), one per frame by
// about 4.5 KB; neither moved gc.mem_alloc() past the old bound of 32 KB. No growth is allowed.
const REACHABLE_GROWTH = 0;
// Heap a 16 KB hostile payload may allocate while it is decoded: per frame (a Pong answers
// each Ping), and per byte.
const ALLOC_PER_FRAME = 1024;
const ALLOC_PER_BYTE = 4;

interface Case {
  data: Buffer;
  chunks: number[];
  end: boolean;
  /** What a correct decoder must do with it, for sequences that were not mutated. */
  expect?: Expected;
  label: string;
}

interface Expected {
  msgs: [string, number][];
  pongs: Buffer[];
  state: number;
  code: number | null;
}

type Summary =
  | [state: number, code: number | null, msgs: [string, number][], errors: string[], sent: string, out: string, refused: number]
  | ['driver', string];

// ------------------------------------------------------------------------------ arbitraries

const chunkings: fc.Arbitrary<number[]> = fc.oneof(
  fc.constant<number[]>([1]),
  fc.constant<number[]>([1 << 20]),
  fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 6 }),
  fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 4 }),
);

const ctlFrame = fc.record({
  op: fc.constantFrom(OP.PING, OP.PONG),
  payload: fc.uint8Array({ maxLength: 125 }),
});

/** A data message: payload (sometimes over MAX_SIZE), cut into fragments, control frames after some fragments. */
const dataMsg = fc.record({
  binary: fc.boolean(),
  payload: fc.oneof(
    { weight: 4, arbitrary: fc.uint8Array({ maxLength: 300 }) },
    { weight: 1, arbitrary: fc.integer({ min: MAX_SIZE - 8, max: MAX_SIZE + 8 }).map((n) => new Uint8Array(n).fill(0x61)) },
  ),
  text: fc.string({ unit: 'binary', maxLength: 80 }),
  cuts: fc.array(fc.nat(), { maxLength: 3 }),
  ctl: fc.array(fc.option(ctlFrame, { nil: undefined }), { maxLength: 4 }),
});

const closeMsg = fc.record({
  code: fc.constantFrom(undefined, 1000, 1001, 1003, 1008, 1011, 1014, 3000, 4000, 4999),
  reason: fc.string({ maxLength: 30 }),
});

const validSeq = fc.record({
  items: fc.array(fc.oneof({ weight: 3, arbitrary: dataMsg }, { weight: 1, arbitrary: ctlFrame }), { maxLength: 6 }),
  close: fc.option(closeMsg, { nil: undefined }),
});

type ValidSeq = typeof validSeq extends fc.Arbitrary<infer T> ? T : never;

/** The frames of a valid sequence, and what decoding them must give. */
function build(seq: ValidSeq, end: boolean): { frames: FrameSpec[]; expect: Expected } {
  const frames: FrameSpec[] = [];
  const exp: Expected = { msgs: [], pongs: [], state: 1, code: null };
  let failed = false;
  const control = (op: number, payload: Uint8Array) => {
    frames.push({ op, payload });
    if (!failed && op === OP.PING) exp.pongs.push(Buffer.from(payload));
  };
  for (const item of seq.items) {
    if ('op' in item) {
      control(item.op, item.payload);
      continue;
    }
    const body = item.binary ? Buffer.from(item.payload) : item.payload.length > MAX_SIZE - 9 ? Buffer.from(item.payload) : Buffer.from(item.text);
    const cuts = [...new Set(item.cuts.map((c) => c % (body.length + 1)))].sort((a, b) => a - b);
    const bounds = [0, ...cuts, body.length];
    let total = 0;
    for (let i = 0; i + 1 < bounds.length; i++) {
      const part = body.subarray(bounds[i], bounds[i + 1]);
      const last = i + 2 === bounds.length;
      frames.push({ op: i === 0 ? (item.binary ? OP.BINARY : OP.TEXT) : OP.CONT, payload: part, fin: last });
      total += part.length;
      if (!failed && total > MAX_SIZE) {
        failed = true;
        exp.state = 4;
        exp.code = 1009;
      }
      const ctl = item.ctl[i];
      if (!last && ctl) control(ctl.op, ctl.payload);
    }
    if (!failed) exp.msgs.push([item.binary ? 'bytearray' : 'str', body.length]);
  }
  if (seq.close) {
    const payload = closePayload(seq.close.code, seq.close.reason);
    frames.push({ op: OP.CLOSE, payload: payload.length > 125 ? closePayload(seq.close.code) : payload });
    if (!failed) {
      exp.state = 5;
      exp.code = seq.close.code ?? 1005;
    }
  }
  if (end) {
    if (exp.state === 1) exp.code = 1006;
    exp.state = 6;
  }
  return { frames, expect: exp };
}

/** Frame-level mutations: announced lengths (huge ones too) and length encodings. */
const lengthMut = fc.record({
  frame: fc.nat(),
  length: fc.oneof(
    fc.integer({ min: 0, max: 300 }).map(BigInt),
    fc.constantFrom(125n, 126n, 127n, 4095n, 4096n, 4097n, 65535n, 65536n, 2n ** 31n, 2n ** 32n, 2n ** 53n, 2n ** 62n, 2n ** 63n - 1n, 2n ** 63n, 2n ** 64n - 1n),
  ),
  form: fc.constantFrom(undefined, 7 as const, 16 as const, 64 as const),
});

/** Byte-level mutations of the whole stream. */
const byteMut = byteMutations(fc.integer({ min: 0, max: 255 }), 16);

const hostileCase: fc.Arbitrary<Case> = fc.oneof(
  // random bytes
  fc.record({ data: fc.uint8Array({ maxLength: 400 }), chunks: chunkings, end: fc.boolean() }).map(
    (r): Case => ({ data: Buffer.from(r.data), chunks: r.chunks, end: r.end, label: 'random' }),
  ),
  // random bytes after a valid prefix (so the decoder is mid-stream when garbage starts)
  fc.record({ seq: validSeq, junk: fc.uint8Array({ minLength: 1, maxLength: 200 }), chunks: chunkings, end: fc.boolean() }).map(
    (r): Case => ({ data: Buffer.concat([...build(r.seq, false).frames.map(frame), r.junk]), chunks: r.chunks, end: r.end, label: 'valid+junk' }),
  ),
  // mutated valid sequences
  fc
    .record({ seq: validSeq, lens: fc.array(lengthMut, { maxLength: 2 }), bytes: fc.array(byteMut, { maxLength: 3 }), chunks: chunkings, end: fc.boolean() })
    .filter((r) => r.lens.length + r.bytes.length > 0)
    .map((r): Case => {
      const frames = build(r.seq, false).frames;
      for (const m of r.lens) if (frames.length) Object.assign(frames[m.frame % frames.length] as FrameSpec, { length: m.length, lengthForm: m.form });
      let data: Buffer = Buffer.concat(frames.map(frame));
      for (const m of r.bytes) data = mutate(data, m);
      return { data, chunks: r.chunks, end: r.end, label: 'mutated' };
    }),
  // valid sequences, which must be decoded exactly
  fc.record({ seq: validSeq, chunks: chunkings, end: fc.boolean() }).map((r): Case => {
    const { frames, expect } = build(r.seq, r.end);
    return { data: Buffer.concat(frames.map(frame)), chunks: r.chunks, end: r.end, expect, label: 'valid' };
  }),
);

// ------------------------------------------------------------------------------ checks

const VALID_CLOSE = (c: number) => (c >= 1000 && c <= 1003) || (c >= 1007 && c <= 1014) || (c >= 3000 && c <= 4999);
const FAILURES = [1002, 1007, 1009];

/** Violations of the properties by one case's result: [kind, detail]. */
function violations(k: Case, s: Summary): [string, string][] {
  const v: [string, string][] = [];
  const bad = (kind: string, detail = '') => v.push([kind, detail]);
  if (s[0] === 'driver') return [['driver failed', s[1]]];
  const [state, code, msgs, errors, sent, outHex] = s;
  for (const e of errors) bad('exception escaped received()', e);
  if (![1, 2, 3, 4, 5, 6].includes(state)) bad('state is not open, closing or closed', String(state));
  const wantSent = state <= 3 ? 'ok' : 'ConnectionClosed';
  if (sent !== wantSent) bad(`send() in state ${state} gave ${sent}`);
  for (const [type, size] of msgs) {
    if (type !== 'str' && type !== 'bytearray') bad('message neither str nor bytearray', type);
    if (size > MAX_SIZE) bad('message over max_size', String(size));
  }
  const { frames, rest } = parseFrames(Buffer.from(outHex, 'hex'));
  if (rest.length) bad('partial frame in the client output');
  const closes = frames.filter((f) => f.op === OP.CLOSE);
  if (closes.length > 1) bad('several Close frames from the client');
  frames.forEach((f, i) => {
    if (!f.masked || !f.fin || f.rsv) bad('client frame unmasked, fragmented or with RSV bits');
    if (!([OP.PONG, OP.CLOSE, OP.TEXT] as number[]).includes(f.op)) bad('unexpected client frame', String(f.op));
    if (f.op === OP.TEXT && i !== frames.length - 1) bad('client text frame before the end');
    // After its Close the client may still answer Pings (RFC 6455 5.5.2), but sends nothing else.
    const close = frames.findIndex((g) => g.op === OP.CLOSE);
    if (close >= 0 && i > close && f.op !== OP.PONG) bad("data after the client's Close");
  });
  const close = closes[0];
  const sentCode = close && close.payload.length >= 2 ? close.payload.readUInt16BE(0) : close ? 1005 : null;
  if (code !== null && !FAILURES.includes(code) && !(code === 1006 && k.end) && !(code === 1005 || VALID_CLOSE(code))) bad('close code outside the documented set', String(code));
  if (close === undefined) {
    if (code !== null && !(code === 1006 && k.end)) bad(`close code ${code} without a Close from the client`);
  } else if (sentCode !== null && FAILURES.includes(sentCode) && close.payload.length === 2) {
    // the client failed the connection (or echoed a server Close with a failure code)
    if (code !== sentCode) bad(`client sent Close ${sentCode} (failure) but close_code is ${code}`);
  } else if (code !== sentCode) bad(`client echoed Close ${sentCode} but close_code is ${code}`);
  if (k.expect) {
    const got = { state, code, msgs, pongs: frames.filter((f) => f.op === OP.PONG).map((f) => f.payload.toString('hex')) };
    const want = { state: k.expect.state, code: k.expect.code, msgs: k.expect.msgs, pongs: k.expect.pongs.map((p) => p.toString('hex')) };
    if (JSON.stringify(got) !== JSON.stringify(want)) bad('valid sequence decoded wrongly', `want ${JSON.stringify(want)} got ${JSON.stringify(got)}`);
  }
  return v;
}

const describeCase = (k: Case, s: Summary) =>
  `${k.label} case: data=${k.data.toString('hex')} chunks=${JSON.stringify(k.chunks)} end_tcp=${k.end}\n    result=${JSON.stringify(s)}`;

// ------------------------------------------------------------------------------ the VM

let dev: SimDevice;
const heap: number[] = [];
const reach: number[] = [];
const stats = { cases: 0, byLabel: {} as Record<string, number>, codes: {} as Record<string, number>, refused: 0 };

async function runBatch(cases: Case[]): Promise<Summary[]> {
  const json = JSON.stringify(cases.map((k) => [k.data.toString('hex'), k.chunks, k.end, MAX_SIZE]));
  await dev.writeFile('/batch.json', json);
  await dev.exec(`RES = run_batch('/batch.json')`);
  const res = JSON.parse(await dev.eval<string>('json.dumps(RES)')) as Summary[];
  await dev.exec('RES = None\ngc.collect()');
  heap.push(await dev.eval<number>('gc.mem_alloc()')); // gc ran when control came back to JS
  reach.push(await dev.eval<number>('reachable(globals())'));
  return res;
}

describe('sans-I/O decoder under hostile input (MicroPython VM)', () => {
  beforeAll(async () => {
    dev = await SimDevice.boot({
      files: {
        ...projectFiles(ROOT),
        '/lib/sansio_driver.py': fs.readFileSync(path.join(ROOT, 'test/support/py/sansio_driver.py'), 'utf8'),
        '/lib/ws_peer.py': fs.readFileSync(path.join(ROOT, 'generator/sim/ws_peer.py'), 'utf8'),
      },
    });
    // The modules the runtime imports on demand stay once loaded (handshake drops itself again,
    // but the names it interned stay): load them before the baseline.
    await dev.exec('import gc, json, sys\nfrom sansio_driver import run_batch, reachable\nimport uwebsockets.closing, uwebsockets.utf8');
    // Warm-up, unchecked: every lazily imported module (handshake, closing, utf8) loaded once.
    await runBatch(fc.sample(hostileCase, { numRuns: BATCH, seed: 1 }));
    heap.splice(0, heap.length - 1);
    reach.splice(0, reach.length - 1);
  });
  afterAll(async () => {
    await dev?.close();
  });

  it(`${BATCH * BATCHES} hostile byte streams: only documented outcomes, no leak`, async () => {
    const seed = Number(process.env.FC_SEED ?? Math.floor(Math.random() * 2 ** 31));
    // Every batch runs and every violation is collected (by kind, with its shortest example), so
    // that one bug does not hide the others.
    const found: Found = new Map();
    const batches = fc.sample(fc.array(hostileCase, { minLength: BATCH, maxLength: BATCH }), { numRuns: BATCHES, seed });
    for (const cases of batches) {
      const res = await runBatch(cases);
      expect(res.length).toBe(cases.length);
      cases.forEach((k, i) => {
        const s = res[i] as Summary;
        stats.cases++;
        stats.byLabel[k.label] = (stats.byLabel[k.label] ?? 0) + 1;
        if (s[0] !== 'driver') {
          stats.codes[String(s[1])] = (stats.codes[String(s[1])] ?? 0) + 1;
          if (s[6]) stats.refused++;
        }
        collect(found, k.data.length, violations(k, s), () => describeCase(k, s));
      });
    }
    console.log(`decoder fuzz (FC_SEED=${seed}): ${JSON.stringify(stats)}; bytes reachable from the modules after warm-up and each batch: ${reach.join(' ')}; gc.mem_alloc(): ${heap.join(' ')}`);
    expect(found.size, `property violations (reproduce with FC_SEED=${seed}):\n${report(found)}`).toBe(0);
    const growth = Math.max(...reach) - (reach[0] as number);
    expect(growth, `the heap reachable from the modules grew by ${growth} bytes over the run: ${reach.join(' ')}`).toBeLessThanOrEqual(REACHABLE_GROWTH);
  });

  it('a connection opened with a correct 101 is open, and the driver sees its frames', async () => {
    const res = await runBatch([{ data: Buffer.concat([frame({ op: OP.TEXT, payload: 'hi' }), frame({ op: OP.PING, payload: 'p' })]), chunks: [1], end: false, label: 'smoke' }]);
    const s = res[0] as Summary;
    expect(s.slice(0, 5)).toEqual([1, null, [['str', 2]], [], 'ok']);
    const { frames } = parseFrames(Buffer.from(s[5] as string, 'hex'));
    expect(frames.map((f) => [f.op, f.payload.toString()])).toEqual([
      [OP.PONG, 'p'],
      [OP.TEXT, 'after'],
    ]);
  });

  // Issue 10 item 10: no scan may be quadratic. 16 KB of hostile bytes of each kind are
  // decoded with counts that grow with the number of frames, and heap that grows with the bytes
  // (counts, not time: `npm run bench` prints the time).
  it('16 KB hostile payloads cost steps linear in their frames and heap linear in their bytes', async () => {
    const rows: string[] = [];
    for (const [what, data, maxSize] of hostilePayloads()) {
      await dev.writeFile('/payload.bin', data);
      const [calls, transitions, allocated, state] = JSON.parse(
        await dev.eval<string>(`json.dumps(__import__('sansio_driver').cost(open('/payload.bin', 'rb').read(), ${maxSize}))`),
      ) as number[];
      const frames = parseFrames(data).frames.length;
      rows.push(`${what}: ${frames} frames, ${calls} reads, ${transitions} transitions, ${allocated} B allocated, state ${state}`);
      expect(transitions, what).toBeLessThanOrEqual(frames + 2);
      // Empty continuations inside a message skip the machine: only the first frame dispatches.
      if (what === 'empty continuation frames') expect(transitions, what).toBeLessThanOrEqual(2);
      expect(calls, what).toBeLessThanOrEqual(3 * frames + 8);
      // Read ahead: a read takes what the 64-byte input buffer holds, however small the frames
      // (one or two reads a frame before).
      expect(calls, what).toBeLessThanOrEqual(Math.ceil(data.length / 48) + 4);
      expect(allocated, what).toBeLessThanOrEqual(ALLOC_PER_FRAME * frames + ALLOC_PER_BYTE * data.length);
    }
    console.log(rows.join('\n'));
  });

  // In MicroPython `from pkg.mod import f` inside a function searches the file system on every
  // call (about 0.3 ms in the VM; more on a board's flash), even with pkg.mod loaded:
  // `import pkg.mod as m` finds it in sys.modules. It ran for every text frame's UTF-8 check.
  it('the decoder and the machine actions import lazily loaded modules in the form that does not search the file system', () => {
    const src = fs.readFileSync(path.join(ROOT, 'runtime-esp8266/uwebsockets/protocol.py'), 'utf8');
    expect(src.split('\n').filter((l) => /^\s+from uwebsockets\.\w+ import/.test(l))).toEqual([]);
  });

  it('a 4 KB handshake response head is read in place: reads and heap linear in its length (each read copied the head so far)', async () => {
    const head = Buffer.from('HTTP/1.1 101 Switching Protocols\r\n' + 'X-Pad: '.padEnd(4000, 'p') + '\r\n\r\n', 'latin1');
    await dev.writeFile('/head.bin', head);
    const [reads, allocated, error] = JSON.parse(await dev.eval<string>(`json.dumps(__import__('sansio_driver').head_cost(open('/head.bin', 'rb').read()))`)) as [number, number, string];
    console.log(`4 KB response head: ${reads} reads, ${allocated} B allocated, error ${error}`);
    expect(error).toBe('no Upgrade: websocket'); // read to its end and judged
    // Up to 4 bytes a read (no read may run past the head: frames after it stay in the socket).
    expect(reads).toBeLessThanOrEqual(head.length);
    expect(allocated).toBeLessThanOrEqual(32 * head.length); // a few small objects a read, the driver's included (it was 540 bytes a byte)
  });

  it('a failure close code (1002, 1007) is kept when the server then sends a Close with another code', async () => {
    const failures: [string, Buffer, number][] = [
      ['masked frame (decoder)', frame({ op: OP.TEXT, payload: 'x', mask: true }), 1002],
      ['RSV1 (decoder)', frame({ op: OP.TEXT, payload: 'x', rsv: 4 }), 1002],
      ['continuation without a message (machine)', frame({ op: OP.CONT, payload: 'x' }), 1002],
      ['text inside a fragmented message (machine)', Buffer.concat([frame({ op: OP.TEXT, payload: 'a', fin: false }), frame({ op: OP.TEXT, payload: 'b' })]), 1002],
      ['invalid UTF-8 (machine)', frame({ op: OP.TEXT, payload: Buffer.from([0xff]) }), 1007],
    ];
    const cases = failures.flatMap(([label, bad]) =>
      [closePayload(1000, 'ok'), closePayload()].map((p) => ({ data: Buffer.concat([bad, frame({ op: OP.CLOSE, payload: p })]), chunks: [1 << 20], end: true, label })),
    );
    const res = await runBatch(cases);
    expect(cases.map((k, i) => `${k.label}: ${(res[i] as Summary)[1]}`)).toEqual(failures.flatMap(([label, , code]) => [`${label}: ${code}`, `${label}: ${code}`]));
  });
});
