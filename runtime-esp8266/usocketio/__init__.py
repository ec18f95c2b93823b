# usocketio: a Socket.IO client (usocketio.client) over an Engine.IO session (usocketio.engine).
