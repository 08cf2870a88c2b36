"""Which classes or modes G misses (the per-class / per-mode breakdown): the shares in `diagnostics`, the
``class_shares`` event each evaluation records, its line for people, `RunView.class_shares`, the chart
(`charts.class_share_figure`) and the Train view drawing it."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import pytest
import torch
from streamlit.testing.v1 import AppTest
from torch import nn

import gan_core.track as track
from gan_core import charts
from gan_core.config import GANConfig
from gan_core.data import load_data
from gan_core.diagnostics import (
    class_fidelities,
    class_metrics,
    class_shares,
    label_fidelity,
    missed,
    mode_metrics,
    mode_shares,
)
from gan_core.evaluation import Evaluator
from gan_core.models import balanced_labels
from gan_core.registry import RunRegistry
from gan_core.rundir import RunDir
from gan_core.runner import Runner
from gan_core.tracking.schema import EVENT_FIELDS, event_detail

APP_DIR = Path(__file__).resolve().parents[1]
TIMEOUT = 120
RING8 = load_data(GANConfig(dataset="ring8"))


# --------------------------------------------------------------------------------------------- the shares
def test_mode_shares_sum_to_hq_pct_and_are_positive_at_the_modes_covered():
    rng = np.random.default_rng(0)
    centers, std = RING8.centers.numpy(), RING8.mode_std
    # five modes drawn, unevenly, and a spread of points far from every mode (not high quality)
    at = rng.choice(5, size=900, p=[0.4, 0.3, 0.2, 0.05, 0.05])
    points = np.concatenate([centers[at] + rng.normal(0, std, (900, 2)), rng.uniform(-6, 6, (100, 2))])
    points[3] = np.nan  # a non-finite point is never high quality
    shares, metrics = mode_shares(points, centers, std), mode_metrics(points, centers, std)
    assert shares.shape == (8,)
    assert shares.sum() == pytest.approx(metrics["hq_pct"] / 100, abs=1e-12)
    assert int((shares > 0).sum()) == metrics["modes_covered"]
    assert (shares[5:] == 0).all() and (shares[:5] > 0).all()


def test_a_g_collapsed_on_one_mode_or_class_has_all_its_share_there():
    centers, std = RING8.centers.numpy(), RING8.mode_std
    on_mode_2 = centers[2] + np.random.default_rng(1).normal(0, std / 2, (500, 2))
    np.testing.assert_array_equal(mode_shares(on_mode_2, centers, std), np.eye(8)[2])
    np.testing.assert_array_equal(class_shares(np.full(300, 7), 10), np.eye(10)[7])
    assert class_metrics(np.full(300, 7))["classes_covered"] == 1
    assert mode_shares(np.zeros((0, 2)), centers, std).tolist() == [0.0] * 8


def test_class_fidelities_average_to_label_fidelity_with_balanced_labels():
    rng = np.random.default_rng(2)
    asked = balanced_labels(1000, 10, "cpu").numpy()
    predicted = np.where(
        rng.random(1000) < np.linspace(0.2, 1.0, 10)[asked], asked, rng.integers(0, 10, 1000)
    )
    per_class = class_fidelities(predicted, asked, 10)
    assert per_class.shape == (10,)
    assert per_class.mean() == pytest.approx(label_fidelity(predicted, asked), abs=1e-9)
    assert per_class[0] < per_class[9]  # class 9 drawn faithfully more often
    # a class never asked for has no fidelity; two shapes are refused
    assert math.isnan(class_fidelities(np.array([0, 1]), np.array([0, 0]), 3)[2])
    with pytest.raises(ValueError, match="two \\(N,\\) arrays"):
        class_fidelities(np.zeros(3), np.zeros(4), 10)


def test_missed_is_under_half_the_real_share():
    real = np.array([0.1, 0.1, 0.1, 0.0, 0.1])
    assert missed([0.06, 0.049, 0.0, 0.0, np.nan], real).tolist() == [False, True, True, False, False]


# ---------------------------------------------------------------------------------------------- the events
class OnePlace(nn.Module):
    """A "G" that puts every sample at one place: a ring8 mode centre, or one real digit of a class."""

    def __init__(self, sample: torch.Tensor):
        super().__init__()
        self.sample = sample

    def forward(self, z, labels=None):
        return self.sample.expand(len(z), *self.sample.shape).clone()


def shares_event(evaluator: Evaluator) -> dict:
    events = [fields for kind, fields in evaluator.take_events() if kind == "class_shares"]
    assert len(events) == 1
    assert not [k for k, _ in evaluator.take_events() if k == "class_shares"]  # given once
    assert set(events[0]) <= set(EVENT_FIELDS["class_shares"])
    return events[0]


def test_each_evaluation_of_2d_modes_records_its_shares_once():
    cfg = GANConfig(dataset="ring8")
    evaluator = Evaluator(cfg, RING8, torch.randn(64, cfg.latent_dim))
    metrics = evaluator.evaluate(OnePlace(RING8.centers[5].float()))
    fields = shares_event(evaluator)
    assert fields["per"] == "mode" and fields["names"] == [str(m) for m in range(8)]
    assert fields["share"] == np.eye(8)[5].tolist() and fields["real_share"] == [0.125] * 8
    assert fields["samples"] == 2500 and "fidelity" not in fields
    assert fields["nearest"] == np.eye(8)[5].tolist()
    assert metrics["modes_covered"] == 1 and metrics["hq_pct"] == 100.0


def test_a_blob_beside_a_mode_is_no_high_quality_share_but_all_nearest_it():
    """The Mode collapse preset's G sits beside one cluster, wider than its 3 std: the shares were all 0
    (every mode red), as if G drew nothing; where its mass goes is the nearest mode's share."""
    cfg = GANConfig(dataset="ring8")
    evaluator = Evaluator(cfg, RING8, torch.randn(64, cfg.latent_dim))
    beside = RING8.centers[3].float() * (1 + 6 * RING8.mode_std / RING8.centers[3].float().norm())
    metrics = evaluator.evaluate(OnePlace(beside))
    fields = shares_event(evaluator)
    assert metrics["hq_pct"] == 0.0 and fields["share"] == [0.0] * 8
    assert fields["nearest"] == np.eye(8)[3].tolist()
    figure = charts.class_share_figure({**fields, "step": 500})
    outline = bars(figure)["nearest this mode (any distance)"]
    assert list(outline.y) == np.eye(8)[3].tolist() and outline.marker.line.color == charts.FAKE_COLOR
    assert go.Figure(figure).layout.yaxis.range[1] == 1.0  # the outline's 100 % in view
    assert not [name for name in bars(charts.class_share_figure(record())) if name.startswith("nearest")]
    # red judges the outline: a 0 % bar whose mode holds G's points nearby is no miss, and says so
    (missed,) = [name for name in bars(figure) if name.startswith("under-represented")]
    assert missed == "under-represented (nearest < 50% of real)"
    (kept,) = [t for t in go.Figure(figure).data if t.name == "G's share"]
    assert (
        list(kept.x) == [3] and kept.text[0] == "mode 3: 0.0% of G's samples, real 12.5%; 100.0% nearest it"
    )


