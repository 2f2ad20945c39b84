#!/usr/bin/env python3
"""Where HTTP's added latency goes (docs/serving.md, "Where the added time goes").

Against a running `sparseloom serve`, one keep-alive connection, requests one at a time:
  - batch-1 inferences with binary tensors: the client's round trip against the latency the
    server itself reports (`sparseloom_latency_us`: admission to result), so their difference is
    what lies outside the runtime (HTTP, parsing, encoding, thread wake-ups);
  - `GET /v2/health/live` after idle gaps of 0-1000 us: the round trip of HTTP with no work;
  - a round trip to another Python thread through a condition variable: the hand-over floor an
    in-process client pays.

    python3 bench/http_probe.py URL [MODEL=image] [REQUESTS=1000]
"""

import http.client
import json
import socket
import struct
import sys
import threading
import time


def median(values):
    values = sorted(values)
    return values[len(values) // 2]


def connect(url):
    host, port = url.split("//", 1)[-1].rstrip("/").split(":")
    c = http.client.HTTPConnection(host, int(port))
    c.connect()
    c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return c


def get(c, path):
    c.request("GET", path)
    r = c.getresponse()
    body = r.read()
    if r.status != 200:
        sys.exit(f"GET {path}: {r.status} {body[:200]!r}")
    return body


def infer_round_trips(c, model, requests):
    meta = json.loads(get(c, f"/v2/models/{model}"))
    inp = meta["inputs"][0]
    if inp["datatype"] != "FP32" or len(meta["inputs"]) != 1:
        sys.exit(f"model {model}: the probe sends one FP32 input; it has {meta['inputs']}")
    shape = [1] + [abs(d) for d in inp["shape"][1:]]
    count = 1
    for d in shape:
        count *= d
    blob = struct.pack(f"{count}f", *([0.1] * count))
    head = json.dumps({"inputs": [{"name": inp["name"], "shape": shape, "datatype": "FP32",
                                   "parameters": {"binary_data_size": len(blob)}}],
                       "parameters": {"binary_data_output": True}}).encode()
    headers = {"Inference-Header-Content-Length": str(len(head))}
    rtt, server = [], []
    for _ in range(requests):
        t = time.perf_counter()
        c.request("POST", f"/v2/models/{model}/infer", head + blob, headers)
        r = c.getresponse()
        body = r.read()
        rtt.append((time.perf_counter() - t) * 1e6)
        if r.status != 200:
            sys.exit(f"infer: {r.status} {body[:200]!r}")
        length = int(r.getheader("Inference-Header-Content-Length"))
        server.append(json.loads(body[:length])["parameters"]["sparseloom_latency_us"])
    return rtt, server


def health_round_trips(c, gap_us, requests):
    out = []
    for _ in range(requests):
        if gap_us:
            time.sleep(gap_us / 1e6)
        t = time.perf_counter()
        get(c, "/v2/health/live")
        out.append((time.perf_counter() - t) * 1e6)
    return out


def thread_round_trips(gap_us, requests):
    cv, box = threading.Condition(), [0]

    def echo():
        while True:
            with cv:
                cv.wait_for(lambda: box[0] == 1)
                box[0] = 2
                cv.notify_all()

    threading.Thread(target=echo, daemon=True).start()
    out = []
    for _ in range(requests):
        if gap_us:
            time.sleep(gap_us / 1e6)
        t = time.perf_counter()
        with cv:
            box[0] = 1
            cv.notify_all()
            cv.wait_for(lambda: box[0] == 2)
        out.append((time.perf_counter() - t) * 1e6)
    return out


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    url = sys.argv[1]
    model = sys.argv[2] if len(sys.argv) > 2 else "image"
    requests = int(sys.argv[3]) if len(sys.argv) > 3 else 1000
    c = connect(url)
    rtt, server = infer_round_trips(c, model, requests)
    outside = [a - b for a, b in zip(rtt, server)]
    print(f"infer {model}, {requests} requests one at a time (medians):")
    print(f"  client round trip {median(rtt):.0f} us, server-reported latency {median(server):.0f} us,"
          f" outside the runtime {median(outside):.0f} us")
    for gap in (0, 200, 1000):
        h = health_round_trips(c, gap, max(200, requests // 4))
        print(f"GET /v2/health/live after {gap:4d} us idle: round trip {median(h):.0f} us")
    for gap in (0, 1000):
        t = thread_round_trips(gap, max(200, requests // 4))
        print(f"Python thread round trip after {gap:4d} us idle: {median(t):.0f} us")


if __name__ == "__main__":
    main()
