"""A step that did not measure a column is a blank, not a failure: a tracked loop that updates D every
other step, or passes no parameters for a gradient norm, was charted as a row of NaN marks with no line
(`gan_core.charts._failure_bits`). metrics.csv writes both as a blank cell; the run's ``diverged`` flag
tells them apart."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import torch

import gan_core.track as track
from gan_core import charts
from gan_core.registry import RunRegistry
from gan_core.store import MetricStore
from gan_core.tracking.schema import EVAL_COLUMNS
from gan_core.trainer import RECORD_COLUMNS
from tests.test_track import ToyGAN

STEPS = 40


def nan_marks(figure) -> list[tuple[float, str]]:
    """(step, hover) of each NaN mark pinned to a chart's edge."""
    return [
        (float(x), text)
        for trace in go.Figure(figure).data
        if trace.name == "NaN" and trace.showlegend is False
        for x, text in zip(trace.x, trace.text)
    ]


def shown_line(figure, name: str):
    """The line carrying ``name``'s legend entry (not its band or its faint raw line), in whichever of the
    Train view's panels draws it."""
    (line,) = [t for t in go.Figure(figure).data if t.name == name and t.showlegend is not False]
    return line


def train(run, gan: ToyGAN, *, d_every: int = 1, params: bool = True, steps: int = STEPS) -> None:
    for i in range(steps):
        real = gan.real[torch.randint(len(gan.real), (32,))]
        fake = gan.G(torch.randn(32, 4))
        if i % d_every == 0:  # D updated on this step only
            real_logits, fake_logits = gan.D(real), gan.D(fake.detach())
            d_loss = gan.bce(real_logits, torch.ones_like(real_logits)) + gan.bce(
                fake_logits, torch.zeros_like(fake_logits)
            )
            gan.opt_d.zero_grad()
            d_loss.backward()
            gan.opt_d.step()
            run.d_step(real_logits, fake_logits, d_loss=d_loss, d_params=gan.D if params else None)
        g_logits = gan.D(fake)
        g_loss = gan.bce(g_logits, torch.ones_like(g_logits))
        gan.opt_g.zero_grad()
        g_loss.backward()
        gan.opt_g.step()
        run.g_step(g_loss, g_params=gan.G if params else None)


def diverge(run, gan: ToyGAN) -> None:
    """One step whose D update is measured and whose G loss is NaN: the run's ``diverged`` flag."""
    real = gan.real[:32]
    real_logits, fake_logits = gan.D(real), gan.D(gan.G(torch.randn(32, 4)).detach())
    run.d_step(
        real_logits, fake_logits, d_loss=gan.bce(real_logits, torch.ones_like(real_logits)), d_params=gan.D
    )
    run.g_step(torch.tensor(float("nan")), g_params=gan.G)


def figure_of(root, run_id: str):
    view = RunRegistry(root).view(run_id)
    frame = charts.metric_view(view.store, 500, view.custom_columns)
    return charts.training_figure(frame, view.events, 0.0, loss_name=view.meta.loss)


def test_a_loop_that_updates_d_every_other_step_has_d_lines_joined_over_the_other_steps(tmp_path):
    with track.init("every2", root=tmp_path, loss="nonsaturating", steps=STEPS) as run:
        train(run, ToyGAN(), d_every=2)
    figure = figure_of(tmp_path, "every2")
    assert nan_marks(figure) == []
    for column in ("d_loss", "d_acc_real", "d_real", "d_grad_norm"):
        line = shown_line(figure, column)
        # the steps that updated D (1, 3, 5, ...), each with its value, joined: no gap between them
        assert list(line.x) == list(range(1, STEPS + 1, 2)), column
        assert np.isfinite(np.asarray(line.y, dtype=float)).all(), column
    assert list(shown_line(figure, "g_loss").x) == list(range(1, STEPS + 1))  # G's: every step


def test_a_loop_that_passes_no_parameters_says_its_norms_were_not_measured(tmp_path):
    with track.init("nonorm", root=tmp_path, loss="nonsaturating", steps=STEPS) as run:
        train(run, ToyGAN(), params=False)
    figure = figure_of(tmp_path, "nonorm")
    assert nan_marks(figure) == []
    names = {t.name for t in go.Figure(figure).data if t.showlegend is not False}
    assert {"d_grad_norm (not measured)", "g_grad_norm (not measured)"} <= names
    key = shown_line(figure, "d_grad_norm (not measured)")
    assert list(key.x) == [None] and list(key.y) == [None]  # a point, so that plotly.js lists it
    assert "d_loss" in names and "d_loss (not measured)" not in names
    assert len(shown_line(figure, "d_loss").x) == STEPS


def test_a_nan_from_the_runs_divergence_on_is_still_a_failure_mark(tmp_path):
    gan = ToyGAN()
    with track.init("nan", root=tmp_path, loss="nonsaturating", steps=STEPS) as run:
        train(run, gan, d_every=2)  # blanks on the even steps: not failures
        diverge(run, gan)  # step 41: D updated, G's loss NaN
    figure = figure_of(tmp_path, "nan")
    assert nan_marks(figure) == [(STEPS + 1.0, "g_loss NaN")]
    # before it, the blanks are still joined over
    assert list(shown_line(figure, "d_loss").x) == [*range(1, STEPS + 1, 2), STEPS + 1]


