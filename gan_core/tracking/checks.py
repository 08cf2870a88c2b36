"""What the first committed rows of a tracked run say about how its loop calls `TrackedRun.d_step` and
`TrackedRun.g_step`.

Four misuses give numbers of the right shape and the wrong meaning, and nothing at the call can tell
them from a real run; a run's first rows can:

- ``probabilities``: D's outputs after a sigmoid passed as logits, for a loss whose threshold is 0 or below:
  one whose output is sigmoid(score) (`GANLoss.probability_output`: minimax, nonsaturating; logit(t/2) < 0
  under label smoothing), or hinge, whose scores are read raw (a DCGAN D ending in nn.Sigmoid, as the
  PyTorch tutorial's, trained with hinge). Every value is then in [0, 1], above the threshold, so every row
  reads d_acc_real 1, d_acc_fake 0, and d_real, d_fake within [output(0), output(1)]: [0.5, sigmoid(1)]
  for a sigmoid loss, [0, 1] for hinge: a D that calls everything real, whose flags (g_overpowers) follow.
  A young D's logits may all sit in (0, 1) too: where the loop's own d_loss is the loss of its values as
  logits, they are logits, and nothing is said (a sigmoid loss only: hinge's loss of values in [0, 1] is
  the same either way); where no d_loss says which (none given, given with its halves, or hinge), the rows
  must read so for longer (`NO_D_LOSS_DECIDING_ROWS`), and a row that proves them logits after it was said
  (d_real or d_fake outside that range, which no values in [0, 1] give) withdraws it (a second
  ``probabilities`` finding, its ``withdrawn`` field the step it was said at).
- ``d_loss_penalty``: a ``d_loss`` given without its halves that is not their sum, the halves computed
  from the logits by the loss: most often D's whole objective with a gradient penalty (WGAN-GP, R1) in
  it, which the built-in trainer's d_loss leaves out (README's metrics.csv table), or a loss with other
  targets (label smoothing).
- ``g_step_first``: a first row without a D update and a D update in every row after it: g_step called
  before d_step in each iteration, each row pairing a G update with the iteration before's D update.
- ``clipped_norm``: a gradient norm measured from the parameters (``d_params=``, ``g_params=``, or the
  Lightning callback's hook) that holds one value, to `CLIP_DIGITS` significant digits, on most of the
  rows: the gradients were clipped (``clip_grad_norm_(params, max_norm)`` leaves their norm at max_norm
  whenever it was above it) before the tracker read them, so the chart shows max_norm and an exploding
  norm (`exploding_gradients`) never shows. A norm that is not clipped never repeats so.

They read only the host values of rows already committed (no tensor op, no device sync: the training
loop's steps cost nothing more), and only a run's first rows: `CHECKED_ROWS` (the probabilities check, up to
`PROBABILITY_CHECKED_ROWS` for the rows with a D update it needs); each check decides on `DECIDING_ROWS`
rows that it can judge (`NO_D_LOSS_DECIDING_ROWS`, see above) and says what it found once. A probabilities
finding is then watched, a comparison a row, until a row withdraws it (for a misuse, all run long); a
run resumed after one goes on watching it (`RowChecks.said_before`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import torch

from gan_core.losses import GANLoss

CHECKED_ROWS = 100  # the rows of a run looked at, at most: then the checks end
DECIDING_ROWS = 50  # the rows each check judges before it decides
# the rows the probabilities check judges where no d_loss tells logits from probabilities: a review's young
# Lightning D (ring8 MLP, no d_loss returned) held every logit in (0, 1) for its first ~80 rows
NO_D_LOSS_DECIDING_ROWS = 200
# the rows the probabilities check reads, at most, to find the rows with a D update it decides on: a loop
# that updates D every other step, or skips one step's, needs more rows than those
PROBABILITY_CHECKED_ROWS = 4 * NO_D_LOSS_DECIDING_ROWS
PROBABILITY_SLACK = 1e-4  # float32's rounding of that mean
PENALTY_TOLERANCE = 1e-2  # |d_loss - (d_loss_real + d_loss_fake)| above this (times max(1, |d_loss|)):
# bfloat16's rounding of a d_loss summed in it reaches 5.5e-3 of it (review: 65-69% of a genuine bf16
# loop's rows were past 1e-3); a gradient penalty worth noting is larger
PENALTY_SHARE = 0.8  # the share of the judged rows that must differ
# |d_loss - (d_loss_real + d_loss_fake)| at most this (times max(1, |d_loss|)) in a row of a `probabilities`
# suspect: the loop's d_loss is the loss of the values as logits (a float32 loss and the halves computed
# here from the same values agree to ~1e-7). nn.BCELoss of sigmoid outputs p is -log p where the halves are
# softplus(-p); the two cross (at p near 0.66 on both sides) and differ by under 1e-2 on about 1.2 % of the
# (p_real, p_fake) square, by under 1e-4 on 0.012 %
LOGIT_LOSS_TOLERANCE = 1e-4

# the clipped_norm check: a norm's value rounded to this many significant digits (clip_grad_norm_ leaves a
# clipped norm at max_norm * (1 +- 1e-6)), and the share of the judged rows that must hold the same one
CLIP_DIGITS = 5
CLIP_SHARE = 0.5

# `_Update.given`'s order: the numbers d_step was given (loss_real, loss_fake, total, the gradient norm)
_REAL, _FAKE, _TOTAL, _NORM = 0, 1, 2, 3


def unit_outputs(loss: GANLoss) -> tuple[float, float]:
    """(output(0), output(1)): the range of a row's d_real or d_fake (the mean of the loss's output over
    the values passed) where every value is in [0, 1]: [0.5, sigmoid(1)] for a sigmoid loss, [0, 1] for
    hinge's raw scores."""
    low, high = loss.output(torch.tensor([0.0, 1.0], dtype=torch.float64)).tolist()
    return low, high


