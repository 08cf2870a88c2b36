"""The message a page shows while the engine's modules load (ui/starting.py)."""

from __future__ import annotations

import pytest

from ui import starting


class Slot:
    """What `st.empty()` returns, recording what is drawn into it."""

    def __init__(self, log: list):
        self.log = log

    def info(self, body, icon=None):
        self.log.append(("info", body))

    def empty(self):
        self.log.append(("empty", None))


@pytest.fixture
def log(monkeypatch):
    drawn: list = []
    monkeypatch.setattr(starting.st, "empty", lambda: drawn.append(("slot", None)) or Slot(drawn))
    return drawn


def test_the_message_is_shown_while_the_engine_loads_then_cleared(log, monkeypatch):
    monkeypatch.setattr(starting, "ENGINE", "a_module_nobody_imported")
    with starting.engine_loading():
        assert log == [("slot", None), ("info", starting.MESSAGE)]  # shown before the imports run
    assert log[-1] == ("empty", None)


def test_the_message_is_cleared_when_an_import_fails(log, monkeypatch):
    monkeypatch.setattr(starting, "ENGINE", "a_module_nobody_imported")
    with pytest.raises(ImportError), starting.engine_loading():
        raise ImportError("no module named torch")
    assert log == [("slot", None), ("info", starting.MESSAGE), ("empty", None)]


def test_nothing_is_said_once_the_engine_is_loaded_but_the_slot_stays(log):
    import gan_core.app  # noqa: F401  (loaded: every page after a server's first)

    with starting.engine_loading():
        pass
    assert log == [("slot", None)]  # the same element tree as the first run, an empty slot first
