# An echo server on Debian's python3-websockets (10.4, asyncio API), for interoperability tests.
# Prints its port on the first line, then one JSON line per event:
#   {"event": "message", "binary": bool, "length": n}, {"event": "pong"}, {"event": "close", "code", "reason"}
# Text commands: '!close <code> <reason>' closes, '!ping <payload>' pings and reports the Pong
# with a text message 'pong <payload>'.
import asyncio
import json
import sys

import websockets


def event(**kw):
    print(json.dumps(kw), flush=True)


async def handler(ws, *args):
    try:
        async for m in ws:
            binary = isinstance(m, bytes)
            event(event='message', binary=binary, length=len(m))
            if not binary and m.startswith('!close '):
                _, code, reason = (m + ' ').split(' ', 2)
                await ws.close(int(code), reason.strip())
            elif not binary and m.startswith('!ping '):
                payload = m[6:]
                waiter = await ws.ping(payload.encode())
                await asyncio.wait_for(waiter, 5)
                event(event='pong', payload=payload)
                await ws.send('pong ' + payload)
            else:
                await ws.send(m)
    finally:
        await ws.wait_closed()
        event(event='close', code=ws.close_code, reason=ws.close_reason)


async def main():
    # The server also pings every 50 ms: a client that did not answer (within 1 s) is dropped.
    async with websockets.serve(handler, '127.0.0.1', 0, max_size=1 << 20, ping_interval=0.05, ping_timeout=1) as server:
        print(server.sockets[0].getsockname()[1], flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)  # until stdin closes


asyncio.run(main())
