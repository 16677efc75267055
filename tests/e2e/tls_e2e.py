#!/usr/bin/python3
"""End to end over HTTPS: a real RabbitMQ 3.10 asks authsvc over TLS with a
client certificate, configured as rabbitmq.conf.example's HTTPS variant says
(https:// URLs, ssl_options in advanced.config), with certificates this test
makes with the openssl command.

    /usr/bin/python3 tests/e2e/tls_e2e.py --authsvc build/authsvc/authsvc

One broker for the whole run. Its TLS options are changed at run time
(application:set_env, which the plugin reads on every call) for the
refusals, and authsvc is restarted on the same port in between, so that no
TLS connection the broker kept open from before is reused.
"""

import argparse
import http.client
import os
import re
import ssl
import subprocess
import sys
import urllib.parse

from pika.exceptions import ProbableAuthenticationError

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
from broker import Broker  # noqa: E402
from broker_suite import BrokerSuite  # noqa: E402
from suite_runner import run_suite  # noqa: E402
from timing import scaled, wait_for  # noqa: E402

CONF_EXAMPLE = os.path.join(ROOT, "rabbitmq.conf.example")
ARGS = None  # set in main()


def openssl(*args):
    subprocess.run(["openssl"] + list(args), check=True, stdin=subprocess.DEVNULL,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=scaled(30))


def make_pki(folder):
    """CA, authsvc's certificate for localhost, the broker's client
    certificate; and another CA with a client certificate of its own."""
    p = {name: os.path.join(folder, name) for name in (
        "ca.pem", "ca.key", "server.pem", "server.key", "broker.pem", "broker.key",
        "other-ca.pem", "other-ca.key", "intruder.pem", "intruder.key")}
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    for ca in ("ca", "other-ca"):
        openssl("req", "-x509", *ec, "-days", "2", "-subj", "/CN=" + ca,
                "-keyout", p[ca + ".key"], "-out", p[ca + ".pem"])
    for name, ca, ext in (
            ("server", "ca",
             "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n"),
            ("broker", "ca", "extendedKeyUsage=clientAuth\n"),
            ("intruder", "other-ca", "extendedKeyUsage=clientAuth\n")):
        csr, extfile = os.path.join(folder, name + ".csr"), os.path.join(folder, name + ".ext")
        with open(extfile, "w") as f:
            f.write(ext)
        openssl("req", "-new", *ec, "-subj", "/CN=" + name, "-keyout", p[name + ".key"],
                "-out", csr)
        openssl("x509", "-req", "-days", "2", "-in", csr, "-CA", p[ca + ".pem"],
                "-CAkey", p[ca + ".key"], "-set_serial", str(int.from_bytes(os.urandom(8), "big")),
                "-extfile", extfile, "-out", p[name + ".pem"])
    for key in (k for k in p if k.endswith(".key")):
        os.chmod(p[key], 0o600)
    return p


def example_advanced_config(cacertfile, certfile, keyfile):
    """The example's commented advanced.config block, with our files."""
    with open(CONF_EXAMPLE) as f:
        text = f.read()
    m = re.search(r"^#   (\[\{rabbitmq_auth_backend_http,.*?\]\}\]\}\]\.)$", text, re.M | re.S)
    if not m:
        raise AssertionError("rabbitmq.conf.example has no advanced.config block for auth_http")
    block = re.sub(r"^#   ", "", m.group(1), flags=re.M)
    for option, path in (("cacertfile", cacertfile), ("certfile", certfile),
                         ("keyfile", keyfile)):
        block, n = re.subn(r'\{%s,(\s*)"[^"]*"\}' % option, r'{%s,\1"%s"}' % (option, path),
                           block)
        if n != 1:
            raise AssertionError("the example's block has no %s" % option)
    return block + "\n"


def example_https_urls():
    """The example's commented https:// URLs: (key, path), one per endpoint."""
    with open(CONF_EXAMPLE) as f:
        found = re.findall(r"^# (auth_http\.\w+_path)\s*=\s*https://[^/\s]+(/\S*)$", f.read(),
                           re.M)
    return dict(found)


