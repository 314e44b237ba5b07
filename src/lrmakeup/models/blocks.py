"""Small building blocks shared by the architectures (no architecture lives here)."""

from __future__ import annotations

import torch
from torch import Tensor, nn


def instance_norm(channels: int, affine: bool, norm: str = "instance") -> nn.Module:
    # PSGAN's reference branch uses affine IN, its source branch non-affine IN (METHOD §5). norm="none" keeps
    # every layer local (a change in one region cannot shift the statistics, hence the colour, of another).
    if norm == "none":
        return nn.Identity()
    return nn.InstanceNorm2d(channels, affine=affine, track_running_stats=False)


class ConvNormAct(nn.Sequential):
    """conv (no bias) -> InstanceNorm -> ReLU; indices 0/1/2 match PSGAN's ``nn.Sequential`` layout."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int = 1, affine: bool = True,
                 norm: str = "instance"):
        super().__init__(
            nn.Conv2d(c_in, c_out, kernel, stride, padding=(kernel - 1) // 2, bias=norm == "none"),
            instance_norm(c_out, affine, norm),
            nn.ReLU(inplace=True),
        )


class UpConvNormAct(nn.Sequential):
    """4x4 stride-2 transposed conv (no bias) -> InstanceNorm -> ReLU: doubles the spatial size."""

    def __init__(self, c_in: int, c_out: int, affine: bool = False):
        super().__init__(
            nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=False),
            instance_norm(c_out, affine),
            nn.ReLU(inplace=True),
        )


class ResBlock(nn.Module):
    """conv3x3 -> IN -> ReLU -> conv3x3 -> IN, plus the skip (PSGAN's ``ResidualBlock``).

    When ``c_in != c_out`` the skip is a 1x1 projection (used by the prior network, which grows 64 -> 128).
    """

    def __init__(self, c_in: int, c_out: int | None = None, affine: bool = True, norm: str = "instance"):
        super().__init__()
        c_out = c_out or c_in
        bias = norm == "none"
        self.main = nn.Sequential(
            nn.Conv2d(c_in, c_out, 3, 1, 1, bias=bias),
            instance_norm(c_out, affine, norm),
            nn.ReLU(inplace=True),
            nn.Conv2d(c_out, c_out, 3, 1, 1, bias=bias),
            instance_norm(c_out, affine, norm),
        )
        if norm == "none":  # without normalisation a residual block starts close to the identity (EDSR-style)
            with torch.no_grad():
                self.main[3].weight.mul_(0.1)
        self.skip = nn.Identity() if c_in == c_out else nn.Conv2d(c_in, c_out, 1, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        return self.skip(x) + self.main(x)


def res_blocks(channels: int, n: int, affine: bool = True, norm: str = "instance") -> nn.Sequential:
    return nn.Sequential(*(ResBlock(channels, affine=affine, norm=norm) for _ in range(n)))


def icnr_(weight: Tensor, factor: int = 2) -> None:
    """ICNR initialisation (Aitken et al. 2017) of a conv feeding PixelShuffle(factor): every sub-pixel starts
    with the same kernel, so the shuffled output is a nearest up-sampling at step 0 (no checkerboard)."""
    if weight.is_meta:  # a shape-only model (checkpoint checks): nothing to draw, and torch's meta normal_ is slow
        return
    out_c = weight.shape[0] // (factor * factor)
    sub = torch.empty(out_c, *weight.shape[1:], device=weight.device)
    nn.init.kaiming_normal_(sub, nonlinearity="relu")
    with torch.no_grad():
        weight.copy_(sub.repeat_interleave(factor * factor, dim=0))


class PixelShuffleUp(nn.Sequential):
    """3x3 conv to 4x the channels (ICNR) -> PixelShuffle(2) -> ReLU: doubles the spatial size, no checkerboard."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__(nn.Conv2d(c_in, 4 * c_out, 3, 1, 1), nn.PixelShuffle(2), nn.ReLU(inplace=True))
        icnr_(self[0].weight)
        nn.init.zeros_(self[0].bias)


class ResizeConvUp(nn.Sequential):
    """Nearest 2x up-sampling -> 3x3 conv -> ReLU (Odena et al. 2016): doubles the spatial size, no checkerboard."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__(nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(c_in, c_out, 3, 1, 1),
                         nn.ReLU(inplace=True))


def up_block(kind: str, c_in: int, c_out: int, affine: bool = False, norm: str = "instance") -> nn.Module:
    """One 2x up-sampling stage of the chosen kind (``model.sr.upsample``): transposed, pixelshuffle or resize."""
    if kind == "transposed":
        return UpConvNormAct(c_in, c_out, affine) if norm == "instance" else nn.Sequential(
            nn.ConvTranspose2d(c_in, c_out, 4, 2, 1), nn.ReLU(inplace=True))
    if kind == "pixelshuffle":
        return PixelShuffleUp(c_in, c_out)
    return ResizeConvUp(c_in, c_out)
