"""The onnxruntime backend: an exported generator (``serving.onnx.export_onnx``) run on numpy arrays, no torch.

:class:`OnnxGenerator` runs the graph on one source face and its references (:mod:`lrmakeup.generator_io`);
:class:`OnnxMakeupTransfer` is the :class:`lrmakeup.api.TransferEngine` around it, so the face analysis, the
makeup controls and the paste-back are the PyTorch engine's own. ``OnnxMakeupTransfer.shipped()`` runs the
shipped demo weights (``weights/demo.onnx``) and refuses an export of any other ``demo.safetensors`` than the
one shipped (the sha256 its metadata records), so a stale export is never used.

The graph's inputs and outputs (S = model.image_size, M = model.makeup_size, F = model.feature_size, K the
reference axis: fixed in the graph, the unused references padded with faces of no region and scale 0, which
warp nothing; a graph with a dynamic K is fed as many as there are):

    inputs   src_image (1, 3, M, M)  src_masks (1, 3, F, F)  src_pos (1, 136, F, F)
             ref_image (K, 3, M, M)  ref_masks (K, 3, F, F)  ref_pos (K, 136, F, F)  region_scale (K, 3)
    outputs  sr_image (1, 3, S, S)   lr_image (1, 3, M, M)   heatmaps (1, 68, F, F)  parsing (1, 14, F, F)
             gamma (1, 1, F, F)      beta (1, 1, F, F)
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..api import SHIPPED_ONNX, SHIPPED_WEIGHTS, TransferEngine, warn_if_untrained_stage
from ..errors import CheckpointError, InputError
from ..face import FaceAnalyzer
from ..generator_io import FaceInputs, GeneratorOutput, ReferenceInputs
from ..metadata import config_from_metadata, one_line
from ..utils import DEVICE_NAME, file_sha256

FORMAT = "lrmakeup-onnx-v1"
INPUT_NAMES = ("src_image", "src_masks", "src_pos", "ref_image", "ref_masks", "ref_pos", "region_scale")
OUTPUT_NAMES = ("sr_image", "lr_image", "heatmaps", "parsing", "gamma", "beta")


class OnnxGenerator:
    """An exported generator in an onnxruntime session, with the config and provenance its metadata carries.

    ``threads``: onnxruntime's intra-op threads (None: onnxruntime's default, one per core).
    """

    def __init__(self, path: str | Path, device: str = "cpu", threads: int | None = None):
        self.path = Path(path)
        if not self.path.is_file():
            raise CheckpointError(f"ONNX model not found: {self.path}")
        self.session = _session(self.path, device, threads)
        self.metadata: dict[str, str] = dict(self.session.get_modelmeta().custom_metadata_map)
        if self.metadata.get("format") != FORMAT:
            raise CheckpointError(f"{self.path} is not an lrmakeup ONNX export "
                                  f"(format {self.metadata.get('format')!r})")
        self.config, self.provenance = config_from_metadata(self.metadata, self.path)
        slots = {i.name: i.shape[0] for i in self.session.get_inputs()}.get("ref_image")
        self.reference_slots: int | None = slots if isinstance(slots, int) else None  # None: a dynamic axis

    def run(self, source: FaceInputs, references: Sequence[ReferenceInputs]) -> GeneratorOutput:
        """G_S(G_M(source, references)): the references' warped matrices add up, each scaled per region."""
        refs = list(references)
        most = self.reference_slots
        if not refs or (most is not None and len(refs) > most):
            raise InputError(f"the ONNX backend takes 1 to {most or 'many'} references, got {len(refs)}")
        if most is not None:
            empty = ReferenceInputs(FaceInputs.empty_like(refs[0].face), [0.0] * len(refs[0].region_scale))
            refs += [empty] * (most - len(refs))
        feed = dict(zip(INPUT_NAMES, (
            _stack([source.image]), _stack([source.masks]), _stack([source.pos]),
            _stack([r.face.image for r in refs]), _stack([r.face.masks for r in refs]),
            _stack([r.face.pos for r in refs]), _stack([r.region_scale for r in refs]),
        )))
        outputs = self.session.run(list(OUTPUT_NAMES), feed)
        return GeneratorOutput(*(o[0] for o in outputs))


