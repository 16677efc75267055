"""TCP ports for the tests' servers (brokers, epmd, authsvc, PostgreSQL).

A port the kernel hands out for bind(0) lies in the ephemeral range, which
every outgoing connection on the machine also draws from: between our
check and the server's bind, a client socket of a parallel test can take
it (CI saw a broker die with `dist_port_already_used`). So ports come from
below that range, where the kernel never picks one on its own, and each is
claimed with a lock file held for the life of the process that took it, so
that two tests running at once never choose the same one.
"""

import errno
import fcntl
import os
import random
import socket
import threading

_LOCK_DIR = "/tmp/authsvc-test-ports"
# rabbitmqctl's own distribution ports (rabbitmq-env:
# RABBITMQ_CTL_DIST_PORT_MIN/MAX with the default 25672 dist port + 10000)
_AVOID = set(range(35672, 35683)) | {4369, 5432, 5671, 5672, 15672, 25672}

_held = {}  # port -> open lock file, kept until the process exits
_lock = threading.Lock()


def _candidates():
    """The range to draw from: below the ephemeral range if it leaves room,
    else above it."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            low, high = (int(x) for x in f.read().split())
    except (OSError, ValueError):
        low, high = 32768, 60999
    if low - 1 - 10000 >= 2000:
        return 10000, low - 1
    if 65535 - (high + 1) >= 2000:
        return high + 1, 65535
    raise RuntimeError("no port range outside the ephemeral range %d-%d" % (low, high))


def _lock_file(port):
    """The open, locked claim on `port`, or None if another process holds it."""
    os.makedirs(_LOCK_DIR, exist_ok=True)
    try:
        os.chmod(_LOCK_DIR, 0o1777)  # tests run as root and as other users
    except PermissionError:
        pass
    try:
        f = open(os.path.join(_LOCK_DIR, "%d.lock" % port), "a")
    except PermissionError:  # another user's claim
        return None
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as e:
        f.close()
        if e.errno in (errno.EWOULDBLOCK, errno.EACCES):
            return None
        raise
    return f


def _bindable(port):
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port():
    """A port on 127.0.0.1 that nothing listens on now and that no other
    test process will be given while this one runs."""
    low, high = _candidates()
    with _lock:
        for _ in range(1000):
            port = random.randint(low, high)
            if port in _AVOID or port in _held:
                continue
            claim = _lock_file(port)
            if claim is None:
                continue
            if not _bindable(port):
                claim.close()
                continue
            _held[port] = claim
            return port
    raise RuntimeError("no free port in %d-%d after 1000 tries" % (low, high))
