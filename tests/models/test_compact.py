"""The compact variants (configs/demo.yaml): identity at initialisation, locality, feathering, flips."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from lrmakeup.config import builtin_config_path, load_config
from lrmakeup.data.builtin import builtin_face
from lrmakeup.face import FaceAnalyzer, position_features
from lrmakeup.models import FaceBatch, LRMakeupGenerator, Reference
from lrmakeup.training.augment import MIRROR_68, flip_pos, mirror_labels

COMPACT = ("model.makeup.resolution=input", "model.makeup.output=residual", "model.makeup.norm=none",
           "model.makeup.soften=1.0", "model.makeup.reference_colour=true", "model.sr.kind=residual")


def compact_tiny(*extra: str):
    return load_config(builtin_config_path("tiny"), [*COMPACT, *extra])


def face_at(make_face, cfg, seed=0):
    m = cfg.model
    return make_face(2, m.makeup_size, m.feature_size, seed)


@pytest.mark.parametrize("upsample", ["pixelshuffle", "resize", "transposed"])
def test_untrained_compact_model_outputs_the_bicubic_source(make_face, upsample):
    cfg = compact_tiny(f"model.sr.upsample={upsample}")
    torch.manual_seed(0)
    g = LRMakeupGenerator(cfg.model).eval()
    x, y = face_at(make_face, cfg, 0), face_at(make_face, cfg, 1)
    assert x.image.shape[-1] == cfg.model.input_size  # G_M reads the 16x16 (tiny) / 64x64 input itself
    with torch.no_grad():
        mk, sr = g(x, y)
    assert torch.equal(mk.image, x.image)  # x̃_LR = x: the residual output layer starts at zero
    bicubic = F.interpolate(x.image, size=cfg.model.image_size, mode="bicubic", align_corners=False)
    assert sr.image.shape[-1] == cfg.model.image_size
    assert torch.equal(sr.image, bicubic)  # x̃_SR = bicubic(x̃_LR)


def test_untrained_demo_architecture_outputs_the_bicubic_source_at_full_size():
    cfg = load_config(builtin_config_path("demo"))
    torch.manual_seed(0)
    g = LRMakeupGenerator(cfg.model).eval()
    analyzer = FaceAnalyzer()
    src, ref = (analyzer.analyze(builtin_face(n), crop=False) for n in ("astronaut", "grace_hopper"))
    x, y = (FaceBatch.from_arrays(a.image_lr, a.masks, a.pos) for a in (src, ref))
    with torch.no_grad():
        _, sr = g(x, y)
    bicubic = F.interpolate(x.image, size=256, mode="bicubic", align_corners=False)
    assert sr.image.shape == (1, 3, 256, 256) and torch.equal(sr.image, bicubic)


def _randomise_outputs(g: LRMakeupGenerator) -> None:
    """Give the zero-initialised output layers weights, as training would."""
    torch.manual_seed(1)
    with torch.no_grad():
        for p in list(g.apply_net.out.parameters()) + list(g.sr.out.parameters()):
            p.normal_(0, 0.05)
        for layer in (g.apply_net.colour_in, g.apply_net.colour_out):
            if layer is not None:
                layer.weight.normal_(0, 0.05)


def test_without_normalisation_a_region_scale_changes_nothing_far_from_that_region(make_face):
    """norm=none: switching the lips off leaves pixels beyond the receptive field bit-identical (with instance
    norm every pixel would shift)."""
    cfg = compact_tiny("model.makeup.soften=0", "model.input_size=32", "model.image_size=128")
    torch.manual_seed(0)
    g = LRMakeupGenerator(cfg.model).eval()
    _randomise_outputs(g)
    x, y = face_at(make_face, cfg, 0), face_at(make_face, cfg, 1)
    on = torch.tensor([[1.0, 1.0, 1.0]] * 2)
    off = torch.tensor([[0.0, 1.0, 1.0]] * 2)
    with torch.no_grad():
        a = g.makeup(x, [Reference(y, on)]).image
        b = g.makeup(x, [Reference(y, off)]).image
    diff = (a - b).abs().amax(1)[0]  # (32, 32)
    lips_rows = x.masks[0, 0].nonzero()[:, 0]
    assert diff.max() > 0  # the lips did change
    far = diff[: int(lips_rows.min()) - 8]  # rows well above the lips (receptive field of the tiny model: < 8)
    assert far.numel() > 0 and far.max() == 0


def test_soften_feathers_the_warped_matrices_across_region_borders(make_face):
    cfg_hard, cfg_soft = compact_tiny("model.makeup.soften=0"), compact_tiny("model.makeup.soften=1.5")
    torch.manual_seed(0)
    hard = LRMakeupGenerator(cfg_hard.model).eval()
    soft = LRMakeupGenerator(cfg_soft.model).eval()
    soft.load_state_dict(hard.state_dict())
    x, y = face_at(make_face, cfg_hard, 0), face_at(make_face, cfg_hard, 1)
    with torch.no_grad():
        g_hard, _ = hard.warped_matrices(x, hard.apply_net.encode(x.image), [Reference(y)])
        g_soft, _ = soft.warped_matrices(x, soft.apply_net.encode(x.image), [Reference(y)])
    outside = x.masks[0].sum(0) == 0
    assert g_hard[0, 0][outside].abs().max() == 0  # PSGAN: a step to zero at every region border
    assert g_soft[0, 0][outside].abs().max() > 0  # feathered across it

    def steepest(m):
        return max((m[:, 1:] - m[:, :-1]).abs().max(), (m[1:] - m[:-1]).abs().max())

    assert steepest(g_soft[0, 0]) < steepest(g_hard[0, 0])


def test_flipped_position_features_equal_those_of_the_mirrored_face():
    """flip_pos (permute landmarks, negate column offsets, flip) == features recomputed on the mirrored face."""
    rng = np.random.default_rng(0)
    f, size = 64, 256
    lms = rng.uniform(40, 210, (68, 2))
    masks = np.zeros((3, f, f), np.float32)
    masks[0, 44:50, 24:40] = 1
    masks[1, 10:60, 8:58] = 1
    masks[1, 44:50, 24:40] = 0
    masks[2, 20:26, 12:52] = 1
    masks[1, 20:26, 12:52] = 0
    pos = torch.from_numpy(position_features(lms, masks, size))[None]
    mirrored = lms[MIRROR_68].copy()
    mirrored[:, 0] = (size - size // f) - mirrored[:, 0]  # the mirror of the nearest grid (pixel j <-> 4 j)
    expected = position_features(mirrored, masks[:, :, ::-1].copy(), size)
    assert np.allclose(flip_pos(pos)[0].numpy(), expected, atol=1e-5)
    assert torch.allclose(flip_pos(flip_pos(pos)), pos)


def test_mirrored_parsing_swaps_sided_labels():
    labels = torch.tensor([[0, 1, 2, 3, 4, 5, 6, 11, 12, 13]])
    assert mirror_labels(labels).tolist() == [[0, 1, 3, 2, 5, 4, 6, 12, 11, 13]]


def test_without_makeup_equals_makeup_at_region_scale_zero(make_face):
    """The detail term's G_M (no reference, no attention) is exactly G_M with every region scale 0."""
    cfg = compact_tiny()
    torch.manual_seed(0)
    g = LRMakeupGenerator(cfg.model).eval()
    _randomise_outputs(g)
    x, y = face_at(make_face, cfg, 0), face_at(make_face, cfg, 1)
    with torch.no_grad():
        full = g.makeup(x, [Reference(y, torch.zeros(2, 3))])
        image, m = g.without_makeup(x.image)
    assert not torch.equal(image, x.image)  # the randomised output layer does act
    torch.testing.assert_close(image, full.image, rtol=0, atol=1e-6)
    torch.testing.assert_close(m, full.m, rtol=0, atol=1e-6)


