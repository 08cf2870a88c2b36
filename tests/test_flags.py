"""Failure flags on constructed metric sequences: each raises, holds without flicker, and clears."""

import math

import pytest

from gan_core.flags import FLAGS, HOLD_STEPS, FlagMonitor


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
    events = feed(monitor, record(), 3 * HOLD_STEPS)
    assert [(name, up) for _, name, up in events] == [("equilibrium", True)]
    assert events[0][0] == HOLD_STEPS - 1  # after exactly HOLD_STEPS calm steps
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


def test_mode_collapse_from_evaluations():
    monitor = FlagMonitor()
    assert monitor.update_eval({"modes_covered": 8.0}) == []
    assert monitor.update_eval({"modes_covered": 7.0}) == []
    assert monitor.update_eval({"modes_covered": 3.0}) == []  # one bad evaluation: held
    assert monitor.update_eval({"modes_covered": 2.0}) == [("mode_collapse", True)]
    monitor.update_eval({"modes_covered": 8.0})
    assert monitor.update_eval({"modes_covered": 8.0}) == [("mode_collapse", False)]
    div = FlagMonitor()
    div.update_eval({"diversity": 0.9})
    assert div.update_eval({"diversity": 0.1}) == []
    assert div.update_eval({"diversity": 0.1}) == [("mode_collapse", True)]


def test_no_midpoint_for_critics():
    monitor = FlagMonitor(midpoint=None)
    events = feed(monitor, record(d_real=40.0, d_fake=-3.0), 2 * HOLD_STEPS)
    assert ("equilibrium", True) in [(n, up) for _, n, up in events]


def test_every_flag_explains_and_suggests():
    for info in FLAGS.values():
        assert info.explanation.endswith(".") and info.suggestion.endswith(".")
