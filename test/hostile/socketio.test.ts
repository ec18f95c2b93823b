// Hostile input for the Engine.IO / Socket.IO client (runtime-esp8266/usocketio) in the
// MicroPython VM of the simulated ESP8266, with fast-check, in batches (one exec per batch)
// through test/support/py/sio_hostile_driver.py.
//
// Two levels:
// - The sans-I/O decoders, called directly: usocketio.polling.decode/encode (payloads of both
//   protocols), usocketio.client.decode (Socket.IO packets), usocketio.binary
//   deconstruct/reconstruct (placeholders, deep nesting).
// - Whole sessions through the public API: connect(url, wait=False) and Client.step(0), what a
//   user's loop calls. Nothing above the socket is faked: the driver patches the board's socket
//   module with a scripted server that answers long-polling GETs with the case's payloads (and
//   POSTs with 'ok'), or the WebSocket handshake with a 101 and the case's frames. So dial, the
//   polling transport's HTTP parsing, the payload codec, the engine and heartbeat machines,
//   uwebsockets' decoder, the Socket.IO decoder, binary reassembly, the manager and namespace
//   machines, reconnection and the handlers all run as on the board. (A fake transport under
//   Engine.pump() would skip the HTTP and WebSocket layers; a real host server would cost a TCP
//   round trip per request and make timing matter.) The script has no timing: the client is
//   stepped until nothing more happens, with reconnection_delay 0.
//
// Every case, valid or mutated, is also run through a reference model written here from the
// protocol documents (engine.io-protocol v3/v4, socket.io-protocol v4/v5, and the checks of the
// official parsers), which says, for each thing the server sent, whether it is valid (and then
// exactly what the application must see), invalid (the session must end with 'parse error') or
// ambiguous (MicroPython's json, int() and a2b_base64 are laxer than JavaScript's, and
// MicroPython's str() lets some invalid UTF-8 through: the runtime may accept or refuse).
// After an ambiguous item only documented outcomes are required.
//
// Properties:
// - nothing raises out of step() (or out of the decoders, but ValueError / UnicodeError /
//   binascii's error, a ValueError on MicroPython);
// - nothing hangs: the driver reports each case as it starts, and a case that runs for over
//   HANG_MS is reported (and the VM, which cannot be interrupted, replaced);
// - valid payloads, packets and sessions decode exactly: handler calls, in order, with their
//   arguments (bytes reassembled), ack callbacks, the acks and pongs the client sends, the
//   CONNECT, no emit lost or sent twice across reconnections;
// - invalid input ends the Engine.IO session with engine.reason 'parse error', and the
//   application sees 'disconnect' ('parse error') or 'connect_error' ('parse error') and the
//   client reconnects, or closes, as configured;
// - memory stays bounded: no leak when the same cases run again and again, no server data
//   interned (qstrs), no gross growth over the run (see the notes on memory below);
// - deep nesting (to 5000 levels) neither crashes nor recurses; distinct characters from the
//   server are not kept; and minimal reproductions of what the fuzz found stay as regressions.
import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimDevice, projectFiles } from '../../generator/sim/device.ts';
import { byteMutations, collect, mutate, report, type ByteMut, type Found } from '../support/fuzz.ts';
import { ROOT } from '../support/pyRunner.ts';

const UNIT_BATCH = 100;
const UNIT_BATCHES = 12; // 1200 decoder cases
const SESSION_BATCH = 40;
const SESSION_BATCHES = 15; // 600 sessions
/**
 * A case that runs longer than this is hung. The longest seen take under 100 ms alone, but
 * several times that while the rest of `npm test` loads the machine; a real hang never ends.
 */
const HANG_MS = 5000;
// Memory. MicroPython's GC is conservative: a stale word in the VM's stacks, or bytes in a live
// buffer, that looks like a pointer keeps what it points to alive, and one such word can keep
// a whole old session (a Client, its engine, sockets and buffers: 10-15 KB seen) or a deep
// chain of lists. So the heap after a batch of random cases moves by up to kilobytes with
// what the last cases left in such places, and not the same from run to run. Leaks are
// therefore looked for where that noise cannot hide them:
// - the same batch run again and again must settle: the floor of the heap over its last runs
//   stops rising (see REPEAT_ROUNDS), which noise cannot prevent and a leak of one small
//   object per case does;
// - interned strings (qstrs), which never go away: the run, over distinct random data, may add
//   no more than QSTR_GROWTH of them;
// - over the whole run, the heap after a probe batch (the same fixed cases every time) may not
//   grow by more than STALE_RETENTION, two retained sessions' worth: the backstop for gross leaks.
const REPEAT_GROWTH = 1024;
/**
 * How often the same batch may run before it must have settled. What a stale word keeps comes
 * and goes from run to run (a run on a loaded machine kept 1440 bytes more than the one
 * before), but it only ever adds to the heap: the lowest heap over a few runs is what is truly
 * retained. What the first runs leave (tables that grow once) settles after a few runs, at a
 * number of runs that varies with the cases; a leak raises the floor with every run. So the
 * batch runs until the floor of the last 3 runs is at most REPEAT_GROWTH above the floor of
 * the 3 before, and must get there within REPEAT_ROUNDS runs: a leak of one 16-byte object per
 * case raises it by 60 x 16 x 3 = 2.9 KB every time.
 */
const REPEAT_ROUNDS = 14;
const repeatGrowth = (h: number[]) => Math.min(...h.slice(-3)) - Math.min(...h.slice(-6, -3));
/** qstrs the run may add: none are expected (see the memory test). */
const QSTR_GROWTH = 8;
const STALE_RETENTION = 32 * 1024;

type Pkt = string | Buffer;
type Json = null | boolean | number | string | Buffer | Json[] | { [k: string]: Json };

// ------------------------------------------------------------------------------ reference codecs

const utf16len = (s: string) => s.length;
const B64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
/** What Python's int() takes (MicroPython also takes '_' anywhere among the digits). */
const PY_INT = /^[ \t\n\r\f\v]*[+-]?[0-9_]*[0-9][0-9_]*[ \t\n\r\f\v]*$/;
const RESERVED = ['connect', 'connect_error', 'disconnect'];

type Dec<T> = { ok: T } | 'invalid' | 'ambiguous';

function utf8(b: Buffer): string | null {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(b);
  } catch {
    return null;
  }
}

/** An Engine.IO payload (HTTP long-polling body) as a correct client builds it. */
function encodePayload(ps: Pkt[], eio: 3 | 4): Buffer {
  const text = ps.map((p) => {
    const s = typeof p === 'string' ? p : (eio === 4 ? 'b' : 'b4') + p.toString('base64');
    return eio === 3 ? `${utf16len(s)}:${s}` : s;
  });
  return Buffer.from(text.join(eio === 4 ? '\x1e' : ''), 'utf8');
}

/** The packets of a payload, per the protocol; 'invalid' if no correct decoder may accept it. */
function decodePayload(body: Buffer, eio: 3 | 4): Dec<Pkt[]> {
  const d = streamPayload(body, eio);
  return d.stop ?? { ok: d.ps };
}

/**
 * The packets of a payload as a client that handles each packet as soon as it is whole (as the
 * runtime does) sees them: those before the first that is invalid or ambiguous (stop), if any.
 */
function streamPayload(body: Buffer, eio: 3 | 4): { ps: Pkt[]; stop: 'invalid' | 'ambiguous' | null } {
  const out: Pkt[] = [];
  const bin = (t: string): Buffer | null => (B64.test(t) ? Buffer.from(t, 'base64') : null);
  const stop = (why: 'invalid' | 'ambiguous') => ({ ps: out, stop: why });
  if (eio === 4) {
    let i = 0;
    for (;;) {
      const j = body.indexOf(0x1e, i);
      const p = utf8(body.subarray(i, j < 0 ? body.length : j));
      if (p === null) return stop('ambiguous'); // MicroPython's str() takes overlong forms and surrogates
      if (p[0] !== 'b') out.push(p);
      else {
        const b = bin(p.slice(1));
        if (!b) return stop('ambiguous'); // a2b_base64 skips characters outside the alphabet
        out.push(b);
      }
      if (j < 0) return { ps: out, stop: null };
      i = j + 1;
    }
  }
  const s = utf8(body);
  if (s === null) return stop('ambiguous');
  let i = 0;
  while (i < s.length) {
    const j = s.indexOf(':', i);
    if (j < 0) return stop('invalid');
    const f = s.slice(i, j);
    if (!PY_INT.test(f)) return stop('invalid');
    const v = BigInt(f.trim().replace(/_/g, ''));
    if (v < 0n) return stop('invalid'); // a negative length
    if (!/^[0-9]+$/.test(f)) return stop('ambiguous'); // ' 5', '+5', '5_0': Python's int() takes them
    if (v === 0n) return stop('ambiguous'); // engine.io-parser skips empty packets
    if (v > BigInt(s.length - j - 1)) return stop('invalid');
    const e = j + 1 + Number(v);
    const last = s.charCodeAt(e - 1);
    if (last >= 0xd800 && last <= 0xdbff) return stop('invalid'); // the length cuts a character in two
    const p = s.slice(j + 1, e);
    i = e;
    if (p[0] !== 'b') out.push(p);
    else {
      const b = p[1] === '4' ? bin(p.slice(2)) : null;
      if (!b) return stop('ambiguous');
      out.push(b);
    }
  }
  return { ps: out, stop: null };
}

interface Sio {
  t: number;
  nsp: string;
  id: bigint | null;
  data: unknown;
  n: number;
}

/** JSON text whose numbers JavaScript and MicroPython may read differently, or with escaped surrogates. */
const LOOSE_JSON = /[0-9]{16,}|[0-9][eE]|\.[0-9]{7,}|\\u[dD][89abAB]|"num"\s*:\s*-?[0-9]+[.eE]/;

/** A Socket.IO packet per the protocol and the official parser's checks. */
function decodeSio(s: string): Dec<Sio> {
  const t = s.length ? s.charCodeAt(0) - 48 : -1;
  if (!(t >= 0 && t <= 6)) return 'invalid';
  let j = 1;
  let n = 0;
  if (t > 4) {
    const k = s.indexOf('-');
    if (k <= 1) return 'invalid';
    const f = s.slice(1, k);
    if (!PY_INT.test(f)) return 'invalid';
    const v = BigInt(f.trim().replace(/_/g, ''));
    if (v < 0n || v > 10n) return 'invalid';
    if (!/^[0-9]+$/.test(f)) return 'ambiguous';
    n = Number(v);
    j = k + 1;
  }
  let nsp = '/';
  if (s[j] === '/') {
    let k = s.indexOf(',', j);
    if (k < 0) k = s.length;
    nsp = s.slice(j, k);
    j = k + 1;
  }
  let k = j;
  while (k < s.length && s[k]! >= '0' && s[k]! <= '9') k++;
  if (k - j > 20) return 'invalid'; // documented: no ack id has more digits (a scan on MicroPython is O(n²))
  const id = k > j ? BigInt(s.slice(j, k)) : null;
  const rest = s.slice(k);
  let data: unknown;
  if (rest.length) {
    if (/^\s/.test(rest) || LOOSE_JSON.test(rest)) return 'ambiguous';
    try {
      data = JSON.parse(rest);
    } catch {
      return 'ambiguous'; // MicroPython's json takes [1,] {"a" 1} 01 "\x" ...
    }
  }
  const obj = (x: unknown) => typeof x === 'object' && x !== null && !Array.isArray(x);
  if (data === null && (t === 0 || t === 1)) return 'ambiguous';
  const ok =
    t === 0 ? data === undefined || obj(data)
    : t === 1 ? data === undefined
    : t === 4 ? typeof data === 'string' || obj(data)
    : t === 2 || t === 5
      ? Array.isArray(data) && data.length > 0 && ((typeof data[0] === 'string' && !RESERVED.includes(data[0])) || typeof data[0] === 'number')
      : Array.isArray(data) && id !== null;
  return ok ? { ok: { t, nsp, id, data, n } } : 'invalid';
}

