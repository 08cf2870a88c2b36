"""Each loss on known inputs, the gradient penalty, and the accuracy semantics of every loss."""

import math

import pytest
import torch

from gan_core.losses import LOSSES, get_loss, gradient_penalty

LN2 = math.log(2.0)


def t(*values):
    return torch.tensor(values, dtype=torch.float32)


def softplus(x):
    return math.log1p(math.exp(x))


@pytest.mark.parametrize("name", ["minimax", "nonsaturating"])
def test_bce_losses_at_equilibrium_sum_to_2ln2(name):
    loss = get_loss(name)
    real, fake = loss.d(t(0.0, 0.0), t(0.0, 0.0))
    assert real.item() == pytest.approx(LN2, rel=1e-6)
    assert fake.item() == pytest.approx(LN2, rel=1e-6)
    assert (real + fake).item() == pytest.approx(2 * LN2, rel=1e-6)
    assert loss.output(t(0.0)).item() == pytest.approx(0.5)
    assert loss.midpoint == 0.5


def test_bce_d_loss_known_values_and_label_smoothing():
    loss = get_loss("minimax")
    real, fake = loss.d(t(2.0), t(-1.0))
    assert real.item() == pytest.approx(softplus(-2.0), rel=1e-6)
    assert fake.item() == pytest.approx(softplus(-1.0), rel=1e-6)
    smoothed, _ = loss.d(t(2.0), t(-1.0), 0.9)
    assert smoothed.item() == pytest.approx(0.9 * softplus(-2.0) + 0.1 * softplus(2.0), rel=1e-6)


def test_generator_losses_known_values():
    fake = t(1.5)
    assert get_loss("minimax").g(fake).item() == pytest.approx(-softplus(1.5), rel=1e-6)
    assert get_loss("nonsaturating").g(fake).item() == pytest.approx(softplus(-1.5), rel=1e-6)
    assert get_loss("lsgan").g(t(1.0)).item() == pytest.approx(0.0, abs=1e-7)
    assert get_loss("lsgan").g(t(0.0)).item() == pytest.approx(0.5)
    assert get_loss("hinge").g(t(3.0, 1.0)).item() == pytest.approx(-2.0)
    assert get_loss("wgan").g(t(3.0, 1.0)).item() == pytest.approx(-2.0)
    assert get_loss("wgan-gp").g(t(-4.0)).item() == pytest.approx(4.0)


def test_minimax_saturates_where_nonsaturating_does_not():
    # D confidently rejects the fake (logit -8): the saturating G loss has almost no gradient.
    logits = t(-8.0).requires_grad_(True)
    get_loss("minimax").g(logits).backward()
    saturating = abs(logits.grad.item())
    logits.grad = None
    get_loss("nonsaturating").g(logits).backward()
    assert saturating == pytest.approx(1 / (1 + math.exp(8)), rel=1e-4)
    assert abs(logits.grad.item()) == pytest.approx(1 / (1 + math.exp(-8)), rel=1e-4)


def test_lsgan_d_loss():
    loss = get_loss("lsgan")
    real, fake = loss.d(t(1.0), t(0.0))
    assert (real.item(), fake.item()) == pytest.approx((0.0, 0.0), abs=1e-7)
    real, fake = loss.d(t(0.0), t(1.0))
    assert (real.item(), fake.item()) == pytest.approx((0.5, 0.5))
    real, _ = loss.d(t(0.8), t(0.0), 0.8)
    assert real.item() == pytest.approx(0.0, abs=1e-7)


def test_hinge_d_loss():
    loss = get_loss("hinge")
    assert [v.item() for v in loss.d(t(2.0), t(-2.0))] == pytest.approx([0.0, 0.0])
    assert [v.item() for v in loss.d(t(0.0), t(0.0))] == pytest.approx([1.0, 1.0])
    assert [v.item() for v in loss.d(t(0.5), t(0.5))] == pytest.approx([0.5, 1.5])


@pytest.mark.parametrize("name", ["wgan", "wgan-gp"])
def test_wasserstein_d_loss(name):
    real, fake = get_loss(name).d(t(1.0, 3.0), t(1.0))
    assert real.item() == pytest.approx(-2.0)
    assert fake.item() == pytest.approx(1.0)


