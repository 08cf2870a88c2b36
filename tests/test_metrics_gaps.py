"""Steps without a row inside metrics.csv (`rundir.StepGaps`): a run whose rows 11 to 20 were lost and
that went on from a later checkpoint drew a line across the missing steps without a word. The Train
view's tail and the whole-file reader (Compare, export) now say it in one line, the same words each; the
Runs page's listing, which reads each run from its file's end whatever its length, does not; a complete
run, and a run of the tracking API continued from its last row, say nothing."""

from __future__ import annotations

import hashlib
import math
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

import gan_core.track as track
from gan_core.config import GANConfig
from gan_core.registry import RunRegistry
from gan_core.rundir import RunDir, StepGaps
from gan_core.runner import Runner
from gan_core.tracking.schema import CSV_COLUMNS, RECORD_COLUMNS
from gan_core.tracking.tail import MetricsTail
from tests.test_track import ToyGAN

TIMEOUT = 60  # seconds: generous, the test machine is slow and shared
TINY = dict(width=16, latent_dim=4, batch_size=16, device="cpu")
N_METRICS = len(RECORD_COLUMNS)
GAP_11_TO_20 = "metrics.csv: steps 11 to 20 have no row; its charts draw a line across the gap"


def record(step: int) -> tuple:
    """One metrics.csv row as the runner writes it: numbers in RECORD_COLUMNS order, then the flags."""
    values = [float(step)] + [0.5 + step / 1000 + i / 100 for i in range(1, N_METRICS)]
    values[RECORD_COLUMNS.index("mode_kl")] = math.nan  # not measured at this step: a blank cell
    return (*values, "")


@pytest.fixture
def writer(tmp_path):
    """A run folder of the built-in trainer's shape, written by its own writer (as another process would)."""
    run = RunDir.create(tmp_path, GANConfig(dataset="ring8", **TINY), "ext")
    run.open_metrics(CSV_COLUMNS)
    yield run
    run.release()


def append(run: RunDir, steps) -> None:
    for step in steps:
        run.append_record(record(step))


def fingerprint(folder: Path) -> dict[str, str]:
    """Path -> SHA-256 of every file under ``folder`` but the claim's lock file."""
    return {
        str(Path(d, name).relative_to(folder)): hashlib.sha256(Path(d, name).read_bytes()).hexdigest()
        for d, _, names in os.walk(folder)
        for name in names
        if name != ".lock"
    }


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """A runs folder holding ``good``: ring8, 20 steps, checkpoints at 10 and 20 (the project's runner)."""
    root = tmp_path_factory.mktemp("gaps_template") / "runs"
    cfg = GANConfig(**TINY, dataset="ring8", steps=20, sample_every=5, checkpoint_every=10, eval_every=10)
    runner = Runner(cfg, root, "good").start()
    assert runner.wait(TIMEOUT) and runner.status == "finished", runner.error
    return root


@pytest.fixture
def root(template, tmp_path) -> Path:
    copy = tmp_path / "runs"
    shutil.copytree(template, copy)
    return copy


def summary(root: Path, run_id: str = "good") -> dict:
    (row,) = [r for r in RunRegistry(root).summaries() if r["run_id"] == run_id]
    return row


# ---------------------------------------------------------------------------------------------- a real run
def test_a_run_resumed_after_its_middle_rows_were_lost_says_which_steps_have_no_row(root):
    """The brief's case: rows 1 to 10 kept, rows 11 to 20 lost (a file restored from a backup), the
    checkpoint at step 20 the only one kept: the resume goes on from it, and rows 21 to 30 follow row 10."""
    run = root / "good"
    lines = (run / "metrics.csv").read_bytes().splitlines(keepends=True)
    (run / "metrics.csv").write_bytes(b"".join(lines[:11]))  # the header, rows 1 to 10
    (run / "checkpoints" / "step_00000010.pt").unlink()
    runner = RunRegistry(root).resume("good", {"steps": 30})
    assert runner.wait(TIMEOUT) and runner.status == "finished", runner.error

    before = fingerprint(run)
    registry = RunRegistry(root)  # as the next server reads it (this one shows its own runner's rows)
    view = registry.view("good")
    assert view.problems == [GAP_11_TO_20]
    # the run stays usable: every row is drawn, the gap joined by the line
    steps = list(view.store.view()["step"])
    assert steps == [*range(1, 11), *range(21, 31)]
    (row,) = [r for r in registry.summaries() if r["run_id"] == "good"]
    # the listing reads each run's header and last row, whatever its length: it lists the run as it is
    # (the gap in its rows is the Train view's to say, on opening it)
    assert (row["status"], row["step"], row["problems"]) == ("finished", 30, "")
    frame, problems = RunDir.open(root, "good").read_metrics_checked(RECORD_COLUMNS)
    assert problems == [GAP_11_TO_20] and len(frame) == 20
    assert fingerprint(run) == before, "reading the run wrote to its folder"


