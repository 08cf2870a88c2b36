"""The run directory on disk: everything needed to reload a run later, and nothing outside the runs root.

Layout of ``<runs_root>/<run_id>/``::

    config.json        the GANConfig (written once, atomically)
    status.json        status, step, error, device, times (rewritten atomically)
    metrics.csv        one row per generator step (CSV_COLUMNS); flushed at least every second
    events.csv         step,time,kind,detail: status changes, hyperparameter changes, single steps
    samples/           fixed-noise snapshots: step_00000100.png (image grid) or .npz (points, D's
                       heatmap, G's gradient arrows); real.png / real.npz (real data shown beside them)
    checkpoints/       step_00001000.pt: G, D, optimizers, step, config, RNG (the last K kept)

Run ids are validated (letters, digits, ``.``, ``_``, ``-``; no ``..``), and every path is resolved and
checked to lie inside the runs root before anything is written.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import math
import os
import re
import secrets
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from gan_core.config import ConfigError, GANConfig

RUN_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
EVENT_COLUMNS = ("step", "time", "kind", "detail")
FLUSH_SECONDS = 1.0
_SNAPSHOT_RE = re.compile(r"^step_(\d+)\.(png|npz)$")
_CHECKPOINT_RE = re.compile(r"^step_(\d+)\.pt$")


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
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _cell(value: float | str) -> str:
    if isinstance(value, str):
        return value
    # NaN means "not measured at this step" (e.g. evaluation columns): a blank cell.
    if value != value:
        return ""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


class RunDir:
    """One run's folder; create with `RunDir.create` or open an existing one with `RunDir.open`."""

    def __init__(self, path: Path, root: Path):
        self.root = Path(root).resolve()
        self.path = inside(self.root, path)
        self.run_id = self.path.name
        self._metrics_file = None
        self._metrics_writer = None
        self._columns: tuple[str, ...] = ()
        self._last_flush = 0.0

    # ------------------------------------------------------------------ creation and lookup
    @classmethod
    def create(cls, root: str | Path, cfg: GANConfig, run_id: str | None = None) -> RunDir:
        root = Path(root)
        run_id = validate_run_id(new_run_id(cfg) if run_id is None else run_id)
        root.mkdir(parents=True, exist_ok=True)
        path = inside(root, root / run_id)
        if path.exists():
            raise RunDirError(f"run {run_id!r} already exists in {str(root)!r}: choose another run id")
        path.mkdir()
        (path / "samples").mkdir()
        (path / "checkpoints").mkdir()
        run = cls(path, root)
        atomic_write_text(path / "config.json", cfg.to_json() + "\n")
        run.write_status({"status": "idle", "step": 0, "created": now_iso()})
        with open(path / "events.csv", "w", newline="", encoding="utf-8") as f:
            csv.writer(f).writerow(EVENT_COLUMNS)
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
        try:
            return json.loads((self.path / "status.json").read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            return {}

    # ------------------------------------------------------------------ metrics
    def open_metrics(self, columns: tuple[str, ...]) -> None:
        """Start (or continue) metrics.csv with ``columns`` as its header."""
        target = self.path / "metrics.csv"
        fresh = not target.exists() or target.stat().st_size == 0
        self._columns = columns
        self._metrics_file = open(target, "a", newline="", encoding="utf-8")  # noqa: SIM115 (kept open)
        self._metrics_writer = csv.writer(self._metrics_file)
        if fresh:
            self._metrics_writer.writerow(columns)
        self.flush()

    def append_record(self, record: tuple[float | str, ...]) -> None:
        self._metrics_writer.writerow([_cell(v) for v in record])
        now = time.monotonic()
        if now - self._last_flush >= FLUSH_SECONDS:
            self.flush()

    def flush(self) -> None:
        if self._metrics_file is not None:
            self._metrics_file.flush()
            self._last_flush = time.monotonic()

    def close(self) -> None:
        if self._metrics_file is not None:
            self._metrics_file.flush()
            os.fsync(self._metrics_file.fileno())
            self._metrics_file.close()
            self._metrics_file = None

    def read_metrics(self) -> pd.DataFrame:
        path = self.path / "metrics.csv"
        if not path.exists() or path.stat().st_size == 0:
            return pd.DataFrame()
        return pd.read_csv(path)

    # ------------------------------------------------------------------ events
    def append_event(self, step: int, kind: str, detail: str) -> dict[str, Any]:
        event = {"step": int(step), "time": now_iso(), "kind": kind, "detail": detail}
        with open(self.path / "events.csv", "a", newline="", encoding="utf-8") as f:
            csv.writer(f).writerow([event[c] for c in EVENT_COLUMNS])
        return event

    def read_events(self) -> pd.DataFrame:
        path = self.path / "events.csv"
        if not path.exists():
            return pd.DataFrame(columns=EVENT_COLUMNS)
        return pd.read_csv(path, dtype={"kind": str, "detail": str}, keep_default_na=False)

    # ------------------------------------------------------------------ samples
    def save_snapshot(self, name: str | int, snapshot: dict[str, np.ndarray]) -> Path:
        """A view from `Trainer.snapshot` (or `real_view`): ``{"grid"}`` as PNG, point views as .npz.

        ``name`` is a step (file step_00000100.*) or a plain name such as "real"."""
        stem = f"step_{name:08d}" if isinstance(name, int) else name
        if "grid" in snapshot:
            from PIL import Image

            path = self.path / "samples" / f"{stem}.png"
            Image.fromarray(snapshot["grid"]).save(path)
        else:
            path = self.path / "samples" / f"{stem}.npz"
            np.savez(path, **{k: np.asarray(v, dtype=np.float32) for k, v in snapshot.items()})
        return path

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
        folder = self.path / "checkpoints"
        path = folder / f"step_{step:08d}.pt"
        tmp = folder / f".step_{step:08d}.pt.tmp"
        torch.save(state, tmp)
        os.replace(tmp, path)
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
        try:
            state = torch.load(path, map_location=map_location, weights_only=True)
        except Exception as exc:  # corrupt, truncated, foreign or carrying code: all refused alike
            raise RunDirError(
                f"checkpoint {path.name} of run {self.run_id!r} cannot be loaded: {exc}"
            ) from None
        required = {"generator", "discriminator", "step", "config"}
        if not isinstance(state, dict) or not required <= set(state):
            raise RunDirError(
                f"checkpoint {path.name} of run {self.run_id!r} is not a GAN checkpoint "
                f"(needs {', '.join(sorted(required))})"
            )
        return state


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
