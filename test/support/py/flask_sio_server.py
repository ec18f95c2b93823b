# A Flask-SocketIO 5 server on eventlet (Debian's python3-flask-socketio and python3-eventlet),
# for the Socket.IO client's end-to-end tests (test/support/sioServers.ts starts it with
# /usr/bin/python3). It prints its port, then one JSON line per thing it sees, in the shape of
# sioServers.ts's SioEvent (bytes as {"$b": hex}). Namespaces '/', '/chat' and '/private' (its
# connect handler wants auth {'token': 'secret'}); on each:
#   echo(*args)              acks with the args
#   reflect(*args)           emits 'echo' with the args
#   ask(event, *args)        emits event with args and a callback; the answer is recorded
#   kick()                   disconnects the client from the namespace
#   anything else            recorded (the catch-all)
# and '/' emits 'welcome' from its connect handler, before python-socketio sends the CONNECT.
import eventlet

eventlet.monkey_patch()

import json  # noqa: E402
import logging  # noqa: E402
import sys  # noqa: E402
from binascii import hexlify  # noqa: E402

from flask import Flask, request  # noqa: E402
from flask_socketio import ConnectionRefusedError, SocketIO, disconnect, emit  # noqa: E402

logging.getLogger('werkzeug').setLevel(logging.ERROR)
app = Flask(__name__)
sio = SocketIO(app, async_mode='eventlet', logger=False, engineio_logger=False, cors_allowed_origins='*')


def _j(x):
    if isinstance(x, (bytes, bytearray)):
        return {'$b': hexlify(bytes(x)).decode()}
    if isinstance(x, (list, tuple)):
        return [_j(i) for i in x]
    if isinstance(x, dict):
        return {k: _j(v) for k, v in x.items()}
    return x


def transport():
    try:
        srv = sio.server
        return srv.transport(srv.manager.eio_sid_from_sid(request.sid, request.namespace))
    except Exception as e:  # noqa: BLE001
        return 'unknown: %r' % e


def rec(kind, **kw):
    e = {'kind': kind, 'tag': request.args.get('case', ''), 'ns': request.namespace, 'sid': request.sid}
    e.update(kw)
    sys.stdout.write(json.dumps(_j(e)) + '\n')
    sys.stdout.flush()


def install(ns):
    def on_connect(auth=None):
        rec('connect', auth=auth, transport=transport(), query=dict(request.args))
        if ns == '/private' and (auth or {}).get('token') != 'secret':
            raise ConnectionRefusedError('bad token', {'code': 401})
        if ns == '/':
            emit('welcome', 'hello ' + request.args.get('case', ''))

    def on_disconnect():
        rec('disconnect')

    def on_echo(*args):
        rec('event', name='echo', args=list(args), transport=transport())
        return args

    def on_reflect(*args):
        rec('event', name='reflect', args=list(args), transport=transport())
        emit('echo', args)

    def on_ask(event, *args):
        rec('event', name='ask', args=[event] + list(args), transport=transport())
        tag = request.args.get('case', '')
        sid = request.sid

        def answered(*answer):
            sys.stdout.write(json.dumps(_j({'kind': 'answer', 'tag': tag, 'ns': ns, 'sid': sid, 'name': event, 'args': list(answer)})) + '\n')
            sys.stdout.flush()

        emit(event, args, callback=answered)
        return 'asked'

    def on_kick():
        rec('event', name='kick', args=[])
        disconnect()

    def on_any(event, *args):
        rec('event', name=event, args=list(args), transport=transport())

    sio.on_event('connect', on_connect, namespace=ns)
    sio.on_event('disconnect', on_disconnect, namespace=ns)
    sio.on_event('echo', on_echo, namespace=ns)
    sio.on_event('reflect', on_reflect, namespace=ns)
    sio.on_event('ask', on_ask, namespace=ns)
    sio.on_event('kick', on_kick, namespace=ns)
    sio.on_event('message', lambda data: on_any('message', data), namespace=ns)  # not given to '*'
    sio.on_event('*', on_any, namespace=ns)


for _ns in ('/', '/chat', '/private'):
    install(_ns)


if __name__ == '__main__':
    import eventlet.wsgi

    sock = eventlet.listen(('127.0.0.1', 0))
    print(sock.getsockname()[1], flush=True)
    eventlet.wsgi.server(sock, app, log_output=False)
