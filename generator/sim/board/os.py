# wirestate simulated ESP8266: `os` = the VM's uos plus urandom() and an ESP8266 uname().
from uos import *
import sys as _sys
import _simhost
import uctypes
from uctypes import bytes_at as _bytes_at
from ucollections import namedtuple as _nt

_h = _simhost

_UNAME = _nt("uname_result", ("sysname", "nodename", "release", "version", "machine"))(
    "esp8266",
    "esp8266",
    "2.2.0-dev(9422289)",
    "v%d.%d.%d (wirestate simulated ESP8266 on the %s VM)" % (_sys.implementation.version[:3] + (_sys.platform,)),
    "ESP module with ESP8266",
)


def uname():
    return _UNAME


# The board's urandom() is C reading the hardware generator: a call costs little more than
# the bytes object it returns. Here requests of up to 256 bytes are served from a pool (b)
# the host's cryptographic generator refills in place: a host call each would double what
# masking a frame costs in the VM. Its names are ones the runtime interns anyway or the VM's
# own: a board module's new names would fill the interned-name pools, and move where the
# runtime's imports cross into a new one, as they do not on a board.
def urandom(n, b=bytearray(256), a=[256, 0]):  # a: [bytes of b used, b's address]
    if n <= 0:
        return b""
    if n > 256:
        return _bytes_at(_h.stash(), _h.urandom(n))
    i = a[0]
    if i + n > 256:
        a[1] = uctypes.addressof(b)
        _h.urandom(256, a[1])
        i = 0
    a[0] = i + n
    return _bytes_at(a[1] + i, n)
