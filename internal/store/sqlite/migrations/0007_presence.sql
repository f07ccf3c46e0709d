-- What each hub node saw of each subscription's client (the agents page):
-- written every few seconds from memory, never once per request.
CREATE TABLE presence (
	subscription_id TEXT NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,
	node            TEXT NOT NULL,
	client          TEXT NOT NULL,
	address         TEXT NOT NULL,
	first_utc       INTEGER NOT NULL,
	last_utc        INTEGER NOT NULL,
	sockets         INTEGER NOT NULL,
	connected_utc   INTEGER NOT NULL, -- 0: no socket open
	updated_utc     INTEGER NOT NULL,
	PRIMARY KEY (subscription_id, node)
);