class TlsE2E(BrokerSuite):
    """Tests run in name order and share the broker."""

    @classmethod
    def setUpClass(cls):
        # Each resource's cleanup is registered as soon as it exists
        # (broker_suite.py).
        cls.make_workdir("e2e_tls", "authsvc-tls-e2e-")
        cls.pki = make_pki(cls.workdir)
        p = cls.pki
        cls.start_authsvc(ARGS.authsvc, "tls", scheme="https", serve_args=[
            "--tls-cert", p["server.pem"], "--tls-key", p["server.key"],
            "--tls-client-ca", p["ca.pem"]])
        cls.tokens = {"alice": cls.svc.add_user("alice")}
        # broker.py puts authsvc's https:// base URL before the example's
        # paths; the example's commented HTTPS URLs must have those paths.
        assert example_https_urls() == {"auth_http.%s_path" % k: "/auth/" + k
                                         for k in ("user", "vhost", "resource", "topic")}
        # A DNS name, as the example says: Erlang 25 fails the host name check
        # of an IP literal even when the certificate lists that address.
        cls.broker = Broker(
            CONF_EXAMPLE, "https://localhost:%d" % cls.svc.port,
            advanced_config=example_advanced_config(p["ca.pem"], p["broker.pem"],
                                                    p["broker.key"]))
        cls.addClassCleanup(cls.broker.stop)  # safe after a failed start
        cls.broker.start()
        cls.track_connections()

    def assert_login_refused(self):
        with self.assertRaises(ProbableAuthenticationError) as caught:
            self.connect("alice").close()
        self.assertIn("ACCESS_REFUSED", str(caught.exception))

    def assert_refused_by_authsvc(self, reason):
        """alice's login is refused, and each audit line it caused is
        authsvc refusing the broker's TLS handshake, saying `reason`."""
        before = len(self.svc.audit_lines())
        self.assert_login_refused()
        self.audit_until(before, bool, "an audit line of the refused attempt")
        for l in self.audit_after_probe(before):
            self.assertEqual(l["rule"], "tls", l)
            self.assertIn(reason, l["reason"])

    def set_broker_ssl_options(self, **options):
        """Replaces the plugin's ssl_options in the running broker, and
        restarts authsvc so that the broker opens new TLS connections."""
        terms = ", ".join('{%s, "%s"}' % kv if kv[0].endswith("file") else "{%s, %s}" % kv
                          for kv in options.items())
        self.broker.rabbitmqctl(
            "eval", "application:set_env(rabbitmq_auth_backend_http, ssl_options, [%s])." % terms)
        self.svc.stop()
        self.svc.start()

    def audit_until(self, count, predicate, what):
        """The audit lines after the first `count`, once predicate(lines)
        holds: the audit writer reaches the disk a moment after authsvc
        answered, so the line is polled for."""
        def lines():
            found = self.svc.audit_lines()[count:]
            return found if predicate(found) else None
        return wait_for(lines, 5, what)

    def audit_after_probe(self, count):
        """The audit lines after the first `count`, once every line that
        the broker's requests so far can have caused is written; the
        probe's own line left out.

        The probe is one request of our own to authsvc, with the broker's
        good certificate, for a user that does not exist. authsvc writes a
        request's audit line before it answers, and the writer keeps the
        order of its lines; so once the probe's line is there, so is that
        of any request the broker made before (and got an answer to)."""
        p = self.pki
        context = ssl.create_default_context(cafile=p["ca.pem"])
        context.load_cert_chain(p["broker.pem"], p["broker.key"])
        conn = http.client.HTTPSConnection("localhost", self.svc.port, context=context,
                                           timeout=scaled(10))
        try:
            conn.request("POST", "/auth/user",
                         urllib.parse.urlencode({"username": "tls-probe", "password": "x"}),
                         {"Content-Type": "application/x-www-form-urlencoded"})
            answer = conn.getresponse()
            self.assertEqual((answer.status, answer.read()), (200, b"deny"))
        finally:
            conn.close()

        def probe(l):
            return l.get("endpoint") == "user" and l.get("user") == "tls-probe"
        lines = self.audit_until(count, lambda ls: any(probe(l) for l in ls),
                                 "the probe's audit line")
        return [l for l in lines if not probe(l)]

    def test_1_broker_with_its_client_certificate_gets_answers(self):
        before = len(self.svc.audit_lines())
        conn = self.connect("alice")
        ch = conn.channel()
        ch.exchange_declare("exchange/alice/tls", "topic")
        conn.close()
        lines = self.audit_until(before, lambda ls: any(
            l["endpoint"] == "resource" and l["name"] == "exchange/alice/tls"
            and l["permission"] == "configure" for l in ls), "the exchange.declare's audit line")
        asked = [(l["endpoint"], l["decision"]) for l in lines]
        self.assertIn(("user", "allow"), asked)
        self.assertIn(("vhost", "allow"), asked)
        self.assertIn(("resource", "allow"), asked)
        lines = self.audit_after_probe(before)
        self.assertFalse([l for l in lines if l["rule"] == "tls"], lines)

    def test_2_broker_with_a_certificate_from_another_ca_is_refused(self):
        p = self.pki
        self.set_broker_ssl_options(cacertfile=p["ca.pem"], certfile=p["intruder.pem"],
                                    keyfile=p["intruder.key"], verify="verify_peer")
        self.assert_refused_by_authsvc("client certificate not trusted")

    def test_3_broker_without_a_client_certificate_is_refused(self):
        self.set_broker_ssl_options(cacertfile=self.pki["ca.pem"], verify="verify_peer")
        self.assert_refused_by_authsvc("no client certificate")

    def test_4_broker_that_does_not_trust_authsvcs_certificate_is_refused(self):
        p = self.pki
        self.set_broker_ssl_options(cacertfile=p["other-ca.pem"], certfile=p["broker.pem"],
                                    keyfile=p["broker.key"], verify="verify_peer")
        before = len(self.svc.audit_lines())
        self.assert_login_refused()
        # Nothing was answered: the broker gave up in the handshake.
        self.assertFalse([l for l in self.audit_after_probe(before) if l["rule"] != "tls"])

    def test_5_back_to_the_right_certificate_logs_in_again(self):
        p = self.pki
        self.set_broker_ssl_options(cacertfile=p["ca.pem"], certfile=p["broker.pem"],
                                    keyfile=p["broker.key"], verify="verify_peer")
        self.connect("alice").close()


def main():
    global ARGS
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--authsvc", required=True, help="the authsvc binary")
    ARGS, rest = parser.parse_known_args()
    run_suite(rest, "e2e tls")


if __name__ == "__main__":
    main()
