"""Tests of the zoo builder (stdlib unittest; run from tools/zoo):

    LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp \
        /usr/bin/python3 -m unittest discover -s tests -v

Two zoos are built once (setUpClass) from cheaper versions of the example specs (fewer samples and
epochs: these tests check the contract, not accuracy) and shared by the tests.
"""

import contextlib
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
import unittest
from unittest import mock
from pathlib import Path

import torch
from torch import nn

ZOO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ZOO_ROOT))

from sparseloom_zoo.__main__ import main  # noqa: E402
from sparseloom_zoo.blocks import ConvBlock1d, ResidualBlock, TransformerBlock  # noqa: E402
from sparseloom_zoo.measure import estimate_flops  # noqa: E402
from sparseloom_zoo.recipes import DEFAULT_VARIANTS  # noqa: E402

EXAMPLES = ZOO_ROOT / "examples"
TF_VARIANTS = ["dense", "us50", "struct50", "int8", "bf16", "int8_struct50"]

# A cheap version of an example spec: same model and data generator, less training.
CHEAP_SPEC = """
import sys
sys.path.insert(0, {examples!r})
from {module} import make_spec as make_full_spec

def make_spec(seed):
    spec = make_full_spec(seed)
    spec.train = {{k: v[:{n}] for k, v in spec.train.items()}}
    spec.validation = {{k: v[:300] for k, v in spec.validation.items()}}
    spec.epochs, spec.finetune_epochs = {epochs}, 1
    return spec
"""


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def run_cli(*args):
    """Run the CLI in-process; returns (exit code, stderr)."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, err.getvalue()


def write_spec(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(textwrap.dedent(text))
    return path


def load_stages(zoo: Path, manifest: dict, chosen):
    """jit-load stage k of variant chosen[k-1]: a stitched variant."""
    by_id = {v["id"]: v for v in manifest["variants"]}
    return [torch.jit.load(str(zoo / by_id[vid]["stages"][k]["file"]))
            for k, vid in enumerate(chosen)]


def run_stages(stages, x, side):
    with torch.no_grad():
        for stage in stages:
            x = stage(x, *side)
    return x


class BuiltZooTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = Path(tempfile.mkdtemp(prefix="zoo-test-"))
        cls.cnn_spec = write_spec(cls.tmp, "cheap_cnn.py", CHEAP_SPEC.format(
            examples=str(EXAMPLES), module="tiny_cnn", n=1000, epochs=2))
        cls.tf_spec = write_spec(cls.tmp, "cheap_tf.py", CHEAP_SPEC.format(
            examples=str(EXAMPLES), module="tiny_transformer", n=800, epochs=2))
        cls.cnn = cls.tmp / "cnn"
        cls.tf = cls.tmp / "tf"
        code, err = run_cli("build", "--spec", str(cls.cnn_spec), "--out", str(cls.cnn))
        assert code == 0, err
        code, err = run_cli("build", "--spec", str(cls.tf_spec), "--out", str(cls.tf),
                            "--variants", ",".join(TF_VARIANTS))
        assert code == 0, err
        cls.cnn_manifest = json.loads((cls.cnn / "zoo.json").read_text())
        cls.tf_manifest = json.loads((cls.tf / "zoo.json").read_text())

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def zoos(self):
        return [(self.cnn, self.cnn_manifest, DEFAULT_VARIANTS),
                (self.tf, self.tf_manifest, TF_VARIANTS)]

    # -- the manifest and files follow docs/zoo-format.md -------------------------------------

    def check_tensor_spec(self, spec, batch_dynamic=True):
        self.assertEqual(set(spec), {"name", "dtype", "shape"})
        self.assertIsInstance(spec["name"], str)
        self.assertIn(spec["dtype"], ("float32", "int64", "bool"))
        self.assertTrue(all(isinstance(d, int) for d in spec["shape"]))
        self.assertEqual(spec["shape"][0], -1)
        self.assertTrue(all(d > 0 for d in spec["shape"][1:]), spec)

    def test_manifest_matches_contract(self):
        for zoo, m, variant_ids in self.zoos():
            with self.subTest(zoo=zoo.name):
                self.assertEqual(m["format"], "sparseloom-zoo")
                self.assertEqual(m["version"], 1)
                for key in ("task", "family"):
                    self.assertIsInstance(m[key], str)
                K = m["num_stages"]
                self.assertEqual(K, 3)
                self.assertIsInstance(m["seed"], int)
                self.assertEqual(m["metric"], {"name": "top1_accuracy"})
                for spec in [m["input"], m["output"], *m["side_inputs"], *m["boundaries"]]:
                    self.check_tensor_spec(spec)
                self.assertEqual(len(m["boundaries"]), K - 1)
                self.assertEqual(m["output"]["dtype"], "float32")
                self.assertEqual(len(m["output"]["shape"]), 2)
                self.assertTrue(all(b["dtype"] == "float32" for b in m["boundaries"]))
                self.assertEqual([v["id"] for v in m["variants"]], variant_ids)
                for v in m["variants"]:
                    self.assertRegex(v["id"], r"^[a-z0-9_]+$")
                    self.assertIsInstance(v["description"], str)
                    self.assertTrue(0.0 <= v["accuracy"] <= 1.0)
                    self.assertEqual(len(v["stages"]), K)
                    for k, s in enumerate(v["stages"], start=1):
                        self.assertEqual(set(s), {"file", "params", "nonzeros", "bytes", "sha256",
                                                  "flops", "precision", "sparsity"})
                        self.assertEqual(s["file"], f"stages/{v['id']}/stage{k}.pt")
                        self.assertEqual(s["bytes"], (zoo / s["file"]).stat().st_size)
                        self.assertEqual(s["sha256"], sha256_of(zoo / s["file"]))
                        for key in ("params", "nonzeros", "bytes", "flops"):
                            self.assertIsInstance(s[key], int)
                        self.assertLessEqual(s["nonzeros"], s["params"])
                        self.assertGreater(s["flops"], 0)
                        self.assertIn(s["precision"], ("fp32", "bf16", "int8"))
                        self.assertIn(s["sparsity"]["kind"], ("none", "unstructured",
                                                              "structured"))
                        self.assertTrue(0.0 <= s["sparsity"]["level"] <= 1.0)
                for tensor_set in (m["validation"], m["reference"]):
                    self.assertEqual(set(tensor_set), {"file", "num_samples", "sha256"})
                    self.assertEqual(tensor_set["sha256"], sha256_of(zoo / tensor_set["file"]))
                build = m["build"]
                self.assertIsInstance(build["warnings"], list)
                self.assertRegex(build["key"], r"^[0-9a-f]{64}$")
                self.assertIsInstance(build["builder_version"], str)
                self.assertGreater(build["wall_s"], 0)

    def test_variant_properties(self):
        m = {v["id"]: v for v in self.cnn_manifest["variants"]}
        self.assertEqual({s["precision"] for s in m["int8"]["stages"]}, {"int8"})
        self.assertEqual({s["precision"] for s in m["bf16"]["stages"]}, {"bf16"})
        self.assertEqual({s["precision"] for s in m["int8_struct50"]["stages"]}, {"int8"})
        for level in (30, 50, 70, 90):
            for s, d in zip(m[f"us{level}"]["stages"], m["dense"]["stages"]):
                self.assertEqual(s["sparsity"]["kind"], "unstructured")
                self.assertEqual(s["params"], d["params"])
                self.assertEqual(s["flops"], d["flops"])  # zeros are still multiplied
                self.assertLess(s["nonzeros"], d["nonzeros"])
        # More pruning, fewer nonzeros.
        nz = [sum(s["nonzeros"] for s in m[f"us{lv}"]["stages"]) for lv in (30, 50, 70, 90)]
        self.assertEqual(nz, sorted(nz, reverse=True))

    def test_validation_and_reference_files(self):
        for zoo, m, variant_ids in self.zoos():
            with self.subTest(zoo=zoo.name):
                side = [s["name"] for s in m["side_inputs"]]
                val = torch.load(str(zoo / m["validation"]["file"]))
                self.assertEqual(set(val), {"input", "labels", *side})
                self.assertEqual(val["labels"].dtype, torch.int64)
                self.assertEqual(val["input"].shape[0], m["validation"]["num_samples"])
                self.assertEqual(list(val["input"].shape[1:]), m["input"]["shape"][1:])
                ref = torch.load(str(zoo / m["reference"]["file"]))
                self.assertEqual(set(ref), {"input", *side, *[f"output/{v}" for v in variant_ids]})
                n = m["reference"]["num_samples"]
                for vid in variant_ids:
                    self.assertEqual(ref[f"output/{vid}"].dtype, torch.float32)
                    self.assertEqual(list(ref[f"output/{vid}"].shape),
                                     [n] + m["output"]["shape"][1:])

    # -- exported stages ----------------------------------------------------------------------

    def test_exported_stages_reproduce_eager_outputs(self):
        for zoo, m, variant_ids in self.zoos():
            ref = torch.load(str(zoo / "reference.pt"))
            side = [ref[s["name"]] for s in m["side_inputs"]]
            for vid in variant_ids:
                with self.subTest(zoo=zoo.name, variant=vid):
                    out = run_stages(load_stages(zoo, m, [vid] * 3), ref["input"], side)
                    precision = {s["precision"] for s in
                                 next(v for v in m["variants"] if v["id"] == vid)["stages"]}
                    tol = 1e-5 if precision == {"fp32"} else 1e-3
                    diff = float((out - ref[f"output/{vid}"]).abs().max())
                    self.assertLessEqual(diff, tol * max(1.0, float(out.abs().max())))

    def test_boundaries_and_dynamic_batch(self):
        """Every stage of every variant maps boundary k-1 to boundary k at batch 1 and 13."""
        for zoo, m, variant_ids in self.zoos():
            val = torch.load(str(zoo / "validation.pt"))
            specs = m["boundaries"] + [m["output"]]
            for batch in (1, 13):
                side = [val[s["name"]][:batch] for s in m["side_inputs"]]
                for vid in variant_ids:
                    x = val["input"][:batch]
                    for k, stage in enumerate(load_stages(zoo, m, [vid] * 3)):
                        with torch.no_grad():
                            x = stage(x, *side)
                        with self.subTest(zoo=zoo.name, variant=vid, stage=k + 1, batch=batch):
                            self.assertEqual(x.dtype, torch.float32)
                            self.assertEqual(list(x.shape), [batch] + specs[k]["shape"][1:])

    def test_structured_pruning_keeps_boundaries_and_shrinks(self):
        for zoo, m, _ in self.zoos():
            by_id = {v["id"]: v for v in m["variants"]}
            dense, s50 = by_id["dense"]["stages"], by_id["struct50"]["stages"]
            with self.subTest(zoo=zoo.name):
                for d, s in zip(dense, s50):
                    self.assertLess(s["params"], d["params"])
                    self.assertLess(s["flops"], d["flops"])
                    self.assertEqual(s["sparsity"]["kind"], "structured")
                    self.assertAlmostEqual(s["sparsity"]["level"], 1 - s["params"] / d["params"],
                                           places=3)
        cnn = {v["id"]: v for v in self.cnn_manifest["variants"]}
        total = {vid: sum(s["params"] for s in cnn[vid]["stages"])
                 for vid in ("dense", "struct30", "struct50")}
        self.assertGreater(total["dense"], total["struct30"])
        self.assertGreater(total["struct30"], total["struct50"])

    def test_stitching_across_variants(self):
        for zoo, m, chosen in [(self.cnn, self.cnn_manifest, ["int8", "struct50", "bf16"]),
                               (self.cnn, self.cnn_manifest, ["us90", "dense", "int8_struct50"]),
                               (self.tf, self.tf_manifest, ["bf16", "int8_struct50", "us50"])]:
            with self.subTest(zoo=zoo.name, stitched=chosen):
                val = torch.load(str(zoo / "validation.pt"))
                side = [val[s["name"]] for s in m["side_inputs"]]
                out = run_stages(load_stages(zoo, m, chosen), val["input"], side)
                self.assertEqual(out.dtype, torch.float32)
                self.assertEqual(list(out.shape), [len(val["labels"])] + m["output"]["shape"][1:])
                self.assertTrue(torch.isfinite(out).all())

    def test_mask_side_input_matters(self):
        """The transformer's stages really read the mask: flipping padding changes the output."""
        val = torch.load(str(self.tf / "validation.pt"))
        x, mask = val["input"][:32], val["mask"][:32]
        stages = load_stages(self.tf, self.tf_manifest, ["dense"] * 3)
        self.assertFalse(torch.allclose(run_stages(stages, x, [mask]),
                                        run_stages(stages, x, [torch.ones_like(mask)])))

    # -- caching, CLI errors, atomic output ---------------------------------------------------

    def test_up_to_date_skips_work(self):
        before = (self.cnn / "zoo.json").stat().st_mtime_ns
        t0 = time.perf_counter()
        code, err = run_cli("build", "--spec", str(self.cnn_spec), "--out", str(self.cnn))
        self.assertEqual(code, 0)
        self.assertIn("up to date", err)
        self.assertLess(time.perf_counter() - t0, 2.0)
        self.assertEqual((self.cnn / "zoo.json").stat().st_mtime_ns, before)

    def test_rebuild_is_deterministic_and_atomic(self):
        variants = "dense,us50,struct30"
        out = self.tmp / "again"
        for _ in range(2):
            code, err = run_cli("build", "--spec", str(self.cnn_spec), "--out", str(out),
                                "--variants", variants, "--force")
            self.assertEqual(code, 0, err)
            acc = {v["id"]: v["accuracy"] for v in
                   json.loads((out / "zoo.json").read_text())["variants"]}
            expected = {v["id"]: v["accuracy"] for v in self.cnn_manifest["variants"]
                        if v["id"] in variants.split(",")}
            self.assertEqual(acc, expected)
        self.assertEqual([p.name for p in self.tmp.iterdir() if ".tmp-" in p.name], [])

    def test_bad_variant_id(self):
        code, err = run_cli("build", "--spec", str(self.cnn_spec), "--out",
                            str(self.tmp / "never"), "--variants", "dense,us500")
        self.assertEqual(code, 2)
        self.assertIn("us500", err)
        self.assertFalse((self.tmp / "never").exists())

    def test_refuses_to_replace_a_non_zoo_directory(self):
        precious = self.tmp / "precious"
        precious.mkdir()
        (precious / "notes.txt").write_text("keep me")
        code, err = run_cli("build", "--spec", str(self.cnn_spec), "--out", str(precious))
        self.assertEqual(code, 2)
        self.assertIn("refusing", err)
        self.assertTrue((precious / "notes.txt").exists())


