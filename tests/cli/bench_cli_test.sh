#!/usr/bin/env bash
# `sparseloom bench` as a user runs it, on the two test zoos: profile them quickly into a temporary
# folder, run a small bench (every platform, few episodes, two memory budgets) and check that the
# CSV files, plots and report exist and agree with each other, then the errors for a malformed
# device profile, a missing table and bad options. Small settings: the figures are not results,
# only the accounting.
# Usage: bench_cli_test.sh SPARSELOOM_BINARY TEST_ZOOS_DIR REPOSITORY_ROOT
set -uo pipefail
bin=$1
zoos=$(cd "${2:-${SPARSELOOM_TEST_ZOOS:?give the test zoos folder}}" && pwd) || exit 1
repo=$(cd "${3:?give the repository root}" && pwd) || exit 1
python=${PYTHON:-/usr/bin/python3}
export GLOG_minloglevel=2
tmp=$(mktemp -d /tmp/sparseloom-bench-cli.XXXXXX)
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
  "$@" >"$tmp/out" 2>"$tmp/err"
  rc=$?
  cat "$tmp/err" >>"$tmp/out.all" 2>/dev/null
  if [ "$rc" -ne "$rc_expected" ] || ! grep -qE -- "$pattern" "$tmp/out" "$tmp/err"; then
    fail "$name: exit $rc (expected $rc_expected), output lacks /$pattern/:"
    tail -n 30 "$tmp/out" "$tmp/err"
  else
    echo "ok   $name"
  fi
}
expect() {  # expect NAME PYTHON_EXPRESSION: evaluated with csv rows in v, t, pr, pl, m and md
  checks=$((checks + 1))
  if "$python" - "$tmp/bench" "$tmp/results.md" "$2" <<'EOF'; then
import csv, os, sys
d, doc, expr = sys.argv[1:4]
def rows(name):
    with open(os.path.join(d, name), newline="") as f:
        raw = list(csv.reader(f))
    if not raw or any(len(r) != len(raw[0]) for r in raw):
        sys.exit(f"{name}: rows of another length than the header")
    return [dict(zip(raw[0], r)) for r in raw[1:]]
v, t, pr, pl, m = (rows(n) for n in ("violations.csv", "throughput.csv", "profiling.csv",
                                     "placement.csv", "memory.csv"))
md = open(doc).read()
platforms = list(dict.fromkeys(r["platform"] for r in v))
sys.exit(0 if eval("(" + expr + ")") else 1)
EOF
    echo "ok   $1"
  else
    fail "$1: does not hold: $2"
  fi
}

cat >"$tmp/tasks.json" <<EOF
{"version": 1, "profile_dir": "profiles",
 "tasks": [
   {"name": "images", "zoo": "$zoos/tiny_cnn", "min_accuracy": 0.5, "max_latency_ms": 200, "rate_per_s": 40},
   {"name": "text", "zoo": "$zoos/tiny_transformer", "min_accuracy": 0.5, "max_latency_ms": 200, "rate_per_s": 20}]}
EOF
start=$SECONDS
check profile 0 "tiny-shapes-cnn: table" -- "$bin" profile "$zoos/tiny_cnn" "$zoos/tiny_transformer" \
  --out "$tmp/profiles" --budget-minutes 0 --stage-runs 5 --chain-runs 1
echo "     (profiled in $((SECONDS - start)) s)"

check help 0 "budgets, % of the full zoo set \(every stage on every processor\)" -- "$bin" bench --help
for option in --tasks --devices --slo-configs --orders --offered-load --placement-configs \
  --memory-tolerance-pp --doc; do
  checks=$((checks + 1))
  if grep -qE -- "^ +$option " "$tmp/out"; then echo "ok   help$option"; else fail "help$option: not in --help"; fi
done

devices=("$repo/devices/intel-core-ultra-7-265k.json" "$repo/devices/intel-core-ultra-5-135u.json"
  "$repo/devices/jetson-agx-orin.json")