@pytest.fixture(scope="module")
def digits():
    return load_data(GANConfig(dataset="digits"))


def test_an_unconditional_digits_evaluation_records_the_classifiers_shares(digits):
    cfg = GANConfig(dataset="digits")
    evaluator = Evaluator(cfg, digits, torch.randn(64, cfg.latent_dim))
    a_three = digits.examples()[digits.labels == 3][0]
    evaluator.evaluate(OnePlace(a_three))
    fields = shares_event(evaluator)
    assert fields["per"] == "class" and fields["names"] == [str(c) for c in range(10)]
    assert fields["share"] == np.eye(10)[3].tolist()  # one real 3, named 3 every time
    counts = np.bincount(digits.labels.numpy(), minlength=10)
    np.testing.assert_allclose(fields["real_share"], counts / counts.sum(), atol=5e-5)  # from the labels
    assert "fidelity" not in fields


@pytest.mark.parametrize("dataset", ["digits", "ring8"])
def test_an_evaluation_of_non_finite_samples_says_so_in_one_line(digits, dataset):
    """A review: a G gone NaN failed its evaluation with scikit-learn's 700 characters on imputers."""
    cfg = GANConfig(dataset=dataset)
    data = digits if dataset == "digits" else RING8
    evaluator = Evaluator(cfg, data, torch.randn(64, cfg.latent_dim))
    sample = data.examples()[0].clone()
    sample.view(-1)[0] = float("nan")
    said = (
        r"^G's samples hold NaN or infinite values \(\d{1,3}(,\d{3})* of \d{1,3}(,\d{3})* samples\): no "
        r"quality metric is measured of them \(G's weights or inputs went non-finite\?\)$"
    )
    with pytest.raises(ValueError, match=said):
        evaluator.evaluate(OnePlace(sample))
    evaluator.evaluate(OnePlace(data.examples()[0]))  # (the same G, finite: measured)


