"""`sparseloom serve` against the Open Inference Protocol, as a client sees it (tests/serve/serve_test.sh).

Python `requests` + numpy, the way Triton's HTTP client talks: binary tensor data by default, JSON
on request. Outputs over HTTP are checked against the stitched variant the response names, run
in-process here from the zoo's stage files with torch; every error case against its status and
message; the control extension (SLO change, unload / load, 401); and the metrics against this
client's own counts.

  conformance.py URL TOKEN_FILE TASK_FILE
"""

import json
import pathlib
import re
import sys

import numpy as np
import requests
import torch

URL, TOKEN_FILE, TASK_FILE = sys.argv[1], sys.argv[2], sys.argv[3]
TOKEN = pathlib.Path(TOKEN_FILE).read_text().strip()
AUTH = {"Authorization": "Bearer " + TOKEN}
DEPLOYMENT = json.loads(pathlib.Path(TASK_FILE).read_text())
ZOOS = {t["name"]: pathlib.Path(TASK_FILE).parent / t["zoo"] for t in DEPLOYMENT["tasks"]}
DTYPES = {"FP32": np.float32, "INT64": np.int64, "BOOL": np.bool_}

# What this client saw, per model and status, to compare with /metrics.
seen = {}
failures = []


def metric(text, name, **labels):
    """The value of the sample of `name` whose labels include `labels` (0 when there is none)."""
    for line in text.splitlines():
        m = re.match(r"^(\w+)(?:\{(.*)\})? (\S+)$", line)
        if m and m.group(1) == name and all(f'{k}="{v}"' in (m.group(2) or "")
                                            for k, v in labels.items()):
            return float(m.group(3))
    return 0.0


def check(condition, what):
    if not condition:
        failures.append(what)
        print("FAIL:", what)


def infer(model, body, headers=None, expect=200):
    r = requests.post(f"{URL}/v2/models/{model}/infer", data=body, headers=headers or {})
    seen.setdefault(model, {}).setdefault(r.status_code, 0)
    seen[model][r.status_code] += 1
    check(r.status_code == expect, f"{model}: status {r.status_code}, expected {expect}: {r.text[:300]}")
    return r


def binary_request(inputs, binary_output=True, parameters=None):
    """Triton's HTTP client's encoding: JSON header, then each input's bytes."""
    header = {"inputs": [], "parameters": dict(parameters or {})}
    blobs = b""
    for name, array, datatype in inputs:
        raw = np.ascontiguousarray(array).tobytes()
        header["inputs"].append({"name": name, "shape": list(array.shape), "datatype": datatype,
                                 "parameters": {"binary_data_size": len(raw)}})
        blobs += raw
    if binary_output:
        header["parameters"]["binary_data_output"] = True
    text = json.dumps(header).encode()
    return text + blobs, {"Inference-Header-Content-Length": str(len(text)),
                          "Content-Type": "application/octet-stream"}


def decode(response):
    """The response's JSON and its outputs as numpy arrays (binary or JSON)."""
    length = response.headers.get("Inference-Header-Content-Length")
    head = json.loads(response.content[: int(length)] if length else response.content)
    outputs, offset = {}, int(length or 0)
    for out in head["outputs"]:
        dtype = DTYPES[out["datatype"]]
        if "parameters" in out and "binary_data_size" in out["parameters"]:
            size = out["parameters"]["binary_data_size"]
            data = np.frombuffer(response.content[offset: offset + size], dtype=dtype)
            offset += size
        else:
            data = np.array(out["data"], dtype=dtype)
        outputs[out["name"]] = data.reshape(out["shape"])
    return head, outputs


def in_process(model, stitched, tensors):
    """The stitched variant's output, run here stage by stage from the zoo's stage files."""
    zoo = json.loads((ZOOS[model] / "zoo.json").read_text())
    variants = {v["id"]: v for v in zoo["variants"]}
    x, side = tensors[0], tensors[1:]
    for k, variant in enumerate(stitched.split(",")):
        stage = torch.jit.load(str(ZOOS[model] / variants[variant]["stages"][k]["file"]))
        with torch.no_grad():
            x = stage(x, *side)
    return x.numpy()


def samples(model, count):
    zoo = json.loads((ZOOS[model] / "zoo.json").read_text())
    data = torch.load(str(ZOOS[model] / zoo["validation"]["file"]))
    names = [zoo["input"]["name"]] + [s["name"] for s in zoo.get("side_inputs", [])]
    keys = ["input"] + [s["name"] for s in zoo.get("side_inputs", [])]
    for i in range(count):
        tensors = [data[k][i: i + 1] for k in keys]
        yield names, tensors


def as_datatype(tensor):
    return {torch.float32: "FP32", torch.int64: "INT64", torch.bool: "BOOL"}[tensor.dtype]


METRICS_AT_START = requests.get(f"{URL}/metrics").text

