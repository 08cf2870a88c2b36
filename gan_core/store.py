"""The in-memory metric store the live charts read: constant-cost appends, bounded memory, bounded reads.

The training thread appends one row of floats per generator step (`RECORD_COLUMNS` order, step first);
the dashboard reads a downsampled `view()` about once a second. Keeping every row would grow without
bound, so the store keeps a multi-resolution summary instead:

- a fixed number (``capacity``) of buckets, each summarising ``bucket_size`` consecutive rows by, per
  column, the min, max, sum and count of finite values, plus the first and last step it covers;
- ``bucket_size`` starts at 1, so a run shorter than ``capacity`` rows is kept exactly; when the buckets
  are full and another one must be committed, adjacent pairs are merged in place (count halves,
  ``bucket_size`` doubles), so memory is the same for a thousand steps or a hundred million;
- the rows of the bucket still filling (the "partial" bucket) are summarised in small vectors and shown
  by `view()`, so the latest step is always on the chart.

NaN (and ±inf, which no chart can draw) is a blank: it is not counted, and a column that is blank over
a whole point reads NaN there (e.g. evaluation columns filled only every N steps). Which non-finite
values a point held is kept beside it, one byte per bucket and column (`NONFINITE_NAN` | `NONFINITE_POSINF`
| `NONFINITE_NEGINF`), and `view(nonfinite=True)` gives it, so that a chart can show a NaN or an
infinity (a diverged step) rather than a gap that looks like a value not measured.

Appends go to a small staging block of raw rows that is folded into the summary, vectorised, every
`STAGE_ROWS` rows or when a reader looks; one numpy row assignment under the lock (about 1 µs) measured
several times cheaper than updating per-column accumulators on every row.

Columns measured only on some rows (the quality metrics, every ``eval_every`` steps: `EVAL_COLUMNS`) are
also kept row by row, exactly, at the rows that hold a value of one of them (`exact_view`): a chart of
evaluations then shows each one at its own step and changes only when an evaluation is added, where the
summary would put it at its bucket's last step and move it when buckets merge.

Every method takes one `threading.Lock`, so a reader never sees a half-merged summary; `view()` copies
what it needs under the lock and does the downsampling and the DataFrame outside it.
"""

from __future__ import annotations

import itertools
import math
import threading
from collections.abc import Iterable, Mapping, Sequence
from numbers import Integral

import numpy as np
import pandas as pd

from gan_core.tracking.schema import EVAL_COLUMNS

_GENERATIONS = itertools.count()  # `MetricStore.exact_version`: no two stores (or clears) share one
STAGE_ROWS = 64  # raw rows buffered before a vectorised fold; 64 x 30 floats is 15 KB
EXTEND_CHUNK_ROWS = 65_536  # extend() releases the lock between chunks so readers are not starved
MIN_CAPACITY = 16
# Bits of a point's ``<column>_nonfinite`` value in `MetricStore.view(nonfinite=True)`
NONFINITE_NAN = 1
NONFINITE_POSINF = 2
NONFINITE_NEGINF = 4


def _pairwise(op: np.ufunc, rows: np.ndarray, out: np.ndarray, dtype: type | None = None) -> None:
    """``op`` reduced over axis 1 of ``rows`` (n, size, columns) into ``out`` (n, columns), for ``size`` a
    power of two (a bucket's rows): halves folded onto each other, log2(size) calls on contiguous runs of
    memory. Measured 2.5 to 5 times as fast as ``op.reduce(rows, axis=1)`` for fmin and fmax, whose
    numpy loop walks the middle axis element by element (numpy 2.4, 28,000 x 44 rows: 0.9 against 3.6 ms;
    `python -m benchmarks.open_run`). The same values (min and max are exact in any order, a zero's sign
    aside); ``dtype`` (the counts' int32) holds the sum of ``size`` booleans exactly."""
    size = rows.shape[1]
    if size == 1:
        np.copyto(out, rows[:, 0], casting="unsafe")
        return
    half = size // 2
    work = op(rows[:, :half], rows[:, half:], dtype=dtype)
    while half > 1:
        half //= 2
        op(work[:, :half], work[:, half : 2 * half], out=work[:, :half])
    np.copyto(out, work[:, 0], casting="unsafe")


