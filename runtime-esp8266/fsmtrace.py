# fsmtrace.py: records the transitions of every machine, for `wirestate trace decode` and the
# explorer. Import it only to trace: until start() sets fsm.trace, fsm pays one test of None.
#
#   import fsmtrace
#   fsmtrace.start(256)             # keep the last 256 transitions (1 KB, allocated now)
#   ...
#   fsmtrace.save('trace.wst')
#
# A record is 4 bytes: machine (its place in the file's header), from state, event (255: the
# machine started), to state. The file (generator/trace/format.mjs reads it) is b'WST1', the
# number of machines, per machine its version (4 bytes, little-endian) and module name (a
# length byte, then the name), then the number of records and of older records dropped (4
# bytes each) and the records, oldest first.
import fsm

_buf = None
_mods = []  # table modules, in order of their first transition
_n = 0  # transitions recorded since start()


def _record(m, old, ev, new):
    global _n
    k = 0
    for x in _mods:
        if x is m:
            break
        k += 1
    else:
        _mods.append(m)
    i = _n % (len(_buf) >> 2) << 2
    _buf[i] = k
    _buf[i + 1] = old
    _buf[i + 2] = ev
    _buf[i + 3] = new
    _n += 1


def start(n=64):
    """Record every transition from now on, keeping the last n."""
    global _buf, _n
    _buf = bytearray(n << 2)
    _n = 0
    fsm.trace = _record


def stop():
    fsm.trace = None


def _version(m):
    # As generator/analyses/fingerprint.ts: every value stays a small int, nothing is allocated.
    h = 0
    for t in (m.ROW, m.CELL, m.OFF, m.PROG, (m.NE, m.NA)):
        for v in t:
            h = (h * 29 + v) & 0x1FFFFFF
    return h


def save(path):
    """Write what was recorded to a file; recording goes on."""
    cap = len(_buf) >> 2
    kept = min(_n, cap)
    with open(path, 'wb') as f:
        f.write(b'WST1')
        f.write(bytes((len(_mods),)))
        for m in _mods:
            name = m.__name__.encode()
            f.write(_version(m).to_bytes(4, 'little'))
            f.write(bytes((len(name),)))
            f.write(name)
        f.write(kept.to_bytes(4, 'little'))
        f.write((_n - kept).to_bytes(4, 'little'))
        b = memoryview(_buf)
        i = _n % cap << 2
        if _n > cap:  # the buffer has wrapped: the oldest record is the next to be overwritten
            f.write(b[i:])
            f.write(b[:i])
        else:
            f.write(b[:kept << 2])
