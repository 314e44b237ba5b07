"""Fixtures for the evaluation tests: torch hub caches that are empty, or hold stand-in weights."""

import pytest
import torch
import torchvision


@pytest.fixture
def empty_torch_home(tmp_path, monkeypatch):
    """A TORCH_HOME with no weights in it (and no network: nothing may be downloaded)."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    return tmp_path


@pytest.fixture
def standin_alexnet_home(tmp_path, monkeypatch):
    """A TORCH_HOME whose hub cache holds a *random* AlexNet under torchvision's checkpoint name.

    Only the convolutional part feeds LPIPS; the classifier's 58M weights are stored as a broadcast
    zero so the file stays ~10 MB.
    """
    with torch.device("meta"):
        shapes = {k: v.shape for k, v in torchvision.models.alexnet(weights=None).state_dict().items()}
    gen = torch.Generator().manual_seed(0)
    state = {
        k: torch.randn(s, generator=gen) * 0.05 if k.startswith("features") else torch.zeros(1).expand(s)
        for k, s in shapes.items()
    }
    ckpt_dir = tmp_path / "hub" / "checkpoints"
    ckpt_dir.mkdir(parents=True)
    url = torchvision.models.AlexNet_Weights.DEFAULT.url
    torch.save(state, ckpt_dir / url.rsplit("/", 1)[-1])
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    return tmp_path
