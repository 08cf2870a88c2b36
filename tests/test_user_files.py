"""Files the user points at, and a run's own folder entries, that are no regular file: a named pipe
(FIFO, ``mkfifo``), a folder, a symlink. Opened plainly a named pipe waits for a writer that never comes;
the readers refuse it at once instead (`gan_core.files.open_regular`), in one line naming the file and
what it is, or, inside an image folder, leave it out and count it as a file that could not be read.

- the data: a points CSV given as data_path, an image folder holding a pipe named ``x.png`` (held in
  memory, held from the cache, streamed), an uploaded ZIP's folder;
- the command line's ``--config``, ``--samples`` and ``--out``; the Guide pictures' manifest;
- `RunDir.open` of a run whose config.json and run.json are not regular files (was: "missing");
- `RunDir.checkpoints`, which listed folders and symlinks named like checkpoints, so that Resume took
  a folder for the latest checkpoint and failed on it;
- Resume of a run whose metrics.csv was emptied.

Every call that could wait on a pipe runs under `within` (tests/test_special_files.py): a regression fails
in seconds instead of hanging the suite; each test's fixture opens every pipe at its end, which lets such
a thread go.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from PIL import Image

from gan_core import data
from gan_core.__main__ import config_from_args
from gan_core.config import GANConfig
from gan_core.data import DataError, load_data
from gan_core.export import extract_images_zip
from gan_core.files import NotRegularFileError
from gan_core.presets import DEFAULT_PICTURE, PRESETS, read_pictures, stale_pictures
from gan_core.registry import RunRegistry
from gan_core.rundir import RunDir, RunDirError
from tests.conftest import zip_of
from tests.test_special_files import (
    KINDS,
    TIMEOUT,
    good_and_bad,
    let_go,
    make_special,
    trained_template,
    within,
)

FIFO = "not a regular file: a named pipe (FIFO)"
POINTS_RULE = (
    f"need two numeric columns x,y (a header row is optional), 2 to {data.MAX_POINTS_ROWS} rows of finite "
    "numbers"
)


@pytest.fixture
def folder(tmp_path) -> Path:
    """This test's folder; every named pipe left in it is opened at the end (`let_go`)."""
    yield tmp_path
    let_go(tmp_path)


