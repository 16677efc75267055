"""What the end-to-end suites against a real broker set up alike: a work
folder, authsvc serving from it with its users, and the AMQP connections
the tests open.

    class PulseE2E(BrokerSuite):
        @classmethod
        def setUpClass(cls):
            cls.make_workdir("e2e_pulse_post", "authsvc-e2e-")
            cls.start_authsvc(binary, "pulse-post")
            cls.add_users("alice", "bob")       # cls.tokens
            cls.broker = Broker(...)            # the suite's own; then start it
            cls.track_connections()

        def test_x(self):
            conn = self.connect("alice")        # as alice, with her token
            self.assertEqual(self.attempt(conn, lambda ch: ch.queue_declare("queue/bob/q")),
                             REFUSED)           # the channel closed with 403
            self.login_outcome("bob", broker=other)   # ALLOWED, REFUSED or VHOST_REFUSED

`broker=` picks another broker than cls.broker (a cluster's node).

Each resource's class cleanup is registered as soon as it exists: class
cleanups run (last registered first) also when setUpClass fails half-way,
e.g. when the broker does not start, and each runs even if one before it
raised; their errors fail the run.
"""

import glob
import json
import os
import shutil
import sqlite3
import sys
import tempfile
import unittest

import pika
from pika.exceptions import (ChannelClosedByBroker, ProbableAccessDeniedError,
                             ProbableAuthenticationError)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from authsvc_process import Authsvc  # noqa: E402
from smtp_sink_process import SmtpSink  # noqa: E402
from timing import scaled  # noqa: E402
import token_ledger  # noqa: E402  (tests/, on the path through authsvc_process)

ALLOWED, REFUSED = "allowed", "refused"
VHOST_REFUSED = "vhost refused"  # only while a change is being loaded


