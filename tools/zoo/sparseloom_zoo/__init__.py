"""SparseLoom zoo builder: turns one PyTorch model, cut into K stages, into a sparse model zoo.

Spec authors need only::

    from sparseloom_zoo import ZooSpec
    from sparseloom_zoo.blocks import ResidualBlock, TransformerBlock, ConvBlock1d

See tools/zoo/README.md and docs/zoo-format.md.
"""

__version__ = "0.1.0"

__all__ = ["ZooSpec", "__version__"]


def __getattr__(name):
    # Lazy, so that `python -m sparseloom_zoo build` can answer "up to date" without torch.
    if name == "ZooSpec":
        from .spec import ZooSpec
        return ZooSpec
    raise AttributeError(f"module 'sparseloom_zoo' has no attribute {name!r}")
