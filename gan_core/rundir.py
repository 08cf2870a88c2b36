"""The run directory on disk: everything needed to reload a run later, and nothing outside the runs root.

Layout of ``<runs_root>/<run_id>/``::

    run.json           what the run is (`RunMeta`): the folder's format version, where it came from (the
                       built-in trainer, a user's loop through `gan_core.track`, Lightning), the loss, the
                       data kind, the dataset and model when known, the user's hyperparameters
                       (free-form); written once, atomically. Folders of format 1 have none: their
                       config.json says it all.
    config.json        the GANConfig (written once, atomically); only runs of the built-in trainer
    commands.json      Pause/Resume/Stop for a run another process writes (`send_command`): the one
                       file a reader may write, atomically; the writer only reads it
    status.json        status, step, error, device, times, the process training it, and for a branch
                       its ``parent`` run and ``parent_step`` (rewritten atomically)
    metrics.csv        one row per generator step (CSV_COLUMNS), written as each step ends
    events.csv         step,time,kind,detail: status changes, hyperparameter changes, single steps,
                       resumes; an append-only log (see `current_events` for the history a chart shows)
    samples/           fixed-noise snapshots: step_00000100.png (image grid) or .npz (points, D's
                       heatmap, G's gradient arrows), at most keep_snapshots spread evenly over the
                       run (see `thinned`); real.png / real.npz
                       (real data shown beside them)
    checkpoints/       step_00001000.pt: G, D, optimizers, step, config, RNG, flag monitor (the last K)

Crash safety: a kill -9 at any moment leaves every file readable. JSON files, snapshots and checkpoints
are written to a temp file and renamed. metrics.csv and events.csv only ever receive whole lines, each
in one ``write`` call on an unbuffered file (Python's buffered writer may flush half a row when its
buffer fills), and every reader drops a final line without its newline, should one ever be torn. Each
metric row is written as its step ends, so a kill loses no step that was trained.

Run ids are validated (ASCII letters, digits, ``.``, ``_``, ``-``; no ``..``), and every path is resolved
and checked to lie inside the runs root before anything is written.

Readers forgive and say what they forgave (see "readers" below): a wrong-typed field, a text cell, an
extra field or a torn tail is one "problem" line naming the file and the field, shown beside that run; a
file that cannot be read at all is a `RunDirError` naming it; a run folder that is a symlink, or whose
files lead out of the runs folder, is never read (`unsafe_reason`, `scan_runs`).

Every file of a run folder is opened through `open_regular`, by readers and writers alike: a named pipe
(FIFO), a folder or a device where a file should be is refused at once as `NotRegularFileError`, an
OSError, so that it is said as any file that cannot be read (opened plainly, a named pipe waits forever
for a writer that never comes).
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import errno
import fcntl
import io
import json
import math
import os
import pickle
import re
import secrets
import shutil
import socket
import stat
import sys
import threading
import time
import unicodedata
import weakref
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, AnyStr, BinaryIO

import numpy as np
import pandas as pd
import torch

from gan_core.config import MAX_STEPS, ConfigError, GANConfig
from gan_core.files import NotRegularFileError, file_kind, open_regular, read_regular
from gan_core.losses import LOSSES
from gan_core.quoting import PATH_LIMIT, clipped, json_error, quoted
from gan_core.tracking.schema import DATA_KINDS, EVAL_COLUMNS, FORMAT_VERSION, OWNED_SOURCES, SOURCES

RUNS_ENV = "GAN_DASHBOARD_RUNS"  # the runs folder the dashboard and the command line share, if set
AMEND_WINDOW_BYTES = 1 << 20  # metrics.csv's last row is looked for in its last MiB (a row: ~1 KB)


def default_runs_root() -> Path:
    """The runs folder of the command line and of `gan_core.track` unless told another:
    ``$GAN_DASHBOARD_RUNS`` if set and not empty (the dashboard's), else ``runs`` in the working folder.
    (The dashboard's own default, without the variable, is a folder beside its script:
    `ui.common.runs_root`.)"""
    return Path(os.environ.get(RUNS_ENV) or "runs")


# Used with fullmatch only: ``match`` with ``$`` also accepts a trailing newline ("abc\n").
RUN_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
RUN_ID_RULE = "1-100 ASCII letters, digits, '.', '_' or '-', starting with a letter or digit, without '..'"
# events.csv: ``fields`` is the event's data as a JSON object (a hyperparameter change: field, old, new; a
# flag: flag; ...), so that no reader parses the human-readable ``detail`` back into values. Files
# written before it have the first four columns only (see `legacy_event_fields`).
EVENT_COLUMNS = ("step", "time", "kind", "detail", "fields")
LEGACY_EVENT_COLUMNS = EVENT_COLUMNS[:4]
_SNAPSHOT_RE = re.compile(r"step_(\d+)\.(png|npz)")
_CHECKPOINT_RE = re.compile(r"step_(\d+)\.pt")
# Event kinds after which the events of a discarded stretch (steps beyond the one resumed from) are
# no longer part of the run's history; see `current_events`.
REWIND_EVENTS = ("resume", "branch")
LOCK_NAME = ".lock"  # the file a writer's claim (`RunLock`) is taken on
CLAIM_WAIT_SECONDS = 1.0
NOTES_NAME = "notes.txt"  # a run's notes: free text a user writes of it (`RunDir.write_notes`)
MAX_NOTES_CHARS = 10_000  # characters of a run's notes: a paragraph or a page, not a lab book


class RunDirError(ValueError):
    """A run id, run path or run file is invalid; the message says what is allowed."""


class UnclaimedError(RunDirError):
    """A write to a run folder without its claim (`RunDir.claim`)."""


def checked_notes(text: str) -> str:
    """A run's notes as they are kept: ``text`` with Windows and old Mac line ends as ``\\n`` and
    surrounding blank space dropped (``""``: no notes). `RunDirError` saying what is allowed for what is
    no text, longer than `MAX_NOTES_CHARS`, or holds a control character other than a line break or a
    tab (text pasted from a terminal: an escape sequence)."""
    if not isinstance(text, str):
        raise RunDirError(f"notes must be text, got {type(text).__name__}")
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    if len(text) > MAX_NOTES_CHARS:
        raise RunDirError(f"notes are {len(text):,} characters long; allowed: at most {MAX_NOTES_CHARS:,}")
    for at, char in enumerate(text):
        kind = unicodedata.category(char)
        if char not in "\n\t" and kind == "Cc":
            raise RunDirError(
                f"notes hold the control character U+{ord(char):04X} at character {at + 1}; allowed: "
                "printable text, line breaks and tabs"
            )
        if kind == "Cs":  # (bytes that were no UTF-8, as Python reads them from a terminal or a pipe)
            raise RunDirError(
                f"notes hold U+{ord(char):04X} at character {at + 1}, half of a character (bytes that are no "
                "UTF-8 text read as such); allowed: UTF-8 text"
            )
    return text


class NotesChangedError(RunDirError):
    """Notes were to be written over those an edit began from (``expected``, `notes_change`), and the
    run's notes are other now (``current``): written meanwhile by another tab or a terminal. Nothing was
    written."""

    def __init__(self, run_id: str, current: str):
        self.run_id, self.current = run_id, current
        super().__init__(
            f"the notes of run {run_id!r} were changed elsewhere (another tab, a terminal) since this edit "
            "began: nothing was saved"
        )


def notes_change(
    run_id: str, text: str, *, append: bool = False, expected: str | None = None
) -> Callable[[str], str]:
    """What `RunDir.update_notes` applies to a run's notes to set them to ``text``, or with ``append`` to
    add it on a line of its own. `RunDirError` at once for text that is not allowed (`checked_notes`) or
    a blank ``append``; the change itself raises `NotesChangedError` where the notes are no longer
    ``expected`` (when given), and `RunDirError` for an append past `MAX_NOTES_CHARS`, with the count
    already there."""
    text = checked_notes(text)
    if append and not text:
        raise RunDirError("nothing to append: the text is blank; allowed: text with a non-blank character")

    def change(current: str) -> str:
        if expected is not None and current != expected:
            raise NotesChangedError(run_id, current)
        if not append or not current:
            return text
        joined = f"{current}\n{text}"
        if len(joined) > MAX_NOTES_CHARS:
            raise RunDirError(
                f"the notes would be {len(joined):,} characters long ({len(current):,} there, "
                f"{len(text):,} added, and a line break); allowed: at most {MAX_NOTES_CHARS:,}"
            )
        return joined

    return change


def notes_line(notes: str, limit: int = 120) -> str:
    """A run's notes in one line of at most ``limit`` characters, for a table's cell: the first line
    that is not blank, ending in "…" where anything was left out (more characters or more lines)."""
    lines = [line.strip() for line in notes.splitlines() if line.strip()]
    if not lines:
        return ""
    first = lines[0]
    if len(first) > limit or (len(lines) > 1 and len(first) + 2 > limit):
        return first[: limit - 1].rstrip() + "…"
    return first + (" …" if len(lines) > 1 else "")


def now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds")


def validate_run_id(run_id: str) -> str:
    if not isinstance(run_id, str) or not RUN_ID_RE.fullmatch(run_id) or ".." in run_id:
        raise RunDirError(f"run id {quoted(run_id)} is invalid: use {RUN_ID_RULE} or slashes")
    return run_id


def new_run_id(cfg: GANConfig, name: str | None = None) -> str:
    """A fresh run id that says what made the run: ``name`` (the scenario preset it was started from,
    e.g. ``healthy-digits-20261130-120102-ab12``), else the config's data, its conditioning when it
    has one, and loss (``digits-nonsaturating-...``, ``digits-acgan-nonsaturating-...``); then the time
    and 4 random hex digits."""
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    made = "-".join([cfg.dataset, *([cfg.conditioning] if cfg.is_conditional else []), cfg.loss])
    return f"{name or made}-{stamp}-{secrets.token_hex(2)}"


def inside(root: Path, path: Path, folder: str = "the runs folder") -> Path:
    """``path`` resolved, or RunDirError if it is not inside ``root`` (symlinks followed), which the
    message calls ``folder``."""
    try:
        root_r, path_r = Path(root).resolve(), Path(path).resolve()
    except (OSError, RuntimeError) as exc:  # a loop of symlinks (RuntimeError before Python 3.13)
        raise RunDirError(
            f"path {quoted(str(path), PATH_LIMIT)} cannot be resolved ({_short_reason(exc, PATH_LIMIT)})"
        ) from None
    if path_r != root_r and root_r not in path_r.parents:
        raise RunDirError(f"path {quoted(str(path), PATH_LIMIT)} is outside {folder} {str(root_r)!r}")
    return path_r


def atomic_write_text(path: Path, text: str) -> None:
    """Write via a temp file in the same folder and rename, so readers never see half a file."""
    _atomic_write(path, lambda f: f.write(text.encode("utf-8")))


def _atomic_write(path: Path, write: Callable[[Any], object]) -> None:
    """Call ``write(binary file)`` on a temp file beside ``path``, then rename it over ``path``."""
    # Not mkstemp: its files are private (0600); these get the usual permissions, as the umask allows.
    tmp = path.parent / f".{path.name}.{secrets.token_hex(4)}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def repair_tail(fd: int) -> int:
    """Cut a torn last line (no newline at the end: a kill or a full disk mid-write) off the file open
    as ``fd``, so that the next append starts a line of its own; returns the file's length after."""
    size = os.fstat(fd).st_size
    end = size
    while end > 0:  # back from the end, a block at a time, to the last newline
        start = max(0, end - 65536)
        block = os.pread(fd, end - start, start)
        newline = block.rfind(b"\n")
        if newline >= 0:
            end = start + newline + 1
            break
        end = start
    if end != size:
        os.ftruncate(fd, end)
    return end


def append_whole(fd: int, data: bytes, size: int) -> int:
    """Append ``data`` (whole lines) to the file open as ``fd`` (O_APPEND) whose length is ``size``, and
    return the new length. If the write fails part way (ENOSPC, EFBIG: the kernel wrote what fitted),
    the file is cut back to ``size`` before the error goes on, so no torn line stays behind."""
    try:
        _write_all(fd, data)
    except OSError:
        with contextlib.suppress(OSError):
            os.ftruncate(fd, size)
        raise
    return size + len(data)


def _append_lines(path: Path, data: bytes) -> None:
    """Append whole lines to ``path`` (O_APPEND), after cutting off a torn last line; a write that fails
    half way is cut back off (`append_whole`)."""
    fd = open_regular(path, os.O_RDWR | os.O_APPEND | os.O_CREAT)
    try:
        append_whole(fd, data, repair_tail(fd))
    finally:
        os.close(fd)


def complete_lines(data: bytes) -> bytes:
    """``data`` up to and including its last newline: a final line a kill cut short is dropped."""
    return data[: data.rfind(b"\n") + 1]


def csv_cell(value: float | str) -> str:
    if isinstance(value, str):
        # Quoted as csv does it if needed; newlines become spaces so that a row is always one line.
        value = value.replace("\r", " ").replace("\n", " ")
        return '"' + value.replace('"', '""') + '"' if ("," in value or '"' in value) else value
    # NaN means "not measured at this step" (e.g. evaluation columns): a blank cell.
    if value != value:
        return ""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def csv_line(values) -> bytes:
    """One metrics.csv/events.csv line: cells as `csv_cell` writes them. Floats, nearly every cell of a
    metrics row, take a fast path here (a row a step: measured 35 -> 17 us for 32 cells)."""
    cells = []
    for v in values:
        if type(v) is float:
            if v != v:
                cells.append("")
            elif v.is_integer() and -1e15 < v < 1e15:
                cells.append(str(int(v)))
            else:
                cells.append(repr(v))
        else:
            cells.append(csv_cell(v))
    return (",".join(cells) + "\n").encode("utf-8")


def thinned(items: list, cap: int, stride: int = 1) -> tuple[list, int]:
    """``items`` (oldest first: steps, or tuples that start with the step) cut to at most ``cap``, and the
    stride that took: the items before the newest at steps that are multiples of ``stride``, doubled
    until they fit, and the newest.

    Called on every addition with the stride it returned the last time, it keeps a run's snapshots at
    every stride-th step: spread evenly over the whole run however long it grows, the spacing doubling
    as it does, and nothing dropped is ever wanted back. (Halving the list instead thins old stretches
    again and again and crowds what is kept towards the end.)
    """
    steps = [item if isinstance(item, int) else item[0] for item in items]
    while True:
        kept = [item for item, step in zip(items[:-1], steps) if step % stride == 0] + items[-1:]
        if len(kept) <= cap:
            return kept, stride
        stride *= 2


def current_events(events: list[dict[str, Any]], rewound_to: int | None = None) -> list[dict[str, Any]]:
    """The run's history as charts show it: events.csv is an append-only log, and after a ``resume`` or
    ``branch`` event at step N the events logged before it at steps after N belong to a stretch the run
    went back on (its rows were replaced); they are left out here, and stay in the file. ``rewound_to``:
    the step a resume about to be recorded goes back to, as if its event were the log's last."""
    kept: list[dict[str, Any]] = []
    for event in events:
        if event.get("kind") in REWIND_EVENTS:
            kept = [e for e in kept if _step_of(e) <= int(event["step"])]
        kept.append(event)
    if rewound_to is not None:
        kept = [e for e in kept if _step_of(e) <= rewound_to]
    return kept


def _json_safe(value: Any) -> Any:
    """``value`` with numpy scalars as Python numbers and non-finite floats as None: strict JSON."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def make_event(step: int, kind: str, detail: str, fields: dict[str, Any] | None = None) -> dict[str, Any]:
    """An event as events.csv holds it and readers give it back: step, time (now, ISO), kind, ``detail``
    for people and ``fields`` for programs (JSON values; non-finite numbers become null)."""
    return {
        "step": int(step),
        "time": now_iso(),
        "kind": kind,
        "detail": detail,
        "fields": _json_safe(fields or {}),
    }


def _event_line(event: dict[str, Any]) -> bytes:
    fields = json.dumps(event.get("fields") or {}, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return csv_line([str(event[c]) for c in LEGACY_EVENT_COLUMNS] + [fields])


_HPARAM_DETAIL = re.compile(r"(?P<field>\w+): (?P<old>.*) -> (?P<new>.*)")


def _number(text: str) -> Any:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return text


def legacy_event_fields(kind: str, detail: str) -> dict[str, Any]:
    """The ``fields`` of an event from a file written before events had them (four columns), derived once,
    here, from its ``detail`` as that version wrote it: ``hparam`` "lr_g: 0.0002 -> 0.001" gives field,
    old and new; ``flag`` "name: explanation" and ``flag_cleared`` "name" give the flag; ``status``
    "failed: error" gives the status. Other kinds have none."""
    if kind == "hparam":
        match = _HPARAM_DETAIL.fullmatch(detail)
        if match is None:
            return {}
        return {"field": match["field"], "old": _number(match["old"]), "new": _number(match["new"])}
    if kind in ("flag", "flag_cleared"):
        return {"flag": detail.partition(":")[0].strip()}
    if kind == "status":
        return {"status": detail.partition(":")[0].strip()}
    return {}


def _step_of(event: dict[str, Any]) -> float:
    try:
        return float(event["step"])
    except (KeyError, TypeError, ValueError):
        return -1.0


def _process_start(pid: int) -> str | None:
    """The start time of process ``pid`` from /proc (Linux), or None if it is gone, a zombie or there is
    no /proc. With the pid it names one process, even after the pid is reused."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None
    return None if fields[0] in ("Z", "X") else fields[19]  # state, then field 22: starttime


def this_process() -> dict[str, Any]:
    """What status.json records of the process training a run: ``pid`` and ``pid_start``."""
    return {"pid": os.getpid(), "pid_start": _process_start(os.getpid())}


def trained_elsewhere(status: dict[str, Any]) -> bool:
    """True if the process that last wrote ``status`` is another one and still alive: a run that says
    running there is being trained (e.g. a CLI run), not interrupted."""
    pid = status.get("pid")
    if not isinstance(pid, int) or pid == os.getpid():
        return False
    if Path("/proc/self/stat").exists():
        started = _process_start(pid)
        return started is not None and started == status.get("pid_start")
    try:  # no /proc (macOS): whether a process with that pid exists at all
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class RunBusyError(RunDirError):
    """The run folder is claimed by another writer (another process, or another runner in this one);
    ``holder`` names it in words ("process 4242 on node-a (training it: python -m gan_core train ...)")."""

    def __init__(self, message: str, holder: str = "another process"):
        super().__init__(message)
        self.holder = holder


def _describe_holder(info: dict[str, Any]) -> str:
    """``info`` from a lock file, as a reader wants it: who, where, doing what, since when."""
    pid = info.get("pid")
    if not isinstance(pid, int):
        return "another process"
    who = "this process" if pid == os.getpid() and info.get("host") == socket.gethostname() else "process"
    text = f"{who} {pid}"
    if isinstance(info.get("host"), str):
        text += f" on {info['host']}"
    if isinstance(info.get("purpose"), str):
        text += f", {info['purpose']}"
    if isinstance(info.get("since"), str):
        text += f" since {info['since']}"
    if isinstance(info.get("command"), str) and info["command"]:
        text += f" ({info['command'][:120]})"
    return text


def command_line() -> str:
    """This process's command line as it was typed, the interpreter by its name alone: ``python -m
    gan_core train --steps 100`` (`sys.orig_argv`, Python 3.10+), where `sys.argv` would name
    ``.../gan_core/__main__.py``; what a refused claimant is told of the run's holder."""
    words = list(sys.orig_argv) or list(sys.argv)
    if words:
        words[0] = Path(words[0]).name
    return " ".join(words)


class RunLock:
    """An exclusive claim on one run folder: ``fcntl.flock`` on its ``.lock`` file.

    Every writer of a run folder (a new run, a resume, a rewind's new folder, a delete) takes the claim
    before it writes anything and keeps it until it is done. The lock belongs to the open file, so the
    kernel drops it when the process ends in any way (kill -9 included): a claim is never stale. Two
    claims of one folder never both succeed, whether they come from two processes or two threads of one
    (each claim opens the file anew). The holder writes who it is (pid, host, purpose, command line)
    into the file, so a refused claimant can name it.

    POSIX only (Linux, macOS): ``fcntl`` is not on Windows.
    """

    def __init__(self, fd: int, path: Path):
        self._fd: int | None = fd
        self.path = path
        # Closing the descriptor releases the lock: also when the holder is dropped without `release`.
        self._finalizer = weakref.finalize(self, os.close, fd)

    @classmethod
    def acquire(cls, folder: Path, run_id: str, purpose: str, wait: float = CLAIM_WAIT_SECONDS) -> RunLock:
        """Claim ``folder``, or `RunBusyError` naming the holder if another writer has it.

        A reader that probes the lock (`lock_holder`) holds it shared for microseconds; the claim retries
        for up to ``wait`` seconds so that a probe never makes it fail."""
        path = folder / LOCK_NAME
        deadline = time.monotonic() + wait
        while True:
            try:
                # O_NOFOLLOW: a .lock planted as a symlink must not make a claim write to the file it names.
                fd = open_regular(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW)
            except NotRegularFileError as exc:  # a named pipe, a folder: no lock is taken on that
                raise RunDirError(
                    f"run {run_id!r} cannot be claimed for writing: its .lock is {exc}"
                ) from None
            except OSError as exc:  # the folder is gone, or .lock is a symlink (ELOOP) or unwritable
                reason = "its .lock is a symlink" if exc.errno == errno.ELOOP else exc.strerror or str(exc)
                raise RunDirError(f"run {run_id!r} cannot be claimed for writing: {reason}") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                if time.monotonic() < deadline:
                    time.sleep(0.01)  # a poll: flock has no timed wait
                    continue
                held = lock_holder(folder)
                who = _describe_holder(held) if held else "another process"
                raise RunBusyError(
                    f"run {run_id!r} is in use by {who}; allowed: one writer at a time (stop it there "
                    "first, or wait until it ends)",
                    who,
                ) from None
            # The lock file may have been removed (a delete) between open and flock: then this lock guards
            # nothing. Only the file still at the path counts.
            try:
                same = os.fstat(fd).st_ino == os.lstat(path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
            if not folder.is_dir():
                raise RunDirError(f"run {run_id!r} no longer exists (deleted meanwhile)")
        lock = cls(fd, path)
        info = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "purpose": purpose,
            "since": now_iso(),
            "command": command_line()[:300],
        }
        data = (json.dumps(info) + "\n").encode("utf-8")
        os.ftruncate(fd, 0)
        os.pwrite(fd, data, 0)
        return lock

    @property
    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        """Give the claim up (idempotent). The file stays, emptied (removing it would race a new
        claimant): a claim that came to nothing leaves the folder as it found it."""
        if self._fd is not None:
            fd, self._fd = self._fd, None
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
            self._finalizer()  # closes the descriptor, which drops the lock


def lock_holder(folder: Path) -> dict[str, Any] | None:
    """Who holds ``folder``'s claim (the holder's info, ``{}`` if it wrote none yet), or None if nobody
    does. Takes the lock shared for an instant and never creates the file; a folder without a lock file
    (never claimed by this version) is not held."""
    try:
        fd = open_regular(folder / LOCK_NAME, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:  # (a .lock that is no regular file is no claim: nobody could have taken it)
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            try:
                info = json.loads(os.pread(fd, 4096, 0).decode("utf-8"))
            except (OSError, ValueError):  # (not UTF-8, not JSON: both ValueErrors)
                info = {}
            return info if isinstance(info, dict) else {}
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


META_NAME = "run.json"
MAX_CLASSES = 100_000  # the most classes run.json may name (ImageNet has 1,000): a bound on what a file says


@dataclass(frozen=True)
class RunMeta:
    """What a run is, whoever trained it (run.json).

    ``format``: the folder's layout version (`schema.FORMAT_VERSION`; 1 for folders from before run.json).
    ``source``: who trained it, one of `schema.SOURCES`. ``loss``: the objective, a name in
    `gan_core.losses.LOSSES` (D's accuracy threshold and midpoint come from it), or ``""`` when unknown
    (then accuracies are medians and D's outputs raw scores). ``data_kind``: ``points`` (2D), ``images`` or
    ``other``. ``dataset`` and ``model``: names when known, else ``""``. ``hparams``: the user's own
    hyperparameters, free-form JSON values (a built-in run: its config). ``n_classes``: the classes a
    class-conditional G is asked for (0: unconditional; run.json without it: 0). ``class_names``: the
    classes' names, class c named ``class_names[c]`` (a built-in run's data's, written once it is loaded: a
    folder's subfolders; () where none is known, run.json without it included)."""

    source: str
    loss: str = ""
    data_kind: str = "other"
    dataset: str = ""
    model: str = ""
    hparams: dict[str, Any] = field(default_factory=dict)
    format: int = FORMAT_VERSION
    n_classes: int = 0
    class_names: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.source not in SOURCES:
            raise ValueError(f"source={quoted(self.source)} is invalid: allowed {', '.join(SOURCES)}")
        if self.loss and self.loss not in LOSSES:
            raise ValueError(
                f"loss={quoted(self.loss)} is unknown: allowed {', '.join(LOSSES)}, or '' for none"
            )
        if self.data_kind not in DATA_KINDS:
            raise ValueError(
                f"data_kind={quoted(self.data_kind)} is invalid: allowed {', '.join(DATA_KINDS)}"
            )
        if not _is_int(self.n_classes) or not 0 <= self.n_classes <= MAX_CLASSES:
            raise ValueError(
                f"n_classes={shown_value(self.n_classes)} is invalid: allowed a whole number from 0 "
                f"(unconditional) to {MAX_CLASSES}"
            )
        names = self.class_names
        texts = isinstance(names, tuple) and all(isinstance(name, str) for name in names)
        if not (texts and len(names) <= MAX_CLASSES):
            raise ValueError(
                f"class_names={shown_value(names)} is invalid: allowed a tuple of at most {MAX_CLASSES:,} "
                "names (text), one per class"
            )

    @property
    def data_name(self) -> str:
        """What the run trains on, as Compare tells runs' data apart: its ``dataset``; for a run that named
        none, its ``data_kind`` of 2D points or images as ``"points (unnamed)"`` (a 2D-points run of one's
        own loop is not digits, named or not); ``""`` for an unnamed ``other`` (nothing known)."""
        if self.dataset:
            return self.dataset
        return f"{self.data_kind} (unnamed)" if self.data_kind in ("points", "images") else ""

    @property
    def owned(self) -> bool:
        """True when the product trains the run itself (it can resume, branch and single-step it)."""
        return self.source in OWNED_SOURCES

    @classmethod
    def for_config(cls, cfg: GANConfig, format: int = FORMAT_VERSION) -> RunMeta:
        return cls(
            source="trainer",
            loss=cfg.loss,
            data_kind="points" if cfg.is_points else "images",
            dataset=cfg.dataset,
            model=cfg.model,
            hparams=cfg.to_dict(),
            format=format,
        )  # (a built-in run's classes come with its data and travel in its checkpoints)

    def to_json(self) -> str:
        data = {
            "format": self.format,
            "source": self.source,
            "loss": self.loss,
            "data_kind": self.data_kind,
            "dataset": self.dataset,
            "model": self.model,
            "hparams": _json_safe(self.hparams),
        }
        if self.n_classes:
            data["n_classes"] = self.n_classes
        if self.class_names:
            data["class_names"] = list(self.class_names)
        return json.dumps(data, indent=2, sort_keys=False, default=str) + "\n"

    @classmethod
    def from_dict(cls, raw: Any, where: str) -> RunMeta:
        """A checked RunMeta from run.json's object; `RunDirError` naming ``where`` and the field."""
        if not isinstance(raw, dict):
            raise RunDirError(f"{where} is not a JSON object")
        texts = {}
        for name in ("source", "loss", "data_kind", "dataset", "model"):
            value = raw.get(name, "")
            if not isinstance(value, str):
                raise RunDirError(f"{where}: {name} is {shown_value(value)}, not text")
            texts[name] = value
        hparams = raw.get("hparams", {})
        if not isinstance(hparams, dict):
            raise RunDirError(f"{where}: hparams is {shown_value(hparams)}, not an object")
        version = raw.get("format", FORMAT_VERSION)
        if not _is_int(version) or not version >= 1:
            raise RunDirError(f"{where}: format is {shown_value(version)}, not a version number")
        names = raw.get("class_names", [])
        if not isinstance(names, list):
            raise RunDirError(f"{where}: class_names is {shown_value(names)}, not a list of names (text)")
        for i, name in enumerate(names):
            if not isinstance(name, str):
                raise RunDirError(f"{where}: class_names[{i}] is {shown_value(name)}, not a name (text)")
        if version > FORMAT_VERSION:
            raise RunDirError(
                f"{where}: format {version} is newer than this version reads ({FORMAT_VERSION}); "
                "upgrade gan-dashboard"
            )
        try:
            return cls(
                hparams=hparams,
                format=int(version),
                n_classes=raw.get("n_classes", 0),
                class_names=tuple(names),
                **texts,
            )
        except ValueError as exc:
            raise RunDirError(f"{where}: {exc}") from None


class RunDir:
    """One run's folder; create with `RunDir.create` or open an existing one with `RunDir.open`.

    Reading needs nothing; writing needs the folder's claim (`claim`, a `RunLock`), which `create` takes
    for the folder it makes. Every write names the file and the cause when it fails (a full disk), and
    leaves no partial line in an append-only file."""

    def __init__(self, path: Path, root: Path):
        self.root = Path(root).resolve()
        self.path = inside(self.root, path)
        self.run_id = self.path.name
        self._metrics_fd: int | None = None
        self._metrics_size = 0  # metrics.csv's length after the last whole row: a failed write goes back
        self._lock: RunLock | None = None
        # held while the claim is given up, and while notes are written under it: a page writing the notes
        # of a run that trains here never writes after the training thread released the folder
        self._claim_guard = threading.RLock()
        self._events_current = False  # events.csv checked to have today's columns (`_upgrade_events`)

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r})"  # print(run.run_dir): the folder, not an object id

    # ------------------------------------------------------------------ the writer's claim
    def claim(self, purpose: str, wait: float = CLAIM_WAIT_SECONDS) -> RunDir:
        """Take the folder's claim (`RunLock`) for writing; `RunBusyError` names the holder if another
        writer has it. Returns self. A claim this object already holds is kept."""
        if self._lock is None or not self._lock.held:
            self._lock = RunLock.acquire(self.path, self.run_id, purpose, wait)
        return self

    @property
    def claimed(self) -> bool:
        """True while this object holds the folder's claim."""
        return self._lock is not None and self._lock.held

    def release(self) -> None:
        """Close metrics.csv and give the claim up (idempotent)."""
        try:
            self.close()
        finally:
            if self._lock is not None:
                with self._claim_guard:
                    self._lock.release()

    def holder(self) -> dict[str, Any] | None:
        """Who holds the folder's claim now, or None (see `lock_holder`)."""
        return lock_holder(self.path)

    def in_use(self, status: dict[str, Any] | None = None) -> bool:
        """True while a writer holds the folder (its claim is taken). A folder never claimed (written by
        an earlier version, which recorded only its pid) is in use while that process lives."""
        if self.holder() is not None:
            return True
        if (self.path / LOCK_NAME).exists():
            return False
        return trained_elsewhere(self.read_status() if status is None else status)

    @contextlib.contextmanager
    def _writing(self, name: str):
        """Around every write: the claim must be held, and an OSError (a full disk, a lost mount) becomes
        one `RunDirError` naming the run, the file and the cause."""
        if not self.claimed:
            raise UnclaimedError(f"run {self.run_id!r}: {name} written without the folder's claim (a bug)")
        try:
            yield
        except OSError as exc:
            cause = os_reason(exc)
            if not self.path.is_dir():  # deleted or moved while the run wrote it: said plainly, not ENOENT
                cause = f"its folder {str(self.path)!r} is gone (deleted or moved while the run wrote it)"
            raise RunDirError(f"run {self.run_id!r}: cannot write {name}: {cause}") from exc

    # ------------------------------------------------------------------ creation and lookup
    @classmethod
    def create(
        cls, root: str | Path, cfg: GANConfig, run_id: str | None = None, name: str | None = None
    ) -> RunDir:
        """A new run folder: ``run_id``, else a fresh id from ``name`` or the config (`new_run_id`)."""
        root = Path(root)
        chosen = run_id is not None
        make_runs_root(root)
        # A generated id is retried on a clash (same second, same 4 hex digits: two runs started at once).
        for _ in range(1 if chosen else 20):
            run_id = validate_run_id(run_id if chosen else new_run_id(cfg, name))
            path = inside(root, root / run_id)
            try:
                path.mkdir()  # atomic: of two creators of one id, one fails here
                break
            except FileExistsError:
                continue
            except OSError as exc:  # read-only, no permission
                raise _unmakeable(root, exc, f"run {run_id!r}'s folder in it") from exc
        else:
            raise RunDirError(f"run {run_id!r} already exists in {str(root)!r}: choose another run id")
        run = cls(path, root).claim("training it")  # before anything else is written
        try:
            with run._writing("the run folder"):
                (path / "samples").mkdir()
                (path / "checkpoints").mkdir()
                atomic_write_text(path / "config.json", cfg.to_json() + "\n")
                atomic_write_text(path / META_NAME, RunMeta.for_config(cfg).to_json())
                atomic_write_text(path / "events.csv", ",".join(EVENT_COLUMNS) + "\n")
            run.write_status({"status": "idle", "step": 0, "created": now_iso()})
        except BaseException:  # a full disk: no half-made folder stays behind
            run.discard()
            raise
        return run

    @classmethod
    def create_external(
        cls, root: str | Path, run_id: str, meta: RunMeta, *, exist_ok: bool = False
    ) -> RunDir:
        """A run folder for a run this package does not train (`gan_core.track`, Lightning): run.json from
        ``meta``, no config.json; claimed. With ``exist_ok`` an existing folder of the same source is
        claimed and continued (its rows after the last one are the caller's to write); one of another
        kind, or one another writer holds, is a `RunDirError` naming it."""
        root = Path(root)
        make_runs_root(root)
        path = inside(root, root / validate_run_id(run_id))
        try:
            path.mkdir()
            existed = False
        except FileExistsError:
            existed = True  # (said below, outside this handler: a refusal then is not "during" it)
        except OSError as exc:  # read-only, no permission
            raise _unmakeable(root, exc, f"run {run_id!r}'s folder in it") from exc
        if existed:
            if not exist_ok:
                raise RunDirError(
                    f"run {run_id!r} already exists in {str(root)!r}: choose another run id, or pass "
                    "resume=True to continue it"
                )
            run = cls.open(root, run_id).claim("training it")
            try:
                found = run.read_meta()
                if found.source != meta.source or (run.path / "config.json").exists():
                    raise RunDirError(
                        f"run {run_id!r} was written by {found.source}, not {meta.source}: "
                        "choose another run id"
                    )
                # the charts' thresholds and views follow these
                for name in ("loss", "data_kind", "n_classes"):
                    if getattr(found, name) != getattr(meta, name):
                        # (a data kind read from the real examples: a resume without them has "other")
                        hint = " (pass the same real examples, or data_kind=)" if name == "data_kind" else ""
                        raise RunDirError(
                            f"run {run_id!r} was recorded with {name}={getattr(found, name)!r}, not "
                            f"{getattr(meta, name)!r}{hint}: a run goes on as it began; pass "
                            f"{name}={getattr(found, name)!r} to continue it, or choose another run id"
                        )
            except BaseException:
                run.release()
                raise
            return run
        run = cls(path, root).claim("training it")
        try:
            with run._writing("the run folder"):
                (path / "samples").mkdir()  # (no checkpoints/: the user's loop keeps its own)
                atomic_write_text(path / META_NAME, meta.to_json())
                atomic_write_text(path / "events.csv", ",".join(EVENT_COLUMNS) + "\n")
            run.write_status({"status": "idle", "step": 0, "created": now_iso()})
        except BaseException:
            run.discard()
            raise
        return run

    @classmethod
    def open(cls, root: str | Path, run_id: str) -> RunDir:
        """An existing run by id inside ``root``; `RunDirError` for a folder that must not be read (a
        symlink, or one whose files lead out of the runs folder: see `unsafe_reason`), or that has
        neither config.json nor run.json as a regular file (the message says which is missing and which
        is something else: a named pipe, a folder)."""
        path = Path(root) / validate_run_id(run_id)
        reason = unsafe_reason(root, path)
        if reason:
            raise RunDirError(f"run {run_id!r} {reason}")
        run = cls(path, root)
        kinds = {name: _kind_of(run.path / name) for name in ("config.json", META_NAME)}
        if "a regular file" not in kinds.values():
            if not any(kinds.values()):
                kind = _kind_of(path)
                if kind is not None and kind != "a folder":  # a plain file beside the runs (notes.txt)
                    why = f"that name is {kind}, not a run folder"
                elif kind is not None:
                    why = "run.json and config.json missing"
                else:
                    why = (
                        "no folder of that name: a run id as the Runs page or `python -m gan_core runs` "
                        "lists it"
                    )
                raise RunDirError(f"no run {run_id!r} in {str(Path(root))!r} ({why})")
            said = (
                f"{name} is not a regular file: {kind}" if kind else f"{name} is missing"
                for name, kind in kinds.items()
            )
            raise RunDirError(f"run {run_id!r} in {str(Path(root))!r} cannot be read: {'; '.join(said)}")
        return run

    @classmethod
    def from_path(cls, path: str | Path) -> RunDir:
        """An existing run folder given by path (its parent is taken as the runs root)."""
        path = Path(path).resolve()
        return cls.open(path.parent, path.name)

    # ------------------------------------------------------------------ config and status
    def read_config(self) -> GANConfig:
        try:
            return GANConfig.from_json(read_regular(self.path / "config.json").decode("utf-8"))
        except (OSError, ConfigError, UnicodeDecodeError, RecursionError) as exc:
            reason = os_reason(exc) if isinstance(exc, OSError) else exc
            raise RunDirError(f"run {self.run_id!r}: unreadable config.json: {reason}") from None
        except ValueError as exc:  # json's own, past its JSONDecodeError (`json_reason`)
            raise RunDirError(f"run {self.run_id!r}: unreadable config.json: {json_reason(exc)}") from None

    @property
    def has_config(self) -> bool:
        """True when the run has a built-in config (config.json): one the product trained and can resume."""
        return (self.path / "config.json").is_file()

    def read_meta(self) -> RunMeta:
        """What the run is (`RunMeta`): run.json, or for a folder written before it existed, derived from
        config.json. `RunDirError` naming the file when neither can be read."""
        path = self.path / META_NAME
        if not path.exists() and not path.is_symlink():
            return RunMeta.for_config(self.read_config(), format=1)
        try:
            raw = json.loads(read_regular(path).decode("utf-8"))
        except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
            reason = (
                os_reason(exc)
                if isinstance(exc, OSError)
                else json_reason(exc)
                if isinstance(exc, ValueError)
                else _short_reason(exc)
            )
            raise RunDirError(f"run {self.run_id!r}: unreadable {META_NAME}: {reason}") from None
        return RunMeta.from_dict(raw, f"run {self.run_id!r}: {META_NAME}")

    def write_meta(self, meta: RunMeta) -> None:
        """Replace run.json with ``meta`` (a continued tracked run's new hyperparameters); claim needed."""
        with self._writing(META_NAME):
            atomic_write_text(self.path / META_NAME, meta.to_json())

    def read_notes(self) -> str:
        """The run's notes (notes.txt, `write_notes`), ``""`` when it has none. `RunDirError` naming the
        file and what is wrong for one that is a symlink (never followed: it could show a file from
        outside the runs folder) or no regular file, cannot be read, is larger than `MAX_NOTES_CHARS`
        could be, is no UTF-8 text (a byte-order mark is dropped) or holds what `checked_notes` refuses:
        its text is never read into a page then."""
        path = self.path / NOTES_NAME
        try:
            fd = open_regular(path, os.O_RDONLY | os.O_NOFOLLOW)
        except FileNotFoundError:
            return ""
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise RunDirError(
                    f"run {self.run_id!r}: {NOTES_NAME} is a symlink, which is never followed; allowed: a "
                    "regular file"
                ) from None
            reason = os_reason(exc)
            raise RunDirError(f"run {self.run_id!r}: {NOTES_NAME} cannot be read ({reason})") from None
        with os.fdopen(fd, "rb") as file:
            size = os.fstat(fd).st_size
            most = MAX_NOTES_CHARS * 4  # (UTF-8: at most 4 bytes a character)
            if size > most:
                raise RunDirError(
                    f"run {self.run_id!r}: {NOTES_NAME} is {size:,} bytes, more than {MAX_NOTES_CHARS:,} "
                    "characters take; allowed: at most that many characters"
                )
            data = file.read(most + 1)
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise RunDirError(
                f"run {self.run_id!r}: {NOTES_NAME} is not UTF-8 text (byte {exc.start})"
            ) from None
        try:
            return checked_notes(text)
        except RunDirError as exc:
            raise RunDirError(f"run {self.run_id!r}: {NOTES_NAME}: {exc}") from None

    def write_notes(self, text: str) -> str:
        """Replace the run's notes with ``text`` (`update_notes`); returns them as kept."""
        return self.update_notes(lambda _: text)

    def update_notes(self, change: Callable[[str], str]) -> str:
        """Replace the run's notes with ``change(the notes it has)`` (`checked_notes`: `RunDirError` for
        text that is not allowed, nothing written), atomically, and return them as kept; ``""`` removes
        them. The notes are read and written under the folder's claim, which this needs (`UnclaimedError`
        without it, also when another thread gave it up meanwhile), so no other writer comes between: an
        append never loses a line written at the same time. Whatever ``change`` raises goes up, nothing
        written. A notes.txt that cannot be read (`read_notes`: not UTF-8, a symlink, a folder) is never
        written over: its `RunDirError` says so, and what to do (nothing a user wrote is lost)."""
        with self._claim_guard, self._writing(NOTES_NAME):
            try:
                current = self.read_notes()
            except RunDirError as exc:
                raise RunDirError(
                    f"{exc}; it is kept as it is, not written over: move it out of the run folder (or "
                    "mend it), then save the notes again"
                ) from None
            text = checked_notes(change(current))
            if text:
                atomic_write_text(self.path / NOTES_NAME, text + "\n")
            else:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self.path / NOTES_NAME)
        return text

    def write_status(self, status: dict[str, Any]) -> None:
        current = self.read_status()
        current.update(status, updated=now_iso())
        if "created" not in current:  # status.json lost it (damaged, deleted): kept by the run's first files
            created = self._created_from_files()
            if created is not None:
                current["created"] = created
        with self._writing("status.json"):
            atomic_write_text(self.path / "status.json", json.dumps(current, indent=2) + "\n")

    def _created_from_files(self) -> str | None:
        """When the run was made, as `now_iso` writes it, from the files written then: config.json (never
        rewritten), else run.json (which a loop resumed with other settings rewrites), by modification
        time; None when neither is there."""
        for name in ("config.json", META_NAME):
            try:
                made = os.stat(self.path / name).st_mtime
            except OSError:
                continue
            return dt.datetime.fromtimestamp(made, dt.timezone.utc).isoformat(timespec="milliseconds")
        return None

    def read_status(self) -> dict[str, Any]:
        """status.json with every known field of the right type (`checked_status`); {} where it is
        missing, unreadable or not a JSON object."""
        return self.read_status_checked()[0]

    def read_status_checked(self) -> tuple[dict[str, Any], list[str]]:
        """status.json as `read_status` gives it, and one line per thing wrong with it, naming the file
        and the field (a field of the wrong type is left out)."""
        path = self.path / "status.json"
        try:
            raw = json.loads(read_regular(path).decode("utf-8"))
        except FileNotFoundError:
            return {}, ["status.json is missing"]
        except OSError as exc:
            return {}, [f"status.json cannot be read ({os_reason(exc)})"]
        except UnicodeDecodeError as exc:
            return {}, [f"status.json is not UTF-8 text (byte {exc.start})"]
        except RecursionError:
            return {}, ["status.json is nested too deeply to read"]
        except ValueError as exc:  # not JSON, or a number json will not read (`json_reason`)
            return {}, [f"status.json is {json_reason(exc)}"]
        return checked_status(raw)

    def special_files(self, names: Sequence[str]) -> list[str]:
        """One problem line for each of ``names`` (files of the run folder) that is there but is no
        regular file (a named pipe, a folder, a device: never read, `open_regular`): for a listing, which
        reads some of a run's files only from their end, or not at all, and would not say so."""
        lines = []
        for name in names:
            try:
                mode = (self.path / name).stat().st_mode  # (a stat never waits, as opening a pipe does)
            except OSError:
                continue
            if not stat.S_ISREG(mode):
                lines.append(f"{name} is not a regular file: {file_kind(mode)}")
        return lines

    # ------------------------------------------------------------------ metrics
    def open_metrics(self, columns: tuple[str, ...], widen: bool = False) -> None:
        """Start (or continue) metrics.csv with ``columns`` as its header; a torn last line is cut off
        first (`repair_tail`). ``widen`` (the built-in trainer, which writes its rows in ``columns``'
        order): a file written by an earlier version, whose header lacks columns added since (a quality
        metric, say), gets them first (`widen_metrics`: its rows blank there), so that the rows appended
        now line up with the header; a header with a column ``columns`` lacks is a `RunDirError`, and so,
        widened or not, is one without a 'step' column or one that names a column twice
        (`_header_names`)."""
        header = self._header_for_writing()
        if widen and header and header != list(columns):
            self.widen_metrics(columns)
        with self._writing("metrics.csv"):
            fd = open_regular(self.path / "metrics.csv", os.O_RDWR | os.O_APPEND | os.O_CREAT)
            try:
                self._metrics_size = repair_tail(fd)
                if self._metrics_size == 0:
                    self._metrics_size = append_whole(fd, csv_line(columns), 0)
            except BaseException:
                os.close(fd)
                raise
            self._metrics_fd = fd

    def append_record(self, record: tuple[float | str, ...]) -> None:
        """Write one row at once, as a whole line in one append: a kill -9 at any moment leaves every
        row appended before it (the kernel holds written data for a killed process) and no torn one; a
        write that fails half way (a full disk) is cut back off before the error is raised.
        One small write per step costs about 5 µs, against a step of milliseconds; buffering rows for a
        second would save that and lose the newest second of a run, or more behind a slow
        evaluation."""
        if self._metrics_fd is not None:
            with self._writing("metrics.csv"):
                self._metrics_size = append_whole(self._metrics_fd, csv_line(record), self._metrics_size)

    def append_records(self, records: Sequence[tuple[float | str, ...]]) -> None:
        """Write many rows in one append (`append_record`'s guarantees: whole lines, none torn): a batch
        of the tracking API's steps (`gan_core.track`)."""
        if self._metrics_fd is not None and records:
            with self._writing("metrics.csv"):
                data = b"".join(csv_line(record) for record in records)
                self._metrics_size = append_whole(self._metrics_fd, data, self._metrics_size)

    def widen_metrics(self, columns: Sequence[str]) -> None:
        """Rewrite metrics.csv (atomically, while it is not open for appends) with header ``columns``: a
        superset of its present header in the same order with new names inserted, rows blank in the new
        columns. For a user's metric that first appears mid-run (`gan_core.track`); rare, not per step."""
        path = self.path / "metrics.csv"
        data = self.metrics_bytes() if path.exists() else b""
        header_line, _, body = data.partition(b"\n")
        old = _header_names(header_line, self.run_id) if header_line.strip() else []
        new = list(columns)
        if old == new:
            return
        missing = [c for c in old if c not in new]
        if missing:
            raise RunDirError(f"run {self.run_id!r}: metrics.csv cannot drop columns {missing}")
        where = [new.index(c) for c in old]
        out = [csv_line(new)]
        for fields in csv.reader(io.StringIO(body.decode("utf-8", "replace"))):
            row = [""] * len(new)
            for i, value in zip(where, fields):
                row[i] = value
            out.append(csv_line(row))
        with self._writing("metrics.csv"):
            _atomic_write(path, lambda f: f.write(b"".join(out)))

    def amend_last_metrics(self, step: int, values: dict[str, float]) -> None:
        """Set ``values`` (column -> number; NaN a blank cell) in metrics.csv's last row, which must be
        ``step``'s: for a measure taken after a run's last step, which no later row can carry (a final
        validation, `gan_core.track.TrackedRun.log_final`). The file is rewritten atomically (its earlier
        rows copied in blocks: once, at a run's end, not per step), and a writer that held it open
        (`open_metrics`) goes on appending to the new one. `RunDirError` when the last complete row is not
        ``step``'s, or a column is not in the header (widen it first, `widen_metrics`)."""
        path = self.path / "metrics.csv"
        writing = self._metrics_fd is not None
        names = self._header_for_writing()
        self.close()
        try:
            missing = [c for c in values if c not in names]
            if missing:
                raise RunDirError(
                    f"run {self.run_id!r}: metrics.csv has no column {', '.join(map(quoted, missing))}; "
                    "allowed: the columns of its header"
                )
            with os.fdopen(open_regular(path), "rb") as source:
                size = os.fstat(source.fileno()).st_size
                block_start = max(0, size - AMEND_WINDOW_BYTES)
                source.seek(block_start)
                block = complete_lines(source.read())  # (a torn last line is left out, as readers do)
                at = block.rfind(b"\n", 0, max(len(block) - 1, 0)) + 1  # the last line's start in the block
                start, row = block_start + at, block[at:]
                found = _row_step(row) if row and at > 0 else None  # (at 0: the header, or a row too long)
                if found != step:
                    raise RunDirError(
                        f"run {self.run_id!r}: metrics.csv's last row is "
                        f"{'missing' if found is None else f'step {found}'}, not step {step}: the values "
                        "measured after that step have no row to go into"
                    )
                cells: list[float | str] = list(
                    next(csv.reader([row.decode("utf-8", "replace").rstrip("\r\n")]))
                )
                cells += [""] * (len(names) - len(cells))
                for name, value in values.items():
                    cells[names.index(name)] = float(value)

                def write(target: BinaryIO) -> None:  # the rows before it, copied a block at a time
                    source.seek(0)
                    left = start
                    while left:
                        chunk = source.read(min(left, 1 << 20))
                        if not chunk:
                            raise RunDirError(
                                f"run {self.run_id!r}: metrics.csv shrank while it was rewritten"
                            )
                        target.write(chunk)
                        left -= len(chunk)
                    target.write(csv_line(cells))

                with self._writing("metrics.csv"):
                    _atomic_write(path, write)
        finally:
            if writing:  # (the header is there: opening it again only cuts a torn tail)
                self.open_metrics(tuple(names))

    def _header_for_writing(self) -> list[str]:
        """metrics.csv's header names as a writer goes on under them (`_header_names`: refused if one is
        named twice or none is 'step'); [] for a missing or empty file."""
        try:
            with os.fdopen(open_regular(self.path / "metrics.csv"), "rb") as f:
                first = f.readline()
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise RunDirError(f"run {self.run_id!r}: metrics.csv cannot be read ({os_reason(exc)})") from None
        return _header_names(first, self.run_id) if first.strip() else []

    def check_metrics_writable(self, columns: Sequence[str]) -> None:
        """`RunDirError`, naming metrics.csv and what is wrong, unless a writer of ``columns`` can go on
        in it: its header names each column once, only ``columns`` (a header that lacks some is widened,
        `open_metrics`) and names 'step' among them; no row holds a carriage return that does
        not end its line. A resume calls it before it writes anything: found later, such a file would
        end the run as failed, or have its rows rewritten wrongly."""
        header = self._header_for_writing()
        extra = [c for c in header if c not in columns]
        if extra:
            named = ", ".join(quoted(c) for c in extra[:6]) + (
                f" and {len(extra) - 6} more" if len(extra) > 6 else ""
            )
            raise RunDirError(
                f"run {self.run_id!r}: metrics.csv has {plural(len(extra), 'column')} this run does not "
                f"write ({named}); allowed: the columns it writes ({', '.join(columns[:5])}, … "
                f"{columns[-1]})"
            )
        try:
            data = self.metrics_bytes()
        except OSError as exc:
            raise RunDirError(f"run {self.run_id!r}: metrics.csv cannot be read ({os_reason(exc)})") from None
        stray = stray_cr_line(data)
        if stray is not None:
            raise RunDirError(
                f"run {self.run_id!r}: metrics.csv line {stray} holds a carriage return (\\r) inside a row; "
                "allowed: one row a line, each ending in a newline (\\n or \\r\\n)"
            )

    def close(self) -> None:
        """Flush metrics.csv to disk and close it (idempotent; a failing flush is still a close)."""
        if self._metrics_fd is not None:
            fd, self._metrics_fd = self._metrics_fd, None
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

    def metrics_bytes(self) -> bytes:
        """metrics.csv's complete lines (a live run's file trails it by at most about a second)."""
        try:
            return complete_lines(read_regular(self.path / "metrics.csv"))
        except FileNotFoundError:
            return b""

    def last_metrics_step(self) -> int | None:
        """The highest step of metrics.csv's complete rows with a usable step (`_whole_step`) in its last
        64 KiB (the last row's, in a file in step order), or None if it has none there (or it cannot be
        read)."""
        found = self._last_row(None, 64 * 1024, measured=False)
        return found[0] if found is not None else None

    def ended_without_rows(self, source: str) -> bool:
        """True for a run of ``source`` (run.json's: "api", "lightning") that ended (failed, stopped, or a
        writer that died, "running" in status.json with no process holding the folder: the caller checks
        that) before its first row: no metrics row, no snapshot but the start's at step 0. Such a run (a
        loop that broke at its first batch) starts again in its folder when run again under its id: nothing
        it recorded is lost, its events keep the earlier end. False for anything unreadable."""
        try:
            return (
                self.read_meta().source == source
                and self.read_status().get("status") in ("failed", "stopped", "running")
                and self.last_metrics_step() is None
                and all(step == 0 for step, _ in self.snapshot_steps())
            )
        except (RunDirError, OSError, ValueError):
            return False

    def first_metrics_step(self) -> int | None:
        """The lowest step of metrics.csv's complete rows with a usable step in its first 64 KiB (the first
        row's, in a file in step order), or None if it has none there (or it cannot be read): 1 for a run
        of the built-in trainer whose rows are whole."""
        try:
            with os.fdopen(open_regular(self.path / "metrics.csv"), "rb") as file:
                head = complete_lines(file.read(64 * 1024))
        except OSError:
            return None
        steps = [
            _whole_step(row.split(b",", 1)[0].decode("utf-8", "replace")) for row in head.split(b"\n")[1:]
        ]
        return min((s for s in steps if s is not None), default=None)  # (after the header)

    def last_metrics(self) -> dict[str, float]:
        """metrics.csv's row of the highest step (`last_metrics_step`: its last, in a file in step order)
        as ``{column: value}``, numbers only (a blank or unreadable cell is NaN; `METRICS_TEXT_COLUMNS`
        left out), read from the file's end, so as fast for a run of a million rows as for one of ten.
        ``{}`` when the file is missing, cannot be read or has no row with a usable step in its last
        64 KiB."""
        found = self._last_row(None, 64 * 1024, measured=False)
        return found[1] if found is not None else {}

    def last_measured(
        self, columns: Sequence[str], max_bytes: int = 16 * 2**20
    ) -> tuple[int, dict[str, float]] | None:
        """The metrics.csv row of the highest step in which any of ``columns`` holds a finite number (an
        evaluation's row, for `EVAL_COLUMNS`: measured every eval_every steps, blank between) as ``(step,
        {column: value})``, the columns the file has, a blank or unreadable cell NaN. Read backwards from the
        file's end, at most ``max_bytes`` of it (16 MiB: some 50,000 rows back), so a run of any length
        is read in about a millisecond. None when no such row is found there, or the file is missing or
        cannot be read."""
        return self._last_row(columns, max_bytes, measured=True)

    def _last_row(
        self, columns: Sequence[str] | None, max_bytes: int, measured: bool
    ) -> tuple[int, dict[str, float]] | None:
        """The complete row of the highest usable step (and with ``measured``, a finite number in one of
        ``columns``; None: every numeric column) among the last ``max_bytes`` of the file, read backwards
        in blocks of `_TAIL_BLOCK` bytes. In a file in step order (every writer's) that is the first such
        row from the end, and the read stops there. A file out of order (rows moved by hand: a row read
        backwards whose step is not below every step after it, or a first match below the first row's
        step) is read over the whole window, and its highest step wins (of equal steps, the later row)."""
        path = self.path / "metrics.csv"
        try:
            with os.fdopen(open_regular(path), "rb") as f:
                header_line = f.readline(64 * 1024)
                names = next(csv.reader([header_text(header_line)]), [])
                if columns is None:
                    columns = [c for c in names if c not in METRICS_TEXT_COLUMNS]
                wanted = {c: names.index(c) for c in columns if c in names}
                if not header_line.endswith(b"\n") or "step" not in names or not wanted:
                    return None
                step_at, body_start = names.index("step"), f.tell()
                first_row = _row_values(f.readline(64 * 1024), step_at, {}, False, 0)
                first_step = first_row[0] if first_row is not None else -1
                end = os.fstat(f.fileno()).st_size
                best: tuple[int, dict[str, float]] | None = None
                lowest = math.inf  # the lowest step read so far (rows after those still to read)
                in_order = True
                # Each block is read with the head of the line that the block after it started inside.
                pos, carry = end, b""
                while pos > body_start and end - pos < max_bytes:
                    start = max(body_start, pos - min(_TAIL_BLOCK, max_bytes - (end - pos)))
                    f.seek(start)
                    block = f.read(pos - start) + carry
                    if pos == end:  # a last line a kill cut short is no row yet
                        block = complete_lines(block)
                    pos = start
                    lines = block.split(b"\n")
                    carry = lines.pop(0) if pos > body_start else b""  # may start inside a row
                    for line in reversed(lines):
                        row = _row_values(line, step_at, {}, False, len(names))
                        if row is None:
                            continue
                        in_order = in_order and row[0] < lowest
                        lowest = min(lowest, row[0])
                        if best is not None and row[0] <= best[0]:
                            continue
                        found = _row_values(line, step_at, wanted, measured, len(names))
                        if found is not None:
                            best = found
                            if in_order and best[0] >= first_step:
                                return best
        except (OSError, csv.Error):  # (csv.Error: a header that cannot be read as CSV)
            return None
        return best

    def read_metrics(self, columns: Sequence[str] | None = None) -> pd.DataFrame:
        """metrics.csv as numbers, forgiving (see `read_metrics_checked`)."""
        return self.read_metrics_checked(columns)[0]

    def read_metrics_checked(self, columns: Sequence[str] | None = None) -> tuple[pd.DataFrame, list[str]]:
        """metrics.csv, and one line per thing wrong with it, naming the file, the column and the row.

        Every column but `METRICS_TEXT_COLUMNS` holds numbers: a cell that is not one is a gap (NaN).
        ``columns`` are the numeric columns the caller needs; one the file lacks is all gaps. Rows
        without a usable step, and rows with more fields than the header, are left out; one row per
        step (the later one, the one the run went on from), in step order. Only a file whose header
        names no ``step`` column is refused (`RunDirError`, `no_step_column`), whatever ``columns``:
        nothing in it can be placed (a file that lost its header line, bytes of something else); and one
        that cannot be read. An empty file is an empty frame."""
        try:
            data = self.metrics_bytes()
        except OSError as exc:
            raise RunDirError(f"run {self.run_id!r}: metrics.csv cannot be read ({os_reason(exc)})") from None
        return _metrics_frame(data, columns, self.run_id)

    def truncate_metrics(self, step: int) -> int:
        """Drop the rows after ``step`` (atomically: a new file renamed over the old); returns how many.

        Only while no writer has the file open (before a resumed run reopens it)."""
        path = self.path / "metrics.csv"
        if not path.exists():
            return 0
        data, dropped = self._metrics_up_to(step)
        if dropped or data != read_regular(path):  # rows to drop, or a torn last line
            with self._writing("metrics.csv"):
                _atomic_write(path, lambda f: f.write(data))
        return dropped

    def _metrics_up_to(self, step: int) -> tuple[bytes, int]:
        """metrics.csv's header and complete rows at steps <= ``step``, and how many rows came after."""
        header, _, body = self.metrics_bytes().partition(b"\n")
        if not header:
            return b"", 0
        rows = body.splitlines(keepends=True)
        # A row without a usable step (a hand edit) is left out, as the readers leave it out.
        steps = [_row_step(row) for row in rows]
        kept = [row for row, row_step in zip(rows, steps) if row_step is not None and row_step <= step]
        return header + b"\n" + b"".join(kept), len(rows) - len(kept)

    # ------------------------------------------------------------------ events
    def append_event(
        self, step: int, kind: str, detail: str, fields: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Log one event: its ``kind``, a line for people (``detail``) and its data (``fields``, JSON
        values; non-finite numbers are stored as null). Returns the event as readers give it back."""
        return self.write_event(make_event(step, kind, detail, fields))

    def write_event(self, event: dict[str, Any]) -> dict[str, Any]:
        """Append ``event`` (``{"step", "time", "kind", "detail", "fields"}``, as `append_event` makes it)
        to events.csv as one whole line; returns it."""
        with self._writing("events.csv"):
            if not self._events_current:
                self._upgrade_events()
                self._events_current = True
            _append_lines(self.path / "events.csv", _event_line(event))
        return event

    def _upgrade_events(self) -> None:
        """An events.csv of the older four columns (written before events had fields) rewritten, once and
        atomically, in today's `EVENT_COLUMNS`, each event's fields derived by `legacy_event_fields`:
        rows of five columns appended under a four-column header would read as malformed, their fields
        glued onto the detail. The caller holds the claim. Rows no reader can use (no whole step, a
        torn last line) are not carried over."""
        path = self.path / "events.csv"
        try:
            with os.fdopen(open_regular(path), "rb") as file:
                header = header_text(file.readline()).strip()
        except FileNotFoundError:
            return
        if [c.strip() for c in header.split(",")] != list(LEGACY_EVENT_COLUMNS):
            return
        events = self.read_events().to_dict("records")
        data = (",".join(EVENT_COLUMNS) + "\n").encode() + b"".join(_event_line(e) for e in events)
        _atomic_write(path, lambda f: f.write(data))

    def read_events(self) -> pd.DataFrame:
        """events.csv, forgiving (see `read_events_checked`)."""
        return self.read_events_checked()[0]

    def read_events_checked(self) -> tuple[pd.DataFrame, list[str]]:
        """events.csv (columns `EVENT_COLUMNS`, step a whole number, the others text) and one line per
        kind of thing wrong with it, naming the file and the first line. A row with extra fields keeps
        them in its detail, a row short of fields gets empty ones, a row without a usable step is left
        out; a torn last line is dropped."""
        path = self.path / "events.csv"
        try:
            data = complete_lines(read_regular(path))
        except FileNotFoundError:
            return pd.DataFrame(columns=EVENT_COLUMNS), []
        except OSError as exc:
            return pd.DataFrame(columns=EVENT_COLUMNS), [f"events.csv cannot be read ({os_reason(exc)})"]
        return events_frame(data)

    # ------------------------------------------------------------------ samples
    def save_snapshot(self, name: str | int, snapshot: dict[str, np.ndarray]) -> Path:
        """A view from `Trainer.snapshot` (or `real_view`): ``{"grid"}`` as PNG (a conditional grid's
        ``"labels"`` and ``"columns"`` in its text chunk `GRID_LABELS_CHUNK`), point views as .npz.

        ``name`` is a step (file step_00000100.*) or a plain name such as "real"."""
        stem = f"step_{name:08d}" if isinstance(name, int) else name
        if "grid" in snapshot:
            from PIL import Image
            from PIL.PngImagePlugin import PngInfo

            path = self.path / "samples" / f"{stem}.png"
            image = Image.fromarray(snapshot["grid"])
            info = PngInfo()
            if "labels" in snapshot:  # a conditional grid's classes, in a text chunk (`_grid_labels`)
                classes = {
                    "labels": [int(c) for c in np.asarray(snapshot["labels"]).ravel()],
                    "columns": int(snapshot["columns"]),
                }
                info.add_text(GRID_LABELS_CHUNK, json.dumps(classes))
            with self._writing(f"samples/{path.name}"):
                _atomic_write(path, lambda f: image.save(f, format="PNG", pnginfo=info))
        else:
            path = self.path / "samples" / f"{stem}.npz"
            arrays = {k: np.asarray(v, dtype=np.float32) for k, v in snapshot.items()}
            with self._writing(f"samples/{path.name}"):
                _atomic_write(path, lambda f: np.savez(f, **arrays))
        return path

    def thin_snapshots(self, keep: int, stride: int = 1) -> int:
        """Delete snapshots as `thinned` drops them (at most ``keep``); returns the stride now in force."""
        found = self.snapshot_steps()
        kept, stride = thinned(found, keep, stride)
        with self._writing("samples/"):
            for item in set(found) - set(kept):
                item[1].unlink(missing_ok=True)
        return stride

    def snapshot_steps(self) -> list[tuple[int, Path]]:
        found = []
        for p in (self.path / "samples").iterdir() if (self.path / "samples").is_dir() else ():
            m = _SNAPSHOT_RE.fullmatch(p.name)
            if m:
                found.append((int(m.group(1)), p))
        return sorted(found)

    def load_snapshot(self, path: Path | str) -> dict[str, np.ndarray]:
        """A saved view: ``{"grid": (H, W, 3) uint8, "labels"?: (N,) int64, "columns"?: () int64}`` (the
        classes of a conditional grid, saved with it; none in a snapshot from before they were, or in one
        whose record of them is damaged) or ``{"points", "heatmap"?, "grads"?, "bounds"?, "mesh"?,
        "mesh_dims"?}`` (`trainer.snapshot_view`; a snapshot from before G's map was drawn has no mesh).

        A plain name (e.g. "real") is looked up in samples/. A file that cannot be decoded, or holds
        something else than such a view, is a `RunDirError` naming it."""
        if isinstance(path, str):
            matches = sorted(
                p for p in (self.path / "samples").glob(f"{path}.*") if p.suffix in (".png", ".npz")
            )
            if not matches:
                raise RunDirError(f"run {self.run_id!r} has no sample view {quoted(path)}")
            path = matches[0]
        path = inside(self.path, path, "the run's folder")
        what = f"{path.parent.name}/{path.name} of run {self.run_id!r}"
        try:
            file = os.fdopen(open_regular(path), "rb")
        except OSError as exc:  # gone, a folder or a named pipe of such a name, no permission
            raise RunDirError(f"{what} is unreadable ({_short_reason(exc)})") from None
        with file:
            try:
                view = _load_npz(file) if path.suffix == ".npz" else _load_png(file)
            except Exception as exc:  # a damaged file fails in as many ways as its decoders have errors
                if path.suffix == ".npz":
                    reason = numpy_load_reason(exc)
                    raise RunDirError(
                        f"{what} is not a readable .npz snapshot written by this tool ({reason}); "
                        f"allowed {NPZ_SNAPSHOT_ALLOWED}"
                    ) from None
                raise RunDirError(f"{what} is unreadable ({_short_reason(exc)})") from None
        problem = _view_problem(view)
        if problem:
            raise RunDirError(f"{what} is not a view this dashboard can show: {problem}")
        return view

    # ------------------------------------------------------------------ checkpoints
    def save_checkpoint(self, state: dict[str, Any], keep: int) -> Path:
        step = int(state["step"])
        path = self.path / "checkpoints" / f"step_{step:08d}.pt"
        # Serialised in memory first: torch.save writing to the file turns a failed write (a full disk, a
        # file-size limit) into a RuntimeError of its zip writer ("unexpected pos ..."), while a plain write
        # of the bytes raises the OSError that `_writing` names ("File too large").
        buffer = io.BytesIO()
        torch.save(state, buffer)
        with self._writing(f"checkpoints/{path.name}"):
            _atomic_write(path, lambda f: f.write(buffer.getbuffer()))
            for _, old in self.checkpoints()[:-keep]:
                old.unlink(missing_ok=True)
        return path

    def remove_checkpoint(self, step: int) -> None:
        """Delete the checkpoint of ``step`` (nothing to do without one). `RunDirError` if it cannot be."""
        path = self.path / "checkpoints" / f"step_{step:08d}.pt"
        with self._writing(f"checkpoints/{path.name}"):
            path.unlink(missing_ok=True)

    def checkpoints(self) -> list[tuple[int, Path]]:
        """The kept checkpoints as (step, path), oldest first: the regular files of checkpoints/ named
        step_NNNNNNNN.pt. A folder, a named pipe or a symlink of such a name is no checkpoint (a link is
        not followed: `load_checkpoint` refuses one), so that no resume, branch, picker or thinning
        takes it for one."""
        return [(step, path) for step, path, regular in self.checkpoint_entries() if regular]

    def checkpoint_entries(self) -> list[tuple[int, Path, bool]]:
        """(step, path, whether a regular file) of each entry of checkpoints/ named step_NNNNNNNN.pt,
        oldest first; [] without the folder. A resume goes on from the newest entry, and refuses it when it
        is no regular file rather than pass it by (`not_checkpoints` says why each such entry is none)."""
        folder = self.path / "checkpoints"
        if not folder.is_dir():
            return []
        with os.scandir(folder) as entries:
            return sorted(
                # (is_file without following links: the directory entry's own type, as lstat says)
                (int(m.group(1)), Path(entry.path), entry.is_file(follow_symlinks=False))
                for entry in entries
                if (m := _CHECKPOINT_RE.fullmatch(entry.name))
            )

    def not_checkpoints(self) -> list[str]:
        """Why each entry of checkpoints/ named like a checkpoint but no regular file (a folder, a symlink,
        a named pipe) is none, oldest first: what `load_checkpoint` says of it; or, when checkpoints itself
        is no folder (a file of that name), one line saying so (`checkpoints_folder_problem`).
        `checkpoints` leaves them out; this is for saying why such a run has no checkpoint to use."""
        problem = self.checkpoints_folder_problem()
        if problem is not None:
            return [problem]
        lines = []
        for _, path, regular in self.checkpoint_entries():
            if regular:
                continue
            try:
                self.load_checkpoint(path)  # refused before anything is read: never a regular file
            except RunDirError as exc:
                lines.append(str(exc))
        return lines

    def checkpoints_folder_problem(self) -> str | None:
        """Why the run's checkpoints/ is no folder its checkpoints can be read from (a file, a named pipe
        or a dangling link of that name), or None: a folder, or nothing there (a run saves none before
        its first). A run whose checkpoints is a file has none, and it is not for want of saving one."""
        folder = self.path / "checkpoints"
        if folder.is_dir() or not os.path.lexists(folder):
            return None
        try:
            kind = (
                "a symlink that leads to no folder"
                if folder.is_symlink()
                else file_kind(folder.stat().st_mode)
            )
        except OSError as exc:  # gone meanwhile, or no permission to look
            kind = f"unreadable ({os_reason(exc)})"
        return (
            f"checkpoints in run {self.run_id!r} is {kind}, not a folder, so no checkpoint of the run can be "
            "read; allowed: a folder named checkpoints holding the checkpoint files the run saved "
            "(step_NNNNNNNN.pt)"
        )

    def checkpoint_at(self, step: int | None = None) -> tuple[int, Path]:
        """The kept checkpoint of ``step`` (the latest when None) as (step, path); `RunDirError` naming
        the kept steps if there is none, or saying when the run saves one if it has none yet."""
        kept = dict(self.checkpoints())
        if not kept:
            none = "no checkpoint yet" if step is None else f"no checkpoint at step {step}, nor any other yet"
            raise RunDirError(
                f"run {self.run_id!r} has {none}{self._when_checkpointed()}: branch from it once it has "
                "saved one"
            )
        if step is None:
            step = max(kept)
        if step not in kept:
            steps = ", ".join(map(str, kept)) or "none"
            raise RunDirError(f"run {self.run_id!r} has no checkpoint at step {step}: kept steps {steps}")
        return step, kept[step]

    def _when_checkpointed(self) -> str:
        """When this run saves checkpoints, by its config.json, as " (every N steps (checkpoint_every) and
        when it ends or pauses)"; "" for a run without a readable config (a user's loop saves none)."""
        try:
            every = self.read_config().checkpoint_every
        except Exception:  # no config.json, or a damaged one: said where it is read
            return ""
        if every == 0:
            return " (it saves one only when it ends or pauses: checkpoint_every is 0)"
        return f" (it saves one every {every} steps, checkpoint_every, and when it ends or pauses)"

    def latest_checkpoint(self) -> Path | None:
        found = self.checkpoints()
        return found[-1][1] if found else None

    def load_checkpoint(self, path: Path | None = None, map_location: str | torch.device = "cpu") -> dict:
        """The checkpoint at ``path`` (the latest when None), loaded with ``weights_only=True``: tensors and
        plain containers only, never pickled code. `RunDirError`, naming the file, if there is none, it is
        outside the run's folder, not a PyTorch archive, holds objects other than tensors and plain
        values, cannot be read, lacks G, D, its step or its config, or its step is no whole number ≥ 0."""
        path = path or self.latest_checkpoint()
        if path is None:
            raise RunDirError(f"run {self.run_id!r} has no checkpoint yet")
        if Path(path).is_symlink():  # refused wherever it leads: a link can be repointed between checks
            raise RunDirError(
                f"checkpoint {clipped(Path(path).name)} of run {self.run_id!r} is a symlink; checkpoints are "
                "read only as regular files inside the run's folder (its checkpoints/), never through a link"
            )
        path = inside(self.path, path, "the run's folder")
        what = f"checkpoint {clipped(path.name)} of run {self.run_id!r}"
        if path.is_dir():
            raise RunDirError(
                f"{what} is a folder, not a file; allowed: a checkpoint file the run saved (step_NNNNNNNN.pt)"
            )
        try:
            file = os.fdopen(open_regular(path), "rb")
        except FileNotFoundError:  # a typo, or thinned away by keep_checkpoints since it was listed
            kept = ", ".join(p.name for _, p in self.checkpoints()) or "none"
            raise RunDirError(f"{what} does not exist; kept: {kept}") from None
        except OSError as exc:  # no permission, or a named pipe or a folder of that name
            raise RunDirError(f"{what} cannot be read ({os_reason(exc)})") from None
        with file:
            return _checkpoint_state(file, what, map_location)

    # ------------------------------------------------------------------ resume and branch
    def rewind_to(self, step: int) -> int:
        """Make the folder end at ``step``, for a run resumed from its checkpoint there: temp files a kill
        left behind are removed, metric rows, snapshots and checkpoints after ``step`` dropped (events are
        a log and stay). Returns the number of metric rows dropped."""
        with self._writing("the run folder"):
            for folder in (self.path, self.path / "samples", self.path / "checkpoints"):
                for tmp in folder.glob(".*.tmp") if folder.is_dir() else ():
                    tmp.unlink(missing_ok=True)
            for found in (self.snapshot_steps(), self.checkpoints()):
                for s, path in found:
                    if s > step:
                        path.unlink(missing_ok=True)
        return self.truncate_metrics(step)

    def branch(self, step: int, run_id: str | None = None) -> RunDir:
        """A new run folder beside this one that starts from this run's checkpoint at ``step``.

        It gets this run's config, its metric rows, snapshots and current events up to ``step``, the
        checkpoint, a ``branch`` event, and ``parent`` / ``parent_step`` in its status.json. This folder
        is only read. Files are hard links where the file system allows (nothing here is ever rewritten
        in place, only replaced), else copies. The new folder is returned claimed (`claim`)."""
        _, checkpoint = self.checkpoint_at(step)
        cfg = self.read_config()
        child = RunDir.create(self.root, cfg, run_id or self._branch_id(step))
        try:
            with child._writing("the branch's files"):
                _link_or_copy(checkpoint, child.path / "checkpoints" / checkpoint.name)
                metrics, _ = self._metrics_up_to(step)
                if metrics:
                    _atomic_write(child.path / "metrics.csv", lambda f: f.write(metrics))
                # A live parent may thin a snapshot away meanwhile: a missing one is skipped.
                for s, path in self.snapshot_steps():
                    if s <= step:
                        _link_or_copy(path, child.path / "samples" / path.name, missing_ok=True)
                for path in (self.path / "samples").glob("real.*"):
                    _link_or_copy(path, child.path / "samples" / path.name, missing_ok=True)
                events = [
                    e for e in current_events(self.read_events().to_dict("records")) if _step_of(e) <= step
                ]
                lines = b"".join(_event_line(e) for e in events)
                _append_lines(child.path / "events.csv", lines)
            child.append_event(
                step,
                "branch",
                f"from run {self.run_id} at step {step}",
                {"parent": self.run_id, "parent_step": step},
            )
            child.write_status(
                {"status": "stopped", "step": step, "parent": self.run_id, "parent_step": step}
            )
        except BaseException:
            child.discard()
            raise
        return child

    def discard(self) -> None:
        """Remove this folder, made by this process and claimed, after a failed start (a branch whose
        checkpoint does not fit, say); then give the claim up."""
        if self.claimed:
            self.close()
            shutil.rmtree(self.path, ignore_errors=True)
        self.release()

    def _branch_id(self, step: int) -> str:
        suffix = f"-at{step}"
        base = self.run_id[: 100 - len(suffix) - 5] + suffix
        if not (self.root / base).exists():
            return base
        return f"{base}-{secrets.token_hex(2)}"