class BrokerSuite(unittest.TestCase):
    """A suite's class: set up once (setUpClass), with a broker in
    cls.broker that the suite makes itself."""

    @classmethod
    def make_workdir(cls, run, prefix):
        """Notes the run (its CTest name) in the token ledger, and makes
        cls.workdir, a fresh folder removed at the end."""
        token_ledger.note_run(run)
        cls.workdir = tempfile.mkdtemp(prefix=prefix)
        cls.addClassCleanup(shutil.rmtree, cls.workdir, ignore_errors=True)

    @classmethod
    def start_authsvc(cls, binary, label, **options):
        """cls.svc: authsvc serving from cls.workdir (Authsvc's options);
        stopped at the end, which raises if serve did not exit 0, and its
        logs kept as artifacts after that."""
        cls.svc = Authsvc(binary, cls.workdir, label=label, **options)
        cls.addClassCleanup(cls.svc.keep_artifacts)  # after serve stopped
        cls.svc.start()
        cls.addClassCleanup(cls.svc.stop)

    @classmethod
    def add_users(cls, *names):
        """Adds each user with the address NAME@example.org; their tokens
        in cls.tokens."""
        cls.tokens = {}
        for name in names:
            cls.tokens[name] = cls.svc.add_user(name, "--email", name + "@example.org")

    @classmethod
    def start_smtp_sink(cls):
        """cls.sink, a real SMTP server (smtp_sink.py) that writes each mail
        it takes into cls.maildir, a folder of cls.workdir; stopped at the
        end, which raises if it failed to keep a mail."""
        cls.maildir = os.path.join(cls.workdir, "mail")
        os.mkdir(cls.maildir)
        cls.sink = SmtpSink(cls.maildir, os.path.join(cls.workdir, "sink.err")).start()
        cls.addClassCleanup(cls.sink.stop)

    @classmethod
    def secret_file(cls, name, secret):
        """A file of cls.workdir whose first line is `secret`, readable by
        its owner alone, as authsvc wants its password files."""
        path = os.path.join(cls.workdir, name)
        with open(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
            f.write(secret + "\n")
        return path

    @classmethod
    def add_operator(cls, name, password, broker=None):
        """An operator account in the broker's internal backend (cls.broker
        unless given), as README recommends for the guardian: the
        administrator tag and every permission on vhost /."""
        broker = broker or cls.broker
        broker.rabbitmqctl("add_user", name, password)
        broker.rabbitmqctl("set_user_tags", name, "administrator")
        broker.rabbitmqctl("set_permissions", "-p", "/", name, ".*", ".*", ".*")

    def outbox_empty(self):
        """Whether the guardian's outbox (in serve's SQLite database) holds
        no mail."""
        db = sqlite3.connect("file:%s?mode=ro" % self.svc.db, uri=True, timeout=scaled(5))
        try:
            return db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0] == 0
        finally:
            db.close()

    @classmethod
    def track_connections(cls):
        """From now on connect() keeps each connection, to close those
        still open at the end (before the class cleanups registered so far,
        the broker's stop among them)."""
        cls.open_connections = []
        cls.addClassCleanup(cls._close_connections)

    @classmethod
    def _close_connections(cls):
        for c in cls.open_connections:
            try:
                c.close()
            except Exception:
                pass  # closed by the broker, or already by the test

    def fill(self, user, queue, count, broker=None):
        """`queue`, bound to an exchange of `user`'s (exchange/USER/LAST
        PART OF QUEUE), holding `count` persistent messages, published with
        confirms through `broker` (cls.broker unless given)."""
        conn = self.connect(user, broker=broker)
        ch = conn.channel()
        ch.confirm_delivery()
        exchange = "exchange/%s/%s" % (user, queue.rsplit("/", 1)[-1])
        ch.exchange_declare(exchange, "topic", durable=True)
        ch.queue_declare(queue, durable=True)
        ch.queue_bind(queue, exchange, routing_key="#")
        for i in range(count):
            ch.basic_publish(exchange, "test.%d" % i, b"{}",
                             pika.BasicProperties(delivery_mode=2))
        conn.close()

    def mail_subjects(self):
        """The subjects of the mails the SMTP sink (smtp_sink.py) wrote
        into cls.maildir, in the order it took them."""
        out = []
        for path in sorted(glob.glob(os.path.join(self.maildir, "*.json"))):
            with open(path) as f:
                out.append(json.load(f)["subject"])
        return out

    def mails_about(self, queue):
        return [s for s in self.mail_subjects() if (" %s " % queue) in s]

    def connect(self, user, password=None, vhost="/", broker=None):
        """An AMQP connection to the broker (cls.broker unless `broker` is
        given) as `user`, with its token in cls.tokens unless `password` is
        given; after track_connections()."""
        params = pika.ConnectionParameters(
            "127.0.0.1", (broker or self.broker).amqp_port, vhost,
            pika.PlainCredentials(user, self.tokens[user] if password is None else password),
            connection_attempts=1, blocked_connection_timeout=scaled(10),
            socket_timeout=scaled(10))
        conn = pika.BlockingConnection(params)
        self.open_connections.append(conn)
        return conn

    # -- what the broker answered ------------------------------------------------

    def assert_login_refused(self, user, password=None, vhost="/", broker=None):
        with self.assertRaises(ProbableAuthenticationError) as caught:
            self.connect(user, password, vhost, broker)
        self.assertIn("403", str(caught.exception))
        self.assertIn("ACCESS_REFUSED", str(caught.exception))

    def login_outcome(self, user, password=None, broker=None):
        """ALLOWED (the connection is closed again), REFUSED (403
        ACCESS_REFUSED), or VHOST_REFUSED (530): a login that straddled
        authsvc's reload of a change, its user check answered before and
        its vhost check after."""
        try:
            self.connect(user, password, broker=broker).close()
        except ProbableAuthenticationError as e:
            self.assertIn("403", str(e))
            self.assertIn("ACCESS_REFUSED", str(e))
            return REFUSED
        except ProbableAccessDeniedError as e:
            self.assertIn("530", str(e))
            return VHOST_REFUSED
        return ALLOWED

    def attempt(self, conn, action):
        """Runs action(channel) on a fresh channel: ALLOWED, or REFUSED if
        the broker closed the channel with 403 ACCESS_REFUSED."""
        ch = conn.channel()
        try:
            action(ch)
        except ChannelClosedByBroker as e:
            self.assertEqual(e.reply_code, 403, e.reply_text)
            self.assertIn("ACCESS_REFUSED", e.reply_text)
            return REFUSED
        if ch.is_open:
            ch.close()
        return ALLOWED

    @staticmethod
    def publish(exchange, key, body=b'{"n": 0}'):
        """An action for attempt(): one persistent JSON message, confirmed."""
        def action(ch):
            ch.confirm_delivery()
            ch.basic_publish(exchange, key, body, pika.BasicProperties(
                content_type="application/json", delivery_mode=2))
        return action
