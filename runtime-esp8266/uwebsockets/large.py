# uwebsockets/large.py: writing the payload of a frame over 256 bytes, imported with the first
# such frame (a connection that only sends small messages never loads it): Connection.output()
# while such a payload is on its way.
from fsm import const

_PIECE = const(256)  # bytes masked at a time (a multiple of 4)


def piece(c, n):
    # For Connection.output(): n bytes of the last piece of the payload Connection c is
    # writing were written; the rest of that piece, or the next one masked into the reused
    # buffer c.wbuf (a memoryview), or None once the payload is all written. The message is
    # never copied whole.
    c.wpos += n
    if c.wpos < c.wend:
        return memoryview(c.wbuf)[c.wpos:c.wend]
    d = c.data
    if d is None:  # done: what was queued after the frame follows
        c.wpos = c.wend = 0
        return None
    w = c.wbuf
    if w is None:
        w = c.wbuf = bytearray(_PIECE)
    i = c.dpos
    k = min(_PIECE, len(d) - i)
    m = c.mask  # (i is a multiple of 4)
    for j in range(k):  # a byte at a time: slower than big integers, but it allocates nothing
        w[j] = d[i + j] ^ m[j & 3]
    c.dpos = i + k
    c.wpos, c.wend = 0, k
    if i + k == len(d):
        c.data = c.mask = None
    return memoryview(w)[:k]


def output(c, n):
    # Connection.output() while a large frame's payload is on its way: the queue up to the
    # frame's header (out[opos:split]), the payload a piece at a time, then what was queued
    # after the frame.
    if c.wend:  # a piece of the payload
        b = piece(c, n)
        if b:
            return b
        n = 0
    o = c.out
    if o is None:
        return None
    c.opos += n
    e = len(o) if c.data is None else c.split
    if c.opos < e:
        return memoryview(o)[c.opos:e]
    if c.data is None:
        c.out = None
        c.opos = 0
        return None
    return piece(c, 0)
