#!/usr/bin/python3
"""Makes the schema upgrade fixtures: tests/data/schema-vN.sql, a store as
the schema of version N held it, as SQL text.

    make_schema_fixtures.py            writes schema-vN.sql for every N in schema/
    make_schema_fixtures.py --check    exits 1 if a committed fixture is not
                                       what this script makes (CTest runs it)

Fixture N is made by the migrations schema/001... to schema/00N... alone,
applied as authsvc applies them, and then filled with the same story of
users, grants, tags, audit events (some exported, some not) and, from
version 3, the guardian's state, as far as version N has a place for it.
authsvc/store/sqlite_schema_upgrade_test.cc opens each fixture with this
build, which migrates it, and checks that every row is kept and that the
users still log in with the tokens below.

The output is deterministic (fixed timestamps, rows in key order), so a
fixture is reviewable as text and --check can tell that none was changed
by hand or by an edit to an old migration (migrations are never edited).
A new migration extends the story below for what it adds (behind
`if version >= N`), and runs this script: the older fixtures stay as they
are, and the new one is added.

The tokens are test-only strings, not secrets. The test records them in
the token ledger, so the leak check also makes sure they reach no log.
"""

import argparse
import hashlib
import os
import re
import sqlite3
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SCHEMA = os.path.join(HERE, "..", "..", "schema")

# The users' tokens; sqlite_schema_upgrade_test.cc knows them too.
TOKENS = {
    "alice": "schema-fixture-token-of-alice-0000000000000",
    "bob": "schema-fixture-token-of-bob-000000000000000",
    "carol": "schema-fixture-token-of-carol-0000000000000",
}


def migrations():
    """[(number, path)] of schema/NNN_*.sql, in order."""
    out = []
    for name in os.listdir(SCHEMA):
        m = re.match(r"^(\d+)_.*\.sql$", name)
        if m:
            out.append((int(m.group(1)), os.path.join(SCHEMA, name)))
    return sorted(out)


def token_hash(name):
    return hashlib.sha256(TOKENS[name].encode()).digest()


def sha256(data):
    return hashlib.sha256(data).digest()


