#!/usr/bin/python3
"""Self-test of the web tests' real parts, without authsvc: the OpenID
Connect provider (oidc_provider.py, oidc-provider under Node.js) and the
browser (browser.py, headless Chromium), with a minimal relying party
written here (an http.server on 127.0.0.1 serving the redirect URI).

    /usr/bin/python3 tests/e2e/oidc_selftest.py [--artifacts DIR] [unittest options]

  a. Chromium signs in as alice@example.org (an account the provider was
     not told about) at the provider's own pages; the relying party gets
     code, state and iss at its callback, exchanges the code with
     client_secret_basic and the PKCE verifier, and verifies the ID token
     with PyJWT against the provider's JWKS (RS256, the provider's kid):
     email and email_verified present, the nonce echoed, no groups, the
     lifetime the fixture's ttl option set.
  b. The same with a client whose ID tokens are ES256, as an account set
     up with an unverified email and groups, which the ID token carries.
  c. The forging helpers: tokens signed with the provider's own keys verify
     (and those with a wrong aud, exp or nonce fail the check of that
     claim); one signed with the attacker's key fails, under the
     provider's kid or its own.
  d. The token endpoint refuses the client's secret in the body
     (client_secret_post) and a second use of a code.

Screenshots of the provider's sign-in and consent pages, and of the
callback, are kept in --artifacts DIR (default, under CTest: among the
test artifacts; else none), one folder a test, beside the provider's logs.
The client secrets, codes and tokens obtained are recorded in the token
ledger (tests/token_ledger.py), and nothing here prints them.
"""

import argparse
import base64
import hashlib
import http.server
import json
import os
import secrets
import sys
import threading
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

import jwt
from selenium.webdriver.common.by import By

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from browser import new_chromium, screenshot, sign_in_at_provider, wait_for, without_query  # noqa: E402,E501
from oidc_provider import OidcProvider, token_ledger  # noqa: E402
from suite_runner import run_suite  # noqa: E402
from timing import scaled  # noqa: E402

LABEL = "oidc-selftest"
ID_TOKEN_TTL = 120  # not oidc-provider's default (an hour): the ttl option works
ARGS = None
ARTIFACTS = None


class RelyingParty(http.server.ThreadingHTTPServer):
    """Serves /callback: keeps each request's query parameters, and answers
    a page that shows none of them."""
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), CallbackHandler)
        self.callbacks = []
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.server_address[1], path)

    def callback_with_state(self, state):
        with self.lock:
            for params in self.callbacks:
                if params.get("state") == state:
                    return params
        return None

    def close(self):
        self.shutdown()
        self.server_close()


class CallbackHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        if url.path != "/callback":
            self.send_error(404)
            return
        params = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
        with self.server.lock:
            self.server.callbacks.append(params)
        body = (b"<!doctype html><title>Relying party</title>"
                b"<h1 id='callback'>The relying party's callback was called</h1>")
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass  # the request line carries the code


