"""authsvc as the end-to-end tests run it: the real binary, a fresh
database, an audit log file, an ephemeral (or given) port on 127.0.0.1.

    svc = Authsvc(binary, workdir)
    svc.start()                 # waits until it listens
    token = svc.add_user("alice")   # its owner: alice@example.org
    svc.stop()                  # SIGTERM, wait, raise unless it exited 0;
                                # start() again reuses the port
    svc.keep_artifacts()        # under CTest: its logs, for the token leak check

Tokens it prints are recorded in the token ledger (tests/token_ledger.py)
under `label`, and what every command printed is kept, tokens redacted.
"""

import atexit
import os
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import token_ledger  # noqa: E402
from ports import free_port  # noqa: E402,F401  (the suites import it from here)
from timing import scaled, wait_for  # noqa: E402


class AuthsvcError(RuntimeError):
    pass


# Instances whose serve runs, for the safety net at exit (see _stop_leftovers).
_running = set()


def _stop_leftovers():
    """serve runs in a session of its own, so a run that ends without its
    cleanups (Ctrl-C during setUpClass: unittest runs class cleanups on
    exceptions, not on KeyboardInterrupt) would leave it running. Stop it,
    and say so: whatever its exit status held is not checked."""
    for svc in list(_running):
        code = svc.stop(expect_exit=None)
        print("authsvc_process: %s's serve was still running at exit; stopped it (%s)"
              % (svc.label, describe_exit(code)), file=sys.stderr)


atexit.register(_stop_leftovers)


class Authsvc:
    def __init__(self, binary, workdir, serve_args=(), scheme="http", label="authsvc",
                 db=None, db_options=(), init=True):
        """serve_args: more `serve` options, e.g. --tls-cert/--tls-key (then
        scheme="https"); label: names this instance's files in the test
        artifacts. db: the --db of serve and of every command (default:
        authsvc.db in workdir), e.g. a PostgreSQL URI, with db_options
        after it (--db-password-file F); init: run `authsvc init` (a
        database that several nodes share is initialised once)."""
        self.binary = binary
        self.serve_args = list(serve_args)
        self.scheme = scheme
        self.workdir = workdir
        self.label = label
        self.artifacts = token_ledger.artifact_dir(label)
        self.db = db or os.path.join(workdir, "authsvc.db")
        self.db_options = ["--db", self.db] + list(db_options)
        self.audit_log = os.path.join(workdir, "audit.log")
        self.stderr_log = os.path.join(workdir, "serve.err")
        self.port = 0
        self._proc = None
        self._err_offset = 0  # where this start's stderr begins in stderr_log
        if init:
            self.cli("init")

    @property
    def base_url(self):
        return "%s://127.0.0.1:%d" % (self.scheme, self.port)

    def start(self, timeout=10):
        """Start serving; the first start picks a free port, later starts
        reuse it (the broker's configuration names it). `timeout` is
        scaled (tests/e2e/timing.py)."""
        if self._proc is not None:
            raise AuthsvcError("already running")
        err = open(self.stderr_log, "ab")
        offset = self._err_offset = err.tell()
        self._proc = subprocess.Popen(
            [self.binary, "serve"] + self.db_options +
            ["--listen", "127.0.0.1:%d" % self.port, "--audit-log", self.audit_log] +
            self.serve_args,
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
            start_new_session=True)
        _running.add(self)
        err.close()
        deadline = time.monotonic() + scaled(timeout)
        while True:
            with open(self.stderr_log, "rb") as f:
                f.seek(offset)
                text = f.read().decode(errors="replace")
            m = re.search(r"listening on 127\.0\.0\.1:(\d+)", text)
            if m:
                self.port = int(m.group(1))
                return self
            if self._proc.poll() is not None:
                code, self._proc = self._proc.returncode, None
                _running.discard(self)
                raise AuthsvcError("authsvc serve exited at start (%s): %s"
                                   % (describe_exit(code), text))
            if time.monotonic() > deadline:
                self.stop(expect_exit=None)  # we fail anyway, with this reason
                raise AuthsvcError("authsvc serve did not listen within %.0f s"
                                   % scaled(timeout))
            time.sleep(0.02)

    def stop(self, expect_exit=0):
        """SIGTERM, and wait: in-flight requests finish, the audit log is
        flushed. Returns serve's exit status (negative: killed by that
        signal; None if it was not running).

        Raises AuthsvcError, with the end of serve's stderr, if the status
        is not `expect_exit` (None: any status is expected). This is how a
        test run learns that serve crashed, or that a sanitizer build found
        an error or a leak (they report on stderr and exit non-zero): no
        caller has to remember to look at the status."""
        proc, self._proc = self._proc, None
        if proc is None:
            return None
        _running.discard(self)
        code = terminate(proc, 15)
        if code is None:
            raise AuthsvcError("authsvc serve ignored SIGTERM for %.0f s%s"
                               % (scaled(15), self._stderr_tail()))
        if expect_exit is not None and code != expect_exit:
            raise AuthsvcError("authsvc serve %s, expected exit %d%s"
                               % (describe_exit(code), expect_exit, self._stderr_tail()))
        return code

    def kill9(self):
        """SIGKILL, as a crash or a lost host would end serve, and wait.
        Returns its exit status, which stop() no longer checks: the caller
        expects -SIGKILL, and stop() afterwards does nothing."""
        proc, self._proc = self._proc, None
        if proc is None:
            raise AuthsvcError("not running")
        _running.discard(self)
        proc.send_signal(signal.SIGKILL)
        return proc.wait(scaled(10))

    def _stderr_tail(self, lines=60):
        """The end of what the last started serve wrote to stderr."""
        try:
            with open(self.stderr_log, "rb") as f:
                f.seek(self._err_offset)
                text = f.read().decode(errors="replace")
        except OSError as e:
            return " (its stderr: %s)" % e
        return "; the end of its stderr:\n" + "".join(text.splitlines(True)[-lines:])

    @property
    def running(self):
        return self._proc is not None and self._proc.poll() is None

    def cli(self, *args, check=True):
        """Run `authsvc ARGS --db DB` (and db_options); returns stdout. A failure raises with
        the command's stderr, unless check=False (then returns the process)."""
        r = subprocess.run([self.binary] + list(args) + self.db_options,
                           stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           timeout=scaled(30))
        if self.artifacts:
            out = r.stdout
            if r.returncode == 0:
                out = token_ledger.record_and_redact(args, r.stdout, self.label)
            token_ledger.keep_text(self.artifacts, "cli.log", "$ authsvc %s  (exit %d)\n"
                                   "--- stdout\n%s--- stderr\n%s"
                                   % (" ".join(args), r.returncode, out, r.stderr))
        if not check:
            return r
        if r.returncode != 0:
            raise AuthsvcError("authsvc %s: exit %d: %s" % (" ".join(args), r.returncode,
                                                             r.stderr.strip()))
        return r.stdout

    def add_user(self, name, *args):
        """Create a user; returns its token (the last line of stdout).
        Every account has an owner: NAME@example.org unless ARGS give one."""
        if "--owner" not in args and "--email" not in args:
            args = args + ("--owner", name + "@example.org")
        return self.cli("user", "add", name, *args).splitlines()[-1]

    def keep_artifacts(self):
        """Keeps serve's stderr, the audit log and whatever else is in the
        work folder among the test artifacts (the database is searched in
        place). Call it once serve has stopped, before deleting the folder."""
        token_ledger.keep_tree(self.workdir, self.artifacts, self.label)

    def audit_lines(self):
        """The audit log's lines so far, parsed (each is one JSON object)."""
        import json
        with open(self.audit_log) as f:
            return [json.loads(line) for line in f if line.strip()]


