"""The background thread around a `Trainer`: commands in, records out.

A `Runner` owns one run. The UI (or the command line) calls its methods — `start`, `pause`, `resume`,
`step`, `stop`, `set_hparams` — from any thread; they only queue a command, and the training thread
applies it between two steps, so pause and stop take effect within one step. Records flow out to sinks
the loop does not know about beyond their interface: the in-memory `MetricStore` (for the charts) and the
`RunDir` (metrics.csv, events.csv, snapshots, checkpoints).

Statuses: idle -> running <-> paused -> finished | stopped | failed (with the error).

`Runner.reopen` continues an existing run folder from its latest checkpoint (a run that was stopped,
or interrupted by a crash or a kill): the step counter, the RNG and the flag monitor go on where the
checkpoint left them, metric rows after it are replaced, and the store is refilled from metrics.csv,
so the run reads as one history. Only `MUTABLE_FIELDS` may change on the way (recorded as ``hparam``
events). A branch is the same, on a new folder made by `RunDir.branch`.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import math
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from gan_core.checkpoint_fit import check_checkpoint_step, check_own_checkpoint
from gan_core.config import CONTINUE_FIELDS, MUTABLE_FIELDS, ConfigChangeError, GANConfig
from gan_core.data import DataSource
from gan_core.distributed import PAUSE_TICK_SECONDS, DistContext, collective_failure, job_fields
from gan_core.environment import environment
from gan_core.evaluation import EVAL_COLUMNS, Evaluator, coverage_total
from gan_core.flags import FLAGS, FlagMonitor, check_monitor_state
from gan_core.losses import get_loss
from gan_core.models import build_models
from gan_core.quoting import clipped, quoted
from gan_core.rundir import (
    RunDir,
    RunDirError,
    current_events,
    make_event,
    shown_value,
    thinned,
    this_process,
)
from gan_core.store import MetricStore
from gan_core.tracking.commands import CommandPoller, answer_notes
from gan_core.tracking.readback import PendingRow
from gan_core.tracking.schema import CSV_COLUMNS, ENDED, RECORD_COLUMNS, STATUSES, event_detail
from gan_core.tracking.sink import RunDirSink, Sink, StoreSink
from gan_core.trainer import Trainer, resolve_device

__all__ = [
    "ENDED",
    "STATUSES",
    "DivergedError",
    "Runner",
    "RunnerError",
    "continue_device",
    "follow",
    "hparams_in_force",
    "newest_checkpoint",
    "unusable_checkpoint",
]

STEP_MODES = ("full", "d", "g")
MAX_SNAPSHOTS_IN_MEMORY = 400  # older ones are thinned (on disk: keep_snapshots, thinned alike)
STATUS_WRITE_SECONDS = 2.0


def _check_fits(
    cfg: GANConfig, state: dict[str, Any], source: str
) -> tuple[torch.nn.Module, torch.nn.Module]:
    """The networks ``cfg`` builds with the checkpoint's weights loaded, or RunDirError: refused before a
    thread starts (and before anything is written), not as a failed run. The checkpoint is first checked
    to be the run's own (`check_own_checkpoint`), so that the networks are sized by the run's config,
    never by values the file alone claims."""
    shape, n_classes = check_own_checkpoint(cfg, state, source)
    try:
        G, D = build_models(cfg, shape, n_classes)
        G.load_state_dict(state["generator"])
        D.load_state_dict(state["discriminator"])
    except (ValueError, TypeError, RuntimeError, KeyError) as exc:
        reason = " ".join(str(exc).split())[:300]
        raise RunDirError(
            f"{source} cannot be rebuilt into G and D ({reason}); allowed: a checkpoint this run saved"
        ) from None
    return G, D


def _check_resumable(cfg: GANConfig, state: dict[str, Any], step: int, source: str) -> None:
    """RunDirError, naming ``source`` and the part, unless a run of ``cfg`` can go on from checkpoint
    ``state``, kept as the file of step ``step``: it is the run's own, its step is the one its name says
    and its networks fit (`_check_fits`), and every other part the training thread loads (optimizers,
    flag monitor, RNG, counters) loads. Checked here, before a thread starts and before anything is
    written: found there, a damaged part would end the run as failed after the folder was cut back to the
    checkpoint."""
    G, D = _check_fits(cfg, state, source)
    check_checkpoint_step(state, step, source, resuming=True)

    def part(name: str, check: Callable[[Any], object], allowed: str) -> None:
        if name not in state:
            return  # an older checkpoint without it: the thread goes on with its default
        try:
            check(state[name])
        except Exception as exc:  # a damaged part fails in as many ways as its loader has errors
            reason = clipped(" ".join(str(exc).split()) or type(exc).__name__, 200)
            raise RunDirError(
                f"{source}: its {name!r} cannot be loaded ({type(exc).__name__}: {reason}); allowed: "
                f"{allowed}, as this run saves it"
            ) from None

    for name, net in (("opt_g", G), ("opt_d", D)):
        params = [p for p in net.parameters() if p.requires_grad]
        part(name, torch.optim.Adam(params).load_state_dict, "the Adam optimizer's state of its network")
    part(
        "flags",
        lambda v: check_monitor_state(_mapping(v)),
        "the flag monitor's state (an object of its fields)",
    )
    part("hparams", lambda v: cfg.replace(**_mapping(v)), "an object of settings the config accepts")
    part("train_seconds", lambda v: _finite(float(v)), "a number of seconds ≥ 0")
    part("snapshot_stride", lambda v: _count(v, 1), "an integer ≥ 1")
    part("world_size", lambda v: _count(v, 1), "an integer ≥ 1")
    part("torch_rng", torch.Generator().set_state, "torch's CPU random state (a uint8 tensor)")
    part("rng", _check_rng_state, "a random generator's state (a uint8 tensor)")
    part("data_stream", lambda v: v is None or _mapping(v), "null, or the data stream's place (an object)")


def newest_checkpoint(run_dir: RunDir) -> tuple[int, Path] | tuple[None, None]:
    """The checkpoint a resume of ``run_dir`` goes on from, as (step, path): the newest entry of its
    checkpoints/ that metrics.csv reaches (runs of this version always write rows first; a folder from
    elsewhere might not: then the newest of all), so the history has no gap. (None, None) when there is
    none. That entry is taken as it is, never passed by for an older one: a resume from an older one
    would replace the rows recorded after it. `UnusableCheckpointError` (naming the older regular
    files) when it is no regular file (a folder, a symlink, a named pipe); `RunDirError` when
    checkpoints itself is no folder. Whether the file it names loads is `_resumable_state`'s check."""
    folder_problem = run_dir.checkpoints_folder_problem()
    if folder_problem is not None:
        raise RunDirError(folder_problem)
    entries = run_dir.checkpoint_entries()
    last_row = run_dir.last_metrics_step()
    reached = [entry for entry in entries if last_row is None or entry[0] <= last_row]
    if not (reached or entries):
        return None, None
    step, path, regular = (reached or entries)[-1]
    if not regular:
        try:
            run_dir.load_checkpoint(path)  # refused before anything is read: what it is, said
        except RunDirError as exc:
            raise unusable_checkpoint(run_dir, step, str(exc), path) from None
        # (a regular file since it was listed: it goes on from that, checked as any other)
    return step, path