def test_residual_sr_runs_on_crops_at_the_model_scale(make_face):
    """Fully convolutional: a 8x8 crop of the input gives a 32x32 output, the bicubic crop when untrained."""
    cfg = compact_tiny()
    torch.manual_seed(0)
    g = LRMakeupGenerator(cfg.model).eval()
    crop = face_at(make_face, cfg, 0).image[:, :, 4:12, 2:10]
    with torch.no_grad():
        sr = g.super_resolve(*g.without_makeup(crop)).image
    assert sr.shape == (2, 3, 32, 32)
    assert torch.equal(sr, F.interpolate(crop, size=32, mode="bicubic", align_corners=False))


def _identity_colour_move(g: LRMakeupGenerator) -> None:
    """colour_out = the identity on d (centre tap), everything else untrained: x̃_LR = x + d."""
    with torch.no_grad():
        g.apply_net.colour_out.weight.zero_()
        for c in range(3):
            g.apply_net.colour_out.weight[c, c, 1, 1] = 1.0


def test_reference_colour_moves_each_region_to_the_warped_reference_colour(make_face):
    """x̃_LR = x + s·(c' - x) inside the regions with an identity colour map: a region's mean colour lands on
    the reference region's (the attention averages the reference's pixels of that region), pixels in no region
    keep the source, and scale 0 gives the source back."""
    cfg = compact_tiny("model.makeup.soften=0")
    torch.manual_seed(0)
    g = LRMakeupGenerator(cfg.model).eval()
    _identity_colour_move(g)
    x, y = face_at(make_face, cfg, 0), face_at(make_face, cfg, 1)
    x = FaceBatch(0.3 * x.image - 0.3, x.masks, x.pos)  # a dark source, a reddish reference
    y = FaceBatch(0.3 * y.image + torch.tensor([0.5, -0.1, 0.0]).view(1, 3, 1, 1), y.masks, y.pos)
    with torch.no_grad():
        out = g.makeup(x, [Reference(y)]).image
        bare = g.makeup(x, [Reference(y, torch.zeros(2, 3))]).image
        half = g.makeup(x, [Reference(y, torch.full((2, 3), 0.5))]).image
    assert torch.equal(bare, x.image)
    outside = (x.masks.sum(1, keepdim=True) == 0).expand_as(out)
    assert torch.equal(out[outside], x.image[outside])
    for r in range(3):
        for b in range(2):
            got = out[b][:, x.masks[b, r] > 0.5]  # (3, N_src): convex combinations of the reference region's
            ref = y.image[b][:, y.masks[b, r] > 0.5]
            lo, hi = ref.amin(1, keepdim=True), ref.amax(1, keepdim=True)
            assert ((got >= lo - 1e-5) & (got <= hi + 1e-5)).all()
            assert (got.mean(1) - ref.mean(1)).abs().max() < 0.1  # the source's mean was 0.5-0.8 away
    torch.testing.assert_close(half, (out + bare) / 2, rtol=0, atol=1e-5)  # linear in the region scale