# Health, metadata.
check(requests.get(f"{URL}/v2/health/live").status_code == 200, "live")
check(requests.get(f"{URL}/v2/health/ready").status_code == 200, "ready")
server = requests.get(f"{URL}/v2").json()
check(server["name"] == "sparseloom", "server name")
for ext in ("binary_tensor_data", "model_repository"):
    check(ext in server["extensions"], f"extension {ext}")
for model in ZOOS:
    meta = requests.get(f"{URL}/v2/models/{model}").json()
    zoo = json.loads((ZOOS[model] / "zoo.json").read_text())
    check(meta["inputs"][0]["shape"] == [-1] + zoo["input"]["shape"][1:], f"{model} input shape")
    check(meta["outputs"][0]["name"] == zoo["output"]["name"], f"{model} output name")
    check(requests.get(f"{URL}/v2/models/{model}/ready").status_code == 200, f"{model} ready")
    check(requests.get(f"{URL}/v2/models/{model}/versions/1").status_code == 200, f"{model} v1")

# Outputs over HTTP equal the stitched variant's in-process outputs, binary and JSON alike.
for model in ZOOS:
    for names, tensors in samples(model, 4):
        body, headers = binary_request(
            [(n, t.numpy(), as_datatype(t)) for n, t in zip(names, tensors)])
        head, outputs = decode(infer(model, body, headers))
        stitched = head["parameters"]["sparseloom_stitched"]
        want = in_process(model, stitched, tensors)
        got = outputs[head["outputs"][0]["name"]]
        check(got.shape == want.shape and np.abs(got - want).max() <= 1e-5,
              f"{model} binary output differs from {stitched} in-process")
        for key in ("sparseloom_placement", "sparseloom_queue_us", "sparseloom_compute_us",
                    "sparseloom_slo_met"):
            check(key in head["parameters"], f"{model} response parameter {key}")
        doc = {"id": f"req-{model}", "inputs": [
            {"name": n, "shape": list(t.shape), "datatype": as_datatype(t),
             "data": t.tolist()} for n, t in zip(names, tensors)]}
        r = infer(model, json.dumps(doc), {"Content-Type": "application/json"})
        head, outputs = decode(r)
        check(head["id"] == f"req-{model}", f"{model} id echoed")
        want = in_process(model, head["parameters"]["sparseloom_stitched"], tensors)
        check(np.abs(outputs[head["outputs"][0]["name"]] - want).max() <= 1e-5,
              f"{model} JSON output differs in-process")


def expect_error(model, body, headers, status, message):
    r = infer(model, body, headers, expect=status)
    try:
        error = r.json()["error"]
    except ValueError:
        error = r.text
    check(message in error, f"{model}: error {error!r} lacks {message!r}")


image = "image"
(names, tensors), = list(samples(image, 1))
x = tensors[0].numpy()
good_json = {"inputs": [{"name": "input", "shape": list(x.shape), "datatype": "FP32",
                         "data": x.flatten().tolist()}]}
expect_error("nosuch", json.dumps(good_json), None, 404, "unknown model 'nosuch'")
r = requests.post(f"{URL}/v2/models/{image}/versions/2/infer", data=json.dumps(good_json))
check(r.status_code == 404 and "no version '2'" in r.json()["error"], "version 2 is 404")
expect_error(image, "{not json", None, 400, "request: expected a JSON object, got ")
bad = json.loads(json.dumps(good_json)); bad["inputs"][0]["datatype"] = "FP64"
expect_error(image, json.dumps(bad), None, 400,
             "request: inputs[0].datatype: expected FP32 (input 'input'), got FP64")
bad = json.loads(json.dumps(good_json)); bad["inputs"][0]["shape"] = [2] + list(x.shape[1:])
expect_error(image, json.dumps(bad), None, 400, "request: inputs[0].shape: expected [1,")
bad = json.loads(json.dumps(good_json)); bad["inputs"][0]["name"] = "pixels"
expect_error(image, json.dumps(bad), None, 400,
             "request: inputs[0].name: expected an input of model 'image' ('input'), got 'pixels'")
body, headers = binary_request([("input", x, "FP32")])
expect_error(image, body[:-4], headers, 400, "bytes of binary data after the JSON, got")
nan = x.copy(); nan.flat[3] = np.nan
body, headers = binary_request([("input", nan, "FP32")])
expect_error(image, body, headers, 400, "request: inputs[0]: expected finite FP32 values, got element 3 is nan")
bad = json.loads(json.dumps(good_json)); bad["inputs"][0]["data"][0] = 1e39
expect_error(image, json.dumps(bad), None, 400,
             "request: inputs[0].data[0]: expected a finite FP32 number, got 1e+39")
