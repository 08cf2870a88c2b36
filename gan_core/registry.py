"""Every run the server knows: live runners it started and finished runs read back from disk.

The dashboard keeps one `RunRegistry` for the whole server (``st.cache_resource``), so a page refresh,
a page switch or a second tab sees the same live run; a browser session only remembers which run id it
watches. `RunRegistry.view` gives the same read interface (`RunView`) for a live run and for a run on
disk (opened read-only), so pages never care which it is.

`RunRegistry.resume` continues a stopped or interrupted run in its own folder; `RunRegistry.branch`
starts a new run from any kept checkpoint of another, which records its ``parent`` and ``parent_step``
and leaves the parent untouched. A run whose folder says running or paused, with no runner in this
server and no other live process training it (a server killed mid-run), is reported as ``interrupted``.

One bad folder never takes a listing down: `RunRegistry.summaries` lists a folder that cannot be read
as ``unreadable`` with its reason, `RunRegistry.view` refuses it with one `RunDirError`, and what is
wrong inside a readable one (a field of the wrong type, a text cell) is in `RunView.problems`.

A run trained by a multi-process job (``torchrun ... -m gan_core train``, a user's torchrun script through
`gan_core.track`) says so in its status.json (``world_size``, ``backend``, ``hosts``): `RunView.job` reads
it, and `RunView.throughput` turns the per-process ``samples_per_s`` into the job's.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import difflib
import io
import json
import math
import numbers
import os
import re
import shutil
import socket
import stat
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gan_core.config import MUTABLE_FIELDS, RECORDING_FIELDS, ConfigError, GANConfig
from gan_core.data import DataSource, dataset_classes
from gan_core.distributed import job_fields
from gan_core.environment import ENVIRONMENT_FIELDS, machine_cores
from gan_core.files import runs_folder_problem
from gan_core.flags import FLAGS, SEVERITIES
from gan_core.losses import GANLoss, get_loss
from gan_core.quoting import quoted
from gan_core.rundir import (
    CLAIM_WAIT_SECONDS,
    LOCK_NAME,
    MAX_STEPS,
    RUN_ID_RULE,
    NotesChangedError,
    RunBusyError,
    RunDir,
    RunDirError,
    RunLock,
    RunMeta,
    UnclaimedError,
    UnreadableRun,
    checked_status,
    current_events,
    holds_run,
    inside,
    lock_holder,
    notes_change,
    notes_line,
    os_reason,
    scan_runs,
    validate_run_id,
)
from gan_core.runner import ENDED, Evaluating, Runner, RunnerError, hparams_in_force
from gan_core.store import MetricStore
from gan_core.tracking.commands import send_command, send_notes
from gan_core.tracking.schema import (
    CSV_COLUMNS,
    D_METRICS,
    EVAL_COLUMNS,
    EXPORT_KEY_COLUMNS,
    TEXT_COLUMNS,
    custom_columns,
)
from gan_core.tracking.tail import EventsTail, MetricsTail
from gan_core.trainer import GRID_COLUMNS, MAX_GRID_CLASSES, RECORD_COLUMNS

DEFAULT_MAX_ACTIVE = 2
CONTROLS = ("pause", "resume", "stop", "step")
ACK_SECONDS = 5.0  # how long `RunView.control` waits for the run to act
# Ended runners kept in memory (their charts and snapshots at hand); older ones are dropped and read back
# from disk when viewed, so that starting and stopping runs for days does not grow the server's memory.
KEEP_ENDED_RUNNERS = 8
MISNAMED_SHOWN = 5  # folder names `RunRegistry.misnamed_note` quotes; beyond them, how many more
MISNAMED_CHARS = 40  # a name it quotes is cut to this many characters
KEEP_REQUESTS = 256  # start requests remembered, so that a repeated one starts nothing (`RunRegistry.start`)


def notes_elsewhere(run_dir: RunDir) -> str:
    """Where the notes of ``run_dir`` can be set while another process writes it and takes no notes
    requests (`send_notes`): one sentence for `RunRegistry.set_notes`' refusal, from the holder's command
    line (`lock_holder`): another dashboard's server, or any other (an older version's train or loop, a
    delete or a resume starting)."""
    held = lock_holder(run_dir.path) or {}
    if "streamlit" in str(held.get("command") or ""):
        return "The dashboard that trains it sets them: its Notes button, on the Runs page or the Train view."
    return "It takes no notes from here: set them there (run.notes = ... in a loop), or here once it ends."


class RegistryError(RuntimeError):
    """A request the registry refuses (too many active runs, deleting a live run, unknown run)."""


class NotesPendingError(RegistryError):
    """Notes sent to the process that writes a run (`RunRegistry.set_notes`) were not taken in time: it
    may still write them when it next looks."""


def _refuse_at_limit(active: list[Runner], limit: int) -> None:
    if len(active) >= limit:
        names = ", ".join(r.run_id + (" (paused)" if r.status == "paused" else "") for r in active)
        raise RunLimitError(
            f"{len(active)} runs are already training ({names}); the limit is {limit}: stop one first (its "
            "Train view's Stop), or raise GAN_DASHBOARD_MAX_RUNS",
            [r.run_id for r in active],
        )


class RunLimitError(RegistryError):
    """A start refused at the run limit; ``runs``: the ids of the runs training or paused, one of which
    to stop (`RunRegistry.check_room`)."""

    def __init__(self, message: str, runs: list[str]):
        super().__init__(message)
        self.runs = runs


@dataclass(frozen=True)
class Job:
    """The processes that train a run, or trained it last: ``world_size`` of them talking over ``backend``
    (``gloo``, ``nccl``; None for one process) on ``hosts`` (the distinct host names, in rank order; empty
    when the run does not say). Each process trains ``batch_size`` samples a step."""

    world_size: int = 1
    backend: str | None = None
    hosts: tuple[str, ...] = ()

    @property
    def distributed(self) -> bool:
        """True for a job of more than one process."""
        return self.world_size > 1


JOB_FIELDS = ("world_size", "backend", "hosts")


def read_job(status: dict[str, Any]) -> tuple[Job, list[str]]:
    """The `Job` a status.json (its fields as read) records, and one line per job field that is not of the
    right type (`rundir.checked_status`, which leaves it out: one process, no backend, no hosts). A run
    written before multi-process jobs has none of the fields: one process."""
    checked, problems = checked_status({k: status[k] for k in JOB_FIELDS if k in status})
    job = Job(
        checked.get("world_size", 1),
        checked.get("backend"),
        tuple(checked.get("hosts", ())),
    )
    return job, problems


# Settings a run's rows record (`schema.HPARAM_COLUMNS`) that a user's own run shows in Compare from its
# last row: the tracking API reads them from the optimizers it is given; d_steps is D's updates a step.
SETTINGS_FROM_ROWS = ("lr_g", "lr_d", "beta1", "beta2", "d_steps")
ABSENT = "—"  # a setting one compared run has and another has not (`settings_tables`)
# What a user's own run's status.json records of the counts given to `gan_core.track.init` (the built-in
# config's fields of those names): shown in Compare (`RunView.settings`) where it records them.
TRACKED_COUNTS = ("steps", "sample_every", "eval_every", "seed")


def _same_setting(recorded: Any, given: Any) -> bool:
    """True when a config value says what the run recorded: equal numbers (2e-4 and 0.0002, 64 and 64.0)
    or equal values; True is not the count 1."""
    return isinstance(recorded, bool) == isinstance(given, bool) and recorded == given


def banner_order(names) -> list[str]:
    """Flag names in the order their banners are drawn: ``diverged`` (the run's end) first, then the other
    failures, what to watch, the healthy signature (`FLAGS`' severities), each kind in `FLAGS`' order;
    names this version does not know last, as given. (A run that diverged had ``diverged`` between
    ``d_overpowers`` and ``vanishing_gradients``, alphabetically.)"""
    known = list(FLAGS)

    def rank(name: str) -> tuple[int, int]:
        info = FLAGS.get(name)
        if info is None:
            return (len(SEVERITIES) + 1, 0)
        return (0 if name == "diverged" else 1 + SEVERITIES.index(info.severity), known.index(name))

    return sorted(dict.fromkeys(names), key=rank)


def conditioning_words(meta: RunMeta, cfg: GANConfig | None, n_classes: int | None = None) -> str:
    """A class-conditional run, in words, the same wherever a run is described (the Train view's status
    line, Compare's settings, ``python -m gan_core runs``): "acgan-conditional, 10 classes" for a built-in
    run (its conditioning), "conditional, 10 classes" for a user's own loop (`gan_core.track`'s
    ``n_classes``); "" for an unconditional run. ``n_classes``: the classes where known otherwise (a live
    trainer's data); else run.json's (its ``n_classes``, else its ``class_names``), else those the config's
    dataset always has (`data.dataset_classes`); a count nothing records (a folder's from before run.json
    named its classes, from disk) is left out."""
    conditional = cfg is not None and cfg.is_conditional
    if not (conditional or meta.n_classes):
        return ""
    if not n_classes:
        names = (meta.class_names or dataset_classes(cfg.dataset)) if conditional else None
        n_classes = meta.n_classes or (len(names) if names else 0)
    words = f"{cfg.conditioning}-conditional" if conditional else "conditional"
    return f"{words}, {n_classes} classes" if n_classes else words


@dataclass(frozen=True)
class GridLabels:
    """What a sample grid's rows are (`RunView.grid_labels`)."""

    rows: list[str]  # one label per row of tiles, its class; [] where no row is one class or none is known
    conditional: bool  # G was asked for classes
    in_order: bool  # a row per class, class 0 at the top (`trainer.class_grid`)

    def title(self, step: int) -> str:
        """The Train view's title of the grid at ``step``: it claims of the rows only what they are."""
        if not self.conditional:
            return f"G(z), fixed noise, step {step}"
        if self.in_order:
            return f"G(z, class): a row per class, class 0 at the top, step {step}"
        if self.rows:
            return f"G(z, class): each row's class at its left, step {step}"
        return f"G(z, class): the classes asked for, step {step}"


def _share_record(fields: Any, step: float) -> dict[str, Any] | None:
    """A ``class_shares`` event's fields as `RunView.class_shares` gives them, or None where they do not
    hold one value per name (text from a file: nothing in it is trusted)."""
    if not isinstance(fields, dict) or not isinstance(fields.get("names"), list):
        return None

    def numbers(values: Any) -> list[float] | None:
        if not isinstance(values, list):
            return None
        return [
            float(v) if isinstance(v, int | float) and not isinstance(v, bool) else math.nan for v in values
        ]

    names = [str(name) for name in fields["names"]]
    share, real = numbers(fields.get("share")), numbers(fields.get("real_share"))
    if share is None or real is None or len(share) != len(names) or len(real) != len(names):
        return None
    per = fields.get("per")
    nearest = numbers(fields.get("nearest"))
    return {
        "step": int(step),
        "per": per if per in ("class", "mode") else "class",
        "names": names,
        "share": share,
        "real_share": real,
        "fidelity": numbers(fields.get("fidelity")),
        # (modes: the share nearest each, however far; None where absent or not one per name)
        "nearest": nearest if nearest is not None and len(nearest) == len(names) else None,
    }


@dataclass
class RunView:
    """What a page reads of one run, live or on disk."""

    run_id: str
    cfg: GANConfig | None  # None: a run the product does not train (`meta` says what it is)
    run_dir: RunDir
    store: MetricStore
    runner: Runner | None = None  # None: read-only run from disk
    _disk_status: dict | None = None
    _snapshot_paths: dict[int, Path] | None = None
    _events: list[dict[str, Any]] | None = None
    # What its files had wrong (a field of the wrong type, a text cell, ...), one line each naming the
    # file and the field: the run is shown without it, and a page shows these beside it.
    problems: list[str] = field(default_factory=list)
    meta: RunMeta | None = None  # None: from ``cfg`` (`RunMeta.for_config`)

    def __post_init__(self) -> None:
        if self.meta is None:
            if self.cfg is None:
                raise ValueError("a RunView needs a config or a RunMeta")
            self.meta = RunMeta.for_config(self.cfg)

    @property
    def live(self) -> bool:
        """True while this server trains the run (its runner is here)."""
        return self.runner is not None

    @property
    def grid_classes(self) -> list[str]:
        """The classes of a class-conditional run's sample grid, row r being class r (the first
        `MAX_GRID_CLASSES`): their names where this server trains the run (its data's: a folder's
        subfolders, fashion-mnist's garments); for a built-in run read from disk those run.json names
        (`RunMeta.class_names`, written once its data loaded), else those its config's dataset always has
        (`data.dataset_classes`: digits, mnist, fashion-mnist, cifar10); else their indices; for the rows'
        labels (`grid_labels`). [] for an unconditional run, and for a run on a folder from before run.json
        named its classes (the grid's own labels number them)."""
        trainer = self.runner.trainer if self.runner is not None else None
        if trainer is not None:
            n_classes, names = trainer.n_classes, list(trainer.data.class_names)
        elif self.cfg is not None and self.cfg.is_conditional:  # run.json's names, else its dataset's
            names = list(self.meta.class_names or dataset_classes(self.cfg.dataset) or ())
            n_classes = len(names)
        else:
            n_classes, names = self.meta.n_classes, []
        return [names[c] if c < len(names) else str(c) for c in range(min(n_classes, MAX_GRID_CLASSES))]

    @property
    def conditioning(self) -> str:
        """The run's conditioning and classes in words (`conditioning_words`); "" for an unconditional run."""
        trainer = self.runner.trainer if self.runner is not None else None
        return conditioning_words(self.meta, self.cfg, trainer.n_classes if trainer is not None else None)

    def grid_labels(self, snapshot: dict[str, np.ndarray]) -> GridLabels:
        """What an image snapshot's rows are (``snapshot``: `snapshot`'s view, with ``"grid"``): from the
        classes saved with it (``"labels"``, ``"columns"``: `trainer.snapshot_view`), each row labelled
        with its class (`charts.class_label`, named as `grid_classes` names it) where every image of the row
        is of one class, else none. A snapshot from before grids kept their classes: this run's class grid
        (`trainer.class_grid`: row r class r) where the picture has its rows, `GRID_COLUMNS` square tiles
        a row and `grid_classes` rows of them, else none."""
        from gan_core.charts import class_label  # plotly: imported by the pages that draw, not by the CLI

        names = self.grid_classes
        conditional = bool(self.meta.n_classes or names or (self.cfg is not None and self.cfg.is_conditional))
        if "labels" in snapshot and "columns" in snapshot:
            labels = [int(c) for c in np.asarray(snapshot["labels"]).ravel()]
            across = max(1, int(snapshot["columns"]))
            rows = [labels[i : i + across] for i in range(0, len(labels), across)]
            if rows and all(len(set(row)) == 1 for row in rows):
                classes = [row[0] for row in rows]
                in_order = classes == list(range(len(classes)))
                return GridLabels([class_label(c, names) for c in classes], True, in_order)
            return GridLabels([], True, False)
        height, width = np.asarray(snapshot["grid"]).shape[:2]
        tile, spare = divmod(width - 1, GRID_COLUMNS)  # a tile and its 1 px of padding (`image_grid`)
        if names and not spare and height - 1 == len(names) * tile:
            return GridLabels([class_label(c, names) for c in range(len(names))], True, True)
        return GridLabels([], conditional, False)

    @property
    def owned(self) -> bool:
        """True when the product trains this run itself: Resume, branch, single steps and Apply apply."""
        return self.cfg is not None and self.meta.owned

    @property
    def external(self) -> bool:
        """True while another process writes this run (a terminal's ``python -m gan_core train``, a
        user's loop through `gan_core.track`): watched live by tailing its folder; Pause and Stop reach it
        through its command file (`send_command`). ``idle`` too: its writer holds the folder but has not
        taken a step yet (loading data; a view opened then went on showing it read-only at step 0)."""
        return self.runner is None and self.status in ("running", "paused", "idle")

    @property
    def controllable(self) -> bool:
        """True when Pause, Resume and Stop can reach the run: trained by this server, or written by a
        process that reads its command file (status.json ``commands``: the CLI, `gan_core.track`,
        Lightning; not a run another dashboard server trains)."""
        if self.runner is not None:
            return True
        return self.external and bool((self._disk_status or {}).get("commands"))

    @property
    def notes_writable(self) -> bool:
        """Whether notes can be saved for the run now (`RunRegistry.set_notes`): one nobody writes, one
        this server trains, or one another process writes that takes notes requests (status.json
        ``notes_requests``: a terminal's train, a loop through `gan_core.track`, another dashboard's run);
        not an older version's writer."""
        return not self.external or bool((self._disk_status or {}).get("notes_requests"))

    @property
    def trained_by(self) -> str | None:
        """Who writes a run another process trains (`external`), in words: "process 4242 on node-a" from
        the claim its writer holds (`RunDir.holder`), else "process 4242" from status.json, else "another
        process"; None for a run this server trains or one nobody writes. The host comes from a file:
        a page shows this as text."""
        if not self.external:
            return None
        held = self.run_dir.holder() or {}
        pid = held.get("pid")
        if not isinstance(pid, int) or isinstance(pid, bool):
            held, pid = {}, (self._disk_status or {}).get("pid")
        if not isinstance(pid, int) or isinstance(pid, bool):
            return "another process"
        host = held.get("host")
        return f"process {pid}" + (f" on {host}" if isinstance(host, str) and host else "")

    @property
    def cores_contended(self) -> str | None:
        """A line for a run another process trains now (running) on this machine's CPU with torch on at
        least as many threads as the cores this process may use (`external`; its writer's claim names this
        host; its newest ``environment`` event says device ``cpu`` and ``torch_threads``): watching it
        here takes cores its steps wait for (every op of torch's waits for all its threads, so one thread
        put off a core holds up the step), with the measured cost and how to leave the dashboard a core
        (``OMP_NUM_THREADS``). None otherwise, and on a machine of one core (no core to leave)."""
        if not self.external or self.status != "running":  # (paused or loading: no step waits)
            return None
        environment = self.environment or {}
        threads = environment.get("torch_threads")
        if environment.get("device") != "cpu" or not isinstance(threads, int) or isinstance(threads, bool):
            return None
        cores = machine_cores()
        if cores < 2 or threads < cores or (self.run_dir.holder() or {}).get("host") != socket.gethostname():
            return None
        return (
            f"This run trains on this machine's CPU with torch on {threads} threads, all of its {cores} "
            "cores: while this page watches it, the dashboard and the browser take cores its steps wait for "
            "(examples/own_dcgan.py on 2 cores: 0.58 of its speed unwatched; 0.89 started with "
            f"`OMP_NUM_THREADS=1`). Start the run with `OMP_NUM_THREADS={cores - 1}` to leave the dashboard "
            "a core, or close this page while it trains."
        )

    @property
    def label_smoothing(self) -> float:
        """The label smoothing in force at the run's last recorded row: the last finite value of its
        metrics' ``label_smoothing`` column (a run of one's own loop records the one given to
        `tracking.init`), 0.0 when it has none (an empty run, an older tracked run's blank column) or when
        the value is outside [0, 1) (a damaged file: the unsmoothed loss is shown)."""
        latest = (self.store.latest() or {}).get("label_smoothing", math.nan)
        if not math.isfinite(latest) and "label_smoothing" in self.store.columns and len(self.store):
            # the last row left it blank: the last point of the store's summary that holds a value
            values = self.store.view_columns(columns=["label_smoothing"])["label_smoothing"]
            finite = values[np.isfinite(values)]
            latest = float(finite[-1]) if finite.size else math.nan
        return latest if math.isfinite(latest) and 0.0 <= latest < 1.0 else 0.0

    @property
    def loss(self) -> GANLoss | None:
        """The run's objective (its accuracy threshold, midpoint, critic or not) under the label smoothing
        in force at its last row (`label_smoothing`; `GANLoss.smoothed`: midpoint and threshold at t/2,
        its equilibrium D loss), or None when unknown."""
        if not self.meta.loss:
            return None
        return get_loss(self.meta.loss).smoothed(self.label_smoothing)

    @property
    def midpoint(self) -> float | None:
        """D's output at "cannot tell" (`GANLoss.midpoint` of `loss`: 0.5, t/2 under label smoothing with
        real target t); None for a critic or an unknown loss."""
        loss = self.loss
        return loss.midpoint if loss is not None else None

    @property
    def threshold(self) -> float | None:
        """D's fixed verdict threshold on its raw scores (`GANLoss.threshold` of `loss`, which follows the
        label smoothing: a score above it is called real); None for a critic or an unknown loss."""
        loss = self.loss
        return loss.threshold if loss is not None else None

    @property
    def dataset(self) -> str:
        return self.meta.dataset

    @property
    def data_kind(self) -> str:
        return self.meta.data_kind

    @property
    def custom_columns(self) -> tuple[str, ...]:
        """The run's own metric columns beyond the schema's (logged through `gan_core.track`)."""
        return custom_columns(self.store.columns)

    @property
    def status(self) -> str:
        if self.runner is not None:
            return self.runner.status
        status = self._disk_status or {}
        return disk_status(status, self.run_dir.in_use(status))  # probed each time: a writer may die

    @property
    def parent(self) -> str | None:
        """The run this one was branched from, or None."""
        if self.runner is not None:
            return self.runner.lineage.get("parent")
        return (self._disk_status or {}).get("parent")

    @property
    def parent_step(self) -> int | None:
        """The parent's step this run was branched at, or None."""
        if self.runner is not None:
            return self.runner.lineage.get("parent_step")
        return (self._disk_status or {}).get("parent_step")

    @property
    def eval_every(self) -> int | None:
        """The steps between two quality evaluations in force now: a run the product trains, its
        hyperparameters' (a mid-run change moves it); a user's own loop, the ``eval_every`` it gave
        `gan_core.track.init` (status.json); None where it is not recorded (a run written before it was)
        or is no whole number above 0."""
        every = self.hparams.get("eval_every") if self.owned else (self._disk_status or {}).get("eval_every")
        return every if isinstance(every, int) and not isinstance(every, bool) and every > 0 else None

    def settings(self) -> dict[str, Any]:
        """The run's settings in force now, as Compare lines runs up (`run_settings`): a run the product
        trains, its config with the mid-run changes in force (`hparams`); a user's own run, what it
        recorded it trained with (its last row, status.json), then its free-form hyperparameters."""
        return run_settings(
            self.meta,
            self.cfg if self.owned else None,
            self.hparams if self.owned else {},
            {} if self.owned else self.run_dir.last_metrics(),
            self._disk_status or {},  # checked (`checked_status`): a count here is a whole number
            self.conditioning,
        )

    def checkpoint_steps(self) -> list[int]:
        """Steps of the checkpoints kept on disk (what `RunRegistry.branch` can start from)."""
        return [step for step, _ in self.run_dir.checkpoints()]

    def hparams_at(self, step: int) -> dict[str, Any]:
        """The mid-run hyperparameters in force at the kept checkpoint of ``step``: what a branch from it
        trains with unless it changes them. `RunDirError` if that checkpoint cannot be read or holds
        values the config refuses."""
        if self.cfg is None:
            raise RunDirError(f"run {self.run_id!r} was trained outside the dashboard: it has no checkpoints")
        _, checkpoint = self.run_dir.checkpoint_at(step)
        state = self.run_dir.load_checkpoint(checkpoint)
        values = hparams_in_force(self.cfg, state)
        try:
            checked = self.cfg.replace(**values)
        except (ConfigError, TypeError) as exc:
            raise RunDirError(f"checkpoint {checkpoint.name} of run {self.run_id!r}: {exc}") from None
        return {k: getattr(checked, k) for k in MUTABLE_FIELDS}

    @property
    def error(self) -> str | None:
        return self.runner.error if self.runner is not None else (self._disk_status or {}).get("error")

    @property
    def device(self) -> str | None:
        return self.runner.device if self.runner is not None else (self._disk_status or {}).get("device")

    @property
    def job(self) -> Job:
        """The processes that train the run (its runner here: one process on this host) or, for a run on
        disk, that trained it last as its status.json says (`read_job`: one process when it does not)."""
        if self.runner is not None:
            fields = job_fields(self.runner.dist)
            return Job(fields["world_size"], fields["backend"], tuple(fields["hosts"]))
        return read_job(self._disk_status or {})[0]

    @property
    def world_size(self) -> int:
        """How many processes train the run (`job`): 1 unless a multi-process job writes it."""
        return self.job.world_size

    @property
    def throughput(self) -> tuple[float, float] | None:
        """(per process, in all): real samples D saw per second in the latest row. metrics.csv's
        ``samples_per_s`` is per process (the ranks' average), so the job's is that times `world_size`.
        None before the first row or when the row has no number there (a loop that does not say)."""
        latest = self.store.latest() or {}
        per_process = latest.get("samples_per_s")
        if not isinstance(per_process, int | float) or not math.isfinite(per_process):
            return None
        return float(per_process), float(per_process) * self.world_size

    @property
    def current_step(self) -> int:
        if self.runner is not None:
            return self.runner.current_step
        return int(self.store.last_step or 0)

    @property
    def flags(self) -> list[str]:
        """Flags up now (live) or when the run last wrote its status (on disk), in `banner_order`."""
        if self.runner is not None:
            return banner_order(self.runner.monitor.active)
        return banner_order((self._disk_status or {}).get("flags") or [])

    @property
    def flags_raised(self) -> list[str]:
        """Every flag raised during the run, cleared since or not (live, or as the run last wrote its status),
        in `banner_order`: the Runs page's "flags raised"."""
        if self.runner is not None:
            return banner_order(self.runner.monitor.raised)
        return banner_order((self._disk_status or {}).get("flags_raised") or [])

    @property
    def target_steps(self) -> int | None:
        """The steps the run trains to in force now (0: until stopped): a run the product trains, its
        hyperparameters' (a resume or an applied change moves it); a user's own loop, the ``steps`` it gave
        `gan_core.track.init`; None where that is not recorded."""
        if self.runner is not None:
            steps = self.runner.hparams.get("steps")
        else:
            steps = (self._disk_status or {}).get("steps", self.cfg.steps if self.cfg is not None else None)
        return steps if isinstance(steps, int) and not isinstance(steps, bool) and steps >= 0 else None

    @property
    def warnings(self) -> list[dict[str, Any]]:
        """What the tracking API found wrong in the calls of the loop that records this run (``warning``
        events: logits that look like probabilities, a d_loss with a penalty in it, calls after the last
        g_step, ...), the newest of each ``check``, oldest first: each one ``{"step", "check", "detail"}``,
        the detail as the event holds it (text from a file: shown as text). A check whose newest event
        withdraws it (its ``withdrawn`` field: the step it was said at, `gan_core.tracking.checks`) is
        not among them."""
        newest: dict[str, dict[str, Any]] = {}
        for event in self.events:
            if event.get("kind") != "warning":
                continue
            fields = event.get("fields") if isinstance(event.get("fields"), dict) else {}
            check = str(fields.get("check") or "")
            newest.pop(check, None)  # a check said again goes to its new place
            if fields.get("withdrawn") is not None:
                continue
            newest[check] = {
                "step": event.get("step"),
                "check": check,
                "detail": str(event.get("detail") or ""),
            }
        return list(newest.values())

    @property
    def environment(self) -> dict[str, Any] | None:
        """What the run's newest start trained with (its newest ``environment`` event's fields,
        `gan_core.environment`: versions, device, CPU threads), {field: value} in `ENVIRONMENT_FIELDS`'
        order with the fields it has; None for a run recorded before these events existed."""
        found = None
        for event in self.events:
            fields = event.get("fields")
            if event.get("kind") == "environment" and isinstance(fields, dict):
                found = fields
        if found is None:
            return None
        return {name: found[name] for name in ENVIRONMENT_FIELDS if name in found}

    def class_shares(self, step: float | None = None) -> dict[str, Any] | None:
        """Which classes or modes G's samples fell in at the newest evaluation at or before ``step`` (None:
        the newest of all), from its ``class_shares`` event (`evaluation.share_fields`): ``{"step", "per",
        "names", "share", "real_share", "fidelity", "nearest"}``, the lists as floats (NaN for a value not
        a number), ``fidelity`` None for an unconditional run, ``nearest`` None but for modes; None before
        the first such evaluation (and for a run recorded before these events existed). An event whose
        lists do not match its ``names`` (an edited events.csv) is passed over for the one before it."""
        found = None
        for event in self.events:
            at = event.get("step")
            number = isinstance(at, numbers.Real) and not isinstance(at, bool) and math.isfinite(at)
            if event.get("kind") != "class_shares" or not number:
                continue
            if step is not None and at > step:
                continue
            found = _share_record(event.get("fields"), at) or found  # (events.csv's order is time's)
        return found

    def notes_read(self) -> tuple[str, str | None]:
        """(the run's notes, ``""`` for none; why they cannot be read, or None): read from its folder when
        asked (`RunDir.read_notes`), so notes written since this view was made are seen."""
        try:
            return self.run_dir.read_notes(), None
        except RunDirError as exc:
            return "", str(exc)

    @property
    def notes(self) -> str:
        """The run's notes, ``""`` when it has none or they cannot be read (`notes_read` says why)."""
        return self.notes_read()[0]

    @property
    def events(self) -> list[dict[str, Any]]:
        if self.runner is not None:
            return list(self.runner.events)
        return self._events or []

    @property
    def single_steps(self) -> dict[str, Any] | None:
        """The single steps taken since the run was last paused (the Train view's Step, D step, G step):
        ``{"d": n, "g": n, "full": n, "last_d": {D_METRICS column: value}, "newest": mode}``, with
        ``last_d`` the newest D-only update's metrics (it writes no metrics row: a D-only update is no
        generator step) or None, and ``newest`` the newest single step's mode ("d", "g" or "full": a G-only
        or full step's values are the metrics row it wrote); None while the run is not paused, or before
        its first single step."""
        if self.status != "paused":
            return None
        found: dict[str, Any] = {"d": 0, "g": 0, "full": 0, "last_d": None, "newest": None}
        for event in reversed(self.events):  # newest first, back to the pause
            kind = event.get("kind")
            if kind == "status":
                break
            if kind in ("step_d", "step_g", "step_full"):
                mode = kind.removeprefix("step_")
                found[mode] += 1
                found["newest"] = found["newest"] or mode
                if mode == "d" and found["last_d"] is None:
                    fields = event.get("fields") or {}
                    found["last_d"] = {
                        k: float(fields[k]) for k in D_METRICS if isinstance(fields.get(k), int | float)
                    }
        return found if found["d"] + found["g"] + found["full"] else None

    @property
    def hparams(self) -> dict[str, Any]:
        if self.runner is not None:
            return self.runner.hparams
        if self.cfg is None:  # the user's own, free-form, and the target in status.json
            status = self._disk_status or {}
            return {**self.meta.hparams, "steps": int(status.get("steps") or 0)}
        latest = self.store.latest() or {}
        values = {k: getattr(self.cfg, k) for k in MUTABLE_FIELDS}
        # Fields without a metrics column (steps, sample_every, ...) from their hparam events, in order;
        # a value the config would refuse (a hand-edited events.csv) is skipped, not passed on.
        for event in self.events:
            fields = event.get("fields") or {}
            name = fields.get("field")
            # (a name that is no text, a hand-edited list or object, is no setting: not hashable either)
            if event.get("kind") == "hparam" and isinstance(name, str) and name in values and "new" in fields:
                try:
                    value = type(values[name])(fields["new"])
                    self.cfg.replace(**{name: value})
                except (TypeError, ValueError, OverflowError):  # ConfigError is a ValueError
                    continue
                values[name] = value
        # The metrics columns of the last row; a value the config would refuse (inf, out of range: a
        # hand-edited metrics.csv) is skipped alike.
        for k in values:
            if k in latest and latest[k] == latest[k]:
                try:
                    value = type(values[k])(latest[k])
                    self.cfg.replace(**{k: value})
                except (ValueError, OverflowError):
                    continue
                values[k] = value
        return values

    def snapshot_steps(self) -> list[int]:
        if self.runner is not None:
            return [step for step, _ in list(self.runner.snapshots)]
        return sorted(self._snapshot_paths or {})

    def nearest_snapshot_step(self, step: float) -> int | None:
        """The saved snapshot step closest to ``step`` (the earlier on a tie), or None if there is none."""
        steps = self.snapshot_steps()
        return min(steps, key=lambda s: (abs(s - step), s)) if steps else None

    def snapshot(self, step: int | None = None) -> tuple[int, dict[str, np.ndarray]] | None:
        """The snapshot at the latest saved step <= ``step`` (the newest when None); `RunDirError` naming
        the file if that one cannot be read."""
        if self.runner is not None:
            snaps = list(self.runner.snapshots)
            chosen = [s for s in snaps if step is None or s[0] <= step] or snaps[:1]
            return chosen[-1] if chosen else None
        steps = self.snapshot_steps()
        if not steps:
            return None
        eligible = [s for s in steps if step is None or s <= step] or steps[:1]
        chosen_step = eligible[-1]
        return chosen_step, self.run_dir.load_snapshot(self._snapshot_paths[chosen_step])

    def real_view(self) -> dict[str, np.ndarray] | None:
        if self.runner is not None and self.runner.real_view is not None:
            return self.runner.real_view
        try:
            return self.run_dir.load_snapshot("real")
        except RunDirError:
            return None

    # ------------------------------------------------------------------ controls
    @property
    def ended(self) -> bool:
        """True once the run trains no more: finished, stopped, failed, or interrupted (its writer died)."""
        return self.status in (*ENDED, "interrupted")

    @property
    def unwatched(self) -> bool:
        """True for a run of the user's own loop (`gan_core.track`, Lightning) that ended without a
        snapshot: no G was watched (`TrackedRun.watch`; the Lightning callback's ``fixed_noise``), so it
        has no pictures and no quality metrics (a watched G gets one at the end, whatever the step)."""
        return not self.owned and self.ended and not self.snapshot_steps()

    @property
    def evaluating(self) -> Evaluating | None:
        """The evaluation this server's runner is making now (`Runner.evaluating`), or None: none under
        way, or a run this server does not train."""
        return self.runner.evaluating if self.runner is not None else None

    def control(self, action: str, *args: Any, timeout: float = ACK_SECONDS) -> bool:
        """``pause``, ``resume``, ``stop`` or ``step`` (mode ``full``, ``d`` or ``g``) the run, then wait up
        to ``timeout`` seconds until it has acted, so that a page redrawn next shows the new state. True
        when it acted in time, False while it is still pending (a slow step).

        A run this server trains gets the command through its runner; a run another process writes (a
        terminal's ``python -m gan_core train``, a user's loop) through its folder's command file
        (`send_command`: pause, resume and stop only), its status.json polled for the answer. `RunnerError`
        for a command that does not fit the run (stepping a run trained elsewhere, stopping an ended one),
        `ValueError` for an unknown one, `RunDirError` when the command file cannot be written."""
        if action not in CONTROLS:
            raise ValueError(f"action {action!r} is unknown: allowed {', '.join(CONTROLS)}")
        runner = self.runner
        if runner is not None:
            events_before = len(runner.events)
            done = {
                "pause": lambda r: r.status != "running",
                "resume": lambda r: r.status != "paused",
                "stop": lambda r: r.status in ENDED,
                "step": lambda r: len(r.events) > events_before or r.status in ENDED,
            }[action]
            getattr(runner, action)(*args)
            return runner.wait_until(done, timeout=timeout)
        if action == "step" or not self.external:
            if action == "step":
                raise RunnerError(
                    f"run {self.run_id} is not trained by this server: single steps are for runs it trains"
                )
            raise RunnerError(f"run {self.run_id} is {self.status}: {action} is only for a run that trains")
        send_command(self.run_dir, action, source="dashboard")
        wanted = {"pause": ("paused",), "resume": ("running",), "stop": (*ENDED, "interrupted")}[action]
        deadline = time.monotonic() + timeout
        while True:
            status = self.run_dir.read_status()
            if disk_status(status, self.run_dir.in_use(status)) in wanted:
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)  # status.json of another process: nothing here to wait on but a poll

    def apply_changes(self, **changes: Any) -> None:
        """Mid-run changes (`MUTABLE_FIELDS`) for a run this server trains, applied before its next step;
        `ConfigError`/`ValueError` for a bad one, `RunnerError` for a run trained elsewhere or ended."""
        if self.runner is None:
            raise RunnerError(
                f"run {self.run_id} is not trained by this server: its settings cannot change here"
            )
        self.runner.set_hparams(**changes)

    def models_state(self) -> dict[str, Any]:
        """A CPU copy of G's and D's weights taken between two steps (`Runner.models_state`), for the probe;
        `RunnerError` for a run not trained by this server."""
        if self.runner is None:
            raise RunnerError(
                f"run {self.run_id} is not trained by this server: probe one of its checkpoints"
            )
        return self.runner.models_state()


class RunRegistry:
    """Thread-safe registry of live runners plus read-only access to every run folder in ``runs_root``."""

    def __init__(self, runs_root: str | Path, max_active: int = DEFAULT_MAX_ACTIVE):
        if max_active < 1:
            raise ValueError(f"max_active={max_active} is invalid: allowed 1 or more")
        self.runs_root = Path(runs_root).resolve()
        problem = runs_folder_problem(self.runs_root)  # (and makes it where it is missing)
        if problem:
            raise RegistryError(f"the runs folder cannot be used: {problem}")
        self.max_active = max_active
        self._runners: dict[str, Runner] = {}
        self._disk_cache: dict[str, _DiskRun] = {}  # runs read from their folders, by id
        # start request id -> (the run id it started, or None; the refusal's message, or None)
        self._requests: dict[str, tuple[str | None, str | None]] = {}
        self._lock = threading.Lock()
        self._notes_lock = threading.Lock()  # writers of notes in this process take turns (`set_notes`)

    # ------------------------------------------------------------------ live runs
    def start(
        self,
        cfg: GANConfig,
        *,
        data: DataSource | None = None,
        run_id: str | None = None,
        name: str | None = None,
        paused: bool = False,
        request_id: str | None = None,
    ) -> Runner:
        """Start a new run of ``cfg`` in a new folder: ``run_id``, else a fresh id that starts with
        ``name`` (the preset that made it) or the config's data and loss (`new_run_id`). Refused with
        `RegistryError` when the active-run limit is reached.

        ``request_id`` names one request to start, such as one click of a Start button: the same id
        again gets what the first request got, the runner it started or its refusal, and never starts
        another run. A browser can deliver one click twice, to two script runs of one session at
        once (see `start_run` in dashboard.py); only this lock sees both."""
        with self._lock:
            if request_id is not None and request_id in self._requests:
                started, refusal = self._requests[request_id]
                if started in self._runners:
                    return self._runners[started]
                raise RegistryError(refusal or f"run {started!r} was started by this request already")
            try:
                self._check_room_held()
                run_dir = RunDir.create(self.runs_root, cfg, run_id, name)
                runner = Runner(cfg, self.runs_root, data=data, run_dir=run_dir)
            except Exception as exc:
                self._answered(request_id, None, str(exc))  # the message: no traceback holding the data
                raise
            self._add(runner)
            self._answered(request_id, runner.run_id, None)
        return runner.start(paused=paused)

    def _answered(self, request_id: str | None, started: str | None, refusal: str | None) -> None:
        """Remember (under the lock) what request ``request_id`` got: the run it started, or a refusal."""
        if request_id is None:
            return
        self._requests[request_id] = (started, refusal)
        while len(self._requests) > KEEP_REQUESTS:  # a repeat comes within seconds: keep only the last few
            del self._requests[next(iter(self._requests))]

    def resume(
        self,
        run_id: str,
        changes: dict[str, Any] | GANConfig | None = None,
        *,
        data: DataSource | None = None,
        paused: bool = False,
    ) -> Runner:
        """Continue a stopped, interrupted (or ended) run in its folder from its latest checkpoint.

        ``changes`` (field -> value, or a whole config such as the sidebar's) may set the mid-run fields
        (`MUTABLE_FIELDS`); a different value of any other field is refused (`ConfigError`). Refused
        with `RegistryError` while the run trains here or when the active-run limit is reached,
        `RunBusyError` (a `RunDirError`) naming the holder if another process holds the folder's claim,
        `RunnerError` if it already trained its steps (raise ``steps`` in ``changes`` to train on),
        `RunDirError` if it has no checkpoint. Returns the started runner."""
        validate_run_id(run_id)
        with self._lock:
            current = self._runners.get(run_id)
            if current is not None and current.status not in ENDED:
                raise RegistryError(f"run {run_id!r} is {current.status} here: it needs no resume")
            run_dir = RunDir.open(self.runs_root, run_id)
            self._check_room_held()
            runner = Runner.reopen(run_dir, changes, data=data)
            self._add(runner)
            self._disk_cache.pop(run_id, None)
        return runner.start(paused=paused)

    def branch(
        self,
        run_id: str,
        step: int | None = None,
        changes: dict[str, Any] | GANConfig | None = None,
        *,
        new_run_id: str | None = None,
        data: DataSource | None = None,
        paused: bool = False,
    ) -> Runner:
        """Rewind: a new run started from run ``run_id``'s kept checkpoint at ``step`` (the latest when
        None), which records ``parent`` and ``parent_step``; the parent's folder is only read. The new
        run has the parent's config and history up to ``step``; ``changes`` as in `resume`.
        """
        parent = RunDir.open(self.runs_root, run_id)
        with self._lock:
            self._check_room_held()
            runner = Runner.branch(parent, step, changes, run_id=new_run_id, data=data)
            self._add(runner)
        return runner.start(paused=paused)

    def _check_room_held(self) -> None:
        """`check_room` under the registry's lock (held by the caller: `active` takes it)."""
        _refuse_at_limit([r for r in self._runners.values() if r.status not in ENDED], self.max_active)

    def check_room(self) -> None:
        """`RunLimitError` when ``max_active`` runs train or are paused here: a new one is refused (asked
        before a start loads its data, seconds for a folder; asked again as it starts)."""
        _refuse_at_limit(self.active(), self.max_active)

    def _add(self, runner: Runner) -> None:
        """Hold ``runner`` (under the lock), forgetting the oldest ended runners beyond KEEP_ENDED_RUNNERS.

        The runner takes Pause, Resume and Stop from its folder's command file too
        (`Runner.watch_command_file`: a stat between steps, at most every 0.2 s): another dashboard
        server on the same runs folder, which watches the run through its folder, can then control it
        (status.json says ``commands``: true), as it can a CLI run."""
        runner.watch_command_file()
        self._runners.pop(runner.run_id, None)
        self._runners[runner.run_id] = runner
        ended = [run_id for run_id, r in self._runners.items() if r.status in ENDED]
        for run_id in ended[: max(0, len(ended) - KEEP_ENDED_RUNNERS)]:
            del self._runners[run_id]

    def runner(self, run_id: str) -> Runner | None:
        """The runner this server trains (or trained) ``run_id`` with; None when there is none, or when
        it has ended and another process has written the folder since (a CLI resume, another server):
        the run is then read from its folder, as any other (an ended runner's view would stay at the
        step and status it ended with)."""
        with self._lock:
            runner = self._runners.get(run_id)
        if runner is None or runner.status not in ENDED:
            return runner
        writer = runner.run_dir.read_status().get("pid")
        if isinstance(writer, int) and writer != os.getpid():  # status.json is another process's now
            with self._lock:
                if self._runners.get(run_id) is runner:
                    del self._runners[run_id]
            return None
        return runner

    def active(self) -> list[Runner]:
        with self._lock:
            return [r for r in self._runners.values() if r.status not in ENDED]

    def stop_all(self, timeout: float = 30.0) -> None:
        """Stop every live run cleanly (checkpoint, flush) and wait for their threads."""
        for runner in self.active():
            with contextlib.suppress(RunnerError):  # it may have ended between the listing and the stop
                runner.stop()
        deadline = time.monotonic() + timeout
        with self._lock:
            runners = list(self._runners.values())
        for runner in runners:
            runner.wait(max(0.0, deadline - time.monotonic()))

    # ------------------------------------------------------------------ every run
    def holds(self, run_id: str) -> bool:
        """Whether the runs folder holds a run named ``run_id`` (a folder with run.json or config.json:
        `rundir.holds_run`), readable or not; False for an id no run may have, or a folder that cannot be
        looked into. For a page waiting on a run another process is about to start."""
        try:
            validate_run_id(run_id)
            return holds_run(self.runs_root / run_id)
        except (ValueError, OSError):
            return False

    def view(self, run_id: str) -> RunView:
        """A live run, or a run folder opened read-only: the same view until its metrics.csv, status.json
        or events.csv changes, then one that has read only what was appended to them (a run another
        process writes is watched this way; `MetricsTail`). A folder that cannot be read is one
        `RunDirError` that says why; what is wrong inside a readable one is in `RunView.problems`."""
        validate_run_id(run_id)
        runner = self.runner(run_id)
        if runner is not None:
            return RunView(run_id, runner.cfg, runner.run_dir, runner.store, runner)
        run_dir = RunDir.open(self.runs_root, run_id)
        with self._lock:
            disk = self._disk_cache.get(run_id)
            if disk is None or disk.path != run_dir.path:
                disk = self._disk_cache[run_id] = _DiskRun(run_dir)
        with disk.lock:  # one reader of its files at a time; other runs are not held up
            # Taken before the files are read: what changes while they are read is seen by the next view.
            stamp = tuple(
                _stamp(run_dir.path / name) for name in ("metrics.csv", "status.json", "events.csv")
            )
            if disk.view is not None and disk.stamp == stamp:
                return disk.view
            try:
                view = self._load(run_dir, disk)
            except OSError as exc:  # a file gone or unreadable while it was read (permissions, a lost mount)
                where = Path(exc.filename).name if exc.filename else "its folder"
                raise RunDirError(
                    f"run {run_id!r}: {where} cannot be read ({exc.strerror or type(exc).__name__})"
                ) from None
            disk.stamp, disk.view = stamp, view
        return view

    def _load(self, run_dir: RunDir, disk: _DiskRun) -> RunView:
        meta = run_dir.read_meta()
        cfg = run_dir.read_config() if meta.owned else None
        status, problems = run_dir.read_status_checked()  # the job's fields checked with the rest
        # Only what was appended since the last view is read; a rewritten file is read again, into a new
        # store (the one a page may still be drawing from is never cleared).
        disk.store = disk.metrics.fill(disk.store)
        disk.events.poll()
        problems += disk.metrics.problems + disk.events.problems
        if disk_status(status, run_dir.in_use(status)) not in WRITTEN:  # (a writer's rows may be on the way)
            # the rows as the store holds them, in step order (a file's rows out of order are sorted)
            last, first = disk.store.last_step, disk.store.first_step if meta.owned else None
            short = rows_missing(
                run_dir, status, None if last is None else int(last), None if first is None else int(first)
            )  # (first: None for a user's loop, which may start at any step)
            problems += [short] if short else []
        return RunView(
            run_dir.run_id,
            cfg,
            run_dir,
            disk.store,
            None,
            _disk_status=status,
            _snapshot_paths=dict(run_dir.snapshot_steps()),
            _events=current_events(disk.events.events),
            problems=problems,
            meta=meta,
        )

    def summaries(self, unreadable: bool = False) -> list[dict[str, Any]]:
        """One row per run folder, newest first by the ``created`` time each row shows (runs created at
        the same time by id, those without a readable time last, by id; `created_order`), where the
        folders' modification times would bring a resumed old run to the top: id, status, data, model,
        loss, steps, created, size,
        and ``problems``: what its status.json had wrong (`RunDir.read_status_checked`), its metrics.csv
        or events.csv if either is no regular file (`RunDir.special_files`), for a run nobody writes
        now, metrics.csv rows short of its step (`rows_missing`), and for a run not training here, what
        the Train view finds wrong with metrics.csv's header and in events.csv (`_file_problems`: the
        rows of metrics.csv are checked when the run is opened), "; "-joined.

        A folder that cannot be read (its config.json, or one never read: a symlink, see
        `scan_runs`) is left out, or with ``unreadable`` listed with status ``unreadable`` and the
        reason as its error (so that the Runs page can show and delete it). Never raises for a folder."""
        rows = []
        for run in scan_runs(self.runs_root):
            if isinstance(run, UnreadableRun):
                if unreadable:
                    reason = f"run {quoted(run.run_id)} {run.reason}"
                    rows.append(_unreadable_row(run.run_id, None, {}, reason))
                continue
            try:
                rows.append(self._summary(run))
            except Exception as exc:  # whatever a damaged folder throws, the listing of the others goes on
                if unreadable:
                    error = str(exc) if isinstance(exc, RunDirError) else f"cannot be read ({quoted(exc)})"
                    rows.append(_unreadable_row(run.run_id, run.path, run.read_status(), error))
        return created_order(rows)

    def statuses(self) -> dict[str, str]:
        """Each run folder's id -> its status as `summaries` gives it (``unreadable`` for a folder that
        cannot be read), without the rest of a row (no sizes, no metrics.csv): what a page checks every few
        seconds to learn that the listing it drew has changed. Never raises for a folder."""
        found: dict[str, str] = {}
        for run in scan_runs(self.runs_root):
            state = "unreadable"
            if not isinstance(run, UnreadableRun):
                with contextlib.suppress(Exception):  # whatever a damaged folder throws: unreadable
                    state = self._listed_state(run)[0]
            found[run.run_id] = state
        return found

    def _listed_state(self, run: RunDir) -> tuple[str, dict[str, Any]]:
        """(run's status as `summaries` gives it, its status.json's fields): a runner's here, else the
        file's. Raises whatever a folder `summaries` lists as unreadable throws (its config.json too)."""
        if run.read_meta().owned:  # as `summaries` reads it
            run.read_config()
        status, _ = run.read_status_checked()
        runner = self.runner(run.run_id)
        return (runner.status if runner is not None else disk_status(status, run.in_use(status))), status

    def newest(self) -> dict[str, Any] | None:
        """The newest readable run in the runs folder, as the Runs page orders them (`created_order`), as
        {``run_id``, ``status``, ``step``} (status as `statuses` gives it, step as `steps_now`), or None
        when the folder holds none: what a Train view with no run offers to open. Reads each run's
        status.json only (no sizes, no metrics.csv but the newest's last row). Never raises for a
        folder."""
        rows = []
        for run in scan_runs(self.runs_root):
            if isinstance(run, UnreadableRun):
                continue
            with contextlib.suppress(Exception):  # whatever a damaged folder throws: left out
                state, status = self._listed_state(run)
                rows.append({"run_id": run.run_id, "created": status.get("created") or "", "status": state})
        for row in created_order(rows):
            step = self.steps_now([row["run_id"]]).get(row["run_id"])
            if step is not None:  # (gone or damaged since it was read: the next one)
                return {"run_id": row["run_id"], "status": row["status"], "step": step}
        return None

    def steps_now(self, run_ids: Iterable[str]) -> dict[str, int]:
        """The step each of ``run_ids`` has reached now, cheaply (what the Runs page shows of the runs that
        train while it is open, every few seconds): a run this server trains, its runner's; another
        process's, the further of its status.json's step and its metrics.csv's last row (read from the
        file's end). A run that cannot be read is left out. Never raises for a folder."""
        found: dict[str, int] = {}
        for run_id in run_ids:
            with contextlib.suppress(Exception):  # a folder gone or damaged since it was listed: left out
                runner = self.runner(run_id)
                if runner is not None:
                    found[run_id] = int(runner.current_step)
                    continue
                run = RunDir.open(self.runs_root, run_id)
                status, _ = run.read_status_checked()
                recorded = status.get("step", 0)
                last_row = run.last_metrics_step()
                steps = [s for s in (recorded, last_row) if isinstance(s, int) and not isinstance(s, bool)]
                if steps:
                    found[run_id] = max(steps)
        return found

    def misnamed_note(self, shown: Callable[[str], str]) -> str | None:
        """The line that says which folders `misnamed` leaves out of every listing, as the Runs page and
        `python -m gan_core runs` say it: how many, the first `MISNAMED_SHOWN` names (each cut to
        `MISNAMED_CHARS` characters and escaped as Python writes it, then passed through ``shown``: the
        page's `literal`, the terminal's escaping), and how to list them; None when there are none."""
        names = self.misnamed()
        if not names:
            return None
        listed = ", ".join(
            shown(repr(name if len(name) <= MISNAMED_CHARS else name[: MISNAMED_CHARS - 1] + "…"))
            for name in names[:MISNAMED_SHOWN]
        )
        if len(names) > MISNAMED_SHOWN:
            listed += f" and {len(names) - MISNAMED_SHOWN} more"
        many = len(names) != 1
        return (
            f"Left out: {len(names)} folder{'s' * many} holding a run under a name that is no run id "
            f"({listed}). A run id is {RUN_ID_RULE}: rename {'a' if many else 'the'} folder to list its run."
        )

    def misnamed(self) -> list[str]:
        """The names of the folders in the runs folder that hold a run (config.json or run.json) under a
        name no run id may have (`validate_run_id`: a folder renamed by hand, copied with a space or an
        accent in its name): no listing shows them, as no page can open them. Sorted; never raises."""
        try:
            entries = list(self.runs_root.iterdir())
        except OSError:
            return []
        found = []
        for entry in entries:
            try:
                validate_run_id(entry.name)
                continue
            except RunDirError:
                pass
            with contextlib.suppress(OSError):  # gone meanwhile, no permission: nothing to say of it
                if holds_run(entry):
                    found.append(entry.name)
        return sorted(found)

    def run_ids(self, owned_only: bool = False) -> tuple[list[str], list[str]]:
        """(the ids of the runs whose config can be read, the ids of those that cannot), newest first as
        `summaries` lists them (by the ``created`` time of each status.json), without checking statuses
        or walking folders for sizes: what a page's run picker needs on every rerun. ``owned_only``: only
        the runs the product trains (`RunMeta.owned`: those with checkpoints, which the probe reads); a
        user's own are left out of both lists."""
        readable, unreadable = [], []
        for run in scan_runs(self.runs_root):
            row = {"run_id": run.run_id}
            try:
                if isinstance(run, UnreadableRun):
                    raise RunDirError(run.reason)
                if run.read_meta().owned:
                    run.read_config()
                elif owned_only:
                    continue
            except Exception:  # whatever a damaged folder throws, the others are listed
                unreadable.append(row)
            else:
                with contextlib.suppress(Exception):  # no readable time: listed last, as `summaries` does
                    row["created"] = run.read_status().get("created")
                readable.append(row)
        return (
            [row["run_id"] for row in created_order(readable)],
            [row["run_id"] for row in created_order(unreadable)],
        )

    def _summary(self, run_dir: RunDir) -> dict[str, Any]:
        status, problems = run_dir.read_status_checked()
        runner = self.runner(run_dir.run_id)
        meta = run_dir.read_meta()
        cfg = run_dir.read_config() if meta.owned else None
        state = runner.status if runner else disk_status(status, run_dir.in_use(status))
        step = runner.current_step if runner else status.get("step", 0)
        if not runner and state not in WRITTEN:
            last_row = run_dir.last_metrics_step()  # (the highest step, read from the file's end)
            if state == "interrupted" and last_row is not None and step < last_row <= MAX_STEPS:
                # Cut off (kill -9) between two status writes: its rows went on after status.json's step.
                step = last_row
            first = run_dir.first_metrics_step() if meta.owned else None  # (a user's loop: any step)
            short = rows_missing(run_dir, status, last_row, first)
            problems += [short] if short else []
        if not runner:  # (a runner's files are its own writing)
            problems += self._file_problems(run_dir)
        try:
            notes = run_dir.read_notes()
        except RunDirError as exc:  # (its message names the run: the problems column is the run's own)
            notes, problems = "", [*problems, str(exc).removeprefix(f"run {run_dir.run_id!r}: ")]
        latest = latest_values(run_dir)
        # The step its rows reach where status.json lags them (a run trained elsewhere writes it every few
        # seconds) or has no usable step; an ended run's own step stands.
        row_step = latest["last"].get("step")
        lagging = state in WRITTEN or "step" not in status
        if not runner and lagging and row_step is not None and step < row_step <= MAX_STEPS:
            step = int(row_step)
        conditioning = conditioning_words(
            meta, cfg, runner.trainer.n_classes if runner and runner.trainer is not None else None
        )
        if cfg is None:
            in_force: dict[str, Any] = {}
        else:
            in_force = runner.hparams if runner else listed_hparams(cfg, latest["last"], status)
        return {
            "run_id": run_dir.run_id,
            "status": state,
            "source": meta.source,
            "dataset": meta.dataset,
            "model": meta.model,
            "conditioning": conditioning,
            "loss": meta.loss,
            "step": step,
            # the target in force (a resume or an applied change moves it); config.json's for older runs
            "steps": runner.hparams["steps"]
            if runner
            else status.get("steps", cfg.steps if cfg is not None else 0),
            "created": status.get("created") or "",
            "flags": ", ".join(sorted(runner.monitor.active) if runner else status.get("flags", [])),
            "flags_raised": ", ".join(
                sorted(runner.monitor.raised) if runner else status.get("flags_raised", [])
            ),
            "error": (runner.error if runner else status.get("error")) or "",
            "notes": notes,
            "size_mb": round(folder_bytes(run_dir.path) / 1e6, 2),
            "parent": status.get("parent") or "",
            "parent_step": status.get("parent_step"),
            "problems": "; ".join(problems + run_dir.special_files(("metrics.csv", "events.csv"))),
            # what the Runs page shows of a sweep's settings and filters by (`run_settings`)
            "settings": run_settings(meta, cfg, in_force, latest["last"], status, conditioning),
            **latest,
        }

    def _file_problems(self, run_dir: RunDir) -> list[str]:
        """What the Train view says is wrong with ``run_dir``'s metrics.csv header (its first line only:
        `MetricsTail.header_problems`, so that a listing's cost does not grow with its runs) and its
        events.csv (read whole: a run's events are few), in the view's words; the rows of metrics.csv are
        checked when the run is opened. Never raises."""
        # One that is no regular file is never opened: `RunDir.special_files` says what it is.
        metrics, events = (not run_dir.special_files((name,)) for name in ("metrics.csv", "events.csv"))
        found: list[str] = []
        try:
            if metrics:
                found += MetricsTail(
                    run_dir.path / "metrics.csv", run_dir.run_id, RECORD_COLUMNS
                ).header_problems()
        except RunDirError as exc:  # a file that cannot be read, or without a 'step' column
            found.append(str(exc))
        if events:
            tail = EventsTail(run_dir.path / "events.csv")
            tail.poll()
            found += tail.problems
        return found

    def set_notes(
        self,
        run_id: str,
        text: str,
        *,
        append: bool = False,
        expected: str | None = None,
        timeout: float = ACK_SECONDS,
    ) -> str:
        """Replace run ``run_id``'s notes with ``text`` (``""`` removes them), or with ``append`` add it
        after them on a line of its own, and return them as kept (`RunDir.update_notes`: read and written
        under the folder's claim, line ends made ``\\n``, surrounding blank space dropped). Two processes
        never write one folder: a run that trains here is written under its runner's claim; a run another
        process writes that reads notes requests (status.json ``notes_requests``: a terminal's ``train``,
        a loop through `gan_core.track`, Lightning) is sent them (`send_notes`), and this waits up to
        ``timeout`` seconds for its answer; any other run is claimed for the write (`RunLock`). Writers
        in this process take turns.

        ``expected``: the notes the new text was written from (an editor's starting point): where the
        run's notes are other now (another tab, a terminal wrote them meanwhile), `NotesChangedError`
        with them, nothing written. `RegistryError` while a process that takes no notes requests writes
        the run (an older version), saying where its notes are set then; `NotesPendingError` when the
        writer did not answer within ``timeout`` (a long step: it writes them when it next looks);
        `RunDirError` for text that is not allowed (`checked_notes`, said before anything is claimed or
        sent; a blank ``append``; an append past `MAX_NOTES_CHARS`, with the count already there), an
        unknown run or a folder that cannot be written."""
        validate_run_id(run_id)
        change = notes_change(run_id, text, append=append, expected=expected)
        with self._notes_lock:
            runner = self.runner(run_id)
            if runner is not None:
                with contextlib.suppress(UnclaimedError):  # (ended and released since: claimed below)
                    return runner.run_dir.update_notes(change)
            run_dir = RunDir.open(self.runs_root, run_id)
            status = run_dir.read_status()  # (a writer that ended may have left these: not asked)
            takes = status.get("notes_requests") and status.get("status") in ("running", "paused", "idle")
            try:  # (a live writer that takes requests holds it: no wait for a claim that will not come)
                run_dir.claim("writing its notes", wait=0 if takes else CLAIM_WAIT_SECONDS)
            except RunBusyError as exc:
                if not takes:
                    raise RegistryError(
                        f"cannot change the notes of run {run_id!r} now: {exc.holder} writes the run, and "
                        f"only one process writes a run folder at a time. {notes_elsewhere(run_dir)}"
                    ) from None
                return self._send_notes(run_dir, exc.holder, change, (text, append, expected), timeout)
            try:
                return run_dir.update_notes(change)
            finally:
                run_dir.release()

    def _send_notes(
        self,
        run_dir: RunDir,
        holder: str,
        change: Callable[[str], str],
        request: tuple[str, bool, str | None],
        timeout: float,
    ) -> str:
        """`set_notes` for a run ``holder`` writes: ``request`` (text, append, expected) sent
        (`send_notes`) and its answer awaited in status.json, matched by the request's id. Where the
        writer lets the folder go before it answers (it ended), the notes are written here under the
        folder's claim (``change``), unless its last answer was this request's."""
        text, append, expected = request
        key = send_notes(run_dir, text, append=append, expected=expected, source="dashboard")
        deadline = time.monotonic() + timeout
        while True:
            answer = run_dir.read_status().get("notes_request") or {}
            if answer.get("id") == key:
                break
            if lock_holder(run_dir.path) is None:  # the writer ended without taking them: written here
                try:
                    run_dir.claim("writing its notes", wait=0)
                except RunBusyError:  # (another writer came meanwhile: asked again on the next look)
                    pass
                else:
                    try:
                        answer = run_dir.read_status().get("notes_request") or {}
                        if answer.get("id") == key:  # answered just before it let go
                            break
                        return run_dir.update_notes(change)
                    finally:
                        run_dir.release()
            if time.monotonic() >= deadline:
                raise NotesPendingError(
                    f"the notes were sent to {holder}, which writes run {run_dir.run_id!r}, and it has not "
                    f"taken them within {timeout:g} s (a long step?): it writes them when it next looks, "
                    "between two steps, unless other notes are sent to it before"
                )
            time.sleep(0.05)  # (a poll: the answer is a file another process writes)
        if answer.get("changed"):
            raise NotesChangedError(run_dir.run_id, run_dir.read_notes())
        if answer.get("error"):
            raise RegistryError(
                f"{holder}, which writes run {run_dir.run_id!r}, refused the notes: {answer['error']}"
            )
        return run_dir.read_notes()

    def delete(self, run_id: str) -> None:
        """Remove a run folder, readable or not. Refused (`RegistryError`, the folder left exactly as it
        is) while its run trains here or while any other writer holds it (`RunLock`: a CLI run, another
        server on the same runs folder); the claim is held while the files go, so no writer can start on a
        half-deleted folder. A run folder that is a symlink loses only the link, never what it points to."""
        validate_run_id(run_id)
        runner = self.runner(run_id)
        if runner is not None and runner.status not in ENDED:
            raise RegistryError(f"run {run_id!r} is {runner.status}: stop it before deleting")
        link = self.runs_root / run_id
        if link.is_symlink():
            link.unlink()
        else:
            path = inside(self.runs_root, link)
            if not path.is_dir():
                raise RegistryError(f"no run {run_id!r} in {self.runs_root}")
            planted = path / LOCK_NAME
            if planted.is_symlink():  # never a writer's: claiming through it would write where it points
                planted.unlink()
            try:
                claim = RunLock.acquire(path, run_id, "deleting it")
            except RunBusyError as exc:
                raise RegistryError(f"cannot delete: {exc}") from None
            try:
                shutil.rmtree(path)
            finally:
                claim.release()
        with self._lock:
            self._runners.pop(run_id, None)
            self._disk_cache.pop(run_id, None)


# The quality metric a run's listing shows of its latest evaluation: the first of these it measured (FID in
# Inception's space, else the Fréchet distance in the digit classifier's, else the 2D modes or the classes
# found, else the divergence from the real grid, else the images' diversity).
HEADLINE_QUALITY = ("fid", "fd_cls", "modes_covered", "classes_covered", "grid_js", "diversity")
# Which of a headline metric's values is its best: the lowest, the highest, or the one nearest a value
# (diversity: 1.0 is as diverse as the real data; above it is noise, not quality).
HEADLINE_BEST: dict[str, str | float] = {
    "fid": "lowest",
    "fd_cls": "lowest",
    "modes_covered": "highest",
    "classes_covered": "highest",
    "grid_js": "lowest",
    "diversity": 1.0,
}


def headline_quality(measured: Iterable[str]) -> str | None:
    """The quality metric a run's listing shows of it: the first of `HEADLINE_QUALITY` in ``measured``
    (the quality columns the run measured), or None for none."""
    measured = set(measured)
    return next((c for c in HEADLINE_QUALITY if c in measured), None)


def best_value(column: str, values: np.ndarray) -> int | None:
    """The index of ``values``' best (`HEADLINE_BEST` of ``column``: lowest, highest or nearest a value;
    the first of equals), among the finite ones; None when none is finite or ``column`` has no best."""
    values = np.asarray(values, dtype=np.float64)
    how = HEADLINE_BEST.get(column)
    finite = np.isfinite(values)
    if how is None or not finite.any():
        return None
    score = values if how == "lowest" else -values if how == "highest" else np.abs(values - float(how))
    return int(np.argmin(np.where(finite, score, np.inf)))


# The per-step metrics Compare's summary gives each run's newest value of.
SUMMARY_METRICS = ("d_loss", "g_loss", "d_acc_real", "d_acc_fake")


def compare_summary(views: dict[str, RunView]) -> pd.DataFrame:
    """Compare's table of the chosen runs, one row per run in ``views``' order (the order of their
    colours), its values as numbers where they are (a click on a column's header sorts them as numbers:
    as text, -0.707 came after -0.352 and 105 before 12.3):

    - ``run``, ``status``, ``step`` (reached, "of" the steps it trains to: ``"81 of 400"``; ``"1,200
      (until stopped)"`` for an open-ended run; the step alone where the target is not recorded), ``source``,
      ``loss`` and ``dataset`` (`RunMeta.data_name`; "" where unknown);
    - the newest value of each of `SUMMARY_METRICS` (a float, NaN where none): the run's newest row's
      (`MetricStore.latest`, what its charts end at), or where that is no finite number the newest
      finite one in its metrics.csv (`RunDir.last_measured`: a run that diverged has its last finite
      one, a loop that skipped D's update on its last step the one before); ``newest @`` names those
      not of its last row, with their step (the diverged run's ``"g_loss @80"``, its last row step 81),
      "" where all are;
    - ``quality``: the run's headline quality metric (`headline_quality` of what it measured, the Runs
      page's, "" before its first evaluation), ``latest`` and ``best`` (`HEADLINE_BEST`) of its
      evaluations (floats, NaN before the first) with their steps, ``latest @`` and ``best @`` (Int64,
      NA before the first);
    - ``flags raised``: every flag the run raised (`RunView.flags_raised`), ", "-joined;
    - ``notes``: the user's notes on the run in one line (`notes_line`), "" for none."""
    rows = []
    for run_id, view in views.items():
        step, target = view.current_step, view.target_steps
        reached = (
            f"{step:,}"
            if target is None
            else f"{step:,} (until stopped)"
            if target == 0
            else (f"{step:,} of {target:,}")
        )
        row = {
            "run": run_id,
            "status": view.status,
            "step": reached,
            "source": view.meta.source,
            "loss": view.meta.loss,
            "dataset": view.meta.data_name,
            "notes": notes_line(view.notes),
        }
        # The store's newest row (what the charts draw; a live run's file runs ahead of it); a column it
        # left blank (a NaN: a divergence, or a loop that did not update D on that step), from the newest
        # row of the run's file that holds a finite one.
        latest = view.store.latest() or {}
        last = latest.get("step", math.nan)
        newest: dict[str, tuple[float, float]] = {}
        for column in SUMMARY_METRICS:
            value = latest.get(column, math.nan)
            if math.isfinite(value):
                newest[column] = (last, value)
            elif (found := view.run_dir.last_measured([column])) is not None:
                newest[column] = (found[0], found[1][column])
        for column in SUMMARY_METRICS:
            row[column] = float(newest.get(column, (None, math.nan))[1])
        row["newest @"] = ", ".join(
            f"{column} @{int(at):,}" for column, (at, _) in newest.items() if at != last
        )
        quality = headline_quality(view.store.exact_measured)
        row["quality"] = quality or ""
        row["latest"], row["latest @"], row["best"], row["best @"] = math.nan, None, math.nan, None
        if quality is not None:
            evaluations = view.store.exact_view([quality])
            values = evaluations[quality].to_numpy(dtype=np.float64)
            steps = evaluations["step"].to_numpy()
            finite = np.flatnonzero(np.isfinite(values))
            if finite.size:
                newest_eval = finite[-1]
                row["latest"], row["latest @"] = float(values[newest_eval]), int(steps[newest_eval])
                best = best_value(quality, values)
                row["best"], row["best @"] = float(values[best]), int(steps[best])
        row["flags raised"] = ", ".join(view.flags_raised)
        rows.append(row)
    columns = ["run", "status", "step", "source", "loss", "dataset", *SUMMARY_METRICS, "newest @"]
    columns += ["quality", "latest", "latest @", "best", "best @", "flags raised", "notes"]
    table = pd.DataFrame(rows, columns=columns)
    for column in ("latest @", "best @"):
        table[column] = table[column].astype("Int64")
    return table


def run_settings(
    meta: RunMeta,
    cfg: GANConfig | None,
    in_force: Mapping[str, Any],
    last: Mapping[str, float],
    status: Mapping[str, Any],
    conditioning: str,
) -> dict[str, Any]:
    """A run's settings, field -> value, as Compare and the Runs page show them: first what run.json says
    it is (``(source)``, ``(loss)``, ``(dataset)``, ``(model)``: the same rows whoever trained it, left out
    where unknown; ``(dataset)`` of a run that named none is its kind of data, `RunMeta.data_name`); then
    a run the product trains (``cfg``): its config with ``in_force`` over it (the mid-run hyperparameters
    in force: `RunView.hparams`, or `listed_hparams` from a listing's last row).

    A user's own run (`gan_core.track`, Lightning; ``cfg`` None): what the run recorded it trained with,
    then its free-form hyperparameters (run.json's ``hparams``, the ``config`` given to
    `gan_core.track.init`). Recorded: the optimizer settings of ``last``, its last row
    (`SETTINGS_FROM_ROWS`, read from the optimizers it was given: the lr they were stepping with, a
    scheduler's included) and ``status``' ``steps`` (the target; 0: open-ended), ``sample_every``,
    ``eval_every`` and ``seed`` (the one given to init: it fixes the real examples shown and the quality
    metrics' samples; runs written before they were recorded have none of the last three, and none is
    made up); with ``conditioning`` (`conditioning_words`) and ``n_classes`` for a class-conditional G.
    Where the config names a recorded field with another value, the recorded one is the field's and the
    config's is shown beside it as ``config.<field>`` (a config ``lr_g`` of 2e-3 whose optimizer ran at
    1e-3); an equal one, or one nothing recorded, is the field's own."""
    what = {  # "" is unknown (a user's run that named none): no value, not an empty one
        name: value
        for name, value in (
            ("(source)", meta.source),
            ("(loss)", meta.loss),
            ("(dataset)", meta.data_name),
            ("(model)", meta.model),
        )
        if value
    }
    if cfg is not None:
        own = {**cfg.to_dict(), **in_force}
        return {**what, **{k: v for k, v in own.items() if k not in ("loss", "dataset", "model")}}
    recorded = {
        **{
            k: (int(v) if k == "d_steps" and float(v).is_integer() else v)
            for k in SETTINGS_FROM_ROWS
            if math.isfinite(v := last.get(k, math.nan))
        },
        **{k: status[k] for k in TRACKED_COUNTS if k in status},
    }
    if meta.n_classes:  # a class-conditional G (`gan_core.track.init`'s n_classes)
        recorded = {"conditioning": conditioning, "n_classes": meta.n_classes, **recorded}
    settings = {**what, **recorded}
    for name, value in meta.hparams.items():
        if name not in settings:
            settings[name] = value
        elif not _same_setting(settings[name], value):
            settings[f"config.{name}"] = value
    return settings


def listed_hparams(cfg: GANConfig, last: Mapping[str, float], status: Mapping[str, Any]) -> dict[str, Any]:
    """The mid-run hyperparameters in force of a run the product trains, from what a listing reads: each
    `MUTABLE_FIELDS` metrics column of its last row (``last``: lr_g, lr_d, d_steps, ...), as the config
    types it, and ``status``' ``steps`` (the target in force); a field no row holds (``sample_every``,
    ``eval_every``: bookkeeping) as config.json has it. What `RunView.hparams` gives but for those fields'
    mid-run changes, which it reads from events.csv."""
    values: dict[str, Any] = {k: getattr(cfg, k) for k in MUTABLE_FIELDS}
    for k, value in last.items():
        if k in values and math.isfinite(value):
            with contextlib.suppress(TypeError, ValueError, OverflowError):
                values[k] = type(values[k])(value)
    steps = status.get("steps")
    if isinstance(steps, int) and not isinstance(steps, bool) and steps >= 0:
        values["steps"] = steps
    return values


def settings_tables(views: dict[str, RunView]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Compare's two tables of the runs' `RunView.settings` (one column per run id, one row per field,
    in order of first appearance; `ABSENT` where a run lacks the field):

    - the fields that differ: two or more runs have the field with different values, whether or not
      every run has it (three runs with ``batch_size`` 64, 128 and none: a difference, not hidden);
    - the fields only some runs have, with one value wherever present (a built-in run's ``gp_weight``
      beside a user's run that has none): no two runs disagree on them, but not every run says.

    A field every run has with one value is in neither. Values are compared as text: a list or dict as
    JSON, None as ``null``, a float as Python writes it in full; and shown so, but for a float shown to 6
    significant digits (``0.00188235``, not ``0.0018823529411764706``, a scheduler's learning rate) in a
    row whose values stay told apart at that. Both empty for fewer than two runs.

    The first row is each run's ``(status)`` (finished, interrupted, failed, stopped, running, ...): listed
    among those that differ when the runs' differ, and whenever one has not finished, though all say the
    same (two interrupted runs' curves end short of their target as a finished run's do not)."""
    return settings_frames(
        {run_id: {"(status)": view.status, **view.settings()} for run_id, view in views.items()}
    )


def settings_frames(settings: Mapping[str, Mapping[str, Any]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """`settings_tables`' two tables of ``settings`` (run id -> field -> value, `run_settings`' with the
    run's ``(status)`` first): what Compare draws of its views and the Runs page of its listing's rows.
    Each value is written as text once (a loop's config may hold long lists: the Runs page draws this
    at every rerun)."""
    fields = list(dict.fromkeys(k for values in settings.values() for k in values))

    def text(value: Any) -> str:
        return json.dumps(value) if isinstance(value, dict | list) or value is None else str(value)

    texts = {run_id: {k: text(v) for k, v in values.items()} for run_id, values in settings.items()}
    table = pd.DataFrame(
        {run_id: [written.get(k, ABSENT) for k in fields] for run_id, written in texts.items()},
        index=pd.Index(fields, name="field"),
        dtype=object,
    )
    if len(settings) < 2:
        return table.iloc[0:0], table.iloc[0:0]
    # (from the values, not the table: a run's own value may be the text ABSENT shows)
    present = [[written[k] for written in texts.values() if k in written] for k in fields]
    differ = np.array([len(set(found)) > 1 for found in present], dtype=bool)
    differ[0] |= any(values["(status)"] != "finished" for values in settings.values())
    shared = np.array([len(found) == len(settings) for found in present], dtype=bool)

    def short(value: Any, full: str) -> str:  # (a float's that is short already, "10.0" or "0.0002", is kept)
        return format(value, ".6g") if isinstance(value, float) and len(full) > 10 else full

    for row, name in enumerate(fields):  # floats to 6 digits where that still tells the runs apart
        found = [(values[name], written[name]) for values, written in zip(settings.values(), texts.values())
                 if name in values]  # fmt: skip
        shorts = [short(v, full) for v, full in found]
        if len(set(shorts)) == len(set(present[row])) and shorts != present[row]:
            kept = iter(shorts)
            table.iloc[row] = [next(kept) if name in values else ABSENT for values in settings.values()]
    return table[differ], table[~differ & ~shared]


# How many of the settings that differ Compare's summary table shows beside each run's results (all of them
# are in its "Settings that differ" table): a sweep's few swept settings, not every field a run has
SUMMARY_SETTINGS = 8
# Settings that say how a run is recorded or where it ran, not how it trains: shown after those that do (a
# sweep's seed came 12th, after sample_every and eval_every)
BOOKKEEPING_SETTINGS = (*RECORDING_FIELDS, "device")


def summary_settings(
    differing: pd.DataFrame, skip: Iterable[str] = (), most: int = SUMMARY_SETTINGS
) -> pd.DataFrame:
    """The settings that differ between runs (`settings_tables`' first table: a row per field, a column
    per run) as columns of Compare's summary: a row per run (index: run id, in the table's order), a
    column per field, the first ``most`` fields, those that shape training before the
    `BOOKKEEPING_SETTINGS`, but ``(status)`` and the run's facts the summary shows already (``skip``,
    its columns, as the settings name them: ``(loss)``, ``(dataset)``, ``(source)``). A setting named
    as one of the summary's columns (a loop's ``config={"loss": ...}``) is shown as ``"loss (setting)"``,
    and a fact the summary has no column for by its bare name (``(model)`` as ``model``) where no setting
    has that name.
    What answers a sweep's "which setting won" beside each run's quality, in the same texts as the full
    table, but a field whose values are all numbers (``lr_g``, ``seed``): floats, NaN where a run lacks
    it, so that a click on its header sorts the runs by it (as text, 1e-05 came after 0.001)."""
    if most < 0:
        raise ValueError(f"most must be 0 or more, got {most}")
    skip = set(skip)
    skipped = {"(status)", *(f"({name})" for name in skip)}
    fields = [field for field in differing.index if field not in skipped]
    fields = sorted(fields, key=lambda field: field in BOOKKEEPING_SETTINGS)[:most]  # (stable)
    shown = differing.loc[fields].T.rename_axis(index="run", columns=None)
    for name in fields:  # a field of numbers (lr_g, seed) as numbers: sorted so, `ABSENT` as NaN
        numbers = pd.to_numeric(shown[name].replace(ABSENT, None), errors="coerce")
        texts = shown[name][shown[name] != ABSENT]
        if numbers.notna().sum() == len(texts) and not texts.isin(["True", "False", "nan", "inf"]).any():
            shown[name] = numbers.astype("float64")
    names = {field: f"{field} (setting)" for field in fields if field in skip}
    # a fact by its bare name ("(model)" read as a note: a newcomer's review), unless a setting or a column
    # of the summary has that name
    for fact in fields:
        bare = fact[1:-1] if fact.startswith("(") and fact.endswith(")") else None
        if bare and bare not in differing.index and bare not in skip:  # (any setting: shown or not)
            names[fact] = bare
    return shown.rename(columns=names)


# The settings the Runs page shows as columns beside each run (the ones that differ between the listed runs,
# those that shape training first): a sweep's swept few, sortable; every one is reachable by the filter
LISTED_SETTINGS = 4
# The run's facts the Runs page has columns of its own for (`summary_settings`' ``skip``)
LISTED_FACTS = ("source", "dataset", "model", "loss")
LISTED_COLUMNS = ("steps",)  # settings it shows already in columns of its own (the target: "of steps")


def listing_settings(rows: Sequence[Mapping[str, Any]], most: int = LISTED_SETTINGS) -> pd.DataFrame:
    """The settings that differ between the listed runs (``rows``: `RunRegistry.summaries`' rows, each
    with its ``settings``, `run_settings`) as the Runs page's columns: a row per run (index: run id, in
    ``rows``' order), a column per field, the first ``most`` of them, those that shape training before
    the `BOOKKEEPING_SETTINGS` (`summary_settings`, whose types they have: a field of numbers as floats,
    sortable), without the facts and settings the page has columns for (`LISTED_FACTS`, `LISTED_COLUMNS`).
    No columns for fewer than two rows or where every run has the same settings. A review: a sweep's two
    ring8 runs at lr 2e-4 and 1e-3 were told apart on the Runs page by their ids' timestamps alone."""
    differing, _ = settings_frames(
        {row["run_id"]: {"(status)": row["status"], **(row.get("settings") or {})} for row in rows}
    )
    differing = differing.drop(index=[f for f in LISTED_COLUMNS if f in differing.index])
    shown = summary_settings(differing, skip=LISTED_FACTS, most=most)
    return shown.reindex([row["run_id"] for row in rows]) if len(shown.columns) else shown


# What a filter of the runs (the Runs page's, `python -m gan_core runs --filter`) looks in: a run's id and
# what tells runs apart in its table
STATUS_FACT = "status"  # ``status=failed``, ``status!=finished``: a run's status, as a setting is asked
RUN_FILTER_FIELDS = (
    "run_id", "status", "source", "dataset", "model", "conditioning", "loss", "flags", "flags_raised",
    "parent", "notes",
)  # fmt: skip
# A filter word that asks a setting: name, operator, value (the longest operator first: "<=" before "<")
_SETTING_WORD = re.compile(r"^([^<>=!]+)(<=|>=|!=|=|<|>)(.*)$")
FILTER_SYNTAX = (
    "words found in a run's id, status, dataset, model, loss, flags or notes, and settings as name=value, "
    "name!=value or name<value (also <=, >, >=; numbers; status=failed too), all of which must match"
)


def _filter_words(text: str) -> list[tuple[str, str, str | None, str]]:
    """``text``'s words, lower case, as (word, name, operator, value): ``lr_g<1e-3`` -> ("lr_g<1e-3",
    "lr_g", "<", "1e-3"), a plain word -> (word, word, None, "")."""
    words = []
    for word in text.lower().split():
        asked = _SETTING_WORD.match(word)
        words.append((word, asked[1], asked[2], asked[3]) if asked else (word, word, None, ""))
    return words


def _row_settings(row: Mapping[str, Any]) -> dict[str, Any]:
    return {str(name).lower(): value for name, value in (row.get("settings") or {}).items()}


def filter_runs(rows: Sequence[Mapping[str, Any]], text: str) -> list[Mapping[str, Any]]:
    """The runs of ``rows`` (`RunRegistry.summaries`' rows) that hold every word of ``text``: each word,
    case apart, in one of the run's `RUN_FILTER_FIELDS`, its notes among them (``ring8 hinge`` picks the
    ring8 runs with the hinge loss, ``interrupted``, ``mode_collapse``, ``-at2000`` or a word of the notes
    what it says), and each ``name=value``
    word a setting of the run (its ``settings``, `run_settings`: the config's fields, a loop's own
    ``config``, and its facts: ``loss=hinge``, ``dataset``, ``model``, ``source``) with that value
    (`setting_matches`: ``lr_g=1e-3`` is 0.001), ``name!=value`` one without it, and ``name<value``
    (``<=``, ``>``, ``>=``) one whose number compares so (`setting_compares`; a setting that is no number
    never does). A word whose name is no setting of the run is looked for as a plain word. Every run for a
    blank ``text``. `FILTER_SYNTAX` says it in a line."""
    words = _filter_words(text)
    if not words:
        return list(rows)

    def holds(row: Mapping[str, Any]) -> bool:
        haystack = " ".join(str(row.get(name) or "") for name in RUN_FILTER_FIELDS).lower()
        settings = _row_settings(row)
        for word, name, operator, wanted in words:
            if name == STATUS_FACT and operator in ("=", "!=") and name not in settings:  # status=failed
                if (str(row.get("status") or "").lower() == wanted) != (operator == "="):
                    return False
                continue
            name = name if name in settings else f"({name})"  # (its facts: "(loss)", "(dataset)", ...)
            if operator is not None and name in settings:
                if not setting_compares(settings[name], operator, wanted):
                    return False
            elif word not in haystack:  # (a word with "=" in a run id: as any other word)
                return False
        return True

    return [row for row in rows if holds(row)]


def filter_hint(rows: Sequence[Mapping[str, Any]], text: str) -> str:
    """What to tell a user whose filter ``text`` matches none of ``rows``: the setting names it asks that
    no run has (a typo, "lr=" for "lr_g="), with the settings these runs have, else how a filter reads
    (`FILTER_SYNTAX`). One line."""
    names: dict[str, None] = {}
    for row in rows:
        names.update(dict.fromkeys(name for name in _row_settings(row) if not name.startswith("(")))
    unknown = [
        name
        for _, name, operator, _ in _filter_words(text)
        if operator is not None and name not in names and name not in (*LISTED_FACTS, STATUS_FACT)
    ]
    if unknown:
        asked = ", ".join(map(quoted, dict.fromkeys(unknown)))
        # the names nearest a typo first (difflib's ratio, as Python's own "Did you mean"), then the rest
        near = dict.fromkeys(
            c for name in unknown for c in difflib.get_close_matches(name, list(names), 3, 0.5)
        )
        closest = f" (closest: {', '.join(near)})" if near else ""
        known = ", ".join(sorted(names)[:20]) + (", ..." if len(names) > 20 else "")
        return (
            f"No run has a setting named {asked}{closest}; these runs' settings: {known or 'none'} (and "
            f"{', '.join((*LISTED_FACTS, STATUS_FACT))}); a plain word is looked for in ids, statuses, "
            "flags, notes."
        )
    return f"A filter takes {FILTER_SYNTAX}."


def setting_matches(value: Any, wanted: str) -> bool:
    """Whether a run's setting ``value`` is what a filter's ``name=value`` word asks (``wanted``, lower
    case): the same number (``1e-3`` is 0.001, ``64`` is 64.0; to 1e-9 relative, a float's last digits
    apart), else the same text, case apart (``hinge``, ``true``, a list or dict as JSON without spaces:
    ``layers=[64,64]``)."""
    try:
        number = float(wanted)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return math.isclose(float(value), number, rel_tol=1e-9)
    except (ValueError, OverflowError):  # no number; an int past float's range (10**400): its text
        pass
    # a list or dict as compact JSON: a filter word holds no space ([64,64])
    compact = json.dumps(value, separators=(",", ":")) if isinstance(value, dict | list) else None
    shown = compact if compact is not None else "null" if value is None else str(value)
    return shown.lower() == wanted


def setting_compares(value: Any, operator: str, wanted: str) -> bool:
    """Whether a run's setting ``value`` answers a filter word's ``operator`` ("=", "!=", "<", "<=", ">",
    ">=") and ``wanted``: "=" and "!=" as `setting_matches` (and not), the others on numbers only (a
    bool, a text or a ``wanted`` that is no number: False), "<=" and ">=" holding for values equal as
    "=" takes them (to 1e-9 relative)."""
    if operator in ("=", "!="):
        return setting_matches(value, wanted) == (operator == "=")
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    try:
        bound = float(wanted)
    except (ValueError, OverflowError):
        return False
    if math.isnan(bound) or (isinstance(value, float) and math.isnan(value)):
        return False
    # (an int and a float compare exactly in Python, an int past float's range too: 10**400 > 1.0)
    if operator in ("<=", ">=") and setting_matches(value, wanted):
        return True
    return value < bound if operator.startswith("<") else value > bound


# What Compare's download says of each run beside its key columns, from run.json (`RunMeta`): what it trained
EXPORT_FACTS = ("loss", "dataset", "model")


def compare_csv_bytes(views: dict[str, RunView]) -> bytes:
    """Compare's download: the chosen runs' metrics.csv rows as one long CSV, each row led by its
    ``run_id`` and the run's ``source`` (run.json's: trainer, api, lightning), then what the run is, the
    same on each of its rows: its ``loss``, ``dataset`` (`RunMeta.data_name`) and ``model`` (blank where
    unknown), and the settings that differ between the runs (`settings_tables`' first table, in full
    precision; blank where a run lacks one), but those every run's rows hold already (``lr_g``,
    ``d_steps``, ...: a row's value in force), so that a sweep's export groups by what it swept without a
    join with each run's config.json (a review). A setting named as a column before it, or as one of the
    runs' metrics, is headed ``"<name> (setting)"``.

    The runs in ``views``' order, each run's rows as its file holds them (a live run's up to its last
    whole line). Its metric columns are the union of the runs' headers in metrics.csv's order
    (`CSV_COLUMNS`), the runs' own metrics after the schema's numbers and before ``flags``; a cell a
    run's file lacks is blank. Cells are copied as text, not parsed: what is written is what the runs
    wrote. A row with more fields than its file's header (a torn write) is left out, one with fewer is
    padded with blanks; a file that cannot be read (gone, unreadable) adds no rows. A run's own metric
    named ``run_id`` or ``source`` (`EXPORT_KEY_COLUMNS`, reserved since; a folder written before may hold
    one) or as one of `EXPORT_FACTS` is kept under ``"<name> (logged)"``, so that the leading columns
    stay the only ones of their names (no metric name holds a space: the new names are no other
    metric's). UTF-8 bytes, a header line only for no rows."""
    known = {name: i for i, name in enumerate(CSV_COLUMNS)}
    leading = (*EXPORT_KEY_COLUMNS, *EXPORT_FACTS)
    tables: list[tuple[str, list[str], list[str], list[list[str]]]] = []
    names: dict[str, None] = {}
    for run_id, view in views.items():
        try:
            text = view.run_dir.metrics_bytes().decode("utf-8", errors="replace")
            rows = list(csv.reader(io.StringIO(text)))
        except (OSError, csv.Error):  # (the page shows the run's problems; its rows cannot be had)
            continue
        if not rows:
            continue
        header, body = rows[0], [row for row in rows[1:] if row and len(row) <= len(rows[0])]
        header = [f"{name} (logged)" if name in leading else name for name in header]
        names.update(dict.fromkeys(header))
        facts = [view.meta.source, view.meta.loss, view.meta.data_name, view.meta.model]
        tables.append((run_id, facts, header, body))
    last = len(CSV_COLUMNS) - len(TEXT_COLUMNS)  # the runs' own metrics go before the text columns
    columns = sorted(names, key=lambda name: known.get(name, last - 0.5))  # (stable: own ones in order)
    settings = {run_id: view.settings() for run_id, view in views.items()}
    differing, _ = settings_frames(
        {run_id: {"(status)": views[run_id].status, **values} for run_id, values in settings.items()}
    )

    # (a mid-run field every run's rows hold is there at each row; one a run's rows lack, a loop's config
    # lr_g without the optimizer given, is kept: "lr_g (setting)")
    def holds(header: list[str], body: list[list[str]], name: str) -> bool:  # a value in its last row
        at = header.index(name) if name in header else None
        return at is not None and bool(body) and at < len(body[-1]) and body[-1][at] != ""

    swept = [
        f
        for f in differing.index
        if not f.startswith("(")
        and not (f in MUTABLE_FIELDS and tables and all(holds(h, b, f) for _, _, h, b in tables))
    ]
    heads = [f"{f} (setting)" if f in names or f in leading else f for f in swept]

    def cell(value: Any) -> str:
        return json.dumps(value) if isinstance(value, dict | list) or value is None else str(value)

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*leading, *heads, *columns])
    for run_id, facts, header, body in tables:
        own = settings[run_id]
        constant = [run_id, *facts, *(cell(own[f]) if f in own else "" for f in swept)]
        at = [header.index(name) if name in header else None for name in columns]
        for row in body:
            writer.writerow([*constant, *("" if i is None or i >= len(row) else row[i] for i in at)])
    return out.getvalue().encode("utf-8")


