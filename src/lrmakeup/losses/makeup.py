"""Makeup (histogram) loss, eq. (15) (METHOD §2), computed as PSGAN computes it (METHOD §5).

For each face region (lips, face skin, eye shadow) the colours of the generated image's region are
histogram-matched, channel by channel, to the colours of the reference's region; the matched image is a
fixed target (no gradient) and the loss is the L1 distance between the masked output and it, in [0, 255]
units, averaged over all B·3·H·W elements (PSGAN's ``L1Loss`` on the masked full image), then weighted per
region (``LossConfig.hist_lips / hist_skin / hist_eyes``: 1, 0.1, 1 as PSGAN trains).

Everything runs on the tensors' device, batched, without Python loops over pixels or levels. Histograms and
CDFs are exact integer counts (a sort and a ``searchsorted``), so no float rounding decides a lookup.

Deliberate differences from PSGAN's ``histogram_matching.py`` (a NumPy loop, batch 1):
- levels are ``round((x + 1) / 2 · 255)``; PSGAN truncates, which turns a uint8 image's level v into v − 1
  whenever float error lands just below v;
- the lookup table is exactly "first reference level whose CDF reaches the source CDF" for every level;
  PSGAN pins levels 0 and 255 to themselves and keeps a level unchanged when the reference CDF at 0 already
  exceeds it (side effects of its loop bounds);
- an empty source or reference region leaves the image unchanged (zero loss) instead of failing.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from ..config import LossConfig
from ..models.inputs import REGIONS

LEVELS = 256


def to_255(image: Tensor) -> Tensor:
    """[-1, 1] -> [0, 255] (clamped, as PSGAN's ``de_norm(x) * 255``); differentiable inside the range."""
    return (image.clamp(-1.0, 1.0) + 1.0) * 127.5


def _region_mask(mask: Tensor, size: tuple[int, int]) -> Tensor:
    """One region's mask, (B, 1, h, w) or (B, h, w), any resolution -> bool (B, 1, H, W) (nearest resize)."""
    if mask.dim() == 3:
        mask = mask[:, None]
    if mask.dim() != 4 or mask.shape[1] != 1:
        raise ValueError(f"a region mask must be (B, 1, H, W) or (B, H, W), got {tuple(mask.shape)}")
    if tuple(mask.shape[-2:]) != tuple(size):
        mask = F.interpolate(mask.float(), size=size, mode="nearest")
    return mask > 0.5


def _cumulative_counts(levels: Tensor, inside: Tensor) -> Tensor:
    """Per channel, how many region pixels have a level ≤ k, k = 0..255.

    levels: (B, C, N) long in [0, 255]; inside: (B, 1, N) bool -> (B, C, 256) long (the un-normalised CDF).
    """
    keyed = levels.masked_fill(~inside, LEVELS)  # pixels outside the region sort after every level
    ordered = keyed.sort(dim=-1).values
    bins = torch.arange(LEVELS, device=levels.device).expand(*levels.shape[:2], LEVELS).contiguous()
    return torch.searchsorted(ordered, bins, right=True)


@torch.no_grad()
def histogram_match(source: Tensor, reference: Tensor, source_mask: Tensor, reference_mask: Tensor) -> Tensor:
    """Match the colours of ``source``'s region to ``reference``'s region, per channel (the target of eq. 15).

    source: (B, 3, H, W), reference: (B, 3, H', W'), both in [-1, 1].
    source_mask, reference_mask: one region each, (B, 1, h, w) or (B, h, w), resized (nearest) to their
    image when their size differs; values > 0.5 are inside.
    Returns (B, 3, H, W) in [-1, 1], detached: inside the source region every pixel takes the first reference
    level whose CDF reaches the CDF of its own level; outside the region it is ``source`` unchanged. A sample
    whose source or reference region is empty is returned unchanged.
    """
    b, c, h, w = source.shape
    inside_src = _region_mask(source_mask, (h, w))
    inside_ref = _region_mask(reference_mask, tuple(reference.shape[-2:]))
    src_levels = to_255(source.float()).round().long().flatten(2)  # (B, C, H·W)
    ref_levels = to_255(reference.float()).round().long().flatten(2)
    src_cum = _cumulative_counts(src_levels, inside_src.flatten(2))  # (B, C, 256)
    ref_cum = _cumulative_counts(ref_levels, inside_ref.flatten(2))
    n_src, n_ref = src_cum[..., -1:], ref_cum[..., -1:]  # region sizes, (B, C, 1)
    # CDF_ref(j) >= CDF_src(i)  <=>  ref_cum[j] · n_src >= src_cum[i] · n_ref, exact in integers.
    table = torch.searchsorted(ref_cum * n_src, src_cum * n_ref, right=False).clamp_(max=LEVELS - 1)
    identity = torch.arange(LEVELS, device=source.device).expand_as(table)
    table = torch.where((n_src > 0) & (n_ref > 0), table, identity)
    matched = table.gather(-1, src_levels).view(b, c, h, w).float() / 127.5 - 1.0
    return torch.where(inside_src, matched, source.float()).to(source.dtype)


def region_histogram_loss(
    output: Tensor, reference: Tensor, source_mask: Tensor, reference_mask: Tensor, match_from: Tensor | None = None
) -> Tensor:
    """Eq. (15) for one region: ``mean |M ⊙ out − M ⊙ HM(out, ref)|`` in [0, 255] units (PSGAN's criterionHis).

    output: (B, 3, H, W) generated image G_M(x, y) in [-1, 1]; reference: the makeup reference y.
    source_mask: the region in ``output`` (the source's geometry); reference_mask: the region in ``reference``.
    match_from: the image whose region is histogram-matched; None = ``output`` itself (PSGAN). Passing the
    source x instead gives BeautyGAN's reading HM(x, y).
    """
    inside = _region_mask(source_mask, tuple(output.shape[-2:])).float()
    base = output if match_from is None else match_from
    matched = histogram_match(base.detach().float(), reference, inside, reference_mask)  # float32: exact levels
    return F.l1_loss(to_255(output.float()) * inside, to_255(matched) * inside)


def makeup_loss(
    output: Tensor,
    reference: Tensor,
    source_masks: Tensor,
    reference_masks: Tensor,
    cfg: LossConfig | None = None,
    match_from: Tensor | None = None,
) -> Tensor:
    """Eq. (15): ``Σ_r w_r · region_histogram_loss`` over r = lips, skin, eye shadow (REGIONS order).

    output: (B, 3, H, W) G_M(x, y) in [-1, 1]; reference: (B, 3, H', W') y in [-1, 1].
    source_masks: (B, 3, h, w) region masks of x (lips, skin, eyes); reference_masks: (B, 3, h', w') of y.
    Masks at another resolution than their image are resized (nearest); full-resolution masks are sharper.
    cfg: region weights ``hist_lips, hist_skin, hist_eyes`` (defaults: PSGAN's 1, 0.1, 1).
    """
    cfg = cfg or LossConfig()
    weights = (cfg.hist_lips, cfg.hist_skin, cfg.hist_eyes)
    if source_masks.shape[1] != len(REGIONS) or reference_masks.shape[1] != len(REGIONS):
        raise ValueError(f"region masks must have {len(REGIONS)} channels {REGIONS}, got "
                         f"{tuple(source_masks.shape)} and {tuple(reference_masks.shape)}")
    total = torch.zeros((), device=output.device)  # float32, whatever the output dtype
    for r, weight in enumerate(weights):
        if weight == 0:
            continue
        total = total + weight * region_histogram_loss(
            output, reference, source_masks[:, r : r + 1], reference_masks[:, r : r + 1], match_from
        )
    return total
