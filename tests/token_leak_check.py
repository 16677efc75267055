#!/usr/bin/python3
"""The token leak check: no token the test suite issued, nor its SHA-256 in
any form, appears in anything the suite produced.

    token_leak_check.py --reset ARTIFACTS        (CTest fixture setup: empty it)
    token_leak_check.py ARTIFACTS --unit-tests BIN,BIN,... --e2e-tests a,b,...
                        [--ctest-log Testing/Temporary/LastTest.log.tmp]
                                                 (CTest fixture cleanup: the check)

Tests record every token they obtain (the stdout of `user add`, `user
rotate` and `user import`, where the CLI prints a token, or the return of
Store::add_user and friends) in ARTIFACTS/tokens.txt, and keep every file
they produce under ARTIFACTS: serve's stderr and stdout, audit logs, what
every CLI command printed (tokens redacted where the CLI prints them, and
only there), the brokers' logs and Mnesia, the recording proxy's records.
Databases are searched in place when a test ends; hits land in
ARTIFACTS/leaks.txt. See tests/token_ledger.py for the layout.

This check searches all of it, and CTest's own log (every test's output;
while CTest runs, its log of this run is LastTest.log.tmp: LastTest.log is
the previous run's), for each token and its hash as hex, HEX, base64, base64url and raw bytes.
It fails on any hit (naming the file and the token's first 6 characters,
never the token), on a non-empty leaks.txt, and on a search that cannot
find a planted token (a self-test runs first).

Full run or subset: CTest adds this check to any selection of tests (-R,
as scripts/sanitize.sh does), so it cannot insist on a fixed set of logs.
When every unit test and every end-to-end test ran, it insists on tokens
from both, and on at least one file of each kind (audit log, serve stderr,
CLI output, broker log, proxy records, database searched); on a subset it
reports the counts and checks what is there. A subset in which no test
issued a token passes with nothing to look for, except that every
end-to-end Pulse run that ran must have recorded tokens.

A unit test that should have run and did not fails the check: one whose
CTest entry ran (CTest's log names it) but which never started, and, when
every other CTest entry ran, one that has no CTest entry (a name CTest's
discovery mangles). Without CTest's log, all but at most 10 unit tests
having run, and every end-to-end test, stands for such a run.
"""

import argparse
import base64
import collections
import hashlib
import os
import secrets
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import token_ledger  # noqa: E402

BOOKKEEPING = ("tokens.txt", "runs.txt", "db-scans.txt", "leaks.txt")
FULL_RUN_MINIMUM = ("audit log", "serve stderr", "CLI output", "broker log", "proxy records")


def kind_of(rel):
    parts = rel.split(os.sep)
    name = parts[-1]
    if parts[0] == "e2e" and len(parts) > 1 and parts[1].startswith("broker-"):
        return "broker log" if "log" in parts[2:-1] else "broker other"
    if name == "serve.err":
        return "serve stderr"
    if name == "serve.out":
        return "serve stdout"
    if name.startswith("audit") and name.endswith(".log"):
        return "audit log"
    if name == "cli.log":
        return "CLI output"
    if name == "proxy-records.jsonl":
        return "proxy records"
    return "other"


def files_under(root):
    """[(relative path, path)] of the artifacts, bookkeeping excluded."""
    out = []
    for folder, _dirs, files in os.walk(root):
        for name in files:
            path = os.path.join(folder, name)
            rel = os.path.relpath(path, root)
            if rel not in BOOKKEEPING and os.path.isfile(path):
                out.append((rel, path))
    return sorted(out)


def search(files, finder):
    """[(rel, form, token, offset)] for every hit; and the bytes searched."""
    hits, searched = [], 0
    for rel, path in files:
        with open(path, "rb") as f:
            data = f.read()
        searched += len(data)
        hits += [(rel, form, token, offset) for form, token, offset in finder.find(data)]
    return hits, searched


