"""Failure flags on constructed metric sequences: each raises, holds without flicker, and clears."""

import math

import pytest

from gan_core.flags import (
    BALANCE_WARMUP_STEPS,
    COLLAPSE_WARMUP_STEPS,
    FLAGS,
    HOLD_EVALS,
    HOLD_STEPS,
    FlagMonitor,
)


def record(
    acc_real=0.5, acc_fake=0.5, d_real=0.5, d_fake=0.5, g_norm=1.0, d_norm=1.0, d_loss=1.386, g_loss=0.7
):
    return {
        "d_loss": d_loss, "g_loss": g_loss, "d_acc_real": acc_real, "d_acc_fake": acc_fake,
        "d_real": d_real, "d_fake": d_fake, "g_grad_norm": g_norm, "d_grad_norm": d_norm,
    }  # fmt: skip


def feed(monitor, rec, n):
    events = []
    for i in range(n):
        events += [(i, name, up) for name, up in monitor.update(rec)]
    return events


def test_healthy_run_raises_equilibrium_only():
    monitor = FlagMonitor()
    events = feed(monitor, record(), BALANCE_WARMUP_STEPS + 3 * HOLD_STEPS)
    assert [(name, up) for _, name, up in events] == [("equilibrium", True)]
    # after the warm-up and then exactly HOLD_STEPS calm steps (i counts from 0)
    assert events[0][0] == BALANCE_WARMUP_STEPS + HOLD_STEPS - 1
    assert monitor.active == {"equilibrium"}


def test_d_overpowers_needs_a_sustained_stretch_and_clears_with_hysteresis():
    monitor = FlagMonitor()
    feed(monitor, record(), 200)
    # a short burst of D winning does not raise it
    assert not any(n == "d_overpowers" for _, n, _ in feed(monitor, record(1.0, 1.0, 0.99, 0.01), 60))
    feed(monitor, record(), 300)
    events = feed(monitor, record(1.0, 1.0, 0.99, 0.01), 400)
    raised = [i for i, n, up in events if n == "d_overpowers" and up]
    assert len(raised) == 1 and HOLD_STEPS <= raised[0] <= HOLD_STEPS + 150  # EMA lag + hold
    assert ("equilibrium", False) in [(n, up) for _, n, up in events]
    # alternating good and bad steps (a flickering signal) never clears it
    for i in range(300):
        monitor.update(record(1.0, 1.0) if i % 2 else record(0.9, 0.9))
    assert "d_overpowers" in monitor.active
    cleared = [i for i, n, up in feed(monitor, record(), 400) if n == "d_overpowers" and not up]
    assert len(cleared) == 1


def test_g_overpowers():
    monitor = FlagMonitor()
    events = feed(monitor, record(acc_real=0.6, acc_fake=0.1, d_fake=0.8), 400)
    assert ("g_overpowers", True) in [(n, up) for _, n, up in events]


def test_d_learning_from_its_initial_verdict_is_not_g_overpowering():
    # At initialisation D calls every fake real (accuracy on fakes 0) until it has learned something;
    # measured: up to 187 steps on the default digits. Balance flags wait out that start.
    monitor = FlagMonitor()
    events = feed(monitor, record(acc_real=1.0, acc_fake=0.0, d_real=0.6, d_fake=0.6), 180)
    events += feed(monitor, record(), 500)
    assert [(n, up) for _, n, up in events] == [("equilibrium", True)]
    # the same signal held past the warm-up is G outrunning D, raised once the hold is met after it
    late = FlagMonitor()
    raised = [i for i, n, up in feed(late, record(acc_fake=0.0, d_fake=0.8), 600) if n == "g_overpowers"]
    assert raised == [BALANCE_WARMUP_STEPS + HOLD_STEPS - 1]


def test_vanishing_gradients_when_g_norm_fades_while_d_wins():
    monitor = FlagMonitor()
    feed(monitor, record(g_norm=2.0), 200)
    events = feed(monitor, record(1.0, 1.0, 0.999, 0.001, g_norm=0.01), 500)
    names = {n for _, n, up in events if up}
    assert {"vanishing_gradients", "d_overpowers"} <= names


