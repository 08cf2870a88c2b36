"""The Compare page through AppTest: each run's flags on the metric charts, and the runs' samples side by
side at a step chosen on a slider (each run's snapshot nearest it; a damaged one named, the others shown)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from streamlit.runtime.state.common import user_key_from_element_id
from streamlit.testing.v1 import AppTest

from gan_core import charts as gan_charts
from gan_core import track
from gan_core.config import GANConfig
from gan_core.rundir import RunDir
from gan_core.runner import Runner
from ui.live_chart import chart_grid_style, chart_key, read_payload

APP_DIR = Path(__file__).resolve().parents[1]
TIMEOUT = 180  # seconds for a tiny run to finish (a 1,500-step one passed 60 on a loaded 2-core machine)
TINY = dict(
    dataset="ring8", width=16, latent_dim=4, batch_size=16, device="cpu", steps=30, checkpoint_every=0
)


def finished(root: Path, run_id: str, **overrides) -> None:
    runner = Runner(GANConfig(**{**TINY, **overrides}), root, run_id).start()
    assert runner.wait(TIMEOUT) and runner.status == "finished"


def charts(at: AppTest) -> dict[str, dict]:
    """Each chart on the page by its key, as the figure JSON the browser gets (`ui.live_chart`)."""
    return {
        user_key_from_element_id(c.proto.id): read_payload(c.proto.bytes)["figure"]
        for c in at.get("bidi_component")
    }


def compare() -> AppTest:
    at = AppTest.from_file(str(APP_DIR / "pages/2_Compare.py"), default_timeout=TIMEOUT).run()
    assert not at.exception
    return at


def test_samples_side_by_side_at_the_chosen_step(runs_root):
    finished(runs_root, "every5", sample_every=5)
    finished(runs_root, "every10", sample_every=10, seed=1)
    at = compare()
    assert sorted(at.multiselect(key="cmp_runs").value) == ["every10", "every5"]
    (slider,) = [s for s in at.select_slider if s.key == "cmp_sample_step"]
    assert [int(o) for o in slider.options] == [0, 5, 10, 15, 20, 25, 30]  # every run's snapshot steps
    assert int(slider.value) == 30  # the newest
    order = at.multiselect(key="cmp_runs").value
    titles = {key: fig["layout"]["title"]["text"] for key, fig in charts(at).items() if "samples" in key}
    assert titles == {"cmp_samples_0": "step 30", "cmp_samples_1": "step 30"}
    slider.set_value(15).run()
    titles = {key: fig["layout"]["title"]["text"] for key, fig in charts(at).items() if "samples" in key}
    # the nearest snapshot of each: 15 itself, and 10 for the run that saves every 10 (the earlier on a tie)
    expected = {"every5": "step 15", "every10": "step 10"}
    assert titles == {f"cmp_samples_{i}": expected[run_id] for i, run_id in enumerate(order)}
    # each picture is the Train view's: D's heatmap with its colour bar, real and generated points
    figure = charts(at)["cmp_samples_0"]
    assert [t["type"] for t in figure["data"]][:3] == ["heatmap", "scatter", "scatter"]
    assert figure["data"][0]["colorbar"]["ticktext"] == ["0", "0.5", "1"]
    named = [m.value for m in at.markdown if "<svg" in m.value]  # each picture named by its run, its line
    assert [sample_name(name) for name in named] == order
    # on one line, a long id cut short (whole on hover): every run's samples start level
    assert all("white-space:nowrap" in name and "text-overflow:ellipsis" in name for name in named)


def sample_name(markdown: str) -> str:
    """The run a samples picture's name line names (its hover title)."""
    return re.search(r'title="([^"]+)"', markdown).group(1)


def line_colors(at: AppTest) -> dict[str, str]:
    """Run id -> the colour of its line on the d_loss chart."""
    figure = charts(at)["cmp_chart_d_loss"]
    lines = [
        t
        for t in figure["data"]
        if t.get("mode") == "lines" and not t.get("name", " (raw)").endswith(" (raw)")
    ]
    return {t["name"]: t["line"]["color"] for t in lines}


