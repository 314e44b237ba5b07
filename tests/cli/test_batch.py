"""Batch transfer: folders or a pairs CSV, one bad file reported and skipped, no silent overwrite."""

import shutil

from PIL import Image

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
    # existing outputs are kept unless --overwrite
    (out / "a__hopper_red.png").write_bytes(b"keep")
    main(args)
    assert (out / "a__hopper_red.png").read_bytes() == b"keep"
    assert "2 skipped" in capsys.readouterr().out
    main(args + ["--overwrite"])
    assert Image.open(out / "a__hopper_red.png").size == (512, 512)  # the photo with the face pasted back


def test_pairs_csv(tiny_checkpoint, photo_dir, tmp_path, capsys):
    csv = photo_dir / "pairs.csv"
    csv.write_text("source,reference,output\nastronaut.png,hopper.png,one.png\nhopper.png,astronaut.png,\n")
    out = tmp_path / "out"
    assert main(["transfer", "--source", str(photo_dir), "--pairs", str(csv), "--output", str(out),
                 "--checkpoint", str(tiny_checkpoint), "--crop-only"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["hopper__astronaut.png", "one.png"]
    assert Image.open(out / "one.png").size == (64, 64)  # the tiny model's face size


def test_bad_pairs_file(tmp_path, capsys):
    bad = tmp_path / "p.csv"
    bad.write_text("a,b\n1,2\n")
    assert main(["transfer", "--source", str(tmp_path), "--pairs", str(bad), "--output", str(tmp_path / "o")]) == 2
    assert "source,reference" in capsys.readouterr().err