def terminate(proc, timeout):
    """SIGTERM to `proc` (a Popen), and wait up to `timeout` seconds
    (scaled) for it to exit. Returns its exit status, or None if it was
    still running then: it is killed, and waited for, instead."""
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(scaled(timeout))
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return None


def stop_checked(proc, name, err_path, timeout):
    """SIGTERM to `proc`, a long-running `authsvc NAME` (guardian, web)
    whose stderr goes to the file `err_path`, and wait up to `timeout`
    seconds (scaled). Raises AssertionError, with that stderr, unless it
    exited 0 and said "authsvc NAME: stopped": a crash, a sanitizer's
    report or a shutdown that skipped its end shows only there."""
    code = terminate(proc, timeout)
    try:
        with open(err_path, errors="replace") as f:
            text = f.read()
    except FileNotFoundError:
        text = ""
    if code != 0:
        raise AssertionError("authsvc %s %s on SIGTERM: %s" % (
            name, "ignored it" if code is None else describe_exit(code), text))
    if "authsvc %s: stopped" % name not in text:
        raise AssertionError("authsvc %s exited 0 without 'authsvc %s: stopped': %s"
                             % (name, name, text))
    print("authsvc %s exited 0 on SIGTERM and said it stopped" % name, flush=True)


def read_log(path):
    """What a child has written to the file `path` so far ("" before it
    made the file), undecodable bytes replaced."""
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""


def wait_for_line(path, pattern, proc, what, timeout=10):
    """The match of `pattern` (compiled) in the file `path`, a child's
    stderr, polled; fails at once if `proc` (a Popen, or None) exits first,
    and with the file's text on timeout."""
    def printed():
        m = pattern.search(read_log(path))
        if not m and proc is not None and proc.poll() is not None:
            raise AssertionError("%s exited at start (%s): %s"
                                 % (what, describe_exit(proc.returncode), read_log(path)))
        return m
    try:
        return wait_for(printed, timeout, "%s to print %r" % (what, pattern.pattern),
                        interval=0.02)
    except AssertionError as e:
        if proc is not None and proc.poll() is not None:
            raise
        raise AssertionError("%s: %s" % (e, read_log(path))) from None


def describe_exit(code):
    """An exit status as Popen gives it, in words."""
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = "signal %d" % -code
        return "was killed by %s" % name
    return "exited %d" % code
