#!/usr/bin/env bash
# The soak test (scripts/soak.sh) on the two test zoos, short: a quick profile into OUT_DIR, then
# overload at twice the sustainable rate and a worker fault, with a stage cache budget, each under
# a watchdog. The figures are not measurements (short phases on a shared machine), only the
# accounting. Usage: soak_test.sh SPARSELOOM_BINARY TEST_ZOOS_DIR OUT_DIR
set -uo pipefail
bin=$1
zoos=$(cd "$2" && pwd) || exit 1
out=$3
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$out"
mkdir -p "$out"
export GLOG_minloglevel=2
"$bin" profile "$zoos/tiny_cnn" "$zoos/tiny_transformer" --out "$out/profiles" --budget-minutes 0 \
  --stage-runs 5 --chain-runs 1 >"$out/profile.log" 2>&1 || { tail -20 "$out/profile.log"; exit 1; }
cat >"$out/tasks.json" <<TASKS
{"version": 1, "profile_dir": "profiles",
 "tasks": [
   {"name": "images", "zoo": "$zoos/tiny_cnn", "min_accuracy": 0.5, "max_latency_ms": 100, "rate_per_s": 40},
   {"name": "text", "zoo": "$zoos/tiny_transformer", "min_accuracy": 0.5, "max_latency_ms": 100, "rate_per_s": 20}]}
TASKS
SOAK_PHASE_S=${SOAK_PHASE_S:-2} SOAK_WATCHDOG=${SOAK_WATCHDOG:-120} \
  bash "$here/../../scripts/soak.sh" "$bin" "$out/tasks.json" "$out"
