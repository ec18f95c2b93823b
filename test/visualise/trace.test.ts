// Tracing: fsmtrace records a real simulated run of the WebSocket client (`sim run --trace`),
// `trace decode` prints it with the spec's names, checks every step against the generated
// XState machine, and names the first bad record of a trace from another spec version or of a
// corrupt file. fsmtrace also runs under CPython, and costs nothing until it is imported.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { compileProject } from '../../generator/pipeline.ts';
import { decodeTrace } from '../../generator/trace/decode.ts';
import { parseTrace } from '../../generator/trace/format.mjs';
import { specVersion } from '../../generator/analyses/fingerprint.ts';
import { micropythonModuleName } from '../../generator/analyses/ids.ts';
import { SimDevice, projectFiles } from '../../generator/sim/device.ts';
import { copyOfRepo, removeRoot, repoRoot, runCli, type CliResult } from '../generator/support.ts';
import { captureEchoTrace, echoSteps, echoStepsWith, editedTrace, firstRecordOffset } from './support.ts';

const machines = compileProject(repoRoot);
const ws = machines.find((c) => c.machine.name === 'websocket')!;
const leafId = (name: string) => ws.flat.leaves.findIndex((l) => ws.machine.states[l]!.name === name);
const eventId = (name: string) => ws.flat.events.indexOf(name);

let dir: string;
let trace: string;
let run: CliResult;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'wirestate-trace-'));
  ({ trace, run } = await captureEchoTrace(dir));
});
afterAll(() => removeRoot(dir));

const decode = (file: string, ...more: string[]) => runCli(['trace', 'decode', file, ...more]);

describe('sim run --trace', () => {
  it('runs the script as usual and saves the trace', () => {
    expect(run.stderr).toBe('');
    expect(run.stdout).toBe("hello\nbytearray(b'\\x01\\x02')\nagain\n1000\n"); // binary messages are bytearrays (README, the WebSocket client)
    expect(run.code).toBe(0);
    const bytes = readFileSync(trace);
    expect(bytes.subarray(0, 4).toString()).toBe('WST1');
    // 4 bytes a transition after the header.
    expect(bytes.length - firstRecordOffset(bytes)).toBe(4 * echoSteps.length);
  });

  it('records a version the spec agrees with', () => {
    const bytes = readFileSync(trace);
    expect(bytes.readUInt32LE(5)).toBe(specVersion(ws.flat, ws.tables));
    expect(bytes.subarray(10, 10 + bytes[9]!).toString()).toBe(micropythonModuleName('websocket'));
  });

  it('saves the trace of a script that fails too, up to the failure', async () => {
    const script = join(dir, 'fails.py');
    writeFileSync(script, "import uwebsockets.client\nuwebsockets.client.connect('ws://127.0.0.1:1/')\n");
    const out = join(dir, 'fails.wst');
    const r = await runCli(['sim', 'run', '--trace', out, script]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/Traceback/);
    // Connection refused before the machine started: a valid trace with no step.
    const d = await decode(out);
    expect(d.stdout).toBe(`${out}: 0 steps of no machine\n`);
    expect(d.code).toBe(0);
  });
});

