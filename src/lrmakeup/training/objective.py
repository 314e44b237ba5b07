"""The training objective of METHOD §2: which images each loss compares, and how the terms are weighed.

One training step asks the generator for five images (:class:`GeneratorPass`, one forward so that DDP sees
one forward per backward) and the discriminators for their patch scores (:class:`Discriminators`). The terms
are named after the ``LossConfig`` weight that multiplies them; :data:`EQUATIONS` says which equation each is.

Discriminator step, ``L_D = λ_adv_M L_adv_DM + λ_adv_S L_adv_DS``:

- ``d_adv_makeup`` eq. (7): D_X on real ``x`` vs ``G_M(y, x)``, plus D_Y on real ``y`` vs ``G_M(x, y)``;
- ``d_adv_sr`` eq. (9): D_S on real ``x̃_HR`` vs ``G_S(x̃_LR, m)``; generated images are detached.

Generator step, eq. (20) as corrected in METHOD §2 (the generator's own adversarial terms):

- ``adv_makeup`` eq. (8), ``adv_sr`` eq. (10): the generator wants its images scored as real;
- ``per_makeup`` eq. (11): ``G_M(x, y)`` vs ``x`` and ``G_M(y, x)`` vs ``y`` (VGG-16 relu5_3);
- ``per_sr`` eq. (12): ``G_S(x̃_LR, m)`` vs ``x̃_HR``;
- ``cyc_makeup`` eq. (14): ``G_M(G_M(x, y), x) ≈ x`` and ``G_M(G_M(y, x), y) ≈ y`` (the cycled source keeps
  its own masks and position features: the geometry of a face does not change with its makeup);
- ``make_makeup`` eq. (15): ``G_M(x, y)`` vs its regions histogram-matched to ``y``'s, and ``G_M(y, x)`` vs
  its regions matched to ``x``'s, with the full-resolution region masks. What is matched is a choice
  (``loss.makeup_match``): "output" matches the generated image itself (PSGAN's code, the default), "source"
  matches the source photo (BeautyGAN's ``HM(x, y)``; METHOD §2 words it this way);
- ``mse_sr`` eq. (18): ``G_S(x̃_LR, m)`` vs ``x̃_HR`` plus ``λ_p`` times the prior error (heatmaps, parsing);
- ``rec_lr``, ``rec_sr`` (the compact recipe, not in the paper): region-weighted L1 of x̃_LR against the target
  reduced to the input size and of x̃_SR against the target (losses/reconstruction.py);
- ``rec_detail`` (the compact recipe): plain L1 of G_S(G_M without makeup) on random crops of the batch's bare
  faces (sources and references) against their sharp crops: G_S learns detail everywhere (hair, background),
  not only where the region-weighted terms look.

:data:`TERMS` is the one table of these terms: name, equation, the ``LossConfig`` field of its λ, the step it
belongs to and the function that computes it. Computing, weighting, the NaN guard, logging and the loss-curve
plot all read it, so adding a term is one entry.

The reverse transfer G_M(y, x) is computed only when a term uses it (adversarial, perceptual, cycle, makeup).
A share of samples (``train.bare_fraction``) can be trained as "no makeup": every region scale 0 and the
target the sharp source itself, so that intensity 0 returns the bare face. SR is trained on the ``x → y``
direction only: the teacher's ``x̃_HR`` is ``x`` wearing ``y``'s makeup.
Gradients of the SR terms flow into G_M through ``x̃_LR`` and ``m`` (the method is trained end to end).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import Tensor, nn

from ..config import Config, LossConfig, ModelConfig
from ..losses import (
    cycle_loss,
    lsgan_discriminator_loss,
    lsgan_generator_loss,
    makeup_loss,
    perceptual_loss,
    reduce_to,
    region_l1_loss,
    sr_mse_loss,
)
from ..models import FaceBatch, LRMakeupGenerator, PatchDiscriminator, Reference


class TrainingBatch(NamedTuple):
    """One collated batch of training tuples, on the training device (shapes for the paper config).

    The faces' images are what G_M reads (``ModelConfig.makeup_size``): the bicubic 256 up-sampling of the 64x64
    inputs (paper) or the 64x64 inputs themselves (``model.makeup.resolution=input``).
    """

    x: FaceBatch  # source without makeup: image (B, 3, S, S), masks (B, 3, 64, 64), pos (B, 136, 64, 64)
    y: FaceBatch  # reference with makeup
    x_masks_full: Tensor  # (B, 3, 256, 256) region masks of x at image resolution (makeup and rec losses)
    y_masks_full: Tensor  # (B, 3, 256, 256)
    target: Tensor  # x̃_HR (B, 3, 256, 256) in [-1, 1]: the teacher's transfer of y's makeup onto x
    heatmaps: Tensor  # (B, 68, 64, 64) ground-truth landmark heatmaps of the target
    parsing: Tensor  # (B, 64, 64) int64 ground-truth MT labels
    region_scale: Tensor | None = None  # (B, 3) per-region scales of the reference; None: 1 everywhere
    detail_lr: Tensor | None = None  # (N, 3, c, c) crops of bare faces as G_M reads them (the detail term)
    detail_hr: Tensor | None = None  # (N, 3, k·c, k·c) the same windows of the sharp photos

    @staticmethod
    def from_items(items: dict[str, Tensor], device: torch.device, model: ModelConfig | None = None) -> "TrainingBatch":
        """A collated dict of ``TupleDataset`` items (keys x_image, x_lr, ...) -> a batch on ``device``."""

        def get(key: str, dtype: torch.dtype = torch.float32) -> Tensor:
            return items[key].to(device=device, dtype=dtype, non_blocking=True)

        lr_input = model is not None and model.makeup.resolution == "input"
        x_img, y_img = ("x_lr", "y_lr") if lr_input else ("x_image", "y_image")
        return TrainingBatch(
            FaceBatch(get(x_img), get("x_masks"), get("x_pos")),
            FaceBatch(get(y_img), get("y_masks"), get("y_pos")),
            get("x_masks_full"),
            get("y_masks_full"),
            get("target"),
            get("heatmaps"),
            get("parsing", torch.long),
        )

    def with_bare(self, bare: Tensor, source_hr: Tensor) -> "TrainingBatch":
        """Samples flagged in ``bare`` (B,) bool become "no makeup": region scales 0, target = ``source_hr``."""
        scale = torch.ones(bare.shape[0], 3, device=bare.device) if self.region_scale is None else self.region_scale
        scale = torch.where(bare[:, None], torch.zeros_like(scale), scale)
        target = torch.where(bare[:, None, None, None], source_hr.to(self.target.dtype), self.target)
        return self._replace(target=target, region_scale=scale)


class GeneratedImages(NamedTuple):
    """What the generator makes in one training step."""

    xy: Tensor  # x̃_LR = G_M(x, y), (B, 3, S, S)
    yx: Tensor | None  # G_M(y, x); None when no term uses the reverse transfer
    sr: Tensor  # x̃_SR = G_S(x̃_LR, m) of the x → y transfer, (B, 3, 256, 256)
    heatmaps: Tensor  # (B, 68, 64, 64) estimated by G_S's prior network
    parsing: Tensor  # (B, 14, 64, 64) parsing logits
    xyx: Tensor | None  # G_M(G_M(x, y), x), None when the cycle term is off
    yxy: Tensor | None  # G_M(G_M(y, x), y)
    detail: Tensor | None = None  # G_S(G_M without makeup) of the detail crops; None when the term is off


class GeneratorPass(nn.Module):
    """Every generator call of one training step in one ``forward`` (DDP wraps this module once).

    The generator runs G_M up to four times (two transfers, two cycles) and G_S once; DDP synchronises
    gradients per forward/backward pair, so they must all happen inside the one forward it sees.
    """

    def __init__(self, generator: LRMakeupGenerator, cycle: bool = True, reverse: bool = True):
        super().__init__()
        self.generator = generator
        self.cycle = cycle
        self.reverse = reverse or cycle

    def forward(self, x: FaceBatch, y: FaceBatch, region_scale: Tensor | None = None,
                detail_lr: Tensor | None = None) -> GeneratedImages:
        g, b = self.generator, x.batch_size
        if self.reverse:
            # G_M(x, y) and G_M(y, x) as one batch of 2B: every layer is per sample (InstanceNorm, per-sample
            # attention), so this equals two calls and halves the number of kernel launches.
            scale = None if region_scale is None else torch.cat([region_scale, torch.ones_like(region_scale)])
            both = g.makeup(FaceBatch.cat([x, y]), [Reference(FaceBatch.cat([y, x]), scale)])
            xy, yx = both.image.split(b)
            m = both.m[:b]
        else:
            one = g.makeup(x, [Reference(y, region_scale)])
            xy, yx, m = one.image, None, one.m
        sr = g.super_resolve(xy, m)  # G_S on the x -> y transfer, whose target is x̃_HR
        xyx = yxy = None
        if self.cycle:  # eq. (14): a transferred face keeps the geometry (masks, pos) of its source
            assert yx is not None
            sources = FaceBatch(torch.cat([xy, yx]), torch.cat([x.masks, y.masks]), torch.cat([x.pos, y.pos]))
            xyx, yxy = g.makeup(sources, FaceBatch.cat([x, y])).image.split(b)
        detail = None
        if detail_lr is not None:  # the detail term: bare crops through G_M (scale 0) and G_S
            detail = g.super_resolve(*g.without_makeup(detail_lr)).image
        return GeneratedImages(xy, yx, sr.image, sr.heatmaps, sr.parsing, xyx, yxy, detail)


class Discriminators(nn.Module):
    """D_X (non-makeup domain), D_Y (makeup domain) and D_S (super-resolved images), METHOD §1.6.

    ``forward`` scores real and (detached) generated images for the discriminator step: each PatchGAN runs
    once on the concatenation [real, fake] (no normalisation layers, so batching changes nothing), which
    keeps DDP to one forward per backward.
    """

    def __init__(self, cfg: Config):
        super().__init__()
        self.d_x = PatchDiscriminator(cfg.model.discriminator)
        self.d_y = PatchDiscriminator(cfg.model.discriminator)
        self.d_s = PatchDiscriminator(cfg.model.discriminator)

    def forward(self, x: Tensor, yx: Tensor, y: Tensor, xy: Tensor, hr: Tensor, sr: Tensor) -> tuple[Tensor, ...]:
        """Images (B, 3, S, S) -> (D_X(x), D_X(yx), D_Y(y), D_Y(xy), D_S(hr), D_S(sr)) patch scores."""
        out = []
        for d, real, fake in ((self.d_x, x, yx), (self.d_y, y, xy), (self.d_s, hr, sr)):
            real_scores, fake_scores = d(torch.cat([real, fake])).split(real.shape[0])
            out += [real_scores, fake_scores]
        return tuple(out)


class TermInputs(NamedTuple):
    """Everything a term may read: the step's images, the batch, the (plain) discriminators and their scores."""

    out: GeneratedImages
    batch: TrainingBatch
    cfg: LossConfig
    discriminators: Discriminators | None = None  # the plain module (not DDP): no gradient to D in the G step
    vgg: Callable[[Tensor], Tensor] | None = None
    scores: tuple[Tensor, ...] | None = None  # Discriminators.forward's output, for the D step


