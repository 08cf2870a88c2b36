"""The comparison in the address: ``/Compare?runs=a,b,c&metrics=d_loss,fd_cls`` opens those runs and
metrics, the page keeps the address up to date as they are chosen (a reload or a shared link shows the same
comparison), and the runs or metrics of a link that cannot be opened are said in one message, the others
opened."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.test_compare_page import APP_DIR, TIMEOUT, charts, finished
from tests.test_literal import outside_code, shown


@pytest.fixture
def three_runs(runs_root):
    for seed, run_id in enumerate(("ring-a", "ring-b", "ring-c")):
        finished(runs_root, run_id, steps=10, seed=seed)
    return runs_root


def opened(query: dict[str, str] | None = None) -> AppTest:
    """The Compare page as a browser opens it at an address with ``query``."""
    at = AppTest.from_file(str(APP_DIR / "pages/2_Compare.py"), default_timeout=TIMEOUT)
    for name, value in (query or {}).items():
        at.query_params[name] = value
    at.run()
    assert not at.exception
    return at


def address(at: AppTest) -> dict[str, str]:
    """The page's address' query parameters as it left them (one value each)."""
    return {name: value[-1] if isinstance(value, list) else value for name, value in at.query_params.items()}


def warnings(at: AppTest) -> list[str]:
    """The page's warnings as a reader sees them (`literal`'s Markdown read back)."""
    return [shown(w.value) for w in at.warning]


def chart_metrics(at: AppTest) -> list[str]:
    return [key.removeprefix("cmp_chart_") for key in charts(at) if key.startswith("cmp_chart_")]


def test_a_link_opens_its_runs_and_metrics_in_its_order(three_runs):
    at = opened({"runs": "ring-c,ring-a", "metrics": "g_loss,d_grad_norm"})
    assert at.multiselect(key="cmp_runs").value == ["ring-c", "ring-a"]
    assert at.multiselect(key="cmp_metrics").value == ["g_loss", "d_grad_norm"]
    assert chart_metrics(at) == ["g_loss", "d_grad_norm"]
    assert at.dataframe[0].value["run"].tolist() == ["ring-c", "ring-a"]  # the summary, in that order
    assert warnings(at) == []
    # the address as the page keeps it: what it shows, nothing more
    assert address(at) == {"runs": "ring-c,ring-a", "metrics": "g_loss,d_grad_norm"}


def test_the_address_follows_the_choices_and_a_reload_shows_the_same_comparison(three_runs):
    at = opened()  # no comparison in the address: the newest two, the default metrics, written into it
    first = at.multiselect(key="cmp_runs").value
    assert len(first) == 2 and address(at)["runs"] == ",".join(first)
    assert address(at)["metrics"] == "d_loss,g_loss,d_acc_real,d_acc_fake"
    at.multiselect(key="cmp_runs").set_value(["ring-b", "ring-a", "ring-c"]).run()
    at.multiselect(key="cmp_metrics").set_value(["d_real", "lr_g"]).run()
    assert address(at)["runs"] == "ring-b,ring-a,ring-c" and address(at)["metrics"] == "d_real,lr_g"
    # a reload (a new session at that address) draws the same comparison
    again = opened({"runs": address(at)["runs"], "metrics": address(at)["metrics"]})
    assert again.multiselect(key="cmp_runs").value == ["ring-b", "ring-a", "ring-c"]
    assert chart_metrics(again) == ["d_real", "lr_g"]
    # no run chosen: no runs in the address (the page says there is nothing to draw)
    at.multiselect(key="cmp_runs").set_value([]).run()
    assert "runs" not in address(at) and address(at)["metrics"] == "d_real,lr_g"


def test_unknown_and_malformed_names_in_a_link_are_said_once_and_the_others_opened(three_runs):
    at = opened({"runs": "ring-a,ghost,bad id!,ring-b,ring-a,", "metrics": "d_loss,no_such,<b>x</b>"})
    assert at.multiselect(key="cmp_runs").value == ["ring-a", "ring-b"]  # (each once, in the link's order)
    assert chart_metrics(at) == ["d_loss"]
    (said,) = warnings(at)
    assert said.startswith("The address names runs that cannot be opened: ")
    assert "'bad id!'" in said and "no run may have such an id" in said  # the rule for an id, the id as typed
    assert "ghost" in said and "the runs folder does not hold it" in said
    assert "The others are compared." in said
    assert "what is no metric here" in said and "no_such" in said
    (markdown,) = [w.value for w in at.warning]
    assert "<b>x</b>" in said and "<" not in outside_code(markdown)  # (as text, not markup: `literal`)
    assert address(at)["runs"] == "ring-a,ring-b" and address(at)["metrics"] == "d_loss"
    # said until the comparison is changed
    at.toggle(key="cmp_log").set_value(True).run()
    assert warnings(at) == [said]
    at.multiselect(key="cmp_runs").set_value(["ring-a"]).run()
    assert warnings(at) == []


def test_a_link_none_of_whose_runs_can_be_opened_compares_the_newest_and_says_so(three_runs):
    at = opened({"runs": "gone-1,gone-2"})
    shown = at.multiselect(key="cmp_runs").value
    assert len(shown) == 2 and set(shown) <= {"ring-a", "ring-b", "ring-c"}
    (said,) = warnings(at)
    assert "gone-1, gone-2 (the runs folder does not hold them" in said
    assert said.endswith(f"Compared instead: {', '.join(shown)}.")
