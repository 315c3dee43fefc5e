# Run by tests/e2e/run (python.e2e): python3 replaces this shell, so the
# process that is checkpointed is the interpreter itself.
exec python3 -u "$(dirname "$0")/python.py"
