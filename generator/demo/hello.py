# The example from the original uwebsockets README, unchanged but for the server's address:
# say who we are, print the greeting that comes back.
import os
import uwebsockets.client

URL = 'ws://127.0.0.1:5000/'


def hello():
    with uwebsockets.client.connect(URL) as websocket:
        uname = os.uname()
        name = '{} {} {} {}'.format(uname.sysname, uname.release, uname.version, uname.machine)
        websocket.send(name)
        print('> {}'.format(name))

        greeting = websocket.recv()
        print('< {}'.format(greeting))


hello()
