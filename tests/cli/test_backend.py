"""Which engine `lrmakeup transfer` runs: the shipped weights in onnxruntime by default, without importing torch;
a stale export falls back to PyTorch; --backend forces one; --threads reaches onnxruntime; the outputs agree."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from lrmakeup.api import SHIPPED_ONNX, SHIPPED_WEIGHTS, MakeupTransfer
from lrmakeup.cli import build_parser, main
from lrmakeup.cli.common import DEFAULT_THREADS, choose_backend, load_model
from lrmakeup.errors import CheckpointError
from lrmakeup.serving import onnx_runtime
from lrmakeup.serving.onnx_runtime import OnnxMakeupTransfer

pytestmark = pytest.mark.skipif(not (SHIPPED_WEIGHTS.is_file() and SHIPPED_ONNX.is_file()),
                                reason="no shipped weights and their ONNX export in this checkout")


def transfer_args(*extra: str):
    return build_parser().parse_args(["transfer", "-i", "s.png", "-r", "r.png", "-o", "o.png", *extra])


def intra_op_threads(engine: OnnxMakeupTransfer) -> int:
    return engine.generator.session.get_session_options().intra_op_num_threads


def test_default_transfer_imports_no_torch(photo_dir, tmp_path):
    """The default engine, with controls, a second reference and --save-lr, in a fresh interpreter: torch is
    never imported (it alone takes 3-5 s to import on a small machine)."""
    out, lr = tmp_path / "o.png", tmp_path / "lr.png"
    argv = ["transfer", "-i", str(photo_dir / "astronaut.png"), "-r", str(photo_dir / "hopper.png"), "-o", str(out),
            "--crop-only", "--lips", "0.5", "--blend-reference", str(photo_dir / "hopper_red.png"),
            "--save-lr", str(lr)]
    probe = (f"import sys\nfrom lrmakeup.cli import main\nassert main({argv!r}) == 0\n"
             "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))")
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    loaded = set(run.stdout.split())
    assert "torch" not in loaded and "onnxruntime" in loaded
    assert Image.open(out).size == (256, 256) and Image.open(lr).size == (64, 64)


def test_default_is_the_shipped_export_on_default_threads():
    engine = load_model(transfer_args())
    assert isinstance(engine, OnnxMakeupTransfer) and engine.generator.path == SHIPPED_ONNX
    assert intra_op_threads(engine) == DEFAULT_THREADS
    assert intra_op_threads(load_model(transfer_args("--threads", "2"))) == 2


def test_backend_torch_forces_pytorch():
    assert isinstance(load_model(transfer_args("--backend", "torch")), MakeupTransfer)


@pytest.mark.parametrize("extra, expected", [
    ([], "onnxruntime"),
    (["--device", "auto"], "torch"),  # onnxruntime only for the CPU by default (a GPU: PyTorch, as before)
    (["--checkpoint", "model.safetensors"], "torch"),
    (["--checkpoint", "model.onnx"], "onnxruntime"),
    (["--backend", "torch"], "torch"),
    (["--backend", "onnxruntime", "--device", "cuda"], "onnxruntime"),
])
def test_choose_backend(extra, expected):
    assert choose_backend(transfer_args(*extra)) == expected


def test_stale_export_falls_back_to_pytorch(monkeypatch, capsys):
    """An export of other weights than the shipped ones is never run: one note, then PyTorch."""
    monkeypatch.setattr(onnx_runtime, "file_sha256", lambda path: "0" * 64)  # as if demo.safetensors was replaced
    engine = load_model(transfer_args())
    assert isinstance(engine, MakeupTransfer)
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("lrmakeup: note:") and "stale" in err, err
    assert "lrmakeup export-onnx --output" in err  # and how to refresh it
    with pytest.raises(CheckpointError, match="stale"):  # asked for explicitly: an error, not a silent switch
        load_model(transfer_args("--backend", "onnxruntime"))


def test_batch_outputs_agree_between_backends(photo_dir, tmp_path, capsys):
    """A --pairs batch with a region taken from its own reference, with either backend: the same images."""
    csv = tmp_path / "pairs.csv"
    csv.write_text(f"source,reference\n{photo_dir / 'astronaut.png'},{photo_dir / 'hopper.png'}\n"
                   f"{photo_dir / 'hopper.png'},{photo_dir / 'astronaut.png'}\n")
    outputs = {}
    for backend in ("auto", "torch"):
        out = tmp_path / backend
        assert main(["transfer", "--pairs", str(csv), "-o", str(out), "--crop-only", "--intensity", "0.8",
                     "--lips-reference", str(photo_dir / "hopper_red.png"), "--backend", backend]) == 0, \
            capsys.readouterr().err
        outputs[backend] = {p.name: np.asarray(Image.open(p), dtype=int) for p in sorted(out.iterdir())}
    assert len(outputs["auto"]) == 2 and outputs["auto"].keys() == outputs["torch"].keys()
    for name, image in outputs["auto"].items():
        assert np.abs(image - outputs["torch"][name]).max() <= 2, name