class OnnxMakeupTransfer(TransferEngine):
    """The transfer engine with its generator run by onnxruntime (same analysis, controls and paste-back)."""

    def __init__(self, path: str | Path, device: str = "cpu", threads: int | None = None,
                 analyzer: FaceAnalyzer | None = None):
        self.generator = OnnxGenerator(path, device, threads)
        super().__init__(self.generator.config, self.generator.provenance, analyzer)
        warn_if_untrained_stage(path, self.provenance)

    @classmethod
    def shipped(cls, device: str = "cpu", threads: int | None = None,
                analyzer: FaceAnalyzer | None = None) -> OnnxMakeupTransfer:
        """The shipped demo weights in onnxruntime. CheckpointError when ``weights/demo.onnx`` is missing or
        was not exported from the shipped ``demo.safetensors`` (a stale export: re-export it)."""
        if not SHIPPED_WEIGHTS.is_file():
            raise CheckpointError(f"{SHIPPED_WEIGHTS} is missing: nothing to check {SHIPPED_ONNX.name} against")
        engine = cls(SHIPPED_ONNX, device, threads, analyzer)
        recorded, shipped = engine.generator.metadata.get("source_sha256"), file_sha256(SHIPPED_WEIGHTS)
        if recorded != shipped:
            raise CheckpointError(
                f"{SHIPPED_ONNX.name} is stale: exported from a {engine.generator.metadata.get('source_checkpoint')} "
                f"of sha256 {str(recorded)[:12]}..., the shipped {SHIPPED_WEIGHTS.name} is {shipped[:12]}... "
                f"(re-export: lrmakeup export-onnx --output {SHIPPED_ONNX})")
        return engine

    def generate(self, source: FaceInputs, references: Sequence[ReferenceInputs]) -> GeneratorOutput:
        return self.generator.run(source, references)


def _stack(arrays: Sequence[Any]) -> np.ndarray:
    """The graph's batch axis: (N, ...) float32, contiguous."""
    return np.ascontiguousarray(np.stack(arrays), dtype=np.float32)


def _session(path: Path, device: str, threads: int | None):
    """An onnxruntime session of ``path`` on ``device`` (cpu, cuda, cuda:N or auto: CUDA when onnxruntime has it)."""
    ort = require("onnxruntime")
    match = DEVICE_NAME.match(device)
    if match is None:
        raise InputError(f"unknown device '{device}' (use cpu, cuda, cuda:N or auto)")
    cuda = "CUDAExecutionProvider" in ort.get_available_providers()
    if device.startswith("cuda") and not cuda:
        raise InputError("this onnxruntime has no CUDA support (install onnxruntime-gpu) or use --device cpu")
    if device.startswith("cuda") or (device == "auto" and cuda):
        providers: list[Any] = [("CUDAExecutionProvider", {"device_id": int(match.group(3) or 0)}),
                                "CPUExecutionProvider"]
    else:
        providers = ["CPUExecutionProvider"]
    options = ort.SessionOptions()
    options.log_severity_level = 3
    if threads:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    try:
        return ort.InferenceSession(str(path), options, providers=providers)
    except Exception as exc:  # noqa: BLE001 - onnxruntime's own exception types
        raise CheckpointError(f"{path} is not a readable ONNX model ({one_line(exc)[:200]})") from exc


def require(module: str, package: str | None = None):
    """Import ``module``; InputError naming the package to install when it is missing."""
    package = package or module
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise InputError(f"the ONNX backend needs the '{package}' package (pip install {package})") from exc


__all__ = ["FORMAT", "INPUT_NAMES", "OUTPUT_NAMES", "OnnxGenerator", "OnnxMakeupTransfer", "require"]