def latest_values(run_dir: RunDir) -> dict[str, Any]:
    """What a listing shows of how a run is doing, read from the end of its metrics.csv (about a
    millisecond whatever its length; a live run's file trails it by about a second): ``last``, the
    finite numbers of its last row (`RunDir.last_metrics`); ``last_eval``, its latest evaluation's finite
    quality metrics with their ``step`` (`RunDir.last_measured` of `EVAL_COLUMNS`), None before one; and
    ``quality``, that evaluation's `HEADLINE_QUALITY` metric as text (``"fd_cls 3.21 @1500"``), "" before
    one."""
    last = {c: v for c, v in run_dir.last_metrics().items() if math.isfinite(v)}
    measured, last_eval = run_dir.last_measured(EVAL_COLUMNS), None
    if measured is not None:
        step, values = measured
        last_eval = {"step": step, **{c: v for c, v in values.items() if math.isfinite(v)}}
    name, value, step = headline_evaluation(last_eval)
    quality = f"{name} {value:.4g} @{step}" if name else ""
    return {"last": last, "last_eval": last_eval, "quality": quality}


def headline_evaluation(last_eval: Mapping[str, Any] | None) -> tuple[str, float, int | None]:
    """``(metric, value, step)`` of a run's latest evaluation (`latest_values`' ``last_eval``) by its
    headline quality metric (`headline_quality`): what the Runs page lists, the value a number to sort
    runs by; ``("", nan, None)`` before an evaluation or when it measured none of `HEADLINE_QUALITY`."""
    name = headline_quality(last_eval) if last_eval else None
    if name is None:
        return "", math.nan, None
    return name, float(last_eval[name]), int(last_eval["step"])