/** data with its placeholders replaced by atts; null if a placeholder is wrong. */
function reconstruct(data: unknown, atts: Buffer[]): unknown {
  const walk = (x: unknown): unknown => {
    if (Array.isArray(x)) return x.map(walk);
    if (typeof x === 'object' && x !== null) {
      const o = x as Record<string, unknown>;
      if (o._placeholder === true) {
        const num = o.num;
        if (typeof num !== 'number' || !Number.isInteger(num) || num < 0 || num >= atts.length) throw new Error('placeholder');
        return atts[num];
      }
      return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, walk(v)]));
    }
    return x;
  };
  try {
    return walk(data);
  } catch {
    return null;
  }
}

const hasBytes = (x: unknown): boolean =>
  Buffer.isBuffer(x) || (Array.isArray(x) ? x.some(hasBytes) : typeof x === 'object' && x !== null && Object.values(x).some(hasBytes));

/** Socket.IO packet -> Engine.IO message packets (text, then the attachments). */
function encodeSio(t: number, nsp: string, id: number | null, data: unknown): Pkt[] {
  const atts: Buffer[] = [];
  if ((t === 2 || t === 3) && hasBytes(data)) {
    t += 3;
    const walk = (x: unknown): unknown =>
      Buffer.isBuffer(x) ? { _placeholder: true, num: atts.push(x) - 1 }
      : Array.isArray(x) ? x.map(walk)
      : typeof x === 'object' && x !== null ? Object.fromEntries(Object.entries(x).map(([k, v]) => [k, walk(v)]))
      : x;
    data = walk(data);
  }
  let s = String(t);
  if (t > 4) s += `${atts.length}-`;
  if (nsp !== '/') s += `${nsp},`;
  if (id !== null) s += id;
  if (data !== undefined) s += JSON.stringify(data);
  return ['4' + s, ...atts];
}

/** Nesting depth as the driver counts it (each list or dict a level), without recursion. */
function depth(x: unknown): number {
  let d = 0;
  const todo: [unknown, number][] = [[x, 1]];
  while (todo.length) {
    const [v, n] = todo.pop()!;
    if (Buffer.isBuffer(v) || typeof v !== 'object' || v === null) continue;
    d = Math.max(d, n);
    for (const w of Array.isArray(v) ? v : Object.values(v)) todo.push([w, n + 1]);
  }
  return d;
}

/** Data as the driver reports it: bytes {$b: hex}, str {$s: hex of UTF-8}, too deep {$deep: n}. */
function tag(x: unknown): unknown {
  const d = depth(x);
  if (d > 60) return { $deep: d };
  const walk = (v: unknown): unknown =>
    Buffer.isBuffer(v) ? { $b: v.toString('hex') }
    : typeof v === 'string' ? { $s: Buffer.from(v, 'utf8').toString('hex') }
    : Array.isArray(v) ? v.map(walk)
    : typeof v === 'object' && v !== null ? Object.fromEntries(Object.entries(v).map(([k, w]) => [k, walk(w)]))
    : typeof v === 'bigint' ? Number(v)
    : v;
  return walk(x);
}

function same(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => Object.hasOwn(b, k) && same((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

const str = (hex: string) => Buffer.from(hex, 'hex').toString('utf8');
const S = (s: string) => ({ $s: Buffer.from(s, 'utf8').toString('hex') });

// ------------------------------------------------------------------------------ session cases

/** What the server sends: per polling GET a body (or a whole raw response), per WebSocket a frame. */
type Msg =
  | { kind: 'body'; body: Buffer; chunks: number[] | null }
  | { kind: 'http'; raw: Buffer }
  | { kind: 't' | 'b' | 'raw'; data: Buffer };

interface SessionCase {
  label: string;
  eio: 3 | 4;
  transport: 'polling' | 'websocket';
  reconnect: number; // 0: no reconnection, else reconnection_attempts
  rx: number | null; // bytes per socket read
  /** Where one allocation fails (the driver's out_of_memory): a Socket.IO decode, a polling packet, a WebSocket read. */
  oom?: 'sio' | 'poll' | 'ws';
  /** Whether the application calls close() once the script is played. */
  close?: boolean;
  sessions: Msg[][];
  max_size?: number; // the client's (65536 if not given)
}

type LogEntry = [string, ...unknown[]];

interface Expected {
  log: LogEntry[];
  /** False if something ambiguous came: then log is a prefix and only documented outcomes count. */
  determined: boolean;
  manager: 'opening' | 'open' | 'closed';
  /** Why the last Engine.IO session ended, if it ended on its own. */
  reason: string | null;
  /** Per session the client opened: pings answered and acks due while it was open ('3' + id + [n]). */
  sessions: { opened: boolean; pings: number; acks: string[]; connectSent: boolean; openAtEnd: boolean }[];
  /** Whether '/' is connected at the end: then the emit made before connecting must have gone
   *  out (a session lost before it was written sends it again once connected again). */
  connectedAtEnd: boolean;
}

const MANAGER = { opening: 1, open: 2, waiting: 3, closed: 4 } as const; // socketio_manager states
const DOCUMENTED = ['io server disconnect', 'io client disconnect', 'transport close', 'transport error', 'parse error', 'ping timeout'];

function handshake(p: string, eio: 3 | 4): 'valid' | 'invalid' | 'ambiguous' {
  const text = p.slice(1);
  if (LOOSE_JSON.test(text)) return 'ambiguous';
  let h: unknown;
  try {
    h = JSON.parse(text);
  } catch {
    return text.trim() === '' ? 'invalid' : 'ambiguous';
  }
  if (typeof h !== 'object' || h === null || Array.isArray(h)) return 'invalid';
  const o = h as Record<string, unknown>;
  if (typeof o.sid !== 'string') return 'invalid';
  const a = o.pingInterval;
  const b = o.pingTimeout;
  if (typeof a === 'boolean' || typeof b === 'boolean') return 'ambiguous';
  if (typeof a !== 'number' || typeof b !== 'number') return 'invalid';
  if (!Number.isInteger(a) || !Number.isInteger(b) || a < 0 || b < 0 || a > 1e9 || b > 1e9) return 'ambiguous';
  if ((eio === 4 ? a + b : a) < 10000) return 'ambiguous'; // the heartbeat would fire while the case runs
  const u = o.upgrades;
  if (u === true || (typeof u === 'number' && u !== 0)) return 'invalid';
  if (typeof u === 'string' || (typeof u === 'object' && u !== null && !Array.isArray(u))) return 'ambiguous';
  return 'valid';
}

/** The reference model: what a correct client does with the case's server. */
function expected(k: SessionCase): Expected {
  const log: LogEntry[] = [];
  const out: Expected = { log, determined: true, manager: 'opening', reason: null, sessions: [], connectedAtEnd: false };
  // (Cast: the closures below change them, which TypeScript's narrowing does not see.)
  let mgr = 'opening' as 'opening' | 'open' | 'waiting' | 'closed';
  let ns = 'disconnected' as 'disconnected' | 'connecting' | 'connected' | 'gone';
  let attempts = 0;
  let ack0: 'pending' | 'unknown' | 'done' = 'pending';
  let kept: { log: LogEntry; id: bigint | null; n: number }[] = [];
  let partial: { p: Sio; atts: Buffer[] } | null = null;
  const mayReconnect = () => k.reconnect > 0 && attempts < k.reconnect;
  class Ambiguous extends Error {}

  for (let i = 0; mgr === ('opening' as typeof mgr); i++) {
    const sess = { opened: false, pings: 0, acks: [] as string[], connectSent: false, openAtEnd: false };
    out.sessions.push(sess);
    out.reason = null;
    let engine = 'opening' as 'opening' | 'open' | 'closed';
    let sid = '';
    let ended: string | null = null;
    const over = () => engine === 'closed' || mgr === 'closed';
    const end = (why: string) => {
      engine = 'closed';
      ended = why;
    };
    const dispatchEvent = (p: Sio, data: unknown[]) => {
      if (p.nsp !== '/') return;
      const args = data.slice(1);
      const entry: LogEntry = ['event', tag(data[0]), tag(args)];
      if (ns === 'connecting') {
        if (kept.length >= 32) return end('parse error');
        kept.push({ log: entry, id: p.id, n: args.length });
      } else if (ns === 'connected') {
        log.push(entry);
        if (p.id !== null) sess.acks.push(`3${p.id}[${args.length}]`);
      }
    };
    const sio = (m: Pkt) => {
      let p: Sio;
      let atts: Buffer[] = [];
      if (partial) {
        if (typeof m === 'string') return end('parse error');
        partial.atts.push(m);
        if (partial.atts.length < partial.p.n) return;
        ({ p, atts } = partial);
        partial = null;
      } else {
        if (typeof m !== 'string') return end('parse error');
        const d = decodeSio(m);
        if (d === 'ambiguous') throw new Ambiguous();
        if (d === 'invalid') return end('parse error');
        p = d.ok;
        if (p.n) {
          partial = { p, atts };
          return;
        }
      }
      let data = p.data;
      if (p.t > 4) {
        data = reconstruct(data, atts);
        if (data === null) return end('parse error');
      }
      if (p.t === 2 || p.t === 5) return dispatchEvent(p, data as unknown[]);
      if (p.nsp !== '/') return;
      if (p.t === 0 && ns === 'connecting') {
        ns = 'connected';
        const d = data as Record<string, unknown> | undefined;
        log.push(['connect', tag(d === undefined ? sid : (d.sid ?? null))]); // the namespace's sid, else the session's
        for (const e of kept) {
          log.push(e.log);
          if (e.id !== null) sess.acks.push(`3${e.id}[${e.n}]`);
        }
        kept = [];
        out.connectedAtEnd = true;
      } else if (p.t === 4 && ns === 'connecting') {
        log.push(['connect_error', tag(data)]);
        ns = 'gone';
        mgr = 'closed';
      } else if (p.t === 1 && ns === 'connected') {
        log.push(['disconnect', 'io server disconnect']);
        ns = 'gone';
        mgr = 'closed';
      } else if ((p.t === 3 || p.t === 6) && ns === 'connected' && p.id === 0n) {
        if (ack0 === 'unknown') throw new Ambiguous(); // the emit may have been sent again, or not
        if (ack0 === 'pending') {
          log.push(['ack', tag(data)]);
          ack0 = 'done';
        }
      }
    };
    const packet = (p: Pkt) => {
      if (typeof p !== 'string') return engine === 'open' ? sio(p) : undefined;
      const t = p[0];
      if (t === '0') {
        const h = handshake(p, k.eio);
        if (h === 'ambiguous') throw new Ambiguous();
        if (h === 'invalid') return end('parse error');
        if (engine === 'opening') {
          engine = 'open';
          sid = (JSON.parse(p.slice(1)) as { sid: string }).sid;
          mgr = 'open';
          sess.opened = true;
          attempts = 0;
          if (ns === 'disconnected') {
            ns = 'connecting';
            sess.connectSent = k.eio === 4;
          }
        }
      } else if (t === '1') {
        if (engine === 'open') end('transport close');
      } else if (t === '2') {
        if (engine === 'open' && k.eio === 4) sess.pings++;
      } else if (t === '3' || t === '6') {
        // nothing
      } else if (t === '4') {
        if (engine === 'open') sio(p.slice(1));
      } else if (t === '5') throw new Ambiguous(); // an upgrade packet from the server
      else end('parse error');
    };

    try {
      if (i >= k.sessions.length) end('transport error'); // the server answers 503
      for (const m of k.sessions[i] ?? []) {
        if (over()) break;
        let ps: Pkt[];
        if (m.kind === 'http' || m.kind === 'raw') throw new Ambiguous();
        if (m.kind === 'body') {
          // Packet by packet: those before what is invalid or ambiguous are handled first.
          const d = streamPayload(m.body, k.eio);
          for (const p of d.ps) {
            if (over()) break;
            packet(p);
          }
          if (over()) break;
          if (d.stop === 'ambiguous') throw new Ambiguous();
          if (d.stop === 'invalid') {
            end('parse error');
            break;
          }
          ps = [];
        } else if (m.kind === 't') {
          const s = utf8(m.data);
          if (s === null) throw new Ambiguous(); // the WebSocket fails with 1007
          ps = [s];
        } else {
          if (k.eio === 3 && m.data[0] !== 4) throw new Ambiguous();
          ps = [k.eio === 3 ? m.data.subarray(1) : m.data];
        }
        for (const p of ps) {
          if (over()) break;
          packet(p);
        }
      }
    } catch (e) {
      if (!(e instanceof Ambiguous)) throw e;
      out.determined = false;
      return out;
    }
    if (mgr === 'closed') break; // the namespace left: the manager closed the session
    if (engine === 'opening') break; // the handshake never came: still opening
    if (engine === 'open') {
      sess.openAtEnd = true;
      break;
    }
    out.reason = ended;
    // The session ended on its own.
    if (mgr === 'opening') {
      log.push(['connect_error', tag(ended)]);
    } else {
      partial = null;
      if (ack0 === 'pending') ack0 = 'unknown';
      if (ns === 'connected') log.push(['disconnect', ended]);
      ns = 'disconnected';
      out.connectedAtEnd = false;
    }
    if (mayReconnect()) {
      attempts++;
      mgr = 'opening';
    } else mgr = 'closed';
  }
  out.manager = mgr === 'waiting' ? 'opening' : mgr;
  return out;
}

// ------------------------------------------------------------------------------ arbitraries

const key = fc.string({ unit: 'binary', maxLength: 6 }).filter((s) => !['$b', '$s', '$deep', '_placeholder', '__proto__'].includes(s));
const leaf: fc.Arbitrary<Json> = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 12 }),
  fc.integer({ min: -1_000_000, max: 1_000_000 }),
  fc.integer({ min: -8, max: 8 }).map((n) => n / 4),
  fc.boolean(),
  fc.constant(null),
  fc.uint8Array({ maxLength: 12 }).map((b) => Buffer.from(b)),
);
const json: fc.Arbitrary<Json> = fc.letrec<{ v: Json }>((tie) => ({
  v: fc.oneof({ depthSize: 'small' }, leaf, fc.array(tie('v'), { maxLength: 4 }), fc.dictionary(key, tie('v'), { maxKeys: 4 })),
})).v;
const eventName = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 8 }).filter((s) => !RESERVED.includes(s) && s !== '*'),
  fc.integer({ min: 0, max: 99 }),
);
const nspName = fc.constantFrom('/', '/', '/', '/chat', '/a-b');

