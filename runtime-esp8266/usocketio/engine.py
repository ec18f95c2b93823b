# usocketio/engine.py: an Engine.IO client session (protocol 4, or 3 for socket.io 2.x servers).
#
# The session's logic is two machines (spec/engineio.yaml) run by fsm: the engine (opening, the
# upgrade from polling to WebSocket, the end) and its heartbeat. This module implements their
# steady-state guards and actions and turns what the transports read into one event per
# packet; what a session does once (open, probe, upgrade, close) is in usocketio.transport, and
# HTTP long-polling in usocketio.polling, both imported when needed. Nothing here waits: the
# client's loop waits on sockets() and due() and calls pump().
from fsm import const, due, fire, start
import engineio_fsm as E
import engineio_heartbeat_fsm as H

# Ids in the engineio and engineio_heartbeat machines (checked by `npx wirestate generate`).
_E_MESSAGE = const(1)
_E_PING = const(2)
_E_PONG = const(3)
_E_CLOSE_PACKET = const(4)
_E_NOOP = const(5)
_E_TRANSPORT_ERROR = const(10)
_E_PARSE_ERROR = const(11)
_E_SEND = const(13)
_E_CLOSE_REQUEST = const(14)
_E_DEAD = const(12)
_G_WEBSOCKET_ONLY = const(0)
_G_CAN_UPGRADE = const(1)
_G_BUFFERED = const(2)
_G_DRAINING = const(3)
_G_QUIET = const(4)
_A_POST = const(4)
_A_BUFFER = const(5)
_A_DELIVER = const(9)
_A_FEED_HEARTBEAT = const(10)
_A_SAY_GOODBYE = const(12)
_E_SESSION_START = const(0)
_E_SERVER_PING = const(1)
_E_SERVER_PONG = const(2)
_A_ANSWER_PING = const(0)
_A_SEND_PING = const(1)
_A_DECLARE_DEAD = const(2)
_G_PROTOCOL_3 = const(0)

# What the engine tells the layer above, with up(what, data).
OPEN = const(0)
MESSAGE = const(1)  # data: str, or bytes for a binary message
FAILED = const(2)  # data: why
LOST = const(3)  # data: why

# Events waiting to be handled, oldest first: (machine, object, event, data). An action that
# causes an event (of its own machine or another) posts it; it is handled once the current
# step is over, so a machine never runs inside its own step, and nothing recurses.
_q = []


def post(m, o, ev, x=None):
    # Handle event ev (255: start the machine) of machine m on o, with o.x = x, now if nothing
    # is being handled, else after what is.
    _q.append((m, o, ev, x))
    if len(_q) == 1:
        _drain()


def tick(m, o):
    # fsm.due() for o, with the events its timer's actions post handled after it.
    _q.append(None)
    try:
        w = due(m, o)
    except BaseException:
        del _q[:]
        raise
    _drain()
    return w


def _drain():
    try:
        while _q:
            e = _q[0]
            if e:
                m, o, ev, o.x = e
                start(m, o) if ev == 255 else fire(m, o, ev)
            _q.pop(0)
    except BaseException:
        del _q[:]  # an error leaves no half-handled queue behind
        raise


def earliest(a, b):
    # The sooner of two due() results (None: no timer).
    return b if a is None or b is not None and b < a else a


class Heartbeat:
    # The engineio_heartbeat machine beside engine e: pingInterval and pingTimeout come from
    # the handshake.

    def __init__(self, e, i, t):
        self.e = e
        self.delays = (i + t, i, t)  # ping_deadline, ping_interval, pong_deadline
        post(H, self, 255)
        post(H, self, _E_SESSION_START)

    def guard(self, g):
        return g == _G_PROTOCOL_3 and self.e.eio == 3

    def act(self, a):
        e = self.e
        # One of each waiting is enough: a server that pings faster than a POST goes cannot
        # fill the buffer with answers.
        if a == _A_ANSWER_PING:
            '3' in e.buf or post(E, e, _E_SEND, '3')
        elif a == _A_SEND_PING:
            '2' in e.buf or post(E, e, _E_SEND, '2')
        elif a == _A_DECLARE_DEAD:
            e.fail('ping timeout', _E_DEAD)


