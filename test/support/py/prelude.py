# Prelude of every e2e scenario, on the simulated ESP8266 (MicroPython) and on CPython alike:
# scenarios set R to their result, which is sent back as JSON (bytes as {'$b': hex}).
import sys
import time
import json
from binascii import hexlify
from uwebsockets.client import connect
from uwebsockets.protocol import ConnectionClosed, HandshakeError

IS_MPY = sys.implementation.name == 'micropython'
R = None


def _J(x):
    if isinstance(x, (bytes, bytearray, memoryview)):
        return {'$b': hexlify(bytes(x)).decode()}
    if isinstance(x, (list, tuple)):
        return [_J(i) for i in x]
    if isinstance(x, dict):
        return {k: _J(v) for k, v in x.items()}
    return x


def _JS(x):
    return json.dumps(_J(x))


def catch(f, *a, **k):
    """['ok', result] or ['exc', type name, message, errno]."""
    try:
        return ['ok', f(*a, **k)]
    except Exception as e:
        return ['exc', type(e).__name__, str(e), getattr(e, 'errno', None)]


def now_ms():
    if IS_MPY:
        return time.ticks_ms()
    return int(time.monotonic() * 1000)


def since_ms(t0):
    if IS_MPY:
        return time.ticks_diff(time.ticks_ms(), t0)
    return now_ms() - t0


def state(ws):
    """What tests compare about a connection."""
    return {'open': ws.open, 'code': ws.close_code, 'reason': ws.close_reason}


def pattern(n):
    """Byte i is i & 255, as the test servers generate it."""
    b = bytearray(n)
    for i in range(0, n, 256):
        k = min(256, n - i)
        b[i:i + k] = bytes(range(k))
    return bytes(b)
