-- What each hub node saw of each subscription's client (the agents page):
-- written every few seconds from memory, never once per request. Each node
-- writes its own rows; readers merge them.
CREATE TABLE presence (
	subscription_id text NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,
	node            text NOT NULL,
	client          text NOT NULL,
	address         text NOT NULL,
	first_utc       timestamptz NOT NULL,
	last_utc        timestamptz NOT NULL,
	sockets         integer NOT NULL,
	connected_utc   timestamptz,
	updated_utc     timestamptz NOT NULL,
	PRIMARY KEY (subscription_id, node)
);
