"""``lrmakeup evaluate``: the method and its baselines on a test split, as the paper's Table 1 (METHOD.md §4)."""

from __future__ import annotations

import argparse

from ..evaluation.runner import BASELINES, EvalOptions, evaluate, parse_baselines


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("evaluate", help="score the method and baselines on a test split (Table 1 layout)")
    p.add_argument("--checkpoint", required=True, help="the method's lrmakeup checkpoint (.safetensors)")
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
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto (default: cpu)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..api import resolve_device

    result = evaluate(EvalOptions(
        checkpoint=args.checkpoint, data=args.data, out=args.out, baselines=parse_baselines(args.baselines),
        cascade_checkpoint=args.cascade_checkpoint, cascade_train_steps=args.cascade_train_steps,
        ablation_checkpoint=args.ablation_checkpoint, limit=args.limit, split=args.split,
        device=resolve_device(args.device), grid_rows=args.grid_rows,
        lpips_net=None if args.lpips == "none" else args.lpips, fid=not args.no_fid,
        save_images=not args.no_images,
    ))
    for name, cols in result.rows.items():
        print(f"{name}: PSNR {cols['psnr']}  SSIM {cols['ssim']}")
    print(f"wrote {result.files['results.md']}")
    return 0