def test_reference_colour_is_off_in_psgans_layout_and_untrained_it_changes_nothing(make_face):
    assert load_config(builtin_config_path("paper")).model.makeup.reference_colour is False
    plain_cfg = compact_tiny("model.makeup.reference_colour=false")
    torch.manual_seed(0)
    plain = LRMakeupGenerator(plain_cfg.model).eval()
    assert plain.apply_net.colour_in is None and not plain.grown_tensors()
    _randomise_outputs(plain)
    grown = LRMakeupGenerator(compact_tiny().model).eval()
    missing = grown.load_state_dict(plain.state_dict(), strict=False).missing_keys
    assert set(missing) == grown.grown_tensors() == {"apply_net.colour_in.weight", "apply_net.colour_out.weight"}
    x, y = face_at(make_face, plain_cfg, 0), face_at(make_face, plain_cfg, 1)
    with torch.no_grad():
        a, b = plain(x, y), grown(x, y)
    # the same function (up to float summation order: the attention now warps 6 channels instead of 2)
    torch.testing.assert_close(a[0].image, b[0].image, rtol=0, atol=1e-5)
    torch.testing.assert_close(a[1].image, b[1].image, rtol=0, atol=1e-5)


def test_confine_leaves_everything_outside_the_regions_as_without_makeup(make_face):
    """model.makeup.confine: where the region weight w is 0 (no region, or its scale 0), x̃_LR and m are G_M's
    bare output exactly; where w is 1 (inside the regions) they are the unconfined transfer; every scale 0 is
    :meth:`without_makeup` exactly."""
    cfg = compact_tiny("model.makeup.soften=0", "model.makeup.confine=true")
    torch.manual_seed(0)
    g = LRMakeupGenerator(cfg.model).eval()
    _randomise_outputs(g)
    x, y = face_at(make_face, cfg, 0), face_at(make_face, cfg, 1)
    with torch.no_grad():
        out = g.makeup(x, [Reference(y)])
        bare, m0 = g.without_makeup(x.image)
        g.cfg.makeup.confine = False
        free = g.makeup(x, [Reference(y)])
        g.cfg.makeup.confine = True
        off = g.makeup(x, [Reference(y, torch.zeros(2, 3))])
        lips_only = g.makeup(x, [Reference(y, torch.tensor([[1.0, 0.0, 0.0]] * 2))])
        half = g.makeup(x, [Reference(y, torch.full((2, 3), 0.5))])
        g.cfg.makeup.confine = False
        free_half = g.makeup(x, [Reference(y, torch.full((2, 3), 0.5))])
        g.cfg.makeup.confine = True
    outside = x.masks.sum(1, keepdim=True) == 0
    inside = ~outside
    assert outside.any() and inside.any()
    assert not torch.equal(free.image, bare)  # the randomised makeup does act, also outside the regions
    assert (free.image - bare).abs()[outside.expand_as(bare)].max() > 1e-3
    for got, want, grid in ((out.image, bare, outside), (out.m, m0, outside), (out.image, free.image, inside),
                            (out.m, free.m, inside)):
        mask = grid.expand_as(got)
        torch.testing.assert_close(got[mask], want[mask], rtol=0, atol=1e-6)
    inside_rgb = inside.expand_as(half.image)  # intensity acts as without the confinement (w is not the scale)
    torch.testing.assert_close(half.image[inside_rgb], free_half.image[inside_rgb], rtol=0, atol=1e-6)
    torch.testing.assert_close(off.image, bare, rtol=0, atol=1e-6)
    torch.testing.assert_close(off.m, m0, rtol=0, atol=1e-6)
    not_lips = (x.masks[:, :1] == 0).expand_as(bare)  # skin and eyes at scale 0: only the lips may differ
    torch.testing.assert_close(lips_only.image[not_lips], bare[not_lips], rtol=0, atol=1e-6)
    assert (lips_only.image - bare).abs()[~not_lips].max() > 1e-3