def test_nine_runs_are_nine_lines_one_can_tell_apart(runs_root):
    """A sweep reviewer's 9th and 10th runs were the 1st's and 2nd's lines in colour and style, in every
    chart and in the summary's names: past the palette's eight, a colour comes again dashed, and the page
    says which run is which."""
    ids = [f"r{i}" for i in range(len(gan_charts.PALETTE) + 1)]
    for seed, run_id in enumerate(ids):
        finished(runs_root, run_id, seed=seed, steps=4, sample_every=4)
    at = compare()
    at.multiselect(key="cmp_runs").set_value(ids).run()
    assert not at.exception
    figure = charts(at)["cmp_chart_d_loss"]
    lines = {
        t["name"]: (t["line"]["color"], t["line"]["dash"])
        for t in figure["data"]
        if t.get("mode") == "lines" and not t["name"].endswith(" (raw)")
    }
    assert len(lines) == len(ids) and len(set(lines.values())) == len(ids)
    (dashed,) = [run_id for run_id, (_, dash) in lines.items() if dash != "solid"]  # (kept styles first)
    (twin,) = [run_id for run_id, style in lines.items() if style == (lines[dashed][0], "solid")]
    assert lines[dashed][1] == "dash"
    (said,) = [c.value for c in at.caption if c.value.startswith("More runs than colours")]
    assert said == (
        f"More runs than colours (8): their lines take the colours again, {dashed} dash (as in the charts' "
        "legends)."
    )
    # beside its samples, a run's line as the legends draw it: its colour and dash
    named = {sample_name(m.value): m.value for m in at.markdown if "<svg" in m.value}
    assert 'stroke-dasharray="6,4"' in named[dashed] and f'stroke="{lines[dashed][0]}"' in named[dashed]
    assert "stroke-dasharray" not in named[twin] and f'stroke="{lines[dashed][0]}"' in named[twin]
    at.multiselect(key="cmp_runs").set_value(ids[:3]).run()  # eight or fewer: no note
    assert not [c for c in at.caption if c.value.startswith("More runs than colours")]


def test_a_run_keeps_its_colour_while_others_are_added_and_removed(runs_root):
    for seed, run_id in enumerate(("a", "b", "c")):
        finished(runs_root, run_id, seed=seed, steps=10)
    at = compare()
    at.multiselect(key="cmp_runs").set_value(["a", "b", "c"]).run()
    first = line_colors(at)
    assert sorted(first) == ["a", "b", "c"] and len(set(first.values())) == 3
    at.multiselect(key="cmp_runs").set_value(["b", "c"]).run()  # a removed: b and c keep theirs
    assert line_colors(at) == {"b": first["b"], "c": first["c"]}
    named = {sample_name(m.value): m.value for m in at.markdown if "<svg" in m.value}
    assert all(
        f'stroke="{first[run_id]}"' in named[run_id] for run_id in ("b", "c")
    )  # the samples' names too
    at.multiselect(key="cmp_runs").set_value(["a", "b", "c"]).run()  # a back: the colour free, its own
    assert line_colors(at) == first


def test_a_damaged_snapshot_is_named_and_the_other_runs_shown(runs_root):
    finished(runs_root, "good", sample_every=10)
    finished(runs_root, "bad", sample_every=10, seed=1)
    (runs_root / "bad" / "samples" / "step_00000030.npz").write_bytes(np.random.default_rng(0).bytes(2048))
    at = compare()
    samples = [key for key in charts(at) if "samples" in key]
    assert len(samples) == 1
    assert any(
        c.value.startswith("snapshot unreadable: ") and "step_00000030.npz" in c.value for c in at.caption
    )


