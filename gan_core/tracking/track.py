"""The tracking API: a user's own PyTorch GAN loop, watched like a built-in run.

A handful of lines in any loop give it everything a run of the built-in trainer has: the same metrics.csv
columns with the same meaning (D's accuracies and mean outputs computed from the logits passed in, with
the loss's own threshold; gradient norms from the parameters passed in, by `measures`), the same failure
flags and banners (`FlagMonitor`), fixed-noise snapshots (an image grid, or 2D points over D's heatmap),
quality metrics from the same `Evaluator`, events, status.json, the run folder's lock and crash safety
(a kill -9 leaves every file whole, and the dashboard reports the run as interrupted)::

    import gan_core.track as track

    run = track.init("my-dcgan", loss="nonsaturating", config=vars(args), real=real_batch)
    run.watch(G, fixed_noise, D=D)          # snapshots and quality metrics (optional)
    for step in range(steps):
        ...                                  # D's update: logits, loss.backward(), opt_d.step()
        run.d_step(real_logits, fake_logits, d_loss=d_loss, d_params=D)
        ...                                  # G's update
        run.g_step(g_loss, g_params=G)       # ends the step (its row is written with its batch)
        if run.should_stop:                  # the steps target, Stop from the dashboard, a divergence
            break
    run.finish()                             # or: with track.init(...) as run: ...

A run the script never finishes is ended when the interpreter exits: failed with an uncaught exception,
stopped after Ctrl-C or a SIGTERM (`init` installs a handler for it; see there) or when it exited short of
its ``steps`` target (its event says why), finished otherwise.

Steps are committed in batches: `g_step` keeps a step's tensors on the device (a gradient norm or two is
all it computes), and every ``commit_every`` seconds (0.25 by default) the pending steps' measures are
computed together and sent to the host in one transfer (CONVENTIONS rule 7; `readback.LaggedReadback`).
On CUDA that transfer is read at the next batch, or at once when it has landed, so the device never waits
for the host; nothing else waits on it. Rows, flags and a divergence's stop therefore land up to a batch
late, by design; a snapshot, evaluation or the last step is committed at once, and `flush` commits now.
Why batches: inside a training loop on the CPU each small tensor op or Python call of the tracker runs
with cold caches (a trivial op 25-50 µs, against ~5 µs alone), and the per-step measures were most of the
API's cost (`python -m benchmarks.tracking --profile`; BENCHMARKS.md). A step now makes three ops in
`d_step` (the gradient norms, one copy of the logits, one of the numbers) and two in `g_step`.
The dashboard's Pause and Stop reach the loop through the run folder's command file: Pause holds the loop
inside `g_step` until Resume or Stop; Stop sets `should_stop`.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import functools
import json
import math
import os
import secrets
import shlex
import signal
import sys
import threading
import time
import warnings
import weakref
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from gan_core.data import DataSource, load_data, mode_count
from gan_core.distributed import DistContext, collective_failure, current, job_fields
from gan_core.environment import environment, package_version
from gan_core.evaluation import Evaluator, coverage_total
from gan_core.flags import COLLAPSE_FLOORS, FLAGS, FlagMonitor
from gan_core.losses import get_loss
from gan_core.quoting import quoted
from gan_core.rundir import (
    MAX_CLASSES,
    RunDir,
    RunDirError,
    RunLock,
    RunMeta,
    checked_notes,
    current_events,
    default_runs_root,
    header_text,
    lock_holder,
    make_event,
    now_iso,
    open_regular,
    this_process,
    validate_run_id,
)
from gan_core.store import MetricStore
from gan_core.tracking.checks import RowChecks
from gan_core.tracking.commands import CommandPoller, answer_notes, asker
from gan_core.tracking.measures import (
    GradNorms,
    NoGradients,
    NormParts,
    as_float32,
    d_metrics_stacked,
    d_metrics_steps,
    host_total,
    totals,
)
from gan_core.tracking.readback import LaggedReadback, PendingValues
from gan_core.tracking.schema import (
    D_METRICS,
    EVAL_COLUMNS,
    G_METRICS,
    HPARAM_COLUMNS,
    RECORD_COLUMNS,
    SOURCES,
    TEXT_COLUMNS,
    check_metric_name,
    event_detail,
    is_custom_column,
)
from gan_core.tracking.sink import RunDirSink, Sink, TensorBoardSink
from gan_core.trainer import GRID_COLUMNS, class_grid, real_view, snapshot_view

STATUS_WRITE_SECONDS = 2.0
DEFAULT_SAMPLE_EVERY = 100
DEFAULT_EVAL_EVERY = 500
KEEP_SNAPSHOTS = 200
COMMIT_SECONDS = 0.25  # `init`'s default commit_every: how often pending steps are measured and written
FINAL_WRITE_TRIES = 5  # how often `finish` starts its status write again after a Ctrl-C cut it short
MAX_PENDING_STEPS = 512  # a batch is sent at this many steps however fast they come (bounds its memory)
_NAN = float("nan")
# Grad mode read and set as torch.no_grad does inside (its ``__enter__``/``__exit__``), for the two calls a
# step makes: the context manager's own Python costs ~1 µs warm, several inside a training loop.
_grad_enabled = torch.is_grad_enabled
_set_grad_enabled = torch._C._set_grad_enabled


class TrackingWarning(UserWarning):
    """Something the tracked run can record but probably not as meant (real images outside [-1, 1], a
    resume=True that finds no run to continue, probabilities passed as logits, calls after the last
    `g_step` that no row records)."""


_TRACKING_DIR = os.path.dirname(os.path.abspath(__file__))


_LIGHTNING_PACKAGES = ("lightning", "pytorch_lightning", "lightning_fabric")


def warn_user(message: str) -> None:
    """A `TrackingWarning` at the first frame outside `gan_core.tracking` and Lightning: the user's line
    that called the API, whichever of the tracker's calls (`init`, `watch`, `g_step`, `flush`, `finish`,
    the exit hook) led here, or for the Lightning callback the line that called ``trainer.fit`` (not
    Lightning's own file that calls its callbacks)."""
    skipped = [_TRACKING_DIR]
    for name in _LIGHTNING_PACKAGES:  # (loaded already wherever the callback runs: none imported here)
        module = sys.modules.get(name)
        if getattr(module, "__file__", None):
            skipped.append(os.path.dirname(os.path.abspath(module.__file__)) + os.sep)
    prefixes = tuple(skipped)
    frame, level = sys._getframe(1), 2
    while frame is not None and frame.f_code.co_filename.startswith(prefixes):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, TrackingWarning, stacklevel=level)


class TrackingError(ValueError):
    """A call the tracked run cannot take (a bad argument, a call after `finish`); the message says what
    is wrong and what is allowed."""


def _default_run_id(name: str | None) -> str:
    stem = "".join(ch if ch.isalnum() or ch in "._-" else "-" for ch in (name or "tracked"))[:60] or "tracked"
    return f"{stem}-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(2)}"


def _data_kind(real: Tensor | None, given: str | None) -> str:
    if given is not None:
        return given
    if real is None:
        return "other"
    if real.dim() == 2 and real.shape[1] == 2:
        return "points"
    if real.dim() == 4 and real.shape[1] in (1, 3):
        return "images"
    return "other"


REAL_RANGE_SLACK = 0.05  # how far past [-1, 1] real images may reach before `real_range_warning` speaks


def real_range_warning(low: float, high: float) -> str | None:
    """What is wrong with the range of real images whose values run from ``low`` to ``high``
    (`_check_real_values`' ends), or None when they are in [-1, 1] as the sample grids and the quality
    metrics read them: all in [0, 1] (``x * 2 - 1`` maps them), up to 255 (``x / 127.5 - 1``), or outside
    [-1, 1] otherwise (standardised data: grids clip it, and the bundled classifier, which measures digits
    in [-1, 1], misreads it)."""
    if low >= -1 - REAL_RANGE_SLACK and high <= 1 + REAL_RANGE_SLACK and not (low >= 0 and high <= 1):
        return None
    found = f"real images hold values from {low:g} to {high:g}"
    if low >= 0 and high <= 1:
        fix = "images in [0, 1]: pass real * 2 - 1"
    elif low >= 0 and 2 < high <= 255:
        fix = "images in 0..255: pass real / 127.5 - 1"
    else:
        fix = "map them there (grids clip what is outside; quality metrics read it as it is)"
    return f"{found}; the dashboard shows and measures images in [-1, 1] ({fix}, and G's output alike)"


# The columns `TrackedRun._optimizer_hparams` reads from the optimizers given to `init`: column -> the
# argument (tests/test_track_edges.py holds the two to the same columns).
_OPTIMIZER_COLUMNS = {"lr_d": "opt_d", "lr_g": "opt_g", "beta1": "opt_d", "beta2": "opt_d"}


def _builtin_column(name: str) -> str:
    """`TrackedRun.log`'s refusal of the built-in column ``name``, saying where the tracker gets it."""
    return (
        f"metric name {name!r} is a built-in column, {builtin_source(name)}: choose another name for a "
        "metric of your own"
    )


def builtin_source(name: str) -> str:
    """Where a run of one's own loop gets the built-in column ``name`` (by the schema's groups of columns:
    the record such a run makes, not a list kept here), in words: "recorded from d_step's arguments ...",
    "a quality metric the tracker's evaluation measures ...". For `log`'s refusal and the Lightning
    callback's word on a validation metric of a built-in name."""
    if name in D_METRICS:
        source = "recorded from d_step's arguments (D's logits, d_loss=, d_params= or d_grad_norm=)"
    elif name in G_METRICS:
        source = "recorded from g_step's arguments (g_loss, g_params= or g_grad_norm=)"
    elif name in EVAL_COLUMNS:
        source = (
            "a quality metric the tracker's evaluation measures every eval_every steps (init's real= and "
            "watch(G, fixed_noise))"
        )
    elif name in TEXT_COLUMNS:
        source = "the failure flags the tracker itself raises from each row"
    elif name in _OPTIMIZER_COLUMNS:
        source = f"read from the optimizer given to init as {_OPTIMIZER_COLUMNS[name]}= at each step"
    elif name == "d_steps":
        source = "counted by the tracker itself (the d_step calls of each step)"
    elif name in HPARAM_COLUMNS:
        source = (
            "a setting of the built-in trainer, blank in a run of your own loop (your own settings go in "
            "init's config=)"
        )
    else:  # step, time_s, samples_per_s
        source = "kept by the tracker itself (g_step makes each row and times it)"
    return source


def _not_logits(real_logits: Any, fake_logits: Any) -> str:
    """`d_step`'s refusal of logits that are not tensors, saying what it got."""

    def got(value: Any) -> str:
        if isinstance(value, Tensor):
            return f"a tensor {tuple(value.shape)}"
        if isinstance(value, tuple | list):
            return f"a {type(value).__name__} of {len(value)}"
        return f"a {type(value).__name__}"

    said = (
        f"d_step needs real_logits and fake_logits as tensors (D's raw outputs), got {got(real_logits)} and "
    )
    said += got(fake_logits)
    if isinstance(real_logits, tuple | list) or isinstance(fake_logits, tuple | list):
        said += ": perhaps D returned (logits, features) or the like? pass the logits alone, e.g. D(x)[0]"
    return said


def _no_gradients(exc: NoGradients, role: str) -> TrackingError:
    """`d_step`'s or `g_step`'s (``role`` d or g) error for parameters without a gradient (whose norm
    would be NaN, and the run "diverged" at its first step)."""
    net = role.upper()
    if not exc.parameters:
        return TrackingError(
            f"{role}_params has no trainable parameters (none with requires_grad=True; a generator such "
            f"as {net}.parameters() made once before the loop is used up by the first step): pass {net} "
            f"itself or its parameters, or {role}_grad_norm=, or neither (the column is left blank)"
        )
    return TrackingError(
        f"{role}_params has no gradients (none of its {exc.parameters} parameters has a .grad): call "
        f"{role}_step after {net}'s backward() and before the next zero_grad()"
    )


def _scalar(value: Any, what: str, detach: bool = True) -> Tensor | float:
    """A 0-d tensor (left on its device: no sync) or a Python float. ``detach=False`` for a value that is
    only stacked under ``torch.no_grad`` before the call returns (a detach is one more op). A truth value
    (Python's or numpy's bool, a torch.bool tensor) is refused alike, not read as 0/1: it is most often a
    comparison logged by mistake, and a cast says 0/1 was meant."""
    if isinstance(value, Tensor):
        if value.dtype is torch.bool:
            raise TrackingError(
                f"{what} must be a number or a one-element tensor, got a torch.bool tensor: pass "
                "value.float() if 0/1 is meant"
            )
        if value.numel() != 1:
            raise TrackingError(
                f"{what} must be a scalar (one element), got a tensor of shape {tuple(value.shape)}"
            )
        if value.is_meta:  # (read only when the step's row is written: refused here, not there)
            raise TrackingError(
                f"{what} is a tensor on the meta device, which holds no value: allowed a tensor with its "
                "value (on the CPU or an accelerator) or a number"
            )
        if detach:
            value = value.detach()
        return value if value.dim() == 0 else value.reshape(())  # no reshape op for the usual 0-d loss
    if isinstance(value, np.ndarray):  # a one-element array (np.mean's of a list, an 0-d array) as its number
        if value.size != 1 or value.dtype.kind not in "biuf":  # (a review: np.array(1.5) was refused)
            kind = f"of shape {value.shape}" if value.size != 1 else f"of dtype {value.dtype}"
            raise TrackingError(f"{what} must be a scalar number (one element), got a numpy array {kind}")
        value = value.reshape(()).item()
    if isinstance(value, bool | np.bool_):
        kind = "numpy.bool" if isinstance(value, np.bool_) else "bool"
        raise TrackingError(
            f"{what} must be a number or a one-element tensor, got a {kind} ({value!r}): pass float(value) "
            "if 0/1 is meant"
        )
    if not isinstance(value, int | float | np.integer | np.floating):
        raise TrackingError(f"{what} must be a number or a one-element tensor, got {type(value).__name__}")
    return float(value)


def _config_number(value: Any) -> Any:
    """A config value as run.json keeps it: a one-element tensor (not a bool) or a numpy number as its
    Python number (``.item()``, one read at init; a float32 or half one at the shortest digits that give
    it back, 0.1 and not 0.10000000149011612, as the same setting given as a Python number is recorded),
    so that Compare diffs and sorts it as a number; any other value as given (what JSON cannot hold is
    written as its text)."""
    if isinstance(value, Tensor) and value.numel() == 1 and value.dtype is not torch.bool:
        # as the numpy number of its dtype (bfloat16, which numpy lacks, through float32: exact)
        value = value.detach().reshape(()).cpu()
        value = (value.float() if value.dtype is torch.bfloat16 else value).numpy()[()]
    if isinstance(value, np.floating) and value.dtype.itemsize < 8:
        # numpy prints a float32 or half at its shortest exact digits: 0.1, where .item() gives the
        # 0.10000000149011612 float32 holds, a value no one wrote
        return float(str(value))
    if isinstance(value, np.generic) and not isinstance(value, np.bool_):
        return value.item()
    return value


def _checked_metrics(metrics: Any, call: str) -> dict[str, Tensor | float]:
    """``metrics`` as `TrackedRun.log` keeps them: name -> a copied one-element tensor or a float;
    `TrackingError` (naming ``call``) for what `log` refuses."""
    if not isinstance(metrics, Mapping):
        raise TrackingError(f"{call}() takes a mapping name -> number, got {type(metrics).__name__}")
    checked = {}
    for name, value in metrics.items():
        if isinstance(name, str) and not is_custom_column(name):
            raise TrackingError(_builtin_column(name))
        try:
            check_metric_name(name)
        except ValueError as exc:
            raise TrackingError(str(exc)) from None
        checked[name] = _scalar(value, f"metric {name!r}")
    return checked


def host_values(checked: Mapping[str, Tensor | float]) -> dict[str, float]:
    """`_checked_metrics`' values as floats, in their order: the tensors read in one transfer per device
    (a sync; float64 kept, MPS has none)."""
    values = {name: v for name, v in checked.items() if not isinstance(v, Tensor)}
    by_device: dict[torch.device, list[str]] = {}
    for name, value in checked.items():
        if isinstance(value, Tensor):
            by_device.setdefault(value.device, []).append(name)
    for device, names in by_device.items():
        dtype = torch.float32 if device.type == "mps" else torch.float64
        values.update(zip(names, torch.stack([checked[n].reshape(()).to(dtype) for n in names]).tolist()))
    return {name: float(values[name]) for name in checked}


def _no_last_row(step: int, recorded: int) -> str:
    """`TrackedRun.log_final`'s refusal when the run's record has no row of ``step``."""
    if not step:
        return (
            "log_final() before the first g_step: the run has no row to add to (log() adds to the next "
            "step's)"
        )
    return (
        f"log_final() at step {step}: the run's record ends at step {recorded} (it diverged there, and the "
        f"loop went on past it), so step {step} has no row to add to"
    )


def _float32_or_64(x: Tensor) -> Tensor:
    """``x`` as the batch sends it: itself when float32 or float64 (no op for the usual float32), else
    ``x.float()`` (half, bfloat16)."""
    return x if x.dtype is torch.float32 or x.dtype is torch.float64 else x.float()


def _moved(x: Tensor, device: torch.device) -> Tensor:
    """``x`` on ``device``; a float64 ``x`` as float32 on MPS, which has no float64."""
    if device.type == "mps" and x.dtype is torch.float64:
        return x.to(device, torch.float32)
    return x.to(device)


# `TrackedRun.stop_reason` as a job's ranks agree on it (`_agree_on_stop`: the largest code wins)
STOP_CODES = {"steps": 1, "stop": 2, "diverged": 3}
STOP_REASONS = {code: reason for reason, code in STOP_CODES.items()}


def _refusable(method):
    """`d_step`, `g_step` or `log` remembering a call it refused (a `TrackingError`) as ``_refused``: (the
    step the loop had reached, the call's name, the message), so that `finish` does not read the calls
    before it in that step, left without a row, as calls made in the wrong order (`_warn_unrecorded`). A
    SIGTERM held during the call (`_SigtermHandler`) raises `Terminated` as it returns."""
    name = method.__name__

    @functools.wraps(method)
    def call(self, *args, **kwargs):
        try:
            result = method(self, *args, **kwargs)
        except TrackingError as exc:
            if not self._finished:
                self._refused = (self.step, name, str(exc))
            raise
        if _SIGTERM.held:  # a SIGTERM that came during the call, held until its step was whole
            _SIGTERM.act()
        return result

    return call


