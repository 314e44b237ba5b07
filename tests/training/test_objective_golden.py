"""The objective's wiring: pinned values of every term on the tiny config, and which discriminator each
adversarial term asks.

The golden values come from a seeded tiny model, seeded discriminators, a random-weight VGG and the first two
in-test tuples, with every term of ``TERMS`` switched on (λ ≠ 0). A change that feeds a term the wrong image,
discriminator, mask or target moves its value; a deliberate change of a term updates GOLDEN (run this file with
``LRMAKEUP_PRINT_GOLDEN=1`` and ``-s`` to print the new values).
"""

from __future__ import annotations

import os

import pytest
import torch
from torch import nn
from torch.utils.data import default_collate

from lrmakeup.models import LRMakeupGenerator
from lrmakeup.models.vgg import VGGFeatures
from lrmakeup.training import TrainingBatch
from lrmakeup.training.augment import random_crops
from lrmakeup.training.objective import (
    TERMS,
    Discriminators,
    GeneratedImages,
    GeneratorPass,
    TermInputs,
    compute_terms,
)

ALL_ON = ["loss.rec_lr=1.0", "loss.rec_sr=1.0", "loss.rec_detail=1.0"]  # the λ the paper's defaults leave at 0

GOLDEN = {
    "d_adv_makeup": 0.953336,
    "d_adv_sr": 0.530121,
    "adv_makeup": 1.96236,
    "adv_sr": 0.957638,
    "per_makeup": 0.0019082,
    "per_sr": 0.00561559,
    "cyc_makeup": 0.968456,
    "make_makeup": 9.39588,
    "mse_sr": 1.60196,
    "rec_lr": 1.78793,
    "rec_sr": 2.29092,
    "rec_detail": 0.532319,
}


def _step_terms(cfg, tuples) -> dict[str, float]:
    torch.manual_seed(0)
    generator = LRMakeupGenerator(cfg.model).eval()
    torch.manual_seed(1)
    discriminators = Discriminators(cfg).eval()
    vgg = VGGFeatures("random", seed=2)
    items = default_collate([tuples(2)[0], tuples(2)[1]])
    batch = TrainingBatch.from_items(items, torch.device("cpu"), cfg.model)
    torch.manual_seed(3)  # the detail term's crops: sources and references, the target standing in for sharp photos
    low, sharp = random_crops(torch.cat([batch.x.image, batch.y.image]), torch.cat([batch.target] * 2), 32)
    batch = batch._replace(detail_lr=low, detail_hr=sharp)
    with torch.no_grad():
        out = GeneratorPass(generator)(batch.x, batch.y, batch.region_scale, batch.detail_lr)
        scores = discriminators(batch.x.image, out.yx, batch.y.image, out.xy, batch.target, out.sr)
        terms = compute_terms("D", TermInputs(out, batch, cfg.loss, scores=scores))
        terms |= compute_terms("G", TermInputs(out, batch, cfg.loss, discriminators, vgg))
    return {name: float(value) for name, value in terms.items()}


def test_every_term_has_its_golden_value(make_config, tuples):
    cfg = make_config(*ALL_ON)
    assert all(getattr(cfg.loss, t.weight) != 0 for t in TERMS)
    got = _step_terms(cfg, tuples)
    if os.environ.get("LRMAKEUP_PRINT_GOLDEN"):
        print({name: f"{value:.6g}" for name, value in got.items()})
    assert set(GOLDEN) == {t.name for t in TERMS}, "a term was added or removed: pin its value here"
    for name, value in GOLDEN.items():
        assert got[name] == pytest.approx(value, rel=1e-3, abs=1e-7), f"{name}: {got[name]:.6g} != {value:.6g}"
    weighted = {step: sum(getattr(cfg.loss, t.weight) * got[t.name] for t in TERMS if t.step == step)
                for step in ("D", "G")}
    assert got["loss_D"] == pytest.approx(weighted["D"], rel=1e-5)
    assert got["loss_G"] == pytest.approx(weighted["G"], rel=1e-5)


class _Scorer(nn.Module):
    """A stand-in PatchGAN whose score is the image's mean (``sign`` -1: one minus the mean)."""

    def __init__(self, sign: float):
        super().__init__()
        self.sign = sign

    def forward(self, image):
        mean = image.mean(dim=(1, 2, 3), keepdim=True)
        return mean if self.sign > 0 else 1 - mean


def test_adversarial_terms_ask_the_domain_discriminators(make_config, tuples):
    """Eq. (7)-(8): D_X judges the non-makeup domain (x, G_M(y, x)), D_Y the makeup domain (y, G_M(x, y)).

    With G_M(x, y) all ones and G_M(y, x) all zeros, a D_X scoring the mean and a D_Y scoring one minus the
    mean both call the generator's images fake (score 0): the generator's loss is 1 + 1. Asking D_X about
    G_M(x, y) and D_Y about G_M(y, x) instead would give 0.
    """
    cfg = make_config()
    batch = TrainingBatch.from_items(default_collate([tuples(2)[0]]), torch.device("cpu"), cfg.model)
    s = cfg.model.makeup_size
    ones, zeros = torch.ones(1, 3, s, s), torch.zeros(1, 3, s, s)
    out = GeneratedImages(ones, zeros, ones, None, None, None, None)
    d = Discriminators(cfg)
    d.d_x, d.d_y = _Scorer(+1), _Scorer(-1)
    adv = next(t for t in TERMS if t.name == "adv_makeup").compute(TermInputs(out, batch, cfg.loss, d))
    assert float(adv) == pytest.approx(2.0)
    # the discriminator step pairs each D with the real image of its own domain
    scores = d(ones, zeros, zeros, ones, ones, ones)  # x ≡ 1 scored by D_X: real; y ≡ 0 scored by D_Y: real
    d_adv = next(t for t in TERMS if t.name == "d_adv_makeup").compute(TermInputs(out, batch, cfg.loss, scores=scores))
    assert float(d_adv) == pytest.approx(0.0)
