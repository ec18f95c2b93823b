# Drives the Engine.IO / Socket.IO client (usocketio) with hostile server input inside the
# MicroPython VM of the simulated ESP8266. Used by test/hostile/socketio.test.ts.
#
# Two kinds of batches, each a JSON file of cases; each returns one result per case and prints
# '@<index>' as each case starts, so that the host can tell which case a hang is in (the VM
# cannot be interrupted).
#
# unit_batch(path): the sans-I/O decoders called directly.
#   ['pdec', hex body, eio]       usocketio.polling.decode -> ['ok', packets] | ['raise', type, msg]
#   ['penc', packets, eio]        encode, then decode again -> ['ok', hex payload, packets]
#   ['plim', lengths, eio, limit] POSTs of text packets of those lengths under a maxPayload
#                                 -> ['ok', [[packets, bytes] per POST]]
#   ['sdec', text]                usocketio.client.decode -> ['ok', [t, nsp, id, json, n]] | ['raise', ...]
#   ['bin', tagged data]          binary.deconstruct, a JSON round trip, binary.reconstruct
#   ['recon', json text, natts]   binary.reconstruct of decoded JSON with natts attachments
#   ['deep', depth, shape]        deconstruct/reconstruct and client.decode of deeply nested data
#   Packets are ['s', hex of the str's UTF-8] or ['b', hex of bytes]; tagged data marks bytes
#   as {"$b": hex}.
#
# session_batch(path): whole sessions through the public API (usocketio.client.connect with
#   wait=False, then Client.step(0) until nothing more happens). Nothing is faked above the
#   socket: the board's socket module gets a scripted server (Net/Sock below) that speaks
#   HTTP/1.1 long-polling and the WebSocket handshake and frames, so dial, the polling
#   transport's HTTP parser, the payload codec, the engine and heartbeat machines, uwebsockets,
#   the Socket.IO decoder, binary reassembly, the manager and namespace machines and the
#   handlers all run as they do on the board. A case: {eio, transport, reconnect (0: none,
#   else reconnection_attempts), rx (bytes per read), sessions (see Net)}; its result: [handler
#   calls, exceptions out of step(), what the client sent per session, manager state,
#   engine.reason, engine state, steps, request lines, [the most handler calls and the most
#   packets to send that waited at once]].
import json
from binascii import hexlify, unhexlify, b2a_base64
from errno import EAGAIN, EBADF
from hashlib import sha1
import socket as board_socket  # dial.py's socket module: the scripted server is patched in

# ------------------------------------------------------------------------------ helpers


def h(b):
    return hexlify(b).decode()


def spkt(p):
    # A packet as the host reads it: str by its UTF-8 (it may hold what MicroPython's str()
    # lets through, which is not valid Unicode), bytes as they are.
    return ['s', h(p.encode())] if isinstance(p, str) else ['b', h(p)]


def untag(x):
    # Tagged JSON (bytes as {"$b": hex}) to Python data, without recursion.
    root = [x]
    todo = [(root, 0)]
    while todo:
        c, k = todo.pop()
        v = c[k]
        if isinstance(v, dict):
            if len(v) == 1 and '$b' in v:
                c[k] = unhexlify(v['$b'])
            else:
                todo.extend((v, j) for j in v)
        elif isinstance(v, list):
            todo.extend((v, j) for j in range(len(v)))
    return root[0]


def depth(x):
    d = 0
    todo = [(x, 1)]
    while todo:
        v, n = todo.pop()
        if isinstance(v, dict):
            v = list(v.values())
        if isinstance(v, (list, tuple)):
            d = max(d, n)
            todo.extend((w, n + 1) for w in v)
    return d


def tag(x):
    # Python data to tagged JSON-able data (a copy), without recursion; data too deep for
    # json.dumps (recursive in C) is summarized.
    if depth(x) > 60:
        return {'$deep': depth(x)}
    root = [x]
    todo = [(root, 0)]
    while todo:
        c, k = todo.pop()
        v = c[k]
        if isinstance(v, (bytes, bytearray)):
            c[k] = {'$b': h(v)}
        elif isinstance(v, dict):
            c[k] = v = dict(v)
            todo.extend((v, j) for j in v)
        elif isinstance(v, (list, tuple)):
            c[k] = v = list(v)
            todo.extend((v, j) for j in range(len(v)))
        elif isinstance(v, str):
            c[k] = {'$s': h(v.encode())}  # str by its bytes: see spkt
    return root[0]


