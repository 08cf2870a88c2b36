"""The command line: ``python -m gan_core {train,sample,evaluate,runs} ...``.

``train`` builds a config from ``--preset NAME`` (a scenario of `gan_core.presets`), ``--config
FILE.json`` and flags that mirror every config field (``--lr-g 1e-4`` for ``lr_g``), each over the one
before, trains it in a `Runner` with a progress bar, and prints the run folder.
``train --resume DIR`` continues a run in its folder from its latest checkpoint (what was logged after
it is dropped and trained again); ``train --rewind DIR --from-step N`` branches a new run from one of
its kept checkpoints (DIR stays untouched); with either, flags may change only the mid-run fields.
Every option naming a run (``--resume``, ``--rewind``, ``sample --run``, ``evaluate --run``) takes its
folder's path or its run id in the runs folder (`run_folder`).
Ctrl-C or SIGTERM stops a run cleanly (final checkpoint, files flushed).
``sample`` writes samples from a run's latest checkpoint. ``evaluate`` scores a file of samples from any
model, or a run's G, with the yardstick a run uses (`gan_core.diagnostics`, `gan_core.evaluation`: the
feature-space metrics with their baselines; Inception's with ``--inception``) and prints the metrics as
one JSON object (a run's G: naming its checkpoint and step, with how well its D tells the run's real
samples from its G's, ``d_separation``, and whether G copies its training set, ``data_copying``); a
class-conditional run's G also gets
GAN-train, GAN-test and the augmentation probe (`gan_core.downstream`). ``runs`` lists a runs folder's
runs with the dashboard's Runs page's columns, newest first by creation, with each run's latest losses
and accuracies (``--json`` for programs).
Bad input exits with status 2 and one line on stderr saying what is wrong and what is allowed.
"""

from __future__ import annotations

import os
import signal

if __name__ == "__main__":  # before the imports below load torch (seconds, longer on a busy machine)

    def _interrupted_while_loading(signum, frame) -> None:
        # Ctrl-C there printed Python's traceback through importlib, 30 lines deep; nothing is written yet
        os.write(2, b"interrupted (Ctrl-C) while loading; nothing was written\n")
        os._exit(128 + signal.SIGINT)

    if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:  # (ignored, as a script's background job's)
        signal.signal(signal.SIGINT, _interrupted_while_loading)

import argparse
import contextlib
import dataclasses
import datetime as dt
import difflib
import json
import math
import re
import shlex
import stat
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, NoReturn

import numpy as np
import torch

from gan_core.classifier import CLASSIFIED_DATASETS, get_classifier
from gan_core.config import DATASETS, MUTABLE_FIELDS, ConfigChangeError, ConfigError, GANConfig
from gan_core.data import MAX_POINTS_ROWS, DataError, DataSource, load_data, read_points_csv
from gan_core.diagnostics import (
    class_diversity,
    grid_divergences,
    image_metrics,
    label_fidelity,
    mode_metrics,
)
from gan_core.distributed import DistContext, DistributedError, from_env, shutdown
from gan_core.downstream import (
    CONDITIONAL_RUN,
    DownstreamError,
    augmentation_probe,
    gan_train_test,
    smallest_train_class,
)
from gan_core.evaluation import RealSplitQuality, feature_networks, split_seed
from gan_core.feature_metrics import NEAREST_K
from gan_core.files import file_kind, open_regular, read_regular
from gan_core.inception import (
    INCEPTION_ENV,
    INCEPTION_FILE,
    INCEPTION_URL,
    InceptionError,
    cached_weights_path,
    download_inception_weights,
    inception_weights,
)
from gan_core.models import balanced_labels, model_classes
from gan_core.presets import PRESETS, get_preset
from gan_core.probe import (
    ProbeError,
    data_copying,
    load_models,
    real_labelled,
    separation,
    training_set,
)
from gan_core.quoting import json_error, quoted
from gan_core.registry import (
    FILTER_SYNTAX,
    HEADLINE_QUALITY,
    RegistryError,
    RunRegistry,
    filter_hint,
    filter_runs,
    listing_settings,
)
from gan_core.rundir import (
    MAX_NOTES_CHARS,
    PICKLED_DATA,
    RUN_ID_RULE,
    RUNS_ENV,
    RunDir,
    RunDirError,
    checked_notes,
    default_runs_root,
    holds_run,
    image_grid,
    inside,
    notes_line,
    numpy_load_reason,
    validate_run_id,
)
from gan_core.runner import (
    Runner,
    RunnerError,
    UnusableCheckpointError,
    continue_device,
    follow,
    unusable_checkpoint,
)
from gan_core.tracking.commands import asker
from gan_core.tracking.schema import SOURCES
from gan_core.tracking.sink import TensorBoardSink
from gan_core.trainer import generator_from_checkpoint, resolve_device

MAX_SAMPLES = 100_000
SHOWN_CLASSES = 20  # the most classes a refused --label lists
MAX_SEED = 2**31 - 1  # as the config's seed
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 128 + signal.SIGINT  # 130, as a shell says of a command it interrupted


class CLIError(Exception):
    """Bad input on the command line; printed as one line."""


RUN_HELP = "a run folder's path, or a run id as `python -m gan_core runs` lists it"


def run_folder(option: str, value: str, runs_folder: Path) -> RunDir:
    """The run ``option`` names: ``value`` as a path when that is a folder (as always), else ``value`` as
    a run id in ``runs_folder`` when it is one (no path separator, `validate_run_id`'s rule: ``..`` and
    ``../x`` are never looked up there, so nothing outside the runs folder is reached by id). A path wins
    when both exist. `CLIError` saying what was tried when neither is a folder, or why the folder named
    (by path or by id) is no run (`RunDir.open`'s reason)."""
    path = Path(value)
    if path.is_dir():
        try:
            return RunDir.from_path(path)
        except RunDirError as exc:  # a folder, but no run: which option named it, and why
            # the run of that id in the runs folder, where a folder of the name here (a data folder,
            # `--data-path shapes --run-id shapes`) hid it: said, as the path wins (a newcomer's review)
            there = runs_folder / value
            hint = ""
            with contextlib.suppress(RunDirError, OSError):
                if value == path.name and validate_run_id(value) and holds_run(there):
                    quoted_path = shlex.quote(str(there))
                    hint = f"; a run {value!r} is in the runs folder: give its path, {quoted_path}"
            raise CLIError(f"{option} {value}: {exc}{hint}") from None
    if any(sep in value for sep in {os.sep, os.altsep} - {None}):  # a path, and only a path
        raise CLIError(f"{option} {value}: no such run folder (give {RUN_HELP})")
    try:
        validate_run_id(value)
    except RunDirError:
        raise CLIError(
            f"{option} {value}: no such run folder, nor a run id ({RUN_ID_RULE}; give {RUN_HELP})"
        ) from None
    if not os.path.lexists(runs_folder / value):
        raise CLIError(
            f"{option} {value}: no run folder at {os.path.join(os.curdir, value)} and no run {value!r} in "
            f"{str(runs_folder)!r} (give {RUN_HELP})"
        )
    try:  # a symlink or a plain file there too: `RunDir.open` says why it is no run to open
        return RunDir.open(runs_folder, value)
    except RunDirError as exc:
        raise CLIError(f"{option} {value}: {exc}") from None


def run_folder_around(
    path: Path, runs_folder: Path | None = None, run: Path | None = None
) -> tuple[Path, str] | None:
    """The run folder ``path`` lies in, or is, as (folder, what it is in a message: "the folder of run
    'ID'"), or None: where a file written to ``path`` could replace a run's own files (metrics.csv, a
    checkpoint, ...). Symlinks are followed, as a write follows them. A run folder is ``run`` (the run a
    command reads), any folder directly in ``runs_folder`` (one too damaged to hold a run's files still
    is one) and, wherever it is, any folder holding a run (`holds_run`) and its status.json (every run
    writes one when made: a project folder that merely holds a config.json for ``--config`` is none)."""
    target = Path(os.path.realpath(path))
    run_r = Path(os.path.realpath(run)) if run is not None else None
    root_r = Path(os.path.realpath(runs_folder)) if runs_folder is not None else None
    for folder in (target, *target.parents):
        if folder == run_r:
            return folder, f"the folder of run {folder.name!r}"
        with contextlib.suppress(OSError):  # a folder that cannot be looked into is judged by the rest
            if holds_run(folder) and os.path.lexists(folder / "status.json"):
                return folder, f"the folder of run {folder.name!r}"
        if root_r is not None and folder.parent == root_r and folder != target:  # (the file: no folder)
            return folder, f"the folder {folder.name!r} of the runs folder {str(root_r)!r}"
    return None


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


