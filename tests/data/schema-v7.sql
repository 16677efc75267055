-- An authsvc store at schema version 7, made by tests/data/make_schema_fixtures.py
-- with schema/001_users.sql, schema/002_audit_events.sql, schema/003_guardian.sql, schema/004_accounts.sql, schema/005_web.sql, schema/006_audit_by_user.sql, schema/007_exchange_samples.sql.
-- Do not edit: run the script. The tokens whose hashes it holds are the
-- script's test-only strings.
PRAGMA user_version = 7;
BEGIN TRANSACTION;
CREATE TABLE users (
  id               INTEGER PRIMARY KEY,
  name             TEXT NOT NULL UNIQUE,
  tags             TEXT NOT NULL DEFAULT '',  -- space-separated, as sent to the broker
  status           TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
  created_at       TEXT NOT NULL,  -- RFC 3339, UTC
  updated_at       TEXT NOT NULL,
  queue_warn INTEGER CHECK (queue_warn IS NULL OR queue_warn > 0), queue_delete INTEGER CHECK (queue_delete IS NULL OR queue_delete > 0), expires_at TEXT, expiry_notice_lead INTEGER);
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
CREATE TABLE queue_exemptions (
  vhost      TEXT NOT NULL,
  name       TEXT NOT NULL,
  created_at TEXT NOT NULL,
  operator   TEXT NOT NULL,
  PRIMARY KEY (vhost, name)
) WITHOUT ROWID;
CREATE TABLE queue_notices (
  vhost    TEXT NOT NULL,
  name     TEXT NOT NULL,
  owner    TEXT NOT NULL,
  state    TEXT NOT NULL CHECK (state IN ('warned', 'deleting')),
  messages INTEGER NOT NULL,  -- when the state was entered
  since    TEXT NOT NULL,
  PRIMARY KEY (vhost, name)
) WITHOUT ROWID;
CREATE TABLE exchange_notices (
  vhost   TEXT NOT NULL,
  name    TEXT NOT NULL,
  owner   TEXT NOT NULL,
  problem TEXT NOT NULL,
  since   TEXT NOT NULL,
  PRIMARY KEY (vhost, name)
) WITHOUT ROWID;
CREATE TABLE outbox (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  created_at TEXT NOT NULL,
  recipient  TEXT NOT NULL,
  subject    TEXT NOT NULL,
  body       TEXT NOT NULL,
  attempts   INTEGER NOT NULL DEFAULT 0,
  last_error TEXT NOT NULL DEFAULT ''
);
CREATE TABLE user_owners (
  user_id  INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  address  TEXT NOT NULL COLLATE NOCASE,
  added_at TEXT NOT NULL,
  PRIMARY KEY (user_id, address)
) WITHOUT ROWID;
CREATE INDEX user_owners_by_address ON user_owners (address);
CREATE TABLE credentials (
  user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  slot        TEXT NOT NULL CHECK (slot IN ('current', 'previous')),
  scheme      TEXT NOT NULL CHECK (scheme IN ('token', 'rabbit_password_hashing_sha256',
                                              'rabbit_password_hashing_sha512',
                                              'rabbit_password_hashing_md5')),
  hash        BLOB NOT NULL CHECK (length(hash) = CASE scheme
                                     WHEN 'token' THEN 32
                                     WHEN 'rabbit_password_hashing_sha256' THEN 36
                                     WHEN 'rabbit_password_hashing_sha512' THEN 68
                                     WHEN 'rabbit_password_hashing_md5' THEN 20 END),
  issued_at   TEXT,  -- RFC 3339; NULL for an imported password (older than authsvc)
  valid_until TEXT CHECK ((slot = 'current') = (valid_until IS NULL)),
  PRIMARY KEY (user_id, slot)
) WITHOUT ROWID;
CREATE TABLE web_sign_ins (
  state_hash   BLOB PRIMARY KEY CHECK (length(state_hash) = 32),
  browser_hash BLOB NOT NULL CHECK (length(browser_hash) = 32),
  next         TEXT NOT NULL,  -- the path inside the site to go on to
  created_at   TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX web_sign_ins_by_age ON web_sign_ins (created_at);
CREATE TABLE web_sessions (
  id_hash      BLOB PRIMARY KEY CHECK (length(id_hash) = 32),
  address      TEXT NOT NULL COLLATE NOCASE,
  created_at   TEXT NOT NULL,
  last_seen_at TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX web_sessions_by_address ON web_sessions (address);
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
CREATE INDEX audit_events_by_user ON audit_events (user, action);
CREATE TABLE exchange_samples (
  vhost                  TEXT NOT NULL,
  name                   TEXT NOT NULL,
  inspected              INTEGER NOT NULL CHECK (inspected > 0),
  first_seen_at          TEXT NOT NULL,
  last_seen_at           TEXT NOT NULL,
  -- The last message inspected; of its payload, the first bytes only.
  routing_key            BLOB NOT NULL,
  content_type           BLOB,     -- NULL: none set
  delivery_mode          INTEGER,  -- NULL: none set
  size                   INTEGER NOT NULL CHECK (size >= 0),  -- the whole payload's
  payload                BLOB NOT NULL,
  -- The top-level keys of the JSON objects seen, as a JSON array of
  -- strings (the first 64), and the fewest and most dot-separated fields
  -- a routing key had.
  json_keys              TEXT NOT NULL,
  routing_key_fields_min INTEGER NOT NULL,
  routing_key_fields_max INTEGER NOT NULL,
  PRIMARY KEY (vhost, name)
) WITHOUT ROWID;
CREATE TABLE exchange_violations (
  vhost         TEXT NOT NULL,
  name          TEXT NOT NULL,
  kind          TEXT NOT NULL CHECK (kind IN ('not-utf8', 'not-json', 'content-type', 'oversize',
                                              'transient', 'no-routing-key')),
  count         INTEGER NOT NULL CHECK (count > 0),
  last_at       TEXT NOT NULL,
  routing_key   BLOB NOT NULL,
  content_type  BLOB,
  delivery_mode INTEGER,
  size          INTEGER NOT NULL CHECK (size >= 0),
  payload       BLOB NOT NULL,
  mailed_at     TEXT,
  mailed_count  INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (vhost, name, kind)
) WITHOUT ROWID;
INSERT INTO "users" VALUES(1,'alice','management monitoring','active','2024-01-10T09:00:00.000000Z','2024-03-01T12:00:00.000000Z',100,500,NULL,NULL);
INSERT INTO "users" VALUES(2,'bob','','disabled','2024-01-10T09:05:00.000000Z','2024-02-01T08:00:00.000000Z',NULL,NULL,NULL,NULL);
INSERT INTO "users" VALUES(3,'carol','monitoring','active','2024-01-11T10:00:00.000000Z','2024-01-11T10:00:00.000000Z',NULL,2000,'2030-01-01T00:00:00.000000Z',604800);
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
INSERT INTO "audit_events" VALUES(8,'2024-03-02T09:00:00.000000Z','cli','root','user set','alice','queue_warn=100 queue_delete=500');
INSERT INTO "audit_events" VALUES(9,'2024-03-02T09:01:00.000000Z','cli','root','user set','carol','queue_warn=default queue_delete=2000');
INSERT INTO "audit_events" VALUES(10,'2024-03-02T09:02:00.000000Z','cli','root','queue exempt','alice','vhost=''/'' queue=''queue/alice/archive''');
INSERT INTO "audit_events" VALUES(11,'2024-04-01T09:00:00.000000Z','cli','root','user owner add','alice','owner=''Team@Example.org''');
INSERT INTO "audit_events" VALUES(12,'2024-04-01T09:01:00.000000Z','cli','root','user set','carol','expires=2030-01-01T00:00:00.000000Z');
INSERT INTO "audit_export" VALUES(1,4);
INSERT INTO "queue_exemptions" VALUES('/','queue/alice/archive','2024-03-02T09:02:00.000000Z','root');
INSERT INTO "queue_notices" VALUES('/','queue/carol/jobs','carol','warned',1500,'2024-03-03T10:00:00.000000Z');
INSERT INTO "queue_notices" VALUES('staging','queue/alice/big','alice','deleting',9000,'2024-03-03T11:00:00.000000Z');
INSERT INTO "exchange_notices" VALUES('/','exchange/bob/fan','bob','its type is fanout, not topic','2024-03-03T12:00:00.000000Z');
INSERT INTO "outbox" VALUES(2,'2024-03-03T10:00:01.000000Z','carol@example.org','queue/carol/jobs holds 1500 messages','Dear owner,
queue/carol/jobs holds 1500 messages.
',0,'');
INSERT INTO "outbox" VALUES(3,'2024-03-03T11:00:00.000000Z','alice@example.org','queue/alice/big is being deleted','Dear owner,
queue/alice/big is being deleted.
',2,'connection refused');
INSERT INTO "user_owners" VALUES(1,'alice@example.org','2024-03-01T12:00:00.000000Z');
INSERT INTO "user_owners" VALUES(1,'Team@Example.org','2024-04-01T09:00:00.000000Z');
INSERT INTO "user_owners" VALUES(3,'carol@example.org','2024-01-11T10:00:00.000000Z');
INSERT INTO "credentials" VALUES(1,'current','token',X'7BB09AAA263AB524E5C6062F2794E788A08CBF09DB851097AD254E74A7D4FE63','2024-03-01T12:00:00.000000Z',NULL);
INSERT INTO "credentials" VALUES(2,'current','token',X'29FD75A8EB48C0ABA28D4BFB431A291ADB58800AC6D8D8FF048C70B81FC791B9','2024-01-10T09:05:00.000000Z',NULL);
INSERT INTO "credentials" VALUES(3,'current','token',X'567CCC442F1CF1376378138CA88A27F4D1F13814B066DEE751A0FACBE240C5B9','2024-01-11T10:00:00.000000Z',NULL);
INSERT INTO "web_sessions" VALUES(X'B1363393350713E555F8A12581C793AD4DA8A901D493FBA7C8EB906875FC36B7','alice@example.org','2024-05-01T08:59:00.000000Z','2024-05-01T09:00:00.000000Z');
INSERT INTO "api_keys" VALUES(1,'alice@example.org','nightly',X'9F5A5494CE08B80D24CB65092A8D6EB90F6C32F4D6CED81F8755AE6F356FC0FD','2024-05-01T09:01:00.000000Z',NULL,NULL,NULL);
INSERT INTO "api_keys" VALUES(2,'alice@example.org','old',X'7E030C60395E0D3CC41AD979CFD5BB01B6CA8A2D781B98BF8DC2D5902B34A8E5','2024-05-01T09:01:00.000000Z','2024-06-01T00:00:00.000000Z','2024-05-02T00:00:00.000000Z',NULL);
INSERT INTO "exchange_samples" VALUES('/','exchange/bob/builds',2,'2024-07-01T10:00:00.000000Z','2024-07-01T10:01:00.000000Z',X'6275696C642E6C696E75782E6F7074',X'6170706C69636174696F6E2F6A736F6E',2,13,X'7B226964223A2034317D0A0920','["id"]',2,3);
INSERT INTO "exchange_violations" VALUES('/','exchange/bob/builds','not-json',1,'2024-07-01T10:00:00.000000Z',X'6275696C642E78',NULL,1,4,X'FF006162','2024-07-01T10:05:00.000000Z',1);
INSERT INTO sqlite_sequence VALUES('api_keys',2);
INSERT INTO sqlite_sequence VALUES('audit_events',12);
INSERT INTO sqlite_sequence VALUES('outbox',3);
COMMIT;
