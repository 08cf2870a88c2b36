"""A run's notes: free text kept in its folder's notes.txt (`RunDir.write_notes`, `checked_notes`), written
under the folder's claim (`RunRegistry.set_notes`), read by the listing, the views and Compare, found by
the runs filter, and given from the command line (``train --notes``, ``notes RUN``) and the tracking API
(``init(notes=...)``, ``run.notes``)."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import threading
import time

import pytest

import gan_core.track as track
from gan_core.config import GANConfig
from gan_core.registry import RegistryError, RunRegistry, compare_summary, filter_runs
from gan_core.rundir import (
    MAX_NOTES_CHARS,
    NOTES_NAME,
    NotesChangedError,
    RunBusyError,
    RunDir,
    RunDirError,
    UnclaimedError,
    checked_notes,
    lock_holder,
    notes_line,
)
from gan_core.runner import Runner
from tests.conftest import APP_DIR, claimed_elsewhere
from tests.test_track import ToyGAN

TINY = dict(dataset="ring8", width=16, latent_dim=4, batch_size=16, device="cpu", sample_every=5)
TIMEOUT = 60


def finished_run(root, run_id, **overrides) -> Runner:
    runner = Runner(GANConfig(**{**TINY, "steps": 10, **overrides}), root, run_id).start()
    assert runner.wait(TIMEOUT) and runner.status == "finished"
    return runner


# ---------------------------------------------------------------------------------------- the text itself
def test_notes_are_kept_with_unix_line_ends_and_without_surrounding_blank_space():
    assert checked_notes("  lr 2e-4\r\nD leads\rat 1,200\n\n") == "lr 2e-4\nD leads\nat 1,200"
    assert checked_notes("a\tb") == "a\tb"  # a tab is kept
    assert checked_notes(" \n\t ") == ""  # blank: no notes
    family = (
        "G collapsed 👨\u200d👩\u200d👧 modes"  # (an emoji's zero-width joiners are no control characters)
    )
    assert checked_notes(family) == family


def test_notes_up_to_the_limit_are_kept_and_one_character_more_is_refused():
    assert len(checked_notes("x" * MAX_NOTES_CHARS)) == MAX_NOTES_CHARS
    with pytest.raises(RunDirError, match=r"10,001 characters long; allowed: at most 10,000"):
        checked_notes("x" * (MAX_NOTES_CHARS + 1))


@pytest.mark.parametrize(("text", "code", "at"), [("red \x1b[31m", "001B", 5), ("nul\x00", "0000", 4)])
def test_a_control_character_is_refused_naming_it_and_where_it_is(text, code, at):
    with pytest.raises(
        RunDirError, match=rf"control character U\+{code} at character {at}; allowed: printable"
    ):
        checked_notes(text)


def test_notes_that_are_no_text_are_refused():
    with pytest.raises(RunDirError, match="notes must be text, got int"):
        checked_notes(3)


def test_a_notes_line_is_the_first_line_that_is_not_blank_cut_with_an_ellipsis():
    assert notes_line("") == ""
    assert notes_line("\n  one  \ntwo") == "one …"  # more lines: said
    assert notes_line("only") == "only"
    assert notes_line("abcdefghij", limit=6) == "abcde…"
    assert notes_line("abcdef", limit=6) == "abcdef"
    assert notes_line("abcdef\nmore", limit=6) == "abcde…"  # (" …" would pass the limit)
    assert notes_line("abcd\nmore", limit=6) == "abcd …"


# ---------------------------------------------------------------------------------------- the run folder
def test_notes_are_written_under_the_claim_read_back_and_removed_by_empty_text(tmp_path):
    finished_run(tmp_path, "r")
    run = RunDir.open(tmp_path, "r")
    assert run.read_notes() == ""
    with pytest.raises(UnclaimedError, match="written without the folder's claim"):
        run.write_notes("no claim")
    assert not (run.path / NOTES_NAME).exists()
    run.claim("test")
    try:
        assert run.write_notes(" first try\r\n") == "first try"
        assert (run.path / NOTES_NAME).read_bytes() == b"first try\n"
        assert RunDir.open(tmp_path, "r").read_notes() == "first try"
        with pytest.raises(RunDirError, match="control character"):
            run.write_notes("bad \x07")
        assert run.read_notes() == "first try"  # refused: the notes kept are untouched
        assert run.write_notes("") == ""
        assert not (run.path / NOTES_NAME).exists()
        assert run.write_notes("") == ""  # (none to remove: no error)
    finally:
        run.release()


@pytest.mark.parametrize(
    ("content", "said"),
    [
        (b"\xff\xfe notes", "notes.txt is not UTF-8 text (byte 0)"),
        (b"beep \x07", "notes.txt: notes hold the control character U+0007"),
        (b"x" * (MAX_NOTES_CHARS + 1), "notes.txt: notes are 10,001 characters long"),
        (b"x" * 50_000, "notes.txt is 50,000 bytes, more than 10,000 characters take"),
        ("é".encode() * 20_001, "notes.txt is 40,002 bytes, more than 10,000 characters take"),
    ],
)
def test_a_damaged_notes_file_is_named_in_the_listing_and_the_run_is_still_listed(tmp_path, content, said):
    finished_run(tmp_path, "r")
    (tmp_path / "r" / NOTES_NAME).write_bytes(content)
    with pytest.raises(RunDirError, match=re.escape(f"run 'r': {said}")):
        RunDir.open(tmp_path, "r").read_notes()
    (row,) = RunRegistry(tmp_path).summaries()
    assert row["status"] == "finished" and row["notes"] == ""
    assert said in row["problems"] and "run 'r'" not in row["problems"]
    notes, problem = RunRegistry(tmp_path).view("r").notes_read()
    assert notes == "" and said in problem


def test_a_notes_file_that_is_a_named_pipe_is_never_opened(tmp_path):
    finished_run(tmp_path, "r")
    os.mkfifo(tmp_path / "r" / NOTES_NAME)
    with pytest.raises(RunDirError, match="notes.txt cannot be read"):
        RunDir.open(tmp_path, "r").read_notes()  # (opening a pipe for reading would wait for a writer)


# ---------------------------------------------------------------------------------------- the registry
def test_set_notes_claims_an_ended_run_for_the_write_and_gives_the_claim_back(tmp_path):
    finished_run(tmp_path, "r")
    registry = RunRegistry(tmp_path)
    view = registry.view("r")
    assert view.notes == ""
    assert registry.set_notes("r", "baseline\r\nD leads at 5  ") == "baseline\nD leads at 5"
    assert lock_holder(tmp_path / "r") is None  # released
    assert view.notes == "baseline\nD leads at 5"  # (the same view: notes are read when asked)
    (row,) = registry.summaries()
    assert row["notes"] == "baseline\nD leads at 5"
    assert registry.set_notes("r", "") == "" and registry.summaries()[0]["notes"] == ""


def test_set_notes_is_refused_while_another_process_writes_the_run_and_nothing_is_written(tmp_path):
    finished_run(tmp_path, "r")
    registry = RunRegistry(tmp_path)
    registry.set_notes("r", "before")
    with claimed_elsewhere(tmp_path / "r") as holder:
        with pytest.raises(RegistryError) as refused:
            registry.set_notes("r", "after")
        said = str(refused.value)
        assert said.startswith(f"cannot change the notes of run 'r' now: process {holder.pid} on ")
        assert "writes the run, and only one process writes a run folder at a time." in said
        # (its holder is a script of its own: where notes are set then)
        assert said.endswith(
            "It takes no notes from here: set them there (run.notes = ... in a loop), or here once it ends."
        )
    assert RunDir.open(tmp_path, "r").read_notes() == "before"
    assert registry.set_notes("r", "after") == "after"  # once it let go


def test_set_notes_refuses_text_that_is_not_allowed_before_claiming(tmp_path):
    finished_run(tmp_path, "r")
    # (the text's refusal is said, not the holder's)
    with claimed_elsewhere(tmp_path / "r"), pytest.raises(RunDirError, match="control character U\\+001B"):
        RunRegistry(tmp_path).set_notes("r", "\x1b[2J")
    with pytest.raises(RunDirError, match="no run 'gone'|does not exist|no such run|not found"):
        RunRegistry(tmp_path).set_notes("gone", "x")


def test_notes_of_a_run_that_trains_here_are_written_under_its_runners_claim(tmp_path):
    registry = RunRegistry(tmp_path)
    runner = registry.start(GANConfig(**{**TINY, "steps": 0}), run_id="live")  # open-ended: trains on
    try:
        assert runner.run_dir.claimed
        assert registry.set_notes("live", "written while it trains") == "written while it trains"
        assert runner.run_dir.claimed  # the runner keeps its claim
        assert registry.view("live").notes == "written while it trains"
    finally:
        runner.stop()
        assert runner.wait(TIMEOUT)
    assert lock_holder(tmp_path / "live") is None
    assert registry.set_notes("live", "after it ended") == "after it ended"  # claimed for the write now


def test_notes_written_as_the_run_here_ends_land_under_its_claim_or_one_of_their_own(tmp_path):
    """The page's thread writes notes while the training thread ends the run and gives its claim up:
    every write lands, under the runner's claim while it holds it, else under one taken for the write
    (a write that found the claim gone is retried so), none refused."""
    registry = RunRegistry(tmp_path)
    runner = registry.start(GANConfig(**{**TINY, "steps": 0}), run_id="ending")
    ended = threading.Event()
    written, errors = [], []

    def write() -> None:
        after = 0
        while after < 20:  # until 20 writes after the run ended
            after += ended.is_set()
            try:
                written.append(registry.set_notes("ending", f"note {len(written)}"))
            except Exception as exc:  # (never: the claim is this process's, or free)
                errors.append(exc)
                return

    writer = threading.Thread(target=write)
    writer.start()
    runner.stop()
    assert runner.wait(TIMEOUT)
    ended.set()
    writer.join(TIMEOUT)
    assert errors == [] and len(written) >= 20
    assert RunDir.open(tmp_path, "ending").read_notes() == written[-1] == f"note {len(written) - 1}"
    assert lock_holder(tmp_path / "ending") is None


def test_the_filter_finds_a_word_of_the_notes_and_compare_shows_their_first_line(tmp_path):
    finished_run(tmp_path, "a")
    finished_run(tmp_path, "b", seed=1)
    registry = RunRegistry(tmp_path)
    registry.set_notes("a", "Baseline\nD overpowers G by step 8")
    rows = registry.summaries()
    assert [row["run_id"] for row in filter_runs(rows, "overpowers")] == ["a"]
    assert [row["run_id"] for row in filter_runs(rows, "BASELINE ring8")] == ["a"]  # case apart, with others
    assert filter_runs(rows, "baseline seed=1") == []
    table = compare_summary({run_id: registry.view(run_id) for run_id in ("a", "b")})
    assert table["notes"].tolist() == ["Baseline …", ""]


# ---------------------------------------------------------------------------------------- the tracking API
def test_init_keeps_notes_and_run_notes_replaces_them_until_finish(tmp_path):
    gan = ToyGAN()
    run = track.init("mine", root=tmp_path, real=gan.real, steps=3, notes="first try\r\n")
    assert run.notes == "first try"
    assert (tmp_path / "mine" / NOTES_NAME).read_text() == "first try\n"
    while not run.should_stop:
        gan.step(run)
    run.notes = "collapsed at step 2"
    assert RunDir.open(tmp_path, "mine").read_notes() == "collapsed at step 2"
    with pytest.raises(track.TrackingError, match="control character U\\+001B"):
        run.notes = "\x1b[31m"
    assert run.notes == "collapsed at step 2"
    run.finish()
    with pytest.raises(track.TrackingError, match="cannot be set after finish.*gan_core notes mine TEXT"):
        run.notes = "late"
    assert RunRegistry(tmp_path).set_notes("mine", "from the dashboard") == "from the dashboard"


def test_a_resumed_run_keeps_its_notes_unless_given_new_ones(tmp_path):
    gan = ToyGAN()
    with track.init("r", root=tmp_path, real=gan.real, steps=2, notes="kept") as run:
        while not run.should_stop:
            gan.step(run)
    with track.init("r", root=tmp_path, real=gan.real, steps=4, resume=True) as run:
        assert run.notes == "kept"
        gan.step(run)
    with track.init("r", root=tmp_path, real=gan.real, steps=6, resume=True, notes="") as run:
        assert run.notes == ""
    assert not (tmp_path / "r" / NOTES_NAME).exists()


def test_init_refuses_notes_that_are_not_allowed_before_making_a_folder(tmp_path):
    with pytest.raises(track.TrackingError, match="notes are 10,001 characters long"):
        track.init("never", root=tmp_path, notes="x" * (MAX_NOTES_CHARS + 1))
    assert not (tmp_path / "never").exists()


# ---------------------------------------------------------------------------------------- the command line
def test_train_notes_and_the_notes_command_print_set_append_and_clear(tmp_path, cli, monkeypatch):
    monkeypatch.setenv("GAN_DASHBOARD_RUNS", str(tmp_path))
    made = cli(
        "train", "--dataset", "ring8", "--steps", "5", "--width", "16", "--batch-size", "16",
        "--quiet", "--out", str(tmp_path), "--run-id", "c", "--notes", "from the terminal\r\nlr 1e-3",
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert (tmp_path / "c" / NOTES_NAME).read_text() == "from the terminal\nlr 1e-3\n"
    shown = cli("notes", "c")
    assert (shown.returncode, shown.stdout) == (0, "from the terminal\nlr 1e-3\n")
    added = cli("notes", str(tmp_path / "c"), "--append", "collapsed at 4")  # (by its path too)
    assert added.returncode == 0 and added.stderr == "run 'c': notes set (40 characters)\n"
    assert cli("notes", "c").stdout == "from the terminal\nlr 1e-3\ncollapsed at 4\n"
    listed = cli("runs", str(tmp_path))
    assert "    notes: from the terminal …" in listed.stdout.splitlines()
    rows = json.loads(cli("runs", str(tmp_path), "--json").stdout)
    assert [row["notes"] for row in rows] == ["from the terminal\nlr 1e-3\ncollapsed at 4"]
    cleared = cli("notes", "c", "")
    assert cleared.returncode == 0 and cleared.stderr == "run 'c': notes removed\n"
    shown = cli("notes", "c")
    assert (shown.returncode, shown.stdout) == (0, "")  # (nothing to a file: `notes c > notes.txt`)
    assert shown.stderr == "run 'c' has no notes; to set them: python -m gan_core notes c TEXT\n"
    assert "notes:" not in cli("runs", str(tmp_path)).stdout


def test_the_notes_command_says_what_is_wrong_in_one_line(tmp_path, cli, monkeypatch):
    monkeypatch.setenv("GAN_DASHBOARD_RUNS", str(tmp_path))
    finished_run(tmp_path, "c")
    both = cli("notes", "c", "a", "--append", "b")
    assert both.returncode == 2 and both.stderr == (
        "error: give TEXT (the new notes) or --append TEXT (added to them), not both\n"
    )
    bad = cli("notes", "c", "\x1b[2J")
    assert bad.returncode == 2 and "control character U+001B at character 1" in bad.stderr
    assert bad.stderr.count("\n") == 1
    with claimed_elsewhere(tmp_path / "c"):
        busy = cli("notes", "c", "x")
    assert busy.returncode == 2 and busy.stderr.startswith("error: cannot change the notes of run 'c' now")
    assert RunDir.open(tmp_path, "c").read_notes() == ""
    refused = cli(
        "train", "--dataset", "ring8", "--steps", "5", "--quiet", "--out", str(tmp_path), "--run-id", "n",
        "--notes", "\x07",
    )  # fmt: skip
    assert refused.returncode == 2 and "U+0007" in refused.stderr
    assert not (tmp_path / "n").exists()  # said before a folder is made


def test_notes_read_from_standard_input(tmp_path, cli, monkeypatch):
    finished_run(tmp_path, "c")
    monkeypatch.setattr("sys.stdin", io.StringIO("piped\nnotes\n"))
    assert cli("notes", str(tmp_path / "c"), "-").returncode == 0
    assert RunDir.open(tmp_path, "c").read_notes() == "piped\nnotes"


def test_the_lightning_callback_takes_notes_and_refuses_bad_ones_where_it_is_made():
    from gan_core.tracking.lightning import GANTrackingCallback

    assert GANTrackingCallback("l", notes="a Lightning run").init_options == {"notes": "a Lightning run"}
    with pytest.raises(track.TrackingError, match="GANTrackingCallback: notes hold the control character"):
        GANTrackingCallback("l", notes="\x1b[0m")


# ---------------------------------------------------------------------------------------- after a review
def test_a_symlinked_notes_file_is_never_followed(tmp_path):
    finished_run(tmp_path / "runs", "r")
    secret = tmp_path / "secret.txt"
    secret.write_text("outside the runs folder")
    (tmp_path / "runs" / "r" / NOTES_NAME).symlink_to(secret)
    with pytest.raises(RunDirError, match="notes.txt is a symlink, which is never followed"):
        RunDir.open(tmp_path / "runs", "r").read_notes()
    (row,) = RunRegistry(tmp_path / "runs").summaries()
    assert row["notes"] == "" and "outside" not in str(row)
    with pytest.raises(RunDirError, match="it is kept as it is, not written over: move it out"):
        RunRegistry(tmp_path / "runs").set_notes("r", "mine")
    assert secret.read_text() == "outside the runs folder"
    assert (tmp_path / "runs" / "r" / NOTES_NAME).is_symlink()  # (nothing written, nothing lost)


def test_a_byte_order_mark_is_dropped_and_a_lone_surrogate_refused(tmp_path):
    finished_run(tmp_path, "r")
    (tmp_path / "r" / NOTES_NAME).write_bytes(b"\xef\xbb\xbfwritten in Notepad\r\n")
    assert RunDir.open(tmp_path, "r").read_notes() == "written in Notepad"
    with pytest.raises(RunDirError, match=r"U\+DCFF at character 4, half of a character.*allowed: UTF-8"):
        RunRegistry(tmp_path).set_notes("r", "bad\udcff")
    with pytest.raises(track.TrackingError, match=r"U\+D800"):
        track.init("t", root=tmp_path, notes="\ud800")


def test_an_append_adds_a_line_under_the_claim_and_a_blank_one_is_refused(tmp_path):
    finished_run(tmp_path, "r")
    registry = RunRegistry(tmp_path)
    assert registry.set_notes("r", "first", append=True) == "first"  # (none there: the text alone)
    assert registry.set_notes("r", "  second\n", append=True) == "first\nsecond"
    with pytest.raises(RunDirError, match="nothing to append: the text is blank"):
        registry.set_notes("r", " \n ", append=True)
    registry.set_notes("r", "x" * (MAX_NOTES_CHARS - 5))
    with pytest.raises(RunDirError, match=r"would be 10,001 characters long \(9,995 there, 5 added"):
        registry.set_notes("r", "12345", append=True)
    assert len(RunDir.open(tmp_path, "r").read_notes()) == MAX_NOTES_CHARS - 5  # untouched


def test_appends_from_two_threads_both_land(tmp_path):
    finished_run(tmp_path, "r")
    registry, other = RunRegistry(tmp_path), RunRegistry(tmp_path)  # (two servers, in effect)
    errors: list[Exception] = []

    def add(reg: RunRegistry, who: str) -> None:
        for i in range(30):
            try:
                reg.set_notes("r", f"{who} {i}", append=True)
            except RegistryError:  # the other holds the claim for an instant: tried again
                try:
                    reg.set_notes("r", f"{who} {i}", append=True)
                except Exception as exc:
                    errors.append(exc)

    threads = [threading.Thread(target=add, args=(reg, who)) for reg, who in ((registry, "a"), (other, "b"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT)
    lines = RunDir.open(tmp_path, "r").read_notes().splitlines()
    assert errors == []
    assert sorted(lines) == sorted([f"a {i}" for i in range(30)] + [f"b {i}" for i in range(30)])


def test_notes_changed_since_an_edit_began_are_not_overwritten(tmp_path):
    finished_run(tmp_path, "r")
    registry = RunRegistry(tmp_path)
    registry.set_notes("r", "from the page")
    registry.set_notes("r", "from a terminal")  # meanwhile
    with pytest.raises(NotesChangedError) as changed:
        registry.set_notes("r", "the page's edit", expected="from the page")
    assert changed.value.current == "from a terminal"
    assert "were changed elsewhere (another tab, a terminal) since this edit began" in str(changed.value)
    assert RunDir.open(tmp_path, "r").read_notes() == "from a terminal"
    assert registry.set_notes("r", "the page's edit", expected="from a terminal") == "the page's edit"


def test_the_notes_command_refuses_empty_standard_input_and_says_one_character(tmp_path, cli, monkeypatch):
    finished_run(tmp_path, "c")
    RunRegistry(tmp_path).set_notes("c", "kept")
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    empty = cli("notes", str(tmp_path / "c"), "-")
    assert empty.returncode == 2 and "standard input held no text" in empty.stderr
    assert RunDir.open(tmp_path, "c").read_notes() == "kept"
    blank = cli("notes", str(tmp_path / "c"), "--append", "  ")
    assert blank.returncode == 2 and blank.stderr == (
        "error: nothing to append: the text is blank; allowed: text with a non-blank character\n"
    )
    one = cli("notes", str(tmp_path / "c"), "x")
    assert one.stderr == "run 'c': notes set (1 character)\n"
    (tmp_path / "c" / NOTES_NAME).write_text("tab\there \u202eevil")
    shown = cli("notes", str(tmp_path / "c"))
    assert shown.stdout == "tab\there \\u202eevil\n"  # (a bidi control written out; the tab kept)


def test_a_train_whose_notes_cannot_be_written_leaves_no_folder(tmp_path, cli, monkeypatch):
    from gan_core.rundir import RunDir as Folder

    def fail(self, text):
        raise RunDirError(f"run {self.run_id!r}: cannot write notes.txt: No space left on device")

    monkeypatch.setattr(Folder, "write_notes", fail)
    made = cli("train", "--dataset", "ring8", "--steps", "3", "--quiet", "--out", str(tmp_path),
               "--run-id", "n", "--notes", "fine text")  # fmt: skip
    assert made.returncode == 2 and "No space left on device" in made.stderr
    assert not (tmp_path / "n").exists()


# ------------------------------------------------------------------------------- a run another process writes
def wait_for_status(folder, wanted: str, timeout: float = TIMEOUT) -> dict:
    """status.json of ``folder`` once it reads ``wanted`` (polled: another thread or process writes it)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = RunDir.from_path(folder).read_status() if (folder / "status.json").exists() else {}
        if status.get("status") == wanted:
            return status
        time.sleep(0.05)
    raise AssertionError(f"{folder} never read {wanted}")


