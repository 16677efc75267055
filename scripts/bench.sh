#!/usr/bin/env bash
# The benchmarks, from a clean checkout: installs what is missing (nginx-light,
# wrk, rabbitmq-c, RabbitMQ), builds, then runs the HTTP benchmark (authsvc
# against nginx's static answer, 100,000 users) and the AMQP benchmark (four
# brokers: internal, nginx, authsvc, authsvc+cache). About 8 minutes.
#   scripts/bench.sh [http|amqp] [--baseline REV]
# --baseline REV also builds the commit REV (git archive, into
# build-baseline/) and measures it in the same HTTP rounds as this tree's
# build: "as fast as before" in one run, on one noisy machine.
set -euo pipefail
cd "$(dirname "$0")/.."
which=all
baseline_rev=""
while (($#)); do
  case $1 in
    http | amqp | all) which=$1 ;;
    --baseline)
      baseline_rev=${2:?--baseline needs a git revision}
      shift
      ;;
    *)
      echo "usage: scripts/bench.sh [http|amqp] [--baseline REV]" >&2
      exit 2
      ;;
  esac
  shift
done
scripts/install-deps.sh --bench
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
  /usr/bin/python3 tests/bench/http_bench.py --authsvc build/authsvc/authsvc --rounds 5 --seconds 10 \
    "${baseline_args[@]}"
fi
if [[ $which == all || $which == amqp ]]; then
  /usr/bin/python3 tests/bench/amqp_bench.py --authsvc build/authsvc/authsvc \
    --seconds-per-round 12 --rounds 5
fi
