"""PSGAN's crop geometry (METHOD §5): expansion, square, kept inside the photo, and its inverse."""

from __future__ import annotations

import numpy as np
import pytest

from lrmakeup.errors import InputError
from lrmakeup.face.crop import DOWN_RATIO, UP_RATIO, crop, fallback_face_box, psgan_crop_box


def test_expands_up_and_down_then_squares_around_the_centre():
    face = (400, 500, 500, 600)  # 100 x 100 in the middle of a big photo
    left, top, right, bottom = psgan_crop_box(face, (2000, 2000))
    side = 100 * (1 + UP_RATIO + DOWN_RATIO)
    assert right - left == bottom - top == round(side)
    assert abs(top - (500 - UP_RATIO * 100)) <= 1  # the top is the expanded top
    assert abs((left + right) / 2 - 450) <= 0.5  # horizontally centred on the face


def test_square_is_shifted_inside_the_photo():
    box = psgan_crop_box((5, 10, 105, 110), (1000, 800))  # expansion pokes out above and left
    assert box[:2] == (0, 0) and box[2] == box[3] == round(100 * (1 + UP_RATIO + DOWN_RATIO))
    box = psgan_crop_box((690, 880, 790, 980), (1000, 800))  # out at the bottom right
    assert box[2] == 800 and box[3] == 1000


def test_square_larger_than_photo_shrinks_to_its_short_side():
    left, top, right, bottom = psgan_crop_box((100, 100, 400, 400), (500, 700))
    assert bottom - top == right - left == 500
    assert top == 0 and bottom == 500 and 0 <= left and right <= 700
    assert abs((left + right) / 2 - 250) <= 0.5  # still centred on the face horizontally


def test_fallback_box_inverts_the_crop():
    size, x0, y0 = 256, 1000, 700
    left, top, right, bottom = fallback_face_box(size)
    assert right - left == bottom - top and left + right in (size - 1, size, size + 1)
    box = psgan_crop_box((left + x0, top + y0, right + x0, bottom + y0), (3000, 3000))
    assert np.allclose(box, (x0, y0, x0 + size, y0 + size), atol=1)


def test_crop_copies_and_checks_bounds():
    image = np.arange(5 * 6 * 3, dtype=np.uint8).reshape(5, 6, 3)
    out = crop(image, (1, 2, 4, 5))
    np.testing.assert_array_equal(out, image[2:5, 1:4])
    out[:] = 0
    assert image.sum() > 0
    with pytest.raises(InputError, match="outside"):
        crop(image, (-1, 0, 3, 3))
