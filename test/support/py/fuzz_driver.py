# Fuzz targets for the runtime's parsers, one function per parser, run on the MicroPython VM
# of the simulated ESP8266 and on CPython 3.11 alike. Used by test/fuzz/parsers.test.ts
# (`npm test`: a few thousand inputs per parser; `npm run fuzz`: 100,000).
#
# run_batch(path, target, trace) reads a JSON list of cases [hex input, param] and returns, per
# case, [outcome, bytes allocated, parser calls, lines]:
#   outcome  what the parser made of the input (a short string; the host judges whether it is
#            one of the documented ones); 'raise T: msg' for an exception that escaped;
#   bytes    what the case allocated with the collector off (MicroPython: gc.mem_alloc()
#            before and after; CPython: 0);
#   calls    how many times the driver called into the parser (incremental parsers must take
#            at least a byte, or finish, per call);
#   lines    with trace (CPython only: MicroPython has no sys.settrace), the lines of the
#            runtime's code that ran: a deterministic count of its steps, loop iterations
#            included. Past LINE_CAP the case is stopped (outcome 'steps').
# The input never leaves the driver: only outcomes and counts go back.
import gc
import json
import os
import sys
from binascii import unhexlify
from errno import EAGAIN

# A fixed handshake key, so that mutated 101 responses can carry the right Sec-WebSocket-Accept
# (the host knows it): os.urandom is looked up by uwebsockets as it is imported, below.
os.urandom = lambda n: bytes(n)

MPY = sys.implementation.name == 'micropython'
LINE_CAP = 200000

from uwebsockets.protocol import Connection  # noqa: E402
from ws_peer import opened  # noqa: E402  (generator/sim/ws_peer.py)
import dial  # noqa: E402
import usocketio.polling as polling  # noqa: E402
from usocketio.client import decode  # noqa: E402
from usocketio.binary import reconstruct  # noqa: E402
import uwebsockets.closing  # noqa: E402,F401  (imported on demand: loaded before any baseline)
import uwebsockets.utf8  # noqa: E402,F401
import usocketio.surrogates  # noqa: E402,F401
import uwebsockets.handshake as _hs  # noqa: E402
import uwebsockets.protocol as _protocol  # noqa: E402
import uwebsockets.response  # noqa: E402,F401

# The handshake's modules are dropped after each handshake (to free their heap on the board),
# and compiled again for the next: a case would spend most of its time compiling. Kept here.
_hs.unload = _protocol.unload = lambda name: None

_base = [0]


def mark():
    # What the case allocates and the lines it runs count from here: the set-up before it (a
    # connection opened, the fake engine) is not the parser's.
    if MPY:
        _base[0] = gc.mem_alloc()
    _lines[0] = 0


def err(x):
    m = str(x)[:60].encode()
    return 'raise %s: %s' % (type(x).__name__, bytes(c if 32 <= c < 127 else 63 for c in m).decode())


class Calls:
    n = 0
    cap = 0  # a hang guard (the VM cannot be interrupted): past it, the case stops ('steps')

    def count():
        Calls.n += 1
        if Calls.n > Calls.cap:
            raise RuntimeError('steps')


# ------------------------------------------------------------------------------ WebSocket


def feed(c, data, chunks):
    # data handed to Connection c through buffer()/received(), chunks[i] bytes a read at most;
    # False if the decoder took no more.
    mv = memoryview(data)
    i = 0
    while len(mv):
        b = c.buffer()
        k = min(len(b), len(mv), chunks[i % len(chunks)])
        i += 1
        if not k:
            return False
        b[:k] = mv[:k]
        mv = mv[k:]
        Calls.count()
        c.received(k)
        c.out = None
        while c.msg is not None:  # taken, then what was read after it is decoded
            if len(c.msg) > c.max_size:
                raise AssertionError('message over max_size')
            c.msg = None
            Calls.count()
            c.received(-1)
            c.out = None
    return True


