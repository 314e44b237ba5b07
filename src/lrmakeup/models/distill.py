"""Makeup distill module (PSGAN's MDNet, METHOD §1.1): reference image -> makeup matrices γ, β."""

from __future__ import annotations

from torch import Tensor, nn

from ..config import MakeupConfig
from .blocks import ConvNormAct, res_blocks


class MakeupDistill(nn.Module):
    """Encoder-bottleneck on the reference ``y`` (affine InstanceNorm, as PSGAN's ``pnet``).

    forward(y: (B, 3, 256, 256)) -> (V_y (B, 4C, 64, 64), γ (B, 1, 64, 64), β (B, 1, 64, 64)).
    ``V_y`` (after the 3rd bottleneck block) is also the reference's visual feature for the attention.
    """

    def __init__(self, cfg: MakeupConfig):
        super().__init__()
        c = cfg.channels
        self.stem = ConvNormAct(3, c, 7, affine=True)
        self.down = nn.Sequential(ConvNormAct(c, 2 * c, 4, 2, affine=True), ConvNormAct(2 * c, 4 * c, 4, 2, affine=True))
        self.blocks = res_blocks(4 * c, cfg.distill_blocks, affine=True)
        # Two 1x1 convolutions turn V_y into the spatial makeup matrices (PSGAN's simple_spade).
        self.to_gamma = nn.Conv2d(4 * c, 1, 1, bias=False)
        self.to_beta = nn.Conv2d(4 * c, 1, 1, bias=False)

    def forward(self, y: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        v_y = self.blocks(self.down(self.stem(y)))
        return v_y, self.to_gamma(v_y), self.to_beta(v_y)
