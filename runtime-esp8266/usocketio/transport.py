# usocketio/transport.py: what an Engine.IO session does once: open its first transport, probe
# and upgrade to WebSocket; and, while it polls, each new poll. Imported when one of these
# actions runs (the goodbye and the close are usocketio.ending's).
import json
from fsm import const, unload
from usocketio.engine import FAILED, LOST, OPEN, Heartbeat, post
import engineio_fsm as E

# Ids in the engineio machine (checked by `npx wirestate generate`).
_E_HANDSHAKE = const(0)
_A_ACCEPT_HANDSHAKE = const(1)
_A_REJECT = const(2)
_A_POLL = const(3)
_A_LOST = const(11)
_E_PROBE_FAILED = const(9)
_A_OPEN_TRANSPORT = const(0)
_A_OPEN_PROBE = const(6)
_A_DROP_PROBE = const(7)
_A_UPGRADE = const(8)
_E_PROBE_OK = const(8)


def handshake(e, p):
    # Engine e read the open packet p: its JSON must have what the session needs.
    try:
        h = json.loads(p[1:])
        from usocketio.session import _quote  # the sid as it goes in every URL: percent-encoded,
        h['sid'] = s = _quote(h['sid'] + '')  # as the official client does, and bounded
        if not 0 < len(s) <= 128:
            raise ValueError
        for k in ('pingInterval', 'pingTimeout'):  # whole ms, a day at most: ticks_add() takes 2**29
            h[k] = min(max(int(h[k] + 0), 0), 86400000)  # a number, not a numeral
        list(h.get('upgrades') or ())
        m = h.get('maxPayload')  # bytes per POST (python-engineio does not say)
        h['maxPayload'] = m + 0 if m else None
    except Exception:  # whatever json raises (its errors differ by port), or a missing or wrong field
        return e.bad()
    post(E, e, _E_HANDSHAKE, h)


def act(e, a):
    # Engine e's action a.
    if a == _A_POLL:  # (this module stays while the session polls)
        if not e.get.busy:
            e.get.request()
    elif a == _A_ACCEPT_HANDSHAKE:
        h = e.x
        e.sid = h['sid']
        e.max_payload = h['maxPayload']
        e.hb = Heartbeat(e, h['pingInterval'], h['pingTimeout'])
        e.c.up(OPEN, None)
        if e.ws:
            _steady(e)
    elif a == _A_REJECT:
        e.c.up(FAILED, e.reason or 'timeout')
    elif a == _A_LOST:
        e.c.up(LOST, e.reason)
    elif a == _A_OPEN_TRANSPORT:  # in the loop's next pump(): this step has imported enough
        if 'polling' in e.c.transports:
            e.get = False
        else:  # WebSocket only: it opens in pump(), then carries the session
            e.probed = None
    elif a == _A_OPEN_PROBE:  # later, in pump(): the session's first packets come first
        e.probed = None
    elif a == _A_DROP_PROBE:
        from usocketio.ending import drop
        drop(e.probe, e.sock)  # (timed out between the dial and the handshake: the socket)
        e.probe = e.sock = None
        e.probed = False
    elif a == _A_UPGRADE:
        e.ws, e.probe = e.probe, None
        e.ws.send('5')
        from usocketio.ending import close_polling
        close_polling(e)
        _steady(e)


def _steady(e):
    # The session runs on WebSocket: drop the code that opens, upgrades and polls until it is
    # needed again (its heap goes back to the application); usocketio.session goes too once
    # the namespaces have their answers (now, or when the last comes).
    for m in ('usocketio.polling', 'usocketio.response', 'usocketio.transport', 'usocketio.ending'):
        unload(m)
    if all(n.state >= 2 for n in e.c.nsps.values()):  # 2: socketio_namespace's connected, and after
        unload('usocketio.session')