def test_a_conditional_evaluation_records_each_classes_fidelity(digits):
    from tests.test_conditional import TableG

    cfg = GANConfig(dataset="digits", conditioning="concat")
    evaluator = Evaluator(cfg, digits, torch.randn(64, 32))
    metrics = evaluator.evaluate(TableG(digits, ignore_labels=True))  # every sample a 3
    fields = shares_event(evaluator)
    assert len(fields["fidelity"]) == 10
    assert np.mean(fields["fidelity"]) == pytest.approx(metrics["label_fidelity"], abs=1e-9)
    assert fields["fidelity"][3] >= 0.95 and max(fields["fidelity"][:3] + fields["fidelity"][4:]) == 0
    assert fields["share"][3] >= 0.95
    faithful = evaluator.evaluate(TableG(digits))
    fields = shares_event(evaluator)
    assert np.mean(fields["fidelity"]) == pytest.approx(faithful["label_fidelity"], abs=1e-9)
    assert min(fields["share"]) > 0.08  # every class drawn


def test_the_events_line_says_the_shares_and_what_is_missed():
    fields = {
        "per": "class",
        "names": [str(c) for c in range(10)],
        "share": [0.1] * 8 + [0.2, 0.0],
        "real_share": [0.1] * 10,
        "samples": 1000,
        "fidelity": [0.9, 0.8, None, 1, 1, 1, 1, 1, 1, 0.1],
    }
    line = event_detail("class_shares", fields)
    # what is missed first: a table cell cut short (grid25's 25 modes) still says it
    assert line.startswith(
        "under-represented classes: 9; lowest fidelity: 9 0.10, 1 0.80, 0 0.90; G's samples per class: "
    )
    assert line.endswith(
        "0: 10.0%, 1: 10.0%, 2: 10.0%, 3: 10.0%, 4: 10.0%, 5: 10.0%, 6: 10.0%, 7: 10.0%, 8: 20.0%, 9: 0.0%"
    )
    mode = event_detail("class_shares", {"per": "mode", "names": ["0", "1"], "share": [0.5, 0.0004],
                                         "real_share": [0.5, 0.5]})  # fmt: skip
    assert (
        mode == "under-represented modes: 1; G's samples per mode: 0: 50.0%, 1: <0.1%"
    )  # one sample is no 0.0 %
    # a ring G spread evenly but not yet tight on its clusters misses no mode (judged where its samples go)
    spread = {"per": "mode", "names": ["0", "1"], "share": [0.02, 0.02], "real_share": [0.5, 0.5],
              "nearest": [0.5, 0.5]}  # fmt: skip
    assert event_detail("class_shares", spread) == (
        "no mode under-represented; G's samples nearest each mode: 0: 50.0%, 1: 50.0%; "
        "high-quality per mode: 0: 2.0%, 1: 2.0%"
    )  # (each share named: modes at 2.0% read as missed beside "no mode missed")
    assert not missed([0.02, 0.02], [0.5, 0.5], [0.5, 0.5]).any() and missed([0.02, 0.02], [0.5, 0.5]).all()


