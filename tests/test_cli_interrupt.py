"""Ctrl-C before a CLI run trains: while torch loads (the first seconds), while the data loads, while the run
is being set up. A review: each printed Python's traceback, 30 lines through importlib; one line now, exit
status 130 as a shell's interrupted command, and no run folder holding a config alone is left behind."""

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import gan_core.__main__ as cli_module
from tests.test_cli import TINY
from tests.test_cli_run_ids import train
from tests.test_crash import TIMEOUT

ROOT = Path(__file__).resolve().parents[1]
INTERRUPTED = 128 + signal.SIGINT


def test_importing_the_package_loads_nothing_heavy_and_its_names_still_come():
    code = (
        "import sys, gan_core; print('torch' in sys.modules); "
        "from gan_core import ConfigError, GANConfig; print(GANConfig.__module__, 'torch' in sys.modules); "
        "gan_core.nothing"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.stdout.split() == ["False", "gan_core.config", "True"]
    said = proc.stderr.strip().splitlines()[-1]
    assert said == "AttributeError: module 'gan_core' has no attribute 'nothing'"


def test_ctrl_c_while_torch_loads_says_one_line_and_writes_nothing(tmp_path):
    root = tmp_path / "runs"
    args = [sys.executable, "-m", "gan_core", "train", "--steps", "50", "--out", str(root), "--quiet"]
    # the child's own dispositions whatever the test runner's (one that ignores SIGINT passes that on)
    proc = subprocess.Popen(
        args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip
    maps, deadline = Path(f"/proc/{proc.pid}/maps"), time.monotonic() + TIMEOUT
    while "libtorch" not in maps.read_text():  # torch is loading: its imports take seconds more
        assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read()
        time.sleep(0.01)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == INTERRUPTED, err
    # (on a fast machine the imports may have ended first: main()'s own line then)
    assert err.strip() in (
        "interrupted (Ctrl-C) while loading; nothing was written",
        "interrupted (Ctrl-C) during train",
    ), err
    assert out == "" and not root.exists()


def test_a_cli_started_with_sigint_ignored_keeps_ignoring_it(tmp_path):
    """A review: a sweep script's background job (SIGINT ignored, as a non-interactive shell starts one)
    exited 130 on the terminal's Ctrl-C while it loaded, where it went on before."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "gan_core", "runs", str(tmp_path), "--json"], cwd=ROOT,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )  # fmt: skip
    maps, deadline = Path(f"/proc/{proc.pid}/maps"), time.monotonic() + TIMEOUT
    while "libtorch" not in maps.read_text():
        assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read()
        time.sleep(0.01)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=TIMEOUT)
    assert (proc.returncode, out, err) == (0, "[]\n", "")


@pytest.mark.parametrize("where", ["_load_reporting", "Runner"])
def test_ctrl_c_while_the_data_loads_or_the_run_is_made_leaves_no_folder(tmp_path, cli, monkeypatch, where):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli_module, where, interrupted)
    root = tmp_path / "runs"
    res = cli("train", "--dataset", "ring8", "--steps", "4", "--out", str(root), "--run-id", "cut", *TINY)
    assert (res.returncode, res.stderr) == (INTERRUPTED, "interrupted (Ctrl-C) during train\n")
    assert res.stdout == ""
    assert not (root / "cut").exists()


def test_ctrl_c_before_a_new_run_starts_removes_its_folder_never_a_resumed_runs(tmp_path, cli, monkeypatch):
    root = tmp_path / "runs"
    kept = train(cli, root, "kept", steps=4)
    rows = (kept / "metrics.csv").read_bytes()

    def interrupted(*args, **kwargs):  # TensorBoard loading (a second or more), a Ctrl-C then
        raise KeyboardInterrupt

    monkeypatch.setattr(cli_module, "TensorBoardSink", interrupted)
    res = cli("train", "--dataset", "ring8", "--steps", "4", "--out", str(root), "--run-id", "new",
              "--tensorboard", *TINY)  # fmt: skip
    assert (res.returncode, res.stderr) == (INTERRUPTED, "interrupted (Ctrl-C) during train\n")
    assert sorted(p.name for p in root.iterdir()) == ["kept"]
    res = cli("train", "--resume", str(kept), "--steps", "8", "--tensorboard", "--quiet")
    assert (res.returncode, res.stderr) == (INTERRUPTED, "interrupted (Ctrl-C) during train\n")
    assert (kept / "metrics.csv").read_bytes() == rows and (kept / "config.json").is_file()
