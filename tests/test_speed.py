"""The progress line's speed: steps per second of the run's own training clock (gan_core.speed)."""

import numpy as np
import pytest

from gan_core.speed import SampleRate, StepRate


def test_rows_arriving_in_lumps_give_the_runs_steady_rate():
    """A run going a steady 2.4 steps/s whose rows reach the page in lumps: the rate read from the rows'
    own time_s stays at 2.4, where steps per wall second between refreshes swung from 1.2 to 9.3."""
    rate = StepRate(window=20.0)
    rows = [(t / 2.4, float(t)) for t in range(1, 301)]  # (time_s, step): 2.4 steps a second
    seen = []
    for lump in range(0, 300, 23):  # a refresh sees only the newest row of whatever arrived
        time_s, step = rows[min(lump + 22, 299)]
        seen.append(rate.update(time_s, step))
    assert all(r == pytest.approx(2.4, rel=1e-9) for r in seen)


def test_the_rate_follows_a_change_within_the_window():
    rate = StepRate(window=10.0)
    for t in range(0, 31):  # 5 steps/s for 30 s
        rate.update(float(t), 5.0 * t)
    assert rate.update(30.0, 150.0) == pytest.approx(5.0)
    step = 150.0
    for t in range(31, 61):  # then 1 step/s: after a window of it, the rate is 1
        step += 1.0
        last = rate.update(float(t), step)
    assert last == pytest.approx(1.0, abs=0.11)
    assert last > 0.9


def test_the_first_second_and_odd_rows():
    rate = StepRate()
    assert rate.update(0.0, 0.0) is None  # no training time yet: no rate
    assert rate.update(0.5, 10.0) == pytest.approx(20.0)  # under a second in: the run's own average
    assert rate.update(0.5, 10.0) == pytest.approx(20.0)  # the same row again changes nothing
    assert rate.update(2.0, 40.0) == pytest.approx(20.0)
    # an earlier time (the run rewound, or another run's rows): the window starts again
    assert rate.update(1.0, 5.0) == pytest.approx(5.0)
    assert rate.update(float("nan"), 5.0) is None
    with pytest.raises(ValueError, match="window must be > 0"):
        StepRate(window=0)


def test_a_jobs_samples_per_second_is_the_window_s_samples_over_its_time():
    """Each row's samples_per_s is one step's (its batch over that step's time), so it jumps with the
    step's time; the progress line's figure is the samples trained over the time they took, read from the
    rows a page sees at its refreshes (about one a second of training here)."""
    rng = np.random.default_rng(0)
    step_times = rng.uniform(0.004, 0.012, 15_000)  # 15,000 steps of 64 samples each, 4 to 12 ms each
    clock = np.cumsum(step_times)  # about 120 s of training
    readings = 64 / step_times  # what each row holds: 5,333 to 16,000 samples/s
    refreshes = list(range(0, 15_000, 125))
    meter = SampleRate(window=20.0)
    seen = [meter.update(float(clock[i]), float(readings[i])) for i in refreshes]
    newest = refreshes[-1]
    in_window = (clock > clock[newest] - 20.0) & (clock <= clock[newest])
    true = 64 * in_window.sum() / step_times[in_window].sum()  # samples over seconds, every step
    assert 0.9 * true <= seen[-1] <= 1.1 * true
    shown = [readings[i] for i in refreshes]
    assert max(shown) / min(shown) > 2.5  # the rows alone swing that much from refresh to refresh
    assert 1.0 < max(seen[25:]) / min(seen[25:]) < 1.3  # the figure, once its window is full
    # the arithmetic mean of the readings would be biased high, the harmonic one is not
    seen_in_window = [readings[i] for i in refreshes if in_window[i]]
    assert np.mean(seen_in_window) > 1.1 * true


def test_the_sample_rate_skips_rows_without_one_and_restarts_on_rewind():
    meter = SampleRate(window=10.0)
    assert meter.update(1.0, float("nan")) is None  # a row without a rate: none yet
    assert meter.update(2.0, 100.0) == pytest.approx(100.0)
    assert meter.update(3.0, 300.0) == pytest.approx(150.0)  # 2 / (1/100 + 1/300)
    assert meter.update(3.0, 999.0) == pytest.approx(150.0)  # the same row again changes nothing
    assert meter.update(4.0, 0.0) == pytest.approx(150.0)  # no rate in that row: the window as it was
    assert meter.update(20.0, 50.0) == pytest.approx(50.0)  # the older rows left the window
    assert meter.update(5.0, 80.0) == pytest.approx(80.0)  # an earlier time: the window starts again
    with pytest.raises(ValueError, match="window must be > 0"):
        SampleRate(window=-1)
