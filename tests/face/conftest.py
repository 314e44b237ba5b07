"""64x64 test faces: a fixed square around the face of each sample photo, reduced with bicubic."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

FACE_SQUARES = {"astronaut_rgb": (120, 20, 340, 240), "grace_hopper_rgb": (68, 60, 468, 460)}  # (l, t, r, b)


@pytest.fixture(scope="session", params=sorted(FACE_SQUARES))
def face64(request) -> tuple[np.ndarray, np.ndarray]:
    """(the (64, 64, 3) face, its landmarks found on the full photo mapped to 256x256 coordinates)."""
    photo = request.getfixturevalue(request.param)
    left, top, right, bottom = FACE_SQUARES[request.param]
    detector = request.getfixturevalue("face_analyzer").landmark_detector
    reference = (detector.landmarks(photo, detector.detect(photo)[0]) - [left, top]) * 256 / (right - left)
    small = Image.fromarray(photo[top:bottom, left:right]).resize((64, 64), Image.Resampling.BICUBIC)
    return np.asarray(small), reference


@pytest.fixture(scope="session")
def analysis64(face_analyzer, face64):
    """FaceAnalyzer's result on the 64x64 face treated as an existing face crop."""
    return face_analyzer.analyze(face64[0], crop=False)
