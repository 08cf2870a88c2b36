"""The run directory on disk: everything needed to reload a run later, and nothing outside the runs root.

Layout of ``<runs_root>/<run_id>/``::

    config.json        the GANConfig (written once, atomically)
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

Run ids are validated (letters, digits, ``.``, ``_``, ``-``; no ``..``), and every path is resolved and
checked to lie inside the runs root before anything is written.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import math
import os
import pickle
import re
import secrets
import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from gan_core.config import ConfigError, GANConfig

RUNS_ENV = "GAN_DASHBOARD_RUNS"  # the runs folder the dashboard and the command line share, if set
RUN_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
EVENT_COLUMNS = ("step", "time", "kind", "detail")
_SNAPSHOT_RE = re.compile(r"^step_(\d+)\.(png|npz)$")
_CHECKPOINT_RE = re.compile(r"^step_(\d+)\.pt$")
# Event kinds after which the events of a discarded stretch (steps beyond the one resumed from) are
# no longer part of the run's history; see `current_events`.
REWIND_EVENTS = ("resume", "branch")


class RunDirError(ValueError):
    """A run id, run path or run file is invalid; the message says what is allowed."""


def now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds")


def validate_run_id(run_id: str) -> str:
    if not isinstance(run_id, str) or not RUN_ID_RE.match(run_id) or ".." in run_id:
        raise RunDirError(
            f"run id {run_id!r} is invalid: use 1-100 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit, without '..' or slashes"
        )
    return run_id


def new_run_id(cfg: GANConfig) -> str:
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return f"{cfg.dataset}-{cfg.loss}-{stamp}-{secrets.token_hex(2)}"


def inside(root: Path, path: Path) -> Path:
    """``path`` resolved, or RunDirError if it is not inside ``root`` (symlinks followed)."""
    root_r, path_r = Path(root).resolve(), Path(path).resolve()
    if path_r != root_r and root_r not in path_r.parents:
        raise RunDirError(f"path {str(path)!r} is outside the runs folder {str(root_r)!r}")
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


def _append_lines(path: Path, data: bytes) -> None:
    """Append whole lines to ``path`` in one write call (O_APPEND: at the end even if another writer
    has appended meanwhile)."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        _write_all(fd, data)
    finally:
        os.close(fd)


def complete_lines(data: bytes) -> bytes:
    """``data`` up to and including its last newline: a final line a kill cut short is dropped."""
    return data[: data.rfind(b"\n") + 1]


def _cell(value: float | str) -> str:
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


def _csv_line(values) -> bytes:
    return (",".join(_cell(v) for v in values) + "\n").encode("utf-8")


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


