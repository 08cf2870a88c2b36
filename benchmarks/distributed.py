"""Multi-process training: steps/s and samples/s of one run trained by 1 and by N processes (torchrun + DDP).

Every configuration runs the product's own command line in a fresh process tree, as a user types it:

- ``1``: ``python -m gan_core train --quiet --out TMP --run-id ... --steps S --device cpu ...`` (no launcher);
- ``torchrun-1`` (with ``--launcher``): the same under ``python -m torch.distributed.run --nproc-per-node 1``.
  torchrun sets ``WORLD_SIZE=1``, so the run trains exactly as the plain one (no process group, no DDP):
  the difference is the launcher's cost, visible in the wall time only;
- ``N`` > 1: ``python -m torch.distributed.run --nproc-per-node N --master-addr 127.0.0.1 --master-port
  <free port> -m gan_core train ...``: one run over N processes, G and D each in DistributedDataParallel
  (gloo on the CPU, NCCL on CUDA), ``batch_size`` per process.

Every child gets ``OMP_NUM_THREADS=1``: one torch thread per process, so that two processes use the two
cores of a 2-core machine instead of four threads fighting over them.

Per run, from what the run wrote (metrics.csv, events.csv, config.json, status.json):

- ``steps/s``: steady-state training throughput, (last step - warm-up step) / (their ``time_s`` difference).
  ``time_s`` is rank 0's training time, the sum of its step times: forward, backward, DDP's gradient
  all-reduce and the step's scalars averaged over the ranks; start-up, torch's import, the first
  (warm-up) steps and the runner's bookkeeping between steps are outside it;
- ``samples/s``: real samples per second over all processes, batch (per process) x N x steps/s;
- ``efficiency``: samples/s at N / (N x samples/s of the plain one-process run), from the medians (1 =
  perfect scaling); in brackets the same ratio within each repeat (N against the 1 of the same repeat);
- ``loop steps/s``: steps / (wall time from the run's ``running`` event to its ``finished`` event): the
  training loop as the wall clock sees it, warm-up steps, snapshots, checkpoints, metric rows and the
  ranks' per-step stop/pause agreement (one more small all-reduce) included;
- ``wall s``: the whole command, process start, torch's import and data loading included; ``outside loop
  s``: wall s minus the loop's span (start-up and shut-down);
- ``others' cores``: CPU the machine spent outside this benchmark's process tree during the run (from
  /proc/stat, minus this benchmark's children's CPU time), in cores: another tenant's load.

Repeats are interleaved (1, 2, then 2, 1, ... per scenario) and each figure is the median over repeats.

    python -m benchmarks.distributed [--repeats 3] [--procs 1,2] [--launcher] [--scenarios digits-mlp,dcgan32]
    python -m benchmarks.distributed --quick                 # a smoke run: digits-mlp, 1 repeat, few steps
    python -m benchmarks.distributed --device cuda           # one GPU per process (NCCL)
"""

from __future__ import annotations

import argparse
import csv
import datetime
import importlib.metadata
import json
import os
import resource
import shlex
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUN_TIMEOUT_S = 900  # one run; a hung job is killed (its whole process group) and the benchmark stops


@dataclass(frozen=True)
class Scenario:
    """A training config as CLI flags, the steps each run trains (CPU; x10 on CUDA unless --steps-scale)
    and the row after which the steady state is measured (the first steps build DDP's buckets, warm
    allocators and caches)."""

    flags: tuple[str, ...]
    steps: int
    warmup: int
    about: str


SCENARIOS = {
    "digits-mlp": Scenario(
        ("--dataset", "digits", "--model", "mlp", "--batch-size", "64"),
        200,
        40,
        "the default config: MLP G and D (width 128, spectral norm on D), 8x8 digits, batch 64 per process",
    ),
    # The heavier one: 4-5x the parameters to all-reduce (397k against 87k) for about 15x the compute
    # per step on the CPU, so communication weighs less. The digits upscaled to 32 px (dcgan takes 28, 32
    # or 64): mnist would need torchvision's files under ./data, and nothing here may download.
    "dcgan32": Scenario(
        ("--dataset", "digits", "--model", "dcgan", "--image-size", "32", "--width", "32")
        + ("--batch-size", "64"),
        20,
        4,
        "DCGAN G and D (base width 32), digits at 32x32, batch 64 per process",
    ),
}
QUICK = {"digits-mlp": (40, 10), "dcgan32": (6, 2)}  # --quick: (steps, warm-up step)


@dataclass(frozen=True)
class Config:
    """How a run is launched: ``procs`` processes, by torchrun or (``torchrun`` False) by plain python."""

    procs: int
    torchrun: bool

    @property
    def label(self) -> str:
        return f"torchrun-{self.procs}" if self.torchrun and self.procs == 1 else str(self.procs)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def command(config: Config, out: Path, run_id: str, scenario: Scenario, steps: int, device: str) -> list[str]:
    train = ["-m", "gan_core", "train", "--quiet", "--out", str(out), "--run-id", run_id]
    train += ["--steps", str(steps), "--device", device, *scenario.flags]
    if not config.torchrun:
        return [sys.executable, *train]
    launcher = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", str(config.procs)]
    launcher += ["--master-addr", "127.0.0.1", "--master-port", str(free_port())]
    return [*launcher, *train]