# ---------------------------------------------------------------------------------------------- image folder
def write_images(root: Path, count: int = 3) -> None:
    """``count`` 12 x 12 gray PNGs of distinct brightness, 0.png ... under ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        Image.new("L", (12, 12), 40 + 60 * i).save(root / f"{i}.png")


@pytest.mark.parametrize("how", ["held", "held from the cache", "streamed"])
def test_an_image_folder_leaves_out_a_pipe_named_like_an_image_and_says_so(folder, monkeypatch, how):
    images = folder / "images"
    write_images(images)
    os.mkfifo(images / "x.png")
    os.symlink(images / "x.png", images / "y.jpg")  # a link to the pipe: read through, refused the same
    monkeypatch.setenv(data.CACHE_ENV, str(folder / "cache"))
    if how == "held from the cache":
        monkeypatch.setattr(data, "CACHE_HELD_FROM", 1)
    elif how == "streamed":
        monkeypatch.setenv(data.MEMORY_BUDGET_ENV, "0")
    source = within(lambda: load_data(GANConfig(dataset="folder", data_path=str(images), image_size=8)))
    try:
        assert source.streamed == (how == "streamed")
        assert (source.num_examples, source.skipped_files) == (3, 2)
        assert source.skipped_note() == (
            "2 files that could not be read as an image were left out: 'x.png', 'y.jpg'."
        )
        brightness = sorted(float(x.mean()) for x in source.examples())
        assert brightness == pytest.approx([(40 + 60 * i) / 127.5 - 1 for i in range(3)], abs=0.02)
    finally:
        source.close()


def test_an_image_folder_of_pipes_only_says_none_could_be_read(folder):
    (folder / "images").mkdir()
    os.mkfifo(folder / "images" / "x.png")
    with pytest.raises(DataError) as refused:
        within(lambda: load_data(GANConfig(dataset="folder", data_path=str(folder / "images"))))
    assert str(refused.value) == (
        f"no images ({', '.join(ext[1:] for ext in data.IMAGE_EXTENSIONS)}) found under {folder / 'images'}: "
        "1 files with such a name could not be read"
    )


@pytest.mark.parametrize("kind", KINDS)
def test_decoding_a_path_that_is_no_file_is_refused_at_once(folder, kind):
    """The loaders list a folder before they decode it: a pipe put there in between is refused too."""
    make_special(folder / "x.png", kind)
    with pytest.raises(NotRegularFileError) as refused:
        within(lambda: data.decode_image(folder / "x.png", 8))
    assert str(refused.value) == f"not a regular file: {KINDS[kind]}"
    assert refused.value.filename == str(folder / "x.png")


def test_an_uploaded_zips_folder_with_a_pipe_put_in_loads_the_rest(folder):
    png = folder / "a.png"
    Image.new("L", (12, 12), 100).save(png)
    extracted = extract_images_zip(
        zip_of({"set/a.png": png.read_bytes(), "set/b.png": png.read_bytes()}), "set.zip", folder / "up"
    )
    os.mkfifo(extracted / "set" / "c.png")  # a hand edit in the uploads folder
    source = within(lambda: load_data(GANConfig(dataset="folder", data_path=str(extracted), image_size=8)))
    assert (source.num_examples, source.skipped_files) == (2, 1)


# ---------------------------------------------------------------------------------------------- points CSV
@pytest.mark.parametrize("kind", KINDS)
def test_a_points_csv_that_is_no_file_is_refused_by_name(folder, kind):
    path = folder / "points.csv"
    make_special(path, kind)
    with pytest.raises(DataError) as refused:
        within(lambda: load_data(GANConfig(dataset="points", data_path=str(path))))
    assert str(refused.value) == f"points CSV {path}: not a regular file: {KINDS[kind]}; {POINTS_RULE}"


# ---------------------------------------------------------------------------------------------- command line
@pytest.mark.parametrize("kind", KINDS)
def test_a_config_file_that_is_no_file_is_refused_by_name(folder, cli, kind):
    path = folder / "c.json"
    make_special(path, kind)
    res = within(lambda: cli("train", "--config", str(path), "--out", str(folder / "runs"), "--steps", "2"))
    assert res.returncode == 2
    assert res.stderr == f"error: --config {path}: cannot read (not a regular file: {KINDS[kind]})\n"
    assert not (folder / "runs").exists()


def test_a_config_file_is_read_as_before(folder):
    from gan_core.__main__ import build_parser

    path = folder / "c.json"
    path.write_text(json.dumps({"dataset": "ring8", "steps": 7}))
    cfg = config_from_args(build_parser().parse_args(["train", "--config", str(path)]))
    assert (cfg.dataset, cfg.steps) == ("ring8", 7)


@pytest.mark.parametrize("name", ["s.npy", "s.csv"])
@pytest.mark.parametrize("kind", KINDS)
def test_samples_that_are_no_file_are_refused_by_name(folder, cli, kind, name):
    path = folder / name
    make_special(path, kind)
    res = within(lambda: cli("evaluate", "--samples", str(path), "--dataset", "ring8"))
    assert res.returncode == 2
    assert res.stderr == f"error: --samples {path}: not a regular file: {KINDS[kind]}\n"


def test_samples_out_to_a_pipe_is_refused_before_anything_is_read(folder, cli):
    out = folder / "s.csv"
    os.mkfifo(out)
    res = within(lambda: cli("sample", "--run", str(folder / "no-such-run"), "--out", str(out)))
    assert res.returncode == 2
    assert res.stderr == (
        f"error: --out {out} is a named pipe (FIFO), not a regular file: give a file name ending .csv, "
        ".npy or .png\n"
    )


# ---------------------------------------------------------------------------------------------- presets
def test_a_pictures_manifest_that_is_a_pipe_reads_as_none(folder):
    manifest = folder / "manifest.json"
    os.mkfifo(manifest)
    assert within(lambda: read_pictures(manifest)) == {}
    assert within(lambda: stale_pictures(manifest)) == [DEFAULT_PICTURE, *PRESETS]


# ---------------------------------------------------------------------------------------------- run folders
@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    return trained_template(tmp_path_factory, "user_files_template")


@pytest.fixture
def root(template, tmp_path) -> Path:
    """This test's runs folder: ``good`` and ``bad`` (`good_and_bad`); its pipes let go at the end."""
    copy = good_and_bad(template, tmp_path)
    yield copy
    let_go(copy)


