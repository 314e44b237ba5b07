"""lrmakeup iqa: one ``path<TAB>NIQE`` line per readable image; unreadable ones make the exit code 2."""

from __future__ import annotations

import argparse

from lrmakeup.cli import iqa
from lrmakeup.evaluation import niqe
from lrmakeup.face.io import read_image, write_image


def _run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    iqa.add_parser(parser.add_subparsers())  # registered in lrmakeup.cli by its owner
    args = parser.parse_args(["iqa", *argv])
    return args.run(args)


def test_iqa_prints_the_niqe_of_each_image(tmp_path, astronaut_rgb, capsys):
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    write_image(a, astronaut_rgb[:256, :256])
    write_image(b, astronaut_rgb[200:400, 100:300])
    assert _run([str(a), str(b)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines == [f"{p}\t{niqe(read_image(p)):.4f}" for p in (a, b)]


def test_iqa_scores_the_valid_files_and_reports_the_rest(tmp_path, astronaut_rgb, capsys):
    """A non-image and a 64x64 file (too small for NIQE) are reported; every valid file is still scored."""
    good, bad, small, last = (tmp_path / f"{n}.png" for n in ("good", "bad", "small", "last"))
    write_image(good, astronaut_rgb[:128, :128])
    write_image(small, astronaut_rgb[:64, :64])
    write_image(last, astronaut_rgb[100:300, 100:300])
    bad.write_text("not an image")
    assert _run([str(bad), str(good), str(small), str(last)]) == 2
    captured = capsys.readouterr()
    assert captured.out == "".join(f"{p}\t{niqe(read_image(p)):.4f}\n" for p in (good, last))
    err = captured.err.strip().splitlines()
    assert len(err) == 3 and all(line.startswith("lrmakeup: ") for line in err)
    assert "bad.png" in err[0] and "small.png" in err[1] and "96x96" in err[1]
    assert err[2] == "lrmakeup: 2 scored, 2 not scored"