# ---------------------------------------------------------------------------------- runs: runner and tracker
def test_a_finished_runs_view_gives_the_shares_at_each_evaluation(tmp_path):
    cfg = GANConfig(dataset="ring8", width=16, latent_dim=4, batch_size=16, device="cpu", steps=20,
                    eval_every=10, sample_every=10, checkpoint_every=0)  # fmt: skip
    runner = Runner(cfg, tmp_path, "r8").start()
    assert runner.wait(TIMEOUT) and runner.status == "finished"
    events = RunDir.open(tmp_path, "r8").read_events().to_dict("records")
    assert [e["step"] for e in events if e["kind"] == "class_shares"] == [10, 20]  # the evaluations' steps
    metrics = RunDir.open(tmp_path, "r8").read_metrics().set_index("step")
    for view in (RunRegistry(tmp_path).view("r8"),):
        newest, first = view.class_shares(), view.class_shares(15)
        assert newest["step"] == 20 and first["step"] == 10 and view.class_shares(9) is None
        for record in (newest, first):
            assert record["per"] == "mode" and len(record["share"]) == 8 and record["fidelity"] is None
            row = metrics.loc[record["step"]]
            assert sum(record["share"]) == pytest.approx(row["hq_pct"] / 100, abs=1e-3)
            assert sum(s > 0 for s in record["share"]) == row["modes_covered"]
            # where G's samples go, however far (the chart's outlines; red judged on it): every one counted
            assert len(record["nearest"]) == 8 and sum(record["nearest"]) == pytest.approx(1.0, abs=1e-3)
            assert all(n >= s for n, s in zip(record["nearest"], record["share"]))
        figure = charts.class_share_figure(newest)  # as the Train view draws it, from the view
        assert "nearest this mode (any distance)" in bars(figure)
        # no marker on the metric charts, nothing from it in their legends
        assert all(e[2] != "class_shares" for e in charts.event_markers(view.events))


def test_a_tracked_loops_shares_are_at_its_evaluations_steps(tmp_path):
    torch.manual_seed(0)
    D, G = nn.Linear(2, 1), nn.Linear(2, 2)
    with track.init("own", root=tmp_path, real=RING8.examples()[:500], dataset="ring8", eval_every=5,
                    steps=15, commit_every=60) as run:  # fmt: skip
        run.watch(G, torch.randn(8, 2))
        while not run.should_stop:
            real, fake = RING8.examples()[:8], G(torch.randn(8, 2))
            d_loss = nn.functional.softplus(-D(real)).mean() + nn.functional.softplus(D(fake.detach())).mean()
            D.zero_grad()
            d_loss.backward()
            run.d_step(D(real), D(fake.detach()), d_loss=d_loss, d_params=D)
            g_loss = nn.functional.softplus(-D(fake)).mean()
            G.zero_grad()
            g_loss.backward()
            run.g_step(g_loss, g_params=G)
    events = RunDir.open(tmp_path, "own").read_events().to_dict("records")
    assert [e["step"] for e in events if e["kind"] == "class_shares"] == [5, 10, 15]


def test_an_edited_or_old_event_is_passed_over(tmp_path):
    cfg = GANConfig(dataset="ring8", width=16, latent_dim=4, batch_size=16, device="cpu", steps=10,
                    eval_every=5, checkpoint_every=0)  # fmt: skip
    runner = Runner(cfg, tmp_path, "r8").start()
    assert runner.wait(TIMEOUT) and runner.status == "finished"
    path = tmp_path / "r8" / "events.csv"
    lines = path.read_text().splitlines(keepends=True)
    last = max(i for i, line in enumerate(lines) if ",class_shares," in line)
    # (in the fields column, quoted as CSV: its quotes doubled)
    lines[last] = lines[last].replace('""share"":[', '""share"":[0.5,')  # one more share than names
    path.write_text("".join(lines))
    record = RunRegistry(tmp_path).view("r8").class_shares()
    assert record is not None and record["step"] == 5  # the one before it


