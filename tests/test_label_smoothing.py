"""One-sided label smoothing moves D's verdict: a D that cannot tell outputs t/2 (real target t = 1 - ls),
not 0.5 (Salimans et al. 2016, §3.4). The loss, the trainer's accuracies, the flags, the run views, the
charts, the probe and the tracking API all judge D against t/2 (`GANLoss.smoothed`)."""

import math

import numpy as np
import pytest
import torch
from torch import nn

from gan_core import charts, probe
from gan_core.config import GANConfig
from gan_core.flags import BALANCE_WARMUP_STEPS, HOLD_STEPS, FlagMonitor
from gan_core.losses import LOSSES, get_loss
from gan_core.registry import RunRegistry, RunView
from gan_core.runner import Runner
from gan_core.store import MetricStore
from gan_core.tracking import track
from gan_core.tracking.measures import d_metrics
from gan_core.tracking.track import TrackingError
from gan_core.trainer import RECORD_COLUMNS, Trainer

# no spectral norm: `constant_d` zeroes D's weights, whose spectral norm would then divide by 0
TINY = dict(dataset="ring8", width=16, latent_dim=4, batch_size=64, device="cpu", spectral_norm=False)
TIMEOUT = 60
SMOOTHED = ("minimax", "nonsaturating", "lsgan")


def bce_equilibrium(t: float) -> float:
    """D's BCE loss with every output at t/2, real target t: the brief's closed form."""
    return -(t * math.log(t / 2) + (1 - t) * math.log(1 - t / 2)) - math.log(1 - t / 2)


# ------------------------------------------------------------------------------------------ the reviewer's D
@pytest.mark.parametrize("loss_name", ["nonsaturating", "lsgan"])
def test_a_d_trained_on_one_distribution_as_real_and_fake_cannot_tell_under_smoothing(loss_name):
    # The reviewer's experiment: "real" and "fake" drawn from the SAME distribution, ls = 0.2. The optimal
    # D outputs t/2 = 0.4 everywhere; judged against 0.5 it called every example fake (acc 0.00 / 1.00).
    torch.manual_seed(0)
    loss = get_loss(loss_name).smoothed(0.2)
    D = nn.Sequential(
        nn.Linear(2, 32), nn.LeakyReLU(0.2), nn.Linear(32, 32), nn.LeakyReLU(0.2), nn.Linear(32, 1)
    )
    opt = torch.optim.Adam(D.parameters(), 1e-3)
    # the learning rate falls linearly to 0, so that D ends near its optimum, not a step's noise away
    schedule = torch.optim.lr_scheduler.LambdaLR(opt, lambda i: 1 - i / 400)
    for _ in range(400):
        real, fake = torch.randn(512, 2), torch.randn(512, 2)
        loss_real, loss_fake = loss.d(D(real), D(fake), loss.real_target)
        opt.zero_grad()
        (loss_real + loss_fake).backward()
        opt.step()
        schedule.step()
    with torch.no_grad():
        real_logits, fake_logits = D(torch.randn(4096, 2)), D(torch.randn(4096, 2))
        halves = loss.d(real_logits, fake_logits, loss.real_target)
        metrics = d_metrics(loss, real_logits, fake_logits, *halves, torch.tensor(0.0)).tolist()
    acc_real, acc_fake, d_real, d_fake = metrics[3:7]
    assert acc_real == pytest.approx(0.5, abs=0.2) and acc_fake == pytest.approx(0.5, abs=0.2)
    assert d_real == pytest.approx(0.4, abs=0.03) and d_fake == pytest.approx(0.4, abs=0.03)
    # and the flags see a D that cannot tell: no d_leads, equilibrium once the samples are judged good
    monitor = FlagMonitor(loss.midpoint, coverage_total=8)
    monitor.update_eval({"modes_covered": 8.0, "hq_pct": 85.0})
    record = dict(zip(("d_loss", "d_loss_real", "d_loss_fake"), metrics[:3]), g_loss=0.7, g_grad_norm=1.0)
    record |= dict(d_acc_real=acc_real, d_acc_fake=acc_fake, d_real=d_real, d_fake=d_fake, d_grad_norm=1.0)
    for _ in range(BALANCE_WARMUP_STEPS + 2 * HOLD_STEPS):
        monitor.update(record)
    assert monitor.active == {"equilibrium"}


