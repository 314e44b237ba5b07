"""Face analysis (METHOD §5): image I/O, dlib detection and landmarks, PSGAN's crop, MT parsing maps,
region masks and relative-position features, and :class:`FaceAnalyzer`, which chains them for one face."""

from lrmakeup.face.analysis import FaceAnalysis, FaceAnalyzer, resize_bicubic
from lrmakeup.face.crop import Box, crop, fallback_face_box, psgan_crop_box
from lrmakeup.face.io import check_rgb_image, decode_image, read_image, write_image
from lrmakeup.face.landmarks import LandmarkDetector, shape_predictor_path
from lrmakeup.face.parsing import (
    BISENET_TO_MT,
    CELEBAMASK_TO_MT,
    MT,
    convert_parsing,
    parsing_from_landmarks,
    refine_forehead,
)
from lrmakeup.face.regions import landmark_heatmaps, nearest_resize, position_features, region_masks

__all__ = [
    "BISENET_TO_MT",
    "Box",
    "CELEBAMASK_TO_MT",
    "FaceAnalysis",
    "FaceAnalyzer",
    "LandmarkDetector",
    "MT",
    "check_rgb_image",
    "convert_parsing",
    "crop",
    "decode_image",
    "fallback_face_box",
    "landmark_heatmaps",
    "nearest_resize",
    "parsing_from_landmarks",
    "refine_forehead",
    "position_features",
    "psgan_crop_box",
    "read_image",
    "region_masks",
    "resize_bicubic",
    "shape_predictor_path",
    "write_image",
]
