#!/usr/bin/python3
"""A private, throw-away PostgreSQL 15 for authsvc's tests: a primary, and
streaming hot standbys made from it. Needs Debian's postgresql-15.

    from postgres import PostgresServer
    with PostgresServer() as pg:              # initdb in a temporary folder, start, wait
        pg.create_database("store")
        pg.uri("store")                       # postgresql://authsvc_test@127.0.0.1:PORT/store
        pg.password_file                      # the password alone (--db-password-file)
        pg.psql("SELECT 1", "store")          # over the unix socket; tcp=True: with the password
        standby = pg.make_standby()           # pg_basebackup -R, started, replaying
        pg.wait_replayed(standby)             # after a write on the primary
        pg.stop()                             # SIGINT, wait, raise unless it exited 0
        standby.promote()
        standby.close()                       # stop, delete its folder

As a CTest fixture, a server that outlives the command (tests/CMakeLists.txt):

    /usr/bin/python3 tests/e2e/postgres.py start --dir DIR --info-file FILE
    /usr/bin/python3 tests/e2e/postgres.py stop --dir DIR

`start` stops a server an earlier run left in DIR, makes a fresh one and
writes FILE (JSON: host, port, user, password_file, pgpass_file,
socket_dir, pid, data_dir, log_file, uri); `stop` stops it by pid and exits
1 unless it stopped cleanly.

Why things are done the way they are:

* PostgreSQL refuses to run as root, and the tests run as root. Then every
  server-side program (initdb, postgres, pg_basebackup, psql over the unix
  socket) runs as `nobody`: Popen switches group, then user, in the child.
  The folder's `data` and `sock` subfolders are nobody's; the folder itself
  stays the caller's (mode 0711, so nobody can pass through but not list
  it), and so do the password files (0600), which only the caller's
  clients read: psql over TCP, and authsvc. Every folder above it must let
  nobody pass: checked first, with a message naming the one that does not.
* initdb takes the password from a file (--pwfile), never the command line;
  that file is nobody's (initdb reads it as nobody: a pipe as /dev/stdin is
  root's, and nobody cannot reopen it) and is deleted once initdb has run.
  No password is printed or logged: clients get it from `password_file`
  (the password alone, as authsvc's --db-password-file wants) or
  `pgpass_file` (for PGPASSFILE).
* Authentication: scram-sha-256 over TCP (127.0.0.1 only, a free port);
  trust on the unix socket, whose folder (0700, nobody's) only nobody and
  root can enter. The socket is not in /var/run/postgresql, which is the
  system cluster's. A socket path is limited to 107 bytes (sun_path): if the
  folder's would be longer, the socket goes to a folder in /tmp named after
  it (see socket_dir_for).
* A standby replicates over its primary's unix socket: pg_basebackup -R
  writes the connection's parameters, a password included, into the
  standby's postgresql.auto.conf, and over the socket there is none.
* postgres runs as our child, not daemonized by pg_ctl: its pid is ours to
  signal and wait for, and its exit status ours to check. Readiness is
  polled with pg_isready over TCP, as clients connect.
* Parent death: PR_SET_PDEATHSIG(SIGQUIT) in the child, after the user
  switch (setuid clears it), then a check that the parent has not already
  died (it could have before the prctl). SIGQUIT is PostgreSQL's immediate
  shutdown: the postmaster stops its children and removes its System V
  shared memory, which SIGKILL would leave behind. Linux sends it when the
  *thread* that forked exits, so it is only asked for from the main thread,
  as in broker.py; the CLI's `start` does not ask for it at all. A
  SIGKILLed test run leaves its folder, which the next PostgresServer
  deletes once no process is left in it.
* stop(): SIGINT is PostgreSQL's fast shutdown (clients disconnected, a
  checkpoint); SIGKILL only if that hangs. kill9() is for fault tests: the
  postmaster dies, its children notice and exit, and start() again recovers
  from the crash in the same folder, on the same port.
* Settings, in postgresql.conf so that a standby copied from it has them:
  fsync off (a killed postgres loses nothing with it: the kernel still has
  the pages; only an OS crash would), wal_level replica, max_wal_senders
  and hot_standby on, so that a standby can be made from any server.
* Under CTest, close() and the CLI's `stop` keep the server's log among the
  test artifacts (tests/token_ledger.py), for the token leak check.
"""

