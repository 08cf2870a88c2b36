"""The cost of a run's quality evaluations: steps/s with evaluations every ``eval_every`` steps (the
default, 500) against the same run with none, interleaved in one process.

Each round trains one run through the product's `Runner` (everything it does for the dashboard: every
step's metrics, metrics.csv, snapshots, checkpoints) twice from the same seed: once at the config's
``eval_every`` and once with ``eval_every`` past the last step, so that no evaluation runs. Steps/s is
steps ÷ the wall time from Start to the run's end. On digits an evaluation is the class metrics (the
SVC), diversity, and the image quality in the classifier's feature space (`gan_core.feature_metrics`:
Fréchet distance, KID over 50 subsets of 500, precision, recall, density and coverage, 898 generated
against 898 real images). The one-time costs of the first evaluation in a process (training the
classifier and its feature MLP, the real half's features and the baseline) are paid in an unmeasured
warm-up round and reported on their own, from a cold `Evaluator`.

    python -m benchmarks.evaluation [--rounds 3] [--steps 4000] [--scenarios digits-mlp,dcgan32]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

import torch

from gan_core.config import GANConfig
from gan_core.data import load_data
from gan_core.evaluation import Evaluator
from gan_core.runner import Runner
from gan_core.trainer import Trainer

SCENARIOS = {
    # name: (config overrides, steps per run on the CPU)
    "digits-mlp": (dict(dataset="digits", model="mlp"), 4000),
    "dcgan32": (dict(dataset="digits", model="dcgan", image_size=32, width=32), 1000),
}


def timed_run(cfg: GANConfig, root: str) -> float:
    """Steps/s of one run, Start to end, wall clock."""
    runner = Runner(cfg, root)
    started = time.perf_counter()
    runner.start()
    runner.wait()
    elapsed = time.perf_counter() - started
    if runner.status != "finished":
        raise SystemExit(f"run ended {runner.status}: {runner.error}")
    return cfg.steps / elapsed


def cold_evaluation_s(cfg: GANConfig) -> tuple[float, float]:
    """(first, second) evaluation's seconds of a new Evaluator: the first pays the one-time costs (in a
    process that has not built the classifier yet), the second is what every later one costs."""
    trainer = Trainer(cfg, load_data(cfg))
    evaluator = Evaluator(cfg, trainer.data, trainer.fixed_noise)
    times = []
    for _ in range(2):
        started = time.perf_counter()
        evaluator.evaluate(trainer.G)
        times.append(time.perf_counter() - started)
    return times[0], times[1]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.evaluation", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="interleaved rounds of each scenario (default: %(default)s)"
    )
    parser.add_argument("--steps", type=int, default=None, help="steps per run (default: per scenario)")
    parser.add_argument(
        "--scenarios",
        default=",".join(SCENARIOS),
        help="comma-separated, of: " + ", ".join(SCENARIOS) + " (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    names = [n for n in args.scenarios.split(",") if n]
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        raise SystemExit(f"unknown scenario {unknown[0]!r}: allowed {', '.join(SCENARIOS)}")
    torch.set_num_threads(1)
    print(
        f"torch {torch.__version__}, {os.cpu_count()} cores, one torch thread, load average before "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    rows = []
    for name in names:
        overrides, default_steps = SCENARIOS[name]
        steps = args.steps or default_steps
        base = GANConfig(**overrides, steps=steps, device="cpu", checkpoint_every=0)
        first_s, later_s = cold_evaluation_s(base)
        print(f"{name}: evaluation, first in the process {first_s:.2f} s, then {later_s:.3f} s")
        with_eval = base  # eval_every at the config's default
        without = base.replace(eval_every=steps + 1)
        with tempfile.TemporaryDirectory() as root:
            timed_run(base.replace(steps=max(steps // 10, base.eval_every)), root)  # warm-up, unmeasured
            ratios, rates = [], {"with": [], "without": []}
            for r in range(args.rounds):
                order = [("with", with_eval), ("without", without)]
                if r % 2:
                    order.reverse()
                got = {label: timed_run(cfg, root) for label, cfg in order}
                for label, value in got.items():
                    rates[label].append(value)
                ratios.append(got["with"] / got["without"])
                print(
                    f"  round {r}: with evaluations {got['with']:.1f} steps/s, without {got['without']:.1f}, "
                    f"ratio {ratios[-1]:.3f}"
                )
        rows.append(
            (
                name,
                steps,
                base.eval_every,
                statistics.median(rates["with"]),
                statistics.median(rates["without"]),
                statistics.median(ratios),
                ratios,
                later_s,
                first_s,
            )
        )
    print(f"\nload average after {' '.join(f'{x:.2f}' for x in os.getloadavg())}; medians of {args.rounds}")
    print(
        "\n| scenario | steps | eval_every | steps/s with | steps/s without | ratio (per round) "
        "| one evaluation s | first in process s |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, steps, every, w, wo, ratio, ratios, later_s, first_s in rows:
        per_round = ", ".join(f"{x:.3f}" for x in ratios)
        print(
            f"| {name} | {steps} | {every} | {w:.1f} | {wo:.1f} | **{ratio:.3f}** ({per_round}) "
            f"| {later_s:.3f} | {first_s:.2f} |"
        )


if __name__ == "__main__":
    main()