@pytest.mark.parametrize(
    "kinds",
    [("fifo", "fifo"), ("folder", "fifo"), ("fifo", None)],
    ids=["both pipes", "a folder and a pipe", "a pipe and missing"],
)
def test_a_run_whose_config_and_meta_are_no_files_says_so_not_missing(root, kinds):
    config_kind, meta_kind = kinds
    make_special(root / "bad" / "config.json", config_kind)
    if meta_kind is None:
        (root / "bad" / "run.json").unlink()
    else:
        make_special(root / "bad" / "run.json", meta_kind)
    meta = f"not a regular file: {KINDS[meta_kind]}" if meta_kind else "missing"
    expected = (
        f"run 'bad' in {str(root)!r} cannot be read: config.json is not a regular file: "
        f"{KINDS[config_kind]}; run.json is {meta}"
    )
    with pytest.raises(RunDirError) as refused:
        within(lambda: RunDir.open(root, "bad"))
    assert str(refused.value) == expected
    with pytest.raises(RunDirError) as refused:
        within(lambda: RunRegistry(root).view("bad"))
    assert str(refused.value) == expected


def test_a_run_without_config_and_meta_is_still_said_missing(root):
    (root / "bad" / "config.json").unlink()
    (root / "bad" / "run.json").unlink()
    with pytest.raises(RunDirError) as refused:
        RunDir.open(root, "bad")
    assert str(refused.value) == f"no run 'bad' in {str(root)!r} (run.json and config.json missing)"
    with pytest.raises(RunDirError) as refused:  # a typo in a link (?run=...) or --run: no folder at all
        RunDir.open(root, "nope")
    assert str(refused.value) == (
        f"no run 'nope' in {str(root)!r} (no folder of that name: a run id as the Runs page or "
        "`python -m gan_core runs` lists it)"
    )
    (root / "notes.txt").write_text("a file the user keeps beside the runs\n")
    with pytest.raises(RunDirError) as refused:  # ?run=notes.txt: said to be a file, not "json missing"
        RunRegistry(root).view("notes.txt")
    assert str(refused.value) == (
        f"no run 'notes.txt' in {str(root)!r} (that name is a regular file, not a run folder)"
    )


def odd_checkpoints(run: RunDir) -> None:
    """A folder, a named pipe, a symlink to a checkpoint and a dangling one, each named like a checkpoint
    later than the run's last (20)."""
    folder = run.path / "checkpoints"
    (folder / "step_00000050.pt").mkdir()
    os.mkfifo(folder / "step_00000060.pt")
    os.symlink(folder / "step_00000020.pt", folder / "step_00000070.pt")
    os.symlink(folder / "gone.pt", folder / "step_00000080.pt")


