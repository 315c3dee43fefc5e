# A multiprocessing.Pool of forked workers computing a deterministic sum:
# the pool's pipes, its locks (POSIX semaphores in shared memory) and its
# threads are all in the checkpointed tree.
import multiprocessing as mp
import time


def work(x):
    time.sleep(0.002)
    v = x
    for _ in range(200):
        v = (v * 6364136223846793005 + 1442695040888963407) % (1 << 64)
    return v % 1000003


if __name__ == "__main__":
    with mp.get_context("fork").Pool(3) as pool:
        results = pool.imap(work, range(6000), chunksize=20)
        total = next(results)
        # The driver checkpoints at the first line: by now the pool is
        # whole (its semaphores made, and unlinked as Python does at once).
        print("start", flush=True)
        total += sum(results)
    print(total, flush=True)
