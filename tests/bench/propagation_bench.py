#!/usr/bin/python3
"""Change propagation benchmark (issue 14): how long a CLI change takes to
be visible on every `authsvc serve` node sharing a PostgreSQL, against one
serve on a SQLite file, which polls (today's single-node setup).

    /usr/bin/python3 tests/bench/propagation_bench.py --authsvc build/authsvc/authsvc
                                                      [--changes 1000] [--nodes 3]

What it does:
  1. starts a PostgreSQL of its own (tests/e2e/postgres.py: initdb in a
     temporary folder, a free port), `authsvc init` on it, one account
     (alice), and --nodes `serve` processes on it, each on its own port
     with serve's default reload interval (200 ms; the change notice
     wakes them, the interval is their fallback);
  2. makes --changes changes with the CLI binary, alternately `user
     disable alice` and `user enable alice`, one process at a time; after
     each process exits, it asks every node `POST /auth/user` (alice's
     token, one kept-alive connection per node) in a tight loop until each
     gives the new answer (deny, then allow);
  3. prints p50, p99 and max of (a) the time from the CLI's exit to the
     moment the last node answered anew, and (b) the same from the CLI's
     start (what an operator waits for, the CLI's own run included);
  4. the same on SQLite: `authsvc init` on a file, one serve on it with the
     default polling, the same changes measured the same way; then the
     ratios, SQLite over PostgreSQL, with both sides.
A node that never answers anew within 10 s stops the run (exit 1): a lost
change is not a latency. Otherwise exit status 0 whatever the figures:
targets are for people to judge (the issue's: p99 under 100 ms on every
node).
"""

import argparse
import http.client
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
from postgres import PostgresServer  # noqa: E402

VISIBLE_WITHIN = 10.0  # seconds; beyond it the change is taken as lost


class Node:
    """One `authsvc serve`, and a kept-alive connection to it."""

    def __init__(self, binary, db_args, workdir, name):
        self.name = name
        self.err_path = os.path.join(workdir, name + ".err")
        with open(self.err_path, "wb") as err:
            self.proc = subprocess.Popen(
                [binary, "serve", *db_args, "--listen", "127.0.0.1:0",
                 "--audit-log", os.path.join(workdir, name + ".audit.log"),
                 "--login-failures", "0"],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
        deadline = time.monotonic() + 30
        while True:
            with open(self.err_path) as f:
                m = re.search(r"listening on 127\.0\.0\.1:(\d+)", f.read())
            if m:
                self.port = int(m.group(1))
                break
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("%s did not start: %s" % (name, open(self.err_path).read()))
            time.sleep(0.02)
        self.http = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)

    def login(self, user, password):
        body = urllib.parse.urlencode({"username": user, "password": password})
        self.http.request("POST", "/auth/user", body,
                          {"Content-Type": "application/x-www-form-urlencoded"})
        return self.http.getresponse().read().decode().split(" ")[0]

    def stop(self):
        self.http.close()
        self.proc.terminate()
        code = self.proc.wait(30)
        if code != 0:
            raise RuntimeError("%s exited %d: %s" % (self.name, code, open(self.err_path).read()))


