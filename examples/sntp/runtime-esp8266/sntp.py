# sntp.py: implements the sntp machine of spec/sntp.yaml.
#
# SNTP client (RFC 4330): ask a time server for the time over UDP, retry a few times when no
# valid answer comes, and ask again every hour once synchronised. Sans-I/O: the runtime hands
# the request to the application to send and is given each datagram that arrives.
#
# The runtime contract: fsm.start() sets self.state and self.timers; self.delays holds each
# timer's duration in ms; fsm calls guard(g) and act(a) with the ids below. Actions never
# call fire(): they record what to do, and the code that fed the event acts on it after.
from os import urandom
from fsm import const, due, fire, start
import sntp_fsm as M

# wirestate ids: begin (`wirestate stub` rewrites this block, `wirestate generate --fix` its values)
_E_SYNC = const(0)  # event 'sync'
_E_REPLY = const(1)  # event 'reply'
_E_REPLY_TIMEOUT = const(2)  # event 'reply_timeout'
_E_RETRY_DELAY = const(3)  # event 'retry_delay'
_E_RESYNC = const(4)  # event 'resync'
_S_IDLE = const(0)  # state 'idle'
_S_REQUESTING = const(1)  # state 'requesting'
_S_WAITING = const(2)  # state 'waiting'
_S_SYNCED = const(3)  # state 'synced'
_S_FAILED = const(4)  # state 'failed'
_T_REPLY_TIMEOUT = const(0)  # timer 'reply_timeout'
_T_RETRY_DELAY = const(1)  # timer 'retry_delay'
_T_RESYNC = const(2)  # timer 'resync'
_A_SEND_REQUEST = const(0)  # action 'send_request'
_A_COUNT_TRY = const(1)  # action 'count_try'
_A_NEW_ROUND = const(2)  # action 'new_round'
_A_SET_TIME = const(3)  # action 'set_time'
_A_GIVE_UP = const(4)  # action 'give_up'
_G_REPLY_OK = const(0)  # guard 'reply_ok'
_G_TRIES_LEFT = const(1)  # guard 'tries_left'
_FINAL = const(5)  # first final state: state >= _FINAL means the machine has stopped
# wirestate ids: end


# Seconds from the NTP era's start (1900) to the Unix epoch (1970).
_UNIX = const(2208988800)


class Sntp:
    # One server, sans-I/O: send `out` when it is not None (then set it to None), pass every
    # datagram from the server to received(), and call poll() as it asks.

    def __init__(self, tries=3):
        self.tries = tries
        self.n = 0  # requests sent in this round
        self.out = None  # the datagram to send
        self.rx = None  # the datagram being judged
        self.nonce = None  # our transmit timestamp, which the answer must echo
        self.unix = None  # seconds since 1970 the server gave, once synchronised
        self.error = None
        # Timer durations in ms, by timer id (the spec's defaults; set others here).
        self.delays = list(M.TIMER_MS)
        # Last: start() enters the initial state and runs its entry actions.
        start(M, self)

    def sync(self):
        # Ask for the time (again); False if a request is already out.
        return fire(M, self, _E_SYNC)

    def received(self, data):
        # A datagram from the server.
        self.rx = data
        fire(M, self, _E_REPLY)
        self.rx = None

    def poll(self):
        # Fire a due timer's event and return 0; else ms until the next is due (None: none armed).
        return due(M, self)

    def guard(self, g):
        if g == _G_REPLY_OK:
            # reply_ok: the server's answer to our request (RFC 4330 section 5).
            p = self.rx
            return (len(p) == 48 and p[0] & 7 == 4 and p[0] >> 6 != 3 and 0 < p[1] < 16
                    and p[24:32] == self.nonce and p[40:48] != bytes(8))
        if g == _G_TRIES_LEFT:
            # tries_left: Fewer requests than the configured number of tries have gone unanswered.
            return self.n < self.tries
        raise ValueError(g)

    def act(self, a):
        if a == _A_SEND_REQUEST:
            # send_request: version 4, mode 3 (client); a random transmit timestamp.
            self.nonce = urandom(8)
            self.out = b'\x23' + bytes(39) + self.nonce
        elif a == _A_COUNT_TRY:
            self.n += 1
        elif a == _A_NEW_ROUND:
            self.n = 0
            self.error = None
        elif a == _A_SET_TIME:
            # set_time: the transmit timestamp's seconds (bytes 40-43, big-endian).
            p = self.rx
            self.unix = (p[40] << 24 | p[41] << 16 | p[42] << 8 | p[43]) - _UNIX
        elif a == _A_GIVE_UP:
            self.error = 'no valid answer in %d tries' % self.tries
        else:
            raise ValueError(a)
