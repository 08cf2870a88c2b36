"""The Runs page (pages/1_Runs.py) through `AppTest`: a delete's confirmation closes with the delete and
never passes to another run; the device menu is offered, labelled, only for a run the dashboard can resume
or branch; the run column is wide enough for the longest run id.

AppTest cannot click a popover open: a test opens one as the browser does, by setting the popover's state
(its key, in session state); tests/e2e/test_runs_page_browser.py presses the buttons in Chromium.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
import torch
from streamlit.proto.LabelVisibility_pb2 import LabelVisibility
from streamlit.testing.v1 import AppTest

import gan_core.track as track
from gan_core.config import GANConfig
from gan_core.rundir import RunDir
from gan_core.runner import Runner
from tests.test_literal import shown
from tests.test_track import ToyGAN
from ui.common import registry

APP_DIR = Path(__file__).resolve().parents[1]
TIMEOUT = 60  # seconds: the test machine is slow and shared
TINY = dict(dataset="ring8", width=16, latent_dim=4, batch_size=16, device="cpu", steps=20)
# A branch's id as the dashboard names it (the parent's id, then "-at<step>"), of the length the user saw cut
BRANCH_ID = "d-overpowers-20261202-160751-00f4-at2000"
# BRANCH_ID's width in Chromium at the table's 14 px: 260 px in Source Sans, 286 px in the sans-serif
# drawn until that font has loaded; a cell has 8 px of padding on each side (glide-data-grid's default).
BRANCH_ID_PX, CELL_PADDING_PX = 286, 2 * 8


def finished_run(root: Path, run_id: str, **overrides) -> None:
    runner = Runner(GANConfig(**{**TINY, **overrides}), root, run_id).start()
    assert runner.wait(TIMEOUT) and runner.status == "finished"


def own_loop_run(root: Path, run_id: str) -> None:
    """A run of a user's own loop, recorded through `gan_core.track` (source "api")."""
    gan = ToyGAN()
    with track.init(run_id, root=root, real=gan.real, steps=5, opt_d=gan.opt_d, opt_g=gan.opt_g) as run:
        while not run.should_stop:
            gan.step(run)
    assert run.status == "finished"


def runs_page() -> AppTest:
    at = AppTest.from_file(str(APP_DIR / "pages" / "1_Runs.py"), default_timeout=TIMEOUT).run()
    assert not at.exception
    return at


def delete_confirmations(at: AppTest) -> dict[str, bool]:
    """The delete popovers drawn, by key, each with whether it is sent open."""
    return {p.key: p.proto.popover.open for p in at.get("popover") if p.key.startswith("runs_delete")}


def test_a_delete_closes_its_confirmation_and_the_next_run_shown_gets_a_closed_one(runs_root):
    finished_run(runs_root, "r1")
    finished_run(runs_root, "r2", seed=1)
    at = runs_page()
    at.selectbox(key="runs_pick").select("r2").run()
    assert delete_confirmations(at) == {"runs_delete_pop:r2": False}
    at.session_state["runs_delete_pop:r2"] = True  # the user opens the confirmation
    at.run()
    assert delete_confirmations(at) == {"runs_delete_pop:r2": True}

    at.button(key="runs_delete").click().run()
    assert not at.exception
    assert [s.value for s in at.success] == ["Deleted run r2."]
    assert not (runs_root / "r2").exists() and (runs_root / "r1" / "config.json").is_file()
    # the page now shows r1 where r2 was: its confirmation is its own, and closed
    assert at.selectbox(key="runs_pick").value == "r1"
    assert delete_confirmations(at) == {"runs_delete_pop:r1": False}
    assert (runs_root / "r1" / "config.json").is_file()


def test_a_confirmation_open_for_one_run_is_closed_for_the_next_picked(runs_root):
    finished_run(runs_root, "r1")
    finished_run(runs_root, "r2", seed=1)
    at = runs_page()
    at.selectbox(key="runs_pick").select("r1").run()
    at.session_state["runs_delete_pop:r1"] = True
    at.run()
    assert delete_confirmations(at) == {"runs_delete_pop:r1": True}
    at.selectbox(key="runs_pick").select("r2").run()
    assert delete_confirmations(at) == {"runs_delete_pop:r2": False}
    # and the button inside deletes the run it names: r2, not the r1 it was opened for
    at.button(key="runs_delete").click().run()
    assert not (runs_root / "r2").exists() and (runs_root / "r1" / "config.json").is_file()


