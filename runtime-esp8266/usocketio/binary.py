# usocketio/binary.py: Socket.IO binary packets. Bytes inside an event's data travel as
# attachments, separate binary messages, each replaced in the JSON by a placeholder
# {"_placeholder": true, "num": n}. Imported for the first packet that has any. Both walks use
# a list of work instead of recursion, so deep data cannot overflow the device's small stack.


def deconstruct(data):
    # (data with placeholders, attachments): a copy of data in which every bytes or bytearray
    # is replaced by a placeholder, numbered in document order; data itself is left as it is.
    atts = []
    root = [data]
    todo = [(root, 0)]
    while todo:
        c, k = todo.pop()
        v = c[k]
        if isinstance(v, (bytes, bytearray)):
            c[k] = {'_placeholder': True, 'num': len(atts)}
            atts.append(bytes(v))
        elif isinstance(v, dict):
            c[k] = v = dict(v)
            todo.extend((v, j) for j in reversed(list(v)))
        elif isinstance(v, (list, tuple)):
            c[k] = v = list(v)
            todo.extend((v, j) for j in range(len(v) - 1, -1, -1))
    return root[0], atts


def reconstruct(data, atts):
    # data (decoded JSON, changed in place) with each placeholder replaced by its attachment;
    # ValueError if a placeholder's num is not one of them.
    root = [data]
    todo = [(root, 0)]
    while todo:
        c, k = todo.pop()
        v = c[k]
        if isinstance(v, dict):
            if v.get('_placeholder') is True:
                n = v.get('num')
                if not isinstance(n, int) or not 0 <= n < len(atts):
                    raise ValueError('placeholder')
                c[k] = atts[n]
            else:
                todo.extend((v, j) for j in v)
        elif isinstance(v, list):
            todo.extend((v, j) for j in range(len(v)))
    return root[0]
