"""Eq. (18): ½ (mean |x̃_HR − x̃_SR|² + λ_p (heatmap MSE + parsing cross-entropy))."""

import math

import pytest
import torch

from lrmakeup.losses import prior_loss, sr_mse_loss


def _inputs():
    sr, hr = torch.zeros(2, 3, 16, 16), torch.ones(2, 3, 16, 16)  # image MSE = 1
    heat, heat_gt = torch.zeros(2, 68, 4, 4), torch.full((2, 68, 4, 4), 2.0)  # heatmap MSE = 4
    logits = torch.zeros(2, 14, 4, 4)  # uniform over 14 classes: CE = ln 14 whatever the label
    labels = torch.randint(0, 14, (2, 4, 4))
    return sr, hr, heat, heat_gt, logits, labels


def test_sr_mse_loss_hand_values():
    sr, hr, heat, heat_gt, logits, labels = _inputs()
    value = sr_mse_loss(sr, hr, heat, heat_gt, logits, labels, lambda_p=0.5)
    assert value.item() == pytest.approx(0.5 * (1.0 + 0.5 * (4.0 + math.log(14))), rel=1e-6)
    assert sr_mse_loss(sr, hr).item() == pytest.approx(0.5)  # no prior pairs: image term only
    assert sr_mse_loss(sr, hr, heat, heat_gt, lambda_p=0.0).item() == pytest.approx(0.5)
    assert sr_mse_loss(hr, hr, heat_gt, heat_gt, logits, labels, lambda_p=1.0).item() == pytest.approx(
        0.5 * math.log(14), rel=1e-6
    )


def test_prior_loss_is_cross_entropy_for_parsing():
    labels = torch.randint(0, 14, (1, 4, 4))
    confident = torch.nn.functional.one_hot(labels, 14).permute(0, 3, 1, 2).float() * 50.0
    assert prior_loss(parsing_logits=confident, parsing_gt=labels).item() == pytest.approx(0.0, abs=1e-6)
    assert prior_loss(parsing_logits=confident, parsing_gt=labels[:, None]).item() == pytest.approx(0.0, abs=1e-6)
    wrong = (labels + 1) % 14
    assert prior_loss(parsing_logits=confident, parsing_gt=wrong).item() > 10.0


def test_shape_mismatches_are_refused():
    sr, hr, heat, heat_gt, logits, labels = _inputs()
    with pytest.raises(ValueError):
        prior_loss(heat, heat_gt[:, :10])
    with pytest.raises(ValueError):
        prior_loss(parsing_logits=logits, parsing_gt=labels[:, :2])
    with pytest.raises(ValueError):
        prior_loss()


def test_gradients_reach_every_estimate():
    sr, hr, heat, heat_gt, logits, labels = _inputs()
    sr, heat, logits = (t.clone().requires_grad_() for t in (sr, heat, logits))
    sr_mse_loss(sr, hr, heat, heat_gt, logits, labels).backward()
    for t in (sr, heat, logits):
        assert t.grad is not None and torch.isfinite(t.grad).all() and t.grad.abs().sum() > 0
