"""How a tracked loop of the user's own ends on a signal: Ctrl-C (SIGINT) and SIGTERM (what `timeout`,
Slurm, Kubernetes and `kill` send) end the run ``stopped`` with every step's row written, with `with run:`
or without it; a SIGTERM handler of the user's own is kept. Each loop runs in a child process, which prints
``ready`` after a few steps; the signal is sent once the parent has read that line."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from gan_core.rundir import RunDir

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 60.0
READY_AT = 20  # the steps the child takes before it prints "ready"

# The child starts from Python's own signal dispositions (a test runner may have ignored SIGINT), and
# commits its rows once a minute: every row still waiting in its batch when the signal comes is lost
# unless the run is finished.
LOOP = """
import signal, sys
signal.signal(signal.SIGINT, signal.default_int_handler)
signal.signal(signal.SIGTERM, signal.SIG_DFL)
sys.path.insert(0, {root!r})
from tests.test_track import ToyGAN
import gan_core.track as track
{before}
gan = ToyGAN()
run = track.init("loop", root={out!r}, commit_every=60)
{body}
"""
PLAIN = """
step = 0
while True:
    gan.step(run)
    step += 1
    if step == {ready}:
        print("ready", flush=True)
"""
WITH = "with run:\n" + "".join(f"    {line}\n" for line in PLAIN.strip().splitlines())


def signalled(tmp_path: Path, sig: int, body: str, before: str = "") -> subprocess.CompletedProcess:
    """Run the loop ``body`` in a child, send ``sig`` once it says ``ready``; its exit and output."""
    code = LOOP.format(root=str(ROOT), out=str(tmp_path), before=before, body=body.format(ready=READY_AT))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-c", code], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        first = ""
        while not first.endswith("ready\n"):  # until the child has taken READY_AT steps
            line = proc.stdout.readline()
            assert line, proc.communicate(timeout=TIMEOUT)[1]  # it ended before: its error
            first += line
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return subprocess.CompletedProcess(proc.args, proc.returncode, first + out, err)


def assert_every_row_kept(tmp_path: Path) -> dict:
    """The run's status.json, after checking that metrics.csv holds a row for each step it took."""
    run_dir = RunDir.open(tmp_path, "loop")
    status = run_dir.read_status()
    frame, problems = run_dir.read_metrics_checked()
    assert not problems
    assert status["step"] >= READY_AT
    assert frame["step"].tolist() == list(range(1, status["step"] + 1))
    return status


@pytest.mark.parametrize("body", [PLAIN, WITH], ids=["plain", "with"])
def test_ctrl_c_stops_the_run_with_every_row(tmp_path, body):
    """Ctrl-C ends the run ``stopped``, "interrupted (Ctrl-C)", with or without `with run:` (without it
    the run was recorded ``failed`` with "KeyboardInterrupt: ")."""
    done = signalled(tmp_path, signal.SIGINT, body)
    # (Python ends on an uncaught KeyboardInterrupt by SIGINT's default action, as the shell expects)
    assert done.returncode == -signal.SIGINT and "KeyboardInterrupt" in done.stderr
    status = assert_every_row_kept(tmp_path)
    assert (status["status"], status["error"]) == ("stopped", "interrupted (Ctrl-C)")


@pytest.mark.parametrize("body", [PLAIN, WITH], ids=["plain", "with"])
def test_sigterm_stops_the_run_with_every_row_and_exits_143(tmp_path, body):
    """A SIGTERM unwinds the loop: the run ends ``stopped``, "terminated (SIGTERM)", every row written,
    and the process exits 143 (128 + 15) without a traceback (it was killed at once, status.json left
    ``running`` and the rows of its batch lost)."""
    done = signalled(tmp_path, signal.SIGTERM, body)
    assert done.returncode == 143, done.stderr
    assert "Traceback" not in done.stderr
    status = assert_every_row_kept(tmp_path)
    assert (status["status"], status["error"]) == ("stopped", "terminated (SIGTERM)")


USERS_HANDLER = """
asked = []
def on_term(signum, frame):
    print("my handler", flush=True)
    asked.append(signum)
signal.signal(signal.SIGTERM, on_term)
"""
USERS_LOOP = """
step = 0
while not asked:
    gan.step(run)
    step += 1
    if step == {ready}:
        print("handler kept" if signal.getsignal(signal.SIGTERM) is on_term else "handler replaced")
        print("ready", flush=True)
run.finish()
"""


def test_a_sigterm_handler_of_the_users_own_is_kept(tmp_path):
    """A SIGTERM handler installed before `init` stays (and is called): the loop ends as it decides."""
    done = signalled(tmp_path, signal.SIGTERM, USERS_LOOP, before=USERS_HANDLER)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["handler kept", "ready", "my handler"]
    status = assert_every_row_kept(tmp_path)
    assert status["status"] == "finished"


HANDLERS = """
import signal, sys
signal.signal(signal.SIGTERM, signal.SIG_DFL)
sys.path.insert(0, {root!r})
import gan_core.track as track
first = track.init("first", root={out!r})
second = track.init("second", root={out!r})
print(signal.getsignal(signal.SIGTERM) is signal.SIG_DFL)
first.finish()
print(signal.getsignal(signal.SIGTERM) is signal.SIG_DFL)
second.finish()
print(signal.getsignal(signal.SIGTERM) is signal.SIG_DFL)
"""


def test_the_sigterm_handler_is_installed_while_a_run_is_open(tmp_path):
    """`init` installs its SIGTERM handler over the default one, and the default comes back once the
    process has no tracked run open."""
    code = HANDLERS.format(root=str(ROOT), out=str(tmp_path))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=TIMEOUT
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["False", "False", "True"]
