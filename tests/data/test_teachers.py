"""Teachers: the classic region-wise transfer moves lips / eye shadow / skin toward the reference and leaves
everything else alone; the psgan teacher runs PSGAN's published layout; bad specs are one-line errors."""

import dataclasses

import cv2
import numpy as np
import pytest

from lrmakeup.data.mt import MTDataset
from lrmakeup.data.teachers import ClassicTeacher, PSGANTeacher, make_teacher, piecewise_affine_maps, to_lab
from lrmakeup.errors import CheckpointError, InputError
from lrmakeup.face import MT, FaceAnalyzer


@pytest.fixture(scope="module")
def full_res(mt_folder, face_analyzer):
    """Full-resolution (128) analyses of the tiny MT photos, as a teacher receives them."""
    mt = MTDataset(mt_folder)
    analyzer = FaceAnalyzer(input_size=128, image_size=128, feature_size=32)
    analyzer.landmark_detector = face_analyzer.landmark_detector

    def get(name):
        image, seg = mt.read(name)
        return analyzer.analyze(image, crop=False, parsing=seg)

    return {name: get(name) for name in ("non-makeup/astro.png", "makeup/grace_red.png", "makeup/astro_pink.png")}


def _mean_ab(image, mask):
    return to_lab(image)[mask][:, 1:].mean(0)


@pytest.mark.parametrize("ref_name", ["makeup/grace_red.png", "makeup/astro_pink.png"])
def test_classic_moves_lips_eyes_and_skin_toward_the_reference(full_res, ref_name):
    x, y = full_res["non-makeup/astro.png"], full_res[ref_name]
    teacher = ClassicTeacher()
    out = teacher(x, y)
    assert out.shape == x.image_up.shape and out.dtype == np.uint8
    rx, ry = teacher.regions(x), teacher.regions(y)
    for region, needed in (("lips", 0.35), ("skin", 0.5)):
        before = np.linalg.norm(_mean_ab(x.image_up, rx[region]) - _mean_ab(y.image_up, ry[region]))
        after = np.linalg.norm(_mean_ab(out, rx[region]) - _mean_ab(y.image_up, ry[region]))
        assert after < needed * before, (region, before, after)
    # eye shadow: where the shadow is laid (near the eyes, on skin), the colour moves toward the reference's
    near = rx["eyes"] & (teacher.eye_halo(x) > 0.9)
    ref_near = ry["eyes"] & (teacher.eye_halo(y) > 0.9)
    before = np.linalg.norm(_mean_ab(x.image_up, near) - _mean_ab(y.image_up, ref_near))
    after = np.linalg.norm(_mean_ab(out, near) - _mean_ab(y.image_up, ref_near))
    assert after < 0.5 * before


def test_classic_keeps_everything_away_from_the_face_and_the_source_detail(full_res):
    x, y = full_res["non-makeup/astro.png"], full_res["makeup/grace_red.png"]
    teacher = ClassicTeacher()
    out = teacher(x, y)
    r = teacher.regions(x)
    touched = (r["body"] | r["lips"] | r["eyes"]).astype(np.uint8)
    far = cv2.distanceTransform(1 - touched, cv2.DIST_L2, 5) > 12  # beyond every feathered edge
    assert far.sum() > 1000
    np.testing.assert_array_equal(out[far], x.image_up[far])
    # identity: the source's fine detail (high-pass lightness) survives on the skin
    high = [L - cv2.GaussianBlur(L, (0, 0), 2.0) for L in (to_lab(x.image_up)[..., 0], to_lab(out)[..., 0])]
    corr = np.corrcoef(high[0][r["skin"]], high[1][r["skin"]])[0, 1]
    assert corr > 0.9


def test_piecewise_affine_maps_reproduce_an_affine_warp():
    rng = np.random.default_rng(0)
    dst = np.concatenate([rng.uniform(5, 58, (20, 2)), [[0, 0], [63, 0], [63, 63], [0, 63]]])
    a = np.array([[0.9, 0.1, 3.0], [-0.05, 1.1, -2.0]])
    src = dst @ a[:, :2].T + a[:, 2]
    map_x, map_y = piecewise_affine_maps(dst, src, 64)
    ys, xs = np.mgrid[0:64, 0:64]
    np.testing.assert_allclose(map_x, a[0, 0] * xs + a[0, 1] * ys + a[0, 2], atol=1e-3)
    np.testing.assert_allclose(map_y, a[1, 0] * xs + a[1, 1] * ys + a[1, 2], atol=1e-3)


def test_psgan_teacher_runs_with_a_stand_in_checkpoint(stand_in_g, mt_folder, face_analyzer):
    mt = MTDataset(mt_folder)
    analyzer = FaceAnalyzer(input_size=64, image_size=64, feature_size=16)
    analyzer.landmark_detector = face_analyzer.landmark_detector
    x, y = (analyzer.analyze(*mt.read(n)[:1], crop=False, parsing=mt.read(n)[1])
            for n in ("non-makeup/grace.png", "makeup/astro_pink.png"))
    teacher = make_teacher(f"psgan:{stand_in_g}")
    assert isinstance(teacher, PSGANTeacher) and teacher.spec == f"psgan:{stand_in_g}" and len(teacher.sha256) == 64
    out = teacher(x, y)
    assert out.shape == (64, 64, 3) and out.dtype == np.uint8
    np.testing.assert_array_equal(out, teacher(x, y))


@pytest.mark.parametrize(
    "spec, error, message",
    [
        ("fancy", InputError, "unknown teacher 'fancy'"),
        ("psgan:", InputError, "needs the path of PSGAN's G.pth"),
        ("psgan:/no/such/G.pth", CheckpointError, "PSGAN checkpoint not found: /no/such/G.pth"),
    ],
)
def test_bad_teacher_specs(spec, error, message):
    with pytest.raises(error) as exc:
        make_teacher(spec)
    assert message in str(exc.value) and "\n" not in str(exc.value)


def test_unreadable_psgan_checkpoint(tmp_path):
    bad = tmp_path / "G.pth"
    bad.write_text("not a checkpoint")
    with pytest.raises(CheckpointError, match="not a readable PyTorch checkpoint"):
        make_teacher(f"psgan:{bad}")


def test_classic_leaves_the_neck_and_ears_as_they_are(full_res):
    """The skin tone covers the face skin only: neck and ears count outside the makeup (evaluation.real_pairs),
    so the training targets must not paint them either."""
    x, y = full_res["non-makeup/astro.png"], full_res["makeup/grace_red.png"]
    parsing = x.parsing.copy()
    chin = int(x.landmarks[8, 1])
    below = np.zeros_like(parsing, bool)
    below[chin + 4:, 40:88] = True
    parsing[below & (parsing == MT.BACKGROUND)] = MT.NECK  # a neck under the chin, as MT label maps have
    x = dataclasses.replace(x, parsing=parsing)
    teacher = ClassicTeacher()
    out = teacher(x, y)
    r = teacher.regions(x)
    touched = (r["body"] | r["lips"] | r["eyes"]).astype(np.uint8)
    beyond = cv2.distanceTransform(1 - touched, cv2.DIST_L2, 5) > 8  # past the feathered edge of the face
    neck_ears = np.isin(x.parsing, (MT.NECK, MT.LEFT_EAR, MT.RIGHT_EAR)) & beyond
    assert neck_ears.sum() > 50
    np.testing.assert_array_equal(out[neck_ears], x.image_up[neck_ears])
