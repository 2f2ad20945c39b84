"""Zoos from the models users already have: a whole trained model with named cut points, no
training, and variants the user made elsewhere.

    LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp GLOG_minloglevel=2 \\
        /usr/bin/python3 -m unittest tests.test_user_models -v
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import unittest
from pathlib import Path

import torch
import torch.nn.functional as F

ZOO_ROOT = Path(__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent
sys.path.insert(0, str(ZOO_ROOT))
sys.path.insert(0, str(TESTS))

import families  # noqa: E402
from test_builder import run_cli  # noqa: E402
from test_graph_pruning import stitched_outputs  # noqa: E402

SPARSELOOM = Path(os.environ.get("SPARSELOOM",
                                 ZOO_ROOT.parents[1] / "build" / "src" / "sparseloom"))
WIDTHS = (8, 16, 32, 64)

# What a user writes: their trained torchvision-style ResNet, cut after layer2 and layer3, no
# training; plus their own pruned copy and their own per-stage QAT int8 model.
SPEC = """
import sys
import torch
from torch.ao.quantization import get_default_qat_qconfig_mapping
from torch.ao.quantization.quantize_fx import convert_fx, prepare_qat_fx
sys.path.insert(0, {tests!r})
import families
from sparseloom_zoo import UserVariant, ZooSpec
from sparseloom_zoo.split import split_model

CUTS = ["layer2", "layer3"]

def trained():
    model = families.ResNet(widths={widths})
    model.load_state_dict(torch.load({checkpoint!r}))
    return model.eval()

def qat_stages(model, data):
    stages, x, out = split_model(model, CUTS), data["input"][:64], []
    for stage in stages:
        prepared = prepare_qat_fx(stage.train(), get_default_qat_qconfig_mapping("onednn"),
                                  example_inputs=(x,))
        with torch.no_grad():  # no optimizer here: the fake-quant ranges are what we need
            prepared(x)
        out.append(convert_fx(prepared.eval()))
        with torch.no_grad():
            x = stage.eval()(x)
    return out

def make_spec(seed):
    _, validation = families._data(0, (3, 16, 16))
    model = trained()
    return ZooSpec(task="user-resnet", family="resnet", model=model, cut_after=CUTS,
                   validation=validation, epochs=0, user_variants={user_variants})
