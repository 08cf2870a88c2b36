"""Image quality in the classifier's feature space as a run measures it: the real split, the baselines,
the columns every eval_every steps, the ``baseline`` event and the charts' "real vs real" lines."""

from __future__ import annotations

import math

import pandas as pd
import plotly.graph_objects as go
import pytest
import torch

from gan_core import charts
from gan_core.config import GANConfig
from gan_core.data import load_data
from gan_core.evaluation import RealSplitQuality, feature_networks, split_seed
from gan_core.rundir import RunDir
from gan_core.runner import Runner
from gan_core.tracking.schema import FEATURE_COLUMNS, FEATURE_COLUMNS_BY_SPACE

CLS = FEATURE_COLUMNS_BY_SPACE["cls"]


@pytest.fixture(scope="module")
def digits_split():
    cfg = GANConfig(dataset="digits", device="cpu")
    examples = load_data(cfg).examples()
    return examples, RealSplitQuality(feature_networks(cfg), examples, split_seed(cfg.seed))


def test_the_real_halves_are_disjoint_and_their_baseline_reads_as_real(digits_split):
    examples, split = digits_split
    assert split.rows == len(examples) // 2 == 898  # min(1000, N // 2) for the 1,797 digits
    assert set(split.baselines) == set(CLS)
    assert 0.2 <= split.baselines["fd_cls"] <= 3.0  # two real halves: near 0, biased up at n = 898
    assert abs(split.baselines["kid_cls"]) <= 0.02
    for column in CLS[2:]:  # precision, recall, density, coverage of real against real
        assert 0.85 <= split.baselines[column] <= 1.05, column
    # the second half is what the baseline measured: measuring it again gives the same numbers
    order = torch.randperm(len(examples), generator=torch.Generator().manual_seed(split_seed(0)))
    second = examples[order[898:1796]]
    again = split.measure(second)
    assert again == pytest.approx(split.baselines, rel=1e-9, abs=1e-12)
    # and nothing of the first half is in it: the first half against itself is at distance ~0
    first = examples[order[:898]]
    assert split.measure(first)["fd_cls"] < 1e-3
    assert split.measure(first)["recall_cls"] == pytest.approx(1.0)


def test_noise_and_a_one_digit_collapse_read_far_from_the_baseline(digits_split):
    examples, split = digits_split
    noise = torch.rand((898, *examples.shape[1:]), generator=torch.Generator().manual_seed(1)) * 2 - 1
    far = split.measure(noise)
    assert far["fd_cls"] > 50 * split.baselines["fd_cls"]
    assert far["precision_cls"] <= 0.01 and far["recall_cls"] <= 0.01 and far["coverage_cls"] <= 0.01
    labels = torch.as_tensor(load_data(GANConfig(dataset="digits")).labels).cpu()
    ones = examples[labels == 1]
    collapsed = split.measure(ones[torch.arange(898) % len(ones)])  # 898 images of the digit 1
    assert collapsed["fd_cls"] > 20 * split.baselines["fd_cls"]
    assert collapsed["recall_cls"] <= 0.2 and collapsed["coverage_cls"] <= 0.2  # one class of ten
    assert collapsed["precision_cls"] >= 0.5  # real images of one class: on the real manifold


def test_a_file_of_samples_sorted_by_class_scores_as_shuffled(digits_split):
    """`evaluate --samples` measured a file's first 898 images: the 1,797 real digits saved class by
    class (a conditional G's samples, one class after another) held 5 digits of 10 there, and scored
    fd_cls 15 and recall 0.58 where the same images shuffled scored 1.1 and 0.95."""
    examples, split = digits_split
    labels = torch.as_tensor(load_data(GANConfig(dataset="digits")).labels).cpu()
    by_class = examples[torch.argsort(labels, stable=True)]
    scored = split.measure(by_class)
    assert scored["fd_cls"] <= 3 * split.baselines["fd_cls"]
    assert scored["recall_cls"] >= 0.85 and scored["coverage_cls"] >= 0.85
    assert split.measure(by_class) == scored  # the subset is drawn with the split's seed: the same each time
    # the real data itself, in its order, as a file of samples: its subset is not the reference half
    # (drawn with the split's own seed it was: fd_cls 0 and every PRDC 1, a reviewer's)
    itself = split.measure(examples)
    assert 0.2 * split.baselines["fd_cls"] <= itself["fd_cls"] <= 2 * split.baselines["fd_cls"]
    assert itself["precision_cls"] < 0.999 and itself["recall_cls"] < 0.999
    # fewer than its rows: all of them, in any order
    few = by_class[:300]
    assert split.measure(few) == pytest.approx(split.measure(few.flip(0)), rel=1e-5, abs=1e-7)


