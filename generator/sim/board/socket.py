# wirestate simulated ESP8266: the `socket` module (lwIP semantics, backed by host TCP sockets).
#
# The real work (timeouts, stream-read loops, readiness) happens in the simulator's host
# functions (module `_simhost`); this file only gives it the shape of the board's module.
# Results are negative errno values; received bytes are left in a buffer outside the Python
# heap and copied into one bytes object with uctypes.bytes_at.
import _simhost
from uctypes import addressof as _addr, bytes_at as _bytes_at
from uerrno import EAGAIN as _EAGAIN, EOPNOTSUPP as _EOPNOTSUPP

AF_INET = 2
AF_INET6 = 10
SOCK_STREAM = 1
SOCK_DGRAM = 2
SOCK_RAW = 3
SOL_SOCKET = 1
SO_REUSEADDR = 4
IPPROTO_IP = 0
IPPROTO_TCP = 6
IPPROTO_UDP = 17
IP_ADD_MEMBERSHIP = 0x400

_h = _simhost
_stash = _h.stash


def _bytes(k):
    return _bytes_at(_stash(), k) if k else b""


def _ip(s):
    # netutils_parse_inet_addr: dotted quad only, anything else is ValueError
    p = s.split(".")
    if len(p) != 4:
        raise ValueError("invalid arguments")
    for x in p:
        if not x or not x.isdigit() or int(x) > 255:
            raise ValueError("invalid arguments")
    return s


def getaddrinfo(host, port, af=0, type=0, proto=0, flags=0):
    r = _h.resolve(host)
    if isinstance(r, int):
        raise OSError(r)  # lwIP reports a failed lookup as OSError(-2)
    return [(AF_INET, SOCK_STREAM, 0, "", (r, port))]


_NOMEM = -100003  # simfault: the read fails as the allocation of its result would


def _checked(k):
    # A host result: a count, None for EAGAIN (a non-blocking stream with nothing to give), or OSError.
    if k < 0:
        if k == -_EAGAIN:
            return None
        if k == _NOMEM:
            raise MemoryError
        raise OSError(-k)
    return k


def _got(r, k):
    # r is the read's result, made: from here simfault may have the heap locked.
    if k:
        _h.fault_read()
    return r


class _Stream:
    # The stream methods the board's sockets and TLS sockets share (MicroPython's stream protocol).
    def __init__(self, sid):
        self._id = sid

    def read(self, n=-1):
        k = _checked(_h.read(self._id, n))
        return k if k is None else _got(_bytes(k), k)

    def readinto(self, buf, nbytes=-1):
        n = len(buf)
        if 0 <= nbytes < n:
            n = nbytes
        k = _checked(_h.readinto(self._id, _addr(buf), n))
        return k if k is None else _got(k, k)

    def readline(self, limit=-1):
        k = _checked(_h.readline(self._id, limit))
        return k if k is None else _got(_bytes(k), k)

    def write(self, buf):
        if isinstance(buf, str):
            buf = buf.encode()
        n = len(buf)
        return _checked(_h.write(self._id, _addr(buf), n) if n else 0)

    def setblocking(self, flag):
        _h.settimeout(self._id, -1 if flag else 0)

    def close(self):
        _h.close(self._id)


class socket(_Stream):
    def __init__(self, af=AF_INET, type=SOCK_STREAM, proto=0):
        if type != SOCK_STREAM:
            raise OSError(_EOPNOTSUPP)  # only TCP is simulated
        r = _h.sock_new()
        if r < 0:
            raise OSError(-r)
        _Stream.__init__(self, r)

    def __repr__(self):
        return "<socket %s>" % _h.describe(self._id)

    def connect(self, addr):
        r = _h.connect(self._id, _ip(addr[0]), addr[1])
        if r < 0:
            raise OSError(-r)

    def settimeout(self, t):
        _h.settimeout(self._id, -1 if t is None else int(t * 1000))

    def setsockopt(self, level, opt, val):
        pass

    def makefile(self, mode="rb", buffering=0):
        return self

    def recv(self, n):
        k = _h.recv(self._id, n)
        if k < 0:
            if k == _NOMEM:
                raise MemoryError
            raise OSError(-k)
        return _got(_bytes(k), k)

    def send(self, buf):
        # One lwIP send: with no room in the send buffer it waits (blocking, per the timeout) or
        # raises EAGAIN (non-blocking); then it sends what fits and returns that count.
        if isinstance(buf, str):
            buf = buf.encode()
        n = len(buf)
        k = _h.send(self._id, _addr(buf), n) if n else 0
        if k < 0:
            raise OSError(-k)
        return k

    def sendall(self, buf):
        # Blocking: sends everything, waiting for room. Non-blocking: EAGAIN with nothing sent
        # unless all of it fits now.
        if isinstance(buf, str):
            buf = buf.encode()
        n = len(buf)
        k = _h.sendall(self._id, _addr(buf), n) if n else 0
        if k < 0:
            raise OSError(-k)
