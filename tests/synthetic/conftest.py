"""Shared fixtures for the synthetic-makeup tests: the built-in faces cropped at 256 (dlib run once)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def analyzer256():
    """FaceAnalyzer whose ``image_lr`` is the 256x256 PSGAN crop (as the benchmark uses it)."""
    from lrmakeup.face.analysis import FaceAnalyzer

    return FaceAnalyzer(input_size=256)


@pytest.fixture(scope="session")
def faces256(analyzer256, astronaut_rgb, grace_hopper_rgb):
    """[(image (256, 256, 3) uint8, landmarks (68, 2), parsing (256, 256) uint8)] for astronaut, grace_hopper."""
    out = []
    for photo in (astronaut_rgb, grace_hopper_rgb):
        analysis = analyzer256.analyze(photo)
        assert analysis.image_lr.shape == (256, 256, 3)
        out.append((analysis.image_lr, analysis.landmarks, analysis.parsing))
    return out


@pytest.fixture(scope="session")
def full_look():
    """A look with every product on, strong enough to see."""
    from lrmakeup.data.synthetic import Blush, BrowTint, Eyeliner, EyeShadow, Foundation, Lipstick, MakeupLook

    return MakeupLook(
        foundation=Foundation(color=(220, 184, 156), coverage=0.4, smoothing=0.4),
        blush=Blush(color=(236, 132, 142), opacity=0.35, position=(0.2, -0.1), size=0.7),
        eye_shadow=EyeShadow(color=(112, 62, 102), opacity=0.7, extent=0.8, gradient=0.5),
        eyeliner=Eyeliner(color=(22, 20, 22), opacity=1.0, thickness=0.8, wing=0.7),
        brow=BrowTint(color=(62, 46, 36), opacity=0.5),
        lipstick=Lipstick(color=(186, 26, 38), opacity=1.0, gloss=0.5),
        style="test",
    )
