import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { PythonError, SimDevice, projectFiles, runScript } from '../../generator/sim/device.ts';
import { freePort, sleep, testServer as server, type TestServer } from '../support/net.ts';

const fixture = (name: string) => fs.readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');

// Helpers defined in the VM: E() runs a call and reports ('ok', value) or ('err', 'ERRNAME').
const PRELUDE = `
import socket, select, ssl, errno, time, gc, binascii
def E(f, *a):
    try:
        r = f(*a)
    except OSError as e:
        return ('err', errno.errorcode.get(e.args[0], e.args[0]))
    if isinstance(r, (bytes, bytearray)):
        r = r.decode()
    return ('ok', r)
def conn(port, timeout=None):
    s = socket.socket()
    s.connect(('127.0.0.1', port))
    s.settimeout(timeout)
    return s
`;

let dev: SimDevice;
let out = '';

beforeAll(async () => {
  dev = await SimDevice.boot({ stdout: (s) => (out += s) });
  await dev.exec(PRELUDE);
});
afterAll(async () => {
  await dev?.close();
});

describe('plain sockets', () => {
  it('recv returns what is there (up to n), then b"" at EOF', async () => {
    const srv = await server((c) => {
      c.write('abc');
      setTimeout(() => c.end(), 50);
    });
    await dev.exec(`s = conn(${srv.port})\nr = [E(s.recv, 10), E(s.recv, 10), E(s.recv, 10)]\ns.close()`);
    expect(await dev.eval('r')).toEqual([['ok', 'abc'], ['ok', ''], ['ok', '']]);
    await srv.close();
  });

  it('recv returns at most n bytes', async () => {
    const srv = await server((c) => c.write('abcdef'));
    await dev.exec(`s = conn(${srv.port})\ntime.sleep_ms(30)\nr = [E(s.recv, 2), E(s.recv, 10)]\ns.close()`);
    expect(await dev.eval('r')).toEqual([['ok', 'ab'], ['ok', 'cdef']]);
    await srv.close();
  });

  it('read(n) and readinto keep reading until full size or EOF', async () => {
    const srv = await server((c) => {
      c.write('ab');
      setTimeout(() => c.write('cdefgh'), 30);
      setTimeout(() => c.write('ijklmnop'), 60);
      setTimeout(() => c.end('qr'), 90);
    });
    await dev.exec(`
s = conn(${srv.port})
r = [E(s.read, 5)]
b = bytearray(6)
r.append(E(s.readinto, b))
r.append(bytes(b).decode())
r.append(E(s.readinto, b, 2))
r.append(E(s.read))
r.append(E(s.read, 4))
r.append(E(s.readinto, b))
s.close()`);
    expect(await dev.eval('r')).toEqual([
      ['ok', 'abcde'],
      ['ok', 6],
      'fghijk',
      ['ok', 2],
      ['ok', 'nopqr'],
      ['ok', ''],
      ['ok', 0],
    ]);
    await srv.close();
  });

  it('readline reads up to and including a newline, across chunks, with an optional limit', async () => {
    const srv = await server((c) => {
      c.write('line1\nli');
      setTimeout(() => c.write('ne2\nabcdef\n'), 30);
      setTimeout(() => c.end('tail'), 60);
    });
    await dev.exec(`
s = conn(${srv.port})
r = [E(s.readline), E(s.readline), E(s.readline, 3), E(s.readline), E(s.readline), E(s.readline)]
s.close()`);
    expect(await dev.eval('r')).toEqual([
      ['ok', 'line1\n'],
      ['ok', 'line2\n'],
      ['ok', 'abc'],
      ['ok', 'def\n'],
      ['ok', 'tail'],
      ['ok', ''],
    ]);
    await srv.close();
  });

  it('timeouts raise ETIMEDOUT; a stream read loses the bytes it had consumed', async () => {
    const srv = await server((c) => {
      c.write('abc');
      setTimeout(() => c.write('XYZ'), 250);
      setTimeout(() => c.write('123'), 400);
    });
    await dev.exec(`
s = conn(${srv.port}, 0.1)
t = time.ticks_ms()
r = [E(s.read, 10)]
r.append(time.ticks_diff(time.ticks_ms(), t) >= 100)
r.append(E(s.recv, 10))
s.settimeout(2)
r.append(E(s.read, 3))
s.settimeout(0.05)
b = bytearray(b'..........')
r.append(E(s.readinto, b))
r.append(bytes(b).decode())
s.settimeout(2)
r.append(E(s.recv, 10))
s.close()`);
    expect(await dev.eval('r')).toEqual([
      ['err', 'ETIMEDOUT'], // read(10) consumed 'abc', then timed out: 'abc' is gone
      true,
      ['err', 'ETIMEDOUT'],
      ['ok', 'XYZ'],
      ['err', 'ETIMEDOUT'], // nothing arrived within 50 ms
      '..........',
      ['ok', '123'],
    ]);
    await srv.close();
  });

  it('readinto that times out after some bytes has already written them into the buffer', async () => {
    const srv = await server((c) => c.write('abc'));
    await dev.exec(`
s = conn(${srv.port}, 0.1)
b = bytearray(b'..........')
r = [E(s.readinto, b), bytes(b).decode()]
s.close()`);
    expect(await dev.eval('r')).toEqual([['err', 'ETIMEDOUT'], 'abc.......']);
    await srv.close();
  });

  it('non-blocking mode: EAGAIN / None when empty, partial reads, EOF', async () => {
    let peer: net.Socket | undefined;
    const srv = await server((c) => (peer = c));
    await dev.exec(`
s = conn(${srv.port})
s.setblocking(False)
b = bytearray(10)
r = [E(s.recv, 10), E(s.read, 10), E(s.readinto, b), E(s.readline), E(s.read)]
r = [x if x != ('ok', None) else 'None' for x in r]`);
    expect(await dev.eval('r')).toEqual([['err', 'EAGAIN'], 'None', 'None', 'None', 'None']);
    peer?.write('hi\npartial');
    await sleep(50);
    await dev.exec(`r = [E(s.readline), E(s.read, 100), E(s.read, 100)]\nr[-1] = 'None' if r[-1] == ('ok', None) else r[-1]`);
    expect(await dev.eval('r')).toEqual([['ok', 'hi\n'], ['ok', 'partial'], 'None']);
    peer?.write('xy');
    await sleep(50);
    await dev.exec(`r = [E(s.readinto, b), bytes(b[:2]).decode()]`);
    expect(await dev.eval('r')).toEqual([['ok', 2], 'xy']);
    peer?.end();
    await sleep(50);
    await dev.exec(`r = [E(s.recv, 10), E(s.read, 10), E(s.readinto, b), E(s.read)]\ns.close()`);
    expect(await dev.eval('r')).toEqual([['ok', ''], ['ok', ''], ['ok', 0], ['ok', '']]);
    await srv.close();
  });

  it('write/send/sendall hand everything to the host and return the full length', async () => {
    const srv = await server(() => {});
    await dev.exec(`
s = conn(${srv.port})
r = [s.write(b'x' * 100000), s.send(bytearray(b'yz')), s.sendall(memoryview(b'--abc--')[2:5]), s.write(b'')]
s.setblocking(False)
r.append(s.write(b'!'))
`);
    expect(await dev.eval('r')).toEqual([100000, 2, null, 0, 1]);
    await sleep(100);
    expect(srv.received()).toBe('x'.repeat(100000) + 'yzabc!');
    await dev.exec('s.close()');
    await srv.close();
  });

  it('a refused connection raises ECONNRESET (lwIP reports the RST that answers the SYN)', async () => {
    const port = await freePort();
    await dev.exec(`
s = socket.socket()
r = [E(s.connect, ('127.0.0.1', ${port})), E(s.recv, 1), E(s.recv, 1)]
s.close()`);
    expect(await dev.eval('r')).toEqual([['err', 'ECONNRESET'], ['err', 'ECONNRESET'], ['ok', '']]);
  });

  it('non-blocking connect raises EINPROGRESS and completes in the background (POLLOUT)', async () => {
    const srv = await server((c) => c.end('done'));
    const port = await freePort();
    await dev.exec(`
s = socket.socket()
s.setblocking(False)
r = [E(s.connect, ('127.0.0.1', ${srv.port}))]
p = select.poll()
p.register(s, select.POLLOUT)
r.append([ev for o, ev in p.poll(1000) if o is s])
s.setblocking(True)
r.append(E(s.read))
s.close()
s = socket.socket()
s.setblocking(False)
r.append(E(s.connect, ('127.0.0.1', ${port})))
p = select.poll()
p.register(s, select.POLLIN | select.POLLOUT)
r.append(p.poll(1000)[0][1])
s.close()`);
    expect(await dev.eval('r')).toEqual([
      ['err', 'EINPROGRESS'],
      [4],
      ['ok', 'done'],
      ['err', 'EINPROGRESS'],
      1 | 4 | 8 | 16, // reset: readable, writable, POLLERR, POLLHUP
    ]);
    await srv.close();
  });

  it('operations on a closed socket raise EBADF; address syntax is checked as on the board', async () => {
    const srv = await server(() => {});
    await dev.exec(`
s = conn(${srv.port})
s.close()
s.close()
r = [E(s.recv, 1), E(s.read, 1), E(s.write, b'x'), E(s.send, b'x')]
try:
    socket.socket().connect(('localhost', 80))
except ValueError as e:
    r.append(str(e))
r.append(socket.getaddrinfo('localhost', 8080))
r.append(socket.getaddrinfo('10.1.2.3', 80, 0, socket.SOCK_STREAM))`);
    expect(await dev.eval('r')).toEqual([
      ['err', 'EBADF'],
      ['err', 'EBADF'],
      ['err', 'EBADF'],
      ['err', 'EBADF'],
      'invalid arguments',
      [[2, 1, 0, '', ['127.0.0.1', 8080]]],
      [[2, 1, 0, '', ['10.1.2.3', 80]]],
    ]);
    await srv.close();
  });

  it('a reset by the peer raises ECONNRESET once, then reads give EOF', async () => {
    let peer: net.Socket | undefined;
    const srv = await server((c) => (peer = c));
    await dev.exec(`s = conn(${srv.port})\ntime.sleep_ms(20)`);
    peer?.resetAndDestroy();
    await sleep(50);
    await dev.exec(`
p = select.poll()
p.register(s, select.POLLIN)
r = [p.poll(0)[0][1], E(s.recv, 5), p.poll(0)[0][1], E(s.recv, 5), E(s.read, 5)]
s.close()`);
    expect(await dev.eval('r')).toEqual([1 | 8 | 16, ['err', 'ECONNRESET'], 1 | 16, ['ok', ''], ['ok', '']]);
    await srv.close();
  });
});

