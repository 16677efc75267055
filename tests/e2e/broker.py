"""A private, throw-away RabbitMQ node for authsvc's end-to-end tests.

Run with /usr/bin/python3 (Debian's python3-pika lives there). Needs
Debian's rabbitmq-server package (3.10.x) and root.

    from broker import Broker
    with Broker("rabbitmq.conf.example", "http://127.0.0.1:8123") as b:
        pika.BlockingConnection(pika.ConnectionParameters(
            "127.0.0.1", b.amqp_port, credentials=...))
        b.rabbitmqctl("list_connections")

Isolation: everything the node writes (config, plugins, Mnesia, logs,
Erlang cookie, crash dump) lives in one fresh temporary folder that stop()
deletes; it gets its own node name, its own free ports (AMQP, Erlang
distribution, management) and its own epmd on its own port, so it neither
touches nor depends on a system broker, nor on other test brokers.

Why things are done the way they are:

* /usr/sbin/rabbitmq-server is a wrapper that re-runs the server as the
  `rabbitmq` user from /var/lib/rabbitmq; that user cannot read our
  temporary folder. /usr/lib/rabbitmq/bin/rabbitmq-server runs fine as root.
* The Erlang cookie is read from $HOME/.erlang.cookie by the server AND by
  rabbitmqctl. If it is missing, whichever starts first creates it, and the
  two may race; so we write it before starting either, and run both with
  the same environment (same HOME).
* epmd: a node starts `epmd -daemon` if none answers on $ERL_EPMD_PORT
  (default 4369). That daemon outlives the node -- a leftover. So we run
  a private epmd in the foreground, as our own child, on a free port given
  to the server and to rabbitmqctl through ERL_EPMD_PORT (both honour it),
  and we add `-start_epmd false` (ERL_AFLAGS) so that no Erlang VM started
  from this environment can ever fall back to spawning a daemon.
* Leftovers: the server is a shell script that runs the VM (beam.smp) as a
  child; the VM spawns helpers (erl_child_setup, inet_gethost, a disk
  monitor shell) in sessions of their own. Every one of them inherits the
  marker variable AUTHSVC_TEST_BROKER, so stop() finally sweeps /proc for
  processes carrying our marker and kills what is left.
* stop() runs from atexit and from a SIGTERM handler, so a failing or
  interrupted test run stops its brokers too. If the run is SIGKILLed,
  Linux's parent-death signal brings the node and epmd down, and the next
  Broker.start() deletes the temporary folder left behind.
* Configuration is generated from rabbitmq.conf.example, so the tests
  exercise the file that ships; only ports and auth_http URLs change.
* A key the broker does not know makes it exit during boot, which start()
  reports with the end of the log.
* Under CTest, stop() first keeps the folder's files (logs, Mnesia; not the
  unpacked plugins) among the test artifacts, for the token leak check
  (tests/token_ledger.py): the broker sees every password it is given.
"""

import atexit
import ctypes
import itertools
import os
import re
import secrets
import shutil
import signal
import socket
import string
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import token_ledger  # noqa: E402
from timing import TIME_SCALE, scaled  # noqa: E402

RABBITMQ_BIN = "/usr/lib/rabbitmq/bin"
EPMD = shutil.which("epmd") or "/usr/bin/epmd"

# rabbitmqctl's own Erlang node listens on a port in this range (see
# rabbitmq-env: RABBITMQ_CTL_DIST_PORT_MIN/MAX); keep our ports out of it.
_CLI_DIST_PORTS = range(35672, 35683)

_MARKER = "AUTHSVC_TEST_BROKER"
_FOLDER_PREFIX = "authsvc-broker-"


class BrokerError(RuntimeError):
    pass


# ---------------------------------------------------------------------------
# Configuration
# ---------------------------------------------------------------------------

_SETTING = re.compile(r"^\s*([A-Za-z0-9_.$-]+)\s*=\s*(.*?)\s*$")
# A commented-out setting of the cached variant, e.g. "# auth_cache.cache_ttl = 5000".
_COMMENTED_CACHE = re.compile(
    r"^\s*#\s*(auth_backends\.1|auth_cache\.[A-Za-z0-9_.]+)\s*=\s*(\S.*?)\s*$")

_AUTH_PATHS = ("user", "vhost", "resource", "topic")


def _settings(text):
    """(key, value) for each active line of a rabbitmq.conf text."""
    out = []
    for line in text.splitlines():
        if line.lstrip().startswith("#"):
            continue
        m = _SETTING.match(line)
        if m:
            out.append((m.group(1), m.group(2)))
    return out


