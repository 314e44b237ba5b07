"""Small building blocks shared by the architectures (no architecture lives here)."""

from __future__ import annotations

from torch import Tensor, nn


def instance_norm(channels: int, affine: bool) -> nn.InstanceNorm2d:
    # PSGAN's reference branch uses affine IN, its source branch non-affine IN (METHOD §5).
    return nn.InstanceNorm2d(channels, affine=affine, track_running_stats=False)


class ConvNormAct(nn.Sequential):
    """conv (no bias) -> InstanceNorm -> ReLU; indices 0/1/2 match PSGAN's ``nn.Sequential`` layout."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int = 1, affine: bool = True):
        super().__init__(
            nn.Conv2d(c_in, c_out, kernel, stride, padding=(kernel - 1) // 2, bias=False),
            instance_norm(c_out, affine),
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

    def __init__(self, c_in: int, c_out: int | None = None, affine: bool = True):
        super().__init__()
        c_out = c_out or c_in
        self.main = nn.Sequential(
            nn.Conv2d(c_in, c_out, 3, 1, 1, bias=False),
            instance_norm(c_out, affine),
            nn.ReLU(inplace=True),
            nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False),
            instance_norm(c_out, affine),
        )
        self.skip = nn.Identity() if c_in == c_out else nn.Conv2d(c_in, c_out, 1, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        return self.skip(x) + self.main(x)


def res_blocks(channels: int, n: int, affine: bool = True) -> nn.Sequential:
    return nn.Sequential(*(ResBlock(channels, affine=affine) for _ in range(n)))
