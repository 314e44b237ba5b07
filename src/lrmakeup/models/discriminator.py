"""PatchGAN discriminators D_X, D_Y (makeup) and D_S (super-resolution), METHOD §1.6 and §5."""

from __future__ import annotations

from torch import Tensor, nn
from torch.nn.utils.parametrizations import spectral_norm

from ..config import DiscriminatorConfig


class PatchDiscriminator(nn.Module):
    """PSGAN's spectral-norm PatchGAN: image (B, 3, 256, 256) -> patch scores (B, 1, 30, 30).

    4x4 stride-2 convolutions 3 -> 64 -> 128 -> 256, a 4x4 stride-1 convolution to 512, LeakyReLU(0.01),
    and a 4x4 convolution to one score per patch. Trained with the LSGAN loss (losses.adversarial).
    """

    def __init__(self, cfg: DiscriminatorConfig):
        super().__init__()
        sn = spectral_norm if cfg.spectral_norm else (lambda m: m)
        layers: list[nn.Module] = []
        c_in, c = 3, cfg.channels
        for _ in range(cfg.n_layers):
            layers += [sn(nn.Conv2d(c_in, c, 4, 2, 1)), nn.LeakyReLU(0.01, inplace=True)]
            c_in, c = c, c * 2
        layers += [sn(nn.Conv2d(c_in, c, 4, 1, 1)), nn.LeakyReLU(0.01, inplace=True)]
        layers += [sn(nn.Conv2d(c, 1, 4, 1, 1))]
        self.main = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.main(x)
