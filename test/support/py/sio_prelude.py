# Helpers of the Socket.IO e2e scenarios (test/e2e/socketio.test.ts), run after prelude.py on
# the simulated ESP8266 and on CPython alike (the test sends this file ahead of each scenario).
from errno import ENOTCONN
from usocketio.client import connect as sio_connect


def until(c, cond, ms=5000):
    """Run client c's loop until cond() holds (True) or ms have passed (False)."""
    t0 = now_ms()
    while not cond():
        if since_ms(t0) > ms:
            return False
        c.step(20)
    return True


def spin(c, ms):
    """Run client c's loop for ms."""
    until(c, lambda: False, ms)


def log(c, L, ns='/'):
    """Record what namespace ns's handlers hear into L as [ns, event, args], and the default
    namespace's sid (c.sid) at each connect."""
    c.on('connect', lambda: L.append([ns, 'connect', c.sid if ns == '/' else None]), namespace=ns)
    c.on('disconnect', lambda reason: L.append([ns, 'disconnect', reason]), namespace=ns)
    c.on('connect_error', lambda data: L.append([ns, 'connect_error', data]), namespace=ns)
    c.on('*', lambda ev, *a: L.append([ns, ev, list(a)]), namespace=ns)


def seen(L, ev, ns='/'):
    """The records of L for event ev on namespace ns."""
    return [x for x in L if x[0] == ns and x[1] == ev]


def fails(f, *a, **k):
    """['ok', result] or ['exc', type name, args[0]]: OSError(ENOTCONN) has args[0] 107 on both
    ports (CPython leaves its errno None when it is made with one argument)."""
    try:
        return ['ok', f(*a, **k)]
    except Exception as e:
        return ['exc', type(e).__name__, e.args[0] if e.args else None]
