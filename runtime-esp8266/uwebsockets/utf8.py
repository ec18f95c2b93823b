# uwebsockets/utf8.py: UTF-8 validation of text messages (RFC 6455 8.1) and close reasons,
# imported with the first text frame that is not ASCII (uwebsockets.protocol passes ASCII).

# For each lead byte that MicroPython's str() lets through wrongly, the range its second byte
# must be in (RFC 3629 section 4): no overlong forms, no surrogates, nothing above U+10FFFF.
# An empty range (1, 0) marks a byte that never starts a sequence. CPython's str() already
# rejects all of these.
_LIMITS = b'\xe0\xa0\xbf\xed\x80\x9f\xf0\x90\xbf\xf4\x80\x8f\xc0\x01\x00\xc1\x01\x00\xf5\x01\x00\xf6\x01\x00\xf7\x01\x00'


def valid(b, n):
    """b[:n] decoded, or None if it is not valid UTF-8. str() checks the structure (on CPython,
    everything); text that is not ASCII also gets the checks MicroPython's str() leaves out."""
    try:
        s = str(memoryview(b)[:n], 'utf-8')
    except UnicodeError:
        return None
    return s if len(s) == n or strict(b, n) else None


def guard(c):
    """The websocket machine's guard utf8_ok for Connection c: the text so far, its current
    frame included, is valid; an incomplete last code point is kept (in c.carry) for the next
    frame, and must still be completable, so bad text fails on the frame that makes it bad."""
    p = c.payload
    if c.carry:
        p = c.carry + p
    fin = c.hdr[0] & 0x80
    k = tail(p, valid) if not fin and p and p[-1] > 0x7F else 0
    t = None if k < 0 else valid(p, len(p) - k)
    if t is None:
        return False
    # A whole message in one frame: its text is decoded already (deliver_text takes it).
    c.text = t if fin and c.frag is None and p is c.payload else None
    c.carry = bytes(p[len(p) - k:]) if k else b''
    return True


def strict(b, n):
    """True if b[:n], which str() accepted, has no overlong form, surrogate or code point
    above U+10FFFF."""
    m = max(memoryview(b)[:n])  # (text that is not ASCII: n > 0) no need to look for lead bytes above it
    for j in range(0, 27, 3):
        if _LIMITS[j] > m:
            continue
        x = _LIMITS[j:j + 1]
        i = b.find(x, 0, n)
        while i >= 0:
            if not _LIMITS[j + 1] <= b[i + 1] <= _LIMITS[j + 2]:
                return False
            i = b.find(x, i + 1, n)
    return True


def tail(p, valid):
    """Length of an incomplete code point ending p (0 if none), or -1 if no continuation bytes
    can complete it validly (so that bad text fails on the frame that makes it bad, 8.1).
    valid(b, n) says whether b[:n] is valid UTF-8."""
    n = len(p)
    k = 0
    while k < 3 and k < n and 0x7F < p[n - 1 - k] < 0xC0:
        k += 1
    c = p[n - 1 - k] if k < n else 0
    need = (2 if c < 0xE0 else 3 if c < 0xF0 else 4) - k - 1
    if c < 0xC0 or need <= 0:
        return 0
    if c < 0xE0:  # a two-byte lead alone: any continuation byte completes it, unless it is overlong
        return 1 if c > 0xC1 else -1
    t = bytes(p[n - 1 - k:])  # try completing it with the lowest, then the highest continuation byte
    return k + 1 if valid(t + b'\x80' * need, k + 1 + need) or valid(t + b'\xbf' * need, k + 1 + need) else -1