def test_no_feature_space_for_points_or_unclassified_images():
    assert feature_networks(GANConfig(dataset="ring8")) == {}
    assert feature_networks(None) == {}
    split = RealSplitQuality({}, torch.zeros(100, 1, 8, 8), 0)
    assert split.spaces == {} and split.baselines == {} and split.rows == 0
    assert split.measure(torch.zeros(10, 1, 8, 8)) == {}


def test_a_digits_run_records_the_feature_columns_at_each_evaluation_and_one_baseline_event(tmp_path):
    cfg = GANConfig(
        dataset="digits", steps=60, eval_every=20, sample_every=20, checkpoint_every=0, device="cpu"
    )
    runner = Runner(cfg, tmp_path)
    runner.start()
    assert runner.wait(timeout=300)
    assert runner.status == "finished", runner.error
    run = RunDir.from_path(runner.run_dir.path)
    rows = run.read_metrics()
    measured = rows.dropna(subset=["fd_cls"])
    assert measured["step"].astype(int).tolist() == [20, 40, 60]
    assert rows.loc[rows["step"] % 20 != 0, list(CLS)].isna().all().all()  # blank between evaluations
    for column in CLS:
        assert measured[column].map(math.isfinite).all(), column
    assert (measured["fd_cls"] > 5).all()  # 60 steps of G: far from the real digits
    assert rows[[c for c in FEATURE_COLUMNS if c not in CLS]].isna().all().all()  # no Inception space
    events = run.read_events()
    baseline = events[events["kind"] == "baseline"]
    assert len(baseline) == 1 and int(baseline["step"].iloc[0]) == 20
    fields = dict(baseline["fields"].iloc[0])
    expected = RealSplitQuality(feature_networks(cfg), load_data(cfg).examples(), split_seed(cfg.seed))
    assert fields.pop("rows") == expected.rows == 898  # n, which the values depend on
    assert fields == pytest.approx(expected.baselines, rel=1e-6)
    assert baseline["detail"].iloc[0].startswith("real vs real (n = 898): fd_cls=")
    assert charts.quality_baseline_rows(events) == 898
    # the charts draw each measured column's baseline as a dashed line
    figures = charts.quality_figures(rows, events)
    assert {"fd_cls", "kid_cls", "prdc_cls"} <= set(figures)
    shapes = go.Figure(figures["fd_cls"]).layout.shapes
    lines = [s for s in shapes if s.type == "line" and s.line.dash == "dash"]
    assert [round(s.y0, 9) for s in lines] == [round(fields["fd_cls"], 9)]


def test_a_points_run_has_no_feature_columns_and_no_baseline(tmp_path):
    cfg = GANConfig(dataset="ring8", steps=20, eval_every=10, checkpoint_every=0, device="cpu")
    runner = Runner(cfg, tmp_path)
    runner.start()
    assert runner.wait(timeout=120)
    run = RunDir.from_path(runner.run_dir.path)
    assert run.read_metrics()[list(FEATURE_COLUMNS)].isna().all().all()
    assert "baseline" not in set(run.read_events()["kind"])


def test_quality_baselines_take_the_latest_event_and_only_finite_known_numbers():
    events = [
        {"step": 500, "kind": "baseline", "fields": {"fd_cls": 2.0, "kid_cls": 0.1}},
        {"step": 900, "kind": "flag", "fields": {"flag": "d_leads"}},
        {
            "step": 1000,  # a resumed run measured them again; an edited file may hold anything
            "kind": "baseline",
            "fields": {"fd_cls": 1.5, "kid_cls": float("nan"), "recall_cls": True, "mine": 3.0, "fid": "7"},
        },
    ]
    assert charts.quality_baselines(events) == {"fd_cls": 1.5}
    assert charts.quality_baselines(pd.DataFrame(events)) == {"fd_cls": 1.5}
    assert charts.quality_baselines([]) == {}


def test_the_four_neighbourhood_baselines_draw_as_one_line_with_their_range():
    rows = pd.DataFrame(
        {"step": [100, 200], **{c: [0.5, 0.6] for c in CLS[2:]}, **{c: [9.0, 8.0] for c in CLS[:2]}}
    )
    events = [
        {
            "step": 100,
            "kind": "baseline",
            "fields": {
                "precision_cls": 0.97,
                "recall_cls": 0.95,
                "density_cls": 0.94,
                "coverage_cls": 0.96,
                "fd_cls": 1.0,
            },
        }
    ]
    figure = go.Figure(charts.quality_figures(rows, events)["prdc_cls"])
    dashed = [s for s in figure.layout.shapes if s.type == "line" and s.line.dash == "dash"]
    assert [round(s.y0, 6) for s in dashed] == [0.955]
    assert dashed[0].label.text == "real vs real: 0.94–0.97"
