"""Prior estimation module (METHOD §1.4): facial landmark heatmaps and parsing maps from x̃_LR.

Follows FSRNet's prior network: a 7x7 stride-2 stem, residual blocks growing to 128 channels, one
4th-order hourglass at 64x64, and two 1x1 heads that share every other weight. The features before the heads
are the prior ``p`` that conditions super-resolution.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from ..config import PriorConfig
from .blocks import ConvNormAct, ResBlock, res_blocks


class Hourglass(nn.Module):
    """Recursive hourglass of order ``order`` that keeps the spatial size (METHOD §1.4).

    Before each down-sampling a branch keeps the current scale (one residual block); 3 residual blocks sit
    between down-samplings, 1 between up-samplings; the up-sampled map is added to the kept branch.
    """

    def __init__(self, order: int, channels: int):
        super().__init__()
        self.keep = ResBlock(channels)
        self.down = nn.Sequential(nn.MaxPool2d(2), res_blocks(channels, 3))
        self.inner = Hourglass(order - 1, channels) if order > 1 else ResBlock(channels)
        self.up = ResBlock(channels)

    def forward(self, x: Tensor) -> Tensor:
        low = self.up(self.inner(self.down(x)))
        return self.keep(x) + F.interpolate(low, scale_factor=2, mode="nearest")


class PriorEstimation(nn.Module):
    """x̃_LR (B, 3, S, S) -> (p (B, 128, 64, 64), heatmaps (B, 68, 64, 64), parsing logits (B, 14, 64, 64)).

    S = 256 (FSRNet's layout: a 7x7 stride-2 stem and a max-pool bring it to 64) or S = 64 when x̃_LR is made on
    the input grid (model.makeup.resolution="input": a 3x3 stride-1 stem, nothing to reduce).
    """

    def __init__(self, cfg: PriorConfig, reduce: bool = True):
        super().__init__()
        c = cfg.channels
        if reduce:
            stem = [ConvNormAct(3, c // 2, 7, 2), ResBlock(c // 2, c), nn.MaxPool2d(2)]  # 256 -> 128 -> 64
        else:
            stem = [ConvNormAct(3, c // 2, 3), ResBlock(c // 2, c)]
        self.stem = nn.Sequential(*stem, res_blocks(c, cfg.stem_blocks))
        self.hourglass = Hourglass(cfg.hourglass_order, c)
        self.features = ConvNormAct(c, c, 1)
        self.heatmap_head = nn.Conv2d(c, cfg.n_landmarks, 1)
        self.parsing_head = nn.Conv2d(c, cfg.n_parsing, 1)

    def forward(self, x_lr: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        p = self.features(self.hourglass(self.stem(x_lr)))
        return p, self.heatmap_head(p), self.parsing_head(p)
