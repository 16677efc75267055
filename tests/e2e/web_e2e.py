#!/usr/bin/python3
"""End to end: `authsvc web`, the self-service pages and JSON API, with
every part real: a RabbitMQ 3.10 with the management plugin whose HTTP
auth backend is `authsvc serve` on the same database, a real OpenID
Connect provider (oidc-provider under Node.js, tests/e2e/oidc_provider.py)
and headless Chromium (tests/e2e/browser.py), with pika as the client.

    /usr/bin/python3 tests/e2e/web_e2e.py --authsvc build/authsvc/authsvc \\
        [--screenshots DIR] [--transcripts DIR] [unittest options]

The provider is reached through an intercepting proxy written here: the
provider's issuer is the proxy's URL, and so is authsvc web's
--oidc-issuer, so that the browser, and authsvc web's discovery, JWKS and
token requests, all go through it. The proxy forwards everything as it
is, notes the redirects to the web's /callback (to replay one), and, when
a test asks for it, replaces the ID token of the token endpoint's next
answer with a forgery made from the real one's claims.

  1. the scenario in Chromium: alice signs in at the provider's pages,
     creates alice-app, its token logs into RabbitMQ (pika) and declares
     an exchange and a queue; a rotation with a grace of 1m leaves both
     tokens working; bob, added as co-owner, sees the account and the
     queue (with its messages); carol sees neither and gets 404s; bob
     deletes it (a wrong confirmation first changes nothing); the token is
     then refused by the broker.
  2. an admin disables an account on /admin: the broker refuses it within
     seconds; enabled, it logs in again; a non-admin gets 404 on /admin.
  3. a personal API key made in the browser drives the JSON API from a
     script (urllib): accounts, rotation, owners, queues, deletion; no
     key or a revoked key is a 401; the API description needs no key.
  4. forged ID tokens (tampered, signed by another key, wrong aud,
     expired, wrong nonce, unknown key) and a replayed callback are each a
     400 and no session, and the web's audit log says why.
  5. security headers and cookie flags as a client gets them.
  6. claims and names holding markup are shown as text, in a browser.
  7. a screenshot of every page.

--screenshots DIR (default under CTest: $AUTHSVC_TEST_ARTIFACTS/web_e2e)
keeps the screenshots, one folder a test. --transcripts DIR writes
scenario.txt, what test 1 did and saw, tokens shortened to 4 characters.
Every secret the suite obtains (tokens, API keys, session and sign-in
cookies, codes, the provider's tokens, the forgeries) is recorded in the
token ledger (tests/token_ledger.py); nothing here prints one.
"""

import argparse
import base64
import http.client
import http.server
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

import jwt
import pika
from pika.exceptions import ChannelClosedByBroker, ProbableAuthenticationError
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
from authsvc_process import (describe_exit, free_port, read_log, stop_checked,  # noqa: E402
                             wait_for_line)
from broker import Broker  # noqa: E402
from broker_suite import BrokerSuite  # noqa: E402
from browser import new_chromium, screenshot, sign_in_at_provider, wait_for  # noqa: E402
from oidc_provider import OidcProvider, token_ledger  # noqa: E402
from suite_runner import run_suite  # noqa: E402
from timing import scaled  # noqa: E402
from timing import wait_for as poll  # noqa: E402

CONF_EXAMPLE = os.path.join(ROOT, "rabbitmq.conf.example")
RUN = "e2e_web"
LABEL = "web-e2e"
CLIENT_ID = "authsvc-web"
ADMIN = "root@example.org"
OPERATOR = "web-op"
# Signs in with markup in its claims; the address itself is a valid one
# (an apostrophe and an ampersand are allowed in it).
ODD_LOGIN = "o'hara&co@example.org"
ODD_CLAIMS = {"email": ODD_LOGIN, "email_verified": True,
              "groups": ['<script>alert("groups")</script>', "it's \"quoted\" & <b>bold</b>"],
              "nickname": "<img src=x onerror=alert(1)>"}
SCRIPT_NAME = "<script>alert(1)</script>"
ARGS = None

# Every secret obtained, to redact from transcripts.
SECRETS = set()


def record(value, what):
    """Adds a secret to the token ledger (under CTest) and to SECRETS."""
    if value:
        SECRETS.add(value)
        token_ledger.record([value], "%s %s" % (LABEL, what))


def short(secret):
    return secret[:4] + "…"


def redact(text):
    for secret in sorted(SECRETS, key=len, reverse=True):
        text = text.replace(secret, short(secret))
    return text


def b64u(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


# ---------------------------------------------------------------------------
# The intercepting proxy in front of the provider
# ---------------------------------------------------------------------------

_HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
               "trailer", "trailers", "transfer-encoding", "upgrade", "content-length",
               "accept-encoding"}


class InterceptingProxy(http.server.ThreadingHTTPServer):
    """Forwards every request to the provider (`target`, set once it runs),
    the Host header as it came, so that the provider names URLs on the
    proxy's origin. Notes each redirect to `callback` (the web's redirect
    URI) and records the codes and tokens that pass; replaces the next
    token answer's id_token with forge(id_token) when a test set one."""
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), ProxyHandler)
        self.url = "http://127.0.0.1:%d" % self.server_address[1]
        self.target = None
        self.callback = None
        self.lock = threading.Lock()
        self.forge = None
        self.forged = []          # (what, forged token)
        self.callbacks = []       # the URLs the provider sent the browser back with
        self.requests = []        # "METHOD /path -> status", no query
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    def set_forgery(self, what, forge):
        with self.lock:
            self.forge = (what, forge)

    def take_forgery(self):
        with self.lock:
            forge, self.forge = self.forge, None
            return forge

    def close(self):
        self.shutdown()
        self.server_close()

    def handle_error(self, request, client_address):
        # A browser that closed a connection: not the test's concern; other
        # errors are answered with a 502 in the handler.
        pass


class ProxyHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def log_message(self, *args):
        pass  # the request line may carry a code

    def _forward(self):
        proxy = self.server
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        path = urllib.parse.urlsplit(self.path).path
        try:
            host, port = proxy.target
            conn = http.client.HTTPConnection(host, port, timeout=scaled(30))
            conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
            for name, value in self.headers.items():
                if name.lower() not in _HOP_BY_HOP:
                    conn.putheader(name, value)
            if body or self.command in ("POST", "PUT", "PATCH"):
                conn.putheader("Content-Length", str(len(body)))
            conn.putheader("Connection", "close")
            conn.endheaders(body or None)
            response = conn.getresponse()
            status, reason = response.status, response.reason
            headers = response.getheaders()
            data = response.read()
            conn.close()
        except Exception as e:  # the provider is down: say so to the client
            with proxy.lock:
                proxy.requests.append("%s %s -> proxy error %s" % (self.command, path,
                                                                   type(e).__name__))
            self.send_error(502)
            return

        if self.command == "POST" and path == "/token":
            form = urllib.parse.parse_qs(body.decode(errors="replace"))
            for name in ("code", "code_verifier"):
                for value in form.get(name, []):
                    record(value, "token request " + name)
            if status == 200:
                data = self._token_answer(data)
        for name, value in headers:
            if name.lower() == "location" and proxy.callback and value.startswith(proxy.callback):
                query = urllib.parse.parse_qs(urllib.parse.urlsplit(value).query)
                for code in query.get("code", []):
                    record(code, "authorization code")
                with proxy.lock:
                    proxy.callbacks.append(value)
        with proxy.lock:
            proxy.requests.append("%s %s -> %d" % (self.command, path, status))

        self.send_response_only(status, reason)
        for name, value in headers:
            if name.lower() not in _HOP_BY_HOP:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _token_answer(self, data):
        answer = json.loads(data)
        for name in ("access_token", "id_token", "refresh_token"):
            if name in answer:
                record(answer[name], "provider's " + name)
        forge = self.server.take_forgery()
        if forge and "id_token" in answer:
            what, make = forge
            forged = make(answer["id_token"])
            record(forged, "forged id_token (%s)" % what)
            with self.server.lock:
                self.server.forged.append((what, forged))
            answer["id_token"] = forged
            data = json.dumps(answer).encode()
        return data

    do_GET = do_POST = do_HEAD = do_PUT = do_DELETE = do_OPTIONS = _forward


