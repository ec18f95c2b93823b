# usocketio/response.py: the response side of a long-polling request (usocketio.polling.Poll,
# which reads it into buf): the head, then the body (Content-Length, chunked or up to the end of
# the stream) cut into packets, each handed to the engine as soon as it is whole. Apart from
# usocketio.polling so that each module is compiled alone, with less heap at import.
from binascii import a2b_base64

# Where a response is (Poll.st), as numbers rather than const() names (from source, every
# name is interned for good): 0 the head; 1 the body, by Content-Length (left: bytes to come)
# or, left < 0, up to the end of the stream; 2 a chunk's size line; 3 a chunk's data (left:
# bytes to come); 4 the line end after a chunk's data; 5 the trailer section after the last
# chunk.


class Poll:
    # What usocketio.polling.Poll (which derives from this class, named as it is: one
    # interned name fewer) reads: buf[i:n] is parsed before the next read; e is the engine.

    line = head = part = need = None
    i = n = pn = 0

    def _parse(self):
        # Parse what is in buf[i:n], up to a packet's end at most.
        st = self.st
        d = self.buf
        i = self.i
        n = self.n
        if st == 1 or st == 3:
            k = n if self.left < 0 else min(n, i + self.left)
            self.i = k = self._feed(i, k)
            if self.left >= 0:
                self.left -= k - i
                if not self.left:
                    if st == 1:
                        self._done()
                    else:
                        self.st = 4
            return
        if st == 2 and not self.line:
            # Chunks whole in buf, one an iteration, with nothing allocated (a body may come a
            # byte a chunk); one cut by the end of what was read, or in which a packet may end
            # (protocol 4), goes on a piece a call, and one packet a call at most.
            g = self.method == 'GET'
            x = self.e.eio == 3
            while True:
                j = d.find(b'\n', i, n)
                if j < 0:
                    break
                m = 0  # the size: hex digits, then CRLF (else _int() judges the line)
                k = i
                while k < j and k - i < 7:
                    c = d[k]
                    if 48 <= c <= 57:
                        m = m * 16 + c - 48
                    elif 97 <= c | 32 <= 102:
                        m = m * 16 + (c | 32) - 87
                    else:
                        break
                    k += 1
                if k == i or k + 1 != j or d[k] != 13:
                    m = _int(d, i, j, 16)
                i = j + 1
                k = i + m
                if not m or k + 2 > n or g and not x and d.find(b'\x1e', i, k) >= 0:
                    st = 3 if m else 5
                    self.left = m
                    break
                if d[k] != 13 or d[k + 1] != 10:
                    raise OSError('no CRLF after a chunk')
                if g and x:  # protocol 3: _feed() cuts lengths and packets; the units of a
                    # packet under way are counted here (as _units() does) while part has room
                    while i < k:
                        j = self.need
                        p = self.part
                        if j is not None and p is not None and self.pn + k - i <= len(p):
                            q = self.pn
                            while i < k:
                                c = d[i]
                                if c & 0xC0 != 0x80:  # a character starts
                                    if j <= 0:  # after the packet: _feed() judges
                                        break
                                    j -= 2 if c >= 0xF0 else 1
                                p[q] = c
                                q += 1
                                i += 1
                            self.need = j
                            self.pn = q
                            if i == k:
                                break
                        j = self.need
                        c = self._feed(i, k)
                        if j is not None and self.need is None:  # a packet was handed over
                            self.i = c
                            self.st = 3 if c < k else 4
                            self.left = k - c
                            return
                        i = c
                elif g:
                    p = self.part
                    j = self.pn
                    if p is None or j + m > len(p) or m > 8:
                        self._keep(i, k)
                    else:
                        while i < k:
                            p[j] = d[i]
                            j += 1
                            i += 1
                        self.pn = j
                i = k + 2
            self.i = i
            self.st = st
            if st != 2 or i == n:
                return
        # The head, a chunk size line or the end of a chunk cut by the end of what was read, the
        # trailer: lines.
        j = d.find(b'\n', i, self.n)
        k = self.n if j < 0 else j + 1
        self.i = k
        if j < 0 or self.line:  # a line cut by the end of what was read: kept whole
            self.line += memoryview(d)[i:k]
            if len(self.line) > 4096:
                raise OSError('HTTP line over 4 KiB')
            if j < 0:
                return
            line = bytes(self.line)
            self.line = bytearray()
        else:
            line = bytes(d[i:k])
        if st == 0:
            if line != b'\r\n':
                self.head += line  # until the empty line
                if len(self.head) > 4096:
                    raise OSError('HTTP head over 4 KiB')
                return
            self._head(self.head)
        elif st == 2:
            n = _int(line, 0, len(line), 16)
            self.st, self.left = (3, n) if n else (5, 0)
        elif line != b'\r\n':
            if st == 4:
                raise OSError('no CRLF after a chunk')
        elif st == 4:
            self.st = 2
        else:  # the trailer's end
            self._done()

    def _head(self, head):
        # The response head is in: status and the headers that say how the body comes.
        h = bytes(head).lower().split(b'\r\n')
        status = h[0].split(None, 2)
        if len(status) < 2 or status[1] != b'200':
            raise OSError('HTTP status ' + str(status[1] if len(status) > 1 else b'?', 'ascii'))
        self.close_after = status[0] == b'http/1.0'
        self.begin(1, -1)
        for line in h[1:]:
            k = line.find(b':')
            v = line[k + 1:].strip()
            k = line[:k]
            if k == b'content-length':
                self.left = _int(v, 0, len(v), 10)
            elif k == b'transfer-encoding' and v.endswith(b'chunked'):
                self.st = 2
            elif k == b'connection':
                self.close_after = v == b'close'
        self.head = None
        if self.st == 1 and not self.left:
            self._done()

    def begin(self, st, left):
        # The body starts: its state, and its length (-1: up to the end of the stream).
        self.st = st
        self.left = left
        self.line = bytearray()
        self.num = b''  # protocol 3: the digits of a length
        if self.e.eio == 4 and self.method == 'GET':
            self.need = 0  # a packet is open: an empty body is one empty packet

    def _feed(self, i, k):
        # Body bytes buf[i:k]: the GET's are cut into packets, at most one handled per call;
        # where the body stopped being read.
        e = self.e
        if self.method != 'GET':
            return k  # a POST's 'ok'
        d = self.buf
        if e.eio == 4:
            j = d.find(b'\x1e', i, k)
            end = k if j < 0 else j
            n = j + 1  # where the next packet starts
        elif self.need is None:  # protocol 3's <length>:<packet>: the length, digits up to ':'
            j = d.find(b':', i, k)
            self.num += bytes(d[i:k if j < 0 else j])
            if len(self.num) > 9:
                raise ValueError('length')
            if j < 0:
                return k
            if not self.num or self.num.strip(b'0123456789'):  # digits only: int() also
                raise ValueError('length')  # takes signs, spaces and '_' (MicroPython: '7_')
            self.need = int(self.num)
            self.num = b''
            return j + 1
        else:
            end = j = n = self._units(i, k)
        if self.part is not None or j < 0:  # a packet cut by the end of what was read
            self._keep(i, k if j < 0 else end)
            if j < 0:
                return k
            m = memoryview(self.part)[:self.pn]
        else:
            m = memoryview(d)[i:end]
        self.packet(m)
        if e.eio == 4:
            self.need = 0  # another packet follows the separator
        return n

    def _units(self, i, k):
        # Protocol 3: where in buf[i:k] the packet whose length (in UTF-16 code units, as
        # JavaScript counts) is self.need ends, or -1. Counted on the UTF-8 bytes: a character
        # starts with a byte that is not 10xxxxxx, and one of four bytes is two units.
        d = self.buf
        need = self.need
        for j in range(i, k):
            c = d[j]
            if c & 0xC0 != 0x80:
                if need <= 0:
                    if need:  # the last character overran the length
                        raise ValueError('length')
                    return j
                need -= 2 if c >= 0xF0 else 1
        self.need = need
        return -1

    def _keep(self, i, k):
        # Add buf[i:k] to the packet being cut, part[:pn]. Its buffer doubles as it fills, so
        # that a packet that comes a byte at a time (chunked) is not copied whole for each byte;
        # a few bytes are copied one by one (no memoryview made for them).
        p = self.part
        m = self.pn
        n = m + k - i
        if p is None or n > len(p):
            b = bytearray(max(n, 2 * len(p) if p else 64))
            if p:
                b[:m] = memoryview(p)[:m]
            self.part = p = b
        if k - i > 8:
            p[m:n] = memoryview(self.buf)[i:k]
        else:
            d = self.buf
            while i < k:
                p[m] = d[i]
                m += 1
                i += 1
        self.pn = n

    def packet(self, p):
        # A whole packet of the body (a memoryview): to the engine.
        e = self.e
        self.part = self.need = None
        self.pn = 0
        b = len(p) and p[0] == 98  # b: base64 (protocol 3: b4)
        try:
            if b:
                p = a2b_base64(p[2 if e.eio == 3 else 1:])
            else:
                # Text that is not ASCII: MicroPython's str() lets overlong forms, surrogates
                # and worse through, so it is checked a byte at a time first.
                if len(p) and max(p) > 0x7F:
                    import uwebsockets.utf8 as u
                    if u.scan(0, p, 0, len(p)):
                        raise ValueError
                p = str(p, 'utf-8')
        except MemoryError:
            raise
        except Exception:  # binascii's error is not a ValueError on every port
            raise ValueError('packet')
        e.packet(p)


def _int(b, i, j, r):
    # The length in b[i:j] (a header's value, or a chunk's size line, whose extensions after a
    # ';' are ignored), in radix r, whitespace around it allowed: OSError (a transport error) if
    # it is not one. Digits only (int() also takes signs and '_', and MicroPython's even '7_' and
    # '_7'), at most 0xFFFFFFF; a byte at a time, nothing allocated.
    n = k = 0  # k: 0 before the digits, 1 in them, 2 after them
    while i < j:
        c = b[i]
        i += 1
        if c == 32 or 9 <= c <= 13:
            if k:
                k = 2
            continue
        if c == 59 and r == 16:
            break
        v = c - 48 if 48 <= c <= 57 else (c | 32) - 87 if r == 16 and 97 <= c | 32 <= 102 else -1
        if v < 0 or k == 2 or n > 0xFFFFFF:
            raise OSError('HTTP length')
        n = n * r + v
        k = 1
    if not k:
        raise OSError('HTTP length')
    return n
