"""License-clear faces that ship with lrmakeup's dependencies (no download, no research-only photos)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import InputError

BUILTIN_FACES = ("astronaut", "grace_hopper")
# The demo reference: Grace Hopper wearing this renderer look (style, seed): a deep plum lipstick and eye shadow.
# Seed 0's pale pink lipstick lies within 12 ΔE00 of the astronaut's own lips, too close to show a transfer.
DEMO_LOOK = ("dramatic", 6)


def builtin_face(name: str) -> np.ndarray:
    """(H, W, 3) uint8 RGB: ``astronaut`` (scikit-image, public domain) or ``grace_hopper`` (matplotlib)."""
    if name == "astronaut":
        from skimage import data

        return np.ascontiguousarray(data.astronaut())
    if name == "grace_hopper":
        import matplotlib

        from ..face.io import read_image

        return read_image(Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg")
    raise InputError(f"unknown built-in face '{name}' (choose from {', '.join(BUILTIN_FACES)})")


def builtin_made_up(name: str, style: str = DEMO_LOOK[0], seed: int = DEMO_LOOK[1], detector=None) -> np.ndarray:
    """A built-in face wearing a renderer-made look (``sample_look(seed, style)``): a license-clear makeup
    reference that is identical on every run. ``detector``: a ``face.LandmarkDetector`` to reuse."""
    from ..face import LandmarkDetector
    from .synthetic import render, sample_look

    face = builtin_face(name)
    detector = detector or LandmarkDetector()
    boxes = detector.detect(face)
    if not boxes:
        raise InputError(f"no face found in the built-in face '{name}'")
    return render(face, detector.landmarks(face, boxes[0]), sample_look(seed, style))
