"""VGGFeatures (models/vgg.py): relu5_3 of torchvision's VGG-16, frozen, with explicit weight choices."""


import pytest
import torch
from torchvision.models import vgg as tv_vgg

from lrmakeup.errors import CheckpointError, ConfigError
from lrmakeup.models.vgg import RELU5_3, VGG16_FILENAME, VGGFeatures, vgg16_cache_path


@pytest.fixture(scope="module")
def standin_state() -> dict[str, torch.Tensor]:
    """Random tensors under the official file's key names and feature shapes.

    The real classifier tensors are ~500 MB; the loader ignores ``classifier.*``, so tiny ones stand in.
    """
    torch.manual_seed(123)
    features = tv_vgg.make_layers(tv_vgg.cfgs["D"], batch_norm=False)
    state = {f"features.{k}": torch.randn_like(v) for k, v in features.state_dict().items()}
    state.update({"classifier.0.weight": torch.randn(4, 4), "classifier.0.bias": torch.randn(4)})
    return state


@pytest.fixture
def no_download(monkeypatch):
    """The network is never reachable in these tests: torchvision's download raises."""

    def refuse(*args, **kwargs):
        raise OSError("network unreachable")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", refuse)


def _assert_loaded(model: VGGFeatures, state: dict[str, torch.Tensor]) -> None:
    ours = model.layers.state_dict()
    assert len(ours) == 26  # 13 convolutions up to conv5_3, weight + bias
    for key, value in ours.items():
        assert torch.equal(value, state[f"features.{key}"]), key


def test_random_weights_shape_frozen_eval_and_seeded():
    model = VGGFeatures(weights="random", seed=1)
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    out = model(x)
    assert out.shape == (2, 512, 2, 2)  # relu5_3: stride 16, 512 channels
    assert (out >= 0).all()  # ends on a ReLU, not on pool5
    assert model.weights == "random" and model.weights_source == "seed=1"
    assert not any(p.requires_grad for p in model.parameters())
    model.train()
    assert not model.training
    assert isinstance(model.layers[-1], torch.nn.ReLU) and len(model.layers) == RELU5_3
    same = VGGFeatures(weights="random", seed=1)
    other = VGGFeatures(weights="random", seed=2)
    assert torch.equal(same(x), out)
    assert not torch.equal(other(x), out)


def test_input_is_mapped_from_minus_one_one_to_imagenet_statistics():
    model = VGGFeatures(weights="random")
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    expected = model.layers(((x + 1) / 2 - mean) / std)
    torch.testing.assert_close(model(x), expected)


def test_gradients_reach_the_input_only():
    model = VGGFeatures(weights="random")
    x = (torch.rand(1, 3, 32, 32) * 2 - 1).requires_grad_()
    model(x).square().mean().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert all(p.grad is None for p in model.parameters())


def test_imagenet_weights_are_read_from_the_torch_hub_cache(tmp_path, monkeypatch, standin_state, no_download):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    cache = tmp_path / "hub" / "checkpoints" / VGG16_FILENAME
    assert vgg16_cache_path() == cache
    cache.parent.mkdir(parents=True)
    torch.save(standin_state, cache)
    model = VGGFeatures(weights="imagenet")
    _assert_loaded(model, standin_state)
    assert model.weights == "imagenet" and model.weights_source == str(cache)


def test_imagenet_weights_from_an_explicit_path(tmp_path, monkeypatch, standin_state, no_download):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty-hub"))
    path = tmp_path / "my-vgg.pth"
    torch.save(standin_state, path)
    model = VGGFeatures(weights="imagenet", path=path)
    _assert_loaded(model, standin_state)
    assert model.weights_source == str(path)
    with pytest.raises(CheckpointError, match="not found"):
        VGGFeatures(weights="imagenet", path=tmp_path / "absent.pth")


def test_missing_file_and_failed_download_raise_a_clear_error(tmp_path, monkeypatch, no_download):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(CheckpointError) as info:
        VGGFeatures(weights="imagenet")
    message = str(info.value)
    assert str(tmp_path / "hub" / "checkpoints" / VGG16_FILENAME) in message
    assert "https://download.pytorch.org/models/vgg16-397923af.pth" in message
    assert "network unreachable" in message


def test_a_file_that_is_not_vgg16_is_rejected_by_key(tmp_path, standin_state, no_download):
    broken = dict(standin_state)
    del broken["features.28.weight"]
    path = tmp_path / "broken.pth"
    torch.save(broken, path)
    with pytest.raises(CheckpointError, match="features.28.weight"):
        VGGFeatures(weights="imagenet", path=path)
    garbage = tmp_path / "garbage.pth"
    garbage.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="cannot read"):
        VGGFeatures(weights="imagenet", path=garbage)


def test_unknown_weight_choice_is_a_config_error():
    with pytest.raises(ConfigError, match="imagenet"):
        VGGFeatures(weights="pretrained")
