# Shared by the scripts that start `sparseloom serve` (tests/serve/*.sh, bench/http_overhead.sh);
# sourced, with $tmp set.

# Profiles the test zoos (tiny_cnn, tiny_transformer) quickly into $tmp/profiles and writes a task
# file of both to $tmp/tasks.json: profile_test_zoos SPARSELOOM ZOOS MAX_LATENCY_MS RATE_PER_S
profile_test_zoos() {
  local bin=$1 zoos=$2 latency=$3 rate=$4
  "$bin" profile "$zoos/tiny_cnn" "$zoos/tiny_transformer" --out "$tmp/profiles" \
    --budget-minutes 0 --stage-runs 5 --chain-runs 1 --processors cpu0:0:1,cpu1:1:1 \
    >"$tmp/profile.log" 2>&1 || { cat "$tmp/profile.log"; return 1; }
  cat >"$tmp/tasks.json" <<JSON
{"version": 1, "processors": "cpu0:0:1,cpu1:1:1", "profile_dir": "profiles",
 "tasks": [
   {"name": "image", "zoo": "$zoos/tiny_cnn", "min_accuracy": 0.0, "max_latency_ms": $latency,
    "rate_per_s": $rate},
   {"name": "text", "zoo": "$zoos/tiny_transformer", "min_accuracy": 0.0,
    "max_latency_ms": $latency, "rate_per_s": $rate}]}
JSON
}

# Waits until the server (pid $1, log $2) listens and prints its URL.
server_url() {
  local pid=$1 log=$2
  for _ in $(seq 600); do
    grep -q "listening on" "$log" && break
    kill -0 "$pid" 2>/dev/null || { echo "the server exited:" >&2; tail -20 "$log" >&2; return 1; }
    sleep 0.2
  done
  grep -o "http://127.0.0.1:[0-9]*" "$log" | head -1
}
