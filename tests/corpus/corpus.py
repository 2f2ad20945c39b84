"""Helpers for the setup.py of a corpus case (tests/corpus/README.md).

A case's setup.py runs in the case's temporary folder with this module importable and
SPARSELOOM_TEST_ZOOS set. It builds the broken input there from a test zoo, so that no model file
is checked in: `zoo_copy` copies a test zoo's manifest and links its other files, `replace_file`
breaks one of them without touching the original, `write_table` writes a performance table.
"""

import contextlib
import hashlib
import json
import os
import pathlib
import random

ZOOS = pathlib.Path(os.environ["SPARSELOOM_TEST_ZOOS"])


@contextlib.contextmanager
def zoo_copy(name, dst="zoo"):
    """Makes DST a copy of test zoo NAME (manifest copied, every other file linked) and yields the
    manifest as a dict; what the case changes in it is written back."""
    src = ZOOS / name
    dst = pathlib.Path(dst)
    for path in sorted(src.rglob("*")):
        target = dst / path.relative_to(src)
        if path.is_dir():
            target.mkdir(parents=True, exist_ok=True)
        elif path.name != "zoo.json":
            target.parent.mkdir(parents=True, exist_ok=True)
            target.symlink_to(path)
    manifest = json.loads((src / "zoo.json").read_text())
    yield manifest
    (dst / "zoo.json").write_text(json.dumps(manifest, indent=1) + "\n")


def replace_file(path, data):
    """Replaces a (linked) file of a zoo copy with DATA, leaving the test zoo alone."""
    path = pathlib.Path(path)
    path.unlink()
    path.write_bytes(data)


def replace_stage(entry, data):
    """Replaces the file of a zoo copy's stage ENTRY (a manifest stage) with DATA and updates the
    manifest's bytes and sha256 to match, as another tool that rewrote both would: what is then
    checked is the engine's reading of the file, not its content hash."""
    replace_file("zoo/" + entry["file"], data)
    entry["bytes"] = len(data)
    entry["sha256"] = hashlib.sha256(data).hexdigest()


def flip_bytes(path, offset, count=1):
    """Changes COUNT bytes of a (linked) file of a zoo copy in place at OFFSET (a negative offset
    counts from the end): same size, other content."""
    path = pathlib.Path(path)
    data = bytearray(path.read_bytes())
    for i in range(count):
        data[offset + i] ^= 0xFF
    replace_file(path, bytes(data))


def stage(manifest, variant, k):
    """The manifest entry of stage K (1-based) of the variant with this id."""
    for v in manifest["variants"]:
        if v["id"] == variant:
            return v["stages"][k - 1]
    raise KeyError(variant)


def write_table(zoo_name, out, processors=("cpu0:0:1", "cpu1:1:1"), key="0" * 16):
    """Writes a well-formed performance table (docs/profiler.md) for test zoo ZOO_NAME with
    made-up, seeded figures: K, V and P right, every value in range, nothing taken from the zoo's
    build (so that the error positions in `expected` do not change when the test zoo does)."""
    manifest = json.loads((ZOOS / zoo_name / "zoo.json").read_text())
    k = manifest["num_stages"]
    ids = [v["id"] for v in manifest["variants"]]
    procs = []
    for text in processors:
        name, core, threads = text.split(":")
        procs.append({"name": name, "device": "cpu", "cores": [int(core)], "threads": int(threads)})
    v, p = len(ids), len(procs)
    rng = random.Random(0)
    stitched, placements = v**k, p**k
    table = {
        "format": "sparseloom-performance-table",
        "version": 1,
        "key": key,
        "profiler_version": "4",
        "task": manifest["task"],
        "zoo_dir": "zoos/" + zoo_name,
        "num_stages": k,
        "variant_ids": ids,
        "processors": procs,
        "exhaustive": False,
        "stage_latency_ms": [round(rng.uniform(0.1, 2.0), 3) for _ in range(k * v * p)],
        "stage_latency_p90_ms": [round(rng.uniform(2.0, 3.0), 3) for _ in range(k * v * p)],
        "stage_bytes": [1000] * (k * v),
        "handover_ms": [0.0 if a == b else 0.05 for a in range(p) for b in range(p)],
        "accuracy": [round(rng.uniform(0.5, 0.95), 4) for _ in range(stitched)],
        "accuracy_measured": [0] * stitched,
        "latency_ms": [round(rng.uniform(1.0, 6.0), 3) for _ in range(stitched * placements)],
        "latency_measured": [0] * (stitched * placements),
        "accuracy_error": {"metric": "mae", "value": 0.01, "samples": 10, "model": "gbt"},
        "latency_error": {"metric": "mape", "value": 0.05, "samples": 10, "model": "gbt"},
        "time_s": {"stages": 1.0, "chains": 1.0, "accuracy": 1.0, "estimators": 1.0, "exhaustive": 0.0},
    }
    out = pathlib.Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(table) + "\n")
    return table


REPO = pathlib.Path(__file__).resolve().parents[2]


def device_profile(name="jetson-agx-orin"):
    """The shipped device profile devices/NAME.json (docs/devices.md) as a dict, for a case to
    break and write back with `write_device`."""
    return json.loads((REPO / "devices" / f"{name}.json").read_text())


def write_device(profile, out="device.json"):
    pathlib.Path(out).write_text(json.dumps(profile, indent=1) + "\n")
