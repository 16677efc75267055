"""A real OpenID Connect provider for authsvc's web tests: oidc-provider
(npm), run by tests/oidc/provider.mjs under Node.js, on 127.0.0.1.

    from oidc_provider import OidcProvider
    op = OidcProvider()
    client = op.register_client("authsvc-web", redirect_uris=[rp + "/callback"])
    op.set_account("bob@example.org", email="bob@example.org", email_verified=False)
    with op:                      # start(): waits for the discovery document
        op.issuer                 # http://127.0.0.1:PORT
        op.url                    # where it listens: the issuer, unless issuer= was given
        op.discovery["token_endpoint"]
        client["client_secret"]
        op.sign({...}, alg="RS256")                 # with the provider's own key
        op.sign({...}, key="attacker")              # with a key it does not know
                                  # stop(): SIGTERM, raise unless node exited 0

Needs the packages scripts/install-oidc-provider.sh installs (found by the
lockfile's hash, as the installer does) and Node.js 18 or later
($AUTHSVC_TEST_NODE, else `node` on PATH).

Keys: each OidcProvider makes its own when it is created, in memory: an RSA
2048 pair (RS256) and an EC P-256 pair (ES256) that the provider signs ID
tokens with, each with its own kid, and an "attacker" RSA pair the provider
does not know, for forged tokens. They live as long as the object; the
private ones reach disk only in the provider's configuration, in a private
temporary folder that stop() deletes.

Accounts: any login signs in at the provider's own sign-in page (any
password); a login not set with set_account() gets email=<login>,
email_verified=true. sub is the login.

Under CTest ($AUTHSVC_TEST_ARTIFACTS), the client secrets it makes are
recorded in the token ledger (tests/token_ledger.py), and stop() keeps the
provider's stdout and stderr and its configuration, secrets and private key
members left out, among the artifacts.
"""

import atexit
import base64
import copy
import ctypes
import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, HERE)
import token_ledger  # noqa: E402
from authsvc_process import describe_exit, terminate  # noqa: E402
from timing import scaled  # noqa: E402

SOURCE_DIR = os.path.normpath(os.path.join(HERE, "..", ".."))
PROVIDER_SCRIPT = os.path.join(SOURCE_DIR, "tests", "oidc", "provider.mjs")
LOCKFILE = os.path.join(SOURCE_DIR, "tests", "oidc", "package-lock.json")


class OidcProviderError(RuntimeError):
    pass


def node_modules_dir():
    """Where scripts/install-oidc-provider.sh installs the locked packages:
    ${AUTHSVC_TEST_CACHE:-/var/cache/authsvc-test}/oidc-provider/<sha256 of
    the lockfile>/node_modules."""
    with open(LOCKFILE, "rb") as f:
        key = hashlib.sha256(f.read()).hexdigest()
    root = os.environ.get("AUTHSVC_TEST_CACHE") or "/var/cache/authsvc-test"
    return os.path.join(root, "oidc-provider", key, "node_modules")


# ---------------------------------------------------------------------------
# Keys as JWKs
# ---------------------------------------------------------------------------

