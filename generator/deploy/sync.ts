// Brings a board's files up to date over its raw REPL: compares sha256 on the board with the
// host's, and writes only what differs, deflated when the board can inflate, as base64 in code
// over serial and as bytes with the file protocol over WebREPL. Every file goes to a temporary
// name first and replaces the old one only once the board has checked its sha256, so a deploy
// that is interrupted, or that loses bytes on the way, never leaves a truncated module.
//
// The board keeps the list of files wirestate put there in MANIFEST, so that files no longer
// deployed can be told from the user's own. It is JSON, one line of ASCII: no file name can be
// read as two (board paths with control characters are refused anyway). Manifests of earlier
// versions, one path a line, are still read.

import { createHash } from 'node:crypto';
import { deflateSync } from 'node:zlib';
import { DeployError } from './link.ts';
import { BoardError, type RawRepl } from './rawrepl.ts';
import { MAX_PUT_NAME, WebReplLink } from './webrepl.ts';

export interface BoardFile {
  /** Absolute path on the board, e.g. /lib/fsm.py. */
  path: string;
  data: Uint8Array;
}

export interface SyncOptions {
  /** Copy even files whose sha256 matches. */
  force?: boolean;
  /** Only report what would change. */
  dryRun?: boolean;
  /** Remove files a previous deploy put there that are no longer deployed. */
  prune?: boolean;
  /** Never deflate (for boards whose deflate module misbehaves). */
  noDeflate?: boolean;
  /** Called as a file is written: bytes of it done so far, of `total`; done === total once it is in place. */
  onProgress?: (path: string, done: number, total: number) => void;
}

export interface SyncReport {
  /** Files written (or, on a dry run, that would be), with why. */
  copied: { path: string; why: 'new' | 'changed' | 'forced'; bytes: number }[];
  unchanged: string[];
  /** Files removed (or that would be): .py files that would shadow a deployed .mpy, pruned files. */
  removed: { path: string; why: 'shadows .mpy' | 'no longer deployed' }[];
  /** Files no longer deployed that stay because --prune was not given. */
  orphans: string[];
  dryRun: boolean;
}

/** The board's list of the files wirestate deployed: {"wirestate": 1, "files": [paths]}. */
export const MANIFEST = '/.wirestate';