class _Update:
    """One D update as `TrackedRun.d_step` keeps it until its batch is measured, in two copies on the
    device made at once (so that a tensor the loop changes in place later, a reused buffer or a compiled
    graph's output, does not change the row): ``logits``, its real then fake logits (``sizes``: their
    batch sizes, one logit per example as `d_step` checks; concatenated along the batch), and ``numbers``
    (1-D): the numbers given (``given``: which of loss_real, loss_fake, total and the gradient norm, in
    that order), then
    the gradient norm's `GradNorms.norms` when it was measured rather than given."""

    __slots__ = ("logits", "numbers", "sizes", "given")

    def __init__(self, logits: Tensor, numbers: Tensor, sizes: tuple[int, int], given: tuple[bool, ...]):
        self.logits, self.numbers, self.sizes, self.given = logits, numbers, sizes, given

    def unpack(self) -> tuple[Tensor, Tensor, Tensor | None, Tensor | None, Tensor | None, NormParts]:
        """(real logits, fake logits, loss_real, loss_fake, total, norm): views of the copies; None for
        a number not given; the norm as its parts (1-D, `measures.totals`) when it was measured."""
        real, fake = self.sizes
        flat, numbers = self.logits.reshape(-1), self.numbers
        found: list[Tensor | None] = []
        at = 0
        for given in self.given:
            found.append(numbers[at] if given else None)
            at += given
        norm = found[3] if self.given[3] else numbers[at:]
        return flat[:real], flat[real : real + fake], found[0], found[1], found[2], norm


class _Step:
    """One generator step waiting for its batch: ``known`` (column -> float: the host values; the row's
    other columns are filled in with its batch, in a warm loop rather than the training loop's), its
    last D update (or None) and ``tensors``, one copy on the device (or None) of the values of ``names``
    followed by the ``g_parts`` values of G's `GradNorms.norms` (0 when G's norm was not measured from
    its parameters). ``layout`` (in a multi-process job only, else None): what decides where its values
    sit in the vector the ranks average, (``names``, ``g_parts``, the names `log` was given as numbers,
    whether D was updated), which every rank must send alike (`TrackedRun._averaged`)."""

    __slots__ = ("known", "update", "g_parts", "tensors", "names", "unmeasured", "layout")

    def __init__(self, known, update, g_parts, tensors, names, unmeasured, layout=None):
        self.known, self.update, self.g_parts = known, update, g_parts
        self.tensors, self.names, self.unmeasured = tensors, names, unmeasured
        self.layout = layout


_G_LOSS = ("g_loss",)  # `_Step.names` of the usual g_step
_LOSS_GIVEN = (False, False, True, False)  # `_Update.given` of the usual d_step: d_loss, the norm measured
# blank under loss="" unless given (`_unknown_losses`)
_LOSS_COLUMNS = ("d_loss", "d_loss_real", "d_loss_fake")


def _unknown_losses(given: tuple[bool, ...]) -> tuple[str, ...]:
    """The loss columns a D update leaves blank under an objective the tracker does not know (``loss=""``),
    by `_Update.given`: each half not given (only the named loss's own halves can be computed from the
    logits), and ``d_loss`` unless it or both halves were given (then it is their sum)."""
    real, fake, total = given[0], given[1], given[2]
    blank = []
    if not (total or (real and fake)):
        blank.append("d_loss")
    if not real:
        blank.append("d_loss_real")
    if not fake:
        blank.append("d_loss_fake")
    return tuple(blank)


_NO_UPDATE = _Update(torch.empty(0), torch.empty(0), (0, 0), (False,) * 4)  # a rank's step without one


class _Batch:
    """Steps whose values are on their way to the host as one vector: first the D updates' rows
    (`D_METRICS`, 8 each, for the steps with a D update, in order), then each step's named values and
    G's gradient norm's parts (totalled here, `measures.host_total`)."""

    __slots__ = ("steps", "values")

    def __init__(self, steps: list[_Step], values: PendingValues | None):
        self.steps, self.values = steps, values

    def ready(self) -> bool:
        return self.values is None or self.values.ready()

    def rows(self, columns: Sequence[str]) -> list[tuple[dict[str, float], set[str]]]:
        """Each step's row (every one of ``columns``, NaN where not measured) and unmeasured columns;
        waits for the values (at most for their copy)."""
        values = [] if self.values is None else self.values.tolist()
        width = len(D_METRICS)
        offset = width * sum(step.update is not None for step in self.steps)
        d_row = 0
        rows = []
        blank = dict.fromkeys(columns, _NAN)  # each row a copy: in ``columns``' order
        for step in self.steps:
            row = blank.copy()
            row.update(step.known)
            if step.update is not None:
                row.update(zip(D_METRICS, values[d_row : d_row + width]))
                d_row += width
                if step.unmeasured:  # under loss="" the halves the tracker cannot compute are blank
                    row.update((c, _NAN) for c in _LOSS_COLUMNS if c in step.unmeasured)
            if step.names:
                row.update(zip(step.names, values[offset : offset + len(step.names)]))
                offset += len(step.names)
            if step.g_parts:
                row["g_grad_norm"] = host_total(values[offset : offset + step.g_parts])
                offset += step.g_parts
            rows.append((row, step.unmeasured))
        return rows


class _RanksDisagree(Exception):
    """The ranks of a job logged other names at a step (`TrackedRun._averaged`): raised on every rank at
    that step, which records nothing; `TrackedRun.g_step` raises it as a `TrackingError`."""


def _described(layout: tuple[tuple[str, ...], int, tuple[str, ...], bool]) -> str:
    """What a step's `_Step.layout` says of the user's calls: the names `log` was given (numbers said)."""
    names, _, numbers, _ = layout
    logged = [(n, "") for n in names if n not in G_METRICS] + [(n, " (a number)") for n in numbers]
    return "[" + ", ".join(f"{name!r}{kind}" for name, kind in sorted(logged)) + "]"


def _logged_names(layout: tuple[tuple[str, ...], int, tuple[str, ...], bool]) -> set[str]:
    names, _, numbers, _ = layout
    return {n for n in names if n not in G_METRICS} | set(numbers)


def _disagreement(layouts: list[tuple], rank: int, steps: list[int], lightning: bool = False) -> str:
    """`_RanksDisagree`'s message on ``rank``: the first of ``steps`` whose layouts differ between this
    rank and rank 0 (on rank 0: the first rank that differs), as the user called `log` and `g_step`, or
    with ``lightning`` (the callback's run) `self.log` in ``training_step``."""
    other = 0
    if layouts[rank] == layouts[0]:  # (this rank is rank 0, or sends as it does: the first that does not)
        other = next(r for r, found in enumerate(layouts) if found != layouts[0])
    mine, theirs = layouts[rank], layouts[other]
    at = next((i for i, (a, b) in enumerate(zip(mine, theirs)) if a != b), 0)
    step = steps[at] if at < len(steps) else steps[-1]
    me = f"this rank (rank {rank})"
    if at >= min(len(mine), len(theirs)) or _described(mine[at]) != _described(theirs[at]):
        said = _described(mine[at]) if at < len(mine) else "[]"
        said_there = _described(theirs[at]) if at < len(theirs) else "[]"
        if at < min(len(mine), len(theirs)) and _logged_names(mine[at]) == _logged_names(theirs[at]):
            return (  # the same names, one a tensor on one rank and a number on another
                f"step {step} of the {len(layouts)}-process job: every rank must log each name as the same "
                f"kind, a tensor on every rank (averaged over the ranks) or a number (rank 0's); {me} "
                f"logged {said}, rank {other} {said_there}"
            )
        if lightning:  # (the callback logs what self.log takes as a tensor: averaged over the ranks)
            return (
                f"step {step} of the {len(layouts)}-process job: every rank must self.log the same names in "
                f"training_step each step (the row holds their mean over the ranks); {me} logged {said}, "
                f"rank {other} {said_there}: self.log each name on every rank, not under "
                "`if self.global_rank == 0` (with rank_zero_only=True too)"
            )
        return (
            f"step {step} of the {len(layouts)}-process job: every rank must log the same names each step "
            f"(a tensor is averaged over the ranks, a number is rank 0's); {me} logged {said}, rank "
            f"{other} {said_there}: call run.log with the same names on every rank (a value that only "
            "rank 0 has, too: any number on the others)"
        )
    if mine[at][3] != theirs[at][3]:
        said, said_there = ("called d_step", "did not") if mine[at][3] else ("called no d_step", "did")
        return (
            f"step {step} of the {len(layouts)}-process job: every rank must call d_step alike; {me} "
            f"{said} before g_step, rank {other} {said_there} (D's losses, accuracies and gradient norm "
            "are averaged over the ranks): call d_step on every rank at a step, or on none"
        )
    how = {0: "without g_params", 1: "with g_params"}
    return (
        f"step {step} of the {len(layouts)}-process job: every rank must call g_step alike; {me} called it "
        f"{how[min(mine[at][1], 1)]}, rank {other} {how[min(theirs[at][1], 1)]} (G's gradient norm is "
        "averaged over the ranks): pass g_params, or g_grad_norm, on every rank"
    )


