"""Perceptual loss, eq. (11) (makeup: G_M(x, y) vs x) and eq. (12) (SR: G_S(x̃_LR, m) vs x̃_HR) (METHOD §2).

The squared error, averaged over elements, between VGG-16 ``relu5_3`` features of the two images
(:class:`lrmakeup.models.vgg.VGGFeatures`). The target's features are computed without a graph: the target is
a measurement, not something to optimise.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor


def perceptual_loss(features: Callable[[Tensor], Tensor], output: Tensor, target: Tensor) -> Tensor:
    """Eq. (11) / (12): ``mean ‖φ(output) − φ(target)‖²`` with φ = VGG-16 relu5_3 and φ(target) detached.

    features: the feature extractor φ (a ``VGGFeatures``); output, target: (B, 3, H, W) in [-1, 1].
    """
    with torch.no_grad():
        target_features = features(target)
    return F.mse_loss(features(output), target_features)
