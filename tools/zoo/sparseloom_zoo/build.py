"""Build a zoo: check the spec, train dense, make every variant, export, measure, write manifest.

The zoo is written to ``OUT_DIR.tmp-<pid>`` and renamed into place only when complete, so OUT_DIR
is always either the previous zoo or the new one, never half of either.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from pathlib import Path
from typing import Callable, List, Optional, Sequence

import torch

from .cache import build_key, builder_version
from .errors import ZooError
from .export import export_stage
from .int8_check import check_int8_stage
from .measure import count_nonzeros, count_params, estimate_flops
from .preflight import check_variants
from .recipes import Recipe, parse_variants
from .spec import CheckedSpec, load_spec
from .training import StagedModel, predict, top1_accuracy
from .user_variants import sparsity
from .variants import StageBuild, VariantBuild, VariantFactory, train

FORMAT = "sparseloom-zoo"
FORMAT_VERSION = 1
REFERENCE_SAMPLES = 8
TRACE_BATCH, CHECK_BATCH = 3, 5  # different sizes: the check proves the batch stays dynamic


def build_zoo(spec_path: Path, out_dir: Path, *, seed: int, variants: Sequence[str],
              threads: int, log: Callable[[str], None],
              keep_variants: Optional[dict] = None) -> dict:
    """Build the zoo at ``out_dir`` (replacing what is there) and return its manifest.
    ``keep_variants``, if given, receives every VariantBuild by id (the eager stages, for
    checks that compare them with the exported files)."""
    started = time.perf_counter()
    spec_path, out_dir = Path(spec_path), Path(out_dir)
    recipes = parse_variants(list(variants))
    _check_replaceable(out_dir)
    key = build_key(spec_path.read_bytes(), seed, variants)

    _make_deterministic(seed, threads)
    checked = load_spec(spec_path, seed)
    log(f"spec {spec_path}: task {checked.spec.task}, {checked.num_stages} stages, "
        f"boundaries {[b.shape for b in checked.boundaries]}, output {checked.output.shape}")
    rng = torch.random.get_rng_state()
    check_variants(checked, recipes, log)  # before any training: a variant it cannot make
    torch.random.set_rng_state(rng)

    tmp = out_dir.with_name(f"{out_dir.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        tmp.mkdir(parents=True)
        manifest = _build_into(tmp, checked, recipes, seed, log, keep_variants)
        build_warnings = manifest.pop("warnings")
        manifest["build"] = {"key": key, "builder_version": builder_version(),
                             "spec_sha256": checked.content_sha256,
                             "variants": list(variants), "torch": torch.__version__,
                             "threads": threads,
                             "wall_s": round(time.perf_counter() - started, 2),
                             "warnings": build_warnings}
        (tmp / "zoo.json").write_text(json.dumps(manifest, indent=2) + "\n")
        _replace_dir(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    log(f"wrote {out_dir} in {manifest['build']['wall_s']:.1f} s")
    return manifest


def _build_into(root: Path, checked: CheckedSpec, recipes, seed: int, log,
                keep_variants: Optional[dict] = None) -> dict:
    spec = checked.spec
    side_names = [s.name for s in checked.side_inputs]
    val = spec.validation

    dense = StagedModel(spec.stages)
    if spec.pretrained or spec.train is None:
        log("dense: using the spec's trained weights")
        dense.eval()
    else:
        t0 = time.perf_counter()
        log(f"dense: training {spec.epochs} epoch(s) on {spec.train['input'].shape[0]} samples")
        train(checked, dense, epochs=spec.epochs, lr=spec.lr, seed=seed)
        log(f"dense: trained in {time.perf_counter() - t0:.1f} s")

    n_ref = min(REFERENCE_SAMPLES, val["input"].shape[0])
    reference = {k: val[k][:n_ref].clone() for k in ["input"] + side_names}
    factory = VariantFactory(checked, dense, seed, log)
    entries, warnings = [], []
    user = [_user_variant(u, dense, val, side_names) for u in checked.user_variants]
    for recipe_or_variant in list(recipes) + user:
        t0 = time.perf_counter()
        if isinstance(recipe_or_variant, VariantBuild):
            variant, recipe = recipe_or_variant, recipe_or_variant.recipe
        else:
            variant, recipe = factory.make(recipe_or_variant), recipe_or_variant
        model = variant.model()
        accuracy = top1_accuracy(predict(model, val, side_names), val["labels"])
        with torch.no_grad():
            reference[f"output/{recipe.id}"] = model(
                reference["input"], *[reference[s] for s in side_names]).float().clone()
        stages = _export_variant(root, checked, variant, warnings, log)
        if keep_variants is not None:
            keep_variants[recipe.id] = variant
        entries.append({"id": recipe.id, "description": variant.description,
                        "accuracy": round(accuracy, 6), "stages": stages})
        log(f"{recipe.id}: accuracy {accuracy:.4f}, params "
            f"{sum(s['params'] for s in stages)}, flops {sum(s['flops'] for s in stages)} "
            f"({time.perf_counter() - t0:.1f} s)")

    # clone(): torch.save of a slice would store the whole underlying tensor.
    validation = {k: val[k].clone() for k in ["input"] + side_names + ["labels"]}
    torch.save(validation, str(root / "validation.pt"))
    torch.save(reference, str(root / "reference.pt"))
    if warnings:
        log(f"{len(warnings)} warning(s), also in zoo.json build.warnings")
    return {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "task": spec.task,
        "family": spec.family,
        "num_stages": checked.num_stages,
        "seed": seed,
        "metric": {"name": spec.metric},
        "input": checked.input.to_json(),
        "side_inputs": [s.to_json() for s in checked.side_inputs],
        "boundaries": [b.to_json() for b in checked.boundaries],
        "output": checked.output.to_json(),
        "validation": {"file": "validation.pt", "num_samples": int(val["input"].shape[0]),
                       "sha256": _sha256(root / "validation.pt")},
        "reference": {"file": "reference.pt", "num_samples": n_ref,
                      "sha256": _sha256(root / "reference.pt")},
        "variants": entries,
        "warnings": warnings,  # moved into "build" by build_zoo
    }


def _sha256(path: Path) -> str:
    """The content hash the manifest records and every reader checks (docs/zoo-format.md)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _user_variant(user, dense: StagedModel, val, side_names) -> VariantBuild:
    """A checked user variant as a VariantBuild: exported and measured like the built ones."""
    x, side = val["input"][:1], [val[s][:1] for s in side_names]
    stages = []
    with torch.no_grad():
        for stage, dense_stage in zip(user.stages, dense.stages):
            flops = estimate_flops(stage, x, side), estimate_flops(dense_stage, x, side)
            kind, level = sparsity(stage, dense_stage, *flops)
            stages.append(StageBuild(stage.eval(), stage, user.precision, kind, level))
            x = dense_stage(x, *side)
    return VariantBuild(Recipe(user.id, "user", user.precision), user.description, stages)


