"""`lrmakeup transfer` end to end, and every kind of bad input: exit code 2, one line, no partial file."""

import numpy as np
import pytest
from PIL import Image

from lrmakeup.api import SHIPPED_WEIGHTS
from lrmakeup.cli import main
from lrmakeup.data.builtin import builtin_face


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
    for path in (out, lr):
        img = Image.open(path)
        assert img.size == (256, 256) and img.mode == "RGB"
    err = capsys.readouterr().err
    assert ("UNTRAINED" in err) != SHIPPED_WEIGHTS.is_file()  # shipped demo weights by default, else said


def _run_bad(args, capsys):
    code = main(args)
    err = capsys.readouterr().err.strip()
    return code, err


@pytest.mark.parametrize(
    "make_args, expected",
    [
        (lambda p, o: ["transfer", "--source", str(p / "missing.png"), "--reference", str(p / "hopper.jpg"), "--output", o], "no such file"),
        (lambda p, o: ["transfer", "--source", str(p / "notes.png"), "--reference", str(p / "hopper.jpg"), "--output", o], "notes.png"),
        (lambda p, o: ["transfer", "--source", str(p / "truncated.png"), "--reference", str(p / "hopper.jpg"), "--output", o], "truncated.png"),
        (lambda p, o: ["transfer", "--source", str(p / "noise.png"), "--reference", str(p / "hopper.jpg"), "--output", o], "no face"),
        (lambda p, o: ["transfer", "--source", str(p / "astronaut.png"), "--reference", str(p / "hopper.jpg"), "--output", o, "--face-index", "3"], "face"),
        (lambda p, o: ["transfer", "--source", str(p / "astronaut.png"), "--reference", str(p / "hopper.jpg"), "--output", o + ".txt"], "must end in"),
        (lambda p, o: ["transfer", "--source", str(p / "astronaut.png"), "--reference", str(p / "hopper.jpg"), "--output", str(p / "nodir" / "o.png")], "does not exist"),
        (lambda p, o: ["transfer", "--source", str(p / "astronaut.png"), "--reference", str(p / "hopper.jpg"), "--output", o, "--device", "cuda"], "cuda"),
        (lambda p, o: ["transfer", "--source", str(p / "astronaut.png"), "--reference", str(p / "hopper.jpg"), "--output", o, "--checkpoint", str(p / "hopper.jpg")], "checkpoint"),
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
