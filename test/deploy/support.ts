// Shared by the deploy tests: the project's files as a deploy sends them, sessions on a simulated
// board over its serial port or WebREPL, and the board's flash as the test sees it.
import { createHash } from 'node:crypto';
import { projectFiles } from '../../generator/sim/device.ts';
import { RawRepl } from '../../generator/deploy/rawrepl.ts';
import { SerialLink } from '../../generator/deploy/serial.ts';
import { SimBoard } from '../../generator/deploy/sim.ts';
import { MANIFEST, probe, sync, type BoardFile, type BoardInfo, type SyncOptions, type SyncReport } from '../../generator/deploy/sync.ts';
import { WebReplLink } from '../../generator/deploy/webrepl.ts';
import type { Link } from '../../generator/deploy/link.ts';
import { cli, repoRoot } from '../generator/support.ts';

export { cli, repoRoot };

/** What `deploy` sends by default: the runtime and the generated modules, under /lib. */
export function runtimeFiles(): BoardFile[] {
  return Object.entries(projectFiles(repoRoot)).map(([path, text]) => ({ path, data: Buffer.from(text, 'utf8') }));
}

export const bytesOf = (files: BoardFile[]) => files.reduce((n, f) => n + f.data.length, 0);
export const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** A raw REPL session on a board, probed, ready for sync(). */
export interface Session {
  link: Link;
  repl: RawRepl;
  info: BoardInfo;
  sync(files: BoardFile[], options?: SyncOptions): Promise<SyncReport>;
  close(): Promise<void>;
}

async function session(link: Link, timeoutMs: number, softReset: boolean): Promise<Session> {
  const repl = new RawRepl(link, timeoutMs);
  await repl.enter(softReset);
  const info = await probe(repl);
  return {
    link,
    repl,
    info,
    sync: (files, options) => sync(repl, info, files, options),
    close: () => link.close(),
  };
}

export async function serialSession(board: SimBoard, timeoutMs = 5000): Promise<Session> {
  return session(await SerialLink.open(board.portPath, { binding: board.binding }), timeoutMs, true);
}

export async function webReplSession(url: string, password: string, timeoutMs = 5000): Promise<Session> {
  return session(await WebReplLink.open(url, { password, timeoutMs }), timeoutMs, false);
}

/** The board's flash as text files, path -> content, without the deploy manifest. */
export async function flashText(board: SimBoard): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const [p, data] of await board.files()) if (p !== MANIFEST) out[p] = Buffer.from(data).toString('utf8');
  return out;
}
