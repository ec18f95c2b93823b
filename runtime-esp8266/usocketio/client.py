# usocketio/client.py: the Socket.IO client (protocol 5 over Engine.IO 4; protocol 4 over
# Engine.IO 3 for socket.io 2.x servers), with the API of the original usocketio package
# (connect, on, emit, send, at_interval, run_forever, close, with-statement) and what users of
# python-socketio and socket.io-client expect: namespaces, auth, acks both ways, binary
# events, reconnection with backoff, connect/disconnect/connect_error events, a catch-all.
#
# Its logic is two machines (spec/socketio.yaml) run by fsm: the manager (Client: the session
# and reconnection) and one namespace socket per namespace joined (Namespace). Handlers and
# callbacks run from the loop (step), never inside a machine's step, so they may emit or close.
import json
from fsm import const, ticks_add, ticks_diff, ticks_ms
from usocketio.engine import FAILED, MESSAGE, OPEN, earliest, post, tick
import socketio_manager_fsm as M
import socketio_namespace_fsm as N

# Ids in the socketio_manager and socketio_namespace machines (checked by `npx wirestate generate`).
_E_ENGINE_OPEN = const(1)
_E_ENGINE_FAILED = const(2)
_E_ENGINE_LOST = const(3)
_S_CLOSED = const(4)
_S_OPEN = const(2)
_S_CONNECTING = const(1)
_A_CLOSE_ENGINE = const(5)
_A_SERVER_LEFT = const(9)
_G_MAY_RECONNECT = const(0)
_E_CONNECTED = const(1)
_E_REFUSED = const(2)
_E_SERVER_DISCONNECT = const(3)
_E_EMIT = const(5)
_E_EVENT = const(6)
_E_ACK = const(7)
_E_REPLY = const(8)
_S_CONNECTED = const(2)
_S_REFUSED = const(3)
_A_HOLD = const(2)
_A_SEND_EVENT = const(4)
_A_DISPATCH_EVENT = const(5)
_A_DISPATCH_ACK = const(6)
_A_SEND_ACK = const(7)
_G_IMPLICIT_CONNECT = const(0)
_ENOTCONN = const(107)  # errno.ENOTCONN, the same on MicroPython and Linux (no errno global kept)

def connect(url, wait=True, **kw):
    # connect(url, namespaces=None, auth=None, headers=None, query=None, transports=None,
    # eio=4, path='/socket.io/', reconnection=True, reconnection_attempts=0,
    # reconnection_delay=1, reconnection_delay_max=5, randomization_factor=0.5, timeout=20,
    # max_size=65536, max_queue=32, ssl=None, wait=True): open a Socket.IO connection to an
    # http://, https://, ws:// or wss:// URL (a path other than / names the namespace to join)
    # and return the Client. With wait, return once the Engine.IO session is open and each
    # namespace has the server's answer (connected or refused; at most timeout), and raise
    # OSError if the session fails to open, or ends before a namespace is connected and there is
    # no reconnection; without, return at once and let the loop connect. ValueError for control
    # characters in query, headers or path (they would inject headers into the requests).
    c = Client(url, **kw)
    from usocketio.session import start
    start(c, wait)
    return c


