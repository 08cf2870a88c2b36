"""`python -m gan_core runs` on a long run: reading metrics.csv's last row costs the same at any length.

    python -m benchmarks.listing [--rows 1000000] [--repeats 30]

Writes a runs folder (under a temporary folder) holding a run of ``--rows`` rows and one of 10
(`benchmarks.open_run.make_run`: digits-shaped rows, an evaluation every 500th), then times
`RunDir.last_metrics` and `RunDir.last_measured` on each and the whole listing
(`gan_core.__main__.run_listing`: the Runs page's summaries and each run's last row and evaluation),
medians of ``--repeats``, wall time in this process.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks.open_run import make_run
from gan_core.__main__ import run_listing
from gan_core.tracking.schema import EVAL_COLUMNS


def timed(fn, repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.listing", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rows", type=int, default=1_000_000, help="rows of the long run (default: %(default)s)"
    )
    parser.add_argument(
        "--repeats", type=int, default=30, help="timed reads of each run (default: %(default)s)"
    )
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="listing_"))
    try:
        start = time.perf_counter()
        long = make_run(root, "long", args.rows)
        size = (long.path / "metrics.csv").stat().st_size / 1e6
        print(
            f"wrote {args.rows:,} rows ({size:.0f} MB of metrics.csv) in {time.perf_counter() - start:.1f} s"
        )
        short = make_run(root, "short", 10)
        for name, run in ((f"{10:,} rows", short), (f"{args.rows:,} rows", long)):
            for what, read in (
                ("last_metrics", run.last_metrics),
                ("last_measured(EVAL_COLUMNS)", lambda run=run: run.last_measured(EVAL_COLUMNS)),
            ):
                times = timed(read, args.repeats)
                median, least = statistics.median(times) * 1e3, min(times) * 1e3
                print(f"{what}, {name}: median {median:.2f} ms, min {least:.2f}")
        times = timed(lambda: run_listing(root), max(3, args.repeats // 3))
        print(f"run_listing of both runs: median {statistics.median(times) * 1e3:.1f} ms")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