def test_a_refused_delete_closes_its_confirmation_too(runs_root):
    finished_run(runs_root, "r1")
    at = runs_page()
    at.session_state["runs_delete_pop:r1"] = True
    at.run()
    writer = RunDir.open(runs_root, "r1").claim("a test")  # another writer holds the folder
    try:
        at.button(key="runs_delete").click().run()
    finally:
        writer.release()
    errors = [shown(e.value) for e in at.error]
    assert len(errors) == 1 and errors[0].startswith("cannot delete: ") and "a test" in errors[0], errors
    assert delete_confirmations(at) == {"runs_delete_pop:r1": False}
    assert (runs_root / "r1" / "config.json").is_file()


def test_the_device_menu_is_offered_labelled_only_for_a_run_the_dashboard_can_resume_or_branch(runs_root):
    own_loop_run(runs_root, "mine")
    finished_run(runs_root, "ours")
    at = runs_page()

    at.selectbox(key="runs_pick").select("mine").run()
    assert at.button(key="runs_open")  # the page is drawn for "mine" ...
    assert not [s for s in at.selectbox if s.key == "runs_device"]  # ... with no device to choose

    at.selectbox(key="runs_pick").select("ours").run()
    device = at.selectbox(key="runs_device")
    assert device.label == "Resume / branch on" and device.value == "auto"
    assert device.proto.label_visibility.value == LabelVisibility.LabelVisibilityOptions.VISIBLE
    assert list(device.options) == ["auto", "cpu", "cuda", "mps"]
    assert not device.disabled


def test_the_page_first_shows_the_run_the_session_watches_or_the_address_names(runs_root):
    finished_run(runs_root, "older")
    finished_run(runs_root, "middle", seed=1)
    finished_run(runs_root, "newest", seed=2)
    assert runs_page().selectbox(key="runs_pick").value == "newest"  # nothing named: the newest
    at = AppTest.from_file(str(APP_DIR / "pages" / "1_Runs.py"), default_timeout=TIMEOUT)
    at.session_state["run_id"] = "older"  # watched in the Train view, then the menu's Runs
    assert at.run().selectbox(key="runs_pick").value == "older"
    at = AppTest.from_file(str(APP_DIR / "pages" / "1_Runs.py"), default_timeout=TIMEOUT)
    at.query_params["run"] = "middle"  # /Runs?run=middle (the address wins over the watched run)
    at.session_state["run_id"] = "older"
    assert at.run().selectbox(key="runs_pick").value == "middle"
    at = AppTest.from_file(str(APP_DIR / "pages" / "1_Runs.py"), default_timeout=TIMEOUT)
    at.query_params["run"] = "gone"  # a run not in the folder: the watched one
    at.session_state["run_id"] = "older"
    assert at.run().selectbox(key="runs_pick").value == "older"


def test_a_runs_configuration_opens_with_every_field_shown(runs_root):
    finished_run(runs_root, "ours", lr_g=3e-4)
    at = runs_page()
    at.selectbox(key="runs_pick").select("ours").run()
    (config,) = at.json  # the Configuration expander's: unfolded, not a folded {...} to click again
    assert config.proto.expanded
    shown = json.loads(config.value)
    assert shown["lr_g"] == pytest.approx(3e-4) and shown["dataset"] == "ring8" and len(shown) >= 30


def run_column_width(at: AppTest) -> int:
    columns = json.loads(at.dataframe(key="runs_table").proto.columns)
    return columns["run_id"]["width"]


def test_the_run_column_fits_a_branchs_whole_id(runs_root):
    finished_run(runs_root, "r1")
    finished_run(runs_root, BRANCH_ID, seed=1)
    at = runs_page()
    assert BRANCH_ID in at.dataframe(key="runs_table").value["run_id"].tolist()
    width = run_column_width(at)
    # the whole id, in either font, and not much more ("created" is further right)
    assert BRANCH_ID_PX + CELL_PADDING_PX <= width <= BRANCH_ID_PX + CELL_PADDING_PX + 40


def test_the_run_column_is_narrow_when_the_ids_are_short(runs_root):
    finished_run(runs_root, "r1")
    at = runs_page()
    assert 60 <= run_column_width(at) <= 150