def render_config(example_text, *, amqp_port, auth_base_url,
                  http_method="post", cache=False, cache_ttl_ms=None,
                  mgmt_port=None, extra_conf=""):
    """Turn rabbitmq.conf.example into a test broker's rabbitmq.conf.

    Comments and unrelated settings are kept verbatim. Settings we manage
    are removed and re-added at the end rather than overridden: a key given
    twice is easy to misread, so every key appears once.
    """
    if http_method not in ("get", "post"):
        raise ValueError("http_method must be 'get' or 'post'")
    settings = dict(_settings(example_text))
    base = auth_base_url.rstrip("/")

    ours = [("listeners.tcp.default", str(amqp_port)),
            ("auth_http.http_method", http_method)]
    # Keep the example's URL paths (only scheme, host and port change).
    for kind in _AUTH_PATHS:
        key = "auth_http.%s_path" % kind
        path = urllib.parse.urlsplit(settings.get(key, "")).path or "/auth/" + kind
        ours.append((key, base + path))

    if cache:
        # Enable the example's own commented-out cached variant, so that the
        # variant operators will copy is the one tested.
        variant = [m.groups() for m in map(_COMMENTED_CACHE.match,
                                           example_text.splitlines()) if m]
        keys = dict(variant)
        if keys.get("auth_backends.1") != "cache" or "auth_cache.cached_backend" not in keys:
            raise BrokerError("the example has no commented-out cached variant "
                              "('# auth_backends.1 = cache', "
                              "'# auth_cache.cached_backend = http')")
        if cache_ttl_ms is not None:
            keys["auth_cache.cache_ttl"] = str(int(cache_ttl_ms))
        ours += list(keys.items())

    if mgmt_port is not None:
        ours += [("management.tcp.port", str(mgmt_port)),
                 ("management.tcp.ip", "127.0.0.1")]

    extra = _settings(extra_conf)
    replaced = {k for k, _ in ours} | {k for k, _ in extra}

    def dropped(key):
        # Fixed ports of the example's own listeners would clash with other
        # test brokers (or a system broker).
        return (key in replaced
                or key.startswith(("listeners.tcp.", "listeners.ssl.", "management.tcp.")))

    lines = []
    for line in example_text.splitlines():
        m = None if line.lstrip().startswith("#") else _SETTING.match(line)
        if m and dropped(m.group(1)):
            lines.append("# (set below by tests/e2e/broker.py) " + line.strip())
        else:
            lines.append(line)
    lines += ["", "# ---- generated by tests/e2e/broker.py ----"]
    lines += ["%s = %s" % kv for kv in ours]
    if extra:
        lines += ["# ---- extra_conf ----"] + ["%s = %s" % kv for kv in extra]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------
# Process helpers
# ---------------------------------------------------------------------------

def _free_port(taken):
    """A currently free TCP port on 127.0.0.1 (best effort: another process
    could still grab it before the broker binds it)."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in taken and port not in _CLI_DIST_PORTS:
            taken.add(port)
            return port


def _port_open(port, host="127.0.0.1"):
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def _epmd_names(port):
    """Node names registered with the epmd on `port` (epmd NAMES_REQ)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.sendall(b"\x00\x01n")
            data = b""
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
    except OSError:
        return set()
    return set(re.findall(r"^name (\S+) at port", data[4:].decode(errors="replace"), re.M))


def _marked_pids(marker_value):
    """Pids of processes whose environment carries our marker."""
    needle = ("\0%s=%s\0" % (_MARKER, marker_value)).encode()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open("/proc/%s/environ" % entry, "rb") as f:
                if needle in b"\0" + f.read():
                    found.append(int(entry))
        except OSError:
            pass  # gone, or a kernel thread
    return found


def _kill_marked(marker_value, grace=3.0):
    """SIGTERM, then SIGKILL, everything carrying our marker."""
    pids = _marked_pids(marker_value)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + scaled(grace)
        while pids and time.monotonic() < deadline:
            time.sleep(0.05)
            pids = _marked_pids(marker_value)
        if not pids:
            return []
    return pids


_libc = None
try:
    _libc = ctypes.CDLL(None, use_errno=True)
except OSError:
    pass
_PR_SET_PDEATHSIG = 1


def _die_with_parent():
    """preexec_fn: ask Linux to SIGTERM the child when we die, so even a
    SIGKILLed test run does not leave a broker behind (the server script
    turns SIGTERM into a clean node shutdown). Linux ties this to the
    *thread* that forked, hence only used from the main thread."""
    if _libc is not None:
        _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