def current_events(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The run's history as charts show it: events.csv is an append-only log, and after a ``resume`` or
    ``branch`` event at step N the events logged before it at steps after N belong to a stretch the run
    went back on (its rows were replaced); they are left out here, and stay in the file."""
    kept: list[dict[str, Any]] = []
    for event in events:
        if event.get("kind") in REWIND_EVENTS:
            kept = [e for e in kept if _step_of(e) <= int(event["step"])]
        kept.append(event)
    return kept


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


class RunDir:
    """One run's folder; create with `RunDir.create` or open an existing one with `RunDir.open`."""

    def __init__(self, path: Path, root: Path):
        self.root = Path(root).resolve()
        self.path = inside(self.root, path)
        self.run_id = self.path.name
        self._metrics_fd: int | None = None

    # ------------------------------------------------------------------ creation and lookup
    @classmethod
    def create(cls, root: str | Path, cfg: GANConfig, run_id: str | None = None) -> RunDir:
        root = Path(root)
        chosen = run_id is not None
        root.mkdir(parents=True, exist_ok=True)
        # A generated id is retried on a clash (same second, same 4 hex digits: two runs started at once).
        for _ in range(1 if chosen else 20):
            run_id = validate_run_id(run_id if chosen else new_run_id(cfg))
            path = inside(root, root / run_id)
            try:
                path.mkdir()  # atomic: of two creators of one id, one fails here
                break
            except FileExistsError:
                continue
        else:
            raise RunDirError(f"run {run_id!r} already exists in {str(root)!r}: choose another run id")
        (path / "samples").mkdir()
        (path / "checkpoints").mkdir()
        run = cls(path, root)
        atomic_write_text(path / "config.json", cfg.to_json() + "\n")
        run.write_status({"status": "idle", "step": 0, "created": now_iso()})
        atomic_write_text(path / "events.csv", ",".join(EVENT_COLUMNS) + "\n")
        return run

    @classmethod
    def open(cls, root: str | Path, run_id: str) -> RunDir:
        """An existing run by id inside ``root``."""
        path = Path(root) / validate_run_id(run_id)
        run = cls(path, root)
        if not (run.path / "config.json").is_file():
            raise RunDirError(f"no run {run_id!r} in {str(Path(root))!r} (config.json missing)")
        return run

    @classmethod
    def from_path(cls, path: str | Path) -> RunDir:
        """An existing run folder given by path (its parent is taken as the runs root)."""
        path = Path(path).resolve()
        return cls.open(path.parent, path.name)

    # ------------------------------------------------------------------ config and status
    def read_config(self) -> GANConfig:
        try:
            return GANConfig.from_json((self.path / "config.json").read_text(encoding="utf-8"))
        except (OSError, ConfigError) as exc:
            raise RunDirError(f"run {self.run_id!r}: unreadable config.json: {exc}") from None

    def write_status(self, status: dict[str, Any]) -> None:
        current = self.read_status()
        current.update(status, updated=now_iso())
        atomic_write_text(self.path / "status.json", json.dumps(current, indent=2) + "\n")

    def read_status(self) -> dict[str, Any]:
        """status.json, or {} where it is missing, unreadable or not a JSON object."""
        try:
            status = json.loads((self.path / "status.json").read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            return {}
        return status if isinstance(status, dict) else {}

    # ------------------------------------------------------------------ metrics
    def open_metrics(self, columns: tuple[str, ...]) -> None:
        """Start (or continue) metrics.csv with ``columns`` as its header."""
        target = self.path / "metrics.csv"
        if target.exists():
            data = target.read_bytes()
            if not data.endswith(b"\n") and data:  # a torn last line (older writers): cut it off
                os.truncate(target, len(complete_lines(data)))
        fresh = not target.exists() or target.stat().st_size == 0
        self._metrics_fd = os.open(target, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        if fresh:
            _write_all(self._metrics_fd, _csv_line(columns))

    def append_record(self, record: tuple[float | str, ...]) -> None:
        """Write one row at once, as a whole line in one append: a kill -9 at any moment leaves every
        row appended before it (the kernel holds written data for a killed process) and no torn one.
        One small write per step costs about 5 µs, against a step of milliseconds; buffering rows for a
        second would save that and lose the newest second of a run, or more behind a slow
        evaluation."""
        if self._metrics_fd is not None:
            _write_all(self._metrics_fd, _csv_line(record))

    def close(self) -> None:
        if self._metrics_fd is not None:
            os.fsync(self._metrics_fd)
            os.close(self._metrics_fd)
            self._metrics_fd = None

    def metrics_bytes(self) -> bytes:
        """metrics.csv's complete lines (a live run's file trails it by at most about a second)."""
        path = self.path / "metrics.csv"
        return complete_lines(path.read_bytes()) if path.exists() else b""

    def last_metrics_step(self) -> int | None:
        """The step of metrics.csv's last complete row, or None if it has none."""
        path = self.path / "metrics.csv"
        if not path.exists():
            return None
        with open(path, "rb") as f:
            f.seek(max(0, path.stat().st_size - 64 * 1024))  # a row is well under 64 KiB
            lines = complete_lines(f.read()).splitlines()
        try:
            return int(float(lines[-1].split(b",", 1)[0]))
        except (IndexError, ValueError):  # no rows, only the header
            return None

    def read_metrics(self) -> pd.DataFrame:
        data = self.metrics_bytes()
        if not data:
            return pd.DataFrame()
        frame = pd.read_csv(io.BytesIO(data))
        if "step" in frame and frame["step"].duplicated().any():
            # Never written by this code (a resume rewrites the file first); kept as a guard so that no
            # page ever shows two rows for one step: the later row is the one the run went on from.
            frame = frame.drop_duplicates("step", keep="last").sort_values("step", ignore_index=True)
        return frame

    def truncate_metrics(self, step: int) -> int:
        """Drop the rows after ``step`` (atomically: a new file renamed over the old); returns how many.

        Only while no writer has the file open (before a resumed run reopens it)."""
        path = self.path / "metrics.csv"
        if not path.exists():
            return 0
        data, dropped = self._metrics_up_to(step)
        if dropped or data != path.read_bytes():  # rows to drop, or a torn last line
            _atomic_write(path, lambda f: f.write(data))
        return dropped

    def _metrics_up_to(self, step: int) -> tuple[bytes, int]:
        """metrics.csv's header and complete rows at steps <= ``step``, and how many rows came after."""
        header, _, body = self.metrics_bytes().partition(b"\n")
        if not header:
            return b"", 0
        rows = body.splitlines(keepends=True)
        kept = [row for row in rows if int(float(row.split(b",", 1)[0])) <= step]
        return header + b"\n" + b"".join(kept), len(rows) - len(kept)

    # ------------------------------------------------------------------ events
    def append_event(self, step: int, kind: str, detail: str) -> dict[str, Any]:
        event = {"step": int(step), "time": now_iso(), "kind": kind, "detail": detail}
        _append_lines(self.path / "events.csv", _csv_line([str(event[c]) for c in EVENT_COLUMNS]))
        return event

    def read_events(self) -> pd.DataFrame:
        path = self.path / "events.csv"
        if not path.exists():
            return pd.DataFrame(columns=EVENT_COLUMNS)
        data = complete_lines(path.read_bytes())
        if not data:
            return pd.DataFrame(columns=EVENT_COLUMNS)
        return pd.read_csv(io.BytesIO(data), dtype={"kind": str, "detail": str}, keep_default_na=False)

    # ------------------------------------------------------------------ samples
    def save_snapshot(self, name: str | int, snapshot: dict[str, np.ndarray]) -> Path:
        """A view from `Trainer.snapshot` (or `real_view`): ``{"grid"}`` as PNG, point views as .npz.

        ``name`` is a step (file step_00000100.*) or a plain name such as "real"."""
        stem = f"step_{name:08d}" if isinstance(name, int) else name
        if "grid" in snapshot:
            from PIL import Image

            path = self.path / "samples" / f"{stem}.png"
            image = Image.fromarray(snapshot["grid"])
            _atomic_write(path, lambda f: image.save(f, format="PNG"))
        else:
            path = self.path / "samples" / f"{stem}.npz"
            arrays = {k: np.asarray(v, dtype=np.float32) for k, v in snapshot.items()}
            _atomic_write(path, lambda f: np.savez(f, **arrays))
        return path

    def thin_snapshots(self, keep: int, stride: int = 1) -> int:
        """Delete snapshots as `thinned` drops them (at most ``keep``); returns the stride now in force."""
        found = self.snapshot_steps()
        kept, stride = thinned(found, keep, stride)
        for item in set(found) - set(kept):
            item[1].unlink(missing_ok=True)
        return stride

    def snapshot_steps(self) -> list[tuple[int, Path]]:
        found = []
        for p in (self.path / "samples").iterdir() if (self.path / "samples").is_dir() else ():
            m = _SNAPSHOT_RE.match(p.name)
            if m:
                found.append((int(m.group(1)), p))
        return sorted(found)

    def load_snapshot(self, path: Path | str) -> dict[str, np.ndarray]:
        """A saved view: ``{"grid": (H, W, 3) uint8}`` or ``{"points", "heatmap"?, "grads"?}``.

        A plain name (e.g. "real") is looked up in samples/."""
        if isinstance(path, str):
            matches = sorted((self.path / "samples").glob(f"{path}.*"))
            if not matches:
                raise RunDirError(f"run {self.run_id!r} has no sample view {path!r}")
            path = matches[0]
        path = inside(self.path, path)
        if path.suffix == ".npz":
            with np.load(path, allow_pickle=False) as data:
                return {k: data[k] for k in data.files}
        from PIL import Image

        with Image.open(path) as im:
            return {"grid": np.asarray(im.convert("RGB"))}

    # ------------------------------------------------------------------ checkpoints
    def save_checkpoint(self, state: dict[str, Any], keep: int) -> Path:
        step = int(state["step"])
        path = self.path / "checkpoints" / f"step_{step:08d}.pt"
        _atomic_write(path, lambda f: torch.save(state, f))
        for _, old in self.checkpoints()[:-keep]:
            old.unlink(missing_ok=True)
        return path

    def checkpoints(self) -> list[tuple[int, Path]]:
        folder = self.path / "checkpoints"
        found = []
        for p in folder.iterdir() if folder.is_dir() else ():
            m = _CHECKPOINT_RE.match(p.name)
            if m:
                found.append((int(m.group(1)), p))
        return sorted(found)

    def latest_checkpoint(self) -> Path | None:
        found = self.checkpoints()
        return found[-1][1] if found else None

    def load_checkpoint(self, path: Path | None = None, map_location: str | torch.device = "cpu") -> dict:
        """Load with ``weights_only=True``: tensors and plain containers only, never pickled code."""
        path = path or self.latest_checkpoint()
        if path is None:
            raise RunDirError(f"run {self.run_id!r} has no checkpoint yet")
        path = inside(self.path, path)
        what = f"checkpoint {path.name} of run {self.run_id!r}"
        if not path.is_file():  # a typo, or thinned away by keep_checkpoints since it was listed
            kept = ", ".join(p.name for _, p in self.checkpoints()) or "none"
            raise RunDirError(f"{what} does not exist; kept: {kept}")
        if not zipfile.is_zipfile(path):  # torch.save writes a zip archive; anything else is refused early
            raise RunDirError(
                f"{what} is not a PyTorch checkpoint (not a zip archive: truncated, damaged or another "
                "format); allowed: a checkpoint saved by this dashboard"
            )
        try:
            state = torch.load(path, map_location=map_location, weights_only=True)
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
            raise RunDirError(
                f"checkpoint {path.name} of run {self.run_id!r} is not a GAN checkpoint "
                f"(needs {', '.join(sorted(required))})"
            )
        return state

    # ------------------------------------------------------------------ resume and branch
    def rewind_to(self, step: int) -> int:
        """Make the folder end at ``step``, for a run resumed from its checkpoint there: temp files a kill
        left behind are removed, metric rows, snapshots and checkpoints after ``step`` dropped (events are
        a log and stay). Returns the number of metric rows dropped."""
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
        in place, only replaced), else copies."""
        kept = dict(self.checkpoints())
        if step not in kept:
            steps = ", ".join(map(str, kept)) or "none"
            raise RunDirError(f"run {self.run_id!r} has no checkpoint at step {step}: kept steps {steps}")
        cfg = self.read_config()
        child = RunDir.create(self.root, cfg, run_id or self._branch_id(step))
        try:
            _link_or_copy(kept[step], child.path / "checkpoints" / kept[step].name)
            metrics, _ = self._metrics_up_to(step)
            if metrics:
                _atomic_write(child.path / "metrics.csv", lambda f: f.write(metrics))
            # A live parent may thin a snapshot away meanwhile: a missing one is skipped.
            for s, path in self.snapshot_steps():
                if s <= step:
                    _link_or_copy(path, child.path / "samples" / path.name, missing_ok=True)
            for path in (self.path / "samples").glob("real.*"):
                _link_or_copy(path, child.path / "samples" / path.name, missing_ok=True)
            events = [e for e in current_events(self.read_events().to_dict("records")) if _step_of(e) <= step]
            lines = b"".join(_csv_line([str(e[c]) for c in EVENT_COLUMNS]) for e in events)
            _append_lines(child.path / "events.csv", lines)
            child.append_event(step, "branch", f"from run {self.run_id} at step {step}")
            child.write_status(
                {"status": "stopped", "step": step, "parent": self.run_id, "parent_step": step}
            )
        except BaseException:
            shutil.rmtree(child.path, ignore_errors=True)
            raise
        return child

    def _branch_id(self, step: int) -> str:
        suffix = f"-at{step}"
        base = self.run_id[: 100 - len(suffix) - 5] + suffix
        if not (self.root / base).exists():
            return base
        return f"{base}-{secrets.token_hex(2)}"


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


def image_grid(images: np.ndarray, nrow: int | None = None) -> np.ndarray:
    """(N, C, H, W) images in [-1, 1] -> (H', W', 3) uint8 grid, via torchvision's make_grid."""
    from torchvision.utils import make_grid

    tensor = torch.as_tensor(images)
    nrow = nrow or max(1, int(math.ceil(math.sqrt(tensor.shape[0]))))
    grid = make_grid(tensor, nrow=nrow, padding=1, normalize=True, value_range=(-1, 1), pad_value=1.0)
    return (grid.permute(1, 2, 0).clamp(0, 1) * 255).round().to(torch.uint8).numpy()


def list_runs(root: str | Path) -> list[RunDir]:
    """Every run folder (one holding config.json) directly inside ``root``, newest first."""
    root = Path(root)
    if not root.is_dir():
        return []
    runs = []
    for p in root.iterdir():
        if p.is_dir() and RUN_ID_RE.match(p.name) and (p / "config.json").is_file():
            runs.append(RunDir(p, root))
    return sorted(runs, key=lambda r: r.path.stat().st_mtime, reverse=True)
