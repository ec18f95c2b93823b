# uwebsockets/response.py: the opening handshake's response (RFC 6455 section 4.1), read and
# checked. Imported when its first bytes arrive (uwebsockets.handshake, which sent the request,
# is gone by then) and dropped as soon as the handshake is over, whichever way it ended
# (action release_handshake, in uwebsockets.protocol).
from binascii import b2a_base64
from hashlib import sha1
from fsm import const, fire
import websocket_fsm as W

# Ids in the websocket machine (checked against the spec by `npx wirestate generate`).
_E_HANDSHAKE_RESPONSE = const(0)


def verify(head, key, subprotocols):
    # (None, subprotocol) if the response head accepts our handshake (4.1, client steps 1-6),
    # else (why not, None). Header names and tokens compare case-insensitively.
    r = head.split(b'\r\n')  # its lines
    status = r[0].split(None, 2)
    if len(status) < 2 or status[1] != b'101':
        return 'server answered %r' % bytes(r[0]), None
    h = {}
    for line in r[1:]:
        i = line.find(b':')
        if i > 0:
            k = line[:i].strip().lower()
            v = line[i + 1:].strip()
            h[k] = h[k] + b',' + v if k in h else v
    if h.get(b'upgrade', b'').lower() != b'websocket':
        return 'no Upgrade: websocket', None
    if b'upgrade' not in [t.strip() for t in h.get(b'connection', b'').lower().split(b',')]:
        return 'no Connection: upgrade', None
    if h.get(b'sec-websocket-accept') != b2a_base64(sha1(key + b'258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest())[:-1]:
        return 'wrong Sec-WebSocket-Accept', None
    if h.get(b'sec-websocket-extensions'):
        return 'server enabled an extension we did not offer', None
    p = h.get(b'sec-websocket-protocol')
    if p is not None and p not in [k.encode() for k in subprotocols or ()]:  # bytes: it may not be UTF-8
        return 'server chose subprotocol %r, which we did not offer' % p, None
    return None, p and p.decode()


def received(c, n):
    # Connection c read n more bytes of the response into c.head, in place (the buffer
    # doubles when it fills up: no copy of the head so far per read). Once the head is complete
    # ("\r\n\r\n"), judge it; bytes read after it are the first frames, left in the input
    # buffer for the decoder (uwebsockets.frames, loaded in a later step).
    h = c.head
    q = c.rend
    p = q + n
    i = h.find(b'\r\n\r\n', q - 3 if q > 3 else 0, p)
    if i >= 0:
        c.error, c.subprotocol = verify(bytes(memoryview(h)[:i]), *c.request)
    elif p > 4096:
        c.error = 'response header over 4 KiB'
    else:
        if p == len(h):
            c.rbuf = c.head = bytearray(2 * p)
            c.head[:p] = h
        c.rend = p
        return
    c.head = None
    b = c.hdr
    i += 4
    if h is not b:  # the head outgrew the input buffer: what follows it moves there
        if p - i > len(b) - 1:  # (seldom: frames sent with the head, more than it holds)
            c.hdr = b = bytearray(p - i + 1)
        b[1:1 + p - i] = memoryview(h)[i:p]
        i, p = 1, 1 + p - i
    c.rbuf, c.rpos, c.rend = b, i, p
    fire(W, c, _E_HANDSHAKE_RESPONSE)  # (frames read with the head: the next received(-1))
