"""ONNX export and the onnxruntime backend: parity with PyTorch (region scales, several references, empty
regions, every model variant), metadata, errors, atomic writes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lrmakeup import cli
from lrmakeup.checkpoint import read_header, save_generator
from lrmakeup.cli import export_onnx as export_cmd
from lrmakeup.config import builtin_config_path, load_config
from lrmakeup.errors import CheckpointError, InputError
from lrmakeup.generator_io import FaceInputs, GeneratorOutput, ReferenceInputs
from lrmakeup.models import FaceBatch, LRMakeupGenerator, Reference
from lrmakeup.serving.onnx import REFERENCE_SLOTS, export_onnx
from lrmakeup.serving.onnx_runtime import OnnxGenerator

TOL = 1e-3  # on [-1, 1] images


def face(image: int, feature: int, seed: int) -> FaceBatch:
    """Random image, three disjoint face-like regions (lips, skin around them, eyes) placed and sized by the seed
    (so source and references differ in region sizes, as real faces do), unit-norm pos inside."""
    g = torch.Generator().manual_seed(seed)
    f = feature
    dy, dx = (torch.rand(2, generator=g) * 0.1).tolist()
    masks = torch.zeros(1, 3, f, f)
    masks[:, 1, int(0.15 * f):int(0.9 * f), int((0.1 + dx) * f):int(0.85 * f)] = 1  # skin
    for ch, (top, bottom, left, right) in ((0, (0.7 - dy, 0.8, 0.35, 0.65 + dx)), (2, (0.3, 0.45 + dy, 0.2, 0.8))):
        masks[:, 1, int(top * f):int(bottom * f), int(left * f):int(right * f)] = 0
        masks[:, ch, int(top * f):int(bottom * f), int(left * f):int(right * f)] = 1
    pos = torch.randn(1, 136, f, f, generator=g)
    pos = pos / pos.norm(dim=1, keepdim=True) * masks.sum(1, keepdim=True)
    return FaceBatch(torch.rand(1, 3, image, image, generator=g) * 2 - 1, masks, pos)


def inputs(batch: FaceBatch) -> FaceInputs:
    """A FaceBatch of one as the runtime's numpy inputs."""
    return FaceInputs(*(t[0].numpy() for t in (batch.image, batch.masks, batch.pos)))


def run_onnx(gen: OnnxGenerator, src: FaceBatch, refs: list[Reference]) -> GeneratorOutput:
    return gen.run(inputs(src), [ReferenceInputs(inputs(r.face), (r.region_scale if r.region_scale is not None
                                                                  else torch.ones(1, 3))[0].tolist()) for r in refs])


def run_torch(model: LRMakeupGenerator, src: FaceBatch, refs: list[Reference]) -> GeneratorOutput:
    with torch.no_grad():
        mk, sr = model(src, refs)
    return GeneratorOutput(*(t[0].numpy() for t in (sr.image, mk.image, sr.heatmaps, sr.parsing, mk.gamma, mk.beta)))


def assert_same(got: GeneratorOutput, want: GeneratorOutput, what: str = "") -> None:
    for name in ("sr_image", "lr_image", "heatmaps", "parsing", "gamma", "beta"):
        a, b = getattr(got, name), getattr(want, name)
        assert a.shape == b.shape, f"{what} {name}: {a.shape} != {b.shape}"
        assert np.abs(a - b).max() <= TOL, f"{what} {name} differs by {np.abs(a - b).max():.2e}"


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
        assert_same(run_onnx(onnx_gen, src, [Reference(ref)]), run_torch(model, src, [Reference(ref)]), f"seed {seed}")


def test_region_scale_honoured(exported):
    model, config, _, onnx_gen = exported
    src, ref = face(*sizes(config), 3), face(*sizes(config), 4)
    lips_only = [Reference(ref, torch.tensor([[1.0, 0.0, 0.0]]))]
    got = run_onnx(onnx_gen, src, lips_only)
    assert_same(got, run_torch(model, src, lips_only))
    outside_lips = src.masks[0, :1].numpy() < 0.5
    assert got.gamma[outside_lips].max() == 0 and np.abs(got.gamma).max() > 0  # only the lips are warped
    half = run_onnx(onnx_gen, src, [Reference(ref, 0.5 * torch.ones(1, 3))])
    full = run_onnx(onnx_gen, src, [Reference(ref, torch.ones(1, 3))])
    np.testing.assert_allclose(half.gamma, 0.5 * full.gamma, atol=1e-5, rtol=1e-4)
    none = run_onnx(onnx_gen, src, [Reference(ref, torch.zeros(1, 3))])
    assert np.abs(none.gamma).max() == 0 and np.abs(none.beta).max() == 0


def test_every_reference_slot(exported):
    """Partial transfer and interpolation: up to REFERENCE_SLOTS references, each scaled per region, as PyTorch."""
    model, config, _, onnx_gen = exported
    src = face(*sizes(config), 5)
    scales = [[0.0, 0.3, 0.0], [0.0, 0.7, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 0.6], [0.2, 0.1, 0.4]]
    refs = [Reference(face(*sizes(config), 6 + i), torch.tensor([s])) for i, s in enumerate(scales)]
    assert len(refs) == REFERENCE_SLOTS
    for k in (2, REFERENCE_SLOTS):
        assert_same(run_onnx(onnx_gen, src, refs[:k]), run_torch(model, src, refs[:k]), f"{k} references")


