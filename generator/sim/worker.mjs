// The simulated ESP8266's VM thread: runs the MicroPython WebAssembly VM and provides the
// synchronous host functions (module `_simhost`) that the board modules in ./board/ call.
//
// Plain JavaScript on purpose: worker threads do not inherit the tsx/vite TypeScript loaders,
// and a .mjs worker starts the same way under `node`, tsx and vitest.
//
// Threading model: this thread blocks (Atomics.wait) and never runs its event loop while Python
// runs. The main thread owns the real sockets and never blocks. Requests that need the main
// thread are posted as messages and answered through shared memory (ctl/data). Socket status
// (state, errno, bytes queued on the host) is published by the main thread in a shared table,
// and every change bumps ctl[CTL_GEN] and notifies it, so waiting for readiness needs no
// message at all. Bytes received from the host are cached here per socket, so small reads
// cost no round trip.

import { parentPort, workerData } from 'node:worker_threads';
import { createHash, randomFillSync } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadMicroPython } from '@micropython/micropython-webassembly-pyscript';
import * as P from './protocol.mjs';

const port = /** @type {import('node:worker_threads').MessagePort} */ (parentPort);
const ctl = new Int32Array(workerData.ctl);
const shared = new Uint8Array(workerData.data);
const status = new Int32Array(workerData.status);
const sleepCell = new Int32Array(new SharedArrayBuffer(4));

// ---------------------------------------------------------------------------------------------
// Output: bytes written by Python are batched and posted in order with network requests.

let outFd = 1;
// While REPL input is processed, everything the VM prints is the board's console output (see
// "REPL mode" below) and goes out as fd P.FD_REPL.
let replActive = false;
let outBuf = new Uint8Array(4096);
let outLen = 0;

function outByte(fd, chunk) {
  if (fd !== outFd && outLen) flushOut();
  outFd = fd;
  for (let i = 0; i < chunk.length; i++) {
    if (outLen === outBuf.length) {
      const b = new Uint8Array(outBuf.length * 2);
      b.set(outBuf);
      outBuf = b;
    }
    const c = chunk[i];
    outBuf[outLen++] = c;
    if (c === 10) flushOut();
  }
}

function flushOut() {
  if (!outLen) return;
  port.postMessage({ t: 'out', fd: outFd, bytes: outBuf.slice(0, outLen) });
  outLen = 0;
}

// ---------------------------------------------------------------------------------------------
// VM start. The wasm memory is captured so host functions can read and write Python buffers
// at addresses given by uctypes.addressof().

let memory = /** @type {WebAssembly.Memory | undefined} */ (undefined);
const origInstantiate = WebAssembly.instantiate;
// @ts-ignore: wrapping an overloaded function
WebAssembly.instantiate = async function (...args) {
  // @ts-ignore
  const r = await origInstantiate.apply(this, args);
  const inst = 'instance' in r ? r.instance : r;
  memory ??= /** @type {WebAssembly.Memory} */ (Object.values(inst.exports).find((v) => v instanceof WebAssembly.Memory));
  return r;
};
let mp;
try {
  mp = await loadMicroPython({
    stdout: (b) => outByte(replActive ? P.FD_REPL : 1, b),
    stderr: (b) => outByte(replActive ? P.FD_REPL : 2, b),
    linebuffer: false,
  });
} finally {
  WebAssembly.instantiate = origInstantiate;
}
if (!memory) throw new Error('could not capture the MicroPython wasm memory');
const wasm = memory;
const Module = mp._module;
const heap = () => new Uint8Array(wasm.buffer);

// errno values as this VM numbers them (the board modules raise these).
const uerrno = mp.pyimport('uerrno');
const E = {};
for (const name of ['EAGAIN', 'EBADF', 'ECONNABORTED', 'ECONNRESET', 'EHOSTUNREACH', 'EINPROGRESS', 'EINVAL', 'EIO',
  'ENOMEM', 'ENOTCONN', 'ETIMEDOUT', 'EALREADY']) {
  E[name] = uerrno[name];
}
E.EISCONN = 106; // MP_EISCONN: raised by the board but not exported by its errno module

// Received bytes handed to Python are placed here (outside the Python heap) and copied into a
// bytes object by uctypes.bytes_at(stash(), n).
let stashSize = 16384;
let stashAddr = Module._malloc(stashSize);

function stashReserve(n) {
  if (n > stashSize) {
    Module._free(stashAddr);
    stashSize = Math.max(n, stashSize * 2);
    stashAddr = Module._malloc(stashSize);
  }
  return stashAddr;
}

