"""MT label constants, conversion from other parsers, and the landmark-drawn MT map (METHOD §5)."""

from __future__ import annotations

import numpy as np
import pytest

from lrmakeup.errors import InputError
from lrmakeup.face.parsing import BISENET_TO_MT, CELEBAMASK_TO_MT, MT, convert_parsing, parsing_from_landmarks


def test_label_values_follow_mt():
    assert [MT.SKIN, MT.LEFT_BROW, MT.LEFT_EYE, MT.NOSE, MT.UPPER_LIP, MT.TEETH, MT.LOWER_LIP, MT.NECK] == [
        1, 2, 4, 6, 7, 8, 9, 13
    ]


def test_bisenet_and_celebamask_tables():
    bisenet = np.arange(19).reshape(1, 19)
    np.testing.assert_array_equal(convert_parsing(bisenet, "bisenet")[0], BISENET_TO_MT)
    assert convert_parsing(np.array([[10, 11, 12, 13, 17, 6]]), "bisenet").tolist() == [[6, 8, 7, 9, 10, 0]]
    celeb = {0: 0, 1: 1, 2: 6, 3: 0, 4: 4, 5: 5, 6: 2, 7: 3, 8: 11, 9: 12, 10: 8, 11: 7, 12: 9, 13: 10, 17: 13, 18: 0}
    for label, mt in celeb.items():
        assert CELEBAMASK_TO_MT[label] == mt
    out = convert_parsing(np.array([[2, 11], [12, 17]], np.int64), "celebamask")
    assert out.dtype == np.uint8 and out.tolist() == [[6, 7], [9, 13]]
    np.testing.assert_array_equal(convert_parsing(np.arange(14).reshape(2, 7)).ravel(), np.arange(14))


@pytest.mark.parametrize(
    "labels, fmt, message",
    [
        (np.array([[0, 14]]), "mt", "0..13"),
        (np.array([[19]]), "bisenet", "0..18"),
        (np.array([[-1]]), "celebamask", "0..18"),
        (np.zeros((2, 2), np.float32), "mt", "integer"),
        (np.zeros((2, 2), np.uint8), "lapa", "unknown parsing format"),
    ],
)
def test_conversion_refuses_bad_maps(labels, fmt, message):
    with pytest.raises(InputError, match=message):
        convert_parsing(labels, fmt)


def _at(parsing: np.ndarray, xy: np.ndarray) -> int:
    x, y = np.rint(xy).astype(int)
    return int(parsing[y, x])


def test_landmark_parsing_puts_labels_where_the_landmarks_are(analysis64):
    lms = analysis64.landmarks
    parsing = parsing_from_landmarks(lms, 256)
    assert parsing.shape == (256, 256) and parsing.dtype == np.uint8
    np.testing.assert_array_equal(parsing, parsing_from_landmarks(lms, 256))  # deterministic
    assert _at(parsing, (lms[51] + lms[62]) / 2) == MT.UPPER_LIP
    assert _at(parsing, (lms[57] + lms[66]) / 2) == MT.LOWER_LIP
    assert _at(parsing, lms[36:42].mean(0)) == MT.RIGHT_EYE  # the person's right eye, on the image's left
    assert _at(parsing, lms[42:48].mean(0)) == MT.LEFT_EYE
    assert lms[42:48, 0].mean() > lms[36:42, 0].mean()
    assert _at(parsing, lms[19] * 0.5 + lms[20] * 0.5) == MT.RIGHT_BROW
    assert _at(parsing, lms[24]) == MT.LEFT_BROW
    assert _at(parsing, lms[30]) == MT.NOSE
    assert _at(parsing, (lms[2] + lms[31]) / 2) == MT.SKIN  # cheeks
    assert _at(parsing, (lms[14] + lms[35]) / 2) == MT.SKIN
    forehead = lms[17:27].mean(0) + (lms[17:27].mean(0) - lms[8]) * 0.25
    assert _at(parsing, forehead) == MT.SKIN
    assert _at(parsing, lms[8] + (lms[8] - lms[33]) * 0.3) == MT.BACKGROUND  # below the chin
    assert parsing[0, 0] == parsing[0, 255] == MT.BACKGROUND


def test_open_mouth_is_teeth_and_closed_mouth_has_none():
    # A schematic face: only the mouth matters here; the inner lips 60-67 open by 10 pixels.
    lms = np.zeros((68, 2))
    lms[0:17] = np.stack([np.linspace(40, 216, 17), 100 + 90 * np.sin(np.linspace(0, np.pi, 17))], 1)
    lms[17:27] = np.stack([np.linspace(60, 196, 10), np.full(10, 80)], 1)
    lms[27:31] = [[128, 90], [128, 105], [128, 120], [128, 135]]
    lms[31:36] = [[110, 140], [119, 143], [128, 145], [137, 143], [146, 140]]
    lms[36:42] = [[70, 100], [80, 95], [90, 95], [100, 100], [90, 104], [80, 104]]
    lms[42:48] = lms[36:42] + [86, 0]
    outer = [[98, 170], [108, 163], [120, 160], [128, 162], [136, 160], [148, 163], [158, 170]]
    lms[48:55] = outer
    lms[55:60] = [[148, 182], [136, 188], [128, 189], [120, 188], [108, 182]]
    lms[60:65] = [[104, 170], [118, 166], [128, 167], [138, 166], [152, 170]]
    lms[65:68] = [[138, 176], [128, 177], [118, 176]]
    parsing = parsing_from_landmarks(lms)
    assert _at(parsing, (128, 171)) == MT.TEETH
    assert _at(parsing, (128, 163)) == MT.UPPER_LIP and _at(parsing, (128, 184)) == MT.LOWER_LIP
    lms[65:68, 1] = [166, 167, 166]  # close the mouth
    assert (parsing_from_landmarks(lms) == MT.TEETH).sum() == 0


def test_forehead_pixels_of_another_colour_go_back_to_the_hair(analysis64):
    """A fringe painted over the drawn forehead becomes hair; the cheeks' own colour there stays skin, and the
    rest of the map is untouched."""
    from lrmakeup.face.parsing import refine_forehead

    lms = analysis64.landmarks
    drawn = parsing_from_landmarks(lms, 256)
    skin = drawn == MT.SKIN
    rows = np.arange(256)[:, None]
    forehead = skin & (rows < lms[17:27, 1].min())
    assert forehead.sum() > 500
    cheek_colour = np.median(analysis64.image_up[skin & (rows > lms[36:48, 1].max()) & (rows < lms[33, 1])], 0)
    plain = np.broadcast_to(cheek_colour.astype(np.uint8), (256, 256, 3)).copy()
    assert np.array_equal(refine_forehead(drawn, plain, lms), drawn)  # all skin-coloured: nothing changes

    fringe = plain.copy()
    band = forehead & (rows < np.percentile(np.nonzero(forehead)[0], 60))  # the upper part of the forehead
    fringe[band] = (90, 60, 30)  # brown hair
    refined = refine_forehead(drawn, fringe, lms)
    assert (refined[band] == MT.HAIR).mean() > 0.95
    assert (refined[forehead & ~band] == MT.SKIN).mean() > 0.8  # the blur and closing take a few rows at the edge
    assert np.array_equal(refined[~forehead], drawn[~forehead])
