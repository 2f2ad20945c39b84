"""Fashion-MNIST (Xiao et al. 2017, MIT licence): 60,000 train / 10,000 test 28x28 grey images of
10 clothing classes, read from the idx files of Debian's `dataset-fashion-mnist`, which
scripts/fetch_data.sh copies to data/fashion-mnist/."""

import gzip
from pathlib import Path

import numpy as np

from . import data_dir, require

CLASSES = ["t-shirt/top", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker",
           "bag", "ankle boot"]


def _read_idx(path: Path) -> np.ndarray:
    with gzip.open(require(path), "rb") as f:
        raw = f.read()
    dims = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def load(split: str):
    """(images uint8 [N, 28, 28], labels int64 [N]) of split "train" or "test"."""
    prefix = {"train": "train", "test": "t10k"}[split]
    root = data_dir() / "fashion-mnist"
    images = _read_idx(root / f"{prefix}-images-idx3-ubyte.gz")
    labels = _read_idx(root / f"{prefix}-labels-idx1-ubyte.gz").astype(np.int64)
    return images, labels
