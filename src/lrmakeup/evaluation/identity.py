"""Identity preservation with dlib's face-recognition ResNet (128-D descriptor, shipped in face-recognition-models).

Two photos of the same person are usually closer than 0.6 (dlib's threshold). The descriptor of a generated
face is taken with the landmarks of the sharp source it came from (same geometry), so a result whose face
dlib would no longer detect is still scored rather than dropped.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import InputError
from ..face.landmarks import face_models_file

RECOGNITION_FILENAME = "dlib_face_recognition_resnet_model_v1.dat"


def recognition_model_path() -> Path:
    """The ResNet file inside the face-recognition-models package."""
    found = face_models_file(RECOGNITION_FILENAME)
    if found is None:
        raise InputError(f"{RECOGNITION_FILENAME} not found: install face-recognition-models")
    return found


class IdentityEncoder:
    """image (H, W, 3) uint8 + its 68 landmarks (x, y) -> the 128-D dlib face descriptor."""

    def __init__(self, path: str | Path | None = None):
        import dlib

        self._dlib = dlib
        self.model = dlib.face_recognition_model_v1(str(path or recognition_model_path()))

    def __call__(self, image: np.ndarray, landmarks_xy: np.ndarray) -> np.ndarray:
        dlib = self._dlib
        pts = np.asarray(landmarks_xy, dtype=np.float64)
        left, top = np.floor(pts.min(0)).astype(int)
        right, bottom = np.ceil(pts.max(0)).astype(int)
        shape = dlib.full_object_detection(dlib.rectangle(int(left), int(top), int(right), int(bottom)),
                                           [dlib.point(int(round(x)), int(round(y))) for x, y in pts])
        return np.asarray(self.model.compute_face_descriptor(np.ascontiguousarray(image), shape), dtype=np.float64)


def identity_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Euclidean distance of two descriptors (< 0.6: the same person, by dlib's convention)."""
    return float(np.linalg.norm(np.asarray(a) - np.asarray(b)))
