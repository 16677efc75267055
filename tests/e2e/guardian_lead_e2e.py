#!/usr/bin/python3
"""End to end: three `authsvc guardian` processes, one per node, on one
PostgreSQL store (started here, tests/e2e/postgres.py), against one real
RabbitMQ 3.10 with the management plugin and a real SMTP sink. Exactly one
guardian acts; `kill -9` it, and another takes over; each over-limit queue
is warned in exactly one mail across the failover.

    /usr/bin/python3 tests/e2e/guardian_lead_e2e.py --authsvc build/authsvc/authsvc

The broker asks an `authsvc serve` on the same PostgreSQL store. The
guardians look every second (--interval 1); how long the takeover took is
printed, in seconds and in intervals (README: within two intervals), not
asserted: a loaded machine stretches it. Every count is exact: the mails
the sink received, the guardians that say they lead. Every child's exit
status is checked: the killed guardian's is SIGKILL, the others' 0.
"""

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request


HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
from authsvc_process import (Authsvc, describe_exit, read_log, stop_checked,  # noqa: E402
                             wait_for_line)
from broker import Broker  # noqa: E402
from broker_suite import BrokerSuite  # noqa: E402
from postgres import PostgresServer  # noqa: E402
from suite_runner import run_suite  # noqa: E402
from timing import scaled, wait_for  # noqa: E402

CONF_EXAMPLE = os.path.join(ROOT, "rabbitmq.conf.example")
WARN, DELETE = 20, 50
INTERVAL = 1.0  # seconds, the guardians' --interval
OPERATOR, OPERATOR_PASSWORD = "guardian-op", "op-secret-1234"
ARGS = None


