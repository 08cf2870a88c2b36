"""The tailing readers of a run folder (gan_core.tracking.tail) and the registry's live view of a run that
another process writes: only new bytes read, torn lines waited for, rewritten files noticed, the readers'
forgiving rules kept."""

import math
import os

import numpy as np
import pytest

from gan_core.config import GANConfig
from gan_core.registry import RunRegistry
from gan_core.rundir import RunDir, _metrics_frame
from gan_core.store import MetricStore
from gan_core.tracking.schema import CSV_COLUMNS, EVAL_COLUMNS, RECORD_COLUMNS
from gan_core.tracking.tail import MARK_BYTES, EventsTail, MetricsTail

CFG = GANConfig(dataset="ring8", width=16, latent_dim=4, device="cpu")
N_METRICS = len(RECORD_COLUMNS)


def record(step: int, flags: str = "") -> tuple:
    """One metrics.csv row as the runner writes it: numbers in RECORD_COLUMNS order, then the flags."""
    values = [float(step)] + [0.5 + step / 1000 + i / 100 for i in range(1, N_METRICS)]
    values[RECORD_COLUMNS.index("mode_kl")] = math.nan  # not measured at this step: a blank cell
    return (*values, flags)


@pytest.fixture
def writer(tmp_path):
    """A run folder being written by its own writer (as another process would): appends rows on demand."""
    run = RunDir.create(tmp_path, CFG, "ext")
    run.open_metrics(CSV_COLUMNS)
    yield run
    run.release()


def append(run: RunDir, steps) -> None:
    for step in steps:
        run.append_record(record(step))


def metrics_path(run: RunDir):
    return run.path / "metrics.csv"


def test_appends_are_read_as_they_come_and_only_the_new_bytes(writer):
    append(writer, range(1, 6))
    tail = MetricsTail(metrics_path(writer), "ext")
    first = tail.poll()
    assert first.reset and first.columns == RECORD_COLUMNS
    assert first.rows[:, 0].tolist() == [1, 2, 3, 4, 5]
    assert first.rows[2] == pytest.approx(record(3)[:-1], nan_ok=True)
    assert tail.offset == os.path.getsize(metrics_path(writer))

    size, read = tail.offset, tail.bytes_read
    append(writer, range(6, 9))
    new_bytes = os.path.getsize(metrics_path(writer)) - size
    chunk = tail.poll()
    assert not chunk.reset and chunk.rows[:, 0].tolist() == [6, 7, 8]
    assert tail.offset == size + new_bytes
    # the new rows, and the header and the bytes before the offset checked: nothing else of the file
    header = metrics_path(writer).read_bytes().index(b"\n") + 1
    assert new_bytes <= tail.bytes_read - read <= new_bytes + header + MARK_BYTES

    read = tail.bytes_read
    nothing = tail.poll()
    assert not nothing.reset and nothing.rows.shape == (0, N_METRICS)
    assert 0 <= tail.bytes_read - read <= header + MARK_BYTES


def test_a_torn_last_line_waits_until_it_is_complete(writer):
    append(writer, [1, 2])
    tail = MetricsTail(metrics_path(writer))
    tail.poll()
    line = ",".join(str(v) for v in record(3)[:-1]) + ",\n"
    with open(metrics_path(writer), "ab") as f:  # a writer half way through its append
        f.write(line[:25].encode())
    at = tail.offset
    assert tail.poll().rows.shape == (0, N_METRICS) and tail.offset == at and not tail.problems
    with open(metrics_path(writer), "ab") as f:
        f.write(line[25:].encode())
    chunk = tail.poll()
    assert not chunk.reset and chunk.rows[:, 0].tolist() == [3]
    assert chunk.rows[0, 1] == pytest.approx(record(3)[1], rel=1e-15, abs=0)


def test_a_file_replaced_by_rename_is_read_again_from_the_start(writer):
    append(writer, range(1, 11))
    tail = MetricsTail(metrics_path(writer))
    assert len(tail.poll().rows) == 10
    writer.close()
    assert writer.truncate_metrics(4) == 6  # a resume from step 4: a new file renamed over the old
    writer.open_metrics(CSV_COLUMNS)
    append(writer, [5, 6])
    chunk = tail.poll()
    assert chunk.reset and chunk.rows[:, 0].tolist() == [1, 2, 3, 4, 5, 6]
    assert tail.poll().rows.shape == (0, N_METRICS)