class _Parser(argparse.ArgumentParser):
    """argparse's parser (its subcommands' too) with a usage error in one line, as every other bad input
    here: the message and where the flags are listed, not argparse's whole usage first (35 lines for
    train). Exit status 2, argparse's own."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_BAD_INPUT, f"error: {' '.join(message.split())} (see {self.prog} --help)\n")


CHECKPOINT_HELP = (
    "a checkpoint file of the run: its path, or its name alone (step_00003000.pt, as evaluate prints it), "
    "looked up in the run's checkpoints/ (default: its latest)"
)


def _runs_folder(text: str) -> Path:
    """``train --out``: a folder path; an empty one (Path("") is the working folder) is refused."""
    if not text:
        raise argparse.ArgumentTypeError(
            f"empty (it would make the working folder the runs folder); allowed: a folder path (default: "
            f"${RUNS_ENV} if set, else runs/)"
        )
    return Path(text)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python -m gan_core",
        description="Train GANs and inspect their runs (the engine behind the GAN dashboard).",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="{train,sample,evaluate,runs,notes}")

    train = sub.add_parser(
        "train",
        help="train a GAN into a run folder",
        description="Train a GAN. Flags override --config, which overrides --preset, which overrides the "
        "defaults.",
    )
    train.add_argument(
        "--preset",
        metavar="NAME",
        help="start from a scenario preset (the dashboard's one-click scenarios): "
        + "; ".join(f"{name}: {preset.title}" for name, preset in PRESETS.items()),
    )
    train.add_argument("--config", type=Path, help="JSON file of config fields (see config.json in any run)")
    train.add_argument(
        "--out",
        type=_runs_folder,
        default=default_runs_root(),
        help=f"runs folder, outside every run folder (default: ${RUNS_ENV} if set, as the dashboard uses it, "
        "else runs/ here); with --resume ID or --rewind ID, where the run id is looked up",
    )
    train.add_argument(
        "--run-id",
        help="the new run's folder name, used as given (in --out; with --rewind, beside DIR), refused if "
        "that folder exists; " + RUN_ID_RULE + " (default: a new name each time: the preset's name with "
        "--preset, else DATASET-LOSS, then the time and 4 random hex digits, e.g. "
        "healthy-ring8-20261130-120102-ab12; with --rewind, DIR's name then -atSTEP)",
    )
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    train.add_argument(
        "--notes",
        metavar="TEXT",
        help="notes of your own on the run (what you try, what you expect; quote them), shown on the "
        "dashboard's Runs page, Train view and Compare and found by the runs filter; with --resume they "
        "replace the run's ('' clears them), which are kept without it. See also `python -m gan_core "
        "notes`",
    )
    train.add_argument(
        "--tensorboard",
        action="store_true",
        help="also log the run for TensorBoard, into RUN/tensorboard (needs the tensorboard package)",
    )
    continued = train.add_mutually_exclusive_group()
    continued.add_argument(
        "--resume",
        metavar="DIR",
        help="continue the run in folder DIR (a run folder's path, or a run id in --out's runs folder as "
        "`python -m gan_core runs` lists it), in that folder, from its latest checkpoint: a stopped, "
        "interrupted or failed run, or a finished one given a larger --steps (--steps 0: until stopped). "
        "The step count goes on from the checkpoint's; metric rows, snapshots and checkpoints after it are "
        "dropped and trained again. Its config is kept: flags may change only the mid-run fields "
        + ", ".join(MUTABLE_FIELDS)
        + " (each change an hparam event) and --device (auto unless given, whatever device the run "
        "trained on). Refused while another process trains DIR",
    )
    continued.add_argument(
        "--rewind",
        metavar="DIR",
        help="branch a new run beside DIR (a run folder's path, or a run id in --out's runs folder) from one "
        "of its kept checkpoints (see --from-step); DIR is left untouched, and the new run records it as its "
        "parent (flags as with --resume)",
    )
    train.add_argument(
        "--from-step",
        type=int,
        metavar="N",
        help="with --rewind: the kept checkpoint's step to branch from (default: the latest)",
    )
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
    sample.add_argument(
        "--run",
        required=True,
        help=f"the run: its folder (e.g. runs/NAME), or its run id (NAME) in the runs folder, ${RUNS_ENV} "
        "if set, else runs/ here",
    )
    sample.add_argument(
        "--n", type=int, default=1000, help=f"number of samples, 1..{MAX_SAMPLES} (default: %(default)s)"
    )
    sample.add_argument(
        "--out",
        type=Path,
        required=True,
        help="output file: .csv, .npy or .png, outside every run folder (a run's own files are its own)",
    )
    sample.add_argument(
        "--seed", type=int, default=0, help=f"noise seed, 0..{MAX_SEED} (default: %(default)s)"
    )
    sample.add_argument("--checkpoint", type=Path, help=CHECKPOINT_HELP)
    sample.add_argument(
        "--label",
        metavar="CLASS",
        help="a class-conditional run: every sample of this class, by its name (a folder's subfolder, "
        "fashion-mnist's 'Sneaker') or its index 0..classes-1 (a name first where one is also an index) "
        "(default: the classes in turn, 0, 1, ..., 0, 1, ..., so that a .png grid shows each)",
    )
    sample.add_argument(
        "--labels-out",
        type=Path,
        metavar="PATH",
        help="a class-conditional run: also write the class each sample was drawn for, one integer per "
        "sample in --out's order, as .npy (N,) or .csv (a 'label' column), for `evaluate --labels`",
    )

    evaluate = sub.add_parser(
        "evaluate",
        help="score a file of samples, or a run's G, against a dataset; prints JSON",
        description="Score samples from any model (--samples) or a run's G (--run) with the metrics a run "
        "records, and print them as one JSON object (with --run, naming the run, the checkpoint and its "
        "step first). 2D point datasets: modes_covered, hq_pct and "
        "mode_kl (ring8, grid25) and grid_kl, grid_js (all). Image datasets: diversity, and for digits, "
        "mnist and fashion-mnist classes_covered, class_kl, the accuracy of the classifier behind them "
        "and the image quality in its feature space (fd_cls, kid_cls, precision_cls, recall_cls, "
        "density_cls, coverage_cls, with their real-vs-real baselines); with --inception the same in "
        "Inception's space (fid, kid, ...). A class-conditional run's G also gets label_fidelity, GAN-train "
        "and GAN-test (Shmelkov et al. 2018) and the augmentation probe. Not measured here: d_class_acc "
        "(an acgan D's class head on held-out images), which only training records (the run's "
        "metrics.csv).",
    )
    evaluate.add_argument(
        "--dataset",
        choices=DATASETS,
        metavar="NAME",
        help="the real data to score --samples against: " + ", ".join(DATASETS) + " (--run: the run's)",
    )
    source = evaluate.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--run",
        help=f"a run (its folder, or its run id in ${RUNS_ENV} if set, else in runs/ here): its G (latest "
        "checkpoint, or --checkpoint) draws 1,000 samples (every class "
        "equally, for a class-conditional G) scored against the run's own data",
    )
    evaluate.add_argument("--checkpoint", type=Path, help="with --run: " + CHECKPOINT_HELP)
    evaluate.add_argument(
        "--augment-k",
        type=int,
        metavar="K",
        help="with --run, a class-conditional G: the augmentation probe's real images per class, 1 to the "
        f"training split's smallest class (default: {AUGMENT_K})",
    )
    evaluate.add_argument(
        "--augment-generated",
        type=int,
        metavar="M",
        help="with --run, a class-conditional G: G's samples per class added in the augmentation probe, "
        f"1 to {MAX_AUGMENT_GENERATED:,} (default: {AUGMENT_GENERATED})",
    )
    source.add_argument(
        "--samples",
        type=Path,
        help="the samples: 2D points as .csv (two numeric columns, header optional) or .npy (N x 2); "
        "images as .npy (N x C x H x W or N x H x W, values in [0, 1], as `sample --out X.npy` writes)",
    )
    evaluate.add_argument(
        "--labels",
        type=Path,
        metavar="PATH",
        help="with --samples of images from a class-conditional G: the class each sample was drawn for, "
        "as `sample --labels-out` writes it (.npy (N,) integers, or .csv of one integer column, header "
        "optional): diversity is then measured within each class, as a conditional run records it, and "
        "label_fidelity where the dataset has a classifier (without it, diversity across the whole file "
        "reads a G that draws one image per class as diverse)",
    )
    evaluate.add_argument(
        "--data-path",
        default="",
        help="with --samples: where the real data is: points: its CSV; folder: the image folder; "
        "mnist/fashion-mnist/cifar10: the torchvision root (default: none; the torchvision sets: ./data)",
    )
    evaluate.add_argument(
        "--image-size",
        type=int,
        default=0,
        help="with --samples: the image side they have, as the run's image_size; 0 = the dataset's own "
        "(default: %(default)s)",
    )
    evaluate.add_argument(
        "--channels",
        type=int,
        default=0,
        help="with --samples: the image channels they have, as the run's channels: 0 = the dataset's own, "
        "1 or 3 (default: %(default)s)",
    )
    evaluate.add_argument(
        "--inception",
        action="store_true",
        help="images: also measure in Inception-v3's feature space (fid, kid, precision_inception, ...), "
        f"with the weights of --inception-weights, ${INCEPTION_ENV}, or torch hub's cache "
        "(about 0.2 s an image on one CPU core)",
    )
    evaluate.add_argument(
        "--inception-weights",
        type=Path,
        default=None,
        metavar="PATH",
        help=f"the FID Inception weights file ({INCEPTION_FILE}); implies --inception",
    )
    evaluate.add_argument(
        "--download",
        action="store_true",
        help="with --inception: download the weights into torch hub's cache if they are not on disk "
        "(needs a network)",
    )
    evaluate.add_argument(
        "--seed",
        type=int,
        default=0,
        help="--samples: the seed of the run they came from (the feature-space metrics then measure "
        "against the real half that run measured against); --run: the seed of G's noise, the run's own "
        "seed picking the real half (default: %(default)s)",
    )
    runs = sub.add_parser(
        "runs",
        help="list the runs of a runs folder: status, step, flags, latest losses",
        description="List every run of a runs folder as the dashboard's Runs page does, newest first by "
        "its created time (then by id): "
        "its status (a run whose writer is gone reads interrupted), step of its target, the failure flags "
        "up, its latest d_loss, g_loss, d_acc_real and d_acc_fake, its latest evaluation's headline quality "
        "metric ("
        + ", ".join(HEADLINE_QUALITY)
        + ": the first measured), when it was made, who recorded it, "
        "its data, model and loss, and the settings that differ between the runs listed (a sweep's lr_g, "
        "seed, ...; the first four; a loop of one's own reads lr_g and lr_d from its optimizers at its last "
        "row, a scheduler's decay included); a run's error and what its files have wrong (status.json, "
        "metrics.csv's header and last row, events.csv) on a line below it. A "
        "folder that cannot be read is listed as unreadable, with why; folders holding a run under a name "
        "that is no run id are named on stderr.",
    )
    runs.add_argument(
        "folder",
        nargs="?",
        type=Path,
        default=default_runs_root(),
        help=f"the runs folder (default: ${RUNS_ENV} if set, as the dashboard uses it, else runs/ here)",
    )
    runs.add_argument(
        "--filter",
        metavar="TEXT",
        help="only the runs the Runs page's filter keeps for TEXT: " + FILTER_SYNTAX + " (e.g. 'ring8 "
        "lr_g<1e-3 seed!=0'; quote it)",
    )
    runs.add_argument(
        "--json",
        action="store_true",
        help="print one JSON list instead: per run the Runs page's fields, `last`: the numbers of its "
        "metrics.csv's last row, and `last_eval`: its latest evaluation's quality metrics and step (blank "
        "cells left out)",
    )
    notes = sub.add_parser(
        "notes",
        help="print a run's notes, or set them",
        description="Print a run's notes (free text of your own about it, which the dashboard shows on "
        "the Runs page, the Train view and Compare, and the runs filter searches), or replace them with "
        f"TEXT. At most {MAX_NOTES_CHARS:,} characters; line breaks and tabs are kept, other control "
        "characters refused. A run another process writes (a train in another terminal, a loop through "
        "gan_core.track, Lightning) is sent them, and writes them itself between two steps: this waits up "
        "to 5 s for its answer.",
    )
    notes.add_argument(
        "run",
        metavar="RUN",
        help=f"the run: its folder (e.g. runs/NAME), or its run id (NAME) in the runs folder, ${RUNS_ENV} "
        "if set, else runs/ here",
    )
    notes.add_argument(
        "text",
        nargs="?",
        metavar="TEXT",
        help="the new notes (quote them); - reads them from standard input; '' removes them (default: print "
        "the run's notes)",
    )
    notes.add_argument(
        "--append",
        metavar="TEXT",
        help="add TEXT after the run's notes, on a line of its own (- reads it from standard input), "
        "instead of replacing them",
    )
    for command in (train, sample, evaluate, runs, notes):  # (for `_flag_of`)
        command.set_defaults(command_parser=command)
    return parser


def config_from_args(args: argparse.Namespace) -> GANConfig:
    """The preset's fields, then the --config file's, then the flags' (each wins over the one before)."""
    data: dict = get_preset(args.preset).config().to_dict() if args.preset is not None else {}
    if args.config is not None:
        try:
            from_file = json.loads(read_regular(args.config).decode("utf-8"))
        except OSError as exc:  # a named pipe or a folder too, at once (`read_regular`)
            raise CLIError(f"--config {args.config}: cannot read ({exc.strerror})") from None
        except json.JSONDecodeError as exc:
            raise CLIError(f"--config {args.config}: not valid JSON ({json_error(exc)})") from None
        if not isinstance(from_file, dict):
            raise CLIError(f"--config {args.config}: must hold a JSON object of config fields")
        data.update(from_file)
    names = {f.name for f in dataclasses.fields(GANConfig)}
    data.update({k: v for k, v in vars(args).items() if k in names})
    return GANConfig.from_dict(data)


