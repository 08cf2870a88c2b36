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
from gan_core.presets import PRESETS, healthy_preset_for, healthy_recipe_not_used, trains_as_the_defaults
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
    # settings of the user's own (the recipe with lr_g raised, to see what it does): "the defaults are
    # tuned for the digits" would be untrue, and naming the recipe they started from no help
    edited = watching("", **{**recipe, "lr_g": 0.001})
    assert not edited.exception
    assert not [c.value for c in edited.caption if "For a healthy" in c.value]
    (hint,) = [i.value for i in edited.info if "Press **Start**" in i.value]
    assert "8x8" not in hint  # (the digits' defaults are not what this form trains)
    # the defaults with ring8 picked and run longer (a Run field): named
    longer = watching("", dataset="ring8", steps=9000)
    assert [c.value for c in longer.caption if c.value.startswith("For a healthy ring8 run")]


def test_only_the_defaults_on_a_2d_dataset_count_as_the_defaults():
    assert trains_as_the_defaults(GANConfig(dataset="ring8", steps=9000, seed=4))
    assert trains_as_the_defaults(GANConfig())
    assert not trains_as_the_defaults(GANConfig(dataset="ring8", lr_d=5e-3))
    assert not trains_as_the_defaults(PRESETS["healthy-grid25"].config(lr_d=5e-3))


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


# ------------------------------------------------------------------ G's map of its noise (GAN Lab's manifold)
def test_the_noise_mesh_spans_where_the_fixed_noise_lies_whatever_its_distribution():
    import torch

    from gan_core.trainer import MESH_LINES, MESH_POINTS, noise_mesh

    normal = torch.randn(4000, 2, generator=torch.Generator().manual_seed(0))
    mesh = noise_mesh(normal)
    assert mesh.shape == (2 * MESH_LINES, MESH_POINTS, 2) and mesh.dtype == torch.float32
    # N(0, 1)'s 2nd and 98th percentiles: -+2.054
    assert mesh[..., 0].min().item() == pytest.approx(-2.054, abs=0.1)
    assert mesh[..., 0].max().item() == pytest.approx(2.054, abs=0.1)
    assert mesh[..., 1].min().item() == pytest.approx(-2.054, abs=0.1)
    # lines of constant z1 (z2 along them), then of constant z2
    assert torch.unique(mesh[0, :, 0]).numel() == 1 and torch.unique(mesh[0, :, 1]).numel() == MESH_POINTS
    assert torch.unique(mesh[-1, :, 1]).numel() == 1 and torch.unique(mesh[-1, :, 0]).numel() == MESH_POINTS
    uniform = torch.rand(4000, 5, generator=torch.Generator().manual_seed(1), dtype=torch.float64) * 2 - 1
    mesh = noise_mesh(uniform)
    assert mesh.shape == (2 * MESH_LINES, MESH_POINTS, 5) and mesh.dtype == torch.float64
    assert mesh[..., :2].abs().max().item() == pytest.approx(0.96, abs=0.03)
    centre = uniform.median(dim=0).values[2:]  # the other coordinates: the noise's median, everywhere
    assert torch.equal(mesh[..., 2:], centre.expand(2 * MESH_LINES, MESH_POINTS, 3))
    assert noise_mesh(torch.randn(10, 1)).shape == (1, MESH_POINTS, 1)  # one line along z1
    assert noise_mesh(torch.randn(10, 8, 1, 1)) is None  # a DCGAN's noise: no plane
    assert noise_mesh(torch.randn(1, 2)) is None


def test_a_2d_snapshot_holds_g_applied_to_the_mesh_and_leaves_g_as_it_was():
    import torch
    from torch import nn

    from gan_core.trainer import noise_mesh, snapshot_view

    torch.manual_seed(0)
    G = nn.Sequential(nn.Linear(3, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 2)).train()
    D = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 1))
    noise = torch.randn(200, 3)
    stats = G[1].running_mean.clone()
    view = snapshot_view(G, noise, "points", D, get_loss("nonsaturating"), BOUNDS)
    assert G.training and torch.equal(G[1].running_mean, stats)  # eval mode for the view, then restored
    mesh = noise_mesh(noise)
    with torch.no_grad():
        expected = G.eval()(mesh.reshape(-1, 3)).reshape(*mesh.shape[:2], 2).numpy()
    np.testing.assert_allclose(view["mesh"], expected, rtol=1e-6, atol=1e-6)
    assert int(view["mesh_dims"]) == 3

    class Conditional(nn.Module):
        def forward(self, z, labels):
            return G(z) + labels[:, None]

    labels = torch.zeros(200)
    labelled = snapshot_view(
        Conditional(), noise, "points", D, get_loss("nonsaturating"), BOUNDS, labels=labels
    )
    assert (
        labelled["points"].shape == (200, 2) and "mesh" not in labelled
    )  # (a conditional G is never called here without its classes)

    class FixedBatch(nn.Module):  # a user's G that assumes its batch size
        def forward(self, z):
            assert z.shape[0] == 200, "batch of 200 only"
            return z[:, :2]

    view = snapshot_view(FixedBatch(), noise, "points", D, get_loss("nonsaturating"), BOUNDS)
    assert "mesh" not in view and view["points"].shape == (200, 2)  # the view without it, not an error


