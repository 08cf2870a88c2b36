"""Three messages a reviewer found misleading: ``train --resume``/``--rewind`` of a run a user's own loop
recorded (it blamed a missing config.json), ``runs`` given a run's own folder (it said to train into it),
and ``track.init(..., resume=True)`` of a run that is not there (it started a new one without a word)."""

import json
import os
import warnings
from pathlib import Path

import pytest

import gan_core.track as track
from gan_core.rundir import RunDir
from gan_core.tracking.track import TrackingWarning
from tests.test_cli_run_ids import one_line_error, train
from tests.test_track import ToyGAN


def tracked(root: Path, run_id: str, steps: int, source: str = "api") -> Path:
    """A run of a user's own loop (``source`` api, or lightning as the callback writes it), ``steps`` rows."""
    gan = ToyGAN()
    with track.init(run_id, root=root, steps=steps, commit_every=0.0, source=source) as run:
        while not run.should_stop:
            gan.step(run)
    return root / run_id


def folder_state(path: Path) -> dict:
    """Every file's bytes under ``path``: what a refused command must leave as it was."""
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


# -------------------------------------------------------- 1. train --resume / --rewind of a user's run
@pytest.mark.parametrize(
    ("source", "call"),
    [("api", "track.init"), ("lightning", "GANTrackingCallback")],
)
def test_resume_and_rewind_of_a_users_run_say_it_goes_on_from_the_users_script(tmp_path, cli, source, call):
    root = tmp_path / "runs"
    path = tracked(root, "mine", steps=3, source=source)
    before = folder_state(path)
    for args, verb in (
        (("--resume", "mine", "--steps", "400"), "resume"),
        (("--rewind", "mine", "--from-step", "2"), "branch"),
        (("--resume", str(path), "--steps", "400"), "resume"),  # by path as by id
    ):
        line = one_line_error(cli("train", *args, "--out", str(root)))
        assert "config.json" not in line
        origin = (
            "a LightningModule"
            if source == "lightning"
            else "a user's own training loop through gan_core.track"
        )
        assert f"error: {args[0]} {args[1]}: recorded by {origin}" in line
        assert f"which keeps no checkpoints to {verb} from" in line
        assert line.endswith(f"{call}('mine', root={str(root.resolve())!r}, ..., resume=True)"), line
    assert folder_state(path) == before  # nothing written, nothing claimed
    assert sorted(p.name for p in root.iterdir()) == ["mine"]  # no branch made beside it
    # ... and what the message says does continue it
    gan = ToyGAN()
    with track.init("mine", root=root, steps=5, commit_every=0.0, source=source, resume=True) as run:
        assert run.step == 3
        while not run.should_stop:
            gan.step(run)
    assert RunDir.open(root, "mine").read_metrics()["step"].tolist() == [1, 2, 3, 4, 5]


def test_a_run_of_the_builtin_trainer_still_resumes_and_rewinds_by_id(tmp_path, cli, monkeypatch):
    root = tmp_path / "runs"
    train(cli, root, "own", steps=4)
    monkeypatch.chdir(tmp_path)
    res = cli("train", "--resume", "own", "--steps", "6", "--out", str(root), "--quiet")
    assert res.returncode == 0, res.stderr
    assert RunDir.open(root, "own").read_metrics()["step"].tolist() == [1, 2, 3, 4, 5, 6]
    res = cli("train", "--rewind", "own", "--from-step", "2", "--run-id", "fork", "--out", str(root))
    assert res.returncode == 0, res.stderr
    # (branched at step 2, it trains on to the target its checkpoint held then, 4)
    assert RunDir.open(root, "fork").read_metrics()["step"].tolist() == [1, 2, 3, 4]


# ------------------------------------------------------------------ 2. runs given a run's own folder
def test_runs_of_a_run_folder_names_its_parent_and_exits_2(tmp_path, cli, monkeypatch):
    root = tmp_path / "runs"
    path = tracked(root, "mine", steps=2)
    monkeypatch.chdir(tmp_path)
    cases = (
        ("runs/mine", "runs"),
        (str(path), str(root)),
        ("runs/mine/", "runs"),
    )
    for given, parent in cases:
        for extra in ((), ("--json",)):
            res = cli("runs", given, *extra)
            line = one_line_error(res)
            assert res.stdout == ""
            assert "train" not in line  # no advice to train into a run's folder
            assert line == (
                f"error: {str(Path(given))!r} is the folder of run 'mine', not a folder of runs: list "
                f"the runs of its parent folder with `python -m gan_core runs {parent}`"
            )
    monkeypatch.chdir(path)  # the run's folder itself, as ".": its parent by its real path
    line = one_line_error(cli("runs", "."))
    assert line.endswith(f"`python -m gan_core runs {root.resolve()}`")
    monkeypatch.chdir(tmp_path)
    res = cli("runs", "runs", "--json")  # the command it gives lists the run
    assert res.returncode == 0 and [row["run_id"] for row in json.loads(res.stdout)] == ["mine"]
    empty = tmp_path / "empty"
    empty.mkdir()
    res = cli("runs", str(empty))  # an empty runs folder still gets its advice
    assert res.returncode == 0 and "No runs in" in res.stdout


# ------------------------------------------------------------------ 3. track.init(resume=True), no such run
def test_resume_of_a_run_that_is_not_there_starts_a_new_one_with_one_warning(tmp_path):
    root = tmp_path / "runs"
    gan = ToyGAN()
    with pytest.warns(TrackingWarning) as caught:
        run = track.init("zzz", root=root, steps=10, commit_every=0.0, resume=True)
    ours = [w for w in caught if issubclass(w.category, TrackingWarning)]
    assert len(ours) == 1
    assert str(ours[0].message) == (
        f"resume=True: no run 'zzz' was found in {str(root)!r}, so a new one starts; to see the runs there: "
        f"python -m gan_core runs {root}"
    )
    assert ours[0].filename == __file__  # at the caller of init
    with run:
        assert run.step == 0
        gan.step(run)
    assert RunDir.open(root, "zzz").read_metrics()["step"].tolist() == [1]
    # a run that is there continues without a word, and a start without resume says nothing either
    with warnings.catch_warnings():
        warnings.simplefilter("error", TrackingWarning)
        with track.init("zzz", root=root, steps=10, commit_every=0.0, resume=True) as again:
            assert again.step == 1
            gan.step(again)
        track.init("fresh", root=root, commit_every=0.0).finish()
    assert RunDir.open(root, "zzz").read_metrics()["step"].tolist() == [1, 2]
    assert sorted(os.listdir(root)) == ["fresh", "zzz"]
