"""The progress line's speed: steps per second of the run's own training clock (gan_core.speed)."""

import numpy as np
import pytest

from gan_core.speed import SampleRate, StepRate, row_samples


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


def _job(seed: int = 0, steps: int = 15_000, batch: int = 64):
    """A job's steps: their times (4 to 12 ms each, about 120 s of training), its clock after each, and
    each row's samples_per_s (one step's batch over that step's time: 5,333 to 16,000)."""
    rng = np.random.default_rng(seed)
    step_times = rng.uniform(0.004, 0.012, steps)
    return step_times, np.cumsum(step_times), batch / step_times


def _in_window(step_times, clock, newest, batch=64, window=20.0):
    """The samples trained over the training seconds they took, every step from the window's start."""
    kept = (clock > clock[newest] - window) & (clock <= clock[newest])
    return batch * kept.sum() / step_times[kept].sum()


def test_a_jobs_samples_per_second_is_the_window_s_samples_over_its_time():
    """The figure is the samples trained over the time they took, read from the rows' step and time_s and
    the job's samples per step, not from the one-step samples_per_s of the few rows a page sees at its
    refreshes (about one a second of training here)."""
    step_times, clock, readings = _job()
    refreshes = list(range(0, 15_000, 125))
    meter = SampleRate(window=20.0)
    seen = [meter.update(float(clock[i]), float(i + 1), float(readings[i]), 64.0) for i in refreshes]
    true = _in_window(step_times, clock, refreshes[-1])
    assert seen[-1] == pytest.approx(true, rel=0.01)
    shown = [readings[i] for i in refreshes]
    assert max(shown) / min(shown) > 2.5  # the rows alone swing that much from refresh to refresh
    assert 1.0 <= max(seen[25:]) / min(seen[25:]) < 1.05  # the figure, once its window is full
    # the same window as the steps/s: samples per step times that rate
    rate = StepRate(window=20.0)
    steps_per_s = [rate.update(float(clock[i]), float(i + 1)) for i in refreshes]
    assert seen[-1] == pytest.approx(64.0 * steps_per_s[-1], rel=1e-9)


def test_one_slow_step_seen_at_a_refresh_does_not_move_the_samples_per_second():
    """A paused step took 4x the others, and the page's refresh saw its row: the harmonic mean of the
    rows seen (what the meter gave) fell from ~1,890 to ~900 samples/s per process; the samples over
    the time they took barely move (one step's extra time in 20 s of them)."""
    step_times = np.full(4000, 64 / 1893.0)  # a steady 1,893 samples/s per process: 29.6 steps/s
    slow = 3000
    step_times[slow] *= 4.0
    clock = np.cumsum(step_times)
    readings = 64 / step_times
    refreshes = [*range(2600, slow, 30), slow]  # one row a second; the last refresh sees the slow step
    meter = SampleRate(window=20.0)
    for i in refreshes:
        figure = meter.update(float(clock[i]), float(i + 1), float(readings[i]), 64.0)
    assert figure == pytest.approx(_in_window(step_times, clock, slow), rel=0.01)
    assert 1850 < figure < 1893
    harmonic = len(refreshes[-20:]) / sum(1.0 / readings[i] for i in refreshes[-20:])
    assert harmonic < 1893 * 0.9  # the rows' harmonic mean, for the record
    # without a known batch size (a loop of one's own): the median of the rows' rates, unmoved as well
    blind = SampleRate(window=20.0)
    for i in refreshes:
        figure = blind.update(float(clock[i]), float(i + 1), float(readings[i]))
    assert figure == pytest.approx(1893.0, rel=1e-9)


def test_the_samples_per_step_may_change_within_the_window():
    """d_steps raised from 1 to 2 mid-window: each stretch counts at its own samples per step."""
    meter = SampleRate(window=20.0)
    for t in range(0, 11):  # 10 steps/s of 64 samples for 10 s
        meter.update(float(t), 10.0 * t, 640.0, 64.0)
    for t in range(11, 21):  # then 10 steps/s of 128 samples
        last = meter.update(float(t), 10.0 * t, 1280.0, 128.0)
    assert last == pytest.approx((100 * 64 + 100 * 128) / 20.0)


