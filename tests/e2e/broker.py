"""A private, throw-away RabbitMQ node for authsvc's end-to-end tests.

Run with /usr/bin/python3 (Debian's python3-pika lives there). Needs
Debian's rabbitmq-server package (3.10.x) and root.

    from broker import Broker
    with Broker("rabbitmq.conf.example", "http://127.0.0.1:8123") as b:
        pika.BlockingConnection(pika.ConnectionParameters(
            "127.0.0.1", b.amqp_port, credentials=...))
        b.rabbitmqctl("list_connections")

A cluster: several nodes with one Erlang cookie and one private epmd,
joined with `rabbitmqctl join_cluster` (BrokerCluster, below):

    with BrokerCluster("rabbitmq.conf.example",
                       ["http://127.0.0.1:8001", "http://127.0.0.1:8002",
                        "http://127.0.0.1:8003"]) as cluster:
        a, b, c = cluster.nodes          # rabbit-a@localhost, rabbit-b@..., ...
        b.running_nodes()                # what `rabbitmqctl cluster_status` says

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
* A cluster's nodes share one Erlang cookie (each node's own
  $HOME/.erlang.cookie holds the same one) and one private epmd, which the
  cluster runs; through it they find each other and rabbitmqctl finds
  them. Names are rabbit-a@localhost etc.: unique within that epmd, which
  is all Erlang asks. The nodes boot at once (each started from the main
  thread, then awaited in turn), then the second and later ones join the
  first, one at a time, as an operator would: stop_app, reset,
  join_cluster, start_app.
  No cluster_formation keys: join_cluster needs none.
* Under CTest, stop() first keeps the folder's files (logs, Mnesia; not the
  unpacked plugins) among the test artifacts, for the token leak check
  (tests/token_ledger.py): the broker sees every password it is given.
"""

import atexit
import ctypes
import itertools
import json
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
from ports import free_port  # noqa: E402
from timing import TIME_SCALE, scaled, wait_for  # noqa: E402

RABBITMQ_BIN = "/usr/lib/rabbitmq/bin"
EPMD = shutil.which("epmd") or "/usr/bin/epmd"

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


