// Out-of-memory injection on the simulated ESP8266 (board module simfault): a read that fails
// as its allocation would, and a read that leaves the heap locked until the next board call.
import * as net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimDevice } from '../../generator/sim/device.ts';

describe('simfault: out-of-memory injection', () => {
  let dev: SimDevice;
  let srv: net.Server;
  let port = 0;
  beforeAll(async () => {
    // Each connection gets three lines at once, then EOF.
    srv = net.createServer((c) => {
      c.on('error', () => {});
      c.end('first\nsecond\nthird\n');
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    port = (srv.address() as net.AddressInfo).port;
    dev = await SimDevice.boot({});
    await dev.exec(`import socket, select, simfault, micropython
def conn():
    s = socket.socket()
    s.connect(('127.0.0.1', ${port}))
    p = select.poll()
    p.register(s, select.POLLIN)
    p.poll(10000)  # the lines are there
    return s
def outcome(f, *args, **kw):
    try:
        return ('ok', simfault.run(f, *args, **kw), simfault.fired())
    except MemoryError:
        return ('MemoryError', None, simfault.fired())
`);
  });
  afterAll(async () => {
    await dev?.close();
    await new Promise<void>((r) => srv.close(() => r()));
  });

  it('fail_read=n: the n-th allocating read raises MemoryError and consumes nothing', async () => {
    await dev.exec(`s = conn()
def two():
    s.readline()
    return s.readline()
r = [outcome(two, fail_read=2), outcome(s.recv, 100, fail_read=1), outcome(s.readline)]
s.close()`);
    expect(await dev.eval('[(a, b.decode() if b else b, c) for a, b, c in r]')).toEqual([
      ['MemoryError', null, 1], // the first readline ran, the second failed
      ['MemoryError', null, 1],
      ['ok', 'second\n', 0],
    ]);
  });

  it('lock_after_read=n: the n-th read returns its data, then allocations fail until the next board call', async () => {
    await dev.exec(`s = conn()
got = []
def decode():
    line = s.readline()
    got.append(line)  # room to spare in the list: no allocation
    return line.decode()  # a new str: an allocation
def decode_after_next_read():
    try:
        decode()
    except MemoryError:
        pass
    return s.readline()  # a board call: the heap is released, the read allocates
r = [outcome(decode, lock_after_read=1), outcome(decode_after_next_read, lock_after_read=1), outcome(decode)]
s.close()`);
    expect(await dev.eval('[(a, b.decode() if isinstance(b, bytes) else b, c) for a, b, c in r]')).toEqual([
      ['MemoryError', null, 1],
      ['ok', 'third\n', 1],
      ['ok', '', 0], // EOF: nothing armed, nothing fired
    ]);
    // The lines read under the lock were consumed; the heap is usable again.
    expect(await dev.eval('([x.decode() for x in got], [1] * 3)')).toEqual([['first\n', 'second\n', ''], [1, 1, 1]]);
  });

  it('the heap is released when run() returns, even when the armed read never came', async () => {
    await dev.exec(`s = conn()
r = outcome(lambda: 1, lock_after_read=1)
x = [1, 2]  # allocates
s.close()`);
    expect(await dev.eval('(r, x)')).toEqual([['ok', 1, 0], [1, 2]]);
  });
});
