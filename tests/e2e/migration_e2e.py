#!/usr/bin/python3
"""End to end: migrating a running Pulse to authsvc, as the README says,
against real RabbitMQ 3.10 brokers, with users keeping their passwords.

    /usr/bin/python3 tests/e2e/migration_e2e.py --authsvc build/authsvc/authsvc \
        [--transcripts DIR]

1. A broker on its internal backend alone, as Pulse ran: users created with
   `rabbitmqctl add_user` (known passwords) and given PulseGuardian's
   permissions; two more loaded with `rabbitmqctl import_definitions` from
   hashes Python's hashlib made (tests/data/rabbit-password-vectors.json:
   SHA-512 and MD5), which the broker itself must accept.
2. `rabbitmqctl export_definitions` writes them out.
3. `authsvc import definitions` reads them in (a dry run first).
4. A second, fresh broker configured from rabbitmq.conf.example (authsvc
   first) accepts the *original* passwords from pika, and enforces the
   Pulse model on those users, where the first broker's regexes did not.

--transcripts DIR keeps the dry run's report (dry-run.txt) and a login with
an imported password (imported-login.txt) there.
"""

import argparse
import json
import os
import sys

from pika.exceptions import ChannelClosedByBroker, ProbableAuthenticationError

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
from broker import Broker  # noqa: E402
from broker_suite import BrokerSuite  # noqa: E402
from suite_runner import run_suite  # noqa: E402
from timing import wait_for  # noqa: E402

CONF_EXAMPLE = os.path.join(ROOT, "rabbitmq.conf.example")
VECTORS = os.path.join(ROOT, "tests", "data", "rabbit-password-vectors.json")

ARGS = None  # set in main()

# Test-only passwords, as people chose them (so: not tokens).
PASSWORDS = {
    "alice": "alice-Pulse-2019",
    "bob": "b\u00f6b's p\u00e4ssword",  # UTF-8 and a space
}
# Loaded as hashes: hashlib's vectors, by algorithm.
HASHED_USERS = {"carol": "rabbit_password_hashing_sha512", "dave": "rabbit_password_hashing_md5"}


# PulseGuardian's permissions (pulseguardian/model/pulse_user.py).
def pulseguardian_permissions(user):
    own = "^(queue/%s/.*|exchange/%s/.*)" % (user, user)
    return own, own, "^(queue/%s/.*|exchange/.*)" % user


def hashed_user(algorithm):
    """(password, password_hash) of the vector for `algorithm` with a UTF-8
    password."""
    with open(VECTORS) as f:
        for v in json.load(f):
            if v["algorithm"] == algorithm and any(ord(c) > 127 for c in v["password"]):
                return v["password"], v["password_hash"]
    raise AssertionError("no UTF-8 vector for " + algorithm)


