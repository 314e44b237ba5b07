"""From a photo to everything the generator needs for one face (METHOD §1 and §5).

photo -> dlib face box -> PSGAN square crop -> 64x64 ``x_LR`` (antialiased bicubic) -> bicubic 256x256
``image_up`` -> 68 landmarks on ``image_up`` -> MT parsing (given, or drawn from the landmarks) ->
region masks (3, 64, 64) and position features (136, 64, 64).
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image

from lrmakeup.errors import InputError, LRMakeupWarning, NoFaceError
from lrmakeup.face.crop import Box, box_iou, fallback_face_box, map_box, psgan_crop_box
from lrmakeup.face.crop import crop as crop_image
from lrmakeup.face.io import check_rgb_image
from lrmakeup.face.landmarks import LandmarkDetector
from lrmakeup.face.parsing import convert_parsing, parsing_from_landmarks, refine_forehead
from lrmakeup.face.regions import nearest_resize, position_features, region_masks


@dataclass
class FaceAnalysis:
    """One analysed face. Coordinates of ``landmarks`` and ``parsing`` are those of ``image_up``."""

    image_lr: np.ndarray  # (64, 64, 3) uint8 RGB: the model's low-resolution input x_LR
    image_up: np.ndarray  # (256, 256, 3) uint8: bicubic up-sampling of image_lr (what every module sees)
    landmarks: np.ndarray  # (68, 2) float32 (x, y) in image_up's 256-pixel coordinates
    parsing: np.ndarray  # (256, 256) uint8 MT labels
    masks: np.ndarray  # (3, 64, 64) float32, REGIONS order
    pos: np.ndarray  # (136, 64, 64) float32
    crop_box: Box  # (l, t, r, b) of the face crop in the original photo
    face_box: Box  # dlib's box in the original photo
    num_faces: int  # faces dlib found in the photo


TINY_FACE = 24  # faces shorter than this (photo pixels) are blown up to the 64x64 input: warn


def resize_bicubic(image: np.ndarray, size: int) -> np.ndarray:
    """(H, W, 3) uint8 -> (size, size, 3) uint8 with Pillow's bicubic filter (antialiased when shrinking)."""
    return np.asarray(Image.fromarray(image).resize((size, size), Image.Resampling.BICUBIC))


