"""What an adversarial reviewer did to run folders through the command line and the Resume path:

1. ``sample --out RUN/metrics.csv`` overwrote the run's rows (of a live run too, which then no longer
   opened): a file a command writes is refused inside any run folder (``train --out`` alike).
2. A run whose ``checkpoints`` is a file was said to have ended "before its first" checkpoint.
3. A newest checkpoint that is a symlink was passed by: the resume went on from the older one and replaced
   the rows recorded after it. It is refused as a damaged newest one is, naming the older ones.
4. Refusals that said what was wrong but not what is allowed (``--checkpoint /etc/passwd``, a truncated
   newest checkpoint for ``sample``, ``train --out /proc/x``).
"""

import os
import shlex
from pathlib import Path

import pytest

from gan_core.config import GANConfig
from gan_core.registry import RunRegistry
from gan_core.rundir import RUNS_ENV, RunDir, RunDirError
from gan_core.runner import Runner, UnusableCheckpointError
from tests.test_cli import TINY
from tests.test_cli_review import folder_state
from tests.test_cli_run_ids import one_line_error, train

ALLOWED_OUT = "allowed: a file outside every run folder"


@pytest.fixture
def root(tmp_path, cli, monkeypatch):
    """$GAN_DASHBOARD_RUNS = tmp/runs holding run 'base' (6 steps, checkpoints at 2, 4, 6); working in tmp."""
    runs = tmp_path / "runs"
    monkeypatch.setenv(RUNS_ENV, str(runs))
    monkeypatch.chdir(tmp_path)
    train(cli, runs, "base", steps=6)
    return runs


def ckpt(run: Path, step: int) -> Path:
    return run / "checkpoints" / f"step_{step:08d}.pt"


# ------------------------------------------------------------------------------ 1. writes into run folders
@pytest.mark.parametrize(
    "out",
    [
        "runs/base/metrics.csv",  # the run's own rows
        "runs/base/samples/x.png",
        "runs/other/x.csv",  # another run's folder in the runs folder
        "runs/damaged/x.npy",  # a folder of the runs folder holding no run files any more
        "link.csv",  # a symlink here to the run's metrics.csv: the write would follow it
    ],
)
def test_sample_refuses_an_out_path_inside_a_run_folder(root, cli, out):
    train(cli, root, "other", steps=2)
    (root / "damaged").mkdir()
    os.symlink(root / "base" / "metrics.csv", "link.csv")
    before = folder_state(root)
    line = one_line_error(cli("sample", "--run", "base", "--out", out, "--n", "2"))
    assert line.startswith(f"error: --out {out}: inside the folder ")
    assert line.endswith(f"where only a run writes its files; {ALLOWED_OUT}")
    assert folder_state(root) == before
    RunRegistry(root).view("base")  # still opens


def test_sample_refuses_the_runs_own_folder_wherever_it_is_and_writes_outside_run_folders(
    root, cli, tmp_path
):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    os.rename(root / "base", elsewhere / "base")  # a run folder outside the runs folder
    run = elsewhere / "base"
    metrics = (run / "metrics.csv").read_bytes()
    line = one_line_error(cli("sample", "--run", str(run), "--out", str(run / "metrics.csv"), "--n", "2"))
    assert f"inside the folder of run 'base' ({str(run)!r})" in line and line.endswith(ALLOWED_OUT)
    assert (run / "metrics.csv").read_bytes() == metrics
    # allowed: beside the run folders, in the runs folder itself, anywhere outside a run
    for out in (elsewhere / "s.csv", root / "s.csv", tmp_path / "s.npy"):
        done = cli("sample", "--run", str(run), "--out", str(out), "--n", "2")
        assert done.returncode == 0, done.stderr
        assert out.is_file()


