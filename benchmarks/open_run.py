"""Opening and refreshing a long run on disk: the tailing reader (`gan_core.tracking.tail`, what
`RunRegistry.view` uses) against a whole read of metrics.csv (`RunDir.read_metrics_checked` + one
`MetricStore.extend`, what the registry did before).

It writes two run folders shaped like the runner's (`RunDir.create`, metrics.csv in `CSV_COLUMNS` with every
cell as `append_record` writes it, events.csv, status.json): one of ``--rows`` rows (1,000,000) and one
of ``--small`` rows (1,000). Then, each in a fresh process:

- open: from ``RunRegistry(root).view(run_id)`` to the first chart's figure built (`charts.loss_figure` on
  `charts.metric_view` of the store, as dashboard.py's charts_panel draws it), wall and CPU
  time, and the growth of the process's peak resident memory (VmHWM, reset before the open where Linux
  allows). Plotly has drawn a figure before the clock starts, as it has in a running server;
- refresh: the run is live (a writer holds it and appends rows as the runner does); one refresh is one
  row appended, then ``view(run_id)``, `charts.metric_view` and the evaluations' version, as a Train view
  refresh takes them, timed, median of ``--rounds``, the small
  and the large run in alternate rounds; the ratio large / small is the figure to read (the old path's
  large refresh is one whole read, timed once).

    python -m benchmarks.open_run [--rows 1000000] [--small 1000] [--rounds 30] [--no-old] [--keep DIR]

``--keep DIR`` writes the runs there and leaves them; a later call with the same folder reuses them.

pyarrow parses on as many threads as ``OMP_NUM_THREADS`` allows (its default pool reads it), all cores
when it is unset; the output says how many it had.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from gan_core.config import GANConfig
from gan_core.rundir import RunDir, csv_cell, csv_line, current_events
from gan_core.tracking.schema import CSV_COLUMNS, EVAL_COLUMNS, RECORD_COLUMNS

CHART_POINTS = 300  # dashboard.py's
EVAL_EVERY = 500
BLOCK_ROWS = 100_000
CFG = GANConfig(dataset="ring8", device="cpu", steps=0)


# ---------------------------------------------------------------------------------------------- writing
def _rows_text(start: int, n: int, seed: int) -> bytes:
    """Rows ``start`` .. ``start + n - 1`` of a plausible run, every cell as `csv_cell` writes it (the
    runner's writer): float32 losses and outputs at full precision, the hyperparameters, an evaluation every
    `EVAL_EVERY` steps (blank cells between), a flag on some rows."""
    rng = np.random.default_rng(seed)
    steps = np.arange(start, start + n)
    columns: dict[str, list[str]] = {"step": list(map(str, steps.tolist()))}
    # (float32 values widened, as torch's .tolist() gives them: 17 significant digits)
    columns["time_s"] = list(
        map(csv_cell, (start * 0.003 + np.cumsum(rng.uniform(0.002, 0.004, n))).tolist())
    )
    for name in RECORD_COLUMNS:
        if name.startswith(("d_", "g_")) and name != "d_steps":
            values = rng.uniform(0.0, 2.0, n).astype(np.float32).astype(np.float64)
            columns[name] = list(map(csv_cell, values.tolist()))
    columns["samples_per_s"] = list(map(csv_cell, rng.uniform(20_000, 40_000, n).tolist()))
    constants = {"lr_g": 0.0002, "lr_d": 0.0002, "d_steps": 1.0, "beta1": 0.5, "beta2": 0.999}
    constants |= {"label_smoothing": 0.0, "instance_noise": 0.0, "gp_weight": 10.0, "clip_value": 0.01}
    for name, value in constants.items():
        columns[name] = [csv_cell(value)] * n
    measured = steps % EVAL_EVERY == 0
    for name in EVAL_COLUMNS:
        cells = [""] * n
        for i in np.flatnonzero(measured).tolist():
            cells[i] = csv_cell(float(np.float32(rng.uniform(0.0, 8.0))))
        columns[name] = cells
    flagged = rng.random(n) < 0.05
    columns["flags"] = ["d_overpowers" if f else "" for f in flagged.tolist()]
    ordered = [columns[name] for name in CSV_COLUMNS]
    return ("\n".join(map(",".join, zip(*ordered))) + "\n").encode()


def make_run(root: Path, run_id: str, rows: int) -> RunDir:
    """A run folder of ``rows`` metric rows, left claimed and open for appending (a live writer)."""
    run = RunDir.create(root, CFG, run_id)
    run.write_status({"status": "running", "step": rows})
    run.append_event(0, "status", "running", {"status": "running"})
    run.open_metrics(CSV_COLUMNS)
    run.close()
    with open(run.path / "metrics.csv", "ab") as f:  # the claim is held: this is the run's writer
        for start in range(1, rows + 1, BLOCK_ROWS):
            f.write(_rows_text(start, min(BLOCK_ROWS, rows + 1 - start), seed=start))
    run.open_metrics(CSV_COLUMNS)
    return run


def check_format() -> None:
    """The rows written here are byte for byte what `RunDir.append_record` writes for the same values."""
    import io

    import pandas as pd

    text = _rows_text(499, 5, seed=7)
    frame = pd.read_csv(io.BytesIO(csv_line(CSV_COLUMNS) + text), keep_default_na=False, dtype=str)
    for line, (_, row) in zip(text.splitlines(keepends=True), frame.iterrows()):
        values = [float(row[c]) if row[c] else float("nan") for c in RECORD_COLUMNS]
        assert csv_line([*values, row["flags"]]) == line, (line, csv_line([*values, row["flags"]]))


def record(step: int) -> tuple:
    values = [float(step)] + [0.5] * (len(RECORD_COLUMNS) - 1)
    return (*values, "")


# ---------------------------------------------------------------------------------------------- measuring
def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _reset_peak() -> bool:
    """Reset VmHWM to the current RSS (Linux 4.0+: clear_refs 5); False where that is not allowed."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _old_view(root: Path, run_id: str):
    """What RunRegistry.view did before the tail: every file read whole, the metrics into a new store."""
    from gan_core.store import MetricStore

    run = RunDir.open(root, run_id)
    run.read_config()
    run.read_status_checked()
    frame, _ = run.read_metrics_checked(RECORD_COLUMNS)
    store = MetricStore(RECORD_COLUMNS)
    if len(frame):
        store.extend(frame[list(RECORD_COLUMNS)].to_numpy(dtype=np.float64))
    events, _ = run.read_events_checked()
    return store, current_events(events.to_dict("records"))


def child_open(root: Path, run_id: str, path: str) -> dict:
    import pyarrow as pa

    from gan_core import charts
    from gan_core.registry import RunRegistry

    charts.loss_figure(None)  # plotly's figure machinery loaded, as in a server that has drawn a chart
    registry = RunRegistry(root)
    peak_reset = _reset_peak()
    rss_before = _status_kb("VmRSS")
    wall, cpu = time.perf_counter(), time.process_time()
    if path == "new":
        view = registry.view(run_id)
        store, events, loss = view.store, view.events, view.cfg.loss
    else:
        (store, events), loss = _old_view(root, run_id), CFG.loss
    frame = (
        charts.metric_view(store, CHART_POINTS) if path == "new" else store.view(CHART_POINTS, nonfinite=True)
    )
    figure = charts.loss_figure(frame, events, loss_name=loss)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    assert len(figure["data"]) and len(store) > 0
    return {
        "wall_s": wall,
        "cpu_s": cpu,
        "rss_growth_mb": (_status_kb("VmHWM") - rss_before) / 1024,
        "peak_reset": peak_reset,
        "rows": len(store),
        "arrow_threads": pa.cpu_count(),
    }


def child_refresh(root: Path, small: str, large: str, rounds: int, path: str) -> dict:
    from gan_core import charts
    from gan_core.registry import RunRegistry

    registry = RunRegistry(root)
    writers, steps = {}, {}
    for run_id in (small, large):
        writers[run_id] = RunDir.open(root, run_id).claim("benchmark writer")  # the live run's writer
        writers[run_id].open_metrics(CSV_COLUMNS)
        steps[run_id] = writers[run_id].last_metrics_step()
        if path == "new":
            registry.view(run_id)  # opened once; what is timed is the refresh
    times: dict[str, list[float]] = {small: [], large: []}
    for i in range(rounds):
        for run_id in (small, large) if i % 2 == 0 else (large, small):
            if path == "old" and run_id == large and times[large]:
                continue  # a whole read of the large file: once is enough
            steps[run_id] += 1
            writers[run_id].append_record(record(steps[run_id]))
            start = time.perf_counter()
            if path == "new":  # what the Train view takes at a refresh (`dashboard.charts_panel`)
                view = registry.view(run_id)
                charts.metric_view(view.store, CHART_POINTS)
                _ = view.store.exact_version
                current = view.current_step
            else:
                store, _ = _old_view(root, run_id)
                store.view(CHART_POINTS, nonfinite=True)
                current = store.last_step
            times[run_id].append(time.perf_counter() - start)
            assert current == steps[run_id], (current, steps[run_id])
    for writer in writers.values():
        writer.release()
    return {"small_s": statistics.median(times[small]), "large_s": statistics.median(times[large])}


def in_child(*args: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.open_run", "--child", *args],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    if done.returncode:
        raise SystemExit(f"the measuring process failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.open_run", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--rows", type=int, default=1_000_000, help="rows of the long run (default: %(default)s)"
    )
    parser.add_argument(
        "--small", type=int, default=1_000, help="rows of the short run (default: %(default)s)"
    )
    parser.add_argument(
        "--rounds", type=int, default=30, help="refreshes timed per run (default: %(default)s)"
    )
    parser.add_argument(
        "--opens",
        type=int,
        default=3,
        help="fresh processes timed opening the long run (default: %(default)s)",
    )
    parser.add_argument("--no-old", action="store_true", help="skip the whole-read figures (slow, 1.5 GB)")
    parser.add_argument("--keep", type=Path, help="write the runs here and keep them (else a temp folder)")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        kind, root, *rest = args.child
        if kind == "open":
            result = child_open(Path(root), rest[0], rest[1])
        else:
            result = child_refresh(Path(root), rest[0], rest[1], int(rest[2]), rest[3])
        print(json.dumps(result))
        return

    check_format()
    root = args.keep or Path(tempfile.mkdtemp(prefix="open-run-"))
    small, large = f"run-{args.small}", f"run-{args.rows}"
    started = time.perf_counter()
    for run_id, rows in ((small, args.small), (large, args.rows)):
        if (root / run_id).exists():  # kept from an earlier run (--keep): its rows and the ones appended
            print(f"{run_id}: kept from before ({RunDir.open(root, run_id).last_metrics_step():,} rows)")
            continue
        make_run(root, run_id, rows).release()  # (each measuring process claims the runs it writes to)
    size = (root / large / "metrics.csv").stat().st_size
    print(
        f"runs ready in {time.perf_counter() - started:.0f} s (metrics.csv {size / 1e6:.0f} MB and "
        f"{(root / small / 'metrics.csv').stat().st_size / 1e3:.0f} kB)"
    )
    os.sync()  # the new files' write-back to disk would otherwise fall inside the first measurements
    paths = ["new"] if args.no_old else ["new", "old"]
    try:
        opens = {p: [in_child("open", str(root), large, p) for _ in range(args.opens)] for p in paths}
        for results in opens.values():  # the median open, by wall time
            results.sort(key=lambda r: r["wall_s"])
        opened = {path: results[len(results) // 2] for path, results in opens.items()}
        refreshed = {
            path: in_child("refresh", str(root), small, large, str(args.rounds), path) for path in paths
        }
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)
    names = {"new": "tail (new)", "old": "whole read (old)"}
    threads = opened["new"]["arrow_threads"]
    print(
        f"\nopen a finished run of {args.rows:,} rows, up to the loss chart's figure, a fresh process each "
        f"time, the median of {args.opens} (wall s of each: "
        + "; ".join(f"{path} " + ", ".join(f"{r['wall_s']:.2f}" for r in opens[path]) for path in paths)
        + ")"
    )
    omp = os.environ.get("OMP_NUM_THREADS", "unset")
    print(f"(pyarrow on {threads} thread{'s' if threads > 1 else ''}; OMP_NUM_THREADS={omp})")
    print(f"  {'':18}{'wall s':>8}{'CPU s':>8}{'RSS growth MB':>15}")
    for path, result in opened.items():
        note = "" if result["peak_reset"] else "  (peak not reset: growth over the peak before)"
        figures = f"{result['wall_s']:8.2f}{result['cpu_s']:8.2f}{result['rss_growth_mb']:15.0f}"
        print(f"  {names[path]:18}{figures}{note}")
    print(f"\nrefresh of a live run: append 1 row, view(run_id) + metric_view ({args.rounds} rounds, median)")
    print(f"  {'':18}{f'{args.small:,} rows':>14}{f'{args.rows:,} rows':>16}{'ratio':>9}")
    for path, result in refreshed.items():
        ratio = result["large_s"] / result["small_s"]
        note = "  (the large one timed once)" if path == "old" else ""
        print(
            f"  {names[path]:18}{result['small_s'] * 1e3:11.1f} ms{result['large_s'] * 1e3:13.1f} ms"
            f"{ratio:9.2f}{note}"
        )


if __name__ == "__main__":
    main()
