// Figures for `npm run bench`: WebSocket throughput on the simulated ESP8266, decoding and
// masking speed in the MicroPython VM, heap, and generator time. Speeds depend on the host;
// heap figures are deterministic.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { SimDevice, projectFiles } from '../sim/device.ts';
import { connectionFigures, importFigures } from '../sim/heap.ts';
import { startWebSocketServer } from '../demo/servers.ts';
import { build } from '../pipeline.ts';

/** An unmasked server frame (payloads up to 65535 bytes). */
function frame(f: { op: number; payload: string | Buffer; fin?: boolean }): Buffer {
  const p = typeof f.payload === 'string' ? Buffer.from(f.payload) : f.payload;
  const head = p.length < 126 ? Buffer.from([0, p.length]) : Buffer.from([0, 126, p.length >> 8, p.length & 255]);
  head[0] = (f.fin === false ? 0 : 0x80) | f.op;
  return Buffer.concat([head, p]);
}
const OP = { CONT: 0, TEXT: 1, BINARY: 2, PING: 9 };

/**
 * Issue 10 item 10: 16 KB of hostile server bytes of each kind, as [what, bytes, max_size]:
 * timed here, and their steps and heap bounded by test/hostile/decoder.test.ts.
 */
export function hostilePayloads(): [string, Buffer, number][] {
  const K16 = 16384;
  const fill = (head: Buffer, one: Buffer) => Buffer.concat([head, ...Array(Math.floor((K16 - head.length) / one.length)).fill(one)]);
  const fragments = (op: number, first: Buffer | string, ...next: (Buffer | string)[]) =>
    fill(frame({ op, payload: first, fin: false }), Buffer.concat(next.map((payload) => frame({ op: OP.CONT, payload, fin: false }))));
  return [
    ['empty continuation frames', fragments(OP.TEXT, 'a', ''), 8192],
    ['empty pings (a Pong each)', fill(Buffer.alloc(0), frame({ op: OP.PING, payload: '' })), 8192],
    ['1-byte text fragments', fragments(OP.TEXT, 'a', 'b'), K16],
    ['1-byte binary fragments', fragments(OP.BINARY, 'a', 'b'), K16],
    ['1-byte fragments of two-byte characters', fragments(OP.TEXT, Buffer.from([0xc3]), Buffer.from([0xa9]), Buffer.from([0xc3])), K16],
    ['one text message of two-byte characters', frame({ op: OP.TEXT, payload: 'é'.repeat(8190) }), K16],
    ['16 KB of text, invalid at its last byte', frame({ op: OP.TEXT, payload: Buffer.concat([Buffer.alloc(K16 - 5, 0x61), Buffer.from([0xff])]) }), K16],
  ];
}

const wsPeer = readFileSync(fileURLToPath(new URL('../sim/ws_peer.py', import.meta.url)), 'utf8');

