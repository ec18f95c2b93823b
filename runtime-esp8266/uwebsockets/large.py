# uwebsockets/large.py: writing the payload of a frame over 256 bytes, imported with the first
# such frame (a connection that only sends small messages never loads it).


def piece(c, size):
    """Mask the next piece (size bytes at most) of the payload Connection c is writing into its
    reused buffer c.wbuf, and return it (a memoryview): the message is never copied whole."""
    w = c.wbuf
    if w is None:
        w = c.wbuf = bytearray(size)
    d = c.data
    i = c.dpos
    k = min(size, len(d) - i)
    m = c.mask  # (i is a multiple of 4)
    for j in range(k):  # a byte at a time: slower than big integers, but it allocates nothing
        w[j] = d[i + j] ^ m[j & 3]
    c.dpos = i + k
    c.wpos, c.wend = 0, k
    if i + k == len(d):
        c.data = c.mask = None
    return memoryview(w)[:k]
