"""Failure flags on constructed metric sequences: each raises, holds without flicker, and clears."""

import math
from pathlib import Path

import pytest

import gan_core.flags
from gan_core.flags import (
    BALANCE_WARMUP_STEPS,
    COLLAPSE_WARMUP_STEPS,
    EXPLODING_RAISE_STEPS,
    FAILURE_FLAGS,
    FLAGS,
    HOLD_EVALS,
    HOLD_STEPS,
    LEAD_ACCURACY,
    QUALITY_GRID_JS,
    FlagMonitor,
    failures_first,
    quality_judged,
    quality_poor,
)
from gan_core.losses import LOSSES

# An evaluation of a good ring8 G: every mode, most points on one (`quality_poor` says no)
GOOD_EVAL = {"modes_covered": 8.0, "hq_pct": 85.0, "mode_kl": 0.01}


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


def evaluated(monitor, metrics=GOOD_EVAL):
    """The monitor after one evaluation (``metrics``), as the runner feeds it every eval_every steps."""
    monitor.update_eval(metrics)
    return monitor


def test_healthy_run_raises_equilibrium_only():
    monitor = evaluated(FlagMonitor(coverage_total=8))
    events = feed(monitor, record(), BALANCE_WARMUP_STEPS + 3 * HOLD_STEPS)
    assert [(name, up) for _, name, up in events] == [("equilibrium", True)]
    # after the warm-up and then exactly HOLD_STEPS calm steps (i counts from 0)
    assert events[0][0] == BALANCE_WARMUP_STEPS + HOLD_STEPS - 1
    assert monitor.active == {"equilibrium"}


def test_d_overpowers_needs_a_sustained_stretch_and_clears_with_hysteresis():
    monitor = evaluated(FlagMonitor(coverage_total=8))
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
    monitor = evaluated(FlagMonitor(coverage_total=8))
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
    assert EXPLODING_RAISE_STEPS == 5


def exploding_changes(norms):
    """(index, raised?) of every exploding_gradients change over a sequence of g_grad_norm values."""
    monitor = FlagMonitor()
    changes = []
    for i, norm in enumerate(norms):
        changes += [
            (i, up) for name, up in monitor.update(record(g_norm=norm)) if name == "exploding_gradients"
        ]
    return changes


def test_exploding_gradients_clears_only_after_the_documented_hold():
    # Norms that swing across 100 every few steps, as the divergence preset's did between steps 161 and
    # 463 (raised and cleared five times, each clear 7-9 steps after the raise): one raise, no clear
    # while the swings go on, and one clear HOLD_STEPS calm steps after the last swing.
    swings = ([500.0] * 6 + [3.0] * 8) * 20
    changes = exploding_changes([1.0] * 10 + swings + [1.0] * (HOLD_STEPS + 20))
    last_high = 10 + max(i for i, v in enumerate(swings) if v > 100)
    assert changes == [(10 + EXPLODING_RAISE_STEPS - 1, True), (last_high + HOLD_STEPS, False)]
    # a calm stretch one step short of the hold does not clear it
    short = exploding_changes([500.0] * 10 + [1.0] * (HOLD_STEPS - 1) + [500.0] * 3 + [1.0] * 5)
    assert short == [(EXPLODING_RAISE_STEPS - 1, True)]


def test_exploding_gradients_rule_is_documented_as_implemented():
    # README's table and the flags docstring (the Guide shows it) both say: raised after 5, cleared after
    # HOLD_STEPS
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    (row,) = [line for line in readme.splitlines() if line.startswith("| `exploding_gradients` |")]
    assert f"for {EXPLODING_RAISE_STEPS} steps" in row and f"cleared after {HOLD_STEPS} steps" in row
    doc = " ".join(gan_core.flags.__doc__.split())
    assert f"for {EXPLODING_RAISE_STEPS} steps" in doc and f"only after {HOLD_STEPS} steps in a row" in doc


@pytest.mark.parametrize("bad", [dict(d_loss=math.nan), dict(g_loss=math.inf), dict(g_norm=math.nan)])
def test_diverged_is_immediate_and_sticks(bad):
    monitor = FlagMonitor()
    feed(monitor, record(), 5)
    assert monitor.update(record(**bad)) == [("diverged", True)]
    assert monitor.update(record()) == [] and "diverged" in monitor.active


def test_g_only_step_blank_d_norm_is_not_divergence():
    monitor = FlagMonitor()
    assert monitor.update(record(d_norm=math.nan), unmeasured=("d_grad_norm",)) == []
    # a D gradient that was measured and is NaN is a divergence, whatever step it came from
    assert FlagMonitor().update(record(d_norm=math.nan)) == [("diverged", True)]


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
    monitor = FlagMonitor(coverage_total=10)  # (the digits' classes: what makes coverage a quality floor)
    feed(monitor, record(), 500)
    monitor.update_eval({"classes_covered": 10.0})  # during the warm-up: remembered, not judged
    feed(monitor, record(), COLLAPSE_WARMUP_STEPS)
    assert monitor.update_eval({"classes_covered": 6.0}) == []  # 6 > half of 10: fine
    assert monitor.update_eval({"classes_covered": 5.0}) == []
    # (and equilibrium, up until then, is cleared at once: a collapsed G is not in equilibrium)
    assert monitor.update_eval({"classes_covered": 5.0}) == [("mode_collapse", True), ("equilibrium", False)]


