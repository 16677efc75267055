"""The token ledger, Python side: what the end-to-end tests (and the
benchmarks) record and keep for tests/token_leak_check.py, and the search
that check and the database scans share.

Under CTest, $AUTHSVC_TEST_ARTIFACTS names the run's artifacts folder;
without it (a script run by hand) every function here does nothing.

    ARTIFACTS/tokens.txt     one "TOKEN ORIGIN" line per token obtained
    ARTIFACTS/runs.txt       one "cxx NAME" / "e2e NAME" line per test run
    ARTIFACTS/db-scans.txt   one line per database file searched in place
    ARTIFACTS/leaks.txt      what those in-place searches found (must stay empty)
    ARTIFACTS/cxx/..., ARTIFACTS/e2e/...   every other file the tests produced

The C++ side (tests/test_support.cc) writes the same files the same way.
"""

import base64
import hashlib
import itertools
import os
import re
import shutil

ARTIFACTS = os.environ.get("AUTHSVC_TEST_ARTIFACTS") or None

# SQLite's files: not copied (a test may leave tens of MB) but searched in
# place when the test ends.
DATABASE_SUFFIXES = (".db", "-wal", "-shm", "-journal")

_sequence = itertools.count()


def _append(name, line):
    # One os.write on an O_APPEND descriptor: lines written by tests running
    # in parallel interleave whole.
    os.makedirs(ARTIFACTS, exist_ok=True)
    fd = os.open(os.path.join(ARTIFACTS, name), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        data = line.encode()
        if os.write(fd, data) != len(data):
            raise OSError("short write to %s" % name)
    finally:
        os.close(fd)


def note_run(test_name):
    """Says that the CTest test `test_name` ran (the check tells a full run
    from a subset by these)."""
    if ARTIFACTS:
        _append("runs.txt", "e2e %s\n" % test_name)


def record(tokens, origin):
    """Adds issued tokens to the ledger."""
    if not ARTIFACTS:
        return
    for token in tokens:
        if not token or any(c.isspace() for c in token):
            raise ValueError("record: not a token")
        _append("tokens.txt", "%s e2e: %s\n" % (token, origin))


def issuing(args):
    """How a CLI command prints new tokens: 'last_line' (user add, user
    rotate), 'name_token_lines' (user import), or None."""
    args = [a for a in args if a != "--db"]
    if len(args) >= 2 and args[0] == "user":
        if args[1] in ("add", "rotate"):
            return "last_line"
        if args[1] == "import":
            return "name_token_lines"
    return None


def record_and_redact(args, stdout, origin):
    """Records the tokens an issuing command printed where the CLI prints
    them, and returns its stdout with exactly those replaced, so that the
    rest can be searched like any other output."""
    kind = issuing(args)
    if kind is None:
        return stdout
    lines = stdout.splitlines()
    tokens = []
    if kind == "last_line" and lines:
        tokens.append(lines[-1])
        lines[-1] = "<issued token>"
    elif kind == "name_token_lines":
        for i, line in enumerate(lines):
            name, sep, token = line.partition(" ")
            if sep:
                tokens.append(token)
                lines[i] = name + " <issued token>"
    record(tokens, origin)
    return "".join(line + "\n" for line in lines)


def artifact_dir(label):
    """A fresh folder among the artifacts for one test's files, or None."""
    if not ARTIFACTS:
        return None
    path = os.path.join(ARTIFACTS, "e2e", "%s.%d.%d" % (label, os.getpid(), next(_sequence)))
    os.makedirs(path, exist_ok=True)
    return path


def keep_text(folder, name, text):
    if folder:
        with open(os.path.join(folder, name), "a", encoding="utf-8", errors="replace") as f:
            f.write(text)


def keep_tree(source, folder, label, skip=()):
    """Copies the regular files under `source` into `folder`, except SQLite
    files, which are searched in place, and the subfolders named in `skip`."""
    if not folder or not os.path.isdir(source):
        return
    for root, dirs, files in os.walk(source):
        dirs[:] = [d for d in dirs if os.path.relpath(os.path.join(root, d), source) not in skip]
        for name in files:
            path = os.path.join(root, name)
            if not os.path.isfile(path) or os.path.islink(path):
                continue
            if name.endswith(DATABASE_SUFFIXES):
                scan_database(path, label)
                continue
            target = os.path.join(folder, os.path.relpath(path, source))
            os.makedirs(os.path.dirname(target), exist_ok=True)
            shutil.copyfile(path, target)


def ledger_tokens(artifacts=None):
    """[(token, origin)] from the ledger."""
    path = os.path.join(artifacts or ARTIFACTS, "tokens.txt")
    try:
        with open(path) as f:
            return [tuple(line.rstrip("\n").split(" ", 1)) for line in f if line.strip()]
    except FileNotFoundError:
        return []


def scan_database(path, label):
    """Searches a database file for the ledger's tokens and their hashes in
    text form (the raw hash is what the users table holds)."""
    with open(path, "rb") as f:
        data = f.read()
    _append("db-scans.txt", "%d %s: %s\n" % (len(data), label, os.path.basename(path)))
    finder = Finder([t for t, _ in ledger_tokens()], raw_hash=False)
    for form, token, offset in finder.find(data):
        _append("leaks.txt", "database file %s of %s: %s of token %s... at byte %d\n"
                % (os.path.basename(path), label, form, token[:6], offset))


# ---------------------------------------------------------------------------
# The search
# ---------------------------------------------------------------------------

def forms(token, raw_hash=True):
    """[(form, bytes)]: the token and every way its SHA-256 (authsvc's
    hash_token) might be written out. Padded base64 contains the unpadded
    form, so searching the unpadded one finds both."""
    digest = hashlib.sha256(token.encode()).digest()
    out = [("token", token.encode()),
           ("sha256 hex", digest.hex().encode()),
           ("SHA256 HEX", digest.hex().upper().encode()),
           ("sha256 base64", base64.b64encode(digest).rstrip(b"=")),
           ("sha256 base64url", base64.urlsafe_b64encode(digest).rstrip(b"="))]
    if raw_hash:
        out.append(("raw sha256", digest))
    seen, unique = set(), []
    for form, needle in out:
        if needle not in seen:
            seen.add(needle)
            unique.append((form, needle))
    return unique


# Every text form of a token or hash is a run of these characters.
_TEXT_RUN = re.compile(rb"[A-Za-z0-9+/=_-]{32,}")
_PREFIX = 8


class Finder:
    """Searches bytes for many needles (all at least 32 bytes long) at once:
    a dict of 8-byte prefixes, tried at each candidate position. Text is
    only tried inside runs of base64/hex characters, where every text form
    must lie; a file that is not UTF-8 (where a raw hash could hide) is
    tried at every position."""

    def __init__(self, tokens, raw_hash=True):
        self.by_prefix = {}
        for token in tokens:
            for form, needle in forms(token, raw_hash):
                assert len(needle) >= 32
                self.by_prefix.setdefault(needle[:_PREFIX], []).append((form, token, needle))
        self.raw_hash = raw_hash

    def _at(self, data, start, end):
        by_prefix = self.by_prefix
        for i in range(start, end - _PREFIX + 1):
            hits = by_prefix.get(data[i:i + _PREFIX])
            if hits:
                for form, token, needle in hits:
                    if data.startswith(needle, i):
                        yield form, token, i

    def find(self, data):
        """Yields (form, token, offset) for every needle found in `data`."""
        if not self.by_prefix:
            return
        text = True
        if self.raw_hash:
            try:
                data.decode("utf-8")
            except UnicodeDecodeError:
                text = False
        if not text:
            yield from self._at(data, 0, len(data))
            return
        for m in _TEXT_RUN.finditer(data):
            yield from self._at(data, m.start(), m.end())