@pytest.mark.parametrize("scale,expected", [(1.0, 0.0), (3.0, 4.0), (0.5, 0.25)])
def test_gradient_penalty_of_linear_critic(scale, expected):
    w = torch.tensor([0.6, 0.8]) * scale  # |w| = scale, so |grad| = scale everywhere

    def critic(x):
        return x @ w

    real, fake = torch.randn(64, 2), torch.randn(64, 2)
    assert gradient_penalty(critic, real, fake).item() == pytest.approx(expected, rel=1e-5, abs=1e-6)


def test_gradient_penalty_is_differentiable_in_critic_weights():
    w = torch.tensor([3.0, 0.0], requires_grad=True)
    gp = gradient_penalty(lambda x: x @ w, torch.randn(8, 2), torch.randn(8, 2))
    gp.backward()
    assert w.grad[0].item() == pytest.approx(2 * (3.0 - 1.0), rel=1e-5)  # d/dw (|w|-1)^2


@pytest.mark.parametrize("name", list(LOSSES))
def test_accuracy_perfect_separation_is_one(name):
    loss = get_loss(name)
    # scores on each side of every loss's threshold (0 for logits / hinge, 0.5 for lsgan)
    real, fake = t(3.0, 2.0, 4.0, 5.0), t(-3.0, -2.0, -4.0, -1.5)
    acc_real, acc_fake = loss.accuracy(real, fake)
    assert (acc_real.item(), acc_fake.item()) == (1.0, 1.0)
    acc_real, acc_fake = loss.accuracy(fake, real)  # D has it backwards
    assert acc_real.item() <= 0.5 and acc_fake.item() <= 0.5


@pytest.mark.parametrize("name", list(LOSSES))
def test_accuracy_near_half_when_d_cannot_tell(name):
    loss = get_loss(name)
    gen = torch.Generator().manual_seed(0)
    centre = 0.0 if loss.threshold is None else loss.threshold
    real = centre + 0.1 * torch.randn(20000, generator=gen)
    fake = centre + 0.1 * torch.randn(20000, generator=gen)
    acc_real, acc_fake = loss.accuracy(real, fake)
    assert acc_real.item() == pytest.approx(0.5, abs=0.02)
    assert acc_fake.item() == pytest.approx(0.5, abs=0.02)


@pytest.mark.parametrize("name", ["wgan", "wgan-gp"])
def test_critic_accuracy_ignores_score_offset(name):
    loss = get_loss(name)
    real, fake = 1000.0 + t(3.0, 2.0, 4.0), 1000.0 + t(-3.0, -2.0, -4.0)
    assert [v.item() for v in loss.accuracy(real, fake)] == [1.0, 1.0]
    gen = torch.Generator().manual_seed(1)
    same = 1000.0 + torch.randn(2, 10000, generator=gen)
    acc_real, acc_fake = loss.accuracy(same[0], same[1])
    assert acc_real.item() == pytest.approx(0.5, abs=0.02)
    assert acc_fake.item() == pytest.approx(0.5, abs=0.02)


@pytest.mark.parametrize("name", ["wgan", "wgan-gp"])
@pytest.mark.parametrize("n_real, n_fake", [(64, 16), (16, 64), (5, 3)])
def test_critic_accuracy_on_batches_of_two_sizes(name, n_real, n_fake):
    """A review: the pooled median called a perfect critic's 64 reals and 16 fakes (0.625, 1.0); the split
    keeps as many scores at or below it as there are fakes."""
    loss = get_loss(name)
    gen = torch.Generator().manual_seed(2)
    real, fake = 5.0 + torch.rand(n_real, generator=gen), -6.0 + torch.rand(n_fake, generator=gen)
    assert [v.item() for v in loss.accuracy(real, fake)] == [1.0, 1.0]
    same = torch.randn(n_real * 400 + n_fake * 400, generator=gen)  # cannot tell: near the fakes' share
    acc_real, acc_fake = loss.accuracy(same[: n_real * 400], same[n_real * 400 :])
    assert acc_real.item() == pytest.approx(n_real / (n_real + n_fake), abs=0.02)
    assert acc_fake.item() == pytest.approx(n_fake / (n_real + n_fake), abs=0.02)


def test_unknown_loss_names_the_allowed_ones():
    with pytest.raises(ValueError, match="unknown loss 'bogus'.*minimax.*wgan-gp"):
        get_loss("bogus")