def test_a_complete_run_says_no_gap_in_any_reader(root):
    view = RunRegistry(root).view("good")
    assert view.problems == [] and len(view.store) == 20
    assert summary(root)["problems"] == ""
    assert RunDir.open(root, "good").read_metrics_checked(RECORD_COLUMNS)[1] == []
    for chunk_bytes in (1 << 20, 300, 1):  # one chunk, several, one row a chunk
        tail = MetricsTail(root / "good" / "metrics.csv", "good", chunk_bytes=chunk_bytes)
        assert len(tail.poll().rows) == 20 and tail.problems == [] and tail.gaps == StepGaps()


def test_one_row_lost_inside_is_said_and_a_file_cut_at_its_end_says_only_that(root):
    path = root / "good" / "metrics.csv"
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(lines[:8] + lines[9:]))  # without row 8
    line = "metrics.csv: step 8 has no row; its charts draw a line across the gap"
    assert RunRegistry(root).view("good").problems == [line]
    assert RunDir.open(root, "good").read_metrics_checked(RECORD_COLUMNS)[1] == [line]
    path.write_bytes(b"".join(lines[:16]))  # rows 1 to 15: short of status.json's step 20, no gap
    short = (
        "metrics.csv ends at step 15, while status.json says the run reached step 20: its charts show steps "
        "up to 15"
    )
    assert RunRegistry(root).view("good").problems == [short]
    assert summary(root)["problems"] == short


# ---------------------------------------------------------------------------------------------- the tail
def test_the_tail_says_a_gap_between_two_chunks_and_between_two_polls(writer):
    append(writer, range(1, 11))
    path = writer.path / "metrics.csv"
    data = path.read_bytes()
    header = data.index(b"\n") + 1
    append(writer, range(21, 41))
    # a chunk that ends exactly after row 10: the gap is between two chunks, seen in none of them
    tail = MetricsTail(path, "ext", chunk_bytes=len(data) - header)
    chunks = [chunk.rows[:, 0] for chunk in tail.chunks()]
    assert chunks[0].tolist() == list(range(1, 11)) and chunks[1][0] == 21
    assert tail.gaps == StepGaps(missing=10, gaps=1, first=(11, 20))
    assert tail.problems == [GAP_11_TO_20]
    # ... and for every other chunk size, as the whole read says it
    frame, expected = writer.read_metrics_checked(RECORD_COLUMNS)
    assert expected == [GAP_11_TO_20]
    for chunk_bytes in (1, 97, 500, 1 << 20):
        tail = MetricsTail(path, "ext", chunk_bytes=chunk_bytes)
        rows = tail.poll().rows
        np.testing.assert_array_equal(rows, frame[list(RECORD_COLUMNS)].to_numpy(np.float64))
        assert tail.problems == expected

    # two polls: rows 1 to 10 read, then the rows after a gap appended
    path.write_bytes(data)
    tail = MetricsTail(path, "ext")
    assert len(tail.poll().rows) == 10 and tail.problems == []
    append(writer, range(21, 31))
    chunk = tail.poll()
    assert not chunk.reset and chunk.rows[:, 0].tolist() == list(range(21, 31))
    assert tail.problems == [GAP_11_TO_20]


def test_several_gaps_say_the_first_and_the_totals(writer):
    append(writer, [*range(1, 11), *range(21, 31), *range(33, 36), 40])  # 11-20, 31-32, 36-39
    line = (
        "metrics.csv: steps 11 to 20 have no row (the first of 3 gaps, 16 steps in all); its charts draw a "
        "line across the gaps"
    )
    assert writer.read_metrics_checked(RECORD_COLUMNS)[1] == [line]
    for chunk_bytes in (1, 400, 1 << 20):
        tail = MetricsTail(writer.path / "metrics.csv", "ext", chunk_bytes=chunk_bytes)
        tail.poll()
        assert tail.problems == [line]
        assert tail.gaps == StepGaps(missing=16, gaps=3, first=(11, 20))


