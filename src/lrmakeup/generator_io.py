"""The generator's inputs and outputs for one source face, as numpy arrays (no torch).

Both backends of :class:`lrmakeup.api.TransferEngine` take and give these: PyTorch wraps them in tensors
(``FaceBatch``, ``Reference``), onnxruntime feeds them to the exported graph as they are. So the two see the
same numbers by construction, and the control logic (which reference gives which region, how strongly) and
the conversion back to images exist once.

Shapes for the shipped (compact) model: M = model.makeup_size = 64 (256 for the paper's layout),
F = model.feature_size = 64, S = model.image_size = 256.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .face.analysis import FaceAnalysis


@dataclass
class FaceInputs:
    """One face as the generator reads it (a ``FaceBatch`` of one, without the batch axis)."""

    image: np.ndarray  # (3, M, M) float32 in [-1, 1]
    masks: np.ndarray  # (3, F, F) float32 in {0, 1}, REGIONS order
    pos: np.ndarray  # (136, F, F) float32 relative-position features

    @classmethod
    def from_analysis(cls, face: FaceAnalysis, resolution: str) -> FaceInputs:
        """The face's 64x64 input itself (``model.makeup.resolution`` "input") or its bicubic 256 up-sampling
        ("upsampled", PSGAN's layout), with its region masks and position features."""
        image = face.image_lr if resolution == "input" else face.image_up
        return cls(signed_image(image), np.array(face.masks, np.float32), np.array(face.pos, np.float32))  # copies

    @classmethod
    def empty_like(cls, other: FaceInputs) -> FaceInputs:
        """A face with no region at all: as a reference it warps nothing (γ' = β' = 0 everywhere)."""
        return cls(*(np.zeros_like(a) for a in (other.image, other.masks, other.pos)))


@dataclass
class ReferenceInputs:
    """One makeup reference and its per-region factors (lips, skin, eyes), as ``models.generator.Reference``."""

    face: FaceInputs
    region_scale: list[float]


@dataclass
class GeneratorOutput:
    """What the generator gives for one source face (G_S(G_M(x, y)), METHOD §1)."""

    sr_image: np.ndarray  # x̃_SR (3, S, S) float32 in [-1, 1]
    lr_image: np.ndarray  # x̃_LR (3, M, M)
    heatmaps: np.ndarray  # (68, F, F) estimated landmark heatmaps
    parsing: np.ndarray  # (14, F, F) parsing logits (MT labels)
    gamma: np.ndarray  # γ' (1, F, F) warped makeup matrix
    beta: np.ndarray  # β' (1, F, F)


def signed_image(image: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 RGB -> (3, H, W) float32 in [-1, 1] (x / 127.5 - 1, as ``FaceBatch.from_arrays``)."""
    chw = np.ascontiguousarray(np.asarray(image, dtype=np.uint8).transpose(2, 0, 1))
    return chw.astype(np.float32) / np.float32(127.5) - np.float32(1.0)


def uint8_image(image: np.ndarray) -> np.ndarray:
    """(3, H, W) float in [-1, 1] -> (H, W, 3) uint8 RGB (round half to even, as ``models.inputs.to_uint8_image``)."""
    scaled = (np.clip(np.asarray(image, np.float32), -1.0, 1.0) + np.float32(1.0)) * np.float32(127.5)
    return np.ascontiguousarray(np.round(scaled).astype(np.uint8).transpose(1, 2, 0))
