"""The build key: is the zoo at OUT_DIR already what this command would build?

Kept free of torch so that an up-to-date check answers without importing it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Optional, Sequence

from . import __version__

_PACKAGE_DIR = Path(__file__).resolve().parent


def builder_version() -> str:
    """Release version plus a digest of the builder's own source, so edits invalidate caches."""
    digest = hashlib.sha256()
    for path in sorted(_PACKAGE_DIR.rglob("*.py")):  # subpackages (pruning/) count too
        name = path.relative_to(_PACKAGE_DIR).as_posix()
        digest.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    return f"{__version__}+src.{digest.hexdigest()[:10]}"


def build_key(spec_content: bytes, seed: int, variants: Sequence[str]) -> str:
    """sha256 of the spec file's content, the seed, the variant list and the builder version.

    Only the spec file itself is hashed: if it imports other local files, use --force after
    changing them.
    """
    payload = json.dumps({"spec_sha256": hashlib.sha256(spec_content).hexdigest(), "seed": seed,
                          "variants": list(variants), "builder_version": builder_version()},
                         sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()


def recorded_key(out_dir: Path) -> Optional[str]:
    """The build key in OUT_DIR/zoo.json, or None when there is no readable zoo there."""
    try:
        manifest = json.loads((out_dir / "zoo.json").read_text())
        return manifest["build"]["key"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