def test_sample_refuses_to_write_into_a_run_that_trains(root, cli):
    cfg = GANConfig(dataset="ring8", width=16, latent_dim=4, batch_size=16, device="cpu", steps=0)
    runner = Runner(cfg, root, run_dir=RunDir.create(root, cfg, "live"))
    runner.start()
    try:
        assert runner.wait_until(lambda r: r.current_step >= 3)
        line = one_line_error(cli("sample", "--run", "base", "--out", "runs/live/metrics.csv", "--n", "2"))
        assert "inside the folder of run 'live'" in line
    finally:
        runner.stop()
        assert runner.wait(60)
    assert RunDir.open(root, "live").read_metrics()["step"].iloc[0] == 1  # its rows, not 2 samples


def test_train_refuses_an_out_folder_inside_a_run_but_not_one_beside_a_config_file(root, cli, tmp_path):
    for out in ("runs/base", "runs/base/checkpoints"):
        line = one_line_error(cli("train", "--out", out, "--steps", "2", *TINY))
        assert line == (
            f"error: --out {out}: {'is' if out == 'runs/base' else 'is inside'} the folder of run 'base' "
            f"({str(root / 'base')!r}), where a new run would be made among that run's own files; allowed: a "
            f"folder of runs outside every run folder, such as the one holding it, {str(root)!r}"
        )
    assert sorted(p.name for p in (root / "base" / "checkpoints").iterdir()) == [
        ckpt(root / "base", s).name for s in (2, 4, 6)
    ]
    project = tmp_path / "project"  # a config.json for --config makes no run folder of it
    project.mkdir()
    (project / "config.json").write_text('{"dataset": "ring8"}')
    done = cli("train", "--config", str(project / "config.json"), "--out", str(project / "runs"),
               "--run-id", "ok", "--steps", "2", *TINY)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert (project / "runs" / "ok" / "metrics.csv").is_file()


def test_train_into_a_place_that_cannot_be_made_names_out_and_what_is_allowed(tmp_path, cli):
    line = one_line_error(cli("train", "--out", "/proc/x", "--steps", "2", *TINY))
    assert line.startswith("error: --out /proc/x: cannot make the run's folder there (")
    assert line.endswith(
        "); allowed: a folder of runs this user can write to (made if missing, with its parents)"
    )


# ----------------------------------------------------------------------- 2. checkpoints is a file
FOLDER_PROBLEM = (
    "checkpoints in run 'base' is a regular file, not a folder, so no checkpoint of the run can be read; "
    "allowed: a folder named checkpoints holding the checkpoint files the run saved (step_NNNNNNNN.pt)"
)


def test_a_run_whose_checkpoints_is_a_file_says_so_on_resume_sample_and_the_runs_page(root, cli):
    from ui.common import no_checkpoint_note

    run = root / "base"
    for path in (run / "checkpoints").iterdir():
        path.unlink()
    (run / "checkpoints").rmdir()
    (run / "checkpoints").write_text("x")
    before = folder_state(root)
    line = one_line_error(cli("train", "--resume", "base", "--steps", "9", "--out", str(root), *TINY))
    assert line == f"error: --resume base: {FOLDER_PROBLEM}"
    line = one_line_error(cli("sample", "--run", "base", "--out", "s.csv", "--n", "2"))
    assert line == f"error: --run base: {FOLDER_PROBLEM}"
    registry = RunRegistry(root)
    with pytest.raises(RunDirError) as refused:  # the dashboard's Resume
        registry.resume("base", {"steps": 9})
    assert str(refused.value) == FOLDER_PROBLEM
    assert folder_state(root) == before
    note = no_checkpoint_note(registry.view("base"), "start a new run.")
    assert note is not None and "No checkpoint was saved" not in note
    assert "checkpoints in run 'base' is a regular file, not a folder" in note
    assert "allowed: a folder named checkpoints" in note


