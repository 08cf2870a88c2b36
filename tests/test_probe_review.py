"""The Probe page on conditional and 2D runs, after a researcher's review: D's class accuracy for the
weights probed, what D says about the class in Ask D, live weights taken only when asked, one-point CSVs,
a view kept on the data, the Class menu only where it acts, and a batch of uploads with one bad file."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gan_core import probe
from gan_core.config import GANConfig
from gan_core.rundir import RunDir
from gan_core.trainer import Trainer
from tests.test_literal import shown
from tests.test_probe import (
    RED,
    TIMEOUT,
    TINY,
    charts_by_key,
    finished_run,
    page,
    png_bytes,
    tiny_models,
    trace_xy,
)
from ui.common import registry

DIGITS = dict(dataset="digits", latent_dim=8)


def conditional_models(conditioning: str) -> probe.ProbeModels:
    trainer = Trainer(GANConfig(**{**TINY, **DIGITS, "conditioning": conditioning}))
    trainer.step()
    return probe.load_models(trainer.state_dict())


# ------------------------------------------------------------------------------- 1: D as a classifier
def test_d_class_accuracy_is_measured_for_the_weights_probed(runs_root):
    """The card showed the run's last evaluation whatever the checkpoint; it is now D's class head scored
    for the weights probed, which is what the run recorded at that step."""
    finished_run(runs_root, "ac", **DIGITS, conditioning="acgan", eval_every=10, checkpoint_every=10)
    run_dir = RunDir.open(runs_root, "ac")
    recorded = run_dir.read_metrics().set_index("step")["d_class_acc"]
    for step, path in run_dir.checkpoints():
        accuracy, n_images = probe.d_class_accuracy(probe.checkpoint_models(run_dir, path))
        assert n_images == 360  # the digits' held-out 20%
        assert accuracy == pytest.approx(recorded[step], abs=1e-6)
    with pytest.raises(probe.ProbeError, match="needs an acgan run"):
        probe.d_class_accuracy(conditional_models("projection"))

    at = page("ac").run()
    at.selectbox(key="probe_weights_ac").set_value(10).run()
    at.number_input(key="uses_k").set_value(1)
    at.number_input(key="uses_m").set_value(10)
    at.button(key="uses_measure").click().run()
    assert not at.exception and not at.error
    (card,) = [m for m in at.metric if m.label == "D as a classifier (d_class_acc)"]
    assert card.value == f"{recorded[10]:.1%}"
    assert card.proto.delta == "D at step 10" and "step 10" in card.help


# ------------------------------------------------------------------------------- 2: D and the class asked
def test_an_acgan_d_answers_with_its_class_head_and_its_score_ignores_the_class():
    models = conditional_models("acgan")
    assert models.d_has_class_head and not models.d_takes_class
    samples = probe.generate(models, 0, 6, label=3)
    as_three = probe.ask_d(models.D, "nonsaturating", samples, labels=probe.class_labels(models, 3, 6))
    as_five = probe.ask_d(models.D, "nonsaturating", samples, labels=probe.class_labels(models, 5, 6))
    np.testing.assert_array_equal(as_three.scores, as_five.scores)  # acgan's D judges x alone
    answers = probe.class_answers(models, samples, label=3)
    assert list(answers.columns) == ["d_class", "d_class_prob", "p_label"]
    with torch.no_grad():
        probs = models.D(torch.from_numpy(samples), with_class_logits=True)[1].double().softmax(dim=1)
    assert answers["d_class"].tolist() == [str(i) for i in probs.argmax(dim=1).tolist()]
    np.testing.assert_allclose(answers["d_class_prob"], probs.max(dim=1).values.numpy(), rtol=1e-9)
    np.testing.assert_allclose(answers["p_label"], probs[:, 3].numpy(), rtol=1e-9)
    assert ((answers["p_label"] > 0) & (answers["p_label"] <= answers["d_class_prob"])).all()

    projection = conditional_models("projection")
    assert projection.d_takes_class and not projection.d_has_class_head
    assert probe.class_answers(projection, samples, label=7)["asked_as"].tolist() == ["7"] * 6
    assert probe.class_answers(tiny_models(), np.zeros((3, 2), np.float32)).shape == (3, 0)


@pytest.mark.parametrize("conditioning", ["acgan", "projection"])
def test_ask_d_says_what_the_class_does_to_d(runs_root, conditioning):
    finished_run(runs_root, "c", **DIGITS, conditioning=conditioning)
    at = page("c").run()
    at.selectbox(key="probe_ask_class_c").set_value(4).run()
    assert not at.exception and not at.error
    table = at.dataframe[0].value
    help_text = at.selectbox(key="probe_ask_class_c").help
    captions = " ".join(c.value for c in at.caption)
    if conditioning == "acgan":
        assert {"d_class", "d_class_prob", "p_label"} <= set(table.columns)
        assert "does not depend on" in help_text and "is this a real" not in help_text
        assert "real/fake score does not depend on the class picked" in captions
    else:
        assert table["asked_as"].tolist() == ["4"] * len(table)
        assert "is asked about this class" in help_text
        assert "is this a real 4?" in captions
    # one choice in both tabs: the walk draws the class picked in Ask D
    assert at.selectbox(key="probe_walk_class_c").value == 4


# ------------------------------------------------------------------------------- 3: live weights
def test_live_weights_are_taken_once_and_then_only_on_the_button(runs_root):
    runner = registry().start(GANConfig(**TINY, steps=0, checkpoint_every=0), paused=True)
    runner.run_to(4)
    assert runner.wait_until(lambda r: r.status == "paused" and r.current_step == 4, TIMEOUT)
    at = page(runner.run_id).run()
    assert any("G and D at step 4" in c.value for c in at.caption)
    runner.resume()
    assert runner.wait_until(lambda r: r.current_step >= 20, TIMEOUT)
    at.number_input(key="walk_seed_a").set_value(3).run()  # another widget: the same weights
    assert not at.exception and not at.error
    assert any("G and D at step 4" in c.value for c in at.caption)
    at.button(key="probe_refresh").click().run()
    (line,) = [c.value for c in at.caption if "G and D at step" in c.value]
    assert int(line.rsplit(" ", 1)[1]) >= 20
    runner.stop()
    assert runner.wait(TIMEOUT)


# ------------------------------------------------------------------------------- 4: one point, bad cells
def test_a_csv_of_one_point_is_asked_and_a_bad_cell_is_named():
    np.testing.assert_array_equal(probe.parse_points_upload(b"x,y\n2,0\n", "one.csv"), [[2.0, 0.0]])
    np.testing.assert_array_equal(probe.parse_points_upload(b"2,0\n", "one.csv"), [[2.0, 0.0]])
    cases = {
        b"x,y\n1,abc\n": r"column 2 has text 'abc' at row 2; need two numeric columns x,y .* 1 to 1000 rows",
        b"nan,1\n": r"column 1 has non-finite value 'nan' at row 1",
        b"x,y\nnan,1\n": r"column 1 has non-finite value 'nan' at row 2",
        b"x,y\n": r"it has 0 data rows; need .* 1 to 1000 rows",
    }
    for data, message in cases.items():
        with pytest.raises(probe.ProbeError, match=message):
            probe.parse_points_upload(data, "pts.csv")


# ------------------------------------------------------------------------------- 5: a far-off point
def test_the_view_stays_on_the_data_and_a_far_point_is_pinned_to_its_edge(runs_root):
    bounds = (-2.5, 2.5, -2.5, 2.5)
    points = np.array([[2, 0], [0, 2], [-2, 0], [0, 0], [100, 100]], dtype=np.float64)
    assert probe.fit_bounds(bounds, points) == bounds  # the far point does not grow it
    near = probe.fit_bounds(bounds, np.array([[3.0, 0.0], [100.0, 100.0]]))
    assert near == pytest.approx((-2.5, 3.0 + 0.05 * 5, -2.5, 2.5))  # a point just off it does
    capped = probe.fit_bounds(bounds, np.array([[4.99, -4.99]]))
    assert capped == pytest.approx((-2.5, 5.0, -5.0, 2.5))  # never more than half the window a side

    finished_run(runs_root, "pts")
    at = page("pts").run()
    at.radio(key="ask_source").set_value("upload").run()
    csv = b"x,y\n2,0\n0,2\n-2,0\n0,0\n100,100\n"
    at.file_uploader(key="ask_csv").set_value(("ring.csv", csv, "text/csv")).run()
    assert not at.exception and not at.error
    spec = charts_by_key(at)["probe_ask_chart"]
    view = probe.view_bounds(RunDir.open(runs_root, "pts"), GANConfig(**TINY))
    assert spec["layout"]["xaxis"]["range"] == pytest.approx(list(view[:2]))
    assert spec["layout"]["yaxis"]["range"] == pytest.approx(list(view[2:]))
    np.testing.assert_allclose(trace_xy(spec, "asked"), points[:4], rtol=1e-6)
    (edge,) = [t for t in spec["data"] if t.get("name") == "asked beyond the edge"]
    assert edge["text"] == ["asked 5 at (100, 100): beyond the view's edge"]
    assert "1 of 5 asked points outside this view" in spec["layout"]["annotations"][0]["text"]


# ------------------------------------------------------------------------------- 6: colour bar, Class menu
def test_the_walk_has_a_colour_bar_and_the_class_menu_is_only_where_it_acts(runs_root):
    finished_run(runs_root, "pts")
    at = page("pts").run()
    walk = charts_by_key(at)["probe_walk_chart"]
    (heat,) = [t for t in walk["data"] if t["type"] == "heatmap"]
    assert heat["showscale"] is True and heat["colorbar"]["ticktext"] == ["0", "0.5", "1"]
    assert "1 = real" in heat["colorbar"]["title"]["text"]  # which end is real, said on the bar

    finished_run(runs_root, "c", **DIGITS, conditioning="concat")
    at = page("c").run()
    assert not at.exception and not at.error
    walk_tab, ask_tab, copy_tab, uses_tab = at.tabs
    assert [s.key for s in walk_tab.selectbox] == ["probe_walk_class_c"]
    assert [s.key for s in ask_tab.selectbox] == ["probe_ask_class_c"]
    assert not copy_tab.selectbox and not uses_tab.selectbox
    assert [s.key for s in at.selectbox if s.label == "Class"] == ["probe_walk_class_c", "probe_ask_class_c"]
    at.selectbox(key="probe_walk_class_c").set_value(6).run()
    assert at.selectbox(key="probe_ask_class_c").value == 6


# ------------------------------------------------------------------------------- 7: a batch with a bad file
def test_a_batch_of_images_with_an_unreadable_file_shows_the_readable_ones(runs_root):
    models = tiny_models(dataset="digits")
    good = png_bytes(RED)
    read = probe.read_image_uploads([("a.png", good), ("fake.png", b"not an image"), ("b.png", good)], models)
    assert read.names == ("a.png", "b.png") and read.images.shape == (2, 1, 8, 8)
    assert read.refused == ("fake.png: not a readable image; allowed PNG, JPEG, WEBP, BMP files",)
    with pytest.raises(probe.ProbeError, match=r"none of the 2 files could be read: x\.png: .* \| y\.png"):
        probe.read_image_uploads([("x.png", b"no"), ("y.png", b"no")], models)

    finished_run(runs_root, "img", dataset="digits")
    at = page("img").run()
    at.radio(key="ask_source").set_value("upload").run()
    files = [
        ("a.png", good, "image/png"),
        ("fake.png", b"not an image", "image/png"),
        ("b.png", good, "image/png"),
    ]
    at.file_uploader(key="ask_images").set_value(files).run()
    assert not at.exception and not at.error
    (warning,) = at.warning
    assert warning.value.startswith("1 of 3 files not read") and "fake.png" in warning.value
    table = at.dataframe[0].value
    assert table["file"].tolist() == ["a.png", "b.png"] and set(table["verdict"]) <= {"real", "fake"}


# ------------------------------------------------------------------------------- 8: numbers out of range
def test_a_number_out_of_range_is_said_and_the_last_in_range_one_used(runs_root):
    """Seed A 3,000,000,000 or How many 500 stayed in their fields, outlined in red, while the page went
    on with the old values without a word (the fields' own min/max). Said now, with what is used."""
    finished_run(runs_root, "pts")
    at = page("pts").run()
    at.number_input(key="walk_seed_a").set_value(7).run()  # in range: used
    assert not at.exception and not at.error
    at.number_input(key="walk_seed_a").set_value(3_000_000_000)
    at.number_input(key="ask_n").set_value(500)
    at.run()
    assert not at.exception
    said = [e.value for e in at.error]
    assert said == [
        "Seed A 3,000,000,000 is out of range: allowed 0 to 2,147,483,647. Used: 7.",
        "How many 500 is out of range: allowed 1 to 64. Used: 8.",
    ]
    run_dir = RunDir.open(runs_root, "pts")
    models = probe.checkpoint_models(run_dir, run_dir.latest_checkpoint())
    figures = charts_by_key(at)
    np.testing.assert_allclose(  # the walk from seed 7, the value used
        trace_xy(figures["probe_walk_chart"], "latent walk"),
        probe.walk(models, 7, 1, 10, "slerp"),
        rtol=1e-5,
        atol=1e-6,
    )
    assert len(at.dataframe[0].value) == 8
    at.number_input(key="ask_n").set_value(-4).run()
    assert "How many -4 is out of range: allowed 1 to 64. Used: 8." in [e.value for e in at.error]
    at.number_input(key="walk_seed_a").set_value(2).run()
    at.number_input(key="ask_n").set_value(3).run()
    assert not at.error and len(at.dataframe[0].value) == 3


def test_a_number_the_browser_will_not_send_is_said_with_the_value_used(runs_root):
    """A seed of 99999999999999999999 (past 2**53) never reaches the server: Streamlit outlined the field
    in red and the page went on with the last seed without a word (a student review). The browser's
    watcher reports the field (as the sidebar's does); the page says so and which value it uses."""
    finished_run(runs_root, "pts")
    at = page("pts").run()
    at.number_input(key="walk_seed_a").set_value(7).run()
    at.session_state["probe_refused_numbers"] = {"refused": ["Seed A"]}  # as the browser's watcher says it
    at.run()
    assert not at.exception
    assert [e.value for e in at.error] == [
        "Seed A: the number typed is beyond what a number field can hold, so the browser did not send it "
        "(the field is outlined in red): allowed 0 to 2,147,483,647. Used: 7."
    ]
    at.session_state["probe_refused_numbers"] = {"refused": []}  # corrected in the browser
    at.run()
    assert not at.error


# ------------------------------------------------------------------------------- 7: points typed by hand
def test_points_typed_by_hand_are_asked_and_a_bad_pair_is_named(runs_root):
    """A review: a student asking D "what about (0, 0)?" had to write a CSV file (GAN Lab answers where
    the pointer is). Typed pairs are asked as an upload's are; a digits run offers no typing."""
    np.testing.assert_array_equal(
        probe.parse_typed_points("0, 0; 1.5 -2\n-1,3;"), [[0, 0], [1.5, -2], [-1, 3]]
    )
    cases = {
        "": r"no point typed: allowed pairs x, y separated by ';' \(e\.g\. '0, 0; 1\.5, -2'\)",
        "1, 2; 3": r"point 2 \('3'\) is not two finite numbers x, y",
        "1, 2, 3": r"point 1 \('1, 2, 3'\) is not two finite numbers",
        "nan, 1": r"point 1 \('nan, 1'\) is not two finite",
        "1e39, 0": r"point 1 .* is not two finite",
        "a, b": r"point 1 \('a, b'\)",
        ";".join(["0,0"] * (probe.MAX_ASK_POINTS + 1)): r"1,001 points typed: allowed up to 1,000",
    }
    for text, message in cases.items():
        with pytest.raises(probe.ProbeError, match=message):
            probe.parse_typed_points(text)

    finished_run(runs_root, "pts")
    at = page("pts").run()
    at.radio(key="ask_source").set_value("typed").run()
    assert at.text_input(key="ask_typed").value == "0, 0; 1.5, -2"
    at.text_input(key="ask_typed").set_value("2, 0; 0, 0").run()
    assert not at.exception and not at.error
    (table,) = [d.value for d in at.dataframe if "x" in d.value.columns]
    assert table[["x", "y"]].to_numpy().tolist() == [[2.0, 0.0], [0.0, 0.0]]
    np.testing.assert_allclose(trace_xy(charts_by_key(at)["probe_ask_chart"], "asked"), [[2, 0], [0, 0]])
    at.text_input(key="ask_typed").set_value("2, 0; 0").run()
    assert [shown(e.value) for e in at.error] == [
        "point 2 ('0') is not two finite numbers x, y: allowed pairs x, y separated by ';' "
        "(e.g. '0, 0; 1.5, -2')"
    ]
    finished_run(runs_root, "img", **DIGITS)
    assert "typed" not in page("img").run().radio(key="ask_source").options
