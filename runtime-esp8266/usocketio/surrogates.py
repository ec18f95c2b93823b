# usocketio/surrogates.py: JSON from servers whose encoder escapes the characters beyond U+FFFF
# as UTF-16 surrogate pairs (python-socketio sends "\ud83d\ude00" for one emoji). MicroPython's
# json decodes each half on its own, into two characters that no UTF-8 text may hold; join()
# first rewrites each escaped pair as the character itself. Imported for text that has a
# "\uD" escape. It scans the text's bytes once, with find: indexing a str is not O(1) on
# MicroPython (each index walks the UTF-8 from the start).


def join(s):
    # JSON text s with every escaped surrogate pair replaced by its character.
    b = s.encode()
    out = []
    i = k = 0
    while True:
        k = b.find(b'\\', k)
        if k < 0:
            break
        if b[k + 1:k + 2] == b'u':
            hi = int(b[k + 2:k + 6], 16)
            if 0xD800 <= hi < 0xDC00 and b[k + 6:k + 8] == b'\\u':
                lo = int(b[k + 8:k + 12], 16)
                if 0xDC00 <= lo < 0xE000:
                    out.append(b[i:k])
                    out.append(chr(0x10000 + (hi - 0xD800 << 10) + lo - 0xDC00).encode())
                    i = k = k + 12
                    continue
        k += 2  # an escape (of a backslash too) is two characters at least: the next starts after
    out.append(b[i:])
    return str(b''.join(out), 'utf-8')
