-- An authsvc store at schema version 2, made by tests/data/make_schema_fixtures.py
-- with schema/001_users.sql, schema/002_audit_events.sql.
-- Do not edit: run the script. The tokens whose hashes it holds are the
-- script's test-only strings.
PRAGMA user_version = 2;
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
CREATE TABLE audit_events (
  id       INTEGER PRIMARY KEY AUTOINCREMENT,
  ts       TEXT NOT NULL,  -- RFC 3339, UTC, microseconds
  actor    TEXT NOT NULL,  -- 'cli'
  operator TEXT NOT NULL,  -- the OS account that ran the command
  action   TEXT NOT NULL,  -- 'user add', 'user rotate', ...
  user     TEXT NOT NULL,
  detail   TEXT NOT NULL
);
CREATE TABLE audit_export (
  id            INTEGER PRIMARY KEY CHECK (id = 1),
  last_event_id INTEGER NOT NULL
);
INSERT INTO "users" VALUES(1,'alice','alice@example.org','management monitoring','active',X'7BB09AAA263AB524E5C6062F2794E788A08CBF09DB851097AD254E74A7D4FE63','2024-01-10T09:00:00.000000Z','2024-03-01T12:00:00.000000Z','2024-03-01T12:00:00.000000Z');
INSERT INTO "users" VALUES(2,'bob','','','disabled',X'29FD75A8EB48C0ABA28D4BFB431A291ADB58800AC6D8D8FF048C70B81FC791B9','2024-01-10T09:05:00.000000Z','2024-02-01T08:00:00.000000Z','2024-01-10T09:05:00.000000Z');
INSERT INTO "users" VALUES(3,'carol','carol@example.org','monitoring','active',X'567CCC442F1CF1376378138CA88A27F4D1F13814B066DEE751A0FACBE240C5B9','2024-01-11T10:00:00.000000Z','2024-01-11T10:00:00.000000Z','2024-01-11T10:00:00.000000Z');
INSERT INTO "user_vhosts" VALUES(1,'/');
INSERT INTO "user_vhosts" VALUES(1,'staging');
INSERT INTO "user_vhosts" VALUES(2,'/');
INSERT INTO "user_vhosts" VALUES(3,'/');
INSERT INTO "user_vhosts" VALUES(3,'v2');
INSERT INTO "audit_events" VALUES(1,'2024-01-10T09:00:00.000000Z','cli','root','user add','alice','email=''alice@example.org'' tags=''management monitoring'' vhosts=''/ staging''');
INSERT INTO "audit_events" VALUES(2,'2024-01-10T09:05:00.000000Z','cli','root','user add','bob','email='''' tags='''' vhosts=''/''');
INSERT INTO "audit_events" VALUES(3,'2024-01-10T09:06:00.000000Z','cli','root','user add','dave','email='''' tags='''' vhosts=''/''');
INSERT INTO "audit_events" VALUES(4,'2024-01-11T10:00:00.000000Z','cli','root','user add','carol','email=''carol@example.org'' tags=''monitoring'' vhosts=''/ v2''');
INSERT INTO "audit_events" VALUES(5,'2024-01-12T11:00:00.000000Z','cli','root','user delete','dave','');
INSERT INTO "audit_events" VALUES(6,'2024-02-01T08:00:00.000000Z','cli','root','user disable','bob','');
INSERT INTO "audit_events" VALUES(7,'2024-03-01T12:00:00.000000Z','cli','root','user rotate','alice','new token issued; the old one no longer logs in');
INSERT INTO "audit_export" VALUES(1,4);
INSERT INTO sqlite_sequence VALUES('audit_events',7);
COMMIT;
