#!/usr/bin/python3
"""aiohttp peer for the HTTP/1.1 hello benchmark ("Hello, World!" on every
path, keep-alive by default). Listens on 127.0.0.1:PORT until killed.
    http_aiohttp.py [--uvloop] PORT"""
import sys

from aiohttp import web


async def hello(request):
    return web.Response(text="Hello, World!")


if __name__ == "__main__":
    args = sys.argv[1:]
    loop = None
    if args and args[0] == "--uvloop":
        import uvloop
        uvloop.install()
        args = args[1:]
    if len(args) != 1:
        sys.exit(__doc__)
    app = web.Application()
    app.router.add_get("/{tail:.*}", hello)
    web.run_app(app, host="127.0.0.1", port=int(args[0]), access_log=None, print=None)
