"""Fixtures shared by the whole test suite. Test images come from installed packages, never from data sets."""

from __future__ import annotations

import os

import numpy as np
import pytest


@pytest.fixture(scope="session")
def astronaut_rgb() -> np.ndarray:
    """scikit-image's astronaut (Eileen Collins): (512, 512, 3) uint8 RGB, one frontal face."""
    import skimage.data

    return skimage.data.astronaut()


@pytest.fixture(scope="session")
def grace_hopper_rgb() -> np.ndarray:
    """matplotlib's Grace Hopper portrait: (600, 512, 3) uint8 RGB, one frontal face."""
    import matplotlib

    from lrmakeup.face.io import read_image

    return read_image(os.path.join(matplotlib.get_data_path(), "sample_data", "grace_hopper.jpg"))


@pytest.fixture(scope="session")
def face_analyzer():
    """One FaceAnalyzer (dlib models loaded once) for every test that needs detection or landmarks."""
    from lrmakeup.face.analysis import FaceAnalyzer

    return FaceAnalyzer()
