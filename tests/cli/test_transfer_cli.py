"""`lrmakeup transfer` end to end, and every kind of bad input: exit code 2, one line, no partial file."""

import os
import threading
import time

import numpy as np
import pytest
from PIL import Image

import lrmakeup.cli.transfer as transfer_cli
from lrmakeup.api import SHIPPED_WEIGHTS, MakeupTransfer
from lrmakeup.checkpoint import save_generator
from lrmakeup.cli import main
from lrmakeup.data.builtin import builtin_face
from lrmakeup.errors import LRMakeupWarning, NoFaceError


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    d = tmp_path_factory.mktemp("photos")
    Image.fromarray(builtin_face("astronaut")).save(d / "astronaut.png")
    Image.fromarray(builtin_face("grace_hopper")).save(d / "hopper.jpg")
    Image.fromarray(builtin_face("astronaut")).resize((64, 64), Image.BICUBIC).save(d / "astronaut64.png")
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (200, 200, 3), dtype=np.uint8)).save(d / "noise.png")
    (d / "notes.png").write_text("not an image")
    data = (d / "astronaut.png").read_bytes()
    (d / "truncated.png").write_bytes(data[: len(data) // 3])
    return d


@pytest.mark.slow
def test_transfer_full_size(photos, tmp_path, capsys):
    """The one full-size end-to-end run (default model: the shipped demo weights, else an untrained
    paper-size model): a 64x64 source, a full photo reference, a 256x256 result."""
    out, lr = tmp_path / "out.png", tmp_path / "lr.png"
    code = main(["transfer", "--source", str(photos / "astronaut64.png"), "--reference", str(photos / "hopper.jpg"),
                 "--output", str(out), "--save-lr", str(lr)])
    assert code == 0, capsys.readouterr().err
    img = Image.open(out)
    assert img.size == (256, 256) and img.mode == "RGB"
    assert Image.open(lr).size == (64, 64)  # x̃_LR at the model's input size: named and sized honestly
    err = capsys.readouterr().err
    assert ("UNTRAINED" in err) != SHIPPED_WEIGHTS.is_file()  # shipped demo weights by default, else said


def _run_bad(args, capsys):
    code = main(args)
    err = capsys.readouterr().err.strip()
    return code, err


def _pair(p, source="astronaut.png"):
    return ["transfer", "--source", str(p / source), "--reference", str(p / "hopper.jpg")]


@pytest.mark.parametrize(
    "make_args, expected",
    [
        (lambda p, o: [*_pair(p, "missing.png"), "--output", o], "no such file"),
        (lambda p, o: [*_pair(p, "notes.png"), "--output", o], "notes.png"),
        (lambda p, o: [*_pair(p, "truncated.png"), "--output", o], "truncated.png"),
        (lambda p, o: [*_pair(p, "noise.png"), "--output", o], "no face"),
        (lambda p, o: [*_pair(p), "--output", o, "--face-index", "3"], "face"),
        (lambda p, o: [*_pair(p), "--output", o + ".txt"], "must end in"),
        (lambda p, o: [*_pair(p), "--output", str(p / "nodir" / "o.png")], "does not exist"),
        (lambda p, o: [*_pair(p), "--output", o, "--device", "cuda"], "cuda"),
        (lambda p, o: [*_pair(p), "--output", o, "--checkpoint", str(p / "hopper.jpg")], "checkpoint"),
        (lambda p, o: ["transfer", "--source", str(p / "astronaut.png"), "--output", o], "required"),
        (lambda p, o: ["frobnicate"], "invalid choice"),
    ],
)
def test_bad_input_exit_2_one_line(photos, tmp_path, capsys, make_args, expected):
    out = tmp_path / "out.png"
    code, err = _run_bad(make_args(photos, str(out)), capsys)
    lines = [line for line in err.splitlines() if not line.startswith("lrmakeup: note:")]
    assert code == 2
    assert len(lines) == 1 and lines[0].startswith("lrmakeup: error:"), err
    assert expected in lines[0].lower() or expected in lines[0]
    assert "Traceback" not in err
    assert list(tmp_path.iterdir()) == []  # nothing written, not even a temporary file


def test_existing_output_survives_failure(photos, tmp_path, capsys):
    out = tmp_path / "out.png"
    out.write_bytes(b"precious")
    code, _ = _run_bad(["transfer", "--source", str(photos / "noise.png"), "--reference", str(photos / "hopper.jpg"),
                        "--output", str(out)], capsys)
    assert code == 2 and out.read_bytes() == b"precious"
    assert [p.name for p in tmp_path.iterdir()] == ["out.png"]


def test_full_photo_is_pasted_back(tiny_checkpoint, photos, tmp_path, capsys):
    """A full-size photo in, the same-size photo out, changed only inside the face crop."""
    out = tmp_path / "photo.png"
    assert main(["transfer", "--source", str(photos / "astronaut.png"), "--reference", str(photos / "hopper.jpg"),
                 "--output", str(out), "--checkpoint", str(tiny_checkpoint)]) == 0
    before, after = np.asarray(Image.open(photos / "astronaut.png")), np.asarray(Image.open(out))
    assert after.shape == before.shape == (512, 512, 3)
    changed = np.argwhere((after != before).any(axis=2))
    assert len(changed) > 1000
    (top, left), (bottom, right) = changed.min(0), changed.max(0)
    assert bottom - top < 300 and right - left < 300  # only the face region, not the whole photo
    crop = tmp_path / "crop.png"
    assert main(["transfer", "--source", str(photos / "astronaut.png"), "--reference", str(photos / "hopper.jpg"),
                 "--output", str(crop), "--checkpoint", str(tiny_checkpoint), "--crop-only"]) == 0
    assert Image.open(crop).size == (64, 64)  # the tiny model's output size


@pytest.fixture
def no_model(monkeypatch):
    def refuse(args):
        raise AssertionError("the model was loaded before the bad argument was refused")

    monkeypatch.setattr(transfer_cli, "load_model", refuse)


def _one_line(code, capsys):
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and err.startswith("lrmakeup: error:"), err
    return err


@pytest.mark.parametrize("which", ["source", "reference"])
def test_no_face_names_the_image(tiny_checkpoint, photos, tmp_path, capsys, which):
    """The message says whether the source or the reference had no face; the library error carries it too."""
    pair = {"source": photos / "astronaut.png", "reference": photos / "hopper.jpg", which: photos / "noise.png"}
    code = main(["transfer", "--source", str(pair["source"]), "--reference", str(pair["reference"]),
                 "--output", str(tmp_path / "o.png"), "--checkpoint", str(tiny_checkpoint)])
    err = _one_line(code, capsys)
    assert f"no face found in the {which} photo" in err and "noise.png" in err
    engine = MakeupTransfer.from_checkpoint(tiny_checkpoint)
    noise = np.asarray(Image.open(photos / "noise.png"))
    args = {"source": builtin_face("astronaut"), "reference": builtin_face("grace_hopper"), which: noise}
    with pytest.raises(NoFaceError, match=which) as info:
        engine.transfer(args["source"], args["reference"])
    assert info.value.role == which


def test_save_lr_equal_to_output_is_refused(photos, tmp_path, capsys, no_model):
    out = tmp_path / "o.png"
    code = main(["transfer", "--source", str(photos / "astronaut.png"), "--reference", str(photos / "hopper.jpg"),
                 "--output", str(out), "--save-lr", str(tmp_path / "." / "o.png")])
    assert "same file" in _one_line(code, capsys)


@pytest.mark.parametrize("which", ["source", "reference"])
def test_output_equal_to_an_input_is_refused(photos, tmp_path, capsys, no_model, which):
    src, ref = tmp_path / "s.png", tmp_path / "r.jpg"
    src.write_bytes((photos / "astronaut.png").read_bytes())
    ref.write_bytes((photos / "hopper.jpg").read_bytes())
    before = {p: p.read_bytes() for p in (src, ref)}
    target = src if which == "source" else ref
    (tmp_path / "sub").mkdir()
    code = main(["transfer", "--source", str(src), "--reference", str(ref),
                 "--output", str(tmp_path / "sub" / ".." / target.name)])
    assert f"--{which}" in _one_line(code, capsys)
    assert {p: p.read_bytes() for p in (src, ref)} == before


def test_fifo_source_is_refused_at_once(photos, tmp_path, capsys, no_model):
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    result = {}
    worker = threading.Thread(target=lambda: result.setdefault("code", main(
        ["transfer", "--source", str(fifo), "--reference", str(photos / "hopper.jpg"),
         "--output", str(tmp_path / "o.png")])), daemon=True)
    start = time.monotonic()
    worker.start()
    worker.join(20)
    assert not worker.is_alive(), "a named pipe as --source blocked the command"
    assert time.monotonic() - start < 5
    assert "not a regular file" in _one_line(result["code"], capsys)


def test_fifo_is_refused_by_read_image(tmp_path):
    from lrmakeup.errors import ImageReadError
    from lrmakeup.face.io import read_image

    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    with pytest.raises(ImageReadError, match="not a regular file"):
        read_image(fifo)


def test_blend_without_blend_reference_is_a_usage_error(photos, tmp_path, capsys, no_model):
    code = main(["transfer", "--source", str(photos / "astronaut.png"), "--reference", str(photos / "hopper.jpg"),
                 "--output", str(tmp_path / "o.png"), "--blend", "0.3"])
    assert "--blend-reference" in _one_line(code, capsys)


@pytest.mark.parametrize("option", [["--intensity", "abc"], ["--lips", "1.5"], ["--face-index", "-1"],
                                    ["--device", "tpu"], ["--threads", "0"]])
def test_bad_option_values_exit_2_before_the_model(photos, tmp_path, capsys, no_model, option):
    code = main(["transfer", "--source", str(photos / "astronaut.png"), "--reference", str(photos / "hopper.jpg"),
                 "--output", str(tmp_path / "o.png"), *option])
    _one_line(code, capsys)


def test_tiny_face_warns(tiny_checkpoint, tmp_path, capsys):
    """A whole photo shrunk to 64x64 leaves a face of about a dozen pixels: it works, with a warning."""
    small = tmp_path / "small.png"
    Image.fromarray(builtin_face("astronaut")).resize((64, 64), Image.BICUBIC).save(small)
    engine = MakeupTransfer.from_checkpoint(tiny_checkpoint)
    with pytest.warns(LRMakeupWarning, match="pixels tall"):
        engine.transfer(str(small), builtin_face("grace_hopper"))
    code = main(["transfer", "--source", str(small), "--reference", str(small), "--output", str(tmp_path / "o.png"),
                 "--checkpoint", str(tiny_checkpoint)])
    err = capsys.readouterr().err
    assert code == 0 and "lrmakeup: warning: the face in the source photo" in err and "blurry" in err


def test_checkpoint_with_random_sr_stage_warns(tiny_engine, tmp_path, photos, capsys):
    path = tmp_path / "psgan.safetensors"
    save_generator(path, tiny_engine.model, tiny_engine.config, {"sr_modules": "random init", "untrained_sr": True})
    with pytest.warns(LRMakeupWarning, match="super-resolution stage is randomly initialised"):
        MakeupTransfer.from_checkpoint(path)
    code = main(["transfer", "--source", str(photos / "astronaut.png"), "--reference", str(photos / "hopper.jpg"),
                 "--output", str(tmp_path / "o.png"), "--checkpoint", str(path), "--crop-only"])
    assert code == 0 and "lrmakeup: warning:" in capsys.readouterr().err


def test_gfpgan_style_aliases_and_aligned(tiny_checkpoint, photos, tmp_path, capsys):
    """-i/-o, --only_center_face; --aligned takes the whole image as the face (no detection: noise works)."""
    out = tmp_path / "o.png"
    assert main(["transfer", "-i", str(photos / "astronaut.png"), "-r", str(photos / "hopper.jpg"), "-o", str(out),
                 "--only_center_face", "--checkpoint", str(tiny_checkpoint)]) == 0
    assert Image.open(out).size == (512, 512)
    aligned = tmp_path / "aligned.png"
    assert main(["transfer", "-i", str(photos / "noise.png"), "-r", str(photos / "hopper.jpg"), "-o", str(aligned),
                 "--aligned", "--checkpoint", str(tiny_checkpoint)]) == 0, capsys.readouterr().err
    assert Image.open(aligned).size == (64, 64)  # the tiny model's face
