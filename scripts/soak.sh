#!/usr/bin/env bash
# The soak test (docs/reliability.md): `sparseloom run` on a task file at twice its sustainable
# rate with a stage cache budget, then the same with one worker failing mid-run, each under a
# watchdog. From the JSON results it checks that every request ended completed or counted
# (submitted = completed + dropped + failed, per episode and per task), that the resident stage
# bytes never passed the budget, that the fault was re-planned, and that no run hung.
#
# Usage: scripts/soak.sh SPARSELOOM_BINARY TASK_FILE OUT_DIR
#   The task file's tables must be fresh (`sparseloom plan --tasks TASK_FILE` says how).
#   SOAK_PHASE_S  seconds per arrival phase (default 10: an episode of T tasks lasts T x 10 s)
#   SOAK_BUDGET   --cache-budget of the overload and fault runs (default 50%)
#   SOAK_FAIL     the processor that fails (default: the setup's last)
#   SOAK_WATCHDOG seconds before a run counts as hung (default 120 + 3 x the episode)
# Writes OUT_DIR/{closed,overload,fault}.json, the logs, and OUT_DIR/summary.md.
set -uo pipefail
bin=$1
tasks=$2
out=$3
phase_s=${SOAK_PHASE_S:-10}
budget=${SOAK_BUDGET:-50%}
mkdir -p "$out"
export GLOG_minloglevel=2
num_tasks=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["tasks"]))' "$tasks") || exit 1
episode_s=$(python3 -c "print($num_tasks * $phase_s)")
watchdog=${SOAK_WATCHDOG:-$(python3 -c "print(int(120 + 3 * $episode_s))")}

# run NAME ARGS...: one `sparseloom run` under the watchdog; exit 124 means it hung.
run() {
  local name=$1
  shift
  local start=$SECONDS rc
  timeout --kill-after=10 "$watchdog" "$bin" run --tasks "$tasks" --phase-s "$phase_s" \
    --json "$out/$name.json" "$@" >"$out/$name.log" 2>&1
  rc=$?
  echo "soak: $name: exit $rc after $((SECONDS - start)) s (watchdog ${watchdog} s)"
  if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
    echo "soak: FAIL $name hung: killed by the watchdog; its log:"
    tail -20 "$out/$name.log"
    exit 1
  fi
  if [ "$rc" -ne 0 ]; then
    echo "soak: FAIL $name: exit $rc; its log:"
    tail -20 "$out/$name.log"
    exit 1
  fi
}

# 1. The sustainable rate: closed loop, all tasks present, every planned stage resident.
run closed --arrivals closed
read -r sustainable scale fail_default < <(python3 - "$out/closed.json" "$tasks" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
rates = sum(t["rate_per_s"] for t in json.load(open(sys.argv[2]))["tasks"])
rps = d["runs"][0]["closed_loop"][0]["measured_rps"]
if rates <= 0 or rps <= 0:
    sys.exit("soak: no sustainable rate measured, or every task's rate_per_s is 0")
print(f"{rps:.2f}", f"{2 * rps / rates:.4f}", d["processors"][-1]["name"])
EOF
) || exit 1
fail=${SOAK_FAIL:-$fail_default}
echo "soak: sustainable ${sustainable} requests/s with every task present; overload at twice that (--rate-scale $scale)"

# 2. Overload with a stage cache budget; 3. the same with a worker failing half-way through the
# last phase (every task present).
run overload --rate-scale "$scale" --cache-budget "$budget"
run fault --rate-scale "$scale" --cache-budget "$budget" --fail-processor "$fail" \
  --fail-after-s "$(python3 -c "print(($num_tasks - 0.5) * $phase_s)")"

python3 - "$out" "$fail" "$sustainable" "$scale" "$budget" "$phase_s" <<'EOF'
import json, sys
out, fail, sustainable, scale, budget, phase_s = sys.argv[1:]
problems = []
rows = []
for name in ["overload", "fault"]:
    d = json.load(open(f"{out}/{name}.json"))
    m = d["memory"]
    for r in d["runs"]:
        for e in r["episodes"]:
            if e["submitted"] != e["completed"] + e["dropped"] + e["failed"]:
                problems.append(f"{name}: episode {e['name']}: {e['submitted']} submitted != "
                                f"{e['completed']} completed + {e['dropped']} dropped + {e['failed']} failed")
        for t in r["tasks"]:
            if t["requests"] != t["completed"] + t["dropped"] + t["failed"]:
                problems.append(f"{name}: task {t['task']}: requests not accounted for")
        if sum(t["requests"] for t in r["tasks"]) != sum(e["submitted"] for e in r["episodes"]):
            problems.append(f"{name}: per-task requests do not add up to the episodes'")
        if name == "fault" and sum(p["replans"] for e in r["episodes"] for p in e["phases"]) < 1:
            problems.append("fault: the failed processor was never re-planned around")
        if name == "fault" and any(fail in pl for e in r["episodes"] for t in e["phases"][-1]["plan"]
                                   for pl in [t["placement"]]):
            problems.append(f"fault: the last plan still uses {fail}")
    if not 0 < d["cache_budget_bytes"]:
        problems.append(f"{name}: no cache budget")
    if m["peak_resident_stage_bytes"] > d["cache_budget_bytes"]:
        problems.append(f"{name}: peak resident {m['peak_resident_stage_bytes']} B > budget {d['cache_budget_bytes']} B")
    r = d["runs"][0]
    e = r["episodes"]
    rows.append([name, sum(x["submitted"] for x in e), sum(x["completed"] for x in e),
                 sum(x["dropped"] for x in e), sum(x["failed"] for x in e), sum(x["rerun"] for x in e),
                 r["violations"], f"{100 * r['violation_rate']:.1f}%",
                 f"{m['peak_resident_stage_bytes'] / 2**20:.1f} MiB", f"{d['cache_budget_bytes'] / 2**20:.1f} MiB",
                 f"{m['rss_bytes'] / 2**20:.0f} MiB", f"{r['wall_s']:.1f}"])
head = ["run", "requests", "completed", "dropped", "failed", "re-run", "SLO violations", "violation rate",
        "peak resident stages", "budget", "RSS", "wall s"]
table = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
table += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
summary = [f"sustainable rate {sustainable} requests/s (closed loop, all tasks present); overload "
           f"--rate-scale {scale} (twice that); --cache-budget {budget}; --phase-s {phase_s}; "
           f"fault: {fail} fails half-way through the last phase of each episode", ""] + table
open(f"{out}/summary.md", "w").write("\n".join(summary) + "\n")
print("\n".join(summary))
for p in problems:
    print("soak: FAIL " + p)
print(f"soak: {'every request accounted for, memory under budget, no hang' if not problems else 'FAILED'}")
sys.exit(1 if problems else 0)
EOF
