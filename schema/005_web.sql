-- authsvc web: sign-ins under way, signed-in sessions, and personal API
-- keys. Every secret here (the state of a sign-in, the cookie that binds it
-- to its browser, a session id, an API key) is kept as its SHA-256 only:
-- whoever reads the database learns nothing that signs anyone in. The
-- nonce and the PKCE verifier of a sign-in are derived from the browser's
-- cookie, so they are not kept at all.

-- A sign-in begun at /login, until /callback finishes it (or it is too
-- old): found by its state, used once.
CREATE TABLE web_sign_ins (
  state_hash   BLOB PRIMARY KEY CHECK (length(state_hash) = 32),
  browser_hash BLOB NOT NULL CHECK (length(browser_hash) = 32),
  next         TEXT NOT NULL,  -- the path inside the site to go on to
  created_at   TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX web_sign_ins_by_age ON web_sign_ins (created_at);

-- A signed-in browser: the verified address it acts as. Its idle and
-- absolute lifetimes are the web's settings, measured from last_seen_at
-- and created_at.
CREATE TABLE web_sessions (
  id_hash      BLOB PRIMARY KEY CHECK (length(id_hash) = 32),
  address      TEXT NOT NULL COLLATE NOCASE,
  created_at   TEXT NOT NULL,
  last_seen_at TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX web_sessions_by_address ON web_sessions (address);

-- A person's keys for scripts (the JSON API), each acting as that person.
-- A revoked key stays, revoked, so that the audit trail's key ids keep
-- their meaning.
CREATE TABLE api_keys (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  address      TEXT NOT NULL COLLATE NOCASE,
  label        TEXT NOT NULL,
  hash         BLOB NOT NULL UNIQUE CHECK (length(hash) = 32),
  created_at   TEXT NOT NULL,
  expires_at   TEXT,  -- NULL: never
  revoked_at   TEXT,
  last_used_at TEXT
);
CREATE INDEX api_keys_by_address ON api_keys (address);
