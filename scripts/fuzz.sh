#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (AddressSanitizer and UBSan on) and
# runs each for SECONDS (default 60) from the seed corpus in tests/fuzz/corpus.
# New inputs go to a scratch copy; crashes are saved as build-fuzz/crash-*.
#   scripts/fuzz.sh            # CI's smoke run, about a minute each
#   scripts/fuzz.sh 3600       # a longer hunt
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
build=build-fuzz
CC=clang CXX=clang++ cmake -S . -B "$build" -DAUTHSVC_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
targets=(form_fuzz request_fuzz rules_fuzz json_line_fuzz)
cmake --build "$build" -j "$(nproc)" --target "${targets[@]}"
status=0
for target in "${targets[@]}"; do
  corpus=tests/fuzz/corpus/${target%_fuzz}
  scratch=$(mktemp -d)
  cp -r "$corpus"/. "$scratch"/
  echo "fuzz: $target for ${seconds}s"
  if ! "$build/tests/fuzz/$target" -max_total_time="$seconds" -max_len=4096 -timeout=10 \
      -artifact_prefix="$build/crash-$target-" -print_final_stats=1 "$scratch" \
      >"$build/$target.log" 2>&1; then
    echo "fuzz: $target FAILED; see $build/$target.log and $build/crash-$target-*"
    tail -40 "$build/$target.log"
    status=1
  else
    grep -E "stat::number_of_executed_units|Done [0-9]+ runs" "$build/$target.log" | tail -2
  fi
  rm -rf "$scratch"
done
exit $status
