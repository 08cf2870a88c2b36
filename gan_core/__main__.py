"""The command line: ``python -m gan_core {train,sample} ...``.

``train`` builds a config from ``--config FILE.json`` and flags that mirror every config field
(``--lr-g 1e-4`` for ``lr_g``), trains it in a `Runner` with a progress bar, and prints the run folder.
``sample`` writes samples from a run's latest checkpoint. Bad input exits non-zero with one line on
stderr saying what is wrong and what is allowed.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import signal
import sys
from pathlib import Path

import numpy as np
import torch

from gan_core.config import ConfigError, GANConfig
from gan_core.data import DataError, load_data
from gan_core.rundir import RunDir, RunDirError, image_grid
from gan_core.runner import Runner
from gan_core.trainer import generator_from_checkpoint, resolve_device

MAX_SAMPLES = 100_000
EXIT_BAD_INPUT = 2


class CLIError(Exception):
    """Bad input on the command line; printed as one line."""


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m gan_core",
        description="Train GANs and inspect their runs (the engine behind the GAN dashboard).",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="{train,sample}")

    train = sub.add_parser(
        "train",
        help="train a GAN into a run folder",
        description="Train a GAN. Flags override --config, which overrides the defaults.",
    )
    train.add_argument("--config", type=Path, help="JSON file of config fields (see config.json in any run)")
    train.add_argument("--out", type=Path, default=Path("runs"), help="runs folder")
    train.add_argument("--run-id", help="name of the run folder (default: dataset-loss-time-random)")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    defaults = GANConfig()
    group_parsers: dict[str, argparse._ArgumentGroup] = {}
    for f in dataclasses.fields(GANConfig):
        group = f.metadata.get("group", "Other")
        if group not in group_parsers:
            group_parsers[group] = train.add_argument_group(f"{group} (config fields)")
        kwargs: dict = {"help": f.metadata.get("doc", "") + f" (default: {getattr(defaults, f.name)!r})"}
        kwargs["default"] = argparse.SUPPRESS  # unset flags stay out, so --config values survive
        if f.type in (bool, "bool"):
            kwargs["action"] = argparse.BooleanOptionalAction
        else:
            kwargs["type"] = {"int": int, "float": float, "str": str}.get(f.type, f.type)
            if "choices" in f.metadata:
                kwargs["choices"] = f.metadata["choices"]
                kwargs["metavar"] = "{" + ",".join(f.metadata["choices"]) + "}"
        group_parsers[group].add_argument(_flag(f.name), dest=f.name, **kwargs)

    sample = sub.add_parser(
        "sample",
        help="write samples from a run's latest checkpoint",
        description="Write N samples from a run's latest checkpoint: 2D points as .csv or .npy, "
        "images as .npy (N x C x H x W, values in [0, 1]) or a .png grid.",
    )
    sample.add_argument("--run", type=Path, required=True, help="run folder (e.g. runs/NAME)")
    sample.add_argument("--n", type=int, default=1000, help=f"number of samples (1..{MAX_SAMPLES})")
    sample.add_argument("--out", type=Path, required=True, help="output file: .csv, .npy or .png")
    sample.add_argument("--seed", type=int, default=0, help="noise seed")
    sample.add_argument("--checkpoint", type=Path, help="a checkpoint file of the run (default: latest)")
    return parser


def config_from_args(args: argparse.Namespace) -> GANConfig:
    data: dict = {}
    if args.config is not None:
        try:
            data = json.loads(args.config.read_text(encoding="utf-8"))
        except OSError as exc:
            raise CLIError(f"--config {args.config}: cannot read ({exc.strerror})") from None
        except json.JSONDecodeError as exc:
            raise CLIError(
                f"--config {args.config}: not valid JSON ({exc.msg} at line {exc.lineno})"
            ) from None
        if not isinstance(data, dict):
            raise CLIError(f"--config {args.config}: must hold a JSON object of config fields")
    names = {f.name for f in dataclasses.fields(GANConfig)}
    data.update({k: v for k, v in vars(args).items() if k in names})
    return GANConfig.from_dict(data)


def cmd_train(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    cfg = config_from_args(args)
    device = resolve_device(cfg.device)
    data = load_data(cfg, device)  # before the run folder exists: bad data leaves nothing behind
    runner = Runner(cfg, args.out, args.run_id, data=data).start()
    interrupted = False

    def on_sigint(signum, frame):  # stop cleanly: checkpoint and flush, then report
        nonlocal interrupted
        interrupted = True
        if runner.status in ("running", "paused"):
            runner.stop()

    previous = signal.signal(signal.SIGINT, on_sigint)
    bar = tqdm(total=cfg.steps or None, unit="step", disable=args.quiet, file=sys.stderr, dynamic_ncols=True)
    try:
        # Poll a few times a second: waking on every step would steal the GIL from training.
        while not runner.wait(timeout=0.25):
            _update_bar(bar, runner)
        _update_bar(bar, runner)
    finally:
        bar.close()
        signal.signal(signal.SIGINT, previous)
    if runner.status == "failed":
        print(f"error: run failed: {runner.error}", file=sys.stderr)
        print(runner.run_dir.path)
        return 1
    print(runner.run_dir.path)
    return 130 if interrupted else 0


def _update_bar(bar, runner: Runner) -> None:
    bar.update(runner.current_step - bar.n)
    latest = runner.store.latest()
    if latest:
        bar.set_postfix(
            d_loss=f"{latest['d_loss']:.3f}",
            g_loss=f"{latest['g_loss']:.3f}",
            acc_real=f"{latest['d_acc_real']:.2f}",
            acc_fake=f"{latest['d_acc_fake']:.2f}",
            refresh=False,
        )


def cmd_sample(args: argparse.Namespace) -> int:
    if not 1 <= args.n <= MAX_SAMPLES:
        raise CLIError(f"--n {args.n} is invalid: allowed 1..{MAX_SAMPLES}")
    suffix = args.out.suffix.lower()
    if suffix not in (".csv", ".npy", ".png"):
        raise CLIError(f"--out {args.out}: unknown format {suffix or '(none)'}; allowed .csv, .npy, .png")
    if not args.run.is_dir():
        raise CLIError(f"--run {args.run}: no such run folder")
    run = RunDir.from_path(args.run)
    path = None
    if args.checkpoint is not None:
        path = args.checkpoint if args.checkpoint.is_absolute() else Path.cwd() / args.checkpoint
    state = run.load_checkpoint(path)
    cfg, G = generator_from_checkpoint(state)
    rng = torch.Generator().manual_seed(args.seed)
    with torch.no_grad():
        chunks = [
            G(torch.randn(min(1024, args.n - i), cfg.latent_dim, generator=rng))
            for i in range(0, args.n, 1024)
        ]
    samples = torch.cat(chunks).numpy().astype(np.float32)
    points = samples.ndim == 2
    if suffix == ".csv":
        if not points:
            raise CLIError(
                f"--out {args.out}: .csv holds 2D points; this run makes images (use .npy or .png)"
            )
        np.savetxt(args.out, samples, delimiter=",", header="x,y", comments="", fmt="%.7g")
    elif suffix == ".npy":
        np.save(args.out, samples if points else (samples + 1) / 2)  # images in [0, 1]
    else:
        if points:
            raise CLIError(
                f"--out {args.out}: .png is an image grid; this run makes 2D points (use .csv or .npy)"
            )
        from PIL import Image

        Image.fromarray(image_grid(samples)).save(args.out)
    print(f"wrote {args.n} samples from step {state['step']} of {run.path} to {args.out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return {"train": cmd_train, "sample": cmd_sample}[args.command](args)
    except (CLIError, ConfigError, DataError, RunDirError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
