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

    await dev.exec(`data = bytes(range(256)) * 256\nt0 = time.ticks_us()\nfor i in range(10):\n    c._frame(2, data)\n    c.out = None\nmask_us = time.ticks_diff(time.ticks_us(), t0)\nsmall = bytes(256)\nt0 = time.ticks_us()\nfor i in range(20):\n    k = b'abcd'\n    bytes(b ^ k[j % 4] for j, b in enumerate(small))\nper_byte_us = time.ticks_diff(time.ticks_us(), t0)`);
    const maskUs = await dev.eval<number>('mask_us');
    const perByteUs = await dev.eval<number>('per_byte_us');
    const mbs = (10 * 65536) / maskUs;
    const perByteMbs = (20 * 256) / perByteUs;
    add('masking MB/s, 64 KiB frames (big-integer XOR), VM', `${mbs.toFixed(1)} (per-byte generator: ${perByteMbs.toFixed(2)}, ${Math.round(mbs / perByteMbs)}x slower)`);
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
