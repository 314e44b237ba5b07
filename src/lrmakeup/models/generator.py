"""The composed generator: G_M (distill + morph + apply) followed by G_S (prior estimation + SR), METHOD §1."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..config import ModelConfig
from ..errors import ConfigError
from .apply import MakeupApply, modulate
from .distill import MakeupDistill
from .inputs import FaceBatch
from .morph import attention_features, morph
from .prior import PriorEstimation
from .sr import build_super_resolution


@dataclass
class Reference:
    """One makeup reference and how much of it to use per region.

    region_scale: (B, 3) factors for (lips, skin, eyes) in [0, 1]; None means 1 everywhere. Several references
    whose scales add up per region give partial transfer (one-hot scales) or interpolation (t, 1 - t).
    """

    face: FaceBatch
    region_scale: Tensor | None = None


@dataclass
class MakeupOutput:
    """What G_M produces. Shapes for the paper config."""

    image: Tensor  # x̃_LR (B, 3, S, S): the transfer, with only 64x64 worth of detail (S = model.makeup_size)
    m: Tensor  # (B, 256, 64, 64) makeup information for SR (un-modulated when makeup_prior is off)
    gamma: Tensor  # γ' (B, 1, 64, 64) warped makeup matrix
    beta: Tensor  # β' (B, 1, 64, 64)


@dataclass
class SROutput:
    """What G_S produces."""

    image: Tensor  # x̃_SR (B, 3, 256, 256)
    heatmaps: Tensor  # (B, 68, 64, 64) landmark heatmaps
    parsing: Tensor  # (B, 14, 64, 64) parsing logits (MT labels)


OUTLINE_CLOSING = 4  # feature pixels: the eyes, brows and mouth (holes of the region union) are smaller


class LRMakeupGenerator(nn.Module):
    """x_LR, y_LR -> x̃_SR: the source wearing the reference's makeup at 256x256.

    The faces come as :class:`FaceBatch` whose images are ``cfg.makeup_size`` pixels: the bicubic 256
    up-sampling of the 64x64 inputs (PSGAN's layout, the paper) or the 64x64 inputs themselves
    (``model.makeup.resolution="input"``, the compact model).
    """

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        cfg.validate()
        mk = cfg.makeup
        if not 0 < mk.modulate_at < mk.apply_blocks:
            raise ConfigError("model.makeup.modulate_at must lie strictly between 0 and model.makeup.apply_blocks")
        self.cfg = cfg
        self.distill = MakeupDistill(mk)
        self.apply_net = MakeupApply(mk)
        self.prior = PriorEstimation(cfg.prior, reduce=mk.resolution == "upsampled")
        self.sr = build_super_resolution(cfg, cfg.prior.channels, 4 * mk.channels)
        if mk.soften > 0:
            self.register_buffer("soften_kernel", gaussian_kernel(mk.soften), persistent=False)
        else:
            self.soften_kernel = None

    def grown_tensors(self) -> set[str]:
        """Names of the tensors that only a switched-on variant adds and that start at zero, so a checkpoint
        without them loads into this model as the same function (``train.init`` from an earlier model)."""
        return {f"apply_net.{name}" for name, _ in self.apply_net.named_parameters() if name.startswith("colour_")}

    def warped_values(
        self, src: FaceBatch, v_x: Tensor, refs: Sequence[Reference], static: bool = False
    ) -> Tensor:
        """Eq. (1)-(5) for every reference, summed: (B, V, 64, 64) = [γ', β'] and, with ``reference_colour``,
        [s·c', s] (V = 6): c' the reference's colours (its image on the 64x64 grid) warped by the same attention,
        s the region scale the pixel received (the warp of a constant 1).

        A reference holds one face per source face or, for a single source face, K faces whose warped
        values add up (K references stacked on the batch axis: the ONNX graph's reference axis).
        static: the attention with static shapes (``morph(static=True)``, exportable), the same function.
        """
        mk = self.cfg.makeup
        src_feat = attention_features(v_x, src.pos, mk.visual_weight)
        one_source = v_x.shape[0] == 1
        total = None
        for ref in refs:
            v_y, gamma, beta = self.distill(ref.face.image)
            ref_feat = attention_features(v_y, ref.face.pos, mk.visual_weight)
            k = ref.face.batch_size
            values = [gamma, beta]
            if mk.reference_colour:
                values += [on_grid(ref.face.image, v_y.shape[-1]), torch.ones_like(gamma)]
            warped = morph(
                src_feat.expand(k, -1, -1) if one_source else src_feat,
                ref_feat,
                src.masks.expand(k, -1, -1, -1) if one_source else src.masks,
                ref.face.masks, torch.cat(values, 1),
                mk.temperature, ref.region_scale, mk.detach_attention, mk.attention_chunk, static,
            )
            warped = warped.sum(0, keepdim=True) if one_source else warped
            total = warped if total is None else total + warped
        if total is None:  # no reference at all: nothing to warp
            total = v_x.new_zeros(v_x.shape[0], 6 if mk.reference_colour else 2, *v_x.shape[2:])
        if self.soften_kernel is not None:  # feather the region borders (no box seams around the eyes)
            k = self.soften_kernel.to(total.dtype)
            v = total.shape[1]
            total = F.conv2d(F.pad(total, [k.shape[-1] // 2] * 4, mode="replicate"), k.expand(v, 1, -1, -1), groups=v)
        return total

    def warped_matrices(
        self, src: FaceBatch, v_x: Tensor, refs: Sequence[Reference], static: bool = False
    ) -> tuple[Tensor, Tensor]:
        """(γ', β') of :meth:`warped_values`, each (B, 1, 64, 64)."""
        total = self.warped_values(src, v_x, refs, static)
        return total[:, :1], total[:, 1:2]

    def makeup(self, src: FaceBatch, refs: FaceBatch | Sequence[Reference], static: bool = False) -> MakeupOutput:
        """G_M(x, y): the low-detail transfer x̃_LR and the makeup information m (static: see warped_values).

        With ``reference_colour`` the decoder also gets d = s·c' - s·x (source colours on the 64x64 grid): the
        warped reference colour's offset from the source's, zero outside the regions and at intensity 0.
        """
        if isinstance(refs, FaceBatch):
            refs = [Reference(refs)]
        v_x = self.apply_net.encode(src.image)
        total = self.warped_values(src, v_x, refs, static)
        gamma, beta = total[:, :1], total[:, 1:2]
        shift = None
        if self.cfg.makeup.reference_colour:
            shift = total[:, 2:5] - total[:, 5:6] * on_grid(src.image, v_x.shape[-1])
        image, modulated = self.apply_net.decode(modulate(v_x, gamma, beta), src.image, shift)
        m = self.makeup_information(v_x, modulated)
        if self.cfg.makeup.confine:
            image, m = self.confine(src, refs, v_x, image, m)
        return MakeupOutput(image, m, gamma, beta)

    def confine(self, src: FaceBatch, refs: Sequence[Reference], v_x: Tensor, image: Tensor, m: Tensor
                ) -> tuple[Tensor, Tensor]:
        """``model.makeup.confine``: x̃_LR = x̃⁰ + w ⊙ (x̃_LR - x̃⁰), m = m⁰ + w ⊙ (m - m⁰), where (x̃⁰, m⁰) is G_M
        without makeup (:meth:`without_makeup`, the same V_x) and w (B, 1, 64, 64) the regions the references act
        on (:meth:`region_weight`). Where w = 0 (hair, background, neck, ears; every region at
        scale 0) the makeup changes nothing, not even through the decoder's receptive field; where w = 1 (inside
        the regions) this is the identity."""
        bare, m0 = self.apply_net.decode(v_x, src.image)
        w = self.region_weight(src, refs).to(image.dtype)
        m = m0 + w * (m - m0)
        if w.shape[-1] != image.shape[-1]:
            w = F.interpolate(w, size=image.shape[-2:], mode="bilinear", align_corners=False)
        return bare + w * (image - bare), m

    def region_weight(self, src: FaceBatch, refs: Sequence[Reference]) -> Tensor:
        """w (B, 1, 64, 64) of :meth:`confine`: 1 on the source's region masks M_r of every region r a reference
        acts on (region scale s_r > 0; every region when no scale is given; a single source face takes the
        regions of its K stacked references together), 0 elsewhere, times the face's outline (the union of the
        M_r, its holes closed) pulled in by ``model.makeup.confine_margin`` feature pixels (the outline drawn
        from 64x64 landmarks is that uncertain: hair, neck and background lie just outside it; beyond the image
        counts as outside), then feathered with the same Gaussian as γ', β' (``model.makeup.soften``).

        Not s_r itself: the change it weighs already scales with s_r (γ', β', d are linear in it), so intensity
        and blends act as without the confinement."""
        masks = src.masks.float()
        total = masks.new_zeros(masks.shape[0], 1, *masks.shape[2:])
        for ref in refs:
            k = ref.face.batch_size
            scale = masks.new_ones(k, masks.shape[1]) if ref.region_scale is None else ref.region_scale.float()
            if masks.shape[0] == 1 and k > 1:
                scale = scale.sum(0, keepdim=True)
            total = total + (masks * (scale > 0).to(masks.dtype)[:, :, None, None]).sum(1, keepdim=True)
        total = total.clamp(0.0, 1.0)
        e = self.cfg.makeup.confine_margin
        if e > 0:  # the outline with its holes (eyes, brows, mouth) closed, then eroded by e more pixels
            r = OUTLINE_CLOSING
            face = F.pad(masks.amax(1, keepdim=True), [r + e] * 4)  # on a canvas with room for the closing
            face = F.max_pool2d(face, 2 * r + 1, 1, r)
            face = -F.max_pool2d(-face, 2 * (r + e) + 1, 1, r + e)  # a min-filter
            total = total * face[..., r + e:-(r + e), r + e:-(r + e)]
        if self.soften_kernel is not None:
            k = self.soften_kernel
            total = F.conv2d(F.pad(total, [k.shape[-1] // 2] * 4, mode="replicate"), k)
        return total

    def without_makeup(self, image: Tensor) -> tuple[Tensor, Tensor]:
        """G_M with every region scale 0: γ' = β' = 0, so eq. (6) leaves V_x unchanged and neither a reference,
        masks nor the attention are needed. Equal to :meth:`makeup` at scale 0, and fully convolutional, so it
        runs on crops (the detail term). image (B, 3, S, S) -> (x̃_LR (B, 3, S, S), m)."""
        v_x = self.apply_net.encode(image)
        out, modulated = self.apply_net.decode(v_x, image)
        return out, self.makeup_information(v_x, modulated)

    def makeup_information(self, v_x: Tensor, modulated: Tensor) -> Tensor:
        """m of METHOD §1.5: the 4th bottleneck block's output on the modulated feature (``modulated``), or, in
        the paper's ablation (``model.sr.makeup_prior=false``), the same block on the un-modulated V_x."""
        if self.cfg.sr.makeup_prior:
            return modulated
        return self.apply_net.blocks_after[0](v_x)

    def super_resolve(self, x_lr: Tensor, m: Tensor) -> SROutput:
        """G_S(x̃_LR, m): estimate the priors, then super-resolve with [p, m]."""
        p, heatmaps, parsing = self.prior(x_lr)
        return SROutput(self.sr(x_lr, p, m), heatmaps, parsing)

    def forward(self, src: FaceBatch, refs: FaceBatch | Sequence[Reference]) -> tuple[MakeupOutput, SROutput]:
        mk = self.makeup(src, refs)
        return mk, self.super_resolve(mk.image, mk.m)


def on_grid(image: Tensor, size: int) -> Tensor:
    """An image (B, 3, S, S) on the size x size feature grid: itself when S == size, else its area average."""
    return image if image.shape[-1] == size else F.adaptive_avg_pool2d(image, size)


def gaussian_kernel(sigma: float) -> Tensor:
    """(1, 1, k, k) normalised Gaussian, k = 2·ceil(2σ) + 1."""
    radius = max(1, math.ceil(2 * sigma))
    axis = torch.arange(-radius, radius + 1, dtype=torch.float32, device="cpu")  # explicit: cheap under a meta context
    g = torch.exp(-(axis**2) / (2 * sigma**2))
    g = g / g.sum()
    return (g[:, None] * g[None, :])[None, None]

