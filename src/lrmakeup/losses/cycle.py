"""Cycle-consistency loss, eq. (14) (METHOD §2): ``G_M(G_M(x, y), x) ≈ x`` and ``G_M(G_M(y, x), y) ≈ y``."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor


def cycle_loss(reconstructed: Tensor, original: Tensor) -> Tensor:
    """Eq. (14), one direction: ``mean |reconstructed − original|`` (L1), images (B, 3, H, W) in [-1, 1].

    The trainer calls it once per direction (x → y → x and y → x → y) and adds the two.
    """
    return F.l1_loss(reconstructed, original)