/** The manifest's text for `paths`: JSON in ASCII (other characters escaped), on one line. */
export function manifestText(paths: string[]): string {
  const json = JSON.stringify({ wirestate: 1, files: paths });
  return json.replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`) + '\n';
}

/**
 * The paths a manifest lists. Its JSON form is one line; the earlier form was one path a line.
 * Anything else (a manifest that is not wirestate's) lists nothing, so nothing is pruned.
 */
export function parseManifest(text: string): string[] {
  const t = text.trim();
  if (t.startsWith('{')) {
    try {
      const m = JSON.parse(t) as { files?: unknown };
      return Array.isArray(m.files) ? m.files.filter((p): p is string => typeof p === 'string' && p.startsWith('/')) : [];
    } catch {
      return [];
    }
  }
  return t.split(/\r?\n/).filter((l) => l.startsWith('/'));
}

/**
 * Throws a DeployError when `path` cannot be a board path wirestate writes: it must be absolute,
 * with no empty, '.' or '..' part, and no control character (a newline in a name once made a
 * deploy read a user's file as its own).
 */
export function checkBoardPath(path: string): void {
  const shown = JSON.stringify(path);
  if (/[\u0000-\u001f\u007f-\u009f]/.test(path)) throw new DeployError(`${shown}: a file name on the board may not hold control characters (newline, tab, ...); rename the file`);
  if (!path.startsWith('/') || path.split('/').slice(1).some((p) => p === '' || p === '.' || p === '..')) {
    throw new DeployError(`${shown}: not a board path wirestate can write (absolute, without empty, '.' or '..' parts)`);
  }
}

/** What the board can do, probed once per session. */
export interface BoardInfo {
  /** sys.implementation._mpy, 0 if the board does not report it. */
  mpy: number;
  deflate: boolean;
}

// Base64 characters per write statement, and per exec. An exec's source is compiled on the
// board as a whole; 2 KB of it leaves room on an ESP8266's ~38 KB heap.
const LINE = 1024;
const EXEC_SOURCE = 2048;
// The window the board's inflater needs is 2^WBITS bytes of its heap.
const WBITS = 10;

// Helpers defined on the board for the session. Short names: they travel with every call.
const HELPERS = `import os,sys,gc
from binascii import a2b_base64 as _wa,hexlify as _wx
from hashlib import sha256 as _ws
def _wh(p):
 try:f=open(p,'rb')
 except OSError:return'-'
 h=_ws();b=bytearray(512);m=memoryview(b)
 while 1:
  n=f.readinto(b)
  if not n:break
  h.update(m[:n])
 f.close();return _wx(h.digest()).decode()
def _wd(d):
 p=''
 for s in d.split('/')[1:]:
  p+='/'+s
  try:os.stat(p)
  except OSError:os.mkdir(p)
def _wo(p):
 global _wf;_wf=open(p,'wb')
def _ww(s):_wf.write(_wa(s))
def _wz(s,d):
 from deflate import DeflateIO,ZLIB
 with open(s,'rb') as f,open(d,'wb') as o:
  z=DeflateIO(f,ZLIB);b=bytearray(512);m=memoryview(b)
  while 1:
   try:n=z.readinto(b)
   except OSError:raise ValueError('corrupt deflate stream')
   if not n:break
   o.write(m[:n])
 os.remove(s)
def _wi(t,p,h):
 if _wh(t)!=h:
  os.remove(t);raise ValueError('sha256 mismatch')
 try:os.rename(t,p)
 except OSError:os.remove(p);os.rename(t,p)
 gc.collect()
def _wr(p):
 try:os.remove(p)
 except OSError:pass
def _wq(ds):
 for d in ds:
  try:os.rmdir(d)
  except OSError:pass
try:
 import deflate;_wv=1
except ImportError:_wv=0
print(getattr(sys.implementation,'_mpy',0),_wv)
`;

/** A Python literal for a path (JSON's escapes are Python's). */
const lit = (s: string) => JSON.stringify(s);
const tuple = (items: string[]) => (items.length ? `(${items.map(lit).join(',')},)` : '()');
const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

/** Defines the helpers on the board and reports what it can do. */
export async function probe(repl: RawRepl): Promise<BoardInfo> {
  let out: string;
  try {
    out = await repl.exec(HELPERS, { doing: 'preparing the board' });
  } catch (e) {
    if (e instanceof BoardError && /ImportError/.test(e.exception)) {
      throw new DeployError(`the board's MicroPython lacks a module deploying needs (binascii and hashlib.sha256): ${e.exception}`);
    }
    throw e;
  }
  const [mpy = '0', deflate = '0'] = out.trim().split(/\s+/);
  return { mpy: Number(mpy), deflate: deflate === '1' };
}

/** Parent folders of a board path, outermost first, without the root. */
function parents(path: string): string[] {
  const parts = path.split('/').slice(1, -1);
  return parts.map((_, i) => '/' + parts.slice(0, i + 1).join('/'));
}

/** Brings `files` up to date on the board; `info` is what probe() found. */
export async function sync(repl: RawRepl, info: BoardInfo, files: BoardFile[], options: SyncOptions = {}): Promise<SyncReport> {
  for (const f of files) checkBoardPath(f.path);
  const report: SyncReport = { copied: [], unchanged: [], removed: [], orphans: [], dryRun: Boolean(options.dryRun) };
  const targets = new Set(files.map((f) => f.path));
  // A .py next to a deployed .mpy would be imported instead of it.
  const shadows = files.filter((f) => f.path.endsWith('.mpy')).map((f) => f.path.slice(0, -4) + '.py').filter((p) => !targets.has(p));

  const state = await repl.exec(
    `for p in ${tuple([...files.map((f) => f.path), ...shadows])}:print(_wh(p))\n` +
      `try:print(open(${lit(MANIFEST)}).read())\nexcept OSError:pass\n`,
    { doing: 'comparing files' },
  );
  const lines = state.split(/\r?\n/);
  const boardHash = new Map(files.map((f, i) => [f.path, lines[i]]));
  const existingShadows = shadows.filter((_, i) => lines[files.length + i] !== '-');
  const manifest = parseManifest(lines.slice(files.length + shadows.length).join('\n'));

  const writes: BoardFile[] = [];
  for (const f of files) {
    const onBoard = boardHash.get(f.path);
    const same = onBoard === sha256(f.data);
    if (same && !options.force) report.unchanged.push(f.path);
    else {
      writes.push(f);
      report.copied.push({ path: f.path, why: same ? 'forced' : onBoard === '-' ? 'new' : 'changed', bytes: f.data.length });
    }
  }
  for (const p of existingShadows) report.removed.push({ path: p, why: 'shadows .mpy' });
  const gone = manifest.filter((p) => !targets.has(p) && !existingShadows.includes(p));
  if (options.prune) for (const p of gone) report.removed.push({ path: p, why: 'no longer deployed' });
  else report.orphans.push(...gone);
  if (options.dryRun) return report;

  const dirs = [...new Set(writes.flatMap((f) => parents(f.path)))];
  if (dirs.length) await repl.exec(`for d in ${tuple(dirs)}:_wd(d)\n`, { doing: 'creating folders' });
  for (const f of writes) await writeFile(repl, info, f, options);

  if (report.removed.length) {
    const paths = report.removed.map((r) => r.path);
    // Folders left empty by pruning go too, innermost first; /lib stays.
    const emptied = [...new Set(paths.flatMap(parents))].filter((d) => d !== '/lib').sort((a, b) => b.length - a.length);
    await repl.exec(`for p in ${tuple(paths)}:_wr(p)\n${emptied.length ? `_wq(${tuple(emptied)})\n` : ''}`, { doing: 'removing files' });
  }

  const listed = manifestText([...targets, ...report.orphans].sort());
  if (listed !== lines.slice(files.length + shadows.length).join('\n').trim() + '\n') {
    await writeFile(repl, info, { path: MANIFEST, data: Buffer.from(listed) }, { ...options, onProgress: undefined });
  }
  return report;
}