/** One thing the server says in an open session, as Engine.IO packets. */
const serverItem: fc.Arbitrary<Pkt[]> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ nsp: nspName, id: fc.option(fc.nat({ max: 1000 }), { nil: null }), name: eventName, args: fc.array(json, { maxLength: 3 }) }).map((e) => encodeSio(2, e.nsp, e.id, [e.name, ...e.args])) },
  { weight: 1, arbitrary: fc.record({ id: fc.constantFrom(0, 0, 1, 7), args: fc.array(json, { maxLength: 2 }) }).map((a) => encodeSio(3, '/', a.id, a.args)) },
  { weight: 2, arbitrary: fc.constantFrom<Pkt[]>(['2'], ['3'], ['6'], ['2probe']) },
);

const handshakePacket = (sid: string, eio: 3 | 4, upgrades: string[]) =>
  '0' + JSON.stringify({ sid, upgrades, pingInterval: 25000, pingTimeout: 20000, ...(eio === 4 ? { maxPayload: 1000000 } : {}) });

const validSession = (eio: 3 | 4) =>
  fc.record({
    sid: fc.stringMatching(/^[A-Za-z0-9_-]{1,20}$/),
    nsid: fc.stringMatching(/^[A-Za-z0-9_-]{1,20}$/),
    upgrades: fc.constantFrom<string[]>([], ['websocket']),
    before: fc.array(serverItem, { maxLength: 2 }),
    answer: fc.constantFrom('connect', 'connect', 'connect', 'connect', 'refuse', 'none'),
    refusal: fc.oneof(fc.string({ maxLength: 10 }), fc.record({ message: fc.string({ maxLength: 10 }) })),
    items: fc.array(serverItem, { maxLength: 8 }),
    end: fc.constantFrom('none', 'none', 'close', 'disconnect'),
    groups: fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 6 }),
  }).map((r) => {
    const pkts: Pkt[] = [...r.before.flat()];
    if (r.answer === 'connect') pkts.push(...encodeSio(0, '/', null, eio === 4 ? { sid: r.nsid } : undefined));
    if (r.answer === 'refuse') pkts.push(...encodeSio(4, '/', null, r.refusal));
    pkts.push(...r.items.flat());
    if (r.end === 'close') pkts.push('1');
    if (r.end === 'disconnect') pkts.push(...encodeSio(1, '/', null, undefined));
    return { hs: handshakePacket(r.sid, eio, r.upgrades), pkts, groups: r.groups };
  });

type SessionSpec = { hs: string; pkts: Pkt[]; groups: number[] };

function toMsgs(s: SessionSpec, eio: 3 | 4, transport: string, chunked: number[] | null): Msg[] {
  const all = [s.hs, ...s.pkts];
  if (transport === 'websocket')
    return all.map((p): Msg => (typeof p === 'string' ? { kind: 't', data: Buffer.from(p, 'utf8') } : { kind: 'b', data: eio === 3 ? Buffer.concat([Buffer.from([4]), p]) : p }));
  const out: Msg[] = [{ kind: 'body', body: encodePayload([s.hs], eio), chunks: null }];
  let i = 0;
  let g = 0;
  while (i < s.pkts.length) {
    const n = s.groups[g++ % s.groups.length]!;
    out.push({ kind: 'body', body: encodePayload(s.pkts.slice(i, i + n), eio), chunks: chunked });
    i += n;
  }
  return out;
}

// Mutations.

// Bytes that mean something in the payload and packet formats, or are bad UTF-8.
const byteMut = byteMutations(fc.constantFrom(0x2d, 0x3a, 0x1e, 0x62, 0x2c, 0x2f, 0x5b, 0x7b, 0x22, 0x30, 0x39, 0x20, 0xff, 0xc0, 0xed), 8);

const placeholder = (num: string) => `{"_placeholder":true,"num":${num}}`;
// Nesting in the fuzz stays shallow enough that what the conservative GC may keep of it is
// small; deep nesting, to 5000 levels, has its own test.
const deepJson = fc.integer({ min: 2, max: 40 }).map((d) => '['.repeat(d) + ']'.repeat(d));

/** Hostile Engine.IO packets (sequences) to insert in a session. */
const hostilePackets: fc.Arbitrary<Pkt[]> = fc.oneof(
  // unknown or misplaced Engine.IO packet types, empty packets
  fc.constantFrom<Pkt[]>([''], ['7'], ['9x'], ['x'], ['5'], ['0'], ['0{}'], ['0{"sid":1}'], ['0[]'], ['8hello']),
  // random text in a message, and random Socket.IO packets
  fc.string({ unit: 'binary', maxLength: 40 }).map((s) => ['4' + s]),
  fc
    .record({
      t: fc.integer({ min: 0, max: 9 }),
      atts: fc.constantFrom('', '0-', '1-', '2-', '10-', '11-', '-1-', 'x-', '99999999999-', ' 1-', '1_0-'),
      nsp: fc.constantFrom('', '/,', '/chat,', '/x', '/,/'),
      id: fc.constantFrom('', '0', '7', '123456789012345678901234567890'),
      data: fc.oneof(
        fc.constantFrom('', '[]', '{}', '"x"', 'null', '1', '["connect"]', '["disconnect",1]', '[true]', '[1.5]', '[{}]', '["a"', '["a"]]', '[1,]', '{"a" 1}', '["\\ud83d"]'),
        fc.json().map((s) => s),
        deepJson.map((d) => `["e",${d}]`),
      ),
    })
    .map((r) => ['4' + r.t + (r.t >= 5 ? r.atts : '') + r.nsp + r.id + r.data]),
  // binary without a header, text amid attachments, attachments that never arrive
  fc.uint8Array({ maxLength: 20 }).map((b) => [Buffer.from(b)]),
  fc.constantFrom<Pkt[]>(
    ['452-["e",' + placeholder('0') + ',' + placeholder('1') + ']', Buffer.from('a'), '42["amid"]'],
    ['451-["e",' + placeholder('0') + ']'],
    ['451-["e",' + placeholder('0') + ']', '2', Buffer.from('late')],
  ),
  // wrong placeholders
  fc.constantFrom('1', '-1', '"0"', '0.5', 'null', 'true', '99', '1e0').map((n): Pkt[] => ['451-["e",' + placeholder(n) + ']', Buffer.from('x')]),
  // events while connecting beyond what is kept
  fc.constant<Pkt[]>(Array.from({ length: 40 }, (_, i) => `42["early",${i}]`)),
  // bogus base64 (a text packet that reads as a binary one in a polling payload)
  fc.constantFrom<Pkt[]>(['b!!!!'], ['bYQ'], ['b4YQ'], ['b'], ['b4****'], ['bA===']),
);

const packetMut = fc.record({
  pos: fc.nat(),
  op: fc.constantFrom('set', 'delete', 'insert', 'truncate', 'dup'),
  ch: fc.oneof(fc.constantFrom('0', '1', '4', '5', '9', '-', ',', '/', '[', ']', '{', '}', '"', ':', 'b', '\x1e', ' ', '😀', 'é'), fc.string({ unit: 'binary', minLength: 1, maxLength: 3 })),
});

function mutatePacket(s: string, m: { pos: number; op: string; ch: string }): string {
  const p = s.length ? m.pos % (s.length + 1) : 0;
  switch (m.op) {
    case 'set':
      return s.slice(0, p) + m.ch + s.slice(p + 1);
    case 'delete':
      return s.slice(0, p) + s.slice(p + 1 + (m.ch.length % 4));
    case 'insert':
      return s.slice(0, p) + m.ch + s.slice(p);
    case 'truncate':
      return s.slice(0, p);
    default:
      return s.slice(0, p + 3) + s.slice(p);
  }
}

const lengthValue = fc.constantFrom('99999999', '9'.repeat(30), '-3', '-1', '0', '', '+2', ' 2', '1_0', 'x', '2a', '1e1', '00');

