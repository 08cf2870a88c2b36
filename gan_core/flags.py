"""Failure flags: the run watches itself and says when it is failing — flag, never auto-correct.

`FlagMonitor` reads each step's record (and each evaluation's quality metrics) and raises or clears
named flags. Signals are smoothed with an exponential moving average over about `SMOOTH_STEPS` steps,
and a flag changes only after its condition has held (or failed) for `HOLD_STEPS` consecutive steps
(`HOLD_EVALS` evaluations for coverage flags): hysteresis, so flags do not flicker. The one exception
is by design: ``exploding_gradients`` is raised after `EXPLODING_RAISE_STEPS` (its clearing waits the
full `HOLD_STEPS`). ``equilibrium`` and ``d_leads``, whose measures a healthy run can hold at their
bounds for thousands of steps, also have hysteresis in value (`KEEP_MARGIN`): once up, they stay up
within a band 0.05 wider than the one that raised them.

Thresholds (the Guide page shows the same):

- ``d_overpowers``: smoothed d_acc_real and d_acc_fake both above 0.95.
- ``g_overpowers``: smoothed d_acc_fake below 0.35 (D calls most fakes real, well below chance).
- ``vanishing_gradients``: smoothed g_grad_norm below 5% of its peak while D is near-perfect (both
  smoothed accuracies above 0.9).
- ``exploding_gradients``: d_grad_norm or g_grad_norm above 100 (the warning sign of "GAN hacks", a widely
  shared list of GAN training tips) for 5 steps,
  unsmoothed, so the warning comes before a NaN ends the run; cleared, like the other flags, only after
  100 steps in a row below 100.
- ``mode_collapse``: modes or classes covered at most half the best seen so far, at most half the data's
  (``coverage_total``, where known) or at most 2, or diversity at most half its best or at most 0.2;
  judged from step 2,000 (below).
- ``diverged``: a NaN or Inf in a loss or gradient norm: immediate, never cleared; the run stops as
  failed.
- ``d_leads`` (watch, not a failure): smoothed d_acc_real or d_acc_fake above 0.8, with their mean above
  0.6, while neither ``d_overpowers`` nor ``g_overpowers`` is up (a D sure of the reals that calls most
  fakes real too is not ahead: it calls everything real; nor is one that catches every fake by calling the
  reals fake too, its mean near chance, as a hinge D that cannot tell does, both outputs at one offset
  below 0): D is clearly ahead on at least one side (it catches most fakes, or is sure of the reals) but
  G still gets a signal. Common on the default digits run, whose D ends catching about 97% of fakes; it
  becomes ``d_overpowers`` when D is near-perfect on both sides. Once up, it stays up while either
  accuracy is above 0.75 and their mean above 0.55.
- ``equilibrium`` (healthy): smoothed accuracies within 0.35-0.65 and, for probability outputs, D(x) and
  D(G(z)) within 0.2 of the loss's midpoint (0.3-0.7; t/2 ± 0.2 under label smoothing with real target t,
  where a D that cannot tell outputs t/2), with no failure flag up, and only while the last evaluation said
  the samples are good: coverage at least half the modes or classes, ``hq_pct`` at least 50, ``diversity`` at
  least 0.5, ``grid_js`` (2D data) at most 0.45 where they are measured, and at least one of them measured (an
  evaluation of only fid / kid or fd_cls says nothing of the sort). A collapsed G can fool D as well as a good
  one does (D's accuracy near 50% on one mode), so balance alone is not equilibrium; nor is it before the
  first evaluation. Once up, it stays up while the accuracies are within 0.30-0.70 and the outputs within
  0.25 of the midpoint (and the other conditions hold).

Two warm-ups keep the start of training from reading as failure:

- The flags about the balance of G and D (``d_overpowers``, ``g_overpowers``, ``vanishing_gradients``,
  ``d_leads`` and ``equilibrium``) are judged only after the first 200 steps. At first D's verdict is
  arbitrary: it calls every fake real (or every fake fake) until it has learned something, which on the
  default digits can take D nearly 200 steps and would otherwise read as ``g_overpowers``.
- ``mode_collapse`` is judged from step 2,000 on. G starts from noise, and a G that has not yet found
  the modes covers few of them without having collapsed onto any: a healthy ring8 run can sit at 0-3
  modes for its first thousand steps. The most modes G covered counts from the start, so coverage lost
  after step 2,000 is still caught. The flag is raised at the second collapsed evaluation in a row, so
  its marker sits on that evaluation.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gan_core.quoting import quoted

if TYPE_CHECKING:  # (the losses import torch; the flags need only their answers)
    from gan_core.losses import GANLoss

SMOOTH_STEPS = 50
HOLD_STEPS = 100
HOLD_EVALS = 2
EXPLODING_NORM = 100.0
# Raw norms, not smoothed: a norm above 100 is a warning worth giving within a few steps, before a NaN
# ends the run. Clearing it still takes HOLD_STEPS calm steps: norms that swing above and below 100
# (the divergence preset's do) would otherwise raise and clear it every few steps.
EXPLODING_RAISE_STEPS = 5
# The warm-ups the docstring describes. Balance: on the default digits D took up to 187 steps to learn
# anything (40 seeds, widths 64 and 128), which read as g_overpowers at step 100 without it.
BALANCE_WARMUP_STEPS = 200
COLLAPSE_WARMUP_STEPS = 2000
# What `update_eval` judges collapse by, each with the floor at or under which it is collapse whatever its
# best: the modes or classes covered, and the samples' diversity (`diagnostics.diversity`).
COLLAPSE_FLOORS = {"modes_covered": 2.0, "classes_covered": 2.0, "diversity": 0.2}
# ... and, where the data's modes or classes are known (``coverage_total``), at or under this share of them:
# a G that never covered more than 3 of ring8's 8 modes was never "half its best" below itself, and went
# unflagged for a whole run whose 2D view showed three clusters
COLLAPSE_COVERAGE_SHARE = 0.5


# What a divergence is judged on: a NaN or infinity in one of them, measured at its step, raises `diverged`.
DIVERGENCE_COLUMNS = ("d_loss", "g_loss", "d_grad_norm", "g_grad_norm")
# Quality floors for `equilibrium` (see `quality_poor`): below any of them, the samples are not good.
QUALITY_COVERAGE_FRACTION = 0.5  # of the modes (ring8 8, grid25 25) or classes (10)
QUALITY_HQ_PCT = 50.0  # % of generated points within 3 std of a mode
QUALITY_DIVERSITY = 0.5  # generated spread over real spread
# grid_js (2D data, nats, 0 = matches, ln 2 = 0.693 no overlap) above this: the samples are not good. The one
# floor a user's own 2D points have (no modes to count). Measured (`Trainer` + `Evaluator` driven directly,
# torch on 1 thread, an evaluation every 500 steps, seeds 0-1): healthy-ring8 0.13-0.24 once it covers the
# 8 modes with hq_pct >= 50 (steps 2,500-8,000), healthy-grid25 0.23-0.36 once hq_pct >= 50 (25 or 23-24 of
# 25 modes, steps 5,000-10,000); the ring8 recipe on moons and spiral 0.14-0.30 from step 1,500, on
# gaussian 0.16-0.47 (one evaluation at 0.47 mid-run); a perfect G (a second real sample) 0.001-0.07.
# Collapsed or blob G (the mode-collapse preset, steps 500-4,000): ring8 0.556-0.693 (1 mode or none),
# on moons 0.656-0.693, on gaussian 0.547-0.693; an untrained G 0.65-0.69. 0.45 sits 0.09 above the worst
# healthy ring8/grid25 evaluation that passes the other floors and 0.10 under the best collapsed one.
QUALITY_GRID_JS = 0.45
# What `quality_poor` judges: an evaluation that measured none of these says nothing about the samples.
QUALITY_METRICS = ("modes_covered", "classes_covered", "hq_pct", "diversity", "grid_js")
LEAD_ACCURACY = 0.8  # `d_leads`: smoothed accuracy on one side above this ...
# ... and the two sides' mean above this: a D that catches every fake by calling the reals fake too is no
# D ahead (a review: a hinge run on ring8, D(x) and D(G(z)) both near -0.5, d_acc_real 0 and d_acc_fake 1,
# said "D is clearly ahead" for 1,000 steps; hinge's D loss is flat at 2 for any one offset in [-1, 1])
LEAD_MEAN_ACCURACY = 0.6
D_OVERPOWERS_ACCURACY = 0.95  # `d_overpowers`: both smoothed accuracies above this
G_OVERPOWERS_ACCURACY = 0.35  # `g_overpowers`: smoothed d_acc_fake below this (well below chance)
VANISHING_ACCURACY = 0.9  # `vanishing_gradients`: both smoothed accuracies above this ...
VANISHING_SHARE = 0.05  # ... and smoothed g_grad_norm below this share of its peak
# `equilibrium`'s calm: D's smoothed outputs within this of the midpoint (0.5 ± 0.2; t/2 ± 0.2 under label
# smoothing, where a D that cannot tell outputs t/2: Salimans et al. 2016, §3.4)
CALM_OUTPUT = 0.2
CALM_ACCURACY = (0.35, 0.65)  # `equilibrium`'s calm: both smoothed accuracies within this (chance ± 0.15)
# Hysteresis in value as well as in time (a Schmitt trigger): `equilibrium` and `d_leads`, once up, stay up
# while their measures are within this much further of their bounds (accuracies 0.30-0.70, outputs
# midpoint ± 0.25; d_leads' accuracy above 0.75). A healthy run's smoothed accuracies can sit at a bound for
# thousands of steps (a default digits run, open-ended: 0.640 and 0.645 on average over steps 64k-76k, a
# third of the steps above 0.65), and the hold alone (`HOLD_STEPS`, under a second at 170 steps/s) let
# equilibrium be raised and cleared 11 times in 15,000 steps there: a banner that blinked, a comb of markers.
KEEP_MARGIN = 0.05
# ... and its quality floors, laxer by this share while it is up (`quality_poor`'s ``keep``): healthy-grid25
# (seed 0, as trained then) raised it at step 7,821, cleared it at 8,000 on hq_pct 48.5 against 50, and raised
# it again at 8,600 (a 2026-12-06 review); an evaluation's hq_pct moves by a few points from one to the next.
QUALITY_KEEP_SHARE = 0.1
SEVERITIES = ("failure", "watch", "healthy")


@dataclass(frozen=True)
class FlagInfo:
    """What a flag means. ``severity``: ``failure`` (training is failing; drawn red, a warning banner),
    ``watch`` (worth knowing, not a failure: blue, an info banner) or ``healthy`` (green).

    ``suggestion`` is the remedy in words for a run whose loss is unknown (a user's loop that named none)
    and the Guide's table; ``by_loss``, where the remedies depend on the objective, gives the text for a
    known one: use `suggestion_for`, the one place a banner's suggestion is chosen."""

    explanation: str
    suggestion: str
    severity: str = "failure"
    by_loss: Callable[[GANLoss], str] | None = None
    # the explanation for a known loss, where what the flag means depends on it (`explanation_for`)
    explained_by_loss: Callable[[GANLoss], str] | None = None
    # the suggestion for a class-conditional run, where its remedy differs (`suggestion_for`): given the
    # run's ms_weight, None for a loop that has no such setting
    conditional: Callable[[float | None], str] | None = None

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity must be one of {', '.join(SEVERITIES)}, got {self.severity!r}")

    def suggestion_for(
        self, loss: GANLoss | None, *, conditional: bool = False, ms_weight: float | None = None
    ) -> str:
        """The suggestion for a run trained with ``loss`` (`gan_core.losses.GANLoss`; None: unknown): only
        remedies that act on that objective (label smoothing where D's loss has targets to smooth, the
        non-saturating loss where G's saturates, ``gp_weight`` and ``d_steps`` for a critic ...).
        ``conditional``: a class-conditional run, whose ``mode_collapse`` is cured by mode seeking;
        ``ms_weight``: its weight (`GANConfig.ms_weight`), None for a user's loop, which has no such
        setting."""
        if conditional and self.conditional is not None:
            return self.conditional(ms_weight)
        if loss is None or self.by_loss is None:
            return self.suggestion
        return self.by_loss(loss)

    def explanation_for(self, loss: GANLoss | None) -> str:
        """What the flag means for a run trained with ``loss`` (None: unknown): ``explanation`` unless the
        objective changes it (d_overpowers: G pushed hard by the non-saturating loss, starved by the
        saturating minimax)."""
        if loss is None or self.explained_by_loss is None:
            return self.explanation
        return self.explained_by_loss(loss)


def failures_first(name: str, up: Iterable[str]) -> list[str]:
    """The failure flags among ``up`` (the flags up with ``name``, in banner order) whose suggestions come
    before ``name``'s own: every one for a flag to watch or the healthy signature (``watch``,
    ``healthy``), none for a failure. A banner says so, for the remedies can pull apart: ``d_leads``
    says lower lr_d while ``mode_collapse`` says lr_g no higher than lr_d (a newcomer's review, after
    lowering lr_d below lr_g). Names this version does not know are left out."""
    info = FLAGS.get(name)
    if info is None or info.severity == "failure":
        return []
    return [other for other in up if other != name and other in FLAGS and FLAGS[other].severity == "failure"]


def failures_first_words(name: str, up: Iterable[str]) -> str:
    """`failures_first` as the sentence ``name``'s banner ends with ("With mode_collapse up, act on its
    suggestion first."), "" where no failure comes first."""
    first = failures_first(name, up)
    if not first:
        return ""
    named = " and ".join([", ".join(first[:-1]), first[-1]] if len(first) > 1 else first)
    whose = "its suggestion" if len(first) == 1 else "their suggestions"
    return f"With {named} up, act on {whose} first."


# The remedies, by what the loss says of itself (`GANLoss`), never by its name; the standard ones of the
# literature: label smoothing and instance noise (Salimans et al. 2016; Sønderby et al. 2017), spectral norm
# (Miyato et al. 2018), the non-saturating G loss (Goodfellow et al. 2014), n_critic, gp_weight 10 and
# Adam(0, 0.9) for WGAN-GP (Gulrajani et al. 2017), whose paper shows weight clipping's gradients vanish or
# explode with the clip.
def _d_noise(loss: GANLoss) -> str:
    """The ways to blur what D sees that apply to ``loss``: label smoothing only where D has targets."""
    return "label smoothing, instance noise" if loss.uses_label_smoothing else "instance noise"


def _hold_critic(loss: GANLoss) -> str:
    """How to constrain a critic more tightly (a smoother, weaker critic)."""
    if loss.gradient_penalty:
        return "raise gp_weight (10 in Gulrajani et al. 2017) for a smoother critic"
    if loss.clips_weights:
        return "lower clip_value, or switch to wgan-gp"
    return "add spectral norm"


def _d_overpowers(loss: GANLoss) -> str:
    if loss.is_critic:
        return f"Lower lr_d or d_steps (the critic's n_critic), or {_hold_critic(loss)}."
    return f"Lower lr_d or d_steps, or add {_d_noise(loss)} or spectral norm."


def _d_overpowers_means(loss: GANLoss) -> str:
    if loss.saturating_g:  # (a review: "however hard it is pushed" beside vanishing_gradients' banner)
        return (
            "D tells real from fake almost perfectly: it rejects each of G's forgeries at once, and G's "
            "saturating loss, flat where D is sure, gives G almost no gradient to catch up with "
            "(vanishing_gradients)."
        )
    return FLAGS["d_overpowers"].explanation


def _g_overpowers(loss: GANLoss) -> str:
    if not loss.is_critic:
        return "Raise d_steps or lr_d, or lower lr_g."
    text = "Raise d_steps (the critic's n_critic: 5 in the WGAN papers) or lr_d, or lower lr_g"
    if loss.gradient_penalty:
        return text + "; a gp_weight far above 10 also holds the critic back."
    if loss.clips_weights:
        return text + "; too small a clip_value also holds the critic back."
    return text + "."


def _vanishing_gradients(loss: GANLoss) -> str:
    if loss.saturating_g:
        return "Use the non-saturating loss, or weaken D (lower lr_d, label smoothing, instance noise)."
    if loss.clips_weights:
        return (
            "Weight clipping makes a critic's gradients vanish when the clip is too small (Gulrajani et al. "
            "2017): switch to wgan-gp, or raise clip_value; lower lr_d or d_steps (n_critic)."
        )
    if loss.gradient_penalty:
        return (
            "Lower lr_d or d_steps (n_critic), and keep gp_weight near 10 (Gulrajani et al. 2017): the "
            "penalty holds the critic's gradient near 1."
        )
    return (
        f"G's loss does not saturate: weaken D (lower lr_d or d_steps, {_d_noise(loss)}), or try "
        "wgan-gp, whose penalised critic keeps G's gradient alive."
    )


def _exploding_gradients(loss: GANLoss) -> str:
    if loss.gradient_penalty:
        return "Lower the learning rates, or raise gp_weight: the penalty holds the critic's gradient near 1."
    if loss.clips_weights:
        return (
            "Lower the learning rates or clip_value (too large a clip makes the gradients explode, "
            "Gulrajani et al. 2017), or switch to wgan-gp."
        )
    return "Lower the learning rates and keep Adam's beta2 at 0.99-0.999, or use wgan-gp or spectral norm."


def _mode_collapse(loss: GANLoss) -> str:
    if loss.gradient_penalty:
        return (
            "Try a lower learning rate, a larger batch or more d_steps (n_critic) so the critic keeps up; "
            "scrub the snapshots to see it."
        )
    # Measured on the Mode collapse preset (seed 0, 4,000 steps): lr_g 1e-4 (= lr_d) and latent_dim 2
    # together covered all 8 modes from step 2,000; either alone, none (at most 1 mode); wgan-gp, 1 mode.
    return (
        "Balance G and D: lr_g no higher than lr_d (or more d_steps). On low-dimensional data also give G "
        "a small latent_dim (2 for ring8, as the Healthy equilibrium preset does): together they cure the "
        "Mode collapse preset, either alone does not. Scrub the snapshots to see it."
    )


def _conditional_mode_collapse(ms_weight: float | None) -> str:
    # Measured on digits (README, Conditional GANs): every built-in conditioning collapses inside the
    # classes without the term (diversity within the digits 0.05-0.3); the Conditional digits preset's
    # ms_weight 0.1 keeps it at the real digits' (1.03 at 3,000 steps). lr_g and latent_dim do not cure it.
    see = "Scrub the snapshots: each row is a class, and a row of one image repeated is a collapsed class."
    if ms_weight is None:
        return (
            "A conditional G collapses inside its classes (one image per class) unless its loss pays for "
            "it: add MSGAN's mode-seeking term (Mao et al. 2019), w / (mean |G(z1, y) - G(z2, y)| / mean "
            f"|z1 - z2|) over pairs of noise asked for the same classes, with w about 0.1. {see}"
        )
    if ms_weight == 0:
        return (
            "Without mode seeking every built-in conditioning collapses inside the classes: train a new "
            "run with ms_weight 0.1 (Loss group; MSGAN, Mao et al. 2019; fixed for a run), as the "
            f"Conditional digits preset does. {see}"
        )
    return (
        f"Raise ms_weight (now {ms_weight:g}; fixed for a run: a new run), and keep lr_g no higher than "
        f"lr_d. {see}"
    )


def _diverged(loss: GANLoss) -> str:
    if loss.gradient_penalty:
        return (
            "Lower the learning rates (e.g. 10x) and restart; keep gp_weight near 10 and Adam's beta1 at 0 "
            "to 0.5 (Gulrajani et al. 2017 use 0 and beta2 0.9)."
        )
    if loss.clips_weights:
        return (
            "Lower the learning rates (e.g. 10x) or clip_value and restart; wgan-gp is more stable than "
            "weight clipping."
        )
    # (the Divergence preset, beta2 0, diverged at lr 1e-5 too, and trained its 3,000 steps with beta2 0.99)
    return (
        "Keep Adam's beta2 at its usual 0.99-0.999 (a small beta2 divides by the latest gradient alone: a "
        "small one makes a huge step, at any learning rate), lower the learning rates (e.g. 10x) and "
        "restart, or branch with that change from a checkpoint before the blow-up (Runs page, Rewind / "
        "branch); wgan-gp or spectral norm help stability."
    )


def _d_leads(loss: GANLoss) -> str:
    if loss.is_critic:
        remedy = f"lower lr_d or d_steps (n_critic), or {_hold_critic(loss)}"
    else:
        remedy = f"lower lr_d or add {_d_noise(loss).replace(', ', ' or ')}"
    return (
        f"Watch D's accuracy and the samples: if they stop improving, {remedy}; if both accuracies pass "
        "95%, d_overpowers is raised."
    )


FLAGS: dict[str, FlagInfo] = {
    "d_overpowers": FlagInfo(
        # (not "G gets little signal": with the non-saturating loss G's gradient stays large, pushed hard,
        # as the charts and the Guide show; with the saturating minimax it fades: vanishing_gradients)
        "D tells real from fake almost perfectly: it rejects each of G's forgeries at once, and G, however "
        "hard it is pushed, cannot catch up.",
        "Lower lr_d or d_steps, or add label smoothing, instance noise or spectral norm.",
        by_loss=_d_overpowers,
        explained_by_loss=_d_overpowers_means,
    ),
    "g_overpowers": FlagInfo(
        "D calls most fakes real: G is outrunning a D that has not learned the data.",
        "Raise d_steps or lr_d, or lower lr_g.",
        by_loss=_g_overpowers,
    ),
    "vanishing_gradients": FlagInfo(
        "G's gradient has faded below 5% of its peak (often by orders of magnitude: the log axis shows how "
        "far) while D wins: G has stopped learning.",
        "If G's loss is the saturating minimax, use the non-saturating loss; else weaken D (lower lr_d, "
        "label smoothing, instance noise).",
        by_loss=_vanishing_gradients,
    ),
    "exploding_gradients": FlagInfo(
        "A gradient norm is above 100: updates are large and training may diverge.",
        "Lower the learning rates, or use wgan-gp or spectral norm.",
        by_loss=_exploding_gradients,
    ),
    "mode_collapse": FlagInfo(
        "G covers far fewer modes or classes (or far less variety) than it did or than the data has.",
        "Balance G and D: lr_g no higher than lr_d (or more d_steps); on low-dimensional data a small "
        "latent_dim; scrub the snapshots to see it.",
        by_loss=_mode_collapse,
        conditional=_conditional_mode_collapse,
    ),
    "diverged": FlagInfo(
        "A loss or gradient became NaN or infinite; the run was stopped.",
        "Lower the learning rates (e.g. 10x) and restart; wgan-gp or spectral norm help stability.",
        by_loss=_diverged,
    ),
    "d_leads": FlagInfo(
        "D is clearly ahead on one side (it catches most fakes, or is sure of the reals) while G still "
        "learns: D, the police catching G's forgeries, is winning, but this is not yet a failure.",
        "Watch D's accuracy and the samples: if they stop improving, lower lr_d or add instance noise or "
        "label smoothing; if both accuracies pass 95%, d_overpowers is raised.",
        severity="watch",
        by_loss=_d_leads,
    ),
    "equilibrium": FlagInfo(
        "D can no longer tell real from fake and the last evaluation says the samples are good: the "
        "healthy signature of a GAN at equilibrium.",
        "Keep training (a finished run: resume it for more steps) and watch that the samples keep improving.",
        severity="healthy",
    ),
}
FAILURE_FLAGS = tuple(name for name, info in FLAGS.items() if info.severity == "failure")


def _measured(metrics: Mapping[str, float], name: str) -> float | None:
    value = metrics.get(name)
    return float(value) if isinstance(value, float | int) and math.isfinite(value) else None


def quality_judged(metrics: Mapping[str, float], coverage_total: int | None) -> bool:
    """Whether one evaluation measured a metric `quality_poor` judges (`QUALITY_METRICS`; coverage only
    where ``coverage_total`` is known). One that measured only metrics without a floor (fid, kid, fd_cls,
    mode_kl ...) says neither good nor poor."""
    judged = [name for name in QUALITY_METRICS if coverage_total or not name.endswith("_covered")]
    return any(_measured(metrics, name) is not None for name in judged)


def quality_poor(metrics: Mapping[str, float], coverage_total: int | None, keep: bool = False) -> bool:
    """Whether one evaluation says the samples are poor: coverage (``modes_covered`` or
    ``classes_covered``) below `QUALITY_COVERAGE_FRACTION` of ``coverage_total``, ``hq_pct`` below
    `QUALITY_HQ_PCT`, ``diversity`` below `QUALITY_DIVERSITY`, or ``grid_js`` above `QUALITY_GRID_JS`.
    Metrics not measured (absent or NaN) say nothing (`quality_judged`: whether any was). ``keep``:
    judged for an ``equilibrium`` already up, each floor `QUALITY_KEEP_SHARE` laxer (hq_pct 45, not 50):
    one evaluation's noise at a floor no longer clears it."""
    lax = 1.0 - QUALITY_KEEP_SHARE if keep else 1.0

    def below(name: str, floor: float) -> bool:
        value = _measured(metrics, name)
        return value is not None and value < floor * lax

    grid_js = _measured(metrics, "grid_js")
    coverage_floor = QUALITY_COVERAGE_FRACTION * coverage_total if coverage_total else -math.inf
    return (
        below("modes_covered", coverage_floor)
        or below("classes_covered", coverage_floor)
        or below("hq_pct", QUALITY_HQ_PCT)
        or below("diversity", QUALITY_DIVERSITY)
        or (grid_js is not None and grid_js > QUALITY_GRID_JS / lax)
    )


class _Hysteresis:
    """A boolean that turns on after ``hold`` consecutive True inputs and off after ``clear_hold``
    consecutive False inputs (``hold`` again when not given)."""

    def __init__(self, hold: int, clear_hold: int | None = None):
        self.hold = hold
        self.clear_hold = hold if clear_hold is None else clear_hold
        self.on = False
        self.run = 0

    def update(self, condition: bool) -> bool | None:
        """Feed one observation; returns the new state when it changes, else None."""
        if condition != self.on:
            self.run += 1
            if self.run >= (self.clear_hold if self.on else self.hold):
                self.on, self.run = condition, 0
                return self.on
        else:
            self.run = 0
        return None


def _hysteresis_map(value: object) -> bool:
    return isinstance(value, dict) and bool(value) and all(isinstance(v, _Hysteresis) for v in value.values())


def _kind(value: object) -> str:
    """What a monitor field holds, as far as loading it cares (a tuple saved is a list loaded)."""
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, list | tuple):
        return "a list"
    return {dict: "an object", set: "a list"}.get(type(value), type(value).__name__)