def test_a_g_that_never_covers_half_the_datas_modes_is_collapsed_though_it_never_lost_any():
    """A G that covered 3 of ring8's 8 modes at every evaluation (5 at best) was never flagged: it never fell
    to half its own best, nor to 2, and the data's mode count was not asked."""
    collapsed = FlagMonitor(coverage_total=8)
    steady = [collapsed.update_eval({"modes_covered": m}) for m in (5.0, 3.0)]  # in the warm-up: not judged
    feed(collapsed, record(), COLLAPSE_WARMUP_STEPS)
    steady += [collapsed.update_eval({"modes_covered": 3.0}) for _ in range(3)]
    assert steady == [[], [], [], [("mode_collapse", True)], []]  # at half the data's or under, held
    assert collapsed.update_eval({"modes_covered": 5.0}) == []  # 5 of 8: more than half, once
    assert collapsed.update_eval({"modes_covered": 6.0}) == [("mode_collapse", False)]
    # without the data's count (a user's own loop that named no dataset): the rules as before, no flag
    unknown = warmed_up(FlagMonitor())
    assert [unknown.update_eval({"modes_covered": 3.0}) for _ in range(3)] == [[], [], []]
    # a G halfway to the data's modes is not collapsed: 13 of grid25's 25
    half = warmed_up(FlagMonitor(coverage_total=25))
    assert [half.update_eval({"modes_covered": 13.0}) for _ in range(3)] == [[], [], []]


def test_no_midpoint_for_critics():
    monitor = evaluated(FlagMonitor(midpoint=None, coverage_total=8))
    events = feed(monitor, record(d_real=40.0, d_fake=-3.0), BALANCE_WARMUP_STEPS + 2 * HOLD_STEPS)
    assert ("equilibrium", True) in [(n, up) for _, n, up in events]


def test_a_critic_ahead_is_no_failure_and_no_equilibrium_but_a_critic_behind_is():
    """A Wasserstein critic's accuracies rank its scores (the median rule): a healthy one keeps them high
    (a reviewer's WGAN-GP on the digits, fd_cls 2.0, all 10 classes: ~0.85 to its end), so neither
    d_overpowers nor d_leads; nor equilibrium (D unable to tell). A critic ranking the fakes above the
    reals (g_overpowers) and the gradient flags are judged as for any D."""
    critic = evaluated(FlagMonitor(midpoint=None, coverage_total=8, critic=True))
    events = feed(critic, record(1.0, 1.0, 3.0, -3.0), BALANCE_WARMUP_STEPS + 3 * HOLD_STEPS)
    events += feed(critic, record(0.5, 0.5, 0.1, -0.1), 3 * HOLD_STEPS)  # as calm as a D that cannot tell
    assert events == [] and critic.active == set()
    d = evaluated(FlagMonitor(midpoint=None, coverage_total=8))  # the same records, a hinge D (no critic)
    raised = {name for _, name, up in feed(d, record(1.0, 1.0, 3.0, -3.0), 3 * HOLD_STEPS) if up}
    assert raised == {"d_overpowers"}
    behind = {n for _, n, up in feed(critic, record(0.2, 0.2, -1.0, 1.0), 3 * HOLD_STEPS) if up}
    assert behind == {"g_overpowers"}
    exploding = {n for _, n, up in feed(critic, record(g_norm=500.0), 2 * EXPLODING_RAISE_STEPS) if up}
    assert "exploding_gradients" in exploding


def test_every_flag_explains_and_suggests():
    for info in FLAGS.values():
        assert info.explanation.endswith(".") and info.suggestion.endswith(".")


@pytest.mark.parametrize("loss", [*LOSSES, None])
@pytest.mark.parametrize("flag", FLAGS)
def test_every_flag_suggests_something_for_every_loss(flag, loss):
    suggestion = FLAGS[flag].suggestion_for(None if loss is None else LOSSES[loss])
    assert len(suggestion) > 20 and suggestion.endswith(".") and suggestion[0].isupper()
    if loss is None:  # a run of unknown loss (a user's loop that named none): the loss-agnostic text
        assert suggestion == FLAGS[flag].suggestion


