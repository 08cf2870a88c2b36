"""Where a run's records go: one small interface, several backends.

In the spirit of Lightning's ``Logger.log_metrics(metrics, step)`` / ``finalize(status)`` and TensorBoard's
``SummaryWriter``: the training loop (the built-in `Runner`, or a user's loop through `gan_core.track`)
hands every record, event, snapshot and its final status to a list of sinks and knows nothing else about
them. The sinks here: `StoreSink` (the in-memory `MetricStore` the live charts read), `RunDirSink`
(metrics.csv, events.csv and samples/ of the run folder) and `TensorBoardSink` (an event file TensorBoard
opens; needs the ``tensorboard`` package, the ``[tensorboard]`` extra).
"""

from __future__ import annotations

import contextlib
import json
import math
import operator
import os
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from gan_core.rundir import RunDir
from gan_core.store import MetricStore
from gan_core.tracking.schema import EVAL_COLUMNS, HPARAM_COLUMNS

# TensorBoard groups its scalars by the part of a tag before "/": the dashboard's panels, then the rest.
TENSORBOARD_GROUPS = {
    **dict.fromkeys(("d_loss", "d_loss_real", "d_loss_fake", "g_loss"), "losses"),
    **dict.fromkeys(("d_acc_real", "d_acc_fake"), "d_accuracy"),
    **dict.fromkeys(("d_real", "d_fake"), "d_output"),
    **dict.fromkeys(("d_grad_norm", "g_grad_norm"), "grad_norms"),
    **dict.fromkeys(HPARAM_COLUMNS, "hparams"),
    **dict.fromkeys(("time_s", "samples_per_s"), "speed"),
    **dict.fromkeys(EVAL_COLUMNS, "quality"),
}


# A run's end as HParams' session status (tensorboard's api_pb2.Status); others STATUS_UNKNOWN.
SESSION_STATUS = {"finished": "STATUS_SUCCESS", "failed": "STATUS_FAILURE"}


def tensorboard_tag(column: str) -> str:
    """A metrics.csv column's TensorBoard tag: ``<group>/<column>`` (`TENSORBOARD_GROUPS`; a run's own
    metrics under ``custom/``), e.g. ``losses/d_loss``, ``quality/fd_cls``, ``custom/my_metric``."""
    return f"{TENSORBOARD_GROUPS.get(column, 'custom')}/{column}"


class Sink:
    """The interface; every method is a no-op here, so a sink implements only what it keeps."""

    def log_metrics(self, step: int, metrics: Mapping[str, float], flags: Sequence[str] = ()) -> None:
        """One record: column -> value for generator step ``step`` (``metrics["step"] == step``), and the
        failure flags up after it."""

    def log_rows(self, rows: Sequence[tuple[int, Mapping[str, float], Sequence[str]]]) -> None:
        """Several records at once, oldest first, each ``(step, metrics, flags)`` as `log_metrics` takes
        them (the tracking API commits its steps in batches); by default one `log_metrics` each."""
        for step, metrics, flags in rows:
            self.log_metrics(step, metrics, flags)

    def amend_row(self, step: int, metrics: Mapping[str, float]) -> None:
        """``metrics`` (column -> value) added to the record of ``step``, the last one logged: measures
        taken after a run's last step, which no later record carries (`TrackedRun.log_final`). The
        default keeps nothing (a sink of rows as they pass, which has handed that one on): a sink that
        holds records (the run folder's, TensorBoard's) overrides it."""

    def log_event(self, event: Mapping[str, Any]) -> None:
        """One event: ``{"step", "time", "kind", "detail", "fields"}`` (`schema.EVENT_FIELDS`)."""

    def log_snapshot(self, step: int, view: Mapping[str, np.ndarray]) -> None:
        """What G makes of the fixed noise at ``step``: ``{"grid"}`` or ``{"points", "heatmap", ...}``."""

    def finalize(self, status: str) -> None:
        """The run ended with ``status`` (finished, stopped, failed): flush and close."""


class StoreSink(Sink):
    """Rows into a `MetricStore` (its columns, in its order; a column the record lacks is a gap)."""

    def __init__(self, store: MetricStore):
        self.store = store

    def log_metrics(self, step: int, metrics: Mapping[str, float], flags: Sequence[str] = ()) -> None:
        self.store.append([metrics.get(c, math.nan) for c in self.store.columns])

    def log_rows(self, rows: Sequence[tuple[int, Mapping[str, float], Sequence[str]]]) -> None:
        columns = self.store.columns
        self.store.extend([[metrics.get(c, math.nan) for c in columns] for _, metrics, _ in rows])


def _values_of(columns: tuple[str, ...]):
    """A function of a record: the tuple of its ``columns``' values (`KeyError` for one it lacks)."""
    if len(columns) == 1:
        name = columns[0]
        return lambda record: (record[name],)
    return operator.itemgetter(*columns)