def test_the_sample_rate_s_first_second_odd_rows_and_rewind():
    meter = SampleRate(window=10.0)
    assert meter.update(0.0, 0.0, float("nan"), 64.0) is None  # no training time yet, no rate in the row
    assert meter.update(0.5, 10.0, 999.0, 64.0) == pytest.approx(64 * 10 / 0.5)  # the run's average
    assert meter.update(2.0, 40.0, 999.0, 64.0) == pytest.approx(64 * 20.0)
    assert meter.update(2.0, 40.0, 5.0, 64.0) == pytest.approx(64 * 20.0)  # the same row again
    assert meter.update(float("nan"), 41.0, 5.0, 64.0) == pytest.approx(64 * 20.0)  # a row without a time
    assert meter.update(20.0, 400.0, 999.0, 64.0) == pytest.approx(64 * 20.0)  # the older rows left
    # an earlier time (the run rewound, or another run's rows): the window starts again
    assert meter.update(5.0, 50.0, 999.0, 64.0) == pytest.approx(64 * 10.0)
    # samples per step unknown: the median of the window's rows with a rate (NaN and 0 left out)
    blind = SampleRate(window=10.0)
    assert blind.update(1.0, 1.0, float("nan")) is None
    assert blind.update(2.0, 2.0, 100.0) == pytest.approx(100.0)
    assert blind.update(3.0, 3.0, 300.0, float("nan")) == pytest.approx(200.0)
    assert blind.update(4.0, 4.0, 0.0) == pytest.approx(200.0)
    assert blind.update(5.0, 5.0, 250.0) == pytest.approx(250.0)
    with pytest.raises(ValueError, match="window must be > 0"):
        SampleRate(window=-1)


def _noisy_run(seed: int, chunks: int = 60):
    """A run on a loaded machine: each 1,000 steps at a rate drawn from 68 to 504 steps/s (a watched
    ring8 run's range), as (its clock after each step, the steps)."""
    rng = np.random.default_rng(seed)
    step_times = np.repeat(1.0 / rng.uniform(68, 504, chunks), 1000)
    return np.cumsum(step_times), len(step_times)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_time_left_is_read_from_a_steady_rate(seed):
    """On a run whose speed swings 7x from one 1,000 steps to the next, the 20 s window's rate swings
    with it (0.4x to 1.7x the run's mean) and "about N s left" jumped; the rate the time left is read
    from stays within a quarter of the mean, and the time left it gives falls as the run goes on."""
    clock, steps = _noisy_run(seed)
    true = steps / clock[-1]
    meter = StepRate()
    window, steady, left, at, done = [], [], [], [], []
    t = 1.0
    while t < clock[-1]:  # a refresh every 1.3 s of training, each seeing the newest row
        i = int(np.searchsorted(clock, t, side="right")) - 1
        window.append(meter.update(float(clock[i]), float(i + 1)))
        steady.append(meter.steady_rate)
        left.append(meter.seconds_left(i + 1, steps))
        at.append(clock[i])
        done.append(i + 1)
        t += 1.3
    settled = np.array(at) > 60.0  # after a time constant of the run's training
    steady, window = np.array(steady)[settled], np.array(window)[settled]
    assert 0.75 * true <= steady.min() and steady.max() <= 1.25 * true
    assert window.max() / window.min() > 2.0  # the noise it is steady against
    assert steady.max() / steady.min() < 0.75 * window.max() / window.min()
    # the predicted end (time so far + time left) within 30% of the real one, from either side, and
    # moving over a range at most 60% of the window's (0.32-0.50 of it on these runs)
    ends = np.array(at)[settled] + np.array(left)[settled]
    assert 0.7 * clock[-1] <= ends.min() and ends.max() <= 1.3 * clock[-1]
    window_ends = np.array(at)[settled] + (steps - np.array(done)[settled]) / window
    assert np.ptp(ends) < 0.6 * np.ptp(window_ends)


