"""Find a stage's channel groups (groups.py) by running its torch.fx graph on sample inputs.

Every tensor dimension of every node gets a ``Dim``: a tuple of segments ``(atom, size)``, one
per atom laid along it (several after a concatenation). Each rule below says how an op's output
dimensions relate to its inputs' and which parameter dimensions index them. Whatever has no rule
is treated as opaque: all its inputs' and outputs' dimensions are pinned with a reason, so an
unknown op can only make the pruner prune less, never break the model. Dimensions whose size an
op fixes by itself (spatial sizes, pooled sizes, stage inputs) are pinned at birth.

``torch.nn`` modules are leaves of the trace (fx's default), so each is one node with a rule;
so are user blocks with their own ``prune_structured`` (they prune themselves, see __init__.py).
"""

from __future__ import annotations

import operator
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import torch
import torch.fx as fx
from torch import nn
import torch.nn.functional as F

from . import attention
from .groups import Atoms, Group, Member

Dim = Tuple[Tuple[int, int], ...]
STAGE_INPUT, STAGE_OUTPUT = "tied to the stage input", "tied to the stage output"


class _Tracer(fx.Tracer):
    """Records in each node's meta the module whose forward made it, for the report."""

    def __init__(self):
        super().__init__()
        self._inside: List[str] = []

    def is_leaf_module(self, m: nn.Module, qualname: str) -> bool:
        return callable(getattr(m, "prune_structured", None)) or super().is_leaf_module(m, qualname)

    def call_module(self, m, forward, args, kwargs):
        self._inside.append(self.path_of_module(m))
        try:
            return super().call_module(m, forward, args, kwargs)
        finally:
            self._inside.pop()

    def create_node(self, *args, **kwargs):
        node = super().create_node(*args, **kwargs)
        node.meta["sparseloom_module"] = self._inside[-1] if self._inside else ""
        return node


def trace(stage: nn.Module, num_inputs: int) -> Tuple[fx.GraphModule, nn.Module]:
    """The stage as an fx graph over the stage's own modules and parameters (shared, not
    copied, so that groups' members are the stage's tensors), and the module tree the graph's
    names refer to. Raises if fx cannot trace it."""
    tracer = _Tracer()
    if not tracer.is_leaf_module(stage, ""):
        return fx.GraphModule(stage, tracer.trace(stage)), stage
    # A stage that is itself a leaf (a bare nn.TransformerEncoderLayer): one call of it.
    root = nn.Module()
    root.add_module("stage", stage)
    graph = fx.Graph()
    inputs = [graph.placeholder(f"input_{i}") for i in range(num_inputs)]
    graph.output(graph.call_module("stage", tuple(inputs)))
    return fx.GraphModule(root, graph), root


def find_groups(stage: nn.Module, inputs: Sequence[torch.Tensor]) -> List[Group]:
    walker = _Walker(*trace(stage, len(inputs)))
    with torch.no_grad():
        walker.run(*inputs)
    return walker.atoms.groups()


_ELEMENTWISE_MODULES = (nn.ReLU, nn.ReLU6, nn.GELU, nn.SiLU, nn.Sigmoid, nn.Tanh, nn.Hardswish,
                        nn.Hardsigmoid, nn.LeakyReLU, nn.ELU, nn.Mish, nn.Softplus, nn.Identity,
                        nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d, nn.AlphaDropout)
_POOLS = (nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d, nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d,
          nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool3d, nn.AdaptiveMaxPool1d,
          nn.AdaptiveMaxPool2d, nn.AdaptiveMaxPool3d, nn.Upsample)
_ELEMENTWISE_FUNCTIONS = {F.relu, torch.relu, F.relu6, F.gelu, F.silu, F.elu, F.leaky_relu,
                          F.hardswish, F.hardsigmoid, F.mish, F.softplus, torch.sigmoid, F.sigmoid,
                          torch.tanh, F.tanh, torch.exp, torch.log, torch.abs, torch.sqrt,
                          torch.rsqrt, torch.neg, operator.neg, F.dropout, torch.clamp, torch.erf,
                          torch.square, torch.pow, operator.pow}
