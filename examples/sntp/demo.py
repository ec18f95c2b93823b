# demo.py: the SNTP client's whole story without a network, on the simulated board or any
# MicroPython or CPython: a request that goes unanswered, a forged answer dropped, a retry
# answered. `server()` plays the time server; main.py talks to a real one over UDP.
import time
from sntp import Sntp

STATES = ('idle', 'requesting', 'waiting', 'synced', 'failed')


def server(request, originate=None):
    # A stratum-2 server's answer: 2024-01-01 00:00:00 UTC as its transmit timestamp.
    seconds = 1704067200 + 2208988800
    return (b'\x24\x02' + bytes(22) + (originate or request[40:48]) + bytes(8)
            + seconds.to_bytes(4, 'big') + bytes(4))


def wait_for_timer(c):
    while True:
        w = c.poll()
        if w == 0:
            return
        time.sleep(w / 1000)


c = Sntp(tries=3)
c.delays[0] = 30  # reply_timeout: short, for the demo
c.delays[1] = 10  # retry_delay
print('start:', STATES[c.state])
c.sync()
print('sync:', STATES[c.state], len(c.out), 'bytes out, try', c.n)
c.out = None  # "sent"; the answer is lost
wait_for_timer(c)
print('reply_timeout:', STATES[c.state])
wait_for_timer(c)
print('retry_delay:', STATES[c.state], 'try', c.n)
request, c.out = c.out, None
c.received(server(request, originate=bytes(8)))
print('forged reply:', STATES[c.state])
c.received(server(request))
print('reply:', STATES[c.state], 'unix time', c.unix)
