"""The options that name a run (``sample --run``, ``evaluate --run``, ``train --resume``, ``train
--rewind``) take a run id as `python -m gan_core runs` lists it, looked up in the runs folder the command
line uses (``$GAN_DASHBOARD_RUNS``; for train, ``--out``), as well as a path; a path wins when both exist,
and an id never reaches outside the runs folder (``..``, ``../x``, a symlink)."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gan_core.__main__ import CLIError, run_folder
from gan_core.rundir import RUNS_ENV
from tests.test_cli import TINY

HINT = "(give a run folder's path, or a run id as `python -m gan_core runs` lists it)"


def train(cli, out: Path, run_id: str, steps: int, seed: int = 0) -> Path:
    """A tiny finished ring8 run ``out/run_id`` with checkpoints every 2 steps."""
    res = cli("train", "--dataset", "ring8", "--steps", str(steps), "--checkpoint-every", "2",
              "--seed", str(seed), "--out", str(out), "--run-id", run_id, *TINY)  # fmt: skip
    assert res.returncode == 0, res.stderr
    return (out / run_id).resolve()


def one_line_error(res) -> str:
    lines = res.stderr.strip().splitlines()
    assert res.returncode == 2 and len(lines) == 1 and lines[0].startswith("error: "), res.stderr
    return lines[0]


@pytest.fixture
def shared(tmp_path, cli, monkeypatch):
    """$GAN_DASHBOARD_RUNS = tmp/shared holding run 'mine' (4 steps); the working folder tmp/work, empty."""
    root = tmp_path / "shared"
    monkeypatch.setenv(RUNS_ENV, str(root))
    train(cli, root, "mine", steps=4)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return root


def test_sample_and_evaluate_find_a_run_id_in_the_dashboards_runs_folder(shared, cli):
    listed = cli("runs", "--json")
    assert [row["run_id"] for row in json.loads(listed.stdout)] == ["mine"]  # what a user copies
    res = cli("sample", "--run", "mine", "--n", "5", "--out", "s.csv")
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == f"wrote 5 samples from step 4 of {(shared / 'mine').resolve()} to s.csv"
    assert pd.read_csv("s.csv").shape == (5, 2)
    res = cli("evaluate", "--run", "mine")
    assert res.returncode == 0, res.stderr
    got = json.loads(res.stdout)
    assert (Path(got["run"]), got["checkpoint"], got["step"]) == (
        (shared / "mine").resolve(),
        "step_00000004.pt",
        4,
    )
    assert not Path("mine").exists()  # nothing made in the working folder


def test_resume_and_rewind_a_run_id(shared, cli):
    res = cli("train", "--resume", "mine", "--steps", "6", "--quiet")
    assert res.returncode == 0, res.stderr
    assert Path(res.stdout.strip().splitlines()[-1]) == (shared / "mine").resolve()
    assert pd.read_csv(shared / "mine" / "metrics.csv")["step"].tolist() == [1, 2, 3, 4, 5, 6]
    res = cli(
        "train", "--rewind", "mine", "--from-step", "2", "--run-id", "branch", "--steps", "3", "--quiet"
    )
    assert res.returncode == 0, res.stderr
    assert Path(res.stdout.strip().splitlines()[-1]) == (shared / "branch").resolve()
    status = json.loads((shared / "branch" / "status.json").read_text())
    assert (status["parent"], status["parent_step"], status["step"]) == ("mine", 2, 3)


def test_resume_looks_up_a_run_id_in_the_out_folder(tmp_path, shared, cli):
    other = tmp_path / "other"
    train(cli, other, "theirs", steps=2)
    res = cli("train", "--resume", "theirs", "--out", str(other), "--steps", "4", "--quiet")
    assert res.returncode == 0, res.stderr
    assert pd.read_csv(other / "theirs" / "metrics.csv")["step"].tolist() == [1, 2, 3, 4]
    # 'mine' is in $GAN_DASHBOARD_RUNS, not in --out: not found, and the message names --out's folder
    line = one_line_error(cli("train", "--resume", "mine", "--out", str(other), "--steps", "6"))
    assert line == f"error: --resume mine: no run folder at ./mine and no run 'mine' in {str(other)!r} {HINT}"
    assert pd.read_csv(shared / "mine" / "metrics.csv")["step"].tolist() == [1, 2, 3, 4]  # untouched


def test_a_folder_that_is_no_run_hiding_a_run_id_names_the_run(tmp_path, shared, cli):
    """A newcomer's data folder ./mine beside a run 'mine' in the runs folder: the path wins, and its
    refusal names the run and its path (it said only that ./mine holds no run.json)."""
    (tmp_path / "work" / "mine").mkdir()  # (the working folder: `shared`'s)
    line = one_line_error(cli("sample", "--run", "mine", "--n", "3", "--out", "s.npy"))
    assert line.startswith("error: --run mine: ") and line.endswith(
        f"; a run 'mine' is in the runs folder: give its path, {shared / 'mine'}"
    )
    assert not Path("s.npy").exists()


def test_a_path_wins_over_a_run_id_of_the_same_name(tmp_path, shared, cli):
    here = train(cli, tmp_path / "work", "mine", steps=2, seed=1)  # ./mine, beside $GAN_DASHBOARD_RUNS/mine
    for given in ("mine", "./mine", str(here)):
        res = cli("sample", "--run", given, "--n", "3", "--out", "s.npy")
        assert res.returncode == 0, res.stderr
        assert f"from step 2 of {here} to" in res.stdout  # step 2: ./mine's, not the runs folder's step 4
    res = cli("train", "--resume", "mine", "--steps", "3", "--quiet")
    assert res.returncode == 0, res.stderr
    assert Path(res.stdout.strip().splitlines()[-1]) == here
    assert pd.read_csv(here / "metrics.csv")["step"].tolist() == [1, 2, 3]
    assert pd.read_csv(shared / "mine" / "metrics.csv")["step"].tolist() == [1, 2, 3, 4]
    # a path to the runs folder's run works as before
    res = cli("sample", "--run", str(shared / "mine"), "--n", "3", "--out", "t.npy")
    assert res.returncode == 0, res.stderr
    assert np.load("t.npy").shape == (3, 2)


@pytest.mark.parametrize(
    "argv,option",
    [
        (["sample", "--n", "5", "--out", "s.png", "--run"], "--run"),
        (["evaluate", "--run"], "--run"),
        (["train", "--steps", "9", "--resume"], "--resume"),
        (["train", "--steps", "9", "--rewind"], "--rewind"),
    ],
)
def test_an_unknown_run_id_says_where_it_looked_in_one_line(shared, cli, argv, option):
    line = one_line_error(cli(*argv, "nope"))
    assert (
        line == f"error: {option} nope: no run folder at ./nope and no run 'nope' in {str(shared)!r} {HINT}"
    )
    assert sorted(p.name for p in shared.iterdir()) == ["mine"] and not any(Path().iterdir())


def test_a_name_that_is_neither_a_folder_nor_a_run_id(shared, cli):
    line = one_line_error(cli("sample", "--run", "my run", "--out", "s.csv"))
    assert line.startswith("error: --run my run: no such run folder, nor a run id (1-100 ASCII letters")
    assert line.endswith("; give a run folder's path, or a run id as `python -m gan_core runs` lists it)")
    line = one_line_error(cli("sample", "--run", "sub/nope", "--out", "s.csv"))
    assert line == f"error: --run sub/nope: no such run folder {HINT}"
    (shared / "notes.txt").write_text("not a run")  # a plain file in the runs folder: said so
    line = one_line_error(cli("evaluate", "--run", "notes.txt"))
    assert line == (
        f"error: --run notes.txt: no run 'notes.txt' in {str(shared)!r} (that name is a regular file, not a "
        "run folder)"
    )
    (Path("empty")).mkdir()  # a folder given by path that is no run: the option that named it is said
    line = one_line_error(cli("train", "--steps", "9", "--resume", "empty"))
    assert line == (
        f"error: --resume empty: no run 'empty' in {str(Path.cwd())!r} (run.json and config.json missing)"
    )


def test_dot_dot_never_reaches_outside_the_runs_folder(tmp_path, cli, monkeypatch):
    """Each id below would name a real run if it were joined to the runs folder; as a path from the working
    folder it names none, so every one is refused, with exit status 2, and nothing is written."""
    top = tmp_path / "top"
    outside = train(cli, top, "outside", steps=2)  # tmp/top/outside: a run beside the runs folders below
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    # runs folder tmp/top/runs: ../outside from it is the run; from tmp/work it is tmp/outside, nothing
    (top / "runs").mkdir()
    monkeypatch.setenv(RUNS_ENV, str(top / "runs"))
    for option in (["sample", "--out", "s.csv", "--run"], ["evaluate", "--run"], ["train", "--resume"]):
        line = one_line_error(cli(*option, "../outside"))
        assert line == f"error: {option[-1]} ../outside: no such run folder {HINT}"
    with pytest.raises(CLIError, match=r"^--run \.\./outside: no such run folder"):
        run_folder("--run", "../outside", top / "runs")
    # runs folder tmp/top/outside/runs: .. from it is the run; from tmp/work it is tmp, no run
    (outside / "runs").mkdir()
    monkeypatch.setenv(RUNS_ENV, str(outside / "runs"))
    for option in (["sample", "--out", "s.csv", "--run"], ["train", "--resume"]):
        line = one_line_error(cli(*option, ".."))
        # (the path's own message, after the option that named it: tmp is no run)
        said = f"no run {tmp_path.name!r} in {str(tmp_path.parent)!r} (run.json and config.json missing)"
        assert line == f"error: {option[-1]} ..: {said}"
    # a symlink in the runs folder to a run outside it is never read
    (top / "runs" / "link").symlink_to(outside)
    monkeypatch.setenv(RUNS_ENV, str(top / "runs"))
    line = one_line_error(cli("sample", "--out", "s.csv", "--run", "link"))
    assert (
        line
        == "error: --run link: run 'link' is a symlink to a place outside the runs folder; it is never read"
    )
    assert not any(work.iterdir())
    assert pd.read_csv(outside / "metrics.csv")["step"].tolist() == [1, 2]  # never resumed


def test_help_says_a_run_id_works_too(cli):
    sample = " ".join(cli("sample", "--help").stdout.split())
    assert f"or its run id (NAME) in the runs folder, ${RUNS_ENV} if set, else runs/ here" in sample
    evaluate = " ".join(cli("evaluate", "--help").stdout.split())
    assert f"a run (its folder, or its run id in ${RUNS_ENV} if set, else in runs/ here)" in evaluate
    train = " ".join(cli("train", "--help").stdout.split())
    resume = train.split("--resume DIR ", 1)[1].split(" --rewind DIR ", 1)[0]
    assert "a run folder's path, or a run id in --out's runs folder" in resume
    rewind = train.split(" --rewind DIR ", 1)[1]
    assert "a run folder's path, or a run id in --out's runs folder" in rewind
    assert "with --resume ID or --rewind ID, where the run id is looked up" in train
