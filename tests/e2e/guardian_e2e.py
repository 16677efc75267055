#!/usr/bin/python3
"""End to end: `authsvc guardian` against a real RabbitMQ 3.10 with the
management plugin, and a real SMTP server on loopback (aiosmtpd).

    /usr/bin/python3 tests/e2e/guardian_e2e.py --authsvc build/authsvc/authsvc [--mode serve]

--mode guardian (the default) runs `authsvc guardian` as its own process;
--mode serve runs the same loop inside `authsvc serve --guardian`, the
process the broker asks, with one audit log for both.

Thresholds are small (warn 20, delete 50 messages), the guardian looks
once a second, and a rotation's grace and an account's life last seconds
(--grace 20s, --expires 30s, with expiry notices due 10 and 2 minutes
before); everything else is as an operator would run it.

--transcripts DIR (optional) writes what the grace and expiry tests saw
there, for people to read: grace.txt (tokens redacted) and
expiry-mails.txt (the notices as the SMTP server received them). Every
assertion is on what really happened: a mail the SMTP server received, a
queue the broker no longer has, a connection the broker closed.
"""

import argparse
import base64
import calendar
import glob
import hashlib
import json
import os
import re
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import pika
from pika.exceptions import (AMQPConnectionError, ChannelClosedByBroker,
                             ProbableAuthenticationError)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
from authsvc_process import describe_exit, read_log, terminate  # noqa: E402
from broker import Broker  # noqa: E402
from broker_suite import BrokerSuite  # noqa: E402
from suite_runner import run_suite  # noqa: E402
from timing import scaled, wait_for  # noqa: E402

CONF_EXAMPLE = os.path.join(ROOT, "rabbitmq.conf.example")
WARN, DELETE = 20, 50
# Both leads exceed the 30 s lives below: both notices are due at once, and
# only the later-due one, 2 minutes before, may be sent.
EXPIRY_NOTICE = "10m,2m"
OPERATOR, OPERATOR_PASSWORD = "guardian-op", "op-secret-1234"
ARGS = None