def self_test():
    """Plants a token and each of its hash's forms in a scratch folder; the
    search must find each in its file and nothing in a clean one."""
    token = base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()
    digest = hashlib.sha256(token.encode()).digest()
    planted = {
        "token": b"login alice password=" + token.encode() + b"&vhost=/\n",
        "sha256 hex": b'{"h":"' + digest.hex().encode() + b'"}\n',
        "SHA256 HEX": b"hash " + digest.hex().upper().encode() + b"\n",
        "sha256 base64": b"b64 " + base64.b64encode(digest) + b"\n",
        "sha256 base64url": b"x" + base64.urlsafe_b64encode(digest) + b"x\n",
        "raw sha256": b"\xff\x00binary" + digest + b"\x00\n",
    }
    scratch = tempfile.mkdtemp(prefix="token-leak-selftest-")
    try:
        files = []
        for i, (form, data) in enumerate(planted.items()):
            path = os.path.join(scratch, "planted-%d" % i)
            with open(path, "wb") as f:
                f.write(data)
            files.append((form, path))
        clean = os.path.join(scratch, "clean")
        with open(clean, "wb") as f:
            f.write(b"alice " + token[:20].encode() + b" nothing whole\n" + digest[:16])
        files.append(("clean", clean))
        finder = token_ledger.Finder([token, "an-unrelated-token-of-43-characters-abcdefg"])
        hits, _ = search(files, finder)
        found = {(rel, form) for rel, form, _, _ in hits}
        expected = {(form, form) for form in planted}
        # A forms() dedup may fold base64url into base64 when they coincide.
        if base64.b64encode(digest) == base64.urlsafe_b64encode(digest):
            expected = {(rel, "sha256 base64" if f == "sha256 base64url" else f)
                        for rel, f in expected}
        if found != expected:
            raise SystemExit("token_leak_check: SELF-TEST FAILED: planted %s, found %s"
                             % (sorted(expected), sorted(found)))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def unit_test_names(binary):
    out = subprocess.run([binary, "--list-test-cases", "--no-version"], capture_output=True,
                         text=True, check=True).stdout
    return {line for line in out.splitlines()
            if line and not line.startswith("[doctest]") and not line.startswith("====")}


def ctest_log_tests(path):
    """The tests CTest's log says ran ("K/N Testing: NAME" lines, written as
    each ends) as {name}, the set of their numbers K, and N, CTest's count."""
    names, numbers, total = set(), set(), 0
    with open(path, errors="replace") as f:
        for line in f:
            head, sep, name = line.rstrip("\n").partition(" Testing: ")
            number, slash, count = head.partition("/")
            if sep and slash and number.isdigit() and count.isdigit():
                names.add(name)
                numbers.add(int(number))
                total = int(count)
    return names, numbers, total