class TrackedRun:
    """One run of a user's own training loop, written to ``<root>/<run_id>/`` as the dashboard reads it.

    Make it with `init`. Per generator step: `d_step` after each D update (any number, `d_steps` counts
    them), then `g_step` after G's update, which ends the step (its row is written with its batch).
    `log` adds the user's own metrics to the row, `watch` names G (and D) for snapshots and quality
    metrics, `snapshot` takes one now, `finish` ends the run. Thread-compatible, not thread-safe: call
    it from the training loop.

    Attributes the loop reads (set by the run; read them, do not assign them):

    - ``run_id`` (str): the run folder's name, under ``run_dir`` (`gan_core.rundir.RunDir`; its ``path``
      is the folder).
    - ``step`` (int): the loop's count of `g_step` calls (a run continued with ``resume=True`` counts on
      from its folder's last row). Rows land up to a batch late, so after a divergence it runs ahead of
      the record: the loop learns of the NaN up to a batch after its step.
    - ``recorded_step`` (int): the step the run's record ends at, as status.json, the Runs page and the
      banner say it: the diverged row's step after a divergence, `step` otherwise. Print this one after
      `finish` ("failed at step 301", where ``step`` may say 360).
    - ``steps`` (int): the target passed to `init`, 0 for open-ended.
    - ``status`` (str): ``running``, ``paused`` (held in `g_step` by the dashboard's Pause), then after
      `finish` ``finished``, ``stopped`` or ``failed``.
    - ``error`` (str or None): why the run failed or stopped short (``"diverged at step 301: g_loss not
      finite"``), as status.json records it.
    - ``should_stop`` (bool): True once the loop should end; ``stop_reason`` (str or None): why,
      ``"steps"`` (the target reached), ``"stop"`` (Stop from the dashboard) or ``"diverged"``.
    - ``last_eval`` (dict[str, float]): the quality metrics of the last evaluation (`watch`).
    - ``events`` (list[dict]): the events this process recorded (events.csv's rows, as dicts).
    - ``columns`` (tuple[str, ...]): metrics.csv's numeric columns, the built-in ones then `log`'s.
    """

    def __init__(
        self,
        run_dir: RunDir,
        meta: RunMeta,
        *,
        real: Tensor | None,
        steps: int,
        sample_every: int,
        real_labels: Tensor | None = None,
        eval_every: int,
        seed: int,
        optimizers: tuple[torch.optim.Optimizer | None, torch.optim.Optimizer | None],
        sinks: Iterable[Sink] = (),
        dist: DistContext | None = None,
        commit_every: float = COMMIT_SECONDS,
        label_smoothing: float = 0.0,
        resume_from: int | None = None,
        replaced: int = 0,
    ):
        # ``resume_from``: the step of the loop's own checkpoint that a continued folder was cut back to
        # (`RunDir.rewind_to`, by `init`), ``replaced`` the rows that cut dropped; None: from its last row
        self._dist = dist  # rank 0 of a multi-process job: the step's values averaged over the ranks
        self.run_dir = run_dir
        self.run_id = run_dir.run_id
        self.meta = meta
        self._source = meta.source  # who calls (a RankRun has no meta: its init's source)
        # recorded in each row; D's threshold, midpoint and default loss halves follow it (t/2)
        self.label_smoothing = label_smoothing
        self.loss = get_loss(meta.loss).smoothed(label_smoothing) if meta.loss else None
        self.steps = steps
        self.sample_every = sample_every
        self.eval_every = eval_every
        self.seed = seed
        self.opt_d, self.opt_g = optimizers
        self.columns: tuple[str, ...] = RECORD_COLUMNS
        self._folder_sink = RunDirSink(run_dir, self.columns, KEEP_SNAPSHOTS)
        # No in-memory store: the dashboard reads the folder, and folding each batch into a `MetricStore`
        # cost the loop ~35 µs a step (`benchmarks.tracking --profile`); `store` reads the file when asked.
        self.sinks: list[Sink] = [self._folder_sink, *sinks]
        coverage = coverage_total(meta.dataset) if meta.dataset else None
        self.monitor = FlagMonitor(
            self.loss.midpoint if self.loss else None,
            coverage_total=coverage,
            critic=self.loss is not None and self.loss.is_critic,
        )
        # g_step calls, from the folder's last row on, or from the checkpoint's step the folder was cut to
        self.step = resume_from if resume_from is not None else run_dir.last_metrics_step() or 0
        self.status = "idle"
        self.error: str | None = None
        self.stop_reason: str | None = None
        self.events: list[dict[str, Any]] = []
        self.last_eval: dict[str, float] = {}
        self._real = real.detach() if real is not None else None
        self._real_labels = real_labels.detach() if real_labels is not None else None
        self.n_classes = meta.n_classes  # a class-conditional G: called G(z, labels)
        self._grid_labels: Tensor | None = None  # the snapshots' classes (`class_grid`), set by `watch`
        self._output_shape: tuple[int, ...] | None = None  # G's output at the last snapshot (`_view`)
        self._warned_size = False  # `_warn_other_size` said it (once a run)
        self._warned_eval = False  # an evaluation that failed was said as a `TrackingWarning` (once a run)
        # the watched steps (every sample_every) pictured by the user's own `snapshot` calls whose rows are
        # not written yet, and the last step so pictured: the watched snapshot of the same step, or the
        # last one at `finish`, leaves theirs alone (one picture a step); whether that was said (once a run)
        self._own_snapshot_steps: set[int] = set()
        self._last_own_snapshot = 0
        self._warned_snapshot_step = False
        self._G: torch.nn.Module | None = None
        self._D: torch.nn.Module | None = None
        self._fixed_noise: Tensor | None = None
        self._evaluator: Evaluator | None = None
        self._bounds: tuple[float, float, float, float] | None = None
        self._pending_d: list[_Update] = []  # this step's D updates (the row keeps the last)
        self._batch = 0  # the last D update's batch size (samples_per_s)
        self._applied_lr: dict[str, float] | None = None  # `applied_lrs`, for the next row
        self._grad_norms: dict[int, tuple[torch.nn.Module, GradNorms]] = {}
        self._pending_log: dict[str, Tensor | float] = {}
        self._unmeasured: set[str] = set()  # columns this step did not measure (`FlagMonitor.update`)
        self._init_batches(commit_every)
        self._poller = CommandPoller(run_dir.path)
        self._notes_answer: dict[str, Any] | None = None  # the last notes request's answer
        self._should_stop = False
        self._diverged_at: int | None = None  # the step whose row diverged: the run's last row
        # how the loop calls d_step, judged on the first committed rows' host values (`checks`), then None
        self._row_checks: RowChecks | None = RowChecks(self.loss, lightning=meta.source == "lightning")
        self._ended_by_exception = False  # `finish` from an exception: a step cut short is no misuse
        self._refused: tuple[int, str, str] | None = None  # the last call refused (`_refusable`)
        self._paused_s = 0.0
        # Training time as the built-in trainer counts it: from the loop's first call, step to step, the
        # tracker's own evaluations, snapshots and pauses left out (`_last_commit` is set after them).
        found_status = run_dir.read_status()  # (a continued folder's: what trained it last)
        self._train_seconds = float(found_status.get("train_seconds") or 0.0)  # resume: goes on
        if replaced:  # the time trained after the checkpoint went with its rows: from the last row kept
            self._train_seconds = 0.0
        self._last_commit: float | None = None
        # What this start trains with (`gan_core.environment`): at the loop's first d_step or g_step, where
        # its device is known; at step 0 for a new run, at the first new step for a continued one
        self._environment_said = False
        self._environment_step = self.step + 1 if self.step or replaced else 0
        package_version()  # (read now, once: not inside the loop's first step)
        self._last_status_write = 0.0
        self._process = this_process()
        self._finished = False
        # open metrics.csv (a folder continued with resume=True keeps its header and rows)
        self.run_dir.open_metrics((*self.columns, *TEXT_COLUMNS))
        existing = self._header()
        if existing and existing != self.columns:
            self._set_columns(existing)
        if self._real is not None and meta.data_kind in ("points", "images"):
            # a conditional run's given classes lay it out as G's grid, a row per class (`real_view`)
            view = real_view(self._real, meta.data_kind, seed, self._real_labels, meta.n_classes)
            self.run_dir.save_snapshot("real", view)
        self._baseline_recorded = False  # the feature spaces' baselines are in events.csv
        if self.step or replaced:  # a folder continued (resume=True): its rows go on from the last one
            self._resume_monitor()
            if resume_from is None:
                # (in words, as the checkpoint's below: it read "from_step=1000, replaced=0", a review)
                self._event(
                    "resume", f"from its last row, at step {self.step}", from_step=self.step, replaced=0
                )
            else:  # as a built-in run's resume says it (`gan_core.runner.Runner._restore`)
                dropped = (
                    f"; {replaced} row{'s' * (replaced != 1)} logged after it replaced" if replaced else ""
                )
                detail = f"from the checkpoint at step {self.step}{dropped}"
                self._event("resume", detail, from_step=self.step, replaced=replaced)
                last = run_dir.last_metrics_step() or 0
                if last < self.step:  # a checkpoint newer than the rows: a gap, said where it begins
                    self._warn(
                        f"resume_from={self.step}: run {self.run_id!r}'s rows end at step {last}, so steps "
                        f"{last + 1} to {self.step} have no row (its charts show the gap): a checkpoint "
                        "newer than the rows (the steps a kill lost before they were written), or another "
                        f"run's? To go on without a gap, resume from your checkpoint of step {last} or "
                        "earlier (resume_from= its step)",
                        "rows_missing",
                        last_row=last,
                        from_step=self.step,
                    )
        self._record_new_hparams(run_dir.read_meta())
        if self.steps and self.step >= self.steps:  # continued at its target: the loop takes no step
            self._should_stop, self.stop_reason = True, "steps"
            if self.step > self.steps:  # a target below the step reached: most likely not meant
                self._warn(
                    f"resume=True: run {self.run_id!r} is at step {self.step}, past steps={self.steps}: "
                    f"should_stop is True at once, the loop takes no step and the run ends at step "
                    f"{self.step}; to train on, pass steps larger than {self.step} (the total to reach, "
                    "not the steps to add), or steps=0 for open-ended",
                    "steps_passed",
                    reached=self.step,
                    steps=self.steps,
                )
        self._set_status("running")
        if dist is not None:  # as a built-in job records it: the chart marks where a job took the run on
            self._event("job", **dist.status_fields())
        if self.step:  # what changes from the next step, after the status at this one: the log in step order
            self._record_world_size(found_status.get("world_size", 1 if found_status else None))

    def _record_world_size(self, trained_with: Any) -> None:
        """A folder continued under another number of processes than ``trained_with`` (its status.json's
        ``world_size``; 1 when absent, not a whole number >= 1 read as unknown: no event): a
        ``world_size`` event at the first new step (field, old, new), as a built-in run resumed so records
        it (`gan_core.runner.Runner._restore`)."""
        now_with = self._dist.world_size if self._dist is not None else 1
        if isinstance(trained_with, bool) or not isinstance(trained_with, int) or trained_with < 1:
            return
        if trained_with != now_with:
            self._event("world_size", step=self.step + 1, field="world_size", old=trained_with, new=now_with)

    def _record_new_hparams(self, found: RunMeta) -> None:
        """A folder continued with another config (or model, dataset): run.json takes the new one, and
        each hyperparameter that changed, came or went is an ``hparam`` event at the resume step (field,
        old, new; None for one absent), as a built-in run records a change, so the charts mark it and
        Compare reads today's values."""
        new = json.loads(self.meta.to_json())  # as run.json holds it (tuples as lists, non-finite as null)
        old = found.hparams
        if (old, found.model, found.dataset) == (new["hparams"], self.meta.model, self.meta.dataset):
            return
        if self.step:
            for name in sorted(set(old) | set(new["hparams"]), key=str):
                before, after = old.get(name), new["hparams"].get(name)
                if before != after or (name in old) != (name in new["hparams"]):
                    self._event("hparam", field=name, old=before, new=after)
        self.run_dir.write_meta(self.meta)

    def _resume_monitor(self) -> None:
        """The flag monitor of a continued folder, from its rows and events (`FlagMonitor.
        resume_from_records`): the flags up at its last row stay up without a new event (they vanished
        from the rows with no ``flag_cleared``, and came back as a second raise), the collapse judged
        against the best its evaluations reached; and its baselines are not recorded twice. Only the events
        of the history it goes on from count (`current_events`): a resume from an earlier checkpoint drops
        the flags, the baselines and the findings of the rows it replaces."""
        frame = self.run_dir.read_metrics()
        events = current_events(self.run_dir.read_events().to_dict("records"), rewound_to=self.step)
        kinds = [event.get("kind") for event in events]
        fields = [event.get("fields") for event in events]
        raised = [f.get("flag") for k, f in zip(kinds, fields) if k == "flag" and isinstance(f, dict)]
        self._baseline_recorded = "baseline" in kinds
        # a probabilities finding not withdrawn: watched on, so that a row proving them logits withdraws it
        said = [
            (event.get("step"), f) for event, k, f in zip(events, kinds, fields, strict=True)
            if k == "warning" and isinstance(f, dict) and f.get("check") == "probabilities"
        ]  # fmt: skip
        if said and said[-1][1].get("withdrawn") is None and self._row_checks is not None:
            self._row_checks.said_before(int(said[-1][0]))  # (the events reader's steps: whole numbers)
        if frame.empty:
            return
        last = frame.iloc[-1]  # (the reader's numeric columns hold numbers or NaN, "flags" text)
        # The clock goes on from the last row: status.json is written every few seconds, and after a kill
        # -9 it holds an earlier step's time (time_s ran backwards at the first new row).
        last_time = float(last["time_s"]) if "time_s" in frame.columns else math.nan
        if math.isfinite(last_time):
            self._train_seconds = max(self._train_seconds, last_time)
        flags = last["flags"] if "flags" in frame.columns else None
        up = flags.split("|") if isinstance(flags, str) else []
        best = {name: float(frame[name].max()) for name in COLLAPSE_FLOORS if name in frame.columns}
        last_eval: dict[str, float] = {}
        values = frame[[c for c in EVAL_COLUMNS if c in frame.columns]]
        measured = values.notna().any(axis=1).to_numpy()
        if measured.any():
            last_eval = {k: float(v) for k, v in values[measured].iloc[-1].items()}
        self.monitor.resume_from_records(int(last["step"]), up, raised, best, last_eval)

    # ------------------------------------------------------------------ the loop's calls
    def watch(self, G: torch.nn.Module, fixed_noise: Tensor, D: torch.nn.Module | None = None) -> TrackedRun:
        """Name the networks to picture and measure: every ``sample_every`` steps a snapshot of
        ``G(fixed_noise)`` ((N, *latent_shape) on G's device; 64 images make an 8 x 8 grid; for 2D points
        with ``D``, D's heatmap and G's gradient arrows too), every ``eval_every`` steps the quality metrics
        of the built-in runs (needs ``real``, the reference examples, at `init`). Returns self. For a
        class-conditional run (`init`'s ``n_classes``) G is called ``G(noise, labels)`` and the grid has
        one row per class, column c all ``fixed_noise[c]`` (at least `GRID_COLUMNS` rows needed).

        G is tried on ``fixed_noise`` here, once, as a snapshot runs it (eval mode, no gradients, its
        mode restored: BatchNorm statistics untouched): noise that does not fit G, or an output no snapshot
        can draw (images other than (N, C, H, W) with C 1 or 3: channels last, (N, H, W), flattened for a
        run of real images; points other than (N, 2)), is a `TrackingError` now rather than a failed
        snapshot later; images of another size than ``real``'s a `TrackingWarning` (once a run)."""
        self._check_open()
        if not isinstance(G, torch.nn.Module) or (D is not None and not isinstance(D, torch.nn.Module)):
            raise TrackingError("watch(G, fixed_noise, D=None) needs G (and D) as torch.nn.Module")
        if not isinstance(fixed_noise, Tensor) or fixed_noise.dim() < 2:
            raise TrackingError("fixed_noise must be a tensor of shape (N, *latent_shape), N >= 1")
        fixed_noise = fixed_noise.detach()
        given = tuple(fixed_noise.shape)  # what the messages name: the user's noise, not the grid's
        labels = None
        if self.n_classes:  # one row per class, a noise per column, as a built-in conditional run draws it
            if fixed_noise.shape[0] < GRID_COLUMNS:
                raise TrackingError(
                    f"fixed_noise has {fixed_noise.shape[0]} rows: a class-conditional run's grid takes its "
                    f"first {GRID_COLUMNS}, one per column; allowed: {GRID_COLUMNS} rows or more"
                )
            fixed_noise, labels = class_grid(fixed_noise, self.n_classes)
        data = bounds = None
        if self._real is not None and self.meta.data_kind in ("points", "images"):
            data = self._data_source()
            bounds = data.bounds
        try:
            view = self._view(G, fixed_noise, D, bounds, labels)
        except TrackingError as exc:  # G ran, but its output cannot be drawn (`_output_problem`)
            raise TrackingError(f"watch: {exc}") from None
        except Exception as exc:
            if D is not None and self._d_failed(G, fixed_noise, bounds, labels):
                raise TrackingError(
                    f"watch: D failed on the 2D view's points (D's heatmap over the data's window, and G's "
                    f"points), called D(x) with x (N, 2) and no labels: {type(exc).__name__}: {exc}; "
                    "allowed: a D that takes D(x) alone (a conditional D whose labels default), or D=None "
                    "(G's points without D's heatmap)"
                ) from exc
            and_d = ", whose output D takes" if D is not None else ""
            call, grid = "G(fixed_noise)", ""
            if labels is not None:
                call = "G(noise, labels) (labels (N,) int64 classes)"
                rows = len(labels) // GRID_COLUMNS
                grid = (
                    f"; G was given its first {GRID_COLUMNS} rows once for each of {rows} classes: noise "
                    f"{tuple(fixed_noise.shape)}, labels {tuple(labels.shape)}"
                )
            allowed = f"noise that G takes as its input{and_d}, (N, *latent_shape) on G's device"
            if labels is not None:  # G may not take classes, or fewer than the run's
                allowed = (
                    f"with n_classes={self.n_classes} the tracker calls G(noise, labels) with labels in 0.."
                    f"{self.n_classes - 1}: a G that takes both (classes 0..{self.n_classes - 1}){and_d}; "
                    "init's n_classes=0 for an unconditional G, called G(noise)"
                )
            raise TrackingError(
                f"watch: the snapshot {call} failed for fixed_noise of shape {given} ({fixed_noise.dtype}, "
                f"on {fixed_noise.device}{grid}): {type(exc).__name__}: {exc}; allowed: {allowed}"
            ) from exc
        self._warn_other_size()
        self._G, self._D, self._fixed_noise, self._bounds = G, D, fixed_noise, bounds
        self._grid_labels = labels
        if data is not None:
            self._evaluator = Evaluator(
                self._evaluation_config(), data, self._fixed_noise, seed=self.seed, n_classes=self.n_classes
            )
        if self.step == 0:  # the tried view is the first snapshot
            for sink in self.sinks:
                sink.log_snapshot(self.step, view)
        return self

    def _d_failed(self, G: torch.nn.Module, noise: Tensor, bounds: Any, labels: Tensor | None) -> bool:
        """Whether a view that failed with D is drawn without it: D's failure, not G's (for `watch`'s
        message: a conditional D called D(x) by the heatmap was said as G failing on its noise)."""
        try:
            self._view(G, noise, None, bounds, labels)
        except Exception:
            return False
        return True

    @_refusable
    def d_step(
        self,
        real_logits: Tensor,
        fake_logits: Tensor,
        *,
        d_loss: Tensor | float | None = None,
        d_loss_real: Tensor | float | None = None,
        d_loss_fake: Tensor | float | None = None,
        d_params: torch.nn.Module | Iterable[Tensor] | None = None,
        d_grad_norm: Tensor | float | None = None,
    ) -> None:
        """Record one D update: D's raw outputs (logits, one per example: shape (B,), (B, 1) or any (B, 1,
        ..., 1) such as a DCGAN D's (B, 1, 1, 1), else a `TrackingError`; the two batches' sizes may differ)
        on the real and fake batch it trained on, after ``backward()`` (and before the next ``zero_grad``) so
        that ``d_params``' gradients are there. ``d_loss`` is D's loss without any penalty (a gradient
        penalty, R1: `log` it as its own metric), as the built-in trainer records it, and defaults to the
        loss's d_loss_real + d_loss_fake from the logits; the two halves default to the loss's own, with D's
        real target 1 - ``label_smoothing`` as given to `init`: pass them too for a loss with other targets.
        Under ``loss=""`` (an objective the tracker does not know) a half not given is left blank, and so is
        ``d_loss`` unless it or both halves are given. The first committed rows are looked at once (`checks`,
        host values only): probabilities passed as logits, or a ``d_loss`` that is not the sum of the halves
        computed, are said once in a `TrackingWarning` and a ``warning`` event. ``d_grad_norm``, or the total
        L2 norm of ``d_params``' gradients (`measures.grad_norm`; pass D itself, whose trainable parameters
        are listed once, or any iterable of parameters: their gradients as they are now, so after a
        ``clip_grad_norm_`` pass the norm it returns as ``d_grad_norm`` instead, the norm before the clip; a
        norm read at one clipped value on most first rows is said, `checks`), else NaN; both given, a
        `TrackingError`. Only the gradient norm is computed now, and the logits and tensors given are copied
        (one op), so that the loop may change them in place afterwards; the rest is computed with the
        step's batch (see the module).
        Nothing here waits on the device."""
        if self._finished:
            self._check_open()
        if not isinstance(real_logits, Tensor) or not isinstance(fake_logits, Tensor):
            raise TrackingError(_not_logits(real_logits, fake_logits))
        real_shape, fake_shape = real_logits.shape, fake_logits.shape  # sizes, not ops: no cost
        if not (
            real_shape
            and fake_shape
            and real_shape[0]
            and fake_shape[0]
            and real_shape.numel() == real_shape[0]
            and fake_shape.numel() == fake_shape[0]
        ):  # (B, 2) would be flattened into 2B examples, a 0-d one would be no batch at all
            raise TrackingError(
                f"d_step's logits must be one per example, shape (B,) or (B, 1) with B >= 1 (D's raw "
                f"output; (B, 1, ..., 1) too), got real_logits {tuple(real_shape)} and fake_logits "
                f"{tuple(fake_shape)} (the real and fake batch sizes may differ)"
            )
        if not (real_logits.is_floating_point() and fake_logits.is_floating_point()):  # (a dtype: no op)
            raise TrackingError(
                f"d_step's logits must be D's raw outputs, floating point, got real_logits "
                f"{real_logits.dtype} and fake_logits {fake_logits.dtype} (a thresholded decision, such as "
                "(logits > 0).int(), is no score to measure)"
            )
        if not self._environment_said:  # this start's versions, device and threads (once a start)
            self._say_environment(real_logits.device)
        if self._last_commit is None:  # the loop's first call: the clock starts
            self._last_commit = time.perf_counter()
        # Three ops in all (each costs ~25-50 µs inside a training loop on the CPU): the gradient norms,
        # one copy of the logits and one of the numbers, so that the loop may change them in place after.
        device = real_logits.device
        # Nothing made here joins the loop's graph (so no detach either): grad mode off as torch.no_grad
        # sets it, without its context manager's Python frames (`_set_grad_enabled`).
        grad_was = _grad_enabled()
        _set_grad_enabled(False)
        try:
            if (
                type(d_loss) is Tensor
                and d_params is not None
                and d_loss_real is None
                and d_loss_fake is None
                and d_grad_norm is None
                and d_loss.device == device
            ):  # the usual call, as examples/own_dcgan.py makes it: as little Python as the ops allow
                if d_loss.numel() != 1:
                    _scalar(d_loss, "d_loss")  # raises, saying what is wrong
                try:  # no op: the gradients are listed for the norm anyway
                    numbers = self._norms(d_params).norms(device, True)
                except NoGradients as exc:
                    raise _no_gradients(exc, "d") from None
                numbers.insert(0, d_loss if not d_loss.dim() else d_loss.reshape(()))
                flags = _LOSS_GIVEN
            else:
                numbers, flags = self._d_numbers(
                    device, d_loss, d_loss_real, d_loss_fake, d_params, d_grad_norm
                )
            if real_shape[1:] == fake_shape[1:]:
                logits = torch.cat((real_logits, fake_logits))  # (B_real + B_fake, ...): no reshapes
            else:  # (B,) and (B, 1)
                logits = torch.cat((real_logits.reshape(-1), fake_logits.reshape(-1)))
            sizes = (real_shape[0], fake_shape[0])  # one logit per example (checked above)
            self._pending_d.append(_Update(logits, torch.stack(numbers), sizes, flags))
        finally:
            _set_grad_enabled(grad_was)
        self._batch = real_shape[0]

    def _say_environment(self, device: torch.device) -> None:
        """The ``environment`` event of this start (once): versions, ``device`` (the loop's), CPU threads."""
        self._environment_said = True
        self._event("environment", step=self._environment_step, **environment(device))

    def _d_numbers(self, device, d_loss, d_loss_real, d_loss_fake, d_params, d_grad_norm):
        """`d_step`'s numbers (0-d tensors on ``device``, in `_Update`'s order) and which were given, for
        any call: numbers filled on the device (no copy, no sync), tensors moved, the norm measured."""

        def tensor(value: Any, what: str) -> Tensor | None:
            if value is None:
                return None
            value = _scalar(value, what, detach=False)
            if not isinstance(value, Tensor):
                return torch.full((), value, device=device)  # a fill on the device: no copy, no sync
            return value if value.device == device else value.to(device)

        if d_grad_norm is not None and d_params is not None:
            raise TrackingError(_BOTH_NORMS.format(role="d"))
        given = [
            tensor(d_loss_real, "d_loss_real"),
            tensor(d_loss_fake, "d_loss_fake"),
            tensor(d_loss, "d_loss"),
            tensor(d_grad_norm, "d_grad_norm"),
        ]
        numbers = [t for t in given if t is not None]
        if d_grad_norm is None:  # now: the next zero_grad or G's backward through D changes them
            if d_params is not None:
                try:  # totalled with the batch (`totals`)
                    numbers += self._norms(d_params).norms(device, True)
                except NoGradients as exc:
                    raise _no_gradients(exc, "d") from None
            else:
                numbers.append(torch.full((), _NAN, device=device))
                self._unmeasured.add("d_grad_norm")
        return numbers, tuple(t is not None for t in given)

    @_refusable
    def g_step(
        self,
        g_loss: Tensor | float,
        *,
        g_params: torch.nn.Module | Iterable[Tensor] | None = None,
        g_grad_norm: Tensor | float | None = None,
    ) -> dict[str, float] | None:
        """Record G's update (after its ``backward()``), ending the step: its row holds every
        `RECORD_COLUMNS` value (D's columns from the last `d_step` of this step, NaN without one), the
        `log`-ged metrics and the flags. The step waits in a batch: every ``commit_every`` seconds (see
        `init`) the batch's measures are computed together and started to the host in one transfer, read
        at the next batch or as soon as it has landed (on the CPU at once), so that the device never
        waits for the host (issue 15): rows, flags and a divergence's stop land up to a batch late, by
        design. A step with a snapshot (every ``sample_every``), quality metrics (every ``eval_every``;
        see `watch`) or the last of ``steps`` is committed at once; `flush` commits every pending step
        now, `finish` does it last. While the dashboard has the run paused this call waits until Resume
        or Stop. Returns the newest row this call committed (column -> float), or None when it committed
        none. ``g_grad_norm``, or the total L2 norm of ``g_params``' gradients, else NaN; both given, a
        `TrackingError`."""
        if self._finished:
            self._check_open()
        if not self._environment_said:  # a loop whose first call is a g_step (a G-only step first)
            real = self._real
            loop_device = real.device if real is not None else torch.device("cpu")
            self._say_environment(g_loss.device if isinstance(g_loss, Tensor) else loop_device)
        if self._should_stop and self.status == "paused":  # stopped while paused, and the loop goes on
            self._set_status("running")
        now = time.perf_counter()
        elapsed = now - (self._last_commit or now)
        self._train_seconds += elapsed
        self.step += 1
        d_updates = len(self._pending_d)
        update = self._pending_d[-1] if d_updates else None
        known = {
            "step": float(self.step),
            "time_s": self._train_seconds,
            "d_steps": float(d_updates),
            "samples_per_s": self._batch * d_updates / elapsed if elapsed > 0 and d_updates else _NAN,
            "label_smoothing": self.label_smoothing,
        }
        self._add_optimizer_hparams(known)
        if self.loss is None and update is not None:  # loss="": the halves not given are not measured
            self._unmeasured.update(_unknown_losses(update.given))
        try:
            if (
                update is not None
                and type(g_loss) is Tensor
                and g_params is not None
                and g_grad_norm is None
                and not self._pending_log
                and self._dist is None
                and g_loss.device == update.numbers.device
            ):  # the usual call, as examples/own_dcgan.py makes it: as little Python as the ops allow
                if g_loss.numel() != 1:
                    _scalar(g_loss, "g_loss")  # raises, saying what is wrong
                grad_was = _grad_enabled()  # as torch.no_grad, for less Python (`_set_grad_enabled`)
                _set_grad_enabled(False)
                try:  # one op copies them, so that the loop may change them after
                    try:  # no op: the gradients are listed for the norm anyway
                        parts = self._norms(g_params).norms(g_loss.device, True)
                    except NoGradients as exc:
                        raise _no_gradients(exc, "g") from None
                    g_parts = len(parts)
                    parts.insert(0, g_loss if not g_loss.dim() else g_loss.reshape(()))
                    copied = torch.stack(parts)
                finally:
                    _set_grad_enabled(grad_was)
                self._steps.append(_Step(known, update, g_parts, copied, _G_LOSS, self._unmeasured))
            else:
                self._g_record(known, update, g_loss, g_params, g_grad_norm)
        except BaseException:  # a bad call (or Ctrl-C within it) records nothing: the step is to take again
            self.step -= 1
            self._train_seconds -= elapsed
            raise
        self._pending_d, self._pending_log, self._unmeasured = [], {}, set()
        step = self.step
        at_once = (
            (self._G is not None and step % self.sample_every == 0)
            or (self._evaluator is not None and step % self.eval_every == 0)
            or (self.steps and step >= self.steps)
        )
        try:
            if at_once:  # those read G as the row's step left it
                row = self.flush()
            else:
                row = None
                if (
                    self._dist is not None
                    or now - self._last_send >= self.commit_every
                    or len(self._steps) >= MAX_PENDING_STEPS
                ):
                    row = self._send()
                if self._in_flight:
                    row = self._commit_batches(wait=False) or row
        except BaseException as exc:
            if self._dist is not None and self._averaged_step < step:
                # its values were not averaged (the ranks log other names, or the collective broke: another
                # rank ended): the step has no row, and the run's record, status and "failed at step" end
                # before it
                self.step -= 1
                self._train_seconds -= elapsed
            if isinstance(exc, _RanksDisagree):  # on every rank at this step
                raise TrackingError(str(exc)) from None
            raise
        if self.steps and self.step >= self.steps and not self._should_stop:
            self._should_stop, self.stop_reason = True, "steps"
        self._poll_commands()
        if self._dist is not None:  # every rank learns the job's stop (and a signal to any) at this step
            self._agree_on_stop()
        self._last_commit = time.perf_counter()  # the next step's time starts after the tracker's work
        return row

    def _agree_on_stop(self) -> None:
        """A job's step boundary, met by every rank (`DistContext.agree_max`, one collective): the job
        stops here when any rank's run should stop (rank 0's Stop or divergence), waits while rank 0 is
        paused (its ticks in `_poll_commands`), and ends here when any rank got a SIGTERM (torchrun passes
        its own on to every rank; a scheduler may signal one): `Terminated` is raised on every rank at
        this same step, so that none is left waiting in a collective of the next, and the run ends
        ``stopped``, "terminated (SIGTERM)", every row written (rank 0 records a ``rank_stop`` event when
        the signal came to another rank)."""
        dist = self._dist
        assert dist is not None

        def wish() -> int:  # why this rank would stop, as a code (the most serious reason wins)
            return STOP_CODES.get(self.stop_reason, STOP_CODES["stop"]) if self._should_stop else 0

        stop, paused, signalled = dist.agree_max(wish(), 0, int(_SIGTERM.requested))
        while paused:  # rank 0 is paused: a `RankRun` meets each of its ticks until it goes on or ends
            stop, paused, signalled = dist.agree_max(wish(), 0, int(_SIGTERM.requested))
        if stop > wish():  # another rank's reason: rank 0's Stop or divergence (its row's values not finite)
            self._should_stop, self.stop_reason = True, STOP_REASONS[stop]
            if self.stop_reason == "diverged" and not dist.is_main:
                self.error = f"diverged at step {self.step}: rank 0's row of the job's values is not finite"
        if signalled:
            if dist.is_main and not _SIGTERM.requested:
                self.flush()  # the last step's row first: the event is after it
                self._event("rank_stop")
            _SIGTERM.act()

    def _g_record(self, known, update, g_loss, g_params, g_grad_norm) -> None:
        """`g_step`'s pending step for any call: its numbers and `log`-ged values, on the device in one
        copy (tensors moved there; in a multi-process job host numbers too, so that every rank sends one
        layout), host values into ``known``; G's norm measured now."""
        g_value = _scalar(g_loss, "g_loss", detach=False)  # stacked under no_grad below
        g_norms: GradNorms | None = None  # measured below, totalled when read (`measures.host_total`)
        named: tuple[tuple[str, Any], ...] = (("g_loss", g_value),)
        if g_grad_norm is not None:  # given: a value like g_loss
            if g_params is not None:
                raise TrackingError(_BOTH_NORMS.format(role="g"))
            named += (("g_grad_norm", _scalar(g_grad_norm, "g_grad_norm", detach=False)),)
        elif g_params is not None:
            g_norms = self._norms(g_params)
        else:
            named += (("g_grad_norm", _NAN),)
            self._unmeasured.add("g_grad_norm")
        if update is None:  # no D update this step: D's columns are blank, not a divergence
            self._unmeasured.update(D_METRICS)
        names: list[str] = []
        tensors: list[Tensor] = []
        averaged = self._dist is not None  # every rank's vector has the same layout: numbers go in too
        # (in a job in name order: ranks that log the same names in another order send one layout)
        logged = sorted(self._pending_log.items()) if averaged else self._pending_log.items()
        numbers: list[str] = []  # `log`'s numbers: rank 0's, not averaged
        for name, value in (*named, *logged):
            if isinstance(value, Tensor):
                names.append(name)
                # an integer tensor as float64 (exact to 2**53): stacked with float32 ones it would be
                # float32 (2**40 + 1 rounded); a float64 one keeps the stack float64
                tensors.append(
                    value
                    if value.is_floating_point()
                    else value.float()
                    if value.device.type == "mps"
                    else value.double()
                )  # (MPS has no float64)
            elif averaged and name in G_METRICS:
                names.append(name)
                tensors.append(torch.tensor(value))
            else:
                known[name] = float(value)
                numbers.append(name)
        copied, g_parts = None, 0
        if tensors or g_norms is not None:  # one op copies them, so that the loop may change them after
            device = (update.numbers if update is not None else tensors[0] if tensors else g_norms).device
            with torch.no_grad():
                # (MPS has no float64: a float64 value goes there as float32)
                tensors = [t if t.device == device else _moved(t, device) for t in tensors]
                if g_norms is not None:
                    # ranks average their values: each sends its total, as the mean of totals is meant
                    try:
                        parts = [g_norms(True).to(device)] if averaged else g_norms.norms(device, True)
                    except NoGradients as exc:
                        raise _no_gradients(exc, "g") from None
                    tensors += parts
                    g_parts = len(parts)
                copied = torch.stack(tensors)
        layout = None
        if averaged:  # (whether D was updated too: a rank without one sends NaN where the others' go)
            layout = (
                tuple(names),
                g_parts,
                tuple(n for n in numbers if n not in G_METRICS),
                update is not None,
            )
        self._steps.append(_Step(known, update, g_parts, copied, tuple(names), self._unmeasured, layout))

    def flush(self) -> dict[str, float] | None:
        """Commit every step still waiting for its batch or on its way to the host (see `g_step`), waiting
        for their values (on CUDA a wait for the device). Returns the newest row, or None when every step
        was committed already. `finish` and a Pause from the dashboard flush by themselves."""
        row = self._send()
        return self._commit_batches(wait=True) or row

    def _init_batches(self, commit_every: float) -> None:
        self.commit_every = commit_every
        # a job's agreed layout of the averaged vector and its length (`_averaged`), and its trailing 0
        self._agreed: tuple[tuple, int] | None = None
        self._zero: Tensor | None = None
        self._steps: list[_Step] = []  # steps whose measures are not computed yet
        self._in_flight: list[_Batch] = []  # batches on their way to the host, oldest first
        self._readback = LaggedReadback()  # each batch's values to the host without a wait (issue 15)
        self._last_send = time.perf_counter()
        self._averaged_step = -1  # in a job, the newest step whose values the ranks averaged (`_send`)

    def _send(self) -> dict[str, float] | None:
        """Measure the pending steps together and start their one transfer to the host (`_Batch`). The
        read-back has two buffers: a batch still on its way from the send before the last is committed
        first (waiting for it); returns the newest row that commits, if any."""
        steps, self._steps = self._steps, []
        if not steps:
            return None
        row = None
        while len(self._in_flight) > 1:
            row = self._commit_batch(self._in_flight.pop(0)) or row
        self._last_send = time.perf_counter()
        updates = [step.update for step in steps if step.update is not None]
        scalars = [step.tensors for step in steps if step.tensors is not None]
        device = updates[0].logits.device if updates else scalars[0].device if scalars else None
        if device is None and self._dist is None:  # nothing on a device: every value is known
            self._in_flight.append(_Batch(steps, None))
            return row
        device = device or torch.device("cpu")
        parts = []
        with torch.no_grad():
            if updates:
                parts.append(self._d_rows(updates).reshape(-1))
            elif self._dist is not None:  # no D update on this rank: NaN, in the layout every rank sends
                for step in steps:
                    step.update = _NO_UPDATE
                parts.append(torch.full((len(D_METRICS) * len(steps),), _NAN, device=device))
            if scalars:
                # float64 kept (a float64 metric or model's loss: 1e300 is no inf, 2**40 + 1 no rounded
                # number; the batch is then float64 as a whole), but in a job, whose ranks' vectors must
                # be of one dtype for the collective: there float32, as before
                sent = as_float32 if self._dist is not None else _float32_or_64
                parts.extend(sent(t if t.device == device else t.to(device)) for t in scalars)
            if self._dist is not None:  # averaged over the ranks: one collective (`_averaged`)
                values = self._averaged(parts, steps, device)
                self._averaged_step = int(steps[-1].known["step"])
            else:
                values = torch.cat(parts) if len(parts) > 1 else parts[0]
        self._in_flight.append(_Batch(steps, self._readback.start(values)))
        return row

    def _averaged(self, parts: list[Tensor], steps: list[_Step], device: torch.device) -> Tensor:
        """The pending ``steps``' values (``parts``, concatenated) averaged over the ranks, every rank's in
        the same places: each rank must send the steps' layouts alike (`_Step.layout`: which values, in
        which order).
        Vectors of different layouts would be summed place by place (other metrics' values averaged
        together) or, of different lengths, fail inside gloo ("Received data size doesn't match expected
        size") with nothing said of why.

        No collective is added per step: the ranks agree on a layout once (at the first step, and when one
        changes), then each step's vector ends with one more number, 0 from a rank whose layout is the one
        agreed; a rank whose layout changed sends a vector of the agreed length, all 0 but for that 1.
        Seen in the average (on every rank), the ranks compare their layouts (`DistContext.gather`, rare)
        and send again, or raise `_RanksDisagree` on every rank at the same step, naming what differs."""
        dist = self._dist
        assert dist is not None
        layout = tuple(step.layout for step in steps)
        if self._agreed is not None:
            agreed, width = self._agreed
            if layout == agreed:
                zero = self._zero
                if zero is None or zero.device != device:
                    self._zero = zero = torch.zeros(1, device=device)
                sent = torch.cat((*parts, zero))  # (the one cat a step makes anyway)
            else:
                sent = torch.zeros(width + 1, device=device)
                sent[-1] = 1.0
            out = dist.reduce_mean(sent)
            # A read of one number: on CUDA a sync, which the step's `DistContext.agree_max` makes anyway
            if not out[-1].item():
                return out[:-1]
        layouts = dist.gather(layout)
        if any(other != layout for other in layouts):
            steps_at = [int(s.known["step"]) for s in steps]
            lightning = self._source == "lightning"  # (said in self.log's words)
            raise _RanksDisagree(_disagreement(layouts, dist.rank, steps_at, lightning))
        values = torch.cat(parts) if len(parts) > 1 else parts[0]
        self._agreed = (layout, values.numel())
        return dist.reduce_mean(values)

    def _d_rows(self, updates: list[_Update]) -> Tensor:
        """`D_METRICS` of the batch's D updates, (K, 8) on their device. The usual batch (every update
        alike: real and fake batches of one size, the same numbers given, a loss with a fixed
        threshold) is measured from two stacks of the updates' copies (`measures.d_metrics_stacked`),
        so that its ops do not grow with its steps (each small op costs ~10-30 µs in a training loop on
        the CPU); any other batch update by update (`measures.d_metrics_steps`)."""
        loss = self.loss or get_loss("wgan")  # no loss named: median accuracy, raw scores
        first = updates[0]
        if (
            loss.threshold is not None
            and first.sizes[0] == first.sizes[1]
            and all(
                u.sizes == first.sizes
                and u.given == first.given
                and u.logits.shape == first.logits.shape
                and u.numbers.shape == first.numbers.shape
                for u in updates
            )
        ):
            real, fake = first.sizes
            logits = torch.stack([u.logits for u in updates]).reshape(len(updates), -1)
            numbers = torch.stack([u.numbers for u in updates])  # (K, n): given, then the norm's parts
            columns: list[Tensor | None] = []
            at = 0
            for given in first.given:
                columns.append(numbers[:, at] if given else None)
                at += given
            norm = columns[3] if first.given[3] else torch.linalg.vector_norm(numbers[:, at:], dim=1)
            real_logits, fake_logits = logits[:, :real], logits[:, real : real + fake]
            return d_metrics_stacked(loss, real_logits, fake_logits, columns[0], columns[1], norm, columns[2])
        unpacked = [u.unpack() for u in updates]
        real, fake, loss_real, loss_fake, total, norm = zip(*unpacked, strict=True)
        return d_metrics_steps(loss, real, fake, loss_real, loss_fake, totals(norm), total)

    def _commit_batches(self, wait: bool) -> dict[str, float] | None:
        """Commit the batches whose values have landed (all of them with ``wait``); the newest row."""
        row = None
        while self._in_flight and (wait or self._in_flight[0].ready()):
            row = self._commit_batch(self._in_flight.pop(0)) or row
        return row

    def _commit_batch(self, batch: _Batch) -> dict[str, float] | None:
        rows = batch.rows(self.columns)
        row = self._commit_rows(rows)
        if self._row_checks is not None:  # the first rows (a probabilities finding's watch: on): host values
            self._check_rows(batch.steps, rows)
        return row

    def _check_rows(self, steps: list[_Step], rows: list[tuple[dict[str, float], set[str]]]) -> None:
        """Feed committed rows to the run's `RowChecks` (with the numbers each row's D update was given),
        each finding a `TrackingWarning` and a ``warning`` event at its row; the checks are dropped when
        they are done, so that later batches pay nothing (a probabilities finding is watched until a row
        withdraws it: a comparison a row, `RowChecks`)."""
        checks = self._row_checks
        for step, (record, _) in zip(steps, rows, strict=True):
            if checks is None or (self._diverged_at is not None and record["step"] > self._diverged_at):
                break  # rows after a divergence are not kept
            update = step.update
            given = None if update is None or update is _NO_UPDATE else update.given
            for finding in checks.see(record, given, g_measured=bool(step.g_parts)):
                self._warn(finding.message, finding.check, step=finding.step, **finding.fields)
            if checks.done:
                self._row_checks = checks = None

    def _warn(self, message: str, check: str, step: int | None = None, **fields: Any) -> None:
        """Say once what looks wrong: a `TrackingWarning` for the script, a ``warning`` event (``check``
        names what was found) for the dashboard."""
        warn_user(message)
        self._event("warning", message, step=step, check=check, **fields)

    @_refusable
    def log(self, metrics: Mapping[str, Tensor | float]) -> None:
        """Add the user's own metrics to the step being recorded (committed by the next `g_step`): name ->
        number or one-element tensor (copied now, read in its batch's one transfer). A name is 1 to 64
        ASCII letters, digits and ``_ . / -``, not starting with a digit (``"gp"``, ``"fake_std"``,
        ``"ema/fid"``); not ``rows``, ``run_id``, ``source`` or a name ending in ``_min``, ``_max`` or
        ``_nonfinite`` (the charts derive those, Compare's download leads its rows with run_id and
        source), and not a built-in column (`RECORD_COLUMNS` and ``flags``: ``d_loss``, ``g_loss``,
        ``fid``, ``lr_g``, ``step``, ...; the refusal says where the tracker gets it: `d_step`, `g_step`,
        the evaluation, the optimizers given to `init`, or the tracker itself). A new name adds a
        metrics.csv column (earlier rows blank there), drawn under "Custom metrics".

        One value per name a step: a name logged again before the step's `g_step` (a penalty logged at
        every critic update) keeps the last value given (log the mean yourself for another summary).
        Values are recorded as float64: a Python number, numpy number or one-element numpy array, float64
        or integer tensor exactly (integers to 2**53), a float32/half tensor as its float32 value; in a
        multi-process job a tensor is averaged over the ranks as float32. NaN is recorded as a blank cell,
        as a step that did not log the name (the charts cannot tell them apart); +-inf is kept and marked
        at the chart's edge.

        `TrackingError` for a bad name, a value that is no number (a truth value included: Python's,
        numpy's or a torch.bool tensor; cast it to float if 0/1 is meant) or a tensor of more than one
        element, or a mapping not given; nothing of the call is kept then."""
        self._check_open()
        checked = _checked_metrics(metrics, "log")
        new = [n for n in checked if n not in self.columns]
        if new:
            self._set_columns((*self.columns, *new))
        self._pending_log.update(checked)

    @_refusable
    def log_final(self, metrics: Mapping[str, Tensor | float]) -> None:
        """Add the user's own metrics to the run's last row, the row of `step`: for what is measured after
        the last `g_step`, on the parameters it left, which no later step's row would carry (an evaluation
        or a validation at the end of training; during training, `log` puts such a value in the next
        step's row). Names and values as `log` takes them, read now (on CUDA a wait for the device). The
        pending steps are committed first (`flush`), then metrics.csv's last row is rewritten with the
        values (atomically; the file is copied once, so call it once or twice at the end, not per step)
        and a TensorBoard sink logs them at that step. In a multi-process job call it on every rank with
        the same names: rank 0 writes its values, the others check theirs and write nothing (no
        collective). Call it before `finish`; a `g_step` after it goes on as usual.

        `TrackingError` as `log` for a bad name or value, after `finish`, and when the run has no row of
        `step` to add to: no `g_step` yet, or a run that diverged, whose record ends at the diverged row
        (`recorded_step`) while the loop went on up to a batch further."""
        self._check_open()
        values = host_values(_checked_metrics(metrics, "log_final"))
        if not values:
            return
        self.flush()
        last = self.run_dir.last_metrics_step() if self.step else None
        if last != self.step:
            raise TrackingError(_no_last_row(self.step, self.recorded_step))
        new = [n for n in values if n not in self.columns]
        if new:
            self._set_columns((*self.columns, *new))
        for sink in self.sinks:
            sink.amend_row(self.step, values)

    def snapshot(
        self, G: torch.nn.Module | None = None, noise: Tensor | None = None, labels: Tensor | None = None
    ) -> None:
        """Save what ``G`` (default: the watched one) makes of ``noise`` (default: the watched fixed noise;
        for a class-conditional run its grid, one row per class) at the current step, as the Train view
        shows it; ``labels`` ((N,) int64, a tensor or a numpy integer array) the classes a conditional G is
        asked for with ``noise``. `TrackingError` without a G and noise, a conditional run's noise without
        labels, labels without noise (the watched grid has its own classes), labels that are
        not (N,) integer classes in 0..n_classes-1 (or any labels for an unconditional run), a G whose
        output no snapshot can draw (see `watch`), a G that fails on ``noise`` (its error, torch's, is the
        `TrackingError`'s cause and is quoted in it), or after `finish`.

        A run keeps one picture a step: at a step that `watch` pictures too (every ``sample_every``), this
        call's picture is the one kept, whichever came first, and a `TrackingWarning` says once that the
        watched series has a picture of other noise there."""
        self._check_open()
        if labels is not None and noise is None:  # the watched grid's own classes would be drawn instead
            raise TrackingError(
                "snapshot(labels=...) without noise: labels are the classes asked of G with your noise, one "
                "per noise row; allowed: snapshot(G, noise, labels=...), or snapshot() for the watched grid "
                "(a row per class)"
            )
        labels = _numpy_classes(labels)  # (as init's real_labels)
        if noise is not None:
            if not isinstance(noise, Tensor) or noise.dim() < 2:
                shape = tuple(noise.shape) if isinstance(noise, Tensor) else type(noise).__name__
                raise TrackingError(
                    f"snapshot's noise of {shape} is invalid: allowed a tensor (N, *latent_shape), N >= 1"
                )
            if labels is not None:
                if not self.n_classes:
                    raise TrackingError(
                        "snapshot(G, noise, labels=...): labels are for a class-conditional run (init's "
                        "n_classes); this run's G is called G(noise): leave labels out"
                    )
                _check_labels(labels, "labels", self.n_classes, len(noise), "noise rows", "one per noise row")
                labels = labels.to(device=noise.device, dtype=torch.long)  # as `class_grid` makes them
        self._snapshot(G, noise, labels)
        if self.step and (noise is not None and noise is not self._fixed_noise or G not in (None, self._G)):
            self._last_own_snapshot = self.step
            watched = self._G is not None and self.step % self.sample_every == 0
            if watched:
                self._own_snapshot_steps.add(self.step)
            if watched and not self._warned_snapshot_step:
                self._warned_snapshot_step = True
                self._warn(
                    f"snapshot() at step {self.step}, a step watch() pictures too (every sample_every = "
                    f"{self.sample_every}): a run keeps one picture a step, and this one, of your noise, "
                    "replaces the watched fixed noise's there (the Train view's slider jumps at it). Call "
                    "snapshot() at other steps, or give init a sample_every that does not meet yours "
                    "(said once a run)",
                    "snapshot_step",
                    step=self.step,
                )

    def _snapshot(
        self, G: torch.nn.Module | None = None, noise: Tensor | None = None, labels: Tensor | None = None
    ) -> None:
        G = G or self._G
        if noise is None:
            noise, labels = self._fixed_noise, self._grid_labels
        if G is None or noise is None:
            raise TrackingError(
                "snapshot() needs G and noise: pass them, or call watch(G, fixed_noise) first"
            )
        if self.n_classes and labels is None:
            raise TrackingError("snapshot(G, noise) of a class-conditional run needs labels: (N,) int64")
        try:
            view = self._view(G, noise, self._D, self._bounds, labels)
        except TrackingError:
            raise
        except Exception as exc:  # G cannot take this noise (a shape, a device, a dtype): said as that
            raise TrackingError(
                f"snapshot: G failed on noise of shape {tuple(noise.shape)} on {noise.device}: "
                f"{type(exc).__name__}: {exc}; allowed: noise that G takes as its input, (N, *latent_shape) "
                "on G's device"
            ) from exc
        for sink in self.sinks:  # (a file that cannot be written is its own error, not G's)
            sink.log_snapshot(self.step, view)

    def _view(self, G, noise, D, bounds, labels=None) -> dict[str, np.ndarray]:
        """What a snapshot saves: `snapshot_view` (G and D in eval mode, modes restored after).
        `TrackingError` when G's output is of a shape no view can draw (`_output_problem`), before anything
        is drawn or saved; the shape drawn is kept in ``_output_shape``."""
        kind = self.meta.data_kind if self.meta.data_kind in ("points", "images") else "images"
        columns = GRID_COLUMNS if labels is not None else None
        loss = self.loss or get_loss("wgan")
        return snapshot_view(
            G, noise, kind, D, loss, bounds, labels=labels, columns=columns, check=self._check_output
        )

    def _check_output(self, output: Any) -> None:
        real = tuple(self._real.shape) if self._real is not None else None
        problem = _output_problem(output, self.meta.data_kind, real)
        if problem is not None:
            raise TrackingError(problem)
        self._output_shape = tuple(output.shape)

    def _warn_other_size(self) -> None:
        """A `TrackingWarning`, once a run, when the images G made at `watch` are not the size (C, H, W) of
        ``real``'s: they are drawn, and Inception's space (which resizes) measures them, but the classifier
        of a built-in dataset refuses them and diversity compares distances of different sizes. A warning,
        not a refusal: a progressively grown G (ProGAN) draws smaller images than real's at first."""
        made = self._output_shape
        if self._warned_size or made is None or self._real is None or self.meta.data_kind != "images":
            return
        real = tuple(self._real.shape[1:])
        if made[1:] == real:
            return
        self._warned_size = True
        warn_user(
            f"G's output has shape {made}, images of {made[1:]} (C, H, W), but real's are {real}: the "
            "snapshots show them, but the quality metrics need G's output shape to match real's (the "
            f"classifier of a built-in dataset refuses others; diversity compares them as they are): make "
            f"G's images {real}, or pass real at G's size"
        )

    @property
    def store(self) -> MetricStore:
        """The rows committed so far (`columns`), as a `MetricStore` read from metrics.csv now: a copy,
        not kept up to date (the run holds no rows in memory)."""
        store = MetricStore(self.columns)
        frame = self.run_dir.read_metrics(self.columns)
        if len(frame):
            store.extend(frame[list(self.columns)].to_numpy(dtype=np.float64), owned=True)
        return store

    @property
    def notes(self) -> str:
        """The run's notes (`init`'s ``notes``), ``""`` for none. Set them with ``run.notes = text``: the
        folder's notes.txt is replaced at once (`gan_core.rundir.checked_notes` says what text is
        allowed: a `TrackingError` otherwise, and after `finish`, when the folder is no longer this
        run's to write: then the dashboard or ``python -m gan_core notes`` sets them). Read from the
        folder: a `gan_core.rundir.RunDirError` for a notes.txt that cannot be read."""
        return self.run_dir.read_notes()

    @notes.setter
    def notes(self, text: str) -> None:
        if self._finished:
            raise TrackingError(
                "notes cannot be set after finish (the run folder is no longer this run's to write): set "
                f"them in the dashboard, or with python -m gan_core notes {self.run_id} TEXT"
            )
        try:
            text = checked_notes(text)
        except RunDirError as exc:
            raise TrackingError(str(exc)) from None
        self.run_dir.write_notes(text)  # (a full disk: the RunDirError naming the file and the cause)

    @property
    def recorded_step(self) -> int:
        """The step the run's record ends at, as status.json, the Runs page and the banner say it: after a
        divergence the step whose row diverged (the run's last row: the loop learns of it up to a batch
        late, and `step` counts the `g_step` calls it made by then), otherwise `step` (the rows of steps
        still waiting for their batch are written by `flush` and `finish`). After `finish`, the step the
        run ended at."""
        return self.step if self._diverged_at is None else self._diverged_at

    @property
    def should_stop(self) -> bool:
        """True once the run reached its ``steps`` target (`init`), the dashboard asked it to stop, or it
        diverged (`stop_reason` says which: ``"steps"``, ``"stop"`` or ``"diverged"``): the loop should end
        (and call `finish`). Reading it waits on nothing. In a multi-process job it turns True on every
        rank after the same `g_step`."""
        return self._should_stop

    def finish(self, status: str | None = None, error: str | None = None) -> None:
        """End the run: by default ``finished``, or ``stopped`` after a Stop or short of its ``steps``
        target (`should_stop` not yet True; the status's error says where: pass ``"finished"`` for a loop
        that ended early as it meant to), ``failed`` after a divergence; or ``status`` as given, ``failed``
        with ``error``. The final status and event are written, files closed and the folder's claim
        released; idempotent. Not called by the time the interpreter exits, or the run object is
        garbage-collected: called then (see `_end_unfinished`)."""
        if self._finished:
            return
        if status not in (None, "finished", "stopped", "failed"):
            raise TrackingError(f"finish(status={status!r}) is invalid: allowed finished, stopped, failed")
        self._finished = True
        self._finish(status, error)
        _SIGTERM.after_finish()  # the handler goes with the last open run; a SIGTERM held during it acts

    def _finish(self, status: str | None, error: str | None) -> None:
        """`finish`'s work, once: the last rows, the final snapshot, status and event, the claim released."""
        # A run that ends failed (an exception, or finish("failed")) may end mid-step: its error says why,
        # and the calls of the step it cut short are no misuse to point out.
        if not self._ended_by_exception and status != "failed":
            self._warn_unrecorded()
        try:  # the last steps' rows, still waiting or on their way (one of them may have diverged)
            self.flush()
        except Exception as exc:  # e.g. a failed device: the run's status is still written
            self.error = self.error or f"the last row could not be read: {type(exc).__name__}: {exc}"
        if status is None:
            status = "failed" if self.error else "stopped" if self.stop_reason == "stop" else "finished"
            if status == "finished" and self.short_of_target():
                status = "stopped"
                error = error or f"finish() at step {self.step} of its target {self.steps}"
        self.error = error or self.error
        try:
            # (after a divergence G is past the run's last row, and most often NaN: no picture of it)
            if (
                self._G is not None
                and self.step
                and self.step % self.sample_every
                and self._diverged_at is None
                and self.step != self._last_own_snapshot  # (the user's own picture of it kept)
            ):
                self._snapshot()
        except Exception as exc:  # a failing last picture must not hide the run's status
            self.error = self.error or f"final snapshot failed: {exc}"
        try:
            interrupted = None
            try:
                self._final_status(status)
            except KeyboardInterrupt as exc:  # a second Ctrl-C: the sinks are still closed, then it is raised
                interrupted = exc
            for sink in self.sinks:
                sink.finalize(status)
            if interrupted is not None:
                raise interrupted
        finally:
            self.run_dir.release()
            _ACTIVE.discard(self)

    def _final_status(self, status: str) -> None:
        """`finish`'s status event and status.json, each done whole even when a Ctrl-C (a second one,
        during a `finish` that ``with run:`` makes after the first) interrupts it: done again, up to
        `FINAL_WRITE_TRIES` times in all, then the interrupt raised, so that status.json never stays
        "running" beside an events.csv that says the run ended (a redone event may be written twice)."""
        self.status = status
        interrupted: KeyboardInterrupt | None = None
        for write in (lambda: self._event("status", status=status, error=self.error), self._write_status):
            for _ in range(FINAL_WRITE_TRIES):
                try:
                    write()
                    break
                except KeyboardInterrupt as exc:
                    interrupted = interrupted or exc
        if interrupted is not None:
            raise interrupted

    def _warn_unrecorded(self) -> None:
        """At `finish`: a `TrackingWarning` (and event) when `d_step` or `log` was called after the last
        `g_step`, whose values no row holds (a row is made by `g_step`, which ends the step): the calls
        came after it, or, when a call of that step was refused (a `TrackingError` the loop caught), the
        refusal cut the step short, and the warning says that instead."""
        calls, names = len(self._pending_d), sorted(self._pending_log)
        if not calls and not names:
            return
        made = []
        if calls:
            made.append(f"{calls} d_step call{'s' if calls != 1 else ''}")
        if names:
            made.append(f"log() of {', '.join(map(repr, names))}")
        were = "was" if len(made) == 1 and calls <= 1 else "were"
        refused = self._refused if self._refused is not None and self._refused[0] == self.step else None
        if refused is not None:  # the loop's order was right: a refused call ended its step early
            message = (
                f"the run ended at step {self.step} with step {self.step + 1} cut short by a refused "
                f"{refused[1]}() call ({refused[2]}): that step has no row, so its {' and '.join(made)} "
                f"{were} not recorded"
            )
            self._warn(message, "unrecorded", d_steps=calls, names=names, refused=refused[1])
            return
        if self.meta.source == "lightning":  # the callback's calls: the module's last batches
            what = [f"{calls} D update{'s' if calls != 1 else ''}"] if calls else []
            what += [f"log={{{', '.join(map(repr, names))}: ...}}"] if names else []
            message = (
                f"training ended at step {self.step} with {' and '.join(what)} from batches with no G update "
                "after them: a row is written with a batch's G update, so these have none (an n_critic "
                "schedule cut off by the end of training: Lightning's max_steps or max_epochs)"
            )
        else:
            message = (
                f"finish() at step {self.step}: {' and '.join(made)} made after the last g_step "
                f"{were} not recorded: a step's row is written by "
                "g_step, which ends the step, so what comes after the last one has no row; make g_step "
                "each step's last call (log() before it)"
            )
        self._warn(message, "unrecorded", d_steps=calls, names=names)

    def start_clock(self) -> None:
        """Start the step clock (``time_s``, ``samples_per_s``) now, unless it runs: for a caller that
        records a step's values only after its updates (the Lightning callback, at the batch's end),
        whose first `d_step` would otherwise start it after the work it times."""
        if self._last_commit is None:
            self._last_commit = time.perf_counter()

    def applied_lrs(self, lr_d: float | None = None, lr_g: float | None = None) -> None:
        """The learning rates this step's updates applied, for the row `g_step` writes next, where the
        optimizers' own have moved on before it (a scheduler stepped inside the step: Lightning's manual
        optimization steps it in ``training_step``, before the callback's `g_step`; the row read the
        next step's lr, 0.00095 for a step at 0.001). Host floats; None leaves that optimizer's read."""
        self._applied_lr = {k: float(v) for k, v in (("lr_d", lr_d), ("lr_g", lr_g)) if v is not None}

    def short_of_target(self) -> bool:
        """True when the run has a ``steps`` target, is short of it, and nothing (a Stop, a divergence)
        ended it."""
        return bool(self.steps) and self.step < self.steps and self.stop_reason is None

    def _end_unfinished(self, reason: str, exc: BaseException | None = None) -> None:
        """`finish` a run its loop did not: as `_end_by` says for ``exc`` (an uncaught exception, or the
        SIGTERM that `init`'s handler raised), ``stopped`` short of its target (the error: ``reason`` at
        step N of the target), as `finish` says otherwise."""
        if exc is not None:
            self._end_by(exc)
        elif self.short_of_target():
            where = f"at step {self.step} of its target {self.steps}"
            self.finish("stopped", error=f"{reason} {where} without finish()")
        else:
            self.finish()

    def __del__(self) -> None:
        # A run dropped unfinished (its loop in a function that returned without finish()): its waiting
        # rows are written and its status set, as at the interpreter's exit (the folder would read as
        # interrupted, and the steps not yet committed would be lost).
        if getattr(self, "_finished", True) or getattr(self, "run_dir", None) is None:
            return
        with contextlib.suppress(Exception):  # no one to tell from a finaliser: the folder reads interrupted
            self._end_unfinished("the run object was garbage-collected")

    def __enter__(self) -> TrackedRun:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.finish()
            return
        self._end_by(exc)

    def _end_by(self, exc: BaseException) -> None:
        """`finish` the run ended by ``exc``, one rule for `__exit__` and the interpreter's exit: Ctrl-C
        (`KeyboardInterrupt`) ``stopped``, "interrupted (Ctrl-C)"; a SIGTERM (`Terminated`) ``stopped``,
        "terminated (SIGTERM)"; a clean ``sys.exit()`` (status 0: code None or 0) as the script's exit
        without ``with run:`` ends it (`_end_unfinished`: ``stopped`` short of its target, else as
        `finish` says); ``sys.exit`` with another code ``failed``, naming it; anything else ``failed``
        with the exception. Every row is written."""
        if isinstance(exc, SystemExit) and not isinstance(exc, Terminated) and exc.code in (None, 0):
            self._end_unfinished("the script exited")
            return
        self._ended_by_exception = True
        if isinstance(exc, KeyboardInterrupt):
            self.finish("stopped", error="interrupted (Ctrl-C)")
        elif isinstance(exc, Terminated):
            self.finish("stopped", error="terminated (SIGTERM)")
        elif isinstance(exc, SystemExit):
            status = int(exc.code) if isinstance(exc.code, int) else 1  # what Python exits with for it
            self.finish("failed", error=f"the script exited with status {status} (sys.exit({exc.code!r}))")
        else:
            self.finish("failed", error=self.failure(exc))

    def failure(self, exc: BaseException) -> str:
        """The error a failed run records for ``exc`` ("ValueError: ..."; the Lightning callback's too). In
        a multi-process job a broken collective (gloo's "Connection closed by peer", torch.distributed's
        `DistError`) is most often another rank's end, seen here: the message says so (rank 0's own error
        alone reads as a network fault)."""
        text = f"{type(exc).__name__}: {exc}"
        if self._dist is None:
            return text
        return collective_failure(exc, self._dist.world_size, self.step + 1) or text

    # ------------------------------------------------------------------ inside
    def _check_open(self) -> None:
        if self._finished:
            raise TrackingError(f"run {self.run_id!r} is finished: start a new one with gan_core.track.init")

    def _norms(self, given: torch.nn.Module | Iterable[Tensor]) -> GradNorms:
        """The `GradNorms` of a module's trainable parameters, listed and checked once per module (walking
        a module tree each step cost about 0.2 ms on a small D with spectral norm: `benchmarks.tracking
        --profile`); of any other iterable as it is, each call."""
        if not isinstance(given, torch.nn.Module):
            try:
                return GradNorms(given)
            except TypeError:  # (an optimizer, say: its parameters are in its param_groups)
                raise TrackingError(
                    f"the parameters given ({type(given).__name__}) are not iterable: allowed the network "
                    "itself (a torch.nn.Module) or an iterable of its parameters"
                ) from None
        cached = self._grad_norms.get(id(given))
        if cached is None or cached[0] is not given:
            cached = (given, GradNorms(p for p in given.parameters() if p.requires_grad))
            self._grad_norms[id(given)] = cached
        return cached[1]

    def _header(self) -> tuple[str, ...]:
        try:
            with os.fdopen(open_regular(self.run_dir.path / "metrics.csv"), "rb") as f:
                header = header_text(f.readline()).strip()  # (a byte-order mark before it skipped)
        except OSError:
            return ()
        names = tuple(c.strip() for c in header.split(",") if c.strip())
        return tuple(c for c in names if c not in TEXT_COLUMNS)

    def _set_columns(self, columns: tuple[str, ...]) -> None:
        """Widen metrics.csv to ``columns`` (rewritten atomically, earlier rows blank in the new ones).
        Only when a new metric name appears: rare, not per step."""
        self.run_dir.close()
        self.run_dir.widen_metrics((*columns, *TEXT_COLUMNS))
        self.columns = columns
        self._folder_sink.columns = columns
        self.run_dir.open_metrics((*columns, *TEXT_COLUMNS))

    def _optimizer_hparams(self) -> dict[str, float]:
        """lr_g, lr_d, beta1, beta2 from the optimizers passed to `init` (host values: no sync). Their
        columns record every change; no event is made of them (a scheduler changes them every step)."""
        found: dict[str, float] = {}
        self._add_optimizer_hparams(found)
        return found

    def _add_optimizer_hparams(self, row: dict[str, float]) -> None:
        """`_optimizer_hparams` into ``row`` (a step's host values), once a step: written out for the two
        optimizers rather than looped over, in as little Python as it takes (`g_step`'s own time)."""
        opt = self.opt_d
        if opt is not None and opt.param_groups:
            group = opt.param_groups[0]
            lr = group.get("lr")
            if type(lr) is float or isinstance(lr, int | float):
                row["lr_d"] = float(lr)
            betas = group.get("betas")
            if (type(betas) is tuple or isinstance(betas, tuple | list)) and len(betas) == 2:
                row["beta1"], row["beta2"] = float(betas[0]), float(betas[1])
        opt = self.opt_g
        if opt is not None and opt.param_groups:
            lr = opt.param_groups[0].get("lr")
            if type(lr) is float or isinstance(lr, int | float):
                row["lr_g"] = float(lr)
        if self._applied_lr:  # (`applied_lrs`: this step's own, for this row only)
            row.update(self._applied_lr)
            self._applied_lr = None

    def _commit_rows(self, rows: list[tuple[dict[str, float], set[str]]]) -> dict[str, float] | None:
        """Write steps' rows, oldest first: each one's flags and events, the quality metrics on an
        evaluation step, then every row to the sinks at once (`Sink.log_rows`: one metrics.csv append),
        the snapshots of their sampling steps and the status. The run ends at a row that diverged: the
        rows after it are not kept. Returns the newest row written (every column), or None."""
        written: list[tuple[int, dict[str, float], list[str]]] = []
        interrupted: BaseException | None = None  # a Ctrl-C during an evaluation, raised once rows are in
        for record, unmeasured in rows:
            if self._diverged_at is not None:
                break
            step = int(record["step"])
            changes = self.monitor.update(record, unmeasured)
            if (
                self._evaluator is not None
                and step % self.eval_every == 0
                and "diverged" not in self.monitor.active
                and interrupted is None
            ):
                self._write_rows(written)  # the rows before it land before the evaluation's events
                written = []
                try:
                    self.last_eval = self._evaluator.evaluate(self._G)
                except Exception as exc:  # a failing measurement must not end the training it measures
                    self.last_eval = {}
                    error = f"{type(exc).__name__}: {exc}"
                    self._event("eval_error", error=error)
                    if not self._warned_eval:  # said to the script once; every one is an event
                        self._warned_eval = True
                        warn_user(
                            f"the evaluation at step {step} failed, so its quality metrics are blank "
                            f"({error}); training goes on, and each later failure is an eval_error event"
                        )
                except BaseException as exc:  # Ctrl-C in an evaluation (seconds long): rows kept, then raised
                    interrupted, self.last_eval = exc, {}
                    self._event("eval_error", error=f"{type(exc).__name__}: the evaluation was interrupted")
                for kind, fields in self._evaluator.take_events():  # the baselines (the charts' lines), once
                    if kind == "baseline" and self._baseline_recorded:  # a continued folder has them
                        continue
                    self._baseline_recorded |= kind == "baseline"
                    self._event(kind, **fields)
                record.update({c: self.last_eval.get(c, _NAN) for c in EVAL_COLUMNS})
                changes += self.monitor.update_eval(self.last_eval)
            written.append((step, record, sorted(self.monitor.active)))
            for name, raised in changes:
                if raised:
                    more = self.monitor.diverged_fields if name == "diverged" else {}
                    meaning = FLAGS[name].explanation_for(self.loss)
                    self._event("flag", f"{name}: {meaning}", step=step, flag=name, **more)
                else:
                    self._event("flag_cleared", step=step, flag=name)
            if "diverged" in self.monitor.active:  # before or after a Stop: the run ends failed, here
                bad = self.monitor.diverged_fields.get("columns") or ["a value"]  # (measured ones only)
                self.error = f"diverged at step {step}: {', '.join(bad)} not finite"
                self._should_stop, self.stop_reason, self._diverged_at = True, "diverged", step
        self._write_rows(written)
        if interrupted is not None:  # every row of the batch is written: the loop may stop now
            raise interrupted
        if not written:
            return None
        if time.monotonic() - self._last_status_write >= STATUS_WRITE_SECONDS:
            self._write_status()
        # a column `log` added after this row was made is blank in it
        return {k: written[-1][1].get(k, _NAN) for k in self.columns}

    def _write_rows(self, written: list[tuple[int, dict[str, float], list[str]]]) -> None:
        if not written:
            return
        for sink in self.sinks:
            sink.log_rows(written)
        if self._G is not None:
            for step, _, _ in written:
                # (a step the user pictured with their own `snapshot` keeps theirs)
                if step % self.sample_every == 0 and step not in self._own_snapshot_steps:
                    self._snapshot()
                self._own_snapshot_steps.discard(step)

    def _answer_notes(self) -> None:
        """Notes sent by another process (`send_notes`: the dashboard's Notes, ``python -m gan_core
        notes``), which this run, the folder's one writer, writes; the answer goes to status.json."""
        if self._poller.notes is not None:
            request, self._poller.notes = self._poller.notes, None
            self._notes_answer = answer_notes(self.run_dir, request)
            self._write_status()

    def _poll_commands(self) -> None:
        got = self._poller.poll()
        self._answer_notes()
        while got is not None:
            command, source = got
            self._event("command", command=command, source=source)
            if command == "stop":
                if not self._should_stop:  # a divergence or the target already ends it: kept as the reason
                    self._should_stop, self.stop_reason = True, "stop"
                    warn_user(
                        f"run {self.run_id!r} asked to stop at step {self.step} by {asker(source)}: "
                        "should_stop is True, and the run ends stopped at finish()"
                    )
                return
            if command == "pause" and self.status == "running":
                self.flush()  # the dashboard shows every trained step while the run is paused
                self._set_status("paused")
                # said in the script's terminal, where the loop would seem to hang without a word
                warn_user(
                    f"run {self.run_id!r} paused at step {self.step} by {asker(source)}: the loop waits in "
                    "g_step until Resume there (Stop ends it: should_stop becomes True)"
                )
                got = None
                while got is None or got[0] == "pause":  # held here until Resume or Stop
                    got = self._poller.poll(force=True)
                    self._answer_notes()
                    if got is None:
                        if _SIGTERM.held:  # a SIGTERM while paused: the paused step is whole
                            _SIGTERM.act()
                        time.sleep(self._poller.interval)  # a file to look at, nothing to wait on
                        # the other ranks wait with it, meeting it each tick: a SIGTERM to any of them
                        # ends the pause, and the job ends at this step (`_agree_on_stop`)
                        if self._dist is not None and self._dist.agree_max(0, 1, int(_SIGTERM.requested))[2]:
                            return
                    elif got[0] == "pause":
                        self._event("command", command="pause", source=got[1])
                if got[0] == "resume":  # a Stop goes on below: paused, then stopped, never running between
                    self._event("command", command="resume", source=got[1])
                    self._set_status("running")
                    got = None
                continue
            got = None

    def _data_source(self) -> DataSource:
        real = self._real.float()
        labels = self._real_labels.to(real.device) if self._real_labels is not None else None
        classes = self.n_classes if labels is not None else None
        if self.meta.data_kind == "points":
            lo = real.min(0).values.cpu()
            hi = real.max(0).values.cpu()
            pad = (hi - lo) * 0.15 + 1e-3
            bounds = (
                float(lo[0] - pad[0]),
                float(hi[0] + pad[0]),
                float(lo[1] - pad[1]),
                float(hi[1] + pad[1]),
            )
            centers, mode_std = None, None
            if self.meta.dataset and mode_count(self.meta.dataset):  # ring8, grid25: the modes to count
                from gan_core.config import GANConfig

                toy = load_data(GANConfig(dataset=self.meta.dataset))
                centers, mode_std, bounds = toy.centers, toy.mode_std, toy.bounds
            return DataSource(
                "tracked",
                "points",
                (2,),
                data=real,
                bounds=bounds,
                centers=centers,
                mode_std=mode_std,
                device=real.device,
                labels=labels,
                n_classes=classes,
            )
        return DataSource(
            "tracked",
            "images",
            tuple(real.shape[1:]),
            data=real,
            device=real.device,
            labels=labels,
            n_classes=classes,
        )

    def _evaluation_config(self):
        """The built-in config whose classifier measures class coverage, for a run on digits, mnist or
        fashion-mnist at the real images' size; None for any other data (no class metrics)."""
        from gan_core.classifier import CLASSIFIED_DATASETS
        from gan_core.config import GANConfig

        if self.meta.dataset not in CLASSIFIED_DATASETS or self._real is None or self._real.dim() != 4:
            return None
        channels, size = int(self._real.shape[1]), int(self._real.shape[-1])
        try:
            return GANConfig(dataset=self.meta.dataset, image_size=size, channels=channels, seed=self.seed)
        except ValueError:
            return None

    def _event(self, kind: str, detail: str | None = None, step: int | None = None, **fields: Any) -> None:
        """Write an event at ``step``, by default the step the loop reached, or once a row diverged that
        row's (the run's last: the loop learns of it up to a batch late, and its status, a Stop or a
        warning after it are the end of a run that ended there)."""
        if step is None:
            step = self.recorded_step
        event = make_event(
            step,
            kind,
            event_detail(kind, fields) if detail is None else detail,
            fields,
        )
        for sink in self.sinks:
            sink.log_event(event)
        self.events.append(event)

    def _set_status(self, status: str, error: str | None = None) -> None:
        self.status = status
        self._event("status", status=status, error=error)
        self._write_status()

    def _write_status(self) -> None:
        self._last_status_write = time.monotonic()
        self.run_dir.write_status(
            {
                "status": self.status,
                "step": self.recorded_step,
                "steps": self.steps,
                # the other counts init was given, in force from this start on (Compare shows them)
                "sample_every": self.sample_every,
                "eval_every": self.eval_every,
                "seed": self.seed,
                "error": self.error,
                "device": str(self._real.device) if self._real is not None else None,
                "torch": torch.__version__,
                "train_seconds": self._train_seconds,
                "commands": True,  # Pause/Resume/Stop reach it through commands.json
                "notes_requests": True,  # and notes, through notes_request.json (`_answer_notes`)
                "notes_request": self._notes_answer,
                **job_fields(self._dist),
                "flags": sorted(self.monitor.active),
                "flags_raised": sorted(self.monitor.raised),
                **self._process,
            }
        )


