# usocketio/session.py: what a Socket.IO client does rarely: take its settings, open and lose
# Engine.IO sessions, wait out the reconnection backoff, join and leave namespaces. Imported
# when one of these happens, so the loop's steady work (usocketio.client) stays small.
import json
from fsm import const, ticks_add, ticks_ms, unload
from usocketio.engine import Engine, post
import socketio_manager_fsm as M
import socketio_namespace_fsm as N

# Ids in the socketio_manager and socketio_namespace machines (checked by `npx wirestate generate`).
_E_OPEN_REQUEST = const(0)
_S_OPENING = const(1)
_S_OPEN = const(2)
_S_CLOSED = const(4)
_E_DISCONNECT_REQUEST = const(9)
_A_OPEN_ENGINE = const(0)
_A_OPENED = const(1)
_A_NOTIFY_LOST = const(2)
_A_SCHEDULE = const(3)
_A_REPORT_FAILURE = const(4)
_E_SESSION_OPEN = const(0)
_E_SESSION_LOST = const(4)
_E_REFUSED = const(2)
_S_CONNECTED = const(2)
_S_REFUSED = const(3)
_A_SEND_CONNECT = const(0)
_A_CONFIRM = const(1)
_A_KEEP = const(3)
_A_REFUSE = const(8)


def configure(c, url, namespaces=None, auth=None, headers=None, query=None, transports=None,
              eio=4, path='/socket.io/', reconnection=True, reconnection_attempts=0,
              reconnection_delay=1, reconnection_delay_max=5, randomization_factor=0.5,
              timeout=20, max_size=65536, max_queue=32, ssl=None):
    # Client c's settings (see usocketio.client.connect).
    from dial import check, urlparse
    unload('dial')  # (connection-time code: the transport imports it again to dial)
    tls, host, port, target, c.host = urlparse(url)
    i = target.find('?')
    q = target[i + 1:] if i >= 0 else ''
    if query:
        q += ('&' if q else '') + (query if isinstance(query, str) else
                                   '&'.join('%s=%s' % (_quote(k), _quote(v)) for k, v in query.items()))
    c.url = (tls, host, port)
    c.query = q
    c.path = '/' + path.strip('/') + '/'
    urlparse('http://h' + c.path + '?' + q)  # ValueError for a control character or space in them
    c.eio = eio
    c.transports = transports or ('polling', 'websocket')
    c.headers = list(headers.items() if hasattr(headers, 'items') else headers or ())
    for k, v in c.headers:  # what the application passes goes into every request: no CR/LF
        check(k, 1)
        check(v, 0)
    c.auth = auth
    for s in (timeout, reconnection_delay, reconnection_delay_max):
        if not 0 <= s < 536870:  # seconds: ticks_add() takes 2**29 - 1 ms (uwebsockets' rule)
            raise ValueError(s)
    c.timeout = int(timeout * 1000)
    c.max_size = max_size
    c.max_queue = max_queue
    c.ssl = ssl
    c.backoff = ((reconnection_attempts or -1) if reconnection else 0,  # attempts (-1: no limit)
                 int(reconnection_delay * 1000), int(reconnection_delay_max * 1000),
                 randomization_factor)
    c.attempts = 0
    c.delays = [0]  # reconnect_delay, set by the backoff
    c.handlers = {}  # namespace -> {event: handler}
    c.nsps = {}  # namespace -> Namespace, for those joined
    c.calls = []  # handlers and callbacks to run: (function or None, namespace, event, args, ack id)
    c.intervals = []  # [ms, when last due, function]
    post(M, c, 255)
    for n in namespaces or (target[:i] if i >= 0 else target,):
        join(c, n, None)


def _quote(v, t=b'-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'):
    # Percent-encoding of a query name or value (RFC 3986: letters, digits and -._~ stay); v
    # itself if it needs none (the usual sid: no copy kept).
    v = str(v)
    e = v.encode()
    for b in e:
        if b not in t:  # t: what stays as it is
            return ''.join(chr(b) if b in t else '%%%02X' % b for b in e)
    return v


def start(c, wait):
    # Open client c's first session; with wait, until it is open and its namespaces have
    # their server's answer (for at most the timeout), OSError if the session fails to open.
    post(M, c, _E_OPEN_REQUEST)
    c.hold = True  # handlers registered after connect() returns must hear what came before
    end = ticks_add(ticks_ms(), c.timeout)
    while wait and (c.state == _S_OPENING or c.joining(end)):
        c.step(100)
    c.hold = False
    if wait and c.engine.sid is None:
        c.close()
        e = c.engine.error
        raise e if isinstance(e, OSError) else OSError(c.why)
    if wait and c.state == _S_CLOSED and any(n.state < _S_REFUSED for n in c.nsps.values()):
        # The session ended (no reconnection) before a namespace had its answer, or right
        # after: python-socketio's error, not a dead client.
        raise OSError('One or more namespaces failed to connect (%s)' % c.why)


def join(c, name, auth):
    ns = c.nsps.get(name)
    if ns is None or ns.state >= _S_REFUSED:
        from usocketio.client import Namespace
        c.nsps[name] = ns = Namespace(c, name, auth)
        if c.state == _S_OPEN:
            post(N, ns, _E_SESSION_OPEN)


