# uwebsockets/client.py: connect() and the blocking WebSocket client it returns, with the API
# of the original uwebsockets package (connect, send, recv, close, settimeout, open,
# with-statement) and what it lacked (wss, ping, headers, subprotocols, timeouts, a message
# size limit, close codes and reasons).
#
# A thin layer over the sans-I/O Connection. Reads are non-blocking and waited on with
# select.poll, because on MicroPython a blocking read that times out loses the bytes it had
# already read; a read is always tried before waiting, because axTLS's poll does not see bytes
# it has already decrypted. Writes are non-blocking too, as much as the socket takes, and
# waited on with the same poll: every wait ends at the earliest deadline (the recv() or send()
# timeout, close_timeout, the handshake's timeout), and a write still unfinished at its
# deadline fails the connection (1006) rather than hanging on a peer that stopped reading.
# Timers are checked on every step, so data that keeps coming cannot hold them off.
# The same code runs on CPython.
from errno import EAGAIN, ETIMEDOUT
from fsm import const, due, ticks_add, ticks_diff, ticks_ms
from uwebsockets.protocol import Connection, ConnectionClosed, HandshakeError  # noqa: F401 (API)
import websocket_fsm as W

# Ids in the websocket machine (checked against the spec by `npx wirestate generate`).
_S_OPEN = const(1)
_S_OPEN_END = const(4)
_FINAL = const(6)


def connect(uri, *args, **kw):
    # connect(uri, headers=None, subprotocols=None, timeout=None, max_size=8192, ssl=None,
    # wait=True): open a WebSocket connection to a ws:// or wss:// URL; return the Websocket
    # once the opening handshake has succeeded (without wait: once the server is dialled;
    # step() then sends the request and completes it, and `open` or `error` tells how it
    # went). headers: extra request headers (dict or (name, value) pairs); subprotocols: names
    # to offer; timeout: seconds for the TCP connect and for the handshake each; max_size: the
    # longest message accepted, in bytes (a longer one closes the connection with 1009; the
    # default is what a board's heap can hold); ssl: an SSLContext for wss:// (default: the
    # platform's). Raises HandshakeError or OSError; ValueError for a bad URL, header or
    # subprotocol (control characters included) or timeout, before connecting.
    import uwebsockets.handshake as hs  # connect-time code (defaults included), dropped once dialled
    return hs.connect(Websocket, uri, *args, **kw)


class Websocket(Connection):
    # A client connection over a socket. recv() returns str for text, a bytearray for binary
    # (the buffer the message was read into, handed over without a copy), and None once the
    # connection has closed (close_code and close_reason then say how).

    timeout = None  # milliseconds recv() and send() wait; set with settimeout()
    open = False  # kept up to date by step()

    def settimeout(self, timeout):
        # Seconds recv() may wait before raising OSError(ETIMEDOUT), and send(), ping() may take
        # to write (then the connection fails: 1006); None waits for ever. ValueError if
        # negative or over 2**29 - 1 ms (about 6.2 days: ticks wrap at 2**30), on every port.
        if timeout is not None and not 0 <= timeout < 536870:  # seconds: ticks_add() takes 2**29 - 1 ms
            raise ValueError('timeout')
        self.timeout = timeout and int(timeout * 1000)

    def recv(self):
        self._run(0)
        m, self.msg = self.msg, None
        return m

    def _run(self, what):
        # Step until what is done: a message received (0), what is queued written (1), or the
        # connection closed (8: close_timeout bounds it); else within the timeout. A deadline
        # that passes while data keeps coming (so no step waited) counts as a wait timed out.
        # At the deadline a write still unfinished fails the connection (1006); else
        # OSError(ETIMEDOUT), and the connection stays as it is.
        end = None if self.timeout is None or what == 8 else ticks_add(ticks_ms(), self.timeout)
        t = -1
        while self.state < _FINAL and (self.msg is None if what == 0 else what == 8 or self.out is not None):
            try:
                if t == 0:
                    raise OSError(ETIMEDOUT, 'timed out')
                t = None if end is None else max(0, ticks_diff(end, ticks_ms()))
                self.step(t)
            except OSError:  # (only ETIMEDOUT comes out of step())
                if self.out is None:
                    raise
                import uwebsockets.closing as c
                c.stalled(self)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _request(self, ev, outgoing):
        # send(), ping() and close() queue their frame; write it now (within the timeout), and
        # take in what has arrived meanwhile. close() then waits for the closing handshake and
        # the TCP close.
        Connection._request(self, ev, outgoing)
        self._run(outgoing[0] if outgoing[0] == 8 else 1)
        if self.state >= _FINAL and outgoing[0] != 8 and self.error:
            raise ConnectionClosed(self.error)

    def step(self, ms):
        # Write what is queued, as far as the socket takes it; then, unless the connection is
        # open and a message waits in `msg`, decode the frames read before if any wait (else
        # read what is there, as much as the input buffer takes, or the rest of a large
        # payload, and decode it), and return how many bytes were read (0: the server closed;
        # 1 when frames read before were decoded, or the decoder was loaded, once open);
        # then run a timer that is due. If nothing was written or read, wait: ms None until a
        # timer is due (or for ever); ms >= 0 at most that long, then OSError(ETIMEDOUT); ms < 0
        # not at all, and return None. For event loops that watch `sock` along with other
        # sockets (`out` is not None while anything waits to be written): bytes already read
        # may wait in the input buffer, so such a loop calls step(-1) until it returns None,
        # with `msg` taken, before it waits on `sock`.
        s = self.sock
        n = None
        k = 0  # bytes written
        q = self.out is not None and self.out is self.request  # the request is made: read in the next step
        try:
            try:  # write
                b = self.output(0)
                while b:
                    w = s.send(b) if hasattr(s, 'send') else s.write(b)
                    if not w:  # the socket takes no more now
                        break
                    k += w
                    b = self.output(w)
            except OSError as e:
                if e.errno not in (EAGAIN, 2, 3):  # 2, 3: CPython's ssl.SSL_ERROR_WANT_READ, _WRITE
                    raise
            # A message waiting in msg holds up reading while open; once closing, data frames
            # are ignored (the spec), so read on: close() must see the server's Close. Nor is
            # anything read while over 512 bytes wait to be written: a peer that sends Pings
            # and reads nothing must not grow the queue of Pongs. Nor in the step that makes the
            # handshake's request: its code and the response's are not loaded in one step.
            r = not q and (self.msg is None or self.state >= _S_OPEN_END) and self.state < _FINAL and len(self.out or b'') < self.opos + 512
            if r:
                n = self.received(-1)  # frames read before, which waited for a message to be taken
                if n is None:
                    try:
                        b = self.buffer()
                        n = s.recv_into(b) if hasattr(s, 'recv_into') else s.readinto(b)
                    except OSError as e:
                        if e.errno not in (EAGAIN, 2):  # 2: CPython's ssl.SSL_ERROR_WANT_READ
                            raise
                        n = None
                    if n is not None:
                        self.received(n)
            w = due(W, self) if self.state < _FINAL else 0  # on every step: data must not starve timers
            if n is None and not k and w != 0 and (ms is None or ms >= 0):  # nothing done: wait
                t = w if ms is None or w is not None and w < ms else ms
                self.poller.modify(s, (1 if r else 0) | (4 if self.out is not None else 0))  # POLLIN, POLLOUT (the same everywhere)
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
