"""The variants: how each recipe (see recipes.py) is made from the trained dense base model.

Float bases are made once and shared (``int8_struct50`` reuses ``struct50``'s fine-tuned model).
Structured pruning has two strategies: blocks' own ``prune_structured(ratio)`` (the default when
any module has one) and pruning from the model's graph (pruning/), for any traceable model.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Callable, Dict, List, Sequence

import torch
from torch import nn
import torch.nn.utils.prune as prune

from .errors import ZooError
from .measure import count_nonzeros, count_params
from .pruning import prune_stage_or_keep
from .recipes import Recipe, describe
from .spec import CheckedSpec, Data
from .training import StagedModel, batches, fit


@dataclass
class StageBuild:
    """One stage of a built variant: the module to export and what the manifest says of it."""

    module: nn.Module        # eager stage as exported (may be quantized / bf16-wrapped)
    float_module: nn.Module  # the same stage before any cast, for counting params and FLOPs
    precision: str
    sparsity_kind: str
    sparsity_level: float


@dataclass
class VariantBuild:
    recipe: Recipe
    description: str
    stages: List[StageBuild]

    def model(self) -> StagedModel:
        return StagedModel([s.module for s in self.stages])


class VariantFactory:
    """Makes variants from the dense model, caching float bases so each is pruned/tuned once."""

    def __init__(self, checked: CheckedSpec, dense: StagedModel, seed: int,
                 log: Callable[[str], None]):
        self.checked = checked
        self.spec = checked.spec
        self.side_names = [s.name for s in checked.side_inputs]
        self.seed = seed
        self.log = log
        self._bases: Dict[str, StagedModel] = {"dense": dense}
        self._base_text: Dict[str, str] = {}  # how a base was made, where recipes.py can't tell
        self._dense_params = [count_params(s) for s in dense.stages]

    def make(self, recipe: Recipe) -> VariantBuild:
        base = self.float_base(recipe.base)
        stages, methods = [], []
        for k, float_stage in enumerate(base.stages):
            kind, level = self._sparsity(recipe, k, float_stage)
            module, precision = float_stage, "fp32"
            if recipe.precision == "int8":
                module, precision, method = self._int8(base, k)
                methods.append(f"stage {k + 1} {method}")
            elif recipe.precision == "bf16":
                module, precision = Bf16Stage(copy.deepcopy(float_stage)), "bf16"
            stages.append(StageBuild(module.eval(), float_stage, precision, kind, level))
        description = describe(recipe, self._base_text.get(recipe.base, ""))
        if methods:  # say which int8 scheme each stage got: it depends on the stage's layers
            description += ": " + ", ".join(methods)
        return VariantBuild(recipe, description, stages)

    def float_base(self, base: str) -> StagedModel:
        if base not in self._bases:
            level = int(re.sub(r"\D", "", base)) / 100.0
            if base.startswith("us"):
                self._bases[base] = unstructured(self._bases["dense"], level)
            else:
                self._bases[base] = self._structured(level, base)
        return self._bases[base]

    def _sparsity(self, recipe: Recipe, k: int, stage: nn.Module):
        if recipe.base.startswith("us"):
            params = count_params(stage)
            return "unstructured", round(1.0 - count_nonzeros(stage) / params, 4)
        if recipe.base.startswith("struct"):
            removed = round(1.0 - count_params(stage) / self._dense_params[k], 4)
            return ("structured", removed) if removed > 0 else ("none", 0.0)
        return "none", 0.0

    def _structured(self, ratio: float, base: str) -> StagedModel:
        model = copy.deepcopy(self._bases["dense"])
        mode = self.spec.structured_pruning
        has_blocks = any(callable(getattr(m, "prune_structured", None)) for m in model.modules())
        if mode == "blocks" or (mode == "auto" and has_blocks):
            return self._structured_blocks(model, ratio, base)
        return self._structured_graph(model, ratio, base)

    def _structured_blocks(self, model: StagedModel, ratio: float, base: str) -> StagedModel:
        """Every block's own prune_structured(ratio), then the fine-tune."""
        x, side = self._probe()
        before = [t.shape for t in _boundary_outputs(model, x, side)]
        pruned = 0
        # Collect first: prune_structured replaces submodules, which would upset the iteration.
        for block in [m for m in model.modules() if callable(getattr(m, "prune_structured", None))]:
            block.prune_structured(ratio)
            pruned += 1
        if pruned == 0:
            raise ZooError(f"{self.checked.path}: variant {base} needs structured pruning, but no "
                           "submodule of any stage has a prune_structured(ratio) method (use "
                           "sparseloom_zoo.blocks or add the method to your own blocks)")
        after = [t.shape for t in _boundary_outputs(model, x, side)]
        for k, (b, a) in enumerate(zip(before, after), start=1):
            if b != a:
                raise ZooError(f"{self.checked.path}: structured pruning changed stage {k}'s "
                               f"output shape from {list(b)} to {list(a)}; prune_structured must "
                               "only remove units inside a block, never a boundary's")
        epochs = self.spec.finetune_epochs
        lr = self.spec.finetune_lr or self.spec.lr / 2
        self.log(f"{base}: pruned {pruned} blocks by {ratio:.0%}, fine-tuning {epochs} epoch(s)")
        train(self.checked, model, epochs=epochs, lr=lr, seed=self.seed + 1)
        return model

    def _structured_graph(self, model: StagedModel, ratio: float, base: str) -> StagedModel:
        """Coupled channel groups from each stage's fx graph, the boundaries left alone; a stage
        that cannot be pruned safely stays dense, and the log says which module and why."""
        x, side = self._probe()
        before = [t.shape for t in _boundary_outputs(model, x, side)]
        with torch.no_grad():
            inputs = model.boundaries(x, *side)
        removed = 0
        for k in range(len(model.stages)):
            stage, report = prune_stage_or_keep(model.stages[k], (inputs[k], *side), ratio)
            model.stages[k] = stage
            where = f"{base}: stage {k + 1}"
            if report.pruned or report.blocks:
                self.log(f"{where}: removed {report.removed:.1%} of the {report.params_before} "
                         f"parameters of the prunable part (channel fraction "
                         f"{report.channel_fraction:.3f}): {'; '.join(report.pruned)}")
                removed += report.params_before - report.params_after
            for block in report.blocks:
                self.log(f"{where}: {block} pruned by its own prune_structured({ratio})")
            for item in report.left_alone:
                self.log(f"{where}: left alone: {item}")
            if report.boundary:
                self.log(f"{where}: {len(report.boundary)} group(s) tied to the stage boundary "
                         "kept whole")
        if not removed:
            self.log(f"warning: {base}: no stage had anything it could prune safely; the variant "
                     "is the dense model")
        after = [t.shape for t in _boundary_outputs(model, x, side)]
        for k, (b, a) in enumerate(zip(before, after), start=1):
            if b != a:  # prune_stage_or_keep checks this; kept as the contract's last word
                raise ZooError(f"{self.checked.path}: structured pruning changed stage {k}'s "
                               f"output shape from {list(b)} to {list(a)}")
        epochs = self.spec.finetune_epochs if self.spec.train is not None else 0
        lr = self.spec.finetune_lr or self.spec.lr / 2
        tune = f"then fine-tuned {epochs} epoch(s)" if epochs else "no fine-tune"
        self._base_text[base] = (
            f"structured pruning from the model graph: {ratio:.0%} of the parameters of each "
            "stage's prunable part removed (coupled channel groups, attention heads and FFN units "
            f"of least L1 importance; stage boundaries kept), {tune}")
        if epochs:
            self.log(f"{base}: fine-tuning {epochs} epoch(s)")
            train(self.checked, model, epochs=epochs, lr=lr, seed=self.seed + 1)
        return model

    def _probe(self):
        data = self.spec.validation
        return data["input"][:2], [data[s][:2] for s in self.side_names]

    def _int8(self, base: StagedModel, k: int):
        """Static int8 (FX, onednn, calibrated) for every stage, dynamic int8 on Linear layers
        only when the stage is not FX-traceable; returns (module, precision, method).

        Static, not dynamic, for transformers too: dynamic int8 picks a new activation scale for
        every batch, and onednn then builds a new primitive on every request (its cache is keyed
        by the scale). Measured in C++ on varied inputs, a width-64 encoder block took 0.65 ms
        dynamic vs 0.21 ms fp32; static took 0.31 ms there and 0.75 vs 1.6 ms at width 256."""
        stage = copy.deepcopy(base.stages[k]).eval()
        calib = _stage_inputs(base, self.checked.calibration, self.side_names, k)
        try:
            q = static_int8(stage, calib)
            method = f"static FX (calibrated on {self.checked.calibration['input'].shape[0]})"
        except Exception as err:  # FX needs symbolically traceable code; say so, fall back
            self.log(f"warning: stage {k + 1} is not FX-traceable for static int8 "
                     f"({type(err).__name__}: {str(err)[:120]}); using dynamic int8 on "
                     "its Linear layers only")
            q = dynamic_int8(stage)
            method = "dynamic (Linear)"
        if not any("quantized" in type(m).__module__ for m in q.modules()):
            self.log(f"warning: stage {k + 1} has no layer int8 can quantize; it stays fp32")
            return q, "fp32", "not quantized (fp32)"
        return q, "int8", method


