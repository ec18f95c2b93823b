// Heap budgets of the WebSocket runtime, measured in the MicroPython VM of the simulated
// ESP8266 as booted (generator/sim/heap.ts, generator/bench/jobs.ts). Heap figures are
// deterministic, so they are budgets here; `npm run bench` prints them. KB means 1024 bytes.
//
// The figures move in steps: interned names (qstrs) live in pools that double in size, and an
// import that needs a new pool pays for all of it. When a budget fails, make the runtime
// smaller (fewer functions, fewer distinct names, or code that only some connections need in a
// module imported on demand); the budgets are the issue's, not ours to raise.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectionFigures, importFigures } from '../../generator/sim/heap.ts';
import { JOBS, runJobOn, startJobServers, type JobServers } from '../../generator/bench/jobs.ts';
import { startWebSocketServer, type LocalServer } from '../../generator/demo/servers.ts';
import { TOOLKIT_ROOT } from '../../generator/sim/device.ts';
import { onDevice } from '../support/device.ts';

const KB = 1024;

describe('WebSocket runtime heap on the simulated ESP8266', () => {
  let server: LocalServer;
  beforeAll(async () => {
    server = await startWebSocketServer((m) => m);
  });
  afterAll(() => server.close());


  it('import uwebsockets.client retains at most 7 KB and allocates at most 12 KB (the old package: 14 KB)', async () => {
    const f = await importFigures(TOOLKIT_ROOT, 'uwebsockets.client');
    console.log(`import uwebsockets.client: retained ${f.retained} B, allocated ${f.allocated} B without collection`);
    expect(f.retained).toBeLessThanOrEqual(7 * KB);
    expect(f.allocated).toBeLessThanOrEqual(12 * KB);
  });

  it('connect(wait=False) only dials; the first step() makes and writes the request and reads nothing; the response\'s code is never loaded beside the request\'s or dial\'s', async () => {
    await onDevice(async (dev) => {
      // After connect() and after each step: the connect-time modules loaded, whether the
      // request waits to be made (out is the request's parts), bytes read of the response.
      await dev.exec(
        `import sys, uwebsockets.client\nc = uwebsockets.client.connect('${server.url}', wait=False)\n` +
          `def see():\n    return ([m for m in ('dial', 'uwebsockets.handshake', 'uwebsockets.response') if m in sys.modules], c.out is not None and c.out is c.request, c.rend if c.head is not None else -1)\n` +
          `seen = [see()]\nfor i in range(100):\n    c.step(20)\n    seen.append(see())\n    if c.open:\n        break`,
      );
      const seen = await dev.eval<[string[], boolean, number][]>('seen');
      expect(seen[0]).toEqual([[], true, 0]); // dialled: nothing of the handshake made yet
      expect(seen[1]).toEqual([[], false, 0]); // the request made and written, its code dropped, nothing read
      expect(seen.filter(([mods]) => mods.includes('uwebsockets.response') && mods.length > 1)).toEqual([]);
      expect(seen.some(([mods]) => mods.includes('uwebsockets.response'))).toBe(true);
      expect(seen[seen.length - 1]?.[0]).toEqual([]); // open: the handshake's code is gone
      expect(await dev.eval('c.open')).toBe(true);
      await dev.exec('c.close()');
    });
  });

  it('a connection whose TCP closes before its request was made has nothing to write, an error, and no handshake code loaded', async () => {
    await onDevice(async (dev) => {
      await dev.exec(
        `import sys\nfrom uwebsockets.protocol import Connection\nc = Connection('peer.example', '/', None, None, 8192, None)\nc.received(0)\n` +
          `r = [c.output(0), c.error, [m for m in ('uwebsockets.handshake', 'uwebsockets.response') if m in sys.modules]]`,
      );
      expect(await dev.eval('r')).toEqual([null, 'connection closed during the handshake', []]);
    });
  });

  it('close() with an ASCII reason, and the server\'s Close echoing it, load no UTF-8 code; a reason that is not ASCII does', async () => {
    await onDevice(async (dev) => {
      await dev.exec(
        `import sys, uwebsockets.client\nr = []\nfor why in ('bye', 'adi\u00f3s'):\n    ws = uwebsockets.client.connect('${server.url}')\n    ws.close(1000, why)\n` +
          `    r.append([ws.close_code, 'uwebsockets.utf8' in sys.modules])`,
      );
      expect(await dev.eval('r')).toEqual([
        [1000, false],
        [1000, true],
      ]);
    });
  });

  it('an open connection retains at most 640 B once the first has loaded what connecting needs', async () => {
    const f = await connectionFigures(TOOLKIT_ROOT, 'uwebsockets.client', `uwebsockets.client.connect('${server.url}')`);
    console.log(`connections: first ${f.first} B, each further ${f.further} B, connect peak ${f.connectPeak} B`);
    expect(f.further).toBeLessThanOrEqual(640);
    // The first also keeps the names the connect-time modules interned (their code is dropped).
    expect(f.first).toBeLessThanOrEqual(4 * KB);
  });
});