def test_output_kind_per_loss():
    for name in ("minimax", "nonsaturating"):
        assert get_loss(name).output(t(100.0)).item() == pytest.approx(1.0)
    for name in ("lsgan", "hinge", "wgan", "wgan-gp"):
        assert get_loss(name).output(t(7.0)).item() == pytest.approx(7.0)
    assert get_loss("hinge").midpoint is None and get_loss("wgan").midpoint is None


def test_each_loss_names_the_fields_it_ignores():
    # the forms (sidebar, Runs page branch) leave these out for the loss
    unused = {name: set(loss.unused_fields) for name, loss in LOSSES.items()}
    assert unused == {
        "minimax": {"clip_value", "gp_weight"},
        "nonsaturating": {"clip_value", "gp_weight"},
        "lsgan": {"clip_value", "gp_weight"},
        "hinge": {"clip_value", "gp_weight", "label_smoothing"},
        "wgan": {"gp_weight", "label_smoothing"},
        "wgan-gp": {"clip_value", "label_smoothing"},
    }


FIXED = [name for name, loss in LOSSES.items() if loss.threshold is not None]
CRITICS = [name for name, loss in LOSSES.items() if loss.is_critic]


def test_each_loss_says_its_threshold_and_whether_it_is_a_critic():
    # the papers' decision points: sigmoid(0) = 0.5 (minimax, nonsaturating), half-way between lsgan's
    # targets 0 and 1, half-way between hinge's margins -1 and +1; none for the Wasserstein critic
    thresholds = {name: loss.threshold for name, loss in LOSSES.items()}
    assert thresholds == {
        "minimax": 0.0,
        "nonsaturating": 0.0,
        "lsgan": 0.5,
        "hinge": 0.0,
        "wgan": None,
        "wgan-gp": None,
    }
    assert CRITICS == ["wgan", "wgan-gp"]
    assert [name for name, loss in LOSSES.items() if loss.gradient_penalty] == ["wgan-gp"]
    assert [name for name, loss in LOSSES.items() if loss.clips_weights] == ["wgan"]
    for loss in LOSSES.values():
        assert loss.threshold_rule  # said in words for the probe and the Guide
        if loss.threshold is not None:
            assert f"{loss.threshold:g}" in loss.threshold_rule


@pytest.mark.parametrize("name", FIXED)
def test_threshold_is_where_the_accuracy_changes_its_verdict(name):
    loss = get_loss(name)
    above, at, below = t(loss.threshold + 1e-3), t(loss.threshold), t(loss.threshold - 1e-3)
    # a score just above the threshold is called real, one at or just below it fake: both sides checked
    assert [v.item() for v in loss.accuracy(above, below)] == [1.0, 1.0]
    assert [v.item() for v in loss.accuracy(at, at)] == [0.0, 1.0]
    assert [v.item() for v in loss.accuracy(below, above)] == [0.0, 0.0]


@pytest.mark.parametrize("name", list(LOSSES))
def test_only_a_critic_ignores_a_common_offset_in_the_scores(name):
    loss = get_loss(name)
    centre = 0.0 if loss.threshold is None else loss.threshold
    real, fake = centre + t(1.0, 2.0, 3.0), centre + t(-1.0, -2.0, -3.0)
    assert [v.item() for v in loss.accuracy(real, fake)] == [1.0, 1.0]
    shifted = [v.item() for v in loss.accuracy(real + 10.0, fake + 10.0)]
    if loss.is_critic:
        assert shifted == [1.0, 1.0]  # the median moves with the scores
    else:
        assert shifted == [1.0, 0.0]  # a fixed threshold: every fake now scores above it


@pytest.mark.parametrize("name", list(LOSSES))
def test_equilibrium_d_loss_is_ds_loss_when_it_cannot_tell(name):
    loss = get_loss(name)
    if loss.equilibrium_d_loss is None:
        assert name not in ("minimax", "nonsaturating") and not loss.equilibrium_label
        return
    # D(x) = 1/2 for every sample, real or fake: logit 0
    real, fake = loss.d(t(0.0, 0.0), t(0.0, 0.0))
    assert (real + fake).item() == pytest.approx(loss.equilibrium_d_loss, rel=1e-6)
    assert loss.equilibrium_d_loss == pytest.approx(2 * LN2, rel=1e-12)
    assert loss.output(t(0.0)).item() == pytest.approx(loss.midpoint)