def test_a_rewritten_file_is_counted_again(writer):
    append(writer, [*range(1, 11), *range(21, 26)])
    path = writer.path / "metrics.csv"
    tail = MetricsTail(path, "ext", chunk_bytes=300)
    tail.poll()
    assert tail.problems == [GAP_11_TO_20]

    # a resume from step 10: a new file renamed over the old, and the rows since
    writer.close()
    assert writer.truncate_metrics(10) == 5
    writer.open_metrics(CSV_COLUMNS)
    append(writer, range(11, 16))
    chunk = tail.poll()
    assert chunk.reset and chunk.rows[:, 0].tolist() == list(range(1, 16))
    assert tail.problems == [] and tail.gaps == StepGaps()

    # cut in place to a gap, then a writer that went back over it (the later row of each step kept)
    data = path.read_bytes()
    lines = data.splitlines(keepends=True)
    path.write_bytes(b"".join(lines[:6] + lines[8:]))  # without rows 6 and 7: a rewrite, read again
    assert tail.poll().reset and tail.problems == [
        "metrics.csv: steps 6 to 7 have no row; its charts draw a line across the gap"
    ]
    append(writer, range(6, 17))  # steps seen again: the file is read again, now without a gap
    chunk = tail.poll()
    assert chunk.reset and chunk.rows[:, 0].tolist() == list(range(1, 17))
    assert tail.problems == [] == writer.read_metrics_checked(RECORD_COLUMNS)[1]


def test_rows_out_of_order_are_counted_once_sorted(writer):
    append(writer, [5, 1, 2, 9])  # a writer that went back (never this package's): read in step order
    line = (
        "metrics.csv: steps 3 to 4 have no row (the first of 2 gaps, 5 steps in all); its charts draw a line "
        "across the gaps"
    )
    tail = MetricsTail(writer.path / "metrics.csv", "ext")
    assert tail.poll().rows[:, 0].tolist() == [1, 2, 5, 9]
    assert tail.problems == [line] == writer.read_metrics_checked(RECORD_COLUMNS)[1]


def test_only_whole_steps_between_two_rows_are_missing():
    gaps = StepGaps().after(np.array([1.0, 2.0, 2.5, 3.0, 5.0]))  # half steps: no gap; step 4: one
    assert gaps == StepGaps(missing=1, gaps=1, first=(4, 4))
    assert gaps.line() == "metrics.csv: step 4 has no row; its charts draw a line across the gap"
    # rows that follow a row read before: the gap between them counted once, whichever call sees it
    assert StepGaps().after(np.array([8.0, 9.0]), before=5.0) == StepGaps(missing=2, gaps=1, first=(6, 7))
    assert StepGaps().after(np.array([6.0, 7.0]), before=5.0) == StepGaps()
    assert StepGaps().after(np.empty(0), before=5.0).line() is None


# ---------------------------------------------------------------------------------------------- the API
def test_a_tracked_run_continued_from_its_last_row_has_no_gap(tmp_path):
    """The tracking API numbers its rows 1, 2, 3, ... and a resume goes on from the last row: no gap,
    even when steps were taken that no row kept (a bad call is taken again)."""
    gan = ToyGAN()
    run = track.init("mine", root=tmp_path, commit_every=0.0)
    for _ in range(4):
        gan.step(run)
    with pytest.raises(track.TrackingError):
        run.g_step(object())  # a bad call records nothing: the step is the loop's to take again
    run.finish()
    again = track.init("mine", root=tmp_path, resume=True, commit_every=0.0)
    for _ in range(3):
        gan.step(again)
    again.finish()
    frame, problems = RunDir.open(tmp_path, "mine").read_metrics_checked()
    assert frame["step"].tolist() == list(range(1, 8)) and problems == []
    registry = RunRegistry(tmp_path)
    assert registry.view("mine").problems == []
    assert [r["problems"] for r in registry.summaries()] == [""]


def test_steps_beyond_whole_floats_count_no_gap():
    """Past 2**53 a float64 step is no whole number one from the next: no gap is made up there (a
    reviewer's [2**53, 2**53 + 4] counted 5 missing steps, those with rows among them)."""
    assert StepGaps().after(np.array([2.0**53, 2.0**53 + 4])) == StepGaps()
    assert StepGaps().after(np.array([1.0, 2.0, 1e300])) == StepGaps()
    assert StepGaps().after(np.array([1.0, 5.0])).line() == (
        "metrics.csv: steps 2 to 4 have no row; its charts draw a line across the gap"
    )
