#!/usr/bin/env bash
# `sparseloom plan` as a user runs it, on the two test zoos: profile them quickly into a temporary
# folder, then plan a feasible and an infeasible task file, compare every planner, and check the
# errors for a bad task file and for a missing or stale performance table.
# Usage: plan_cli_test.sh SPARSELOOM_BINARY TEST_ZOOS_DIR
set -uo pipefail
bin=$1
zoos=$(cd "${2:-${SPARSELOOM_TEST_ZOOS:?give the test zoos folder}}" && pwd) || exit 1
export GLOG_minloglevel=2
tmp=$(mktemp -d /tmp/sparseloom-plan-cli.XXXXXX)
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
    head -30 "$tmp/out"
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
task_file() {  # task_file FILE CNN_SLO TRANSFORMER_SLO [EXTRA_TOP_LEVEL]
  cat >"$1" <<EOF
{"version": 1, "profile_dir": "profiles", ${4:-}
 "tasks": [
   {"name": "images", "zoo": "$zoos/tiny_cnn", $2, "rate_per_s": 20},
   {"name": "text", "zoo": "$zoos/tiny_transformer", $3, "rate_per_s": 10}]}
EOF
}

# A quick profile (structured sample only, few timed runs): enough for planning, not for figures.
start=$SECONDS
check profile 0 "tiny-shapes-cnn: table" -- "$bin" profile "$zoos/tiny_cnn" "$zoos/tiny_transformer" \
  --out "$tmp/profiles" --budget-minutes 0 --stage-runs 5 --chain-runs 1
echo "     (profiled in $((SECONDS - start)) s)"

check help 0 "Task file \(version 1" -- "$bin" plan --help
expect_output help-exit-status "Exit status: 0 every SLO met"

task_file "$tmp/feasible.json" '"min_accuracy": 0.8, "max_latency_ms": 200' \
  '"min_accuracy": 0.9, "max_latency_ms": 200'
check feasible 0 "^images +>=80.0%, <=200 ms +20/s +[a-z0-9_]+,[a-z0-9_]+,[a-z0-9_]+ +cpu[0-9]+,cpu[0-9]+,cpu[0-9]+ +[0-9.]+ ms +[0-9.]+%.* yes$" -- \
  "$bin" plan --tasks "$tmp/feasible.json" --json "$tmp/feasible-plan.json"
expect_output feasible-text-row "^text +>=90.0%, <=200 ms +10/s .* yes$"
expect_output feasible-processors "^cpu[0-9]+ +[0-9+]+ +1 +[0-9.]+% "
expect_output feasible-objective "^objective: 0 of 2 SLOs not met; busiest processor at [0-9.]+% load"
expect_output feasible-search "^search: [0-9]+ choices costed, .* exact; decided in [0-9.]+ ms"
expect_json feasible-json "$tmp/feasible-plan.json" \
  'd["format"] == "sparseloom-plan" and len(d["plans"]) == 1 and d["plans"][0]["planner"] == "SparseLoom"
   and d["plans"][0]["slos_met"] and all(t["slo_met"] and t["reason"] == "" for t in d["plans"][0]["tasks"])
   and len(d["plans"][0]["tasks"][0]["stitched_variant"].split(",")) == 3
   and len(d["plans"][0]["tasks"][0]["placement"]) == 3 and d["plans"][0]["tasks"][0]["accuracy"] >= 0.8'

# Unreachable latency for one task, unreachable accuracy for the other (the zoos reach about 0.92
# and 0.98): a plan all the same, with the reasons, and exit status 2.
task_file "$tmp/infeasible.json" '"min_accuracy": 0.5, "max_latency_ms": 0.0001' \
  '"min_accuracy": 0.999, "max_latency_ms": 200'
check infeasible-latency 2 "^images .* NO: fastest stitched variant meeting 0.5 accuracy takes [0-9.]+ ms > 0.0001 ms$" -- \
  "$bin" plan --tasks "$tmp/infeasible.json" --json "$tmp/infeasible-plan.json"
expect_output infeasible-accuracy "^text .* NO: no stitched variant reaches 0.999 accuracy \(best 0\.9[0-9]*\)$"
expect_output infeasible-objective "^objective: 2 of 2 SLOs not met"
expect_json infeasible-json "$tmp/infeasible-plan.json" \
  'not d["plans"][0]["slos_met"] and all(not t["slo_met"] and t["reason"] for t in d["plans"][0]["tasks"])'

