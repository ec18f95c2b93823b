// What goes wrong: bytes lost on the serial link and a board that stops answering in the middle
// of a file (a clear error, the old file intact), a busy or missing serial port.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeployError } from '../../generator/deploy/link.ts';
import { RawRepl } from '../../generator/deploy/rawrepl.ts';
import { SerialLink } from '../../generator/deploy/serial.ts';
import { SimBoard } from '../../generator/deploy/sim.ts';
import { cli, flashText, serialSession, type Session } from './support.ts';

/** A module big enough to take several raw REPL calls, and hardly compressible. */
const module = (version: number) => ({ path: '/lib/big.py', data: Buffer.from(`VERSION = ${version}\nDATA = '${randomBytes(6000).toString('hex')}'\n`) });

describe('faults in the middle of a file', () => {
  let board: SimBoard;
  let s: Session;
  const v1 = module(1);

  beforeAll(async () => {
    board = await SimBoard.start();
    s = await serialSession(board, 1000);
    await s.sync([v1]);
  });
  afterAll(async () => {
    await s?.close();
    await board?.close();
  });

  async function expectOldFileOnly(): Promise<void> {
    const flash = await flashText(board);
    expect(flash['/lib/big.py']).toBe(v1.data.toString());
    expect(Object.keys(flash)).toEqual(['/lib/big.py']);
  }

  it.each([
    ['a byte', 1, false, /(Exception|ValueError): Incorrect padding/i],
    ['4 bytes, deflated', 4, false, /ValueError: corrupt deflate stream/],
    ['4 bytes, not deflated', 4, true, /ValueError: sha256 mismatch/],
  ])('%s lost on the way: a clear error, the old file intact and no temporary file left', async (_, count, noDeflate, exception) => {
    board.setFaults({ lose: { at: 2500, count } });
    const e = await s.sync([module(2)], { noDeflate }).catch((x: Error) => x);
    board.setFaults({});
    expect(e).toBeInstanceOf(DeployError);
    const message = (e as Error).message;
    expect(message).toMatch(/^writing \/lib\/big\.py: the board raised .* \(bytes were lost on the link\); \/lib\/big\.py on the board is unchanged$/);
    expect(message).toMatch(exception);
    await expectOldFileOnly();
  });

  it('a board that stops answering: an error after the timeout, the old file intact', async () => {
    board.setFaults({ stallAt: 2500 });
    const t0 = Date.now();
    const e = await s.sync([module(3)]).catch((x: Error) => x);
    expect(e).toBeInstanceOf(DeployError);
    expect((e as Error).message).toBe('no answer from the board on serial port sim for 1 s while writing /lib/big.py; /lib/big.py on the board is unchanged');
    expect(Date.now() - t0).toBeLessThan(3000);
    board.setFaults({});
    const flash = await flashText(board);
    expect(flash['/lib/big.py']).toBe(v1.data.toString());
  });

  it('the next session (Ctrl-C, Ctrl-A) recovers and deploys', async () => {
    await s.close();
    s = await serialSession(board, 1000);
    const v4 = module(4);
    const r = await s.sync([v4]);
    expect(r.copied.map((c) => c.path)).toEqual(['/lib/big.py']);
    expect(await flashText(board)).toEqual({ '/lib/big.py': v4.data.toString() });
  });
});

describe('serial ports', () => {
  it('a missing port is a clear error, exit 1', async () => {
    const r = await cli('deploy', '--port', '/dev/ttyWIRESTATE-NONE', '--timeout', '1');
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('wirestate deploy: no serial port /dev/ttyWIRESTATE-NONE: is the board plugged in? (on Linux, boards show up as /dev/ttyUSB0 or /dev/ttyACM0)\n');
  });

  it('a port another program has open is a clear error', async () => {
    const board = await SimBoard.start();
    const first = await SerialLink.open(board.portPath, { binding: board.binding });
    try {
      const e = await SerialLink.open(board.portPath, { binding: board.binding }).catch((x: Error) => x);
      expect(e).toBeInstanceOf(DeployError);
      expect((e as Error).message).toBe('serial port sim is in use by another program (a terminal such as screen, minicom, mpremote or an IDE); close it and retry');
    } finally {
      await first.close();
      await board.close();
    }
  });

  it('a board that never answers: the raw REPL is tried three times, then a clear error', async () => {
    const board = await SimBoard.start();
    board.setFaults({ stallAt: 0 });
    const link = await SerialLink.open(board.portPath, { binding: board.binding });
    try {
      const e = await new RawRepl(link, 1500).enter(true).catch((x: Error) => x);
      expect((e as Error).message).toMatch(/^could not enter the raw REPL on serial port sim: no answer to Ctrl-C and Ctrl-A \(3 tries\)/);
    } finally {
      await link.close();
      await board.close();
    }
  });
});
