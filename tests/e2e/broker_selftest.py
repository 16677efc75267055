#!/usr/bin/python3
"""Self-test for broker.py and rabbitmq.conf.example, without authsvc.

    /usr/bin/python3 tests/e2e/broker_selftest.py

A tiny HTTP stub stands in for authsvc ('allow' for alice/secret, 'deny'
for any other login, 'allow' for every vhost/resource/topic question).
Two brokers are started from rabbitmq.conf.example, one per http_method;
the GET one also runs the example's cached variant and the management
plugin, so every setting the example offers is booted at least once.
Each run checks a real login + topic publish, a refused password, the
internal backend fallback (guest), and that stop() leaves nothing behind.
Exits non-zero on the first failure.
"""

import http.server
import logging
import os
import subprocess
import sys
import threading
import time
import urllib.parse

import pika

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import broker  # noqa: E402
from timing import scaled  # noqa: E402

CONF_EXAMPLE = os.path.join(HERE, "..", "..", "rabbitmq.conf.example")


class Failure(Exception):
    pass


def check(cond, what):
    # Not `assert`: the test must not vanish under python -O.
    if not cond:
        raise Failure(what)


# ---------------------------------------------------------------------------
# authsvc stand-in
# ---------------------------------------------------------------------------

class Stub(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), StubHandler)
        self.requests = []  # (method, path, params)
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base_url(self):
        return "http://127.0.0.1:%d" % self.server_address[1]

    def calls(self, path, **match):
        with self.lock:
            return [(m, p) for m, pth, p in self.requests if pth == path
                    and all(p.get(k) == v for k, v in match.items())]

    def close(self):
        self.shutdown()
        self.server_close()


class StubHandler(http.server.BaseHTTPRequestHandler):
    # Keep-alive, as Erlang's httpc expects from a real service.
    protocol_version = "HTTP/1.1"

    def _answer(self, query):
        url = urllib.parse.urlsplit(self.path)
        params = dict(urllib.parse.parse_qsl(query, keep_blank_values=True))
        with self.server.lock:
            self.server.requests.append((self.command, url.path, params))
        if url.path == "/auth/user":
            ok = params.get("username") == "alice" and params.get("password") == "secret"
            body = b"allow" if ok else b"deny"  # no trailing newline: 3.10 would choke
        elif url.path in ("/auth/vhost", "/auth/resource", "/auth/topic"):
            body = b"allow"
        else:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self._answer(urllib.parse.urlsplit(self.path).query)

    def do_POST(self):
        length = int(self.headers.get("Content-Length", 0))
        self._answer(self.rfile.read(length).decode())

    def log_message(self, *args):
        pass


# ---------------------------------------------------------------------------
# Checks
# ---------------------------------------------------------------------------

def connect(port, user, password):
    return pika.BlockingConnection(pika.ConnectionParameters(
        host="127.0.0.1", port=port,
        credentials=pika.PlainCredentials(user, password),
        connection_attempts=1, socket_timeout=scaled(10), blocked_connection_timeout=scaled(10)))


def leftovers(node, epmd_port):
    """Processes of this node or its epmd that are still running."""
    found = []
    for pattern in (node, "epmd -port %d " % epmd_port):
        r = subprocess.run(["pgrep", "-af", pattern], stdout=subprocess.PIPE, text=True)
        found += [line for line in r.stdout.splitlines() if "pgrep" not in line]
    return found