class Client:
    # A connection to a Socket.IO server (the socketio_manager machine), shared by the
    # namespaces joined on it. Handlers are registered with on(); they run from step(), which
    # run_forever() calls until the client is closed.

    engine = why = partial = None
    watched = ()
    hold = False  # while connect() waits: handlers are the application's to run, later

    def __init__(self, url, **kw):
        from usocketio.session import configure
        configure(self, url, **kw)

    # The application's side.

    def on(self, event, handler=None, namespace='/'):
        # Register handler(*args) for event in namespace, or use as a decorator (the function
        # is returned). 'connect', 'disconnect' (reason) and 'connect_error' (data) are the
        # namespace's own; '*' catches every other event as handler(event, *args). A handler's
        # return value is the ack the server asked for (a tuple for several values).
        if handler is None:
            return lambda f: self.on(event, f, namespace)
        self.handlers.setdefault(namespace, {})[event] = handler
        return handler

    def emit(self, event, *args, namespace='/', callback=None):
        # Send event with args (anything json can encode; bytes go as binary attachments).
        # callback(*ack) is called once, if the server acknowledges. Emits made while the
        # namespace is not connected wait and go out in order once it is; OverflowError if more
        # than max_queue wait, or (with a callback) await their acks; OSError(ENOTCONN) if the
        # namespace or the client was left. What the server would end the session for is refused
        # and nothing is sent (usocketio.strict): TypeError for an event name not a str or args
        # not JSON, ValueError for the names socket.io's parser rejects, NaN or Infinity, and a
        # packet over the maxPayload the server announced.
        ns = self.nsps.get(namespace)
        if ns is None or ns.state >= _S_REFUSED or self.state == _S_CLOSED:
            raise OSError(_ENOTCONN, 'not connected')
        e = self.engine
        if max(len(ns.held) + (len(e.buf) if e else 0), len(ns.acks) if callback else 0) >= self.max_queue:
            raise OverflowError('queue full')
        i = ns.ids if callback else None
        from usocketio.strict import pack
        p = pack(self, 2, namespace, i, [event] + list(args))  # first: it may raise
        if callback:
            ns.ids += 1
            ns.acks[i] = callback
        post(N, ns, _E_EMIT, p)

    def send(self, data, namespace='/', callback=None):
        # emit('message', data).
        self.emit('message', data, namespace=namespace, callback=callback)

    def at_interval(self, seconds):
        # Decorator: call the function every `seconds` from the loop; ValueError unless that is
        # 0 or more and under 536870 (about 6.2 days: ticks_add() takes 2**29 - 1 ms), as
        # uwebsockets' timeouts.
        if not 0 <= seconds < 536870:
            raise ValueError(seconds)
        ms = int(seconds * 1000)
        return lambda f: self.intervals.append([ms, ticks_ms(), f]) or f

    def join(self, namespace, auth=None):
        # Join another namespace on this connection (again, if it was left); auth, if given,
        # replaces the client's for it.
        from usocketio.session import join
        join(self, namespace, auth)

    def disconnect(self, namespace=None):
        # Leave namespace, or every namespace and close the connection (close()).
        from usocketio.session import disconnect
        disconnect(self, namespace)

    def close(self):
        # Leave every namespace and close the connection, once namespaces still joining
        # have the server's answer and what is queued is sent (for at most the timeout).
        from usocketio.closing import close
        close(self)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @property
    def sid(self):
        # The default namespace's session id while it is connected, else None.
        ns = self.nsps.get('/')
        return ns.sid if ns and ns.state == _S_CONNECTED else None

    def run_forever(self):
        # Handle events until the client is closed: by close(), because no namespace is left,
        # or because reconnecting gave up.
        while self.state != _S_CLOSED:
            self.step()
        self._run_calls()

    wait = run_forever  # python-socketio's name

    def step(self, ms=None):
        # Run what is due (timers, handlers, at_interval functions) and handle what has
        # arrived; if nothing had, wait for something, at most ms milliseconds (None: until the
        # next timer). For applications with a loop of their own.
        self._run_calls()
        w = tick(M, self)
        e = self.engine
        r = False  # whether anything arrived
        if e:
            w = earliest(w, e.due())
            r = e.pump()
        for t in self.intervals:  # [ms, when it was last due, function]
            d = ticks_diff(ticks_add(t[1], t[0]), ticks_ms())
            if d <= 0:
                self.calls.append((t[2], None, None, (), None))
                t[1] = ticks_ms()
                d = 0
            w = earliest(w, d)
        if r or w == 0 or self.calls and not self.hold:
            return self._run_calls()
        w = earliest(w, ms)
        s = e.sockets() if e else []
        if s or w is not None:  # else nothing can happen
            if s != self.watched:
                from select import poll, POLLIN
                self.poller = p = poll()
                for k in s:
                    p.register(k, POLLIN)
                self.watched = s
            self.poller.poll(-1 if w is None else w)

    def _run_calls(self):
        while self.calls and not self.hold:
            f, ns, ev, args, i = self.calls.pop(0)
            if f is None:
                h = self.handlers.get(ns.name) or {}
                f = h.get(ev)
                if f is None and ev not in _RESERVED:
                    f = h.get('*')
                    args = (ev,) + args
                if f is None:
                    continue
            r = _call(self, f, args)
            if i is not None:  # packed here, where an error (CPython's json) reaches the caller
                from usocketio.strict import pack
                post(N, ns, _E_REPLY, pack(self, 3, ns.name, i, [] if r is None else list(r) if isinstance(r, tuple) else [r]))

    # The session's side.

    def up(self, k, x):
        # What the engine reports: k is engine.OPEN, MESSAGE, FAILED or LOST.
        if k == MESSAGE:
            return self._message(x)
        self.why = x
        post(M, self, _E_ENGINE_OPEN if k == OPEN else _E_ENGINE_FAILED if k == FAILED else _E_ENGINE_LOST)

    def _message(self, m):
        # A Socket.IO packet, or an attachment of the binary packet before it.
        p = self.partial
        try:
            if p:
                if isinstance(m, str):
                    raise ValueError
                p[4].append(m)
                if len(p[4]) < p[5]:
                    return
                self.partial = None
            elif isinstance(m, str):
                p = decode(m)
                if p[5]:
                    self.partial = p
                    return
            else:
                raise ValueError
            t, w, i, data, a = p[:5]  # w: the namespace
            if t > 4:
                import usocketio.binary as b  # (not 'from ... import': a file system search each call)
                data = b.reconstruct(data, a)
        except Exception as x:  # whatever the decoders raise (json's errors differ by port)
            self.partial = None  # out of memory, as any failure to receive, is a transport error
            return self.engine.fail('transport error') if isinstance(x, MemoryError) else self.engine.bad()
        ns = self.nsps.get(w)
        if ns:
            post(N, ns, _E_CONNECTED if t == 0 else _E_SERVER_DISCONNECT if t == 1 else
                 _E_REFUSED if t == 4 else _E_EVENT if t in (2, 5) else _E_ACK, (i, data))

    def guard(self, g):
        r = self.backoff[0]
        return g == _G_MAY_RECONNECT and r and (r < 0 or self.attempts < r)

    def joining(self, end):
        # Whether a namespace of the open session waits for the answer to its CONNECT, with
        # time left before end.
        return self.state == _S_OPEN and ticks_diff(end, ticks_ms()) > 0 and \
            any(n.state == _S_CONNECTING for n in self.nsps.values())

    def act(self, a):
        if a == _A_CLOSE_ENGINE:
            self.engine.close()
        else:
            import usocketio.session as s
            s.act(self, a)


