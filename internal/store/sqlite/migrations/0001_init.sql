-- Times are unix milliseconds (UTC). Ids are the hub's text UUIDs.

CREATE TABLE enterprises (
	id      TEXT PRIMARY KEY,
	name    TEXT NOT NULL,
	created INTEGER NOT NULL
);

CREATE TABLE integrations (
	id                TEXT PRIMARY KEY,
	name              TEXT NOT NULL,
	client_token_hash TEXT NOT NULL UNIQUE,
	created           INTEGER NOT NULL
);

CREATE TABLE subscriptions (
	id                TEXT PRIMARY KEY,
	integration_id    TEXT NOT NULL REFERENCES integrations (id),
	access_token_hash TEXT NOT NULL UNIQUE,
	created           INTEGER NOT NULL,
	revoked           INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX subscriptions_integration ON subscriptions (integration_id, created);

-- The enterprises a subscription covers, in the order they were given.
CREATE TABLE subscription_enterprises (
	subscription_id TEXT NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,
	enterprise_id   TEXT NOT NULL REFERENCES enterprises (id),
	position        INTEGER NOT NULL,
	PRIMARY KEY (subscription_id, enterprise_id)
) WITHOUT ROWID;

CREATE TABLE admin_tokens (
	token_hash TEXT PRIMARY KEY,
	name       TEXT NOT NULL UNIQUE
) WITHOUT ROWID;

CREATE TABLE devices (
	id            TEXT PRIMARY KEY,
	enterprise_id TEXT NOT NULL REFERENCES enterprises (id),
	type          TEXT NOT NULL,
	name          TEXT NOT NULL,
	identifier    TEXT NOT NULL,
	config        TEXT NOT NULL, -- JSON of bellhop.DeviceConfig
	created       INTEGER NOT NULL
);
CREATE INDEX devices_enterprise ON devices (enterprise_id, name);

CREATE TABLE connections (
	subscription_id TEXT NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,
	device_id       TEXT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
	PRIMARY KEY (subscription_id, device_id)
) WITHOUT ROWID;
CREATE INDEX connections_device ON connections (device_id);

CREATE TABLE reservations (
	id            TEXT PRIMARY KEY,
	enterprise_id TEXT NOT NULL REFERENCES enterprises (id),
	number        TEXT NOT NULL,
	start_utc     INTEGER NOT NULL,
	end_utc       INTEGER NOT NULL,
	first_name    TEXT NOT NULL,
	last_name     TEXT NOT NULL,
	email         TEXT NOT NULL,
	telephone     TEXT NOT NULL,
	lock_ids      TEXT NOT NULL -- JSON array of strings
);

CREATE TABLE customers (
	id            TEXT PRIMARY KEY,
	enterprise_id TEXT NOT NULL REFERENCES enterprises (id),
	first_name    TEXT NOT NULL,
	last_name     TEXT NOT NULL,
	company_name  TEXT NOT NULL,
	email         TEXT NOT NULL
);

-- Commands keep no foreign keys: they outlive their device (DeleteDevice).
-- AUTOINCREMENT keeps seq from ever being reused after Purge, so paging
-- cursors stay valid.
CREATE TABLE commands (
	seq                    INTEGER PRIMARY KEY AUTOINCREMENT,
	id                     TEXT NOT NULL UNIQUE,
	enterprise_id          TEXT NOT NULL,
	device_id              TEXT NOT NULL,
	device_type            TEXT NOT NULL,
	state                  TEXT NOT NULL,
	created                INTEGER NOT NULL,
	updated                INTEGER NOT NULL,
	creator_integration_id TEXT NOT NULL,
	creator_first_name     TEXT NOT NULL,
	creator_last_name      TEXT NOT NULL,
	data                   BLOB, -- JSON, verbatim
	progress               REAL,
	notes                  TEXT NOT NULL
);
CREATE INDEX commands_device_state ON commands (device_id, state, seq);
CREATE INDEX commands_state_updated ON commands (state, updated);
CREATE INDEX commands_creator ON commands (creator_integration_id, seq);
CREATE INDEX commands_enterprise ON commands (enterprise_id, seq);

CREATE TABLE command_history (
	id          INTEGER PRIMARY KEY,
	command_seq INTEGER NOT NULL REFERENCES commands (seq) ON DELETE CASCADE,
	state       TEXT NOT NULL,
	utc         INTEGER NOT NULL,
	actor       TEXT NOT NULL,
	progress    REAL,
	notes       TEXT NOT NULL
);
CREATE INDEX command_history_command ON command_history (command_seq, id);

CREATE TABLE idempotency_keys (
	scope        TEXT NOT NULL,
	key          TEXT NOT NULL,
	request_hash TEXT NOT NULL,
	command_id   TEXT NOT NULL,
	created      INTEGER NOT NULL,
	PRIMARY KEY (scope, key)
) WITHOUT ROWID;
CREATE INDEX idempotency_keys_created ON idempotency_keys (created);