def run(http_method, cache, management):
    label = "http_method=%s cache=%s management=%s" % (http_method, cache, management)
    print("== %s" % label, flush=True)
    stub = Stub()
    b = broker.Broker(CONF_EXAMPLE, stub.base_url, http_method=http_method,
                      cache=cache, management=management)
    try:
        b.start()
        print("   start: %.2f s  (node %s, amqp %d, mgmt %s)"
              % (b.start_seconds, b.node, b.amqp_port, b.mgmt_port), flush=True)

        # A login through authsvc, then a topic publish (resource + topic
        # checks); twice, to see what the cached variant saves.
        logins = []
        for _ in range(2):
            conn = connect(b.amqp_port, "alice", "secret")
            ch = conn.channel()
            ch.confirm_delivery()  # so a refused publish surfaces here
            ch.exchange_declare("authsvc.selftest", exchange_type="topic")
            ch.basic_publish("authsvc.selftest", "a.b.c", b"hello")
            conn.close()
            logins.append(len(stub.calls("/auth/user", username="alice", password="secret")))
        # Without the cache every login asks once. With it (3.10) the first
        # login asks twice -- the cache backend calls the http backend's
        # authentication and authorization separately and both end in
        # /auth/user -- and the second login is answered from the cache.
        expected = [2, 2] if cache else [1, 2]
        check(logins == expected, "/auth/user calls after each login: %s, expected %s"
              % (logins, expected))

        want = http_method.upper()
        for path in ("/auth/user", "/auth/vhost", "/auth/resource", "/auth/topic"):
            calls = stub.calls(path, username="alice")
            check(calls, "%s was never called" % path)
            check(all(m == want for m, _ in calls), "%s not called with %s" % (path, want))
        topic = stub.calls("/auth/topic", username="alice", routing_key="a.b.c",
                           permission="write")
        check(topic, "no topic write check for routing key a.b.c")

        # A refused password must be refused by the broker.
        try:
            connect(b.amqp_port, "alice", "wrong").close()
            raise Failure("alice/wrong was let in")
        except (pika.exceptions.ProbableAuthenticationError,
                pika.exceptions.AuthenticationError) as e:
            print("   wrong password refused: %s" % type(e).__name__)
        check(stub.calls("/auth/user", username="alice", password="wrong"),
              "authsvc was not asked about alice/wrong")

        # auth_backends.2 = internal: the broker's own guest account still
        # works after authsvc said deny.
        connect(b.amqp_port, "guest", "guest").close()
        check(stub.calls("/auth/user", username="guest"), "guest did not go to authsvc first")
        print("   internal backend fallback (guest) ok")

        if management:
            import urllib.request
            req = urllib.request.Request("http://127.0.0.1:%d/api/overview" % b.mgmt_port)
            req.add_header("Authorization", "Basic Z3Vlc3Q6Z3Vlc3Q=")  # guest:guest
            with urllib.request.urlopen(req, timeout=scaled(10)) as r:
                check(r.status == 200, "management API answered %d" % r.status)
            print("   management API ok")
    finally:
        folder, node, epmd_port = b.dir, b.node, b.epmd_port  # stop() clears dir
        b.stop()
        stub.close()
    print("   stop:  %.2f s" % b.stop_seconds, flush=True)

    check(folder is None or not os.path.exists(folder), "temp folder %s left" % folder)
    left = leftovers(node, epmd_port)
    check(not left, "processes left: %s" % left)
    # Helpers whose command line names neither (erl_child_setup, ...) still
    # carry the broker's marker variable.
    marked = broker._marked_pids(folder)
    check(not marked, "processes of %s left: %s" % (node, marked))
    print("   nothing left running, temp folder removed")


def check_ports():
    """The ports the tests' servers get: none in the kernel's ephemeral
    range (an outgoing connection could take it first), none given to two
    processes at once."""
    from ports import free_port
    with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
        low, high = (int(x) for x in f.read().split())
    mine = [free_port() for _ in range(50)]
    check(len(set(mine)) == len(mine), "a port given twice: %s" % mine)
    check(not [p for p in mine if low <= p <= high],
          "ports in the ephemeral range %d-%d: %s" % (low, high, mine))
    # Another process asks for every port this one holds: each is refused.
    code = ("import sys; sys.path.insert(0, %r); import ports\n"
            "held = set(%r)\n"
            "for p in held: print(p, ports._lock_file(p) is not None)\n" % (HERE, mine))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    lines = out.stdout.split()
    check(len(lines) == 2 * len(mine), "the other process answered %r" % out.stdout)
    taken = [lines[i] for i in range(0, len(lines), 2) if lines[i + 1] != "False"]
    check(not taken, "another process could claim ports this one holds: %s" % taken)
    print("   ports: 50 outside %d-%d, none claimable by another process" % (low, high))


def main():
    logging.basicConfig(level=logging.CRITICAL)  # pika logs refused logins loudly
    broker.token_ledger.note_run("e2e_broker_selftest")
    t0 = time.monotonic()
    try:
        check_ports()
        run("post", cache=False, management=False)
        run("get", cache=True, management=True)
    except (Failure, broker.BrokerError) as e:
        print("FAIL: %s" % e, file=sys.stderr)
        return 1
    print("OK (%.1f s)" % (time.monotonic() - t0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
