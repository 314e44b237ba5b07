"""Paste-back into the full photo (face.paste): seamless, as sharp as the photo, nothing outside the face."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from lrmakeup.face.paste import face_blend_mask, paste_back

TINT = np.array([15.0, -8.0, 8.0])  # a makeup-like colour change, small enough not to clip


@pytest.fixture(scope="module")
def pasted(face_analyzer, astronaut_rgb):
    """skimage's astronaut (512x512) with a soft generated face pasted back: the model's bicubic-enlarged
    64x64 input wearing a tint, which is as soft as a 4x super-resolution of a 64 px face can be."""
    face = face_analyzer.analyze(astronaut_rgb)
    made_up = np.clip(face.image_up + TINT, 0, 255).astype(np.uint8)
    out = paste_back(astronaut_rgb, face.crop_box, made_up, face.parsing, detail_size=64,
                     landmarks=face.landmarks, bare=face.image_up)
    return face, out


def _band(face, shape) -> np.ndarray:
    """Where the pasted face fades into the photo (0 < alpha < 1), widened by 3 pixels."""
    left, t, r, b = face.crop_box
    alpha = np.zeros(shape[:2], np.float32)
    alpha[t:b, left:r] = face_blend_mask(face.parsing, r - left, face.landmarks)
    return cv2.dilate(((alpha > 0) & (alpha < 1)).astype(np.uint8), np.ones((7, 7), np.uint8)).astype(bool)


def test_seam_band_differs_smoothly(pasted, astronaut_rgb):
    """Across the band around the pasted face, the change (result - photo) has no step between neighbouring
    pixels larger than the photo's own typical neighbouring-pixel difference: no visible seam."""
    face, out = pasted
    unclipped = ((out > 0) & (out < 255)).all(-1)  # where 255 + tint was cut at 255 the change is not the tint
    band = _band(face, astronaut_rgb.shape) & unclipped
    change = out.astype(np.float32) - astronaut_rgb
    photo = astronaut_rgb.astype(np.float32)
    steps, own = [], []
    for axis in (0, 1):
        pair = np.logical_and(*(np.moveaxis(np.moveaxis(band, axis, 0)[s], 0, axis) for s in (np.s_[1:], np.s_[:-1])))
        steps.append(np.abs(np.diff(change, axis=axis)).max(-1)[pair])
        own.append(np.abs(np.diff(photo, axis=axis)).max(-1)[pair])
    steps, own = np.concatenate(steps), np.concatenate(own)
    assert band.sum() > 1000
    assert steps.max() <= np.median(own), (steps.max(), np.median(own))


def test_pasted_face_is_as_sharp_as_the_photo(pasted, astronaut_rgb):
    """The photo's own detail is kept inside the face (a soft generated face does not make a soft patch)."""
    face, out = pasted
    left, t, r, b = face.crop_box
    inner = np.s_[t + (b - t) // 4:b - (b - t) // 4, left + (r - left) // 4:r - (r - left) // 4]

    def sharpness(img):
        return cv2.Laplacian(cv2.cvtColor(img, cv2.COLOR_RGB2GRAY).astype(np.float32), cv2.CV_32F)[inner].var()

    assert sharpness(out) > 0.9 * sharpness(astronaut_rgb)
    change = (out[inner].astype(float) - astronaut_rgb[inner]).mean(axis=(0, 1))
    assert (np.sign(change) == np.sign(TINT)).all() and (np.abs(change) > 0.5 * np.abs(TINT)).all()  # makeup shows


def test_only_the_face_changes(pasted, astronaut_rgb):
    """Outside the face region (hair fringe above the brows, neck, background) the photo is byte-identical."""
    face, out = pasted
    left, t, r, b = face.crop_box
    alpha = np.zeros(astronaut_rgb.shape[:2], np.float32)
    alpha[t:b, left:r] = face_blend_mask(face.parsing, r - left, face.landmarks)
    assert np.array_equal(out[alpha == 0], astronaut_rgb[alpha == 0])
    scale = (r - left) / face.parsing.shape[0]
    brow_top = int(t + face.landmarks[17:27, 1].min() * scale)
    brow_to_eye = (face.landmarks[36:48, 1].mean() - face.landmarks[17:27, 1].min()) * scale
    fringe = int(brow_top - 0.5 * brow_to_eye)
    assert np.array_equal(out[:fringe], astronaut_rgb[:fringe])  # the fringe of hair is left alone
    chin = int(t + face.landmarks[8, 1] * (r - left) / face.parsing.shape[0])
    assert np.array_equal(out[chin + 2:], astronaut_rgb[chin + 2:])  # the neck is not touched either
