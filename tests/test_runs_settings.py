"""The Runs page's settings: the ones that differ between the listed runs as columns beside them, and a
filter word ``name=value`` for any setting. A review (a sweep user at 1280 px): two ring8 runs at lr 2e-4
and 1e-3 were told apart by their ids' timestamps alone, and nothing sorted or filtered by a setting."""

from __future__ import annotations

import json

import pytest
import torch

import gan_core.track as track
from gan_core.registry import (
    LISTED_SETTINGS,
    RunRegistry,
    filter_runs,
    listing_settings,
    setting_compares,
    setting_matches,
)
from tests.test_runs_page import finished_run, runs_page


@pytest.fixture
def sweep(runs_root):
    """Two built-in ring8 runs at lr_g 2e-4 and 1e-3 (seed 0 and 1) and a user's loop whose config says
    its lr and a field named as one of the table's columns."""
    finished_run(runs_root, "lr-low", lr_g=2e-4)
    finished_run(runs_root, "lr-high", lr_g=1e-3, seed=1)
    config = {"lr": 5e-4, "status": "mine", "layers": [64, 64]}
    run = track.init("own", root=runs_root, real=torch.randn(64, 2), config=config)
    for _ in range(3):
        run.d_step(torch.randn(8), torch.randn(8), d_loss=1.3, d_grad_norm=1.0)
        run.g_step(0.7, g_grad_norm=1.0)
    run.finish()
    return runs_root


def test_the_listings_settings_are_compares_for_each_run(sweep):
    """The listing reads each run's settings from what it reads anyway (config.json, the last row,
    status.json): the same as Compare's `RunView.settings` for runs without a mid-run change."""
    registry = RunRegistry(sweep)
    for row in registry.summaries():
        assert row["settings"] == registry.view(row["run_id"]).settings(), row["run_id"]


def test_the_settings_that_differ_are_columns_of_numbers_in_the_rows_order(sweep):
    rows = [row for row in RunRegistry(sweep).summaries() if row["run_id"].startswith("lr-")]
    shown = listing_settings(rows)
    assert list(shown.columns) == ["lr_g", "seed"]
    assert list(shown.index) == [row["run_id"] for row in rows]
    assert shown.loc["lr-low", "lr_g"] == pytest.approx(2e-4, rel=1e-12)
    assert shown.loc["lr-high", "lr_g"] == pytest.approx(1e-3, rel=1e-12)
    assert shown["seed"].dtype == "float64" and sorted(shown["seed"]) == [0.0, 1.0]
    assert listing_settings(rows[:1]).columns.empty  # one run: nothing differs
    # with the user's run: its own fields differ from the trainer's (the first few, training's first)
    mixed = listing_settings(RunRegistry(sweep).summaries())
    assert sorted(mixed.columns) == ["lr_g", "seed"]  # (the fields only some runs have: none differs)
    # at most LISTED_SETTINGS, those that shape training before the bookkeeping; never the target steps
    # ("of steps" has it) nor a fact with a column of its own
    many = {"(loss)": "hinge", "steps": 10, "eval_every": 5, "a": 1, "b": 1, "c": 1, "d": 1, "e": 1}
    rows = [
        {"run_id": "x", "status": "finished", "settings": many},
        {"run_id": "y", "status": "finished", "settings": {**{k: 2 for k in many}, "(loss)": "minimax"}},
    ]
    assert list(listing_settings(rows).columns) == ["a", "b", "c", "d"][:LISTED_SETTINGS]


def test_the_runs_page_shows_them_after_the_quality_and_sorts_them_as_numbers(sweep):
    at = runs_page()
    at.text_input(key="runs_filter").input("lr-").run()
    assert not at.exception
    table = at.dataframe[0]  # (a list of other runs is a table of its own: its key's generation)
    assert dict(zip(table.value["run_id"], table.value["lr_g"])) == pytest.approx(
        {"lr-low": 2e-4, "lr-high": 1e-3}, rel=1e-12
    )
    order = list(table.proto.column_order)
    assert order.index("quality_step") + 1 == order.index("lr_g") < order.index("seed")
    assert order[:4] == ["run_id", "status", "step", "flags"]  # (the flags up in view at 1,440 px)
    columns = json.loads(table.proto.columns)
    assert columns["lr_g"]["type_config"] == {"type": "number", "format": "%.6g"}
    # a column of whole numbers whole: "%.4g" wrote a seed of 123456 1.235e+05, its neighbours alike
    assert columns["seed"]["type_config"] == {"type": "number", "format": "%d"}
    assert "differs between the runs listed" in columns["lr_g"]["help"]


