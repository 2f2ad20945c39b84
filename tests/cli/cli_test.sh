#!/usr/bin/env bash
# The sparseloom command as a user runs it: readable output on success, a clear error and a
# non-zero exit on bad input.
set -uo pipefail
bin=$1
zoos=$2
failures=0
check() {  # check NAME EXPECTED_RC PATTERN -- command...
  local name=$1 rc_expected=$2 pattern=$3
  shift 4
  local out rc
  out=$("$@" 2>&1)
  rc=$?
  if [ "$rc" -ne "$rc_expected" ] || ! grep -qE -- "$pattern" <<<"$out"; then
    echo "FAIL $name: exit $rc (expected $rc_expected), output lacks /$pattern/:"
    echo "$out" | head -20
    failures=$((failures + 1))
  else
    echo "ok   $name"
  fi
}

check help 0 "zoo" -- "$bin" --help
check zoo-help 0 "inspect" -- "$bin" zoo --help
check inspect 0 "1000 stitched variants" -- "$bin" zoo inspect "$zoos/tiny_cnn"
check inspect-table 0 "us90 +[0-9.]+% +fp32 us[0-9]+% " -- "$bin" zoo inspect "$zoos/tiny_transformer"
check eval 0 "accuracy [0-9.]+% \(stitched\)" -- \
  "$bin" zoo eval "$zoos/tiny_transformer" --stitch dense,us90,struct50 --runs 5 --limit 64
check eval-json 0 "total" -- \
  "$bin" zoo eval "$zoos/tiny_cnn" --stitch int8,bf16,dense --runs 5 --limit 64 --json /tmp/sparseloom-cli-eval.json
grep -q '"stage_median_ms"' /tmp/sparseloom-cli-eval.json || { echo "FAIL eval-json: no JSON"; failures=$((failures + 1)); }
check verify 0 "zoo ok" -- "$bin" zoo verify "$zoos/tiny_cnn"
check unknown-variant 1 "error: zoo .* has no variant 'nope' \(it has: dense" -- \
  "$bin" zoo eval "$zoos/tiny_cnn" --stitch dense,nope,dense
check wrong-stage-count 1 "expected 3 comma-separated variant ids" -- \
  "$bin" zoo eval "$zoos/tiny_cnn" --stitch dense,us90
check missing-zoo 1 "error: /nonexistent: expected a zoo directory" -- "$bin" zoo inspect /nonexistent
check missing-argument 106 "ZOO is required" -- "$bin" zoo inspect

echo "cli: $((11 - failures)) passed, $failures failed"
[ "$failures" -eq 0 ]
