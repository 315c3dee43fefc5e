# Run by tests/e2e/run (sqlite.e2e): sqlite3 replaces this shell and is
# checkpointed in the middle of one long transaction (database and journal
# descriptors, POSIX locks on the database, unlinked sort files). After
# restore it must commit, pass integrity_check and end with the same
# contents (.sha3sum) as an uninterrupted run. stdbuf: line-buffered
# output, so the driver sees "transaction open" as soon as it is.
rm -f test.db test.db-journal
exec stdbuf -oL sqlite3 test.db ".read $(dirname "$0")/sqlite.sql"