@dataclass(frozen=True)
class Term:
    """One loss term: ``name`` (logged), its ``equation``, the ``LossConfig`` field of its λ, its step."""

    name: str
    equation: str
    weight: str
    step: str  # "D" or "G"
    compute: Callable[[TermInputs], Tensor]
    uses_reverse: bool = False  # needs G_M(y, x)
    uses_cycle: bool = False
    uses_vgg: bool = False
    uses_detail: bool = False  # needs the detail crops
    always: bool = False  # computed even when its λ is 0 (it trains a part nothing else trains)


def _d_adv_makeup(t: TermInputs) -> Tensor:
    # eq. (7): D_X judges the non-makeup domain (x vs G_M(y, x)), D_Y the makeup domain (y vs G_M(x, y))
    dx_real, dx_fake, dy_real, dy_fake, _, _ = t.scores
    return lsgan_discriminator_loss(dx_real, dx_fake) + lsgan_discriminator_loss(dy_real, dy_fake)


def _d_adv_sr(t: TermInputs) -> Tensor:
    _, _, _, _, ds_real, ds_fake = t.scores  # eq. (9): D_S judges x̃_HR vs x̃_SR
    return lsgan_discriminator_loss(ds_real, ds_fake)


def _adv_makeup(t: TermInputs) -> Tensor:
    # eq. (8): G_M(x, y) should pass as the makeup domain (D_Y), G_M(y, x) as the non-makeup one (D_X)
    d = t.discriminators
    return lsgan_generator_loss(d.d_y(t.out.xy)) + lsgan_generator_loss(d.d_x(t.out.yx))


