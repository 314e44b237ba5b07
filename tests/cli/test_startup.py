"""Start-up: --help and bad arguments answer without importing torch (issue 9.1, 10.10), and so can inference;
the README's promises about --checkpoint / --device / --threads hold. Wall times are measured by
benchmarks/cli_latency.py."""

from __future__ import annotations

import subprocess
import sys

import pytest

from lrmakeup.cli import build_parser
from lrmakeup.cli import evaluate as evaluate_cli

HEAVY = ("torch", "torchvision", "torchmetrics", "gradio", "onnx", "onnxruntime")


def _modules_after(code: str) -> set[str]:
    """Top-level modules imported by ``code`` in a fresh interpreter."""
    probe = f"import sys\n{code}\nprint(' '.join(sorted({{m.split('.')[0] for m in sys.modules}})))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_help_imports_no_torch():
    loaded = _modules_after("from lrmakeup.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass")
    assert not loaded & set(HEAVY), loaded & set(HEAVY)


@pytest.mark.parametrize("argv", [
    ["transfer", "--source", "missing.png", "--reference", "missing.png", "--output", "o.png"],
    ["transfer", "--help"],
    ["evaluate", "--data", "nowhere", "--out", "o", "--baselines", "bicubic,nope"],
    ["iqa", "--crop-border", "-1", "x.png"],
    ["export-onnx", "--output", "/proc/x.onnx"],
    ["demo", "--source", "missing.png"],
    ["prepare", "--mt-root", "nowhere", "--out", "o", "--teacher", "classic"],
    ["import-psgan", "G.pth", "--output", "x.safetensors"],
])
def test_bad_arguments_are_reported_before_torch_is_imported(argv):
    loaded = _modules_after(f"from lrmakeup.cli import main\ntry:\n    code = main({argv!r})\nexcept SystemExit:\n"
                            "    code = 0\nassert code in (0, 2), code")
    assert "torch" not in loaded


def test_inference_without_torch_is_importable():
    """The Python API, the onnxruntime backend, face analysis and paste-back import no torch (the default
    transfer never imports it: tests/cli/test_backend.py)."""
    loaded = _modules_after("import lrmakeup.api, lrmakeup.serving.onnx_runtime, lrmakeup.face, lrmakeup.face.paste")
    assert "torch" not in loaded


def test_evaluate_knows_the_runners_baselines():
    from lrmakeup.evaluation.runner import BASELINES

    assert evaluate_cli.BASELINES == BASELINES


def _options(command: str) -> set[str]:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    return {s for a in sub.choices[command]._actions for s in a.option_strings}


@pytest.mark.parametrize("command", ["transfer", "demo", "serve", "evaluate"])
def test_model_commands_take_checkpoint_device_threads(command):
    assert {"--checkpoint", "--device", "--threads"} <= _options(command)


def test_gfpgan_conventions():
    assert {"-i", "-o", "--aligned", "--only-center-face", "--only_center_face"} <= _options("transfer")
    assert "--checkpoint" in _options("export-onnx")


def test_import_psgan_into_an_unwritable_folder_is_refused_before_work(tmp_path, capsys):
    from lrmakeup.cli import main

    fake = tmp_path / "G.pth"
    fake.write_bytes(b"not read: the output is checked first")
    assert main(["import-psgan", str(fake), "--output", "/proc/psgan.safetensors"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("lrmakeup: error: cannot write")


def test_transfer_imports_only_what_it_uses(tiny_checkpoint, photo_dir, tmp_path):
    """A transfer of a .safetensors checkpoint needs torch, but not torchvision, torchmetrics, gradio, onnx,
    onnxruntime or torch._dynamo."""
    argv = ["transfer", "--source", str(photo_dir / "astronaut.png"), "--reference", str(photo_dir / "hopper.png"),
            "--output", str(tmp_path / "o.png"), "--checkpoint", str(tiny_checkpoint), "--crop-only"]
    probe = (f"import sys\nfrom lrmakeup.cli import main\nassert main({argv!r}) == 0\n"
             "print(' '.join(sorted(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    loaded = set(out.stdout.split())
    assert "torch" in loaded
    unused = {m for m in loaded if m.split(".")[0] in ("torchvision", "torchmetrics", "gradio", "onnx", "onnxruntime")
              or m.startswith("torch._dynamo")}
    assert not unused, sorted(unused)[:5]