describe('select', () => {
  it('poll reports readiness, times out, sees EOF, and supports modify/unregister/ipoll', async () => {
    let peer: net.Socket | undefined;
    const srv = await server((c) => (peer = c));
    await dev.exec(`
s = conn(${srv.port})
p = select.poll()
p.register(s, select.POLLIN)
t = time.ticks_ms()
r = [p.poll(150), time.ticks_diff(time.ticks_ms(), t) >= 140]
p.modify(s, select.POLLIN | select.POLLOUT)
r.append([ev for o, ev in p.poll(0)])
p.modify(s, select.POLLIN)`);
    expect(await dev.eval('r')).toEqual([[], true, [4]]);
    setTimeout(() => peer?.write('data'), 80);
    await dev.exec(`
t = time.ticks_ms()
res = p.poll(2000)
r = [len(res), res[0][0] is s, res[0][1], time.ticks_diff(time.ticks_ms(), t) < 1000]
r.append(E(s.recv, 10))
r.append(p.poll(0))
r.append([(o is s, ev) for o, ev in p.ipoll(0)])`);
    expect(await dev.eval('r')).toEqual([1, true, 1, true, ['ok', 'data'], [], []]);
    peer?.end();
    await dev.exec(`
r = [[ev for o, ev in p.poll(2000)], E(s.recv, 10)]
one = [ev for o, ev in p.ipoll(0, 1)]
r += [one, p.poll(0)]
p.unregister(s)
p.unregister(s)
r.append(p.poll(0))
try:
    p.modify(s, select.POLLIN)
except OSError as e:
    r.append(errno.errorcode[e.args[0]])
s.close()
p.register(s, select.POLLIN)
r.append([ev for o, ev in p.poll(0)])`);
    expect(await dev.eval('r')).toEqual([[1], ['ok', ''], [1], [], [], 'ENOENT', [32]]);
    await srv.close();
  });

  it('select.select with timeouts', async () => {
    let peer: net.Socket | undefined;
    const srv = await server((c) => (peer = c));
    await dev.exec(`
s = conn(${srv.port})
t = time.ticks_ms()
a = select.select([s], [], [], 0.1)
r = [a, time.ticks_diff(time.ticks_ms(), t) >= 90]
a = select.select([s], [s], [], 0)
r.append([len(a[0]), len(a[1]), a[1][0] is s])`);
    expect(await dev.eval('r')).toEqual([[[], [], []], true, [0, 1, true]]);
    setTimeout(() => peer?.write('x'), 50);
    await dev.exec(`a = select.select([s], [], [])\nr = [len(a[0]), a[0][0] is s, E(s.recv, 1)]\ns.close()`);
    expect(await dev.eval('r')).toEqual([1, true, ['ok', 'x']]);
    await srv.close();
  });

  it('waiting in poll does not spin the CPU', async () => {
    const srv = await server(() => {});
    await dev.exec(`s = conn(${srv.port})\np = select.poll()\np.register(s, select.POLLIN)`);
    const c0 = process.cpuUsage();
    await dev.exec('p.poll(300)\ns.close()');
    const c = process.cpuUsage(c0);
    expect((c.user + c.system) / 1000).toBeLessThan(150);
    await srv.close();
  });
});

