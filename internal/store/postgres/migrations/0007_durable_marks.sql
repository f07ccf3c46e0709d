-- A commit that notifies runs with synchronous_commit off, so that it does
-- not hold PostgreSQL's notify lock while its WAL is flushed; the store then
-- waits for the flush by updating one of these rows in a transaction of its
-- own, which commits as the server's synchronous_commit says (see
-- flushSQL). A transaction that writes no WAL, such as SELECT txid_current(),
-- is never waited for. 64 rows, so that concurrent connections seldom wait
-- for one another's row; the updates are HOT and pruned in place.
CREATE TABLE durable_marks (
	slot integer PRIMARY KEY,
	n    bigint NOT NULL
);
INSERT INTO durable_marks (slot, n) SELECT g, 0 FROM generate_series(0, 63) AS g;