class PreflightTest(unittest.TestCase):
    """What every requested variant needs is checked before anything is trained (preflight.py),
    and int8 stages that keep their work in fp32 or run slower than fp32 are warned about."""

    def setUp(self):
        self.tmp = Path(tempfile.mkdtemp(prefix="zoo-preflight-"))

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    # Plain blocks (no prune_structured) with structured_pruning="blocks"; the train_fn leaves a
    # file behind when it is called.
    UNPRUNABLE = """
        import torch
        from pathlib import Path
        from torch import nn
        from sparseloom_zoo import ZooSpec

        def train_fn(model, data, epochs, lr, seed):
            Path({marker!r}).write_text("trained")

        def make_spec(seed):
            x = torch.randn(64, 8)
            y = torch.randint(0, 3, (64,))
            stages = [nn.Sequential(nn.Linear(8, 16), nn.ReLU()), nn.Linear(16, 3)]
            return ZooSpec(task="t", family="mlp", stages=stages, train={{"input": x, "labels": y}},
                           validation={{"input": x, "labels": y}}, epochs=1, train_fn=train_fn,
                           structured_pruning="blocks")
    """

    def test_variants_it_cannot_make_stop_the_build_before_training(self):
        marker = self.tmp / "trained"
        spec = write_spec(self.tmp, "unprunable.py", self.UNPRUNABLE.format(marker=str(marker)))
        out = self.tmp / "out"
        code, err = run_cli("build", "--spec", str(spec), "--out", str(out), "--variants",
                            "dense,us50,struct30,int8_struct50")
        self.assertEqual(code, 2, err)
        self.assertIn("cannot make 2 of the 4 requested variant(s), so nothing was trained", err)
        self.assertIn("struct30: structured pruning (structured_pruning='blocks') needs blocks "
                      "with a prune_structured(ratio) method", err)
        self.assertIn("int8_struct50: structured pruning", err)
        self.assertFalse(marker.exists(), "the dense model was trained before the check")
        self.assertFalse(out.exists())

    # Linear layers around GroupNorm and GELU, which FX static int8 leaves in fp32 between a
    # dequantize and a quantize; then a stage whose products are mostly between activations
    # (matmul, which int8 does not quantize here): 65% of its multiply-accumulates stay fp32.
    FP32_ISLANDS = """
        import torch
        from torch import nn
        from sparseloom_zoo import ZooSpec

        class Block(nn.Module):
            def __init__(self):
                super().__init__()
                self.a, self.norm, self.b = nn.Linear(32, 32), nn.GroupNorm(4, 32), nn.Linear(32, 32)

            def forward(self, x):
                return self.b(nn.functional.gelu(self.norm(self.a(x))))

        class Products(nn.Module):
            def __init__(self):
                super().__init__()
                self.q = nn.Linear(32, 32)

            def forward(self, x):
                h = self.q(x).view(x.shape[0], 32, 1)
                return (h @ h.transpose(1, 2) @ h).flatten(1)

        def make_spec(seed):
            torch.manual_seed(seed)
            x = torch.randn(256, 32)
            y = torch.randint(0, 3, (256,))
            stages = [Block(), nn.Sequential(Products(), nn.Linear(32, 3))]
            return ZooSpec(task="t", family="mlp", stages=stages,
                           validation={"input": x, "labels": y}, epochs=0)
    """

    def test_int8_stages_that_keep_their_work_in_fp32_are_warned_about(self):
        spec = write_spec(self.tmp, "islands.py", self.FP32_ISLANDS)
        out = self.tmp / "out"
        code, err = run_cli("build", "--spec", str(spec), "--out", str(out), "--variants",
                            "dense,int8")
        self.assertEqual(code, 0, err)
        warnings = json.loads((out / "zoo.json").read_text())["build"]["warnings"]
        self.assertTrue(warnings, err)
        for w in warnings:
            self.assertIn(f"warning: {w}", err)
            self.assertRegex(w, r"^int8 stage [12]: ")
        # The share of work left in fp32 is counted, not timed: always warned about. (A stage
        # measured slower than fp32 is warned about too, but timings are the machine's.)
        fp32_share = [w for w in warnings if w.startswith("int8 stage 2: 65% of its "
                                                          "multiply-accumulates stay fp32")]
        self.assertEqual(len(fp32_share), 1, warnings)
        self.assertIn("keep activations fp32 around matmul", fp32_share[0])
        for w in warnings:
            if w.startswith("int8 stage 1:"):
                self.assertIn("around GroupNorm, gelu", w)


