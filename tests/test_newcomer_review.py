"""What a newcomer's review of the pages found, through `AppTest`: a refused Branch says why inside its
popover (the message at the top of the page was hidden under it); Resume and Rewind / branch disabled for
want of a checkpoint say so, on both pages; the Train view never tells the user to press a disabled Start,
and a points dataset with no data yet is asked for, not shown in red as an invalid data_path; the Probe
offers a run's in-memory weights as "current (live weights)" only while it trains.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from gan_core.config import GANConfig
from gan_core.registry import RegistryError
from gan_core.rundir import RunDir
from gan_core.runner import Runner
from tests.test_literal import shown
from tests.test_train_controls import stopped_run
from ui.common import registry

APP_DIR = Path(__file__).resolve().parents[1]
TIMEOUT = 60  # seconds: the test machine is slow and shared
TINY = dict(dataset="ring8", width=16, latent_dim=4, batch_size=16, device="cpu")


def dashboard(**form) -> AppTest:
    at = AppTest.from_file(str(APP_DIR / "dashboard.py"), default_timeout=TIMEOUT)
    for name, value in form.items():
        at.session_state[f"cfg_{name}"] = value
    return at


def killed_before_its_first_checkpoint(root: Path, run_id: str) -> None:
    """What ``kill -9`` at step 12 of a run with checkpoint_every=1000 leaves: rows to step 12, no
    checkpoint, a status.json that still says running (its writer is gone)."""
    cfg = GANConfig(**TINY, steps=0, checkpoint_every=1000)
    runner = Runner(cfg, root, run_id).start(paused=True)
    runner.run_to(12)
    assert runner.wait_until(lambda r: r.status == "paused" and r.current_step == 12, TIMEOUT)
    runner.stop()
    assert runner.wait(TIMEOUT)
    run = RunDir.open(root, run_id)
    for _, path in run.checkpoints():  # the final one a clean stop saves: a kill saves none
        path.unlink()
    run.claim("test").write_status({"status": "running"})
    run.release()


# ---------------------------------------------------------------------------------------------- 1: Branch
def test_a_refused_branch_says_why_in_its_popover_beside_branch_and_keeps_the_form(runs_root):
    stopped_run(runs_root, "parent")
    at = dashboard().run()
    at.switch_page("pages/1_Runs.py").run()
    at.number_input(key="runs_branch_lr_d").set_value(7.0).run()
    assert not at.exception
    (popover,) = [p for p in at.get("popover") if p.key == "runs_branch_pop"]
    refusal = "lr_d=7.0 is invalid: allowed a number in (0.0, 1.0]"
    # said as it is typed, once, in the popover the user is looking at, right above the Branch it disables
    assert [shown(e.value) for e in at.error] == [refusal]
    assert [shown(e.value) for e in popover.error] == [refusal]
    last_two = [getattr(node, "key", None) or node.type for node in popover][-2:]
    assert last_two == ["error", "runs_branch"]
    assert at.button(key="runs_branch").disabled
    assert at.number_input(key="runs_branch_lr_d").value == pytest.approx(7.0, rel=1e-12)  # kept
    assert [r.run_id for r in registry().active()] == []  # nothing branched
    at.number_input(key="runs_branch_lr_d").set_value(0.5).run()  # corrected: no stale refusal
    assert not at.error and not at.button(key="runs_branch").disabled


def test_a_branch_steps_at_or_below_its_checkpoint_is_refused_as_it_is_typed(runs_root):
    """A review: steps=1000 for a branch from step 2500 was refused only after the click, naming the
    branch's own id ("run X-at1000-at2500 is at step 2500, past the steps=1000 asked"), a run never made."""
    stopped_run(runs_root, "parent")
    at = dashboard().run()
    at.switch_page("pages/1_Runs.py").run()
    step = int(at.selectbox(key="runs_branch_step:parent").value)
    at.number_input(key="runs_branch_steps").set_value(step).run()
    refusal = (
        f"steps={step:,} is at or below step {step:,}, where the branch starts: steps is the total to reach, "
        f"counted from the run's start; give more than {step:,}, or 0 to train until stopped"
    )
    assert [shown(e.value) for e in at.error] == [refusal]
    assert at.button(key="runs_branch").disabled
    at.number_input(key="runs_branch_steps").set_value(0).run()  # until stopped: allowed
    assert not at.error and not at.button(key="runs_branch").disabled


