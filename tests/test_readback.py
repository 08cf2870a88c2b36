"""The lagged read-back of a step's scalars (issue 15): the copy's event is waited on before reading."""

import pytest
import torch

from gan_core.tracking.readback import LaggedReadback, PendingValues


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
