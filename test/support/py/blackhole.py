# A TCP listener whose accept queue is full and never drained: connecting to it hangs (the
# SYN is dropped), so clients time out in connect. Prints the port; runs until stdin closes.
import socket
import sys

listener = socket.socket()
listener.bind(('127.0.0.1', 0))
listener.listen(0)
filler = socket.socket()
filler.connect(listener.getsockname())  # fills the queue (backlog 0 holds one connection)
print(listener.getsockname()[1], flush=True)
sys.stdin.read()
