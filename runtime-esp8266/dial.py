# dial.py: opening a TCP connection, with TLS for wss:// and https://. Connection-time code,
# imported while a client connects (and then dropped), so it costs no heap while connected.
import socket


def urlparse(uri, schemes=('ws', 'wss', 'http', 'https')):
    # (tls, host, port, target, authority) of a URL with one of schemes: target is the path
    # (at least /) and the query; the port defaults to 443 with TLS (wss, https), else 80; the
    # authority is the Host header's value (the port only if it is not the default). An IPv6
    # literal ([::1]) gives its address as host. ValueError for another scheme, a control
    # character or space anywhere (it would reach the request), userinfo (user@), no host, or a
    # port that is not 1-65535.
    for c in uri.encode():
        if c < 33 or c == 127:
            raise ValueError('control character or space in URL: %r' % uri)
    i = uri.find('://')
    s = uri[:i] if i > 0 else ''  # the scheme
    if s not in schemes:
        raise ValueError('not a %s:// URL: %s' % (':// or '.join(schemes), uri))
    tls = s in ('wss', 'https')
    rest = uri[i + 3:]
    j = rest.find('#')  # a fragment is not sent
    if j >= 0:
        rest = rest[:j]
    j = min(k for k in (rest.find('/'), rest.find('?'), len(rest)) if k >= 0)
    a, target = rest[:j], rest[j:]
    port = d = 443 if tls else 80
    k = a.rfind(':')
    if k < a.rfind(']'):  # the colons of an IPv6 literal
        k = -1
    host = a if k < 0 else a[:k]
    if k >= 0 and k + 1 < len(a):
        port = int(a[k + 1:]) if a[k + 1:].encode().isdigit() else 0  # ASCII digits: CPython's str.isdigit() takes any script's
    if '@' in a or not host or not 0 < port < 65536 or host[0] == '[' and host[-1] != ']':
        raise ValueError('bad host or port in URL (no userinfo; port 1-65535): %s' % uri)
    return (tls, host[1:-1] if host[0] == '[' else host, port, target if target.startswith('/') else '/' + target,
            host if port == d else '%s:%d' % (host, port))


def dial(host, port, tls=False, timeout=None, ssl=None):
    # A connected socket, wrapped in TLS if tls (ssl: an SSLContext, default the platform's);
    # timeout, in seconds, bounds the connect. The caller makes it non-blocking.
    a = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)[0]
    s = socket.socket(a[0], a[1], a[2])
    try:
        s.settimeout(timeout)
        s.connect(a[-1])
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


def check(s, token):
    # s as a str, checked before it goes into a request (both clients): ValueError unless it
    # is a token (a header name or subprotocol: RFC 7230 3.2.6) or, not token, a header value:
    # no control character (CR and LF would inject headers; tabs are allowed).
    s = str(s)
    for c in s.encode():
        if c == 127 or (c < 33 or c > 126 or c in b'()<>@,;:\\"/[]?={}' if token else c < 32 and c != 9):
            break
    else:
        if s or not token:
            return
    raise ValueError('invalid %s: %r' % ('token' if token else 'header value', s))
