"""Command line: ``python -m sparseloom_zoo build|bench ...`` (see --help)."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from .cache import build_key, recorded_key
from .errors import ZooError
from .recipes import DEFAULT_VARIANTS, parse_variants

EPILOG = """\
examples:
  python -m sparseloom_zoo build --spec examples/tiny_cnn.py --out /tmp/zoos/tiny_cnn
  python -m sparseloom_zoo build --spec examples/tiny_transformer.py --out Z --variants dense,int8
  python -m sparseloom_zoo bench /tmp/zoos/tiny_cnn

variant ids: dense | usNN (unstructured) | structNN (structured + fine-tune) | int8 | bf16 |
int8_<base> | bf16_<base>, NN = percent pruned. Run Python with the OpenMP OpenBLAS:
LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp (else nn.Linear is ~15x slower).
"""


def log(message: str) -> None:
    print(f"[zoo {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sparseloom_zoo",
        description="Build SparseLoom sparse model zoos (docs/zoo-format.md) from a spec file.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    b = sub.add_parser("build", help="build a zoo from a spec file",
                       description="Train the spec's dense model, make the variants, export every "
                       "stage to TorchScript and write zoo.json. Skips the work when OUT already "
                       "holds a zoo with the same build key (spec content, seed, variants, "
                       "builder version).", epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    b.add_argument("--spec", required=True, type=Path,
                   help="Python file defining make_spec(seed) -> ZooSpec")
    b.add_argument("--out", required=True, type=Path, help="zoo directory to create or replace")
    b.add_argument("--seed", type=int, default=0, help="seed for data, init and training (0)")
    b.add_argument("--variants", default=",".join(DEFAULT_VARIANTS),
                   help="comma-separated variant ids (default: %(default)s)")
    b.add_argument("--threads", type=int, default=2,
                   help="torch threads; fixed so that rebuilds are bit-identical (2)")
    b.add_argument("--force", action="store_true", help="rebuild even if OUT is up to date")

    m = sub.add_parser("bench", help="time every exported stage of a zoo (batch 1, TorchScript)")
    m.add_argument("zoo", type=Path, help="zoo directory")
    m.add_argument("--batch", type=int, default=1, help="batch size (1)")
    m.add_argument("--iters", type=int, default=30, help="timed runs per stage (30)")
    m.add_argument("--threads", type=int, default=1, help="torch threads (1)")

    args = parser.parse_args(argv)
    try:
        if args.command == "build":
            return _build(args)
        return _bench(args)
    except ZooError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


def _build(args) -> int:
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    parse_variants(variants)  # reject bad ids before any slow work
    if not args.spec.is_file():
        raise ZooError(f"--spec {args.spec}: file not found")
    if args.threads < 1:
        raise ZooError(f"--threads: expected >= 1, got {args.threads}")
    key = build_key(args.spec.read_bytes(), args.seed, variants)
    if not args.force and recorded_key(args.out) == key:
        log(f"{args.out}: up to date (build key {key[:12]})")
        return 0
    os.environ.setdefault("GLOG_minloglevel", "2")  # quantized ops are chatty otherwise
    from .build import build_zoo  # torch is imported only when there is work to do

    build_zoo(args.spec, args.out, seed=args.seed, variants=variants, threads=args.threads,
              log=log)
    return 0


def _bench(args) -> int:
    from .bench import bench_zoo, format_table

    rows = bench_zoo(args.zoo, batch=args.batch, iters=args.iters, threads=args.threads)
    print(format_table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
