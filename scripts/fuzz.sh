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
targets=(form_fuzz request_fuzz rules_fuzz json_line_fuzz message_fuzz)
cmake --build "$build" -j "$(nproc)" --target "${targets[@]}"
# One target a core at a time: libFuzzer runs one process, so the targets
# side by side get the same fuzzing time each in a fraction of the wall time.
fuzz_one() {
  local target=$1 corpus=tests/fuzz/corpus/${1%_fuzz} scratch
  scratch=$(mktemp -d)
  cp -r "$corpus"/. "$scratch"/
  local status=0
  "$build/tests/fuzz/$target" -max_total_time="$seconds" -max_len=4096 -timeout=10 \
    -artifact_prefix="$build/crash-$target-" -print_final_stats=1 "$scratch" \
    >"$build/$target.log" 2>&1 || status=$?
  rm -rf "$scratch"
  return $status
}
declare -A running=()  # pid -> target
report() {  # pid status
  local target=${running[$1]}
  unset "running[$1]"
  if [[ $2 != 0 ]]; then
    echo "fuzz: $target FAILED (exit $2); see $build/$target.log and $build/crash-$target-*"
    tail -40 "$build/$target.log"
    status=1
  else
    echo "fuzz: $target done"
    grep -E "stat::number_of_executed_units|Done [0-9]+ runs" "$build/$target.log" | tail -2
  fi
}
wait_one() {
  local pid code=0
  wait -n -p pid "${!running[@]}" || code=$?
  report "$pid" "$code"
}
status=0
for target in "${targets[@]}"; do
  while (( ${#running[@]} >= $(nproc) )); do wait_one; done
  echo "fuzz: $target for ${seconds}s"
  fuzz_one "$target" &
  running[$!]=$target
done
while (( ${#running[@]} > 0 )); do wait_one; done
exit $status
