"""Run files edited or damaged by hand, read the same way by every reader: a whole read
(`RunDir.read_metrics_checked`), the tail the pages use (`MetricsTail`, through `RunRegistry.view`) and the
listing (`RunRegistry.summaries`, which reads a file's ends only)."""

import math

import numpy as np
import pytest

from gan_core.config import GANConfig
from gan_core.registry import RunRegistry
from gan_core.rundir import RunDir
from gan_core.runner import Runner
from gan_core.store import NONFINITE_NAN
from gan_core.tracking.schema import CSV_COLUMNS, RECORD_COLUMNS
from gan_core.tracking.tail import EventsTail, MetricsTail

TINY = {"width": 16, "latent_dim": 4, "batch_size": 16, "device": "cpu"}
CFG = GANConfig(dataset="ring8", **TINY)
TIMEOUT = 120
BOM = b"\xef\xbb\xbf"  # UTF-8's byte-order mark, as Excel's "CSV UTF-8" writes it


def record(step: int) -> tuple:
    """A metrics.csv row as the runner writes it: every numeric column measured, no flags."""
    return (float(step), *(0.5 + step / 1000 + i / 100 for i in range(1, len(RECORD_COLUMNS))), "")


def finished(root, run_id: str, steps: range) -> RunDir:
    """A run folder of ``steps`` rows whose status.json says it finished at the last step."""
    run = RunDir.create(root, CFG, run_id)
    run.open_metrics(CSV_COLUMNS)
    run.append_records([record(s) for s in steps])
    run.close()
    run.write_status({**run.read_status(), "status": "finished", "step": steps[-1]})
    run.release()
    return run


def rewrite(run: RunDir, edit) -> None:
    path = run.path / "metrics.csv"
    path.write_bytes(edit(path.read_bytes()))


def every_reader(root, run_id: str) -> tuple[list[float], list[str]]:
    """The steps and problem lines of a whole read, checked equal to those the pages' tail gives (in one
    chunk and in many)."""
    run = RunDir.open(root, run_id)
    frame, problems = run.read_metrics_checked(RECORD_COLUMNS)
    for chunk_bytes in (1 << 20, 300):
        tail = MetricsTail(run.path / "metrics.csv", run_id, chunk_bytes=chunk_bytes)
        rows = tail.poll().rows
        np.testing.assert_array_equal(rows, frame[list(RECORD_COLUMNS)].to_numpy(np.float64))
        assert tail.problems == problems
    return frame["step"].tolist(), problems


# ------------------------------------------------------------------------------------- 1. byte-order mark
def test_a_byte_order_mark_before_the_headers_is_skipped_by_every_reader(tmp_path):
    """Excel's "CSV UTF-8" writes EF BB BF first: the run could not be opened on any page ("metrics.csv has
    no 'step' column (its header: '\\ufeffstep,...')")."""
    run = finished(tmp_path, "bom", range(1, 21))
    rewrite(run, lambda data: BOM + data)
    events = run.path / "events.csv"
    events.write_bytes(BOM + b"step,time,kind,detail,fields\n20,2026-01-01T00:00:00,note,a note,{}\n")

    steps, problems = every_reader(tmp_path, "bom")
    assert steps == list(range(1, 21)) and problems == []
    view = RunRegistry(tmp_path).view("bom")
    assert view.problems == [] and view.store.last_step == 20
    assert [e["kind"] for e in view.events] == ["note"]
    frame, problems = run.read_events_checked()
    assert problems == [] and frame["kind"].tolist() == ["note"]
    tail = EventsTail(events)
    tail.poll()
    assert tail.problems == [] and tail.events[-1]["kind"] == "note"
    (row,) = RunRegistry(tmp_path).summaries()
    assert row["problems"] == "" and row["last"]["d_loss"] == pytest.approx(record(20)[2])
    assert run.first_metrics_step() == 1 and run.last_metrics_step() == 20


def test_a_tail_of_a_file_with_a_byte_order_mark_keeps_its_place(tmp_path):
    """The offsets count the mark's three bytes: rows appended later are read once, whole."""
    run = RunDir.create(tmp_path, CFG, "live")
    path = run.path / "metrics.csv"
    run.open_metrics(CSV_COLUMNS)
    run.append_records([record(s) for s in range(1, 4)])
    run.close()
    path.write_bytes(BOM + path.read_bytes())
    tail = MetricsTail(path, "live")
    assert tail.poll().rows[:, 0].tolist() == [1, 2, 3]
    assert tail.offset == path.stat().st_size
    run.open_metrics(CSV_COLUMNS)  # a writer goes on under the header (a resume does)
    run.append_records([record(s) for s in range(4, 6)])
    chunk = tail.poll()
    assert not chunk.reset and chunk.rows[:, 0].tolist() == [4, 5]
    np.testing.assert_allclose(chunk.rows[1], record(5)[:-1])
    assert tail.problems == []
    run.release()


def test_a_run_whose_metrics_start_with_a_byte_order_mark_resumes(tmp_path):
    root = tmp_path / "runs"
    runner = Runner(GANConfig(**TINY, dataset="ring8", steps=6, checkpoint_every=6), root, "r").start()
    assert runner.wait(TIMEOUT) and runner.status == "finished", runner.error
    rewrite(RunDir.open(root, "r"), lambda data: BOM + data)
    resumed = Runner.reopen(RunDir.open(root, "r"), {"steps": 9}).start()
    assert resumed.wait(TIMEOUT) and resumed.status == "finished", resumed.error
    steps, problems = every_reader(root, "r")
    assert steps == list(range(1, 10)) and problems == []


