# usocketio/ending.py: how an Engine.IO session ends: its goodbye and the close of its
# transports. Apart from usocketio.transport, which is dropped once the session runs on
# WebSocket, so that closing compiles only this (and usocketio.closing).
from fsm import const
from usocketio.engine import post
import engineio_fsm as E  # (loaded: the engine's tables; the ids below are checked against them)
import engineio_heartbeat_fsm as H

# Ids in the engineio and engineio_heartbeat machines (checked by `npx wirestate generate`).
_A_SAY_GOODBYE = const(12)
_A_CLOSE_TRANSPORTS = const(13)
_E_SESSION_END = const(3)


def act(e, a):
    # Engine e's action a: its goodbye, or the end of its transports.
    if a == _A_SAY_GOODBYE:
        if e.ws and e.ws.open:
            # A Close frame (1000, no reason), written now and not waited for:
            # Websocket.close() would block in this action until the server answered (or its
            # close_timeout passed), while data may keep coming; the session is over either
            # way. (12: the websocket machine's close_request.)
            from uwebsockets.protocol import Connection  # loaded: the WebSocket's own
            Connection._request(e.ws, 12, (8, b'\x03\xe8'))
            e.ws.step(-1)
        elif e.posting and not e.posting.busy:
            try:  # the server need not answer: the session is over either way
                e.posting.request((b'1' if e.eio == 4 else b'1:1',))
            except OSError:
                pass
    elif a == _A_CLOSE_TRANSPORTS:  # a lost session's peer is not waited for
        close_polling(e)
        drop(e.ws)
        drop(e.probe, e.sock)
        e.ws = e.probe = e.sock = None
        e.probed = False  # a probe yet to open never will
        if e.hb:
            post(H, e.hb, _E_SESSION_END)


def drop(w, s=None):
    # Leave WebSocket w (if any) without the closing handshake: the server drops what it
    # cannot use; and close socket s (if any), dialled for a WebSocket yet to start.
    if w:
        w.sock.close()
    if s:
        s.close()


def close_polling(e):
    # Close engine e's polling connections.
    for t in (e.get, e.posting):
        if t:
            t.close()
    e.get = e.posting = None
