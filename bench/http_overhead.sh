#!/usr/bin/env bash
# What HTTP costs (docs/serving.md "HTTP against in-process"): the same workloads through
# `sparseloom serve` on loopback and through the application API in one process, by
# `sparseloom loadgen` (--url / --in-process), alternating in rounds:
#   latency:    closed loop, one request in flight per model: median latency, HTTP minus in-process
#   throughput: closed loop, WINDOW in flight per model: requests/s, HTTP over in-process
#   violations: Poisson at the task file's rates: SLO violation rate, HTTP minus in-process
# Prints each round and the median over rounds.
#   [SPIN_US=0] bench/http_overhead.sh SPARSELOOM TASK_FILE|TEST_ZOOS [SECONDS (5)] [ROUNDS (3)] [WINDOW (4)]
# With the test zoos' folder it profiles them and serves both at 100 requests/s, 20 ms.
set -euo pipefail
source "$(cd "$(dirname "$0")" && pwd)/../scripts/serve_helpers.sh"
bin=$1 tasks=$2 seconds=${3:-5} rounds=${4:-3} window=${5:-4}
spin=${SPIN_US:-0}  # the workers' polling, the same on both sides (serve --worker-spin-us)
python=${SPARSELOOM_PYTHON:-/usr/bin/python3}
tmp=$(mktemp -d)
server=""
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$tmp"' EXIT

if [ -d "$tasks" ]; then  # the test zoos: profile them first (the task file names them absolute)
  profile_test_zoos "$bin" "$(cd "$tasks" && pwd)" 20 100
  tasks=$tmp/tasks.json
fi

"$bin" serve --tasks "$tasks" --port 0 --worker-spin-us "$spin" >"$tmp/server.log" 2>&1 &
server=$!
url=$(server_url "$server" "$tmp/server.log")

run() {  # NAME TARGET-OPTION... LOADGEN-OPTIONS...
  local name=$1
  shift
  "$bin" loadgen --tasks "$tasks" --seconds "$seconds" --json "$tmp/$name.json" "$@" \
    >"$tmp/$name.log" 2>&1 || { cat "$tmp/$name.log"; exit 1; }
}
for r in $(seq "$rounds"); do
  for target in http local; do
    opt=(--url "$url")
    [ "$target" = local ] && opt=(--in-process --worker-spin-us "$spin")
    run "latency-$target-$r" "${opt[@]}" --arrivals closed --window 1
    run "throughput-$target-$r" "${opt[@]}" --arrivals closed --window "$window"
    run "violations-$target-$r" "${opt[@]}" --arrivals poisson --connections 16
  done
done

"$python" - "$tmp" "$rounds" "$tasks" "$seconds" "$window" <<'EOF'
import json, statistics, sys
tmp, rounds, tasks, seconds, window = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
load = lambda name: json.load(open(f"{tmp}/{name}.json"))["models"]
print(f"HTTP against in-process on loopback, {tasks}, {seconds} s per run, {rounds} rounds")
print("round  model       p50_http_ms  p50_inproc_ms  added_us  |  req/s_http  req/s_inproc  ratio  |  viol_http  viol_inproc  diff_pp")
added, ratios, diffs = {}, [], []
for r in range(1, rounds + 1):
    lh, ll = load(f"latency-http-{r}"), load(f"latency-local-{r}")
    th, tl = load(f"throughput-http-{r}"), load(f"throughput-local-{r}")
    vh, vl = load(f"violations-http-{r}"), load(f"violations-local-{r}")
    ratio = sum(m["throughput_per_s"] for m in th) / sum(m["throughput_per_s"] for m in tl)
    sent = lambda ms: sum(m["sent"] for m in ms)
    viol = lambda ms: 100.0 * sum(m["violations"] for m in ms) / sent(ms)
    diff = viol(vh) - viol(vl)
    ratios.append(ratio)
    diffs.append(diff)
    for a, b in zip(lh, ll):
        us = 1000.0 * (a["p50_ms"] - b["p50_ms"])
        added.setdefault(a["model"], []).append(us)
        print(f"{r:5d}  {a['model']:<10} {a['p50_ms']:12.3f} {b['p50_ms']:14.3f} {us:9.0f}  |  "
              f"{sum(m['throughput_per_s'] for m in th):10.1f} {sum(m['throughput_per_s'] for m in tl):13.1f} {ratio:6.3f}  |  "
              f"{viol(vh):8.2f}% {viol(vl):10.2f}% {diff:+8.2f}")
print("median over rounds:")
for model, values in added.items():
    print(f"  {model}: HTTP adds {statistics.median(values):.0f} us to the median batch-1 latency (target <= 150)")
print(f"  closed-loop throughput (window {window} per model), HTTP / in-process: {statistics.median(ratios):.3f} (target >= 0.90)")
print(f"  Poisson SLO violation rate, HTTP minus in-process: {statistics.median(diffs):+.2f} pp (target within 2)")
EOF