def disconnect(c, name):
    if name is None:
        return c.close()
    if name in c.nsps:
        post(N, c.nsps[name], _E_DISCONNECT_REQUEST)


def fit(c, f, args, x):
    # Handler f raised TypeError x on args: if because it does not take them (the message
    # names it and says so), call it with what it takes: handlers may omit trailing arguments (a
    # 'disconnect' handler without the reason), and the first uwebsockets' took the client
    # first (def on_message(self, message)). Firmware built with terse messages says neither.
    # Any other TypeError (one the handler raised itself) is raised again.
    if not str(x).startswith(getattr(f, '__qualname__', getattr(f, '__name__', '?')) + '()') or \
            getattr(getattr(x, '__traceback__', None), 'tb_next', None) is not None:
        raise x
    w = [int(k) for k in str(x).split() if k.isdigit()]  # "takes N ... but M were given", "missing N"
    if 'given' in str(x) and len(w) == 2 and w[0] < w[1]:
        return f(*args[:w[0]])
    if len(w) == 1 and 'missing' in str(x) or len(w) == 2 and w[0] == w[1] + 1:
        return f(c, *args)
    raise x


def act(c, a):
    # Client c's action a (the manager's).
    if a == _A_OPEN_ENGINE:
        c.engine = Engine(c)
    elif a == _A_OPENED:
        c.attempts = 0
        for ns in c.nsps.values():
            post(N, ns, _E_SESSION_OPEN)
    elif a == _A_NOTIFY_LOST:
        c.partial = None  # a binary packet cut short
        _requeue(c)
        for ns in c.nsps.values():
            post(N, ns, _E_SESSION_LOST)
    elif a == _A_SCHEDULE:
        # The official client's backoff: base * 2**attempt, +/- randomization, capped.
        from os import urandom
        b = c.backoff  # (attempts, base, cap, randomization): indexed, fewer names to intern
        ms = b[1] << min(c.attempts, 20)
        r = urandom(1)[0]
        d = int(r * b[3] * ms) >> 8
        ms = ms - d if (r * 10 >> 8) & 1 == 0 else ms + d
        c.delays[0] = min(ms, b[2])
        c.attempts += 1
    elif a == _A_REPORT_FAILURE:
        for ns in c.nsps.values():
            if ns.state < _S_REFUSED:  # not those refused or left
                c.calls.append((None, ns, 'connect_error', (c.why,), None))


def settle(c):
    # Drop this module once every namespace of client c has its answer: what it does is rare
    # from then on (it is imported again when needed), and the upgrade's probe opens then.
    if all(n.state >= _S_CONNECTED for n in c.nsps.values()):
        unload(__name__)


def namespace_act(ns, a):
    # Namespace ns's action a, for those that join and leave.
    c = ns.c
    x = ns.x
    if a == _A_CONFIRM or a == _A_REFUSE:
        settle(c)
    if a == _A_CONFIRM:
        d = x[1]
        ns.sid = d.get('sid') if isinstance(d, dict) else c.engine.sid
        c.calls.append((None, ns, 'connect', (), None))
        c.calls.extend(ns.kept)
        for p in ns.held:
            c.engine.send(*p)
        ns.held = []
        ns.kept = []
    elif a == _A_KEEP:
        if len(ns.kept) >= c.max_queue:
            return c.engine.bad()
        ns.kept.append(ns.call(x))
    elif a == _A_SEND_CONNECT:
        s = '0' if ns.name == '/' else '0' + ns.name + ','  # (no format string: one name fewer)
        if c.eio == 3:
            if c.query and ns.name != '/':
                s = '0' + ns.name + '?' + c.query + ','  # protocol 4 has no auth: the query goes along
        else:
            auth = ns.auth if ns.auth is not None else c.auth
            try:  # the application's: a function may raise, data may not encode
                if callable(auth):
                    auth = auth()
                if auth is not None:
                    from usocketio.strict import walk
                    if not isinstance(auth, dict) or walk(auth):  # what the server's parser takes
                        raise TypeError('not a dict of JSON')
                    s += json.dumps(auth)
            except Exception as x:  # the CONNECT cannot be made: as if refused, with the reason
                return post(N, ns, _E_REFUSED, (None, 'auth: %r' % x))
        c.engine.send(s)
    elif a == _A_REFUSE:
        c.calls.append((None, ns, 'connect_error', (x[1],), None))


def _requeue(c):
    # Emits the lost session never wrote (polling's buffer) go back, in order, ahead of what
    # waits, to be sent once their namespace is connected again; the callbacks of emits it did
    # write will not be called (their acks cannot come), those of emits still waiting will.
    from usocketio.client import decode
    b = c.engine.buf
    q = {}  # namespace -> what goes back
    k = 0
    while k < len(b):
        p = b[k]
        k += 1
        if isinstance(p, str) and p[1:2] in ('2', '5'):
            h = decode(p[1:], True)
            q.setdefault(h[1], []).append((p[1:], b[k:k + h[5]]))
            k += h[5]
    del b[:]
    for name, ns in c.nsps.items():
        ns.held = q.get(name, []) + ns.held
        kept = [decode(p[0], True)[2] for p in ns.held]
        ns.acks = dict((i, f) for i, f in ns.acks.items() if i in kept)
