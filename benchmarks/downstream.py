"""The two uses of a trained GAN, measured: the conditional-digits preset trained on 3 seeds, then its G as a
data source (GAN-train, GAN-test, the augmentation probe at several k) and its D as a classifier (the last
``d_class_acc``), beside the real-trained classifier.

Each seed trains the preset in full through the product's `Runner` (as Start does), then
`gan_core.downstream` scores the final G; the table gives each seed and the mean.

    python -m benchmarks.downstream [--seeds 0 1 2] [--preset conditional-digits] [--k 1 3 10]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

import torch

from gan_core.downstream import augmentation_probe, gan_train_test
from gan_core.presets import get_preset
from gan_core.rundir import RunDir
from gan_core.runner import Runner
from gan_core.trainer import generator_from_checkpoint


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.downstream", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--seeds", type=int, nargs="+", default=[0, 1, 2], help="training seeds (default: 0 1 2)"
    )
    parser.add_argument(
        "--preset", default="conditional-digits", help="the preset trained (default: %(default)s)"
    )
    parser.add_argument(
        "--k", type=int, nargs="+", default=[1, 3, 10], help="real images per class (default: 1 3 10)"
    )
    parser.add_argument(
        "--generated", type=int, default=100, help="G's samples per class added (default: %(default)s)"
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    preset = get_preset(args.preset)
    print(
        f"preset {preset.name}, torch {torch.__version__}, {os.cpu_count()} cores, one torch thread, load "
        f"average before {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    rows = []
    with tempfile.TemporaryDirectory() as root:
        for seed in args.seeds:
            cfg = preset.config(seed=seed, device="cpu")
            started = time.perf_counter()
            runner = Runner(cfg, root)
            runner.start()
            runner.wait()
            train_s = time.perf_counter() - started
            if runner.status != "finished":
                raise SystemExit(f"seed {seed}: the run ended {runner.status}: {runner.error}")
            run = RunDir.from_path(runner.run_dir.path)
            metrics = run.read_metrics()
            last = metrics.dropna(subset=["label_fidelity"]).iloc[-1]
            _, G = generator_from_checkpoint(run.load_checkpoint())
            started = time.perf_counter()
            uses = gan_train_test(cfg, G, seed=seed)
            augment = {k: augmentation_probe(cfg, G, k=k, generated_per_class=args.generated) for k in args.k}
            probe_s = time.perf_counter() - started
            row = {
                "seed": seed,
                "steps": cfg.steps,
                "train_s": train_s,
                "label_fidelity": float(last["label_fidelity"]),
                "d_class_acc": float(last.get("d_class_acc", float("nan"))),
                "fd_cls": float(last["fd_cls"]),
                **{key: uses[key] for key in ("real_accuracy", "gan_train", "gan_test")},
                **{f"k{k}": (a["real_only"], a["with_generated"]) for k, a in augment.items()},
                "probe_s": probe_s,
            }
            rows.append(row)
            print(row, flush=True)
    print(f"\nload average after {' '.join(f'{x:.2f}' for x in os.getloadavg())}\n")
    ks = [f"k{k}" for k in args.k]
    header = ["seed", "label_fidelity", "d_class_acc", "fd_cls", "real acc.", "GAN-train", "GAN-test"]
    header += [f"{k[1:]} real/class: real only → + G" for k in ks] + ["train s", "probes s"]
    print("| " + " | ".join(header) + " |")
    print("| " + " | ".join(["---"] + ["---:"] * (len(header) - 1)) + " |")

    def line(label: str, values: dict) -> str:
        cells = [
            label,
            f"{values['label_fidelity']:.3f}",
            f"{values['d_class_acc']:.3f}",
            f"{values['fd_cls']:.1f}",
            f"{values['real_accuracy']:.3f}",
            f"{values['gan_train']:.3f}",
            f"{values['gan_test']:.3f}",
        ]
        cells += [f"{values[k][0]:.3f} → {values[k][1]:.3f}" for k in ks]
        cells += [f"{values['train_s']:.0f}", f"{values['probe_s']:.1f}"]
        return "| " + " | ".join(cells) + " |"

    for row in rows:
        print(line(str(row["seed"]), row))
    mean = {
        key: (
            tuple(statistics.mean(r[key][i] for r in rows) for i in range(2))
            if isinstance(rows[0][key], tuple)
            else statistics.mean(r[key] for r in rows)
        )
        for key in rows[0]
        if key != "seed"
    }
    print(line("mean", mean))


if __name__ == "__main__":
    main()