def same(a, b):
    # a == b for nested data, without recursion (== on deep lists recurses in C).
    todo = [(a, b)]
    while todo:
        x, y = todo.pop()
        if isinstance(x, (bytes, bytearray)) or isinstance(y, (bytes, bytearray)):
            if not (isinstance(x, (bytes, bytearray)) and isinstance(y, (bytes, bytearray)) and bytes(x) == bytes(y)):
                return False
        elif isinstance(x, dict):
            if not isinstance(y, dict) or len(x) != len(y):
                return False
            for k in x:
                if k not in y:
                    return False
                todo.append((x[k], y[k]))
        elif isinstance(x, (list, tuple)):
            if not isinstance(y, (list, tuple)) or len(x) != len(y):
                return False
            todo.extend(zip(x, y))
        elif type(x) is not type(y) or x != y:
            return False
    return True


def printable(s):
    # Printable ASCII of s (str or bytes), '?' for the rest. Works on bytes: indexing or
    # iterating a str interns each character it yields as a qstr, which would show as growth.
    b = s.encode() if isinstance(s, str) else s
    return bytes(c if 32 <= c < 127 else 63 for c in b[:80]).decode()


def err(x):
    return ['raise', type(x).__name__, printable(str(x))]


def batch(path, run):
    with open(path) as f:
        cases = json.load(f)
    res = []
    for i in range(len(cases)):
        print('@%d' % i)
        try:
            res.append(run(cases[i]))
        except Exception as x:
            res.append(['driver', '%s: %s' % (type(x).__name__, printable(str(x)))])
        cases[i] = None
    return res

# ------------------------------------------------------------------------------ unit batches


class Engine:
    # What a usocketio.polling.Poll needs of its engine; the packets it is handed go in got.
    def __init__(self, eio, max_size):
        self.eio = eio
        self.c = self
        self.max_size = max_size
        self.got = []
        self.packet = self.got.append


def get_poll(e, n, cls=None):
    # A GET Poll (of class cls, usocketio.polling.Poll unless given) for engine e, its response
    # head read: a body of n bytes by Content-Length, or chunked if n is None.
    import usocketio.polling as m
    t = e.get = (cls or m.Poll)(e, 'GET')
    t.busy, t.close_after = True, False
    t.begin(2, -1) if n is None else t.begin(1, n)
    return t


def read_body(t, body):
    # Poll t reads body as pump() reads a response: len(t.buf) bytes a read, each parsed before
    # the next. The number of reads.
    reads = 0
    for i in range(0, len(body), len(t.buf)):
        k = min(len(t.buf), len(body) - i)
        t.buf[:k] = memoryview(body)[i:i + k]
        t.i, t.n = 0, k
        reads += 1
        while t.busy and t.i < t.n:
            t._parse()
    return reads


def pdecode(body, eio):
    # The packets of a polling payload, as a GET response's body is cut (a read of 256 bytes at
    # a time, packets across reads): usocketio.polling.Poll fed body as a Content-Length body.
    import usocketio.polling as m
    e = Engine(eio, len(body) + 1)
    t = get_poll(e, len(body))
    post, m.post = m.post, lambda *a: None  # the engine's poll_done
    try:
        if not body:
            t._done()
        read_body(t, body)
    finally:
        m.post = post
    return e.got


def pencode(ps, eio):
    from usocketio.polling import encode
    n, pieces = encode(ps, eio)
    assert n == min(len(ps), 16)
    return b''.join(pieces)