check baseline 0 "^AV-P plan for 2 tasks" -- "$bin" plan --tasks "$tmp/feasible.json" --planner AV-P
check compare 0 "^SparseLoom +2/2 +0 +[0-9.]+% " -- \
  "$bin" plan --tasks "$tmp/feasible.json" --planner all --json "$tmp/all.json"
for planner in SV-AO-NP SV-AO-P SV-LO-NP SV-LO-P AV-NP AV-P; do
  expect_output "compare-$planner" "^$planner +[0-2]/2 +[0-2] +[0-9.]+% +[0-9.]+ [KM]?i?B +- +[0-9.]+ ms"
done
expect_json compare-json "$tmp/all.json" \
  '[p["planner"] for p in d["plans"]] == ["SparseLoom", "SV-AO-NP", "SV-AO-P", "SV-LO-NP", "SV-LO-P", "AV-NP", "AV-P"]'
check compare-infeasible 2 "^SparseLoom +0/2 +2 .* images, text$" -- \
  "$bin" plan --tasks "$tmp/infeasible.json" --planner all

# Memory budget and placement orders are read and applied.
task_file "$tmp/budget.json" '"min_accuracy": 0.8, "max_latency_ms": 200' \
  '"min_accuracy": 0.9, "max_latency_ms": 200' '"memory_budget_mb": 0.001, "placements": "orders",'
check orders-need-k-le-p 1 "placements: expected \"any\": \"orders\" puts every stage on its own processor and needs K <= P" -- \
  "$bin" plan --tasks "$tmp/budget.json"
sed -i 's/"placements": "orders",//' "$tmp/budget.json"
check budget 2 "OVER THE BUDGET: no plan fits it" -- "$bin" plan --tasks "$tmp/budget.json"

# Bad task files: exit 1, file and field named.
task_file "$tmp/bad.json" '"min_accuracy": 1.2, "max_latency_ms": 200' \
  '"min_accuracy": 0.9, "max_latency_ms": 200'
check bad-accuracy 1 "^error: $tmp/bad.json: tasks\[0\].min_accuracy: expected an accuracy in \[0, 1\].*got 1.2$" -- \
  "$bin" plan --tasks "$tmp/bad.json"
task_file "$tmp/bad.json" '"min_accuracy": 0.8, "max_latency_ms": 200, "max_latency": 3' \
  '"min_accuracy": 0.9, "max_latency_ms": 200'
check unknown-field 1 "tasks\[0\].max_latency: expected one of the known fields" -- \
  "$bin" plan --tasks "$tmp/bad.json"
sed 's#tiny_cnn#no_such_zoo#' "$tmp/feasible.json" >"$tmp/bad.json"
check unknown-zoo 1 "tasks\[0\].zoo: expected an existing zoo directory, got no such directory: .*no_such_zoo" -- \
  "$bin" plan --tasks "$tmp/bad.json"
check missing-task-file 1 "^error: $tmp/none.json: expected a readable JSON file" -- \
  "$bin" plan --tasks "$tmp/none.json"
check unknown-planner 105 "--planner: .*nope" -- "$bin" plan --tasks "$tmp/feasible.json" --planner nope
check no-tasks-option 106 "--tasks is required" -- "$bin" plan

# Missing and stale tables: say which and print the exact command.
sed 's#"profile_dir": "profiles"#"profile_dir": "empty"#' "$tmp/feasible.json" >"$tmp/missing.json"
check missing-table 1 "task 'images': no performance table at $tmp/empty/tiny-shapes-cnn/performance_table.json" -- \
  "$bin" plan --tasks "$tmp/missing.json"
expect_output missing-table-command "^  sparseloom profile $zoos/tiny_cnn $zoos/tiny_transformer --out $tmp/empty$"
task_file "$tmp/stale.json" '"min_accuracy": 0.8, "max_latency_ms": 200' \
  '"min_accuracy": 0.9, "max_latency_ms": 200' '"processors": "cpu0:0:2,cpu1:1:1",'
check stale-table 1 "task 'text': the performance table .*/profiles/tiny-markers-bert/performance_table.json is stale: it was made for processors .*, the task file plans for cpu0:0:2,cpu1:1:1" -- \
  "$bin" plan --tasks "$tmp/stale.json"
expect_output stale-table-command "^  sparseloom profile $zoos/tiny_cnn $zoos/tiny_transformer --processors cpu0:0:2,cpu1:1:1 --out $tmp/profiles$"

echo "plan cli: $((checks - failures)) passed, $failures failed"
[ "$failures" -eq 0 ]