import argparse
import atexit
import ctypes
import hashlib
import itertools
import json
import os
import re
import secrets
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, ".."))
import token_ledger  # noqa: E402
from authsvc_process import describe_exit, free_port  # noqa: E402
from timing import scaled, wait_for  # noqa: E402

BIN = "/usr/lib/postgresql/15/bin"
USER = "authsvc_test"
HOST = "127.0.0.1"
# Whom the server programs run as when we are root.
SERVER_ACCOUNT = "nobody"

_FOLDER_PREFIX = "authsvc-postgres-"
_SUN_PATH_MAX = 107
# What the CLI's `start` deletes in DIR before making a fresh server; only
# these, so that a mistaken --dir loses nothing else.
_OWN_ENTRIES = ("data", "sock", "postgres.log", "initdb.log", "basebackup.log",
                "password", "pgpass", "initdb-password")

SETTINGS = {
    "listen_addresses": "'%s'" % HOST,
    "fsync": "off",
    "wal_level": "replica",
    "max_wal_senders": "10",
    "max_replication_slots": "10",
    "wal_keep_size": "'64MB'",
    "hot_standby": "on",
    "shared_buffers": "'32MB'",
    "logging_collector": "off",
    "log_destination": "'stderr'",
    "log_line_prefix": "'%m [%p] %q%u@%d '",
}


class PostgresError(RuntimeError):
    pass


_libc = ctypes.CDLL(None, use_errno=True)
_PR_SET_PDEATHSIG = 1


def _server_ids():
    """(uid, gid) the server programs must run as, or None when we are not
    root (then they run as we do)."""
    if os.geteuid() != 0:
        return None
    import pwd
    entry = pwd.getpwnam(SERVER_ACCOUNT)
    return entry.pw_uid, entry.pw_gid


def _child_setup(parent, die_with_parent):
    """A preexec_fn: runs in the child after Popen switched user (see the
    module's doc)."""
    def setup():
        if not die_with_parent:
            return
        if _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGQUIT, 0, 0, 0) != 0:
            os._exit(126)
        if os.getppid() != parent:
            os._exit(125)  # orphaned already: nobody would stop this server
    return setup


def _env():
    # A PGHOST, PGPORT, PGPASSWORD... in the caller's environment would
    # point psql elsewhere or override our password file.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["LC_ALL"] = "C"  # error messages in English: checks read them
    return env


def _write_private(path, text, owner=None):
    """Writes a new file only its owner (we, or owner=(uid, gid)) may read."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        if owner:
            os.fchown(fd, *owner)
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def _tail(path, lines=40):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError as e:
        return "(%s)\n" % e


def _alive(pid):
    """Whether `pid` runs (a zombie does not: nobody may be left to reap it)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def _children(pid):
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open("/proc/%s/stat" % entry) as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        found.append(int(entry))
            except (OSError, IndexError, ValueError):
                pass
    return found


def pids_in(folder):
    """Pids of running processes whose working directory is `folder` or
    below: a postmaster and all its children work in their data folder."""
    folder = os.path.realpath(folder)
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cwd = os.readlink("/proc/%s/cwd" % entry)
        except OSError:
            continue
        cwd = cwd[:-len(" (deleted)")] if cwd.endswith(" (deleted)") else cwd
        if (cwd == folder or cwd.startswith(folder + "/")) and _alive(int(entry)):
            found.append(int(entry))
    return found


def postmaster_pid(data_dir):
    """The pid in `data_dir`'s postmaster.pid if that process runs and is
    the postmaster of that folder (its working directory), else None."""
    try:
        with open(os.path.join(data_dir, "postmaster.pid")) as f:
            pid = int(f.readline())
    except (OSError, ValueError):
        return None
    try:
        cwd = os.readlink("/proc/%d/cwd" % pid)
    except OSError:
        return None
    if cwd != os.path.realpath(data_dir) or not _alive(pid):
        return None
    return pid


