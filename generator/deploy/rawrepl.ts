// MicroPython's raw REPL, host side, over any Link: Ctrl-C to interrupt, Ctrl-A to enter raw
// mode, optional Ctrl-D soft reset; code goes in raw-paste mode (with the board's flow control)
// when the firmware offers it, else in plain raw mode, paced; the board answers
// stdout \x04 stderr \x04 >. Every read has a deadline.

import { DeployError, Link, LinkTimeout, sleep } from './link.ts';

const BANNER = 'raw REPL; CTRL-B to exit\r\n>';

/** Code the board ran raised an exception. */
export class BoardError extends DeployError {
  override name = 'BoardError';
  /** The traceback's last line, e.g. "OSError: [Errno 2] ENOENT". */
  readonly exception: string;

  constructor(doing: string, traceback: string) {
    const exception = traceback.trim().split(/\r?\n/).pop() ?? traceback;
    super(`${doing}: the board raised ${exception}`);
    this.exception = exception;
  }
}

export interface ExecOptions {
  /** What the code does, for messages ("writing /lib/fsm.py"). */
  doing: string;
  /** Deadline between bytes of the answer (default: the REPL's); null for none. */
  timeoutMs?: number | null;
  /** Gets what the code prints as it arrives. */
  onOutput?: (bytes: Buffer) => void;
}

export class RawRepl {
  /** Whether the firmware takes raw-paste mode; undefined until the first exec asks. */
  rawPaste: boolean | undefined;

  constructor(
    readonly link: Link,
    readonly timeoutMs: number,
  ) {}

  /**
   * Interrupts whatever runs and enters the raw REPL; noise before the banner (a program's
   * output, a boot message) is skipped. With `softReset` the board then soft-reboots (runs
   * boot.py, not main.py) so the code that follows starts with a clean heap.
   */
  async enter(softReset: boolean): Promise<void> {
    const attempts = 3;
    const wait = Math.max(500, Math.round(this.timeoutMs / attempts));
    for (let i = 1; ; i++) {
      await this.link.write('\r\x03');
      // Lets an interrupted program unwind, and its output arrive, before it is thrown away.
      await sleep(50);
      this.link.discard();
      await this.link.write('\r\x01');
      try {
        await this.link.readUntil(BANNER, wait, 'entering the raw REPL');
        break;
      } catch (e) {
        if (!(e instanceof LinkTimeout)) throw e;
        if (i === attempts) {
          throw new DeployError(
            `could not enter the raw REPL on ${this.link.name}: no answer to Ctrl-C and Ctrl-A (${attempts} tries). ` +
              'Is a MicroPython board there, at the right speed, and not stuck in a program that ignores Ctrl-C?',
          );
        }
      }
    }
    if (softReset) {
      await this.link.write('\x04');
      await this.link.readUntil('soft reboot\r\n', this.timeoutMs, 'soft-resetting the board');
      await this.link.readUntil(BANNER, this.timeoutMs, 'waiting for the board to restart (boot.py)');
    }
  }

  /** Runs code; resolves with what it printed, or rejects with BoardError naming its exception. */
  async exec(code: string, options: ExecOptions): Promise<string> {
    const { out, err } = await this.execRaw(code, options);
    if (err.length) throw new BoardError(options.doing, err.toString('utf8'));
    return out.toString('utf8');
  }

  /** Runs code; resolves with its stdout and stderr (a traceback), as the board sent them. */
  async execRaw(code: string, options: ExecOptions): Promise<{ out: Buffer; err: Buffer }> {
    const { doing } = options;
    const t = options.timeoutMs === undefined ? this.timeoutMs : options.timeoutMs;
    // A Ctrl-D on an empty line would soft-reset the board instead.
    const src = Buffer.from(code.trim() ? code : 'pass', 'utf8');
    if (this.rawPaste !== false && (await this.startPaste(doing))) await this.pasteWrite(src, doing);
    else await this.plainWrite(src, doing);
    const out = await this.link.readUntil('\x04', t, doing, options.onOutput);
    const err = await this.link.readUntil('\x04', t, doing);
    await this.link.readUntil('>', this.timeoutMs, doing);
    return { out, err };
  }

  /** Asks for raw-paste mode; false if the firmware does not take it (it then stays in plain raw mode). */
  private async startPaste(doing: string): Promise<boolean> {
    await this.link.write('\x05A\x01');
    const r = (await this.link.readExactly(2, this.timeoutMs, doing)).toString('latin1');
    if (r === 'R\x01') return (this.rawPaste = true);
    if (r === 'R\x00') return (this.rawPaste = false);
    if (r !== 'ra') throw new DeployError(`unexpected answer ${JSON.stringify(r)} from ${this.link.name} to a raw-paste request while ${doing}`);
    // Firmware before 1.14 took the request as input and the Ctrl-A re-entered raw mode.
    await this.link.readUntil(BANNER.slice(2), this.timeoutMs, doing);
    return (this.rawPaste = false);
  }

  private async pasteWrite(src: Buffer, doing: string): Promise<void> {
    const window = (await this.link.readExactly(2, this.timeoutMs, doing)).readUInt16LE(0);
    let credit = window;
    for (let i = 0; i < src.length; ) {
      while (credit === 0 || this.link.available) {
        const b = (await this.link.readExactly(1, this.timeoutMs, doing))[0];
        if (b === 0x01) credit += window;
        else if (b === 0x04) {
          // The board stopped reading (a syntax error); it reports it as the output that follows.
          await this.link.write('\x04');
          return;
        } else throw new DeployError(`unexpected byte 0x${(b ?? 0).toString(16)} from ${this.link.name} in raw-paste mode while ${doing}`);
      }
      const n = Math.min(credit, src.length - i);
      await this.link.write(src.subarray(i, i + n));
      credit -= n;
      i += n;
    }
    await this.link.write('\x04');
    await this.link.readUntil('\x04', this.timeoutMs, doing);
  }

  private async plainWrite(src: Buffer, doing: string): Promise<void> {
    const { chunk, delayMs } = this.link.pacing;
    for (let i = 0; i < src.length; i += chunk) {
      await this.link.write(src.subarray(i, i + chunk));
      if (i + chunk < src.length) await sleep(delayMs);
    }
    await this.link.write('\x04');
    const ok = (await this.link.readExactly(2, this.timeoutMs, doing)).toString('latin1');
    if (ok !== 'OK') throw new DeployError(`unexpected answer ${JSON.stringify(ok)} from ${this.link.name} while ${doing} (bytes lost on the way?)`);
  }

  /** Back to the friendly REPL. */
  async leave(): Promise<void> {
    await this.link.write('\r\x02');
    await this.link.readUntil('>>> ', this.timeoutMs, 'leaving the raw REPL');
  }
}