_BROADCAST_FUNCTIONS = {operator.add, operator.sub, operator.mul, operator.truediv, torch.add,
                        torch.sub, torch.mul, torch.div, torch.maximum, torch.minimum, torch.where,
                        operator.iadd, operator.imul}
_ELEMENTWISE_METHODS = {"relu", "sigmoid", "tanh", "exp", "log", "abs", "sqrt", "rsqrt", "neg",
                        "contiguous", "clone", "float", "to", "detach", "clamp", "pow", "type_as",
                        "relu_", "sigmoid_", "tanh_", "square"}
_BROADCAST_METHODS = {"add", "sub", "mul", "div", "add_", "mul_", "masked_fill", "where",
                      "maximum", "minimum", "expand_as"}
_RESHAPES = {torch.flatten, torch.reshape, torch.squeeze, torch.unsqueeze}
_REDUCTIONS = {torch.mean, torch.sum, torch.amax, torch.amin}
_POOL_FUNCTIONS = {F.adaptive_avg_pool1d, F.adaptive_avg_pool2d, F.adaptive_avg_pool3d,
                   F.avg_pool1d, F.avg_pool2d, F.avg_pool3d, F.max_pool1d, F.max_pool2d,
                   F.max_pool3d, F.adaptive_max_pool1d, F.adaptive_max_pool2d, F.interpolate}