def fill(db, version):
    """The story, as far as `version` has a place for it."""
    users = [
        # id, name, email, tags, status, created, updated/rotated
        (1, "alice", "alice@example.org", "management monitoring", "active",
         "2024-01-10T09:00:00.000000Z", "2024-03-01T12:00:00.000000Z"),
        (2, "bob", "", "", "disabled",
         "2024-01-10T09:05:00.000000Z", "2024-02-01T08:00:00.000000Z"),
        (3, "carol", "carol@example.org", "monitoring", "active",
         "2024-01-11T10:00:00.000000Z", "2024-01-11T10:00:00.000000Z"),
    ]
    for uid, name, email, tags, status, created, updated in users:
        rotated = updated if name == "alice" else created
        if version < 4:
            db.execute("INSERT INTO users (id, name, email, tags, status, token_hash, "
                       "created_at, updated_at, token_rotated_at) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       (uid, name, email, tags, status, token_hash(name), created, updated,
                        rotated))
            continue
        # From version 4 the address is an owner, the token a credential.
        db.execute("INSERT INTO users (id, name, tags, status, created_at, updated_at) "
                   "VALUES (?, ?, ?, ?, ?, ?)", (uid, name, tags, status, created, updated))
        if email:
            db.execute("INSERT INTO user_owners (user_id, address, added_at) VALUES (?, ?, ?)",
                       (uid, email, updated))
        db.execute("INSERT INTO credentials (user_id, slot, scheme, hash, issued_at) "
                   "VALUES (?, 'current', 'token', ?, ?)", (uid, token_hash(name), rotated))
    for uid, vhost in [(1, "/"), (1, "staging"), (2, "/"), (3, "/"), (3, "v2")]:
        db.execute("INSERT INTO user_vhosts (user_id, vhost) VALUES (?, ?)", (uid, vhost))

    if version >= 2:
        events = [
            ("2024-01-10T09:00:00.000000Z", "user add", "alice",
             "email='alice@example.org' tags='management monitoring' vhosts='/ staging'"),
            ("2024-01-10T09:05:00.000000Z", "user add", "bob", "email='' tags='' vhosts='/'"),
            ("2024-01-10T09:06:00.000000Z", "user add", "dave", "email='' tags='' vhosts='/'"),
            ("2024-01-11T10:00:00.000000Z", "user add", "carol",
             "email='carol@example.org' tags='monitoring' vhosts='/ v2'"),
            ("2024-01-12T11:00:00.000000Z", "user delete", "dave", ""),
            ("2024-02-01T08:00:00.000000Z", "user disable", "bob", ""),
            ("2024-03-01T12:00:00.000000Z", "user rotate", "alice",
             "new token issued; the old one no longer logs in"),
        ]
        for ts, action, user, detail in events:
            db.execute("INSERT INTO audit_events (ts, actor, operator, action, user, detail) "
                       "VALUES (?, 'cli', 'root', ?, ?, ?)", (ts, action, user, detail))
        # A server copied the first four into its audit log.
        db.execute("UPDATE audit_export SET last_event_id = 4 WHERE id = 1")

    if version >= 3:
        db.execute("UPDATE users SET queue_warn = 100, queue_delete = 500 WHERE name = 'alice'")
        db.execute("UPDATE users SET queue_delete = 2000 WHERE name = 'carol'")
        for ts, action, user, detail in [
            ("2024-03-02T09:00:00.000000Z", "user set", "alice", "queue_warn=100 queue_delete=500"),
            ("2024-03-02T09:01:00.000000Z", "user set", "carol",
             "queue_warn=default queue_delete=2000"),
            ("2024-03-02T09:02:00.000000Z", "queue exempt", "alice",
             "vhost='/' queue='queue/alice/archive'"),
        ]:
            db.execute("INSERT INTO audit_events (ts, actor, operator, action, user, detail) "
                       "VALUES (?, 'cli', 'root', ?, ?, ?)", (ts, action, user, detail))
        db.execute("INSERT INTO queue_exemptions (vhost, name, created_at, operator) "
                   "VALUES ('/', 'queue/alice/archive', '2024-03-02T09:02:00.000000Z', 'root')")
        db.execute("INSERT INTO queue_notices (vhost, name, owner, state, messages, since) "
                   "VALUES ('/', 'queue/carol/jobs', 'carol', 'warned', 1500, "
                   "'2024-03-03T10:00:00.000000Z')")
        db.execute("INSERT INTO queue_notices (vhost, name, owner, state, messages, since) "
                   "VALUES ('staging', 'queue/alice/big', 'alice', 'deleting', 9000, "
                   "'2024-03-03T11:00:00.000000Z')")
        db.execute("INSERT INTO exchange_notices (vhost, name, owner, problem, since) "
                   "VALUES ('/', 'exchange/bob/fan', 'bob', 'its type is fanout, not topic', "
                   "'2024-03-03T12:00:00.000000Z')")
        # Three mails queued; the first went out (its id is not reused).
        for created, to, subject, attempts, error in [
            ("2024-03-03T10:00:00.000000Z", "carol@example.org", "sent already", 0, ""),
            ("2024-03-03T10:00:01.000000Z", "carol@example.org",
             "queue/carol/jobs holds 1500 messages", 0, ""),
            ("2024-03-03T11:00:00.000000Z", "alice@example.org",
             "queue/alice/big is being deleted", 2, "connection refused"),
        ]:
            db.execute("INSERT INTO outbox (created_at, recipient, subject, body, attempts, "
                       "last_error) VALUES (?, ?, ?, ?, ?, ?)",
                       (created, to, subject, "Dear owner,\n" + subject + ".\n", attempts, error))
        db.execute("DELETE FROM outbox WHERE subject = 'sent already'")

    if version >= 4:
        # alice has a second owner; carol expires, and was told a week before.
        db.execute("INSERT INTO user_owners (user_id, address, added_at) "
                   "VALUES (1, 'Team@Example.org', '2024-04-01T09:00:00.000000Z')")
        db.execute("UPDATE users SET expires_at = '2030-01-01T00:00:00.000000Z', "
                   "expiry_notice_lead = 604800 WHERE name = 'carol'")
        for ts, action, user, detail in [
            ("2024-04-01T09:00:00.000000Z", "user owner add", "alice", "owner='Team@Example.org'"),
            ("2024-04-01T09:01:00.000000Z", "user set", "carol",
             "expires=2030-01-01T00:00:00.000000Z"),
        ]:
            db.execute("INSERT INTO audit_events (ts, actor, operator, action, user, detail) "
                       "VALUES (?, 'cli', 'root', ?, ?, ?)", (ts, action, user, detail))

    if version >= 5:
        # alice is signed in on the web, and has two API keys: one that
        # never expires (as keys could then), one revoked.
        db.execute("INSERT INTO web_sessions (id_hash, address, created_at, last_seen_at) "
                   "VALUES (?, 'alice@example.org', '2024-05-01T08:59:00.000000Z', "
                   "'2024-05-01T09:00:00.000000Z')", (sha256(b"fixture session of alice"),))
        for key_id, label, hash_of, expires, revoked in [
            (1, "nightly", b"fixture key 1", None, None),
            (2, "old", b"fixture key 2", "2024-06-01T00:00:00.000000Z",
             "2024-05-02T00:00:00.000000Z"),
        ]:
            db.execute("INSERT INTO api_keys (id, address, label, hash, created_at, expires_at, "
                       "revoked_at, last_used_at) VALUES (?, 'alice@example.org', ?, ?, "
                       "'2024-05-01T09:01:00.000000Z', ?, ?, NULL)",
                       (key_id, label, sha256(hash_of), expires, revoked))

    if version >= 7:
        # The sampler saw bob's exchange: two messages, one of them not
        # JSON (its payload bytes are not UTF-8), mailed once.
        db.execute("INSERT INTO exchange_samples (vhost, name, inspected, first_seen_at, "
                   "last_seen_at, routing_key, content_type, delivery_mode, size, payload, "
                   "json_keys, routing_key_fields_min, routing_key_fields_max) VALUES "
                   "('/', 'exchange/bob/builds', 2, '2024-07-01T10:00:00.000000Z', "
                   "'2024-07-01T10:01:00.000000Z', ?, ?, 2, 13, ?, '[\"id\"]', 2, 3)",
                   (b"build.linux.opt", b"application/json", b'{"id": 41}\n\t '))
        db.execute("INSERT INTO exchange_violations (vhost, name, kind, count, last_at, "
                   "routing_key, content_type, delivery_mode, size, payload, mailed_at, "
                   "mailed_count) VALUES ('/', 'exchange/bob/builds', 'not-json', 1, "
                   "'2024-07-01T10:00:00.000000Z', ?, NULL, 1, 4, ?, "
                   "'2024-07-01T10:05:00.000000Z', 1)", (b"build.x", b"\xff\x00ab"))

    if version >= 8:
        # carol's queues are capped, not deleted; one is; alice's idle queue
        # was mailed as an orphan, and her deleted one may come back.
        db.execute("UPDATE users SET over_limit = 'cap' WHERE name = 'carol'")
        db.execute("UPDATE users SET over_limit = 'delete' WHERE name = 'bob'")
        db.execute("INSERT INTO queue_notices (vhost, name, owner, state, messages, since) "
                   "VALUES ('v2', 'queue/carol/burst', 'carol', 'capped', 2100, "
                   "'2024-08-01T10:00:00.000000Z')")
        db.execute("INSERT INTO idle_queues (vhost, name, owner, idle_since, orphan_mailed_at) "
                   "VALUES ('/', 'queue/alice/idle', 'alice', '2024-08-01T09:00:00.000000Z', "
                   "'2024-08-02T09:00:00.000000Z')")
        db.execute("INSERT INTO idle_queues (vhost, name, owner, idle_since, orphan_mailed_at) "
                   "VALUES ('/', 'queue/alice/quiet', 'alice', '2024-08-02T08:00:00.000000Z', "
                   "NULL)")
        db.execute("INSERT INTO deleted_queues (vhost, name, owner, deleted_at, messages, "
                   "threshold) VALUES ('/', 'queue/alice/old', 'alice', "
                   "'2024-08-03T10:00:00.000000Z', 600, 500)")