def unusable_checkpoint(
    run_dir: RunDir, step: int, reason: str, path: Path | None = None
) -> UnusableCheckpointError:
    """`UnusableCheckpointError`: ``reason`` (why the checkpoint of ``step``, at ``path``, cannot be used),
    then the older kept checkpoints (regular files), newest first, or that there is none; ``older`` holds
    their steps."""
    older = [s for s, _ in reversed(run_dir.checkpoints()) if s < step]
    steps = ", ".join(map(str, older))
    said = f"older kept checkpoints: steps {steps}" if older else "no older checkpoint is kept"
    return UnusableCheckpointError(f"{reason}; {said}", older, path)


def _check_steps_left(who: str, step: int, applied: dict[str, Any], in_force: dict[str, Any]) -> None:
    """`RunnerError` when a run going on from ``step`` (``who``: "run X", "a branch of run X from step
    N") would train no step: ``steps`` (the ``applied`` changes', else the one ``in_force``) at or below
    it, saying that steps is the total to reach. Nothing for steps 0 (until stopped)."""
    steps = applied.get("steps", in_force["steps"])
    if not steps or step < steps:
        return
    if "steps" in applied:  # (read as the run's own steps, "trained its steps=100" misled)
        reached = f"is at step {step}, {'past' if step > steps else 'at'} the steps={steps} asked"
    else:
        reached = f"has trained its steps={steps}" + (f" (at step {step})" if step != steps else "")
    raise RunnerError(
        f"{who} {reached}: give a steps above {step} (steps is the total to reach, counted from the run's "
        "start), or steps=0 to train until stopped"
    )


def _resumable_state(run_dir: RunDir, cfg: GANConfig, step: int, path: Path) -> dict[str, Any]:
    """The checkpoint of ``step`` at ``path``, loaded (weights only) and checked (`_check_resumable`) for a
    run of ``cfg`` to go on from; `UnusableCheckpointError` saying why not and naming the older ones."""
    try:
        state = run_dir.load_checkpoint(path)
        _check_resumable(cfg, state, step, f"checkpoint {path.name} of run {run_dir.run_id!r}")
    except RunDirError as exc:
        # (`checkpoints` lists regular files only: a link or a folder under a checkpoint's name is none)
        raise unusable_checkpoint(run_dir, step, str(exc), path) from None
    return state