def _remove_stale_folders():
    """Delete folders left by test runs that were SIGKILLed (their brokers
    died with them, see _die_with_parent, but nobody removed the folder).
    A folder is stale when the pid in its name is gone and no process
    carries its marker."""
    tmp = tempfile.gettempdir()
    for name in os.listdir(tmp):
        m = re.match(re.escape(_FOLDER_PREFIX) + r"(\d+)-", name)
        if not m or os.path.exists("/proc/" + m.group(1)):
            continue
        path = os.path.join(tmp, name)
        if not _marked_pids(path):
            shutil.rmtree(path, ignore_errors=True)


def _tail(path, lines=60):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError as e:
        return "(%s)\n" % e


# ---------------------------------------------------------------------------
# Cleanup on exit / SIGTERM, even when a test fails
# ---------------------------------------------------------------------------

_live = set()
# Re-entrant: the SIGTERM handler runs on the main thread, possibly while
# that same thread is inside start()/stop().
_live_lock = threading.RLock()
_prev_sigterm = None


def _stop_all():
    with _live_lock:
        brokers = list(_live)
    for b in brokers:
        try:
            b.stop()
        except Exception as e:  # keep stopping the others
            print("broker.py: stopping %s failed: %s" % (b.node, e), file=sys.stderr)


def _on_sigterm(signum, frame):
    _stop_all()
    prev = _prev_sigterm
    if callable(prev):
        prev(signum, frame)
    else:
        # Die of SIGTERM as we would have without us, exit status included.
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)


def _install_handlers():
    global _prev_sigterm
    if _prev_sigterm is not None or threading.current_thread() is not threading.main_thread():
        return
    prev = signal.getsignal(signal.SIGTERM)
    if prev is signal.SIG_IGN:
        return  # whoever runs us chose to ignore SIGTERM; respect it
    _prev_sigterm = prev if prev is not None else signal.SIG_DFL
    signal.signal(signal.SIGTERM, _on_sigterm)


atexit.register(_stop_all)


# ---------------------------------------------------------------------------
# Broker
# ---------------------------------------------------------------------------

