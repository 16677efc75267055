#!/usr/bin/python3
"""Self-test for postgres.py, without authsvc.

    /usr/bin/python3 tests/e2e/postgres_selftest.py

A primary: a database; a TCP login with the password from password_file,
and a wrong password refused; the password in no log; a crash (kill9) it
recovers from, committed rows kept. A hot standby made from it: a row
written on the primary appears there, a write there is refused. The
primary stopped, the standby promoted and written to. Then, by pid, that
no process of either is left; and that a server dies with the process that
started it when that process is SIGKILLed, while one started without that
guard survives it (so the check can tell). Exits non-zero on the first
failure.
"""

import ctypes
import json
import os
import select
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import postgres  # noqa: E402
from authsvc_process import describe_exit  # noqa: E402
from timing import scaled, wait_for  # noqa: E402


_PR_SET_CHILD_SUBREAPER = 36


class Failure(Exception):
    pass


def check(cond, what):
    # Not `assert`: the test must not vanish under python -O.
    if not cond:
        raise Failure(what)


def ours(pid, folders):
    """Whether `pid` is still a process working in one of `folders` (a
    recycled pid working elsewhere is not ours)."""
    return any(pid in postgres.pids_in(folder) for folder in folders)


def logins(pg, scratch):
    with open(pg.password_file) as f:
        password = f.read().splitlines()[0]
    mode = stat.S_IMODE(os.stat(pg.password_file).st_mode)
    check(mode == 0o600, "password_file has mode %o" % mode)
    check(not pg.password_file.startswith(pg.data_dir + "/"), "password_file in the data folder")
    with open(pg.pgpass_file) as f:
        check(password in f.read(), "pgpass_file lacks password_file's password")
    check(password not in pg.uri() and password not in json.dumps(pg.info()),
          "the password is in the URI or the info")
    # As authsvc will: the password read from password_file, given to libpq.
    right = os.path.join(scratch, "right.pgpass")
    pg.write_pgpass(right, password)
    who = pg.psql("SELECT current_user, inet_server_addr(), current_database()",
                  "selftest", tcp=True, passfile=right)
    check(who == "%s|127.0.0.1|selftest" % postgres.USER, "TCP login: %r" % who)
    wrong = os.path.join(scratch, "wrong.pgpass")
    pg.write_pgpass(wrong, password[::-1])
    r = pg.psql("SELECT 1", "selftest", tcp=True, passfile=wrong, check=False)
    check(r.returncode != 0 and 'password authentication failed for user "%s"' % postgres.USER
          in r.stderr, "a wrong password: psql exited %d: %s" % (r.returncode, r.stderr))
    for log in (pg.log_file, os.path.join(pg.base_dir, "initdb.log")):
        with open(log, errors="replace") as f:
            check(password not in f.read(), "the password is in %s" % log)
    print("   TCP login with password_file's password; a wrong one refused; "
          "the password in no log")
    return password


def primary_and_standby(scratch):
    seen = []  # (pid, folder) of every server process met, for the leftover check
    primary = postgres.PostgresServer(label="postgres-selftest-primary")
    standby = None
    try:
        primary.start()
        print("   primary on %s: initdb %.2f s, then ready in %.2f s"
              % (primary.uri(), primary.initdb_seconds, primary.start_seconds), flush=True)
        check(primary.uri("selftest") == "postgresql://%s@127.0.0.1:%d/selftest"
              % (postgres.USER, primary.port), "uri: %r" % primary.uri("selftest"))
        check(primary.psql("SHOW listen_addresses") == "127.0.0.1", "listens beyond 127.0.0.1")
        primary.create_database("selftest")
        seen += [(pid, primary.base_dir) for pid in primary.server_pids()]
        logins(primary, scratch)

        primary.psql("CREATE TABLE t (n int); INSERT INTO t VALUES (1)", "selftest")
        port, pids = primary.port, primary.server_pids()
        primary.kill9()
        left = [pid for pid in pids if ours(pid, [primary.base_dir])]
        check(not left, "kill9 left %s" % left)
        primary.start()
        check(primary.port == port, "the restart moved from port %d to %d" % (port, primary.port))
        rows = primary.psql("SELECT n FROM t", "selftest")
        check(rows == "1", "after kill9 and restart, t holds %r" % rows)
        seen += [(pid, primary.base_dir) for pid in primary.server_pids()]
        print("   kill9, then a restart on the same port recovers the committed row")

        t0 = time.monotonic()
        standby = primary.make_standby(label="postgres-selftest-standby")
        print("   standby on port %d streaming and caught up in %.2f s"
              % (standby.port, time.monotonic() - t0), flush=True)
        seen += [(pid, standby.base_dir) for pid in standby.server_pids()]
        check(standby.is_in_recovery(), "the standby is not in recovery")
        primary.psql("INSERT INTO t VALUES (2)", "selftest")
        wait_for(lambda: standby.psql("SELECT count(*) FROM t WHERE n = 2", "selftest") == "1",
                 30, "the primary's row on the standby")
        r = standby.psql("INSERT INTO t VALUES (3)", "selftest", check=False)
        check(r.returncode != 0 and "read-only transaction" in r.stderr,
              "a write on the standby: psql exited %d: %s" % (r.returncode, r.stderr))
        print("   a row written on the primary reached the standby; the standby refused a write")

        code = primary.stop()
        check(code == 0, "the primary's fast shutdown: %s" % code)
        check(primary.stop() is None, "a second stop() did something")
        standby.promote()
        check(not standby.is_in_recovery(), "the promoted standby is still in recovery")
        standby.psql("INSERT INTO t VALUES (3)", "selftest")
        rows = standby.psql("SELECT n FROM t ORDER BY n", "selftest").split()
        check(rows == ["1", "2", "3"], "the promoted standby holds %s" % rows)
        print("   the primary stopped, the standby promoted and written to")
    finally:
        folders = [primary.base_dir] + ([standby.base_dir] if standby else [])
        if standby:
            standby.close()
        primary.close()
    left = [pid for pid, folder in seen if ours(pid, [folder])]
    check(not left, "processes of the servers left: %s" % left)
    gone = [f for f in folders if os.path.exists(f)]
    check(not gone, "folders left: %s" % gone)
    print("   stopped: none of their %d processes is left, their folders are deleted" % len(seen))


