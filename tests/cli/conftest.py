import numpy as np
import pytest
import torch
from PIL import Image

from lrmakeup.api import MakeupTransfer
from lrmakeup.checkpoint import save_generator
from lrmakeup.config import builtin_config_path, load_config
from lrmakeup.data.builtin import builtin_face
from lrmakeup.models import LRMakeupGenerator


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory):
    """A random tiny model (64-pixel images) saved as a checkpoint, with non-zero makeup matrices."""
    cfg = load_config(builtin_config_path("tiny"))
    torch.manual_seed(0)
    model = LRMakeupGenerator(cfg.model)
    with torch.no_grad():
        model.distill.to_gamma.weight.normal_(0, 0.5)
        model.distill.to_beta.weight.normal_(0, 0.5)
    path = tmp_path_factory.mktemp("ckpt") / "tiny.safetensors"
    save_generator(path, model, cfg)
    return path


@pytest.fixture(scope="session")
def tiny_engine(tiny_checkpoint):
    return MakeupTransfer.from_checkpoint(tiny_checkpoint)


@pytest.fixture(scope="session")
def faces():
    """Two real faces and a colour-shifted third, as arrays."""
    a, g = builtin_face("astronaut"), builtin_face("grace_hopper")
    shifted = np.clip(g.astype(int) * [1.2, 0.8, 0.9], 0, 255).astype(np.uint8)
    return {"astronaut": a, "hopper": g, "hopper_red": shifted}


@pytest.fixture(scope="session")
def photo_dir(tmp_path_factory, faces):
    d = tmp_path_factory.mktemp("photos")
    for name, img in faces.items():
        Image.fromarray(img).save(d / f"{name}.png")
    return d
