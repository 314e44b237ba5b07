"""Checkpoints from strangers: a config describing a huge model, a header that lies, NaN weights.

A checkpoint rebuilds the model its own config describes, so the config and the tensor header are checked
(on the ``meta`` device, which allocates nothing) before any model or tensor is allocated.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from PIL import Image
from safetensors.torch import save_file

from lrmakeup.api import import_psgan
from lrmakeup.checkpoint import FORMAT, MAX_PARAMETERS, check_config_bounds, load_generator, save_generator
from lrmakeup.cli import main
from lrmakeup.config import builtin_config_path, load_config
from lrmakeup.data.builtin import builtin_face
from lrmakeup.errors import CheckpointError
from lrmakeup.evaluation.baselines import CASCADE_FORMAT, load_cascade, save_cascade
from lrmakeup.models import LRMakeupGenerator
from lrmakeup.models.cascade import CascadeConfig, CascadeSR

MEMORY_LIMIT = 6 * 2**30  # address space of the child: torch itself maps ~3.5 GB; the hostile model needs 127 GB


def hostile(path, tensors, *overrides: str):
    """A small file whose metadata claims the tiny config with ``overrides`` (e.g. 3000 channels)."""
    config = load_config(builtin_config_path("tiny"), list(overrides))
    save_file(tensors, str(path), metadata={"format": FORMAT, "config": config.to_yaml(), "provenance": "{}"})
    return path


@pytest.fixture
def tiny_tensors(tiny_config):
    torch.manual_seed(0)
    return {k: v.contiguous() for k, v in LRMakeupGenerator(tiny_config.model).state_dict().items()}


def test_a_small_file_describing_a_31g_parameter_model_fails_fast_under_a_memory_limit(tmp_path):
    """The probe's case: 3000 channels in the metadata, a few bytes of tensors. Exit 2, one line, no OOM."""
    ckpt = hostile(tmp_path / "hostile.safetensors", {"x": torch.zeros(4)},
                   "model.makeup.channels=3000", "model.prior.channels=3000")
    assert ckpt.stat().st_size < 4096
    for name in ("astronaut", "grace_hopper"):
        Image.fromarray(builtin_face(name)).save(tmp_path / f"{name}.png")
    code = (f"import resource, sys; resource.setrlimit(resource.RLIMIT_AS, ({MEMORY_LIMIT}, {MEMORY_LIMIT})); "
            "from lrmakeup.cli import main; sys.exit(main(sys.argv[1:]))")
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", code, "transfer", "--checkpoint", str(ckpt),
                           "--source", str(tmp_path / "astronaut.png"),
                           "--reference", str(tmp_path / "grace_hopper.png"),
                           "--output", str(tmp_path / "out.png")],
                          capture_output=True, text=True, timeout=120, env={"OMP_NUM_THREADS": "1", "PATH": ""})
    elapsed = time.monotonic() - start
    err = proc.stderr.strip()
    assert proc.returncode == 2, err
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert "model.makeup.channels" in err and "3000" in err and "hostile.safetensors" in err
    assert not (tmp_path / "out.png").exists()
    assert elapsed < 60, elapsed  # start-up of python + torch on a busy machine; no model is built


def test_configs_within_field_bounds_but_over_the_parameter_budget_are_refused(tmp_path):
    """1000 makeup channels pass the per-field bound (1024) but make a 3.2G-parameter model: refused from the
    meta-device build, before anything is allocated."""
    ckpt = hostile(tmp_path / "wide.safetensors", {"x": torch.zeros(4)}, "model.makeup.channels=1000")
    limit = MAX_PARAMETERS // 10**6
    with pytest.raises(CheckpointError, match=rf"model of [\d,]+M parameters, over the limit of {limit}M"):
        load_generator(ckpt)


