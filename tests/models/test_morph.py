"""Attentive makeup morphing, eq. (2)-(5): region-restricted attention and its warping."""

import numpy as np
import torch

from lrmakeup.face.regions import position_features
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


def test_gradients_reach_the_values_only_when_detached(make_face):
    src, ref = make_face(1, 64, 16, 0), make_face(1, 64, 16, 1)
    vis = torch.randn(1, 16, 16, 16, requires_grad=True)
    values = torch.randn(1, 2, 16, 16, requires_grad=True)
    fs = attention_features(vis, src.pos, 0.01)
    out = morph(fs, _features(ref), src.masks, ref.masks, values, 200.0, detach_attention=True)
    out.sum().backward()
    assert values.grad is not None and values.grad.abs().sum() > 0
    assert vis.grad is None


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