# (flag, loss, a remedy that does not act on that loss, the remedies that do): the texts the loss changes.
# Hinge and the Wasserstein losses have no targets to smooth (`GANLoss.uses_label_smoothing`); only
# minimax's G loss saturates; a critic is held back by its constraint (gp_weight, clip_value) and its
# n_critic (d_steps), not by smoothing; wgan-gp cannot be told to use wgan-gp.
CHANGED = [
    (
        "d_overpowers",
        "hinge",
        "label smoothing",
        ["lower lr_d or d_steps", "instance noise", "spectral norm"],
    ),
    ("d_overpowers", "wgan", "label smoothing", ["d_steps", "n_critic", "lower clip_value", "wgan-gp"]),
    ("d_overpowers", "wgan-gp", "label smoothing", ["d_steps", "n_critic", "raise gp_weight"]),
    ("d_leads", "hinge", "label smoothing", ["lower lr_d", "instance noise"]),
    ("d_leads", "wgan", "label smoothing", ["lower lr_d", "n_critic", "lower clip_value"]),
    ("d_leads", "wgan-gp", "label smoothing", ["lower lr_d", "n_critic", "raise gp_weight"]),
    ("g_overpowers", "wgan", "label smoothing", ["raise d_steps", "n_critic", "clip_value"]),
    ("g_overpowers", "wgan-gp", "label smoothing", ["raise d_steps", "n_critic", "gp_weight"]),
    ("vanishing_gradients", "nonsaturating", "non-saturating loss", ["lower lr_d", "label smoothing"]),
    ("vanishing_gradients", "lsgan", "non-saturating loss", ["lower lr_d", "label smoothing"]),
    ("vanishing_gradients", "hinge", "non-saturating loss", ["lower lr_d", "instance noise"]),
    ("vanishing_gradients", "hinge", "label smoothing", ["lower lr_d", "instance noise"]),
    ("vanishing_gradients", "wgan", "non-saturating loss", ["raise clip_value", "switch to wgan-gp"]),
    ("vanishing_gradients", "wgan", "label smoothing", ["raise clip_value", "switch to wgan-gp"]),
    ("vanishing_gradients", "wgan-gp", "non-saturating loss", ["gp_weight", "n_critic", "lower lr_d"]),
    ("vanishing_gradients", "wgan-gp", "label smoothing", ["gp_weight", "n_critic", "lower lr_d"]),
    (
        "exploding_gradients",
        "wgan",
        "use wgan-gp or spectral norm",
        ["lower the learning rates or clip_value"],
    ),
    ("exploding_gradients", "wgan-gp", "wgan-gp", ["lower the learning rates", "raise gp_weight"]),
    ("mode_collapse", "wgan-gp", "wgan-gp", ["lower learning rate", "n_critic"]),
    ("diverged", "wgan", "wgan-gp or spectral norm help", ["clip_value", "wgan-gp is more stable"]),
    ("diverged", "wgan-gp", "wgan-gp", ["lower the learning rates", "gp_weight", "beta1"]),
]


@pytest.mark.parametrize(("flag", "loss", "inapplicable", "applicable"), CHANGED)
def test_a_suggestion_names_the_remedies_of_the_runs_loss(flag, loss, inapplicable, applicable):
    suggestion = FLAGS[flag].suggestion_for(LOSSES[loss]).lower()
    assert inapplicable not in suggestion
    for remedy in applicable:
        assert remedy in suggestion


@pytest.mark.parametrize("flag", ["d_overpowers", "d_leads", "vanishing_gradients"])
def test_label_smoothing_is_suggested_exactly_where_the_loss_smooths(flag):
    for loss in LOSSES.values():
        assert ("label smoothing" in FLAGS[flag].suggestion_for(loss)) == loss.uses_label_smoothing, loss.name


def test_the_non_saturating_loss_is_suggested_only_for_the_saturating_one():
    said = {
        name
        for name, loss in LOSSES.items()
        if "non-saturating" in FLAGS["vanishing_gradients"].suggestion_for(loss)
    }
    assert said == {name for name, loss in LOSSES.items() if loss.saturating_g} == {"minimax"}
    assert "wgan-gp" not in FLAGS["vanishing_gradients"].suggestion_for(LOSSES["minimax"])


def test_no_loss_is_told_to_switch_to_itself():
    for flag, info in FLAGS.items():
        for name in ("wgan-gp", "wgan"):
            text = info.suggestion_for(LOSSES[name])
            assert f"use {name} " not in text and f"try {name}," not in text.lower(), (flag, name)


def test_the_flags_module_asks_the_loss_and_never_tests_its_name():
    source = Path(gan_core.flags.__file__).read_text()
    for name in LOSSES:
        assert f'"{name}"' not in source and f"'{name}'" not in source


def test_equilibrium_waits_for_an_evaluation_that_says_the_samples_are_good():
    # Balanced accuracies alone are not equilibrium: a G collapsed onto one mode fools D as well
    # (measured: the mode-collapse preset raised it at steps 1,093-2,496 with 0-1 modes covered).
    monitor = FlagMonitor(coverage_total=8)
    assert feed(monitor, record(), BALANCE_WARMUP_STEPS + 2 * HOLD_STEPS) == []  # no evaluation yet
    monitor.update_eval({"modes_covered": 1.0, "hq_pct": 1.7})  # balanced, but collapsed
    assert monitor.quality_poor and feed(monitor, record(), 2 * HOLD_STEPS) == []
    monitor.update_eval(GOOD_EVAL)
    events = feed(monitor, record(), 2 * HOLD_STEPS)
    assert [(i, n, up) for i, n, up in events] == [(HOLD_STEPS - 1, "equilibrium", True)]


