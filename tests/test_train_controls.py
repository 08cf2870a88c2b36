"""The Train view's controls and sidebar through `AppTest` (issue 11): the form keeps what the user set
across pages, Apply lists only the user's changes (never a difference left by opening a run, a branch or
a second tab), one Start click starts at most one run, a branch can take other learning rates, and a
preset's run is named after it.

Tiny open-ended runs as in tests/test_app.py; runs a test starts itself start paused where it only needs
them live. Each test gets its own runs folder, hence its own registry.
"""

from __future__ import annotations

import os
import socket
import threading
from pathlib import Path

import pytest

# Imported now, in the main thread: torch imports its compiler stack lazily on a run's first optimizer step,
# and that import calls ast.parse. On CPython before 3.11.8 two threads parsing at once can fail with
# "SystemError: AST constructor recursion depth mismatch" (python/cpython#106905): here the Streamlit
# script thread compiling the page a branch or resume switches to, while the new run's thread imports.
import torch._dynamo  # noqa: F401
from streamlit.testing.v1 import AppTest

import gan_core.classifier as classifier_module
from gan_core.config import GANConfig
from gan_core.evaluation import Evaluator
from gan_core.presets import get_preset
from gan_core.registry import RegistryError, RunRegistry
from gan_core.rundir import RunDir, new_run_id
from gan_core.runner import Runner
from tests.test_literal import shown
from ui.common import registry

APP_DIR = Path(__file__).resolve().parents[1]
TIMEOUT = 60
TINY = dict(dataset="ring8", width=16, latent_dim=4, batch_size=16, device="cpu")
TINY_FORM = dict(TINY, steps=0, sample_every=5, checkpoint_every=0)


def app(**form) -> AppTest:
    at = AppTest.from_file(str(APP_DIR / "dashboard.py"), default_timeout=TIMEOUT)
    for name, value in form.items():
        at.session_state[f"cfg_{name}"] = value
    return at


def edit(at: AppTest, **form) -> AppTest:
    """The user changes sidebar fields (each widget's value, as a browser would send it), then the rerun."""
    for name, value in form.items():
        at.session_state[f"cfg_{name}"] = value
    return at.run()


def watched(at: AppTest) -> str | None:
    return at.session_state["run_id"] if "run_id" in at.session_state else None  # noqa: SIM401


def keys(at: AppTest) -> set[str]:
    return {b.key for b in at.button}


def apply_label(at: AppTest) -> str | None:
    return at.button(key="btn_apply").label if "btn_apply" in keys(at) else None


def visit_runs_and_come_back(at: AppTest) -> AppTest:
    at.switch_page("pages/1_Runs.py").run()
    assert not at.exception
    return at.switch_page("pages/0_Train.py").run()


def live_run(cfg: GANConfig, step: int = 3) -> Runner:
    """A run training in this server (its registry), paused at ``step``."""
    runner = registry().start(cfg, paused=True)
    runner.run_to(step)
    assert runner.wait_until(lambda r: r.status == "paused" and r.current_step == step, TIMEOUT)
    return runner


def stopped_run(root: Path, run_id: str, **overrides) -> Runner:
    """A run in ``root`` trained to step 10 with checkpoints at 5 and 10, then stopped."""
    cfg = GANConfig(**{**TINY, "steps": 0, "checkpoint_every": 5, **overrides})
    runner = Runner(cfg, root, run_id).start(paused=True)
    runner.run_to(10)
    assert runner.wait_until(lambda r: r.status == "paused" and r.current_step == 10, TIMEOUT)
    runner.stop()
    assert runner.wait(TIMEOUT) and runner.status == "stopped"
    return runner


def enabled(at: AppTest, key: str) -> bool:
    return not at.button(key=key).disabled


def stop(run_id: str) -> None:
    runner = registry().runner(run_id)
    runner.stop()
    assert runner.wait(TIMEOUT)


