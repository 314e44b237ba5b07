"""dlib face detection and 68-point landmarks, as PSGAN runs them (METHOD §5, "PSGAN preprocessing", "dlib").

Detection follows PSGAN: the image is shrunk so its long side is at most 361 pixels and the frontal
detector runs with one up-sample. dlib does not find faces at 64x64, so images whose long side is under
256 pixels are bicubic-upscaled to 256 first (METHOD §5). Boxes come back in the input image's
coordinates as ``(left, top, right, bottom)`` with exclusive right/bottom (see :mod:`.crop`).
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import cv2
import numpy as np

from lrmakeup.errors import InputError
from lrmakeup.face.crop import Box
from lrmakeup.face.io import check_rgb_image

PREDICTOR_FILENAME = "shape_predictor_68_face_landmarks.dat"
# dlib's frontal face detector as dlib itself saves it (``get_frontal_face_detector().save(path)``: the same bytes,
# checked by tests/face/test_face_landmarks.py). dlib rebuilds it from a compressed string in its source, which
# takes 0.9-1.6 s on a 2-core CPU; reading this file takes 2 ms. dlib is under the Boost Software License.
FRONTAL_DETECTOR = Path(__file__).parent / "data" / "frontal_face_detector.svm"
PREDICTOR_ENV = "LRMAKEUP_SHAPE_PREDICTOR"
NUM_LANDMARKS = 68
DETECT_MAX_SIDE = 361  # PSGAN shrinks photos to this long side before detection
DETECT_MIN_SIDE = 256  # smaller images are upscaled to this long side (dlib misses 64x64 faces)
DETECT_UPSAMPLE = 1


def shape_predictor_path(path: str | os.PathLike | None = None) -> Path:
    """Locate dlib's 68-point model: ``path``, else $LRMAKEUP_SHAPE_PREDICTOR, else face-recognition-models.

    The package ``face_recognition_models`` is located, not imported (importing it needs pkg_resources).
    """
    if path is None:
        path = os.environ.get(PREDICTOR_ENV) or None
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise InputError(f"shape predictor not found: {path}")
        return path
    found = face_models_file(PREDICTOR_FILENAME)
    if found is None:
        raise InputError(
            f"shape predictor {PREDICTOR_FILENAME} not found: install face-recognition-models "
            f"or set {PREDICTOR_ENV} to the file's path"
        )
    return found


def face_models_file(filename: str) -> Path | None:
    """A model file shipped in the face-recognition-models package (located, not imported: it needs
    pkg_resources), or None when the package or the file is missing."""
    spec = importlib.util.find_spec("face_recognition_models")
    for location in (spec.submodule_search_locations or []) if spec is not None else []:
        candidate = Path(location) / "models" / filename
        if candidate.is_file():
            return candidate
    return None


def check_landmarks(landmarks_xy: np.ndarray) -> np.ndarray:
    """Validate 68 landmarks and return them as a (68, 2) float64 array of (x, y) (InputError otherwise)."""
    pts = np.asarray(landmarks_xy, dtype=np.float64)
    if pts.shape != (NUM_LANDMARKS, 2) or not np.isfinite(pts).all():
        raise InputError(f"landmarks must be a finite (68, 2) array of (x, y), got shape {pts.shape}")
    return pts


def frontal_face_detector():
    """dlib's frontal face detector, read from :data:`FRONTAL_DETECTOR` (dlib's own build when it is missing)."""
    import dlib

    if FRONTAL_DETECTOR.is_file():
        return dlib.fhog_object_detector(str(FRONTAL_DETECTOR))
    return dlib.get_frontal_face_detector()


class LandmarkDetector:
    """dlib's frontal face detector and 68-point shape predictor, loaded on first use and then reused."""

    def __init__(self, predictor_path: str | os.PathLike | None = None):
        self.predictor_path = shape_predictor_path(predictor_path)
        self._detector = None
        self._predictor = None

    def _models(self):
        if self._predictor is None:
            import dlib  # imported here so that importing lrmakeup.face stays cheap

            self._detector = frontal_face_detector()
            self._predictor = dlib.shape_predictor(str(self.predictor_path))
        return self._detector, self._predictor

    def detect(self, image: np.ndarray) -> list[Box]:
        """Face boxes in ``image`` (H, W, 3) uint8 RGB, in its coordinates, largest area first."""
        image = check_rgb_image(image)
        detector, _ = self._models()
        height, width = image.shape[:2]
        long_side = max(height, width)
        target = min(max(long_side, DETECT_MIN_SIDE), DETECT_MAX_SIDE)
        scale = target / long_side
        if scale != 1.0:
            size = (max(1, round(width * scale)), max(1, round(height * scale)))
            interpolation = cv2.INTER_AREA if scale < 1.0 else cv2.INTER_CUBIC
            image = cv2.resize(image, size, interpolation=interpolation)
        sx, sy = width / image.shape[1], height / image.shape[0]
        boxes = [
            (
                int(round(r.left() * sx)),
                int(round(r.top() * sy)),
                int(round((r.right() + 1) * sx)),  # dlib's right/bottom are inclusive
                int(round((r.bottom() + 1) * sy)),
            )
            for r in detector(image, DETECT_UPSAMPLE)
        ]
        return sorted(boxes, key=lambda b: (b[2] - b[0]) * (b[3] - b[1]), reverse=True)

    def landmarks(self, image: np.ndarray, box: Box) -> np.ndarray:
        """The 68 dlib landmarks of the face in ``box``: (68, 2) float32 (x, y) in ``image``'s coordinates."""
        import dlib

        image = check_rgb_image(image)
        _, predictor = self._models()
        left, top, right, bottom = (int(v) for v in box)
        if right <= left or bottom <= top:
            raise InputError(f"face box {box} is empty")
        shape = predictor(image, dlib.rectangle(left, top, right - 1, bottom - 1))
        return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float32)
