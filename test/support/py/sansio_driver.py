# Drives the sans-I/O uwebsockets.protocol.Connection with hostile server bytes, inside the
# MicroPython VM (and CPython). Used by test/hostile/decoder.test.ts.
#
# run_batch(path) reads a JSON list of cases [hex data, chunk sizes, end_tcp, max_size] and
# returns one summary per case:
#   [state, close_code, message types and sizes, exceptions from received(), send() outcome,
#    client output (hex), bytes the decoder would not take]
import json
import sys
from binascii import hexlify, unhexlify
from uwebsockets.protocol import ConnectionClosed
from ws_peer import opened  # generator/sim/ws_peer.py


def take_out(c):
    d, c.out = c.out, None
    return d


def take_msg(c):
    m, c.msg = c.msg, None
    return m


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
                while True:  # each message taken, then what was read after it decoded
                    o = take_out(c)
                    if o:
                        out += o
                    m = take_msg(c)
                    if m is None:
                        break
                    msgs.append([type(m).__name__, len(m.encode()) if isinstance(m, str) else len(m)])
                    c.received(-1)
            except Exception as e:  # none are documented
                errors.append('%s: %s' % (type(e).__name__, e))
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


def reachable(*roots):
    """Bytes of the objects reachable from every loaded module and from roots, as MicroPython
    lays them out (16-byte objects; 4 bytes an item, 8 a dict entry; the bytes of str, bytes and
    bytearray): the heap a leak would keep, counted exactly, which the collector's false
    retention (see test/hostile/decoder.test.ts) cannot blur."""
    seen = set()
    todo = list(sys.modules.values())
    todo.extend(roots)
    n = 0
    while todo:
        o = todo.pop()
        if id(o) in seen:
            continue
        seen.add(id(o))
        t = type(o)
        n += 16
        if t in (str, bytes, bytearray):
            n += len(o)
        elif t in (list, tuple, set, frozenset):
            n += 4 * len(o)
            todo.extend(o)
        elif t is dict:
            n += 8 * len(o)
            todo.extend(o.keys())
            todo.extend(o.values())
        else:
            d = getattr(o, '__dict__', None)
            if d is not None:
                todo.append(d)
    return n


def cost(data, max_size):
    """What decoding data (server bytes after a correct 101, read as a socket would hand them
    over) costs: [received() calls, machine transitions, heap allocated with the collector off,
    state, close code]. Counts, not time: a scan that is quadratic shows in them. Each
    message is taken as it comes, and what was read after it is then decoded."""
    import fsm
    import gc
    c = opened(max_size)
    n = [0, 0]

    def count(m, old, ev, new):
        n[1] += 1
    mv = memoryview(data)
    gc.collect()
    gc.disable()
    a = gc.mem_alloc()
    fsm.trace = count
    try:
        while len(mv) and c.state < 6:
            b = c.buffer()
            k = min(len(b), len(mv))
            if not k:
                break
            b[:k] = mv[:k]
            mv = mv[k:]
            n[0] += 1
            c.received(k)
            c.out = None
            while c.msg is not None:  # taken, then what was read after it is decoded
                c.out = c.msg = None
                c.received(-1)
    finally:
        fsm.trace = None
        a = gc.mem_alloc() - a
        gc.enable()
    return [n[0], n[1], a, c.state, c.close_code]


def head_cost(data):
    """What reading a handshake response head (data, then nothing more) costs: [reads,
    heap allocated with the collector off, error]."""
    import gc
    from uwebsockets.protocol import Connection
    c = Connection('peer.example', '/', None, None, 8192, None)
    c.output(0)  # the request, made
    c.out = None
    mv = memoryview(data)
    reads = 0
    gc.collect()
    gc.disable()
    a = gc.mem_alloc()
    try:
        while len(mv) and c.head is not None:
            b = c.buffer()
            k = min(len(b), len(mv))
            b[:k] = mv[:k]
            mv = mv[k:]
            reads += 1
            c.received(k)
    finally:
        a = gc.mem_alloc() - a
        gc.enable()
    return [reads, a, c.error]