# ---------------------------------------------------------------------------------------------- the form
def test_the_form_keeps_what_the_user_set_across_a_page_visit(runs_root):
    at = app().run()
    assert at.session_state["cfg_dataset"] == "digits"  # the defaults, nothing watched
    edit(at, **TINY_FORM, lr_g=1e-3, loss="wgan-gp", gp_weight=5.0)
    edit(at, loss="hinge")  # gp_weight is not drawn for hinge: Streamlit drops its widget's value ...
    visit_runs_and_come_back(at)
    assert not at.exception
    form = {name: at.session_state[f"cfg_{name}"] for name in (*TINY_FORM, "lr_g", "loss")}
    assert form == {**TINY_FORM, "lr_g": 1e-3, "loss": "hinge"}
    edit(at, loss="wgan-gp")
    assert at.session_state["cfg_gp_weight"] == 5.0  # ... and the form kept it all the same


def test_a_preset_stays_in_the_form_after_a_visit_to_another_page(runs_root):
    preset = get_preset("d-overpowers")
    at = app().run()
    at.button(key="preset_d-overpowers").click().run()
    assert not at.exception and watched(at)
    stop(watched(at))
    at.run()
    visit_runs_and_come_back(at)
    assert not at.exception
    form = {name: at.session_state[f"cfg_{name}"] for name in preset.overrides}
    assert form == dict(preset.overrides)
    captions = [c.value for c in at.sidebar.caption if c.value.startswith("Preset:")]
    assert captions == [f"Preset: **{preset.title}**. Watch for: {preset.watch_for}"]  # not "edited since"


# ---------------------------------------------------------------------------------------------- apply
def test_after_a_branch_the_train_view_offers_no_apply_and_the_form_shows_the_branch(runs_root):
    stopped_run(runs_root, "parent", lr_d=5e-4)
    at = app().run()  # a form at the defaults, nothing watched: far from the parent's settings
    at.switch_page("pages/1_Runs.py").run()
    at.selectbox(key="runs_branch_step:parent").select(5).run()
    assert at.number_input(key="runs_branch_lr_d").value == pytest.approx(5e-4)  # prefilled: in force at 5
    at.number_input(key="runs_branch_lr_g").set_value(1e-3).run()  # the user's "what if"
    at.button(key="runs_branch").click().run()  # branches, then switches to the Train view
    assert not at.exception and not at.error
    child = watched(at)
    assert child == "parent-at5" and at.title[0].value == "Watch a GAN learn"
    runner = registry().runner(child)
    assert runner.wait_until(lambda r: r.current_step > 5, TIMEOUT)
    assert runner.hparams["lr_g"] == pytest.approx(1e-3) and runner.hparams["lr_d"] == pytest.approx(5e-4)
    # Only the value the user changed was passed: one hparam change recorded, lr_g.
    hparam = [e for e in runner.events if e["kind"] == "hparam"]
    assert [e["detail"].split(":")[0] for e in hparam] == ["lr_g"]
    at.switch_page("pages/0_Train.py").run()  # where the browser is now (AppTest's own page is still Runs)
    assert apply_label(at) is None and not [c for c in at.caption if c.value.startswith("Changed in")]
    assert at.session_state["cfg_lr_g"] == pytest.approx(1e-3) and at.session_state["cfg_width"] == 16
    edit(at, lr_d=1e-4)
    assert apply_label(at) == "Apply changes: lr_d → 0.0001"  # what the user changed, nothing else
    # said where a reader scrolled down to the charts sees it (Apply is at the top), once
    (told,) = at.toast
    assert told.value == "Not applied yet: `lr_d` → 0.0001. **Apply changes** is at the top of the page."
    at.run()
    assert apply_label(at) == "Apply changes: lr_d → 0.0001" and not at.toast
    edit(at, lr_d=2e-4)
    assert [t.value.split(".")[0] for t in at.toast] == ["Not applied yet: `lr_d` → 0"]  # (0.0002: anew)
    assert "0.0002" in at.toast[0].value
    edit(at, lr_d=1e-4)
    at.button(key="btn_apply").click().run()
    assert [t.value for t in at.toast] == ["Applied: lr_d = 0.0001"] and not at.success
    at.run()
    assert apply_label(at) is None and not at.toast  # said once
    stop(child)


