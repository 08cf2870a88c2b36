"""The command line end to end on tiny budgets, in a subprocess like a user runs it."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gan_core.registry import RunRegistry

ROOT = Path(__file__).resolve().parents[1]
TINY = ["--width", "16", "--latent-dim", "4", "--batch-size", "16", "--device", "cpu", "--quiet"]


def subprocess_cli(*args):
    """As a user runs it: a fresh interpreter (slow to import torch, so used once)."""
    return subprocess.run(
        [sys.executable, "-m", "gan_core", *args], capture_output=True, text=True, timeout=120, cwd=ROOT
    )


def test_help_documents_every_subcommand_and_flag(cli):
    top = cli("--help")
    assert top.returncode == 0 and all(name in top.stdout for name in ("train", "sample", "evaluate", "runs"))
    train = cli("train", "--help").stdout
    for flag in ("--dataset", "--loss", "--lr-g", "--d-steps", "--steps", "--seed", "--config", "--out",
                 "--run-id", "--spectral-norm", "--gp-weight", "--instance-noise", "--device"):  # fmt: skip
        assert flag in train
    assert "wgan-gp" in train
    assert "--n" in cli("sample", "--help").stdout


def test_train_then_sample_points(tmp_path, cli):
    out = subprocess_cli(
        "train", "--dataset", "ring8", "--loss", "wgan-gp", "--steps", "20", "--seed", "0", "--lr-g", "1e-4",
        "--d-steps", "2", "--out", str(tmp_path / "runs"), "--run-id", "r", *TINY,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    run = Path(out.stdout.strip().splitlines()[-1])
    assert run == (tmp_path / "runs" / "r").resolve()
    config = json.loads((run / "config.json").read_text())
    assert config["loss"] == "wgan-gp" and config["lr_g"] == 1e-4 and config["d_steps"] == 2
    metrics = pd.read_csv(run / "metrics.csv")
    assert len(metrics) == 20 and (metrics["d_steps"] == 2).all()
    for suffix in ("csv", "npy"):
        target = tmp_path / f"s.{suffix}"
        res = cli("sample", "--run", str(run), "--n", "50", "--out", str(target))
        assert res.returncode == 0, res.stderr
    assert pd.read_csv(tmp_path / "s.csv").shape == (50, 2)
    assert np.load(tmp_path / "s.npy").shape == (50, 2)
    bad = cli("sample", "--run", str(run), "--n", "5", "--out", str(tmp_path / "s.png"))
    assert bad.returncode == 2 and "2D points" in bad.stderr


def test_train_with_config_file_and_sample_images(tmp_path, cli):
    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps({"dataset": "digits", "steps": 6, "loss": "hinge", "width": 16}))
    out = cli("train", "--config", str(cfg), "--steps", "4", "--out", str(tmp_path), "--run-id", "img", *TINY)
    assert out.returncode == 0, out.stderr
    run = tmp_path / "img"
    assert json.loads((run / "config.json").read_text())["steps"] == 4  # the flag wins over the file
    assert cli("sample", "--run", str(run), "--n", "9", "--out", str(tmp_path / "g.png")).returncode == 0
    assert cli("sample", "--run", str(run), "--n", "9", "--out", str(tmp_path / "g.npy")).returncode == 0
    images = np.load(tmp_path / "g.npy")
    assert images.shape == (9, 1, 8, 8) and images.min() >= 0.0 and images.max() <= 1.0


@pytest.mark.parametrize(
    "args,message",
    [
        (["--lr-g", "5"], "lr_g=5.0 is invalid"),
        (["--dataset", "points"], "data_path"),
        (["--dataset", "points", "--data-path", "/nope.csv"], "/nope.csv"),
        (["--run-id", "../escape"], "run id '../escape' is invalid"),
        (["--device", "cuda:7"], "cuda:7"),
        (["--config", "/nope.json"], "--config /nope.json: cannot read"),
    ],
)
def test_bad_input_exits_nonzero_with_one_line(tmp_path, cli, args, message):
    res = cli("train", "--steps", "2", "--out", str(tmp_path / "runs"), *TINY, *args)
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0]
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_bad_config_file_and_unknown_choice(tmp_path, cli):
    cfg = tmp_path / "c.json"
    cfg.write_text('{"dataset": "ring8", "learning_rate": 1}')
    res = cli("train", "--config", str(cfg), "--out", str(tmp_path), *TINY)
    assert res.returncode == 2 and "unknown field 'learning_rate'" in res.stderr
    res = cli("train", "--loss", "l1", *TINY)
    assert res.returncode == 2 and "invalid choice" in res.stderr
    for argv in (("train", "--dataset", "ring9"), ("train", "--steps", "many"), ("nonsense",)):
        res = cli(*argv)  # argparse's own errors: one line too, with where the flags are listed
        assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1, res.stderr
        assert res.stderr.startswith("error: ") and res.stderr.rstrip().endswith("--help)")
    assert "invalid choice: 'ring9'" in cli("train", "--dataset", "ring9").stderr


def test_sample_errors(tmp_path, cli):
    assert "no such run folder" in cli("sample", "--run", str(tmp_path / "x"), "--out", "a.csv").stderr
    res = cli("sample", "--run", str(tmp_path), "--out", str(tmp_path / "a.txt"))
    assert res.returncode == 2 and "allowed .csv, .npy, .png" in res.stderr
    # a file in a folder that is not there, a folder named like a file, a seed out of range: one line each
    # (they were a FileNotFoundError, an IsADirectoryError traceback, "Overflow when unpacking long long")
    (tmp_path / "d.csv").mkdir()
    for out, seed, message in [
        (tmp_path / "nodir" / "x.csv", "0", f"folder {tmp_path / 'nodir'} does not exist"),
        (tmp_path / "d.csv", "0", "is a folder: give a file name ending .csv, .npy or .png"),
        (tmp_path / "x.csv", str(2**80), f"--seed {2**80} is invalid: allowed 0..2147483647"),
    ]:
        res = cli("sample", "--run", str(tmp_path), "--out", str(out), "--seed", seed)
        lines = res.stderr.strip().splitlines()
        assert res.returncode == 2 and len(lines) == 1 and message in lines[0], res.stderr
    assert not (tmp_path / "x.csv").exists()


def test_train_into_a_file_says_so_and_writes_nothing(tmp_path, cli):
    (tmp_path / "afile").write_text("mine")
    for out in (tmp_path / "afile", tmp_path / "afile" / "sub"):
        res = cli("train", "--steps", "2", "--out", str(out), *TINY)
        lines = res.stderr.strip().splitlines()
        assert res.returncode == 2 and len(lines) == 1, res.stderr
        assert lines[0] == f"error: --out {out}: {tmp_path / 'afile'} is a file; give a folder for the runs"
    assert (tmp_path / "afile").read_text() == "mine"


def test_a_resume_from_an_earlier_checkpoint_leaves_tensorboard_one_history(tmp_path, cli):
    from tensorboard.backend.event_processing.plugin_event_accumulator import EventAccumulator

    root = tmp_path / "runs"
    res = cli("train", "--dataset", "ring8", "--steps", "10", "--checkpoint-every", "4", "--tensorboard",
              "--out", str(root), "--run-id", "r", *TINY)  # fmt: skip
    assert res.returncode == 0, res.stderr
    run = root / "r"
    (run / "checkpoints" / "step_00000010.pt").unlink()  # as if killed between checkpoints 8 and 10
    res = cli("train", "--resume", str(run), "--steps", "12", "--tensorboard", *TINY)
    assert res.returncode == 0, res.stderr
    rows = pd.read_csv(run / "metrics.csv")
    assert rows["step"].tolist() == list(range(1, 13))
    # steps 9 and 10 of the first writer are purged at the resumed writer's start (purge_step 9)
    accumulator = EventAccumulator(str(run / "tensorboard"))
    accumulator.Reload()
    g_loss = accumulator.Tensors("losses/g_loss")
    assert [e.step for e in g_loss] == list(range(1, 13))
    assert [e.step for e in accumulator.Tensors("status/text_summary")] == [12]


def test_a_resumed_tensorboard_writer_sorts_after_the_earlier_ones_started_the_same_second(tmp_path):
    """CI: a resume within the second of its first writer made an event file whose name sorted first
    (counter 10 before 9), and TensorBoard read the restart as the older history. The sink now starts
    its file in a later second than any there."""
    import os
    import time

    from torch.utils.tensorboard import SummaryWriter  # noqa: F401  (imported first: a second or two)

    from gan_core.tracking.sink import TensorBoardSink

    now = int(time.time())
    earlier = tmp_path / f"events.out.tfevents.{now}.host.99999.9"
    earlier.write_bytes(b"")
    sink = TensorBoardSink(tmp_path, purge_step=5)
    sink.writer.flush()
    ours = [n for n in os.listdir(tmp_path) if n.startswith("events.out.tfevents.") and n != earlier.name]
    assert len(ours) == 1 and int(ours[0].split(".")[3]) > now
    assert sorted([earlier.name, ours[0]]) == [earlier.name, ours[0]]  # TensorBoard's order: ours last
    sink.finalize("finished")


def test_resume_and_rewind_from_the_command_line(tmp_path, cli):
    root = tmp_path / "runs"
    res = cli("train", "--dataset", "ring8", "--steps", "12", "--checkpoint-every", "4", "--seed", "1",
              "--out", str(root), "--run-id", "r", *TINY)  # fmt: skip
    assert res.returncode == 0, res.stderr
    run = root / "r"

    def fails(*args):
        res = cli("train", *args)
        assert res.returncode == 2
        lines = res.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ")
        return lines[0]

    assert "has trained its steps=12: give a steps above 12" in fails("--resume", str(run), "--quiet")
    assert "width=32 cannot change when a run continues" in fails("--resume", str(run), "--width", "32")
    assert "--config cannot be used with --resume" in fails("--resume", str(run), "--config", "c.json")
    assert "--run-id cannot be used with --resume" in fails("--resume", str(run), "--run-id", "x")
    assert "--from-step goes with --rewind" in fails("--from-step", "4", "--out", str(root))
    assert "no such run folder" in fails("--resume", str(tmp_path / "nope"))
    assert "kept steps 4, 8, 12" in fails("--rewind", str(run), "--from-step", "5", "--steps", "20")
    assert cli("train", "--resume", str(run), "--rewind", str(run)).returncode == 2  # one or the other

    res = cli("train", "--resume", str(run), "--steps", "16", "--lr-g", "1e-3", "--quiet")
    assert res.returncode == 0, res.stderr
    metrics = pd.read_csv(run / "metrics.csv")
    assert metrics["step"].tolist() == list(range(1, 17))
    assert (metrics["lr_g"] == [2e-4] * 12 + [1e-3] * 4).all()
    events = pd.read_csv(run / "events.csv")
    assert set(events.query("kind == 'hparam'").detail) == {"steps: 12 -> 16", "lr_g: 0.0002 -> 0.001"}

    before = {p: p.read_bytes() for p in run.rglob("*") if p.is_file()}
    res = cli("train", "--rewind", str(run), "--from-step", "12", "--run-id", "b", "--steps", "14", "--quiet")
    assert res.returncode == 0, res.stderr
    assert Path(res.stdout.strip().splitlines()[-1]) == (root / "b").resolve()
    status = json.loads((root / "b" / "status.json").read_text())
    assert (status["status"], status["parent"], status["parent_step"], status["step"]) == (
        "finished",
        "r",
        12,
        14,
    )
    branch = pd.read_csv(root / "b" / "metrics.csv")
    assert branch["step"].tolist() == list(range(1, 15))
    pd.testing.assert_frame_equal(branch.iloc[:12], metrics.iloc[:12])
    assert {p: p.read_bytes() for p in run.rglob("*") if p.is_file()} == before  # the parent untouched


def test_train_writes_to_the_dashboards_runs_folder_when_one_is_set(tmp_path, cli, monkeypatch):
    shared = tmp_path / "shared-runs"
    monkeypatch.setenv("GAN_DASHBOARD_RUNS", str(shared))
    monkeypatch.chdir(tmp_path)  # not the app folder: the run must still land where the dashboard looks
    res = cli("train", "--dataset", "ring8", "--steps", "5", "--run-id", "cli-run", *TINY)
    assert res.returncode == 0, res.stderr
    assert Path(res.stdout.strip().splitlines()[-1]) == (shared / "cli-run").resolve()
    assert not (tmp_path / "runs").exists()
    assert [(r["run_id"], r["status"], r["step"]) for r in RunRegistry(shared).summaries()] == [
        ("cli-run", "finished", 5)
    ]
    monkeypatch.delenv("GAN_DASHBOARD_RUNS")
    res = cli("train", "--dataset", "ring8", "--steps", "3", "--run-id", "here", *TINY)
    assert res.returncode == 0, res.stderr
    assert Path(res.stdout.strip().splitlines()[-1]) == (tmp_path / "runs" / "here").resolve()


def test_sample_and_evaluate_of_a_run_from_a_users_own_loop_say_why_it_has_no_checkpoint(tmp_path, cli):
    import torch

    import gan_core.track as track

    with track.init("mine", root=tmp_path, loss="nonsaturating") as run:
        for _ in range(3):
            run.d_step(torch.randn(4, 1), torch.randn(4, 1), d_loss=1.0)
            run.g_step(0.5)
    for argv in (("sample", "--out", str(tmp_path / "x.png")), ("evaluate",)):
        out = cli(*argv, "--run", str(tmp_path / "mine"))
        assert out.returncode == 2
        assert "a user's own training loop through gan_core.track, which keeps no checkpoints" in out.stderr
        assert "need a run of the built-in trainer" in out.stderr
        assert len(out.stderr.strip().splitlines()) == 1


def test_runs_lists_each_run_with_its_latest_row_and_shows_file_text_as_text(tmp_path, cli, monkeypatch):
    root = tmp_path / "runs"
    for run_id, steps in (("first", "12"), ("second", "20")):  # the second evaluated at steps 8 and 16
        trained = cli(
            "train", "--steps", steps, "--eval-every", "8", "--out", str(root), "--run-id", run_id, *TINY
        )
        assert trained.returncode == 0, trained.stderr
    status = json.loads((root / "first" / "status.json").read_text())
    # text from a file that a terminal would obey: an escape sequence that clears the screen and recolours
    status.update(status="failed", error="boom\x1b[2J\x1b[31m red\nsecond line")
    (root / "first" / "status.json").write_text(json.dumps(status))
    (root / "cut").mkdir()  # looks like a run, cannot be read
    (root / "cut" / "run.json").write_text("{torn")

    listed = cli("runs", str(root), "--json")
    assert listed.returncode == 0, listed.stderr
    rows = {row["run_id"]: row for row in json.loads(listed.stdout)}
    assert set(rows) == {"first", "second", "cut"}
    assert (
        rows["cut"]["status"] == "unreadable"
        and "run.json" in rows["cut"]["error"]
        and rows["cut"]["last"] == {}
    )
    for run_id, steps in (("first", 12), ("second", 20)):
        row, last_row = rows[run_id], pd.read_csv(root / run_id / "metrics.csv").iloc[-1]
        assert (
            row["step"] == row["steps"] == steps and row["dataset"] == "digits" and row["source"] == "trainer"
        )
        assert row["last"]["step"] == steps and isinstance(row["last"]["step"], int)
        assert isinstance(row["last"]["d_steps"], int) and isinstance(row["flags_raised"], list)
        assert all(isinstance(name, str) and ", " not in name for name in row["flags_raised"])
        for name in ("d_loss", "g_loss", "d_acc_real", "d_acc_fake", "d_grad_norm"):
            assert row["last"][name] == pytest.approx(last_row[name], rel=1e-9, abs=1e-12)
        assert all(np.isfinite(v) for v in row["last"].values())  # blank cells left out: valid JSON
        evaluated = pd.read_csv(root / run_id / "metrics.csv").dropna(subset=["fd_cls"]).iloc[-1]
        assert evaluated["step"] == 8 * (steps // 8) == row["last_eval"]["step"]
        for name in ("fd_cls", "classes_covered", "diversity", "coverage_cls"):
            assert row["last_eval"][name] == pytest.approx(evaluated[name], rel=1e-9, abs=1e-12)
        assert "modes_covered" not in row["last_eval"]  # not measured on digits: left out
    assert rows["first"]["status"] == "failed" and rows["second"]["status"] == "finished"

    table = cli("runs", str(root))
    assert table.returncode == 0, table.stderr
    assert "\x1b" not in table.stdout  # shown as text: the escape written out, never sent to the terminal
    lines = table.stdout.splitlines()
    assert lines[0].split()[:8] == ["run", "status", "step", "flags", "up", "d_loss", "g_loss", "d_acc_real"]
    second = next(line.split() for line in lines if line.startswith("second "))
    assert second[1:3] == ["finished", "20/20"]
    assert float(second[4]) == pytest.approx(rows["second"]["last"]["d_loss"], rel=1e-3)  # 4 digits shown
    assert float(second[7]) == pytest.approx(rows["second"]["last"]["d_acc_fake"], rel=1e-3)
    assert second[8] == "fd_cls" and second[10] == "@16"  # the latest evaluation's headline metric
    assert float(second[9]) == pytest.approx(rows["second"]["last_eval"]["fd_cls"], rel=1e-3)
    error = lines[lines.index(next(line for line in lines if line.startswith("first "))) + 1]
    assert error == "    error: boom\\x1b[2J\\x1b[31m red\\nsecond line"
    cut = lines.index(next(line for line in lines if line.startswith("cut ")))
    assert lines[cut].split()[1:3] == ["unreadable", "-"] and lines[cut + 1].startswith(
        "    error: run 'cut'"
    )

    monkeypatch.setenv("GAN_DASHBOARD_RUNS", str(root))  # the dashboard's runs folder is the default
    assert cli("runs").stdout == table.stdout


def test_runs_of_a_missing_or_empty_folder(tmp_path, cli):
    missing = cli("runs", str(tmp_path / "nowhere"))
    assert missing.returncode == 2 and missing.stdout == ""
    assert (
        missing.stderr
        == f"error: no runs folder {str(tmp_path / 'nowhere')!r}: give a folder that holds run folders\n"
    )
    assert not (tmp_path / "nowhere").exists()  # listing creates nothing
    empty = cli("runs", str(tmp_path))
    assert empty.returncode == 0 and empty.stdout.startswith(f"No runs in {tmp_path}:")
    assert cli("runs", str(tmp_path), "--json").stdout == "[]\n"
