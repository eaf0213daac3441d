#!/usr/bin/python3
"""The peer for bench/run_crawl.sh: the classic asyncio + aiohttp crawler.

Same work as tulip-crawl: a queue drained by C worker tasks, one aiohttp
session with C connections (keep-alive), dedup of URLs, same host only,
robots.txt obeyed (urllib.robotparser), redirects not followed by the
client but queued as URLs, links extracted from 200 text/html pages with
the standard library's HTML parser. Run with Debian's python3 (python3-aiohttp).

usage: crawl_aiohttp.py URL CONCURRENCY
prints: pages N seconds S pages/s R cpu C
(C: the process's CPU time over the crawl, user + system, without the
interpreter's start-up)
"""
import asyncio
import sys
import time
import urllib.robotparser
from html.parser import HTMLParser
from urllib.parse import urljoin, urldefrag, urlsplit

import aiohttp


class Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs = []
        self.base = None

    def handle_starttag(self, tag, attrs):
        if tag in ("a", "area", "link"):
            for k, v in attrs:
                if k == "href" and v is not None:
                    self.hrefs.append(v)
        elif tag == "base" and self.base is None:
            for k, v in attrs:
                if k == "href" and v:
                    self.base = v


async def main(start, conc):
    host = urlsplit(start).netloc
    seen = {start}
    queue = asyncio.Queue()
    queue.put_nowait(start)
    pages = 0
    conn = aiohttp.TCPConnector(limit=conc, limit_per_host=conc)
    async with aiohttp.ClientSession(connector=conn, headers={"User-Agent": "aiohttp-crawl/0.1"}) as session:
        robots = urllib.robotparser.RobotFileParser()
        async with session.get(urljoin(start, "/robots.txt")) as r:
            robots.parse((await r.text()).splitlines() if r.status < 300 else [])

        def offer(url):
            url = urldefrag(url.strip())[0]
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or url in seen:
                return
            seen.add(url)
            if parts.netloc == host and robots.can_fetch("aiohttp-crawl", url):
                queue.put_nowait(url)

        async def worker():
            nonlocal pages
            while True:
                url = await queue.get()
                try:
                    async with session.get(url, allow_redirects=False) as r:
                        body = await r.read()
                        pages += 1
                        if 300 <= r.status < 400 and "Location" in r.headers:
                            offer(urljoin(url, r.headers["Location"]))
                        elif r.status == 200 and r.content_type == "text/html":
                            p = Links()
                            p.feed(body.decode("utf-8", "replace"))
                            base = urljoin(url, p.base) if p.base else url
                            for h in p.hrefs:
                                offer(urljoin(base, h))
                except (aiohttp.ClientError, asyncio.TimeoutError, ValueError):
                    pages += 1
                finally:
                    queue.task_done()

        t0 = time.monotonic()
        c0 = time.process_time()
        workers = [asyncio.create_task(worker()) for _ in range(conc)]
        await queue.join()
        elapsed = time.monotonic() - t0
        cpu = time.process_time() - c0
        for w in workers:
            w.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
    print(f"pages {pages} seconds {elapsed:.3f} pages/s {pages / elapsed:.0f} cpu {cpu:.3f}")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