WRITTEN = ("running", "paused", "idle")  # `disk_status` of a run a writer holds now


def rows_missing(
    run_dir: RunDir, status: dict[str, Any], last_step: int | None, first_step: int | None = None
) -> str | None:
    """A problem line for a run nobody writes now whose metrics.csv lacks the rows up to the step its
    status.json says it reached (``last_step``: the last row's step, None for none): the file missing,
    emptied, cut short or not rows at all, and the charts would otherwise show step 0, or stop early,
    without a word. Else, given ``first_step`` (the first row's step: for a run of the built-in trainer,
    whose rows start at step 1), one for rows that start later: a run resumed after its metrics.csv was
    emptied has the rows since its checkpoint only. None when the rows reach that step from step 1, or
    when metrics.csv is no regular file (its readers say that)."""
    short = _rows_short(run_dir, status, last_step)
    if short is None and first_step is not None and first_step > 1:
        return (
            f"metrics.csv starts at step {first_step}: steps 1 to {first_step - 1} have no row (its charts "
            "start there)"
        )
    return short


def _rows_short(run_dir: RunDir, status: dict[str, Any], last_step: int | None) -> str | None:
    """`rows_missing`'s line for rows that end short of status.json's step, or None."""
    recorded = status.get("step")
    if not isinstance(recorded, int) or isinstance(recorded, bool) or recorded <= 0:
        return None
    if last_step is not None and last_step >= recorded:
        return None
    try:
        info = (run_dir.path / "metrics.csv").stat()
    except FileNotFoundError:
        what = "is missing"
    except OSError as exc:
        what = f"cannot be read ({os_reason(exc)})"
    else:
        size = info.st_size
        if not stat.S_ISREG(info.st_mode):  # a named pipe, a folder: said once, by its reader's problem
            return None  # (`RunDir.special_files`, the tail's)
        if size == 0:
            what = "is empty"
        elif last_step is None:
            what = f"holds no row that can be read ({size:,} bytes)"
        else:
            what = f"ends at step {last_step}"
    shown = "no step" if last_step is None else f"steps up to {last_step}"
    return (
        f"metrics.csv {what}, while status.json says the run reached step {recorded}: its charts show {shown}"
    )