# ------------------------------------------------------------------------------------------ the loss
def test_smoothed_bce_losses_move_threshold_midpoint_and_equilibrium_to_t_over_2():
    for name in ("minimax", "nonsaturating"):
        loss = get_loss(name).smoothed(0.3)
        assert loss.name == name and loss.real_target == pytest.approx(0.7)
        assert loss.midpoint == pytest.approx(0.35)
        assert loss.threshold == pytest.approx(math.log(0.35 / 0.65))  # -0.6190
        assert loss.threshold == pytest.approx(-0.6190392084, abs=1e-9)
        assert torch.sigmoid(torch.tensor(loss.threshold)).item() == pytest.approx(0.35)
        assert (
            loss.equilibrium_d_loss == pytest.approx(bce_equilibrium(0.7)) == pytest.approx(1.29489, abs=1e-5)
        )
        assert loss.equilibrium_label == "equilibrium 1.295 (label smoothing 0.3)"
        assert (
            loss.threshold_rule
            == "D(x) = sigmoid(score) > 0.35 (half the smoothed real target 0.7), i.e. score > -0.619"
        )
        assert loss.probability_output and loss.uses_label_smoothing


def test_smoothed_lsgan_moves_threshold_and_midpoint_and_has_no_equilibrium_line():
    loss = get_loss("lsgan").smoothed(0.3)
    assert loss.real_target == pytest.approx(0.7)
    assert loss.midpoint == pytest.approx(0.35) and loss.threshold == pytest.approx(0.35)
    assert loss.equilibrium_d_loss is None and loss.equilibrium_label == ""  # as the unsmoothed lsgan
    assert loss.threshold_rule == "score > 0.35, half-way between the targets 0 (fake) and 0.7 (real)"
    # its verdict at the new threshold
    acc_real, acc_fake = loss.accuracy(torch.tensor([0.3, 0.4]), torch.tensor([0.3, 0.4]))
    assert (acc_real.item(), acc_fake.item()) == (0.5, 0.5)


def test_smoothed_is_memoised_and_measured_from_the_unsmoothed_loss():
    for name in SMOOTHED:
        loss = get_loss(name)
        assert loss.smoothed(0) is loss and loss.smoothed(0.0) is loss
        assert loss.smoothed(0.2) is loss.smoothed(0.2)
        assert loss.smoothed(0.2).smoothed(0.3) is loss.smoothed(0.3)  # not 0.2 then 0.3 more
        assert loss.smoothed(0.2).smoothed(0) is loss
        assert loss.smoothed(0.2) != loss


@pytest.mark.parametrize("name", ["hinge", "wgan", "wgan-gp"])
def test_losses_without_targets_ignore_smoothing(name):
    loss = get_loss(name)
    assert not loss.uses_label_smoothing
    assert loss.smoothed(0.3) is loss and loss.smoothed(0) is loss
    assert (loss.threshold, loss.midpoint, loss.real_target) == (
        LOSSES[name].threshold,
        LOSSES[name].midpoint,
        1.0,
    )


@pytest.mark.parametrize("bad", [1.0, -0.1, math.nan, math.inf, "0.2", None])
def test_smoothed_refuses_a_value_outside_0_to_1(bad):
    for name in ("nonsaturating", "hinge"):
        with pytest.raises(ValueError, match=r"label_smoothing .*: allowed a number in \[0, 1\)"):
            get_loss(name).smoothed(bad)


# ------------------------------------------------------------------------------------------ the trainer
def constant_d(trainer: Trainer, logit: float) -> None:
    """Every D output ``logit``, whatever the input: the weights zero, the last bias ``logit``."""
    with torch.no_grad():
        for p in trainer.D.parameters():
            p.zero_()
        [*_, last] = [m for m in trainer.D.modules() if isinstance(m, nn.Linear)]
        last.bias.fill_(logit)


