# A pseudo-terminal standing in for a USB serial adapter: prints the path of its serial end, then
# relays bytes between its other end and this process's stdin/stdout until stdin closes.
import os
import pty
import select

board, port = pty.openpty()  # `port` stays open here, so reads on `board` never fail with EIO
os.write(1, (os.ttyname(port) + '\n').encode())
while True:
    ready, _, _ = select.select([board, 0], [], [])
    if 0 in ready:
        data = os.read(0, 65536)
        if not data:
            break
        os.write(board, data)
    if board in ready:
        os.write(1, os.read(board, 65536))
