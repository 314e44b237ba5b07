"""Batch transfer: folders or a pairs CSV, one bad file reported and skipped, no silent overwrite; the plan
is checked as a whole before the model loads (outputs inside --output, no collisions, writable folder)."""

import os
import shutil

import pytest
from PIL import Image

import lrmakeup.cli.transfer as transfer_cli
from lrmakeup.cli import main


def test_batch_with_one_bad_file(tiny_checkpoint, photo_dir, tmp_path, capsys):
    sources = tmp_path / "src"
    sources.mkdir()
    shutil.copy(photo_dir / "astronaut.png", sources / "a.png")
    shutil.copy(photo_dir / "hopper.png", sources / "b.png")
    (sources / "broken.png").write_text("not an image")
    out = tmp_path / "out"
    args = ["transfer", "--source", str(sources), "--reference", str(photo_dir / "hopper_red.png"),
            "--output", str(out), "--checkpoint", str(tiny_checkpoint)]
    assert main(args) == 2
    captured = capsys.readouterr()
    assert sorted(p.name for p in out.iterdir()) == ["a__hopper_red.png", "b__hopper_red.png"]
    assert "broken.png" in captured.err and "2 written" in captured.out and "1 failed" in captured.out
    assert "overwrite" not in captured.out  # nothing was skipped: no advice about --overwrite
    # existing outputs are kept unless --overwrite
    (out / "a__hopper_red.png").write_bytes(b"keep")
    main(args)
    assert (out / "a__hopper_red.png").read_bytes() == b"keep"
    assert "2 skipped (already there; --overwrite replaces them)" in capsys.readouterr().out
    main(args + ["--overwrite"])
    assert Image.open(out / "a__hopper_red.png").size == (512, 512)  # the photo with the face pasted back


