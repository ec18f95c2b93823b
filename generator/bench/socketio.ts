// Figures for `npm run bench`: Socket.IO event round trips on the simulated ESP8266 against a
// local socket.io 4 server (plain emits answered by an emit, and acked emits), and heap.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { SimDevice, projectFiles } from '../sim/device.ts';
import { SOCKETIO_UPGRADED, connectionFigures, importFigures, upgradedSocketIo } from '../sim/heap.ts';

/** A socket.io 4 server that answers 'echo' with an 'echo' and calls the ack of 'ack'. */
async function startEchoServer(): Promise<{ url: string; close: () => Promise<void> }> {
  const http = createServer();
  const io = new Server(http);
  io.on('connection', (s) => {
    s.on('echo', (m) => s.emit('echo', m));
    s.on('ack', (m, cb) => cb(m));
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(http.address() as AddressInfo).port}/`, close: () => new Promise((resolve) => io.close(() => resolve())) };
}


export async function socketioBench(root: string): Promise<void> {
  const add = (name: string, value: string) => console.log(`${name.padEnd(58)} ${value}`);
  const server = await startEchoServer();
  try {
    const dev = await SimDevice.boot({ files: projectFiles(root) });
    try {
      const n = 500;
      await dev.exec(
        `import time, usocketio.client\nc = ${upgradedSocketIo(server.url)}\ngot = []\nc.on('echo', got.append)\nmsg = 'x' * 100\n` +
          `def plain():\n    c.emit('echo', msg)\n    while not got:\n        c.step()\n    got.pop()\n` +
          `def acked():\n    c.emit('ack', msg, callback=got.append)\n    while not got:\n        c.step()\n    got.pop()\n` +
          `def timed(f):\n    for i in range(20):\n        f()\n    t0 = time.ticks_ms()\n    for i in range(${n}):\n        f()\n    return time.ticks_diff(time.ticks_ms(), t0)\n` +
          `plain_ms = timed(plain)\nacked_ms = timed(acked)\nc.close()`,
      );
      for (const [kind, label] of [['plain', 'emit answered by an emit'], ['acked', 'emit with an ack callback']] as const) {
        const ms = await dev.eval<number>(`${kind}_ms`);
        add(`event round trips/s, ${label}, simulated ESP8266`, `${Math.round((n * 1000) / ms)} (${(ms / n).toFixed(2)} ms each)`);
      }
    } finally {
      await dev.close();
    }
    const imp = await importFigures(root, 'usocketio.client');
    add('heap retained by import usocketio.client', `${imp.retained} bytes`);
    add('heap allocated while importing (no collection)', `${imp.allocated} bytes`);
    const conn = await connectionFigures(root, 'usocketio.client', upgradedSocketIo(server.url), false, SOCKETIO_UPGRADED);
    add('heap retained by the first session (upgraded to WebSocket)', `${conn.first} bytes`);
    add('heap retained by each further session', `${conn.further} bytes`);
    add('heap allocated while the first session opens (no collection)', `${conn.connectPeak} bytes`);
    // As `deploy --mpy` installs them: no compiling on the device.
    const mimp = await importFigures(root, 'usocketio.client', true);
    add('from .mpy: heap retained by import usocketio.client', `${mimp.retained} bytes`);
    add('from .mpy: heap allocated while importing (no collection)', `${mimp.allocated} bytes`);
    const mconn = await connectionFigures(root, 'usocketio.client', upgradedSocketIo(server.url), true, SOCKETIO_UPGRADED);
    add('from .mpy: heap retained by the first session / each further', `${mconn.first} / ${mconn.further} bytes`);
    add('from .mpy: heap allocated while the first session opens', `${mconn.connectPeak} bytes`);
  } finally {
    await server.close();
  }
}