class RunDirSink(Sink):
    """metrics.csv rows (``columns`` then the flags), events and snapshot files of a claimed `RunDir`.

    Snapshots on disk are at most ``keep_snapshots``, thinned evenly over the run (`RunDir.thin_snapshots`);
    ``stride`` is the thinning's state (a checkpoint keeps it, so a resumed run thins as an unbroken one)."""

    def __init__(self, run_dir: RunDir, columns: Sequence[str], keep_snapshots: int = 0, stride: int = 1):
        self.run_dir = run_dir
        self.columns = tuple(columns)
        self.keep_snapshots = keep_snapshots
        self.stride = stride
        # (columns, a getter of their values from a record with every one of them): `log_rows`
        self._getter: tuple[tuple[str, ...], Callable[[Mapping[str, float]], tuple]] | None = None

    def log_metrics(self, step: int, metrics: Mapping[str, float], flags: Sequence[str] = ()) -> None:
        row = [metrics.get(c, math.nan) for c in self.columns]
        self.run_dir.append_record((*row, "|".join(sorted(flags))))

    def log_rows(self, rows: Sequence[tuple[int, Mapping[str, float], Sequence[str]]]) -> None:
        """The rows in one metrics.csv append. A record holding every column (the tracking API's: a row
        per step, ~50 columns) is read by one `operator.itemgetter` call; one without some is blank in
        those (NaN), as `log_metrics` writes it."""
        columns = self.columns
        if self._getter is None or self._getter[0] is not columns:
            self._getter = (columns, _values_of(columns))
        get = self._getter[1]
        records = []
        for _, metrics, flags in rows:
            try:
                values = get(metrics)
            except KeyError:  # (a column it lacks)
                values = tuple(metrics.get(c, math.nan) for c in columns)
            records.append(values + ("|".join(sorted(flags)),))
        self.run_dir.append_records(records)

    def amend_row(self, step: int, metrics: Mapping[str, float]) -> None:
        self.run_dir.amend_last_metrics(step, dict(metrics))

    def log_event(self, event: Mapping[str, Any]) -> None:
        self.run_dir.write_event(dict(event))

    def log_snapshot(self, step: int, view: Mapping[str, np.ndarray]) -> None:
        self.run_dir.save_snapshot(step, dict(view))
        if self.keep_snapshots:
            self.stride = self.run_dir.thin_snapshots(self.keep_snapshots, self.stride)

    def finalize(self, status: str) -> None:
        self.run_dir.close()


def _after_earlier_writers(log_dir: Path) -> None:
    """Wait, at most a second, until this second is past the newest event file's in ``log_dir``: TensorBoard
    reads a folder's event files in the order of their names, ``events.out.tfevents.<seconds>.<host>.<pid>.
    <counter>``, and a resume started within the second of its earlier writer (a short run, a test) could
    sort before it by pid or counter ("10" before "9"), its restart then read as the older history (a
    flaky CI run: TensorBoard purged the resumed steps instead of the discarded ones)."""
    newest = 0
    with contextlib.suppress(OSError):  # (a folder not made yet: no earlier writer)
        for name in os.listdir(log_dir):
            parts = name.split(".")
            if name.startswith("events.out.tfevents.") and len(parts) > 3 and parts[3].isdigit():
                newest = max(newest, int(parts[3]))
    while time.time() < newest + 1:  # (a poll of the clock: at most one second, at a resume only)
        time.sleep(min(0.05, newest + 1 - time.time()))


