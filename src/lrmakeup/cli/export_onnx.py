"""``lrmakeup export-onnx``: a generator checkpoint -> one static-shaped ONNX graph for onnxruntime."""

from __future__ import annotations

import argparse
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from ..errors import InputError
from ..fileio import check_writable
from .common import check_input_file

HEARTBEAT_SECONDS = 10.0  # a progress line this often during the conversion


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "export-onnx",
        help="export a generator checkpoint to ONNX (run it with: transfer --checkpoint MODEL.onnx)",
        description="Export the whole generator (makeup transfer + super-resolution) to one ONNX graph for one "
        "source face and its references (main, blend, one per region). Inputs: source and reference "
        "image/masks/pos and region_scale; outputs: sr_image, lr_image, heatmaps, parsing, gamma, beta. The "
        "checkpoint's config, provenance and sha256 are stored in the file's metadata. To refresh the shipped "
        "export after replacing the shipped weights: export-onnx --output src/lrmakeup/weights/demo.onnx",
    )
    p.add_argument("--checkpoint", help="lrmakeup checkpoint (.safetensors; default: the shipped demo weights)")
    p.add_argument("--output", required=True, help="ONNX file to write (.onnx); written whole or not at all")
    p.add_argument("--opset", type=int, default=None, help="ONNX opset (default: 18; 18 or newer)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    output = Path(args.output)
    if output.suffix.lower() != ".onnx":
        raise InputError(f"output '{output}' must end in .onnx")
    if output.is_dir():
        raise InputError(f"output '{output}' is a folder")
    if not output.parent.is_dir():
        raise InputError(f"output folder does not exist: {output.parent}")
    check_writable(output)
    if args.checkpoint:
        check_input_file(args.checkpoint, "checkpoint")
    from ..api import SHIPPED_WEIGHTS

    checkpoint = args.checkpoint or SHIPPED_WEIGHTS
    from ..checkpoint import read_checkpoint
    from ..serving.onnx import (  # torch.onnx is heavy: only when the command runs
        DEFAULT_OPSET,
        export_onnx,
    )

    opset = DEFAULT_OPSET if args.opset is None else args.opset
    start = time.monotonic()
    tensors, config, _ = read_checkpoint(checkpoint)  # a bad file fails here, before the slow part
    n = sum(t.numel() for t in tensors.values())
    del tensors
    _step(f"[1/2] checked {checkpoint}: {n / 1e6:.2f}M weights, {config.model.input_size} -> "
          f"{config.model.image_size} px")
    _step(f"[2/2] tracing and converting the generator to ONNX opset {opset} (the slow part: about 15 s on a "
          "2-core CPU)")
    with _heartbeat(start):
        export_onnx(checkpoint, output, opset)
    size = output.stat().st_size / 2**20
    print(f"wrote {output} ({size:.1f} MiB, opset {opset}) in {time.monotonic() - start:.0f} s")
    return 0


def _step(line: str) -> None:
    """Progress goes to stderr (like a progress bar), so stdout holds only the result line."""
    print(line, file=sys.stderr, flush=True)


@contextmanager
def _heartbeat(start: float):
    """Print the elapsed time every HEARTBEAT_SECONDS while the block runs (the conversion is one long call)."""
    done = threading.Event()

    def beat() -> None:
        while not done.wait(HEARTBEAT_SECONDS):
            _step(f"      ... still converting ({time.monotonic() - start:.0f} s)")

    thread = threading.Thread(target=beat, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()