describe('trace decode', () => {
  it('prints every step with the names and spec lines of the transitions taken', async () => {
    const { code, stdout, stderr } = await decode(trace);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const lines = stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(new RegExp(`^${trace}: ${echoSteps.length} steps of websocket_fsm 0x[0-9a-f]{8}$`));
    const steps = lines.slice(1).map((l) => /^ *(\d+) {2}websocket {2}(.*?)(?: {2}(.*))?$/.exec(l));
    expect(steps.map((s) => s?.[2])).toEqual(echoStepsWith(steps.map((s) => s?.[2] ?? '')));
    expect(steps.map((s) => Number(s![1]))).toEqual(echoSteps.map((_, i) => i));
    // The handshake took the guarded candidate; a text frame the [fin] one that stays.
    const line = (event: string, guard: string) => ws.machine.transitions.find((t) => t.event === event && t.guard?.name === guard)!.pos.line;
    expect(steps[1]![3]).toBe(`[handshake_ok] spec/websocket.yaml:${line('handshake_response', 'handshake_ok')}`);
    expect(steps[3]![3]).toBe(`[fin] spec/websocket.yaml:${line('text', 'fin')}`);
    expect(steps[0]![3]).toBeUndefined();
  });

  it('flags a step the XState machine cannot make, and exits 1', async () => {
    // Record 11, sent --close--> received, made to end in idle.
    const bad = editedTrace(trace, join(dir, 'impossible.wst'), (b, at) => {
      b[at + 11 * 4 + 3] = leafId('idle');
      return b;
    });
    const { code, stdout, stderr } = await decode(bad);
    expect(code).toBe(1);
    expect(stdout).toContain("11  websocket  sent --close--> idle  IMPOSSIBLE: XState's websocket machine goes from sent on close only to received\n");
    expect(stdout.match(/IMPOSSIBLE/g)).toHaveLength(1);
    expect(stderr).toBe('wirestate trace: 1 impossible step\n');
  });

  it('names the first record of a trace from another version of the spec', async () => {
    // The same runtime ids, another table: a final state the client may give up in.
    const other = copyOfRepo('trace-version', ['spec', 'runtime-esp8266']);
    try {
      const spec = join(other, 'spec/websocket.yaml');
      const text = readFileSync(spec, 'utf8');
      writeFileSync(
        spec,
        text.replace('      open_timeout:\n        target: failed', '      close_request: abandoned\n      open_timeout:\n        target: failed') +
          '  abandoned:\n    doc: Given up before the handshake ended.\n    final: true\n    entry: close_tcp\n',
      );
      const { code, stdout, stderr } = await decode(trace, '--root', other);
      expect(stdout).toBe('');
      expect(stderr).toMatch(/^wirestate trace: .*echo\.wst: record 0: websocket_fsm was traced with spec version 0x[0-9a-f]{8}, but spec\/websocket\.yaml is version 0x[0-9a-f]{8}: the trace comes from another version of the spec\n$/);
      expect(code).toBe(1);
    } finally {
      removeRoot(other);
    }
  });

  it.each([
    ['not a trace', (b: Uint8Array) => new TextEncoder().encode(`hello ${b.length}`), "not a wirestate trace: it does not start with 'WST1'"],
    ['a header cut short', (b: Uint8Array) => b.subarray(0, 12), 'the header is cut short: the file ends at byte 12, in machine 0\'s name'],
    ['the last record cut short', (b: Uint8Array) => b.subarray(0, b.length - 2), `record ${echoSteps.length - 1}: cut short: the file ends 2 of its 4 bytes into it`],
    ['records missing', (b: Uint8Array) => b.subarray(0, b.length - 8), `record ${echoSteps.length - 2}: missing: the header announces ${echoSteps.length} records, the file holds ${echoSteps.length - 2}`],
    ['bytes after the records', (b: Uint8Array) => new Uint8Array([...b, 1, 2, 3]), `3 bytes follow the last record (${echoSteps.length - 1}) that the header announces`],
    ['a machine the header does not list', (b: Uint8Array, at: number) => ((b[at + 4 * 4] = 3), b), 'record 4: machine 3, but the header lists 1'],
    ['a state out of range', (b: Uint8Array, at: number) => ((b[at + 6 * 4 + 3] = 200), b), 'record 6: state 200 is out of range: websocket has 8 states'],
    ['an event out of range', (b: Uint8Array, at: number) => ((b[at + 7 * 4 + 2] = 99), b), 'record 7: event 99 is out of range: websocket has 15 events'],
    ['an unknown machine', (b: Uint8Array) => (b.set(new TextEncoder().encode('elsewhere_fsm'), 10), b), "record 0: machine 'elsewhere_fsm' is not one of this project's machines"],
  ])('rejects %s, naming what is wrong', async (label, edit, message) => {
    const bad = editedTrace(trace, join(dir, `${label.replace(/\W+/g, '-')}.wst`), edit);
    const { code, stdout, stderr } = await decode(bad);
    expect(stdout).toBe('');
    expect(stderr).toBe(`wirestate trace: ${bad}: ${message}\n`);
    expect(code).toBe(1);
  });

  it('the XState machine and the tables agree on every step the tables can make, and on none other', async () => {
    // A trace of every (state, event) pair, each ending in every atomic state: XState must
    // allow exactly the ends the flattened candidates (the tables) can reach.
    const records: number[] = [0, 0, 255, ws.flat.leaves.indexOf(ws.flat.start.target)];
    const expected: boolean[] = [true];
    ws.flat.candidates.forEach((row, from) =>
      row.forEach((cands, event) => {
        const ends = new Set(cands.map((c) => (c.target === null ? from : ws.flat.leaves.indexOf(c.target))));
        ws.flat.leaves.forEach((_, to) => {
          records.push(0, from, event, to);
          expected.push(ends.has(to));
        });
      }),
    );
    const name = new TextEncoder().encode('websocket_fsm');
    const header = [...new TextEncoder().encode('WST1'), 1, ...u32(specVersion(ws.flat, ws.tables)), name.length, ...name, ...u32(expected.length), ...u32(0)];
    const { steps } = await decodeTrace(repoRoot, machines, parseTrace(new Uint8Array([...header, ...records])));
    expect(steps.map((s) => s.possible.includes(s.to))).toEqual(expected);
    expect(expected.filter(Boolean).length).toBeGreaterThan(1);
  });

  it('--help; a missing file or subcommand is a usage error', async () => {
    const [help, missing, sub] = await Promise.all([runCli(['trace', '--help']), decode(join(dir, 'nothing.wst')), runCli(['trace', 'show', trace])]);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: wirestate trace decode FILE \[--root DIR\]/);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('wirestate trace: no such file:');
    expect(sub.code).toBe(2);
    expect(sub.stderr).toContain("wirestate trace: unknown subcommand 'show'");
  });
});