def test_pairs_csv(tiny_checkpoint, photo_dir, tmp_path, capsys):
    csv = photo_dir / "pairs.csv"
    csv.write_text("source,reference,output\nastronaut.png,hopper.png,one.png\nhopper.png,astronaut.png,\n")
    out = tmp_path / "out"
    assert main(["transfer", "--pairs", str(csv), "--output", str(out),  # --pairs needs no --source
                 "--checkpoint", str(tiny_checkpoint), "--crop-only"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["hopper__astronaut.png", "one.png"]
    assert Image.open(out / "one.png").size == (64, 64)  # the tiny model's face size


def test_bad_pairs_file(tmp_path, capsys):
    bad = tmp_path / "p.csv"
    bad.write_text("a,b\n1,2\n")
    assert main(["transfer", "--pairs", str(bad), "--output", str(tmp_path / "o")]) == 2
    assert "source,reference" in capsys.readouterr().err


@pytest.fixture
def no_model(monkeypatch):
    """Fail the test if the command gets as far as loading a model."""
    def refuse(args):
        raise AssertionError("the model was loaded before the bad plan was refused")

    monkeypatch.setattr(transfer_cli, "load_model", refuse)


def _one_line_exit_2(argv, capsys):
    code = main(argv)
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert len(err.splitlines()) == 1 and err.startswith("lrmakeup: error:"), err
    return err


@pytest.mark.parametrize("output", ["../escape.png", "sub/../../escape.png", "/tmp/lrmakeup-escape.png"])
def test_pairs_csv_cannot_write_outside_output(photo_dir, tmp_path, capsys, no_model, output):
    csv = tmp_path / "pairs.csv"
    csv.write_text(f"source,reference,output\n{photo_dir}/astronaut.png,{photo_dir}/hopper.png,{output}\n")
    out = tmp_path / "out"
    err = _one_line_exit_2(["transfer", "--pairs", str(csv), "--output", str(out)], capsys)
    assert "line 2" in err and ("outside --output" in err or "absolute" in err)
    assert not (tmp_path / "escape.png").exists() and not os.path.exists("/tmp/lrmakeup-escape.png")


def test_same_stem_sources_get_distinct_outputs(tiny_checkpoint, photo_dir, tmp_path, capsys):
    """face.png and face.jpg both map to face__<ref>.png: each pair gets its own file, both are written."""
    sources = tmp_path / "src"
    sources.mkdir()
    shutil.copy(photo_dir / "astronaut.png", sources / "face.png")
    Image.open(photo_dir / "hopper.png").save(sources / "face.jpg")
    out = tmp_path / "out"
    for _ in range(2):  # the second run finds both outputs: both skipped, none silently lost
        code = main(["transfer", "--source", str(sources), "--reference", str(photo_dir / "hopper_red.png"),
                     "--output", str(out), "--checkpoint", str(tiny_checkpoint), "--crop-only"])
        assert code == 0, capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["face_jpg__hopper_red_png.png", "face_png__hopper_red_png.png"]
    assert "0 written, 2 skipped" in capsys.readouterr().out


def test_two_csv_rows_with_one_output_are_refused(photo_dir, tmp_path, capsys, no_model):
    csv = tmp_path / "pairs.csv"
    csv.write_text(f"source,reference,output\n{photo_dir}/astronaut.png,{photo_dir}/hopper.png,x.png\n"
                   f"{photo_dir}/hopper.png,{photo_dir}/astronaut.png,x.png\n")
    err = _one_line_exit_2(["transfer", "--pairs", str(csv), "--output", str(tmp_path / "out")], capsys)
    assert "same output" in err and "x.png" in err


@pytest.mark.parametrize("row, expected", [
    ("{d}/astronaut.png\n", "line 2: 1 column"),
    ('"{d}/astronaut.png,{d}/hopper.png,x.png\n', "line 2"),
    ("{d}/astronaut.png,{d}/hopper.png,x.png,extra\n", "line 2: 4 column"),
    (",{d}/hopper.png\n", "line 2: empty source"),
])
def test_malformed_csv_row_is_one_line_naming_the_row(photo_dir, tmp_path, capsys, no_model, row, expected):
    csv = tmp_path / "pairs.csv"
    csv.write_text("source,reference,output\n" + row.format(d=photo_dir))
    err = _one_line_exit_2(["transfer", "--pairs", str(csv), "--output", str(tmp_path / "out")], capsys)
    assert expected in err and "pairs.csv" in err


@pytest.mark.parametrize("where", ["proc", "long_name", "read_only"])
def test_unwritable_output_is_refused_before_the_model_loads(photo_dir, tmp_path, capsys, no_model, where):
    single = ["transfer", "--source", str(photo_dir / "astronaut.png"), "--reference", str(photo_dir / "hopper.png")]
    if where == "proc":
        argv = [*single, "--output", "/proc/x.png"]
    elif where == "long_name":
        argv = [*single, "--output", str(tmp_path / ("x" * 300 + ".png"))]
    else:
        if os.geteuid() == 0:
            pytest.skip("root writes into read-only folders")
        folder = tmp_path / "ro"
        folder.mkdir()
        folder.chmod(0o555)
        argv = ["transfer", "--source", str(photo_dir), "--reference", str(photo_dir / "hopper.png"),
                "--output", str(folder)]
    _one_line_exit_2(argv, capsys)


def test_batch_into_proc_is_refused_before_the_model_loads(photo_dir, capsys, no_model):
    _one_line_exit_2(["transfer", "--source", str(photo_dir), "--reference", str(photo_dir / "hopper.png"),
                      "--output", "/proc/lrmakeup-out"], capsys)


def test_broken_source_is_reported_once_and_each_pair_fails_alone(tiny_checkpoint, photo_dir, tmp_path, capsys):
    sources, refs = tmp_path / "src", tmp_path / "refs"
    sources.mkdir()
    refs.mkdir()
    (sources / "broken.png").write_text("not an image")
    shutil.copy(photo_dir / "astronaut.png", sources / "a.png")
    for name in ("hopper.png", "hopper_red.png"):
        shutil.copy(photo_dir / name, refs / name)
    (refs / "zzz.png").write_bytes(b"neither")
    out = tmp_path / "out"
    assert main(["transfer", "--source", str(sources), "--reference", str(refs), "--output", str(out),
                 "--checkpoint", str(tiny_checkpoint), "--crop-only"]) == 2
    captured = capsys.readouterr()
    failed = [line for line in captured.err.splitlines() if line.startswith("lrmakeup: failed:")]
    assert len(failed) == 2, captured.err  # broken.png once (not once per reference), zzz.png once
    assert sum("broken.png" in line for line in failed) == 1 and sum("zzz.png" in line for line in failed) == 1
    assert sorted(p.name for p in out.iterdir()) == ["a__hopper.png", "a__hopper_red.png"]
    assert "2 written, 4 failed" in captured.out and "overwrite" not in captured.out


def test_pairs_with_source_is_a_usage_error(photo_dir, tmp_path, capsys, no_model):
    csv = tmp_path / "pairs.csv"
    csv.write_text(f"source,reference\n{photo_dir}/astronaut.png,{photo_dir}/hopper.png\n")
    err = _one_line_exit_2(["transfer", "--source", str(photo_dir), "--pairs", str(csv), "--output",
                            str(tmp_path / "out")], capsys)
    assert "--pairs" in err