class GuardianE2E(BrokerSuite):
    """One broker, one authsvc, one SMTP sink; tests run in name order."""

    extra_guardian_args = []  # a test's own, for one run of the guardian

    @classmethod
    def setUpClass(cls):
        # Each resource's cleanup is registered as soon as it exists
        # (broker_suite.py). The work folder's artifacts: serve's and the
        # guardian's logs, and every mail received.
        cls.make_workdir("e2e_guardian_" + ARGS.mode, "authsvc-guardian-e2e-")
        # The operator account is the broker's, as README recommends.
        cls.start_authsvc(ARGS.authsvc, "guardian-" + ARGS.mode,
                          serve_args=["--internal-user", OPERATOR])
        cls.add_users("alice", "bob", "carol", "dave", "erin")
        cls.start_smtp_sink()
        cls.password_file = cls.secret_file("management.password", OPERATOR_PASSWORD)
        cls.guardian_audit = os.path.join(cls.workdir, "guardian-audit.log")
        cls.guardian_err = os.path.join(cls.workdir, "guardian.err")
        cls.guardian = None
        cls.probes = 0
        # Statistics every 0.5 s instead of 5 s: queue sizes show sooner.
        cls.broker = Broker(CONF_EXAMPLE, cls.svc.base_url, management=True,
                            extra_conf="collect_statistics_interval = 500")
        cls.addClassCleanup(cls.broker.stop)  # safe after a failed start
        cls.broker.start()
        # The guardian's operator account lives in the broker's internal
        # backend, as rabbitmq.conf.example's second backend allows.
        cls.add_operator(OPERATOR, OPERATOR_PASSWORD)
        cls.addClassCleanup(cls.stop_guardian, restart_serve=False)
        cls.track_connections()  # the broker closes some (test_5)

    # -- helpers ---------------------------------------------------------------

    @classmethod
    def guardian_options(cls):
        return ["--management-url", "http://127.0.0.1:%d" % cls.broker.mgmt_port,
                "--management-user", OPERATOR,
                "--management-password-file", cls.password_file,
                "--interval", "1", "--warn", str(WARN), "--delete", str(DELETE),
                "--expiry-notice", EXPIRY_NOTICE,
                "--smtp-url", "smtp://127.0.0.1:%d" % cls.sink.port,
                "--mail-from", "guardian@pulse.example"] + cls.extra_guardian_args

    @classmethod
    def guardian_args(cls):
        return [ARGS.authsvc, "guardian", "--db", cls.svc.db] + cls.guardian_options()

    @classmethod
    def start_guardian(cls):
        if ARGS.mode == "serve":
            # The same authsvc, on the same port, now with the loop inside.
            cls.svc.stop()
            cls.svc.serve_args = (["--internal-user", OPERATOR, "--guardian"]
                                  + cls.guardian_options())
            cls.svc.start()
            cls.guardian = cls.svc
            return
        with open(cls.guardian_err, "a") as err:
            cls.guardian = subprocess.Popen(
                cls.guardian_args() + ["--audit-log", cls.guardian_audit],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)

    @classmethod
    def stop_guardian(cls, restart_serve=True):
        """Stops the guardian; raises if it did not exit 0. In serve mode
        that is serve itself, started again without the guardian unless
        restart_serve is false (at the end of the run)."""
        if cls.guardian is None:
            return
        if ARGS.mode == "serve":
            cls.guardian = None
            cls.svc.stop()
            cls.svc.serve_args = ["--internal-user", OPERATOR]
            if restart_serve:
                cls.svc.start()
            return
        guardian, cls.guardian = cls.guardian, None
        code = terminate(guardian, 30)
        if code is None:
            raise AssertionError("guardian ignored SIGTERM for %.0f s: %s"
                                 % (scaled(30), read_log(cls.guardian_err)))
        if code != 0:
            raise AssertionError("guardian %s: %s" % (describe_exit(code),
                                                      read_log(cls.guardian_err)))

    def fill(self, user, queue, count, exchange_type="topic", arguments=None):
        """Declare `queue` (durable, with `arguments`) bound to the user's
        exchange and publish `count` persistent messages to it, confirmed."""
        conn = self.connect(user)
        ch = conn.channel()
        ch.confirm_delivery()
        exchange = "exchange/%s/%s" % (user, queue.rsplit("/", 1)[-1])
        ch.exchange_declare(exchange, exchange_type, durable=True)
        ch.queue_declare(queue, durable=True, arguments=arguments)
        ch.queue_bind(queue, exchange, routing_key="#")
        for i in range(count):
            ch.basic_publish(exchange, "test.%d" % i, b"{}",
                             pika.BasicProperties(delivery_mode=2))
        conn.close()

    def queue_size(self, user, queue):
        """Messages in `queue` (a passive declare), or None if it is gone."""
        conn = self.connect(user)
        try:
            return conn.channel().queue_declare(queue, passive=True).method.message_count
        except ChannelClosedByBroker as e:
            self.assertEqual(e.reply_code, 404)
            return None
        finally:
            if conn.is_open:
                conn.close()

    def mails(self):
        """Every mail received, decoded by the sink with Python's email
        package (tests/e2e/smtp_sink.py); each must be 7-bit on the wire and
        free of defects."""
        out = []
        for path in sorted(glob.glob(os.path.join(self.maildir, "*.json"))):
            with open(path) as f:
                record = json.load(f)
            self.assertEqual(record["defects"], [], "%s: %s" % (path, record["content"]))
            self.assertTrue(record["content"].isascii(), record["content"])
            out.append({"to": record["rcpt_tos"], "from": record["mail_from"],
                        "subject": record["subject"], "body": record["body"],
                        "raw": record["content"]})
        return out

    def mails_about(self, text):
        return [m for m in self.mails() if text in m["subject"]]

    def guardian_audit_lines(self):
        path = self.svc.audit_log if ARGS.mode == "serve" else self.guardian_audit
        if not os.path.exists(path):
            return []
        with open(path) as f:
            lines = [json.loads(line) for line in f if line.strip()]
        return [e for e in lines if e.get("actor") == "guardian"]

    def size_in_subject(self, mail, pattern, low, high):
        """The queue size a mail's subject gives, checked to be in [low, high]."""
        m = re.fullmatch(r"\[Pulse\] " + pattern, mail["subject"])
        self.assertIsNotNone(m, mail["subject"])
        size = int(m.group(1))
        self.assertTrue(low <= size <= high, mail["subject"])
        return size

    def audit_actions(self):
        return [(e["action"], e["user"]) for e in self.guardian_audit_lines()]

    def management(self, path, method="GET", body=None):
        """/api/PATH of the broker's management API, as the operator: GET's
        answer, or None for another method."""
        request = urllib.request.Request(
            "http://127.0.0.1:%d/api/%s" % (self.broker.mgmt_port, path), method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": "Basic " + base64.b64encode(
                ("%s:%s" % (OPERATOR, OPERATOR_PASSWORD)).encode()).decode(),
                "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=scaled(10)) as r:
            return json.load(r) if method == "GET" else None

    def listed_queues(self):
        """{queue name: messages} as the management API lists them now (the
        guardian's view; statistics lag); None where not counted yet."""
        return {q["name"]: q.get("messages") for q in self.management("queues")}

    def listed_connections(self):
        """[(user, connection name)] as the management API lists them now."""
        return sorted((c["user"], c["name"]) for c in self.management("connections"))

    def queue_list(self):
        """`authsvc queue list` as the operator runs it: its lines by queue
        name, and its whole output."""
        listing = subprocess.run(
            [ARGS.authsvc, "queue", "list", "--db", self.svc.db,
             "--management-url", "http://127.0.0.1:%d" % self.broker.mgmt_port,
             "--management-user", "guardian-op", "--management-password-file",
             self.password_file, "--warn", str(WARN), "--delete", str(DELETE)],
            stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=scaled(30))
        self.assertEqual(listing.returncode, 0, listing.stderr)
        lines = {line.split()[1]: line for line in listing.stdout.splitlines()[1:]}
        return lines, listing.stdout

    def wait_for_a_later_look(self):
        """Returns once the guardian has made a whole look (its actions,
        its mails sent, its audit lines written) that began after this call.
        Call it before asserting that the guardian did NOT do something:
        that it had the chance to, and did not.

        The guardian has no look counter to read, so a probe stands in for
        one: a new queue of alice's, filled past the warning threshold now.
        The look that warns about it began after this call; and since the
        guardian plans each look from one listing of the broker (queues,
        exchanges, connections alike), that look also saw whatever the
        caller set up before calling, provided the management API showed
        it already (statistics lag: the caller waits for that first). Then:
          - its actions (deletions, connection closes) all run before any
            of its mails is sent, so they are done once the probe's mail
            arrived;
          - its mails go out one by one, the probe's maybe first: once the
            outbox is empty, every mail of that look has reached the sink;
          - its audit lines come in order, each mail's "mail sent" line
            after the look's action lines: once there are as many "mail
            sent" lines as mails received, every line of that look is
            on disk."""
        GuardianE2E.probes += 1
        queue = "queue/alice/probe-%d" % GuardianE2E.probes
        self.fill("alice", queue, WARN + 5)
        wait_for(lambda: self.mails_about(queue + " holds"), 30,
                 "the warning about the probe queue %s" % queue)
        wait_for(self.outbox_empty, 10, "the guardian's outbox to be sent")
        wait_for(lambda: len([e for e in self.guardian_audit_lines()
                              if e["action"] == "mail sent"]) == len(self.mails()), 5,
                 "a 'mail sent' audit line for every mail received")

    def queue_info(self, queue):
        """The management API's record of `queue` in vhost /, or None."""
        try:
            return self.management("queues/%2F/" + urllib.parse.quote(queue, safe=""))
        except urllib.error.HTTPError as e:
            self.assertEqual(e.code, 404)
            return None

    def operator_policy(self, name):
        """The operator policy `name` of vhost /, or None."""
        try:
            return self.management("operator-policies/%2F/" + urllib.parse.quote(name, safe=""))
        except urllib.error.HTTPError as e:
            self.assertEqual(e.code, 404)
            return None

    def ensure_guardian(self):
        if self.guardian is None:
            self.start_guardian()

    def add_account(self, name, *options):
        """`authsvc user add NAME OPTIONS`; returns its token, kept in
        self.tokens, once serve has it (the audit line of the addition is
        written after the user is in place)."""
        out = self.svc.cli("user", "add", name, *options)
        GuardianE2E.tokens[name] = out.splitlines()[-1]
        self.wait_for_cli_change("user add", name)
        return out

    def wait_for_cli_change(self, action, user):
        """serve puts changed users in place before it writes the CLI's audit
        lines: once the change's line is there, serve decides with it."""
        wait_for(lambda: [line for line in self.svc.audit_lines()
                          if line.get("actor") == "cli" and line.get("action") == action
                          and line.get("user") == user], 5,
                 "serve to load the '%s' of %s" % (action, user))

    def login(self, user, password):
        """Whether the broker lets `user` log in with `password` (the
        connection is closed again); a refusal must be a 403."""
        try:
            conn = self.connect(user, password)
        except ProbableAuthenticationError as e:
            self.assertIn("403", str(e))
            return False
        conn.close()
        return True

    def account_time(self, user, column):
        """A time the database keeps about `user` (users.expires_at, or
        the previous credential's valid_until), as seconds since the epoch."""
        db = sqlite3.connect("file:%s?mode=ro" % self.svc.db, uri=True, timeout=scaled(5))
        try:
            if column == "expires_at":
                row = db.execute("SELECT expires_at FROM users WHERE name = ?", (user,)).fetchone()
            else:
                row = db.execute("SELECT c.valid_until FROM credentials c JOIN users u "
                                 "ON u.id = c.user_id WHERE u.name = ? AND c.slot = 'previous'",
                                 (user,)).fetchone()
        finally:
            db.close()
        self.assertIsNotNone(row and row[0], "%s of %s" % (column, user))
        return rfc3339_seconds(row[0])

    def wait_until(self, when, what):
        """Returns once this machine's clock, which authsvc decides by, has
        passed `when` (seconds since the epoch)."""
        wait_for(lambda: time.time() > when, when - time.time() + 10, what, interval=0.05)

    def closes_of(self, user):
        return [e for e in self.guardian_audit_lines()
                if e["action"] == "connection close" and e["user"] == user]

    def wait_closed(self, conn, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                conn.process_data_events(time_limit=0.2)
            except AMQPConnectionError as e:
                return str(e)
            if conn.is_closed:
                return "closed"
        return None

    # -- tests -----------------------------------------------------------------

    def test_1_warning_is_mailed_once_and_back_to_normal_once(self):
        self.fill("alice", "queue/alice/q1", 25)
        self.start_guardian()
        warned = wait_for(lambda: self.mails_about("queue/alice/q1 holds"), 30, "the warning")
        self.assertEqual(len(warned), 1)
        mail = warned[0]
        self.assertEqual(mail["to"], ["alice@example.org"])
        self.assertEqual(mail["from"], "guardian@pulse.example")
        # The size is what the guardian saw; statistics come every 0.5 s, so
        # it may have seen the queue while it filled (never under WARN).
        seen = self.size_in_subject(mail, r"queue queue/alice/q1 holds (\d+) messages", WARN, 25)
        for part in ("queue/alice/q1", "owner alice", "holds %d messages" % seen,
                     "warning threshold of %d" % WARN, "reaches %d messages" % DELETE):
            self.assertIn(part, mail["body"])
        print("---- warning mail as received ----\n%s----" % mail["raw"].replace("\r\n", "\n"))

        # A restart neither repeats the notice nor loses it.
        self.stop_guardian()
        self.start_guardian()
        self.wait_for_a_later_look()
        self.assertEqual(len(self.mails_about("queue/alice/q1 holds")), 1)

        conn = self.connect("alice")
        ch = conn.channel()
        for _ in range(10):
            method, _, _ = ch.basic_get("queue/alice/q1", auto_ack=True)
            self.assertIsNotNone(method)
        conn.close()
        back = wait_for(lambda: self.mails_about("queue/alice/q1 is back to normal"), 30,
                        "the back-to-normal mail")
        # The size the guardian saw: statistics lag, so it may have looked
        # while the 10 messages were being taken (25 -> 15).
        self.size_in_subject(back[0], r"queue queue/alice/q1 is back to normal \((\d+) messages\)",
                             15, WARN - 1)
        # The audit line is written before the mail is sent, by a writer
        # thread that may take a moment to reach the disk.
        wait_for(lambda: ("queue back to normal", "alice") in self.audit_actions(), 5,
                 "the audit line of the back-to-normal mail")
        self.assertIn(("queue warn", "alice"), self.audit_actions())

    def test_2_a_queue_past_the_deletion_threshold_is_deleted_and_its_owner_told(self):
        self.fill("alice", "queue/alice/q2", 60)
        deleted = wait_for(lambda: self.mails_about("queue/alice/q2 was deleted"), 30,
                           "the deletion mail")
        self.assertEqual(len(deleted), 1)
        mail = deleted[0]
        self.assertEqual(mail["to"], ["alice@example.org"])
        seen = self.size_in_subject(mail, r"queue queue/alice/q2 was deleted \((\d+) messages\)",
                                    DELETE, 60)
        for part in ("queue/alice/q2", "owner alice", "%d messages" % seen,
                     "deletion threshold of %d" % DELETE):
            self.assertIn(part, mail["body"])
        print("---- deletion mail as received ----\n%s----" % mail["raw"].replace("\r\n", "\n"))
        self.assertIsNone(self.queue_size("alice", "queue/alice/q2"))
        # The management listing may still show the queue for a moment after
        # its deletion: the guardian then finds it gone, and mails nothing.
        wait_for(lambda: "queue/alice/q2" not in self.listed_queues(), 10,
                 "queue/alice/q2 to leave the management listing")
        self.wait_for_a_later_look()
        self.assertEqual(len(self.mails_about("queue/alice/q2")), 1)
        audit = [e for e in self.guardian_audit_lines() if e["action"] == "queue delete"]
        self.assertGreaterEqual(len(audit), 1)
        for later in audit[1:]:
            self.assertIn("it was gone already; no mail", later["detail"])
        self.assertEqual(audit[0]["actor"], "guardian")
        self.assertEqual(audit[0]["user"], "alice")
        self.assertIn("queue='queue/alice/q2' messages=%d" % seen, audit[0]["detail"])

    def test_3_an_exempt_queue_is_left_alone(self):
        out = self.svc.cli("queue", "exempt", "queue/alice/archive")
        self.assertIn("exempt (unbounded)", out)
        self.fill("alice", "queue/alice/archive", 60)
        wait_for(lambda: self.listed_queues().get("queue/alice/archive") == 60, 10,
                 "the archive's 60 messages in the management statistics")
        self.wait_for_a_later_look()
        self.assertEqual(self.queue_size("alice", "queue/alice/archive"), 60)
        self.assertEqual([m for m in self.mails() if "archive" in m["subject"]], [])
        lines, listing = self.queue_list()
        self.assertIn("queue/alice/q1", lines, listing)
        self.assertIn("exempt (unbounded)", lines["queue/alice/archive"])
        self.assertIn(" 60 ", lines["queue/alice/archive"])
        self.assertIn(" alice ", lines["queue/alice/q1"])
        # The state, then the account's owners, last.
        self.assertRegex(lines["queue/alice/q1"], r" ok +alice@example\.org$")

    def test_3b_queues_their_owner_bounded_are_left_alone(self):
        # The specification lets a subscriber bound its own queue: by its
        # x-max-length argument, or by a policy. At or below the deletion
        # threshold (50) it can never grow past it: never warned, deleted
        # or capped, however far past the warning threshold (20) it is.
        self.management("policies/%2F/pulse-bounded-test", "PUT", {
            "pattern": "^queue/alice/policed$", "apply-to": "queues",
            "definition": {"max-length": 30}})
        self.fill("alice", "queue/alice/bounded", 45, arguments={"x-max-length": 40})
        self.fill("alice", "queue/alice/policed", 45)
        wait_for(lambda: self.listed_queues().get("queue/alice/bounded") == 40 and
                 self.listed_queues().get("queue/alice/policed") == 30, 10,
                 "the bounded queues at their bounds in the management statistics")
        self.wait_for_a_later_look()
        self.assertEqual(self.queue_size("alice", "queue/alice/bounded"), 40)
        self.assertEqual(self.queue_size("alice", "queue/alice/policed"), 30)
        self.assertEqual([m["subject"] for m in self.mails()
                          if "bounded" in m["subject"] or "policed" in m["subject"]], [])
        lines, listing = self.queue_list()
        self.assertIn("bounded at 40", lines["queue/alice/bounded"], listing)
        self.assertIn("bounded at 30", lines["queue/alice/policed"], listing)
        # The warning mail says how: the probe's, of the look above.
        warning = self.mails_about("queue/alice/probe")
        self.assertTrue(warning, [m["subject"] for m in self.mails()])
        self.assertIn("x-max-length=%d" % DELETE, warning[0]["body"])

    def test_3a_an_account_without_owners_is_listed_so_and_not_mailed(self):
        self.ensure_guardian()
        # Imported from RabbitMQ with its own password, and no owner yet.
        password = "ivan-rabbit-password-1"
        salt = os.urandom(4)
        definitions = os.path.join(self.workdir, "definitions.json")
        with open(definitions, "w") as f:
            json.dump({"users": [{"name": "ivan", "tags": [],
                                  "hashing_algorithm": "rabbit_password_hashing_sha256",
                                  "password_hash": base64.b64encode(
                                      salt + hashlib.sha256(salt + password.encode()).digest())
                                  .decode()}],
                       "vhosts": [{"name": "/"}],
                       "permissions": [{"user": "ivan", "vhost": "/",
                                        "configure": "^(queue/ivan/.*|exchange/ivan/.*)",
                                        "write": "^(queue/ivan/.*|exchange/ivan/.*)",
                                        "read": "^(queue/ivan/.*|exchange/.*)"}]}, f)
        self.svc.cli("import", "definitions", definitions)
        self.wait_for_cli_change("import definitions", "ivan")
        GuardianE2E.tokens["ivan"] = password
        self.fill("ivan", "queue/ivan/orphan", WARN + 5)

        def warned():
            return [e for e in self.guardian_audit_lines()
                    if e["action"] == "queue warn" and e["user"] == "ivan"]
        warning = wait_for(warned, 30, "the guardian's warning about queue/ivan/orphan")
        self.assertIn("not mailed: the account has no owner", warning[0]["detail"])
        self.wait_for_a_later_look()
        self.assertEqual(self.mails_about("queue/ivan/orphan"), [])
        self.assertEqual(len(warned()), 1)
        lines, _ = self.queue_list()
        self.assertRegex(lines["queue/ivan/orphan"], r" ivan .* warned +no owner$")

    def test_4_a_non_topic_exchange_is_reported_to_its_owner(self):
        conn = self.connect("bob")
        conn.channel().exchange_declare("exchange/bob/fan", "fanout", durable=True)
        conn.close()
        reported = wait_for(lambda: self.mails_about("exchange/bob/fan does not follow"), 30,
                            "the exchange report")
        self.assertEqual(reported[0]["to"], ["bob@example.org"])
        self.assertIn("its type is fanout, not topic", reported[0]["body"])
        check = subprocess.run(
            [ARGS.authsvc, "exchange", "check",
             "--management-url", "http://127.0.0.1:%d" % self.broker.mgmt_port,
             "--management-user", "guardian-op", "--management-password-file",
             self.password_file],
            stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=scaled(30))
        self.assertEqual(check.returncode, 1, check.stderr)
        self.assertIn("exchange/bob/fan", check.stdout)
        self.assertIn("its type is fanout, not topic", check.stdout)
        self.assertNotIn("exchange/alice/q1", check.stdout)
        self.wait_for_a_later_look()
        self.assertEqual(len(self.mails_about("exchange/bob/fan")), 1)  # once
        # Reported, not deleted.
        conn = self.connect("bob")
        conn.channel().exchange_declare("exchange/bob/fan", "fanout", durable=True, passive=True)
        conn.close()

    def test_4a_a_non_ascii_queue_name_reaches_its_owner_intact(self):
        # User names are ASCII by the project's rules; queue names are not:
        # the guardian's subject (RFC 2047) and body (quoted-printable) must
        # carry this one as is, on a 7-bit wire. Two runs of 4-byte
        # characters, 2 bytes apart, so that whatever the subject's wording
        # around the name, the end of its first or second encoded word (45,
        # 90 bytes) falls inside one of them: a split the sink would report.
        queue = "queue/alice/café-ünï-" + "😀" * 10 + "xy" + "😀" * 10
        self.fill("alice", queue, 25)
        warned = wait_for(lambda: self.mails_about(queue + " holds"), 30,
                          "the warning about %s" % queue)
        self.assertEqual(len(warned), 1)
        mail = warned[0]  # mails() checked: no defects, ASCII on the wire
        self.assertEqual(mail["to"], ["alice@example.org"])
        self.size_in_subject(mail, r"queue %s holds (\d+) messages" % re.escape(queue), WARN, 25)
        self.assertIn(queue, mail["body"])
        print("---- non-ASCII warning as received ----\n%s----"
              % mail["raw"].replace("\r\n", "\n"))

    def test_5_live_connections_of_revoked_users_are_closed(self):
        bob = self.connect("bob")
        carol_old = self.connect("carol")
        dave = self.connect("dave")
        alice = self.connect("alice")
        # The guardian closes what the management API lists.
        def all_four():
            listed = self.listed_connections()
            return listed if [u for u, _ in listed] == ["alice", "bob", "carol", "dave"] else None
        before = dict(wait_for(all_four, 10, "the four connections in the management API"))
        started = time.monotonic()
        self.svc.cli("user", "disable", "bob")
        self.svc.cli("user", "delete", "dave")
        new_token = self.svc.cli("user", "rotate", "carol").splitlines()[-1]
        # serve puts the changed users in place before it writes the CLI's
        # audit lines: once the rotation's line is there, the new token logs
        # in. (Trying the token until it does would count the failures
        # toward carol's login throttle.)
        wait_for(lambda: [l for l in self.svc.audit_lines()
                          if l.get("actor") == "cli" and l.get("action") == "user rotate"
                          and l.get("user") == "carol"], 5,
                 "serve to load carol's rotated token")
        carol_new = self.connect("carol", new_token)
        for name, conn in (("bob", bob), ("dave", dave), ("carol's old", carol_old)):
            reason = self.wait_closed(conn, scaled(15))
            self.assertIsNotNone(reason, "%s connection still open" % name)
            self.assertIn("CONNECTION_FORCED", reason)
        print("revoked connections closed %.1f s after the CLI changes"
              % (time.monotonic() - started))
        # alice's connection and carol's new one stay open, however many
        # looks see them: wait until the listing has them (and no longer
        # the closed ones), then for a look after that. The management
        # statistics take in openings and closings late and not in order:
        # a listing of one alice and one carol may still be carol's old
        # connection, so the new one is the carol whose name is not the old.
        def only_kept():
            listed = self.listed_connections()
            if [u for u, _ in listed] != ["alice", "carol"]:
                return None
            return listed if dict(listed)["carol"] != before["carol"] else None
        kept = dict(wait_for(only_kept, 10,
                             "only alice's and carol's new connection in the management API"))

        def closes():
            return [e for e in self.guardian_audit_lines() if e["action"] == "connection close"]
        self.wait_for_a_later_look()
        for user, name in kept.items():
            self.assertFalse([e for e in closes() if "connection='%s'" % name in e["detail"]],
                             "%s's connection %s was closed" % (user, name))
        # And their clients agree (a close would have reached them by now).
        self.assertIsNone(self.wait_closed(alice, 0.2))
        self.assertIsNone(self.wait_closed(carol_new, 0.2))
        reasons = {}
        for e in closes():
            reasons.setdefault(e["user"], e["detail"])
        self.assertEqual(set(reasons), {"bob", "carol", "dave"})
        self.assertIn("user bob is disabled", reasons["bob"])
        self.assertIn("user dave was deleted", reasons["dave"])
        self.assertIn("token of user carol was rotated", reasons["carol"])

    def test_6_dry_run_changes_nothing_and_says_what_it_would_do(self):
        self.stop_guardian()
        before = len(self.mails())
        self.fill("alice", "queue/alice/q3", 60)
        wait_for(lambda: self.listed_queues().get("queue/alice/q3") == 60, 10,
                 "queue/alice/q3's 60 messages in the management statistics")
        r = subprocess.run(self.guardian_args() + ["--once", "--dry-run", "--audit-log",
                                                   os.path.join(self.workdir, "dry.log")],
                           stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           timeout=scaled(60))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("dry run: would queue delete 'queue/alice/q3'", r.stderr)
        self.assertIn("would mail alice@example.org", r.stderr)
        self.assertEqual(self.queue_size("alice", "queue/alice/q3"), 60)
        self.assertEqual(len(self.mails()), before)
        self.assertEqual(read_log(os.path.join(self.workdir, "dry.log")), "")

    def test_7_every_guardian_audit_line_is_json_with_actor_guardian_and_no_secret(self):
        lines = self.guardian_audit_lines()
        self.assertGreater(len(lines), 5)
        # The node first: serve's (its port) with the loop inside, or the
        # guardian's own, which listens on no port here: the host name alone.
        node = socket.gethostname()
        if ARGS.mode == "serve":
            node += ":%d" % self.svc.port
        for line in lines:
            self.assertEqual(line["actor"], "guardian")
            self.assertEqual(next(iter(line)), "node", line)
            self.assertEqual(line["node"], node, line)
        for path in (self.guardian_audit, self.guardian_err, self.svc.audit_log,
                     self.svc.stderr_log):
            text = read_log(path)
            self.assertNotIn("op-secret-1234", text)
            for token in self.tokens.values():
                self.assertNotIn(token, text)
        sent = [e for e in lines if e["action"] == "mail sent"]
        self.assertEqual(len(sent), len(self.mails()))

    def test_8_a_rotation_grace_keeps_both_tokens_then_closes_what_the_old_one_opened(self):
        self.ensure_guardian()
        log = Transcript("grace")
        out = self.add_account("gina", "--owner", "gina@example.org")
        old = self.tokens["gina"]
        log.command("authsvc user add gina --owner gina@example.org", out, {old: "<token A>"})
        before = self.connect("gina", old)
        log.step("connection 1 opened with token A")
        wait_for(lambda: "gina" in [u for u, _ in self.listed_connections()], 10,
                 "gina's connection in the management API")

        out = self.svc.cli("user", "rotate", "gina", "--grace", "20s")
        new = out.splitlines()[-1]
        self.assertNotEqual(new, old)
        log.command("authsvc user rotate gina --grace 20s", out,
                    {old: "<token A>", new: "<token B>"})
        GuardianE2E.tokens["gina"] = new
        self.wait_for_cli_change("user rotate", "gina")
        grace_end = self.account_time("gina", "previous_valid_until")

        # During the grace both tokens log in, and nothing is closed.
        self.assertTrue(self.login("gina", old), "the old token during the grace")
        log.step("login with token A: allowed (in the grace)")
        previous = wait_for(lambda: [line for line in self.svc.audit_lines()
                                     if line.get("endpoint") == "user"
                                     and line.get("user") == "gina"
                                     and line.get("credential") == "previous"], 5,
                            "serve's audit line of the login with the previous token")
        log.step("serve's audit line of it: %s" % json.dumps(previous[0]))
        self.assertTrue(self.login("gina", new), "the new token")
        log.step("login with token B: allowed")
        after = self.connect("gina", new)
        log.step("connection 2 opened with token B")
        wait_for(lambda: [u for u, _ in self.listed_connections()].count("gina") == 2, 10,
                 "gina's two connections in the management API")
        self.wait_for_a_later_look()
        self.assertLess(time.time(), grace_end, "the grace ended before the test could look: "
                        "the machine is too slow for a 20 s grace")
        self.assertIsNone(self.wait_closed(before, 0.2), "connection 1 closed in the grace")
        self.assertIsNone(self.wait_closed(after, 0.2), "connection 2 closed in the grace")
        self.assertEqual(self.closes_of("gina"), [])
        log.step("a guardian look later, still in the grace: connections 1 and 2 open")

        # After it only the new token logs in, and the guardian closes the
        # connection the old token opened before the rotation.
        self.wait_until(grace_end, "the end of gina's grace")
        self.assertFalse(self.login("gina", old), "the old token after the grace")
        log.step("grace over; login with token A: refused (403)")
        self.assertTrue(self.login("gina", new), "the new token after the grace")
        log.step("login with token B: allowed")
        reason = self.wait_closed(before, scaled(15))
        self.assertIsNotNone(reason, "connection 1 still open after the grace")
        self.assertIn("CONNECTION_FORCED", reason)
        log.step("connection 1 closed by the broker: %s" % reason)
        self.wait_for_a_later_look()
        self.assertIsNone(self.wait_closed(after, 0.2), "connection 2 closed")
        log.step("a guardian look later: connection 2 still open")
        closes = self.closes_of("gina")  # written before the later look's mail
        self.assertEqual(len(closes), 1, closes)
        self.assertIn("the grace of the previous credential of user gina ended",
                      closes[0]["detail"])
        log.step("guardian audit line: %s" % json.dumps(closes[0]))
        # serve's audit writer is a thread of its own: its line may lag the answer.
        refused = wait_for(lambda: [line for line in self.svc.audit_lines()
                                    if line.get("endpoint") == "user"
                                    and line.get("user") == "gina"
                                    and line.get("decision") == "deny"], 5,
                           "serve's audit line of the refused login")
        self.assertEqual(len(refused), 1, refused)
        log.step("serve's audit line of the refusal: %s" % json.dumps(refused[0]))
        log.save(ARGS.transcripts)

    def test_9_an_expired_account_is_refused_its_connection_closed_its_owners_told(self):
        self.ensure_guardian()
        owners = ["hal-a@example.org", "hal-b@example.org"]
        self.add_account("hal", "--owner", owners[0], "--owner", owners[1], "--expires", "30s")
        expires = self.account_time("hal", "expires_at")
        conn = self.connect("hal")
        wait_for(lambda: "hal" in [u for u, _ in self.listed_connections()], 10,
                 "hal's connection in the management API")

        # Both notices (10 and 2 minutes before) are due at once: the later
        # one alone goes, to each owner.
        notices = wait_for(lambda: len(self.mails_about("account hal expires")) >= 2 and
                           self.mails_about("account hal expires"), 20,
                           "the expiry notice to both owners")
        self.assertLess(time.time(), expires, "the notice must come before the expiry")
        self.assertEqual(sorted(m["to"] for m in notices), [[owners[0]], [owners[1]]])
        for mail in notices:
            self.assertRegex(mail["subject"], r"^\[Pulse\] account hal expires in "
                             r"(less than a minute|\d+ seconds?), on \d{4}-\d\d-\d\d "
                             r"\d\d:\d\d:\d\d UTC$")
            for part in ("The Pulse account hal expires on",
                         "authsvc user set hal --expires WHEN",
                         "the notice due 2m before the expiry",
                         "owners: %s, %s." % tuple(owners)):
                self.assertIn(part, mail["body"])
        # The guardian's line, with the recipients. (The store records an
        # event of its own for the notice, which serve copies into its
        # audit log: in --mode serve that log holds both.)
        audit = wait_for(lambda: [e for e in self.guardian_audit_lines()
                                  if e["action"] == "expiry notice" and e["user"] == "hal"
                                  and "mail to" in e["detail"]], 5,
                         "the guardian's audit line of the expiry notice")
        self.assertEqual(len(audit), 1, audit)
        self.assertIn("notice=2m before; mail to %s, %s queued" % tuple(owners), audit[0]["detail"])

        # Expired: refused at login, and its open connection closed.
        self.wait_until(expires, "hal's expiry")
        self.assertFalse(self.login("hal", self.tokens["hal"]), "login after the expiry")
        expired = wait_for(lambda: [line for line in self.svc.audit_lines()
                                    if line.get("endpoint") == "user"
                                    and line.get("user") == "hal"
                                    and line.get("rule") == "expired-user"], 5,
                           "serve's audit line of the refused login (expired-user)")
        self.assertEqual(len(expired), 1, expired)
        reason = self.wait_closed(conn, scaled(15))
        self.assertIsNotNone(reason, "hal's connection still open after the expiry")
        self.assertIn("CONNECTION_FORCED", reason)
        # The guardian writes the audit line after the broker closed it.
        closes = wait_for(lambda: self.closes_of("hal"), 5, "the audit line of the closure")
        self.assertEqual(len(closes), 1, closes)
        self.assertIn("the account hal expired at", closes[0]["detail"])

        # Once: a later look sends no second notice.
        self.wait_for_a_later_look()
        self.assertEqual(len(self.mails_about("account hal expires")), 2)
        if ARGS.transcripts:
            with open(os.path.join(ARGS.transcripts, "expiry-mails.txt"), "w") as f:
                f.write("# The expiry notices of account hal (expires 30 s after its creation;\n"
                        "# --expiry-notice %s), as the SMTP sink received them.\n"
                        % EXPIRY_NOTICE)
                for mail in notices:
                    f.write("\n==== envelope to %s ====\n%s" % (
                        ", ".join(mail["to"]), mail["raw"].replace("\r\n", "\n")))
                f.write("\n==== then ====\nlogin after the expiry: refused (%s)\n"
                        "connection closed by the broker: %s\nguardian audit: %s\n"
                        % (expired[0]["rule"], reason, json.dumps(closes[0])))

    def test_9a_a_user_left_in_the_brokers_own_database_is_reported(self):
        """A migration that forgot `rabbitmqctl delete_user`: the broker
        tries a login authsvc refuses against its internal database next,
        so bob's old password there still logs in. The guardian says so,
        once, and removes nothing."""
        self.ensure_guardian()
        self.broker.rabbitmqctl("add_user", "bob", "bobs-old-internal-password")
        try:
            # PulseGuardian's permissions, as a migration leaves them.
            self.broker.rabbitmqctl("set_permissions", "-p", "/", "bob",
                                    "^(queue/bob/.*|exchange/bob/.*)",
                                    "^(queue/bob/.*|exchange/bob/.*)",
                                    "^(queue/bob/.*|exchange/.*)")
            self.assertTrue(self.login("bob", "bobs-old-internal-password"),
                            "auth_backends.2 = internal lets the old password in: the risk")
            reports = wait_for(lambda: [e for e in self.guardian_audit_lines()
                                        if e["action"] == "internal user"], 30,
                               "the guardian's report of bob in the internal database")
            self.assertEqual([e["user"] for e in reports], ["bob"])
            self.assertIn("rabbitmqctl delete_user bob", reports[0]["detail"])
            self.assertNotIn("bobs-old-internal-password", json.dumps(reports))
            self.wait_for_a_later_look()
            self.assertEqual(len([e for e in self.guardian_audit_lines()
                                  if e["action"] == "internal user"]), 1, "reported once")
            self.assertIn("bob", self.broker.rabbitmqctl("list_users").stdout,
                          "reported, not removed")
        finally:
            self.broker.rabbitmqctl("delete_user", "bob")

    def test_9b_cap_mode_keeps_a_consumers_queue_and_bindings_through_a_burst(self):
        """erin's account caps instead of deleting (user set --over-limit
        cap). A burst of 120 messages at a consumer that holds one unacked:
        the queue is capped at 50 ready by an operator policy of the
        guardian's, which keeps the operator's own operator policy's
        settings; the oldest are dropped, the consumer and the binding stay,
        erin is mailed once; drained, the cap is lifted (mailed) and the
        operator's policy is in effect again, never changed."""
        self.ensure_guardian()
        queue, exchange = "queue/erin/burst", "exchange/erin/burst"
        theirs = {"pattern": "^queue/erin/", "apply-to": "queues", "priority": 3,
                  "definition": {"message-ttl": 3600000}}
        self.management("operator-policies/%2F/ops-ttl", "PUT", theirs)
        try:
            self.svc.cli("user", "set", "erin", "--over-limit", "cap")
            consumer = self.connect("erin")
            ch = consumer.channel()
            ch.exchange_declare(exchange, "topic", durable=True)
            ch.queue_declare(queue, durable=True)
            ch.queue_bind(queue, exchange, routing_key="#")
            ch.basic_qos(prefetch_count=1)
            held = []
            tag = ch.basic_consume(queue, lambda c, m, p, b: held.append(m))

            def serviced(check):
                consumer.process_data_events(time_limit=0)
                return check()

            publisher = self.connect("erin")
            pch = publisher.channel()
            pch.confirm_delivery()
            for i in range(120):
                pch.basic_publish(exchange, "burst.%d" % i, b'{"i": %d}' % i,
                                  pika.BasicProperties(delivery_mode=2,
                                                       content_type="application/json"))
            publisher.close()
            capped = wait_for(lambda: serviced(lambda: self.mails_about(queue + " is capped")),
                              30, "the mail that %s is capped" % queue)
            self.assertEqual(len(capped), 1)
            mail = capped[0]
            self.assertEqual(mail["subject"], "[Pulse] queue %s is capped at %d messages"
                             % (queue, DELETE))
            print("---- cap mail as received ----\n%s----" % mail["raw"].replace("\r\n", "\n"))
            cap = re.search(r"operator policy (authsvc-cap-[0-9a-f]{16})", mail["body"])
            self.assertIsNotNone(cap, mail["body"])
            cap = cap.group(1)
            for part in ("owner erin", "max-length %d" % DELETE, "Its bindings and consumers stay",
                         "rabbitmqctl clear_operator_policy -p / " + cap,
                         "fewer than %d ready" % WARN):
                self.assertIn(part, " ".join(mail["body"].split()))

            # The broker holds it there: the consumer's one unacked message,
            # the newest 50 ready; the binding and the consumer are there.
            # (The statistics say so within their interval, 0.5 s here.)
            info = wait_for(lambda: serviced(lambda: (lambda q: q if q and q.get(
                "messages_ready") == DELETE and q.get("operator_policy") == cap else None)(
                    self.queue_info(queue))), 10,
                "%s at %d ready messages under %s" % (queue, DELETE, cap))
            self.assertEqual(info["consumers"], 1)
            self.assertEqual(info["messages_unacknowledged"], 1)
            bindings = self.management("queues/%2F/" + urllib.parse.quote(queue, safe="")
                                       + "/bindings")
            self.assertIn(exchange, [b["source"] for b in bindings])
            ours = self.operator_policy(cap)
            self.assertEqual(ours["pattern"], "^queue\\/erin\\/burst\\z")
            self.assertEqual(ours["definition"], {"message-ttl": 3600000, "max-length": DELETE})
            self.assertEqual(ours["priority"], 4)
            self.assertEqual({k: self.operator_policy("ops-ttl")[k] for k in theirs}, theirs)
            lines, listing = self.queue_list()
            self.assertIn("capped at the deletion threshold", lines[queue], listing)

            # The oldest were dropped: after the held first message, the next
            # the consumer gets is the 71st published.
            ch.basic_ack(held[0].delivery_tag)
            wait_for(lambda: serviced(lambda: len(held) == 2), 10, "the next delivery")
            self.assertEqual(held[1].routing_key, "burst.70")
            self.wait_for_a_later_look()
            # Capped once, mailed once; a look in the middle of the burst
            # may have warned first (between the thresholds), once.
            subjects = [m["subject"] for m in self.mails_about(queue)]
            self.assertEqual(len([s for s in subjects if " is capped at " in s]), 1, subjects)
            warned = [s for s in subjects if re.search(r" holds \d+ messages$", s)]
            self.assertLessEqual(len(warned), 1, subjects)
            self.assertEqual(len(subjects), 1 + len(warned), subjects)

            # Drained: the cap goes, the operator's policy is back in effect.
            ch.basic_ack(held[1].delivery_tag)
            ch.basic_cancel(tag)
            ch.basic_consume(queue, lambda c, m, p, b: None, auto_ack=True)
            lifted = wait_for(lambda: serviced(lambda: self.mails_about(
                "the cap on queue %s is lifted" % queue)), 30, "the mail that the cap is lifted")
            self.assertEqual(len(lifted), 1)
            self.assertIn("back under the warning threshold", lifted[0]["body"])
            self.assertIsNone(self.operator_policy(cap))
            wait_for(lambda: serviced(lambda: self.queue_info(queue)["operator_policy"] ==
                                      "ops-ttl"), 10, "the operator's policy in effect again")
            self.assertEqual({k: self.operator_policy("ops-ttl")[k] for k in theirs}, theirs)
            self.assertEqual(self.queue_info(queue)["consumers"], 1)
            actions = [e["action"] for e in self.guardian_audit_lines() if e["user"] == "erin"]
            self.assertEqual(actions.count("queue cap"), 1, actions)
            self.assertEqual(actions.count("queue cap lift"), 1, actions)
            self.assertNotIn("queue delete", actions)
        finally:
            self.management("operator-policies/%2F/ops-ttl", "DELETE")

    def test_9c_a_deleted_queue_declared_again_is_told_once(self):
        """alice's consumer comes back after the guardian deleted its queue
        and declares it again: she is told once that it was deleted, when
        and why, and that what was published in between is lost for her."""
        self.ensure_guardian()
        queue = "queue/alice/again"
        self.fill("alice", queue, 60)
        deleted = wait_for(lambda: self.mails_about(queue + " was deleted ("), 30,
                           "the deletion mail")
        seen = self.size_in_subject(deleted[0], r"queue queue/alice/again was deleted \((\d+) "
                                    r"messages\)", DELETE, 60)
        conn = self.connect("alice")
        conn.channel().queue_declare(queue, durable=True)
        conn.close()
        back = wait_for(lambda: self.mails_about(queue + " was deleted on"), 30,
                        "the mail about %s declared again" % queue)
        self.assertRegex(back[0]["subject"], r"^\[Pulse\] queue queue/alice/again was deleted on "
                         r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC and declared again$")
        body = " ".join(back[0]["body"].split())
        for part in ("exists again", "when it held %d messages" % seen,
                     "past the deletion threshold of %d" % DELETE, "are lost for you"):
            self.assertIn(part, body)
        print("---- recreated-queue mail as received ----\n%s----"
              % back[0]["raw"].replace("\r\n", "\n"))
        self.wait_for_a_later_look()
        self.assertEqual(len(self.mails_about(queue + " was deleted on")), 1)
        self.assertEqual([(e["user"], e["detail"].split("'")[3])
                          for e in self.guardian_audit_lines()
                          if e["action"] == "queue recreated"], [("alice", queue)])

    def test_z_an_orphaned_queue_is_told_once(self):
        """Last, as it runs the guardian with --orphan-after 3s: every queue
        without a consumer gets its notice then. alice's queue nobody
        consumes is mailed once; her queue with a consumer is not."""
        self.stop_guardian()
        GuardianE2E.extra_guardian_args = ["--orphan-after", "3s"]
        try:
            busy = self.connect("alice")
            ch = busy.channel()
            ch.queue_declare("queue/alice/busy", durable=True)
            ch.basic_consume("queue/alice/busy", lambda c, m, p, b: None, auto_ack=True)
            self.fill("alice", "queue/alice/orphan", 5)
            wait_for(lambda: self.queue_info("queue/alice/busy").get("consumers") == 1, 10,
                     "the consumer of queue/alice/busy listed")
            self.start_guardian()
            orphan = wait_for(lambda: self.mails_about("queue/alice/orphan has had no consumer"),
                              30, "the orphan mail")
            self.assertRegex(orphan[0]["subject"], r"^\[Pulse\] queue queue/alice/orphan has had "
                             r"no consumer since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$")
            self.assertEqual(orphan[0]["to"], ["alice@example.org"])
            self.assertIn("it holds 5 messages", " ".join(orphan[0]["body"].split()))
            print("---- orphan mail as received ----\n%s----"
                  % orphan[0]["raw"].replace("\r\n", "\n"))
            # Its chance to tell again: looks for 3 s after the probe queue of
            # a later look was first seen, as the probe's own notice shows.
            self.wait_for_a_later_look()
            probe = "queue/alice/probe-%d" % GuardianE2E.probes
            wait_for(lambda: self.mails_about(probe + " has had no consumer"), 30,
                     "the orphan mail of " + probe)
            wait_for(self.outbox_empty, 10, "the guardian's outbox to be sent")
            self.assertEqual(len(self.mails_about("queue/alice/orphan has had")), 1)
            self.assertEqual(self.mails_about("queue/alice/busy"), [])
            # alice's older queues without a consumer get their notices too;
            # only these two queues are this test's.
            told = [e["detail"].split("'")[3] for e in self.guardian_audit_lines()
                    if e["action"] == "queue orphan"]
            self.assertEqual(told.count("queue/alice/orphan"), 1)
            self.assertNotIn("queue/alice/busy", told)
            busy.close()
        finally:
            self.stop_guardian()
            GuardianE2E.extra_guardian_args = []


class Transcript:
    """What a test saw, step by step with the time since it began, for
    people to read (--transcripts); secrets replaced before writing."""

    def __init__(self, name):
        self.name = name
        self.started = time.monotonic()
        self.lines = []

    def step(self, text):
        self.lines.append("[+%5.1f s] %s" % (time.monotonic() - self.started, text))

    def command(self, command, output, secrets):
        for secret, label in secrets.items():
            output = output.replace(secret, label)
        self.lines.append("[+%5.1f s] $ %s" % (time.monotonic() - self.started, command))
        self.lines.extend("           " + line for line in output.splitlines())

    def save(self, folder):
        if folder:
            with open(os.path.join(folder, self.name + ".txt"), "w") as f:
                f.write("\n".join(self.lines) + "\n")


def rfc3339_seconds(text):
    """Seconds since the epoch of authsvc's "2026-11-27T23:18:49.123456Z"."""
    whole, _, fraction = text.rstrip("Z").partition(".")
    seconds = calendar.timegm(time.strptime(whole, "%Y-%m-%dT%H:%M:%S"))
    return seconds + (float("0." + fraction) if fraction else 0.0)


def main():
    global ARGS
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--authsvc", required=True, help="the authsvc binary")
    parser.add_argument("--mode", choices=("guardian", "serve"), default="guardian")
    parser.add_argument("--transcripts", metavar="DIR",
                        help="write what the grace and expiry tests saw into DIR")
    ARGS, rest = parser.parse_known_args()
    run_suite(rest, "guardian e2e (%s)" % ARGS.mode)


if __name__ == "__main__":
    main()