def read_lines(path):
    try:
        with open(path, errors="replace") as f:
            return [line.rstrip("\n") for line in f if line.strip()]
    except FileNotFoundError:
        return []


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("artifacts", nargs="?")
    p.add_argument("--reset", metavar="ARTIFACTS")
    p.add_argument("--unit-tests", default="",
                   help="comma list of the doctest binaries, to list every unit test")
    p.add_argument("--e2e-tests", default="", help="comma list of the end-to-end CTest names")
    p.add_argument("--ctest-log", help="CTest's log of this run, searched too if present")
    args = p.parse_args()
    if args.reset:
        shutil.rmtree(args.reset, ignore_errors=True)
        os.makedirs(args.reset)
        return 0
    if not args.artifacts:
        p.error("ARTIFACTS is required")
    root = args.artifacts
    problems = []

    self_test()

    ledger = token_ledger.ledger_tokens(root)
    origin = {}
    for token, where in ledger:
        origin.setdefault(token, where)
    from_cxx = sum(1 for where in origin.values() if where.startswith("cxx"))
    from_e2e = len(origin) - from_cxx

    runs = read_lines(os.path.join(root, "runs.txt"))
    ran_cxx = {r[4:] for r in runs if r.startswith("cxx ")}
    ran_e2e = {r[4:] for r in runs if r.startswith("e2e ")}
    expected_e2e = {t for t in args.e2e_tests.split(",") if t}
    expected_cxx = set()
    for binary in (b for b in args.unit_tests.split(",") if b):
        expected_cxx |= unit_test_names(binary)
    full = bool(expected_cxx) and expected_cxx <= ran_cxx and expected_e2e <= ran_e2e
    # CTest's discovery cuts a name at ';' into two tests that run nothing:
    # such a test never runs under CTest, and nothing else would say so.
    for name in sorted(n for n in expected_cxx if ";" in n):
        problems.append("unit test name with ';' (CTest never runs it): %s" % name)

    files = files_under(root)
    ctest_log = None
    if args.ctest_log:
        if os.path.isfile(args.ctest_log):
            ctest_log = args.ctest_log
            files.append(("ctest log: " + os.path.basename(args.ctest_log), args.ctest_log))
        else:
            problems.append("CTest's log %s is missing: is this not run by CTest?"
                            % args.ctest_log)
    kinds = collections.Counter(
        "ctest log" if rel.startswith("ctest log: ") else kind_of(rel) for rel, _ in files)
    db_scans = read_lines(os.path.join(root, "db-scans.txt"))
    db_bytes = sum(int(line.split(" ", 1)[0]) for line in db_scans)

    hits, searched = search(files, token_ledger.Finder(list(origin)))
    for rel, form, token, offset in hits:
        problems.append("%s: %s of token %s... (issued in %s) at byte %d"
                        % (rel, form, token[:6], origin[token], offset))
    for line in read_lines(os.path.join(root, "leaks.txt")):
        problems.append(line)

    for run in sorted(ran_e2e):
        if run.startswith("e2e_pulse_") and not any(
                where == "e2e: pulse-" + run[len("e2e_pulse_"):] for where in origin.values()):
            problems.append("%s ran but recorded no token: is the ledger broken?" % run)
    if full:
        if not from_cxx or not from_e2e:
            problems.append("a full run, but tokens were recorded from %s only: is the ledger "
                            "broken?" % ("C++ tests" if from_cxx else "e2e" if from_e2e
                                         else "neither"))
        for kind in FULL_RUN_MINIMUM:
            if not kinds[kind]:
                problems.append("a full run, but no %s was kept: is keeping broken?" % kind)
        if not db_scans:
            problems.append("a full run, but no database was searched in place")

    print("%s run: %d of %d unit tests, %d of %d e2e tests"
          % ("full" if full else "subset", len(ran_cxx & expected_cxx) if expected_cxx
             else len(ran_cxx), len(expected_cxx), len(ran_e2e & expected_e2e),
             len(expected_e2e)))
    missing = expected_cxx - ran_cxx
    if ctest_log:
        ctest_ran, numbers, total = ctest_log_tests(ctest_log)
        for name in sorted(missing & ctest_ran):
            problems.append("unit test %r: CTest ran its entry, but the test did not start" % name)
        # This check is the one entry CTest has not logged yet.
        if total and len(numbers) >= total - 1:
            for name in sorted(missing - ctest_ran):
                problems.append("unit test %r did not run: every CTest entry ran, none is this "
                                "test (a name CTest's discovery mangles?)" % name)
    elif missing and expected_e2e <= ran_e2e and len(missing) <= 10:
        # Everything but a few: more likely tests CTest cannot select (a name
        # it mangles) than a chosen subset.
        for name in sorted(missing):
            problems.append("unit test %r did not run (all but %d ran)" % (name, len(missing)))
    print("kept: " + ", ".join("%s %d" % kv for kv in sorted(kinds.items())) +
          "; %d database files (%.1f MB) searched in place" % (len(db_scans), db_bytes / 1e6))
    if problems:
        for problem in problems:
            print("LEAK CHECK FAILED: " + problem)
        return 1
    if not origin:
        print("no test that ran issued a token: nothing to look for in %d files" % len(files))
        return 0
    print("%d tokens issued (%d from C++ tests, %d from e2e), %d files, %d bytes searched: "
          "no token or token hash found" % (len(origin), from_cxx, from_e2e, len(files), searched))
    return 0


if __name__ == "__main__":
    sys.exit(main())
