"""The makeup renderer: deterministic, local, anatomically placed, texture-keeping, face-independent colour."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage.color import deltaE_ciede2000, rgb2lab

from lrmakeup.data.synthetic import EyeShadow, Lipstick, MakeupLook, look_masks, render, sample_look
from lrmakeup.errors import InputError
from lrmakeup.face.parsing import MT


def lab(image: np.ndarray) -> np.ndarray:
    return rgb2lab(image)


def test_render_is_deterministic(faces256, full_look):
    image, landmarks, _ = faces256[0]
    first = render(image, landmarks, full_look)
    assert first.dtype == np.uint8 and first.shape == image.shape
    assert render(image, landmarks, full_look).tobytes() == first.tobytes()
    seeded = sample_look(np.random.default_rng(11), "moderate")
    again = sample_look(np.random.default_rng(11), "moderate")
    assert render(image, landmarks, seeded).tobytes() == render(image, landmarks, again).tobytes()


def test_bare_look_changes_nothing(faces256):
    image, landmarks, _ = faces256[1]
    assert np.array_equal(render(image, landmarks, MakeupLook()), image)


@pytest.mark.parametrize("face", [0, 1])
def test_pixels_outside_the_dilated_regions_are_unchanged(faces256, full_look, face):
    image, landmarks, _ = faces256[face]
    rng = np.random.default_rng(face)
    for look in [full_look, *(sample_look(rng, s) for s in ("natural", "dramatic"))]:
        out = render(image, landmarks, look)
        support = look_masks(image, landmarks, look).support()
        assert 0.02 < support.mean() < 0.6  # a real, local region
        assert np.array_equal(out[~support], image[~support])
        changed = np.any(out != image, axis=2)
        assert changed.sum() > 500  # the look does show
        # background and hair at the crop's corners are far outside every region
        assert np.array_equal(out[:24, :24], image[:24, :24]) and np.array_equal(out[:24, -24:], image[:24, -24:])


def test_lipstick_recolours_the_lips_only_and_keeps_their_texture(faces256):
    image, landmarks, parsing = faces256[0]
    look = MakeupLook(lipstick=Lipstick(color=(186, 26, 38), opacity=1.0))
    out = render(image, landmarks, look)
    lips = np.isin(parsing, (MT.UPPER_LIP, MT.LOWER_LIP))
    core = cv2.erode(lips.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    before, after = lab(image)[core], lab(out)[core]
    assert after[:, 1].mean() > before[:, 1].mean() + 15  # clearly redder
    # texture kept: the lightness variation inside the lips survives (not a flat fill)
    assert after[:, 0].std() > 0.6 * before[:, 0].std()
    assert np.corrcoef(after[:, 0], before[:, 0])[0, 1] > 0.8
    teeth = parsing == MT.TEETH
    assert teeth.sum() > 50 and np.array_equal(out[teeth], image[teeth])  # no paint on the teeth


def test_eye_shadow_sits_on_the_lids_not_in_the_eyes(faces256):
    image, landmarks, parsing = faces256[0]
    look = MakeupLook(eye_shadow=EyeShadow(color=(84, 82, 90), opacity=0.8, extent=0.7))
    out = render(image, landmarks, look)
    changed = np.any(out != image, axis=2)
    eyes = np.zeros(image.shape[:2], np.uint8)
    for eye in (landmarks[36:42], landmarks[42:48]):
        cv2.fillPoly(eyes, [np.round(eye).astype(np.int32)], 1)
    assert not changed[eyes > 0].any()
    assert changed.sum() > 300
    rows, _ = np.nonzero(changed)
    weight = np.abs(out.astype(int) - image.astype(int)).sum(axis=2)[changed]
    eye_centre = landmarks[36:48, 1].mean()
    assert np.average(rows, weights=weight) < eye_centre - 3  # the shadow's mass sits above the eyes
    assert rows.min() >= landmarks[17:27, 1].min() - 3  # and not above the brows
    assert rows.max() <= landmarks[36:48, 1].max() + 2  # nothing under the eyes
    assert not changed[int(landmarks[33, 1]) :].any()  # nothing below the nose


def test_gloss_brightens_the_lower_lip(faces256):
    image, landmarks, parsing = faces256[1]
    matte = render(image, landmarks, MakeupLook(lipstick=Lipstick(color=(186, 26, 38), opacity=1.0)))
    glossy = render(image, landmarks, MakeupLook(lipstick=Lipstick(color=(186, 26, 38), opacity=1.0, gloss=1.0)))
    lower = parsing == MT.LOWER_LIP
    assert lab(glossy)[lower][:, 0].max() > lab(matte)[lower][:, 0].max() + 5
    upper = parsing == MT.UPPER_LIP
    assert np.abs(lab(glossy)[upper] - lab(matte)[upper]).max() < 1.0


def test_same_lipstick_gives_the_same_colour_on_two_faces(faces256):
    look = MakeupLook(lipstick=Lipstick(color=(204, 88, 122), opacity=1.0))
    means = []
    for image, landmarks, _ in faces256:
        masks = look_masks(image, landmarks, look)
        core = masks.soft["lipstick"] > 0.99
        means.append(lab(render(image, landmarks, look))[core].mean(axis=0))
    bare = [
        lab(image)[look_masks(image, landmarks, look).soft["lipstick"] > 0.99].mean(axis=0)
        for image, landmarks, _ in faces256
    ]
    assert deltaE_ciede2000(means[0], means[1]) < 8.0
    assert deltaE_ciede2000(bare[0], bare[1]) > deltaE_ciede2000(means[0], means[1])  # closer than the bare lips


def test_given_parsing_decides_the_lip_region(faces256):
    image, landmarks, parsing = faces256[0]
    no_lips = np.where(np.isin(parsing, (MT.UPPER_LIP, MT.LOWER_LIP)), MT.SKIN, parsing).astype(np.uint8)
    look = MakeupLook(lipstick=Lipstick(color=(186, 26, 38), opacity=1.0))
    assert np.array_equal(render(image, landmarks, look, parsing=no_lips), image)
    with pytest.raises(InputError, match="parsing map has shape"):
        render(image, landmarks, look, parsing=parsing[:100])


def test_look_renders_at_other_resolutions(faces256, full_look):
    image, landmarks, _ = faces256[1]
    big = cv2.resize(image, (512, 512), interpolation=cv2.INTER_CUBIC)
    out = render(big, landmarks * 2.0, full_look)
    small = cv2.resize(out, (256, 256), interpolation=cv2.INTER_AREA)
    reference = render(image, landmarks, full_look)
    assert np.abs(small.astype(int) - reference.astype(int)).mean() < 3.0
