"""import-psgan: PSGAN's published key names and shapes (METHOD §5) -> an lrmakeup checkpoint."""

import pytest
import torch

from lrmakeup.api import import_psgan
from lrmakeup.checkpoint import load_generator
from lrmakeup.cli import main
from lrmakeup.errors import CheckpointError
from lrmakeup.models.psgan import psgan_key_map


def official_psgan_shapes() -> dict[str, tuple]:
    """The 51 tensors of PSGAN's G.pth, written out from the published layout (not from our code)."""
    s = {"pnet_in.0.weight": (64, 3, 7, 7), "pnet_in.1.weight": (64,), "pnet_in.1.bias": (64,)}
    for i, (cin, cout) in ((1, (64, 128)), (2, (128, 256))):
        s[f"pnet_down_{i}.0.weight"] = (cout, cin, 4, 4)
        s[f"pnet_down_{i}.1.weight"] = s[f"pnet_down_{i}.1.bias"] = (cout,)
    for i in range(1, 4):
        for conv, norm in ((0, 1), (3, 4)):
            s[f"pnet_bottleneck_{i}.main.{conv}.weight"] = (256, 256, 3, 3)
            s[f"pnet_bottleneck_{i}.main.{norm}.weight"] = s[f"pnet_bottleneck_{i}.main.{norm}.bias"] = (256,)
    s["tnet_in_conv.weight"] = (64, 3, 7, 7)
    s["tnet_down_conv_1.weight"], s["tnet_down_conv_2.weight"] = (128, 64, 4, 4), (256, 128, 4, 4)
    for i in range(1, 7):
        s[f"tnet_bottleneck_{i}.main.0.weight"] = s[f"tnet_bottleneck_{i}.main.3.weight"] = (256, 256, 3, 3)
    s["tnet_up_conv_1.weight"], s["tnet_up_conv_2.weight"] = (256, 128, 4, 4), (128, 64, 4, 4)
    s["tnet_out.0.weight"] = (3, 64, 7, 7)
    s["simple_spade.get_gamma.weight"] = s["simple_spade.get_beta.weight"] = (1, 256, 1, 1)
    for n in ("g", "b"):
        s[f"atten_bottleneck_{n}.g.weight"], s[f"atten_bottleneck_{n}.g.bias"] = (1, 1, 1, 1), (1,)
    return s


@pytest.fixture
def stand_in_g(tmp_path):
    g = torch.Generator().manual_seed(0)
    state = {k: torch.randn(*shape, generator=g) for k, shape in official_psgan_shapes().items()}
    path = tmp_path / "G.pth"
    torch.save(state, path)
    return path, state


def test_stand_in_matches_published_counts():
    shapes = official_psgan_shapes()
    assert len(shapes) == 51
    assert sum(torch.Size(s).numel() for s in shapes.values()) == 12_615_620


def test_import_loads_every_tensor_and_round_trips(stand_in_g, tmp_path):
    path, state = stand_in_g
    out = tmp_path / "psgan.safetensors"
    assert import_psgan(path, out) == 47
    model, config, provenance = load_generator(out)
    ours = model.state_dict()
    mapping = psgan_key_map()
    assert len(mapping) == 47
    for psgan_key, our_key in mapping.items():
        torch.testing.assert_close(ours[our_key], state[psgan_key], rtol=0, atol=0)
    makeup_keys = {k for k in ours if k.startswith(("distill.", "apply_net."))}
    assert makeup_keys == set(mapping.values())
    assert provenance["makeup_modules"] == "PSGAN G.pth"
    assert config.model.makeup.channels == 64


def test_cli_import(stand_in_g, tmp_path, capsys):
    path, _ = stand_in_g
    out = tmp_path / "psgan.safetensors"
    assert main(["import-psgan", str(path), "--output", str(out)]) == 0
    assert out.is_file()


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda s: s.pop("tnet_bottleneck_4.main.3.weight"), "missing PSGAN tensor 'tnet_bottleneck_4.main.3.weight'"),
        (lambda s: s.__setitem__("tnet_bottleneck_7.main.0.weight", torch.zeros(1)),
         "unexpected tensor 'tnet_bottleneck_7"),
        (lambda s: s.__setitem__("pnet_in.0.weight", torch.zeros(64, 3, 5, 5)),
         "'pnet_in.0.weight' has shape (64, 3, 5, 5)"),
    ],
)
def test_bad_keys_are_named(stand_in_g, tmp_path, capsys, edit, message):
    path, state = stand_in_g
    edit(state)
    torch.save(state, path)
    out = tmp_path / "out.safetensors"
    with pytest.raises(CheckpointError, match=message.replace("(", r"\(").replace(")", r"\)")):
        import_psgan(path, out)
    assert main(["import-psgan", str(path), "--output", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err
    assert not out.exists()


def test_not_a_checkpoint(tmp_path, capsys):
    bad = tmp_path / "G.pth"
    bad.write_text("hello")
    assert main(["import-psgan", str(bad), "--output", str(tmp_path / "o.safetensors")]) == 2
    assert "not a readable PyTorch checkpoint" in capsys.readouterr().err
