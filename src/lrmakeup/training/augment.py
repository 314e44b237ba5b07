"""Training-time augmentation of a :class:`TrainingBatch`: horizontal flips that keep landmarks consistent,
and the random aligned crops of the detail term.

A face flipped left-right is a valid face only if everything that names a side follows: the 68 landmarks swap
roles (left eye corner <-> right eye corner, :data:`MIRROR_68`), so the position features (channels 0-67: row
offsets to each landmark, 68-135: column offsets, which change sign) and the landmark heatmaps are permuted,
and the parsing labels of sided parts (brows, eyes, ears) swap. The source (with its target, masks, heatmaps,
parsing and sharp source) and the reference are flipped independently, each with probability 1/2.

The detail term (``loss.rec_detail``) trains G_S as a plain super-resolution network on small crops of bare
faces: :func:`random_crops` cuts one aligned (low-resolution, sharp) window per image at a random position,
flipped with probability 1/2 (a crop has no landmarks to keep consistent).
"""

from __future__ import annotations

import torch
from torch import Tensor

from ..face.parsing import MT
from ..models import FaceBatch
from .objective import TrainingBatch

# dlib's 68-point layout mirrored: jaw, brows, nose, eyes, outer and inner lips
_PAIRS = ([(k, 16 - k) for k in range(8)] + [(17 + k, 26 - k) for k in range(5)] + [(31, 35), (32, 34)]
          + [(36, 45), (37, 44), (38, 43), (39, 42), (40, 47), (41, 46)]
          + [(48, 54), (49, 53), (50, 52), (55, 59), (56, 58), (60, 64), (61, 63), (65, 67)])
MIRROR_68 = list(range(68))
for _a, _b in _PAIRS:
    MIRROR_68[_a], MIRROR_68[_b] = _b, _a

_SIDED = ((MT.LEFT_BROW, MT.RIGHT_BROW), (MT.LEFT_EYE, MT.RIGHT_EYE), (MT.LEFT_EAR, MT.RIGHT_EAR))


def mirror_labels(parsing: Tensor) -> Tensor:
    """MT labels of a left-right flipped face: the sided labels swap."""
    lut = torch.arange(max(int(parsing.max()) + 1, 14), device=parsing.device)
    for a, b in _SIDED:
        lut[int(a)], lut[int(b)] = int(b), int(a)
    return lut[parsing]


def flip_pos(pos: Tensor) -> Tensor:
    """(B, 136, F, F) position features of the flipped face: permute by MIRROR_68, negate the column half."""
    perm = torch.tensor(MIRROR_68 + [68 + k for k in MIRROR_68], device=pos.device)
    flipped = pos.flip(-1)[:, perm]
    return torch.cat([flipped[:, :68], -flipped[:, 68:]], 1)


def _pick(flag: Tensor, a: Tensor, b: Tensor) -> Tensor:
    return torch.where(flag.view(-1, *([1] * (a.dim() - 1))), a, b)


def flip_face(face: FaceBatch, flag: Tensor) -> FaceBatch:
    return FaceBatch(_pick(flag, face.image.flip(-1), face.image), _pick(flag, face.masks.flip(-1), face.masks),
                     _pick(flag, flip_pos(face.pos), face.pos))


def random_flips(batch: TrainingBatch, source_hr: Tensor | None = None) -> tuple[TrainingBatch, Tensor | None]:
    """Flip each sample's source side and reference side independently with probability 1/2 (torch's RNG)."""
    n = batch.target.shape[0]
    fx = (torch.rand(n) < 0.5).to(batch.target.device)
    fy = (torch.rand(n) < 0.5).to(batch.target.device)
    perm = torch.tensor(MIRROR_68, device=batch.heatmaps.device)
    flipped = batch._replace(
        x=flip_face(batch.x, fx),
        y=flip_face(batch.y, fy),
        x_masks_full=_pick(fx, batch.x_masks_full.flip(-1), batch.x_masks_full),
        y_masks_full=_pick(fy, batch.y_masks_full.flip(-1), batch.y_masks_full),
        target=_pick(fx, batch.target.flip(-1), batch.target),
        heatmaps=_pick(fx, batch.heatmaps.flip(-1)[:, perm], batch.heatmaps),
        parsing=_pick(fx, mirror_labels(batch.parsing.flip(-1)), batch.parsing),
    )
    if source_hr is not None:
        source_hr = _pick(fx.to(source_hr.device), source_hr.flip(-1), source_hr)
    return flipped, source_hr


def random_crops(low: Tensor, sharp: Tensor, size: int) -> tuple[Tensor, Tensor]:
    """One random aligned window per image (torch's RNG): low (N, 3, s, s), sharp (N, 3, k·s, k·s) ->
    (N, 3, size, size) and (N, 3, k·size, k·size), each pair flipped left-right with probability 1/2."""
    n, s = low.shape[0], low.shape[-1]
    k = sharp.shape[-1] // s
    if size > s or sharp.shape[-1] != k * s:
        raise ValueError(f"cannot cut {size}-pixel crops from {s}-pixel images with {sharp.shape[-1]}-pixel targets")
    top = torch.randint(0, s - size + 1, (n,)).tolist()
    left = torch.randint(0, s - size + 1, (n,)).tolist()
    flip = (torch.rand(n) < 0.5).tolist()
    lows, sharps = [], []
    for i in range(n):
        lo = low[i, :, top[i]:top[i] + size, left[i]:left[i] + size]
        hi = sharp[i, :, k * top[i]:k * (top[i] + size), k * left[i]:k * (left[i] + size)]
        if flip[i]:
            lo, hi = lo.flip(-1), hi.flip(-1)
        lows.append(lo)
        sharps.append(hi)
    return torch.stack(lows), torch.stack(sharps)
