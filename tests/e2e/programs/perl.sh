# Run by tests/e2e/run (perl.e2e): perl replaces this shell, so the process
# that is checkpointed is the interpreter itself.
exec perl "$(dirname "$0")/perl.pl"
