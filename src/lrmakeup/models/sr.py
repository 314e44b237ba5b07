"""Super-resolution module (METHOD §1.5): x̃_SR from x̃_LR, the prior p and the makeup information m.

The paper lists a 3x3 convolution (down-sampling), a 4x4 transposed convolution (up-sampling), 3 residual
blocks and a final convolution, but not how image content reaches the module. Our reading (docs/architecture.md):
an image encoder of 3x3 stride-2 convolutions brings x̃_LR to the 64x64 grid of ``p`` and ``m``; the three are
concatenated and fused, refined by residual blocks, up-sampled by 4x4 stride-2 transposed convolutions to
256x256, and a final convolution predicts a residual added to x̃_LR (global residual, switchable).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ..config import SRConfig
from .blocks import ConvNormAct, UpConvNormAct, res_blocks


class SuperResolution(nn.Module):
    """(x̃_LR (B, 3, 256, 256), p (B, Cp, 64, 64), m (B, Cm, 64, 64)) -> x̃_SR (B, 3, 256, 256)."""

    def __init__(self, cfg: SRConfig, prior_channels: int, makeup_channels: int):
        super().__init__()
        c = cfg.channels
        self.global_residual = cfg.global_residual
        self.encode = nn.Sequential(ConvNormAct(3, c // 2, 3, 2), ConvNormAct(c // 2, c, 3, 2))  # 256 -> 64
        self.fuse = ConvNormAct(c + prior_channels + makeup_channels, 2 * c, 3)
        self.blocks = res_blocks(2 * c, cfg.n_blocks)
        self.up = nn.Sequential(UpConvNormAct(2 * c, c, affine=True), UpConvNormAct(c, c // 2, affine=True))
        self.out = nn.Conv2d(c // 2, 3, 3, 1, 1)

    def forward(self, x_lr: Tensor, p: Tensor, m: Tensor) -> Tensor:
        h = self.fuse(torch.cat([self.encode(x_lr), p, m], dim=1))
        r = self.out(self.up(self.blocks(h)))
        return x_lr + r if self.global_residual else torch.tanh(r)