describe('ssl', () => {
  let srv: TestServer;
  beforeAll(async () => {
    srv = await server((c) => c.on('data', (d) => c.write(d)), true);
    await dev.writeFile('/ca.pem', fixture('server-cert.pem'));
    await dev.writeFile('/other.pem', fixture('other-ca-cert.pem'));
    await dev.exec(`CA = open('/ca.pem', 'rb').read()\nOTHER = open('/other.pem', 'rb').read()`);
  });
  afterAll(() => srv.close());

  it('round trip, readinto, readline, and POLLIN for decrypted bytes already buffered', async () => {
    await dev.exec(`
s = conn(${srv.port})
t = ssl.wrap_socket(s, server_hostname='localhost')
r = [sorted(m for m in dir(t) if not m.startswith('_'))]
t.write(b'hello tls\\n')
r.append(E(t.readline))
t.write(b'abcdefgh')
b = bytearray(4)
r.append(E(t.readinto, b))
r.append(bytes(b).decode())
p = select.poll()
p.register(t, select.POLLIN)
r.append([ev for o, ev in p.poll(0)])
r.append(E(t.read, 4))
r.append(p.poll(0))
t.close()
r.append(E(t.read, 1))`);
    expect(await dev.eval('r')).toEqual([
      ['close', 'read', 'readinto', 'readline', 'setblocking', 'write'],
      ['ok', 'hello tls\n'],
      ['ok', 4],
      'abcd',
      [1],
      ['ok', 'efgh'],
      [],
      ['err', 'EBADF'],
    ]);
  });

  it('verifies the certificate only with CERT_REQUIRED and cadata', async () => {
    await dev.exec(`
def tls_echo(**kw):
    s = conn(${srv.port})
    try:
        t = ssl.wrap_socket(s, **kw)
    except OSError as e:
        s.close()
        return e.args[0]
    t.write(b'ok')
    r = t.read(2).decode()
    t.close()
    return r
r = [
    tls_echo(),
    tls_echo(cert_reqs=ssl.CERT_REQUIRED, cadata=CA, server_hostname='localhost'),
    tls_echo(cert_reqs=ssl.CERT_REQUIRED, cadata=OTHER, server_hostname='localhost'),
    tls_echo(cert_reqs=ssl.CERT_OPTIONAL, cadata=OTHER),
    tls_echo(cert_reqs=ssl.CERT_REQUIRED, cadata=CA, server_hostname='wrong.example'),
]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.verify_mode = ssl.CERT_REQUIRED
ctx.load_verify_locations(cadata=CA)
s = conn(${srv.port})
t = ctx.wrap_socket(s, server_hostname='localhost')
t.write(b'ctx')
r.append(t.read(3).decode())
t.close()
import ussl
r.append(ussl.wrap_socket is ssl.wrap_socket)`);
    expect(await dev.eval('r')).toEqual(['ok', 'ok', -9984, 'ok', -9984, 'ctx', true]);
  });

  it('non-blocking, handshake deferred (as asyncio.open_connection does it)', async () => {
    await dev.exec(`
s = socket.socket()
s.setblocking(False)
r = [E(s.connect, ('127.0.0.1', ${srv.port}))]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
t = ctx.wrap_socket(s, server_hostname='localhost', do_handshake_on_connect=False)
t.setblocking(False)
r.append(E(t.read, 10))
r.append(t.write(b'async'))
p = select.poll()
p.register(t, select.POLLIN)
r.append([ev for o, ev in p.poll(2000)])
r.append(E(t.read, 10))
t.close()`);
    expect(await dev.eval('r')).toEqual([['err', 'EINPROGRESS'], ['ok', null], 5, [1], ['ok', 'async']]);
  });

  it('a read timeout on TLS ends the connection as EOF (axTLS treats it as a lost connection)', async () => {
    await dev.exec(`
s = conn(${srv.port}, 0.1)
t = ssl.wrap_socket(s)
r = [E(t.read, 4), E(t.read, 4), t.write(b'x')]
t.close()`);
    expect(await dev.eval('r')).toEqual([['ok', ''], ['ok', ''], 0]);
  });
});