def cli(binary, db_args, *args):
    r = subprocess.run([binary, *args, *db_args], stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise RuntimeError("authsvc %s: exit %d: %s" % (" ".join(args), r.returncode, r.stderr))
    return r.stdout


def measure(binary, db_args, nodes, token, changes, label):
    """(from exit, from start) in seconds, one pair per change."""
    for node in nodes:
        if node.login("alice", token) != "allow":
            raise RuntimeError("%s does not allow alice at the start" % node.name)
    from_exit, from_start = [], []
    for i in range(changes):
        command, expected = ("disable", "deny") if i % 2 == 0 else ("enable", "allow")
        started = time.perf_counter()
        r = subprocess.run([binary, "user", command, "alice", *db_args],
                           stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE)
        exited = time.perf_counter()
        if r.returncode != 0:
            raise RuntimeError("authsvc user %s: exit %d: %s"
                               % (command, r.returncode, r.stderr.decode()))
        pending = list(nodes)
        while pending:
            pending = [n for n in pending if n.login("alice", token) != expected]
            if pending and time.perf_counter() - exited > VISIBLE_WITHIN:
                raise RuntimeError("%s: change %d (%s) not visible on %s within %.0f s"
                                   % (label, i, command, ", ".join(n.name for n in pending),
                                      VISIBLE_WITHIN))
        visible = time.perf_counter()
        from_exit.append(visible - exited)
        from_start.append(visible - started)
    return from_exit, from_start


def percentile(values, q):
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def figures(values):
    return {"p50": statistics.median(values), "p99": percentile(values, 0.99), "max": max(values)}


def line(label, values):
    f = figures(values)
    return "%-44s p50 %7.1f ms   p99 %7.1f ms   max %7.1f ms   over 100 ms: %d" % (
        label, f["p50"] * 1e3, f["p99"] * 1e3, f["max"] * 1e3,
        sum(1 for v in values if v > 0.1))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--authsvc", required=True)
    parser.add_argument("--changes", type=int, default=1000)
    parser.add_argument("--nodes", type=int, default=3)
    args = parser.parse_args()
    binary = os.path.abspath(args.authsvc)
    work = tempfile.mkdtemp(prefix="authsvc-propagation-")
    load = "%.1f" % os.getloadavg()[0]
    results = {}
    try:
        with PostgresServer() as pg:
            pg.create_database("authsvc")
            db_args = ["--db", pg.uri("authsvc"), "--db-password-file", pg.password_file]
            cli(binary, db_args, "init")
            token = cli(binary, db_args, "user", "add", "alice",
                        "--owner", "alice@example.org").splitlines()[-1]
            nodes = [Node(binary, db_args, work, "pg-node%d" % (i + 1))
                     for i in range(args.nodes)]
            try:
                results["pg"] = measure(binary, db_args, nodes, token, args.changes,
                                        "PostgreSQL")
            finally:
                for node in nodes:
                    node.stop()
        db_args = ["--db", os.path.join(work, "authsvc.db")]
        cli(binary, db_args, "init")
        token = cli(binary, db_args, "user", "add", "alice",
                    "--owner", "alice@example.org").splitlines()[-1]
        node = Node(binary, db_args, work, "sqlite-node")
        try:
            results["sqlite"] = measure(binary, db_args, [node], token, args.changes, "SQLite")
        finally:
            node.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    load += " / %.1f" % os.getloadavg()[0]

    print("%d changes (user disable/enable, alternately), the CLI binary each time; "
          "load average before and after: %s" % (args.changes, load))
    print(line("PostgreSQL, %d nodes, from CLI exit:" % args.nodes, results["pg"][0]))
    print(line("PostgreSQL, %d nodes, from CLI start:" % args.nodes, results["pg"][1]))
    print(line("SQLite, 1 node (polling), from CLI exit:", results["sqlite"][0]))
    print(line("SQLite, 1 node (polling), from CLI start:", results["sqlite"][1]))
    slow = sorted(v for v in results["pg"][0] if v > 0.1)
    if slow:
        print("PostgreSQL, from CLI exit, the changes over 100 ms: %s"
              % ", ".join("%.0f ms" % (v * 1e3) for v in slow))
    for i, what in enumerate(("from CLI exit", "from CLI start")):
        pg_f, sq_f = figures(results["pg"][i]), figures(results["sqlite"][i])
        print("SQLite / PostgreSQL, %s: p50 %.1f / %.1f ms = %.1fx, p99 %.1f / %.1f ms = %.1fx"
              % (what, sq_f["p50"] * 1e3, pg_f["p50"] * 1e3, sq_f["p50"] / pg_f["p50"],
                 sq_f["p99"] * 1e3, pg_f["p99"] * 1e3, sq_f["p99"] / pg_f["p99"]))


if __name__ == "__main__":
    main()
