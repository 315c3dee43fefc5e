# An asyncio program for the e2e tests: an event loop (epoll, its
# socketpair self-pipe, timers) running producer and consumer tasks over a
# queue, printing deterministic progress; checkpointed mid-run.
import asyncio
import hashlib


async def producer(q, n):
    h = b"asyncio"
    for i in range(n):
        for _ in range(2000):
            h = hashlib.sha256(h).digest()
        await q.put((i, h))
        await asyncio.sleep(0.01)
    await q.put(None)


async def consumer(q):
    acc = 0
    while True:
        item = await q.get()
        if item is None:
            return acc
        i, h = item
        acc = (acc * 131 + int.from_bytes(h[:8], "little")) % (1 << 61)
        if i % 25 == 24:
            print(f"asyncio: {i + 1} items acc={acc}", flush=True)


async def main():
    q = asyncio.Queue(maxsize=4)
    print("asyncio: start", flush=True)
    prod = asyncio.create_task(producer(q, 300))
    acc = await consumer(q)
    await prod
    print(f"asyncio: result {acc}", flush=True)


asyncio.run(main())
