"""ONNX export of the whole generator (G_M + G_S) and an onnxruntime backend for the API.

``export_onnx(checkpoint, output)`` writes one ONNX graph (one source face, K references) whose inputs
are the source's and the references' ``FaceBatch`` tensors plus their per-region scales, and whose outputs are
x̃_SR, x̃_LR, the estimated priors and the warped makeup matrices:

    inputs   src_image (1, 3, M, M)  src_masks (1, 3, F, F)  src_pos (1, 136, F, F)
             ref_image (K, 3, M, M)  ref_masks (K, 3, F, F)  ref_pos (K, 136, F, F)  region_scale (K, 3)
    outputs  sr_image (1, 3, S, S)   lr_image (1, 3, M, M)   heatmaps (1, 68, F, F)  parsing (1, 14, F, F)
             gamma (1, 1, F, F)      beta (1, 1, F, F)

with S = model.image_size, M = model.makeup_size (S, or the input size when model.makeup.resolution=input)
and F = model.feature_size.

The reference axis K is the graph's one dynamic dimension (1 <= K <= MAX_REFERENCES): several references'
warped matrices add up, each scaled per region, as in ``LRMakeupGenerator.warped_matrices``.

The graph is ``LRMakeupGenerator.makeup`` and ``super_resolve`` themselves, traced with ``static=True``: the
model's AMM (``models/morph.py``) gathers each region's pixels with ``nonzero()``, whose output size depends
on the data, so the export selects its static-shape mode (``masked_morph``: a dense softmax per region with
the logits of pairs in different regions set to -inf; the same eq. (3)-(5) up to fp rounding).

The checkpoint's config and provenance travel in the file's ``metadata_props``, so ``OnnxGenerator`` rebuilds
the face analysis at the right sizes and ``onnx_transfer_engine`` gives a ``MakeupTransfer`` that runs the
graph in onnxruntime instead of PyTorch.
"""

from __future__ import annotations

import io
import json
import warnings
from collections.abc import Sequence
from contextlib import redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from ..checkpoint import config_from_metadata, load_generator
from ..config import Config
from ..errors import CheckpointError, InputError
from ..fileio import atomic_write
from ..models import FaceBatch, LRMakeupGenerator, Reference
from ..models.generator import MakeupOutput, SROutput
from ..utils import file_sha256, resolve_device

FORMAT = "lrmakeup-onnx-v1"
DEFAULT_OPSET = 18
MAX_REFERENCES = 8  # upper bound of the dynamic reference axis (memory grows as K x HW² per region)
INPUT_NAMES = ("src_image", "src_masks", "src_pos", "ref_image", "ref_masks", "ref_pos", "region_scale")
OUTPUT_NAMES = ("sr_image", "lr_image", "heatmaps", "parsing", "gamma", "beta")


class ExportableGenerator(nn.Module):
    """``LRMakeupGenerator.forward`` on flat tensors (one source, K references), with the static-shaped AMM.

    Shares (does not copy) the generator's modules; see the module docstring for inputs and outputs.
    """

    def __init__(self, generator: LRMakeupGenerator):
        super().__init__()
        self.generator = generator

    def forward(self, src_image: Tensor, src_masks: Tensor, src_pos: Tensor, ref_image: Tensor, ref_masks: Tensor,
                ref_pos: Tensor, region_scale: Tensor) -> tuple[Tensor, ...]:
        g = self.generator
        # The K references ride on the batch axis of one Reference: with one source face their warped matrices
        # add up (LRMakeupGenerator.warped_matrices), so the graph keeps K dynamic without a Python loop.
        refs = [Reference(FaceBatch(ref_image, ref_masks, ref_pos), region_scale)]
        mk = g.makeup(FaceBatch(src_image, src_masks, src_pos), refs, static=True)
        sr = g.super_resolve(mk.image, mk.m)
        return sr.image, mk.image, sr.heatmaps, sr.parsing, mk.gamma, mk.beta