"""
OWN_VARIANTS = """{
                       "my_narrow": families.narrowed(model),
                       "my_qat": UserVariant(stages=qat_stages(trained(), validation),
                                             description="the user's QAT int8, per stage"),
                   }"""


def accuracy(model, data) -> float:
    with torch.no_grad():
        return float((model.eval()(data["input"]).argmax(-1) == data["labels"]).float().mean())


class WholeModelZooTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = Path(tempfile.mkdtemp(prefix="zoo-user-"))
        train, cls.validation = families._data(0, (3, 16, 16))
        torch.manual_seed(0)
        model = families.ResNet(widths=WIDTHS)
        opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
        model.train()
        for _ in range(3):  # "trained elsewhere": a few steps give it a real accuracy
            for i in range(0, 256, 64):
                opt.zero_grad()
                F.cross_entropy(model(train["input"][i:i + 64]), train["labels"][i:i + 64]).backward()
                opt.step()
        cls.model = model.eval()
        cls.checkpoint = cls.tmp / "resnet.pt"
        torch.save(model.state_dict(), str(cls.checkpoint))
        cls.spec = cls.write_spec("user_resnet.py")
        cls.zoo = cls.tmp / "zoo"
        code, err = run_cli("build", "--spec", str(cls.spec), "--out", str(cls.zoo),
                            "--variants", "dense,struct50,int8")
        assert code == 0, err
        cls.log = err
        cls.manifest = json.loads((cls.zoo / "zoo.json").read_text())
        cls.by_id = {v["id"]: v for v in cls.manifest["variants"]}

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    @classmethod
    def write_spec(cls, name: str, user_variants: str = OWN_VARIANTS) -> Path:
        path = cls.tmp / name
        path.write_text(SPEC.format(tests=str(TESTS), widths=WIDTHS, checkpoint=str(cls.checkpoint),
                                    user_variants=user_variants))
        return path

    def test_dense_accuracy_is_the_given_models(self):
        given = accuracy(self.model, self.validation)
        self.assertGreater(given, 0.4)  # 5 classes: the model did learn something
        self.assertEqual(self.by_id["dense"]["accuracy"], round(given, 6))
        self.assertIn("dense: using the spec's trained weights", self.log)
        self.assertEqual(self.manifest["boundaries"][0]["shape"], [-1, 16, 8, 8])

    def test_pruned_variant_without_train_data_is_not_fine_tuned(self):
        self.assertIn("no fine-tune", self.by_id["struct50"]["description"])
        self.assertLess(sum(s["params"] for s in self.by_id["struct50"]["stages"]),
                        sum(s["params"] for s in self.by_id["dense"]["stages"]))

    def test_user_variants_are_measured_like_built_ones(self):
        self.assertEqual([v["id"] for v in self.manifest["variants"]],
                         ["dense", "struct50", "int8", "my_narrow", "my_qat"])
        narrow, qat = self.by_id["my_narrow"], self.by_id["my_qat"]
        self.assertEqual(narrow["accuracy"],
                         round(accuracy(families.narrowed(self.model), self.validation), 6))
        for s, d in zip(narrow["stages"], self.by_id["dense"]["stages"]):
            self.assertEqual(s["precision"], "fp32")
            self.assertEqual(s["sparsity"]["kind"], "structured")
            self.assertLess(s["params"], d["params"])
            self.assertLess(s["flops"], d["flops"])
        self.assertEqual(qat["description"], "the user's QAT int8, per stage")
        for s, d in zip(qat["stages"], self.by_id["dense"]["stages"]):
            self.assertEqual(s["precision"], "int8")
            self.assertEqual(s["sparsity"], {"kind": "none", "level": 0.0})
            # Packed int8 weights are counted; only the BatchNorms folded into convs are gone.
            self.assertAlmostEqual(s["params"] / d["params"], 1.0, delta=0.02)
            self.assertGreater(s["flops"], 0.9 * d["flops"])
        self.assertGreater(qat["accuracy"], 0.3)

    def test_every_stitched_variant_runs_and_own_chains_match_reference(self):
        ref = torch.load(str(self.zoo / "reference.pt"))
        outputs = stitched_outputs(self.zoo, self.manifest, ref["input"], [])
        self.assertEqual(len(outputs), 5 ** 3)
        for chain, out in outputs.items():
            self.assertTrue(torch.isfinite(out).all(), chain)
            self.assertEqual(list(out.shape), [len(ref["input"]), 5])
            if len(set(chain)) == 1:
                precision = {s["precision"] for s in self.by_id[chain[0]]["stages"]}
                tol = 1e-5 if precision == {"fp32"} else 1e-3
                want = ref[f"output/{chain[0]}"]
                self.assertLessEqual(float((out - want).abs().max()),
                                     tol * max(1.0, float(want.abs().max())), chain)

    @unittest.skipUnless(SPARSELOOM.is_file(), f"{SPARSELOOM} is not built")
    def test_cpp_engine_verifies_the_zoo(self):
        proc = subprocess.run([str(SPARSELOOM), "zoo", "verify", str(self.zoo)],
                              capture_output=True, text=True, timeout=300,
                              env={**os.environ, "GLOG_minloglevel": "2"})
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)

    def test_user_variant_with_a_wrong_boundary_is_an_error_naming_it(self):
        spec = self.write_spec("bad_user.py", user_variants="""{
                       "too_wide": families.ResNet(widths=(8, 24, 32, 64))}""")
        out = self.tmp / "never"
        code, err = run_cli("build", "--spec", str(spec), "--out", str(out))
        self.assertEqual(code, 2)
        self.assertIn("user_variants['too_wide']", err)
        self.assertIn("stage 1 returns torch.float32 [2, 24, 8, 8]", err)
        self.assertIn("boundary1 of shape [2, 16, 8, 8]", err)
        self.assertFalse(out.exists())

    def test_cut_point_errors_name_the_module(self):
        for cuts, expected in ((["layer9"], "no module 'layer9'"),
                               (["layer3", "layer2"], "in the order the forward runs them"),
                               (["layer1.0.conv1"], "uses")):
            with self.subTest(cuts=cuts):
                spec = self.tmp / "bad_cut.py"
                spec.write_text(textwrap.dedent(f"""
                    import sys
                    sys.path.insert(0, {str(TESTS)!r})
                    import families
                    from sparseloom_zoo import ZooSpec

                    def make_spec(seed):
                        return ZooSpec(task="t", family="resnet", model=families.ResNet(),
                                       cut_after={cuts!r}, epochs=0,
                                       validation=families._data(0, (3, 16, 16))[1])
                """))
                code, err = run_cli("build", "--spec", str(spec), "--out", str(self.tmp / "n"))
                self.assertEqual(code, 2)
                self.assertIn("ZooSpec.cut_after", err)
                self.assertIn(expected, err)


if __name__ == "__main__":
    unittest.main()
