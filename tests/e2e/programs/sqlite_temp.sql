-- Work in a temporary table kept on disk (temp_store = FILE): sqlite3
-- keeps it in a file it opened with O_NOFOLLOW and unlinked at once, and
-- with a small page cache the index build and the sorts below go through
-- that file and more unlinked sort files. The checkpoint comes once the
-- table is filled, while it is in use.
PRAGMA temp_store = FILE;
PRAGMA cache_size = 50;
CREATE TEMP TABLE t(id INTEGER PRIMARY KEY, k TEXT, v INTEGER);
WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 300000)
INSERT INTO t SELECT i, printf('%08x-%d', (i * 2654435761) % 4294967296, i % 977),
	(i * 40503) % 65521 FROM c;
SELECT 'temporary table filled', count(*) FROM t;
CREATE INDEX t_k ON t(k);
UPDATE t SET v = v + length(k) WHERE id % 3 = 0;
CREATE INDEX t_v ON t(v, k);
SELECT k, v FROM t ORDER BY v DESC, k LIMIT 3;
SELECT count(*), sum(v), min(k), max(k) FROM t;
SELECT v % 7, count(*), sum(id) FROM t GROUP BY v % 7 ORDER BY 1;