def test_a_setting_named_as_a_column_of_the_table_is_said_as_a_setting(runs_root):
    for run_id, status in (("mine-a", "draft"), ("mine-b", "final")):
        track.init(run_id, root=runs_root, real=torch.randn(64, 2), config={"status": status}).finish()
    table = runs_page().dataframe(key="runs_table").value
    assert dict(zip(table["run_id"], table["status (setting)"])) == {"mine-a": "draft", "mine-b": "final"}
    assert set(table["status"]) == {"finished"}  # the run's own status column, as it was


def test_a_filter_word_name_value_picks_the_runs_with_that_setting(sweep):
    rows = RunRegistry(sweep).summaries()
    ids = lambda text: sorted(row["run_id"] for row in filter_runs(rows, text))  # noqa: E731
    assert ids("lr_g=1e-3") == ["lr-high"]
    assert ids("LR_G=0.0002") == ["lr-low"]
    assert ids("lr_g=0.0002 seed=1") == []
    assert ids("seed=1") == ["lr-high"]
    assert ids("lr=5e-4") == ids("lr=0.0005") == ids("status=MINE") == ["own"]
    assert ids("layers=[64,") == []  # (a setting's whole value, not a part)
    assert ids("lr=5e-4 lr-high") == []  # (a name no other run has: a word, as any other)
    # the run's facts by name too: its loss, dataset, model and source
    assert ids("dataset=ring8") == ids("loss=nonsaturating source=trainer") == ["lr-high", "lr-low"]
    assert ids("source=api") == ["own"]
    # the run's status as a setting is asked (a newcomer's review: status=failed found nothing), except in
    # a run whose own config has a setting of that name ("own": status MINE), where the setting is asked
    assert ids("status=finished") == ids("STATUS=Finished lr") == ["lr-high", "lr-low"]
    assert ids("status!=finished") == ["own"] and ids("status=failed") == []


def test_a_filter_word_compares_a_settings_number_or_says_it_is_not_that_value(sweep):
    """A sweep's user asks for a range (W&B's filters have them): lr_g<1e-3 showed "No run matches"."""
    rows = RunRegistry(sweep).summaries()
    ids = lambda text: sorted(row["run_id"] for row in filter_runs(rows, text))  # noqa: E731
    assert ids("lr_g<1e-3") == ids("lr_g<=2e-4") == ids("lr_g<0.000201") == ["lr-low"]
    assert ids("lr_g>=1e-3") == ids("lr_g>2e-4") == ids("lr_g!=2e-4") == ["lr-high"]
    assert ids("lr_g<=1e-3 lr_g>=2e-4") == ["lr-high", "lr-low"]  # (equal, as "=" takes it: 1e-9 relative)
    assert ids("lr_g<2e-4") == ids("lr_g>1e-3") == []
    assert ids("loss!=hinge") == ["lr-high", "lr-low", "own"]  # (a fact too)
    assert ids("dataset!=ring8") == ["own"]  # (a loop that names none)
    assert ids("lr<1e-3") == ["own"]  # (the loop's own config)
    assert ids("status<1") == ids("lr_g<abc") == ids("layers>1") == []  # text, a list: never a number


@pytest.mark.parametrize(
    ("value", "operator", "wanted", "holds"),
    [
        (0.001, "<", "1e-2", True),
        (0.001, "<", "1e-3", False),
        (0.001, "<=", "1e-3", True),
        (0.1 + 0.2, ">=", "0.3", True),  # (a float's last digits apart)
        (0.1 + 0.2, "<=", "0.3", True),
        (64, ">", "63.5", True),
        (True, ">", "0", False),  # (a bool is no number here)
        ("64", ">", "1", False),  # (a text is none either)
        (float("nan"), "<", "1", False),
        (5, "<", "nan", False),
        (5, "<", "inf", True),
        (10**400, ">", "1", True),  # (past float's range: compared as inf)
        ("hinge", "!=", "minimax", True),
        ("hinge", "!=", "HINGE".lower(), False),
        (None, "=", "null", True),
    ],
)
def test_setting_compares(value, operator, wanted, holds):
    assert setting_compares(value, operator, wanted) is holds


