# uwebsockets/handshake.py: the opening handshake (RFC 6455 section 4.1). It runs once per
# connection, so it lives in its own module: imported while a connection opens and dropped as
# soon as the handshake is over (action release_handshake), leaving its heap to the
# application for as long as the connection stays open.
from binascii import b2a_base64
from hashlib import sha1
from os import urandom
from fsm import const, fire, unload
import websocket_fsm as W

# Ids in the websocket machine (checked against the spec by `npx wirestate generate`).
_E_HANDSHAKE_RESPONSE = const(0)
_S_CONNECTING = const(0)
_A_SEND_HANDSHAKE = const(0)
_A_RELEASE_HANDSHAKE = const(1)
_A_FAIL_HANDSHAKE = const(2)
_A_FAIL_OPEN_TIMEOUT = const(3)


def connect(cls, uri, headers=None, subprotocols=None, timeout=None, max_size=8192, ssl=None, wait=True):
    # uwebsockets.client.connect(): dial, then start().
    import dial
    try:
        tls, host, port, path, authority = dial.urlparse(uri, ('ws', 'wss'))
        # What the application puts in the request is checked before anything is sent.
        for k, v in headers.items() if hasattr(headers, 'items') else headers or ():
            dial.check(k, 1)
            dial.check(v, 0)
        for k in subprotocols or ():
            dial.check(k, 1)
        if timeout is not None and not 0 <= timeout < 536870:  # as settimeout() checks it
            raise ValueError('timeout not in 0 to 536870 s')
        s = dial.dial(host, port, tls, timeout, ssl)
    except BaseException:
        unload(__name__)
        raise
    finally:
        unload('dial')
    del dial  # (the local held the module through the handshake)
    return start(cls, s, authority, path, headers, subprotocols, max_size, timeout and int(timeout * 1000), wait)


def start(cls, s, host, path, headers, subprotocols, max_size, open_ms, wait):
    # Run the handshake on a new cls connection over socket s, connected to the server (or,
    # unless wait, send its request and leave the rest to the caller's step() calls); host:
    # the Host header's value. usocketio dials in a step of its own, then starts here.
    from select import poll, POLLIN
    from uwebsockets.protocol import HandshakeError
    s.setblocking(False)
    ws = cls(host, path, headers, subprotocols, max_size, open_ms)
    ws.sock = s
    ws.poller = poll()
    ws.poller.register(s, POLLIN)
    ws.step(-1)
    while wait and ws.state == _S_CONNECTING:
        ws.step(None)
    if ws.error:
        raise HandshakeError(ws.error)
    return ws


def request(host, path, headers, subprotocols):
    # The GET request that opens the connection (4.1), and its fresh random key.
    key = b2a_base64(urandom(16))[:-1]
    r = 'GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' \
        'Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n' % (path, host, key.decode())
    if subprotocols:
        r += 'Sec-WebSocket-Protocol: %s\r\n' % ', '.join(subprotocols)
    for k, v in headers.items() if hasattr(headers, 'items') else headers or ():
        r += '%s: %s\r\n' % (k, v)
    return (r + '\r\n').encode(), key


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


def act(c, a):
    # The websocket machine's handshake actions, for Connection.act().
    if a == _A_SEND_HANDSHAKE:
        c.out, key = request(*c.request)
        c.request = (key, c.request[3])  # what verify() needs
    elif a == _A_RELEASE_HANDSHAKE:
        unload(__name__)
        c.request = c.head = None
    elif a in (_A_FAIL_HANDSHAKE, _A_FAIL_OPEN_TIMEOUT):
        c.error = c.error or ('no handshake response in time' if a == _A_FAIL_OPEN_TIMEOUT else 'connection closed during the handshake')


def received(c, n):
    # Connection c read n more bytes of the response into c.head, in place (the buffer
    # doubles when it fills up: no copy of the head so far per read). Once the head is complete
    # ("\r\n\r\n"), judge it; bytes read after it are the first frames, left in the input
    # buffer for the decoder. n -1: nothing was read.
    if n < 0:
        return None
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
    fire(W, c, _E_HANDSHAKE_RESPONSE)
    c.received(-1)
