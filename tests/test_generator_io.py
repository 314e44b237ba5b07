"""The numpy view of the generator's inputs and outputs is exactly PyTorch's (both backends see the same numbers)."""

import numpy as np
import torch

from lrmakeup.generator_io import FaceInputs, signed_image, uint8_image
from lrmakeup.models.inputs import FaceBatch, to_uint8_image


def test_signed_image_is_facebatch_from_arrays_bit_for_bit():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    masks, pos = np.zeros((3, 64, 64), np.float32), np.zeros((136, 64, 64), np.float32)
    want = FaceBatch.from_arrays(image, masks, pos).image[0].numpy()
    got = signed_image(image)
    assert got.dtype == np.float32 and got.shape == (3, 64, 64) and np.array_equal(got, want)


def test_uint8_image_is_to_uint8_image_bit_for_bit():
    rng = np.random.default_rng(1)
    values = rng.uniform(-1.2, 1.2, (3, 32, 32)).astype(np.float32)
    values[0, 0, :4] = [k / 127.5 - 1 + 0.5 / 127.5 for k in (0, 1, 2, 3)]  # exact halves: round half to even
    assert np.array_equal(uint8_image(values), to_uint8_image(torch.from_numpy(values)))


def test_an_empty_reference_has_no_region():
    face = FaceInputs(np.ones((3, 8, 8), np.float32), np.ones((3, 8, 8), np.float32), np.ones((136, 8, 8), np.float32))
    empty = FaceInputs.empty_like(face)
    assert not empty.masks.any() and empty.image.shape == face.image.shape and empty.pos.shape == face.pos.shape