class TensorBoardSink(Sink):
    """The same records as TensorBoard scalars (tag ``<group>/<column>``, `tensorboard_tag`: grouped as the
    dashboard's panels), events as text and image grids as images, written by
    ``torch.utils.tensorboard.SummaryWriter`` to ``log_dir``; the final status as text at the last step.
    A blank (NaN) is left out: every quality column is blank between two evaluations, and a step that
    did not measure a value has none; but the NaN of a column that raised ``diverged`` is written at its
    step (TensorBoard marks a NaN point, as the dashboard does); +-inf is written, as metrics.csv keeps
    it. 2D point snapshots are not drawn (images only). `ImportError` with the install line when the
    ``tensorboard`` package is missing.

    ``hparams``: the run's settings (name -> value: the built-in trainer's config, or a loop's own
    ``config`` with its loss), written once for TensorBoard's HParams tab (`torch.utils.tensorboard.
    summary.hparams`, into this writer's own file, not the sub-folder ``add_hparams`` makes: one run, one
    folder; the table's metrics are every scalar tag the runs logged, as TensorBoard infers them where no
    experiment summary lists them: one run of an earlier version in the same logdir, whose summary named
    the losses, sets that list for all), and as JSON text (``config``); the session's end with the run's
    status (`finalize`: finished a success, failed a failure, another end unknown). Values that are no
    number, string or bool (a list, a dict, None) are given as their JSON text.

    ``purge_step``: ``SummaryWriter``'s own, which marks a (re)start (a ``SessionLog.START`` event) at that
    step. A new run passes 0; a run resumed from a checkpoint at step N passes N + 1, and TensorBoard
    discards what the earlier writers logged at steps ≥ N + 1 (the history after the checkpoint that the
    run folder's rows were cut back from), so its charts read as one history too. (TensorBoard's Python
    loader purges at a START only after an earlier one: hence the new run's at 0; its Rust data server
    drops a tag's later points when its steps go back.)"""

    def __init__(
        self, log_dir: str | Path, purge_step: int | None = None, hparams: Mapping[str, Any] | None = None
    ):
        try:
            from torch.utils.tensorboard import SummaryWriter
            from torch.utils.tensorboard.summary import hparams as hparams_summaries
        except ImportError as exc:  # torch raises this when tensorboard is not installed
            raise ImportError(
                "TensorBoard logging needs the tensorboard package: pip install tensorboard (or "
                f"pip install '/path/to/checkout[tensorboard]'); {exc}"
            ) from None
        _after_earlier_writers(Path(log_dir))
        self.writer = SummaryWriter(log_dir=str(log_dir), purge_step=purge_step)
        self._session_end: Any = None  # HParams' session end, its status set by `finalize`
        self._blank: tuple[int, set[str]] = (-1, set())  # the last row's step and its NaN columns
        self._diverged: tuple[int, set[str]] | None = None  # a ``diverged`` flag's step and columns
        self.last_step = 0 if purge_step is None else max(purge_step - 1, 0)  # (a new run: 0, as before)
        if hparams:  # (a review: a loop's config=vars(args) never reached TensorBoard, no HParams tab)
            shown = {
                str(k): v if isinstance(v, bool | int | float | str) else json.dumps(v, default=str)
                for k, v in hparams.items()
            }
            # The session's start only, no experiment summary (its list of metrics): TensorBoard then
            # builds the HParams table from the runs' sessions and every scalar tag they logged, the
            # quality metrics and the loop's own (val/fid) too, as W&B's sweep table shows every key (a
            # review: it listed the two losses only, and a sweep could not be sorted by its FID there)
            _, start, self._session_end = hparams_summaries(shown, {})
            self.writer.file_writer.add_summary(start)  # (its end: torch's says success, at `finalize`)
            text = json.dumps(shown, indent=1, default=str)  # as code: Markdown would fold its lines
            self.writer.add_text(
                "config", "\n".join(f"    {line}" for line in text.splitlines()), self.last_step
            )

    def log_metrics(self, step: int, metrics: Mapping[str, float], flags: Sequence[str] = ()) -> None:
        blank = set()
        for name, value in metrics.items():
            if name != "step" and isinstance(value, int | float):
                if math.isnan(value):
                    blank.add(name)
                else:
                    self.writer.add_scalar(tensorboard_tag(name), value, step)
        self.last_step = max(self.last_step, int(step))
        self._blank = (int(step), blank)
        self._write_divergence()

    def _write_divergence(self) -> None:
        """The NaN of the columns whose divergence raised ``diverged`` (its event's ``columns``) at its row,
        once both have come (`log_metrics`, `log_event`, in either order): TensorBoard marks a NaN point
        where the dashboard does. Another blank (a step that did not measure a value) is left out."""
        if self._diverged is None or self._blank[0] != self._diverged[0]:
            return
        step, columns = self._diverged
        for name in sorted(columns & self._blank[1]):  # (an infinite one was written with the row)
            self.writer.add_scalar(tensorboard_tag(name), math.nan, step)
        self._diverged = None

    def amend_row(self, step: int, metrics: Mapping[str, float]) -> None:
        self.log_metrics(step, metrics)  # (scalars of their own: the step's others are there already)

    def log_event(self, event: Mapping[str, Any]) -> None:
        self.writer.add_text(f"events/{event['kind']}", str(event["detail"]), int(event["step"]))
        fields = event.get("fields") or {}
        if event["kind"] == "flag" and fields.get("flag") == "diverged":
            self._diverged = (int(event["step"]), {str(c) for c in fields.get("columns", ())})
            self._write_divergence()

    def log_snapshot(self, step: int, view: Mapping[str, np.ndarray]) -> None:
        if "grid" in view:
            self.writer.add_image("samples", np.asarray(view["grid"]), step, dataformats="HWC")

    def finalize(self, status: str) -> None:
        self.writer.add_text("status", status, self.last_step)
        if self._session_end is not None:
            from tensorboard.plugins.hparams.api_pb2 import Status
            from tensorboard.plugins.hparams.plugin_data_pb2 import HParamsPluginData

            value = self._session_end.value[0]
            data = HParamsPluginData.FromString(value.metadata.plugin_data.content)
            data.session_end_info.status = Status.Value(SESSION_STATUS.get(status, "STATUS_UNKNOWN"))
            value.metadata.plugin_data.content = data.SerializeToString()
            self.writer.file_writer.add_summary(self._session_end)
        self.writer.close()
