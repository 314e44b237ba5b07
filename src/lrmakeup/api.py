"""The Python API: ``MakeupTransfer.from_checkpoint(path).transfer(source, reference)``.

Everything a user needs in three lines: it reads images (paths or arrays), finds and crops the faces,
reduces them to the model's 64x64 inputs, runs the generator and returns the 256x256 result together with the
low-resolution stage and the estimated priors for inspection.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Union

import numpy as np
import torch

from .checkpoint import load_generator, save_generator
from .config import Config
from .errors import InputError
from .face import FaceAnalysis, FaceAnalyzer, read_image
from .models import FaceBatch, LRMakeupGenerator, Reference
from .models.inputs import to_uint8_image
from .models.psgan import load_psgan_makeup

ImageLike = Union[str, Path, np.ndarray, FaceAnalysis]


@dataclass
class TransferResult:
    image: np.ndarray  # (256, 256, 3) uint8: x̃_SR, the source wearing the reference's makeup
    image_lr: np.ndarray  # (256, 256, 3) uint8: x̃_LR, the low-detail makeup-transfer stage
    heatmaps: np.ndarray  # (68, 64, 64) float32 estimated landmark heatmaps
    parsing: np.ndarray  # (64, 64) uint8 estimated parsing (MT labels)
    source: FaceAnalysis
    reference: FaceAnalysis


def resolve_device(name: str) -> torch.device:
    """'cpu', 'cuda', 'cuda:N' or 'auto' -> a usable torch.device (InputError when CUDA is absent)."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise InputError(f"unknown device '{name}' (use cpu, cuda, cuda:N or auto)") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise InputError("--device cuda was asked for but no CUDA GPU is available")
    if device.type not in ("cpu", "cuda"):
        raise InputError(f"unsupported device '{name}' (use cpu, cuda, cuda:N or auto)")
    return device


class MakeupTransfer:
    """A generator ready for inference, with the face analysis that feeds it."""

    def __init__(self, model: LRMakeupGenerator, config: Config, device: str | torch.device = "cpu",
                 provenance: dict | None = None, analyzer: FaceAnalyzer | None = None):
        self.device = resolve_device(device) if isinstance(device, str) else device
        self.model = model.to(self.device).eval()
        self.config = config
        self.provenance = provenance or {}
        self.analyzer = analyzer or FaceAnalyzer(
            input_size=config.model.input_size, image_size=config.model.image_size,
            feature_size=config.model.feature_size,
        )

    @property
    def trained(self) -> bool:
        return not self.provenance.get("untrained", False)

    @classmethod
    def from_checkpoint(cls, path: str | Path, device: str = "cpu") -> "MakeupTransfer":
        dev = resolve_device(device)
        model, config, provenance = load_generator(path, dev)
        return cls(model, config, dev, provenance)

    @classmethod
    def untrained(cls, config: Config | None = None, device: str = "cpu", seed: int = 0) -> "MakeupTransfer":
        """A randomly initialised model (paper size by default): the full pipeline, meaningless colours."""
        config = config or Config()
        torch.manual_seed(seed)
        return cls(LRMakeupGenerator(config.model), config, device, {"untrained": True, "seed": seed})

    def analyze(self, image: ImageLike, face_index: int | None = None) -> FaceAnalysis:
        """Read (if a path), find the face, crop and reduce it to the model's 64x64 input, and analyse it."""
        if isinstance(image, FaceAnalysis):
            return image
        if isinstance(image, (str, Path)):
            image = read_image(image)
        return self.analyzer.analyze(image, face_index=face_index)

    def batch(self, face: FaceAnalysis) -> FaceBatch:
        return FaceBatch.from_arrays(face.image_up, face.masks, face.pos).to(self.device)

    @torch.inference_mode()
    def transfer(self, source: ImageLike, reference: ImageLike, source_face: int | None = None,
                 reference_face: int | None = None) -> TransferResult:
        """Transfer the reference's makeup onto the source; both are reduced to 64x64 faces first."""
        src = self.analyze(source, source_face)
        ref = self.analyze(reference, reference_face)
        makeup, sr = self.model(self.batch(src), [Reference(self.batch(ref))])
        return TransferResult(
            image=to_uint8_image(sr.image),
            image_lr=to_uint8_image(makeup.image),
            heatmaps=sr.heatmaps[0].float().cpu().numpy(),
            parsing=sr.parsing[0].argmax(0).byte().cpu().numpy(),
            source=src,
            reference=ref,
        )


def import_psgan(psgan_path: str | Path, output: str | Path, config: Config | None = None) -> int:
    """Convert PSGAN's published ``G.pth`` into an lrmakeup checkpoint (makeup modules = PSGAN, SR random)."""
    config = config or Config()
    torch.manual_seed(0)
    model = LRMakeupGenerator(config.model)
    n = load_psgan_makeup(model, psgan_path)
    save_generator(output, model, config, {"psgan": Path(psgan_path).name, "makeup_modules": "PSGAN G.pth",
                                           "sr_modules": "random init", "untrained_sr": True})
    return n