def test_each_run_has_its_own_checkpoint_menu_so_a_branch_is_made_at_the_step_shown(runs_root):
    # One menu key for all runs kept the last run's pick: the menu showed step 300 of one run while the
    # branch was made at 200, the step picked on the run seen before.
    finished_run(runs_root, "r1", checkpoint_every=5)  # checkpoints at 5, 10, 15, 20
    finished_run(runs_root, "r2", seed=1, steps=30, checkpoint_every=10)  # 10, 20, 30
    at = AppTest.from_file(str(APP_DIR / "dashboard.py"), default_timeout=TIMEOUT).run()
    at.switch_page("pages/1_Runs.py").run()  # (a branch then goes to the Train view)
    at.selectbox(key="runs_pick").select("r1").run()
    at.selectbox(key="runs_branch_step:r1").select(10).run()
    at.selectbox(key="runs_pick").select("r2").run()
    pick = at.selectbox(key="runs_branch_step:r2")
    assert pick.value == 30 and pick.options == ["step 30", "step 20", "step 10"]  # r2's newest
    at.button(key="runs_branch").click().run()
    assert not at.exception and not at.error
    assert at.session_state["run_id"] == "r2-at30"
    child = registry().runner("r2-at30")
    assert (child.lineage["parent"], child.lineage["parent_step"]) == ("r2", 30)
    child.stop()
    assert child.wait(TIMEOUT)


def test_a_resume_whose_data_lies_outside_the_allowed_folders_is_refused(runs_root, tmp_path):
    # A run folder's config.json names its data_path: the Runs page's Resume read it wherever it was (a
    # file outside every data folder, /etc/passwd), where Start refuses it.
    outside = tmp_path / "outside" / "secret.csv"
    outside.parent.mkdir()
    outside.write_text("x,y\n" + "".join(f"{i % 7},{i % 5}\n" for i in range(64)))
    runner = Runner(
        GANConfig(
            **{**TINY, "dataset": "points", "data_path": str(outside), "steps": 0, "checkpoint_every": 5}
        ),
        runs_root,
        "elsewhere",
    ).start()
    assert runner.wait_until(lambda r: r.current_step >= 5, TIMEOUT)
    runner.stop()
    assert runner.wait(TIMEOUT) and runner.status == "stopped"
    before = (runs_root / "elsewhere" / "metrics.csv").read_bytes()
    at = runs_page()
    at.selectbox(key="runs_pick").select("elsewhere").run()
    at.button(key="runs_resume").click().run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert len(errors) == 1, errors
    assert "is outside the folders data may be read from" in errors[0] and "GAN_DASHBOARD_DATA" in errors[0]
    assert (runs_root / "elsewhere" / "metrics.csv").read_bytes() == before  # nothing resumed
    assert json.loads((runs_root / "elsewhere" / "status.json").read_text())["status"] == "stopped"


def test_a_run_whose_metrics_lost_their_rows_says_so_on_both_pages(runs_root):
    """A finished run whose metrics.csv was emptied showed step 0 in the Train view, and nothing on the
    Runs page, without a word: both say what the file lacks."""
    finished_run(runs_root, "emptied")
    (runs_root / "emptied" / "metrics.csv").write_bytes(b"")
    said = "metrics.csv is empty, while status.json says the run reached step 20: its charts show no step"
    at = runs_page()
    assert [shown(w.value) for w in at.warning] == [said]
    (row,) = at.dataframe(key="runs_table").value.to_dict("records")
    assert row["problems"] == said
    train = AppTest.from_file(str(APP_DIR / "dashboard.py"), default_timeout=TIMEOUT)
    train.session_state["run_id"] = "emptied"
    train.run()
    assert not train.exception
    assert said in [shown(w.value) for w in train.warning]
    assert train.get("progress")[0].text.startswith("step 0 / 20 · finished")


