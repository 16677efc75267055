#!/usr/bin/python3
"""End-to-end AMQP benchmark: what a real broker's rate is with authsvc as
its auth backend, next to the built-in backend and to the best any HTTP
backend could do, in the same run.

    /usr/bin/python3 tests/bench/amqp_bench.py --authsvc build/authsvc/authsvc
        [--seconds-per-round 12] [--rounds 5] [--users 200] [--workers 8]
        [--publishers 2] [--publish-rate 200] [--messages 3] [--cache-ttl-ms MS]
        [--workload sessions|publish] [--variants internal,nginx,authsvc,...]

Needs root, Debian's rabbitmq-server, nginx, python3-pika (hence
/usr/bin/python3) and build/tests/bench/amqp_load, built with the project.

Four private brokers (tests/e2e/broker.py), each from rabbitmq.conf.example,
differing only in their auth backend:

  internal       auth_backends.1 = internal only; the same users and tokens,
                 with the regex permissions PulseGuardian sets with rabbitmqctl
  nginx          the http backend pointed at nginx answering "allow" to
                 everything: the ceiling for any HTTP backend (the broker's
                 own HTTP client is most of the cost)
  authsvc        the http backend pointed at authsvc (POST), as the example
                 configures it
  authsvc+cache  the example's commented-out rabbitmq_auth_backend_cache
                 variant in front of authsvc

and, when --variants names it (not by default):

  authsvc+sampler  the authsvc broker again, with the management plugin and
                 an `authsvc guardian --sample-messages` (rate 60) on it:
                 what the message sampler costs a publisher

--workload publish (the broker asks about a topic per message): only
--publishers, publishing as fast as confirms come back, each message with a
routing key of its own. The broker caches the last 12 routing keys a
channel was allowed; Pulse's keys vary (task ids, revisions), so a real
publisher costs roughly one auth backend call per message. The rate
compared is confirmed messages per second.

The default load, --workload sessions (tests/bench/amqp_load.cc), is short sessions (connect, log in,
declare an exchange and a queue, bind to one's own and another user's
exchange, publish with confirms, get the messages back, close) from
--workers threads, plus --publishers long-lived connections publishing with
confirms at a fixed rate. The rate compared is short sessions per second.

Brokers run one at a time, in interleaved rounds (the order rotates each
round), so that drift of the machine hits all alike; the figures are the
medians of the rounds. Targets: authsvc / nginx >= 0.95 and
authsvc+cache / internal >= 0.95.

The cached variant's figure depends on how often the same question comes
back within auth_cache.cache_ttl: each user here runs about
(sessions/s) / --users sessions a second, and every miss costs the broker an
HTTP call (a missed login two). So --users and --cache-ttl-ms move it a lot;
the run prints authsvc's calls per session to show where it stands.

Each round also says where the CPU went (broker, authsvc, nginx, amqp_load,
kernel threads, other processes, e.g. someone else's build): on a small
machine the broker saturates it, and any CPU used next to it is taken from
it. Rounds with much "other processes" time were disturbed: rerun.

Guards, so that a fast number cannot come from a broken setup: before the
run each broker must accept a user's token and let it declare its own
exchange; every broker but nginx must refuse a wrong token and another
user's exchange. During the run authsvc's audit log must grow in exactly the
authsvc rounds and nginx's request counter in exactly the nginx rounds, and
amqp_load must report no AMQP error at all.

Exit status: 0 whatever the figures (targets are for people to judge),
1 on any error or failed guard.
"""

import argparse
import base64
import hashlib
import http.client
import json
import logging
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

import pika
from pika.exceptions import AMQPConnectionError, ChannelClosedByBroker

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
sys.path.insert(0, HERE)
from authsvc_process import Authsvc  # noqa: E402
import http_bench  # noqa: E402
import token_ledger  # noqa: E402  (tests/, on the path through authsvc_process)
from broker import Broker  # noqa: E402
from http_bench import free_port, wait_port  # noqa: E402