describe('binascii, hashlib, os, time', () => {
  it('sha1 matches the standard vectors, incrementally too', async () => {
    await dev.exec(`
import hashlib
h = lambda b: binascii.hexlify(b).decode()
r = [h(hashlib.sha1().digest()), h(hashlib.sha1(b'abc').digest()),
     h(hashlib.sha1(b'abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq').digest())]
m = hashlib.sha1()
chunk = b'a' * 1000
for i in range(1000):
    m.update(chunk)
r.append(h(m.digest()))
m = hashlib.sha1(b'ab')
m.update(bytearray(b'c'))
r.append(h(m.digest()))
try:
    m.digest()
except ValueError as e:
    r.append(str(e))
r.append(h(hashlib.sha256(b'abc').digest())[:16])`);
    expect(await dev.eval('r')).toEqual([
      'da39a3ee5e6b4b0d3255bfef95601890afd80709',
      'a9993e364706816aba3e25717850c26c9cd0d89d',
      '84983e441c3bd26ebaae4aa1f95129e5e54670f1',
      '34aa973cd4c4daa4f61eeb2bdbad27316534016f',
      'a9993e364706816aba3e25717850c26c9cd0d89d',
      'hash is final',
      'ba7816bf8f01cfea',
    ]);
  });

  it("binascii is the board's C module: no crc32, ValueError for bad padding, a call allocates its result only", async () => {
    await dev.exec(`
k = bytes(range(16))
gc.collect()`);
    await dev.exec(`
gc.disable()
a = gc.mem_alloc()
e = binascii.b2a_base64(k)
n = gc.mem_alloc() - a
gc.enable()
r = [e.decode(), binascii.a2b_base64(e) == k, n, hasattr(binascii, 'crc32'), binascii.hexlify(b'\\x01\\xff').decode()]
try:
    binascii.a2b_base64(b'AAA')
except ValueError as x:
    r.append(str(x))`);
    const r = await dev.eval<unknown[]>('r');
    expect(r[0]).toBe('AAECAwQFBgcICQoLDA0ODw==\n');
    expect([r[1], r[3], r[4], r[5]]).toEqual([true, false, '01ff', 'incorrect padding']);
    expect(r[2]).toBeLessThanOrEqual(128); // 96: the 25 bytes and their object; micropython-lib's Python binascii: about 3 KB
  });

  it('os.urandom and os.uname', async () => {
    await dev.exec(`
import os
a = os.urandom(32)
b = os.urandom(32)
r = [len(a), type(a) is bytes, a != b, len(set(a)) > 8, os.urandom(0), list(os.uname()), os.uname().sysname]
r[4] = r[4].decode()`);
    const r = await dev.eval<unknown[]>('r');
    expect(r.slice(0, 5)).toEqual([32, true, true, true, '']);
    const [sysname, nodename, , version, machine] = r[5] as string[];
    expect([sysname, nodename, machine]).toEqual(['esp8266', 'esp8266', 'ESP module with ESP8266']);
    expect(version).toMatch(/simulated/);
    expect(r[6]).toBe('esp8266');
  });

  it('sleep blocks without spinning; the clock uses the board epoch (2000)', async () => {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await dev.exec('time.sleep(0.15)\ntime.sleep_ms(100)\ntime.sleep_us(50000)');
    const wall = performance.now() - t0;
    const c = process.cpuUsage(c0);
    expect(wall).toBeGreaterThanOrEqual(295);
    expect((c.user + c.system) / 1000).toBeLessThan(150);
    const t = await dev.eval<number>('time.time()');
    expect(Math.abs(t - (Date.now() / 1000 - 946684800))).toBeLessThan(5);
    expect(await dev.eval('time.gmtime(0)[:3]')).toEqual([2000, 1, 1]);
    expect(await dev.eval('time.mktime((2000, 1, 2, 0, 0, 0, 0, 0))')).toBe(86400);
  });
});

