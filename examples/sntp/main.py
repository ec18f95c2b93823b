# main.py: set the board's clock from a time server (on an ESP8266 with Wi-Fi up; boot.py
# usually connects it). The Sntp object is sans-I/O: this loop does the UDP.
import socket
import time
from sntp import Sntp

SERVER = 'pool.ntp.org'


def now(server=SERVER, tries=3):
    addr = socket.getaddrinfo(server, 123)[0][-1]
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    c = Sntp(tries)
    try:
        c.sync()
        while c.unix is None and c.error is None:
            if c.out is not None:
                s.sendto(c.out, addr)
                c.out = None
            w = c.poll()
            if w == 0:
                continue  # a timer fired: maybe a new request to send
            s.settimeout(None if w is None else w / 1000)
            try:
                c.received(s.recv(48))
            except OSError:
                pass  # no datagram in time: poll() fires the timer next
    finally:
        s.close()
    if c.error:
        raise OSError(c.error)
    return c.unix


unix = now()
print('unix time', unix)
try:
    import machine
    # The ESP8266's epoch is 2000-01-01.
    t = time.gmtime(unix - 946684800)
    machine.RTC().datetime((t[0], t[1], t[2], t[6], t[3], t[4], t[5], 0))
    print('clock set:', time.localtime())
except ImportError:
    pass  # not a board
