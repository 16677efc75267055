#!/usr/bin/env bash
# The test suite under sanitizers:
#   AddressSanitizer + UndefinedBehaviorSanitizer: every test (unit, CLI,
#   HTTP round trips, and the end-to-end suites, whose authsvc is then the
#   sanitized binary);
#   ThreadSanitizer: the tests that run threads against each other, those
#   labelled "threaded" (snapshot swaps while serving, the audit writer,
#   CLI writes while serving, the HTTP and HTTPS listeners, hostile input,
#   faults under load, the guardian, and an end-to-end suite for each of
#   authsvc's threads: tests/CMakeLists.txt says which).
# Any report fails the run.
# Usage: scripts/sanitize.sh [all|asan|tsan] [build|test]: both steps unless
# one is named (.ci/run builds the next while the tests of one run).
set -euo pipefail
cd "$(dirname "$0")/.."
which=${1:-all}
step=${2:-all}
case $which/$step in
  all/all | asan/all | asan/build | asan/test | tsan/all | tsan/build | tsan/test) ;;
  *) echo "usage: scripts/sanitize.sh [all|asan|tsan] [build|test]" >&2; exit 2 ;;
esac
wants() { [[ ($which == all || $which == "$1") && ($step == all || $step == "$2") ]]; }
# A report ends the process with an exit code of its own, which none of
# authsvc's exits (0, 1, 2, 128 + signal) is: a test that expects a refused
# command's exit 1 cannot take a report for it. ASan, LSan and UBSan share
# one process and one exitcode (86); TSan has 87. Not abort_on_error: its
# SIGABRT would look like any other abort. The tests hand these variables
# on to every child they start (tests/test_support.h: child_environment).
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=86
# tests/lsan.supp: what leaks inside uninstrumented libraries.
export LSAN_OPTIONS=exitcode=86:suppressions=$PWD/tests/lsan.supp
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:exitcode=86
# tests/tsan.supp: what TSan cannot see inside uninstrumented libraries.
export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:exitcode=87:suppressions=$PWD/tests/tsan.supp

# Sanitized code runs several times slower: every deadline the tests wait
# against is stretched by AUTHSVC_TEST_TIME_SCALE (tests/test_support.h:
# scaled; the e2e scripts read it too), which CTest passes on to each test.

jobs=$(scripts/test_jobs.sh)
# Both builds make what their tests run (the target test_executables: the
# unit tests, whose builds also label their tests; the fuzz targets' corpus
# replays; authsvc, which the CLI, faults and e2e tests start), not the
# benchmarks, which no test runs.
if wants asan build; then
  cmake -S . -B build-asan -DAUTHSVC_SANITIZE=address,undefined -DCMAKE_BUILD_TYPE=Debug >/dev/null
  cmake --build build-asan -j "$(nproc)" --target test_executables
fi
if wants asan test; then
  # Every test but those the plain build's run checks alone
  # (tests/CMakeLists.txt: LABELS package, plain_only).
  (cd build-asan && AUTHSVC_TEST_TIME_SCALE=3 ctest --output-on-failure --timeout 900 -j "$jobs" \
     -LE "^(package|plain_only)$" --no-tests=error)
fi
if wants tsan build; then
  cmake -S . -B build-tsan -DAUTHSVC_SANITIZE=thread -DCMAKE_BUILD_TYPE=Debug >/dev/null
  cmake --build build-tsan -j "$(nproc)" --target test_executables
fi
if wants tsan test; then
  # By label, not by name (tests/CMakeLists.txt); a label that selects
  # nothing is an error, not a pass. One at a time: side by side under
  # TSan's slowdown the suites' fixed windows (a 20 s grace, a 30 s expiry
  # in guardian_e2e.py) are not yet shown to hold; $AUTHSVC_TSAN_TEST_JOBS
  # tries more.
  (cd build-tsan && AUTHSVC_TEST_TIME_SCALE=5 ctest --output-on-failure --timeout 900 \
     -j "${AUTHSVC_TSAN_TEST_JOBS:-1}" -L threaded --no-tests=error)
fi