def cmd_train(args: argparse.Namespace) -> int:
    """Train one run; under torchrun (``WORLD_SIZE`` > 1) one run over all the job's processes: rank 0
    writes the folder (this function's usual path), the other ranks follow (`follow_train`)."""
    dist = from_env(getattr(args, "device", None) or "auto")
    if dist is not None and not dist.is_main:
        return follow_train(dist)
    try:
        runner = _train_runner(args, dist)
    except BaseException:
        if dist is not None:  # the other ranks wait for the job's set-up: tell them there is none
            with contextlib.suppress(Exception):
                dist.broadcast(None)
        raise
    if args.notes is not None:  # under the runner's claim, before the other ranks are told to start
        try:
            runner.run_dir.write_notes(args.notes)
        except BaseException:
            if dist is not None:
                with contextlib.suppress(Exception):
                    dist.broadcast(None)
            if args.resume is None:  # a new folder (a branch's too) holding its config alone: none left
                runner.run_dir.discard()
            else:
                runner.run_dir.release()
            raise
    if dist is not None:  # what every rank trains: the config, and the checkpoint it goes on from
        dist.broadcast({"config": runner.cfg.to_dict(), "resume": runner.resume_state})
    try:
        return _train(args, runner)
    except KeyboardInterrupt:  # a Ctrl-C before training began (TensorBoard loading, say): said by main()
        if runner.status == "idle" and args.resume is None and args.rewind is None:
            runner.run_dir.discard()  # this new run's folder holds its config alone: none left behind
        raise
    finally:
        if dist is not None:
            del runner  # its trainer's DDP wrappers hold the process group, which shutdown() frees
            shutdown()


def _train_runner(args: argparse.Namespace, dist: DistContext | None) -> Runner:
    if args.run_id is not None:  # before the data loads (minutes for a large folder)
        validate_run_id(args.run_id)
    if args.notes is not None:  # (said before anything is made)
        checked_notes(args.notes)
    if args.resume is not None or args.rewind is not None:
        if args.preset is not None:
            raise CLIError("--preset cannot be used with --resume or --rewind: the run keeps its config.json")
        return continued_runner(args, dist)
    if args.from_step is not None:
        raise CLIError("--from-step goes with --rewind DIR")
    cfg = config_from_args(args)
    for folder in (args.out, *args.out.parents):  # the runs folder, or the nearest of its parents there
        if folder.exists():
            if not folder.is_dir():
                raise CLIError(f"--out {args.out}: {folder} is a file; give a folder for the runs")
            break
    around = run_folder_around(args.out)  # (a folder of runs, where the new one is made: in no run's)
    if around is not None:
        folder, what = around
        raise CLIError(
            f"--out {args.out}: {'is' if folder == Path(os.path.realpath(args.out)) else 'is inside'} {what} "
            f"({str(folder)!r}), where a new run would be made among that run's own files; allowed: a folder "
            f"of runs outside every run folder, such as the one holding it, {str(folder.parent)!r}"
        )
    if args.run_id is not None and os.path.lexists(args.out / args.run_id):  # said before the data loads
        raise CLIError(
            f"run {args.run_id!r} already exists in {str(args.out)!r}: choose another run id, or continue "
            f"it with --resume {args.out / args.run_id}"
        )
    device = dist.device(cfg.device) if dist is not None else resolve_device(cfg.device)
    data = _load_reporting(cfg, device, args)  # before the run folder exists: bad data leaves nothing behind
    # A preset's run is named after it (healthy-ring8-20261130-...) unless --run-id names it, or it trains
    # other data than the preset's (--preset healthy-ring8 --dataset digits: digits-minimax-...).
    name = args.preset
    if name is not None and get_preset(name).config().dataset != cfg.dataset:
        name = None
    try:
        run_dir = RunDir.create(args.out, cfg, args.run_id, name=name)
    except (OSError, RunDirError) as exc:  # no such place (/proc/x), read-only, no permission, a full disk
        cause = exc if isinstance(exc, OSError) else exc.__cause__
        if not isinstance(cause, OSError):  # (a clash of run ids: said as it is)
            raise
        raise CLIError(
            f"--out {args.out}: cannot make the run's folder there ({cause.strerror or cause}); allowed: a "
            "folder of runs this user can write to (made if missing, with its parents)"
        ) from None
    try:
        return Runner(cfg, args.out, data=data, run_dir=run_dir, dist=dist)
    except BaseException:  # (a Ctrl-C): the new folder holds its config alone, none left behind
        run_dir.discard()
        raise


def follow_train(dist: DistContext) -> int:
    """A rank other than 0 of ``torchrun ... -m gan_core train``: it gets the config (and the checkpoint)
    from rank 0, trains its share (`gan_core.runner.follow`) and writes nothing. Exit status: 0 when the
    job finished or was stopped, 128 + the signal after Ctrl-C or SIGTERM here, 1 when the job ended on
    another rank or failed here (the error on stderr)."""
    signalled = 0

    def on_signal(signum, frame):
        nonlocal signalled
        signalled = signalled or signum  # the first: a Ctrl-C's SIGINT, then torchrun's SIGTERM

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, on_signal)
    try:
        setup = dist.broadcast(None)
        if setup is None:
            print(f"rank {dist.rank}: rank 0 could not start the run (its error above)", file=sys.stderr)
            return 1
        cfg = GANConfig.from_dict(setup["config"])
        data = load_data(cfg, dist.device(cfg.device))
        follow(cfg, dist, data=data, resume=setup["resume"], stop_requested=lambda: bool(signalled))
    except RuntimeError as exc:  # a collective failed: another rank is gone
        print(
            f"rank {dist.rank}: the job ended on another rank ({' '.join(str(exc).split())[:300]})",
            file=sys.stderr,
        )
        return 1
    finally:
        with contextlib.suppress(Exception):
            shutdown()
    return 128 + signalled if signalled else 0


def _load_reporting(cfg: GANConfig, device, args: argparse.Namespace) -> DataSource:
    """`load_data` with a progress bar on stderr while a folder's files are decoded, then one line saying
    how long the load took and how (a cache built, reused or rebuilt); nothing with --quiet. A folder's
    files left out (`DataSource.skipped_note`: unreadable, the first few named) are said even then."""
    from tqdm import tqdm

    quiet = getattr(args, "quiet", False)  # continued_runner serves commands without --quiet too
    bar: tqdm | None = None

    def progress(done: int, total: int, what: str) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=total, unit="image", file=sys.stderr, dynamic_ncols=True, disable=quiet)
        bar.set_description(what, refresh=False)
        bar.total = total
        bar.update(done - bar.n)

    try:
        data = load_data(cfg, device, progress)
    finally:
        if bar is not None:
            bar.close()
    if bar is not None and not quiet:
        how = f" ({'; '.join(data.notes)})" if data.notes else ""
        streamed = ", streamed" if data.streamed else ""
        # (a review: a 96x32 image's edges cut and a 64 px set trained at 32 went unsaid)
        side = cfg.resolved_image_size
        shape = f", each one's centred square at {side} px" if cfg.dataset == "folder" else ""
        print(
            f"loaded {data.num_examples} images in {data.load_seconds:.1f} s{shape}{streamed}{how}",
            file=sys.stderr,
        )
    left_out = data.skipped_note()
    if left_out:
        print(f"warning: {left_out}", file=sys.stderr)
    return data


