"""A run's speed as its progress line shows it: steps per second of its own training clock.

The Train view used to divide the steps between two of its refreshes by the wall time between them, over
the last 5 s. Rows reach a page in lumps (a run from a user's loop commits a batch every 0.25 s, a loaded
machine delays a refresh), so that rate swung between 1.2 and 9.3 steps/s, and its "about N s left"
between 150 and 1,200 s, on a run going a steady 2.4 steps/s. `StepRate` reads both ends from the rows
themselves (``step`` and ``time_s``, the run's training seconds, pauses excluded), so the lumps do not
count, averaged over the last `WINDOW_SECONDS` of that clock. `SampleRate` does the same for a
multi-process job's samples per second.
"""

from __future__ import annotations

import math
from collections import deque

WINDOW_SECONDS = 20.0  # of the run's training time


class _Window:
    """The rows a meter has seen over the last ``window`` seconds (> 0) of a run's training clock: (time_s,
    value), time_s increasing. `_take` keeps a row newer than the last; a row from an earlier time (a
    rewound or another run) starts the window again."""

    def __init__(self, window: float = WINDOW_SECONDS):
        if not window > 0:
            raise ValueError(f"window must be > 0 seconds, got {window!r}")
        self.window = float(window)
        self._rows: deque[tuple[float, float]] = deque()

    def _take(self, time_s: float, value: float, keep: bool = True) -> None:
        if self._rows and time_s < self._rows[-1][0]:
            self._rows.clear()
        if keep and (not self._rows or time_s > self._rows[-1][0]):
            self._rows.append((time_s, value))


class StepRate(_Window):
    """Steps per second of training time over the last ``window`` seconds of it (> 0), from the rows
    seen: feed each refresh's newest row with `update`."""

    def update(self, time_s: float, step: float) -> float | None:
        """Add the newest row (``time_s``: its training seconds; ``step``) and return the rate over the
        window: (steps between its oldest row and this one) / (their training seconds apart), or, with
        less than a second between them (a run just started, or a page just opened), ``step / time_s``,
        the run's average so far. None when neither is defined (no training time yet). A row no newer
        than the last (the same row again) changes nothing; one from an earlier time (a rewound or
        another run) starts the window again."""
        if not (math.isfinite(time_s) and math.isfinite(step)):
            return self.rate(time_s, step)
        self._take(time_s, step)
        while len(self._rows) > 2 and self._rows[1][0] <= time_s - self.window:
            self._rows.popleft()
        return self.rate(time_s, step)

    def rate(self, time_s: float, step: float) -> float | None:
        if self._rows:
            t0, s0 = self._rows[0]
            if time_s - t0 >= 1.0 and step >= s0:
                return (step - s0) / (time_s - t0)
        if math.isfinite(time_s) and time_s > 0 and math.isfinite(step):
            return step / time_s
        return None


class SampleRate(_Window):
    """Samples per second of training time over the last ``window`` seconds of it (> 0), from the rows'
    ``samples_per_s``: each row's is one step's samples over that step's time, so it jumps with each
    step's time (a two-process job's read 14,921, 7,018 and 10,021 samples/s on refreshes while its
    steps/s held at 110-127). Their harmonic mean over the rows seen in the window is the samples trained
    over the time they took, exactly when every step trains as many samples (one batch size, one
    ``d_steps``): n steps of S samples in times t_i give n / sum(t_i / S) = n S / sum(t_i)."""

    def update(self, time_s: float, samples_per_s: float) -> float | None:
        """Add the newest row (``time_s``: its training seconds; its ``samples_per_s``) and return the
        harmonic mean of the rows seen in the last ``window`` seconds up to it; None before a row with a
        finite, positive rate. A row no newer than the last (the same row again) changes nothing; one from
        an earlier time (a rewound or another run) starts the window again; a row without a rate (NaN, 0)
        leaves the rows seen as they were."""
        if math.isfinite(time_s):
            self._take(time_s, samples_per_s, keep=math.isfinite(samples_per_s) and samples_per_s > 0)
            while len(self._rows) > 1 and self._rows[0][0] <= time_s - self.window:
                self._rows.popleft()
        if not self._rows:
            return None
        return len(self._rows) / sum(1.0 / rate for _, rate in self._rows)
