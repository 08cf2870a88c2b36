"""MetricStore keeps which non-finite values (NaN, +inf, -inf) each point held, through the partial
bucket, whole buckets, merges and view grouping, so that a chart can show them instead of a gap."""

import numpy as np
import pytest

from gan_core.store import NONFINITE_NAN, NONFINITE_NEGINF, NONFINITE_POSINF, MetricStore


def rows(n: int) -> np.ndarray:
    block = np.column_stack([np.arange(1, n + 1, dtype=np.float64), np.ones(n), np.full(n, 2.0)])
    return block


def test_view_without_the_option_is_unchanged():
    store = MetricStore(("step", "a", "b"), capacity=16)
    store.extend(rows(5))
    assert list(store.view().columns) == ["step", "a", "a_min", "a_max", "b", "b_min", "b_max", "rows"]
    assert list(store.view(nonfinite=True).columns) == [
        "step", "a", "a_min", "a_max", "a_nonfinite", "b", "b_min", "b_max", "b_nonfinite", "rows",
    ]  # fmt: skip


@pytest.mark.parametrize("by", ["append", "extend"])
def test_each_kind_is_kept_at_its_point(by):
    data = rows(10)
    data[2, 1] = np.nan
    data[5, 1] = np.inf
    data[7, 2] = -np.inf
    data[9, 1] = np.nan  # the last row, still in the partial bucket (or the stage)
    store = MetricStore(("step", "a", "b"), capacity=16)
    if by == "append":
        for row in data:
            store.append(tuple(row))
    else:
        store.extend(data)
    view = store.view(nonfinite=True)
    expected_a = np.zeros(10, dtype=np.uint8)
    expected_a[[2, 9]] = NONFINITE_NAN
    expected_a[5] = NONFINITE_POSINF
    expected_b = np.zeros(10, dtype=np.uint8)
    expected_b[7] = NONFINITE_NEGINF
    np.testing.assert_array_equal(view["a_nonfinite"].to_numpy(), expected_a)
    np.testing.assert_array_equal(view["b_nonfinite"].to_numpy(), expected_b)
    # the values themselves are still blanks, as before
    assert np.isnan(view["a"].to_numpy()[[2, 5, 9]]).all() and view["a"].to_numpy()[0] == 1.0


def test_kinds_survive_merges_and_view_grouping():
    data = rows(1000)
    data[100, 1] = np.nan
    data[100, 2] = np.inf
    data[900, 1] = -np.inf
    store = MetricStore(("step", "a", "b"), capacity=16)
    store.extend(data)
    assert store.bucket_size > 1  # merged
    view = store.view(nonfinite=True)
    last_step = view["step"].to_numpy()
    first = np.r_[0, last_step[:-1]] + 1  # the steps each point covers: first..last
    for row, column, bit in (
        (100, "a", NONFINITE_NAN),
        (100, "b", NONFINITE_POSINF),
        (900, "a", NONFINITE_NEGINF),
    ):
        step = data[row, 0]
        (at,) = np.flatnonzero((first <= step) & (step <= last_step))
        assert view[f"{column}_nonfinite"].iloc[at] == bit
    assert (view["a_nonfinite"].to_numpy() != 0).sum() == 2 and (
        view["b_nonfinite"].to_numpy() != 0
    ).sum() == 1
    grouped = store.view(max_points=3, nonfinite=True)
    assert len(grouped) <= 3
    assert np.bitwise_or.reduce(grouped["a_nonfinite"].to_numpy()) == NONFINITE_NAN | NONFINITE_NEGINF
    store.clear()
    store.extend(rows(4))
    assert (store.view(nonfinite=True)["a_nonfinite"] == 0).all()


def test_a_column_named_like_a_nonfinite_output_clashes():
    with pytest.raises(ValueError, match="clashing"):
        MetricStore(("step", "a", "a_nonfinite"))
