# wirestate simulated ESP8266: the `ssl` module, backed by host TLS (node:tls).
# As on the ESP8266 (axTLS), certificates are not verified, except when CERT_REQUIRED is asked
# for together with cadata: then the chain is checked against that CA (and the host name
# against server_hostname, when given). The wrapped object only has stream methods.
import _simhost
from socket import _Stream
from uctypes import addressof as _addr
from uerrno import ECONNABORTED as _ECONNABORTED

PROTOCOL_TLS_CLIENT = 0
PROTOCOL_TLS_SERVER = 1
CERT_NONE = 0
CERT_OPTIONAL = 1
CERT_REQUIRED = 2

_h = _simhost
_VERIFY_FAILED = -100001
_TLS_FAILED = -100002


class SSLSocket(_Stream):
    # Stream methods only, as on the board: no recv, send or settimeout.
    def __repr__(self):
        return "<SSLSocket %s>" % _h.describe(self._id)


def _b(x):
    if isinstance(x, str):
        return x.encode()
    return x


def _wrap(sock, server_side, hostname, verify, cadata, key, cert, handshake):
    if server_side:
        raise NotImplementedError("server_side TLS is not simulated")
    cadata = _b(cadata) or b""
    key = _b(key) or b""
    cert = _b(cert) or b""
    r = _h.tls_wrap(
        sock._id,
        hostname or "",
        1 if verify else 0,
        _addr(cadata) if cadata else 0,
        len(cadata),
        _addr(key) if key else 0,
        len(key),
        _addr(cert) if cert else 0,
        len(cert),
        1 if handshake else 0,
    )
    if r < 0:
        if r == _VERIFY_FAILED:
            raise OSError(-9984, "MBEDTLS_ERR_X509_CERT_VERIFY_FAILED")
        if r == _TLS_FAILED:
            raise OSError(_ECONNABORTED)
        raise OSError(-r)
    return SSLSocket(sock._id)


class SSLContext:
    def __init__(self, protocol=PROTOCOL_TLS_CLIENT):
        self.verify_mode = CERT_NONE
        self._cadata = None
        self._key = None
        self._cert = None

    def load_verify_locations(self, cafile=None, cadata=None):
        if cafile:
            with open(cafile, "rb") as f:
                cadata = f.read()
        self._cadata = cadata

    def load_cert_chain(self, certfile, keyfile):
        if isinstance(certfile, str):
            with open(certfile, "rb") as f:
                certfile = f.read()
        if isinstance(keyfile, str):
            with open(keyfile, "rb") as f:
                keyfile = f.read()
        self._cert = certfile
        self._key = keyfile

    def wrap_socket(self, sock, server_side=False, do_handshake_on_connect=True, server_hostname=None):
        verify = self.verify_mode == CERT_REQUIRED and self._cadata is not None
        return _wrap(sock, server_side, server_hostname, verify, self._cadata, self._key, self._cert, do_handshake_on_connect)


def wrap_socket(sock, server_side=False, key=None, cert=None, cert_reqs=CERT_NONE, cadata=None, server_hostname=None, do_handshake=True):
    verify = cert_reqs == CERT_REQUIRED and cadata is not None
    return _wrap(sock, server_side, server_hostname, verify, cadata, key, cert, do_handshake)
