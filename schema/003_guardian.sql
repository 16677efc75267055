-- The guardian's state (authsvc guardian): queue limits, exemptions, and
-- what it has told whom, so that a restart neither repeats nor loses a
-- notice.

-- Per-user queue thresholds in messages; NULL: the guardian's --warn/--delete.
ALTER TABLE users ADD COLUMN queue_warn INTEGER CHECK (queue_warn IS NULL OR queue_warn > 0);
ALTER TABLE users ADD COLUMN queue_delete INTEGER CHECK (queue_delete IS NULL OR queue_delete > 0);

-- Queues an operator exempted from the limits ("unbounded"); they may not
-- exist yet.
CREATE TABLE queue_exemptions (
  vhost      TEXT NOT NULL,
  name       TEXT NOT NULL,
  created_at TEXT NOT NULL,
  operator   TEXT NOT NULL,
  PRIMARY KEY (vhost, name)
) WITHOUT ROWID;

-- A queue past its warning threshold whose owner was told ('warned'), or
-- one the guardian decided to delete and has not yet confirmed deleted
-- ('deleting': a crash in between finishes the deletion and its notice).
CREATE TABLE queue_notices (
  vhost    TEXT NOT NULL,
  name     TEXT NOT NULL,
  owner    TEXT NOT NULL,
  state    TEXT NOT NULL CHECK (state IN ('warned', 'deleting')),
  messages INTEGER NOT NULL,  -- when the state was entered
  since    TEXT NOT NULL,
  PRIMARY KEY (vhost, name)
) WITHOUT ROWID;

-- Non-compliant exchanges whose owner was told.
CREATE TABLE exchange_notices (
  vhost   TEXT NOT NULL,
  name    TEXT NOT NULL,
  owner   TEXT NOT NULL,
  problem TEXT NOT NULL,
  since   TEXT NOT NULL,
  PRIMARY KEY (vhost, name)
) WITHOUT ROWID;

-- Mail to send, written in the same transaction as the notice it carries
-- and removed once the SMTP server took it: a notice is never recorded as
-- given and then lost, and never sent twice by a restart.
CREATE TABLE outbox (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  created_at TEXT NOT NULL,
  recipient  TEXT NOT NULL,
  subject    TEXT NOT NULL,
  body       TEXT NOT NULL,
  attempts   INTEGER NOT NULL DEFAULT 0,
  last_error TEXT NOT NULL DEFAULT ''
);