def read(c, data, chunks, end):
    # data read by Connection c (feed()), then the end of TCP if end; what escaped, or None.
    mark()
    try:
        feed(c, data, chunks)
        if end:
            Calls.count()
            c.received(0)
    except Exception as x:
        return err(x)
    return None


def frames(data, p):
    # p: [chunk sizes, end of TCP after the data, max_size]. uwebsockets.protocol's decoder on
    # a connection opened with a correct 101: documented, the connection is open or fails with
    # its close code; nothing escapes received().
    chunks, end, max_size = p
    c = opened(max_size)
    return read(c, data, chunks, end) or '%d %s' % (c.state, c.close_code)


def http101(data, p):
    # p: [chunk sizes, end of TCP after the data]. The handshake response, as read (through
    # uwebsockets.response.received): documented, the connection opens, waits for more, or has
    # error set (connect() raises it as HandshakeError).
    chunks, end = p
    c = Connection('peer.example', '/', None, ['chat', 'superchat'], 4096, None)
    c.output(0)  # the request, made
    c.out = None
    x = read(c, data, chunks, end)
    if x:
        return x
    if c.error is not None:
        return 'error'
    return 'open' if c.head is None else 'waiting'


def url(data, p):
    # dial.urlparse: documented, the parts or ValueError; the parts must be what a request
    # line and Host header can take.
    s = data.decode()
    try:
        Calls.n += 1
        tls, host, port, target, authority = dial.urlparse(s)
    except ValueError:
        return 'ValueError'
    except Exception as x:
        return err(x)
    if not (type(port) is int and 0 < port < 65536 and target[:1] == '/' and host and authority):
        return 'bad parts'
    for c in (target + authority).encode():
        if c < 33 or c == 127:
            return 'control character'
    return 'ok'

# ------------------------------------------------------------------------------ Engine.IO polling


class Client:
    max_size = 65536


class Engine:
    # What usocketio.polling.Poll needs of an engine: packets and the end of the response are
    # recorded, a parse error (bad) and a transport error (fail) end the case.
    def __init__(self, eio):
        self.eio = eio
        self.c = Client()
        self.packets = 0
        self.end = None

    def packet(self, p):
        if not isinstance(p, (str, bytes)):
            raise AssertionError('packet neither str nor bytes')
        self.packets += 1

    def bad(self):
        self.end = self.end or 'parse error'

    def fail(self, why, error=None):
        self.end = self.end or why


def _posted(m, e, ev, x=None):
    e.end = e.end or 'done'


polling.post = _posted  # the engine machine's event at the end of the response: recorded


class Sock:
    # The response, chunk bytes a read, then the end of the stream if end.
    def __init__(self, data, chunks, end):
        self.mv = memoryview(data)
        self.chunks = chunks
        self.i = 0
        self.end = end

    def recv_into(self, b):
        k = min(len(b), len(self.mv), self.chunks[self.i % len(self.chunks)])
        self.i += 1
        if not k and not self.end:
            raise OSError(EAGAIN)
        b[:k] = self.mv[:k]
        self.mv = self.mv[k:]
        return k

    def close(self):
        pass


class Poll(polling.Poll):
    def _parse(self):
        Calls.count()
        polling.Poll._parse(self)


def poll(data, p):
    # p: [eio, chunk sizes, end of the stream after the data]. A GET response to a long poll,
    # parsed as it is read (usocketio.polling: head, Content-Length/chunked/to-the-end body,
    # protocol 4 or 3 payload): documented, its packets then 'done', or a parse error or a
    # transport error (what pump() reports to the engine); nothing escapes pump().
    eio, chunks, end = p
    e = Engine(eio)
    g = Poll(e, 'GET')
    e.get = g
    e.posting = None
    g.sock = Sock(data, chunks, end)
    g.busy = True
    g.reused = False
    g.got = 0
    g.st = 0
    g.line = bytearray()
    g.head = bytearray()
    mark()
    try:
        k = 0
        while e.end is None and k <= len(data) + 8:  # (a hang guard: the host bounds the calls)
            k += 1
            Calls.count()
            if not polling.pump(e):
                break
    except Exception as x:
        return err(x)
    return '%s %d' % (e.end or 'waiting', e.packets)

