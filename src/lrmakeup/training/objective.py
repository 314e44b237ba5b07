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
- ``mse_sr`` eq. (18): ``G_S(x̃_LR, m)`` vs ``x̃_HR`` plus ``λ_p`` times the prior error (heatmaps, parsing).

SR is trained on the ``x → y`` direction only: the teacher's ``x̃_HR`` is ``x`` wearing ``y``'s makeup.
Gradients of the SR terms flow into G_M through ``x̃_LR`` and ``m`` (the method is trained end to end).
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import torch
from torch import Tensor, nn

from ..config import Config, LossConfig
from ..losses import (
    cycle_loss,
    lsgan_discriminator_loss,
    lsgan_generator_loss,
    makeup_loss,
    perceptual_loss,
    sr_mse_loss,
)
from ..models import FaceBatch, LRMakeupGenerator, PatchDiscriminator

EQUATIONS = {
    "d_adv_makeup": "eq. (7)",
    "d_adv_sr": "eq. (9)",
    "loss_D": "L_D",
    "adv_makeup": "eq. (8)",
    "adv_sr": "eq. (10)",
    "per_makeup": "eq. (11)",
    "per_sr": "eq. (12)",
    "cyc_makeup": "eq. (14)",
    "make_makeup": "eq. (15)",
    "mse_sr": "eq. (18)",
    "loss_G": "eq. (20)",
}
D_WEIGHTS = {"d_adv_makeup": "adv_makeup", "d_adv_sr": "adv_sr"}  # term -> LossConfig field of its λ
G_TERMS = ("adv_makeup", "adv_sr", "per_makeup", "per_sr", "cyc_makeup", "make_makeup", "mse_sr")


class TrainingBatch(NamedTuple):
    """One collated batch of training tuples, on the training device (shapes for the paper config)."""

    x: FaceBatch  # source without makeup: image (B, 3, 256, 256), masks (B, 3, 64, 64), pos (B, 136, 64, 64)
    y: FaceBatch  # reference with makeup
    x_masks_full: Tensor  # (B, 3, 256, 256) region masks of x at image resolution (makeup loss)
    y_masks_full: Tensor  # (B, 3, 256, 256)
    target: Tensor  # x̃_HR (B, 3, 256, 256) in [-1, 1]: the teacher's transfer of y's makeup onto x
    heatmaps: Tensor  # (B, 68, 64, 64) ground-truth landmark heatmaps of the target
    parsing: Tensor  # (B, 64, 64) int64 ground-truth MT labels

    @staticmethod
    def from_items(items: dict[str, Tensor], device: torch.device) -> "TrainingBatch":
        """A collated dict of ``TupleDataset`` items (keys x_image, x_masks, ...) -> a batch on ``device``."""

        def get(key: str, dtype: torch.dtype = torch.float32) -> Tensor:
            return items[key].to(device=device, dtype=dtype, non_blocking=True)

        return TrainingBatch(
            FaceBatch(get("x_image"), get("x_masks"), get("x_pos")),
            FaceBatch(get("y_image"), get("y_masks"), get("y_pos")),
            get("x_masks_full"),
            get("y_masks_full"),
            get("target"),
            get("heatmaps"),
            get("parsing", torch.long),
        )


class GeneratedImages(NamedTuple):
    """What the generator makes in one training step."""

    xy: Tensor  # x̃_LR = G_M(x, y), (B, 3, 256, 256)
    yx: Tensor  # G_M(y, x)
    sr: Tensor  # x̃_SR = G_S(x̃_LR, m) of the x → y transfer, (B, 3, 256, 256)
    heatmaps: Tensor  # (B, 68, 64, 64) estimated by G_S's prior network
    parsing: Tensor  # (B, 14, 64, 64) parsing logits
    xyx: Tensor | None  # G_M(G_M(x, y), x), None when the cycle term is off
    yxy: Tensor | None  # G_M(G_M(y, x), y)


class GeneratorPass(nn.Module):
    """Every generator call of one training step in one ``forward`` (DDP wraps this module once).

    The generator runs G_M four times (two transfers, two cycles) and G_S once; DDP synchronises gradients
    per forward/backward pair, so they must all happen inside the one forward it sees.
    """

    def __init__(self, generator: LRMakeupGenerator, cycle: bool = True):
        super().__init__()
        self.generator = generator
        self.cycle = cycle

    def forward(self, x: FaceBatch, y: FaceBatch) -> GeneratedImages:
        g, b = self.generator, x.batch_size
        # G_M(x, y) and G_M(y, x) as one batch of 2B: every layer is per sample (InstanceNorm, per-sample
        # attention), so this equals two calls and halves the number of kernel launches.
        both = g.makeup(FaceBatch.cat([x, y]), FaceBatch.cat([y, x]))
        xy, yx = both.image.split(b)
        sr = g.super_resolve(xy, both.m[:b])  # G_S on the x -> y transfer, whose target is x̃_HR
        xyx = yxy = None
        if self.cycle:  # eq. (14): a transferred face keeps the geometry (masks, pos) of its source
            sources = FaceBatch(both.image, torch.cat([x.masks, y.masks]), torch.cat([x.pos, y.pos]))
            xyx, yxy = g.makeup(sources, FaceBatch.cat([x, y])).image.split(b)
        return GeneratedImages(xy, yx, sr.image, sr.heatmaps, sr.parsing, xyx, yxy)


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


