"""The baselines of the evaluation (METHOD.md §4), all starting from the method's own low-resolution transfer.

- ``bicubic``: G_M's x̃_LR reduced to the 64x64 input size, then bicubic 4x up-sampling;
- ``cascade``: the same 64x64 transfer, then a separately trained generic SR network of G_S's size
  (:mod:`lrmakeup.models.cascade`), trained here by :func:`train_cascade` on (target reduced to 64 -> target);
- ``ablation`` (a checkpoint with ``model.sr.makeup_prior: false``) and ``teacher`` are run by the runner.

Reductions and up-samplings use Pillow's bicubic filter (antialiased when shrinking), the same
``resize_bicubic`` that makes the model's inputs, so the baselines see what the model sees.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import save_file
from torch import Tensor
from tqdm.auto import tqdm

from ..checkpoint import check_config_bounds, load_state_strict, read_checked, read_header
from ..errors import CheckpointError, InputError
from ..face.analysis import resize_bicubic
from ..fileio import atomic_write
from ..models.cascade import CascadeConfig, CascadeSR

CASCADE_FORMAT = "lrmakeup-cascade-v1"


def reduce_to_input(image: np.ndarray, input_size: int) -> np.ndarray:
    """(S, S, 3) uint8 -> (s, s, 3) uint8: the 64x64 worth of an image (antialiased bicubic)."""
    return resize_bicubic(image, input_size)


def bicubic_baseline(x_lr: np.ndarray, input_size: int) -> np.ndarray:
    """Transfer at low resolution, then bicubic: x̃_LR (S, S, 3) uint8 -> 64 -> S, uint8."""
    return resize_bicubic(reduce_to_input(x_lr, input_size), x_lr.shape[0])


def _to_signed(image: np.ndarray) -> Tensor:
    """(H, W, 3) uint8 -> (3, H, W) float32 in [-1, 1]."""
    return torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1))).float() / 127.5 - 1.0


def _to_u8(t: Tensor) -> np.ndarray:
    return ((t.detach().float().clamp(-1, 1) + 1) * 127.5).round().byte().permute(1, 2, 0).cpu().numpy()


@torch.inference_mode()
def cascade_baseline(model: CascadeSR, x_lr: np.ndarray, input_size: int) -> np.ndarray:
    """Transfer at low resolution, then the generic SR network: x̃_LR (S, S, 3) uint8 -> 64 -> S, uint8."""
    device = next(model.parameters()).device
    small = _to_signed(reduce_to_input(x_lr, input_size))[None].to(device)
    out = model.eval()(small)[0]
    if out.shape[-1] != x_lr.shape[0]:
        raise InputError(f"the cascade network makes {out.shape[-1]}-pixel images, the set has {x_lr.shape[0]}")
    return np.ascontiguousarray(_to_u8(out))


# ---- training -------------------------------------------------------------------------------------------


def _target_of(item: Any) -> np.ndarray:
    image = getattr(item, "target", item)
    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise InputError(f"train_cascade needs (S, S, 3) uint8 target images, got {image.dtype} {image.shape}")
    return image


def train_cascade(
    dataset: Sequence[Any],
    steps: int,
    model: CascadeSR | None = None,
    input_size: int = 64,
    batch_size: int = 8,
    lr: float = 2e-4,
    loss: str = "l1",
    device: str | torch.device = "cpu",
    seed: int = 0,
    progress: bool = True,
) -> tuple[CascadeSR, list[float]]:
    """Train the cascade SR network on (target reduced to ``input_size`` -> target) pairs.

    ``dataset``: a sequence of (S, S, 3) uint8 images, or of objects with a ``.target`` such image (e.g. an
    :class:`~lrmakeup.evaluation.datasets.EvalSet` of the *train* split). Adam, L1 (``loss="l1"``) or MSE,
    random horizontal flips. Returns the model (in eval mode) and the loss of every step.
    """
    if steps < 1:
        raise InputError(f"steps must be >= 1, got {steps}")
    if len(dataset) == 0:
        raise InputError("train_cascade got an empty data set")
    if loss not in ("l1", "mse"):
        raise InputError(f"loss must be 'l1' or 'mse', got {loss!r}")
    gen = torch.Generator().manual_seed(seed)
    if model is None:
        torch.manual_seed(seed)
        model = CascadeSR()
    device = torch.device(device)
    model = model.to(device).train()
    # the pairs are small and fixed: build them once (images are read once)
    targets, inputs = [], []
    for i in range(len(dataset)):
        hr = _target_of(dataset[i])
        targets.append(_to_signed(hr))
        inputs.append(_to_signed(reduce_to_input(hr, input_size)))
    hr_all, lr_all = torch.stack(targets), torch.stack(inputs)
    opt = torch.optim.Adam(model.parameters(), lr=lr, betas=(0.9, 0.99))
    criterion = F.l1_loss if loss == "l1" else F.mse_loss
    losses: list[float] = []
    with tqdm(range(steps), desc="training cascade SR", unit="step", disable=not progress) as bar:
        for _ in bar:
            idx = torch.randint(len(hr_all), (min(batch_size, len(hr_all)),), generator=gen)
            x, y = lr_all[idx], hr_all[idx]
            if bool(torch.rand((), generator=gen) < 0.5):
                x, y = x.flip(-1), y.flip(-1)
            value = criterion(model(x.to(device)), y.to(device))
            opt.zero_grad(set_to_none=True)
            value.backward()
            opt.step()
            losses.append(float(value.detach()))
            bar.set_postfix(loss=f"{losses[-1]:.4f}")
    if not all(math.isfinite(v) for v in losses):
        raise InputError("cascade training diverged (non-finite loss); lower the learning rate")
    return model.eval(), losses


# ---- checkpoints ----------------------------------------------------------------------------------------


def save_cascade(path: str | Path, model: CascadeSR, provenance: dict[str, Any] | None = None) -> None:
    """Write the cascade network (safetensors, its config in the metadata), atomically."""
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    meta = {"format": CASCADE_FORMAT, "config": json.dumps(model.cfg.to_dict()),
            "provenance": json.dumps(provenance or {})}
    atomic_write(path, lambda tmp: save_file(tensors, tmp, metadata=meta))


def load_cascade(path: str | Path, device: str | torch.device = "cpu") -> tuple[CascadeSR, dict[str, Any]]:
    """Rebuild a cascade network saved by :func:`save_cascade` (CheckpointError on any defect)."""
    header, meta = read_header(path, "cascade checkpoint")  # no tensor data yet
    if meta.get("format") != CASCADE_FORMAT:
        raise CheckpointError(f"{path} is not a cascade SR checkpoint (format {meta.get('format')!r})")
    try:
        cfg = CascadeConfig(**json.loads(meta["config"]))
        provenance = json.loads(meta.get("provenance", "{}"))
    except (KeyError, TypeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{path} carries an invalid cascade config: {exc}") from exc
    check_config_bounds(cfg, "cascade", str(path))
    tensors = read_checked(path, lambda: CascadeSR(cfg), header, "cascade checkpoint")  # header vs meta model
    model = CascadeSR(cfg)
    load_state_strict(model, tensors, str(path))
    return model.to(device).eval(), provenance
