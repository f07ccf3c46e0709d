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
CREATE INDEX payments_enterprise ON payments (enterprise_id, command_seq);

-- Commands stored before fit the published Data shapes: a payment's Data
-- loses the Type member that shape has no place for, and a printer's empty
-- driver or port name becomes "default", as for new commands.
UPDATE command_data SET data = json_remove(CAST(data AS TEXT), '$.Type')
	WHERE command_seq IN (SELECT seq FROM commands WHERE device_type = 'PaymentTerminal')
	AND json_valid(CAST(data AS TEXT)) AND json_type(CAST(data AS TEXT), '$.Type') IS NOT NULL;
UPDATE command_data SET data = json_set(CAST(data AS TEXT), '$.PrinterDriverName', 'default')
	WHERE command_seq IN (SELECT seq FROM commands WHERE device_type = 'Printer')
	AND json_valid(CAST(data AS TEXT)) AND json_extract(CAST(data AS TEXT), '$.PrinterDriverName') = '';
UPDATE command_data SET data = json_set(CAST(data AS TEXT), '$.PrinterPortName', 'default')
	WHERE command_seq IN (SELECT seq FROM commands WHERE device_type = 'Printer')
	AND json_valid(CAST(data AS TEXT)) AND json_extract(CAST(data AS TEXT), '$.PrinterPortName') = '';