def socket_dir_for(base_dir):
    """The unix socket's folder for a server in `base_dir`: its `sock`,
    unless the socket's path would be too long (sun_path), then one in the
    temporary folder named after base_dir, so that the CLI's stop finds it."""
    inside = os.path.join(base_dir, "sock")
    if len(os.path.join(inside, ".s.PGSQL.65535")) <= _SUN_PATH_MAX:
        return inside
    digest = hashlib.sha256(base_dir.encode()).hexdigest()[:16]
    return os.path.join(tempfile.gettempdir(), "%ssock-%s" % (_FOLDER_PREFIX, digest))


def _remove_stale_shm(data_dir):
    """A postmaster that was SIGKILLed leaves its System V segment (named on
    postmaster.pid's 7th line); a restart in the same folder would remove
    it, a deleted folder never. Removed if nothing is attached."""
    try:
        with open(os.path.join(data_dir, "postmaster.pid")) as f:
            shmid = int(f.read().splitlines()[6].split()[1])
        with open("/proc/sysvipc/shm") as f:
            rows = [line.split() for line in f.readlines()[1:]]
    except (OSError, IndexError, ValueError):
        return
    for row in rows:
        # key shmid perms size cpid lpid nattch ...
        if int(row[1]) == shmid and int(row[6]) == 0:
            subprocess.run(["ipcrm", "-m", str(shmid)], check=True,
                           stdin=subprocess.DEVNULL, capture_output=True)


def _remove_stale_folders():
    """Deletes folders of test runs that died without their cleanup (a
    SIGKILL): the pid in the name is gone and nothing runs in the folder."""
    tmp = tempfile.gettempdir()
    for name in os.listdir(tmp):
        m = re.match(re.escape(_FOLDER_PREFIX) + r"(\d+)-", name)
        if not m or os.path.exists("/proc/" + m.group(1)):
            continue
        path = os.path.join(tmp, name)
        if not pids_in(path):
            _remove_stale_shm(os.path.join(path, "data"))
            shutil.rmtree(path, ignore_errors=True)


def _check_reachable(path, ids):
    """Raises unless the account `ids` (uid, gid) can pass through every
    folder above `path`, and `path` itself."""
    uid, gid = ids
    path = os.path.realpath(path)
    parts = path.split("/")
    for i in range(1, len(parts) + 1):
        folder = "/".join(parts[:i]) or "/"
        st = os.stat(folder)
        if st.st_uid == uid:
            ok = st.st_mode & stat.S_IXUSR
        elif st.st_gid == gid:
            ok = st.st_mode & stat.S_IXGRP
        else:
            ok = st.st_mode & stat.S_IXOTH
        if not ok:
            raise PostgresError(
                "PostgreSQL runs as %s (it refuses root), which cannot pass through %s "
                "(mode %o): choose a folder it can reach" % (SERVER_ACCOUNT, folder,
                                                              stat.S_IMODE(st.st_mode)))


# Servers running, for the safety net at exit.
_live = set()
_live_lock = threading.Lock()


def _stop_leftovers():
    with _live_lock:
        servers = list(_live)
    for server in servers:
        try:
            server.close()
        except Exception as e:  # keep stopping the others
            print("postgres.py: stopping %s at exit: %s" % (server.data_dir, e),
                  file=sys.stderr)
        else:
            print("postgres.py: %s was still running at exit; stopped it"
                  % server.data_dir, file=sys.stderr)


atexit.register(_stop_leftovers)