def test_the_time_left_waits_for_the_runs_first_steps():
    """A 200-step loop said "about 2 min 8 s left" at step 5 (its slow first steps) and took 25 s."""
    from gan_core.speed import ETA_MIN_STEPS

    meter = StepRate()
    meter.update(3.8, 5.0)  # 1.3 steps/s so far
    assert meter.steady_rate == pytest.approx(5 / 3.8) and meter.seconds_left(5, 200) is None
    meter.update(5.7, float(ETA_MIN_STEPS))  # then 8 steps/s
    assert 1.0 < meter.steady_rate < 8.0
    assert meter.seconds_left(ETA_MIN_STEPS, 200) == pytest.approx((200 - ETA_MIN_STEPS) / meter.steady_rate)


def test_the_steady_rate_follows_a_lasting_change_and_starts_from_the_runs_average():
    meter = StepRate(time_constant=30.0)
    assert meter.steady_rate is None and meter.seconds_left(0, 100) is None
    # a page opened 600 s into a run that went 5 steps/s: it starts from that average
    meter.update(600.0, 3000.0)
    assert meter.steady_rate == pytest.approx(5.0)
    assert meter.seconds_left(3000, 3500) == pytest.approx(100.0)
    assert meter.seconds_left(3600, 3500) == 0.0  # past the target
    step = 3000.0
    for t in range(601, 721):  # then 1 step/s for four time constants: the rate follows
        step += 1.0
        meter.update(float(t), step)
    assert meter.steady_rate == pytest.approx(1.0, rel=0.1)
    assert meter.steady_rate > 1.0  # (what is left of the old rate, from above)
    # the run rewound (an earlier time): the rate starts again from the new rows' average
    meter.update(100.0, 200.0)
    assert meter.steady_rate == pytest.approx(2.0)
    with pytest.raises(ValueError, match="time_constant must be a finite number > 0"):
        StepRate(time_constant=0)


def test_a_loop_of_ones_own_gets_its_samples_per_step_from_its_newest_two_rows():
    """A tracked DDP loop's rows (batch 64 a step, its step times spread: every tenth step 3x the others,
    a snapshot or evaluation) seen by a page once a second: the median of the rows' per-step rates,
    which the meter gave without a batch size, read 37% high in a reviewer's job; each newest row's
    samples (its rate times its own step's time, `row_samples`) give the samples over their time."""
    rng = np.random.default_rng(0)
    step_times = rng.uniform(0.02, 0.03, 3000)
    step_times[::10] *= 3.0
    clock = np.cumsum(step_times)
    rows = [{"step": i + 1.0, "time_s": clock[i], "samples_per_s": 64 / step_times[i]} for i in range(3000)]
    true = 64 * 1000 / (clock[2999] - clock[1999])  # the last 1,000 steps' samples over their time
    meter, blind = SampleRate(window=20.0), SampleRate(window=20.0)
    for i in range(1999, 3000, 37):  # a refresh sees the newest row and the one before it
        latest, previous = rows[i], rows[i - 1]
        per_step = row_samples(latest, previous)
        assert per_step == pytest.approx(64.0, rel=1e-9)
        args = (latest["time_s"], latest["step"], latest["samples_per_s"])
        figure, median = meter.update(*args, per_step), blind.update(*args)
    assert figure == pytest.approx(true, rel=0.02)
    assert median > 1.1 * true  # what the page showed before (1.18x here), for the record


def test_row_samples_needs_the_step_before_and_finite_positive_values():
    latest = {"step": 10.0, "time_s": 5.0, "samples_per_s": 128.0}
    assert row_samples(latest, {"step": 9.0, "time_s": 4.5, "samples_per_s": 1.0}) == pytest.approx(64.0)
    assert row_samples(latest, {"step": 8.0, "time_s": 4.5}) is None  # not the step before
    assert row_samples(latest, None) is None and row_samples(None, latest) is None
    assert row_samples({**latest, "samples_per_s": float("nan")}, {"step": 9.0, "time_s": 4.5}) is None
    assert row_samples(latest, {"step": 9.0, "time_s": 5.0}) is None  # no time between: no figure
    assert row_samples({"step": 10.0, "time_s": 5.0}, {"step": 9.0, "time_s": 4.5}) is None  # no rate
