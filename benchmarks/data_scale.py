"""Data at scale (issue 15): a generated folder of many small images, held as uint8 or streamed.

The folder: ``--images`` (200,000) colour PNGs of ``--side`` (32) px in 10 class subfolders, written by
two processes from 1,000 distinct random pictures (each file a real PNG that is decoded in full), in a
temporary folder (``--dir`` names where; deleted after unless ``--keep``). Every measurement runs in a
fresh child process (``OMP_NUM_THREADS=1``), so that its peak memory is its own:

- ``streamed, first``: ``$GAN_DASHBOARD_DATA_BUDGET_MB=0`` (every folder streams) and an empty cache
  folder: the load decodes every file into the cache file; load seconds and the peak RSS of the process
  (``resource.getrusage``, ru_maxrss; the decoding workers' peak is given apart, the largest of them);
- ``streamed, cached``: the same again: the cache is checked (size and CRC-32) and reused;
- ``held, cached``: a budget the folder fits in (``$GAN_DASHBOARD_DATA_BUDGET_MB`` raised, as for the
  steps/s below; the output says whether the default budget, 2 GiB, would hold or stream it): held whole
  on the device as uint8, read from the same cache file (a folder of 10,000 files or more goes through
  it); its peak RSS, the bytes of the held tensor and what the same set took as float32 before issue 15
  (4 bytes a value);
- ``steps/s``: one process loads the folder both ways and trains a `Trainer` on each (``--model``,
  ``--batch`` images a step, seed 0) in interleaved rounds (held, streamed, then streamed, held, ...),
  each round from the same weights and optimizer state (the held trainer's after warm-up), so that both
  do the same arithmetic on different batches:
  ``--steps`` steps a round (a tenth of them for dcgan, whose steps are slower) after ``--warmup``
  steps, steps/s = steps / seconds of ``Trainer.step`` calls; the ratio streamed / held per round and
  its median. The streamed source reads batches in `gan_core.image_store.STREAM_WORKERS` worker
  processes.

    python -m benchmarks.data_scale                      # 200,000 images of 32 px, steps/s of the mlp
    python -m benchmarks.data_scale --models mlp,dcgan    # and of the DCGAN (compute-bound: slow here)
    python -m benchmarks.data_scale --images 20000 --rounds 2 --steps 50   # a quicker look
    python -m benchmarks.data_scale --dir /dev/shm --keep  # a faster file system; keep the folder
    python -m benchmarks.data_scale --speed-only /tmp/data_scale_xxxx   # steps/s again on a kept one
"""

from __future__ import annotations

import argparse
import io
import json
import multiprocessing
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
HELD_BUDGET_MB = str(10**6)  # $GAN_DASHBOARD_DATA_BUDGET_MB for the held figures: any folder here is held
CLASSES = 10
DISTINCT = 1000


def _pictures(side: int) -> list[bytes]:
    from PIL import Image

    rng = np.random.default_rng(0)
    pictures = []
    for _ in range(DISTINCT):
        # smooth colour fields plus noise: compresses like a photo more than pure noise does
        base = rng.integers(0, 256, size=(1, 1, 3))
        ramp = np.linspace(0, 1, side)[None, :, None] * rng.integers(-120, 120, size=(1, 1, 3))
        noise = rng.normal(0, 12, size=(side, side, 3))
        pixels = np.clip(base + ramp + noise, 0, 255).astype(np.uint8)
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, format="PNG")
        pictures.append(buffer.getvalue())
    return pictures


def _write_part(args: tuple[str, int, int, int]) -> None:
    folder, side, start, stop = args
    pictures = _pictures(side)
    for i in range(start, stop):
        path = os.path.join(folder, f"class{i % CLASSES}", f"{i:07d}.png")
        with open(path, "wb") as file:
            file.write(pictures[i % DISTINCT])


def generate(folder: Path, images: int, side: int) -> float:
    """Write the folder; returns the seconds it took."""
    started = time.perf_counter()
    for c in range(CLASSES):
        (folder / f"class{c}").mkdir(parents=True, exist_ok=True)
    half = images // 2
    with multiprocessing.get_context("fork").Pool(2) as pool:
        pool.map(_write_part, [(str(folder), side, 0, half), (str(folder), side, half, images)])
    return time.perf_counter() - started


