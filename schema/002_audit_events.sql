-- User-management actions, written in the same transaction as the change
-- they describe, so that no change exists without its audit record. The
-- server copies them into its audit log; audit_export remembers how far.
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
INSERT INTO audit_export (id, last_event_id) VALUES (1, 0);
