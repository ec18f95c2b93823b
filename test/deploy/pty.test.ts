// The serial transport on a real pseudo-terminal with the operating system's serial driver
// (serialport's native binding): raw mode, locking and all, with the simulated board at the
// other end (test/deploy/pty_bridge.py relays the bytes).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeployError } from '../../generator/deploy/link.ts';
import { RawRepl } from '../../generator/deploy/rawrepl.ts';
import { SerialLink } from '../../generator/deploy/serial.ts';
import { SimBoard } from '../../generator/deploy/sim.ts';
import { probe, sync } from '../../generator/deploy/sync.ts';
import { flashText, runtimeFiles } from './support.ts';

const python = spawnSync('python3', ['-c', 'import pty'], { stdio: 'ignore' }).status === 0;
if (!python) console.warn('test/deploy/pty.test.ts skipped: it needs python3 (for a pseudo-terminal)');

describe.runIf(python)('over a pseudo-terminal with the OS serial driver', () => {
  let board: SimBoard;
  let bridge: ChildProcess;
  let path: string;

  beforeAll(async () => {
    board = await SimBoard.start();
    bridge = spawn('python3', [fileURLToPath(new URL('./pty_bridge.py', import.meta.url))], { stdio: ['pipe', 'pipe', 'inherit'] });
    path = await new Promise<string>((resolve) => {
      let head = Buffer.alloc(0);
      const onData = (d: Buffer) => {
        head = Buffer.concat([head, d]);
        const nl = head.indexOf(10);
        if (nl < 0) return;
        bridge.stdout?.off('data', onData);
        bridge.stdout?.on('data', (b: Buffer) => board.console.write(b));
        if (head.length > nl + 1) board.console.write(head.subarray(nl + 1));
        resolve(head.subarray(0, nl).toString());
      };
      bridge.stdout?.on('data', onData);
    });
    board.console.attach((b) => bridge.stdin?.write(b));
  });
  afterAll(async () => {
    bridge?.stdin?.end();
    await board?.close();
  });

  it('deploys the runtime; a second program opening the port is told it is in use', async () => {
    const link = await SerialLink.open(path);
    try {
      const busy = await SerialLink.open(path).catch((e: Error) => e);
      expect(busy).toBeInstanceOf(DeployError);
      expect((busy as Error).message).toBe(`serial port ${path} is in use by another program (a terminal such as screen, minicom, mpremote or an IDE); close it and retry`);

      const repl = new RawRepl(link, 5000);
      await repl.enter(true);
      const files = runtimeFiles();
      const r = await sync(repl, await probe(repl), files);
      expect(r.copied).toHaveLength(files.length);
      expect(await flashText(board)).toEqual(Object.fromEntries(files.map((f) => [f.path, Buffer.from(f.data).toString('utf8')])));
      expect(await repl.exec('import uwebsockets.client\nprint(uwebsockets.client.__name__)', { doing: 'importing' })).toBe('uwebsockets.client\r\n');
      await repl.leave();
    } finally {
      await link.close();
    }
  });
});
