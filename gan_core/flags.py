"""Failure flags: the run watches itself and says when it is failing — flag, never auto-correct.

`FlagMonitor` reads each step's record (and each evaluation's quality metrics) and raises or clears
named flags. Signals are smoothed with an exponential moving average over about `SMOOTH_STEPS` steps,
and a flag changes only after its condition has held (or failed) for `HOLD_STEPS` consecutive steps
(`HOLD_EVALS` evaluations for coverage flags): hysteresis, so flags do not flicker.

Thresholds (the Guide page shows the same):

- ``d_overpowers``: smoothed d_acc_real and d_acc_fake both above 0.95.
- ``g_overpowers``: smoothed d_acc_fake below 0.35 (D calls most fakes real, well below chance).
- ``vanishing_gradients``: smoothed g_grad_norm below 5% of its peak while D is near-perfect (both
  smoothed accuracies above 0.9).
- ``exploding_gradients``: d_grad_norm or g_grad_norm above 100 (ganhacks' warning sign) for 5 steps.
- ``mode_collapse``: modes or classes covered at most half the best seen so far (or at most 2), or
  diversity at most half its best or at most 0.2; judged from step 2,000 (below).
- ``diverged``: a NaN or Inf in a loss or gradient norm: immediate, never cleared; the run stops as
  failed.
- ``equilibrium`` (healthy): smoothed accuracies within 0.35-0.65 and, for probability outputs, D(x)
  and D(G(z)) within 0.3-0.7, with no failure flag up.

Two warm-ups keep the start of training from reading as failure:

- The flags about the balance of G and D (``d_overpowers``, ``g_overpowers``, ``vanishing_gradients``
  and ``equilibrium``) are judged after step 200 (`BALANCE_WARMUP_STEPS`). At initialisation D's
  verdict is arbitrary: it calls every fake real (or every fake fake) until it has learned something,
  which on the default digits took D up to 187 steps (40 seeds, widths 64 and 128) and read as
  ``g_overpowers`` at step 100.
- ``mode_collapse`` is judged from step 2,000 (`COLLAPSE_WARMUP_STEPS`). G starts from noise, and a G
  that has not yet found the modes covers few of them without having collapsed onto any: a healthy
  ring8 run can sit at 0-3 modes for its first thousand steps. The best coverage counts from the
  start, so coverage lost after the warm-up is still caught.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

SMOOTH_STEPS = 50
HOLD_STEPS = 100
HOLD_EVALS = 2
EXPLODING_NORM = 100.0
BALANCE_WARMUP_STEPS = 200
COLLAPSE_WARMUP_STEPS = 2000


@dataclass(frozen=True)
class FlagInfo:
    explanation: str
    suggestion: str
    healthy: bool = False


FLAGS: dict[str, FlagInfo] = {
    "d_overpowers": FlagInfo(
        "D tells real from fake almost perfectly, so G gets little useful signal.",
        "Lower lr_d or d_steps, or add label smoothing, instance noise or spectral norm.",
    ),
    "g_overpowers": FlagInfo(
        "D calls most fakes real: G is outrunning a D that has not learned the data.",
        "Raise d_steps or lr_d, or lower lr_g.",
    ),
    "vanishing_gradients": FlagInfo(
        "G's gradient has faded to a few percent of its peak while D wins: G has stopped learning.",
        "Use the non-saturating loss, or weaken D (lower lr_d, label smoothing, instance noise).",
    ),
    "exploding_gradients": FlagInfo(
        "A gradient norm is above 100: updates are large and training may diverge.",
        "Lower the learning rates, or use wgan-gp or spectral norm.",
    ),
    "mode_collapse": FlagInfo(
        "G covers far fewer modes or classes (or far less variety) than it did or than the data has.",
        "Try wgan-gp, a lower learning rate or a larger batch; scrub the snapshots to see it.",
    ),
    "diverged": FlagInfo(
        "A loss or gradient became NaN or infinite; the run was stopped.",
        "Lower the learning rates (e.g. 10x) and restart; wgan-gp or spectral norm help stability.",
    ),
    "equilibrium": FlagInfo(
        "D can no longer tell real from fake: the healthy signature of a GAN at equilibrium.",
        "Keep training and watch that the samples keep improving.",
        healthy=True,
    ),
}
FAILURE_FLAGS = tuple(name for name, info in FLAGS.items() if not info.healthy)


class _Hysteresis:
    """A boolean that turns on after ``hold`` consecutive True inputs and off after ``hold`` False."""

    def __init__(self, hold: int):
        self.hold = hold
        self.on = False
        self.run = 0

    def update(self, condition: bool) -> bool | None:
        """Feed one observation; returns the new state when it changes, else None."""
        if condition != self.on:
            self.run += 1
            if self.run >= self.hold:
                self.on, self.run = condition, 0
                return self.on
        else:
            self.run = 0
        return None


def _hysteresis_map(value: object) -> bool:
    return isinstance(value, dict) and bool(value) and all(isinstance(v, _Hysteresis) for v in value.values())


class FlagMonitor:
    """Raises and clears flags from a run's records; `update` returns the changes."""

    def __init__(
        self, midpoint: float | None = 0.5, hold_steps: int = HOLD_STEPS, hold_evals: int = HOLD_EVALS
    ):
        self.midpoint = midpoint
        self._alpha = 1.0 / SMOOTH_STEPS
        self._ema: dict[str, float] = {}
        self._peak_g_norm = 0.0
        self._best: dict[str, float] = {}
        self._states = {
            name: _Hysteresis(hold_evals if name == "mode_collapse" else hold_steps) for name in FLAGS
        }
        self._states["exploding_gradients"] = _Hysteresis(5)
        self.active: set[str] = set()
        self.raised: set[str] = set()  # every flag raised so far, up now or not
        self.steps_seen = 0  # records fed to `update`: the clock of the collapse warm-up

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

    def _smooth(self, name: str, value: float) -> float:
        previous = self._ema.get(name)
        self._ema[name] = value if previous is None else previous + self._alpha * (value - previous)
        return self._ema[name]

    def _set(self, name: str, condition: bool, changes: list[tuple[str, bool]]) -> None:
        changed = self._states[name].update(condition)
        if changed is not None:
            (self.active.add if changed else self.active.discard)(name)
            if changed:
                self.raised.add(name)
            changes.append((name, changed))

    def update(self, record: dict[str, float]) -> list[tuple[str, bool]]:
        """Feed one step's record; returns [(flag, raised?)] for flags that changed state."""
        changes: list[tuple[str, bool]] = []
        self.steps_seen += 1
        watched = ("d_loss", "g_loss", "d_grad_norm", "g_grad_norm")
        # d_grad_norm is blank (NaN) after a G-only step, which is not a divergence
        values = [record[k] for k in watched if not (k == "d_grad_norm" and math.isnan(record[k]))]
        if any(not math.isfinite(v) for v in values):
            if "diverged" not in self.active:
                self.active.add("diverged")
                self.raised.add("diverged")
                changes.append(("diverged", True))
            return changes
        acc_real = self._smooth("d_acc_real", record["d_acc_real"])
        acc_fake = self._smooth("d_acc_fake", record["d_acc_fake"])
        g_norm = self._smooth("g_grad_norm", record["g_grad_norm"])
        self._peak_g_norm = max(self._peak_g_norm, g_norm)
        d_real = self._smooth("d_real", record["d_real"])
        d_fake = self._smooth("d_fake", record["d_fake"])
        judged = self.steps_seen > BALANCE_WARMUP_STEPS  # the balance flags wait for D to learn anything
        self._set("d_overpowers", judged and acc_real > 0.95 and acc_fake > 0.95, changes)
        self._set("g_overpowers", judged and acc_fake < 0.35, changes)
        self._set(
            "vanishing_gradients",
            judged and acc_real > 0.9 and acc_fake > 0.9 and g_norm < 0.05 * self._peak_g_norm,
            changes,
        )
        norms = [record["g_grad_norm"]] + (
            [] if math.isnan(record["d_grad_norm"]) else [record["d_grad_norm"]]
        )
        self._set("exploding_gradients", max(norms) > EXPLODING_NORM, changes)
        calm = 0.35 < acc_real < 0.65 and 0.35 < acc_fake < 0.65
        if self.midpoint is not None:
            calm = calm and 0.3 < d_real < 0.7 and 0.3 < d_fake < 0.7
        failing = any(name in self.active for name in FAILURE_FLAGS)
        self._set("equilibrium", judged and calm and not failing, changes)
        return changes

    def update_eval(self, metrics: dict[str, float]) -> list[tuple[str, bool]]:
        """Feed one evaluation (modes_covered / classes_covered / diversity, where measured)."""
        collapsed = False
        warmed_up = self.steps_seen >= COLLAPSE_WARMUP_STEPS
        for name, floor in (("modes_covered", 2.0), ("classes_covered", 2.0), ("diversity", 0.2)):
            value = metrics.get(name)
            if value is None or not math.isfinite(value):
                continue
            best = self._best[name] = max(self._best.get(name, value), value)
            collapsed = collapsed or (warmed_up and (value <= 0.5 * best or value <= floor))
        changes: list[tuple[str, bool]] = []
        self._set("mode_collapse", collapsed, changes)
        return changes
