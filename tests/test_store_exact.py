"""MetricStore's exact rows (`exact_view`): the quality metrics, measured every eval_every steps, kept at
their own steps whatever the buckets do, within a fixed memory, and drawn from there by the Train view."""

import numpy as np
import plotly.graph_objects as go
import pytest

from gan_core import charts
from gan_core.store import NONFINITE_NAN, NONFINITE_POSINF, MetricStore
from gan_core.tracking.schema import EVAL_COLUMNS, RECORD_COLUMNS

COLUMNS = ("step", "loss", "fid", "kid")


def evaluated_rows(n: int, every: int, extra: tuple[int, ...] = ()) -> np.ndarray:
    """n rows (steps 1..n): ``loss`` on every row, ``fid`` and ``kid`` at every ``every``-th step and at
    the ``extra`` steps, blank (NaN) elsewhere."""
    steps = np.arange(1, n + 1, dtype=np.float64)
    rows = np.full((n, len(COLUMNS)), np.nan)
    rows[:, 0] = steps
    rows[:, 1] = np.cos(steps / 10)
    measured = (steps % every == 0) | np.isin(steps, extra)
    rows[measured, 2] = steps[measured] / 100
    rows[measured, 3] = steps[measured] / 1000
    return rows


def test_evaluations_stay_at_their_own_steps_after_the_buckets_merge():
    rows = evaluated_rows(5_000, 500, extra=(1_250, 3_333))
    store = MetricStore(COLUMNS, capacity=64, exact=("fid", "kid"))
    for row in rows:
        store.append(row)
    assert store.bucket_size >= 64  # merged many times: a bucket covers dozens of steps
    exact = store.exact_view()
    expected = sorted([*range(500, 5_001, 500), 1_250, 3_333])
    assert exact["step"].tolist() == expected
    np.testing.assert_array_equal(exact["fid"].to_numpy(), np.array(expected) / 100)
    np.testing.assert_array_equal(exact["kid_min"].to_numpy(), np.array(expected) / 1000)
    np.testing.assert_array_equal(exact["kid_max"].to_numpy(), np.array(expected) / 1000)
    assert exact["rows"].tolist() == [1] * len(expected)
    assert (exact["fid_nonfinite"] == 0).all()
    # the summary, by contrast, puts the evaluation at step 1,250 at the end of the bucket that holds it
    summary = store.view(1_000, ["fid"])
    measured_at = summary.loc[summary["fid"].notna(), "step"].tolist()
    assert 1_250 not in measured_at and len(measured_at) == len(expected)


def test_extend_keeps_the_same_rows_as_appends_and_clear_forgets_them():
    rows = evaluated_rows(3_000, 100)
    one_by_one = MetricStore(COLUMNS, capacity=32, exact=("fid", "kid"))
    for row in rows:
        one_by_one.append(row)
    at_once = MetricStore(COLUMNS, capacity=32, exact=("fid", "kid"))
    at_once.extend(rows)
    assert one_by_one.exact_view().equals(at_once.exact_view())
    assert len(at_once.exact_view()) == 30
    assert at_once.exact_measured == ("fid", "kid")
    at_once.clear()
    assert len(at_once.exact_view()) == 0 and list(at_once.exact_view().columns)[0] == "step"
    assert at_once.exact_measured == ()


def test_infinities_are_kept_as_bits_and_rows_of_another_column_are_left_out():
    rows = evaluated_rows(400, 100)
    rows[199, 2] = np.inf  # step 200: fid infinite (kid measured)
    rows[249, 3] = 0.5  # step 250: kid alone
    store = MetricStore(COLUMNS, exact=("fid", "kid"))
    assert store.exact_measured == ()
    store.extend(rows[:200])
    assert store.exact_measured == ("fid", "kid")  # an infinity is a value measured
    store.extend(rows[200:])
    fid = store.exact_view(["fid"])
    assert fid["step"].tolist() == [100, 200, 300, 400]
    assert np.isnan(fid["fid"].iloc[1]) and fid["fid_nonfinite"].iloc[1] == NONFINITE_POSINF
    both = store.exact_view()
    assert both["step"].tolist() == [100, 200, 250, 300, 400]
    assert np.isnan(both["fid"].iloc[2]) and both["fid_nonfinite"].iloc[2] == NONFINITE_NAN
    assert both["kid"].iloc[2] == 0.5