def test_each_runs_flags_are_marked_in_its_colour(runs_root):
    finished(runs_root, "calm")
    finished(runs_root, "flagged", seed=1)
    run_dir = RunDir.open(runs_root, "flagged").claim("adding flag events")
    try:
        run_dir.append_event(12, "flag", "d_overpowers: ...", {"flag": "d_overpowers"})
        run_dir.append_event(25, "flag_cleared", "d_overpowers", {"flag": "d_overpowers"})
    finally:
        run_dir.release()
    at = compare()
    order = at.multiselect(key="cmp_runs").value
    figure = charts(at)["cmp_chart_d_loss"]
    lines = [s for s in figure["layout"]["shapes"] if s.get("yref") == "paper"]
    colour = figure["data"][[t["name"] for t in figure["data"]].index("flagged")]["line"]["color"]
    assert [(s["x0"], s["line"]["dash"], s["line"]["color"]) for s in lines] == [
        (12, "dot", colour),  # (solid in the run's colour read as a step of its own curve)
        (25, "dash", colour),
    ]
    (caps,) = [t for t in figure["data"] if t["name"] == "events"]
    assert caps["text"] == ["flagged, step 12: d_overpowers", "flagged, step 25: d_overpowers cleared"]
    assert sorted(order) == ["calm", "flagged"]


def test_differing_fields_are_the_settings_in_force(runs_root):
    # Two runs with one config; one changed lr_d mid-run (as a branch or a resume with a new lr_d does):
    # the table shows that run's lr_d now, not config.json's.
    finished(runs_root, "same")
    runner = Runner(GANConfig(**{**TINY, "steps": 0}), runs_root, "slowed").start(paused=True)
    runner.run_to(5)
    assert runner.wait_until(lambda r: r.status == "paused" and r.current_step >= 5, TIMEOUT)
    runner.set_hparams(lr_d=5e-5)
    runner.run_to(10)
    assert runner.wait_until(lambda r: r.status == "paused" and r.current_step >= 10, TIMEOUT)
    runner.stop()
    assert runner.wait(TIMEOUT)
    at = compare()
    diff = at.dataframe[1].value
    assert float(diff.loc["lr_d", "slowed"]) == 5e-5 and float(diff.loc["lr_d", "same"]) == 2e-4
    assert "steps" in diff.index  # 30 against 0 (open-ended)


def test_a_built_in_run_and_ones_own_loop_compare_on_source_and_loss(runs_root):
    finished(runs_root, "built")
    with track.init(
        "mine", root=runs_root, loss="hinge", config={"lr": 1e-4, "layers": [8, 8], "note": None}
    ) as run:
        for _ in range(3):
            run.d_step(torch.randn(8), torch.randn(8), d_loss=torch.tensor(1.0))
            run.g_step(torch.tensor(0.7))
    at = compare()
    assert at.multiselect(key="cmp_runs").value == ["mine", "built"]
    diff, partial = at.dataframe[1].value, at.dataframe[2].value
    # where each came from, from run.json: never None for the built-in run
    assert diff.loc["(source)"].to_dict() == {"mine": "api", "built": "trainer"}
    assert diff.loc["(loss)"].to_dict() == {"mine": "hinge", "built": "nonsaturating"}
    assert "loss" not in diff.index and "loss" not in partial.index  # the built-in run's is the row above
    # a field one run has and the other has not: apart, a dash, not "None"; a value None: JSON's null
    assert set(diff.index).isdisjoint(partial.index)
    assert partial.loc["lr"].to_dict() == {"mine": "0.0001", "built": "—"}
    assert partial.loc["layers"].to_dict() == {"mine": "[8, 8]", "built": "—"}
    assert partial.loc["note"].to_dict() == {"mine": "null", "built": "—"}
    assert partial.loc["lr_d"].to_dict() == {"mine": "—", "built": "0.0002"}  # no optimizer passed
    assert partial.loc["(dataset)"].to_dict() == {"mine": "—", "built": "ring8"}  # none named
    assert partial.loc["gp_weight"].to_dict() == {"mine": "—", "built": "10.0"}
    assert "None" not in diff.to_numpy() and "None" not in partial.to_numpy()


