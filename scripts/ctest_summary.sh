#!/usr/bin/env bash
# One line per group of what the last `ctest` in BUILD ran, for `make test`'s summary.
# Usage: scripts/ctest_summary.sh BUILD
set -uo pipefail
build=$1
# Read the last run's log first: `ctest -N` below rewrites it.
log=$(cat "$build/Testing/Temporary/LastTest.log" 2>/dev/null)
count() { (cd "$build" && ctest -N "$@" | sed -n 's/^Total Tests: //p'); }
echo "ctest: $(count) tests passed: $(count -L fast) fast unit tests, $(count -L zoo) on the built test zoos (zoo builder, end to end)"
corpus=$(grep -m1 '^corpus: [0-9]* passed' <<<"$log")
[ -n "$corpus" ] && echo "  malformed-input $corpus (exit status and exact error of each case; tests/corpus)"
soak=$(grep -m1 '^soak: sustainable' <<<"$log")
[ -n "$soak" ] && echo "  soak: ${soak#soak: }; $(grep -m1 '^soak: every request' <<<"$log" | sed 's/^soak: //')"
exit 0
