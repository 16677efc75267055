-- An authsvc store at schema version 1, made by tests/data/make_schema_fixtures.py
-- with schema/001_users.sql.
-- Do not edit: run the script. The tokens whose hashes it holds are the
-- script's test-only strings.
PRAGMA user_version = 1;
BEGIN TRANSACTION;
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
INSERT INTO "users" VALUES(1,'alice','alice@example.org','management monitoring','active',X'7BB09AAA263AB524E5C6062F2794E788A08CBF09DB851097AD254E74A7D4FE63','2024-01-10T09:00:00.000000Z','2024-03-01T12:00:00.000000Z','2024-03-01T12:00:00.000000Z');
INSERT INTO "users" VALUES(2,'bob','','','disabled',X'29FD75A8EB48C0ABA28D4BFB431A291ADB58800AC6D8D8FF048C70B81FC791B9','2024-01-10T09:05:00.000000Z','2024-02-01T08:00:00.000000Z','2024-01-10T09:05:00.000000Z');
INSERT INTO "users" VALUES(3,'carol','carol@example.org','monitoring','active',X'567CCC442F1CF1376378138CA88A27F4D1F13814B066DEE751A0FACBE240C5B9','2024-01-11T10:00:00.000000Z','2024-01-11T10:00:00.000000Z','2024-01-11T10:00:00.000000Z');
INSERT INTO "user_vhosts" VALUES(1,'/');
INSERT INTO "user_vhosts" VALUES(1,'staging');
INSERT INTO "user_vhosts" VALUES(2,'/');
INSERT INTO "user_vhosts" VALUES(3,'/');
INSERT INTO "user_vhosts" VALUES(3,'v2');
COMMIT;
