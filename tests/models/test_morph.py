"""Attentive makeup morphing, eq. (2)-(5): region-restricted attention and its warping."""

import numpy as np
import pytest
import torch

from lrmakeup.config import builtin_config_path, load_config
from lrmakeup.face.regions import position_features
from lrmakeup.models import FaceBatch, LRMakeupGenerator, Reference
from lrmakeup.models.morph import attention_features, dense_morph_reference, morph, region_attention


def _features(face, dim=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    visual = torch.randn(face.batch_size, dim, *face.masks.shape[2:], generator=g)
    return attention_features(visual, face.pos, 0.01)


def test_region_attention_rows_sum_to_one():
    a = region_attention(torch.randn(5, 7), torch.randn(9, 7), 200.0)
    assert a.shape == (5, 9)
    torch.testing.assert_close(a.sum(1), torch.ones(5))


def test_attention_stays_inside_the_region(make_face):
    """Warping the reference's region indicators: source pixel i of region r receives exactly
    Σ_j A[i, j] [j ∈ r'] = δ(r, r') -- its row sums to 1 over its region and is 0 elsewhere."""
    src, ref = make_face(2, 64, 16, 0), make_face(2, 64, 16, 1)
    warped = morph(_features(src), _features(ref, seed=1), src.masks, ref.masks, ref.masks, 200.0)
    torch.testing.assert_close(warped, src.masks, atol=1e-5, rtol=0)


def test_pixels_outside_regions_get_zero(make_face):
    src, ref = make_face(1, 64, 16, 0), make_face(1, 64, 16, 1)
    values = torch.randn(1, 2, 16, 16) + 5
    warped = morph(_features(src), _features(ref, seed=1), src.masks, ref.masks, values, 200.0)
    outside = src.masks.sum(1, keepdim=True).expand_as(warped) == 0
    assert outside.any() and (warped[outside] == 0).all()
    assert (warped[~outside] != 0).all()


def test_missing_reference_region_gives_zero(make_face):
    src, ref = make_face(1, 64, 16, 0), make_face(1, 64, 16, 1)
    ref.masks[:, 0] = 0  # the reference shows no lips
    warped = morph(_features(src), _features(ref, seed=1), src.masks, ref.masks, torch.ones(1, 2, 16, 16), 200.0)
    assert (warped[:, :, src.masks[0, 0] > 0] == 0).all()


def test_matches_dense_reference_and_chunking(make_face):
    """The gathered, chunked formulation computes the same function as PSGAN's dense one."""
    src, ref = make_face(2, 64, 16, 3), make_face(2, 64, 16, 4)
    fs, fr = _features(src, seed=5), _features(ref, seed=6)
    values = torch.randn(2, 2, 16, 16)
    fast = morph(fs, fr, src.masks, ref.masks, values, 200.0, chunk=7)
    dense, a = dense_morph_reference(fs, fr, src.masks, ref.masks, values, 200.0)
    torch.testing.assert_close(fast, dense, atol=1e-5, rtol=1e-4)
    in_region = src.masks.flatten(2).sum(1) > 0  # (B, HW)
    torch.testing.assert_close(a.sum(-1)[in_region], torch.ones(int(in_region.sum())))


def test_region_scale_scales_each_region(make_face):
    src, ref = make_face(1, 64, 16, 0), make_face(1, 64, 16, 1)
    fs, fr = _features(src), _features(ref, seed=1)
    values = torch.randn(1, 2, 16, 16)
    full = morph(fs, fr, src.masks, ref.masks, values, 200.0)
    scale = torch.tensor([[0.0, 1.0, 0.5]])
    part = morph(fs, fr, src.masks, ref.masks, values, 200.0, region_scale=scale)
    expected = full * (src.masks * scale[:, :, None, None]).sum(1, keepdim=True)
    torch.testing.assert_close(part, expected)


@pytest.mark.parametrize("static", [False, True])
def test_gradients_reach_the_features_only_when_not_detached(make_face, static):
    """detach_attention: the warped values always pass gradients to ``values``; to the attention features only
    when the attention is not detached."""
    src, ref = make_face(1, 64, 16, 0), make_face(1, 64, 16, 1)
    grads = {}
    for detach in (True, False):
        vis = torch.randn(1, 16, 16, 16, requires_grad=True)
        values = torch.randn(1, 2, 16, 16, requires_grad=True)
        fs = attention_features(vis, src.pos, 0.01)
        out = morph(fs, _features(ref), src.masks, ref.masks, values, 200.0, detach_attention=detach, static=static)
        (out * torch.randn_like(out)).sum().backward()
        assert values.grad is not None and values.grad.abs().sum() > 0
        grads[detach] = vis.grad
    assert grads[True] is None
    assert grads[False] is not None and grads[False].abs().sum() > 0


@pytest.mark.parametrize("detach", [True, False])
def test_generator_honours_detach_attention(tiny_config, make_face, detach):
    """model.makeup.detach_attention reaches the attention: γ' sends gradients to the source encoder (whose
    V_x only enters through A) exactly when the attention is not detached."""
    tiny_config.model.makeup.detach_attention = detach
    g = LRMakeupGenerator(tiny_config.model)
    m = tiny_config.model
    src, ref = make_face(1, m.makeup_size, m.feature_size, 0), make_face(1, m.makeup_size, m.feature_size, 1)
    v_x = g.apply_net.encode(src.image)
    gamma, beta = g.warped_matrices(src, v_x, [Reference(ref)])
    (gamma * torch.randn_like(gamma) + beta * torch.randn_like(beta)).sum().backward()
    encoder_grad = sum(float(p.grad.abs().sum()) for p in g.apply_net.parameters() if p.grad is not None)
    assert (encoder_grad > 0) == (not detach)
    assert g.distill.to_gamma.weight.grad.abs().sum() > 0  # the warped values keep their gradient either way


@pytest.mark.parametrize("chunk", [4096, 7])
def test_static_mode_computes_the_same_function(make_face, chunk):
    """morph(static=True) (masked dense attention, the exported graph's) equals the gathered one, with region
    scales, an empty reference region, and one source broadcast against several reference faces."""
    src, ref = make_face(1, 64, 16, 3), make_face(3, 64, 16, 4)
    ref.masks[1, 0] = 0  # the second reference shows no lips
    fs, fr = _features(src, seed=5), _features(ref, seed=6)
    values = torch.randn(3, 2, 16, 16)
    scale = torch.tensor([[1.0, 0.0, 0.5], [0.3, 1.0, 1.0], [1.0, 1.0, 1.0]])
    gathered = morph(fs.expand(3, -1, -1), fr, src.masks.expand(3, -1, -1, -1), ref.masks, values, 200.0, scale,
                     chunk=chunk)
    static = morph(fs, fr, src.masks, ref.masks, values, 200.0, scale, static=True)
    assert static.shape == gathered.shape == (3, 2, 16, 16)
    torch.testing.assert_close(static, gathered, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("overrides", [[], ["model.makeup.resolution=input", "model.makeup.norm=none",
                                            "model.makeup.soften=1.0", "model.sr.kind=residual",
                                            "model.makeup.reference_colour=true"]])
def test_generator_static_mode_and_stacked_references(make_face, overrides):
    """G_M with static=True (the ONNX export's path) gives what the default path gives, and a single source with
    one Reference of K faces equals the sum over K references of one face each."""
    cfg = load_config(builtin_config_path("tiny"), overrides).model
    torch.manual_seed(0)
    g = LRMakeupGenerator(cfg).eval()
    with torch.no_grad():  # zero-initialised layers (residual, reference colour) would hide their wiring
        for p in g.parameters():
            if p.abs().max() == 0:
                p.normal_(0, 0.1)
    src = make_face(1, cfg.makeup_size, cfg.feature_size, 0)
    faces = [make_face(1, cfg.makeup_size, cfg.feature_size, s) for s in (1, 2)]
    scales = [torch.tensor([[1.0, 0.0, 0.0]]), torch.tensor([[0.0, 0.6, 1.0]])]
    with torch.no_grad():
        one_by_one = g.makeup(src, [Reference(f, s) for f, s in zip(faces, scales)])
        stacked = g.makeup(src, [Reference(FaceBatch.cat(faces), torch.cat(scales))], static=True)
    assert one_by_one.gamma.abs().max() > 0
    for name in ("image", "m", "gamma", "beta"):
        torch.testing.assert_close(getattr(stacked, name), getattr(one_by_one, name), atol=1e-5, rtol=1e-4)


def _face_like_geometry(f=64):
    """68 landmark-like points and a large skin region on a 256 grid -> normalised position features."""
    rng = np.random.default_rng(0)
    landmarks = np.stack([rng.uniform(60, 196, 68), rng.uniform(60, 220, 68)], 1).astype(np.float32)
    masks = np.zeros((3, f, f), np.float32)
    masks[1, 12:56, 12:52] = 1
    masks[0, 44:50, 24:40], masks[1, 44:50, 24:40] = 1, 0
    return torch.from_numpy(position_features(landmarks, masks))[None], torch.from_numpy(masks)[None]


def test_self_reference_preserves_smooth_matrices():
    """With the reference equal to the source, warped γ', β' match the unwarped γ, β (up to the slight
    smoothing of the softmax over neighbouring pixels)."""
    pos, masks = _face_like_geometry()
    yy, xx = torch.meshgrid(torch.linspace(-1, 1, 64), torch.linspace(-1, 1, 64), indexing="ij")
    values = torch.stack([torch.sin(2 * xx) + yy, torch.cos(3 * yy) * xx])[None]
    visual = torch.randn(1, 32, 64, 64)
    feat = attention_features(visual, pos, 0.01)
    warped = morph(feat, feat, masks, masks, values, 200.0)
    inside = masks.sum(1, keepdim=True).expand_as(values) > 0
    err = (warped - values)[inside].abs()
    assert err.mean() < 0.05 * values[inside].abs().mean()
    corr = np.corrcoef(warped[inside].numpy(), values[inside].numpy())[0, 1]
    assert corr > 0.99
