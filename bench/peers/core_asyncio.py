#!/usr/bin/python3
"""asyncio peer for the core benchmarks: task switch (two tasks doing
`await asyncio.sleep(0)`), spawn+join (`await create_task(nop())`, one at a
time), idle bytes per task awaiting a Future (VmRSS delta).
Prints CSV rows "<impl>,<metric>,<value>" where impl is asyncio or uvloop.
    core_asyncio.py [--uvloop] switch|spawn|idle|sockidle N"""
import asyncio
import gc
import sys
import time


def rss_bytes():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


async def bench_switch(n):
    async def yielder(k):
        for _ in range(k):
            await asyncio.sleep(0)
    t0 = time.perf_counter_ns()
    await asyncio.gather(yielder(n // 2), yielder(n // 2))
    return (time.perf_counter_ns() - t0) / (n // 2 * 2)


async def bench_spawn(n):
    async def nop():
        return 0
    t0 = time.perf_counter_ns()
    for _ in range(n):
        await asyncio.create_task(nop())
    return (time.perf_counter_ns() - t0) / n


async def bench_idle(n):
    fut = asyncio.get_running_loop().create_future()

    async def parked():
        await fut
    gc.collect()
    # The cyclic collector's full passes over a million live tasks would
    # make creation quadratic; memory, not the collector, is measured here.
    gc.disable()
    before = rss_bytes()
    tasks = [asyncio.create_task(parked()) for _ in range(n)]
    await asyncio.sleep(0)  # every task runs once and parks on fut
    after = rss_bytes()
    fut.set_result(None)
    for t in tasks:
        await t
    gc.enable()
    return (after - before) / n


async def bench_sock_idle(n):
    """Tasks parked in loop.sock_recv, one unix socketpair each (asyncio
    allows one reader per socket, so n is capped by the fd limit), as
    bench/idle_compact.c's "sock" row (issue 18)."""
    import resource
    import socket
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    n = min(n, (hard - 64) // 2)
    pairs = [socket.socketpair() for _ in range(n)]
    for a, _ in pairs:
        a.setblocking(False)
    loop = asyncio.get_running_loop()

    async def parked(s):
        await loop.sock_recv(s, 64)
    gc.collect()
    gc.disable()
    before = rss_bytes()
    tasks = [asyncio.create_task(parked(a)) for a, _ in pairs]
    await asyncio.sleep(0)
    after = rss_bytes()
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for a, b in pairs:
        a.close()
        b.close()
    gc.enable()
    return n, (after - before) / n


def main():
    args = sys.argv[1:]
    impl = "asyncio"
    if args and args[0] == "--uvloop":
        import uvloop
        uvloop.install()
        impl = "uvloop"
        args = args[1:]
    if len(args) != 2:
        sys.exit(__doc__)
    what, n = args[0], int(args[1])
    if what == "switch":
        print(f"{impl},switch_ns,{asyncio.run(bench_switch(n)):.1f}")
    elif what == "spawn":
        print(f"{impl},spawn_join_ns,{asyncio.run(bench_spawn(n)):.1f}")
    elif what == "idle":
        print(f"{impl},idle_bytes_per_task_{n},{asyncio.run(bench_idle(n)):.0f}")
    elif what == "sockidle":
        m, b = asyncio.run(bench_sock_idle(n))
        print(f"{impl},sock_idle_bytes_per_task_{m},{b:.0f}")
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
