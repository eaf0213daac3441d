#!/usr/bin/python3
"""asyncio / uvloop peer for the TCP echo benchmark: a Protocol that writes
back what it receives (asyncio's fastest idiom, no coroutine per read).
Listens on 127.0.0.1:PORT until killed.
    echo_asyncio.py [--uvloop] PORT"""
import asyncio
import sys


class Echo(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        self.transport.write(data)


async def main(port):
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Echo, "127.0.0.1", port, backlog=1024)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    args = sys.argv[1:]
    if args and args[0] == "--uvloop":
        import uvloop
        uvloop.install()
        args = args[1:]
    if len(args) != 1:
        sys.exit(__doc__)
    asyncio.run(main(int(args[0])))
