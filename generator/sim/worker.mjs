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
 *   tls: boolean, dead: boolean, chunks: Uint8Array[], off: number, cached: number }} Sock
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
  socks.set(h, { slot, timeout: -1, started: false, rstHandled: false, badf: false, tls: false, dead: false, chunks: [], off: 0, cached: 0 });
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
  const c = collector();
  const r = streamRead(s, n, c.sink);
  return r < 0 ? r : c.finish(r);
}

function sockReadinto(s, addr, n) {
  return streamRead(s, n, (b, at) => heap().set(b, addr + at));
}

function sockRecv(s, n) {
  if (n <= 0) return 0;
  const r = lowRead(s, n);
  if (typeof r === 'number') return r;
  heap().set(r, stashReserve(r.length));
  return r.length;
}

/** mp_stream_unbuffered_readline: byte by byte up to and including '\n' (or `limit` bytes). */
function sockReadline(s, limit) {
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

function sockWrite(s, addr, n) {
  if (s.badf) return -E.EBADF;
  const state = st(s, P.ST_STATE);
  if (s.tls) {
    if (s.dead || state === P.S_ERROR) return 0; // axTLS: write on a lost connection gives 0
  } else {
    if (!s.started) return -E.ENOTCONN;
    // After a read consumed ECONNRESET the board writes through a NULL pcb (undefined
    // behaviour); the simulator keeps raising ECONNRESET instead.
    if (state === P.S_ERROR) return s.rstHandled ? -E.ECONNRESET : -st(s, P.ST_ERRNO);
  }
  const bytes = heap().slice(addr, addr + n);
  flushOut();
  port.postMessage({ t: 'send', id: s.slot, bytes }, [bytes.buffer]);
  return n;
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
      return (data ? mask & POLLIN : 0) | (mask & POLLOUT);
    case P.S_PEER_CLOSED:
      return mask & (POLLIN | POLLOUT);
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
  urandom: (n) => {
    randomFillSync(heap().subarray(stashReserve(n), stashAddr + n));
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
};

for (const [name, fn] of Object.entries(hostFunctions)) {
  hostFunctions[name] = (...args) => {
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
    '\ndel sys\n',
);
gcModule.collect();
const boardHeapBytes = gcModule.mem_alloc() - heapBefore;

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
  return `exec(compile(open(${p}).read(), ${p}, 'exec'), globals())`;
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
      case 'runFile':
        mp.runPython(runFileCode(m.path));
        reply = {};
        break;
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
