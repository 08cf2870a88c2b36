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
    monkeypatch.setattr(starting, "_loaded", False)  # a fresh server
    return drawn


def test_the_message_is_shown_while_the_engine_loads_then_cleared_and_not_shown_again(log):
    with starting.engine_loading():
        assert log == [("slot", None), ("info", starting.MESSAGE)]  # shown before the imports run
    assert log[-1] == ("empty", None)
    log.clear()
    with starting.engine_loading():  # every page after: nothing said, the slot kept (the same tree)
        pass
    assert log == [("slot", None)]


def test_a_page_opened_while_another_imports_says_so_too(log):
    # the first page, still importing, and a second tab meanwhile (it waits on the same imports)
    with starting.engine_loading(), starting.engine_loading():
        assert log.count(("info", starting.MESSAGE)) == 2
    assert log.count(("empty", None)) == 2


def test_the_message_is_cleared_when_an_import_fails_and_shown_again_next_time(log):
    with pytest.raises(ImportError), starting.engine_loading():
        raise ImportError("no module named torch")
    assert log == [("slot", None), ("info", starting.MESSAGE), ("empty", None)]
    log.clear()
    with starting.engine_loading():
        assert log == [("slot", None), ("info", starting.MESSAGE)]
