"""FaceAnalyzer end to end on real faces: photos, 64x64 faces, given parsing maps, and its errors."""

from __future__ import annotations

import numpy as np
import pytest

from lrmakeup.errors import InputError, NoFaceError
from lrmakeup.face.analysis import FaceAnalysis
from lrmakeup.face.crop import fallback_face_box
from lrmakeup.face.parsing import MT
from lrmakeup.face.regions import region_masks
from lrmakeup.models.inputs import REGIONS

LIPS, SKIN, EYES = (REGIONS.index(name) for name in ("lips", "skin", "eyes"))


def _check_shapes(a: FaceAnalysis) -> None:
    assert a.image_lr.shape == (64, 64, 3) and a.image_lr.dtype == np.uint8
    assert a.image_up.shape == (256, 256, 3) and a.image_up.dtype == np.uint8
    assert a.landmarks.shape == (68, 2) and a.landmarks.dtype == np.float32
    assert a.parsing.shape == (256, 256) and a.parsing.dtype == np.uint8
    assert a.masks.shape == (3, 64, 64) and a.masks.dtype == np.float32
    assert a.pos.shape == (136, 64, 64) and a.pos.dtype == np.float32


def test_photo_is_cropped_like_psgan(face_analyzer, astronaut_rgb):
    a = face_analyzer.analyze(astronaut_rgb)
    _check_shapes(a)
    assert a.num_faces == 1
    left, top, right, bottom = a.crop_box
    assert right - left == bottom - top and 0 <= left and 0 <= top and right <= 512 and bottom <= 512
    fl, ft, fr, fb = a.face_box
    assert left <= fl and fr <= right and top < ft and fb < bottom  # the face is inside, with forehead room


def test_landmarks_on_a_64px_face(face_analyzer, face64, analysis64):
    image, reference = face64
    for a in (analysis64, face_analyzer.analyze(image, crop=True)):  # as a crop, and detected as a photo
        _check_shapes(a)
        lms = a.landmarks
        assert (lms >= 0).all() and (lms < 256).all()
        eyes, nose, mouth = lms[36:48, 1].mean(), lms[30, 1], lms[48:68, 1].mean()
        assert eyes < nose < mouth
        assert lms[36:42, 0].mean() < lms[27:36, 0].mean() < lms[42:48, 0].mean()
    assert analysis64.crop_box == (0, 0, 64, 64) and analysis64.num_faces == 1
    # as good as dlib on the full-resolution photo, within 3 pixels at 256 (under one 64x64 pixel)
    assert np.abs(analysis64.landmarks - reference).mean() < 3


def test_masks_cover_lips_eyes_and_skin(analysis64):
    a = analysis64
    lms = a.landmarks

    def at(mask: np.ndarray, xy: np.ndarray) -> float:
        """The 64x64 mask at the feature pixel nearest to 256-grid point (x, y) (pixel i <-> grid 4 i)."""
        return float(mask[int(round(xy[1] / 4)), int(round(xy[0] / 4))])

    full = region_masks(a.parsing, lms, feature_size=256)  # the same masks before the 64x64 sampling
    for upper, lower in ((51, 62), (57, 66), (49, 61), (55, 65)):  # points inside the upper and lower lip
        x, y = np.rint((lms[upper] + lms[lower]) / 2).astype(int)
        assert full[LIPS, y, x] == 1 and full[SKIN, y, x] == 0
    rows, cols = np.nonzero(a.masks[LIPS])
    assert len(rows) > 0
    assert lms[48:60, 0].min() - 4 <= cols.min() * 4 and cols.max() * 4 <= lms[48:60, 0].max() + 4
    assert lms[48:60, 1].min() - 4 <= rows.min() * 4 and rows.max() * 4 <= lms[48:60, 1].max() + 4
    for eye in (slice(36, 42), slice(42, 48)):
        below = lms[eye].mean(0) + [0, 12]  # just below the eye: lower eyelid / eye shadow
        assert at(a.masks[EYES], below) == 1 and at(a.masks[SKIN], below) == 0
    assert at(a.masks[SKIN], (lms[3] + lms[31]) / 2) == 1 and at(a.masks[SKIN], (lms[13] + lms[35]) / 2) == 1
    assert at(a.masks[EYES], lms[57]) == 0  # no eye shadow at the mouth
    assert a.masks.sum(axis=0).max() == 1  # disjoint regions
    assert 0.05 < a.masks[EYES].sum() / a.masks[SKIN].sum() < 0.6
    norms = np.linalg.norm(a.pos, axis=0)
    inside = a.masks.sum(axis=0) > 0
    np.testing.assert_allclose(norms[inside], 1.0, atol=1e-5)
    assert (norms[~inside] == 0).all()


def test_given_parsing_is_converted_cropped_and_used(face_analyzer, astronaut_rgb):
    celeb = np.zeros(astronaut_rgb.shape[:2], np.uint8)
    celeb[:, 256:] = 11  # CelebAMask-HQ upper lip on the right half of the photo
    a = face_analyzer.analyze(astronaut_rgb, parsing=celeb, parsing_format="celebamask")
    left, _, right, _ = a.crop_box
    split = round((256 - left) * 256 / (right - left))  # where x = 256 of the photo lands in the crop
    assert set(np.unique(a.parsing[:, : split - 1])) == {MT.BACKGROUND}
    assert set(np.unique(a.parsing[:, split + 1 :])) == {MT.UPPER_LIP}
    assert a.masks[LIPS, :, split // 4 + 1 :].all() and a.masks[SKIN].sum() == 0
    with pytest.raises(InputError, match="shape"):
        face_analyzer.analyze(astronaut_rgb, parsing=celeb[:100])


def test_no_face_and_bad_face_index(face_analyzer, grace_hopper_rgb):
    noise = np.random.default_rng(0).integers(0, 256, (200, 300, 3), dtype=np.uint8)
    with pytest.raises(NoFaceError, match="no face found in noise.png"):
        face_analyzer.analyze(noise, name="noise.png")
    with pytest.raises(NoFaceError, match="index 1 .*1 face"):
        face_analyzer.analyze(grace_hopper_rgb, face_index=1)
    with pytest.raises(InputError, match="uint8"):
        face_analyzer.analyze(noise.astype(np.float32))


def test_unrecognisable_crop_falls_back_to_the_psgan_face_box(face_analyzer):
    grey = np.full((64, 64, 3), 128, np.uint8)
    a = face_analyzer.analyze(grey, crop=False)
    _check_shapes(a)
    assert a.num_faces == 0 and a.face_box == fallback_face_box(64)
    left, top, right, bottom = fallback_face_box(256)
    centre = a.landmarks.mean(axis=0)
    assert left < centre[0] < right and top < centre[1] < bottom
