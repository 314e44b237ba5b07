"""``lrmakeup make-benchmark``: bare faces + rendered looks -> (source, reference, exact target) triplets."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..data.synthetic.sampler import STYLES
from ..face.parsing import PARSING_FORMATS

BUILTIN = "builtin"  # data.benchmark.BUILTIN


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "make-benchmark",
        help="build makeup-transfer triplets with exact ground truth by rendering looks on bare faces",
        description="Render random makeup looks on bare faces: each triplet is a bare source, a reference "
        "(another identity wearing the look) and the exact target (the source wearing it), at 256x256 and "
        "64x64. Identities are split between train and test before pairing, so a side with a single identity "
        "(the two built-in faces give one per side) can only pair a person with another variant of themself "
        "(a flip or augmentation, marked same_identity; the command says how many). Give --faces a folder of "
        "at least four people for cross-identity pairs on both sides. Re-running resumes.",
    )
    p.add_argument(
        "--faces",
        default=BUILTIN,
        help=f"folder of bare-face photos, one identity per file, or '{BUILTIN}' (default: the two built-in "
        "license-clear faces and augmented variants of them)",
    )
    p.add_argument("--out", required=True, help="output folder (created; an existing benchmark is resumed)")
    p.add_argument("--pairs", type=int, default=100, help="number of triplets over both splits (default: 100)")
    p.add_argument("--seed", type=int, default=0, help="random seed of the split, pairs and looks (default: 0)")
    p.add_argument(
        "--test-fraction", type=float, default=0.2, help="share of identities and triplets for test (default: 0.2)"
    )
    p.add_argument("--style", choices=STYLES, default=None, help="only looks of this style (default: a mix of all)")
    p.add_argument(
        "--variants", type=int, default=4, help=f"variants per built-in face with --faces {BUILTIN} (default: 4)"
    )
    p.add_argument("--parsing", help="optional folder of label maps named like the photos (<stem>.png)")
    p.add_argument("--parsing-format", choices=PARSING_FORMATS, default="mt", help="labels of --parsing (default: mt)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..data.benchmark import build_benchmark

    summary = build_benchmark(
        faces=args.faces,
        out=args.out,
        pairs=args.pairs,
        seed=args.seed,
        test_fraction=args.test_fraction,
        style=args.style,
        variants=args.variants,
        parsing=args.parsing,
        parsing_format=args.parsing_format,
        progress=not args.quiet,
    )
    import json

    counts = ", ".join(f"{n} {split}" for split, n in summary.triplets.items())
    print(
        f"wrote {summary.out}: {counts} triplets "
        f"({summary.rendered} rendered now, {summary.already_done} already done); "
        f"{summary.faces} faces used, {summary.faces_skipped} skipped"
    )
    manifest = json.loads((Path(summary.out) / "manifest.json").read_text())
    same = manifest.get("counts", {}).get("same_identity_pairs", 0)
    if same:
        print(f"lrmakeup: note: {same} of {sum(summary.triplets.values())} triplets pair a person with another "
              "variant of themself (only one identity on their side of the split); give --faces a folder of at "
              "least four people for cross-identity pairs", file=sys.stderr)
    return 0