const httpRaw = fc.oneof(
  fc.constantFrom('400 Bad Request', '500 Internal Server Error', '200 OK', '2000 OK', 'OK', '').map((st) => Buffer.from(`HTTP/1.1 ${st}\r\nContent-Length: 0\r\n\r\n`)),
  fc
    .record({ sizes: fc.array(fc.constantFrom('-6', '-1', '-4', '0x10', 'ffffffffffff', '', 'z', '1;ext=1', '1', '2', '3'), { minLength: 1, maxLength: 3 }), body: fc.string({ maxLength: 6 }) })
    .map((r) => Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n' + r.sizes.map((n) => `${n}\r\n${r.body}\r\n`).join('') + '0\r\n\r\n')),
  fc.constantFrom('Content-Length: -5', 'Content-Length: x', 'Content-Length: 99999999999999999999').map((h) => Buffer.from(`HTTP/1.1 200 OK\r\n${h}\r\n\r\n1:6`)),
  fc.uint8Array({ maxLength: 60 }).map((b) => Buffer.concat([Buffer.from(b), Buffer.from('\r\n\r\n')])),
);

type Mutation =
  | { lvl: 'insert'; session: number; at: number; pkts: Pkt[] }
  | { lvl: 'packet'; session: number; at: number; muts: { pos: number; op: string; ch: string }[] }
  | { lvl: 'bytes'; session: number; at: number; muts: ByteMut[] }
  | { lvl: 'length'; session: number; at: number; which: number; value: string }
  | { lvl: 'random'; session: number; at: number; data: Buffer }
  | { lvl: 'http'; session: number; at: number; raw: Buffer }
  | { lvl: 'handshake'; session: number; text: string };

const handshakeText = fc.oneof(
  fc.constantFrom(
    '{"sid":"s","upgrades":[],"pingInterval":1e400,"pingTimeout":5000}',
    '{"sid":"s","upgrades":[],"pingInterval":25000,"pingTimeout":-1e400}',
    '{"sid":"s","upgrades":[],"pingInterval":25000.5,"pingTimeout":20000}',
    '{"sid":"s","upgrades":[],"pingInterval":99999999999,"pingTimeout":20000}',
    '{"sid":"s","upgrades":[],"pingInterval":true,"pingTimeout":true}',
    '{"sid":"s","upgrades":5,"pingInterval":25000,"pingTimeout":20000}',
    '{"sid":"s","upgrades":"websocket","pingInterval":25000,"pingTimeout":20000}',
    '{"sid":["s"],"upgrades":[],"pingInterval":25000,"pingTimeout":20000}',
    '{"sid":"s","upgrades":[],"pingInterval":"25000","pingTimeout":20000}',
    '{"sid":"s","upgrades":[],"pingTimeout":20000}',
    '{"sid":"s"',
    '"s"',
    '',
  ),
  fc.json(),
);

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ lvl: fc.constant('insert' as const), session: fc.nat(2), at: fc.nat(), pkts: hostilePackets }) },
  { weight: 4, arbitrary: fc.record({ lvl: fc.constant('packet' as const), session: fc.nat(2), at: fc.nat(), muts: fc.array(packetMut, { minLength: 1, maxLength: 2 }) }) },
  { weight: 3, arbitrary: fc.record({ lvl: fc.constant('bytes' as const), session: fc.nat(2), at: fc.nat(), muts: fc.array(byteMut, { minLength: 1, maxLength: 3 }) }) },
  { weight: 2, arbitrary: fc.record({ lvl: fc.constant('length' as const), session: fc.nat(2), at: fc.nat(), which: fc.nat(), value: lengthValue }) },
  { weight: 1, arbitrary: fc.record({ lvl: fc.constant('random' as const), session: fc.nat(2), at: fc.nat(), data: fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)) }) },
  { weight: 1, arbitrary: fc.record({ lvl: fc.constant('http' as const), session: fc.nat(2), at: fc.nat(), raw: httpRaw }) },
  { weight: 1, arbitrary: fc.record({ lvl: fc.constant('handshake' as const), session: fc.nat(2), text: handshakeText }) },
);

/** Applies m to a valid case (whose sessions were built from specs). */
function applyMutation(k: SessionCase, specs: SessionSpec[], chunked: number[] | null, m: Mutation): SessionCase {
  const si = m.session % specs.length;
  const spec = { ...specs[si]!, pkts: [...specs[si]!.pkts] };
  let msgs: Msg[];
  const ws = k.transport === 'websocket';
  if (m.lvl === 'insert') {
    spec.pkts.splice(m.at % (spec.pkts.length + 1), 0, ...m.pkts);
    msgs = toMsgs(spec, k.eio, k.transport, chunked);
  } else if (m.lvl === 'packet') {
    const texts = spec.pkts.map((p, i) => [p, i] as const).filter(([p]) => typeof p === 'string');
    if (texts.length) {
      const i = texts[m.at % texts.length]![1];
      let s = spec.pkts[i] as string;
      for (const x of m.muts) s = mutatePacket(s, x);
      spec.pkts[i] = s;
    }
    msgs = toMsgs(spec, k.eio, k.transport, chunked);
  } else if (m.lvl === 'handshake') {
    spec.hs = '0' + m.text;
    msgs = toMsgs(spec, k.eio, k.transport, chunked);
  } else {
    msgs = toMsgs(spec, k.eio, k.transport, chunked);
    const at = 1 + (m.at % Math.max(1, msgs.length - 1)); // not the handshake
    const old = msgs[Math.min(at, msgs.length - 1)]!;
    const idx = msgs.indexOf(old);
    const bodyOf = (x: Msg) => (x.kind === 'body' ? x.body : x.kind === 'http' ? x.raw : x.data);
    if (m.lvl === 'bytes') {
      let b = bodyOf(old);
      for (const x of m.muts) b = mutate(b, x);
      msgs[idx] = old.kind === 'body' ? { ...old, body: b } : old.kind === 'http' ? { kind: 'http', raw: b } : { kind: old.kind, data: b };
    } else if (m.lvl === 'random') {
      msgs[idx] = ws ? { kind: 't', data: m.data } : { kind: 'body', body: m.data, chunks: null };
    } else if (m.lvl === 'http') {
      msgs[idx] = ws ? { kind: 'raw', data: m.raw } : { kind: 'http', raw: m.raw };
    } else if (m.lvl === 'length') {
      if (old.kind === 'body' && k.eio === 3) {
        const d = decodePayload(old.body, 3);
        if (d !== 'invalid' && d !== 'ambiguous') {
          const parts = d.ok.map((p) => encodePayload([p], 3).toString('utf8'));
          const w = m.which % parts.length;
          parts[w] = m.value + parts[w]!.slice(parts[w]!.indexOf(':'));
          msgs[idx] = { ...old, body: Buffer.from(parts.join(''), 'utf8') };
        }
      } else if (old.kind === 'body') {
        // protocol 4: duplicated and stray separators
        const s = old.body.toString('utf8');
        const i = m.which % (s.length + 1);
        msgs[idx] = { ...old, body: Buffer.from(s.slice(0, i) + '\x1e' + (m.value === '' ? '\x1e' : '') + s.slice(i), 'utf8') };
      }
    }
  }
  const sessions = [...k.sessions];
  sessions[si] = msgs;
  return { ...k, sessions, label: m.lvl };
}

/** A session case: valid, or (with mutations) a valid one with one mutation in 4 of 5. */
const sessionCase = (mutations: boolean) =>
  fc
    .record({
      eio: fc.constantFrom<3 | 4>(3, 4),
      transport: fc.constantFrom<'polling' | 'websocket'>('polling', 'polling', 'websocket'),
      reconnect: fc.constantFrom(0, 0, 1, 2, 3),
      rx: fc.constantFrom(null, null, 7, 64, 200),
      chunked: fc.option(fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 4 }), { nil: null, freq: 4 }),
      n: fc.integer({ min: 1, max: 3 }),
    })
    .chain((r) =>
      fc.record({
        r: fc.constant(r),
        specs: fc.array(validSession(r.eio), { minLength: r.n, maxLength: r.n }),
        mut: mutations ? fc.option(mutation, { nil: undefined, freq: 5 }) : fc.constant(undefined),
      }),
    )
    .map(({ r, specs, mut }) => {
      const k: SessionCase = { label: 'valid', eio: r.eio, transport: r.transport, reconnect: r.reconnect, rx: r.rx, sessions: specs.map((s) => toMsgs(s, r.eio, r.transport, r.chunked)) };
      return mut ? applyMutation(k, specs, r.chunked, mut) : k;
    });
const specCase = sessionCase(true);

// ------------------------------------------------------------------------------ checks

type Row = unknown[];
const hex = (b: Buffer) => b.toString('hex');

function wire(k: SessionCase) {
  return {
    eio: k.eio,
    transport: k.transport,
    reconnect: k.reconnect,
    rx: k.rx,
    max_size: k.max_size,
    oom: k.oom,
    close: k.close,
    sessions: k.sessions.map((s) =>
      s.map((m) => (m.kind === 'body' ? ['body', hex(m.body), m.chunks] : m.kind === 'http' ? ['http', hex(m.raw)] : [m.kind, hex(m.data)])),
    ),
  };
}

function untagLog(x: unknown): unknown {
  if (Array.isArray(x)) return x.map(untagLog);
  if (typeof x === 'object' && x !== null) {
    const o = x as Record<string, unknown>;
    if (Object.keys(o).length === 1 && typeof o.$s === 'string') return str(o.$s);
    return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, untagLog(v)]));
  }
  return x;
}

/** The client's packets of one session, from its POST bodies or WebSocket frames. */
function clientPackets(k: SessionCase, sent: [string, string][]): Pkt[] | null {
  const out: Pkt[] = [];
  for (const [kind, h] of sent) {
    const b = Buffer.from(h, 'hex');
    if (kind === 'post') {
      const d = decodePayload(b, k.eio);
      if (d === 'invalid' || d === 'ambiguous') return null;
      out.push(...d.ok);
    } else out.push(kind === 's' ? b.toString('utf8') : b);
  }
  return out;
}

function sessionViolations(k: SessionCase, r: Row): [string, string][] {
  const v: [string, string][] = [];
  const bad = (kind: string, detail = '') => v.push([kind, detail]);
  if (r[0] === 'hang') return [['hang: a case ran for over ' + HANG_MS + ' ms', '']];
  if (r[0] === 'driver') return [['driver failed', String(r[1])]];
  const [log, errors, sent, state, reason, , steps] = r as [LogEntry[], string[], [string, string][][], number, string | null, number, number];
  for (const e of errors) bad('exception escaped Client.step()', e);
  if ((steps as number) >= 400) bad('no quiescence after 400 steps');
  const x = expected(k);
  for (const e of log) {
    if (e[0] === 'disconnect' && !DOCUMENTED.includes(e[1] as string)) bad('undocumented disconnect reason', String(e[1]));
    if (!['connect', 'disconnect', 'connect_error', 'event', 'ack'].includes(e[0])) bad('unknown log entry', e[0]);
  }
  if (reason !== null && !DOCUMENTED.includes(reason)) bad('undocumented engine.reason', reason);
  const want = JSON.stringify(untagLog(x.log));
  const got = JSON.stringify(untagLog(x.determined ? log : log.slice(0, x.log.length)));
  if (!same(untagLog(x.determined ? log : log.slice(0, x.log.length)), untagLog(x.log)))
    bad(x.determined ? 'valid input handled wrongly (handler calls)' : 'handler calls before the first ambiguous input differ', `want ${want}\n    got  ${got}`);
  if (!x.determined) return v;
  if (state !== MANAGER[x.manager]) bad(`manager state ${state}, want ${x.manager}`);
  if (x.reason && x.manager !== 'open' && reason !== x.reason) bad(`engine.reason ${reason}, want ${x.reason}`);
  let hello = 0;
  x.sessions.forEach((s, i) => {
    const ps = clientPackets(k, (sent[i] ?? []) as [string, string][]);
    if (ps === null) return bad('the client sent a malformed payload');
    const sio = ps.filter((p): p is string => typeof p === 'string' && p[0] === '4').map((p) => p.slice(1));
    hello += sio.filter((p) => /^20\[\s*"hello"\s*,\s*1\s*\]$/.test(p)).length;
    if (s.connectSent && sio[0] !== '0') bad('no CONNECT first in a session', JSON.stringify(sio));
    if (!s.openAtEnd) return;
    const pongs = ps.filter((p) => p === '3').length;
    // Every ping is answered, but a pong still waiting to be sent (a POST is out) answers the
    // pings that come meanwhile: a server that pings faster than a POST goes cannot fill the buffer.
    if (pongs > s.pings || (s.pings > 0 && pongs === 0) || (k.transport === 'websocket' && pongs !== s.pings)) bad(`${pongs} pongs for ${s.pings} pings`);
    const acks = sio.filter((p) => p[0] === '3').map((p) => p.replace(/\s/g, ''));
    if (JSON.stringify(acks) !== JSON.stringify(s.acks)) bad('acks sent differ', `want ${JSON.stringify(s.acks)} got ${JSON.stringify(acks)}`);
  });
  if (hello > 1) bad('an emit was sent twice');
  if (x.connectedAtEnd && x.manager === 'open' && x.sessions.at(-1)?.openAtEnd && hello !== 1 && k.eio === 4) bad('an emit made before connecting was never sent');
  return v;
}

// Decoder-level cases.

