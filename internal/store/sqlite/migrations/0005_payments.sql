-- An update's ExternalRequestIdentifier, kept with the command (the last one)
-- and with the history entry it came with.
ALTER TABLE commands ADD COLUMN external_id TEXT NOT NULL DEFAULT '';
ALTER TABLE command_history ADD COLUMN external_id TEXT NOT NULL DEFAULT '';

-- The payment or preauthorization a PaymentTerminal command stands for,
-- written with the command and deleted with it.
CREATE TABLE payments (
	id                 TEXT PRIMARY KEY,
	command_seq        INTEGER NOT NULL UNIQUE REFERENCES commands (seq) ON DELETE CASCADE,
	command_id         TEXT NOT NULL,
	enterprise_id      TEXT NOT NULL,
	kind               TEXT NOT NULL,
	account_id         TEXT NOT NULL,
	amount             TEXT NOT NULL, -- JSON of bellhop.ExtendedAmount
	bill_id            TEXT NOT NULL,
	payment_request_id TEXT NOT NULL,
	reservation_id     TEXT NOT NULL,
	created            INTEGER NOT NULL
);
CREATE INDEX payments_enterprise ON payments (enterprise_id, created);
