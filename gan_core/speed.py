"""A run's speed as its progress line shows it: steps and samples per second of its own training clock,
and the time its steps left will take.

The Train view used to divide the steps between two of its refreshes by the wall time between them, over
the last 5 s. Rows reach a page in lumps (a run from a user's loop commits a batch every 0.25 s, a loaded
machine delays a refresh), so that rate swung between 1.2 and 9.3 steps/s, and its "about N s left"
between 150 and 1,200 s, on a run going a steady 2.4 steps/s. `StepRate` reads both ends from the rows
themselves (``step`` and ``time_s``, the run's training seconds, pauses excluded), so the lumps do not
count, averaged over the last `WINDOW_SECONDS` of that clock. `SampleRate` gives a multi-process job's
samples per second over the same window: the samples its steps trained over the time they took.

The time left (`StepRate.seconds_left`) is read from a steadier rate than the 20 s window's: on a loaded
2-core machine a run's own speed swings (68 to 504 steps/s from one 1,000 steps to the next on a watched
ring8 run), and "about N s left" from the window jumped with it, 138, 174, 83, 60, 112, 15 and 37 s at
20 s intervals. tqdm's ETA smooths its rate as (moving average of the steps) / (moving average of the
seconds) over its updates (``tqdm.std.EMA``, ``smoothing``); here both averages weigh each stretch of
rows by how long ago it was in training seconds, ``exp(-age / ETA_TIME_CONSTANT)``, not by refresh,
since refreshes come at irregular intervals and see a lump of rows or none.
"""

from __future__ import annotations

import math
import statistics
from collections import deque
from collections.abc import Mapping

WINDOW_SECONDS = 20.0  # of the run's training time
# The steps a run makes before its time left is said: its first steps are its slowest (the first batch's
# allocations, a first snapshot), and a review's 200-step loop read "about 2 min 8 s left" at step 5 (1.3
# steps/s) and was done in 25 s
ETA_MIN_STEPS = 20
ETA_TIME_CONSTANT = 60.0  # seconds of training time: the memory of the rate the time left is read from


def _finite(*values: float | None) -> bool:
    return all(v is not None and math.isfinite(v) for v in values)


class _Window:
    """The rows a meter has seen over the last ``window`` seconds (> 0) of a run's training clock: tuples
    whose first item is the row's time_s, increasing. `_take` keeps a row newer than the last; a row from
    an earlier time (a rewound or another run) starts the window again."""

    def __init__(self, window: float = WINDOW_SECONDS):
        if not window > 0:
            raise ValueError(f"window must be > 0 seconds, got {window!r}")
        self.window = float(window)
        self._rows: deque[tuple[float, ...]] = deque()

    def _take(self, row: tuple[float, ...], keep: bool = True) -> bool:
        """Keep ``row`` if it is newer than the last; True when it was kept."""
        time_s = row[0]
        if self._rows and time_s < self._rows[-1][0]:
            self._restart()
        if keep and (not self._rows or time_s > self._rows[-1][0]):
            self._rows.append(row)
            return True
        return False

    def _restart(self) -> None:
        self._rows.clear()

    def _trim(self, time_s: float, keep: int) -> None:
        """Drop the oldest rows while the next one is already ``window`` seconds before ``time_s``, down to
        ``keep`` rows: the window then starts at or before ``time_s - window``, as close to it as the rows
        seen allow."""
        while len(self._rows) > keep and self._rows[1][0] <= time_s - self.window:
            self._rows.popleft()


class StepRate(_Window):
    """Steps per second of training time over the last ``window`` seconds of it (> 0), from the rows
    seen: feed each refresh's newest row with `update`. `seconds_left` estimates the training seconds
    the steps left take from an exponentially weighted rate with a memory of ``time_constant`` seconds
    (> 0) of training, steadier than the window's (see the module's docstring)."""

    def __init__(self, window: float = WINDOW_SECONDS, time_constant: float = ETA_TIME_CONSTANT):
        super().__init__(window)
        if not (isinstance(time_constant, int | float) and 0 < time_constant < math.inf):
            raise ValueError(f"time_constant must be a finite number > 0 seconds, got {time_constant!r}")
        self.time_constant = float(time_constant)
        self._ema_steps = 0.0  # the weighted steps and training seconds of the rows seen (tqdm's EMA pair)
        self._ema_seconds = 0.0

    def _restart(self) -> None:
        super()._restart()
        self._ema_steps = self._ema_seconds = 0.0

    def update(self, time_s: float, step: float) -> float | None:
        """Add the newest row (``time_s``: its training seconds; ``step``) and return the rate over the
        window: (steps between its oldest row and this one) / (their training seconds apart), or, with
        less than a second between them (a run just started, or a page just opened), ``step / time_s``,
        the run's average so far. None when neither is defined (no training time yet). A row no newer
        than the last (the same row again) changes nothing; one from an earlier time (a rewound or
        another run) starts the window, and the time left's rate, again."""
        if not _finite(time_s, step):
            return self.rate(time_s, step)
        previous = self._rows[-1] if self._rows else None
        if self._take((time_s, step)):
            self._fold(previous, time_s, step)
        self._trim(time_s, keep=2)
        return self.rate(time_s, step)

    def _fold(self, previous: tuple[float, ...] | None, time_s: float, step: float) -> None:
        """Weigh the stretch since ``previous`` (the last row kept; None after a start) into the time
        left's rate. The first row stands for the run so far at its average, weighed as ``time_constant``
        seconds of it at most: a page opened late in a long run starts from that average, and its own
        rows outweigh it after about a time constant."""
        if previous is None or previous[0] > time_s:
            if time_s > 0 and step >= 0:
                self._ema_seconds = min(time_s, self.time_constant)
                self._ema_steps = step / time_s * self._ema_seconds
            return
        gap, steps = time_s - previous[0], step - previous[1]
        if steps < 0:  # fewer steps at a later time: another run's rows, or a rewind
            self._ema_steps = self._ema_seconds = 0.0
            return
        decay = math.exp(-gap / self.time_constant)
        self._ema_steps = self._ema_steps * decay + steps
        self._ema_seconds = self._ema_seconds * decay + gap

    def rate(self, time_s: float, step: float) -> float | None:
        """The window's rate at the row (``time_s``, ``step``), as `update` returns it (nothing is added)."""
        if self._rows:
            t0, s0 = self._rows[0]
            if time_s - t0 >= 1.0 and step >= s0:
                return (step - s0) / (time_s - t0)
        if _finite(time_s, step) and time_s > 0:
            return step / time_s
        return None

    @property
    def steady_rate(self) -> float | None:
        """Steps per training second, each stretch of the rows seen weighed by ``exp(-age /
        time_constant)`` (its age in training seconds): the rate `seconds_left` divides by. None before a
        row with training time, and while no step has been made in the time weighed."""
        if self._ema_seconds > 0 and self._ema_steps > 0:
            return self._ema_steps / self._ema_seconds
        return None

    def seconds_left(self, step: float, target: float) -> float | None:
        """Training seconds until ``target`` steps from ``step`` at `steady_rate`; 0 at or past it; None
        without a rate, and before step `ETA_MIN_STEPS`."""
        rate = self.steady_rate
        if not (_finite(step, target) and rate) or step < ETA_MIN_STEPS:
            return None
        return max(0.0, target - step) / rate