@pytest.mark.parametrize("appended", [17, 100, 1_000])
def test_past_capacity_the_rows_kept_are_evenly_spread_and_end_with_the_newest(appended):
    capacity = 16
    store = MetricStore(COLUMNS, capacity=capacity, exact=("fid",))
    memory = store.memory_bytes()
    rows = evaluated_rows(appended * 10, 10)  # one evaluation every 10 steps
    for row in rows:
        store.append(row)
    steps = store.exact_view()["step"].to_numpy()
    assert store.memory_bytes() == memory
    assert capacity // 2 <= len(steps) <= capacity + 1
    assert steps[-1] == appended * 10  # the newest evaluation is always there
    gaps = np.diff(steps)
    assert steps[0] == 10 and gaps[:-1].min() == gaps[:-1].max()  # every stride-th from the first
    assert 0 < gaps[-1] <= gaps[0]  # then the newest, on its stride or after it
    assert gaps[0] <= 10 * (2 * appended // capacity + 1)


def test_default_exact_columns_are_the_evaluation_columns_and_names_are_checked():
    store = MetricStore(RECORD_COLUMNS, capacity=16)
    assert store.exact_columns == tuple(c for c in RECORD_COLUMNS if c in EVAL_COLUMNS)
    assert len(MetricStore(COLUMNS, exact=()).exact_view()) == 0
    with pytest.raises(ValueError, match="not metrics"):
        MetricStore(COLUMNS, exact=("fidd",))
    with pytest.raises(ValueError, match="not metrics"):
        MetricStore(COLUMNS, exact=("step",))
    with pytest.raises(ValueError, match="not kept exactly"):
        MetricStore(COLUMNS, exact=("fid",)).exact_view(["loss"])


def test_train_view_draws_each_evaluation_at_its_step():
    """The Train view's charts after 10,000 steps, where the downsampled view's buckets cover several
    steps: the Coverage chart's points are the evaluations' (`charts.evaluations`), and its version
    (`MetricStore.exact_version`) changes with an evaluation only."""
    n = 10_000
    rows = np.full((n, len(RECORD_COLUMNS)), np.nan)
    rows[:, 0] = np.arange(1, n + 1)
    rows[:, RECORD_COLUMNS.index("g_loss")] = 1.0
    evaluated = [*range(500, n + 1, 500), 1_250]
    covered = RECORD_COLUMNS.index("classes_covered")
    for step in evaluated:
        rows[step - 1, covered] = step % 10
    store = MetricStore(RECORD_COLUMNS)
    store.extend(rows)
    frame = charts.metric_view(store, 300)
    assert len(frame) <= 300 and "classes_covered" not in frame and "g_loss" in frame
    version = store.exact_version
    coverage = go.Figure(charts.quality_figures(charts.evaluations(store))["coverage"])  # validated
    (line,) = [t for t in coverage.data if t.name == "classes_covered"]
    assert list(line.x) == sorted(evaluated)
    assert list(line.y) == [s % 10 for s in sorted(evaluated)]
    store.append([n + 1, *[np.nan] * (len(RECORD_COLUMNS) - 1)])  # a step without evaluation
    assert store.exact_version == version
    row = rows[-1].copy()
    row[0], row[covered] = n + 2, 7.0  # then one with
    store.append(row)
    assert store.exact_version == (version[0], version[1] + 1)
    assert charts.evaluations(store)["step"].iloc[-1] == n + 2
    assert MetricStore(RECORD_COLUMNS).exact_version[0] != version[0]  # another store: another version