describe('fsmtrace', () => {
  it('keeps the last n transitions, saves them oldest first, and stops, under CPython', async () => {
    const out = join(dir, 'cpython.wst');
    const e = (name: string) => eventId(name);
    const py = `
import sys
sys.path[:0] = [${JSON.stringify(join(repoRoot, 'runtime-esp8266'))}, ${JSON.stringify(join(repoRoot, 'generated', 'micropython'))}]
import fsm, fsmtrace, websocket_fsm as W

class Conn:
    delays = W.TIMER_MS
    def guard(self, g): return True
    def act(self, a): pass

fsmtrace.start(4)
c = Conn()
fsm.start(W, c)
for ev in (${e('handshake_response')}, ${e('send_message')}, ${e('send_ping')}, ${e('send_message')}, ${e('close_request')}):
    fsm.fire(W, c, ev)
fsmtrace.save('${out}')
fsmtrace.stop()
fsm.fire(W, c, ${e('close')})
print(fsm.trace, fsmtrace._n)
`;
    const { stdout } = await promisify(execFile)('python3', ['-c', py]);
    expect(stdout).toBe('None 6\n');
    const d = await decode(out);
    expect(d.stdout).toContain('(2 earlier steps were dropped: the device kept the last 4)\n');
    expect(d.stdout.trimEnd().split('\n').slice(2).map((l) => l.replace(/^ *\d+ {2}websocket {2}| {2}spec.*$/g, ''))).toEqual([
      'idle --send_message--> idle',
      'idle --send_ping--> idle',
      'idle --send_message--> idle',
      'idle --close_request--> sent',
    ]);
    expect(d.code).toBe(0);
  });

  it('is not imported by the client: tracing costs nothing until asked for', async () => {
    const dev = await SimDevice.boot({ files: projectFiles(repoRoot) });
    try {
      await dev.exec('import sys, fsm, uwebsockets.client');
      expect(await dev.eval("'fsmtrace' in sys.modules or fsm.trace is not None")).toBe(false);
    } finally {
      await dev.close();
    }
  });
});

function u32(v: number): number[] {
  return [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24];
}
