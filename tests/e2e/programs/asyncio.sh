# Run by tests/e2e/run (asyncio.e2e): python3 replaces this shell.
exec python3 -u "$(dirname "$0")/event_loop.py"