type Unit = unknown[];
const pktWire = (p: Pkt) => (typeof p === 'string' ? ['s', Buffer.from(p, 'utf8').toString('hex')] : ['b', hex(p)]);
const PAYLOAD_RAISES = ['ValueError', 'UnicodeError', 'Exception'];

function unitViolations(u: Unit, r: Row): [string, string][] {
  const v: [string, string][] = [];
  const bad = (kind: string, detail = '') => v.push([kind, `${detail}\n    case ${JSON.stringify(u).slice(0, 600)}\n    result ${JSON.stringify(r).slice(0, 600)}`]);
  if (r[0] === 'hang') return [[`hang: ${u[0]} ran for over ${HANG_MS} ms`, JSON.stringify(u).slice(0, 300)]];
  if (r[0] === 'driver') return [['driver failed', String(r[1])]];
  const samePkts = (got: string[][], want: Pkt[]) => JSON.stringify(got) === JSON.stringify(want.map(pktWire));
  if (u[0] === 'pdec') {
    const body = Buffer.from(u[1] as string, 'hex');
    const ref = decodePayload(body, u[2] as 3 | 4);
    if (r[0] === 'raise' && !PAYLOAD_RAISES.includes(r[1] as string)) bad(`polling.decode raised ${r[1]}`);
    if (ref === 'invalid' && r[0] !== 'raise') bad('polling.decode accepted an invalid payload');
    if (typeof ref === 'object' && (r[0] !== 'ok' || !samePkts(r[1] as string[][], ref.ok))) bad('polling.decode got a valid payload wrong', `want ${JSON.stringify(ref.ok.map(pktWire))}`);
  } else if (u[0] === 'penc') {
    const ps = (u[1] as string[][]).map(([t, h]) => (t === 's' ? str(h!) : Buffer.from(h!, 'hex')));
    const want = encodePayload(ps, u[2] as 3 | 4);
    if (r[1] !== hex(want)) bad('polling.encode differs from the protocol', `want ${hex(want)}`);
    if (!Array.isArray(r[2]) || !samePkts(r[2] as string[][], ps)) bad('decode(encode(packets)) != packets');
  } else if (u[0] === 'sdec') {
    const ref = decodeSio(str(u[1] as string));
    if (r[0] === 'raise' && !['ValueError', 'UnicodeError'].includes(r[1] as string)) bad(`client.decode raised ${r[1]}`);
    if (ref === 'invalid' && r[0] !== 'raise') bad('client.decode accepted an invalid packet');
    if (typeof ref === 'object') {
      if (r[0] !== 'ok') bad('client.decode refused a valid packet');
      else {
        const [t, nsp, id, data, n, attsType, attsLen] = r[1] as [number, string, number | null, string, number, string, number];
        const want = { t: ref.ok.t, nsp: ref.ok.nsp, id: ref.ok.id === null ? null : Number(ref.ok.id), data: tag(ref.ok.data === undefined ? null : ref.ok.data), n: ref.ok.n };
        const got = { t, nsp, id, data: JSON.parse(data), n };
        if (!same(untagLog(got), untagLog(want))) bad('client.decode got a valid packet wrong', `want ${JSON.stringify(want)}`);
        if (!(n ? attsType === 'list' : attsType === 'tuple') || attsLen !== 0) bad('attachments are not an empty list (binary) or ()');
      }
    }
  } else if (u[0] === 'bin') {
    const [ok, same_, order, natts, unchanged, allBytes] = r as [string, boolean, number[], number, boolean, boolean];
    const count = (x: unknown): number => (Buffer.isBuffer(x) ? 1 : Array.isArray(x) ? x.reduce<number>((a, y) => a + count(y), 0) : typeof x === 'object' && x !== null ? Object.values(x).reduce<number>((a, y) => a + count(y), 0) : 0);
    const n = count(fromTagged(u[1]));
    if (ok !== 'ok') bad('deconstruct/reconstruct raised');
    if (!same_) bad('reconstruct(json round trip of deconstruct(x)) != x');
    if (natts !== n) bad(`${natts} attachments for ${n} bytes values`);
    if (JSON.stringify(order) !== JSON.stringify([...Array(n).keys()])) bad('placeholders not numbered in document order', JSON.stringify(order));
    if (!unchanged) bad('deconstruct changed its argument');
    if (!allBytes) bad('an attachment is not bytes');
  } else if (u[0] === 'recon') {
    const data = JSON.parse(u[1] as string) as unknown;
    const atts = Array.from({ length: u[2] as number }, (_, j) => Buffer.from([65 + j]));
    const want = LOOSE_JSON.test(u[1] as string) ? undefined : reconstruct(data, atts);
    if (r[0] === 'raise' && r[1] !== 'ValueError') bad(`reconstruct raised ${r[1]}`);
    if (want === null && r[0] !== 'raise') bad('reconstruct accepted a wrong placeholder');
    if (want !== null && want !== undefined && (r[0] !== 'ok' || !same(untagLog(JSON.parse(r[1] as string)), untagLog(tag(want))))) bad('reconstruct got valid placeholders wrong');
  } else if (u[0] === 'deep') {
    const [, ok, got] = r as [string, boolean, unknown[]];
    const n = u[1] as number;
    if (!ok) bad('deep data: reconstruct(deconstruct(x)) != x');
    // ['deep', x]: x is n levels (and a placeholder, a dict, at the bottom of the binary one)
    const want = n <= 60 ? [5, n + 2, 1] : [2, n + 1, 0];
    if (JSON.stringify(got) !== JSON.stringify(want)) bad('deeply nested packet decoded wrongly', `want ${JSON.stringify(want)}`);
  }
  return v;
}

function fromTagged(x: unknown): unknown {
  if (Array.isArray(x)) return x.map(fromTagged);
  if (typeof x === 'object' && x !== null) {
    const o = x as Record<string, unknown>;
    if (Object.keys(o).length === 1 && typeof o.$b === 'string') return Buffer.from(o.$b, 'hex');
    return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, fromTagged(v)]));
  }
  return x;
}

const toTagged = (x: Json): unknown =>
  Buffer.isBuffer(x) ? { $b: hex(x) } : Array.isArray(x) ? x.map(toTagged) : typeof x === 'object' && x !== null ? Object.fromEntries(Object.entries(x).map(([k, v]) => [k, toTagged(v)])) : x;

const v4Packet = fc.oneof(
  fc.tuple(fc.constantFrom('0', '1', '2', '3', '4', '5', '6'), fc.string({ unit: 'binary', maxLength: 30 })).map(([t, s]) => t + s.replace(/\x1e/g, '')),
  fc.uint8Array({ maxLength: 30 }).map((b) => Buffer.from(b)),
);
const v3Packet = fc.oneof(
  fc.tuple(fc.constantFrom('0', '1', '2', '3', '4', '5', '6'), fc.string({ unit: 'binary', maxLength: 30 })).map(([t, s]) => t + s),
  fc.uint8Array({ maxLength: 30 }).map((b) => Buffer.from(b)),
);
const packets = fc.oneof(
  fc.record({ eio: fc.constant<3 | 4>(4), ps: fc.array(v4Packet, { minLength: 1, maxLength: 6 }) }),
  fc.record({ eio: fc.constant<3 | 4>(3), ps: fc.array(v3Packet, { minLength: 1, maxLength: 6 }) }),
);

const sioValid = fc
  .record({
    t: fc.constantFrom(0, 1, 2, 3, 4),
    nsp: nspName,
    id: fc.option(fc.nat({ max: 2 ** 31 - 1 }), { nil: null }),
    name: eventName,
    args: fc.array(json, { maxLength: 3 }),
    refusal: fc.oneof(fc.string({ unit: 'binary', maxLength: 10 }), fc.dictionary(key, json, { maxKeys: 2 })),
    sid: fc.option(fc.string({ maxLength: 8 }), { nil: undefined }),
  })
  .map((r) => {
    const data = r.t === 0 ? (r.sid === undefined ? undefined : { sid: r.sid }) : r.t === 1 ? undefined : r.t === 4 ? r.refusal : r.t === 2 ? [r.name, ...r.args] : r.args;
    const id = r.t === 2 || r.t === 3 ? (r.t === 3 ? (r.id ?? 0) : r.id) : null;
    return encodeSio(r.t, r.nsp, id, data)[0] as string;
  })
  // the text as the client gets it (attachments left out: the header says how many follow)
  .map((s) => s.slice(1));

/** Decoder cases on valid input only (the warm-up and the probe: they must not hang). */
const validUnitCase: fc.Arbitrary<Unit> = fc.oneof(
  packets.map((r): Unit => ['penc', r.ps.map(pktWire), r.eio]),
  packets.map((r): Unit => ['pdec', hex(encodePayload(r.ps, r.eio)), r.eio]),
  sioValid.map((s): Unit => ['sdec', hex(Buffer.from(s, 'utf8'))]),
  json.map((x): Unit => ['bin', toTagged(x)]),
);

const unitCase: fc.Arbitrary<Unit> = fc.oneof(
  // payloads: round trips, then the decoder on valid, mutated and random bodies
  packets.map((r): Unit => ['penc', r.ps.map(pktWire), r.eio]),
  packets.map((r): Unit => ['pdec', hex(encodePayload(r.ps, r.eio)), r.eio]),
  fc.record({ r: packets, muts: fc.array(byteMut, { minLength: 1, maxLength: 3 }) }).map(({ r, muts }): Unit => ['pdec', hex(muts.reduce(mutate, encodePayload(r.ps, r.eio))), r.eio]),
  fc.record({ r: packets, which: fc.nat(), value: lengthValue }).map(({ r, which, value }): Unit => {
    const parts = r.ps.map((p) => encodePayload([p], 3).toString('utf8'));
    const w = which % parts.length;
    parts[w] = value + parts[w]!.slice(parts[w]!.indexOf(':'));
    return ['pdec', hex(Buffer.from(parts.join(''), 'utf8')), 3];
  }),
  fc.record({ b: fc.uint8Array({ maxLength: 80 }), eio: fc.constantFrom<3 | 4>(3, 4) }).map(({ b, eio }): Unit => ['pdec', hex(Buffer.from(b)), eio]),
  fc.record({ s: fc.string({ unit: 'binary', maxLength: 40 }), eio: fc.constantFrom<3 | 4>(3, 4) }).map(({ s, eio }): Unit => ['pdec', hex(Buffer.from(s, 'utf8')), eio]),
  // Socket.IO packets: valid, mutated, hostile
  sioValid.map((s): Unit => ['sdec', hex(Buffer.from(s, 'utf8'))]),
  fc.record({ s: sioValid, muts: fc.array(packetMut, { minLength: 1, maxLength: 3 }) }).map(({ s, muts }): Unit => ['sdec', hex(Buffer.from(muts.reduce(mutatePacket, s), 'utf8'))]),
  hostilePackets.map((ps): Unit => {
    const p = ps.find((x): x is string => typeof x === 'string') ?? '';
    return ['sdec', hex(Buffer.from(p.startsWith('4') ? p.slice(1) : p, 'utf8'))];
  }),
  // binary: round trips and hostile placeholders
  json.map((x): Unit => ['bin', toTagged(x)]),
  fc.record({ x: json, natts: fc.nat(3), ph: fc.array(fc.oneof(fc.integer({ min: -2, max: 5 }).map(String), fc.constantFrom('"0"', '0.5', 'null', 'true', '[0]', '{}')), { maxLength: 3 }) }).map(({ x, natts, ph }): Unit => {
    const base = JSON.stringify(toTagged(x) ?? null);
    return ['recon', `[${[base, ...ph.map((n) => placeholder(n))].join(',')}]`, natts];
  }),
);

// ------------------------------------------------------------------------------ the VM

interface Heap {
  alloc: number;
  qstrs: number;
  qstrBytes: number;
}