common=(--devices "${devices[@]}" --host-device "$repo/devices/host.json"
  --plot-script "$repo/scripts/plot_bench.py" --python "$python")
start=$SECONDS
check bench 0 "^wrote $tmp/results.md$" -- "$bin" bench --tasks "$tmp/tasks.json" "${common[@]}" \
  --out "$tmp/bench" --doc "$tmp/results.md" --slo-configs 2 --orders 2 --phase-s 0.3 \
  --closed-configs 1 --placement-configs 1 --memory-configs 1 --memory-budgets 30,60
echo "     (bench in $((SECONDS - start)) s)"
checks=$((checks + 1))
if grep -q "^\[bench\] jetson-agx-orin: memory: 3 budgets" "$tmp/err"; then echo "ok   progress-on-stderr"; else fail "progress-on-stderr"; fi
for f in violations.csv violations_at_host_load.csv throughput.csv profiling.csv placement.csv \
  memory.csv violations.png throughput.png profiling.png placement.png memory.png; do
  checks=$((checks + 1))
  if [ -s "$tmp/bench/$f" ]; then echo "ok   wrote-$f"; else fail "wrote-$f: $tmp/bench/$f missing or empty"; fi
done

planners='["SparseLoom", "SV-AO-NP", "SV-AO-P", "SV-LO-NP", "SV-LO-P", "AV-NP", "AV-P"]'
expect platforms 'platforms == ["host", "intel-core-ultra-7-265k", "intel-core-ultra-5-135u", "jetson-agx-orin"]'
expect every-planner "all([r[\"planner\"] for r in v if r[\"platform\"] == p] == $planners for p in platforms)"
# Every planner of a platform is given the same requests (same seed: same episodes and arrivals).
expect same-workload 'all(len({r["requests"] for r in v if r["platform"] == p}) == 1 for p in platforms)'
expect violations-counted 'all(0 <= int(r["violations"]) <= int(r["requests"]) and int(r["requests"]) > 0
  and abs(float(r["violation_rate"]) - int(r["violations"]) / int(r["requests"])) < 1e-5
  and int(r["late"]) + int(r["inaccurate"]) + int(r["dropped"]) == int(r["violations"])
  and int(r["episodes_violated"]) <= int(r["task_episodes"]) == 2 * 2 * 2 for r in v)'
expect throughput 'all(float(r["measured_rps"]) > 0 for r in t)
  and all(abs(float(r["ratio_to_sv_ao_np"]) - 1) < 1e-9 for r in t if r["planner"] == "SV-AO-NP")'
expect profiling-modes 'all(sorted(r["mode"] for r in pr if r["platform"] == p and r["task"] == task) == ["exhaustive", "sampled"]
  for p in platforms for task in ("images", "text"))'
expect profiling-sampled-cheaper 'all(float(a["minutes"]) < float(b["minutes"]) for a in pr for b in pr
  if a["mode"] == "sampled" and b["mode"] == "exhaustive" and a["platform"] == b["platform"] and a["task"] == b["task"])'
expect profiling-host-measured 'all(float(r["measured_s"]) > 0 for r in pr if r["platform"] == "host" and r["mode"] == "sampled")'
# Fixed orders: the K! = 6 orders on the 3-processor SoCs, the 6 mappings that use both processors
# on the others; the free choice is SparseLoom's run of (a) on the same episodes.
expect placements 'all(sum(r["free"] == "0" for r in pl if r["platform"] == p) == 6
  and sum(r["free"] == "1" for r in pl if r["platform"] == p) == 1 for p in platforms)'
expect budgets 'all([float(r["budget_percent"]) for r in m if r["platform"] == p and r["policy"] == q] == [30, 60, 100]
  for p in platforms for q in ("hotness", "lru", "lfu", "none"))
  and all(int(r["preloaded"]) == 0 for r in m if r["policy"] != "hotness")
  and all(float(r["on_demand_load_ms"]) > 0 for r in m if r["policy"] == "none")
  and all(int(r["peak_resident_bytes"]) <= int(r["budget_bytes"]) for r in m)
  and all(abs(int(r["budget_bytes"]) - float(r["budget_percent"]) / 100 * int(r["full_set_bytes"])) <= 1 for r in m)'
