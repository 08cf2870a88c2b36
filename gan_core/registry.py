"""Every run the server knows: live runners it started and finished runs read back from disk.

The dashboard keeps one `RunRegistry` for the whole server (``st.cache_resource``), so a page refresh,
a page switch or a second tab sees the same live run; a browser session only remembers which run id it
watches. `RunRegistry.view` gives the same read interface (`RunView`) for a live run and for a run on
disk (opened read-only), so pages never care which it is.
"""

from __future__ import annotations

import contextlib
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from gan_core.config import GANConfig
from gan_core.data import DataSource
from gan_core.rundir import RunDir, RunDirError, inside, list_runs, validate_run_id
from gan_core.runner import ENDED, Runner, RunnerError
from gan_core.store import MetricStore
from gan_core.trainer import RECORD_COLUMNS

DEFAULT_MAX_ACTIVE = 2


class RegistryError(RuntimeError):
    """A request the registry refuses (too many active runs, deleting a live run, unknown run)."""


@dataclass
class RunView:
    """What a page reads of one run, live or on disk."""

    run_id: str
    cfg: GANConfig
    run_dir: RunDir
    store: MetricStore
    runner: Runner | None = None  # None: read-only run from disk
    _disk_status: dict | None = None
    _snapshot_paths: dict[int, Path] | None = None
    _events: list[dict[str, Any]] | None = None

    @property
    def live(self) -> bool:
        return self.runner is not None

    @property
    def status(self) -> str:
        if self.runner is not None:
            return self.runner.status
        status = (self._disk_status or {}).get("status", "unknown")
        # A run folder that says running/paused but has no runner in this server was cut off.
        return "interrupted" if status in ("running", "paused", "idle") else status

    @property
    def error(self) -> str | None:
        return self.runner.error if self.runner is not None else (self._disk_status or {}).get("error")

    @property
    def device(self) -> str | None:
        return self.runner.device if self.runner is not None else (self._disk_status or {}).get("device")

    @property
    def current_step(self) -> int:
        if self.runner is not None:
            return self.runner.current_step
        return int(self.store.last_step or 0)

    @property
    def flags(self) -> list[str]:
        """Flags up now (live) or when the run last wrote its status (on disk)."""
        if self.runner is not None:
            return sorted(self.runner.monitor.active)
        return list((self._disk_status or {}).get("flags") or [])

    @property
    def events(self) -> list[dict[str, Any]]:
        if self.runner is not None:
            return list(self.runner.events)
        return self._events or []

    @property
    def hparams(self) -> dict[str, Any]:
        if self.runner is not None:
            return self.runner.hparams
        latest = self.store.latest() or {}
        from gan_core.config import MUTABLE_FIELDS

        values = {k: getattr(self.cfg, k) for k in MUTABLE_FIELDS}
        for k in values:
            if k in latest and latest[k] == latest[k]:
                values[k] = type(values[k])(latest[k])
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
        """The snapshot at the latest saved step <= ``step`` (the newest when None)."""
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


