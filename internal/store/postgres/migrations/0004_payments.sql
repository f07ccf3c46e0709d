-- An update's ExternalRequestIdentifier, kept with the command (the last one)
-- and with the history entry it came with.
ALTER TABLE commands ADD COLUMN external_id text NOT NULL DEFAULT '';
ALTER TABLE command_history ADD COLUMN external_id text NOT NULL DEFAULT '';

-- The payment or preauthorization a PaymentTerminal command stands for,
-- written with the command and deleted with it.
CREATE TABLE payments (
	id                 text PRIMARY KEY,
	command_seq        bigint NOT NULL UNIQUE REFERENCES commands (seq) ON DELETE CASCADE,
	command_id         text NOT NULL,
	enterprise_id      text NOT NULL,
	kind               text NOT NULL,
	account_id         text NOT NULL,
	amount             json NOT NULL,
	bill_id            text NOT NULL,
	payment_request_id text NOT NULL,
	reservation_id     text NOT NULL,
	created            timestamptz NOT NULL
);
CREATE INDEX payments_enterprise ON payments (enterprise_id, command_seq);

-- Commands stored before fit the published Data shapes: a payment's Data
-- loses the Type member that shape has no place for, and a printer's empty
-- driver or port name becomes "default", as for new commands.
UPDATE commands SET data = (data::jsonb - 'Type')::json
	WHERE device_type = 'PaymentTerminal' AND json_typeof(data) = 'object' AND data::jsonb ? 'Type';
UPDATE commands SET data = jsonb_set(data::jsonb, '{PrinterDriverName}', '"default"')::json
	WHERE device_type = 'Printer' AND json_typeof(data) = 'object' AND data->>'PrinterDriverName' = '';
UPDATE commands SET data = jsonb_set(data::jsonb, '{PrinterPortName}', '"default"')::json
	WHERE device_type = 'Printer' AND json_typeof(data) = 'object' AND data->>'PrinterPortName' = '';
