#!/usr/bin/python3
"""End to end: `authsvc serve` on a PostgreSQL that stops and starts again
(issue 14, "fail static, recover by itself"), with no restart of serve.

    /usr/bin/python3 tests/e2e/postgres_outage_e2e.py --authsvc build/authsvc/authsvc

A PostgreSQL of its own (tests/e2e/postgres.py; not the CTest fixture's,
which other tests share), `authsvc init` on it, one serve with
--metrics-listen and --ready-store-age 2s. Then:
  1. PostgreSQL stopped (fast shutdown): serve's metrics say the store is
     unreachable at once, /readyz turns 503 naming the outage once the
     snapshot is older than 2 s, stderr says so in one line, logins still
     answer from the snapshot (allowed and denied as before), and the CLI
     refuses a change with one line, exit 1;
  2. PostgreSQL started again, same port: serve reconnects by itself (the
     reconnect counter, reachable 1, /readyz 200), and a CLI change takes
     effect on serve (polled for);
  3. serve exits 0 on SIGTERM.
Each step polls for its event (timing.wait_for); nothing sleeps and then
asserts.
"""

import argparse
import os
import re
import shutil
import sys
import tempfile
import unittest
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from authsvc_process import Authsvc  # noqa: E402
from postgres import PostgresServer  # noqa: E402
from timing import scaled, wait_for  # noqa: E402

BINARY = None


class PgAuthsvc(Authsvc):
    """Authsvc on a PostgreSQL URI: the password comes from PGPASSFILE,
    which the test sets for every command it runs."""

    def __init__(self, binary, workdir, uri, **kw):
        self._uri = uri
        super().__init__(binary, workdir, **kw)

    @property
    def db(self):
        return self._uri

    @db.setter
    def db(self, _sqlite_path):
        pass


def get(url):
    """(status, body) of a GET."""
    try:
        with urllib.request.urlopen(url, timeout=scaled(10)) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def login(base_url, user, password):
    body = urllib.parse.urlencode({"username": user, "password": password}).encode()
    with urllib.request.urlopen(base_url + "/auth/user", data=body, timeout=scaled(10)) as r:
        return r.read().decode().split(" ")[0]


def metric(text, name):
    m = re.search(r"^%s (\S+)$" % re.escape(name), text, re.M)
    return float(m.group(1)) if m else None


class PostgresOutage(unittest.TestCase):
    def test_serve_answers_from_its_snapshot_while_postgres_is_away_and_recovers(self):
        work = tempfile.mkdtemp(prefix="authsvc-pg-outage-")
        self.addCleanup(shutil.rmtree, work, True)
        pg = PostgresServer()
        self.addCleanup(pg.close)
        pg.start()
        pg.create_database("authsvc")
        os.environ["PGPASSFILE"] = pg.pgpass_file
        svc = PgAuthsvc(BINARY, work, pg.uri("authsvc"), label="pg-outage",
                        serve_args=["--metrics-listen", "127.0.0.1:0",
                                    "--ready-store-age", "2s", "--login-failures", "0"])
        alice = svc.add_user("alice")
        bob = svc.add_user("bob")
        svc.cli("user", "disable", "bob")
        svc.start()
        self.addCleanup(svc.stop, None)

        def metrics_port():
            with open(svc.stderr_log) as f:
                return re.search(r"metrics on http://127\.0\.0\.1:(\d+)", f.read())
        ops = "http://127.0.0.1:%s" % wait_for(metrics_port, 10, "the metrics line").group(1)
        self.assertEqual(get(ops + "/readyz"), (200, "ready\n"))
        self.assertEqual(login(svc.base_url, "alice", alice), "allow")
        self.assertEqual(metric(get(ops + "/metrics")[1], "authsvc_store_reachable"), 1)

        # 1. The database stops.
        pg.stop()
        wait_for(lambda: metric(get(ops + "/metrics")[1], "authsvc_store_reachable") == 0, 15,
                 "authsvc_store_reachable 0")
        answer = {}

        def not_ready():
            answer["readyz"] = get(ops + "/readyz")
            return answer["readyz"][0] == 503
        wait_for(not_ready, 15, "/readyz 503")
        self.assertRegex(answer["readyz"][1],
                         r"^not ready: the database cannot be read since [0-9.]+ s \(.*\); "
                         r"answering from the snapshot read at 20\S+ \([0-9.]+ s ago, limit 2 s\)\n$")
        m = get(ops + "/metrics")[1]
        self.assertGreater(metric(m, "authsvc_store_unreachable_seconds"), 0)
        self.assertEqual(metric(m, "authsvc_store_reconnects_total"), 0)
        # Still answering from the snapshot.
        self.assertEqual(login(svc.base_url, "alice", alice), "allow")
        self.assertEqual(login(svc.base_url, "bob", bob), "deny")
        # The CLI refuses a change, in one line.
        r = svc.cli("user", "enable", "bob", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(len(r.stderr.splitlines()), 1, r.stderr)
        self.assertIn("cannot open database", r.stderr)
        # Noticed once on stderr (then at most once a minute).
        with open(svc.stderr_log) as f:
            err = f.read()
        self.assertEqual(err.count("authsvc: cannot reload users"), 1, err)

        # 2. It starts again: serve reconnects, and a change flows.
        pg.start()
        wait_for(lambda: metric(get(ops + "/metrics")[1], "authsvc_store_reconnects_total") == 1,
                 15, "a reconnect")
        wait_for(lambda: get(ops + "/readyz")[0] == 200, 15, "/readyz 200")
        self.assertEqual(metric(get(ops + "/metrics")[1], "authsvc_store_reachable"), 1)
        svc.cli("user", "enable", "bob")
        wait_for(lambda: login(svc.base_url, "bob", bob) == "allow", 15, "bob allowed")
        svc.cli("user", "disable", "alice")
        wait_for(lambda: login(svc.base_url, "alice", alice) == "deny", 15, "alice denied")
        with open(svc.stderr_log) as f:
            self.assertIn("authsvc: the database is readable again; users reloaded", f.read())

        # 3.
        svc.stop()
        svc.keep_artifacts()


def main():
    global BINARY
    parser = argparse.ArgumentParser()
    parser.add_argument("--authsvc", required=True)
    args, rest = parser.parse_known_args()
    BINARY = os.path.abspath(args.authsvc)
    unittest.main(argv=[sys.argv[0]] + rest)


if __name__ == "__main__":
    main()
