"""Seconds per training step (issue: training), for a config at its own image size and batch size.

Times ``Trainer.train_step`` (D step + G step with every loss term of the config) on synthetic tuples with
the exact shapes of the trainer's data contract, after warm-up steps, and prints the median. Defaults: the
paper's config (256x256, batch 1) with a random VGG (no ImageNet weights needed).

    python benchmarks/train_speed.py [--config configs/paper.yaml] [--steps 3] [--warmup 1] [--device cpu]
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
        item = {"target": torch.rand(3, s, s, generator=g) * 2 - 1, "x_lr": torch.rand(3, self.i, self.i, generator=g) * 2 - 1,
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", default=str(builtin_config_path("paper")))
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("overrides", nargs="*")
    args = ap.parse_args()
    cfg = load_config(args.config, ["loss.vgg_weights=random", *args.overrides])
    m = cfg.model
    data = SyntheticTuples(8, m.image_size, m.feature_size, m.input_size)
    with tempfile.TemporaryDirectory() as run:
        trainer = Trainer(cfg, data, run, progress=False, dist=DistInfo(device=torch.device(args.device)))
        batch = next(iter(trainer.loader))
        times = []
        for i in range(args.warmup + args.steps):
            if trainer.device.type == "cuda":
                torch.cuda.synchronize()
            t = time.perf_counter()
            trainer.train_step(batch)
            if trainer.device.type == "cuda":
                torch.cuda.synchronize()
            if i >= args.warmup:
                times.append(time.perf_counter() - t)
    print(f"config {args.config} ({m.image_size}px, batch {cfg.train.batch_size}), device {args.device}, "
          f"torch threads {torch.get_num_threads()}: {statistics.median(times):.2f} s/step "
          f"(median of {len(times)} after {args.warmup} warm-up; all: {', '.join(f'{t:.2f}' for t in times)})")


if __name__ == "__main__":
    main()