def test_run_folders_whose_names_are_no_run_ids_are_counted_and_named(runs_root):
    """Folders holding a run under a name no page can open (a space, an accent, a leading dot or dash, a
    line break, over 100 characters) were left out of the Runs page without a word: a caption says how
    many, quotes the first five as text, and says what a run id may be."""
    finished_run(runs_root, "kept")
    names = ["my run", "é-run", ".hidden", "-dash", "bad\nline", "x" * 120, "a..b"]
    for name in names:
        shutil.copytree(runs_root / "kept", runs_root / name)
    (runs_root / "no run here").mkdir()  # no config.json or run.json: no run, nothing to say
    at = runs_page()
    (caption,) = [c.value for c in at.caption if c.value.startswith("Left out:")]
    first = sorted(names)[:5]
    quoted = [repr(n if len(n) <= 40 else n[:39] + "…") for n in first]
    assert shown(caption) == (
        f"Left out: 7 folders holding a run under a name that is no run id ({', '.join(quoted)} and 2 more). "
        "A run id is 1-100 ASCII letters, digits, '.', '_' or '-', starting with a letter or digit, without "
        "'..': rename a folder to list its run."
    )
    assert "\n" not in caption  # the line break is shown escaped, not as a break in the caption
    assert at.dataframe(key="runs_table").value["run_id"].tolist() == ["kept"]
    for name in names[1:]:
        shutil.rmtree(runs_root / name)
    at = runs_page()
    (caption,) = [shown(c.value) for c in at.caption if c.value.startswith("Left out:")]
    assert caption.startswith("Left out: 1 folder holding a run under a name that is no run id ('my run'). ")
    assert caption.endswith(": rename the folder to list its run.")


def test_runs_are_listed_newest_first_by_the_created_time_the_table_shows(runs_root):
    """The Runs page, Compare's picker and the CLI list runs in one order: by the created time shown,
    not by the folders' modification times (an old run resumed today was listed first)."""
    from tests.test_cli_polish import _run

    _run(runs_root, "new", "2026-06-01T12:00:00.000+00:00", mtime=1_000)
    _run(runs_root, "tie-b", "2026-03-01T12:00:00.000+00:00", mtime=2_000)
    _run(runs_root, "tie-a", "2026-03-01T13:00:00.000+01:00", mtime=3_000)  # the same instant elsewhere
    _run(runs_root, "old", "2026-01-01T12:00:00.000+00:00", mtime=4_000)  # resumed today: the newest folder
    _run(runs_root, "no-time", None, mtime=5_000)
    expected = ["new", "tie-a", "tie-b", "old", "no-time"]

    assert registry().run_ids() == (expected, [])
    at = runs_page()
    table = at.dataframe(key="runs_table").value
    assert table["run_id"].tolist() == expected
    created = table["created"].tolist()
    assert created[0] > created[1] == created[2] > created[3]  # the times shown, newest first


def test_the_page_says_which_runs_came_went_or_moved_on_since_its_list_was_drawn(runs_root):
    """`RunRegistry.statuses` is the listing's status column without the rest; `listing_changes_text` says
    what moved between two of them (the page checks every `LISTING_CHECK_SECONDS`), in one line."""
    from ui.common import MAX_CHANGES_SHOWN, listing_changes_text

    finished_run(runs_root, "done")
    own_loop_run(runs_root, "mine")
    at = runs_page()
    shown = {row["run_id"]: row["status"] for row in registry().summaries(unreadable=True)}
    assert registry().statuses() == shown == {"done": "finished", "mine": "finished"}
    # nothing changed since the table was drawn: no line, no button
    assert not [c for c in at.caption if c.value.startswith("Since this list")]
    assert not [b for b in at.button if b.key == "runs_refresh"]
    assert listing_changes_text(shown, registry().statuses()) is None
    # a script starts a run, one is deleted, one is cut off (its status.json says running, nobody holds it)
    run = track.init("new.run", root=runs_root)
    shutil.rmtree(runs_root / "mine")
    now = registry().statuses()
    assert now == {"done": "finished", "new.run": "running"}
    assert listing_changes_text(shown, now) == "Since this list was drawn: new: new.run; gone: mine"
    run.finish()
    assert listing_changes_text({"new.run": "running"}, registry().statuses()) == (
        "Since this list was drawn: new: done; status: new.run running → finished"
    )
    many = {f"r{i}": "running" for i in range(MAX_CHANGES_SHOWN + 2)}
    assert listing_changes_text({}, many) == "Since this list was drawn: new: r0, r1, r2, r3, r4 and 2 more"
    # a damaged folder (config.json no JSON): unreadable in both, so never a change (it was, every 2 s)
    shutil.copytree(runs_root / "done", runs_root / "broken")
    (runs_root / "broken" / "config.json").write_text("{broken")
    listed = {row["run_id"]: row["status"] for row in registry().summaries(unreadable=True)}
    assert listed["broken"] == "unreadable" == registry().statuses()["broken"]
    assert listing_changes_text(listed, registry().statuses()) is None
    shutil.rmtree(runs_root / "broken")
    # the page drawn again holds the new listing, and says nothing
    again = runs_page()
    assert not [c for c in again.caption if c.value.startswith("Since this list")]
    assert [r for r in again.dataframe[0].value["run_id"]] == ["new.run", "done"]