def test_compare_joins_a_runs_blanks_and_marks_its_divergence(tmp_path):
    gan = ToyGAN()
    with track.init("nan", root=tmp_path, loss="nonsaturating", steps=STEPS) as run:
        train(run, gan, d_every=2)
        diverge(run, gan)
    view = RunRegistry(tmp_path).view("nan")
    frames = {"nan": charts.compare_view(view.store, "d_loss", view.store.view(300, nonfinite=True))}
    figure = charts.compare_figure(frames, "d_loss", events={"nan": view.events})
    (line,) = [t for t in go.Figure(figure).data if t.name == "nan" and t.showlegend is not False]
    assert list(line.x) == [*range(1, STEPS + 1, 2), STEPS + 1]
    assert nan_marks(figure) == []  # d_loss was finite at the divergence
    frames = {"nan": charts.compare_view(view.store, "g_loss", view.store.view(300, nonfinite=True))}
    figure = charts.compare_figure(frames, "g_loss", events={"nan": view.events})
    assert [x for x, _ in nan_marks(figure)] == [STEPS + 1.0]


def test_a_divergence_marks_only_the_columns_its_step_measured(tmp_path):
    """A loop that never passed parameters, then a NaN G loss: the divergence's step drew NaN marks for
    the gradient norms it never measured, and their "(not measured)" legend entries went."""
    with track.init("nonorm-nan", root=tmp_path, loss="nonsaturating", steps=STEPS) as run:
        gan = ToyGAN()
        train(run, gan, params=False)
        real_logits, fake_logits = gan.D(gan.real[:32]), gan.D(gan.G(torch.randn(32, 4)).detach())
        run.d_step(real_logits, fake_logits, d_loss=gan.bce(real_logits, torch.ones_like(real_logits)))
        run.g_step(torch.tensor(float("nan")))
    assert run.error == f"diverged at step {STEPS + 1}: g_loss not finite"
    figure = figure_of(tmp_path, "nonorm-nan")
    assert nan_marks(figure) == [(STEPS + 1.0, "g_loss NaN")]
    names = {t.name for t in go.Figure(figure).data if t.showlegend is not False}
    assert {"d_grad_norm (not measured)", "g_grad_norm (not measured)"} <= names


def test_compare_names_a_run_that_never_measured_the_metric(tmp_path):
    with track.init("measured", root=tmp_path, loss="nonsaturating", steps=STEPS) as run:
        train(run, ToyGAN())
    with track.init("blind", root=tmp_path, loss="nonsaturating", steps=STEPS) as run:
        train(run, ToyGAN(), params=False)
    registry = RunRegistry(tmp_path)
    frames, events = {}, {}
    for run_id in ("measured", "blind"):
        view = registry.view(run_id)
        frames[run_id] = charts.compare_view(view.store, "d_grad_norm", view.store.view(300, nonfinite=True))
        events[run_id] = view.events
    figure = charts.compare_figure(frames, "d_grad_norm", events=events)
    named = {t.name: len(t.x) for t in go.Figure(figure).data if t.showlegend is not False}
    assert named == {"measured": STEPS, "blind (not measured)": 1}
    assert nan_marks(figure) == []


def eval_store(measured: dict[str, float], steps: int = 300, every: int = 100) -> MetricStore:
    """A run's store (the registry's columns) with every per-step metric on each step and ``measured``
    (quality column -> value) at each evaluation, every ``every`` steps; the other quality columns blank,
    as a run that never measures them leaves them."""
    store = MetricStore(RECORD_COLUMNS)
    for step in range(1, steps + 1):
        row = dict.fromkeys(RECORD_COLUMNS, 1.0) | dict.fromkeys(EVAL_COLUMNS, np.nan)
        row["step"] = float(step)
        if step % every == 0:
            row |= measured
        store.append(tuple(row[c] for c in RECORD_COLUMNS))
    return store


def test_the_conditioning_note_names_only_the_runs_that_measured_the_metric():
    """A conditional digits run, an unconditional loop on digits and a ring8 run, charting classes_covered:
    the ring8 run never measured it (its legend says "(not measured)"), so the note that the others
    measured it over unprompted samples named the loop alone, not the ring8 run; with the ring8 run the
    only unconditional one, nothing is compared across conditionings and there is no note."""
    stores = {
        "digits-acgan": eval_store({"classes_covered": 10.0, "class_kl": 0.05, "diversity": 0.8}),
        "my-dcgan": eval_store({"classes_covered": 7.0, "class_kl": 0.4, "diversity": 0.9}),
        "ring8-a": eval_store({"modes_covered": 8.0, "grid_js": 0.1}),
    }
    conditional = {"digits-acgan": True, "my-dcgan": False, "ring8-a": False}
    for column in ("classes_covered", "class_kl", "diversity"):
        frames = {
            run_id: charts.compare_view(store, column, store.view(300, nonfinite=True))
            for run_id, store in stores.items()
        }
        assert charts.measured_runs(frames, column) == ["digits-acgan", "my-dcgan"]
        named = {
            t.name for t in go.Figure(charts.compare_figure(frames, column)).data if t.showlegend is not False
        }
        assert {"digits-acgan", "my-dcgan", "ring8-a (not measured)"} <= named
        note = charts.compare_conditioning_note(column, conditional, frames)
        assert "class-conditional runs (digits-acgan)" in note and "in the others (my-dcgan):" in note
        assert "ring8-a" not in note
        without_loop = {r: f for r, f in frames.items() if r != "my-dcgan"}
        assert charts.compare_conditioning_note(column, conditional, without_loop) is None
    # the ring8 run's own 2D metric: measured by it alone
    frames = {r: charts.compare_view(s, "grid_js", s.view(300, nonfinite=True)) for r, s in stores.items()}
    assert charts.measured_runs(frames, "grid_js") == ["ring8-a"]
