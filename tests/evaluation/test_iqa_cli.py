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


def test_iqa_reports_readable_images_then_exits_2_on_a_non_image(tmp_path, astronaut_rgb, capsys):
    good, bad = tmp_path / "good.png", tmp_path / "bad.png"
    write_image(good, astronaut_rgb[:128, :128])
    bad.write_text("not an image")
    assert _run([str(bad), str(good)]) == 2
    captured = capsys.readouterr()
    assert captured.out == f"{good}\t{niqe(read_image(good)):.4f}\n"
    err = captured.err.strip().splitlines()
    assert len(err) == 1 and "bad.png" in err[0] and err[0].startswith("lrmakeup: error:")