# ---------------------------------------------------------------------------------------------- children
def _peak_mb(who: int = resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 1024  # KiB on Linux


def _cfg(args: argparse.Namespace):
    from gan_core.config import GANConfig

    return GANConfig(
        dataset="folder",
        data_path=str(args.folder),
        image_size=args.side,
        model=args.model,
        batch_size=args.batch,
        device="cpu",
        seed=0,
    )


def child_load(args: argparse.Namespace) -> dict:
    from gan_core.data import load_data

    source = load_data(_cfg(args))
    count, shape = source.num_examples, source.sample_shape
    return {
        "load_s": source.load_seconds,
        "peak_rss_mb": _peak_mb(),
        "workers_peak_rss_mb": _peak_mb(resource.RUSAGE_CHILDREN),
        "streamed": source.streamed,
        "images": count,
        "held_mb": source.nbytes / 2**20,
        "float32_mb": count * int(np.prod(shape)) * 4 / 2**20,
        "notes": source.notes,
    }


def child_speed(args: argparse.Namespace) -> dict:
    import torch

    from gan_core import data
    from gan_core.trainer import Trainer

    torch.set_num_threads(1)
    cfg = _cfg(args)
    os.environ[data.MEMORY_BUDGET_ENV] = HELD_BUDGET_MB
    held = data.load_data(cfg)
    os.environ[data.MEMORY_BUDGET_ENV] = "0"
    streamed = data.load_data(cfg)
    assert streamed.streamed and not held.streamed
    trainers = {"held": Trainer(cfg, held), "streamed": Trainer(cfg, streamed)}
    for trainer in trainers.values():
        for _ in range(args.warmup):
            trainer.step()
    start = trainers["held"].state_dict()
    start.pop("data_stream")  # each trainer's own data goes on where it is
    rates: dict[str, list[float]] = {"held": [], "streamed": []}
    cpu_ms: dict[str, list[float]] = {"held": [], "streamed": []}  # CPU per step, stream workers included
    steps = args.steps if args.model != "dcgan" else max(1, args.steps // 10)
    for r in range(args.rounds):
        for name in ("held", "streamed") if r % 2 == 0 else ("streamed", "held"):
            trainer = trainers[name]
            trainer.load_state_dict(start)
            workers = _worker_pids(trainer.data)
            cpu = time.process_time() + _cpu_seconds(workers)
            started = time.perf_counter()
            for _ in range(steps):
                trainer.step()
            rates[name].append(steps / (time.perf_counter() - started))
            cpu_ms[name].append((time.process_time() + _cpu_seconds(workers) - cpu) / steps * 1000)
    ratios = [s / h for s, h in zip(rates["streamed"], rates["held"])]
    return {"rates": rates, "ratios": ratios, "median_ratio": statistics.median(ratios), "cpu_ms": cpu_ms}


def _worker_pids(source) -> list[int]:
    """The stream's worker processes (DataLoader's iterator keeps them in ``_workers``); none when held."""
    return [w.pid for w in getattr(getattr(source, "_batches", None), "_workers", [])]


def _cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds of processes ``pids`` so far (/proc/PID/stat fields 14 and 15)."""
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def run_child(kind: str, args: argparse.Namespace, env: dict[str, str], model: str | None = None) -> dict:
    command = [
        sys.executable, "-m", "benchmarks.data_scale", "--child", kind, "--folder", str(args.folder),
        "--side", str(args.side), "--batch", str(args.batch), "--model", model or args.model,
        "--steps", str(args.steps), "--warmup", str(args.warmup), "--rounds", str(args.rounds),
    ]  # fmt: skip
    child_env = {**os.environ, "OMP_NUM_THREADS": "1", **env}
    out = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env=child_env, check=False)
    if out.returncode:
        raise SystemExit(f"{kind} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.data_scale", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--images", type=int, default=200_000, help="PNGs generated (default: %(default)s)")
    parser.add_argument("--side", type=int, default=32, help="their side in pixels (default: %(default)s)")
    parser.add_argument("--batch", type=int, default=64, help="batch size (default: %(default)s)")
    parser.add_argument(
        "--models",
        default="mlp",
        help="comma-separated (mlp, dcgan); steps/s for each (default: %(default)s)",
    )
    parser.add_argument("--model", default="mlp", help=argparse.SUPPRESS)
    parser.add_argument("--steps", type=int, default=100, help="steps a round (default: %(default)s)")
    parser.add_argument("--warmup", type=int, default=10, help="untimed steps first (default: %(default)s)")
    parser.add_argument("--rounds", type=int, default=6, help="timed rounds (default: %(default)s)")
    parser.add_argument(
        "--dir",
        type=Path,
        default=None,
        help="where the temporary folder goes (default: the system's temp folder)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the generated folder and cache")
    parser.add_argument("--child", choices=("load", "speed"), help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    parser.add_argument(
        "--speed-only", type=Path, metavar="DIR", help="steps/s only, on a folder --keep kept"
    )
    args = parser.parse_args(argv)
    if args.child:
        result = child_load(args) if args.child == "load" else child_speed(args)
        print(json.dumps(result))
        return 0

    if args.speed_only is not None:  # a folder kept by --keep: its cache is there, only steps/s again
        args.folder = args.speed_only / "images"
        env = {"GAN_DASHBOARD_DATA_CACHE": str(args.speed_only / "cache")}
        print_speeds(
            args, {model: run_child("speed", args, env, model=model) for model in args.models.split(",")}
        )
        return 0

    work = Path(tempfile.mkdtemp(prefix="data_scale_", dir=args.dir))
    args.folder = work / "images"
    cache = work / "cache"
    try:
        print(f"generating {args.images:,} PNGs of {args.side} px in {args.folder} ...", file=sys.stderr)
        generated = generate(args.folder, args.images, args.side)
        size_mb = sum(f.stat().st_size for f in args.folder.rglob("*.png")) / 2**20
        print(f"generated in {generated:.1f} s ({size_mb:.0f} MiB of files)", file=sys.stderr)
        env = {"GAN_DASHBOARD_DATA_CACHE": str(cache)}
        first = run_child("load", args, {**env, "GAN_DASHBOARD_DATA_BUDGET_MB": "0"})
        print(f"streamed, first: {first}", file=sys.stderr)
        cached = run_child("load", args, {**env, "GAN_DASHBOARD_DATA_BUDGET_MB": "0"})
        print(f"streamed, cached: {cached}", file=sys.stderr)
        held = run_child("load", args, {**env, "GAN_DASHBOARD_DATA_BUDGET_MB": HELD_BUDGET_MB})
        print(f"held, cached: {held}", file=sys.stderr)
        assert not held["streamed"], "the held load streamed"  # (a budget too small: no held figures)
        speeds = {}
        for model in args.models.split(","):
            speeds[model] = run_child("speed", args, env, model=model)
            print(f"steps/s {model}: {speeds[model]}", file=sys.stderr)
    finally:
        if args.keep:
            print(f"kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)

    made = f"generated in {generated:.0f} s ({size_mb:.0f} MiB)"
    print(f"\n{args.images:,} colour PNGs of {args.side} px, {made}\n")
    print("| load | seconds | peak RSS (MiB) | decoding workers' peak RSS (MiB) | held on the device (MiB) |")
    print("|---|---|---|---|---|")
    for name, row in (("streamed, first (decode into cache)", first), ("streamed, cached", cached),
                      ("held (uint8), cached", held)):  # fmt: skip
        print(
            f"| {name} | {row['load_s']:.1f} | {row['peak_rss_mb']:.0f} | {row['workers_peak_rss_mb']:.0f} "
            f"| {row['held_mb']:.0f} |"
        )
    from gan_core.data import MEMORY_BUDGET_BYTES

    default = "holds" if held["held_mb"] * 2**20 <= MEMORY_BUDGET_BYTES else "streams"
    print(
        f"\nThe held set: {held['held_mb']:.0f} MiB as uint8, {held['float32_mb']:.0f} MiB as float32. "
        f"The default budget ({MEMORY_BUDGET_BYTES / 2**20:,.0f} MiB) {default} it.\n"
    )
    print_speeds(args, speeds)
    return 0


def print_speeds(args: argparse.Namespace, speeds: dict[str, dict]) -> None:
    print("| model | batch | held steps/s (rounds) | streamed steps/s (rounds) | streamed / held | median |")
    print("|---|---|---|---|---|---|")
    for model, speed in speeds.items():
        held_rates = ", ".join(f"{v:.1f}" for v in speed["rates"]["held"])
        streamed_rates = ", ".join(f"{v:.1f}" for v in speed["rates"]["streamed"])
        ratios = ", ".join(f"{v:.2f}" for v in speed["ratios"])
        median = speed["median_ratio"]
        print(f"| {model} | {args.batch} | {held_rates} | {streamed_rates} | {ratios} | {median:.2f} |")
    print("\n| model | held CPU ms a step (median) | streamed CPU ms a step, workers included (median) |")
    print("|---|---|---|")
    for model, speed in speeds.items():
        cpu = {name: statistics.median(values) for name, values in speed["cpu_ms"].items()}
        print(f"| {model} | {cpu['held']:.1f} | {cpu['streamed']:.1f} |")


if __name__ == "__main__":
    sys.exit(main())