CONF_EXAMPLE = os.path.join(ROOT, "rabbitmq.conf.example")
VARIANTS = ("internal", "nginx", "authsvc", "authsvc+cache", "authsvc+sampler")
DEFAULT_VARIANTS = ("internal", "nginx", "authsvc", "authsvc+cache")
OPERATOR, OPERATOR_PASSWORD = "bench-operator", "bench-operator-secret"
CLK_TCK = os.sysconf("SC_CLK_TCK")

# http_bench.py's nginx, plus stub_status: its request counter tells whether
# the nginx broker really asked nginx.
NGINX_CONF = http_bench.NGINX_CONF.replace(
    "    location / {{", "    location = /nginx_status {{ stub_status; }}\n    location / {{")
assert "stub_status" in NGINX_CONF


# ---------------------------------------------------------------------------
# The internal backend's users
# ---------------------------------------------------------------------------

def internal_only_example(work):
    """rabbitmq.conf.example with the http backend out of the chain.
    broker.py's extra_conf can replace a key but not remove one, so
    auth_backends.2 is commented out in a copy and extra_conf sets .1."""
    with open(CONF_EXAMPLE) as f:
        text = f.read()
    text, n = re.subn(r"^(\s*auth_backends\.2\s*=)", r"# (amqp_bench: internal only) \1", text,
                      flags=re.M)
    path = os.path.join(work, "rabbitmq.conf.internal-only")
    with open(path, "w") as f:
        f.write(text)
    return path


def rabbit_password_hash(password):
    """rabbit_password_hashing_sha256: base64(salt + sha256(salt + password)),
    4 random bytes of salt; what `rabbitmqctl add_user` stores."""
    salt = os.urandom(4)
    return base64.b64encode(salt + hashlib.sha256(salt + password.encode()).digest()).decode()


def pulseguardian_permissions(user):
    """configure, write, read: the regexes PulseGuardian sets for a user."""
    own = "^(queue/%s/.*|exchange/%s/.*)" % (user, user)
    return own, own, "^(queue/%s/.*|exchange/.*)" % user


def add_internal_users(broker, users, tokens, work):
    """What `rabbitmqctl add_user NAME TOKEN` and `rabbitmqctl set_permissions
    -p / NAME C W R` do for each user, in one import_definitions call: a
    rabbitmqctl call costs about a second of Erlang start-up."""
    definitions = {"users": [], "permissions": []}
    for u in users:
        definitions["users"].append({"name": u, "password_hash": rabbit_password_hash(tokens[u]),
                                     "hashing_algorithm": "rabbit_password_hashing_sha256",
                                     "tags": ""})
        c, w, r = pulseguardian_permissions(u)
        definitions["permissions"].append({"user": u, "vhost": "/", "configure": c,
                                           "write": w, "read": r})
    path = os.path.join(work, "internal-definitions.json")
    with open(path, "w") as f:
        json.dump(definitions, f)
    broker.rabbitmqctl("import_definitions", path, timeout=120)
    os.unlink(path)  # it holds password hashes


# ---------------------------------------------------------------------------
# Measuring
# ---------------------------------------------------------------------------

def processes():
    """{pid: (ppid, name, CPU seconds)} of every process (all its threads).
    The kernel charges interrupt and softirq work (loopback TCP included) to
    whichever process a tick lands in (tick-based accounting), so these add
    up to the machine's busy time."""
    out = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open("/proc/%s/stat" % entry) as f:
                    head, tail = f.read().rsplit(")", 1)
            except OSError:
                continue  # gone meanwhile
            fields = tail.split()
            out[int(entry)] = (int(fields[1]), head.split("(", 1)[1],
                               (int(fields[11]) + int(fields[12])) / CLK_TCK)
    return out


def children_of(pid):
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open("/proc/%s/stat" % entry) as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        out.append(int(entry))
            except OSError:
                pass
    return out


def pids_with_args(*needles):
    """Processes whose command line contains every needle."""
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open("/proc/%s/cmdline" % entry, "rb") as f:
                    args = f.read().split(b"\0")
            except OSError:
                continue
            if all(n.encode() in args for n in needles):
                out.append(int(entry))
    return out