def runs_page_at(run: str, watched: str | None = None) -> AppTest:
    """The Runs page opened at /Runs?run=``run``, in a session that watches ``watched``."""
    at = AppTest.from_file(str(APP_DIR / "pages" / "1_Runs.py"), default_timeout=TIMEOUT)
    at.query_params["run"] = run
    if watched is not None:
        at.session_state["run_id"] = watched
    at.run()
    assert not at.exception
    return at


@pytest.mark.parametrize("named", ["../../etc", "**bold**", "<img src=x onerror=alert(1)>"])
def test_an_invalid_run_id_in_the_address_is_said_then_the_page_shows_the_newest(runs_root, named):
    """/Runs?run=../../etc quietly showed the newest run, where the Train view says the id is invalid."""
    finished_run(runs_root, "older")
    finished_run(runs_root, "newest", seed=1)
    at = runs_page_at(named)
    (error,) = [shown(e.value) for e in at.error]
    assert error == (
        f"The address names run {named!r}, which cannot be shown: run id {named!r} is invalid: use 1-100 "
        "ASCII letters, digits, '.', '_' or '-', starting with a letter or digit, without '..' or slashes. "
        "Shown below: the newest run, newest."
    )
    assert at.selectbox(key="runs_pick").value == "newest" and at.button(key="runs_open")
    # once another run is picked, the page shows that one, and the address's id is no longer its subject
    at.selectbox(key="runs_pick").select("older").run()
    assert not at.exception and not at.error


def test_a_run_the_address_names_that_the_folder_lacks_is_said(runs_root):
    """A valid id of no run in the folder gave way to another run without a word."""
    finished_run(runs_root, "older")
    finished_run(runs_root, "newest", seed=1)
    at = runs_page_at("gone", watched="older")
    assert [shown(e.value) for e in at.error] == [
        "The address names run gone, which the runs folder does not hold (not started yet, deleted or "
        "moved). "
        "Shown below: the run the Train view watches, older."
    ]
    assert at.selectbox(key="runs_pick").value == "older"
    at = runs_page_at("gone/")  # (a slash a link picked up is no part of the id, as in the Train view)
    assert [shown(e.value) for e in at.error] == [
        "The address names run gone, which the runs folder does not hold (not started yet, deleted or "
        "moved). "
        "Shown below: the newest run, newest."
    ]
    assert not runs_page_at("older/").error  # a run listed: shown, nothing to say
    assert runs_page_at("older/").selectbox(key="runs_pick").value == "older"


def test_an_invalid_run_id_in_the_address_is_said_with_no_runs_yet(runs_root):
    at = runs_page_at("../x")
    assert [shown(e.value) for e in at.error] == [
        "The address names run '../x', which cannot be shown: run id '../x' is invalid: use 1-100 ASCII "
        "letters, digits, '.', '_' or '-', starting with a letter or digit, without '..' or slashes."
    ]
    assert [i.value for i in at.info][0].startswith("No runs yet")


@pytest.mark.parametrize(
    ("source", "call"),
    [
        ("api", "gan_core.track.init('mine', root={root!r}, ..., resume=True)"),
        ("lightning", "GANTrackingCallback('mine', root={root!r}, ..., resume=True)"),
    ],
)
def test_a_run_of_the_users_own_loop_says_how_to_continue_it(runs_root, source, call):
    """ "this run goes on only in its own loop" named no way to go on: the call, in its runs folder."""
    gan = ToyGAN()
    with track.init(
        "mine", root=runs_root, real=gan.real, steps=5, opt_d=gan.opt_d, opt_g=gan.opt_g, source=source
    ) as run:
        while not run.should_stop:
            gan.step(run)
    at = runs_page()
    assert at.selectbox(key="runs_pick").value == "mine"
    (line,) = [m.value for m in at.markdown if m.value.startswith("Recorded by")]
    assert "Resume and branching here are for runs the dashboard trains; this run goes on in your " in line
    assert "only in its own loop" not in line
    assert [c.value for c in at.code] == [call.format(root=str(runs_root.resolve()))]
    # and the call does continue it: its rows go on from step 5
    with track.init(
        "mine",
        root=runs_root,
        real=gan.real,
        steps=7,
        opt_d=gan.opt_d,
        opt_g=gan.opt_g,
        source=source,
        resume=True,
    ) as run:
        assert run.step == 5
        while not run.should_stop:
            gan.step(run)
    assert run.status == "finished" and run.step == 7