def test_exploding_gradients_after_five_steps():
    monitor = FlagMonitor()
    feed(monitor, record(), 10)
    events = feed(monitor, record(d_norm=500.0), 10)
    assert [(i, n) for i, n, up in events if up] == [(4, "exploding_gradients")]


@pytest.mark.parametrize("bad", [dict(d_loss=math.nan), dict(g_loss=math.inf), dict(g_norm=math.nan)])
def test_diverged_is_immediate_and_sticks(bad):
    monitor = FlagMonitor()
    feed(monitor, record(), 5)
    assert monitor.update(record(**bad)) == [("diverged", True)]
    assert monitor.update(record()) == [] and "diverged" in monitor.active


def test_g_only_step_blank_d_norm_is_not_divergence():
    monitor = FlagMonitor()
    assert monitor.update(record(d_norm=math.nan)) == []


def warmed_up(monitor):
    """The monitor after the collapse warm-up, fed healthy steps."""
    feed(monitor, record(), COLLAPSE_WARMUP_STEPS)
    return monitor


def test_mode_collapse_from_evaluations():
    monitor = warmed_up(FlagMonitor())
    assert monitor.update_eval({"modes_covered": 8.0}) == []
    assert monitor.update_eval({"modes_covered": 7.0}) == []
    assert monitor.update_eval({"modes_covered": 3.0}) == []  # one bad evaluation: held
    assert monitor.update_eval({"modes_covered": 2.0}) == [("mode_collapse", True)]
    monitor.update_eval({"modes_covered": 8.0})
    assert monitor.update_eval({"modes_covered": 8.0}) == [("mode_collapse", False)]
    div = warmed_up(FlagMonitor())
    div.update_eval({"diversity": 0.9})
    assert div.update_eval({"diversity": 0.1}) == []
    assert div.update_eval({"diversity": 0.1}) == [("mode_collapse", True)]


def test_mode_collapse_not_judged_while_g_is_still_finding_the_modes():
    # A healthy ring8 start: G begins as a blob and covers 0-3 modes for its first evaluations, then
    # spreads over all eight. Evaluations every 250 steps; none of it is collapse.
    monitor = FlagMonitor()
    coverage = [0, 1, 0, 2, 1, 3, 5] + [8] * 10
    events = []
    for modes in coverage:
        feed(monitor, record(), 250)
        events += monitor.update_eval(
            {"modes_covered": float(modes), "diversity": 0.05 if modes < 3 else 0.9}
        )
    assert events == [] and "mode_collapse" not in monitor.active


@pytest.mark.parametrize("metric", ["modes_covered", "classes_covered"])
def test_mode_collapse_raised_after_the_warm_up_when_g_stays_on_few_modes(metric):
    # A collapsed run never covers more than two modes: the floor raises the flag as soon as the warm-up
    # is over and the hold is met, however the evaluations are spaced.
    monitor = FlagMonitor()
    raised_at = None
    for i in range(1, 13):
        feed(monitor, record(), 500)
        if monitor.update_eval({metric: 1.0 + i % 2}) and raised_at is None:
            raised_at = monitor.steps_seen
    assert raised_at == COLLAPSE_WARMUP_STEPS + (HOLD_EVALS - 1) * 500


def test_coverage_lost_after_the_warm_up_counts_against_the_best_seen_before_it():
    monitor = FlagMonitor()
    feed(monitor, record(), 500)
    monitor.update_eval({"classes_covered": 10.0})  # during the warm-up: remembered, not judged
    feed(monitor, record(), COLLAPSE_WARMUP_STEPS)
    assert monitor.update_eval({"classes_covered": 6.0}) == []  # 6 > half of 10: fine
    assert monitor.update_eval({"classes_covered": 5.0}) == []
    assert monitor.update_eval({"classes_covered": 5.0}) == [("mode_collapse", True)]


def test_no_midpoint_for_critics():
    monitor = FlagMonitor(midpoint=None)
    events = feed(monitor, record(d_real=40.0, d_fake=-3.0), BALANCE_WARMUP_STEPS + 2 * HOLD_STEPS)
    assert ("equilibrium", True) in [(n, up) for _, n, up in events]


def test_every_flag_explains_and_suggests():
    for info in FLAGS.values():
        assert info.explanation.endswith(".") and info.suggestion.endswith(".")
