-- Request counts of the rate limiter (Limiter), shared by every hub node.
-- Unlogged: counts are worth nothing after a crash, and skipping the WAL keeps
-- one more write per request cheap.
CREATE UNLOGGED TABLE rate_limits (
	key          text NOT NULL,
	window_start timestamptz NOT NULL,
	count        integer NOT NULL,
	PRIMARY KEY (key, window_start)
);