# ---------------------------------------------------------------------------
# What a test writes down for people to read (--transcripts)
# ---------------------------------------------------------------------------

class Transcript:
    def __init__(self, name):
        self.name = name
        self.started = time.monotonic()
        self.lines = []

    def step(self, text, details=()):
        self.lines.append(redact("[+%5.1f s] %s" % (time.monotonic() - self.started, text)))
        self.lines.extend(redact("           " + d) for d in details)

    def save(self, folder):
        if folder:
            os.makedirs(folder, exist_ok=True)
            with open(os.path.join(folder, self.name + ".txt"), "w") as f:
                f.write("\n".join(self.lines) + "\n")


# ---------------------------------------------------------------------------
# The suite
# ---------------------------------------------------------------------------

class WebE2E(BrokerSuite):
    """One broker, one serve, one provider (behind the proxy), one web;
    tests run in name order, each with browsers of its own."""

    @classmethod
    def setUpClass(cls):
        started = time.monotonic()
        cls.make_workdir(RUN, "authsvc-web-e2e-")
        cls.tokens = {}
        # Secrets the web reads from files: in a folder of their own, which
        # is not kept among the artifacts (the work folder is).
        cls.private = tempfile.mkdtemp(prefix="authsvc-web-e2e-private-")
        cls.addClassCleanup(shutil.rmtree, cls.private, ignore_errors=True)
        # The web's operator account is the broker's, as README recommends.
        cls.start_authsvc(ARGS.authsvc, "web-e2e-serve", serve_args=["--internal-user", OPERATOR])

        cls.broker = Broker(CONF_EXAMPLE, cls.svc.base_url, management=True,
                            extra_conf="collect_statistics_interval = 500")
        cls.addClassCleanup(cls.stop_broker)
        cls.broker.start()
        # A prefix: token_urlsafe may start with "-", which rabbitmqctl
        # takes for an option.
        cls.operator_password = "web-op-" + secrets.token_urlsafe(32)
        record(cls.operator_password, "management operator password")
        cls.broker.rabbitmqctl("add_user", OPERATOR, cls.operator_password)
        cls.broker.rabbitmqctl("set_user_tags", OPERATOR, "administrator")
        cls.broker.rabbitmqctl("set_permissions", "-p", "/", OPERATOR, ".*", ".*", ".*")
        cls.track_connections()

        cls.proxy = InterceptingProxy()
        cls.addClassCleanup(cls.close_proxy)
        cls.web_port = free_port()
        cls.web_url = "http://127.0.0.1:%d" % cls.web_port
        cls.proxy.callback = cls.web_url + "/callback"
        cls.op = OidcProvider(label="web-e2e-provider", issuer=cls.proxy.url)
        cls.client = cls.op.register_client(CLIENT_ID, redirect_uris=[cls.web_url + "/callback"])
        cls.op.set_account(ODD_LOGIN, **ODD_CLAIMS)
        cls.op.start()
        cls.addClassCleanup(cls.op.stop)
        cls.proxy.target = ("127.0.0.1", cls.op.port)

        cls.start_web()
        cls.setup_seconds = time.monotonic() - started
        print("set up in %.1f s (broker %.1f s, provider %.1f s)"
              % (cls.setup_seconds, cls.broker.start_seconds, cls.op.start_seconds), flush=True)

    @classmethod
    def close_proxy(cls):
        """Stops it; what passed through it (method, path, status) is kept
        in the work folder, among serve's artifacts."""
        cls.proxy.close()
        with open(os.path.join(cls.workdir, "provider-proxy.log"), "w") as f:
            f.write("".join(r + "\n" for r in cls.proxy.requests))

    @classmethod
    def stop_broker(cls):
        """Stops it; its server script must exit 0 on SIGTERM."""
        server = cls.broker._server
        cls.broker.stop()
        if server is not None:
            print("broker stopped (%s) in %.1f s" % (describe_exit(server.returncode),
                                                     cls.broker.stop_seconds), flush=True)
            if server.returncode != 0:
                raise AssertionError("the broker %s on SIGTERM" % describe_exit(server.returncode))

    @classmethod
    def start_web(cls):
        secret_file = os.path.join(cls.private, "client-secret")
        with open(os.open(secret_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as f:
            f.write(cls.client["client_secret"] + "\n")
        password_file = os.path.join(cls.private, "management-password")
        with open(os.open(password_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as f:
            f.write(cls.operator_password + "\n")
        cls.web_audit = os.path.join(cls.workdir, "audit-web.log")
        cls.web_err = os.path.join(cls.workdir, "web.err")
        args = [ARGS.authsvc, "web", "--listen", "127.0.0.1:%d" % cls.web_port,
                "--public-url", cls.web_url,
                "--oidc-issuer", cls.proxy.url, "--oidc-client-id", CLIENT_ID,
                "--oidc-client-secret-file", secret_file,
                "--admin", ADMIN, "--broker-url", "amqp://127.0.0.1:%d" % cls.broker.amqp_port,
                "--management-url", "http://127.0.0.1:%d" % cls.broker.mgmt_port,
                "--management-user", OPERATOR, "--management-password-file", password_file,
                "--audit-log", cls.web_audit, "--db", cls.svc.db]
        with open(cls.web_err, "wb") as err:
            cls.web = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                       stderr=err, start_new_session=True)
        cls.addClassCleanup(cls.stop_web)
        wait_for_line(cls.web_err, re.compile("authsvc web: listening on"), cls.web, "authsvc web")

    @classmethod
    def stop_web(cls):
        """SIGTERM: it must exit 0 and say it stopped."""
        if cls.web is None:
            return
        web, cls.web = cls.web, None
        stop_checked(web, "web", cls.web_err, 15)

    def setUp(self):
        self.test_started = time.monotonic()

    def tearDown(self):
        print("  (%s: %.1f s)" % (self._testMethodName, time.monotonic() - self.test_started),
              flush=True)

    # -- browsers ------------------------------------------------------------

    def browser(self, name=""):
        """A fresh headless Chromium, quit at the end of the test; its
        screenshots go into the test's folder, or with a `name` into a
        folder of that name in it (each browser numbers its own)."""
        folder = None
        if SCREENSHOTS:
            folder = os.path.join(SCREENSHOTS, self._testMethodName, name)
        driver = new_chromium(folder)
        self.addCleanup(quit_browser, driver)
        return driver

    def shot(self, driver, name):
        screenshot(driver, name)

    def open(self, driver, path):
        driver.get(self.web_url + path)
        self.assert_no_alert(driver)

    def assert_no_alert(self, driver):
        with self.assertRaises(NoAlertPresentException, msg="an alert is open at %s"
                               % urllib.parse.urlsplit(driver.current_url).path):
            driver.switch_to.alert

    def sign_in(self, driver, login, next_path="/accounts"):
        """Signs in at the provider's pages, from the web's sign-in link;
        returns the session cookie's value (recorded)."""
        self.open(driver, "/")
        link = wait_for(driver, lambda d: d.find_element(By.CSS_SELECTOR, "a[href='/login']"),
                        10, "the home page's sign-in link")
        link.click()
        self.record_sign_in_cookie(driver, login)
        sign_in_at_provider(driver, login)
        wait_for(driver, lambda d: urllib.parse.urlsplit(d.current_url).path == next_path
                 and d.find_elements(By.CLASS_NAME, "session-address"), 15,
                 "the web's %s page after signing in as %s" % (next_path, login))
        self.assertEqual(self.signed_in_as(driver), login)
        cookie = driver.get_cookie("authsvc_session")
        self.assertIsNotNone(cookie, "no session cookie after signing in")
        record(cookie["value"], "session cookie of " + login)
        return cookie["value"]

    def record_sign_in_cookie(self, driver, login):
        """Records the sign-in cookie /login set (the browser is on its way
        to the provider, on the same host: the cookie is visible there)."""
        cookie = wait_for(driver, lambda d: d.get_cookie("authsvc_signin"), 10,
                          "the sign-in cookie from /login")
        record(cookie["value"], "sign-in cookie of " + login)

    def signed_in_as(self, driver):
        """The address the page header names (its text content: selenium's
        .text includes the visually hidden "Signed in as ")."""
        text = driver.find_element(By.CLASS_NAME, "session-address").get_attribute("textContent")
        self.assertTrue(text.startswith("Signed in as "), text)
        return text[len("Signed in as "):]

    def submit(self, driver, button):
        """Clicks a form's button and waits for the next page."""
        old = driver.find_element(By.TAG_NAME, "html")
        button.click()
        wait_for(driver, expected_conditions.staleness_of(old), 15, "the answer to the form")
        wait_for(driver, lambda d: d.execute_script("return document.readyState") == "complete",
                 15, "the page to load")
        self.assert_no_alert(driver)

    def fill(self, driver, field_id, value):
        field = driver.find_element(By.ID, field_id)
        field.clear()
        field.send_keys(value)
        return field

    def button_of(self, element):
        form = element if element.tag_name == "form" else element.find_element(By.XPATH,
                                                                               "./ancestor::form")
        return form.find_element(By.CSS_SELECTOR, "button[type=submit]")

    def read_secret(self, driver, what):
        """The secret shown once in #token, recorded."""
        value = wait_for(driver, lambda d: d.find_element(By.ID, "token").text.strip(), 10,
                         "the secret in #token")
        record(value, what)
        return value

    def csrf_of(self, driver):
        return driver.find_element(By.CSS_SELECTOR, "input[name=csrf]").get_attribute("value")

    def error_status(self, driver):
        """The status an error page shows, or None on another page."""
        found = driver.find_elements(By.CSS_SELECTOR, ".error-page .status-code")
        return int(found[0].text) if found else None

    def texts(self, driver, selector):
        return [e.text for e in driver.find_elements(By.CSS_SELECTOR, selector)]

    def create_account(self, driver, name, what):
        self.open(driver, "/accounts/new")
        self.fill(driver, "name", name)
        self.submit(driver, self.button_of(driver.find_element(By.ID, "name")))
        self.assertEqual(driver.find_element(By.TAG_NAME, "h1").text,
                         "Account %s created" % name)
        return self.read_secret(driver, what)

    def queue_rows(self, driver):
        """{queue name: messages} of the queue table on the page."""
        rows = {}
        for row in driver.find_elements(By.CSS_SELECTOR, "table.data tbody tr"):
            names = row.find_elements(By.CSS_SELECTOR, "code.queue-name")
            if names:
                rows[names[0].text] = row.find_elements(By.CSS_SELECTOR, "td.num")[0].text
        return rows

    def wait_for_queue_page(self, driver, path, queue, messages):
        """Reloads `path` until its queue table lists `queue` with
        `messages` messages (the management statistics lag)."""
        def shown(d):
            self.open(d, path)
            return self.queue_rows(d).get(queue) == str(messages)
        wait_for(driver, shown, 20, "%s to show %s with %d messages" % (path, queue, messages),
                 interval=0.3)

    # -- HTTP without a browser ----------------------------------------------

    def http(self, method, path, body=None, headers=None, cookie=None, key=None):
        """One request to the web, redirects not followed; returns (status,
        headers as a list of pairs, body bytes)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.web_port, timeout=scaled(20))
        headers = dict(headers or {})
        if cookie:
            headers["Cookie"] = "authsvc_session=" + cookie
        if key:
            headers["Authorization"] = "Bearer " + key
        if isinstance(body, dict):
            body = urllib.parse.urlencode(body)
            headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            return response.status, response.getheaders(), response.read()
        finally:
            conn.close()

    def api(self, method, path, key=None, body=None):
        """The JSON API: (status, parsed body or None, headers)."""
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body)
            headers["Content-Type"] = "application/json"
        status, answer_headers, raw = self.http(method, "/api/v1" + path, data, headers, key=key)
        parsed = json.loads(raw) if raw.strip() else None
        if isinstance(parsed, dict) and "token" in parsed:
            record(parsed["token"], "API %s %s token" % (method, path))
        return status, parsed, dict((k.lower(), v) for k, v in answer_headers)

    # -- the logs ------------------------------------------------------------

    def web_lines(self):
        """The web's audit lines written so far: a line its writer has not
        finished (no newline yet) is left for the next read."""
        text = read_log(self.web_audit)
        finished = text[:text.rfind("\n") + 1]
        return [json.loads(line) for line in finished.splitlines() if line.strip()]

    def web_line(self, method, path, status=None, since=0, timeout=5):
        """The web's first audit line for METHOD PATH (after the first
        `since` lines), waiting for its writer; with `status`, checked."""
        def found():
            for line in self.web_lines()[since:]:
                if line.get("method") == method and line.get("path") == path:
                    return line
            return None
        line = poll(found, timeout, "the web's audit line of %s %s" % (method, path))
        if status is not None:
            self.assertEqual(line["status"], status, line)
        return line

    def served(self, user, action):
        """Returns once serve has loaded the web's change of `user`: serve
        puts changed users in place before it copies the store's audit
        events (here, the web's) into its audit log."""
        return poll(lambda: [line for line in self.svc.audit_lines()
                             if line.get("actor") == "web" and line.get("user") == user
                             and line.get("action") == action], 5,
                    "serve to load the web's '%s' of %s" % (action, user))

    # -- the broker ----------------------------------------------------------

    def login(self, user, password):
        """Whether the broker lets `user` in with `password` (closed again);
        a refusal must be a 403."""
        try:
            conn = self.connect(user, password)
        except ProbableAuthenticationError as e:
            self.assertIn("403", str(e))
            return False
        conn.close()
        return True

    def declare(self, user, token, name, messages=0):
        """As `user`: exchange/USER/NAME (topic, durable), queue/USER/NAME
        bound to it, and `messages` messages published, confirmed."""
        conn = self.connect(user, token)
        ch = conn.channel()
        ch.confirm_delivery()
        exchange, queue = "exchange/%s/%s" % (user, name), "queue/%s/%s" % (user, name)
        ch.exchange_declare(exchange, "topic", durable=True)
        ch.queue_declare(queue, durable=True)
        ch.queue_bind(queue, exchange, routing_key="#")
        for i in range(messages):
            ch.basic_publish(exchange, "test.%d" % i, b"{}", pika.BasicProperties(delivery_mode=2))
        conn.close()
        return exchange, queue

    def queue_exists(self, user, token, queue):
        conn = self.connect(user, token)
        try:
            conn.channel().queue_declare(queue, passive=True)
            return True
        except ChannelClosedByBroker as e:
            self.assertEqual(e.reply_code, 404)
            return False
        finally:
            if conn.is_open:
                conn.close()

    # -- 1 -------------------------------------------------------------------

    def test_1_scenario_in_chromium(self):
        t = Transcript("scenario")

        mark = [0, len(self.proxy.requests)]

        def saw(driver, what, method="GET", path=None):
            """A transcript step: what was done, what the provider answered
            (through the proxy) and the web answered (its audit lines) since
            the last step, and the page the browser shows."""
            final = path or urllib.parse.urlsplit(driver.current_url).path
            self.web_line(method, final, since=mark[0])  # its writer may lag
            lines = self.web_lines()[mark[0]:]
            with self.proxy.lock:
                provider = self.proxy.requests[mark[1]:]
            mark[0] += len(lines)
            mark[1] += len(provider)
            details = ["provider: " + r for r in provider]
            details += ["web: %s %s -> %d%s" % (l["method"], l["path"], l["status"],
                                                " (%s)" % l["reason"] if l.get("reason") else "")
                        for l in lines]
            details.append("page: %r" % driver.title)
            t.step(what, details)

        def pika_step(what, result):
            t.step(what, ["pika: " + result])

        try:
            alice = self.browser("alice")
            self.sign_in(alice, "alice@example.org")
            saw(alice, "alice@example.org signs in at the provider's pages (Chromium)")
            self.assertEqual(self.texts(alice, "a.account-link"), [])

            token1 = self.create_account(alice, "alice-app", "token of alice-app (created)")
            self.shot(alice, "token")
            saw(alice, "alice creates alice-app at /accounts/new; #token shows %s" % short(token1),
                method="POST")
            self.served("alice-app", "user add")
            exchange, queue = self.declare("alice-app", token1, "q")
            self.assertEqual((exchange, queue), ("exchange/alice-app/q", "queue/alice-app/q"))
            pika_step("alice-app logs into RabbitMQ with the token", "login allowed; declared "
                      "%s (topic, durable), %s bound to it" % (exchange, queue))

            self.open(alice, "/accounts/alice-app")
            self.fill(alice, "grace", "1m")
            self.submit(alice, self.button_of(alice.find_element(By.ID, "grace")))
            self.assertEqual(alice.find_element(By.TAG_NAME, "h1").text, "New token for alice-app")
            self.assertIn("The previous credential keeps logging in until",
                          alice.find_element(By.CLASS_NAME, "note").text)
            token2 = self.read_secret(alice, "token of alice-app (rotated)")
            self.assertTrue(token1 != token2, "the rotation gave the same token")
            saw(alice, "alice rotates alice-app's token with grace 1m; #token shows %s"
                % short(token2), method="POST")
            self.served("alice-app", "user rotate")
            self.assertTrue(self.login("alice-app", token1), "the old token in the grace")
            self.assertTrue(self.login("alice-app", token2), "the new token")
            pika_step("both tokens log in", "login with %s: allowed; login with %s: allowed"
                      % (short(token1), short(token2)))

            self.open(alice, "/accounts/alice-app")
            self.fill(alice, "owner-email", "bob@example.org")
            self.submit(alice, self.button_of(alice.find_element(By.ID, "owner-email")))
            self.assertEqual(self.texts(alice, ".flash-notice"), ["The owner was added."])
            self.assertEqual(self.texts(alice, ".owner-address"),
                             ["alice@example.org", "bob@example.org"])
            saw(alice, "alice adds bob@example.org as a co-owner")
            self.submit(alice, alice.find_element(By.CSS_SELECTOR,
                                                  "form[action='/logout'] button"))
            self.assertEqual(alice.get_cookie("authsvc_session"), None)
            saw(alice, "alice signs out")

            conn = self.connect("alice-app", token2)
            ch = conn.channel()
            ch.confirm_delivery()
            for i in range(2):
                ch.basic_publish(exchange, "news.%d" % i, b"{}",
                                 pika.BasicProperties(delivery_mode=2))
            conn.close()
            pika_step("alice-app publishes 2 messages to %s" % exchange, "2 publishes confirmed")

            bob = self.browser("bob")
            self.sign_in(bob, "bob@example.org")
            self.assertEqual(self.texts(bob, "a.account-link"), ["alice-app"])
            saw(bob, "bob@example.org signs in (a fresh browser): /accounts lists alice-app")
            self.wait_for_queue_page(bob, "/queues", queue, 2)
            self.shot(bob, "queues")
            saw(bob, "bob opens /queues: %s with 2 messages" % queue)

            carol = self.browser("carol")
            carol_session = self.sign_in(carol, "carol@example.org")
            self.assertEqual(self.texts(carol, "a.account-link"), [])
            self.open(carol, "/queues")
            self.assertNotIn(queue, self.queue_rows(carol))
            self.assertNotIn("alice-app", carol.page_source)
            saw(carol, "carol@example.org signs in: no account on /accounts, no queue on /queues")
            self.open(carol, "/accounts/alice-app")
            self.assertEqual(self.error_status(carol), 404)
            self.shot(carol, "404")
            saw(carol, "carol opens /accounts/alice-app")
            csrf = self.csrf_of(carol)
            for action, form in (("rotate", {"grace": "0"}),
                                 ("owners", {"email": "carol@example.org"}),
                                 ("owners/remove", {"email": "alice@example.org"}),
                                 ("delete", {"confirm": "alice-app"})):
                path = "/accounts/alice-app/" + action
                status, _, _ = self.http("POST", path, dict(form, csrf=csrf), cookie=carol_session)
                self.assertEqual(status, 404, "carol's POST %s" % path)
            status, _, _ = self.http("POST", "/queues/delete",
                                     {"csrf": csrf, "vhost": "/", "name": queue},
                                     cookie=carol_session)
            self.assertEqual(status, 404, "carol's POST /queues/delete of %s" % queue)
            saw(carol, "carol POSTs rotate, owners, owners/remove, delete of alice-app, and "
                "/queues/delete of its queue, with her session and CSRF token (no browser)",
                method="POST", path="/queues/delete")
            self.assertTrue(self.login("alice-app", token2), "alice-app after carol's tries")
            self.assertTrue(self.queue_exists("alice-app", token2, queue))
            pika_step("nothing changed", "login with %s: allowed; %s still exists"
                      % (short(token2), queue))

            self.open(bob, "/accounts/alice-app")
            self.assertEqual(self.texts(bob, ".owner-address"),
                             ["alice@example.org", "bob@example.org"])
            self.assertEqual(self.queue_rows(bob).get(queue), "2")
            self.shot(bob, "account-with-queue")
            self.fill(bob, "confirm", "alice-ap")
            self.submit(bob, self.button_of(bob.find_element(By.ID, "confirm")))
            self.assertEqual(self.texts(bob, "#confirm-error"),
                             ["Type the account\u2019s name to delete it."])
            self.assertEqual(bob.find_element(By.TAG_NAME, "h1").text, "alice-app")
            self.web_line("POST", "/accounts/alice-app/delete", 400, since=mark[0])
            # The field's error is at the end of the page: in the picture.
            bob.execute_script("arguments[0].scrollIntoView({block: 'center'})",
                               bob.find_element(By.ID, "confirm-error"))
            self.shot(bob, "delete-wrong-confirm")
            saw(bob, "bob types 'alice-ap' to delete alice-app: the form again", method="POST")
            self.assertTrue(self.login("alice-app", token2), "alice-app after a wrong confirm")
            self.open(bob, "/accounts")
            self.assertEqual(self.texts(bob, "a.account-link"), ["alice-app"])
            pika_step("nothing changed", "login with %s: allowed" % short(token2))

            self.open(bob, "/accounts/alice-app")
            self.fill(bob, "confirm", "alice-app")
            self.submit(bob, self.button_of(bob.find_element(By.ID, "confirm")))
            self.assertEqual(urllib.parse.urlsplit(bob.current_url).path, "/accounts")
            self.assertEqual(self.texts(bob, ".flash-notice"), ["The account was deleted."])
            self.assertEqual(self.texts(bob, "a.account-link"), [])
            saw(bob, "bob types 'alice-app': deleted")
            self.served("alice-app", "user delete")
            self.assertFalse(self.login("alice-app", token2), "the token after the deletion")
            self.assertFalse(self.login("alice-app", token1), "the old one too")
            pika_step("alice-app logs in after the deletion", "login with %s: refused (403); "
                      "with %s: refused (403)" % (short(token2), short(token1)))
        finally:
            t.save(ARGS.transcripts)

    # -- 2 -------------------------------------------------------------------

    def test_2_an_admin_disables_and_enables_an_account(self):
        out = self.svc.cli("user", "add", "dana-app", "--owner", "dana@example.org")
        token = out.splitlines()[-1]
        record(token, "token of dana-app")
        poll(lambda: [l for l in self.svc.audit_lines() if l.get("actor") == "cli"
                      and l.get("action") == "user add" and l.get("user") == "dana-app"], 5,
             "serve to load dana-app")
        self.assertTrue(self.login("dana-app", token))

        root = self.browser("root")
        self.sign_in(root, ADMIN)
        self.open(root, "/admin")
        self.assertEqual(root.find_element(By.TAG_NAME, "h1").text, "Admin")

        def row():
            for tr in root.find_elements(By.CSS_SELECTOR, "table.data tbody tr"):
                names = tr.find_elements(By.CSS_SELECTOR, ".account-link")
                if names and names[0].text == "dana-app":
                    return tr
            self.fail("dana-app is not listed on /admin")

        self.assertEqual(row().find_element(By.CSS_SELECTOR, ".badge").text, "active")
        # What the admin's page links to, the admin can open.
        for href in [a.get_attribute("href") for a in row().find_elements(By.TAG_NAME, "a")]:
            root.get(href)
            self.assertIsNone(self.error_status(root), "the admin page's link %s" % href)
            self.open(root, "/admin")
        self.submit(root, row().find_element(By.CSS_SELECTOR, "button[type=submit]"))
        self.assertEqual(self.texts(root, ".flash-notice"), ["The account was disabled."])
        self.assertEqual(row().find_element(By.CSS_SELECTOR, ".badge").text, "disabled")
        self.shot(root, "disabled")
        disabled_at = time.monotonic()
        poll(lambda: not self.login("dana-app", token), 10,
             "the broker to refuse the disabled dana-app")
        print("  disabled dana-app refused by the broker %.2f s after the admin's answer"
              % (time.monotonic() - disabled_at), flush=True)

        self.submit(root, row().find_element(By.CSS_SELECTOR, "button[type=submit]"))
        self.assertEqual(self.texts(root, ".flash-notice"), ["The account was enabled."])
        self.assertEqual(row().find_element(By.CSS_SELECTOR, ".badge").text, "active")
        # Not polled with logins: each refusal counts toward serve's throttle.
        self.served("dana-app", "user enable")
        self.assertTrue(self.login("dana-app", token), "dana-app enabled again")

        dana = self.browser("dana")
        dana_session = self.sign_in(dana, "dana@example.org")
        self.assertNotIn("/admin", [a.get_attribute("pathname")
                                    for a in dana.find_elements(By.CSS_SELECTOR, "nav a")])
        self.open(dana, "/admin")
        self.assertEqual(self.error_status(dana), 404)
        status, _, _ = self.http("POST", "/admin/accounts/dana-app/disable",
                                 {"csrf": self.csrf_of(dana)}, cookie=dana_session)
        self.assertEqual(status, 404)
        self.assertTrue(self.login("dana-app", token), "a non-admin's disable changed nothing")

        # The admin ends dana's access: her session and her API key go, her
        # account stays.
        self.open(dana, "/apikeys")
        self.fill(dana, "label", "dana's script")
        self.submit(dana, self.button_of(dana.find_element(By.ID, "label")))
        dana_key = self.read_secret(dana, "API key of dana@example.org")
        status, body, _ = self.api("GET", "/accounts", dana_key)
        self.assertEqual(status, 200, body)
        self.open(root, "/admin")
        self.fill(root, "end-access-email", "dana@example.org")
        self.submit(root, self.button_of(root.find_element(By.ID, "end-access-email")))
        self.assertEqual(self.texts(root, ".flash-notice"),
                         ["Their sessions were ended and their API keys revoked."])
        status, body, _ = self.api("GET", "/accounts", dana_key)
        self.assertEqual(status, 401, body)
        status, headers, _ = self.http("GET", "/accounts", cookie=dana_session)
        self.assertEqual(status, 303)
        self.assertTrue(dict(headers).get("Location", "").startswith("/login"), headers)
        self.assertTrue(self.login("dana-app", token), "dana-app logs in still")
        ended = self.web_line("POST", "/admin/access/revoke", status=303)
        self.assertEqual((ended["action"], ended["operator"], ended["detail"]),
                         ("web revoke", ADMIN,
                          "dana@example.org: 1 sessions ended, 1 API keys revoked"))

    # -- 3 -------------------------------------------------------------------

    def test_3_an_api_key_drives_the_json_api(self):
        frank = self.browser("frank")
        self.sign_in(frank, "frank@example.org")
        self.open(frank, "/apikeys")
        self.fill(frank, "label", "deploy script")
        self.submit(frank, self.button_of(frank.find_element(By.ID, "label")))
        key = self.read_secret(frank, "API key of frank@example.org")
        self.assertTrue(key.startswith("ak_"), "an API key starts with ak_")

        status, body, _ = self.api("POST", "/accounts", key, {"name": "frank-api"})
        self.assertEqual(status, 201, body)
        self.assertEqual(body["name"], "frank-api")
        token1 = body["token"]
        status, body, _ = self.api("GET", "/accounts", key)
        self.assertEqual(status, 200, body)
        self.assertEqual([(a["name"], a["owners"]) for a in body["accounts"]],
                         [("frank-api", ["frank@example.org"])])
        status, body, _ = self.api("GET", "/accounts/frank-api", key)
        self.assertEqual(status, 200, body)
        self.assertEqual((body["name"], body["active"], body["grace_until"]),
                         ("frank-api", True, None))

        self.served("frank-api", "user add")
        _, queue = self.declare("frank-api", token1, "jobs", messages=3)

        status, body, _ = self.api("POST", "/accounts/frank-api/rotate", key, {"grace": "30m"})
        self.assertEqual(status, 200, body)
        token2 = body["token"]
        self.assertTrue(token1 != token2, "the rotation gave the same token")
        grace_left = rfc3339_seconds(body["previous_valid_until"]) - time.time()
        self.assertTrue(29 * 60 < grace_left <= 30 * 60, body["previous_valid_until"])
        self.served("frank-api", "user rotate")
        self.assertTrue(self.login("frank-api", token1), "the old token in the 30m grace")
        self.assertTrue(self.login("frank-api", token2), "the new token")

        status, body, _ = self.api("PUT", "/accounts/frank-api/owners/gina%40example.org", key)
        self.assertEqual((status, body), (204, None))
        status, body, _ = self.api("GET", "/accounts/frank-api", key)
        self.assertEqual(body["owners"], ["frank@example.org", "gina@example.org"])
        status, body, _ = self.api("DELETE", "/accounts/frank-api/owners/gina%40example.org", key)
        self.assertEqual((status, body), (204, None))
        status, body, _ = self.api("GET", "/accounts/frank-api", key)
        self.assertEqual(body["owners"], ["frank@example.org"])

        def listed():
            status, body, _ = self.api("GET", "/queues", key)
            self.assertEqual(status, 200, body)
            return [q for q in body["queues"] if q["name"] == queue and q["messages"] == 3]
        listed_queue = poll(listed, 20, "GET /api/v1/queues to list %s with 3 messages" % queue)
        self.assertEqual((listed_queue[0]["vhost"], listed_queue[0]["account"]),
                         ("/", "frank-api"))

        path = "/queues/%s/%s" % (urllib.parse.quote("/", safe=""),
                                  urllib.parse.quote(queue, safe=""))
        status, body, _ = self.api("DELETE", path, key)
        self.assertEqual((status, body), (204, None))
        self.assertFalse(self.queue_exists("frank-api", token2, queue), "the queue is gone")
        status, body, _ = self.api("DELETE", path, key)
        self.assertEqual(status, 404, body)

        status, body, _ = self.api("DELETE", "/accounts/frank-api", key)
        self.assertEqual((status, body), (204, None))
        status, body, _ = self.api("DELETE", "/accounts/frank-api", key)
        self.assertEqual(status, 404, body)
        self.assertIn("no such account", body["error"])
        self.served("frank-api", "user delete")
        self.assertFalse(self.login("frank-api", token2), "the token after the deletion")

        status, body, headers = self.api("GET", "/accounts")
        self.assertEqual(status, 401, body)
        self.assertIn("error", body)
        self.assertEqual(headers.get("content-type"), "application/json")
        self.assertEqual(headers.get("www-authenticate"), "Bearer")

        status, body, headers = self.api("GET", "/openapi.json")
        self.assertEqual(status, 200)
        self.assertIn("openapi", body)
        self.assertIn("/accounts", json.dumps(body["paths"]))

        self.open(frank, "/apikeys")
        self.assertEqual(self.texts(frank, "table.data tbody th"), ["deploy script"])
        self.submit(frank, frank.find_element(By.CSS_SELECTOR,
                                              "form[action$='/revoke'] button[type=submit]"))
        self.assertEqual(self.texts(frank, ".flash-notice"), ["The API key was revoked."])
        status, body, _ = self.api("GET", "/accounts", key)
        self.assertEqual(status, 401, body)
        self.assertRegex(body["error"], r"^API key \d+ was revoked$")

    # -- 4 -------------------------------------------------------------------

    def forged_sign_in(self, driver, what, forge, reason):
        """A sign-in whose ID token the proxy replaces: a 400 page, no
        session cookie, and the web's audit line of /callback says
        `reason`."""
        driver.execute_cdp_cmd("Network.clearBrowserCookies", {})
        since = len(self.web_lines())
        forged_before = len(self.proxy.forged)
        self.proxy.set_forgery(what, forge)
        try:
            self.open(driver, "/login")
            self.record_sign_in_cookie(driver, "mallory@example.org")
            sign_in_at_provider(driver, "mallory@example.org")
            wait_for(driver, lambda d: self.error_status(d), 15,
                     "the web's error page (%s)" % what)
        finally:
            # Unused if the sign-in failed early: not for the next one.
            self.proxy.take_forgery()
        self.assertEqual(self.error_status(driver), 400, what)
        self.assertEqual(urllib.parse.urlsplit(driver.current_url).path, "/callback")
        self.assert_no_alert(driver)
        self.assertIsNone(driver.get_cookie("authsvc_session"), "a session cookie (%s)" % what)
        self.assertEqual(len(self.proxy.forged), forged_before + 1, "the proxy forged nothing")
        line = self.web_line("GET", "/callback", 400, since=since)
        self.assertIn("the provider's answer was refused: " + reason, line["reason"], what)
        self.assertEqual(line["decision"], "denied")
        self.assertEqual(line["operator"], "")
        self.shot(driver, what)
        return line

    def test_4_forged_id_tokens_and_a_replayed_state_are_refused(self):
        op = self.op
        driver = self.browser()

        def claims_of(token):
            return jwt.decode(token, options={"verify_signature": False})

        def tampered(token):
            header, payload, signature = token.split(".")
            claims = dict(claims_of(token), email=ADMIN, sub=ADMIN)
            return "%s.%s.%s" % (header, b64u(json.dumps(claims).encode()), signature)

        def by_attacker(token):
            return op.sign(dict(claims_of(token), email=ADMIN), key="attacker",
                           kid=op.kid("RS256"))

        def by_unknown_key(token):
            return op.sign(claims_of(token), key="attacker")

        def wrong_audience(token):
            return op.sign(dict(claims_of(token), aud="another-client"))

        def expired(token):
            now = int(time.time())
            return op.sign(dict(claims_of(token), iat=now - 900, exp=now - 600))

        def wrong_nonce(token):
            return op.sign(dict(claims_of(token), nonce=secrets.token_urlsafe(32)))

        cases = (("tampered", tampered, "ID token signature does not verify with key '%s'"
                  % op.kid("RS256")),
                 ("attacker-key", by_attacker, "ID token signature does not verify with key '%s'"
                  % op.kid("RS256")),
                 ("unknown-key", by_unknown_key, "ID token key '%s' is not in the provider's "
                  "key set" % op.attacker_private_jwk["kid"]),
                 ("wrong-aud", wrong_audience,
                  "ID token audience does not include this client '%s'" % CLIENT_ID),
                 ("expired", expired, "ID token expired "),
                 ("wrong-nonce", wrong_nonce, "ID token nonce is not this sign-in's"))
        for what, forge, reason in cases:
            with self.subTest(what):
                line = self.forged_sign_in(driver, what, forge, reason)
                print("  %s: 400, %s" % (what, line["reason"]), flush=True)

        # The forgeries are what the names say (claims and header read back).
        forged = dict(self.proxy.forged)
        self.assertEqual(claims_of(forged["tampered"])["email"], ADMIN)
        self.assertEqual(jwt.get_unverified_header(forged["attacker-key"])["kid"],
                         op.kid("RS256"))
        self.assertLess(claims_of(forged["expired"])["exp"], time.time() - 60)

        # A replayed callback: the sign-in it finished stays, the replay is
        # a 400 and makes no session.
        driver.execute_cdp_cmd("Network.clearBrowserCookies", {})
        callbacks_before = len(self.proxy.callbacks)
        session = self.sign_in(driver, "grace@example.org")
        self.assertEqual(len(self.proxy.callbacks), callbacks_before + 1)
        callback = self.proxy.callbacks[-1]
        callback_path = callback[len(self.web_url):]
        since = len(self.web_lines())
        status, headers, _ = self.http("GET", callback_path)
        self.assertEqual(status, 400, "the callback replayed without cookies")
        self.assertEqual([v for k, v in headers if k.lower() == "set-cookie"
                          and v.startswith("authsvc_session=") and "Max-Age=0" not in v], [])
        status, headers, _ = self.http("GET", callback_path, cookie=session)
        self.assertEqual(status, 400, "the callback replayed with the session")
        self.open(driver, callback_path)
        self.assertEqual(self.error_status(driver), 400)
        self.shot(driver, "replayed-callback")
        for line in [l for l in self.web_lines()[since:] if l["path"] == "/callback"]:
            self.assertEqual(line["status"], 400)
            self.assertIn("no sign-in has this state", line["reason"])
        self.assertTrue(driver.get_cookie("authsvc_session")["value"] == session,
                        "the session cookie changed")
        self.open(driver, "/accounts")
        self.assertEqual(self.signed_in_as(driver), "grace@example.org")

    # -- 5 -------------------------------------------------------------------

    def test_5_security_headers_and_cookie_flags(self):
        def header(headers, name):
            values = [v for k, v in headers if k.lower() == name.lower()]
            # (A cookie's value is a secret: not in a message.)
            shown = [v.split("=")[0] for v in values] if name == "Set-Cookie" else values
            self.assertEqual(len(values), 1, "%s: %r" % (name, shown))
            return values[0]

        def check_page_headers(headers, what):
            csp = header(headers, "Content-Security-Policy")
            self.assertNotIn("unsafe-inline", csp, what)
            self.assertNotIn("unsafe-eval", csp, what)
            self.assertIn("default-src 'none'", csp, what)
            self.assertIn("frame-ancestors 'none'", csp, what)
            self.assertEqual(header(headers, "X-Frame-Options"), "DENY", what)
            self.assertEqual(header(headers, "X-Content-Type-Options"), "nosniff", what)
            self.assertEqual(header(headers, "Referrer-Policy"), "no-referrer", what)

        status, headers, _ = self.http("GET", "/")
        self.assertEqual(status, 200)
        check_page_headers(headers, "the home page")

        status, headers, _ = self.http("GET", "/login")
        self.assertEqual(status, 303)
        self.assertTrue(header(headers, "Location").startswith(self.proxy.url + "/auth?"))
        cookie = header(headers, "Set-Cookie")
        name, _, rest = cookie.partition("=")
        value = rest.split(";")[0]
        record(value, "sign-in cookie (urllib)")
        self.assertEqual(name, "authsvc_signin")
        attributes = [a.strip() for a in cookie.split(";")[1:]]
        self.assertIn("HttpOnly", attributes)
        self.assertIn("SameSite=Lax", attributes)
        self.assertIn("Path=/", attributes)
        self.assertNotIn("Secure", attributes)  # a plain-http loopback public URL

        driver = self.browser("erin")
        session = self.sign_in(driver, "erin@example.org")
        jar = driver.get_cookie("authsvc_session")
        self.assertIs(jar["httpOnly"], True)
        self.assertEqual(jar["sameSite"], "Lax")
        self.assertEqual(jar["path"], "/")
        self.assertIsNone(driver.get_cookie("authsvc_signin"), "the sign-in cookie was cleared")
        self.assertEqual(driver.execute_script("return document.cookie"), "",
                         "a script sees a cookie")
        csrf = self.csrf_of(driver)

        status, headers, body = self.http("POST", "/accounts", {"csrf": csrf, "name": "erin-app"},
                                          cookie=session)
        self.assertEqual(status, 200)
        token = re.search(rb'<code id="token">([^<]+)</code>', body).group(1).decode()
        record(token, "token of erin-app (urllib)")
        check_page_headers(headers, "the token page")
        self.assertEqual(header(headers, "Cache-Control"), "no-store")
        self.assertTrue(header(headers, "Content-Type").startswith("text/html"))

        status, headers, _ = self.http("GET", "/accounts/erin-app", cookie=session)
        self.assertEqual(status, 200)
        check_page_headers(headers, "an account page")
        self.assertEqual(header(headers, "Cache-Control"), "no-store")
        # Without the CSRF token a change is refused.
        status, _, _ = self.http("POST", "/accounts/erin-app/rotate", {"grace": "0"},
                                 cookie=session)
        self.assertEqual(status, 403)

    # -- 6 -------------------------------------------------------------------

    def test_6_markup_in_claims_and_names_is_shown_as_text(self):
        driver = self.browser("odd")
        self.sign_in(driver, ODD_LOGIN)
        self.assertEqual(self.signed_in_as(driver), ODD_LOGIN)

        self.open(driver, "/accounts/new")
        self.fill(driver, "name", SCRIPT_NAME)
        since = len(self.web_lines())
        self.submit(driver, self.button_of(driver.find_element(By.ID, "name")))
        self.web_line("POST", "/accounts", 400, since=since)
        self.shot(driver, "script-name")
        error = driver.find_element(By.CSS_SELECTOR, ".flash-error").text
        self.assertIn("the name '%s' cannot be used: a user name must start with a letter"
                      % SCRIPT_NAME, error)
        self.assertEqual(driver.find_element(By.ID, "name").get_attribute("value"), SCRIPT_NAME)
        self.assertIn("&lt;script&gt;alert(1)&lt;/script&gt;", driver.page_source)
        self.assert_only_our_script(driver)

        # An account of the odd address: its address in text and in forms.
        token = self.create_account(driver, "odd-app", "token of odd-app")
        self.open(driver, "/accounts/odd-app")
        self.fill(driver, "owner-email", "bob@example.org")
        self.submit(driver, self.button_of(driver.find_element(By.ID, "owner-email")))
        self.assertEqual(sorted(self.texts(driver, ".owner-address")),
                         ["bob@example.org", ODD_LOGIN])
        removal = driver.find_elements(By.CSS_SELECTOR, "form[action$='/owners/remove'] "
                                                        "input[name=email]")
        self.assertEqual(sorted(e.get_attribute("value") for e in removal),
                         ["bob@example.org", ODD_LOGIN])
        # An owner address with markup, past the browser's own validation:
        # the store refuses it, and the account's page says why, as text.
        driver.execute_script("document.getElementById('owner-email').form.noValidate = true")
        bad = 'x"<svg/onload=alert(3)>@example.org'
        self.fill(driver, "owner-email", bad)
        self.submit(driver, self.button_of(driver.find_element(By.ID, "owner-email")))
        self.assertEqual(driver.find_element(By.TAG_NAME, "h1").text, "odd-app")
        self.assertIn(bad, driver.find_element(By.CSS_SELECTOR, ".flash-error").text)
        self.shot(driver, "markup-owner")
        self.assert_only_our_script(driver)
        self.assertEqual(driver.find_elements(By.TAG_NAME, "svg"), [])
        self.assertTrue(token)

    def assert_only_our_script(self, driver):
        self.assert_no_alert(driver)
        scripts = driver.find_elements(By.TAG_NAME, "script")
        self.assertEqual([s.get_attribute("src") for s in scripts],
                         [self.web_url + "/static/app.js"])
        self.assertEqual(driver.find_elements(By.TAG_NAME, "img"), [])

    # -- 7 -------------------------------------------------------------------

    def test_7_a_screenshot_of_every_page(self):
        driver = self.browser()
        self.open(driver, "/")
        self.assertEqual(driver.find_element(By.TAG_NAME, "h1").text, "Pulse accounts")
        self.shot(driver, "home")
        self.sign_in(driver, ADMIN)  # provider-sign-in, provider-consent
        self.assertEqual(self.texts(driver, "a.account-link"), [])
        self.shot(driver, "accounts-empty")
        self.open(driver, "/accounts/new")
        self.shot(driver, "new-account")
        self.fill(driver, "name", "9lives")
        self.submit(driver, self.button_of(driver.find_element(By.ID, "name")))
        self.assertTrue(self.texts(driver, ".flash-error"))
        self.shot(driver, "new-account-error")
        token = self.create_account(driver, "root-app", "token of root-app")
        self.shot(driver, "token")
        self.served("root-app", "user add")
        exchange, queue = self.declare("root-app", token, "shots", messages=3)
        self.wait_for_queue_page(driver, "/accounts/root-app", queue, 3)
        self.shot(driver, "account-with-queues")
        self.wait_for_queue_page(driver, "/queues", queue, 3)
        self.shot(driver, "queues")
        # The exchange directory: the exchange with its binding; nothing
        # sampled (this broker's guardian does not sample).
        self.open(driver, "/exchanges")
        rows = {row.find_element(By.TAG_NAME, "th").text: row.text
                for row in driver.find_elements(By.CSS_SELECTOR, "table.data tbody tr")}
        self.assertIn(exchange, rows)
        self.assertTrue(rows[exchange].endswith("1 not sampled yet"), rows[exchange])
        self.shot(driver, "exchanges")
        driver.find_element(By.LINK_TEXT, exchange).click()
        wait_for(driver, lambda d: d.find_element(By.TAG_NAME, "h1").text == exchange, 10,
                 "the page of %s" % exchange)
        self.assertIn("No message inspected yet", driver.find_element(By.TAG_NAME, "main").text)
        self.shot(driver, "exchange")
        self.open(driver, "/apikeys")
        self.shot(driver, "apikeys-empty")
        self.fill(driver, "label", "screenshots")
        self.submit(driver, self.button_of(driver.find_element(By.ID, "label")))
        self.read_secret(driver, "API key of %s" % ADMIN)
        self.shot(driver, "api-key")
        self.open(driver, "/apikeys")
        self.shot(driver, "apikeys")
        self.open(driver, "/admin")
        self.assertIn("root-app", self.texts(driver, ".account-link"))
        self.shot(driver, "admin")
        self.open(driver, "/no-such-page")
        self.assertEqual(self.error_status(driver), 404)
        self.shot(driver, "error-404")
        if SCREENSHOTS:
            names = sorted(os.listdir(os.path.join(SCREENSHOTS, self._testMethodName)))
            print("  screenshots: %s" % ", ".join(names), flush=True)
            self.assertEqual(len(names), 16, names)

    # -- 8 -------------------------------------------------------------------

    def test_8_every_audit_line_names_its_node_first(self):
        """Each process names itself first in every line it writes, by
        default the host name and its port; the store's events that serve
        copies (the web's changes, the CLI's) carry the event's number."""
        self.http("GET", "/")
        self.web_line("GET", "/")
        out = self.svc.cli("user", "add", "nora-app", "--owner", "nora@example.org")
        record(out.splitlines()[-1], "token of nora-app")
        poll(lambda: [l for l in self.svc.audit_lines() if l.get("actor") == "cli"
                      and l.get("action") == "user add" and l.get("user") == "nora-app"], 5,
             "serve to copy the CLI's event")
        host = socket.gethostname()
        for path, port in ((self.web_audit, self.web_port), (self.svc.audit_log, self.svc.port)):
            text = read_log(path)
            lines = [json.loads(line) for line in text[:text.rfind("\n") + 1].splitlines()]
            self.assertTrue(lines, path)
            for line in lines:
                self.assertEqual(next(iter(line)), "node", line)
                self.assertEqual(line["node"], "%s:%d" % (host, port), line)
        events = [line for line in self.svc.audit_lines() if "actor" in line]
        self.assertTrue(events)
        for line in events:
            self.assertIsInstance(line["event"], int, line)


def quit_browser(driver):
    """Quits Chromium and chromedriver; raises if chromedriver still runs."""
    process = driver.service.process
    driver.quit()
    if process is not None and process.poll() is None:
        raise AssertionError("chromedriver is still running after quit()")


def rfc3339_seconds(text):
    """Seconds since the epoch of "2026-11-27T23:18:49.123456Z"."""
    import calendar
    whole, _, fraction = text.rstrip("Z").partition(".")
    seconds = calendar.timegm(time.strptime(whole, "%Y-%m-%dT%H:%M:%S"))
    return seconds + (float("0." + fraction) if fraction else 0.0)


SCREENSHOTS = None


def main():
    global ARGS, SCREENSHOTS
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--authsvc", required=True, help="the authsvc binary")
    parser.add_argument("--screenshots", metavar="DIR",
                        help="keep the screenshots here (default under CTest: "
                             "$AUTHSVC_TEST_ARTIFACTS/web_e2e)")
    parser.add_argument("--transcripts", metavar="DIR",
                        help="write scenario.txt, what test 1 did and saw, into DIR")
    ARGS, rest = parser.parse_known_args()
    SCREENSHOTS = ARGS.screenshots or (token_ledger.ARTIFACTS
                                       and os.path.join(token_ledger.ARTIFACTS, "web_e2e"))
    run_suite(rest, "web e2e")


if __name__ == "__main__":
    main()