def test_empty_regions(exported):
    """A region missing in the reference (or the source) warps nothing there, as PyTorch's morph skips it: the
    graph was traced with every region full (serving/onnx.py), so this checks that it stays general."""
    model, config, _, onnx_gen = exported
    src, ref = face(*sizes(config), 11), face(*sizes(config), 12)
    no_lips = FaceBatch(ref.image, ref.masks.clone(), ref.pos)
    no_lips.masks[:, 0] = 0
    assert_same(run_onnx(onnx_gen, src, [Reference(no_lips)]), run_torch(model, src, [Reference(no_lips)]), "ref")
    no_eyes = FaceBatch(src.image, src.masks.clone(), src.pos)
    no_eyes.masks[:, 2] = 0
    assert_same(run_onnx(onnx_gen, no_eyes, [Reference(ref)]), run_torch(model, no_eyes, [Reference(ref)]), "src")


COMPACT = ["model.makeup.resolution=input", "model.makeup.output=residual", "model.makeup.norm=none",
           "model.makeup.soften=1.0", "model.sr.kind=residual"]
VARIANTS = {
    "ablation": ["model.sr.makeup_prior=false"],
    "compact-transposed": [*COMPACT, "model.sr.upsample=transposed"],
    "compact-pixelshuffle": [*COMPACT, "model.sr.upsample=pixelshuffle"],
    "compact-resize": [*COMPACT, "model.sr.upsample=resize"],
    "compact-reference-colour": [*COMPACT, "model.sr.upsample=pixelshuffle", "model.makeup.reference_colour=true"],
    "compact-confine": [*COMPACT, "model.sr.upsample=pixelshuffle", "model.makeup.reference_colour=true",
                        "model.makeup.confine=true", "model.makeup.confine_margin=1"],
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
    got = run_onnx(onnx_gen, src, refs)
    assert got.sr_image.shape == (3, config.model.image_size, config.model.image_size)
    assert got.lr_image.shape == (3, m, m)
    assert_same(got, run_torch(model, src, refs), variant)


def test_metadata_rebuilds_config(exported):
    from lrmakeup.utils import file_sha256

    _, config, path, onnx_gen = exported
    checkpoint = path.with_suffix(".safetensors")
    meta = onnx_gen.metadata
    assert onnx_gen.config == config and onnx_gen.provenance == {"note": "random tiny"}
    assert meta["config"] == read_header(checkpoint)[1]["config"]  # the checkpoint's own YAML, verbatim
    assert meta["source_checkpoint"] == "g.safetensors" and meta["source_sha256"] == file_sha256(checkpoint)


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

    monkeypatch.setattr(torch.onnx, "export", lambda *args, **kwargs: None)  # an empty graph: only the write matters
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
        run_onnx(onnx_gen, src, [Reference(src)] * (REFERENCE_SLOTS + 1))


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


def test_weights_export_writes_the_onnx_of_the_checkpoint_it_writes(exported, tmp_path, capsys):
    """The one command that remakes the shipped pair: the fp16 checkpoint, then its export next to it, whose
    metadata names that very file (what ``OnnxMakeupTransfer.shipped`` checks)."""
    from lrmakeup.utils import file_sha256
    from lrmakeup.weights import export as weights_export

    _, config, path, _ = exported
    out = tmp_path / "demo.safetensors"
    assert weights_export.main([str(path.with_suffix(".safetensors")), str(out), "--onnx"]) == 0
    assert capsys.readouterr().out.split() == ["wrote", str(out), "wrote", str(out.with_suffix(".onnx"))]
    gen = OnnxGenerator(out.with_suffix(".onnx"))
    assert gen.metadata["source_sha256"] == file_sha256(out) and gen.metadata["source_checkpoint"] == out.name
    assert gen.config == config and gen.provenance["name"] == "lrmakeup demo weights"


def test_weights_export_of_a_missing_file_is_one_line_and_writes_nothing(tmp_path, capsys):
    from lrmakeup.weights import export as weights_export

    out = tmp_path / "demo.safetensors"
    assert weights_export.main([str(tmp_path / "missing.safetensors"), str(out), "--onnx"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "missing.safetensors" in err and not list(tmp_path.iterdir())


def test_weights_export_records_a_switch_that_keeps_the_tensors(tmp_path, capsys):
    """--set model.makeup.confine=true: the same tensors under the switched config (trained weights run with an
    inference-time variant); a switch that changes the tensors is one line, exit 2, nothing written."""
    from lrmakeup.checkpoint import load_generator
    from lrmakeup.weights import export as weights_export

    config = load_config(builtin_config_path("tiny"), [*COMPACT, "model.makeup.reference_colour=true"])
    torch.manual_seed(0)
    save_generator(tmp_path / "g.safetensors", LRMakeupGenerator(config.model), config, {"step": 7})
    out = tmp_path / "demo.safetensors"
    args = [str(tmp_path / "g.safetensors"), str(out), "--set", "model.makeup.confine=true",
            "--set", "model.makeup.confine_margin=1"]
    assert weights_export.main(args) == 0
    model, written, provenance = load_generator(out)
    assert written.model.makeup.confine and written.model.makeup.confine_margin == 1
    assert model.cfg.makeup.confine and provenance["trained_steps"] == 7
    assert written.train == config.train and written.model.sr == config.model.sr
    source, _, _ = load_generator(tmp_path / "g.safetensors")
    for name, tensor in source.state_dict().items():
        torch.testing.assert_close(model.state_dict()[name], tensor.half().float(), rtol=0, atol=0)
    capsys.readouterr()
    bad = tmp_path / "bad.safetensors"
    assert weights_export.main([str(tmp_path / "g.safetensors"), str(bad), "--set", "model.sr.channels=12"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "changes the model's tensors" in err and not bad.exists()
