#!/usr/bin/env bash
# The benchmarks, from a clean checkout: installs what is missing (nginx-light,
# wrk, rabbitmq-c, RabbitMQ), builds, then runs the HTTP benchmark (authsvc,
# on SQLite and on PostgreSQL, against nginx's static answer, 100,000
# users), the AMQP benchmark (four brokers: internal, nginx, authsvc,
# authsvc+cache) and the audit query
# benchmark (authsvc audit against grep on a 1 GB audit log, written once
# into build/bench-audit/). About 9 minutes; the first audit run takes
# 2 more to write the log.
#   scripts/bench.sh [http|amqp|audit] [--baseline REV]
# --baseline REV also builds the commit REV (git archive, into
# build-baseline/) and measures it in the same HTTP rounds as this tree's
# build: "as fast as before" in one run, on one noisy machine.
set -euo pipefail
cd "$(dirname "$0")/.."
which=all
baseline_rev=""
while (($#)); do
  case $1 in
    http | amqp | audit | all) which=$1 ;;
    --baseline)
      baseline_rev=${2:?--baseline needs a git revision}
      shift
      ;;
    *)
      echo "usage: scripts/bench.sh [http|amqp|audit] [--baseline REV]" >&2
      exit 2
      ;;
  esac
  shift
done
if [[ $which == audit ]]; then
  # grep, gzip and Python are all it needs besides the build.
  scripts/install-deps.sh
else
  scripts/install-deps.sh --bench
fi
scripts/build.sh
baseline_args=()
if [[ -n $baseline_rev ]]; then
  src=build-baseline/src
  rm -rf build-baseline
  mkdir -p "$src"
  git archive "$baseline_rev" | tar -x -C "$src"
  cmake -S "$src" -B build-baseline/build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build build-baseline/build -j "$(nproc)" --target authsvc
  baseline_args=(--baseline build-baseline/build/authsvc/authsvc)
  echo "bench: baseline is $(git rev-parse --short "$baseline_rev") ($baseline_rev)"
fi
if [[ $which == all || $which == http ]]; then
  # The same binary on a PostgreSQL store, in the same rounds: the store
  # must not change the hot path, which answers from memory either way.
  /usr/bin/python3 tests/bench/http_bench.py --authsvc build/authsvc/authsvc --rounds 5 --seconds 10 \
    --postgresql "${baseline_args[@]}"
fi
if [[ $which == all || $which == amqp ]]; then
  /usr/bin/python3 tests/bench/amqp_bench.py --authsvc build/authsvc/authsvc \
    --seconds-per-round 12 --rounds 5
fi
if [[ $which == all || $which == audit ]]; then
  /usr/bin/python3 tests/bench/audit_bench.py --authsvc build/authsvc/authsvc \
    --scan-bench build/tests/bench/audit_scan_bench --dir build/bench-audit --megabytes 1024 \
    --rounds 5
fi
