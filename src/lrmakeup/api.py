"""The Python API: ``MakeupTransfer.from_checkpoint(path).transfer(source, reference)``.

Everything a user needs in three lines: it reads images (paths or arrays), finds and crops the faces,
reduces them to the model's 64x64 inputs, runs the generator and returns the 256x256 result together with the
low-resolution stage and the estimated priors for inspection.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Union

import numpy as np
import torch

from .checkpoint import load_generator, save_generator
from .config import Config
from .errors import InputError
from .face import FaceAnalysis, FaceAnalyzer, read_image
from .face.paste import paste_back
from .models import REGIONS, FaceBatch, LRMakeupGenerator, Reference
from .models.inputs import to_uint8_image
from .models.psgan import load_psgan_makeup

ImageLike = Union[str, Path, np.ndarray, FaceAnalysis]
SHIPPED_WEIGHTS = Path(__file__).parent / "weights" / "demo.safetensors"  # see docs/demo-weights.md


@dataclass
class MakeupControls:
    """How much makeup, where, and from which reference (all factors in [0, 1]).

    intensity scales every region; ``regions`` scales lips / skin / eyes separately (they multiply).
    ``references`` takes a region's makeup from its own reference image (partial transfer), e.g.
    ``{"lips": "red.jpg"}``. ``blend`` interpolates the main reference with a second one:
    ``(second_reference, t)`` gives (1 - t) of the first and t of the second.
    Implemented by scaling the warped makeup matrices γ', β' per region (models.generator.Reference).
    """

    intensity: float = 1.0
    regions: Mapping[str, float] = field(default_factory=dict)
    references: Mapping[str, "ImageLike"] = field(default_factory=dict)
    blend: tuple["ImageLike", float] | None = None

    def validate(self) -> None:
        values = {"intensity": self.intensity, **{f"{k} intensity": v for k, v in self.regions.items()}}
        if self.blend is not None:
            values["blend weight"] = self.blend[1]
        for name, value in values.items():
            if not 0.0 <= float(value) <= 1.0:
                raise InputError(f"{name} must lie in [0, 1], got {value}")
        for region in (*self.regions, *self.references):
            if region not in REGIONS:
                raise InputError(f"unknown region '{region}' (choose from {', '.join(REGIONS)})")

    def scale(self) -> list[float]:
        """Per-region factors (REGIONS order) from the global and regional intensities."""
        return [self.intensity * float(self.regions.get(r, 1.0)) for r in REGIONS]


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
    def default(cls, device: str = "cpu") -> "MakeupTransfer":
        """The shipped demo weights when the package has them, else an untrained paper-size model."""
        return cls.from_checkpoint(SHIPPED_WEIGHTS, device) if SHIPPED_WEIGHTS.is_file() else cls.untrained(device=device)

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

    def analyzed(self, controls: MakeupControls) -> MakeupControls:
        """``controls`` with its per-region and blend references analysed once (for many transfers)."""
        return MakeupControls(
            controls.intensity, controls.regions,
            {region: self.analyze(image) for region, image in controls.references.items()},
            None if controls.blend is None else (self.analyze(controls.blend[0]), controls.blend[1]),
        )

    def references(self, reference: FaceAnalysis, controls: MakeupControls,
                   reference_face: int | None = None) -> list[Reference]:
        """The generator's reference list for ``controls``: which face gives which region, how strongly."""
        base = controls.scale()
        own = [0.0 if r in controls.references else 1.0 for r in REGIONS]  # regions the main reference keeps
        t = controls.blend[1] if controls.blend is not None else 0.0
        refs = [(reference, [b * o * (1 - t) for b, o in zip(base, own)])]
        if controls.blend is not None:
            refs.append((self.analyze(controls.blend[0], reference_face), [b * o * t for b, o in zip(base, own)]))
        for region, image in controls.references.items():
            refs.append((self.analyze(image), [b if r == region else 0.0 for b, r in zip(base, REGIONS)]))
        return [Reference(self.batch(face), torch.tensor([scale], device=self.device)) for face, scale in refs]

    @torch.inference_mode()
    def transfer(self, source: ImageLike, reference: ImageLike, source_face: int | None = None,
                 reference_face: int | None = None, controls: MakeupControls | None = None) -> TransferResult:
        """Transfer the reference's makeup onto the source; both are reduced to 64x64 faces first."""
        controls = controls or MakeupControls()
        controls.validate()
        src = self.analyze(source, source_face)
        ref = self.analyze(reference, reference_face)
        makeup, sr = self.model(self.batch(src), self.references(ref, controls, reference_face))
        return TransferResult(
            image=to_uint8_image(sr.image),
            image_lr=to_uint8_image(makeup.image),
            heatmaps=sr.heatmaps[0].float().cpu().numpy(),
            parsing=sr.parsing[0].argmax(0).byte().cpu().numpy(),
            source=src,
            reference=ref,
        )


    def transfer_photo(self, photo: np.ndarray, reference: ImageLike, faces: list[int] | None = None,
                       reference_face: int | None = None, controls: MakeupControls | None = None
                       ) -> tuple[np.ndarray, list[TransferResult]]:
        """The full-photo workflow: transfer onto each face in ``faces`` (default: the largest) and blend each
        256x256 result back into the photo at the face's place. Returns (photo, per-face results)."""
        ref = self.analyze(reference, reference_face)
        out, results = photo, []
        for index in faces or [None]:
            result = self.transfer(photo, ref, index, reference_face, controls)
            out = paste_back(out, result.source.crop_box, result.image, result.source.parsing)
            results.append(result)
        return out, results


def wants_paste_back(photo: np.ndarray, face: FaceAnalysis, output_size: int, fraction: float = 0.9) -> bool:
    """Whether the full-photo output makes sense: the photo is larger than the model's output and the face
    crop is only part of it. A small photo (e.g. a 64x64 face) or a photo that is itself a face crop gets
    the ``output_size`` face instead, which holds more detail than the photo could."""
    left, _, right, _ = face.crop_box
    return min(photo.shape[:2]) > output_size and right - left < fraction * min(photo.shape[:2])


def import_psgan(psgan_path: str | Path, output: str | Path, config: Config | None = None) -> int:
    """Convert PSGAN's published ``G.pth`` into an lrmakeup checkpoint (makeup modules = PSGAN, SR random)."""
    config = config or Config()
    torch.manual_seed(0)
    model = LRMakeupGenerator(config.model)
    n = load_psgan_makeup(model, psgan_path)
    save_generator(output, model, config, {"psgan": Path(psgan_path).name, "makeup_modules": "PSGAN G.pth",
                                           "sr_modules": "random init", "untrained_sr": True})
    return n