def discriminator_terms(scores: tuple[Tensor, ...]) -> dict[str, Tensor]:
    """The discriminator step's terms from :meth:`Discriminators.forward`'s scores (unweighted)."""
    dx_real, dx_fake, dy_real, dy_fake, ds_real, ds_fake = scores
    return {
        # eq. (7): D_X judges the non-makeup domain (x vs G_M(y, x)), D_Y the makeup domain (y vs G_M(x, y))
        "d_adv_makeup": lsgan_discriminator_loss(dx_real, dx_fake) + lsgan_discriminator_loss(dy_real, dy_fake),
        # eq. (9): D_S judges x̃_HR vs x̃_SR
        "d_adv_sr": lsgan_discriminator_loss(ds_real, ds_fake),
    }


def generator_terms(
    out: GeneratedImages,
    batch: TrainingBatch,
    discriminators: Discriminators,
    vgg: Callable[[Tensor], Tensor] | None,
    cfg: LossConfig,
) -> dict[str, Tensor]:
    """The generator step's terms (unweighted). A term whose λ is 0 is not computed (and not returned).

    ``discriminators`` is the plain module (not the DDP wrapper): its parameters get no gradient here.
    ``vgg`` is the perceptual feature extractor; it may be None only when both perceptual λ are 0.
    """
    x, y = batch.x.image, batch.y.image
    d = discriminators
    terms = {}
    if cfg.adv_makeup:
        terms["adv_makeup"] = lsgan_generator_loss(d.d_y(out.xy)) + lsgan_generator_loss(d.d_x(out.yx))  # eq. (8)
    if cfg.adv_sr:
        terms["adv_sr"] = lsgan_generator_loss(d.d_s(out.sr))  # eq. (10)
    if cfg.per_makeup:  # eq. (11): the transfer keeps the source's content
        # one VGG call on [G_M(x, y), G_M(y, x)] vs [x, y]; ×2 turns the mean over both halves into their sum
        terms["per_makeup"] = 2 * perceptual_loss(vgg, torch.cat([out.xy, out.yx]), torch.cat([x, y]))
    if cfg.per_sr:  # eq. (12)
        terms["per_sr"] = perceptual_loss(vgg, out.sr, batch.target)
    if cfg.cyc_makeup:  # eq. (14)
        if out.xyx is None or out.yxy is None:
            raise ValueError("the cycle term needs the cycled images (GeneratorPass(cycle=True))")
        terms["cyc_makeup"] = cycle_loss(out.xyx, x) + cycle_loss(out.yxy, y)
    if cfg.make_makeup:  # eq. (15): both directions, with the sharp full-resolution region masks
        from_x, from_y = (x, y) if cfg.makeup_match == "source" else (None, None)
        terms["make_makeup"] = makeup_loss(
            out.xy, y, batch.x_masks_full, batch.y_masks_full, cfg, match_from=from_x
        ) + makeup_loss(out.yx, x, batch.y_masks_full, batch.x_masks_full, cfg, match_from=from_y)
    # eq. (18): always computed, it is the only term that trains the prior heads
    terms["mse_sr"] = sr_mse_loss(
        out.sr, batch.target, out.heatmaps, batch.heatmaps, out.parsing, batch.parsing, cfg.lambda_p
    )
    return terms


def weighted_sum(terms: dict[str, Tensor], cfg: LossConfig, weights: dict[str, str] | None = None) -> Tensor:
    """Σ λ_t · term_t; ``weights`` maps a term to the LossConfig field of its λ (default: the term's own name)."""
    weights = weights or {}
    total = None
    for name, value in terms.items():
        part = getattr(cfg, weights.get(name, name)) * value.float()
        total = part if total is None else total + part
    assert total is not None
    return total


def needs_cycle(cfg: LossConfig) -> bool:
    return cfg.cyc_makeup != 0


def needs_vgg(cfg: LossConfig) -> bool:
    return cfg.per_makeup != 0 or cfg.per_sr != 0