def cpu_jiffies() -> tuple[int, int] | None:
    """(busy, steal) clock ticks of the whole machine since boot (/proc/stat), or None off Linux."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return None
    user, nice, system, idle, iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    return user + nice + system + irq + softirq, steal


def children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def read_csv(path: Path) -> list[dict[str, str]]:
    try:
        with path.open(newline="", encoding="utf-8") as f:
            return list(csv.DictReader(f))
    except OSError as exc:
        raise SystemExit(f"{path}: cannot be read ({exc})") from None


def measure_run(run: Path, warmup: int, procs: int) -> dict:
    """The figures of one finished run folder (see the module docstring)."""
    config = json.loads((run / "config.json").read_text(encoding="utf-8"))
    status = json.loads((run / "status.json").read_text(encoding="utf-8"))
    if status.get("status") != "finished" or int(status.get("world_size", 1)) != procs:
        raise SystemExit(
            f"{run}: status {status.get('status')!r}, world_size {status.get('world_size')!r}; "
            f"expected a finished run over {procs} process(es)"
        )
    times = {int(float(r["step"])): float(r["time_s"]) for r in read_csv(run / "metrics.csv")}
    last = max(times)
    if warmup not in times or last <= warmup:
        raise SystemExit(f"{run}/metrics.csv: no rows from step {warmup} to a later one (last {last})")
    steps_s = (last - warmup) / (times[last] - times[warmup])
    span = {}
    for event in read_csv(run / "events.csv"):
        if event["kind"] == "status":
            state = json.loads(event["fields"]).get("status")
            span.setdefault(state, datetime.datetime.fromisoformat(event["time"]))
    loop_s = (span["finished"] - span["running"]).total_seconds()
    return {
        "steps_s": steps_s,
        "samples_s": int(config["batch_size"]) * procs * steps_s,
        "loop_steps_s": last / loop_s,
        "loop_s": loop_s,
    }


def run_one(config: Config, scenario: Scenario, steps: int, warmup: int, device: str, out: Path, run_id: str):
    cmd = command(config, out, run_id, scenario, steps, device)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    jiffies, cpu = cpu_jiffies(), children_cpu_s()
    started = time.perf_counter()
    pipes = dict(stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, start_new_session=True, **pipes)
    try:
        stdout, stderr = proc.communicate(timeout=RUN_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # the job's own process group: torchrun and its workers
        proc.communicate()
        raise SystemExit(f"{shlex.join(cmd)}\ndid not finish in {RUN_TIMEOUT_S} s; killed") from None
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        tail = "\n".join((stdout + stderr).strip().splitlines()[-15:])
        raise SystemExit(f"{shlex.join(cmd)}\nexited with status {proc.returncode}:\n{tail}")
    figures = measure_run(out / run_id, warmup, config.procs)
    others = steal = float("nan")  # off Linux: not measured
    after = cpu_jiffies()
    if jiffies is not None and after is not None:
        hz = os.sysconf("SC_CLK_TCK")
        mine = children_cpu_s() - cpu
        others = max(0.0, ((after[0] - jiffies[0]) / hz - mine) / wall)
        steal = (after[1] - jiffies[1]) / hz / wall
    return {
        **figures,
        "wall_s": wall,
        "outside_s": wall - figures["loop_s"],
        "others": others,
        "steal": steal,
        "cmd": cmd,
    }


def fmt(value: float, digits: int) -> str:
    return "-" if value != value else f"{value:,.{digits}f}"  # NaN: not measured


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.distributed", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--repeats", type=int, help="runs of each configuration, interleaved (default 3)")
    parser.add_argument("--procs", default="1,2", help="process counts, comma-separated (1 = plain python)")
    parser.add_argument("--launcher", action="store_true", help="also torchrun with 1 process (its overhead)")
    parser.add_argument("--scenarios", default=None, help="comma-separated: " + ", ".join(SCENARIOS))
    parser.add_argument(
        "--device", default="cpu", choices=("cpu", "cuda"), help="where it trains (default: %(default)s)"
    )
    parser.add_argument("--steps-scale", type=float, default=None, help="multiply steps (default 1; cuda 10)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 40 steps of digits-mlp, 1 repeat")
    parser.add_argument("--keep", type=Path, help="runs folder to keep (default: a temporary one)")
    args = parser.parse_args(argv)

    procs = sorted({int(p) for p in args.procs.split(",") if p.strip()})
    if not procs or procs[0] < 1:
        parser.error(f"--procs {args.procs!r}: process counts of 1 or more")
    configs = [Config(n, torchrun=n > 1) for n in procs]
    if args.launcher:
        configs.insert(1 if procs[0] == 1 else 0, Config(1, torchrun=True))
    names = args.scenarios or ("digits-mlp" if args.quick else ",".join(SCENARIOS))
    scenarios = [s.strip() for s in names.split(",") if s.strip()]
    unknown = [s for s in scenarios if s not in SCENARIOS]
    if unknown:
        parser.error(f"--scenarios: unknown {', '.join(unknown)}; known: {', '.join(SCENARIOS)}")
    repeats = args.repeats or (1 if args.quick else 3)
    if args.device == "cuda":
        import torch  # only here: the parent otherwise stays light (it waits while the runs train)

        gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if gpus < procs[-1]:
            hint = "no CUDA GPU (torch.cuda.is_available() is False)" if gpus == 0 else f"{gpus} GPU(s)"
            raise SystemExit(
                f"--device cuda: {procs[-1]} process(es) need one CUDA GPU each (NCCL); this machine has "
                + hint
            )
    scale = args.steps_scale if args.steps_scale is not None else (10.0 if args.device == "cuda" else 1.0)

    def budget(name: str) -> tuple[int, int]:
        steps, warmup = QUICK[name] if args.quick else (SCENARIOS[name].steps, SCENARIOS[name].warmup)
        return max(2, round(steps * scale)), max(1, round(warmup * scale))

    load = os.getloadavg()
    print(f"$ python -m benchmarks.distributed {shlex.join(sys.argv[1:] if argv is None else argv)}".rstrip())
    print(
        f"{datetime.datetime.now():%Y-%m-%d %H:%M}, torch {importlib.metadata.version('torch')}, "
        f"{os.cpu_count()} cores, device {args.device}, OMP_NUM_THREADS=1 in every process (one torch thread "
        f"each), load average before {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    )
    for name in scenarios:
        steps, warmup = budget(name)
        print(f"  {name}: {SCENARIOS[name].about}; {steps} steps, steady state from step {warmup}")
    print(f"  configurations {', '.join(c.label for c in configs)}; {repeats} repeat(s), interleaved\n")

    results: dict[tuple[str, str], list[dict]] = {}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        out = args.keep or Path(tmp)
        for repeat in range(repeats):
            for name in scenarios:
                steps, warmup = budget(name)
                # alternate the order (1, 2 then 2, 1): a slow phase of the machine does not always hit
                # the same configuration
                order = configs if repeat % 2 == 0 else configs[::-1]
                for config in order:
                    run_id = f"{name}-{config.label}-r{repeat}"
                    r = run_one(config, SCENARIOS[name], steps, warmup, args.device, out, run_id)
                    results.setdefault((name, config.label), []).append(r)
                    print(
                        f"{run_id}: {r['steps_s']:.1f} steps/s, {r['samples_s']:,.0f} samples/s, loop "
                        f"{r['loop_steps_s']:.1f} steps/s, wall {r['wall_s']:.1f} s, others' cores "
                        f"{fmt(r['others'], 2)}, steal {fmt(r['steal'], 2)}",
                        flush=True,
                    )
    elapsed = time.perf_counter() - started
    load = os.getloadavg()

    print(
        f"\n{elapsed:.0f} s in all; load average after {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; "
        f"medians of {repeats} run(s)\n"
    )
    print(
        "| scenario | processes | steps/s | samples/s (all) | efficiency | loop steps/s | wall s "
        "| outside loop s | others' cores |"
    )
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name in scenarios:
        base = results.get((name, "1"))
        for config in configs:
            runs = results[(name, config.label)]

            def med(key: str, runs=runs) -> float:
                return statistics.median(r[key] for r in runs)

            efficiency = "-"
            if base:
                ratio = med("samples_s") / (config.procs * statistics.median(r["samples_s"] for r in base))
                per_repeat = [a["samples_s"] / (config.procs * b["samples_s"]) for a, b in zip(runs, base)]
                efficiency = f"{ratio:.2f}"
                if len(per_repeat) > 1 and config.label != "1":
                    efficiency += f" ({', '.join(f'{e:.2f}' for e in per_repeat)})"
            cells = (
                f"{med('steps_s'):.1f}",
                f"{med('samples_s'):,.0f}",
                efficiency,
                f"{med('loop_steps_s'):.1f}",
                f"{med('wall_s'):.1f}",
                f"{med('outside_s'):.1f}",
                fmt(med("others"), 2),
            )
            print(f"| {name} | {config.label} | {' | '.join(cells)} |")
    for config in configs:
        example = results[(scenarios[0], config.label)][0]["cmd"]
        shown = ["python" if a == sys.executable else "TMP" if a == str(out) else a for a in example]
        print(f"\n{config.label}: {shlex.join(shown)}", end="")
    print()


if __name__ == "__main__":
    main()