def _train(args: argparse.Namespace, runner: Runner) -> int:
    from tqdm import tqdm

    # A dashboard on the same runs folder watches this run live and reaches it through its command file.
    runner.watch_command_file()
    if args.tensorboard:
        try:
            resumed = runner.resume_state  # from a checkpoint: TensorBoard drops the history after it too
            purge = int(resumed[0]["step"]) + 1 if resumed is not None else 0
            log_dir = runner.run_dir.path / "tensorboard"
            runner.add_sink(TensorBoardSink(log_dir, purge_step=purge, hparams=runner.cfg.to_dict()))
        except ImportError as exc:
            runner.run_dir.release()
            raise CLIError(str(exc)) from None
    runner.start()
    interrupted = 0

    def on_signal(signum, frame):  # Ctrl-C or SIGTERM: stop cleanly (checkpoint and flush), then report
        nonlocal interrupted
        # the first one says why: a Ctrl-C in torchrun's terminal reaches a worker as SIGINT, then as the
        # SIGTERM torchrun sends its workers on the SIGINT it got itself (the report said "SIGTERM")
        interrupted = interrupted or signum
        if runner.status in ("running", "paused"):  # recorded as the tracking API's runs say it
            name = signal.Signals(interrupted).name
            runner.stop("interrupted (Ctrl-C)" if interrupted == signal.SIGINT else f"terminated ({name})")

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    bar = tqdm(
        total=runner.cfg.steps or None,
        initial=runner.start_step,
        unit="step",
        disable=args.quiet,
        file=sys.stderr,
        dynamic_ncols=True,
    )
    said = 0  # the commands from the dashboard said so far: each Pause and Resume, in the terminal
    # this run's events read so far (a resumed run's earlier ones were said when they came), and the
    # evaluation errors said: each once (a review: a mistyped $GAN_DASHBOARD_INCEPTION_WEIGHTS was said
    # in events.csv only, and FID never came)
    events_read, errors_said = len(runner.events), set()

    def say_commands() -> None:
        nonlocal said, events_read
        for command, source, step in runner.file_commands[said:]:
            said += 1
            if command in ("pause", "resume"):
                bar.write(_paused_or_resumed(command, source, step), file=sys.stderr)
        for event in runner.events[events_read:]:
            events_read += 1
            error = event.get("fields", {}).get("error") if event.get("kind") == "eval_error" else None
            if error and error not in errors_said:
                errors_said.add(error)
                bar.write(f"warning: quality evaluation at step {event['step']}: {error}", file=sys.stderr)

    try:
        # Poll a few times a second: waking on every step would steal the GIL from training.
        while not runner.wait(timeout=0.25):
            _update_bar(bar, runner)
            say_commands()
        _update_bar(bar, runner)
        say_commands()  # (a Pause and a Resume within the last poll: both said, in order)
    finally:
        bar.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if runner.status == "failed":
        print(f"error: run failed: {runner.error}", file=sys.stderr)
        print(runner.run_dir.path)
        return 1
    if runner.status == "stopped":  # said, or it reads like a run that finished
        if interrupted:
            how = " (Ctrl-C)" if interrupted == signal.SIGINT else f" ({signal.Signals(interrupted).name})"
        elif stops := [source for command, source, _ in runner.file_commands if command == "stop"]:
            how = f" (Stop from {asker(stops[0])})"
        else:  # another rank of the job asked
            how = ""
        print(
            f"stopped at step {runner.current_step}{how}; continue with: python -m gan_core train "
            f"--resume {shlex.quote(str(runner.run_dir.path))}",
            file=sys.stderr,
        )
    print(runner.run_dir.path)
    # 130 after Ctrl-C, 143 after SIGTERM; 0 after a Stop asked for (the dashboard's: the other ranks of a
    # torchrun job end with 0 too, and torchrun reports no failure)
    return 128 + interrupted if interrupted else 0


def _paused_or_resumed(command: str, source: str, step: int) -> str:
    """The line a Pause or Resume of the run (from its command file: the dashboard's buttons) gets in the
    terminal, above the progress bar, which stands still while paused; ``step``: the step it came at."""
    if command == "pause":
        return (
            f"paused at step {step} from {asker(source)}: Resume there to go on, or Ctrl-C here to stop "
            "(checkpoint and files flushed)"
        )
    return f"resumed at step {step} from {asker(source)}"


def continued_runner(args: argparse.Namespace, dist: DistContext | None = None) -> Runner:
    """``--resume DIR`` (the run goes on in DIR) or ``--rewind DIR`` (a new run branched from DIR), not
    started yet. The config is DIR's; field flags are changes, allowed for the mid-run fields only."""
    option, folder = ("--resume", args.resume) if args.resume is not None else ("--rewind", args.rewind)
    # (``folder`` as given, a path or a run id: what the messages name)
    if args.config is not None:
        raise CLIError(
            f"--config cannot be used with {option}: the run keeps its config.json; change the mid-run "
            "fields with flags (e.g. --lr-g 1e-4)"
        )
    if option == "--resume" and (args.run_id is not None or args.from_step is not None):
        flag = "--run-id" if args.run_id is not None else "--from-step"
        raise CLIError(f"{flag} cannot be used with --resume (it goes with --rewind DIR)")
    run_dir = run_folder(option, folder, args.out)  # a run id is looked up in --out's runs folder
    meta = run_dir.read_meta()
    if not meta.owned:  # a user's loop kept its own checkpoints, if any: nothing here to train on from
        raise CLIError(
            f"{option} {folder}: recorded by {SOURCES[meta.source]}, which keeps no checkpoints to "
            f"{'resume' if option == '--resume' else 'branch'} from; continue it from your own script with "
            f"{_continue_call(meta.source, run_dir)}"
        )
    names = {f.name for f in dataclasses.fields(GANConfig)}
    changes = {k: v for k, v in vars(args).items() if k in names}
    try:
        cfg = run_dir.read_config()
    except RunDirError as exc:  # said as every refusal of the option is: which option, why, what is allowed
        said = str(exc).removeprefix(f"run {run_dir.run_id!r}: ")
        what = "a resume" if option == "--resume" else "a branch"
        raise CLIError(f"{option} {folder}: {said}; {what} needs the config.json its run wrote") from None
    # Where it trains now (auto unless --device), not where it trained before: before anything is written,
    # so that bad data or an unavailable device changes nothing.
    device = continue_device(changes)
    try:
        if option == "--resume":  # claimed before its data loads: a run in use is refused at once
            run_dir.claim("training it")
        try:
            data = _load_reporting(
                cfg, dist.device(device) if dist is not None else resolve_device(device), args
            )
            if option == "--resume":
                return Runner.reopen(run_dir, changes, data=data, dist=dist)  # (the runner keeps the claim)
            return Runner.branch(run_dir, args.from_step, changes, run_id=args.run_id, data=data, dist=dist)
        except BaseException:
            if run_dir.claimed:  # (a refused resume gives its claim back)
                run_dir.release()
            raise
    except (RunnerError, RunDirError, UnusableCheckpointError) as exc:  # which option, and why
        said = str(exc).removeprefix(f"run {run_dir.run_id!r}: ")  # the option names the run already
        if isinstance(exc, UnusableCheckpointError) and exc.older:  # the latest one, or --from-step's
            said += f"; branch a new run from one: --rewind {folder} --from-step {exc.older[0]}"
            if option == "--resume" and exc.path is not None:  # or go on in place from the older one
                said += (
                    f"; or go on in this run from step {exc.older[0]}: move checkpoints/{exc.path.name} out "
                    f"of {folder} and resume again (its rows after step {exc.older[0]} are then replaced)"
                )
        raise CLIError(f"{option} {folder}: {said}") from None


def _continue_call(source: str, run_dir: RunDir) -> str:
    """The call in a user's own script that continues ``run_dir`` (a run of ``source``, api or lightning)."""
    where = f"{run_dir.run_id!r}, root={str(run_dir.root)!r}"
    if source == "lightning":
        return f"GANTrackingCallback({where}, ..., resume=True)"
    return f"track.init({where}, ..., resume=True)"


def _update_bar(bar, runner: Runner) -> None:
    steps = runner.hparams["steps"] or None
    if bar.total != steps:  # a resumed run may train to another steps
        bar.total = steps
    latest = runner.store.latest()
    if latest:  # (before the update, which draws the bar: the values drawn are those of its step)
        bar.set_postfix(
            d_loss=f"{latest['d_loss']:.3f}",
            g_loss=f"{latest['g_loss']:.3f}",
            acc_real=f"{latest['d_acc_real']:.2f}",
            acc_fake=f"{latest['d_acc_fake']:.2f}",
            refresh=False,
        )
    bar.update(runner.current_step - bar.n)


@dataclass(frozen=True)
class _RunG:
    cfg: GANConfig
    G: torch.nn.Module
    source: str  # "checkpoint NAME of run 'ID'", for messages
    step: int
    run_path: Path
    checkpoint: str  # its file's name, step_00001000.pt
    class_names: tuple[str, ...] = ()  # a conditional G's classes, as its checkpoint names them
    state: dict[str, Any] | None = None  # the checkpoint read (D's weights beside G's: `d_separation`)
    run: RunDir | None = None


def _run_generator(args: argparse.Namespace) -> _RunG:
    """G of ``--run`` at its latest checkpoint or ``--checkpoint``, with its config. The latest is the
    newest entry of its checkpoints/: one that cannot be used is refused, naming the older ones and the
    ``--checkpoint`` that takes one, never passed by for an older one without a word."""
    run = run_folder("--run", args.run, default_runs_root())
    if args.checkpoint is not None:
        path = args.checkpoint
        if len(path.parts) == 1 and path.name not in (".", ".."):  # step_00003000.pt, as evaluate names it
            path = run.path / "checkpoints" / path
        elif not path.is_absolute():
            path = Path.cwd() / path
        _check_checkpoint_option(path, run)
        state = run.load_checkpoint(path)  # a RunDirError names the file and the run
    else:
        problem = run.checkpoints_folder_problem()
        if problem is not None:
            raise CLIError(f"--run {args.run}: {problem}")
        entries = run.checkpoint_entries()
        if not entries:
            meta = run.read_meta()
            if not meta.owned:  # its writer keeps no checkpoints of ours: there will never be one
                raise CLIError(
                    f"--run {args.run}: recorded by {SOURCES[meta.source]}, which keeps no checkpoints; "
                    "sample and evaluate --run need a run of the built-in trainer (python -m gan_core "
                    "train, or Start in the dashboard)"
                )
            raise CLIError(f"--run {args.run}: run {run.run_id!r} has no checkpoint yet")
        step, path, _ = entries[-1]
        try:
            state = run.load_checkpoint(path)
        except RunDirError as exc:  # damaged, or no regular file: the older ones, and how to take one
            unusable = unusable_checkpoint(run, step, str(exc))
            instead = ""
            if unusable.older:
                older = dict(run.checkpoints())[unusable.older[0]]
                instead = f"; take one with --checkpoint {shlex.quote(str(older))}"
            raise CLIError(f"{unusable}{instead}") from None
    name = path.name
    source = f"checkpoint {name} of run {run.run_id!r}"
    cfg, G = generator_from_checkpoint(state, source=source)
    names = tuple(str(name) for name in state.get("class_names") or ())  # (before names: none)
    # (the step checked by load_checkpoint)
    return _RunG(cfg, G, source, state["step"], run.path, name, names, state, run)


