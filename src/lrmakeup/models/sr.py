"""Super-resolution module (METHOD §1.5): x̃_SR from x̃_LR, the prior p and the makeup information m.

The paper lists a 3x3 convolution (down-sampling), a 4x4 transposed convolution (up-sampling), 3 residual
blocks and a final convolution, but not how image content reaches the module. Our reading (docs/architecture.md):
an image encoder of 3x3 stride-2 convolutions brings x̃_LR to the 64x64 grid of ``p`` and ``m``; the three are
concatenated and fused, refined by residual blocks, up-sampled by 4x4 stride-2 transposed convolutions to
256x256, and a final convolution predicts a residual added to x̃_LR (global residual, switchable).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..config import ModelConfig, SRConfig
from ..errors import ConfigError
from .blocks import ConvNormAct, ResBlock, UpConvNormAct, res_blocks, up_block


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


class ResidualSR(nn.Module):
    """model.sr.kind="residual": x̃_SR = bicubic(x̃_LR) + a residual predicted from [enc(x̃_LR), p, m].

    No normalisation (EDSR-style residual blocks with a long skip); the up-sampling stages are
    ``model.sr.upsample`` (pixel shuffle with ICNR initialisation or resize + convolution avoid the
    checkerboard of transposed convolutions); the last layer is zero-initialised, so the untrained module
    returns the bicubic up-sampling of x̃_LR and training only has to learn the detail.

    (x̃_LR (B, 3, S, S), p (B, Cp, F, F), m (B, Cm, F, F)) -> x̃_SR (B, 3, image_size, image_size); S is the
    makeup grid (64 with model.makeup.resolution="input", else 256), F the feature grid (64).
    """

    def __init__(self, cfg: SRConfig, model: ModelConfig, prior_channels: int, makeup_channels: int):
        super().__init__()
        c, f = cfg.channels, model.feature_size
        reduce = int(math.log2(model.makeup_size // f))  # stride-2 stages from x̃_LR to the feature grid
        enc: list[nn.Module] = [nn.Conv2d(3, c, 3, 1, 1), nn.ReLU(inplace=True)]
        for _ in range(reduce):
            enc += [nn.Conv2d(c, c, 3, 2, 1), nn.ReLU(inplace=True)]
        self.encode = nn.Sequential(*enc)
        self.fuse = nn.Conv2d(c + prior_channels + makeup_channels, c, 3, 1, 1)
        self.blocks = nn.Sequential(*(ResBlock(c, norm="none") for _ in range(cfg.n_blocks)),
                                    nn.Conv2d(c, c, 3, 1, 1))
        stages = int(math.log2(model.image_size // f))  # 2x stages from the feature grid to image_size
        self.up = nn.Sequential(*(up_block(cfg.upsample, c, c, norm="none") for _ in range(stages - 1)))
        self.out = _to_rgb(cfg.upsample, c) if stages > 0 else nn.Conv2d(c, 3, 3, 1, 1)
        last = [m for m in self.out.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))][-1]
        nn.init.zeros_(last.weight)
        nn.init.zeros_(last.bias)

    def forward(self, x_lr: Tensor, p: Tensor, m: Tensor) -> Tensor:
        h = self.fuse(torch.cat([self.encode(x_lr), p, m], dim=1))
        h = h + self.blocks(h)
        r = self.out(self.up(h))  # image_size for whole faces; crops (the detail term) keep the scale factor
        base = x_lr
        if x_lr.shape[-2:] != r.shape[-2:]:
            base = F.interpolate(x_lr, size=r.shape[-2:], mode="bicubic", align_corners=False)
        return base + r


def _to_rgb(kind: str, c: int) -> nn.Module:
    """The last 2x stage, straight to the RGB residual."""
    if kind == "pixelshuffle":
        return nn.Sequential(nn.Conv2d(c, 3 * 4, 3, 1, 1), nn.PixelShuffle(2))
    if kind == "resize":
        return nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(c, 3, 3, 1, 1))
    return nn.ConvTranspose2d(c, 3, 4, 2, 1)


def build_super_resolution(model: ModelConfig, prior_channels: int, makeup_channels: int) -> nn.Module:
    """The SR module ``model.sr.kind`` names (a plain factory; the checkpoint's config records the choice)."""
    if model.sr.kind == "residual":
        return ResidualSR(model.sr, model, prior_channels, makeup_channels)
    if model.makeup.resolution != "upsampled":
        raise ConfigError("model.sr.kind=paper needs model.makeup.resolution=upsampled (its encoder reads 256 images)")
    return SuperResolution(model.sr, prior_channels, makeup_channels)
