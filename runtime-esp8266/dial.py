# dial.py: opening a TCP connection, with TLS for wss:// and https://. Connection-time code,
# imported while a client connects (and then dropped), so it costs no heap while connected.
import socket


def dial(host, port, tls=False, timeout=None, ssl=None):
    """A connected socket, wrapped in TLS if tls (ssl: an SSLContext, default the platform's);
    timeout, in seconds, bounds the connect. The caller makes it non-blocking."""
    ai = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)[0]
    s = socket.socket(ai[0], ai[1], ai[2])
    try:
        s.settimeout(timeout)
        s.connect(ai[-1])
        if tls:
            try:
                import ssl as m
            except ImportError:  # firmware before MicroPython 1.23
                import ussl as m
            if ssl is None and hasattr(m, 'create_default_context'):
                ssl = m.create_default_context()  # CPython: verify the certificate
            # MicroPython's own wrap_socket sends SNI and, like the ESP8266's axTLS, verifies nothing.
            s = (ssl or m).wrap_socket(s, server_hostname=host)
        return s
    except BaseException:
        s.close()
        raise


def unload():
    """Forget this module so its code can be collected; the next connect imports it again."""
    import sys
    sys.modules.pop(__name__, None)
