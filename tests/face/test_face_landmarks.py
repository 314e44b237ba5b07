"""dlib detection and landmarks with the real 68-point model from face-recognition-models."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from lrmakeup.errors import InputError
from lrmakeup.face.landmarks import (
    FRONTAL_DETECTOR,
    PREDICTOR_ENV,
    PREDICTOR_FILENAME,
    LandmarkDetector,
    frontal_face_detector,
    shape_predictor_path,
)

ASTRONAUT_FACE = (182, 84, 271, 174)  # dlib's box on skimage's astronaut, checked by eye


def test_predictor_is_found_and_can_be_overridden(tmp_path, monkeypatch):
    found = shape_predictor_path()
    assert found.name == PREDICTOR_FILENAME and found.is_file()
    assert shape_predictor_path(found) == found
    monkeypatch.setenv(PREDICTOR_ENV, str(tmp_path / "elsewhere.dat"))
    with pytest.raises(InputError, match="elsewhere.dat"):
        shape_predictor_path()
    with pytest.raises(InputError, match="missing.dat"):
        LandmarkDetector(tmp_path / "missing.dat")


def test_detects_the_astronaut(face_analyzer, astronaut_rgb):
    boxes = face_analyzer.landmark_detector.detect(astronaut_rgb)
    assert len(boxes) == 1
    assert np.allclose(boxes[0], ASTRONAUT_FACE, atol=6)


def test_faces_sorted_by_area_in_image_coordinates(face_analyzer, astronaut_rgb):
    face = astronaut_rgb[20:240, 120:340]  # 220 x 220 around the face
    small = np.asarray(Image.fromarray(face).resize((140, 140), Image.Resampling.BICUBIC))
    canvas = np.full((260, 520, 3), 128, np.uint8)
    canvas[20:240, 280:500] = face
    canvas[60:200, 20:160] = small
    boxes = face_analyzer.landmark_detector.detect(canvas)
    assert len(boxes) == 2
    areas = [(r - left) * (b - t) for left, t, r, b in boxes]
    assert areas[0] > areas[1]
    assert boxes[0][0] > 280 and boxes[1][2] < 160  # large face on the right, small on the left


def test_upscales_small_images_to_find_a_64px_face(face_analyzer, astronaut_rgb):
    face64 = np.asarray(Image.fromarray(astronaut_rgb[20:240, 120:340]).resize((64, 64), Image.Resampling.BICUBIC))
    boxes = face_analyzer.landmark_detector.detect(face64)
    assert len(boxes) == 1
    left, top, right, bottom = boxes[0]
    assert 10 <= right - left <= 50 and 0 <= left < right <= 64  # in the 64x64 image's coordinates


def test_landmarks_in_image_coordinates(face_analyzer, astronaut_rgb):
    detector = face_analyzer.landmark_detector
    lms = detector.landmarks(astronaut_rgb, ASTRONAUT_FACE)
    assert lms.shape == (68, 2) and lms.dtype == np.float32
    left, top, right, bottom = ASTRONAUT_FACE
    assert left - 10 < lms[:, 0].min() and lms[:, 0].max() < right + 10
    assert lms[36:48, 1].mean() < lms[30, 1] < lms[48:68, 1].mean()  # eyes above nose tip above mouth
    # the same face in a shifted photo: the landmarks shift with it
    shifted = np.zeros((600, 600, 3), np.uint8)
    shifted[50:562, 30:542] = astronaut_rgb
    moved = detector.landmarks(shifted, (left + 30, top + 50, right + 30, bottom + 50))
    np.testing.assert_allclose(moved - lms, np.tile([30, 50], (68, 1)), atol=1)


def test_shipped_detector_file_is_dlibs_own_frontal_detector(tmp_path, astronaut_rgb):
    """face/data/frontal_face_detector.svm is what dlib.get_frontal_face_detector() saves, byte for byte (it loads
    in 2 ms where dlib's own build takes a second), and finds the same faces with the same scores."""
    import dlib

    built = dlib.get_frontal_face_detector()
    built.save(str(tmp_path / "built.svm"))
    assert (tmp_path / "built.svm").read_bytes() == FRONTAL_DETECTOR.read_bytes(), (
        "regenerate: python -c \"import dlib; dlib.get_frontal_face_detector().save('" + str(FRONTAL_DETECTOR) + "')\"")
    loaded = frontal_face_detector()
    assert str(built.run(astronaut_rgb, 1, 0.0)) == str(loaded.run(astronaut_rgb, 1, 0.0))
