"""A tiny in-test stand-in for ``lrmakeup.data.tuples.TupleDataset``: the same keys, shapes and dtypes.

Every item is a deterministic function of its index (no global RNG), like a prepared tuple read from disk.
Shapes: S (images, 64 for tiny.yaml), F = S / 4 (feature maps), inputs S / 4.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.utils.data import Dataset


def _masks(f: int, shift: int) -> torch.Tensor:
    """(3, f, f) lips, skin, eyes as rectangles (disjoint), shifted a little per face."""
    m = torch.zeros(3, f, f)
    s = shift
    m[1, int(0.15 * f) + s:int(0.9 * f), int(0.15 * f):int(0.85 * f) - s] = 1
    m[0, int(0.7 * f):int(0.8 * f), int(0.35 * f) + s:int(0.65 * f) + s] = 1
    m[2, int(0.3 * f):int(0.45 * f), int(0.2 * f):int(0.8 * f)] = 1
    m[1] *= 1 - m[0] - m[2]
    return m


def _pos(masks: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    p = torch.randn(136, *masks.shape[1:], generator=g)
    return p / p.norm(dim=0, keepdim=True) * masks.sum(0, keepdim=True)


class TinyTuples(Dataset):
    def __init__(self, n: int = 4, size: int = 64, seed: int = 0):
        self.n, self.size, self.seed = n, size, seed

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        g = torch.Generator().manual_seed(self.seed * 1000 + i)
        S = self.size
        FEAT = LR = S // 4
        item: dict[str, torch.Tensor] = {}
        faces = {}
        for name, shift in (("x", i % 2), ("y", (i + 1) % 2)):
            low = torch.rand(3, LR, LR, generator=g) * 2 - 1
            image = F.interpolate(low[None], size=S, mode="bicubic", align_corners=False)[0].clamp(-1, 1)
            masks = _masks(FEAT, shift)
            item[f"{name}_image"] = image
            item[f"{name}_masks"] = masks
            item[f"{name}_pos"] = _pos(masks, g)
            item[f"{name}_masks_full"] = F.interpolate(masks[None], size=S, mode="nearest")[0]
            item[f"{name}_lr"] = low
            faces[name] = image
        # the "teacher": x with y's colours in its regions, plus high-frequency detail
        detail = 0.2 * torch.sin(torch.arange(S).float()[None, :] * 0.8 + i).expand(S, S)
        region = item["x_masks_full"].amax(0, keepdim=True)
        item["target"] = (faces["x"] * (1 - 0.5 * region) + 0.5 * region * faces["y"] + detail).clamp(-1, 1)
        yy, xx = torch.meshgrid(torch.arange(FEAT).float(), torch.arange(FEAT).float(), indexing="ij")
        centres = torch.rand(68, 2, generator=g) * FEAT
        d2 = (yy - centres[:, :1, None]) ** 2 + (xx - centres[:, 1:, None]) ** 2
        item["heatmaps"] = torch.exp(-d2 / (2 * 1.5**2))
        parsing = torch.zeros(FEAT, FEAT, dtype=torch.long)
        masks = item["x_masks"]
        parsing[masks[1] > 0] = 1
        parsing[masks[0] > 0] = 7
        parsing[masks[2] > 0] = 4
        item["parsing"] = parsing
        return item
