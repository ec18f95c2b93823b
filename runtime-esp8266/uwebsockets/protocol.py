# uwebsockets/protocol.py: an RFC 6455 client connection without I/O, in the manner of wsproto.
#
# Bytes read from the socket go into buffer() and are announced with received(n); bytes to
# write come from output(n), n saying how many of the last ones were written; a message received
# waits in `msg`, for the caller to take (and set to None). `out` is not None while anything
# waits to be written. Small frames are queued whole in `out`; the payload of a large message
# is masked as it is written, a piece at a time through a small reused buffer, so no copy of
# it is made. A binary message is handed over as the bytearray its payload was read into.
# Bytes are read ahead into a 64-byte input buffer and decoded from there, so a burst of small
# frames costs one read; only the rest of a payload that does not fit is read into the
# payload's own buffer (in place: no copy). Decoding stops while a message waits in `msg`; the
# frames read after it wait in the input buffer until received(-1) is called with `msg` taken
# (uwebsockets.client does so on every step before it reads or waits: an event loop that
# polls the socket must too, as the bytes are no longer in the socket).
# Lifecycle and message assembly are the websocket machine (spec/websocket.yaml) run by fsm
# from the tables in websocket_fsm: this class (with its decoder, uwebsockets.frames) turns
# bytes into its events and implements its guards and actions, guard() and act().
#
# Written for a 30 KB heap: every function and every distinct name costs RAM when this file is
# imported as source. Code that runs only while a connection opens (uwebsockets.handshake, then
# uwebsockets.response) or ends (uwebsockets.closing), or only for text that is not ASCII
# (uwebsockets.utf8), is imported when it is needed; so is the decoder, once open, so that
# compiling it from .py is not part of the import's or the handshake's peak.
from os import urandom
from fsm import const, fire, start, unload
import websocket_fsm as W

# Ids in the websocket machine (`npx wirestate generate` checks them against the spec).
_E_MESSAGE_TOO_BIG = const(8)
_E_TCP_CLOSED = const(9)
_E_SEND_MESSAGE = const(10)
_E_SEND_PING = const(11)
_E_CLOSE_REQUEST = const(12)
_T_OPEN_TIMEOUT = const(0)
_G_HANDSHAKE_OK = const(0)
_G_FIN = const(1)
_G_UTF8_OK = const(2)
_G_CLOSE_PAYLOAD_OK = const(3)
_A_SEND_HANDSHAKE = const(0)
_A_RELEASE_HANDSHAKE = const(1)
_A_FAIL_HANDSHAKE = const(2)
_A_FAIL_OPEN_TIMEOUT = const(3)  # the last of the handshake's actions (0-3)
_A_BEGIN_MESSAGE = const(4)
_A_APPEND_FRAGMENT = const(5)
_A_DELIVER_TEXT = const(6)
_A_DELIVER_BINARY = const(7)
_A_SEND_PONG = const(8)
_A_WRITE_MESSAGE = const(14)
_A_WRITE_PING = const(15)
_A_WRITE_CLOSE = const(16)

utf8 = None  # uwebsockets.utf8, once a text frame that is not ASCII has loaded it
frames = None  # uwebsockets.frames, the decoder, once the connection is open


class ConnectionClosed(Exception):
    # Sending on a connection that is closing or closed.
    pass


class HandshakeError(Exception):
    # The opening handshake failed: refused, invalid, or not answered in time.
    pass