class FaceAnalyzer:
    """Turns photos into :class:`FaceAnalysis`; dlib's models are loaded once and reused."""

    def __init__(
        self,
        predictor_path: str | os.PathLike | None = None,
        input_size: int = 64,
        image_size: int = 256,
        feature_size: int = 64,
        eye_margin: int = 16,
    ):
        self.input_size = input_size
        self.image_size = image_size
        self.feature_size = feature_size
        self.eye_margin = eye_margin
        self.landmark_detector = LandmarkDetector(predictor_path)

    def detect(self, image: np.ndarray) -> list[Box]:
        """Face boxes in a photo (H, W, 3) uint8 RGB, largest first."""
        return self.landmark_detector.detect(image)

    def analyze(
        self,
        image: np.ndarray,
        face_index: int | None = None,
        parsing: np.ndarray | None = None,
        parsing_format: str = "mt",
        crop: bool = True,
        name: str = "the image",
        role: str | None = None,
        boxes: list[Box] | None = None,
    ) -> FaceAnalysis:
        """Analyse one face of ``image`` (H, W, 3) uint8 RGB.

        crop=True: detect faces (largest first; ``face_index`` picks one) and take PSGAN's square crop.
        crop=False: the image is already a face crop (e.g. an MT photo); its centred square is used.
        ``parsing``: an optional (H, W) label map of ``image`` in ``parsing_format``; without it the MT map is
        drawn from the landmarks. ``name`` names the image in error messages, ``role`` ("source", "reference")
        is carried by a :class:`NoFaceError`. ``boxes``: this image's :meth:`detect` result, when already known.
        A face shorter than ``TINY_FACE`` pixels gives an :class:`LRMakeupWarning` (the result will be blurry).
        """
        image = check_rgb_image(image, name)
        height, width = image.shape[:2]
        faces = self.detect(image) if boxes is None else list(boxes)
        if face_index is not None and not 0 <= face_index < max(len(faces), 1):
            raise NoFaceError(f"face index {face_index} is out of range: {len(faces)} face(s) found in {name}", role)
        if crop:
            if not faces:
                raise NoFaceError(f"no face found in {name}", role)
            face_box = faces[face_index or 0]
            crop_box = psgan_crop_box(face_box, (height, width))
            if face_box[3] - face_box[1] < TINY_FACE:
                warnings.warn(f"the face in {name} is only {face_box[3] - face_box[1]} pixels tall: it is enlarged "
                              f"to the {self.input_size}x{self.input_size} input, expect a blurry result",
                              LRMakeupWarning, stacklevel=2)
        else:
            side = min(height, width)
            left, top = (width - side) // 2, (height - side) // 2
            crop_box = (left, top, left + side, top + side)
            fallback = fallback_face_box(side)
            face_box = faces[face_index or 0] if faces else _shift(fallback, left, top)

        image_lr = resize_bicubic(crop_image(image, crop_box), self.input_size)
        image_up = resize_bicubic(image_lr, self.image_size)
        landmarks = self._landmarks(image_up, map_box(face_box, crop_box, self.image_size))
        if parsing is None:
            parsing_up = refine_forehead(parsing_from_landmarks(landmarks, self.image_size), image_up, landmarks)
        else:
            parsing_up = self._crop_parsing(parsing, parsing_format, crop_box, (height, width))
        masks = region_masks(parsing_up, landmarks, self.feature_size, self.eye_margin)
        pos = position_features(landmarks, masks, self.image_size)
        return FaceAnalysis(
            image_lr=image_lr,
            image_up=image_up,
            landmarks=landmarks,
            parsing=parsing_up,
            masks=masks,
            pos=pos,
            crop_box=crop_box,
            face_box=face_box,
            num_faces=len(faces),
        )

    def _landmarks(self, image_up: np.ndarray, expected: Box) -> np.ndarray:
        """Landmarks (68, 2) on ``image_up``, using the detection there that best overlaps ``expected``.

        dlib usually finds the face again at 256x256; when it does not (a 64x64 face can be too blurry),
        the expected box (the photo's face box mapped into the crop, or the fallback box) is used.
        """
        boxes = self.landmark_detector.detect(image_up)
        best = max(boxes, key=lambda b: box_iou(b, expected), default=None)
        box = best if best is not None and box_iou(best, expected) > 0 else expected
        return self.landmark_detector.landmarks(image_up, box)

    def _crop_parsing(self, parsing: np.ndarray, fmt: str, crop_box: Box, image_hw: tuple[int, int]) -> np.ndarray:
        """A parser's (H, W) map of the photo -> (image_size, image_size) MT labels of the crop."""
        parsing = convert_parsing(parsing, fmt)
        if parsing.shape != image_hw:
            raise InputError(f"the parsing map has shape {parsing.shape} but the image is {image_hw[0]}x{image_hw[1]}")
        return np.ascontiguousarray(nearest_resize(crop_image(parsing, crop_box), self.image_size))


def _shift(box: Box, dx: int, dy: int) -> Box:
    return box[0] + dx, box[1] + dy, box[2] + dx, box[3] + dy


def center_face_index(boxes: list[Box], image_hw: tuple[int, int]) -> int:
    """Index of the box whose centre lies nearest the image centre (GFPGAN's ``--only_center_face``)."""
    if not boxes:
        raise NoFaceError("no face found")
    cy, cx = image_hw[0] / 2.0, image_hw[1] / 2.0
    return min(range(len(boxes)),
               key=lambda i: ((boxes[i][0] + boxes[i][2]) / 2 - cx) ** 2 + ((boxes[i][1] + boxes[i][3]) / 2 - cy) ** 2)
