#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/) with clang in build-fuzz and runs each for a bounded time
# on its checked-in seeds (fuzz/corpus/NAME/; the device profiles' are devices/). A crash, a
# sanitizer report, a leak, an input slower than 10 s or an exception other than sparseloom::Error
# fails the run and leaves the input in build-fuzz/artifacts/: fix the parser, then add the input
# to tests/corpus or the seeds.
# docs/reliability.md. Usage: scripts/fuzz.sh [SECONDS_PER_TARGET (30)] [SUMMARY_FILE]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-30}
summary=${2:-/dev/null}
build=build-fuzz
targets=(zoo_manifest task_file performance_table processor_setup device_profile infer_request)
start=$SECONDS
mkdir -p "$build"
if [ ! -f "$build/build.ninja" ]; then
  CC=clang CXX=clang++ cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Debug \
    -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g1" -DSPARSELOOM_SANITIZE=fuzzer-no-link,address,undefined \
    -DSPARSELOOM_BUILD_FUZZERS=ON -DSPARSELOOM_BUILD_TESTS=OFF >"$build/configure.log" 2>&1 ||
    { cat "$build/configure.log"; exit 1; }
fi
cmake --build "$build" -j "$(nproc)" --target "${targets[@]/#/fuzz_}"
built=$((SECONDS - start))

mkdir -p "$build/artifacts"
export ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
runs_total=0
for t in "${targets[@]}"; do
  # New inputs go to a scratch folder; the checked-in seeds are only read.
  rm -rf "$build/corpus-$t"
  mkdir -p "$build/corpus-$t"
  seeds=fuzz/corpus/$t
  [ "$t" = device_profile ] && seeds=devices
  log=$build/fuzz_$t.log
  if ! "$build/fuzz/fuzz_$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -max_len=16384 -print_final_stats=1 -artifact_prefix="$build/artifacts/$t-" \
    "$build/corpus-$t" "$seeds" >"$log" 2>&1; then
    echo "fuzz: FAIL $t (the input is in $build/artifacts/):"
    grep -v '^#' "$log" | tail -60
    exit 1
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  edges=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
  echo "fuzz: $t: ${runs:-?} inputs in ${seconds} s, ${edges:-cov: ?} edges, no crash"
  runs_total=$((runs_total + ${runs:-0}))
done
line="libFuzzer: ${targets[*]}: ${seconds} s each, $runs_total inputs, no crash (built in ${built} s)"
echo "$line"
echo "$line" >>"$summary"