def test_trainer_judges_d_with_the_label_smoothing_in_force_from_the_next_step():
    trainer = Trainer(GANConfig(**TINY, loss="nonsaturating", lr_d=1e-12))
    logit = -0.2  # sigmoid 0.45: below 0.5 (fake at ls 0), above 0.4 (real at ls 0.2)
    constant_d(trainer, logit)
    before = trainer.step()
    assert before["label_smoothing"] == 0.0
    assert (before["d_acc_real"], before["d_acc_fake"]) == (0.0, 1.0)
    trainer.set_hparams(label_smoothing=0.2)
    constant_d(trainer, logit)
    after = trainer.step()
    assert after["label_smoothing"] == pytest.approx(0.2)
    assert (after["d_acc_real"], after["d_acc_fake"]) == (1.0, 0.0)
    softplus = torch.nn.functional.softplus
    t, x = 0.8, torch.tensor(logit)
    assert after["d_loss_real"] == pytest.approx((t * softplus(-x) + (1 - t) * softplus(x)).item(), rel=1e-5)
    # the G-only step's verdict (evaluate_d) and a D-only step's too
    constant_d(trainer, logit)
    assert (trainer.g_step()["d_acc_real"], trainer.d_step()["d_acc_fake"]) == (1.0, 0.0)


def test_runner_keeps_the_flag_monitors_midpoint_to_the_label_smoothing_in_force(tmp_path):
    runner = Runner(GANConfig(**TINY, steps=0, label_smoothing=0.2), tmp_path, "ls").start(paused=True)
    try:
        assert runner.monitor.midpoint == pytest.approx(0.4)  # at the start
        assert runner.wait_until(lambda r: r.trainer is not None and r.status == "paused", TIMEOUT)
        runner.set_hparams(label_smoothing=0.3)
        runner.run_to(3)
        assert runner.wait_until(lambda r: r.status == "paused" and r.current_step == 3, TIMEOUT)
        assert runner.monitor.midpoint == pytest.approx(0.35)
        view = RunView(runner.run_id, runner.cfg, runner.run_dir, runner.store, runner)
        assert view.midpoint == pytest.approx(0.35) and view.threshold == pytest.approx(math.log(0.35 / 0.65))
        # the probe's copy of the live models carries the smoothing in force
        models = probe.load_models(runner.models_state(TIMEOUT))
        assert models.loss.midpoint == pytest.approx(0.35)
    finally:
        runner.stop()
        runner.wait(TIMEOUT)


# ------------------------------------------------------------------------------------------ the flags
def test_the_calm_window_follows_the_midpoint():
    # ls 0.45: t/2 = 0.275, outside the old fixed window 0.3-0.7; a D that cannot tell is calm around it
    def active(midpoint, output):
        monitor = FlagMonitor(midpoint, coverage_total=8)
        monitor.update_eval({"modes_covered": 8.0, "hq_pct": 85.0})
        record = dict(
            d_loss=1.2, g_loss=0.7, d_acc_real=0.5, d_acc_fake=0.5, g_grad_norm=1.0, d_grad_norm=1.0
        )
        for _ in range(BALANCE_WARMUP_STEPS + 2 * HOLD_STEPS):
            monitor.update(record | {"d_real": output, "d_fake": output})
        return monitor.active

    midpoint = get_loss("nonsaturating").smoothed(0.45).midpoint
    assert active(midpoint, 0.275) == {"equilibrium"}
    assert active(midpoint, 0.5) == set()  # 0.225 from its midpoint: not calm
    assert active(0.5, 0.5) == {"equilibrium"} and active(0.5, 0.275) == set()


# ------------------------------------------------------------------------------------------ the run view
def test_run_view_smooths_the_loss_by_the_last_rows_finite_label_smoothing(tmp_path):
    run = track.init("v", root=tmp_path, loss="nonsaturating", label_smoothing=0.2)
    run.finish()
    found = RunRegistry(tmp_path).view("v")
    store = MetricStore(RECORD_COLUMNS)
    view = RunView("v", None, found.run_dir, store, meta=found.meta)
    assert view.label_smoothing == 0.0 and view.midpoint == 0.5 and view.loss is get_loss("nonsaturating")
    row = dict.fromkeys(RECORD_COLUMNS, math.nan)
    for step, smoothing in ((1, 0.0), (2, 0.3), (3, math.nan)):  # the last row leaves it blank
        store.append(
            [
                float(step) if c == "step" else smoothing if c == "label_smoothing" else row[c]
                for c in RECORD_COLUMNS
            ]
        )
    assert view.label_smoothing == pytest.approx(0.3)
    assert view.midpoint == pytest.approx(0.35) and view.threshold == pytest.approx(math.log(0.35 / 0.65))
    assert view.loss.equilibrium_d_loss == pytest.approx(bce_equilibrium(0.7))
    store.append(
        [4.0 if c == "step" else 7.0 if c == "label_smoothing" else math.nan for c in RECORD_COLUMNS]
    )
    assert view.label_smoothing == 0.0 and view.midpoint == 0.5  # a damaged value: unsmoothed


