# usocketio/polling.py: Engine.IO's HTTP long-polling transport. Imported while a session polls
# (opening, and until the upgrade to WebSocket) and forgotten after, so a session on WebSocket
# does not keep it in the heap.
#
# A Poll is one keep-alive HTTP/1.1 connection that carries one request at a time: the engine
# keeps one for its GET (held open by the server until it has packets) and one for its POSTs,
# as the protocol allows no more than one of each in flight. Responses are read without
# blocking, through one small buffer, and parsed as they come: the head, then the body
# (Content-Length, chunked or up to the end of the stream) cut into packets, each handed to the
# engine as soon as it is whole. So neither a body nor its packets are ever held together, and
# a burst of packets is handled a few at a time, between the loop's other work. The parsing is
# usocketio.response's: two modules, each compiled alone, need less heap at import than one.
from binascii import b2a_base64
from errno import EAGAIN, ETIMEDOUT
from fsm import const, ticks_add, ticks_diff, ticks_ms, unload
from usocketio.engine import post
import usocketio.response as r
import engineio_fsm as E

# Ids in the engineio machine (checked by `npx wirestate generate`).
_E_POLL_DONE = const(6)
_E_POST_DONE = const(7)


class Poll(r.Poll):
    # Requests to the session's polling URL on one connection; e is the engine. The response
    # is read into buf, and parsed from buf[i:n] before the next read (usocketio.response).

    sock = None
    busy = False

    def __init__(self, e, method):
        self.e = e
        self.method = method
        self.buf = bytearray(256)

    def request(self, data=()):
        # Send the request; data: the POST's body, in pieces (bytes) sent one after the other.
        e = self.e
        c = e.c
        sid = e.sid
        r = '%s %s?EIO=%d&transport=polling%s%s%s HTTP/1.1\r\nHost: %s\r\n' % (
            self.method, c.path, c.eio, '&sid=' + sid if sid else '', '&b64=1' if c.eio == 3 else '',
            '&' + c.query if c.query else '', c.host)
        n = sum(len(p) for p in data)
        if data:
            r += 'Content-Type: text/plain;charset=UTF-8\r\nContent-Length: %d\r\n' % n
        for k, v in c.headers:
            r += '%s: %s\r\n' % (k, v)
        r = (r + '\r\n').encode()
        # A small request goes in one write (one segment: the goodbye '1' is followed by the
        # socket's close at once, and must reach the server whole); a large body in pieces.
        self.req = (r + b''.join(data),) if n < 512 else (r,) + tuple(data)
        self.busy = True
        # A kept-alive connection the server has closed meanwhile (Node closes idle ones after
        # 5 s) reads as end of stream: dial again rather than fail the session.
        k = self.sock is not None
        if k and self.read() is not None:
            self.close()
            k = False
        self.send(k)

    def send(self, reused):
        s = self.sock
        if s is None:  # (dial is connection-time code: dropped once connected)
            import dial
            c = self.e.c
            try:
                self.sock = s = dial.dial(c.url[1], c.url[2], c.url[0], c.timeout / 1000, c.ssl)
            finally:
                unload('dial')
        self.reused = reused
        self.got = 0  # how much of the response has come
        self.st = 0
        self.line = bytearray()
        self.head = bytearray()
        self.i = self.n = 0
        # A peer that stops reading must not hold the loop: the writes may take until the
        # session's next deadline (engine e's timers', the heartbeat's; at most the client's
        # timeout, at least half a second, so that a write on a busy machine is not taken for a
        # peer that stopped reading), then they fail (OSError: a transport error).
        # (MicroPython's TLS sockets have no timeout: their writes block.)
        e = self.e
        t = e.c.timeout
        for o in (e, e.hb):
            for d in o.timers if o else ():
                if d is not None:
                    t = min(t, ticks_diff(d, ticks_ms()))
        end = ticks_add(ticks_ms(), max(t, 500))
        w = getattr(s, 'send', None) or s.write
        for d in self.req:
            d = memoryview(d)
            while d:
                t = ticks_diff(end, ticks_ms())
                if t <= 0:
                    raise OSError(ETIMEDOUT, 'write stalled')
                s.settimeout(t / 1000) if hasattr(s, 'settimeout') else s.setblocking(True)
                d = d[w(d) or 0:]
        s.setblocking(False)

    def read(self):
        # Bytes read into buf; None if none are there yet, 0 at the end of the stream.
        try:
            s = self.sock
            return s.recv_into(self.buf) if hasattr(s, 'recv_into') else s.readinto(self.buf)
        except OSError as x:
            if x.args[0] in (EAGAIN, 2):  # 2: CPython's ssl.SSL_ERROR_WANT_READ
                return None
            raise

    def pump(self):
        # Read what has arrived, 512 bytes or so at most (a burst of packets is handled a
        # few at a time, between the loop's other work), and handle it; True if anything came.
        # OSError if the connection fails or the response is not HTTP with status 200,
        # ValueError if its body is not Engine.IO.
        got = 0
        while got < 512:
            # Done, or closed by what a packet caused; or the response is over and the next
            # request went out (got reset): its answer is the next step's, however soon it
            # comes, so that one step never handles two phases of a session.
            if not (self.busy and self.sock) or got and not self.got:
                break
            n = self.read()
            if n is None:
                break
            got += n or 1
            if n == 0:  # the end of the stream
                if not self.got and self.reused:  # closed just as we reused it: once more, anew
                    self.close()
                    self.send(False)
                    break
                if self.st != 1 or self.left >= 0:
                    raise OSError('connection closed mid-response')
                self._done()
                break
            self.got += n
            if self.got > self.e.c.max_size:
                raise OSError('response over max_size')
            self.req = None  # kept until then, to be sent again on a new connection
            self.i, self.n = 0, n
            while self.i < self.n and self.busy and self.sock:  # (a new request empties it)
                self._parse()
        return got > 0

    def _done(self):
        # The response is over (a packet still open ends with it).
        if self.need or self.num:  # protocol 3: a length with fewer units after it, or no packet
            raise ValueError('length')
        if self.part is not None or self.need is not None:
            self.packet(memoryview(self.part or b'')[:self.pn])
        self.busy = False
        self.line = None
        if self.close_after:
            self.close()
        post(E, self.e, _E_POLL_DONE if self.method == 'GET' else _E_POST_DONE)

    def close(self):
        if self.sock:
            self.sock.close()
            self.sock = None