def example_inputs(config: Config, seed: int = 0, references: int = 2) -> tuple[Tensor, ...]:
    """Inputs of the right shapes (random images, disjoint masks, unit-norm pos) to trace the graph: one source
    and ``references`` references (2 by default, so that tracing does not specialise the reference axis to 1)."""
    s, f = config.model.makeup_size, config.model.feature_size
    g = torch.Generator().manual_seed(seed)
    masks = torch.zeros(1, 3, f, f)
    masks[:, 0, f // 2:, :] = 1
    masks[:, 1, : f // 4, :] = 1
    masks[:, 2, f // 4: f // 2, :] = 1
    pos = torch.randn(1, 136, f, f, generator=g)
    pos = pos / pos.norm(dim=1, keepdim=True)
    image = torch.rand(1, 3, s, s, generator=g) * 2 - 1
    k = references
    # Distinct tensors for source and reference: the exporter merges inputs that alias the same storage.
    return (image, masks, pos, image.flip(-1).repeat(k, 1, 1, 1), masks.repeat(k, 1, 1, 1),
            pos.roll(1, 1).repeat(k, 1, 1, 1), torch.ones(k, 3))


def export_onnx(checkpoint: str | Path, output: str | Path, opset: int = DEFAULT_OPSET) -> dict[str, str]:
    """Export the generator of ``checkpoint`` to ``output`` (written atomically). Returns the metadata stored."""
    _require("onnx", "onnx")  # fail early, with a clear message, when the exporter's dependencies are missing
    _require("onnxscript", "onnxscript")
    output = Path(output)
    if not output.parent.is_dir():
        raise InputError(f"cannot write {output}: folder {output.parent} does not exist")
    if opset < 18:
        raise InputError(f"--opset {opset} is not supported: the exporter needs opset 18 or newer")
    model, config, provenance = load_generator(checkpoint, "cpu")
    module = ExportableGenerator(model).eval()
    inputs = example_inputs(config)
    with torch.no_grad(), warnings.catch_warnings(), redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        program = torch.onnx.export(
            module, inputs, dynamo=True, opset_version=opset, input_names=list(INPUT_NAMES),
            output_names=list(OUTPUT_NAMES), external_data=False, verbose=False, dynamic_shapes=_dynamic_shapes(),
        )
    proto = program.model_proto
    metadata = {
        "format": FORMAT,
        "config": config.to_yaml(),
        "provenance": json.dumps(provenance),
        "source_checkpoint": Path(checkpoint).name,
        "source_sha256": file_sha256(checkpoint),
        "torch_version": torch.__version__,
        "opset": str(opset),
        "inputs": ",".join(INPUT_NAMES),
        "outputs": ",".join(OUTPUT_NAMES),
    }
    del proto.metadata_props[:]
    for key, value in metadata.items():
        proto.metadata_props.add(key=key, value=value)
    proto.producer_name = "lrmakeup"
    proto.doc_string = f"lrmakeup generator (G_M + G_S): one source face, 1 to {MAX_REFERENCES} references"
    data = proto.SerializeToString()  # the whole file in memory: atomic_write then only renames a full file
    atomic_write(output, lambda tmp: Path(tmp).write_bytes(data))
    return metadata


def _dynamic_shapes() -> tuple:
    """Everything static except the number of references K (axis 0 of the ref_* inputs and region_scale)."""
    refs = torch.export.Dim("references", min=1, max=MAX_REFERENCES)
    return (None, None, None, {0: refs}, {0: refs}, {0: refs}, {0: refs})


def read_onnx_metadata(path: str | Path) -> tuple[Config, dict[str, Any], dict[str, str]]:
    """(config, provenance, all metadata) of an exported file; CheckpointError when it is not one."""
    onnx = _require("onnx", "onnx")
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"ONNX model not found: {path}")
    try:
        proto = onnx.load_model(str(path), load_external_data=False)
    except Exception as exc:  # noqa: BLE001 - protobuf raises several unrelated types on garbage
        raise CheckpointError(f"{path} is not a readable ONNX model ({' '.join(str(exc).split())[:200]})") from exc
    meta = {p.key: p.value for p in proto.metadata_props}
    if meta.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not an lrmakeup ONNX export (format {meta.get('format')!r})")
    config, provenance = config_from_metadata(meta, path)
    return config, provenance, meta


@dataclass
class OnnxOutput:
    sr_image: Tensor  # x̃_SR (B, 3, S, S)
    lr_image: Tensor  # x̃_LR (B, 3, M, M)
    heatmaps: Tensor  # (B, 68, F, F)
    parsing: Tensor  # (B, 14, F, F) logits
    gamma: Tensor  # γ' (B, 1, F, F)
    beta: Tensor  # β' (B, 1, F, F)


class OnnxGenerator:
    """An exported generator run by onnxruntime, with the call contract ``MakeupTransfer`` uses.

    ``gen(src, refs)`` -> (MakeupOutput, SROutput) like ``LRMakeupGenerator.forward`` (refs: a FaceBatch or
    a list of ``Reference``; ``MakeupOutput.m`` is None: the graph does not output it); ``gen.run(src, refs)``
    returns all the graph's outputs. Batches larger than 1 run face by face (the graph has one source).
    """

    def __init__(self, path: str | Path, device: str | torch.device = "cpu", threads: int | None = None):
        self.path = Path(path)
        self.config, self.provenance, self.metadata = read_onnx_metadata(self.path)
        self._threads = threads
        self._session = None
        self.device = torch.device("cpu")
        self.to(device)

    # --- the parts of the nn.Module interface MakeupTransfer touches ---------------------------------------
    def to(self, device: str | torch.device) -> OnnxGenerator:
        device = torch.device(device)
        if self._session is None or device != self.device:
            self._session = self._make_session(device)
            self.device = device
        return self

    def eval(self) -> OnnxGenerator:
        return self

    def _make_session(self, device: torch.device):
        ort = _require("onnxruntime", "onnxruntime")
        if device.type == "cuda":
            if "CUDAExecutionProvider" not in ort.get_available_providers():
                raise InputError("this onnxruntime has no CUDA support (install onnxruntime-gpu) or use --device cpu")
            providers = [("CUDAExecutionProvider", {"device_id": device.index or 0}), "CPUExecutionProvider"]
        elif device.type == "cpu":
            providers = ["CPUExecutionProvider"]
        else:
            raise InputError(f"unsupported device '{device}' for onnxruntime (use cpu or cuda)")
        options = ort.SessionOptions()
        options.log_severity_level = 3
        if self._threads:
            options.intra_op_num_threads = self._threads
        try:
            return ort.InferenceSession(str(self.path), options, providers=providers)
        except Exception as exc:  # noqa: BLE001 - onnxruntime's own exception types
            raise CheckpointError(f"onnxruntime cannot load {self.path}: {' '.join(str(exc).split())[:200]}") from exc

    # --- inference --------------------------------------------------------------------------------------------
    def run(self, src: FaceBatch, refs: FaceBatch | Sequence[Reference]) -> OnnxOutput:
        """G_S(G_M(src, refs)) for B source faces, face by face (the graph is static at one source).

        Each reference holds B faces or one face (used for every source); up to MAX_REFERENCES references,
        whose warped matrices add up, each scaled per region by its ``region_scale`` (B or 1, 3) (None: 1).
        """
        if isinstance(refs, FaceBatch):
            refs = [Reference(refs)]
        b = src.batch_size
        if not 1 <= len(refs) <= MAX_REFERENCES:
            raise InputError(f"the ONNX backend takes 1 to {MAX_REFERENCES} references, got {len(refs)}")
        for ref in refs:
            if ref.face.batch_size not in (1, b):
                raise InputError(f"a reference of {ref.face.batch_size} faces for {b} source faces")
        outs = []
        for i in range(b):
            faces = FaceBatch.cat([ref.face[i if ref.face.batch_size > 1 else 0] for ref in refs])
            scale = torch.cat([_scale_row(ref.region_scale, i) for ref in refs])
            s = src[i]
            feed = dict(zip(INPUT_NAMES, (s.image, s.masks, s.pos, faces.image, faces.masks, faces.pos, scale)))
            outs.append(self._session.run(list(OUTPUT_NAMES), {k: _numpy(v) for k, v in feed.items()}))
        return OnnxOutput(*(torch.cat([torch.from_numpy(o[k]) for o in outs]).to(self.device)
                            for k in range(len(OUTPUT_NAMES))))

    def __call__(self, src: FaceBatch, refs: FaceBatch | Sequence[Reference]) -> tuple[MakeupOutput, SROutput]:
        """Like ``LRMakeupGenerator.forward``; ``MakeupOutput.m`` is None (the graph does not output m)."""
        o = self.run(src, refs)
        return MakeupOutput(o.lr_image, None, o.gamma, o.beta), SROutput(o.sr_image, o.heatmaps, o.parsing)


def _scale_row(region_scale: Tensor | None, i: int) -> Tensor:
    if region_scale is None:
        return torch.ones(1, 3)
    return region_scale[i if region_scale.shape[0] > 1 else 0].reshape(1, 3)


def _numpy(t: Tensor):
    return t.detach().to("cpu", torch.float32).contiguous().numpy()


def onnx_transfer_engine(path: str | Path, device: str = "cpu", analyzer=None):
    """A ``MakeupTransfer`` whose generator is the exported graph at ``path`` run by onnxruntime."""
    from ..api import MakeupTransfer

    dev = resolve_device(device)
    gen = OnnxGenerator(path, dev)
    return MakeupTransfer(gen, gen.config, dev, gen.provenance, analyzer)


def _require(module: str, package: str):
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise InputError(f"the ONNX backend needs the '{package}' package (pip install {package})") from exc


__all__ = [
    "DEFAULT_OPSET", "ExportableGenerator", "OnnxGenerator", "OnnxOutput", "export_onnx", "onnx_transfer_engine",
    "read_onnx_metadata",
]
