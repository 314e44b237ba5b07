"""The Python API: ``MakeupTransfer.from_checkpoint(path).transfer(source, reference)``.

Everything a user needs in three lines: it reads images (paths or arrays), finds and crops the faces,
reduces them to the model's 64x64 inputs, runs the generator and returns the 256x256 result together with the
low-resolution stage and the estimated priors for inspection.

:class:`TransferEngine` holds all of that except running the generator: the face analysis, the makeup controls
(which reference gives which region, how strongly), the conversion back to images and the paste-back. Its two
backends only run the generator on the numpy arrays of :mod:`lrmakeup.generator_io`: :class:`MakeupTransfer`
in PyTorch, ``serving.onnx_runtime.OnnxMakeupTransfer`` in onnxruntime (the CLI's default for the shipped
weights). This module imports no torch: :class:`MakeupTransfer` imports it when it is built.
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

from .config import Config
from .errors import InputError, LRMakeupWarning, NoFaceError
from .face import FaceAnalysis, FaceAnalyzer, read_image
from .face.analysis import center_face_index
from .face.paste import paste_back
from .face.regions import REGIONS
from .generator_io import FaceInputs, GeneratorOutput, ReferenceInputs, uint8_image
from .utils import resolve_device

if TYPE_CHECKING:
    import torch

    from .models import FaceBatch, LRMakeupGenerator, Reference

ImageLike = str | Path | np.ndarray | FaceAnalysis
FaceChoice = int | Literal["all", "largest", "center"] | None  # which faces of a photo; None = "all"
SHIPPED_WEIGHTS = Path(__file__).parent / "weights" / "demo.safetensors"  # see docs/demo-weights.md
# The same weights exported for onnxruntime (the CLI's default engine); its metadata names the sha256 of the
# demo.safetensors it was made from, and a stale export is never used. Remade by weights/export.py --onnx.
SHIPPED_ONNX = SHIPPED_WEIGHTS.with_suffix(".onnx")


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

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """InputError unless every factor is a number in [0, 1] and every region is known."""
        if not isinstance(self.regions, Mapping) or not isinstance(self.references, Mapping):
            raise InputError("regions and references must be mappings from a region name")
        if self.blend is not None and (not isinstance(self.blend, (tuple, list)) or len(self.blend) != 2):
            raise InputError(f"blend must be a (second_reference, weight) pair, got {self.blend!r}")
        values = {"intensity": self.intensity, **{f"{k} intensity": v for k, v in self.regions.items()}}
        if self.blend is not None:
            values["blend weight"] = self.blend[1]
        for name, value in values.items():
            if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0.0 <= float(value) <= 1.0:
                raise InputError(f"{name} must lie in [0, 1], got {value!r}")
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


class TransferEngine:
    """The face analysis and makeup controls around a generator; a backend says how the generator runs.

    Subclasses implement :meth:`generate` (one source face, its references -> :class:`GeneratorOutput`);
    everything else (analysis, controls, results, paste-back) is here, once, for every backend.
    """

    def __init__(self, config: Config, provenance: dict | None = None, analyzer: FaceAnalyzer | None = None):
        self.config = config
        self.provenance = provenance or {}
        self.analyzer = analyzer or FaceAnalyzer(
            input_size=config.model.input_size, image_size=config.model.image_size,
            feature_size=config.model.feature_size,
        )

    @property
    def trained(self) -> bool:
        return not self.provenance.get("untrained", False)

    def generate(self, source: FaceInputs, references: Sequence[ReferenceInputs]) -> GeneratorOutput:
        """G_S(G_M(source, references)): the backend's one job."""
        raise NotImplementedError

    def analyze(self, image: ImageLike, face_index: int | None = None, role: str = "image",
                aligned: bool = False) -> FaceAnalysis:
        """Read (if a path), find the face, crop and reduce it to the model's 64x64 input, and analyse it.

        ``role`` ("source", "reference") names the image in errors; ``aligned``: the image is already a face
        crop, so its whole (centred square) is used and no face needs to be found.
        """
        if isinstance(image, FaceAnalysis):
            return image
        _check_index(face_index, f"{role} face index")
        photo, name = self._read(image, role)
        return self.analyzer.analyze(photo, face_index=face_index, crop=not aligned, name=name, role=role,
                                     boxes=[] if aligned else None)

    def analyze_faces(self, photo: ImageLike, faces: FaceChoice = "all", role: str = "source",
                      aligned: bool = False, name: str | None = None) -> list[FaceAnalysis]:
        """Every face ``faces`` selects in ``photo``: "all" (None; largest first), "largest", "center" (nearest
        the photo's centre) or one index. NoFaceError (naming ``role`` and ``name``, e.g. the file) when there
        is none. ``aligned``: the photo is already a face crop, used whole without detection."""
        if isinstance(photo, FaceAnalysis):
            return [photo]
        image, name = self._read(photo, role, name)
        if aligned:
            return [self.analyzer.analyze(image, crop=False, name=name, role=role, boxes=[])]
        boxes = self.analyzer.detect(image)
        if not boxes:
            raise NoFaceError(f"no face found in {name}", role)
        if faces is None or faces == "all":
            indices = list(range(len(boxes)))
        elif faces == "largest":
            indices = [0]
        elif faces == "center":
            indices = [center_face_index(boxes, image.shape[:2])]
        else:
            _check_index(faces, f"{role} face index")
            indices = [faces]
        return [self.analyzer.analyze(image, face_index=i, name=name, role=role, boxes=boxes) for i in indices]

    @staticmethod
    def _read(image: ImageLike, role: str, name: str | None = None) -> tuple[np.ndarray, str]:
        """(array, how errors name it): a path is read; an array is checked by the analyser."""
        if isinstance(image, (str, Path)):
            return read_image(image), f"the {role} photo {name or image}"
        return image, f"the {role} photo" + (f" {name}" if name else "")

    def inputs(self, face: FaceAnalysis) -> FaceInputs:
        """The generator's view of a face: its 64x64 input itself (model.makeup.resolution=input) or the bicubic
        256 up-sampling of it (PSGAN's layout), with the region masks and position features."""
        return FaceInputs.from_analysis(face, self.config.model.makeup.resolution)

    def analyzed(self, controls: MakeupControls) -> MakeupControls:
        """``controls`` with its per-region and blend references analysed once (for many transfers)."""
        return MakeupControls(
            controls.intensity, controls.regions,
            {region: self.analyze(image, role=f"{region} reference") for region, image in controls.references.items()},
            None if controls.blend is None else (self.analyze(controls.blend[0], role="blend reference"),
                                                 controls.blend[1]),
        )

    def reference_plan(self, reference: FaceAnalysis, controls: MakeupControls,
                       reference_face: int | None = None) -> list[tuple[FaceAnalysis, list[float]]]:
        """Which face gives which region, how strongly: (face, per-region scales in REGIONS order) for the main
        reference, the blend reference and each region's own reference; the scales of a region add up to its
        intensity (Reference.region_scale)."""
        base = controls.scale()
        own = [0.0 if r in controls.references else 1.0 for r in REGIONS]  # regions the main reference keeps
        t = controls.blend[1] if controls.blend is not None else 0.0
        plan = [(reference, [b * o * (1 - t) for b, o in zip(base, own)])]
        if controls.blend is not None:
            plan.append((self.analyze(controls.blend[0], reference_face, role="blend reference"),
                         [b * o * t for b, o in zip(base, own)]))
        for region, image in controls.references.items():
            plan.append((self.analyze(image, role=f"{region} reference"),
                         [b if r == region else 0.0 for b, r in zip(base, REGIONS)]))
        return plan

    def transfer(self, source: ImageLike, reference: ImageLike, source_face: int | None = None,
                 reference_face: int | None = None, controls: MakeupControls | None = None) -> TransferResult:
        """Transfer the reference's makeup onto the source; both are reduced to 64x64 faces first."""
        controls = controls or MakeupControls()
        if not isinstance(controls, MakeupControls):
            raise InputError(f"controls must be a MakeupControls, got {type(controls).__name__}")
        controls.validate()
        src = self.analyze(source, source_face, role="source")
        ref = self.analyze(reference, reference_face, role="reference")
        plan = self.reference_plan(ref, controls, reference_face)
        out = self.generate(self.inputs(src), [ReferenceInputs(self.inputs(face), scale) for face, scale in plan])
        return TransferResult(
            image=uint8_image(out.sr_image),
            image_lr=uint8_image(out.lr_image),
            heatmaps=np.asarray(out.heatmaps, np.float32),
            parsing=out.parsing.argmax(0).astype(np.uint8),
            source=src,
            reference=ref,
        )

    def transfer_photo(self, photo: ImageLike, reference: ImageLike, faces: FaceChoice | list[int] = "all",
                       reference_face: int | None = None, controls: MakeupControls | None = None,
                       aligned: bool = False) -> tuple[np.ndarray, list[TransferResult]]:
        """The full-photo workflow: transfer onto each selected face (default: every face, as GFPGAN and
        CodeFormer do; or "largest", "center", an index, a list of indices) and blend each result back into
        the photo at the face's place (:func:`face.paste.paste_back`). Returns (photo, per-face results)."""
        if isinstance(photo, FaceAnalysis):
            raise InputError("transfer_photo needs the photo itself (a path or an array), not a FaceAnalysis")
        image, _ = self._read(photo, "source")
        if isinstance(faces, list):
            found = [f for i in faces for f in self.analyze_faces(image, i, aligned=aligned)]
        else:
            found = self.analyze_faces(image, faces, aligned=aligned)
        return self.paste_faces(image, found, reference, reference_face, controls)

    def paste_faces(self, photo: np.ndarray, faces: list[FaceAnalysis], reference: ImageLike,
                    reference_face: int | None = None, controls: MakeupControls | None = None
                    ) -> tuple[np.ndarray, list[TransferResult]]:
        """Transfer onto already analysed ``faces`` of ``photo`` and paste every result back into it."""
        ref = self.analyze(reference, reference_face, role="reference")
        out, results = photo, []
        for face in faces:
            result = self.transfer(face, ref, controls=controls)
            out = paste_back(out, face.crop_box, result.image, face.parsing, detail_size=self.config.model.input_size,
                             landmarks=face.landmarks, bare=face.image_up)
            results.append(result)
        return out, results