def orphan(mode):
    """The child of the parent-death check: starts a server, says where,
    and waits to be killed."""
    pg = postgres.PostgresServer(die_with_parent=(mode == "guarded"),
                                 label="postgres-selftest-" + mode).start()
    print(json.dumps({"pid": pg.pid, "base_dir": pg.base_dir, "data_dir": pg.data_dir,
                      "pids": pg.server_pids()}), flush=True)
    sys.stdin.read()
    return 0


def reaped(pid):
    """The exit status of `pid`, an orphan reparented to us (see
    parent_death)."""
    try:
        _, status = os.waitpid(pid, 0)
    except ChildProcessError:
        raise Failure("%d did not come to us when its parent died" % pid)
    return os.waitstatus_to_exitcode(status)


def parent_death():
    # Orphans come to us rather than to init: we see their exit status,
    # and they do not linger as zombies until init gets round to them.
    if ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise Failure("prctl(PR_SET_CHILD_SUBREAPER): errno %d" % ctypes.get_errno())
    children = {}
    for mode in ("guarded", "unguarded"):
        children[mode] = subprocess.Popen(
            ["/usr/bin/python3", os.path.abspath(__file__), "--orphan", mode],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    servers = {}
    try:
        for mode, child in children.items():
            ready, _, _ = select.select([child.stdout], [], [], scaled(60))
            line = child.stdout.readline() if ready else ""
            check(line.startswith("{"), "the %s child said %r (%s)" % (
                mode, line, "running" if child.poll() is None else describe_exit(child.poll())))
            servers[mode] = json.loads(line)
        for mode, child in children.items():
            child.kill()
            code = child.wait(scaled(10))
            check(code == -signal.SIGKILL, "the %s child %s" % (mode, describe_exit(code)))
        guarded, unguarded = servers["guarded"], servers["unguarded"]
        wait_for(lambda: not any(ours(pid, [guarded["base_dir"]]) for pid in guarded["pids"]),
                 30, "the guarded server's processes %s to vanish" % guarded["pids"])
        code = reaped(guarded["pid"])
        check(code == 0 and not os.path.exists(os.path.join(guarded["data_dir"],
                                                            "postmaster.pid")),
              "the guarded server did not shut down: it %s%s" % (
                  describe_exit(code), ", its postmaster.pid left" if os.path.exists(
                      os.path.join(guarded["data_dir"], "postmaster.pid")) else ""))
        print("   a server whose parent was SIGKILLed shut down (%d processes gone)"
              % len(guarded["pids"]))
        # It had as long as the guarded one took to go, and stayed.
        check(postgres.postmaster_pid(unguarded["data_dir"]) == unguarded["pid"],
              "the unguarded server did not survive its parent: the check cannot tell")
        problem = postgres.stop_pid(unguarded["pid"], unguarded["data_dir"])
        check(problem is None, "stopping the unguarded server: %s" % problem)
        code = reaped(unguarded["pid"])
        check(code == 0, "the unguarded server %s on SIGINT" % describe_exit(code))
        print("   one started without the guard outlived its parent; stopped by pid")
    finally:
        for child in children.values():
            if child.poll() is None:
                child.kill()
                child.wait()
            child.stdin.close()
            child.stdout.close()
        for server in servers.values():
            pid = postgres.postmaster_pid(server["data_dir"])
            if pid is not None:
                postgres.stop_pid(pid, server["data_dir"])
            postgres.keep_log(server["base_dir"], "postgres-selftest-orphan")
            shutil.rmtree(server["base_dir"], ignore_errors=True)


def main():
    if sys.argv[1:2] == ["--orphan"]:
        return orphan(sys.argv[2])
    postgres.token_ledger.note_run("e2e_postgres_selftest")
    t0 = time.monotonic()
    scratch = tempfile.mkdtemp(prefix="authsvc-postgres-selftest-")
    try:
        print("== a primary, and a hot standby made from it", flush=True)
        primary_and_standby(scratch)
        print("== a server dies with the process that started it", flush=True)
        parent_death()
    except (Failure, postgres.PostgresError, AssertionError) as e:
        print("FAIL: %s" % e, file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print("OK (%.1f s)" % (time.monotonic() - t0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