@pytest.mark.parametrize(
    "poor",
    [
        # (below the floors made laxer while equilibrium is up: `QUALITY_KEEP_SHARE`)
        {"modes_covered": 3.0, "hq_pct": 90.0},  # under half of 8 modes
        {"modes_covered": 8.0, "hq_pct": 40.0},  # most points between the modes
        {"classes_covered": 4.0, "diversity": 0.9},  # under half of 10 classes
        {"classes_covered": 10.0, "diversity": 0.4},  # the grid's samples nearly alike
    ],
)
def test_a_poor_evaluation_clears_equilibrium_at_once(poor):
    total = 10 if "classes_covered" in poor else 8
    monitor = evaluated(FlagMonitor(coverage_total=total), {k: v + 100 for k, v in poor.items()})
    feed(monitor, record(), BALANCE_WARMUP_STEPS + HOLD_STEPS)
    assert monitor.active == {"equilibrium"}
    assert monitor.update_eval(poor) == [("equilibrium", False)]  # no hysteresis: the samples say so
    assert feed(monitor, record(), 3 * HOLD_STEPS) == [] and monitor.active == set()


def test_an_evaluation_just_under_a_floor_keeps_equilibrium_up_but_does_not_raise_it():
    """healthy-grid25 raised equilibrium at step 7,821, cleared it at 8,000 on hq_pct 48.5 (floor 50) and
    raised it again at 8,600: its banner blinked on one evaluation's noise."""
    near = {"modes_covered": 25.0, "hq_pct": 48.5, "grid_js": 0.3}
    monitor = evaluated(FlagMonitor(coverage_total=25), {**near, "hq_pct": 70.0})
    feed(monitor, record(), BALANCE_WARMUP_STEPS + HOLD_STEPS)
    assert monitor.active == {"equilibrium"}
    assert monitor.update_eval(near) == [] and monitor.active == {"equilibrium"}  # kept
    assert feed(monitor, record(), 2 * HOLD_STEPS) == [] and monitor.active == {"equilibrium"}
    assert monitor.update_eval({**near, "hq_pct": 44.0}) == [("equilibrium", False)]  # past the laxer floor
    # not up: the same evaluation does not raise it
    fresh = evaluated(FlagMonitor(coverage_total=25), near)
    assert feed(fresh, record(), BALANCE_WARMUP_STEPS + 3 * HOLD_STEPS) == [] and fresh.active == set()
    assert quality_poor(near, 25) and not quality_poor(near, 25, keep=True)


def test_an_equilibrium_cleared_for_its_calm_is_raised_again_against_the_floors_themselves():
    """A reviewer's sequence: equilibrium up, an evaluation just under a floor keeps it, D's accuracies
    then leave the calm band (cleared), and back in it, with no new evaluation, it was raised again on the
    laxer floors' verdict."""
    near = {"modes_covered": 25.0, "hq_pct": 48.5, "grid_js": 0.3}
    monitor = evaluated(FlagMonitor(coverage_total=25), {**near, "hq_pct": 70.0})
    feed(monitor, record(), BALANCE_WARMUP_STEPS + HOLD_STEPS)
    assert monitor.update_eval(near) == [] and monitor.active == {"equilibrium"}
    events = feed(monitor, record(acc_real=0.8, acc_fake=0.8), 3 * HOLD_STEPS)
    assert ("equilibrium", False) in [(n, up) for _, n, up in events]
    assert feed(monitor, record(), 3 * HOLD_STEPS) == [] and "equilibrium" not in monitor.active
    monitor.update_eval({**near, "hq_pct": 70.0})  # a good evaluation: raised again
    assert [(n, up) for _, n, up in feed(monitor, record(), 2 * HOLD_STEPS)] == [("equilibrium", True)]
    assert quality_poor({"grid_js": 0.46}, None) and not quality_poor({"grid_js": 0.46}, None, keep=True)


def test_quality_poor_reads_only_what_was_measured():
    assert not quality_poor({}, 8)
    assert not quality_poor({"modes_covered": math.nan, "hq_pct": math.nan, "diversity": 0.5}, 8)
    assert quality_poor({"modes_covered": 3.9}, 8) and not quality_poor({"modes_covered": 4.0}, 8)
    assert not quality_poor({"modes_covered": 0.0}, None)  # data without modes: coverage says nothing
    assert quality_poor({"diversity": 0.49}, None) and not quality_poor({"diversity": 0.5}, None)
    assert quality_poor({"hq_pct": 49.9}, 25) and not quality_poor({"hq_pct": 50.0}, 25)


def test_a_failed_evaluation_keeps_the_last_verdict():
    monitor = evaluated(FlagMonitor(coverage_total=8))
    monitor.update_eval({})  # the runner feeds {} when the measurement raised
    assert monitor.evaluated and not monitor.quality_poor


