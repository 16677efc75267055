-- Accounts that live like credentials: several owners, a previous
-- credential valid during a rotation's grace, passwords imported from
-- RabbitMQ, and an expiry.
-- PostgreSQL's twin of schema/004_accounts.sql (README.md here).

-- SQLite's NOCASE, which the addresses compare with: equal without regard
-- to case. A nondeterministic ICU collation at strength 2 ignores case (and
-- width, which ASCII addresses never differ in: validation.cc); named
-- nocase, so that the store's `COLLATE NOCASE` (folded to nocase) and a
-- plain `address = ?` on these columns compare the same way in both
-- databases, and their primary keys and indexes are case-blind too.
-- PostgreSQL 15 refuses LIKE and regular expressions on such a column, and
-- orders it as ICU does, which need not be SQLite's order.
CREATE COLLATION nocase (provider = icu, locale = 'und-u-ks-level2', deterministic = false);

-- The people answerable for an account, by e-mail address. The address
-- keeps the case it was given in; NOCASE makes "Alice@X" and "alice@x" one
-- owner (addresses are ASCII: validation.cc).
CREATE TABLE user_owners (
  user_id  BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  address  TEXT NOT NULL COLLATE nocase,
  added_at TEXT NOT NULL,
  PRIMARY KEY (user_id, address)
);
CREATE INDEX user_owners_by_address ON user_owners (address);

-- An account's one address becomes its first owner.
INSERT INTO user_owners (user_id, address, added_at)
  SELECT id, email, updated_at FROM users WHERE email <> '';
ALTER TABLE users DROP COLUMN email;

-- What an account logs in with: its current credential, and during a
-- rotation's grace the previous one (valid_until its end). A token is stored
-- as its SHA-256; a password imported from RabbitMQ in RabbitMQ's own form,
-- a 4-byte salt and the digest of salt + password.
CREATE TABLE credentials (
  user_id     BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  slot        TEXT NOT NULL CHECK (slot IN ('current', 'previous')),
  scheme      TEXT NOT NULL CHECK (scheme IN ('token', 'rabbit_password_hashing_sha256',
                                              'rabbit_password_hashing_sha512',
                                              'rabbit_password_hashing_md5')),
  hash        BYTEA NOT NULL CHECK (octet_length(hash) = CASE scheme
                                      WHEN 'token' THEN 32
                                      WHEN 'rabbit_password_hashing_sha256' THEN 36
                                      WHEN 'rabbit_password_hashing_sha512' THEN 68
                                      WHEN 'rabbit_password_hashing_md5' THEN 20 END),
  issued_at   TEXT,  -- RFC 3339; NULL for an imported password (older than authsvc)
  valid_until TEXT CHECK ((slot = 'current') = (valid_until IS NULL)),
  PRIMARY KEY (user_id, slot)
);

INSERT INTO credentials (user_id, slot, scheme, hash, issued_at, valid_until)
  SELECT id, 'current', 'token', token_hash, token_rotated_at, NULL FROM users;
ALTER TABLE users DROP COLUMN token_hash;
ALTER TABLE users DROP COLUMN token_rotated_at;

-- When the account stops working (RFC 3339; NULL never), and the lead in
-- seconds of the latest expiry notice sent for that time (NULL none yet):
-- each notice goes once, across restarts, and a new expiry starts over.
ALTER TABLE users ADD COLUMN expires_at TEXT;
ALTER TABLE users ADD COLUMN expiry_notice_lead BIGINT;