def test_a_file_that_shrank_or_was_rewritten_in_place_is_read_again(writer):
    append(writer, range(1, 11))
    path = metrics_path(writer)
    tail = MetricsTail(path)
    tail.poll()
    data = path.read_bytes()
    with open(path, "r+b") as f:  # cut in place: the same inode, shorter
        f.truncate(data.index(b"\n4,") + 1)
    chunk = tail.poll()
    assert chunk.reset and chunk.rows[:, 0].tolist() == [1, 2, 3]

    # Rewritten in place (the same inode), longer: other rows where the last one read was.
    header = data[: data.index(b"\n") + 1].decode()
    lines = [",".join(str(v) for v in record(step, "d_overpowers")[:-1]) for step in (1, 2, 3, 4)]
    path.write_text(header + "".join(f"{line},d_overpowers\n" for line in lines))
    chunk = tail.poll()
    assert chunk.reset and chunk.rows[:, 0].tolist() == [1, 2, 3, 4]

    # ... and with another header: other columns.
    path.write_text("step,my_fid\n1,30\n2,29\n3,28\n4,27\n5,26\n")
    chunk = tail.poll()
    assert chunk.reset and chunk.columns == (*RECORD_COLUMNS, "my_fid") and len(chunk.rows) == 5


def test_a_file_removed_then_written_again_is_read_from_the_start(tmp_path):
    path = tmp_path / "metrics.csv"
    tail = MetricsTail(path, "r")
    empty = tail.poll()  # no file yet: an empty store of the needed columns
    assert empty.reset and empty.columns == RECORD_COLUMNS and empty.rows.shape == (0, N_METRICS)
    path.write_text("step,d_loss,my_fid\n1,0.5,30\n")
    chunk = tail.poll()
    assert chunk.reset and chunk.columns == (*RECORD_COLUMNS, "my_fid")  # other columns: a new store
    path.unlink()
    gone = tail.poll()
    assert gone.reset and gone.rows.shape == (0, N_METRICS)


def test_extra_columns_are_kept_numeric_after_the_known_ones(tmp_path):
    path = tmp_path / "metrics.csv"
    path.write_text("my_fid,step,d_loss,flags,my_is,rows\n30.5,1,0.7,x,2,9\n,2,0.6,,inf,9\n")
    tail = MetricsTail(path, "r")
    chunk = tail.poll()
    assert chunk.columns == (*RECORD_COLUMNS, "my_fid", "my_is")  # known ones first; flags is text
    rows = dict(zip(chunk.columns, chunk.rows.T))
    assert rows["my_fid"][0] == pytest.approx(30.5, abs=1e-12) and math.isnan(rows["my_fid"][1])
    assert rows["my_is"].tolist() == [2.0, math.inf]
    assert rows["d_loss"] == pytest.approx([0.7, 0.6], abs=1e-12)
    assert np.isnan(rows["g_loss"]).all()
    missing = len(RECORD_COLUMNS) - 2 - len(EVAL_COLUMNS)  # quality columns: gaps, not reported
    assert tail.problems == [
        f"metrics.csv lacks {missing} columns (time_s, d_loss_real, d_loss_fake, g_loss, d_acc_real, "
        f"d_acc_fake and {missing - 6} more); shown as gaps",
        "metrics.csv: column 'rows' left out: its name clashes with a column the charts derive from "
        "another (step, rows, or a metric's _min, _max, _nonfinite)",
    ]
    store = MetricsTail(path, "r").fill()  # a store of those columns takes the rows
    assert store.columns == chunk.columns and len(store) == 2


def test_an_extra_column_named_against_the_writers_rule_is_left_out_and_named(tmp_path):
    path = tmp_path / "metrics.csv"
    path.write_text("step,d_loss,<b>fid</b>,ok_metric\n1,0.7,3,4\n")
    tail = MetricsTail(path, "r")
    assert tail.poll().columns == (*RECORD_COLUMNS, "ok_metric")
    assert any("column '<b>fid</b>' left out: a metric's name is ASCII letters" in p for p in tail.problems)


def test_a_header_naming_a_column_twice_reads_the_first_and_says_so(tmp_path):
    """A header with d_loss where d_loss_real was: the Train view drew the second d_loss as a custom
    metric "d_loss.1" and said only that d_loss_real was missing."""
    path = tmp_path / "metrics.csv"
    path.write_text("step,d_loss,d_loss,x.1,x\n1,0.7,0.3,5,6\n2,0.6,0.2,5,6\n")
    tail = MetricsTail(path, "r")
    chunk = tail.poll()
    assert chunk.columns == (*RECORD_COLUMNS, "x.1", "x")  # a file's own "x.1" is a column of its own
    rows = dict(zip(chunk.columns, chunk.rows.T))
    assert rows["d_loss"] == pytest.approx([0.7, 0.6], abs=1e-12)
    assert "metrics.csv: its header names column 'd_loss' twice; only the first is read" in tail.problems


