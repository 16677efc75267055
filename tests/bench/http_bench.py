#!/usr/bin/python3
"""HTTP benchmark: authsvc against nginx answering a static "allow", the
ceiling for any HTTP answer on this machine, in the same run.

    tests/bench/http_bench.py --authsvc build/authsvc/authsvc [--users 100000]
                              [--seconds 10] [--rounds 3] [--connections 8]
                              [--baseline OTHER_AUTHSVC_BINARY]

What it does, all on 127.0.0.1:
  1. imports --users users into a fresh database (`authsvc user import`);
  2. writes a request mix shaped like RabbitMQ 3.10's (POST form bodies byte
     for byte as the broker sends them; user, vhost, resource and topic calls,
     allows and denies, spread over the users) and checks authsvc answers
     every request of it as the Pulse policy says;
  3. starts authsvc (audit log to a file) and measures its start-up time and
     resident memory;
  4. runs wrk (-t1, keep-alive connections) against nginx and authsvc in
     alternating rounds, so that machine drift hits both alike, and prints
     each round, the medians and their ratio;
  5. measures how long a CLI change (disable, rotate, add) takes to reach
     the running server, with all users loaded;
  6. checks the audit log has exactly one line per request answered;
  7. with a build that has metrics: serves them (--metrics-listen), scrapes
     them every second during the rounds, and fails unless the decision
     counter equals the audit log's decision lines.
With --baseline, a second authsvc binary (another build, e.g. before a
change: scripts/bench.sh http --baseline REV builds one) gets the same
users, its own mix of the same shape, and its own rounds, interleaved with
the others, so that "as fast as before" is measured in one run.
Exit status 0 whatever the figures (targets are for people to judge),
unless a check fails.
"""

import argparse
import http.client
import json
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
import token_ledger  # noqa: E402
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
from ports import free_port  # noqa: E402


def wait_port(port, proc, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("process exited (%s)" % proc.returncode)
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.01)
    raise RuntimeError("port %d not listening" % port)


