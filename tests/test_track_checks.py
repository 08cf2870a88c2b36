"""A researcher's review of the tracking API (`gan_core.track`): numbers of the right shape and the wrong
meaning said once, from the first committed rows' host values (`gan_core.tracking.checks`): D's outputs
after a sigmoid passed as logits, a d_loss with a gradient penalty in it; `d_step` and `log` calls after
the last `g_step` said at `finish`; a diverged run's last events at its diverged row; a command's true
source; a `RunDir` that prints as its folder."""

from __future__ import annotations

import math
import time
import warnings

import pytest
import torch
from torch import nn

import gan_core.track as track
from gan_core.losses import get_loss, gradient_penalty
from gan_core.registry import RunRegistry
from gan_core.rundir import RunDir
from gan_core.tracking.checks import CHECKED_ROWS, DECIDING_ROWS, NO_D_LOSS_DECIDING_ROWS


def ring(n: int, generator: torch.Generator) -> torch.Tensor:
    """(n, 2) points on a circle of radius 2: the real data of the loops below."""
    angle = torch.rand(n, generator=generator) * 2 * math.pi
    return torch.stack((2 * angle.cos(), 2 * angle.sin()), 1) + 0.05 * torch.randn(n, 2, generator=generator)


def networks(seed: int = 0) -> tuple[nn.Module, nn.Module]:
    torch.manual_seed(seed)
    G = nn.Sequential(nn.Linear(4, 32), nn.ReLU(), nn.Linear(32, 2))
    D = nn.Sequential(nn.Linear(2, 32), nn.LeakyReLU(0.2), nn.Linear(32, 1))
    return G, D


def bce_loop(
    run, steps: int, sigmoid: bool, g_first: bool = False, clip: float | None = None, pass_norm: bool = False
) -> None:
    """A small GAN on the ring, as a user writes one: with ``sigmoid`` the classic mistake, D's outputs
    through a sigmoid and nn.BCELoss, and those probabilities passed to d_step as its logits; with
    ``g_first`` G's update (and its g_step) comes first in each iteration, D's after it; with ``clip``
    both networks' gradients clipped to that norm (clip_grad_norm_), the norm it returns passed to
    d_step and g_step with ``pass_norm``, else the clipped gradients read from the parameters."""
    generator = torch.Generator().manual_seed(1)
    G, D = networks()
    opt_d = torch.optim.Adam(D.parameters(), lr=2e-3, betas=(0.5, 0.999))
    opt_g = torch.optim.Adam(G.parameters(), lr=2e-3, betas=(0.5, 0.999))
    bce = nn.BCELoss() if sigmoid else nn.BCEWithLogitsLoss()
    out = torch.sigmoid if sigmoid else (lambda x: x)

    def d_update(real, fake):
        real_out, fake_out = out(D(real)), out(D(fake.detach()))
        d_loss = bce(real_out, torch.ones_like(real_out)) + bce(fake_out, torch.zeros_like(fake_out))
        opt_d.zero_grad()
        d_loss.backward()
        norm = nn.utils.clip_grad_norm_(D.parameters(), clip) if clip is not None else None
        opt_d.step()
        if pass_norm:
            run.d_step(real_out, fake_out, d_loss=d_loss, d_grad_norm=norm)
        else:
            run.d_step(real_out, fake_out, d_loss=d_loss, d_params=D)

    def g_update(fake):
        g_out = out(D(fake))
        g_loss = bce(g_out, torch.ones_like(g_out))
        opt_g.zero_grad()
        g_loss.backward()
        norm = nn.utils.clip_grad_norm_(G.parameters(), clip) if clip is not None else None
        opt_g.step()
        if pass_norm:
            run.g_step(g_loss, g_grad_norm=norm)
        else:
            run.g_step(g_loss, g_params=G)

    for _ in range(steps):
        real, z = ring(32, generator), torch.randn(32, 4, generator=generator)
        fake = G(z)
        if g_first:
            g_update(fake)
            d_update(real, fake)
        else:
            d_update(real, fake)
            g_update(fake)


def warnings_of(root, run_id: str) -> list[tuple[int, str, dict]]:
    events = RunDir.open(root, run_id).read_events()
    chosen = events[events["kind"] == "warning"]
    return [
        (int(s), d, f) for s, d, f in zip(chosen["step"], chosen["detail"], chosen["fields"], strict=True)
    ]


def tracking_warnings(caught) -> list[str]:
    return [str(w.message) for w in caught if issubclass(w.category, track.TrackingWarning)]


# ---------------------------------------------------------------------------- 1. probabilities as logits
@pytest.mark.parametrize("loss", ["nonsaturating", "minimax"])
@pytest.mark.parametrize("commit_every", [0.0, 60.0])
def test_probabilities_passed_as_logits_are_said_once(tmp_path, loss, commit_every):
    """sigmoid(D(x)) passed as the logits of a sigmoid loss: every row read d_acc_real 1, d_acc_fake 0 and
    d_real, d_fake in [0.5, 0.731], silently, and later raised a false g_overpowers."""
    run = track.init("probs", root=tmp_path, loss=loss, commit_every=commit_every)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        bce_loop(run, 2 * CHECKED_ROWS, sigmoid=True)
        run.finish()
    said = tracking_warnings(caught)
    assert len(said) == 1
    assert said[0].startswith(
        f"d_step's logits look like probabilities: in each of the first {DECIDING_ROWS} rows with a D update "
        f"(to step {DECIDING_ROWS}) d_acc_real is 1 and d_acc_fake 0"
    )
    assert (
        f"d_step expects D's raw outputs before any sigmoid (for loss {loss!r}, D says real when the "
        in (said[0])
    )
    assert "pass D(x) itself, not torch.sigmoid(D(x))" in said[0]
    assert caught[0].filename == __file__  # at the loop's own line, not inside the tracker
    assert warnings_of(tmp_path, "probs") == [
        (DECIDING_ROWS, said[0], {"check": "probabilities", "rows": DECIDING_ROWS})
    ]
    frame = RunDir.open(tmp_path, "probs").read_metrics()  # the signature the check read, in every row
    assert (frame["d_acc_real"] == 1).all() and (frame["d_acc_fake"] == 0).all()
    assert frame["d_real"].between(0.5, 0.7311).all() and frame["d_fake"].between(0.5, 0.7311).all()


