"""``lrmakeup iqa IMAGE...``: the no-reference NIQE↓ of each image (METHOD.md §4), one ``path<TAB>value`` line each.

Every valid image is scored and printed in the order given; an unreadable one (or one too small for a
96x96 NIQE block, e.g. a 64x64 input: score its 256x256 result instead) gets one ``lrmakeup: not scored:`` line
on stderr, and after a summary line the command exits with code 2, so one bad file does not hide the scores of
the rest.
"""

from __future__ import annotations

import argparse
import sys

from ..errors import InputError


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("iqa", help="no-reference image quality: NIQE (lower is better) of each image")
    p.add_argument("images", nargs="+", metavar="IMAGE", help="image files")
    p.add_argument("--crop-border", type=int, default=0, help="pixels cropped from each side first (default 0)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.crop_border < 0:
        raise InputError(f"--crop-border must be 0 or more, got {args.crop_border}")
    from ..evaluation.niqe import niqe
    from ..face.io import read_image

    failed: list[str] = []
    for path in args.images:
        try:
            value = niqe(read_image(path), crop_border=args.crop_border)
        except InputError as exc:
            failed.append(path)
            print(f"lrmakeup: not scored: {path}: {' '.join(str(exc).split())}", file=sys.stderr)
            continue
        print(f"{path}\t{value:.4f}", flush=True)
    if failed:
        print(f"lrmakeup: {len(args.images) - len(failed)} scored, {len(failed)} not scored", file=sys.stderr)
    return 2 if failed else 0
