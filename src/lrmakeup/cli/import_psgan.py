"""``lrmakeup import-psgan``: convert PSGAN's published generator into an lrmakeup checkpoint."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import InputError
from ..fileio import check_writable
from .common import check_input_file


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("import-psgan", help="convert PSGAN's G.pth into an lrmakeup checkpoint")
    p.add_argument("psgan", help="PSGAN generator checkpoint (G.pth)")
    p.add_argument("--output", required=True, help="lrmakeup checkpoint to write (.safetensors)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if not Path(args.output).name.endswith(".safetensors"):
        raise InputError(f"output '{args.output}' must end in .safetensors")
    check_input_file(args.psgan, "PSGAN checkpoint")
    check_writable(args.output)  # a read-only folder is reported before any work
    from ..api import import_psgan

    n = import_psgan(args.psgan, args.output)
    print(f"imported {n} PSGAN tensors into {args.output} (super-resolution modules are randomly initialised)")
    return 0