def test_charts_draw_the_smoothed_equilibrium_and_midpoint():
    loss = get_loss("nonsaturating").smoothed(0.3)

    def labels(figure):  # (its reference lines' labels are text in plotly's JSON)
        return str(figure)

    store = MetricStore(RECORD_COLUMNS)
    for step in range(1, 21):
        store.append([float(step)] + [1.0] * (len(RECORD_COLUMNS) - 1))
    view = store.view()

    assert "equilibrium 1.295 (label smoothing 0.3)" in labels(charts.loss_figure(view, loss=loss))
    assert "2 ln 2" not in labels(charts.loss_figure(view, loss=loss))
    assert "equilibrium 2 ln 2" in labels(charts.loss_figure(view, loss_name="nonsaturating"))
    figure = charts.training_figure(view, midpoint=loss.midpoint, loss=loss)
    assert "equilibrium 1.295" in labels(figure) and "midpoint 0.35" in labels(figure)
    lsgan = get_loss("lsgan")
    note = charts.compare_scale_note("d_real", {"a": lsgan, "b": lsgan.smoothed(0.2)})
    assert note is not None and "(0.5: a; 0.4: b)" in note and "t/2" in note
    assert charts.compare_scale_note("d_real", {"a": lsgan, "b": "minimax"}) is None


# ------------------------------------------------------------------------------------------ the probe
def test_probe_judges_a_built_in_run_by_its_label_smoothing():
    cfg = GANConfig(**TINY, loss="nonsaturating", label_smoothing=0.2)
    trainer = Trainer(cfg)
    constant_d(trainer, -0.2)  # D(x) = 0.45: real under ls 0.2 (t/2 = 0.4)
    state = {
        "generator": trainer.G.state_dict(), "discriminator": trainer.D.state_dict(),
        "config": cfg.to_dict(), "sample_shape": [2], "step": 0,
    }  # fmt: skip
    models = probe.load_models(state)
    assert models.loss.midpoint == pytest.approx(0.4)
    verdicts = probe.ask_d(models.D, models.loss, torch.zeros(5, 2))
    assert verdicts.real.all() and "0.4" in verdicts.rule
    assert not probe.ask_d(models.D, "nonsaturating", torch.zeros(5, 2)).real.any()
    # a checkpoint's hyperparameters say the smoothing in force at its step
    assert probe.load_models(state | {"hparams": {"label_smoothing": 0.3}}).loss.midpoint == pytest.approx(
        0.35
    )


# ------------------------------------------------------------------------------------------ the tracking API
def test_tracking_init_label_smoothing_is_recorded_and_used(tmp_path):
    torch.manual_seed(0)
    D = nn.Linear(2, 1)
    seen = []
    with track.init(
        "ls", root=tmp_path, loss="nonsaturating", label_smoothing=0.2, steps=3, commit_every=0
    ) as run:
        assert run.loss is get_loss("nonsaturating").smoothed(0.2)
        assert run.monitor.midpoint == pytest.approx(0.4)
        while not run.should_stop:
            real_logits, fake_logits = D(torch.randn(16, 2)), D(torch.randn(16, 2))
            D.zero_grad()
            (real_logits.mean() + fake_logits.mean()).backward()
            run.d_step(real_logits, fake_logits, d_params=D)  # halves computed by the tracker
            seen.append((real_logits.detach(), fake_logits.detach()))
            run.g_step(torch.tensor(0.7))
    frame = run.run_dir.read_metrics()
    assert frame["label_smoothing"].tolist() == [0.2] * 3
    real_logits, fake_logits = seen[-1]
    loss_real, loss_fake = get_loss("nonsaturating").d(real_logits, fake_logits, 0.8)
    assert frame["d_loss_real"].iloc[-1] == pytest.approx(loss_real.item(), rel=1e-5)
    threshold = math.log(0.4 / 0.6)
    assert frame["d_acc_real"].iloc[-1] == pytest.approx((real_logits > threshold).float().mean().item())
    view = RunRegistry(tmp_path).view("ls")
    assert view.midpoint == pytest.approx(0.4) and view.threshold == pytest.approx(threshold)