def _export_variant(root: Path, checked: CheckedSpec, variant: VariantBuild,
                    warnings: List[str], log: Callable[[str], None]) -> List[dict]:
    """Export every stage of one variant and return its manifest Stage entries; what is wrong
    with an int8 stage (int8_check.py) is logged and appended to ``warnings``."""
    val = checked.spec.validation
    side_names = [s.name for s in checked.side_inputs]
    n = TRACE_BATCH + CHECK_BATCH
    x, side = val["input"][:n], [val[s][:n] for s in side_names]
    x1, side1 = val["input"][:1], [val[s][:1] for s in side_names]  # batch 1, for FLOPs
    entries = []
    for k, stage in enumerate(variant.stages, start=1):
        rel = f"stages/{variant.recipe.id}/stage{k}.pt"
        example = (x[:TRACE_BATCH], *[s[:TRACE_BATCH] for s in side])
        check = (x[TRACE_BATCH:], *[s[TRACE_BATCH:] for s in side])
        export_stage(stage.module, example, check, root / rel, stage.precision,
                     f"variant {variant.recipe.id} stage {k}")
        entries.append({
            "file": rel,
            "params": count_params(stage.float_module),
            "nonzeros": count_nonzeros(stage.float_module),
            "bytes": (root / rel).stat().st_size,
            "sha256": _sha256(root / rel),
            "flops": estimate_flops(stage.float_module, x1, side1),
            "precision": stage.precision,
            "sparsity": {"kind": stage.sparsity_kind, "level": stage.sparsity_level},
        })
        if stage.precision == "int8":
            for warning in check_int8_stage(stage.module, stage.float_module, root / rel, x1,
                                            side1, f"{variant.recipe.id} stage {k}"):
                log(f"warning: {warning}")
                warnings.append(warning)
        with torch.no_grad():  # the next stage's inputs are this variant's own boundary
            x = stage.module(x, *side)
            x1 = stage.float_module(x1, *side1)
    return entries


def _make_deterministic(seed: int, threads: int) -> None:
    torch.manual_seed(seed)
    torch.set_num_threads(threads)  # float sums depend on how work is split across threads
    torch.use_deterministic_algorithms(True, warn_only=True)
    if "onednn" not in torch.backends.quantized.supported_engines:
        raise ZooError("this torch build has no onednn quantized engine (needed for int8 "
                       f"variants); supported: {torch.backends.quantized.supported_engines}")
    torch.backends.quantized.engine = "onednn"


def _check_replaceable(out_dir: Path) -> None:
    """Refuse to replace anything that is not a zoo: --out /home must not wipe a home."""
    if not out_dir.exists():
        return
    if not out_dir.is_dir():
        raise ZooError(f"--out {out_dir}: exists and is not a directory")
    if any(out_dir.iterdir()) and not (out_dir / "zoo.json").is_file():
        raise ZooError(f"--out {out_dir}: exists, is not empty and has no zoo.json; refusing to "
                       "replace it (expected a new path or an earlier zoo)")


def _replace_dir(new: Path, target: Path) -> None:
    """Swap ``new`` into ``target`` with renames; the old zoo is removed only after."""
    if not target.exists():
        new.rename(target)
        return
    old = target.with_name(f"{target.name}.tmp-{os.getpid()}-old")
    shutil.rmtree(old, ignore_errors=True)
    target.rename(old)
    new.rename(target)
    shutil.rmtree(old, ignore_errors=True)
