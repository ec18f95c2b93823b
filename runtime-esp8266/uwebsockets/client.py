# uwebsockets/client.py: connect(), the entry point the original uwebsockets package had.
#
# Importing it costs almost nothing: the connection machinery (uwebsockets.websocket and the
# sans-I/O core, the table interpreter and the tables) is imported by the first connect() and
# stays; what only the opening handshake needs is imported by every connect() and dropped
# again once the connection is open. Exceptions are in uwebsockets.protocol.


def connect(uri, headers=None, subprotocols=None, timeout=None, max_size=65536, ssl=None):
    """Open a WebSocket connection to a ws:// or wss:// URL; return the open
    uwebsockets.websocket.Websocket once the opening handshake has succeeded.

    headers: extra request headers (dict or (name, value) pairs); subprotocols: names to offer;
    timeout: seconds for the TCP connect and for the handshake each; max_size: the longest
    message accepted, in bytes (a longer one closes the connection with 1009); ssl: an
    SSLContext for wss:// (default: the platform's). Raises HandshakeError or OSError.
    """
    import uwebsockets.handshake as hs
    return hs.connect(uri, headers, subprotocols, timeout, max_size, ssl)
