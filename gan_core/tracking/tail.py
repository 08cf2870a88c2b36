"""The tolerant tailing readers of a run folder's append-only files: what is new in metrics.csv and
events.csv since the last look, read in time proportional to what is new, not to the file.

A run another process writes (a terminal's ``python -m gan_core train``, a user's loop through
`gan_core.track`) is watched by polling its folder about once a second. Re-reading a million-row
metrics.csv on every poll costs seconds and a gigabyte, so `MetricsTail` keeps its place instead:

- the byte offset after the last whole row it read, and only complete lines are read: a last line a
  writer is still appending (no newline yet) is left for the next poll;
- the file's identity (device and inode), its header and the 64 bytes before the offset: a file that
  was replaced (a resume rewrites metrics.csv into a new file renamed over the old), shrank, or no
  longer holds what was read is read again from the start, and the caller is told (``reset``);
- new rows are parsed in bounded chunks (`CHUNK_BYTES`) by pyarrow's CSV reader (1.5 times as fast as
  pandas' C parser on one core here, and it parses a chunk's blocks on as many threads as its pool has:
  the cores, or ``OMP_NUM_THREADS``), the next chunk in a worker thread while the caller folds this one
  into its `MetricStore` (`MetricsTail.chunks`, `MetricsTail.fill`), so that memory stays bounded by a
  chunk or two, not the file. A finished million-row file (280 MB) took 3.6 s of CPU here: 2.1 s with two
  cores free, 3.7 s with one (`benchmarks.open_run`); a poll that finds one new row costs well under a
  millisecond, however long the file.

The rules are `RunDir.read_metrics_checked`'s (rundir's "readers"): every column but the text columns
(`schema.TEXT_COLUMNS`) holds numbers, a cell that is not one is a gap (NaN) and one problem line naming
the file, the column and the row; rows without a usable step (`rundir.STEP_ALLOWED`), and rows with fewer
fields than the header (a row cut short), are left out and said; a file without a ``step`` column is read
as one without rows, said in one problem line (`rundir.no_step_line`: the run's other files stay
reachable); a UTF-8 byte-order mark before the header is skipped (`rundir.header_text`). pyarrow reads
a chunk only if every cell is a number or blank (a row with too many fields it leaves out, as pandas
does); any other chunk (a text cell, bytes that are not UTF-8) is read by pandas the way
`read_metrics_checked` reads a whole file, so the fast path never has to judge a damaged cell. One
difference remains, by design: a chunk ends at a line end, so a stray quote never swallows the lines after
it up to the next quote, as it can in a whole read.
Columns beyond the schema's (a user's own metrics) are kept: `MetricsTail.columns` is the store's
columns, the schema's first, then the file's others in its order (one whose name would clash with a
column the store's view derives, such as ``rows`` or ``d_loss_min``, is left out and said).

One row per step: a row whose step is not after the last one seen means the writer went back without
rewriting the file (never done by this package's writers); the file is then read again, the later row of
each step kept, as `read_metrics_checked` keeps it. Steps with no row between two rows (`StepGaps`: rows
lost, which every writer of this package numbers 1, 2, 3, ...) are counted as the rows come, from the
differences the order check takes anyway (the gap across two chunks included), and said in one problem
line (`gaps`), as the whole read says it.

`EventsTail` does the same for events.csv, whose rows are read by `rundir`'s own reader.

Neither reader is thread-safe: one poller at a time (the registry holds a lock per run).
"""

from __future__ import annotations

import contextlib
import csv
import math
import os
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv

from gan_core.quoting import quoted
from gan_core.rundir import (
    RunDirError,
    StepGaps,
    complete_lines,
    cut_short_line,
    events_frame,
    forgiving_csv,
    header_text,
    long_rows_line,
    misfit_lines,
    no_step_line,
    no_usable_step,
    open_regular,
    os_reason,
    plural,
    shown_value,
    stray_cr_line,
    unclosed_quote_line,
    usable_steps,
)
from gan_core.store import MetricStore
from gan_core.tracking.schema import EVAL_COLUMNS, RECORD_COLUMNS, TEXT_COLUMNS, check_metric_name

