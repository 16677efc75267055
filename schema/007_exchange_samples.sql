-- What the guardian's message sampler (authsvc guardian --sample-messages)
-- saw on each Pulse exchange, and which of its violations were mailed to
-- the exchange's owners. In the store, not in the guardian's memory: a
-- restart or another node taking the lead neither mails a kind again
-- within its period nor forgets what was seen, and `exchange list`, the
-- web's directory and the mails read the same record.
--
-- A routing key, a content type and a payload are bytes the publisher
-- chose, not text: BLOBs, escaped only where they are shown.

-- Each exchange a message was inspected on, all told.
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

-- Each kind of violation seen on an exchange: how many, the last example,
-- and the last mail about it (NULL: none yet) with the count it reported.
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
