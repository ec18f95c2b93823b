// The board a command talks to, from its options: a serial port, WebREPL, or the simulated
// board (the default), whose flash is kept in <root>/.cache/sim-board between runs.

import * as path from 'node:path';
import { UsageError, type Option } from '../cli/command.ts';
import { DeployError, type Link } from './link.ts';
import { loadLayout } from '../config/config.ts';
import { SerialLink } from './serial.ts';
import { SimBoard, loadFlash } from './sim.ts';
import { WebReplLink } from './webrepl.ts';

export interface TargetOptions {
  port?: string;
  baud?: number;
  webrepl?: string;
  /** Asked for when WebREPL is the target; never printed. */
  password: () => Promise<string>;
  /** Project root: the simulated board keeps its flash under it. */
  root: string;
  timeoutMs: number;
}

export interface Target {
  link: Link;
  /** What it is, for messages. */
  name: string;
  /** Whether a soft reset keeps the link (it ends a WebREPL session). */
  canSoftReset: boolean;
  /** Closes the link (and saves the simulated board's flash). */
  close(): Promise<void>;
}

export async function openTarget(o: TargetOptions): Promise<Target> {
  if (o.port !== undefined) {
    const link = await SerialLink.open(o.port, { baud: o.baud });
    return { link, name: link.name, canSoftReset: true, close: () => link.close() };
  }
  if (o.webrepl !== undefined) {
    const link = await WebReplLink.open(o.webrepl, { password: await o.password(), timeoutMs: o.timeoutMs });
    return { link, name: link.name, canSoftReset: false, close: () => link.close() };
  }
  const dir = path.join(o.root, '.cache', 'sim-board');
  const board = await SimBoard.start({ files: loadFlash(dir) });
  let link: SerialLink;
  try {
    link = await SerialLink.open(board.portPath, { binding: board.binding });
  } catch (e) {
    await board.close();
    throw e;
  }
  return {
    link,
    name: `the simulated board (flash in ${dir.startsWith(process.cwd() + path.sep) ? path.relative(process.cwd(), dir) : dir})`,
    canSoftReset: true,
    close: async () => {
      try {
        await link.close();
        await board.console.idle();
        await board.saveFlash(dir);
      } finally {
        await board.close();
      }
    },
  };
}

// ------------------------------------------------------------------ the commands' options

export const TARGET_OPTIONS: Record<string, Option> = {
  port: { type: 'string', description: 'the board on this serial port (e.g. /dev/ttyUSB0, COM3)' },
  baud: { type: 'string', description: 'serial speed (default 115200)' },
  webrepl: { type: 'string', description: 'the board at this WebREPL address (e.g. ws://192.168.4.1:8266)' },
  password: { type: 'string', description: 'WebREPL password (asked for when not given)' },
  sim: { type: 'boolean', description: 'the simulated board (the default)' },
  root: { type: 'string', description: 'project root (default: .)' },
  'no-reset': { type: 'boolean', description: 'do not soft-reset the board first (over serial; WebREPL never does)' },
  timeout: { type: 'string', description: 'seconds to wait for the board to answer (default 10)' },
};

export const TARGET_DETAILS = [
  'The board: --port (USB serial), --webrepl (Wi-Fi), or --sim, the simulated ESP8266, which is the',
  'default (wirestate.config.json "deploy": {"target": ...} names another); it keeps its flash in',
  '<root>/.cache/sim-board, so what deploy wrote is there for run and repl.',
].join('\n');

export const RESET_DETAILS = 'Over serial the board is soft-reset first (boot.py runs, main.py does not) unless --no-reset.';

type Values = Record<string, string | boolean | string[] | undefined>;

/** Reads the target options of a command line; throws UsageError when they do not fit together. */
export function targetOptions(values: Values, root: string): TargetOptions & { softReset: boolean } {
  let port = values.port as string | undefined;
  let webrepl = values.webrepl as string | undefined;
  const given = [port !== undefined && '--port', webrepl !== undefined && '--webrepl', values.sim && '--sim'].filter(Boolean);
  if (given.length > 1) throw new UsageError(`${given.join(' and ')} do not go together: pick one board`);
  if (!given.length) {
    // The project's board (wirestate.config.json "deploy.target"): sim, a ws:// address or a serial port.
    const { target } = loadLayout(root).deploy;
    if (/^wss?:\/\//.test(target)) webrepl = target;
    else if (target !== 'sim') port = target;
  }
  if (values.baud !== undefined && port === undefined) throw new UsageError('--baud goes with --port');
  if (values.password !== undefined && webrepl === undefined) throw new UsageError('--password goes with --webrepl');
  if (webrepl !== undefined && !/^wss?:\/\/./.test(webrepl)) throw new UsageError(`--webrepl: not a ws:// address: ${webrepl}`);
  const number = (name: string, fallback: number) => {
    const v = values[name] as string | undefined;
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!(n > 0)) throw new UsageError(`--${name}: not a positive number: ${v}`);
    return n;
  };
  const baud = number('baud', 115200);
  if (!Number.isInteger(baud)) throw new UsageError(`--baud: not a whole number: ${values.baud}`);
  const password = values.password as string | undefined;
  return {
    port,
    baud,
    webrepl,
    password: password !== undefined ? async () => password : askPassword,
    root,
    timeoutMs: number('timeout', 10) * 1000,
    softReset: !values['no-reset'],
  };
}

/** Asks for the WebREPL password on the terminal, without echoing it. */
async function askPassword(): Promise<string> {
  const stdin = process.stdin;
  if (!stdin.isTTY) throw new DeployError('--password is needed: there is no terminal to ask for it on');
  process.stderr.write('WebREPL password: ');
  stdin.setRawMode(true);
  stdin.resume();
  try {
    return await new Promise<string>((resolve, reject) => {
      let typed = '';
      const onData = (d: Buffer) => {
        for (const ch of d.toString('utf8')) {
          if (ch === '\r' || ch === '\n') {
            stdin.off('data', onData);
            return resolve(typed);
          }
          if (ch === '\x03') {
            stdin.off('data', onData);
            return reject(new DeployError('no password given'));
          }
          typed = ch === '\x7f' || ch === '\b' ? typed.slice(0, -1) : typed + ch;
        }
      };
      stdin.on('data', onData);
    });
  } finally {
    stdin.setRawMode(false);
    stdin.pause();
    process.stderr.write('\n');
  }
}
