#!/usr/bin/env bash
# The example program (examples/two_tasks.cpp) as a user runs it on the two test zoos, after a
# quick profile; then the API's outputs against the stitched chain (api_zoo_tests).
set -euo pipefail
bin=$1 example=$2 api_tests=$3 zoos=$4
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$bin" profile "$zoos/tiny_cnn" "$zoos/tiny_transformer" --out "$tmp/profiles" --budget-minutes 0 \
  --stage-runs 5 --chain-runs 1 --processors cpu0:0:1,cpu1:1:1 >"$tmp/profile.log" 2>&1 ||
  { cat "$tmp/profile.log"; exit 1; }
"$example" "$zoos/tiny_cnn" "$zoos/tiny_transformer" "$tmp/profiles" | tee "$tmp/out.txt"
# 8 results per task, each completed with logits, and the stats lines.
for task in image text; do
  n=$(grep -c "^$task: .* logits -\?[0-9]" "$tmp/out.txt" || true)
  [ "$n" -eq 8 ] || { echo "FAIL: $n of 8 $task results have logits"; exit 1; }
  grep -q "^stats $task: 8 completed" "$tmp/out.txt" || { echo "FAIL: no stats for $task"; exit 1; }
done
SPARSELOOM_TEST_PROFILES="$tmp/profiles" SPARSELOOM_TEST_ZOOS="$zoos" "$api_tests"
echo "example: ok"
