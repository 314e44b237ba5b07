"""LSGAN (eq. 7-10), perceptual (eq. 11, 12) and cycle (eq. 14) losses on hand-made inputs."""

import math

import pytest
import torch

from lrmakeup.losses import cycle_loss, lsgan_discriminator_loss, lsgan_generator_loss, perceptual_loss
from lrmakeup.models.vgg import VGGFeatures


def test_lsgan_discriminator_loss_hand_values():
    ones, zeros = torch.ones(2, 1, 3, 3), torch.zeros(2, 1, 3, 3)
    assert lsgan_discriminator_loss(ones, zeros).item() == 0.0  # a perfect discriminator
    assert lsgan_discriminator_loss(zeros, ones).item() == 1.0  # ½ (1 + 1)
    real = torch.tensor([[[[1.0, 0.0]]]])  # errors 0, 1 -> mean 0.5
    fake = torch.tensor([[[[0.5, 0.5]]]])  # errors 0.25, 0.25 -> mean 0.25
    assert lsgan_discriminator_loss(real, fake).item() == pytest.approx(0.5 * (0.5 + 0.25))


def test_lsgan_generator_loss_hand_values():
    assert lsgan_generator_loss(torch.ones(1, 1, 4, 4)).item() == 0.0
    assert lsgan_generator_loss(torch.tensor([[[[0.0, 1.0, 3.0]]]])).item() == pytest.approx((1 + 0 + 4) / 3)


def test_cycle_loss_is_l1():
    x = torch.rand(2, 3, 8, 8) * 2 - 1
    assert cycle_loss(x, x.clone()).item() == 0.0
    assert cycle_loss(x + 0.25, x).item() == pytest.approx(0.25)
    y = x.clone()
    y[0, 0, 0, 0] += 3.0  # L1, not L2: one large error counts linearly
    assert cycle_loss(y, x).item() == pytest.approx(3.0 / x.numel())


@pytest.fixture(scope="module")
def vgg():
    return VGGFeatures(weights="random")


def test_perceptual_loss_zero_for_identical_and_positive_otherwise(vgg):
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    assert perceptual_loss(vgg, x, x.clone()).item() == 0.0
    y = torch.rand(2, 3, 32, 32) * 2 - 1
    value = perceptual_loss(vgg, y, x)
    assert value.item() > 0 and math.isfinite(value.item())
    torch.testing.assert_close(value, torch.mean((vgg(y) - vgg(x)) ** 2))


def test_perceptual_loss_sends_gradients_to_the_output_only(vgg):
    output = (torch.rand(1, 3, 32, 32) * 2 - 1).requires_grad_()
    target = (torch.rand(1, 3, 32, 32) * 2 - 1).requires_grad_()
    perceptual_loss(vgg, output, target).backward()
    assert output.grad is not None and output.grad.abs().sum() > 0
    assert target.grad is None  # the target's features are a fixed measurement
