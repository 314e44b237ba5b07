"""A plain SR network for the cascade baseline (METHOD.md §4): low-resolution transfer, then generic 4x SR.

The paper's point is that G_S, guided by face priors and the makeup information ``m``, beats "transfer at
64x64, then super-resolve". To measure that fairly the generic SR network gets a comparable parameter
budget: :func:`cascade_for_budget` picks the depth of an EDSR-style residual network (no batch norm,
residual scaling, pixel-shuffle up-sampling) whose size is closest to a given count, e.g. G_S's
(prior estimation + SR module).

Shapes: ``(B, 3, s, s)`` in [-1, 1] -> ``(B, 3, 4s, 4s)`` in [-1, 1] (s = 64 for the paper's sizes). The
network predicts a residual on top of the bicubic up-sampling of its input, so an untrained one starts
close to bicubic.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..utils import count_parameters


@dataclass(frozen=True)
class CascadeConfig:
    channels: int = 64
    n_blocks: int = 16
    scale: int = 4  # a power of two: one pixel-shuffle x2 stage per factor of two
    res_scale: float = 0.1  # EDSR's residual scaling, keeps deep stacks stable

    def to_dict(self) -> dict:
        return asdict(self)


class _ResBlock(nn.Module):
    def __init__(self, c: int, res_scale: float):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(c, c, 3, 1, 1), nn.ReLU(inplace=True), nn.Conv2d(c, c, 3, 1, 1))
        self.res_scale = res_scale

    def forward(self, x: Tensor) -> Tensor:
        return x + self.res_scale * self.body(x)


class CascadeSR(nn.Module):
    """EDSR-style x``scale`` SR: head conv, ``n_blocks`` residual blocks, pixel-shuffle tail, bicubic skip."""

    def __init__(self, cfg: CascadeConfig = CascadeConfig()):
        super().__init__()
        if cfg.scale < 2 or cfg.scale & (cfg.scale - 1):
            raise ValueError(f"cascade scale must be a power of two >= 2, got {cfg.scale}")
        c = cfg.channels
        self.cfg = cfg
        self.head = nn.Conv2d(3, c, 3, 1, 1)
        self.body = nn.Sequential(*(_ResBlock(c, cfg.res_scale) for _ in range(cfg.n_blocks)), nn.Conv2d(c, c, 3, 1, 1))
        up: list[nn.Module] = []
        for _ in range(cfg.scale.bit_length() - 1):
            up += [nn.Conv2d(c, 4 * c, 3, 1, 1), nn.PixelShuffle(2), nn.ReLU(inplace=True)]
        self.up = nn.Sequential(*up)
        self.tail = nn.Conv2d(c, 3, 3, 1, 1)
        nn.init.zeros_(self.tail.weight)  # start as plain bicubic
        nn.init.zeros_(self.tail.bias)

    def forward(self, x: Tensor) -> Tensor:
        """(B, 3, s, s) in [-1, 1] -> (B, 3, scale*s, scale*s)."""
        h = self.head(x)
        h = h + self.body(h)
        base = F.interpolate(x, scale_factor=self.cfg.scale, mode="bicubic", align_corners=False)
        return base + self.tail(self.up(h))


def cascade_for_budget(budget: int, channels: int = 64, scale: int = 4, max_blocks: int = 256) -> CascadeConfig:
    """The CascadeConfig whose parameter count is closest to ``budget``.

    Width ``channels`` when even one block of it fits the budget, else the widest halving (>= 8) that does;
    then the number of residual blocks (at least 1) that lands closest to the budget.
    """
    with torch.device("meta"):
        c = channels
        while c > 8 and count_parameters(CascadeSR(CascadeConfig(c, 1, scale))) > budget:
            c //= 2
        base = count_parameters(CascadeSR(CascadeConfig(c, 0, scale)))
        per_block = count_parameters(_ResBlock(c, 0.1))
    n = max(1, min(max_blocks, round((budget - base) / per_block)))
    return CascadeConfig(channels=c, n_blocks=n, scale=scale)
