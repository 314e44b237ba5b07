"""A tiny MT-layout folder built from the two license-clear built-in faces (never from a data set).

Faces are cropped like PSGAN does, varied (flip, small rotation, colour shift), given MT label maps drawn from
their landmarks (``face.parsing.parsing_from_landmarks``), and the "makeup" ones get painted lips and eye
shadow. Two extra source photos must be skipped: one holds no face at all (dlib fails on it), one has a label
map in another label convention.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from lrmakeup.face import FaceAnalyzer, parsing_from_landmarks, psgan_crop_box
from lrmakeup.face.parsing import MT

CROP = 160  # side of the test "MT photos"

# name -> (built-in fixture, flip, rotation degrees, RGB gain, lip colour or None, eye-shadow colour or None)
NON_MAKEUP = {
    "astro": ("astronaut_rgb", False, 0.0, (1.0, 1.0, 1.0), None, None),
    "grace": ("grace_hopper_rgb", False, 0.0, (1.0, 1.0, 1.0), None, None),
    "astro_warm": ("astronaut_rgb", True, 0.0, (1.08, 1.0, 0.9), None, None),
}
MAKEUP = {
    "grace_red": ("grace_hopper_rgb", False, 3.0, (1.0, 1.0, 1.0), (200, 20, 40), (120, 40, 140)),
    "astro_pink": ("astronaut_rgb", False, -3.0, (1.0, 0.97, 1.0), (230, 60, 150), (40, 90, 200)),
    "grace_flip": ("grace_hopper_rgb", True, 0.0, (0.95, 1.0, 1.08), (120, 10, 30), (90, 60, 30)),
}


def _square_face(photo: np.ndarray, analyzer: FaceAnalyzer) -> np.ndarray:
    box = psgan_crop_box(analyzer.detect(photo)[0], photo.shape[:2])
    crop = photo[box[1]:box[3], box[0]:box[2]]
    return np.asarray(Image.fromarray(crop).resize((CROP, CROP), Image.Resampling.BICUBIC))


def _vary(face: np.ndarray, flip: bool, degrees: float, gain: tuple) -> np.ndarray:
    if flip:
        face = face[:, ::-1]
    if degrees:
        m = cv2.getRotationMatrix2D((CROP / 2, CROP / 2), degrees, 1.0)
        face = cv2.warpAffine(np.ascontiguousarray(face), m, (CROP, CROP), flags=cv2.INTER_CUBIC,
                              borderMode=cv2.BORDER_REFLECT)
    return np.clip(face.astype(np.float32) * np.array(gain, np.float32), 0, 255).astype(np.uint8)


def label_map(face: np.ndarray, analyzer: FaceAnalyzer) -> np.ndarray:
    """An MT label map of a face crop, drawn from its dlib landmarks."""
    detector = analyzer.landmark_detector
    return parsing_from_landmarks(detector.landmarks(face, detector.detect(face)[0]), face.shape[0])


def paint(face: np.ndarray, seg: np.ndarray, lips: tuple, shadow: tuple) -> np.ndarray:
    """Lipstick on labels 7 + 9 and a soft eye shadow on the skin around the eyes."""
    out = face.astype(np.float32)
    lip = np.isin(seg, (MT.UPPER_LIP, MT.LOWER_LIP)).astype(np.float32)
    eyes = np.isin(seg, (MT.LEFT_EYE, MT.RIGHT_EYE)).astype(np.uint8)
    around = cv2.dilate(eyes, np.ones((13, 13), np.uint8)).astype(bool) & np.isin(seg, (MT.SKIN, MT.NOSE))
    for mask, colour, alpha in ((around.astype(np.float32), shadow, 0.6), (lip, lips, 0.75)):
        w = cv2.GaussianBlur(mask, (0, 0), 1.0)[..., None] * alpha
        out = out * (1 - w) + np.array(colour, np.float32) * w
    return np.clip(out, 0, 255).astype(np.uint8)


def build_mt(root: Path, photos: dict[str, np.ndarray], analyzer: FaceAnalyzer) -> dict[str, tuple]:
    """Write the MT layout under ``root``; returns name -> (image, seg) as written."""
    written = {}
    for kind, table in (("non-makeup", NON_MAKEUP), ("makeup", MAKEUP)):
        (root / "images" / kind).mkdir(parents=True)
        (root / "segs" / kind).mkdir(parents=True)
        names = []
        for name, (photo, flip, degrees, gain, lips, shadow) in table.items():
            face = _vary(_square_face(photos[photo], analyzer), flip, degrees, gain)
            seg = label_map(face, analyzer)
            if lips is not None:
                face = paint(face, seg, lips, shadow)
            rel = f"{kind}/{name}.png"
            Image.fromarray(face).save(root / "images" / rel)
            Image.fromarray(seg).save(root / "segs" / rel)
            written[rel] = (face, seg)
            names.append(rel)
        if kind == "non-makeup":
            # a photo without a face: dlib fails, prepare must skip it
            y, x = np.mgrid[0:CROP, 0:CROP]
            flat = np.stack([x, y, np.full_like(x, 128)], -1).astype(np.uint8)
            # a face whose label map uses another convention (skin 4, background 12): prepare must skip it
            face, seg = written["non-makeup/grace.png"]
            wrong = np.array([12, 4, 2, 3, 1, 5, 6, 7, 8, 9, 10, 11, 0, 13], np.uint8)[seg]
            for rel, image, labels in (("non-makeup/noface.png", flat, np.zeros((CROP, CROP), np.uint8)),
                                       ("non-makeup/grace_badseg.png", face[:, ::-1], wrong[:, ::-1])):
                Image.fromarray(np.ascontiguousarray(image)).save(root / "images" / rel)
                Image.fromarray(np.ascontiguousarray(labels)).save(root / "segs" / rel)
                names.append(rel)
        (root / f"{kind}.txt").write_text("\n".join(names) + "\n")
    return written


@pytest.fixture(scope="session")
def mt_folder(tmp_path_factory, astronaut_rgb, grace_hopper_rgb, face_analyzer) -> Path:
    """A fresh tiny MT-layout folder: 5 non-makeup photos (2 to be skipped) and 3 makeup photos."""
    root = tmp_path_factory.mktemp("mt")
    build_mt(root, {"astronaut_rgb": astronaut_rgb, "grace_hopper_rgb": grace_hopper_rgb}, face_analyzer)
    return root


def _official_psgan_shapes() -> dict[str, tuple]:
    """The published G.pth layout, from the models tests (one definition in the test suite)."""
    path = Path(__file__).resolve().parents[1] / "models" / "test_psgan_import.py"
    spec = importlib.util.spec_from_file_location("lrmakeup_tests_psgan_import", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.official_psgan_shapes()


@pytest.fixture(scope="session")
def stand_in_g(tmp_path_factory) -> Path:
    """A random G.pth with PSGAN's official key names and shapes (small std so activations stay sane)."""
    g = torch.Generator().manual_seed(0)
    state = {k: torch.randn(*shape, generator=g) * 0.02 for k, shape in _official_psgan_shapes().items()}
    path = tmp_path_factory.mktemp("psgan") / "G.pth"
    torch.save(state, path)
    return path