def unit(k):
    kind = k[0]
    if kind == 'pdec':
        try:
            return ['ok', [spkt(p) for p in pdecode(unhexlify(k[1]), k[2])]]
        except Exception as x:
            return err(x)
    if kind == 'plim':  # ['plim', [lengths of text packets], eio, limit]: how POSTs would cut them
        from usocketio.polling import encode
        ps = ['x' * n for n in k[1]]
        out = []
        while ps:
            n, pieces = encode(ps, k[2], k[3])
            out.append([n, sum(len(p) for p in pieces)])
            ps = ps[n:]
        return ['ok', out]
    if kind == 'penc':
        ps = [unhexlify(p[1]).decode() if p[0] == 's' else unhexlify(p[1]) for p in k[1]]
        b = pencode(ps, k[2])
        try:
            back = [spkt(p) for p in pdecode(b, k[2])]
        except Exception as x:
            back = err(x)
        return ['ok', h(b), back]
    if kind == 'sdec':
        from usocketio.client import decode
        try:
            t, nsp, i, data, atts, n = decode(unhexlify(k[1]).decode())
        except Exception as x:
            return err(x)
        return ['ok', [t, nsp, i, json.dumps(tag(data)), n, type(atts).__name__, len(atts)]]
    if kind == 'bin':
        from usocketio.binary import deconstruct, reconstruct
        x = untag(k[1])
        before = json.dumps(tag(x))
        d, atts = deconstruct(x)
        # Placeholders in document order of the copy, each standing for the bytes at its place.
        order = []
        todo = [d]
        while todo:
            v = todo.pop()
            if isinstance(v, dict):
                if v.get('_placeholder') is True:
                    order.append(v.get('num'))
                else:
                    todo.extend(reversed(list(v.values())))
            elif isinstance(v, list):
                todo.extend(reversed(v))
        wire = json.dumps(d)
        y = reconstruct(json.loads(wire), atts)
        return ['ok', same(x, y), order, len(atts), json.dumps(tag(x)) == before,
                all(type(a) is bytes for a in atts), '$b' in wire]
    if kind == 'recon':
        from usocketio.binary import reconstruct
        atts = [bytes([65 + j]) for j in range(k[2])]
        try:
            return ['ok', json.dumps(tag(reconstruct(json.loads(k[1]), atts)))]
        except Exception as x:
            return err(x)
    if kind == 'deep':
        from usocketio.binary import deconstruct, reconstruct
        from usocketio.client import decode
        n, shape = k[1], k[2]
        x = b'\x00deep'
        for j in range(n):
            x = [x, j] if shape == 'list' or shape == 'mix' and j & 1 else {'k%d' % (j % 3): x, 'n': j}
        d, atts = deconstruct(x)
        # The same nesting in a packet: a BINARY_EVENT (shallow enough for json.dumps, which
        # recurses in C), else an EVENT of nested lists.
        if n <= 60:
            s = '51-["deep",' + json.dumps(d) + ']'
        else:
            s = '2["deep",' + '[' * n + '1' + ']' * n + ']'
        y = reconstruct(d, atts)  # (in place)
        ok = same(x, y) and len(atts) == 1
        try:
            t = decode(s)
            got = [t[0], depth(t[3]), t[5]]
        except Exception as x:
            got = err(x)
        return ['ok', ok, got]
    return ['driver', 'unknown kind %r' % kind]


def unit_batch(path):
    return batch(path, unit)

# ------------------------------------------------------------------------------ the scripted server

GUID = b'258EAFA5-E914-47DA-95CA-C5AB0DC85B11'
net = None  # the Net of the case that runs


def frame(op, payload):
    n = len(payload)
    if n < 126:
        hd = bytes([0x80 | op, n])
    elif n < 65536:
        hd = bytes([0x80 | op, 126, n >> 8, n & 255])
    else:
        hd = bytes([0x80 | op, 127]) + n.to_bytes(8, 'big')
    return hd + payload