def test_confine_margin_pulls_the_weight_in_from_the_face_outline():
    """w is 1 on the regions a reference acts on (scale > 0), 0 on the others, within confine_margin pixels of
    the outline (the union of the regions) and outside it; holes and inner borders between regions are not
    eroded."""
    cfg = compact_tiny("model.makeup.soften=0", "model.makeup.confine=true", "model.makeup.confine_margin=2")
    g = LRMakeupGenerator(cfg.model).eval()
    n = cfg.model.feature_size
    masks = torch.zeros(1, 3, n, n)
    masks[0, 1, 2:14, 2:14] = 1  # skin: a 12x12 square
    masks[0, 1, 7:9, 5:8] = 0
    masks[0, 0, 7:9, 5:8] = 1  # lips inside it
    masks[0, 1, 4:6, 9:12] = 0
    masks[0, 2, 4, 9:12] = 1  # eye shadow above a hole in no region (an eye): the hole is not an outline
    x = FaceBatch(torch.zeros(1, 3, n, n), masks, torch.zeros(1, 136, n, n))
    w = g.region_weight(x, [Reference(x, torch.tensor([[1.0, 0.5, 1.0]]))])[0, 0]
    expect = torch.zeros(n, n)
    expect[4:12, 4:12] = 1.0  # the skin (at any scale > 0), two pixels in from its outline
    expect[7:9, 5:8] = 1.0  # the lips keep their whole area
    expect[4, 9:12] = 1.0  # the eye shadow too, up to the hole
    expect[5, 9:12] = 0.0
    torch.testing.assert_close(w, expect, rtol=0, atol=0)
    two = g.region_weight(x, [Reference(FaceBatch(x.image.expand(2, -1, -1, -1), masks.expand(2, -1, -1, -1),
                                                   x.pos.expand(2, -1, -1, -1)),
                                        torch.tensor([[0.5, 0.5, 0.0], [0.5, 0.25, 0.0]]))])[0, 0]
    # one source, two stacked references: the regions either acts on (lips, skin), not the eye shadow
    assert two[7, 6] == 1.0 and two[6, 6] == 1.0 and two[4, 10] == 0.0
    assert load_config(builtin_config_path("paper")).model.makeup.confine is False