def test_a_metrics_csv_without_a_step_column_leaves_the_run_reachable(tmp_path):
    """It made the run unopenable on every page (no Probe, no samples): now its charts are empty and one
    line says why and what is allowed."""
    root = tmp_path / "runs"
    runner = Runner(GANConfig(**TINY, dataset="ring8", steps=6, checkpoint_every=6), root, "r").start()
    assert runner.wait(TIMEOUT) and runner.status == "finished", runner.error
    rewrite(RunDir.open(root, "r"), lambda data: data.replace(b"step,", b"stp,", 1))
    view = RunRegistry(root).view("r")
    assert view.store.last_step is None and view.checkpoint_steps() == [6] and view.snapshot_steps()
    assert view.problems[0].startswith("metrics.csv has no 'step' column (its header: 'stp,time_s,d_loss,")
    assert "allowed: a first line naming the columns, 'step' among them" in view.problems[0]
    (row,) = RunRegistry(root).summaries()
    assert "metrics.csv has no 'step' column" in row["problems"]


# ------------------------------------------------------------------------------------- 2. a row cut short
def test_a_row_cut_short_in_the_middle_is_left_out_and_said_not_drawn_as_nan(tmp_path):
    """Row 10 cut to 30 characters: its missing cells were stored as NaN, which the charts mark as a
    failure (✕ NaN), and nothing said so."""
    run = finished(tmp_path, "torn", range(1, 21))

    def cut(data: bytes) -> bytes:
        lines = data.split(b"\n")
        lines[10] = lines[10][:30]  # (line 0: the header)
        lines[15] = lines[15][:12]
        return b"\n".join(lines)

    rewrite(run, cut)
    steps, problems = every_reader(tmp_path, "torn")
    assert steps == [s for s in range(1, 21) if s not in (10, 15)]
    assert problems[0] == (
        "metrics.csv: 2 rows with fewer fields than its header (cut short) left out: steps 10, 15; a row "
        "holds one field per column, a blank one for a value not measured"
    )
    view = RunRegistry(tmp_path).view("torn")
    assert problems[0] in view.problems
    drawn = view.store.view(nonfinite=True)
    assert not (drawn["d_loss_nonfinite"].to_numpy() & NONFINITE_NAN).any()  # no NaN mark anywhere


def test_a_torn_last_line_of_a_live_file_is_waited_for_not_said(tmp_path):
    run = finished(tmp_path, "live", range(1, 6))
    path = run.path / "metrics.csv"
    line = b",".join(str(v).encode() for v in record(6)[:-1]) + b",\n"
    with open(path, "ab") as f:
        f.write(line[:20])  # a writer's row half written
    tail = MetricsTail(path, "live")
    assert tail.poll().rows[:, 0].tolist() == [1, 2, 3, 4, 5] and tail.problems == []
    with open(path, "ab") as f:
        f.write(line[20:])
    assert tail.poll().rows[:, 0].tolist() == [6] and tail.problems == []


# ----------------------------------------------------------------------------------------- 3. step rule
@pytest.mark.parametrize(
    ("step", "shown"),
    [("-3", "-3"), ("22.5", "22.5"), ("99999999999999999999", "1e+20"), ("abc", "the text 'abc'")],
)
def test_a_step_that_is_no_whole_number_from_0_is_left_out_and_said(tmp_path, step, shown):
    """-3 and 22.5 were kept (a warning said "steps -2 to 0 have no row"), 1e20 silently."""
    run = finished(tmp_path, "s", range(1, 11))
    rewrite(run, lambda data: data.replace(b"\n5,", f"\n{step},".encode(), 1))
    steps, problems = every_reader(tmp_path, "s")
    assert steps == [1, 2, 3, 4, 6, 7, 8, 9, 10]
    assert problems[0].startswith("metrics.csv: 1 row without a usable step (the first: row 5, step ")
    assert problems[0].endswith(") left out; a step is an integer ≥ 0, at most 1000000000")
    assert f"step {shown})" in problems[0]
    (row,) = RunRegistry(tmp_path).summaries()
    assert row["step"] == 10 and row["last"]["d_loss"] == pytest.approx(record(10)[2])


def test_the_listing_never_takes_a_step_past_the_largest_a_run_may_have(tmp_path):
    run = finished(tmp_path, "big", range(1, 11))
    rewrite(
        run,
        lambda data: data + b",".join([b"99999999999999999999", *[b"1"] * (len(CSV_COLUMNS) - 1)]) + b"\n",
    )
    assert run.last_metrics_step() == 10
    assert run.last_metrics()["d_loss"] == pytest.approx(record(10)[2])


# --------------------------------------------------------------------------------------- 4. rows out of order
def test_rows_out_of_order_are_summarised_in_step_order(tmp_path):
    """Rows 11-20 first, then 1-10: every page said "metrics.csv starts at step 11: steps 1 to 10 have no
    row", the listing "ends at step 10", its latest losses those of step 10."""
    run = finished(tmp_path, "moved", range(1, 21))

    def move(data: bytes) -> bytes:
        header, _, body = data.partition(b"\n")
        rows = body.splitlines(keepends=True)
        return header + b"\n" + b"".join(rows[10:] + rows[:10])

    rewrite(run, move)
    steps, problems = every_reader(tmp_path, "moved")
    assert steps == list(range(1, 21)) and problems == []
    assert RunRegistry(tmp_path).view("moved").problems == []
    assert run.first_metrics_step() == 1 and run.last_metrics_step() == 20
    (row,) = RunRegistry(tmp_path).summaries()
    assert row["problems"] == "" and row["step"] == 20
    assert row["last"]["d_loss"] == pytest.approx(record(20)[2])
    assert math.isfinite(row["last"]["g_loss"])