class Net:
    """The server of one case. sessions: per Engine.IO session, the server's messages in order:
    for polling, the bodies of successive GET responses (['body', hex, chunk sizes or null] or
    a whole raw response ['http', hex]); for WebSocket, frames (['t', hex] text, ['b', hex]
    binary, ['raw', hex] bytes as they are), sent right after the 101. A request that opens a
    session (no sid) when none is left is answered 503."""

    def __init__(self, k):
        self.sessions = k['sessions']
        self.rx = k.get('rx') or 1 << 20  # bytes per read at most
        self.k = -1  # the session in progress
        self.pos = 0  # its next message
        self.sent = []  # per session, what the client sent: ['s', hex] / ['b', hex] packets
        self.requests = []  # request lines, in order
        self.progress = 0  # bumped by everything the client does on the network

    def session(self):
        self.k += 1
        self.pos = 0
        self.sent.append([])
        return self.k < len(self.sessions)

    def next(self):
        s = self.sessions[self.k]
        if self.pos >= len(s):
            return None
        self.pos += 1
        return s[self.pos - 1]

    def request(self, s, head, body):
        lines = head.split(b'\r\n')
        self.requests.append(printable(lines[0]))
        parts = lines[0].split()
        method, target = parts[0], parts[1]
        new = b'sid=' not in target
        if b'transport=websocket' in target:
            if not new or not self.session():
                return s.push(b'HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n')
            key = b''
            for ln in lines[1:]:
                if ln.lower().startswith(b'sec-websocket-key:'):
                    key = ln[18:].strip()
            accept = b2a_base64(sha1(key + GUID).digest())[:-1]
            s.ws = True
            s.push(b'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n'
                   b'Sec-WebSocket-Accept: ' + accept + b'\r\n\r\n')
            while True:
                m = self.next()
                if m is None:
                    break
                d = unhexlify(m[1])
                s.push(d if m[0] == 'raw' else frame(1 if m[0] == 't' else 2, d))
            return
        if method == b'POST':
            self.sent[self.k].append(['post', h(body)])
            return s.push(b'HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 2\r\n\r\nok')
        if new and not self.session():
            return s.push(b'HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n')
        m = self.next()
        if m is None:
            s.held = True  # a long poll the server holds: no answer
            return
        d = unhexlify(m[1])
        if m[0] == 'http':
            return s.push(d)
        if not m[2]:
            return s.push(b'HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=UTF-8\r\n'
                          b'Content-Length: %d\r\n\r\n' % len(d) + d)
        out = b'HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=UTF-8\r\nTransfer-Encoding: chunked\r\n\r\n'
        i = 0
        for n in m[2]:
            if i < len(d):
                out += b'%x\r\n' % len(d[i:i + n]) + d[i:i + n] + b'\r\n'
                i += n
        if i < len(d):
            out += b'%x\r\n' % (len(d) - i) + d[i:] + b'\r\n'
        s.push(out + b'0\r\n\r\n')

    def ws_frames(self, s):
        # The client's frames (masked), as they become whole: record data, answer a Close.
        while True:
            b = s.inb
            if len(b) < 2:
                return
            op, n = b[0] & 15, b[1] & 127
            i = 2
            if n == 126:
                if len(b) < 4:
                    return
                n, i = b[2] << 8 | b[3], 4
            elif n == 127:
                if len(b) < 10:
                    return
                n, i = int.from_bytes(b[2:10], 'big'), 10
            if len(b) < i + 4 + n:
                return
            mask = b[i:i + 4]
            p = bytearray(b[i + 4:i + 4 + n])
            for j in range(n):
                p[j] ^= mask[j & 3]
            s.inb = b[i + 4 + n:]
            if op == 1:
                self.sent[self.k].append(['s', h(p)])
            elif op == 2:
                self.sent[self.k].append(['b', h(p)])
            elif op == 8 and not s.eof:
                s.push(frame(8, bytes(p[:2])))
                s.eof = True


class Sock:
    """A TCP connection to the scripted server, with the board socket's non-blocking reads
    (EAGAIN when nothing is there, 0 at the end) and an ioctl() for select.poll."""

    def __init__(self, *args):
        self.inb = b''
        self.outb = b''
        self.eof = self.closed = self.ws = self.held = False

    def settimeout(self, t):
        pass

    def setblocking(self, b):
        pass

    def connect(self, addr):
        net.progress += 1

    def push(self, b):
        self.outb += b

    def sendall(self, d):
        if self.closed:
            raise OSError(EBADF)
        net.progress += 1
        self.inb += bytes(d)
        if self.ws:
            return net.ws_frames(self)
        while True:
            b = self.inb
            e = b.find(b'\r\n\r\n')
            if e < 0:
                return
            head = b[:e]
            n = 0
            for ln in head.split(b'\r\n')[1:]:
                if ln.lower().startswith(b'content-length:'):
                    n = int(ln[15:])
            if len(b) < e + 4 + n:
                return
            self.inb = b[e + 4 + n:]
            net.request(self, head, b[e + 4:e + 4 + n])
            if self.ws:
                return net.ws_frames(self)

    def write(self, d):  # as the board's: how many bytes were written
        self.sendall(d)
        return len(d)

    def recv_into(self, b, n=0):
        if self.closed:
            raise OSError(EBADF)
        if self.outb:
            k = min(len(b), len(self.outb), net.rx)
            b[:k] = self.outb[:k]
            self.outb = self.outb[k:]
            net.progress += 1
            return k
        if self.eof:
            return 0
        raise OSError(EAGAIN)

    def ioctl(self, req, arg):
        if req == 3:  # MP_STREAM_POLL
            return arg & 1 if self.outb or self.eof else 0
        return 0

    def close(self):
        self.closed = True


def getaddrinfo(host, port, *a):
    return [(2, 1, 0, '', ('10.0.0.1', port))]

