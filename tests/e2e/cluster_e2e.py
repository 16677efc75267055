#!/usr/bin/python3
"""End to end with several nodes, every part real: a three-node RabbitMQ 3.10
cluster on loopback (joined with `rabbitmqctl join_cluster`), each broker
node pointed at its own `authsvc serve`, the three sharing one PostgreSQL
primary with a streaming hot standby through libpq's multi-host URI:

    postgresql://authsvc_test@127.0.0.1:P1,127.0.0.1:P2/authsvc?target_session_attrs=read-write

    /usr/bin/python3 tests/e2e/cluster_e2e.py --authsvc build/authsvc/authsvc

The tests run in name order on one setup:
  01  each broker node sees the three running;
  02  users made by the CLI on the URI log in through every node, a wrong
      token is refused at every node;
  03  the Pulse flow across nodes: an exchange declared on A, a queue on B
      bound to it, messages published on A consumed on C, and what the
      rules deny denied, each on another node;
  04  `user disable` through the CLI is enforced by all three nodes;
  05  every audit line of a node names it, and each node's log holds the
      denials its broker node asked for and no other node's;
  06  the primary stopped: every node answers from memory and the CLI
      refuses in one line; started again, a change reaches every node;
  07  failover: while a thread asks the three authsvc directly, over and
      over, questions whose answers must not change, the primary is killed
      (kill -9); each node says on stderr that it lost the database and
      keeps answering from memory, through the brokers too, and the CLI
      refuses in one line; the standby is promoted; the CLI on the same URI
      works again and its change reaches every node, with no restart. No
      answer may be wrong; refusals and errors are counted. The figures are
      printed;
  08  the guardian lead survives `kill -9` of its node: each serve runs
      --guardian (--interval 1) against its own broker node's management
      API; the node holding the lead is found by its metric, a queue over
      the warning threshold is warned in one mail, that serve is killed
      (kill -9), another node's guardian takes the lead (how many intervals
      that took is printed), a second queue over the threshold is warned,
      and after two more of the new leader's looks the SMTP sink holds
      exactly two mails, one per queue: one warning each across the
      failover.

Every wait polls for the event it expects, with generous limits: how soon a
node reconnects after the failover is a figure, not an assertion.
"""

import argparse
import collections
import http.client
import os
import re
import shutil
import signal
import sys
import threading
import time
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
from authsvc_process import Authsvc, describe_exit  # noqa: E402
from broker import BrokerCluster  # noqa: E402
from broker_suite import ALLOWED, REFUSED, BrokerSuite  # noqa: E402
from postgres import PostgresServer  # noqa: E402
from smtp_sink_process import SmtpSink  # noqa: E402
from suite_runner import run_suite  # noqa: E402
from timing import scaled, wait_for  # noqa: E402

import pika  # noqa: E402

CONF_EXAMPLE = os.path.join(ROOT, "rabbitmq.conf.example")
NODES = ("a", "b", "c")
# How long a change or a reconnection may take before the test gives up:
# generous, because how soon it happens is measured, not asserted.
PATIENCE = 60
# The guardians (test_08): one looks each INTERVAL seconds; a queue holding
# WARN messages is warned about, one holding DELETE deleted.
INTERVAL = 1.0
WARN, DELETE = 20, 50
# Their account in the broker's internal backend, which authsvc must deny
# at once (--internal-user) so the broker asks the next backend.
OPERATOR, OPERATOR_PASSWORD = "guardian-op", "op-secret-1234"

ARGS = None  # set in main()


def node_label(i):
    return "authsvc-" + NODES[i]