def _check_checkpoint_option(path: Path, run: RunDir) -> None:
    """`CLIError` when ``--checkpoint`` (at ``path``) lies outside the run's folder, naming the checkpoint
    files the run keeps. (A symlink is left to `RunDir.load_checkpoint`, which refuses every one, saying
    so.)"""
    if path.is_symlink():
        return
    try:
        inside(run.path, path, "the run's folder")
    except RunDirError as exc:
        kept = [shlex.quote(str(p)) for _, p in reversed(run.checkpoints())]
        allowed = (
            f"one of its checkpoint files: {', '.join(kept)}" if kept else "none: it keeps no checkpoint"
        )
        raise CLIError(f"--checkpoint: {exc}; allowed: {allowed}") from None


def _check_out_file(flag: str, path: Path, suffixes: tuple[str, ...]) -> str:
    """``path``'s suffix (lower case) after `CLIError` for a file ``flag`` cannot write: an unknown
    format (``suffixes`` allowed), a folder, something not a regular file, a missing folder."""
    allowed = ", ".join(suffixes[:-1]) + f" or {suffixes[-1]}" if len(suffixes) > 1 else suffixes[0]
    suffix = path.suffix.lower()
    if suffix not in suffixes:
        raise CLIError(f"{flag} {path}: unknown format {suffix or '(none)'}; allowed {', '.join(suffixes)}")
    if path.is_dir():
        raise CLIError(f"{flag} {path} is a folder: give a file name ending {allowed}")
    with contextlib.suppress(OSError):  # (none there yet: written below)
        mode = path.stat().st_mode
        if not stat.S_ISREG(mode):  # a named pipe: writing it would wait for a reader that never comes
            raise CLIError(
                f"{flag} {path} is {file_kind(mode)}, not a regular file: give a file name ending {allowed}"
            )
    if not path.resolve().parent.is_dir():
        raise CLIError(f"{flag} {path}: folder {path.resolve().parent} does not exist")
    return suffix


def cmd_sample(args: argparse.Namespace) -> int:
    if not 1 <= args.n <= MAX_SAMPLES:
        raise CLIError(f"--n {args.n} is invalid: allowed 1..{MAX_SAMPLES}")
    suffix = _check_out_file("--out", args.out, (".csv", ".npy", ".png"))
    if args.labels_out is not None:
        _check_out_file("--labels-out", args.labels_out, (".npy", ".csv"))
        if args.labels_out.resolve() == args.out.resolve():
            raise CLIError(
                f"--labels-out {args.labels_out} is --out's file: give the labels a file of their own"
            )
    _check_out_of_runs(args)
    if not 0 <= args.seed <= MAX_SEED:
        raise CLIError(f"--seed {args.seed} is invalid: allowed 0..{MAX_SEED}")
    loaded = _run_generator(args)
    cfg, G = loaded.cfg, loaded.G
    n_classes = model_classes(G)
    for flag, value in (("--label", args.label), ("--labels-out", args.labels_out)):
        if value is not None and not n_classes:
            raise CLIError(
                f"{flag} {value}: {loaded.run_path} is not class-conditional (conditioning none); "
                f"{flag} needs a run trained with conditioning concat, projection or acgan"
            )
    label = class_index(args.label, n_classes, loaded.class_names) if args.label is not None else None
    # a conditional G: one class, or the classes in turn over the whole file (`balanced_labels`)
    labels = (
        None
        if not n_classes
        else torch.full((args.n,), label, dtype=torch.int64)
        if label is not None
        else balanced_labels(args.n, n_classes)
    )
    rng = torch.Generator().manual_seed(args.seed)
    with torch.no_grad():
        chunks = []
        for i in range(0, args.n, 1024):
            z = torch.randn(min(1024, args.n - i), cfg.latent_dim, generator=rng)
            chunks.append(G(z) if labels is None else G(z, labels[i : i + len(z)]))
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
    which = (
        f" of class {class_words(label, loaded.class_names)}"
        if label is not None
        else f" ({n_classes} classes in turn)"
        if n_classes
        else ""
    )
    print(f"wrote {args.n} samples{which} from step {loaded.step} of {loaded.run_path} to {args.out}")
    if args.labels_out is not None:
        if args.labels_out.suffix.lower() == ".npy":
            np.save(args.labels_out, labels.numpy())
        else:
            np.savetxt(args.labels_out, labels.numpy(), fmt="%d", header="label", comments="")
        print(f"wrote their {args.n} class labels to {args.labels_out}")
    return 0


def class_words(index: int, names: Sequence[str]) -> str:
    """Class ``index`` as the command line says it: "2 'triangles'" where ``names`` names it otherwise
    than by its index, else "2"."""
    name = names[index] if 0 <= index < len(names) else str(index)
    return str(index) if name == str(index) else f"{index} {quoted(name)}"


def class_index(given: str, n_classes: int, names: Sequence[str]) -> int:
    """The class ``sample --label`` names: a class's name in ``names`` (the checkpoint's: a folder's
    subfolders), else its index 0..``n_classes``-1. `CLIError` naming the classes otherwise (the first
    `SHOWN_CLASSES` of them, the nearest names to a typo first)."""
    if given in names[:n_classes]:
        return list(names).index(given)
    with contextlib.suppress(ValueError):
        index = int(given.strip())
        if 0 <= index < n_classes:
            return index
    named = [class_words(i, names) for i in range(min(n_classes, SHOWN_CLASSES))]
    more = f", ... ({n_classes:,} in all)" if n_classes > SHOWN_CLASSES else ""
    words = [name for i, name in enumerate(names[:n_classes]) if name != str(i)]  # (digits': indices)
    near = difflib.get_close_matches(given, words, 3, 0.5)
    hint = f"; nearest: {', '.join(quoted(n) for n in near)}" if near else ""
    raise CLIError(
        f"--label {quoted(given)} is not one of this run's classes: {', '.join(named)}{more} "
        f"(a name, or an index 0..{n_classes - 1}){hint}"
    )


def _check_out_of_runs(args: argparse.Namespace) -> None:
    """`CLIError` when ``sample --out`` or ``--labels-out`` lies in a run's folder (`run_folder_around`:
    the ``--run`` one, wherever it is, or any other): writing it could replace the run's metrics.csv, a
    checkpoint or another of its files, even while the run trains."""
    run = None
    with contextlib.suppress(CLIError):  # no such run: said by `_run_generator`, after the --out checks
        run = run_folder("--run", args.run, default_runs_root()).path
    for flag, path in (("--out", args.out), ("--labels-out", args.labels_out)):
        around = None if path is None else run_folder_around(path, default_runs_root(), run)
        if around is not None:
            folder, what = around
            raise CLIError(
                f"{flag} {path}: inside {what} ({str(folder)!r}), where only a run writes its files; "
                "allowed: a file outside every run folder"
            )


EVALUATE_RUN_SAMPLES = 1000
EVALUATE_SEPARATION_SAMPLES = 512  # real samples, and as many of G's, that D's separation is measured on
# The augmentation probe's settings: real images per class, and G's samples per class added (at most
# enough for 10 classes of 28 x 28 images to stay near 300 MB as float32)
AUGMENT_K, AUGMENT_GENERATED, MAX_AUGMENT_GENERATED = 10, 100, 10_000


def _augment_flags(args: argparse.Namespace) -> list[str]:
    """The augmentation probe's flags given on the command line, as the user spelt them."""
    return [
        flag
        for flag, value in (("--augment-k", args.augment_k), ("--augment-generated", args.augment_generated))
        if value is not None
    ]


def _check_augment_flags(args: argparse.Namespace) -> None:
    """`CLIError` for --augment-k / --augment-generated out of range or without --run, before any work."""
    given = _augment_flags(args)
    if given and args.run is None:
        raise CLIError(
            f"{given[0]} goes with --run of {CONDITIONAL_RUN} (the augmentation probe needs its G), not "
            "with --samples"
        )
    if args.augment_k is not None and args.augment_k < 1:
        raise CLIError(
            f"--augment-k {args.augment_k}: real images per class; allowed 1 to the training split's "
            f"smallest class (default {AUGMENT_K})"
        )
    if args.augment_generated is not None and not 1 <= args.augment_generated <= MAX_AUGMENT_GENERATED:
        raise CLIError(
            f"--augment-generated {args.augment_generated}: G's samples per class; allowed 1 to "
            f"{MAX_AUGMENT_GENERATED:,} (default {AUGMENT_GENERATED})"
        )


