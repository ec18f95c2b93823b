# uwebsockets/utf8.py: UTF-8 validation of text messages (RFC 6455 8.1) and close reasons,
# imported with the first text frame that is not ASCII (uwebsockets.protocol passes ASCII).

# For each lead byte that MicroPython's str() lets through wrongly, the range its second byte
# must be in (RFC 3629 section 4): no overlong forms, no surrogates, nothing above U+10FFFF.
# An empty range (1, 0) marks a byte that never starts a sequence. CPython's str() already
# rejects all of these.
_LIMITS = b'\xe0\xa0\xbf\xed\x80\x9f\xf0\x90\xbf\xf4\x80\x8f\xc0\x01\x00\xc1\x01\x00\xf5\x01\x00\xf6\x01\x00\xf7\x01\x00'


def valid(b, i, n):
    # b[i:n] decoded, or None if it is not valid UTF-8. str() checks the structure (on CPython,
    # everything); text that is not ASCII also gets the checks MicroPython's str() leaves out.
    try:
        s = str(memoryview(b)[i:n], 'utf-8')
    except UnicodeError:
        return None
    return s if len(s) == n - i or strict(b, i, n) else None


def scan(s, p, i, n):
    # The state of UTF-8 text after bytes p[i:n] from state s, or -1 once a byte cannot come
    # next: a byte at a time, for what is too short to pay for str(). The state is 0 between code
    # points, else the bytes a code point still needs << 16 | the lowest << 8 | the highest the
    # next may be.
    while i < n:
        x = p[i]
        i += 1
        if s:
            if not s >> 8 & 255 <= x <= s & 255:
                return -1
            s = s - 0x10000 & 0xF0000 | 0x80BF if s > 0x1FFFF else 0
        elif x > 0x7F:
            if x < 0xC2 or x > 0xF4:
                return -1
            if x < 0xE0:
                s = 0x180BF
            elif x < 0xF0:
                s = 0x2A0BF if x == 0xE0 else 0x2809F if x == 0xED else 0x280BF
            else:
                s = 0x390BF if x == 0xF0 else 0x3808F if x == 0xF4 else 0x380BF
    return s


def guard(c):
    # The websocket machine's guard utf8_ok for Connection c: the text so far, its current
    # frame included, is valid. The state of a code point the frame leaves incomplete is kept
    # (c.carry) for the next; it must still be completable, so bad text fails on the frame that
    # makes it bad. A frame's middle is checked by str(), its ends a byte at a time.
    p = c.payload
    s = c.carry
    n = len(p)
    i = j = 0
    if n > 12:
        while s > 0 and i < n:  # the code point the last frame left incomplete
            s = scan(s, p, i, i + 1)
            i += 1
        j = n
        if not c.hdr[0] & 0x80 and p[-1] > 0x7F:  # not the last frame: its end may be incomplete
            k = 1
            while k < 4 and k < n - i and 0x7F < p[n - k] < 0xC0:
                k += 1
            if p[n - k] > 0xBF and k < (2 if p[n - k] < 0xE0 else 3 if p[n - k] < 0xF0 else 4):
                j = n - k
        t = None if s < 0 else valid(p, i, j)
        if t is None:
            return False
    if s >= 0:
        s = scan(s, p, j, n)
    if s < 0 or s and c.hdr[0] & 0x80:
        return False
    # A whole message in one frame: its text is decoded already (deliver_text takes it).
    c.text = t if n > 12 and c.hdr[0] & 0x80 and c.frag is None and not i else None
    c.carry = s
    return True


def strict(b, i, n):
    # True if b[i:n], which str() accepted, has no overlong form, surrogate or code point
    # above U+10FFFF.
    m = max(memoryview(b)[i:n])  # (text that is not ASCII: n > i) no need to look for lead bytes above it
    for j in range(0, 27, 3):
        if _LIMITS[j] > m:
            continue
        x = _LIMITS[j:j + 1]
        k = b.find(x, i, n)
        while k >= 0:
            if not _LIMITS[j + 1] <= b[k + 1] <= _LIMITS[j + 2]:
                return False
            k = b.find(x, k + 1, n)
    return True