class Connection:
    # The client side of one WebSocket connection, as a state machine over bytes.


    def __init__(self, host, path, headers, subprotocols, max_size, open_ms):
        self.request = (host, path, headers, subprotocols)
        self.max_size = max_size
        self.delays = d = list(W.TIMER_MS)
        if open_ms:
            d[_T_OPEN_TIMEOUT] = open_ms
        # The decoder reads into rbuf[rend:]: the handshake response into head (while it is
        # not None), then frames into the input buffer hdr (decoded from hdr[rpos:rend]; hdr[0]
        # holds the first byte of the frame being handled), except the rest of a payload that
        # was not all in it, which is read into the payload's own buffer; rbuf None drops what
        # comes.
        self.rbuf = self.head = self.hdr = bytearray(64)
        self.rpos = self.rend = 0
        # Writing: out[opos:] is queued (up to split while the payload data[dpos:] of a large
        # frame, masked by mask, goes out through wbuf[wpos:wend]: uwebsockets.large).
        self.subprotocol = self.close_code = self.error = self.out = self.msg = self.outgoing = self.frag = \
            self.data = self.text = self.wbuf = None
        self.close_reason = ''
        self.payload = b''
        self.carry = 0  # the state of a code point the text so far leaves incomplete (uwebsockets.utf8)
        self.opos = self.wpos = self.wend = 0
        start(W, self)

    def buffer(self):
        # Where the next bytes read go: the handshake response's head; the rest of a payload
        # that was not all in the input buffer (read in place: never copied); else the free end
        # of the input buffer.
        b = self.rbuf
        if b is None:  # dropping: read on (into the input buffer) to see the TCP close
            return memoryview(self.hdr)[1:]
        return memoryview(b)[self.rend:]  # (each is filled up to rend)

    def received(self, n):
        # n bytes were read into buffer(), 0 if the server closed the TCP connection, -1 if none
        # (the frames read before, which waited for a message to be taken: see above): decode
        # them, a machine event a frame, until a message waits in `msg` (while open: what was
        # read after it then waits in the input buffer; so do the frames that came with the
        # handshake's response). 1 if anything was decoded (or, the first time, the decoder
        # loaded: call again), else None. Running out of memory while receiving or decoding
        # fails the connection with 1009 (the handshake: HandshakeError), as for a message too
        # big: nothing escapes to the caller.
        global frames
        try:
            if not n:
                return fire(W, self, _E_TCP_CLOSED)
            if self.head is not None:  # the handshake response
                if n > 0:
                    import uwebsockets.response as r
                    return r.received(self, n)
                return None
            if frames is None:  # (held once loaded, as utf8)
                import uwebsockets.frames as frames
                if n < 0:  # loading it was this call's work: the next decodes
                    return 1
            return frames.received(self, n)
        except MemoryError:
            # What was being assembled goes; the stream is not read further (as after a failure).
            self.frag = self.rbuf = None
            self.payload = b''
            fire(W, self, _E_TCP_CLOSED if self.head else _E_MESSAGE_TOO_BIG)  # (head: the handshake)
            return 1

    def send(self, data):
        # Queue a message: str as text, bytes-like as binary. ConnectionClosed unless open.
        self._request(_E_SEND_MESSAGE, (1, data.encode()) if isinstance(data, str) else (2, data))

    def ping(self, data=b''):
        # Queue a Ping with up to 125 bytes of payload.
        if len(data) > 125:
            raise ValueError('ping')
        self._request(_E_SEND_PING, (9, data))

    def close(self, code=1000, reason=''):
        # Start the closing handshake (nothing happens if it has started).
        import uwebsockets.closing as c
        self._request(_E_CLOSE_REQUEST, (8, c.payload(code, reason)))

    def _request(self, ev, outgoing):
        self.outgoing = outgoing
        done = fire(W, self, ev)
        self.outgoing = None
        if not done and ev != _E_CLOSE_REQUEST:
            raise ConnectionClosed('not open')

    def _frame(self, o, data):
        # Queue one frame masked with a fresh key (5.3). A frame up to 256 bytes is built
        # whole (so it goes out in one write); a larger one's payload is masked as it is
        # written (output()), unless one is already on its way.
        n = len(data)
        h = 6 if n < 126 else 8 if n < 65536 else 14
        big = n > 256 and self.data is None
        f = bytearray(h if big else h + n)
        f[0] = 0x80 | o  # o: the opcode
        f[1] = 0x80 | (n if h == 6 else 126 if h == 8 else 127)
        if h > 6:
            f[2:h - 4] = n.to_bytes(h - 6, 'big')
        f[h - 4:h] = key = urandom(4)
        if big:
            self.data, self.dpos, self.mask = memoryview(data), 0, key
        else:  # a byte at a time: slower than big integers, but it allocates nothing
            for i in range(n):
                f[h + i] = data[i] ^ key[i & 3]
        if self.out is None:
            self.out = f
        else:
            self.out += f
        if big:
            self.split = len(self.out)

    def output(self, n):
        # Take note that n bytes of what output() returned last were written, and return the
        # bytes to write next (a memoryview), or None (and `out` None) if nothing waits.
        if self.wend or self.data is not None:  # a large frame's payload is on its way
            import uwebsockets.large as large
            return large.output(self, n)
        o = self.out
        if o is None:
            return None
        if o is self.request:  # the handshake's, queued by send_handshake: made now, not in
            import uwebsockets.handshake as hs  # the caller's step that dialled
            o = hs.send(self)
        self.opos += n
        if self.opos < len(o):
            return memoryview(o)[self.opos:]
        self.out = None
        self.opos = 0
        return None

    def guard(self, g):
        global utf8
        if g == _G_FIN:  # the frequent ones first
            return self.hdr[0] & 0x80
        if g == _G_UTF8_OK:
            # ASCII with nothing carried over is valid (deliver_text decodes it): only other
            # text loads uwebsockets.utf8, which a session that sees none never keeps.
            p = self.payload
            if not self.carry and (not p or max(p) < 0x80):
                return True
            if utf8 is None:  # (held once loaded: an import statement costs as much as the check)
                import uwebsockets.utf8 as utf8  # (not 'from ... import guard': a file system search each call)
            return utf8.guard(self)
        if g == _G_HANDSHAKE_OK:
            return self.error is None
        if g == _G_CLOSE_PAYLOAD_OK:
            import uwebsockets.closing as c
            return c.payload_ok(self.payload)

    def act(self, a):
        p = self.payload
        if a == _A_APPEND_FRAGMENT:  # the frequent ones first
            self.frag += p  # in place
        elif a == _A_SEND_PONG:
            self._frame(10, p)  # the Ping's payload, unchanged (5.5.3): every Ping is answered
        elif a == _A_BEGIN_MESSAGE:
            self.frag = p
        elif a == _A_DELIVER_TEXT:
            self.msg = self.text or str(self.frag, 'utf-8')  # (text: decoded already by the UTF-8 check)
            self.frag = self.text = None
        elif a == _A_DELIVER_BINARY:
            self.msg = self.frag  # the bytearray it was read into: no copy (unless fragmented)
            self.frag = None
        elif a in (_A_WRITE_MESSAGE, _A_WRITE_PING, _A_WRITE_CLOSE):
            self._frame(*self.outgoing)
        elif a <= _A_FAIL_OPEN_TIMEOUT:  # the handshake's actions: the spec declares them first
            # (Here, not in uwebsockets.response: a handshake that failed before any response
            # came needs no code loaded, so no import can run out of memory in a timer.)
            if a == _A_SEND_HANDSHAKE:  # made when it is first to be written (output())
                self.out = self.request
            elif a == _A_RELEASE_HANDSHAKE:
                unload('uwebsockets.response')
                unload('uwebsockets.handshake')  # (send() drops it, unless it ran out of memory)
                if self.out is self.request:  # (not made: failed before it was written)
                    self.out = None
                self.request = self.head = None
            else:
                self.error = self.error or ('connection closed during the handshake' if a == _A_FAIL_HANDSHAKE else 'no handshake response in time')
        else:  # the end of the connection
            import uwebsockets.closing as c
            c.act(self, a)