CHUNK_BYTES = 8 * 2**20  # new rows parsed per chunk: about 30,000 of ours, 7 MB as floats
PARSE_BLOCK_BYTES = 2**20  # pyarrow's block: a chunk's blocks are parsed on its threads at once
MARK_BYTES = 64  # bytes before the offset compared on each poll, to notice a file rewritten in place
# pandas' default NA words (read_csv's na_values), so that both parsers leave the same cells blank.
NA_WORDS = (
    *("", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN"),
    *("<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"),
)


@dataclass(frozen=True)
class TailChunk:
    """Rows new in metrics.csv: ``rows`` is (n, len(columns)) float64, one row per step, steps increasing
    and after those of the chunks given before. ``reset``: every row given before is void (the first chunk
    a tail gives, and after the file was rewritten): start a new store of ``columns`` with these."""

    rows: np.ndarray
    columns: tuple[str, ...]
    reset: bool = False


class _Position:
    """Where a tail stands in one file: the offset after the last whole line taken, the file's identity,
    the bytes before the data (header) and the `MARK_BYTES` before the offset."""

    def __init__(self) -> None:
        self.identity: tuple[int, int] | None = None
        self.offset = 0
        self.head = b""
        self.mark = b""
        self.bytes_read = 0  # everything read from the file, checks included: what a test counts

    def read(self, fd: int, size: int, at: int) -> bytes:
        data = os.pread(fd, size, at)
        self.bytes_read += len(data)
        return data

    def still_valid(self, fd: int, st: os.stat_result) -> bool:
        """True while the file open as ``fd`` is the one read so far, holding what was read: the same
        inode, not shorter, the same header and the same bytes before the offset."""
        if self.identity is None:
            return True
        if (st.st_dev, st.st_ino) != self.identity or st.st_size < self.offset:
            return False
        if self.head and self.read(fd, len(self.head), 0) != self.head:
            return False
        return not self.mark or self.read(fd, len(self.mark), self.offset - len(self.mark)) == self.mark

    def advance(self, taken: bytes) -> None:
        """``taken`` (whole lines just after the offset) was read: move past it."""
        self.offset += len(taken)
        self.mark = (self.mark + taken[-MARK_BYTES:])[-MARK_BYTES:]

    def forget(self) -> None:
        self.identity, self.offset, self.head, self.mark = None, 0, b"", b""


def _line_end(pos: _Position, fd: int, start: int, end: int, first: int) -> int:
    """The offset after the first newline at or after ``start`` (before ``end``), or -1 if none: read
    ``first`` bytes, then twice as many, ..."""
    size = first
    while True:
        data = pos.read(fd, min(size, end - start), start)
        newline = data.find(b"\n")
        if newline >= 0:
            return start + newline + 1
        if not data or start + len(data) >= end:  # (nothing read: the file was cut meanwhile)
            return -1
        size *= 2


def _file_names(header: str) -> tuple[list[str], list[bool]]:
    """The column names of a metrics.csv header as pandas names them (an empty name is ``Unnamed: i``, a
    repeated one ``name.1``, ...), and which were named in the file."""
    try:
        cells = next(csv.reader([header]))
    except (csv.Error, StopIteration):
        cells = header.split(",")
    names: list[str] = []
    for i, cell in enumerate(cells):
        name = cell if cell else f"Unnamed: {i}"
        base, k = name, 0
        while name in names:
            k += 1
            name = f"{base}.{k}"
        names.append(name)
    return names, [bool(cell) for cell in cells]


def _repeated_names(header: str, names: Sequence[str]) -> dict[str, str]:
    """Of `_file_names`' ``names`` for ``header``, those pandas made up for a name the header repeats
    (``d_loss.1`` for a second ``d_loss``; not a column the file itself names ``d_loss.1``): made-up name
    -> the name repeated."""
    try:
        cells = next(csv.reader([header]))
    except (csv.Error, StopIteration):
        cells = header.split(",")
    return {name: cell for name, cell in zip(names, cells) if cell and name != cell}


def _row_major(table: pa.Table, columns: Sequence[str]) -> np.ndarray:
    """``table``'s ``columns`` (all float64; NaN for one it lacks, and for a blank cell) as one
    (rows, columns) float64 array, by Arrow (`RecordBatch.to_tensor`), each batch copied into its place in
    one array the caller may write (Arrow's buffers are read-only). Measured 1.5 to 4 times as fast as
    copying its columns into one array with numpy, and 1.7 times as fast as concatenating the batches'
    tensors (an 8 MB chunk of 28,000 rows x 44 columns: 3.4 against 5.9 ms)."""
    n = table.num_rows
    present = set(table.column_names)
    for name in columns:
        if name not in present:
            table = table.append_column(name, pa.nulls(n, pa.float64()))
    out = np.empty((n, len(columns)))
    at = 0
    for batch in table.select(list(columns)).to_batches():
        if batch.num_rows:
            out[at : at + batch.num_rows] = batch.to_tensor(null_to_nan=True, row_major=True)
            at += batch.num_rows
    return out


def _ahead(items: Iterator[Any]) -> Iterator[Any]:
    """``items``, each made in a worker thread while the caller works on the one before: pyarrow parses
    the next chunk, without the GIL, while numpy folds this one into a store."""
    try:
        with ThreadPoolExecutor(1, thread_name_prefix="metrics-tail") as pool:
            future = pool.submit(next, items, None)
            while (item := future.result()) is not None:
                future = pool.submit(next, items, None)
                yield item
    finally:  # (after the pool's exit has waited for the item in flight)
        items.close()


def _view_names(columns: Sequence[str]) -> list[str]:
    """The column names `MetricStore.view` gives for a store of ``columns``."""
    return ["step", "rows", *(f"{c}{s}" for c in columns[1:] for s in ("", "_min", "_max", "_nonfinite"))]


def _forgiving_frame(header: str, text: str) -> tuple[pd.DataFrame, int]:
    """CSV rows ``text`` under ``header`` as `rundir.forgiving_csv` reads a file, and how many rows with
    more fields than the header were left out (counted here, across chunks, rather than said per chunk).

    A row of the header's width goes first, and is dropped after: pandas' parsers cut a first row that is
    too long down to the header with only a warning (it would be a file's first row there, but is the
    first of any chunk here), and report a later one, which the python parser then leaves out."""
    width = len(_file_names(header.rstrip("\r\n"))[0])
    text = header + "0" + "," * (width - 1) + "\n" + text  # (not empty: a blank line is left out)
    found = forgiving_csv(text)
    if found is None:
        raise RunDirError("metrics.csv cannot be read as CSV")
    frame, skipped = found
    return frame.iloc[1:].reset_index(drop=True), skipped


class MetricsTail:
    """Incremental, forgiving reader of one metrics.csv (see the module's docstring).

    ``columns``: the numeric columns the caller needs, ``step`` first (a file lacking one of them shows it
    as gaps, said once in `problems`); the file's other numeric columns follow them in `columns`.
    ``run_id`` names the run in errors. `gaps`: the steps without a row between the rows given since the
    last reset (`StepGaps`), said in `problems` too."""

    def __init__(
        self,
        path: str | Path,
        run_id: str | None = None,
        columns: Sequence[str] = RECORD_COLUMNS,
        chunk_bytes: int = CHUNK_BYTES,
    ):
        if not columns or columns[0] != "step":
            raise ValueError(f"columns must start with 'step', got {tuple(columns)!r}")
        if chunk_bytes < 1:
            raise ValueError(f"chunk_bytes must be at least 1, got {chunk_bytes}")
        self.path = Path(path)
        self.run_id = run_id if run_id is not None else self.path.parent.name
        self.required = tuple(columns)
        self.chunk_bytes = int(chunk_bytes)
        self._pos = _Position()
        self._given_columns: tuple[str, ...] = ()
        self._forget()

    # ------------------------------------------------------------------ what it has read
    @property
    def offset(self) -> int:
        """Bytes of metrics.csv read: its header and every whole row given so far."""
        return self._pos.offset

    @property
    def bytes_read(self) -> int:
        """Bytes read from disk since this tail was made, the checks of each poll included."""
        return self._pos.bytes_read

    @property
    def problems(self) -> list[str]:
        """One line per thing wrong with the rows read so far, naming the file, the column and the row, as
        `RunDir.read_metrics_checked` words them."""
        found: list[str] = []
        if self._no_step_header is not None:
            found.append(no_step_line(self._no_step_header))
        not_utf8 = self._header_not_utf8 if self._header_not_utf8 is not None else self._not_utf8
        if not_utf8 is not None:
            found.append(
                f"metrics.csv: bytes that are not UTF-8 text (the first at byte {not_utf8}), shown as �"
            )
        if self._cr_rows[1]:
            line, count = self._cr_rows
            found.append(
                f"metrics.csv: {plural(count, 'row')} holding a carriage return (\\r) inside left out "
                f"(the first at line {line})"
            )
        if self._long_rows:
            found.append(long_rows_line(self._long_rows))
        if self._unclosed_rows[0]:
            found.append(unclosed_quote_line(*self._unclosed_rows))
        if self._missing:
            named = ", ".join(self._missing[:6])
            if len(self._missing) > 6:
                named += f" and {len(self._missing) - 6} more"
            found.append(f"metrics.csv lacks {plural(len(self._missing), 'column')} ({named}); shown as gaps")
        for name in self._misnamed:
            found.append(
                f"metrics.csv: column {quoted(name)} left out: a metric's name is ASCII letters, digits "
                "and _ . / - (at most 64 characters, not starting with a digit)"
            )
        for name in self._repeated:
            found.append(f"metrics.csv: its header names column {quoted(name)} twice; only the first is read")
        for name in self._clashing:
            found.append(
                f"metrics.csv: column {quoted(name)} left out: its name clashes with a column the charts "
                "derive from another (step, rows, or a metric's _min, _max, _nonfinite)"
            )
        for name in self.columns:
            if name in self._text_cells:
                row, text, count = self._text_cells[name]
                more = f" and {plural(count - 1, 'more row')}" if count > 1 else ""
                found.append(
                    f"metrics.csv: column {quoted(name)} has {shown_value(text, 40)} at row {row}{more}, "
                    "not a number; shown as a gap"
                )
        if self._no_step is not None:
            found.append(no_usable_step(*self._no_step))
        if self._short_rows[0]:
            found.append(cut_short_line(*self._short_rows))
        gaps = self.gaps.line()
        return [*found, gaps] if gaps else found

    # ------------------------------------------------------------------ polling
    def poll(self) -> TailChunk:
        """Everything new since the last poll as one chunk (see `chunks`, which bounds memory)."""
        parts: list[np.ndarray] = []
        reset = False
        for chunk in self.chunks():
            if chunk.reset:
                parts, reset = [], True
            parts.append(chunk.rows)
        rows = np.concatenate(parts) if parts else np.empty((0, len(self.columns)))
        return TailChunk(rows, self.columns, reset)

    def fill(self, store: MetricStore | None = None) -> MetricStore:
        """Fold what is new into ``store`` (the one the last call returned) and return the store that now
        holds the file: ``store`` itself, or a new one of `columns` on the first call and after the file
        was rewritten. A store a page may be reading is never cleared: it is replaced. If it raises, the
        next call starts over (the rows given before may be in a store the caller never got back)."""
        try:
            for chunk in self.chunks():
                if chunk.reset or store is None:
                    store = MetricStore(chunk.columns)
                store.extend(chunk.rows, owned=True)  # the tail's own array, used once
        except BaseException:
            self._forget()
            raise
        return store if store is not None else MetricStore(self.columns)

    def header_problems(self) -> list[str]:
        """What `problems` says of the file's header alone (columns named twice, misnamed or missing, bytes
        that are not UTF-8 in it), reading its first line only: the runs listing's check, whose cost does
        not grow with the run (`RunRegistry.summaries`); a header without a ``step`` column is one such
        line (`rundir.no_step_line`). `RunDirError` for a file that cannot be read; [] for a file not
        written yet or whose header is not whole."""
        try:
            fd = open_regular(self.path)
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise self._unreadable(exc) from None
        try:
            if not self._read_header(fd, os.fstat(fd).st_size):
                return self.problems if self._no_step_header is not None else []
        except OSError as exc:
            raise self._unreadable(exc) from None
        finally:
            os.close(fd)
        return self.problems

    def chunks(self) -> Iterator[TailChunk]:
        """The rows new since the last poll, chunk by chunk (each at most about `chunk_bytes` of the file),
        the tail's place moved past each as it is given; none from a file without a ``step`` column
        (said in `problems`). `RunDirError` for a file that cannot be read."""
        try:
            fd = open_regular(self.path)
        except FileNotFoundError:  # not yet written, or removed: nothing in it
            if self._pos.identity is not None:
                self._forget()
            yield from self._pending_reset()
            return
        except OSError as exc:
            raise self._unreadable(exc) from None
        try:
            st = os.fstat(fd)
            if not self._pos.still_valid(fd, st):
                self._forget()
            if self._pos.identity is None and not self._read_header(fd, st.st_size):
                yield from self._pending_reset()
                return
            yield from self._new_rows(fd, st.st_size)
            yield from self._pending_reset()
        except OSError as exc:
            raise self._unreadable(exc) from None
        finally:
            os.close(fd)

    # ------------------------------------------------------------------ inside
    def _forget(self) -> None:
        """Back to an unread file: the next chunk given says ``reset``."""
        self._pos.forget()
        self.columns: tuple[str, ...] = self.required
        self._names: list[str] = []  # the file's columns, as pandas names them
        self._header_text = ""
        self._header_not_utf8: int | None = None
        self._missing: tuple[str, ...] = ()
        self._clashing: tuple[str, ...] = ()
        self._misnamed: tuple[str, ...] = ()
        self._repeated: tuple[str, ...] = ()
        self._no_step_header: str | None = None  # a header without a 'step' column, as read
        self._forget_rows()
        self._reset_due = True

    def _forget_rows(self) -> None:
        self.n_rows = 0  # rows given since the last reset
        self.last_step = -math.inf
        self.gaps = StepGaps()  # steps without a row between those given since the last reset
        self._file_rows = 0  # data rows parsed, for the row numbers of problem lines
        self._not_utf8: int | None = None
        self._long_rows = 0
        self._text_cells: dict[str, list[Any]] = {}  # column -> [first row, its text, rows]
        self._no_step: list[Any] | None = None  # [rows, the first's row, its step cell]
        self._short_rows: list[Any] = [0, []]  # [rows cut short, the step cells of the first few]
        self._unclosed_rows: list[Any] = [0, []]  # [rows opening a quote they do not close, as above]
        self._cr_rows = [0, 0]  # [the first's line in the file, rows] of rows holding a \r inside

    def _pending_reset(self) -> Iterator[TailChunk]:
        if self._reset_due:
            yield self._give(np.empty((0, len(self.columns))))

    def _give(self, rows: np.ndarray) -> TailChunk:
        chunk = TailChunk(rows, self.columns, self._reset_due)
        self._reset_due, self._given_columns = False, self.columns
        return chunk

    def _unreadable(self, exc: OSError) -> RunDirError:
        return RunDirError(f"run {self.run_id!r}: metrics.csv cannot be read ({os_reason(exc)})")

    def _read_header(self, fd: int, size: int) -> bool:
        """Read the header (after any blank lines, as pandas skips them); False while it is incomplete, and
        for one without a 'step' column (said in `problems`: the file is read as one without rows)."""
        self._no_step_header = None
        start = 0
        while True:
            end = _line_end(self._pos, fd, start, size, 4096)
            if end < 0:
                return False
            line = self._pos.read(fd, end - start, start)
            if line.strip():
                break
            start = end
        try:
            line.decode("utf-8")
        except UnicodeDecodeError as exc:
            self._header_not_utf8 = start + exc.start
        text = header_text(line)
        names, named = _file_names(text)
        if "step" not in names:
            # Nothing in the file can be placed: read as a missing one (no rows, said in `problems`), so
            # that the rest of the run (its checkpoints, samples, events) is still shown.
            self._no_step_header = text
            return False
        self._no_step_header = None
        st = os.fstat(fd)
        self._pos.identity = (st.st_dev, st.st_ino)
        self._pos.head = self._pos.read(fd, end, 0)
        self._pos.offset, self._pos.mark = end, self._pos.head[-MARK_BYTES:]
        self._header_text = text + "\n"
        self._names = names
        # a name the header repeats: only its first column is read (as `rundir.read_metrics_checked`)
        repeated = _repeated_names(text, names)
        self._repeated = tuple(dict.fromkeys(repeated.values()))
        numeric = [n for n, ok in zip(names, named) if ok and n not in TEXT_COLUMNS and n not in repeated]
        columns, clashing, misnamed = list(self.required), [], []
        for name in numeric:
            if name in columns:
                continue
            if len(set(_view_names([*columns, name]))) != len(_view_names([*columns, name])):
                clashing.append(name)
                continue
            try:  # the rule a writer's custom metric names follow (a foreign file's header: shown as text)
                check_metric_name(name)
            except ValueError:
                misnamed.append(name)
                continue
            columns.append(name)
        self.columns = tuple(columns)
        if self.columns != self._given_columns:  # (a file that appeared after an empty poll, say)
            self._reset_due = True
        # a quality column a later version added is absent from older files: a gap, not a damage (as
        # `rundir.read_metrics_checked` says)
        self._missing = tuple(c for c in self.required if c not in names and c not in EVAL_COLUMNS)
        self._clashing = tuple(clashing)
        self._misnamed = tuple(misnamed)
        include = [n for n in names if n in self.columns]
        self._read_options = pa_csv.ReadOptions(column_names=names, block_size=PARSE_BLOCK_BYTES)
        self._convert_options = pa_csv.ConvertOptions(
            column_types=dict.fromkeys(include, pa.float64()),
            include_columns=include,
            null_values=list(NA_WORDS),
            quoted_strings_can_be_null=True,
        )
        return True

    def _new_rows(self, fd: int, size: int) -> Iterator[TailChunk]:
        while True:
            went_back = -1
            # (closed before a reload: the chunk parsed ahead must not be noted after the reload starts)
            with contextlib.closing(self._parsed(fd, self._pos.offset, size, record=True)) as parsed:
                for rows, taken in parsed:
                    steps = rows[:, 0]
                    diffs = np.diff(steps)
                    if len(rows) and (steps[0] <= self.last_step or not (diffs > 0).all()):
                        went_back = self._pos.offset + len(taken)
                        break
                    self._pos.advance(taken)
                    if len(rows):
                        self.gaps = self.gaps.after(steps, self.last_step, diffs)
                        self.n_rows += len(rows)
                        self.last_step = float(steps[-1])
                        yield self._give(rows)
            if went_back < 0:
                return
            yield from self._reload(fd, went_back)  # and on from there

    def _reload(self, fd: int, end: int) -> Iterator[TailChunk]:
        """The file went back (a step seen again): read its rows up to ``end`` again, keeping the later row
        of each step, as `read_metrics_checked` does. Two passes, the first over the steps only, so that
        memory stays bounded by a chunk when the rows kept are in step order (a writer that went back
        and went on); rows out of order are gathered and sorted."""
        data_start = len(self._pos.head)
        self._forget_rows()
        steps = [rows[:, 0].copy() for rows, _ in self._parsed(fd, data_start, end, record=True)]
        every = np.concatenate(steps) if steps else np.empty(0)
        keep = np.zeros(len(every), dtype=bool)
        _, last = np.unique(every[::-1], return_index=True)  # the first seen from the end: the later row
        keep[len(every) - 1 - last] = True
        in_order = bool((np.diff(every[keep]) > 0).all())
        self._reset_due = True
        self._pos.offset, self._pos.mark = data_start, self._pos.head[-MARK_BYTES:]
        gathered, at = [], 0
        with contextlib.closing(self._parsed(fd, data_start, end, record=False)) as parsed:
            for rows, taken in parsed:
                mask = np.zeros(len(rows), dtype=bool)  # (as long as the rows, should the file have changed)
                mask[: len(keep) - at] = keep[at : at + len(rows)]
                kept = rows[mask]
                at += len(rows)
                self._pos.advance(taken)
                if in_order and len(kept):
                    self.gaps = self.gaps.after(kept[:, 0], self.last_step)
                    self.n_rows += len(kept)
                    self.last_step = float(kept[-1, 0])
                    yield self._give(kept)
                elif len(kept):
                    gathered.append(kept)
        if gathered:
            rows = np.concatenate(gathered)
            rows = rows[np.argsort(rows[:, 0], kind="stable")]
            self.gaps = StepGaps().after(rows[:, 0])
            self.n_rows, self.last_step = len(rows), float(rows[-1, 0])
            yield self._give(rows)

    def _parsed(self, fd: int, start: int, end: int, record: bool) -> Iterator[tuple[np.ndarray, bytes]]:
        """The rows with a usable step of the whole lines in [start, end), chunk by chunk, with the bytes
        each came from; with ``record`` what is wrong in them is noted for `problems`. More than a chunk
        is parsed a chunk ahead, in a worker thread (`_ahead`)."""
        chunks = self._parse_range(fd, start, end, record)
        return _ahead(chunks) if end - start > self.chunk_bytes else chunks

    def _parse_range(self, fd: int, start: int, end: int, record: bool) -> Iterator[tuple[np.ndarray, bytes]]:
        while start < end:
            data = self._pos.read(fd, min(self.chunk_bytes, end - start), start)
            if not data:  # the file was cut since it was measured: the next poll sees it shorter
                return
            cut = data.rfind(b"\n") + 1
            if cut == 0:  # the torn last line (left for the next poll), or a line longer than a chunk
                after = start + len(data)
                line_end = _line_end(self._pos, fd, after, end, 2 * self.chunk_bytes) if after < end else -1
                if line_end < 0:
                    return
                data += self._pos.read(fd, line_end - after, after)
                cut = len(data)
            taken = data[:cut] if cut < len(data) else data
            yield self._rows(taken, start, record), taken
            start += len(taken)

    def _rows(self, data: bytes, at: int, record: bool) -> np.ndarray:
        """``data`` (whole lines at byte ``at`` of the file) as rows of `columns`, without those that have
        no usable step, hold a carriage return inside (which a CSV reader would break into two rows of
        nonsense), fewer or more fields than the header (cut short: their missing cells would read as
        NaN, a failure) or open a quote they do not close (`rundir.Misfits`): left out and noted, as
        `RunDir.read_metrics_checked` does."""
        lines = data.split(b"\n") if b"\r" in data and stray_cr_line(data) is not None else []
        damaged = [i for i, line in enumerate(lines) if b"\r" in line.rstrip(b"\r")]  # (\r\r\n ends one)
        if damaged:
            if record:
                first = self._file_rows + damaged[0] + 2  # its line in the file (the header is line 1)
                self._cr_rows = [self._cr_rows[0] or first, self._cr_rows[1] + len(damaged)]
            left = set(damaged)
            data = b"\n".join(line for i, line in enumerate(lines) if i not in left)
            return self._rows(data, at, record)  # (later rows numbered among those read, as a whole read)
        utf8 = data.isascii()
        if not utf8:
            try:
                data.decode("utf-8")
                utf8 = True
            except UnicodeDecodeError as exc:
                if record and self._not_utf8 is None:
                    self._not_utf8 = at + exc.start  # (its place in the file, before any row is left out)
        misfits = misfit_lines(data, len(self._names))
        if misfits:  # rows cut short, too long or opening a quote: left out whole, as a whole read does
            lines = data.split(b"\n")
            if record:
                self._long_rows += len(misfits.long)
                noting = ((misfits.short, self._short_rows), (misfits.unclosed, self._unclosed_rows))
                for found, noted in noting:
                    noted[0] += len(found)
                    noted[1] += [
                        lines[i].split(b",", 1)[0].decode("utf-8", "replace").strip()
                        for i in found[: 5 - len(noted[1])]
                    ]
            left = misfits.left_out()
            data = b"\n".join(line for i, line in enumerate(lines) if i not in left)
            if not data.strip():
                return np.empty((0, len(self.columns)))
        if not utf8:
            return self._usable(*self._rows_forgiving(data, record), record)
        long_rows = []

        def skip_long(row: Any) -> str:  # a row short of fields is an error: pandas fills it with gaps
            if row.actual_columns > row.expected_columns:
                long_rows.append(row.number)
                return "skip"
            return "error"

        try:
            table = pa_csv.read_csv(
                pa.py_buffer(data),
                read_options=self._read_options,
                parse_options=pa_csv.ParseOptions(invalid_row_handler=skip_long),
                convert_options=self._convert_options,
            )
        except pa.ArrowException:  # (ArrowInvalid: a cell that is not a number, a row short of fields)
            block, raw_steps = self._rows_forgiving(data, record)
        else:
            block = _row_major(table, self.columns)
            raw_steps = None
            if record:
                self._long_rows += len(long_rows)
        return self._usable(block, raw_steps, record)

    def _usable(self, block: np.ndarray, raw_steps: list[Any] | None, record: bool) -> np.ndarray:
        """``block`` without its rows that have no usable step (noted, with the first one's step cell as
        written, from ``raw_steps`` if given)."""
        usable = usable_steps(block[:, 0])
        if not usable.all():
            if record:
                bad = np.flatnonzero(~usable)
                if self._no_step is None:
                    raw = raw_steps[bad[0]] if raw_steps is not None else float(block[bad[0], 0])
                    self._no_step = [0, self._file_rows + int(bad[0]) + 1, raw]
                self._no_step[0] += len(bad)
            block = block[usable]
        if record:
            self._file_rows += len(usable)
        return block

    def _rows_forgiving(self, data: bytes, record: bool) -> tuple[np.ndarray, list[Any]]:
        """``data`` as pandas reads it, every cell that is not a number a gap (noted), and the step cells
        as written (for the problem line of a row without a usable one)."""
        try:
            frame, long_rows = _forgiving_frame(self._header_text, data.decode("utf-8", errors="replace"))
        except RunDirError as exc:
            raise RunDirError(f"run {self.run_id!r}: {exc}") from None
        if len(frame.columns) == len(self._names):
            frame.columns = self._names
        block = np.empty((len(frame), len(self.columns)))
        for j, name in enumerate(self.columns):
            if name not in frame.columns:
                block[:, j] = np.nan
                continue
            cells = frame[name]
            if cells.dtype.kind in "iuf":
                block[:, j] = cells.to_numpy(dtype=np.float64)
                continue
            values = pd.to_numeric(cells, errors="coerce").to_numpy(dtype=np.float64)
            block[:, j] = values
            text_rows = np.flatnonzero(np.isnan(values) & cells.notna().to_numpy())
            if record and name != "step" and len(text_rows):
                found = self._text_cells.setdefault(
                    name, [self._file_rows + int(text_rows[0]) + 1, str(cells.iloc[text_rows[0]]), 0]
                )
                found[2] += len(text_rows)
        if record:
            self._long_rows += long_rows
        raw_steps = frame["step"].tolist() if "step" in frame.columns else [math.nan] * len(frame)
        return block, raw_steps


class EventsTail:
    """Incremental reader of one events.csv: `events` (every row, as `RunDir.read_events_checked` reads
    them, in file order) and `problems`, kept up to date by `poll`, which reads only the lines appended
    since. A file with anything wrong in it is read whole on each change, so that its problem lines
    count every row as a whole read counts them (a run's own files have none)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._pos = _Position()
        self.events: list[dict[str, Any]] = []
        self.problems: list[str] = []
        self._clean = False

    @property
    def bytes_read(self) -> int:
        return self._pos.bytes_read

    def poll(self) -> bool:
        """Read what is new; True if `events` or `problems` changed."""
        try:
            fd = open_regular(self.path)
        except FileNotFoundError:
            changed = bool(self.events or self.problems)
            self._pos.forget()
            self.events, self.problems = [], []
            return changed
        except OSError as exc:
            self._pos.forget()
            self.events, self.problems = [], [f"events.csv cannot be read ({os_reason(exc)})"]
            return True
        try:
            st = os.fstat(fd)
            if self._pos.identity is not None and self._pos.still_valid(fd, st):
                if st.st_size == self._pos.offset:
                    return False
                new = complete_lines(self._pos.read(fd, st.st_size - self._pos.offset, self._pos.offset))
                if not new:  # a line still being written
                    return False
                if self._clean:
                    frame, found = events_frame(self._pos.head + new)
                    if not found:
                        self.events += frame.to_dict("records")
                        self._pos.advance(new)
                        return True
            self._read_whole(fd, st)
            return True
        except OSError as exc:
            self._pos.forget()
            self.events, self.problems = [], [f"events.csv cannot be read ({os_reason(exc)})"]
            return True
        finally:
            os.close(fd)

    def _read_whole(self, fd: int, st: os.stat_result) -> None:
        data = complete_lines(self._pos.read(fd, st.st_size, 0))
        frame, self.problems = events_frame(data)
        self.events = frame.to_dict("records")
        header = data[: data.find(b"\n") + 1]
        # New lines are read under the file's header, as a whole read reads them; that gives the same
        # events only while the file starts with its header and has nothing wrong (then any problem
        # line would have to count rows of the whole file).
        self._clean = not self.problems and bool(header.strip())
        self._pos.forget()
        self._pos.identity = (st.st_dev, st.st_ino)
        self._pos.head = header
        self._pos.advance(data)
