-- Fewer pages per lifecycle. With writes that rarely meet in a group, each
-- commit writes every page it changed in full to the WAL, and a lifecycle
-- (create, Received, Processing, Processed) wrote about 25 of them
-- (TestLifecyclePages).
--
-- commands_active was keyed on a condition of state, so SQLite deleted and
-- inserted its entry again on every state change, Received and Processing
-- included, though the entry stayed the same. Its condition is now a column
-- of its own that changes only when a command starts or stops being
-- unfinished: the index is written when a command is created and when it
-- ends. unfinished = 1 exactly when state is Pending, Received or
-- Processing; the store's queries state "unfinished = 1" word for word.
ALTER TABLE commands ADD COLUMN unfinished INTEGER NOT NULL DEFAULT 0;
UPDATE commands SET unfinished = 1 WHERE state IN ('Pending', 'Received', 'Processing');
DROP INDEX commands_active;
CREATE INDEX commands_active ON commands (device_id, seq) WHERE unfinished = 1;

-- commands_creator took an entry for every command, at a random place among
-- the integrations, and serves one query only: a caller's own fiscal
-- commands (fiscalMachineCommands/getAll). It keeps fiscal commands only.
DROP INDEX commands_creator;
CREATE INDEX commands_creator ON commands (creator_integration_id, seq) WHERE device_type = 'FiscalMachine';
