# SPDX-License-Identifier: MIT
# A python3 job slow to checkpoint: MB MiB of memory and a worker thread,
# so that a test can send a trigger while a checkpoint is being written
# (and the trigger reaches a thread other than the checkpointing one).
# The worker computes STEPS steps of a recurrence, appends each to OUTPUT
# 50 ms apart, and the result at the end: the same OUTPUT however often
# the job is checkpointed and restored. It writes ./ready once running.
#
#   python3 busy.py STEPS OUTPUT MB
import sys
import threading
import time

steps, output, mb = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
MIB = 1 << 20
memory = [bytearray(bytes([(i * 131 + 7) % 251 + 1]) * MIB) for i in range(mb)]


def work():
    x = 88172645463325252
    for i in range(steps):
        x = (x * 6364136223846793005 + 1442695040888963407) % 2**64
        with open(output, "a") as f:
            f.write(f"step {i} {x:016x} {memory[i % mb][i % MIB]}\n")
        time.sleep(0.05)
    with open(output, "a") as f:
        f.write(f"result {x:016x}\n")


worker = threading.Thread(target=work)
worker.start()
open("ready", "w").close()
worker.join()