def cpu_seconds(pid):
    """User and system CPU time the process has used so far."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / ticks, int(fields[12]) / ticks


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))


def quote(s):
    # RabbitMQ's rabbit_http_util:quote_plus: unreserved bytes stay, space is '+'.
    out = []
    for b in s.encode():
        c = chr(b)
        if c.isalnum() and b < 128 or c in "._~-":
            out.append(c)
        elif c == " ":
            out.append("+")
        else:
            out.append("%%%02X" % b)
    return "".join(out)


def form(pairs):
    return "&".join("%s=%s" % (k, quote(v)) for k, v in pairs)


def make_mix(users, tokens, size, rng):
    """(method, path, form, expected answer) tuples in the broker's shapes.
    Weights follow a broker's traffic without a cache: each connection costs
    a user and a vhost call, channels add resource and topic calls."""
    mix = []
    for _ in range(size):
        u = rng.choice(users)
        other = rng.choice(users)
        while other == u:
            other = rng.choice(users)
        kind = rng.random()
        if kind < 0.10:
            good = rng.random() < 0.8
            mix.append(("/auth/user", form([("username", u),
                                            ("password", tokens[u] if good else "wrong-" + u)]),
                        "allow" if good else "deny"))
        elif kind < 0.20:
            mix.append(("/auth/vhost", form([("username", u), ("vhost", "/"),
                                             ("ip", "::ffff:127.0.0.1"), ("tags", "")]),
                        "allow"))
        elif kind < 0.80:
            choice = rng.randrange(6)
            if choice == 0:
                res, name, perm, answer = "exchange", "exchange/%s/v1" % u, "configure", "allow"
            elif choice == 1:
                res, name, perm, answer = "exchange", "exchange/%s/v1" % u, "write", "allow"
            elif choice == 2:
                res, name, perm, answer = "queue", "queue/%s/q" % u, rng.choice(
                    ["configure", "write", "read"]), "allow"
            elif choice == 3:
                res, name, perm, answer = "exchange", "exchange/%s/v1" % other, "read", "allow"
            elif choice == 4:
                res, name, perm, answer = "exchange", "exchange/%s/v1" % other, "write", "deny"
            else:
                res, name, perm, answer = rng.choice([
                    ("queue", "queue/%s/q" % other, "read", "deny"),
                    ("exchange", "amq.topic", "write", "deny"),
                    ("queue", "amq.gen-Ahc-cFHYBbOGBUhX4d7L5A", "configure", "deny")])
            mix.append(("/auth/resource", form([("username", u), ("vhost", "/"),
                                                ("resource", res), ("name", name),
                                                ("permission", perm), ("tags", "")]), answer))
        else:
            write = rng.random() < 0.5
            owner = u if write else other
            mix.append(("/auth/topic", form([
                ("username", u), ("vhost", "/"), ("resource", "topic"),
                ("name", "exchange/%s/v1" % owner), ("permission", "write" if write else "read"),
                ("tags", ""), ("routing_key", "build.linux.opt" if write else "build.#"),
                ("variable_map.username", u), ("variable_map.vhost", "/")]), "allow"))
    return mix


def check_mix(port, mix):
    conn = http.client.HTTPConnection("127.0.0.1", port)
    for path, body, expected in mix:
        conn.request("POST", path, body, {"Content-Type": "application/x-www-form-urlencoded"})
        r = conn.getresponse()
        got = r.read().decode()
        if r.status != 200 or got != expected:
            raise RuntimeError("%s %s: got %d %r, expected %r" % (path, body, r.status, got,
                                                                   expected))
    conn.close()


WRK_LATENCY = re.compile(r"^\s+(50|75|90|99)%\s+([\d.]+)(us|ms|s)\s*$", re.M)


def run_wrk(port, mix_file, seconds, connections):
    out = subprocess.run(
        ["wrk", "-t1", "-c%d" % connections, "-d%ds" % seconds, "--latency",
         "-s", os.path.join(HERE, "mix.lua"), "http://127.0.0.1:%d/" % port],
        env=dict(os.environ, MIX=mix_file), capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)", out)
    unit = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    lat = {p: float(v) * unit[u] for p, v, u in WRK_LATENCY.findall(out)}
    return {"rps": rps, "requests": total, "p50_ms": lat.get("50"), "p99_ms": lat.get("99"),
            "non2xx": int(errors.group(1)) if errors else 0,
            "socket_errors": socket_errors.group(1) if socket_errors else ""}


NGINX_CONF = """
worker_processes auto;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/nginx-error.log;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {dir}/body;
  proxy_temp_path {dir}/proxy;
  fastcgi_temp_path {dir}/fastcgi;
  uwsgi_temp_path {dir}/uwsgi;
  scgi_temp_path {dir}/scgi;
  keepalive_requests 100000000;
  keepalive_timeout 300s;
  server {{
    listen 127.0.0.1:{port};
    location / {{ default_type text/plain; return 200 "allow"; }}
  }}
}}
"""


class Authsvc:
    def __init__(self, binary, workdir, extra, throttle=False, db=None, password_file=None):
        self.binary, self.workdir, self.extra = binary, workdir, extra
        self.throttle = throttle
        # A SQLite file of its own, or a PostgreSQL URI and its password file.
        self.db = db or os.path.join(workdir, "authsvc.db")
        self.db_args = ["--db", self.db] + (
            ["--db-password-file", password_file] if password_file else [])
        self.audit = os.path.join(workdir, "audit.log")
        self.port = free_port()
        self.proc = None
        # A build with metrics serves them, and is scraped during its rounds
        # (metrics_scraper): the cost measured is the cost an operator pays.
        help_text = subprocess.run([binary, "serve", "--help"], capture_output=True,
                                   text=True).stdout
        self.metrics_port = free_port() if "--metrics-listen" in help_text else None
        self.cli("init")

    def cli(self, *args, stdin=None):
        out = subprocess.run([self.binary, *args, *self.db_args], input=stdin,
                             capture_output=True, text=True, check=True).stdout
        # Under CTest, for the token leak check (benchmarks are not in the
        # suite today, but share its harness).
        token_ledger.record_and_redact(args, out, "http_bench")
        return out

    def start(self):
        err = open(os.path.join(self.workdir, "serve.err"), "w")
        t0 = time.monotonic()
        # Login throttling off unless asked for: change_latency() polls with a
        # token that is wrong until the change shows, which is exactly what
        # throttling stops (5 failures, then 60 s of refusals).
        throttle = [] if self.throttle else ["--login-failures", "0"]
        self.proc = subprocess.Popen(
            [self.binary, "serve", *self.db_args, "--listen", "127.0.0.1:%d" % self.port,
             "--audit-log", self.audit, *throttle, *self.metrics_args(), *self.extra],
            stdout=subprocess.DEVNULL, stderr=err)
        wait_port(self.port, self.proc)
        return time.monotonic() - t0

    def metrics_args(self):
        return ["--metrics-listen", "127.0.0.1:%d" % self.metrics_port] if self.metrics_port else []

    def metrics(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.metrics_port, timeout=10)
        try:
            conn.request("GET", "/metrics")
            answer = conn.getresponse()
            body = answer.read().decode()
            if answer.status != 200:
                raise RuntimeError("/metrics answered %d" % answer.status)
            return body
        finally:
            conn.close()

    def decisions_total(self):
        return sum(float(line.rsplit(" ", 1)[1]) for line in self.metrics().splitlines()
                   if line.startswith("authsvc_decisions_total{"))

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(30)


class MetricsScraper:
    """Scrapes a server's /metrics every second while it runs (Prometheus
    would every 15 s): what metrics cost includes being read."""

    def __init__(self, server):
        self.server, self.scrapes, self.stopping = server, 0, threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stopping.wait(1.0):
            self.server.metrics()
            self.scrapes += 1

    def stop(self):
        self.stopping.set()
        self.thread.join(15)


def median(values):
    return statistics.median(values) if values else float("nan")


def change_latency(svc, user, token):
    """Seconds from a CLI command's exit to the server answering differently."""
    conn = http.client.HTTPConnection("127.0.0.1", svc.port)

    def login(t):
        conn.request("POST", "/auth/user", form([("username", user), ("password", t)]),
                     {"Content-Type": "application/x-www-form-urlencoded"})
        return conn.getresponse().read().decode()

    def until(t, expected):
        start = time.monotonic()
        while login(t) != expected:
            if time.monotonic() - start > 10:
                return float("inf")
            time.sleep(0.002)
        return time.monotonic() - start

    results = {}
    svc.cli("user", "disable", user)
    results["disable"] = until(token, "deny")
    svc.cli("user", "enable", user)
    results["enable"] = until(token, "allow")
    new_token = svc.cli("user", "rotate", user).splitlines()[-1]
    results["rotate"] = until(new_token, "allow")
    added = svc.cli("user", "add", "bench-newcomer", "--owner", "bench@example.org").splitlines()[-1]
    conn_user = user
    user = "bench-newcomer"
    results["add"] = until(added, "allow")
    user = conn_user
    conn.close()
    return results


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--authsvc", required=True)
    p.add_argument("--users", type=int, default=100000)
    p.add_argument("--seconds", type=int, default=10)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--connections", type=int, default=8)
    p.add_argument("--mix-size", type=int, default=20000)
    p.add_argument("--serve-arg", action="append", default=[],
                   help="extra argument for authsvc serve (repeatable)")
    p.add_argument("--baseline", help="another authsvc binary, measured in the same rounds")
    p.add_argument("--postgresql", action="store_true",
                   help="also the same binary on a PostgreSQL store (a private server, "
                   "tests/e2e/postgres.py), measured in the same rounds")
    p.add_argument("--json", help="also write the results here")
    args = p.parse_args()
    for tool in ("wrk", "nginx"):
        if not shutil.which(tool) and not os.path.exists("/usr/sbin/" + tool):
            sys.exit("http_bench: %s is missing (scripts/install-deps.sh --bench)" % tool)

    work = tempfile.mkdtemp(prefix="authsvc-bench-")
    nginx = svc = baseline = pg_svc = pg = None
    try:
        users = ["user%06d" % i for i in range(args.users)]

        def prepare(binary, folder, db=None, password_file=None):
            """A server with the users imported, its mix (same seed: the same
            shape whatever the binary) and the import time."""
            os.makedirs(folder)
            server = Authsvc(os.path.abspath(binary), folder, args.serve_arg, db=db,
                             password_file=password_file)
            t0 = time.monotonic()
            out = server.cli("user", "import", stdin="".join(u + " " + u + "@example.org\n" for u in users))
            seconds = time.monotonic() - t0
            tokens = dict(line.split(" ", 1) for line in out.splitlines())
            mix = make_mix(users, tokens, args.mix_size, random.Random(20261127))
            mix_file = os.path.join(folder, "mix.tsv")
            with open(mix_file, "w") as f:
                for path, body, _ in mix:
                    f.write("POST\t%s\t%s\n" % (path, body))
            return server, tokens, mix, mix_file, seconds

        svc, tokens, mix, mix_file, import_s = prepare(args.authsvc, os.path.join(work, "a"))
        start_s = svc.start()
        rss_start = rss_kb(svc.proc.pid)
        check_mix(svc.port, mix)
        targets = [("nginx", None, None), ("authsvc", svc, mix_file)]
        if args.baseline:
            baseline, _, base_mix, base_mix_file, _ = prepare(args.baseline,
                                                              os.path.join(work, "b"))
            baseline.start()
            check_mix(baseline.port, base_mix)
            targets.append(("baseline", baseline, base_mix_file))
        if args.postgresql:
            sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
            from postgres import PostgresServer
            pg = PostgresServer()
            pg.start()
            pg.create_database("bench")
            pg_svc, _, pg_mix, pg_mix_file, _ = prepare(args.authsvc, os.path.join(work, "p"),
                                                        db=pg.uri("bench"),
                                                        password_file=pg.password_file)
            pg_svc.start()
            check_mix(pg_svc.port, pg_mix)
            targets.append(("postgresql", pg_svc, pg_mix_file))

        nginx_port = free_port()
        with open(os.path.join(work, "nginx.conf"), "w") as f:
            f.write(NGINX_CONF.format(dir=work, port=nginx_port))
        nginx = subprocess.Popen(["nginx", "-p", work, "-c", os.path.join(work, "nginx.conf")],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(nginx_port, nginx)
        scrapers = [MetricsScraper(server) for _, server, _ in targets
                    if server and server.metrics_port]

        print("machine: %s, %d cores; users: %d; mix: %d requests; wrk -t1 -c%d, %d s rounds"
              % (os.uname().release, os.cpu_count(), args.users, len(mix), args.connections,
                 args.seconds))
        if args.baseline:
            print("authsvc: %s; baseline: %s" % (args.authsvc, args.baseline))
        rounds = {name: [] for name, _, _ in targets}
        answered = len(mix)  # check_mix
        for r in range(args.rounds):
            # The two builds swap places every other round, so that neither
            # always runs right after nginx (the machine drifts within a round).
            order = targets if r % 2 == 0 else targets[:1] + targets[:0:-1]
            for name, server, target_mix in order:
                port = server.port if server else nginx_port
                before = cpu_seconds(server.proc.pid) if server else None
                res = run_wrk(port, target_mix or mix_file, args.seconds, args.connections)
                if server:
                    # CPU per request, user and kernel: what the server costs
                    # the machine, less noisy than a throughput that the
                    # client's share of the two cores also sets.
                    after = cpu_seconds(server.proc.pid)
                    res["user_us"] = (after[0] - before[0]) * 1e6 / res["requests"]
                    res["sys_us"] = (after[1] - before[1]) * 1e6 / res["requests"]
                rounds[name].append(res)
                if name == "authsvc":
                    answered += res["requests"]
                cpu = (" cpu/req %.2f us user + %.2f us sys" % (res["user_us"], res["sys_us"])
                       if server else "")
                print("round %d %-8s %9.0f req/s  p50 %.3f ms  p99 %.3f ms  non-2xx %d%s %s"
                      % (r + 1, name, res["rps"], res["p50_ms"], res["p99_ms"], res["non2xx"],
                         cpu, res["socket_errors"]))
        for scraper in scrapers:
            scraper.stop()
        rss_load = rss_kb(svc.proc.pid)
        latency = change_latency(svc, users[len(users) // 2], tokens[users[len(users) // 2]])
        answered += 0  # change_latency's requests are counted from the audit log below

        counted = svc.decisions_total() if svc.metrics_port else None
        svc.stop()
        with open(svc.audit) as f:
            audit_decisions = sum(1 for line in f if '"endpoint"' in line)

        summary = {
            "users": args.users, "import_s": import_s, "start_s": start_s,
            "rss_start_mb": rss_start / 1024, "rss_after_load_mb": rss_load / 1024,
            "nginx_rps": median([x["rps"] for x in rounds["nginx"]]),
            "authsvc_rps": median([x["rps"] for x in rounds["authsvc"]]),
            "nginx_p99_ms": median([x["p99_ms"] for x in rounds["nginx"]]),
            "authsvc_p99_ms": median([x["p99_ms"] for x in rounds["authsvc"]]),
            "change_visible_s": latency, "audit_decision_lines": audit_decisions,
            "wrk_requests_to_authsvc": answered,
        }
        summary["ratio"] = summary["authsvc_rps"] / summary["nginx_rps"]
        for name in rounds:
            if name != "nginx":
                summary[name + "_cpu_us"] = median(
                    [x["user_us"] + x["sys_us"] for x in rounds[name]])
        if pg_svc:
            pg_svc.stop()
            summary["postgresql_rps"] = median([x["rps"] for x in rounds["postgresql"]])
            summary["postgresql_p99_ms"] = median([x["p99_ms"] for x in rounds["postgresql"]])
            summary["postgresql_ratio"] = summary["postgresql_rps"] / summary["nginx_rps"]
        if baseline:
            baseline.stop()
            summary["baseline_rps"] = median([x["rps"] for x in rounds["baseline"]])
            summary["baseline_p99_ms"] = median([x["p99_ms"] for x in rounds["baseline"]])
            summary["authsvc_vs_baseline"] = summary["authsvc_rps"] / summary["baseline_rps"]
        print()
        print("import of %d users: %.2f s; authsvc start: %.3f s; RSS %.1f MB at start, "
              "%.1f MB after load" % (args.users, import_s, start_s, summary["rss_start_mb"],
                                      summary["rss_after_load_mb"]))
        print("median throughput: authsvc %.0f req/s / nginx %.0f req/s = %.2f"
              % (summary["authsvc_rps"], summary["nginx_rps"], summary["ratio"]))
        print("median p99: authsvc %.3f ms, nginx %.3f ms"
              % (summary["authsvc_p99_ms"], summary["nginx_p99_ms"]))
        print("median CPU per request (user + kernel): authsvc %.2f us"
              % summary["authsvc_cpu_us"] + ("; baseline %.2f us (authsvc / baseline = %.3f)"
                                             % (summary["baseline_cpu_us"],
                                                summary["authsvc_cpu_us"]
                                                / summary["baseline_cpu_us"])
                                             if baseline else ""))
        if baseline:
            print("median throughput: authsvc %.0f req/s / baseline %.0f req/s = %.2f; "
                  "median p99: baseline %.3f ms"
                  % (summary["authsvc_rps"], summary["baseline_rps"],
                     summary["authsvc_vs_baseline"], summary["baseline_p99_ms"]))
        if pg_svc:
            print("median throughput: authsvc on PostgreSQL %.0f req/s / nginx %.0f req/s = "
                  "%.2f (on SQLite: %.2f); median p99 %.3f ms; CPU per request %.2f us "
                  "(on SQLite %.2f us)"
                  % (summary["postgresql_rps"], summary["nginx_rps"],
                     summary["postgresql_ratio"], summary["ratio"],
                     summary["postgresql_p99_ms"], summary["postgresql_cpu_us"],
                     summary["authsvc_cpu_us"]))
        print("CLI change visible after: " + ", ".join(
            "%s %.3f s" % kv for kv in latency.items()))
        print("audit decision lines %d, requests wrk and the checks sent at least %d "
              "(wrk does not count requests cut off when a round ends)"
              % (audit_decisions, answered))
        if counted is not None:
            print("authsvc_decisions_total %d (audit decision lines %d); /metrics scraped %s"
                  % (counted, audit_decisions,
                     ", ".join("%s %d times" % (name, m.scrapes) for m, name in
                               zip(scrapers, [n for n, server, _ in targets if server and
                                              server.metrics_port]))))
            if counted != audit_decisions:
                sys.exit("http_bench: the decision counter and the audit log disagree")
        if args.json:
            with open(args.json, "w") as f:
                json.dump({"summary": summary, "rounds": rounds}, f, indent=2)
    finally:
        if nginx and nginx.poll() is None:
            nginx.send_signal(signal.SIGQUIT)
            nginx.wait(10)
        for server in (svc, baseline, pg_svc):
            if server and server.proc and server.proc.poll() is None:
                server.stop()
        if pg:
            pg.close()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