def test_rows_holding_a_carriage_return_are_left_out_as_a_whole_read_says(writer):
    """A \r inside a row: pyarrow ended the row there, and the Train view kept half of it and called the
    other half 'a row without a usable step'."""
    append(writer, range(1, 4))
    with open(metrics_path(writer), "ab") as f:
        f.write(b"4,0.5\r" + b",0.5" * (N_METRICS - 2) + b",\n")
        f.write(b"5" + b",0.5" * (N_METRICS - 1) + b",\r\n")  # a CRLF ending is a sound row
        f.write(b"6,abc" + b",0.5" * (N_METRICS - 2) + b",\n")  # a text cell in time_s
        f.write(b"\r7" + b",0.5" * (N_METRICS - 1) + b",\n")
    append(writer, [8])
    frame, expected = writer.read_metrics_checked(RECORD_COLUMNS)
    for chunk_bytes in (1 << 20, 200):  # one chunk, and many
        tail = MetricsTail(metrics_path(writer), "ext", chunk_bytes=chunk_bytes)
        rows = tail.poll().rows
        assert rows[:, 0].tolist() == [1, 2, 3, 5, 6, 8]
        np.testing.assert_array_equal(rows, frame[list(RECORD_COLUMNS)].to_numpy(np.float64))
        assert tail.problems == expected
    assert expected == [
        "metrics.csv: 2 rows holding a carriage return (\\r) inside left out (the first at line 5)",
        "metrics.csv: column 'time_s' has the text 'abc' at row 5, not a number; shown as a gap",
        "metrics.csv: step 4 has no row (the first of 2 gaps, 2 steps in all); its charts draw a line across "
        "the gaps",
    ]


def test_a_row_ending_in_two_carriage_returns_is_a_sound_row_as_a_whole_read_says(writer):
    """\r\r\n (a Windows text-mode writer's) ended the tail with an IndexError."""
    append(writer, range(1, 3))
    with open(metrics_path(writer), "ab") as f:
        f.write(b"3" + b",0.5" * (N_METRICS - 1) + b",\r\r\n")
    append(writer, [4])
    frame, expected = writer.read_metrics_checked(RECORD_COLUMNS)
    for chunk_bytes in (1 << 20, 200):
        tail = MetricsTail(metrics_path(writer), "ext", chunk_bytes=chunk_bytes)
        rows = tail.poll().rows
        np.testing.assert_array_equal(rows, frame[list(RECORD_COLUMNS)].to_numpy(np.float64))
        assert tail.problems == expected
    assert frame["step"].tolist() == [1, 2, 3, 4]


def test_bad_cells_are_gaps_and_problem_lines_as_a_whole_read_says(writer):
    append(writer, range(1, 5))
    with open(metrics_path(writer), "a") as f:
        f.write("5,abc" + ",0.5" * (N_METRICS - 2) + ",\n")  # a text cell in time_s
        f.write("oops" + ",0.5" * (N_METRICS - 1) + ",\n")  # no usable step
        f.write("7" + ",0.5" * (N_METRICS - 1) + ",x,extra\n")  # more fields than the header
    append(writer, [8])
    frame, expected = writer.read_metrics_checked(RECORD_COLUMNS)
    for chunk_bytes in (1 << 20, 200):  # one chunk, and many (the bad rows in chunks of their own)
        tail = MetricsTail(metrics_path(writer), "ext", chunk_bytes=chunk_bytes)
        rows = tail.poll().rows
        assert rows[:, 0].tolist() == [1, 2, 3, 4, 5, 8]
        assert math.isnan(rows[4, 1]) and rows[4, 2] == pytest.approx(0.5, abs=1e-12)
        np.testing.assert_array_equal(rows, frame[list(RECORD_COLUMNS)].to_numpy(np.float64))
        assert tail.problems == expected
    assert expected == [
        "metrics.csv: 1 row with more fields than its header left out",
        "metrics.csv: column 'time_s' has the text 'abc' at row 5, not a number; shown as a gap",
        "metrics.csv: 1 row without a usable step (the first: row 6, step the text 'oops') left out; a step "
        "is an integer ≥ 0, at most 1000000000",
        "metrics.csv: steps 6 to 7 have no row; its charts draw a line across the gap",
    ]