class SampleRate(_Window):
    """Samples per second of training time over the last ``window`` seconds of it (> 0), the window of
    `StepRate`: the samples trained between the window's oldest row and the newest over their training
    seconds apart, from the rows' ``step`` and ``time_s`` and each step's samples (one process's batch
    times its D updates, ``samples_per_step``).

    A row's ``samples_per_s`` is one step's samples over that step's time: it jumps with each step's
    time (a two-process job's read 14,921, 7,018 and 10,021 samples/s on refreshes while its steps/s
    held at 110-127), and a page sees one row in every hundred or so. The harmonic mean of those it
    saw, what this meter gave before, was a mean of a handful of steps, halved by one slow one (a paused
    step took 4x the others: 900 samples/s shown where metrics.csv gave 1,893 over its last 20 s).
    Where a run's samples per step are unknown (a loop of one's own, whose batch size the run does not
    record) the figure is the median of the rows' ``samples_per_s`` in the window: the typical step's
    rate, which one slow step does not move."""

    def update(
        self, time_s: float, step: float, samples_per_s: float, samples_per_step: float | None = None
    ) -> float | None:
        """Add the newest row (``time_s``: its training seconds; its ``step`` and ``samples_per_s``;
        ``samples_per_step``: the samples one of its steps trains, None or NaN when unknown) and return
        the window's samples per second. With ``samples_per_step`` known: (samples trained between the
        window's oldest row and this one) / (their training seconds apart), each stretch's steps times
        its newer row's samples per step; with less than a second between them, ``samples_per_step *
        step / time_s``, the run's average so far. Without it: the median of the window's finite,
        positive ``samples_per_s``. None when there is none to give. A row no newer than the last (the
        same row again) changes nothing; one from an earlier time (a rewound or another run) starts the
        window again."""
        per_step = samples_per_step if _finite(samples_per_step) and samples_per_step > 0 else math.nan
        if _finite(time_s, step):
            previous = self._rows[-1] if self._rows and self._rows[-1][0] <= time_s else None
            if previous is not None and _finite(previous[2]) and step >= previous[1]:
                samples = previous[2] + (step - previous[1]) * per_step
            else:  # the first row seen: the run so far at this row's samples per step
                samples = max(step, 0.0) * per_step
            self._take((time_s, step, samples, samples_per_s))
            self._trim(time_s, keep=2)
        if not self._rows:
            return None
        newest = self._rows[-1]
        if _finite(newest[2]):
            first = self._rows[0]
            if newest[0] - first[0] >= 1.0 and _finite(first[2]):
                return (newest[2] - first[2]) / (newest[0] - first[0])
            if newest[0] > 0:
                return per_step * newest[1] / newest[0] if _finite(per_step) else newest[2] / newest[0]
        rates = [row[3] for row in self._rows if _finite(row[3]) and row[3] > 0]
        return statistics.median(rates) if rates else None


def row_samples(latest: Mapping[str, float] | None, previous: Mapping[str, float] | None) -> float | None:
    """The samples one process trained in the step of row ``latest``: its ``samples_per_s`` (one step's
    samples over that step's time: `gan_core.track`'s rows, a loop's batch times its D updates) times
    that step's time, its ``time_s`` less the row before's (``previous``, the step before it). None when
    ``previous`` is not that step's row, or a value is missing, not finite or not positive."""
    if latest is None or previous is None:
        return None
    try:
        rate, step = float(latest["samples_per_s"]), float(latest["step"])
        seconds = float(latest["time_s"]) - float(previous["time_s"])
        consecutive = float(previous["step"]) == step - 1
    except (KeyError, TypeError, ValueError):
        return None
    samples = rate * seconds
    return samples if consecutive and math.isfinite(samples) and samples > 0 else None