def _clean_env():
    """os.environ without the caller's RABBITMQ_*/ERL_* settings: a stray
    RABBITMQ_NODENAME or ERL_EPMD_PORT in the developer's shell must not
    leak in."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("RABBITMQ_", "ERL_"))}


def _spawn(argv, env, cwd, out):
    main = threading.current_thread() is threading.main_thread()
    return subprocess.Popen(
        argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL,
        stdout=out, stderr=subprocess.STDOUT,
        # Own process group: stop() signals the whole group without
        # hitting us, and a Ctrl-C aimed at the test run does not
        # reach the node before we stop it cleanly.
        start_new_session=True,
        preexec_fn=_die_with_parent if main else None)


def _start_epmd(port, env, folder):
    """A private epmd on 127.0.0.1:`port`, our child (output in
    folder/epmd.out); returns its Popen once it listens: a node must find
    it listening, or it would try to start its own."""
    out_path = os.path.join(folder, "epmd.out")
    with open(out_path, "wb") as out:
        epmd = _spawn([EPMD, "-port", str(port), "-address", "127.0.0.1"], env, folder, out)
    deadline = time.monotonic() + scaled(10)
    while not _port_open(port):
        if epmd.poll() is not None:
            raise BrokerError("epmd exited (%s) on port %d: %s" % (
                epmd.returncode, port, _tail(out_path)))
        if time.monotonic() > deadline:
            raise BrokerError("epmd did not listen on port %d" % port)
        time.sleep(0.02)
    return epmd


def _end(proc, grace):
    """SIGTERM to `proc`'s process group, then SIGKILL if it does not exit
    within `grace` seconds; returns its exit status (None: no process)."""
    if proc is None:
        return None
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, scaled(10))):
        if proc.poll() is not None:
            return proc.returncode
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass
        try:
            return proc.wait(wait)
        except subprocess.TimeoutExpired:
            pass
    return proc.poll()


def _random_cookie():
    return "".join(secrets.choice(string.ascii_uppercase) for _ in range(20))


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
    node_name:     the node's name before the @ (default: unique per process
                   and instance); a BrokerCluster names its nodes rabbit-a...
    cluster:       set by BrokerCluster: the node uses the cluster's cookie
                   and epmd instead of its own.

    Attributes once started: node, amqp_port, mgmt_port, dir, log_file,
    start_seconds; after stop(), stop_seconds and exit_status (the start
    script's exit status on SIGTERM; -9 if it had to be killed). The AMQP
    listener binds all interfaces, as the example does, so the broker
    reports client addresses as in production (::ffff:127.0.0.1); connect
    to 127.0.0.1.
    The internal database has the default guest/guest administrator, handy
    as an operator account (auth_backends.2 = internal).

    Start brokers from the main thread if you can: only there can the
    SIGTERM handler be installed and the die-with-parent guard be used
    (see _die_with_parent); atexit cleanup works from any thread.
    """

    _counter = itertools.count(1)

    def __init__(self, conf_example, auth_base_url, http_method="post", cache=False,
                 management=False, extra_conf="", cache_ttl_ms=None,
                 advanced_config="", extra_plugins=(), node_name=None, cluster=None):
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

        if node_name is None:
            node_name = "authsvc-test-%d-%d" % (os.getpid(), next(Broker._counter))
        self.node = node_name + "@localhost"
        self.cluster = cluster
        self.dir = None
        self.amqp_port = self.mgmt_port = self.dist_port = self.epmd_port = None
        self.env = None
        self.start_seconds = self.stop_seconds = self.exit_status = None
        self._server = self._epmd = None
        self._t0 = None
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
        self._launch()
        self._complete(self._t0 + scaled(timeout))
        return self

    # start() in two halves, so that a cluster's nodes boot at once: each
    # launched (from the main thread, see _die_with_parent), then each
    # awaited. Either half stops the node if it fails.
    def _launch(self):
        if self.dir is not None:
            raise BrokerError("already started")
        self._t0 = time.monotonic()
        _install_handlers()
        with _live_lock:
            _live.add(self)
        try:
            self._prepare()
            if self.cluster is None:
                self._epmd = _start_epmd(self.epmd_port, self.env, self.dir)
            self._start_server()
        except BaseException as e:
            self._abandon(e)
            raise

    def _complete(self, deadline):
        try:
            self._await(deadline)
        except BaseException as e:
            self._abandon(e)
            raise
        self.start_seconds = time.monotonic() - self._t0

    def _abandon(self, e):
        if not isinstance(e, KeyboardInterrupt):
            sys.stderr.write(self.diagnostics())
        self.stop()

    def _prepare(self):
        _remove_stale_folders()
        self.dir = tempfile.mkdtemp(prefix="%s%d-" % (_FOLDER_PREFIX, os.getpid()))
        for d in ("home", "mnesia", "log", "plugins-expand"):
            os.mkdir(self._p(d))
        self.amqp_port = free_port()
        self.dist_port = free_port()
        self.epmd_port = self.cluster.epmd_port if self.cluster else free_port()
        if self.management:
            self.mgmt_port = free_port()

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
            f.write(self.cluster.cookie if self.cluster else _random_cookie())

        env = _clean_env()
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

    def _start_server(self):
        with open(self._p("server.out"), "wb") as out:
            self._server = _spawn([os.path.join(RABBITMQ_BIN, "rabbitmq-server")],
                                  self.env, self.dir, out)

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

    # -- a cluster's member --------------------------------------------------
    def join_cluster(self, other):
        """Makes this node a member of `other`'s cluster, as an operator
        does: stop_app, reset (the node forgets its own data), join_cluster,
        start_app."""
        for args in (("stop_app",), ("reset",), ("join_cluster", other.node), ("start_app",)):
            self.rabbitmqctl(*args)

    def running_nodes(self):
        """The nodes `rabbitmqctl cluster_status` says are running, as this
        node sees them, sorted."""
        out = self.rabbitmqctl("cluster_status", "--formatter", "json").stdout
        # stdout and stderr are merged: the JSON is the line that is one.
        for line in out.splitlines():
            if line.startswith("{"):
                return sorted(json.loads(line)["running_nodes"])
        raise BrokerError("cluster_status printed no JSON: %s" % out)

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
                self.exit_status = _end(server, scaled(grace))
                # Helpers the VM left (they normally exit with it), and any
                # epmd a VM might still have daemonized despite -start_epmd.
                _end(epmd, scaled(5))
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



# ---------------------------------------------------------------------------
# BrokerCluster
# ---------------------------------------------------------------------------

