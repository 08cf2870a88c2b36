"""MetricStore against the raw rows it summarises: exact short runs, merged long runs, spikes, blanks,
bounded memory and reads, input checks, and a writer and a reader racing."""

import threading

import numpy as np
import pandas as pd
import pytest

from gan_core.store import MetricStore, shared_rows_per_point

COLUMNS = ("step", "a", "b")


def rows_of(n, start=1):
    """n rows of known functions: a wiggly ramp and a sawtooth with negative values."""
    steps = np.arange(start, start + n, dtype=np.float64)
    a = np.sin(steps / 37.0) * steps
    b = (steps % 13) - 6.5
    return np.column_stack([steps, a, b])


def assert_view_matches(view, data, metrics=("a", "b")):
    """Each point's mean/min/max/step must be those of the consecutive raw rows it covers."""
    rows = view["rows"].to_numpy()
    assert rows.min() >= 1
    assert rows.sum() == len(data)
    ends = np.cumsum(rows)
    starts = ends - rows
    np.testing.assert_array_equal(view["step"].to_numpy(), data[ends - 1, 0])
    assert np.all(np.diff(view["step"].to_numpy()) > 0)
    for j, c in enumerate(metrics, start=1):
        segments = [data[s:e, j] for s, e in zip(starts, ends)]
        finite = [seg[np.isfinite(seg)] for seg in segments]
        expected_mean = [seg.mean() if seg.size else np.nan for seg in finite]
        expected_min = [seg.min() if seg.size else np.nan for seg in finite]
        expected_max = [seg.max() if seg.size else np.nan for seg in finite]
        np.testing.assert_allclose(view[c].to_numpy(), expected_mean, rtol=1e-9, atol=1e-9)
        np.testing.assert_array_equal(view[f"{c}_min"].to_numpy(), expected_min)
        np.testing.assert_array_equal(view[f"{c}_max"].to_numpy(), expected_max)


def test_short_run_is_exact_and_latest_is_last_row():
    data = rows_of(300)
    store = MetricStore(COLUMNS, capacity=4096)
    for row in data:
        store.append(tuple(row))
    view = store.view(max_points=1000)
    assert list(view.columns) == ["step", "a", "a_min", "a_max", "b", "b_min", "b_max", "rows"]
    assert len(view) == 300
    np.testing.assert_array_equal(view["rows"].to_numpy(), np.ones(300))
    np.testing.assert_array_equal(view["step"].to_numpy(), data[:, 0])
    for j, c in enumerate(("a", "b"), start=1):
        for suffix in ("", "_min", "_max"):
            np.testing.assert_array_equal(view[c + suffix].to_numpy(), data[:, j])
    assert store.latest() == pytest.approx(dict(zip(COLUMNS, data[-1])), rel=0, abs=0)
    assert len(store) == 300
    assert store.last_step == 300.0
    assert store.bucket_size == 1


def test_empty_store():
    store = MetricStore(COLUMNS, capacity=16)
    assert store.latest() is None
    assert store.last_step is None
    assert len(store) == 0
    view = store.view()
    assert len(view) == 0
    assert list(view.columns) == ["step", "a", "a_min", "a_max", "b", "b_min", "b_max", "rows"]


@pytest.mark.parametrize("max_points", [7, 100, 1000])
def test_after_many_merges_points_summarise_their_rows(max_points):
    data = rows_of(10_000)
    store = MetricStore(COLUMNS, capacity=16)
    for row in data:
        store.append(tuple(row))
    # 10_000 rows in 16 buckets: merged down to buckets of 1024 rows, the rest in the partial bucket.
    assert store.bucket_size == 1024
    view = store.view(max_points=max_points)
    assert 1 <= len(view) <= min(max_points, 16 + 1)
    assert_view_matches(view, data)
    assert view["step"].iloc[-1] == 10_000.0
    assert store.latest()["step"] == 10_000.0


def test_requested_columns_only():
    data = rows_of(1000)
    store = MetricStore(COLUMNS, capacity=16)
    store.extend(data)
    view = store.view(max_points=5, columns=["b"])
    assert list(view.columns) == ["step", "b", "b_min", "b_max", "rows"]
    assert_view_matches(view, data[:, [0, 2]], metrics=("b",))
    with pytest.raises(ValueError, match="unknown columns"):
        store.view(columns=["nope"])