/** What a failure while writing a file most likely means. */
function hint(exception: string): string {
  if (/ENOSPC|Errno 28\b/.test(exception)) return " (the board's filesystem is full)";
  // A lost byte breaks the code's syntax, the base64, the deflate stream or the checksum.
  if (/^(SyntaxError|ValueError)|padding/i.test(exception)) return ' (bytes were lost on the link)';
  return '';
}

/** Writes one file to a temporary name, then has the board check it and put it in place. */
async function writeFile(repl: RawRepl, info: BoardInfo, f: BoardFile, options: SyncOptions): Promise<void> {
  const tmp = f.path + '.tmp';
  const zipped = info.deflate && !options.noDeflate ? deflateSync(f.data, { windowBits: WBITS, level: 9, memLevel: 9 }) : undefined;
  const deflated = zipped !== undefined && zipped.length < f.data.length;
  const payload = deflated ? zipped : f.data;
  const progress = (done: number) => options.onProgress?.(f.path, Math.min(f.data.length, Math.floor(done)), f.data.length);
  const doing = `writing ${f.path}`;
  const staged = deflated ? f.path + '.tmz' : tmp;
  const finish = `${deflated ? `_wz(${lit(staged)},${lit(tmp)})\n` : ''}_wi(${lit(tmp)},${lit(f.path)},${lit(sha256(f.data))})\n`;
  const link = repl.link;
  // done === total means written: an empty file gets only that call.
  if (f.data.length) progress(0);
  try {
    if (link instanceof WebReplLink && Buffer.byteLength(staged) <= MAX_PUT_NAME) {
      // WebREPL's file protocol takes the bytes as they are, in one stream: no base64, and no
      // round trip per raw-paste window, which over Wi-Fi is what takes the time.
      await link.putFile(staged, payload, repl.timeoutMs, (n) => progress((n / payload.length) * f.data.length));
      await repl.exec(finish, { doing });
    } else {
      const b64 = Buffer.from(payload).toString('base64');
      let code = `_wo(${lit(staged)})\n`;
      for (let i = 0; i < b64.length; i += LINE) {
        const stmt = `_ww(b'${b64.slice(i, i + LINE)}')\n`;
        if (code.length + stmt.length > EXEC_SOURCE) {
          await repl.exec(code, { doing });
          progress((i / b64.length) * f.data.length);
          code = '';
        }
        code += stmt;
      }
      await repl.exec(`${code}_wf.close()\n${finish}`, { doing });
    }
  } catch (e) {
    if (!(e instanceof DeployError)) throw e;
    const unchanged = `${f.path} on the board is unchanged`;
    if (!(e instanceof BoardError)) throw new DeployError(`${e.message}; ${unchanged}`);
    // The board still answers: leave no temporary files behind.
    await repl
      .exec(`try:_wf.close()\nexcept:pass\n_wr(${lit(tmp)})\n_wr(${lit(f.path + '.tmz')})\n`, { doing: `cleaning up after ${f.path}` })
      .catch(() => {});
    throw new DeployError(`${e.message}${hint(e.exception)}; ${unchanged}`);
  }
  progress(f.data.length);
}
