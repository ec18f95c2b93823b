# The server's side of a WebSocket handshake, for driving uwebsockets.protocol.Connection
# directly in the VM, without sockets: benchmarks and tests put this file on the device.
from binascii import b2a_base64
from hashlib import sha1
from uwebsockets.protocol import Connection


def feed(c, data):
    """Hand data to c through buffer()/received(), as reads would; messages received are
    dropped (each taken so that decoding goes on)."""
    mv = memoryview(data)
    while len(mv):
        b = c.buffer()
        k = min(len(b), len(mv))
        if not k:
            raise RuntimeError('the connection takes no more bytes')
        b[:k] = mv[:k]
        mv = mv[k:]
        c.received(k)
        while c.msg is not None:
            c.msg = None
            c.received(-1)


def opened(max_size=65536, host='peer.example'):
    """A Connection in the open state: its handshake request answered with a correct 101."""
    c = Connection(host, '/', None, None, max_size, None)
    req, c.out = bytes(c.output(0)), None
    i = req.find(b'Sec-WebSocket-Key: ') + 19
    key = req[i:req.find(b'\r\n', i)]
    accept = b2a_base64(sha1(key + b'258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest())[:-1]
    feed(c, b'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n'
            b'Sec-WebSocket-Accept: ' + accept + b'\r\n\r\n')
    if c.error is not None or c.head is not None:
        raise RuntimeError('not open after a correct 101: %r' % c.error)
    return c
