"""What a training run shows and leaves behind (rank 0 only): progress bar, metrics, images, loss curve.

- a tqdm bar with the step, the main losses and steps/s;
- ``metrics.jsonl``: one JSON object per logged step (every unweighted term, the weighted totals, lr, steps/s);
- TensorBoard scalars and image grids under ``tensorboard/``;
- ``images/step_XXXXXXX.png``: the grid of one training sample (x, y, x̃_LR, x̃_SR, x̃_HR, Σ heatmaps,
  parsing argmax in colour);
- ``loss_curve.png`` at the end (matplotlib's Agg renderer, no pyplot).

Every file is written atomically (``metrics.jsonl`` is appended line by line and trimmed on resume).
"""

from __future__ import annotations

import io
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from ..fileio import atomic_write

METRICS_FILE = "metrics.jsonl"
IMAGES_DIR = "images"
TENSORBOARD_DIR = "tensorboard"
LOSS_CURVE_FILE = "loss_curve.png"

# one colour per MT label (0 background ... 13 neck)
PARSING_COLOURS = torch.tensor([
    [0, 0, 0], [204, 153, 102], [102, 51, 0], [102, 51, 0], [0, 102, 204], [0, 102, 204], [255, 204, 153],
    [204, 0, 51], [255, 255, 255], [153, 0, 51], [51, 25, 0], [255, 153, 102], [255, 153, 102], [153, 102, 51],
], dtype=torch.float32) / 255.0
GRID_COLUMNS = ("x", "y", "x_lr", "x_sr", "target", "heatmaps", "parsing")


def image_grid(x: Tensor, y: Tensor, x_lr: Tensor, x_sr: Tensor, target: Tensor, heatmaps: Tensor,
               parsing_logits: Tensor, rows: int = 1) -> Tensor:
    """One row per sample, columns GRID_COLUMNS: (3, rows·S, 7·S) float in [0, 1] on the CPU.

    Images (B, 3, S, S) in [-1, 1]; heatmaps (B, 68, F, F) are summed and scaled to [0, 1]; parsing logits
    (B, K, F, F) are shown as their argmax in PARSING_COLOURS; both are resized (nearest) to S.
    """
    size = target.shape[-1]  # images G_M reads at 64 (model.makeup.resolution=input) are shown enlarged (nearest)
    out = []
    for b in range(min(rows, x.shape[0])):
        tiles = [(t[b].detach().float().cpu().clamp(-1, 1) + 1) / 2 for t in (x, y, x_lr, x_sr, target)]
        tiles = [F.interpolate(t[None], size=size, mode="nearest")[0] if t.shape[-1] != size else t for t in tiles]
        heat = heatmaps[b].detach().float().cpu().sum(0, keepdim=True)
        heat = (heat - heat.min()) / (heat.max() - heat.min()).clamp_min(1e-8)
        tiles.append(F.interpolate(heat[None], size=size, mode="nearest")[0].expand(3, -1, -1))
        labels = parsing_logits[b].detach().float().cpu().argmax(0).clamp(max=len(PARSING_COLOURS) - 1)
        colour = PARSING_COLOURS[labels].permute(2, 0, 1)
        tiles.append(F.interpolate(colour[None], size=size, mode="nearest")[0])
        out.append(torch.cat(tiles, dim=2))
    return torch.cat(out, dim=1)


def write_png(path: str | Path, grid: Tensor) -> None:
    """(3, H, W) float in [0, 1] -> PNG file, atomically."""
    from PIL import Image

    arr = (grid.clamp(0, 1) * 255).round().byte().permute(1, 2, 0).numpy()
    atomic_write(path, lambda tmp: Image.fromarray(np.ascontiguousarray(arr)).save(tmp, format="PNG"))


def read_metrics(path: str | Path) -> list[dict[str, Any]]:
    """The records of a ``metrics.jsonl``; a torn last line (killed mid-write) is skipped."""
    path = Path(path)
    if not path.is_file():
        return []
    records = []
    for line in path.read_text().splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return records