def test_a_branch_from_the_step_a_run_ended_at_offers_more_steps(runs_root):
    # A run that trained all its steps: Branch pressed without a change must not be refused for having
    # nothing to train.
    finished = Runner(GANConfig(**{**TINY, "steps": 10, "checkpoint_every": 5}), runs_root, "done").start()
    assert finished.wait(TIMEOUT) and finished.status == "finished"
    at = app().run()
    at.switch_page("pages/1_Runs.py").run()
    assert at.selectbox(key="runs_branch_step:done").value == 10  # the latest: where it ended
    assert at.number_input(key="runs_branch_steps").value == 10 + 1000
    assert any("trained all its 10 steps there" in c.value for c in at.caption)
    at.button(key="runs_branch").click().run()
    assert not at.exception and not at.error
    runner = registry().runner("done-at10")
    assert runner.wait_until(lambda r: r.current_step > 10, TIMEOUT)
    stop("done-at10")


def test_a_second_session_watching_a_long_run_offers_only_its_own_changes(runs_root):
    runner = live_run(GANConfig(**TINY, steps=4000, checkpoint_every=0))
    second = app().run()  # a second tab: no session state, it joins the live run
    assert watched(second) == runner.run_id and not second.exception
    assert second.session_state["cfg_steps"] == 4000 and second.session_state["cfg_dataset"] == "ring8"
    assert apply_label(second) is None  # was "Apply changes: steps → 3000", from a defaults form
    # Another tab changes lr_d: this one has nothing to undo ...
    runner.set_hparams(lr_d=1e-3)
    runner.run_to(4)
    assert runner.wait_until(lambda r: r.status == "paused" and r.current_step == 4, TIMEOUT)
    second.run()
    assert apply_label(second) is None
    # ... and what its user changes is all it offers.
    edit(second, lr_g=5e-4)
    assert apply_label(second) == "Apply changes: lr_g → 0.0005"


def test_opening_another_run_loads_its_settings_and_offers_nothing_to_apply(runs_root):
    stopped_run(runs_root, "other", width=32, lr_g=1e-3)
    runner = live_run(GANConfig(**TINY_FORM))
    at = app().run()
    assert watched(at) == runner.run_id and apply_label(at) is None
    at.switch_page("pages/1_Runs.py").run()
    at.selectbox(key="runs_pick").select("other").run()
    at.button(key="runs_open").click().run()
    assert watched(at) == "other" and not at.exception
    assert at.session_state["cfg_width"] == 32 and at.session_state["cfg_lr_g"] == pytest.approx(1e-3)
    assert not [c for c in at.caption if "Resume" in c.value] and "btn_load_settings" not in keys(at)
    at.switch_page("pages/1_Runs.py").run()
    at.selectbox(key="runs_pick").select(runner.run_id).run()
    at.button(key="runs_open").click().run()  # back to the live run: the form shows its settings again
    assert watched(at) == runner.run_id
    assert at.session_state["cfg_width"] == 16 and apply_label(at) is None


# ---------------------------------------------------------------------------------------------- start
def test_a_repeated_start_request_starts_one_run_and_a_new_click_another(runs_root, monkeypatch):
    monkeypatch.setenv("GAN_DASHBOARD_MAX_RUNS", "4")
    at = app(**TINY_FORM).run()
    first = at.session_state["_start_request"]
    at.button(key="btn_start").click().run()
    run_id = watched(at)
    assert run_id and at.query_params["run"] == run_id
    # The same click delivered again (the browser can send one click twice): the button carries it again.
    at.session_state["_start_request"] = first
    at.run()
    at.button(key="btn_start").click().run()
    assert not at.exception and not at.error
    assert watched(at) == run_id and [r.run_id for r in registry().active()] == [run_id]
    at.button(key="btn_start").click().run()  # a new click is a new request
    assert watched(at) != run_id and len(registry().active()) == 2