def test_ones_own_loop_compares_with_a_built_in_run_on_its_dataset_and_optimizer_settings(runs_root):
    """A user's run named its dataset and passed its optimizers: those compare on the built-in run's rows
    (the settings its last step recorded), so that only real differences are listed as such."""
    finished(runs_root, "built", lr_g=1e-3)
    G, D = torch.nn.Linear(4, 2), torch.nn.Linear(2, 1)
    opt_g = torch.optim.Adam(G.parameters(), lr=1e-3, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=5e-4, betas=(0.5, 0.999))
    with track.init(
        "mine", root=runs_root, loss="nonsaturating", dataset="ring8", opt_d=opt_d, opt_g=opt_g
    ) as run:
        for _ in range(3):
            run.d_step(torch.randn(8), torch.randn(8), d_loss=torch.tensor(1.0))
            run.g_step(torch.tensor(0.7))
    at = compare()
    assert not at.error
    diff, partial = at.dataframe[1].value, at.dataframe[2].value
    # the same loss, dataset, lr_g, betas, d_steps, sample_every, eval_every and seed; "mine" is open-ended
    assert list(diff.index) == ["(source)", "lr_d", "steps"]
    assert diff.loc["steps"].to_dict() == {"mine": "0", "built": "30"}
    assert float(diff.loc["lr_d", "mine"]) == 5e-4 and float(diff.loc["lr_d", "built"]) == 2e-4
    assert partial.loc["(model)"].to_dict() == {"mine": "—", "built": "mlp"}
    assert "lr_g" not in partial.index and "beta2" not in partial.index


def test_runs_of_different_losses_are_said_to_be_on_different_scales(runs_root):
    finished(runs_root, "bce", steps=10)
    finished(runs_root, "critic", steps=10, loss="wgan-gp", seed=1)
    at = compare()
    notes = [c.value for c in at.caption if "compare each run's trend" in c.value]
    # under d_loss and g_loss of the default charts, and under the accuracies: a critic's ranks its scores
    assert len(notes) == 4
    assert all("nonsaturating: bce" in n and "wgan-gp: critic" in n for n in notes[:2])
    assert [n.split(" of a Wasserstein critic (critic)")[0] for n in notes[2:]] == [
        "d_acc_real",
        "d_acc_fake",
    ]


def test_a_chosen_metric_of_a_run_taken_out_stays_chosen(runs_root):
    finished(runs_root, "built")
    with track.init("mine", root=runs_root, loss="nonsaturating", dataset="ring8") as run:
        for i in range(3):
            run.d_step(torch.randn(8), torch.randn(8), d_loss=torch.tensor(1.0))
            run.log({"my_metric": float(i)})
            run.g_step(torch.tensor(0.7))
    at = compare()
    at.multiselect(key="cmp_runs").set_value(["mine", "built"]).run()
    at.multiselect(key="cmp_metrics").set_value(["d_loss", "my_metric"]).run()
    assert "cmp_chart_my_metric" in charts(at)
    at.multiselect(key="cmp_runs").set_value(["built"]).run()  # the run that logged it taken out
    assert at.multiselect(key="cmp_metrics").value == ["d_loss", "my_metric"] and not at.exception
    assert charts(at)["cmp_chart_my_metric"]["layout"]["title"]["text"] == "my_metric"  # a placeholder
    at.multiselect(key="cmp_metrics").set_value(["my_metric", "fd_cls"]).run()  # ring8 has no fd_cls
    assert not at.exception
    # (the run left has ended: no row will bring it, and "no data yet" would say one might)
    assert charts(at)["cmp_chart_my_metric"]["layout"]["annotations"][0]["text"] == (
        "none of the chosen runs logged my_metric"
    )
    # (a quality metric the run never measured: the run named so in the legend, as a per-step one is)
    assert [t["name"] for t in charts(at)["cmp_chart_fd_cls"]["data"]] == ["built (not measured)"]
    at.multiselect(key="cmp_runs").set_value(["built", "mine"]).run()  # back: drawn again
    lines = [t for t in charts(at)["cmp_chart_my_metric"]["data"] if t.get("name") == "mine"]
    # (the raw values under the smoothed line: a live chart's figure writes arrays as JSON numbers)
    assert len(lines) == 1 and lines[0]["customdata"] == [0, 1, 2]


