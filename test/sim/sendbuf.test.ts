// The simulated board's TCP send buffer: lwIP's 2920 bytes (2 x MSS), with lwIP's blocking,
// timeout and non-blocking write semantics and select's POLLOUT, so that a peer that stops
// reading stalls writes as it does on the board.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimDevice } from '../../generator/sim/device.ts';
import { testServer } from '../support/net.ts';

/** A TCP server that keeps what it receives; with `reading` false it stops reading at once. */
const peer = (reading: boolean) => testServer((c) => void (reading || c.pause()));

describe('the board socket send buffer (lwIP, 2920 bytes)', () => {
  let dev: SimDevice;
  beforeAll(async () => {
    dev = await SimDevice.boot({});
    await dev.exec(`import socket, select, errno
def conn(port):
    s = socket.socket()
    s.connect(('127.0.0.1', port))
    return s
def E(f, *a):
    try:
        return ('ok', f(*a))
    except OSError as e:
        return ('err', errno.errorcode.get(e.args[0], e.args[0]))
def pollout(s, ms=0):
    p = select.poll()
    p.register(s, select.POLLOUT)
    return [ev for _, ev in p.poll(ms)]
`);
  });
  afterAll(() => dev?.close());

  it('send() takes at most what fits in the send buffer; non-blocking sendall() of more is EAGAIN with nothing sent', async () => {
    const p = await peer(true);
    await dev.exec(`s = conn(${p.port})
first = s.send(bytes(10000))
s.setblocking(False)
r = [E(s.sendall, bytes(2921))]
s.setblocking(True)
sizes = [first]
while sum(sizes) < 100000:
    sizes.append(s.send(bytes(100000 - sum(sizes))))
s.close()`);
    const [first, r, sizes] = await dev.eval<[number, unknown[], number[]]>('(first, r, sizes)');
    expect(first).toBe(2920); // the buffer was empty: all of it, and no more
    expect(r).toEqual([['err', 'EAGAIN']]);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(2920);
    for (let i = 0; i < 500 && p.received().length < 100000; i++) await new Promise((res) => setTimeout(res, 20));
    expect(p.received().length).toBe(100000); // nothing from the refused sendall
    await p.close();
  });

  it('a peer that stops reading stalls writes: timeout, EAGAIN, no POLLOUT; once it reads, writing goes on', async () => {
    const p = await peer(false);
    await dev.exec(`s = conn(${p.port})
s.settimeout(0.2)
sent = 0
chunk = bytes(65536)
stalled = None
while stalled is None and sent < 256 * 1024 * 1024:
    try:
        sent += s.send(chunk)
    except OSError as e:
        stalled = errno.errorcode.get(e.args[0])
full = pollout(s)
s.setblocking(False)
nb = [E(s.send, b'x'), E(s.write, b'x'), E(s.sendall, b'x')]`);
    // The host's TCP stack takes what it can (megabytes on a loopback); then the board's buffer fills.
    expect(await dev.eval('(stalled, full, nb)')).toEqual(['ETIMEDOUT', [], [['err', 'EAGAIN'], ['ok', null], ['err', 'EAGAIN']]]);
    const sent = await dev.eval<number>('sent');
    expect(sent).toBeLessThan(256 * 1024 * 1024);
    for (const c of p.conns) c.resume();
    await dev.exec(`s.setblocking(True)
s.sendall(bytes(10000))
again = pollout(s, 10000)
s.close()`);
    expect(await dev.eval('again')).toEqual([4]);
    for (let i = 0; i < 1000 && p.received().length < sent + 10000; i++) await new Promise((res) => setTimeout(res, 20));
    expect(p.received().length).toBe(sent + 10000); // every byte the board reported as sent, and only those
    await p.close();
  });
});
