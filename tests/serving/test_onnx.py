"""ONNX export and the onnxruntime backend: parity with PyTorch, region scales, metadata, errors, atomic writes."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from lrmakeup import cli
from lrmakeup.checkpoint import save_generator
from lrmakeup.cli import export_onnx as export_cmd
from lrmakeup.config import builtin_config_path, load_config
from lrmakeup.errors import CheckpointError, InputError
from lrmakeup.models import FaceBatch, LRMakeupGenerator, Reference
from lrmakeup.serving.onnx import OnnxGenerator, export_onnx, read_onnx_metadata

TOL = 1e-3  # on [-1, 1] images


def face(image: int, feature: int, seed: int, batch: int = 1) -> FaceBatch:
    """Random image, three disjoint face-like regions (lips, skin around them, eyes) and unit-norm pos inside."""
    g = torch.Generator().manual_seed(seed)
    f = feature
    masks = torch.zeros(batch, 3, f, f)
    masks[:, 1, int(0.15 * f):int(0.9 * f), int(0.15 * f):int(0.85 * f)] = 1  # skin
    for ch, (top, bottom, left, right) in ((0, (0.7, 0.8, 0.35, 0.65)), (2, (0.3, 0.45, 0.2, 0.8))):
        masks[:, 1, int(top * f):int(bottom * f), int(left * f):int(right * f)] = 0
        masks[:, ch, int(top * f):int(bottom * f), int(left * f):int(right * f)] = 1
    pos = torch.randn(batch, 136, f, f, generator=g)
    pos = pos / pos.norm(dim=1, keepdim=True) * masks.sum(1, keepdim=True)
    return FaceBatch(torch.rand(batch, 3, image, image, generator=g) * 2 - 1, masks, pos)


def cli_main(argv: list[str]) -> int:
    """``lrmakeup.cli.main`` with export-onnx registered (whether or not the CLI lists it already)."""
    with pytest.MonkeyPatch.context() as mp:
        if export_cmd not in cli.COMMANDS:
            mp.setattr(cli, "COMMANDS", (*cli.COMMANDS, export_cmd))
        return cli.main(argv)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A random tiny generator, its checkpoint, and its ONNX export written through the CLI."""
    d = tmp_path_factory.mktemp("onnx")
    config = load_config(builtin_config_path("tiny"))
    torch.manual_seed(0)
    model = LRMakeupGenerator(config.model).eval()
    save_generator(d / "g.safetensors", model, config, {"note": "random tiny"})
    assert cli_main(["export-onnx", "--checkpoint", str(d / "g.safetensors"), "--output", str(d / "g.onnx")]) == 0
    return model, config, d / "g.onnx", OnnxGenerator(d / "g.onnx")


def sizes(config):
    return config.model.image_size, config.model.feature_size


def test_onnxruntime_matches_pytorch(exported):
    model, config, _, onnx_gen = exported
    for seed in (1, 2):
        src, ref = face(*sizes(config), seed), face(*sizes(config), seed + 10)
        with torch.no_grad():
            mk, sr = model(src, ref)
        mk_o, sr_o = onnx_gen(src, ref)
        assert sr_o.image.shape == sr.image.shape and mk_o.image.shape == mk.image.shape
        assert (sr_o.image - sr.image).abs().max() <= TOL
        assert (mk_o.image - mk.image).abs().max() <= TOL
        assert (sr_o.parsing - sr.parsing).abs().max() <= TOL and (sr_o.heatmaps - sr.heatmaps).abs().max() <= TOL


def test_region_scale_honoured(exported):
    model, config, _, onnx_gen = exported
    src, ref = face(*sizes(config), 3), face(*sizes(config), 4)
    lips_only = torch.tensor([[1.0, 0.0, 0.0]])
    mk_o, sr_o = onnx_gen(src, [Reference(ref, lips_only)])
    with torch.no_grad():
        mk, sr = model(src, [Reference(ref, lips_only)])
    assert (sr_o.image - sr.image).abs().max() <= TOL and (mk_o.image - mk.image).abs().max() <= TOL
    outside_lips = src.masks[:, :1] < 0.5
    assert mk_o.gamma[outside_lips].abs().max() == 0 and mk_o.gamma.abs().max() > 0  # only the lips are warped
    half = onnx_gen.run(src, [Reference(ref, 0.5 * torch.ones(1, 3))])
    full = onnx_gen.run(src, [Reference(ref, torch.ones(1, 3))])
    torch.testing.assert_close(half.gamma, 0.5 * full.gamma, atol=1e-5, rtol=1e-4)
    none = onnx_gen.run(src, [Reference(ref, torch.zeros(1, 3))])
    assert none.gamma.abs().max() == 0 and none.beta.abs().max() == 0