class Broker:
    """One private RabbitMQ node. start() / stop(), or use as a context manager.

    auth_base_url: where authsvc (or a stub) listens, e.g. http://127.0.0.1:8123;
        the example's URL paths (/auth/user, ...) are appended.
    http_method:   'post' or 'get' (auth_http.http_method).
    cache:         enable the example's commented-out rabbitmq_auth_backend_cache
                   variant; cache_ttl_ms overrides its TTL.
    management:    enable rabbitmq_management on a free port (mgmt_port).
    extra_conf:    rabbitmq.conf lines added last (they replace same-named keys).
    advanced_config: Erlang terms for advanced.config (e.g. auth_http ssl_options,
                   which 3.10 only accepts there).
    extra_plugins: more plugins to enable.

    Attributes once started: node, amqp_port, mgmt_port, dir, log_file,
    start_seconds (and stop_seconds after stop()). The AMQP listener binds
    all interfaces, as the example does, so the broker reports client
    addresses as in production (::ffff:127.0.0.1); connect to 127.0.0.1.
    The internal database has the default guest/guest administrator, handy
    as an operator account (auth_backends.2 = internal).

    Start brokers from the main thread if you can: only there can the
    SIGTERM handler be installed and the die-with-parent guard be used
    (see _die_with_parent); atexit cleanup works from any thread.
    """

    _counter = itertools.count(1)

    def __init__(self, conf_example, auth_base_url, http_method="post", cache=False,
                 management=False, extra_conf="", cache_ttl_ms=None,
                 advanced_config="", extra_plugins=()):
        with open(conf_example) as f:
            self._example = f.read()
        self.auth_base_url = auth_base_url
        self.http_method = http_method
        self.cache = cache
        self.cache_ttl_ms = cache_ttl_ms
        self.management = management
        self.extra_conf = extra_conf
        self.advanced_config = advanced_config
        self.plugins = ["rabbitmq_auth_backend_http"]
        if cache:
            self.plugins.append("rabbitmq_auth_backend_cache")
        if management:
            self.plugins.append("rabbitmq_management")
        self.plugins += [p for p in extra_plugins if p not in self.plugins]

        self.node = "authsvc-test-%d-%d@localhost" % (os.getpid(), next(Broker._counter))
        self.dir = None
        self.amqp_port = self.mgmt_port = self.dist_port = self.epmd_port = None
        self.env = None
        self.start_seconds = self.stop_seconds = None
        self._server = self._epmd = None
        self._lock = threading.RLock()  # see _live_lock

    # -- paths ---------------------------------------------------------------
    def _p(self, *parts):
        return os.path.join(self.dir, *parts)

    @property
    def log_file(self):
        return self._p("log", self.node + ".log")

    # -- lifecycle -----------------------------------------------------------
    def __enter__(self):
        if self._server is None:
            self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def start(self, timeout=60):
        """Boots the node; `timeout` (seconds) is scaled (tests/e2e/timing.py)."""
        if self.dir is not None:
            raise BrokerError("already started")
        t0 = time.monotonic()
        _install_handlers()
        with _live_lock:
            _live.add(self)
        try:
            self._prepare()
            self._start_epmd()
            self._start_server()
            self._await(t0 + scaled(timeout))
        except BaseException as e:
            if not isinstance(e, KeyboardInterrupt):
                sys.stderr.write(self.diagnostics())
            self.stop()
            raise
        self.start_seconds = time.monotonic() - t0
        return self

    def _prepare(self):
        _remove_stale_folders()
        self.dir = tempfile.mkdtemp(prefix="%s%d-" % (_FOLDER_PREFIX, os.getpid()))
        for d in ("home", "mnesia", "log", "plugins-expand"):
            os.mkdir(self._p(d))
        taken = set()
        self.amqp_port = _free_port(taken)
        self.dist_port = _free_port(taken)
        self.epmd_port = _free_port(taken)
        if self.management:
            self.mgmt_port = _free_port(taken)

        conf = render_config(
            self._example, amqp_port=self.amqp_port, auth_base_url=self.auth_base_url,
            http_method=self.http_method, cache=self.cache,
            cache_ttl_ms=self.cache_ttl_ms, mgmt_port=self.mgmt_port,
            extra_conf=self.extra_conf)
        with open(self._p("rabbitmq.conf"), "w") as f:
            f.write(conf)
        with open(self._p("enabled_plugins"), "w") as f:
            f.write("[%s].\n" % ",".join(self.plugins))
        if self.advanced_config:
            with open(self._p("advanced.config"), "w") as f:
                f.write(self.advanced_config)
        # An empty env file: do not pick up /etc/rabbitmq/rabbitmq-env.conf.
        open(self._p("rabbitmq-env.conf"), "w").close()

        cookie = self._p("home", ".erlang.cookie")
        fd = os.open(cookie, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o400)
        with os.fdopen(fd, "w") as f:
            f.write("".join(secrets.choice(string.ascii_uppercase) for _ in range(20)))

        # Drop the caller's RABBITMQ_*/ERL_* settings: a stray RABBITMQ_NODENAME
        # or ERL_EPMD_PORT in the developer's shell must not leak in.
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("RABBITMQ_", "ERL_"))}
        env.update({
            _MARKER: self.dir,
            "HOME": self._p("home"),
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_CONFIG_FILE": self._p("rabbitmq.conf"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": self._p("advanced.config"),
            "RABBITMQ_CONF_ENV_FILE": self._p("rabbitmq-env.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": self._p("enabled_plugins"),
            "RABBITMQ_MNESIA_BASE": self._p("mnesia"),
            "RABBITMQ_LOG_BASE": self._p("log"),
            "RABBITMQ_FEATURE_FLAGS_FILE": self._p("feature_flags"),
            "RABBITMQ_PLUGINS_EXPAND_DIR": self._p("plugins-expand"),
            "RABBITMQ_PID_FILE": self._p("rabbitmq.pid"),
            # Erlang distribution on loopback only: a test node has no
            # business being reachable from other hosts.
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
            "ERL_EPMD_PORT": str(self.epmd_port),
            "ERL_AFLAGS": "-start_epmd false",
            "ERL_CRASH_DUMP": self._p("erl_crash.dump"),
        })
        self.env = env

    def _popen(self, argv, out):
        main = threading.current_thread() is threading.main_thread()
        return subprocess.Popen(
            argv, env=self.env, cwd=self.dir, stdin=subprocess.DEVNULL,
            stdout=out, stderr=subprocess.STDOUT,
            # Own process group: stop() signals the whole group without
            # hitting us, and a Ctrl-C aimed at the test run does not
            # reach the node before we stop it cleanly.
            start_new_session=True,
            preexec_fn=_die_with_parent if main else None)

    def _start_epmd(self):
        with open(self._p("epmd.out"), "wb") as out:
            self._epmd = self._popen(
                [EPMD, "-port", str(self.epmd_port), "-address", "127.0.0.1"], out)
        # The node must find it listening, or it would try to start its own.
        deadline = time.monotonic() + scaled(10)
        while not _port_open(self.epmd_port):
            if self._epmd.poll() is not None:
                raise BrokerError("epmd exited (%s) on port %d: %s" % (
                    self._epmd.returncode, self.epmd_port, _tail(self._p("epmd.out"))))
            if time.monotonic() > deadline:
                raise BrokerError("epmd did not listen on port %d" % self.epmd_port)
            time.sleep(0.02)

    def _start_server(self):
        with open(self._p("server.out"), "wb") as out:
            self._server = self._popen([os.path.join(RABBITMQ_BIN, "rabbitmq-server")], out)

    def _await(self, deadline):
        short = self.node.split("@")[0]
        # Cheap wait until the VM registered with epmd; rabbitmqctl
        # await_startup fails at once on a node that is not up yet and
        # costs ~0.5 s of Erlang boot per try.
        while short not in _epmd_names(self.epmd_port):
            self._check_alive()
            if time.monotonic() > deadline:
                raise BrokerError("%s did not register with epmd in time" % self.node)
            time.sleep(0.1)
        left = max(1, int(deadline - time.monotonic()))
        # (rabbitmqctl scales its timeout; `left` is scaled already.)
        r = self.rabbitmqctl("await_startup", "--timeout", str(left),
                             check=False, timeout=left / TIME_SCALE + 15)
        self._check_alive()
        if r.returncode != 0:
            raise BrokerError("await_startup failed (%d): %s" % (r.returncode, r.stdout))
        if not _port_open(self.amqp_port):
            raise BrokerError("AMQP port %d not accepting connections" % self.amqp_port)
        if self.mgmt_port and not _port_open(self.mgmt_port):
            raise BrokerError("management port %d not accepting connections" % self.mgmt_port)

    def _check_alive(self):
        # The start script exits 0 even when boot fails (e.g. on an unknown
        # config key), so any exit during startup is a failure.
        if self._server.poll() is not None:
            raise BrokerError("%s exited during startup (status %d); see its log"
                              % (self.node, self._server.returncode))

    def diagnostics(self):
        """End of the node's log (and of the start script's own output, which
        is where errors before logging starts end up), for failure reports."""
        if not self.dir or not os.path.isdir(self.dir):
            return ""
        out = "---- %s: end of %s ----\n%s" % (self.node, self.log_file, _tail(self.log_file, 40))
        out += "---- end of %s ----\n%s----\n" % (self._p("server.out"),
                                                   _tail(self._p("server.out"), 15))
        return out

    def rabbitmqctl(self, *args, check=True, timeout=60):
        """Run rabbitmqctl against this node; returns CompletedProcess
        (stdout and stderr merged, text). `timeout` is scaled."""
        if self.env is None:
            raise BrokerError("not started")
        r = subprocess.run(
            [os.path.join(RABBITMQ_BIN, "rabbitmqctl"), "-n", self.node] + list(args),
            env=self.env, cwd=self.dir, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            timeout=scaled(timeout))
        if check and r.returncode != 0:
            shown = list(args)
            if shown[:1] in (["add_user"], ["change_password"]) and len(shown) > 2:
                shown[2] = "<password>"  # a failure's message must not carry it
            raise BrokerError("rabbitmqctl %s failed (%d): %s"
                              % (" ".join(shown), r.returncode, r.stdout))
        return r

    def stop(self, grace=30):
        """Stop the node, its epmd and every helper; delete the folder.
        Idempotent, safe after a failed start."""
        with self._lock:
            folder, server, epmd = self.dir, self._server, self._epmd
            if folder is None:
                return
            t0 = time.monotonic()
            try:
                # The server script turns SIGTERM into a clean node shutdown
                # (about 1 s; 6 s with the management plugin, whose shutdown
                # waits out a 5 s timeout); SIGKILL only if that hangs.
                self._end(server, scaled(grace))
                # Helpers the VM left (they normally exit with it), and any
                # epmd a VM might still have daemonized despite -start_epmd.
                self._end(epmd, scaled(5))
                left = _kill_marked(folder)
                if left:
                    raise BrokerError("could not kill processes %s of %s" % (left, self.node))
            finally:
                label = "broker-" + self.node.split("@")[0]
                token_ledger.keep_tree(folder, token_ledger.artifact_dir(label), label,
                                       skip=("plugins-expand",))
                shutil.rmtree(folder, ignore_errors=True)
                self.dir = self.env = None
                self._server = self._epmd = None
                with _live_lock:
                    _live.discard(self)
                self.stop_seconds = time.monotonic() - t0

    @staticmethod
    def _end(proc, grace):
        if proc is None:
            return
        for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, scaled(10))):
            if proc.poll() is not None:
                return
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                pass
            try:
                proc.wait(wait)
                return
            except subprocess.TimeoutExpired:
                pass
