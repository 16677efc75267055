"""tests/e2e/smtp_sink.py run in the background, as the end-to-end tests
that read the guardian's mail start and stop it.

    sink = SmtpSink(maildir, err_path).start()   # waits for its port
    sink.port
    sink.stop()                # SIGTERM; raises unless it exited 0

Its exit status is how a test learns that it failed to keep a mail (it
answered 451 and said why on stderr), so stop() checks it.
"""

import os
import select
import subprocess

from authsvc_process import describe_exit, terminate
from timing import scaled

HERE = os.path.dirname(os.path.abspath(__file__))


class SmtpSink:
    def __init__(self, maildir, err_path, preexec_fn=None):
        """maildir: where each received mail becomes a file; err_path: its
        stderr; preexec_fn: as for subprocess.Popen."""
        self.maildir, self.err_path, self.preexec_fn = maildir, err_path, preexec_fn
        self.proc = None
        self.port = None

    def start(self, timeout=10):
        """Starts it and waits up to `timeout` seconds (scaled) for the port
        it prints once it accepts connections; returns self."""
        with open(self.err_path, "w") as err:
            self.proc = subprocess.Popen(
                ["/usr/bin/python3", os.path.join(HERE, "smtp_sink.py"), "--dir", self.maildir],
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err, text=True,
                preexec_fn=self.preexec_fn)
        ready, _, _ = select.select([self.proc.stdout], [], [], scaled(timeout))
        line = self.proc.stdout.readline() if ready else ""
        if not line.strip().isdigit():
            self.stop(expect_exit=None)
            raise AssertionError("smtp_sink did not print its port (%r): %s"
                                 % (line, self._stderr()))
        self.port = int(line)
        return self

    def stop(self, expect_exit=0):
        """SIGTERM; the sink exits 0 unless it failed to handle a mail.
        Raises AssertionError, with its stderr, if the status is not
        `expect_exit` (None: any is). Stopping it again does nothing."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        try:
            code = terminate(proc, 10)
        finally:
            proc.stdout.close()
        if expect_exit is not None and code != expect_exit:
            raise AssertionError("smtp_sink %s: %s" % (
                "ignored SIGTERM" if code is None else describe_exit(code), self._stderr()))

    def _stderr(self):
        try:
            with open(self.err_path, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""