class RunRegistry:
    """Thread-safe registry of live runners plus read-only access to every run folder in ``runs_root``."""

    def __init__(self, runs_root: str | Path, max_active: int = DEFAULT_MAX_ACTIVE):
        if max_active < 1:
            raise ValueError(f"max_active={max_active} is invalid: allowed 1 or more")
        self.runs_root = Path(runs_root).resolve()
        self.runs_root.mkdir(parents=True, exist_ok=True)
        self.max_active = max_active
        self._runners: dict[str, Runner] = {}
        self._disk_cache: dict[str, tuple[float, RunView]] = {}
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ live runs
    def start(
        self,
        cfg: GANConfig,
        *,
        data: DataSource | None = None,
        run_id: str | None = None,
        paused: bool = False,
    ) -> Runner:
        with self._lock:
            active = [r for r in self._runners.values() if r.status not in ENDED]
            if len(active) >= self.max_active:
                names = ", ".join(r.run_id for r in active)
                raise RegistryError(
                    f"{len(active)} runs are already training ({names}); the limit is {self.max_active}: "
                    "stop one first (or raise GAN_DASHBOARD_MAX_RUNS)"
                )
            runner = Runner(cfg, self.runs_root, run_id, data=data)
            self._runners[runner.run_id] = runner
        return runner.start(paused=paused)

    def runner(self, run_id: str) -> Runner | None:
        with self._lock:
            return self._runners.get(run_id)

    def active(self) -> list[Runner]:
        with self._lock:
            return [r for r in self._runners.values() if r.status not in ENDED]

    def stop_all(self, timeout: float = 30.0) -> None:
        """Stop every live run cleanly (checkpoint, flush) and wait for their threads."""
        for runner in self.active():
            with contextlib.suppress(RunnerError):  # it may have ended between the listing and the stop
                runner.stop()
        deadline = time.monotonic() + timeout
        for runner in list(self._runners.values()):
            runner.wait(max(0.0, deadline - time.monotonic()))

    # ------------------------------------------------------------------ every run
    def view(self, run_id: str) -> RunView:
        """A live run, or a run folder opened read-only (cached until its metrics.csv changes)."""
        validate_run_id(run_id)
        runner = self.runner(run_id)
        if runner is not None:
            return RunView(run_id, runner.cfg, runner.run_dir, runner.store, runner)
        run_dir = RunDir.open(self.runs_root, run_id)
        metrics = run_dir.path / "metrics.csv"
        stamp = max(
            (p.stat().st_mtime for p in (metrics, run_dir.path / "status.json") if p.exists()), default=0.0
        )
        with self._lock:
            cached = self._disk_cache.get(run_id)
        if cached and cached[0] == stamp:
            return cached[1]
        view = self._load(run_dir)
        with self._lock:
            self._disk_cache[run_id] = (stamp, view)
        return view

    def _load(self, run_dir: RunDir) -> RunView:
        cfg = run_dir.read_config()
        store = MetricStore(RECORD_COLUMNS)
        frame = run_dir.read_metrics()
        if len(frame):
            missing = [c for c in RECORD_COLUMNS if c not in frame.columns]
            if missing:
                raise RunDirError(f"run {run_dir.run_id!r}: metrics.csv lacks columns {', '.join(missing)}")
            store.extend(frame[list(RECORD_COLUMNS)].to_numpy(dtype=np.float64))
        events = run_dir.read_events().to_dict("records")
        return RunView(
            run_dir.run_id,
            cfg,
            run_dir,
            store,
            None,
            _disk_status=run_dir.read_status(),
            _snapshot_paths=dict(run_dir.snapshot_steps()),
            _events=events,
        )

    def summaries(self) -> list[dict[str, Any]]:
        """One row per run folder, newest first: id, status, data, model, loss, steps, created, size."""
        rows = []
        for run_dir in list_runs(self.runs_root):
            status = run_dir.read_status()
            runner = self.runner(run_dir.run_id)
            try:
                cfg = run_dir.read_config()
            except RunDirError:
                continue  # a folder that is not (or no longer) a readable run
            state = runner.status if runner else status.get("status", "unknown")
            if runner is None and state in ("running", "paused", "idle"):
                state = "interrupted"
            rows.append(
                {
                    "run_id": run_dir.run_id,
                    "status": state,
                    "dataset": cfg.dataset,
                    "model": cfg.model,
                    "loss": cfg.loss,
                    "step": runner.current_step if runner else int(status.get("step", 0)),
                    "steps": cfg.steps,
                    "created": status.get("created", ""),
                    "flags": ", ".join(
                        sorted(runner.monitor.active) if runner else status.get("flags") or []
                    ),
                    "error": (runner.error if runner else status.get("error")) or "",
                    "size_mb": round(folder_bytes(run_dir.path) / 1e6, 2),
                }
            )
        return rows

    def delete(self, run_id: str) -> None:
        """Remove a run folder; refused while its run trains."""
        validate_run_id(run_id)
        runner = self.runner(run_id)
        if runner is not None and runner.status not in ENDED:
            raise RegistryError(f"run {run_id!r} is {runner.status}: stop it before deleting")
        path = inside(self.runs_root, self.runs_root / run_id)
        if not (path / "config.json").is_file():
            raise RegistryError(f"no run {run_id!r} in {self.runs_root}")
        shutil.rmtree(path)
        with self._lock:
            self._runners.pop(run_id, None)
            self._disk_cache.pop(run_id, None)


def folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())
