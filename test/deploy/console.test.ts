// The simulated board's console (generator/sim/console.ts over SimDevice's REPL mode): the raw
// REPL as MicroPython firmware speaks it on a UART, raw-paste mode with its flow control, soft
// reboot, cooked output, and an input buffer that overflows.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BoardConsole, RAW_PASTE_WINDOW } from '../../generator/sim/console.ts';
import { SimDevice } from '../../generator/sim/device.ts';

const BANNER = 'raw REPL; CTRL-B to exit\r\n>';

/** A terminal on a console: what it sent since the last take(), and waiting for text. */
class Term {
  private out = '';
  private wake: (() => void) | undefined;

  constructor(readonly console: BoardConsole) {
    console.attach((b) => {
      this.out += Buffer.from(b).toString('latin1');
      this.wake?.();
    });
  }

  send(text: string, buffer?: number): void {
    this.console.write(Buffer.from(text, 'latin1'), buffer);
  }

  /** Waits until the output holds `marker`; returns and forgets everything up to and including it. */
  async until(marker: string, ms = 3000): Promise<string> {
    const deadline = Date.now() + ms;
    while (!this.out.includes(marker)) {
      if (Date.now() > deadline) throw new Error(`no ${JSON.stringify(marker)} in ${JSON.stringify(this.out)}`);
      await new Promise<void>((r) => {
        this.wake = r;
        setTimeout(r, 50);
      });
    }
    const at = this.out.indexOf(marker) + marker.length;
    const got = this.out.slice(0, at);
    this.out = this.out.slice(at);
    return got;
  }

  /** Everything received so far, once all input is processed. */
  async take(): Promise<string> {
    await this.console.idle();
    const got = this.out;
    this.out = '';
    return got;
  }
}

async function boardWith(files: Record<string, string>, rawPaste = true): Promise<{ dev: SimDevice; term: Term }> {
  const dev = await SimDevice.boot({ files });
  const term = new Term(await BoardConsole.start(dev, { rawPaste }));
  return { dev, term };
}

describe('raw REPL on the simulated board', () => {
  let dev: SimDevice;
  let term: Term;

  beforeAll(async () => {
    ({ dev, term } = await boardWith({ '/boot.py': "print('boot.py ran')\n", '/main.py': "print('main.py ran')\n" }));
  });
  afterAll(async () => {
    await dev?.close();
  });

  it('enters raw mode, runs code and frames its output: OK stdout \\x04 traceback \\x04 >', async () => {
    term.send('\r\x03');
    term.send('\r\x01');
    await term.until(BANNER);
    term.send('print(1)\nprint(2)\n1/0\x04');
    // The board's stdout is cooked: "\n" goes out as "\r\n".
    expect(await term.until('\x04>')).toBe(
      'OK1\r\n2\r\n\x04Traceback (most recent call last):\r\n  File "<stdin>", line 3, in <module>\r\nZeroDivisionError: divide by zero\r\n\x04>',
    );
  });

  it('raw-paste mode: the window, an increment per window consumed, and output without OK', async () => {
    term.send('\x05A\x01');
    // u16 window increment, then one increment at once: two windows may be in flight.
    expect(await term.until('\x01', 1000)).toBe('R\x01');
    expect(await term.until('\x01')).toBe(String.fromCharCode(RAW_PASTE_WINDOW, 0) + '\x01');
    const code = `s = '${'a'.repeat(3 * RAW_PASTE_WINDOW)}'\nprint(len(s))\n`;
    term.send(code.slice(0, 2 * RAW_PASTE_WINDOW));
    expect(await term.take()).toBe('\x01\x01');
    term.send(code.slice(2 * RAW_PASTE_WINDOW));
    expect(await term.take()).toBe('\x01');
    term.send('\x04');
    expect(await term.until('\x04>')).toBe(`\x04${3 * RAW_PASTE_WINDOW}\r\n\x04\x04>`);
  });

  it('raw-paste mode: a burst beyond the window overflows the board and is lost', async () => {
    term.send('\x05A\x01');
    await term.until(String.fromCharCode(RAW_PASTE_WINDOW, 0) + '\x01');
    term.send(`s = '${'a'.repeat(1000)}'\nprint(len(s))\n`);
    term.send('\x04');
    const out = await term.until('\x04>');
    expect(out).toContain('SyntaxError');
    expect(out).not.toContain('1000');
  });

  it('input beyond the board\'s buffer is lost (a WebREPL burst into the 256-byte stdin ring)', async () => {
    term.send(`print(len('${'b'.repeat(500)}'))`, 256);
    await term.take();
    term.send('\x04');
    expect(await term.until('\x04>')).toContain('SyntaxError');
  });

  it('Ctrl-D soft-reboots: user modules and globals go, boot.py runs, the raw REPL is back', async () => {
    term.send('import json\nx = 5\x04');
    await term.until('\x04>');
    term.send('\x04');
    expect(await term.until(BANNER)).toBe(`OK\r\nMPY: soft reboot\r\nboot.py ran\r\n${BANNER}`);
    term.send("import sys\nprint('json' in sys.modules, 'socket' in sys.modules, 'x' in globals())\x04");
    // socket is a board module: built in on the board, so a soft reboot keeps it.
    expect(await term.until('\x04>')).toBe('OKFalse True False\r\n\x04\x04>');
  });

  it('in the friendly REPL a soft reboot runs main.py too', async () => {
    term.send('\x02');
    await term.until('>>> ');
    term.send('\x04');
    const out = await term.until('>>> ');
    expect(out).toContain('MPY: soft reboot\r\nboot.py ran\r\nmain.py ran\r\n');
  });
});

it('firmware before MicroPython 1.14 answers a raw-paste request by re-entering raw mode', async () => {
  const { dev, term } = await boardWith({}, false);
  try {
    term.send('\r\x01');
    await term.until(BANNER);
    term.send('\x05A\x01');
    expect(await term.until(BANNER)).toBe(BANNER);
    term.send('print(7)\x04');
    expect(await term.until('\x04>')).toBe('OK7\r\n\x04\x04>');
  } finally {
    await dev.close();
  }
});

it('Ctrl-C in raw-paste mode ends the paste with KeyboardInterrupt', async () => {
  const { dev, term } = await boardWith({});
  try {
    term.send('\r\x01');
    await term.until(BANNER);
    term.send('\x05A\x01');
    await term.until(String.fromCharCode(RAW_PASTE_WINDOW, 0) + '\x01');
    term.send('print("never run")\n\x03');
    const out = await term.until('\x04>');
    expect(out).toMatch(/^\x04\x04Traceback[\s\S]*KeyboardInterrupt[\s\S]*\x04>$/);
    expect(out).not.toContain('never run');
    term.send('print(8)\x04');
    expect(await term.until('\x04>')).toBe('OK8\r\n\x04\x04>');
  } finally {
    await dev.close();
  }
});
