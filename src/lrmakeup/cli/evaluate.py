"""``lrmakeup evaluate``: the method and its baselines on a test split, as the paper's Table 1 (METHOD.md §4)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import InputError
from .common import add_device_option, add_threads_option, check_input_file, set_threads

# evaluation.runner.BASELINES, spelled out so that `--help` and argument checks need no torch
# (tests/cli/test_commands.py keeps the two equal)
BASELINES = ("bicubic", "cascade", "ablation", "teacher")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("evaluate", help="score the method and baselines on a test split (Table 1 layout)")
    p.add_argument("--checkpoint", help="the method's lrmakeup checkpoint (.safetensors; default: the shipped "
                   "demo weights)")
    p.add_argument("--data", required=True, help="prepared tuple folder or synthetic benchmark (has manifest.json)")
    p.add_argument("--out", required=True, help="folder for results.md, results.json, grid.png and images/")
    p.add_argument("--baselines", default=",".join(BASELINES),
                   help=f"comma-separated subset of {','.join(BASELINES)} or 'none' (default: all)")
    p.add_argument("--cascade-checkpoint", help="cascade SR network (lrmakeup-cascade-v1 .safetensors)")
    p.add_argument("--cascade-train-steps", type=int, default=0,
                   help="train the cascade SR for this many steps on the data's train split first (default 0)")
    p.add_argument("--ablation-checkpoint", help="checkpoint trained with model.sr.makeup_prior=false")
    p.add_argument("--split", default="test", help="which split to score (default: test)")
    p.add_argument("--limit", type=int, default=None, help="score only the first N samples")
    p.add_argument("--grid-rows", type=int, default=4, help="samples shown in grid.png (default 4)")
    p.add_argument("--lpips", default="alex", choices=("alex", "vgg", "none"), help="LPIPS backbone (default alex)")
    p.add_argument("--no-fid", action="store_true", help="skip FID")
    p.add_argument("--no-images", action="store_true", help="do not write images/NNNN_<model>.png")
    add_device_option(p)
    add_threads_option(p)
    p.set_defaults(run=run)


def check_baselines(text: str) -> None:
    names = [] if text.strip() == "none" else [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in BASELINES]
    if unknown:
        raise InputError(f"unknown baseline(s) {', '.join(unknown)} in --baselines (choose from "
                         f"{', '.join(BASELINES)} or 'none')")


def run(args: argparse.Namespace) -> int:
    check_baselines(args.baselines)
    for option in ("checkpoint", "cascade_checkpoint", "ablation_checkpoint"):
        if getattr(args, option):
            check_input_file(getattr(args, option), f"--{option.replace('_', '-')}")
    if not (Path(args.data) / "manifest.json").is_file():
        raise InputError(f"--data {args.data} is not a prepared tuple folder or benchmark (no manifest.json)")
    if Path(args.out).exists() and not Path(args.out).is_dir():
        raise InputError(f"--out {args.out} exists and is not a folder")
    for option in ("limit", "grid_rows"):
        if getattr(args, option) is not None and getattr(args, option) < (1 if option == "limit" else 0):
            raise InputError(f"--{option.replace('_', '-')} must be positive, got {getattr(args, option)}")
    set_threads(args)
    from ..api import SHIPPED_WEIGHTS, resolve_device
    from ..evaluation.runner import EvalOptions, evaluate, parse_baselines

    result = evaluate(EvalOptions(
        checkpoint=args.checkpoint or SHIPPED_WEIGHTS, data=args.data, out=args.out,
        baselines=parse_baselines(args.baselines),
        cascade_checkpoint=args.cascade_checkpoint, cascade_train_steps=args.cascade_train_steps,
        ablation_checkpoint=args.ablation_checkpoint, limit=args.limit, split=args.split,
        device=resolve_device(args.device), grid_rows=args.grid_rows,
        lpips_net=None if args.lpips == "none" else args.lpips, fid=not args.no_fid,
        save_images=not args.no_images,
    ))
    for name, cols in result.rows.items():
        print(f"{name}: PSNR {cols['psnr']}  SSIM {cols['ssim']}")
    if any(getattr(v, "count", 0) == 1 for cols in result.rows.values() for v in cols.values()):
        print("lrmakeup: warning: the scores come from a single sample: they say little about the model "
              "(score more samples)", file=sys.stderr)
    print(f"wrote {result.files['results.md']}")
    return 0
