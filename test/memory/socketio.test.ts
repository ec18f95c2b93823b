// Heap budgets of the Socket.IO runtime (usocketio), measured in the MicroPython VM of the
// simulated ESP8266 as booted (generator/sim/heap.ts), as for the WebSocket runtime: see
// websocket.test.ts for why the figures move in steps. KB means 1024 bytes.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SOCKETIO_UPGRADED, connectionFigures, importFigures, upgradedSocketIo } from '../../generator/sim/heap.ts';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TOOLKIT_ROOT, projectFiles } from '../../generator/sim/device.ts';
import { startRawServer } from '../support/rawWsServer.ts';
import { onDevice } from '../support/device.ts';

const KB = 1024;

describe('Socket.IO runtime heap on the simulated ESP8266', () => {
  let url: string;
  let io: Server;
  beforeAll(async () => {
    const http = createServer();
    io = new Server(http);
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/`;
  });
  afterAll(() => new Promise<void>((resolve) => io.close(() => resolve())));


  it('usocketio uses nothing the ESP8266 firmware leaves out (partition, splitlines, center, slice.indices, compile, NotImplemented, 3-argument pow...)', () => {
    // The simulated VM has all of these; the ESP8266_GENERIC firmware does not (its
    // mpconfigport.h turns them off): see the firmware note in the README's Socket.IO section.
    const banned: [RegExp, string][] = [
      [/\.r?partition\(/, 'str/bytes.partition'],
      [/\.splitlines\(/, 'splitlines'],
      [/\.center\(/, 'str.center'],
      [/\.indices\(/, 'slice.indices'],
      [/\b(compile|execfile)\(/, 'compile/execfile'],
      [/\bNotImplemented\b/, 'NotImplemented'],
      [/\bpow\([^(),]*,[^(),]*,/, '3-argument pow'],
      [/\bcomplex\(|[0-9]j\b/, 'complex numbers'],
      [/__file__/, 'a module\'s __file__'],
      [/\bmath\.(inf|nan|tau|erf|erfc|gamma|lgamma|factorial|isclose)\b/, 'math constants and special functions'],
      [/\bcrc32\b/, 'binascii.crc32'],
      [/\b(__setattr__|__delattr__)\b/, 'object.__setattr__/__delattr__'],
    ];
    const dir = path.join(TOOLKIT_ROOT, 'runtime-esp8266', 'usocketio');
    const found: string[] = [];
    for (const f of fs.readdirSync(dir).filter((f) => f.endsWith('.py')))
      fs.readFileSync(path.join(dir, f), 'utf8').split('\n').forEach((line, i) => {
        const code = line.replace(/#.*$/, '');
        for (const [re, what] of banned) if (re.test(code)) found.push(`usocketio/${f}:${i + 1}: ${what}: ${line.trim()}`);
      });
    expect(found, found.join('\n')).toEqual([]);
  });

  it('transports=("websocket",): usocketio.session is imported once, and dropped with the connect-time code once the namespace is connected', async () => {
    await onDevice(async (dev) => {
      // Each import of usocketio.session (compiled, from source) runs its body: count them.
      await dev.writeFile('/lib/imports.py', 'n = 0\n');
      await dev.writeFile('/lib/usocketio/session.py', `import imports\nimports.n += 1\n` + projectFiles(TOOLKIT_ROOT)['/lib/usocketio/session.py']);
      await dev.exec(`import sys, imports, usocketio.client\nc = usocketio.client.connect('${url}', transports=('websocket',))\nfor i in range(100):\n    if c.sid is None:\n        c.step(20)`);
      const r = await dev.eval<[string | null, number, string[]]>(
        `(c.sid, imports.n, [m for m in ('usocketio.session', 'usocketio.transport', 'usocketio.polling', 'usocketio.response', 'dial', 'uwebsockets.handshake', 'uwebsockets.response') if m in sys.modules])`,
      );
      expect(r[0]).not.toBeNull();
      expect(r[1]).toBe(1);
      expect(r[2]).toEqual([]);
      await dev.exec('c.close()');
    });
  });

  it('transports=("websocket",) without waiting: usocketio.session is not loaded beside the WebSocket\'s handshake, on the first connection or on a reconnection', async () => {
    await onDevice(async (dev) => {
      // At each step: whether the session code and the handshake's were loaded together.
      await dev.exec(
        `import sys, usocketio.client\nc = usocketio.client.connect('${url}', wait=False, transports=('websocket',), reconnection_delay=0)\n` +
          `both = []\nsids = []\n` +
          `def run():\n    for i in range(300):\n        c.step(20)\n` +
          `        both.append('usocketio.session' in sys.modules and ('uwebsockets.handshake' in sys.modules or 'uwebsockets.response' in sys.modules))\n` +
          `        if c.sid is not None and c.engine.ws is not None:\n            return sids.append(c.sid)\n` +
          `run()\nc.engine.ws.sock.close()  # the connection is lost: the client reconnects\nc.step(20)\nrun()`,
      );
      const [sids, both] = await dev.eval<[string[], boolean[]]>('(sids, both)');
      expect(sids.length).toBe(2);
      expect(sids[0]).not.toBe(sids[1]);
      expect(both.filter((b) => b)).toEqual([]);
      await dev.exec('c.close()');
    });
  });

  it('the step that starts a WebSocket (the probe, or the only transport) writes its request: the loop then waits for the answer, not for a request never sent', async () => {
    await onDevice(async (dev) => {
      for (const only of [false, true]) {
        await dev.exec(
          `import usocketio.client\nc = usocketio.client.connect('${url}', wait=False${only ? ", transports=('websocket',)" : ''})\n` +
            `for i in range(500):\n    c.step(20)\n    if c.engine.probe is not None:\n        break\n` +
            `p = c.engine.probe\nr = [p.out is None, len(p.request)]`,
        );
        expect(await dev.eval('r'), only ? 'WebSocket only' : 'the probe').toEqual([true, 2]); // written; (key, subprotocols) kept for the answer
        await dev.exec('c.close()');
      }
    });
  });

  it('a WebSocket closed right after its 101 fails the session at once (transport error), with the decoder loaded before: no spinning loop', async () => {
    const raw = await startRawServer(async (c) => {
      await c.handshake();
      c.end();
    });
    try {
      await onDevice(async (dev) => {
        await dev.exec(
          `import usocketio.client, uwebsockets.protocol as P, uwebsockets.frames\nP.frames = uwebsockets.frames  # as after an earlier connection\n` +
            `c = usocketio.client.connect('${raw.url}', wait=False, transports=('websocket',), reconnection=False)\nerrs = []\nc.on('connect_error', errs.append)\n` +
            `n = 0\nwhile n < 40 and c.state != 4:\n    c.step(1000)\n    n += 1`,
        );
        const [n, state, errs] = await dev.eval<[number, number, string[]]>('(n, c.state, errs)');
        expect(state).toBe(4); // closed: the session failed
        expect(n).toBeLessThan(40); // (it stepped for ever, at once each time, until the open timeout)
        expect(errs).toEqual(['transport error']);
      });
    } finally {
      await raw.close();
    }
  });

  it('the probe dials in a step of its own, before the handshake\'s code is loaded; timed out between the two, its socket is closed', async () => {
    await onDevice(async (dev) => {
      await dev.exec(
        `import sys, time, usocketio.client\nc = usocketio.client.connect('${url}', wait=False)\n` +
          `for i in range(500):\n    c.step(20)\n    if c.engine.sock is not None:\n        break\n` +
          `s = c.engine.sock\nr = ['state=connected' in repr(s), 'uwebsockets.handshake' in sys.modules or 'uwebsockets.response' in sys.modules, 'dial' in sys.modules]\n` +
          `c.engine.timers[1] = time.ticks_ms()  # the upgrade's timeout falls due now\nc.step(0)\n` +
          `r += [repr(s), c.engine.sock, c.engine.probe, c.engine.ws, c.sid is not None]`,
      );
      expect(await dev.eval('r')).toEqual([true, false, false, '<socket closed>', null, null, null, true]);
      await dev.exec('c.close()');
    });
  });

  it('default transports: the probe\'s WebSocket code is imported only once "/" is connected and usocketio.session is dropped, in a step of its own; nothing of polling stays after the upgrade', async () => {
    await onDevice(async (dev) => {
      // At each step: whether '/' is connected, and which of these modules are loaded.
      await dev.exec(
        `import sys, usocketio.client\nc = usocketio.client.connect('${url}', wait=False)\nseen = []\n` +
          `for i in range(500):\n    c.step(20)\n` +
          `    seen.append((c.sid is not None, [m for m in ('usocketio.session', 'uwebsockets.client') if m in sys.modules]))\n` +
          `    if c.engine.ws is not None and c.sid is not None:\n        break`,
      );
      const seen = await dev.eval<[boolean, string[]][]>('seen');
      const first = seen.findIndex(([, mods]) => mods.includes('uwebsockets.client'));
      expect(first).toBeGreaterThan(0);
      expect(seen[first - 1]).toEqual([true, []]); // connected, session code gone, no WebSocket code yet
      const left = await dev.eval<string[]>(`[m for m in ('usocketio.session', 'usocketio.transport', 'usocketio.polling', 'usocketio.response', 'dial', 'uwebsockets.handshake', 'uwebsockets.response') if m in sys.modules]`);
      expect(left).toEqual([]);
      await dev.exec('c.close()');
    });
  });

  it("polling's requests are answered in steps of their own, however fast the server answers: the first request's step reads nothing, the handshake's answer is handled apart from the CONNECT's", async () => {
    // Poll.request lingers after sending, so the server's answer has come before the step
    // could read on: a step that both opened polling and handled its answer, or handled the
    // handshake's answer and then that of the next GET (the CONNECT's), would show here (on a
    // loaded machine both happened, and the job's bound grew by 6.6 and 3.5 KB from .py).
    await onDevice(async (dev) => {
      await dev.exec(
        `import time, usocketio.client, usocketio.polling as P\nrequest = P.Poll.request\n` +
          `def slow(self, *a):\n    request(self, *a)\n    time.sleep_ms(300)\nP.Poll.request = slow\n` +
          `c = usocketio.client.connect('${url}', wait=False)\nn = 0\n` +
          `while not c.engine.get and n < 50:\n    c.step(0)\n    n += 1\n` +
          `r = (n < 50, c.engine.get.got, c.engine.sid)`,
      );
      expect(await dev.eval('r')).toEqual([true, 0, null]);
      await dev.exec('while c.engine.sid is None and n < 100:\n    c.step(0)\n    n += 1\nr = (n < 100, c.sid)');
      expect(await dev.eval('r')).toEqual([true, null]); // the session is open, '/' not yet connected
      await dev.exec('P.Poll.request = request\nfor i in range(500):\n    c.step(20)\n    if c.sid is not None:\n        break');
      expect(await dev.eval<boolean>('c.sid is not None')).toBe(true);
      await dev.exec('c.close()');
    });
  });

  it('close() of a session on WebSocket imports only usocketio.closing and usocketio.ending: no session, transport or polling code is compiled again', async () => {
    await onDevice(async (dev) => {
      await dev.exec(`import sys, usocketio.client\nc = ${upgradedSocketIo(url)}`);
      expect(await dev.eval<boolean>(SOCKETIO_UPGRADED)).toBe(true);
      await dev.exec('before = set(sys.modules)\nc.close()');
      const r = await dev.eval<[number, string[]]>(`(c.state, sorted(m for m in sys.modules if m not in before))`);
      expect(r[0]).toBe(4); // socketio_manager's closed
      expect(r[1]).toEqual(['usocketio.closing', 'usocketio.ending']);
    });
  });

  it('a session with transports=("websocket",) retains at most 11 KB for the first, like an upgraded one (the session code compiled twice kept 13.3 KB)', async () => {
    const ws = `(lambda c: ([c.step(20) for i in range(500) if c.sid is None], c)[1])(usocketio.client.connect('${url}', transports=('websocket',)))`;
    const f = await connectionFigures(TOOLKIT_ROOT, 'usocketio.client', ws, false, SOCKETIO_UPGRADED);
    console.log(`WebSocket-only sessions: first ${f.first} B, each further ${f.further} B, connect peak ${f.connectPeak} B`);
    expect(f.first).toBeLessThanOrEqual(11 * KB);
    expect(f.further).toBeLessThanOrEqual(3 * KB);
  });

  it('import usocketio.client (with everything it imports) retains at most 14 KB (the old package: about 17 KB)', async () => {
    const f = await importFigures(TOOLKIT_ROOT, 'usocketio.client');
    console.log(`import usocketio.client: retained ${f.retained} B, allocated ${f.allocated} B without collection (old package: about 24 KB)`);
    expect(f.retained).toBeLessThanOrEqual(14 * KB);
  });

  it('a session upgraded to WebSocket retains at most 11 KB for the first (WebSocket runtime included) and 3 KB for each further one', async () => {
    // The steady state: the session runs on WebSocket with the namespace connected, and the
    // connect-time modules are dropped (connectionFigures throws if a session is not so).
    const f = await connectionFigures(TOOLKIT_ROOT, 'usocketio.client', upgradedSocketIo(url), false, SOCKETIO_UPGRADED);
    console.log(`sessions: first ${f.first} B, each further ${f.further} B, connect peak ${f.connectPeak} B`);
    expect(f.first).toBeLessThanOrEqual(11 * KB);
    expect(f.further).toBeLessThanOrEqual(3 * KB);
  });
});
