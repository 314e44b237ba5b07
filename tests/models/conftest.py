import pytest
import torch

from lrmakeup.config import builtin_config_path, load_config
from lrmakeup.models import FaceBatch


@pytest.fixture
def tiny_config():
    return load_config(builtin_config_path("tiny"))


def synthetic_face(batch: int, image: int, feature: int, seed: int = 0) -> FaceBatch:
    """Random image, three disjoint rectangular regions and normalised position features inside them."""
    g = torch.Generator().manual_seed(seed)
    f = feature
    masks = torch.zeros(batch, 3, f, f)
    masks[:, 0, int(0.7 * f):int(0.8 * f), int(0.35 * f):int(0.65 * f)] = 1  # lips
    masks[:, 1, int(0.15 * f):int(0.9 * f), int(0.15 * f):int(0.85 * f)] = 1  # skin
    masks[:, 1, int(0.7 * f):int(0.8 * f), int(0.35 * f):int(0.65 * f)] = 0
    masks[:, 1, int(0.3 * f):int(0.45 * f), int(0.2 * f):int(0.8 * f)] = 0
    masks[:, 2, int(0.3 * f):int(0.45 * f), int(0.2 * f):int(0.8 * f)] = 1  # eyes
    pos = torch.randn(batch, 136, f, f, generator=g)
    pos = pos / pos.norm(dim=1, keepdim=True) * masks.sum(1, keepdim=True)
    return FaceBatch(torch.rand(batch, 3, image, image, generator=g) * 2 - 1, masks, pos)


@pytest.fixture
def make_face():
    return synthetic_face