@pytest.mark.parametrize("loss", ["nonsaturating", "minimax"])
def test_a_genuine_d_of_the_same_loop_warns_nothing(tmp_path, loss):
    run = track.init("logits", root=tmp_path, loss=loss, commit_every=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", track.TrackingWarning)
        bce_loop(run, 2 * CHECKED_ROWS, sigmoid=False)
        run.finish()
    assert warnings_of(tmp_path, "logits") == []
    assert len(RunDir.open(tmp_path, "logits").read_metrics()) == 2 * CHECKED_ROWS


@pytest.mark.parametrize("loss", ["lsgan", "hinge", "wgan"])
def test_scores_in_zero_one_are_no_misuse_for_a_loss_without_a_sigmoid(tmp_path, loss):
    """The check follows the loss's attributes (threshold 0.5, none), not its name: an lsgan D's scores
    near its targets may sit in [0, 1], and a critic's are judged by their median; a hinge D's, for
    fewer than `NO_D_LOSS_DECIDING_ROWS` rows (a young D's)."""
    run = track.init("scores", root=tmp_path, loss=loss, commit_every=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", track.TrackingWarning)
        for step in range(DECIDING_ROWS + 10):
            real = torch.full((8,), 0.6) + 0.01 * (step % 3)
            run.d_step(real, torch.full((8,), 0.55), d_grad_norm=1.0)
            run.g_step(0.5, g_grad_norm=1.0)
        run.finish()
    assert warnings_of(tmp_path, "scores") == []


@pytest.mark.parametrize("loss", ["nonsaturating", "minimax"])
def test_a_young_ds_logits_all_in_zero_one_are_no_probabilities_when_d_loss_is_their_loss(tmp_path, loss):
    """A plain GAN's D at a low learning rate, its raw logits all in (0, 1) for its first 50 rows (3 seeds
    of 10 in a review): said to be probabilities, a banner telling the user to distrust a g_overpowers
    that was right. Its d_loss is the loss of those logits: they are logits, and nothing is said."""
    objective = get_loss(loss)
    run = track.init("young", root=tmp_path, loss=loss, commit_every=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", track.TrackingWarning)
        for step in range(CHECKED_ROWS):
            real = torch.linspace(0.3, 0.9, 16) + 0.001 * step
            fake = torch.linspace(0.05, 0.6, 16)
            d_loss = sum(objective.d(real, fake, 1.0))
            run.d_step(real, fake, d_loss=d_loss, d_grad_norm=1.0)
            run.g_step(0.7, g_grad_norm=1.0)
        run.finish()
    assert warnings_of(tmp_path, "young") == []
    frame = RunDir.open(tmp_path, "young").read_metrics()  # (the signature the check reads, in every row)
    assert (frame["d_acc_real"] == 1).all() and (frame["d_acc_fake"] == 0).all()


def test_probabilities_where_bce_and_the_logit_loss_cross_are_still_said(tmp_path):
    """nn.BCELoss of sigmoid outputs near 0.66 is within 1e-3 of the loss of the same values as logits
    (1.4945 against 1.4933): a review's sigmoid D there went unsaid under the first exemption's tolerance."""
    run = track.init("cross", root=tmp_path, loss="nonsaturating", commit_every=0.0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(CHECKED_ROWS):
            p = torch.full((16,), 0.66)
            d_loss = nn.functional.binary_cross_entropy(
                p, torch.ones(16)
            ) + nn.functional.binary_cross_entropy(p, torch.zeros(16))
            run.d_step(p, p, d_loss=d_loss, d_grad_norm=1.0)
            run.g_step(0.7, g_grad_norm=1.0)
        run.finish()
    said = tracking_warnings(caught)
    assert len(said) == 1 and said[0].startswith("d_step's logits look like probabilities"), said


def test_a_d_that_looks_so_for_a_while_then_splits_is_not_called_probabilities(tmp_path):
    """Every one of the first rows must read so: 49 that do, then one where D calls a fake fake, is a D."""
    run = track.init("early", root=tmp_path, loss="nonsaturating", commit_every=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", track.TrackingWarning)
        for step in range(1, CHECKED_ROWS + 1):
            fake = torch.full((8,), -0.3 if step == DECIDING_ROWS else 0.4)
            run.d_step(torch.full((8,), 0.6), fake, d_grad_norm=1.0)
            run.g_step(0.5, g_grad_norm=1.0)
        run.finish()
    assert warnings_of(tmp_path, "early") == []


def young_loop(run, steps: int, split_at: int | None = None) -> None:
    """A loop that gives d_step no d_loss (a Lightning module that returns none, a loop that passes its
    halves or nothing): D's raw logits all in (0, 1) for its first rows (a young D at a low learning rate,
    a review's ring8 MLP for ~80 rows); from step ``split_at`` on (if any) its fakes' logits go below 0."""
    for step in range(1, steps + 1):
        real = torch.linspace(0.3, 0.9, 16) + 0.001 * (step % 7)
        fake = torch.linspace(0.05, 0.6, 16) - (2.0 if split_at is not None and step >= split_at else 0.0)
        run.d_step(real, fake, d_grad_norm=1.0)
        run.g_step(0.7, g_grad_norm=1.0)


@pytest.mark.parametrize("commit_every", [0.0, 60.0])
def test_a_young_ds_logits_in_zero_one_without_a_d_loss_are_not_called_probabilities_early(
    tmp_path, commit_every
):
    """No d_loss to tell logits from probabilities: a review's Lightning D (raw logits, no d_loss
    returned) held every logit in (0, 1) for ~80 rows and got the probabilities banner at row 50, telling
    the user to distrust accuracies that were right. Without a d_loss the rows must read so for
    `NO_D_LOSS_DECIDING_ROWS`."""
    run = track.init("young-no-loss", root=tmp_path, loss="nonsaturating", commit_every=commit_every)
    split = NO_D_LOSS_DECIDING_ROWS - 20
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        young_loop(run, NO_D_LOSS_DECIDING_ROWS + 50, split_at=split)
        run.finish()
    assert tracking_warnings(caught) == []
    assert warnings_of(tmp_path, "young-no-loss") == []
    frame = RunDir.open(tmp_path, "young-no-loss").read_metrics()  # the signature, until the split
    assert len(frame) == NO_D_LOSS_DECIDING_ROWS + 50
    head = frame[frame["step"] < split]
    assert len(head) == split - 1
    assert (head["d_acc_real"] == 1).all() and (head["d_acc_fake"] == 0).all()


def test_probabilities_without_a_d_loss_are_said_later_and_withdrawn_when_a_row_proves_them_logits(tmp_path):
    """Said at `NO_D_LOSS_DECIDING_ROWS` rows that all read as probabilities; the first row whose d_fake is
    below 0.5 (a negative value, which no probability is) withdraws it: a second warning event naming the
    step it was said at, and the Train view's banner (the run view's ``warnings``) is gone."""
    run = track.init("late", root=tmp_path, loss="nonsaturating", commit_every=0.0)
    split = NO_D_LOSS_DECIDING_ROWS + 30
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        young_loop(run, NO_D_LOSS_DECIDING_ROWS + 10)
        assert (
            RunRegistry(tmp_path).view("late").warnings[0]["step"] == NO_D_LOSS_DECIDING_ROWS
        )  # a banner now
        young_loop(run, 40, split_at=split - NO_D_LOSS_DECIDING_ROWS - 10)
        run.finish()
    said = tracking_warnings(caught)
    assert len(said) == 2, said
    assert said[0].startswith(
        f"d_step's logits look like probabilities: in each of the first {NO_D_LOSS_DECIDING_ROWS} rows "
        f"with a D update (to step {NO_D_LOSS_DECIDING_ROWS})"
    )
    assert said[1].startswith(f"Withdrawn: the logits were not probabilities. At step {split} d_fake is ")
    assert f"What was said at step {NO_D_LOSS_DECIDING_ROWS} does not hold" in said[1]
    assert warnings_of(tmp_path, "late") == [
        (NO_D_LOSS_DECIDING_ROWS, said[0], {"check": "probabilities", "rows": NO_D_LOSS_DECIDING_ROWS}),
        (split, said[1], {"check": "probabilities", "withdrawn": NO_D_LOSS_DECIDING_ROWS}),
    ]
    assert RunRegistry(tmp_path).view("late").warnings == []


def hinge_loop(run, steps: int) -> None:
    """A DCGAN-style D that ends in a sigmoid (the PyTorch tutorial's) trained with the hinge loss, its
    outputs passed to d_step as the logits: a review's run said nothing in 80 rows."""
    generator = torch.Generator().manual_seed(1)
    G, D = networks()
    opt_d = torch.optim.Adam(D.parameters(), lr=2e-3, betas=(0.5, 0.999))
    opt_g = torch.optim.Adam(G.parameters(), lr=2e-3, betas=(0.5, 0.999))
    for _ in range(steps):
        real, fake = ring(32, generator), G(torch.randn(32, 4, generator=generator))
        real_out, fake_out = torch.sigmoid(D(real)), torch.sigmoid(D(fake.detach()))
        d_loss = torch.relu(1 - real_out).mean() + torch.relu(1 + fake_out).mean()
        opt_d.zero_grad()
        d_loss.backward()
        opt_d.step()
        run.d_step(real_out, fake_out, d_loss=d_loss, d_params=D)
        g_loss = -torch.sigmoid(D(fake)).mean()
        opt_g.zero_grad()
        g_loss.backward()
        opt_g.step()
        run.g_step(g_loss, g_params=G)


def test_a_hinge_ds_sigmoid_outputs_are_said_after_the_rows_no_d_loss_can_decide(tmp_path):
    """hinge's loss of values in [0, 1] is the same as logits or as probabilities, so the d_loss given
    cannot say which: said at `NO_D_LOSS_DECIDING_ROWS` rows, in hinge's own terms."""
    run = track.init("hinge", root=tmp_path, loss="hinge", commit_every=0.0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        hinge_loop(run, NO_D_LOSS_DECIDING_ROWS + 10)
        run.finish()
    said = tracking_warnings(caught)
    assert len(said) == 1, said
    assert said[0].startswith(
        f"d_step's logits look like probabilities: in each of the first {NO_D_LOSS_DECIDING_ROWS} rows with "
        f"a D update (to step {NO_D_LOSS_DECIDING_ROWS}) d_acc_real is 1 and d_acc_fake 0 (every score above "
        "0: D calls every example real) and d_real, d_fake (the mean scores) stay within [0, 1]: "
    )
    assert "(a D ending in nn.Sigmoid: drop it: hinge takes D's raw scores)" in said[0]
    frame = RunDir.open(tmp_path, "hinge").read_metrics()
    assert frame["d_real"].between(0, 1).all() and frame["d_fake"].between(0, 1).all()
    # and withdrawn at a row of raw scores below 0, which no probability gives
    from gan_core.tracking.checks import RowChecks

    checks = RowChecks(get_loss("hinge"))
    record = {"d_acc_real": 1.0, "d_acc_fake": 0.0, "d_real": 0.62, "d_fake": 0.55}
    found = []
    for step in range(1, NO_D_LOSS_DECIDING_ROWS + 1):
        found += checks.see({**record, "step": float(step)}, (False, False, True, True))
    found += checks.see({**record, "d_fake": -0.3, "step": 201.0}, (False, False, True, True))
    assert [(f.check, f.step, f.fields) for f in found] == [
        ("probabilities", NO_D_LOSS_DECIDING_ROWS, {"rows": NO_D_LOSS_DECIDING_ROWS}),
        ("probabilities", 201, {"withdrawn": NO_D_LOSS_DECIDING_ROWS}),
    ]
    assert "d_fake is -0.3, below 0, which only a negative value gives" in found[1].message


def test_a_lightning_modules_probabilities_are_said_in_its_own_terms():
    """A Lightning user calls no d_step: the advice names what training_step returns (as the penalty
    check's does)."""
    from gan_core.tracking.checks import RowChecks

    checks = RowChecks(get_loss("nonsaturating"), lightning=True)
    record = {"d_acc_real": 1.0, "d_acc_fake": 0.0, "d_real": 0.62, "d_fake": 0.55}
    found = []
    for step in range(1, NO_D_LOSS_DECIDING_ROWS + 1):
        found += checks.see({**record, "step": float(step)}, (False, False, False, True))
    assert [(f.check, f.step) for f in found] == [("probabilities", NO_D_LOSS_DECIDING_ROWS)]
    assert found[0].message.startswith(
        "The real_logits and fake_logits training_step returns look like probabilities"
    )
    assert "return D(x) itself, not torch.sigmoid(D(x))" in found[0].message
    assert "d_step" not in found[0].message


@pytest.mark.parametrize("gap", ["every other row", "one row", "nan rows"])
def test_probabilities_without_a_d_loss_are_said_past_rows_without_d_measures(gap):
    """A review: one row without a D update (or without D measures) in the first 200 and the check, cut
    at 200 rows of any kind, could never have its 200 rows with one: a misuse went unsaid."""
    from gan_core.tracking.checks import PROBABILITY_CHECKED_ROWS, RowChecks

    checks = RowChecks(get_loss("nonsaturating"))
    probabilities = {"d_acc_real": 1.0, "d_acc_fake": 0.0, "d_real": 0.68, "d_fake": 0.6}
    unmeasured = dict.fromkeys(probabilities, math.nan)
    found, d_rows = [], 0
    for step in range(1, PROBABILITY_CHECKED_ROWS + 1):
        skip = {"every other row": step % 2 == 0, "one row": step == 150, "nan rows": step % 10 == 0}[gap]
        record = {**(unmeasured if gap == "nan rows" and skip else probabilities), "step": float(step)}
        given = None if skip and gap != "nan rows" else (False, False, False, True)
        d_rows += given is not None and not (gap == "nan rows" and skip)
        found += [(f.check, f.step, f.fields) for f in checks.see(record, given)]
        if found:
            break
    assert found == [("probabilities", step, {"rows": NO_D_LOSS_DECIDING_ROWS})]
    assert d_rows == NO_D_LOSS_DECIDING_ROWS


def test_a_run_resumed_after_its_probabilities_warning_withdraws_it_at_a_row_of_logits(tmp_path):
    """The checks live in the process: a young D's run warned at step 200, then resumed (a Lightning fit
    from its checkpoint), kept the banner for ever, every later row proving its values logits."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run = track.init("resumed", root=tmp_path, loss="nonsaturating", commit_every=0.0)
        young_loop(run, NO_D_LOSS_DECIDING_ROWS + 5)
        run.finish()
        assert [w["step"] for w in RunRegistry(tmp_path).view("resumed").warnings] == [
            NO_D_LOSS_DECIDING_ROWS
        ]
        run = track.init("resumed", root=tmp_path, loss="nonsaturating", commit_every=0.0, resume=True)
        young_loop(run, 10, split_at=3)
        run.finish()
    said = [m for m in tracking_warnings(caught) if "probabilities" in m]
    assert len(said) == 2 and said[1].startswith(
        f"Withdrawn: the logits were not probabilities. At step {NO_D_LOSS_DECIDING_ROWS + 8} d_fake is "
    )
    assert [f for _, _, f in warnings_of(tmp_path, "resumed")] == [
        {"check": "probabilities", "rows": NO_D_LOSS_DECIDING_ROWS},
        {"check": "probabilities", "withdrawn": NO_D_LOSS_DECIDING_ROWS},
    ]
    assert RunRegistry(tmp_path).view("resumed").warnings == []


def test_probabilities_said_stay_said_while_every_row_reads_so(tmp_path):
    """A real misuse never leaves [0.5, sigmoid(1)]: nothing withdrawn in a long run, the banner stays."""
    run = track.init("kept", root=tmp_path, loss="minimax", commit_every=0.0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        bce_loop(run, 3 * CHECKED_ROWS, sigmoid=True)
        run.finish()
    assert len(tracking_warnings(caught)) == 1
    assert [w["step"] for w in RunRegistry(tmp_path).view("kept").warnings] == [DECIDING_ROWS]


# ---------------------------------------------------------------------------- 2. d_loss with a penalty
def wgan_gp_loop(run, steps: int, penalty_in_d_loss: bool, halves: bool = False) -> list[float]:
    """A WGAN-GP loop (gp_weight 10); returns each step's gp_weight * gp as the loop computed it."""
    generator = torch.Generator().manual_seed(2)
    G, D = networks(seed=3)
    opt_d = torch.optim.Adam(D.parameters(), lr=1e-4, betas=(0.0, 0.9))
    opt_g = torch.optim.Adam(G.parameters(), lr=1e-4, betas=(0.0, 0.9))
    wasserstein = get_loss("wgan-gp")
    penalties = []
    for _ in range(steps):
        real, fake = ring(32, generator), G(torch.randn(32, 4, generator=generator))
        real_logits, fake_logits = D(real), D(fake.detach())
        loss_real, loss_fake = wasserstein.d(real_logits, fake_logits, 1.0)
        penalty = 10.0 * gradient_penalty(D, real, fake.detach(), generator)
        objective = loss_real + loss_fake + penalty
        opt_d.zero_grad()
        objective.backward()
        opt_d.step()
        penalties.append(float(penalty.detach()))
        if penalty_in_d_loss:
            given = {"d_loss_real": loss_real, "d_loss_fake": loss_fake} if halves else {}
            run.d_step(real_logits, fake_logits, d_loss=objective, d_params=D, **given)
        else:
            run.d_step(real_logits, fake_logits, d_loss=loss_real + loss_fake, d_params=D)
            run.log({"gp": penalty})
        g_loss = -D(fake).mean()
        opt_g.zero_grad()
        g_loss.backward()
        opt_g.step()
        run.g_step(g_loss, g_params=G)
    return penalties


@pytest.mark.parametrize("commit_every", [0.0, 60.0])
def test_a_d_loss_with_its_gradient_penalty_is_said_once(tmp_path, commit_every):
    run = track.init("gp", root=tmp_path, loss="wgan-gp", commit_every=commit_every)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        penalties = wgan_gp_loop(run, 2 * CHECKED_ROWS, penalty_in_d_loss=True)
        run.finish()
    said = tracking_warnings(caught)
    assert len(said) == 1 and caught[0].filename == __file__
    ((step, detail, fields),) = warnings_of(tmp_path, "gp")
    mean = sum(penalties[:DECIDING_ROWS]) / DECIDING_ROWS
    assert step == DECIDING_ROWS and detail == said[0]
    assert fields["check"] == "d_loss_penalty" and fields["rows"] == fields["differing"] == DECIDING_ROWS
    assert fields["mean_difference"] == pytest.approx(mean, rel=1e-4)
    assert mean > 0.1  # a penalty the rows cannot miss
    assert said[0] == (
        f"d_loss differs from d_loss_real + d_loss_fake computed from the logits by {mean:+.4g} on average "
        f"(in {DECIDING_ROWS} of the first {DECIDING_ROWS} rows with a D update, to step {DECIDING_ROWS}): "
        "the row's d_loss is not the sum of its halves. If d_loss includes a penalty (a gradient penalty, "
        "R1), pass D's loss without it, as the built-in trainer records it, and log the penalty with "
        "run.log({'gp': ...}); if its halves differ from the loss's own (label smoothing, other targets), "
        "pass d_loss_real and d_loss_fake too"
    )


@pytest.mark.parametrize(
    ("penalty_in_d_loss", "halves"), [(False, False), (True, True)], ids=["as-the-trainer", "own-halves"]
)
def test_a_d_loss_without_its_penalty_or_with_its_own_halves_warns_nothing(
    tmp_path, penalty_in_d_loss, halves
):
    """D's loss as the built-in trainer records it (the penalty logged on its own), or the user's own halves
    with it (their sum is theirs to make): nothing to say."""
    run = track.init("fixed", root=tmp_path, loss="wgan-gp", commit_every=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", track.TrackingWarning)
        penalties = wgan_gp_loop(run, CHECKED_ROWS + 10, penalty_in_d_loss=penalty_in_d_loss, halves=halves)
        run.finish()
    assert warnings_of(tmp_path, "fixed") == []
    if not penalty_in_d_loss:
        assert RunDir.open(tmp_path, "fixed").read_metrics()["gp"].tolist() == pytest.approx(
            penalties, rel=1e-6
        )


@pytest.mark.parametrize("loss", ["nonsaturating", "hinge"])
def test_a_bfloat16_d_loss_summed_as_the_loss_does_warns_nothing(tmp_path, loss):
    """bfloat16 rounds a d_loss summed in it by up to ~5e-3 of it (review: past the first tolerance, 1e-3,
    in 65-69% of a genuine loop's rows): rounding is no penalty."""
    run = track.init("bf16", root=tmp_path, loss=loss, commit_every=0.0)
    halves = get_loss(loss).d
    generator = torch.Generator().manual_seed(3)
    with warnings.catch_warnings():
        warnings.simplefilter("error", track.TrackingWarning)
        for _ in range(DECIDING_ROWS + 10):
            real = (torch.randn(64, generator=generator) * 3 + 1).bfloat16()
            fake = (torch.randn(64, generator=generator) * 3 - 1).bfloat16()
            d_loss = sum(halves(real, fake))  # in bfloat16, as a bf16 loop computes it
            assert d_loss.dtype == torch.bfloat16
            run.d_step(real, fake, d_loss=d_loss, d_grad_norm=1.0)
            run.g_step(0.5, g_grad_norm=1.0)
        run.finish()
    frame = RunDir.open(tmp_path, "bf16").read_metrics()
    gap = (frame["d_loss"] - frame["d_loss_real"] - frame["d_loss_fake"]).abs() / frame["d_loss"].abs().clip(
        1
    )
    assert 1e-4 < gap.max() < 1e-2  # the rounding is there, under the tolerance
    assert warnings_of(tmp_path, "bf16") == []


def test_a_smoothed_d_loss_without_its_halves_is_said_with_the_fix(tmp_path):
    """Label smoothing (target 0.9): the halves computed with target 1 do not add up to the d_loss given."""
    run = track.init("smooth", root=tmp_path, loss="nonsaturating", commit_every=0.0)
    loss = get_loss("nonsaturating")
    with pytest.warns(track.TrackingWarning, match="pass d_loss_real and d_loss_fake too") as caught:
        for step in range(DECIDING_ROWS):
            real, fake = torch.linspace(-1, 2, 16) + step / 100, torch.linspace(-2, 1, 16)
            run.d_step(real, fake, d_loss=sum(loss.d(real, fake, 0.9)), d_grad_norm=1.0)
            run.g_step(0.5, g_grad_norm=1.0)
    assert len(caught) == 1
    run.finish()
    assert [fields["check"] for _, _, fields in warnings_of(tmp_path, "smooth")] == ["d_loss_penalty"]


# ---------------------------------------------------------------------------- 3. calls after the last g_step
def test_g_step_before_d_step_is_said_while_the_run_trains(tmp_path):
    """A loop calling g_step before d_step had each row pair a G update with the previous iteration's D
    update, and heard of it only at finish ("d_step after the last g_step"), after training."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run = track.init("gfirst", root=tmp_path, loss="nonsaturating", commit_every=0.0)
        bce_loop(run, DECIDING_ROWS + 5, sigmoid=False, g_first=True)
        said = warnings_of(tmp_path, "gfirst")  # before finish: while the run trains
        run.finish()
    ((step, detail, fields),) = said
    assert step == DECIDING_ROWS + 1 and fields == {"check": "g_step_first", "rows": DECIDING_ROWS}
    assert detail.startswith(f"step 1's row has no D update and each of the next {DECIDING_ROWS} has one")
    assert "Call g_step last in each iteration, after d_step" in detail
    assert any(w.startswith("step 1's row has no D update") for w in tracking_warnings(caught))
    # the usual order, and a loop that takes D updates on some steps only, say nothing of it
    usual = track.init("dfirst", root=tmp_path, loss="nonsaturating", commit_every=0.0)
    bce_loop(usual, DECIDING_ROWS + 5, sigmoid=False)
    usual.finish()
    assert warnings_of(tmp_path, "dfirst") == []
    skips = track.init("skips", root=tmp_path, loss="", commit_every=0.0)
    for step in range(DECIDING_ROWS + 5):
        if step % 2:  # D every other step: the first step without one
            skips.d_step(torch.randn(8), torch.randn(8), d_loss=torch.tensor(1.0))
        skips.g_step(torch.tensor(0.7))
    skips.finish()
    assert "g_step_first" not in [f["check"] for _, _, f in warnings_of(tmp_path, "skips")]


def test_d_step_and_log_after_the_last_g_step_are_said_at_finish(tmp_path):
    run = track.init("tail", root=tmp_path, loss="nonsaturating", steps=3, commit_every=0.0)
    for _ in range(3):
        run.d_step(torch.randn(8), torch.randn(8), d_grad_norm=1.0)
        run.g_step(0.5, g_grad_norm=1.0)
    run.d_step(torch.randn(8), torch.randn(8), d_grad_norm=1.0)
    run.d_step(torch.randn(8), torch.randn(8), d_grad_norm=1.0)
    run.log({"fake_std": 0.3, "ema": torch.tensor(1.0)})
    message = (
        "finish() at step 3: 2 d_step calls and log() of 'ema', 'fake_std' made after the last g_step were "
        "not recorded: a step's row is written by g_step, which ends the step, so what comes after the last "
        "one has no row; make g_step each step's last call (log() before it)"
    )
    with pytest.warns(track.TrackingWarning) as caught:
        run.finish()
    assert [str(w.message) for w in caught] == [message] and caught[0].filename == __file__
    assert RunDir.open(tmp_path, "tail").read_metrics()["step"].tolist() == [1, 2, 3]
    assert warnings_of(tmp_path, "tail") == [
        (3, message, {"check": "unrecorded", "d_steps": 2, "names": ["ema", "fake_std"]})
    ]
    assert run.status == "finished"


def test_one_d_step_after_the_last_g_step_is_said_in_the_singular(tmp_path):
    run = track.init("one", root=tmp_path, loss="nonsaturating", commit_every=0.0)
    run.d_step(torch.randn(8), torch.randn(8), d_grad_norm=1.0)
    said = r"^finish\(\) at step 0: 1 d_step call made after the last g_step was not recorded"
    with pytest.warns(track.TrackingWarning, match=said):
        run.finish()


def test_a_loop_ended_by_an_exception_mid_step_or_ending_with_g_step_warns_nothing(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error", track.TrackingWarning)
        with pytest.raises(RuntimeError, match="out of memory"), track.init("boom", root=tmp_path) as run:
            run.d_step(torch.randn(8), torch.randn(8), d_grad_norm=1.0)
            run.log({"fake_std": 0.3})
            raise RuntimeError("out of memory")
        with track.init("clean", root=tmp_path) as run:
            for _ in range(3):
                run.log({"fake_std": 0.3})
                run.d_step(torch.randn(8), torch.randn(8), d_grad_norm=1.0)
                run.g_step(0.5, g_grad_norm=1.0)
    assert warnings_of(tmp_path, "boom") == warnings_of(tmp_path, "clean") == []
    assert RunDir.open(tmp_path, "boom").read_status()["status"] == "failed"


@pytest.mark.parametrize(
    ("refused", "said"),
    [
        (lambda run: run.log({"my metric/with space": 1.0}), "metric name 'my metric/with space' is invalid"),
        (lambda run: run.log({"d_loss": 1.0}), "metric name 'd_loss' is a built-in column"),
        (lambda run: run.log({"fake_std": torch.ones(3)}), "metric 'fake_std' must be a scalar"),
        (lambda run: run.g_step(torch.ones(2), g_grad_norm=1.0), "g_loss must be a scalar"),
    ],
    ids=["name", "clash", "vector", "g_step"],
)
@pytest.mark.parametrize("end", ["finish", "collected"])
def test_a_step_cut_short_by_a_refused_call_is_not_called_a_wrong_order(tmp_path, refused, said, end):
    """d_step, then a refused call (the loop's order right, the TrackingError caught): the run's end said
    "1 d_step call made after the last g_step ... make g_step each step's last call"; it says the refusal
    cut step 3 short instead, at finish() or when the run object is garbage-collected."""
    run = track.init("cut", root=tmp_path, loss="nonsaturating", commit_every=0.0)
    for _ in range(2):
        run.d_step(torch.randn(8), torch.randn(8), d_grad_norm=1.0)
        run.g_step(0.5, g_grad_norm=1.0)
    run.d_step(torch.randn(8), torch.randn(8), d_grad_norm=1.0)
    with pytest.raises(track.TrackingError, match=said):
        refused(run)
    with pytest.warns(track.TrackingWarning) as caught:
        if end == "finish":
            run.finish()
        else:
            del run
    (message,) = tracking_warnings(caught)
    call = "g_step" if "g_loss" in said else "log"
    assert message.startswith(f"the run ended at step 2 with step 3 cut short by a refused {call}() call (")
    assert said in message and message.endswith("that step has no row, so its 1 d_step call was not recorded")
    assert "make g_step" not in message and "after the last g_step" not in message
    ((step, detail, fields),) = warnings_of(tmp_path, "cut")
    assert (step, detail) == (2, message)
    assert fields == {"check": "unrecorded", "d_steps": 1, "names": [], "refused": call}
    assert RunDir.open(tmp_path, "cut").read_status()["status"] == "finished"


def test_a_refused_call_the_loop_got_past_leaves_the_wrong_order_said(tmp_path):
    """A refusal in an earlier step (caught, the step taken again) is not this step's: d_step after the
    last g_step is still said as a call out of order."""
    run = track.init("past", root=tmp_path, loss="nonsaturating", commit_every=0.0)
    run.d_step(torch.randn(8), torch.randn(8), d_grad_norm=1.0)
    with pytest.raises(track.TrackingError):
        run.log({"bad name": 1.0})
    run.g_step(0.5, g_grad_norm=1.0)
    run.d_step(torch.randn(8), torch.randn(8), d_grad_norm=1.0)
    with pytest.warns(
        track.TrackingWarning, match=r"^finish\(\) at step 1: 1 d_step call made after the last"
    ):
        run.finish()


def test_a_run_finished_failed_mid_step_warns_nothing(tmp_path):
    """finish("failed") by the loop's own error handling: its error says why the step was cut short."""
    run = track.init("failed", root=tmp_path, loss="nonsaturating", commit_every=0.0)
    run.d_step(torch.randn(8), torch.randn(8), d_grad_norm=1.0)
    run.log({"fake_std": 0.3})
    with warnings.catch_warnings():
        warnings.simplefilter("error", track.TrackingWarning)
        run.finish("failed", error="CUDA out of memory in G's forward")
    assert warnings_of(tmp_path, "failed") == []
    assert RunDir.open(tmp_path, "failed").read_status()["status"] == "failed"


# ---------------------------------------------------------------------------- 4. a divergence's last events
def test_a_divergence_found_a_batch_late_ends_the_run_at_its_row(tmp_path):
    """Step 5's NaN lands with its batch at step 10 (a batch late, as documented, so the loop reached 10):
    the failed status event, status.json and the error all name step 5, the run's last row."""
    run = track.init("late", root=tmp_path, loss="nonsaturating", commit_every=60.0)
    for step in range(1, 11):
        run.d_step(torch.randn(4), torch.randn(4), d_grad_norm=1.0)
        run.g_step(torch.tensor(float("nan") if step == 5 else 0.5), g_grad_norm=1.0)
        assert not run.should_stop  # the batch waits: the stop lands with it
    run.flush()
    assert run.should_stop and run.stop_reason == "diverged" and run.step == 10
    run.finish()
    run_dir = RunDir.open(tmp_path, "late")
    events = run_dir.read_events()
    assert run_dir.read_metrics()["step"].tolist() == [1, 2, 3, 4, 5]
    status = events[events["kind"] == "status"]
    assert status["step"].tolist()[-1] == 5 and status["detail"].tolist()[-1].startswith(
        "failed: diverged at step 5"
    )
    assert events["step"].max() == 5  # no event after the run's last row
    assert run_dir.read_status()["step"] == 5 and run_dir.read_status()["status"] == "failed"


# ---------------------------------------------------------------------------- 5. cosmetics
# ---------------------------------------------------------------------------------- 4. clipped norms
@pytest.mark.parametrize("commit_every", [0.0, 60.0])
def test_gradient_norms_read_after_a_clip_are_said_once_per_network(tmp_path, commit_every):
    """A review: clip_grad_norm_(D.parameters(), 1.0) before d_step(d_params=D) recorded 0.99999964 for a
    norm of 3.6, every row flat at 1.0, and exploding_gradients could never be raised, unsaid."""
    run = track.init("clipped", root=tmp_path, commit_every=commit_every)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        bce_loop(run, CHECKED_ROWS + 20, sigmoid=False, clip=0.05)
        run.finish()
    said = tracking_warnings(caught)
    assert len(said) == 2, said
    assert said[0].startswith("d_grad_norm is 0.05 in ") and f"of the first {DECIDING_ROWS} rows" in said[0]
    assert "clip_grad_norm_(D.parameters(), 0.05); run.d_step(..., d_grad_norm=norm)" in said[0]
    assert said[1].startswith("g_grad_norm is 0.05 in ") and "run.g_step(..., g_grad_norm=norm)" in said[1]
    checks = [(f["check"], f["column"]) for _, _, f in warnings_of(tmp_path, "clipped")]
    assert checks == [("clipped_norm", "d_grad_norm"), ("clipped_norm", "g_grad_norm")]
    frame = RunDir.open(tmp_path, "clipped").read_metrics()  # what it read: the clipped norm
    assert (frame["d_grad_norm"] - 0.05).abs().lt(1e-6).mean() > 0.5


def test_the_norm_clip_grad_norm_returns_and_an_unclipped_loop_warn_nothing(tmp_path):
    for run_id, clip, pass_norm in (
        ("returned", 0.05, True),
        ("unclipped", None, False),
        ("rare", 50.0, False),
    ):
        run = track.init(run_id, root=tmp_path, commit_every=0.0)
        with warnings.catch_warnings():
            warnings.simplefilter("error", track.TrackingWarning)
            bce_loop(run, CHECKED_ROWS + 20, sigmoid=False, clip=clip, pass_norm=pass_norm)
            run.finish()
        assert warnings_of(tmp_path, run_id) == []
    frame = RunDir.open(tmp_path, "returned").read_metrics()  # the norm before the clip, as returned
    assert frame["d_grad_norm"].gt(0.06).mean() > 0.5


def test_a_command_records_who_sent_it(tmp_path):
    """send_command from a script was recorded "pause (from dashboard)": the dashboard's buttons say
    dashboard, a script by default script, or the source it names."""
    run = track.init("who", root=tmp_path, commit_every=0.0)
    senders = [
        lambda: track.send_command(run.run_dir, "resume"),
        lambda: track.send_command(run.run_dir, "resume", source="scheduler"),
        lambda: RunRegistry(tmp_path).view("who").control("stop", timeout=0.0),  # the dashboard's Stop
    ]
    for send in senders:
        send()
        run._poller._next = 0.0  # this g_step reads it (the poller looks at most every 0.2 s)
        run.d_step(torch.randn(4), torch.randn(4), d_grad_norm=1.0)
        run.g_step(0.5, g_grad_norm=1.0)
    run.finish()
    events = RunDir.open(tmp_path, "who").read_events()
    commands = events[events["kind"] == "command"]
    assert commands["detail"].tolist() == [
        "resume (from script)",
        "resume (from scheduler)",
        "stop (from dashboard)",
    ]
    assert [f["source"] for f in commands["fields"]] == ["script", "scheduler", "dashboard"]
    assert run.status == "stopped"


def test_two_commands_that_stat_alike_are_still_read_while_the_file_is_fresh(tmp_path, monkeypatch):
    """Two writes within one timestamp tick, the second on the first's freed inode at the same size, stat
    alike: the poller read nothing and missed the Stop (a review). A file changed within RACY_NS is read."""
    from gan_core.tracking import commands

    run = track.init("racy", root=tmp_path)
    poller = commands.CommandPoller(run.run_dir.path)
    track.send_command(run.run_dir, "pause")
    assert poller.poll(force=True) == ("pause", "script")
    watched = poller._commands  # (commands.json's watcher; notes_request.json has one of its own)
    alike = watched._mtime
    monkeypatch.setattr(watched, "_stat", lambda: alike)  # the next writes stat as the pause did
    track.send_command(run.run_dir, "resume")
    track.send_command(run.run_dir, "stop", source="sweep")
    assert poller.poll(force=True) == ("stop", "sweep")  # the newest counts, as documented
    reads = []
    monkeypatch.setattr(commands, "_read", lambda path: reads.append(path) or {})
    stale = (alike[0] - commands.RACY_NS - 1, *alike[1:])  # changed longer before it was read: no read
    monkeypatch.setattr(watched, "_stat", lambda: stale)
    assert poller.poll(force=True) is None and len(reads) == 1  # (a change: read, nothing new)
    assert poller.poll(force=True) is None and len(reads) == 1  # unchanged and not racy: not read
    run.finish()


def test_a_racy_read_is_read_again_however_long_the_next_poll_waits(tmp_path, monkeypatch):
    """The review of that fix: "changed recently" measured against the next poll missed the Stop when
    that poll came more than RACY_NS later (a step longer than 2 s); against the read, as git's rule."""
    from gan_core.tracking import commands

    run = track.init("racy-slow", root=tmp_path)
    poller = commands.CommandPoller(run.run_dir.path)
    track.send_command(run.run_dir, "pause")
    assert poller.poll(force=True) == ("pause", "script")  # read at once: racy
    watched = poller._commands
    alike = watched._mtime
    monkeypatch.setattr(watched, "_stat", lambda: alike)
    track.send_command(run.run_dir, "stop")
    now = time.time_ns()
    monkeypatch.setattr(commands.time, "time_ns", lambda: now + 10 * commands.RACY_NS)  # a slow step
    assert poller.poll(force=True) == ("stop", "script")
    run.finish()


@pytest.mark.parametrize("source", ["", "   ", "x" * 65, "two\nlines", 3])
def test_a_command_source_that_is_no_short_name_is_refused(tmp_path, source):
    run = track.init("src", root=tmp_path)
    with pytest.raises(ValueError, match=r"is invalid: allowed a name of 1 to 64 printable characters"):
        track.send_command(run.run_dir, "stop", source=source)
    assert not (run.run_dir.path / "commands.json").exists()
    run.finish()


def test_a_run_dir_prints_as_its_folder(tmp_path):
    run = track.init("shown", root=tmp_path)
    assert repr(run.run_dir) == str(run.run_dir) == f"RunDir({str(tmp_path.resolve() / 'shown')!r})"
    run.finish()


def test_applied_lrs_go_into_the_next_row_only(tmp_path):
    """A scheduler stepped before g_step moved the optimizers' lr on to the next step's: the step tells
    its row the lr its updates applied (the Lightning callback does, from each optimizer's step)."""
    net = nn.Linear(2, 1)
    opt_d, opt_g = torch.optim.SGD(net.parameters(), lr=0.1), torch.optim.SGD(net.parameters(), lr=0.01)
    run = track.init("applied", root=tmp_path, opt_d=opt_d, opt_g=opt_g, commit_every=0.0)
    for step in range(3):
        run.d_step(torch.randn(4), torch.randn(4), d_grad_norm=1.0)
        if step == 1:
            run.applied_lrs(lr_d=0.2)  # (lr_g: the optimizer's, as read)
        run.g_step(0.5, g_grad_norm=1.0)
    run.finish()
    rows = RunDir.open(tmp_path, "applied").read_metrics()
    assert rows["lr_d"].tolist() == pytest.approx([0.1, 0.2, 0.1], rel=1e-12)
    assert rows["lr_g"].tolist() == pytest.approx([0.01] * 3, rel=1e-12)