def test_a_repeated_refusal_is_one_message_and_no_run(runs_root, monkeypatch):
    monkeypatch.setenv("GAN_DASHBOARD_MAX_RUNS", "1")
    runner = live_run(GANConfig(**TINY_FORM))
    at = app(**TINY_FORM).run()
    request = at.session_state["_start_request"]
    at.button(key="btn_start").click().run()
    (error,) = [e.value for e in at.error]
    assert "1 runs are already training" in error and watched(at) == runner.run_id
    at.session_state["_start_request"] = request
    at.run()
    at.button(key="btn_start").click().run()
    assert [e.value for e in at.error] == [error]
    assert [r.run_id for r in registry().active()] == [runner.run_id]
    assert sorted(p.name for p in runs_root.iterdir() if not p.name.startswith(".")) == [runner.run_id]


def test_the_registry_starts_one_run_per_request_even_at_once(tmp_path):
    registry_ = RunRegistry(tmp_path / "runs", max_active=4)
    cfg = GANConfig(**TINY_FORM)
    barrier = threading.Barrier(4)
    got = []

    def click() -> None:
        barrier.wait()
        got.append(registry_.start(cfg, paused=True, request_id="one-click"))

    threads = [threading.Thread(target=click) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT)
    assert len(got) == 4 and len({id(r) for r in got}) == 1
    assert [p.name for p in (tmp_path / "runs").iterdir()] == [got[0].run_id]
    other = registry_.start(cfg, paused=True, request_id="another-click")
    assert other is not got[0]
    full = RunRegistry(tmp_path / "full", max_active=1)
    full.start(cfg, paused=True)
    for _ in range(2):  # refused, and refused again the same way: no run either time
        with pytest.raises(RegistryError, match="1 runs are already training"):
            full.start(cfg, paused=True, request_id="late")
    assert len(list((tmp_path / "full").iterdir())) == 1
    registry_.stop_all(TIMEOUT)
    full.stop_all(TIMEOUT)


# ---------------------------------------------------------------------------------------------- run ids
def test_run_ids_name_the_preset_that_made_them(runs_root, cli, tmp_path):
    assert new_run_id(GANConfig(), "healthy-digits").startswith("healthy-digits-")
    assert new_run_id(GANConfig()).startswith("digits-nonsaturating-")
    conditional = GANConfig(conditioning="projection")  # what made it: a conditional run says so
    assert new_run_id(conditional).startswith("digits-projection-nonsaturating-")
    at = app().run()
    at.button(key="preset_healthy-ring8").click().run()
    preset_run = watched(at)
    assert preset_run.startswith("healthy-ring8-20")
    stop(preset_run)
    edit(at, seed=1)  # no longer the preset: the caption says so, and the run is the user's own
    assert any("(edited since)" in c.value for c in at.sidebar.caption)
    at.button(key="btn_start").click().run()
    assert watched(at).startswith("ring8-minimax-20")
    stop(watched(at))
    guide = app().run().switch_page("pages/3_Guide.py").run()
    guide.button(key="guide_preset_g-outruns").click().run()
    assert watched(guide).startswith("g-outruns-20")
    stop(watched(guide))
    out = cli("train", "--preset", "healthy-ring8", "--steps", "2", "--out", str(tmp_path / "cli"), "--quiet")
    assert out.returncode == 0, out.stderr
    folder = out.stdout.strip().splitlines()[-1]  # train prints the run folder last
    assert Path(folder).name.startswith("healthy-ring8-20")
    RunDir.from_path(folder)  # a valid run folder


