"""``lrmakeup train``: train the whole model on prepared training tuples (one process, or under torchrun).

    lrmakeup train --config CFG --data PREPARED [--data BENCH ...] --out RUN [--resume] [--device cpu|cuda]
                   [key=value ...]

``--data`` may repeat; each folder is either prepared teacher tuples (``lrmakeup prepare``) or renderer-made
triplets with exact targets (``lrmakeup make-benchmark``). Their train splits are concatenated, and a face
identity held out for test by any of them is kept out of training in all of them.
    torchrun --nproc_per_node N -m lrmakeup train ...   (DDP; gloo on CPU, NCCL on GPUs)
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path

from ..config import load_config
from ..errors import DataError


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train the model on prepared training tuples",
                       description="Train G_M + G_S with D_X, D_Y, D_S. Defaults reproduce the paper. "
                       "Options come first, then any number of key=value config overrides.")
    p.add_argument("--config", help="YAML config (default: the paper's; with --resume: the run's config.yaml)")
    p.add_argument("--data", required=True, action="append",
                   help="prepared tuples or a benchmark folder; repeat to train on several")
    p.add_argument("--out", required=True, help="run folder: config, checkpoints, logs")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    p.add_argument("--device", default="cpu", help="cpu, cuda (cuda:LOCAL_RANK under torchrun), cuda:N or auto")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("overrides", nargs="*", metavar="key=value", help="config overrides, e.g. train.lr=1e-4")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..data.training_set import open_training_data  # torch-heavy: imported only when the command runs
    from ..training import CONFIG_FILE, TrainingError, train

    out = Path(args.out)
    for data in args.data:  # before the config and torch: a typo in --data answers at once
        if not Path(data).is_dir():
            raise DataError(f"training data folder not found: {data}")
    config_path = args.config
    if config_path is None and args.resume and (out / CONFIG_FILE).is_file():
        config_path = out / CONFIG_FILE
    config = load_config(config_path, list(args.overrides))
    dataset = open_training_data(args.data, config)
    try:
        result = train(config, dataset, out, resume=args.resume, device=args.device, progress=not args.no_progress)
    except TrainingError as exc:  # not the user's input, not a bug either: say what diverged, exit 1
        print(f"lrmakeup: error: {exc}", file=sys.stderr)
        return 1
    if result.stopped_by:  # pre-empted (SIGTERM) or Ctrl+C: the step finished and was checkpointed
        if _is_main():
            print(f"lrmakeup: stopped by {result.stopped_by} at step {result.step}; wrote {result.state_path}; "
                  "run again with --resume to continue", file=sys.stderr)
        return 128 + signal.Signals[result.stopped_by].value  # the shell's code for "ended by this signal"
    if _is_main():
        print(f"trained {result.step} steps; wrote {result.generator_path} and {result.state_path}")
    return 0


def _is_main() -> bool:
    return os.environ.get("RANK", "0") in ("", "0")

