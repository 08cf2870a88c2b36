"""The Streamlit pages, run in-process through `AppTest`: every page renders, and the Train view's
controls drive a real (tiny) run through the server-wide registry.

Each test gets its own runs folder through GAN_DASHBOARD_RUNS, so it also gets its own registry (the
registry is cached per runs folder); the fixture stops every run the test left alive. Fragments do not
re-run by themselves under AppTest, so a test waits on the runner and then calls ``at.run()`` again.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pandas as pd
import pytest
from streamlit.runtime.state.common import user_key_from_element_id
from streamlit.testing.v1 import AppTest

from gan_core import charts
from gan_core.config import GANConfig
from gan_core.export import metrics_csv_bytes
from gan_core.registry import RunRegistry
from gan_core.rundir import RunDir
from gan_core.runner import Runner
from gan_core.trainer import CSV_COLUMNS
from ui.common import registry
from ui.live_chart import chart_grid_style, live_refresh, payload, read_payload
from ui.sidebar import REFUSED_KEY

APP_DIR = Path(__file__).resolve().parents[1]
PAGES = ["dashboard.py", "pages/1_Runs.py", "pages/2_Compare.py", "pages/3_Guide.py", "pages/4_Probe.py"]
TIMEOUT = 60  # seconds: generous, the test machine is slow and shared
TINY = dict(dataset="ring8", width=16, latent_dim=4, batch_size=16, device="cpu")
# The sidebar's values for a tiny open-ended run: it trains until a test pauses or stops it.
TINY_FORM = dict(TINY, steps=0, sample_every=5, checkpoint_every=0)
# (quality: the placeholder until the first evaluation, which these short runs do not reach)
# (the four metric charts are the panels of one figure, chart_metrics)
LIVE_CHARTS = {"chart_metrics", "chart_quality_0", "chart_samples"}


# ---------------------------------------------------------------------------------------------- fixtures


def finished_run(root: Path, run_id: str, **overrides) -> Runner:
    cfg = GANConfig(**{**TINY, "steps": 20, **overrides})
    runner = Runner(cfg, root, run_id).start()
    assert runner.wait(TIMEOUT) and runner.status == "finished"
    return runner


def app(page: str = "dashboard.py", **form) -> AppTest:
    at = AppTest.from_file(str(APP_DIR / page), default_timeout=TIMEOUT)
    for field, value in form.items():
        at.session_state[f"cfg_{field}"] = value
    return at


def status_line(at: AppTest) -> str:
    lines = [m.value for m in at.markdown if m.value.startswith("**Status:**")]
    assert len(lines) == 1, f"expected one status line, got {lines}"
    return lines[0]


def components(at: AppTest) -> set[str]:
    # (the Train view draws its charts as live charts, a custom component, and paces its refresh with
    # another: ui/live_chart.py)
    return {
        user_key_from_element_id(c.proto.id) for c in [*at.get("plotly_chart"), *at.get("bidi_component")]
    }


def chart_keys(at: AppTest) -> set[str]:
    # (the sidebar's watcher of numbers the browser refused to send is a component too: ui/sidebar.py)
    return components(at) - {"live_refresh", REFUSED_KEY}


def refreshing(at: AppTest) -> bool:
    """Whether the page asks the browser for its next refresh (`ui.live_chart.live_refresh`)."""
    return "live_refresh" in components(at)


def watched(at: AppTest) -> str | None:
    # AppTest's session state has no .get(); the app sets run_id only once a run is watched.
    return at.session_state["run_id"] if "run_id" in at.session_state else None  # noqa: SIM401


def enabled(at: AppTest, key: str) -> bool:
    return not at.button(key=key).disabled


def start(at: AppTest) -> Runner:
    """Press Start; return the runner the session now watches."""
    at.button(key="btn_start").click().run()
    assert not at.exception
    run_id = watched(at)
    assert run_id
    runner = registry().runner(run_id)
    assert runner is not None
    return runner


def pause(at: AppTest, runner: Runner) -> int:
    """Press Pause, wait until the run is paused, re-render; return the step it paused at."""
    at.button(key="btn_pause").click().run()
    assert runner.wait_until(lambda r: r.status == "paused", TIMEOUT)
    at.run()
    return runner.current_step


def paused_at(step: int):
    return lambda r: r.status == "paused" and r.current_step == step


def count(runner: Runner, kind: str) -> int:
    return sum(e["kind"] == kind for e in runner.events)


# ---------------------------------------------------------------------------------------------- every page
@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_without_runs(runs_root, page):
    at = app(page).run()
    assert not at.exception
    assert len(at.title) == 1
    if page == "dashboard.py":
        assert enabled(at, "btn_start")
        assert not any(enabled(at, k) for k in ("btn_pause", "btn_resume", "btn_step", "btn_stop"))
    if page in ("pages/1_Runs.py", "pages/2_Compare.py"):
        assert "No runs yet" in at.info[0].value


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_with_a_finished_run(runs_root, page):
    finished_run(runs_root, "r1")
    at = app(page).run()
    assert not at.exception
    assert len(at.title) == 1
    if page == "pages/1_Runs.py":
        assert at.dataframe[0].value["run_id"].tolist() == ["r1"]
        assert at.dataframe[0].value["quality"].tolist() == [""]  # no evaluation in 20 steps
    if page == "pages/2_Compare.py":
        assert at.multiselect(key="cmp_runs").value == ["r1"]
        # the four default metrics, and the run's samples at the chosen step
        metrics = {f"cmp_chart_{m}" for m in ("d_loss", "g_loss", "d_acc_real", "d_acc_fake")}
        assert chart_keys(at) == metrics | {"cmp_samples_0"}


def test_the_runs_table_shows_each_runs_latest_evaluation(runs_root):
    finished_run(runs_root, "evaluated", dataset="digits", eval_every=8)  # measured at steps 8 and 16
    finished_run(runs_root, "points", dataset="ring8", eval_every=5)
    at = app("pages/1_Runs.py").run()
    table = at.dataframe[0].value.set_index("run_id")
    assert "last" not in table.columns and "last_eval" not in table.columns  # the dicts are for --json
    measured = pd.read_csv(runs_root / "evaluated" / "metrics.csv").set_index("step")
    # the metric, its value as a number (a sweep's runs sort by it, not as text: "140" before "59") and
    # the evaluation's step
    name, value, step = table.loc["evaluated", ["quality", "quality_value", "quality_step"]]
    assert (name, step) == ("fd_cls", 16) and value == pytest.approx(measured.loc[16, "fd_cls"], rel=1e-6)
    name, value, step = table.loc["points", ["quality", "quality_value", "quality_step"]]
    modes = pd.read_csv(runs_root / "points" / "metrics.csv").set_index("step").loc[20, "modes_covered"]
    assert (name, step) == ("modes_covered", 20) and value == modes and 0 <= modes <= 8
    assert str(table["quality_value"].dtype) == "Float64" and str(table["quality_step"].dtype) == "Int64"
    # the run column pinned: scrolled sideways to a run's loss or size, the row still says which run it is
    pinned = {name for name, c in json.loads(at.dataframe[0].proto.columns).items() if c.get("pinned")}
    assert pinned == {"run_id"}


@pytest.mark.parametrize(
    ("dataset", "sample_charts"),
    [
        ("ring8", {"chart_samples", "chart_history_0", "chart_history_1"}),  # the earlier snapshots beside it
        ("digits", {"chart_samples", "chart_real"}),
    ],
)
def test_train_view_shows_a_finished_run_read_only(runs_root, dataset, sample_charts):
    finished_run(runs_root, "done", dataset=dataset, sample_every=10)
    at = app()
    at.session_state["run_id"] = "done"
    at.run()
    assert not at.exception
    line = status_line(at)
    assert line.startswith("**Status:** `finished`") and "run `done`" in line
    assert "shown from its folder" in line
    progress = at.get("progress")[0].text
    # a run that has ended says how long it trained, not a rate that reads as stalled
    assert progress.startswith("step 20 / 20 · finished, ") and progress.endswith(" s of training")
    assert chart_keys(at) == LIVE_CHARTS - {"chart_samples"} | sample_charts
    (snapshots,) = [s for s in at.select_slider if s.label == "Snapshot at step"]
    assert snapshots.options == ["0", "10", "newest"] and snapshots.value == "newest"  # follows the newest
    # A finished run takes no commands; Start still starts a new one.
    assert enabled(at, "btn_start")
    assert not any(enabled(at, k) for k in ("btn_pause", "btn_resume", "btn_step", "btn_stop"))


def test_a_run_stopped_by_a_signal_says_so_and_one_stopped_by_a_click_says_nothing_more(runs_root):
    """A job ended by SIGTERM (a scheduler's time limit) recorded why in status.json; the Train view and
    the Runs page showed only "stopped", like a Stop click."""
    for run_id, error in (("signalled", "terminated (SIGTERM)"), ("clicked", None)):
        finished_run(runs_root, run_id)
        path = runs_root / run_id / "status.json"
        path.write_text(json.dumps({**json.loads(path.read_text()), "status": "stopped", "error": error}))
    for page in ("dashboard.py", "pages/1_Runs.py"):
        for run_id, expected in (("signalled", ["The run stopped: terminated (SIGTERM)"]), ("clicked", [])):
            at = app(page)
            at.session_state["run_id" if page == "dashboard.py" else "runs_pick"] = run_id
            at.run()
            assert not at.exception and not at.error
            said = [i.value for i in at.info if i.value.startswith("The run stopped")]
            assert said == expected, (page, run_id)


def test_display_choices_outlive_a_visit_to_another_page(runs_root):
    """Streamlit drops a widget's value after a run that did not draw it: the Train view's log scale and
    smoothing, and Compare's runs, metrics, smoothing and log scale, came back at their defaults after a
    visit to the Runs page."""
    for run_id in ("a", "b", "c"):
        finished_run(runs_root, run_id)
    at = app()
    at.session_state["run_id"] = "a"
    at.run()
    at.toggle(key="log_y").set_value(True).run()
    at.slider(key="smoothing").set_value(0.9).run()
    at.switch_page("pages/1_Runs.py").run()
    at.switch_page("pages/0_Train.py").run()
    assert (at.toggle(key="log_y").value, at.slider(key="smoothing").value) == (True, 0.9)
    assert at.slider(key="smoothing").proto.default == [0.9]  # the browser's default too

    at.switch_page("pages/2_Compare.py").run()
    assert sorted(at.multiselect(key="cmp_runs").value) != ["a", "b", "c"]  # two of them at first
    at.multiselect(key="cmp_runs").set_value(["a", "b", "c"]).run()
    at.multiselect(key="cmp_metrics").set_value(["d_loss", "fid"]).run()
    at.toggle(key="cmp_log").set_value(True).run()
    at.slider(key="cmp_smoothing").set_value(0.2).run()
    at.switch_page("pages/1_Runs.py").run()
    at.switch_page("pages/2_Compare.py").run()
    assert at.multiselect(key="cmp_runs").value == ["a", "b", "c"]
    assert at.multiselect(key="cmp_metrics").value == ["d_loss", "fid"]
    assert (at.toggle(key="cmp_log").value, at.slider(key="cmp_smoothing").value) == (True, 0.2)
    assert not at.exception


def test_the_snapshot_sliders_default_in_the_browser_is_its_value_after_a_move_and_a_click(runs_root):
    """The browser falls back to a keyed slider's default when it draws it without a value of its own,
    and sends that back as chosen: a default of the first stop (step 0) froze a live view there. The
    default sent is the slider's value: newest, a step scrubbed to, a step a chart click picked."""
    finished_run(runs_root, "done", sample_every=10)
    at = app()
    at.session_state["run_id"] = "done"
    at.run()

    def slider():
        (found,) = [s for s in at.select_slider if s.label == "Snapshot at step"]
        return found

    def default() -> str:
        return slider().options[int(slider().proto.default[0])]

    assert slider().options == ["0", "10", "newest"]
    assert (slider().value, default()) == ("newest", "newest")
    slider().set_value(10).run()
    assert (slider().value, default()) == (10, "10")
    at.run()  # a refresh
    assert (slider().value, default()) == (10, "10")
    at.session_state["snap_pick_done"] = 0  # what a click on a chart near step 0 asks (show_picked_snapshot)
    at.run()
    assert slider().value == 0 and "snap_pick_done" not in at.session_state
    at.run()
    assert (slider().value, default()) == (0, "0")
    at.session_state["snap_pick_done"] = "newest"  # a click near the newest: follow again
    at.run()
    at.run()
    assert (slider().value, default()) == ("newest", "newest")
    assert not at.exception


def _thinned_slider_app():
    import streamlit as st

    from ui.common import steady_select_slider

    stops = st.session_state.setdefault("stops", [0, 10, 20, 30, "newest"])

    def reset_to(held):  # as the Train view's nearest_stop
        return min(stops[:-1], key=lambda s: (abs(s - held), s)) if held else "newest"

    steady_select_slider("Snapshot at step", stops, "snap", reset_to=reset_to)


def test_a_slider_stop_held_and_thinned_away_gives_way_to_the_nearest_kept():
    """A long run keeps fewer old snapshots as it goes on: the step the user held on the Train view's
    slider went, and the view jumped to the live end (the newest) instead of the nearest snapshot kept
    (`steady_select_slider`'s ``reset_to`` as a function of the value gone; the Train view's
    `nearest_stop`)."""
    at = AppTest.from_function(_thinned_slider_app, default_timeout=TIMEOUT).run()
    assert at.select_slider[0].value == "newest"  # its first draw
    at.select_slider[0].set_value(30).run()
    at.session_state["stops"] = [0, 10, 20, "newest"]  # 30 thinned away
    at.run()
    assert at.select_slider[0].value == 20 and not at.exception


# ---------------------------------------------------------------------------------------------- train view
def test_train_view_shows_a_multi_process_job_and_its_throughput(runs_root):
    finished_run(runs_root, "solo")
    job = finished_run(runs_root, "job")
    # status.json as rank 0 of a two-process job writes it (the host names as the job's hosts report them)
    path = runs_root / "job" / "status.json"
    status = json.loads(path.read_text())
    path.write_text(json.dumps({**status, "world_size": 2, "backend": "gloo", "hosts": ["node-a", "b.lan"]}))
    at = app()
    at.session_state["run_id"] = "job"
    at.run()
    assert not at.exception
    line = status_line(at)
    assert "run `job`" in line and "2 processes" in line
    # host names are shown as text, never as links: b.lan as it is (GFM links only www. and URLs)
    assert line.endswith(" · on cpu · 2 processes (gloo) on node-a, b.lan · shown from its folder")
    # the samples each process trained (batch_size a D update) over the training time they took: with
    # one row seen, the run's average so far (`SampleRate`)
    latest = job.store.latest()
    per_process = job.cfg.batch_size * latest["d_steps"] * latest["step"] / latest["time_s"]
    progress = at.get("progress")[0].text
    assert progress.startswith("step 20 / 20 · finished, ")
    assert progress.endswith(
        f" s of training · {per_process:,.0f} samples/s per process, {2 * per_process:,.0f} in all"
    )
    # one process: the lines as they always were
    at.session_state["run_id"] = "solo"
    at.run()
    assert not at.exception
    line = status_line(at)
    assert "run `solo`" in line and "processes" not in line
    progress = at.get("progress")[0].text
    assert progress.endswith(" s of training") and "samples/s" not in progress


def test_the_progress_line_says_when_the_next_evaluation_comes_while_the_run_trains(runs_root):
    """The quality charts change only at evaluations: the progress line names the next one's step (every
    eval_every, a user's loop's as given to init), and nothing for a loop that watches no G (it has none)."""
    import torch

    import gan_core.track as track
    from tests.test_track import ToyGAN

    gan = ToyGAN()
    # (and nothing for a loop that watches G but gave init no real batch to measure it against)
    for run_id, watched_g, real in (
        ("watching", True, True),
        ("blind", False, True),
        ("no-real", True, False),
    ):
        given = {"real": gan.real} if real else {}
        run = track.init(run_id, root=runs_root, eval_every=50, sample_every=1000, commit_every=0, **given)
        if watched_g:
            run.watch(gan.G, torch.randn(8, 4))
        for _ in range(3):
            gan.step(run)
        run.flush()
        try:
            at = app()
            at.session_state["run_id"] = run_id
            at.run()
            assert not at.exception
            progress = at.get("progress")[0].text
            assert progress.startswith("step 3 (open-ended) · ")
            # the run's time_s, not the wall clock's (a review read "elapsed" against a clock with pauses)
            assert re.search(r" · \d+ s of training( · |$)", progress), progress
            assert progress.endswith(" · next evaluation at step 50") == (watched_g and real), progress
        finally:
            run.finish()
    at.run()  # ended: nothing comes next
    assert "next evaluation" not in at.get("progress")[0].text


def test_start_creates_a_run_and_its_metrics_appear(runs_root):
    at = app(**TINY_FORM).run()
    assert not at.exception and watched(at) is None
    assert chart_keys(at) == {"idle_metrics"}  # the metric charts' panels, empty until a run starts
    runner = start(at)
    # the first draw has no two refreshes to compare: the rate is the run's own, as recorded
    rate = re.match(r"^step [\d,]+ \(open-ended\) · ([\d.]+) steps/s", at.get("progress")[0].text)
    assert rate, at.get("progress")[0].text
    assert 0.1 < float(rate.group(1)) < 1e5
    assert (runs_root / runner.run_id / "config.json").is_file()
    assert runner.cfg == GANConfig(**TINY_FORM)
    # Snapshots every 5 steps wake the waiter, so this needs no polling.
    assert runner.wait_until(lambda r: len(r.store) >= 10, TIMEOUT)
    at.run()
    assert not at.exception
    assert status_line(at).startswith(f"**Status:** `running` · run `{runner.run_id}` · ring8")
    assert {key for key in chart_keys(at) if not key.startswith("chart_history_")} == LIVE_CHARTS
    assert refreshing(at)  # the live part asks for its next refresh while the run trains
    assert at.get("progress")[0].text.startswith("step ")
    assert runner.store.latest()["step"] >= 10
    assert enabled(at, "btn_pause") and enabled(at, "btn_stop")
    assert not enabled(at, "btn_resume") and not enabled(at, "btn_step")
    at.button(key="btn_stop").click().run()
    assert runner.wait(TIMEOUT) and runner.status == "stopped"
    at.run()
    assert status_line(at).startswith("**Status:** `stopped`") and not refreshing(at)  # nothing moves


def test_resume_continues_a_stopped_run_in_its_folder(runs_root):
    at = app(**TINY_FORM).run()
    runner = start(at)
    assert runner.wait_until(lambda r: len(r.store) >= 10, TIMEOUT)
    at.button(key="btn_stop").click().run()
    assert runner.wait(TIMEOUT) and runner.status == "stopped"
    stopped_at = runner.current_step
    at.run()
    assert status_line(at).startswith("**Status:** `stopped`")
    assert enabled(at, "btn_resume") and not enabled(at, "btn_pause")

    at.button(key="btn_resume").click().run()
    assert not at.exception and not at.error
    resumed = registry().runner(runner.run_id)
    assert resumed is not runner and watched(at) == runner.run_id  # the same run, in the same folder
    assert resumed.wait_until(lambda r: r.current_step >= stopped_at + 5, TIMEOUT)
    at.run()
    assert status_line(at).startswith(f"**Status:** `running` · run `{runner.run_id}`")
    at.button(key="btn_stop").click().run()
    assert resumed.wait(TIMEOUT) and resumed.status == "stopped"
    steps = RunDir.open(runs_root, runner.run_id).read_metrics()["step"].tolist()
    assert steps == list(range(1, resumed.current_step + 1))  # one history, no gap, no duplicate


def test_resume_of_a_finished_run_takes_more_steps_from_the_sidebar(runs_root):
    finished_run(runs_root, "done")  # 20 steps, trained in full
    at = app()  # the sidebar holds the defaults
    at.session_state["run_id"] = "done"
    at.run()
    # Opening a run shows its settings in the sidebar (tests/test_train_controls.py has more on that).
    assert at.session_state["cfg_dataset"] == "ring8" and at.session_state["cfg_steps"] == 20
    assert not enabled(at, "btn_resume")
    assert any("trained all its 20 steps" in c.value and "raise steps" in c.value for c in at.caption)
    assert "btn_load_settings" not in {b.key for b in at.button}

    at.session_state["cfg_width"] = 32  # the user edits a field that a resume cannot change
    at.run()
    assert any("trained all its 20 steps" in c.value and "load its settings" in c.value for c in at.caption)
    at.button(key="btn_load_settings").click().run()
    assert not at.exception
    assert at.session_state["cfg_width"] == 16 and at.session_state["cfg_steps"] == 20
    assert "btn_load_settings" not in {b.key for b in at.button}  # the sidebar is this run's again
    assert not enabled(at, "btn_resume")  # still 20 steps: nothing to resume to

    at.session_state["cfg_steps"] = 35
    at.run()
    assert enabled(at, "btn_resume")
    assert any(c.value == "Resume applies the sidebar's changes: steps → 35" for c in at.caption)
    at.button(key="btn_resume").click().run()
    assert not at.exception and not at.error
    assert at.success[0].value == "Resumed with: steps = 35"
    resumed = registry().runner("done")
    assert resumed.wait(TIMEOUT) and resumed.status == "finished" and resumed.current_step == 35
    run = RunDir.open(runs_root, "done")
    assert run.read_metrics()["step"].tolist() == list(range(1, 36))
    events = run.read_events()
    assert events[events.kind == "hparam"]["detail"].tolist() == ["steps: 20 -> 35"]
    # read back from disk, the run's steps in force are the resumed ones, not config.json's 20
    assert registry().view("done").hparams["steps"] == 35
    # ... and so is the Runs table's target, from a registry that never ran it (status.json)
    (row,) = RunRegistry(runs_root).summaries()
    assert (row["step"], row["steps"]) == (35, 35)
    at.run()
    assert any("trained all its 35 steps" in c.value for c in at.caption)


def test_hand_edited_hparam_events_are_skipped_and_load_settings_still_works(runs_root):
    finished_run(runs_root, "edited")
    run = RunDir.open(runs_root, "edited").claim("editing it by hand")
    run.append_event(5, "hparam", "steps: 20 -> -5", {"field": "steps", "new": -5})  # refused by the config
    run.append_event(6, "hparam", "sample_every: 5 -> many", {"field": "sample_every", "new": "many"})
    run.append_event(7, "hparam", "eval_every: 500 -> 250", {"field": "eval_every", "new": 250})  # valid
    run.release()
    view = registry().view("edited")
    assert view.hparams["steps"] == 20 and view.hparams["eval_every"] == 250
    assert view.hparams["sample_every"] == GANConfig(**TINY).sample_every
    at = app()
    at.session_state["run_id"] = "edited"
    at.run()  # opening the run puts its settings into the sidebar
    assert not at.exception and not at.error
    assert at.session_state["cfg_steps"] == 20 and at.session_state["cfg_eval_every"] == 250
    at.session_state["cfg_width"] = 32  # an edit a resume cannot take: the button offers them back
    at.run()
    at.button(key="btn_load_settings").click().run()
    assert not at.exception and not at.error
    assert at.session_state["cfg_steps"] == 20 and at.session_state["cfg_eval_every"] == 250
    assert at.session_state["cfg_width"] == 16


def test_resume_of_a_stopped_run_keeps_its_own_settings_when_the_sidebar_holds_others(runs_root):
    at = app(**TINY_FORM).run()
    runner = start(at)
    assert runner.wait_until(lambda r: len(r.store) > 0, TIMEOUT)  # a step trained: a checkpoint at stop
    step = pause(at, runner)
    at.button(key="btn_stop").click().run()
    assert runner.wait(TIMEOUT) and runner.status == "stopped"
    other = app()  # a second tab: opening the run shows its settings ...
    other.session_state["run_id"] = runner.run_id
    other.run()
    assert other.session_state["cfg_width"] == 16 and not [c for c in other.caption if "Resume" in c.value]
    other.session_state["cfg_width"] = 32  # ... which its user changes, one field a resume cannot take
    other.session_state["cfg_lr_g"] = 1e-3
    other.run()
    notes = [c.value for c in other.caption if c.value.startswith("Resume continues this run")]
    assert len(notes) == 1 and "width" in notes[0]
    assert enabled(other, "btn_resume") and "btn_load_settings" in {b.key for b in other.button}

    other.button(key="btn_resume").click().run()
    assert not other.exception and not other.error
    resumed = registry().runner(runner.run_id)
    assert resumed is not runner and resumed.cfg.width == runner.cfg.width  # no refusal either
    # its own settings, but for where it trains: a continued run takes the device anew (auto by default)
    assert resumed.cfg == runner.cfg.replace(device="auto")
    assert resumed.wait_until(lambda r: r.current_step >= step + 3, TIMEOUT)
    assert resumed.hparams["lr_g"] == pytest.approx(2e-4, rel=1e-12)  # the sidebar's lr_g not applied
    resumed.stop()
    assert resumed.wait(TIMEOUT)
    assert other.session_state["cfg_width"] == 16  # the sidebar now shows the resumed run's settings


def test_a_new_session_watches_the_live_run_and_a_link_names_any_run(runs_root):
    finished_run(runs_root, "old")
    at = app(**TINY_FORM).run()
    runner = start(at)
    fresh = app().run()  # a refresh or a second tab: no session state, no ?run=
    assert not fresh.exception
    assert watched(fresh) == runner.run_id
    assert status_line(fresh).startswith(f"**Status:** `running` · run `{runner.run_id}`")
    linked = app()
    linked.query_params["run"] = "old"
    linked.run()
    assert watched(linked) == "old" and status_line(linked).startswith("**Status:** `finished` · run `old`")
    slashed = app()  # a link that picked up a slash at its end
    slashed.query_params["run"] = "old/"
    slashed.run()
    assert not slashed.exception and not slashed.error and watched(slashed) == "old"
    # a link to a run no process has started yet: waited for, named in the address, opened once it appears
    missing = app()
    missing.query_params["run"] = "not-yet"
    missing.run()
    assert not missing.exception and not missing.error and watched(missing) is None
    (waiting,) = [i.value for i in missing.info if i.value.startswith("Waiting for run")]
    assert waiting.startswith("Waiting for run `not-yet`: the runs folder (") and str(runs_root) in waiting
    # where a loop started without the variable writes, and how to make it write here (the commonest cause)
    told = f"start it with `GAN_DASHBOARD_RUNS` set to ` {runs_root.resolve()} ` and no `--out`, or pass "
    assert waiting.endswith(f"{told}that folder as `--out` or `root=`."), waiting
    assert "unless its `--out` or `root=` names another" in waiting  # (a review's --out runs, unseen here)
    assert "`gan_core.track.init('not-yet', ...)`" in waiting and "Press **Start**" not in waiting
    assert missing.query_params["run"] == "not-yet"
    # a visit to another page (its links drop ?run=), then back: still waited for, named again
    missing.switch_page("pages/1_Runs.py").run()
    missing.query_params.clear()
    missing.switch_page("pages/0_Train.py").run()
    assert [i.value for i in missing.info if i.value.startswith("Waiting for run `not-yet`")]
    assert missing.query_params["run"] == "not-yet"
    finished_run(runs_root, "not-yet")  # the process starts writing it: the page's next check opens it
    missing.run()
    assert watched(missing) == "not-yet" and not [i for i in missing.info if "Waiting" in i.value]
    bad = app()  # an id no run may have is no run to wait for: refused, dropped from the address
    bad.query_params["run"] = "no..run"
    bad.run()
    assert not bad.exception and watched(bad) is None and "run" not in bad.query_params
    assert any("no..run" in e.value for e in bad.error) and not [i for i in bad.info if "Waiting" in i.value]
    # back to the Train view by the sidebar's page link (no query): the address names the run again
    linked.switch_page("pages/1_Runs.py").run()
    linked.query_params.clear()
    linked.switch_page("pages/0_Train.py").run()
    assert watched(linked) == "old" and linked.query_params["run"] == "old"
    assert fresh.query_params["run"] == runner.run_id  # the live run a new session found, named too
    at.button(key="btn_stop").click().run()
    assert runner.wait(TIMEOUT)


def test_the_limit_on_training_runs_refuses_start_with_a_clear_error(runs_root, monkeypatch):
    monkeypatch.setenv("GAN_DASHBOARD_MAX_RUNS", "1")
    at = app(**TINY_FORM).run()
    runner = start(at)
    second = app(**TINY_FORM).run()
    second.button(key="btn_start").click().run()
    assert not second.exception
    (error,) = [e.value for e in second.error]
    assert f"1 runs are already training ({runner.run_id}); the limit is 1" in error
    assert "GAN_DASHBOARD_MAX_RUNS" in error
    assert [r.run_id for r in registry().active()] == [runner.run_id]  # the first run untouched
    assert runner.status == "running"
    at.button(key="btn_stop").click().run()
    assert runner.wait(TIMEOUT)


def test_flags_show_as_a_banner_with_a_suggestion_and_on_the_runs_page(runs_root):
    finished_run(runs_root, "flagged")
    edited = RunDir.open(runs_root, "flagged").claim("editing it by hand")
    edited.write_status({"flags": ["d_overpowers"], "flags_raised": ["d_overpowers", "exploding_gradients"]})
    edited.release()
    at = app()
    at.session_state["run_id"] = "flagged"
    at.run()
    (banner,) = [w.value for w in at.warning]
    # (the run has finished: the flags it ended with)
    assert banner.startswith("**d_overpowers** (up when the run ended) — D tells real from fake almost")
    assert "*Suggestion:* Lower lr_d or d_steps" in banner
    at.switch_page("pages/1_Runs.py").run()
    row = at.dataframe[0].value.set_index("run_id").loc["flagged"]
    assert row["flags"] == "d_overpowers" and row["flags_raised"] == "d_overpowers, exploding_gradients"
    # each list whole in its column (33 characters need about 234 px at the table's 6.6 px a character and
    # its padding; 230 px cut them), and not much wider
    widths = {name: c.get("width") for name, c in json.loads(at.dataframe[0].proto.columns).items()}
    assert 234 <= widths["flags_raised"] <= 300
    assert 90 <= widths["flags"] <= 130


def test_log_scale_and_the_snapshot_slider_change_what_is_drawn(runs_root):
    finished_run(runs_root, "done", sample_every=10)
    at = app()
    at.session_state["run_id"] = "done"
    at.run()

    def spec(key: str) -> dict:
        (chart,) = [c for c in at.get("bidi_component") if user_key_from_element_id(c.proto.id) == key]
        return read_payload(chart.proto.bytes)["figure"]  # a live chart (ui/live_chart.py)

    # the losses are the first panel (yaxis); the gradient norms, the fourth (yaxis7), stay on a log axis
    titles = [a["text"] for a in spec("chart_metrics")["layout"]["annotations"] if a["xref"] == "paper"]
    assert titles == ["Losses", "D accuracy", "D's output", "Gradient norms"]
    assert spec("chart_metrics")["layout"]["yaxis"]["type"] == "linear"
    assert spec("chart_metrics")["layout"]["yaxis7"]["type"] == "log"
    at.toggle(key="log_y").set_value(True).run()
    assert spec("chart_metrics")["layout"]["yaxis"]["type"] == "log"
    assert spec("chart_metrics")["layout"]["yaxis3"]["type"] == "linear"  # D's accuracy: not a loss
    assert spec("chart_samples")["layout"]["title"]["text"].startswith("step 20:")
    (slider,) = [s for s in at.select_slider if s.label == "Snapshot at step"]
    slider.set_value(10).run()
    assert spec("chart_samples")["layout"]["title"]["text"].startswith("step 10:")


def test_pause_step_d_step_g_step_resume_stop(runs_root):
    at = app(**TINY_FORM).run()
    runner = start(at)
    step = pause(at, runner)
    assert status_line(at).startswith("**Status:** `paused`")
    assert at.get("progress")[0].text.startswith(f"step {step:,} ")
    assert enabled(at, "btn_resume") and enabled(at, "btn_step") and enabled(at, "btn_stop")
    assert not enabled(at, "btn_pause")
    assert at.button(key="btn_step_d").label == "D step" and at.button(key="btn_step_g").label == "G step"

    # Step: exactly one full step, still paused.
    at.button(key="btn_step").click().run()
    assert runner.wait_until(lambda r: count(r, "step_full") == 1, TIMEOUT)
    at.run()
    assert runner.current_step == step + 1 and runner.status == "paused"
    assert at.get("progress")[0].text.startswith(f"step {step + 1:,} ")
    assert status_line(at).startswith("**Status:** `paused`")

    # D step: D alone, so no generator step and no record.
    rows = len(runner.store)
    at.button(key="btn_step_d").click().run()
    assert runner.wait_until(lambda r: count(r, "step_d") == 1, TIMEOUT)
    at.run()
    assert runner.current_step == step + 1 and len(runner.store) == rows
    (said,) = [c.value for c in at.caption if c.value.startswith("Single steps since the pause:")]
    d = next(e["fields"] for e in reversed(runner.events) if e["kind"] == "step_d")
    assert said == (
        "Single steps since the pause: 1 D-only, 1 full (on the charts: ◆ D-only, ■ G-only, ● full). The "
        f"last D-only update: d_loss {d['d_loss']:.4g}, d_acc_real {d['d_acc_real']:.4g}, d_acc_fake "
        f"{d['d_acc_fake']:.4g}, d_real {d['d_real']:.4g}, d_fake {d['d_fake']:.4g}; it trains D alone, so "
        "the step count (G updates) stays where it is."
    )
    assert status_line(at).startswith("**Status:** `paused`")

    # G step: one generator update, one record.
    at.button(key="btn_step_g").click().run()
    assert runner.wait_until(lambda r: count(r, "step_g") == 1, TIMEOUT)
    at.run()
    assert runner.current_step == step + 2 and len(runner.store) == rows + 1
    assert status_line(at).startswith("**Status:** `paused`")
    (said,) = [
        c.value
        for c in at.caption
        if c.value.startswith("Single steps since the pause: 1 D-only, 1 G-only, 1 full (")
    ]
    # the G-only update's own numbers, from the row it wrote (a student saw only the D-only one's)
    row = runner.store.view().iloc[-1]
    assert said.endswith(
        f". The last G-only update (step {step + 2:,}): g_loss {row['g_loss']:.4g}, d_fake "
        f"{row['d_fake']:.4g}, g_grad_norm {row['g_grad_norm']:.4g}."
    )

    at.button(key="btn_resume").click().run()
    assert runner.wait_until(lambda r: r.status == "running", TIMEOUT)
    at.run()
    assert status_line(at).startswith("**Status:** `running`")
    assert not [c for c in at.caption if c.value.startswith("Single steps")]  # while paused only
    assert enabled(at, "btn_pause") and not enabled(at, "btn_resume")
    assert not {"btn_step_d", "btn_step_g"} & {b.key for b in at.button}  # only while paused

    at.button(key="btn_stop").click().run()
    assert runner.wait(TIMEOUT) and runner.status == "stopped"
    at.run()
    assert status_line(at).startswith("**Status:** `stopped`")
    # a stopped run takes no commands but Resume, from the checkpoint it saved as it stopped
    assert not any(enabled(at, k) for k in ("btn_pause", "btn_step", "btn_stop")) and enabled(
        at, "btn_resume"
    )
    assert enabled(at, "btn_start")
    assert RunDir.open(runs_root, runner.run_id).read_status()["status"] == "stopped"


def test_mid_run_learning_rate_change(runs_root):
    old_lr, new_lr = 2e-4, 1e-3
    at = app(**TINY_FORM, lr_g=old_lr).run()
    runner = start(at)
    step = pause(at, runner)
    before = step + 3
    runner.run_to(before)
    assert runner.wait_until(paused_at(before), TIMEOUT)
    at.run()
    assert "btn_apply" not in {b.key for b in at.button}  # the sidebar matches the run

    at.session_state["cfg_lr_g"] = new_lr
    at.run()
    apply = at.button(key="btn_apply")
    assert apply.label.startswith("Apply changes") and "lr_g" in apply.label
    apply.click().run()
    assert not at.exception
    # said in a toast, gone in seconds (a message kept above the charts pushed them down all run long)
    assert [t.value for t in at.toast] == [f"Applied: lr_g = {new_lr}"] and not at.success
    assert runner.wait_until(lambda r: count(r, "hparam") == 1, TIMEOUT)
    assert runner.hparams["lr_g"] == pytest.approx(new_lr, rel=1e-12)
    at.run()
    assert "btn_apply" not in {b.key for b in at.button}  # applied: nothing left to apply
    # a value no run can take, typed to change this one: said what became of it (only "Start needs a
    # valid lr_g" was, a student review)
    at.session_state["cfg_lr_g"] = 5.0
    at.run()
    assert not at.exception and "btn_apply" not in {b.key for b in at.button}
    assert any(c.value.startswith("Apply changes is off while the sidebar holds a value") for c in at.caption)
    # and beside Start, where the note said only Start needed it (a resume/branch user's review)
    assert "Start and Apply changes need a valid lr_g: see the message in the sidebar." in [
        c.value for c in at.caption
    ]
    at.session_state["cfg_lr_g"] = new_lr
    at.run()
    assert not any(c.value.startswith("Apply changes is off") for c in at.caption)

    after = before + 4
    runner.run_to(after)
    assert runner.wait_until(paused_at(after), TIMEOUT)
    at.button(key="btn_stop").click().run()
    assert runner.wait(TIMEOUT) and runner.status == "stopped"

    run = RunDir.open(runs_root, runner.run_id)
    metrics = run.read_metrics().set_index("step")
    assert metrics.index.tolist() == list(range(1, after + 1))
    assert metrics.loc[:before, "lr_g"].to_numpy() == pytest.approx([old_lr] * before, rel=1e-9)
    assert metrics.loc[before + 1 :, "lr_g"].to_numpy() == pytest.approx([new_lr] * 4, rel=1e-9)
    assert metrics["lr_d"].to_numpy() == pytest.approx([2e-4] * after, rel=1e-9)  # untouched
    events = run.read_events()
    hparam = events[events.kind == "hparam"]
    assert hparam["step"].tolist() == [before + 1]
    assert "lr_g" in hparam["detail"].iloc[0]


def test_csv_download_holds_every_step_and_column(runs_root):
    at = app(**TINY_FORM).run()
    runner = start(at)
    step = pause(at, runner)
    runner.run_to(step + 5)
    assert runner.wait_until(paused_at(step + 5), TIMEOUT)
    at.button(key="btn_stop").click().run()
    assert runner.wait(TIMEOUT) and runner.status == "stopped"
    at.run()
    button = at.get("download_button")
    by_key = {user_key_from_element_id(b.proto.id): b for b in button}
    assert by_key["dl_csv"].proto.label == "Download CSV"
    assert by_key["dl_zip"].proto.label == "Download ZIP"
    # AppTest drops the mock runtime that holds the button's deferred data after each run, so read
    # the export through the function the button calls.
    view = registry().view(runner.run_id)
    frame = pd.read_csv(io.BytesIO(metrics_csv_bytes(view.run_dir)))
    assert list(frame.columns) == list(CSV_COLUMNS)
    assert frame["step"].tolist() == list(range(1, step + 6))
    assert runner.current_step == step + 5
    assert frame[["d_loss", "g_loss", "d_acc_real", "d_acc_fake"]].notna().all().all()
    assert frame["lr_g"].to_numpy() == pytest.approx([2e-4] * (step + 5), rel=1e-9)


# ---------------------------------------------------------------------------------------------- bad input
def test_points_without_data_path_says_what_start_needs_and_cannot_start(runs_root):
    at = app(**{**TINY_FORM, "dataset": "points", "data_path": ""}).run()
    assert not at.exception
    # asked for beside Start, not shown in red before anything was typed (tests/test_sidebar_fixes.py)
    assert any("data_path" in c.value for c in at.main.caption if c.value.startswith("Start needs"))
    assert at.button(key="btn_start").disabled
    assert watched(at) is None
    assert not list(runs_root.glob("*/config.json"))


def test_mnist_without_files_shows_an_error_and_leaves_no_run(runs_root, tmp_path, monkeypatch):
    empty = tmp_path / "no-mnist-here"
    empty.mkdir()
    monkeypatch.setenv("GAN_DASHBOARD_DATA", str(empty))  # a folder the dashboard may read
    at = app(**{**TINY_FORM, "dataset": "mnist", "data_path": str(empty), "download": False}).run()
    assert not at.exception and not at.error
    assert enabled(at, "btn_start")  # nothing the form can check: the data loads only at Start
    at.button(key="btn_start").click().run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and "mnist" in errors[0] and str(empty) in errors[0]
    assert watched(at) is None
    assert not list(runs_root.glob("*/config.json"))
    assert registry().active() == []


# ---------------------------------------------------------------------------------------------- other pages
def test_runs_page_lists_runs_and_opens_one_in_the_train_view(runs_root):
    finished_run(runs_root, "r1")
    finished_run(runs_root, "r2", seed=1)
    at = app().run()
    at.switch_page("pages/1_Runs.py").run()
    assert not at.exception
    table = at.dataframe[0].value
    assert sorted(table["run_id"]) == ["r1", "r2"]
    assert set(table["status"]) == {"finished"} and set(table["step"]) == {20}
    keys = {user_key_from_element_id(b.proto.id) for b in at.get("download_button")}
    assert keys == {"runs_dl_csv", "runs_dl_zip"}

    at.selectbox(key="runs_pick").select("r1").run()
    at.button(key="runs_open").click().run()  # sets the watched run, then switches to the Train view
    assert not at.exception
    assert watched(at) == "r1"
    assert at.title[0].value == "Watch a GAN learn"
    assert status_line(at).startswith("**Status:** `finished` · run `r1`")


def test_runs_page_deletes_a_finished_run(runs_root):
    finished_run(runs_root, "r1")
    finished_run(runs_root, "r2", seed=1)
    at = app().run()
    at.switch_page("pages/1_Runs.py").run()
    at.selectbox(key="runs_pick").select("r2").run()
    at.button(key="runs_delete").click().run()
    assert not at.exception
    assert at.success[0].value == "Deleted run r2."
    assert not (runs_root / "r2").exists() and (runs_root / "r1" / "config.json").is_file()
    assert at.dataframe[0].value["run_id"].tolist() == ["r1"]


def test_compare_page_overlays_two_runs_and_lists_differing_fields(runs_root):
    finished_run(runs_root, "r1")
    finished_run(runs_root, "r2", lr_g=1e-3)
    at = app("pages/2_Compare.py").run()
    assert not at.exception
    assert sorted(at.multiselect(key="cmp_runs").value) == ["r1", "r2"]
    metrics = {f"cmp_chart_{m}" for m in ("d_loss", "g_loss", "d_acc_real", "d_acc_fake")}
    assert chart_keys(at) == metrics | {"cmp_samples_0", "cmp_samples_1"}  # the runs' samples side by side
    diff = at.dataframe[1].value  # (the first: the runs at a glance)
    assert diff.index.tolist() == ["lr_g"]
    assert sorted(diff.columns) == ["r1", "r2"]
    assert float(diff.loc["lr_g", "r1"]) == pytest.approx(2e-4, rel=1e-9)
    assert float(diff.loc["lr_g", "r2"]) == pytest.approx(1e-3, rel=1e-9)

    at.multiselect(key="cmp_metrics").set_value(["g_grad_norm"]).run()
    assert chart_keys(at) == {"cmp_chart_g_grad_norm", "cmp_samples_0", "cmp_samples_1"}


@pytest.mark.parametrize("seconds", [0, -1.0, float("nan")])
def test_live_refresh_refuses_an_interval_that_is_not_positive(seconds):
    with pytest.raises(ValueError, match="seconds must be > 0"):
        live_refresh("live_refresh", seconds)


def _versioned_chart_script():
    import streamlit as st

    from ui.live_chart import live_chart

    title = st.session_state.setdefault("title", "a")

    def build():
        st.session_state["built"] = st.session_state.get("built", 0) + 1
        return {"data": [{"type": "scatter", "x": [1, 2], "y": [3, 4]}], "layout": {"title": {"text": title}}}

    live_chart(build, "versioned", height=200, version=title)


def test_a_live_chart_at_an_unchanged_version_is_sent_again_without_being_built():
    at = AppTest.from_function(_versioned_chart_script, default_timeout=TIMEOUT)

    def sent() -> dict:
        (chart,) = at.get("bidi_component")
        return read_payload(chart.proto.bytes)["figure"]

    at.run()
    first = sent()
    at.run()
    assert at.session_state["built"] == 1 and sent() == first  # the same figure, built once
    assert first["layout"] == {"title": {"text": "a"}, "height": 200}
    at.session_state["title"] = "b"
    at.run()
    assert at.session_state["built"] == 2 and sent()["layout"]["title"]["text"] == "b"


def test_a_live_charts_payload_is_its_settings_then_the_figures_json_as_it_was_written():
    figure = {"data": [{"type": "scatter", "x": [1, 2], "y": [0.5, None], "name": 'a "quoted" \\ é'}]}
    text = json.dumps(figure)
    data = payload(text, height=320, pickable=True)
    assert isinstance(data, bytes) and data.endswith(text.encode())  # the figure's bytes, not re-escaped
    fields = read_payload(data)
    assert fields["figure"] == figure and fields["height"] == 320 and fields["pickable"] is True
    assert fields["library"].endswith("plotly.min.js")
    assert read_payload(payload(text.encode(), height=10))["pickable"] is False
    assert fields["row"] is None and read_payload(payload(text, height=10, row_group="g"))["row"] == "g"
    assert fields["xgroup"] is None and read_payload(payload(text, height=10, x_group="s"))["xgroup"] == "s"
    assert fields["zoomable"] is False and read_payload(payload(text, height=10, zoomable=True))["zoomable"]
    assert fields["zoomed"] is False and read_payload(payload(text, height=10, zoomed=True))["zoomed"]
    with pytest.raises(ValueError, match="no header line"):
        read_payload(text.encode())


def test_the_quality_charts_flow_into_columns_of_one_row_group(runs_root):
    """The quality charts are the elements of one horizontal container, each sent with the row group the
    browser lines up; the page's style lays that container out in columns of at least
    `SMALL_CHART_MIN_PX` (how they fall at each width: tests/e2e/test_chart_grid.py)."""
    finished_run(runs_root, "done", sample_every=10)
    at = app()
    at.session_state["run_id"] = "done"
    at.run()
    charts_sent = {user_key_from_element_id(c.proto.id): c.proto.bytes for c in at.get("bidi_component")}
    rows = {key: read_payload(data)["row"] for key, data in charts_sent.items() if key.startswith("chart_")}
    assert rows["chart_quality_0"] == "quality_charts"  # (the "no evaluation yet" placeholder)
    assert rows["chart_metrics"] is None
    # the charts over steps zoom together (tests/e2e/test_chart_grid.py); the samples are no step chart
    x_groups = {
        key: read_payload(data)["xgroup"] for key, data in charts_sent.items() if key.startswith("chart_")
    }
    assert x_groups["chart_metrics"] == x_groups["chart_quality_0"] == "train_steps"
    assert x_groups["chart_samples"] is None
    styles = " ".join(html.proto.body for html in at.get("html"))
    rule = chart_grid_style("quality_charts", charts.SMALL_CHART_MIN_PX)
    assert rule in styles
    custom = chart_grid_style("custom_charts", charts.SMALL_CHART_MIN_PX, prefix=True, keep_columns=True)
    assert custom in styles


def test_a_chart_grids_style_is_equal_columns_of_a_least_width():
    rule = chart_grid_style("quality_charts", 260)
    assert rule == (
        ".stHorizontalBlock.st-key-quality_charts {display: grid; "
        "grid-template-columns: repeat(auto-fit, minmax(min(260px, 100%), 1fr));}"
    )
    # with prefix: every container keyed so (a custom metrics group's `chart_key("custom_charts", group)`)
    assert chart_grid_style("custom_charts", 260, prefix=True, keep_columns=True) == (
        '.stHorizontalBlock[class*="st-key-custom_charts"] {display: grid; '
        "grid-template-columns: repeat(auto-fill, minmax(min(260px, 100%), 1fr));}"
    )
    for width in (0, -5, 2.5, True):
        with pytest.raises(
            ValueError, match=f"min_width must be a whole number of pixels > 0, got {width!r}"
        ):
            chart_grid_style("grid", width)
    for key in ("a b", "a{", ""):
        with pytest.raises(ValueError, match="key must be letters, digits, _ and - only"):
            chart_grid_style(key, 260)


def _flash_script():
    import types

    import streamlit as st

    from ui.common import acted, show_flash
    from ui.starting import on_page

    def refuse() -> None:  # a button's callback that is refused again
        st.session_state["_flash"] = ("error", "refused again")

    on_page(types.SimpleNamespace(url_path=st.session_state.get("page", "")))  # the router's note
    if st.session_state.get("clicked"):  # a click: its callback runs before the script (wrapped)
        acted(refuse if st.session_state.get("refused") else lambda: None)()
        st.session_state["clicked"] = False
    show_flash("_flash", st.session_state.get("status"), st.session_state.get("inputs"))
    st.write("end of page")


def test_a_message_stays_through_full_runs_until_the_next_click_edit_or_page():
    """A message went once a run had drawn it to the end, and a second full run that followed for another
    reason (a click that came with the live view's refresh asks for one, and its own message brings
    another) erased it from the page: a refused Start at the run limit said nothing (CI, twice)."""
    at = AppTest.from_function(_flash_script, default_timeout=TIMEOUT)
    at.session_state["_flash"] = ("error", "refused")
    for _ in range(3):  # drawn by every full run, not by the first alone
        at.run()
        assert [e.value for e in at.error] == ["refused"]
    at.session_state["clicked"], at.session_state["refused"] = True, True
    at.run()  # a click that is refused again: its message, not the older one
    assert [e.value for e in at.error] == ["refused again"]
    at.session_state["clicked"], at.session_state["refused"] = True, False
    at.run()  # a click that says nothing: the earlier message goes with it
    assert not at.error and "_flash" not in at.session_state
    at.session_state["_flash"] = ("error", "refused")
    at.run()
    assert [e.value for e in at.error] == ["refused"]
    at.session_state["page"] = "Runs"  # a visit to another page: the message was about this one
    at.run()
    assert not at.error and "_flash" not in at.session_state
    at.session_state["_flash"] = ("error", "refused")
    at.run()
    at.run()
    assert [e.value for e in at.error] == ["refused"]
    at.session_state["inputs"] = {"lr_g": 0.001}  # the user edits the form the message was about
    at.run()
    assert not at.error and "_flash" not in at.session_state


def test_a_message_about_a_status_goes_when_the_status_changes():
    """A Pause still pending ("the current step is slow") is said only while the run is still running."""
    at = AppTest.from_function(_flash_script, default_timeout=TIMEOUT)
    at.session_state["status"] = "running"
    at.session_state["_flash"] = ("warning", "Pause is still pending", "running")
    at.run()
    at.run()
    assert [e.value for e in at.warning] == ["Pause is still pending"]
    at.session_state["status"] = "paused"
    at.run()
    assert not at.warning and "_flash" not in at.session_state


def _live_part_script():
    import streamlit as st

    from ui.common import acted, drawn, show_flash, stale_page

    def start_preset() -> None:  # a callback that only records a request, for the page's full run
        st.session_state["asked"] = True

    if st.session_state.get("pressed"):  # a preset's click, its callback run before the script (wrapped)
        acted(start_preset)()
        st.session_state["pressed"] = False
    full = st.session_state.get("full", True)  # else: a refresh of the live part alone (a fragment rerun)
    flash = show_flash("_flash") if full else None
    if full:
        drawn(st.session_state["status"], st.session_state["run"], flash)
    if st.session_state.get("clicked"):  # a click that came with this run: its callback left a message
        st.session_state["_flash"] = ("error", "2 runs are already training")
        st.session_state["clicked"] = False
    st.session_state["stale"] = stale_page(st.session_state["status"], st.session_state["run"], "_flash")


def test_a_refresh_of_the_live_part_asks_for_the_whole_page_when_a_click_it_carried_left_a_message():
    """A refused Start whose click came with the live view's refresh said nothing: its message waited for
    the page's next full run, and a page that only refreshes never had one (a browser test saw no
    refusal within 30 s)."""
    at = AppTest.from_function(_live_part_script, default_timeout=TIMEOUT)
    at.session_state["status"], at.session_state["run"] = "running", "a"
    at.session_state["_flash"] = ("error", "refused")
    at.run()  # the full run draws the message it found: nothing stale in it
    assert [e.value for e in at.error] == ["refused"] and at.session_state["stale"] is False
    at.session_state["full"] = False
    at.run()  # a refresh: the page is as it was drawn
    assert at.session_state["stale"] is False
    at.session_state["clicked"] = True
    at.run()  # a refresh that carried the click: its message is drawn by no one yet
    assert at.session_state["stale"] is True and "_flash" in at.session_state
    at.session_state["full"] = True
    at.run()  # the full run it asks for draws it
    assert [e.value for e in at.error] == ["2 runs are already training"]
    assert at.session_state["stale"] is False
    at.session_state["full"] = False
    at.session_state["run"] = "b"  # a Start that came with a refresh: this session watches its run now
    at.run()
    assert at.session_state["stale"] is True
    at.session_state["run"], at.session_state["status"] = "a", "paused"  # another tab paused the run
    at.run()
    assert at.session_state["stale"] is True
    at.session_state["status"] = "running"
    at.run()
    assert at.session_state["stale"] is False
    at.session_state["pressed"] = True  # a preset's click that came with a refresh: no message, no run yet
    at.run()
    assert at.session_state["asked"] is True and at.session_state["stale"] is True
    at.session_state["full"] = True
    at.run()  # the full run acts on it: drawn, then nothing is stale
    assert at.session_state["stale"] is False
    at.session_state["full"] = False
    at.run()
    assert at.session_state["stale"] is False


def test_the_sidebar_says_its_form_is_not_the_settings_of_a_run_from_a_users_loop(runs_root):
    """Opening a run of a user's own loop left the form on its defaults (dataset digits for a ring8 run)
    beside the Start button, as if they were that run's settings."""
    import torch

    import gan_core.track as track

    G, D = torch.nn.Linear(2, 2), torch.nn.Linear(2, 1)
    with track.init("mine", root=runs_root, loss="nonsaturating", config={"lr": 0.1}, steps=3) as run:
        while not run.should_stop:
            real, fake = torch.randn(8, 2), G(torch.randn(8, 2))
            run.d_step(D(real), D(fake.detach()), d_loss=torch.tensor(1.0))
            run.g_step(torch.tensor(0.7))
    at = app()
    at.query_params["run"] = "mine"
    at.run()
    assert not at.exception
    notes = [c.value for c in at.sidebar.caption if "comes from" in c.value]
    assert notes == [
        "Run mine comes from your own loop (gan_core.track): its own settings are the table below. "
        "This form starts a new run of the built-in trainer."
    ]
    (table,) = at.sidebar.dataframe  # the table the note names
    assert table.value.to_dict("records") == [{"name": "lr", "value": "0.1"}]
    # it watched no G: why there are no pictures, not "yet" beside a finished run
    assert [c.value for c in at.main.caption if c.value.startswith("No snapshot")] == [
        "No snapshot: its loop watched no G (`run.watch(G, fixed_noise)`, or the Lightning callback's "
        "`fixed_noise`), so there are no pictures and no quality metrics."
    ]
    # a run of the built-in trainer: its settings are in the form, no such note
    ours = app(**TINY_FORM).run()
    runner = start(ours)
    assert runner.wait_until(lambda r: len(r.store) >= 1, TIMEOUT)
    ours.run()
    assert not ours.exception and runner.run_id in status_line(ours)
    assert not [c for c in ours.sidebar.caption if "comes from" in c.value]


def test_what_the_tracker_found_wrong_in_a_loops_calls_is_a_banner_before_the_flags_it_misleads(runs_root):
    """A loop that passed D's outputs after a sigmoid as logits got a `TrackingWarning` and a warning
    event, but the Train view showed only the g_overpowers banner those values raise ("raise d_steps or
    lr_d"), the fix for a GAN that was not failing; the diagnosis was in a cell of the Runs page's events."""
    import torch

    import gan_core.track as track

    with (
        pytest.warns(track.TrackingWarning, match="look like probabilities"),
        track.init("probs", root=runs_root, loss="nonsaturating", steps=320) as run,
    ):
        while not run.should_stop:
            real, fake = torch.rand(8) * 0.1 + 0.9, torch.rand(8) * 0.1 + 0.6  # in [0, 1]: probabilities
            run.d_step(real, fake, d_loss=torch.tensor(1.0))
            run.g_step(torch.tensor(0.7))
    at = app()
    at.query_params["run"] = "probs"
    at.run()
    assert not at.exception
    banners = [w.value for w in at.main.warning]
    assert banners[0].startswith(
        "**probabilities** (your loop's calls, step 50) — d_step's logits look like "
    )
    assert "pass D(x) itself, not torch.sigmoid(D(x))" in banners[0]
    assert any(b.startswith("**g_overpowers**") for b in banners[1:])  # the flag it misleads, after it


def test_how_long_a_run_trained_is_said_in_the_unit_it_needs():
    from ui.common import training_time

    assert [training_time(s) for s in (0.43, 9.94, 9.96, 42.4, 59.6, 725.0, 12_030.0, 7_199.0)] == [
        "0.4 s",
        "9.9 s",
        "10 s",
        "42 s",
        "1 min 0 s",
        "12 min 5 s",
        "3 h 20 min",
        "2 h 0 min",
    ]
    assert training_time(float("nan")) == "— s" and training_time(-1.0) == "— s"


def test_a_time_to_come_is_said_in_whole_seconds_then_in_the_unit_it_needs():
    from ui.common import whole_seconds

    assert [whole_seconds(s) for s in (0.43, 7.3, 59.4, 59.6, 930.0, 12_030.0)] == [
        "0 s",
        "7 s",
        "59 s",
        "1 min 0 s",
        "15 min 30 s",
        "3 h 20 min",
    ]
    assert whole_seconds(float("nan")) == "— s" and whole_seconds(-1.0) == "— s"


def test_the_progress_line_writes_steps_with_thousands_separators(runs_root):
    """Past 999 steps the progress line writes its step and target as every other step the page names
    ("next evaluation at step 134,000", the Runs page's "at step 2,616"): a soak reviewer read "step
    133616 (open-ended) · ... · next evaluation at step 134,000" on one line."""
    finished_run(runs_root, "sep", steps=1200, checkpoint_every=0, sample_every=600, eval_every=1200)
    at = app()
    at.query_params["run"] = "sep"
    at.run()
    assert not at.exception
    assert at.get("progress")[0].text.startswith("step 1,200 / 1,200 · finished, ")


def test_a_zoom_on_steps_draws_the_training_panels_finer_there_for_that_run_only(runs_root):
    """The range the browser reports (`live_chart`'s ``on_zoom``, kept under the run's id) is drawn from
    points of its own (`MetricStore.view_columns`' ``steps``); another run's zoom, or none, draws whole."""
    finished_run(runs_root, "long", steps=1500, checkpoint_every=0, eval_every=1500)
    at = app()
    at.session_state["run_id"] = "long"

    def d_loss_steps() -> list[float]:
        (chart,) = [
            c for c in at.get("bidi_component") if user_key_from_element_id(c.proto.id) == "chart_metrics"
        ]
        fields = read_payload(chart.proto.bytes)
        assert fields["zoomable"] and fields["zoomed"] == (zoomed_steps() is not None)
        figure = fields["figure"]
        (line,) = [t for t in figure["data"] if t.get("name") == "d_loss" and t.get("mode") == "lines"]
        return line["x"]

    def inside(steps: list[float]) -> int:
        return sum(600 <= s <= 750 for s in steps)

    def zoomed_steps() -> tuple[float, float] | None:  # what the page drew for: the zoom of this run
        held = at.session_state.get("_train_zoom")
        return held[1] if held is not None and held[0] == "long" else None

    at.run()
    assert not at.exception
    whole = d_loss_steps()
    assert len(whole) <= 300 and inside(whole) <= 35  # 5 steps a point
    at.session_state["_train_zoom"] = ("long", (600.0, 750.0))
    at.run()
    zoomed = d_loss_steps()
    assert inside(zoomed) >= 140 and len(zoomed) <= 600  # a step a point there (the store's buckets)
    at.session_state["_train_zoom"] = ("other", (600.0, 750.0))
    at.run()
    assert d_loss_steps() == whole


@pytest.mark.parametrize("dataset, own", [("digits", "8 px"), ("folder", "32 px")])
def test_the_image_size_menu_says_what_size_the_datasets_own_is(dataset, own):
    """A review: a folder of 64 px images trained at 32, the menu saying only "dataset's own"."""
    at = app(dataset=dataset).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.sidebar.selectbox(key="cfg_image_size").options[0] == "dataset's own"
    assert f"dataset's own: {own}" in [c.value for c in at.sidebar.caption]
    at.sidebar.selectbox(key="cfg_image_size").select(16).run()  # a size of its own: nothing to say
    assert not [c.value for c in at.sidebar.caption if c.value.startswith("dataset's own")]
