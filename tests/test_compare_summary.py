"""Compare's table of the chosen runs (`gan_core.registry.compare_summary`): one row per run, in the order of
their colours, with how far each got, what it is, its newest losses and accuracies, the latest and best of
its headline quality metric, and the flags it raised; and the page drawing it above the charts."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pandas as pd
import pytest
import torch
from streamlit.testing.v1 import AppTest

from gan_core import track
from gan_core.charts import PALETTE, PINNED_TEXT_OPACITY, contrast_ratio, run_cell_style
from gan_core.registry import (
    HEADLINE_QUALITY,
    RunRegistry,
    best_value,
    compare_summary,
    headline_quality,
)
from tests.test_compare_page import APP_DIR, TIMEOUT, finished

COLUMNS = [
    "run",
    "status",
    "step",
    "source",
    "loss",
    "dataset",
    "d_loss",
    "g_loss",
    "d_acc_real",
    "d_acc_fake",
    "newest @",
    "quality",
    "latest",
    "latest @",
    "best",
    "best @",
    "flags raised",
    "notes",
]


def test_the_best_of_each_headline_metric_is_its_own_direction():
    values = np.array([3.0, np.nan, 1.5, 2.0, 1.5])
    assert (
        best_value("fd_cls", values) == 2 and best_value("fid", values) == 2
    )  # the lowest, the first of two
    assert best_value("grid_js", values) == 2
    assert best_value("modes_covered", values) == 0 and best_value("classes_covered", values) == 0
    assert best_value("diversity", np.array([0.4, 1.3, 0.95, 1.02])) == 3  # nearest the real data's 1.0
    assert best_value("fd_cls", np.array([np.nan, np.inf])) is None  # (no finite one)
    assert all(best_value(c, values) is not None for c in HEADLINE_QUALITY)  # each has its direction
    assert best_value("d_loss", values) is None
    assert headline_quality({"diversity", "fd_cls", "classes_covered"}) == "fd_cls"  # the Runs page's order
    assert headline_quality({"modes_covered", "grid_js"}) == "modes_covered"
    assert headline_quality({"d_loss"}) is None and headline_quality(()) is None


def tracked(root, run_id: str, d_losses, *, steps: int = 0, g_nan_at_end: bool = False) -> None:
    """A loop's run of ``len(d_losses)`` steps on digits; with ``g_nan_at_end`` its last G loss NaN (the run
    diverges there, and stops)."""
    with track.init(run_id, root=root, loss="hinge", steps=steps, dataset="digits") as run:
        for i, d_loss in enumerate(d_losses):
            run.d_step(torch.full((8,), 0.5), torch.full((8,), -0.5), d_loss=torch.tensor(float(d_loss)))
            last = i == len(d_losses) - 1
            run.g_step(torch.tensor(math.nan if g_nan_at_end and last else 0.25 + i))


def test_the_summary_says_how_far_each_run_got_its_newest_values_and_its_best_quality(tmp_path):
    finished(tmp_path, "ring8-b", steps=30, eval_every=10, seed=1)
    finished(tmp_path, "ring8-a", steps=30, eval_every=10)
    tracked(tmp_path, "open", [1.0, 0.5, 0.25])  # steps 0: until stopped
    tracked(tmp_path, "blew-up", [1.0, 2.0, 3.0, 4.0], steps=50, g_nan_at_end=True)
    registry = RunRegistry(tmp_path)
    order = ["ring8-b", "open", "blew-up", "ring8-a"]  # the page's order (its colours'), not the folder's
    table = compare_summary({run_id: registry.view(run_id) for run_id in order})
    assert table.columns.tolist() == COLUMNS and table["run"].tolist() == order
    rows = table.set_index("run")
    assert rows.loc["ring8-a", ["status", "step", "source", "loss", "dataset"]].tolist() == [
        "finished",
        "30 of 30",
        "trainer",
        "nonsaturating",
        "ring8",
    ]
    assert rows.loc["open", ["step", "source", "loss", "dataset"]].tolist() == [
        "3 (until stopped)",
        "api",
        "hinge",
        "digits",
    ]
    # newest values as the run's last row holds them, as numbers (a header's click sorts them so: as
    # text, a review's -0.707 came after -0.352)
    last = pd.read_csv(tmp_path / "ring8-a" / "metrics.csv").iloc[-1]
    for column in ("d_loss", "g_loss", "d_acc_real", "d_acc_fake"):
        assert rows.loc["ring8-a", column] == pytest.approx(last[column], rel=1e-6)
        assert table[column].dtype == np.float64
    assert rows.loc["open", ["d_loss", "g_loss", "newest @"]].tolist() == [0.25, 2.25, ""]
    # the diverged run: its last step's d_loss, and its newest finite g_loss, at the step before
    blew_up = rows.loc["blew-up"]
    assert blew_up["status"] == "failed" and blew_up["step"] == "4 of 50"
    assert (blew_up["d_loss"], blew_up["g_loss"], blew_up["newest @"]) == (4.0, 2.25, "g_loss @3")
    assert blew_up["flags raised"].split(", ")[0] == "diverged"
    raised = {e["fields"]["flag"] for e in registry.view("ring8-a").events if e["kind"] == "flag"}
    assert set(filter(None, rows.loc["ring8-a", "flags raised"].split(", "))) == raised  # its own, exactly
    # ring8's headline metric, modes_covered, at its evaluations (10, 20, 30): the latest, and the most
    view = registry.view("ring8-a")
    evaluations = view.store.exact_view(["modes_covered"])
    assert evaluations["step"].tolist() == [10, 20, 30]
    modes = evaluations["modes_covered"].to_numpy()
    best = int(np.argmax(modes))  # (the first of equals)
    assert rows.loc["ring8-a", ["quality", "latest", "latest @", "best", "best @"]].tolist() == [
        "modes_covered",
        modes[-1],
        30,
        modes[best],
        10 * (best + 1),
    ]
    assert str(table["latest @"].dtype) == "Int64" and table["latest"].dtype == np.float64
    unevaluated = rows.loc["open", ["quality", "latest", "latest @", "best", "best @"]]
    assert unevaluated.iloc[0] == "" and unevaluated.iloc[1:].isna().all()  # no evaluation


def test_the_page_draws_the_summary_above_the_charts_in_the_runs_colours(runs_root):
    finished(runs_root, "first", steps=20, eval_every=10)
    finished(runs_root, "second", steps=20, eval_every=10, seed=1)
    at = AppTest.from_file(str(APP_DIR / "pages/2_Compare.py"), default_timeout=TIMEOUT).run()
    at.multiselect(key="cmp_runs").set_value(["second", "first"]).run()
    assert not at.exception
    # the first table on the page, above the charts (the settings tables come after them)
    shown = at.dataframe[0].value
    assert shown["run"].tolist() == ["second", "first"] and shown.columns.tolist() == [*COLUMNS, "seed"]
    # the settings that differ beside the runs' results, as "Settings that differ" writes them
    assert shown["seed"].tolist() == [1.0, 0.0]  # a setting of numbers as numbers: sorted so
    assert at.dataframe[0].proto.placeholder == "—"  # a value a run lacks: not Streamlit's "None"
    assert shown["step"].tolist() == ["20 of 20", "20 of 20"]
    assert shown["quality"].tolist() == ["modes_covered", "modes_covered"]
    assert [d.value.columns.tolist() == [*COLUMNS, "seed"] for d in at.dataframe].count(True) == 1
    # each run's cell tinted with its charts' colour, its text black
    colors = {run_id: color for run_id, (color, _) in at.session_state["cmp_styles"].items()}
    styles = at.dataframe[0].proto.arrow_data.styler.styles
    for row, run_id in enumerate(["second", "first"]):
        assert f"_row{row}_col0 {{ {run_cell_style(colors[run_id])} }}" in styles, styles
    assert run_cell_style(colors["first"]) != run_cell_style(colors["second"])


def test_on_the_dark_theme_the_summary_cells_are_drawn_for_it_from_the_first_run(runs_root):
    """The tab says its theme from a page's second run on: on the first, the server's (--theme.base dark)."""
    from streamlit import config

    finished(runs_root, "first", steps=20, eval_every=10)
    finished(runs_root, "second", steps=20, eval_every=10, seed=1)
    before = config.get_option("theme.base")
    config.set_option("theme.base", "dark")
    try:
        at = AppTest.from_file(str(APP_DIR / "pages/2_Compare.py"), default_timeout=TIMEOUT)
        at.query_params["runs"] = "first,second"
        at.run()
    finally:
        config.set_option("theme.base", before)
    assert not at.exception
    colors = {run_id: color for run_id, (color, _) in at.session_state["cmp_styles"].items()}
    styles = at.dataframe[0].proto.arrow_data.styler.styles
    for row, run_id in enumerate(["first", "second"]):
        assert f"_row{row}_col0 {{ {run_cell_style(colors[run_id], 'dark')} }}" in styles, styles
    assert "color: #ffffff" in run_cell_style(colors["first"], "dark")


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_a_runs_cell_reads_at_aa_faded_as_a_pinned_column_draws_it_and_shows_its_colour(theme):
    """Run ids in their lines' colours (darkened to 4.5:1 on white) were drawn faded by the pinned column:
    2.3-2.6:1 in a review's measurement. The cell now takes the colour, its text black (white in dark),
    faded to `PINNED_TEXT_OPACITY` and still at 4.5:1 or more; in the light theme the tint is strong enough
    to see (the page's white at least 15 levels away in a channel) and no two colours share one."""
    cells = set()
    for color in PALETTE:
        style = run_cell_style(color, theme)
        text, cell = re.fullmatch(r"color: (#[0-9a-f]{6}); background-color: (#[0-9a-f]{6})", style).groups()
        assert text == ("#ffffff" if theme == "dark" else "#000000")
        channels = [(int(text[i : i + 2], 16), int(cell[i : i + 2], 16)) for i in (1, 3, 5)]
        faded = "#" + "".join(f"{round(c + (t - c) * PINNED_TEXT_OPACITY):02x}" for t, c in channels)
        assert 4.5 <= contrast_ratio(faded, cell) <= 21
        if theme == "light":
            assert max(255 - int(cell[i : i + 2], 16) for i in (1, 3, 5)) >= 15, (color, cell)
        cells.add(cell)
    assert len(cells) == len(PALETTE)


def test_the_pinned_run_column_shows_a_default_run_id_whole(runs_root):
    """A newcomer's default run, digits-nonsaturating-20261206-043304-0b70 (41 characters), lost its last
    character in Compare's pinned run column, capped at 260 px."""
    run_id = "digits-nonsaturating-20261206-043304-0b70"
    finished(runs_root, run_id, steps=4)
    at = AppTest.from_file(str(APP_DIR / "pages/2_Compare.py"), default_timeout=TIMEOUT).run()
    at.multiselect(key="cmp_runs").set_value([run_id]).run()
    assert not at.exception
    width = json.loads(at.dataframe[0].proto.columns)["run"]["width"]
    assert 41 * 6.6 + 16 <= width <= 360  # (Source Sans: 6.6 px a character, and the cell's padding)


def test_a_column_is_as_wide_as_its_longest_text_within_its_bounds():
    """Compare's summary columns fit their texts (`ui.common.text_column_width`): past 100,000 steps the
    fixed 115 px cut "100,499 (until stop" and an 85 px "best" cut "1.42 @100,00", which read as another
    step. 6.6-7.2 px a character in the table's two fonts, and the cell's padding (16 px)."""
    from ui.common import text_column_width

    for text in ("100,499 (until stopped)", "1,000,000 of 1,000,000", "1.42 @100,000", "9.18e+08 @1,234,567"):
        width = text_column_width(["20 of 20", text, ""], 85, 400)
        assert len(text) * 7.2 + 16 <= width <= len(text) * 7.5 + 24, (text, width)
    assert text_column_width(["20 of 20"], 115, 240) == 115  # the header's width at least
    assert text_column_width(["x" * 100], 115, 240) == 240  # and no wider than the page allows
    assert text_column_width([], 85, 160) == 85


def test_the_page_sizes_the_summary_columns_from_their_texts(runs_root):
    finished(runs_root, "first", steps=20, eval_every=10)
    tracked(runs_root, "open", [1.0, 0.5, 0.25])
    at = AppTest.from_file(str(APP_DIR / "pages/2_Compare.py"), default_timeout=TIMEOUT).run()
    at.multiselect(key="cmp_runs").set_value(["first", "open"]).run()
    assert not at.exception
    columns = json.loads(at.dataframe[0].proto.columns)
    # "3 (until stopped)", 17 characters: past the 115 px least
    assert columns["step"]["width"] >= 17 * 7.2 + 16 and columns["step"]["width"] > 115
    assert columns["newest @"]["width"] == 80  # short texts (none here): the least