def test_rows_too_long_or_opening_a_quote_are_left_out_as_a_whole_read_says(writer):
    """A first row too long (pandas cut it to the header, its cells under the wrong names) and a row that
    opens a quote it does not close (read on to the end of the file as one cell: every later row lost),
    in one chunk and in many: the tail and a whole read keep the same rows and say the same."""
    with open(metrics_path(writer), "ab") as f:
        f.write(b"1" + b",0.5" * (N_METRICS - 1) + b",,9\n")  # the first row, one field too many
    append(writer, range(2, 5))
    with open(metrics_path(writer), "ab") as f:
        f.write(b"5" + b",0.5" * (N_METRICS - 1) + b',"unterminated\n')
    append(writer, range(6, 10))
    frame, expected = writer.read_metrics_checked(RECORD_COLUMNS)
    for chunk_bytes in (1 << 20, 200):
        tail = MetricsTail(metrics_path(writer), "ext", chunk_bytes=chunk_bytes)
        rows = tail.poll().rows
        assert rows[:, 0].tolist() == [2, 3, 4, 6, 7, 8, 9]
        np.testing.assert_array_equal(rows, frame[list(RECORD_COLUMNS)].to_numpy(np.float64))
        assert tail.problems == expected
    assert expected == [
        "metrics.csv: 1 row with more fields than its header left out",
        'metrics.csv: 1 row opening a quote (") it does not close left out: step 5; a row is one line, and a '
        "quoted cell ends on it",
        "metrics.csv: step 5 has no row; its charts draw a line across the gap",
    ]


def test_a_file_without_a_step_column_is_read_as_one_without_rows_and_said(tmp_path):
    """It made the whole run unopenable (its checkpoints and samples too)."""
    path = tmp_path / "metrics.csv"
    path.write_text("time_s,d_loss\n1,2\n")
    tail = MetricsTail(path, "r")
    assert len(tail.poll().rows) == 0
    said = (
        "metrics.csv has no 'step' column (its header: 'time_s,d_loss'); nothing in it can be placed, so its "
        "charts show no step; allowed: a first line naming the columns, 'step' among them (as this tool "
        "writes it)"
    )
    assert tail.problems == [said] and tail.header_problems() == [said]
    path.write_text("step,time_s,d_loss\n1,2,3\n")  # put right: read from then on
    assert tail.poll().rows[:, 0].tolist() == [1]
    assert not any("'step'" in p for p in tail.problems)


def test_a_step_seen_again_means_the_file_went_back_and_is_read_again(writer):
    append(writer, range(1, 7))
    tail = MetricsTail(metrics_path(writer), "ext", chunk_bytes=150)
    tail.poll()
    append(writer, [4, 5, 6, 7])  # a writer that went back to step 3 without rewriting the file
    chunk = tail.poll()
    assert chunk.reset and chunk.rows[:, 0].tolist() == [1, 2, 3, 4, 5, 6, 7]
    frame, _ = writer.read_metrics_checked(RECORD_COLUMNS)
    np.testing.assert_array_equal(chunk.rows, frame[list(RECORD_COLUMNS)].to_numpy(np.float64))
    append(writer, [8])
    after = tail.poll()
    assert not after.reset and after.rows[:, 0].tolist() == [8]


def test_rows_out_of_order_are_sorted_one_per_step(tmp_path):
    path = tmp_path / "metrics.csv"
    path.write_text("step,d_loss\n3,0.3\n1,0.1\n2,0.2\n1,0.15\n")
    rows = MetricsTail(path, "r", columns=("step", "d_loss")).poll().rows
    assert rows.tolist() == [[1, 0.15], [2, 0.2], [3, 0.3]]


def test_a_store_filled_by_chunks_equals_one_filled_from_the_whole_file(writer):
    append(writer, range(1, 400))
    frame, _ = writer.read_metrics_checked(RECORD_COLUMNS)
    whole = MetricStore(RECORD_COLUMNS, capacity=16)
    whole.extend(frame[list(RECORD_COLUMNS)].to_numpy(np.float64))
    tail = MetricsTail(metrics_path(writer), chunk_bytes=1000)
    store = tail.fill(None)
    assert len(store) == len(whole) == 399
    # (a store of capacity 16 merges buckets many times over: the summaries must still agree)
    small = MetricStore(RECORD_COLUMNS, capacity=16)
    for chunk in MetricsTail(metrics_path(writer), chunk_bytes=1000).chunks():
        small.extend(chunk.rows)
    view, expected = small.view(10, nonfinite=True), whole.view(10, nonfinite=True)
    assert view.columns.tolist() == expected.columns.tolist()
    np.testing.assert_allclose(view.to_numpy(np.float64), expected.to_numpy(np.float64), rtol=1e-12, atol=0)


