-- What the guardian's message sampler (authsvc guardian --sample-messages)
-- saw on each Pulse exchange, and which of its violations were mailed to
-- the exchange's owners. In the store, not in the guardian's memory: a
-- restart or another node taking the lead neither mails a kind again
-- within its period nor forgets what was seen, and `exchange list`, the
-- web's directory and the mails read the same record.
-- PostgreSQL's twin of schema/007_exchange_samples.sql (README.md here).
--
-- A routing key, a content type and a payload are bytes the publisher
-- chose, not text: BYTEAs, escaped only where they are shown.

-- Each exchange a message was inspected on, all told.
CREATE TABLE exchange_samples (
  vhost                  TEXT NOT NULL,
  name                   TEXT NOT NULL,
  inspected              BIGINT NOT NULL CHECK (inspected > 0),
  first_seen_at          TEXT NOT NULL,
  last_seen_at           TEXT NOT NULL,
  -- The last message inspected; of its payload, the first bytes only.
  routing_key            BYTEA NOT NULL,
  content_type           BYTEA,     -- NULL: none set
  delivery_mode          BIGINT,  -- NULL: none set
  size                   BIGINT NOT NULL CHECK (size >= 0),  -- the whole payload's
  payload                BYTEA NOT NULL,
  -- The top-level keys of the JSON objects seen, as a JSON array of
  -- strings (the first 64), and the fewest and most dot-separated fields
  -- a routing key had.
  json_keys              TEXT NOT NULL,
  routing_key_fields_min BIGINT NOT NULL,
  routing_key_fields_max BIGINT NOT NULL,
  PRIMARY KEY (vhost, name)
);

-- Each kind of violation seen on an exchange: how many, the last example,
-- and the last mail about it (NULL: none yet) with the count it reported.
CREATE TABLE exchange_violations (
  vhost         TEXT NOT NULL,
  name          TEXT NOT NULL,
  kind          TEXT NOT NULL CHECK (kind IN ('not-utf8', 'not-json', 'content-type', 'oversize',
                                              'transient', 'no-routing-key')),
  count         BIGINT NOT NULL CHECK (count > 0),
  last_at       TEXT NOT NULL,
  routing_key   BYTEA NOT NULL,
  content_type  BYTEA,
  delivery_mode BIGINT,
  size          BIGINT NOT NULL CHECK (size >= 0),
  payload       BYTEA NOT NULL,
  mailed_at     TEXT,
  mailed_count  BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (vhost, name, kind)
);
