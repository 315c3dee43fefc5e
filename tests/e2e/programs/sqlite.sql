-- One long transaction: a small page cache makes it spill pages to the
-- database and its journal while the transaction is open, and the index
-- build sorts through unlinked temporary files.
PRAGMA cache_size = 100;
PRAGMA temp_store = FILE;
CREATE TABLE t(id INTEGER PRIMARY KEY, k TEXT, v INTEGER);
BEGIN;
SELECT 'transaction open';
WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 400000)
INSERT INTO t SELECT i, printf('%08x-%d', (i * 2654435761) % 4294967296, i % 977),
	(i * 40503) % 65521 FROM c;
CREATE INDEX t_k ON t(k);
UPDATE t SET v = v + length(k) WHERE id % 3 = 0;
SELECT 'inserted', count(*) FROM t;
COMMIT;
PRAGMA integrity_check;
SELECT count(*), sum(v), min(k), max(k) FROM t;
.sha3sum
