"""ONNX export of the whole generator (G_M + G_S), for the onnxruntime backend (``serving.onnx_runtime``).

``export_onnx(checkpoint, output)`` writes one ONNX graph (one source face, REFERENCE_SLOTS references) whose
inputs are the source's and the references' ``FaceBatch`` tensors plus their per-region scales, and whose
outputs are x̃_SR, x̃_LR, the estimated priors and the warped makeup matrices (the table in
``serving/onnx_runtime.py``). The checkpoint's config and provenance, its file name and its sha256 travel in the
file's ``metadata_props``, so the runtime rebuilds the face analysis at the right sizes and can tell which
weights the graph holds.

The graph is ``LRMakeupGenerator.makeup`` and ``super_resolve`` themselves, recorded by torch.onnx's tracer
(``dynamo=False``). The AMM (``models/morph.py``) gathers each region's pixels with ``nonzero()``, whose size
depends on the data: the tracer keeps those sizes dynamic in the graph (NonZero, Gather), so the graph computes
``morph`` itself, to ~1e-6 of PyTorch and about as fast (0.3 s for one 64x64 pair of the shipped model on one
CPU thread). The alternative, torch.export, cannot hold data-dependent sizes and needs the static dense
formulation (``morph(static=True)``, one HW x HW matrix per region): 2-3 s for the same pair.

A tracer records Python control flow as the example runs it, so the example is chosen to take every path
once: its masks cover every pixel in every region (each region's attention, all of its source rows, every
``attention_chunk`` block are recorded), and it has REFERENCE_SLOTS references (morph's loop over them is
unrolled). At run time a region that is empty gathers nothing and gets γ' = β' = 0, as ``morph`` skips it;
unused reference slots are faces of no region at scale 0, which warp nothing.
"""

from __future__ import annotations

import io
import json
import warnings
from contextlib import redirect_stdout
from pathlib import Path

import torch
from torch import Tensor, nn

from ..checkpoint import load_generator, read_header
from ..config import Config
from ..errors import InputError
from ..face.regions import REGIONS
from ..fileio import atomic_write
from ..models import FaceBatch, LRMakeupGenerator, Reference
from ..utils import file_sha256
from .onnx_runtime import FORMAT, INPUT_NAMES, OUTPUT_NAMES, require

DEFAULT_OPSET = 18
REFERENCE_SLOTS = 2 + len(REGIONS)  # the most a transfer uses: the main reference, a blend one, one per region


class ExportableGenerator(nn.Module):
    """``LRMakeupGenerator.forward`` on flat tensors (one source, K references).

    Shares (does not copy) the generator's modules; see the module docstring for inputs and outputs.
    """

    def __init__(self, generator: LRMakeupGenerator):
        super().__init__()
        self.generator = generator

    def forward(self, src_image: Tensor, src_masks: Tensor, src_pos: Tensor, ref_image: Tensor, ref_masks: Tensor,
                ref_pos: Tensor, region_scale: Tensor) -> tuple[Tensor, ...]:
        g = self.generator
        # The K references ride on the batch axis of one Reference: with one source face their warped matrices
        # add up (LRMakeupGenerator.warped_matrices).
        refs = [Reference(FaceBatch(ref_image, ref_masks, ref_pos), region_scale)]
        mk = g.makeup(FaceBatch(src_image, src_masks, src_pos), refs)
        sr = g.super_resolve(mk.image, mk.m)
        return sr.image, mk.image, sr.heatmaps, sr.parsing, mk.gamma, mk.beta


def example_inputs(config: Config, seed: int = 0, references: int = REFERENCE_SLOTS) -> tuple[Tensor, ...]:
    """Inputs to trace the graph with: one source and ``references`` references, random images and unit-norm
    pos, and masks that put every pixel in every region (so the trace records every path; module docstring)."""
    s, f = config.model.makeup_size, config.model.feature_size
    g = torch.Generator().manual_seed(seed)
    masks = torch.ones(1, len(REGIONS), f, f)
    pos = torch.randn(1, 136, f, f, generator=g)
    pos = pos / pos.norm(dim=1, keepdim=True)
    image = torch.rand(1, 3, s, s, generator=g) * 2 - 1
    k = references
    # Distinct tensors for source and reference: the exporter merges inputs that alias the same storage.
    return (image, masks, pos, image.flip(-1).repeat(k, 1, 1, 1), masks.repeat(k, 1, 1, 1),
            pos.roll(1, 1).repeat(k, 1, 1, 1), torch.ones(k, len(REGIONS)))


def export_onnx(checkpoint: str | Path, output: str | Path, opset: int = DEFAULT_OPSET) -> dict[str, str]:
    """Export the generator of ``checkpoint`` to ``output`` (written atomically). Returns the metadata stored."""
    onnx = require("onnx")  # fail early, with a clear message, when the exporter's dependency is missing
    output = Path(output)
    if not output.parent.is_dir():
        raise InputError(f"cannot write {output}: folder {output.parent} does not exist")
    if opset < 18:
        raise InputError(f"--opset {opset} is not supported: the exporter needs opset 18 or newer")
    model, config, provenance = load_generator(checkpoint, "cpu")
    module = ExportableGenerator(model).eval()
    graph = io.BytesIO()
    with torch.no_grad(), warnings.catch_warnings(), redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")  # the tracer warns at every Python branch on a tensor (module docstring)
        torch.onnx.export(module, example_inputs(config), graph, dynamo=False, opset_version=opset,
                          input_names=list(INPUT_NAMES), output_names=list(OUTPUT_NAMES))
    proto = onnx.load_model_from_string(graph.getvalue())
    metadata = {
        "format": FORMAT,
        "config": read_header(checkpoint)[1]["config"],  # the checkpoint's own YAML, as it was written
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
    proto.doc_string = f"lrmakeup generator (G_M + G_S): one source face, {REFERENCE_SLOTS} reference slots"
    data = proto.SerializeToString()  # the whole file in memory: atomic_write then only renames a full file
    atomic_write(output, lambda tmp: Path(tmp).write_bytes(data))
    return metadata


__all__ = ["DEFAULT_OPSET", "REFERENCE_SLOTS", "ExportableGenerator", "example_inputs", "export_onnx"]