def test_d_leads_is_raised_for_the_default_digits_signature_and_is_not_a_failure():
    # The default digits run's last 1,000 steps: D right on 96% of fakes and 81% of reals, D(x) 0.59,
    # D(G(z)) 0.41. Not d_overpowers (needs both above 95%), not equilibrium: D leads.
    assert "d_leads" not in FAILURE_FLAGS and FLAGS["d_leads"].severity == "watch"
    monitor = evaluated(FlagMonitor(coverage_total=10), {"classes_covered": 10.0, "diversity": 0.87})
    events = feed(monitor, record(0.81, 0.96, 0.59, 0.41), BALANCE_WARMUP_STEPS + 3 * HOLD_STEPS)
    assert [(n, up) for _, n, up in events] == [("d_leads", True)]
    assert events[0][0] == BALANCE_WARMUP_STEPS + HOLD_STEPS - 1  # (constant input: the EMA is exact)
    # back to balance: cleared after the hold, then equilibrium
    events = feed(monitor, record(), 4 * HOLD_STEPS)
    assert [n for _, n, up in events if not up] == ["d_leads"] and monitor.active == {"equilibrium"}


@pytest.mark.parametrize("side", ["real", "fake"])
def test_d_leads_on_either_side_only_above_its_threshold(side):
    def leads(accuracy):
        monitor = FlagMonitor()
        values = {"acc_real": 0.5, "acc_fake": 0.5, f"acc_{side}": accuracy}
        feed(monitor, record(**values), BALANCE_WARMUP_STEPS + 2 * HOLD_STEPS)
        return "d_leads" in monitor.active

    assert leads(LEAD_ACCURACY + 0.02) and not leads(LEAD_ACCURACY - 0.02)


def test_d_overpowers_supersedes_d_leads():
    monitor = FlagMonitor()
    events = feed(monitor, record(0.6, 0.9, 0.6, 0.3), BALANCE_WARMUP_STEPS + 2 * HOLD_STEPS)  # D ahead
    events += feed(monitor, record(1.0, 1.0, 0.99, 0.01), 3 * HOLD_STEPS)  # then near-perfect
    changes = [(n, up) for _, n, up in events]
    assert changes == [("d_leads", True), ("d_overpowers", True), ("d_leads", False)]
    assert monitor.active == {"d_overpowers"}


def test_g_overpowers_leaves_no_d_leads_beside_it():
    # D sure of the reals and calling most fakes real: it calls everything real, G is ahead, not D (two
    # banners, "D is clearly ahead" and "G is outrunning D", said both at once)
    monitor = FlagMonitor()
    events = feed(monitor, record(0.6, 0.9, 0.6, 0.3), BALANCE_WARMUP_STEPS + 2 * HOLD_STEPS)  # D ahead
    events += feed(monitor, record(1.0, 0.2, 0.99, 0.8), 3 * HOLD_STEPS)  # then everything called real
    changes = [(n, up) for _, n, up in events]
    assert changes == [("d_leads", True), ("g_overpowers", True), ("d_leads", False)]
    assert monitor.active == {"g_overpowers"}


@pytest.mark.parametrize(("acc_real", "up"), [(0.0, False), (0.15, False), (0.25, True), (0.5, True)])
def test_a_d_that_catches_every_fake_by_calling_the_reals_fake_too_does_not_lead(acc_real, up):
    """A review: a hinge run on ring8 whose D could not tell (D(x) and D(G(z)) both near -0.5, its loss
    flat at 2) read d_acc_real 0 and d_acc_fake 1, and said "D is clearly ahead" for 1,000 steps."""
    monitor = FlagMonitor(midpoint=None)  # (hinge's raw scores: no midpoint)
    feed(monitor, record(acc_real, 1.0, -0.5, -0.5), BALANCE_WARMUP_STEPS + 2 * HOLD_STEPS)
    assert ("d_leads" in monitor.active) is up
    assert monitor.active <= {"d_leads"}


def test_d_leads_once_up_is_cleared_when_its_mean_falls_to_chance():
    monitor = FlagMonitor()
    feed(monitor, record(0.5, 0.9), BALANCE_WARMUP_STEPS + 2 * HOLD_STEPS)
    assert "d_leads" in monitor.active
    assert feed(monitor, record(0.2, 0.95), 20 * HOLD_STEPS) == []  # mean 0.575: kept
    events = feed(monitor, record(0.1, 0.95), 20 * HOLD_STEPS)  # 0.525
    assert [(n, up) for _, n, up in events] == [("d_leads", False)]


def test_monitor_state_round_trips_the_quality_verdict():
    monitor = evaluated(FlagMonitor(coverage_total=8), {"modes_covered": 1.0})
    restored = FlagMonitor(coverage_total=8)
    restored.load_state_dict(monitor.state_dict())
    assert restored.evaluated and restored.quality_poor


def balanced_after(metrics, coverage_total=None):
    """The monitor of a run with D balanced past the warm-up and its hold, after one evaluation."""
    monitor = evaluated(FlagMonitor(coverage_total=coverage_total), metrics)
    feed(monitor, record(), BALANCE_WARMUP_STEPS + 2 * HOLD_STEPS)
    return monitor