class MigrationE2E(BrokerSuite):
    """Tests run in name order, on one migration done in setUpClass."""

    @classmethod
    def setUpClass(cls):
        cls.make_workdir("e2e_migration", "authsvc-migration-")
        cls.passwords = dict(PASSWORDS)
        cls.track_connections()
        cls.export = os.path.join(cls.workdir, "definitions.json")
        cls.run_pulse_broker()
        cls.start_authsvc(ARGS.authsvc, "migration")
        cls.dry_run = cls.svc.cli("import", "definitions", cls.export, "--dry-run")
        cls.imported = cls.svc.cli("import", "definitions", cls.export)
        cls.broker = Broker(CONF_EXAMPLE, cls.svc.base_url)
        cls.addClassCleanup(cls.broker.stop)
        cls.broker.start()
        if ARGS.transcripts:
            os.makedirs(ARGS.transcripts, exist_ok=True)
            with open(os.path.join(ARGS.transcripts, "dry-run.txt"), "w") as f:
                f.write("$ authsvc import definitions definitions.json --dry-run\n")
                f.write(cls.dry_run)

    @classmethod
    def run_pulse_broker(cls):
        """Steps 1 and 2, on a broker that authenticates with its internal
        database alone; stopped again once the definitions are exported."""
        pulse = cls.broker = Broker(CONF_EXAMPLE, "http://127.0.0.1:9",
                                    extra_conf="auth_backends.1 = internal")
        try:
            pulse.start()
            for user, password in PASSWORDS.items():
                pulse.rabbitmqctl("add_user", user, password)
            # A name authsvc does not accept, created as RabbitMQ allows.
            pulse.rabbitmqctl("add_user", "9lives", "whatever-1")
            users = []
            for user, algorithm in HASHED_USERS.items():
                password, password_hash = hashed_user(algorithm)
                cls.passwords[user] = password
                users.append({"name": user, "password_hash": password_hash,
                              "hashing_algorithm": algorithm, "tags": []})
            loaded = os.path.join(cls.workdir, "hashed-users.json")
            with open(loaded, "w") as f:
                json.dump({"users": users}, f)
            pulse.rabbitmqctl("import_definitions", loaded)
            for user in list(PASSWORDS) + list(HASHED_USERS) + ["9lives"]:
                configure, write, read = pulseguardian_permissions(user)
                pulse.rabbitmqctl("set_permissions", "-p", "/", user, configure, write, read)
            # The broker accepts hashlib's hashes: the vectors are RabbitMQ's format.
            for user in cls.passwords:
                BrokerSuite.connect(cls, user, cls.passwords[user]).close()
            # What the regexes allow and the rules will not: a queue named
            # like an exchange of alice's.
            conn = BrokerSuite.connect(cls, "alice", cls.passwords["alice"])
            conn.channel().queue_declare("exchange/alice/sneaky")
            conn.close()
            pulse.rabbitmqctl("export_definitions", cls.export)
        finally:
            pulse.stop()
            cls.broker = None

    # -- helpers ---------------------------------------------------------------

    def connect(self, user, password=None, vhost="/"):
        return super().connect(user, self.passwords[user] if password is None else password, vhost)

    def refused(self, conn, action):
        ch = conn.channel()
        with self.assertRaises(ChannelClosedByBroker) as caught:
            action(ch)
        self.assertEqual(caught.exception.reply_code, 403, caught.exception.reply_text)

    # -- tests -----------------------------------------------------------------

    def test_01_the_export_is_rabbitmq_310s(self):
        with open(self.export) as f:
            doc = json.load(f)
        self.assertTrue(doc["rabbit_version"].startswith("3.10."), doc["rabbit_version"])
        algorithms = {u["name"]: u["hashing_algorithm"] for u in doc["users"]}
        self.assertEqual(algorithms["alice"], "rabbit_password_hashing_sha256")
        self.assertEqual(algorithms["carol"], "rabbit_password_hashing_sha512")
        self.assertEqual(algorithms["dave"], "rabbit_password_hashing_md5")

    def test_02_the_dry_run_reports_and_changes_nothing(self):
        self.assertIn("To import: 4 users; skipped: 2 users.", self.dry_run)
        self.assertIn("  skip guest: tagged administrator", self.dry_run)
        self.assertIn("  skip 9lives: not a name authsvc accepts", self.dry_run)
        self.assertIn("differs: alice in vhost '/': queue configure 'exchange/alice/sneaky': "
                      "broker allows, authsvc denies", self.dry_run)
        # PulseGuardian's regexes, plus the queue alice declared: hers, and
        # readable by all (exchange/.*).
        self.assertIn("18 differences each, 1 user in a vhost: alice in '/'", self.dry_run)
        self.assertIn("16 differences each, 3 users in a vhost: bob in '/', carol in '/', "
                      "dave in '/'", self.dry_run)
        self.assertIn("differs: bob in vhost '/': queue read 'exchange/alice/sneaky': "
                      "broker allows, authsvc denies", self.dry_run)
        self.assertIn("Dry run: nothing was changed.", self.dry_run)
        for password in self.passwords.values():
            self.assertNotIn(password, self.dry_run)
        self.assertIn("Imported 4 users.", self.imported)

    def test_03_original_passwords_log_in_through_authsvc(self):
        for user in ("alice", "bob", "carol", "dave"):
            with self.subTest(user=user):
                self.connect(user).close()
                with self.assertRaises(ProbableAuthenticationError):
                    self.connect(user, self.passwords[user] + "x")
        # Skipped users exist in neither authsvc nor this broker.
        with self.assertRaises(ProbableAuthenticationError):
            self.connect("9lives", "whatever-1")
        # The audit log is written by serve's own thread: wait for the lines.
        def allowed_logins():
            lines = [line for line in self.svc.audit_lines()
                     if line.get("endpoint") == "user" and line.get("decision") == "allow"]
            return lines if {line["user"] for line in lines} >= {"alice", "bob", "carol",
                                                                  "dave"} else None
        logins = wait_for(allowed_logins, 10, "the four logins in serve's audit log")
        self.assertEqual({line["user"] for line in logins}, {"alice", "bob", "carol", "dave"})
        for line in logins:
            self.assertEqual(line["reason"], "imported password accepted")
        if ARGS.transcripts:
            alice = [line for line in logins if line["user"] == "alice"][0]
            with open(os.path.join(ARGS.transcripts, "imported-login.txt"), "w") as f:
                f.write("RabbitMQ 3.10 (auth_backends.1 = http -> authsvc), pika, user alice, "
                        "the password she had in the broker's internal database:\n")
                f.write("connection opened: yes; with one character more: refused "
                        "(403 ACCESS_REFUSED)\n")
                f.write("authsvc's audit line for the login:\n%s\n" % json.dumps(alice))

    def test_04_the_pulse_model_is_enforced_on_imported_users(self):
        alice, bob = self.connect("alice"), self.connect("bob")
        ch = alice.channel()
        ch.exchange_declare("exchange/alice/builds", "topic")
        ch.close()
        ch = bob.channel()
        ch.queue_declare("queue/bob/q")
        ch.queue_bind("queue/bob/q", "exchange/alice/builds", "a.#")
        ch.close()
        ch = alice.channel()
        ch.confirm_delivery()  # a refused publish closes the channel here, not later
        ch.basic_publish("exchange/alice/builds", "a.b", b"hello")
        ch.close()
        ch = bob.channel()
        method, _, body = ch.basic_get("queue/bob/q", auto_ack=True)
        self.assertEqual(body, b"hello")
        ch.close()

        def publish(exchange):
            def action(ch):
                ch.confirm_delivery()
                ch.basic_publish(exchange, "a.b", b"x")
            return action
        # The first broker let alice declare this queue; authsvc does not.
        self.refused(alice, lambda ch: ch.queue_declare("exchange/alice/sneaky"))
        self.refused(alice, lambda ch: ch.exchange_declare("exchange/bob/x", "topic"))
        self.refused(alice, publish("amq.topic"))
        self.refused(alice, publish(""))  # the default exchange, checked as amq.default
        self.refused(alice, lambda ch: ch.queue_declare("queue/bob/q"))
        self.refused(bob, lambda ch: ch.exchange_declare("queue/bob/x", "topic"))
        for c in (alice, bob):
            c.close()

    def test_05_rotation_replaces_the_legacy_password_with_a_token(self):
        token = self.svc.cli("user", "rotate", "dave").splitlines()[-1]
        self.assertEqual(len(token), 43)

        def old_password_refused():
            try:
                self.connect("dave").close()
            except ProbableAuthenticationError:
                return True
            return False
        # The server sees the change within a second.
        wait_for(old_password_refused, 5, "dave's imported password to stop working")
        self.connect("dave", token).close()


def main():
    global ARGS
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--authsvc", required=True, help="the authsvc binary")
    parser.add_argument("--transcripts", help="keep the dry run's report and a login here")
    ARGS, rest = parser.parse_known_args()
    run_suite(rest, "e2e migration")


if __name__ == "__main__":
    main()