class RankRun(TrackedRun):
    """What `init` returns on a rank other than 0 of a multi-process job (`torch.distributed` initialised,
    e.g. by torchrun or Lightning's ``strategy="ddp"``): the same calls, nothing written. `d_step` and `log`
    measure this rank's values, `g_step` averages the step's values over the ranks with rank 0 (one
    collective) and returns the row rank 0 writes; Pause holds it in `g_step` with rank 0, and
    `should_stop` turns True on every rank after the same step. ``run_dir`` is None; `watch`, `snapshot`
    and `finish` record nothing here."""

    def __init__(
        self,
        run_id: str,
        start_step: int,
        loss: str,
        steps: int,
        dist: DistContext,
        optimizers,
        label_smoothing: float = 0.0,
        source: str = "api",
    ):
        self._dist = dist
        self._source = source
        self.run_dir = None  # type: ignore[assignment]
        self.run_id = run_id
        self.label_smoothing = label_smoothing
        self.loss = get_loss(loss).smoothed(label_smoothing) if loss else None
        self.steps = steps
        self.opt_d, self.opt_g = optimizers
        self.columns = RECORD_COLUMNS
        self.step = start_step
        self.status = "running"
        self.error = self.stop_reason = None
        self.events = []
        self.last_eval = {}
        self._G = self._D = None
        self._pending_d, self._pending_log = [], {}
        self._batch = 0
        self._applied_lr = None
        self._grad_norms = {}
        self._unmeasured = set()
        self._init_batches(0.0)  # every step is sent at once: the ranks' collectives meet step by step
        self._evaluator = None
        self._should_stop = bool(steps) and start_step >= steps  # as rank 0's run (`TrackedRun`)
        self.stop_reason = "steps" if self._should_stop else None
        self._diverged_at = None
        self._row_checks = None  # rank 0 judges the rows and says what it found
        self._ended_by_exception = False
        self._refused = None
        self._train_seconds = 0.0
        self._last_commit = None
        self._environment_said = True  # (rank 0 records the job's start)
        self._finished = False

    def watch(self, G: torch.nn.Module, fixed_noise: Tensor, D: torch.nn.Module | None = None) -> TrackedRun:
        return self

    @property
    def notes(self) -> str:
        """``""``: rank 0 alone keeps the run's notes (set them there; here a setting is checked, not
        kept)."""
        return ""

    @notes.setter
    def notes(self, text: str) -> None:
        try:
            checked_notes(text)
        except RunDirError as exc:
            raise TrackingError(str(exc)) from None

    def snapshot(
        self, G: torch.nn.Module | None = None, noise: Tensor | None = None, labels: Tensor | None = None
    ) -> None:
        return None

    def _snapshot(
        self, G: torch.nn.Module | None = None, noise: Tensor | None = None, labels: Tensor | None = None
    ) -> None:
        return None

    def finish(self, status: str | None = None, error: str | None = None) -> None:
        if not self._finished:
            self._finished = True
            early = status is None and error is None and not self._ended_by_exception
            if early and self.short_of_target():  # (a status given, Lightning's "stopped": on purpose)
                # This rank leaves a job that has not agreed to stop: the others, if they go on, wait for
                # it at their next step, and rank 0's run fails "its own output says why" (a review: it
                # said nothing).
                warnings.warn(
                    f"rank {self._dist.rank}: the run was finished at step {self.step} of its target "
                    f"{self.steps} before the job stopped: if the other ranks go on, they wait for this "
                    "one at their next step and the run fails; every rank must run the loop until "
                    "run.should_stop",
                    TrackingWarning,
                    stacklevel=2,
                )
            stopped = self.stop_reason == "stop" or self.short_of_target()  # as rank 0's run
            failed = self.error is not None or self.stop_reason == "diverged"
            self.status = status or ("failed" if failed else "stopped" if stopped else "finished")
            _ACTIVE.discard(self)
            _SIGTERM.after_finish()  # as rank 0's run: the handler goes with the last open run

    def _set_columns(self, columns: tuple[str, ...]) -> None:
        self.columns = columns

    def log_final(self, metrics: Mapping[str, Tensor | float]) -> None:
        self._check_open()
        _checked_metrics(metrics, "log_final")  # refused here as on rank 0; rank 0 writes its own

    def _commit_rows(self, rows: list[tuple[dict[str, float], set[str]]]) -> dict[str, float] | None:
        return {k: rows[-1][0].get(k, _NAN) for k in self.columns} if rows else None

    def _poll_commands(self) -> None:
        return None  # rank 0 reads the command file; this rank learns in `agree`

    def _set_status(self, status: str, error: str | None = None) -> None:
        self.status = status