def test_single_spike_survives_downsampling():
    rng = np.random.default_rng(7)
    n = 200_000
    at = int(rng.integers(0, n))
    data = np.zeros((n, 2))
    data[:, 0] = np.arange(1, n + 1)
    data[at, 1] = 1e6
    store = MetricStore(("step", "loss"), capacity=256)
    store.extend(data)
    view = store.view(max_points=100)
    assert len(view) <= 100
    assert view["loss_max"].max() == 1e6
    assert view["loss_min"].min() == 0.0
    hit = int(np.flatnonzero(view["loss_max"].to_numpy() == 1e6)[0])
    assert (view["loss_max"].to_numpy() == 1e6).sum() == 1
    # the point covers the steps after the previous point's step up to its own
    low = view["step"].iloc[hit - 1] if hit else 0.0
    assert low < data[at, 0] <= view["step"].iloc[hit]
    assert view["loss"].iloc[hit] == pytest.approx(1e6 / view["rows"].iloc[hit], rel=1e-12)


def test_sparse_nan_column_means_are_nanmeans_and_empty_points_are_nan():
    n = 5000
    data = rows_of(n)
    data[:, 2] = np.nan
    data[::50, 2] = np.arange(0, n, 50) * 0.5  # an evaluation column filled every 50 rows
    store = MetricStore(COLUMNS, capacity=64)
    for row in data:
        store.append(tuple(row))
    assert_view_matches(store.view(max_points=1000), data)
    assert_view_matches(store.view(max_points=10), data)
    assert np.isnan(store.latest()["b"])

    # Short run, every point one row: the points between evaluations are NaN in mean, min and max.
    exact = MetricStore(COLUMNS, capacity=4096)
    exact.extend(data[:200])
    view = exact.view(max_points=1000)
    blank = view.iloc[1:50]
    assert blank[["b", "b_min", "b_max"]].isna().all().all()
    assert view["b"].iloc[50] == pytest.approx(25.0)
    assert view["b"].notna().sum() == 4


@pytest.mark.parametrize("how", ["append", "extend", "mixed"])
def test_previous_is_the_row_before_the_last_however_rows_came(how):
    """Across the stage's folds (every STAGE_ROWS appends) and extend's chunks: the row before the last."""
    from gan_core.store import STAGE_ROWS

    data = rows_of(3 * STAGE_ROWS + 5)
    store = MetricStore(COLUMNS, capacity=4096)
    assert store.previous() is None
    seen = 0
    for n in (
        1,
        2,
        STAGE_ROWS - 2,
        STAGE_ROWS - 1,
        STAGE_ROWS,
        STAGE_ROWS + 1,
        2 * STAGE_ROWS + 3,
        len(data),
    ):
        block = data[seen:n]
        if how == "append" or (how == "mixed" and n % 2):
            for row in block:
                store.append(tuple(row))
        else:
            store.extend(block)
        seen = n
        expected = None if n < 2 else dict(zip(COLUMNS, data[n - 2]))
        assert store.previous() == expected, (how, n)
        assert store.latest() == dict(zip(COLUMNS, data[n - 1]))


def test_infinities_are_blanks_in_the_summary_but_latest_is_as_given():
    store = MetricStore(COLUMNS, capacity=16)
    store.append((1.0, np.inf, 2.0))
    store.append((2.0, 4.0, -np.inf))
    view = store.view()
    assert view["a"].tolist()[1] == 4.0
    assert np.isnan(view["a"].iloc[0]) and np.isnan(view["b"].iloc[1])
    assert store.latest() == {"step": 2.0, "a": 4.0, "b": -np.inf}


def test_memory_is_bounded_by_capacity_not_run_length():
    store = MetricStore(COLUMNS, capacity=256)
    store.extend(rows_of(1_000))
    small = store.memory_bytes()
    store.extend(rows_of(299_000, start=1_001))
    large = store.memory_bytes()
    assert len(store) == 300_000
    assert abs(large - small) < 0.01 * small
    assert 0 < small < 100_000

    wide = MetricStore(["step"] + [f"m{i}" for i in range(29)], capacity=4096)
    assert wide.memory_bytes() < 10 * 2**20


@pytest.mark.parametrize("n", [10, 1_000, 100_000])
def test_view_size_is_bounded_and_ends_at_the_latest_step(n):
    data = rows_of(n)
    store = MetricStore(COLUMNS, capacity=4096)
    store.extend(data[:-1])
    store.append(tuple(data[-1]))  # the last row still staged: the view must include it
    view = store.view(max_points=100)
    assert 1 <= len(view) <= 100
    if n <= 100:
        assert len(view) == n  # nothing to downsample: one point per row
    assert view["step"].iloc[-1] == float(n) == store.last_step
    assert view["rows"].sum() == n