def test_several_references_and_batches(exported):
    """Partial transfer (lips from one face, the rest from another) and a batch of 2 sources, as PyTorch does."""
    model, config, _, onnx_gen = exported
    src = face(*sizes(config), 5, batch=2)
    a, b = face(*sizes(config), 6), face(*sizes(config), 7)
    refs = [Reference(a, torch.tensor([[1.0, 0.0, 0.0]])), Reference(b, torch.tensor([[0.0, 0.6, 1.0]]))]
    with torch.no_grad():
        mk, sr = model(src, [Reference(FaceBatch.cat([r.face] * 2), r.region_scale.expand(2, 3)) for r in refs])
    mk_o, sr_o = onnx_gen(src, refs)
    assert sr_o.image.shape[0] == 2
    assert (sr_o.image - sr.image).abs().max() <= TOL and (mk_o.image - mk.image).abs().max() <= TOL


COMPACT = ["model.makeup.resolution=input", "model.makeup.output=residual", "model.makeup.norm=none",
           "model.makeup.soften=1.0", "model.sr.kind=residual"]
VARIANTS = {
    "ablation": ["model.sr.makeup_prior=false"],
    "compact-transposed": [*COMPACT, "model.sr.upsample=transposed"],
    "compact-pixelshuffle": [*COMPACT, "model.sr.upsample=pixelshuffle"],
    "compact-resize": [*COMPACT, "model.sr.upsample=resize"],
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_variants_match_pytorch(variant, tmp_path):
    """Every model variant a checkpoint can hold exports to a graph that computes what PyTorch computes
    (two references with per-region scales: partial transfer through the graph's reference axis)."""
    config = load_config(builtin_config_path("tiny"), VARIANTS[variant])
    torch.manual_seed(0)
    model = LRMakeupGenerator(config.model).eval()
    with torch.no_grad():  # zero-initialised output layers (residual variants) would hide every wiring of G_M / G_S
        for p in model.parameters():
            if p.abs().max() == 0:
                p.normal_(0, 0.1)
    save_generator(tmp_path / "g.safetensors", model, config, {})
    export_onnx(tmp_path / "g.safetensors", tmp_path / "g.onnx")
    onnx_gen = OnnxGenerator(tmp_path / "g.onnx")
    assert onnx_gen.config == config
    m, f = config.model.makeup_size, config.model.feature_size
    src = face(m, f, 1)
    refs = [Reference(face(m, f, 2), torch.tensor([[1.0, 0.0, 0.5]])), Reference(face(m, f, 3), torch.ones(1, 3))]
    with torch.no_grad():
        mk, sr = model(src, refs)
    mk_o, sr_o = onnx_gen(src, refs)
    assert sr_o.image.shape == sr.image.shape == (1, 3, config.model.image_size, config.model.image_size)
    assert mk_o.image.shape == mk.image.shape == (1, 3, m, m)
    for name, got, want in (("x_SR", sr_o.image, sr.image), ("x_LR", mk_o.image, mk.image),
                            ("heatmaps", sr_o.heatmaps, sr.heatmaps), ("parsing", sr_o.parsing, sr.parsing),
                            ("gamma", mk_o.gamma, mk.gamma), ("beta", mk_o.beta, mk.beta)):
        assert (got - want).abs().max() <= TOL, f"{variant}: {name} differs by {(got - want).abs().max():.2e}"


def test_metadata_rebuilds_config(exported):
    _, config, path, onnx_gen = exported
    stored, provenance, meta = read_onnx_metadata(path)
    assert stored == config and onnx_gen.config == config
    assert provenance == {"note": "random tiny"} and meta["source_checkpoint"] == "g.safetensors"
    assert len(meta["source_sha256"]) == 64


@pytest.mark.parametrize("make_checkpoint, expected", [
    (lambda d: d / "missing.safetensors", "not found"),
    (lambda d: (d / "junk.safetensors").write_bytes(b"junk") and d / "junk.safetensors", "safetensors"),
])
def test_bad_checkpoint_one_line_exit_2(tmp_path, capsys, make_checkpoint, expected):
    ckpt = make_checkpoint(tmp_path)
    out = tmp_path / "out" / "model.onnx"
    out.parent.mkdir()
    code = cli_main(["export-onnx", "--checkpoint", str(ckpt), "--output", str(out)])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1 and err.startswith("lrmakeup: error:") and expected in err, err
    assert list(out.parent.iterdir()) == []  # nothing written, not even a temporary file


def test_bad_output_path(exported, tmp_path, capsys):
    code = cli_main(["export-onnx", "--checkpoint", "x.safetensors", "--output", str(tmp_path / "model.txt")])
    assert code == 2 and "must end in .onnx" in capsys.readouterr().err


def test_not_an_export_is_a_checkpoint_error(exported, tmp_path):
    (tmp_path / "junk.onnx").write_bytes(b"\x00garbage")
    with pytest.raises(CheckpointError):
        OnnxGenerator(tmp_path / "junk.onnx")
    with pytest.raises(CheckpointError, match="not found"):
        OnnxGenerator(tmp_path / "missing.onnx")


def test_interrupted_write_leaves_old_file(exported, tmp_path, monkeypatch):
    """A failure while the file is written leaves the previous export untouched and no temporary file."""
    from pathlib import Path

    _, _, path, _ = exported
    ckpt = path.with_suffix(".safetensors")
    out = tmp_path / "model.onnx"
    out.write_bytes(b"previous export")
    real_write = Path.write_bytes

    def write_half_then_fail(self, data):
        real_write(self, data[: len(data) // 2])
        raise KeyboardInterrupt

    import onnx

    tiny_graph = SimpleNamespace(model_proto=onnx.ModelProto())  # skip the slow exporter: only the write matters
    monkeypatch.setattr(torch.onnx, "export", lambda *args, **kwargs: tiny_graph)
    monkeypatch.setattr(Path, "write_bytes", write_half_then_fail)
    with pytest.raises(KeyboardInterrupt):
        export_onnx(ckpt, out)
    monkeypatch.undo()
    assert out.read_bytes() == b"previous export"
    assert [p.name for p in tmp_path.iterdir()] == ["model.onnx"]


def test_too_many_references(exported):
    _, config, _, onnx_gen = exported
    src = face(*sizes(config), 8)
    with pytest.raises(InputError, match="references"):
        onnx_gen(src, [Reference(src)] * 9)


def test_export_shows_its_progress(tmp_path, capsys, monkeypatch):
    """The conversion is one long call (~30 s): the command says what it does and that it is still working."""
    import time as time_module

    import lrmakeup.serving.onnx as onnx_module

    config = load_config(builtin_config_path("tiny"))
    save_generator(tmp_path / "g.safetensors", LRMakeupGenerator(config.model), config)

    def slow_export(checkpoint, output, opset):
        time_module.sleep(0.5)
        output.write_bytes(b"onnx")

    monkeypatch.setattr(onnx_module, "export_onnx", slow_export)
    monkeypatch.setattr(export_cmd, "HEARTBEAT_SECONDS", 0.1)
    assert cli_main(["export-onnx", "--checkpoint", str(tmp_path / "g.safetensors"),
                     "--output", str(tmp_path / "g.onnx")]) == 0
    out, err = capsys.readouterr()
    lines = err.splitlines()
    assert lines[0].startswith("[1/2] checked ") and "M weights, 16 -> 64 px" in lines[0]
    assert lines[1].startswith("[2/2] tracing and converting the generator to ONNX opset 18")
    assert len([line for line in lines if "still converting" in line]) >= 2
    assert out.startswith(f"wrote {tmp_path / 'g.onnx'}")