class ClusterE2E(BrokerSuite):
    """One cluster, three authsvc and the PostgreSQL pair for the whole
    class; tests run in name order."""

    @classmethod
    def setUpClass(cls):
        # Each resource's cleanup is registered as soon as it exists, and
        # runs even if setUpClass fails later (broker_suite.py).
        cls.make_workdir("e2e_cluster", "authsvc-cluster-")
        cls.primary = PostgresServer(label="cluster-postgres")
        cls.addClassCleanup(cls.primary.close)
        cls.primary.start()
        cls.primary.create_database("authsvc")
        cls.standby = cls.primary.make_standby(label="cluster-postgres-standby")
        cls.addClassCleanup(cls.standby.close)  # raises unless it stops cleanly
        cls.uri = ("postgresql://%s@%s:%d,%s:%d/authsvc?target_session_attrs=read-write"
                   % (cls.primary.user, cls.primary.host, cls.primary.port,
                      cls.standby.host, cls.standby.port))
        # The nodes' own copy of the password (the primary's folder goes
        # when it is closed); only its owner may read it.
        cls.password_file = os.path.join(cls.workdir, "db-password")
        shutil.copyfile(cls.primary.password_file, cls.password_file)
        os.chmod(cls.password_file, 0o600)
        # Where the guardians mail (test_08); stopped last, after the nodes.
        cls.maildir = os.path.join(cls.workdir, "mail")
        os.mkdir(cls.maildir)
        cls.sink = SmtpSink(cls.maildir, os.path.join(cls.workdir, "sink.err")).start()
        cls.addClassCleanup(cls.sink.stop)
        cls.mgmt_password_file = os.path.join(cls.workdir, "management.password")
        with open(os.open(cls.mgmt_password_file, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
            f.write(OPERATOR_PASSWORD + "\n")

        cls.svcs = []
        for i, name in enumerate(NODES):
            folder = os.path.join(cls.workdir, "node-" + name)
            os.mkdir(folder)
            # The first runs `authsvc init` on the URI: the shared schema, once.
            svc = Authsvc(ARGS.authsvc, folder, label="cluster-" + node_label(i), db=cls.uri,
                          db_options=["--db-password-file", cls.password_file], init=i == 0,
                          serve_args=["--node-name", node_label(i),
                                      "--internal-user", OPERATOR,
                                      "--metrics-listen", "127.0.0.1:0"])
            cls.addClassCleanup(svc.keep_artifacts)  # after serve stopped
            svc.start()
            cls.addClassCleanup(svc.stop)  # raises unless serve exits 0
            cls.svcs.append(svc)

        # Statistics every 0.5 s instead of 5 s: queue sizes show sooner.
        cls.cluster = BrokerCluster(CONF_EXAMPLE, [svc.base_url for svc in cls.svcs],
                                    management=True,
                                    extra_conf="collect_statistics_interval = 500")
        cls.addClassCleanup(cls._check_broker_exits)  # after the stop below
        cls.addClassCleanup(cls.cluster.stop)
        cls.cluster.start()
        cls.brokers = cls.cluster.nodes
        cls.broker = cls.brokers[0]
        print("cluster of %s up in %.1f s (each node booted in %s s)"
              % (", ".join(b.node for b in cls.brokers), cls.cluster.start_seconds,
                 ", ".join("%.1f" % b.start_seconds for b in cls.brokers)), flush=True)
        # The guardians' operator account, in the cluster's internal
        # backend (every node has it once one node made it).
        cls.broker.rabbitmqctl("add_user", OPERATOR, OPERATOR_PASSWORD)
        cls.broker.rabbitmqctl("set_user_tags", OPERATOR, "administrator")
        cls.broker.rabbitmqctl("set_permissions", "-p", "/", OPERATOR, ".*", ".*", ".*")
        # Each node's guardian asks its own broker node's management API,
        # whose port is known only now: each serve starts again, on the
        # same port (the broker's configuration names it), with it.
        for svc, broker in zip(cls.svcs, cls.brokers):
            svc.stop()
            svc.serve_args += ["--guardian"] + cls.guardian_options(broker)
            svc.start()
        cls.tokens = {}
        cls.expected_denials = {}  # node index -> [(user, resource, name, permission)]
        cls.track_connections()

    @classmethod
    def guardian_options(cls, broker):
        return ["--management-url", "http://127.0.0.1:%d" % broker.mgmt_port,
                "--management-user", OPERATOR,
                "--management-password-file", cls.mgmt_password_file,
                "--interval", str(INTERVAL), "--warn", str(WARN), "--delete", str(DELETE),
                "--smtp-url", "smtp://127.0.0.1:%d" % cls.sink.port,
                "--mail-from", "guardian@pulse.example"]

    @classmethod
    def _check_broker_exits(cls):
        statuses = {b.node: b.exit_status for b in cls.cluster.nodes}
        if any(status != 0 for status in statuses.values()):
            raise AssertionError("a broker node did not exit 0 on SIGTERM: %s" % statuses)
        print("every broker node exited 0 on SIGTERM", flush=True)

    # -- helpers ---------------------------------------------------------------

    def add_user(self, name, node=2):
        """A user made by the CLI (on the multi-host URI, with node `node`'s
        options); its token in self.tokens."""
        self.tokens[name] = self.svcs[node].add_user(name)

    def wait_until_every_node_knows(self, user):
        """Polls each authsvc directly until it grants `user` the vhost /,
        which it does once the user is in its snapshot; returns the seconds
        that took. Not by logging in: each refused login of a name is a
        guess to the login throttle (per node), and five in a minute would
        lock the new user out of that node for the cool-off."""
        started = time.monotonic()
        for svc in self.svcs:
            wait_for(lambda: ask(svc.port, "vhost", {"username": user, "vhost": "/",
                                                     "ip": "127.0.0.1"}) == "allow",
                     PATIENCE, "%s to know %s" % (svc.base_url, user), interval=0.02)
        return time.monotonic() - started

    def assert_logs_in_everywhere(self, user):
        for broker in self.brokers:
            self.assertEqual(self.login_outcome(user, broker=broker), ALLOWED,
                             "%s on %s" % (user, broker.node))

    def wait_for_outcome_everywhere(self, expected, user, password=None):
        """Polls each broker node until `user` logging in there gets
        `expected`; returns the seconds it took until all did."""
        started = time.monotonic()
        for broker in self.brokers:
            seen = []

            def outcome():
                seen.append(self.login_outcome(user, password, broker=broker))
                return seen[-1] == expected
            try:
                wait_for(outcome, PATIENCE, "%s's login on %s to be %s"
                         % (user, broker.node, expected), interval=0.05)
            except AssertionError as e:
                answers = ", ".join("%s x%d" % kv for kv in collections.Counter(seen).items())
                raise AssertionError("%s; it answered: %s" % (e, answers)) from None
        return time.monotonic() - started

    def expect_denial(self, node, conn, action, denial):
        """`action` on `conn` (a connection to broker node `node`) is
        refused, and that node's authsvc must have said so (test_05)."""
        self.assertEqual(self.attempt(conn, action), REFUSED, denial)
        self.expected_denials.setdefault(node, []).append(denial)

    # -- the cluster -----------------------------------------------------------

    def test_01_every_node_sees_the_cluster(self):
        everyone = sorted(b.node for b in self.brokers)
        for broker in self.brokers:
            self.assertEqual(broker.running_nodes(), everyone)

    def test_02_cli_users_log_in_through_every_node(self):
        # Made while the three serve run: each learns of them from the
        # database, as it would of any change.
        for name in ("alice", "bob", "carol", "frank"):
            self.add_user(name)
        for name in ("alice", "bob", "carol"):
            self.wait_until_every_node_knows(name)
            self.assert_logs_in_everywhere(name)
        for broker in self.brokers:
            self.assert_login_refused("alice", "not-the-token", broker=broker)
            self.assert_login_refused("alice", self.tokens["bob"], broker=broker)
            self.assert_login_refused("mallory", "any-token", broker=broker)

    def test_03_pulse_flow_across_nodes(self):
        a, b, c = self.brokers
        alice_a = self.connect("alice", broker=a)
        bob_b = self.connect("bob", broker=b)
        ex, q = "exchange/alice/cluster", "queue/bob/cluster"
        self.assertEqual(self.attempt(alice_a, lambda ch: ch.exchange_declare(
            ex, exchange_type="topic", durable=True)), ALLOWED)
        self.assertEqual(self.attempt(bob_b, lambda ch: ch.queue_declare(q, durable=True)),
                         ALLOWED)
        # Bound to another user's exchange, which lives in the cluster.
        self.assertEqual(self.attempt(bob_b, lambda ch: ch.queue_bind(
            q, ex, routing_key="build.#")), ALLOWED)

        messages = [('{"build": %d, "node": "a"}' % i).encode() for i in range(20)]
        ch = alice_a.channel()
        ch.confirm_delivery()
        for i, body in enumerate(messages):
            ch.basic_publish(ex, "build.linux.%d" % i, body, pika.BasicProperties(
                content_type="application/json", delivery_mode=2))
        ch.close()

        # Consumed on C, from the queue declared on B, published on A.
        bob_c = self.connect("bob", broker=c)
        received = []
        sub = bob_c.channel()
        sub.basic_qos(prefetch_count=10)
        for method, _props, body in sub.consume(q, inactivity_timeout=scaled(10)):
            if method is None:
                break
            received.append(body)
            sub.basic_ack(method.delivery_tag)
            if len(received) == len(messages):
                break
        sub.cancel()
        self.assertEqual(received, messages)  # exactly these, in order
        self.assertIsNone(sub.basic_get(q)[0])  # and nothing more
        sub.close()

        # What the rules deny, each asked of another node's authsvc.
        self.expect_denial(2, bob_c, self.publish(ex, "build.x"),
                           ("bob", "exchange", ex, "write"))
        bob_a = self.connect("bob", broker=a)
        self.expect_denial(0, bob_a, lambda ch: ch.queue_declare("queue/alice/private"),
                           ("bob", "queue", "queue/alice/private", "configure"))
        alice_b = self.connect("alice", broker=b)
        self.expect_denial(1, alice_b, lambda ch: ch.basic_get(q), ("alice", "queue", q, "read"))
        self.expect_denial(1, alice_b, lambda ch: ch.exchange_declare(
            "exchange/bob/x", exchange_type="topic", durable=True),
            ("alice", "exchange", "exchange/bob/x", "configure"))
        # Bob's queue is untouched, and still his, on every node.
        for conn in (bob_a, bob_b, bob_c):
            self.assertEqual(self.attempt(conn, lambda ch: ch.queue_declare(
                q, durable=True, passive=True)), ALLOWED)

    def test_04_disable_is_enforced_by_every_node(self):
        self.svcs[0].cli("user", "disable", "carol")
        took = self.wait_for_outcome_everywhere(REFUSED, "carol")
        print("carol disabled through the CLI: refused by all three nodes within %.2f s"
              % took, flush=True)
        self.assert_logs_in_everywhere("alice")

    def test_05_each_audit_log_names_its_node_and_holds_its_questions(self):
        decisions = []
        for i, svc in enumerate(self.svcs):
            lines = svc.audit_lines()
            self.assertTrue(lines, svc.audit_log)
            names = collections.Counter(line.get("node") for line in lines)
            self.assertEqual(set(names), {node_label(i)}, "%s: %s" % (svc.audit_log, names))
            decisions.append([line for line in lines if "endpoint" in line])
            # Its broker node logged in through it.
            self.assertTrue([line for line in decisions[i] if line["endpoint"] == "user"
                             and line["decision"] == "allow"], svc.audit_log)
        for i in range(len(self.svcs)):
            for user, resource, name, permission in self.expected_denials.get(i, []):
                def denies(line):
                    return (line["endpoint"] == "resource" and line["user"] == user
                            and line["resource"] == resource and line["name"] == name
                            and line["permission"] == permission
                            and line["decision"] == "deny")
                where = [j for j in range(len(self.svcs)) if any(map(denies, decisions[j]))]
                self.assertEqual(where, [i], "%s %s %s %s denied in the logs of nodes %s"
                                 % (user, permission, resource, name,
                                    [node_label(j) for j in where]))

    # -- the database away -----------------------------------------------------

    def test_06_postgresql_stopped_and_started(self):
        """The primary stopped (the standby, read-only, stays): every node
        answers from memory, through its broker too, and the CLI refuses in
        one line; started again, the nodes reconnect by themselves and a new
        change reaches all three."""
        said_before = [len(read_text(svc.stderr_log)) for svc in self.svcs]
        stopped = time.monotonic()
        self.primary.stop()
        for svc, before in zip(self.svcs, said_before):
            wait_for(lambda: lost_database(svc, before), PATIENCE,
                     "%s to say on stderr that the database is gone" % svc.base_url)
        noticed = time.monotonic() - stopped
        self.assert_logs_in_everywhere("alice")
        self.wait_for_outcome_everywhere(REFUSED, "carol")  # still disabled, from memory
        asked = time.monotonic()
        r = self.svcs[0].cli("user", "add", "erin", "--owner", "erin@example.org", check=False)
        self.assert_refused_in_one_line(r)
        refused_in = time.monotonic() - asked

        self.primary.start()
        started = time.monotonic()
        self.assertNotIn("erin", self.svcs[0].cli("user", "list"),
                         "the refused add changed something")
        self.add_user("erin", node=0)
        cli_ok = time.monotonic()
        reached = self.wait_until_every_node_knows("erin")
        self.assert_logs_in_everywhere("erin")
        for svc in self.svcs:
            self.assertTrue(svc.running, svc.base_url)
        print("primary stopped: every node said so within %.2f s; the CLI refused in "
              "%.2f s (%s); started again: the CLI worked %.2f s later, and its change "
              "was on all three nodes %.2f s after that"
              % (noticed, refused_in, r.stderr.strip(), cli_ok - started, reached),
              flush=True)

    # -- failover --------------------------------------------------------------

    def test_07_failover_to_the_standby(self):
        alice, bob = self.tokens["alice"], self.tokens["bob"]
        # Questions whose right answer does not change during the test.
        questions = [
            ("alice logs in", "user", {"username": "alice", "password": alice}, "allow"),
            ("a wrong token", "user", {"username": "frank", "password": "not-" + alice}, "deny"),
            ("disabled carol", "user", {"username": "carol", "password": self.tokens["carol"]},
             "deny"),
            ("an unknown user", "user", {"username": "mallory", "password": bob}, "deny"),
            ("alice's vhost", "vhost", {"username": "alice", "vhost": "/",
                                        "ip": "::ffff:127.0.0.1"}, "allow"),
            ("alice's exchange", "resource", {
                "username": "alice", "vhost": "/", "resource": "exchange",
                "name": "exchange/alice/v9", "permission": "configure"}, "allow"),
            ("bob writes alice's", "resource", {
                "username": "bob", "vhost": "/", "resource": "exchange",
                "name": "exchange/alice/v9", "permission": "write"}, "deny"),
        ]
        prober = Prober([svc.port for svc in self.svcs], questions)
        prober.start()
        try:
            figures = self.fail_over(prober)
        finally:
            prober.stop()
        self.assertIsNone(prober.crash, "the prober thread failed")

        during = [a for a in prober.answers if figures["killed"] <= a.at <= figures["reached"]]
        wrong = [a for a in prober.answers if a.outcome in ("allow", "deny")
                 and a.outcome != a.expected]
        refused = [a for a in during if a.outcome not in ("allow", "deny")]
        per_node = collections.Counter(a.node for a in during)
        print("failover figures:\n"
              "  answers during the switch (kill -9 to the change on every node): %d "
              "(%s), of which refusals or errors: %d%s\n"
              "  answers in all: %d, wrong: %d\n"
              "  every node had said it lost the database %.2f s after kill -9\n"
              "  the CLI refused %d time(s), one line each, and worked again %.2f s after "
              "kill -9 (%.2f s after promote() returned)\n"
              "  its change reached all three nodes %.2f s after the CLI's commit "
              "(%.2f s after kill -9)"
              % (len(during), ", ".join("%s %d" % (node_label(n), per_node[n])
                                        for n in range(len(NODES))),
                 len(refused),
                 " (%s)" % ", ".join("%s x%d" % kv for kv in collections.Counter(
                     a.outcome for a in refused).items()) if refused else "",
                 len(prober.answers), len(wrong), figures["noticed"] - figures["killed"],
                 figures["cli_refusals"],
                 figures["cli_ok"] - figures["killed"], figures["cli_ok"] - figures["promoted"],
                 figures["reached"] - figures["cli_ok"], figures["reached"] - figures["killed"]),
              flush=True)
        self.assertEqual(wrong, [], "wrong answers during the failover")
        for n in range(len(NODES)):
            self.assertGreater(per_node[n], 0, "no answer from %s during the switch"
                               % node_label(n))

    def fail_over(self, prober):
        """Kills the primary, checks what happens while there is none,
        promotes the standby, and waits for a change to reach every node;
        returns the times (time.monotonic()) of each step."""
        # Evidence that every node was being asked before the kill.
        wait_for(lambda: prober.nodes_answered() == set(range(len(NODES))), PATIENCE,
                 "the prober's first answers from every node")
        said_before = [len(read_text(svc.stderr_log)) for svc in self.svcs]
        t = {"killed": time.monotonic()}
        self.primary.kill9()
        # Each node says so on stderr once it notices: the prober's answers
        # from then on are answers from memory.
        for svc, before in zip(self.svcs, said_before):
            wait_for(lambda: lost_database(svc, before), PATIENCE,
                     "%s to say on stderr that the database is gone" % svc.base_url)
        t["noticed"] = time.monotonic()

        # No primary: the nodes answer from memory, through their brokers
        # too, and the CLI refuses a change in one line.
        self.assert_logs_in_everywhere("alice")
        asked = time.monotonic()
        r = self.svcs[1].cli("user", "add", "dave", "--owner", "dave@example.org",
                             check=False)
        self.assert_refused_in_one_line(r)
        print("with no primary, the CLI refused in %.2f s: %s"
              % (time.monotonic() - asked, r.stderr.strip()), flush=True)

        self.standby.promote()
        t["promoted"] = time.monotonic()

        # The CLI on the same URI, until it reaches the new primary.
        tries = []

        def cli_works():
            tries.append(self.svcs[1].cli("user", "add", "dave", "--owner", "dave@example.org",
                                          check=False))
            if tries[-1].returncode == 0:
                return tries[-1]
            self.assert_refused_in_one_line(tries[-1])
            return None
        try:
            r = wait_for(cli_works, PATIENCE, "the CLI to work again after the promotion",
                         interval=0.1)
        except AssertionError as e:
            raise AssertionError("%s; it said: %s" % (e, tries[-1].stderr.strip())) from None
        t["cli_ok"] = time.monotonic()
        t["cli_refusals"] = len(tries)  # the one before the promotion, and all but the last
        self.tokens["dave"] = r.stdout.splitlines()[-1]

        # Each node, asked directly, until it has the change; then dave
        # logs in, directly and through every broker node.
        self.wait_until_every_node_knows("dave")
        t["reached"] = time.monotonic()
        for svc in self.svcs:
            self.assertEqual(ask(svc.port, "user", {"username": "dave",
                                                    "password": self.tokens["dave"]}),
                             "allow", svc.base_url)
        self.assert_logs_in_everywhere("dave")
        # The same processes, never restarted; what each said meanwhile.
        for i, svc in enumerate(self.svcs):
            self.assertTrue(svc.running, svc.base_url)
            said = [line for line in read_text(svc.stderr_log).splitlines()
                    if "database" in line]
            print("%s said: %s" % (node_label(i), " / ".join(said) or "nothing"), flush=True)
        return t

    # -- the guardian lead -----------------------------------------------------

    def test_08_guardian_lead_survives_kill_9_of_its_node(self):
        # test_06 and test_07 took the database away twice: whoever leads
        # now holds the lock on the promoted standby.
        first = self.wait_for_one_leader()
        killed = self.svcs[first]
        survivors = [i for i in range(len(NODES)) if i != first]
        print("%s leads the guardians" % node_label(first), flush=True)
        self.assertIn("lead taken", audit_actions(killed))

        # A queue over the warning threshold, through another node: one mail.
        self.fill("alice", "queue/alice/guarded", WARN + 5, broker=self.brokers[survivors[0]])
        wait_for(lambda: self.mails_about("queue/alice/guarded"), PATIENCE,
                 "the first warning")
        self.wait_for_later_looks(first)
        self.assertEqual(len(self.mails_about("queue/alice/guarded")), 1, self.mail_subjects())

        # Its node dies without a word; its broker node is left without an
        # authsvc, so the rest goes through the others.
        killed_at = time.monotonic()
        code = killed.kill9()
        self.assertEqual(code, -signal.SIGKILL, describe_exit(code))
        new = wait_for(lambda: self.leaders(), PATIENCE, "another node's guardian to lead")
        took = time.monotonic() - killed_at
        self.assertEqual(len(new), 1, [node_label(i) for i in new])
        new = new[0]
        print("%s took the guardian lead %.2f s after %s was killed: %.1f intervals of %.0f s"
              % (node_label(new), took, node_label(first), took / INTERVAL, INTERVAL),
              flush=True)
        self.assertIn(new, survivors)
        # The first queue is still over the threshold: the new leader finds
        # its notice in the store and mails nothing again.
        self.wait_for_later_looks(new)
        self.assertEqual(len(self.mails_about("queue/alice/guarded")), 1, self.mail_subjects())

        # A second queue over the threshold, on the other survivor: one more.
        other = [i for i in survivors if i != new][0]
        self.fill("bob", "queue/bob/guarded", WARN + 5, broker=self.brokers[other])
        wait_for(lambda: self.mails_about("queue/bob/guarded"), PATIENCE, "the second warning")
        self.wait_for_later_looks(new)
        self.assertEqual(len(self.mails_about("queue/bob/guarded")), 1, self.mail_subjects())
        # Only these two queues count: another may have been past the
        # threshold for a look too (test_03's, while its messages waited
        # for their consumer on a sanitizer's slow node), and warned and
        # cleared rightly.
        guarded = [s for s in self.mail_subjects() if "/guarded " in s]
        self.assertEqual(len(guarded), 2, self.mail_subjects())
        self.assertEqual(self.leaders(), [new])
        # Each leader's audit log holds its one warning, the standby's none.
        self.assertEqual(guarded_warnings(killed), ["alice"], killed.audit_log)
        self.assertEqual(guarded_warnings(self.svcs[new]), ["bob"])
        self.assertEqual(guarded_warnings(self.svcs[other]), [])

    def wait_for_one_leader(self):
        """The node whose guardian alone says it leads. After test_07's
        failover, the guardian that held the lock on the killed primary
        says so until its next look finds the lock's connection gone, and
        that look waits out the backoff of the look that failed with the
        primary: for a while, two may say they lead. How long that lasted
        is printed."""
        seen = []
        looks = {}  # node -> its good looks when first seen leading alone
        started = time.monotonic()

        def one_acting_leader():
            # Alone in saying it leads, and looking: a metric that says it
            # leads is as of the guardian's last ask.
            seen.append(self.leaders())
            if len(seen[-1]) != 1:
                return None
            node = seen[-1][0]
            done = metric(self.svcs[node], 'authsvc_guardian_looks_total{result="ok"}')
            return seen[-1] if done > looks.setdefault(node, done) else None
        try:
            leaders = wait_for(one_acting_leader, PATIENCE, "exactly one guardian to lead")
        except AssertionError as e:
            raise AssertionError("%s; it saw %s" % (e, sorted(set(
                ",".join(node_label(i) for i in s) for s in seen)))) from None
        twice = [s for s in seen if len(s) > 1]
        print("exactly one guardian led %.2f s after test_07 (two said they led in %d of %d "
              "polls)" % (time.monotonic() - started, len(twice), len(seen)), flush=True)
        return leaders[0]

    def leaders(self):
        """The nodes whose guardian says it leads, among those running."""
        return [i for i, svc in enumerate(self.svcs)
                if svc.running and metric(svc, "authsvc_guardian_leader") == 1]

    def wait_for_later_looks(self, node, looks=2):
        """Returns once node `node`'s guardian has made `looks` more looks
        that succeeded (each with its actions and mail): the chance to mail
        again, which the test then checks it did not take."""
        svc, name = self.svcs[node], 'authsvc_guardian_looks_total{result="ok"}'
        start = metric(svc, name)
        wait_for(lambda: metric(svc, name) >= start + looks, PATIENCE,
                 "%d more looks by %s's guardian" % (looks, node_label(node)))

    def assert_refused_in_one_line(self, r):
        self.assertEqual(r.returncode, 1, "stdout %r, stderr %r" % (r.stdout, r.stderr))
        self.assertEqual(r.stdout, "")
        self.assertEqual(r.stderr.count("\n"), 1, r.stderr)


def read_text(path):
    with open(path, errors="replace") as f:
        return f.read()


def lost_database(svc, before):
    """Whether `svc` has said on stderr, after its first `before`
    characters, that it cannot reload users: the line that says it lost
    the database (its guardian writes to stderr too)."""
    return "cannot reload users" in read_text(svc.stderr_log)[before:]


def metric(svc, name):
    """The value of the sample `name` (labels included) on the metrics
    listener of `svc`'s serve as last started (it says where on stderr)."""
    base = re.findall(r"metrics on (http://\S+)/metrics", read_text(svc.stderr_log))[-1]
    with urllib.request.urlopen(base + "/metrics", timeout=scaled(5)) as r:
        text = r.read().decode()
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    raise AssertionError("no %s in %s/metrics" % (name, base))


def audit_actions(svc):
    return [line.get("action") for line in svc.audit_lines()]


def guarded_warnings(svc):
    """The users of svc's "queue warn" audit lines about test_08's
    queue/<user>/guarded, in order."""
    return [line.get("user") for line in svc.audit_lines()
            if line.get("action") == "queue warn" and "/guarded" in line.get("detail", "")]


# ---------------------------------------------------------------------------
# Asking authsvc directly, as the broker does
# ---------------------------------------------------------------------------

def ask(port, endpoint, params, conn=None):
    """POSTs a question to authsvc's /auth/ENDPOINT; returns 'allow' or
    'deny' (the answer's first word), or raises OSError or
    http.client.HTTPException."""
    own = conn is None
    if own:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=scaled(5))
    try:
        conn.request("POST", "/auth/" + endpoint, urllib.parse.urlencode(params),
                     {"Content-Type": "application/x-www-form-urlencoded"})
        response = conn.getresponse()
        body = response.read().decode(errors="replace")
        if response.status != 200:
            return "HTTP %d" % response.status
        return (body.split() or [""])[0]
    finally:
        if own:
            conn.close()


Answer = collections.namedtuple("Answer", "at node question expected outcome")


class Prober:
    """A thread that asks every node each question in turn, over and over,
    on a kept-alive connection per node, and records every answer (an
    error or a refused connection is recorded as such, and the connection
    made again)."""

    def __init__(self, ports, questions):
        self.ports = ports
        self.questions = questions
        self.answers = []
        self.crash = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self._thread.start()

    def stop(self):
        self._stop.set()
        self._thread.join(scaled(30))
        if self._thread.is_alive():
            raise AssertionError("the prober did not stop")

    def nodes_answered(self):
        with self._lock:
            return {a.node for a in self.answers if a.outcome in ("allow", "deny")}

    def _run(self):
        conns = [None] * len(self.ports)
        try:
            while not self._stop.is_set():
                for n, port in enumerate(self.ports):
                    for name, endpoint, params, expected in self.questions:
                        if conns[n] is None:
                            conns[n] = http.client.HTTPConnection("127.0.0.1", port,
                                                                  timeout=scaled(5))
                        try:
                            outcome = ask(port, endpoint, params, conns[n])
                        except (OSError, http.client.HTTPException) as e:
                            outcome = "error: %s" % type(e).__name__
                            conns[n].close()
                            conns[n] = None
                        with self._lock:
                            self.answers.append(Answer(time.monotonic(), n, name, expected,
                                                       outcome))
                # A round asks 21 questions; a pause keeps the two cores for
                # the servers and the brokers.
                self._stop.wait(0.02)
        except BaseException as e:  # noqa: B902 -- reported by the test
            self.crash = e
        finally:
            for conn in conns:
                if conn is not None:
                    conn.close()


def main():
    global ARGS
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--authsvc", required=True, help="the authsvc binary")
    ARGS, rest = parser.parse_known_args()
    run_suite(rest, "e2e cluster")


if __name__ == "__main__":
    main()