# ------------------------------------------------------------------ 3. a newest checkpoint that is a link
def test_a_newest_checkpoint_that_is_a_symlink_is_refused_never_passed_by(root, cli, tmp_path):
    run = root / "base"
    outside = tmp_path / "outside.pt"
    os.rename(ckpt(run, 6), outside)
    os.symlink(outside, ckpt(run, 6))
    before = folder_state(run)
    said = (
        "checkpoint step_00000006.pt of run 'base' is a symlink; checkpoints are read only as regular files "
        "inside the run's folder (its checkpoints/), never through a link; older kept checkpoints: steps 4, 2"
    )
    line = one_line_error(cli("train", "--resume", "base", "--steps", "8", "--out", str(root), *TINY))
    assert line == (
        f"error: --resume base: {said}; branch a new run from one: --rewind base --from-step 4; or go on in "
        "this run from step 4: move checkpoints/step_00000006.pt out of base and resume again (its rows "
        "after step 4 are then replaced)"
    )
    line = one_line_error(cli("train", "--rewind", "base", "--out", str(root), *TINY))
    assert line == f"error: --rewind base: {said}; branch a new run from one: --rewind base --from-step 4"
    line = one_line_error(cli("sample", "--run", "base", "--out", "s.csv", "--n", "2"))
    assert line == f"error: {said}; take one with --checkpoint {shlex.quote(str(ckpt(run, 4)))}"
    with pytest.raises(UnusableCheckpointError) as refused:  # the dashboard's Resume
        RunRegistry(root).resume("base", {"steps": 8})
    assert (str(refused.value), refused.value.older) == (said, [4, 2])
    assert folder_state(run) == before  # rows 5 and 6 kept: nothing written
    assert sorted(p.name for p in root.iterdir()) == ["base"]  # no branch made
    # what the message says works, and leaves the run as it was
    done = cli("train", "--rewind", "base", "--from-step", "4", "--run-id", "fork", "--out", str(root), *TINY)
    assert done.returncode == 0, done.stderr
    assert folder_state(run) == before


# ---------------------------------------------------------------------------------- 4. what is allowed
def test_a_checkpoint_outside_the_run_says_which_are_allowed(root, cli):
    line = one_line_error(cli("sample", "--run", "base", "--checkpoint", "/etc/passwd", "--out", "s.csv"))
    kept = ", ".join(str(ckpt(root / "base", s)) for s in (6, 4, 2))
    assert line == (
        f"error: --checkpoint: path '/etc/passwd' is outside the run's folder {str(root / 'base')!r}; "
        f"allowed: one of its checkpoint files: {kept}"
    )


def test_sample_of_a_run_whose_newest_checkpoint_is_truncated_names_the_older_and_checkpoint(root, cli):
    newest = ckpt(root / "base", 6)
    newest.write_bytes(newest.read_bytes()[:1000])
    line = one_line_error(cli("sample", "--run", "base", "--out", "s.csv", "--n", "2"))
    assert line == (
        "error: checkpoint step_00000006.pt of run 'base' is not a PyTorch checkpoint (not a zip archive: "
        "truncated, damaged or another format); allowed: a checkpoint saved by this dashboard; older kept "
        f"checkpoints: steps 4, 2; take one with --checkpoint {ckpt(root / 'base', 4)}"
    )
    done = cli(
        "sample", "--run", "base", "--out", "s.csv", "--n", "2", "--checkpoint", str(ckpt(root / "base", 4))
    )
    assert done.returncode == 0, done.stderr
    assert "from step 4 of" in done.stdout


# ------------------------------------------------------------------ a run folder without its config.json
@pytest.mark.parametrize("option", ["--resume", "--rewind"])
def test_a_run_without_its_config_is_refused_as_the_option_refuses(root, cli, option):
    """It said "error: run 'base': unreadable config.json: ..." without the option or what it needs."""
    (root / "base" / "config.json").unlink()
    res = cli(
        "train", option, "base", "--steps", "8", *(["--from-step", "4"] if option == "--rewind" else [])
    )
    what = "a resume" if option == "--resume" else "a branch"
    assert one_line_error(res) == (
        f"error: {option} base: unreadable config.json: No such file or directory; {what} needs the "
        "config.json its run wrote"
    )
