#!/usr/bin/python3
"""How long `authsvc serve` takes to be ready, and how much memory it holds
then, with 100,000 and 1,000,000 users, on each store: a SQLite file and a
PostgreSQL database (a private server, tests/e2e/postgres.py).

    /usr/bin/python3 tests/bench/snapshot_load_bench.py --authsvc build/authsvc/authsvc \\
        [--users 100000,1000000] [--starts 3] [--stores sqlite,postgresql] \\
        [--baseline OTHER_AUTHSVC]

With --baseline, another build (the one before a change) serves the same
stores too, start for start after --authsvc's: one import and copy for
both, and the two measured on the same data under the same load.

The users are imported once per size with `authsvc user import` into a
SQLite file, and copied to PostgreSQL with `authsvc store copy` (both
timed), which ANALYZEs it; then VACUUMed, as autovacuum would soon. Each
store is then served once to export the import's audit events (a one-off,
timed apart), then started `--starts` more times: ready is the time from
the process's start to its "listening on" line, which serve prints once
the snapshot is loaded (the port is bound before, so a connect
would not tell); RSS is VmRSS then, peak is VmHWM. Medians are printed.
"""

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
from authsvc_process import free_port  # noqa: E402
from postgres import PostgresServer  # noqa: E402


def proc_status_kb(pid, field):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError("no %s for pid %d" % (field, pid))


def serve_once(binary, db, password_file, workdir):
    """Starts serve, waits for its ready line, reads its memory, stops it.
    Returns (seconds to ready, VmRSS kB, VmHWM kB)."""
    args = [binary, "serve", "--db", db, "--listen", "127.0.0.1:%d" % free_port(),
            "--audit-log", os.path.join(workdir, "audit.log"), "--node-name", "bench"]
    if password_file:
        args += ["--db-password-file", password_file]
    t0 = time.monotonic()
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        for line in proc.stderr:
            if "authsvc: listening on" in line:
                ready = time.monotonic() - t0
                rss = proc_status_kb(proc.pid, "VmRSS")
                peak = proc_status_kb(proc.pid, "VmHWM")
                break
        else:
            raise RuntimeError("serve exited (%s) before it was ready" % proc.wait())
    finally:
        proc.send_signal(signal.SIGTERM)
        rest = proc.stderr.read()
        code = proc.wait(60)
    if code != 0:
        raise RuntimeError("serve exited %d: %s" % (code, rest[-500:]))
    return ready, rss, peak


def run(argv, **kwargs):
    t0 = time.monotonic()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, **kwargs)
    return time.monotonic() - t0


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--authsvc", required=True)
    p.add_argument("--users", default="100000,1000000")
    p.add_argument("--starts", type=int, default=3)
    p.add_argument("--stores", default="sqlite,postgresql")
    p.add_argument("--baseline", help="another authsvc binary to serve the same stores")
    args = p.parse_args()
    binary = os.path.abspath(args.authsvc)
    binaries = [("authsvc", binary)]
    if args.baseline:
        binaries.append(("baseline", os.path.abspath(args.baseline)))
    stores = args.stores.split(",")
    work = tempfile.mkdtemp(prefix="authsvc-load-bench-")
    pg = None
    results = []
    try:
        if "postgresql" in stores:
            pg = PostgresServer()
            pg.start()
        for label, path in binaries:
            print("machine: %s, %d cores; %s: %s" % (
                os.uname().release, os.cpu_count(), label,
                subprocess.run([path, "--version"], capture_output=True, text=True).stdout.strip()))
        for size in [int(n) for n in args.users.split(",")]:
            folder = os.path.join(work, str(size))
            os.makedirs(folder)
            sqlite_db = os.path.join(folder, "authsvc.db")
            run([binary, "init", "--db", sqlite_db])
            names = "".join("user%07d user%07d@example.org\n" % (i, i) for i in range(size))
            # The tokens it prints go nowhere: a benchmark keeps none.
            seconds = run([binary, "user", "import", "--db", sqlite_db], input=names, text=True)
            print("%d users: user import %.2f s" % (size, seconds))
            for store in stores:
                db, password_file = sqlite_db, None
                if store == "postgresql":
                    name = "load%d" % size
                    pg.create_database(name)
                    db, password_file = pg.uri(name), pg.password_file
                    seconds = run([binary, "store", "copy", "--from", sqlite_db, "--to", db,
                                   "--to-password-file", password_file])
                    print("%d users: store copy to postgresql %.2f s" % (size, seconds))
                    # What autovacuum does to freshly written tables within
                    # minutes (store copy has ANALYZEd them): the visibility
                    # map that lets the load's index-only scan of the vhosts
                    # skip the heap. A store in use is measured, not one
                    # seconds old.
                    t0 = time.monotonic()
                    pg.psql("VACUUM", name)
                    print("%d users: VACUUM %.2f s" % (size, time.monotonic() - t0))
                for label, path in binaries:
                    first = serve_once(path, db, password_file, folder)
                    print("%d users, %s, %s: first start (exports the import's audit events, "
                          "if not yet) ready in %.2f s" % (size, store, label, first[0]))
                starts = {label: [] for label, _ in binaries}
                for i in range(args.starts):
                    for label, path in binaries:
                        ready, rss, peak = serve_once(path, db, password_file, folder)
                        starts[label].append((ready, rss, peak))
                        print("%d users, %s, %s: start %d ready in %.3f s, RSS %.0f MB, "
                              "peak %.0f MB" % (size, store, label, i + 1, ready, rss / 1024,
                                                peak / 1024))
                for label, _ in binaries:
                    runs = starts[label]
                    results.append((label, size, store,
                                    statistics.median(s[0] for s in runs),
                                    statistics.median(s[1] for s in runs) / 1024,
                                    statistics.median(s[2] for s in runs) / 1024))
            shutil.rmtree(folder)
        print()
        print("| binary | users | store | ready (median) | RSS at ready | peak RSS |")
        print("|---|---|---|---|---|---|")
        for label, size, store, ready, rss, peak in results:
            print("| %s | %d | %s | %.3f s | %.0f MB | %.0f MB |"
                  % (label, size, store, ready, rss, peak))
    finally:
        if pg:
            pg.close()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