def _b64u(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _b64u_int(n, length=None):
    return _b64u(n.to_bytes(length or max(1, (n.bit_length() + 7) // 8), "big"))


def rsa_private_jwk(key, kid, alg="RS256"):
    priv = key.private_numbers()
    pub = priv.public_numbers
    return {"kty": "RSA", "kid": kid, "alg": alg, "use": "sig",
            "n": _b64u_int(pub.n), "e": _b64u_int(pub.e), "d": _b64u_int(priv.d),
            "p": _b64u_int(priv.p), "q": _b64u_int(priv.q), "dp": _b64u_int(priv.dmp1),
            "dq": _b64u_int(priv.dmq1), "qi": _b64u_int(priv.iqmp)}


def ec_p256_private_jwk(key, kid, alg="ES256"):
    priv = key.private_numbers()
    pub = priv.public_numbers
    # RFC 7518 6.2.1: coordinates and d at the curve's full length.
    return {"kty": "EC", "kid": kid, "alg": alg, "use": "sig", "crv": "P-256",
            "x": _b64u_int(pub.x, 32), "y": _b64u_int(pub.y, 32),
            "d": _b64u_int(priv.private_value, 32)}


_PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "oth", "k")


def public_jwk(jwk):
    return {k: v for k, v in jwk.items() if k not in _PRIVATE_MEMBERS}


# ---------------------------------------------------------------------------
# Cleanup at exit, and with a SIGKILLed parent
# ---------------------------------------------------------------------------

_running = set()


def _stop_leftovers():
    for op in list(_running):
        code = op.stop(expect_exit=None)
        print("oidc_provider: the provider at %s was still running at exit; stopped it (%s)"
              % (op.issuer, describe_exit(code) if code is not None else "gone"),
              file=sys.stderr)


atexit.register(_stop_leftovers)

_libc = None
try:
    _libc = ctypes.CDLL(None, use_errno=True)
except OSError:
    pass


def _die_with_parent():
    """preexec_fn: SIGTERM node when the test dies, even by SIGKILL."""
    if _libc is not None:
        _libc.prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG


# ---------------------------------------------------------------------------
# The provider
# ---------------------------------------------------------------------------

class OidcProvider:
    """One oidc-provider process. Configure (register_client, set_account,
    ttl) before start(); start()/stop(), or use it as a context manager.

    clients:  client metadata dicts, each given to register_client(**c)
    accounts: {login: {claim: value}}, as set_account() takes them
    ttl:      seconds by oidc-provider's names, e.g. {"IdToken": 30,
              "AuthorizationCode": 60}
    port:     0 (default): the provider binds a free port itself at the
              first start (nothing can take it in between) and keeps it for
              later starts, so the issuer does not change
    issuer:   the issuer it names (in ID tokens and its discovery document);
              default its own address. Give the URL of something in front
              of it, such as a test's intercepting proxy, to have it sign
              tokens for that issuer: the discovery document it serves names
              endpoints on the origin each request came to (its Host), and
              start() reads it at the provider's own address, `url`, so
              self.discovery's endpoints are there (the proxy is not needed
              to start).
    label:    names its artifacts folder under CTest
    artifacts: a folder to keep its logs in (default: under CTest, one of
              the test artifacts; else none)
    node:     the Node.js binary (default $AUTHSVC_TEST_NODE, else `node`)
    node_modules: the installed packages (default: node_modules_dir())
    """

    def __init__(self, clients=(), accounts=None, ttl=None, port=0, label="oidc-provider",
                 artifacts=None, node=None, node_modules=None, issuer=None):
        self.label = label
        self.port = port
        self.configured_issuer = issuer
        self.ttl = dict(ttl or {})
        self.clients = []
        self.accounts = {}
        self.artifacts = artifacts if artifacts is not None else token_ledger.artifact_dir(label)
        self.node = node or os.environ.get("AUTHSVC_TEST_NODE") or shutil.which("node")
        self.node_modules = node_modules or node_modules_dir()
        self.issuer = None
        self.url = None
        self.discovery = None
        self.workdir = None
        self._proc = None
        self._starts = 0

        tag = secrets.token_hex(4)
        self._keys = {
            "RS256": rsa.generate_private_key(public_exponent=65537, key_size=2048),
            "ES256": ec.generate_private_key(ec.SECP256R1()),
        }
        self._kids = {"RS256": "authsvc-test-rs256-" + tag, "ES256": "authsvc-test-es256-" + tag}
        self._attacker_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self._attacker_kid = "authsvc-test-attacker-" + tag
        self._jwks = [rsa_private_jwk(self._keys["RS256"], self._kids["RS256"]),
                      ec_p256_private_jwk(self._keys["ES256"], self._kids["ES256"])]
        self._attacker_jwk = rsa_private_jwk(self._attacker_key, self._attacker_kid)

        for c in clients:
            self.register_client(**c)
        for login, claims in (accounts or {}).items():
            self.set_account(login, **claims)

    # -- configuration ------------------------------------------------------

    def register_client(self, client_id, client_secret=None, redirect_uris=(),
                        id_token_signed_response_alg="RS256", **metadata):
        """Adds a confidential client (code flow, client_secret_basic at the
        token endpoint) and returns its metadata, client_secret included
        (made here unless given: 43 URL-safe characters). `metadata` adds
        or overrides oidc-provider client metadata (post_logout_redirect_uris,
        token_endpoint_auth_method, ...). Before start()."""
        self._configurable()
        if any(c["client_id"] == client_id for c in self.clients):
            raise ValueError("client %r is registered already" % client_id)
        if client_secret is None:
            client_secret = secrets.token_urlsafe(32)
        elif len(client_secret) < 32:
            # The token ledger records it, and its search needs 32 characters.
            raise ValueError("a client secret needs 32 characters or more")
        token_ledger.record([client_secret], "%s client secret of %s" % (self.label, client_id))
        client = {"client_id": client_id, "client_secret": client_secret,
                  "redirect_uris": list(redirect_uris),
                  "grant_types": ["authorization_code"], "response_types": ["code"],
                  "token_endpoint_auth_method": "client_secret_basic",
                  "id_token_signed_response_alg": id_token_signed_response_alg}
        client.update(metadata)
        self.clients.append(client)
        return client

    def client(self, client_id):
        for c in self.clients:
            if c["client_id"] == client_id:
                return c
        raise KeyError(client_id)

    def set_account(self, login, **claims):
        """What the account of `login` says: e.g. email="bob@example.org",
        email_verified=False, groups=["admins"]. Claims left out are not in
        its tokens (an account without groups, without an email...).
        Before start() (or between stop() and start())."""
        self._configurable()
        if "sub" in claims:
            raise ValueError("sub is the login")
        self.accounts[login] = dict(claims)

    def _configurable(self):
        if self._proc is not None:
            raise OidcProviderError("the provider reads its configuration at start: "
                                    "stop() it first")

    # -- keys ---------------------------------------------------------------

    @property
    def provider_private_jwks(self):
        """The provider's signing keys as private JWKs (RS256, ES256)."""
        return copy.deepcopy(self._jwks)

    @property
    def provider_public_jwks(self):
        return [public_jwk(k) for k in self._jwks]

    @property
    def attacker_private_jwk(self):
        """An RSA key (RS256) the provider does not know, as a private JWK."""
        return copy.deepcopy(self._attacker_jwk)

    def kid(self, alg="RS256"):
        return self._kids[alg]

    def provider_key(self, alg="RS256"):
        """The provider's private key for `alg` (a cryptography key, which
        PyJWT takes as it is)."""
        return self._keys[alg]

    @property
    def attacker_key(self):
        return self._attacker_key

    def sign(self, claims, alg="RS256", key="provider", kid=None, headers=None):
        """A JWT of `claims` signed with the provider's own key for `alg`
        (key="provider") or with the attacker's RSA key (key="attacker",
        alg RS256). The header's kid is that key's unless `kid` is given:
        an attacker would rather name the provider's kid."""
        if key == "provider":
            private, default_kid = self._keys[alg], self._kids[alg]
        elif key == "attacker":
            private, default_kid = self._attacker_key, self._attacker_kid
        else:
            raise ValueError("key is 'provider' or 'attacker'")
        header = {"kid": kid or default_kid}
        header.update(headers or {})
        return jwt.encode(claims, private, algorithm=alg, headers=header)

    def id_token_claims(self, client_id, login="alice@example.org", nonce=None, lifetime=300,
                        **overrides):
        """The claims the provider would put in an ID token for `login`
        (its account's, or the default email ones), to sign and then spoil:
        iss, sub, aud, iat, exp (now + lifetime; negative: expired), nonce
        if given, and `overrides` last."""
        now = int(time.time())
        claims = {"iss": self.issuer, "sub": login, "aud": client_id, "iat": now,
                  "exp": now + lifetime}
        claims.update(self.accounts.get(login, {"email": login, "email_verified": True}))
        if nonce is not None:
            claims["nonce"] = nonce
        claims.update(overrides)
        return claims

    # -- endpoints ----------------------------------------------------------

    def endpoint(self, name):
        """From the discovery document: "authorization_endpoint",
        "token_endpoint", "jwks_uri", "userinfo_endpoint", ..."""
        return self.discovery[name]

    # -- process ------------------------------------------------------------

    @property
    def running(self):
        return self._proc is not None and self._proc.poll() is None

    def _config(self):
        config = {"node_modules": self.node_modules, "port": self.port,
                  "clients": self.clients, "jwks": {"keys": self._jwks},
                  "accounts": self.accounts, "ttl": self.ttl}
        if self.configured_issuer:
            config["issuer"] = self.configured_issuer
        return config

    def _public_config(self):
        config = copy.deepcopy(self._config())
        for c in config["clients"]:
            if "client_secret" in c:
                c["client_secret"] = "<recorded in the token ledger>"
        config["jwks"] = {"keys": self.provider_public_jwks}
        return config

    def start(self, timeout=20):
        """Runs the provider; returns once its discovery document answers.
        `timeout` is scaled (tests/e2e/timing.py)."""
        if self._proc is not None:
            raise OidcProviderError("already running")
        if not self.node or not os.path.exists(self.node):
            raise OidcProviderError("no Node.js (node on PATH, or $AUTHSVC_TEST_NODE): "
                                    "run scripts/install-oidc-provider.sh")
        if not os.path.isfile(os.path.join(self.node_modules, "oidc-provider", "package.json")):
            raise OidcProviderError("oidc-provider is not installed in %s: run "
                                    "scripts/install-oidc-provider.sh" % self.node_modules)
        if not self.clients:
            raise OidcProviderError("register a client first")
        self._starts += 1
        self.workdir = tempfile.mkdtemp(prefix="authsvc-oidc-provider-")  # mode 0700
        config_path = os.path.join(self.workdir, "config.json")
        fd = os.open(config_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(self._config(), f)
        self._out = os.path.join(self.workdir, "provider.out")
        self._err = os.path.join(self.workdir, "provider.err")
        with open(self._out, "wb") as out, open(self._err, "wb") as err:
            main_thread = threading.current_thread() is threading.main_thread()
            self._proc = subprocess.Popen(
                [self.node, PROVIDER_SCRIPT, config_path], cwd=self.workdir,
                stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                preexec_fn=_die_with_parent if main_thread else None)
        _running.add(self)
        started = time.monotonic()
        deadline = started + scaled(timeout)
        try:
            while True:
                with open(self._out, "rb") as f:
                    m = re.search(rb"^ready (\S+) (\S+)\n", f.read(), re.M)
                if m:
                    self.issuer, self.url = m.group(1).decode(), m.group(2).decode()
                    break
                if self._proc.poll() is not None:
                    raise OidcProviderError("the provider exited at start (%s)%s"
                                            % (describe_exit(self._proc.returncode),
                                               self._stderr_tail()))
                if time.monotonic() > deadline:
                    raise OidcProviderError("the provider printed no ready line within %.0f s%s"
                                            % (scaled(timeout), self._stderr_tail()))
                time.sleep(0.02)
            self.port = int(self.url.rsplit(":", 1)[1])
            self.discovery = self._wait_for_discovery(deadline)
        except BaseException:
            self.stop(expect_exit=None)
            raise
        self.start_seconds = time.monotonic() - started
        return self

    def _wait_for_discovery(self, deadline):
        url = self.url + "/.well-known/openid-configuration"
        while True:
            try:
                with urllib.request.urlopen(url, timeout=scaled(5)) as r:
                    doc = json.load(r)
                if doc.get("issuer") != self.issuer:
                    raise OidcProviderError("the discovery document names issuer %r, not %r"
                                            % (doc.get("issuer"), self.issuer))
                return doc
            except (urllib.error.URLError, ConnectionError) as e:
                if self._proc.poll() is not None or time.monotonic() > deadline:
                    raise OidcProviderError("%s did not answer: %s%s"
                                            % (url, e, self._stderr_tail())) from e
                time.sleep(0.05)

    def stop(self, expect_exit=0):
        """SIGTERM, wait, keep the logs (under CTest), delete the private
        folder. Returns node's exit status (None if it was not running);
        raises OidcProviderError, with the end of its stderr, unless that
        is `expect_exit` (None: any)."""
        proc, self._proc = self._proc, None
        if proc is None:
            return None
        _running.discard(self)
        code = terminate(proc, 10)
        tail = self._stderr_tail()
        self._keep_artifacts()
        shutil.rmtree(self.workdir, ignore_errors=True)
        self.workdir = None
        if code is None:
            raise OidcProviderError("the provider ignored SIGTERM for %.0f s%s"
                                    % (scaled(10), tail))
        if expect_exit is not None and code != expect_exit:
            raise OidcProviderError("the provider %s, expected exit %d%s"
                                    % (describe_exit(code), expect_exit, tail))
        return code

    def _keep_artifacts(self):
        if not self.artifacts or not self.workdir:
            return
        os.makedirs(self.artifacts, exist_ok=True)
        suffix = "" if self._starts == 1 else ".%d" % self._starts
        for name in ("provider.out", "provider.err"):
            path = os.path.join(self.workdir, name)
            if os.path.exists(path):
                shutil.copyfile(path, os.path.join(self.artifacts, name + suffix))
        with open(os.path.join(self.artifacts, "config.public.json" + suffix), "w") as f:
            json.dump(self._public_config(), f, indent=1)

    def _stderr_tail(self, lines=40):
        try:
            with open(self._err, "rb") as f:
                text = f.read().decode(errors="replace")
        except (OSError, AttributeError) as e:
            return " (its stderr: %s)" % e
        return "; the end of its stderr:\n" + "".join(text.splitlines(True)[-lines:])

    def __enter__(self):
        return self.start()

    def __exit__(self, kind, value, traceback):
        if kind is None:
            self.stop()
            return
        # The body failed: say what stopping found too, but let the body's
        # exception be the one raised.
        try:
            self.stop()
        except OidcProviderError as e:
            print("oidc_provider: %s" % e, file=sys.stderr)