def _each_at_once(action, nodes, raise_first=True):
    """action(node) for each node, each in a thread of its own (rabbitmqctl
    and a node's shutdown spend their time waiting); returns the errors,
    or raises the first if raise_first."""
    errors = []

    def run(n):
        try:
            action(n)
        except Exception as e:
            errors.append(e)
    threads = [threading.Thread(target=run, args=(n,)) for n in nodes]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors and raise_first:
        raise errors[0]
    return errors


class BrokerCluster:
    """Several Broker nodes that form one RabbitMQ cluster (see the module's
    doc): one node per URL in auth_base_urls, each pointed at its own
    authsvc, named rabbit-a@localhost, rabbit-b@localhost, ...; the other
    options are Broker's, for every node. start() / stop(), or use as a
    context manager.

    Attributes: nodes (the Brokers, in the order of auth_base_urls; the
    later ones joined the first), epmd_port, cookie, dir, start_seconds
    (boot, joins and the check that every node sees every other running),
    stop_seconds.
    """

    def __init__(self, conf_example, auth_base_urls, **options):
        if len(auth_base_urls) > 26:
            raise ValueError("at most 26 nodes (rabbit-a to rabbit-z)")
        self.nodes = [Broker(conf_example, url, node_name="rabbit-" + string.ascii_lowercase[i],
                             cluster=self, **options)
                      for i, url in enumerate(auth_base_urls)]
        self.node = "the cluster of " + ", ".join(n.node for n in self.nodes)  # for messages
        self.dir = self.cookie = self.epmd_port = None
        self.start_seconds = self.stop_seconds = None
        self._epmd = None
        self._lock = threading.RLock()

    def __enter__(self):
        if self.dir is None:
            self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def start(self, timeout=120):
        """Boots every node at once, joins the later ones to the first, and
        returns once each sees all of them running; `timeout` (seconds,
        scaled) is for the boot, each rabbitmqctl keeps its own."""
        if self.dir is not None:
            raise BrokerError("already started")
        t0 = time.monotonic()
        _install_handlers()
        with _live_lock:
            _live.add(self)
        try:
            _remove_stale_folders()
            self.dir = tempfile.mkdtemp(prefix="%s%d-cluster-" % (_FOLDER_PREFIX, os.getpid()))
            self.cookie = _random_cookie()
            self.epmd_port = free_port()
            env = _clean_env()
            env[_MARKER] = self.dir
            self._epmd = _start_epmd(self.epmd_port, env, self.dir)
            for n in self.nodes:
                n._launch()
            for n in self.nodes:
                n._complete(t0 + scaled(timeout))
            # The joins one after another: two nodes joining at once raced in
            # Mnesia, and one failed its start_app with
            # {badmatch,{error,{normal,{mnesia_app,start,...}}}} (a CI run of
            # 2026-12-02). Operators join one node at a time too.
            for n in self.nodes[1:]:
                n.join_cluster(self.nodes[0])
            _each_at_once(self._await_everyone_running, self.nodes)
        except BaseException:
            self.stop()
            raise
        self.start_seconds = time.monotonic() - t0
        return self

    def _await_everyone_running(self, node):
        everyone = sorted(n.node for n in self.nodes)
        seen = []
        try:
            wait_for(lambda: seen.append(node.running_nodes()) or seen[-1] == everyone,
                     30, "%s to see %s running" % (node.node, everyone))
        except AssertionError as e:
            raise BrokerError("%s; it sees %s" % (e, seen[-1:])) from None

    def stop(self, grace=30):
        """Stops every node (at once) and the cluster's epmd; deletes the
        folders. Idempotent, safe after a failed start. Raises the first
        node's error after trying them all."""
        with self._lock:
            t0 = time.monotonic()
            errors = _each_at_once(lambda n: n.stop(grace), self.nodes, raise_first=False)
            folder, epmd = self.dir, self._epmd
            if folder is not None:
                try:
                    _end(epmd, scaled(5))
                    left = _kill_marked(folder)
                    if left:
                        errors.append(BrokerError("could not kill processes %s of %s"
                                                  % (left, self.node)))
                finally:
                    shutil.rmtree(folder, ignore_errors=True)
                    self.dir = self._epmd = None
                    self.stop_seconds = time.monotonic() - t0
            with _live_lock:
                _live.discard(self)
            if errors:
                raise errors[0]
