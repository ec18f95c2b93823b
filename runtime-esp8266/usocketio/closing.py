# usocketio/closing.py: how a Socket.IO client leaves: close() and a namespace's leaving
# actions (the Engine.IO session's end is usocketio.ending's). Small and apart from
# usocketio.session, which is dropped once the session runs on WebSocket: closing then
# compiles these two modules only.
from fsm import const, ticks_add, ticks_diff, ticks_ms
from usocketio.engine import post
import socketio_manager_fsm as M
import socketio_namespace_fsm as N

# Ids in the socketio_manager and socketio_namespace machines (checked by `npx wirestate
# generate`).
_E_CLOSE_REQUEST = const(4)
_E_DISCONNECT_REQUEST = const(9)
_A_SERVER_LEFT = const(9)
_A_ENGINE_LEFT = const(10)
_A_SEND_DISCONNECT = const(11)
_A_CLIENT_LEFT = const(12)
_A_LEAVE = const(13)
_S_REFUSED = const(3)


def close(c):
    # Client c's close().
    end = ticks_add(ticks_ms(), c.timeout)
    while c.joining(end):  # the answer first: the emits its namespace holds go out with it
        c.step(100)
    for ns in list(c.nsps.values()):
        post(N, ns, _E_DISCONNECT_REQUEST)
    post(M, c, _E_CLOSE_REQUEST)
    while c.engine and c.engine.sockets() and ticks_diff(end, ticks_ms()) > 0:
        c.step(100)
    if c.engine and c.engine.sockets():
        c.engine.close()  # asked again: what the server never answered is dropped
    c.step(0)  # the 'disconnect' handlers


def namespace_act(ns, a):
    # Namespace ns's action a, for those that leave.
    c = ns.c
    if a == _A_SERVER_LEFT:
        c.calls.append((None, ns, 'disconnect', ('io server disconnect',), None))
    elif a == _A_ENGINE_LEFT:
        c.calls.append((None, ns, 'disconnect', (c.why,), None))
    elif a == _A_CLIENT_LEFT:
        c.calls.append((None, ns, 'disconnect', ('io client disconnect',), None))
    elif a == _A_SEND_DISCONNECT:
        c.engine.send('1' if ns.name == '/' else '1' + ns.name + ',')  # (no format string: one name fewer)
    elif a == _A_LEAVE:
        ns.held = []
        ns.kept = []
        ns.acks = {}
        if all(n.state >= _S_REFUSED for n in c.nsps.values()):
            post(M, c, _E_CLOSE_REQUEST)