class Namespace:
    # One namespace joined on a Client (the socketio_namespace machine).

    sid = None
    ids = 0  # the next ack id: the official client's start at 0

    def __init__(self, c, name, auth):
        self.c = c
        self.name = name
        self.auth = auth
        self.held = []  # packed emits waiting for the namespace to be connected
        self.kept = []  # handler calls for events that came before the CONNECT
        self.acks = {}  # ack id -> callback
        self.delays = ()
        post(N, self, 255)

    def call(self, x):
        # The handler call for event packet x = (ack id, [event, *args]).
        return None, self, x[1][0], tuple(x[1][1:]), x[0]

    def guard(self, g):
        return g == _G_IMPLICIT_CONNECT and self.c.eio == 3 and self.name == '/'

    def act(self, a):
        c = self.c
        x = self.x
        if a == _A_SEND_EVENT or a == _A_SEND_ACK:  # x: the packed packet
            c.engine.send(*x)
        elif a == _A_HOLD:
            self.held.append(x)
        elif a == _A_DISPATCH_EVENT:
            c.calls.append(self.call(x))
        elif a == _A_DISPATCH_ACK:
            f = self.acks.pop(x[0], None)
            if f:
                c.calls.append((f, self, None, tuple(x[1]), None))
        elif a >= _A_SERVER_LEFT:  # leaving
            from usocketio.closing import namespace_act
            namespace_act(self, a)
        else:  # joining
            from usocketio.session import namespace_act
            namespace_act(self, a)


# Event names the server may not use: the namespace's own events (the official parser also
# rejects a few of its emitter's names, which mean nothing here).
_RESERVED = ('connect', 'connect_error', 'disconnect')


def decode(s, head=False):
    # (type, namespace, ack id or None, data or None, attachments, attachment count) of a
    # Socket.IO packet; ValueError (or json's error) if it is not a valid one. With head, only
    # what precedes the data (data None, unchecked): for packets of our own.
    # Slices, not indexing: s[i] would intern each character the server sent, for good.
    t = ord(s[:1]) - 48 if s else -1
    if not 0 <= t <= 6:
        raise ValueError
    j = 1
    n = 0
    if t > 4:
        k = s.find('-')
        n = int(s[1:k]) if k > 1 else -1
        if not 0 <= n <= 10:  # as the official parser: more is an attack
            raise ValueError
        j = k + 1
    w = '/'  # the namespace
    if s[j:j + 1] == '/':
        k = s.find(',', j)
        if k < 0:
            k = len(s)
        w = s[j:k]
        j = k + 1
    k = j
    while '0' <= s[k:k + 1] <= '9':  # (on MicroPython each slice walks the str: stop early)
        k += 1
        if k - j > 20:  # no ack id has more digits (JavaScript's are below 2**53)
            raise ValueError
    i = int(s[j:k]) if k > j else None
    if head:
        return t, w, i, None, (), n
    s = s[k:]
    if '\\ud' in s or '\\uD' in s:
        from usocketio.surrogates import join
        s = join(s)
    data = json.loads(s) if s else None
    if not (
            data is None or isinstance(data, dict) if t == 0 else
            data is None if t == 1 else
            isinstance(data, (str, dict)) if t == 4 else
            isinstance(data, list) and data and (isinstance(data[0], str) and data[0] not in _RESERVED or
                                                 type(data[0]) in (int, float)) if t in (2, 5) else  # (not bool)
            isinstance(data, list) and i is not None):
        raise ValueError
    return t, w, i, data, [] if n else (), n


def _call(c, f, args):
    try:
        return f(*args)
    except TypeError as x:  # perhaps the call itself did not fit the handler
        from usocketio.session import fit
        return fit(c, f, args, x)
