#!/usr/bin/env bash
# `make demo`: build the example zoos once (cached), then inspect them, check every stage file and
# evaluate a stitched variant of each with the sparseloom command.
set -euo pipefail
build=${1:-build}
zoos=${2:-zoos}
bin=$build/src/sparseloom
python=${PYTHON:-/usr/bin/python3}
export LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export GLOG_minloglevel=2
mkdir -p "$zoos"
zoos=$(cd "$zoos" && pwd)

for spec in tiny_cnn tiny_transformer; do
  echo "== building zoo $spec (cached after the first run)"
  (cd tools/zoo && "$python" -m sparseloom_zoo build --spec "examples/$spec.py" --out "$zoos/$spec" --seed 0)
done

for spec in tiny_cnn tiny_transformer; do
  echo
  echo "== sparseloom zoo inspect $zoos/$spec"
  "$bin" zoo inspect "$zoos/$spec"
  echo
  echo "== sparseloom zoo verify $zoos/$spec"
  "$bin" zoo verify "$zoos/$spec"
  echo
  echo "== sparseloom zoo eval $zoos/$spec --stitch dense,us90,struct50"
  "$bin" zoo eval "$zoos/$spec" --stitch dense,us90,struct50 --runs 100
done
