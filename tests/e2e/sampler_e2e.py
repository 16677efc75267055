#!/usr/bin/python3
"""End to end: the guardian's message sampler (`serve --guardian
--sample-messages`) against a real RabbitMQ 3.10 with the management
plugin, and a real SMTP server on loopback (aiosmtpd).

    /usr/bin/python3 tests/e2e/sampler_e2e.py --authsvc build/authsvc/authsvc

alice publishes a message that is not JSON, one that is not UTF-8, a
text/plain one, a 20 KiB one, a transient one, one without a routing key,
JSON nested past any depth limit, and control characters in a routing key
and a payload; bob publishes compliant messages. alice's owners get one
mail per kind of violation, bob's none; `exchange list` and `exchange show`
say the same, and so do their report cards (`authsvc report`, with bob
publishing over a confirm channel and consuming with a prefetch limit,
alice without either); a restart mails nothing again; a 3 MiB and a 100
MB message leave serve's memory where it was; the broker dropping the
sampler's connection is reported once, and the sampler comes back by
itself; over amqps:// the broker's certificate is checked against
--sample-ca-file: the right CA samples, another is refused.

Every assertion is on what really happened: a mail the SMTP server
received, a queue and a binding the broker lists, what the CLI printed.
"""

import argparse
import base64
import json
import os
import re
import subprocess
import sys
import urllib.parse
import urllib.request

import pika

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
from broker import Broker  # noqa: E402
from broker_suite import BrokerSuite  # noqa: E402
from ports import free_port  # noqa: E402
from tls_e2e import make_pki  # noqa: E402
from suite_runner import run_suite  # noqa: E402
from timing import scaled, wait_for  # noqa: E402

CONF_EXAMPLE = os.path.join(ROOT, "rabbitmq.conf.example")
OPERATOR, OPERATOR_PASSWORD = "sampler-op", "op-secret-5678"
ALICE_X, BOB_X = "exchange/alice/events", "exchange/bob/events"
RATE = 600  # a message an exchange every 100 ms: the tests need not wait
KINDS = {
    "not-utf8": "messages that are not UTF-8",
    "not-json": "messages that are not JSON",
    "content-type": "messages whose content type is not application/json",
    "oversize": "messages larger than 8 KiB",
    "transient": "messages that are not persistent",
    "no-routing-key": "messages without a routing key",
}
ARGS = None