class BadSpecTest(unittest.TestCase):
    """A spec that breaks the declaration API fails early, naming the file and what was expected."""

    def setUp(self):
        self.tmp = Path(tempfile.mkdtemp(prefix="zoo-bad-"))

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def build(self, spec_text, *extra):
        spec = write_spec(self.tmp, "bad.py", spec_text)
        out = self.tmp / "out"
        code, err = run_cli("build", "--spec", str(spec), "--out", str(out), *extra)
        self.assertNotEqual(code, 0)
        self.assertFalse(out.exists(), "a failed build must not leave OUT behind")
        self.assertEqual([p.name for p in self.tmp.iterdir() if ".tmp-" in p.name], [])
        return err

    MISMATCH = """
        import torch
        from torch import nn
        from sparseloom_zoo import ZooSpec

        def make_spec(seed):
            x = torch.randn(64, 8)
            y = torch.randint(0, 3, (64,))
            stages = [nn.Linear(8, 16), nn.Linear(12, 3)]  # stage 2 expects 12, gets 16
            return ZooSpec(task="bad", family="mlp", stages=stages,
                           train={"input": x, "labels": y}, validation={"input": x, "labels": y})
    """

    def test_boundary_shape_mismatch(self):
        err = self.build(self.MISMATCH)
        self.assertIn("bad.py", err)
        self.assertIn("stage 2", err)
        self.assertIn("[2, 16]", err)  # the shape stage 1 produced
        self.assertIn("boundary", err)

    def test_cli_exit_code_via_subprocess(self):
        spec = write_spec(self.tmp, "bad.py", self.MISMATCH)
        proc = subprocess.run([sys.executable, "-m", "sparseloom_zoo", "build", "--spec",
                               str(spec), "--out", str(self.tmp / "out")],
                              cwd=ZOO_ROOT, capture_output=True, text=True,
                              env={**os.environ, "GLOG_minloglevel": "2"})
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertTrue(proc.stderr.startswith("error: "), proc.stderr)
        self.assertNotIn("Traceback", proc.stderr)

    def test_missing_make_spec(self):
        err = self.build("x = 1\n")
        self.assertIn("make_spec", err)

    def test_missing_labels(self):
        err = self.build("""
            import torch
            from torch import nn
            from sparseloom_zoo import ZooSpec

            def make_spec(seed):
                x = torch.randn(16, 4)
                return ZooSpec(task="t", family="mlp", stages=[nn.Linear(4, 2)],
                               train={"input": x}, validation={"input": x})
        """)
        self.assertIn("ZooSpec.train", err)
        self.assertIn("'labels'", err)

    def test_trace_that_bakes_the_batch_size_fails_loudly(self):
        err = self.build("""
            import torch
            from torch import nn
            from sparseloom_zoo import ZooSpec

            class Baked(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.fc = nn.Linear(4, 2)

                def forward(self, x):
                    # int() freezes the traced batch size into the graph
                    return self.fc(x) + torch.zeros(int(x.shape[0]), 1)

            def make_spec(seed):
                x = torch.randn(16, 4)
                y = torch.randint(0, 2, (16,))
                return ZooSpec(task="t", family="mlp", stages=[nn.Linear(4, 4), Baked()],
                               train={"input": x, "labels": y},
                               validation={"input": x, "labels": y}, epochs=0)
        """, "--variants", "dense")
        self.assertIn("stage 2", err)
        self.assertIn("batch size 5", err)


