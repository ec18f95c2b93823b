// End-to-end tests of the Socket.IO client (runtime-esp8266/usocketio) against real servers
// started here: the `socket.io` 4.8 package (polling then upgrade, WebSocket only, polling
// only, and Engine.IO 3 with allowEIO3), the `socket.io` 2.x package (alias socket.io-v2) and
// Debian's Flask-SocketIO 5 on eventlet; then faults: a server killed and restarted on its
// port, a server that goes silent (ping timeout) and a connection cut in the middle of a packet
// (a TCP proxy of test/support/sioServers.ts). Every case runs on the simulated ESP8266
// (MicroPython) and on CPython 3.11. Scenarios are Python code (test/support/py/prelude.py and
// sio_prelude.py loaded) that sets R. Cases run concurrently, each on an interpreter of its
// own (a pool per target), and tag their connections (?case=<tag>) so servers can be shared.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, sleep } from '../support/net.ts';
import { ROOT, availableTargets, makeTarget, ok, type PyTarget, type RunResult, type TargetName } from '../support/pyRunner.ts';
import {
  flaskSocketioUnavailable,
  startFlaskServer,
  startProxy,
  startSioServer,
  type SioServer,
} from '../support/sioServers.ts';
import { pattern, trustFixturePy } from '../support/wsTestServer.ts';

const SIO_PRELUDE = fs.readFileSync(path.join(ROOT, 'test', 'support', 'py', 'sio_prelude.py'), 'utf8');
const ENOTCONN = 107;
const py = String.raw; // Python source: backslashes stay as written

/** Interpreters of one target, one per case running at a time. */
class Pool {
  private idle: PyTarget[] = [];
  private all: PyTarget[] = [];
  constructor(private readonly name: TargetName) {}

  async raw<T>(code: string, timeoutMs = 15_000): Promise<RunResult<T>> {
    let t = this.idle.pop();
    if (!t) {
      t = makeTarget(this.name);
      this.all.push(t);
    }
    try {
      return await t.run<T>(SIO_PRELUDE + '\n' + code, { timeoutMs });
    } finally {
      this.idle.push(t);
    }
  }

  async run<T>(code: string, timeoutMs = 15_000): Promise<T> {
    return ok(await this.raw<T>(code, timeoutMs));
  }

  async close(): Promise<void> {
    await Promise.all(this.all.map((t) => t.close()));
  }
}


let serial = 0;
/** A tag no other case uses. */
const tagFor = (target: string, what: string) => `${target}-${what}-${++serial}`;

type L = [string, string, unknown][];
const seen = (l: L, ev: string, ns = '/') => l.filter((x) => x[0] === ns && x[1] === ev);
const b = (...bytes: number[]) => Buffer.from(bytes);

const targets = availableTargets();
for (const t of targets) if (t.skip) console.warn(`\n*** SKIPPED: Socket.IO e2e suite on ${t.name}: ${t.skip} ***\n`);
const flaskMissing = flaskSocketioUnavailable();
if (flaskMissing)
  console.warn(
    `\n*** SKIPPED: "Flask-SocketIO 5 (eventlet)" suites of test/e2e/socketio.test.ts: ${flaskMissing}. ` +
      'Install them with: sudo apt-get install python3-flask-socketio python3-eventlet ***\n',
  );

// ------------------------------------------------------------------------ the core scenario

/** How the session is expected to be carried. */
type Carried = 'upgrade' | 'websocket' | 'polling';

interface CoreResult {
  ok: boolean;
  done: boolean;
  sid: string;
  sid2: string;
  after: unknown;
  A: unknown[][];
  L: L;
  Q: unknown[][];
}

/**
 * The scenario every server gets (handlers registered before the loop runs: wait=False):
 * connect, events both ways (text, numbers, nested JSON,
 * binary attachments nested in both directions), acks both ways (several values, none, binary
 * ones), send(), close(). `spinMs` lets an upgrade happen before the events.
 */
const coreScenario = (url: string, kw: string, spinMs: number) => py`
L = []; A = []; Q = []
c = sio_connect('${url}', wait=False${kw})
log(c, L)
@c.on('question')
def question(a, b):
    Q.append(['question', a, b])
    return ('answer', a + b)
@c.on('bin')
def binq(d, l):
    Q.append(['bin', d, l])
    return ({'back': d['blob'], 'more': [l[0], {'deep': b'\xff\xfe'}]}, b'tail')
@c.on('nothing')
def nothing():
    Q.append(['nothing'])
ok = until(c, lambda: seen(L, 'connect'))
sid = c.sid
spin(c, ${spinMs})
c.emit('echo', 'hello ✓', 7, {'a': [1, None, True, 2.5]}, callback=lambda *a: A.append(['first'] + list(a)))
c.emit('echo', callback=lambda *a: A.append(['empty'] + list(a)))
c.emit('echo', {'blob': pattern(300), 'nested': [1, b'\x00', {'x': [b'', b'\xfe\xff']}]}, b'second', callback=lambda *a: A.append(['bin'] + list(a)))
c.emit('reflect', 'text', {'k': b'\x01\x02'})
c.emit('ask', 'question', 2, 3)
c.emit('ask', 'bin', {'blob': b'abc'}, [b'\x01', [b'\x02']])
c.emit('ask', 'nothing')
c.send('message text')
done = until(c, lambda: len(A) == 3 and seen(L, 'echo') and len(Q) == 3)
spin(c, 150)
sid2 = c.sid
c.close()
R = {'ok': ok, 'done': done, 'sid': sid, 'sid2': sid2, 'after': c.sid, 'A': A, 'L': L, 'Q': Q}
`;

async function checkCore(r: CoreResult, srv: SioServer, tag: string, carried: Carried, server: 'node' | 'flask'): Promise<void> {
  expect(r.ok, `never connected: ${JSON.stringify(r.L)}`).toBe(true);
  expect(r.done, `not everything arrived: ${JSON.stringify(r)}`).toBe(true);
  expect(typeof r.sid).toBe('string');
  expect(r.sid2).toBe(r.sid);
  expect(r.after).toBe(null);
  const connects = srv.of(tag, 'connect').filter((e) => e.ns === '/');
  expect(connects.map((e) => e.sid)).toEqual([r.sid]);

  // What the client heard: connect first (Flask's welcome, emitted by its connect handler
  // before python-socketio sends the CONNECT, comes right after it), its own disconnect last.
  expect(r.L[0]).toEqual(['/', 'connect', r.sid]);
  if (server === 'flask') expect(r.L[1]).toEqual(['/', 'welcome', [`hello ${tag}`]]);
  expect(seen(r.L, 'echo')).toEqual([['/', 'echo', ['text', { k: b(1, 2) }]]]);
  expect(r.L[r.L.length - 1]).toEqual(['/', 'disconnect', 'io client disconnect']);
  expect(r.L.length).toBe(server === 'flask' ? 4 : 3);

  // The acks of the client's emits, in order (the first has ack id 0).
  expect(r.A).toEqual([
    ['first', 'hello ✓', 7, { a: [1, null, true, 2.5] }],
    ['empty'],
    ['bin', { blob: pattern(300), nested: [1, b(0), { x: [Buffer.alloc(0), b(0xfe, 0xff)] }] }, Buffer.from('second')],
  ]);
  // The server's emits with acks: the handlers' arguments (binary ones included).
  expect(r.Q).toEqual([['question', 2, 3], ['bin', { blob: Buffer.from('abc') }, [b(1), [b(2)]]], ['nothing']]);

  // What the server got: every event once, in order, with its arguments.
  await srv.wait((e) => e.tag === tag && e.kind === 'disconnect', 5000, 'disconnect');
  const evs = srv.of(tag, 'event');
  expect(evs.map((e) => [e.ns, e.name, e.args])).toEqual([
    ['/', 'echo', ['hello ✓', 7, { a: [1, null, true, 2.5] }]],
    ['/', 'echo', []],
    ['/', 'echo', [{ blob: pattern(300), nested: [1, b(0), { x: [Buffer.alloc(0), b(0xfe, 0xff)] }] }, Buffer.from('second')]],
    ['/', 'reflect', ['text', { k: b(1, 2) }]],
    ['/', 'ask', ['question', 2, 3]],
    ['/', 'ask', ['bin', { blob: Buffer.from('abc') }, [b(1), [b(2)]]]],
    ['/', 'ask', ['nothing']],
    ['/', 'message', ['message text']],
  ]);
  // The handlers' return values came back as acks: several values, binary, none.
  expect(srv.of(tag, 'answer').map((e) => [e.name, e.args])).toEqual([
    ['question', ['answer', 5]],
    ['bin', [{ back: Buffer.from('abc'), more: [b(1), { deep: b(0xff, 0xfe) }] }, Buffer.from('tail')]],
    ['nothing', []],
  ]);
  const gone = srv.of(tag, 'disconnect');
  expect(gone.length).toBe(1);
  if (server === 'node') {
    expect(gone[0]?.reason).toBe('client namespace disconnect');
    // The session ended with the client's goodbye (a close packet, or WebSocket's Close), not a timeout.
    const closed = await srv.wait((e) => e.tag === tag && e.kind === 'closed', 3000, 'the Engine.IO session end');
    expect(closed.reason).toBe('transport close');
  }

  // How the session was carried.
  if (server === 'node') {
    const engines = srv.of(tag, 'engine');
    expect(engines.length, 'one Engine.IO session').toBe(1);
    expect(engines[0]?.transport).toBe(carried === 'websocket' ? 'websocket' : 'polling');
    const ups = srv.of(tag, 'upgrade');
    if (carried === 'upgrade') {
      expect(ups.map((e) => e.transport)).toEqual(['websocket']);
      for (const e of evs) expect(e.t, `${e.name} came before the upgrade`).toBeGreaterThan(ups[0]!.t);
    } else expect(ups).toEqual([]);
  } else {
    for (const e of evs) expect(e.transport, `${e.name} was carried by`).toBe(carried === 'polling' ? 'polling' : 'websocket');
  }
}

