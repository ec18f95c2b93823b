# usocketio/strict.py: what an emit (or an ack reply) may send, checked before anything is
# queued. socket.io's parser ends the whole session on a packet it cannot read, and the emits
# that shared its POST are lost with it; json on MicroPython writes the repr of what it cannot
# encode (object(), set()), and NaN and Infinity, which are not JSON, on both ports. Imported
# with the first packet packed.


def walk(data, event=False):
    """Whether data holds bytes or bytearray (Socket.IO attachments). TypeError unless the rest
    is strict JSON (None, bool, int, float, str, list, tuple, dict with str keys); ValueError
    for NaN and the infinities, and nesting deeper than 32 levels (a cycle too). A walk with
    a stack of iterators, one per open container: no recursion, nothing allocated per item.
    With event, data is an EVENT's [name, *args]: the name must be a str other than those
    socket.io's parser rejects (the namespace's own events, and its emitter's)."""
    if event:
        n = data[0]
        if not isinstance(n, str):
            raise TypeError('event name: %r' % (n,))
        from usocketio.client import _RESERVED
        if n in _RESERVED or n in ('disconnecting', 'newListener', 'removeListener'):
            raise ValueError(n)
    b = False
    st = [iter((data,))]
    while st:
        for x in st[-1]:
            if isinstance(x, float):
                if x - x:  # NaN for NaN and the infinities, 0.0 for the others
                    raise ValueError('not JSON: %r' % x)
            elif isinstance(x, (list, tuple, dict)):
                if len(st) > 32:
                    raise ValueError('nested too deep')
                if isinstance(x, dict):
                    for k in x:
                        if not isinstance(k, str):
                            raise TypeError('not a str key: %r' % (k,))
                    x = x.values()
                st.append(iter(x))
                break
            elif isinstance(x, (bytes, bytearray)):
                b = True
            elif not (x is None or isinstance(x, (str, int, bool))):  # (MicroPython: bool is no int)
                raise TypeError('not JSON: %s' % type(x).__name__)
        else:
            st.pop()
    return b
