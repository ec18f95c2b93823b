# usocketio/polling.py: Engine.IO's HTTP long-polling transport. Imported while a session polls
# (opening, and until the upgrade to WebSocket) and forgotten after, so a session on WebSocket
# does not keep it in the heap.
#
# A Poll is one keep-alive HTTP/1.1 connection that carries one request at a time: the engine
# keeps one for its GET (held open by the server until it has packets) and one for its POSTs,
# as the protocol allows no more than one of each in flight. Responses are read without
# blocking; the payload codec below turns their bodies into packets and back.
from binascii import a2b_base64, b2a_base64
from errno import EAGAIN
from fsm import const
from usocketio.engine import post
from usocketio.session import target
import engineio_fsm as E

# Ids in the engineio machine (checked by `npx wirestate generate`).
_E_POLL_DONE = const(6)
_E_POST_DONE = const(7)


class Poll:
    # Requests to the session's polling URL on one connection; e is the engine.

    sock = None
    busy = False

    def __init__(self, e, method):
        self.e = e
        self.method = method

    def request(self, body=b''):
        e = self.e
        c = e.c
        r = '%s %s HTTP/1.1\r\nHost: %s\r\n' % (self.method, target(c, 'polling', e.sid), c.host)
        if self.method == 'POST':
            r += 'Content-Type: text/plain;charset=UTF-8\r\nContent-Length: %d\r\n' % len(body)
        for k, v in c.headers:
            r += '%s: %s\r\n' % (k, v)
        self.req = (r + '\r\n').encode() + body
        self.busy = True
        self._send(self.sock is not None and self._alive())

    def _alive(self):
        # A kept-alive connection the server has closed meanwhile (Node closes idle ones after
        # 5 s) reads as end of stream: dial again rather than fail the session.
        n = self._read(bytearray(1))
        if n is None:
            return True
        self.close()
        return False

    def _send(self, reused):
        s = self.sock
        if s is None:
            import dial
            c = self.e.c
            self.sock = s = dial.dial(c.url[1], c.url[2], c.url[0], c.timeout / 1000, c.ssl)
        self.reused = reused
        self.data = bytearray()
        s.setblocking(True)
        s.sendall(self.req) if hasattr(s, 'sendall') else s.write(self.req)
        s.setblocking(False)

    def _read(self, b):
        # Bytes read into b; None if none are there yet, 0 at the end of the stream.
        try:
            return self.sock.recv_into(b) if hasattr(self.sock, 'recv_into') else self.sock.readinto(b)
        except OSError as x:
            if x.args[0] in (EAGAIN, 2):  # 2: CPython's ssl.SSL_ERROR_WANT_READ
                return None
            raise

    def pump(self):
        """The response's body once it is complete (the request is then over), else None.
        OSError if the connection fails or the server answers anything but 200, ValueError if
        the response is not HTTP."""
        b = bytearray(512)
        while True:
            n = self._read(b)
            if n is None:
                return None
            if n == 0:
                if not self.data and self.reused:  # closed just as we reused it: once more, anew
                    self.close()
                    self._send(False)
                    continue
                body = self._body(True)
                self.close()
                if body is None:
                    raise OSError('connection closed mid-response')
                return body
            self.data += memoryview(b)[:n]
            if len(self.data) > self.e.c.max_size:
                raise OSError('response over max_size')
            body = self._body(False)
            if body is not None:
                if self.close_after:
                    self.close()
                return body

    def _body(self, eof):
        # The body if the response in self.data is complete (eof: the server closed), else None.
        d = self.data
        h = d.find(b'\r\n\r\n')
        if h < 0:
            return None
        head = bytes(d[:h]).lower().split(b'\r\n')
        status = head[0].split(None, 2)
        if len(status) < 2 or status[1] != b'200':
            raise OSError('HTTP %s' % str(status[1] if len(status) > 1 else b'?', 'ascii'))
        length = None
        chunked = False
        self.close_after = status[0] == b'http/1.0'
        for line in head[1:]:
            k, _, v = line.partition(b':')
            v = v.strip()
            if k == b'content-length':
                length = int(v)
                if length < 0:
                    raise ValueError
            elif k == b'transfer-encoding':
                chunked = v.endswith(b'chunked')
            elif k == b'connection':
                self.close_after = v == b'close'
        h += 4
        if chunked:
            body = bytearray()
            while True:
                i = d.find(b'\r\n', h)
                if i < 0:
                    return None
                n = int(bytes(d[h:i]).split(b';')[0], 16)
                if n <= 0:
                    if n:
                        raise ValueError
                    break
                if len(d) < i + n + 4:
                    return None
                body += d[i + 2:i + 2 + n]
                h = i + n + 4
            if d.find(b'\r\n\r\n', i) < 0:  # the trailer section ends the body
                return None
        elif length is not None:
            if len(d) < h + length:
                return None
            body = d[h:h + length]
        elif eof:
            body = d[h:]
        else:
            return None
        self.busy = False
        self.data = None
        return body

    def close(self):
        if self.sock:
            self.sock.close()
            self.sock = None