class BlocksTest(unittest.TestCase):
    """prune_structured removes inner units only: same boundary shapes, fewer params and FLOPs."""

    def check(self, block, *inputs):
        block.eval()
        with torch.no_grad():
            before = block(*inputs)
        params = sum(p.numel() for p in block.parameters())
        flops = estimate_flops(block, inputs[0][:1], [t[:1] for t in inputs[1:]])
        block.prune_structured(0.5)
        with torch.no_grad():
            after = block(*inputs)
        self.assertEqual(after.shape, before.shape)
        self.assertLess(sum(p.numel() for p in block.parameters()), params)
        self.assertLess(estimate_flops(block, inputs[0][:1], [t[:1] for t in inputs[1:]]), flops)

    def test_residual_block(self):
        self.check(ResidualBlock(8, 16, stride=2), torch.randn(2, 8, 12, 12))

    def test_conv_block_1d(self):
        self.check(ConvBlock1d(6, 6, width=10), torch.randn(2, 6, 30))

    def test_transformer_block(self):
        block = TransformerBlock(16, 4, 32)
        mask = torch.tensor([[True] * 5 + [False] * 2, [True] * 7])
        self.check(block, torch.randn(2, 7, 16), mask)
        self.assertEqual(block.heads, 2)

    def test_flops_of_linear_and_conv(self):
        self.assertEqual(estimate_flops(nn.Linear(10, 20), torch.randn(1, 10), []), 2 * 200)
        conv = nn.Conv2d(3, 4, 3, padding=1)  # 4x5x5 outputs, 27 MACs each
        self.assertEqual(estimate_flops(conv, torch.randn(1, 3, 5, 5), []), 2 * 100 * 27)


class Bf16MatmulsTest(unittest.TestCase):
    """The demo tasks train their matrix products in bf16 only on a CPU with native bf16."""

    @staticmethod
    def inputs():
        return (torch.randn(8, 16, generator=torch.Generator().manual_seed(0)),
                torch.randn(16, 4, generator=torch.Generator().manual_seed(1)))

    def product_under(self, native):
        import tasks

        with mock.patch.object(tasks, "native_bf16", return_value=native), tasks.bf16_matmuls():
            return torch.matmul(*self.inputs())

    def test_float32_without_native_bf16(self):
        product = self.product_under(False)
        self.assertEqual(product.dtype, torch.float32)
        self.assertTrue(torch.equal(product, torch.matmul(*self.inputs())))

    def test_bf16_with_native_bf16(self):
        product = self.product_under(True)
        self.assertEqual(product.dtype, torch.float32)  # computed in bf16, returned as float32
        exact = torch.matmul(*self.inputs())
        self.assertFalse(torch.equal(product, exact))
        self.assertTrue(torch.allclose(product, exact, rtol=0.05, atol=0.1))


if __name__ == "__main__":
    unittest.main()