def test_a_runs_own_metric_of_any_accepted_name_is_drawn_under_a_key_of_its_own(runs_root):
    """Compare's charts are live charts (`ui.live_chart`), whose key must not hold "__": a run's own metric
    named so (or with a "_" at an end) is drawn under a hashed key, a plain name under its own."""
    names = ["_x", "a__b", "x_", "fake_std", "ema/fid"]
    with track.init("odd-names", root=runs_root, loss="nonsaturating", dataset="ring8") as run:
        for i in range(3):
            run.d_step(torch.randn(8), torch.randn(8), d_loss=torch.tensor(1.0))
            run.log({name: float(i + k) for k, name in enumerate(names)})
            run.g_step(torch.tensor(0.7))
    at = compare()
    at.multiselect(key="cmp_metrics").set_value(names).run()
    assert not at.exception and not at.error
    figures = charts(at)
    keys = [chart_key("cmp_chart", name) for name in names]
    assert [k for k in figures if k.startswith("cmp_chart")] == keys  # one chart per metric, in order
    assert keys[3:] == ["cmp_chart_fake_std", "cmp_chart_ema/fid"]  # plain names read as such
    assert not any("__" in key or key.endswith("_") for key in keys)
    for k, (name, key) in enumerate(zip(names, keys)):
        (line,) = [t for t in figures[key]["data"] if t.get("name") == "odd-names"]
        assert figures[key]["layout"]["title"]["text"] == name
        assert line["customdata"] == pytest.approx([k, k + 1, k + 2], abs=1e-6)  # its raw values


def own_loop_runs(runs_root, logged: dict[str, list[str]]) -> None:
    """A run of one's own loop for each run id, 3 steps, each step logging its names (the step's index)."""
    for run_id, names in logged.items():
        with track.init(run_id, root=runs_root, loss="nonsaturating", dataset="ring8") as run:
            for i in range(3):
                run.d_step(torch.randn(8), torch.randn(8), d_loss=torch.tensor(1.0))
                run.log({name: float(i) for name in names})
                run.g_step(torch.tensor(0.7))


def test_the_own_metrics_every_chosen_run_logged_are_drawn_by_default(runs_root):
    """A loop's own numbers were drawn only once picked in the Metrics menu (W&B draws every key logged):
    the schema's four, then the first four own metrics that every chosen run logged."""
    own = ["fake_std", "my_score", "a1", "a2", "a3"]
    own_loop_runs(runs_root, {"own-a": [*own, "only_a"], "own-b": own})
    at = compare()
    assert not at.exception
    shown = at.multiselect(key="cmp_metrics").value
    assert shown == ["d_loss", "g_loss", "d_acc_real", "d_acc_fake", "fake_std", "my_score", "a1", "a2"]
    assert "only_a" in at.multiselect(key="cmp_metrics").options  # (offered, not drawn: one run has it)


def test_the_own_metrics_are_offered_and_drawn_by_default_in_their_sections(runs_root):
    """The Metrics menu listed a run's own metrics in the order logged, val/fid far from val/kid: now in
    the Train view's sections (`charts.custom_metric_groups`), the names without a section first, and the
    default the first four of that order that every run logged."""
    logged = ["val/fid", "loss_gap", "train/gp", "val/kid", "score"]
    own_loop_runs(runs_root, {"sec-a": logged, "sec-b": logged})
    at = compare()
    assert not at.exception
    menu = at.multiselect(key="cmp_metrics")
    assert [m for m in menu.options if m in logged] == ["loss_gap", "score", "val/fid", "val/kid", "train/gp"]
    assert menu.value[4:] == ["loss_gap", "score", "val/fid", "val/kid"]


