"""Variant ids and what they mean, without torch (the CLI checks them before importing it).

A variant id names a recipe: an optional precision prefix and a float base::

    dense | us<NN> | struct<NN>        fp32; NN = percent pruned, 01..99
    int8 | bf16                       that precision applied to dense
    int8_<base> | bf16_<base>         that precision applied to a base, e.g. int8_struct50
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import List

from .errors import ZooError

DEFAULT_VARIANTS = ["dense", "us30", "us50", "us70", "us90", "struct30", "struct50",
                    "int8", "bf16", "int8_struct50"]

_ID = re.compile(r"^(?:(?P<prec>int8|bf16)(?:_(?P<pbase>dense|us\d\d|struct\d\d))?"
                 r"|(?P<base>dense|us\d\d|struct\d\d))$")


@dataclass(frozen=True)
class Recipe:
    id: str
    base: str        # "dense", "usNN" or "structNN": the float model it starts from
    precision: str   # "fp32", "int8" or "bf16"

    @property
    def level(self) -> float:
        """Nominal pruning ratio of the base (0 for dense)."""
        digits = re.sub(r"\D", "", self.base)
        return int(digits) / 100.0 if digits else 0.0


def parse_variant(variant_id: str) -> Recipe:
    m = _ID.match(variant_id)
    if not m or re.search(r"(us|struct)00$", variant_id):
        raise ZooError(f"--variants: unknown variant id {variant_id!r}; expected dense, usNN, "
                       "structNN (NN = 01..99), int8, bf16, or int8_/bf16_ followed by one of "
                       "those bases, e.g. int8_struct50")
    if m.group("base"):
        return Recipe(variant_id, m.group("base"), "fp32")
    return Recipe(variant_id, m.group("pbase") or "dense", m.group("prec"))


def is_builtin_id(variant_id: str) -> bool:
    """Whether ``variant_id`` names a recipe of the builder (user variants must not)."""
    return bool(_ID.match(variant_id))


def describe(recipe: Recipe, base_text: str = "") -> str:
    pct = int(round(recipe.level * 100))
    if base_text:  # how the base was actually made, when the builder knows better
        base = base_text
    elif recipe.base == "dense":
        base = "dense base model"
    elif recipe.base.startswith("us"):
        base = (f"per-layer L1 unstructured magnitude pruning, {pct}% of every conv/linear "
                "weight zeroed, no fine-tune")
    else:
        base = (f"structured L1 pruning removing {pct}% of internal channels / attention heads / "
                "FFN units of every prunable block, then fine-tuned")
    if recipe.precision == "int8":
        return base + "; int8 (onednn)"
    if recipe.precision == "bf16":
        return base + "; bf16 weights and compute, float32 at the stage boundary"
    return base + "; fp32"


def parse_variants(ids: List[str]) -> List[Recipe]:
    """Parse a variant list; ids must be unique and the list non-empty."""
    if not ids:
        raise ZooError("--variants: expected at least one variant id")
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise ZooError(f"--variants: ids must be unique, repeated: {', '.join(dupes)}")
    return [parse_variant(i) for i in ids]
