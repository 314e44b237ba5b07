"""Makeup apply module (PSGAN's MANet, METHOD §1.3): source image modulated by the warped makeup matrices."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..config import MakeupConfig
from .blocks import ConvNormAct, UpConvNormAct, res_blocks
from .distill import encoder


def modulate(v_x: Tensor, gamma: Tensor, beta: Tensor) -> Tensor:
    """Eq. (6): V'_x = Γ' ⊙ V_x + B' with Γ' = 1 + γ' broadcast over the C channels (PSGAN's form).

    v_x (B, C, H, W); gamma, beta (B, 1, H, W). With γ' = β' = 0 the feature passes unchanged, so a source
    pixel outside every makeup region keeps its own appearance.
    """
    return v_x * (1.0 + gamma) + beta


class MakeupApply(nn.Module):
    """Encoder-bottleneck-decoder on the source ``x`` (non-affine InstanceNorm, as PSGAN's ``tnet``).

    ``encode`` runs the stem, the down-sampling and the bottleneck blocks before the modulation
    (V_x, (B, 4C, 64, 64), also the source's visual feature for the attention); ``decode`` runs the
    modulation block (its output is the makeup information ``m`` fed to super-resolution), the remaining
    blocks, the up-sampling and the output layer, giving x̃_LR (B, 3, S, S).

    output="tanh" (PSGAN): x̃_LR = tanh(out(...)) in [-1, 1]. output="residual": x̃_LR = x + out(...) with the
    output layer zero-initialised, so the untrained module returns its source unchanged and training only has
    to learn the makeup. resolution="input" keeps the 64x64 grid throughout (no up-sampling in the decoder).

    reference_colour: ``decode`` also takes the colour shift d = s·c' - s·x (B, 3, 64, 64) of the warped
    reference colours (``LRMakeupGenerator.warped_values``), zero outside the regions and at region scale 0.
    It enters twice, both zero-initialised and without bias (the untrained switch changes nothing, and d = 0
    changes nothing): into the modulated feature (``colour_in``, 1x1 conv, so the decoder can shape it per
    region) and straight onto the output (``colour_out``, 3x3 conv: the region-wise colour move of the classic
    teacher is one linear map of d, so this path learns it in few steps).
    """

    def __init__(self, cfg: MakeupConfig):
        super().__init__()
        c, norm = cfg.channels, cfg.norm
        self.residual = cfg.output == "residual"
        self.stem, self.down = encoder(cfg, affine=False)
        self.blocks_before = res_blocks(4 * c, cfg.modulate_at, affine=False, norm=norm)
        self.blocks_after = res_blocks(4 * c, cfg.apply_blocks - cfg.modulate_at, affine=False, norm=norm)
        if cfg.resolution == "upsampled":
            self.up = nn.Sequential(UpConvNormAct(4 * c, 2 * c), UpConvNormAct(2 * c, c))
            self.out = nn.Conv2d(c, 3, 7, 1, 3, bias=self.residual)
        else:
            self.up = ConvNormAct(4 * c, c, 3, affine=False, norm=norm)
            self.out = nn.Conv2d(c, 3, 3, 1, 1, bias=self.residual)
        if self.residual:
            nn.init.zeros_(self.out.weight)
            nn.init.zeros_(self.out.bias)
        if cfg.reference_colour:
            self.colour_in = nn.Conv2d(3, 4 * c, 1, bias=False)
            self.colour_out = nn.Conv2d(3, 3, 3, 1, 1, bias=False)
            nn.init.zeros_(self.colour_in.weight)
            nn.init.zeros_(self.colour_out.weight)
        else:
            self.colour_in = self.colour_out = None

    def encode(self, x: Tensor) -> Tensor:
        return self.blocks_before(self.down(self.stem(x)))

    def decode(self, v_mod: Tensor, x: Tensor, colour_shift: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """v_mod (B, 4C, 64, 64) the modulated feature, x (B, 3, S, S) the source, colour_shift the optional
        (B, 3, 64, 64) d of ``reference_colour`` (None: no makeup colour, as d = 0) -> (x̃_LR (B, 3, S, S),
        the modulation block's output (B, 4C, 64, 64))."""
        use_colour = self.colour_in is not None and colour_shift is not None
        if use_colour:
            v_mod = v_mod + self.colour_in(colour_shift)
        m = self.blocks_after[0](v_mod)
        h = m
        for block in self.blocks_after[1:]:
            h = block(h)
        r = self.out(self.up(h))
        if use_colour:
            move = self.colour_out(colour_shift)
            if move.shape[-1] != r.shape[-1]:
                move = F.interpolate(move, size=r.shape[-2:], mode="bilinear", align_corners=False)
            r = r + move
        return (x + r if self.residual else torch.tanh(r)), m