def disk_status(status: dict[str, Any], in_use: bool) -> str:
    """A run's status as status.json tells it to a server that has no runner for it: ``interrupted`` if
    it says running, paused or idle and no writer holds the folder (`RunDir.in_use`): it was cut off (a
    kill, a crash, a full disk that kept even status.json from being written)."""
    state = status.get("status", "unknown")
    if state in ("running", "paused", "idle") and not in_use:
        return "interrupted"
    return state


def folder_bytes(path: Path) -> int:
    """The bytes of the files under ``path``; symlinks are not followed, files gone meanwhile skipped."""
    total = 0
    for p in path.rglob("*"):
        with contextlib.suppress(OSError):
            if not p.is_symlink() and p.is_file():
                total += p.stat().st_size
    return total


def _stamp(path: Path) -> tuple[int, int, int] | None:
    """What says that a file changed: its modification time, size and inode (two appends within one tick
    of a coarse clock still differ in size; a file renamed over it in inode); None if it is missing."""
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size, st.st_ino


class _DiskRun:
    """A run this server reads from its folder (none of its runners trains it): the tails of its
    metrics.csv and events.csv and the store they fill, kept from one view to the next so that a refresh
    reads what was appended, not the files; and the view last made, with the files' stamps it saw."""

    def __init__(self, run_dir: RunDir):
        self.path = run_dir.path
        self.lock = threading.Lock()  # the tails are read by one thread at a time
        self.metrics = MetricsTail(run_dir.path / "metrics.csv", run_dir.run_id, RECORD_COLUMNS)
        self.events = EventsTail(run_dir.path / "events.csv")
        self.store: MetricStore | None = None
        self.stamp: tuple[tuple[int, int, int] | None, ...] | None = None
        self.view: RunView | None = None


