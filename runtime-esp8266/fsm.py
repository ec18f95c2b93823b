# fsm.py: the table interpreter every wirestate machine runs on.
#
# A generated <machine>_fsm module holds only tables (layout: generator/analyses/encode.ts).
# The object `o` that implements a machine keeps its atomic state in `o.state`, its timer
# deadlines in `o.timers` (a ticks_ms() value or None per timer) and their durations in
# `o.delays`; fsm calls o.guard(g) and o.act(a) with the ids of the spec's guards and actions.
# Actions must not call fire() themselves: they record what to do, and the caller acts on it.
try:
    from micropython import const
except ImportError:  # CPython
    const = int
try:
    from time import ticks_ms, ticks_add, ticks_diff
except ImportError:  # CPython: the same 30-bit wrapping ticks as MicroPython
    from time import monotonic

    def ticks_ms():
        return int(monotonic() * 1000) & 0x3FFFFFFF

    def ticks_add(t, d):
        return (t + d) & 0x3FFFFFFF

    def ticks_diff(a, b):
        return ((a - b + 0x20000000) & 0x3FFFFFFF) - 0x20000000

# A function (machine module, old state, event, new state) to watch every transition, or None.
# Starting a machine reports event 255.
trace = None


def start(m, o):
    o.state = 0
    o.timers = [None] * len(m.TIMER_MS)
    o.delays  # the contract: fails here, naming the attribute, rather than at the first timer
    fire(m, o, 255)


def fire(m, o, ev):
    # Handle event `ev`; False if the current state ignores it (or no candidate's guard held).
    t = m.PROG
    if ev == 255:
        i = 0
    else:
        i = m.CELL[m.ROW[o.state] * m.NE + ev]
        if not i:
            return False
    i = m.OFF[2 * i] | m.OFF[2 * i + 1] << 8
    n = t[i]
    i += 1
    while n:
        g = t[i]  # 0: no guard; else guard id + 1, with bit 7 set for `unless`
        k = t[i + 2]  # how many steps
        if g == 0 or (not o.guard((g & 127) - 1)) == (g > 127):
            old = o.state
            g = t[i + 1]
            if g != 255:  # 255: stay
                o.state = g
            i += 3
            k += i
            while i < k:
                a = t[i]
                if a < m.NA:
                    o.act(a)
                else:  # NA + 2k arms timer k, NA + 2k + 1 cancels it
                    a -= m.NA
                    o.timers[a >> 1] = None if a & 1 else ticks_add(ticks_ms(), o.delays[a >> 1])
                i += 1
            if trace:
                trace(m, old, ev, o.state)
            return True
        i += 3 + k
        n -= 1
    return False


def due(m, o):
    # Fire the event of a timer that is due (timer events follow the declared ones) and
    # return 0; else the milliseconds until the next one is, or None if none is armed.
    ts = o.timers
    w = None
    for k in range(len(ts)):
        if ts[k] is not None:
            d = ticks_diff(ts[k], ticks_ms())
            if d <= 0:
                ts[k] = None
                fire(m, o, m.NE - len(ts) + k)
                return 0
            if w is None or d < w:
                w = d
    return w


def unload(name):
    # Forget module `name` so its code can be collected; the next import loads it again.
    import sys
    sys.modules.pop(name, None)
    i = name.rfind('.')
    if i > 0:  # and the attribute of its package that refers to it
        p = sys.modules.get(name[:i])
        if p:
            p.__dict__.pop(name[i + 1:], None)
