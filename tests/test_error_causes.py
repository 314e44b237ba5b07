"""Errors keep their cause: the message says the underlying reason, ``__cause__`` holds the original exception,
and ``lrmakeup --debug`` prints its traceback (without --debug: one line, exit 2)."""

from __future__ import annotations

import pytest

from lrmakeup.api import import_psgan
from lrmakeup.cli import main
from lrmakeup.config import load_config
from lrmakeup.errors import CheckpointError, ConfigError


@pytest.fixture
def junk_pth(tmp_path):
    bad = tmp_path / "G.pth"
    bad.write_text("hello")
    return bad


def test_unreadable_psgan_checkpoint_says_why(junk_pth, tmp_path):
    with pytest.raises(CheckpointError) as info:
        import_psgan(junk_pth, tmp_path / "o.safetensors")
    cause = info.value.__cause__
    assert cause is not None and not isinstance(cause, CheckpointError)
    reason = " ".join(str(cause).split())[:40]
    assert reason and reason in str(info.value)  # the underlying reason, not only the exception's type name


def test_debug_prints_the_original_traceback(junk_pth, tmp_path, capsys):
    argv = ["import-psgan", str(junk_pth), "--output", str(tmp_path / "o.safetensors")]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "not a readable PyTorch checkpoint" in err
    assert main(["--debug", *argv]) == 2
    err = capsys.readouterr().err
    assert "The above exception was the direct cause of the following exception" in err
    assert "torch" in err.split("direct cause")[0]  # the original error's frames (inside torch.load)
    assert err.strip().splitlines()[-1].startswith("lrmakeup: error:")


def test_bad_yaml_config_keeps_the_parser_error(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("model: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML") as info:
        load_config(path)
    assert type(info.value.__cause__).__module__.startswith("yaml")
