#!/usr/bin/env bash
# How many tests CTest runs at once: $AUTHSVC_TEST_JOBS, or one more than
# the cores. An end-to-end suite spends most of its time waiting (for a
# broker's boot, a guardian's look, a grace period): on 2 cores, the plain
# build's whole run, one test at a time, took 18 minutes of wall time for 9
# of CPU. The longest start first (their COST, tests/CMakeLists.txt); unit
# tests fill in.
set -euo pipefail
echo "${AUTHSVC_TEST_JOBS:-$(($(nproc) + 1))}"
