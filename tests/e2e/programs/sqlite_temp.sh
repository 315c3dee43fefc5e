# Run by tests/e2e/run (sqlite_temp.e2e): sqlite3 replaces this shell and
# works in a temporary table on disk (sqlite_temp.sql), in unlinked files
# it opened with O_NOFOLLOW in the work directory. Its output after
# restore must equal an uninterrupted run's. stdbuf: line-buffered output,
# so the driver sees the first line as soon as it is printed.
export SQLITE_TMPDIR=$PWD
exec stdbuf -oL sqlite3 :memory: ".read $(dirname "$0")/sqlite_temp.sql"