def cmd_evaluate(args: argparse.Namespace) -> int:
    if args.run is None and args.dataset is None:
        raise CLIError("--samples needs --dataset: the real data to score them against")
    if args.run is None and args.checkpoint is not None:
        raise CLIError("--checkpoint goes with --run")
    if args.run is not None and args.labels is not None:
        raise CLIError(
            "--labels goes with --samples; a class-conditional run's G is drawn with every class in turn "
            "and its diversity measured within each"
        )
    _check_augment_flags(args)
    G = None
    asked = None  # the class each sample was drawn for: diversity is then measured within each
    if args.run is not None:
        if args.dataset is not None:
            raise CLIError("--run scores against the run's own data: leave out --dataset")
        loaded = _run_generator(args)
        cfg, G, source = loaded.cfg.replace(device="cpu"), loaded.G, loaded.source
        conditional = model_classes(G) >= 2 and cfg.dataset in CLASSIFIED_DATASETS
        given = _augment_flags(args)
        if given and not conditional:
            what = (  # (a conditional run on a folder: conditional, but with no classifier to read it)
                f"is class-conditional on {cfg.dataset}, which has no classifier here"
                if model_classes(G) >= 2
                else "is not class-conditional"
            )
            raise CLIError(
                f"{given[0]}: run {loaded.run_path.name!r} {what}; the augmentation probe needs "
                f"{CONDITIONAL_RUN} (leave the flag out)"
            )
        if conditional:
            k = AUGMENT_K if args.augment_k is None else args.augment_k
            smallest = smallest_train_class(cfg)
            if k > smallest:
                raise CLIError(
                    f"--augment-k {k}: the training split of {cfg.dataset} has {smallest} real images of its "
                    f"smallest class; allowed 1 to {smallest}"
                )
        with torch.no_grad():
            drawn = G(
                torch.randn(
                    EVALUATE_RUN_SAMPLES, cfg.latent_dim, generator=torch.Generator().manual_seed(args.seed)
                )
            )
        drawn = drawn.float().numpy()
        # to the file format evaluate_samples reads: images in [0, 1]
        samples = drawn if cfg.is_points else (drawn + 1.0) / 2.0
    else:
        cfg = GANConfig(
            dataset=args.dataset,
            data_path=args.data_path,
            image_size=args.image_size,
            channels=args.channels,
            device="cpu",
        )
        samples = read_samples(args.samples, cfg)
        source = f"--samples {args.samples}"
        if args.labels is not None:
            if cfg.is_points:
                raise CLIError(f"--labels: dataset {cfg.dataset} holds 2D points, which have no classes")
            asked = read_labels(args.labels, len(samples))
    inception = None
    if args.inception or args.inception_weights is not None:
        if cfg.is_points:
            raise CLIError("--inception measures images; the dataset holds 2D points")
        try:
            inception = inception_weights(args.inception_weights)
            if inception is None and args.download:
                inception = download_inception_weights()
        except InceptionError as exc:
            raise CLIError(str(exc)) from None
        if inception is None:
            raise CLIError(
                f"--inception: no Inception weights on disk (not in ${INCEPTION_ENV}, nor at "
                f"{cached_weights_path()}); add --download to fetch them ({INCEPTION_URL}), or give "
                "--inception-weights PATH"
            )
    split = cfg.seed if G is not None else args.seed
    if G is not None and model_classes(G) >= 2:  # drawn with the classes in turn (G's default mix)
        asked = balanced_labels(EVALUATE_RUN_SAMPLES, model_classes(G)).numpy()
    result = evaluate_samples(samples, cfg, source, inception=inception, seed=split, labels=asked)
    if G is not None:  # which G was scored: the run, and the checkpoint and step its weights are from
        result = {"run": str(loaded.run_path), "checkpoint": loaded.checkpoint, "step": loaded.step, **result}
    if G is not None and asked is not None and cfg.dataset in CLASSIFIED_DATASETS:
        result["gan_train_test"] = gan_train_test(cfg, G, seed=args.seed)
        try:
            result["augmentation"] = augmentation_probe(
                cfg,
                G,
                k=AUGMENT_K if args.augment_k is None else args.augment_k,
                generated_per_class=AUGMENT_GENERATED
                if args.augment_generated is None
                else args.augment_generated,
            )
        except DownstreamError as exc:
            raise CLIError(f"--augment-k / --augment-generated: {exc}") from None
    if G is not None:
        try:
            result["d_separation"] = d_separation(loaded, args.seed)
        except (ProbeError, DataError, RunDirError) as exc:  # (a D with NaN weights, its data gone)
            print(f"note: d_separation not measured: {exc}", file=sys.stderr)
        try:
            result["data_copying"] = copying(loaded, args.seed)
        except (ProbeError, DataError, RunDirError) as exc:  # (ring8's data: drawn afresh, no set to copy)
            print(f"note: data_copying not measured: {exc}", file=sys.stderr)
    sizes = result.get("feature_rows")
    if sizes and sizes["generated"] < sizes["real"]:  # (the JSON stays one object on stdout)
        print(f"warning: {feature_rows_warning(sizes['generated'], sizes['real'])}", file=sys.stderr)
    conditional_g = G is not None and model_classes(G) >= 2
    for note in unmeasured_notes(cfg, inception is not None, conditional_g):
        print(f"note: {note}", file=sys.stderr)
    print(json.dumps(result, indent=2))
    return 0


def d_separation(loaded: _RunG, seed: int) -> dict[str, Any]:
    """How well the checkpoint's D tells `EVALUATE_SEPARATION_SAMPLES` of the run's real samples from as
    many of its G's (from ``seed``), as the Probe page's "Real against G's" measures it
    (`gan_core.probe.separation`): ``auc`` (ROC AUC of D's scores: 0.5 it cannot tell, 1 it separates
    them), ``d_acc_real`` and ``d_acc_fake`` (by the run's own accuracy rule) and ``samples`` (per
    side). ProbeError for a D with NaN or inf weights; DataError where the run's data are gone."""
    models = load_models(loaded.state, source=loaded.source)
    real, labels = real_labelled(loaded.run, loaded.cfg, EVALUATE_SEPARATION_SAMPLES, seed=seed)
    found = separation(models, real, labels, seed=seed)
    accuracies = {"d_acc_real": found.acc_real, "d_acc_fake": found.acc_fake}
    return {"auc": found.auc, **accuracies, "samples": len(real)}


def copying(loaded: _RunG, seed: int) -> dict[str, Any]:
    """Whether the checkpoint's G reproduces its training examples, as the Probe page's *Does G copy?*
    measures it (`gan_core.probe.data_copying`, `COPY_SAMPLES` of G's samples from ``seed``):
    ``close_share`` (the share of G's samples nearer a training example than 95% of the training
    examples lie to any other; about 0.05 when G does not copy), ``ratio`` (the median distance of G's
    samples to their nearest training example over that of the training examples to their nearest
    other), ``threshold`` (that 5% distance), ``reading`` (`COPY_READINGS`' key), ``samples`` and
    ``training_examples``. ProbeError for data drawn afresh at each batch (ring8, ...); DataError where
    the run's data are gone."""
    models = load_models(loaded.state, source=loaded.source)
    found = data_copying(models, training_set(loaded.run, loaded.cfg), seed=seed)
    return {
        "close_share": found.close_share,
        "ratio": found.ratio if math.isfinite(found.ratio) else None,  # (JSON has no Infinity)
        "threshold": found.threshold,
        "reading": found.reading,
        "p_value": found.close_p_value,
        "samples": len(found.generated),
        "training_examples": len(found.training),
    }


def unmeasured_notes(cfg: GANConfig, inception: bool, conditional_g: bool) -> list[str]:
    """What `evaluate` did not measure of images on ``cfg``'s data, and what would, one line each for
    stderr, as the dashboard says it under a run's quality chart (`charts.quality_notes`): Inception's
    metrics without ``inception``; the classifier's off `CLASSIFIED_DATASETS` (a folder of one's own
    gets diversity alone without Inception's); GAN-train/test for a conditional G (``conditional_g``)
    there. [] for 2D points (their metrics need neither)."""
    if cfg.is_points:
        return []
    notes = []
    if not inception:
        notes.append(
            "not measured: FID, KID and Inception-space precision and recall; add --inception "
            f"(Inception's weights: ${INCEPTION_ENV}, --inception-weights PATH, or --download to fetch them)"
        )
    if cfg.dataset not in CLASSIFIED_DATASETS:
        classified = ", ".join(CLASSIFIED_DATASETS)
        notes.append(
            "not measured: the classifier-space metrics (fd_cls, kid_cls, precision_cls, ...), measured on "
            f"{classified} only, whose classifier the dashboard trains"
        )
        if conditional_g:
            notes.append(
                "not measured: label_fidelity, GAN-train, GAN-test and the augmentation probe, which read "
                f"a class-conditional G's samples with the classifier of {classified}"
            )
    return notes


def feature_rows_warning(generated: int, real: int) -> str:
    """What `evaluate` says on stderr when fewer samples than the baseline's n were measured."""
    return (
        f"the feature-space metrics measured {_count(generated, 'generated image')} against {real} real; "
        f"their baseline is at n = {real}, and they depend on n (fd_cls is biased upward at smaller n, "
        f"recall and coverage move with it): give at least {real} samples to compare with the baseline "
        "(a run's G: sample --n 1000)"
    )


IMAGE_FORMAT = "images as .npy (N x C x H x W or N x H x W, values in [0, 1])"
POINTS_FORMAT = "2D points as .csv (two numeric columns) or .npy (N x 2)"


def _open_input(path: Path, where: str) -> BinaryIO:
    """``path`` opened for reading as a regular file (`open_regular`: a named pipe or a folder is refused
    at once); `CLIError` naming ``where`` (the flag and the path) when it cannot be."""
    try:
        return os.fdopen(open_regular(path), "rb")
    except FileNotFoundError:
        raise CLIError(f"{where}: no such file") from None
    except OSError as exc:
        raise CLIError(f"{where}: {exc.strerror or exc}") from None


def read_samples(path: Path, cfg: GANConfig) -> np.ndarray:
    """The samples file: (N, 2) float64 points for a point dataset, else float32 images (N, [C,] H, W).

    Checks what needs no real data: the format, the kind (points or images) against ``cfg.dataset``,
    finite values, images in [0, 1]. `evaluate_samples` checks image sizes against the loaded data.
    """
    want = POINTS_FORMAT if cfg.is_points else IMAGE_FORMAT
    where = f"--samples {path}"
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".npy"):
        raise CLIError(
            f"{where}: unknown format {suffix or '(none)'}; allowed .csv or .npy "
            f"(dataset {cfg.dataset} takes {want})"
        )
    with _open_input(path, where) as file:
        if suffix == ".csv":
            if not cfg.is_points:
                raise CLIError(f"{where}: a .csv holds 2D points; dataset {cfg.dataset} takes {want}")
            return read_points_csv(path).numpy().astype(np.float64)  # DataError names any bad cell
        magic = file.read(6)
        if magic.startswith(b"PK\x03\x04"):  # what np.savez writes
            raise CLIError(f"{where}: holds an .npz archive, not one array; allowed {want}")
        if magic != b"\x93NUMPY":
            raise CLIError(f"{where}: not a .npy file (no .npy header); allowed {want}")
        file.seek(0)
        try:
            array = np.load(file, allow_pickle=False)  # never unpickle: a .npy from anyone must be safe
        except ValueError as exc:
            reason = numpy_load_reason(exc)
            if reason == PICKLED_DATA:  # as a snapshot says it, never "load it unsafely"
                raise CLIError(f"{where}: {PICKLED_DATA}; allowed {want}") from None
            raise CLIError(f"{where}: cannot read it ({reason})") from None
        except (OSError, EOFError) as exc:
            raise CLIError(f"{where}: cannot read it ({numpy_load_reason(exc)})") from None
    if not (np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)):
        raise CLIError(f"{where}: values of type {array.dtype} are not real numbers; allowed {want}")
    shape = " x ".join(map(str, array.shape))
    looks_like_points = array.ndim == 2 and array.shape[1] == 2
    if cfg.is_points:
        if not looks_like_points:
            kind = "images" if array.ndim in (3, 4) else "an array"
            raise CLIError(f"{where}: holds {kind} of shape {shape}; dataset {cfg.dataset} takes {want}")
        if not 2 <= len(array) <= MAX_POINTS_ROWS:
            raise CLIError(f"{where}: has {_count(len(array), 'point')}; allowed 2 to {MAX_POINTS_ROWS}")
    else:
        if looks_like_points:
            raise CLIError(f"{where}: holds 2D points (shape {shape}); dataset {cfg.dataset} takes {want}")
        if array.ndim not in (3, 4):
            raise CLIError(f"{where}: has shape {shape}; allowed {want}")
        if not 2 <= len(array) <= MAX_SAMPLES:  # diversity compares pairs
            raise CLIError(f"{where}: has {_count(len(array), 'image')}; allowed 2 to {MAX_SAMPLES}")
    # float32 for images: as the models make them, and half the memory of 100,000 large images
    array = array.astype(np.float64 if cfg.is_points else np.float32)
    finite = np.isfinite(array)
    if not finite.all():
        first = tuple(int(i) for i in np.argwhere(~finite)[0])
        raise CLIError(
            f"{where}: {_count(int((~finite).sum()), 'non-finite value')} (NaN or inf), the first at index "
            f"{first}; allowed finite numbers"
        )
    if not cfg.is_points and (array.min() < 0.0 or array.max() > 1.0):
        raise CLIError(
            f"{where}: values span [{array.min():.4g}, {array.max():.4g}]; allowed [0, 1] "
            "(map [-1, 1] images with (x + 1) / 2, 0..255 ones with x / 255)"
        )
    return array


