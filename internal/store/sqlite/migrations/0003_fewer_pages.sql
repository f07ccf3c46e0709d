-- Fewer pages per state change: each commit writes every page its writes
-- touched, and a lifecycle (create, Received, Processing, Processed) wrote 28.

-- (state, updated) moved an entry on every state change. What used it: the
-- expiry sweep, which looks at unfinished commands only (commands_active
-- serves it), and the purge of finished ones, which gets an index of
-- finished commands by time, written once per command. The condition must
-- stay the same text as in the store's queries.
DROP INDEX commands_state_updated;
CREATE INDEX commands_final ON commands (updated) WHERE state IN ('Processed', 'Cancelled', 'Error');

-- History rows keyed by command: one B-tree instead of a table and an
-- index, so an entry writes one page, not two. n counts a command's
-- entries from 1, in the order they were made.
CREATE TABLE command_history_new (
	command_seq INTEGER NOT NULL REFERENCES commands (seq) ON DELETE CASCADE,
	n           INTEGER NOT NULL,
	state       TEXT NOT NULL,
	utc         INTEGER NOT NULL,
	actor       TEXT NOT NULL,
	progress    REAL,
	notes       TEXT NOT NULL,
	PRIMARY KEY (command_seq, n)
) WITHOUT ROWID;
INSERT INTO command_history_new (command_seq, n, state, utc, actor, progress, notes)
	SELECT command_seq, row_number() OVER (PARTITION BY command_seq ORDER BY id), state, utc, actor, progress, notes
	FROM command_history;
DROP TABLE command_history;
ALTER TABLE command_history_new RENAME TO command_history;