class Guardian:
    """One node's `authsvc guardian`, with its metrics on a port of its own."""

    def __init__(self, suite, name):
        self.name = name
        self.err = os.path.join(suite.workdir, name + ".err")
        self.audit_log = os.path.join(suite.workdir, name + "-audit.log")
        with open(self.err, "w") as err:
            self.proc = subprocess.Popen(
                [ARGS.authsvc, "guardian", "--db", suite.uri,
                 "--db-password-file", suite.db_password_file,
                 "--audit-log", self.audit_log, "--node-name", name,
                 "--metrics-listen", "127.0.0.1:0"] + suite.guardian_options(),
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
        m = wait_for_line(self.err, re.compile(r"metrics on (http://\S+)/metrics"), self.proc,
                          "guardian " + name)
        self.base = m.group(1)

    def get(self, path):
        """(status, body) of GET path on its metrics listener."""
        try:
            with urllib.request.urlopen(self.base + path, timeout=scaled(5)) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def metric(self, name):
        """The value of the sample `name` (exactly, labels included)."""
        status, text = self.get("/metrics")
        assert status == 200, (status, text)
        for line in text.splitlines():
            if line.startswith(name + " "):
                return float(line.split()[-1])
        raise AssertionError("no %s in %s's metrics" % (name, self.name))

    def leads(self):
        return self.metric("authsvc_guardian_leader") == 1

    def ok_looks(self):
        return self.metric('authsvc_guardian_looks_total{result="ok"}')

    def audit_actions(self):
        if not os.path.exists(self.audit_log):
            return []
        with open(self.audit_log) as f:
            return [json.loads(line)["action"] for line in f if line.strip()]


class GuardianLeadE2E(BrokerSuite):
    @classmethod
    def setUpClass(cls):
        cls.make_workdir("e2e_guardian_lead", "authsvc-guardian-lead-e2e-")
        cls.pg = PostgresServer(label="postgres-guardian-lead")
        cls.addClassCleanup(cls.pg.close)
        cls.pg.start()
        cls.pg.create_database("authsvc")
        cls.uri = cls.pg.uri("authsvc")
        cls.db_password_file = os.path.join(cls.workdir, "db.password")
        with open(cls.pg.password_file) as f:
            password = f.read().strip()
        with open(os.open(cls.db_password_file, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
            f.write(password + "\n")
        # The node the broker asks, on the same store as the guardians.
        cls.svc = Authsvc(ARGS.authsvc, cls.workdir, db=cls.uri,
                          db_options=["--db-password-file", cls.db_password_file],
                          label="guardian-lead", serve_args=["--internal-user", OPERATOR])
        cls.addClassCleanup(cls.svc.keep_artifacts)
        cls.svc.start()
        cls.addClassCleanup(cls.svc.stop)
        cls.add_users("alice", "bob")
        cls.start_smtp_sink()
        cls.password_file = cls.secret_file("management.password", OPERATOR_PASSWORD)
        cls.broker = Broker(CONF_EXAMPLE, cls.svc.base_url, management=True,
                            extra_conf="collect_statistics_interval = 500")
        cls.addClassCleanup(cls.broker.stop)
        cls.broker.start()
        cls.add_operator(OPERATOR, OPERATOR_PASSWORD)
        cls.guardians = []
        cls.addClassCleanup(cls.stop_guardians)
        cls.track_connections()

    @classmethod
    def guardian_options(cls):
        return ["--management-url", "http://127.0.0.1:%d" % cls.broker.mgmt_port,
                "--management-user", OPERATOR,
                "--management-password-file", cls.password_file,
                "--interval", str(INTERVAL), "--warn", str(WARN), "--delete", str(DELETE),
                "--smtp-url", "smtp://127.0.0.1:%d" % cls.sink.port,
                "--mail-from", "guardian@pulse.example"]

    @classmethod
    def stop_guardians(cls):
        """SIGTERM to each guardian still running: each must exit 0 and say
        it stopped."""
        problems = []
        for g in cls.guardians:
            if g.proc.poll() is None:
                try:
                    stop_checked(g.proc, "guardian", g.err, 30)
                except AssertionError as e:
                    problems.append("%s: %s" % (g.name, e))
        cls.guardians = []
        if problems:
            raise AssertionError("\n".join(problems))

    # -- helpers ---------------------------------------------------------------

    def live(self):
        return [g for g in self.guardians if g.proc.poll() is None]

    def leaders(self):
        return [g for g in self.live() if g.leads()]

    def wait_for_later_looks(self, leader, looks=3):
        """Returns once `leader` has made `looks` more looks that succeeded
        (each with its actions and mail): the chance to mail again, which
        the test then checks it did not take."""
        start = leader.ok_looks()
        wait_for(lambda: leader.ok_looks() >= start + looks, 30,
                 "%d more looks by %s" % (looks, leader.name))

    # -- the test ----------------------------------------------------------------

    def test_one_guardian_acts_and_another_takes_over_after_kill_9(self):
        for name in ("node-1", "node-2", "node-3"):
            self.guardians.append(Guardian(self, name))
        # Each has asked once: it took the lead, or stands by.
        for g in self.guardians:
            wait_for(lambda: re.search(r"took the guardian lead|standing by", read_log(g.err)),
                     10, g.name + " to take the lead or stand by")
        leader = wait_for(lambda: self.leaders(), 10, "a guardian to lead")
        self.assertEqual(len(leader), 1, [g.name for g in leader])
        leader = leader[0]
        standbys = [g for g in self.guardians if g is not leader]
        print("%s leads; %s stand by" % (leader.name, ", ".join(g.name for g in standbys)),
              flush=True)
        for g in standbys:
            self.assertFalse(g.leads())
            status, body = g.get("/readyz")
            self.assertEqual(status, 200, "a standby is healthy: %s" % body)
            self.assertEqual(g.ok_looks(), 0)  # it looks at nothing
        # The gauge can come before the audit line: the audit log is
        # written by its own thread.
        wait_for(lambda: "lead taken" in leader.audit_actions(), 10,
                 leader.name + "'s audit line 'lead taken'")

        # One queue over the warning threshold: one mail, from the leader.
        self.fill("alice", "queue/alice/first", WARN + 5)
        wait_for(lambda: self.mails_about("queue/alice/first"), 30, "the first warning")
        self.wait_for_later_looks(leader)
        self.assertEqual(len(self.mails_about("queue/alice/first")), 1, self.mail_subjects())
        self.assertEqual(len(self.leaders()), 1)
        for g in standbys:
            self.assertEqual(g.ok_looks(), 0)
            self.assertNotIn("queue warn", g.audit_actions())

        # The leader dies without a word: another takes over.
        killed_at = time.monotonic()
        leader.proc.send_signal(signal.SIGKILL)
        code = leader.proc.wait(scaled(10))
        self.assertEqual(code, -signal.SIGKILL, describe_exit(code))
        new_leader = wait_for(lambda: self.leaders(), 30, "another guardian to lead")
        took = time.monotonic() - killed_at
        self.assertEqual(len(new_leader), 1, [g.name for g in new_leader])
        new_leader = new_leader[0]
        print("%s took over %.2f s after %s was killed: %.1f intervals of %.0f s"
              % (new_leader.name, took, leader.name, took / INTERVAL, INTERVAL), flush=True)
        wait_for(lambda: "lead taken" in new_leader.audit_actions(), 10,
                 new_leader.name + "'s audit line 'lead taken'")
        # The first queue is still over the threshold: the new leader finds
        # its notice in the store and mails nothing again.
        self.wait_for_later_looks(new_leader)
        self.assertEqual(len(self.mails_about("queue/alice/first")), 1, self.mail_subjects())

        # A second queue over the threshold: exactly one more mail.
        self.fill("bob", "queue/bob/second", WARN + 5)
        wait_for(lambda: self.mails_about("queue/bob/second"), 30, "the second warning")
        self.wait_for_later_looks(new_leader)
        self.assertEqual(len(self.mails_about("queue/bob/second")), 1, self.mail_subjects())
        self.assertEqual(len(self.mail_subjects()), 2, self.mail_subjects())
        self.assertEqual([g.name for g in self.leaders()], [new_leader.name])
        for g in self.live():
            if g is not new_leader:
                self.assertEqual(g.ok_looks(), 0)
                status, body = g.get("/readyz")
                self.assertEqual(status, 200, body)
        # The dead leader's audit log shows its one warning; the new one's
        # the other.
        self.assertEqual(leader.audit_actions().count("queue warn"), 1)
        self.assertEqual(new_leader.audit_actions().count("queue warn"), 1)
        self.stop_guardians()


def main():
    global ARGS
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--authsvc", required=True, help="the authsvc binary")
    ARGS, rest = parser.parse_known_args()
    run_suite(rest, "guardian lead e2e")


if __name__ == "__main__":
    main()