def test_checkpoints_lists_only_regular_files(root):
    run = RunDir.open(root, "bad")
    odd_checkpoints(run)
    assert [step for step, _ in within(run.checkpoints)] == [10, 20]
    assert run.latest_checkpoint() == run.path / "checkpoints" / "step_00000020.pt"
    assert RunRegistry(root).view("bad").checkpoint_steps() == [10, 20]
    with pytest.raises(RunDirError) as refused:
        run.checkpoint_at(50)
    assert str(refused.value) == "run 'bad' has no checkpoint at step 50: kept steps 10, 20"
    # named explicitly, each is still refused with what it is
    with pytest.raises(RunDirError, match=r"^checkpoint step_00000050\.pt of run 'bad' is a folder, not a"):
        run.load_checkpoint(run.path / "checkpoints" / "step_00000050.pt")
    with pytest.raises(RunDirError, match=r"^checkpoint step_00000070\.pt of run 'bad' is a symlink;"):
        run.load_checkpoint(run.path / "checkpoints" / "step_00000070.pt")
    with pytest.raises(RunDirError) as refused:
        within(lambda: run.load_checkpoint(run.path / "checkpoints" / "step_00000060.pt"))
    assert str(refused.value) == f"checkpoint step_00000060.pt of run 'bad' cannot be read ({FIFO})"


def test_resume_takes_the_latest_checkpoint_file_past_odd_entries(root):
    run = RunDir.open(root, "bad")
    odd_checkpoints(run)
    runner = within(lambda: RunRegistry(root).resume("bad", {"steps": 30}))
    assert runner.wait(TIMEOUT) and runner.status == "finished", runner.error
    assert runner.current_step == 30
    assert [step for step, _ in run.checkpoints()] == [10, 20, 30]
    # the odd entries are no checkpoints, and a rewind to 20 left them where they were
    names = sorted(p.name for p in (run.path / "checkpoints").iterdir())
    assert names == [f"step_000000{n}.pt" for n in (10, 20, 30, 50, 60, 70, 80)]


def test_a_run_whose_only_checkpoints_are_odd_entries_says_what_they_are_on_resume(root):
    folder = root / "bad" / "checkpoints"
    (folder / "step_00000010.pt").unlink()
    make_special(folder / "step_00000020.pt", "folder")
    run = RunDir.open(root, "bad")
    assert run.checkpoints() == []
    refusal = (
        "checkpoint step_00000020.pt of run 'bad' is a folder, not a file; allowed: a checkpoint file the "
        "run saved (step_NNNNNNNN.pt)"
    )
    assert run.not_checkpoints() == [refusal]
    with pytest.raises(RunDirError) as refused:
        within(lambda: RunRegistry(root).resume("bad", {"steps": 30}))
    assert str(refused.value) == f"{refusal}; no older checkpoint is kept"
    assert RunDir.open(root, "bad").read_status()["status"] == "finished"  # nothing was written


# ---------------------------------------------------------------------------------------------- emptied rows
def test_resume_of_a_run_whose_metrics_were_emptied_says_which_rows_are_gone(root):
    (root / "bad" / "metrics.csv").write_bytes(b"")
    registry = RunRegistry(root)
    listed = {row["run_id"]: row for row in registry.summaries()}
    assert listed["bad"]["problems"] == (
        "metrics.csv is empty, while status.json says the run reached step 20: its charts show no step"
    )
    runner = registry.resume("bad", {"steps": 30})
    assert runner.wait(TIMEOUT) and runner.status == "finished", runner.error
    registry = RunRegistry(root)  # as the next server reads it (this one shows its own runner's rows)
    view = registry.view("bad")
    assert (len(view.store), list(view.store.view()["step"])) == (10, list(range(21, 31)))  # trained since
    gone = "metrics.csv starts at step 21: steps 1 to 20 have no row (its charts start there)"
    assert view.problems == [gone]
    listed = {row["run_id"]: row for row in registry.summaries()}
    bad = listed["bad"]
    assert (bad["status"], bad["step"], bad["problems"]) == ("finished", 30, gone)
    assert listed["good"]["problems"] == ""