class _Walker(fx.Interpreter):
    def __init__(self, gm: fx.GraphModule, stage: nn.Module):
        super().__init__(gm)
        self.stage = stage  # the real module tree (gm's intermediate modules are stand-ins)
        self.weights = {id(t) for t in list(stage.parameters()) + list(stage.buffers())}
        self.atoms = Atoms()
        self.dims: Dict[fx.Node, Any] = {}
        self.modules = dict(gm.named_modules())

    def run_node(self, n: fx.Node) -> Any:
        out = super().run_node(n)
        try:
            self.dims[n] = self.rule(n, out)
        except Exception as err:  # a rule that cannot follow this use: be safe, not clever
            self.dims[n] = self.opaque(n, out, f"{where(n)}: the graph pruner could not follow "
                                               f"it ({type(err).__name__}: {err})")
        return out

    # -- helpers ----------------------------------------------------------------------------

    def d(self, arg: Any) -> Any:
        return self.dims.get(arg) if isinstance(arg, fx.Node) else None

    def fresh(self, value: Any, reason: str) -> Any:
        """Dims for ``value`` (tensor or nest of them), every one new and pinned."""
        if isinstance(value, torch.Tensor):
            return [((self.atoms.new(s, pinned=reason), s),) for s in value.shape]
        if isinstance(value, (tuple, list)):
            return tuple(self.fresh(v, reason) for v in value)
        return None

    def pin(self, dims: Any, reason: str) -> None:
        if isinstance(dims, list):
            for dim in dims:
                for atom, _ in dim:
                    self.atoms.pin(atom, reason)
        elif isinstance(dims, tuple):
            for item in dims:
                self.pin(item, reason)

    def pin_inputs(self, n: fx.Node, reason: str) -> None:
        fx.node.map_arg((n.args, n.kwargs), lambda a: self.pin(self.d(a), reason))

    def opaque(self, n: fx.Node, out: Any, reason: str) -> Any:
        self.pin_inputs(n, reason)
        return self.fresh(out, reason)

    def tie(self, a: Dim, b: Dim) -> None:
        if [s for _, s in a] == [s for _, s in b]:
            for (x, _), (y, _) in zip(a, b):
                self.atoms.union(x, y)
            return
        for atom, _ in a + b:  # differently laid-out concatenations: no one-to-one map
            self.atoms.pin(atom, "concatenated channels meet channels laid out differently")

    def attach(self, dim: Dim, tensor: Optional[torch.Tensor], tdim: int, owner: str,
               producer: bool = False, grouped_in: int = 0) -> None:
        """The parameter dimension ``tensor[tdim]`` is indexed by the channels of ``dim``."""
        if tensor is None:
            return
        offset = 0
        for atom, size in dim:
            self.atoms.add_member(atom, Member(tensor, tdim, offset, owner, grouped_in, producer))
            offset += size

    def produced(self, size: int, origin: str) -> Dim:
        return ((self.atoms.new(size, origin=origin), size),)

    # -- dispatch ---------------------------------------------------------------------------

    def rule(self, n: fx.Node, out: Any) -> Any:
        if n.op == "placeholder":
            return self.fresh(out, STAGE_INPUT)
        if n.op == "output":
            self.pin_inputs(n, STAGE_OUTPUT)
            return None
        if not _has_tensor(out):
            return None  # sizes, dims, flags: no channels of their own
        if n.op == "get_attr":
            if not isinstance(out, torch.Tensor):
                return self.opaque(n, out, f"{where(n)} is not a tensor")
            if id(out) not in self.weights:  # a tensor made in the code: it cannot be cut here
                return self.fresh(out, f"'{n.target}' is a tensor constant of the code")
            dims = [self.produced(s, f"dim {i} of '{n.target}'") for i, s in enumerate(out.shape)]
            for i, dim in enumerate(dims):
                self.attach(dim, out, i, n.target, producer=True)
            return dims
        if n.op == "call_module":
            return self.module_rule(n, self.modules[n.target], out)
        x = self.d(n.args[0]) if n.args else None
        target = n.target
        if n.op == "call_method":
            if target in _ELEMENTWISE_METHODS:
                return self.elementwise(n, out)
            if target in _BROADCAST_METHODS:
                return self.broadcast(n, out)
            if target == "expand":
                return self.broadcast(n, out, literal_sizes=_shape_args(n.args[1:]))
            if target in ("softmax", "log_softmax"):
                return self.softmax(n, out)
            if target in ("permute", "transpose", "t"):
                return self.permute(n, x, out)
            if target in ("view", "reshape"):
                return self.reshape(n, x, out, literal_sizes=_shape_args(n.args[1:]))
            if target in ("flatten", "squeeze", "unsqueeze", "unflatten"):
                return self.reshape(n, x, out)
            if target in ("mean", "sum", "amax", "amin"):
                return self.reduce(n, x, out)
            return self.opaque(n, out, f"{where(n)} is not an op the graph pruner knows")
        if target in _ELEMENTWISE_FUNCTIONS:
            return self.elementwise(n, out)
        if target in _BROADCAST_FUNCTIONS:
            return self.broadcast(n, out)
        if target in (F.softmax, torch.softmax, F.log_softmax):
            return self.softmax(n, out)
        if target in (torch.cat, torch.concat):
            return self.cat(n, out)
        if target in (torch.permute, torch.transpose):
            return self.permute(n, x, out)
        if target in _RESHAPES:
            sizes = _shape_args(n.args[1:]) if target is torch.reshape else None
            return self.reshape(n, x, out, literal_sizes=sizes)
        if target in _REDUCTIONS:
            return self.reduce(n, x, out)
        if target in (torch.matmul, operator.matmul, torch.bmm):
            return self.matmul(n, x, self.d(n.args[1]), out)
        if target in _POOL_FUNCTIONS:
            return x[:2] + self.fresh(out, "spatial size")[2:]
        if target is F.linear:
            w, b = self.d(n.args[1]), self.d(n.args[2] if len(n.args) > 2 else n.kwargs.get("bias"))
            self.tie(x[-1], w[1])
            if b is not None:
                self.tie(w[0], b[0])
            return x[:-1] + [w[0]]
        if target is operator.getitem:
            return self.getitem(n, out)
        return self.opaque(n, out, f"{where(n)} is not an op the graph pruner knows")

    def module_rule(self, n: fx.Node, m: nn.Module, out: Any) -> Any:
        name = n.target
        x = self.d(n.args[0]) if n.args else None
        if isinstance(m, nn.modules.conv._ConvNd) and not isinstance(m, nn.modules.conv._ConvTransposeNd):
            return self.conv(name, m, x, out)
        if isinstance(m, nn.Linear):
            self.attach(x[-1], m.weight, 1, f"{name}.weight")
            ch = self.produced(m.out_features, f"output features of '{name}'")
            self.attach(ch, m.weight, 0, f"{name}.weight", producer=True)
            self.attach(ch, m.bias, 0, f"{name}.bias")
            return x[:-1] + [ch]
        if isinstance(m, (nn.modules.batchnorm._BatchNorm, nn.modules.instancenorm._InstanceNorm)):
            for attr in ("weight", "bias", "running_mean", "running_var"):
                self.attach(x[1], getattr(m, attr), 0, f"{name}.{attr}")
            return list(x)
        if isinstance(m, nn.GroupNorm):
            if len(x[1]) > 1:
                return self.opaque(n, out, f"GroupNorm '{name}' over concatenated channels")
            self.atoms.constrain(x[1][0][0], blocks=m.num_groups)
            self.attach(x[1], m.weight, 0, f"{name}.weight")
            self.attach(x[1], m.bias, 0, f"{name}.bias")
            return list(x)
        if isinstance(m, nn.LayerNorm):
            if len(m.normalized_shape) != 1 or not m.elementwise_affine:
                self.pin(x[-len(m.normalized_shape):], f"LayerNorm '{name}' without a per-channel "
                                                         "scale fixes its width")
                return list(x)
            self.attach(x[-1], m.weight, 0, f"{name}.weight")
            self.attach(x[-1], m.bias, 0, f"{name}.bias")
            return list(x)
        if isinstance(m, nn.Embedding):
            ch = self.produced(m.embedding_dim, f"embedding width of '{name}'")
            self.attach(ch, m.weight, 1, f"{name}.weight", producer=True)
            return list(x) + [ch]
        if isinstance(m, nn.PReLU):
            if m.num_parameters > 1:
                self.attach(x[1], m.weight, 0, f"{name}.weight")
            return list(x)
        if isinstance(m, _ELEMENTWISE_MODULES):
            return list(x)
        if isinstance(m, (nn.Softmax, nn.LogSoftmax)):
            self.pin([x[m.dim]], f"softmax '{name}' normalizes over it")
            return list(x)
        if isinstance(m, _POOLS):
            return x[:2] + self.fresh(out, "spatial size")[2:]
        if isinstance(m, (nn.Flatten, nn.Unflatten)):
            return self.reshape(n, x, out)
        if attention.handles(m):
            why = attention.register(self.atoms, self.stage, name, m)
            return self.opaque(n, out, why)
        if callable(getattr(m, "prune_structured", None)):
            return self.opaque(n, out, f"'{name}' ({type(m).__name__}) prunes itself with "
                                       "prune_structured, keeping its input and output widths")
        return self.opaque(n, out, f"module '{name}' ({type(m).__name__}) is not one the graph "
                                   "pruner knows")

    # -- rules ------------------------------------------------------------------------------

    def conv(self, name: str, m: nn.Module, x: list, out: torch.Tensor) -> list:
        spatial = self.fresh(out, "spatial size")[2:]
        g = m.groups
        if g > 1 and g == m.in_channels == m.out_channels:
            # Depthwise: channel i in, channel i out; removing one removes a whole group.
            self.attach(x[1], m.weight, 0, f"{name}.weight")
            self.attach(x[1], m.bias, 0, f"{name}.bias")
            return [x[0], x[1]] + spatial
        if g > 1:  # grouped: each group keeps the same number of input and of output channels
            if len(x[1]) > 1:
                self.pin([x[1]], f"grouped conv '{name}' over concatenated channels")
            else:
                self.atoms.constrain(x[1][0][0], blocks=g)
                self.attach(x[1], m.weight, 1, f"{name}.weight", grouped_in=g)
        else:
            self.attach(x[1], m.weight, 1, f"{name}.weight")
        ch = self.produced(m.out_channels, f"output channels of '{name}'")
        self.atoms.constrain(ch[0][0], blocks=g)
        self.attach(ch, m.weight, 0, f"{name}.weight", producer=True)
        self.attach(ch, m.bias, 0, f"{name}.bias")
        return [x[0], ch] + spatial

    def elementwise(self, n: fx.Node, out: Any) -> Any:
        tensors = [a for a in _flat_args(n) if isinstance(self.d(a), list)]
        if len(tensors) > 1:
            return self.broadcast(n, out)
        return list(self.d(tensors[0]))

    def broadcast(self, n: fx.Node, out: torch.Tensor, literal_sizes=None) -> list:
        """Elementwise with broadcasting: dimensions of equal size, aligned from the right, are
        the same channels (residual additions, channel-wise gates and scales)."""
        ins = [(self.d(a), self.env[a].shape) for a in _flat_args(n) if isinstance(self.d(a), list)]
        result = []
        for i, size in enumerate(out.shape):
            same = [d[len(d) - out.dim() + i] for d, shape in ins
                    if len(d) - out.dim() + i >= 0 and shape[len(d) - out.dim() + i] == size]
            if not same:
                result.append(self.fresh(out, "set by broadcasting")[i])
                continue
            for other in same[1:]:
                self.tie(same[0], other)
            result.append(same[0])
        if literal_sizes:
            self._pin_literals(result, literal_sizes, n)
        return result

    def softmax(self, n: fx.Node, out: torch.Tensor) -> list:
        x = self.d(n.args[0])
        dim = n.kwargs.get("dim", n.args[1] if len(n.args) > 1 else None)
        if dim is None:
            self.pin(x, f"{where(n)} without a dim")
        else:
            self.pin([x[dim]], f"{where(n)} normalizes over it")
        return list(x)

    def cat(self, n: fx.Node, out: torch.Tensor) -> list:
        parts = [self.d(a) for a in n.args[0]]
        dim = n.kwargs.get("dim", n.args[1] if len(n.args) > 1 else 0) % out.dim()
        result = []
        for i in range(out.dim()):
            if i == dim:
                result.append(tuple(seg for p in parts for seg in p[i]))
            else:
                for p in parts[1:]:
                    self.tie(parts[0][i], p[i])
                result.append(parts[0][i])
        return result

    def permute(self, n: fx.Node, x: list, out: torch.Tensor) -> list:
        order = list(range(len(x)))
        if n.target == "t":
            order.reverse()
        elif n.target in ("transpose", torch.transpose):
            a = n.kwargs.get("dim0", n.args[1] if len(n.args) > 1 else None)
            b = n.kwargs.get("dim1", n.args[2] if len(n.args) > 2 else None)
            a, b = a % len(x), b % len(x)
            order[a], order[b] = order[b], order[a]
        else:
            order = [d % len(x) for d in _shape_args(n.args[1:]) or n.kwargs["dims"]]
        return [x[i] for i in order]

    def reshape(self, n: fx.Node, x: list, out: torch.Tensor, literal_sizes=None) -> list:
        """Maps dims of equal size one to one; a dim merged with or split from others keeps its
        size only together with them, so those are pinned."""
        src = self.env[n.args[0]].shape
        result = self.fresh(out, f"{where(n)} merges or splits it")
        a = [i for i, s in enumerate(src) if s > 1]
        b = [j for j, s in enumerate(out.shape) if s > 1]
        while a and b:
            i, j = a.pop(0), b.pop(0)
            if src[i] == out.shape[j]:
                result[j] = x[i]
                continue
            merged, pa, pb = [i], src[i], out.shape[j]
            while pa != pb and a and b:  # grow the smaller side until the products meet
                if pa < pb:
                    merged.append(a.pop(0))
                    pa *= src[merged[-1]]
                else:
                    pb *= out.shape[b.pop(0)]
            self.pin([x[k] for k in merged], f"{where(n)} merges or splits it with another dim")
        for i in a:
            self.pin([x[i]], f"{where(n)} merges or splits it with another dim")
        if literal_sizes:
            self._pin_literals(result, literal_sizes, n)
        return result

    def _pin_literals(self, result: list, sizes: Sequence[Any], n: fx.Node) -> None:
        """A size written as a number in the code would not follow a pruned width."""
        if len(sizes) != len(result):
            return
        for dim, size in zip(result, sizes):
            if isinstance(size, int) and size > 1:
                self.pin([dim], f"{where(n)} has its size {size} written in the code")

    def reduce(self, n: fx.Node, x: list, out: torch.Tensor) -> list:
        dims = n.kwargs.get("dim", n.args[1] if len(n.args) > 1 else None)
        keepdim = n.kwargs.get("keepdim", n.args[2] if len(n.args) > 2 else False)
        if dims is None:
            self.pin(x, f"{where(n)} reduces over it")
            return []
        dims = {d % len(x) for d in ((dims,) if isinstance(dims, int) else dims)}
        self.pin([x[i] for i in dims], f"{where(n)} reduces over it")
        kept = self.fresh(out, "reduced") if keepdim else None
        return [kept[i] if i in dims else x[i] for i in range(len(x)) if keepdim or i not in dims]

    def matmul(self, n: fx.Node, a: list, b: list, out: torch.Tensor) -> list:
        if len(a) < 2 or len(b) < 2:
            return self.opaque(n, out, f"{where(n)} on a vector")
        self.tie(a[-1], b[-2])  # the contracted dim: the same channels on both sides
        sa, sb = self.env[n.args[0]].shape, self.env[n.args[1]].shape
        batch = []
        nb = out.dim() - 2
        for i in range(nb):
            ia, ib = len(a) - 2 - nb + i, len(b) - 2 - nb + i
            da = a[ia] if ia >= 0 and sa[ia] == out.shape[i] else None
            db = b[ib] if ib >= 0 and sb[ib] == out.shape[i] else None
            if da is not None and db is not None:
                self.tie(da, db)
            batch.append(da or db or self.fresh(out, "set by broadcasting")[i])
        return batch + [a[-2], b[-1]]

    def getitem(self, n: fx.Node, out: Any) -> Any:
        x, index = self.d(n.args[0]), n.args[1]
        if isinstance(x, tuple):  # an element of a module's tuple output
            return x[index]
        items = index if isinstance(index, tuple) else (index,)
        if any(isinstance(i, (fx.Node, torch.Tensor, list)) for i in items):
            return self.opaque(n, out, f"{where(n)} indexes with a tensor")
        if Ellipsis in items:
            k = items.index(Ellipsis)
            fill = len(x) - (len(items) - 1 - sum(i is None for i in items))
            items = items[:k] + (slice(None),) * fill + items[k + 1:]
        src = self.env[n.args[0]].shape
        result, dim = [], 0
        for item in items:
            if item is None:
                result.append(((self.atoms.new(1, pinned="new axis"), 1),))
                continue
            if isinstance(item, slice) and slice(*item.indices(src[dim])) == slice(0, src[dim], 1):
                result.append(x[dim])
            else:
                self.pin([x[dim]], f"{where(n)} takes part of it")
                if isinstance(item, slice):
                    result.append(self.fresh(out, "sliced")[len(result)])
            dim += 1
        return result + list(x[dim:])


def where(n: fx.Node) -> str:
    if n.op == "call_module":
        return f"module '{n.target}'"
    name = n.target if isinstance(n.target, str) else getattr(n.target, "__name__", n.target)
    inside = n.meta.get("sparseloom_module")
    return (f"{n.op.replace('call_', '')} '{name}' (node {n.name}"
            f"{f' in {inside!r}' if inside else ''})")


def _has_tensor(value: Any) -> bool:
    if isinstance(value, torch.Tensor):
        return True
    return isinstance(value, (tuple, list)) and any(_has_tensor(v) for v in value)


def _flat_args(n: fx.Node) -> List[fx.Node]:
    found: List[fx.Node] = []
    fx.node.map_arg((n.args, n.kwargs), lambda a: found.append(a) or a)
    return found


def _shape_args(args: Sequence[Any]) -> List[Any]:
    if len(args) == 1 and isinstance(args[0], (tuple, list, torch.Size)):
        return list(args[0])
    return list(args)