# ------------------------------------------------------------------------------ sessions

CLOSED = 4  # socketio_manager's state 'closed' (usocketio.client._S_CLOSED)


def session(k):
    global net
    from usocketio.client import connect
    net = Net(k)
    log = []
    errors = []
    restore = None
    s = board_socket
    real = s.socket, s.getaddrinfo
    s.socket, s.getaddrinfo = Sock, getaddrinfo
    try:
        r = k['reconnect']
        c = connect('http://sio.test/', wait=False, eio=k['eio'], transports=(k['transport'],),
                    reconnection=r > 0, reconnection_attempts=r, reconnection_delay=0,
                    reconnection_delay_max=0, randomization_factor=0, timeout=20,
                    max_size=k.get('max_size', 65536))
        # The namespace's sid: Client.sid is None unless the namespace is still connected when the
        # handler runs, which it need not be (handlers run after the packets that came with it).
        c.on('connect', lambda: log.append(['connect', tag(c.nsps['/'].sid)]))
        c.on('disconnect', lambda why: log.append(['disconnect', why]))
        c.on('connect_error', lambda d: log.append(['connect_error', tag(d)]))

        def catch_all(ev, *args):
            log.append(['event', tag(ev), tag(list(args))])
            return len(args)
        c.on('*', catch_all)
        if k.get('oom'):
            restore = out_of_memory(k['oom'])
        peak = [0, 0]  # the most handler calls and packets to send that waited at once
        run_calls = c._run_calls

        def watch():
            peak[0] = max(peak[0], len(c.calls))
            peak[1] = max(peak[1], len(c.engine.buf) if c.engine else 0)
            return run_calls()
        c._run_calls = watch
        try:  # waits for the namespace (a failure to connect may already have closed the client)
            c.emit('hello', 1, callback=lambda *a: log.append(['ack', tag(list(a))]))
        except OSError as x:
            log.append(['emit refused', str(x)])
        idle = 0
        steps = 0
        while steps < k.get('steps', 400):
            steps += 1
            p = net.progress
            try:
                c.step(0)
            except Exception as x:
                errors.append('%s: %s' % (type(x).__name__, printable(str(x))))
                if len(errors) > 3:
                    break
            if c.state == CLOSED and not c.calls:
                break
            idle = idle + 1 if net.progress == p and not c.calls else 0
            if idle >= 3:
                break
        if k.get('close'):  # the application closes: no blocking WebSocket close() inside it
            import sys
            W = sys.modules['uwebsockets.client'].Websocket
            W.close = lambda *a: errors.append('a blocking Websocket.close() ran')
            try:
                c.close()
            except Exception as x:
                errors.append('%s: %s' % (type(x).__name__, printable(str(x))))
            finally:
                del W.close  # the class's own again (Connection's)
        e = c.engine
        return [log, errors, net.sent, c.state, e and e.reason, e and e.state, steps, net.requests, peak]
    finally:
        s.socket, s.getaddrinfo = real
        net = None
        if restore:
            restore()


def out_of_memory(where):
    # Make one allocation fail where the client receives or decodes ('sio': a Socket.IO event
    # packet's decoding; 'poll': the third packet polling reads; 'ws': the third read of
    # a WebSocket): the wrapped call runs with the heap locked, so its first allocation raises
    # MemoryError, as on a board whose heap is full.
    import micropython
    import sys
    import usocketio.polling  # (imported here: the client imports a transport's code only as it opens it)
    import uwebsockets.protocol  # noqa: F401
    left = [{'sio': 1, 'poll': 3, 'ws': 3}[where]]

    def locked(f, when):
        def g(*a):
            if left[0] and when(*a):
                left[0] -= 1
                if not left[0]:
                    micropython.heap_lock()
                    try:
                        return f(*a)
                    finally:
                        micropython.heap_unlock()
            return f(*a)
        return g
    o, name, when = (
        (sys.modules['usocketio.client'], 'decode', lambda s, head=False: s[:1] == '2') if where == 'sio' else
        (sys.modules['usocketio.polling'].Poll, 'packet', lambda t, p: True) if where == 'poll' else
        (sys.modules['uwebsockets.protocol'].Connection, 'received', lambda w, n: n > 0))  # (a read: not received(-1))
    f = getattr(o, name)
    setattr(o, name, locked(f, when))
    return lambda: setattr(o, name, f)  # the modules stay loaded between cases


def session_batch(path):
    return batch(path, session)