def test_runs_on_different_data_are_said_so_once_above_the_charts(runs_root):
    finished(runs_root, "ring-a")
    finished(runs_root, "ring-b", seed=1)
    at = compare()
    assert at.multiselect(key="cmp_runs").value and not at.info  # one data set: nothing to say
    finished(runs_root, "digits-c", dataset="digits", steps=4)
    at = compare()
    at.multiselect(key="cmp_runs").set_value(["ring-a", "digits-c", "ring-b"]).run()
    assert [i.value for i in at.info] == [
        "These runs train on different data (ring8: ring-a, ring-b; digits: digits-c): their losses, "
        "accuracies and quality metrics are each data set's own, so compare each run's trend, and values "
        "only within one data set."
    ]
    at.multiselect(key="cmp_runs").set_value(["ring-a", "ring-b"]).run()
    assert not at.info


def test_a_run_still_training_is_said_to_be_shown_as_it_was_and_a_refresh_brings_it_up_to_date(runs_root):
    """Compare drew a run that was still training as it was when the page ran, and said nothing of it (the
    reviewer's live run stopped at step 15k on Compare while it trained on past 23k)."""
    finished(runs_root, "done")
    run = track.init("live", root=runs_root, loss="hinge")
    try:
        for _ in range(3):
            run.d_step(torch.randn(8), torch.randn(8), d_loss=torch.tensor(1.0))
            run.g_step(torch.tensor(0.7))
        run.flush()
        at = compare()
        assert sorted(at.multiselect(key="cmp_runs").value) == ["done", "live"]
        (note,) = [c.value for c in at.caption if c.value.startswith("Still training")]
        shown_as_it_was = "This page shows the runs as they were when it was drawn."
        assert note == f"Still training: live (shown to step 3). {shown_as_it_was}"
        for _ in range(4):
            run.d_step(torch.randn(8), torch.randn(8), d_loss=torch.tensor(1.0))
            run.g_step(torch.tensor(0.7))
        run.flush()
        at.button(key="cmp_refresh").click().run()
        (note,) = [c.value for c in at.caption if c.value.startswith("Still training")]
        assert "live (shown to step 7)" in note
        # the two runs' samples side by side, in the grid of as many equal columns as fit (three fixed
        # columns left a third of the row empty, and squeezed three panels into a 768 px window)
        names = [sample_name(m.value) for m in at.markdown if "<svg" in m.value]
        assert names == at.multiselect(key="cmp_runs").value and len(names) == 2
        styles = [h.proto.body for h in at.get("html")]
        assert [s for s in styles if chart_grid_style("cmp_samples", gan_charts.SAMPLE_PANEL_MIN_PX) in s]
    finally:
        run.finish()
    at = compare()
    assert not [c.value for c in at.caption if c.value.startswith("Still training")]  # both finished now


def test_a_conditional_and_an_unconditional_run_s_diversity_are_said_to_differ(runs_root):
    """A conditional run's diversity is measured within each class asked for, an unconditional one's
    across all samples: drawn on one axis, the chart says so; label_fidelity carries the Train view's
    1.0 reference line ("every sample its class")."""
    digits = dict(dataset="digits", steps=4, eval_every=2, sample_every=2)
    finished(runs_root, "plain", **digits)
    finished(runs_root, "classes", conditioning="concat", seed=1, **digits)
    at = compare()
    at.multiselect(key="cmp_runs").set_value(["plain", "classes"]).run()
    at.multiselect(key="cmp_metrics").set_value(["diversity", "label_fidelity", "fd_cls"]).run()
    assert not at.exception
    notes = [c.value for c in at.caption if "class-conditional runs" in c.value]
    assert notes == [
        "diversity is measured within each class asked for in the class-conditional runs (classes) and "
        "across all samples (a G that draws one image per class is diverse across classes, collapsed "
        "within each) in the others (plain): compare each run's trend, not the values across the two."
    ]  # under diversity only: fd_cls and label_fidelity (the conditional run's alone) mean one thing
    figures = charts(at)
    (line,) = [s for s in figures["cmp_chart_label_fidelity"]["layout"]["shapes"] if s.get("label")]
    assert (line["y0"], line["y1"], line["label"]["text"]) == (1.0, 1.0, "every sample its class")
    # fd_cls: the runs' "real vs real" line alone (`charts.compare_baseline`), its unit on the axis
    labelled = [s for s in figures["cmp_chart_fd_cls"]["layout"].get("shapes", ()) if s.get("label")]
    assert [s["label"]["text"].startswith("real vs real") for s in labelled] == [True]
    assert figures["cmp_chart_fd_cls"]["layout"]["yaxis"]["title"]["text"] == "Fréchet distance (0 = matches)"
    # two unconditional runs: nothing to say
    finished(runs_root, "plain-2", seed=2, **digits)
    at.multiselect(key="cmp_runs").set_value(["plain", "plain-2"]).run()
    assert not [c.value for c in at.caption if "class-conditional runs" in c.value]


