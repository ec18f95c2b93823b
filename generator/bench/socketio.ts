// Figures for `npm run bench`: Socket.IO event round trips on the simulated ESP8266 against a
// local socket.io 4 server (plain emits answered by an emit, and acked emits), and heap.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
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
    await hostileTimes(root, add);
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

/**
 * Milliseconds the VM takes for 16 KB of hostile input that used to cost quadratic time on
 * MicroPython (indexing a str walks it from the start), best of 3: a goal of 100 ms for any.
 */
async function hostileTimes(root: string, add: (name: string, value: string) => void): Promise<void> {
  // The hostile-input driver of the tests feeds a polling body to a Poll as pump() reads it.
  const driver = readFileSync(fileURLToPath(new URL('../../test/support/py/sio_hostile_driver.py', import.meta.url)), 'utf8');
  const dev = await SimDevice.boot({ files: { ...projectFiles(root), '/lib/sio_hostile_driver.py': driver }, stdout: () => {} });
  try {
    await dev.exec(String.raw`import time
import usocketio.polling as m
from usocketio.client import decode
from sio_hostile_driver import Engine, get_poll, read_body
def ms(f, *a):  # the best of 3: the machine's load only ever adds time
    best = 1 << 29
    for i in range(3):
        t0 = time.ticks_ms()
        try:
            f(*a)
        except ValueError:
            pass
        best = min(best, time.ticks_diff(time.ticks_ms(), t0))
    return best
def body(b, chunked, eio=4):
    read_body(get_poll(Engine(eio, 1 << 20), None if chunked else len(b)), b)
m.post = lambda *a: None
data = b'42["' + b'x' * 16000 + b'"]'
def chunked(data):
    return b''.join(b'1\r\n' + data[i:i + 1] + b'\r\n' for i in range(len(data))) + b'0\r\n\r\n'
chunks = chunked(data)
chunks3 = chunked(b'16006:' + data)
text = b'42["' + ('\u00e9' * 8000).encode() + b'"]'  # not ASCII: its UTF-8 is checked a byte at a time
R = [ms(decode, '3' + '1' * 16380 + '[1]'), ms(decode, '2["' + '\\' * 16366 + '\\ud83d\\ude00"]'),
     ms(decode, '2["' + '\\u00e9' * 2700 + '\\ud83d\\ude00"]'), ms(body, chunks, True), ms(body, data, False), ms(body, chunks3, True, 3), ms(body, text, False)]`);
    const r = await dev.eval<number[]>('R');
    const labels = ['an ack id of 16,380 digits', '16 KB of backslashes before a surrogate pair', '16 KB of \\u00e9 escapes and a surrogate pair', 'a 16 KB packet in 1-byte chunks', 'the same with Content-Length', 'a 16 KB packet in 1-byte chunks, Engine.IO 3', 'a 16 KB packet of two-byte characters (Content-Length)'];
    labels.forEach((l, i) => add(`hostile input, VM: ${l}`, `${r[i]} ms`));
  } finally {
    await dev.close();
  }
}
