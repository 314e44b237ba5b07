"""Region masks, position features and heatmaps (METHOD §5), checked against PSGAN's formulation in torch."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from lrmakeup.face.parsing import MT
from lrmakeup.face.regions import landmark_heatmaps, nearest_resize, position_features, region_masks
from lrmakeup.models.inputs import REGIONS

LIPS, SKIN, EYES = (REGIONS.index(name) for name in ("lips", "skin", "eyes"))


@pytest.fixture(scope="module")
def random_face():
    """A random MT label map (256, 256) and random landmarks (68, 2) with eyes well inside the image."""
    rng = np.random.default_rng(3)
    parsing = rng.choice([0, 1, 1, 1, 6, 7, 9, 4, 10], size=(256, 256)).astype(np.uint8)
    landmarks = rng.uniform(0, 255, (68, 2))
    landmarks[36:42] = rng.uniform(60, 100, (6, 2))
    landmarks[42:48] = rng.uniform(140, 180, (6, 2)) - [0, 80]
    return parsing, landmarks


def _psgan_masks(parsing: np.ndarray, lms_xy: np.ndarray) -> torch.Tensor:
    """PSGAN's preprocess: masks at 256, eye boxes copied out of the face mask, torch nearest to 64."""
    mask = torch.from_numpy(parsing.astype(np.float32))[None, None]
    lips = (mask == 7).float() + (mask == 9).float()
    face = (mask == 1).float() + (mask == 6).float()
    eyes = torch.zeros_like(face)
    lms = np.rint(lms_xy)
    for eye in (lms[42:48], lms[36:42]):
        x0, y0 = int(eye[:, 0].min()) - 16, int(eye[:, 1].min()) - 16
        x1, y1 = int(eye[:, 0].max()) + 17, int(eye[:, 1].max()) + 17
        eyes[..., y0:y1, x0:x1] = face[..., y0:y1, x0:x1]
        face[..., y0:y1, x0:x1] = 0
    return F.interpolate(torch.cat([lips, face, eyes]), size=(64, 64))  # (3, 1, 64, 64), nearest


def test_masks_match_psgan(random_face):
    parsing, lms = random_face
    masks = region_masks(parsing, lms)
    assert masks.shape == (3, 64, 64) and masks.dtype == np.float32
    reference = _psgan_masks(parsing, lms)[:, 0].numpy()  # PSGAN's order is lips, face, eyes
    np.testing.assert_array_equal(masks[[LIPS, SKIN, EYES]], reference)
    assert masks.sum(axis=0).max() == 1  # disjoint


def test_eye_shadow_is_the_grown_eye_box_within_the_face():
    parsing = np.full((256, 256), MT.SKIN, np.uint8)
    parsing[:, 128:] = MT.HAIR
    lms = np.full((68, 2), 200.0)
    lms[36:42] = [[60, 90], [64, 88], [70, 88], [74, 90], [70, 92], [64, 92]]
    lms[42:48] = lms[36:42] + [100, 0]
    masks = region_masks(parsing, lms, feature_size=256)
    eyes = masks[EYES].astype(bool)
    expected = np.zeros((256, 256), bool)
    expected[88 - 16 : 92 + 17, 60 - 16 : 74 + 17] = True  # the right eye's box; the left one lies in hair
    np.testing.assert_array_equal(eyes, expected)
    assert not (masks[SKIN].astype(bool) & eyes).any()
    assert masks[SKIN].sum() == (parsing == MT.SKIN).sum() - expected.sum()


def test_nearest_resize_matches_torch():
    grid = np.random.default_rng(0).normal(size=(2, 256, 256)).astype(np.float32)
    for size in (64, 100):
        expected = F.interpolate(torch.from_numpy(grid)[None], size=(size, size))[0].numpy()
        np.testing.assert_array_equal(nearest_resize(grid, size), expected)


def test_position_features_match_psgan(random_face):
    parsing, lms = random_face
    masks = region_masks(parsing, lms)
    pos = position_features(lms, masks)
    assert pos.shape == (136, 64, 64) and pos.dtype == np.float32

    # PSGAN: fix = [ys; xs] grids, diff = fix - (y, x) landmarks, nearest to 64, per-region mask, L2 norm.
    ys, xs = np.meshgrid(np.arange(256.0), np.arange(256.0), indexing="ij")
    fix = torch.from_numpy(np.concatenate([np.repeat(ys[None], 68, 0), np.repeat(xs[None], 68, 0)]))
    lms_yx = torch.from_numpy(np.rint(lms)[:, ::-1].T.reshape(-1, 1, 1).copy())
    diff = F.interpolate((fix - lms_yx)[None], size=(64, 64)).repeat(3, 1, 1, 1)
    diff = diff * _psgan_masks(parsing, lms)
    norm = torch.norm(diff, dim=1, keepdim=True)
    reference = (diff / torch.where(norm == 0, torch.tensor(1e10, dtype=norm.dtype), norm)).sum(0).numpy()
    np.testing.assert_allclose(pos, reference, atol=1e-6)

    norms = np.linalg.norm(pos, axis=0)
    inside = masks.sum(axis=0) > 0
    np.testing.assert_allclose(norms[inside], 1.0, atol=1e-5)
    assert (norms[~inside] == 0).all()


def test_heatmaps_peak_at_the_landmarks():
    lms = np.random.default_rng(1).integers(0, 64, (68, 2)) * 4.0
    lms[0] = (128, 100)  # -> column 32, row 25 on the 64 grid
    maps = landmark_heatmaps(lms, size=64, sigma=1.5)
    assert maps.shape == (68, 64, 64) and maps.dtype == np.float32
    for k in (0, 30, 67):
        row, col = np.unravel_index(maps[k].argmax(), (64, 64))
        assert (col, row) == (lms[k, 0] / 4, lms[k, 1] / 4) and maps[k, row, col] == pytest.approx(1.0)
    assert maps[0, 25, 33] == pytest.approx(np.exp(-1 / (2 * 1.5**2)))
    assert maps[0, 27, 32] == pytest.approx(np.exp(-4 / (2 * 1.5**2)))
