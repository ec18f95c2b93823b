# wirestate simulated ESP8266: the `select` module (poll objects and select()), for the
# simulator's sockets and TLS sockets. Waiting happens on the host in one blocking call.
# Objects that are not simulator sockets but have an ioctl(req, arg) method (Python streams)
# are polled too, by re-checking them every few milliseconds.
import _simhost
from array import array
from uctypes import addressof as _addr
from uerrno import ENOENT as _ENOENT

POLLIN = 1
POLLOUT = 4
POLLERR = 8
POLLHUP = 16

_h = _simhost
_IOCTL_POLL = 3  # MP_STREAM_POLL
_SLICE_MS = 5


class _Poll:
    def __init__(self):
        self._objs = []
        self._tab = array("i")  # (socket id or -1, event mask) per registered object
        self._out = array("i")
        self._foreign = 0

    def _find(self, obj):
        objs = self._objs
        for i in range(len(objs)):
            if objs[i] is obj:
                return i
        return -1

    def register(self, obj, eventmask=POLLIN | POLLOUT):
        i = self._find(obj)
        if i >= 0:
            self._tab[2 * i + 1] = eventmask
            return
        sid = getattr(obj, "_id", -1)
        if sid < 0:
            if not hasattr(obj, "ioctl"):
                raise TypeError("object with stream.ioctl required")
            self._foreign += 1
        self._objs.append(obj)
        self._tab.append(sid)
        self._tab.append(eventmask)
        self._out.append(0)

    def unregister(self, obj):
        i = self._find(obj)
        if i < 0:
            return
        if self._tab[2 * i] < 0:
            self._foreign -= 1
        self._objs.pop(i)
        t = self._tab
        self._tab = t[: 2 * i] + t[2 * i + 2 :]
        self._out = array("i", [0] * len(self._objs))

    def modify(self, obj, eventmask):
        i = self._find(obj)
        if i < 0:
            raise OSError(_ENOENT)
        self._tab[2 * i + 1] = eventmask

    def _wait(self, timeout):
        n = len(self._objs)
        tab = self._tab
        out = self._out
        ta = _addr(tab) if n else 0
        oa = _addr(out) if n else 0
        if not self._foreign:
            return _h.poll(ta, n, oa, timeout)
        # Python-level streams can only be asked, not waited on: wait on the host in slices.
        left = timeout
        while True:
            step = _SLICE_MS if left < 0 or left > _SLICE_MS else left
            k = _h.poll(ta, n, oa, 0)
            for i in range(n):
                m = tab[2 * i + 1]
                if tab[2 * i] < 0 and m:
                    ev = self._objs[i].ioctl(_IOCTL_POLL, m)
                    if ev:
                        out[i] = ev
                        k += 1
            if k or left == 0:
                return k
            k = _h.poll(ta, n, oa, step)
            if k:
                return k
            if left > 0:
                left -= step

    def poll(self, timeout=-1, flags=0):
        if timeout is None:
            timeout = -1
        k = self._wait(timeout)
        res = []
        if k:
            out = self._out
            for i in range(len(self._objs)):
                ev = out[i]
                if ev:
                    res.append((self._objs[i], ev))
                    if flags & 1:
                        self._tab[2 * i + 1] = 0  # one-shot: disarm until modify()
        return res

    def ipoll(self, timeout=-1, flags=0):
        return iter(self.poll(timeout, flags))


def poll():
    return _Poll()


def select(rlist, wlist, xlist, timeout=None):
    p = _Poll()
    for objs, mask in ((rlist, POLLIN), (wlist, POLLOUT), (xlist, POLLERR | POLLHUP)):
        for o in objs:
            i = p._find(o)
            p.register(o, mask if i < 0 else p._tab[2 * i + 1] | mask)
    res = p.poll(-1 if timeout is None else int(timeout * 1000))
    r = []
    w = []
    x = []
    for o, ev in res:
        if ev & POLLIN:
            r.append(o)
        if ev & POLLOUT:
            w.append(o)
        if ev & ~(POLLIN | POLLOUT):
            x.append(o)
    return (r, w, x)
