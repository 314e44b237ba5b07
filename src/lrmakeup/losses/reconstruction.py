"""Region-weighted reconstruction loss of the compact recipe (not in the paper; docs/architecture.md).

The paper supervises x̃_SR with an image-wide MSE (eq. 18), where the lips (~1 % of the pixels) and the eye
shadow barely count, and leaves x̃_LR to the adversarial, cycle and histogram terms. The compact recipe has a
target for both stages, so it supervises each directly:

    L_rec(ŷ, y, M) = mean |ŷ − y|  +  w · Σ_r  Σ_px M_r |ŷ − y| / Σ_px M_r

an L1 over the whole image plus, for each region r (lips, skin, eye shadow), the L1 averaged inside that
region, so that each region weighs as much as the whole image.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor


def region_l1_loss(pred: Tensor, target: Tensor, masks: Tensor | None = None, region_weight: float = 1.0) -> Tensor:
    """pred, target (B, 3, H, W); masks (B, R, h, w) in [0, 1] (resized to H, W if needed) -> scalar."""
    err = (pred.float() - target.float()).abs()
    total = err.mean()
    if masks is None or region_weight == 0:
        return total
    if masks.shape[-2:] != err.shape[-2:]:
        masks = F.interpolate(masks.float(), size=err.shape[-2:], mode="area")
    per_px = err.mean(1, keepdim=True)  # (B, 1, H, W)
    area = masks.sum((0, 2, 3))  # (R,) over the batch: a region absent from one sample still counts in others
    inside = (masks * per_px).sum((0, 2, 3))
    present = area > 0
    if present.any():
        total = total + region_weight * (inside[present] / area[present]).sum()
    return total


def reduce_to(image: Tensor, size: int) -> Tensor:
    """(B, 3, S, S) -> (B, 3, size, size), antialiased bicubic (how the 64x64 inputs are made from photos)."""
    if image.shape[-1] == size:
        return image
    return F.interpolate(image.float(), size=(size, size), mode="bicubic", antialias=True, align_corners=False)


__all__ = ["region_l1_loss", "reduce_to"]
