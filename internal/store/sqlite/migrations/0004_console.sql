-- Console users, their sessions (so that every process that opens this
-- database knows them), the audit list of sign-ins and changes to users,
-- and the time zone an enterprise's times are shown in ('' = the browser's).

ALTER TABLE enterprises ADD COLUMN time_zone TEXT NOT NULL DEFAULT '';

CREATE TABLE users (
	id            TEXT PRIMARY KEY,
	name          TEXT NOT NULL UNIQUE, -- canonical: trimmed, lower case
	role          TEXT NOT NULL,
	password_hash TEXT NOT NULL,
	created       INTEGER NOT NULL
);

-- user_id is NULL for a sign-in with an admin token; name and role are then
-- the token's.
CREATE TABLE sessions (
	id_hash TEXT PRIMARY KEY,
	user_id TEXT REFERENCES users (id) ON DELETE CASCADE,
	name    TEXT NOT NULL,
	role    TEXT NOT NULL,
	csrf    TEXT NOT NULL,
	created INTEGER NOT NULL,
	expires INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires);

CREATE TABLE audit (
	seq     INTEGER PRIMARY KEY AUTOINCREMENT,
	utc     INTEGER NOT NULL,
	actor   TEXT NOT NULL,
	action  TEXT NOT NULL,
	subject TEXT NOT NULL,
	detail  TEXT NOT NULL,
	remote  TEXT NOT NULL
);
