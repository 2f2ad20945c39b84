"""The declaration API: what a spec file provides, and how the builder checks it.

A spec file is a Python module with one function::

    def make_spec(seed: int) -> ZooSpec

The builder imports it, calls ``make_spec(seed)`` and checks the result here, once, so that later
steps can trust it. The checks run the stages on a few samples to derive every boundary's shape:
the user only declares cut points (the stage modules), never tensor shapes.
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence

import torch
from torch import nn

from .errors import SpecError

# A dataset is a dict of tensors sharing dim 0: "input", one entry per side input, "labels".
Data = Dict[str, torch.Tensor]

# dtype names allowed by docs/zoo-format.md (TensorSpec.dtype).
DTYPE_NAMES = {torch.float32: "float32", torch.int64: "int64", torch.bool: "bool"}

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass
class ZooSpec:
    """Everything the builder needs to make a zoo for one task.

    Required:
      task:        task name written to the manifest, e.g. ``"fmnist-resnet"``.
      family:      base-model family: ``resnet``, ``bert``, ``vit``, ``wav2vec2`` or free text.
      stages:      the K cut points, as K ``nn.Module`` s. Stage k's ``forward(x, *side_inputs)``
                   takes stage k-1's output (the ``input`` for stage 1) and the side inputs, and
                   returns a float32 tensor; the last returns logits ``[batch, classes]``.
                   Or, instead, ``model`` and ``cut_after`` (below).
      validation:  dataset (dict with ``"input"``, each side input by name, ``"labels"`` int64
                   ``[N]``). Validation accuracy of every variant goes into the manifest.
      train:       the same for training; required unless nothing is trained (``epochs=0`` or
                   ``pretrained``); without it pruned variants are not fine-tuned.

    Optional:
      model, cut_after: the whole model and the names of the modules after which to cut it
                   (e.g. ``["layer2", "layer3"]`` gives 3 stages), split with torch.fx
                   (split.py); its other ``forward`` arguments are the side inputs.
      user_variants: variants made elsewhere, ``{id: model | [stage, ...] | UserVariant}``: a
                   whole model of the same architecture is cut at ``cut_after``; each is checked
                   to keep every boundary shape, measured and exported like a built one.
      structured_pruning: ``"auto"`` (default: blocks' own ``prune_structured`` if any module
                   has one, else pruning from the graph), ``"blocks"`` or ``"graph"``.
      side_inputs: names of tensors passed unchanged to every stage after ``x`` (e.g. an
                   attention mask). Each must be a key of every dataset.
      calibration: dataset used to calibrate static int8; default: the first 256 train samples.
      epochs, lr, batch_size: the generic trainer's settings for the dense base model.
      finetune_epochs, finetune_lr: the short fine-tune after structured pruning (lr defaults to
                   ``lr / 2``).
      train_fn:    ``train_fn(model, data, epochs, lr, seed)`` replaces the generic trainer (for
                   both the base model and fine-tunes); ``model(x, *side)`` runs all stages.
      pretrained:  True when ``stages`` already hold trained weights: the base model is not trained.
      metric:      only ``"top1_accuracy"`` is defined (argmax of the output's last dim).
    """

    task: str
    family: str
    stages: Optional[List[nn.Module]] = None
    train: Optional[Data] = None
    validation: Optional[Data] = None
    side_inputs: Sequence[str] = ()
    calibration: Optional[Data] = None
    epochs: int = 3
    lr: float = 1e-3
    batch_size: int = 64
    finetune_epochs: int = 1
    finetune_lr: Optional[float] = None
    train_fn: Optional[Callable] = None
    pretrained: bool = False
    metric: str = "top1_accuracy"
    model: Optional[nn.Module] = None
    cut_after: Sequence[str] = ()
    user_variants: Dict[str, Any] = field(default_factory=dict)
    structured_pruning: str = "auto"


@dataclass
class UserVariant:
    """A variant made outside the builder (own pruning, QAT, a checkpoint of the same
    architecture): a whole ``model`` (cut at the spec's ``cut_after``) or its K ``stages``."""

    model: Optional[nn.Module] = None
    stages: Optional[List[nn.Module]] = None
    description: str = "user-made variant, given in the spec"


STRUCTURED_PRUNING = ("auto", "blocks", "graph")


@dataclass(frozen=True)
class TensorSpec:
    """One row of the manifest's tensor descriptions; dim 0 is the dynamic batch (-1)."""

    name: str
    dtype: str
    shape: List[int]

    def to_json(self) -> dict:
        return {"name": self.name, "dtype": self.dtype, "shape": list(self.shape)}


@dataclass
class CheckedSpec:
    """A ZooSpec that passed every check, plus what the checks derived from it."""

    spec: ZooSpec
    path: Path
    content_sha256: str
    input: TensorSpec
    side_inputs: List[TensorSpec]
    boundaries: List[TensorSpec]
    output: TensorSpec
    calibration: Data = field(default_factory=dict)
    user_variants: list = field(default_factory=list)  # user_variants.CheckedUserVariant

    @property
    def num_stages(self) -> int:
        return len(self.spec.stages)


def load_spec(path: Path, seed: int) -> CheckedSpec:
    """Import the spec file, call ``make_spec(seed)`` and check what it returned."""
    path = Path(path)
    if not path.is_file():
        raise SpecError(f"{path}: spec file not found")
    content = path.read_bytes()
    # A unique module name keeps two specs with the same file name apart (tests load several).
    mod_name = "sparseloom_spec_" + hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:12]
    loader_spec = importlib.util.spec_from_file_location(mod_name, path)
    if loader_spec is None or loader_spec.loader is None:
        raise SpecError(f"{path}: cannot be imported as a Python module (expected a .py file)")
    module = importlib.util.module_from_spec(loader_spec)
    sys.modules[mod_name] = module
    try:
        loader_spec.loader.exec_module(module)
    except Exception as err:  # the user's code: report where, keep the cause
        raise SpecError(f"{path}: importing the spec failed: {type(err).__name__}: {err}") from err
    make_spec = getattr(module, "make_spec", None)
    if not callable(make_spec):
        raise SpecError(f"{path}: expected a function `make_spec(seed: int) -> ZooSpec`")
    try:
        spec = make_spec(seed)
    except Exception as err:
        raise SpecError(f"{path}: make_spec({seed}) raised {type(err).__name__}: {err}") from err
    if not isinstance(spec, ZooSpec):
        raise SpecError(f"{path}: make_spec returned {type(spec).__name__}, expected ZooSpec")
    return check_spec(spec, path, hashlib.sha256(content).hexdigest())


def check_spec(spec: ZooSpec, path: Path, content_sha256: str = "") -> CheckedSpec:
    """Validate every field and derive the input, side-input, boundary and output specs."""
    where = f"{path}: ZooSpec"
    for name in ("task", "family"):
        value = getattr(spec, name)
        if not isinstance(value, str) or not value.strip():
            raise SpecError(f"{where}.{name}: expected a non-empty string, got {value!r}")
    if spec.metric != "top1_accuracy":
        raise SpecError(f"{where}.metric: expected 'top1_accuracy', got {spec.metric!r}")
    if spec.structured_pruning not in STRUCTURED_PRUNING:
        raise SpecError(f"{where}.structured_pruning: expected one of {STRUCTURED_PRUNING}, got "
                        f"{spec.structured_pruning!r}")
    if spec.model is not None:
        if spec.stages is not None:
            raise SpecError(f"{where}: give either stages or model + cut_after, not both")
        if not isinstance(spec.model, nn.Module):
            raise SpecError(f"{where}.model: expected nn.Module, got {type(spec.model).__name__}")
        from .split import split_model  # fx is only needed for whole models

        spec.stages = split_model(spec.model, spec.cut_after, where)
    elif spec.cut_after:
        raise SpecError(f"{where}.cut_after: needs ZooSpec.model (the whole model to cut)")
    if not isinstance(spec.stages, (list, tuple)) or len(spec.stages) < 1:
        raise SpecError(f"{where}.stages: expected a non-empty list of nn.Module (or ZooSpec.model "
                        "with cut_after)")
    for k, stage in enumerate(spec.stages, start=1):
        if not isinstance(stage, nn.Module):
            raise SpecError(f"{where}.stages[{k - 1}] (stage {k}): expected nn.Module, "
                            f"got {type(stage).__name__}")
    spec.stages = list(spec.stages)
    side_names = list(spec.side_inputs)
    for name in side_names:
        if not isinstance(name, str) or not _NAME.match(name) or name in ("input", "labels"):
            raise SpecError(f"{where}.side_inputs: {name!r} is not a valid name "
                            "(expected an identifier other than 'input' and 'labels')")
    if len(set(side_names)) != len(side_names):
        raise SpecError(f"{where}.side_inputs: names must be unique, got {side_names}")
    for name, value in (("epochs", spec.epochs), ("batch_size", spec.batch_size),
                        ("finetune_epochs", spec.finetune_epochs)):
        if not isinstance(value, int) or value < (1 if name == "batch_size" else 0):
            raise SpecError(f"{where}.{name}: expected a non-negative int, got {value!r}")
    if not (isinstance(spec.lr, (int, float)) and spec.lr > 0):
        raise SpecError(f"{where}.lr: expected a positive number, got {spec.lr!r}")

    if spec.validation is None:
        raise SpecError(f"{where}.validation: required (the data every variant's accuracy is "
                        "measured on)")
    if spec.train is None and spec.epochs > 0 and not spec.pretrained:
        raise SpecError(f"{where}.train: needed to train the dense model ({spec.epochs} epochs); "
                        "give train data, or epochs=0 / pretrained=True for a trained model")
    if spec.train is not None:
        _check_data(spec.train, side_names, f"{where}.train")
    _check_data(spec.validation, side_names, f"{where}.validation")
    calibration = spec.calibration
    if calibration is None:  # without train data, int8 calibrates on validation samples
        calibration = {k: v[:256] for k, v in (spec.train or spec.validation).items()}
    _check_data(calibration, side_names, f"{where}.calibration")
    ref = spec.validation
    splits = [("calibration", calibration)]
    if spec.train is not None:
        splits.insert(0, ("train", spec.train))
    for split_name, split in splits:
        for key in ["input"] + side_names:
            if split[key].dtype != ref[key].dtype or split[key].shape[1:] != ref[key].shape[1:]:
                raise SpecError(
                    f"{where}.{split_name}[{key!r}]: per-sample shape/dtype "
                    f"{list(split[key].shape[1:])}/{split[key].dtype} differs from validation's "
                    f"{list(ref[key].shape[1:])}/{ref[key].dtype}")

    input_spec = _tensor_spec("input", ref["input"], f"{where}.validation['input']")
    side_specs = [_tensor_spec(n, ref[n], f"{where}.validation[{n!r}]") for n in side_names]
    boundaries, output = _derive_boundaries(spec, ref, side_names, where)
    classes = output.shape[1]
    for split_name, split in splits[:-1] + [("validation", spec.validation)]:
        labels = split["labels"]
        if labels.numel() and (labels.min() < 0 or labels.max() >= classes):
            raise SpecError(f"{where}.{split_name}['labels']: expected class ids in "
                            f"[0, {classes}) to match the last stage's output width {classes}, "
                            f"got range [{int(labels.min())}, {int(labels.max())}]")
    checked = CheckedSpec(spec, Path(path), content_sha256, input_spec, side_specs, boundaries,
                          output, calibration)
    from .user_variants import check_user_variants  # it needs CheckedSpec: imported late

    checked.user_variants = check_user_variants(checked, where)
    return checked


def _check_data(data: Data, side_names: List[str], where: str) -> None:
    if not isinstance(data, dict):
        raise SpecError(f"{where}: expected a dict of tensors, got {type(data).__name__}")
    for key in ["input", "labels"] + side_names:
        if key not in data:
            raise SpecError(f"{where}: missing key {key!r} (expected 'input', 'labels' and "
                            f"every side input: {side_names})")
        if not isinstance(data[key], torch.Tensor):
            raise SpecError(f"{where}[{key!r}]: expected a torch.Tensor, "
                            f"got {type(data[key]).__name__}")
    n = data["input"].shape[0] if data["input"].dim() else 0
    if n < 1:
        raise SpecError(f"{where}['input']: expected shape [N, ...] with N >= 1")
    labels = data["labels"]
    if labels.dtype != torch.int64 or labels.dim() != 1:
        raise SpecError(f"{where}['labels']: expected int64 [N], got {labels.dtype} "
                        f"{list(labels.shape)}")
    for key in ["input", "labels"] + side_names:
        t = data[key]
        if t.dim() < 1 or t.shape[0] != n:
            raise SpecError(f"{where}[{key!r}]: expected dim 0 = {n} (the number of samples in "
                            f"'input'), got shape {list(t.shape)}")
        if key != "labels" and t.dtype not in DTYPE_NAMES:
            raise SpecError(f"{where}[{key!r}]: dtype {t.dtype} not allowed "
                            f"(expected one of float32, int64, bool)")


def _tensor_spec(name: str, t: torch.Tensor, where: str) -> TensorSpec:
    if t.dtype not in DTYPE_NAMES:
        raise SpecError(f"{where}: dtype {t.dtype} not allowed (expected float32, int64, bool)")
    return TensorSpec(name, DTYPE_NAMES[t.dtype], [-1] + list(t.shape[1:]))


def _derive_boundaries(spec: ZooSpec, data: Data, side_names: List[str], where: str):
    """Run the stages on 2 samples in eval mode; each output shape becomes a boundary spec."""
    x = data["input"][:2]
    side = [data[n][:2] for n in side_names]
    specs = []
    K = len(spec.stages)
    with torch.no_grad():
        for k, stage in enumerate(spec.stages, start=1):
            was_training = stage.training
            stage.eval()
            try:
                y = stage(x, *side)
            except Exception as err:
                if k == 1:
                    msg = f"failed on 'input' of shape {list(x.shape)}"
                else:
                    msg = (f"failed on stage {k - 1}'s output of shape {list(x.shape)}; expected "
                           f"stage {k} to accept what stage {k - 1} returns (boundary shapes "
                           "must match)")
                raise SpecError(f"{where}.stages[{k - 1}] (stage {k}) {msg}: "
                                f"{type(err).__name__}: {err}") from err
            finally:
                stage.train(was_training)
            if not isinstance(y, torch.Tensor):
                raise SpecError(f"{where}.stages[{k - 1}] (stage {k}): expected forward to return "
                                f"one Tensor, got {type(y).__name__}")
            if y.dtype != torch.float32:
                raise SpecError(f"{where}.stages[{k - 1}] (stage {k}): expected a float32 "
                                f"output, got {y.dtype}")
            if y.dim() < 1 or y.shape[0] != x.shape[0]:
                raise SpecError(f"{where}.stages[{k - 1}] (stage {k}): expected output dim 0 to "
                                f"be the batch ({x.shape[0]}), got shape {list(y.shape)}")
            name = "output" if k == K else f"boundary{k}"
            specs.append(TensorSpec(name, "float32", [-1] + list(y.shape[1:])))
            x = y
    output = specs.pop()
    if len(output.shape) != 2:
        raise SpecError(f"{where}.stages[{K - 1}] (stage {K}, the last): expected logits of shape "
                        f"[batch, classes], got {output.shape}")
    return specs, output