class PostgresServer:
    """One PostgreSQL server in a folder of its own.

    base_dir: the folder (made if missing); by default a temporary one that
        close() deletes. A given folder is kept.
    die_with_parent: the server dies with this process even if it is
        SIGKILLed (see the module's doc); only from the main thread.
    settings: more postgresql.conf settings, {name: value as written there}.

    Attributes: host, port, user, base_dir, data_dir, socket_dir, log_file,
    password_file, pgpass_file, pid (None when not running), initdb_seconds
    and start_seconds (the last start, until it accepted connections).
    """

    _counter = itertools.count(1)

    def __init__(self, base_dir=None, die_with_parent=True, settings=None, label="postgres"):
        self._ids = _server_ids()
        self.die_with_parent = die_with_parent
        self.settings = dict(SETTINGS, **(settings or {}))
        self.label = label
        self.host, self.user = HOST, USER
        self.port = None
        self._proc = None
        self._made = False  # initdb (or pg_basebackup) has run
        self._password = None
        self.initdb_seconds = self.start_seconds = None
        self.cluster_name = "authsvc-test-%d-%d" % (os.getpid(), next(PostgresServer._counter))
        self._temporary = base_dir is None
        if self._temporary:
            _remove_stale_folders()
            base_dir = tempfile.mkdtemp(prefix="%s%d-" % (_FOLDER_PREFIX, os.getpid()))
        else:
            os.makedirs(base_dir, exist_ok=True)
        self.base_dir = os.path.realpath(base_dir)
        os.chmod(self.base_dir, 0o711)
        self.data_dir = os.path.join(self.base_dir, "data")
        self.log_file = os.path.join(self.base_dir, "postgres.log")
        self.password_file = os.path.join(self.base_dir, "password")
        self.pgpass_file = os.path.join(self.base_dir, "pgpass")
        self.socket_dir = socket_dir_for(self.base_dir)
        if self._ids:
            try:
                _check_reachable(self.base_dir, self._ids)
            except PostgresError:
                if self._temporary:
                    shutil.rmtree(self.base_dir)
                raise

    def __repr__(self):
        return "PostgresServer(%s, port %s)" % (self.base_dir, self.port)

    # -- paths and addresses -------------------------------------------------

    def uri(self, database="postgres"):
        """A libpq URI for `database`, without the password (password_file
        or pgpass_file has it)."""
        return "postgresql://%s@%s:%d/%s" % (self.user, self.host, self.port, database)

    @property
    def pid(self):
        return self._proc.pid if self._proc is not None else None

    @property
    def running(self):
        return self._proc is not None and self._proc.poll() is None

    def info(self):
        """What the CLI's --info-file holds."""
        return {"host": self.host, "port": self.port, "user": self.user,
                "password_file": self.password_file, "pgpass_file": self.pgpass_file,
                "socket_dir": self.socket_dir, "pid": self.pid, "data_dir": self.data_dir,
                "log_file": self.log_file, "uri": self.uri()}

    def log_tail(self, lines=40):
        return _tail(self.log_file, lines)

    # -- running programs ----------------------------------------------------

    def _popen_args(self):
        args = {"env": _env(), "cwd": self.base_dir, "stdin": subprocess.DEVNULL,
                "preexec_fn": _child_setup(os.getpid(), self._guarded())}
        if self._ids:
            args.update(user=self._ids[0], group=self._ids[1], extra_groups=[])
        return args

    def _guarded(self):
        return self.die_with_parent and threading.current_thread() is threading.main_thread()

    def _run_tool(self, argv, log_name, timeout=60):
        """Runs a PostgreSQL program as the server's account; its output
        goes to the file `log_name` in the folder, whose end a failure
        shows."""
        log = os.path.join(self.base_dir, log_name)
        with open(log, "ab") as out:
            try:
                r = subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT,
                                   timeout=scaled(timeout), **self._popen_args())
            except subprocess.TimeoutExpired:
                raise PostgresError("%s did not finish within %.0f s: %s"
                                    % (os.path.basename(argv[0]), scaled(timeout), _tail(log)))
        if r.returncode != 0:
            raise PostgresError("%s %s: %s" % (os.path.basename(argv[0]),
                                               describe_exit(r.returncode), _tail(log)))

    def _own_folder(self, path):
        os.mkdir(path, 0o700)
        if self._ids:
            os.chown(path, *self._ids)

    def _prepare(self):
        """The data and socket folders, the password and pgpass files."""
        self._own_folder(self.data_dir)
        if not self.socket_dir.startswith(self.base_dir + "/"):
            shutil.rmtree(self.socket_dir, ignore_errors=True)  # an earlier run's
        self._own_folder(self.socket_dir)
        if self.port is None:
            self.port = free_port()
        _write_private(self.password_file, self._password + "\n")
        self._write_pgpass(self.pgpass_file, self._password)

    def _write_pgpass(self, path, password):
        _write_private(path, "%s:%d:*:%s:%s\n" % (self.host, self.port, self.user, password))

    def write_pgpass(self, path, password):
        """A pgpass file for this server with some other password (to check
        that a wrong one is refused)."""
        self._write_pgpass(path, password)

    def initdb(self):
        """Makes the cluster (start() does, if it was not made)."""
        if self._made:
            raise PostgresError("%s holds a cluster already" % self.data_dir)
        t0 = time.monotonic()
        # Hex: nothing a pgpass line or a URI would need to escape.
        self._password = secrets.token_hex(24)
        self._prepare()
        pwfile = os.path.join(self.base_dir, "initdb-password")
        _write_private(pwfile, self._password + "\n", owner=self._ids)
        try:
            self._run_tool([os.path.join(BIN, "initdb"), "-D", self.data_dir, "-U", self.user,
                            "--pwfile=" + pwfile, "--auth-host=scram-sha-256",
                            "--auth-local=trust", "--encoding=UTF8", "--locale=C",
                            "--no-sync", "--no-instructions"], "initdb.log")
        finally:
            os.unlink(pwfile)
        self._append_settings()
        self._made = True
        self.initdb_seconds = time.monotonic() - t0

    def _append_settings(self):
        conf = os.path.join(self.data_dir, "postgresql.conf")
        with open(conf, "a") as f:
            f.write("\n# ---- tests/e2e/postgres.py ----\n")
            for name, value in self.settings.items():
                f.write("%s = %s\n" % (name, value))

    # -- lifecycle -----------------------------------------------------------

    def __enter__(self):
        if not self.running:
            self.start()
        return self

    def __exit__(self, *exc):
        self.close()

    def start(self, timeout=60):
        """Makes the cluster if needed, starts postgres and waits until it
        accepts connections over TCP; returns self. A restart keeps the
        port. `timeout` is scaled (tests/e2e/timing.py)."""
        if self._proc is not None:
            raise PostgresError("already running")
        if not self._made:
            self.initdb()
        first = self.start_seconds is None
        for attempt in itertools.count(1):
            try:
                self._start(timeout)
                return self
            except PostgresError as e:
                # Another process can take the free port before we bind it.
                if not (first and attempt < 3 and "could not bind" in str(e)):
                    raise
                self.port = free_port()
                os.unlink(self.pgpass_file)
                self._write_pgpass(self.pgpass_file, self._password)

    def _start(self, timeout):
        t0 = time.monotonic()
        offset = os.path.getsize(self.log_file) if os.path.exists(self.log_file) else 0
        with open(self.log_file, "ab") as log:
            self._proc = subprocess.Popen(
                [os.path.join(BIN, "postgres"), "-D", self.data_dir, "-p", str(self.port),
                 "-k", self.socket_dir, "-c", "cluster_name=" + self.cluster_name],
                stdout=log, stderr=subprocess.STDOUT,
                # Our own session: a Ctrl-C at the terminal must not shut
                # it down behind stop()'s back.
                start_new_session=True, **self._popen_args())
        with _live_lock:
            _live.add(self)

        def accepting():
            if self._proc.poll() is not None:
                proc, self._proc = self._proc, None
                with open(self.log_file, errors="replace") as f:
                    f.seek(offset)
                    text = f.read()
                raise PostgresError("postgres %s at start: %s"
                                    % (describe_exit(proc.returncode), text[-4000:]))
            return self._isready()
        try:
            wait_for(accepting, timeout, "postgres on port %d to accept connections" % self.port,
                     interval=0.05)
        except AssertionError as e:
            self.stop(check=False)
            raise PostgresError("%s: %s" % (e, self.log_tail()))
        self.start_seconds = time.monotonic() - t0

    def _isready(self):
        # Exit 0: accepting; 1: up but refusing (starting); 2: no answer.
        try:
            r = subprocess.run([os.path.join(BIN, "pg_isready"), "-q", "-h", self.host,
                                "-p", str(self.port), "-U", self.user, "-d", "postgres",
                                "-t", "5"],
                               env=_env(), stdin=subprocess.DEVNULL, capture_output=True,
                               timeout=scaled(30))
        except subprocess.TimeoutExpired:
            return False
        if r.returncode not in (0, 1, 2):
            raise PostgresError("pg_isready exited %d: %s" % (r.returncode, r.stderr.strip()))
        return r.returncode == 0

    def stop(self, timeout=30, check=True):
        """SIGINT (fast shutdown), and wait up to `timeout` s (scaled); then
        SIGKILL. Returns the exit status (None if it was not running).
        Raises PostgresError, with the log's end, unless it exited 0 on
        SIGINT (check=False: whatever happened), or if any of its processes
        is left."""
        proc, self._proc = self._proc, None
        if proc is None:
            return None
        try:
            hung = False
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
                try:
                    proc.wait(scaled(timeout))
                except subprocess.TimeoutExpired:
                    hung = True
                    proc.kill()
                    proc.wait()
            self._await_children(proc.pid)
            code = proc.returncode
            if check and (hung or code != 0):
                raise PostgresError("postgres %s%s: %s" % (
                    describe_exit(code),
                    " after ignoring SIGINT for %.0f s" % scaled(timeout) if hung
                    else " before or on SIGINT", self.log_tail()))
            return code
        finally:
            with _live_lock:
                _live.discard(self)

    def kill9(self):
        """SIGKILL to the postmaster (a crash, for fault tests); returns
        once it and every child of it is gone. start() recovers."""
        proc, self._proc = self._proc, None
        if proc is None:
            raise PostgresError("not running")
        try:
            proc.kill()
            proc.wait(scaled(10))
            self._await_children(proc.pid)
        finally:
            with _live_lock:
                _live.discard(self)

    def _await_children(self, pid):
        # After a SIGKILL to the postmaster its children exit on their own
        # (they watch it); after a shutdown there are none.
        try:
            wait_for(lambda: not pids_in(self.data_dir), 15,
                     "the processes of postgres %d to exit" % pid)
        except AssertionError as e:
            raise PostgresError("%s: %s left" % (e, pids_in(self.data_dir)))

    def server_pids(self):
        """The postmaster's pid and its children's (empty if not running)."""
        if not self.running:
            return []
        return [self._proc.pid] + _children(self._proc.pid)

    def close(self):
        """stop(), then keep the log among the test artifacts and delete a
        temporary folder. Idempotent."""
        try:
            self.stop()
        finally:
            if os.path.isdir(self.base_dir):
                _remove_stale_shm(self.data_dir)
                keep_log(self.base_dir, self.label)
                if self._temporary:
                    shutil.rmtree(self.base_dir, ignore_errors=True)
            if not self.socket_dir.startswith(self.base_dir + "/"):
                shutil.rmtree(self.socket_dir, ignore_errors=True)

    def detach(self):
        """Leaves the server running when this process exits (the CLI's
        start): no safety net at exit stops it."""
        with _live_lock:
            _live.discard(self)
        self._proc = None

    # -- SQL -----------------------------------------------------------------

    def psql(self, sql, database="postgres", tcp=False, passfile=None, check=True, timeout=30):
        """Runs the SQL script `sql` with psql, each statement in turn, and
        returns what it printed (rows unaligned, `|` between columns,
        without headers), stripped. Over the unix socket as the server's
        account; tcp=True: over TCP as we are, with the password from
        `passfile` (default pgpass_file). check=False returns the
        CompletedProcess instead of raising on a failure."""
        argv = [os.path.join(BIN, "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                "-w", "-U", self.user, "-d", database, "-p", str(self.port), "-f", "-"]
        if tcp:
            env = _env()
            env["PGPASSFILE"] = passfile or self.pgpass_file
            args = {"env": env}
            argv += ["-h", self.host]
        else:
            args = self._popen_args()
            del args["stdin"]  # input= below
            argv += ["-h", self.socket_dir]
        try:
            r = subprocess.run(argv, input=sql, capture_output=True, text=True,
                               timeout=scaled(timeout), **args)
        except subprocess.TimeoutExpired:
            raise PostgresError("psql on %s (%s) did not finish within %.0f s"
                                % (database, "TCP" if tcp else "socket", scaled(timeout)))
        if not check:
            return r
        if r.returncode != 0:
            raise PostgresError("psql on %s (%s) exited %d: %s" % (
                database, "TCP" if tcp else "socket", r.returncode, r.stderr.strip()))
        return r.stdout.strip()

    def create_database(self, name):
        """CREATE DATABASE name; returns name."""
        if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
            raise ValueError("database name %r: lower case letters, digits, _" % name)
        self.psql('CREATE DATABASE "%s"' % name)
        return name

    def is_in_recovery(self):
        return self.psql("SELECT pg_is_in_recovery()") == "t"

    # -- replication ---------------------------------------------------------

    def make_standby(self, timeout=60, label=None):
        """A streaming hot standby of this server: a new PostgresServer (its
        own temporary folder and free port) made with pg_basebackup -R,
        started, and returned once the primary streams to it and it has
        replayed all the primary had written."""
        if not self.running:
            raise PostgresError("the primary is not running")
        standby = PostgresServer(die_with_parent=self.die_with_parent,
                                 label=label or self.label + "-standby")
        try:
            standby._password = self._password
            standby._prepare()
            standby._run_tool(
                [os.path.join(BIN, "pg_basebackup"), "-D", standby.data_dir, "-R",
                 "-X", "stream", "-c", "fast", "--no-sync", "-w",
                 "-h", self.socket_dir, "-p", str(self.port), "-U", self.user],
                "basebackup.log", timeout)
            standby._made = True
            standby.start(timeout)
            wait_for(standby.is_in_recovery, timeout, "the standby to be in recovery")
            wait_for(lambda: self.psql(
                "SELECT count(*) FROM pg_stat_replication WHERE application_name = '%s' "
                "AND state = 'streaming'" % standby.cluster_name) == "1",
                timeout, "the primary to stream to %s" % standby.cluster_name)
            self.wait_replayed(standby, timeout)
        except BaseException:
            standby.close()
            raise
        return standby

    def wait_replayed(self, standby, timeout=30):
        """Waits until `standby` has replayed everything written here so far."""
        lsn = self.psql("SELECT pg_current_wal_lsn()")
        wait_for(lambda: standby.psql("SELECT pg_last_wal_replay_lsn() >= '%s'" % lsn) == "t",
                 timeout, "the standby on port %d to replay up to %s" % (standby.port, lsn))

    def promote(self, timeout=30):
        """Promotes a standby, and waits until it is out of recovery."""
        if self.psql("SELECT pg_promote(true, %d)" % max(1, int(scaled(timeout)))) != "t":
            raise PostgresError("pg_promote() did not promote within %.0f s: %s"
                                % (scaled(timeout), self.log_tail()))
        wait_for(lambda: not self.is_in_recovery(), timeout,
                 "the server on port %d to leave recovery" % self.port)


def keep_log(base_dir, label):
    """Under CTest, keeps the server's logs among the test artifacts."""
    folder = token_ledger.artifact_dir(label)
    if not folder:
        return
    for name in ("postgres.log", "initdb.log", "basebackup.log"):
        path = os.path.join(base_dir, name)
        if os.path.isfile(path):
            shutil.copyfile(path, os.path.join(folder, name))


def stop_pid(pid, data_dir, timeout=30):
    """Stops a postmaster that is not our child (the CLI's, or one whose
    parent died), so that its exit status is not ours to see: SIGINT,
    polled until it and its children are gone, then SIGKILL. Returns None
    if it shut down cleanly (which deletes postmaster.pid), else what went
    wrong; raises PostgresError if even SIGKILL left a process."""
    os.kill(pid, signal.SIGINT)
    try:
        wait_for(lambda: not _alive(pid) and not pids_in(data_dir), timeout,
                 "postgres %d to stop on SIGINT" % pid)
        if os.path.exists(os.path.join(data_dir, "postmaster.pid")):
            return "postgres %d exited on SIGINT without a clean shutdown" % pid
        return None
    except AssertionError:
        pass
    for left in [pid] + pids_in(data_dir):
        try:
            os.kill(left, signal.SIGKILL)
        except ProcessLookupError:
            pass
    try:
        wait_for(lambda: not _alive(pid) and not pids_in(data_dir), 10,
                 "postgres %d to die of SIGKILL" % pid)
    except AssertionError as e:
        raise PostgresError("%s: %s left" % (e, [pid] + pids_in(data_dir)))
    return "postgres %d ignored SIGINT for %.0f s and was killed" % (pid, scaled(timeout))


# ---------------------------------------------------------------------------
# The CLI, for a CTest fixture
# ---------------------------------------------------------------------------

def _cli_stop(folder, leftover):
    """Stops the server in `folder`; returns a problem in words, or None.
    `leftover`: stopping what an earlier run left, where a crashed server
    is not this run's problem."""
    data_dir = os.path.join(folder, "data")
    pid = postmaster_pid(data_dir)
    if pid is None:
        if not os.path.exists(os.path.join(data_dir, "postmaster.pid")):
            print("postgres.py: no server running in %s" % folder)
            return None
        # A clean shutdown deletes postmaster.pid. Children of a postmaster
        # that died exit on their own, soon.
        for left in pids_in(data_dir):
            stop_pid(left, data_dir, timeout=5)
        _remove_stale_shm(data_dir)
        if leftover:
            return None
        return ("the server in %s was gone before stop, without a clean shutdown; the end of "
                "its log:\n%s" % (folder, _tail(os.path.join(folder, "postgres.log"))))
    t0 = time.monotonic()
    problem = stop_pid(pid, data_dir)
    if problem is None:
        print("postgres.py: stopped postgres %d in %s (%.2f s)" % (pid, folder,
                                                                  time.monotonic() - t0))
        return None
    _remove_stale_shm(data_dir)
    return "%s (in %s); the end of its log:\n%s" % (
        problem, folder, _tail(os.path.join(folder, "postgres.log")))


def main(argv=None):
    p = argparse.ArgumentParser(description="A test PostgreSQL that outlives this command.")
    sub = p.add_subparsers(dest="command", required=True)
    start = sub.add_parser("start", help="stop what an earlier run left in DIR, make and start "
                                         "a fresh server there, write its info file")
    start.add_argument("--dir", required=True)
    start.add_argument("--info-file", required=True)
    stop = sub.add_parser("stop", help="stop the server in DIR by pid")
    stop.add_argument("--dir", required=True)
    args = p.parse_args(argv)
    folder = os.path.realpath(args.dir)

    if args.command == "stop":
        problem = _cli_stop(folder, leftover=False)
        keep_log(folder, "postgres-fixture")
        sock = socket_dir_for(folder)
        if not sock.startswith(folder + "/"):
            shutil.rmtree(sock, ignore_errors=True)
        if problem:
            print("postgres.py: " + problem, file=sys.stderr)
            return 1
        return 0

    _cli_stop(folder, leftover=True)
    info_file = os.path.realpath(args.info_file)
    for name in _OWN_ENTRIES:
        path = os.path.join(folder, name)
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        elif os.path.lexists(path):
            os.unlink(path)
    if os.path.lexists(info_file):
        os.unlink(info_file)
    server = PostgresServer(folder, die_with_parent=False, label="postgres-fixture")
    server.start()
    info = server.info()
    server.detach()
    tmp = info_file + ".tmp"
    with open(tmp, "w") as f:
        json.dump(info, f, indent=2)
        f.write("\n")
    os.rename(tmp, info_file)
    print("postgres.py: postgres %d on %s:%d in %s (initdb %.2f s, ready %.2f s later); "
          "info in %s" % (info["pid"], HOST, info["port"], folder, server.initdb_seconds,
                          server.start_seconds, info_file))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except PostgresError as e:
        print("postgres.py: %s" % e, file=sys.stderr)
        sys.exit(1)
