"""The detail term (loss.rec_detail): aligned random crops, G_S trained on bare crops, clear data errors."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch.utils.data import default_collate

from lrmakeup.errors import ConfigError, DataError
from lrmakeup.training import Trainer
from lrmakeup.training.augment import random_crops

COMPACT = ["model.makeup.resolution=input", "model.makeup.output=residual", "model.makeup.norm=none",
           "model.sr.kind=residual", "model.sr.upsample=pixelshuffle", "loss.rec_lr=1", "loss.rec_sr=1",
           "loss.rec_detail=1", "loss.adv_makeup=0", "loss.adv_sr=0",
           "train.detail_crop=8"]


def test_random_crops_cut_the_same_window_of_both_images():
    torch.manual_seed(0)
    low = torch.rand(6, 3, 16, 16)
    sharp = F.interpolate(low, scale_factor=4, mode="nearest")
    lo, hi = random_crops(low, sharp, 8)
    assert lo.shape == (6, 3, 8, 8) and hi.shape == (6, 3, 32, 32)
    assert torch.equal(F.interpolate(lo, scale_factor=4, mode="nearest"), hi)  # aligned, flipped together
    # the windows' positions vary: on an image of increasing values a window's minimum is its top-left value
    ramp = torch.arange(16 * 16.0).view(1, 1, 16, 16).expand(6, 3, 16, 16)
    lo, _ = random_crops(ramp, F.interpolate(ramp, scale_factor=4, mode="nearest"), 8)
    assert len({float(c.min()) for c in lo}) > 1
    with pytest.raises(ValueError):
        random_crops(low, sharp, 24)


def _with_sharp(tuples, n=2):
    items = []
    for i in range(n):
        item = dict(tuples(n)[i])
        item["x_hr"], item["y_hr"] = item["target"], item["y_image"]
        items.append(item)
    return items


def test_detail_term_trains_the_sr_on_bare_crops(make_config, tuples, tmp_path):
    cfg = make_config(*COMPACT)
    trainer = Trainer(cfg, tuples(2), tmp_path / "run", progress=False)
    batch = trainer.make_batch(default_collate(_with_sharp(tuples)))
    assert batch.detail_lr.shape == (4, 3, 8, 8) and batch.detail_hr.shape == (4, 3, 32, 32)
    more = Trainer(make_config(*COMPACT, "train.detail_windows=3"), tuples(2), tmp_path / "run3", progress=False)
    assert more.make_batch(default_collate(_with_sharp(tuples))).detail_lr.shape == (12, 3, 8, 8)
    terms = trainer.train_step(default_collate(_with_sharp(tuples)))
    assert "rec_detail" in terms and torch.isfinite(terms["rec_detail"]) and terms["rec_detail"] > 0
    for p in trainer.generator.sr.parameters():
        assert p.grad is not None


def test_detail_term_without_sharp_photos_is_a_data_error(make_config, tuples, tmp_path):
    trainer = Trainer(make_config(*COMPACT), tuples(2), tmp_path / "run", progress=False)
    with pytest.raises(DataError, match="y_hr"):
        trainer.train_step(default_collate([tuples(2)[0]]))


def test_detail_crop_must_be_a_multiple_of_8(make_config, tuples, tmp_path):
    with pytest.raises(ConfigError, match="detail_crop"):
        Trainer(make_config(*COMPACT, "train.detail_crop=12"), tuples(2), tmp_path / "run", progress=False)