# ------------------------------------------------------------------------------ Socket.IO


def _text(data):
    # The packet's text as the transports make it (MicroPython's str() lets invalid UTF-8
    # through; CPython's raises, which the transport reports as a parse error).
    try:
        return str(data, 'utf-8')
    except UnicodeError:
        return None


def sio(data, p):
    # usocketio.client.decode: documented, the packet or ValueError (json's errors are
    # ValueErrors on both ports).
    s = _text(data)
    if s is None:
        return 'not UTF-8'
    try:
        Calls.n += 1
        t, nsp, i, d, atts, n = decode(s, p)
    except ValueError:
        return 'ValueError'
    except Exception as x:
        return err(x)
    if not (0 <= t <= 6 and nsp[:1] == '/' and (i is None or type(i) is int and i >= 0) and 0 <= n <= 10):
        return 'bad packet'
    return 'ok %d' % t


def attach(data, p):
    # A binary packet and its attachments (p: how many are sent; the client hands the packet
    # over once as many came as it announced): usocketio.client.decode, then
    # usocketio.binary.reconstruct. Documented: the data with every placeholder replaced, or
    # ValueError.
    s = _text(data)
    if s is None:
        return 'not UTF-8'
    try:
        Calls.n += 1
        t, nsp, i, d, atts, n = decode(s)
        if not n:
            return 'no attachments'
        for k in range(n):
            atts.append(b'\x00%d' % k)
        Calls.n += 1
        d = reconstruct(d, atts)
    except ValueError:
        return 'ValueError'
    except Exception as x:
        return err(x)
    todo = [d]
    while todo:  # no placeholder left
        v = todo.pop()
        if isinstance(v, dict):
            if v.get('_placeholder') is True:
                return 'placeholder left'
            todo.extend(v.values())
        elif isinstance(v, list):
            todo.extend(v)
    return 'ok %d' % n


TARGETS = {'frames': frames, 'http101': http101, 'url': url, 'poll': poll, 'sio': sio, 'attach': attach}

# ------------------------------------------------------------------------------ batches

_lines = [0]
_root = None


def _tracer(frame, event, arg):
    if frame.f_code.co_filename.startswith(_root):
        return _local
    return None


def _local(frame, event, arg):
    if event == 'line':
        _lines[0] += 1
        if _lines[0] > LINE_CAP:
            raise RuntimeError('steps')
    return _local


def run_batch(path, target, trace=False):
    global _root
    with open(path) as f:
        cases = json.load(f)
    run = TARGETS[target]
    res = []
    if trace:
        _root = os.path.dirname(dial.__file__)  # runtime-esp8266
    for j in range(len(cases)):
        data, p = cases[j]
        cases[j] = None
        data = unhexlify(data)
        Calls.n = 0
        Calls.cap = 8 * len(data) + 100
        _lines[0] = 0
        if MPY:
            gc.disable()
            _base[0] = gc.mem_alloc()
        if trace:
            sys.settrace(_tracer)
        try:
            out = run(data, p)
        except RuntimeError as x:
            if str(x) != 'steps':
                raise
            out = 'steps'
        finally:
            if trace:
                sys.settrace(None)
        if MPY:
            a = gc.mem_alloc() - _base[0]
            gc.enable()
        else:
            a = 0
        res.append([out, a, Calls.n, _lines[0]])
    # The counters back to what they were, as every case's state is gone: the host compares
    # the heap reachable from the modules across batches.
    Calls.n = Calls.cap = _lines[0] = _base[0] = 0
    return res


if __name__ == '__main__':  # CPython: python3 fuzz_driver.py <batch file> <target> [out file]
    r = run_batch(sys.argv[1], sys.argv[2], True)
    with open(sys.argv[3], 'w') as f:
        json.dump(r, f)
