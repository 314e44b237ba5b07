"""Makeup distill module (PSGAN's MDNet, METHOD §1.1): reference image -> makeup matrices γ, β."""

from __future__ import annotations

from torch import Tensor, nn

from ..config import MakeupConfig
from .blocks import ConvNormAct, res_blocks


def encoder(cfg: MakeupConfig, affine: bool) -> tuple[nn.Module, nn.Module]:
    """Stem and "down-sampling" of both makeup branches: C -> 2C -> 4C channels.

    resolution="upsampled" (PSGAN): 7x7 stem, two 4x4 stride-2 convolutions, 256 -> 64 pixels.
    resolution="input" (compact): the 64x64 input is already on the feature grid, so 3x3 stride-1 convolutions
    take their place (same channel growth, same 64x64 attention grid, 16x fewer pixels in the stem).
    """
    c, norm = cfg.channels, cfg.norm
    if cfg.resolution == "upsampled":
        stem = ConvNormAct(3, c, 7, affine=affine, norm=norm)
        down = nn.Sequential(ConvNormAct(c, 2 * c, 4, 2, affine=affine, norm=norm),
                             ConvNormAct(2 * c, 4 * c, 4, 2, affine=affine, norm=norm))
    else:
        stem = ConvNormAct(3, c, 3, affine=affine, norm=norm)
        down = nn.Sequential(ConvNormAct(c, 2 * c, 3, affine=affine, norm=norm),
                             ConvNormAct(2 * c, 4 * c, 3, affine=affine, norm=norm))
    return stem, down


class MakeupDistill(nn.Module):
    """Encoder-bottleneck on the reference ``y`` (affine InstanceNorm, as PSGAN's ``pnet``).

    forward(y: (B, 3, S, S)) -> (V_y (B, 4C, 64, 64), γ (B, 1, 64, 64), β (B, 1, 64, 64)), S = 256 (PSGAN) or
    64 (resolution="input"). ``V_y`` (after the 3rd bottleneck block) is also the reference's visual feature
    for the attention.
    """

    def __init__(self, cfg: MakeupConfig):
        super().__init__()
        c = cfg.channels
        self.stem, self.down = encoder(cfg, affine=True)
        self.blocks = res_blocks(4 * c, cfg.distill_blocks, affine=True, norm=cfg.norm)
        # Two 1x1 convolutions turn V_y into the spatial makeup matrices (PSGAN's simple_spade).
        self.to_gamma = nn.Conv2d(4 * c, 1, 1, bias=False)
        self.to_beta = nn.Conv2d(4 * c, 1, 1, bias=False)

    def forward(self, y: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        v_y = self.blocks(self.down(self.stem(y)))
        return v_y, self.to_gamma(v_y), self.to_beta(v_y)