# --------------------------------------------------------------------------------------------------- chart
def record(**overrides) -> dict:
    base = {
        "step": 400,
        "per": "class",
        "names": [str(c) for c in range(10)],
        "share": [0.12, 0.11, 0.0, 0.13, 0.04, 0.1, 0.12, 0.14, 0.12, 0.12],
        "real_share": [0.1] * 10,
        "fidelity": None,
    }
    return {**base, **overrides}


def bars(figure) -> dict[str, go.Bar]:
    return {t.name: t for t in go.Figure(figure).data if t.type == "bar"}


def test_the_chart_draws_gs_share_against_the_real_share_and_missed_classes_in_red():
    figure = charts.class_share_figure(record())
    shown = bars(figure)
    assert set(shown) == {"G's share", "under-represented (< 50% of real)"}
    missed_bars = shown["under-represented (< 50% of real)"]
    assert list(missed_bars.x) == [2, 4] and list(missed_bars.y) == [0.0, 0.04]
    assert missed_bars.marker.color == charts.MISSED_COLOR
    assert shown["G's share"].marker.color == charts.FAKE_COLOR and len(shown["G's share"].x) == 8
    (real,) = [t for t in go.Figure(figure).data if t.name == "real share"]
    assert np.nanmax(np.asarray(real.y, dtype=float)) == 0.1
    layout = go.Figure(figure).layout
    assert layout.title.text == "Per class at step 400"
    ticks = list(layout.xaxis.ticktext)
    assert charts.MISSED_COLOR in ticks[2] and charts.MISSED_COLOR in ticks[4] and ticks[3] == "3"
    assert "yaxis2" not in figure["layout"]  # no fidelity without a conditional G


def test_a_conditional_runs_chart_adds_the_fidelity_per_class_and_its_mean():
    fidelity = [0.9, 0.99, 0.3, 0.8, 0.95, 0.97, 0.5, 0.98, 0.99, 0.97]
    figure = charts.class_share_figure(record(fidelity=fidelity, names=["T-shirt/top", *"123456789"]))
    shown = bars(figure)
    assert list(shown["fidelity per class"].y) == fidelity and shown["fidelity per class"].yaxis == "y2"
    layout = go.Figure(figure).layout
    assert tuple(layout.yaxis2.range) == (0.0, 1.05) and layout.yaxis.domain[0] > layout.yaxis2.domain[1]
    (mean,) = [t for t in go.Figure(figure).data if str(t.name).startswith("mean ")]
    assert mean.y[0] == pytest.approx(np.mean(fidelity)) and mean.name == "mean 0.84 (label_fidelity)"
    assert layout.xaxis.ticktext[0] == "0 T-shirt/top"  # named as the grid's rows are


def test_the_chart_of_modes_and_bad_records():
    figure = charts.class_share_figure(record(per="mode", names=[str(m) for m in range(8)],
                                              share=[0.125] * 8, real_share=[0.125] * 8))  # fmt: skip
    assert set(bars(figure)) == {"G's share"}  # nothing missed
    assert go.Figure(figure).layout.title.text == "Per mode at step 400"
    with pytest.raises(ValueError, match="one value per name"):
        charts.class_share_figure(record(share=[0.5, 0.5]))


# ----------------------------------------------------------------------------------------------- the page
def test_the_train_view_draws_the_shares_of_a_finished_run(runs_root):
    cfg = GANConfig(dataset="ring8", width=16, latent_dim=4, batch_size=16, device="cpu", steps=20,
                    eval_every=10, sample_every=10, checkpoint_every=0)  # fmt: skip
    runner = Runner(cfg, runs_root, "done").start()
    assert runner.wait(TIMEOUT) and runner.status == "finished"
    at = AppTest.from_file(str(APP_DIR / "dashboard.py"), default_timeout=TIMEOUT)
    at.session_state["run_id"] = "done"
    at.run()
    assert not at.exception
    sent = at.session_state["_live_chart_sent"]
    assert "chart_class_shares" in sent
    figure = json.loads(sent["chart_class_shares"][2])
    assert figure["layout"]["title"]["text"] == "Per mode at step 20"  # the newest evaluation
