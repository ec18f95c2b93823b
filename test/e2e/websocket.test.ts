// End-to-end tests of the WebSocket client (runtime-esp8266/uwebsockets) against real servers:
// the `ws` package, a raw scripted server that sends what no conforming server would, and
// Debian's python3-websockets. Every case runs on the simulated ESP8266 (MicroPython) and on
// CPython 3.11. Scenarios are Python code (test/support/py/prelude.py is loaded) that sets R.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  availableTargets,
  makeTarget,
  ok,
  pyWebsocketsUnavailable,
  startBlackhole,
  startPyWebsocketsServer,
  type PyTarget,
  type PyWebsocketsServer,
  type RunResult,
  type TargetName,
} from '../support/pyRunner.ts';
import { describeFrames, startRawServer, type RawConnection } from '../support/rawWsServer.ts';
import { freePort, sleep } from '../support/net.ts';
import { pattern, startWsServer, trustFixturePy, type WsRecord, type WsTestServer } from '../support/wsTestServer.ts';
import {
  OP,
  binary,
  close,
  closeInfo,
  closePayload,
  cont,
  frame,
  ping,
  pong,
  text,
  type ParsedFrame,
} from '../support/wsFrames.ts';

const ETIMEDOUT = 110;

interface State {
  open: boolean;
  code: number | null;
  reason: string;
}

/** Exception as reported by catch() in the prelude: ['exc', type, message, errno]. */
type Caught = ['ok', unknown] | ['exc', string, string, number | null];

const pyStr = (s: string) => JSON.stringify(s); // a JSON string is a valid Python str literal

/**
 * What every client byte stream must satisfy: whole frames only, all masked with distinct
 * keys, no RSV bits, no fragmentation, nothing after a Close, and (for small frames) no frame
 * split across the TCP segments the server received.
 */
function checkClientStream(c: RawConnection): ParsedFrame[] {
  const { frames, rest } = c.parsed();
  const desc = describeFrames(frames);
  expect(rest.length, `incomplete frame at the end of ${desc}`).toBe(0);
  const keys = new Set<string>();
  frames.forEach((f, i) => {
    expect(f.masked, `frame ${i} of ${desc} is not masked`).toBe(true);
    expect(f.rsv, `frame ${i} has RSV bits`).toBe(0);
    expect(f.fin, `frame ${i} is fragmented`).toBe(true);
    keys.add(f.key?.toString('hex') ?? '');
    // After its Close the client sends no data and no second Close (RFC 6455 5.5.1); it still
    // answers Pings until the server's Close arrives (5.5.2), so only Pongs may follow.
    const close = frames.findIndex((g) => g.op === OP.CLOSE);
    if (close >= 0 && i > close) expect(f.op, `frame ${i} follows the client's Close: ${desc}`).toBe(OP.PONG);
  });
  if (frames.length > 2) expect(keys.size, `masking keys reused in ${desc}`).toBe(frames.length);
  // One write per frame, as far as can be seen: no chunk boundary inside a small frame.
  let at = 0;
  const bounds = new Set<number>();
  for (const ch of c.chunks) bounds.add((at += ch.data.length));
  for (const f of frames) {
    if (f.size > 1000) continue;
    for (let b = f.offset + 1; b < f.offset + f.size; b++) expect(bounds.has(b), `frame at ${f.offset} (op ${f.op}, ${f.size} bytes) split across TCP writes`).toBe(false);
  }
  return frames;
}

const pongsOf = (frames: ParsedFrame[]) => frames.filter((f) => f.op === OP.PONG).map((f) => f.payload);

const targets = availableTargets();
for (const t of targets) if (t.skip) console.warn(`\n*** SKIPPED: WebSocket e2e suite on ${t.name}: ${t.skip} ***\n`);
const pyWsMissing = pyWebsocketsUnavailable();
if (pyWsMissing)
  console.warn(
    `\n*** SKIPPED: "python3-websockets interoperability" suites: ${pyWsMissing}. ` +
      'Install it with: sudo apt-get install python3-websockets ***\n',
  );