def _mapping(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise TypeError(f"{shown_value(value)}, not an object")
    return value


def _finite(value: float) -> None:
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(f"{quoted(value)} is not a number ≥ 0")


def _count(value: Any, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"{shown_value(value)} is not an integer ≥ {low}")


def _check_rng_state(value: Any) -> None:
    if not (isinstance(value, torch.Tensor) and value.dtype == torch.uint8 and value.dim() == 1):
        raise TypeError(f"{type(value).__name__}, not a 1-D uint8 tensor")


def hparams_in_force(cfg: GANConfig, checkpoint: dict[str, Any]) -> dict[str, Any]:
    """The mid-run hyperparameters in force at a checkpoint (older checkpoints: the config's)."""
    return {**{k: getattr(cfg, k) for k in MUTABLE_FIELDS}, **checkpoint.get("hparams", {})}


def resume_changes(
    cfg: GANConfig, in_force: dict[str, Any], changes: dict[str, Any] | GANConfig | None
) -> dict[str, Any]:
    """The mid-run changes to apply when a run of ``cfg`` continues with the hyperparameters ``in_force``
    at its checkpoint: the `MUTABLE_FIELDS` in ``changes`` whose values differ from those in force.

    Any other field in ``changes`` must keep the run's value (a different model, data or loss cannot go on
    from these weights): `ConfigError` names it, except `CONTINUE_FIELDS` (the device: see
    `continue_device`). Values are validated as the config validates them.
    """
    if changes is None:
        return {}
    if isinstance(changes, GANConfig):
        changes = changes.to_dict()
    wanted = cfg.replace(**{**in_force, **changes})  # unknown fields and bad values: ConfigError
    may_change = MUTABLE_FIELDS + CONTINUE_FIELDS
    for name in changes:
        if name not in may_change and getattr(wanted, name) != getattr(cfg, name):
            raise ConfigChangeError(
                name,
                changes[name],
                quoted(getattr(cfg, name)),
                f"{name}={quoted(changes[name])} cannot change when a run continues: it was trained with "
                f"{name}={quoted(getattr(cfg, name))}. Only {', '.join(may_change)} may change; start a new "
                f"run to change {name}",
            )
    return {
        k: getattr(wanted, k) for k in MUTABLE_FIELDS if k in changes and getattr(wanted, k) != in_force[k]
    }


def follow(
    cfg: GANConfig,
    dist: DistContext,
    *,
    data: DataSource | None = None,
    resume: tuple[dict[str, Any], dict[str, Any]] | None = None,
    stop_requested: Callable[[], bool] = lambda: False,
) -> str:
    """Train as rank ``dist.rank`` (not 0) of a multi-process job whose rank 0 runs a `Runner`: the same
    steps on this rank's own batches, DDP averaging the gradients, nothing written. ``resume``: (checkpoint
    state, changes) as rank 0 continues from. ``stop_requested``: polled at each step boundary (a signal
    to this process), and passed to the other ranks through `DistContext.agree`.

    Returns how it ended: ``finished`` (steps done), ``stopped`` (any rank asked, or rank 0 ended: Stop,
    divergence, a failure between steps). Raises what a step raises (an error here, or a collective
    that fails because another rank is gone)."""
    trainer = Trainer(cfg, data, dist)
    if resume is not None:
        state, changes = resume
        trainer.load_state_dict(state)
        trainer.set_hparams(**changes)
    try:
        while True:
            stop, pause = dist.agree(stop_requested())
            if stop:
                return "stopped"
            if pause:  # rank 0 is paused: meet it again at its next tick
                continue
            trainer.step_async()  # its values are rank 0's to record: this rank never waits to read them
            if trainer.finished:
                return "finished"
    finally:
        trainer.data.close()  # a streamed folder's workers end with the rank's run


def continue_device(changes: dict[str, Any] | GANConfig | None) -> str:
    """The device a continued run (resume, rewind) trains on: the ``device`` in ``changes``, else
    ``auto``, whatever device the run was trained on before (`CONTINUE_FIELDS`). Checked now: an
    unavailable device is a `ValueError` before anything starts."""
    device = changes.device if isinstance(changes, GANConfig) else (changes or {}).get("device", "auto")
    GANConfig(device=device)  # a malformed name: ConfigError naming the field
    resolve_device(device)
    return device


@dataclasses.dataclass(frozen=True)
class _Pictures:
    """The saved views a resumed run shows again (`Runner._read_pictures`): the real samples (None: to be
    made again), the snapshots kept in memory as ``(step, view)`` or ``(step, why it is unreadable)``, and
    the strides of the folder's and of memory's thinning (see `thinned`)."""

    real: dict[str, np.ndarray] | None
    views: list[tuple[int, dict[str, np.ndarray] | str]]
    stride: int
    memory_stride: int


@dataclasses.dataclass(frozen=True)
class Evaluating:
    """An evaluation in progress (`Runner.evaluating`): the step it measures, whether it trains the data's
    feature classifier first (`Evaluator.trains_classifier`: the first evaluation of digit-like images in
    this process, seconds), and when it began (``time.monotonic()``)."""

    step: int
    trains_classifier: bool
    since: float


class DivergedError(RuntimeError):
    """A loss or gradient became NaN or Inf: the run stops as failed, its records kept."""


class RunnerError(RuntimeError):
    """A command that does not fit the run's state (e.g. pausing a finished run)."""


class UnusableCheckpointError(RunDirError):
    """The checkpoint a resume would go on from cannot be used (corrupt, not a file, damaged parts); the
    message ends with the older kept checkpoints, and ``older`` holds their steps, newest first: where a
    new run can be branched from instead (each surface names how: the CLI's ``--rewind``, the Runs
    page's Rewind / branch). ``path``: the unusable checkpoint, where known."""

    def __init__(self, message: str, older: list[int], path: Path | None = None):
        super().__init__(message)
        self.older = older
        self.path = path


class Runner:
    """One run trained in a background thread."""

    def __init__(
        self,
        cfg: GANConfig,
        runs_root: str | Path = "runs",
        run_id: str | None = None,
        *,
        data: DataSource | None = None,
        run_dir: RunDir | None = None,
        sinks: list[Sink] | tuple[Sink, ...] = (),
        dist: DistContext | None = None,
    ):
        """A new run folder in ``runs_root``, or with ``run_dir`` an existing one (see `reopen`).

        Records, events, snapshots and the final status go to the in-memory store, the run folder and
        ``sinks`` (e.g. a `TensorBoardSink`; see also `add_sink` and `watch_command_file`).

        ``dist``: rank 0 of a multi-process job (`gan_core.distributed`; the other ranks run `follow`):
        this runner writes the folder, and meets the other ranks at every step boundary (`DistContext.agree`)
        so that all of them pause, go on and stop at the same step."""
        if dist is not None and not dist.is_main:
            raise RunnerError(f"rank {dist.rank} writes no run folder: it runs gan_core.runner.follow")
        self.cfg = cfg
        self.dist = dist
        self._mid_step = False  # inside a step: the ranks are in DDP's collectives, not at a boundary
        self._d_only_since_checkpoint = False  # a D-only single step since the newest checkpoint
        self._paused_checkpoint: int | None = None  # the step of this pause's own checkpoint, while paused
        self._pending: PendingRow | None = None  # the last step, its scalars on their way (`_emit_lagged`)
        self._recorded_step: int | None = None  # the last step emitted (`current_step`)
        self._job_ended = False  # the ranks agreed to stop: none waits for this one any more
        self.run_dir = run_dir or RunDir.create(runs_root, cfg, run_id)
        self.run_id = self.run_dir.run_id
        status = self.run_dir.read_status()
        # A branch's origin: {"parent": run id, "parent_step": step}, or {} for a run of its own.
        self.lineage = {k: status[k] for k in ("parent", "parent_step") if k in status}
        self.start_step = 0  # the step it starts from: a resumed run's checkpoint step
        self._resume: tuple[dict[str, Any], dict[str, Any]] | None = None  # (checkpoint, changes)
        self._resume_pictures: _Pictures | None = None  # the saved views it shows again (`_read_pictures`)
        self._process = this_process()
        self._snapshot_cap = min(MAX_SNAPSHOTS_IN_MEMORY, cfg.keep_snapshots)
        self._memory_stride = 1  # snapshots kept every stride-th step (see `thinned`; on disk: the sink's)
        self.store = MetricStore(RECORD_COLUMNS)
        self._folder_sink = RunDirSink(self.run_dir, RECORD_COLUMNS, cfg.keep_snapshots)
        self.sinks: list[Sink] = [StoreSink(self.store), self._folder_sink, *sinks]
        self._poller: CommandPoller | None = None  # `watch_command_file`
        self._notes_answer: dict[str, Any] | None = None  # the last notes request's answer (`answer_notes`)
        # the commands read from the command file, in order: (command, source: "dashboard", "script", ...,
        # the step it came at), for the command line to say each (who paused, resumed or stopped its run)
        self.file_commands: list[tuple[str, str, int]] = []
        self.events: list[dict[str, Any]] = []
        self.snapshots: list[tuple[int, dict[str, np.ndarray]]] = []  # (step, Trainer.snapshot())
        self.real_view: dict[str, np.ndarray] | None = None
        self.trainer: Trainer | None = None
        self.device: str | None = None
        self.error: str | None = None
        self._stop_reason: str | None = None  # why a `stop` was asked, where the asker said (its error)
        # D's "cannot tell" output under the label smoothing in force (t/2: `GANLoss.smoothed`); `_emit`
        # keeps it to each record's, through mid-run changes and resumes.
        loss = get_loss(cfg.loss)
        midpoint = loss.smoothed(cfg.label_smoothing).midpoint
        self.monitor = FlagMonitor(
            midpoint, coverage_total=coverage_total(cfg.dataset), critic=loss.is_critic
        )
        self.evaluator: Evaluator | None = None
        # The evaluation under way, or None: set and cleared by the training thread, read by pages (one
        # reference, replaced whole: a reader sees the old value or the new one).
        self.evaluating: Evaluating | None = None
        self.last_eval: dict[str, float] = {}
        self._data = data
        self._status = "idle"
        self._commands: collections.deque[tuple[str, Any]] = collections.deque()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._last_status_write = 0.0
        self._pause_at: int | None = None
        self._exception: traceback.TracebackException | None = None  # why it failed (see `traceback`)

    @classmethod
    def reopen(
        cls,
        run_dir: RunDir,
        changes: dict[str, Any] | GANConfig | None = None,
        *,
        data: DataSource | None = None,
        dist: DistContext | None = None,
    ) -> Runner:
        """A runner (not started yet) that continues ``run_dir`` from its latest checkpoint.

        ``changes`` (field -> value, or a whole config) may set any of `MUTABLE_FIELDS`; they apply from
        the first step after the checkpoint. Raises `RunDirError` if there is no checkpoint
        (`UnusableCheckpointError`, naming the older ones, if the latest cannot be used),
        `ConfigError` for a change to any other field, `RunnerError` if the run has already trained the
        steps it would run to, `RunBusyError` (naming the holder) if another writer holds the folder.

        The folder's claim (`RunDir.claim`) is taken before anything is read or written and kept by the
        runner until its run ends; a refused resume gives it back.
        """
        claimed_here = not run_dir.claimed  # a branch's new folder comes claimed (and is discarded on error)
        run_dir.claim("training it")
        try:
            return cls._reopen_claimed(run_dir, changes, data, dist)
        except BaseException:
            if claimed_here:
                run_dir.release()
            raise

    @classmethod
    def _reopen_claimed(
        cls,
        run_dir: RunDir,
        changes: dict[str, Any] | GANConfig | None,
        data: DataSource | None,
        dist: DistContext | None = None,
    ) -> Runner:
        cfg = run_dir.read_config()
        file_step, path = newest_checkpoint(run_dir)
        if path is None:
            # A run that failed writing its first checkpoint says so in status.json's error (`_writing`).
            status = run_dir.read_status()
            error = str(status.get("error") or "")
            failed_write = error.partition("cannot write checkpoints/")[2]
            reached, every = status.get("step"), cfg.checkpoint_every
            ended = status.get("status") in ("stopped", "finished")  # (a stop or the end writes one)
            if failed_write:
                why = f"writing its first one failed: checkpoints/{failed_write}"
            elif isinstance(reached, int) and (ended or (every and reached >= every)):  # it wrote one
                wrote = f"{status['status']} at step {reached}" if ended else f"reached step {reached}"
                why = (
                    f"its checkpoints folder holds none, though it {wrote} with checkpoint_every={every}: "
                    "they were moved or deleted"
                )
            elif isinstance(reached, int):  # killed: a stop or the end writes one, a kill cannot
                first = f"its first one at step {every}" if every else "the one it writes when it ends"
                why = f"it stopped at step {reached}, before {first} (checkpoint_every={every})"
            else:
                why = f"it ended before its first one: checkpoint_every={every}"
            raise RunDirError(
                f"run {run_dir.run_id!r} has no checkpoint to continue from ({why}); start a new run"
                + (" where there is room to write one" if failed_write else "")
            )
        state = _resumable_state(run_dir, cfg, file_step, path)
        run_dir.check_metrics_writable(CSV_COLUMNS)  # what the thread rewrites and appends to
        in_force = hparams_in_force(cfg, state)
        applied = resume_changes(cfg, in_force, changes)
        step = int(state["step"])
        _check_steps_left(f"run {run_dir.run_id}", step, applied, in_force)
        device = continue_device(changes)
        runner = cls(cfg.replace(device=device), run_dir.root, data=data, run_dir=run_dir, dist=dist)
        runner._resume = (state, applied)
        runner.start_step = step
        runner._resume_pictures = runner._read_pictures(step, state)
        return runner

    def _read_pictures(self, step: int, state: dict[str, Any]) -> _Pictures:
        """The saved views a resume at ``step`` shows again: the real samples (None if unreadable) and the
        snapshots up to ``step`` thinned as the run keeps them in memory, each ``(step, view)``, or
        ``(step, error)`` for a file that cannot be read.

        Read here, in the thread that reopens the run, never in the training thread: numpy parses each
        .npy header with `ast.literal_eval`, and on CPython 3.11 a parse in one thread while another
        thread compiles a page (Streamlit's script thread, as the Runs page's Resume switches to the
        Train view) can fail with "SystemError: AST constructor recursion depth mismatch" in either
        (CPython gh-106905; rundir's read lock keeps this process's own reads apart)."""
        try:
            real = self.run_dir.load_snapshot("real")
        except RunDirError:
            real = None
        stride = int(state.get("snapshot_stride", 1))
        # (those after ``step`` are the ones `rewind_to` deletes)
        upto = [(s, path) for s, path in self.run_dir.snapshot_steps() if s <= step]
        kept, memory_stride = thinned(upto, self._snapshot_cap, stride)
        views: list[tuple[int, dict[str, np.ndarray] | str]] = []
        for s, path in kept:
            try:
                views.append((s, self.run_dir.load_snapshot(path)))
            except RunDirError as exc:  # a damaged file costs that picture, never the run
                views.append((s, str(exc)))
        return _Pictures(real, views, stride, memory_stride)

    @classmethod
    def branch(
        cls,
        parent: RunDir,
        step: int | None = None,
        changes: dict[str, Any] | GANConfig | None = None,
        *,
        run_id: str | None = None,
        data: DataSource | None = None,
        dist: DistContext | None = None,
    ) -> Runner:
        """A runner (not started yet) for a new run folder beside ``parent`` that starts from the parent's
        kept checkpoint at ``step`` (the latest when None); see `RunDir.branch`. ``changes`` as in
        `reopen`; a bad one is refused before the folder is made. The parent's folder is only read. The
        latest is the newest entry a resume would take (`newest_checkpoint`): one that is no regular file
        is refused, naming the older ones, not passed by."""
        if step is None:
            step, _ = newest_checkpoint(parent)  # None when it has none: `checkpoint_at` says so
        step, checkpoint = parent.checkpoint_at(step)
        cfg = parent.read_config()
        state = _resumable_state(parent, cfg, step, checkpoint)
        in_force = hparams_in_force(cfg, state)
        # said of the run branched from, before the branch's folder is made (it named that folder's id)
        _check_steps_left(
            f"a branch of run {parent.run_id} from step {step}",
            step,
            resume_changes(cfg, in_force, changes),
            in_force,
        )
        child = parent.branch(step, run_id)  # only now is anything written (the child is claimed)
        try:
            return cls.reopen(child, changes, data=data, dist=dist)
        except BaseException:
            child.discard()
            raise

    # ------------------------------------------------------------------ state
    @property
    def status(self) -> str:
        return self._status

    @property
    def current_step(self) -> int:
        """Generator steps recorded so far: the rows in the store and metrics.csv (a step whose values are
        still on their way to the host, `_emit_lagged`, is counted when it is recorded)."""
        return self.start_step if self._recorded_step is None else self._recorded_step

    @property
    def traceback(self) -> str | None:
        """The failed run's traceback as Python prints it (None unless it failed), formatted when read."""
        return "".join(self._exception.format()) if self._exception is not None else None

    @property
    def resume_state(self) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """(checkpoint state, changes applied) this runner continues from (`reopen`), until it starts."""
        return self._resume

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def hparams(self) -> dict[str, Any]:
        """The mid-run hyperparameters now in force."""
        resume = self._resume  # read once: the training thread drops it once its changes are applied
        if resume is not None:  # a run continuing from a checkpoint: in force there, with its changes
            state, applied = resume
            return {**hparams_in_force(self.cfg, state), **applied}
        if self.trainer is not None:
            return dict(self.trainer.hparams)
        return {k: getattr(self.cfg, k) for k in MUTABLE_FIELDS}

    # ------------------------------------------------------------------ set-up (before start)
    def add_sink(self, sink: Sink) -> Runner:
        """One more backend for the run's records, events, snapshots and final status (e.g. a
        `TensorBoardSink`); before `start`. Returns self."""
        if self._thread is not None:
            raise RunnerError(f"run {self.run_id}: sinks are added before it starts")
        self.sinks.append(sink)
        return self

    def watch_command_file(self) -> Runner:
        """Take Pause, Resume and Stop from the run folder's command file too (`gan_core.tracking.commands`):
        for a run trained outside the dashboard's server (``python -m gan_core train``), which a dashboard
        watches by tailing its folder. Polled between steps, at most every 0.2 s. Returns self."""
        if self._poller is None:
            self._poller = CommandPoller(self.run_dir.path)
        return self

    # ------------------------------------------------------------------ commands (any thread)
    def start(self, paused: bool = False) -> Runner:
        if self._thread is not None:
            raise RunnerError(f"run {self.run_id} was already started")
        self._status = "paused" if paused else "running"
        self._thread = threading.Thread(target=self._main, name=f"gan-run-{self.run_id}", daemon=True)
        self._thread.start()
        return self

    def pause(self) -> None:
        self._command("pause")

    def resume(self) -> None:
        self._command("resume")

    def step(self, mode: str = "full") -> None:
        """One step while paused: ``full`` (d_steps D updates + one G update), ``d`` or ``g`` alone."""
        if mode not in STEP_MODES:
            raise RunnerError(f"step mode {mode!r} is invalid: allowed {', '.join(STEP_MODES)}")
        if self.dist is not None:
            raise RunnerError(f"run {self.run_id} is a multi-process job: single steps are not offered")
        self._command("step", mode)

    def stop(self, reason: str | None = None) -> None:
        """Stop the run (a checkpoint, the files flushed): it ends ``stopped``, with ``reason`` as its
        error where one is given (the command line's "terminated (SIGTERM)": a scheduler's end told apart
        from a Stop, as the tracking API's runs say it)."""
        if reason is not None:
            self._stop_reason = reason
        self._command("stop")

    def run_to(self, step: int) -> None:
        """Train (resuming if paused) until generator step ``step``, then pause there."""
        if step <= self.current_step:
            raise RunnerError(
                f"run {self.run_id} is already at step {self.current_step}; run_to needs a later step"
            )
        self._command("run_to", int(step))

    def set_hparams(self, **changes: Any) -> None:
        """Queue mid-run changes; validated now (ConfigError / ValueError), applied before the next step."""
        bad = [k for k in changes if k not in MUTABLE_FIELDS]
        if bad:
            raise ValueError(
                f"{bad[0]!r} cannot change mid-run (start a new run): allowed {', '.join(MUTABLE_FIELDS)}"
            )
        self.cfg.replace(**{**self.hparams, **changes})  # raises ConfigError naming the bad field
        self._command("hparams", changes)

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the thread to end; True if it has."""
        if self._thread is not None:
            self._thread.join(timeout)
        return not self.alive

    def wait_until(self, predicate: Callable[[Runner], bool], timeout: float = 30.0) -> bool:
        """Block until ``predicate(self)`` holds, checked on every status change, event and snapshot,
        and on the first record.

        Not woken per step (that would cost the training thread the GIL): to wait for a step, use
        `run_to` and wait for the pause.
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate(self):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
        return True

    # ------------------------------------------------------------------ the models now (for the probe)
    def models_state(self, timeout: float = 10.0) -> dict[str, Any]:
        """A CPU copy of the weights now: ``{generator, discriminator, config, hparams, sample_shape,
        n_classes, class_names, step}``, the model part of a checkpoint, so that `gan_core.probe` reads a live
        run and a checkpoint alike.

        While the run is live the training thread takes the copy itself, between two steps (never half
        way through an update), and hands it back through an Event; once the run has ended the copy is
        taken here, as the thread trains no more. The copy shares no memory with the live weights.
        RunnerError if the run has no models (not started, or failed before building them) or the thread
        does not answer within ``timeout`` seconds.
        """
        if self._thread is None:
            raise RunnerError(f"run {self.run_id} has not been started: it has no models yet")
        handover: dict[str, Any] = {"done": threading.Event()}
        if self._status not in ENDED:
            with self._cond:
                self._commands.append(("models_state", handover))
                self._cond.notify_all()
            # Woken by the hand-over (it notifies) or by the run ending, which drops queued commands.
            self.wait_until(lambda r: handover["done"].is_set() or r.status in ENDED, timeout)
        if handover["done"].is_set():
            return handover["state"]
        if self._status in ENDED:
            if self.trainer is None:
                raise RunnerError(f"run {self.run_id} {self._status} before its models were built")
            return self._models_copy()
        raise RunnerError(
            f"run {self.run_id} did not hand over its weights within {timeout:g} s (a slow step?); try again"
        )

    def _models_copy(self) -> dict[str, Any]:
        def cpu_copy(module: torch.nn.Module) -> dict[str, torch.Tensor]:
            return {k: v.detach().to("cpu", copy=True) for k, v in module.state_dict().items()}

        trainer = self.trainer
        return {
            "generator": cpu_copy(trainer.G),
            "discriminator": cpu_copy(trainer.D),
            "config": self.cfg.to_dict(),
            "hparams": dict(trainer.hparams),  # as a checkpoint's: the probe reads the label smoothing
            "sample_shape": list(trainer.data.sample_shape),
            **trainer.class_state(),
            "step": trainer.step_count,
        }

    def _command(self, name: str, arg: Any = None) -> None:
        if self._thread is None:
            raise RunnerError(f"run {self.run_id} has not been started")
        if self._status in ENDED:  # (another tab's Stop, say): Resume continues it, or Start a new one
            raise RunnerError(
                f"run {self.run_id} is {self._status}: Resume continues it from its latest checkpoint, or "
                "Start trains a new run"
            )
        with self._cond:
            self._commands.append((name, arg))
            self._cond.notify_all()

    # ------------------------------------------------------------------ the training thread
    def _main(self) -> None:
        final = "stopped"
        try:
            trainer = Trainer(self.cfg, self._data, self.dist)
            if self._resume is not None:  # before it is seen: current_step never reads 0 on the way
                trainer.load_state_dict(self._resume[0])
            self.trainer = trainer
            self._data = None
            self.device = str(self.trainer.device)
            self._record_class_names()
            self.evaluator = Evaluator(
                self.cfg, self.trainer.data, self.trainer.fixed_noise, held_out=self.trainer.held_out
            )
            self.monitor.diversity_within_classes = self.evaluator.within_classes
            if self._resume is not None:
                self._restore(*self._resume)
                self._resume = None
                self._data_event()  # the folder read again: what it left out this time
            else:
                self.run_dir.open_metrics(CSV_COLUMNS, widen=True)
                self._event("status", self._status, status=self._status)
                self._data_event()
                self._write_status()
                self.real_view = self.trainer.real_view()
                self.run_dir.save_snapshot("real", self.real_view)
                self._snapshot()
            # what this start trains with (versions, device, CPU threads: `gan_core.environment`), at the
            # first step it trains, as a resume's other changes (the log in step order)
            start = self.current_step + 1 if self.current_step else 0
            self._event("environment", step=start, **environment(self.trainer.device))
            if self.dist is not None:
                self._event("job", **self.dist.status_fields())
            while True:
                if self._handle_commands():
                    break
                if self._status == "running":
                    if self.dist is not None and self.dist.agree(stop=False)[0]:
                        self._job_ended = True
                        self._flush()  # the last step's record first: the event is after it
                        self._event("rank_stop")
                        break
                    self._mid_step = True
                    pending = self.trainer.step_async()
                    self._mid_step = False
                    self._emit_lagged(pending)
                    if self._finished():
                        final = "finished"
                        break
            if self._finished():
                final = "finished"
        except Exception as exc:
            final = "failed"
            self.error = f"{type(exc).__name__}: {exc}"
            if isinstance(exc, DivergedError):  # the run ends at the diverged row, not the step after it
                self._pending = None
            if self.dist is not None:  # most often another rank's failure, seen here as a broken collective
                step = self.trainer.step_count + 1 if self.trainer is not None else 0
                broken = collective_failure(exc, self.dist.world_size, step)
                if broken is not None:
                    self.error = broken
                elif self._mid_step and isinstance(exc, RuntimeError):
                    self.error = (
                        f"step {step} of the {self.dist.world_size}-process job failed "
                        f"(another rank may have ended: its own output says why): {self.error}"
                    )
            # Captured here, formatted when read: formatting parses each line's source with ast.parse (to
            # place its carets), which must not run in this thread beside a page being compiled (see
            # `_read_pictures`: CPython gh-106905).
            self._exception = traceback.TracebackException.from_exception(exc)
        finally:
            self._shutdown(final)

    def _restore(self, state: dict[str, Any], changes: dict[str, Any]) -> None:
        """Continue from checkpoint ``state``: the folder is cut back to its step, and the store, events
        and snapshots are refilled from the folder, so the run reads as one history."""
        trainer = self.trainer  # its state is loaded already
        flags_state = state.get("flags", {})  # none in older checkpoints: starts afresh
        self.monitor.load_state_dict(flags_state)
        # the checkpoint's midpoint is that of the label smoothing it was saved under: the resume's may differ
        self.monitor.midpoint = trainer.step_loss().midpoint
        if self.evaluator.within_classes and flags_state.get("diversity_within_classes") is not True:
            # A conditional run checkpointed before its diversity was measured within each class: the
            # best it kept (~1.2 on digits, measured across the classes) is no reference for the new
            # measure, and would raise mode_collapse at the first evaluation of a healthy run.
            self.monitor.forget_best("diversity")
        step = trainer.step_count
        if "steps_seen" not in flags_state:  # older checkpoints: the warm-ups are over where it was
            self.monitor.steps_seen = step
        dropped = self.run_dir.rewind_to(step)
        frame = self.run_dir.read_metrics(RECORD_COLUMNS)
        if len(frame):
            self.store.extend(frame[list(RECORD_COLUMNS)].to_numpy(dtype=np.float64))
        pictures = self._resume_pictures  # read when the run was reopened (see `_read_pictures`)
        assert pictures is not None  # (`_reopen_claimed` sets both it and `_resume`)
        self._resume_pictures = None
        self.real_view = pictures.real
        if self.real_view is None:
            self.real_view = trainer.real_view()
            self.run_dir.save_snapshot("real", self.real_view)
        self._folder_sink.stride, self._memory_stride = pictures.stride, pictures.memory_stride
        self.snapshots = []
        for s, view in pictures.views:
            if isinstance(view, str):
                self._event("snapshot_unreadable", view, step=step, snapshot_step=s)
            else:
                self.snapshots.append((s, view))
        self.run_dir.open_metrics(CSV_COLUMNS, widen=True)
        replaced = f"; {dropped} row{'s' * (dropped != 1)} logged after it replaced" if dropped else ""
        self._event(
            "resume",
            f"from the checkpoint at step {step}{replaced}",
            step=step,
            from_step=step,
            replaced=dropped,
        )
        # The log so far, less the stretch the run goes back on (see `current_events`).
        with self._cond:
            self.events = current_events(self.run_dir.read_events().to_dict("records"))
        # the status at the checkpoint's step first, then what changes from the next step: the log in
        # step order
        self._event("status", self._status, status=self._status)
        trained_with, now_with = int(state.get("world_size", 1)), trainer.world_size
        if trained_with != now_with:
            self._event("world_size", step=step + 1, field="world_size", old=trained_with, new=now_with)
        trained_on, now_on = state.get("device"), trainer.device.type
        if isinstance(trained_on, str) and trained_on != now_on:
            # The random stream is device-specific (see `Trainer.load_state_dict`): it restarts from the seed.
            self._event(
                "device",
                f"device: {trained_on} -> {now_on}",
                step=step + 1,
                field="device",
                old=trained_on,
                new=now_on,
            )
        for field, (old, new) in trainer.set_hparams(**changes).items():
            self._event("hparam", f"{field}: {old} -> {new}", step=step + 1, field=field, old=old, new=new)
        self._write_status()
        if not self.snapshots or self.snapshots[-1][0] != step:
            self._snapshot()

    def _finished(self) -> bool:
        return self.trainer.finished

    def _handle_commands(self) -> bool:
        """Apply queued commands (and, for a run watched through its folder, those of its command file);
        block while paused. True when the run must end."""
        while True:
            self._poll_command_file()
            with self._cond:
                idle = not self._commands and self._status == "paused"
                if not self._commands and not idle:
                    return False
            self._flush()  # a command, or a pause: every trained step is recorded first
            if idle:
                tick = self._poller.interval if self._poller is not None else None
                if self.dist is not None:
                    tick = PAUSE_TICK_SECONDS
                with self._cond:
                    if not self._commands:
                        # a run watched through its folder wakes to look at its command file
                        self._cond.wait(tick)
                # a paused job's ranks meet a few times a second: none waits long in a collective, and
                # a signal to any of them is heard
                if self.dist is not None and self._status == "paused" and self.dist.agree(False, True)[0]:
                    self._job_ended = True
                    self._event("rank_stop")
                    return True
                continue
            with self._cond:
                name, arg = self._commands.popleft()
            if name == "stop":
                return True
            if name == "pause" and self._status == "running":
                self._pause()
            elif name == "resume" and self._status == "paused":
                self._set_status("running")
            elif name == "run_to":
                if arg <= self.trainer.step_count:  # trained already (the request saw the recorded step)
                    if self._status == "running":
                        self._pause()
                else:
                    self._pause_at = arg
                    if self._status == "paused":
                        self._set_status("running")
            elif name == "hparams":
                for field, (old, new) in self.trainer.set_hparams(**arg).items():
                    self._event(
                        "hparam",
                        f"{field}: {old} -> {new}",
                        step=self.trainer.step_count + 1,
                        field=field,
                        old=old,
                        new=new,
                    )
            elif name == "models_state":  # Runner.models_state: a copy between two steps
                arg["state"] = self._models_copy()
                with self._cond:
                    arg["done"].set()
                    self._cond.notify_all()
            elif name == "step" and self._status == "paused":
                self._single_step(arg)
                if self._finished():
                    return True

    def _poll_command_file(self) -> None:
        got = self._poller.poll() if self._poller is not None else None
        if self._poller is not None and self._poller.notes is not None:  # notes from another process
            request, self._poller.notes = self._poller.notes, None
            self._notes_answer = answer_notes(self.run_dir, request)
            self._write_status()  # the answer its sender waits for
        if got is None:
            return
        command, source = got
        self._flush()  # the command's event at the last step trained, recorded first
        self.file_commands.append((command, source, self.current_step))
        self._event("command", command=command, source=source)
        with self._cond:
            self._commands.append((command, None))

    def _single_step(self, mode: str) -> None:
        """One step while paused, and a snapshot and a checkpoint after it (`_checkpoint_paused`; both
        before its event: whoever waits for the event finds the picture and the checkpoint): the
        step-by-step exercise is to update D and see its verdict move, update G and see its points move,
        so each single step is shown, not only those at ``sample_every``."""
        self._mid_step = True  # (a failure inside its updates leaves weights no row has: no checkpoint)
        if mode == "d":
            metrics = self.trainer.d_step()
            self._mid_step = False
            detail = ", ".join(f"{k}={v:.4g}" for k, v in metrics.items())
            # A D-only update trains no G step: the snapshot replaces the one at this same step.
            self._snapshot()
            self._d_only_since_checkpoint = True  # D changed at the same step: its checkpoint is older
            self._checkpoint_paused()
            # the D-only update's own metrics, as fields: it trains no G step, so it has no metrics row
            self._event("step_d", detail, step=self.trainer.step_count, **metrics)
            return
        if mode == "full":
            values, unmeasured = self.trainer.step(), ()
        else:  # D is not updated: no D gradient to measure
            values, unmeasured = self.trainer.g_step(), ("d_grad_norm",)
        self._mid_step = False
        self._emit(values, unmeasured=unmeasured)
        self._snapshot_unless_current()
        self._checkpoint_paused()
        self._event(f"step_{mode}", "single step while paused")

    def _record_class_names(self) -> None:
        """A class-conditional run's class names into run.json (`RunMeta.class_names`) once its data is
        loaded, so that its sample grids' rows and the command line name the classes of a folder (its
        subfolders) when the run is read from disk, as while this process trains it."""
        names = tuple(self.trainer.class_state()["class_names"])
        if not names:
            return
        meta = self.run_dir.read_meta()
        if meta.format > 1 and meta.class_names != names:  # (a folder from before run.json: as it is)
            self.run_dir.write_meta(dataclasses.replace(meta, class_names=names))

    def _data_event(self) -> None:
        """A ``data`` event at the trainer's step (0, or the step a resume goes on from) when the data
        loaded for it left files of a folder out (`DataSource.left_out_fields`): kept with the run, so
        the Train view says it for as long as the run is viewed, and the command line's listing alike."""
        left_out = self.trainer.data.left_out_fields()
        if left_out:
            self._event("data", self.trainer.data.skipped_note(), step=self.trainer.step_count, **left_out)

    def _pause(self) -> None:
        """Pause between two steps (every trained step recorded: `_handle_commands` flushed first), with
        the networks' snapshot at that step first, so that a paused run shows where it stands, and their
        checkpoint (`_checkpoint_paused`)."""
        self._snapshot_unless_current()
        self._paused_checkpoint = None  # (an earlier pause's stays: a point the run went on from)
        self._checkpoint_paused()
        self._set_status("paused")

    def _checkpoint_paused(self) -> None:
        """A checkpoint of a paused run's networks as they stand (at a pause, after each single step): a
        paused run can be left for hours, and a server killed meanwhile (kill -9, a machine's restart)
        lost every step since the last ``checkpoint_every``, single steps included. Not at step 0 (no G
        step, as at the run's end), nor again at a step whose checkpoint is the newest unless a D-only
        step changed D there. One a pause: a single step's replaces the pause's (or the previous single
        step's), so that stepping never pushes the ``checkpoint_every`` ones a rewind goes back to out of
        the ``keep_checkpoints`` kept. The step's row is recorded first: a resume goes on from the newest
        checkpoint that metrics.csv reaches."""
        step = self.trainer.step_count
        if step == 0:
            return
        self._flush()
        kept = self.run_dir.checkpoints()
        if kept and kept[-1][0] == step and not self._d_only_since_checkpoint:
            return  # (``checkpoint_every``'s, or this pause's own, of these very weights)
        steps = {s for s, _ in kept}
        new = step not in steps  # (else the same file rewritten: a D-only step's)
        # (the pause's own, unless a checkpoint_every one a single step reached has pushed it out)
        replaced = self._paused_checkpoint if new and self._paused_checkpoint in steps else None
        # one more kept while the pause's previous one is still there: written first, then removed, so
        # that a crash in between leaves one of the two
        self._save_checkpoint(extra=replaced is not None)
        if replaced is not None:
            self.run_dir.remove_checkpoint(replaced)
        if new:  # (a ``checkpoint_every`` one a D-only step rewrote stays: it is no pause's own)
            self._paused_checkpoint = step

    def _snapshot_unless_current(self) -> None:
        """A snapshot at the trainer's step, unless the newest is of that step already: the networks
        change only with a step, and a D-only step (the one change at the same step) always snapshots."""
        if not self.snapshots or self.snapshots[-1][0] != self.trainer.step_count:
            self._snapshot()

    def _emit_lagged(self, pending: PendingRow) -> None:
        """Emit the previous step's record, whose scalars have reached the host while this step's kernels
        were queued, and keep this one for the next step (issue 15: records lag the training by one step,
        and the device never waits for the host). A step that is snapshotted, evaluated, checkpointed,
        paused at, or the last, is emitted at once: those read the networks as the record's step left
        them."""
        previous, self._pending = self._pending, pending
        if previous is not None:
            self._emit(previous.result())
        hp = self.trainer.hparams
        step = pending.step
        if (
            step == self.start_step + 1  # the first point on the charts after one step, not two
            or step % hp["sample_every"] == 0
            or step % hp["eval_every"] == 0
            or (hp["checkpoint_every"] and step % hp["checkpoint_every"] == 0)
            or step == self._pause_at
            or self._finished()
            or self._commands
        ):
            self._flush()

    def _flush(self) -> None:
        """Emit the step still waiting for its scalars, if any (a wait for the device on CUDA)."""
        pending, self._pending = self._pending, None
        if pending is not None:
            self._emit(pending.result())

    def _emit(self, record: dict[str, float], unmeasured: tuple[str, ...] = ()) -> None:
        """Hand one step's record to the flags, the evaluator and the sinks; ``unmeasured``: columns the
        step left blank (a G-only step measures no D gradient), which no flag reads as a divergence.
        The networks are those of the record's step (`_emit_lagged` sees to it) when it evaluates,
        snapshots or checkpoints."""
        step = int(record["step"])
        hp = self.trainer.hparams
        values = dict(record)
        # D's outputs are judged against the midpoint of the label smoothing the step trained under (t/2;
        # a memoised lookup): a mid-run change moves it from the step it applies to
        self.monitor.midpoint = self.trainer.loss.smoothed(record["label_smoothing"]).midpoint
        changes = self.monitor.update(values, unmeasured)
        if step % hp["eval_every"] == 0 and "diverged" not in self.monitor.active:
            self.evaluating = Evaluating(step, self.evaluator.trains_classifier, time.monotonic())
            try:
                self.last_eval = self.evaluator.evaluate(self.trainer.G, self.trainer.D)
            except Exception as exc:  # a failing measurement must not end the training it measures
                self.last_eval = {}
                self._event("eval_error", step=step, error=f"{type(exc).__name__}: {exc}")
            finally:
                self.evaluating = None
            for kind, fields in self.evaluator.take_events():  # the baselines (the charts' lines), once
                self._event(kind, **{"step": step, **fields})
            values.update({c: self.last_eval.get(c, math.nan) for c in EVAL_COLUMNS})
            changes += self.monitor.update_eval(self.last_eval)
        flags = sorted(self.monitor.active)
        for sink in self.sinks:
            sink.log_metrics(step, values, flags)
        self._recorded_step = step
        if len(self.store) == 1:  # wake whoever waits for the first point (once; not every step)
            with self._cond:
                self._cond.notify_all()
        for name, raised in changes:  # at the record's step (the trainer may be a step further)
            if raised:
                more = self.monitor.diverged_fields if name == "diverged" else {}
                meaning = FLAGS[name].explanation_for(self.trainer.loss)
                self._event("flag", f"{name}: {meaning}", step=step, flag=name, **more)
            else:
                self._event("flag_cleared", step=step, flag=name)
        if "diverged" in self.monitor.active:
            bad = self.monitor.diverged_fields.get("columns") or ["a value"]
            raise DivergedError(f"diverged at step {step}: {', '.join(bad)} not finite")
        if step % hp["sample_every"] == 0:
            self._snapshot()
        if hp["checkpoint_every"] and step % hp["checkpoint_every"] == 0:
            self._save_checkpoint()
        now = time.monotonic()
        if now - self._last_status_write >= STATUS_WRITE_SECONDS:
            self._write_status()
        if step == self._pause_at:
            self._pause_at = None
            if self._status == "running":
                self._pause()

    def _snapshot(self) -> None:
        """What G and D make of the fixed noise now, to every sink and into memory. A snapshot at the step
        of the newest (a D-only step trains no G step) replaces it: on disk the file of that step is
        written again, in memory the newest is swapped, so each step has one snapshot, the latest."""
        step = self.trainer.step_count
        view = self.trainer.snapshot()
        for sink in self.sinks:
            sink.log_snapshot(step, view)
        with self._cond:
            earlier = (
                self.snapshots[:-1] if self.snapshots and self.snapshots[-1][0] == step else self.snapshots
            )
            # bounded memory over the full time span: spread evenly, and the newest
            self.snapshots, self._memory_stride = thinned(
                [*earlier, (step, view)], self._snapshot_cap, self._memory_stride
            )
            self._cond.notify_all()

    def _save_checkpoint(self, extra: bool = False) -> None:
        """Checkpoint the networks, optimizers, flags and RNG at the trainer's step, the newest
        ``keep_checkpoints`` kept (one more with ``extra``: `_checkpoint_paused` removes one itself)."""
        self._d_only_since_checkpoint = False
        state = self.trainer.state_dict()
        state["flags"] = self.monitor.state_dict()  # so a resumed run raises flags as an unbroken one
        state["snapshot_stride"] = self._folder_sink.stride  # and thins its snapshots as an unbroken one
        self.run_dir.save_checkpoint(state, self.cfg.keep_checkpoints + extra)

    def _set_status(self, status: str) -> None:
        with self._cond:
            self._status = status
            self._cond.notify_all()
        self._event("status", status, status=status)
        self._write_status()

    def _event(self, kind: str, detail: str | None = None, step: int | None = None, **fields: Any) -> None:
        """Log an event to every sink: ``fields`` for programs (`schema.EVENT_FIELDS`), ``detail`` for
        people (default: made from the fields by `schema.event_detail`)."""
        step = self.current_step if step is None else step
        event = make_event(step, kind, event_detail(kind, fields) if detail is None else detail, fields)
        for sink in self.sinks:
            sink.log_event(event)
        with self._cond:
            self.events.append(event)
            self._cond.notify_all()

    def _write_status(self) -> None:
        self._last_status_write = time.monotonic()
        self.run_dir.write_status(
            {
                "status": self._status,
                "step": self.current_step,
                "steps": self.hparams["steps"],  # in force: a resume or a change may have moved it
                "error": self.error,
                "device": self.device,
                "torch": torch.__version__,
                "train_seconds": self.trainer.train_seconds if self.trainer else 0.0,
                "commands": self._poller is not None,  # Pause/Stop from another process reach it
                "notes_requests": self._poller is not None,  # and notes (`send_notes`), answered here:
                "notes_request": self._notes_answer,
                **job_fields(self.dist),
                "flags": sorted(self.monitor.active),
                "flags_raised": sorted(self.monitor.raised),
                **self._process,  # who trains it: a run another live process trains is not interrupted
            }
        )

    def _shutdown(self, final: str) -> None:
        """Whatever happened: checkpoint what was trained, flush files, record the final status, and give
        the folder's claim up, so that any process can resume the run.

        Each part is tried on its own: on a full disk the final checkpoint, the status event and even
        status.json may fail, and the run still ends here as ``failed`` with the first error (naming
        the file and the cause), its claim released; no exception leaves the thread."""
        if self.dist is not None and not (self._mid_step or self._job_ended or final == "finished"):
            # The other ranks wait at the next step boundary: tell them to end. (After the last step they
            # end by themselves; when this rank failed inside a step they are inside DDP's collectives
            # instead, and learn it when this process ends and its connections close.)
            with contextlib.suppress(Exception):  # they may be gone already
                self.dist.agree(stop=True)
            self._job_ended = True
        # a record found diverged (here, or in the loop: records are read a step late, so the weights are
        # a step past the diverged row's and no better)
        diverged = "diverged" in self.monitor.active
        unrecorded = False  # the last trained step's row could not be written: the weights are past the rows
        try:  # the last trained step whose record was still on its way: recorded like the others
            self._flush()
        except Exception as exc:  # its record diverged (or a sink failed): the run ends failed, with it
            diverged = diverged or isinstance(exc, DivergedError)
            unrecorded = True
            if final != "failed":
                final, self.error = "failed", f"{type(exc).__name__}: {exc}"
        trainer = self.trainer
        # A failure outside a step's updates (at a boundary, while paused: most often another rank of the
        # job ended, seen at the ranks' vote) or in a step before its first update left the networks as
        # the last row has them: they are checkpointed too, so the run resumes from there (not when that
        # row diverged: no checkpoint holds non-finite weights).
        # Nor when the last step's row was lost (a full disk, a file size limit): a checkpoint a step past
        # the rows would resume into a history missing that step (seen under load in CI, where the failing
        # write was the one still on its way at the end); the run resumes from its last checkpoint instead.
        sound = (
            trainer is not None
            and not unrecorded
            and (final != "failed" or (not diverged and not (self._mid_step and trainer.updated)))
        )
        try:
            if trainer is not None and trainer.step_count > 0 and sound:
                if final != "failed" and trainer.step_count % trainer.hparams["sample_every"]:
                    self._snapshot()
                self._save_checkpoint()
        except Exception as exc:  # a failing final checkpoint must not hide the run's status
            final, self.error = "failed", self.error or f"final checkpoint failed: {exc}"
        if trainer is not None:
            with contextlib.suppress(Exception):  # a streamed folder's workers end with the run
                trainer.data.close()
        try:
            self.run_dir.close()
        except OSError as exc:
            final, self.error = "failed", self.error or f"closing metrics.csv failed: {exc}"
        if final == "stopped" and self.error is None:
            self.error = self._stop_reason
        with self._cond:
            self._status = final
            self._commands.clear()
            self._cond.notify_all()
        for record in (
            lambda: self._event(
                "status",
                final if not self.error else f"{final}: {self.error}",
                status=final,
                error=self.error,
            ),
            self._write_status,
        ):
            # Already failed (a full disk): the error in memory is the one to keep.
            with contextlib.suppress(OSError, RunDirError):
                record()
        for sink in self.sinks:
            with contextlib.suppress(Exception):  # a backend that fails to close costs nothing recorded
                sink.finalize(final)
        self.run_dir.release()
        with self._cond:
            self._cond.notify_all()