# ---------------------------------------------------------------------------------------------- evaluations
def test_the_progress_line_says_when_the_first_evaluation_trains_the_classifier(runs_root, monkeypatch):
    """While a run evaluates, its steps stand still: the first evaluation of digit images in a server
    trains the classifier first (2 s on an idle machine, 15-20 s on a loaded one). The progress line says
    so, and says nothing of it once the evaluation is done."""
    monkeypatch.setattr(classifier_module, "_cache", {})  # this server has trained no classifier yet
    entered, release = threading.Event(), threading.Event()
    measure = Evaluator.evaluate

    def held(self, G, D=None):  # the real evaluation, held until the page has been drawn
        entered.set()
        assert release.wait(TIMEOUT)
        return measure(self, G, D)

    monkeypatch.setattr(Evaluator, "evaluate", held)
    runner = registry().start(GANConfig(**{**TINY, "dataset": "digits"}, steps=0, eval_every=3))
    try:
        assert entered.wait(TIMEOUT)
        at = app()
        at.session_state["run_id"] = runner.run_id
        at.run()
        assert not at.exception
        progress = at.get("progress")[0].text
        assert progress.endswith(
            " · evaluating step 3 (the first evaluation trains the feature classifier: a few seconds, "
            "longer on a busy machine)"
        ), progress
    finally:
        release.set()
    runner.pause()
    assert runner.wait_until(lambda r: r.status == "paused" and r.evaluating is None, TIMEOUT)
    at.run()
    assert not at.exception and "evaluating" not in at.get("progress")[0].text
    stop(runner.run_id)


# ------------------------------------------------------------------------------------------- another server
def test_a_run_another_server_trains_is_paused_and_stopped_through_its_command_file(runs_root):
    """Two dashboard servers on one runs folder: the second watches the first's run through its folder.
    The first's runner reads the run's command file, so Pause, Resume and Stop work from the second,
    and their help says where they go."""
    other = RunRegistry(runs_root)  # the other server's registry
    runner = other.start(GANConfig(**TINY, steps=0))
    try:
        assert runner.wait_until(lambda r: len(r.store) > 0, TIMEOUT)
        assert RunDir.open(runs_root, runner.run_id).read_status()["commands"] is True
        at = app()
        at.session_state["run_id"] = runner.run_id
        at.run()
        assert not at.exception and registry().runner(runner.run_id) is None  # not this server's
        sent = (
            f"Sent to process {os.getpid()} on {socket.gethostname()}, which trains this run, through the "
            "run's command file: it acts between two steps"
        )
        assert enabled(at, "btn_pause") and enabled(at, "btn_stop")
        assert shown(at.button(key="btn_pause").help) == shown(at.button(key="btn_stop").help) == sent
        assert not [c for c in at.caption if "cannot reach this run" in c.value]
        at.button(key="btn_pause").click().run()
        assert runner.wait_until(lambda r: r.status == "paused", TIMEOUT)
        at.run()
        assert not at.exception and enabled(at, "btn_resume") and not enabled(at, "btn_pause")
        assert shown(at.button(key="btn_resume").help) == sent
        at.button(key="btn_resume").click().run()
        assert runner.wait_until(lambda r: r.status == "running", TIMEOUT)
        at.run()
        at.button(key="btn_stop").click().run()
        assert runner.wait(TIMEOUT) and runner.status == "stopped"
        commands = [e["fields"]["command"] for e in runner.events if e["kind"] == "command"]
        assert commands == ["pause", "resume", "stop"]
    finally:
        other.stop_all(TIMEOUT)


