"""Checkpoints store their config and rebuild their own model; defects are clear errors."""

import pytest
import torch
from safetensors.torch import save_file

from lrmakeup.checkpoint import load_generator, save_generator
from lrmakeup.config import builtin_config_path, load_config
from lrmakeup.errors import CheckpointError
from lrmakeup.models import LRMakeupGenerator


def test_round_trip_rebuilds_model(tiny_config, tmp_path):
    torch.manual_seed(0)
    model = LRMakeupGenerator(tiny_config.model)
    path = tmp_path / "g.safetensors"
    save_generator(path, model, tiny_config, {"note": "test"})
    loaded, config, provenance = load_generator(path)
    assert config == tiny_config and provenance == {"note": "test"}
    for k, v in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[k], v)


def test_fp16_file_loads_as_fp32(tiny_config, tmp_path):
    model = LRMakeupGenerator(tiny_config.model)
    path = tmp_path / "g16.safetensors"
    save_generator(path, model, tiny_config, dtype=torch.float16)
    loaded, _, _ = load_generator(path)
    w = loaded.sr.out.weight
    assert w.dtype == torch.float32
    torch.testing.assert_close(w, model.sr.out.weight, atol=1e-3, rtol=1e-3)


def test_defects(tiny_config, tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        load_generator(tmp_path / "none.safetensors")
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"\x00" * 100)
    with pytest.raises(CheckpointError, match="not a readable"):
        load_generator(junk)
    bare = tmp_path / "bare.safetensors"
    save_file({"a": torch.zeros(1)}, bare)
    with pytest.raises(CheckpointError, match="not an lrmakeup generator checkpoint"):
        load_generator(bare)
    model = LRMakeupGenerator(tiny_config.model)
    path = tmp_path / "g.safetensors"
    save_generator(path, model, tiny_config)
    paper = load_config(builtin_config_path("paper"))
    other = tmp_path / "mismatch.safetensors"
    save_generator(other, model, paper)  # claims the paper config, holds tiny tensors
    with pytest.raises(CheckpointError, match="missing tensor 'distill.blocks.1"):
        load_generator(other)
    wide = load_config(builtin_config_path("tiny"), ["model.sr.channels=16"])
    save_generator(other, model, wide)  # same keys, other widths
    with pytest.raises(CheckpointError, match=r"tensor 'sr\.\S+' has shape \(16, .*expected \(32, "):
        load_generator(other)


def test_save_is_atomic(tiny_config, tmp_path):
    path = tmp_path / "g.safetensors"
    path.write_bytes(b"old")

    class Boom(torch.nn.Module):
        def state_dict(self):
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        save_generator(path, Boom(), tiny_config)
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["g.safetensors"]
