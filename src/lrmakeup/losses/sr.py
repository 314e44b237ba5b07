"""The SR module's MSE term, eq. (18) (METHOD §2):

    L_MSE = 1/2N Σ ( |x̃_HR − G_S(x̃_LR, m)|² + λ_p |p_gt − p| )

``p`` are the prior estimation module's outputs: landmark heatmaps (B, 68, 64, 64) and parsing logits
(B, 14, 64, 64). The paper writes ``|p_gt − p|`` for both; we read it as the usual loss of each head
(FSRNet's prior network): the squared error for heatmaps (regression of Gaussian maps) and the
cross-entropy for parsing (classification into the 14 MT labels, ground truth a label map), both weighted
by λ_p. The ½ of ``1/2N`` multiplies the whole sum and ``1/N`` is a mean over elements (pixels for the
image and heatmaps, pixels for the cross-entropy).
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor


def prior_loss(
    heatmaps: Tensor | None = None,
    heatmaps_gt: Tensor | None = None,
    parsing_logits: Tensor | None = None,
    parsing_gt: Tensor | None = None,
) -> Tensor:
    """The prior error ``|p_gt − p|`` of eq. (18): ``mean (heatmaps − heatmaps_gt)² + CE(parsing_logits, parsing_gt)``.

    heatmaps, heatmaps_gt: (B, 68, h, w) float; parsing_logits: (B, 14, h, w); parsing_gt: (B, h, w) or
    (B, 1, h, w) integer labels. A head whose prediction or ground truth is None is left out.
    """
    terms = []
    if heatmaps is not None and heatmaps_gt is not None:
        if heatmaps.shape != heatmaps_gt.shape:
            raise ValueError(f"heatmaps {tuple(heatmaps.shape)} vs ground truth {tuple(heatmaps_gt.shape)}")
        terms.append(F.mse_loss(heatmaps, heatmaps_gt))
    if parsing_logits is not None and parsing_gt is not None:
        if parsing_gt.dim() == 4:
            parsing_gt = parsing_gt.squeeze(1)
        if parsing_gt.shape != parsing_logits.shape[:1] + parsing_logits.shape[2:]:
            raise ValueError(f"parsing logits {tuple(parsing_logits.shape)} vs labels {tuple(parsing_gt.shape)}")
        terms.append(F.cross_entropy(parsing_logits.float(), parsing_gt.long()))
    if not terms:
        raise ValueError("prior_loss needs at least one (prediction, ground truth) pair")
    return sum(terms[1:], terms[0])


def sr_mse_loss(
    sr: Tensor,
    hr: Tensor,
    heatmaps: Tensor | None = None,
    heatmaps_gt: Tensor | None = None,
    parsing_logits: Tensor | None = None,
    parsing_gt: Tensor | None = None,
    lambda_p: float = 1.0,
) -> Tensor:
    """Eq. (18): ``½ (mean (x̃_HR − x̃_SR)² + λ_p · prior_loss)``.

    sr: (B, 3, 256, 256) G_S(x̃_LR, m); hr: (B, 3, 256, 256) the teacher's x̃_HR, both in [-1, 1].
    Prior terms as in :func:`prior_loss`; with no prior pair (or λ_p = 0) only the image term remains.
    """
    total = F.mse_loss(sr, hr)
    has_prior = (heatmaps is not None and heatmaps_gt is not None) or (
        parsing_logits is not None and parsing_gt is not None
    )
    if has_prior and lambda_p != 0:
        total = total + lambda_p * prior_loss(heatmaps, heatmaps_gt, parsing_logits, parsing_gt)
    return 0.5 * total