def dump(db, version, sources):
    """The database as SQL text: its schema as SQLite keeps it, then every
    row of every table in key order, then the AUTOINCREMENT counters."""
    out = ["-- An authsvc store at schema version %d, made by tests/data/make_schema_fixtures.py"
           % version,
           "-- with " + ", ".join(sources) + ".",
           "-- Do not edit: run the script. The tokens whose hashes it holds are the",
           "-- script's test-only strings.",
           "PRAGMA user_version = %d;" % version,
           "BEGIN TRANSACTION;"]
    schema = db.execute("SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL "
                        "AND name NOT LIKE 'sqlite_%' ORDER BY rowid").fetchall()
    out += [sql + ";" for _, _, sql in schema]
    for kind, table, _ in schema:
        if kind != "table":
            continue
        info = db.execute('PRAGMA table_info("%s")' % table).fetchall()
        columns = ", ".join('quote("%s")' % c[1] for c in info)
        key = ", ".join('"%s"' % c[1] for c in sorted((c for c in info if c[5]),
                                                       key=lambda c: c[5])) or "rowid"
        for row in db.execute('SELECT %s FROM "%s" ORDER BY %s' % (columns, table, key)):
            out.append('INSERT INTO "%s" VALUES(%s);' % (table, ",".join(row)))
    if db.execute("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'").fetchone():
        for name, seq in db.execute("SELECT name, seq FROM sqlite_sequence ORDER BY name"):
            out.append("INSERT INTO sqlite_sequence VALUES('%s',%d);" % (name, seq))
    out.append("COMMIT;")
    return "\n".join(out) + "\n"


def make(version, all_migrations):
    db = sqlite3.connect(":memory:", isolation_level=None)
    sources = []
    for number, path in all_migrations:
        if number > version:
            break
        with open(path) as f:
            db.executescript(f.read())
        db.execute("PRAGMA user_version = %d" % number)
        sources.append("schema/" + os.path.basename(path))
    db.execute("BEGIN")
    fill(db, version)
    db.execute("COMMIT")
    return dump(db, version, sources)


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--check", action="store_true",
                   help="compare the committed fixtures with what this script makes")
    args = p.parse_args()
    all_migrations = migrations()
    problems = []
    for number, _ in all_migrations:
        path = os.path.join(HERE, "schema-v%d.sql" % number)
        text = make(number, all_migrations)
        if args.check:
            if not os.path.exists(path):
                continue  # the test says which fixtures must exist
            with open(path) as f:
                if f.read() != text:
                    problems.append("%s is not what make_schema_fixtures.py makes" % path)
        else:
            with open(path, "w") as f:
                f.write(text)
            print("wrote " + os.path.relpath(path))
    for problem in problems:
        print("SCHEMA FIXTURES: " + problem)
    if args.check and not problems:
        print("schema fixtures: every committed fixture is what the script makes")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