# Runs not finished when the interpreter exits: failed with the uncaught exception, stopped after Ctrl-C or
# a SIGTERM or when the script ended before its ``steps`` target, finished otherwise.
# What a gloo collective raises when a peer's process is gone (as RuntimeError, not always DistError)
_ACTIVE: weakref.WeakSet[TrackedRun] = weakref.WeakSet()
_UNCAUGHT: list[BaseException] = []
_HOOKED = threading.Lock()
_previous_excepthook = None


def _excepthook(exc_type, exc, tb) -> None:
    _UNCAUGHT.append(exc)
    (_previous_excepthook or sys.__excepthook__)(exc_type, exc, tb)


def _at_exit() -> None:
    _SIGTERM.exiting = True  # a SIGTERM now waits until every run is finished
    # (a SystemExit, `Terminated` among them, never reaches the excepthook)
    ended_by = _UNCAUGHT[-1] if _UNCAUGHT else _SIGTERM.received
    for run in list(_ACTIVE):
        with contextlib.suppress(Exception):  # nothing more can be done at exit: the folder reads interrupted
            run._end_unfinished("the script exited", ended_by)
    _SIGTERM.exiting = False
    _SIGTERM.after_finish()


class Terminated(SystemExit):
    """What `init`'s SIGTERM handler raises in the main thread, so that the loop unwinds (through ``with
    run:`` or to the interpreter's exit) and the run ends ``stopped``, "terminated (SIGTERM)", every row
    written. A `SystemExit` (``except Exception`` lets it pass; no traceback), exit status 143 (128 +
    SIGTERM's 15, as a shell reports a process the signal ended)."""

    def __init__(self) -> None:
        super().__init__(128 + signal.SIGTERM)


