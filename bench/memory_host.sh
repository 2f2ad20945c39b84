#!/usr/bin/env bash
# The memory experiment on the real host (docs/runtime.md, "Cache policies on this host"): the
# same episodes, with SLO changes, served for real at each budget under each cache policy, with a
# fixed latency scale so that every run plans on the same latencies. Per run: violation rate,
# on-demand loads and their measured time, peak resident stage bytes, RSS growth; and the
# resident-bytes-against-RSS trace of each run, plotted (scripts/plot_memory.py).
#   bench/memory_host.sh SPARSELOOM TASK_FILE OUT_DIR BUDGETS [POLICIES] [-- RUN OPTIONS...]
#   BUDGETS: comma list of --cache-budget values (e.g. 8%,15%); POLICIES: default hotness,lru,lfu,none
set -euo pipefail
bin=$1 tasks=$2 out=$3 budgets=$4
shift 4
policies=hotness,lru,lfu,none
if [ $# -gt 0 ] && [ "$1" != "--" ]; then
  policies=$1
  shift
fi
[ "${1:-}" = "--" ] && shift
python=${SPARSELOOM_PYTHON:-/usr/bin/python3}
export LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export GLOG_minloglevel=2
mkdir -p "$out"

for budget in ${budgets//,/ }; do
  for policy in ${policies//,/ }; do
    name="budget${budget%\%}-$policy"
    echo "== $name" >&2
    "$bin" run --tasks "$tasks" --planner sparseloom --cache-budget "$budget" --cache-policy "$policy" \
      --memory-trace "$out/$name.csv" --json "$out/$name.json" "$@" >"$out/$name.log"
    budget_bytes=$("$python" -c 'import json,sys; print(json.load(open(sys.argv[1]))["cache_budget_bytes"])' "$out/$name.json")
    "$python" scripts/plot_memory.py "$out/$name.csv" --budget-bytes "$budget_bytes" >/dev/null
  done
done

"$python" - "$out" <<'PY'
import glob, json, os, sys
rows = []
for path in sorted(glob.glob(os.path.join(sys.argv[1], "budget*.json"))):
    j = json.load(open(path))
    run, m = j["runs"][0], j["memory"]
    rows.append((j["cache_budget_bytes"] / j["full_zoo_set_bytes"], j["cache_policy"], run["requests"],
                 run["violation_rate"], m["on_demand_loads"], m["on_demand_load_ms"],
                 m["peak_resident_stage_bytes"], j["cache_budget_bytes"], m["rss_bytes"] - m["rss_start_bytes"]))
order = {"hotness": 0, "lru": 1, "lfu": 2, "none": 3}
rows.sort(key=lambda r: (r[0], order.get(r[1], 9)))
print("| budget | policy | requests | violated | on-demand loads | load time | peak resident stages / budget | RSS growth |")
print("|---|---|---|---|---|---|---|---|")
mib = 1024.0 * 1024.0
for share, policy, n, rate, loads, load_ms, peak, budget, rss in rows:
    print(f"| {100 * share:.0f}% | {policy} | {n} | {100 * rate:.1f}% | {loads} | {load_ms / 1000:.2f} s | "
          f"{peak / mib:.1f} / {budget / mib:.1f} MiB | {rss / mib:.1f} MiB |")
PY