def _checkpoint_state(file: BinaryIO, what: str, map_location: str | torch.device) -> dict:
    """`load_checkpoint`'s checks and load of the checkpoint open as ``file``."""
    if not zipfile.is_zipfile(file):  # torch.save writes a zip archive; anything else is refused early
        raise RunDirError(
            f"{what} is not a PyTorch checkpoint (not a zip archive: truncated, damaged or another "
            "format); allowed: a checkpoint saved by this dashboard"
        )
    file.seek(0)
    try:
        state = torch.load(file, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:  # weights_only refused an object: pickled code or a class
        found = " ".join(re.sub(r"\x1b\[[0-9;]*m", "", str(exc)).split())  # no terminal colours
        named = re.search(r"GLOBAL ([\w.]+)", found)  # the code (or class) it would have called
        found = f"it would call {named.group(1).rstrip('.')}" if named else found[:200]
        raise RunDirError(
            f"{what} holds objects other than tensors and plain values ({found}); refused: "
            "checkpoints load with weights_only and never run pickled code"
        ) from None
    except Exception as exc:  # corrupt or truncated inside the archive: refused alike
        reason = " ".join(str(exc).split())[:300]
        raise RunDirError(f"{what} cannot be loaded ({reason})") from None
    required = {"generator", "discriminator", "step", "config"}
    if not isinstance(state, dict) or not required <= set(state):
        raise RunDirError(f"{what} is not a GAN checkpoint (needs {', '.join(sorted(required))})")
    step = state["step"]
    if isinstance(step, bool) or not isinstance(step, int) or step < 0:  # hand-edited: "abc", a list
        raise RunDirError(f"{what}: its step is {shown_value(step)}; allowed: a whole number ≥ 0")
    return state


def _link_or_copy(source: Path, target: Path, missing_ok: bool = False) -> None:
    try:
        os.link(source, target)
    except FileNotFoundError:
        if not missing_ok:
            raise RunDirError(
                f"{source.name} of run {source.parents[1].name!r} is gone (a live run rolled it away?): "
                "choose a newer checkpoint"
            ) from None
    except OSError:  # no hard links here (another file system, FAT, ...): a copy
        shutil.copy2(source, target)


def grid_columns(n: int, nrow: int | None = None) -> int:
    """The images a row of `image_grid` holds for ``n`` images: ``nrow`` (default the square's side,
    ceil(sqrt(n))), at most ``n`` (as torchvision's make_grid lays them out)."""
    return max(1, min(nrow or int(math.ceil(math.sqrt(n))), n))


def image_grid(images: np.ndarray, nrow: int | None = None) -> np.ndarray:
    """(N, C, H, W) images in [-1, 1] -> (H', W', 3) uint8 grid, via torchvision's make_grid, rows of
    `grid_columns` images."""
    from torchvision.utils import make_grid

    tensor = torch.as_tensor(images)
    nrow = grid_columns(tensor.shape[0], nrow)
    grid = make_grid(tensor, nrow=nrow, padding=1, normalize=True, value_range=(-1, 1), pad_value=1.0)
    return (grid.permute(1, 2, 0).clamp(0, 1) * 255).round().to(torch.uint8).numpy()


def list_runs(root: str | Path) -> list[RunDir]:
    """Every run folder (one holding run.json or config.json) directly inside ``root`` that may be read,
    newest first; `scan_runs` lists the others too."""
    return [run for run in scan_runs(root) if isinstance(run, RunDir)]


# ---------------------------------------------------------------------------------------------- readers
# Readers forgive, and say what they forgave: a reader of a run file survives a torn tail, a missing or
# extra column or field and a value of the wrong type, and reports each as one line that names the file
# and the field ("problems"), which a page shows beside that run only. What cannot be read at all is a
# `RunDirError` naming the file; a run folder that must not be read is an `UnreadableRun`.

# The entries of a run folder a reader opens: one that is a symlink out of the runs folder makes the whole
# run unreadable (the files of samples/ and checkpoints/ are checked as they are read: `inside`).
RUN_ENTRIES = (
    *("run.json", "config.json", "status.json", "metrics.csv", "events.csv", "samples", "checkpoints"),
    *("commands.json", LOCK_NAME),
)
# metrics.csv's columns that hold text (trainer.CSV_COLUMNS); every other column holds numbers.
METRICS_TEXT_COLUMNS = ("flags",)
MAX_SNAPSHOT_BYTES = 256 * 2**20  # uncompressed, one .npz: a real snapshot is well under 1 MiB
MAX_SNAPSHOT_PIXELS = 8192 * 8192  # one .png: a 64-image grid of 64 px images is 520 x 520


@dataclass(frozen=True)
class UnreadableRun:
    """An entry of the runs folder that looks like a run but is never read; ``reason`` says why. Delete
    removes it (a symlink loses only the link)."""

    run_id: str
    path: Path  # the entry itself, not resolved
    reason: str


def _within(root: Path, path: Path) -> bool:
    return path == root or root in path.parents


def unsafe_reason(root: str | Path, folder: Path) -> str | None:
    """Why run folder ``folder`` in ``root`` must not be read, or None: it is a symlink (read through
    it, a run could show, and a delete could remove, files that are not its own), or one of its
    `RUN_ENTRIES` is a symlink to a place outside the runs folder. Only links are looked at."""
    root_r = Path(os.path.realpath(root))  # (realpath: a loop of links is no error here)
    if folder.is_symlink():
        target = Path(os.path.realpath(folder))
        if not _within(root_r, target):
            return "is a symlink to a place outside the runs folder; it is never read"
        return (
            f"is a symlink (to {str(target.relative_to(root_r))!r} in the runs folder); a run is a folder "
            "of its own and is never read through a link"
        )
    for name in RUN_ENTRIES:
        entry = folder / name
        if entry.is_symlink() and not _within(root_r, Path(os.path.realpath(entry))):
            return f"has a {name} that is a symlink to a place outside the runs folder; it is never read"
    return None


def holds_run(folder: str | Path) -> bool:
    """Whether ``folder`` is a folder holding a run: run.json or config.json in it (the rule `scan_runs`
    lists by). `OSError` when it cannot be looked into."""
    folder = Path(folder)
    return folder.is_dir() and any(os.path.lexists(folder / name) for name in (META_NAME, "config.json"))


def scan_runs(root: str | Path) -> list[RunDir | UnreadableRun]:
    """Every entry directly inside ``root`` named like a run and holding run.json or config.json, newest
    first: a
    `RunDir`, or an `UnreadableRun` for one that must not or cannot be read. Never raises."""
    root = Path(root)
    try:
        entries = list(root.iterdir())
    except OSError:
        return []
    found: list[tuple[float, RunDir | UnreadableRun]] = []
    for entry in entries:
        if not RUN_ID_RE.fullmatch(entry.name) or ".." in entry.name:
            continue
        try:
            # (for a symlink these look through it: its target's metadata, never its content)
            if not holds_run(entry):
                continue
            reason = unsafe_reason(root, entry)
            item: RunDir | UnreadableRun = (
                UnreadableRun(entry.name, entry, reason) if reason else RunDir(entry, root)
            )
            mtime = entry.lstat().st_mtime
        except (OSError, RunDirError) as exc:  # gone meanwhile, no permission, a loop of links
            reason = os_reason(exc) if isinstance(exc, OSError) else str(exc)
            item, mtime = UnreadableRun(entry.name, entry, f"cannot be read ({reason})"), 0.0
        found.append((mtime, item))
    return [item for _, item in sorted(found, key=lambda f: f[0], reverse=True)]


def _kind_of(path: Path) -> str | None:
    """What ``path`` is (`file_kind`, symlinks followed: "a regular file", "a named pipe (FIFO)", ...),
    None where there is nothing (a symlink leading nowhere too)."""
    try:
        return file_kind(path.stat().st_mode)
    except OSError:
        return None


def os_reason(exc: OSError) -> str:
    return exc.strerror or str(exc) or type(exc).__name__


def make_runs_root(root: Path) -> None:
    """Make the runs folder ``root`` (with its parents) unless it is there. `RunDirError` naming it, the
    system's reason and what is allowed when it cannot be made (a file there or among its parents, a
    place such as /proc where nothing can be made, no permission)."""
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _unmakeable(root, exc, "it") from exc


def _unmakeable(root: Path, exc: OSError, what: str) -> RunDirError:
    """The `RunDirError` for ``what`` (the runs folder, or a run's folder in it) that ``exc`` kept from
    being made in the runs folder ``root``."""
    reason = os_reason(exc)
    if isinstance(exc, FileExistsError | NotADirectoryError):  # "File exists" would not say which
        blocking = next((p for p in (root, *root.parents) if p.exists() and not p.is_dir()), None)
        if blocking is not None:
            reason = f"{str(blocking)!r} is a file, not a folder"
    return RunDirError(
        f"runs folder {str(root)!r}: cannot make {what} ({reason}); allowed: a folder of runs that exists "
        "or can be made (with its parents), where this user can write"
    )


def json_reason(exc: ValueError) -> str:
    """Why a run file's bytes are not JSON this version reads, to follow "<file> is ...": ``exc`` from
    decoding them or from ``json.loads``. Python 3.11 refuses an integer literal longer than
    ``sys.get_int_max_str_digits()`` (4300 digits) with a plain ValueError, not a JSONDecodeError."""
    if isinstance(exc, json.JSONDecodeError):
        return f"not valid JSON ({json_error(exc)})"
    if isinstance(exc, UnicodeDecodeError):
        return f"not UTF-8 text (byte {exc.start})"
    limit = getattr(sys, "get_int_max_str_digits", lambda: 0)()
    if limit and "digits" in str(exc):
        return f"not JSON this version reads (a number of more than {limit} digits; allowed: up to {limit})"
    return f"not valid JSON ({_short_reason(exc)})"


def _short_reason(exc: BaseException, limit: int = 200) -> str:
    """``exc``'s words on one line, cut as `clipped` cuts (they may repeat a file's bytes)."""
    return clipped(" ".join(str(exc).split()) or type(exc).__name__, limit)


def shown_value(value: Any, limit: int = 60) -> str:
    """A value from a file as a problem line quotes it: JSON's words, else `quoted` (cut short)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f"the text {quoted(value, limit)}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return quoted(value, limit)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# The largest step a run file may name is GANConfig's bound on ``steps`` (MAX_STEPS). A larger one is
# damage, and one past 2**63 would crash the pages' tables (pandas turns the column into C longs: "Python
# int too large to convert to C long").
STEP_ALLOWED = f"an integer ≥ 0, at most {MAX_STEPS}"


def _is_step(value: Any) -> bool:
    return _is_int(value) and 0 <= value <= MAX_STEPS


def _text_or_null(value: Any) -> bool:
    return value is None or isinstance(value, str)


def _notes_answer(value: Any) -> bool:
    return value is None or (
        isinstance(value, dict)
        and _is_int(value.get("seq"))
        and _text_or_null(value.get("id"))
        and _text_or_null(value.get("error"))
        and isinstance(value.get("changed"), bool)
    )


def _status_fields() -> dict[str, tuple[Callable[[Any], bool], str]]:
    """status.json's known fields: field -> (check, what is allowed)."""
    from gan_core.tracking.schema import STATUSES

    return {
        # the writer looks at commands.json (`gan_core.tracking.commands`): Pause and Stop can reach it
        "commands": (lambda v: isinstance(v, bool), "true or false"),
        # and notes_request.json: notes sent to it (`send_notes`), answered in "notes_request"
        "notes_requests": (lambda v: isinstance(v, bool), "true or false"),
        "notes_request": (
            _notes_answer,
            '{"seq": integer, "id": text, "error": text or null, "changed": true or false}',
        ),
        "status": (lambda v: isinstance(v, str) and v in STATUSES, f"one of {', '.join(STATUSES)}"),
        "step": (_is_step, STEP_ALLOWED),
        "steps": (_is_step, STEP_ALLOWED),  # the target in force (0: open)
        # a user's own run's counts given to `gan_core.track.init` (absent in older runs and built-in ones)
        "sample_every": (lambda v: _is_step(v) and v >= 1, f"an integer ≥ 1, at most {MAX_STEPS}"),
        "eval_every": (lambda v: _is_step(v) and v >= 1, f"an integer ≥ 1, at most {MAX_STEPS}"),
        "seed": (lambda v: _is_int(v) and 0 <= v < 2**31, "an integer from 0 to 2**31-1"),
        "parent": (
            lambda v: (
                v is None or isinstance(v, str) and RUN_ID_RE.fullmatch(v) is not None and ".." not in v
            ),
            "a run id or null",
        ),
        "parent_step": (lambda v: v is None or _is_step(v), f"{STEP_ALLOWED} or null"),
        "pid": (lambda v: v is None or _is_int(v) and v > 0, "a process id (an integer > 0) or null"),
        "train_seconds": (
            lambda v: not isinstance(v, bool) and isinstance(v, int | float) and math.isfinite(v) and v >= 0,
            "a number ≥ 0",
        ),
        **{
            name: (_text_or_null, "a text or null")
            for name in ("error", "device", "created", "updated", "pid_start", "torch")
        },
        # the job that writes the run (`gan_core.distributed.job_fields`): absent before multi-process jobs
        "world_size": (lambda v: _is_int(v) and v >= 1, "an integer ≥ 1"),
        "backend": (_text_or_null, "a text or null"),
        "hosts": (
            lambda v: isinstance(v, list) and all(isinstance(h, str) for h in v),
            "a list of host names (texts)",
        ),
    }


def checked_status(raw: Any) -> tuple[dict[str, Any], list[str]]:
    """status.json's content with each known field of the right type, and one line per field that was
    not (left out: a page shows the run without it). ``flags`` and ``flags_raised`` are lists of flag
    names: an entry that is not a text is left out; a name this version does not know (a newer version
    wrote it) is kept, as text, and reported. Fields this version does not know are kept as they are."""
    from gan_core.flags import FLAGS

    if not isinstance(raw, dict):
        return {}, [f"status.json holds {shown_value(raw)}, not a JSON object of fields"]
    status, problems = dict(raw), []
    for name, (check, allowed) in _status_fields().items():
        if name in status and not check(status[name]):
            value = shown_value(status.pop(name))
            problems.append(f"status.json: field {name!r} is {value}; expected {allowed}")
    if "parent" not in status and status.pop("parent_step", None) is not None:  # a step of no known run
        problems.append("status.json: field 'parent_step' left out with the parent it belongs to")
    for name in ("flags", "flags_raised"):
        if name not in status:
            continue
        value = status[name]
        if not isinstance(value, list):
            status.pop(name)
            shown = shown_value(value)
            problems.append(f"status.json: field {name!r} is {shown}; expected a list of flag names")
            continue
        names = [v for v in value if isinstance(v, str)]
        if len(names) < len(value):
            odd = next(v for v in value if not isinstance(v, str))
            problems.append(
                f"status.json: field {name!r} holds {shown_value(odd)}; expected flag names (texts), left out"
            )
        for unknown in [v for v in names if v not in FLAGS][:1]:
            problems.append(
                f"status.json: field {name!r} names {shown_value(unknown)}, a flag this version does not "
                "know "
                "(written by another version?); shown as it is"
            )
        status[name] = names
    return status, problems


_TAIL_BLOCK = 64 * 1024  # bytes a backward read of metrics.csv takes at a time (`RunDir.last_measured`)


def no_step_column(run_id: str, header: str) -> RunDirError:
    """The error for a metrics.csv whose header line ``header`` names no 'step' column (a file that lost
    its header line, one of something else), in the words every reader of the file uses."""
    return RunDirError(
        f"run {run_id!r}: metrics.csv has no 'step' column (its header: {quoted(header)}); nothing in it "
        "can be placed, and rows written under it could not be either; allowed: a first line naming the "
        "columns, 'step' among them (as this tool writes it)"
    )


def no_step_line(header: str) -> str:
    """The problem line of a reader that reads a metrics.csv whose header line ``header`` names no 'step'
    column as a file without rows (a run's page, its listing): the rest of the run stays reachable."""
    return (
        f"metrics.csv has no 'step' column (its header: {quoted(header)}); nothing in it can be placed, so "
        "its charts show no step; allowed: a first line naming the columns, 'step' among them (as this "
        "tool writes it)"
    )


def _header_names(line: bytes, run_id: str) -> list[str]:
    """The column names of metrics.csv's header ``line`` as a writer reads them (split at commas, spaces
    around a name dropped, a UTF-8 byte-order mark before it skipped, as every reader skips it,
    `header_text`); `RunDirError` for a header a writer must not go on under: one without a 'step'
    column (`no_step_column`: nothing in the file can be placed) or one that names a column twice (its
    rows would be rewritten into one column, `widen_metrics`)."""
    text = header_text(line)
    names = [c.strip() for c in text.strip().split(",")]
    if "step" not in names:  # (a file without its header line: its first row read as one)
        raise no_step_column(run_id, text)
    twice = next((c for i, c in enumerate(names) if c in names[:i]), None)
    if twice is not None:
        raise RunDirError(
            f"run {run_id!r}: metrics.csv's header names column {quoted(twice)} twice; allowed: each column "
            "once"
        )
    return names


BOM = b"\xef\xbb\xbf"  # UTF-8's byte-order mark, which spreadsheet programs write before a CSV's header


def header_text(line: bytes) -> str:
    """A CSV file's first line as text, a UTF-8 byte-order mark before it dropped (Excel's "CSV UTF-8"
    writes one; a reader that kept it would name the first column '\\ufeffstep'), its line end dropped;
    bytes that are not UTF-8 read as �."""
    return line.removeprefix(BOM).decode("utf-8", "replace").rstrip("\r\n")


def stray_cr_line(data: bytes) -> int | None:
    """The line number (from 1) of the first line of ``data`` with a carriage return that does not end
    it (one before its newline is a CRLF ending), or None."""
    at = data.find(b"\r")
    while at >= 0 and data[at + 1 : at + 2] == b"\n":
        at = data.find(b"\r", at + 1)
    if at < 0:
        return None
    return data.count(b"\n", 0, at) + 1


def _row_values(
    line: bytes, step_at: int, wanted: dict[str, int], measured: bool, width: int
) -> tuple[int, dict[str, float]] | None:
    """A metrics.csv line's (step, values of ``wanted``: column -> index), a cell that is no number NaN;
    None if its step is not `STEP_ALLOWED`, if it holds other than ``width`` fields when given (the
    header's: a row cut short or too long) or opens a quote it does not close (`Misfits`: the readers
    leave those out), or with ``measured`` if no wanted value is finite."""
    if not line.strip():
        return None
    text = line.decode("utf-8", "replace")
    try:
        if '"' in text and _opens_quote(text.rstrip("\r")):
            return None
        cells = next(csv.reader([text]), [])
    except csv.Error:  # a carriage return inside the row, say: not a row a reader can use
        return None
    if width and len(cells) != width:
        return None

    def number(i: int) -> float:
        try:
            return float(cells[i])
        except (IndexError, ValueError):
            return math.nan

    step = _whole_step(cells[step_at])
    if step is None:
        return None
    values = {c: number(i) for c, i in wanted.items()}
    if measured and not any(math.isfinite(v) for v in values.values()):
        return None
    return step, values


def _row_step(row: bytes) -> int | None:
    """The step a metrics.csv row starts with, or None if it has none a reader keeps (`_whole_step`)."""
    return _whole_step(row.split(b",", 1)[0].decode("utf-8", "replace"))


def _whole_step(text: str) -> int | None:
    """A row's step (metrics.csv's or events.csv's): a whole number ≥ 0, at most `MAX_STEPS` (also
    written as 12.0; `STEP_ALLOWED`), or None."""
    try:
        value = float(text)
    except ValueError:
        return None
    return int(value) if math.isfinite(value) and value.is_integer() and 0 <= value <= MAX_STEPS else None


def usable_steps(steps: np.ndarray) -> np.ndarray:
    """Which of ``steps`` ((n,) float64, as a CSV reader parsed them; NaN for none) a row may have, as
    `_whole_step` judges one: (n,) bool."""
    with np.errstate(invalid="ignore"):
        return np.isfinite(steps) & (steps >= 0) & (steps <= MAX_STEPS) & (np.floor(steps) == steps)


def no_usable_step(rows: int, row: int, raw: Any) -> str:
    """The problem line for ``rows`` metrics.csv rows left out for their step, the first at data row
    ``row`` (from 1) with step cell ``raw``, in the words of every reader of the file."""
    if isinstance(raw, np.generic):  # (a whole read's cell as pandas parsed it; a tail's is a float)
        raw = raw.item()
    if isinstance(raw, int | float) and not isinstance(raw, bool) and math.isfinite(raw):
        value = float(raw)  # the same words for the same cell, whichever reader parsed it
        shown = str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    else:
        shown = shown_value(raw, 40)
    return (
        f"metrics.csv: {plural(rows, 'row')} without a usable step (the first: row {row}, step {shown}) "
        f"left out; a step is {STEP_ALLOWED}"
    )


@dataclass(frozen=True)
class Misfits:
    """The lines of a CSV text (indices from 0) that no reader may read as rows of its header: rows
    ``short`` of fields (a torn write, a hand edit: a reader fills their missing cells with blanks),
    rows with more fields than the header (``long``: pandas' fast parser cuts a first such row down to
    the header's width, its cells shifted under the wrong names), and rows that open a quote they do not
    close (``unclosed``: a reader reads on through the lines after it as one cell, hiding every later
    row). Every writer of these files writes a row on one line (`csv_cell`)."""

    short: list[int]
    long: list[int]
    unclosed: list[int]

    def __bool__(self) -> bool:
        return bool(self.short or self.long or self.unclosed)

    def left_out(self) -> set[int]:
        return {*self.short, *self.long, *self.unclosed}


def misfit_lines(data: AnyStr, width: int) -> Misfits:
    """The `Misfits` among the lines of ``data`` (CSV rows, text or bytes, one a line) under a header of
    ``width`` fields. Blank lines are not rows. Fields are counted from the commas, and by `csv` for a
    line holding a quote; ``data`` without a quote whose commas are ``width`` - 1 a line (every file this
    package writes) is answered by a few counts over it, without a loop over its lines (a long row and
    a short one whose commas make up for each other then pass, unless the long one is the first, which
    pandas' fast parser would cut down: a reader leaves out a later long one, and fills a short one's
    missing cells with blanks)."""
    comma, quote, newline = (",", '"', "\n") if isinstance(data, str) else (b",", b'"', b"\n")
    # (what follows the last newline is a line only when it holds something: nothing, in whole lines)
    whole = data.count(newline) + bool(data[data.rfind(newline) + 1 :].strip())
    first = data[: data.find(newline)] if newline in data else data
    if quote not in data and data.count(comma) == whole * (width - 1) and first.count(comma) == width - 1:
        return Misfits([], [], [])  # counted without splitting: a file of a million rows is not copied
    lines = data.split(newline)
    if lines and not lines[-1].strip():
        lines.pop()
    found = Misfits([], [], [])
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        if quote in line:
            text = (line if isinstance(line, str) else line.decode("utf-8", "replace")).rstrip("\r")
            try:
                if _opens_quote(text):
                    found.unclosed.append(i)
                    continue
                fields = len(next(csv.reader([text]), []))
            except csv.Error:
                fields = width  # (not a row a reader can split: its own reader says so)
        else:
            fields = line.count(comma) + 1
        if fields < width:
            found.short.append(i)
        elif fields > width:
            found.long.append(i)
    return found


def _opens_quote(line: str) -> bool:
    """Whether CSV line ``line`` (without its line end) opens a quoted cell it does not close: a reader
    then reads on into the next line, here a second one given to `csv.reader` (one row, not two)."""
    return len(list(csv.reader([line, "x"]))) == 1


def unclosed_quote_line(rows: int, steps: Sequence[str]) -> str:
    """The problem line for ``rows`` metrics.csv rows that open a quote they do not close, left out;
    ``steps``: the step cells of the first few, as written."""
    return (
        f'metrics.csv: {plural(rows, "row")} opening a quote (") it does not close left out: '
        f"{_steps_named(rows, steps)}; a row is one line, and a quoted cell ends on it"
    )


def long_rows_line(rows: int) -> str:
    """The problem line for ``rows`` metrics.csv rows with more fields than its header, left out."""
    return f"metrics.csv: {plural(rows, 'row')} with more fields than its header left out"


def cut_short_line(rows: int, steps: Sequence[str]) -> str:
    """The problem line for ``rows`` metrics.csv rows with fewer fields than its header, left out; ``steps``:
    the step cells of the first few, as written."""
    return (
        f"metrics.csv: {plural(rows, 'row')} with fewer fields than its header (cut short) left out: "
        f"{_steps_named(rows, steps)}; a row holds one field per column, a blank one for a value not "
        "measured"
    )


def _steps_named(rows: int, steps: Sequence[str]) -> str:
    """ "step 4" or "steps 4, 'x', 9 and 3 more": the step cells (as written) of the first few of ``rows``
    rows a problem line names, a cell that is no step quoted."""
    named = ", ".join(quoted(s) if _whole_step(s) is None else s for s in steps[:5])
    more = f" and {rows - min(rows, 5)} more" if rows > 5 else ""
    return f"{'step' if rows == 1 else 'steps'} {named}{more}"


def _decoded(data: bytes, name: str, problems: list[str]) -> str:
    """A whole file's ``data`` as text: a UTF-8 byte-order mark before it dropped (`header_text`), bytes
    that are not UTF-8 read as � and said in ``problems`` (their offset in the file)."""
    body = data.removeprefix(BOM)
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        at = exc.start + len(data) - len(body)
        problems.append(f"{name}: bytes that are not UTF-8 text (the first at byte {at}), shown as �")
        return body.decode("utf-8", errors="replace")


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


_WHOLE_STEPS = 2.0**53  # the largest step float64 holds with every whole number below it


@dataclass(frozen=True)
class StepGaps:
    """The steps without a row inside metrics.csv: between its first row's step and its last's, the whole
    numbers no row has. Every writer of this package writes one row per generator step, numbered 1, 2, 3,
    ... (the built-in trainer's runner, `gan_core.track` and the Lightning callback through it, rank 0 of
    a multi-process job; a resume goes on from the last row, or rewrites the file first): a gap is rows
    lost (a file cut and resumed from a later checkpoint, restored from a backup, rows left out as
    damaged), and the charts draw a line across it.

    ``missing``: the steps without a row; ``gaps``: the runs of them; ``first``: the first run's first and
    last step, None without a gap. Steps before the first row are not counted here (`rows_missing` says
    those)."""

    missing: int = 0
    gaps: int = 0
    first: tuple[int, int] | None = None

    def after(
        self, steps: np.ndarray, before: float = -math.inf, diffs: np.ndarray | None = None
    ) -> StepGaps:
        """These gaps and those of ``steps`` ((n,) float64, finite, increasing), rows that follow one at
        step ``before`` (-inf: none); ``diffs``: ``np.diff(steps)`` when the caller has it. A comparison
        over the rows; only the few gaps found are looked at one by one."""
        if not len(steps):
            return self
        diffs = np.diff(steps) if diffs is None else diffs
        at = np.flatnonzero(diffs > 1)
        lower, upper = steps[at], steps[at + 1]
        if before > -math.inf and steps[0] - before > 1:
            lower, upper = np.concatenate(([before], lower)), np.concatenate(([steps[0]], upper))
        if not len(lower):
            return self
        first_missing, last_missing = np.floor(lower) + 1, np.ceil(upper) - 1  # (the whole numbers between)
        # beyond 2**53 float64 steps are no longer whole numbers one apart (a foreign or damaged file):
        # no gap is counted there
        real = (first_missing <= last_missing) & (upper <= _WHOLE_STEPS)
        if not real.any():
            return self
        first_missing, last_missing = first_missing[real], last_missing[real]
        missing = self.missing + int((last_missing - first_missing + 1).sum())
        first = self.first or (int(first_missing[0]), int(last_missing[0]))
        return StepGaps(missing, self.gaps + len(first_missing), first)

    def line(self) -> str | None:
        """The problem line, or None without a gap."""
        if self.first is None:
            return None
        start, end = self.first
        which = f"step {start} has" if start == end else f"steps {start} to {end} have"
        if self.gaps == 1:
            return f"metrics.csv: {which} no row; its charts draw a line across the gap"
        return (
            f"metrics.csv: {which} no row (the first of {self.gaps} gaps, {self.missing} steps in all); its "
            "charts draw a line across the gaps"
        )


def forgiving_csv(text: str) -> tuple[pd.DataFrame, int] | None:
    """``text`` read as CSV by pandas, forgiving what a torn or hand-edited file holds: its fast parser
    first (every file this code writes; a text cell, a row short of fields), then its python parser,
    which leaves out rows with more fields than the header, then the same reading quotes as plain
    characters (an unmatched quote). Returns the frame (empty for a text with no header) and how many
    rows were left out; None when no attempt reads it."""
    attempts: tuple[dict[str, Any], ...] = (
        {"low_memory": False},
        {"engine": "python"},
        {"engine": "python", "quoting": csv.QUOTE_NONE},
    )
    for options in attempts:
        skipped: list[list[str]] = []
        if options.get("engine") == "python":
            options = {**options, "on_bad_lines": skipped.append}  # append returns None: skip the row
        try:
            return pd.read_csv(io.StringIO(text), index_col=False, **options), len(skipped)
        except pd.errors.EmptyDataError:
            return pd.DataFrame(), 0
        except (pd.errors.ParserError, csv.Error):
            continue
    return None


def _read_csv_text(text: str, run_id: str) -> tuple[pd.DataFrame, int]:
    """metrics.csv's text as `forgiving_csv` reads it, and how many rows it left out (more fields than
    its header)."""
    found = forgiving_csv(text)
    if found is None:
        raise RunDirError(f"run {run_id!r}: metrics.csv cannot be read as CSV")
    return found


def _metrics_frame(data: bytes, columns: Sequence[str] | None, run_id: str) -> tuple[pd.DataFrame, list[str]]:
    """metrics.csv's complete lines ``data`` read as `RunDir.read_metrics_checked` says."""
    problems: list[str] = []
    text = _decoded(data, "metrics.csv", problems)
    # A carriage return inside a row: pandas would break it there into two rows of nonsense.
    lines = text.split("\n") if stray_cr_line(data) is not None else []
    damaged = {i for i, line in enumerate(lines) if i and "\r" in line.rstrip("\r")}  # (0: the header)
    if damaged:
        problems.append(
            f"metrics.csv: {plural(len(damaged), 'row')} holding a carriage return (\\r) inside left out "
            f"(the first at line {min(damaged) + 1})"
        )
        text = "\n".join(line for i, line in enumerate(lines) if i not in damaged)
    head, newline, body = text.partition("\n")
    try:
        width = len(next(csv.reader([head.rstrip("\r")]), []))
    except csv.Error:
        width = head.count(",") + 1
    misfits = misfit_lines(body, width)  # (a one-column file's rows too: one may be long or open a quote)
    unclosed: list[str] = []  # (their steps, as written)
    if misfits:
        # A row cut short (a torn write in the middle, a hand edit): pandas would fill its missing cells
        # with blanks, which in a column measured every step read as NaN, a failure the charts mark. A
        # row too long, pandas' fast parser cuts down to the header when it is the first (its cells then
        # read under the wrong names); a quote left open, it reads on to the end of the file as one cell.
        rows = body.split("\n")

        def steps(found: list[int]) -> list[str]:
            return [rows[i].split(",", 1)[0].strip() for i in found[:5]]

        if misfits.short:
            problems.append(cut_short_line(len(misfits.short), steps(misfits.short)))
        unclosed = steps(misfits.unclosed)
        left = misfits.left_out()
        text = head + newline + "\n".join(row for i, row in enumerate(rows) if i not in left)
    frame, skipped = _read_csv_text(text, run_id) if text.strip() else (pd.DataFrame(), 0)
    if skipped or misfits.long:
        problems.append(long_rows_line(skipped + len(misfits.long)))
    if misfits.unclosed:
        problems.append(unclosed_quote_line(len(misfits.unclosed), unclosed))
    try:
        header = next(csv.reader([text.partition("\n")[0].rstrip("\r")]), [])
    except csv.Error:  # (pandas read it with its quotes as plain characters: no names to compare)
        header = []
    again = [i for i, c in enumerate(header) if c in header[:i]]
    if again and len(header) == len(frame.columns):  # pandas renamed them 'd_loss.1', ...
        problems.append(
            f"metrics.csv: its header names column {quoted(header[again[0]])} twice; only the first is read"
        )
        frame = frame.iloc[:, [i for i in range(len(header)) if i not in again]]
    frame.columns = [str(c) for c in frame.columns]
    if len(frame.columns) and "step" not in frame.columns:
        raise no_step_column(run_id, text.partition("\n")[0].rstrip("\r"))
    if columns is None:
        numeric = [c for c in frame.columns if c not in METRICS_TEXT_COLUMNS]
    else:
        numeric = list(columns)
        missing = [c for c in numeric if c not in frame.columns]
        # A quality column a later version added (fd_cls, label_fidelity, ...) is absent from the files
        # written before it: measured on some data only, it is a gap there anyway, not a damage to report.
        reported = [c for c in missing if c not in EVAL_COLUMNS]
        if len(frame.columns) and reported:
            named = ", ".join(reported[:6]) + (f" and {len(reported) - 6} more" if len(reported) > 6 else "")
            problems.append(f"metrics.csv lacks {plural(len(reported), 'column')} ({named}); shown as gaps")
        for c in missing:
            frame[c] = np.nan
    raw_steps = frame["step"].copy() if "step" in frame.columns else None
    for c in numeric:
        cells = frame[c]
        if cells.dtype.kind in "iuf":
            continue
        values = pd.to_numeric(cells, errors="coerce").astype(np.float64)
        text_rows = np.flatnonzero((values.isna() & cells.notna()).to_numpy())
        if c != "step" and len(text_rows):
            first = text_rows[0]
            more = f" and {plural(len(text_rows) - 1, 'more row')}" if len(text_rows) > 1 else ""
            problems.append(
                f"metrics.csv: column {c!r} has {shown_value(str(cells.iloc[first]), 40)} at row {first + 1}"
                f"{more}, not a number; shown as a gap"
            )
        frame[c] = values
    if raw_steps is not None and len(frame):
        usable = usable_steps(frame["step"].to_numpy(dtype=np.float64))
        if not usable.all():
            first = int(np.flatnonzero(~usable)[0])
            problems.append(no_usable_step(int((~usable).sum()), first + 1, raw_steps.iloc[first]))
            frame = frame[usable]
        steps = frame["step"]
        if not steps.is_monotonic_increasing or steps.duplicated().any():
            # Never written by this code (a resume rewrites the file first): no page ever shows two rows
            # for one step, and the later row is the one the run went on from.
            frame = frame.drop_duplicates("step", keep="last").sort_values("step", kind="stable")
        frame = frame.reset_index(drop=True)
        gaps = StepGaps().after(frame["step"].to_numpy(np.float64)).line()
        problems += [gaps] if gaps else []
    return frame, problems


def events_frame(data: bytes) -> tuple[pd.DataFrame, list[str]]:
    """events.csv's complete lines ``data`` read as `RunDir.read_events_checked` says: columns
    `EVENT_COLUMNS`, ``fields`` a dict (from its JSON, or from the detail of a file of the older four
    columns, `legacy_event_fields`)."""
    problems: list[str] = []
    text = _decoded(data, "events.csv", problems)
    records: list[dict[str, Any]] = []
    found: dict[str, list[tuple[int, Any]]] = {
        k: [] for k in ("long", "short", "step", "csv", "json", "field")
    }
    header_seen, columns = False, EVENT_COLUMNS
    for number, line in enumerate(text.split("\n"), start=1):
        line = line.rstrip("\r")
        if not line.strip():
            continue
        try:
            cells = next(csv.reader([line]))
        except (csv.Error, StopIteration):
            found["csv"].append((number, line))
            continue
        if not header_seen:
            header_seen = True
            named = [c.strip() for c in cells]
            if named in (list(EVENT_COLUMNS), list(LEGACY_EVENT_COLUMNS)):
                columns = tuple(named)
                continue
            problems.append(f"events.csv does not start with its header {','.join(EVENT_COLUMNS)}")
        width = len(columns)
        if len(cells) > width:
            found["long"].append((number, line))
            if width == len(LEGACY_EVENT_COLUMNS):
                cells = [*cells[:3], ",".join(cells[3:])]
            else:  # the last cell is still the fields
                cells = [*cells[:3], ",".join(cells[3:-1]), cells[-1]]
        elif len(cells) < width:
            found["short"].append((number, line))
            cells = cells + [""] * (width - len(cells))
        step = _whole_step(cells[0])
        if step is None:
            found["step"].append((number, cells[0]))
            continue
        kind, detail = cells[2], cells[3]
        if width == len(LEGACY_EVENT_COLUMNS):
            fields = legacy_event_fields(kind, detail)
        else:
            try:
                fields = json.loads(cells[4]) if cells[4].strip() else {}
            except (ValueError, RecursionError):  # (ValueError: also a number json will not read)
                fields = None
            if not isinstance(fields, dict):
                found["json"].append((number, cells[4]))
                fields = {}
        # The setting a change names (hparam, device, world_size): readers look it up by name.
        if "field" in fields and not isinstance(fields["field"], str):
            found["field"].append((number, fields.pop("field")))
        records.append({"step": step, "time": cells[1], "kind": kind, "detail": detail, "fields": fields})
    said = {
        "long": f"with more than {len(columns)} fields: the extra ones are kept in its detail",
        "short": f"with fewer than {len(columns)} fields: the missing ones are empty",
        "step": f"whose step is not {STEP_ALLOWED} left out",
        "csv": "that cannot be read as CSV left out",
        "json": "whose fields are not a JSON object: read without them",
        "field": "whose 'field' (the setting changed) is not a text: read without it",
    }
    for kind, rows in found.items():
        if rows:
            number, value = rows[0]
            example = f", {shown_value(value, 40)}" if kind in ("step", "json", "field") else ""
            problems.append(
                f"events.csv: {plural(len(rows), 'row')} {said[kind]} (the first at line {number}{example})"
            )
    return pd.DataFrame(records, columns=list(EVENT_COLUMNS)), problems


# numpy reads each .npy header with `ast.literal_eval`. CPython 3.11 keeps the AST converter's recursion
# counter in state shared by every thread, so two threads parsing at once (a run resuming in its
# thread while a page reads the same run's pictures) can fail with "SystemError: AST constructor
# recursion depth mismatch" when a garbage collection runs Python code mid-parse (see CPython
# gh-106905). Every .npz this process reads goes through this lock.
_NPZ_READ_LOCK = threading.Lock()


# numpy's words for a file it will not unpickle advise loading it unsafely ("If you trust the file you can
# load it unsafely ..."), and it says them too of a file that is no numpy file at all. No file is ever
# unpickled here: a snapshot and `evaluate --samples` both say this instead.
PICKLED_DATA = "holds pickled Python objects, not numeric arrays"
NPZ_SNAPSHOT_ALLOWED = "a .npz of numeric arrays, as this tool writes them; no pickled objects"


def numpy_load_reason(exc: BaseException) -> str:
    """Why numpy could not load a file, in a user's words: `PICKLED_DATA` for numpy's refusal to unpickle
    (never its advice to load the file unsafely), else ``exc``'s words on one line, cut short."""
    return PICKLED_DATA if "pickle" in str(exc) else _short_reason(exc)


def _load_npz(file: BinaryIO) -> dict[str, np.ndarray]:
    """The arrays of an .npz archive; ValueError (or numpy's and zipfile's own errors) for anything else.
    numpy would try any file without a zip or .npy header as a pickle: it is refused by its header first."""
    if file.read(4) != b"PK\x03\x04":  # what np.savez writes
        raise ValueError("no .npz (zip) header")
    file.seek(0)
    with _NPZ_READ_LOCK:
        data = np.load(file, allow_pickle=False)
        if not isinstance(data, np.lib.npyio.NpzFile):
            raise ValueError("not an .npz archive")
        with data:
            size = sum(info.file_size for info in data.zip.infolist())
            if size > MAX_SNAPSHOT_BYTES:
                raise ValueError(
                    f"{size / 2**20:.0f} MiB unpacked; allowed up to {MAX_SNAPSHOT_BYTES // 2**20} MiB"
                )
            return {k: np.asarray(data[k]) for k in data.files}


def _load_png(file: BinaryIO) -> dict[str, np.ndarray]:
    from PIL import Image

    with Image.open(file, formats=["PNG"]) as im:
        if im.width * im.height > MAX_SNAPSHOT_PIXELS:
            raise ValueError(f"{im.width} x {im.height} pixels; allowed up to {MAX_SNAPSHOT_PIXELS} pixels")
        view = {"grid": np.asarray(im.convert("RGB"))}
        view.update(_grid_labels(im.info.get(GRID_LABELS_CHUNK)))
        return view


GRID_LABELS_CHUNK = "gan_dashboard.labels"  # a PNG text chunk: {"labels": [class, ...], "columns": n}


def _grid_labels(text: Any) -> dict[str, np.ndarray]:
    """``{"labels": (N,) int64, "columns": () int64}`` from a grid's `GRID_LABELS_CHUNK`, or {} where there
    is none or it is not N whole class numbers in 0..`MAX_CLASSES` and a whole number of columns >= 1 (the
    picture is still shown, without claims about its rows)."""
    try:
        record = json.loads(text) if isinstance(text, str) else None
    except ValueError:
        return {}
    if not isinstance(record, dict):
        return {}
    labels, columns = record.get("labels"), record.get("columns")
    if not isinstance(labels, list) or not labels or not _is_int(columns) or columns < 1:
        return {}
    if not all(_is_int(c) and 0 <= c <= MAX_CLASSES for c in labels):
        return {}
    return {"labels": np.array(labels, dtype=np.int64), "columns": np.array(columns, dtype=np.int64)}


def _view_problem(view: dict[str, np.ndarray]) -> str | None:
    """What keeps ``view`` from being drawn as a saved view, or None."""
    if "grid" in view:
        return None  # from a PNG, converted to RGB: always (H, W, 3) uint8
    arrays = {k: v for k, v in view.items() if k in ("points", "heatmap", "grads", "bounds", "mesh")}
    for name, array in arrays.items():
        if not (np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)):
            return f"{name!r} holds {array.dtype} values, not real numbers"
    points = arrays.get("points")
    if points is None or points.ndim != 2 or points.shape[1] != 2:
        return (
            "no 'points' of shape (N, 2)"
            if points is None
            else f"'points' has shape {points.shape}; expected (N, 2)"
        )
    if "grads" in arrays and arrays["grads"].shape != points.shape:
        return f"'grads' has shape {arrays['grads'].shape}; expected {points.shape}, as 'points'"
    if "heatmap" in arrays and (arrays["heatmap"].ndim != 2 or 0 in arrays["heatmap"].shape):
        return f"'heatmap' has shape {arrays['heatmap'].shape}; expected (R, C)"
    mesh = arrays.get("mesh")
    if mesh is not None and (mesh.ndim != 3 or mesh.shape[2] != 2 or 0 in mesh.shape):
        return f"'mesh' has shape {mesh.shape}; expected (L, P, 2): L lines of P points"
    bounds = arrays.get("bounds")
    if bounds is not None and not (
        bounds.shape == (4,) and np.isfinite(bounds).all() and bounds[0] < bounds[1] and bounds[2] < bounds[3]
    ):
        return "'bounds' is not 4 finite numbers xmin < xmax, ymin < ymax"
    return None
