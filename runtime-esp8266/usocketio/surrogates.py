# usocketio/surrogates.py: JSON from servers whose encoder escapes the characters beyond U+FFFF
# as UTF-16 surrogate pairs (python-socketio sends "\ud83d\ude00" for one emoji). MicroPython's
# json decodes each half on its own, into two characters that no UTF-8 text may hold; join()
# first rewrites each escaped pair as the character itself. Imported for text that has a
# "\uD" escape.


def join(s):
    """JSON text s with every escaped surrogate pair replaced by its character."""
    out = []
    i = k = 0
    while True:
        k = s.find('\\u', k)
        if k < 0:
            break
        b = k
        while s[b - 1:b] == '\\':  # slices, not indexing: s[i] would intern each character
            b -= 1
        hi = int(s[k + 2:k + 6], 16) if (k - b) % 2 == 0 else 0  # an odd run escapes this backslash
        if 0xD800 <= hi < 0xDC00 and s[k + 6:k + 8] == '\\u':
            lo = int(s[k + 8:k + 12], 16)
            if 0xDC00 <= lo < 0xE000:
                out.append(s[i:k])
                out.append(chr(0x10000 + (hi - 0xD800 << 10) + lo - 0xDC00))
                i = k = k + 12
                continue
        k += 2
    out.append(s[i:])
    return ''.join(out)