def _adv_sr(t: TermInputs) -> Tensor:
    return lsgan_generator_loss(t.discriminators.d_s(t.out.sr))  # eq. (10)


def _per_makeup(t: TermInputs) -> Tensor:
    # eq. (11): one VGG call on [G_M(x, y), G_M(y, x)] vs [x, y]; ×2 turns the mean over both halves into a sum
    x, y = t.batch.x.image, t.batch.y.image
    return 2 * perceptual_loss(t.vgg, torch.cat([t.out.xy, t.out.yx]), torch.cat([x, y]))


def _per_sr(t: TermInputs) -> Tensor:
    return perceptual_loss(t.vgg, t.out.sr, t.batch.target)  # eq. (12)


def _cyc_makeup(t: TermInputs) -> Tensor:
    return cycle_loss(t.out.xyx, t.batch.x.image) + cycle_loss(t.out.yxy, t.batch.y.image)  # eq. (14)


def _make_makeup(t: TermInputs) -> Tensor:
    # eq. (15): both directions, with the sharp full-resolution region masks (images at the makeup size)
    b, cfg = t.batch, t.cfg
    x, y = b.x.image, b.y.image
    xm, ym = _masks_at(b.x_masks_full, x), _masks_at(b.y_masks_full, y)
    from_x, from_y = (x, y) if cfg.makeup_match == "source" else (None, None)
    return (makeup_loss(t.out.xy, y, xm, ym, cfg, match_from=from_x)
            + makeup_loss(t.out.yx, x, ym, xm, cfg, match_from=from_y))