// ------------------------------------------------------------------------------- the suites

for (const { name, skip } of targets) {
  describe.skipIf(!!skip)(`Socket.IO client on ${name}`, () => {
    const pool = new Pool(name);
    afterAll(async () => {
      await pool.close();
    });
    const tag = (what: string) => tagFor(name, what);

    // -------------------------------------------------------------- socket.io 4.8, default

    describe.concurrent('socket.io 4.8, default transports (polling, then the upgrade to WebSocket)', () => {
      let srv: SioServer;
      beforeAll(async () => {
        srv = await startSioServer('v4');
      });
      afterAll(async () => {
        await srv?.close();
      });

      it('connects over polling, upgrades, and carries events, acks and binary both ways', async () => {
        const t = tag('core');
        const r = await pool.run<CoreResult>(coreScenario(`${srv.url}/?case=${t}`, '', 600));
        await checkCore(r, srv, t, 'upgrade', 'node');
      });

      it('events emitted all through a slow upgrade arrive once each, in order, both ways', async () => {
        // A proxy holds the probe WebSocket until the server has 5 events, so polling carries
        // the first events and the switch (pause, drain, upgrade, flush) happens while the
        // client keeps emitting, one emit a step, until 5 more have gone after the upgrade.
        const proxy = await startProxy(srv.port);
        try {
          const t = tag('upgrading');
          proxy.holdWebsocket = srv.wait((e) => e.tag === t && e.kind === 'event' && srv.of(t, 'event').length >= 5, 20_000).catch(() => undefined);
          const r = await pool.run<{ ok: boolean; got: unknown[]; n: number }>(py`
L = []
c = sio_connect('${proxy.url}/?case=${t}', wait=False, max_queue=1000)
log(c, L)
n = after = 0
t0 = now_ms()
while after < 5 and since_ms(t0) < 20000:  # (a hang guard)
    if seen(L, 'connect'):
        c.emit('reflect', n)
        n += 1
        after += c.engine.ws is not None
    c.step(10)
ok = until(c, lambda: len(seen(L, 'echo')) == n)
c.close()
R = {'ok': ok, 'got': [x[2][0] for x in seen(L, 'echo')], 'n': n}`, 30_000);
          expect(r.n).toBeGreaterThanOrEqual(10);
          expect(r.ok).toBe(true);
          const all = [...Array(r.n).keys()];
          expect(r.got).toEqual(all);
          expect(srv.of(t, 'event').map((e) => e.args?.[0])).toEqual(all);
          expect(srv.of(t, 'upgrade').map((e) => e.transport)).toEqual(['websocket']);
          // Some went before the upgrade and some after: the switch happened mid-stream.
          const up = srv.of(t, 'upgrade')[0]!.t;
          const evs = srv.of(t, 'event');
          expect(evs.filter((e) => e.t < up).length, 'events before the upgrade').toBeGreaterThan(3);
          expect(evs.filter((e) => e.t > up).length, 'events after the upgrade').toBeGreaterThan(3);
        } finally {
          await proxy.close();
        }
      });

      it('handlers registered after connect() returns (the original package usage) hear "connect" and what the server emits on connection', async () => {
        await lateHandlersCase(pool, srv, tag('late'), '');
      });

      it('the loop waits: step() does not spin while connecting, upgrading, or idle on any transport', async () => {
        // step(200) returns early only when something happened; a loop that spins (a socket
        // that reads as ready but is never read, a pump that claims progress) runs thousands
        // of times in 1.5 s.
        for (const transports of ['', ", transports=('polling',)", ", transports=('websocket',)"]) {
          const t = tag(`idle${transports.length}`);
          const r = await pool.run<{ steps: number; connected: boolean; ws: boolean }>(py`
c = sio_connect('${srv.url}/?case=${t}', wait=False${transports})
steps = 0
t0 = now_ms()
while since_ms(t0) < 1500:
    c.step(200)
    steps += 1
R = {'steps': steps, 'connected': c.sid is not None, 'ws': c.engine.ws is not None}
c.close()`);
          expect(r.connected, transports).toBe(true);
          expect(r.ws, transports).toBe(!transports.includes('polling'));
          expect(r.steps, `steps in 1.5 s${transports}`).toBeLessThan(80);
        }
      });

      it('transports=("websocket",) opens the session on WebSocket directly', async () => {
        const t = tag('wsonly-client');
        const r = await pool.run<CoreResult>(coreScenario(`${srv.url}/?case=${t}`, `, transports=('websocket',)`, 0));
        await checkCore(r, srv, t, 'websocket', 'node');
      });

      it('transports=("polling",) never probes a WebSocket', async () => {
        const t = tag('polling-client');
        const r = await pool.run<CoreResult>(coreScenario(`${srv.url}/?case=${t}`, `, transports=('polling',)`, 400));
        await checkCore(r, srv, t, 'polling', 'node');
      });

      it('namespaces: auth middleware accepts and refuses (connect_error with the data, no retry), leave and rejoin', async () => {
        const t = tag('nsp');
        await namespaceCase(pool, srv, t, 'v4');
      });

      it('a namespace in the URL; a client whose only namespace is refused stops, its run_forever returns', async () => {
        const t = tag('urlns');
        const r = await pool.run<Record<string, unknown>>(py`
L = []; A = []; L2 = []; L3 = []
c = sio_connect('${srv.url}/private?case=${t}', auth=lambda: {'token': 'secret'})
log(c, L, '/private')
log(c, L, '/')
ok = until(c, lambda: seen(L, 'connect', '/private'))
c.emit('echo', 'in private', namespace='/private', callback=lambda *a: A.append(list(a)))
until(c, lambda: A)
root = fails(c.emit, 'echo', 'x')
sid = c.sid
c.close()
d = sio_connect('${srv.url}/private?case=${t}-bad', auth={'token': 'nope'})
log(d, L2, '/private')
t0 = now_ms()
d.run_forever()
dt = since_ms(t0)
e = sio_connect('${srv.url}/admin?case=${t}-admin', reconnection_delay=0.05)
log(e, L3, '/admin')
e.run_forever()
R = {'ok': ok, 'A': A, 'root': root, 'sid': sid, 'L': L, 'L2': L2, 'dt': dt, 'L3': L3, 'after': fails(e.emit, 'x', namespace='/admin')}`);
        expect(r.ok).toBe(true);
        expect(r.A).toEqual([['in private']]);
        expect(r.root).toEqual(['exc', 'OSError', ENOTCONN]); // '/' was not joined
        expect(r.sid).toBe(null);
        expect(r.L).toEqual([
          ['/private', 'connect', null],
          ['/private', 'disconnect', 'io client disconnect'],
        ]);
        expect(srv.of(t, 'connect').map((e) => e.ns)).toEqual(['/private']);
        expect(srv.of(t, 'middleware').map((e) => e.auth)).toEqual([{ token: 'secret' }]);
        expect(srv.of(t, 'event').map((e) => [e.ns, e.name, e.args])).toEqual([['/private', 'echo', ['in private']]]);
        expect(r.L2).toEqual([['/private', 'connect_error', { message: 'bad token', data: { code: 401, token: 'nope' } }]]);
        expect(r.dt as number).toBeLessThan(3000);
        expect(r.L3).toEqual([['/admin', 'connect_error', { message: 'not authorized', data: { code: 403, why: 'admins only ✓' } }]]);
        expect(r.after).toEqual(['exc', 'OSError', ENOTCONN]);
        await sleep(300);
        // Refused namespaces are not retried: one session and one middleware run each.
        expect(srv.of(`${t}-bad`, 'engine').length).toBe(1);
        expect(srv.of(`${t}-bad`, 'middleware').length).toBe(1);
        expect(srv.of(`${t}-admin`, 'engine').length).toBe(1);
        expect(srv.of(`${t}-admin`, 'middleware').length).toBe(1);
      });

      it('server disconnect (socket.disconnect(true)): "io server disconnect", no reconnection, run_forever returns', async () => {
        const t = tag('kick');
        await kickCase(pool, srv, t, '');
      });

      it('the original usocketio API: with-statement, handlers taking self, at_interval, close() from a handler', async () => {
        const t = tag('oldapi');
        const r = await pool.run<Record<string, unknown>>(py`
M = []; T = []; D = []; S = []
with sio_connect('${srv.url}/?case=${t}') as c:
    @c.on('connect')
    def on_connect():
        M.append('connect')
    @c.on('echo')
    def on_echo(self, data):
        M.append([self is c, data])
        if data == 'third':
            c.close()
    @c.on('disconnect')
    def on_disconnect():
        D.append('no reason taken')
    @c.at_interval(0.1)
    def tick():
        T.append(now_ms())
        if c.sid and len(S) < 3:
            S.append(1)
            c.send('tick %d' % len(S))
            c.emit('reflect', ['first', 'second', 'third'][len(S) - 1])
        if len(T) > 50:  # a watchdog: 5 s
            c.close()
    c.run_forever()
R = {'M': M, 'T': len(T), 'D': D, 'sid': c.sid}`);
        expect(r.M).toEqual(['connect', [true, 'first'], [true, 'second'], [true, 'third']]);
        expect(r.D).toEqual(['no reason taken']);
        expect(r.sid).toBe(null);
        expect(srv.of(t, 'event').filter((e) => e.name === 'message').map((e) => e.args)).toEqual([['tick 1'], ['tick 2'], ['tick 3']]);
      });

      it('ack ids start at 0 both ways (a fresh server), as the wire shows', async () => {
        const own = await startSioServer('v4', { packets: true });
        try {
          const t = tag('ack0');
          const r = await pool.run<Record<string, unknown>>(py`
A = []; Q = []
c = sio_connect('${own.url}/?case=${t}', transports=('websocket',))
@c.on('question')
def question(a, b):
    Q.append([a, b])
    return a * b
c.emit('echo', 'zero', callback=lambda *a: A.append(list(a)))
c.emit('echo', 'one', callback=lambda *a: A.append(list(a)))
until(c, lambda: len(A) == 2)
c.emit('ask', 'question', 6, 7)
until(c, lambda: Q)
spin(c, 100)
c.close()
R = {'A': A, 'Q': Q}`);
          expect(r.A).toEqual([['zero'], ['one']]);
          expect(r.Q).toEqual([[6, 7]]);
          await own.wait((e) => e.tag === t && e.kind === 'answer', 3000, 'answer');
          expect(own.of(t, 'answer').map((e) => e.args)).toEqual([[42]]);
          // Packets as '<dir> <type><ack id><JSON>', the JSON normalised (the ports' json.dumps space it differently).
          const wire = own.of(t, 'packet').map((e) => {
            const m = /^(\d+)(\[.*)$/s.exec(String(e.data));
            return `${e.dir} ${m ? m[1] + JSON.stringify(JSON.parse(m[2]!)) : String(e.data)}`;
          });
          expect(wire).toEqual(
            expect.arrayContaining(['in 20["echo","zero"]', 'out 30["zero"]', 'in 21["echo","one"]', 'out 31["one"]', 'out 20["question",6,7]', 'in 30[42]']),
          );
        } finally {
          await own.close();
        }
      });

      it('nothing listening: connect() raises OSError; without wait, connect_error per attempt, reconnection_attempts, then run_forever returns', async () => {
        const port = await freePort();
        const r = await pool.run<Record<string, unknown>>(py`
try:
    sio_connect('http://127.0.0.1:${port}/', timeout=2)
    first = 'connected?'
except OSError as e:
    first = 'OSError'
E = []
c = sio_connect('http://127.0.0.1:${port}/', wait=False, reconnection_attempts=2, reconnection_delay=0.05, reconnection_delay_max=0.1)
c.on('connect_error', lambda why: E.append(why))
t0 = now_ms()
c.run_forever()
R = {'first': first, 'E': E, 'dt': since_ms(t0), 'emit': fails(c.emit, 'x')}`);
        expect(r.first).toBe('OSError');
        // The first attempt and two more, each reported, then the client gives up.
        expect(r.E).toEqual(['transport error', 'transport error', 'transport error']);
        expect(r.dt as number).toBeLessThan(2000);
        expect(r.emit).toEqual(['exc', 'OSError', ENOTCONN]);
      });

      it('emits wait while not connected and go out in order once the namespace is; OverflowError past max_queue; ENOTCONN once closed', async () => {
        const t = tag('held');
        const r = await pool.run<Record<string, unknown>>(py`
A = []; L = []
c = sio_connect('${srv.url}/?case=${t}', wait=False, max_queue=5)
log(c, L)
for i in range(5):
    c.emit('echo', i, callback=lambda *a: A.append(a[0]))
over = catch(c.emit, 'echo', 5)
ok = until(c, lambda: len(A) == 5)
c.close()
R = {'ok': ok, 'A': A, 'over': over[:2], 'after': fails(c.emit, 'echo', 6), 'L': L}`);
        expect(r.ok).toBe(true);
        expect(r.A).toEqual([0, 1, 2, 3, 4]);
        expect(r.over).toEqual(['exc', 'OverflowError']);
        expect(r.after).toEqual(['exc', 'OSError', ENOTCONN]);
        expect(srv.of(t, 'event').map((e) => e.args)).toEqual([[0], [1], [2], [3], [4]]);
      });

      it("emit() refuses the event names the server's parser rejects (ValueError, nothing sent); the session goes on", async () => {
        const t = tag('reserved');
        const r = await pool.run<Record<string, unknown>>(py`
A = []
c = sio_connect('${srv.url}/?case=${t}')
R = {'refused': [fails(c.emit, n, 1)[:2] for n in ('connect', 'connect_error', 'disconnect', 'disconnecting', 'newListener', 'removeListener')]}
c.emit('echo', 'still', callback=lambda *a: A.append(a[0]))
R['ok'] = until(c, lambda: A)
R['A'] = A
c.close()`);
        // (socket.io's parser rejects them all: the server closes the session, 'forced close'.)
        expect(r.refused).toEqual(Array(6).fill(['exc', 'ValueError']));
        expect(r.ok).toBe(true);
        expect(r.A).toEqual(['still']);
        expect(srv.of(t, 'event').map((e) => e.name)).toEqual(['echo']);
        expect(srv.of(t, 'engine').length).toBe(1);
      });

      it('query values are percent-encoded (a query string is sent as given)', async () => {
        const t = tag('query');
        const r = await pool.run<Record<string, unknown>>(py`
L = []
c = sio_connect('${srv.url}/?case=${t}', query={'q': 'a b', 'city': 'Zürich ✓', 'x': 'x&EIO=3', 'p+c': '100%'})
log(c, L)
until(c, lambda: seen(L, 'connect'))
d = sio_connect('${srv.url}/?case=${t}-raw', query='pre=set&also=a%20b')
until(d, lambda: d.sid)
c.close(); d.close()
R = {'L': L}`);
        expect(seen(r.L as L, 'connect').length).toBe(1);
        for (const kind of ['engine', 'connect'] as const) {
          const q = srv.of(t, kind)[0]?.query;
          expect(q, kind).toMatchObject({ case: t, q: 'a b', city: 'Zürich ✓', x: 'x&EIO=3', 'p+c': '100%', EIO: '4' });
        }
        expect(srv.of(`${t}-raw`, 'engine')[0]?.query).toMatchObject({ pre: 'set', also: 'a b', EIO: '4' });
      });

      it("a handler's own TypeError comes out of step() once (the handler is not called again with fewer arguments); the client goes on", async () => {
        const t = tag('typeerror');
        const r = await pool.run<Record<string, unknown>>(py`
N = []; A = []
c = sio_connect('${srv.url}/?case=${t}')
def inner(a):
    return a
@c.on('echo')
def on_echo(*args):
    N.append(list(args))
    inner(1, 2)  # a bug in the handler: TypeError "inner() takes 1 positional argument but 2 were given"
@c.on('short')
def on_short(a):  # the server sends two: the call is fitted to what the handler takes
    N.append(['short', a])
c.emit('reflect', 'a', 'b')
first = catch(until, c, lambda: False, 2000)
c.emit('ask', 'short', 1, 2)
c.emit('echo', 'still', callback=lambda *a: A.append(a[0]))
ok = until(c, lambda: A and len(N) == 2)
c.close()
R = {'first': first[:2], 'N': N, 'A': A, 'ok': ok}`);
        expect(r.first).toEqual(['exc', 'TypeError']);
        expect(r.ok).toBe(true);
        expect(r.N).toEqual([['a', 'b'], ['short', 1]]);
        expect(r.A).toEqual(['still']);
      });

      it('an auth function that raises: that namespace hears connect_error "auth: ..." and is refused; the others, and a later join, work', async () => {
        const t = tag('authfn');
        const r = await pool.run<Record<string, unknown>>(py`
L = []; A = []
c = sio_connect('${srv.url}/?case=${t}', wait=False)
for ns in ('/', '/private'):
    log(c, L, ns)
until(c, lambda: seen(L, 'connect'))
c.join('/private', auth=lambda: {}['token'])
ok = until(c, lambda: seen(L, 'connect_error', '/private'))
refused = fails(c.emit, 'x', namespace='/private')
c.emit('echo', 'still', callback=lambda *a: A.append(a[0]))
until(c, lambda: A)
c.join('/private', auth=lambda: {'token': 'secret'})
again = until(c, lambda: seen(L, 'connect', '/private'))
c.close()
R = {'ok': ok, 'again': again, 'L': L, 'A': A, 'refused': refused}`);
        expect(r.ok).toBe(true);
        const errs = seen(r.L as L, 'connect_error', '/private');
        expect(errs.length).toBe(1);
        expect(String(errs[0]?.[2])).toMatch(/^auth: KeyError\('token',?\)$/);
        expect(r.refused).toEqual(['exc', 'OSError', ENOTCONN]);
        expect(r.A).toEqual(['still']);
        expect(r.again).toBe(true);
        // The server never saw the CONNECT that could not be made: its middleware ran once, for the good one.
        expect(srv.of(t, 'middleware').map((e) => e.auth)).toEqual([{ token: 'secret' }]);
      });

      it('close() on polling sends what is queued, then the Engine.IO close packet: the server hears "transport close" at once', async () => {
        const t = tag('pollclose');
        const r = await pool.run<Record<string, unknown>>(py`
c = sio_connect('${srv.url}/?case=${t}', transports=('polling',))
c.emit('echo', 'x' * 20000)  # a POST still in flight when close() is called
c.emit('echo', 'last')
t0 = now_ms()
c.close()
R = {'dt': since_ms(t0), 'sockets': len(c.engine.sockets())}`);
        expect(r.sockets).toBe(0);
        const closed = await srv.wait((e) => e.tag === t && e.kind === 'closed', 2000, 'the Engine.IO session end');
        expect(closed.reason).toBe('transport close');
        expect(srv.of(t, 'event').map((e) => String(e.args?.[0]).slice(0, 4))).toEqual(['xxxx', 'last']);
        expect(srv.of(t, 'disconnect').map((e) => e.reason)).toEqual(['client namespace disconnect']);
      });

      it('emit() refuses what the server cannot read (TypeError/ValueError, nothing sent): the acked emits of the same POST all arrive', async () => {
        // Each of these, sent, made socket.io 4.8 end the session ('forced close'), and the
        // valid emits that shared the POST were lost with their callbacks; on MicroPython json
        // wrote object() and set() as their repr.
        const t = tag('strict');
        const r = await pool.run<Record<string, unknown>>(py`
A = []
c = sio_connect('${srv.url}/?case=${t}', transports=('polling',))
deep = 1
for i in range(40):
    deep = [deep]
loop = []
loop.append(loop)
c.emit('echo', 'before', callback=lambda *a: A.append(a[0]))
c.emit('echo', 'queued', callback=lambda *a: A.append(a[0]))  # waits for the POST in flight
bad = [
    (None,), (1,), (b'ev',), (['ev'],),
    ('echo', float('nan')), ('echo', float('inf')), ('echo', -float('inf')), ('echo', {'k': [1, float('nan')]}),
    ('echo', object()), ('echo', {1, 2}), ('echo', {1: 'one'}), ('echo', {'k': {None: 1}}),
    ('echo', loop), ('echo', deep),
]
R = {'bad': [fails(c.emit, *x, callback=lambda *a: A.append('wrong'))[:2] for x in bad]}
c.emit('echo', 'after', [1, 2.5, None, True, {'k': 'v'}], b'\x01', callback=lambda *a: A.append(a[0]))
R['ok'] = until(c, lambda: len(A) == 3)
R['A'] = A
# A handler's ack reply is checked alike: the error comes out of step(), nothing is sent.
c.on('nan', lambda: float('nan'))
c.emit('ask', 'nan', callback=lambda *a: A.append(a[0]))
err = None
t0 = now_ms()
while err is None and since_ms(t0) < 5000:  # (a hang guard)
    try:
        c.step(20)
    except ValueError:
        err = 'ValueError'
R['reply'] = err
c.emit('echo', 'last', callback=lambda *a: A.append(a[0]))
R['ok'] = until(c, lambda: len(A) == 5) and R['ok']
c.close()`);
        expect(r.bad).toEqual([
          ...Array(4).fill(['exc', 'TypeError']),
          ...Array(4).fill(['exc', 'ValueError']),
          ...Array(4).fill(['exc', 'TypeError']),
          ...Array(2).fill(['exc', 'ValueError']),
        ]);
        expect(r.ok, JSON.stringify(r)).toBe(true);
        expect(r.reply).toBe('ValueError');
        expect(r.A).toEqual(['before', 'queued', 'after', 'asked', 'last']);
        expect(srv.of(t, 'event').map((e) => e.args?.[0])).toEqual(['before', 'queued', 'after', 'nan', 'last']);
        expect(srv.of(t, 'answer')).toEqual([]);
        expect(srv.of(t, 'engine').length).toBe(1);
        await srv.wait((e) => e.tag === t && e.kind === 'closed', 3000, 'the Engine.IO session end');
        expect(srv.of(t, 'closed').map((e) => e.reason)).toEqual(['transport close']); // not 'forced close'
      });

      it("emit() refuses a packet over the server's maxPayload (ValueError, nothing sent): the session and the emits around it go on", async () => {
        // Sent, it went alone in a POST that socket.io answered 413: a transport error, and
        // what waited behind it was lost.
        const own = await startSioServer('v4', { maxHttpBufferSize: 1000 });
        try {
          const t = tag('maxpayload');
          const r = await pool.run<Record<string, unknown>>(py`
A = []
c = sio_connect('${own.url}/?case=${t}', transports=('polling',))
R = {'big': fails(c.emit, 'echo', 'x' * 1000, callback=lambda *a: A.append('wrong'))[:2],
     'wide': fails(c.emit, 'echo', '\u00e9' * 600)[:2],
     'bin': fails(c.emit, 'echo', b'\x01' * 800)[:2]}
c.emit('echo', 'y' * 900, callback=lambda *a: A.append(len(a[0])))
c.emit('echo', b'\x02' * 600, callback=lambda *a: A.append(len(a[0])))
R['ok'] = until(c, lambda: len(A) == 2)
R['A'] = A
c.close()`);
          expect(r.big).toEqual(['exc', 'ValueError']);
          expect(r.wide).toEqual(['exc', 'ValueError']); // 600 characters, 1200 UTF-8 bytes
          expect(r.bin).toEqual(['exc', 'ValueError']); // 800 bytes: 1068 in base64
          expect(r.ok, JSON.stringify(r)).toBe(true);
          expect(r.A).toEqual([900, 600]);
          expect(own.of(t, 'engine').length).toBe(1);
          await own.wait((e) => e.tag === t && e.kind === 'closed', 3000, 'the Engine.IO session end');
          expect(own.of(t, 'closed').map((e) => e.reason)).toEqual(['transport close']);
        } finally {
          await own.close();
        }
      });

      it('CR/LF and other control characters in query, headers or path: ValueError from connect(), nothing sent', async () => {
        const t = tag('inject');
        const r = await pool.run<Record<string, unknown>>(py`
u = '${srv.url}/?case=${t}'
bad = [
    {'query': 'a=b\r\nX-Injected: yes'}, {'query': 'a=b c'},
    {'headers': {'X-Ok': 'v\r\nX-Injected: yes'}}, {'headers': {'X-Ok': 'v\nX'}}, {'headers': [('X-Ok', 'a\x00b')]},
    {'headers': {'X-Injected: yes\r\nX-Ok': 'v'}}, {'headers': {'Bad Name': 'v'}}, {'headers': {'': 'v'}},
    {'path': '/socket.io/\r\nX-Injected: yes'},
]
R = {'bad': [fails(sio_connect, u, wait=False, **k)[:2] for k in bad]}
R['url'] = fails(sio_connect, u + '\r\nX-Injected: yes', wait=False)[:2]
c = sio_connect(u, headers={'X-Note': 'a\tb c', 'X-Num': 7}, query={'q': 'a\r\nb'})
R['sid'] = c.sid is not None
c.close()`);
        expect(r.bad).toEqual(Array(9).fill(['exc', 'ValueError']));
        expect(r.url).toEqual(['exc', 'ValueError']);
        expect(r.sid).toBe(true);
        // The good client's headers and query (percent-encoded) arrived; nothing else came.
        const engines = srv.of(t, 'engine');
        expect(engines.length).toBe(1);
        expect(engines[0]?.headers).toMatchObject({ 'x-note': 'a\tb c', 'x-num': '7' });
        expect(engines[0]?.query).toMatchObject({ q: 'a\r\nb' });
        for (const e of srv.events) expect(e.headers?.['x-injected']).toBe(undefined);
      });

      it('connect() raises when the session ends before the namespace has its answer (no reconnection), as python-socketio does', async () => {
        const t = tag('dead');
        const r = await pool.run<Record<string, unknown>>(py`
r = fails(sio_connect, '${srv.url}/slow?case=${t}&drop=1', reconnection=False)
R = {'r': r[:1] + [r[1] if r[0] == 'exc' else 'returned: sid %r, state %r' % (r[1].sid, r[1].state)] + r[2:]}`);
        expect(r.r).toEqual(['exc', 'OSError', 'One or more namespaces failed to connect (transport close)']);
        expect(srv.of(t, 'middleware').length).toBe(1);
        expect(srv.of(t, 'engine').length).toBe(1);
      });

      it('durations of 536870 s (2**29 ms, the ticks span, about 6.2 days) or more: at_interval() and connect() raise ValueError, as uwebsockets does', async () => {
        const t = tag('ticks');
        const r = await pool.run<Record<string, unknown>>(py`
N = []
c = sio_connect('${srv.url}/?case=${t}')
R = {'bad': [fails(c.at_interval, s)[:2] for s in (7 * 86400, 536870, -1)]}
c.at_interval(536869.9)(lambda: N.append(1))  # just under: allowed, and not due yet
c.at_interval(0.05)(lambda: N.append(2))
until(c, lambda: N.count(2) >= 3)
R['N'] = sorted(set(N))
c.close()
u = '${srv.url}/?case=${t}-x'
R['connect'] = [fails(sio_connect, u, wait=False, **k)[:2] for k in ({'timeout': 7 * 86400}, {'reconnection_delay': 1e6}, {'reconnection_delay_max': 1e9}, {'timeout': -1})]`);
        expect(r.bad).toEqual(Array(3).fill(['exc', 'ValueError']));
        expect(r.N).toEqual([2]);
        expect(r.connect).toEqual(Array(4).fill(['exc', 'ValueError']));
        expect(srv.of(`${t}-x`, 'engine').length).toBe(0);
      });

      it('auth the server cannot read (not a dict, not JSON): that namespace hears connect_error "auth: ..." and is refused; the others go on', async () => {
        const t = tag('badauth');
        const r = await pool.run<Record<string, unknown>>(py`
L = []; A = []
c = sio_connect('${srv.url}/?case=${t}', wait=False)
c.join('/chat', auth={'token': float('nan')})
c.join('/private', auth=lambda: {'token': object()})
c.join('/admin', auth={'token': {1, 2}})
c.join('/slow', auth='token')
for n in ('/', '/chat', '/private', '/admin', '/slow'):
    log(c, L, n)
ok = until(c, lambda: len([x for x in L if x[1] == 'connect_error']) == 4 and seen(L, 'connect'))
c.join('/private', auth={'token': 'secret'})
c.emit('echo', 'still', namespace='/private', callback=lambda *a: A.append(a[0]))
ok = until(c, lambda: A) and ok
c.close()
R = {'ok': ok, 'L': sorted([x[0], x[1], str(x[2]).split('(')[0]] for x in L if x[0] != '/'), 'A': A}`);
        expect(r.ok, JSON.stringify(r.L)).toBe(true);
        expect(r.L).toEqual([
          ['/admin', 'connect_error', 'auth: TypeError'],
          ['/chat', 'connect_error', 'auth: ValueError'],
          ['/private', 'connect', 'None'],
          ['/private', 'connect_error', 'auth: TypeError'],
          ['/private', 'disconnect', 'io client disconnect'],
          ['/slow', 'connect_error', 'auth: TypeError'],
        ]);
        expect(r.A).toEqual(['still']);
        expect(srv.of(t, 'engine').length).toBe(1);
        expect(srv.of(t, 'middleware').map((e) => e.auth)).toEqual([{ token: 'secret' }]);
      });
    });

    // -------------------------------------------------------- socket.io 4.8, hostile session ids

    describe.concurrent('socket.io 4.8, session ids a hostile server chooses', () => {
      let srv: SioServer;
      beforeAll(async () => {
        srv = await startSioServer('v4', { requests: true });
      });
      afterAll(async () => {
        await srv?.close();
      });

      it('a sid with CR/LF or query characters is percent-encoded in every request (the upgrade too): no header injected, the session works', async () => {
        for (const sidis of ['crlf', 'reserved']) {
          const t = tag(`sid-${sidis}`);
          const r = await pool.run<Record<string, unknown>>(py`
A = []
c = sio_connect('${srv.url}/?case=${t}&sidis=${sidis}')
ok = until(c, lambda: c.sid and c.engine.ws)
c.emit('echo', 'over', callback=lambda *a: A.append(a[0]))
ok = until(c, lambda: A) and ok
c.close()
R = {'ok': ok, 'A': A}`);
          expect(r.ok, sidis).toBe(true);
          expect(r.A).toEqual(['over']);
          expect(srv.of(t, 'upgrade').length, sidis).toBe(1);
          const reqs = srv.of(t, 'request');
          expect(reqs.length).toBeGreaterThan(2);
          for (const q of reqs) expect(q.headers?.['x-injected'], `${sidis}: ${q.url}`).toBe(undefined);
          const eid = srv.of(t, 'engine')[0]!.eid!;
          for (const q of reqs.slice(1)) expect(new URL(q.url!, 'http://x').searchParams.get('sid'), q.url).toBe(eid);
        }
      });

      it('a 30,000-character sid is refused: the session fails as a parse error, the sid is never sent back', async () => {
        const t = tag('sid-long');
        const r = await pool.run<Record<string, unknown>>(py`
E = []
R = {'wait': fails(sio_connect, '${srv.url}/?case=${t}&sidis=long', reconnection=False)}
c = sio_connect('${srv.url}/?case=${t}&sidis=long', wait=False, reconnection=False)
c.on('connect_error', lambda why: E.append(why))
c.run_forever()
R['E'] = E`);
        expect(r.wait).toEqual(['exc', 'OSError', 'parse error']);
        expect(r.E).toEqual(['parse error']);
        const reqs = srv.of(t, 'request');
        expect(reqs.length).toBe(2); // the two handshakes
        for (const q of reqs) expect(q.url).not.toContain('sid=');
      });
    });

    // -------------------------------------------------------- socket.io 4.8, WebSocket only

    describe.concurrent('socket.io 4.8, WebSocket only', () => {
      let srv: SioServer;
      beforeAll(async () => {
        srv = await startSioServer('v4', { transports: ['websocket'] });
      });
      afterAll(async () => {
        await srv?.close();
      });

      it('a client with transports=("websocket",): events, acks and binary both ways', async () => {
        const t = tag('ws');
        const r = await pool.run<CoreResult>(coreScenario(`${srv.url}/?case=${t}`, `, transports=('websocket',)`, 0));
        await checkCore(r, srv, t, 'websocket', 'node');
      });

      it('ws:// and http:// URLs are plain TCP (no TLS), port as given', async () => {
        const t = tag('ws-url');
        const r = await pool.run<unknown[]>(py`
R = []
for u in ('ws://127.0.0.1:${srv.port}/?case=${t}', 'http://127.0.0.1:${srv.port}/?case=${t}'):
    A = []
    r = catch(sio_connect, u, transports=('websocket',))
    if r[0] == 'ok':
        c = r[1]
        c.emit('echo', u[:4], callback=lambda *a: A.append(a[0]))
        until(c, lambda: A)
        c.close()
        R.append(A)
    else:
        R.append(r[:2])`);
        expect(r).toEqual([['ws:/'], ['http']]);
        expect(srv.of(t, 'connect').length).toBe(2);
      });

      it('handlers registered after connect() returns hear "connect" and what the server emits on connection', async () => {
        await lateHandlersCase(pool, srv, tag('ws-late'), `, transports=('websocket',)`);
      });

      it('namespaces, and a server disconnect', async () => {
        await namespaceCase(pool, srv, tag('ws-nsp'), 'v4', `, transports=('websocket',)`);
        await kickCase(pool, srv, tag('ws-kick'), `, transports=('websocket',)`);
      });
    });

    // ---------------------------------------------------------- socket.io 4.8, polling only

    describe.concurrent('socket.io 4.8, polling only (no upgrade offered)', () => {
      let srv: SioServer;
      beforeAll(async () => {
        srv = await startSioServer('v4', { transports: ['polling'] });
      });
      afterAll(async () => {
        await srv?.close();
      });

      it('the default client stays on polling: events, acks and binary both ways', async () => {
        const t = tag('poll');
        const r = await pool.run<CoreResult>(coreScenario(`${srv.url}/?case=${t}`, '', 400));
        await checkCore(r, srv, t, 'polling', 'node');
      });

      it('payloads of many packets, a 20 KB text and a binary attachment, both ways', async () => {
        const t = tag('poll-many');
        const r = await pool.run<Record<string, unknown>>(
          py`
L = []; A = []
c = sio_connect('${srv.url}/?case=${t}', wait=False, max_queue=64)
log(c, L)
until(c, lambda: seen(L, 'connect'))
for i in range(40):
    c.emit('echo', 'm%d' % i, callback=lambda *a: A.append(a[0]))
big = 'é' * 10000
c.emit('echo', big, pattern(3000), callback=lambda *a: A.append([len(a[0]), a[0] == big, a[1] == pattern(3000)]))
c.emit('burst', 30, 'b')
ok = until(c, lambda: len(A) == 41 and len(seen(L, 'burst')) == 30, 10000)
c.close()
R = {'ok': ok, 'A': A, 'burst': [x[2][0] for x in seen(L, 'burst')]}`,
          20_000,
        );
        expect(r.ok).toBe(true);
        expect(r.A).toEqual([...[...Array(40).keys()].map((i) => `m${i}`), [10000, true, true]]);
        expect(r.burst).toEqual([...Array(30).keys()].map((i) => `b${i}`));
        const evs = srv.of(t, 'event');
        expect(evs.slice(0, 40).map((e) => e.args?.[0])).toEqual([...Array(40).keys()].map((i) => `m${i}`));
        expect(evs[40]?.args).toEqual(['é'.repeat(10000), pattern(3000)]);
      });

      it('namespaces, and a server disconnect', async () => {
        await namespaceCase(pool, srv, tag('poll-nsp'), 'v4');
        await kickCase(pool, srv, tag('poll-kick'), '');
      });
    });

    // ------------------------------------------------ socket.io 4.8 with allowEIO3, eio=3

    describe.concurrent('socket.io 4.8 with allowEIO3, client eio=3 (Engine.IO 3, Socket.IO protocol 4)', () => {
      let srv: SioServer;
      beforeAll(async () => {
        srv = await startSioServer('v4', { allowEIO3: true });
      });
      afterAll(async () => {
        await srv?.close();
      });

      it('connects over polling, upgrades, and carries events, acks and binary both ways', async () => {
        const t = tag('eio3');
        const r = await pool.run<CoreResult>(coreScenario(`${srv.url}/?case=${t}`, ', eio=3', 600));
        await checkCore(r, srv, t, 'upgrade', 'node');
        expect(srv.of(t, 'engine')[0]?.query?.EIO).toBe('3');
      });

      it('handlers registered after connect() returns hear "connect" and what the server emits on connection', async () => {
        await lateHandlersCase(pool, srv, tag('eio3-late'), ', eio=3');
      });

      it('over polling, strings with emoji and non-BMP characters both ways (UTF-16 lengths), several per payload', async () => {
        const t = tag('eio3-utf16');
        await utf16Case(pool, srv, t);
      });

      it('namespaces (the token in the query: protocol 4 has no auth), and a server disconnect', async () => {
        await namespaceCase(pool, srv, tag('eio3-nsp'), 'v4-eio3');
        await kickCase(pool, srv, tag('eio3-kick'), ', eio=3');
      });
    });

    // ----------------------------------------------------------------- socket.io 2.x, eio=3

    describe.concurrent('socket.io 2.x (npm socket.io-v2), client eio=3', () => {
      let srv: SioServer;
      beforeAll(async () => {
        srv = await startSioServer('v2');
      });
      afterAll(async () => {
        await srv?.close();
      });

      it('connects over polling, upgrades, and carries events, acks and binary both ways', async () => {
        const t = tag('v2');
        const r = await pool.run<CoreResult>(coreScenario(`${srv.url}/?case=${t}`, ', eio=3', 600));
        await checkCore(r, srv, t, 'upgrade', 'node');
      });

      it('handlers registered after connect() returns (the original package usage) hear "connect" and what the server emits on connection', async () => {
        await lateHandlersCase(pool, srv, tag('v2-late'), ', eio=3');
      });

      it('polling only, with emoji and non-BMP characters (UTF-16 lengths)', async () => {
        await utf16Case(pool, srv, tag('v2-utf16'));
      });

      it('namespaces (the token in the query), and a server disconnect', async () => {
        await namespaceCase(pool, srv, tag('v2-nsp'), 'v2');
        await kickCase(pool, srv, tag('v2-kick'), ', eio=3');
      });
    });

    // ------------------------------------------------------------- Flask-SocketIO, eventlet

    describe.skipIf(!!flaskMissing).concurrent('Flask-SocketIO 5 on eventlet (Debian)', () => {
      let srv: SioServer;
      beforeAll(async () => {
        srv = await startFlaskServer();
      });
      afterAll(async () => {
        await srv?.close();
      });

      it('connects over polling, upgrades, and carries events, acks and binary both ways', async () => {
        const t = tag('flask');
        const r = await pool.run<CoreResult>(coreScenario(`${srv.url}/?case=${t}`, '', 600));
        await checkCore(r, srv, t, 'upgrade', 'flask');
      });

      it('handlers registered after connect() returns (the original package usage) hear "connect" and what its connect handler emits', async () => {
        await lateHandlersCase(pool, srv, tag('flask-late'), '', true);
      });

      it('WebSocket only, and polling only', async () => {
        const t1 = tag('flask-ws');
        await checkCore(await pool.run<CoreResult>(coreScenario(`${srv.url}/?case=${t1}`, `, transports=('websocket',)`, 0)), srv, t1, 'websocket', 'flask');
        const t2 = tag('flask-poll');
        await checkCore(await pool.run<CoreResult>(coreScenario(`${srv.url}/?case=${t2}`, `, transports=('polling',)`, 300)), srv, t2, 'polling', 'flask');
      });

      it('namespaces: the connect handler accepts and refuses on auth, an unknown namespace is refused; a server disconnect', async () => {
        const t = tag('flask-nsp');
        const r = await pool.run<Record<string, unknown>>(py`
L = []; A = []
c = sio_connect('${srv.url}/?case=${t}', wait=False, namespaces=['/', '/chat', '/private', '/nope'], auth={'token': 'secret'})
for ns in ('/', '/chat', '/private', '/nope'):
    log(c, L, ns)
ok = until(c, lambda: seen(L, 'connect') and seen(L, 'connect', '/chat') and seen(L, 'connect', '/private') and seen(L, 'connect_error', '/nope'))
c.emit('echo', 'on chat', namespace='/chat', callback=lambda *a: A.append(['/chat'] + list(a)))
c.emit('echo', 'on private', 1, namespace='/private', callback=lambda *a: A.append(['/private'] + list(a)))
until(c, lambda: len(A) == 2)
c.join('/private', auth={'token': 'wrong'})  # already joined: nothing happens
c.disconnect('/private')
until(c, lambda: seen(L, 'disconnect', '/private'))
c.join('/private', auth={'token': 'wrong'})
until(c, lambda: seen(L, 'connect_error', '/private'))
c.emit('kick', namespace='/chat')
until(c, lambda: seen(L, 'disconnect', '/chat'))
c.emit('echo', 'root still', callback=lambda *a: A.append(['/'] + list(a)))
until(c, lambda: len(A) == 3)
c.close()
R = {'ok': ok, 'L': L, 'A': A, 'nope': fails(c.emit, 'x', namespace='/nope')}`);
        expect(r.ok).toBe(true);
        const l = r.L as L;
        expect(seen(l, 'connect_error', '/nope')).toEqual([['/nope', 'connect_error', 'Unable to connect']]);
        expect(seen(l, 'connect_error', '/private')).toEqual([['/private', 'connect_error', { message: 'bad token', data: { code: 401 } }]]);
        expect(seen(l, 'disconnect', '/private')).toEqual([['/private', 'disconnect', 'io client disconnect']]);
        expect(seen(l, 'disconnect', '/chat')).toEqual([['/chat', 'disconnect', 'io server disconnect']]);
        expect(r.A).toEqual([['/chat', 'on chat'], ['/private', 'on private', 1], ['/', 'root still']]);
        expect(srv.of(t, 'connect').map((e) => [e.ns, e.auth]).sort((x, y) => String(x[0]).localeCompare(String(y[0])) || JSON.stringify(x[1]).localeCompare(JSON.stringify(y[1])))).toEqual([
          ['/', { token: 'secret' }],
          ['/chat', { token: 'secret' }],
          ['/private', { token: 'secret' }],
          ['/private', { token: 'wrong' }],
        ]);
        expect(r.nope).toEqual(['exc', 'OSError', ENOTCONN]);
      });

      it('server disconnect: "io server disconnect", no reconnection, run_forever returns', async () => {
        await kickCase(pool, srv, tag('flask-kick'), '', true);
      });
    });

    // ------------------------------------------------------------ TLS (https:// and wss://)

    describe.concurrent('socket.io 4.8 over TLS (https://, then wss://)', () => {
      let srv: SioServer;
      beforeAll(async () => {
        srv = await startSioServer('v4', { tls: true });
      });
      afterAll(async () => {
        await srv?.close();
      });
      const ctx = trustFixturePy(name);

      it('connects over polling, upgrades, and carries events, acks and binary both ways', async () => {
        const t = tag('tls');
        const r = await pool.run<CoreResult>(ctx + coreScenario(`${srv.url}/?case=${t}`, ', ssl=CTX', 600), 20_000);
        await checkCore(r, srv, t, 'upgrade', 'node');
      });

      it('WebSocket only (wss:// URL)', async () => {
        const t = tag('wss');
        const r = await pool.run<CoreResult>(ctx + coreScenario(`${srv.url.replace('https', 'wss')}/?case=${t}`, `, ssl=CTX, transports=('websocket',)`, 0), 20_000);
        await checkCore(r, srv, t, 'websocket', 'node');
      });
    });

    // ------------------------------------------------------------------------------ faults

    describe.concurrent('faults', () => {
      it('the server dies and comes back on its port: backoff, namespaces reconnect with new sids, emits made meanwhile arrive once, in order', async () => {
        const srv = await startSioServer('v4');
        try {
          const t = tag('restart');
          const run = pool.run<Record<string, unknown>>(
            py`
L = []; A = []; E = []
c = sio_connect('${srv.url}/?case=${t}', wait=False, namespaces=['/', '/chat'], reconnection_delay=0.1, reconnection_delay_max=0.4)
log(c, L); log(c, L, '/chat')
c.on('connect_error', lambda why: E.append([now_ms(), why]))
ok = until(c, lambda: seen(L, 'connect') and seen(L, 'connect', '/chat'))
spin(c, 300)
c.emit('ready')
gone = until(c, lambda: seen(L, 'disconnect'), 5000)
t0 = now_ms()
for i in range(5):
    c.emit('count', i)
    c.emit('count', i, namespace='/chat')
back = until(c, lambda: len(seen(L, 'connect')) == 2 and len(seen(L, 'connect', '/chat')) == 2, 10000)
dt = since_ms(t0)
c.emit('echo', 'after', callback=lambda *a: A.append(a[0]))
c.emit('echo', 'after', namespace='/chat', callback=lambda *a: A.append(a[0]))
until(c, lambda: len(A) == 2)
sid = c.sid
c.close()
R = {'ok': ok, 'gone': gone, 'back': back, 'dt': dt, 'L': L, 'A': A, 'E': [[e[0] - t0, e[1]] for e in E], 'sid': sid}`,
            20_000,
          );
          await srv.wait((e) => e.tag === t && e.name === 'ready', 10_000, 'ready');
          await srv.kill();
          await sleep(900);
          await srv.restart();
          const r = await run;
          expect(r.ok).toBe(true);
          expect(r.gone).toBe(true);
          expect(r.back).toBe(true);
          const l = r.L as L;
          const [c1, c2] = seen(l, 'connect');
          expect(c2?.[2]).toBe(r.sid);
          expect(r.sid).not.toBe(c1?.[2]);
          for (const ns of ['/', '/chat']) {
            const d = seen(l, 'disconnect', ns);
            expect(d.length).toBe(2);
            expect(['transport close', 'transport error']).toContain(d[0]?.[2]);
            expect(d[1]?.[2]).toBe('io client disconnect');
          }
          // The backoff: several attempts while the server was down, spaced out, then back
          // soon after the restart (the delay is capped at 0.4 s, +50% at most).
          const attempts = r.E as [number, unknown][];
          expect(attempts.length).toBeGreaterThanOrEqual(2);
          expect(attempts.length).toBeLessThan(12);
          for (const [, why] of attempts) expect(why).toBe('transport error'); // the failure reason string
          expect(r.dt as number).toBeLessThan(900 + 600 + 1500);
          expect(r.A).toEqual(['after', 'after']);
          // The restarted server has seen each count once, in order, then the echo.
          const after = srv.of(t, 'event').filter((e) => e.name !== 'ready');
          for (const ns of ['/', '/chat'])
            expect(after.filter((e) => e.ns === ns).map((e) => [e.name, e.args?.[0]])).toEqual([
              ['count', 0],
              ['count', 1],
              ['count', 2],
              ['count', 3],
              ['count', 4],
              ['echo', 'after'],
            ]);
          const sids = srv.of(t, 'connect').filter((e) => e.ns === '/chat').map((e) => e.sid);
          expect(sids.length).toBe(2);
          expect(sids[0]).not.toBe(sids[1]);
        } finally {
          await srv.close();
        }
      });

      it('a session lost while a CONNECT waits for its answer: emits held for that namespace keep their acks; a refused namespace hears of no later failure', async () => {
        const srv = await startSioServer('v4');
        try {
          const t = tag('heldacks');
          const run = pool.run<Record<string, unknown>>(
            py`
L = []; A = []
c = sio_connect('${srv.url}/?case=${t}&slow=800', wait=False, namespaces=['/', '/slow', '/admin'], reconnection_delay=0.1, reconnection_delay_max=0.2)
for ns in ('/', '/slow', '/admin'):
    log(c, L, ns)
until(c, lambda: seen(L, 'connect') and seen(L, 'connect_error', '/admin'))
c.emit('echo', 'held', namespace='/slow', callback=lambda *a: A.append(list(a)))
c.emit('ready')
gone = until(c, lambda: seen(L, 'disconnect'), 5000)
back = until(c, lambda: seen(L, 'connect', '/slow'), 10000)
ok = until(c, lambda: A, 3000)
c.close()
R = {'gone': gone, 'back': back, 'ok': ok, 'A': A, 'L': L}`,
            20_000,
          );
          // The server dies while /slow's middleware holds the CONNECT, and comes back.
          await srv.wait((e) => e.tag === t && e.name === 'ready', 10_000, 'ready');
          expect(srv.of(t, 'connect').filter((e) => e.ns === '/slow'), 'the CONNECT of /slow is still held').toEqual([]);
          await srv.kill();
          await sleep(600);
          await srv.restart();
          const r = await run;
          expect(r.gone).toBe(true);
          expect(r.back).toBe(true);
          expect(r.ok, JSON.stringify(r.L)).toBe(true);
          expect(r.A).toEqual([['held']]);
          const l = r.L as L;
          expect(seen(l, 'connect_error').length, 'failed attempts while the server was down').toBeGreaterThan(0);
          expect(seen(l, 'connect_error', '/admin').length, 'the refused namespace').toBe(1);
          expect(srv.of(t, 'event').map((e) => [e.ns, e.name, e.args])).toEqual([
            ['/', 'ready', []],
            ['/slow', 'echo', ['held']],
          ]);
          expect(srv.of(t, 'middleware').filter((e) => e.ns === '/admin').length).toBe(1);
        } finally {
          await srv.close();
        }
      });

      it('close() while the server is silent returns after the timeout, with every socket closed', async () => {
        const srv = await startSioServer('v4');
        const proxy = await startProxy(srv.port);
        try {
          for (const kw of [`, transports=('polling',)`, `, transports=('websocket',)`]) {
            const t = tag('silentclose');
            const run = pool.run<Record<string, unknown>>(py`
c = sio_connect('${proxy.url}/?case=${t}', timeout=1${kw})
c.emit('ready')
spin(c, 1000)
c.emit('lost', 'x' * 2000)
t0 = now_ms()
c.close()
R = {'dt': since_ms(t0), 'sockets': len(c.engine.sockets())}`);
            await srv.wait((e) => e.tag === t && e.name === 'ready', 5000, 'ready');
            proxy.freeze();
            const r = await run;
            expect(r.sockets, kw).toBe(0);
            expect(r.dt as number, kw).toBeLessThan(2500);
          }
        } finally {
          await proxy.close();
          await srv.close();
        }
      });

      const silent: [string, string, boolean][] = [
        ['after the upgrade to WebSocket', '', false],
        ['on polling', `, transports=('polling',)`, false],
        ['on Engine.IO 3 (the client pings)', ', eio=3', true],
      ];
      it.each(silent)('a server that goes silent %s: "ping timeout" within pingInterval + pingTimeout, then reconnection', async (_what, kw, eio3) => {
        // Heartbeats of a second each: a board slowed down by a busy machine still answers in
        // time, so the only ping timeout is the one the freeze causes.
        const srv = await startSioServer('v4', { pingInterval: 1000, pingTimeout: 1000, allowEIO3: eio3 });
        const proxy = await startProxy(srv.port);
        try {
          const t = tag('silent');
          const run = pool.run<Record<string, unknown>>(
            py`
L = []
c = sio_connect('${proxy.url}/?case=${t}', wait=False${kw}, reconnection_delay=0.1, reconnection_delay_max=0.2)
log(c, L)
ok = until(c, lambda: seen(L, 'connect'))
spin(c, 1500)
t0 = now_ms()
c.emit('ready')
gone = until(c, lambda: seen(L, 'disconnect'), 10000)
dt = since_ms(t0)
back = until(c, lambda: len(seen(L, 'connect')) == 2, 10000)
c.emit('echo', 'back', callback=lambda *a: L.append(['/', 'ack', list(a)]))
until(c, lambda: seen(L, 'ack'))
c.close()
R = {'ok': ok, 'gone': gone, 'back': back, 'dt': dt, 'L': L}`,
            30_000,
          );
          await srv.wait((e) => e.tag === t && e.name === 'ready', 10_000, 'ready');
          proxy.freeze();
          const r = await run;
          expect(r.ok).toBe(true);
          expect(r.gone).toBe(true);
          const l = r.L as L;
          expect(seen(l, 'disconnect')).toEqual([
            ['/', 'disconnect', 'ping timeout'],
            ['/', 'disconnect', 'io client disconnect'],
          ]);
          // Declared dead within pingInterval + pingTimeout of the freeze (+ slack for a busy machine).
          expect(r.dt as number).toBeLessThan(1000 + 1000 + 2000);
          expect(r.back).toBe(true);
          const [c1, c2] = seen(l, 'connect');
          expect(c2?.[2]).not.toBe(c1?.[2]);
          expect(seen(l, 'ack')).toEqual([['/', 'ack', ['back']]]);
        } finally {
          await proxy.close();
          await srv.close();
        }
      });

      const cuts: [string, string][] = [
        ['on WebSocket', `, transports=('websocket',)`],
        ['on polling', `, transports=('polling',)`],
        ['on Engine.IO 3 polling', `, transports=('polling',), eio=3`],
      ];
      it.each(cuts)('a connection cut in the middle of a packet %s: disconnect, reconnection, no exception out of run_forever', async (_what, kw) => {
        const srv = await startSioServer('v4', { allowEIO3: true });
        const proxy = await startProxy(srv.port);
        try {
          const t = tag('cut');
          const cut = proxy.cutAt('CUT-HERE-CUT-HERE');
          const r = await pool.run<Record<string, unknown>>(
            py`
L = []; B = []
c = sio_connect('${proxy.url}/?case=${t}', wait=False${kw}, reconnection_delay=0.1, reconnection_delay_max=0.2)
log(c, L)
@c.on('connect')
def connected():
    L.append(['/', 'connect', c.sid])
    c.emit('big', 6000, 'CUT-HERE-CUT-HERE')
@c.on('big')
def big(s):
    B.append([len(s), s.count('x'), 'CUT-HERE-CUT-HERE' in s])
    c.close()
t0 = now_ms()
@c.at_interval(0.2)
def watchdog():
    if since_ms(t0) > 8000:
        c.close()
c.run_forever()
R = {'L': L, 'B': B}`,
            15_000,
          );
          await cut;
          const l = r.L as L;
          expect(seen(l, 'connect').length).toBe(2);
          const d = seen(l, 'disconnect');
          expect(d.length).toBe(2);
          expect(['transport close', 'transport error']).toContain(d[0]?.[2]);
          expect(d[1]?.[2]).toBe('io client disconnect');
          expect(r.B).toEqual([[6000 + 17, 6000, true]]);
          expect(proxy.count).toBeGreaterThanOrEqual(2);
        } finally {
          await proxy.close();
          await srv.close();
        }
      });
    });
  });
}

// ------------------------------------------------------------------------ shared case bodies

/**
 * Namespaces on a Node server: '/', '/chat', '/private' (its middleware checks the token) and
 * '/admin' (refused, with data) joined on one connection; events on each; '/chat' left and
 * joined again; a refused namespace is not retried and takes no emits.
 */
async function namespaceCase(pool: Pool, srv: SioServer, t: string, kind: 'v4' | 'v4-eio3' | 'v2', kw = ''): Promise<void> {
  const eio3 = kind !== 'v4';
  // Protocol 4 has no auth: the token goes in the query, which the server sees for every namespace.
  const url = eio3 ? `${srv.url}/?case=${t}&token=secret` : `${srv.url}/?case=${t}`;
  const r = await pool.run<Record<string, unknown>>(py`
L = []; A = []
c = sio_connect('${url}', wait=False, namespaces=['/', '/chat', '/private', '/admin'], auth={'token': 'secret'}${eio3 ? ', eio=3' : ''}${kw})
for ns in ('/', '/chat', '/private', '/admin'):
    log(c, L, ns)
ok = until(c, lambda: seen(L, 'connect') and seen(L, 'connect', '/chat') and seen(L, 'connect', '/private') and seen(L, 'connect_error', '/admin'))
c.emit('echo', 'on chat', namespace='/chat', callback=lambda *a: A.append(['/chat'] + list(a)))
c.emit('echo', 'on private', b'\x00', namespace='/private', callback=lambda *a: A.append(['/private'] + list(a)))
c.emit('echo', 'on root', callback=lambda *a: A.append(['/'] + list(a)))
admin = fails(c.emit, 'echo', 'x', namespace='/admin')
until(c, lambda: len(A) == 3)
c.disconnect('/chat')
chat_left = fails(c.emit, 'echo', 'x', namespace='/chat')
c.emit('echo', 'still', namespace='/private', callback=lambda *a: A.append(['/private'] + list(a)))
until(c, lambda: len(A) == 4)
c.join('/chat')
rejoined = until(c, lambda: len(seen(L, 'connect', '/chat')) == 2)
c.emit('echo', 'back', namespace='/chat', callback=lambda *a: A.append(['/chat'] + list(a)))
until(c, lambda: len(A) == 5)
spin(c, 300)
sid = c.sid
c.close()
R = {'ok': ok, 'rejoined': rejoined, 'L': L, 'A': A, 'admin': admin, 'chat_left': chat_left, 'sid': sid}`);
  expect(r.ok, JSON.stringify(r.L)).toBe(true);
  expect(r.rejoined).toBe(true);
  const l = r.L as L;
  // Protocol 4 (socket.io 2, and socket.io 4 to an Engine.IO 3 client) sends the error's data alone.
  const refusal = eio3 ? { code: 403, why: 'admins only ✓' } : { message: 'not authorized', data: { code: 403, why: 'admins only ✓' } };
  expect(seen(l, 'connect_error', '/admin')).toEqual([['/admin', 'connect_error', refusal]]);
  expect(seen(l, 'connect_error', '/private')).toEqual([]);
  expect(l.filter((x) => x[0] === '/chat').map((x) => x[1])).toEqual(['connect', 'disconnect', 'connect', 'disconnect']);
  expect(seen(l, 'disconnect', '/chat').map((x) => x[2])).toEqual(['io client disconnect', 'io client disconnect']);
  expect(l.filter((x) => x[0] === '/admin')).toEqual([['/admin', 'connect_error', refusal]]);
  expect(r.A).toEqual([['/chat', 'on chat'], ['/private', 'on private', b(0)], ['/', 'on root'], ['/private', 'still'], ['/chat', 'back']]);
  expect(r.admin).toEqual(['exc', 'OSError', ENOTCONN]);
  expect(r.chat_left).toEqual(['exc', 'OSError', ENOTCONN]);
  await srv.wait((e) => e.tag === t && e.kind === 'disconnect' && e.ns === '/', 3000, 'disconnect');
  const connects = srv.of(t, 'connect');
  expect(connects.filter((e) => e.ns === '/').map((e) => e.sid)).toEqual([r.sid]);
  const chats = connects.filter((e) => e.ns === '/chat');
  expect(chats.length).toBe(2);
  // Protocol 5 gives each namespace connection a new sid; protocol 4's is '<nsp>#<engine sid>'.
  if (!eio3) expect(chats[0]?.sid).not.toBe(chats[1]?.sid);
  expect(srv.of(t, 'engine').length).toBe(1);
  // The middlewares: /private saw the token, /admin ran once (no retry).
  const mw = srv.of(t, 'middleware');
  expect(mw.filter((e) => e.ns === '/admin').length).toBe(1);
  const priv = mw.filter((e) => e.ns === '/private');
  expect(priv.length).toBe(1);
  if (kind === 'v4') expect(priv[0]?.auth).toEqual({ token: 'secret' });
  else expect(priv[0]?.query?.token).toBe('secret');
  expect(srv.of(t, 'event').map((e) => [e.ns, e.args?.[0]])).toEqual([
    ['/chat', 'on chat'],
    ['/private', 'on private'],
    ['/', 'on root'],
    ['/private', 'still'],
    ['/chat', 'back'],
  ]);
  expect(
    srv
      .of(t, 'disconnect')
      .filter((e) => e.ns === '/chat')
      .map((e) => e.reason),
  ).toEqual(['client namespace disconnect', 'client namespace disconnect']);
}

/**
 * connect() with wait=True returns once the session is open; handlers registered then (as
 * with the original usocketio package: connect, on(...), run_forever()) must still hear the
 * namespace's 'connect' and the event the server emits on connection ('welcome').
 */
async function lateHandlersCase(pool: Pool, srv: SioServer, t: string, kw: string, flask = false): Promise<void> {
  const r = await pool.run<Record<string, unknown>>(py`
L = []
c = sio_connect('${srv.url}/?case=${t}&welcome=1'${kw})
log(c, L)
ok = until(c, lambda: seen(L, 'welcome'), 3000)
sid = c.sid
c.close()
R = {'ok': ok, 'L': L, 'sid': sid}`);
  await srv.wait((e) => e.tag === t && e.kind === 'connect', 3000, 'connect');
  expect(typeof r.sid).toBe('string');
  expect(r.L, 'what the handlers heard').toEqual([
    ['/', 'connect', r.sid],
    ['/', 'welcome', [`hello ${t}`]],
    ['/', 'disconnect', 'io client disconnect'],
  ]);
  expect(r.ok).toBe(true);
}

/** The server disconnects the client's only namespace: 'io server disconnect', run_forever returns, nothing more. */
async function kickCase(pool: Pool, srv: SioServer, t: string, kw: string, flask = false): Promise<void> {
  const r = await pool.run<Record<string, unknown>>(py`
L = []
c = sio_connect('${srv.url}/?case=${t}', wait=False${kw}, reconnection_delay=0.05)
log(c, L)
ok = until(c, lambda: seen(L, 'connect'))
sid = c.sid
c.emit('kick')
t0 = now_ms()
c.run_forever()
R = {'ok': ok, 'L': L, 'dt': since_ms(t0), 'sid': sid, 'after': c.sid, 'emit': fails(c.emit, 'x')}`);
  expect(r.ok).toBe(true);
  const welcome: L = flask ? [['/', 'welcome', [`hello ${t}`]]] : [];
  expect(r.L).toEqual([['/', 'connect', r.sid], ...welcome, ['/', 'disconnect', 'io server disconnect']]);
  expect(r.dt as number).toBeLessThan(3000);
  expect(r.after).toBe(null);
  expect(r.emit).toEqual(['exc', 'OSError', ENOTCONN]);
  await sleep(300);
  if (!flask) expect(srv.of(t, 'engine').length, 'no reconnection').toBe(1);
  expect(srv.of(t, 'connect').length, 'no reconnection').toBe(1);
}

/** Engine.IO 3 over polling: lengths in UTF-16 code units, several packets per payload both ways. */
async function utf16Case(pool: Pool, srv: SioServer, t: string): Promise<void> {
  const strings = ['emoji 🎉', '𝄞 clef', 'mixed é ✓ 日本 😀😀', '\u{10FFFF}', 'plain', '🎉'.repeat(300)];
  const r = await pool.run<Record<string, unknown>>(py`
L = []; A = []
S = ${JSON.stringify(strings)}
c = sio_connect('${srv.url}/?case=${t}', wait=False, eio=3, transports=('polling',))
log(c, L)
until(c, lambda: seen(L, 'connect'))
for s in S:
    c.emit('echo', s, callback=lambda *a: A.append(a[0]))
c.emit('echo', '🎉', b'\x00\xff', callback=lambda *a: A.append(list(a)))
c.emit('burst', 8, '🎉x𝄞')
c.emit('reflect', *S)
ok = until(c, lambda: len(A) == len(S) + 1 and len(seen(L, 'burst')) == 8 and seen(L, 'echo'))
c.close()
R = {'ok': ok, 'A': A, 'burst': [x[2][0] for x in seen(L, 'burst')], 'echo': seen(L, 'echo')}`);
  expect(r.ok, JSON.stringify(r)).toBe(true);
  expect(r.A).toEqual([...strings, ['🎉', b(0, 0xff)]]);
  expect(r.burst).toEqual([...Array(8).keys()].map((i) => `🎉x𝄞${i}`));
  expect(r.echo).toEqual([['/', 'echo', strings]]);
  const evs = srv.of(t, 'event');
  expect(evs.map((e) => e.args?.[0])).toEqual([...strings, '🎉', 8, strings[0]]);
  expect(evs.find((e) => e.name === 'reflect')?.args).toEqual(strings);
  expect(srv.of(t, 'upgrade')).toEqual([]);
}