def test_a_run_whose_only_checkpoint_is_a_link_offers_resume_which_says_why_not(runs_root, tmp_path):
    """Its Resume was greyed with "no checkpoint to continue from" and nothing else; the Train view's
    Resume stays on and says what the entry is: so does the Runs page's."""
    finished_run(runs_root, "linked")
    folder = runs_root / "linked"
    status = json.loads((folder / "status.json").read_text())
    (folder / "status.json").write_text(json.dumps({**status, "status": "stopped"}))
    (checkpoint,) = (folder / "checkpoints").glob("step_*.pt")
    outside = tmp_path / "elsewhere.pt"
    checkpoint.rename(outside)
    checkpoint.symlink_to(outside)
    at = runs_page()
    resume = at.button(key="runs_resume")
    assert not resume.disabled
    resume.click().run()
    assert not at.exception
    (said,) = [shown(e.value) for e in at.error]
    assert said.startswith("Cannot resume linked: ") and "is a symlink" in said
    assert sorted(p.name for p in runs_root.iterdir() if not p.name.startswith(".")) == ["linked"]


def test_deleting_the_run_the_address_names_says_it_was_deleted_and_no_more(runs_root):
    """A delete of a run opened by its address (/Runs?run=r2, or after a Branch) was a green "Deleted" and
    a red "The address names run r2, which the runs folder does not hold" together."""
    finished_run(runs_root, "r1")
    finished_run(runs_root, "r2", seed=1)
    at = AppTest.from_file(str(APP_DIR / "pages" / "1_Runs.py"), default_timeout=TIMEOUT)
    at.query_params["run"] = "r2"
    at.run()
    assert at.selectbox(key="runs_pick").value == "r2" and not at.error
    at.session_state["runs_delete_pop:r2"] = True
    at.run()
    at.button(key="runs_delete").click().run()
    assert [s.value for s in at.success] == ["Deleted run r2."] and not at.error and not at.exception
    assert "run" not in at.query_params


def test_the_runs_training_now_are_said_with_the_step_each_has_reached(runs_root):
    """The table's step column is as drawn; the listing's check says each running run's step as it
    moves on (`RunRegistry.steps_now`: the runner's, or the further of status.json's and the last row's)."""
    from ui.common import MAX_CHANGES_SHOWN, training_now_text

    finished_run(runs_root, "done")
    gan = ToyGAN()
    run = track.init("live", root=runs_root, real=gan.real, opt_d=gan.opt_d, opt_g=gan.opt_g, commit_every=0)
    try:
        for _ in range(3):
            gan.step(run)
        assert registry().steps_now(["live"]) == {"live": 3}
        at = runs_page()
        said = [c.value for c in at.caption if c.value.startswith("Training now")]
        assert said == ["Training now: live at step 3"]
        # the table's steps are as drawn: the button that draws it again is beside the line
        (refresh,) = [b for b in at.button if b.key == "runs_refresh"]
        assert refresh.label == "Refresh the list"
        for _ in range(4):  # rows written; status.json not yet (it is written every 2 s)
            gan.step(run)
        assert registry().steps_now(["live", "gone", "done"]) == {"live": 7, "done": 20}
    finally:
        run.finish()
    assert not [c for c in runs_page().caption if c.value.startswith("Training now")]
    many = {f"r{i}": 1000 * i for i in range(MAX_CHANGES_SHOWN + 2)}
    assert training_now_text(many) == (
        "Training now: r0 at step 0, r1 at step 1,000, r2 at step 2,000, r3 at step 3,000, r4 at step 4,000 "
        "and 2 more"
    )
    assert training_now_text({}) is None
    assert training_now_text({"r0": 5}, lead="Also training on this server") == (
        "Also training on this server: r0 at step 5"
    )


def test_the_step_columns_separate_thousands_as_the_line_above_does(runs_root):
    """The table's steps in the browser's locale ("1,200"), as the "Training now ... at step 2,616" line
    above it and every other page write a step (it showed 11995 under "at step 12,572"); the column as
    wide as the longest written so."""
    finished_run(runs_root, "r1", steps=1200, checkpoint_every=0)
    columns = json.loads(runs_page().dataframe(key="runs_table").proto.columns)
    assert columns["step"]["type_config"] == {"type": "number", "format": "localized"}
    assert columns["steps"]["type_config"] == {"type": "number", "format": "localized"}
    assert len("1,200") * 7.2 + 16 <= columns["step"]["width"] <= 120