def test_the_mesh_is_saved_read_back_and_a_damaged_one_is_refused(tmp_path):
    from gan_core.rundir import RunDir, RunDirError, RunMeta

    run_dir = RunDir.create_external(tmp_path, "meshed", RunMeta(source="api", data_kind="points"))
    mesh = np.random.default_rng(0).normal(size=(22, 41, 2)).astype(np.float32)
    view = {"points": np.zeros((5, 2), np.float32), "bounds": np.array(BOUNDS, np.float32), "mesh": mesh}
    run_dir.save_snapshot(10, {**view, "mesh_dims": np.array(2)})
    loaded = run_dir.load_snapshot(run_dir.snapshot_steps()[0][1])
    np.testing.assert_array_equal(loaded["mesh"], mesh)
    assert charts.snapshot_has_mesh(loaded) and charts._mesh_dims(loaded) == 2
    run_dir.save_snapshot(20, {**view, "mesh": mesh[0]})  # (41, 2): no lines
    with pytest.raises(RunDirError, match=r"'mesh' has shape \(41, 2\); expected \(L, P, 2\)"):
        run_dir.load_snapshot(run_dir.snapshot_steps()[1][1])
    run_dir.release()


def test_the_mesh_is_drawn_as_its_lines_under_the_points_and_named_for_its_plane():
    mesh = np.stack([np.linspace([-1, y], [1, y], 5) for y in (-1.0, 0.0, 1.0)])  # 3 lines of 5 points
    fig = charts.points_figure(np.zeros((0, 2)), np.zeros((4, 2)), bounds=BOUNDS, mesh=mesh, mesh_dims=2)
    names = [t["name"] for t in fig["data"]]
    assert names.index("G's map of the noise z") < names.index("generated")  # under the points
    (trace,) = [t for t in fig["data"] if t["name"] == "G's map of the noise z"]
    x = np.asarray(trace["x"], dtype=float)
    assert len(x) == 3 * 6 and np.isnan(x[5::6]).all() and not np.isnan(np.delete(x, np.s_[5::6])).any()
    assert trace["mode"] == "lines" and trace["hoverinfo"] == "skip"
    assert charts.mesh_name(32) == "G's map of the plane z1, z2 (of 32)"
    with pytest.raises(ValueError, match=r"mesh must be \(L, P, 2\)"):
        charts.points_figure(np.zeros((0, 2)), np.zeros((4, 2)), bounds=BOUNDS, mesh=mesh[0])


def test_the_2d_view_draws_gs_map_of_the_noise_on_its_toggle(runs_root):
    finished_run(runs_root, "mapped", dataset="ring8")
    at = watching("mapped")
    (toggle,) = [t for t in at.toggle if t.key == "show_mesh"]
    assert toggle.label == "G's map of the noise" and toggle.value is False
    names = [t.get("name") for t in figure(at, "chart_samples")["data"]]
    assert "G's map of the plane z1, z2 (of 4)" not in names  # off by default
    toggle.set_value(True).run()
    names = [t.get("name") for t in figure(at, "chart_samples")["data"]]
    assert "G's map of the plane z1, z2 (of 4)" in names  # TINY's latent_dim 4
    history = [t.get("name") for t in figure(at, "chart_history_0")["data"]]
    assert "G's map of the plane z1, z2 (of 4)" in history  # the earlier snapshots too


def test_a_snapshot_from_before_the_map_keeps_its_toggle_drawn_and_off(runs_root):
    finished_run(runs_root, "older", dataset="ring8")
    samples = runs_root / "older" / "samples"
    newest = sorted(samples.glob("step_*.npz"))[-1]
    with np.load(newest) as saved:
        arrays = {k: saved[k] for k in saved.files if k not in ("mesh", "mesh_dims")}
    np.savez(newest, **arrays)  # as a version before the map wrote it
    at = watching("older")
    (toggle,) = [t for t in at.toggle if t.key == "show_mesh"]
    assert toggle.disabled and "recorded before the map was" in toggle.help
    names = [t.get("name") for t in figure(at, "chart_samples")["data"]]
    assert not any(str(n).startswith("G's map") for n in names)