class MakeupTransfer(TransferEngine):
    """The generator in PyTorch (``model``, on ``device``), with the face analysis that feeds it."""

    def __init__(self, model: LRMakeupGenerator, config: Config, device: str | torch.device = "cpu",
                 provenance: dict | None = None, analyzer: FaceAnalyzer | None = None):
        super().__init__(config, provenance, analyzer)
        self.device = resolve_device(device) if isinstance(device, str) else device
        self.model = model.to(self.device).eval()

    @classmethod
    def from_checkpoint(cls, path: str | Path, device: str = "cpu") -> MakeupTransfer:
        from .checkpoint import load_generator

        dev = resolve_device(device)
        model, config, provenance = load_generator(path, dev)
        warn_if_untrained_stage(path, provenance)
        return cls(model, config, dev, provenance)

    @classmethod
    def default(cls, device: str = "cpu") -> MakeupTransfer:
        """The shipped demo weights when the package has them, else an untrained paper-size model."""
        if SHIPPED_WEIGHTS.is_file():
            return cls.from_checkpoint(SHIPPED_WEIGHTS, device)
        return cls.untrained(device=device)

    @classmethod
    def untrained(cls, config: Config | None = None, device: str = "cpu", seed: int = 0) -> MakeupTransfer:
        """A randomly initialised model (paper size by default): the full pipeline, meaningless colours."""
        import torch

        from .models import LRMakeupGenerator

        config = config or Config()
        torch.manual_seed(seed)
        return cls(LRMakeupGenerator(config.model), config, device, {"untrained": True, "seed": seed})

    def batch(self, face: FaceAnalysis) -> FaceBatch:
        """:meth:`inputs` as a ``FaceBatch`` of one on the model's device."""
        return self._batch(self.inputs(face))

    def references(self, reference: FaceAnalysis, controls: MakeupControls,
                   reference_face: int | None = None) -> list[Reference]:
        """The generator's reference list for ``controls`` (:meth:`reference_plan` as ``Reference`` objects)."""
        return [self._reference(ReferenceInputs(self.inputs(face), scale))
                for face, scale in self.reference_plan(reference, controls, reference_face)]

    def generate(self, source: FaceInputs, references: Sequence[ReferenceInputs]) -> GeneratorOutput:
        import torch

        with torch.inference_mode():
            makeup, sr = self.model(self._batch(source), [self._reference(r) for r in references])
        return GeneratorOutput(*(t[0].float().cpu().numpy() for t in (sr.image, makeup.image, sr.heatmaps,
                                                                      sr.parsing, makeup.gamma, makeup.beta)))

    def _batch(self, face: FaceInputs) -> FaceBatch:
        import torch

        from .models import FaceBatch

        return FaceBatch(*(torch.from_numpy(a).unsqueeze(0) for a in (face.image, face.masks, face.pos))).to(
            self.device)

    def _reference(self, ref: ReferenceInputs) -> Reference:
        import torch

        from .models import Reference

        return Reference(self._batch(ref.face), torch.tensor([ref.region_scale], device=self.device))