def pump(e):
    # Engine e's pump() for its polling requests: True if anything arrived.
    got = False
    for t in (e.get, e.posting):
        if t and t.busy and (t is e.get or t is e.posting):  # an event may have closed it
            try:
                got = t.pump() or got
            except ValueError:  # a body that is not Engine.IO
                e.bad()
                return True
            except (OSError, MemoryError) as x:  # out of memory too: the session fails, not the loop
                e.fail('transport error', error=x)
                return True
    return got


def flush(e):
    # Engine e's post action on polling: what it has buffered goes in a POST, unless one is
    # out; as much as the server's maxPayload (from the handshake, which comes first) takes.
    b = e.buf
    if not e.posting.busy:
        n, d = encode(b, e.eio, e.max_payload)
        e.posting.request(d)
        del b[:n]


def encode(buf, eio, max_payload=None):
    # (how many, pieces): the polling payload of the first packets in buf (str for text, bytes
    # for a binary message), at most 16 (python-engineio drops the rest of a longer payload) and,
    # if max_payload is given, at most that many bytes unless the first alone is larger; pieces
    # are bytes whose concatenation is the payload.
    out = []
    size = -1
    for p in buf[:16]:
        if not isinstance(p, str):
            p = ('b' if eio == 4 else 'b4') + str(b2a_base64(p)[:-1], 'ascii')
        b = p.encode()
        if eio == 3:
            n = len(p)
            for c in b:  # a character of four UTF-8 bytes is two UTF-16 units
                n += c >= 0xF0
            b = b'%d:' % n + b
        if out and max_payload and size + 1 + len(b) > max_payload:
            break
        if out and eio == 4:
            out.append(b'\x1e')
        out.append(b)
        size += 1 + len(b)
    return len(out) if eio == 3 else (len(out) + 1) // 2, out

