#!/usr/bin/env bash
# The soak through HTTP (docs/serving.md): `sparseloom loadgen` sends Poisson requests at twice
# the rate the server sustains (measured first, closed loop), and the server gets SIGTERM before
# the load ends. Checks: the server exits 0; every request it accepted was answered (what the
# client got, by status, equals what the server counted at its stop); its resident memory stayed
# bounded.
#   http_soak_test.sh SPARSELOOM TASK_FILE|ZOOS_DIR [SECONDS (12)]
# With a zoo folder (the test zoos: tiny_cnn, tiny_transformer) it profiles them first.
set -euo pipefail
bin=$1 input=$2 seconds=${3:-12}
source "$(cd "$(dirname "$0")" && pwd)/../../scripts/serve_helpers.sh"
python=${SPARSELOOM_PYTHON:-/usr/bin/python3}
tmp=$(mktemp -d)
server=""
cleanup() {
  [ -n "$server" ] && kill -9 "$server" 2>/dev/null || true
  [ -n "${KEEP:-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; [ -f "$tmp/server.log" ] && tail -20 "$tmp/server.log"; exit 1; }

if [ -d "$input" ]; then
  profile_test_zoos "$bin" "$input" 20 100
  tasks=$tmp/tasks.json
else
  tasks=$input
fi

"$bin" serve --tasks "$tasks" --port 0 --max-in-flight 16 >"$tmp/server.log" 2>&1 &
server=$!
url=$(server_url "$server" "$tmp/server.log") || fail "no 'listening on' line"

# What the server sustains: closed loop, then Poisson at twice that (split by the tasks' rates).
"$bin" loadgen --url "$url" --tasks "$tasks" --arrivals closed --window 4 --seconds 3 \
  --json "$tmp/closed.json" >/dev/null 2>&1 || fail "closed-loop loadgen"
scale=$("$python" - "$tmp/closed.json" "$tasks" <<'EOF'
import json, sys
report, tasks = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
sustained = sum(m["throughput_per_s"] for m in report["models"])
print(2 * sustained / sum(t["rate_per_s"] for t in tasks["tasks"]))
EOF
)
echo "soak: sustained closed loop, Poisson at 2x: rate scale $scale"

rss() { awk '/VmRSS/ {print $2}' "/proc/$server/status" 2>/dev/null || echo 0; }
"$bin" loadgen --url "$url" --tasks "$tasks" --seconds "$seconds" --rate-scale "$scale" \
  --connections 32 --json "$tmp/soak.json" >"$tmp/loadgen.log" 2>&1 &
loadgen=$!
: >"$tmp/rss.txt"
for _ in $(seq $((seconds * 2 - 4))); do  # SIGTERM about 2 s before the load ends
  rss >>"$tmp/rss.txt"
  sleep 0.5
done
kill -TERM "$server"
status=0
wait "$server" || status=$?
server=""
wait "$loadgen" || fail "loadgen: $(tail -5 "$tmp/loadgen.log")"
[ "$status" = 0 ] || fail "the server exited $status after SIGTERM"
cat "$tmp/loadgen.log" | grep -v "^loadgen: [0-9]" || true

"$python" - "$tmp/soak.json" "$tmp/server.log" "$tmp/rss.txt" "$tmp/closed.json" <<'EOF'
import json, re, sys
report = json.load(open(sys.argv[1]))
closed = {m["model"]: m["by_status"] for m in json.load(open(sys.argv[4]))["models"]}
server = {}
for line in open(sys.argv[2]):
    m = re.match(r"serve: answered (\S+): (.*)$", line.strip())
    if m:
        server[m.group(1)] = {int(k): int(v) for k, v in (kv.split("=") for kv in m.group(2).split())}
ok = True
for m in report["models"]:
    # The server counted the closed-loop run too.
    client = {int(k): v + closed[m["model"]].get(k, 0) for k, v in m["by_status"].items()}
    for status in (200, 400, 500, 503):
        if client.get(status, 0) != server.get(m["model"], {}).get(status, 0):
            print(f"FAIL: {m['model']} status {status}: client {client.get(status, 0)}, server {server.get(m['model'])}")
            ok = False
    print(f"soak: {m['model']}: client {client}, server {server.get(m['model'])}")
rss = [int(x) for x in open(sys.argv[3]).read().split() if int(x) > 0]
half = len(rss) // 2
print(f"soak: server RSS {min(rss) // 1024}-{max(rss) // 1024} MiB over the run")
if max(rss[half:]) > 1.25 * max(rss[:half]) + 20 * 1024:
    print("FAIL: resident memory grew in the second half of the run")
    ok = False
sys.exit(0 if ok else 1)
EOF
echo "http soak: ok"
