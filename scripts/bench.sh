#!/usr/bin/env bash
# The benchmarks, from a clean checkout: installs what is missing (nginx-light,
# wrk, rabbitmq-c, RabbitMQ), builds, then runs the HTTP benchmark (authsvc
# against nginx's static answer, 100,000 users) and the AMQP benchmark (four
# brokers: internal, nginx, authsvc, authsvc+cache). About 8 minutes.
#   scripts/bench.sh [http|amqp]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --bench
scripts/build.sh
which=${1:-all}
if [[ $which == all || $which == http ]]; then
  /usr/bin/python3 tests/bench/http_bench.py --authsvc build/authsvc/authsvc --rounds 5 --seconds 10
fi
if [[ $which == all || $which == amqp ]]; then
  /usr/bin/python3 tests/bench/amqp_bench.py --authsvc build/authsvc/authsvc \
    --seconds-per-round 12 --rounds 5
fi