def pump(e):
    """Engine e's pump() for its polling requests: True if a response arrived."""
    got = False
    for t in (e.get, e.posting):
        if t and t.busy and (t is e.get or t is e.posting):  # an event may have closed it
            is_get = t is e.get
            try:
                body = t.pump()
            except (OSError, ValueError) as x:
                e.fail('transport error', error=x)
                return True
            if body is not None:
                got = True
                if is_get:
                    try:
                        ps = decode(body, e.eio)
                    except Exception:  # whatever the decoder raises: binascii's error differs by port
                        e.bad()
                        return True
                    for p in ps:
                        e.packet(p)
                    post(E, e, _E_POLL_DONE)
                else:
                    post(E, e, _E_POST_DONE)
    return got


def decode(body, eio):
    """The packets of a polling payload: str for text, bytes for a binary message. Raises
    (ValueError, or binascii's error, which is not one on every port) if it is not Engine.IO."""
    s = str(body, 'utf-8')
    if eio == 4:
        ps = s.split('\x1e')
        for i in range(len(ps)):
            if ps[i][:1] == 'b':
                ps[i] = a2b_base64(ps[i][1:].encode())
        return ps
    # Protocol 3: <length>:<packet>..., lengths in UTF-16 code units (JavaScript's). They are
    # counted on the UTF-8 bytes (a character starts with a byte that is not 10xxxxxx; one of
    # four bytes is two units): indexing the str would intern each character it met, for good.
    ps = []
    ascii = len(s) == len(body)
    i = 0
    while i < len(body):
        j = body.find(b':', i)
        if j < 0:
            raise ValueError
        n = int(body[i:j])
        if n < 0:
            raise ValueError
        i = j = j + 1
        if ascii:
            i += n
        else:
            while n > 0 and i < len(body):
                if body[i] & 0xC0 != 0x80:
                    n -= 2 if body[i] >= 0xF0 else 1
                i += 1
            while i < len(body) and body[i] & 0xC0 == 0x80:  # the rest of the last character
                i += 1
            if n:
                raise ValueError
        if i > len(body):
            raise ValueError
        p = s[j:i] if ascii else str(body[j:i], 'utf-8')
        ps.append(a2b_base64(p[2:].encode()) if p[:1] == 'b' else p)
    return ps


def encode(packets, eio):
    """The polling payload (bytes) of packets (str for text, bytes for a binary message)."""
    out = []
    for p in packets:
        if not isinstance(p, str):
            p = ('b' if eio == 4 else 'b4') + str(b2a_base64(p)[:-1], 'ascii')
        if eio == 3:
            n = len(p)
            for c in p.encode():  # a character of four UTF-8 bytes is two UTF-16 units
                n += c >= 0xF0
            p = '%d:%s' % (n, p)
        out.append(p)
    return ('\x1e' if eio == 4 else '').join(out).encode()