def test_a_branch_refused_at_the_click_says_why_under_the_button(runs_root, monkeypatch):
    """What the registry refuses that the form cannot know before the click (here: the run's limit) is
    said right under Branch, in the popover."""
    stopped_run(runs_root, "parent")
    at = dashboard().run()
    at.switch_page("pages/1_Runs.py").run()

    def full(*args, **kwargs):
        raise RegistryError("2 runs are training: the limit (GAN_DASHBOARD_MAX_RUNS) is 2")

    monkeypatch.setattr(type(registry()), "branch", full)
    at.button(key="runs_branch").click().run()
    assert not at.exception
    (popover,) = [p for p in at.get("popover") if p.key == "runs_branch_pop"]
    refusal = "Not branched: 2 runs are training: the limit (GAN_DASHBOARD_MAX_RUNS) is 2"
    assert [shown(e.value) for e in popover.error] == [refusal] == [shown(e.value) for e in at.error]
    last_two = [getattr(node, "key", None) or node.type for node in popover][-2:]
    assert last_two == ["runs_branch", "error"]
    at.run()  # said until the user acts again (a rerun for another reason does not erase it)
    assert [shown(e.value) for e in at.error] == [refusal]
    at.number_input(key="runs_branch_lr_d").set_value(1e-4).run()  # the form edited: the refusal goes
    assert not at.error


# ---------------------------------------------------------------------------------------------- 2: Resume
NO_CHECKPOINT = (
    "No checkpoint was saved before this run ended at step 12 (checkpoint_every=1000: the first was due at "
    "step 1000), so it cannot be continued: Resume and Rewind / branch start from a checkpoint. Instead, "
)


def test_a_run_killed_before_its_first_checkpoint_says_why_it_cannot_resume_in_the_train_view(runs_root):
    killed_before_its_first_checkpoint(runs_root, "killme2")
    at = dashboard()
    at.query_params["run"] = "killme2"
    at.run()
    assert not at.exception
    resume = at.button(key="btn_resume")
    assert resume.disabled
    (note,) = [c.value for c in at.main.caption if c.value.startswith("No checkpoint was saved")]
    assert note.startswith(NO_CHECKPOINT) and "press Start" in note and "checkpoint_every" in note
    assert resume.help == note  # the tooltip says why, not what the button would do
    assert "latest checkpoint" not in resume.help


def test_resumes_help_names_the_checkpoint_and_the_rows_trained_again(runs_root):
    """A review: Resume of a run killed at step 1,872 went back to 1,601 unannounced ("from its latest
    checkpoint"). Killed at step 12 with checkpoints at 5 and 10: the help says 10 and the 2 rows after."""
    cfg = GANConfig(**TINY, steps=0, checkpoint_every=5)
    runner = Runner(cfg, runs_root, "killed12").start(paused=True)
    runner.run_to(12)
    assert runner.wait_until(lambda r: r.status == "paused" and r.current_step == 12, TIMEOUT)
    runner.stop()
    assert runner.wait(TIMEOUT)
    run = RunDir.open(runs_root, "killed12")
    for step, path in run.checkpoints():
        if step == 12:  # the one a clean stop saves: a kill saves none
            path.unlink()
    run.claim("test").write_status({"status": "running"})  # its writer gone: interrupted
    run.release()
    at = dashboard()
    at.query_params["run"] = "killed12"
    at.run()
    assert not at.exception
    resume = at.button(key="btn_resume")
    assert not resume.disabled
    assert (
        resume.help
        == "Continue this run from its latest checkpoint, at step 10: its 2 rows after it are trained again"
    )


def test_a_run_killed_before_its_first_checkpoint_says_why_on_the_runs_page(runs_root):
    killed_before_its_first_checkpoint(runs_root, "killme2")
    at = AppTest.from_file(str(APP_DIR / "pages" / "1_Runs.py"), default_timeout=TIMEOUT).run()
    assert not at.exception
    assert at.button(key="runs_resume").disabled
    (popover,) = [p for p in at.get("popover") if p.key == "runs_branch_pop"]
    assert popover.proto.popover.disabled
    (note,) = [c.value for c in at.caption if c.value.startswith("No checkpoint was saved")]
    assert note.startswith(NO_CHECKPOINT) and "Train view" in note and "press Start" in note
    assert at.button(key="runs_resume").help == note
    # a run with a checkpoint says nothing of the kind
    stopped_run(runs_root, "fine")
    at.run()  # (listed now)
    at.selectbox(key="runs_pick").select("fine").run()
    assert not at.exception and not at.button(key="runs_resume").disabled
    assert not [c for c in at.caption if c.value.startswith("No checkpoint was saved")]