@pytest.mark.parametrize("override, words", [
    ("model.image_size=100000", "'model.image_size' = 100000 is outside the sane range 0..1024"),
    ("model.prior.hourglass_order=5000", "'model.prior.hourglass_order' = 5000 is outside the sane range 0..64"),
    ("model.sr.n_blocks=100000", "'model.sr.n_blocks' = 100000"),
    ("model.makeup.temperature=.inf", "'model.makeup.temperature' = inf is not a finite number"),
    ("model.sr.channels=-4", "'model.sr.channels' = -4 is outside"),
])
def test_each_config_field_is_bounded(tmp_path, tiny_tensors, override, words):
    with pytest.raises(CheckpointError, match=words.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        load_generator(hostile(tmp_path / "bad.safetensors", tiny_tensors, override))


def test_bounds_are_generic_over_new_fields():
    """A field the lead adds later is bounded without being listed: ints by their default, *_size by pixels."""
    from dataclasses import dataclass, field

    @dataclass
    class Inner:
        new_blocks: int = 2
        crop_size: int = 64

    @dataclass
    class Outer:
        inner: Inner = field(default_factory=Inner)

    check_config_bounds(Outer(Inner(new_blocks=64, crop_size=1024)), "model")
    with pytest.raises(CheckpointError, match="'model.inner.new_blocks' = 65 is outside the sane range 0..64"):
        check_config_bounds(Outer(Inner(new_blocks=65)), "model")
    with pytest.raises(CheckpointError, match="'model.inner.crop_size' = 2048"):
        check_config_bounds(Outer(Inner(crop_size=2048)), "model")


def test_header_is_checked_before_tensors_are_read(tmp_path, tiny_tensors, monkeypatch):
    """A header that does not fit the config is refused without reading (or allocating) the tensor data."""
    import lrmakeup.checkpoint as ckpt_module

    monkeypatch.setattr(ckpt_module, "load_file", lambda *a, **k: pytest.fail("tensor data read before the check"))
    wrong_shape = dict(tiny_tensors, **{"sr.out.weight": torch.zeros(3, 7, 3, 3)})
    with pytest.raises(CheckpointError, match=r"tensor 'sr\.out\.weight' has shape \(3, 7, 3, 3\), expected \(3, "):
        load_generator(hostile(tmp_path / "shape.safetensors", wrong_shape))
    extra = dict(tiny_tensors, extra=torch.zeros(1))
    with pytest.raises(CheckpointError, match="unexpected tensor 'extra'"):
        load_generator(hostile(tmp_path / "extra.safetensors", extra))
    int_weights = dict(tiny_tensors, **{"sr.out.weight": tiny_tensors["sr.out.weight"].to(torch.int32)})
    with pytest.raises(CheckpointError, match=r"tensor 'sr\.out\.weight' has dtype I32, expected one of BF16, F16"):
        load_generator(hostile(tmp_path / "dtype.safetensors", int_weights))


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_non_finite_weights_are_refused(tmp_path, tiny_config, bad):
    model = LRMakeupGenerator(tiny_config.model)
    with torch.no_grad():
        model.sr.out.weight[0, 0, 0, 0] = bad
    path = tmp_path / "nan.safetensors"
    save_generator(path, model, tiny_config)
    with pytest.raises(CheckpointError, match=r"nan\.safetensors: tensor 'sr\.out\.weight' holds non-finite values"):
        load_generator(path)


def test_nan_checkpoint_on_the_command_line_is_exit_2_one_line(tmp_path, tiny_config, capsys):
    model = LRMakeupGenerator(tiny_config.model)
    with torch.no_grad():
        model.apply_net.out.weight.fill_(float("nan"))
    path = tmp_path / "nan.safetensors"
    save_generator(path, model, tiny_config, dtype=torch.float16)
    Image.fromarray(builtin_face("astronaut")).save(tmp_path / "a.png")
    code = main(["transfer", "--checkpoint", str(path), "--source", str(tmp_path / "a.png"),
                 "--reference", str(tmp_path / "a.png"), "--output", str(tmp_path / "out.png")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1, err
    assert "tensor 'apply_net.out.weight' holds non-finite values (NaN or inf)" in err
    assert not (tmp_path / "out.png").exists()


def test_import_psgan_refuses_nan_weights(tmp_path, capsys):
    from test_psgan_import import official_psgan_shapes

    state = {k: torch.zeros(*shape) for k, shape in official_psgan_shapes().items()}
    state["tnet_bottleneck_2.main.3.weight"][0, 0, 0, 0] = float("nan")
    torch.save(state, tmp_path / "G.pth")
    out = tmp_path / "psgan.safetensors"
    with pytest.raises(CheckpointError, match=r"G\.pth: tensor 'tnet_bottleneck_2\.main\.3\.weight' holds non-finite"):
        import_psgan(tmp_path / "G.pth", out)
    assert main(["import-psgan", str(tmp_path / "G.pth"), "--output", str(out)]) == 2
    assert "non-finite" in capsys.readouterr().err
    assert not out.exists()


def test_cascade_checkpoints_get_the_same_checks(tmp_path):
    torch.manual_seed(0)
    path = tmp_path / "cascade.safetensors"
    model = CascadeSR(CascadeConfig(channels=8, n_blocks=1))
    save_cascade(path, model)
    load_cascade(path)  # the honest file loads
    tensors = {k: v.contiguous() for k, v in model.state_dict().items()}
    huge = {"format": CASCADE_FORMAT, "config": json.dumps(CascadeConfig(channels=8, n_blocks=5000).to_dict())}
    save_file(tensors, str(tmp_path / "huge.safetensors"), metadata=huge)
    words = r"huge\.safetensors: config key 'cascade\.n_blocks' = 5000 is outside the sane range"
    with pytest.raises(CheckpointError, match=words):
        load_cascade(tmp_path / "huge.safetensors")
    with torch.no_grad():
        next(model.parameters()).fill_(float("nan"))
    save_cascade(path, model)
    with pytest.raises(CheckpointError, match="holds non-finite values"):
        load_cascade(path)


@pytest.mark.parametrize("command", [
    ["export-onnx", "--output", "{tmp}/model.onnx"],
    ["serve", "--port", "7861"],
])
def test_every_command_that_loads_a_checkpoint_refuses_it_the_same_way(tmp_path, capsys, command):
    ckpt = hostile(tmp_path / "hostile.safetensors", {"x": torch.zeros(4)}, "model.prior.channels=3000")
    argv = [a.format(tmp=tmp_path) for a in command] + ["--checkpoint", str(ckpt)]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "'model.prior.channels' = 3000 is outside the sane range" in err, err
    assert not (tmp_path / "model.onnx").exists()


def test_training_from_a_hostile_init_checkpoint_is_refused(tmp_path):
    from lrmakeup.training import Trainer

    sys.path.insert(0, str(Path(__file__).parents[1] / "training"))
    from tiny_data import TinyTuples

    ckpt = hostile(tmp_path / "init.safetensors", {"x": torch.zeros(4)}, "model.makeup.channels=1000")
    cfg = load_config(builtin_config_path("tiny"), ["loss.vgg_weights=random", f"train.init_psgan={ckpt}"])
    with pytest.raises(CheckpointError, match="over the limit of 200M"):
        Trainer(cfg, TinyTuples(2), tmp_path / "run", progress=False)
    assert not (tmp_path / "run" / "train_state.pt").exists()