class _SigtermHandler:
    """The SIGTERM handler `init` installs in place of the default one (which kills the process: no
    atexit, status.json left "running", the rows of the waiting batch lost), while a tracked run of this
    process is open. It raises `Terminated` where the main thread is, unless that is inside the tracker
    (a step half recorded, a row half written, a run finishing): then the signal is held, and acts as the
    tracker's call returns (`d_step`, `g_step`, `log`), in a Pause, or once the run is finished."""

    def __init__(self) -> None:
        self.installed = False  # this handler is SIGTERM's, in place of the default one
        self.held = False  # a SIGTERM came inside the tracker and has not acted yet
        # In a multi-process job a SIGTERM raises nothing where it lands (a rank unwinding alone would
        # leave the others waiting in a collective): it is noted, and the ranks end at the next step
        # boundary together (`TrackedRun._agree_on_stop`).
        self.deferred = False
        self.requested = False  # a SIGTERM noted in a job, not yet acted on
        self.exiting = False  # runs are being finished at the interpreter's exit (`_at_exit`)
        self.received: Terminated | None = None  # what it raised: the reason of a run finished at exit

    def install(self, deferred: bool = False) -> None:
        """Handle SIGTERM, when called from the main thread and SIGTERM has the default handler (one the
        user or another library installed is never replaced). ``deferred``: for a rank of a multi-process
        job, the signal is noted (``requested``) and acted on where every rank agrees."""
        if self.installed or threading.current_thread() is not threading.main_thread():
            return
        if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
            signal.signal(signal.SIGTERM, self)
            self.installed, self.deferred = True, deferred

    def __call__(self, signum, frame) -> None:
        if not _ACTIVE:  # every run finished off the main thread, where the handler could not be given back
            if signal.getsignal(signal.SIGTERM) is self:  # (not when another handler calls this one)
                self.after_finish()
                signal.raise_signal(signum)  # the default action, as if this handler had never been here
            return
        if self.deferred:  # acted on at the job's next step boundary, on every rank
            self.requested = True
            return
        while frame is not None:
            if frame.f_code.co_filename.startswith(_TRACKING_DIR):
                self.held = True
                return
            frame = frame.f_back
        self.act()

    def act(self) -> None:
        """Raise `Terminated` for the SIGTERM received (or held, or agreed by the ranks of a job)."""
        self.held = self.requested = False
        self.received = Terminated()
        raise self.received

    def after_finish(self) -> None:
        """After a run is finished: give SIGTERM its default handler back when no tracked run is open
        (from the main thread, and only if this handler is still SIGTERM's), then let a held SIGTERM act:
        `Terminated` while runs are still open, the default action otherwise."""
        if self.exiting:
            return
        if self.installed and not _ACTIVE and threading.current_thread() is threading.main_thread():
            if signal.getsignal(signal.SIGTERM) is self:
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
            self.installed = self.deferred = False
        if self.requested and not self.installed:  # noted in a job after its last step boundary
            self.requested = False
            if self.received is None:  # (not a second one while the first ends the run: it is ending)
                signal.raise_signal(signal.SIGTERM)
        if self.held:
            if self.installed:
                self.act()
            self.held = False
            signal.raise_signal(signal.SIGTERM)