@pytest.mark.parametrize(
    ("value", "wanted", "same"),
    [
        (0.001, "1e-3", True),
        (0.001, "0.0010001", False),
        (0.1 + 0.2, "0.3", True),  # (a float's last digits apart)
        (64, "64.0", True),
        (64, "65", False),
        (True, "true", True),
        (True, "1", False),  # (a bool is no number here)
        ("hinge", "hinge", True),
        ("hinge", "hin", False),
        (None, "null", True),
        ({"a": 1}, '{"a":', False),
        ([64, 64], "[64,64]", True),  # (a filter word holds no space: JSON without them)
        ({"a": [1, 2]}, '{"a":[1,2]}', True),
        (10**400, "1", False),  # (past float's range: compared as text, no OverflowError)
        (10**400, "1" + "0" * 400, True),
    ],
)
def test_setting_matches(value, wanted, same):
    assert setting_matches(value, wanted) is same


def test_compares_quality_cells_are_as_precise_as_the_runs_pages(sweep):
    """A review: fd_cls read 133.2 on the Runs page and 133 in Compare's summary."""
    from streamlit.testing.v1 import AppTest

    from tests.test_runs_page import APP_DIR, TIMEOUT

    runs = json.loads(runs_page().dataframe(key="runs_table").proto.columns)
    at = AppTest.from_file(str(APP_DIR / "pages" / "2_Compare.py"), default_timeout=TIMEOUT)
    at.query_params["runs"] = "lr-low,lr-high"
    summary = json.loads(at.run().dataframe[0].proto.columns)  # (the summary: the first table)
    shown = runs["quality_value"]["type_config"]["format"]
    assert shown == "%.4g"
    assert [summary[c]["type_config"]["format"] for c in ("latest", "best")] == [shown] * 2


def test_a_settings_column_of_whole_numbers_is_written_whole_and_any_other_to_six_digits():
    import numpy as np
    import pandas as pd

    from ui.common import setting_format

    assert setting_format(pd.Series([123456.0, 123457.0, np.nan])) == "%d"
    assert setting_format(pd.Series([2e-4, 1e-3])) == "%.6g"
    assert setting_format(pd.Series([1.0, 2.5])) == "%.6g"
    assert setting_format(pd.Series([np.nan, np.nan])) == "%.6g"
    assert setting_format(pd.Series([1e20, 2e20])) == "%.6g"  # (whole, but past what %d writes exactly)


def test_the_cli_runs_json_gives_each_runs_settings(sweep, cli):
    res = cli("runs", str(sweep), "--json")
    listed = {row["run_id"]: row["settings"] for row in json.loads(res.stdout)}
    assert listed["lr-high"]["lr_g"] == pytest.approx(1e-3) and listed["lr-high"]["seed"] == 1
    assert listed["own"]["lr"] == pytest.approx(5e-4) and listed["own"]["layers"] == [64, 64]


def test_the_cli_runs_table_shows_the_settings_that_differ_and_takes_the_pages_filter(sweep, cli):
    """Over ssh a sweep's rows all read "ring8 · nonsaturating": told apart by their ids alone (a review)."""
    res = cli("runs", str(sweep), "--filter", "lr-")
    assert res.returncode == 0, res.stderr
    header, *lines = res.stdout.splitlines()
    assert header.endswith("settings that differ")
    ends = {line.split()[0]: line.rsplit("  ", 1)[-1].strip() for line in lines}
    assert ends == {"lr-low": "lr_g=0.0002 seed=0", "lr-high": "lr_g=0.001 seed=1"}
    res = cli("runs", str(sweep), "--filter", "lr_g<1e-3")
    assert [line.split()[0] for line in res.stdout.splitlines()[1:]] == ["lr-low"]
    res = cli("runs", str(sweep), "--filter", "lr_x=1", "--json")
    assert res.returncode == 0 and json.loads(res.stdout) == []
    assert res.stderr.startswith(
        f"No run of the 3 in {sweep} matches lr_x=1. No run has a setting named 'lr_x'"
    )
    # --json: the settings without the facts the object holds already (its loss, source, dataset, model)
    (listed,) = json.loads(cli("runs", str(sweep), "--json", "--filter", "own").stdout)
    assert listed["source"] == "api" and not [k for k in listed["settings"] if k.startswith("(")]
    assert listed["settings"]["lr"] == pytest.approx(5e-4)