def test_pause_and_stop_off_for_a_run_whose_writer_reads_no_commands_say_why(runs_root):
    """A run whose writer does not read the command file (a server of an earlier version: status.json
    says ``commands``: false): Pause and Stop are off, and a line says who trains it and why."""
    runner = Runner(GANConfig(**TINY, steps=0), runs_root, "older").start(paused=True)  # reads no commands
    try:
        assert runner.wait_until(lambda r: r.trainer is not None and len(r.snapshots) == 1, TIMEOUT)
        assert RunDir.open(runs_root, "older").read_status()["commands"] is False
        at = app()
        at.session_state["run_id"] = "older"
        at.run()
        assert not at.exception
        assert not any(enabled(at, k) for k in ("btn_pause", "btn_resume", "btn_step", "btn_stop"))
        (why,) = [shown(c.value) for c in at.caption if "cannot reach this run" in c.value]
        assert why == (
            f"Pause and Stop cannot reach this run: process {os.getpid()} on {socket.gethostname()} trains "
            "it and does not read the run's command file (its status.json does not say it does: a "
            "dashboard or loop of an earlier version). Pause or stop it where it runs."
        )
    finally:
        runner.stop()
        assert runner.wait(TIMEOUT)


def test_while_the_run_shown_is_paused_resume_is_the_red_button_and_a_paused_run_is_named(runs_root):
    """A review: with the run paused, the red Start (GAN Lab's one play button goes on) started a new run,
    and the paused one was named nowhere on the page ("Also training" named running runs only)."""
    cfg = GANConfig(**{**TINY, "steps": 0, "checkpoint_every": 0})
    other = live_run(cfg, step=3)
    shown_run = live_run(cfg, step=4)
    at = app()
    at.session_state["run_id"] = shown_run.run_id
    at.run()
    assert not at.exception
    types = {key: at.button(key=key).proto.type for key in ("btn_start", "btn_resume")}
    assert types == {"btn_start": "secondary", "btn_resume": "primary"}
    also = [c.value for c in at.caption if c.value.startswith("Also")]
    assert also == [f"Also on this server: {other.run_id} paused at step 3 (the Runs page opens them)"]
    shown_run.resume()
    assert shown_run.wait_until(lambda r: r.status == "running", TIMEOUT)
    at.run()
    types = {key: at.button(key=key).proto.type for key in ("btn_start", "btn_resume")}
    assert types == {"btn_start": "primary", "btn_resume": "secondary"}
    stop(shown_run.run_id)
    stop(other.run_id)


def test_a_start_refused_at_the_run_limit_offers_to_stop_the_runs_that_fill_it(runs_root, monkeypatch):
    """A review: presets clicked one after another left runs training; the third was refused with "stop
    one first", and Stop acts on the run shown only: the others were to be found on the Runs page."""
    monkeypatch.setenv("GAN_DASHBOARD_MAX_RUNS", "2")
    first = live_run(GANConfig(**TINY_FORM), step=3)
    second = live_run(GANConfig(**TINY_FORM), step=4)
    second.resume()
    at = app(**TINY_FORM).run()
    at.button(key="btn_start").click().run()
    (error,) = [shown(e.value) for e in at.error]
    assert error.startswith(f"2 runs are already training ({first.run_id} (paused), {second.run_id});")
    stops = {b.key: b for b in at.button if b.key.startswith("btn_limit_stop:")}
    assert list(stops) == [f"btn_limit_stop:{first.run_id}", f"btn_limit_stop:{second.run_id}"]
    assert stops[f"btn_limit_stop:{first.run_id}"].help.startswith("Paused at step 3: stop it")
    stops[f"btn_limit_stop:{second.run_id}"].click().run()
    assert second.status == "stopped" and first.status == "paused"
    assert [shown(i.value) for i in at.info] == [f"Stopped {second.run_id}: Start has room for a run now."]
    assert not [b for b in at.button if b.key.startswith("btn_limit_stop:")]  # gone with the refusal
    at.button(key="btn_start").click().run()
    assert not at.error and len(registry().active()) == 2
    for runner in registry().active():
        stop(runner.run_id)
