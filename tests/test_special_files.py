"""A run file that is no regular file: a named pipe (FIFO, ``mkfifo``) or a folder where status.json,
metrics.csv, a snapshot or a checkpoint should be. Opened plainly, a named pipe waits for a writer that
never comes: the Runs page, the Compare page and ``python -m gan_core runs`` hung on one. Each is now
refused at once (`gan_core.rundir.open_regular`) and said as any unreadable file is: one line naming the
file and what it is, the page and the command line stay up, the other runs are listed as before.

Every call that once hung runs under `within`: a thread joined with a timeout, so that a regression fails
in seconds instead of hanging the suite. The runs folder is a copy of ``good``, a finished 2D run made once
per module by the project's own writer (a `Runner`: snapshots every 5 steps, checkpoints at 10 and 20).
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from gan_core.config import GANConfig
from gan_core.registry import RunRegistry
from gan_core.rundir import RUNS_ENV, RunDir, RunDirError
from gan_core.runner import Runner
from gan_core.tracking.commands import CommandPoller, send_command
from gan_core.tracking.schema import CSV_COLUMNS
from ui.common import literal

APP_DIR = Path(__file__).resolve().parents[1]
TIMEOUT = 60  # seconds for a training run, a process or a page: the test machine is slow and shared
WAIT = 20  # seconds an in-process read may take before it counts as hung (each takes milliseconds)
TINY = dict(dataset="ring8", width=16, latent_dim=4, batch_size=16, device="cpu", steps=20)
# How each kind of special file is made, and how a problem line names it.
KINDS = {"fifo": "a named pipe (FIFO)", "folder": "a folder"}
TOP_FILES = ("run.json", "config.json", "status.json", "metrics.csv", "events.csv")


def within(call: Callable[[], Any], seconds: float = WAIT) -> Any:
    """``call()``'s result (its exception raised here), or a failure if it has not returned within
    ``seconds``: a thread joined with a timeout, so a read that waits on a named pipe fails the test
    instead of hanging it. (The folder's fixture opens every pipe at its end, which lets such a thread
    go.)"""
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = call()
        except BaseException as exc:  # handed to the test's thread
            outcome["error"] = exc

    thread = threading.Thread(target=target, name="special-file-call", daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        pytest.fail(
            f"still waiting after {seconds} s: a read or write blocked on a file that is no regular file"
        )
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def make_special(path: Path, kind: str) -> None:
    """Put a named pipe (``kind`` "fifo") or a folder where the file ``path`` is."""
    if path.is_dir():
        shutil.rmtree(path)
    path.unlink(missing_ok=True)
    if kind == "fifo":
        os.mkfifo(path)
    else:
        path.mkdir()


def let_go(folder: Path) -> None:
    """Open and close every named pipe under ``folder`` (read and write, never waiting): a thread that a
    regression left waiting in one gets its end of file and finishes."""
    for path in folder.rglob("*"):
        if stat.S_ISFIFO(path.lstat().st_mode):
            os.close(os.open(path, os.O_RDWR | os.O_NONBLOCK))


def trained_template(tmp_path_factory, name: str) -> Path:
    """A runs folder holding ``good``: ring8, 20 steps, snapshots every 5, checkpoints at 10 and 20."""
    root = tmp_path_factory.mktemp(name) / "runs"
    cfg = GANConfig(**TINY, sample_every=5, checkpoint_every=10)
    runner = Runner(cfg, root, "good").start()
    assert runner.wait(TIMEOUT) and runner.status == "finished", runner.error
    return root


def good_and_bad(template: Path, tmp_path: Path) -> Path:
    """A test's runs folder: ``good`` and ``bad``, copies of ``template``'s run for the test to damage."""
    copy = tmp_path / "runs"
    shutil.copytree(template, copy)
    shutil.copytree(copy / "good", copy / "bad")
    return copy


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    return trained_template(tmp_path_factory, "special_template")


@pytest.fixture
def root(template, tmp_path) -> Path:
    """This test's runs folder (`good_and_bad`); its named pipes are let go at the end."""
    copy = good_and_bad(template, tmp_path)
    yield copy
    let_go(copy)