class Vm {
  dev!: SimDevice;
  private last = 0;
  private mark = -1;
  private qinfo = '';
  private capture: string | null = null;
  /** Per device, the qstrs there were after the warm-up. */
  private firstQstrs: Set<string>[] = [];
  readonly addedQstrs = new Set<string>();
  /** Heap after the probe, per device (a hang replaces the device). */
  readonly heaps: Heap[][] = [];
  boots = 0;
  hangs = 0;
  private booting = false;

  async boot(): Promise<void> {
    this.boots++;
    this.dev = await SimDevice.boot({
      files: { ...projectFiles(ROOT), '/lib/sio_hostile_driver.py': fs.readFileSync(path.join(ROOT, 'test/support/py/sio_hostile_driver.py'), 'utf8') },
      stdout: (t) => {
        for (const m of t.matchAll(/@(\d+)/g)) this.mark = Number(m[1]);
        if (this.capture !== null) this.capture += t;
        else if (t.includes('qstr pool')) this.qinfo = t;
        this.last = Date.now();
      },
    });
    // What the runtime imports on demand stays once loaded: load it before the baseline.
    await this.dev.exec(
      'import gc, json, micropython\nfrom sio_hostile_driver import session_batch, unit_batch\n' +
        'import usocketio.client, usocketio.session, usocketio.engine, usocketio.polling, usocketio.transport, usocketio.closing, usocketio.ending, usocketio.binary, uwebsockets.client, uwebsockets.closing, uwebsockets.utf8',
    );
    // Warm-up, unchecked: every lazily imported module loaded, every name interned once.
    // Warm-up, unchecked, of valid input (a hang here, or in the probe, cannot be skipped).
    this.booting = true;
    await this.run('unit_batch', fc.sample(validUnitCase, { numRuns: 40, seed: 1 }), false);
    await this.run('session_batch', fc.sample(sessionCase(false), { numRuns: 20, seed: 1 }), false);
    this.heaps.push([]);
    await this.probe();
    this.booting = false;
    this.firstQstrs.push(new Set(await this.qstrList()));
  }

  /** Every interned string (micropython.qstr_info(1) lists them as Q(...)). */
  async qstrList(): Promise<string[]> {
    this.capture = '';
    await this.dev.exec('micropython.qstr_info(1)');
    const out = this.capture;
    this.capture = null;
    return [...out.matchAll(/^Q\((.*)\)$/gm)].map((m) => m[1]!);
  }

  /** Notes the qstrs added on this device since its warm-up. */
  async noteQstrs(): Promise<void> {
    const first = this.firstQstrs.at(-1);
    if (!first) return;
    for (const q of await this.qstrList()) if (!first.has(q)) this.addedQstrs.add(q);
  }

  /** Heap in use, collected, and the qstrs (interned strings, in pools on the heap). */
  async heap(): Promise<Heap> {
    await this.dev.exec('gc.collect()');
    const alloc = await this.dev.eval<number>('gc.mem_alloc()');
    this.qinfo = '';
    await this.dev.exec('micropython.qstr_info()');
    const q = /n_qstr=(\d+).*n_total_bytes=(\d+)/.exec(this.qinfo);
    return { alloc, qstrs: Number(q?.[1]), qstrBytes: Number(q?.[2]) };
  }

  /** The heap after the probe batches (fixed cases). */
  async probe(): Promise<void> {
    const booting = this.booting;
    this.booting = true;
    await this.run('unit_batch', PROBE_UNITS, false);
    await this.run('session_batch', PROBE_SESSIONS, false);
    this.booting = booting;
    this.heaps.at(-1)!.push(await this.heap());
  }

  /** Runs cases in one exec per batch; a case that hangs gets ['hang'] and the VM is replaced. */
  async run(fn: 'unit_batch' | 'session_batch', cases: unknown[], probe = true): Promise<Row[]> {
    const out: Row[] = [];
    let start = 0;
    while (start < cases.length) {
      const part = cases.slice(start).map((c) => (fn === 'session_batch' ? wire(c as SessionCase) : c));
      await this.dev.writeFile('/batch.json', JSON.stringify(part));
      this.mark = -1;
      this.last = Date.now();
      const done = this.dev.exec(`RES = ${fn}('/batch.json')`).then(
        () => true,
        (e: unknown) => e,
      );
      let r: unknown;
      for (;;) {
        r = await Promise.race([done, new Promise((res) => setTimeout(() => res('tick'), 50))]);
        if (r !== 'tick' || Date.now() - this.last > HANG_MS) break;
      }
      if (r === true) {
        out.push(...(JSON.parse(await this.dev.eval<string>('json.dumps(RES)')) as Row[]));
        await this.dev.exec('RES = None\ngc.collect()');
        break;
      }
      if (r !== 'tick') throw r;
      if (this.booting) throw new Error(`valid input hangs the VM (a warm-up or probe case): ${JSON.stringify(part[Math.max(0, this.mark)]).slice(0, 2000)}`);
      // Hung in case `mark` of this part. The VM cannot be interrupted: it is replaced. The cases
      // before the hung one finished, but their results went with the VM: they are run again.
      this.hangs++;
      const hung = Math.max(0, this.mark);
      for (let i = 0; i < hung; i++) out.push(['redo']);
      out.push(['hang']);
      start += hung + 1;
      await this.dev.close(); // (its qstrs cannot be listed: it is busy for ever)
      await this.boot();
    }
    if (probe) await this.probe();
    return out;
  }

  /** Runs cases, and again (on the replacement VM) those whose results a hang took with it. */
  async runAll(fn: 'unit_batch' | 'session_batch', cases: unknown[], probe = true): Promise<Row[]> {
    const res = await this.run(fn, cases, probe);
    const redo = res.map((r, i) => (r[0] === 'redo' ? i : -1)).filter((i) => i >= 0);
    if (redo.length) {
      const again = await this.runAll(fn, redo.map((i) => cases[i]), probe);
      redo.forEach((i, j) => (res[i] = again[j]!));
    }
    return res;
  }

  /** Growth over the run, per device, of the heap less the qstr pools, and of the qstrs. */
  growth(): { alloc: number; heap: number; qstrs: number; qstrBytes: number } {
    const g = (f: (h: Heap) => number) => Math.max(0, ...this.heaps.filter((h) => h.length).map((h) => Math.max(...h.map(f)) - f(h[0]!)));
    return { alloc: g((h) => h.alloc), heap: g((h) => h.alloc - h.qstrBytes), qstrs: g((h) => h.qstrs), qstrBytes: g((h) => h.qstrBytes) };
  }

  describeHeaps(): string {
    return this.heaps.map((hs) => hs.map((h) => `${h.alloc - h.qstrBytes}+${h.qstrBytes}q`).join(' ')).join(' | ');
  }
}

let PROBE_UNITS: unknown[] = [];
let PROBE_SESSIONS: SessionCase[] = [];


// Deterministic cases.

const hs4 = handshakePacket('S1', 4, []);
const hs3 = handshakePacket('S1', 3, []);
const spec = (hs: string, pkts: Pkt[], groups = [2]): SessionSpec => ({ hs, pkts, groups });
const story = (label: string, eio: 3 | 4, transport: 'polling' | 'websocket', reconnect: number, specs: SessionSpec[]): SessionCase => ({
  label,
  eio,
  transport,
  reconnect,
  rx: null,
  sessions: specs.map((s) => toMsgs(s, eio, transport, null)),
});
const ph = (n: number) => ({ _placeholder: true, num: n });

const STORIES: [SessionCase, LogEntry[]][] = (['polling', 'websocket'] as const).flatMap((transport) =>
  ([4, 3] as const).map((eio): [SessionCase, LogEntry[]] => [
    story(`${transport} v${eio}: events, ack, binary event, emoji, ping`, eio, transport, 0, [
      spec(eio === 4 ? hs4 : hs3, [
        ...encodeSio(0, '/', null, eio === 4 ? { sid: 'N1' } : undefined),
        ...encodeSio(2, '/', null, ['a', 1, 'é😀', { k: '😀' }]),
        '2',
        ...encodeSio(3, '/', 0, ['ok']),
        ...encodeSio(2, '/', 5, ['b', Buffer.from('xyz'), { n: [Buffer.from([0, 255])] }]),
      ]),
    ]),
    [
      ['connect', eio === 4 ? 'N1' : 'S1'],
      ['event', 'a', [1, 'é😀', { k: '😀' }]],
      ['ack', ['ok']],
      ['event', 'b', [{ $b: '78797a' }, { n: [{ $b: '00ff' }] }]],
    ],
  ]),
);

STORIES.push(
  [
    story('a binary packet cut short by the end of the session does not spoil the next one', 4, 'polling', 1, [
      spec(hs4, [...encodeSio(0, '/', null, { sid: 'N1' }), '451-["x",' + JSON.stringify(ph(0)) + ']', '1']),
      spec(hs4, [...encodeSio(0, '/', null, { sid: 'N2' }), ...encodeSio(2, '/', null, ['after'])]),
    ]),
    [['connect', 'N1'], ['disconnect', 'transport close'], ['connect', 'N2'], ['event', 'after', []]],
  ],
  [
    story('a parse error ends the session; the client reconnects', 4, 'polling', 2, [
      spec(hs4, [...encodeSio(0, '/', null, { sid: 'N1' }), '4x', ...encodeSio(2, '/', null, ['lost'])]),
      spec(hs4, [...encodeSio(0, '/', null, { sid: 'N2' }), ...encodeSio(2, '/', null, ['ok'])]),
    ]),
    [['connect', 'N1'], ['disconnect', 'parse error'], ['connect', 'N2'], ['event', 'ok', []]],
  ],
  [
    story('text amid attachments is a parse error; without reconnection the client closes', 4, 'websocket', 0, [
      spec(hs4, [...encodeSio(0, '/', null, { sid: 'N1' }), '452-["x",' + JSON.stringify(ph(0)) + ',' + JSON.stringify(ph(1)) + ']', Buffer.from('a'), '42["amid"]']),
    ]),
    [['connect', 'N1'], ['disconnect', 'parse error']],
  ],
);