class LoopInAThread:
    """A user's loop through `gan_core.track`, open-ended, stepping in a thread of this process until
    stopped: it holds the run folder's claim, as a loop in another process would (flock is per open
    file), and answers notes requests between its steps."""

    def __init__(self, root, run_id: str):
        self.gan = ToyGAN()
        self.run = track.init(run_id, root=root, real=self.gan.real, steps=0, commit_every=0)
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._loop)

    def _loop(self) -> None:
        while not self.done.is_set() and not self.run.should_stop:
            self.gan.step(self.run)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.done.set()
        self.thread.join(TIMEOUT)
        self.run.finish()


def test_notes_of_a_run_a_loop_writes_are_sent_to_it_and_written_by_it(tmp_path):
    registry = RunRegistry(tmp_path)
    with LoopInAThread(tmp_path, "loop") as loop:
        status = wait_for_status(tmp_path / "loop", "running")
        assert status["notes_requests"] is True
        assert registry.view("loop").notes_writable
        with pytest.raises(RunBusyError):  # (the loop holds the folder: nobody else writes it)
            RunDir.open(tmp_path, "loop").claim("test", wait=0)
        assert registry.set_notes("loop", "sent while it trains\r\n") == "sent while it trains"
        assert registry.set_notes("loop", "and a line", append=True) == "sent while it trains\nand a line"
        assert loop.run.notes == "sent while it trains\nand a line"
        with pytest.raises(NotesChangedError) as changed:
            registry.set_notes("loop", "stale edit", expected="sent while it trains")
        assert changed.value.current == "sent while it trains\nand a line"
        answer = RunDir.open(tmp_path, "loop").read_status()["notes_request"]
        assert answer["changed"] is True and "changed elsewhere" in answer["error"]
        # paused, it still answers (its loop waits in g_step, looking at its files)
        assert registry.view("loop").control("pause")
        wait_for_status(tmp_path / "loop", "paused")
        assert registry.set_notes("loop", "written while paused") == "written while paused"
        assert registry.view("loop").control("resume")
    assert RunDir.open(tmp_path, "loop").read_notes() == "written while paused"
    events = [e["kind"] for e in registry.view("loop").events]
    assert "command" in events and "notes" not in events  # (notes are no event of the run's history)


