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
REAL_BASELINES = ("bicubic", "classic")  # evaluation.real_pairs: no ground truth, so no teacher / ablation rows


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("evaluate", help="score the method and baselines on a test split (Table 1 layout)")
    p.add_argument("--checkpoint", help="the method's lrmakeup checkpoint (.safetensors; default: the shipped "
                   "demo weights)")
    p.add_argument("--data", help="prepared tuple folder or synthetic benchmark (has manifest.json)")
    p.add_argument("--real-pairs", metavar="MT_DIR",
                   help="instead of --data: real photos in MT layout (non-makeup sources x makeup references, "
                   "label maps optional), scored without ground truth (makeup carried per region, fidelity outside "
                   "the makeup, identity, sharpness); baselines bicubic,classic. With a folder as --checkpoint, "
                   "every snapshot in it is scored (on 48 pairs unless --pairs), the curve plotted and the best one "
                   "named")
    p.add_argument("--pairs", type=int, default=None,
                   help="--real-pairs: score N random pairs (default: all; 48 for a folder of snapshots)")
    p.add_argument("--niqe", action="store_true", help="--real-pairs: also compute NIQE (slow)")
    p.add_argument("--out", required=True, help="folder for results.md, results.json, grid.png and images/")
    p.add_argument("--baselines", default=None,
                   help=f"comma-separated subset of {','.join(BASELINES)} (--real-pairs: {','.join(REAL_BASELINES)}) "
                   "or 'none' (default: all)")
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


def check_baselines(text: str, allowed: tuple[str, ...] = BASELINES) -> list[str]:
    names = [] if text.strip() == "none" else [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in allowed]
    if unknown:
        raise InputError(f"unknown baseline(s) {', '.join(unknown)} in --baselines (choose from "
                         f"{', '.join(allowed)} or 'none')")
    return names


def run(args: argparse.Namespace) -> int:
    if (args.data is None) == (args.real_pairs is None):
        raise InputError("give exactly one of --data (a prepared set or benchmark) and --real-pairs (MT photos)")
    if args.real_pairs is not None:
        return run_real_pairs(args)
    args.baselines = args.baselines or ",".join(BASELINES)
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


def run_real_pairs(args: argparse.Namespace) -> int:
    """``--real-pairs``: one checkpoint beside the baselines, or every snapshot of a folder (validation curve)."""
    baselines = check_baselines(args.baselines or ",".join(REAL_BASELINES), REAL_BASELINES)
    root = Path(args.real_pairs)
    if not (root / "makeup.txt").is_file() or not (root / "non-makeup.txt").is_file():
        raise InputError(f"--real-pairs {root} is not an MT-layout folder (makeup.txt and non-makeup.txt)")
    if args.pairs is not None and args.pairs < 1:
        raise InputError(f"--pairs must be positive, got {args.pairs}")
    if Path(args.out).exists() and not Path(args.out).is_dir():
        raise InputError(f"--out {args.out} exists and is not a folder")
    if args.checkpoint and not Path(args.checkpoint).is_dir():
        check_input_file(args.checkpoint, "--checkpoint")
    set_threads(args)
    from ..api import SHIPPED_WEIGHTS, MakeupTransfer, resolve_device
    from ..evaluation import real_pairs as rp

    device = str(resolve_device(args.device))
    if args.checkpoint and Path(args.checkpoint).is_dir():
        from ..evaluation.selection import list_snapshots, select_snapshot

        selection = select_snapshot(list_snapshots(args.checkpoint), root, args.out, args.pairs or 48, device=device)
        print(f"best snapshot: {selection.best}")
        print(f"wrote {Path(args.out) / 'validation_curve.png'} and {Path(args.out) / 'selection.json'}")
        return 0
    methods = {}
    if "bicubic" in baselines:
        methods["bicubic"] = rp.bicubic_method
    if "classic" in baselines:
        methods["classic"] = rp.classic_method()
    methods["model"] = rp.model_method(MakeupTransfer.from_checkpoint(args.checkpoint or SHIPPED_WEIGHTS, device))
    result = rp.evaluate_real_pairs(root, methods, args.out, pairs=args.pairs, niqe=args.niqe,
                                    grid_rows=args.grid_rows if args.grid_rows != 4 else 8)
    print(rp.format_table(result))
    if result.pairs == 1:
        print("lrmakeup: warning: the scores come from a single pair: they say little about the model",
              file=sys.stderr)
    print(f"wrote {Path(args.out) / 'results.md'}")
    return 0