// ---------------------------------------------------------------------------------------------
// Out-of-memory injection (board module `simfault`, for tests): a read that raises MemoryError
// as the allocation of its result would on the board, or a read that returns its data and leaves
// the heap locked (micropython.heap_lock: every allocation raises MemoryError) until the code
// next calls into the board. Armed only inside simfault.run(), which releases the heap before
// it returns or raises: an exception that reaches the top level with the heap locked would
// stop the VM.

const NOMEM = -100003; // result code: the read fails as its allocation would
const fault = { lockAfter: 0, failAt: 0, locked: false, fired: 0 };
// Looked up once: making a JavaScript reference to a Python object allocates, which a locked
// heap refuses.
const micropythonModule = mp.pyimport('micropython');
const heapLock = micropythonModule.heap_lock;
const heapUnlock = micropythonModule.heap_unlock;

function faultRelease() {
  if (!fault.locked) return;
  fault.locked = false;
  heapUnlock();
}

/** Whether this allocating read fails (counts the reads while simfault.run(fail_read=n) is armed). */
function faultFails() {
  if (fault.failAt > 0 && --fault.failAt === 0) {
    fault.fired++;
    return true;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// What the ESP8266 firmware lacks (generator/analyses/esp8266-generic.json): each .py module
// is checked (on the host: the main thread runs the check) the first time it is imported, and
// refused with ImportError naming what it uses. Checked files are remembered by path, time
// and size. Off when the device is booted with `firmware: null`.

const firmwareCheck = workerData.firmwareCheck !== false;
/** @type {Map<string, { stamp: string, verdict: string | null }>} */
const checked = new Map();

function isFile(p) {
  try {
    return mp.FS.isFile(mp.FS.stat(p).mode);
  } catch {
    return false;
  }
}

function isDir(p) {
  try {
    return mp.FS.isDir(mp.FS.stat(p).mode);
  } catch {
    return false;
  }
}

/** The .py file the VM would load for a dotted name (as folders), or null (.mpy, a board module, none). */
function sourceOf(rel) {
  const cwd = mp.FS.cwd();
  for (const dir of [cwd === '/' ? '' : cwd, '/board', '/lib']) {
    const base = `${dir}/${rel}`;
    if (isDir(base)) return dir !== '/board' && isFile(`${base}/__init__.py`) ? `${base}/__init__.py` : null;
    if (isFile(`${base}.py`)) return dir === '/board' ? null : `${base}.py`;
    if (isFile(`${base}.mpy`)) return null;
  }
  return null;
}

/** Why the board could not run this .py file (the first of what it uses that the firmware lacks), or null. */
function firmwareVerdict(file) {
  const st = mp.FS.stat(file);
  const stamp = `${st.mtime?.getTime?.() ?? st.mtime}:${st.size}`;
  const known = checked.get(file);
  if (known && known.stamp === stamp) return known.verdict;
  const source = mp.FS.readFile(file, { encoding: 'utf8' });
  const n = hostCall({ t: 'req', op: 'check', path: file, source });
  const verdict = n > 0 ? new TextDecoder().decode(shared.slice(0, n)) : null;
  checked.set(file, { stamp, verdict });
  return verdict;
}

/** For the import hook: the verdict on module `name` (and its packages), or on name.sub when sub is given. */
function checkImport(name, sub) {
  if (!firmwareCheck) return null;
  if (sub === '*') return null;
  const parts = (sub ? `${name}.${sub}` : name).split('.');
  for (let i = sub ? parts.length : 1; i <= parts.length; i++) {
    const file = sourceOf(parts.slice(0, i).join('/'));
    const verdict = file ? firmwareVerdict(file) : null;
    if (verdict) return verdict;
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// Requests to the main thread.

function hostCall(msg, transfer) {
  flushOut();
  Atomics.store(ctl, P.CTL_RESP, 0);
  port.postMessage(msg, transfer);
  Atomics.wait(ctl, P.CTL_RESP, 0);
  return Atomics.load(ctl, P.CTL_RESULT);
}

function waitChange(gen, deadline) {
  flushOut();
  if (deadline === Infinity) Atomics.wait(ctl, P.CTL_GEN, gen);
  else {
    const ms = deadline - performance.now();
    if (ms > 0) Atomics.wait(ctl, P.CTL_GEN, gen, ms);
  }
}

// ---------------------------------------------------------------------------------------------
// Sockets. A handle (what Python holds) maps to a status slot; handles are never reused, so a
// closed socket object can not reach a newer socket that got the same slot.

/**
 * @typedef {{ slot: number, timeout: number, started: boolean, rstHandled: boolean, badf: boolean,
 *   tls: boolean, dead: boolean, chunks: Uint8Array[], off: number, cached: number, sent: number }} Sock
 */
/** @type {Map<number, Sock>} */
const socks = new Map();
const slotUsed = new Array(P.MAX_SOCKETS).fill(false);
let nextHandle = 1;

const st = (s, field) => Atomics.load(status, s.slot * P.STATUS_FIELDS + field);

function sockNew() {
  const slot = slotUsed.indexOf(false);
  if (slot < 0) return -E.ENOMEM;
  slotUsed[slot] = true;
  const h = nextHandle++;
  socks.set(h, { slot, timeout: -1, started: false, rstHandled: false, badf: false, tls: false, dead: false, chunks: [], off: 0, cached: 0, sent: 0 });
  return h;
}

function fetch(s) {
  const n = hostCall({ t: 'req', op: 'fetch', id: s.slot, max: P.DATA_CAP });
  if (n > 0) {
    s.chunks.push(shared.slice(0, n));
    s.cached += n;
  }
  return n;
}

function takeCached(s, max) {
  const c = /** @type {Uint8Array} */ (s.chunks[0]);
  const n = Math.min(max, c.length - s.off);
  const out = c.subarray(s.off, s.off + n);
  s.off += n;
  s.cached -= n;
  if (s.off === c.length) {
    s.chunks.shift();
    s.off = 0;
  }
  return out;
}

/**
 * One low-level read, as lwip_tcp_receive (or axTLS's read) does it: waits (per the socket's
 * timeout) for at least one byte and returns up to `max` bytes, 0 at EOF, or a negative errno.
 * @returns {Uint8Array | number}
 */
function lowRead(s, max) {
  if (s.badf) return -E.EBADF;
  if (s.tls && s.dead) return 0;
  const deadline = s.timeout < 0 ? Infinity : performance.now() + s.timeout;
  for (;;) {
    const gen = Atomics.load(ctl, P.CTL_GEN);
    if (s.cached > 0) return takeCached(s, max);
    if (st(s, P.ST_QUEUED) > 0) {
      fetch(s);
      continue;
    }
    const state = st(s, P.ST_STATE);
    if (state === P.S_ERROR) {
      if (s.tls) {
        s.dead = true; // axTLS: connection lost reads as EOF, and stays dead
        return 0;
      }
      if (s.rstHandled) return 0;
      const e = st(s, P.ST_ERRNO);
      if (e === E.ECONNRESET) s.rstHandled = true;
      else s.badf = true;
      return -e;
    }
    if (state === P.S_PEER_CLOSED) return 0;
    if (!s.started) return s.timeout === 0 ? -E.EAGAIN : -E.ENOTCONN;
    if (s.timeout === 0) return -E.EAGAIN;
    if (performance.now() >= deadline) {
      if (s.tls) {
        s.dead = true; // axTLS turns the socket's ETIMEDOUT into a lost connection (EOF)
        return 0;
      }
      return -E.ETIMEDOUT;
    }
    waitChange(gen, deadline);
  }
}

/**
 * MicroPython stream read (mp_stream_rw): low-level reads until `n` bytes (n < 0: until EOF).
 * A non-blocking EAGAIN after some bytes ends the read with what was read; any other error
 * is returned and the bytes consumed so far are lost (the caller raises).
 */
function streamRead(s, n, sink) {
  let done = 0;
  while (n < 0 || done < n) {
    const r = lowRead(s, n < 0 ? P.DATA_CAP : n - done);
    if (r === 0) break;
    if (typeof r === 'number') {
      if (r === -E.EAGAIN && done > 0) break;
      return r;
    }
    sink(r, done);
    done += r.length;
  }
  return done;
}

/** Collects chunks, then copies them to the stash for Python. */
function collector() {
  /** @type {Uint8Array[]} */
  const parts = [];
  return {
    sink: (/** @type {Uint8Array} */ b) => parts.push(b), // views of fetched copies: stable
    finish(/** @type {number} */ total) {
      const addr = stashReserve(total);
      const h = heap();
      let o = addr;
      for (const p of parts) {
        h.set(p, o);
        o += p.length;
      }
      return total;
    },
  };
}

function sockRead(s, n) {
  if (faultFails()) return NOMEM;
  const c = collector();
  const r = streamRead(s, n, c.sink);
  return r < 0 ? r : c.finish(r);
}

function sockReadinto(s, addr, n) {
  return streamRead(s, n, (b, at) => heap().set(b, addr + at));
}

function sockRecv(s, n) {
  if (n <= 0) return 0;
  if (faultFails()) return NOMEM;
  const r = lowRead(s, n);
  if (typeof r === 'number') return r;
  heap().set(r, stashReserve(r.length));
  return r.length;
}

/** mp_stream_unbuffered_readline: byte by byte up to and including '\n' (or `limit` bytes). */
function sockReadline(s, limit) {
  if (faultFails()) return NOMEM;
  const bytes = [];
  while (limit < 0 || bytes.length < limit) {
    const r = lowRead(s, 1);
    if (r === 0) break;
    if (typeof r === 'number') {
      if (r === -E.EAGAIN) {
        if (bytes.length === 0) return r;
        break;
      }
      return r;
    }
    const c = /** @type {number} */ (r[0]);
    bytes.push(c);
    if (c === 10) break;
  }
  heap().set(bytes, stashReserve(bytes.length));
  return bytes.length;
}

/** Room in the board's send buffer: lwIP's tcp_sndbuf(). */
function sndbuf(s) {
  return P.SND_BUF - ((s.sent - st(s, P.ST_ACCEPTED)) | 0);
}

/** Why a write cannot go out now: a negative errno, 0 (axTLS: nothing written), or null. */
function writeBlocked(s) {
  if (s.badf) return -E.EBADF;
  const state = st(s, P.ST_STATE);
  if (s.tls) return s.dead || state === P.S_ERROR ? 0 : null; // axTLS: write on a lost connection gives 0
  if (!s.started) return -E.ENOTCONN;
  // After a read consumed ECONNRESET the board writes through a NULL pcb (undefined
  // behaviour); the simulator keeps raising ECONNRESET instead.
  if (state === P.S_ERROR) return s.rstHandled ? -E.ECONNRESET : -st(s, P.ST_ERRNO);
  return null;
}

/**
 * One lwip_tcp_send: with no room, a non-blocking socket gets EAGAIN, a blocking one waits (per
 * its timeout: ETIMEDOUT) for at least 16 bytes of room; then what fits is written. Returns
 * the count written or a negative errno.
 */
function tcpSend(s, addr, n) {
  const blocked = writeBlocked(s);
  if (blocked !== null) return blocked;
  let room = sndbuf(s);
  if (room === 0) {
    if (s.timeout === 0) return -E.EAGAIN;
    const deadline = s.timeout < 0 ? Infinity : performance.now() + s.timeout;
    for (;;) {
      const gen = Atomics.load(ctl, P.CTL_GEN);
      const now = writeBlocked(s);
      if (now !== null) return now;
      room = sndbuf(s);
      if (room >= 16) break; // lwIP waits for 16 bytes of room, to avoid tiny segments
      if (performance.now() >= deadline) return -E.ETIMEDOUT;
      waitChange(gen, deadline);
    }
  }
  const k = Math.min(room, n);
  const bytes = heap().slice(addr, addr + k);
  flushOut();
  port.postMessage({ t: 'send', id: s.slot, bytes }, [bytes.buffer]);
  s.sent = (s.sent + k) | 0;
  return k;
}

/** Stream write (mp_stream_rw): sends until all is written; EAGAIN after some bytes ends it early. */
function sockWrite(s, addr, n) {
  let done = 0;
  while (done < n) {
    const r = tcpSend(s, addr + done, n - done);
    if (r < 0) return r === -E.EAGAIN && done > 0 ? done : r;
    if (r === 0) break;
    done += r;
  }
  return done;
}

/** socket.sendall (lwip_socket_sendall): non-blocking, all of it fits now or EAGAIN with nothing sent. */
function sockSendall(s, addr, n) {
  if (s.timeout === 0 && writeBlocked(s) === null && n > sndbuf(s)) return -E.EAGAIN;
  let done = 0;
  while (done < n) {
    const r = tcpSend(s, addr + done, n - done);
    if (r < 0) return r;
    if (r === 0) break;
    done += r;
  }
  return done;
}

function sockConnect(s, ip, portNum) {
  if (s.badf) return -E.EBADF;
  if (s.started) {
    const state = st(s, P.ST_STATE);
    return state === P.S_CONNECTED || state === P.S_PEER_CLOSED ? -E.EISCONN : -E.EALREADY;
  }
  s.started = true;
  hostCall({ t: 'req', op: 'connect', id: s.slot, ip, port: portNum });
  // A non-blocking connect always reports EINPROGRESS, as it does on the board unless the
  // peer answers within the 1 ms the board polls for.
  if (s.timeout === 0) return -E.EINPROGRESS;
  const deadline = s.timeout < 0 ? Infinity : performance.now() + s.timeout;
  for (;;) {
    const gen = Atomics.load(ctl, P.CTL_GEN);
    const state = st(s, P.ST_STATE);
    if (state === P.S_CONNECTED || state === P.S_PEER_CLOSED) return 0;
    if (state === P.S_ERROR) return -st(s, P.ST_ERRNO);
    if (performance.now() >= deadline) return -E.ETIMEDOUT;
    waitChange(gen, deadline);
  }
}

function sockClose(h) {
  const s = socks.get(h);
  if (!s) return 0;
  socks.delete(h);
  if (s.started) hostCall({ t: 'req', op: 'close', id: s.slot, unread: s.cached > 0 });
  slotUsed[s.slot] = false;
  return 0;
}

const POLLIN = 1;
const POLLOUT = 4;
const POLLERR = 8;
const POLLHUP = 16;
const POLLNVAL = 32;

/** Readiness as lwip_socket_ioctl(MP_STREAM_POLL) reports it. */
function readiness(s, mask) {
  if (!s) return POLLNVAL; // closed
  if (s.badf) return POLLNVAL;
  if (!s.started) return POLLHUP; // STATE_NEW
  const state = st(s, P.ST_STATE);
  const data = s.cached > 0 || st(s, P.ST_QUEUED) > 0;
  if (s.tls && (s.dead || state === P.S_ERROR)) return mask & (POLLIN | POLLOUT); // reads give EOF
  switch (state) {
    case P.S_CONNECTING:
      return 0;
    case P.S_CONNECTED:
      return (data ? mask & POLLIN : 0) | (sndbuf(s) > 0 ? mask & POLLOUT : 0);
    case P.S_PEER_CLOSED:
      return (mask & POLLIN) | (sndbuf(s) > 0 ? mask & POLLOUT : 0);
    case P.S_ERROR:
      if (s.rstHandled) return (mask & POLLIN) | POLLHUP;
      if (st(s, P.ST_ERRNO) === E.ECONNRESET) return (mask & (POLLIN | POLLOUT)) | POLLERR | POLLHUP;
      return (data ? mask & POLLIN : 0) | POLLERR;
    default:
      return 0;
  }
}

function poll(tabAddr, n, outAddr, timeoutMs) {
  const deadline = timeoutMs < 0 ? Infinity : performance.now() + timeoutMs;
  for (;;) {
    const gen = Atomics.load(ctl, P.CTL_GEN);
    let ready = 0;
    if (n > 0) {
      const view = new DataView(wasm.buffer);
      for (let i = 0; i < n; i++) {
        const h = view.getInt32(tabAddr + 8 * i, true);
        const mask = view.getInt32(tabAddr + 8 * i + 4, true);
        const ev = h > 0 && mask ? readiness(socks.get(h), mask) : 0;
        view.setInt32(outAddr + 4 * i, ev, true);
        if (ev) ready++;
      }
    }
    if (ready || performance.now() >= deadline) return ready;
    waitChange(gen, deadline);
  }
}

function tlsWrap(s, hostname, verify, caAddr, caLen, keyAddr, keyLen, certAddr, certLen, handshake) {
  if (s.badf) return -E.EBADF;
  if (!s.started) return -E.ENOTCONN;
  const h = heap();
  const ca = caLen ? h.slice(caAddr, caAddr + caLen) : null;
  const key = keyLen ? h.slice(keyAddr, keyAddr + keyLen) : null;
  const cert = certLen ? h.slice(certAddr, certAddr + certLen) : null;
  const r = hostCall({ t: 'req', op: 'tls', id: s.slot, servername: hostname || null, verify: !!verify, ca, key, cert });
  if (r < 0) return r;
  s.tls = true;
  s.chunks = [];
  s.off = 0;
  s.cached = 0;
  if (!handshake) return 0;
  const deadline = s.timeout > 0 ? performance.now() + s.timeout : Infinity;
  for (;;) {
    const gen = Atomics.load(ctl, P.CTL_GEN);
    if (st(s, P.ST_TLS) === P.TLS_SECURE) return 0;
    const state = st(s, P.ST_STATE);
    if (state === P.S_ERROR) {
      const e = st(s, P.ST_ERRNO);
      return e === P.TLS_VERIFY_FAILED || e === P.TLS_FAILED ? e : -e;
    }
    if (state === P.S_PEER_CLOSED) return -E.ENOTCONN;
    if (performance.now() >= deadline) return -E.ETIMEDOUT;
    waitChange(gen, deadline);
  }
}

function describe(s) {
  if (!s) return 'closed';
  const state = s.started ? st(s, P.ST_STATE) : P.S_NEW;
  const name = { [P.S_NEW]: 'new', [P.S_CONNECTING]: 'connecting', [P.S_CONNECTED]: 'connected', [P.S_PEER_CLOSED]: 'peer-closed', [P.S_ERROR]: 'error' }[state];
  return `state=${name}${state === P.S_ERROR ? ` errno=${st(s, P.ST_ERRNO)}` : ''} timeout=${s.timeout}${s.tls ? ' tls' : ''} cached=${s.cached}`;
}

function resolve(host) {
  if (/^\d+\.\d+\.\d+\.\d+$/.test(host)) return host;
  const n = hostCall({ t: 'req', op: 'resolve', host });
  if (n < 0) return n;
  return new TextDecoder().decode(shared.slice(0, n));
}

// ---------------------------------------------------------------------------------------------
// Host functions for Python. They must never throw: a JS exception would unwind through the VM.

/** @type {Map<number, import('node:crypto').Hash>} */
const hashes = new Map();
let nextHash = 1;

function withSock(fn) {
  return (h, ...args) => {
    const s = socks.get(h);
    return s ? fn(s, ...args) : -E.EBADF;
  };
}

const hostFunctions = {
  stash: () => stashAddr,
  sock_new: sockNew,
  settimeout: withSock((s, ms) => {
    s.timeout = ms < 0 ? -1 : Math.floor(ms);
    return 0;
  }),
  connect: withSock(sockConnect),
  recv: withSock(sockRecv),
  read: withSock(sockRead),
  readinto: withSock(sockReadinto),
  readline: withSock(sockReadline),
  write: withSock(sockWrite),
  send: withSock((s, addr, n) => tcpSend(s, addr, n)),
  sendall: withSock(sockSendall),
  close: sockClose,
  poll,
  resolve,
  tls_wrap: withSock(tlsWrap),
  describe: (h) => describe(socks.get(h)),
  sha1_new: () => {
    const id = nextHash++;
    hashes.set(id, createHash('sha1'));
    return id;
  },
  sha1_update: (id, addr, n) => {
    hashes.get(id)?.update(heap().subarray(addr, addr + n));
    return 0;
  },
  sha1_digest: (id) => {
    const d = hashes.get(id)?.digest() ?? new Uint8Array(20);
    hashes.delete(id);
    heap().set(d, stashReserve(d.length));
    return d.length;
  },
  // n random bytes into the stash (returning n), or at addr.
  urandom: (n, addr) => {
    randomFillSync(addr === undefined ? heap().subarray(stashReserve(n), stashAddr + n) : heap().subarray(addr, addr + n));
    return n;
  },
  sleep_ms: (ms) => {
    flushOut();
    if (ms > 0) Atomics.wait(sleepCell, 0, 0, ms);
    return 0;
  },
  sleep_us: (us) => {
    flushOut();
    if (us > 0) Atomics.wait(sleepCell, 0, 0, us / 1000);
    return 0;
  },
  check_import: checkImport,
  fault_arm: (lockAfter, failAt) => {
    fault.lockAfter = lockAfter;
    fault.failAt = failAt;
    fault.fired = 0;
    return 0;
  },
  // After a read returned data (its result already made): lock the heap if this is the read.
  fault_read: () => {
    if (fault.lockAfter > 0 && --fault.lockAfter === 0) {
      heapLock();
      fault.locked = true;
      fault.fired++;
    }
    return 0;
  },
  fault_disarm: () => {
    fault.lockAfter = 0;
    fault.failAt = 0;
    return fault.fired;
  },
};

for (const [name, fn] of Object.entries(hostFunctions)) {
  hostFunctions[name] = (...args) => {
    faultRelease(); // any call into the board ends a simfault lock
    try {
      const r = fn(...args);
      return r === undefined ? null : r;
    } catch (err) {
      outByte(2, new TextEncoder().encode(`[sim] host function ${name} failed: ${err?.stack ?? err}\n`));
      return -E.EIO;
    }
  };
}
mp.registerJsModule('_simhost', hostFunctions);
// Board modules reach the host functions through a plain Python object holding a reference to
// each: looking an attribute up on the JavaScript module makes a new proxy object, which a
// locked heap (simfault) refuses.
mp.runPython(
  'import sys, _simhost\nclass _Host:\n    pass\n_h = _Host()\n' +
    Object.keys(hostFunctions).map((n) => `_h.${n} = _simhost.${n}\n`).join('') +
    "sys.modules['_simhost'] = _h\ndel sys, _simhost, _Host, _h\n",
);

// ---------------------------------------------------------------------------------------------
// Filesystem: board modules in /board (ahead of the VM's frozen modules and /lib), user files.

function mkdirs(dir) {
  let p = '';
  for (const part of dir.split('/').filter(Boolean)) {
    p += '/' + part;
    try {
      mp.FS.mkdir(p);
    } catch {
      // exists
    }
  }
}

function writeFile(path, data) {
  mkdirs(path.slice(0, path.lastIndexOf('/')));
  mp.FS.writeFile(path, data);
}

// Installed after the board modules are imported: an import hook (builtins.__import__) that
// refuses the VM's bridges to JavaScript (`js`, `jsffi`, and `_simhost`, the board modules'
// host functions) and, through check_import, modules that use what the ESP8266 firmware lacks;
// and builtins the firmware does not have (compile, execfile, complex; pow with three
// arguments) replaced by ones that fail as the board does. The hook allocates nothing, so heap
// figures of imports are unchanged (a test checks). runFile uses the VM's compile, kept as
// __sim_compile__.
const BOARD_GUARD = `
def __sim_guard__():
    import builtins, sys, _simhost
    imp = builtins.__import__
    check = _simhost.check_import
    modules = sys.modules
    bridges = ('js', 'jsffi', '_simhost')
    def __import__(name, globals=None, locals=None, fromlist=None, level=0):
        if name in bridges:
            raise ImportError("no module named '%s'" % name)
        if level == 0:
            if name not in modules:
                why = check(name, None)
                if why:
                    raise ImportError(why)
            if fromlist:
                for sub in fromlist:
                    why = check(name, sub)
                    if why:
                        raise ImportError(why)
        return imp(name, globals, locals, fromlist, level)
    builtins.__import__ = __import__
    def missing(name):
        def f(*args, **kw):
            raise NameError("name '%s' isn't defined" % name)
        return f
    builtins.__sim_compile__ = builtins.compile
    builtins.compile = missing('compile')
    builtins.execfile = missing('execfile')
    builtins.complex = missing('complex')
    p = builtins.pow
    def pow(x, y, *z):
        if z:
            raise TypeError('function takes 2 positional arguments but 3 were given')
        return p(x, y)
    builtins.pow = pow
    del modules['_simhost']
__sim_guard__()
`;

const boardDir = fileURLToPath(new URL('./board/', import.meta.url));
const boardModules = [];
for (const name of readdirSync(boardDir).sort()) {
  if (!name.endsWith('.py')) continue;
  writeFile('/board/' + name, readFileSync(boardDir + name));
  boardModules.push(name.slice(0, -3));
}
mkdirs('/lib');
for (const [path, data] of Object.entries(workerData.files ?? {})) {
  writeFile(path.startsWith('/') ? path : '/' + path, data);
}

// Board modules are imported now so that, as the board's built-in C modules, they are part of
// the heap baseline rather than of what the user's code allocates.
// gc.collect() only runs once control is back in JS, hence the separate calls.
const gcModule = mp.pyimport('gc');
gcModule.collect();
const heapBefore = gcModule.mem_alloc();
mp.runPython(
  "import sys\nsys.path[:] = ['', '/board', '.frozen', '/lib']\n" +
    boardModules.map((m) => `__import__(${JSON.stringify(m)})`).join('\n') +
    '\ndel sys\n' +
    // compiled as a board file, so that its frames leave tracebacks as the board modules' do;
    // in a namespace of its own, so that the script's globals are as they were
    `exec(compile(${JSON.stringify(BOARD_GUARD)}, '/board/guard.py', 'exec'), {})\n`,
);
gcModule.collect();
const boardHeapBytes = gcModule.mem_alloc() - heapBefore;

// No way from Python to the worker's JavaScript: the VM's `js` module (JavaScript's globals)
// finds nothing, and JavaScript functions reached through a proxy (the host functions, or
// objects made with jsffi) have no `constructor` to compile code with. Together with the import
// hook above (no `js`, `jsffi`, `_simhost`), a script cannot reach the host's files or
// processes. This is defence in depth for scripts one means to run, not a security boundary.
globalThis.proxy_js_ref[0] = Object.freeze(Object.create(null));
for (const f of [function () {}, async function () {}, function* () {}, async function* () {}]) {
  Object.defineProperty(Object.getPrototypeOf(f), 'constructor', { value: undefined });
}

// ---------------------------------------------------------------------------------------------
// REPL mode: the VM's event-driven REPL fed byte by byte, as the board's UART feeds its REPL.
// The VM cannot soft-reboot by itself (replProcessChar only reports the request), so a soft
// reboot is done here as the ESP8266 firmware does it: user modules and globals go, boot.py
// runs, and main.py too when the friendly REPL is active; then the REPL starts again in the
// same mode. Raw-paste mode must not reach the VM (it would wait for stdin forever): the host
// side (console.ts) emulates it.

const PYEXEC_FORCED_EXIT = 0x100;
let replRaw = false; // Ctrl-A entered the raw REPL, Ctrl-B left it
/** Module and global names present when the REPL started; a soft reboot keeps only these. */
let replKeep = { modules: '[]', globals: '[]' };

function replOut(text) {
  outByte(P.FD_REPL, new TextEncoder().encode(text));
}

function pyNames(expr) {
  mp.runPython(`__sim_names__ = ' '.join(${expr})`);
  const names = mp.globals.get('__sim_names__');
  mp.globals.delete('__sim_names__');
  return JSON.stringify(names.split(' ').filter((n) => n !== '__sim_names__'));
}

function replStart() {
  replKeep = { modules: pyNames("__import__('sys').modules"), globals: pyNames('globals()') };
  mp.replInit();
}

function runBootFile(name) {
  if (!mp.FS.analyzePath('/' + name).exists) return;
  try {
    mp.runPython(runFileCode(name));
  } catch (err) {
    /** @type {any} */
    const e = err;
    if (e?.name !== 'PythonError') throw err;
    replOut(String(e.message).replace(STDIN_FRAME, '').replace(/\r?\n/g, '\r\n'));
  }
}

function softReboot() {
  replOut('MPY: soft reboot\r\n');
  mp.runPython(
    `[__import__('sys').modules.pop(k) for k in list(__import__('sys').modules) if k not in ${replKeep.modules}]\n` +
      `[globals().pop(k) for k in list(globals()) if k not in ${replKeep.globals}]`,
  );
  gcModule.collect();
  runBootFile('boot.py');
  if (!replRaw) runBootFile('main.py');
  mp.replInit();
}

function replFeed(bytes) {
  for (const c of bytes) {
    if (c === 0x01) replRaw = true; // Ctrl-A
    else if (c === 0x02) replRaw = false; // Ctrl-B
    if (mp.replProcessChar(c) === PYEXEC_FORCED_EXIT) softReboot();
  }
}

// ---------------------------------------------------------------------------------------------
// Commands from the main thread.

const STDIN_FRAME = '  File "<stdin>", line 1, in <module>\n';

function runFileCode(path) {
  const p = JSON.stringify(path);
  return `exec(__sim_compile__(open(${p}).read(), ${p}, 'exec'), globals())`;
}

port.on('message', (m) => {
  let reply;
  try {
    switch (m.t) {
      case 'exec':
        mp.runPython(m.code);
        reply = {};
        break;
      case 'eval': {
        mp.runPython(`__sim_eval__ = __import__('json').dumps((\n${m.expr}\n))`);
        const json = mp.globals.get('__sim_eval__');
        mp.globals.delete('__sim_eval__');
        reply = { json };
        break;
      }
      case 'call': {
        const f = mp.globals.get(m.fn);
        if (typeof f !== 'function') throw new Error(`no Python function ${m.fn}`);
        reply = { json: JSON.stringify(f(...m.args) ?? null) };
        break;
      }
      case 'runFile': {
        const file = m.path.startsWith('/') ? m.path : `${mp.FS.cwd().replace(/\/$/, '')}/${m.path}`;
        const verdict = firmwareCheck && isFile(file) ? firmwareVerdict(file) : null;
        mp.runPython(verdict ? `raise ImportError(${JSON.stringify(verdict)})` : runFileCode(m.path));
        reply = {};
        break;
      }
      case 'writeFile':
        writeFile(m.path, m.data);
        reply = {};
        break;
      case 'readFile':
        reply = { data: mp.FS.readFile(m.path) };
        break;
      case 'replStart':
      case 'repl':
        replActive = true;
        try {
          if (m.t === 'replStart') replStart();
          else replFeed(m.bytes);
        } finally {
          replActive = false;
        }
        reply = {};
        break;
      default:
        throw new Error(`unknown command ${m.t}`);
    }
    flushOut();
    port.postMessage({ t: 'done', rid: m.rid, ok: true, ...reply });
  } catch (err) {
    flushOut();
    /** @type {any} */
    const e = err;
    if (e?.name === 'PythonError') {
      let tb = String(e.message);
      if (m.t === 'runFile') tb = tb.replace(STDIN_FRAME, '');
      port.postMessage({ t: 'done', rid: m.rid, ok: false, python: { type: e.type, traceback: tb } });
    } else {
      const message = e?.code === 'ENOENT' || e?.errno === 44 ? `no such file: ${m.path}` : String(e?.message ?? e);
      port.postMessage({ t: 'done', rid: m.rid, ok: false, error: message });
    }
  }
});

port.postMessage({ t: 'ready', errno: E, boardHeapBytes });
