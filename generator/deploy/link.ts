// A byte link to a board's REPL (a serial port, a WebREPL session): buffered input read with a
// deadline on every read, so a board that stops answering is an error, never a hang.

/** A problem talking to the board, worded for the user. */
export class DeployError extends Error {
  override name = 'DeployError';
}

/** The board did not answer in time. */
export class LinkTimeout extends DeployError {
  override name = 'LinkTimeout';
}

/** How a link paces input in plain raw REPL mode, which has no flow control. */
export interface Pacing {
  /** Bytes per write. */
  chunk: number;
  /** Pause after each write, ms. */
  delayMs: number;
}

export abstract class Link {
  /** What the link is, for messages: "serial port /dev/ttyUSB0", "WebREPL ws://…". */
  abstract readonly name: string;
  abstract readonly pacing: Pacing;
  /** Bytes sent on the wire, protocol framing included. */
  readonly stats = { sent: 0 };

  private buf: Buffer = Buffer.alloc(0);
  /** The pending read's; there is one reader at a time. */
  private wake: (() => void) | undefined;
  private ended: Error | undefined;

  /** Sends bytes; resolves once the transport has taken them. */
  abstract write(bytes: Uint8Array | string): Promise<void>;
  abstract close(): Promise<void>;

  /** For subclasses: bytes that arrived. */
  protected received(bytes: Uint8Array): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, bytes]) : Buffer.from(bytes);
    this.wake?.();
  }

  /** For subclasses: no more bytes will arrive; reads fail with `error` once the buffer is empty. */
  protected end(error: Error): void {
    this.ended ??= error;
    this.wake?.();
  }

  /** Bytes received and not yet read. */
  get available(): number {
    return this.buf.length;
  }

  /** Drops whatever was received and not yet read. */
  discard(): void {
    this.buf = Buffer.alloc(0);
  }

  /**
   * Reads up to and including `marker`, skipping nothing: returns everything before it (the
   * marker is consumed). `timeoutMs` (null: none) runs from the last byte received, so a board
   * that keeps talking is waited for. `onData` gets the bytes before the marker as they arrive.
   */
  async readUntil(marker: string | Uint8Array, timeoutMs: number | null, doing: string, onData?: (b: Buffer) => void): Promise<Buffer> {
    const m = typeof marker === 'string' ? Buffer.from(marker, 'latin1') : Buffer.from(marker);
    let streamed = 0;
    for (;;) {
      const at = this.buf.indexOf(m);
      if (at >= 0) {
        const before = this.buf.subarray(0, at);
        if (onData && at > streamed) onData(before.subarray(streamed));
        this.buf = this.buf.subarray(at + m.length);
        return before;
      }
      // Everything but a possible start of the marker can go to onData already.
      const safe = Math.max(streamed, this.buf.length - (m.length - 1));
      if (onData && safe > streamed) {
        onData(this.buf.subarray(streamed, safe));
        streamed = safe;
      }
      await this.more(timeoutMs, doing);
    }
  }

  /** Reads exactly n bytes. */
  async readExactly(n: number, timeoutMs: number | null, doing: string): Promise<Buffer> {
    while (this.buf.length < n) await this.more(timeoutMs, doing);
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }

  /** Reads whatever has arrived, waiting for at least one byte. */
  async readSome(timeoutMs: number | null, doing: string): Promise<Buffer> {
    if (!this.buf.length) await this.more(timeoutMs, doing);
    const out = this.buf;
    this.buf = Buffer.alloc(0);
    return out;
  }

  /** Waits until something more arrives (or the deadline passes: LinkTimeout; or the link ends). */
  private more(timeoutMs: number | null, doing: string): Promise<void> {
    const have = this.buf.length;
    return new Promise<void>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const done = (err?: Error) => {
        if (timer) clearTimeout(timer);
        this.wake = undefined;
        if (err) reject(err);
        else resolve();
      };
      this.wake = () => {
        if (this.buf.length > have) done();
        else if (this.ended) done(this.ended);
      };
      if (this.ended) return done(this.ended);
      if (timeoutMs !== null) {
        timer = setTimeout(() => done(new LinkTimeout(`no answer from the board on ${this.name} for ${timeoutMs / 1000} s while ${doing}`)), timeoutMs);
      }
    });
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
