# usocketio/strict.py: what an emit (or an ack reply, or auth) may send, checked before anything
# is queued. socket.io's parser ends the whole session on a packet it cannot read, and the emits
# that shared its POST are lost with it; json on MicroPython writes the repr of what it cannot
# encode (object(), set()), and NaN and Infinity, which are not JSON, on both ports. Imported
# with the first packet packed (pack() is here: it runs only with the checks).
import json


def pack(c, t, w, i, data):
    # A Socket.IO packet of type t (2 EVENT or 3 ACK: 5 and 6 when data holds bytes) in
    # namespace w as (text, attachments) for client c; data checked by walk(), and ValueError if
    # the packet is over the maxPayload the server announced (it would end the session:
    # engine.io-client sends it alone all the same).
    a = ()
    if walk(data, t == 2):  # any bytes in data?
        from usocketio.binary import deconstruct
        data, a = deconstruct(data)
        t += 3
    s = str(t)
    if a:
        s += str(len(a)) + '-'  # (no format string: one name fewer)
    if w != '/':
        s += w + ','
    if i is not None:
        s += str(i)
    if data is not None:
        s += json.dumps(data)
    e = c.engine
    m = getattr(e, 'max_payload', None)  # (known once the session is open)
    if m:
        n = len(s) + 1  # the Engine.IO message: '4', then the packet
        if 4 * n > m:  # (count its UTF-8 bytes, a copy, only when that can matter)
            n = len(s.encode()) + 1
        for b in a:  # a message each on WebSocket; base64 ('b...' and a separator) in a POST
            n = max(n, len(b)) if e.ws else n + 4 * ((len(b) + 2) // 3) + 2
        if n > m:
            raise ValueError('packet over maxPayload (%d)' % m)
    return s, a


def walk(data, event=False, inf=(float('inf'), -float('inf'))):  # inf: made once, not a global
    # Whether data holds bytes or bytearray (Socket.IO attachments). TypeError unless the rest
    # is strict JSON (None, bool, int, float, str, list, tuple, dict with str keys); ValueError
    # for NaN and the infinities, and nesting deeper than 32 levels (a cycle too). With event,
    # data is an EVENT's [name, *args]: the name must be a str other than those socket.io's
    # parser rejects (the namespace's own events, and its emitter's).
    if event:
        n = data[0]
        if not isinstance(n, str):
            raise TypeError('event')
        from usocketio.client import _RESERVED
        if n in _RESERVED or n in ('disconnecting', 'newListener', 'removeListener'):
            raise ValueError(n)
    # A stack of iterators, one per open container: no recursion. Nothing is allocated per
    # item (isinstance() with a tuple of types would build the tuple each time, float
    # arithmetic a float), only an iterator per container.
    b = False
    s = [iter((data,))]
    while s:
        for x in s[-1]:
            if x is None or isinstance(x, str) or isinstance(x, int) or isinstance(x, bool):
                continue  # (MicroPython: bool is no int)
            if isinstance(x, float):
                if x != x or x in inf:
                    raise ValueError('NaN or Infinity')
            elif isinstance(x, bytes) or isinstance(x, bytearray):
                b = True
            elif isinstance(x, list) or isinstance(x, tuple) or isinstance(x, dict):
                if len(s) > 32:
                    raise ValueError('nested too deep')
                if isinstance(x, dict):
                    for k in x:
                        if not isinstance(k, str):
                            raise TypeError('key not str')
                    x = x.values()
                s.append(iter(x))
                break
            else:
                raise TypeError(type(x))
        else:
            s.pop()
    return b
