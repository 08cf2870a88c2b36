"""Playing with a 2D run as in GAN Lab: the 2D view above the charts, one colour scale for the view and its
history, what the view shows said under it, the arrows named for what they show, and the healthy preset
named when a 2D dataset is picked in the sidebar. (Each single step's snapshot: tests/test_runner.py.)"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import pytest
from streamlit.runtime.state.common import user_key_from_element_id
from streamlit.testing.v1 import AppTest

from gan_core import charts
from gan_core.config import GANConfig
from gan_core.losses import get_loss
from gan_core.presets import PRESETS, healthy_preset_for, healthy_recipe_not_used
from gan_core.runner import Runner
from ui.live_chart import read_payload

APP_DIR = Path(__file__).resolve().parents[1]
TIMEOUT = 60
TINY = dict(width=16, latent_dim=4, batch_size=16, device="cpu")
BOUNDS = (-2.0, 2.0, -2.0, 2.0)


def finished_run(root: Path, run_id: str, **overrides) -> Runner:
    runner = Runner(GANConfig(**{**TINY, "steps": 20, "sample_every": 5, **overrides}), root, run_id).start()
    assert runner.wait(TIMEOUT) and runner.status == "finished"
    return runner


def watching(run_id: str, **form) -> AppTest:
    at = AppTest.from_file(str(APP_DIR / "dashboard.py"), default_timeout=TIMEOUT)
    for field, value in form.items():
        at.session_state[f"cfg_{field}"] = value
    if run_id:
        at.session_state["run_id"] = run_id
    return at.run()


def live_charts(at: AppTest) -> list[str]:
    """The live charts' keys in the page's order."""
    return [user_key_from_element_id(c.proto.id) for c in at.get("bidi_component")]


def figure(at: AppTest, key: str) -> dict:
    (chart,) = [c for c in at.get("bidi_component") if user_key_from_element_id(c.proto.id) == key]
    return read_payload(chart.proto.bytes)["figure"]


def heatmap_of(fig: dict) -> dict:
    (heat,) = [t for t in fig["data"] if t["type"] == "heatmap"]
    return heat


# ------------------------------------------------------------------------------ the colour scale (gan_core)


def test_hinge_views_share_its_margins_and_critic_views_the_widest_spread_from_their_medians():
    rng = np.random.default_rng(0)
    narrow, wide = rng.normal(0.1, 0.02, (8, 8)), rng.normal(-1.0, 1.5, (8, 8))
    assert charts.heatmap_half_range([narrow, wide], get_loss("hinge")) == 1.0
    critic = get_loss("wgan-gp")
    expected = max(np.abs(z - np.median(z)).max() for z in (narrow, wide))
    assert charts.heatmap_half_range([narrow, None, wide], critic) == pytest.approx(expected, rel=1e-12)
    assert charts.heatmap_half_range([np.full((4, 4), 3.0), None], critic) is None  # no spread: as before
    assert charts.heatmap_half_range([np.full((4, 4), np.nan)], critic) is None
    for name in ("nonsaturating", "minimax", "lsgan"):  # outputs around a midpoint: as before
        assert charts.heatmap_half_range([wide], get_loss(name)) is None
    assert charts.heatmap_half_range([wide], None) is None


def test_a_shared_half_range_sets_each_views_scale_around_its_own_centre():
    rng = np.random.default_rng(1)
    real, fake = rng.normal(size=(20, 2)), rng.normal(size=(20, 2))
    scores = rng.normal(5.0, 0.1, (8, 8))
    critic = charts.points_figure(real, fake, bounds=BOUNDS, heatmap=scores, midpoint=None, half_range=2.0)
    heat = go.Figure(critic).data[0]
    median = float(np.median(scores))
    assert (heat.zmin, heat.zmax) == pytest.approx((median - 2.0, median + 2.0), rel=1e-12)
    assert "the median here" in heat.hovertemplate and "D says real" not in heat.hovertemplate
    hinge = go.Figure(
        charts.points_figure(
            real, fake, bounds=BOUNDS, heatmap=3 * scores, midpoint=None, threshold=0.0, half_range=1.0
        )
    ).data[0]
    assert (hinge.zmin, hinge.zmax) == (-1.0, 1.0)  # scores beyond the margins saturate
    assert list(hinge.colorbar.tickvals) == [-1.0, 0.0, 1.0]
    # the default is as before: the heatmap's own extremes around the threshold
    alone = charts.points_figure(real, fake, bounds=BOUNDS, heatmap=3 * scores, midpoint=None, threshold=0.0)
    assert go.Figure(alone).data[0].zmax == pytest.approx(float((3 * scores).max()), rel=1e-6)
    for bad in (0.0, -1.0, float("inf"), float("nan"), True, "1"):
        with pytest.raises(ValueError, match="half_range must be a finite number > 0 or None"):
            charts.points_figure(real, fake, bounds=BOUNDS, heatmap=scores, half_range=bad)


def test_each_2d_dataset_with_a_healthy_preset_names_it():
    assert healthy_preset_for("grid25") is PRESETS["healthy-grid25"]
    assert healthy_preset_for("ring8") is PRESETS["healthy-ring8"]
    assert healthy_preset_for("no-such-dataset") is None


# ------------------------------------------------------------------------------------- the Train view


def test_a_2d_run_shows_its_view_above_the_charts_and_an_image_run_below(runs_root):
    finished_run(runs_root, "points", dataset="ring8")
    finished_run(runs_root, "digits", dataset="digits")
    order = live_charts(watching("points"))
    assert order.index("chart_samples") < order.index("chart_history_0") < order.index("chart_metrics")
    order = live_charts(watching("digits"))
    assert order.index("chart_metrics") < order.index("chart_samples")


@pytest.mark.parametrize(("loss", "half"), [("wgan-gp", None), ("hinge", 1.0)])
def test_the_2d_view_and_its_history_share_one_colour_scale(runs_root, loss, half):
    finished_run(runs_root, "scored", dataset="ring8", loss=loss)
    at = watching("scored")
    assert not at.exception
    keys = [k for k in live_charts(at) if k == "chart_samples" or k.startswith("chart_history_")]
    assert len(keys) >= 3
    widths = []
    for key in keys:
        heat = heatmap_of(figure(at, key))
        widths.append(heat["zmax"] - heat["zmin"])
        if half is not None:
            assert (heat["zmin"], heat["zmax"]) == (-half, half)
    assert widths == pytest.approx([widths[0]] * len(widths), rel=1e-9)
    if loss == "wgan-gp":
        title = heatmap_of(figure(at, "chart_samples"))["colorbar"]["title"]["text"]
        assert "white: median, not a boundary" in title


def test_the_2d_view_says_what_to_expect_and_names_its_arrows(runs_root):
    finished_run(runs_root, "points", dataset="ring8")
    at = watching("points")
    captions = [c.value for c in at.caption]
    (said,) = [c for c in captions if c.startswith("G's points are pushed toward where D says")]
    assert "at equilibrium D says about 0.5 over the data (white)" in said
    (toggle,) = [t for t in at.toggle if t.key == "show_arrows"]
    assert toggle.label == "where G pushes its points"
    toggle.set_value(True).run()
    names = [t.get("name") for t in figure(at, "chart_samples")["data"]]
    assert "where G pushes its points" in names


def test_a_2d_dataset_in_the_sidebar_names_its_healthy_preset(runs_root):
    at = watching("", dataset="grid25")
    assert not at.exception
    named = [c.value for c in at.caption if "healthy-grid25" in c.value]
    assert named == [
        "For a healthy grid25 run, start the preset **Healthy equilibrium (grid25)** (`healthy-grid25`: the "
        "sidebar's Scenario presets, or the Guide): the defaults are tuned for the 8x8 digits."
    ]
    hint = [i.value for i in at.info if "Press **Start**" in i.value]
    assert hint and "8x8" not in hint[0] and "grid25" in hint[0]
    plain = watching("")  # the defaults (digits): no preset to name, the hint as it was
    assert not [c.value for c in plain.caption if "For a healthy" in c.value]
    assert any("the default trains an MLP GAN on the 8x8 digits" in i.value for i in plain.info)


def test_the_healthy_recipe_counts_as_used_whatever_the_runs_length_records_seed_and_device():
    preset = PRESETS["healthy-ring8"]
    run_length = dict(steps=2600, checkpoint_every=500, eval_every=250, sample_every=50, seed=3, device="cpu")
    assert healthy_recipe_not_used(preset.config(**run_length)) is None
    assert healthy_recipe_not_used(preset.config(lr_g=1e-3)) is preset  # training otherwise: named
    assert healthy_recipe_not_used(preset.config(batch_size=64)) is preset
    assert healthy_recipe_not_used(GANConfig(dataset="ring8")) is preset  # the digits' defaults on ring8
    assert healthy_recipe_not_used(GANConfig()) is None  # digits: no healthy 2D recipe to name


def test_a_form_holding_the_healthy_recipe_run_longer_names_no_preset(runs_root):
    recipe = {**PRESETS["healthy-ring8"].overrides, "steps": 2600, "checkpoint_every": 500}
    at = watching("", **recipe)  # (as a run's settings loaded into the form leave it: no preset picked)
    assert not at.exception
    assert not [c.value for c in at.caption if "For a healthy" in c.value]
    edited = watching("", **{**recipe, "lr_g": 0.001})
    assert [c.value for c in edited.caption if c.value.startswith("For a healthy ring8 run")]


def test_a_train_view_with_no_run_offers_the_newest_run_and_opens_it(runs_root):
    empty = watching("")
    assert not [b for b in empty.button if b.key == "btn_open_newest"]  # an empty runs folder: none offered
    finished_run(runs_root, "older", dataset="ring8")
    finished_run(runs_root, "newer", dataset="ring8", steps=15)
    at = watching("")
    (offer,) = [b for b in at.button if b.key == "btn_open_newest"]
    assert offer.label == "Open the newest run, newer (finished, step 15)"
    offer.click().run()
    assert not at.exception
    assert at.session_state["run_id"] == "newer"
    assert not [b for b in at.button if b.key == "btn_open_newest"]  # the run is shown now