describe('device API', () => {
  it('exec calls share one live interpreter; gc figures are read in a later call', async () => {
    await dev.exec('shared = [1, 2, 3]');
    await dev.exec('shared.append(4)');
    expect(await dev.eval('shared')).toEqual([1, 2, 3, 4]);
    expect(await dev.eval('{"a": (1, 2.5), "b": None, "c": True}')).toEqual({ a: [1, 2.5], b: null, c: true });
    await dev.exec('gc.collect()');
    const base = await dev.eval<number>('gc.mem_alloc()');
    await dev.exec('big = bytearray(50000)');
    const withBig = await dev.eval<number>('gc.mem_alloc()');
    expect(withBig - base).toBeGreaterThanOrEqual(50000);
    await dev.exec('del big\ngc.collect()');
    expect(await dev.eval<number>('gc.mem_alloc()')).toBeLessThan(withBig - 45000);
  });

  it('uncaught exceptions reject with PythonError carrying the board traceback', async () => {
    const err = await dev.exec('def f():\n    raise ValueError("boom")\nf()').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PythonError);
    expect(err).toMatchObject({
      type: 'ValueError',
      message: 'ValueError: boom',
      traceback: 'Traceback (most recent call last):\n  File "<stdin>", line 3, in <module>\n  File "<stdin>", line 2, in f\nValueError: boom\n',
    });
    // Frames of the simulator's board modules are not shown (they are C on the board).
    const port = await freePort();
    const err2 = (await dev.exec(`s = socket.socket()\ns.connect(('127.0.0.1', ${port}))`).catch((e: unknown) => e)) as PythonError;
    expect(err2.traceback).toBe('Traceback (most recent call last):\n  File "<stdin>", line 2, in <module>\nOSError: [Errno 104] ECONNRESET\n');
    await expect(dev.eval('undefined_name')).rejects.toMatchObject({ type: 'NameError' });
  });

  it('files: writeFile/readFile, runFile as __main__', async () => {
    await dev.writeFile('/lib/pkg/helper.py', 'def twice(x):\n    return 2 * x\n');
    await dev.writeFile('/app.py', 'from pkg.helper import twice\nresult = twice(21)\nprint("app", __name__)\n');
    expect(Buffer.from(await dev.readFile('/app.py')).toString()).toContain('twice(21)');
    out = '';
    await dev.runFile('/app.py');
    expect(out).toBe('app __main__\n');
    expect(await dev.eval('result')).toBe(42);
    await dev.writeFile('/bad.py', 'x = 1\nraise KeyError("k")\n');
    await expect(dev.runFile('/bad.py')).rejects.toMatchObject({
      traceback: 'Traceback (most recent call last):\n  File "/bad.py", line 2, in <module>\nKeyError: k\n',
    });
    await expect(dev.readFile('/nope.txt')).rejects.toThrow();
  });

  it('output reaches stdout in order with network effects', async () => {
    const events: string[] = [];
    const srv = await server((c) => c.on('data', (d) => events.push(`net:${d}`)));
    const d = await SimDevice.boot({ stdout: (s) => events.push(`out:${s}`) });
    try {
      await d.exec(`
import socket, time
s = socket.socket()
s.connect(('127.0.0.1', ${srv.port}))
print('before')
s.write(b'1')
time.sleep_ms(100)
print('after', end='')
s.write(b'2')
time.sleep_ms(100)
s.close()`);
      expect(events).toEqual(['out:before\n', 'net:1', 'out:after', 'net:2']);
    } finally {
      await d.close();
      await srv.close();
    }
  });

  it('close() stops a script that never returns', async () => {
    const d = await SimDevice.boot();
    const loop = expect(d.exec('while True:\n    pass')).rejects.toThrow(/closed/);
    await sleep(100);
    await d.close();
    await loop;
    await expect(d.exec('1')).rejects.toThrow(/closed/);
  });

  it('close() stops a script blocked in a socket read', async () => {
    const srv = await server(() => {});
    const d = await SimDevice.boot();
    const blocked = expect(
      d.exec(`import socket\ns = socket.socket()\ns.connect(('127.0.0.1', ${srv.port}))\ns.recv(1)`),
    ).rejects.toThrow(/closed/);
    await sleep(100);
    await d.close();
    await blocked;
    await srv.close();
  });

  it('a worker that dies rejects pending calls', async () => {
    const d = await SimDevice.boot();
    const loop = expect(d.exec('while True:\n    pass')).rejects.toThrow(/stopped/);
    await sleep(50);
    await (d as unknown as { worker: { terminate(): Promise<number> } }).worker.terminate();
    await loop;
    await d.close();
  });
});

