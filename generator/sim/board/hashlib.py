# wirestate simulated ESP8266: `hashlib` = the VM's uhashlib plus sha1 (host-backed, node:crypto).
from uhashlib import *
import _simhost
from uctypes import addressof as _addr, bytes_at as _bytes_at

_h = _simhost


class sha1:
    def __init__(self, data=None):
        self._h = _h.sha1_new()
        if data is not None:
            self.update(data)

    def update(self, data):
        if self._h < 0:
            raise ValueError("hash is final")
        if isinstance(data, str):
            data = data.encode()
        n = len(data)
        if n:
            _h.sha1_update(self._h, _addr(data), n)

    def digest(self):
        if self._h < 0:
            raise ValueError("hash is final")
        k = _h.sha1_digest(self._h)
        self._h = -1
        return _bytes_at(_h.stash(), k)
