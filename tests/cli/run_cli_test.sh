#!/usr/bin/env bash
# `sparseloom run` as a user runs it, on the two test zoos: profile them quickly into a temporary
# folder, then serve short episodes (Poisson and closed loop, every planner, a processor fault, a
# stage cache smaller than the zoos) and check the tables, the JSON results, the trace and the
# errors for bad options. Phases are short: the figures are not measurements, only the accounting.
# Usage: run_cli_test.sh SPARSELOOM_BINARY TEST_ZOOS_DIR
set -uo pipefail
bin=$1
zoos=$(cd "${2:-${SPARSELOOM_TEST_ZOOS:?give the test zoos folder}}" && pwd) || exit 1
export GLOG_minloglevel=2
tmp=$(mktemp -d /tmp/sparseloom-run-cli.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
failures=0
checks=0
fail() {
  echo "FAIL $1"
  failures=$((failures + 1))
}
check() {  # check NAME EXPECTED_RC PATTERN -- command...
  local name=$1 rc_expected=$2 pattern=$3
  shift 4
  local rc
  checks=$((checks + 1))
  "$@" >"$tmp/out" 2>&1
  rc=$?
  if [ "$rc" -ne "$rc_expected" ] || ! grep -qE -- "$pattern" "$tmp/out"; then
    fail "$name: exit $rc (expected $rc_expected), output lacks /$pattern/:"
    tail -30 "$tmp/out"
  else
    echo "ok   $name"
  fi
}
expect_output() {  # expect_output NAME PATTERN: the last command's output matches PATTERN
  checks=$((checks + 1))
  if grep -qE -- "$2" "$tmp/out"; then echo "ok   $1"; else fail "$1: output lacks /$2/"; fi
}
expect_json() {  # expect_json NAME FILE PYTHON_EXPRESSION_ON_d
  checks=$((checks + 1))
  if python3 -c "import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if ($3) else 1)" "$2"; then
    echo "ok   $1"
  else
    fail "$1: $2 does not satisfy: $3"
  fi
}
expect_no_file() {  # expect_no_file NAME FILE: an error left no output behind
  checks=$((checks + 1))
  if [ -e "$2" ]; then fail "$1: $2 was written"; else echo "ok   $1"; fi
}

# Every request of every episode of every run ends as exactly one record: completed, dropped or
# failed; the per-task rows add up to the episodes.
accounted='all(e["submitted"] == e["completed"] + e["dropped"] + e["failed"] for r in d["runs"] for e in r["episodes"])
  and all(sum(t["requests"] for t in r["tasks"]) == sum(e["submitted"] for e in r["episodes"]) == r["requests"]
          and all(t["requests"] == t["completed"] + t["dropped"] + t["failed"] for t in r["tasks"])
          for r in d["runs"])'

cat >"$tmp/tasks.json" <<EOF
{"version": 1, "profile_dir": "profiles",
 "tasks": [
   {"name": "images", "zoo": "$zoos/tiny_cnn", "min_accuracy": 0.5, "max_latency_ms": 200, "rate_per_s": 40},
   {"name": "text", "zoo": "$zoos/tiny_transformer", "min_accuracy": 0.5, "max_latency_ms": 200, "rate_per_s": 20}]}
EOF

# A quick profile (structured sample only, few timed runs): enough for planning, not for figures.
start=$SECONDS
check profile 0 "tiny-shapes-cnn: table" -- "$bin" profile "$zoos/tiny_cnn" "$zoos/tiny_transformer" \
  --out "$tmp/profiles" --budget-minutes 0 --stage-runs 5 --chain-runs 1
echo "     (profiled in $((SECONDS - start)) s)"

check help 0 "--arrivals .*poisson .*closed" -- "$bin" run --help
expect_output help-planner "--planner .*sparseloom, a baseline .*all"
expect_output help-cache-budget "--cache-budget .*%.* of the full zoo set"
expect_output help-fault "--fail-processor .*fault injection"
expect_output help-json "--json .*JSON"

# Every planner on the same Poisson workload of two SLO configurations.
start=$SECONDS
check poisson-all 0 "^== comparison" -- "$bin" run --tasks "$tmp/tasks.json" --planner all \
  --slo-configs 2 --phase-s 0.5 --json "$tmp/all.json" --trace "$tmp/trace.json"
echo "     (served in $((SECONDS - start)) s)"
expect_output poisson-table-header "^task +requests +done +dropped +failed +throughput +p50 +p95 +p99 +SLO viol\."
expect_output poisson-task-row "^images +[0-9]+ +[0-9]+ +[0-9]+ +[0-9]+ +[0-9.]+/s +[0-9.]+ ms"
expect_output poisson-text-row "^text +[0-9]+ +[0-9]+ +[0-9]+ +[0-9]+ +[0-9.]+/s"
for planner in SparseLoom SV-AO-NP SV-AO-P SV-LO-NP SV-LO-P AV-NP AV-P; do
  expect_output "poisson-run-$planner" "^== $planner: 2 episodes in [0-9.]+ s$"
  expect_output "poisson-compare-$planner" "^$planner +[0-9]+ +[0-9.]+% +[0-9]+/[0-9]+ \([0-9.]+%\) +[0-9]+ +[0-9]+ +[0-9.]+/s +[0-9.]+ ms$"
done
expect_output poisson-memory "^memory: .* of stages resident \(peak .*\); process RSS"
expect_output poisson-trace-line "^trace of SparseLoom's first episode written to $tmp/trace.json"
expect_json poisson-json "$tmp/all.json" \
  'd["format"] == "sparseloom-run" and d["arrivals"] == "poisson" and len(d["runs"]) == 7
   and [r["planner"] for r in d["runs"]] == ["SparseLoom", "SV-AO-NP", "SV-AO-P", "SV-LO-NP", "SV-LO-P", "AV-NP", "AV-P"]
   and all(len(r["episodes"]) == 2 and len(r["tasks"]) == 2 for r in d["runs"])
   and all(len(e["phases"]) == 2 and e["submitted"] > 0 for r in d["runs"] for e in r["episodes"])'
expect_json poisson-accounted "$tmp/all.json" "$accounted"
# The same seed gives every planner the same requests.
expect_json poisson-same-workload "$tmp/all.json" \
  'len(set(tuple(e["submitted"] for e in r["episodes"]) for r in d["runs"])) == 1
   and len(set(tuple(p["requests"] for e in r["episodes"] for p in e["phases"]) for r in d["runs"])) == 1'
expect_json poisson-plans "$tmp/all.json" \
  'all(len(p["plan"]) == len(p["tasks"]) == i + 1 for r in d["runs"] for e in r["episodes"] for i, p in enumerate(e["phases"]))'
# Every phase's plan was made ahead for the expected SLO configurations (docs/runtime.md).
expect_output plans-ahead-line "^SparseLoom: [0-9]+ plans made ahead for the expected SLO configurations$"
expect_output plans-ahead-summary "^planning each phase: [0-9.]+ ms mean, [0-9.]+ ms at most; 4 of 4 phases had a plan made ahead"
expect_json plans-ahead-json "$tmp/all.json" \
  'd["plans_made_ahead"] is True and all(p["planned_ahead"] for r in d["runs"] for e in r["episodes"] for p in e["phases"])'
# A list of planners, served in its order, planning each phase when it starts.
check planner-list 0 "^== comparison" -- "$bin" run --tasks "$tmp/tasks.json" --planner AV-P,sparseloom \
  --slo-configs 2 --phase-s 0.2 --plan-online --json "$tmp/list.json"
expect_json planner-list-json "$tmp/list.json" \
  '[r["planner"] for r in d["runs"]] == ["AV-P", "SparseLoom"] and d["plans_made_ahead"] is False
   and not any(p["planned_ahead"] for r in d["runs"] for e in r["episodes"] for p in e["phases"])'
expect_json trace-json "$tmp/trace.json" \
  'len(d["traceEvents"]) > 0 and any(ev.get("ph") == "X" for ev in d["traceEvents"])
   and all(ev["dur"] >= 0 for ev in d["traceEvents"] if ev.get("ph") == "X")'

# A real run first serves a calibration episode and plans (and draws its SLO grid) with the stage
# latencies it measured (docs/runtime.md, "Serving calibration"); --table-latencies keeps the
# tables'.
expect_output calibration-line "^serving calibration: stages ran [0-9.]+x \(images, [0-9]+ requests\), [0-9.]+x \(text, [0-9]+ requests\)"
expect_json calibration-json "$tmp/all.json" \
  'len(d["latency_scale"]) == 2 and all(0 < x < 100 for x in d["latency_scale"])'
check table-latencies 0 "^== SparseLoom" -- "$bin" run --tasks "$tmp/tasks.json" --phase-s 0.2 \
  --table-latencies --json "$tmp/table-latencies.json"
checks=$((checks + 1))
if grep -q "serving calibration" "$tmp/out"; then fail "table-latencies: calibrated anyway"; else echo "ok   table-latencies-no-calibration"; fi
expect_json table-latencies-json "$tmp/table-latencies.json" 'd["latency_scale"] == [1.0, 1.0]'

# The same runs simulated (docs/simulation.md): no zoo loaded, every request accounted for, and
# against a real run with the same hand-over costs (the tables') and the same stage latencies (the
# real run's calibration, replayed with --latency-scale): the same plans phase by phase and the
# same requests.
check simulate-all 0 "^== comparison" -- "$bin" run --tasks "$tmp/tasks.json" --planner all \
  --slo-configs 2 --phase-s 0.5 --simulate --json "$tmp/sim-all.json"
expect_output simulate-says-so "^simulating on a virtual clock"
expect_json simulate-json "$tmp/sim-all.json" \
  'd["simulated"] is True and len(d["runs"]) == 7
   and all(t["measured_accuracy"] is None for r in d["runs"] for t in r["tasks"])'
expect_json simulate-accounted "$tmp/sim-all.json" "$accounted"
check real-table-handovers 0 "^== SparseLoom" -- "$bin" run --tasks "$tmp/tasks.json" \
  --slo-configs 2 --phase-s 0.5 --table-handovers --json "$tmp/real1.json"
scale=$(python3 -c 'import json,sys; print(",".join(repr(x) for x in json.load(open(sys.argv[1]))["latency_scale"]))' "$tmp/real1.json")
check simulate-one 0 "^== SparseLoom" -- "$bin" run --tasks "$tmp/tasks.json" \
  --slo-configs 2 --phase-s 0.5 --simulate --latency-scale "$scale" --json "$tmp/sim1.json"
expect_json simulate-replays-scale "$tmp/sim1.json" \
  "d['latency_scale'] == json.load(open('$tmp/real1.json'))['latency_scale']"
checks=$((checks + 1))
if python3 - "$tmp/real1.json" "$tmp/sim1.json" <<'PY'
import json, sys
real, sim = (json.load(open(f))["runs"][0] for f in sys.argv[1:3])
def plans(run):
    return [[(p["task"], p["stitched_index"], p["placement"]) for p in ph["plan"]]
            for e in run["episodes"] for ph in e["phases"]]
def requests(run):
    return [ph["requests"] for e in run["episodes"] for ph in e["phases"]]
assert plans(real) == plans(sim), (plans(real), plans(sim))
assert requests(real) == requests(sim), (requests(real), requests(sim))
PY
then echo "ok   simulate-agrees-with-real"
else echo "FAIL simulate-agrees-with-real"; failures=$((failures + 1))
fi

# Closed loop: saturation, with the planner's bound beside the measured rate.
check closed-loop 0 "^closed loop, all tasks present: [0-9.]+ requests/s measured, planner's bound [0-9.]+/s \([0-9.]+%\)$" -- \
  "$bin" run --tasks "$tmp/tasks.json" --arrivals closed --window 2 --phase-s 0.4 --json "$tmp/closed.json"
expect_json closed-json "$tmp/closed.json" \
  'd["arrivals"] == "closed" and len(d["runs"]) == 1 and len(d["runs"][0]["closed_loop"]) == 1
   and d["runs"][0]["closed_loop"][0]["measured_rps"] > 0 and d["runs"][0]["closed_loop"][0]["bound_rps"] > 0'
expect_json closed-accounted "$tmp/closed.json" "$accounted"
check closed-window-too-large 1 "error: closed loop: 2 tasks x window 40 requests exceed max_in_flight 64" -- \
  "$bin" run --tasks "$tmp/tasks.json" --arrivals closed --window 40 --phase-s 0.1 --json "$tmp/wide.json"
expect_no_file closed-window-too-large-no-json "$tmp/wide.json"

# A processor fault mid-episode: re-planned onto the processor left, no request lost.
check fault 0 "^== SparseLoom: 1 episode in" -- "$bin" run --tasks "$tmp/tasks.json" \
  --fail-processor cpu1 --fail-after-s 0.3 --phase-s 0.5 --rate-scale 2 --json "$tmp/fault.json"
expect_json fault-accounted "$tmp/fault.json" "$accounted"
expect_json fault-nothing-lost "$tmp/fault.json" \
  'all(e["failed"] == 0 and e["dropped"] == 0 for r in d["runs"] for e in r["episodes"])'
expect_json fault-replanned "$tmp/fault.json" \
  'sum(p["replans"] for e in d["runs"][0]["episodes"] for p in e["phases"]) >= 1
   and all(pl == "cpu0" for t in d["runs"][0]["episodes"][0]["phases"][-1]["plan"] for pl in t["placement"])'

# A stage cache of 30% of the zoo set: the hottest stages preloaded, the rest loaded on demand.
check cache-budget 0 "^preloaded the [0-9]+ hottest stages" -- "$bin" run --tasks "$tmp/tasks.json" \
  --planner all --cache-budget 30% --phase-s 0.3 --json "$tmp/cache.json"
expect_output cache-stats "^stage cache: [0-9]+ hits, [0-9]+ on-demand loads \([0-9]+ ms\), [0-9]+ evictions, [0-9]+ preloaded$"
expect_output cache-budget-line "^stage cache: .* \(30.0% of the full zoo set"
expect_json cache-json "$tmp/cache.json" \
  'd["cache_budget_bytes"] > 0 and abs(d["cache_budget_bytes"] - 0.3 * d["full_zoo_set_bytes"]) <= 1
   and 0 < d["memory"]["peak_resident_stage_bytes"] <= d["cache_budget_bytes"]
   and d["memory"]["resident_stage_bytes"] <= d["cache_budget_bytes"]
   and d["memory"]["on_demand_loads"] > 0 and d["memory"]["evictions"] > 0'
expect_json cache-accounted "$tmp/cache.json" "$accounted"
# Another cache policy: nothing preloaded, loads on demand; the memory trace of a real run.
check cache-lru 0 "^== SparseLoom" -- "$bin" run --tasks "$tmp/tasks.json" --cache-budget 30% \
  --cache-policy lru --phase-s 0.3 --slo-changes 2 --json "$tmp/lru.json" --memory-trace "$tmp/mem.csv"
expect_output cache-lru-line "^stage cache: .* \(30.0% of the full zoo set, .*\), policy lru$"
expect_output slo-changes-line "^SLO changes: [0-9]+, [0-9]+ re-planned before their episode ended"
expect_json cache-lru-json "$tmp/lru.json" \
  'd["cache_policy"] == "lru" and d["memory"]["on_demand_loads"] > 0
   and 0 < d["memory"]["peak_resident_stage_bytes"] <= d["cache_budget_bytes"]
   and all("slo_changes" in e for e in d["runs"][0]["episodes"])'
checks=$((checks + 1))
if python3 -c 'import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
assert len(rows) >= 2 and all(int(r["rss_bytes"]) > int(r["resident_stage_bytes"]) >= 0 for r in rows)
assert all(float(a["t_s"]) <= float(b["t_s"]) for a, b in zip(rows, rows[1:]))' "$tmp/mem.csv"; then
  echo "ok   memory-trace"
else
  fail "memory-trace: $tmp/mem.csv"
fi

# Bad options and task files: exit 1, a clear error, no results written.
bad() {  # bad NAME PATTERN ARGS...: `sparseloom run` fails with exit 1 and writes no JSON
  local name=$1 pattern=$2
  shift 2
  rm -f "$tmp/bad.json"
  check "$name" 1 "$pattern" -- "$bin" run "$@" --phase-s 0.05 --json "$tmp/bad.json"
  expect_no_file "$name-no-json" "$tmp/bad.json"
}
bad unknown-planner "^error: --planner: unknown planner 'nope'" --tasks "$tmp/tasks.json" --planner nope
bad unknown-planner-in-list "^error: --planner: unknown planner 'nope' \(expected sparseloom, .*comma-separated" \
  --tasks "$tmp/tasks.json" --planner sparseloom,nope
bad bad-cache-policy "^error: --cache-policy: expected one of hotness, lru, lfu, none, got 'fifo'" \
  --tasks "$tmp/tasks.json" --cache-policy fifo
bad memory-trace-simulated "^error: --memory-trace: expected a real run" \
  --tasks "$tmp/tasks.json" --simulate --memory-trace "$tmp/x.csv"
bad bad-arrivals "^error: --arrivals: expected \"poisson\" or \"closed\", got \"bursty\"" \
  --tasks "$tmp/tasks.json" --arrivals bursty
for budget in lots 0% 150% -3 inf 1e30; do
  bad "bad-cache-budget-$budget" "^error: --cache-budget: expected a percentage of the full zoo set .* got \"$budget\"" \
    --tasks "$tmp/tasks.json" --cache-budget "$budget"
done
for scale in 0 -1 x 1,2,3 nan; do
  bad "bad-latency-scale-$scale" "^error: --latency-scale: expected" --tasks "$tmp/tasks.json" \
    --latency-scale "$scale"
done
bad unknown-fail-processor "^error: --fail-processor: no processor named 'gpu9' in the setup cpu" \
  --tasks "$tmp/tasks.json" --fail-processor gpu9
sed 's/"min_accuracy": 0.5, "max_latency_ms": 200, "rate_per_s": 40/"min_accuracy": 1.2, "max_latency_ms": 200, "rate_per_s": 40/' \
  "$tmp/tasks.json" >"$tmp/malformed.json"
bad malformed-task-file "^error: $tmp/malformed.json: tasks\[0\].min_accuracy: expected an accuracy in \[0, 1\]" \
  --tasks "$tmp/malformed.json"
echo '{"version": 1, "tasks": [' >"$tmp/truncated.json"
bad truncated-task-file "^error: $tmp/truncated.json" --tasks "$tmp/truncated.json"

echo "run cli: $((checks - failures)) passed, $failures failed"
[ "$failures" -eq 0 ]
