# An asyncio program for the e2e tests: a unix stream server at ./srv.sock
# and a client in the same process exchanging requests and hash-chained
# answers, the client reconnecting halfway; checkpointed mid-run, it must
# print what an uninterrupted run prints.
import asyncio
import hashlib
import os


async def serve(reader, writer):
    h = b"server"
    while line := await reader.readline():
        h = hashlib.sha256(h + line).digest()
        writer.write(h.hex().encode() + b"\n")
        await writer.drain()
    writer.close()


async def client(first, n):
    reader, writer = await asyncio.open_unix_connection("srv.sock")
    acc = 0
    for i in range(first, first + n):
        writer.write(f"request {i}\n".encode())
        await writer.drain()
        answer = await reader.readline()
        acc = (acc * 131 + int(answer[:16], 16)) % (1 << 61)
        if i % 25 == 24:
            print(f"unix server: {i + 1} answers acc={acc}", flush=True)
        await asyncio.sleep(0.01)
    writer.close()
    return acc


async def main():
    if os.path.exists("srv.sock"):
        os.unlink("srv.sock")
    server = await asyncio.start_unix_server(serve, "srv.sock")
    print("unix server: start", flush=True)
    # A second connection halfway: made after a restore, it reaches the
    # listener that came back.
    a = await client(0, 150)
    b = await client(150, 150)
    print(f"unix server: result {a} {b}", flush=True)
    server.close()


asyncio.run(main())
