#!/usr/bin/env bash
# `make demo`: build the four demo zoos once (docs/demo-zoos.md), inspect each and evaluate a
# stitched variant of each, profile them (docs/profiler.md), then serve the four tasks at once
# under SparseLoom and the six baselines for a short, bounded run (docs/runtime.md), writing the
# results, plots and a pipeline trace to results/. A second run reuses the zoos and tables.
set -euo pipefail
build=${1:-build}
zoos=${2:-zoos}
bin=$build/src/sparseloom
python=${PYTHON:-/usr/bin/python3}
export LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export GLOG_minloglevel=2
# task spec : the data module it imports (both in tools/zoo/tasks/)
tasks="fmnist_resnet:fashion_mnist sentiment_bert:sentiment_sentences har_vit:accelerometer keywords_wav2vec2:keywords"

bash scripts/fetch_data.sh
mkdir -p "$zoos"
zoos=$(cd "$zoos" && pwd)
for entry in $tasks; do
  task=${entry%%:*}
  echo "== building zoo $task (cached after the first run)"
  # The builder's cache hashes only the spec file: rebuild too when the modules it imports change.
  deps=$(cat tools/zoo/tasks/__init__.py "tools/zoo/tasks/${entry##*:}.py" | sha256sum | cut -c1-16)
  force=$([ "$(cat "$zoos/$task.deps" 2>/dev/null)" = "$deps" ] || echo --force)
  # Passive OpenMP waiting: on a busy shared machine, spinning threads made training up to 6x slower.
  (cd tools/zoo && OMP_WAIT_POLICY=PASSIVE "$python" -m sparseloom_zoo build --spec "tasks/$task.py" \
    --out "$zoos/$task" --seed 0 $force)
  echo "$deps" > "$zoos/$task.deps"
done

for entry in $tasks; do
  task=${entry%%:*}
  echo
  echo "== sparseloom zoo inspect $zoos/$task"
  "$bin" zoo inspect "$zoos/$task"
  echo
  echo "== sparseloom zoo eval $zoos/$task --stitch int8,struct50,bf16"
  "$bin" zoo eval "$zoos/$task" --stitch int8,struct50,bf16 --runs 100
done

results=${RESULTS:-results}
mkdir -p "$results"
echo
echo "== sparseloom profile (sampled performance tables, reused while zoos and processors stay the same)"
"$bin" profile "$zoos/fmnist_resnet" "$zoos/sentiment_bert" "$zoos/har_vit" "$zoos/keywords_wav2vec2" \
  --processors cpu0:0:1,cpu1:1:1 --budget-minutes 1
for entry in $tasks; do
  task=${entry%%:*}
  "$python" scripts/plot_profile.py "$zoos/$task/profile/stitched.csv" \
    -o "$results/$task-accuracy-latency.png" --task "$task"
done

# The demo's task file: the four tasks at once. Each episode's SLOs come from the tight / medium /
# loose grid of each zoo (--slo-configs); the task file's SLOs are only its defaults. The rates load
# the busiest processor to about a third under SparseLoom's plan, and past 100% under SV-AO's.
cat > "$results/demo_tasks.json" <<EOF
{"version": 1,
 "processors": "cpu0:0:1,cpu1:1:1",
 "tasks": [
   {"name": "image", "zoo": "$zoos/fmnist_resnet", "min_accuracy": 0.85, "max_latency_ms": 20, "rate_per_s": 160},
   {"name": "sentiment", "zoo": "$zoos/sentiment_bert", "min_accuracy": 0.75, "max_latency_ms": 20, "rate_per_s": 80},
   {"name": "activity", "zoo": "$zoos/har_vit", "min_accuracy": 0.75, "max_latency_ms": 20, "rate_per_s": 80},
   {"name": "keywords", "zoo": "$zoos/keywords_wav2vec2", "min_accuracy": 0.2, "max_latency_ms": 20, "rate_per_s": 40}]}
EOF
echo
echo "== sparseloom run: the four tasks under SparseLoom and the six baselines (same workload each)"
# Ten SLO configurations (40 phases of 1 s per planner, about 5 minutes for all seven): with two,
# the ranking of the planners was noise (docs/simulation.md, "Simulated vs real").
"$bin" run --tasks "$results/demo_tasks.json" --planner all --slo-configs 10 --phase-s 1 \
  --json "$results/demo_run.json" --trace "$results/demo_trace.json"
"$python" scripts/plot_run.py "$results/demo_run.json" -o "$results/demo_run.png"
echo
echo "demo done: results, plots and the trace are in $results/"