def test_the_filter_keeps_the_runs_holding_every_word_in_the_table_and_the_menu(runs_root):
    """Among 31 runs the grid's own search highlighted matches and hid none: the filter keeps the runs that
    hold every word (id, status, dataset, model, loss, flags), case apart, in the table and in the menu
    under it (a run it hid was shown below the table: two reviews); none matching shows no table (every
    run under "No run matches" read as the filter's result), saying why."""
    from gan_core.registry import filter_runs
    from tests.test_literal import shown

    rows = [
        {"run_id": "ring8-a", "status": "finished", "dataset": "ring8", "loss": "hinge", "flags": ""},
        {"run_id": "ring8-b", "status": "interrupted", "dataset": "ring8", "loss": "minimax", "flags": None},
        {"run_id": "digits-c", "dataset": "digits", "loss": "hinge", "flags": "d_leads"},
    ]
    ids = lambda kept: [row["run_id"] for row in kept]  # noqa: E731
    assert ids(filter_runs(rows, "")) == ids(filter_runs(rows, "   ")) == ["ring8-a", "ring8-b", "digits-c"]
    assert ids(filter_runs(rows, "RING8 Hinge")) == ["ring8-a"]
    assert ids(filter_runs(rows, "interrupted")) == ["ring8-b"]
    assert ids(filter_runs(rows, "d_leads")) == ["digits-c"]
    assert ids(filter_runs(rows, "ring8 digits")) == []
    assert ids(filter_runs(rows, "none")) == []  # (a blank field is no word "None")

    finished_run(runs_root, "sweep-lr1")
    finished_run(runs_root, "sweep-lr2", seed=1)
    finished_run(runs_root, "other", seed=2)
    at = runs_page()
    at.selectbox(key="runs_pick").set_value("other").run()  # a run the filter below hides
    at.text_input(key="runs_filter").input("SWEEP").run()
    assert not at.exception
    assert sorted(at.dataframe[0].value["run_id"]) == ["sweep-lr1", "sweep-lr2"]
    assert "2 of 3 runs match." in [c.value for c in at.caption]
    menu = at.selectbox(key="runs_pick")
    assert sorted(menu.options) == ["sweep-lr1", "sweep-lr2"] and menu.value in menu.options
    at.text_input(key="runs_filter").input("nothing-like-it").run()
    assert not at.exception
    assert [shown(w.value) for w in at.warning] == [
        "No run of the 3 matches nothing-like-it. A filter takes words found in a run's id, status, dataset, "
        "model, loss, flags or notes, and settings as name=value, name!=value or name<value (also <=, >, >=; "
        "numbers; status=failed too), all of which must match."
    ]
    assert not [d for d in at.dataframe if d.key == "runs_table"]
    at.text_input(key="runs_filter").input("lr=1e-3").run()  # a setting no run has: named
    (said,) = [shown(w.value) for w in at.warning]
    assert said.startswith(
        "No run of the 3 matches lr=1e-3. No run has a setting named 'lr' (closest: lr_g, lr_d); these runs' "
        "settings: batch_size, beta1, "
    )
    assert said.endswith(
        ", ... (and source, dataset, model, loss, status); a plain word is looked for in ids, statuses, "
        "flags, notes."
    )


@pytest.mark.parametrize("tab_says", [None, "light"])
@pytest.mark.parametrize(("base", "color"), [("dark", "#ffffff"), ("light", "#000000")])
def test_run_ids_are_drawn_in_the_servers_theme_on_the_pages_first_run(
    runs_root, monkeypatch, base, color, tab_says
):
    """The tab's theme (`st.context.theme`) is unknown on a page's first run, and a fresh tab says "light"
    whatever the server's (a review, in Chromium): with --theme.base dark the run ids were drawn black on
    the dark background, unreadable until the first click redrew them."""
    from streamlit import config
    from streamlit.runtime.context import ContextProxy, StreamlitTheme

    monkeypatch.setattr(ContextProxy, "theme", property(lambda self: StreamlitTheme({"type": tab_says})))
    finished_run(runs_root, "one")
    before = config.get_option("theme.base")
    config.set_option("theme.base", base)
    try:
        at = runs_page()
    finally:
        config.set_option("theme.base", before)
    styles = at.dataframe[0].proto.arrow_data.styler.styles
    assert styles.count(f"{{ color: {color} }}") == 1 and "col0" in styles, styles


