"""Compare's charts of the feature-space quality metrics read as the Train view's do: which way is better
(the y axis' unit), the runs' "real vs real" values as a dashed line, and a note where the runs measured
them at different sample sizes (an acgan run's 718 digits beside another's 898: the Fréchet distance is
biased upward at smaller n). A reviewer found none of the three on Compare."""

from __future__ import annotations

import numpy as np
import pandas as pd

from gan_core import charts


def baseline(fd: float, rows: int | None = 898) -> dict:
    fields = {"fd_cls": fd, "kid_cls": 0.001, "precision_cls": 0.95}
    if rows is not None:
        fields["rows"] = rows
    return {"step": 500, "kind": "baseline", "detail": "real vs real", "fields": fields}


def measured(values: list[float]) -> pd.DataFrame:
    steps = np.arange(1, len(values) + 1) * 500
    return pd.DataFrame({"step": steps, "fd_cls": values})


def reference_labels(figure: dict) -> list[tuple[float, str]]:
    return [
        (round(s["y0"], 6), s["label"]["text"])
        for s in figure["layout"].get("shapes", [])
        if s.get("xref") == "paper" and "label" in s
    ]


def test_the_runs_baselines_are_one_line_and_the_axis_says_which_way_is_better():
    views = {"a": measured([60.0, 40.0]), "b": measured([80.0, 50.0])}
    same = charts.compare_figure(views, "fd_cls", events={"a": [baseline(1.031)], "b": [baseline(1.0312)]})
    assert reference_labels(same) == [(round((1.031 + 1.0312) / 2, 6), "real vs real: 1.03")]
    assert (
        same["layout"]["yaxis"]["title"]["text"]
        == charts.QUALITY_UNITS["fd_cls"]
        == ("Fréchet distance (0 = matches)")
    )
    apart = charts.compare_figure(
        views, "fd_cls", events={"a": [baseline(1.031)], "b": [baseline(1.526, 718)]}
    )
    assert reference_labels(apart) == [(round((1.031 + 1.526) / 2, 6), "real vs real: 1.03–1.53")]
    # a run without a baseline (a 2D run, one of an earlier version) adds none; no run with one: no line
    one = charts.compare_figure(views, "fd_cls", events={"a": [baseline(1.031)], "b": []})
    assert reference_labels(one) == [(1.031, "real vs real: 1.03")]
    assert reference_labels(charts.compare_figure(views, "fd_cls", events={})) == []
    # another column: its own name on the axis, no baseline
    losses = {"a": pd.DataFrame({"step": [1, 2], "d_loss": [1.3, 1.2]})}
    plain = charts.compare_figure(losses, "d_loss", events={"a": [baseline(1.031)]})
    assert plain["layout"]["yaxis"]["title"]["text"] == "d_loss"
    assert not [t for _, t in reference_labels(plain) if "real vs real" in t]


def test_a_note_says_when_the_runs_measured_at_different_sample_sizes():
    events = {"a": [baseline(1.03)], "b": [baseline(1.53, 718)], "c": [baseline(1.04)]}
    note = charts.compare_sample_size_note("fd_cls", events)
    assert note is not None
    assert "n = 718 (b); n = 898 (a, c)" in note and "own real-vs-real" in note
    many = {f"r{i}": [baseline(1.0)] for i in range(6)} | {"acgan": [baseline(1.5, 718)]}
    assert "n = 718 (acgan); n = 898 (r0, r1, r2, r3 and 2 more)" in charts.compare_sample_size_note(
        "fd_cls", many
    )
    assert "biased upward" in note
    prdc = charts.compare_sample_size_note("precision_cls", events)  # k-NN radii move with n
    assert prdc is not None and "k-nearest-neighbour radii" in prdc and "Fréchet" not in prdc
    assert charts.compare_sample_size_note("kid_cls", events) is None  # unbiased
    assert charts.compare_sample_size_note("d_loss", events) is None
    assert charts.compare_sample_size_note("fd_cls", {"a": [baseline(1.03)], "c": [baseline(1.04)]}) is None
    # a run that did not record n (an earlier version's) is left out: nothing known to differ
    assert (
        charts.compare_sample_size_note("fd_cls", {"a": [baseline(1.03)], "b": [baseline(1.5, None)]}) is None
    )


def test_the_latest_baseline_says_n_and_a_malformed_one_says_nothing():
    assert charts.quality_baseline_rows([baseline(1.0, 898), baseline(1.2, 718)]) == 718  # (a resumed run's)
    assert charts.quality_baseline_rows([baseline(1.0, None)]) is None
    broken = baseline(1.0)
    broken["fields"]["rows"] = "898"  # events.csv is a file anyone may edit
    assert charts.quality_baseline_rows([broken]) is None
    assert charts.quality_baseline_rows([]) is None