def test_notes_of_a_terminals_train_are_sent_to_it(tmp_path, cli):
    proc = subprocess.Popen(
        [sys.executable, "-m", "gan_core", "train", "--dataset", "ring8", "--steps", "0", "--width", "16",
         "--batch-size", "16", "--quiet", "--out", str(tmp_path), "--run-id", "t", "--notes", "at start"],
        cwd=APP_DIR, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        wait_for_status(tmp_path / "t", "running")
        assert RunDir.open(tmp_path, "t").read_notes() == "at start"
        added = cli("notes", str(tmp_path / "t"), "--append", "from a second terminal")
        assert added.returncode == 0, added.stderr
        assert added.stderr == "run 't': notes set (31 characters)\n"
    finally:
        proc.terminate()
        proc.wait(TIMEOUT)
    assert RunDir.open(tmp_path, "t").read_notes() == "at start\nfrom a second terminal"


def test_a_writer_that_does_not_answer_in_time_is_said_and_one_that_takes_no_requests_refused(tmp_path):
    finished_run(tmp_path, "r")
    folder = RunDir.open(tmp_path, "r")
    with claimed_elsewhere(tmp_path / "r"):
        # the holder reads no requests, while status.json says a live writer does: no answer comes
        status = folder.read_status()
        (tmp_path / "r" / "status.json").write_text(
            json.dumps({**status, "status": "running", "notes_requests": True})
        )
        with pytest.raises(RegistryError, match=r"has not taken them within 0\.3 s \(a long step\?\)"):
            RunRegistry(tmp_path).set_notes("r", "waiting", timeout=0.3)
        (tmp_path / "r" / "status.json").write_text(json.dumps({**status, "status": "running"}))
        with pytest.raises(RegistryError, match="only one process writes a run folder at a time"):
            RunRegistry(tmp_path).set_notes("r", "refused")
    assert folder.read_notes() == ""


def test_a_malformed_notes_request_is_answered_with_its_error(tmp_path):
    from gan_core.tracking.commands import NOTES_REQUEST_NAME, CommandPoller, answer_notes

    finished_run(tmp_path, "r")
    run_dir = RunDir.open(tmp_path, "r").claim("test")
    try:
        poller = CommandPoller(run_dir.path, interval=0)
        (run_dir.path / NOTES_REQUEST_NAME).write_text(json.dumps({"seq": 1, "text": 3, "append": False}))
        assert poller.poll(force=True) is None and poller.notes["seq"] == 1
        answer = answer_notes(run_dir, poller.notes)
        malformed = "notes_request.json is malformed: its text, append or expected"
        assert answer == {"seq": 1, "id": None, "changed": False, "error": malformed}
        bad = {"seq": 2, "text": "\x1b", "append": False, "expected": None}
        assert "control character U+001B" in answer_notes(run_dir, bad)["error"]
        assert run_dir.read_notes() == ""
    finally:
        run_dir.release()


def test_notes_that_cannot_be_read_are_never_written_over(tmp_path):
    """A review: an append over a notes.txt in Latin-1 returned the appended line alone, the old text gone."""
    finished_run(tmp_path, "r")
    (tmp_path / "r" / NOTES_NAME).write_bytes("caf\xe9 au lait".encode("latin-1"))
    for append in (False, True):
        with pytest.raises(RunDirError, match=r"not UTF-8 text \(byte 3\); it is kept as it is"):
            RunRegistry(tmp_path).set_notes("r", "one more line", append=append)
    assert (tmp_path / "r" / NOTES_NAME).read_bytes() == "caf\xe9 au lait".encode("latin-1")


def test_two_requests_under_one_sequence_number_are_told_apart_by_their_id(tmp_path):
    """Two senders that read one seq and both wrote the next: the writer takes the file there, the later,
    and answers it by its id (the earlier's sender is not told it saved)."""
    from gan_core.tracking.commands import CommandPoller, answer_notes, send_notes

    finished_run(tmp_path, "r")
    run_dir = RunDir.open(tmp_path, "r").claim("test")
    try:
        poller = CommandPoller(run_dir.path, interval=0)
        first = send_notes(run_dir, "from A")
        assert poller.poll(force=True) is None and poller.notes["id"] == first
        answer = answer_notes(run_dir, poller.notes)
        assert answer["id"] == first and answer["error"] is None
        poller.notes = None
        # B read seq 1 before A's was written, and writes seq 1 too
        request = json.loads((run_dir.path / "notes_request.json").read_text())
        (run_dir.path / "notes_request.json").write_text(json.dumps({**request, "id": "b", "text": "from B"}))
        poller.poll(force=True)
        assert poller.notes is not None and poller.notes["id"] == "b"  # a new request, though seq 1
        assert answer_notes(run_dir, poller.notes)["id"] == "b"
        poller.notes = None
        assert poller.poll(force=True) is None and poller.notes is None  # (and once only)
        assert run_dir.read_notes() == "from B"
    finally:
        run_dir.release()


def test_notes_sent_to_a_writer_that_ends_without_taking_them_are_written_by_the_sender(tmp_path):
    """A review: a request arriving as the writer ended was never taken, and the page said it would be."""
    finished_run(tmp_path, "r")
    folder = tmp_path / "r"
    status = json.loads((folder / "status.json").read_text())
    with claimed_elsewhere(folder) as holder:
        # it says it takes requests, and ends before it looks
        (folder / "status.json").write_text(
            json.dumps({**status, "status": "running", "notes_requests": True})
        )
        ended = threading.Timer(0.5, holder.stdin.close)
        ended.start()
        try:
            assert RunRegistry(tmp_path).set_notes("r", "kept anyway", timeout=TIMEOUT) == "kept anyway"
        finally:
            ended.cancel()
    assert RunDir.open(tmp_path, "r").read_notes() == "kept anyway"
    assert lock_holder(folder) is None
