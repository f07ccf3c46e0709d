-- Ids are the hub's text UUIDs.

CREATE TABLE enterprises (
	id      text PRIMARY KEY,
	name    text NOT NULL,
	created timestamptz NOT NULL
);

CREATE TABLE integrations (
	id                text PRIMARY KEY,
	name              text NOT NULL,
	client_token_hash text NOT NULL UNIQUE,
	created           timestamptz NOT NULL
);

CREATE TABLE subscriptions (
	id                text PRIMARY KEY,
	integration_id    text NOT NULL REFERENCES integrations (id),
	access_token_hash text NOT NULL UNIQUE,
	created           timestamptz NOT NULL,
	revoked           boolean NOT NULL DEFAULT false
);
CREATE INDEX subscriptions_integration ON subscriptions (integration_id, created);

-- The enterprises a subscription covers, in the order they were given.
CREATE TABLE subscription_enterprises (
	subscription_id text NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,
	enterprise_id   text NOT NULL REFERENCES enterprises (id),
	position        integer NOT NULL,
	PRIMARY KEY (subscription_id, enterprise_id)
);

CREATE TABLE admin_tokens (
	token_hash text PRIMARY KEY,
	name       text NOT NULL UNIQUE
);

CREATE TABLE devices (
	id            text PRIMARY KEY,
	enterprise_id text NOT NULL REFERENCES enterprises (id),
	type          text NOT NULL,
	name          text NOT NULL,
	identifier    text NOT NULL,
	config        json NOT NULL, -- bellhop.DeviceConfig
	created       timestamptz NOT NULL
);
CREATE INDEX devices_enterprise ON devices (enterprise_id, name);

CREATE TABLE connections (
	subscription_id text NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,
	device_id       text NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
	PRIMARY KEY (subscription_id, device_id)
);
CREATE INDEX connections_device ON connections (device_id);

CREATE TABLE reservations (
	id            text PRIMARY KEY,
	enterprise_id text NOT NULL REFERENCES enterprises (id),
	number        text NOT NULL,
	start_utc     timestamptz NOT NULL,
	end_utc       timestamptz NOT NULL,
	first_name    text NOT NULL,
	last_name     text NOT NULL,
	email         text NOT NULL,
	telephone     text NOT NULL,
	lock_ids      text[] NOT NULL
);

CREATE TABLE customers (
	id            text PRIMARY KEY,
	enterprise_id text NOT NULL REFERENCES enterprises (id),
	first_name    text NOT NULL,
	last_name     text NOT NULL,
	company_name  text NOT NULL,
	email         text NOT NULL
);

-- Commands keep no foreign keys: they outlive their device (DeleteDevice).
-- An identity never reuses a seq after Purge, so paging
-- cursors stay valid.
CREATE TABLE commands (
	seq                    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	id                     text NOT NULL UNIQUE,
	enterprise_id          text NOT NULL,
	device_id              text NOT NULL,
	device_type            text NOT NULL,
	state                  text NOT NULL,
	created                timestamptz NOT NULL,
	updated                timestamptz NOT NULL,
	creator_integration_id text NOT NULL,
	creator_first_name     text NOT NULL,
	creator_last_name      text NOT NULL,
	data                   json, -- verbatim: json keeps the text as given
	progress               double precision,
	notes                  text NOT NULL
);
CREATE INDEX commands_device_state ON commands (device_id, state, seq);
CREATE INDEX commands_state_updated ON commands (state, updated);
CREATE INDEX commands_creator ON commands (creator_integration_id, seq);
CREATE INDEX commands_enterprise ON commands (enterprise_id, seq);

CREATE TABLE command_history (
	id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	command_seq bigint NOT NULL REFERENCES commands (seq) ON DELETE CASCADE,
	state       text NOT NULL,
	utc         timestamptz NOT NULL,
	actor       text NOT NULL,
	progress    double precision,
	notes       text NOT NULL
);
CREATE INDEX command_history_command ON command_history (command_seq, id);

CREATE TABLE idempotency_keys (
	scope        text NOT NULL,
	key          text NOT NULL,
	request_hash text NOT NULL,
	command_id   text NOT NULL,
	created      timestamptz NOT NULL,
	PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created);