def test_a_run_still_training_before_its_first_checkpoint_says_when_branching_opens(runs_root):
    runner = registry().start(GANConfig(**TINY, steps=0, checkpoint_every=90_000))
    assert runner.wait_until(lambda r: r.current_step >= 3, TIMEOUT)
    at = AppTest.from_file(str(APP_DIR / "pages" / "1_Runs.py"), default_timeout=TIMEOUT).run()
    assert not at.exception
    (popover,) = [p for p in at.get("popover") if p.key == "runs_branch_pop"]
    assert popover.proto.popover.disabled
    assert popover.proto.popover.help == (
        "No checkpoint yet: Rewind / branch starts from one, and this run saves its first at step 90,000 "
        "(checkpoint_every) or a pause"
    )
    assert not [c for c in at.caption if c.value.startswith("No checkpoint was saved")]  # not ended
    runner.pause()  # a pause checkpoints the run where it stands: branching opens
    assert runner.wait_until(lambda r: r.status == "paused", TIMEOUT)
    at.run()
    (popover,) = [p for p in at.get("popover") if p.key == "runs_branch_pop"]
    assert not popover.proto.popover.disabled and not popover.proto.popover.help
    runner.stop()
    assert runner.wait(TIMEOUT)
    at.run()  # stopped: its final checkpoint, with no such note
    (popover,) = [p for p in at.get("popover") if p.key == "runs_branch_pop"]
    assert not popover.proto.popover.disabled and not popover.proto.popover.help


# ---------------------------------------------------------------------------------------------- 3: Start
def test_the_idle_train_view_tells_to_press_start_only_when_start_is_enabled(runs_root):
    at = dashboard(**TINY, steps=-5).run()
    assert not at.exception and at.button(key="btn_start").disabled
    (box,) = at.info
    assert "Press **Start**" not in box.value and "the line under Start says what" in box.value
    at.session_state["cfg_steps"] = 20
    at.run()
    assert not at.button(key="btn_start").disabled
    (box,) = at.info
    assert box.value.startswith("Press **Start** to train")


def test_points_without_data_yet_is_asked_for_not_shown_as_an_invalid_data_path(runs_root):
    at = dashboard(**{**TINY, "dataset": "points", "data_path": ""}).run()
    assert not at.exception and at.button(key="btn_start").disabled
    assert not at.error  # no "data_path='' is invalid" before the user has typed anything
    notes = [c.value for c in at.main.caption if c.value.startswith("Start needs")]
    assert notes == [
        "Start needs the points data: upload a CSV of 2D points (x,y) in the sidebar (Data), or enter its "
        "path in data_path."
    ]
    assert not any("Press **Start**" in i.value for i in at.info)
    at.session_state["cfg_data_path"] = "no/such/points.csv"  # a path typed: now what is wrong with it
    at.run()
    assert not at.exception and at.button(key="btn_start").disabled
    (error,) = [shown(e.value) for e in at.sidebar.error]
    assert "no/such/points.csv" in error


# ---------------------------------------------------------------------------------------------- 4: Probe
def test_the_probe_offers_live_weights_only_while_the_run_trains(runs_root):
    runner = registry().start(GANConfig(**TINY, steps=0, checkpoint_every=0), paused=True)
    runner.run_to(4)
    assert runner.wait_until(lambda r: r.status == "paused" and r.current_step == 4, TIMEOUT)
    at = AppTest.from_file(str(APP_DIR / "pages" / "4_Probe.py"), default_timeout=TIMEOUT)
    at.session_state["probe_run"] = runner.run_id
    at.run()
    weights = at.selectbox(key=f"probe_weights_{runner.run_id}")
    # (checkpoint_every=0: the one checkpoint is the pause's, of the same weights)
    assert weights.options == ["current (live weights)", "checkpoint at step 4"]
    runner.stop()  # it ends: its last weights are saved in the final checkpoint, at step 4
    assert runner.wait(TIMEOUT) and runner.status == "stopped"
    at.run()
    assert not at.exception and not at.error
    weights = at.selectbox(key=f"probe_weights_{runner.run_id}")
    assert weights.options == ["checkpoint at step 4"] and weights.value == 4
    assert not any("live" in option for option in weights.options)
    assert any("G and D at step 4" in c.value for c in at.caption)
