"""``lrmakeup train`` on bad input: exit code 2, one line on stderr, nothing trained."""

from __future__ import annotations

import pytest

import lrmakeup.cli as cli
from lrmakeup.cli import train as train_cli


@pytest.fixture
def main(monkeypatch):
    """``lrmakeup.cli.main`` with the train command (registered here until cli/__init__ lists it)."""
    if train_cli not in cli.COMMANDS:
        real_build = cli.build_parser

        def build_parser():
            parser = real_build()
            sub = next(a for a in parser._actions if a.dest == "command")
            train_cli.add_parser(sub)
            return parser

        monkeypatch.setattr(cli, "build_parser", build_parser)
    return cli.main


def _bad(main, argv, capsys):
    code = main(argv)
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert len(err.splitlines()) == 1, err
    return err


def test_missing_data_folder(main, tmp_path, capsys):
    err = _bad(main, ["train", "--data", str(tmp_path / "nope"), "--out", str(tmp_path / "run")], capsys)
    assert "training data folder not found" in err
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("override, words", [
    ("train.nope=1", "unknown config key 'train.nope'"),
    ("train.batch_size=big", "train.batch_size' must be int"),
    ("trainlr", "must look like section.key=value"),
])
def test_bad_override(main, tmp_path, capsys, override, words):
    err = _bad(main, ["train", "--data", str(tmp_path), "--out", str(tmp_path / "run"), override], capsys)
    assert words in err


def test_missing_required_options_and_bad_config(main, tmp_path, capsys):
    assert "--out" in _bad(main, ["train", "--data", str(tmp_path)], capsys)
    err = _bad(main, ["train", "--config", str(tmp_path / "x.yaml"), "--data", str(tmp_path), "--out",
                      str(tmp_path / "run")], capsys)
    assert "config file not found" in err
