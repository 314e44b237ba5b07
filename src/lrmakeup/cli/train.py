"""``lrmakeup train``: train the whole model on prepared training tuples (one process, or under torchrun).

    lrmakeup train --config CFG --data PREPARED [--data BENCH ...] --out RUN [--resume] [--device cpu|cuda] [key=value ...]

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

from ..config import Config, load_config
from ..errors import ConfigError, DataError


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
    from ..training import (  # torch-heavy: imported only when the command runs
        CONFIG_FILE,
        TrainingError,
        train,
    )

    out = Path(args.out)
    for data in args.data:
        if not Path(data).is_dir():
            raise DataError(f"training data folder not found: {data}")
    config_path = args.config
    if config_path is None and args.resume and (out / CONFIG_FILE).is_file():
        config_path = out / CONFIG_FILE
    config = load_config(config_path, list(args.overrides))
    dataset = _open_datasets([Path(d) for d in args.data], config)
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


def _open_datasets(folders: list[Path], config: Config):
    """The train splits of ``folders`` (tuples or benchmarks), checked against the model's sizes, with every
    identity that any of them holds out for test removed from all of them."""
    from torch.utils.data import ConcatDataset, Subset

    from ..data.triplets import TripletDataset
    from ..data.tuples import TupleDataset
    from ..data.manifest import read_format

    def identity(name: str) -> str:
        return Path(name).stem

    kinds, held_out = [], set()
    for folder in folders:
        fmt, manifest = read_format(folder)
        benchmark = fmt.startswith("lrmakeup-benchmark")
        kinds.append(benchmark)
        if benchmark:
            held_out |= {t["source_identity"] for t in manifest.get("triplets", []) if t.get("split") == "test"}
            held_out |= {t["reference_identity"] for t in manifest.get("triplets", []) if t.get("split") == "test"}
        else:
            held_out |= {identity(n) for n in manifest.get("split", {}).get("test_sources", [])}
    sigma = config.model.prior.heatmap_sigma
    parts = []
    for folder, benchmark in zip(folders, kinds):
        if benchmark:
            dataset = TripletDataset(folder, "train", sigma, exclude_identities=held_out)
        else:
            dataset = TupleDataset(folder, split="train", heatmap_sigma=sigma)
            if len(folders) > 1:
                keep = [i for i in range(len(dataset))
                        if not {identity(n) for n in dataset.names(i)} & held_out]
                dataset = Subset(dataset, keep) if len(keep) < len(dataset) else dataset
        _check_sizes(folder, getattr(dataset, "dataset", dataset), config)
        parts.append(dataset)
    return parts[0] if len(parts) == 1 else ConcatDataset(parts)


def _check_sizes(folder: Path, dataset, config: Config) -> None:
    model = config.model
    for name, want in (("image_size", model.image_size), ("input_size", model.input_size),
                       ("feature_size", model.feature_size)):
        got = getattr(dataset, name)
        if got != want:
            raise ConfigError(f"{folder} was prepared with {name} {got} but the model has model.{name}={want} "
                              "(prepare the data at the model's sizes or change the config)")


def _is_main() -> bool:
    return os.environ.get("RANK", "0") in ("", "0")