def test_the_conditioning_note_names_the_metrics_it_changes():
    mixed = {"a": True, "b": False, "c": True}
    frame = pd.DataFrame({"step": [2.0, 4.0], **{c: [0.5, 0.6] for c in gan_charts.CONDITIONING_MEANINGS}})
    frame = frame.assign(fd_cls=1.0, d_loss=1.0, label_fidelity=0.5, hq_pct=50.0)
    frames = dict.fromkeys(mixed, frame)
    note = gan_charts.compare_conditioning_note("class_kl", mixed, frames)
    assert note.startswith("class_kl is measured over samples asked for every class in turn")
    assert "class-conditional runs (a, c)" in note and "the others (b)" in note
    assert gan_charts.compare_conditioning_note("classes_covered", mixed, frames) is not None
    for column in ("fd_cls", "d_loss", "label_fidelity", "hq_pct"):  # the same meaning either way
        assert gan_charts.compare_conditioning_note(column, mixed, frames) is None
    assert gan_charts.compare_conditioning_note("diversity", {"a": True, "c": True}, frames) is None
    assert gan_charts.compare_conditioning_note("diversity", {"b": False}, frames) is None
    assert gan_charts.compare_conditioning_note("diversity", {}, {}) is None


def test_compare_draws_the_train_view_s_reference_line_of_a_quality_metric():
    frame = pd.DataFrame({"step": [2.0, 4.0, 6.0], "label_fidelity": [0.2, 0.5, 0.7]})
    fig = gan_charts.compare_figure(
        {"a": frame, "b": frame.assign(label_fidelity=[0.1, 0.3, 0.9])}, "label_fidelity"
    )
    (line,) = fig["layout"]["shapes"]
    assert (line["y0"], line["y1"], line["label"]["text"]) == (1.0, 1.0, "every sample its class")
    assert line["line"]["dash"] == "dash" and line["yref"] == "y"
    diversity = gan_charts.compare_figure(
        {"a": frame.rename(columns={"label_fidelity": "diversity"})}, "diversity"
    )
    assert [s["y0"] for s in diversity["layout"]["shapes"]] == [1.0]  # "diversity of real data", as on Train
    plain = gan_charts.compare_figure({"a": frame.rename(columns={"label_fidelity": "d_loss"})}, "d_loss")
    assert not plain["layout"]["shapes"]
    log = gan_charts.compare_figure({"a": frame}, "label_fidelity", log_y=True)
    assert [s["y0"] for s in log["layout"]["shapes"]] == [1.0]


def test_the_sample_step_outlives_a_run_that_did_not_draw_the_slider(runs_root):
    """No run chosen draws no slider, and Streamlit drops its state: the step chosen comes back with it."""
    finished(runs_root, "every5", sample_every=5)
    finished(runs_root, "every10", sample_every=10, seed=1)
    at = compare()
    (slider,) = [s for s in at.select_slider if s.key == "cmp_sample_step"]
    slider.set_value(15).run()
    at.multiselect(key="cmp_runs").set_value([]).run()
    assert not at.select_slider
    at.multiselect(key="cmp_runs").set_value(["every5", "every10"]).run()
    (slider,) = [s for s in at.select_slider if s.key == "cmp_sample_step"]
    assert int(slider.value) == 15 and not at.exception