@pytest.mark.parametrize(("tab_says", "theme"), [("dark", "dark"), ("light", "light"), (None, "light")])
def test_a_theme_file_as_the_servers_base_leaves_the_theme_to_the_tab(monkeypatch, tab_says, theme):
    """``theme.base`` may name a theme file (a path or URL, Streamlit 1.67): no "light" or "dark" there."""
    from streamlit.runtime.context import ContextProxy, StreamlitTheme

    import ui.common as common

    monkeypatch.setattr(ContextProxy, "theme", property(lambda self: StreamlitTheme({"type": tab_says})))
    monkeypatch.setattr(common.st, "get_option", lambda name: "themes/midnight.toml")
    assert common.theme_type() == theme


def test_a_conditional_run_of_the_users_own_loop_says_its_classes(runs_root):
    """A review: the Train view said "conditional, 10 classes" of a run the Runs page summed up without."""
    track.init("cond", root=runs_root, real=torch.randn(64, 1, 8, 8), n_classes=10).finish()
    track.init("plain", root=runs_root, real=torch.randn(64, 1, 8, 8)).finish()
    for run_id, said in (("cond", True), ("plain", False)):
        at = runs_page_at(run_id)
        (line,) = [m.value for m in at.markdown if m.value.startswith("Recorded by")]
        assert ("· conditional, **10** classes." in line) is said, line


def test_a_run_not_evaluated_yet_shows_a_dash_not_none(runs_root):
    """A review: the quality "value" and "@ step" cells of a run not evaluated yet read "None"."""
    track.init("fresh", root=runs_root, real=torch.randn(64, 1, 8, 8)).finish()
    table = runs_page().dataframe(key="runs_table")
    (row,) = table.value.to_dict("records")
    assert row["quality"] == "" and pd.isna(row["quality_value"]) and pd.isna(row["quality_step"])
    assert table.proto.placeholder == "—"


def test_the_notes_area_starts_from_the_folder_again_after_another_run_and_never_saves_a_stale_edit(
    runs_root,
):
    """A review: Streamlit drops a text area's value while it is not drawn (another run shown), and the
    area came back empty, so that Save removed the notes. It starts from the folder again; and an edit
    begun before the notes changed elsewhere is not saved over them without a word."""
    finished_run(runs_root, "r1")
    finished_run(runs_root, "r2", seed=1)
    registry().set_notes("r1", "important: D leads at 800")
    at = runs_page()
    at.selectbox(key="runs_pick").select("r1").run()
    assert at.text_area(key="runs_notes:r1").value == "important: D leads at 800"
    at.selectbox(key="runs_pick").select("r2").run()
    assert at.text_area(key="runs_notes:r2").value == ""
    at.selectbox(key="runs_pick").select("r1").run()
    assert at.text_area(key="runs_notes:r1").value == "important: D leads at 800"  # (it came back empty)
    at.button(key="runs_notes:r1:save").click().run()
    assert not at.exception
    assert RunDir.open(runs_root, "r1").read_notes() == "important: D leads at 800"

    at.text_area(key="runs_notes:r1").input("my edit").run()
    registry().set_notes("r1", "written in a terminal meanwhile")
    at.run()
    assert at.text_area(key="runs_notes:r1").value == "my edit"  # an edit is kept
    at.button(key="runs_notes:r1:save").click().run()
    assert RunDir.open(runs_root, "r1").read_notes() == "written in a terminal meanwhile"
    (said,) = [w.value for w in at.warning if "changed elsewhere" in w.value]
    assert "written in a terminal meanwhile" in shown(said) and "Save again to replace them" in said
    at.button(key="runs_notes:r1:save").click().run()  # the user's choice, now knowing
    assert RunDir.open(runs_root, "r1").read_notes() == "my edit"
    assert not [w for w in at.warning if "changed elsewhere" in w.value]
    # notes written elsewhere while the area is as it was shown: it follows them
    registry().set_notes("r1", "a third version")
    at.run()
    assert at.text_area(key="runs_notes:r1").value == "a third version"
    assert [m.value for m in at.markdown if m.value.startswith("**Notes**")] == [
        "**Notes**  \na third version"
    ]