LABELS_FORMAT = ".npy (N,) integers, or .csv of one integer column (header optional)"


def read_labels(path: Path, n: int) -> np.ndarray:
    """``evaluate --labels``: the class each of the ``n`` samples was drawn for, (n,) int64, as `sample
    --labels-out` writes it. `CLIError` for an unreadable file, a count that is not ``n``, or values that
    are not whole numbers >= 0 (the dataset's classes are checked by `evaluate_samples`)."""
    where = f"--labels {path}"
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".npy"):
        raise CLIError(f"{where}: unknown format {suffix or '(none)'}; allowed {LABELS_FORMAT}")
    with _open_input(path, where) as file:
        try:
            if suffix == ".npy":
                array = np.load(file, allow_pickle=False)  # never unpickle: a .npy from anyone must be safe
            else:
                array = _labels_csv(file.read().decode("utf-8"), where)
        except UnicodeDecodeError:
            raise CLIError(f"{where}: not UTF-8 text; allowed {LABELS_FORMAT}") from None
        except (ValueError, OSError, EOFError) as exc:
            raise CLIError(
                f"{where}: cannot read it ({numpy_load_reason(exc)}); allowed {LABELS_FORMAT}"
            ) from None
    if array.ndim != 1 or not np.issubdtype(array.dtype, np.integer):
        shape = " x ".join(map(str, array.shape)) or "a scalar"
        raise CLIError(f"{where}: holds {array.dtype} values of shape {shape}; allowed {LABELS_FORMAT}")
    if len(array) != n:
        raise CLIError(
            f"{where}: has {_count(len(array), 'label')} for {_count(n, 'sample')}; allowed one per sample"
        )
    if len(array) and array.min() < 0:
        raise CLIError(f"{where}: label {int(array.min())} is negative; allowed class indices 0, 1, ...")
    return array.astype(np.int64)


def _labels_csv(text: str, where: str) -> np.ndarray:
    """A labels .csv's integers, (n,) int64: one per line, a first line that is no number taken as a header
    ("label"), blank lines skipped. `CLIError` naming the first line that is not one whole number."""
    lines = [(number, line.strip()) for number, line in enumerate(text.splitlines(), 1) if line.strip()]
    if lines and not lines[0][1].lstrip("+-").isdigit():
        lines = lines[1:]
    values = []
    for number, line in lines:
        try:
            values.append(int(line))
        except ValueError:
            raise CLIError(
                f"{where}: line {number} holds {quoted(line)}, not one whole number; allowed {LABELS_FORMAT}"
            ) from None
    return np.asarray(values, dtype=np.int64)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def evaluate_samples(
    samples: np.ndarray,
    cfg: GANConfig,
    source: str = "samples",
    *,
    inception: Path | None = None,
    seed: int = 0,
    labels: np.ndarray | None = None,
) -> dict:
    """The metrics of samples read by `read_samples` against ``cfg``'s real data, JSON-ready.

    ``source`` names the samples in errors (image sizes are checked here, against the loaded data).
    ``inception``: the Inception weights file, to measure in its space too. ``seed``: the run seed whose
    real half the feature-space metrics measure against (`evaluation.split_seed`). ``labels`` (N,): the
    class each sample was drawn for (a conditional G's): ``diversity`` is then measured within each
    class (`diagnostics.class_diversity`), as a conditional run records it, where the data has labels.
    """
    data = load_data(cfg, "cpu")
    real = data.examples().numpy()
    metrics: dict = {}
    if cfg.is_points:
        if data.centers is not None:  # ring8 / grid25: modes to count
            metrics.update(mode_metrics(samples, data.centers.numpy(), data.mode_std))
        metrics.update(grid_divergences(real, samples, data.bounds))
    else:
        channels, height, width = data.sample_shape
        images = samples[:, None] if samples.ndim == 3 else samples
        if images.shape[1:] != (channels, height, width):
            fits = f"N x {channels} x {height} x {width}" + (
                f" or N x {height} x {width}" if channels == 1 else ""
            )
            raise CLIError(
                f"{source}: images are {' x '.join(map(str, samples.shape[1:]))}; dataset {cfg.dataset} at "
                f"image size {height} with {channels} channel{'s' if channels > 1 else ''} takes {fits} "
                "(set --image-size and --channels as the run had them)"
            )
        fake = (images * 2.0 - 1.0).astype(np.float32)  # to the [-1, 1] the real images are held in
        classifier = None
        if cfg.dataset in CLASSIFIED_DATASETS:
            classifier = get_classifier(cfg)
        metrics.update(image_metrics(fake, real, classifier))
        real_labels = data.example_labels() if labels is not None else None
        if labels is not None and real_labels is None:
            raise CLIError(f"--labels: dataset {cfg.dataset} has no classes to measure samples within")
        if labels is not None and len(labels) and labels.max() >= data.n_classes:
            raise CLIError(
                f"--labels: label {int(labels.max())} is out of range; dataset {cfg.dataset} has "
                f"{data.n_classes} classes, 0..{data.n_classes - 1}"
            )
        if real_labels is not None:  # as a conditional run measures it: within each class asked for
            metrics["diversity"] = class_diversity(fake, labels, real, real_labels.numpy())
        if labels is not None and classifier is not None:
            # as the run's evaluator scores it: the class asked for, named by the data's classifier
            metrics["label_fidelity"] = label_fidelity(classifier.predict(fake), labels)
        if classifier is not None:
            metrics["classifier_accuracy"] = classifier.held_out_accuracy
        # Image quality in the classifier's feature space, against the same real half a run of this
        # seed measures (`RealSplitQuality`), with the real-vs-real baselines and the sample sizes
        try:
            networks = feature_networks(cfg, inception=inception)
        except InceptionError as exc:
            raise CLIError(str(exc)) from None
        if "cls" in networks:  # (the SVC's accuracy above names classes; this MLP's space is measured in)
            metrics["feature_network_accuracy"] = networks["cls"].held_out_accuracy
        split = RealSplitQuality(networks, data.examples(), split_seed(seed))
        if split.spaces:
            if len(fake) < NEAREST_K + 2:
                raise CLIError(
                    f"{source}: {_count(len(fake), 'image')}; the feature-space metrics need at least "
                    f"{NEAREST_K + 2} (and {split.rows} to compare with their baselines)"
                )
            metrics.update(split.measure(torch.from_numpy(fake)))
            metrics["baseline"] = split.baselines
            metrics["feature_rows"] = {"real": split.rows, "generated": min(len(fake), split.rows)}
    for name in COUNT_METRICS:  # counts: 8, not 8.0
        if name in metrics:
            metrics[name] = int(metrics[name])
    # NaN (e.g. diversity against a one-image folder) is not JSON: print null
    clean = {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in metrics.items()}
    return {"dataset": cfg.dataset, "n_samples": len(samples), **clean}


# The latest values `runs` shows of each run, from its metrics.csv's last row.
RUNS_LATEST = ("d_loss", "g_loss", "d_acc_real", "d_acc_fake")
RUNS_TEXT_LIMIT = 40  # characters of a text cell in the `runs` table; the rest is cut ("…")
RUNS_WHAT_LIMIT = 72  # the "data · model · conditioning · loss" cell's: a conditional run's is long
RUNS_NOTES_LIMIT = 100  # characters of a run's notes' first line, on the line under it


def run_listing(folder: Path) -> list[dict[str, Any]]:
    """Every run folder in ``folder`` (`RunRegistry.summaries`, unreadable folders included with status
    ``unreadable``; each run's latest values: `latest_values`), newest first by the ``created`` time the
    table shows, runs created at the same time by id, and those without a readable time last, by id
    (`registry.created_order`, as the Runs page lists them). Read only: nothing is written, nothing
    claimed. Raises `CLIError` when ``folder`` is no folder, or is a run's own folder (naming its parent)."""
    if not folder.is_dir():
        raise CLIError(f"no runs folder {str(folder)!r}: give a folder that holds run folders")
    if holds_run(folder):  # the run itself, not the folder of runs: the listing is its parent's
        given = os.path.normpath(folder)  # runs/mine -> runs, mine -> ., and . or .. by the real path
        if os.path.basename(given) in ("", ".", ".."):
            parent = str(folder.resolve().parent)
        else:
            parent = os.path.dirname(given) or os.curdir
        raise CLIError(
            f"{str(folder)!r} is the folder of run {folder.resolve().name!r}, not a folder of runs: list "
            f"the runs of its parent folder with `python -m gan_core runs {shlex.quote(parent)}`"
        )
    return RunRegistry(folder).summaries(unreadable=True)


def terminal_text(value: Any, limit: int | None = None) -> str:
    """A value from a run's files as one line a terminal shows as written: control characters (an escape
    sequence in a run's error could recolour or clear the screen) as Python writes them (``\\x1b``),
    cut to ``limit`` characters with "…"."""
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(value))
    if limit is not None and len(text) > limit:
        text = text[: limit - 1] + "…"
    return text


