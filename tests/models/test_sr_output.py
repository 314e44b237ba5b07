"""How x̃_SR is formed from the SR decoder (METHOD §1.5, docs/architecture.md): global residual or tanh."""

from __future__ import annotations

import torch

from lrmakeup.models import LRMakeupGenerator


def _sr(cfg, make_face, scale_out: float):
    m = cfg.model
    torch.manual_seed(0)
    g = LRMakeupGenerator(m).eval()
    with torch.no_grad():
        g.sr.out.weight.mul_(scale_out)
        g.sr.out.bias.mul_(scale_out)
        x_lr = torch.rand(1, 3, m.makeup_size, m.makeup_size) * 2 - 1
        mk = g.makeup(make_face(1, m.makeup_size, m.feature_size, 0), make_face(1, m.makeup_size, m.feature_size, 1))
        return x_lr, g.super_resolve(x_lr, mk.m).image


def test_without_global_residual_the_output_is_tanh_bounded(tiny_config, make_face):
    """sr.global_residual=false: x̃_SR = tanh(decoder), inside [-1, 1] however large the decoder's output."""
    tiny_config.model.sr.global_residual = False
    _, sr = _sr(tiny_config, make_face, 1000.0)
    assert sr.abs().max() <= 1.0
    assert (sr.abs() > 0.999).float().mean() > 0.5  # the decoder's output is huge: tanh saturates


def test_global_residual_adds_the_decoder_to_x_lr(tiny_config, make_face):
    """sr.global_residual=true: x̃_SR = x̃_LR + decoder; a zero decoder returns x̃_LR itself."""
    x_lr, sr = _sr(tiny_config, make_face, 0.0)
    torch.testing.assert_close(sr, x_lr)