def _shown(value: object) -> str:
    """A value of a damaged state for a message (`rundir.shown_value`'s words)."""
    from gan_core.rundir import shown_value  # (rundir reads flags: imported when a message is made)

    return shown_value(value)


class FlagMonitor:
    """Raises and clears flags from a run's records; `update` returns the changes."""

    def __init__(
        self,
        midpoint: float | None = 0.5,
        hold_steps: int = HOLD_STEPS,
        hold_evals: int = HOLD_EVALS,
        coverage_total: int | None = None,
        critic: bool = False,
    ):
        """``midpoint``: D's output at "cannot tell" (`GANLoss.midpoint`: 0.5 for probabilities, t/2 under
        label smoothing with real target t; None for a critic, whose output is no probability; the run
        keeps it to the smoothing in force); ``coverage_total``: the data's modes or classes
        (`gan_core.evaluation.coverage_total`), for `quality_poor`. ``critic``: D is a Wasserstein critic
        (`GANLoss.is_critic`): its accuracies are the median rule's ranking of its scores, which a healthy
        critic keeps high (it is trained toward the optimal critic, Arjovsky et al. 2017, and a critic that
        separates real from fake still gives G its gradient, the Wasserstein losses' point), so neither
        ``d_overpowers`` nor ``d_leads`` is raised, nor ``equilibrium``, which is D unable to tell (a
        healthy WGAN-GP run on the digits, ``fd_cls`` 2.0 and every class covered, ranked ~85% of its
        batches right to its end, and had been flagged as D winning)."""
        self.midpoint = midpoint
        self.coverage_total = coverage_total
        self.critic = critic
        # The last evaluation with metrics measured one that `quality_poor` judges (`quality_judged`):
        # equilibrium waits for one, and an evaluation of metrics without a floor (only fid, say) is none.
        self.evaluated = False
        self.quality_poor = False  # what the last evaluation said (`quality_poor`)
        # ... against the floors made laxer (`QUALITY_KEEP_SHARE`): what keeps an equilibrium up, and only
        # that (one that clears for another reason is raised again against the floors themselves)
        self.quality_poor_lax = False
        self._alpha = 1.0 / SMOOTH_STEPS
        self._ema: dict[str, float] = {}
        self._unmeasured: tuple[
            str, ...
        ] = ()  # columns the step being judged did not measure (a tuple: checkpointed)
        self._peak_g_norm = 0.0
        self._best: dict[str, float] = {}
        # the diversity fed to `update_eval` is a conditional G's within each class
        # (`diagnostics.class_diversity`), not one across classes: set by the run, checkpointed
        self.diversity_within_classes = False
        self._states = {
            name: _Hysteresis(hold_evals if name == "mode_collapse" else hold_steps) for name in FLAGS
        }
        self._states["exploding_gradients"] = _Hysteresis(EXPLODING_RAISE_STEPS, clear_hold=hold_steps)
        self.active: set[str] = set()
        self.raised: set[str] = set()  # every flag raised so far, up now or not
        self.steps_seen = 0  # records fed to `update`: the clock of the collapse warm-up
        # the divergence, once raised: the columns not finite and those its step did not measure (the
        # ``diverged`` event's fields, so that a chart marks a NaN only where one was: `charts._failure_bits`)
        self.diverged_fields: dict[str, list[str]] = {}

    # ------------------------------------------------------------------ checkpoint state
    def state_dict(self) -> dict:
        """What the monitor has learnt from the records so far (averages, peaks, hysteresis counters,
        flags up), in plain containers for a checkpoint, so that a resumed run raises the same flags
        at the same steps as one never stopped. Every attribute is taken, not a list of them, so that
        state added to the monitor later is checkpointed without anyone remembering to list it here."""
        state = {}
        for name, value in vars(self).items():
            if _hysteresis_map(value):
                value = {k: dict(vars(h)) for k, h in value.items()}
            elif isinstance(value, set):
                value = sorted(value)  # a checkpoint loads with weights_only: lists, not sets
            state[name] = copy.deepcopy(value)
        return state

    def load_state_dict(self, state: dict) -> None:
        """Continue from `state_dict`; names this monitor lacks (from another version) are ignored."""
        for name, value in state.items():
            if name not in vars(self):
                continue
            current = getattr(self, name)
            if _hysteresis_map(current):
                for key, fields in value.items():
                    if key in current:
                        vars(current[key]).update(fields)
            elif isinstance(current, set):
                setattr(self, name, set(value))
            else:
                setattr(self, name, copy.deepcopy(value))

    def resume_from_records(
        self,
        step: int,
        up: Iterable[str],
        raised: Iterable[str],
        best: Mapping[str, float],
        last_eval: Mapping[str, float],
    ) -> None:
        """Continue a run whose monitor state was not kept (a user's loop through the tracking API has no
        checkpoints) from what its files say: the flags ``up`` at its last row (``step``) stay up, no
        event raised again; ``raised``, the flags its events raised; the collapse warm-up's clock at
        ``step``; ``best``, the best coverage and diversity its evaluations reached (`update_eval`
        compares with them); ``last_eval``, its last evaluation (`quality_poor`). The smoothed values and
        the hysteresis counts start afresh: a flag that is up clears after its hold, as it would.
        Names that are no flag (a file from another version) are left out, and so is ``diverged``: a run
        continued after a divergence (its settings mended) starts from finite values, and the flag, which
        nothing clears, would end it at its first step."""
        self.active = {name for name in up if name in FLAGS and name != "diverged"}
        for name in self.active:
            self._states[name].on, self._states[name].run = True, 0
        self.raised = self.active | {name for name in raised if name in FLAGS}
        self.steps_seen = max(int(step), 0)
        self._best = {k: float(v) for k, v in best.items() if math.isfinite(v)}
        self._judge({k: float(v) for k, v in last_eval.items() if math.isfinite(v)})

    def forget_best(self, name: str) -> None:
        """Forget the best value of ``name`` (a `COLLAPSE_FLOORS` metric) seen so far: the next evaluation
        is the new reference for `update_eval`'s halving (a measure that changed its meaning)."""
        self._best.pop(name, None)

    @classmethod
    def check_state_dict(cls, state: dict) -> None:
        """TypeError unless ``state`` (a checkpoint's `state_dict`, as loaded) loads into a monitor with
        each field of the kind a fresh monitor holds there, and each flag's counters whole numbers: a
        damaged one found before a resume writes anything, not by the training thread. (A field this
        version lacks is ignored on load, as `load_state_dict` does; one the state lacks keeps its start.)
        Also `check_monitor_state`."""
        fresh, monitor = cls(), cls()
        monitor.load_state_dict(state)
        for name, start in vars(fresh).items():
            loaded = getattr(monitor, name)
            if start is None or (loaded is None and name in ("midpoint", "coverage_total")):  # None: unknown
                continue
            if _kind(loaded) != _kind(start):
                raise TypeError(f"field {name!r} is {_shown(loaded)}; expected {_kind(start)}")
        for flag, hysteresis in monitor._states.items():  # each flag's counters: whole numbers
            for name, number in vars(hysteresis).items():
                if not isinstance(number, int):  # (``on`` is a bool, an int)
                    raise TypeError(f"field '_states' of {quoted(flag)}: {name} is {_shown(number)}")

    def _smooth(self, name: str, value: float) -> float:
        previous = self._ema.get(name)
        if name in self._unmeasured:  # not measured this step: the average stays as it was
            return math.nan if previous is None else previous
        self._ema[name] = value if previous is None else previous + self._alpha * (value - previous)
        return self._ema[name]

    def _set(self, name: str, condition: bool, changes: list[tuple[str, bool]]) -> None:
        changed = self._states[name].update(condition)
        if changed is not None:
            (self.active.add if changed else self.active.discard)(name)
            if changed:
                self.raised.add(name)
            changes.append((name, changed))

    def _drop(self, name: str, changes: list[tuple[str, bool]]) -> None:
        """Clear ``name`` now, without its hysteresis (another flag or an evaluation supersedes it)."""
        state = self._states[name]
        state.run = 0
        if state.on:
            state.on = False
            self.active.discard(name)
            changes.append((name, False))

    def update(self, record: dict[str, float], unmeasured: Iterable[str] = ()) -> list[tuple[str, bool]]:
        """Feed one step's record; returns [(flag, raised?)] for flags that changed state. ``unmeasured``:
        columns the step did not measure (a tracked loop that passed no parameters for a gradient norm, a
        step without a D update): blank, neither a divergence nor a value that moves an average."""
        changes: list[tuple[str, bool]] = []
        self.steps_seen += 1
        self._unmeasured = tuple(unmeasured)
        bad = [k for k in DIVERGENCE_COLUMNS if k not in self._unmeasured and not math.isfinite(record[k])]
        if bad:
            if "diverged" not in self.active:
                self.active.add("diverged")
                self.raised.add("diverged")
                self.diverged_fields = {"columns": bad, "unmeasured": sorted(self._unmeasured)}
                changes.append(("diverged", True))
            return changes
        acc_real = self._smooth("d_acc_real", record["d_acc_real"])
        acc_fake = self._smooth("d_acc_fake", record["d_acc_fake"])
        g_norm = self._smooth("g_grad_norm", record["g_grad_norm"])
        self._peak_g_norm = max(self._peak_g_norm, g_norm)
        d_real = self._smooth("d_real", record["d_real"])
        d_fake = self._smooth("d_fake", record["d_fake"])
        judged = self.steps_seen > BALANCE_WARMUP_STEPS  # the balance flags wait for D to learn anything
        ahead = judged and not self.critic  # (a critic ahead is a critic doing its job: see __init__)
        overpowers = D_OVERPOWERS_ACCURACY
        self._set("d_overpowers", ahead and acc_real > overpowers and acc_fake > overpowers, changes)
        self._set("g_overpowers", judged and acc_fake < G_OVERPOWERS_ACCURACY, changes)
        saturated = acc_real > VANISHING_ACCURACY and acc_fake > VANISHING_ACCURACY
        self._set(
            "vanishing_gradients",
            judged and saturated and g_norm < VANISHING_SHARE * self._peak_g_norm,
            changes,
        )
        norms = [record[k] for k in ("g_grad_norm", "d_grad_norm") if k not in self._unmeasured]
        self._set("exploding_gradients", max(norms, default=0.0) > EXPLODING_NORM, changes)
        margin = KEEP_MARGIN if self._states["equilibrium"].on else 0.0  # (up: it stays in a wider band)
        low, high = CALM_ACCURACY[0] - margin, CALM_ACCURACY[1] + margin
        calm = low < acc_real < high and low < acc_fake < high
        if self.midpoint is not None:  # D's outputs near "cannot tell": 0.5, or t/2 under label smoothing
            low, high = self.midpoint - CALM_OUTPUT - margin, self.midpoint + CALM_OUTPUT + margin
            calm = calm and low < d_real < high and low < d_fake < high
        # The stronger flag says it: one banner, not two. And D sure of the reals while it calls most fakes
        # real (g_overpowers) is no D ahead: it calls everything real.
        if "d_overpowers" in self.active or "g_overpowers" in self.active:
            self._drop("d_leads", changes)
        else:
            keep = KEEP_MARGIN if self._states["d_leads"].on else 0.0
            lead = max(acc_real, acc_fake) > LEAD_ACCURACY - keep
            tells = (acc_real + acc_fake) / 2 > LEAD_MEAN_ACCURACY - keep  # (not one verdict for all)
            self._set("d_leads", ahead and lead and tells, changes)
        failing = any(name in self.active for name in FAILURE_FLAGS)
        good = self.evaluated and not self._samples_poor()
        self._set("equilibrium", ahead and calm and good and not failing, changes)
        return changes

    def update_eval(self, metrics: dict[str, float]) -> list[tuple[str, bool]]:
        """Feed one evaluation (its quality columns, where measured): collapse from modes_covered /
        classes_covered / diversity, and the verdict on the samples that equilibrium waits for."""
        collapsed = False
        warmed_up = self.steps_seen >= COLLAPSE_WARMUP_STEPS
        for name, floor in COLLAPSE_FLOORS.items():
            value = metrics.get(name)
            if value is None or not math.isfinite(value):
                continue
            best = self._best[name] = max(self._best.get(name, value), value)
            if name.endswith("_covered") and self.coverage_total:
                floor = max(floor, COLLAPSE_COVERAGE_SHARE * self.coverage_total)
            collapsed = collapsed or (warmed_up and (value <= 0.5 * best or value <= floor))
        changes: list[tuple[str, bool]] = []
        self._set("mode_collapse", collapsed, changes)
        self._judge(metrics)
        if not self.evaluated or self._samples_poor():  # at once: the samples say otherwise, or nothing
            self._drop("equilibrium", changes)
        return changes

    def _samples_poor(self) -> bool:
        """The last evaluation's verdict as ``equilibrium`` reads it: against the laxer floors while it
        is up (`QUALITY_KEEP_SHARE`), against the floors themselves to raise it."""
        return self.quality_poor_lax if self._states["equilibrium"].on else self.quality_poor

    def _judge(self, metrics: Mapping[str, float]) -> None:
        """Take one evaluation's verdict on the samples (`evaluated`, `quality_poor`, `quality_poor_lax`);
        one with no metric measured (a measurement that raised) keeps the last one."""
        if any(_measured(metrics, name) is not None for name in metrics):
            self.evaluated = quality_judged(metrics, self.coverage_total)
            collapsed = "mode_collapse" in self.active
            self.quality_poor = quality_poor(metrics, self.coverage_total) or collapsed
            self.quality_poor_lax = quality_poor(metrics, self.coverage_total, keep=True) or collapsed


def check_monitor_state(state: dict) -> None:
    """`FlagMonitor.check_state_dict` of a checkpoint's flag monitor ``state``: TypeError if it is damaged."""
    FlagMonitor.check_state_dict(state)