_SIGTERM = _SigtermHandler()


def _install_hooks() -> None:
    global _previous_excepthook
    with _HOOKED:
        if _previous_excepthook is None:
            _previous_excepthook = sys.excepthook
            sys.excepthook = _excepthook
            atexit.register(_at_exit)


def init(
    run_id: str | None = None,
    *,
    root: str | os.PathLike | None = None,
    loss: str = "nonsaturating",
    label_smoothing: float = 0.0,
    config: Mapping[str, Any] | argparse.Namespace | None = None,
    real: Tensor | None = None,
    n_classes: int = 0,
    real_labels: Tensor | None = None,
    data_kind: str | None = None,
    dataset: str | None = "",
    model: str = "",
    steps: int = 0,
    sample_every: int = DEFAULT_SAMPLE_EVERY,
    eval_every: int = DEFAULT_EVAL_EVERY,
    commit_every: float = COMMIT_SECONDS,
    seed: int = 0,
    opt_d: torch.optim.Optimizer | None = None,
    opt_g: torch.optim.Optimizer | None = None,
    tensorboard: bool | str | os.PathLike = False,
    resume: bool = False,
    resume_from: int | None = None,
    source: str = "api",
    notes: str | None = None,
) -> TrackedRun:
    """Start recording a run of your own training loop into ``<root>/<run_id>/``.

    ``run_id``: the folder's name (letters, digits, ``. _ -``); default a fresh one. ``root``: the runs folder
    the dashboard watches (default ``$GAN_DASHBOARD_RUNS`` or ``./runs``). ``loss``: the objective's name in
    `gan_core.losses.LOSSES` (minimax, nonsaturating, lsgan, hinge, wgan, wgan-gp): D's accuracy threshold,
    its midpoint and the flags follow it; ``""`` for another objective (median accuracy, raw scores; the
    loss halves are blank unless `TrackedRun.d_step` is given them, and d_loss unless given or both halves
    are). ``label_smoothing``: the one-sided label smoothing your D trains with (its real target is
    t = 1 - label_smoothing; a number in the built-in config's range, [0, 0.5), else a `TrackingError`),
    for minimax, nonsaturating and lsgan (the other losses ignore it): D's verdict threshold and its
    midpoint move to the output t/2, where a D that cannot tell lands (Salimans et al. 2016, §3.4;
    `GANLoss.smoothed`), D's loss halves not given are computed with target t, and each row records it in
    its ``label_smoothing`` column.
    ``config``: your hyperparameters, a mapping of free-form JSON values (e.g. ``vars(args)``, or argparse's
    Namespace itself), shown as a table and diffed in Compare; a one-element tensor or a numpy number is
    recorded as its number, a value JSON cannot hold (a larger tensor, a path, a function) as its text,
    ``str(value)``. ``real``: a batch of real examples, (N, 2)
    points or (N, C, H, W) images in [-1, 1] (images in another range, [0, 1] or 0..255 say, are recorded with
    a `TrackingWarning` saying how to map them; (N, H, W) or channels last, a `TrackingError` with the fix
    unless ``data_kind`` is given), shown beside G's samples and used as the quality metrics'
    reference (N of 1,000 or more recommended). ``n_classes``: for a class-conditional G, its classes (0:
    unconditional). Then `watch` calls ``G(noise, labels)`` (labels (N,) int64 class indices on G's device):
    the grid has one row per class and a noise per column, and each evaluation asks G for every class in turn
    and records ``label_fidelity`` (dataset digits, mnist or fashion-mnist: the bundled classifier reads the
    samples) and, with ``real_labels`` ((N,) integer, the class of each ``real`` example), ``diversity``
    within each class. ``data_kind``: points, images or other (default: from ``real``'s shape). ``dataset``: a
    built-in name when the data is one (digits, mnist, fashion-mnist: class coverage by the bundled
    classifier; ring8, grid25: mode coverage; any name of `gan_core.config.DATASETS`, or ``""``/None for data
    of your own). ``model``: a name of your own for the architecture (free text, e.g. ``"dcgan-64"``;
    ``""`` for none), recorded in run.json and shown on the Runs page and the Train view beside the
    dataset and loss (a non-text value: `TrackingError`). ``steps``: the target, the total of G steps
    to reach (a resumed run's steps count on from its folder's last row), 0 for open-ended
    (`should_stop` turns True at it). ``steps``,
    ``sample_every``, ``eval_every`` and ``seed`` (it fixes the real examples shown and the quality metrics'
    samples) are whole numbers in the built-in config's ranges (`GANConfig`; a `TrackingError` names them).
    ``opt_d`` / ``opt_g``: optimizers whose lr and betas each row records. ``tensorboard``: True (into the run
    folder's ``tensorboard/``) or a folder: also log to TensorBoard (a folder that cannot be made or written:
    `TrackingError`).
    ``resume``: continue the run folder of the same id written by the API (its rows go on from its last
    step) if there is one; if ``root`` holds no run ``run_id``, a new one starts with a `TrackingWarning`
    saying so (a first start, or a mistyped id or root); a run already past ``steps`` takes no step
    (`should_stop` at once), with a `TrackingWarning` and a ``warning`` event saying the step reached.
    Without ``resume``, a run of this id that ended before its first row (a loop that broke at its first
    batch, run again) starts again in its folder, with a `TrackingWarning` (its events keep the earlier
    end; `RunDir.ended_without_rows`); any other run of the id is refused (below).
    ``resume_from``: with ``resume=True``, the step (G steps, a whole number >= 0) of the checkpoint your
    loop continues from: the folder's rows and snapshots after it, a history the checkpoint never saw, are
    dropped (the ``resume`` event counts them as ``replaced``, and the charts leave out that stretch's
    events) and the run goes on from it (a step past the last row: a `TrackingWarning` and a ``warning``
    event name the steps left without a row); None (the default): from the folder's last row. Without
    ``resume=True``, a `TrackingError`.
    ``commit_every``:
    seconds between the batches in which steps are measured and written (see `TrackedRun.g_step`; 0:
    every step at once, as a multi-process job always does); the dashboard refreshes once a second.
    ``source``: who trains the run, as run.json records it (`schema.SOURCES`): ``"api"`` (the default, a
    loop of your own) or ``"lightning"`` (what `gan_core.tracking.lightning.GANTrackingCallback` passes);
    any other value, ``"trainer"`` included (the built-in trainer's, whose runs the dashboard can resume
    and branch), is a `TrackingError`.
    ``notes``: free text of your own about the run (what you are trying, what you saw; at most
    `gan_core.rundir.MAX_NOTES_CHARS` characters, no control characters but line breaks and tabs, else a
    `TrackingError`), kept in the folder's notes.txt, shown on the Runs page, the Train view and Compare
    and found by the runs filter; None (the default) keeps a resumed run's notes, ``""`` clears them.
    Change them later with ``run.notes = ...`` (`TrackedRun.notes`), or from the dashboard or ``python -m
    gan_core notes``, which send them to this run while it trains (it writes them between two steps,
    paused too: its folder has one writer) and write them themselves once it ended.

    Under an initialised `torch.distributed` process group of more than one rank (torchrun, Lightning's
    ``ddp``), call it on every rank with the same arguments: rank 0 writes the run, every other rank gets a
    `RankRun` that writes nothing; each step's values are averaged over the ranks (`d_step`'s and `g_step`'s,
    numbers too, and the tensors passed to `log`; a number passed to `log` is rank 0's). Every rank must
    `log` the same names each step (in any order): otherwise `g_step` raises a `TrackingError` on every
    rank at that step, naming what each logged, and records no row. Under torchrun call it after
    ``torch.distributed.init_process_group`` (before it, every process would start a run of its own: a
    `TrackingError`).

    Ctrl-C and SIGTERM (what ``timeout``, Slurm, Kubernetes and ``kill`` send) end the run ``stopped``, with
    every row written, with or without ``with run:``: Ctrl-C's `KeyboardInterrupt` as "interrupted
    (Ctrl-C)"; a SIGTERM as "terminated (SIGTERM)", and the process exits with status 143 (128 + 15). For
    that, when called from the main thread while SIGTERM has its default handler (which kills the process
    at once, no atexit), ``init`` installs a handler raising `Terminated` (a `SystemExit`) in the loop,
    after the tracker's call in progress if any; in a multi-process job on every rank at once, as the
    `g_step` where the ranks agree on it returns (torchrun passes its SIGTERM on to every rank; a signal
    to one rank ends them all), and a run resumed under another number of processes records a
    ``world_size`` event; a handler installed before
    (yours, or another library's) is kept, and the default comes back when no tracked run of the process
    is open any more.

    Raises `TrackingError` for a bad argument, `gan_core.rundir.RunBusyError` when another process writes
    that run, `gan_core.rundir.RunDirError` for a run id that is no folder name
    (`gan_core.rundir.RUN_ID_RULE`), one already taken without ``resume``, or a folder that cannot be
    made; all three are `ValueError`s."""
    arguments = dict(locals())
    arguments["label_smoothing"] = _checked_label_smoothing(label_smoothing)
    dist = current()
    world = os.environ.get("WORLD_SIZE", "1")
    if dist is None and world.isdigit() and int(world) > 1:
        raise TrackingError(
            f"init was called in a process of a {world}-process job (WORLD_SIZE={world}, as torchrun sets) "
            "before torch.distributed.init_process_group: call that first, so that rank 0 alone writes "
            "the run and the other ranks join it"
        )
    if dist is not None:  # before anything is written: every rank measures its steps by these
        _ranks_agree(dist, {"steps": steps, "loss": loss, "label_smoothing": arguments["label_smoothing"]})
    if dist is not None and not dist.is_main:
        started = dist.broadcast(None)  # rank 0's run id and step, once its folder is made
        if started is None:
            raise TrackingError("rank 0 could not start the run (its error says why)")
        smoothing = arguments["label_smoothing"]
        rank_run = RankRun(started[0], started[1], loss, steps, dist, (opt_d, opt_g), smoothing, source)
        _install_hooks()  # ended at exit, and on a SIGTERM, with rank 0's run
        _ACTIVE.add(rank_run)
        _SIGTERM.install(deferred=True)
        return rank_run
    try:
        run = _init_main(dist=dist, **arguments)
    except BaseException:
        if dist is not None:
            dist.broadcast(None)
        raise
    if dist is not None:
        dist.broadcast((run.run_id, run.step))
    return run


def _ranks_agree(dist: DistContext, settings: dict[str, Any]) -> None:
    """Raise `TrackingError` on every rank of ``dist``'s job, before anything is written, where the ranks
    passed `init` other values of ``settings``: those each rank measures its steps by (its target, D's
    threshold). One collective (`DistContext.gather`), at init only. A review: rank 1 given half rank 0's
    ``steps`` ended the job at its own target, recorded "finished" at step 100 of 200."""
    found = dist.gather(settings)
    differ = [
        f"{name} (rank 0 {found[0][name]!r}, rank {rank} {theirs[name]!r})"
        for name in settings
        for rank, theirs in enumerate(found)
        if theirs[name] != found[0][name]
    ]
    if differ:
        raise TrackingError(
            f"init: the {dist.world_size} processes of the job were given other {', '.join(differ)}: "
            f"every rank must call init with the same {', '.join(settings)} (each rank stops at steps and "
            "measures D by the loss; rank 0 alone writes the run, with its own config and the rest)"
        )


def _init_main(
    run_id: str | None,
    *,
    root: str | os.PathLike | None,
    loss: str,
    label_smoothing: float,
    config: Mapping[str, Any] | None,
    real: Tensor | None,
    n_classes: int,
    real_labels: Tensor | None,
    data_kind: str | None,
    dataset: str | None,
    model: str,
    steps: int,
    sample_every: int,
    eval_every: int,
    commit_every: float,
    seed: int,
    opt_d: torch.optim.Optimizer | None,
    opt_g: torch.optim.Optimizer | None,
    tensorboard: bool | str | os.PathLike,
    resume: bool,
    resume_from: int | None,
    source: str,
    notes: str | None,
    dist: DistContext | None,
) -> TrackedRun:
    if loss and loss not in _losses():
        raise TrackingError(f"loss={loss!r} is unknown: allowed {', '.join(_losses())}, or '' for another")
    if label_smoothing and loss and not get_loss(loss).uses_label_smoothing:
        smoothed = ", ".join(name for name in _losses() if get_loss(name).uses_label_smoothing)
        raise TrackingError(
            f"label_smoothing={label_smoothing!r} does not apply to loss={loss!r}, whose D has no real "
            f"target to smooth: allowed 0 with it (label smoothing applies to {smoothed})"
        )
    if real is not None and not isinstance(real, Tensor):
        raise TrackingError(f"real must be a tensor of examples, got {type(real).__name__}")
    if real is not None and real.is_meta:
        raise TrackingError(
            "real is a tensor on the meta device, which holds no values: allowed examples on the CPU or "
            "an accelerator"
        )
    if real is not None and real.dim() == 0:
        raise TrackingError("real must hold examples along its first dimension, got a 0-d tensor")
    if isinstance(config, argparse.Namespace):
        config = vars(config)
    if config is not None and not isinstance(config, Mapping):
        raise TrackingError(
            f"config must map names to values (a dict, or argparse's Namespace), got {type(config).__name__}"
        )
    if config is not None:  # a one-element tensor or a numpy number as its number, not "tensor(0.1000)"
        config = {name: _config_number(value) for name, value in config.items()}
    kind = _data_kind(real, data_kind)
    _check_real_fits(real, kind, dataset, inferred=data_kind is None)
    real_labels = _numpy_classes(real_labels)  # (numpy classes taken as n_classes takes numpy ints)
    n_classes = _check_classes(n_classes, real, real_labels, dataset)
    ends = _check_real_values(real, kind, dataset)
    if ends is not None and kind == "images":
        wrong = real_range_warning(*ends)
        if wrong is not None:  # a warning, not a refusal: a loop may train on another range on purpose
            warn_user(wrong)
    if not isinstance(model, str):  # run.json holds it as text (its reader refuses anything else)
        raise TrackingError(f"model={quoted(model)} is invalid: allowed a name as text, or '' for none")
    if source not in SOURCES or source == "trainer":
        raise TrackingError(f"source={source!r} is invalid: allowed api, lightning")
    if resume_from is not None and (
        not resume or isinstance(resume_from, bool) or not isinstance(resume_from, int) or resume_from < 0
    ):
        raise TrackingError(
            f"resume_from={resume_from!r} is invalid: allowed None, or with resume=True the checkpoint's "
            "step, a whole number >= 0"
        )
    steps, sample_every, eval_every, seed = checked_counts(
        steps=steps, sample_every=sample_every, eval_every=eval_every, seed=seed
    )
    if notes is not None:  # said before a folder is made
        try:
            notes = checked_notes(notes)
        except RunDirError as exc:
            raise TrackingError(str(exc)) from None
    if (
        isinstance(commit_every, bool)
        or not isinstance(commit_every, int | float)
        or not 0 <= commit_every <= 60
    ):
        raise TrackingError(f"commit_every={commit_every!r} is invalid: allowed seconds from 0 to 60")
    try:
        meta = RunMeta(
            source=source,
            loss=loss,
            data_kind=kind,
            dataset=_checked_dataset(dataset),
            model=model,
            hparams=dict(config or {}),
            n_classes=n_classes,
        )
    except ValueError as exc:
        raise TrackingError(str(exc)) from None
    if not isinstance(tensorboard, bool | str | os.PathLike):
        raise TrackingError(
            f"tensorboard={tensorboard!r} is invalid: allowed False, True (the run folder's tensorboard/) "
            "or a folder's path"
        )
    root = Path(root) if root is not None else default_runs_root()
    run_id = run_id or _default_run_id(None)
    _refuse_if_in_use(root, run_id)
    if not resume and _ended_without_rows(root, run_id, source):  # (a loop that broke at its first batch,
        # run again under its id: a refusal made the user pick another id or pass resume=True each time)
        warn_user(
            f"run {run_id!r} ended with no row recorded: it starts again in its folder (its events keep "
            "the earlier end)"
        )
        resume = True
    # A folder this call makes is removed again if the start fails below (no run that lists as
    # "interrupted 0/open" forever); one continued with resume=True keeps what it held, released.
    made = not resume or not (root / run_id).exists()
    run_dir = RunDir.create_external(root, run_id, meta, exist_ok=resume)
    sinks: list[Sink] = []
    try:
        # rows and snapshots after the checkpoint's step go (no writer has the folder open yet)
        replaced = run_dir.rewind_to(resume_from) if resume_from is not None and not made else 0
        if notes is not None:
            run_dir.write_notes(notes)
        if tensorboard:
            log_dir = run_dir.path / "tensorboard" if tensorboard is True else Path(tensorboard)
            try:
                # resumed at a checkpoint's step: TensorBoard drops the later history too (purge_step)
                purge = 0 if made else resume_from + 1 if resume_from is not None else None
                settings = {"loss": loss or "(your own)", **meta.hparams}  # (config's own "loss" wins)
                sinks.append(TensorBoardSink(log_dir, purge_step=purge, hparams=settings))
            except OSError as exc:  # SummaryWriter makes the folder: under a file, no permission, ...
                raise TrackingError(
                    f"tensorboard={str(log_dir)!r}: the folder cannot be made or written "
                    f"({exc.strerror or exc}); allowed: True (the run folder's tensorboard/) or a folder "
                    "that can be written"
                ) from None
        run = TrackedRun(
            run_dir,
            meta,
            real=real,
            real_labels=real_labels,
            steps=steps,
            sample_every=sample_every,
            eval_every=eval_every,
            seed=seed,
            optimizers=(opt_d, opt_g),
            commit_every=float(commit_every),
            sinks=sinks,
            dist=dist,
            label_smoothing=label_smoothing,
            resume_from=resume_from,
            replaced=replaced,
        )
    except BaseException:
        for sink in sinks:  # a TensorBoard writer's files are closed before its folder goes
            with contextlib.suppress(Exception):  # the start's own error is the one to see
                sink.finalize("failed")
        if made:
            run_dir.discard()
        else:
            run_dir.release()
        raise
    if resume and made:  # a script that always passes resume=True starts its first run so; a typo too
        warn_user(
            f"resume=True: no run {run_id!r} was found in {str(root)!r}, so a new one starts; to see the "
            f"runs there: python -m gan_core runs {shlex.quote(str(root))}"
        )
    _install_hooks()
    _ACTIVE.add(run)
    _SIGTERM.install(deferred=dist is not None)  # a job's ranks end at one step (`_agree_on_stop`)
    return run