@pytest.mark.parametrize(
    "metrics, up",
    [
        # a user's own 2D points (no modes to count): grid_js alone judges the samples. 0.6745 is the
        # reviewer's blob G at step 500; 0.20 what healthy ring8/moons runs read (QUALITY_GRID_JS's note)
        ({"grid_kl": 5.1, "grid_js": 0.6745}, False),
        ({"grid_kl": 0.4, "grid_js": 0.20}, True),
        ({"grid_js": QUALITY_GRID_JS + 0.01}, False),
        ({"grid_js": QUALITY_GRID_JS - 0.01}, True),
        # metrics without a quality floor say nothing: no equilibrium on them alone
        ({"fid": 12.0}, False),
        ({"fd_cls": 1.5, "kid_cls": 0.001}, False),
        ({"mode_kl": 0.01, "modes_covered": 8.0}, False),  # coverage of data whose modes are not known
    ],
)
def test_equilibrium_only_on_an_evaluation_that_judged_the_samples_good(metrics, up):
    monitor = balanced_after(metrics)
    assert ("equilibrium" in monitor.active) is up and ("equilibrium" in monitor.raised) is up


def test_ring8_grid_js_of_a_collapsed_g_is_poor_even_beside_good_coverage_figures():
    # the floors are each enough: a good hq_pct does not outvote a grid_js of no overlap
    assert quality_poor({"modes_covered": 8.0, "hq_pct": 85.0, "grid_js": 0.60}, 8)
    assert not quality_poor({"modes_covered": 8.0, "hq_pct": 85.0, "grid_js": 0.30}, 8)


def test_quality_judged_names_what_quality_poor_reads():
    assert quality_judged({"grid_js": 0.3}, None) and quality_judged({"diversity": 0.9}, None)
    assert quality_judged({"hq_pct": 80.0}, 8) and quality_judged({"classes_covered": 10.0}, 10)
    assert not quality_judged({}, 8) and not quality_judged({"grid_js": math.nan, "fid": 3.0}, None)
    assert not quality_judged({"fid": 3.0, "kid": 0.01, "fd_cls": 1.0, "mode_kl": 0.1}, 8)
    assert not quality_judged({"modes_covered": 8.0}, None)  # no total: coverage cannot be judged


def test_an_evaluation_without_a_quality_floor_clears_equilibrium_at_once():
    monitor = balanced_after({"grid_js": 0.2})
    assert monitor.active == {"equilibrium"}
    assert monitor.update_eval({"fid": 20.0}) == [("equilibrium", False)]
    assert feed(monitor, record(), 3 * HOLD_STEPS) == []
    # a failed measurement ({}) keeps that verdict; the next judged-good evaluation brings it back
    monitor.update_eval({})
    assert feed(monitor, record(), 2 * HOLD_STEPS) == []
    monitor.update_eval({"grid_js": 0.2})
    assert [(n, up) for _, n, up in feed(monitor, record(), 2 * HOLD_STEPS)] == [("equilibrium", True)]


@pytest.mark.parametrize(
    "last_eval, up", [({"grid_js": 0.6745}, False), ({"fid": 12.0}, False), ({"grid_js": 0.2}, True)]
)
def test_resumed_runs_follow_the_same_rule(last_eval, up):
    # a checkpointed monitor (Runner: state_dict) and one rebuilt from a tracked run's files
    # (resume_from_records), both fed balanced steps after the resume
    original = evaluated(FlagMonitor(), last_eval)
    from_checkpoint = FlagMonitor()
    from_checkpoint.load_state_dict(original.state_dict())
    from_records = FlagMonitor()
    from_records.resume_from_records(
        5000, [], [], {}, {**dict.fromkeys(("modes_covered", "hq_pct"), math.nan), **last_eval}
    )
    for monitor in (from_checkpoint, from_records):
        monitor.steps_seen = max(monitor.steps_seen, BALANCE_WARMUP_STEPS)
        feed(monitor, record(), 2 * HOLD_STEPS)
        assert ("equilibrium" in monitor.active) is up


def banner_of(runs_root, run_id: str, flag: str, **config) -> str:
    """The Train view's banner of ``flag`` on a finished run of ``config`` whose status.json says it is up."""
    from gan_core.rundir import RunDir
    from tests.test_app import app, finished_run

    finished_run(runs_root, run_id, **config)
    edited = RunDir.open(runs_root, run_id).claim("editing it by hand")
    edited.write_status({"flags": [flag], "flags_raised": [flag]})
    edited.release()
    at = app()
    at.session_state["run_id"] = run_id
    at.run()
    (banner,) = [w.value for w in [*at.info, *at.warning] if w.value.startswith(f"**{flag}**")]
    return banner