def test_wrong_row_length_and_bad_arguments_are_refused():
    store = MetricStore(COLUMNS, capacity=16)
    with pytest.raises(ValueError, match="expected 3"):
        store.append((1.0, 2.0))
    with pytest.raises(ValueError, match="expected 3"):
        store.append((1.0, 2.0, 3.0, 4.0))
    with pytest.raises(ValueError, match=r"\(n, 3\)"):
        store.extend(np.zeros((4, 2)))
    assert len(store) == 0
    with pytest.raises(ValueError, match="max_points"):
        store.view(max_points=0)
    for capacity in (0, 8, 14, 17, 4097, 16.0, True):
        with pytest.raises(ValueError, match="capacity"):
            MetricStore(COLUMNS, capacity=capacity)
    MetricStore(COLUMNS, capacity=16)  # the smallest allowed
    with pytest.raises(ValueError, match="unique"):
        MetricStore(("step", "a", "a"))
    with pytest.raises(ValueError, match="clashing"):
        MetricStore(("step", "a", "a_min"))
    with pytest.raises(ValueError, match="non-empty"):
        MetricStore(())


def test_extend_gives_the_same_view_as_appends():
    data = rows_of(20_000)
    data[::3, 1] = np.nan
    one_by_one = MetricStore(COLUMNS, capacity=32)
    for row in data:
        one_by_one.append(tuple(row))
    mixed = MetricStore(COLUMNS, capacity=32)
    for row in data[:10]:
        mixed.append(tuple(row))  # staged rows before a bulk extend must stay in order
    mixed.extend(data[10:12_345])
    mixed.extend(list(map(tuple, data[12_345:])))
    bulk = MetricStore(COLUMNS, capacity=32)
    bulk.extend(data)
    for max_points in (1000, 10):
        expected = one_by_one.view(max_points=max_points)
        pd.testing.assert_frame_equal(bulk.view(max_points=max_points), expected, rtol=1e-12)
        pd.testing.assert_frame_equal(mixed.view(max_points=max_points), expected, rtol=1e-12)
    assert bulk.latest() == mixed.latest() == pytest.approx(one_by_one.latest(), nan_ok=True)
    assert len(bulk) == len(mixed) == len(one_by_one) == 20_000
    assert_view_matches(bulk.view(max_points=7), data)


def test_clear_forgets_every_row():
    store = MetricStore(COLUMNS, capacity=16)
    store.extend(rows_of(1000))
    store.clear()
    assert len(store) == 0 and store.latest() is None and store.bucket_size == 1
    store.append((5.0, 1.0, 2.0))
    assert store.view()["rows"].tolist() == [1]
    assert store.view()["step"].tolist() == [5.0]


def test_concurrent_reader_sees_consistent_views_while_writer_appends():
    n = 50_000
    data = rows_of(n)
    store = MetricStore(COLUMNS, capacity=64)  # small, so merges happen often during the race
    errors = []
    reads = []
    writer_done = threading.Event()

    def write():
        try:
            for row in data:
                store.append(tuple(row))
        except Exception as exc:  # surfaced by the main thread's assertions
            errors.append(exc)
        finally:
            writer_done.set()

    def read():
        try:
            while True:
                finished = writer_done.is_set()
                before = len(store)
                view = store.view(max_points=50)
                after = len(store)
                reads.append((before, int(view["rows"].sum()), after))
                steps = view["step"].to_numpy()
                assert len(view) <= 50
                assert np.all(np.diff(steps) > 0)
                if len(view):
                    # every row summarised so far is a prefix of the data
                    assert steps[-1] == data[view["rows"].sum() - 1, 0]
                if finished:
                    return
        except Exception as exc:
            errors.append(exc)

    reader = threading.Thread(target=read)
    writer = threading.Thread(target=write)
    reader.start()
    writer.start()
    writer.join(timeout=60)
    reader.join(timeout=60)
    assert not errors, errors
    assert len(store) == n
    assert len(reads) >= 2
    for before, summarised, after in reads:
        assert before <= summarised <= after
    assert reads[-1] == (n, n, n)
    assert_view_matches(store.view(max_points=10), data)


@pytest.mark.parametrize("size", [1, 2, 4, 64, 1024])
def test_whole_buckets_are_reduced_as_numpy_reduces_them(size):
    """The fold's halving reduction (`store._pairwise`) gives numpy's own min, max and blank counts over
    a bucket's rows, NaN skipped, for every bucket size the store takes (powers of two)."""
    from gan_core.store import _pairwise

    rng = np.random.default_rng(size)
    rows = rng.normal(size=(7, size, 5))
    rows[rng.random(rows.shape) < 0.3] = np.nan
    rows[:, :, 4] = np.nan  # a column blank over whole buckets
    rows[0, 0, 1] = np.inf
    for op in (np.fmin, np.fmax):
        out = np.empty((7, 5))
        _pairwise(op, rows, out)
        np.testing.assert_array_equal(out, op.reduce(rows, axis=1))
    blanks = np.isnan(rows)
    counts = np.empty((7, 5), dtype=np.int64)
    _pairwise(np.add, blanks.view(np.uint8), counts, dtype=np.int32)
    np.testing.assert_array_equal(counts, blanks.sum(axis=1))
    assert counts[:, 4].tolist() == [size] * 7