@pytest.mark.parametrize("bad", [0.5, -0.1, math.nan, True, "0.1", None])
def test_tracking_init_refuses_a_label_smoothing_outside_the_configs_range(tmp_path, bad):
    with pytest.raises(TrackingError, match=r"label_smoothing=.* is invalid: allowed a number in \[0, 0.5\)"):
        track.init("bad", root=tmp_path, label_smoothing=bad)
    assert not (tmp_path / "bad").exists()


@pytest.mark.parametrize("loss", ["hinge", "wgan", "wgan-gp"])
def test_tracking_init_refuses_label_smoothing_for_a_loss_with_no_real_target(tmp_path, loss):
    said = rf"label_smoothing=0.1 does not apply to loss='{loss}'.*allowed 0 .*minimax, nonsaturating, lsgan"
    with pytest.raises(TrackingError, match=said):
        track.init("bad", root=tmp_path, loss=loss, label_smoothing=0.1)
    assert not (tmp_path / "bad").exists()
    track.init("zero", root=tmp_path, loss=loss, label_smoothing=0.0).finish()  # 0: as before


def test_the_2d_heatmap_of_a_smoothed_run_runs_0_to_1_with_white_at_its_midpoint():
    """Under label smoothing 0.2 the colour scale was centred on t/2 = 0.4 with the half range 0.5:
    -0.1..0.9, a probability below 0 on the bar and the outputs from 0.9 to 1 all full green."""
    rng = np.random.default_rng(0)
    points = rng.normal(size=(20, 2))
    heatmap = np.linspace(0.02, 0.97, 48 * 48).reshape(48, 48)
    loss = LOSSES["nonsaturating"].smoothed(0.2)
    fig = charts.points_figure(
        points,
        points,
        bounds=(-2, 2, -2, 2),
        heatmap=heatmap,
        midpoint=loss.midpoint,
        threshold=loss.threshold,
    )
    (drawn,) = [t for t in fig["data"] if t["type"] == "heatmap"]
    assert (drawn["zmin"], drawn["zmax"]) == (0.0, 1.0)
    assert drawn["colorscale"][1] == [pytest.approx(0.4), "#ffffff"]  # white at t/2
    assert list(drawn["colorbar"]["tickvals"]) == pytest.approx([0.0, 0.4, 1.0])
    # unsmoothed: as before, 0 to 1 with white in the middle
    plain = charts.points_figure(points, points, bounds=(-2, 2, -2, 2), heatmap=heatmap, midpoint=0.5)
    (drawn,) = [t for t in plain["data"] if t["type"] == "heatmap"]
    assert (drawn["zmin"], drawn["zmax"]) == (0.0, 1.0) and drawn["colorscale"][1][0] == pytest.approx(0.5)


def test_compare_says_when_runs_of_one_loss_train_toward_different_real_targets():
    """The D-output charts said the midpoints differ; the loss charts, whose values where D cannot tell
    move with t too (1.386 / 1.346 for d_loss at ls 0 / 0.2), said nothing."""
    plain, smoothed = LOSSES["minimax"], LOSSES["minimax"].smoothed(0.2)
    for column in ("d_loss", "d_loss_real", "d_loss_fake", "g_loss"):
        note = charts.compare_scale_note(column, {"a": plain, "b": smoothed})
        assert note is not None and "different real targets (1: a; 0.8: b" in note, note
    assert charts.compare_scale_note("d_loss", {"a": smoothed, "b": LOSSES["minimax"].smoothed(0.2)}) is None
    # hinge ignores smoothing: no note between two hinge runs
    assert (
        charts.compare_scale_note("d_loss", {"a": LOSSES["hinge"], "b": LOSSES["hinge"].smoothed(0.2)})
        is None
    )