def train(checked: CheckedSpec, model: StagedModel, *, epochs: int, lr: float, seed: int) -> None:
    """Train with the spec's train_fn if it has one, else the generic trainer."""
    spec = checked.spec
    if spec.train is None:  # nothing to train on (a given trained model): weights stay
        return
    torch.manual_seed(seed)
    if spec.train_fn is not None:
        spec.train_fn(model, spec.train, epochs, lr, seed)
        model.eval()
    else:
        fit(model, spec.train, [s.name for s in checked.side_inputs], epochs=epochs, lr=lr,
            batch_size=spec.batch_size, seed=seed)


def unstructured(dense: StagedModel, level: float) -> StagedModel:
    """Zero the smallest-|w| fraction ``level`` of each conv/linear weight, made permanent."""
    model = copy.deepcopy(dense)
    for m in model.modules():
        if isinstance(m, (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)):
            prune.l1_unstructured(m, "weight", amount=level)
            prune.remove(m, "weight")  # bake the mask into the weight: a plain module again
    return model


def dynamic_int8(stage: nn.Module) -> nn.Module:
    """Linear weights int8, activations quantized per batch at run time."""
    return torch.ao.quantization.quantize_dynamic(stage, {nn.Linear}, dtype=torch.qint8)


def static_int8(stage: nn.Module, calibration: List[tuple]) -> nn.Module:
    """FX graph mode static int8 (onednn qconfig), observers calibrated on ``calibration``."""
    from torch.ao.quantization import get_default_qconfig_mapping
    from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx

    prepared = prepare_fx(stage, get_default_qconfig_mapping("onednn"),
                          example_inputs=calibration[0])
    with torch.no_grad():
        for args in calibration:
            prepared(*args)
    return convert_fx(prepared)


class Bf16Stage(nn.Module):
    """Runs a stage in bf16: float inputs cast in, output cast back to float32 (the contract)."""

    def __init__(self, stage: nn.Module):
        super().__init__()
        self.stage = stage.to(torch.bfloat16)

    def forward(self, x: torch.Tensor, *side: torch.Tensor) -> torch.Tensor:
        args = [t.to(torch.bfloat16) if t.is_floating_point() else t for t in (x,) + side]
        return self.stage(*args).float()


@torch.no_grad()
def _stage_inputs(model: StagedModel, data: Data, side_names: Sequence[str], k: int,
                  batch_size: int = 64) -> List[tuple]:
    """(x, *side) batches that stage k (0-based) of ``model`` sees on ``data``."""
    model.eval()
    out = []
    for x, side, _ in batches(data, side_names, batch_size):
        for stage in model.stages[:k]:
            x = stage(x, *side)
        out.append((x, *side))
    return out


@torch.no_grad()
def _boundary_outputs(model: StagedModel, x: torch.Tensor, side: list) -> List[torch.Tensor]:
    model.eval()
    outs = []
    for stage in model.stages:
        x = stage(x, *side)
        outs.append(x)
    return outs
