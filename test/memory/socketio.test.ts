// Heap budgets of the Socket.IO runtime (usocketio), measured in the MicroPython VM of the
// simulated ESP8266 as booted (generator/sim/heap.ts), as for the WebSocket runtime: see
// websocket.test.ts for why the figures move in steps. KB means 1024 bytes.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SOCKETIO_UPGRADED, connectionFigures, importFigures, upgradedSocketIo } from '../../generator/sim/heap.ts';
import { TOOLKIT_ROOT } from '../../generator/sim/device.ts';

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
