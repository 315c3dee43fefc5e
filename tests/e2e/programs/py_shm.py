# Python multiprocessing workers computing in a SharedMemory block (POSIX
# shared memory: a file in /dev/shm the parent keeps a descriptor on, the
# workers map by name), in lockstep with the parent through a Barrier;
# the parent prints a digest of the block at every step.
import hashlib
import struct
import time
from multiprocessing import Barrier, Process, shared_memory

WORDS, STEPS, WORKERS = 4096, 200, 3
MULT = 6364136223846793005


def work(name, rank, bar):
    shm = shared_memory.SharedMemory(name=name)
    buf = shm.buf
    for step in range(STEPS):
        bar.wait()
        for i in range(rank, WORDS, WORKERS):
            v = struct.unpack_from("<Q", buf, i * 8)[0]
            struct.pack_into("<Q", buf, i * 8, (v * MULT + step + i) % (1 << 64))
        bar.wait()
    del buf
    shm.close()


if __name__ == "__main__":
    shm = shared_memory.SharedMemory(create=True, size=WORDS * 8)
    shm.buf[:] = bytes(WORDS * 8)
    bar = Barrier(WORKERS + 1)
    workers = [Process(target=work, args=(shm.name, r, bar)) for r in range(WORKERS)]
    for p in workers:
        p.start()
    for step in range(STEPS):
        bar.wait()
        bar.wait()
        print(step, hashlib.sha1(bytes(shm.buf)).hexdigest()[:16], flush=True)
        time.sleep(0.02)
    for p in workers:
        p.join()
    shm.close()
    shm.unlink()
