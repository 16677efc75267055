-- Queue limits that keep a consumer's work, and kinder notices
-- (authsvc guardian): an account's over-limit mode, a queue capped by the
-- guardian instead of deleted, queues seen without consumers (orphans),
-- and queues the guardian deleted (told again if they come back).
-- PostgreSQL's twin of schema/008_queue_care.sql (README.md here).

-- What the guardian does with this account's queue past its deletion
-- threshold: 'delete' it, or 'cap' it with a policy; NULL: its
-- --over-limit.
ALTER TABLE users ADD COLUMN over_limit TEXT CHECK (over_limit IS NULL OR over_limit IN ('delete', 'cap'));

-- 'capped': the guardian holds the queue at its deletion threshold with an
-- operator policy of its own (recorded before the policy is applied, so
-- that a crash in between applies it at the next look).
ALTER TABLE queue_notices DROP CONSTRAINT queue_notices_state_check;
ALTER TABLE queue_notices ADD CONSTRAINT queue_notices_state_check
  CHECK (state IN ('warned', 'deleting', 'capped'));

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
);

-- Queues the guardian deleted: if one is declared again, its owners are
-- told once that it was, when and why (and the record goes).
CREATE TABLE deleted_queues (
  vhost      TEXT NOT NULL,
  name       TEXT NOT NULL,
  owner      TEXT NOT NULL,
  deleted_at TEXT NOT NULL,
  messages   BIGINT NOT NULL,  -- when it was deleted
  threshold  BIGINT NOT NULL,  -- the deletion threshold it had reached
  PRIMARY KEY (vhost, name)
);
