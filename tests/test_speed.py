"""The progress line's speed: steps per second of the run's own training clock (gan_core.speed)."""

import pytest

from gan_core.speed import StepRate


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