@dataclass(frozen=True)
class Finding:
    """One check's verdict: its name (``check``, the event's field), the step of the row it decided at,
    the message for people, and the numbers it read (the event's other fields)."""

    check: str
    step: int
    message: str
    fields: dict[str, Any] = field(default_factory=dict)


class RowChecks:
    """The checks of one run, fed its committed rows in order by `see` until `done`."""

    def __init__(self, loss: GANLoss | None, lightning: bool = False):
        """``lightning``: the run is a LightningModule's (`gan_core.tracking.lightning`): advice names what
        its ``training_step`` returns, not the tracking API's calls."""
        self.loss = loss
        self.lightning = lightning
        self._seen = 0
        # a loss whose threshold is 0 or below (a sigmoid loss's: 0, or below 0 under label smoothing;
        # hinge's 0), where values in [0, 1] are all called real; the range their mean output stays in
        self._probabilities = loss is not None and loss.threshold is not None and loss.threshold <= 0
        self._unit = unit_outputs(loss) if self._probabilities else (math.nan, math.nan)
        self._probability_rows = 0
        # of those rows, the ones whose d_loss (given without its halves) is the loss of the values as
        # logits: the user's loss took them as logits (`_see_probabilities`)
        self._logit_losses = 0
        # of those rows, the ones whose d_loss was given alone: what the logit-loss test could judge
        self._d_loss_only_rows = 0
        # the step it was said at, watched until a row proves the values logits (then withdrawn)
        self._probabilities_said: int | None = None
        # the halves are the named loss's own; with loss="" (another objective) the user's, or blank
        self._penalty = loss is not None
        self._penalty_rows = 0
        self._penalty_differing = 0
        self._penalty_total = 0.0
        # g_step before d_step: the first row without a D update, every one after it with one
        self._order = True
        self._order_rows = 0
        # clipped norms: each network's measured norms so far (rounded to CLIP_DIGITS), until decided
        self._clip: dict[str, list[float] | None] = {"d_grad_norm": [], "g_grad_norm": []}

    def said_before(self, step: int) -> None:
        """A run resumed after its probabilities finding at ``step`` (its newest ``probabilities`` event,
        not withdrawn): that finding is watched as if said in this process, so that a row proving the
        values logits withdraws it (a young D's Lightning fit resumed from its checkpoint kept the banner
        for ever), and the check is not made again (a loss it is not made for: nothing to watch)."""
        self._probabilities_said = step if self._probabilities else None
        self._probabilities = False

    @property
    def done(self) -> bool:
        return not (
            self._probabilities
            or self._penalty
            or self._order
            or self._probabilities_said is not None
            or any(norms is not None for norms in self._clip.values())
        )

    def see(
        self, record: Mapping[str, float], given: tuple[bool, ...] | None, g_measured: bool = False
    ) -> list[Finding]:
        """Judge one committed row (``record``: column -> host value) whose last D update was given the
        numbers ``given`` (`_Update.given`; None for a step without a D update), and whose G norm was
        measured from G's parameters (``g_measured``) rather than given; returns what was found: each
        check at most once a run, and a probabilities finding's withdrawal."""
        if self.done:
            return []
        self._seen += 1
        found = []
        if self._order:
            found += self._see_order(record, given)
        # (the Lightning callback measures both norms itself, in its hook, and passes them as given)
        if given is not None and (not given[_NORM] or self.lightning):
            found += self._see_clipped(record, "d_grad_norm")
        if g_measured or self.lightning:
            found += self._see_clipped(record, "g_grad_norm")
        if given is not None:
            if self._probabilities_said is not None:
                found += self._see_logits_after_all(record)
            if self._probabilities:
                found += self._see_probabilities(record, given)
                # probabilities explain a d_loss that is not the halves computed from them: said once
                self._penalty = self._penalty and not found
            if self._penalty:
                found += self._see_penalty(record, given)
        if self._seen >= CHECKED_ROWS:
            self._penalty = self._order = False
            self._clip = dict.fromkeys(self._clip)
            # (the probabilities check reads on until it has the rows with a D update it decides on)
            self._probabilities = self._probabilities and self._seen < PROBABILITY_CHECKED_ROWS
        return found

    def _see_clipped(self, record: Mapping[str, float], column: str) -> list[Finding]:
        """``clipped_norm``: of the first `DECIDING_ROWS` rows whose ``column`` (d_grad_norm, g_grad_norm)
        was measured from the parameters, finite and above 0 (a network with no gradient is no clip), at
        least `CLIP_SHARE` hold one value to `CLIP_DIGITS` significant digits."""
        norms = self._clip[column]
        value = record.get(column, math.nan)
        if norms is None or not (math.isfinite(value) and value > 0):
            return []
        norms.append(float(f"{value:.{CLIP_DIGITS - 1}e}"))
        if len(norms) < DECIDING_ROWS:
            return []
        self._clip[column] = None
        most = max(set(norms), key=norms.count)
        count = norms.count(most)
        if count < CLIP_SHARE * len(norms):
            return []
        step = int(record["step"])
        net = column[0].upper()
        if self.lightning:
            fix = (
                f"clip with self.clip_gradients({'opt_d' if net == 'D' else 'opt_g'}, gradient_clip_val="
                f"{most:.4g}, gradient_clip_algorithm='norm'), which the callback reads before it clips "
                "(a clip_grad_norm_ of your own runs before the callback's hook and is read clipped)"
            )
        else:
            call = "d_step" if net == "D" else "g_step"
            fix = (
                f"pass the norm clip_grad_norm_ returns: norm = clip_grad_norm_({net}.parameters(), "
                f"{most:.4g}); run.{call}(..., {column}=norm), in place of {net.lower()}_params="
            )
        message = (
            f"{column} is {most:.4g} in {count} of the first {len(norms)} rows that measured it (to step "
            f"{step}): {net}'s gradients were most likely clipped to that norm "
            f"(torch.nn.utils.clip_grad_norm_) before the tracker read them, so the chart shows the clipped "
            f"norm and an exploding one (exploding_gradients) cannot show. To record the norm before the "
            f"clip, {fix}"
        )
        return [Finding("clipped_norm", step, message, {"column": column, "value": most, "rows": count})]

    def _see_order(self, record: Mapping[str, float], given: tuple[bool, ...] | None) -> list[Finding]:
        """``g_step_first``: the run's first row has no D update and each of the next `DECIDING_ROWS` has
        one, what a loop that calls g_step before d_step in each iteration records (g_step ends a step and
        writes its row, with the D update made before it: the previous iteration's)."""
        if self._seen == 1:
            self._order = given is None and record.get("step") == 1.0  # (a continued run: no first step)
            return []
        if given is None:  # a step without a D update later on too: a loop that skips D, not this
            self._order = False
            return []
        self._order_rows += 1
        if self._order_rows < DECIDING_ROWS:
            return []
        self._order = False
        step = int(record["step"])
        message = (
            f"step 1's row has no D update and each of the next {self._order_rows} has one (to step {step}): "
            "the loop most likely calls g_step before d_step in each iteration. g_step ends a step and "
            "writes its row, so each row pairs a G update with the previous iteration's D update, and the "
            "last D update has no row. Call g_step last in each iteration, after d_step (G's gradients "
            "stay until its next zero_grad, so g_step may come after D's update)"
        )
        return [Finding("g_step_first", step, message, {"rows": self._order_rows})]

    def _see_probabilities(self, record: Mapping[str, float], given: tuple[bool, ...]) -> list[Finding]:
        """``probabilities``: every one of the first `DECIDING_ROWS` rows with a D update (where most gave
        ``d_loss`` alone; else `NO_D_LOSS_DECIDING_ROWS`) reads as sigmoid outputs passed as logits
        would (rows without D measures are passed over), unless most of those whose ``d_loss`` was given
        alone hold the loss of those values as logits (its halves, computed here, sum to it within
        `LOGIT_LOSS_TOLERANCE`): the user's own loss took them as logits, a young D's scores all in (0, 1)
        (a sigmoid D trained with nn.BCELoss gives -log p, which differs from softplus(-p) but where the
        two cross: see `LOGIT_LOSS_TOLERANCE`)."""
        acc_real, acc_fake = record.get("d_acc_real", math.nan), record.get("d_acc_fake", math.nan)
        d_real, d_fake = record.get("d_real", math.nan), record.get("d_fake", math.nan)
        if not all(math.isfinite(v) for v in (acc_real, acc_fake, d_real, d_fake)):
            return []  # a row with no D measures (a rank without an update): not judged
        if not (acc_real == 1 and acc_fake == 0 and self._of_unit(d_real) and self._of_unit(d_fake)):
            self._probabilities = False  # a D that is not all sigmoid outputs: no more to see
            return []
        self._probability_rows += 1
        # (hinge's loss of values in [0, 1] is the same as logits or as probabilities: it cannot say)
        if given[_TOTAL] and not (given[_REAL] or given[_FAKE]) and self.loss.probability_output:
            total, real, fake = (record.get(k, math.nan) for k in ("d_loss", "d_loss_real", "d_loss_fake"))
            self._d_loss_only_rows += 1
            self._logit_losses += bool(
                all(math.isfinite(v) for v in (total, real, fake))
                and abs(total - (real + fake)) <= LOGIT_LOSS_TOLERANCE * max(1.0, abs(total))
            )
        if self._probability_rows < DECIDING_ROWS:
            return []
        if self._logit_losses > self._probability_rows / 2:
            self._probabilities = False  # the loop's own loss took them as logits
            return []
        if (
            self._d_loss_only_rows <= self._probability_rows / 2
            and self._probability_rows < NO_D_LOSS_DECIDING_ROWS
        ):
            return []  # no d_loss said which: a young D's logits may sit in (0, 1) this long
        self._probabilities = False
        name = self.loss.name if self.loss is not None else ""
        threshold = self.loss.threshold if self.loss is not None else 0.0
        step = int(record["step"])
        rows = self._probability_rows
        self._probabilities_said = step
        passed, expects, fix = (
            (
                "The real_logits and fake_logits training_step returns",
                "They should be",
                "return D(x) itself, not torch.sigmoid(D(x))",
            )
            if self.lightning
            else ("d_step's logits", "d_step expects", "pass D(x) itself, not torch.sigmoid(D(x))")
        )
        low, high = self._unit
        if self.loss.probability_output:
            seen = f"stay within [{low:.4g}, {high:.4f}], what sigmoid makes of values in [0, 1]"
            drop = "drop it and train with BCEWithLogitsLoss"
        else:  # hinge: its mean raw scores
            seen = f"(the mean scores) stay within [{low:.4g}, {high:.4g}]"
            drop = f"drop it: {name} takes D's raw scores"
        message = (
            f"{passed} look like probabilities: in each of the first {rows} rows with a D "
            f"update (to step {step}) d_acc_real is 1 and d_acc_fake 0 (every score above {threshold:.3g}: "
            f"D calls every example real) and d_real, d_fake {seen}: they are most likely D's outputs "
            f"after a sigmoid. {expects} D's raw outputs before any sigmoid (for loss {name!r}, D says real "
            f"when the logit > {threshold:.3g}): {fix} (a D ending in nn.Sigmoid: {drop}); as passed, the "
            "accuracies, d_real, d_fake, the loss halves and the flags (g_overpowers) read them wrong. (Raw "
            "logits of a young D can all sit in (0, 1) too: if these are raw, this is withdrawn at the first "
            "row whose d_real or d_fake leaves that range)"
        )
        return [Finding("probabilities", step, message, {"rows": rows})]

    def _of_unit(self, value: float) -> bool:
        """Whether ``value`` (a row's d_real or d_fake: the mean output over the values passed) is one that
        values in [0, 1] give (`unit_outputs`), give or take float32's rounding."""
        low, high = self._unit
        return low - PROBABILITY_SLACK <= value <= high + PROBABILITY_SLACK

    def _see_logits_after_all(self, record: Mapping[str, float]) -> list[Finding]:
        """The ``probabilities`` finding withdrawn at the first row whose d_real or d_fake (the mean output
        of the values passed) is outside the range values in [0, 1] give (`unit_outputs`): they were
        logits (a young D's, all in (0, 1) until then)."""
        said = self._probabilities_said
        low, high = self._unit
        for name in ("d_real", "d_fake"):
            value = record.get(name, math.nan)
            if math.isfinite(value) and not self._of_unit(value):
                self._probabilities_said = None
                step = int(record["step"])
                which = (
                    f"below {low:.4g}, which only a negative value gives"
                    if value < low
                    else (f"above {high:.4f}, which only a value above 1 gives")
                )
                message = (
                    f"Withdrawn: the logits were not probabilities. At step {step} {name} is {value:.4g}, "
                    f"{which} (a probability is in [0, 1]): they are D's raw outputs, whose first rows all "
                    f"sat in (0, 1). What was said at step {said} does not hold; the accuracies, d_real, "
                    "d_fake and the flags read them right"
                )
                return [Finding("probabilities", step, message, {"withdrawn": said})]
        return []

    def _see_penalty(self, record: Mapping[str, float], given: tuple[bool, ...]) -> list[Finding]:
        if not given[_TOTAL] or (given[_REAL] and given[_FAKE]):
            return []  # d_loss computed here, or the user's own halves: their sum is theirs to make
        total, real, fake = (record.get(k, math.nan) for k in ("d_loss", "d_loss_real", "d_loss_fake"))
        if not all(math.isfinite(v) for v in (total, real, fake)):
            return []  # a divergence is the flags' to say
        difference = total - (real + fake)
        self._penalty_rows += 1
        self._penalty_total += difference
        self._penalty_differing += abs(difference) > PENALTY_TOLERANCE * max(1.0, abs(total))
        if self._penalty_rows < DECIDING_ROWS:
            return []
        self._penalty = False
        if self._penalty_differing < PENALTY_SHARE * self._penalty_rows:
            return []
        mean = self._penalty_total / self._penalty_rows
        step = int(record["step"])
        message = (
            f"d_loss differs from d_loss_real + d_loss_fake computed from the logits by {mean:+.4g} on "
            f"average (in {self._penalty_differing} of the first {self._penalty_rows} rows with a D update, "
            f"to step {step}): the row's d_loss is not the sum of its halves. If d_loss includes a penalty "
            "(a gradient penalty, R1), "
            + (
                "return D's loss without it as d_loss from training_step, as the built-in trainer records "
                "it, and the penalty as log={'gp': ...}; if its halves differ from the loss's own (label "
                "smoothing, other targets), return d_loss_real and d_loss_fake too"
                if self.lightning
                else "pass D's loss without it, as the built-in trainer records it, and log the penalty "
                "with run.log({'gp': ...}); if its halves differ from the loss's own (label smoothing, "
                "other targets), pass d_loss_real and d_loss_fake too"
            )
        )
        fields = {"rows": self._penalty_rows, "differing": self._penalty_differing, "mean_difference": mean}
        return [Finding("d_loss_penalty", step, message, fields)]
