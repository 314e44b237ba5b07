"""``lrmakeup prepare``: an MT-layout folder -> the training tuples of METHOD §3 (sharded, resumable)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import InputError
from .common import add_device_option, check_input_file


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "prepare",
        help="build training tuples (x_LR, y_LR, teacher target, parsing, landmarks) from an MT-layout folder",
        description="Build the training tuples of the method from an MT-layout folder. Re-running with the same "
        "settings skips finished shards; an interrupted run resumes.",
    )
    p.add_argument("--mt-root", required=True, help="MT-layout folder (images/, segs/, makeup.txt, non-makeup.txt)")
    p.add_argument("--out", required=True, help="output folder (created; re-use it to resume)")
    p.add_argument("--teacher", required=True, metavar="{psgan:G.pth|classic}",
                   help="'classic' (no weights) or 'psgan:PATH' (PSGAN's published G.pth)")
    p.add_argument("--pairs", type=int, default=5000, help="training tuples (default 5000)")
    p.add_argument("--test-pairs", type=int, default=100, help="test tuples (default 100)")
    p.add_argument("--test-sources", type=int, default=None,
                   help="source photos held out for test (default: min(test-pairs, 10%% of the sources))")
    p.add_argument("--seed", type=int, default=0, help="seed of the split and the pairing (default 0)")
    p.add_argument("--image-size", type=int, default=256, help="teacher / model image size S (default 256)")
    p.add_argument("--input-size", type=int, default=64, help="low-resolution input size (default 64)")
    p.add_argument("--shard-size", type=int, default=64, help="tuples per shard (default 64)")
    p.add_argument("--missing-segs", choices=("error", "landmarks"), default="error",
                   help="a photo without a label map: stop (default) or draw parsing from its landmarks")
    add_device_option(p)  # the device of the psgan teacher
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if not Path(args.mt_root).is_dir():
        raise InputError(f"--mt-root folder not found: {args.mt_root}")
    if args.teacher != "classic" and not args.teacher.startswith("psgan:"):
        raise InputError(f"--teacher must be 'classic' or 'psgan:PATH', got '{args.teacher}'")
    if args.teacher.startswith("psgan:"):
        check_input_file(args.teacher[len("psgan:"):], "PSGAN teacher")
    if Path(args.out).exists() and not Path(args.out).is_dir():
        raise InputError(f"--out {args.out} exists and is not a folder")
    from ..api import resolve_device
    from ..data.tuples import PrepareOptions, prepare

    options = PrepareOptions(
        mt_root=args.mt_root, out=args.out, teacher=args.teacher, pairs=args.pairs, test_pairs=args.test_pairs,
        test_sources=args.test_sources, seed=args.seed, image_size=args.image_size, input_size=args.input_size,
        shard_size=args.shard_size, missing_segs=args.missing_segs, device=str(resolve_device(args.device)),
    )
    result = prepare(options, progress=not args.quiet)
    counts = result.manifest["counts"]
    for split in ("train", "test"):
        done = result.skipped[split]
        print(f"{split}: {counts[split]} tuples in {len(result.manifest['shards'][split])} shard(s): "
              f"{result.written[split]} written, {done} skipped (already done)")
    print(f"faces: {counts['faces']} usable ({result.faces_analysed} analysed now, {result.faces_reused} reused), "
          f"{counts['skipped_faces']} skipped ({counts['skipped_no_face']} without a face dlib finds, "
          f"{counts['skipped_bad_seg']} with a label map that contradicts the landmarks)")
    per_tuple = f", teacher {result.teacher_seconds / result.computed:.3f}s/tuple" if result.computed else ""
    print(f"wrote {args.out}/manifest.json in {result.seconds:.1f}s{per_tuple}")
    return 0
