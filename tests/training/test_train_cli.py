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


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    """Real prepared tuples at the tiny config's sizes (64 / 16), from the data tests' tiny MT folder."""
    import importlib.util
    from pathlib import Path

    import skimage.data

    from lrmakeup.data.builtin import builtin_face
    from lrmakeup.face.analysis import FaceAnalyzer

    path = Path(__file__).resolve().parents[1] / "data" / "conftest.py"
    spec = importlib.util.spec_from_file_location("lrmakeup_tests_data_conftest", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    mt = tmp_path_factory.mktemp("mt")
    module.build_mt(mt, {"astronaut_rgb": skimage.data.astronaut(), "grace_hopper_rgb": builtin_face("grace_hopper")},
                    FaceAnalyzer())
    out = tmp_path_factory.mktemp("prepared") / "tuples"
    code = cli.main(["prepare", "--mt-root", str(mt), "--out", str(out), "--teacher", "classic", "--pairs", "3",
                     "--test-pairs", "1", "--test-sources", "1", "--image-size", "64", "--input-size", "16", "--quiet"])
    assert code == 0
    return out


def test_train_and_resume_on_prepared_tuples(main, prepared, tmp_path, capsys):
    """The command end to end on real TupleDataset items; --resume continues; its generator loads."""
    from lrmakeup.checkpoint import load_generator
    from lrmakeup.config import builtin_config_path

    run = tmp_path / "run"
    args = ["train", "--config", str(builtin_config_path("tiny")), "--data", str(prepared), "--out", str(run),
            "--no-progress"]
    overrides = ["loss.per_makeup=0", "loss.per_sr=0", "train.image_every=1"]
    assert main([*args, *overrides, "train.max_steps=1"]) == 0, capsys.readouterr().err
    assert "trained 1 steps" in capsys.readouterr().out
    assert main([*args, *overrides, "train.max_steps=2"]) == 2  # the folder holds a run: --resume is required
    assert "--resume" in capsys.readouterr().err
    assert main([*args, "--resume", *overrides, "train.max_steps=2"]) == 0, capsys.readouterr().err
    model, config, provenance = load_generator(run / "generator.safetensors")
    assert provenance["step"] == 2 and config.model.image_size == 64
    assert (run / "images" / "step_0000002.png").is_file()


def test_data_prepared_at_other_sizes_is_refused(main, prepared, tmp_path, capsys):
    err = _bad(main, ["train", "--data", str(prepared), "--out", str(tmp_path / "run")], capsys)  # paper sizes
    assert "prepared with image_size 64 but the model has model.image_size=256" in err


def test_nan_loss_is_one_line_and_exit_1(main, prepared, tmp_path, capsys, monkeypatch):
    import torch

    from lrmakeup.config import builtin_config_path
    from lrmakeup.training import objective

    monkeypatch.setattr(objective, "sr_mse_loss", lambda *a, **k: torch.tensor(float("inf")))
    code = main(["train", "--config", str(builtin_config_path("tiny")), "--data", str(prepared), "--out",
                 str(tmp_path / "run"), "--no-progress", "loss.vgg_weights=random"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert err[-1].startswith("lrmakeup: error: training stopped: loss term 'mse_sr' (eq. (18)) is inf at step 1")
    assert len([line for line in err if line.startswith("lrmakeup: error")]) == 1
