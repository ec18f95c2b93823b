# The Socket.IO example from the original uwebsockets repository (examples/socketio_client.py,
# MIT, (c) Danielle Madeley), unchanged but for the server's address. Its handlers take the
# client first, as the first releases called them; its `logging` import is micropython-lib's,
# which the old package needed and wirestate does not (the demo supplies a stand-in).
import logging

import usocketio.client

logging.basicConfig(level=logging.DEBUG)

def hello():
    with usocketio.client.connect('http://127.0.0.1:5000/') as socketio:
        @socketio.on('message')
        def on_message(self, message):
            print("message", message)

        @socketio.on('alert')
        def on_alert(self, message):
            print("alert", message)

        socketio.run_forever()

hello()
