"""LSGAN adversarial losses as PSGAN trains its PatchGANs: eq. (7)-(10) (METHOD §2, §5).

A PatchGAN maps an image to an N×N grid of scores; every score is pushed towards its target with a squared
error and the grid is averaged. Real images aim at 1, generated ones at 0 for the discriminator and at 1 for
the generator. The same two functions serve the makeup discriminators D_X, D_Y (eq. 7, 8) and the SR
discriminator D_S (eq. 9, 10).
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor


def lsgan_discriminator_loss(real_scores: Tensor, fake_scores: Tensor) -> Tensor:
    """Eq. (7) / (9): ``½ (mean (D(real) − 1)² + mean D(fake)²)``.

    real_scores, fake_scores: (B, 1, N, N) PatchGAN outputs. The caller computes ``fake_scores`` on detached
    generator outputs. The ½ is PSGAN's ``d_loss = (d_loss_real + d_loss_fake) * 0.5``.
    """
    real = F.mse_loss(real_scores, real_scores.new_ones(()).expand_as(real_scores))
    fake = F.mse_loss(fake_scores, fake_scores.new_zeros(()).expand_as(fake_scores))
    return 0.5 * (real + fake)


def lsgan_generator_loss(fake_scores: Tensor) -> Tensor:
    """Eq. (8) / (10): ``mean (D(G(·)) − 1)²``, the generator wants its results scored as real."""
    return F.mse_loss(fake_scores, fake_scores.new_ones(()).expand_as(fake_scores))