def _nonfinite_bits(block: np.ndarray) -> np.ndarray:
    return (
        np.isnan(block) * np.uint8(NONFINITE_NAN)
        | np.isposinf(block) * np.uint8(NONFINITE_POSINF)
        | np.isneginf(block) * np.uint8(NONFINITE_NEGINF)
    ).astype(np.uint8)


class MetricStore:
    """Thread-safe, bounded summary of a run's metric rows for live plotting.

    ``columns[0]`` is the step column; the others are metrics. ``capacity`` buckets (even, at least 16)
    are kept: memory is about ``capacity * len(columns) * 32`` bytes whatever the run length.

    ``exact``: metrics that are blank (NaN) on most rows and also kept row by row at the rows where one of
    them holds a value (`exact_view`), at most ``capacity`` such rows (``capacity * (1 + len(exact)) * 8``
    bytes); None (the default) means the columns of `schema.EVAL_COLUMNS` among ``columns``. `ValueError`
    for a name that is not a metric of ``columns``.
    """

    def __init__(self, columns: Sequence[str], capacity: int = 4096, *, exact: Sequence[str] | None = None):
        columns = tuple(columns)
        if not columns or not all(isinstance(c, str) and c for c in columns):
            raise ValueError(f"columns must be a non-empty sequence of non-empty strings, got {columns!r}")
        if len(set(columns)) != len(columns):
            raise ValueError(f"columns must be unique, got {columns!r}")
        output_names = ["step", "rows"] + [
            f"{c}{s}" for c in columns[1:] for s in ("", "_min", "_max", "_nonfinite")
        ]
        if len(set(output_names)) != len(output_names):
            # e.g. metrics "loss" and "loss_min", or a metric called "rows": the view's names would clash
            raise ValueError(f"columns {columns!r} give clashing view column names {sorted(output_names)}")
        if isinstance(capacity, bool) or not isinstance(capacity, Integral):
            raise ValueError(f"capacity must be an int, got {capacity!r}")
        if capacity < MIN_CAPACITY or capacity % 2:
            # even, because a full set of buckets is merged in adjacent pairs
            raise ValueError(f"capacity must be an even number >= {MIN_CAPACITY}, got {capacity}")
        self._columns = columns
        self._index = {c: i for i, c in enumerate(columns)}
        self._capacity = int(capacity)
        self._lock = threading.Lock()
        ncol = len(columns)
        self._min = np.empty((self._capacity, ncol))
        self._max = np.empty((self._capacity, ncol))
        self._sum = np.empty((self._capacity, ncol))
        self._count = np.empty((self._capacity, ncol), dtype=np.int64)
        self._bad = np.empty((self._capacity, ncol), dtype=np.uint8)  # non-finite kinds seen, OR-ed
        self._first_step = np.empty(self._capacity)
        self._last_step = np.empty(self._capacity)
        self._p_min = np.empty(ncol)
        self._p_max = np.empty(ncol)
        self._p_sum = np.empty(ncol)
        self._p_count = np.empty(ncol, dtype=np.int64)
        self._p_bad = np.empty(ncol, dtype=np.uint8)
        self._stage = np.empty((STAGE_ROWS, ncol))
        self._last_row = np.empty(ncol)  # the last appended row as given (inf kept), once the stage is folded
        self._prev_row = np.empty(ncol)  # the row appended before it, likewise
        if exact is None:
            exact = [c for c in columns[1:] if c in EVAL_COLUMNS]
        exact = tuple(dict.fromkeys(exact))
        strays = [c for c in exact if c not in self._index or c == columns[0]]
        if strays:
            raise ValueError(f"exact columns {strays} are not metrics of {columns!r}")
        self._exact = exact
        self._exact_idx = [self._index[c] for c in exact]
        # (step, the exact columns as given) at the rows where one of them holds a value, oldest first
        self._x = np.empty((self._capacity, 1 + len(exact)))
        self._x_last = np.empty(1 + len(exact))  # the newest of them, kept or not
        self._reset()

    def _reset(self) -> None:
        self._n_rows = 0
        self._n_buckets = 0
        self._bucket_size = 1
        self._n_stage = 0
        self._n_exact = 0
        self._exact_stride = 1  # rows kept in `_x`: every stride-th of those measured (see `_keep_exact`)
        self._exact_seen = 0  # rows with a value in an exact column, since the start
        self._exact_generation = next(_GENERATIONS)
        self._x_measured = np.zeros(len(self._exact), dtype=bool)  # which exact columns held a value
        self._reset_partial()

    def _reset_partial(self) -> None:
        self._p_min.fill(np.nan)
        self._p_max.fill(np.nan)
        self._p_sum.fill(0.0)
        self._p_count.fill(0)
        self._p_bad.fill(0)
        self._p_rows = 0
        self._p_first = math.nan
        self._p_last = math.nan

    # ----------------------------------------------------------------------------------------- writing

    def append(self, row: Sequence[float]) -> None:
        """Add one row (floats in `columns` order). Constant cost; the hot path of the training loop."""
        if len(row) != len(self._columns):
            raise ValueError(f"row has {len(row)} values, expected {len(self._columns)} ({self._columns})")
        with self._lock:
            self._stage[self._n_stage] = row
            self._n_stage += 1
            self._n_rows += 1
            if self._n_stage == STAGE_ROWS:
                self._fold_stage()

    def extend(self, rows: Iterable[Sequence[float]] | np.ndarray, *, owned: bool = False) -> None:
        """Add many rows at once (e.g. a finished run's CSV); same result as appending them one by one.

        ``owned``: ``rows`` is a float64 array the caller gives up (its non-finite cells are overwritten);
        it is then not copied (a 1,000,000-row file: 240 MB less to copy)."""
        block = np.asarray(rows if isinstance(rows, np.ndarray) else list(rows), dtype=np.float64)
        if block.size == 0:
            return
        if block.ndim != 2 or block.shape[1] != len(self._columns):
            raise ValueError(
                f"rows must be (n, {len(self._columns)}) in columns order {self._columns}, got {block.shape}"
            )
        for start in range(0, len(block), EXTEND_CHUNK_ROWS):
            chunk = block[start : start + EXTEND_CHUNK_ROWS]
            if block is rows and not owned:  # the caller's own array: blanked below, so copied first
                chunk = np.array(chunk)
            with self._lock:
                self._fold_stage()  # the staged rows come first
                self._prev_row[:] = chunk[-2] if len(chunk) > 1 else self._last_row
                self._last_row[:] = chunk[-1]
                self._n_rows += len(chunk)
                self._fold(chunk)

    def clear(self) -> None:
        """Forget every row (capacity and columns stay)."""
        with self._lock:
            self._reset()

    def _fold_stage(self) -> None:
        """Fold the staged raw rows into the summary. Caller holds the lock."""
        if self._n_stage == 0:
            return
        block = self._stage[: self._n_stage]
        self._prev_row[:] = block[-2] if len(block) > 1 else self._last_row
        self._last_row[:] = block[-1]
        self._n_stage = 0
        self._fold(block)

    def _fold(self, block: np.ndarray) -> None:
        """Summarise raw rows into the partial bucket and whole buckets. Caller holds the lock.

        ``block`` is overwritten (non-finite values become NaN, their kinds kept as bits).
        """
        # Each pass over a block costs about as much as a reduction: the NaN and inf masks once each, the
        # bits and the blanking only when an infinity is there (a run's NaN is common: every evaluation
        # column between evaluations; inf is rare). NONFINITE_NAN is 1, so the NaN mask is the bits.
        blank = np.isnan(block)
        infinite = np.isinf(block)
        any_infinite = infinite.any()
        bits = _nonfinite_bits(block) if any_infinite else blank.view(np.uint8)
        if self._exact_idx:  # the rows where one of them is not NaN, as given (an inf kept)
            measured = (bits[:, self._exact_idx] != NONFINITE_NAN).any(axis=1)
            if measured.any():
                self._keep_exact(block[measured][:, [0, *self._exact_idx]])
        if any_infinite:
            block[infinite] = np.nan
            blank |= infinite
        n_block = len(block)
        i = 0
        while i < n_block:
            size = self._bucket_size
            if self._p_rows or n_block - i < size:
                take = min(size - self._p_rows, n_block - i)
                part = slice(i, i + take)
                self._absorb_partial(block[part], bits[part], blank[part])
                i += take
                if self._p_rows == size:
                    self._commit_partial()
                continue
            if self._n_buckets == self._capacity:
                self._merge()
                continue
            # Whole buckets straight from the block, as many as fit before the next merge.
            n_new = min((n_block - i) // size, self._capacity - self._n_buckets)
            whole = slice(i, i + n_new * size)
            rows = block[whole].reshape(n_new, size, -1)
            blanks = blank[whole].reshape(n_new, size, -1)
            at = slice(self._n_buckets, self._n_buckets + n_new)
            self._first_step[at] = rows[:, 0, 0]
            self._last_step[at] = rows[:, -1, 0]
            _pairwise(np.fmin, rows, self._min[at])
            _pairwise(np.fmax, rows, self._max[at])
            np.copyto(rows, 0.0, where=blanks)  # in place (the block is the store's to overwrite): sums
            np.add.reduce(rows, axis=1, out=self._sum[at])  # (numpy's own order: the sums as they were)
            _pairwise(np.add, blanks.view(np.uint8), self._count[at], dtype=np.int32)  # blanks, then:
            np.subtract(size, self._count[at], out=self._count[at])
            if any_infinite:
                np.bitwise_or.reduce(bits[whole].reshape(n_new, size, -1), axis=1, out=self._bad[at])
            else:  # NaN is the only non-finite kind here: a point holds one where it is not full
                np.less(self._count[at], size, out=self._bad[at], casting="unsafe")
            self._n_buckets += n_new
            i += n_new * size

    def _keep_exact(self, rows: np.ndarray) -> None:
        """Keep measured rows (step, exact columns) in `_x`. Full, it keeps every other row from the first
        and from then on every other measured row (a stride that doubles, as the buckets' size does):
        memory stays fixed and the rows kept stay evenly spread over the run. The newest measured row is
        kept beside them whatever the stride (`exact_view` ends with it). Vectorised: a file whose
        evaluation columns are filled on every row costs no Python loop per row. Caller holds the lock."""
        self._x_measured |= ~np.isnan(rows[:, 1:]).all(axis=0)
        index = np.arange(self._exact_seen, self._exact_seen + len(rows))  # each row's count, from 0
        self._exact_seen += len(rows)
        self._x_last[:] = rows[-1]
        at = 0
        while at < len(rows):
            chosen = at + np.flatnonzero(index[at:] % self._exact_stride == 0)
            room = self._capacity - self._n_exact
            fits = chosen[:room]
            self._x[self._n_exact : self._n_exact + len(fits)] = rows[fits]
            self._n_exact += len(fits)
            if len(chosen) <= room:
                break
            # full, and a row on the stride is left: keep every other row, double the stride, go on from it
            half = self._capacity // 2
            self._x[:half] = self._x[0 : self._capacity : 2]
            self._n_exact = half
            self._exact_stride *= 2
            at = int(chosen[room])

    def _absorb_partial(self, rows: np.ndarray, bits: np.ndarray, blank: np.ndarray) -> None:
        if self._p_rows == 0:
            self._p_first = rows[0, 0]
        self._p_last = rows[-1, 0]
        self._p_rows += len(rows)
        np.fmin(self._p_min, np.fmin.reduce(rows, axis=0), out=self._p_min)
        np.fmax(self._p_max, np.fmax.reduce(rows, axis=0), out=self._p_max)
        self._p_sum += np.where(blank, 0.0, rows).sum(axis=0)
        self._p_count += len(rows) - blank.sum(axis=0)
        self._p_bad |= np.bitwise_or.reduce(bits, axis=0)

    def _commit_partial(self) -> None:
        if self._n_buckets == self._capacity:
            self._merge()
            # The partial bucket held the old bucket_size rows, half the new one: it keeps filling.
            return
        at = self._n_buckets
        self._min[at] = self._p_min
        self._max[at] = self._p_max
        self._sum[at] = self._p_sum
        self._count[at] = self._p_count
        self._bad[at] = self._p_bad
        self._first_step[at] = self._p_first
        self._last_step[at] = self._p_last
        self._n_buckets += 1
        self._reset_partial()

    def _merge(self) -> None:
        """Merge adjacent bucket pairs: half as many buckets, each twice as many rows."""
        n = self._n_buckets  # == capacity, which is even
        half = n // 2
        # Inputs and output overlap (bucket j <- 2j, 2j+1); numpy buffers overlapping ufunc operands.
        np.fmin(self._min[0:n:2], self._min[1:n:2], out=self._min[:half])
        np.fmax(self._max[0:n:2], self._max[1:n:2], out=self._max[:half])
        np.add(self._sum[0:n:2], self._sum[1:n:2], out=self._sum[:half])
        np.add(self._count[0:n:2], self._count[1:n:2], out=self._count[:half])
        np.bitwise_or(self._bad[0:n:2], self._bad[1:n:2], out=self._bad[:half])
        self._first_step[:half] = self._first_step[0:n:2]
        self._last_step[:half] = self._last_step[1:n:2]
        self._n_buckets = half
        self._bucket_size *= 2

    # ----------------------------------------------------------------------------------------- reading

    @property
    def columns(self) -> tuple[str, ...]:
        return self._columns

    @property
    def capacity(self) -> int:
        return self._capacity

    @property
    def exact_columns(self) -> tuple[str, ...]:
        """The metrics kept row by row (`exact_view`)."""
        return self._exact

    @property
    def exact_version(self) -> tuple[int, int]:
        """Changes whenever `exact_view` may: (this store's generation, renewed by `clear`; the measured
        rows appended so far). A page compares it between refreshes instead of hashing the rows."""
        with self._lock:
            self._fold_stage()
            return self._exact_generation, self._exact_seen

    @property
    def exact_measured(self) -> tuple[str, ...]:
        """The `exact_columns` that have held a value (finite or infinite) on some row so far: on a digits
        run the classifier's measures, not the 2D data's or Inception's."""
        with self._lock:
            self._fold_stage()
            return tuple(c for c, seen in zip(self._exact, self._x_measured) if seen)

    @property
    def bucket_size(self) -> int:
        """Rows per committed bucket (1 until the first merge)."""
        with self._lock:
            self._fold_stage()
            return self._bucket_size

    def __len__(self) -> int:
        """Rows appended since construction or the last `clear()`."""
        with self._lock:
            return self._n_rows

    def _latest_row(self) -> np.ndarray | None:
        if self._n_rows == 0:
            return None
        return self._stage[self._n_stage - 1] if self._n_stage else self._last_row

    def latest(self) -> dict[str, float] | None:
        """The last appended row as given (column -> float), or None when empty."""
        with self._lock:
            row = self._latest_row()
            values = None if row is None else row.tolist()
        return None if values is None else dict(zip(self._columns, values))

    def previous(self) -> dict[str, float] | None:
        """The row appended just before the last one, as given (column -> float), or None with fewer
        than two rows: with `latest`, what a row's own step took (its ``time_s`` less the one before)."""
        return self.latest_two()[0]

    def latest_two(self) -> tuple[dict[str, float] | None, dict[str, float] | None]:
        """(`previous`, `latest`) read at once: the row before the last and the last, each None where the
        store holds fewer rows (a writer's append between two reads would pair rows that are not
        consecutive)."""
        with self._lock:
            last = self._latest_row()
            last = None if last is None else last.tolist()
            if self._n_rows < 2:
                before = None
            elif self._n_stage >= 2:
                before = self._stage[self._n_stage - 2].tolist()
            else:
                before = (self._last_row if self._n_stage == 1 else self._prev_row).tolist()
        named = (None if row is None else dict(zip(self._columns, row)) for row in (before, last))
        return tuple(named)

    @property
    def first_step(self) -> float | None:
        """The step of the first appended row, or None when empty: the lowest, for rows given in step
        order (a run's own, and a file's as `MetricsTail` gives them, sorted)."""
        with self._lock:
            if self._n_rows == 0:
                return None
            if self._n_buckets:
                return float(self._first_step[0])
            if self._p_rows:
                return float(self._p_first)
            return float(self._stage[0, 0])

    @property
    def last_step(self) -> float | None:
        """The step of the last appended row, or None when empty."""
        with self._lock:
            row = self._latest_row()
            return None if row is None else float(row[0])

    def memory_bytes(self) -> int:
        """Bytes held by the store's arrays: fixed at construction, whatever the run length."""
        arrays = (
            self._min,
            self._max,
            self._sum,
            self._count,
            self._bad,
            self._first_step,
            self._last_step,
            self._p_min,
            self._p_max,
            self._p_sum,
            self._p_count,
            self._p_bad,
            self._stage,
            self._last_row,
            self._prev_row,
            self._x,
            self._x_last,
        )
        return sum(a.nbytes for a in arrays)

    def view(
        self,
        max_points: int = 1000,
        columns: Sequence[str] | None = None,
        *,
        nonfinite: bool = False,
        steps: tuple[float, float] | None = None,
        rows_per_point: int | None = None,
    ) -> pd.DataFrame:
        """`view_columns` as a DataFrame (its columns in the same order)."""
        return pd.DataFrame(
            self.view_columns(
                max_points, columns, nonfinite=nonfinite, steps=steps, rows_per_point=rows_per_point
            )
        )

    def view_columns(
        self,
        max_points: int = 1000,
        columns: Sequence[str] | None = None,
        *,
        nonfinite: bool = False,
        steps: tuple[float, float] | None = None,
        rows_per_point: int | None = None,
    ) -> dict[str, np.ndarray]:
        """At most ``max_points`` points summarising every row appended so far, oldest first, as a dict of
        1-D numpy arrays of one length (column name -> values); `view` gives the same as a DataFrame.
        The live charts read these arrays directly: with pandas 3 a DataFrame costs ~0.7 ms to build and
        ~30-40 µs per column read (~50 reads for the Train view's metric charts), about a fifth of what
        building those charts cost at each refresh when the view was a DataFrame.

        Columns: ``step`` (the last step each point covers, so the final point sits at the latest step
        and a point covers the steps after the previous point's up to its own), then for each metric
        ``c`` (default: all but the step column): ``c`` (mean of its finite values, NaN if none),
        ``c_min`` and ``c_max`` (extremes, so spikes survive downsampling), and ``rows`` (rows summarised
        by the point). Its cost is bounded by ``capacity``, not by the run length. ``nonfinite`` adds
        ``c_nonfinite`` after each ``c_max``: the non-finite values among the point's rows, as bits
        (`NONFINITE_NAN`, `NONFINITE_POSINF`, `NONFINITE_NEGINF`; 0 when every value was finite).

        ``steps`` ``(low, high)``: a step range seen closer (a chart zoomed on it): the stored buckets that
        reach into it are summarised by at most ``max_points`` points of their own, as finely as the store
        keeps them, and the rest as without it, so at most about twice ``max_points`` in all, every row
        still in exactly one point. `ValueError` unless ``low < high``, both finite.

        ``rows_per_point``: the rows each point summarises (outside a zoomed range), in place of the
        fewest that keep to ``max_points``: runs drawn side by side at one resolution, so that a branch
        and its parent draw their shared rows as the same points (`shared_rows_per_point`). Rounded up
        to a whole number of buckets; a positive int.
        """
        if isinstance(max_points, bool) or not isinstance(max_points, Integral) or max_points < 1:
            raise ValueError(f"max_points must be a positive int, got {max_points!r}")
        if rows_per_point is not None and (
            isinstance(rows_per_point, bool) or not isinstance(rows_per_point, Integral) or rows_per_point < 1
        ):
            raise ValueError(f"rows_per_point must be a positive int, got {rows_per_point!r}")
        if steps is not None:
            low, high = (float(v) for v in steps)
            if not (math.isfinite(low) and math.isfinite(high) and low < high):
                raise ValueError(f"steps must be a finite (low, high) with low < high, got {steps!r}")
        metrics = self._columns[1:] if columns is None else tuple(columns)
        unknown = [c for c in metrics if c not in self._index]
        if unknown:
            raise ValueError(f"unknown columns {unknown}; the store has {self._columns}")
        # The step column is always the `step` output; asking for it as a metric is a no-op.
        metrics = tuple(dict.fromkeys(c for c in metrics if c != self._columns[0]))
        idx = [self._index[c] for c in metrics]

        with self._lock:
            self._fold_stage()
            n = self._n_buckets
            size = self._bucket_size
            partial_rows = self._p_rows
            has_partial = partial_rows > 0
            # Fancy indexing copies; the partial bucket rides along as one more row.
            mins = self._min[:n, idx]
            maxs = self._max[:n, idx]
            sums = self._sum[:n, idx]
            counts = self._count[:n, idx]
            bad = self._bad[:n, idx]
            last_steps = self._last_step[:n].copy()
            first_steps = self._first_step[:n].copy()
            if has_partial:
                mins = np.vstack([mins, self._p_min[idx]])
                maxs = np.vstack([maxs, self._p_max[idx]])
                sums = np.vstack([sums, self._p_sum[idx]])
                counts = np.vstack([counts, self._p_count[idx]])
                bad = np.vstack([bad, self._p_bad[idx]])
                last_steps = np.append(last_steps, self._p_last)
                first_steps = np.append(first_steps, self._p_first)

        rows = np.full(len(last_steps), size, dtype=np.int64)
        if has_partial:
            rows[-1] = partial_rows
        n_points = len(rows)
        group = max(1, -(-n_points // max_points) if rows_per_point is None else -(-rows_per_point // size))
        # Groups aligned from the first bucket, so points stay put between reads as the run grows.
        starts = np.arange(0, n_points, group)
        if steps is not None and n_points:
            # The buckets reaching into the range (steps are in order): their own, finer groups
            inside = np.flatnonzero((last_steps >= low) & (first_steps <= high))
            if inside.size:
                a, b = int(inside[0]), int(inside[-1]) + 1
                fine = max(1, -(-(b - a) // max_points))
                starts = np.concatenate(
                    [starts[starts < a], np.arange(a, b, fine), b + np.arange(0, n_points - b, group)]
                )
        if len(starts) < n_points:
            mins = np.fmin.reduceat(mins, starts, axis=0)
            maxs = np.fmax.reduceat(maxs, starts, axis=0)
            sums = np.add.reduceat(sums, starts, axis=0)
            counts = np.add.reduceat(counts, starts, axis=0)
            bad = np.bitwise_or.reduceat(bad, starts, axis=0)
            rows = np.add.reduceat(rows, starts)
            last_steps = last_steps[np.append(starts[1:], n_points) - 1]
        means = np.divide(sums, counts, out=np.full(sums.shape, np.nan), where=counts > 0)

        frame: dict[str, np.ndarray] = {"step": last_steps}
        for j, c in enumerate(metrics):
            frame[c] = means[:, j]
            frame[f"{c}_min"] = mins[:, j]
            frame[f"{c}_max"] = maxs[:, j]
            if nonfinite:
                frame[f"{c}_nonfinite"] = bad[:, j]
        frame["rows"] = rows
        return frame

    def exact_view(self, columns: Sequence[str] | None = None) -> pd.DataFrame:
        """The rows where one of ``columns`` (default: every `exact_columns` metric) holds a value, each at
        its own step, oldest first, in `view(nonfinite=True)`'s shape so that a chart takes either:
        ``step``, then per column ``c`` (the value; NaN where it is not finite or not measured),
        ``c_min`` and ``c_max`` (the value again), ``c_nonfinite`` (`NONFINITE_NAN`, `NONFINITE_POSINF`,
        `NONFINITE_NEGINF` bits; NaN also where the row did not measure it), and ``rows`` (1).

        Every measured row while there are at most ``capacity`` of them; past that every 2nd, 4th, ...
        (evenly spread) and always the newest. Its cost follows the rows kept, not the run's length.
        `ValueError` for a name that is not an exact column."""
        wanted = self._exact if columns is None else tuple(dict.fromkeys(columns))
        unknown = [c for c in wanted if c not in self._exact]
        if unknown:
            raise ValueError(f"{unknown} are not kept exactly; the exact columns are {self._exact}")
        with self._lock:
            self._fold_stage()
            at = [0, *(1 + self._exact.index(c) for c in wanted)]
            kept = self._x[: self._n_exact, at]
            if self._exact_seen and (self._exact_seen - 1) % self._exact_stride:  # the newest is off stride
                kept = np.vstack([kept, self._x_last[at]])
        values = kept[:, 1:]
        if len(values):  # the rows that hold none of the columns asked for (another exact one's) go
            kept = kept[~np.isnan(values).all(axis=1)]
            values = kept[:, 1:]
        bits = _nonfinite_bits(values)
        finite = np.where(bits == 0, values, np.nan)
        frame: dict[str, np.ndarray] = {"step": kept[:, 0]}
        for j, c in enumerate(wanted):
            frame[c] = finite[:, j]
            frame[f"{c}_min"] = finite[:, j]
            frame[f"{c}_max"] = finite[:, j]
            frame[f"{c}_nonfinite"] = bits[:, j]
        frame["rows"] = np.ones(len(kept), dtype=np.int64)
        return pd.DataFrame(frame)


# Runs drawn side by side share one resolution when the longest needs at most this many times the rows per
# point each of them would take on its own (a run far shorter keeps its own, finer points: at the longest's
# resolution it would be a few points)
SHARED_RESOLUTION_SPREAD = 8


def shared_rows_per_point(stores: Mapping[str, MetricStore], max_points: int) -> dict[str, int | None]:
    """The ``rows_per_point`` (`MetricStore.view_columns`) that draws ``stores`` side by side at one
    resolution: the rows a point of the longest of them summarises, for it and every store within
    `SHARED_RESOLUTION_SPREAD` times its resolution; None (its own, finer) for a store far shorter. Each
    store's points start at its first row, a whole number of its buckets each (bucket sizes are powers
    of two: the shared figure is a multiple of the largest), so that rows two runs share from their start
    (a branch's, copied from its parent up to the step it branched at) are summarised into the same
    points, at most ``max_points`` a run. A review: a parent of 6,000 rows and its branch of 11,791 drew
    their first 5,500 identical rows as points of 6 and of 12 rows, two different curves.

    ``stores``: name -> store; ``max_points`` a positive int. Returns name -> rows per point or None."""
    if isinstance(max_points, bool) or not isinstance(max_points, Integral) or max_points < 1:
        raise ValueError(f"max_points must be a positive int, got {max_points!r}")
    sizes = {name: store.bucket_size for name, store in stores.items()}
    # (a store's points on its own: its buckets, the partial one counted, grouped to max_points)
    buckets = {name: math.ceil(len(store) / sizes[name]) for name, store in stores.items()}
    own = {name: sizes[name] * max(1, math.ceil(buckets[name] / max_points)) for name in stores}
    if not own:
        return {}
    widest = max(own.values())
    sharing = [name for name, rows in own.items() if rows * SHARED_RESOLUTION_SPREAD >= widest]
    unit = max(sizes[name] for name in sharing)
    rows = math.ceil(widest / unit) * unit
    return {name: rows if name in sharing else None for name in stores}
