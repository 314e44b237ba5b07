"""Every module's output shape, on the tiny config and (once) on the paper config."""

import torch

from lrmakeup.config import Config
from lrmakeup.models import LRMakeupGenerator, PatchDiscriminator, count_parameters
from lrmakeup.models.apply import MakeupApply
from lrmakeup.models.distill import MakeupDistill
from lrmakeup.models.prior import Hourglass, PriorEstimation
from lrmakeup.models.sr import SuperResolution


def test_module_shapes_tiny(tiny_config, make_face):
    m = tiny_config.model
    c, f, s = m.makeup.channels, m.feature_size, m.image_size
    x = torch.randn(2, 3, s, s)
    v_y, gamma, beta = MakeupDistill(m.makeup)(x)
    assert v_y.shape == (2, 4 * c, f, f) and gamma.shape == beta.shape == (2, 1, f, f)
    apply = MakeupApply(m.makeup)
    v_x = apply.encode(x)
    assert v_x.shape == (2, 4 * c, f, f)
    out, feat = apply.decode(v_x, x)
    assert out.shape == (2, 3, s, s) and feat.shape == (2, 4 * c, f, f)
    assert out.abs().max() <= 1
    p, heat, parsing = PriorEstimation(m.prior)(out)
    assert p.shape == (2, m.prior.channels, f, f)
    assert heat.shape == (2, 68, f, f) and parsing.shape == (2, 14, f, f)
    sr = SuperResolution(m.sr, m.prior.channels, 4 * c)(out, p, feat)
    assert sr.shape == (2, 3, s, s)
    assert PatchDiscriminator(m.discriminator)(sr).shape == (2, 1, s // 8 - 2, s // 8 - 2)


def test_hourglass_keeps_size():
    h = Hourglass(4, 8)
    assert h(torch.randn(1, 8, 32, 32)).shape == (1, 8, 32, 32)


def test_generator_tiny_forward_and_backward(tiny_config, make_face):
    m = tiny_config.model
    g = LRMakeupGenerator(m)
    src, ref = make_face(2, m.image_size, m.feature_size, 0), make_face(2, m.image_size, m.feature_size, 1)
    makeup, sr = g(src, ref)
    assert makeup.image.shape == sr.image.shape == (2, 3, m.image_size, m.image_size)
    assert makeup.gamma.shape == makeup.beta.shape == (2, 1, m.feature_size, m.feature_size)
    (sr.image.mean() + makeup.image.mean()).backward()
    assert g.distill.to_gamma.weight.grad is not None and g.sr.out.weight.grad is not None


def test_paper_config_sizes():
    """The paper config: PSGAN's makeup modules have exactly PSGAN's 12,615,616 used parameters
    (G.pth's 12,615,620 minus its 4 unused attention scalars); D outputs 30x30 patches for 256 inputs."""
    cfg = Config().model
    g = LRMakeupGenerator(cfg)
    assert count_parameters(g.distill) + count_parameters(g.apply_net) == 12_615_616
    d = PatchDiscriminator(cfg.discriminator)
    assert d(torch.randn(1, 3, 256, 256)).shape == (1, 1, 30, 30)


def test_paper_generator_forward_shapes(make_face):
    cfg = Config().model
    g = LRMakeupGenerator(cfg).eval()
    src, ref = make_face(1, 256, 64, 0), make_face(1, 256, 64, 1)
    with torch.no_grad():
        makeup, sr = g(src, ref)
    assert makeup.image.shape == sr.image.shape == (1, 3, 256, 256)
    assert makeup.m.shape == (1, 256, 64, 64)
    assert sr.heatmaps.shape == (1, 68, 64, 64) and sr.parsing.shape == (1, 14, 64, 64)


def test_ablation_feeds_unmodulated_feature(tiny_config, make_face):
    """makeup_prior: false -> m does not depend on the reference (the paper's ablation)."""
    m = tiny_config.model
    m.sr.makeup_prior = False
    g = LRMakeupGenerator(m).eval()
    src = make_face(1, m.image_size, m.feature_size, 0)
    with torch.no_grad():
        g.distill.to_gamma.weight.fill_(0.5)
        a = g.makeup(src, make_face(1, m.image_size, m.feature_size, 1))
        b = g.makeup(src, make_face(1, m.image_size, m.feature_size, 2))
    assert torch.equal(a.m, b.m)
    assert not torch.equal(a.gamma, b.gamma)
