-- Console users, their sessions (shared by every hub node), the audit list
-- of sign-ins and changes to users, and the time zone an enterprise's times
-- are shown in ('' = the browser's).

ALTER TABLE enterprises ADD COLUMN time_zone text NOT NULL DEFAULT '';

CREATE TABLE users (
	id            text PRIMARY KEY,
	name          text NOT NULL UNIQUE, -- canonical: trimmed, lower case
	role          text NOT NULL,
	password_hash text NOT NULL,
	created       timestamptz NOT NULL
);

-- user_id is NULL for a sign-in with an admin token; name and role are then
-- the token's.
CREATE TABLE sessions (
	id_hash text PRIMARY KEY,
	user_id text REFERENCES users (id) ON DELETE CASCADE,
	name    text NOT NULL,
	role    text NOT NULL,
	csrf    text NOT NULL,
	created timestamptz NOT NULL,
	expires timestamptz NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires);

CREATE TABLE audit (
	seq     bigserial PRIMARY KEY,
	utc     timestamptz NOT NULL,
	actor   text NOT NULL,
	action  text NOT NULL,
	subject text NOT NULL,
	detail  text NOT NULL,
	remote  text NOT NULL
);
