# wirestate simulated ESP8266: `os` = the VM's uos plus urandom() and an ESP8266 uname().
from uos import *
import sys as _sys
import _simhost
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


def urandom(n):
    return _bytes_at(_h.stash(), _h.urandom(n)) if n > 0 else b""
