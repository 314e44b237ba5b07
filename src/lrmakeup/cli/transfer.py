"""``lrmakeup transfer``: one source photo + one reference photo -> a 256x256 made-up face."""

from __future__ import annotations

import argparse

from ..face import write_image
from .common import add_model_options, check_output_path, load_model


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("transfer", help="transfer the makeup of a reference face onto a source face")
    p.add_argument("--source", required=True, help="photo of the bare face (any size; reduced to a 64x64 face)")
    p.add_argument("--reference", required=True, help="photo of the made-up face (any size)")
    p.add_argument("--output", required=True, help="where to write the 256x256 PNG")
    p.add_argument("--face-index", type=int, default=None, help="which face of the source photo (0 = largest)")
    p.add_argument("--reference-face-index", type=int, default=None, help="which face of the reference photo")
    p.add_argument("--save-lr", help="also write the low-resolution transfer stage x̃_LR here")
    add_model_options(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    output = check_output_path(args.output)
    save_lr = check_output_path(args.save_lr) if args.save_lr else None
    model = load_model(args)
    result = model.transfer(args.source, args.reference, args.face_index, args.reference_face_index)
    write_image(output, result.image)
    if save_lr:
        write_image(save_lr, result.image_lr)
    print(f"wrote {output}")
    return 0
