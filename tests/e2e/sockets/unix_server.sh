# Run by tests/e2e/run (unix_server.e2e): python3 replaces this shell.
exec python3 -u "$(dirname "$0")/unix_server.py"