def test_the_train_views_banner_suggests_for_the_runs_loss(runs_root):
    # A wgan-gp run told to smooth its labels (which the Wasserstein losses ignore) was the reviewer's find.
    banner = banner_of(runs_root, "critic", "d_leads", loss="wgan-gp")
    assert banner.startswith("**d_leads** (up when the run ended) — D is clearly ahead")  # (finished)
    assert f"*Suggestion:* {FLAGS['d_leads'].suggestion_for(LOSSES['wgan-gp'])}" in banner
    assert "gp_weight" in banner and "label smoothing" not in banner


def test_equilibrium_once_up_stays_within_a_wider_band_and_clears_beyond_it():
    """Hysteresis in value (`flags.KEEP_MARGIN`): raised within accuracies 0.35-0.65 and outputs 0.3-0.7, kept
    within 0.30-0.70 and 0.25-0.75 (an open-ended digits run's accuracies sat at 0.64-0.65 for 12,000 steps
    and equilibrium, cleared at 0.65, was raised and cleared 11 times)."""
    near = {"acc_real": 0.32, "acc_fake": 0.68, "d_real": 0.73, "d_fake": 0.27}  # in the wide band only
    fresh = evaluated(FlagMonitor(coverage_total=8))
    feed(fresh, record(**near), BALANCE_WARMUP_STEPS + 20 * HOLD_STEPS)
    assert "equilibrium" not in fresh.active  # not raised there
    monitor = evaluated(FlagMonitor(coverage_total=8))
    feed(monitor, record(), BALANCE_WARMUP_STEPS + 2 * HOLD_STEPS)
    assert monitor.active == {"equilibrium"}
    assert feed(monitor, record(**near), 20 * HOLD_STEPS) == []  # kept there, however long
    for beyond in ({"acc_real": 0.28}, {"acc_fake": 0.72}, {"d_real": 0.77}, {"d_fake": 0.23}):
        kept = evaluated(FlagMonitor(coverage_total=8))
        feed(kept, record(), BALANCE_WARMUP_STEPS + 2 * HOLD_STEPS)
        events = feed(kept, record(**{**near, **beyond}), 20 * HOLD_STEPS)
        assert ("equilibrium", False) in [(n, up) for _, n, up in events], beyond


def test_d_leads_once_up_stays_above_its_lower_bound():
    """d_leads is raised above `LEAD_ACCURACY` (0.8) and kept above 0.75."""
    fresh = FlagMonitor()
    feed(fresh, record(acc_fake=0.78), BALANCE_WARMUP_STEPS + 20 * HOLD_STEPS)
    assert "d_leads" not in fresh.active
    monitor = FlagMonitor()
    feed(monitor, record(acc_fake=0.85), BALANCE_WARMUP_STEPS + 2 * HOLD_STEPS)
    assert "d_leads" in monitor.active
    assert feed(monitor, record(acc_fake=0.78), 20 * HOLD_STEPS) == []
    events = feed(monitor, record(acc_fake=0.73), 20 * HOLD_STEPS)
    assert [(n, up) for _, n, up in events] == [("d_leads", False)]


def test_the_modules_threshold_text_the_guide_shows_says_its_constants():
    """The Guide prints this module's docstring from "Thresholds" on: each number in it is its constant's
    (a threshold changed in code and not in words would teach students another flag)."""
    from gan_core import flags as f

    doc = f.__doc__
    low, high = f.CALM_ACCURACY
    said = [
        f"both above {f.D_OVERPOWERS_ACCURACY:g}",
        f"d_acc_fake below {f.G_OVERPOWERS_ACCURACY:g} (",
        f"below {f.VANISHING_SHARE:.0%} of its peak",
        f"smoothed accuracies above {f.VANISHING_ACCURACY:g})",
        f"above {f.EXPLODING_NORM:g} (the warning sign",
        f"for {f.EXPLODING_RAISE_STEPS} steps,",
        f"{f.HOLD_STEPS} steps in a row below {f.EXPLODING_NORM:g}",
        f"at most {f.COLLAPSE_FLOORS['modes_covered']:g}, or diversity at most half its best or at most "
        f"{f.COLLAPSE_FLOORS['diversity']:g}",
        f"judged from step {f.COLLAPSE_WARMUP_STEPS:,}",
        f"d_acc_fake above {f.LEAD_ACCURACY:g}, with",
        f"either\n  accuracy is above {f.LEAD_ACCURACY - f.KEEP_MARGIN:g}",
        f"with their mean above\n  {f.LEAD_MEAN_ACCURACY:g}",
        f"their mean above {f.LEAD_MEAN_ACCURACY - f.KEEP_MARGIN:g}.",
        f"within {low:g}-{high:g} and",
        f"within {f.CALM_OUTPUT:g} of the loss's midpoint ({0.5 - f.CALM_OUTPUT:g}-{0.5 + f.CALM_OUTPUT:g}",
        f"``hq_pct`` at least {f.QUALITY_HQ_PCT:g}",
        f"``diversity`` at\n  least {f.QUALITY_DIVERSITY:g}",
        f"at most {f.QUALITY_GRID_JS:g} where",
        f"accuracies are within {low - f.KEEP_MARGIN:.2f}-{high + f.KEEP_MARGIN:.2f} and the outputs",
        f"{f.CALM_OUTPUT + f.KEEP_MARGIN:g} of the midpoint (and the other",
        f"within a band {f.KEEP_MARGIN:g} wider",
    ]
    missing = [text for text in said if text not in doc]
    assert missing == [], missing


