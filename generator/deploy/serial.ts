// The serial transport: a board's REPL on a USB serial port, through serialport's binding layer
// (the operating system's driver, or the simulated board's binding in sim.ts).

import { SerialPort } from 'serialport';
import { DeployError, Link, type Pacing } from './link.ts';

/** What this transport needs of a serialport binding (serialport's BindingInterface). */
export interface SerialBinding {
  open(options: { path: string; baudRate: number }): Promise<SerialBindingPort>;
}

export interface SerialBindingPort {
  read(buffer: Buffer, offset: number, length: number): Promise<{ buffer: Buffer; bytesRead: number }>;
  write(buffer: Buffer): Promise<void>;
  close(): Promise<void>;
}

export interface SerialOptions {
  baud?: number;
  /** Default: the operating system's (serialport's auto-detected binding). */
  binding?: SerialBinding;
}

/** Turns the binding's open errors (worded as the OS binding words them) into advice. */
function openError(path: string, err: Error): DeployError {
  const m = err.message;
  if (/No such file|ENOENT|cannot find the file/i.test(m)) {
    return new DeployError(`no serial port ${path}: is the board plugged in? (on Linux, boards show up as /dev/ttyUSB0 or /dev/ttyACM0)`);
  }
  if (/lock|busy|temporarily unavailable|Access denied/i.test(m)) {
    return new DeployError(`serial port ${path} is in use by another program (a terminal such as screen, minicom, mpremote or an IDE); close it and retry`);
  }
  if (/Permission denied|EACCES/i.test(m)) {
    return new DeployError(`no permission to open ${path}: on Linux, add yourself to the dialout group and log in again`);
  }
  return new DeployError(`cannot open serial port ${path}: ${m}`);
}

export class SerialLink extends Link {
  readonly name: string;
  // mpremote's pacing: the board's 256-byte stdin buffer never fills at serial speeds.
  readonly pacing: Pacing = { chunk: 256, delayMs: 10 };
  private writing: Promise<void> = Promise.resolve();
  private closing = false;

  private constructor(
    readonly path: string,
    private readonly port: SerialBindingPort,
  ) {
    super();
    this.name = `serial port ${path}`;
    void this.readLoop();
  }

  static async open(path: string, options: SerialOptions = {}): Promise<SerialLink> {
    const binding = options.binding ?? (SerialPort.binding as SerialBinding);
    let port: SerialBindingPort;
    try {
      port = await binding.open({ path, baudRate: options.baud ?? 115200 });
    } catch (e) {
      throw openError(path, e as Error);
    }
    return new SerialLink(path, port);
  }

  private async readLoop(): Promise<void> {
    const buf = Buffer.alloc(4096);
    for (;;) {
      try {
        const { bytesRead } = await this.port.read(buf, 0, buf.length);
        this.received(buf.subarray(0, bytesRead));
      } catch (e) {
        this.end(this.closing ? new DeployError(`${this.name} is closed`) : new DeployError(`${this.name} failed: ${(e as Error).message} (board unplugged?)`));
        return;
      }
    }
  }

  write(bytes: Uint8Array | string): Promise<void> {
    const b = typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : Buffer.from(bytes);
    // The binding takes one write at a time.
    const w = this.writing.then(async () => {
      try {
        await this.port.write(b);
      } catch (e) {
        throw new DeployError(`writing to ${this.name} failed: ${(e as Error).message} (board unplugged?)`);
      }
      this.stats.sent += b.length;
    });
    this.writing = w.catch(() => {});
    return w;
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    await this.writing;
    await this.port.close();
  }
}
