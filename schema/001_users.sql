-- Users, their hashed tokens and the vhosts they may use.
CREATE TABLE users (
  id               INTEGER PRIMARY KEY,
  name             TEXT NOT NULL UNIQUE,
  email            TEXT NOT NULL DEFAULT '',
  tags             TEXT NOT NULL DEFAULT '',  -- space-separated, as sent to the broker
  status           TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
  token_hash       BLOB NOT NULL CHECK (length(token_hash) = 32),  -- SHA-256 of the token
  created_at       TEXT NOT NULL,  -- RFC 3339, UTC
  updated_at       TEXT NOT NULL,
  token_rotated_at TEXT NOT NULL
);

CREATE TABLE user_vhosts (
  user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  vhost   TEXT NOT NULL,
  PRIMARY KEY (user_id, vhost)
) WITHOUT ROWID;