def test_d_overpowers_says_what_it_means_for_gs_loss():
    """A review (a student on the vanishing-gradients preset): d_overpowers' banner said G was pushed
    "however hard", beside vanishing_gradients' "G has stopped learning": true of the non-saturating loss,
    not of the saturating minimax, whose G gets almost no gradient where D is sure."""
    info = FLAGS["d_overpowers"]
    starved = info.explanation_for(LOSSES["minimax"])
    assert "saturating loss" in starved and "vanishing_gradients" in starved and "however hard" not in starved
    for name in ("nonsaturating", "lsgan", "hinge", "wgan-gp"):
        assert info.explanation_for(LOSSES[name]) == info.explanation and "however hard" in info.explanation
    assert info.explanation_for(None) == info.explanation
    assert FLAGS["mode_collapse"].explanation_for(LOSSES["minimax"]) == FLAGS["mode_collapse"].explanation


def test_a_conditional_runs_mode_collapse_suggests_mode_seeking_not_the_toy_datas_cures():
    """A conditional G collapses inside its classes; the banner said "give G a small latent_dim (2 for
    ring8)" where the cure is ms_weight (a review on an acgan digits run)."""
    info = FLAGS["mode_collapse"]
    plain = info.suggestion_for(LOSSES["nonsaturating"])
    assert "latent_dim" in plain and "ms_weight" not in plain and "MSGAN" not in plain
    unset = info.suggestion_for(LOSSES["nonsaturating"], conditional=True, ms_weight=0.0)
    assert "ms_weight 0.1" in unset and "latent_dim" not in unset and "new run" in unset
    raised = info.suggestion_for(LOSSES["nonsaturating"], conditional=True, ms_weight=0.05)
    assert raised.startswith("Raise ms_weight (now 0.05;")
    own_loop = info.suggestion_for(None, conditional=True)  # a user's loop: no ms_weight setting to name
    assert "MSGAN" in own_loop and "ms_weight" not in own_loop
    # the other flags' suggestions do not change with conditioning
    for name, flag in FLAGS.items():
        if name != "mode_collapse":
            assert flag.suggestion_for(LOSSES["hinge"], conditional=True) == flag.suggestion_for(
                LOSSES["hinge"]
            )


def test_the_train_views_mode_collapse_banner_on_a_conditional_run_names_ms_weight(runs_root):
    banner = banner_of(runs_root, "cond", "mode_collapse", dataset="digits", conditioning="acgan", steps=4)
    assert banner.endswith(FLAGS["mode_collapse"].suggestion_for(None, conditional=True, ms_weight=0.0))


def test_a_watch_flags_suggestion_defers_to_the_failures_up_beside_it(runs_root):
    """A newcomer lowered lr_d below lr_g: d_leads said lower lr_d while mode_collapse said lr_g no higher
    than lr_d. A flag to watch now names the failures whose banners (above it) come first."""
    assert failures_first("d_leads", ["mode_collapse", "d_overpowers", "d_leads", "flag_of_v9"]) == [
        "mode_collapse",
        "d_overpowers",
    ]
    assert failures_first("equilibrium", ["diverged", "equilibrium"]) == ["diverged"]
    assert failures_first("mode_collapse", ["mode_collapse", "d_overpowers"]) == []  # a failure's own
    assert failures_first("d_leads", ["d_leads", "equilibrium"]) == []
    assert failures_first("flag_of_v9", ["diverged"]) == []
    from gan_core.rundir import RunDir
    from tests.test_app import app, finished_run

    finished_run(runs_root, "both")
    edited = RunDir.open(runs_root, "both").claim("editing it by hand")
    edited.write_status({"flags": ["d_leads", "mode_collapse"], "flags_raised": ["d_leads", "mode_collapse"]})
    edited.release()
    at = app()
    at.session_state["run_id"] = "both"
    at.run()
    assert not at.exception
    banners = [w.value for w in [*at.warning, *at.info] if w.value.startswith("**")]
    (watch,) = [b for b in banners if b.startswith("**d_leads**")]
    (failure,) = [b for b in banners if b.startswith("**mode_collapse**")]
    assert watch.endswith(" With mode_collapse up, act on its suggestion first.")
    assert "act on" not in failure
    edited = RunDir.open(runs_root, "both").claim("editing it by hand")
    three = ["d_leads", "mode_collapse", "d_overpowers", "vanishing_gradients"]
    edited.write_status({"flags": three, "flags_raised": three})
    edited.release()
    at.run()
    (watch,) = [w.value for w in [*at.warning, *at.info] if w.value.startswith("**d_leads**")]
    assert watch.endswith(
        " With d_overpowers, vanishing_gradients and mode_collapse up, act on their suggestions first."
    )
