#!/usr/bin/env bash
# `make demo`: build the four demo zoos once (docs/demo-zoos.md), then inspect each and evaluate a
# stitched variant of each with the sparseloom command. A second run reuses the zoos.
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
