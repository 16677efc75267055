#!/usr/bin/python3
"""Soak: benchmark load for a long time while the CLI churns users, then
checks that authsvc held: no non-2xx answer, no socket error, still running,
memory stable, and exactly one audit line per request answered.

    /usr/bin/python3 tests/bench/soak.py --authsvc build/authsvc/authsvc [--minutes 10]

Load: wrk -t1 -c8 with http_bench.py's mix over 100,000 users (throttling
on, as in production). Churn: a loop of CLI commands (add, rotate, disable,
enable, delete a user; rotate an existing one), one every 0.2 s, each
making the server reload its snapshot of 100,000 users.
Exit status 1 if any check fails.
"""

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import http_bench  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--authsvc", required=True)
    p.add_argument("--minutes", type=float, default=10)
    p.add_argument("--users", type=int, default=100000)
    args = p.parse_args()

    work = tempfile.mkdtemp(prefix="authsvc-soak-")
    svc = http_bench.Authsvc(os.path.abspath(args.authsvc), work, [], throttle=True)
    failures = []
    try:
        rng = random.Random(7)
        users = ["user%06d" % i for i in range(args.users)]
        out = svc.cli("user", "import", stdin="".join(u + " " + u + "@example.org\n" for u in users))
        tokens = dict(line.split(" ", 1) for line in out.splitlines())
        mix = http_bench.make_mix(users, tokens, 20000, rng)
        mix_file = os.path.join(work, "mix.tsv")
        with open(mix_file, "w") as f:
            for path, body, _ in mix:
                f.write("POST\t%s\t%s\n" % (path, body))
        svc.start()
        pid = svc.proc.pid
        seconds = int(args.minutes * 60)
        done = threading.Event()
        rss = []
        churn = {"ops": 0, "errors": 0}

        def sample():
            while not done.wait(10):
                if svc.proc.poll() is None:
                    rss.append(http_bench.rss_kb(pid) / 1024)

        def do_churn():
            n = 0
            while not done.is_set():
                name = "churn%06d" % n
                steps = [("user", "add", name, "--owner", name + "@example.org"), ("user", "rotate", name),
                         ("user", "disable", name), ("user", "enable", name),
                         ("user", "delete", name), ("user", "rotate", rng.choice(users))]
                for step in steps:
                    if done.is_set():
                        break
                    r = subprocess.run([svc.binary, *step, "--db", svc.db], capture_output=True,
                                       text=True)
                    churn["ops"] += 1
                    if r.returncode != 0:
                        churn["errors"] += 1
                        print("churn: %s: %s" % (" ".join(step), r.stderr.strip()))
                    time.sleep(0.2)
                n += 1

        threads = [threading.Thread(target=sample), threading.Thread(target=do_churn)]
        for t in threads:
            t.start()
        started = time.monotonic()
        result = http_bench.run_wrk(svc.port, mix_file, seconds, 8)
        done.set()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - started
        alive = svc.proc.poll() is None
        svc.stop()
        with open(svc.audit) as f:
            decisions = sum(1 for line in f if '"endpoint"' in line)
        print("soak: %.0f s, %d requests (%.0f req/s), p50 %.3f ms, p99 %.3f ms"
              % (elapsed, result["requests"], result["rps"], result["p50_ms"], result["p99_ms"]))
        print("non-2xx: %d; socket errors: %s" % (result["non2xx"], result["socket_errors"] or
                                                   "none"))
        print("CLI churn: %d commands, %d failed" % (churn["ops"], churn["errors"]))
        print("RSS every 10 s (MB): first %.1f, max %.1f, last %.1f"
              % (rss[0], max(rss), rss[-1]) if rss else "RSS: no samples")
        print("audit decision lines: %d for %d requests wrk counted (it does not count up to "
              "8 cut off at the end)" % (decisions, result["requests"]))
        if not alive:
            failures.append("authsvc died")
        if result["non2xx"]:
            failures.append("non-2xx answers")
        if result["socket_errors"]:
            failures.append("socket errors: " + result["socket_errors"])
        if churn["errors"]:
            failures.append("CLI commands failed")
        if not result["requests"] <= decisions <= result["requests"] + 8:
            failures.append("audit lines do not match requests")
        if rss and rss[-1] > rss[0] * 1.5 + 20:
            failures.append("memory grew from %.1f to %.1f MB" % (rss[0], rss[-1]))
    finally:
        if svc.proc and svc.proc.poll() is None:
            svc.stop()
        shutil.rmtree(work, ignore_errors=True)
    print("soak: " + ("FAILED: " + "; ".join(failures) if failures else "passed"))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