def test_the_metrics_menu_offers_only_quality_metrics_some_chosen_run_measured(runs_root):
    """Two digits runs were offered fid, modes_covered, label_fidelity and the Inception metrics, none of
    which either measured: each one chosen drew an empty chart."""
    finished(runs_root, "ring", steps=20, eval_every=10)
    at = compare()
    at.multiselect(key="cmp_runs").set_value(["ring"]).run()
    offered = set(at.multiselect(key="cmp_metrics").options)
    assert {"modes_covered", "hq_pct", "d_loss", "g_grad_norm"} <= offered  # measured by ring8's evaluations
    assert not {"classes_covered", "label_fidelity", "fid", "fd_cls"} & offered  # never measured
    at.multiselect(key="cmp_metrics").set_value(["d_loss", "modes_covered"]).run()
    at.multiselect(key="cmp_runs").set_value([]).run()  # no run: the choice kept, nothing to filter by
    assert at.multiselect(key="cmp_metrics").value == ["d_loss", "modes_covered"] and not at.exception


def test_a_zoom_on_steps_draws_every_runs_lines_finer_there(runs_root):
    """The steps the charts are zoomed on (reported by the browser: `live_chart`'s on_zoom) drawn from
    points of their own in each run; the whole again without it."""
    finished(runs_root, "a", steps=1500, checkpoint_every=0, eval_every=1500)
    finished(runs_root, "b", steps=1500, checkpoint_every=0, eval_every=1500, seed=1)
    at = AppTest.from_file(str(APP_DIR / "pages/2_Compare.py"), default_timeout=TIMEOUT).run()
    at.multiselect(key="cmp_runs").set_value(["a", "b"]).run()

    def inside() -> dict[str, int]:
        figure = charts(at)[chart_key("cmp_chart", "d_loss")]
        lines = [t for t in figure["data"] if t.get("name") in ("a", "b") and t.get("mode") == "lines"]
        return {t["name"]: sum(600 <= x <= 750 for x in t["x"]) for t in lines}

    assert not at.exception
    whole = inside()
    assert set(whole) == {"a", "b"} and max(whole.values()) <= 70  # 600 points over 1,500 steps
    at.session_state["_cmp_zoom"] = (600.0, 750.0)
    at.run()
    assert min(inside().values()) >= 140  # a step a point there
    at.session_state["_cmp_zoom"] = None
    at.run()
    assert inside() == whole


def test_a_line_swatch_is_a_legends_line_and_refuses_what_it_cannot_draw():
    from ui.common import line_swatch

    assert 'stroke="#0072b2"' in line_swatch("#0072b2") and "dasharray" not in line_swatch("#0072b2")
    assert 'stroke-dasharray="2,3"' in line_swatch("#0072b2", "dot")
    with pytest.raises(ValueError, match="dash 'longdash' is unknown: allowed solid, dash, dot, dashdot"):
        line_swatch("#0072b2", "longdash")
    with pytest.raises(ValueError, match="is not #rrggbb"):
        line_swatch('red" onload="x')


def test_a_branched_runs_lineage_is_a_table_arrow_takes_as_it_is(runs_root, monkeypatch):
    """The lineage table held "" and ints in one column: each draw of the page logged pyarrow's
    ArrowTypeError with its traceback, Streamlit mending the column behind it (found by a newcomer's pass)."""
    import logging

    import streamlit.dataframe_util as dataframe_util

    finished(runs_root, "parent")
    finished(runs_root, "branch", seed=1)
    status = RunDir.open(runs_root, "branch").path / "status.json"
    status.write_text(json.dumps({**json.loads(status.read_text()), "parent": "parent", "parent_step": 10}))
    mended: list[logging.LogRecord] = []
    monkeypatch.setattr(dataframe_util._LOGGER, "info", lambda *a, **k: mended.append(a[0]))
    at = compare()
    (lineage,) = [d.value for d in at.dataframe if "parent_step" in d.value.columns]
    assert dict(zip(lineage["run"], lineage["parent_step"])) == {"parent": "", "branch": "10"}
    assert mended == []
