"""The per-step measurements (`gan_core.tracking.measures`, `gan_core.losses`) against the library
functions and the general forms they stand for: equal to the bit, on their fast paths and off them."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from gan_core.losses import _bce_d, get_loss
from gan_core.tracking.measures import (
    GradNorms,
    d_metrics,
    d_metrics_stacked,
    d_metrics_steps,
    grad_norm,
    host_total,
    totals,
)


def _trained(module: nn.Module, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    module(torch.randn(16, module[0].in_features)).square().mean().backward()
    return module


def test_the_grad_norm_is_get_total_norms_to_the_bit():
    model = _trained(nn.Sequential(nn.Linear(64, 128), nn.LeakyReLU(0.2), nn.Linear(128, 1)))
    params = list(model.parameters())
    expected = torch.nn.utils.get_total_norm([p.grad for p in params])
    found = grad_norm(params)
    assert found.shape == () and found.dtype == torch.float32
    assert torch.equal(found, expected)
    # the same value by hand, so that the comparison above cannot pass by both being wrong alike
    by_hand = math.sqrt(sum(float(p.grad.double().square().sum()) for p in params))
    assert float(found) == pytest.approx(by_hand, rel=1e-5)
    assert 0.0 < float(found) < 1e3


def test_parameters_without_a_gradient_are_left_out_and_none_at_all_is_nan():
    model = _trained(nn.Sequential(nn.Linear(8, 4), nn.Linear(4, 1)))
    frozen = nn.Parameter(torch.ones(3))  # never in a backward: its .grad is None
    params = [*model.parameters(), frozen]
    assert torch.equal(grad_norm(params), torch.nn.utils.get_total_norm([p.grad for p in model.parameters()]))
    assert math.isnan(float(grad_norm([frozen])))
    assert math.isnan(float(grad_norm([])))


def test_mixed_dtypes_and_graph_carrying_gradients_take_get_total_norms_own_path():
    half = nn.Parameter(torch.ones(4, dtype=torch.float64))
    half.grad = torch.full((4,), 2.0, dtype=torch.float64)
    single = nn.Parameter(torch.ones(3))
    single.grad = torch.full((3,), 1.0)
    mixed = grad_norm([half, single])
    assert float(mixed) == pytest.approx(math.sqrt(4 * 4.0 + 3 * 1.0), rel=1e-6)
    assert torch.equal(mixed, torch.nn.utils.get_total_norm([half.grad, single.grad]))

    x = nn.Parameter(torch.tensor([1.0, 2.0]))
    (x.grad,) = torch.autograd.grad(x.pow(3).sum(), x, create_graph=True)  # 3 x^2 = (3, 12), in a graph
    assert x.grad.requires_grad
    norm = grad_norm([x])
    assert not norm.requires_grad  # measured, not part of the user's graph
    assert float(norm) == pytest.approx(math.hypot(3.0, 12.0), rel=1e-6)


def test_bce_with_no_label_smoothing_is_the_general_form_to_the_bit():
    torch.manual_seed(1)
    for scale in (1.0, 30.0):  # ordinary logits, and saturated ones where softplus is its argument
        real = (torch.randn(64, 1) * scale).requires_grad_(True)
        fake = (torch.randn(64, 1) * scale).requires_grad_(True)
        fast_real, fast_fake = _bce_d(real, fake, 1.0)
        general = (1.0 * nn.functional.softplus(-real) + 0.0 * nn.functional.softplus(real)).mean()
        assert torch.equal(fast_real, general)
        (fast_grad,) = torch.autograd.grad(fast_real, real)
        (general_grad,) = torch.autograd.grad(general, real)
        assert torch.equal(fast_grad, general_grad)
        assert torch.equal(fast_fake, nn.functional.softplus(fake).mean())
    smoothed_real, _ = _bce_d(torch.zeros(4), torch.zeros(4), 0.9)  # the smoothed form is kept
    assert float(smoothed_real) == pytest.approx(math.log(2.0), rel=1e-6)  # 0.9 ln 2 + 0.1 ln 2


@pytest.mark.parametrize("loss_name", ["nonsaturating", "lsgan", "hinge", "wgan"])
def test_d_metrics_are_the_losss_own_rules(loss_name):
    loss = get_loss(loss_name)
    torch.manual_seed(2)
    middle = loss.threshold or 0.0
    real, fake = torch.randn(32, 1) + middle + 0.5, torch.randn(32, 1) + middle - 0.5
    loss_real, loss_fake = loss.d(real, fake, 1.0)
    norm = torch.tensor(3.5)
    values = d_metrics(loss, real, fake, loss_real, loss_fake, norm)
    acc_real, acc_fake = loss.accuracy(real.reshape(-1), fake.reshape(-1))
    expected = [
        float(loss_real + loss_fake),
        float(loss_real),
        float(loss_fake),
        float(acc_real),
        float(acc_fake),
        float(loss.output(real).mean()),
        float(loss.output(fake).mean()),
        3.5,
    ]
    assert values.shape == (8,) and values.dtype == torch.float32
    assert values.tolist() == pytest.approx(expected, rel=1e-6, abs=1e-7)
    assert 0.5 < float(acc_real) < 1.0 and 0.5 < float(acc_fake) < 1.0  # the shifted batches: mostly told
    # a score exactly at a fixed threshold is called fake, as `threshold_accuracy` says
    if loss.threshold is not None:
        at = torch.full((4,), loss.threshold)
        zeros = torch.zeros(())
        tied = d_metrics(loss, at, at, zeros, zeros, norm)
        assert tied[3:5].tolist() == [0.0, 1.0]


def test_batches_of_two_sizes_and_half_precision_take_the_same_rules():
    loss = get_loss("nonsaturating")
    real = torch.tensor([[2.0], [-1.0], [0.5], [3.0]])  # 3 of 4 called real
    fake = torch.tensor([-2.0, 0.0, 1.0])  # 2 of 3 called fake (0.0 is at the threshold: fake)
    zero = torch.zeros(())
    for r, f in ((real, fake), (real.half(), fake.half())):
        values = d_metrics(loss, r, f, zero, zero, torch.tensor(1.0))
        assert values.dtype == torch.float32
        assert values[3:5].tolist() == pytest.approx([0.75, 2 / 3], abs=1e-6)
        assert values[5:7].tolist() == pytest.approx(
            [float(torch.sigmoid(real).mean()), float(torch.sigmoid(fake).mean())], abs=1e-3
        )


@pytest.mark.parametrize("loss_name", ["nonsaturating", "lsgan", "hinge", "wgan"])
def test_many_updates_at_once_are_each_updates_own_d_metrics_to_the_bit(loss_name):
    """`d_metrics_steps`, the tracking API's batch of steps, is `d_metrics` row by row: on its one-reduction
    path (a fixed threshold, one batch size), on the row-by-row one (a critic; two sizes), with the
    total given or not."""
    loss = get_loss(loss_name)
    torch.manual_seed(3)
    sizes = (16, 16, 16) if loss_name != "hinge" else (16, 12, 16)  # hinge: batches of two sizes
    reals = [torch.randn(n, 1) + 0.5 * k for k, n in enumerate(sizes)]
    fakes = [torch.randn(n) - 0.5 * k for k, n in enumerate(sizes)]
    halves = [loss.d(r, f, 1.0) for r, f in zip(reals, fakes)]
    norms = [torch.tensor(1.5), torch.tensor(float("nan")), torch.tensor(0.25)]
    totals = [None, torch.tensor([7.0]), None]  # a total the caller gave, as a one-element tensor
    batch = d_metrics_steps(loss, reals, fakes, [h[0] for h in halves], [h[1] for h in halves], norms, totals)
    assert batch.shape == (3, 8) and batch.dtype == torch.float32
    for k in range(3):
        one = d_metrics(loss, reals[k], fakes[k], *halves[k], norms[k], totals[k])
        assert torch.equal(batch[k], one) or (
            torch.equal(batch[k, :7], one[:7]) and batch[k, 7].isnan() and one[7].isnan()
        ), k
    assert batch[1, 0] == 7.0 and float(batch[0, 0]) == pytest.approx(float(sum(halves[0])), rel=1e-6)
    assert not torch.equal(batch[0, 3:7], batch[2, 3:7])  # the rows are their own updates'


@pytest.mark.parametrize(
    "loss_name, smoothing",
    [("minimax", 0.0), ("lsgan", 0.0), ("hinge", 0.0), ("wgan", 0.0), ("nonsaturating", 0.3), ("lsgan", 0.2)],
)
def test_halves_left_to_the_batch_are_the_losss_own(loss_name, smoothing):
    """A None half is ``loss.d(real, fake, loss.real_target)``'s: over (K, B) with ``dim=1`` on the
    one-reduction path, row by row otherwise (wgan: a critic), mixed with given ones in place. A review:
    under label smoothing the one-reduction path used the real target 1 (d_loss 1.18 for 1.32)."""
    loss = get_loss(loss_name).smoothed(smoothing) if smoothing else get_loss(loss_name)
    torch.manual_seed(4)
    reals = [torch.randn(24, 1) * 3 for _ in range(3)]
    fakes = [torch.randn(24, 1) * 3 for _ in range(3)]
    own = [loss.d(r, f, loss.real_target) for r, f in zip(reals, fakes)]
    given = torch.tensor(9.0)
    batch = d_metrics_steps(
        loss,
        reals,
        fakes,
        [None, given, None],
        [None, None, given],
        [torch.tensor(1.0)] * 3,
        [None] * 3,
    )
    expected_real = [float(own[0][0]), 9.0, float(own[2][0])]
    expected_fake = [float(own[0][1]), float(own[1][1]), 9.0]
    assert batch[:, 1].tolist() == pytest.approx(expected_real, rel=1e-6)
    assert batch[:, 2].tolist() == pytest.approx(expected_fake, rel=1e-6)
    assert batch[:, 0].tolist() == pytest.approx(
        [r + f for r, f in zip(expected_real, expected_fake)], rel=1e-6
    )
    assert len(set(batch[:, 1].tolist())) == 3  # each row its own batch's
    per_batch = loss.d(torch.stack(reals)[..., 0], torch.stack(fakes)[..., 0], loss.real_target, dim=1)
    assert per_batch[0].shape == (3,)
    assert per_batch[0].tolist() == pytest.approx([float(o[0]) for o in own], rel=1e-6)


def test_norms_read_back_and_totalled_on_the_host_are_the_total_norm():
    """`GradNorms.norms` (the tracking API's per-step values, stacked with the step's other numbers):
    the per-tensor norms on the foreach path, whose `host_total` is `get_total_norm`; the total alone
    off that path (a half-precision layer beside a float one); NaN without gradients."""
    model = nn.Sequential(nn.Linear(6, 5), nn.Linear(5, 1))
    norms = GradNorms(model.parameters())
    (model(torch.randn(4, 6)) * 3).sum().backward()
    expected = float(torch.nn.utils.get_total_norm([p.grad for p in model.parameters()]))
    found = norms.norms(torch.device("cpu"))
    assert len(found) == 4 and all(t.shape == () for t in found)
    assert host_total(torch.stack(found).tolist()) == pytest.approx(expected, rel=1e-6)
    assert 0.1 < expected < 1e3
    mixed = nn.Sequential(nn.Linear(6, 5), nn.Linear(5, 1).double())
    mixed_norms = GradNorms(mixed.parameters())
    assert not mixed_norms.foreach
    mixed[1](mixed[0](torch.randn(4, 6)).double()).sum().backward()
    (total,) = mixed_norms.norms(torch.device("cpu"))
    grads = [p.grad for p in mixed.parameters()]
    assert host_total([float(total)]) == pytest.approx(float(torch.nn.utils.get_total_norm(grads)), rel=1e-6)
    model.zero_grad(set_to_none=True)
    assert math.isnan(host_total([float(t) for t in norms.norms(torch.device("cpu"))]))
    assert host_total([3.0, 4.0]) == 5.0 and host_total([float("inf"), 1.0]) == float("inf")


def test_the_totals_of_many_steps_parts_are_each_steps_norm():
    """`GradNorms.parts` now (one tensor of per-tensor norms), `totals` of many steps later (the tracking
    API's batches): each total is `get_total_norm` of that step's gradients; a step without gradients is
    NaN; a total (the path off foreach) is kept as it is."""
    model = nn.Sequential(nn.Linear(6, 5), nn.Linear(5, 1))
    norms = GradNorms(model.parameters())
    assert norms.foreach
    steps, expected = [], []
    for seed in range(3):
        model.zero_grad(set_to_none=True)
        torch.manual_seed(seed)
        (model(torch.randn(4, 6)) * (seed + 1)).sum().backward()
        steps.append(norms.parts())
        expected.append(float(torch.nn.utils.get_total_norm([p.grad for p in model.parameters()])))
    found = totals(steps)
    assert found.shape == (3,) and found.tolist() == pytest.approx(expected, rel=1e-6)
    assert len(set(found.tolist())) == 3
    model.zero_grad(set_to_none=True)
    assert norms.parts().shape == () and math.isnan(float(norms.parts())) and math.isnan(float(norms()))
    mixed = totals([steps[0], torch.tensor(float("nan")), torch.tensor(2.5)])
    assert mixed[0] == pytest.approx(expected[0], rel=1e-6) and math.isnan(mixed[1]) and mixed[2] == 2.5


def test_sparse_gradients_and_mixed_dtypes_are_get_total_norms_values():
    embedding = nn.Embedding(10, 3, sparse=True)  # a sparse gradient for a dense parameter
    linear = nn.Linear(3, 1)
    linear(embedding(torch.tensor([1, 2, 2]))).sum().backward()
    params = [*embedding.parameters(), *linear.parameters()]
    assert embedding.weight.grad.layout is torch.sparse_coo
    assert float(grad_norm(params)) == pytest.approx(
        float(torch.nn.utils.get_total_norm([p.grad for p in params])), rel=1e-6
    )
    wide = nn.Parameter(torch.ones(2, dtype=torch.float64))
    wide.grad = torch.full((2,), 3.0, dtype=torch.float64)
    assert not GradNorms([*linear.parameters(), wide]).foreach  # two dtypes: get_total_norm's path


def test_stacked_updates_need_a_fixed_threshold_and_equal_the_sequence_form():
    """`d_metrics_stacked` (the tracking API's usual batch, two stacks of its copies) is `d_metrics_steps`
    of the same updates; a critic's median rule has no stacked form and is refused by name."""
    loss = get_loss("nonsaturating")
    torch.manual_seed(5)
    real, fake = torch.randn(4, 32), torch.randn(4, 32) - 1.0
    norms = torch.tensor([0.5, 1.0, 2.0, float("inf")])
    stacked = d_metrics_stacked(loss, real, fake, None, None, norms, None)
    rows = d_metrics_steps(loss, list(real), list(fake), [None] * 4, [None] * 4, norms, [None] * 4)
    assert stacked.shape == (4, 8) and torch.equal(stacked, rows)
    assert stacked[3, 7] == float("inf") and 0.0 < float(stacked[0, 3]) < 1.0
    with pytest.raises(ValueError, match="'wgan'"):
        d_metrics_stacked(get_loss("wgan"), real, fake, None, None, norms, None)
