# Run by tests/e2e/run (py_shm.e2e): python3 replaces this shell and forks
# its workers.
exec python3 -u "$(dirname "$0")/py_shm.py"