def _runs_table(rows: list[dict[str, Any]]) -> str:
    def number(value: float | None) -> str:
        return "-" if value is None else f"{value:.4g}"

    def created(stamp: str) -> str:  # in this machine's time zone, as the run ids are
        try:
            return dt.datetime.fromisoformat(stamp).astimezone().strftime("%Y-%m-%d %H:%M")
        except (TypeError, ValueError):
            return "-"

    # the settings that differ between the runs listed, as the Runs page's columns (`listing_settings`:
    # a sweep's lr_g and seed; `--filter` narrows them to what it swept), in one cell: "lr_g=0.001 seed=2"
    swept = listing_settings(rows)

    def settings(run_id: str) -> str:
        if not len(swept.columns):
            return ""
        values = swept.loc[run_id]
        cells = []
        for name in swept.columns:
            value = values[name]
            if isinstance(value, float) and math.isnan(value):
                continue  # (a run without it)
            shown = format(value, ".6g") if isinstance(value, float) else str(value)
            cells.append(f"{name}={shown}")
        return terminal_text(" ".join(cells), RUNS_WHAT_LIMIT)

    header = (
        *("run", "status", "step", "flags up", *RUNS_LATEST),
        *("quality (step)", "created", "source", "data · model · conditioning · loss"),
        *(("settings that differ",) if len(swept.columns) else ()),
    )
    lines: list[tuple[tuple[str, ...], list[str]]] = []
    for row in rows:
        steps = row.get("steps") or 0
        parts = (row.get("dataset"), row.get("model"), row.get("conditioning"), row.get("loss"))
        what = " · ".join(str(v) for v in parts if v)
        cells = (
            terminal_text(row["run_id"]),
            terminal_text(row.get("status", ""), 12),
            "-" if row["status"] == "unreadable" else f"{row.get('step', 0)}/{steps if steps else 'open'}",
            terminal_text(row.get("flags") or "-", RUNS_TEXT_LIMIT),
            *(number(row["last"].get(name)) for name in RUNS_LATEST),
            terminal_text(row["quality"] or "-"),
            created(row.get("created", "")),
            terminal_text(row.get("source") or "-", 12),
            terminal_text(what or "-", RUNS_WHAT_LIMIT),
            *((settings(row["run_id"]) or "-",) if len(swept.columns) else ()),
        )
        notes = [
            f"{label}: {terminal_text(row[key])}"
            for key, label in (("error", "error"), ("problems", "problems"))
            if row.get(key)
        ]
        if row.get("notes"):  # their first line (`notes RUN` prints them whole)
            notes.append(f"notes: {terminal_text(notes_line(str(row['notes']), RUNS_NOTES_LIMIT))}")
        lines.append((cells, notes))
    widths = [max(len(h), *(len(cells[i]) for cells, _ in lines)) for i, h in enumerate(header)]
    numeric = {2, *range(4, 4 + len(RUNS_LATEST))}  # right-aligned

    def line(cells: tuple[str, ...]) -> str:
        return "  ".join(
            c.rjust(w) if i in numeric else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths))
        ).rstrip()

    out = [line(header)]
    for cells, notes in lines:
        out.append(line(cells))
        out.extend(f"    {note}" for note in notes)
    return "\n".join(out)


COUNT_METRICS = ("modes_covered", "classes_covered")  # quality metrics that count: printed as integers


def runs_json(rows: list[dict[str, Any]]) -> str:
    """`run_listing`'s rows as JSON for programs: the flags as lists of names (the Runs page's text joins
    them with ", "), a row's step and other whole-number columns (``d_steps``) as integers, and so the
    counts of its latest evaluation (`COUNT_METRICS`)."""
    out = []
    for row in rows:
        row = dict(row)
        for key in ("flags", "flags_raised"):
            row[key] = [name for name in str(row.get(key) or "").split(", ") if name]
        # its settings, not its facts ("(loss)", "(source)", ...: the filter's names for the row's own
        # loss, source, dataset and model fields, which the object holds already)
        settings = row.get("settings") or {}
        row["settings"] = {k: v for k, v in settings.items() if not (k.startswith("(") and k.endswith(")"))}
        last = dict(row.get("last") or {})
        for key in ("step", "d_steps"):
            if isinstance(last.get(key), float) and last[key].is_integer():
                last[key] = int(last[key])
        row["last"] = last
        evaluated = dict(row.get("last_eval") or {})
        for key in COUNT_METRICS:  # counts: 8, as evaluate prints them, not 8.0
            if isinstance(evaluated.get(key), float) and evaluated[key].is_integer():
                evaluated[key] = int(evaluated[key])
        if row.get("last_eval") is not None:
            row["last_eval"] = evaluated
        out.append(row)
    return json.dumps(out, indent=1, default=str)


def cmd_runs(args: argparse.Namespace) -> int:
    rows = run_listing(args.folder)
    note = RunRegistry(args.folder).misnamed_note(terminal_text)
    if note:  # on stderr: the table and the JSON list keep their shape
        print(note, file=sys.stderr)
    kept = filter_runs(rows, args.filter) if args.filter else rows
    if rows and not kept:  # on stderr: the JSON list stays one ([])
        print(
            f"No run of the {len(rows)} in {terminal_text(args.folder)} matches "
            f"{terminal_text(args.filter)}. {terminal_text(filter_hint(rows, args.filter))}",
            file=sys.stderr,
        )
    if args.json:
        text = runs_json(kept)
    elif not rows:
        folder = terminal_text(args.folder)
        text = f"No runs in {folder}: train one with `python -m gan_core train --out {folder}`."
    elif not kept:
        return 0
    else:
        text = _runs_table(kept)
    return _write_out(text)


def cmd_notes(args: argparse.Namespace) -> int:
    """Print run ``args.run``'s notes (control characters written out, `terminal_text`, line breaks and
    tabs kept; none: said on stderr, stdout left empty), or set them or add to them
    (`RunRegistry.set_notes`: read and written under the folder's claim). ``-`` reads the text from
    standard input, which must hold some: an empty pipe (a command before it that failed) is refused,
    never read as "remove the notes"."""
    run = run_folder("RUN", args.run, default_runs_root())
    if args.text is not None and args.append is not None:
        raise CLIError("give TEXT (the new notes) or --append TEXT (added to them), not both")
    if args.text is None and args.append is None:
        notes = run.read_notes()
        shown = "\n".join("\t".join(map(terminal_text, line.split("\t"))) for line in notes.split("\n"))
        if not notes:  # (said on stderr: stdout stays empty, as `notes RUN > file` expects)
            how = f"python -m gan_core notes {shlex.quote(args.run)} TEXT"
            print(f"run {run.run_id!r} has no notes; to set them: {how}", file=sys.stderr)
            return 0
        return _write_out(shown)
    given = args.text if args.append is None else args.append
    if given == "-":
        if sys.stdin.isatty():
            print("Type the notes, then Ctrl-D on a line of its own:", file=sys.stderr)
        given = sys.stdin.read()
        if not given.strip():
            raise CLIError(
                "standard input held no text (did the command before the pipe fail?); to remove the "
                "notes, give '' as TEXT"
            )
    try:
        kept = RunRegistry(run.root).set_notes(run.run_id, given, append=args.append is not None)
    except RegistryError as exc:
        raise CLIError(str(exc)) from None
    count = f"{len(kept):,} character{'s' if len(kept) != 1 else ''}"
    said = f"notes set ({count})" if kept else "notes removed"
    print(f"run {run.run_id!r}: {said}", file=sys.stderr)
    return 0


def _write_out(text: str) -> int:
    """Print ``text`` and flush it; 0, or 1 when the reader went away first (`runs --json | head`), said
    nowhere: the recipe of Python's signal module documentation ("Note on SIGPIPE"), the flush inside, so
    that the broken pipe is met here and not in the interpreter's own flush at exit."""
    try:
        print(text)
        sys.stdout.flush()
    except BrokenPipeError:
        # Python flushes stdout again at exit, which would meet the same error: point it at devnull
        with contextlib.suppress(OSError, ValueError):  # (a stdout with no file descriptor: nothing to do)
            devnull = os.open(os.devnull, os.O_WRONLY)
            try:
                os.dup2(devnull, sys.stdout.fileno())
            finally:
                os.close(devnull)
        return 1
    return 0


def _a_bad_value(exc: Exception) -> bool:
    """True for a `ConfigError` about a config field's value (not an unknown field of a --config file, nor
    a field a continued run cannot change, `ConfigChangeError`): the error names the option that sets it."""
    fields = {field.name for field in dataclasses.fields(GANConfig)}
    return isinstance(exc, ConfigError) and not isinstance(exc, ConfigChangeError) and exc.field in fields


def _flag_of(args: argparse.Namespace, field: str) -> str | None:
    """The option of ``args``'s command that sets config field ``field`` (``data_path`` ->
    ``--data-path``), read from the command's usage line; None where it has none."""
    flag = "--" + field.replace("_", "-")
    usage = args.command_parser.format_usage()
    return flag if re.search(rf"(\[|\| ){re.escape(flag)}[ \]]", usage) else None


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        commands = {
            "train": cmd_train,
            "sample": cmd_sample,
            "evaluate": cmd_evaluate,
            "runs": cmd_runs,
            "notes": cmd_notes,
        }
        return commands[args.command](args)
    except (CLIError, ConfigError, DataError, RunDirError, DistributedError, ValueError) as exc:
        # One line whatever the message holds (torch's own load errors span several); under torchrun a
        # job that cannot start (a device this machine lacks) says so on each rank the same way. A config
        # value names the option that sets it ("data_path='' is invalid ... (set with --data-path)").
        flag = _flag_of(args, exc.field) if _a_bad_value(exc) else None
        said = f" (set with {flag})" if flag and flag not in str(exc) else ""
        print(f"error: {' '.join(str(exc).split())}{said}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as exc:  # a path that cannot be written or read (a file where a folder should be, ...)
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"error: {where}{exc.strerror or exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:  # before training starts (data loading, sampling, scoring): one line
        print(f"interrupted (Ctrl-C) during {args.command}", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    if signal.getsignal(signal.SIGINT) is _interrupted_while_loading:  # loaded: main() says a Ctrl-C now
        signal.signal(signal.SIGINT, signal.default_int_handler)
    sys.exit(main())