// The WebSocket jobs of issue 9 (generator/bench/jobs.ts), step by step: what a step allocates
// (with the collector off: garbage included) bounds its peak. No copy of a message is made on
// either side, so the largest allocation is the user's own 4000-byte message, and an echo
// allocates little beyond it.
describe('WebSocket memory jobs on the simulated ESP8266 (issue 9)', () => {
  let servers: JobServers;
  beforeAll(async () => {
    servers = await startJobServers();
  });
  afterAll(() => servers.close());

  // A step's allocation depends a little on how TCP hands the bytes over (a read more or less
  // makes a few small objects), so these budgets leave a few hundred bytes of room.
  /** [job, .py bound, .mpy bound, largest allocation, most a text echo allocates, most a binary echo allocates] */
  const BUDGETS: [number, number, number, number, number, number][] = [
    [0, 24 * KB, 16 * KB, 4000, 1.5 * KB, 7 * KB],
    [1, 24 * KB, 13 * KB, 1152, 1.5 * KB, 0],
  ];
  for (const [i, py, mpy, largest, text, bin] of BUDGETS) {
    const job = JOBS[i]!;
    it(`${job.name}: at most ${py / KB} KB (.py) / ${mpy / KB} KB (.mpy); largest allocation ${largest} B; an echo allocates at most ${text / KB} KB (text), ${bin / KB} KB (4000-B binary)`, async () => {
      for (const [mpyRun, bound] of [[false, py], [true, mpy]] as const) {
        const f = await runJobOn(TOOLKIT_ROOT, job, servers, mpyRun);
        console.log(`${job.name} (${mpyRun ? '.mpy' : '.py'}): bound ${f.bound} B, largest ${f.largestBlock} B; ${f.steps.map((s) => `${s.label}: live ${s.live} + ${s.allocated}`).join('; ')}`);
        expect(f.bound).toBeLessThanOrEqual(bound);
        expect(f.largestBlock).toBeLessThanOrEqual(largest);
        for (const s of f.steps) {
          if (s.label.startsWith('text echo')) expect(s.allocated, s.label).toBeLessThanOrEqual(text);
          if (s.label.startsWith('binary echo')) expect(s.allocated, s.label).toBeLessThanOrEqual(bin);
        }
        // A 4000-byte message the application took and dropped is not kept by the connection:
        // between binary echoes the live heap exceeds that between text echoes by no more than
        // uwebsockets.large and its 256-byte piece buffer (it kept the last payload, 4 KB more).
        const live = (l: string) => f.steps.find((s) => s.label.startsWith(l))?.live ?? 0;
        if (bin) expect(live('binary echo') - live('text echo')).toBeLessThanOrEqual(1.5 * KB);
      }
    });
  }
});