bad = json.loads(json.dumps(good_json)); bad["inputs"][0]["data"].append(0)
expect_error(image, json.dumps(bad), None, 400,
             "request: inputs[0].data: expected 256 values (the shape's elements), got 257")
expect_error(image, b"x" * (2 << 20), None, 413, "request body over the server's limit")
body, headers = binary_request([("input", x, "FP32")], parameters={"sparseloom_max_latency_ms": 0.001})
expect_error(image, body, headers, 503, "deadline cannot be met")
body, headers = binary_request([("input", x, "FP32")], parameters={"sparseloom_min_accuracy": 1.0})
expect_error(image, body, headers, 503, "accuracy cannot be met")
body, headers = binary_request([("input", x, "FP32")], parameters={"timeout": 1})  # 1 us
expect_error(image, body, headers, 503, "deadline cannot be met")

# Control: 401 without the token, SLO changes move the variant, unload / load.
for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
    r = requests.post(f"{URL}/v2/repository/index", headers=headers)
    check(r.status_code == 401, f"index without the token: {r.status_code}")
r = requests.post(f"{URL}/v2/repository/models/{image}/slo", data='{"min_accuracy":0.5}')
check(r.status_code == 401, "slo without the token")
index = requests.post(f"{URL}/v2/repository/index", headers=AUTH).json()
check(sorted(m["name"] for m in index) == sorted(ZOOS) and all(m["state"] == "READY" for m in index),
      f"index {index}")

zoo = json.loads((ZOOS[image] / "zoo.json").read_text())
best = max(v["accuracy"] for v in zoo["variants"])


def served_variant():
    body, headers = binary_request([("input", x, "FP32")])
    return decode(infer(image, body, headers))[0]["parameters"]["sparseloom_stitched"]


variants = []
for slo in ({"min_accuracy": 0.0, "max_latency_ms": 1000}, {"min_accuracy": best, "max_latency_ms": 1000}):
    r = requests.post(f"{URL}/v2/repository/models/{image}/slo", headers=AUTH, data=json.dumps(slo))
    check(r.status_code == 200, f"slo change: {r.status_code} {r.text[:200]}")
    planned = r.json()["sparseloom"]["stitched"]
    variants.append(served_variant())
    check(variants[-1] == planned, f"served {variants[-1]} after the change, planned {planned}")
check(variants[0] != variants[1], f"an SLO change moved the variant: {variants}")
r = requests.post(f"{URL}/v2/repository/models/{image}/slo", headers=AUTH, data='{"min_accuracy":2,"max_latency_ms":5}')
check(r.status_code == 400 and "min_accuracy: expected a fraction in [0, 1]" in r.json()["error"], "bad slo")

text = "text"
(tnames, ttensors), = list(samples(text, 1))
tbody, theaders = binary_request([(n, t.numpy(), as_datatype(t)) for n, t in zip(tnames, ttensors)])
check(requests.post(f"{URL}/v2/repository/models/{text}/unload", headers=AUTH).status_code == 200, "unload")
r = requests.post(f"{URL}/v2/models/{text}/infer", data=tbody, headers=theaders)
check(r.status_code == 404 and r.json()["error"] == "model 'text' is not loaded", f"infer after unload: {r.status_code} {r.text}")
check(requests.get(f"{URL}/v2/models/{text}/ready").status_code == 404, "ready after unload")
index = {m["name"]: m["state"] for m in requests.post(f"{URL}/v2/repository/index", headers=AUTH).json()}
check(index[text] == "UNAVAILABLE", f"index after unload {index}")
check(requests.post(f"{URL}/v2/repository/models/nosuch/load", headers=AUTH).status_code == 404, "load unknown")
check(requests.post(f"{URL}/v2/repository/models/{text}/load", headers=AUTH).status_code == 200, "load")
infer(text, tbody, theaders)

# The metrics count what this client saw (beyond what they counted when it started).
metrics = requests.get(f"{URL}/metrics").text
for model in ZOOS:
    counts = seen.get(model, {})
    for name, reason, status in (("nv_inference_request_success", None, 200),
                                 ("nv_inference_request_failure", "REJECTED", 503),
                                 ("nv_inference_request_failure", "OTHER", 400)):
        labels = {"model": model, **({"reason": reason} if reason else {})}
        grew = metric(metrics, name, **labels) - metric(METRICS_AT_START, name, **labels)
        check(grew == counts.get(status, 0), f"{model} {name} {reason}: +{grew}, saw {counts}")
check(metric(metrics, "sparseloom_resident_stage_bytes") > 0, "resident bytes")
check("sparseloom_processor_busy_share{processor=\"cpu0\"}" in metrics, "busy share")
check(f'sparseloom_stitched_variant{{model="{image}",stitched="{variants[1]}"' in metrics, "variant in use")

print(f"conformance: {sum(sum(c.values()) for c in seen.values())} inferences, {len(failures)} failures")
sys.exit(1 if failures else 0)