describe('project files and runScript', () => {
  let root: string;
  beforeAll(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'wirestate-sim-'));
    const put = (rel: string, text: string) => {
      fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
      fs.writeFileSync(path.join(root, rel), text);
    };
    put('runtime-esp8266/wsrt/__init__.py', '');
    put('runtime-esp8266/wsrt/core.py', 'NAME = "core"\n');
    put('runtime-esp8266/wsrt/__pycache__/core.cpython-312.pyc', 'x');
    put('runtime-esp8266/README.md', 'not python');
    put('generated/micropython/proto_fsm.py', 'STATES = 3\n');
    put('ok.py', 'import wsrt.core, proto_fsm\nprint(wsrt.core.NAME, proto_fsm.STATES)\n');
    put('boom.py', 'print("hi")\n\ndef f():\n    raise RuntimeError("bad")\nf()\n');
    put('exit3.py', 'import sys\nsys.exit(3)\n');
  });
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  it('projectFiles maps the runtime (package layout kept) and generated modules to /lib', () => {
    expect(Object.keys(projectFiles(root)).sort()).toEqual([
      '/lib/proto_fsm.py',
      '/lib/wsrt/__init__.py',
      '/lib/wsrt/core.py',
    ]);
  });

  it('runScript returns the exit code and prints tracebacks as the board does', async () => {
    let o = '';
    let e = '';
    const opts = { root, stdout: (s: string) => (o += s), stderr: (s: string) => (e += s) };
    expect(await runScript(path.join(root, 'ok.py'), opts)).toBe(0);
    expect(o).toBe('core 3\n');
    o = '';
    expect(await runScript(path.join(root, 'boom.py'), opts)).toBe(1);
    expect(o).toBe('hi\n');
    expect(e).toBe(
      'Traceback (most recent call last):\n  File "boom.py", line 5, in <module>\n  File "boom.py", line 4, in f\nRuntimeError: bad\n',
    );
    expect(await runScript(path.join(root, 'exit3.py'), opts)).toBe(3);
  });
});
