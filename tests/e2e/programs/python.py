# Deterministic work for the python3 e2e test: an iterated SHA-256 chain
# and a pure-Python prime count, with a progress line per chunk.
import hashlib

CHUNKS = 24
HASHES = 100000
SPAN = 30000

print("python: start", flush=True)
h = b"selfckpt"
primes = 0
acc = 0
for c in range(CHUNKS):
    for _ in range(HASHES):
        h = hashlib.sha256(h).digest()
    lo, hi = c * SPAN + 2, (c + 1) * SPAN + 2
    for n in range(lo, hi):
        if n % 2 == 0 and n != 2:
            continue
        d = 3
        while d * d <= n:
            if n % d == 0:
                break
            d += 2
        else:
            primes += 1
            acc = (acc * 31 + n) % 1000000007
    print(f"python: chunk {c + 1}/{CHUNKS} {h.hex()[:16]} primes={primes} acc={acc}",
          flush=True)
print(f"python: result {h.hex()} {primes} {acc}", flush=True)
