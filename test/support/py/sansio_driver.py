# Drives the sans-I/O uwebsockets.protocol.Connection with hostile server bytes, inside the
# MicroPython VM (and CPython). Used by test/hostile/decoder.test.ts.
#
# run_batch(path) reads a JSON list of cases [hex data, chunk sizes, end_tcp, max_size] and
# returns one summary per case:
#   [state, close_code, message types and sizes, exceptions from received(), send() outcome,
#    client output (hex), bytes the decoder would not take]
import json
from binascii import b2a_base64, hexlify, unhexlify
from hashlib import sha1
from uwebsockets.protocol import Connection, ConnectionClosed

_GUID = b'258EAFA5-E914-47DA-95CA-C5AB0DC85B11'


def take_out(c):
    # data_to_send() where the API has it, else the `out` attribute it wraps
    f = getattr(c, 'data_to_send', None)
    if f is not None:
        return f()
    d, c.out = c.out, None
    return d


def take_msg(c):
    f = getattr(c, 'next_message', None)
    if f is not None:
        return f()
    m, c.msg = c.msg, None
    return m


def put(c, data):
    """Hand data to c through buffer()/received() (the handshake response, whole)."""
    mv = memoryview(data)
    while len(mv):
        b = c.buffer()
        k = min(len(b), len(mv))
        if not k:
            raise RuntimeError('buffer() empty during the handshake')
        b[:k] = mv[:k]
        mv = mv[k:]
        c.received(k)


def opened(max_size):
    """A Connection in the open state: its request answered with a correct 101."""
    c = Connection('fuzz.example', '/', None, None, max_size)
    req = bytes(take_out(c))
    i = req.find(b'Sec-WebSocket-Key: ') + 19
    key = req[i:req.find(b'\r\n', i)]
    accept = b2a_base64(sha1(key + _GUID).digest())[:-1]
    put(c, b'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n'
           b'Sec-WebSocket-Accept: ' + accept + b'\r\n\r\n')
    if c.state != 1:
        raise RuntimeError('not open after a correct 101: state %r error %r' % (c.state, c.error))
    return c


def run_case(data, chunks, end, max_size):
    c = opened(max_size)
    msgs = []
    errors = []
    out = bytearray()
    refused = 0
    mv = memoryview(data)
    ci = 0
    while len(mv):
        k = chunks[ci % len(chunks)]
        ci += 1
        p = mv[:k]
        mv = mv[k:]
        while len(p):
            b = c.buffer()
            n = min(len(b), len(p))
            if not n:  # the decoder takes nothing more
                refused = len(p) + len(mv)
                mv = mv[len(mv):]
                break
            b[:n] = p[:n]
            p = p[n:]
            try:
                c.received(n)
            except Exception as e:  # none are documented
                errors.append('%s: %s' % (type(e).__name__, e))
            o = take_out(c)
            if o:
                out += o
            m = take_msg(c)
            if m is not None:
                msgs.append([type(m).__name__, len(m.encode()) if isinstance(m, str) else len(m)])
    if end:
        try:
            c.received(0)
        except Exception as e:
            errors.append('%s: %s' % (type(e).__name__, e))
        o = take_out(c)
        if o:
            out += o
    st = c.state
    try:
        c.send('after')
        sent = 'ok'
    except ConnectionClosed:
        sent = 'ConnectionClosed'
    except Exception as e:
        sent = '%s: %s' % (type(e).__name__, e)
    o = take_out(c)
    if o:
        out += o
    return [st, c.close_code, msgs, errors, sent, hexlify(out).decode(), refused]


def run_batch(path):
    with open(path) as f:
        cases = json.load(f)
    res = []
    for data, chunks, end, max_size in cases:
        try:
            res.append(run_case(unhexlify(data), chunks, end, max_size))
        except Exception as e:
            res.append(['driver', '%s: %s' % (type(e).__name__, e)])
    return res
