#!/usr/bin/python3
"""The leak check's own test: a unit test whose CTest entry ran but which
never started fails it, and a run where every one started passes.

    /usr/bin/python3 tests/token_leak_check_test.py UNIT_TEST_BINARY

Builds two throw-away artifact folders as a run leaves them (runs.txt lists
the unit tests that started; CTest's log, every entry CTest ran) and runs
tests/token_leak_check.py on each. An e2e test that did not run makes both
subsets, so that neither is held to what only a full run must have kept.
Exits 0 if the check told the two apart.
"""

import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
CHECK = os.path.join(HERE, "token_leak_check.py")


def names(binary):
    out = subprocess.run([binary, "--list-test-cases", "--no-version"], capture_output=True,
                         text=True, check=True).stdout
    return [line for line in out.splitlines()
            if line and not line.startswith("[doctest]") and not line.startswith("====")]


def run_check(binary, entries, started):
    scratch = tempfile.mkdtemp(prefix="leak-check-test-")
    root = os.path.join(scratch, "artifacts")
    os.mkdir(root)
    try:
        with open(os.path.join(root, "runs.txt"), "w") as f:
            f.writelines("cxx %s\n" % name for name in started)
        log = os.path.join(scratch, "LastTest.log.tmp")
        with open(log, "w") as f:
            # As CTest logs each entry when it ends; the check is the one left.
            f.writelines("%d/%d Testing: %s\n" % (i + 1, len(entries) + 1, name)
                         for i, name in enumerate(entries))
        return subprocess.run(["/usr/bin/python3", CHECK, root, "--unit-tests", binary,
                               "--e2e-tests", "e2e_that_did_not_run", "--ctest-log", log],
                              capture_output=True, text=True, timeout=120)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def main():
    binary = sys.argv[1]
    tests = names(binary)
    if len(tests) < 2:
        sys.exit("token_leak_check_test: %s lists %d tests; need two" % (binary, len(tests)))
    everything = run_check(binary, tests, tests)
    if everything.returncode != 0:
        sys.exit("token_leak_check_test: a run where every unit test ran failed the check:\n"
                 + everything.stdout + everything.stderr)
    skipped = tests[len(tests) // 2]
    one_missing = run_check(binary, tests, [t for t in tests if t != skipped])
    if one_missing.returncode != 1 or repr(skipped) not in one_missing.stdout:
        sys.exit("token_leak_check_test: a run without %r did not fail the check naming it "
                 "(exit %d):\n%s%s" % (skipped, one_missing.returncode, one_missing.stdout,
                                       one_missing.stderr))
    print("token_leak_check_test: %d unit tests all ran: passed; without %r: failed, as it must"
          % (len(tests), skipped))


if __name__ == "__main__":
    main()
