# Run by tests/e2e/run (pool.e2e): python3 replaces this shell and forks
# its pool's workers.
exec python3 -u "$(dirname "$0")/pool.py"
