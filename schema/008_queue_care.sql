-- Queue limits that keep a consumer's work, and kinder notices
-- (authsvc guardian): an account's over-limit mode, a queue capped by the
-- guardian instead of deleted, queues seen without consumers (orphans),
-- and queues the guardian deleted (told again if they come back).

-- What the guardian does with this account's queue past its deletion
-- threshold: 'delete' it, or 'cap' it with a policy; NULL: its
-- --over-limit.
ALTER TABLE users ADD COLUMN over_limit TEXT CHECK (over_limit IS NULL OR over_limit IN ('delete', 'cap'));

-- 'capped': the guardian holds the queue at its deletion threshold with an
-- operator policy of its own (recorded before the policy is applied, so
-- that a crash in between applies it at the next look). SQLite cannot
-- change a CHECK in place: the table is made again.
CREATE TABLE queue_notices_008 (
  vhost    TEXT NOT NULL,
  name     TEXT NOT NULL,
  owner    TEXT NOT NULL,
  state    TEXT NOT NULL CHECK (state IN ('warned', 'deleting', 'capped')),
  messages INTEGER NOT NULL,  -- when the state was entered
  since    TEXT NOT NULL,
  PRIMARY KEY (vhost, name)
) WITHOUT ROWID;
INSERT INTO queue_notices_008 (vhost, name, owner, state, messages, since)
  SELECT vhost, name, owner, state, messages, since FROM queue_notices;
DROP TABLE queue_notices;
ALTER TABLE queue_notices_008 RENAME TO queue_notices;

-- Users' queues the guardian saw without consumers, since when (its first
-- look that saw none), and when their owners were told of an orphan. A
-- queue leaves when it has a consumer again, or is gone.
CREATE TABLE idle_queues (
  vhost            TEXT NOT NULL,
  name             TEXT NOT NULL,
  owner            TEXT NOT NULL,
  idle_since       TEXT NOT NULL,
  orphan_mailed_at TEXT,  -- NULL: not yet
  PRIMARY KEY (vhost, name)
) WITHOUT ROWID;

-- Queues the guardian deleted: if one is declared again, its owners are
-- told once that it was, when and why (and the record goes).
CREATE TABLE deleted_queues (
  vhost      TEXT NOT NULL,
  name       TEXT NOT NULL,
  owner      TEXT NOT NULL,
  deleted_at TEXT NOT NULL,
  messages   INTEGER NOT NULL,  -- when it was deleted
  threshold  INTEGER NOT NULL,  -- the deletion threshold it had reached
  PRIMARY KEY (vhost, name)
) WITHOUT ROWID;
