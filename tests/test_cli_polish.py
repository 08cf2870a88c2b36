"""The command line as its help and README describe it: every README example names only folders an
earlier example makes, `runs` is ordered by the time it shows, every help gives its defaults, `--resume`'s
help says what a resume does, `evaluate --run` names the step it scored, and a float field too small for
float32 (training's precision) is refused, not trained as 0."""

import argparse
import datetime as dt
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from gan_core.__main__ import build_parser
from gan_core.config import FLOAT32_TINY, MUTABLE_FIELDS, ConfigError, GANConfig
from gan_core.rundir import RunDir

ROOT = Path(__file__).resolve().parents[1]
TINY = ["--width", "16", "--latent-dim", "4", "--batch-size", "16", "--device", "cpu", "--quiet"]


def readme_cli_commands() -> list[str]:
    """The commands of README's "Command line" code block, continuation lines joined, comments cut."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Command line\n", 1)[1]
    block = section.split("```bash\n", 1)[1].split("\n```", 1)[0]
    commands: list[str] = []
    pending = ""
    for line in block.splitlines():
        line = pending + line
        if line.rstrip().endswith("\\"):
            pending = line.rstrip()[:-1] + " "
            continue
        pending = ""
        words = shlex.split(line, comments=True)
        if words:
            commands.append(shlex.join(words))
    return commands


def test_every_readme_example_parses_and_names_only_runs_an_earlier_one_makes():
    commands = readme_cli_commands()
    assert len(commands) >= 12 and all(c.startswith("python -m gan_core ") for c in commands)
    made: set[str] = set()
    named: list[str] = []
    for command in commands:
        argv = shlex.split(command)[3:]
        if argv == ["--help"] or argv[-1:] == ["--help"]:
            continue
        args = build_parser().parse_args(argv)  # argparse exits on an option that does not exist
        if args.command == "train" and getattr(args, "run_id", None) is not None:
            made.add(args.run_id)
        # a run's folder in runs/, or its run id (a name alone: looked up in runs/)
        runs = [
            str(v) for name in ("resume", "rewind", "run") if (v := getattr(args, name, None)) is not None
        ]
        runs = [run.removeprefix("runs/") for run in runs if run.startswith("runs/") or "/" not in run]
        if args.command == "train" and args.config is not None and str(args.config).startswith("runs/"):
            runs.append(args.config.parent.name)
        for name in runs:
            named.append(name)
            assert name in made, f"{command}: no example before it makes runs/{name}"
    assert {"ring8", "conditional-digits"} <= set(named)  # (what this test is about is still there)


def test_the_readme_names_runs_by_a_run_id_given_or_says_how_to_find_them():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    # each `--run runs/NAME` anywhere in the README is a run the Command line section makes by name
    made = {
        shlex.split(c)[shlex.split(c).index("--run-id") + 1] for c in readme_cli_commands() if "--run-id" in c
    }
    for name in re.findall(r"--(?:run|resume|rewind) runs/([A-Za-z0-9._-]+)", text):
        assert name in made or name in ("ID", "NAME", "r"), name


def _run(root: Path, run_id: str, created: str | None, mtime: float) -> None:
    """A run folder (nothing trained) whose status.json says ``created`` (left out when None) and whose
    folder was modified at ``mtime``."""
    RunDir.create(root, GANConfig(dataset="ring8"), run_id).release()
    status_file = root / run_id / "status.json"
    status = json.loads(status_file.read_text())
    status.pop("created")
    if created is not None:
        status["created"] = created
    status_file.write_text(json.dumps(status))
    os.utime(root / run_id, (mtime, mtime))


def test_runs_are_listed_newest_first_by_the_created_time_shown_then_by_id(tmp_path, cli):
    root = tmp_path / "runs"
    # Folder times in the opposite order (an old run resumed today is the newest folder)
    _run(root, "new", "2026-06-01T12:00:00.000+00:00", mtime=1_000)
    _run(root, "tie-b", "2026-03-01T12:00:00.000+00:00", mtime=2_000)
    _run(root, "tie-a", "2026-03-01T13:00:00.000+01:00", mtime=3_000)  # the same instant in another zone
    _run(root, "old", "2026-01-01T12:00:00.000+00:00", mtime=4_000)
    _run(root, "no-time", None, mtime=5_000)
    _run(root, "bad-time", "yesterday", mtime=6_000)
    expected = ["new", "tie-a", "tie-b", "old", "bad-time", "no-time"]

    listed = cli("runs", str(root), "--json")
    assert listed.returncode == 0, listed.stderr
    assert [row["run_id"] for row in json.loads(listed.stdout)] == expected
    table = cli("runs", str(root))
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()[1:]
    assert [line.split()[0] for line in lines if not line.startswith(" ")] == expected
    created = {line.split()[0]: line for line in lines}
    local = dt.datetime.fromisoformat("2026-06-01T12:00:00+00:00").astimezone()
    assert local.strftime("%Y-%m-%d %H:%M") in created["new"]  # the time it is ordered by is the one shown
    assert "newest first by its created time (then by id)" in " ".join(cli("runs", "--help").stdout.split())


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(sub.choices)


@pytest.mark.parametrize("name", ["train", "sample", "evaluate", "runs"])
def test_every_option_with_a_default_says_it_in_its_help(name):
    parser = _subcommands()[name]
    with_default = [
        action
        for action in parser._actions
        if action.help not in (None, argparse.SUPPRESS)
        and not isinstance(action, argparse._HelpAction)
        and action.default not in (None, False, argparse.SUPPRESS)
    ]
    config_flags = [
        a
        for a in parser._actions
        if a.default is argparse.SUPPRESS and a.dest in GANConfig.__dataclass_fields__
    ]
    assert with_default or name == "train"
    for action in with_default + config_flags:
        assert "(default: " in action.help, (name, action.option_strings or action.dest)


def test_help_shows_the_default_values(cli):
    sample = " ".join(cli("sample", "--help").stdout.split())
    for words in ("number of samples, 1..100000 (default: 1000)", "(default: 0)", "(default: its latest)",
                  "(default: the classes in turn"):  # fmt: skip
        assert words in sample
    evaluate = " ".join(cli("evaluate", "--help").stdout.split())
    for words in ("per class, 1 to the training split's smallest class (default: 10)",
                  "in the augmentation probe, 1 to 10,000 (default: 100)",
                  "the dataset's own (default: 0)"):  # fmt: skip
        assert words in evaluate
    train = " ".join(cli("train", "--help").stdout.split())
    assert "(default: 0.0002)" in train and "(default: 'digits')" in train


def test_resume_help_says_what_a_resume_does(cli):
    train = " ".join(cli("train", "--help").stdout.split())
    resume = train.split("--resume DIR ", 1)[1].split(" --rewind DIR ", 1)[0]
    for words in (
        "in that folder, from its latest checkpoint",
        "a finished one given a larger --steps",
        "metric rows, snapshots and checkpoints after it are dropped and trained again",
        "Its config is kept",
        "each change an hparam event",
        "--device (auto unless given",
        "Refused while another process trains DIR",
    ):
        assert words in resume, words
    for field in MUTABLE_FIELDS:
        assert re.search(rf"\b{field}\b", resume), field


def test_resume_does_what_its_help_says(tmp_path, cli):
    root = tmp_path / "runs"
    made = cli("train", "--dataset", "ring8", "--steps", "10", "--checkpoint-every", "4", "--out", str(root),
               "--run-id", "r", *TINY)  # fmt: skip
    assert made.returncode == 0, made.stderr
    run = root / "r"
    # a finished run needs a larger --steps
    assert (
        "has trained its steps=10: give a steps above 10"
        in cli("train", "--resume", str(run), "--quiet").stderr
    )
    (run / "checkpoints" / "step_00000010.pt").unlink()  # as if it had stopped after step 8's checkpoint
    resumed = cli("train", "--resume", str(run), "--steps", "12", "--lr-d", "1e-3", "--quiet")
    assert resumed.returncode == 0, resumed.stderr
    steps = [int(line.split(",")[0]) for line in (run / "metrics.csv").read_text().splitlines()[1:]]
    assert steps == list(range(1, 13))  # 9 and 10 dropped and trained again, no step twice
    hparams = [line for line in (run / "events.csv").read_text().splitlines() if ",hparam," in line]
    assert [line.split(",")[3] for line in hparams] == ["lr_d: 0.0002 -> 0.001", "steps: 10 -> 12"]


def test_evaluate_names_the_run_checkpoint_and_step_it_scored(tmp_path, cli):
    root = tmp_path / "runs"
    made = cli("train", "--dataset", "ring8", "--steps", "12", "--checkpoint-every", "4", "--out", str(root),
               "--run-id", "r", *TINY)  # fmt: skip
    assert made.returncode == 0, made.stderr
    latest = cli("evaluate", "--run", str(root / "r"))
    assert latest.returncode == 0, latest.stderr
    got = json.loads(latest.stdout)
    assert list(got)[:5] == ["run", "checkpoint", "step", "dataset", "n_samples"]
    assert (got["dataset"], got["checkpoint"], got["step"]) == ("ring8", "step_00000012.pt", 12)
    assert Path(got["run"]) == (root / "r").resolve()
    # and how well that checkpoint's D tells the run's real points from its G's, as the Probe page's
    # "Real against G's" measures it on the same samples
    from gan_core import probe
    from gan_core.rundir import RunDir

    run_dir = RunDir.open(root, "r")
    models = probe.checkpoint_models(run_dir, run_dir.latest_checkpoint())
    real, labels = probe.real_labelled(run_dir, models.cfg, 512)
    found = probe.separation(models, real, labels)
    assert got["d_separation"] == {
        "auc": pytest.approx(found.auc, abs=1e-12),
        "d_acc_real": pytest.approx(found.acc_real, abs=1e-12),
        "d_acc_fake": pytest.approx(found.acc_fake, abs=1e-12),
        "samples": 512,
    }
    assert 0.0 <= got["d_separation"]["auc"] <= 1.0
    older = root / "r" / "checkpoints" / "step_00000008.pt"
    got = json.loads(cli("evaluate", "--run", str(root / "r"), "--checkpoint", str(older)).stdout)
    assert (got["checkpoint"], got["step"]) == ("step_00000008.pt", 8)
    assert got["d_separation"]["samples"] == 512  # (the older checkpoint's D)
    # samples from elsewhere have no run nor step
    assert cli("sample", "--run", str(root / "r"), "--out", str(tmp_path / "s.csv")).returncode == 0
    scored = json.loads(cli("evaluate", "--dataset", "ring8", "--samples", str(tmp_path / "s.csv")).stdout)
    assert not {"run", "checkpoint", "step"} & set(scored) and scored["n_samples"] == 1000


def test_a_bad_run_id_is_refused_before_the_data_loads(tmp_path, cli):
    for run_id in ("a b", "../x", ".hidden"):
        # mnist from a folder without it: the data would fail to load, but the run id is said first
        res = cli("train", "--dataset", "mnist", "--data-path", str(tmp_path / "none"), "--out",
                  str(tmp_path / "runs"), "--run-id", run_id, *TINY)  # fmt: skip
        assert res.returncode == 2 and res.stderr.startswith(
            f"error: run id {run_id!r} is invalid: use 1-100"
        )
        assert len(res.stderr.splitlines()) == 1
    assert not (tmp_path / "runs").exists()


def test_a_run_id_taken_is_refused_before_the_data_loads(tmp_path, cli):
    (tmp_path / "runs" / "taken").mkdir(parents=True)
    res = cli("train", "--dataset", "mnist", "--data-path", str(tmp_path / "none"), "--out",
              str(tmp_path / "runs"), "--run-id", "taken", *TINY)  # fmt: skip
    assert res.returncode == 2 and res.stderr == (
        f"error: run 'taken' already exists in {str(tmp_path / 'runs')!r}: choose another run id, or "
        f"continue it with --resume {tmp_path / 'runs' / 'taken'}\n"
    )
    assert [p.name for p in (tmp_path / "runs").iterdir()] == ["taken"]


BELOW = (
    "is below float32's smallest normal number (1.18e-38), the precision training runs in (it would train "
)
BELOW += "as 0 or imprecisely); allowed"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("lr_g", 1e-50, f"lr_g=1e-50 {BELOW} a number in [1.18e-38, 1.0]"),
        ("lr_d", 1e-39, f"lr_d=1e-39 {BELOW} a number in [1.18e-38, 1.0]"),  # a float32 subnormal
        ("clip_value", 5e-324, f"clip_value=5e-324 {BELOW} a number in [1.18e-38, 10.0]"),
        ("gp_weight", 1e-50, f"gp_weight=1e-50 {BELOW} 0 or a number in [1.18e-38, 1000.0]"),
        ("instance_noise", 1e-40, f"instance_noise=1e-40 {BELOW} 0 or a number in [1.18e-38, 10.0]"),
        ("ms_weight", 1e-300, f"ms_weight=1e-300 {BELOW} 0 or a number in [1.18e-38, 100.0]"),
        ("beta1", 1e-45, f"beta1=1e-45 {BELOW} 0 or a number in [1.18e-38, 1)"),
        ("label_smoothing", 1e-39, f"label_smoothing=1e-39 {BELOW} 0 or a number in [1.18e-38, 0.5)"),
        # below the excluded upper end, but that end in float32
        (
            "beta2",
            0.99999999,
            "beta2=0.99999999 is 1 in float32, the precision training runs in; allowed a "
            "number in [0, 0.99999994]",
        ),  # fmt: skip
        (
            "label_smoothing",
            0.49999999999,
            "label_smoothing=0.49999999999 is 0.5 in float32, the precision "
            "training runs in; allowed a number in [0, 0.49999997]",
        ),  # fmt: skip
    ],
)
def test_a_float_field_float32_cannot_hold_is_refused_with_the_range(field, value, message):
    assert torch.tensor(value, dtype=torch.float32).item() != value  # (what float32 makes of it differs)
    with pytest.raises(ConfigError) as info:
        GANConfig.from_dict({field: value})
    assert str(info.value) == message and info.value.field == field


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("lr_g", FLOAT32_TINY),
        ("lr_g", 1.18e-38),  # the bound the message states
        ("lr_d", 1e-30),
        ("gp_weight", 0.0),
        ("beta1", 0.0),
        ("beta2", 0.99999994),
        ("label_smoothing", 0.49999997),
        ("clip_value", 1e-37),
    ],
)
def test_a_float_field_float32_holds_is_accepted_and_trains_as_itself(field, value):
    cfg = GANConfig.from_dict({field: value})
    as32 = torch.tensor(getattr(cfg, field), dtype=torch.float32).item()
    assert as32 == pytest.approx(value, rel=1e-7, abs=0.0) and (as32 != 0) == (value != 0)
    high = {"beta1": 1.0, "beta2": 1.0, "label_smoothing": 0.5}.get(field)
    assert high is None or as32 < high


def test_train_refuses_a_learning_rate_that_is_0_in_float32_and_makes_nothing(tmp_path, cli):
    res = cli("train", "--lr-g", "1e-50", "--out", str(tmp_path / "runs"), "--run-id", "r", *TINY)
    assert res.returncode == 2 and res.stdout == ""
    assert res.stderr == f"error: lr_g=1e-50 {BELOW} a number in [1.18e-38, 1.0] (set with --lr-g)\n"
    assert not (tmp_path / "runs").exists()


def test_a_reader_that_goes_away_ends_the_listing_quietly(tmp_path):
    """`runs --json | head`: the pipe's reader closes it before the listing is written; the command ends
    without a word on stderr (it said "error: Broken pipe" and exited as for bad input)."""
    (tmp_path / "runs").mkdir()
    read_end, write_end = os.pipe()
    os.close(read_end)  # gone before anything is written: the first write fails with EPIPE
    try:
        done = subprocess.run(
            [sys.executable, "-m", "gan_core", "runs", str(tmp_path / "runs"), "--json"],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            timeout=120,
            env={k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"},  # stdout buffered, as usual
        )
    finally:
        os.close(write_end)
    assert (done.returncode, done.stderr) == (1, "")


def test_the_own_loop_example_is_under_100_lines_as_the_readme_says():
    """Issue 12's bound for examples/own_dcgan.py, and the count the README gives of it (it said 99 while
    the file had grown to 104)."""
    lines = len((ROOT / "examples" / "own_dcgan.py").read_text(encoding="utf-8").splitlines())
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    said = re.search(r"examples/own_dcgan\.py`?\]\(examples/own_dcgan\.py\), (\d+) lines", readme)
    assert said is not None and int(said.group(1)) == lines < 100


def test_a_config_value_refused_names_the_option_that_sets_it(tmp_path, cli):
    """A newcomer's `train --dataset points` without its CSV read "data_path='' is invalid", the config
    field's name, which no option of the command has; the error now names --data-path, from a flag or
    from a --config file alike, and a field with no option of its own is said as before."""
    missing = cli("train", "--dataset", "points", "--steps", "5", "--out", str(tmp_path), *TINY)
    assert missing.returncode == 2
    assert missing.stderr == (
        "error: data_path='' is invalid: allowed the path of a CSV file of 2D points (set with --data-path)\n"
    )
    config = tmp_path / "c.json"
    config.write_text(json.dumps({"lr_g": 5.0}))
    from_file = cli("train", "--config", str(config), "--out", str(tmp_path), *TINY)
    assert from_file.returncode == 2
    said = "lr_g=5.0 is invalid: allowed a number in (0.0, 1.0] (set with --lr-g)\n"
    assert from_file.stderr.endswith(said)
    assert from_file.stderr.count("\n") == 1
    for unknown_field in ("no_such_field", "out"):  # (--out is an option, never a config field)
        config.write_text(json.dumps({unknown_field: 1}))
        unknown = cli("train", "--config", str(config), "--out", str(tmp_path), *TINY)
        assert unknown.returncode == 2 and "(set with" not in unknown.stderr
        assert unknown.stderr.startswith(f"error: unknown field '{unknown_field}'")
    first = cli("train", "--dataset", "ring8", "--steps", "2", "--out", str(tmp_path), "--run-id", "r", *TINY)
    assert first.returncode == 0, first.stderr
    changed = cli("train", "--resume", str(tmp_path / "r"), "--width", "32", "--steps", "4", "--quiet")
    assert changed.returncode == 2 and "width=32 cannot change when a run continues" in changed.stderr
    assert "(set with" not in changed.stderr  # (the option is there; the change is what a resume refuses)


def test_trains_progress_bar_draws_each_step_with_the_values_of_that_step(tmp_path, cli):
    """The last two drawings of the bar both read 100% with other losses and accuracies (the update drew
    the postfix of the poll before; closing drew the new one): a newcomer read a log of them as a glitch."""
    done = cli("train", "--dataset", "ring8", "--steps", "60", "--width", "16", "--batch-size", "16",
               "--checkpoint-every", "0", "--out", str(tmp_path), "--run-id", "bar")  # fmt: skip
    assert done.returncode == 0, done.stderr
    finals = [part for part in re.split(r"[\r\n]", done.stderr) if "60/60" in part]
    assert finals  # the last update (when tqdm draws it), then close()
    postfixes = {part.rsplit("step/s", 1)[-1] for part in finals}
    assert len(postfixes) == 1 and "d_loss=" in next(iter(postfixes)), finals
