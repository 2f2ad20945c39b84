#!/usr/bin/env bash
# Runs every case of the malformed-input corpus through the sparseloom command and checks its exit
# status and its exact error output (tests/corpus/README.md).
# Usage: run_corpus.sh SPARSELOOM_BINARY TEST_ZOOS_DIR [CASE_DIR...]
#   UPDATE=1 run_corpus.sh ... rewrites each case's `expected` from what the command printed
#   (review the diff before committing it).
set -uo pipefail
bin=$(realpath "$1")
zoos=$(cd "$2" && pwd) || exit 1
shift 2
corpus=$(cd "$(dirname "$0")" && pwd)
export GLOG_minloglevel=2 SPARSELOOM_TEST_ZOOS=$zoos PYTHONPATH=$corpus PYTHONDONTWRITEBYTECODE=1
tmp=$(mktemp -d /tmp/sparseloom-corpus.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# A case with a file `unprivileged` (an unreadable file) runs without the capabilities that let
# root read any file; where they cannot be dropped, the case is skipped and said so.
unprivileged=()
if [ "$(id -u)" -eq 0 ]; then
  unprivileged=(setpriv --inh-caps=-all --bounding-set=-dac_override,-dac_read_search)
  "${unprivileged[@]}" true 2>/dev/null || unprivileged=(cannot)
fi

cases=("$@")
[ ${#cases[@]} -gt 0 ] || mapfile -t cases < <(find "$corpus" -mindepth 2 -maxdepth 2 -type d | sort)
passed=0
failed=0
for case_dir in "${cases[@]}"; do
  case_dir=$(cd "$case_dir" && pwd)
  name=${case_dir#"$corpus"/}
  work=$tmp/${name//\//-}
  mkdir -p "$work"
  cp -r "$case_dir"/. "$work"/
  ln -s "$zoos" "$work/zoos"
  fail() {
    echo "FAIL $name: $1"
    failed=$((failed + 1))
  }
  if [ -f "$work/setup.py" ] && ! (cd "$work" && python3 setup.py) >"$work/.setup.log" 2>&1; then
    fail "setup.py failed:"
    cat "$work/.setup.log"
    continue
  fi
  # The command line, @CASE@ standing for this case's temporary folder. No word holds a space.
  read -r -a args <<<"$(sed "s#@CASE@#$work#g" "$case_dir/command")"
  prefix=()
  if [ -f "$case_dir/unprivileged" ]; then
    if [ "${unprivileged[*]-}" = cannot ]; then
      echo "skip $name: root here, and setpriv cannot drop the capabilities that read any file"
      continue
    fi
    prefix=("${unprivileged[@]}")
  fi
  timeout 120 "${prefix[@]}" "$bin" "${args[@]}" >"$work/.stdout" 2>"$work/.stderr"
  rc=$?
  # Paths in messages are written @CASE@ and @ZOOS@ in `expected`, so that the corpus does not
  # depend on where the build and /tmp are; SHA-256 prefixes @SHA256@, since the test zoos are
  # trained on each machine and their stage files' bytes differ from one to the next.
  actual=$(printf 'exit %s\n' "$rc"
    sed -E -e "s#$work#@CASE@#g" -e "s#$zoos#@ZOOS@#g" -e 's#\b[0-9a-f]{12}\.\.\.#@SHA256@...#g' \
      "$work/.stderr")
  if [ "${UPDATE:-0}" = 1 ]; then
    printf '%s\n' "$actual" >"$case_dir/expected"
  fi
  if [ "$actual" = "$(cat "$case_dir/expected")" ]; then
    echo "ok   $name"
    passed=$((passed + 1))
  else
    fail "the command printed something else (expected, then actual):"
    cat "$case_dir/expected"
    echo "---"
    printf '%s\n' "$actual"
  fi
done
echo "corpus: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