def rows_by_id(root: Path) -> dict[str, dict[str, Any]]:
    return {row["run_id"]: row for row in within(lambda: RunRegistry(root).summaries(unreadable=True))}


def assert_good_listed(row: dict[str, Any]) -> None:
    """``good``'s row as it is without any damage beside it."""
    assert (row["status"], row["step"], row["error"], row["problems"]) == ("finished", 20, "", "")
    assert set(row["last"]) >= {"d_loss", "g_loss", "d_acc_real", "d_acc_fake"}


def expected_listing(run_id: str, name: str, kind: str) -> tuple[str, str, str]:
    """(status, error, problems) of the listing's row of ``run_id``, whose ``name`` is of ``kind``."""
    what = f"not a regular file: {KINDS[kind]}"
    if name in ("run.json", "config.json"):  # what the run is cannot be known: the row is unreadable
        return "unreadable", f"run {run_id!r}: unreadable {name}: {what}", ""
    if name == "status.json":
        return "unknown", "", f"status.json cannot be read ({what})"
    return "finished", "", f"{name} is {what}"


# ---------------------------------------------------------------------------------------------- listing
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", TOP_FILES)
def test_the_listing_names_the_file_and_lists_the_other_runs(root, name, kind):
    make_special(root / "bad" / name, kind)
    rows = rows_by_id(root)
    assert sorted(rows) == ["bad", "good"]
    assert_good_listed(rows["good"])
    bad = rows["bad"]
    assert (bad["status"], bad["error"], bad["problems"]) == expected_listing("bad", name, kind)
    if name == "metrics.csv":  # its last values cannot be read
        assert bad["last"] == {} and bad["step"] == 20
    elif name in ("status.json", "events.csv"):
        assert bad["last"] == rows["good"]["last"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", TOP_FILES)
def test_a_view_names_the_file_or_says_why_it_cannot_be_opened(root, name, kind):
    make_special(root / "bad" / name, kind)
    registry = RunRegistry(root)
    what = f"not a regular file: {KINDS[kind]}"
    if name in ("run.json", "config.json", "metrics.csv"):  # nothing of the run can be shown without it
        with pytest.raises(RunDirError) as refused:
            within(lambda: registry.view("bad"))
        reason = (
            f"unreadable {name}: {what}" if name != "metrics.csv" else f"metrics.csv cannot be read ({what})"
        )
        assert str(refused.value) == f"run 'bad': {reason}"
    else:  # the run is shown without it, and says so
        view = within(lambda: registry.view("bad"))
        assert view.problems == [f"{name} cannot be read ({what})"]
        assert len(view.store) == 20  # every metric row is still read
        if name == "events.csv":
            assert view.events == [] and view.status == "finished"
        else:
            assert view.status == "unknown" and view.events
    good = within(lambda: registry.view("good"))
    assert good.problems == [] and len(good.store) == 20


def test_a_snapshot_that_is_no_file_is_named_and_the_others_are_shown(root):
    make_special(root / "bad" / "samples" / "step_00000005.npz", "fifo")
    make_special(root / "bad" / "samples" / "step_00000010.npz", "folder")
    view = within(lambda: RunRegistry(root).view("bad"))
    assert view.problems == [] and view.snapshot_steps() == [0, 5, 10, 15, 20]
    for step, kind in ((5, "a named pipe (FIFO)"), (10, "a folder")):
        with pytest.raises(RunDirError) as refused:
            within(lambda step=step: view.snapshot(step))
        assert str(refused.value) == (
            f"samples/step_{step:08d}.npz of run 'bad' is unreadable (not a regular file: {kind})"
        )
    step, shown = within(lambda: view.snapshot(15))
    assert step == 15 and shown["points"].shape[1] == 2


@pytest.mark.parametrize("kind", KINDS)
def test_a_real_view_that_is_no_file_is_left_out(root, kind):
    make_special(root / "bad" / "samples" / "real.npz", kind)
    assert within(lambda: RunRegistry(root).view("bad").real_view()) is None
    assert within(lambda: RunRegistry(root).view("good").real_view())["points"].shape[1] == 2


@pytest.mark.parametrize("kind", KINDS)
def test_a_checkpoint_that_is_no_file_is_refused_by_name(root, kind):
    run = RunDir.open(root, "bad")
    make_special(run.path / "checkpoints" / "step_00000010.pt", kind)
    with pytest.raises(RunDirError) as refused:
        within(lambda: run.load_checkpoint(run.path / "checkpoints" / "step_00000010.pt"))
    if kind == "folder":  # (said before it is opened: `load_checkpoint`)
        assert str(refused.value) == (
            "checkpoint step_00000010.pt of run 'bad' is a folder, not a file; allowed: a checkpoint file "
            "the run saved (step_NNNNNNNN.pt)"
        )
    else:
        assert str(refused.value) == (
            f"checkpoint step_00000010.pt of run 'bad' cannot be read (not a regular file: {KINDS[kind]})"
        )
    assert within(run.load_checkpoint)["step"] == 20  # the latest is a file: loaded as before


@pytest.mark.parametrize("kind", KINDS)
def test_a_lock_file_that_is_no_file_is_no_claim_and_cannot_be_claimed(root, kind):
    make_special(root / "bad" / ".lock", kind)
    rows = rows_by_id(root)
    assert (rows["bad"]["status"], rows["bad"]["problems"]) == ("finished", "")  # nobody holds it
    with pytest.raises(RunDirError) as refused:
        within(lambda: RunRegistry(root).resume("bad", {"steps": 30}))
    assert str(refused.value) == (
        f"run 'bad' cannot be claimed for writing: its .lock is not a regular file: {KINDS[kind]}"
    )


def test_a_command_file_that_is_a_pipe_is_no_command_and_the_next_one_replaces_it(root):
    run = RunDir.open(root, "bad")
    make_special(run.path / "commands.json", "fifo")
    poller = within(lambda: CommandPoller(run.path))
    assert within(lambda: poller.poll(force=True)) is None
    assert within(lambda: send_command(run, "pause")) == 1  # the pipe read as no command: seq 0
    assert (run.path / "commands.json").is_file()
    assert within(lambda: poller.poll(force=True)) == ("pause", "script")  # send_command's default


# ---------------------------------------------------------------------------------------------- writers
@pytest.mark.parametrize("kind", KINDS)
def test_appending_where_a_pipe_or_folder_sits_is_refused_by_name(root, kind):
    run = RunDir.open(root, "bad").claim("a test")
    try:
        make_special(run.path / "metrics.csv", kind)
        make_special(run.path / "events.csv", kind)
        with pytest.raises(RunDirError) as refused:
            within(lambda: run.open_metrics(CSV_COLUMNS))
        assert (
            str(refused.value) == f"run 'bad': metrics.csv cannot be read (not a regular file: {KINDS[kind]})"
        )
        with pytest.raises(RunDirError) as refused:
            within(lambda: run.append_event(20, "note", "a test"))
        assert str(refused.value) == f"run 'bad': cannot write events.csv: not a regular file: {KINDS[kind]}"
    finally:
        run.release()


def test_status_written_over_a_pipe_replaces_it(root):
    run = RunDir.open(root, "bad").claim("a test")
    try:
        make_special(run.path / "status.json", "fifo")
        within(lambda: run.write_status({"status": "stopped", "step": 20}))
    finally:
        run.release()
    assert (run.path / "status.json").is_file()
    assert {k: run.read_status()[k] for k in ("status", "step")} == {"status": "stopped", "step": 20}


@pytest.mark.parametrize("kind", KINDS)
def test_a_resume_over_a_metrics_pipe_is_refused_and_writes_nothing(root, kind):
    make_special(root / "bad" / "metrics.csv", kind)
    before = sorted(p.relative_to(root).as_posix() for p in (root / "bad").rglob("*"))
    with pytest.raises(RunDirError) as refused:
        within(lambda: RunRegistry(root).resume("bad", {"steps": 30}))
    assert str(refused.value) == f"run 'bad': metrics.csv cannot be read (not a regular file: {KINDS[kind]})"
    assert sorted(p.relative_to(root).as_posix() for p in (root / "bad").rglob("*")) == before
    assert RunDir.open(root, "bad").read_status()["status"] == "finished"


# ---------------------------------------------------------------------------------------------- CLI, pages
FIFO = "not a regular file: a named pipe (FIFO)"


def cannot_be_opened(run_id: str, name: str) -> str:
    """The error a page shows for run ``run_id``, whose ``name`` (read whole to show it) is a pipe."""
    message = f"run {run_id!r}: {name} cannot be read ({FIFO})"
    return f"Run {literal(repr(run_id))} cannot be opened: {literal(message)}"


@pytest.fixture
def every_kind(template, tmp_path, monkeypatch) -> Path:
    """A runs folder holding ``good`` and one copy of it per top-level file and kind, named
    ``<kind>-<file>`` (``fifo-status.json``), with that file a named pipe or a folder; the app's runs
    folder (GAN_DASHBOARD_RUNS) for the test."""
    root = tmp_path / "runs"
    shutil.copytree(template, root)
    for kind in KINDS:
        for name in TOP_FILES:
            shutil.copytree(root / "good", root / f"{kind}-{name}")
            make_special(root / f"{kind}-{name}" / name, kind)
    monkeypatch.setenv(RUNS_ENV, str(root))
    yield root
    let_go(root)


def drawn(page: Any) -> AppTest:
    """``page.run()`` (an `AppTest`, or a widget of one after a change) under `within`: a script run that
    waits on a named pipe outlasts AppTest's own timeout, which stops the script and then joins it."""
    return within(page.run, TIMEOUT)


def test_the_runs_command_lists_every_run_with_what_is_wrong(every_kind):
    try:
        done = subprocess.run(
            [sys.executable, "-m", "gan_core", "runs", "--json", str(every_kind)],
            cwd=APP_DIR,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"`python -m gan_core runs` still running after {TIMEOUT} s")
    assert done.returncode == 0, done.stderr
    rows = {row["run_id"]: row for row in json.loads(done.stdout)}
    assert len(rows) == 1 + len(KINDS) * len(TOP_FILES)
    assert_good_listed(rows["good"])
    for kind in KINDS:
        for name in TOP_FILES:
            run_id = f"{kind}-{name}"
            row = rows[run_id]
            assert (row["status"], row["error"], row["problems"]) == expected_listing(run_id, name, kind)


def test_the_runs_page_lists_every_run_and_names_the_file_of_the_one_picked(every_kind):
    at = drawn(AppTest.from_file(str(APP_DIR / "pages" / "1_Runs.py"), default_timeout=TIMEOUT))
    assert not at.exception
    table = at.dataframe(key="runs_table").value
    assert len(table) == 1 + len(KINDS) * len(TOP_FILES)
    listed = table.set_index("run_id")
    for kind in KINDS:
        for name in TOP_FILES:
            run_id = f"{kind}-{name}"
            status, error, problems = expected_listing(run_id, name, kind)
            assert (listed.at[run_id, "status"], listed.at[run_id, "error"]) == (status, error)
            assert listed.at[run_id, "problems"] == problems

    drawn(at.selectbox(key="runs_pick").select("fifo-metrics.csv"))
    assert not at.exception
    assert [e.value for e in at.error] == [cannot_be_opened("fifo-metrics.csv", "metrics.csv")]
    drawn(at.selectbox(key="runs_pick").select("fifo-status.json"))
    assert not at.exception and not at.error
    assert [w.value for w in at.warning] == [literal(f"status.json cannot be read ({FIFO})")]


def test_the_compare_page_shows_the_runs_it_can_and_names_the_file_of_the_others(every_kind):
    at = drawn(AppTest.from_file(str(APP_DIR / "pages" / "2_Compare.py"), default_timeout=TIMEOUT))
    assert not at.exception
    drawn(at.multiselect(key="cmp_runs").set_value(["good", "fifo-metrics.csv", "fifo-events.csv"]))
    assert not at.exception
    assert [e.value for e in at.error] == [cannot_be_opened("fifo-metrics.csv", "metrics.csv")]
    assert [w.value for w in at.warning] == [
        f"{literal('fifo-events.csv')}: {literal(f'events.csv cannot be read ({FIFO})')}"
    ]
    assert any(key.startswith("cmp_chart_") for key in (c.key or "" for c in at.get("bidi_component")))
