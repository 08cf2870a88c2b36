"""Train every scenario preset in full, as the dashboard would, and print a table of what happened.

``python -m benchmarks.presets [--seeds 0 1 2] [--presets NAME ...] [--out DIR] [--threads N]``

Each preset (and, when asked for as ``grid25``, the healthy ring8 recipe unchanged on the 25-mode grid,
beside the healthy-grid25 preset) runs under a `Runner` in a throwaway runs folder, one run at a time:
metrics, CSV, snapshots, checkpoints, flags, exactly what Start does. Per run it prints the wall seconds
(Start to the end, data loading included), the steps trained, every flag raised with the step it was
first raised (failure flags, ``d_leads`` and ``equilibrium``), whether the failure flags the preset
expects were raised (and, for a healthy preset, that no failure flag was), and the final quality
metrics: modes_covered / hq_pct on ring8 and grid25, classes_covered / diversity on the digits. A
summary then gives the mean and spread (min-max) over seeds.

Torch gets one thread by default, as the dashboard gives it on a 2-core machine (`ui.common`).
"""

from __future__ import annotations

import argparse
import math
import statistics
import tempfile
import time
from pathlib import Path

import torch

from gan_core.config import GANConfig
from gan_core.flags import FAILURE_FLAGS
from gan_core.presets import PRESETS, get_preset, preset_config
from gan_core.runner import Runner

GRID25 = "grid25 (healthy-ring8 recipe)"
# Quality metrics reported per dataset kind: the last evaluation's values.
QUALITY = {"points": ("modes_covered", "hq_pct"), "images": ("classes_covered", "diversity")}


DEFAULT = "default (no preset)"


def flags_raised(runner: Runner) -> dict[str, int]:
    """Flag -> the step it was first raised, from the run's events (failure, watch and healthy flags)."""
    raised: dict[str, int] = {}
    for event in runner.events:
        if event["kind"] == "flag":
            raised.setdefault(event["fields"]["flag"], int(event["step"]))
    return raised


def run_one(label: str, cfg: GANConfig, expected: tuple[str, ...], root: Path) -> dict:
    started = time.perf_counter()
    runner = Runner(cfg, root).start()
    runner.wait()
    wall = time.perf_counter() - started
    raised = flags_raised(runner)
    failures = [name for name in raised if name in FAILURE_FLAGS]
    ok = all(name in failures for name in expected) if expected else not failures  # healthy: no failure
    kind = "points" if cfg.is_points else "images"
    return {
        "preset": label,
        "run_id": runner.run_id,
        "seed": cfg.seed,
        "wall_s": wall,
        "steps": runner.current_step,
        "status": runner.status,
        "raised": raised,
        "ok": ok,
        **{name: runner.last_eval.get(name, math.nan) for name in QUALITY[kind]},
    }


def fmt(value: float, digits: int = 1) -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"


def print_row(row: dict) -> None:
    raised = ", ".join(f"{k}@{v}" for k, v in row["raised"].items()) or "none"
    quality = " ".join(
        f"{k}={fmt(row[k], 0 if k.endswith('covered') else (1 if k == 'hq_pct' else 2))}"
        for k in ("modes_covered", "hq_pct", "classes_covered", "diversity")
        if k in row
    )
    print(
        f"| {row['preset']} | {row['seed']} | {row['wall_s']:.0f} | {row['steps']} | {row['status']} | "
        f"{raised} | {'yes' if row['ok'] else 'NO'} | {quality} |",
        flush=True,
    )


def spread(values: list[float], digits: int) -> str:
    values = [v for v in values if not math.isnan(v)]
    if not values:
        return "-"
    mean = statistics.fmean(values)
    return f"{mean:.{digits}f} ({min(values):.{digits}f}-{max(values):.{digits}f})"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.presets", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--seeds", type=int, nargs="+", default=[0, 1, 2], help="seeds of each preset (default: 0 1 2)"
    )
    parser.add_argument(
        "--presets",
        nargs="+",
        default=list(PRESETS),
        metavar="NAME",
        help="presets to run: "
        + ", ".join(PRESETS)
        + ", grid25 (the healthy ring8 recipe on grid25) and default (the sidebar's defaults)",
    )
    parser.add_argument("--out", type=Path, help="runs folder to keep (default: a temporary one)")
    parser.add_argument(
        "--threads", type=int, default=1, help="torch intra-op threads (default: %(default)s)"
    )
    args = parser.parse_args(argv)
    for name in args.presets:
        if name not in ("grid25", "default"):
            get_preset(name)  # unknown names fail now, not after an hour of training
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, seeds {args.seeds}")
    print("| preset | seed | wall s | steps | status | flags raised (@ step) | as expected | quality |")
    print("| --- | ---: | ---: | ---: | --- | --- | --- | --- |")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root = args.out or Path(tmp)
        for name in args.presets:
            for seed in args.seeds:
                if name == "grid25":
                    cfg = preset_config("healthy-ring8", dataset="grid25", seed=seed, device="cpu")
                    row = run_one(GRID25, cfg, (), root)
                elif name == "default":  # the sidebar's defaults, as a first Start trains them
                    row = run_one(DEFAULT, GANConfig(seed=seed, device="cpu"), (), root)
                else:
                    preset = get_preset(name)
                    cfg = preset.config(seed=seed, device="cpu")
                    row = run_one(name, cfg, preset.expected_flags, root)
                rows.append(row)
                print_row(row)
    print()
    print("| preset | as expected | wall s | steps | modes_covered | hq_pct | classes_covered | diversity |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for label in dict.fromkeys(r["preset"] for r in rows):
        group = [r for r in rows if r["preset"] == label]

        def col(key: str, digits: int, group=group) -> str:
            return spread([r[key] for r in group if key in r], digits)

        print(
            f"| {label} | {sum(r['ok'] for r in group)}/{len(group)} | {col('wall_s', 0)} | "
            f"{col('steps', 0)} | {col('modes_covered', 1)} | {col('hq_pct', 1)} | "
            f"{col('classes_covered', 1)} | {col('diversity', 2)} |"
        )


if __name__ == "__main__":
    main()
