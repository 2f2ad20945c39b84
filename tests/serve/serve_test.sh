#!/usr/bin/env bash
# `sparseloom serve` on the two test zoos, as a user runs it: a quick profile, the server with a
# control token, the protocol with curl (JSON), then tests/serve/conformance.py with Python
# requests + numpy (binary data, outputs against the stitched variant in-process, every error,
# control, metrics), then SIGTERM: exit 0 once the accepted requests are answered.
set -euo pipefail
bin=$1 zoos=$2 here=$(cd "$(dirname "$0")" && pwd)
source "$here/../../scripts/serve_helpers.sh"
python=${SPARSELOOM_PYTHON:-/usr/bin/python3}
tmp=$(mktemp -d)
server=""
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; [ -f "$tmp/server.log" ] && tail -20 "$tmp/server.log"; exit 1; }

profile_test_zoos "$bin" "$zoos" 1000 20
printf 'test-token-%s\n' "$RANDOM$RANDOM" >"$tmp/token"
chmod 600 "$tmp/token"

# Errors before serving: a token on the command line is not an option; a missing token file.
"$bin" serve --tasks "$tmp/tasks.json" --control-token-file "$tmp/none" >"$tmp/err.log" 2>&1 &&
  fail "serve with a missing token file exited 0"
grep -q "does not exist" "$tmp/err.log" || fail "missing token file: $(cat "$tmp/err.log")"

"$bin" serve --tasks "$tmp/tasks.json" --port 0 --control-token-file "$tmp/token" \
  --max-body-mb 1 >"$tmp/server.log" 2>&1 &
server=$!
url=$(server_url "$server" "$tmp/server.log") || fail "no 'listening on' line"
grep -q "test-token" "$tmp/server.log" && fail "the token was logged"

# curl, JSON.
[ "$(curl -s -o /dev/null -w '%{http_code}' "$url/v2/health/ready")" = 200 ] || fail "ready"
curl -sf "$url/v2/models/image" | grep -q '"shape":\[-1,1,16,16\]' || fail "model metadata"
"$python" - >"$tmp/req.json" <<'EOF'
import json
print(json.dumps({"id": "curl-1", "inputs": [{"name": "input", "shape": [1, 1, 16, 16],
                  "datatype": "FP32", "data": [0.5] * 256}]}))
EOF
curl -sf -H 'Content-Type: application/json' -d @"$tmp/req.json" "$url/v2/models/image/infer" \
  >"$tmp/resp.json" || fail "curl infer"
grep -q '"id":"curl-1"' "$tmp/resp.json" || fail "id not echoed: $(cat "$tmp/resp.json")"
grep -q '"sparseloom_stitched":"' "$tmp/resp.json" || fail "no stitched variant"
grep -q '"shape":\[1,8\]' "$tmp/resp.json" || fail "output shape: $(cat "$tmp/resp.json")"
code=$(curl -s -o "$tmp/err.json" -w '%{http_code}' -d '{"inputs": 3}' "$url/v2/models/image/infer")
[ "$code" = 400 ] || fail "bad request gave $code"
grep -qF '{"error":"request: inputs: expected an array, got 3"}' "$tmp/err.json" ||
  fail "bad request message: $(cat "$tmp/err.json")"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$url/v2/models/nosuch")" = 404 ] || fail "404"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$url/v2/nothing")" = 404 ] || fail "no endpoint"
curl -sf "$url/metrics" | grep -q '^nv_inference_request_success{model="image",version="1"} 1$' ||
  fail "metrics after one curl inference"

# Python requests + numpy: binary data, in-process outputs, errors, control, metrics. The
# conformance script counts its own requests; the curl ones above are two for image.
"$python" "$here/conformance.py" "$url" "$tmp/token" "$tmp/tasks.json" ||
  fail "conformance"

kill -TERM "$server"
status=0
wait "$server" || status=$?
server=""
[ "$status" = 0 ] || fail "exit status $status after SIGTERM"
grep -q "serve: stopped" "$tmp/server.log" || fail "no 'stopped' line"
grep -q "test-token" "$tmp/server.log" && fail "the token was logged"
echo "serve: ok"
