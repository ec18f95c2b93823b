# uwebsockets/closing.py: the end of a connection, the closing handshake (RFC 6455 section 7)
# and failing the connection. It runs once per connection, so it is imported when the
# connection starts to end rather than with the client.
from fsm import const

# Ids in the websocket machine (checked against the spec by `npx wirestate generate`, as this
# module is in the package of the machine's implementation, uwebsockets.protocol).
_A_REPLY_CLOSE = const(9)
_A_RECORD_CLOSE = const(10)
_A_FAIL_PROTOCOL = const(11)
_A_FAIL_INVALID_TEXT = const(12)
_A_FAIL_TOO_BIG = const(13)
_A_CLOSE_TCP = const(17)


def payload_ok(p):
    # Is p a valid Close payload: empty, or a status code allowed on the wire (1000-1003,
    # 1007-1014, 3000-4999; 7.4) and a UTF-8 reason of at most 123 bytes? An ASCII reason is
    # valid as it is: only another loads uwebsockets.utf8.
    c = len(p) > 1 and p[0] << 8 | p[1]
    if not p or len(p) < 126 and (999 < c < 1004 or 1006 < c < 1015 or 2999 < c < 5000):
        if len(p) < 3 or max(memoryview(p)[2:]) < 0x80:
            return True
        from uwebsockets.utf8 import valid
        return valid(p, 2, len(p)) is not None
    return False


def payload(code, reason):
    # The Close payload for close(code, reason); ValueError if it may not be sent.
    p = code.to_bytes(2, 'big') + reason.encode()
    if not payload_ok(p):
        raise ValueError('close code must be 1000-1003, 1007-1014 or 3000-4999, reason at most 123 bytes')
    return p


def stalled(c):
    # Websocket c could not finish a write before its deadline (the peer stopped reading):
    # fail the connection, as if the server had closed it (1006).
    c.error = c.error or 'write timed out'
    c.received(0)
    c.sock.close()
    c.open = False


def act(c, a):
    # The websocket machine's actions for the end of a connection, for Connection.act().
    p = c.payload
    if a == _A_RECORD_CLOSE and c.close_code is not None:
        return  # we failed the connection: its code says why, whatever the server answers
    if a in (_A_REPLY_CLOSE, _A_RECORD_CLOSE):
        if not payload_ok(p):  # (reply_close only comes after the guard checked it)
            p = b'\x03\xea'  # a Close we cannot accept in answer to ours: 1002
        c.close_code = p[0] << 8 | p[1] if len(p) > 1 else 1005
        c.close_reason = str(memoryview(p)[2:], 'utf-8')  # (valid: payload_ok() said so)
        if a == _A_REPLY_CLOSE:
            c._frame(8, p[:2])  # echo the status code (5.5.1)
    elif a in (_A_FAIL_PROTOCOL, _A_FAIL_INVALID_TEXT, _A_FAIL_TOO_BIG):
        c.close_code = 1002 if a == _A_FAIL_PROTOCOL else 1007 if a == _A_FAIL_INVALID_TEXT else 1009
        c._frame(8, c.close_code.to_bytes(2, 'big'))
    elif a == _A_CLOSE_TCP and c.close_code is None:
        # The I/O layer closes the socket once the machine has stopped. Without a Close
        # received (or sent for a failure) the connection closed abnormally (7.1.5).
        c.close_code = 1006
