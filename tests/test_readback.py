"""The lagged read-back of a step's scalars (issue 15): the copy's event is waited on before reading."""

import pytest
import torch

from gan_core.tracking.readback import LaggedReadback, PendingRow, PendingValues


class RecordingEvent:
    def __init__(self, log: list[str], done: bool):
        self.log, self.done = log, done

    def synchronize(self) -> None:
        self.log.append("synchronize")
        self.done = True

    def query(self) -> bool:
        return self.done


def test_reading_waits_on_the_copys_event_once():
    log: list[str] = []
    pending = PendingValues(torch.tensor([1.5, -2.0, float("nan")]), RecordingEvent(log, done=False))
    assert not pending.ready()
    values = pending.tolist()
    assert values[:2] == [1.5, -2.0] and values[2] != values[2]
    assert log == ["synchronize"] and pending.ready()
    assert pending.tolist() is values and log == ["synchronize"]  # read once, then free


def test_on_the_cpu_the_values_are_there_at_once():
    readback = LaggedReadback()
    first = readback.start(torch.tensor([0.25, 3.0], dtype=torch.float64))
    second = readback.start(torch.arange(3, dtype=torch.float32))
    assert first.ready() and second.ready()
    assert first.tolist() == pytest.approx([0.25, 3.0], abs=0) and second.tolist() == [0.0, 1.0, 2.0]


def test_a_pending_row_keeps_the_known_columns_order_and_fills_the_named_ones_when_read():
    log: list[str] = []
    values = PendingValues(torch.tensor([0.75, 2.0]), RecordingEvent(log, done=False))
    known = {"step": 7.0, "d_loss": float("nan"), "time_s": 1.5, "g_loss": float("nan")}
    row = PendingRow(7, known, ("d_loss", "g_loss"), values, {"g_grad_norm"})
    assert row.step == 7 and row.unmeasured == {"g_grad_norm"} and not row.ready() and log == []
    result = row.result()
    assert list(result) == ["step", "d_loss", "time_s", "g_loss"]  # the named values land in place
    assert result == {"step": 7.0, "d_loss": 0.75, "time_s": 1.5, "g_loss": 2.0}
    assert row.ready() and row.result() is result and log == ["synchronize"]
    assert known["d_loss"] != known["d_loss"]  # the caller's dict is left as it was