def warn_if_untrained_stage(path: str | Path, provenance: dict) -> None:
    """An :class:`LRMakeupWarning` when the model file's super-resolution stage was never trained."""
    if provenance.get("untrained_sr") or provenance.get("sr_modules") == "random init":
        warnings.warn(f"{path}: its super-resolution stage is randomly initialised (e.g. made by import-psgan): "
                      "the 256x256 result will not look right until it is trained", LRMakeupWarning, stacklevel=3)


def wants_paste_back(photo: np.ndarray, face: FaceAnalysis, output_size: int, fraction: float = 0.9) -> bool:
    """Whether the full-photo output makes sense rather than the ``output_size`` face.

    A photo with several faces always gets its faces pasted back. A photo of one face gets the face instead
    when the photo is no larger than ``output_size`` (e.g. a 64x64 face: the generated face holds more detail
    than the photo could) or when it is itself a face crop: the crop covers ``fraction`` of both its sides.
    """
    if face.num_faces > 1:
        return True
    height, width = photo.shape[:2]
    if max(height, width) <= output_size:
        return False
    left, top, right, bottom = face.crop_box
    return right - left < fraction * width or bottom - top < fraction * height


def _check_index(index: object, what: str) -> None:
    if index is not None and (isinstance(index, bool) or not isinstance(index, numbers.Integral) or index < 0):
        raise InputError(f"{what} must be a whole number >= 0 or None, got {index!r}")


def import_psgan(psgan_path: str | Path, output: str | Path, config: Config | None = None) -> int:
    """Convert PSGAN's published ``G.pth`` into an lrmakeup checkpoint (makeup modules = PSGAN, SR random)."""
    import torch

    from .checkpoint import save_generator
    from .models import LRMakeupGenerator
    from .models.psgan import load_psgan_makeup

    config = config or Config()
    torch.manual_seed(0)
    model = LRMakeupGenerator(config.model)
    n = load_psgan_makeup(model, psgan_path)
    save_generator(output, model, config, {"psgan": Path(psgan_path).name, "makeup_modules": "PSGAN G.pth",
                                           "sr_modules": "random init", "untrained_sr": True})
    return n
