"""``lrmakeup train``: train the whole model on prepared training tuples (one process, or under torchrun).

    lrmakeup train --config CFG --data PREPARED --out RUN [--resume] [--device cpu|cuda] [key=value ...]
    torchrun --nproc_per_node N -m lrmakeup train ...   (DDP; gloo on CPU, NCCL on GPUs)
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ..config import Config, load_config
from ..errors import ConfigError, DataError


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train the model on prepared training tuples",
                       description="Train G_M + G_S with D_X, D_Y, D_S. Defaults reproduce the paper. "
                       "Options come first, then any number of key=value config overrides.")
    p.add_argument("--config", help="YAML config (default: the paper's; with --resume: the run's config.yaml)")
    p.add_argument("--data", required=True, help="folder of prepared training tuples")
    p.add_argument("--out", required=True, help="run folder: config, checkpoints, logs")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    p.add_argument("--device", default="cpu", help="cpu, cuda (cuda:LOCAL_RANK under torchrun), cuda:N or auto")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("overrides", nargs="*", metavar="key=value", help="config overrides, e.g. train.lr=1e-4")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..training import (  # torch-heavy: imported only when the command runs
        CONFIG_FILE,
        TrainingError,
        train,
    )

    out = Path(args.out)
    data = Path(args.data)
    if not data.is_dir():
        raise DataError(f"training data folder not found: {data}")
    config_path = args.config
    if config_path is None and args.resume and (out / CONFIG_FILE).is_file():
        config_path = out / CONFIG_FILE
    config = load_config(config_path, list(args.overrides))
    dataset = _open_dataset(data, config)
    try:
        result = train(config, dataset, out, resume=args.resume, device=args.device, progress=not args.no_progress)
    except TrainingError as exc:  # not the user's input, not a bug either: say what diverged, exit 1
        print(f"lrmakeup: error: {exc}", file=sys.stderr)
        return 1
    if _is_main():
        print(f"trained {result.step} steps; wrote {result.generator_path} and {result.state_path}")
    return 0


def _open_dataset(data: Path, config: Config):
    """The prepared tuples of ``data``, checked against the model's sizes (heatmaps drawn with its sigma)."""
    from ..data.tuples import TupleDataset

    dataset = TupleDataset(data, split="train", heatmap_sigma=config.model.prior.heatmap_sigma)
    model = config.model
    for name, want in (("image_size", model.image_size), ("input_size", model.input_size),
                       ("feature_size", model.feature_size)):
        got = getattr(dataset, name)
        if got != want:
            raise ConfigError(f"{data} was prepared with {name} {got} but the model has model.{name}={want} "
                              "(prepare the data at the model's sizes or change the config)")
    return dataset


def _is_main() -> bool:
    return os.environ.get("RANK", "0") in ("", "0")