def _unreadable_row(run_id: str, path: Path | None, status: dict[str, Any], error: str) -> dict[str, Any]:
    """A summaries() row for a run folder that cannot be read (``path`` None: one never read, not even
    for its size). ``status`` is a checked one (`RunDir.read_status`)."""
    return {
        "run_id": run_id,
        "status": "unreadable",
        "source": "",
        "dataset": "",
        "model": "",
        "conditioning": "",
        "loss": "",
        "step": status.get("step", 0),
        "steps": 0,
        "created": status.get("created") or "",
        "flags": "",
        "flags_raised": "",
        "error": error,
        "notes": "",
        "size_mb": round(folder_bytes(path) / 1e6, 2) if path is not None else 0.0,
        "parent": status.get("parent") or "",
        "parent_step": None,
        "problems": "",
        "settings": {},
        "last": {},
        "last_eval": None,
        "quality": "",
    }


def created_order(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``rows`` (run summaries) newest first by their ``created`` time, runs created at the same time by
    id, and those without a readable time last, by id: the order the Runs page and ``python -m gan_core
    runs`` list runs in. Sorted in place and returned."""
    rows.sort(key=lambda row: str(row["run_id"]))
    rows.sort(key=created_time, reverse=True)  # stable: the ids' order stays within one time
    return rows


def created_time(row: dict[str, Any]) -> float:
    """A run summary's ``created`` as seconds since the epoch; -inf for none or one that is no time
    (listed last). A time without a zone is this machine's, as the pages and the CLI show it."""
    try:
        return dt.datetime.fromisoformat(str(row.get("created") or "")).timestamp()
    except (ValueError, OverflowError, OSError):
        return -math.inf