def test_events_tail_reads_what_is_appended_as_a_whole_read_does(writer):
    path = writer.path / "events.csv"
    tail = EventsTail(path)
    tail.poll()
    header, read = os.path.getsize(path), tail.bytes_read  # (the file holds its header only)
    writer.append_event(1, "status", "running", {"status": "running"})
    writer.append_event(2, "hparam", "lr_g: 0.0002 -> 0.001", {"field": "lr_g", "old": 0.0002, "new": 0.001})
    new_bytes = os.path.getsize(path) - header
    assert tail.poll()
    # the new lines, and the header and the bytes before the offset checked: not the file again
    assert new_bytes <= tail.bytes_read - read <= new_bytes + header + MARK_BYTES
    writer.append_event(3, "flag", "mode_collapse: ...", {"flag": "mode_collapse"})
    assert tail.poll() and not tail.poll()
    frame, problems = writer.read_events_checked()
    assert tail.events == frame.to_dict("records") and tail.problems == problems == []
    assert [e["kind"] for e in tail.events] == ["status", "hparam", "flag"]

    with open(path, "a") as f:  # a damaged line: problem lines as a whole read words them
        f.write("x,2025-01-01,flag,bad,{}\n")
    assert tail.poll()
    frame, problems = writer.read_events_checked()
    assert tail.events == frame.to_dict("records") and tail.problems == problems and len(problems) == 1


def test_registry_view_follows_rows_another_writer_appends(writer, tmp_path):
    append(writer, range(1, 4))
    writer.append_event(1, "status", "running", {"status": "running"})
    registry = RunRegistry(tmp_path)
    first = registry.view("ext")
    assert not first.live and len(first.store) == 3 and first.current_step == 3
    assert [e["kind"] for e in first.events] == ["status"]
    assert registry.view("ext") is first  # nothing changed: the same view

    append(writer, range(4, 9))
    writer.append_event(5, "flag", "d_overpowers: ...", {"flag": "d_overpowers"})
    second = registry.view("ext")
    assert second is not first and second.store is first.store  # the same store, extended
    assert len(second.store) == 8 and second.current_step == 8
    assert second.store.latest()["d_loss"] == pytest.approx(record(8)[2], abs=1e-12)
    assert [e["kind"] for e in second.events] == ["status", "flag"] and second.problems == []
    frame = second.store.view(300)
    assert frame["step"].tolist() == list(range(1, 9))

    writer.close()
    writer.truncate_metrics(2)  # the writer went back (a resume): a new file
    writer.open_metrics(CSV_COLUMNS)
    append(writer, [3])
    third = registry.view("ext")
    assert third.store is not second.store and len(second.store) == 8  # a page's old store untouched
    assert third.store.view(300)["step"].tolist() == [1, 2, 3]


@pytest.mark.parametrize(
    "data",
    [
        b'step\n1\n2\n"3\n4\n5\n',  # one column: a quote left open swallowed steps 4 and 5 in a whole read
        b"step\n1,9\n2\n3\n",  # one column: a long first row was read as step 1
        b"step,a,b\n1,7,0.5,0.6\n2,0.5\n3,0.5,0.6\n",  # a long first row whose comma a short row makes up
    ],
    ids=["one-column-quote", "one-column-long", "long-first-row-made-up"],
)
def test_a_whole_read_and_the_tail_keep_the_same_rows_of_a_file_the_fast_count_missed(tmp_path, data):
    """Found by review: a one-column header skipped the checks in a whole read, and a long first row passed
    the commas' count when a short row made up for it (pandas then cut it down, its cells shifted)."""
    path = tmp_path / "metrics.csv"
    path.write_bytes(data)
    frame, said = _metrics_frame(data, ["step"], "r")  # (a whole read of the file's bytes)
    for chunk_bytes in (1 << 20, 8):
        tail = MetricsTail(path, "r", columns=("step",), chunk_bytes=chunk_bytes)
        assert tail.poll().rows[:, 0].tolist() == frame["step"].tolist()
        assert sorted(tail.problems) == sorted(said) and said
