// The simulated board's console: the byte stream its UART (or a WebREPL session) carries to and
// from the REPL, with what the firmware does around the REPL that the VM's REPL mode cannot:
//
// - raw-paste mode (MicroPython 1.14+) with its flow control; the VM would hang in it (its
//   stdin reads return 0), so it is answered here and the code replayed in plain raw mode;
// - cooked output: the board's stdout turns "\n" into "\r\n", the VM's does not;
// - an input buffer that loses what overflows it (the ESP8266's stdin ring holds 256 bytes).
//
// Several parties may attach at once, as on the board, where dupterm (WebREPL) shares the REPL
// with the UART: input from any of them is processed in order, output goes to all.

import type { SimDevice } from './device.ts';

const CTRL_A = 0x01;
const CTRL_B = 0x02;
const CTRL_C = 0x03;
const CTRL_D = 0x04;
const CTRL_E = 0x05;

/** Raw-paste window increment: half of the ESP8266's 256-byte stdin buffer, as the firmware sends. */
export const RAW_PASTE_WINDOW = 128;

export interface ConsoleOptions {
  /** Offer raw-paste mode. false: answer a raw-paste request as firmware older than 1.14 does. Default true. */
  rawPaste?: boolean;
}

type PasteState = 'off' | 'ctrl-e' | 'ctrl-e-a' | 'on';

export class BoardConsole {
  private readonly listeners = new Set<(bytes: Uint8Array) => void>();
  /** Input not yet processed, as it arrived, and its size in bytes. */
  private readonly queue: Uint8Array[] = [];
  private pending = 0;
  private pumping: Promise<void> | undefined;
  private failure: Error | undefined;
  /** The raw REPL is active (Ctrl-A), not the friendly one (Ctrl-B). */
  private raw = false;
  /** Nothing typed since the prompt: where a raw-paste request may come. */
  private lineEmpty = true;
  private paste: PasteState = 'off';
  /** The code received in raw-paste mode so far. */
  private pasted: number[] = [];
  /** Bytes the host may still send in raw-paste mode, as the board last told it. */
  private pasteCredit = 0;
  private pasteConsumed = 0;
  /** Bytes of VM output to drop: the "OK" of plain raw mode when it replays a paste. */
  private stripOk = 0;
  /** The last byte of VM output, to cook "\n" split across chunks. */
  private lastOut = 0;

  private constructor(
    private readonly device: SimDevice,
    private readonly rawPaste: boolean,
  ) {}

  /** Starts the device's REPL (the friendly REPL, as after boot; nobody is attached to see its banner). */
  static async start(device: SimDevice, options: ConsoleOptions = {}): Promise<BoardConsole> {
    const c = new BoardConsole(device, options.rawPaste ?? true);
    await device.replStart((b) => c.fromVm(b));
    return c;
  }

