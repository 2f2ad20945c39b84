"""Checks, before anything is trained, that every requested variant can be made.

Training dense and fine-tuning pruned bases take minutes; a spec whose blocks could not be
structurally pruned used to train dense and four variants before the first structured one stopped
the build. Here each recipe's transformation is tried once on an untrained copy of the model (what
can be pruned, quantized or cast depends on the model's structure, not on its weights), and every
variant that cannot be made is reported at once, with the reason, before any slow work.
"""

from __future__ import annotations

import copy
import re
from typing import Callable, Dict, List, Sequence

import torch
from torch import nn

from .errors import ZooError
from .pruning import prune_stage_or_keep
from .recipes import Recipe
from .spec import CheckedSpec
from .training import StagedModel

_PRUNABLE = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)


def check_variants(checked: CheckedSpec, recipes: Sequence[Recipe],
                   log: Callable[[str], None]) -> None:
    """ZooError listing every variant of ``recipes`` that cannot be made and why; warnings (in
    the log) for variants that can be made but not fully (an int8 stage that stays fp32)."""
    spec = checked.spec
    side_names = [s.name for s in checked.side_inputs]
    val = spec.validation
    x, side = val["input"][:2], [val[s][:2] for s in side_names]
    model = copy.deepcopy(StagedModel(spec.stages)).eval()
    problems: Dict[str, str] = {}

    bases = {r.base for r in recipes}
    for base in sorted(b for b in bases if b.startswith("struct")):
        why = _structured_problem(checked, model, int(re.sub(r"\D", "", base)) / 100.0, x, side)
        if why:
            problems[base] = why
    if any(b.startswith("us") for b in bases) and not _has_prunable(model):
        problems["us"] = ("unstructured pruning zeroes conv/linear weights, and no stage has a "
                          "Linear or Conv layer")
    if any(r.precision == "int8" for r in recipes):
        why = _int8_problem(checked, model, side_names, log)
        if why:
            problems["int8"] = why
    if any(r.precision == "bf16" for r in recipes):
        why = _bf16_problem(model, x, side)
        if why:
            problems["bf16"] = why

    cannot = []
    for r in recipes:
        why = (problems.get(r.base) or problems.get("us" if r.base.startswith("us") else "")
               or problems.get(r.precision))
        if why:
            cannot.append(f"{r.id}: {why}")
    if cannot:
        raise ZooError(f"{checked.path}: cannot make {len(cannot)} of the {len(recipes)} "
                       "requested variant(s), so nothing was trained:\n  " + "\n  ".join(cannot)
                       + "\n(leave them out of --variants, or change the spec)")
    log(f"preflight: all {len(recipes)} variant(s) can be made")


def _has_prunable(model: nn.Module) -> bool:
    return any(isinstance(m, _PRUNABLE) for m in model.modules())


@torch.no_grad()
def _boundary_shapes(model: StagedModel, x, side) -> List[torch.Size]:
    shapes = []
    for stage in model.stages:
        x = stage(x, *side)
        shapes.append(x.shape)
    return shapes


def _structured_problem(checked: CheckedSpec, dense: StagedModel, ratio: float, x, side) -> str:
    """Why structured pruning by ``ratio`` cannot be done ("" when it can), by the strategy the
    build would use (VariantFactory._structured)."""
    model = copy.deepcopy(dense)
    mode = checked.spec.structured_pruning
    blocks = [m for m in model.modules() if callable(getattr(m, "prune_structured", None))]
    before = _boundary_shapes(model, x, side)
    if mode == "blocks" or (mode == "auto" and blocks):
        if not blocks:
            return ("structured pruning (structured_pruning='blocks') needs blocks with a "
                    "prune_structured(ratio) method, and no submodule of any stage has one (use "
                    "sparseloom_zoo.blocks, add the method, or set structured_pruning='graph')")
        try:
            for block in blocks:
                block.prune_structured(ratio)
            after = _boundary_shapes(model, x, side)
        except Exception as err:
            return (f"prune_structured({ratio}) failed on an untrained copy: "
                    f"{type(err).__name__}: {str(err).splitlines()[0][:160]}")
        for k, (b, a) in enumerate(zip(before, after), start=1):
            if b != a:
                return (f"prune_structured({ratio}) changed stage {k}'s output shape from "
                        f"{list(b)} to {list(a)}; it must only remove units inside a block")
        return ""
    with torch.no_grad():
        inputs = model.boundaries(x, *side)
    reasons = []
    for k, stage in enumerate(model.stages):
        _, report = prune_stage_or_keep(stage, (inputs[k], *side), ratio)
        if report.pruned or report.blocks:
            return ""
        reasons += [f"stage {k + 1}: {item}" for item in report.left_alone[:2]]
    return ("graph pruning finds nothing it can remove safely in any stage"
            + (f" ({'; '.join(reasons)})" if reasons else "")
            + "; the variant would be the dense model")


def _int8_problem(checked: CheckedSpec, dense: StagedModel, side_names: List[str],
                  log: Callable[[str], None]) -> str:
    """Why no stage can be quantized ("" when one can); warns about stages that stay fp32."""
    from .variants import _stage_inputs, dynamic_int8, static_int8

    if "onednn" not in torch.backends.quantized.supported_engines:
        return ("this torch build has no onednn quantized engine; supported: "
                f"{torch.backends.quantized.supported_engines}")
    calibration = {k: v[:8] for k, v in checked.calibration.items()}
    quantized = 0
    for k in range(len(dense.stages)):
        stage = copy.deepcopy(dense.stages[k]).eval()
        calib = _stage_inputs(dense, calibration, side_names, k)[:1]
        try:
            q = static_int8(stage, calib)
        except Exception:  # the build falls back the same way (VariantFactory._int8)
            q = dynamic_int8(stage)
        if any("quantized" in type(m).__module__ for m in q.modules()):
            quantized += 1
        else:
            log(f"warning: int8: stage {k + 1} has no layer int8 can quantize; in int8 variants "
                "it will stay fp32")
    if quantized == 0:
        return "no stage has a layer int8 can quantize; an int8 variant would be the fp32 one"
    return ""


def _bf16_problem(dense: StagedModel, x, side) -> str:
    from .variants import Bf16Stage

    try:
        with torch.no_grad():
            for stage in dense.stages:
                x = Bf16Stage(copy.deepcopy(stage)).eval()(x, *side)
    except Exception as err:
        return f"the stages fail in bf16: {type(err).__name__}: {str(err).splitlines()[0][:160]}"
    return ""
