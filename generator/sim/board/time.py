# wirestate simulated ESP8266: `time` = the VM's utime, with sleeps that block the VM thread
# without spinning the host CPU, and the board's epoch (2000-01-01; the clock reads as if
# set by ntptime). time() is an int, as on the ESP8266.
from utime import *
import utime as _ut
import _simhost

_h = _simhost
_EPOCH = 946684800


def sleep(s):
    _h.sleep_ms(s * 1000)


def sleep_ms(ms):
    _h.sleep_ms(ms)


def sleep_us(us):
    _h.sleep_us(us)


def time():
    return int(_ut.time()) - _EPOCH


def time_ns():
    return _ut.time_ns() - _EPOCH * 1000000000


def gmtime(secs=None):
    return _ut.gmtime(int(_ut.time()) if secs is None else secs + _EPOCH)


localtime = gmtime


def mktime(t):
    return _ut.mktime(t) - _EPOCH
