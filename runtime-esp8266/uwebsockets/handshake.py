# uwebsockets/handshake.py: opening a connection, up to the opening handshake's request (RFC
# 6455 section 4.1). It runs once per connection, so it lives in its own module, dropped once
# the socket is connected and again once the request is made (in the first step(): not in the
# call that dialled). The response is uwebsockets.response's, loaded in a later step.
from binascii import b2a_base64
from os import urandom
from fsm import const, unload

# Ids in the websocket machine (checked against the spec by `npx wirestate generate`).
_S_CONNECTING = const(0)


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
    # Run the handshake on a new cls connection over socket s, connected to the server; or,
    # with wait False, leave it to the caller's step() calls, its request included; with wait
    # None, make and write the request and leave the rest (usocketio: it dialled in a step of
    # its own, so the request costs this step no more code). host: the Host header's value.
    from select import poll, POLLIN
    from uwebsockets.protocol import HandshakeError
    s.setblocking(False)
    ws = cls(host, path, headers, subprotocols, max_size, open_ms)
    ws.sock = s
    ws.poller = poll()
    ws.poller.register(s, POLLIN)
    if wait is None:
        ws.step(-1)
    unload(__name__)  # (or send() loads it again, in the first step)
    while wait and ws.state == _S_CONNECTING:
        ws.step(None)
    if ws.error:
        raise HandshakeError(ws.error)
    return ws


def send(c):
    # For Connection.output(), once action send_handshake has queued it: the GET request that
    # opens the connection (4.1), with a fresh random key, in place of what makes it in c.out;
    # what the response is checked against in c.request. This module's last use.
    host, path, headers, subprotocols = c.request
    key = b2a_base64(urandom(16))[:-1]
    r = 'GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' \
        'Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n' % (path, host, key.decode())
    if subprotocols:
        r += 'Sec-WebSocket-Protocol: %s\r\n' % ', '.join(subprotocols)
    for k, v in headers.items() if hasattr(headers, 'items') else headers or ():
        r += '%s: %s\r\n' % (k, v)
    r = (r + '\r\n').encode()
    c.request, c.out = (key, subprotocols), r  # (both or, out of memory, neither)
    unload(__name__)
    return r
