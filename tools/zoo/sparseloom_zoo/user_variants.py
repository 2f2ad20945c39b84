"""Variants the user made elsewhere (``ZooSpec.user_variants``): checked, then built like ours.

A user variant must stitch with every built one, so each of its stages is run on *dense's*
boundary input and must return dense's boundary shape (float32, batch in dim 0). Its precision
(int8 when it holds quantized modules, bf16 when its weights are bf16, else fp32) and sparsity
(against dense's parameter count) are read from the modules; its accuracy is measured by the
builder like any other's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import List

import torch
from torch import nn

from .errors import SpecError
from .measure import count_nonzeros, count_params
from .recipes import is_builtin_id
from .spec import CheckedSpec, UserVariant

_ID = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass
class CheckedUserVariant:
    id: str
    description: str
    stages: List[nn.Module]
    precision: str


def check_user_variants(checked: CheckedSpec, where: str) -> List[CheckedUserVariant]:
    spec = checked.spec
    if not isinstance(spec.user_variants, dict):
        raise SpecError(f"{where}.user_variants: expected a dict {{id: model or stages}}, got "
                        f"{type(spec.user_variants).__name__}")
    out = []
    for vid, given in spec.user_variants.items():
        at = f"{where}.user_variants[{vid!r}]"
        if not isinstance(vid, str) or not _ID.match(vid):
            raise SpecError(f"{at}: expected an id of lower-case letters, digits and '_' "
                            "starting with a letter")
        if is_builtin_id(vid):
            raise SpecError(f"{at}: {vid!r} is a built variant's id (dense, usNN, structNN, "
                            "int8..., bf16...); name yours differently, e.g. 'my_pruned'")
        stages, description = _stages_of(given, spec, at)
        for stage in stages:
            stage.eval()
        _check_boundaries(stages, checked, at)
        out.append(CheckedUserVariant(vid, description, stages, _precision(stages)))
    return out


def _stages_of(given, spec, at: str):
    description = "user-made variant, given in the spec"
    if isinstance(given, UserVariant):
        description = given.description
        if (given.model is None) == (given.stages is None):
            raise SpecError(f"{at}: expected UserVariant(model=...) or UserVariant(stages=...)")
        given = given.model if given.model is not None else given.stages
    if isinstance(given, nn.Module):
        if spec.model is None:
            raise SpecError(f"{at}: a whole model can only be cut where ZooSpec.model is cut "
                            "(cut_after); this spec gives stages, so give a list of "
                            f"{len(spec.stages)} stage modules")
        from .split import split_model

        return split_model(given, spec.cut_after, at), description
    if not isinstance(given, (list, tuple)) or not all(isinstance(s, nn.Module) for s in given):
        raise SpecError(f"{at}: expected nn.Module (the whole model), a list of stage modules or "
                        f"a UserVariant, got {type(given).__name__}")
    if len(given) != len(spec.stages):
        raise SpecError(f"{at}: has {len(given)} stages, expected {len(spec.stages)} like the "
                        "dense model")
    return list(given), description


@torch.no_grad()
def _check_boundaries(stages: List[nn.Module], checked: CheckedSpec, at: str) -> None:
    """Stage k on dense's boundary k-1 must return boundary k's shape: then it stitches."""
    spec = checked.spec
    data = spec.validation
    side_names = [s.name for s in checked.side_inputs]
    x, side = data["input"][:2], [data[n][:2] for n in side_names]
    wanted = checked.boundaries + [checked.output]
    for k, (dense_stage, stage) in enumerate(zip(spec.stages, stages), start=1):
        given = "'input'" if k == 1 else f"dense's boundary{k - 1}"
        try:
            y = stage(x, *side)
        except Exception as err:
            raise SpecError(f"{at}: stage {k} fails on {given} of shape {list(x.shape)}: "
                            f"{type(err).__name__}: {str(err).splitlines()[0]}") from err
        want = wanted[k - 1]
        if not isinstance(y, torch.Tensor) or y.dtype != torch.float32 or \
                list(y.shape[1:]) != want.shape[1:]:
            got = f"{y.dtype} {list(y.shape)}" if isinstance(y, torch.Tensor) else type(y).__name__
            raise SpecError(f"{at}: stage {k} returns {got} on {given}, expected float32 "
                            f"{want.name} of shape {[x.shape[0]] + want.shape[1:]} (every "
                            f"variant's stage {k} must return dense's shape, or stages would not "
                            "stitch)")
        was = dense_stage.training
        x = dense_stage.eval()(x, *side)  # the next stage sees dense's boundary
        dense_stage.train(was)


def _precision(stages: List[nn.Module]) -> str:
    modules = [m for s in stages for m in s.modules()]
    if any(".quantized" in type(m).__module__ for m in modules):
        return "int8"
    if any(p.dtype == torch.bfloat16 for s in stages for p in s.parameters()):
        return "bf16"
    return "fp32"


def sparsity(stage: nn.Module, dense_stage: nn.Module, flops: int, dense_flops: int):
    """(kind, level) of a user stage against dense's: fewer FLOPs is structured removal (not
    fewer parameters: int8 conversion folds BatchNorms away); else zeros are unstructured, when
    more than 5% (int8 rounding alone zeroes a few small weights)."""
    params, dense_params = count_params(stage), count_params(dense_stage)
    if flops < 0.99 * dense_flops:
        return "structured", round(max(0.0, 1.0 - params / dense_params), 4)
    zeros = 1.0 - count_nonzeros(stage) / params if params else 0.0
    if zeros > 0.05:
        return "unstructured", round(zeros, 4)
    return "none", 0.0
