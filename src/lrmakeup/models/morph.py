"""Attentive makeup morphing (AMM, METHOD §1.2): warp the reference's γ, β onto the source's geometry.

Eq. (2) builds each pixel's attention feature ``[ω v, p/|p|]`` (visual feature scaled by ω, relative
position feature already normalised by the face analysis). Eq. (3) is the attention
``A[i, j] = softmax_j(T · f_i · f_j)`` restricted to reference pixels ``j`` in the same region as source pixel
``i``; eq. (4)-(5) warp the matrices, ``γ'_i = Σ_j A[i, j] γ_j`` and ``β'_i = Σ_j A[i, j] β_j``.
A source pixel in no region gets ``γ' = β' = 0``.

PSGAN builds a dense HW x HW matrix per region (3 x 4096 x 4096 floats). Here each region gathers only its
own source and reference pixels and attends among them, so the cost follows the regions' sizes
(Σ_r N_src(r) · N_ref(r)), and source rows are processed in chunks to bound peak memory. That gather
(``nonzero()``) has a data-dependent size, which torch.export cannot hold; ``morph(..., static=True)``
computes the same function with static shapes (``masked_morph``: one masked dense matrix per region). The
shipped ONNX export traces the gathering mode instead (serving/onnx.py: 7x faster at run time).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def attention_features(visual: Tensor, pos: Tensor, visual_weight: float) -> Tensor:
    """Eq. (2): per-pixel attention features. visual (B, C, H, W), pos (B, 136, H, W) -> (B, C+136, H*W)."""
    return torch.cat([visual_weight * visual, pos], dim=1).flatten(2)


def region_attention(q: Tensor, k: Tensor, temperature: float) -> Tensor:
    """Eq. (3) for one region: q (Ns, D) source features, k (Nr, D) reference features -> A (Ns, Nr).

    Every row sums to 1 over the region's reference pixels.
    """
    return F.softmax(temperature * (q @ k.transpose(0, 1)), dim=-1)


def morph(
    src_feat: Tensor,
    ref_feat: Tensor,
    src_masks: Tensor,
    ref_masks: Tensor,
    values: Tensor,
    temperature: float,
    region_scale: Tensor | None = None,
    detach_attention: bool = True,
    chunk: int = 4096,
    static: bool = False,
) -> Tensor:
    """Eq. (3)-(5): region-restricted attention warping of ``values`` from reference to source.

    src_feat, ref_feat: (B, D, HW) attention features (``attention_features``)
    src_masks, ref_masks: (B, R, H, W) binary, disjoint region masks (lips, skin, eye shadow)
    values: (B, V, H, W) the reference's maps to warp (V = 2: γ and β)
    region_scale: optional (B, R) per-region factors applied to the warped values (makeup intensity)
    detach_attention: no gradient through A (PSGAN); gradients still reach ``values``
    static: static shapes (``masked_morph``, exportable) instead of gathering each region's pixels
    returns (B, V, H, W); zero at source pixels that belong to no region.
    """
    if static:
        return masked_morph(src_feat, ref_feat, src_masks, ref_masks, values, temperature, region_scale,
                            detach_attention)
    b, v, h, w = values.shape
    hw = h * w
    vals = values.flatten(2).transpose(1, 2)  # (B, HW, V)
    src_m = src_masks.flatten(2) > 0.5
    ref_m = ref_masks.flatten(2) > 0.5
    rows, outs = [], []
    for bi in range(b):
        for r in range(src_masks.shape[1]):
            si = src_m[bi, r].nonzero().squeeze(1)
            rj = ref_m[bi, r].nonzero().squeeze(1)
            if si.numel() == 0 or rj.numel() == 0:
                continue  # no counterpart in the reference: those source pixels keep γ' = β' = 0
            k = ref_feat[bi][:, rj].transpose(0, 1)  # (Nr, D)
            vr = vals[bi, rj]  # (Nr, V)
            scale = 1.0 if region_scale is None else region_scale[bi, r]
            for start in range(0, si.numel(), chunk):
                idx = si[start : start + chunk]
                q = src_feat[bi][:, idx].transpose(0, 1)  # (n, D)
                with torch.set_grad_enabled(torch.is_grad_enabled() and not detach_attention):
                    a = region_attention(q.float(), k.float(), temperature)
                outs.append((a.to(vr.dtype) @ vr) * scale)
                rows.append(idx + bi * hw)
    out = values.new_zeros(b * hw, v)
    if outs:
        out = out.index_copy(0, torch.cat(rows), torch.cat(outs).to(out.dtype))
    return out.view(b, h, w, v).permute(0, 3, 1, 2)


def masked_morph(src_feat: Tensor, ref_feat: Tensor, src_masks: Tensor, ref_masks: Tensor, values: Tensor,
                 temperature: float, region_scale: Tensor | None = None, detach_attention: bool = True) -> Tensor:
    """Eq. (3)-(5) with static shapes: ``morph`` without the data-dependent gather (for export).

    Same arguments as ``morph``; the batch axes broadcast (one source against K references gives K rows).
    Per region r, the logits of every (source, reference) pair are computed and those of pairs not both in r
    are set to -inf, so the softmax runs over r's reference pixels only; rows without any partner (source
    pixel outside r, or r empty in the reference) give NaN and are zeroed by the ``where``, as ``morph``
    skips them. One HW x HW matrix per region at a time bounds memory to ~HW² floats.
    """
    v, h, w = values.shape[1:]
    with torch.set_grad_enabled(torch.is_grad_enabled() and not detach_attention):
        logits = temperature * (src_feat.float().transpose(1, 2) @ ref_feat.float())  # (B, HW, HW)
    vals = values.flatten(2).transpose(1, 2).float()  # (B, HW, V)
    src_m = src_masks.flatten(2) > 0.5  # (B, R, HW)
    ref_m = ref_masks.flatten(2) > 0.5
    out = None
    for r in range(src_masks.shape[1]):
        same = src_m[:, r, :, None] & ref_m[:, r, None, :]  # (B, HW, HW) pairs inside region r
        with torch.set_grad_enabled(torch.is_grad_enabled() and not detach_attention):
            a = torch.softmax(logits.masked_fill(~same, float("-inf")), dim=-1)
            a = torch.where(same, a, torch.zeros_like(a))
        warped = a @ vals  # (B, HW, V)
        if region_scale is not None:
            warped = warped * region_scale[:, r, None, None].float()
        out = warped if out is None else out + warped
    return out.transpose(1, 2).reshape(-1, v, h, w).to(values.dtype)


def dense_morph_reference(
    src_feat: Tensor, ref_feat: Tensor, src_masks: Tensor, ref_masks: Tensor, values: Tensor, temperature: float
) -> tuple[Tensor, Tensor]:
    """The naive formulation, as PSGAN's reference code: one dense HW x HW fp32 matrix per region, all at once.

    For tests and the benchmark only. Returns (warped values (B, V, H, W), A (B, HW, HW) summed over regions).
    """
    b, v, h, w = values.shape
    src_m = src_masks.flatten(2).float()  # (B, R, HW)
    ref_m = ref_masks.flatten(2).float()
    logits = temperature * torch.einsum("bdi,bdj->bij", src_feat.float(), ref_feat.float())  # (B, HW, HW)
    same = src_m.unsqueeze(-1) * ref_m.unsqueeze(-2)  # (B, R, HW, HW) pixel pairs in the same region
    masked = logits.unsqueeze(1).masked_fill(same == 0, float("-inf"))
    a = torch.nan_to_num(torch.softmax(masked, dim=-1), nan=0.0).sum(1)  # rows without partner -> 0
    warped = torch.einsum("bij,bvj->bvi", a, values.flatten(2).float())
    return warped.view(b, v, h, w).to(values.dtype), a
