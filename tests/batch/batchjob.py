# SPDX-License-Identifier: MIT
"""A batch job's computation in python3, as tests/batch/batchjob.c does it:
STEPS steps of a deterministic recurrence, each written to OUTPUT and to
stdout, STEP_MS apart, then the result.

    python3 batchjob.py STEPS OUTPUT [STEP_MS]
"""
import signal
import sys
import time

MIX_ROUNDS = 20000
MASK = (1 << 64) - 1


def saw(sig, _frame):
    print(f"batchjob.py saw signal {sig}", flush=True)


def main():
    steps, output = int(sys.argv[1]), sys.argv[2]
    step_s = (int(sys.argv[3]) if len(sys.argv) > 3 else 100) / 1000
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGUSR1):
        signal.signal(sig, saw)
    x = 88172645463325252
    with open(output, "w") as out:
        for i in range(steps):
            for _ in range(MIX_ROUNDS):
                x ^= (x << 13) & MASK
                x ^= x >> 7
                x ^= (x << 17) & MASK
            out.write(f"step {i} {x:016x}\n")
            out.flush()
            print(f"step {i}", flush=True)
            time.sleep(step_s)
        out.write(f"result {x:016x}\n")


main()