class Engine:
    # One Engine.IO session, opened as soon as it is made. c holds the settings (url, eio,
    # transports, headers, ssl, timeout, max_size) and hears about the session through
    # c.up(what, data).

    get = posting = ws = probe = sock = hb = sid = reason = error = None  # sock: dialled for a WebSocket yet to start
    probed = False  # whether the probe WebSocket has sent its ping probe (None: it is yet to open; 0: it just opened)

    def __init__(self, c):
        self.c = c
        self.eio = c.eio
        self.buf = []  # packets to send, in order
        self.delays = (c.timeout, E.TIMER_MS[1])  # open_timeout, upgrade_timeout
        post(E, self, 255)

    def send(self, s, a=()):
        # Send a message: text s, then each of a as a binary message (Socket.IO's
        # attachments follow their packet so).
        post(E, self, _E_SEND, '4' + s)
        for b in a:
            post(E, self, _E_SEND, b)

    def close(self):
        post(E, self, _E_CLOSE_REQUEST)

    def sockets(self):
        # The sockets to wait on for what the session reads next (not an idle kept-alive
        # polling connection, which reads as ready once the server closes it).
        return [t.sock for t in (self.get, self.posting, self.ws, self.probe) if t and t.sock and getattr(t, 'busy', 1)]

    def due(self):
        # Fire what is due of the session's timers; milliseconds until the next (0: one fired).
        w = tick(E, self)
        return earliest(w, self.hb and tick(H, self.hb))

    def fail(self, why, ev=_E_TRANSPORT_ERROR, error=None):
        # The first reason the session ends for is the one reported.
        if self.reason is None:
            self.reason = why
            self.error = error
        post(E, self, ev)

    def bad(self):
        # A packet (or a message, for the layer above) that makes no sense: a parse error
        # ends the session.
        self.fail('parse error', _E_PARSE_ERROR)

    def guard(self, g):
        if g == _G_WEBSOCKET_ONLY:
            return self.get is None
        if g == _G_CAN_UPGRADE:  # judged on the handshake, before accept_handshake runs
            return 'websocket' in (self.x.get('upgrades') or ()) and 'websocket' in self.c.transports
        if g == _G_BUFFERED:
            return self.buf
        if g == _G_DRAINING:
            return self.buf or self.posting and self.posting.busy
        if g == _G_QUIET:
            return not (self.get.busy or self.posting.busy)

    def act(self, a):
        try:
            if a == _A_DELIVER:
                self.c.up(MESSAGE, self.x)
            elif a == _A_BUFFER:
                self.buf.append(self.x)
            elif a == _A_POST:
                self._post()
            elif a == _A_FEED_HEARTBEAT:
                post(H, self.hb, _E_SERVER_PING if self.x == '2' else _E_SERVER_PONG)
            elif a >= _A_SAY_GOODBYE:  # and close_transports: the session's end
                from usocketio.ending import act
                act(self, a)
            else:  # opening, probing, upgrading, polling
                import usocketio.transport as t
                t.act(self, a)
        except (OSError, MemoryError) as x:  # out of memory too: the session fails, not the loop
            self.fail('transport error', error=x)

    def _post(self):
        b = self.buf
        if self.ws:
            while b:
                if not self.ws.open:
                    return self.fail('transport close')
                p = b.pop(0)
                self.ws.send(p if isinstance(p, str) or self.eio == 4 else b'\x04' + p)
        elif b:
            import usocketio.polling as p  # (not 'from ... import': a file system search each call)
            p.flush(self)

    def pump(self):
        # Read, without waiting, what the transports have, and handle it packet by packet;
        # True if anything arrived.
        k = False  # whether anything arrived
        if self.probe or self.probed is None or self.get is False:  # a transport being opened
            import usocketio.transport as t
            g, p = self.get, self.probe
            k = t.pump(self)
            if k is None or g is False or (p is None) != (self.probe is None):
                # A step that imported a phase's code or opened a transport (a probe begun, or
                # ended: made the session's, or dropped) does nothing else: what has arrived
                # waits for the next, so a phase's work never shares a step's heap with the next
                # phase's code, however fast the server answers. After an import, a dial or the
                # probe's end the loop steps again at once; not while a request awaits its answer.
                return k is not False
        if self.get:
            import usocketio.polling as p
            k = p.pump(self) or k
        try:
            for n in range(32):  # frames per call at most: a busy server must not starve the timers
                w = self.ws
                if not w:
                    break
                r = w.step(-1)
                m, w.msg = w.msg, None
                if m is not None:
                    self.packet(m)
                elif not w.open:
                    self.fail('transport close')
                if r is None:
                    break
                k = True
        except MemoryError as x:  # as any failure to receive: the session ends, the loop goes on
            self.fail('transport error', error=x)
            k = True
        return k

    def packet(self, p):
        # Handle a packet read: str for text, bytes for a binary message (as on WebSocket:
        # protocol 3 puts a 4, for message, before the bytes).
        if not isinstance(p, str):
            return post(E, self, _E_MESSAGE, p[1:] if self.eio == 3 and self.ws else p)
        t = p[:1]
        if t == '4':
            post(E, self, _E_MESSAGE, p[1:])
        elif t and t in '236':
            post(E, self, (_E_PING, _E_PONG, _E_NOOP)['236'.find(t)], t)
        elif t == '1':
            self.fail('transport close', _E_CLOSE_PACKET)
        elif t == '0':
            import usocketio.transport as t
            t.handshake(self, p)
        else:
            self.bad()