for (const { name, skip } of targets) {
  describe.skipIf(!!skip)(`WebSocket client on ${name}`, () => {
    let py: PyTarget;
    beforeAll(() => {
      py = makeTarget(name as TargetName);
    });
    afterAll(async () => {
      await py?.close();
    });

    const run = async <T>(code: string, timeoutMs = 10_000): Promise<T> => ok(await py.run<T>(code, { timeoutMs }));

    /** Runs a client scenario against a raw server running `script`; checks the client's stream. */
    async function rawCase<T>(
      script: (c: RawConnection) => Promise<void>,
      client: (url: string) => string,
      o: { timeoutMs?: number; check?: boolean } = {},
    ): Promise<{ value: T; c: RawConnection; result: RunResult<T> }> {
      const srv = await startRawServer(script);
      try {
        const result = await py.run<T>(client(srv.url), { timeoutMs: o.timeoutMs ?? 10_000 });
        const c = srv.connections[0];
        if (!c) throw new Error(`the client never connected: ${JSON.stringify(result)}`);
        try {
          await c.done; // the server script's own assertions
        } catch (err) {
          const client = result.timedOut ? 'timed out' : result.error ? `${result.error.type}: ${result.error.message}` : JSON.stringify(result.value);
          throw new Error(`${err instanceof Error ? err.message : String(err)}\n(client: ${client}; output: ${result.output})`);
        }
        const value = ok(result);
        if (o.check !== false) checkClientStream(c);
        return { value, c, result };
      } finally {
        await srv.close();
      }
    }

    // ------------------------------------------------------------------ against the ws package

    describe('against a ws server', () => {
      let srv: WsTestServer;
      beforeAll(async () => {
        srv = await startWsServer({ protocols: (p) => (p.has('chat') ? 'chat' : false) });
      });
      afterAll(async () => {
        await srv?.close();
      });

      it('echoes text and binary, then closes cleanly', async () => {
        const rec = srv.next();
        const r = await run<unknown[]>(`
ws = connect('${srv.url}/echo')
ws.send('hello')
a = ws.recv()
ws.send(b'\\x00\\x01\\xfe\\xff')
b = ws.recv()
s1 = state(ws)
ws.close()
R = [a, type(a) is str, b, type(b) is bytearray, s1, state(ws), ws.recv()]`);
        expect(r).toEqual(['hello', true, Buffer.from([0, 1, 0xfe, 0xff]), true, { open: true, code: null, reason: '' }, { open: false, code: 1000, reason: '' }, null]);
        const w = await rec;
        expect(w.messages.map((m) => [m.isBinary, m.data])).toEqual([
          [false, Buffer.from('hello')],
          [true, Buffer.from([0, 1, 0xfe, 0xff])],
        ]);
        expect(await w.closed).toEqual({ code: 1000, reason: '' });
      });

      it('message sizes 0, 125, 126, 65535 and 65536 bytes, text and binary, both ways', async () => {
        const rec = srv.next();
        const sizes = [0, 125, 126, 65535, 65536];
        const r = await run<[number, boolean, boolean][]>(
          `
ws = connect('${srv.url}/', max_size=70000)
R = []
for n in ${JSON.stringify(sizes)}:
    b = pattern(n)
    ws.send(b)
    rb = ws.recv()
    t = 'x' * n
    ws.send(t)
    rt = ws.recv()
    R.append([n, type(rb) is bytearray and rb == b, type(rt) is str and rt == t])
ws.close()`,
          20_000,
        );
        expect(r).toEqual(sizes.map((n) => [n, true, true]));
        const w = await rec;
        expect(w.messages.map((m) => [m.isBinary, m.data.length])).toEqual(sizes.flatMap((n) => [[true, n], [false, n]]));
        for (const m of w.messages) expect(m.data.equals(m.isBinary ? pattern(m.data.length) : Buffer.alloc(m.data.length, 'x'))).toBe(true);
      });

      it('unicode text both ways', async () => {
        const s = 'héllo wörld ✓ 𝄞 日本語 🎉 \u0000 \u{10FFFF}';
        const rec = srv.next();
        const r = await run<unknown[]>(`
ws = connect('${srv.url}/')
s = ${pyStr(s)}
ws.send(s)
m = ws.recv()
ws.close()
R = [m, m == s, len(s.encode())]`);
        expect(r).toEqual([s, true, Buffer.byteLength(s)]);
        expect((await rec).messages[0]?.data.toString('utf8')).toBe(s);
      });

      it('the default max_size (what a board can hold) takes an 8192-byte message and refuses 8193 bytes with 1009', async () => {
        const r = await run<unknown[]>(`
ws = connect('${srv.url}/')
ws.send('!send 8192')
a = ws.recv()
ws.send('!send 8193')
b = ws.recv()
R = [len(a), a == pattern(8192), b, state(ws)]`);
        expect(r).toEqual([8192, true, null, { open: false, code: 1009, reason: '' }]);
      });

      it('an oversized message closes the connection with 1009, seen by the server', async () => {
        const rec = srv.next();
        const r = await run<unknown[]>(`
ws = connect('${srv.url}/send/100000', max_size=4096)
R = [ws.recv(), state(ws)]`);
        expect(r).toEqual([null, { open: false, code: 1009, reason: '' }]);
        expect(await (await rec).closed).toEqual({ code: 1009, reason: '' });
      });

      it('client close(4000, "bye") reaches the server with its code and reason', async () => {
        const rec = srv.next();
        const r = await run<unknown[]>(`
ws = connect('${srv.url}/')
ws.close(4000, 'bye')
R = [state(ws), catch(ws.send, 'late')[:2]]`);
        expect(r).toEqual([{ open: false, code: 4000, reason: 'bye' }, ['exc', 'ConnectionClosed']]);
        expect(await (await rec).closed).toEqual({ code: 4000, reason: 'bye' });
      });

      it('server close with 1001 and a reason: recv() returns None, code and reason set, the client echoes 1001', async () => {
        const rec = srv.next();
        const r = await run<unknown[]>(`
ws = connect('${srv.url}/close/1001/${encodeURIComponent('going away ✓')}')
R = [ws.recv(), state(ws), ws.recv()]`);
        expect(r).toEqual([null, { open: false, code: 1001, reason: 'going away ✓' }, null]);
        expect(await (await rec).closed).toEqual({ code: 1001, reason: '' });
      });

      it('server close on request, then send() raises ConnectionClosed', async () => {
        const r = await run<unknown[]>(`
ws = connect('${srv.url}/')
ws.send('!close 4321 done')
m = ws.recv()
R = [m, state(ws), catch(ws.send, 'x')[:2], catch(ws.send, b'x')[:2], catch(ws.ping, b'x')[:2], catch(ws.close)]`);
        expect(r).toEqual([null, { open: false, code: 4321, reason: 'done' }, ['exc', 'ConnectionClosed'], ['exc', 'ConnectionClosed'], ['exc', 'ConnectionClosed'], ['ok', null]]);
      });

      it('a dropped TCP connection (no Close) ends with 1006', async () => {
        const r = await run<unknown[]>(`
ws = connect('${srv.url}/')
ws.send('!terminate')
R = [ws.recv(), state(ws)]`);
        expect(r).toEqual([null, { open: false, code: 1006, reason: '' }]);
      });

      it('ping from the client reaches the server; the server ping gets a Pong with its payload', async () => {
        const rec = srv.next();
        const r = await run<unknown[]>(`
ws = connect('${srv.url}/')
ws.ping(b'client-ping')
ws.ping(b'')
ws.send('!ping server-ping')
ws.send('after')
R = [ws.recv()]
ws.close()`);
        expect(r).toEqual(['after']);
        const w = await rec;
        await w.closed;
        expect(w.pings).toEqual([Buffer.from('client-ping'), Buffer.alloc(0)]);
        expect(w.pongs).toEqual([Buffer.from('server-ping')]);
      });

      it('fragmented text and binary messages from ws, with pings between the fragments: reassembled, every ping answered', async () => {
        // ws sends the first frames with fin: false and the last with fin: true; the text is
        // cut inside a code point (✓ is E2 9C 93), and a Ping goes out between every two fragments.
        const textBytes = Buffer.from('héllo ✓ wörld', 'utf8');
        const cut = textBytes.indexOf(0x9c); // between E2 and 9C 93
        const textParts = [textBytes.subarray(0, 3), textBytes.subarray(3, cut), textBytes.subarray(cut)];
        const binParts = [pattern(300), Buffer.from([0, 0xff]), pattern(125)];
        const pings = [Buffer.from('p1'), Buffer.alloc(0), pattern(125), Buffer.from([0x80, 0xff])];
        const rec = srv.next();
        const client = run<unknown[]>(`
ws = connect('${srv.url}/')
a = ws.recv()
b = ws.recv()
ws.send('done')
c = ws.recv()
ws.close()
R = [a, type(a) is str, b, type(b) is bytearray, c, state(ws)]`);
        const w = await rec;
        const sendAll = (parts: Buffer[], binary: boolean, pingsBetween: Buffer[]) =>
          parts.forEach((p, i) => {
            w.ws.send(p, { binary, fin: i === parts.length - 1 });
            if (i < parts.length - 1) w.ws.ping(pingsBetween[i]);
          });
        sendAll(textParts, false, pings.slice(0, 2));
        sendAll(binParts, true, pings.slice(2));
        const r = await client;
        expect(r).toEqual(['héllo ✓ wörld', true, Buffer.concat(binParts), true, 'done', { open: false, code: 1000, reason: '' }]);
        expect(await w.closed).toEqual({ code: 1000, reason: '' });
        expect(w.pongs).toEqual(pings);
      });

      it('subprotocols and extra headers are offered; the chosen subprotocol is reported', async () => {
        const first = srv.records.length;
        const r = await run<unknown[]>(`
ws = connect('${srv.url}/sub?x=1', headers={'X-Token': 'abc'}, subprotocols=['superchat', 'chat'])
a = ws.subprotocol
ws.close()
ws2 = connect('${srv.url}/', headers=[('X-Other', 'def')])
b = ws2.subprotocol
ws2.close()
R = [a, b]`);
        expect(r).toEqual(['chat', null]);
        const [w, w2] = srv.records.slice(first) as [WsRecord, WsRecord];
        expect(w.path).toBe('/sub?x=1');
        expect(w.headers['x-token']).toBe('abc');
        expect(w.headers['sec-websocket-protocol']).toBe('superchat, chat');
        expect(w.headers['sec-websocket-version']).toBe('13');
        expect(w.protocol).toBe('chat');
        expect(w2.headers['x-other']).toBe('def');
      });

      it('as a context manager it closes with 1000 on exit', async () => {
        const rec = srv.next();
        const r = await run<unknown[]>(`
with connect('${srv.url}/') as ws:
    ws.send('in')
    m = ws.recv()
R = [m, state(ws)]`);
        expect(r).toEqual(['in', { open: false, code: 1000, reason: '' }]);
        expect(await (await rec).closed).toEqual({ code: 1000, reason: '' });
      });

      it('leaving a with block while a received message is unread closes at once; recv() still returns that message', async () => {
        // The echoes arrive while the client sends; the first is decoded into ws.msg and waits
        // there (the others stay in the socket). Closing must read on regardless: the closing
        // states ignore data frames, so the pending message is safe.
        const rec = srv.next();
        const r = await run<unknown[]>(
          `
with connect('${srv.url}/') as ws:
    for i in range(5):
        ws.send('hello %d' % i)
        time.sleep(0.05)
    pending = ws.msg
    t0 = now_ms()
dt = since_ms(t0)
R = [pending, dt, state(ws), ws.recv(), ws.recv()]`,
          6000,
        );
        const [pending, dt, ...rest] = r as [unknown, number, ...unknown[]];
        expect(pending).toBe('hello 0');
        expect(dt).toBeLessThan(1000); // close_timeout is 2 s: the server's Close ended it
        expect(rest).toEqual([{ open: false, code: 1000, reason: '' }, 'hello 0', null]);
        const w = await rec;
        expect(w.messages.map((m) => m.data.toString())).toEqual(['hello 0', 'hello 1', 'hello 2', 'hello 3', 'hello 4']);
        expect(await w.closed).toEqual({ code: 1000, reason: '' });
      });

      it('close(code) with several received messages unread returns at once with its code', async () => {
        const rec = srv.next();
        const r = await run<unknown[]>(
          `
ws = connect('${srv.url}/')
for i in range(5):
    ws.send(bytes([i]) * 200)
    time.sleep(0.05)
pending = ws.msg
t0 = now_ms()
ws.close(4000, 'later')
R = [pending == bytes(200), since_ms(t0), state(ws), ws.recv() == bytes(200), ws.recv()]`,
          6000,
        );
        const [pending, dt, ...rest] = r as [boolean, number, ...unknown[]];
        expect(pending).toBe(true);
        expect(dt).toBeLessThan(1000);
        expect(rest).toEqual([{ open: false, code: 4000, reason: 'later' }, true, null]);
        expect(await (await rec).closed).toEqual({ code: 4000, reason: 'later' });
      });

      it('recv() timeout raises OSError(ETIMEDOUT); the connection stays usable', async () => {
        const r = await run<unknown[]>(`
ws = connect('${srv.url}/')
ws.settimeout(0.3)
t0 = now_ms()
try:
    ws.recv()
    e = None
except OSError as x:
    e = [isinstance(x, OSError), x.args[0]]
dt = since_ms(t0)
ws.send('still there')
a = ws.recv()
ws.settimeout(None)
ws.send('again')
b = ws.recv()
ws.close()
R = [e, dt, a, b, state(ws)]`);
        const [e, dt, ...rest] = r as [unknown, number, ...unknown[]];
        expect(e).toEqual([true, ETIMEDOUT]);
        expect(dt).toBeGreaterThanOrEqual(250);
        expect(dt).toBeLessThan(1500);
        expect(rest).toEqual(['still there', 'again', { open: false, code: 1000, reason: '' }]);
      });

      it('client-side argument checks: bad close codes and reasons, long pings (ValueError), connection still open', async () => {
        const r = await run<unknown[]>(`
ws = connect('${srv.url}/')
R = [catch(ws.close, 1005)[:2], catch(ws.close, 999)[:2], catch(ws.close, 1000, 'x' * 124)[:2], catch(ws.ping, b'x' * 126)[:2]]
ws.send('ok')
R.append(ws.recv())
ws.close(1000, 'x' * 123)
R.append(state(ws)['code'])`);
        expect(r).toEqual([['exc', 'ValueError'], ['exc', 'ValueError'], ['exc', 'ValueError'], ['exc', 'ValueError'], 'ok', 1000]);
      });
    });

    // ------------------------------------------------------------------------ TLS (wss://)

    describe('wss:// against a TLS ws server', () => {
      let srv: WsTestServer;
      beforeAll(async () => {
        srv = await startWsServer({ tls: true });
      });
      afterAll(async () => {
        await srv?.close();
      });
      const ssl = trustFixturePy(name);

      it('echoes text, binary and 64 KiB over TLS, pings, and closes', async () => {
        const rec = srv.next();
        const r = await run<unknown[]>(
          `${ssl}
ws = connect('${srv.url}/tls', ssl=CTX, max_size=70000)
ws.send('secure ✓')
a = ws.recv()
ws.send(b'\\x00\\xff')
b = ws.recv()
big = pattern(65536)
ws.send(big)
c = ws.recv()
ws.ping(b'tls')
ws.send('!send 3000')
d = ws.recv()
ws.close(4001, 'tls bye')
R = [a, b, c == big, d == pattern(3000), state(ws)]`,
          20_000,
        );
        expect(r).toEqual(['secure ✓', Buffer.from([0, 255]), true, true, { open: false, code: 4001, reason: 'tls bye' }]);
        const w = await rec;
        expect(w.pings).toEqual([Buffer.from('tls')]);
        expect(await w.closed).toEqual({ code: 4001, reason: 'tls bye' });
      });

      it.runIf(name === 'cpython')('CPython verifies the certificate: the default context rejects the self-signed one', async () => {
        const r = await run<Caught>(`
R = catch(connect, '${srv.url}/')`);
        expect(r[0]).toBe('exc');
        expect(r[1]).toBe('SSLCertVerificationError');
      });
    });

    // ------------------------------------------------------------------- timeouts

    describe('timeouts', () => {
      it('connect timeout: a TCP connect that hangs raises OSError after the timeout', async () => {
        const bh = await startBlackhole();
        try {
          const r = await run<unknown[]>(`
t0 = now_ms()
try:
    connect('ws://127.0.0.1:${bh.port}/', timeout=0.5)
    e = None
except OSError as x:
    e = [type(x).__name__, isinstance(x, HandshakeError)]
R = [e, since_ms(t0)]`);
          const [e, dt] = r as [[string, boolean], number];
          expect(e?.[1]).toBe(false);
          expect(e?.[0]).toMatch(/OSError|TimeoutError/);
          expect(dt).toBeGreaterThanOrEqual(400);
          expect(dt).toBeLessThan(3000);
        } finally {
          await bh.stop();
        }
      });

      it('handshake timeout: a server that never answers gives HandshakeError after the timeout', async () => {
        const { value } = await rawCase<unknown[]>(
          async (c) => {
            await c.request;
          },
          (url) => `
t0 = now_ms()
e = catch(connect, '${url}', timeout=0.5)
R = [e[:2], since_ms(t0)]`,
        );
        const [e, dt] = value as [unknown, number];
        expect(e).toEqual(['exc', 'HandshakeError']);
        expect(dt).toBeGreaterThanOrEqual(400);
        expect(dt).toBeLessThan(3000);
      });

      it('connection refused raises OSError, not HandshakeError', async () => {
        const port = await freePort();
        const r = await run<Caught>(`R = catch(connect, 'ws://127.0.0.1:${port}/', timeout=2)`);
        expect(r[0]).toBe('exc');
        expect(r[1]).not.toBe('HandshakeError');
        expect(r[1]).toMatch(/OSError|ConnectionRefusedError/);
      });

      it('a recv() timeout in the middle of a frame loses no bytes', async () => {
        const { value } = await rawCase<unknown[]>(
          async (c) => {
            await c.handshake();
            const f = text('split message');
            await c.write(f.subarray(0, 3));
            await c.waitOp(OP.TEXT); // the client says when its recv() has timed out
            await c.write(f.subarray(3));
            await c.answerClose();
          },
          (url) => `
ws = connect('${url}')
ws.settimeout(0.3)
e = catch(ws.recv)
ws.send('timed out')
ws.settimeout(5)
m = ws.recv()
ws.close()
R = [[e[0], e[3]], m, state(ws)]`,
        );
        expect(value).toEqual([['exc', ETIMEDOUT], 'split message', { open: false, code: 1000, reason: '' }]);
      });

      it('settimeout(0): recv() with nothing to read raises ETIMEDOUT at once instead of spinning', async () => {
        const { value } = await rawCase<unknown[]>(
          async (c) => {
            await c.handshake();
            await c.waitOp(OP.TEXT);
            await c.write(text('now'));
            await c.answerClose();
          },
          (url) => `
ws = connect('${url}')
ws.settimeout(0)
t0 = now_ms()
e = catch(ws.recv)
dt = since_ms(t0)
ws.send('go')
ws.settimeout(5)
m = ws.recv()
ws.close()
R = [[e[0], e[3]], dt < 500, m]`,
          { timeoutMs: 2500 },
        );
        expect(value).toEqual([['exc', ETIMEDOUT], true, 'now']);
      });

      it('close() without an answer from the server returns after the close timeout (1006)', async () => {
        const { value, c } = await rawCase<unknown[]>(
          async (c) => {
            await c.handshake();
            await c.waitClose();
          },
          (url) => `
ws = connect('${url}')
t0 = now_ms()
ws.close(1000)
R = [since_ms(t0), state(ws)]`,
        );
        const [dt, st] = value as [number, State];
        expect(dt).toBeGreaterThanOrEqual(1800);
        expect(dt).toBeLessThan(4000);
        expect(st).toEqual({ open: false, code: 1006, reason: '' });
        expect(closeInfo(c.frames().at(-1)?.payload ?? Buffer.alloc(0))).toEqual({ code: 1000, reason: '' });
      });
    });

    // ----------------------------------------------------------------- raw: message assembly

    describe('fragmentation, control frames and delivery (raw server)', () => {
      it('fragmented text with pings between fragments: each Pong (same payload) comes before the message completes', async () => {
        const big = Buffer.from(Array.from({ length: 125 }, (_, i) => (i * 7) & 255));
        const { value, c } = await rawCase<unknown[]>(
          async (c) => {
            await c.handshake();
            await c.write(text('frag1-', false));
            await c.write(ping('p1'));
            await c.waitOp(OP.PONG, 0); // must come while the message is incomplete
            await c.write(cont('frag2-', false));
            await c.write(ping(''));
            await c.waitOp(OP.PONG, 1);
            await c.write(cont('', false));
            await c.write(ping(big));
            await c.waitOp(OP.PONG, 2);
            await c.write(cont('end'));
            await c.waitOp(OP.TEXT);
            await c.write(close(1000, 'done'));
            await c.waitClose();
            c.end();
          },
          (url) => `
ws = connect('${url}')
m = ws.recv()
ws.send(m)
R = [m, ws.recv(), state(ws)]`,
        );
        expect(value).toEqual(['frag1-frag2-end', null, { open: false, code: 1000, reason: 'done' }]);
        const frames = c.frames();
        expect(pongsOf(frames)).toEqual([Buffer.from('p1'), Buffer.alloc(0), big]);
        expect(frames.map((f) => f.op)).toEqual([OP.PONG, OP.PONG, OP.PONG, OP.TEXT, OP.CLOSE]);
        expect(closeInfo(frames[4]?.payload as Buffer)).toEqual({ code: 1000, reason: '' });
      });

      const interleaved = Buffer.concat([
        binary(Buffer.from([0, 1]), false),
        ping('a'),
        cont(Buffer.from([2]), false),
        pong('unsolicited'),
        ping('b'.repeat(125)),
        cont(Buffer.alloc(0), false),
        cont(Buffer.from([3])),
        text('second'),
      ]);
      const interleavedClient = (url: string) => `
ws = connect('${url}')
ws.send('ready')
a = ws.recv()
ws.send(a)
b = ws.recv()
ws.send(b)
R = [a, b, ws.recv(), state(ws)]`;
      const interleavedServer = (write: (c: RawConnection, b: Buffer) => Promise<void>) => async (c: RawConnection) => {
        await c.handshakeReady();
        await write(c, interleaved);
        await c.waitOp(OP.TEXT, 1);
        await c.write(close(1001));
        await c.waitClose();
        c.end();
      };
      const checkInterleaved = (value: unknown, c: RawConnection) => {
        expect(value).toEqual([Buffer.from([0, 1, 2, 3]), 'second', null, { open: false, code: 1001, reason: '' }]);
        const frames = c.frames();
        expect(frames.map((f) => f.op)).toEqual([OP.TEXT, OP.PONG, OP.PONG, OP.BINARY, OP.TEXT, OP.CLOSE]);
        expect(pongsOf(frames)).toEqual([Buffer.from('a'), Buffer.from('b'.repeat(125))]);
        expect(frames[5]?.payload).toEqual(closePayload(1001)); // the code echoed, nothing more
      };

      it('fragmented binary with pings and an unsolicited pong between fragments, in one TCP write', async () => {
        const { value, c } = await rawCase(
          interleavedServer((c, b) => c.write(b)),
          interleavedClient,
        );
        checkInterleaved(value, c);
      });

      it('the same stream delivered one byte per TCP segment', async () => {
        const { value, c } = await rawCase(
          interleavedServer((c, b) => c.writeSplit(b, 1, 1)),
          interleavedClient,
          { timeoutMs: 15_000 },
        );
        checkInterleaved(value, c);
      });

      it('frames split across TCP writes at odd places (extended lengths included)', async () => {
        const t126 = 'y'.repeat(126);
        const b300 = pattern(300);
        const stream = Buffer.concat([text(t126), binary(b300), text('z'.repeat(70000))]);
        const { value } = await rawCase<unknown[]>(
          async (c) => {
            await c.handshakeReady();
            // 1, 2, 3 ... bytes per write for the first frames, then large pieces
            let o = 0;
            for (let k = 1; o < 500; k++) {
              await c.write(stream.subarray(o, o + k));
              o += k;
              await sleep(1);
            }
            await c.writeSplit(stream.subarray(o), 4093, 1);
            await c.answerClose();
          },
          (url) => `
ws = connect('${url}', max_size=70000)
ws.send('ready')
a = ws.recv()
b = ws.recv()
c = ws.recv()
ws.close()
R = [a == ${pyStr(t126)}, b == pattern(300), c == 'z' * 70000, len(c)]`,
          { timeoutMs: 15_000 },
        );
        expect(value).toEqual([true, true, true, 70000]);
      });

      it('text split inside multi-byte characters across fragments is reassembled', async () => {
        const s = 'aé€𝄞z';
        const u = Buffer.from(s);
        const frames = Buffer.concat([...u].map((b, i) => (i === 0 ? text(Buffer.from([b]), false) : cont(Buffer.from([b]), i === u.length - 1))));
        const { value } = await rawCase<unknown[]>(
          async (c) => {
            await c.handshakeReady();
            await c.write(Buffer.concat([frames, text(''), binary(''), text('', false), cont('', false), cont('')]));
            await c.answerClose();
          },
          (url) => `
ws = connect('${url}')
ws.send('ready')
R = [ws.recv(), ws.recv(), ws.recv(), ws.recv()]
ws.close()`,
        );
        expect(value).toEqual([s, '', Buffer.alloc(0), '']);
      });

      it('frames in the same TCP segment as the 101 response', async () => {
        const { value, c } = await rawCase<unknown[]>(
          async (c) => {
            await c.handshake({ trailing: Buffer.concat([text('first'), ping('in-101')]) });
            await c.answerClose();
          },
          (url) => `
ws = connect('${url}')
R = [ws.recv()]
ws.close()`,
        );
        expect(value).toEqual(['first']);
        expect(pongsOf(c.frames())).toEqual([Buffer.from('in-101')]);
      });

      it('two messages in the same TCP segment as the 101 response are both delivered', async () => {
        const { value } = await rawCase<unknown[]>(
          async (c) => {
            await c.handshake({ trailing: Buffer.concat([text('one'), binary('two'), text('three')]) });
            await c.answerClose();
          },
          (url) => `
ws = connect('${url}')
ws.settimeout(0.5)
R = [catch(ws.recv), catch(ws.recv), catch(ws.recv)]
ws.close()`,
        );
        expect(value).toEqual([
          ['ok', 'one'],
          ['ok', Buffer.from('two')],
          ['ok', 'three'],
        ]);
      });

      it('a Close in the same TCP segment as the 101 response', async () => {
        const { value, c } = await rawCase<unknown[]>(
          async (c) => {
            await c.handshake({ trailing: close(1001, 'bye') });
            await c.waitClose();
            c.end();
          },
          (url) => `
ws = connect('${url}')
R = [ws.recv(), state(ws)]`,
        );
        expect(value).toEqual([null, { open: false, code: 1001, reason: 'bye' }]);
        expect(c.frames().map((f) => [f.op, f.payload])).toEqual([[OP.CLOSE, closePayload(1001)]]);
      });

      it('the 101 response and then frames delivered one byte at a time', async () => {
        const { value, c } = await rawCase<unknown[]>(
          async (c) => {
            await c.writeSplit(await c.response(), 1, 1);
            await c.waitOp(OP.TEXT);
            await c.writeSplit(Buffer.concat([text('hi'), ping('x'), binary(pattern(130)), text('é', false), cont('!')]), 1, 1);
            await c.answerClose();
          },
          (url) => `
ws = connect('${url}')
ws.send('ready')
R = [ws.recv(), ws.recv() == pattern(130), ws.recv()]
ws.close()`,
          { timeoutMs: 15_000 },
        );
        expect(value).toEqual(['hi', true, 'é!']);
        expect(pongsOf(c.frames())).toEqual([Buffer.from('x')]);
      });

      it('masks every frame with a fresh key, uses minimal length encodings, writes each frame whole', async () => {
        const sizes = [0, 1, 125, 126, 65535, 65536];
        const { c } = await rawCase<unknown>(
          async (c) => {
            await c.handshake();
            await c.answerClose();
          },
          (url) => `
ws = connect('${url}', max_size=70000)
for n in ${JSON.stringify(sizes)}:
    ws.send(pattern(n))
ws.send('text ✓')
ws.ping(b'ping')
ws.ping(b'')
for i in range(5):
    ws.send('small %d' % i)
ws.close(3000, 'done ✓')`,
        );
        const frames = checkClientStream(c);
        expect(frames.map((f) => f.op)).toEqual([...sizes.map(() => OP.BINARY), OP.TEXT, OP.PING, OP.PING, ...Array(5).fill(OP.TEXT), OP.CLOSE]);
        expect(frames.slice(0, sizes.length).map((f) => [f.payload.length, f.lengthForm])).toEqual([
          [0, 7],
          [1, 7],
          [125, 7],
          [126, 16],
          [65535, 16],
          [65536, 64],
        ]);
        for (const f of frames.slice(0, sizes.length)) expect(f.payload.equals(pattern(f.payload.length))).toBe(true);
        expect(frames[sizes.length]?.payload.toString()).toBe('text ✓');
        expect(closeInfo(frames.at(-1)?.payload as Buffer)).toEqual({ code: 3000, reason: 'done ✓' });
        expect(new Set(frames.map((f) => f.key?.toString('hex'))).size).toBe(frames.length);
      });

      it('after its Close the client sends no data, answers Pings until the server Close, and takes the code from it', async () => {
        const { value, c } = await rawCase<unknown[]>(
          async (c) => {
            await c.handshake();
            await c.waitClose();
            await c.write(Buffer.concat([ping('late'), text('late'), binary('late')]));
            await sleep(100);
            await c.write(close(4002, 'later'));
            await sleep(50);
            c.end();
          },
          (url) => `
ws = connect('${url}')
t0 = now_ms()
ws.close(4000, 'bye')
R = [state(ws), since_ms(t0) >= 100, ws.recv()]`,
        );
        expect(value).toEqual([{ open: false, code: 4002, reason: 'later' }, true, null]);
        expect(c.frames().map((f) => f.op)).toEqual([OP.CLOSE, OP.PONG]);
        expect(closeInfo(c.frames()[0]?.payload as Buffer)).toEqual({ code: 4000, reason: 'bye' });
        expect(c.frames()[1]?.payload).toEqual(Buffer.from('late'));
      });

      it('server Close echo: the code only (no reason); an empty Close gives 1005 and an empty echo', async () => {
        for (const [payload, code, echo] of [
          [closePayload(1000, 'normal'), 1000, closePayload(1000)],
          [closePayload(1003, 'x'), 1003, closePayload(1003)],
          [closePayload(1014), 1014, closePayload(1014)],
          [closePayload(3000, 'a'), 3000, closePayload(3000)],
          [closePayload(4999, 'r'.repeat(123)), 4999, closePayload(4999)],
          [Buffer.alloc(0), 1005, Buffer.alloc(0)],
        ] as const) {
          const { value, c } = await rawCase<unknown[]>(
            async (c) => {
              await c.handshake();
              await c.write(frame({ op: OP.CLOSE, payload }));
              await c.waitClose();
              c.end();
            },
            (url) => `
ws = connect('${url}')
R = [ws.recv(), state(ws)]`,
          );
          expect(value).toEqual([null, { open: false, code, reason: payload.subarray(2).toString() }]);
          expect(c.frames().map((f) => f.payload)).toEqual([echo]);
        }
      });

      it('oversized message: the client closes with 1009 from the header, before the server has sent it all', async () => {
        const { value, c } = await rawCase<unknown[]>(
          async (c) => {
            await c.handshake();
            await c.write(frame({ op: OP.BINARY, length: 100000, payload: Buffer.alloc(1000) })); // 99000 bytes never sent
            const cl = await c.waitClose(3000);
            expect(cl.code).toBe(1009);
            await c.write(close(1009));
            c.end();
          },
          (url) => `
ws = connect('${url}', max_size=65536)
R = [ws.recv(), state(ws)]`,
        );
        expect(value).toEqual([null, { open: false, code: 1009, reason: '' }]);
        expect(c.frames().map((f) => f.op)).toEqual([OP.CLOSE]);
      });

      it('oversized fragmented message: fragments under max_size that add up to more give 1009', async () => {
        const { value } = await rawCase<unknown[]>(
          async (c) => {
            await c.handshake();
            await c.write(Buffer.concat([text('a'.repeat(600), false), cont('b'.repeat(400), false)])); // 1000: fits
            await c.write(cont('c', true)); // 1001: too big
            const cl = await c.waitClose(3000);
            expect(cl.code).toBe(1009);
            await c.write(close(1009));
            c.end();
          },
          (url) => `
ws = connect('${url}', max_size=1000)
R = [ws.recv(), state(ws)]`,
        );
        expect(value).toEqual([null, { open: false, code: 1009, reason: '' }]);
      });

      it('a message of exactly max_size is delivered', async () => {
        const { value } = await rawCase<unknown[]>(
          async (c) => {
            await c.handshakeReady();
            await c.write(Buffer.concat([binary(pattern(1000)), text('a'.repeat(500), false), cont('b'.repeat(500))]));
            await c.answerClose();
          },
          (url) => `
ws = connect('${url}', max_size=1000)
ws.send('ready')
a = ws.recv()
b = ws.recv()
ws.close()
R = [a == pattern(1000), b == 'a' * 500 + 'b' * 500]`,
        );
        expect(value).toEqual([true, true]);
      });

      it('after failing the connection it keeps reading until the server closes TCP', async () => {
        let endedEarly = false;
        const { value } = await rawCase<unknown[]>(
          async (c) => {
            await c.handshake();
            await c.write(Buffer.concat([frame({ op: OP.TEXT, payload: 'masked', mask: true }), Buffer.alloc(100, 0x81)]));
            const cl = await c.waitClose(3000);
            expect(cl.code).toBe(1002);
            await c.write(Buffer.alloc(100, 0x82)); // more junk
            const early = await Promise.race([c.clientEnded.then(() => true), sleep(300).then(() => false)]);
            endedEarly = early || c.reset;
            await c.write(close(1002));
            c.end();
          },
          (url) => `
ws = connect('${url}')
R = [ws.recv(), state(ws)]`,
          { check: false },
        );
        expect(value).toEqual([null, { open: false, code: 1002, reason: '' }]);
        expect(endedEarly, 'the client closed TCP before the server did, right after failing').toBe(false);
      });
    });

    // ------------------------------------------------------------- raw: invalid input

    describe('invalid frames fail the connection with the documented close code', () => {
      const F = frame;
      const u = (...b: number[]) => Buffer.from(b);
      const cases: [string, Buffer, 1002 | 1007][] = [
        ['RSV1 set', F({ op: OP.TEXT, payload: 'x', rsv: 4 }), 1002],
        ['RSV2 set', F({ op: OP.BINARY, payload: 'x', rsv: 2 }), 1002],
        ['RSV3 set on a ping', F({ op: OP.PING, payload: 'x', rsv: 1 }), 1002],
        ['reserved data opcode 0x3', F({ op: 3, payload: 'x' }), 1002],
        ['reserved data opcode 0x7', F({ op: 7 }), 1002],
        ['reserved control opcode 0xB', F({ op: 0xb, payload: 'x' }), 1002],
        ['reserved control opcode 0xF', F({ op: 0xf }), 1002],
        ['a masked frame from the server', F({ op: OP.TEXT, payload: 'hello', mask: true }), 1002],
        ['a masked ping from the server', F({ op: OP.PING, payload: 'p', mask: true }), 1002],
        ['a ping of 126 bytes', F({ op: OP.PING, payload: Buffer.alloc(126) }), 1002],
        ['a close of 126 bytes', F({ op: OP.CLOSE, payload: closePayload(1000, 'x'.repeat(124)) }), 1002],
        ['a pong announcing a 16-bit length under 126', F({ op: OP.PONG, payload: 'x', lengthForm: 16 }), 1002],
        ['a fragmented ping (FIN clear)', F({ op: OP.PING, payload: 'p', fin: false }), 1002],
        ['a fragmented close (FIN clear)', F({ op: OP.CLOSE, payload: closePayload(1000), fin: false }), 1002],
        ['a continuation with nothing to continue', cont('x'), 1002],
        ['a text frame inside a fragmented text message', Buffer.concat([text('a', false), text('b')]), 1002],
        ['a binary frame inside a fragmented text message', Buffer.concat([text('a', false), binary('b')]), 1002],
        ['a text frame inside a fragmented binary message', Buffer.concat([binary('a', false), ping('p'), text('b')]), 1002],
        ['a 64-bit length with its top bit set', F({ op: OP.BINARY, length: 2n ** 63n + 5n, lengthForm: 64 }), 1002],
        ['a 1-byte close payload', F({ op: OP.CLOSE, payload: u(0x03) }), 1002],
        ...[0, 999, 1004, 1005, 1006, 1015, 1016, 2000, 2999, 5000, 65535].map(
          (code) => [`close code ${code}`, close(code, 'r'), 1002] as [string, Buffer, 1002],
        ),
        ['a close reason that is not UTF-8', F({ op: OP.CLOSE, payload: Buffer.concat([closePayload(1000), u(0xff)]) }), 1002],
        ['invalid UTF-8 (0xFF) in a text frame', text(u(0x61, 0xff)), 1007],
        ['a lone continuation byte', text(u(0x80)), 1007],
        ['an overlong 2-byte form (C0 AF)', text(u(0xc0, 0xaf)), 1007],
        ['an overlong 3-byte form (E0 80 AF)', text(u(0xe0, 0x80, 0xaf)), 1007],
        ['an overlong 4-byte form (F0 80 80 AF)', text(u(0xf0, 0x80, 0x80, 0xaf)), 1007],
        ['a UTF-16 surrogate (ED A0 80)', text(u(0xed, 0xa0, 0x80)), 1007],
        ['a code point above U+10FFFF (F4 90 80 80)', text(u(0xf4, 0x90, 0x80, 0x80)), 1007],
        ['lead byte F5', text(u(0xf5, 0x80, 0x80, 0x80)), 1007],
        ['a code point cut at the end of the message', text(u(0x61, 0xe2, 0x82)), 1007],
        ['bad UTF-8 split across fragments (C3 | 41)', Buffer.concat([text(u(0x61, 0xc3), false), cont(u(0x41))]), 1007],
        ['a surrogate split across fragments (ED | A0 80)', Buffer.concat([text(u(0xed), false), cont(u(0xa0, 0x80))]), 1007],
        ['a code point cut at the end of the last fragment', Buffer.concat([text(u(0xf0, 0x9d), false), cont(u(0x84))]), 1007],
      ];
      for (const [what, bad, code] of cases) {
        it(`${what} → ${code}`, async () => {
          const { value, c } = await rawCase<unknown[]>(
            async (c) => {
              await c.handshake();
              await c.write(bad);
              await c.answerClose(undefined, 3000);
            },
            (url) => `
ws = connect('${url}')
R = [ws.recv(), state(ws)]`,
            { timeoutMs: 6000 },
          );
          expect(value).toEqual([null, { open: false, code, reason: '' }]);
          const frames = c.frames();
          expect(frames.map((f) => [f.op, f.payload])).toEqual([...frames.filter((f) => f.op === OP.PONG).map((f) => [OP.PONG, f.payload]), [OP.CLOSE, closePayload(code)]]);
        });
      }

      for (const [what, bad, code] of [
        ['a masked frame', frame({ op: OP.TEXT, payload: 'x', mask: true }), 1002],
        ['a continuation with nothing to continue', cont('x'), 1002],
        ['invalid UTF-8', text(Buffer.from([0xff])), 1007],
      ] as const) {
        it(`after ${what} the failure code (${code}) stays when the server answers with Close 1000`, async () => {
          const { value } = await rawCase<unknown[]>(
            async (c) => {
              await c.handshake();
              await c.write(bad);
              await c.answerClose(close(1000, 'fine here'), 3000);
            },
            (url) => `
ws = connect('${url}')
R = [ws.recv(), state(ws)['code']]`,
            { timeoutMs: 6000 },
          );
          expect(value).toEqual([null, code]);
        });
      }

      it('bad UTF-8 fails on the fragment that makes it bad, without waiting for FIN', async () => {
        const { value } = await rawCase<unknown[]>(
          async (c) => {
            await c.handshake();
            await c.write(Buffer.concat([text('ok', false), cont(Buffer.from([0xe2, 0x28]), false)])); // E2 28: bad already
            const cl = await c.waitClose(3000);
            expect(cl.code).toBe(1007);
            await c.write(close(1007));
            c.end();
          },
          (url) => `
ws = connect('${url}')
R = [ws.recv(), state(ws)]`,
        );
        expect(value).toEqual([null, { open: false, code: 1007, reason: '' }]);
      });
    });

    // --------------------------------------------------------------- raw: the handshake

    describe('the opening handshake', () => {
      const bad: [string, (c: RawConnection) => Promise<void>, string[]?][] = [
        ['a wrong Sec-WebSocket-Accept', (c) => c.handshake({ accept: 'dGhlIHNhbXBsZSBub25jZQ==' })],
        ['no Sec-WebSocket-Accept', (c) => c.handshake({ accept: null })],
        ['no Upgrade header', (c) => c.handshake({ upgrade: null })],
        ['Upgrade: h2c', (c) => c.handshake({ upgrade: 'h2c' })],
        ['no Connection header', (c) => c.handshake({ connection: null })],
        ['Connection: keep-alive', (c) => c.handshake({ connection: 'keep-alive' })],
        ['status 200', (c) => c.handshake({ status: '200 OK' })],
        ['status 403 with a body', (c) => c.write('HTTP/1.1 403 Forbidden\r\nContent-Length: 2\r\n\r\nno')],
        ['a subprotocol we did not ask for', (c) => c.handshake({ extra: ['Sec-WebSocket-Protocol: chat'] })],
        ['a subprotocol other than those offered', (c) => c.handshake({ extra: ['Sec-WebSocket-Protocol: other'] }), ['chat']],
        ['an extension we did not ask for', (c) => c.handshake({ extra: ['Sec-WebSocket-Extensions: permessage-deflate'] })],
        ['the server closing TCP before answering', async (c) => (await c.request, c.end())],
        ['the server closing TCP in the middle of the response', async (c) => (await c.write((await c.response()).subarray(0, 40)), c.end())],
        ['a response head over 4 KiB', async (c) => c.write('HTTP/1.1 101 Switching Protocols\r\n' + 'X-Pad: '.padEnd(5000, 'p'))],
        ['not HTTP at all', async (c) => c.write('SSH-2.0-OpenSSH_9.2\r\n\r\n')],
        // Bytes FF FE (the response head is written as latin1): on CPython decoding it raised UnicodeError.
        ['a subprotocol that is not UTF-8', (c) => c.handshake({ extra: ['Sec-WebSocket-Protocol: \xff\xfe'] }), ['chat']],
      ];
      for (const [what, script, protocols] of bad) {
        it(`HandshakeError for ${what}`, async () => {
          const { value, c } = await rawCase<Caught>(
            async (c) => {
              await script(c);
            },
            (url) => `R = catch(connect, '${url}', subprotocols=${protocols ? JSON.stringify(protocols) : 'None'}, timeout=3)`,
            { timeoutMs: 6000 },
          );
          expect(value.slice(0, 2)).toEqual(['exc', 'HandshakeError']);
          // The client closed the connection, without sending a frame.
          await Promise.race([c.clientEnded, sleep(1000).then(() => Promise.reject(new Error('client did not close TCP')))]);
          expect(c.received.length).toBe(0);
        });
      }

      const good: [string, (c: RawConnection) => Promise<void>, string[] | null, string | null][] = [
        ['Upgrade: WebSocket (capitalised)', (c) => c.handshake({ upgrade: 'WebSocket' }), null, null],
        ['Upgrade: WEBSOCKET, Connection: keep-alive, Upgrade', (c) => c.handshake({ upgrade: 'WEBSOCKET', connection: 'keep-alive, Upgrade' }), null, null],
        ['lower-case header names and a reason phrase of its own', async (c) => {
          const key = (await c.request).headers['sec-websocket-key'] ?? '';
          const { acceptKey } = await import('../support/wsFrames.ts');
          await c.write(`HTTP/1.1 101 Web Socket Protocol Handshake\r\nupgrade: websocket\r\nconnection: upgrade\r\nsec-websocket-accept: ${acceptKey(key)}\r\nServer: test\r\n\r\n`);
        }, null, null],
        ['the subprotocol chosen among those offered', (c) => c.handshake({ extra: ['Sec-WebSocket-Protocol: b'] }), ['a', 'b'], 'b'],
        ['the response in 1-byte TCP segments', async (c) => c.writeSplit(await c.response(), 1, 1), null, null],
      ];
      for (const [what, script, protocols, chosen] of good) {
        it(`accepts ${what}`, async () => {
          const { value, c } = await rawCase<unknown[]>(
            async (c) => {
              await script(c);
              await c.write(text('welcome'));
              await c.answerClose();
            },
            (url) => `
ws = connect('${url}', subprotocols=${protocols ? JSON.stringify(protocols) : 'None'})
R = [ws.subprotocol, ws.recv()]
ws.close()`,
          );
          expect(value).toEqual([chosen, 'welcome']);
          const req = await c.request;
          expect(req.line).toBe('GET / HTTP/1.1');
          expect(req.headers.upgrade?.toLowerCase()).toBe('websocket');
          expect(req.headers['sec-websocket-version']).toBe('13');
          expect(Buffer.from(req.headers['sec-websocket-key'] ?? '', 'base64').length).toBe(16);
          if (protocols) expect(req.headers['sec-websocket-protocol']).toBe(protocols.join(', '));
        });
      }

      it('a fresh Sec-WebSocket-Key for every connection; Host carries the port', async () => {
        const srv = await startRawServer(async (c) => {
          await c.handshake();
          await c.answerClose();
        });
        try {
          ok(
            await py.run(`
for i in range(3):
    connect('${srv.url}path?q=1').close()`),
          );
          const reqs = await Promise.all(srv.connections.map((c) => c.request));
          expect(new Set(reqs.map((r) => r.headers['sec-websocket-key'])).size).toBe(3);
          for (const r of reqs) {
            expect(r.line).toBe('GET /path?q=1 HTTP/1.1');
            expect(r.headers.host).toBe(`127.0.0.1:${srv.port}`);
          }
        } finally {
          await srv.close();
        }
      });
    });

    // ------------------------------------------------- hostile servers and bad input

    describe('hostile servers and bad input: every wait bounded, every input checked', () => {
      // CPython with small socket buffers shows a peer that stops reading; so does the
      // simulated board, with lwIP's 2920-byte send buffer, once the host's own buffers are full.
      it('a send() to a server that stops reading fails the connection (1006) at its timeout instead of hanging', async () => {
        const { value } = await rawCase<unknown[]>(
          async (c) => {
            await c.handshakeReady();
            c.socket.pause(); // reads no more (so it would not see the client end either)
          },
          (url) => `
import socket
ws = connect('${url}')
if not IS_MPY:
    ws.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
ws.send('ready')
ws.settimeout(1)
R = [catch(ws.send, bytes((16 if IS_MPY else 4) << 20))[:2], state(ws), ws.recv()]`,
          { timeoutMs: 20_000, check: false },
        );
        expect(value).toEqual([['exc', 'ConnectionClosed'], { open: false, code: 1006, reason: '' }, null]);
      });

      // (CPython only: on the simulated board the Pongs would have to fill the host's buffers.)
      it.skipIf(name === 'sim')('recv(timeout) while a server sends Pings and reads nothing: the stalled Pongs fail the connection (1006), the Pong queue stays bounded', async () => {
        const { value } = await rawCase<unknown[]>(
          async (c) => {
            await c.handshakeReady();
            c.socket.pause();
            const p = ping('x'.repeat(125));
            const burst = Buffer.concat(Array(500).fill(p));
            for (let i = 0; i < 40; i++) void c.write(burst); // (the client stops reading too)
          },
          (url) => `
import socket
ws = connect('${url}')
ws.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
ws.send('ready')
ws.settimeout(2)
most = 0
def step(ms):
    global most
    Websocket.step(ws, ms)
    most = max(most, len(ws.out or b''))
from uwebsockets.client import Websocket
ws.step = step
R = [catch(ws.recv), state(ws), most < 1024]`,
          { timeoutMs: 30_000, check: false },
        );
        expect(value).toEqual([['ok', null], { open: false, code: 1006, reason: '' }, true]);
      });

      it('a server streaming empty continuation frames cannot stretch recv(timeout) or close(): ETIMEDOUT, then close_timeout ends it (1006)', async () => {
        let stop = false;
        const { value } = await rawCase<unknown[]>(
          async (c) => {
            await c.handshakeReady();
            await c.write(text('a', false));
            void c.clientEnded.then(() => (stop = true));
            // No pause: the client finds data on every read, so only deadlines checked on
            // every step end its waits.
            const burst = Buffer.concat(Array(2000).fill(cont('', false)));
            while (!stop && !c.socket.destroyed) await c.write(burst);
          },
          (url) => `
ws = connect('${url}')
ws.send('ready')
ws.settimeout(0.5)
a = catch(ws.recv)
ws.close()
R = [[a[0], a[3]], state(ws)]`,
          { timeoutMs: 20_000, check: false },
        );
        expect(value).toEqual([['exc', ETIMEDOUT], { open: false, code: 1006, reason: '' }]);
      });

      it('control characters in the URL, header names and values, subprotocols raise ValueError before connecting; so do userinfo and ports outside 1-65535', async () => {
        const srv = await startRawServer();
        try {
          const u = srv.url;
          const r = await run<unknown[]>(`
R = [catch(connect, ${pyStr(u + 'a\r\nX-Evil: 1')})[:2],
     catch(connect, ${pyStr(u + 'a b')})[:2],
     catch(connect, '${u}', headers={'X-Ok': 'a\\r\\nX-Evil: 1'})[:2],
     catch(connect, '${u}', headers=[('X-Evil\\r\\nX', 'v')])[:2],
     catch(connect, '${u}', headers={'Bad Name': 'v'})[:2],
     catch(connect, '${u}', subprotocols=['chat\\r\\nX-Evil: 1'])[:2],
     catch(connect, '${u}', subprotocols=['a b'])[:2],
     catch(connect, 'ws://user:pw@127.0.0.1:${srv.port}/')[:2],
     catch(connect, 'ws://127.0.0.1:${65536 + srv.port}/')[:2],
     catch(connect, 'ws://127.0.0.1:0/')[:2],
     catch(connect, 'ws://127.0.0.1:+${srv.port}/')[:2]]`);
          expect(r).toEqual(Array(11).fill(['exc', 'ValueError']));
          expect(srv.connections.length).toBe(0);
        } finally {
          await srv.close();
        }
      });

      it('a header value with a tab, and a fragment in the URL (not sent), are accepted', async () => {
        const { value, c } = await rawCase<unknown>(
          async (c) => {
            await c.handshake();
            await c.answerClose();
          },
          (url) => `
ws = connect('${url}path?q=1#frag', headers={'X-Tab': 'a\\tb'})
ws.close()
R = ws.close_code`,
        );
        expect(value).toBe(1000);
        const req = await c.request;
        expect(req.line).toBe('GET /path?q=1 HTTP/1.1');
        expect(req.headers['x-tab']).toBe('a\tb');
      });

      it('an IPv6 literal: ws://[::1]:port/ connects on CPython (Host: [::1]:port); the board has no IPv6, so on it the URL only parses', async () => {
        if (name === 'sim') {
          const r = await run<unknown>(`import dial\nR = list(dial.urlparse('ws://[::1]:8080/x', ('ws', 'wss')))`);
          expect(r).toEqual([false, '::1', 8080, '/x', '[::1]:8080']);
          return;
        }
        const srv = await startRawServer(async (c) => {
          await c.handshake();
          await c.write(text('v6'));
          await c.answerClose();
        }, '::1');
        try {
          const r = await run<unknown[]>(`
ws = connect('${srv.url}')
R = [ws.recv()]
ws.close()`);
          expect(r).toEqual(['v6']);
          expect((await srv.connections[0]?.request)?.headers.host).toBe(`[::1]:${srv.port}`);
        } finally {
          await srv.close();
        }
      });

      it('durations past 2**29 ms (ticks wrap at 2**30) are refused alike on CPython and MicroPython: settimeout(7 days) and connect(timeout=7 days) raise ValueError', async () => {
        const { value } = await rawCase<unknown[]>(
          async (c) => {
            await c.handshake();
            await c.write(text('x'));
            await c.answerClose();
          },
          (url) => `
ws = connect('${url}')
a = catch(ws.settimeout, 7 * 86400)[:2]
b = catch(ws.settimeout, -1)[:2]
ws.settimeout(6 * 86400)
c = ws.recv()
ws.close()
R = [a, b, c, catch(connect, '${url}', timeout=7 * 86400)[:2]]`,
        );
        expect(value).toEqual([['exc', 'ValueError'], ['exc', 'ValueError'], 'x', ['exc', 'ValueError']]);
      });

      it('MemoryError while a message is received or assembled closes the connection with 1009; the loop goes on and a new connection works', async () => {
        // On MicroPython the allocation really fails (the heap is locked around it); CPython gets
        // the MemoryError injected at the same points.
        const srv = await startRawServer(async (c) => {
          await c.handshakeReady();
          await c.write(Buffer.concat([text('small'), binary(pattern(1000))]));
          await c.answerClose();
        });
        const frag = await startRawServer(async (c) => {
          await c.handshakeReady();
          await c.write(Buffer.concat([binary(pattern(300), false), cont(pattern(300))]));
          await c.answerClose();
        });
        try {
          const r = await run<unknown[]>(`
import uwebsockets.protocol as P
import uwebsockets.frames as F  # the decoder: where a frame's buffer is allocated
def locked(f, *a):
    if IS_MPY:
        import micropython
        micropython.heap_lock()
        try:
            return f(*a)
        finally:
            micropython.heap_unlock()
    raise MemoryError
def big(n=0, *a):  # a frame of 1000 bytes or more cannot be allocated
    return locked(bytearray, n) if type(n) is int and n >= 1000 else bytearray(n, *a) if a else bytearray(n)
act = P.Connection.act
def failing_append(self, a):  # appending a fragment (action append_fragment) fails
    return locked(act, self, a) if a == 5 else act(self, a)
out = []
F.bytearray = big
ws = connect('${srv.url}')
ws.send('ready')
out.append([ws.recv(), catch(ws.recv), state(ws)])
del F.bytearray
P.Connection.act = failing_append
ws = connect('${frag.url}')
ws.send('ready')
out.append([catch(ws.recv), state(ws), len(ws.payload)])  # the fragment it failed on is not kept
P.Connection.act = act
R = out`);
          expect(r).toEqual([
            ['small', ['ok', null], { open: false, code: 1009, reason: '' }],
            [['ok', null], { open: false, code: 1009, reason: '' }, 0],
          ]);
          for (const s of [srv, frag]) expect(closeInfo((await s.connections[0]!.waitClose()).frame.payload)).toEqual({ code: 1009, reason: '' });
        } finally {
          await srv.close();
          await frag.close();
        }
      });
    });

    // ------------------------------------------------------------- python-websockets

    describe.skipIf(!!pyWsMissing)('python3-websockets interoperability', () => {
      let srv: PyWebsocketsServer;
      beforeAll(async () => {
        srv = await startPyWebsocketsServer();
      });
      afterAll(async () => {
        await srv?.close();
      });

      it('text, binary, 64 KiB, ping/pong both ways, and a clean close', async () => {
        const before = srv.events.length;
        const r = await run<unknown[]>(
          `
ws = connect('${srv.url}', max_size=70000)
ws.send('hello ✓')
a = ws.recv()
ws.send(b'\\x00\\x01\\xff')
b = ws.recv()
big = pattern(65536)
ws.send(big)
c = ws.recv()
ws.ping(b'client')
ws.send('!ping server')
d = ws.recv()
import time
time.sleep(0.3)  # the server pings every 50 ms meanwhile; they are answered on the next recv
ws.send('still here')
e = ws.recv()
ws.close(1000, 'bye')
R = [a, b, c == big, len(c), d, e, state(ws)]`,
          20_000,
        );
        expect(r).toEqual(['hello ✓', Buffer.from([0, 1, 255]), true, 65536, 'pong server', 'still here', { open: false, code: 1000, reason: 'bye' }]);
        const closeEv = await srv.waitEvent((e, i = srv.events.indexOf(e)) => i >= before && e.event === 'close');
        expect(closeEv).toMatchObject({ code: 1000, reason: 'bye' });
      });

      it('server-initiated close with 1001 and a reason', async () => {
        const before = srv.events.length;
        const r = await run<unknown[]>(`
ws = connect('${srv.url}')
ws.send('!close 1001 going away')
R = [ws.recv(), state(ws), catch(ws.send, 'x')[:2]]`);
        expect(r).toEqual([null, { open: false, code: 1001, reason: 'going away' }, ['exc', 'ConnectionClosed']]);
        const closeEv = await srv.waitEvent((e) => srv.events.indexOf(e) >= before && e.event === 'close');
        expect(closeEv).toMatchObject({ code: 1001 });
      });

      it('an oversized message from python-websockets gives 1009', async () => {
        const before = srv.events.length;
        const r = await run<unknown[]>(`
ws = connect('${srv.url}', max_size=1000)
ws.send('y' * 1001)
R = [ws.recv(), state(ws)]`);
        expect(r).toEqual([null, { open: false, code: 1009, reason: '' }]);
        const closeEv = await srv.waitEvent((e) => srv.events.indexOf(e) >= before && e.event === 'close');
        expect(closeEv).toMatchObject({ code: 1009 });
      });
    });
  });
}