/** Minimal reproductions of runtime bugs found by the fuzz: they assert the correct behaviour. */
const REGRESSIONS: { name: string; k: SessionCase; check: (r: Row) => string[] }[] = [
  {
    name: 'a chunked GET response with chunk size -6 ends the session (transport error), no hang',
    k: {
      label: 'http',
      eio: 4,
      transport: 'polling',
      reconnect: 0,
      rx: null,
      sessions: [[{ kind: 'body', body: encodePayload([hs4], 4), chunks: null }, { kind: 'http', raw: Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-6\r\nxx\r\n0\r\n\r\n') }]],
    },
    check: (r) => (r[0] === 'hang' ? ['hangs'] : r[4] === 'transport error' ? [] : [`engine.reason ${String(r[4])}`]),
  },
  {
    name: 'an open packet with pingInterval 1e400 raises nothing out of step()',
    k: story('handshake', 4, 'polling', 0, [spec('0{"sid":"s","upgrades":[],"pingInterval":1e400,"pingTimeout":5000}', [])]),
    check: (r) => (r[0] === 'hang' ? ['hangs'] : (r[1] as string[]).map((e) => `step() raised ${e}`)),
  },
  {
    name: 'packets after a malformed one in the same payload do not change why the session ended (engine.reason)',
    k: story('reason', 4, 'polling', 0, [spec(hs4, [...encodeSio(0, '/', null, { sid: 'N1' }), 'x', '1'], [3])]),
    check: (r) => {
      const log = untagLog(r[0]) as LogEntry[];
      const want = [['connect', 'N1'], ['disconnect', 'parse error']];
      return [...(same(log, want) ? [] : [`handler calls ${JSON.stringify(log)}, want ${JSON.stringify(want)}`]), ...(r[4] === 'parse error' ? [] : [`engine.reason ${String(r[4])}, want parse error`])];
    },
  },
  {
    name: "python-socketio's JSON (ensure_ascii: non-BMP characters as escaped surrogate pairs) decodes to the characters",
    k: story('escapes', 4, 'polling', 0, [spec(hs4, [...encodeSio(0, '/', null, { sid: 'N1' }), '42["m","\\ud83d\\ude00 \\u00e9",{"\\ud83d\\udc4d":1}]'])]),
    check: (r) => {
      const log = untagLog(r[0]) as LogEntry[];
      const want = [['connect', 'N1'], ['event', 'm', ['😀 é', { '👍': 1 }]]];
      return same(log, want) ? [] : [`handler calls ${JSON.stringify(log)}, want ${JSON.stringify(want)}`];
    },
  },
];

/** The limits the README documents (Hostile input): how each ends the session. */
const N1 = () => encodeSio(0, '/', null, { sid: 'N1' });
const BIG = () => encodeSio(2, '/', null, ['big', 'x'.repeat(2000)]);
const LIMITS: { name: string; k: SessionCase; reason: string }[] = [
  {
    name: 'an HTTP status other than 200 on a poll',
    k: ((k) => ({ ...k, sessions: [[...k.sessions[0]!, { kind: 'http', raw: Buffer.from('HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n') }]] }))(
      story('status', 4, 'polling', 0, [spec(hs4, N1(), [1])]),
    ),
    reason: 'transport error',
  },
  { name: 'a polling response longer than max_size', k: { ...story('big', 4, 'polling', 0, [spec(hs4, [...N1(), ...BIG()], [1])]), max_size: 1000 }, reason: 'transport error' },
  { name: 'a WebSocket message longer than max_size', k: { ...story('big', 4, 'websocket', 0, [spec(hs4, [...N1(), ...BIG()])]), max_size: 1000 }, reason: 'transport close' },
  // MicroPython's str() takes these; the client must not hand them to a handler.
  ...([['an overlong form', [0xc0, 0xaf]], ['a surrogate', [0xed, 0xa0, 0x80]], ['a byte 0xff', [0xff]], ['a truncated character', [0xe2, 0x82]]] as const).map(([what, bytes]) => {
    const body = Buffer.concat([Buffer.from('42["m","'), Buffer.from(bytes), Buffer.from('"]')]);
    return {
      name: `a polling text packet that is not UTF-8 (${what})`,
      k: ((k: SessionCase) => ({ ...k, sessions: [[...k.sessions[0]!, { kind: 'http' as const, raw: Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n`), body]) }]] }))(
        story('utf8', 4, 'polling', 0, [spec(hs4, N1(), [1])]),
      ),
      reason: 'parse error',
    };
  }),
  // socket.io's parser takes a string or a number as an event's name; JSON's false is neither
  // (Python's bool is an int).
  { name: 'an event named by a boolean', k: story('bool', 4, 'polling', 0, [spec(hs4, [...N1(), '42[false]'], [1, 1])]), reason: 'parse error' },
];

// ------------------------------------------------------------------------------ tests

describe('Engine.IO / Socket.IO client under hostile input (MicroPython VM)', () => {
  const vm = new Vm();
  const seed = Number(process.env.FC_SEED ?? Math.floor(Math.random() * 2 ** 31));

  beforeAll(async () => {
    PROBE_UNITS = fc.sample(validUnitCase, { numRuns: 40, seed: 2 });
    PROBE_SESSIONS = fc.sample(sessionCase(false), { numRuns: 20, seed: 2 });
    await vm.boot();
  });
  afterAll(async () => {
    await vm.dev?.close();
  });

  it(`${UNIT_BATCH * UNIT_BATCHES} decoder cases: payloads, Socket.IO packets, binary placeholders`, async () => {
    const t0 = Date.now();
    const found: Found = new Map();
    const kinds: Record<string, number> = {};
    const batches = fc.sample(fc.array(unitCase, { minLength: UNIT_BATCH, maxLength: UNIT_BATCH }), { numRuns: UNIT_BATCHES, seed });
    for (const cases of batches) {
      const res = await vm.runAll('unit_batch', cases);
      cases.forEach((u, i) => {
        kinds[u[0] as string] = (kinds[u[0] as string] ?? 0) + 1;
        collect(found, JSON.stringify(u).length, unitViolations(u, res[i]!), () => '');
      });
    }
    console.log(`socketio decoder fuzz (FC_SEED=${seed}): ${JSON.stringify(kinds)} in ${Date.now() - t0} ms; hangs so far ${vm.hangs}`);
    expect(found.size, `property violations (reproduce with FC_SEED=${seed}):\n${report(found)}`).toBe(0);
  });

  it(`${SESSION_BATCH * SESSION_BATCHES} sessions through connect() and step(): documented outcomes, exact for valid input`, async () => {
    const t0 = Date.now();
    const found: Found = new Map();
    const stats = { byLabel: {} as Record<string, number>, determined: 0, reasons: {} as Record<string, number> };
    const batches = fc.sample(fc.array(specCase, { minLength: SESSION_BATCH, maxLength: SESSION_BATCH }), { numRuns: SESSION_BATCHES, seed });
    for (const cases of batches) {
      const res = await vm.runAll('session_batch', cases);
      cases.forEach((k, i) => {
        const r = res[i]!;
        stats.byLabel[k.label] = (stats.byLabel[k.label] ?? 0) + 1;
        if (expected(k).determined) stats.determined++;
        if (r[0] !== 'hang' && r[0] !== 'driver') stats.reasons[String(r[4])] = (stats.reasons[String(r[4])] ?? 0) + 1;
        collect(found, JSON.stringify(wire(k)).length, sessionViolations(k, r), () => `${k.label} case: ${JSON.stringify(wire(k))}\n    result=${JSON.stringify(r).slice(0, 1500)}`);
      });
    }
    console.log(`socketio session fuzz (FC_SEED=${seed}): ${JSON.stringify(stats)} in ${Date.now() - t0} ms; hangs so far ${vm.hangs}, VMs ${vm.boots}`);
    expect(found.size, `property violations (reproduce with FC_SEED=${seed}):\n${report(found)}`).toBe(0);
  });

  it('memory is bounded: no leak when cases repeat, no server data interned, no gross growth', async () => {
    await vm.noteQstrs();
    const g = vm.growth();
    const added = [...vm.addedQstrs];
    console.log(`socketio heap after the probe, per VM (bytes: heap less qstr pools + qstr pools): ${vm.describeHeaps()}; growth ${JSON.stringify(g)}`);
    // The same cases again and again (see REPEAT_GROWTH).
    const rounds: Record<string, number[]> = {};
    const units = fc.sample(fc.array(unitCase, { minLength: 60, maxLength: 60 }), { numRuns: 1, seed: seed + 1 })[0]!;
    const sessions = fc.sample(fc.array(specCase, { minLength: 60, maxLength: 60 }), { numRuns: 1, seed: seed + 1 })[0]!;
    for (const [name, fn, all] of [['decoder cases', 'unit_batch', units], ['sessions', 'session_batch', sessions]] as const) {
      // Cases that hang are left out: each would replace the VM (the fuzz reports them).
      const first = await vm.runAll(fn, all as unknown[], false);
      const cases = (all as unknown[]).filter((_, i) => first[i]![0] !== 'hang');
      const h: number[] = (rounds[name] = []);
      while (h.length < REPEAT_ROUNDS && !(h.length >= 6 && repeatGrowth(h) <= REPEAT_GROWTH)) {
        await vm.runAll(fn, cases, false);
        h.push((await vm.heap()).alloc);
      }
    }
    console.log(`socketio heap after each run of the same 60 cases: ${JSON.stringify(rounds)}`);
    const problems: string[] = [];
    for (const [name, h] of Object.entries(rounds)) {
      const grew = repeatGrowth(h);
      if (grew > REPEAT_GROWTH) problems.push(`the same 60 ${name}, run ${h.length} times, kept growing: the floor of the heap over the last 3 runs is ${grew} bytes above that of the 3 before (after each run: ${h.join(' ')})`);
    }
    // Each distinct character the client indexes in a str is interned for good (MicroPython's
    // str subscript and iterator make one-character strings as qstrs): a server that sends many
    // different characters grows the heap without bound. Fixed names are interned by the warm-up.
    if (added.length > QSTR_GROWTH)
      problems.push(`${added.length} qstrs added by the run (${g.qstrs} in all, ${g.qstrBytes} bytes of pools): server data is being interned, e.g. ${added.slice(0, 30).map((q) => JSON.stringify(q)).join(' ')}`);
    if (g.qstrs > 256 + QSTR_GROWTH) problems.push(`${g.qstrs} qstrs added on one device`);
    if (g.alloc > STALE_RETENTION) problems.push(`the heap after the probe grew by ${g.alloc} bytes over the run (${g.heap} less the qstr pools)`);
    expect(problems, problems.join('\n')).toEqual([]);
  });

  it('stories: valid sessions over polling and WebSocket, protocols 4 and 3, decode exactly', async () => {
    const res = await vm.runAll('session_batch', STORIES.map(([k]) => k), false);
    const bad: string[] = [];
    STORIES.forEach(([k, want], i) => {
      const log = untagLog(res[i]![0]);
      if (!same(log, want)) bad.push(`${k.label}:\n    want ${JSON.stringify(want)}\n    got  ${JSON.stringify(res[i]).slice(0, 800)}`);
      for (const [kind, detail] of sessionViolations(k, res[i]!)) bad.push(`${k.label}: ${kind} ${detail}`);
    });
    expect(bad, bad.join('\n')).toEqual([]);
  });

  it('deep nesting (to 5000 levels) in binary data and in packets: decoded, no crash, no growth when repeated', async () => {
    const units = [1, 10, 50, 60, 61, 200, 1000, 5000].flatMap((n) => ['list', 'dict', 'mix'].map((shape) => ['deep', n, shape]));
    const deepEvent = (d: number) => `42["deep",${'['.repeat(d)}1${']'.repeat(d)}]`;
    const sessions = [50, 200, 1000, 5000].map((d) => story(`deep ${d}`, 4, 'polling', 0, [spec(hs4, [...encodeSio(0, '/', null, { sid: 'N1' }), deepEvent(d)])]));
    const bad: string[] = [];
    const heaps: number[] = [];
    // A VM of its own, so that what the fuzz (a new seed each run) left in the shared one
    // plays no part. A deep structure is a chain: one stale word the conservative GC finds
    // keeps all of it, so the first rounds may leave a lot behind (a megabyte seen), and how
    // many rounds it takes to settle varies (random bytes differ from run to run). Rounds go
    // on until two in a row add nothing; a leak never settles.
    const settled = () => heaps.length >= 3 && heaps[heaps.length - 1]! - heaps[heaps.length - 3]! <= REPEAT_GROWTH;
    const own = new Vm();
    await own.boot();
    try {
      for (let round = 0; round < 8 && !settled(); round++) {
        const ur = await own.runAll('unit_batch', units, false);
        units.forEach((u, i) => bad.push(...unitViolations(u, ur[i]!).map(([k, d]) => `${k} ${d}`)));
        const sr = await own.runAll('session_batch', sessions, false);
        sessions.forEach((k, i) => bad.push(...sessionViolations(k, sr[i]!).map(([kind, d]) => `${k.label}: ${kind} ${d}`)));
        heaps.push((await own.heap()).alloc);
      }
    } finally {
      await own.dev?.close();
    }
    expect([...new Set(bad)], [...new Set(bad)].join('\n')).toEqual([]);
    expect(settled(), `heap after each round: ${heaps.join(' ')}`).toBe(true);
  });

  it('distinct characters from the server are not kept (v3 payload lengths, Socket.IO packet types)', async () => {
    const cjk = Array.from({ length: 3000 }, (_, i) => String.fromCodePoint(0x4e00 + i)).join('');
    const emoji = Array.from({ length: 1000 }, (_, i) => String.fromCodePoint(0x1f300 + i)).join('');
    const units: Unit[] = [
      ['pdec', hex(encodePayload([`42["${cjk}"]`, `42["${emoji}"]`], 3)), 3],
      ['penc', [pktWire(`42["${cjk}"]`)], 3],
      ...Array.from({ length: 500 }, (_, i): Unit => ['sdec', hex(Buffer.from(String.fromCodePoint(0x5000 + i) + '["x"]', 'utf8'))]),
      ...Array.from({ length: 500 }, (_, i): Unit => ['sdec', hex(Buffer.from('2' + String.fromCodePoint(0x6000 + i) + '["x"]', 'utf8'))]),
    ];
    const before = await vm.heap();
    await vm.runAll('unit_batch', units, false);
    const after = await vm.heap();
    expect(after.qstrs - before.qstrs, `${after.qstrs - before.qstrs} qstrs, ${after.alloc - before.alloc} bytes of heap kept after decoding 4000 distinct characters`).toBeLessThanOrEqual(QSTR_GROWTH);
  });

  it('limits: a non-200 poll, and responses or messages over max_size, end the session as documented', async () => {
    const res = await vm.runAll('session_batch', LIMITS.map((x) => x.k), false);
    LIMITS.forEach((x, i) => {
      const r = res[i]!;
      expect(r[0], `${x.name}: hangs`).not.toBe('hang');
      expect([untagLog(r[0]), r[1], r[4]], x.name).toEqual([[['connect', 'N1'], ['disconnect', x.reason]], [], x.reason]);
    });
  });

  it('CPython decodes as the VM does: an event named by a boolean is refused (ValueError)', async () => {
    const { execFileSync } = await import('node:child_process');
    const out = execFileSync('/usr/bin/python3', ['-c', `
import sys
sys.path[:0] = [sys.argv[1] + '/runtime-esp8266', sys.argv[1] + '/generated/micropython']
from usocketio.client import decode
for s in ('2[false]', '2[true,1]', '51-[false,{"_placeholder":true,"num":0}]'):
    try:
        print(decode(s))
    except ValueError:
        print('ValueError')
print(decode('2[7]')[3], decode('2["e"]')[3])`, ROOT], { encoding: 'utf8' });
    expect(out.trim().split('\n')).toEqual(['ValueError', 'ValueError', 'ValueError', '[7] [\'e\']']);
  });

  it('out of memory while receiving or decoding is a transport error: the client reconnects, nothing comes out of step()', async () => {
    // The driver runs the failing call with the heap locked (micropython.heap_lock()), so its
    // first allocation raises MemoryError, as on a board whose heap is full.
    const cases = (['sio', 'poll', 'ws'] as const).flatMap((oom) =>
      (oom === 'poll' ? (['polling'] as const) : oom === 'ws' ? (['websocket'] as const) : (['polling', 'websocket'] as const)).map((transport) => ({
        ...story(`oom ${oom} ${transport}`, 4, transport, 2, [
          spec(hs4, [...encodeSio(0, '/', null, { sid: 'N1' }), ...encodeSio(2, '/', null, ['lost'])]),
          spec(hs4, [...encodeSio(0, '/', null, { sid: 'N2' }), ...encodeSio(2, '/', null, ['ok'])]),
        ]),
        oom,
      })),
    );
    const res = await vm.runAll('session_batch', cases, false);
    const bad: string[] = [];
    cases.forEach((k, i) => {
      const r = res[i]!;
      const log = untagLog(r[0]) as unknown[][];
      const failed = log.some((e) => (e[0] === 'disconnect' || e[0] === 'connect_error') && e[1] === 'transport error');
      if (r[0] === 'hang' || !Array.isArray(r[1]) || r[1].length || !failed || !same(log.slice(-2), [['connect', 'N2'], ['event', 'ok', []]]))
        bad.push(`${k.label}: ${JSON.stringify(r).slice(0, 600)}`);
    });
    expect(bad, bad.join('\n')).toEqual([]);
  });

  it('a burst in one poll is handled a few packets at a time: 500 events wait as at most 64 handler calls, 2000 pings as one pong', async () => {
    const events = Array.from({ length: 500 }, (_, i) => `42["e",${i % 10}]`);
    const pings = Array.from({ length: 2000 }, () => '2');
    const k = story('burst', 4, 'polling', 0, [spec(hs4, [...encodeSio(0, '/', null, { sid: 'N1' }), ...events, ...pings], [1, 500, 2000])]);
    const [r] = await vm.runAll('session_batch', [k], false);
    const log = untagLog(r![0]) as unknown[][];
    const sent = clientPackets(k, (r![2] as [string, string][][])[0]!) ?? [];
    expect(r![1]).toEqual([]);
    expect(log.filter((e) => e[0] === 'event').length).toBe(500); // all of them, in order
    expect(log.filter((e) => e[0] === 'event').map((e) => (e[2] as number[])[0])).toEqual(events.map((_, i) => i % 10));
    const [calls, out] = r![8] as [number, number];
    expect(calls).toBeLessThanOrEqual(64);
    expect(out).toBeLessThanOrEqual(2); // one pong waiting while a POST is out (and an emit)
    expect(sent.filter((p) => p === '3').length).toBeGreaterThan(0);
  });

  it('close() on WebSocket writes a Close and ends the session without waiting inside the machine (no blocking Websocket.close())', async () => {
    const k = { ...story('close', 4, 'websocket', 0, [spec(hs4, [...encodeSio(0, '/', null, { sid: 'N1' }), ...encodeSio(2, '/', null, ['a'])])]), close: true };
    const [r] = await vm.runAll('session_batch', [k], false);
    expect(r![1]).toEqual([]);
    expect(r![5]).toBe(6); // the engine is closed
    expect(untagLog(r![0])).toEqual([['connect', 'N1'], ['event', 'a', []], ['disconnect', 'io client disconnect']]);
  });

  it('a server that stops reading: the stalled POST fails the session (transport error) at the deadline instead of blocking the loop (CPython, small socket buffers)', async () => {
    // The server answers the handshake, then never reads the POST that carries a CONNECT of
    // 8 MB (an auth payload): the write cannot finish. Decided on the outcome; the 60 s is only
    // a guard against the old behaviour, a write that blocks for ever.
    const script = String.raw`
import socket, sys, threading
sys.path[:0] = [sys.argv[1] + '/runtime-esp8266', sys.argv[1] + '/generated/micropython']
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
srv.bind(('127.0.0.1', 0))
srv.listen(4)
held = []
def serve():
    first = True
    while True:
        c, _ = srv.accept()
        held.append(c)
        if first:  # the handshake GET; what comes after on this connection is never answered
            first = False
            c.recv(4096)
            body = b'0{"sid":"S1","upgrades":[],"pingInterval":25000,"pingTimeout":20000}'
            c.sendall(b'HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n' % len(body) + body)
threading.Thread(target=serve, daemon=True).start()
from usocketio.client import connect
c = connect('http://127.0.0.1:%d/' % srv.getsockname()[1], wait=False, transports=('polling',),
            auth={'t': 'y' * 8000000}, timeout=2, reconnection=False)
why = []
c.on('connect_error', why.append)
c.on('disconnect', why.append)
for i in range(200):
    c.step(50)
    if c.engine.reason:
        break
c.step(0)
print(c.engine.reason, c.state)
`;
    const { execFileSync } = await import('node:child_process');
    const out = execFileSync('/usr/bin/python3', ['-c', script, ROOT], { timeout: 60_000, encoding: 'utf8' });
    expect(out.trim()).toBe('transport error 4'); // and the client closed (no reconnection asked)
  });

  it("POSTs are cut to the server's maxPayload (as engine.io-client 6 cuts them) and carry 16 packets at most", async () => {
    // socket.io 4.8 with maxHttpBufferSize 100000 ends the session on a longer POST (8 emits of 20 KB were lost so).
    const res = await vm.runAll('unit_batch', [['plim', Array(8).fill(20000), 4, 100000], ['plim', Array(40).fill(10), 4, 100000], ['plim', [150000, 10], 3, 100000]], false);
    expect(res[0]).toEqual(['ok', [[4, 4 * 20000 + 3], [4, 4 * 20000 + 3]]]);
    expect(res[1]).toEqual(['ok', [[16, 16 * 10 + 15], [16, 16 * 10 + 15], [8, 8 * 10 + 7]]]);
    expect(res[2]).toEqual(['ok', [[1, 150000 + 7], [1, 10 + 3]]]); // alone, a larger packet still goes
  });

  it('regressions: minimal reproductions of what the fuzz found', async () => {
    const bad: string[] = [];
    // A negative length in a protocol 3 payload sends the decoder back for ever (a hang that
    // also grows a list): it must raise.
    const [neg] = await vm.runAll('unit_batch', [['pdec', hex(Buffer.from('-3:')), 3]], false);
    if (neg![0] !== 'raise' || neg![1] !== 'ValueError') bad.push(`polling.decode(b'-3:', 3): ${JSON.stringify(neg)} (want ValueError)`);
    const res = await vm.runAll('session_batch', REGRESSIONS.map((x) => x.k), false);
    REGRESSIONS.forEach((x, i) => bad.push(...x.check(res[i]!).map((p) => `${x.name}: ${p}`)));
    expect(bad, bad.join('\n')).toEqual([]);
  });
});

describe('a chunked polling body costs work per read, not per chunk (MicroPython VM)', () => {
  // A 16 KB packet in 1-byte chunks is a 96 KB body of 16,000 chunks. Each chunk's size line,
  // data and CRLF used to be a parse call of its own, with a few allocations each (48,000
  // calls, 4.9 MB allocated); whole chunks are now handled in one loop within the read buffer.
  // Counted, not timed: parse calls (Poll._parse) and heap allocated with the collector off,
  // against the same packet with Content-Length, read 256 bytes at a time as pump() reads.
  const SCRIPT = String.raw`import gc
import usocketio.polling as m
from sio_hostile_driver import Engine, get_poll, read_body
calls = [0]
class P(m.Poll):
    def _parse(self):
        calls[0] += 1
        m.Poll._parse(self)
m.post = lambda *a: None
def body(b, chunked, eio):
    e = Engine(eio, 1 << 20)
    t = get_poll(e, None if chunked else len(b), P)
    calls[0] = 0
    gc.collect()
    gc.disable()
    a = gc.mem_alloc()
    reads = read_body(t, b)
    a = gc.mem_alloc() - a
    gc.enable()
    return [[len(p) for p in e.got], t.busy, reads, calls[0], a]
def run(eio, size):
    data = (b'16006:' if eio == 3 else b'') + b'42["' + b'x' * 16000 + b'"]'
    chunks = b''.join(size + b'\r\n' + data[i:i + 1] + b'\r\n' for i in range(len(data))) + b'0\r\n\r\n'
    return [body(chunks, True, eio), body(data[:], False, eio)]
`;
  let dev: SimDevice;
  beforeAll(async () => {
    dev = await SimDevice.boot({ files: { ...projectFiles(ROOT), '/lib/sio_hostile_driver.py': fs.readFileSync(path.join(ROOT, 'test/support/py/sio_hostile_driver.py'), 'utf8') }, stdout: () => {} });
    await dev.exec(SCRIPT);
  });
  afterAll(async () => {
    await dev?.close();
  });

  for (const [eio, size] of [[4, '1'], [4, '01; ext=1'], [3, '1']] as const) {
    it(`protocol ${eio}, chunk size line ${JSON.stringify(size)}: at most 4 parse calls a read, and at most 256 B a read more than with Content-Length`, async () => {
      const [chunked, plain] = await dev.eval<[number[], boolean, number, number, number][]>(`run(${eio}, b'${size}')`);
      const [got, busy, reads, calls, allocated] = chunked!;
      console.log(`protocol ${eio}, size line ${JSON.stringify(size)}: ${reads} reads, ${calls} parse calls, ${allocated} B allocated (Content-Length: ${plain![3]} calls, ${plain![4]} B)`);
      expect([got, busy]).toEqual([[16006], false]); // the packet, whole, and the response over
      expect(plain![0]).toEqual([16006]);
      expect(calls).toBeLessThanOrEqual(4 * reads);
      expect(allocated).toBeLessThanOrEqual(plain![4] + 256 * reads);
    });
  }
});
