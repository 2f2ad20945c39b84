"""SparseLoom zoo builder: turns one PyTorch model, cut into K stages, into a sparse model zoo.

Spec authors need only::

    from sparseloom_zoo import ZooSpec, UserVariant
    from sparseloom_zoo.blocks import ResidualBlock, TransformerBlock, ConvBlock1d

See tools/zoo/README.md and docs/zoo-format.md.
"""

__version__ = "0.1.0"

__all__ = ["UserVariant", "ZooSpec", "__version__"]


def __getattr__(name):
    # Lazy, so that `python -m sparseloom_zoo build` can answer "up to date" without torch.
    if name in ("ZooSpec", "UserVariant"):
        from . import spec
        return getattr(spec, name)
    raise AttributeError(f"module 'sparseloom_zoo' has no attribute {name!r}")