export async function websocketBench(root: string): Promise<void> {
  const add = (name: string, value: string) => console.log(`${name.padEnd(58)} ${value}`);

  const echo = await startWebSocketServer((m) => m);
  const dev = await SimDevice.boot({ files: { ...projectFiles(root), '/lib/ws_peer.py': wsPeer } });
  try {
    const n = 1000;
    await dev.exec(`import time, uwebsockets.client\nws = uwebsockets.client.connect('${echo.url}')\nmsg = 'x' * 100\nfor i in range(20):\n    ws.send(msg); ws.recv()\nt0 = time.ticks_ms()\nfor i in range(${n}):\n    ws.send(msg)\n    assert ws.recv() == msg\nelapsed = time.ticks_diff(time.ticks_ms(), t0)\nws.close()`);
    const ms = await dev.eval<number>('elapsed');
    add('echo round trips/s, 100-byte text, simulated ESP8266', `${Math.round((n * 1000) / ms)} (${(ms / n).toFixed(2)} ms each)`);

    await dev.exec('from ws_peer import opened, feed');
    await dev.exec(`c = opened(max_size=1 << 20)\nframe = b'\\x81\\x64' + b'y' * 100\nburst = frame * 200\nt0 = time.ticks_us()\nfor i in range(10):\n    feed(c, burst)\nelapsed_us = time.ticks_diff(time.ticks_us(), t0)`);
    const decodeUs = await dev.eval<number>('elapsed_us');
    add('frames decoded/s, 100-byte text frames, sans-I/O core in the VM', `${Math.round((2000 * 1e6) / decodeUs)}`);

    // Masking as the client sends: a 64 KiB frame masked a byte at a time into the reused
    // 256-byte buffer and handed over piece by piece (output()): no garbage.
    await dev.exec(`import gc\ndata = bytes(range(256)) * 256\ngc.collect()\ngc.disable()\na0 = gc.mem_alloc()\nt0 = time.ticks_us()\nfor i in range(4):\n    c._frame(2, data)\n    b = c.output(0)\n    while b:\n        b = c.output(len(b))\nmask_us = time.ticks_diff(time.ticks_us(), t0)\nmask_alloc = gc.mem_alloc() - a0\ngc.enable()`);
    const maskUs = await dev.eval<number>('mask_us');
    const maskAlloc = await dev.eval<number>('mask_alloc');
    add('masking and writing MB/s, 64 KiB frames, VM', `${((4 * 65536) / maskUs).toFixed(2)} (heap allocated: ${Math.round(maskAlloc / 4)} B a frame)`);

    // 16 KB of hostile bytes of each kind, decoded in the VM: the time.
    await dev.writeFile('/lib/sansio_driver.py', readFileSync(fileURLToPath(new URL('../../test/support/py/sansio_driver.py', import.meta.url)), 'utf8'));
    await dev.exec('from sansio_driver import cost');
    for (const [what, data, maxSize] of hostilePayloads()) {
      await dev.writeFile('/payload.bin', data);
      // The best of 3 runs: the machine's load only ever adds time.
      await dev.exec(`p = open('/payload.bin', 'rb').read()\nhostile_us = 1 << 29\nfor i in range(3):\n    t0 = time.ticks_us()\n    cost(p, ${maxSize})\n    hostile_us = min(hostile_us, time.ticks_diff(time.ticks_us(), t0))`);
      add(`16 KB hostile payload, ${what}, VM (best of 3)`, `${((await dev.eval<number>('hostile_us')) / 1000).toFixed(1)} ms`);
    }
  } finally {
    await dev.close();
  }

  const imp = await importFigures(root, 'uwebsockets.client');
  add('heap retained by import uwebsockets.client', `${imp.retained} bytes`);
  add('heap allocated while importing (no collection)', `${imp.allocated} bytes`);
  const conn = await connectionFigures(root, 'uwebsockets.client', `uwebsockets.client.connect('${echo.url}')`);
  add('heap retained by the first open connection', `${conn.first} bytes`);
  add('heap retained by each further open connection', `${conn.further} bytes`);
  add('heap allocated while the first connection opens (no collection)', `${conn.connectPeak} bytes`);

  const python = ['/usr/bin/python3', 'python3'].find((p) => spawnSync(p, ['-c', 'import sys; assert sys.version_info[:2] == (3, 11)']).status === 0);
  if (python) {
    // Asynchronously: the echo server runs in this process and must keep answering.
    const r = await promisify(execFile)(python, ['-c', `
import sys, time
sys.path[:0] = ['${root}/runtime-esp8266', '${root}/generated/micropython']
import uwebsockets.client
ws = uwebsockets.client.connect('${echo.url}')
msg = 'x' * 100
t0 = time.monotonic()
for i in range(2000):
    ws.send(msg)
    assert ws.recv() == msg
print(2000 / (time.monotonic() - t0))
ws.close()`], { encoding: 'utf8' }).catch((e: { stderr: string }) => ({ stdout: '', stderr: e.stderr }));
    add('echo round trips/s, 100-byte text, CPython 3.11', r.stdout ? `${Math.round(Number(r.stdout))}` : `failed: ${r.stderr.trim().split('\n').pop()}`);
  }
  await echo.close();

  const t0 = performance.now();
  await build(root);
  const cold = performance.now() - t0;
  const t1 = performance.now();
  for (let i = 0; i < 5; i++) await build(root);
  add('generator wall time, all specs (first run / warm)', `${cold.toFixed(0)} ms / ${((performance.now() - t1) / 5).toFixed(0)} ms`);
}
