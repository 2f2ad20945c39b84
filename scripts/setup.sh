#!/usr/bin/env bash
# Installs everything SparseLoom needs on a fresh Debian 12 machine. Idempotent: a second run
# installs nothing and takes a second.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config clang-format
  clang libclang-rt-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libtorch-dev python3-torch python3-numpy
  libopenblas0-openmp
  libxgboost-dev
  nlohmann-json3-dev libcli11-dev libspdlog-dev libfmt-dev
  dataset-fashion-mnist espeak-ng flite sox
  python3-matplotlib
  libcpp-httplib-dev libssl-dev python3-requests curl
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q "${missing[@]}"
fi

# Debian's libtorch links the generic libblas.so.3; the reference BLAS makes transformers 15-20x
# slower. Point the alternative at the OpenMP OpenBLAS (the pthread build fights libtorch's OpenMP).
openblas=/usr/lib/x86_64-linux-gnu/openblas-openmp/libblas.so.3
current=$(readlink -f /etc/alternatives/libblas.so.3-x86_64-linux-gnu 2>/dev/null || true)
if [ "$current" != "$(readlink -f "$openblas")" ]; then
  echo "setup: pointing libblas.so.3 at the OpenMP OpenBLAS"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO update-alternatives --set libblas.so.3-x86_64-linux-gnu "$openblas"
fi
bash scripts/fetch_data.sh
echo "setup: ok"
