"""Checkpoint selection on held-out real pairs: score every snapshot of a run, plot the curve, pick the best.

A run that keeps snapshots (``train.snapshot_every``: ``RUN/snapshots/step_XXXXXXX.safetensors``) is scored
snapshot by snapshot with the real-pairs metrics (evaluation/real_pairs.py) on a validation folder whose
sources and references were never trained on. The best snapshot is the one with the highest mean share of
pairs whose makeup was carried (lips, eye shadow, skin) among those at least as faithful as bicubic outside
the makeup regions (SSIM and PSNR there, within the noise of a few dozen pairs: :data:`TOLERANCE`); when none
is, the most faithful one.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..fileio import atomic_write
from .real_pairs import RealFace, bicubic_method, evaluate_real_pairs, model_method

CURVE_METRICS = ("lips carried", "eye shadow carried", "skin carried", "SSIM outside", "PSNR outside",
                 "identity (median)", "gradient ratio (median)")
CARRIED = ("lips carried", "eye shadow carried", "skin carried")
TOLERANCE = {"SSIM outside": 0.005, "PSNR outside": 0.1}  # "as faithful as bicubic" up to this much


@dataclass
class Selection:
    steps: list[int]
    scores: list[dict[str, float]]  # per snapshot: the real-pairs table row of the model
    bicubic: dict[str, float]
    best: Path


def snapshot_step(path: Path) -> int:
    match = re.search(r"(\d+)", path.stem)
    return int(match.group(1)) if match else -1


def list_snapshots(folder: str | Path) -> list[Path]:
    files = sorted(Path(folder).glob("*.safetensors"), key=snapshot_step)
    if not files:
        raise InputError(f"{folder} holds no .safetensors snapshots")
    return files


def pick_best(scores: list[dict[str, float]], bicubic: dict[str, float]) -> int:
    """Index of the best snapshot (the rule of the module docstring)."""
    def carried(s: dict[str, float]) -> float:
        return float(np.mean([s.get(c, 0.0) for c in CARRIED]))

    faithful = [i for i, s in enumerate(scores)
                if all(s.get(m, 0) >= bicubic.get(m, 0) - tol for m, tol in TOLERANCE.items())]
    if faithful:
        return max(faithful, key=lambda i: (carried(scores[i]), scores[i].get("SSIM outside", 0)))
    return max(range(len(scores)), key=lambda i: scores[i].get("SSIM outside", 0))


def select_snapshot(snapshots: list[Path], val_root: str | Path, out_dir: str | Path, pairs: int | None = 48,
                    faces: tuple[list[RealFace], list[RealFace]] | None = None, progress: bool = True,
                    device: str = "cpu") -> Selection:
    """Score each snapshot on the same validation pairs; write validation_curve.png and selection.json."""
    from ..api import MakeupTransfer
    from .real_pairs import load_faces

    faces = faces or (load_faces(val_root, "non-makeup", progress=progress),
                      load_faces(val_root, "makeup", progress=progress))
    base = evaluate_real_pairs(val_root, {"bicubic": bicubic_method}, None, pairs, faces=faces, progress=False)
    scores = []
    for path in snapshots:
        engine = MakeupTransfer.from_checkpoint(path, device)
        result = evaluate_real_pairs(val_root, {"model": model_method(engine)}, None, pairs, faces=faces,
                                     progress=False)
        scores.append(result.table["model"])
        if progress:
            print(f"{path.name}: " + ", ".join(f"{k} {v:.3f}" for k, v in scores[-1].items() if k in CURVE_METRICS))
    steps = [snapshot_step(p) for p in snapshots]
    best = snapshots[pick_best(scores, base.table["bicubic"])]
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    plot_curve(steps, scores, base.table["bicubic"], out / "validation_curve.png", snapshot_step(best))
    payload = json.dumps({"steps": steps, "scores": scores, "bicubic": base.table["bicubic"],
                          "best": str(best), "pairs": base.pairs}, indent=1)
    atomic_write(out / "selection.json", lambda tmp: Path(tmp).write_text(payload, encoding="utf-8"))
    return Selection(steps, scores, base.table["bicubic"], best)


def plot_curve(steps: list[int], scores: list[dict[str, float]], bicubic: dict[str, float], path: Path,
               best_step: int) -> None:
    """One panel per metric against the training step; bicubic's value as a dashed line; the pick marked."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(14, 6), dpi=90)
    for k, name in enumerate(CURVE_METRICS):
        ax = fig.add_subplot(2, 4, k + 1)
        ax.plot(steps, [s.get(name, np.nan) for s in scores], marker="o", label="lrmakeup")
        if name in bicubic:
            ax.axhline(bicubic[name], color="grey", linestyle="--", label="bicubic")
        ax.axvline(best_step, color="green", alpha=0.4)
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("step", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(True, alpha=0.3)
        if k == 0:
            ax.legend(fontsize=7)
    fig.suptitle("validation on held-out real pairs (green: selected snapshot)", fontsize=10)
    fig.tight_layout()
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    atomic_write(path, lambda tmp: Path(tmp).write_bytes(buf.getvalue()))