def _mse_sr(t: TermInputs) -> Tensor:
    # eq. (18): always computed, it is the only term that trains the prior heads
    o, b = t.out, t.batch
    return sr_mse_loss(o.sr, b.target, o.heatmaps, b.heatmaps, o.parsing, b.parsing, t.cfg.lambda_p)


def _rec_lr(t: TermInputs) -> Tensor:
    size = t.out.xy.shape[-1]
    masks = _masks_at(t.batch.x_masks_full, t.out.xy)
    return region_l1_loss(t.out.xy, reduce_to(t.batch.target, size), masks, t.cfg.region_weight)


def _rec_sr(t: TermInputs) -> Tensor:
    return region_l1_loss(t.out.sr, t.batch.target, t.batch.x_masks_full, t.cfg.region_weight)


def _rec_detail(t: TermInputs) -> Tensor:
    return region_l1_loss(t.out.detail, t.batch.detail_hr)


def _masks_at(masks: Tensor, image: Tensor) -> Tensor:
    """Full-resolution region masks (B, 3, 256, 256) at an image's size (area-averaged: soft at the borders)."""
    if masks.shape[-1] == image.shape[-1]:
        return masks
    return torch.nn.functional.interpolate(masks, size=image.shape[-2:], mode="area")


TERMS: tuple[Term, ...] = (
    Term("d_adv_makeup", "eq. (7)", "adv_makeup", "D", _d_adv_makeup, uses_reverse=True),
    Term("d_adv_sr", "eq. (9)", "adv_sr", "D", _d_adv_sr, uses_reverse=True),
    Term("adv_makeup", "eq. (8)", "adv_makeup", "G", _adv_makeup, uses_reverse=True),
    Term("adv_sr", "eq. (10)", "adv_sr", "G", _adv_sr),
    Term("per_makeup", "eq. (11)", "per_makeup", "G", _per_makeup, uses_reverse=True, uses_vgg=True),
    Term("per_sr", "eq. (12)", "per_sr", "G", _per_sr, uses_vgg=True),
    Term("cyc_makeup", "eq. (14)", "cyc_makeup", "G", _cyc_makeup, uses_reverse=True, uses_cycle=True),
    Term("make_makeup", "eq. (15)", "make_makeup", "G", _make_makeup, uses_reverse=True),
    Term("mse_sr", "eq. (18)", "mse_sr", "G", _mse_sr, always=True),
    Term("rec_lr", "L_rec on x̃_LR", "rec_lr", "G", _rec_lr),
    Term("rec_sr", "L_rec on x̃_SR", "rec_sr", "G", _rec_sr),
    Term("rec_detail", "L1 of G_S on bare crops", "rec_detail", "G", _rec_detail, uses_detail=True),
)
TOTALS = {"loss_D": ("D", "L_D"), "loss_G": ("G", "eq. (20)")}  # the weighted sums, logged beside the terms
EQUATIONS = {**{t.name: t.equation for t in TERMS}, **{name: eq for name, (_, eq) in TOTALS.items()}}


def active_terms(cfg: LossConfig, step: str) -> tuple[Term, ...]:
    """The terms of ``step`` ("D" or "G") that this config computes: λ ≠ 0, or ``always``."""
    return tuple(t for t in TERMS if t.step == step and (t.always or getattr(cfg, t.weight) != 0))


def compute_terms(step: str, inputs: TermInputs) -> dict[str, Tensor]:
    """Every active term of ``step`` (unweighted), then the weighted total (``loss_D`` / ``loss_G``)."""
    cfg = inputs.cfg
    terms = {t.name: t.compute(inputs) for t in active_terms(cfg, step)}
    total = None
    for t in active_terms(cfg, step):
        part = getattr(cfg, t.weight) * terms[t.name].float()
        total = part if total is None else total + part
    terms["loss_D" if step == "D" else "loss_G"] = total
    return terms


def needs(cfg: LossConfig, flag: str) -> bool:
    """Whether any computed term has ``flag`` (``uses_reverse``, ``uses_cycle``, ``uses_vgg``, ``uses_detail``)."""
    return any(getattr(t, flag) for step in ("D", "G") for t in active_terms(cfg, step))


def needs_discriminators(cfg: LossConfig) -> bool:
    return bool(active_terms(cfg, "D"))