class SamplerE2E(BrokerSuite):
    """One broker, one serve with its guardian and sampler, one SMTP sink;
    tests run in name order."""

    @classmethod
    def setUpClass(cls):
        cls.make_workdir("e2e_sampler", "authsvc-sampler-e2e-")
        cls.start_authsvc(ARGS.authsvc, "sampler", serve_args=["--internal-user", OPERATOR])
        cls.add_users("alice", "bob")
        cls.start_smtp_sink()
        cls.password_file = cls.secret_file("management.password", OPERATOR_PASSWORD)
        # An AMQPS listener too, for the sampler over TLS (test_7), with a
        # certificate for localhost from a CA of the test's own.
        cls.pki = make_pki(cls.workdir)
        cls.amqps_port = free_port()
        cls.broker = Broker(CONF_EXAMPLE, cls.svc.base_url, management=True,
                            extra_conf="\n".join([
                                "collect_statistics_interval = 500",
                                "listeners.ssl.default = %d" % cls.amqps_port,
                                "ssl_options.cacertfile = " + cls.pki["ca.pem"],
                                "ssl_options.certfile = " + cls.pki["server.pem"],
                                "ssl_options.keyfile = " + cls.pki["server.key"],
                                "ssl_options.verify = verify_none",
                                "ssl_options.fail_if_no_peer_cert = false"]))
        cls.addClassCleanup(cls.broker.stop)
        cls.broker.start()
        cls.add_operator(OPERATOR, OPERATOR_PASSWORD)
        cls.track_connections()
        # The exchanges exist before the sampler looks; bob listens to
        # alice's, as a Pulse consumer does.
        conn = cls.connect(cls, "alice")
        conn.channel().exchange_declare(ALICE_X, "topic", durable=True)
        conn.close()
        conn = cls.connect(cls, "bob")
        ch = conn.channel()
        ch.exchange_declare(BOB_X, "topic", durable=True)
        ch.queue_declare("queue/bob/listen", durable=True, arguments={"x-max-length": 100})
        ch.queue_bind("queue/bob/listen", ALICE_X, routing_key="#")
        conn.close()
        cls.start_sampler()

    # -- helpers ---------------------------------------------------------------

    @classmethod
    def management_options(cls):
        return ["--management-url", "http://127.0.0.1:%d" % cls.broker.mgmt_port,
                "--management-user", OPERATOR, "--management-password-file", cls.password_file]

    @classmethod
    def start_sampler(cls, amqp=None):
        """serve, on its port, now with the guardian and its sampler (over
        `amqp`, options for the AMQP connection; plain AMQP by default)."""
        cls.svc.stop()
        amqp = amqp or ["--sample-amqp-url", "amqp://127.0.0.1:%d" % cls.broker.amqp_port]
        cls.svc.serve_args = (["--internal-user", OPERATOR, "--guardian", "--interval", "1",
                               "--smtp-url", "smtp://127.0.0.1:%d" % cls.sink.port,
                               "--mail-from", "guardian@pulse.example",
                               "--sample-messages", "--sample-rate", str(RATE)]
                              + amqp + cls.management_options())
        cls.svc.start()

    def management(self, path, method="GET"):
        request = urllib.request.Request(
            "http://127.0.0.1:%d/api/%s" % (self.broker.mgmt_port, path), method=method,
            headers={"Authorization": "Basic " + base64.b64encode(
                ("%s:%s" % (OPERATOR, OPERATOR_PASSWORD)).encode()).decode()})
        with urllib.request.urlopen(request, timeout=scaled(10)) as r:
            return json.load(r) if method == "GET" else None

    def sampler_queues(self):
        """{exchange: queue} of the sampler's bindings the broker lists (not
        the default exchange's, which every queue has)."""
        return {b["source"]: b["destination"] for b in self.management("bindings")
                if b["destination"].startswith("authsvc.sampler.") and b["source"]}

    def sampler_connections(self):
        return [c for c in self.management("connections")
                if c.get("client_properties", {}).get("connection_name") == "authsvc sampler"]

    def publish(self, user, exchange, key, body, content_type="application/json",
                delivery_mode=2, headers=None):
        conn = self.connect(user)
        ch = conn.channel()
        ch.confirm_delivery()
        ch.basic_publish(exchange, key, body, pika.BasicProperties(
            content_type=content_type, delivery_mode=delivery_mode, headers=headers))
        conn.close()

    def mails(self):
        out = []
        for name in sorted(os.listdir(self.maildir)):
            if name.endswith(".json"):
                with open(os.path.join(self.maildir, name)) as f:
                    record = json.load(f)
                self.assertEqual(record["defects"], [], record["content"])
                self.assertTrue(record["content"].isascii(), record["content"])
                out.append(record)
        return out

    def exchange_cli(self, *args):
        r = subprocess.run([ARGS.authsvc, "exchange"] + list(args) + ["--db", self.svc.db]
                           + self.management_options(),
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=scaled(30))
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout.decode("utf-8")

    def counts(self, exchange):
        """{kind: count} and the messages inspected on `exchange`, from
        `exchange show`."""
        text = self.exchange_cli("show", exchange)
        m = re.search(r"^inspected\s+(\d+) messages", text, re.M)
        kinds = {k: int(n) for k, n in re.findall(r"^  ([a-z0-9-]+) \((?:MUST|SHOULD)\): (\d+) "
                                                   r"messages", text, re.M)}
        return (int(m.group(1)) if m else 0), kinds

    def wait_for_a_later_report(self):
        """Returns once the sampler wrote a report that began after this
        call, and the guardian sent what it queued. The probe: a message of
        bob's, counted by that report; the mails due are queued in the same
        report, right after its counts, so those of the report before have
        been queued by then."""
        before, _ = self.counts(BOB_X)
        self.publish("bob", BOB_X, "probe.a.b", b'{"probe": true}')
        wait_for(lambda: self.counts(BOB_X)[0] > before, 30, "bob's probe to be counted")
        wait_for(self.outbox_empty, 30, "the guardian's outbox to be sent")

    def serve_stderr(self):
        with open(self.svc.stderr_log, "rb") as f:
            return f.read().decode(errors="replace")

    def peak_rss_kib(self):
        with open("/proc/%d/status" % self.svc._proc.pid) as f:
            return int(re.search(r"^VmHWM:\s+(\d+) kB", f.read(), re.M).group(1))

    # -- the tests ---------------------------------------------------------------

    def test_1_each_pulse_exchange_gets_a_bounded_exclusive_queue_of_the_operator(self):
        wait_for(lambda: set(self.sampler_queues()) == {ALICE_X, BOB_X}, 30,
                 "the sampler's bindings to both Pulse exchanges")
        queues = {q["name"]: q for q in self.management("queues")}
        for exchange, name in self.sampler_queues().items():
            q = queues[name]
            self.assertTrue(q["exclusive"], q)
            self.assertFalse(q["durable"], q)
            self.assertTrue(q["auto_delete"], q)
            self.assertEqual(q["arguments"], {"x-max-length": RATE,
                                              "x-max-length-bytes": 4 * 1024 * 1024,
                                              "x-message-ttl": 60000,
                                              "x-overflow": "drop-head"})
        # The management API lists a connection once its statistics are in.
        wait_for(lambda: self.sampler_connections(), 30, "the sampler's connection listed")
        self.assertEqual([c["user"] for c in self.sampler_connections()], [OPERATOR])

    def test_2_alice_is_mailed_once_per_kind_and_bob_not_at_all(self):
        wait_for(lambda: set(self.sampler_queues()) == {ALICE_X, BOB_X}, 30, "the sampler")
        deep = b"[" * 4000 + b"]" * 4000  # past any depth limit, not the size limit
        # First alone, so that it is the example of the not-json mail.
        self.publish("alice", ALICE_X, "evil.\x1b[31m.key", b"\x1b]0;owned\x07 not json",
                     headers={"x-evil": "\x1b[2J\r\nBcc: x@example.org"})
        wait_for(lambda: any("(not-json)" in m["subject"] for m in self.mails()), 60,
                 "the not-json mail")
        self.publish("alice", ALICE_X, "a.b.c", b"not json at all")
        self.publish("alice", ALICE_X, "a.b.c", b"\xff\xfe not utf-8")
        self.publish("alice", ALICE_X, "a.b.c", b'{"a": 1}', content_type="text/plain")
        self.publish("alice", ALICE_X, "a.b.c", json.dumps({"pad": "x" * 20480}).encode())
        self.publish("alice", ALICE_X, "a.b.c", b'{"a": 2}', delivery_mode=1)
        self.publish("alice", ALICE_X, "", b'{"a": 3}')
        self.publish("alice", ALICE_X, "a.b.c", deep)
        # Last: the example `exchange show` gives.
        self.publish("alice", ALICE_X, "evil.\x1b[31m.key", b"\x1b]0;owned\x07 not json")
        for i in range(5):
            self.publish("bob", BOB_X, "task.%d.done" % i, json.dumps({"task": i}).encode())

        def alice_mails():
            return [m for m in self.mails() if m["rcpt_tos"] == ["alice@example.org"]]
        wait_for(lambda: len(alice_mails()) >= len(KINDS), 60, "a mail for each kind")
        # Every message counted, and a report after that: nothing more comes.
        wait_for(lambda: self.counts(ALICE_X)[0] >= 9, 30, "alice's 9 messages counted")
        self.wait_for_a_later_report()
        mails = alice_mails()
        self.assertEqual(sorted(m["subject"] for m in mails),
                         sorted("[Pulse] exchange %s: %s (%s)" % (ALICE_X, text, kind)
                                for kind, text in KINDS.items()))
        self.assertEqual([m for m in self.mails() if m["rcpt_tos"] != ["alice@example.org"]], [])
        for m in mails:
            for raw in ("\x1b", "\x07", "\r\nBcc"):
                self.assertNotIn(raw, m["body"], m["subject"])
        by_kind = {re.search(r"\(([a-z0-9-]+)\)$", m["subject"]).group(1): m["body"]
                   for m in mails}
        self.assertIn('"Messages MUST contain a UTF-8-encoded JSON payload" (a MUST)',
                      by_kind["not-json"])
        self.assertIn('"Messages SHOULD NOT be larger than 8 kB" (a SHOULD)', by_kind["oversize"])
        self.assertIn("size:          20491 bytes", by_kind["oversize"])
        self.assertIn('content type:  "text/plain"', by_kind["content-type"])
        self.assertIn("delivery mode: 1 (transient)", by_kind["transient"])
        self.assertIn('routing key:   ""', by_kind["no-routing-key"])
        self.assertIn('payload:       "\\xff\\xfe not utf-8"', by_kind["not-utf8"])
        # Control characters, escaped; the later three (the deep one too)
        # counted, not mailed.
        self.assertIn('routing key:   "evil.\\x1b[31m.key"', by_kind["not-json"])
        self.assertIn('payload:       "\\x1b]0;owned\\x07 not json"', by_kind["not-json"])
        self.assertRegex(by_kind["not-json"], r"\b1 broke this rule\b")
        self.assertEqual(self.counts(ALICE_X)[1]["not-json"], 4)
        self.assertRegex(by_kind["not-json"], r"every\s+1d, and only when new messages")

    def test_3_exchange_list_and_show_say_the_same(self):
        listing = self.exchange_cli("list")
        lines = {line.split()[1]: line for line in listing.splitlines()[1:] if line.strip()}
        self.assertEqual(set(lines), {ALICE_X, BOB_X}, listing)
        alice = lines[ALICE_X].split()
        self.assertEqual(alice[:5], ["/", ALICE_X, "alice", "topic", "yes"], listing)
        self.assertIn("   1  not-utf8 1, not-json 4, content-type 1, oversize 1, transient 1, "
                      "no-routing-key 1", lines[ALICE_X])
        self.assertTrue(lines[BOB_X].endswith("  ok"), listing)
        self.assertRegex(lines[BOB_X], r" \d{4}-\d\d-\d\d \d\d:\d\d:\d\d ")
        for raw in ("\x1b", "\x07"):
            self.assertNotIn(raw, listing)

        show = self.exchange_cli("show", ALICE_X)
        for raw in ("\x1b", "\x07", "\r"):
            self.assertNotIn(raw, show)
        self.assertIn("compliance    not-utf8 1, not-json 4, content-type 1, oversize 1, "
                      "transient 1, no-routing-key 1", show)
        self.assertIn("bindings      1\n", show)  # bob's queue, not the sampler's
        self.assertIn("  not-json (MUST): 4 messages", show)
        self.assertIn('\n      routing key:   "evil.\\x1b[31m.key"\n'
                      '         0: "evil"\n         1: "\\x1b[31m"\n         2: "key"\n', show)
        self.assertIn("routing keys  0 to 3 fields: not a fixed index from the left", show)

        show = self.exchange_cli("show", BOB_X)
        self.assertIn("compliance    ok\n", show)
        self.assertIn("routing keys  3 fields, always", show)
        self.assertIn('JSON keys     "task", "probe"', show)
        self.assertIn("violations    none seen", show)
        # The last is the probe of wait_for_a_later_report, pretty-printed.
        self.assertIn('  routing key:   "probe.a.b"\n     0: "probe"\n     1: "a"\n     2: "b"\n',
                      show)
        self.assertIn('  payload:\n    {\n      "probe": true\n    }\n', show)

    def report(self, account):
        """(exit code, what `authsvc report ACCOUNT` printed)."""
        r = subprocess.run([ARGS.authsvc, "report", account, "--db", self.svc.db]
                           + self.management_options(),
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=scaled(30))
        self.assertIn(r.returncode, (0, 1), r.stderr)
        self.assertEqual(r.stderr, b"")
        return r.returncode, r.stdout.decode("utf-8")

    def test_3b_report_cards_say_where_alice_and_bob_stand(self):
        """bob publishes over a confirm channel and consumes with a
        prefetch limit from his bounded queue; alice publishes without
        confirms and consumes without a limit. With the sampler's findings
        of test_2, the report cards say exactly that."""
        bob = self.connect("bob")
        alice = self.connect("alice")
        try:
            ch = bob.channel()
            ch.confirm_delivery()
            ch.basic_publish(BOB_X, "task.9.done", b'{"task": 9}', pika.BasicProperties(
                content_type="application/json", delivery_mode=2))
            ch = bob.channel()
            ch.basic_qos(prefetch_count=10)
            ch.basic_consume("queue/bob/listen", lambda c, m, p, b: None)
            ch = alice.channel()
            ch.basic_publish(ALICE_X, "a.b.c", b'{"a": 4}', pika.BasicProperties(
                content_type="application/json", delivery_mode=2))
            ch = alice.channel()
            ch.queue_declare("queue/alice/inbox", durable=True)
            ch.basic_consume("queue/alice/inbox", lambda c, m, p, b: None)

            # The channels' publish counts come with the broker's statistics.
            def report_saying(account, words):
                code, text = self.report(account)
                return words in text and (code, text)
            code, text = wait_for(
                lambda: report_saying(
                    "alice", "open channels that published: 1, in confirm mode: 0"),
                30, "alice's publishing channel in her report")
            print("---- authsvc report alice ----\n%s----" % text)
            self.assertEqual(code, 1, text)
            items = {rule: standing for standing, rule in
                     re.findall(r"^  (met|NOT MET|not seen)\s+(?:MUST|SHOULD)\s+(.+)$",
                                text, re.M)}
            self.assertEqual(items, {
                "be named exchange/<clientId>/<name>": "met",
                "be topic exchanges": "met",
                "be durable": "met",
                "be UTF-8-encoded JSON": "NOT MET",
                "carry application/json as Content-Type": "NOT MET",
                "be durable (persistent)": "NOT MET",
                "be less than 8 KiB": "NOT MET",
                "have a routing key where fields have a fixed index from the left": "NOT MET",
                "use confirm-publish channels": "NOT MET",
                "specify a consumer prefetch limit": "NOT MET",
                "be named queue/<clientId>/<name>": "met",
                "not grow unbounded": "met",
                "be durable or auto-delete": "met",
            }, text)
            self.assertRegex(text, r"exchange/alice/events: 5 of \d+ inspected, the last "
                             r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC")
            self.assertIn("exchange/alice/events: routing keys of 0 to 3 fields", text)
            self.assertIn("without a limit, on queue/alice/inbox", text)
            self.assertIn("A MUST is not met.", text)
            for raw in ("\x1b", "\x07"):
                self.assertNotIn(raw, text)

            code, text = wait_for(
                lambda: report_saying(
                    "bob", "open channels that published: 1, in confirm mode: 1"),
                30, "bob's confirm channel in his report")
            print("---- authsvc report bob ----\n%s----" % text)
            self.assertEqual(code, 0, text)
            standings = re.findall(r"^  (met|NOT MET|not seen)\s+(?:MUST|SHOULD)\s", text, re.M)
            self.assertEqual(standings, ["met"] * 13, text)
            self.assertIn("consumers: 1, with a prefetch limit: 1", text)
            self.assertIn("1 bounded by a length limit", text)
            self.assertIn("Every MUST that can be seen is met.", text)
        finally:
            alice.close()
            bob.close()

    def test_3c_a_report_on_an_unknown_account_is_refused(self):
        r = subprocess.run([ARGS.authsvc, "report", "nobody", "--db", self.svc.db]
                           + self.management_options(),
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=scaled(30))
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stdout, b"")
        self.assertEqual(r.stderr.decode(), "authsvc: no account nobody\n")

    def test_4_a_restart_mails_no_kind_again_within_the_day(self):
        before = len(self.mails())
        self.svc.stop()
        self.svc.start()
        wait_for(lambda: set(self.sampler_queues()) == {ALICE_X, BOB_X}, 30,
                 "the restarted sampler's bindings")
        self.publish("alice", ALICE_X, "a.b.c", b'{"again": 1}', delivery_mode=1)
        wait_for(lambda: self.counts(ALICE_X)[1].get("transient") == 2, 30,
                 "the second transient message counted")
        self.wait_for_a_later_report()
        self.assertEqual(len(self.mails()), before)

    def test_5_big_messages_leave_serve_s_memory_bounded(self):
        wait_for(lambda: set(self.sampler_queues()) == {ALICE_X, BOB_X}, 30, "the sampler")
        peak_before = self.peak_rss_kib()
        # 100 MB: the broker hands it to an idle consumer at once, past its
        # queue's bounds, or drops it from the queue (4 MiB at most); the
        # sampler reads 64 KiB of a payload and skips the rest. 3 MiB:
        # delivered, read in part. Either way serve's memory stays put.
        self.publish("alice", ALICE_X, "a.b.c", b"x" * (100 * 1000 * 1000))
        self.publish("alice", ALICE_X, "a.b.c", b"{" + b" " * (3 * 1024 * 1024))
        wait_for(lambda: "      size:          3145729 bytes" in self.exchange_cli("show", ALICE_X),
                 60, "the 3 MiB message as the last oversize one")
        show = self.exchange_cli("show", ALICE_X)
        self.assertNotIn("not-utf8 (MUST): 2", show)  # read in part: not judged on its bytes
        grown_mib = (self.peak_rss_kib() - peak_before) / 1024
        self.assertLess(grown_mib, 32, "serve's peak memory grew by %.0f MiB" % grown_mib)
        # bob's queue took the big ones: empty it for the tests after.
        self.management("queues/%2F/" + urllib.parse.quote("queue/bob/listen", safe="")
                        + "/contents", method="DELETE")

    def test_6_a_dropped_connection_is_reported_once_and_the_sampler_comes_back(self):
        wait_for(lambda: set(self.sampler_queues()) == {ALICE_X, BOB_X}, 30, "the sampler")
        old = set(self.sampler_queues().values())
        wait_for(lambda: self.sampler_connections(), 30, "the sampler's connection listed")
        names = [c["name"] for c in self.sampler_connections()]
        self.assertEqual(len(names), 1)
        self.management("connections/" + urllib.parse.quote(names[0], safe=""), method="DELETE")
        wait_for(lambda: set(self.sampler_queues()) == {ALICE_X, BOB_X}
                 and not (set(self.sampler_queues().values()) & old), 60,
                 "new sampler queues on both exchanges")
        wait_for(lambda: "sampler: connected again" in self.serve_stderr(), 30,
                 "the sampler to say it is back")
        err = self.serve_stderr()
        self.assertEqual(err.count("reconnecting with back-off"), 1, err)
        self.assertEqual(err.count("sampler: connected again"), 1, err)
        _, kinds = self.counts(ALICE_X)
        self.publish("alice", ALICE_X, "", b"{}")
        wait_for(lambda: self.counts(ALICE_X)[1].get("no-routing-key")
                 == kinds["no-routing-key"] + 1, 30, "a message after the reconnection")


    def test_7_over_amqps_the_broker_certificate_is_checked(self):
        """The sampler over TLS: with the CA that signed the broker's
        certificate it samples as over plain AMQP; with another CA it is
        refused, says so once, and binds nothing."""
        try:
            self.start_sampler(["--sample-amqp-url", "amqps://localhost:%d" % self.amqps_port,
                                "--sample-ca-file", self.pki["ca.pem"]])
            wait_for(lambda: set(self.sampler_queues()) == {ALICE_X, BOB_X}, 30,
                     "the sampler's bindings over amqps")
            wait_for(lambda: self.sampler_connections(), 30, "the sampler's connection listed")
            self.assertEqual([(c["user"], c["ssl"], c["port"]) for c in self.sampler_connections()],
                             [(OPERATOR, True, self.amqps_port)])
            self.wait_for_a_later_report()  # bob's probe, counted over TLS

            # serve's stderr log goes on across restarts: only the lines
            # from here on count.
            def said():
                return [line for line in self.serve_stderr().splitlines()
                        if "reconnecting with back-off" in line]
            before = len(said())
            self.start_sampler(["--sample-amqp-url", "amqps://localhost:%d" % self.amqps_port,
                                "--sample-ca-file", self.pki["other-ca.pem"]])
            wait_for(lambda: len(said()) > before, 30, "the sampler to say it cannot connect")
            print("sampler given another CA: %s" % said()[before], flush=True)
            self.assertRegex(said()[before], r"(?i)certificate|ssl|tls|verif")
            # The refused connection was its only way to bind: the queues of
            # the connection before (closed with serve's restart) go, and no
            # new ones come.
            wait_for(lambda: self.sampler_queues() == {}, 30,
                     "no sampler queue bound on the broker")
            self.assertEqual(self.sampler_connections(), [])
            self.assertEqual(len(said()), before + 1, said())
        finally:
            self.start_sampler()


def main():
    global ARGS
    parser = argparse.ArgumentParser()
    parser.add_argument("--authsvc", required=True)
    ARGS, rest = parser.parse_known_args()
    run_suite(rest, "e2e sampler")


if __name__ == "__main__":
    main()