def b64u(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def record(value, what):
    token_ledger.record([value], "%s %s" % (LABEL, what))


class OidcSelfTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.rp = RelyingParty()
        cls.addClassCleanup(cls.rp.close)
        cls.op = OidcProvider(label=LABEL, ttl={"IdToken": ID_TOKEN_TTL},
                              artifacts=ARTIFACTS and os.path.join(ARTIFACTS, "provider"))
        redirect = [cls.rp.url("/callback")]
        cls.rs_client = cls.op.register_client("selftest-rs256", redirect_uris=redirect,
                                               id_token_signed_response_alg="RS256")
        cls.es_client = cls.op.register_client("selftest-es256", redirect_uris=redirect,
                                               id_token_signed_response_alg="ES256")
        cls.op.set_account("bob@example.org", email="bob@example.org", email_verified=False,
                           groups=["pulse-admins", "staff"])
        cls.op.start()
        # Registered after start, so it runs first; stop() raises unless
        # node exited 0.
        cls.addClassCleanup(cls.op.stop)
        print("provider %s ready in %.2f s" % (cls.op.issuer, cls.op.start_seconds), flush=True)
        cls.jwks = jwt.PyJWKClient(cls.op.endpoint("jwks_uri"))

    # -- the relying party's side ------------------------------------------

    def artifact_dir(self):
        return ARTIFACTS and os.path.join(ARTIFACTS, self._testMethodName)

    def sign_in(self, client, login):
        """The code flow through Chromium; returns (code, verifier, nonce)."""
        state, nonce = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        verifier = secrets.token_urlsafe(48)
        challenge = b64u(hashlib.sha256(verifier.encode()).digest())
        callback = self.rp.url("/callback")
        url = self.op.endpoint("authorization_endpoint") + "?" + urllib.parse.urlencode({
            "response_type": "code", "client_id": client["client_id"], "redirect_uri": callback,
            "scope": "openid email", "state": state, "nonce": nonce,
            "code_challenge": challenge, "code_challenge_method": "S256"})
        started = time.monotonic()
        driver = new_chromium(self.artifact_dir())
        try:
            driver.get(url)
            landed = sign_in_at_provider(driver, login)
            self.assertEqual(without_query(landed), callback)
            wait_for(driver, lambda d: d.find_element(By.ID, "callback"), 10,
                     "the relying party's callback page")
            screenshot(driver, "relying-party-callback")
        finally:
            quit_browser(driver)
        print("  %s signed in through Chromium in %.1f s"
              % (login, time.monotonic() - started), flush=True)
        params = self.rp.callback_with_state(state)
        self.assertIsNotNone(params, "the callback did not come back with our state")
        self.assertIn("code", params)
        record(params["code"], "authorization code")
        self.assertNotIn("error", params)
        self.assertEqual(params.get("iss"), self.op.issuer)
        return params["code"], verifier, nonce

    def token_request(self, client, form, auth="basic"):
        """POSTs `form` to the token endpoint, the client authenticating
        with client_secret_basic (auth="basic") or in the body ("post").
        Returns (status, JSON body); records the tokens it gets."""
        form = dict(form)
        headers = {"Content-Type": "application/x-www-form-urlencoded",
                   "Accept": "application/json"}
        if auth == "basic":
            # RFC 6749 2.3.1: each part form-encoded, then Basic.
            pair = "%s:%s" % (urllib.parse.quote(client["client_id"], safe=""),
                              urllib.parse.quote(client["client_secret"], safe=""))
            headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
        else:
            form.update(client_id=client["client_id"], client_secret=client["client_secret"])
        request = urllib.request.Request(self.op.endpoint("token_endpoint"), method="POST",
                                         data=urllib.parse.urlencode(form).encode(),
                                         headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=scaled(10)) as r:
                status, body = r.status, json.load(r)
        except urllib.error.HTTPError as e:
            status, body = e.code, json.load(e)
        for name in ("access_token", "id_token", "refresh_token"):
            if name in body:
                record(body[name], name)
        return status, body

    def exchange(self, client, code, verifier, auth="basic"):
        return self.token_request(client, {
            "grant_type": "authorization_code", "code": code, "code_verifier": verifier,
            "redirect_uri": self.rp.url("/callback")}, auth)

    def verify_id_token(self, token, client, alg):
        """PyJWT against the provider's JWKS, as a relying party would:
        signature, alg, iss, aud, exp. Returns the claims."""
        header = jwt.get_unverified_header(token)
        self.assertEqual((header.get("alg"), header.get("kid")), (alg, self.op.kid(alg)))
        key = self.jwks.get_signing_key_from_jwt(token)
        return jwt.decode(token, key.key, algorithms=[alg], audience=client["client_id"],
                          issuer=self.op.issuer,
                          options={"require": ["exp", "iat", "iss", "aud", "sub"]})

    def check_sign_in(self, client, alg, login):
        code, verifier, nonce = self.sign_in(client, login)
        status, body = self.exchange(client, code, verifier)
        self.assertEqual(status, 200, "token endpoint: %s" % body.get("error"))
        self.assertEqual(body.get("token_type"), "Bearer")
        self.assertIn("id_token", body)
        claims = self.verify_id_token(body["id_token"], client, alg)
        self.assertEqual(claims["nonce"], nonce)
        self.assertEqual(claims["sub"], login)
        self.assertEqual(claims["exp"] - claims["iat"], ID_TOKEN_TTL)
        # The access token works at userinfo, which says the same.
        request = urllib.request.Request(self.op.endpoint("userinfo_endpoint"),
                                         headers={"Authorization": "Bearer "
                                                  + body["access_token"]})
        with urllib.request.urlopen(request, timeout=scaled(10)) as r:
            userinfo = json.load(r)
        self.assertEqual(userinfo["email"], claims["email"])
        return claims

    # -- the tests ----------------------------------------------------------

    def test_a_rs256_sign_in_through_chromium(self):
        claims = self.check_sign_in(self.rs_client, "RS256", "alice@example.org")
        self.assertEqual(claims["email"], "alice@example.org")
        self.assertIs(claims["email_verified"], True)
        self.assertNotIn("groups", claims)

    def test_b_es256_sign_in_with_an_unverified_email_and_groups(self):
        claims = self.check_sign_in(self.es_client, "ES256", "bob@example.org")
        self.assertEqual(claims["email"], "bob@example.org")
        self.assertIs(claims["email_verified"], False)
        self.assertEqual(claims["groups"], ["pulse-admins", "staff"])

    def test_c_forged_tokens(self):
        op, client = self.op, self.rs_client
        nonce = secrets.token_urlsafe(16)

        def verify(token, alg="RS256", c=client):
            key = self.jwks.get_signing_key_from_jwt(token)
            return jwt.decode(token, key.key, algorithms=[alg], audience=c["client_id"],
                              issuer=op.issuer)

        # The helpers make tokens that verify: the negatives below fail for
        # the one thing each spoils.
        claims = verify(op.sign(op.id_token_claims("selftest-rs256", nonce=nonce)))
        self.assertEqual((claims["nonce"], claims["email"]), (nonce, "alice@example.org"))
        claims = verify(op.sign(op.id_token_claims("selftest-es256", login="bob@example.org"),
                                alg="ES256"), "ES256", self.es_client)
        self.assertEqual(claims["groups"], ["pulse-admins", "staff"])

        good = op.id_token_claims("selftest-rs256", nonce=nonce)
        with self.assertRaises(jwt.InvalidSignatureError):
            verify(op.sign(good, key="attacker", kid=op.kid("RS256")))
        with self.assertRaises(jwt.PyJWKClientError):
            verify(op.sign(good, key="attacker"))  # its own kid: not in the JWKS
        with self.assertRaises(jwt.InvalidAudienceError):
            verify(op.sign(dict(good, aud="someone-else")))
        with self.assertRaises(jwt.ExpiredSignatureError):
            verify(op.sign(op.id_token_claims("selftest-rs256", nonce=nonce, lifetime=-120)))
        claims = verify(op.sign(dict(good, nonce="not-the-one-sent")))
        self.assertNotEqual(claims["nonce"], nonce)  # what a relying party must check

        self.assertEqual([k["kid"] for k in op.provider_private_jwks],
                         [op.kid("RS256"), op.kid("ES256")])
        self.assertIn("d", op.attacker_private_jwk)
        published = {k["kid"] for k in json.load(urllib.request.urlopen(
            op.endpoint("jwks_uri"), timeout=scaled(10)))["keys"]}
        self.assertEqual(published, {op.kid("RS256"), op.kid("ES256")})

    def test_d_token_endpoint_refuses_the_secret_in_the_body_and_a_code_twice(self):
        client = self.rs_client
        code, verifier, _ = self.sign_in(client, "alice@example.org")
        status, body = self.exchange(client, code, verifier, auth="post")
        self.assertEqual((status, body.get("error")), (401, "invalid_client"))
        status, body = self.exchange(client, code, verifier)
        self.assertEqual(status, 200, "token endpoint: %s" % body.get("error"))
        self.verify_id_token(body["id_token"], client, "RS256")
        status, body = self.exchange(client, code, verifier)
        self.assertEqual((status, body.get("error")), (400, "invalid_grant"))


def quit_browser(driver):
    """Quits Chromium and chromedriver; raises if chromedriver still runs."""
    process = driver.service.process
    driver.quit()
    if process is not None and process.poll() is None:
        raise AssertionError("chromedriver is still running after quit()")


def main():
    global ARGS, ARTIFACTS
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--artifacts", metavar="DIR",
                        help="keep screenshots and the provider's logs here")
    ARGS, rest = parser.parse_known_args()
    ARTIFACTS = ARGS.artifacts or token_ledger.artifact_dir(LABEL)
    token_ledger.note_run("e2e_oidc_selftest")
    run_suite(rest, "oidc selftest")


if __name__ == "__main__":
    main()