# The report: every section, each target with a verdict per platform, numbers from the CSVs.
expect report-sections 'all(s in md for s in ("## Against the paper", "## (a) SLO violations", "## (b) Throughput",
  "## (c) Profiling time", "## (d) Fixed against optimized placement order", "## (e) Violation rate against the stage memory budget"))'
expect report-verdicts 'all(row.count("(met)") + row.count("(missed)") + row.count("n/a") == 5
  for row in md.split("## Against the paper")[1].split("\n## ")[0].splitlines() if row.startswith("| ") and "paper |" not in row)'
expect report-numbers 'all(("| SparseLoom | %s | %.1f%%" % (r["requests"], 100 * float(r["violation_rate"]))) in md
  for r in v if r["planner"] == "SparseLoom")'
expect report-command '"sparseloom bench --tasks " in md and "make results" in md'
expect report-plots '"](bench/violations.png)" in md'

# `--devices none`, as --help offers: the host platform alone.
start=$SECONDS
check host-only 0 "^wrote $tmp/host.md$" -- "$bin" bench --tasks "$tmp/tasks.json" --devices none \
  --host-device "$repo/devices/host.json" --out "$tmp/host" --doc "$tmp/host.md" --no-plots \
  --slo-configs 1 --orders 1 --phase-s 0.2 --closed-configs 1 --placement-configs 1 \
  --memory-configs 1 --memory-budgets 50
echo "     (host-only bench in $((SECONDS - start)) s)"
checks=$((checks + 1))
if [ "$(cut -d, -f1 "$tmp/host/violations.csv" | sort -u | tr '\n' ' ')" = "host platform " ]; then
  echo "ok   host-only-platforms"
else
  fail "host-only-platforms: $(cut -d, -f1 "$tmp/host/violations.csv" | sort -u | tr '\n' ' ')"
fi

# Errors: exit 1, the file and the field named, and no report written.
bad() {  # bad NAME PATTERN ARGS...
  local name=$1 pattern=$2
  shift 2
  rm -f "$tmp/bad.md"
  check "$name" 1 "$pattern" -- "$bin" bench "$@" --out "$tmp/bad" --doc "$tmp/bad.md" --no-plots
  checks=$((checks + 1))
  if [ -e "$tmp/bad.md" ]; then fail "$name-no-report: $tmp/bad.md was written"; else echo "ok   $name-no-report"; fi
}
"$python" - "$repo/devices/jetson-agx-orin.json" "$tmp/typo.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
d["processors"][1]["memory_bandwith"] = d["processors"][1].pop("memory_bytes_per_s")
json.dump(d, open(sys.argv[2], "w"))
EOF
bad malformed-device "^error: $tmp/typo.json: processors\[1\]" --tasks "$tmp/tasks.json" \
  --devices "$tmp/typo.json" --host-device "$repo/devices/host.json"
bad missing-device "^error: $tmp/none.json" --tasks "$tmp/tasks.json" --devices "$tmp/none.json" \
  --host-device "$repo/devices/host.json"
sed "s#\"profile_dir\": \"profiles\"#\"profile_dir\": \"$tmp/empty\"#" "$tmp/tasks.json" >"$tmp/untabled.json"
bad missing-table "no performance table at $tmp/empty/tiny-shapes-cnn/performance_table.json" \
  --tasks "$tmp/untabled.json" "${common[@]}"
bad bad-budget "^error: --memory-budgets: expected percentages in \(0, 100\], got 150" \
  --tasks "$tmp/tasks.json" "${common[@]}" --memory-budgets 50,150
bad bad-placements "^error: --placements: expected any or orders" --tasks "$tmp/tasks.json" \
  "${common[@]}" --placements some

echo "bench cli: $((checks - failures)) passed, $failures failed"
[ "$failures" -eq 0 ]
