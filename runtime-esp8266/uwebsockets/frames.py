# uwebsockets/frames.py: the decoder (RFC 6455 section 5.2), from the bytes read into the
# input buffer to the websocket machine's events, a frame each. Imported once the connection is
# open: from .py its compile is neither the import's nor the handshake's. Called through
# Connection.received(), which also turns running out of memory into a 1009.
from fsm import const, fire
import websocket_fsm as W

# Ids in the websocket machine (checked against the spec by `npx wirestate generate`).
_E_TEXT = const(1)
_E_BINARY = const(2)
_E_CONTINUATION = const(3)
_E_PING = const(4)
_E_PONG = const(5)
_E_CLOSE = const(6)
_E_PROTOCOL_ERROR = const(7)
_E_MESSAGE_TOO_BIG = const(8)
_S_OPEN = const(1)  # idle
_S_OPEN_END = const(4)


def received(c, n):
    # Connection.received() while open (or closing): n bytes were read into c.buffer(), or -1.
    h = c.hdr
    k = 0
    b = c.rbuf
    if b is None:  # dropping
        return None
    if n > 0:
        c.rend += n
    if c.msg is not None and c.state < _S_OPEN_END:
        return None  # nothing is to be decoded now
    i = c.rpos  # the input buffer's undecoded bytes, h[i:e] (kept in c only on leaving)
    e = c.rend
    if b is not h:
        if e < len(b):  # a payload not all in
            return None
        c.rbuf = h  # a payload read in place is in
        i = e = k = 1
    while True:
        if k:  # a whole frame is in: its event, by opcode
            # An empty continuation, not a message's last, after idle: skip the dispatch.
            # Inside a message the machine would append nothing and stay (utf8_ok holds: no
            # new text); once closing it ignores data frames.
            a = h[0]
            if a or c.payload or c.state == _S_OPEN:
                fire(W, c, (_E_CONTINUATION, _E_TEXT, _E_BINARY, 0, 0, 0, 0, 0, _E_CLOSE, _E_PING, _E_PONG)[a & 15])
                c.payload = b''  # handled: a message handed over is the application's to drop
                if c.msg is not None and c.state < _S_OPEN_END:
                    break
        if e - i < 2:
            break
        a = h[i]
        b = h[i + 1]  # (names already interned: each new one costs heap for good)
        n = b & 0x7F
        m = 2 if n < 126 or a & 8 or b & 0x80 else 4 if n == 126 else 10  # the header's length
        if e - i < m:
            break
        if m > 2:
            n = int.from_bytes(h[i + 2:i + m], 'big')
        # Reserved bits, reserved opcodes, masked frames from the server, fragmented or long
        # control frames, a 64-bit length with its top bit set: fail (5.2, 5.5). Refuse a
        # message over max_size from its header, before allocating it (7.4.1). Either way the
        # stream can no longer be trusted, or holds a frame we refuse to read: stop decoding,
        # but go on reading so that the server closing TCP is seen.
        b = _E_PROTOCOL_ERROR if a & 0x70 or b & 0x80 or a & 7 > 2 or a & 8 and (a < 0x80 or n > 125) or n >> 63 else \
            _E_MESSAGE_TOO_BIG if not a & 8 and n + (len(c.frag) if a & 15 == 0 and c.frag else 0) > c.max_size else 0
        if b:
            c.rbuf = None
            fire(W, c, b)
            return 1
        p = c.payload = bytearray(n)  # (a MemoryError fails the connection: 1009)
        h[0] = a  # the frame's first byte, for the guards (fin)
        i += m
        m = min(n, e - i)  # how much of the payload is in
        if m:
            p[:m] = memoryview(h)[i:i + m]
            i += m
        k = 1
        if m < n:  # the rest is read into the payload, in place
            c.rbuf, c.rend = p, m
            return 1
    if i == e or e > 50:  # to the front, what is left (an incomplete header, or frames that
        h[1:1 + e - i] = h[i:e]  # wait for `msg` to be taken): room for the next read
        e, i = e - i + 1, 1
    c.rpos, c.rend = i, e
    return k or None