def plot_loss_curves(records: list[dict[str, Any]], path: str | Path) -> bool:
    """Every logged term against the step (log scale), one panel for D and one for G; False when no data."""
    if not records:
        return False
    from matplotlib.figure import Figure  # no pyplot: renders with Agg, touches no global backend state

    from .objective import EQUATIONS, TERMS

    steps = [r["step"] for r in records]
    fig = Figure(figsize=(11, 4.5), dpi=100)
    for i, (title, names) in enumerate((
        ("discriminators", ("loss_D", *(t.name for t in TERMS if t.step == "D"))),
        ("generator", ("loss_G", *(t.name for t in TERMS if t.step == "G"))),
    )):
        ax = fig.add_subplot(1, 2, i + 1)
        plotted = 0
        for name in names:
            values = [r.get(name, math.nan) for r in records]
            if all(math.isnan(v) for v in values):
                continue
            ax.plot(steps, values, label=f"{name} {EQUATIONS[name]}", linewidth=2.0 if name.startswith("loss") else 1.0)
            plotted += 1
        if not plotted:  # e.g. no discriminators when both adversarial λ are 0
            ax.text(0.5, 0.5, "not trained in this run", ha="center", va="center", transform=ax.transAxes)
            ax.set_title(title)
            continue
        ax.set_yscale("log")
        ax.set_xlabel("step")
        ax.set_title(title)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    atomic_write(path, lambda tmp: Path(tmp).write_bytes(buf.getvalue()))
    return True


class Monitor:
    """Rank 0's outputs; on other ranks every method is a no-op (construct with ``active=False``)."""

    def __init__(self, run_dir: Path, total_steps: int, start_step: int, active: bool = True,
                 tensorboard: bool = True, progress: bool = True):
        self.run_dir = Path(run_dir)
        self.active = active
        self.writer = None
        self.bar = None
        self._last_time = time.perf_counter()
        self._last_step = start_step
        if not active:
            return
        (self.run_dir / IMAGES_DIR).mkdir(parents=True, exist_ok=True)
        self._trim_metrics(start_step)
        if tensorboard:
            from torch.utils.tensorboard import SummaryWriter

            # purge_step drops events a killed run logged after its last checkpoint
            self.writer = SummaryWriter(str(self.run_dir / TENSORBOARD_DIR), purge_step=start_step + 1)
        if progress:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total_steps, initial=start_step, desc="train", unit="step",
                            dynamic_ncols=True, file=sys.stderr, mininterval=1.0)

    def _trim_metrics(self, start_step: int) -> None:
        """On resume, forget the records of steps after the checkpoint (they will be logged again)."""
        path = self.run_dir / METRICS_FILE
        if not path.is_file():
            return
        kept = [r for r in read_metrics(path) if r.get("step", 0) <= start_step]
        text = "".join(json.dumps(r) + "\n" for r in kept)
        atomic_write(path, lambda tmp: Path(tmp).write_text(text))

    def advance(self, n: int = 1) -> None:
        if self.bar is not None:
            self.bar.update(n)

    def log(self, step: int, epoch: int, values: dict[str, float], lr: float) -> None:
        if not self.active:
            return
        now = time.perf_counter()
        rate = (step - self._last_step) / max(now - self._last_time, 1e-9)
        self._last_time, self._last_step = now, step
        record = {"step": step, "epoch": epoch, "lr": lr, "steps_per_s": rate, **values}
        with open(self.run_dir / METRICS_FILE, "a") as f:
            f.write(json.dumps(record) + "\n")
        if self.writer is not None:
            for name, value in values.items():
                group = "loss" if name.startswith("loss_") else "terms"
                self.writer.add_scalar(f"{group}/{name}", value, step)
            self.writer.add_scalar("train/lr", lr, step)
            self.writer.add_scalar("train/steps_per_s", rate, step)
        if self.bar is not None:
            self.bar.set_postfix({"G": f"{values.get('loss_G', math.nan):.4g}",
                                  "D": f"{values.get('loss_D', math.nan):.3g}",
                                  "mse_sr": f"{values.get('mse_sr', math.nan):.4g}"}, refresh=False)

    def images(self, step: int, grid: Tensor) -> None:
        if not self.active:
            return
        write_png(self.run_dir / IMAGES_DIR / f"step_{step:07d}.png", grid)
        if self.writer is not None:
            self.writer.add_image("samples/" + "|".join(GRID_COLUMNS), grid, step)

    def note(self, message: str) -> None:
        if not self.active:
            return
        if self.bar is not None:
            self.bar.write(message, file=sys.stderr)
        else:
            print(message, file=sys.stderr)

    def close(self, plot: bool = True) -> None:
        if not self.active:
            return
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        if self.writer is not None:
            self.writer.flush()
            self.writer.close()
            self.writer = None
        if plot:
            plot_loss_curves(read_metrics(self.run_dir / METRICS_FILE), self.run_dir / LOSS_CURVE_FILE)
