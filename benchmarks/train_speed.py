"""Seconds per training step and samples per second, for one or more configs at their own sizes and batches.

Times ``Trainer.train_step`` (D step + G step with every loss term of the config, the recipe's flips and "no
makeup" samples included) on synthetic tuples with the exact shapes of the trainer's data contract, after
warm-up steps, and prints the median of each config as soon as it is measured, then the ratio of samples per
second to the first config. Defaults: the paper's config (256x256, batch 1) with a random VGG.

    python benchmarks/train_speed.py [--config configs/paper.yaml ...] [--steps 3] [--warmup 1] [--device cpu]
    # the shipped recipe, old vs new, in one run:
    python benchmarks/train_speed.py --config benchmarks/demo_v1.yaml configs/demo.yaml
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import torch
from torch.utils.data import Dataset

from lrmakeup.config import builtin_config_path, load_config
from lrmakeup.training import Trainer
from lrmakeup.training.distributed import DistInfo


class SyntheticTuples(Dataset):
    """Random items with the keys, shapes and ranges of ``data.tuples.TupleDataset``."""

    def __init__(self, n: int, image: int, feature: int, input_size: int):
        self.n, self.s, self.f, self.i = n, image, feature, input_size

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        g = torch.Generator().manual_seed(index)
        s, f = self.s, self.f
        i = self.i
        item = {"target": torch.rand(3, s, s, generator=g) * 2 - 1, "x_lr": torch.rand(3, i, i, generator=g) * 2 - 1,
                "y_lr": torch.rand(3, i, i, generator=g) * 2 - 1, "x_hr": torch.rand(3, s, s, generator=g) * 2 - 1,
                "y_hr": torch.rand(3, s, s, generator=g) * 2 - 1,
                "heatmaps": torch.rand(68, f, f, generator=g), "parsing": torch.randint(0, 14, (f, f), generator=g)}
        for p in ("x", "y"):
            masks = torch.zeros(3, f, f)
            masks[0, int(0.7 * f):int(0.8 * f), int(0.35 * f):int(0.65 * f)] = 1
            masks[1, int(0.2 * f):int(0.65 * f), int(0.15 * f):int(0.85 * f)] = 1
            masks[2, int(0.3 * f):int(0.42 * f), int(0.2 * f):int(0.8 * f)] = 1
            masks[1][masks[2] > 0] = 0
            pos = torch.randn(136, f, f, generator=g)
            item.update({f"{p}_image": torch.rand(3, s, s, generator=g) * 2 - 1, f"{p}_masks": masks,
                         f"{p}_pos": pos / pos.norm(dim=0, keepdim=True) * masks.sum(0, keepdim=True),
                         f"{p}_masks_full": torch.nn.functional.interpolate(masks[None], size=(s, s))[0]})
        return item


def time_config(path: str, overrides: list[str], steps: int, warmup: int, device: str) -> float:
    """Median seconds per step of ``path``'s recipe; prints the figure as soon as it is measured."""
    cfg = load_config(path, ["loss.vgg_weights=random", *overrides])
    m = cfg.model
    data = SyntheticTuples(2 * cfg.train.batch_size, m.image_size, m.feature_size, m.input_size)
    with tempfile.TemporaryDirectory() as run:
        trainer = Trainer(cfg, data, run, progress=False, dist=DistInfo(device=torch.device(device)))
        batch = next(iter(trainer.loader))
        times = []
        for i in range(warmup + steps):
            if trainer.device.type == "cuda":
                torch.cuda.synchronize()
            t = time.perf_counter()
            trainer.train_step(batch)
            if trainer.device.type == "cuda":
                torch.cuda.synchronize()
            if i >= warmup:
                times.append(time.perf_counter() - t)
    per_step = statistics.median(times)
    print(f"config {path} ({m.image_size}px, batch {cfg.train.batch_size}), device {device}, "
          f"torch threads {torch.get_num_threads()}: {per_step:.2f} s/step, "
          f"{cfg.train.batch_size / per_step:.2f} samples/s "
          f"(median of {len(times)} after {warmup} warm-up; all: {', '.join(f'{t:.2f}' for t in times)})", flush=True)
    return cfg.train.batch_size / per_step


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", nargs="+", default=[str(builtin_config_path("paper"))])
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("overrides", nargs="*")
    args = ap.parse_args()
    rates = [time_config(path, args.overrides, args.steps, args.warmup, args.device) for path in args.config]
    for path, rate in zip(args.config[1:], rates[1:]):
        print(f"{path}: {rate / rates[0]:.1f}x the samples per second of {args.config[0]}")


if __name__ == "__main__":
    main()