def machine_ticks():
    """(busy, total) jiffies of the whole machine since boot (busy includes
    steal: time the hypervisor gave to someone else)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:9]]
    idle = v[3] + v[4]  # idle + iowait
    return sum(v) - idle, sum(v)


class CpuMeter:
    """Where the machine's CPU went during a round: named components (sets
    of pids, with their descendants: a broker's helpers), kernel threads
    (writeback of authsvc's audit log shows there), other processes by name
    (someone else's compile or broker shows there), and what no process
    that outlived the round accounts for."""

    def __init__(self, components):
        self.components = components

    def start(self):
        self.before, self.ticks = processes(), machine_ticks()

    def stop(self, known_short_lived):
        """known_short_lived: {name: CPU s} of processes that started and
        ended within the round and measured themselves (amqp_load)."""
        after, ticks = processes(), machine_ticks()
        out = {name: 0.0 for name in self.components}
        out.update(known_short_lived)
        out["kernel threads"] = 0.0
        others = {}

        def owner(pid):
            while pid > 1:
                for c, pids in self.components.items():
                    if pid in pids:
                        return c
                pid = after[pid][0] if pid in after else 0
            return None

        for pid, (ppid, name, cpu) in after.items():
            used = cpu - self.before[pid][2] if pid in self.before else cpu
            owner_of_pid = owner(pid)
            if owner_of_pid:
                out[owner_of_pid] += used
            elif pid == 2 or ppid == 2:
                out["kernel threads"] += used
            elif used > 0:
                others[name] = others.get(name, 0.0) + used
        out["other processes"] = sum(others.values())
        busy = (ticks[0] - self.ticks[0]) / CLK_TCK
        out["unaccounted"] = busy - sum(out.values())
        top = sorted(others.items(), key=lambda kv: -kv[1])[:3]
        return out, busy / ((ticks[1] - self.ticks[1]) / CLK_TCK), top


def beam_pid(broker):
    out = broker.rabbitmqctl("eval", "os:getpid().").stdout
    return int(re.search(r'"(\d+)"', out).group(1))


def nginx_requests(port):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    conn.request("GET", "/nginx_status")
    text = conn.getresponse().read().decode()
    conn.close()
    # "server accepts handled requests\n A H R"; R counts this request too.
    return int(re.search(r"^\s*\d+\s+\d+\s+(\d+)\s*$", text, re.M).group(1))


class AuditCounter:
    """Counts authsvc's decision lines by endpoint, reading only what was
    added since the last call (the log grows by megabytes a round). The
    sampling guardian's operator account is the brokers' own: the broker
    asks authsvc about its every management API request first, in every
    round; those lines are not the load's, and are left out."""

    def __init__(self, path, ignore_user=OPERATOR):
        self.path, self.offset, self.partial = path, 0, b""
        self.ignored = ('"user":"%s"' % ignore_user).encode()

    def read(self):
        counts = {}
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                data = self.partial + f.read()
                self.offset = f.tell()
        except FileNotFoundError:
            return counts
        end = data.rfind(b"\n") + 1
        self.partial = data[end:]
        lines = b"\n".join(line for line in data[:end].split(b"\n") if self.ignored not in line)
        for endpoint, decision in re.findall(rb'"endpoint":"(\w+)".*?"decision":"(\w+)"', lines):
            key = endpoint.decode() + ("" if decision == b"allow" else " " + decision.decode())
            counts[key] = counts.get(key, 0) + 1
        return counts

    def settle(self):
        """Counts once the background writer has caught up (no growth for
        0.3 s): lines are written a moment after the answers."""
        total = {}
        while True:
            time.sleep(0.3)
            more = self.read()
            if not more:
                return total
            for k, v in more.items():
                total[k] = total.get(k, 0) + v


# ---------------------------------------------------------------------------
# Guards
# ---------------------------------------------------------------------------

def connect(port, user, password):
    return pika.BlockingConnection(pika.ConnectionParameters(
        "127.0.0.1", port, "/", pika.PlainCredentials(user, password),
        connection_attempts=1, socket_timeout=10, blocked_connection_timeout=10))


def guard(port, user, other, token):
    """What the broker does with a valid token, another user's exchange and
    a wrong token: ('allowed'|'refused', ...), or raises if the valid
    token does not work."""
    conn = connect(port, user, token)
    conn.channel().exchange_declare("exchange/%s/bench" % user, "topic", durable=True)
    try:
        conn.channel().exchange_declare("exchange/%s/bench" % other, "topic", durable=True)
        other_exchange = "allowed"
    except ChannelClosedByBroker as e:
        other_exchange = "refused" if e.reply_code == 403 else "error %d" % e.reply_code
    conn.close()
    try:
        connect(port, user, "wrong-" + token).close()
        wrong_token = "allowed"
    except AMQPConnectionError:
        wrong_token = "refused"
    return other_exchange, wrong_token


# ---------------------------------------------------------------------------
# Running
# ---------------------------------------------------------------------------

def read_tail(path, lines=20):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError as e:
        return str(e)


def start_sampling_guardian(args, svc, broker, work):
    """`authsvc guardian --sample-messages` on `broker` (which has the
    management plugin), as the README runs it, with its operator account;
    mail goes to a port nothing listens on (compliant messages send none)."""
    broker.rabbitmqctl("add_user", OPERATOR, OPERATOR_PASSWORD)
    broker.rabbitmqctl("set_user_tags", OPERATOR, "administrator")
    broker.rabbitmqctl("set_permissions", "-p", "/", OPERATOR, ".*", ".*", ".*")
    password_file = os.path.join(work, "operator.password")
    fd = os.open(password_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(OPERATOR_PASSWORD + "\n")
    err = open(os.path.join(work, "guardian.err"), "wb")
    return subprocess.Popen(
        [args.authsvc, "guardian", "--db", svc.db, "--audit-log",
         os.path.join(work, "guardian-audit.log"),
         "--management-url", "http://127.0.0.1:%d" % broker.mgmt_port,
         "--management-user", OPERATOR, "--management-password-file", password_file,
         "--interval", "1", "--smtp-url", "smtp://127.0.0.1:%d" % free_port(),
         "--mail-from", "bench@example.org", "--sample-messages",
         "--sample-amqp-url", "amqp://127.0.0.1:%d" % broker.amqp_port],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)


def wait_for_sampler(broker, exchanges, guardian, timeout=120):
    """Until the sampler has bound a queue to `exchanges` exchanges."""
    auth = "Basic " + base64.b64encode(("%s:%s" % (OPERATOR, OPERATOR_PASSWORD)).encode()).decode()
    deadline = time.monotonic() + timeout
    bound = 0
    while time.monotonic() < deadline:
        if guardian.poll() is not None:
            raise RuntimeError("the sampling guardian exited %s" % guardian.returncode)
        c = http.client.HTTPConnection("127.0.0.1", broker.mgmt_port, timeout=10)
        c.request("GET", "/api/bindings?columns=source,destination", headers={"Authorization": auth})
        bindings = json.loads(c.getresponse().read())
        c.close()
        bound = sum(1 for b in bindings
                    if b["source"] and b["destination"].startswith("authsvc.sampler."))
        if bound >= exchanges:
            return
        time.sleep(0.5)
    raise RuntimeError("the sampler bound %d of %d exchanges in %d s" % (bound, exchanges, timeout))


def run_load(args, port, users_file, seconds, setup=False):
    argv = [args.load, "--port", str(port), "--users", users_file]
    if setup:
        argv += ["--workers", str(max(1, args.workers)), "--setup"]
    elif args.workload == "publish":
        argv += ["--workers", "0", "--seconds", str(seconds), "--publishers",
                 str(args.publishers), "--publish-rate", "0", "--distinct-keys"]
    else:
        argv += ["--workers", str(args.workers), "--seconds", str(seconds), "--publishers",
                 str(args.publishers), "--publish-rate", str(args.publish_rate), "--messages",
                 str(args.messages)]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 300)
    if r.returncode != 0 or not r.stdout.strip():
        raise RuntimeError("amqp_load exited %d: %s" % (r.returncode, r.stderr.strip()))
    return json.loads(r.stdout.strip().splitlines()[-1])


def describe_errors(res):
    return "; ".join("%s x%d (e.g. %s)" % (kind, e["count"], e["example"])
                     for kind, e in res["error_kinds"].items())


def median(values):
    return statistics.median(values) if values else float("nan")


def cache_ttl_of_example():
    with open(CONF_EXAMPLE) as f:
        m = re.search(r"^\s*#\s*auth_cache\.cache_ttl\s*=\s*(\d+)", f.read(), re.M)
    return int(m.group(1)) if m else 15000  # the plugin's default


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--authsvc", required=True, help="the authsvc binary")
    p.add_argument("--load", help="amqp_load (default: tests/bench/amqp_load of the same build)")
    p.add_argument("--users", type=int, default=200)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--seconds-per-round", type=float, default=12)
    p.add_argument("--warmup", type=float, default=3, help="seconds per broker, not counted")
    p.add_argument("--workers", type=int, default=8, help="threads running short sessions")
    p.add_argument("--publishers", type=int, default=2, help="long-lived publishers")
    p.add_argument("--publish-rate", type=float, default=200, help="msg/s per publisher")
    p.add_argument("--messages", type=int, default=3, help="messages per short session")
    p.add_argument("--cache-ttl-ms", type=int,
                   help="auth_cache.cache_ttl (default: rabbitmq.conf.example's)")
    p.add_argument("--workload", choices=("sessions", "publish"), default="sessions",
                   help="short sessions (the default), or publishers alone with a routing key "
                        "per message")
    p.add_argument("--variants", default=",".join(DEFAULT_VARIANTS),
                   help="comma list, of: " + ", ".join(VARIANTS))
    p.add_argument("--json", help="also write every figure here")
    args = p.parse_args()
    args.authsvc = os.path.abspath(args.authsvc)
    if args.load is None:
        build = os.path.dirname(os.path.dirname(args.authsvc))
        args.load = os.path.join(build, "tests", "bench", "amqp_load")
    variants = [v for v in args.variants.split(",") if v]
    if any(v not in VARIANTS for v in variants):
        sys.exit("amqp_bench: --variants: choose from " + ", ".join(VARIANTS))
    if os.geteuid() != 0:
        sys.exit("amqp_bench: run as root (the brokers run as root from a temporary folder)")
    for tool in (args.authsvc, args.load):
        if not os.access(tool, os.X_OK):
            sys.exit("amqp_bench: %s is missing (build it: scripts/build.sh)" % tool)
    if not shutil.which("nginx") and not os.path.exists("/usr/sbin/nginx"):
        sys.exit("amqp_bench: nginx is missing (scripts/install-deps.sh --bench)")
    ttl_ms = args.cache_ttl_ms if args.cache_ttl_ms is not None else cache_ttl_of_example()
    logging.getLogger("pika").setLevel(logging.CRITICAL)  # refusals are expected in guards

    work = tempfile.mkdtemp(prefix="authsvc-amqp-bench-")
    problems = []
    svc = nginx = guardian = None
    brokers = {}
    try:
        # Users: the same names and tokens for every broker.
        # The operator account (the sampler's) is the brokers' own.
        svc = Authsvc(args.authsvc, work, serve_args=["--internal-user", OPERATOR])
        names = ["bench%04d" % i for i in range(args.users)]
        out = subprocess.run([args.authsvc, "user", "import", "--db", svc.db],
                             input="".join(n + " " + n + "@example.org\n" for n in names), capture_output=True,
                             text=True, check=True).stdout
        tokens = dict(line.split(" ", 1) for line in out.splitlines())
        token_ledger.record(tokens.values(), "amqp_bench")
        users_file = os.path.join(work, "users.txt")
        fd = os.open(users_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(out)
        svc.start()
        authsvc_pid = pids_with_args(args.authsvc, "serve", svc.db)[0]
        audit = AuditCounter(svc.audit_log)

        nginx_port = free_port()
        with open(os.path.join(work, "nginx.conf"), "w") as f:
            f.write(NGINX_CONF.format(dir=work, port=nginx_port))
        nginx = subprocess.Popen([shutil.which("nginx") or "/usr/sbin/nginx", "-p", work,
                                  "-c", os.path.join(work, "nginx.conf")],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(nginx_port, nginx)
        nginx_pids = [nginx.pid] + children_of(nginx.pid)
        nginx_url = "http://127.0.0.1:%d" % nginx_port

        # The internal broker points its (unused) http settings at authsvc,
        # so that the audit log would show it if it asked anyway.
        configs = {
            "internal": dict(conf_example=internal_only_example(work),
                             auth_base_url=svc.base_url, extra_conf="auth_backends.1 = internal"),
            "nginx": dict(conf_example=CONF_EXAMPLE, auth_base_url=nginx_url),
            "authsvc": dict(conf_example=CONF_EXAMPLE, auth_base_url=svc.base_url),
            "authsvc+cache": dict(conf_example=CONF_EXAMPLE, auth_base_url=svc.base_url,
                                  cache=True, cache_ttl_ms=ttl_ms),
            "authsvc+sampler": dict(conf_example=CONF_EXAMPLE, auth_base_url=svc.base_url,
                                    management=True),
        }
        t0 = time.monotonic()
        for v in variants:
            brokers[v] = Broker(http_method="post", **configs[v]).start()
        beams = {v: beam_pid(b) for v, b in brokers.items()}
        if "internal" in brokers:
            add_internal_users(brokers["internal"], names, tokens, work)
        if "authsvc+sampler" in brokers:
            guardian = start_sampling_guardian(args, svc, brokers["authsvc+sampler"], work)
        version = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", "rabbitmq-server"],
                                 capture_output=True, text=True).stdout

        print("machine: Linux %s, %d cores; rabbitmq-server %s; %d brokers started in %.0f s"
              % (os.uname().release, os.cpu_count(), version, len(brokers),
                 time.monotonic() - t0))
        print("users: %d (same names and tokens in authsvc and in the internal backend, "
              "with PulseGuardian's regex permissions)" % args.users)
        if args.workload == "publish":
            print("load: %d publishers, each a long-lived connection publishing persistent JSON "
                  "with confirms (batches of 10) as fast as they come back, each message with a "
                  "routing key of its own" % args.publishers)
        else:
            print("load: %d workers x short sessions (login, exchange.declare, queue.declare, 2 x "
                  "queue.bind, %d persistent JSON messages with confirms, basic.get, close) + %d "
                  "publishers x %.0f msg/s with confirms" % (args.workers, args.messages,
                                                             args.publishers, args.publish_rate))
        print("rounds: %d x %.0f s per broker, interleaved (%.0f s per broker); warm-up %.0f s"
              % (args.rounds, args.seconds_per_round, args.rounds * args.seconds_per_round,
                 args.warmup))
        if "authsvc+cache" in brokers:
            print("authsvc+cache: auth_cache.cache_ttl = %d ms: a disabled, deleted or rotated "
                  "user keeps logging in, and keeps its permissions, for up to %.1f s"
                  % (ttl_ms, ttl_ms / 1000))
        if args.rounds * args.seconds_per_round < 30:
            print("NOTE: under 30 s per broker; runs that short differed by 6-13 % between "
                  "identical brokers here")

        # Guards, then every user's exchange (bindings to others' need them),
        # then a warm-up, none of it counted.
        for v, b in brokers.items():
            try:
                other_exchange, wrong_token = guard(b.amqp_port, names[0], names[1],
                                                    tokens[names[0]])
            except Exception as e:
                problems.append("guard %s: the valid token did not work: %r" % (v, e))
                continue
            print("guard %-13s valid token: allowed; another user's exchange: %s; wrong token: %s"
                  % (v, other_exchange, wrong_token))
            if v != "nginx" and (other_exchange, wrong_token) != ("refused", "refused"):
                problems.append("guard %s: expected refusals, got %s / %s"
                                % (v, other_exchange, wrong_token))
        for v, b in brokers.items():
            for what, seconds, setup in (("setup", 0, True), ("warm-up", args.warmup, False)):
                res = run_load(args, b.amqp_port, users_file, seconds, setup=setup)
                if res["errors"]:
                    problems.append("%s %s: %d AMQP errors: %s" % (what, v, res["errors"],
                                                                    describe_errors(res)))
        if guardian is not None:
            wait_for_sampler(brokers["authsvc+sampler"], len(names), guardian)
            print("authsvc+sampler: the guardian's sampler has a queue on each of the %d exchanges"
                  % len(names))
        audit.settle()
        nginx_seen = nginx_requests(nginx_port)
        metric = "publisher_messages_per_s" if args.workload == "publish" else "sessions_per_s"
        count = "publisher_messages_confirmed" if args.workload == "publish" else "sessions"
        unit = "msg/s" if args.workload == "publish" else "sessions/s"

        rounds = {v: [] for v in brokers}
        order = list(brokers)
        for r in range(args.rounds):
            for v in order[r % len(order):] + order[:r % len(order)]:
                components = {"broker": {beams[v]},
                              "idle brokers": {pid for w, pid in beams.items() if w != v},
                              "authsvc": {authsvc_pid}, "nginx": set(nginx_pids)}
                if guardian is not None:
                    components["guardian"] = {guardian.pid}
                meter = CpuMeter(components)
                meter.start()
                res = run_load(args, brokers[v].amqp_port, users_file, args.seconds_per_round)
                res["cpu_s"], res["machine_busy"], res["top_others"] = meter.stop(
                    {"amqp_load": res["cpu_user_s"] + res["cpu_sys_s"]})
                calls = audit.settle()
                seen = nginx_requests(nginx_port)
                # Minus 1: the status request that read `seen`.
                res["nginx_requests"], nginx_seen = seen - nginx_seen - 1, seen
                res["authsvc_calls"] = calls
                rounds[v].append(res)

                n_calls = sum(calls.values())
                if args.workload == "publish":
                    print("round %d %-15s %8.1f msg/s, errors %d | HTTP calls/message: authsvc "
                          "%.2f, nginx %.2f | CPU s: %s; machine %.0f%% busy"
                          % (r + 1, v, res[metric], res["errors"], n_calls / max(1, res[count]),
                             res["nginx_requests"] / max(1, res[count]),
                             ", ".join("%s %.1f" % kv for kv in res["cpu_s"].items()),
                             res["machine_busy"] * 100), flush=True)
                else:
                    print("round %d %-13s %6.1f sessions/s (p50 %5.1f ms, p99 %6.1f ms), "
                          "publishers %5.1f msg/s, errors %d | HTTP calls/session: authsvc %.2f, "
                          "nginx %.2f | CPU s: %s; machine %.0f%% busy"
                          % (r + 1, v, res["sessions_per_s"], res["session_ms"]["p50"],
                             res["session_ms"]["p99"], res["publisher_messages_per_s"],
                             res["errors"], n_calls / max(1, res["sessions"]),
                             res["nginx_requests"] / max(1, res["sessions"]),
                             ", ".join("%s %.1f" % kv for kv in res["cpu_s"].items()),
                             res["machine_busy"] * 100), flush=True)
                if res["cpu_s"]["other processes"] > 0.05 * args.seconds_per_round:
                    print("        (other processes: %s)" % ", ".join(
                        "%s %.1f s" % kv for kv in res["top_others"]))
                if res["errors"]:
                    problems.append("round %d %s: %d AMQP errors: %s"
                                    % (r + 1, v, res["errors"], describe_errors(res)))
                if res[count] == 0:
                    problems.append("round %d %s: no %s completed" % (r + 1, v, count))
                # Each backend must have been asked by its own broker only (the
                # cached variant may, in principle, ask nothing in a round).
                if (v in ("authsvc", "authsvc+sampler") and n_calls == 0) or (
                        v in ("internal", "nginx") and n_calls):
                    problems.append("round %d %s: %d authsvc calls" % (r + 1, v, n_calls))
                if (v == "nginx") != (res["nginx_requests"] > 0):
                    problems.append("round %d %s: %d nginx requests"
                                    % (r + 1, v, res["nginx_requests"]))
                denials = {k: n for k, n in calls.items() if " " in k}
                if denials:
                    problems.append("round %d %s: authsvc refused %s" % (r + 1, v, denials))

        # Summary
        def med(v, key):
            return median([x[key] for x in rounds.get(v, [])])

        rate = {v: med(v, metric) for v in brokers}
        print()
        print("median %s (lowest-highest round): " % unit + ", ".join(
            "%s %.1f (%.1f-%.1f)" % (v, rate[v], min(x[metric] for x in rounds[v]),
                                     max(x[metric] for x in rounds[v]))
            for v in brokers))
        if args.workload == "sessions":
            print("median publisher msg/s: " + ", ".join(
                "%s %.1f" % (v, med(v, "publisher_messages_per_s")) for v in brokers))
        ratios = {}
        for num, den, target in (("authsvc", "nginx", 0.95),
                                 ("authsvc+cache", "internal", 0.95),
                                 ("nginx", "internal", None),
                                 ("authsvc", "internal", None),
                                 ("authsvc+cache", "authsvc", None),
                                 ("authsvc+sampler", "authsvc", None)):
            if num in rate and den in rate:
                ratios["%s/%s" % (num, den)] = rate[num] / rate[den]
                print("ratio %-24s %.3f%s" % ("%s / %s" % (num, den), rate[num] / rate[den],
                                              "  (target >= %.2f)" % target if target else ""))
        print("CPU seconds per round (median) and per 1000 %s:" % count.replace("_", " "))
        for v in brokers:
            cpu = {k: median([x["cpu_s"][k] for x in rounds[v]]) for k in rounds[v][0]["cpu_s"]}
            sessions = median([x[count] for x in rounds[v]])
            print("  %-13s %s; machine %.0f%% busy" % (v, ", ".join(
                "%s %.1f (%.2f)" % (k, s, s * 1000 / max(1, sessions)) for k, s in cpu.items()),
                median([x["machine_busy"] for x in rounds[v]]) * 100))
        for v in ("authsvc", "authsvc+cache", "authsvc+sampler"):
            if v in rounds:
                calls = {}
                for x in rounds[v]:
                    for k, n in x["authsvc_calls"].items():
                        calls[k] = calls.get(k, 0) + n
                sessions = sum(x[count] for x in rounds[v])
                print("authsvc calls per %s, %s: %s" % (
                    "message" if args.workload == "publish" else "session", v, ", ".join(
                    "%s %.2f" % (k, n / max(1, sessions)) for k, n in sorted(calls.items()))))

        svc.stop()
        with open(svc.audit_log, "rb") as f:
            audit_lines = sum(1 for line in f if b'"endpoint"' in line)
        print("authsvc audit log: %d decision lines" % audit_lines)
        errors = sum(x["errors"] for rs in rounds.values() for x in rs)
        print("AMQP errors in the measured rounds: %d" % errors)
        if args.json:
            with open(args.json, "w") as f:
                json.dump({"rates": rate, "ratios": ratios, "rounds": rounds,
                           "cache_ttl_ms": ttl_ms, "problems": problems}, f, indent=2)
    except Exception as e:
        problems.append("%s: %s" % (type(e).__name__, e))
    finally:
        if guardian is not None:
            guardian.send_signal(signal.SIGTERM)
            try:
                code = guardian.wait(30)
            except subprocess.TimeoutExpired:
                guardian.kill()
                code = "killed after 30 s"
            if code != 0:
                problems.append("the sampling guardian exited %s; see its stderr: %s"
                                % (code, read_tail(os.path.join(work, "guardian.err"))))
        for b in brokers.values():
            b.stop()
        if nginx and nginx.poll() is None:
            nginx.send_signal(signal.SIGQUIT)
            nginx.wait(10)
        if svc is not None:
            svc.stop()
        shutil.rmtree(work, ignore_errors=True)
    if problems:
        print("\nFAILED:\n  " + "\n  ".join(problems))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