  /** Attaches a listener to everything the board prints; returns the function that detaches it. */
  attach(listener: (bytes: Uint8Array) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Input as it reaches the board. `buffer` is how many bytes the board can hold before the REPL
   * takes them: what arrives beyond it, counting input not yet processed, is lost.
   */
  write(bytes: Uint8Array, buffer = Infinity): void {
    const room = Math.max(0, buffer - this.pending);
    const kept = bytes.length > room ? bytes.subarray(0, room) : bytes;
    if (!kept.length) return;
    this.queue.push(Uint8Array.from(kept));
    this.pending += kept.length;
    // Started on a later tick so that this.pumping is set before the pump can finish.
    this.pumping ??= Promise.resolve().then(() => this.pump());
  }

  /** Resolves once all input written so far has been processed; rejects if the device stopped. */
  async idle(): Promise<void> {
    while (this.pumping) await this.pumping;
    if (this.failure) throw this.failure;
  }

  private emit(bytes: Uint8Array): void {
    for (const l of this.listeners) l(bytes);
  }

  private fromVm(bytes: Uint8Array): void {
    let b = bytes;
    if (this.stripOk) {
      // Raw-paste output has no "OK"; plain raw mode (which replays the paste) starts with it.
      const n = Math.min(this.stripOk, b.length);
      this.stripOk -= n;
      b = b.subarray(n);
    }
    const out: number[] = [];
    for (const c of b) {
      if (c === 0x0a && this.lastOut !== 0x0d) out.push(0x0d);
      out.push(c);
      this.lastOut = c;
    }
    if (out.length) this.emit(Uint8Array.from(out));
  }

  private async pump(): Promise<void> {
    try {
      while (this.queue.length) {
        const chunk = this.queue.shift() as Uint8Array;
        try {
          await this.process(chunk);
        } finally {
          this.pending -= chunk.length;
        }
      }
    } catch (e) {
      // The device stopped (closed, or its worker died): input has nowhere to go.
      this.failure ??= e as Error;
      this.queue.length = 0;
    }
    // In the same tick as the last look at the queue: a write from now on starts a new pump.
    this.pumping = undefined;
  }

  /** Leaves raw-paste mode: Ctrl-D says so, then `code` runs in plain raw mode, without its "OK". */
  private async endPaste(code: Uint8Array): Promise<void> {
    this.paste = 'off';
    this.pasted = [];
    this.emit(Uint8Array.of(CTRL_D));
    this.stripOk = 2;
    await this.device.replInput(code);
    this.lineEmpty = true;
  }

  /** One chunk of input, as it arrived. */
  private async process(chunk: Uint8Array): Promise<void> {
    let toVm: number[] = [];
    const flush = async () => {
      if (toVm.length) await this.device.replInput(Uint8Array.from(toVm));
      toVm = [];
    };
    // In raw-paste mode the host may only have sent what the board allowed; a burst beyond that
    // overflows the board's buffer.
    let allowed = this.paste === 'on' ? this.pasteCredit : Infinity;
    for (const c of chunk) {
      switch (this.paste) {
        case 'on':
          if (c === CTRL_C || c === CTRL_D) {
            // Ctrl-D: the code is all in. Ctrl-C: the board ends the paste with KeyboardInterrupt.
            await this.endPaste(c === CTRL_D ? Uint8Array.from([...this.pasted, CTRL_D]) : Buffer.from('raise KeyboardInterrupt\x04'));
            allowed = Infinity;
          } else if (allowed > 0) {
            allowed--;
            this.pasteCredit--;
            this.pasted.push(c);
            if (++this.pasteConsumed % RAW_PASTE_WINDOW === 0) {
              this.pasteCredit += RAW_PASTE_WINDOW;
              this.emit(Uint8Array.of(CTRL_A));
            }
          }
          continue;
        case 'ctrl-e':
          this.paste = c === 0x41 ? 'ctrl-e-a' : 'off';
          if (this.paste === 'ctrl-e-a') continue;
          break; // a stray Ctrl-E: dropped, this byte goes on as usual
        case 'ctrl-e-a':
          this.paste = 'off';
          if (c === CTRL_A && this.rawPaste) {
            await flush();
            this.paste = 'on';
            this.pasteConsumed = 0;
            // The window increment, then one increment at once: two windows may be in flight.
            this.pasteCredit = 2 * RAW_PASTE_WINDOW;
            allowed = 0; // the host has not seen the window yet
            this.emit(Uint8Array.of(0x52, 0x01, RAW_PASTE_WINDOW & 0xff, RAW_PASTE_WINDOW >> 8, CTRL_A));
            continue;
          }
          break; // older firmware took "\x05A" as line input, which the Ctrl-A now clears
        case 'off':
          if (c === CTRL_E && this.raw && this.lineEmpty) {
            this.paste = 'ctrl-e';
            continue;
          }
          break;
      }
      if (c === CTRL_A) this.raw = true;
      else if (c === CTRL_B) this.raw = false;
      this.lineEmpty = c === CTRL_A || c === CTRL_B || c === CTRL_C || c === CTRL_D;
      toVm.push(c);
    }
    await flush();
  }
}
