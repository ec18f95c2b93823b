# wirestate simulated ESP8266: a `network` stub so that typical boot.py code runs.
# The station interface is always connected (the host's network stands in for Wi-Fi).
STA_IF = 0
AP_IF = 1
STAT_IDLE = 0
STAT_CONNECTING = 1
STAT_WRONG_PASSWORD = 2
STAT_NO_AP_FOUND = 3
STAT_CONNECT_FAIL = 4
STAT_GOT_IP = 5


class WLAN:
    def __init__(self, interface_id=STA_IF):
        self._sta = interface_id == STA_IF
        self._on = self._sta

    def active(self, flag=None):
        if flag is None:
            return self._on
        self._on = bool(flag)

    def connect(self, *args, **kwargs):
        pass

    def disconnect(self):
        pass

    def isconnected(self):
        return self._on

    def status(self, *args):
        return STAT_GOT_IP if self._on else STAT_IDLE

    def ifconfig(self, *args):
        if not args:
            return ("10.0.2.15", "255.255.255.0", "10.0.2.2", "10.0.2.3") if self._sta else ("192.168.4.1", "255.255.255.0", "192.168.4.1", "208.67.222.222")

    def config(self, *args, **kwargs):
        if args and args[0] == "mac":
            return b"\x02\x00\x00\x00\x00\x00" if self._sta else b"\x02\x00\x00\x00\x00\x01"
