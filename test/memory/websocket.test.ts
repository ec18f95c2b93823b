// Heap budgets of the WebSocket runtime, measured in the MicroPython VM of the simulated
// ESP8266 as booted (generator/sim/heap.ts). Heap figures are deterministic, so they are
// budgets here; `npm run bench` prints them. KB means 1024 bytes.
//
// The figures move in steps: interned names (qstrs) live in pools that double in size, and an
// import that needs a new pool pays for all of it. When a budget fails, make the runtime
// smaller (fewer functions, fewer distinct names, or code that only some connections need in a
// module imported on demand); the budgets are the issue's, not ours to raise.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectionFigures, importFigures } from '../../generator/sim/heap.ts';
import { startWebSocketServer, type LocalServer } from '../../generator/demo/servers.ts';
import { TOOLKIT_ROOT } from '../../generator/sim/device.ts';

const KB = 1024;

describe('WebSocket runtime heap on the simulated ESP8266', () => {
  let server: LocalServer;
  beforeAll(async () => {
    server = await startWebSocketServer((m) => m);
  });
  afterAll(() => server.close());

  it('import uwebsockets.client retains at most 7 KB and allocates less than the old package did (14 KB)', async () => {
    const f = await importFigures(TOOLKIT_ROOT, 'uwebsockets.client');
    console.log(`import uwebsockets.client: retained ${f.retained} B, allocated ${f.allocated} B without collection`);
    expect(f.retained).toBeLessThanOrEqual(7 * KB);
    expect(f.allocated).toBeLessThanOrEqual(14 * KB);
  });

  it('an open connection retains at most 1 KB once the first has loaded what connecting needs', async () => {
    const f = await connectionFigures(TOOLKIT_ROOT, 'uwebsockets.client', `uwebsockets.client.connect('${server.url}')`);
    console.log(`connections: first ${f.first} B, each further ${f.further} B, connect peak ${f.connectPeak} B`);
    expect(f.further).toBeLessThanOrEqual(1 * KB);
    // The first also keeps the names the connect-time modules interned (their code is dropped).
    expect(f.first).toBeLessThanOrEqual(5 * KB);
  });
});