def pump(e):
    # Engine e's pump() for the transport being opened: the first (polling's handshake GET,
    # or a WebSocket), or the upgrade's probe WebSocket, whose handshake goes on in the loop,
    # then '2probe' goes out and '3probe' is awaited. True if anything arrived, None if it
    # imported the WebSocket's code or dialled for it. A transport opens in a step of its own,
    # not in the one that imported the session's code.
    if e.get is False:
        from usocketio.polling import Poll
        e.get = Poll(e, 'GET')
        e.posting = Poll(e, 'POST')
        try:
            e.get.request()  # the handshake
        except (OSError, MemoryError) as x:
            e.fail('transport error', error=x)
        return False
    if e.probed is None:
        # The probe opens once every namespace has its server's answer (within the upgrade's
        # timeout): the code that joins namespaces (usocketio.session) is gone by then, and the
        # WebSocket's is not loaded beside it. Its code is imported in a step, the server dialled
        # in the next, the handshake started in the one after (_websocket).
        if e.get is None or all(n.state >= 2 for n in e.c.nsps.values()):  # 2: socketio_namespace's connected, and after
            import sys
            if e.get is None and not e.c.hold:
                # WebSocket only (each session, reconnections too): nothing joins before the
                # session opens, when the manager imports usocketio.session again; its heap
                # goes to the WebSocket's code meanwhile. (Not while connect() waits: its
                # frame holds the module.)
                unload('usocketio.session')
            if 'uwebsockets.client' not in sys.modules:
                import uwebsockets.client  # noqa: F401
                return None  # (a step of its own: Engine.pump)
            return _websocket(e)
        return False
    w = e.probe
    try:
        r = w.step(-1)
        while r and e.probed is False and not (w.open or w.error):  # the handshake response, a few bytes a step
            r = w.step(-1)
    except Exception as x:  # whatever reading it raised (a header that is not UTF-8, no memory): it failed
        r = 0
        w.open = False
        w.error = w.error or repr(x)
    if e.probed is False and not (w.open or w.error):  # still connecting
        return r is not None
    if w.open and e.probed is False:
        # Just open (probed 0): what came with the handshake, and the probe's ping, are for the
        # next step, once the handshake's code is gone (the loop steps again at once).
        e.probed = 0
        return True
    m, w.msg = w.msg, None
    if e.get is None:  # WebSocket only: the session's first transport is open, or failed
        e.ws, e.probe = w, None
        if not w.open:
            e.fail('transport error', error=OSError(w.error))
        elif m is not None:
            e.packet(m)
    elif not w.open:
        post(E, e, _E_PROBE_FAILED)
    elif not e.probed:  # (0: just open)
        w.send('2probe')
        e.probed = True
    elif m is not None:
        post(E, e, _E_PROBE_OK if m == '3probe' else _E_PROBE_FAILED)
    return r is not None


def _websocket(e):
    # Open a WebSocket to the session (its first transport, or a probe) in two steps: dial
    # (None), then, in the next, start its handshake in e.probe, its request written (False).
    # If either fails, the session fails (the first) or the probe does. Apart, dial's code and
    # the handshake's are never loaded together.
    c = e.c
    s = e.sock
    try:
        if s is None:
            import dial
            try:
                e.sock = dial.dial(c.url[1], c.url[2], c.url[0], c.timeout / 1000, c.ssl)
            finally:
                unload('dial')
            return None
        e.sock = None
        e.probed = False
        import uwebsockets.handshake as hs
        import uwebsockets.client as u
        e.probe = hs.start(u.Websocket, s, c.host, '%s?EIO=%d&transport=websocket%s%s' % (
            c.path, c.eio, '&sid=' + e.sid if e.sid else '', '&' + c.query if c.query else ''),
            c.headers, None, c.max_size, c.timeout, None)
    except Exception as x:  # OSError: nothing listens, or the network is down; MemoryError
        if s:
            s.close()
        e.probed = False
        if e.get is None:  # (no names for what needs none: each is interned for good)
            e.fail('transport error', error=x)
        else:
            post(E, e, _E_PROBE_FAILED)
    return False
