-- Keep a command's hot row small and its indexes local, so that the many
-- small writes of a busy hub touch few pages.
--
-- The payload moves to a table of its own: it is written once, while the
-- state changes three or four times, and SQLite rewrites a whole row (with
-- its overflow pages: a PDF is up to 1 MB) on every UPDATE.
CREATE TABLE command_data (
	command_seq INTEGER PRIMARY KEY REFERENCES commands (seq) ON DELETE CASCADE,
	data        BLOB NOT NULL -- JSON, verbatim
);
INSERT INTO command_data (command_seq, data) SELECT seq, data FROM commands WHERE data IS NOT NULL;
ALTER TABLE commands DROP COLUMN data;

-- (device_id, state, seq) moved an entry on every state change, each at a
-- random place among all the devices' commands. Its work is split:
-- commands_device is written once per command, commands_active holds only
-- unfinished commands (a small index that stays in a few hot pages), and
-- commands_processed answers "last processed" per device. The active-state
-- list must stay the same text as in the store's queries, or SQLite will not
-- use the index.
DROP INDEX commands_device_state;
CREATE INDEX commands_device ON commands (device_id, seq);
CREATE INDEX commands_active ON commands (device_id, seq) WHERE state IN ('Pending', 'Received', 'Processing');
CREATE INDEX commands_processed ON commands (device_id, updated) WHERE state = 'Processed';
