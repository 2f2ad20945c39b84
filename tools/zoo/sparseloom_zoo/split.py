"""Cut a whole model into stages after named modules (``ZooSpec.model`` + ``cut_after``).

The model is traced with torch.fx, the cut modules kept as single calls; stage k is every node
after cut k-1 up to and including cut k, as an ``fx.GraphModule`` sharing the model's modules
and weights. A cut is valid only if nothing computed before it is used after it except the cut
module's output (a skip connection across a cut cannot be a boundary). Side inputs (the model's
other ``forward`` arguments) are passed to every stage, as the stage contract wants.
"""

from __future__ import annotations

from typing import Dict, List, Sequence

import torch.fx as fx
from torch import nn

from .errors import SpecError


class _CutTracer(fx.Tracer):
    """Cut modules are single calls; so are blocks that prune themselves (so that the
    ``prune_structured`` strategy still finds them in the stages)."""

    def __init__(self, cuts: Sequence[str]):
        super().__init__()
        self.cuts = set(cuts)

    def is_leaf_module(self, m: nn.Module, qualname: str) -> bool:
        return (qualname in self.cuts or callable(getattr(m, "prune_structured", None))
                or super().is_leaf_module(m, qualname))


def split_model(model: nn.Module, cut_after: Sequence[str],
                where: str = "split_model") -> List[nn.Module]:
    """The stages of ``model`` cut after each module named in ``cut_after``, in forward order
    (what the builder does with ``ZooSpec.model``; public so that a user can make per-stage
    variants, e.g. quantization-aware training stage by stage, on the same cuts)."""
    cut_after = list(cut_after)
    if not all(isinstance(c, str) and c for c in cut_after) or len(set(cut_after)) != len(cut_after):
        raise SpecError(f"{where}.cut_after: expected distinct module names, got {cut_after!r}")
    names = dict(model.named_modules())
    for name in cut_after:
        if name not in names:
            top = [n for n in names if n and "." not in n]
            raise SpecError(f"{where}.cut_after: the model has no module {name!r} (its top-level "
                            f"modules: {', '.join(top)})")
    try:
        graph = _CutTracer(cut_after).trace(model)
    except Exception as err:
        raise SpecError(f"{where}.model: torch.fx cannot trace {type(model).__name__} to cut it "
                        f"({type(err).__name__}: {str(err).splitlines()[0]}); give "
                        "ZooSpec.stages instead") from err
    nodes = list(graph.nodes)
    inputs = [n for n in nodes if n.op == "placeholder"]
    output = next(n for n in nodes if n.op == "output")
    cuts = []
    for name in cut_after:
        calls = [n for n in nodes if n.op == "call_module" and n.target == name]
        if len(calls) != 1:
            raise SpecError(f"{where}.cut_after: module {name!r} runs {len(calls)} times in the "
                            "model's forward; a cut point must run exactly once")
        cuts.append(calls[0])
    positions = [nodes.index(c) for c in cuts]
    if positions != sorted(positions):
        order = [c.target for c in sorted(cuts, key=nodes.index)]
        raise SpecError(f"{where}.cut_after: expected the cut points in the order the forward "
                        f"runs them: {order}")
    bounds = [-1] + positions + [nodes.index(output)]
    stages = []
    for k in range(len(bounds) - 1):
        body = [n for n in nodes[bounds[k] + 1:bounds[k + 1] + 1]
                if n.op not in ("placeholder", "output")]
        stage_graph = _stage_graph(k, body, inputs, cuts, output, where)
        stages.append(fx.GraphModule(model, stage_graph, class_name=f"Stage{k + 1}"))
    return stages


def _stage_graph(k: int, body: List[fx.Node], inputs: List[fx.Node], cuts: List[fx.Node],
                 output: fx.Node, where: str) -> fx.Graph:
    g = fx.Graph()
    env: Dict[fx.Node, fx.Node] = {}
    if k == 0:
        env[inputs[0]] = g.node_copy(inputs[0])
    else:
        env[cuts[k - 1]] = g.placeholder("x")
    for side in inputs[1:]:
        env[side] = g.node_copy(side)
    for n in body:
        for used in n.all_input_nodes:
            if used in env:
                continue
            if used.op == "get_attr":  # a weight read in several stages: each reads it
                env[used] = g.node_copy(used)
                continue
            what = ("the model's input" if used is inputs[0] else
                    f"{used.op} {used.target!r} (node {used.name})")
            raise SpecError(f"{where}.cut_after: {n.op} {n.target!r} (node {n.name}) in stage "
                            f"{k + 1} uses {what} from before the cut after "
                            f"{cuts[k - 1].target!r}; a boundary must be the only value passed "
                            "on (move the cut outside the skip connection)")
        env[n] = g.node_copy(n, lambda a: env[a])
    if k < len(cuts):
        g.output(env[cuts[k]])
    else:
        g.output(fx.node.map_arg(output.args[0], lambda a: env[a]))
    return g
