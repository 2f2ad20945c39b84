#!/usr/bin/env bash
# Fetches or generates the demo tasks' data into data/ (git-ignored; docs/demo-zoos.md says what
# each set is). Idempotent: a set already in place at the same version is skipped in milliseconds.
# Every set is written to a temporary folder and renamed into place only when complete, so an
# interrupted run never leaves a half-written set behind.
set -euo pipefail
cd "$(dirname "$0")/.."
data=${SPARSELOOM_DATA:-data}
python=${PYTHON:-/usr/bin/python3}
mkdir -p "$data"
data=$(cd "$data" && pwd)

# place NAME VERSION FUNCTION: unless $data/NAME holds VERSION, run FUNCTION to fill the empty
# folder $tmp, then swap it in for $data/NAME.
place() {
  local name=$1 version=$2 make=$3
  [ "$(cat "$data/$name/VERSION" 2>/dev/null)" = "$version" ] && return 0
  echo "fetch_data: $name"
  tmp="$data/.$name.tmp-$$"
  rm -rf "$tmp" "$tmp.old" && mkdir -p "$tmp"
  trap 'rm -rf "$tmp"' EXIT
  "$make"
  echo "$version" > "$tmp/VERSION"
  [ -e "$data/$name" ] && mv "$data/$name" "$tmp.old"
  mv "$tmp" "$data/$name"
  rm -rf "$tmp.old"
  trap - EXIT
}

# Fashion-MNIST (real, 60k/10k): Debian's dataset-fashion-mnist.
fmnist() { cp /usr/share/datasets/fashion-mnist/*-ubyte.gz "$tmp/"; }
place fashion-mnist "debian dataset-fashion-mnist" fmnist

# UCI Sentiment Labelled Sentences (real, 3,000 sentences), shipped by npm's sentiment@5.0.2.
sentiment() {
  # npm comes with this machine kind's nodejs; Debian's own nodejs needs the separate npm package.
  command -v npm >/dev/null || { [ "$(id -u)" -eq 0 ] || SUDO=sudo; ${SUDO:-} apt-get install -y -q npm; }
  npm install --silent --no-audit --no-fund --prefix "$tmp/npm" sentiment@5.0.2 >/dev/null
  cp "$tmp"/npm/node_modules/sentiment/test/fixtures/{amazon,imdb,yelp}.json "$tmp/"
  rm -rf "$tmp/npm"
}
place sentiment "npm sentiment@5.0.2" sentiment

# Spoken keywords (synthetic: espeak-ng, flite, sox), remade whenever their generator changes.
keywords() { (cd tools/zoo && "$python" -m tasks.keywords "$tmp"); }
place keywords "$(sha256sum tools/zoo/tasks/keywords.py | cut -c1-16)" keywords
echo "fetch_data: ok ($data)"
