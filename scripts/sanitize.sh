#!/usr/bin/env bash
# Builds and runs every test that does not need libtorch (the planner, preloader, request flow,
# profiler tables, parsers, device profiles, cost model, simulator, the inference protocol) under
# a sanitizer, in its own build folder: build-asan (AddressSanitizer + UndefinedBehaviorSanitizer)
# or build-tsan (ThreadSanitizer). Any report fails the run. docs/reliability.md.
# Usage: scripts/sanitize.sh asan|tsan [SUMMARY_FILE]
set -euo pipefail
cd "$(dirname "$0")/.."
kind=$1
summary=${2:-/dev/null}
case $kind in
  asan) flags=address,undefined name="ASan+UBSan" ;;
  tsan) flags=thread name="TSan" ;;
  *) echo "usage: $0 asan|tsan [SUMMARY_FILE]" >&2; exit 2 ;;
esac
build=build-$kind
tests=(unit_tests plan_tests profile_tests preload_tests runtime_tests sim_tests simulator_tests
  device_task_profile_tests eval_tests serve_tests)
start=$SECONDS
mkdir -p "$build"
if [ ! -f "$build/build.ninja" ]; then
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g1" \
    -DSPARSELOOM_SANITIZE="$flags" >"$build/configure.log" 2>&1 || { cat "$build/configure.log"; exit 1; }
fi
cmake --build "$build" -j "$(nproc)" --target "${tests[@]}"
built=$((SECONDS - start))

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1
# XGBoost's OpenMP runtime (libgomp) is not instrumented, so TSan cannot see its synchronisation
# and reports races inside it; one OpenMP thread leaves our own threads as what is checked.
[ "$kind" = tsan ] && export OMP_NUM_THREADS=1
export GLOG_minloglevel=2
total=0
for t in "${tests[@]}"; do
  log=$build/$t.log
  if ! "$build/tests/$t" --gtest_brief=1 >"$log" 2>&1; then
    echo "$name: FAIL $t:"
    tail -60 "$log"
    exit 1
  fi
  n=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) tests\?\./\1/p' "$log")
  echo "$name: $t: ${n:-?} tests passed"
  total=$((total + ${n:-0}))
done
line="$name: $total tests of ${tests[*]} passed, no report (built in ${built} s, ran in $((SECONDS - start - built)) s)"
echo "$line"
echo "$line" >>"$summary"
