"""Helpers shared by the CLI commands: option groups and model loading."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..api import MakeupTransfer
from ..errors import InputError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff"}


def add_model_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--checkpoint", help="lrmakeup checkpoint (.safetensors), or with --backend onnxruntime an "
                   "exported .onnx; default: the shipped demo weights")
    p.add_argument("--backend", choices=("torch", "onnxruntime"), default="torch",
                   help="run the generator in PyTorch (default) or onnxruntime (a model from `lrmakeup export-onnx`)")
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto (default: cpu)")


def load_model(args: argparse.Namespace) -> MakeupTransfer:
    if args.backend == "onnxruntime":
        if not args.checkpoint:
            raise InputError("--backend onnxruntime needs --checkpoint MODEL.onnx (made by `lrmakeup export-onnx`)")
        from ..serving.onnx import onnx_transfer_engine  # onnxruntime is imported only when asked for

        return onnx_transfer_engine(args.checkpoint, device=args.device)
    if args.checkpoint:
        return MakeupTransfer.from_checkpoint(args.checkpoint, device=args.device)
    engine = MakeupTransfer.default(device=args.device)
    if engine.trained:
        return engine
    print("lrmakeup: note: no --checkpoint given: using a randomly initialised (UNTRAINED) paper-size model; "
          "the result shows the pipeline, not real makeup", file=sys.stderr)
    return engine


def check_output_path(path: str | Path, overwrite: bool = True) -> Path:
    """Fail early (before any work) on an output path that cannot be written."""
    path = Path(path)
    if path.suffix.lower() not in IMAGE_SUFFIXES:
        raise InputError(f"output '{path}' must end in one of {', '.join(sorted(IMAGE_SUFFIXES))}")
    if not path.parent.is_dir():
        raise InputError(f"output folder does not exist: {path.parent}")
    if path.is_dir():
        raise InputError(f"output '{path}' is a folder")
    if path.exists() and not overwrite:
        raise InputError(f"output '{path}' exists (use --overwrite)")
    return path
