# uwebsockets/client.py: connect() and the blocking WebSocket client it returns, with the API
# of the original uwebsockets package (connect, send, recv, close, settimeout, open,
# with-statement) and what it lacked (wss, ping, headers, subprotocols, timeouts, a message
# size limit, close codes and reasons).
#
# A thin layer over the sans-I/O Connection. Reads are non-blocking and waited on with
# select.poll, because on MicroPython a blocking read that times out loses the bytes it had
# already read; a read is always tried before waiting, because axTLS's poll does not see bytes
# it has already decrypted. Writes block until done. The same code runs on CPython.
from errno import EAGAIN, ETIMEDOUT
from fsm import const, due, ticks_add, ticks_diff, ticks_ms
from uwebsockets.protocol import Connection, ConnectionClosed, HandshakeError  # noqa: F401 (API)
import websocket_fsm as W

# Ids in the websocket machine (checked against the spec by `npx wirestate generate`).
_S_OPEN = const(1)
_S_OPEN_END = const(4)
_FINAL = const(6)


def connect(uri, *args, **kw):
    """connect(uri, headers=None, subprotocols=None, timeout=None, max_size=65536, ssl=None,
    wait=True): open a WebSocket connection to a ws:// or wss:// URL; return the Websocket once
    the opening handshake has succeeded (without wait: once its request is sent; step() then
    completes it, and `open` or `error` tells how it went).

    headers: extra request headers (dict or (name, value) pairs); subprotocols: names to offer;
    timeout: seconds for the TCP connect and for the handshake each; max_size: the longest
    message accepted, in bytes (a longer one closes the connection with 1009); ssl: an
    SSLContext for wss:// (default: the platform's). Raises HandshakeError or OSError.
    """
    import uwebsockets.handshake as hs  # connect-time code (defaults included), dropped once the handshake is over
    return hs.connect(Websocket, uri, *args, **kw)


class Websocket(Connection):
    # A client connection over a socket. recv() returns str for text, bytes for binary, and
    # None once the connection has closed (close_code and close_reason then say how).

    timeout = None  # seconds recv() waits; set with settimeout()
    open = False  # kept up to date by step()

    def settimeout(self, timeout):
        """Seconds recv() may wait before raising OSError(ETIMEDOUT); None waits for ever."""
        self.timeout = timeout

    def recv(self):
        end = None if self.timeout is None else ticks_add(ticks_ms(), int(self.timeout * 1000))
        while self.msg is None and self.state < _FINAL:
            self.step(None if end is None else max(0, ticks_diff(end, ticks_ms())))
        m, self.msg = self.msg, None
        return m

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _request(self, ev, outgoing):
        # send(), ping() and close() queue their frame; write it now, and take in what has
        # arrived meanwhile. close() then waits for the closing handshake and the TCP close.
        Connection._request(self, ev, outgoing)
        self.step(-1)
        while outgoing[0] == 8 and self.state < _FINAL:  # a Close (opcode 8)
            self.step(None)

    def step(self, ms):
        """Write what is queued; then, unless the connection is open and a message waits in
        `msg`, read what is there (one frame's worth at most) and decode it, and return how
        many bytes that was (0: the server closed). If nothing is there, wait: ms None until a
        timer is due (or for ever); ms >= 0 at most that long, then OSError(ETIMEDOUT); ms < 0
        not at all, and return None. For event loops that watch `sock` along with other
        sockets."""
        s = self.sock
        n = None
        try:
            d, self.out = self.out, None
            if d:  # in one write: frames are built whole, so Nagle's algorithm splits none
                s.setblocking(True)
                s.sendall(d) if hasattr(s, 'sendall') else s.write(d)
                s.setblocking(False)
            # A message waiting in msg holds up reading while open; once closing, data frames
            # are ignored (the spec), so read on: close() must see the server's Close.
            if (self.msg is None or self.state >= _S_OPEN_END) and self.state < _FINAL:
                try:
                    b = self.buffer()
                    n = s.recv_into(b) if hasattr(s, 'recv_into') else s.readinto(b)
                except OSError as e:
                    if e.errno not in (EAGAIN, 2):  # 2: CPython's ssl.SSL_ERROR_WANT_READ
                        raise
                    n = None
                if n is not None:
                    self.received(n)
                elif ms is None or ms >= 0:
                    w = due(W, self)
                    if w != 0:  # no timer fired
                        t = w if ms is None or w is not None and w < ms else ms
                        if not self.poller.poll(-1 if t is None else t) and t == ms:
                            raise OSError(ETIMEDOUT, 'timed out')
        except OSError as e:
            if e.errno == ETIMEDOUT:
                raise
            self.received(0)  # reset or broken: as if the server had closed the connection
        self.open = _S_OPEN <= self.state < _S_OPEN_END
        if self.state >= _FINAL:
            s.close()
        return n
