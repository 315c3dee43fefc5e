# A python3 heap that grows (doc/performance.md, "Sub-VMA tracking"): an
# 8 MiB bytearray grown by 16 KiB per step (glibc's realloc, mremap in
# place where there is room after it), a list and a dict growing, small
# objects allocated; a few pages written per step, one step per 2 ms.
# ./ready once it runs; it runs until killed.
import time

buf = bytearray(8 << 20)
lst = []
d = {}
i = 0
open("ready", "w").close()
while True:
    buf += b"x" * 16384
    lst.append(str(i) * 10)
    d[i] = i * i
    i += 1
    time.sleep(0.002)