def test_a_step_range_is_summarised_by_points_of_its_own_and_every_row_stays_in_one_point():
    """`view_columns(steps=(low, high))`: the buckets reaching into the range get up to ``max_points``
    points of their own (a zoomed chart), the rest the usual groups; rows, sums and extremes are kept."""
    store = MetricStore(["step", "x"], capacity=64)
    for step in range(1, 1001):
        store.append([step, float(step)])
    whole = store.view_columns(20)
    near = store.view_columns(20, steps=(400, 450))
    assert len(whole["step"]) <= 20 and whole["rows"].sum() == near["rows"].sum() == 1000
    assert np.all(np.diff(near["step"]) > 0) and near["step"][-1] == 1000
    inside = (near["step"] >= 400) & (near["step"] <= 464)  # (buckets of 16 steps: 385-400 ... 449-464)
    assert inside.sum() == 5 and ((whole["step"] >= 400) & (whole["step"] <= 464)).sum() == 1
    # each point's mean is its rows' (x = step): a bucket of steps 401-416 has mean 408.5
    assert near["x"][near["step"] == 416] == pytest.approx(408.5)
    assert near["x_min"].min() == 1 and near["x_max"].max() == 1000
    # a range finer than the store keeps: its buckets, one point each; beyond the run: as without one
    assert len(store.view_columns(20, steps=(401, 402))["step"]) <= 21
    beyond = store.view_columns(20, steps=(5000, 6000))
    assert all(np.array_equal(beyond[c], whole[c]) for c in whole)
    # a wide range: at most max_points of its own, about twice in all
    assert len(store.view_columns(20, steps=(0, 1000))["step"]) <= 2 * 20


@pytest.mark.parametrize("steps", [(5, 5), (6, 5), (float("nan"), 5), (0, float("inf"))])
def test_a_step_range_must_be_finite_and_rising(steps):
    store = MetricStore(["step", "x"], capacity=64)
    store.append([1, 1.0])
    with pytest.raises(ValueError, match="low < high"):
        store.view_columns(10, steps=steps)


def _filled(values: np.ndarray) -> MetricStore:
    store = MetricStore(["step", "d_loss"], capacity=64)
    for step, value in enumerate(values, start=1):
        store.append([float(step), float(value)])
    return store


def test_a_branch_and_its_parent_draw_their_shared_rows_as_the_same_points():
    """A review: a parent of 6,000 rows and its branch of 11,791 drew their first 5,500 identical rows as
    points of 6 and of 12 rows (different bands and peaks on Compare): one resolution for both."""
    gen = np.random.default_rng(0)
    shared = gen.normal(size=550)
    parent = _filled(np.concatenate([shared, gen.normal(size=50)]))  # 600 rows: buckets of 16
    branch = _filled(np.concatenate([shared, gen.normal(size=629)]))  # 1,179 rows: buckets of 32
    assert (parent.bucket_size, branch.bucket_size) == (16, 32)
    rows = shared_rows_per_point({"parent": parent, "branch": branch}, max_points=10)
    assert rows["parent"] == rows["branch"] and 118 <= rows["parent"] <= 160
    views = {
        name: store.view(10, rows_per_point=rows[name])
        for name, store in (("parent", parent), ("branch", branch))
    }
    assert len(views["parent"]) <= 10 and len(views["branch"]) <= 10
    inside = {name: view[view["step"] <= 550] for name, view in views.items()}
    assert len(inside["parent"]) >= 3
    pd.testing.assert_frame_equal(inside["parent"], inside["branch"])
    # each on its own (as before): the same rows drawn as other points
    alone = {name: store.view(10) for name, store in (("parent", parent), ("branch", branch))}
    assert alone["parent"]["rows"].iloc[0] != alone["branch"]["rows"].iloc[0]


def test_a_far_shorter_run_keeps_its_own_finer_points():
    long, short = _filled(np.zeros(1_000)), _filled(np.zeros(40))
    rows = shared_rows_per_point({"long": long, "short": short}, max_points=20)
    assert rows["short"] is None and rows["long"] >= 50
    assert len(short.view(20, rows_per_point=None)) == 20
    assert shared_rows_per_point({}, 5) == {}
    with pytest.raises(ValueError, match="max_points must be a positive int"):
        shared_rows_per_point({"long": long}, 0)
    with pytest.raises(ValueError, match="rows_per_point must be a positive int, got 0"):
        long.view(20, rows_per_point=0)