def _ended_without_rows(root: Path, run_id: str, source: str) -> bool:
    """`RunDir.ended_without_rows` of run ``run_id`` in ``root``, which no process holds (checked before);
    False where there is no such run."""
    if not (root / run_id).is_dir():
        return False
    try:
        return RunDir.open(root, run_id).ended_without_rows(source)
    except (OSError, ValueError):  # (a RunDirError is a ValueError)
        return False


def _refuse_if_in_use(root: Path, run_id: str) -> None:
    """`RunBusyError` naming the process that holds run ``run_id``'s folder in ``root``, if another writer
    does: said first, before what a start or a resume would say of the folder (that it exists, that it
    was recorded with another loss or data kind), as who holds it is what to deal with first. A holder
    ending now is waited for as a claim waits (`RunLock.acquire`); nothing is said of a free folder."""
    path = root / validate_run_id(run_id)
    if path.is_dir() and not path.is_symlink() and lock_holder(path) is not None:
        RunLock.acquire(path, run_id, "training it").release()  # raises naming the holder


def _checked_label_smoothing(value: Any) -> float:
    """``value`` as a float when it is a number in the built-in config's range for ``label_smoothing``
    (`GANConfig`'s: [0, 0.5)), else a `TrackingError` naming the allowed values."""
    from gan_core.config import NUMBER_RANGES

    allowed = NUMBER_RANGES["label_smoothing"]
    number = int | float | np.integer | np.floating
    if isinstance(value, bool) or not isinstance(value, number) or value not in allowed:
        raise TrackingError(
            f"label_smoothing={quoted(value)} is invalid: allowed {allowed.allowed} (D's real target is "
            "1 - label_smoothing; 0 for none)"
        )
    return float(value)


def checked_counts(**given: Any) -> tuple[int, ...]:
    """``given``'s values (steps, sample_every, eval_every, seed) as ints, checked against the built-in
    config's own bounds (`GANConfig`: the API takes what a built-in run takes, so that the pages showing
    both read them alike, and a seed fits every generator it seeds: `_evaluation_config` builds a
    `GANConfig` from it); `TrackingError` naming the first bad one and its range."""
    from gan_core.config import ConfigError, GANConfig

    def refused(name: str, value: Any) -> TrackingError:
        allowed = "a whole number"
        try:  # the config's own words for its range (no bound written twice): a value below every one
            GANConfig(**{name: -(2**70)})
        except ConfigError as exc:
            allowed = exc.allowed.replace("a number", "a whole number", 1)
        note = " (0: open-ended)" if name == "steps" else ""
        return TrackingError(f"{name}={quoted(value)} is invalid: allowed {allowed}{note}")

    for name, value in given.items():
        if isinstance(value, bool) or not isinstance(value, int | np.integer):
            raise refused(name, value)
    checked = {name: int(value) for name, value in given.items()}
    try:
        GANConfig(**checked)
    except ConfigError as exc:
        raise refused(exc.field, given[exc.field]) from None
    return tuple(checked.values())


def _check_classes(n_classes: Any, real: Tensor | None, labels: Any, dataset: str | None) -> int:
    """`TrackingError` unless ``n_classes`` is 0 or a whole number ≥ 2 (the classes of a built-in classified
    ``dataset`` when it names one: the classifier's are the ones asked for) and ``labels``, when given,
    are the class index of each ``real`` example ((N,) integer, each in [0, n_classes)). Returns
    ``n_classes`` as an int (a numpy integer is taken)."""
    from gan_core.classifier import CLASSIFIED_DATASETS

    if isinstance(n_classes, np.integer):  # as the counts take them (`checked_counts`)
        n_classes = int(n_classes)
    # (1 is no conditioning: one class to ask for; the evaluation's class metrics need two or more)
    whole = not isinstance(n_classes, bool) and isinstance(n_classes, int)
    if not whole or not (n_classes == 0 or 2 <= n_classes <= MAX_CLASSES):
        raise TrackingError(
            f"n_classes={n_classes!r} is invalid: allowed 0 (unconditional) or a whole number from 2 to "
            f"{MAX_CLASSES}"
        )
    known = coverage_total(dataset) if dataset in CLASSIFIED_DATASETS else None
    if n_classes and known is not None and n_classes != known:
        raise TrackingError(
            f"n_classes={n_classes} but dataset={dataset!r} has {known} classes, which its classifier reads "
            f"label fidelity by: allowed n_classes={known}, or dataset='' for classes of your own"
        )
    if labels is None:
        return n_classes
    if not n_classes:
        raise TrackingError("real_labels are for a class-conditional run: pass n_classes too")
    if real is None:
        raise TrackingError("real_labels name the class of each real example: pass real too")
    _check_labels(labels, "real_labels", n_classes, len(real), "real examples", "one per example")
    return n_classes


def _check_labels(labels: Any, what: str, n_classes: int, count: int, of: str, allowed: str) -> None:
    """`TrackingError` naming ``what`` unless ``labels`` are class indices: a (N,) tensor of an integer
    dtype (not bool), ``count`` of them (one per each of ``of``; ``allowed`` says so), each in [0,
    n_classes). The range is read on the host (a sync): for `init` and `snapshot`, never a step."""
    if not isinstance(labels, Tensor) or labels.dim() != 1 or not _integer(labels.dtype):
        shape = tuple(labels.shape) if isinstance(labels, Tensor) else type(labels).__name__
        got = f", got {labels.dtype}" if isinstance(labels, Tensor) and labels.dim() == 1 else ""
        raise TrackingError(
            f"{what} of {shape} are invalid: allowed a (N,) integer tensor of classes{got} (class indices "
            f"0 to {n_classes - 1}: .long() of whole numbers)"
        )
    if len(labels) != count:
        raise TrackingError(f"{what} has {len(labels)} labels for {count} {of}: allowed {allowed}")
    if len(labels):
        low, high = (int(v) for v in torch.aminmax(labels))
        if low < 0 or high >= n_classes:
            raise TrackingError(
                f"{what} hold classes from {low} to {high}: allowed 0 to {n_classes - 1} (n_classes="
                f"{n_classes})"
            )


def _numpy_classes(labels: Any) -> Any:
    """A numpy array of numbers or bools as a tensor, for `_check_labels` to judge as it judges a tensor
    (an integer one passes; a float one is named by its shape and dtype); anything else as given."""
    if isinstance(labels, np.ndarray) and (
        np.issubdtype(labels.dtype, np.number) or labels.dtype == np.bool_
    ):
        return torch.as_tensor(labels)
    return labels


def _integer(dtype: torch.dtype) -> bool:
    """True for an integer dtype that holds class indices (not bool, floating point or complex)."""
    return not (dtype.is_floating_point or dtype.is_complex or dtype == torch.bool)


IMAGES_ALLOWED = "(N, C, H, W) images with C 1 or 3"
_BOTH_NORMS = (
    "{role}_step got both {role}_params and {role}_grad_norm: allowed one of them, {role}_params (the total "
    "L2 norm of their gradients is measured) or {role}_grad_norm (a norm of your own, recorded as given)"
)


def _output_problem(output: Any, data_kind: str, real_shape: tuple[int, ...] | None) -> str | None:
    """Why G's ``output`` cannot be drawn as a snapshot of a ``data_kind`` run (``real_shape``: its real
    examples' shape, or None), with the fix; None when it can. Points: 2 numbers an example, (N, 2) (any
    shape of 2 numbers an example is taken, as it is drawn flattened). Images, and data of another kind
    (drawn as images): (N, C, H, W) with C 1 or 3; data of another kind also (N, D), drawn as one picture,
    a row an example. Anything else would fail to draw (PIL's "Cannot handle this data type") or draw no
    images: (N, H, W), channels last, (N, D) for an images run, other channel counts."""
    if not isinstance(output, Tensor):
        shape, fix = f"is a {type(output).__name__}", " (return the samples as a tensor from G's forward)"
    else:
        dims = tuple(output.shape)
        shape, fix = f"has shape {dims}", ""
        if data_kind == "points":
            drawn = output.dim() >= 2 and math.prod(dims[1:]) == 2
        else:  # images; another kind's (N, D) as one picture
            drawn = (output.dim() == 4 and dims[1] in (1, 3)) or (output.dim() == 2 and data_kind != "images")
        if drawn:
            return None
        images = data_kind != "points"
        if images and output.dim() == 4 and dims[-1] in (1, 3):
            fix = " (channels last: return x.permute(0, 3, 1, 2) from G's forward)"
        elif images and output.dim() == 3:
            fix = " (one channel, (N, H, W): return x.unsqueeze(1) from G's forward)"
        elif images and output.dim() == 2 and real_shape and math.prod(real_shape[1:]) == dims[1]:
            fix = f" (flattened: watch nn.Sequential(G, nn.Unflatten(1, {real_shape[1:]})))"
    if data_kind == "points":
        allowed = f"(N, 2) points, as real's {real_shape}" if real_shape else "(N, 2) points"
    elif data_kind == "images":
        allowed = f"{IMAGES_ALLOWED}, as real's {real_shape}" if real_shape else IMAGES_ALLOWED
    else:
        allowed = (
            f"{IMAGES_ALLOWED}, or (N, D) (drawn as one picture, a row an example; 2D points are drawn as "
            "points when init is given real as (N, 2))"
        )
    return f"G's output {shape}, which no snapshot can draw: allowed {allowed}{fix}"


def _check_real_fits(real: Tensor | None, kind: str, dataset: str | None, inferred: bool = False) -> None:
    """`TrackingError` unless ``real`` has the shape of ``kind`` (points: (N, 2); images: (N, 1 or 3, H,
    W)) and ``kind`` is the kind of a built-in ``dataset`` (`gan_core.config.POINT_DATASETS` or
    `IMAGE_DATASETS`, whose coverage measures need it); an unknown ``dataset`` is left to
    `_checked_dataset`. ``inferred``: ``kind`` was read from ``real``'s shape (no ``data_kind`` given):
    images as (N, H, W) or (N, H, W, C) (C 1 or 3) are a layout to mend, not "other", of any dataset
    (``data_kind='other'`` keeps data that is no images)."""
    from gan_core.config import IMAGE_DATASETS, POINT_DATASETS

    shapes = {"points": "(N, 2) points", "images": "(N, 1 or 3, H, W) images"}
    if real is not None and kind in shapes and _data_kind(real, None) != kind:
        raise TrackingError(
            f"real of shape {tuple(real.shape)} is not data_kind={kind!r}: allowed {shapes[kind]}, or "
            "data_kind='other'"
        )
    needs = "points" if dataset in POINT_DATASETS else "images" if dataset in IMAGE_DATASETS else None
    # Images of a built-in image dataset in another layout, (N, H, W) or (N, H, W, C): a layout to mend,
    # not data of another kind (flattened images, (N, H * W) for an MLP, are: no grid can be drawn of them).
    layout = _image_layout(real) if inferred and real is not None and kind == "other" else None
    if needs == "images" and inferred and real is not None and kind == "other" and real.dim() in (3, 4):
        hint = f" ({layout[1]})" if layout is not None else ""
        raise TrackingError(
            f"dataset={dataset!r} is {needs}, but real has shape {tuple(real.shape)}: allowed "
            f"{shapes[needs]}{hint}, or dataset='' for data of your own"
        )
    if needs is not None and kind in ("points", "images") and kind != needs:  # ("other": none measured)
        raise TrackingError(
            f"dataset={dataset!r} is {needs}, but the run records {kind} data: allowed real as "
            f"{shapes[needs]} for it, or dataset='' for data of your own"
        )
    # Of any dataset: images as (N, H, W) or channels last are a layout to mend, unless data_kind says the
    # data is no images ('other': recorded as given, without a grid or quality metrics).
    if layout is not None:
        raise TrackingError(
            f"real of shape {tuple(real.shape)} looks like images {layout[0]}: allowed "
            f"{shapes['images']} ({layout[1]}), (N, 2) points, or data_kind='other' for data that is "
            "neither (recorded as given, without a grid or quality metrics)"
        )


# A built-in toy's real points must lie on its modes: at least this share of them within `REAL_ON_MODES_STD`
# std of a centre. A true sample of ring8 or grid25 falls beyond 5 std about 4 times in a million (2D:
# exp(-12.5)), so a small batch of it is never refused by chance (at 3 std, 1.1% of points: one in 8 of
# 8-point batches was); a ring of another radius or another toy has almost none there.
REAL_ON_MODES_PCT = 90.0
REAL_ON_MODES_STD = 5.0


def _check_real_values(real: Tensor | None, kind: str, dataset: str | None) -> tuple[float, float] | None:
    """`TrackingError` unless ``real``'s values are finite (NaN or inf in them made every grid measure
    read 0, "matches", and every 2D snapshot unreadable: bounds not finite) and, for a 2D toy with modes
    to count (``ring8``, ``grid25``: `gan_core.data.mode_count`), lie on that toy's modes: the mode
    measures (``modes_covered``, ``hq_pct``, ``mode_kl``: `gan_core.diagnostics.mode_metrics`) count G's
    samples near the built-in centres and std, not near ``real``'s, so a ring of another radius read
    0 modes covered and a false ``mode_collapse`` whatever G did. At least `REAL_ON_MODES_PCT` % of
    ``real``'s points must be within `REAL_ON_MODES_STD` std of a centre.

    Returns ``real``'s smallest and largest value (what `real_range_warning` reads), None for no examples
    or complex ones. Finite is checked on those ends, in one pass that allocates nothing
    (``torch.aminmax``: NaN or inf anywhere makes an end not finite; one sync at init), the examples at
    fault counted only when it finds some."""
    if real is None or not real.numel():
        return None
    ends = None
    if real.is_complex():
        finite_ends = bool(torch.isfinite(real).all())
    else:
        ends = tuple(float(v) for v in torch.aminmax(real.detach()))
        finite_ends = all(math.isfinite(v) for v in ends)
    if not finite_ends:
        finite = torch.isfinite(real)
        bad = (~finite).reshape(len(real), -1).any(dim=1)
        first, values = int(bad.nonzero()[0, 0]), int((~finite).sum())
        raise TrackingError(
            f"real has {values:,} non-finite value{'s' if values != 1 else ''} (NaN or inf) in "
            f"{int(bad.sum()):,} of its {len(real):,} example{'s' if len(real) != 1 else ''}, the first at "
            f"index {first}: allowed finite numbers (the quality measures and snapshots are drawn against "
            "them)"
        )
    if kind != "points" or not dataset or not mode_count(dataset):
        return ends
    from gan_core.config import GANConfig

    toy = load_data(GANConfig(dataset=dataset))
    points = real.detach().reshape(len(real), -1).float().cpu()
    nearest = torch.cdist(points, toy.centers.float()).min(dim=1).values
    on_modes = 100.0 * float((nearest <= REAL_ON_MODES_STD * toy.mode_std).float().mean())
    if on_modes < REAL_ON_MODES_PCT:
        raise TrackingError(
            f"dataset={dataset!r} counts modes at its own {mode_count(dataset)} centres (std "
            f"{toy.mode_std:g}; `gan_core.data`), but {on_modes:.3g}% of real's points lie within "
            f"{REAL_ON_MODES_STD:g} std of one: allowed real drawn from {dataset} itself (at least "
            f"{REAL_ON_MODES_PCT:g}% there), or dataset='' for points of your own (measured on a grid: "
            "grid_kl, grid_js)"
        )
    return ends


def _image_layout(real: Tensor) -> tuple[str, str] | None:
    """(how, the fix) when ``real`` looks like images in a layout other than (N, C, H, W): (N, H, W), or
    channels last (N, H, W, C) with C 1 or 3; None otherwise."""
    if real.dim() == 3:
        return "as (N, H, W)", "one channel: real.unsqueeze(1)"
    if real.dim() == 4 and real.shape[-1] in (1, 3):
        return "channels last", "channels first: real.permute(0, 3, 1, 2)"
    return None


def _checked_dataset(dataset: str | None) -> str:
    """``dataset`` if it names a built-in dataset (`gan_core.config.DATASETS`, the datasets' registry),
    ``""`` for None or ``""`` (data of the user's own); `TrackingError` listing the names otherwise."""
    from gan_core.config import DATASETS

    if dataset is None or dataset == "":
        return ""
    if dataset not in DATASETS:
        raise TrackingError(
            f"dataset={dataset!r} is unknown: allowed {', '.join(DATASETS)}, or '' (None) for data of "
            "your own"
        )
    return dataset


def _losses() -> tuple[str, ...]:
    from gan_core.losses import LOSSES

    return tuple(LOSSES)


__all__ = ["RankRun", "Terminated", "TrackedRun", "TrackingError", "TrackingWarning", "init", "now_iso"]
