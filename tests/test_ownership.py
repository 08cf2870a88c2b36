"""One owner per run folder, and nothing lost when a write fails.

Every writer of a run folder (a new run, a resume, a rewind's new folder, a delete) takes the folder's
claim, an OS lock (`RunLock`, flock) that the kernel drops when the process ends in any way. Exactly one
of two claimants proceeds; the other is refused with one message naming the run and who holds it. A write
that fails (a full disk, a file-size limit) ends the run ``failed`` with the file and the cause named,
leaves no torn line, gives the claim back, and the run resumes anywhere once there is room. Where a run
was trained is not part of the run: a run trained on CUDA continues on the CPU.

The processes here are real: CLI runs in fresh interpreters, a second "server" (a registry in another
process), and the kernel's own short writes under RLIMIT_FSIZE.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pandas as pd
import pytest
import torch
from streamlit.testing.v1 import AppTest

from gan_core import rundir as rundir_mod
from gan_core.config import GANConfig
from gan_core.registry import RegistryError, RunRegistry
from gan_core.rundir import RunBusyError, RunDir, RunDirError, lock_holder
from gan_core.runner import Runner
from tests.conftest import claimed_elsewhere
from ui.common import RUNS_ENV, registry

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 120
TINY = dict(dataset="ring8", width=16, latent_dim=4, batch_size=16, device="cpu", sample_every=5)
TINY_FLAGS = ["--dataset", "ring8", "--width", "16", "--latent-dim", "4", "--batch-size", "16"]
HOST = os.uname().nodename


def stopped_run(root: Path, run_id: str, steps: int = 10, **fields) -> Path:
    """A run trained to ``steps`` and stopped there (checkpoint at ``steps``), its claim given back."""
    runner = Runner(GANConfig(**{**TINY, "checkpoint_every": 5, **fields}, steps=steps), root, run_id).start()
    assert runner.wait(TIMEOUT) and runner.status == "finished", runner.error
    return root / run_id


def spawn(*args: str) -> subprocess.Popen:
    """``python -m gan_core ...`` in a fresh interpreter, as a user starts it."""
    return subprocess.Popen(
        [sys.executable, "-m", "gan_core", *args, "--quiet"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_until(predicate, what: str, proc: subprocess.Popen | None = None) -> None:
    """Poll ``predicate`` (a file another process writes) until it holds."""
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        if predicate():
            return
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"process ended before {what}: {proc.stderr.read()}")
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def rows(run: Path) -> int:
    path = run / "metrics.csv"
    return max(0, path.read_bytes().count(b"\n") - 1) if path.exists() else 0


def holder_pid(run: Path) -> int | None:
    held = lock_holder(run)
    return held.get("pid") if held else None


def stop(proc: subprocess.Popen) -> tuple[int, str]:
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=TIMEOUT)
    return proc.returncode, err


def hashes(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def one_history(run: Path) -> pd.DataFrame:
    """metrics.csv as one history: whole rows, steps 1..N, none twice; the last checkpoint at the last row."""
    raw = (run / "metrics.csv").read_bytes()
    frame = pd.read_csv(run / "metrics.csv")
    assert raw.endswith(b"\n")
    assert frame["step"].tolist() == list(range(1, len(frame) + 1))
    last = RunDir.from_path(run).checkpoints()[-1][0]
    assert last == len(frame)
    return frame


# ---------------------------------------------------------------------------------------------- claims
def test_a_claim_is_exclusive_within_a_process_and_released_by_the_kernel(tmp_path):
    run = stopped_run(tmp_path, "r")
    first = RunDir.from_path(run).claim("training it")
    with pytest.raises(RunBusyError, match=f"run 'r' is in use by this process {os.getpid()} on {HOST}"):
        RunDir.from_path(run).claim("training it", wait=0.05)  # another claim, same process: refused too
    assert holder_pid(run) == os.getpid()
    first.release()
    assert holder_pid(run) is None and (run / ".lock").read_bytes() == b""  # emptied, not removed
    again = RunDir.from_path(run).claim("training it")
    del again  # dropped without release: closing the file drops the lock
    assert holder_pid(run) is None

    with claimed_elsewhere(run) as other:  # kill -9 of the holder never leaves a stale claim
        assert holder_pid(run) == other.pid
        other.kill()
        other.wait(TIMEOUT)
        assert holder_pid(run) is None
        RunDir.from_path(run).claim("training it").release()


def test_two_resumes_started_together_one_trains_the_other_is_refused(tmp_path):
    run = stopped_run(tmp_path, "r")
    procs = [spawn("train", "--resume", str(run), "--steps", "0") for _ in range(2)]
    wait_until(lambda: any(p.poll() is not None for p in procs), "one of the two to end")
    loser = next(p for p in procs if p.returncode is not None)
    winner = next(p for p in procs if p is not loser)
    err = loser.stderr.read()
    assert loser.returncode == 2, err
    assert err.count("\n") == 1 and err.startswith(
        f"error: --resume {run}: run 'r' is in use by process {winner.pid} on {HOST}"
    )
    assert "training it since" in err and "--resume" in err  # who, doing what, since when, which command
    wait_until(lambda: rows(run) >= 30, "the winner to train on", winner)
    code, err = stop(winner)
    assert code == 128 + signal.SIGTERM, err
    frame = one_history(run)
    assert len(frame) >= 30
    events = RunDir.from_path(run).read_events()
    assert (events["kind"] == "resume").sum() == 1  # one resume wrote to this folder, not two
    assert holder_pid(run) is None


def test_registry_resume_against_a_cli_resume(tmp_path):
    run = stopped_run(tmp_path, "r")
    registry_ = RunRegistry(tmp_path)

    proc = spawn("train", "--resume", str(run), "--steps", "0")
    wait_until(lambda: holder_pid(run) == proc.pid and rows(run) > 12, "the CLI resume", proc)
    with pytest.raises(RunBusyError, match=f"'r' is in use by process {proc.pid} on {HOST}, training it"):
        registry_.resume("r", {"steps": 0})
    assert registry_.runner("r") is None and registry_.view("r").status == "running"
    code, err = stop(proc)
    assert code == 128 + signal.SIGTERM, err
    assert registry_.view("r").status == "stopped"

    trained = len(one_history(run))
    runner = registry_.resume("r", {"steps": 0})  # now the server trains it ...
    assert runner.wait_until(lambda r: r.current_step > trained + 2 or r.status != "running")
    late = spawn("train", "--resume", str(run), "--steps", "0")  # ... and the CLI is refused
    _, err = late.communicate(timeout=TIMEOUT)
    assert late.returncode == 2 and f"'r' is in use by process {os.getpid()} on {HOST}" in err
    runner.stop()
    assert runner.wait(TIMEOUT) and runner.status == "stopped"
    one_history(run)


def test_a_run_this_server_trained_then_resumed_by_the_cli_is_read_from_its_folder(tmp_path):
    """The server keeps an ended runner for its live view; once another process has resumed the run,
    the view, the Runs page's row and Resume follow the folder, not the runner's last step."""
    registry_ = RunRegistry(tmp_path)
    runner = registry_.start(GANConfig(**TINY, steps=10), run_id="r")
    assert runner.wait(TIMEOUT) and runner.status == "finished", runner.error
    assert registry_.view("r").current_step == 10 and registry_.runner("r") is runner

    proc = spawn("train", "--resume", str(tmp_path / "r"), "--steps", "0")
    wait_until(lambda: holder_pid(tmp_path / "r") == proc.pid and rows(tmp_path / "r") > 20, "the CLI", proc)
    view = registry_.view("r")
    assert registry_.runner("r") is None and view.runner is None
    assert view.status == "running" and view.current_step > 20
    [row] = registry_.summaries()
    assert row["status"] == "running" and 10 <= row["step"] <= rows(tmp_path / "r")  # status.json's step
    code, err = stop(proc)
    assert code == 128 + signal.SIGTERM, err
    trained = len(one_history(tmp_path / "r"))
    assert registry_.view("r").status == "stopped" and registry_.view("r").current_step == trained
    resumed = registry_.resume("r", {"steps": trained + 3})  # the server trains it again, from there
    assert resumed.wait(TIMEOUT) and resumed.status == "finished" and resumed.current_step == trained + 3
    assert registry_.runner("r") is resumed and registry_.view("r").current_step == trained + 3


def test_delete_while_another_process_trains_is_refused_and_the_run_goes_on(tmp_path):
    root = tmp_path / "runs"
    proc = spawn("train", *TINY_FLAGS, "--steps", "0", "--out", str(root), "--run-id", "live")
    run = root / "live"
    wait_until(lambda: rows(run) > 10, "the CLI run", proc)
    registry_ = RunRegistry(root)
    with pytest.raises(RegistryError, match=f"cannot delete: run 'live' is in use by process {proc.pid}"):
        registry_.delete("live")
    seen = rows(run)
    wait_until(lambda: rows(run) > seen + 10, "the run to go on training", proc)
    assert [r["run_id"] for r in registry_.summaries()] == ["live"]
    code, err = stop(proc)
    assert code == 128 + signal.SIGTERM, err
    one_history(run)
    resumed = registry_.resume("live", {"steps": len(one_history(run)) + 3})
    assert resumed.wait(TIMEOUT) and resumed.status == "finished"
    registry_.delete("live")  # free now
    assert not run.exists()


def test_delete_of_a_run_held_elsewhere_leaves_it_byte_for_byte(tmp_path):
    run = stopped_run(tmp_path, "r")
    with claimed_elsewhere(run) as other:
        before = hashes(run)
        with pytest.raises(RegistryError, match=f"run 'r' is in use by process {other.pid}"):
            RunRegistry(tmp_path).delete("r")
        assert hashes(run) == before


_SERVER = """
import sys
from gan_core.config import GANConfig
from gan_core.registry import RunRegistry
registry = RunRegistry(sys.argv[1])
runner = registry.start(GANConfig(dataset="ring8", width=16, latent_dim=4, batch_size=16, device="cpu",
                                  steps=0, checkpoint_every=5), run_id="served")
runner.wait_until(lambda r: r.current_step >= 12)
print(runner.current_step, flush=True)
sys.stdin.read()
registry.stop_all()
"""


def test_two_servers_on_one_runs_folder(tmp_path, monkeypatch):
    """Server A trains a run; server B (the Runs page, in this process) lists it as running, refuses to
    delete it with the holder named, and can resume it once A has stopped it."""
    root = tmp_path / "runs"
    root.mkdir()
    server_a = subprocess.Popen(
        [sys.executable, "-c", _SERVER, str(root)], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    try:
        assert int(server_a.stdout.readline()) >= 12
        monkeypatch.setenv(RUNS_ENV, str(root))  # a runs folder of its own: a registry of its own
        at = AppTest.from_file(str(ROOT / "pages" / "1_Runs.py"), default_timeout=TIMEOUT).run()
        assert not at.exception
        table = at.dataframe(key="runs_table").value
        assert table.set_index("run_id").loc["served", "status"] == "running"
        assert not [b for b in at.button if b.key == "runs_resume"]  # offered for ended runs only
        # Delete is off, and says why, where it offered "This cannot be undone" and then refused
        (delete,) = [p for p in at.get("popover") if p.key == "runs_delete_pop:served"]
        assert delete.proto.popover.disabled
        assert delete.proto.popover.help == (
            f"Running: process {server_a.pid} on {socket.gethostname()} trains it. Stop it first, then "
            "delete it."
        )
        at.button(key="runs_delete").click().run()  # (a click that got through anyway is refused)
        errors = [e.value for e in at.error]
        assert len(errors) == 1 and f"run 'served' is in use by process {server_a.pid}" in errors[0], errors
        assert (root / "served" / "config.json").is_file()
    finally:
        server_a.stdin.close()
        assert server_a.wait(TIMEOUT) == 0
    view = registry().view("served")
    assert view.status == "stopped"
    resumed = registry().resume("served", {"steps": view.current_step + 5})
    assert resumed.wait(TIMEOUT) and resumed.status == "finished"


# ---------------------------------------------------------------------------------------------- failed writes
def test_a_failed_metric_write_ends_the_run_failed_unclaimed_and_resumable(tmp_path, monkeypatch):
    """ENOSPC half way through a row: the row is cut back off, the run fails naming the file and the cause,
    its claim is released, and a fresh server resumes it once there is room."""
    write = os.write
    budget = {"rows": 40}

    def full_disk(fd, data):
        if os.readlink(f"/proc/self/fd/{fd}").endswith("metrics.csv"):
            budget["rows"] -= 1
            if budget["rows"] < 0:
                write(fd, bytes(data)[: len(data) // 2])  # what fitted
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return write(fd, data)

    monkeypatch.setattr(rundir_mod.os, "write", full_disk)
    runner = Runner(GANConfig(**TINY, steps=0, checkpoint_every=10), tmp_path, "full").start()
    assert runner.wait(TIMEOUT) and runner.status == "failed"
    assert runner.error == "RunDirError: run 'full': cannot write metrics.csv: No space left on device"
    status = json.loads((tmp_path / "full" / "status.json").read_text())
    assert status["status"] == "failed" and "cannot write metrics.csv: No space left" in status["error"]
    assert holder_pid(tmp_path / "full") is None
    monkeypatch.setattr(rundir_mod.os, "write", write)  # room again

    raw = (tmp_path / "full" / "metrics.csv").read_bytes()
    assert raw.endswith(b"\n") and raw.count(b"\n") == 1 + 39  # the header and 39 whole rows
    server = RunRegistry(tmp_path)
    assert server.view("full").status == "failed"
    resumed = server.resume("full", {"steps": 50})
    assert resumed.wait(TIMEOUT) and resumed.status == "finished", resumed.error
    assert len(one_history(tmp_path / "full")) == 50


def _limited(max_bytes: int):
    """For a child process: a file-size limit (RLIMIT_FSIZE), so that the kernel itself cuts a write short
    at the limit and refuses the next (EFBIG; SIGXFSZ ignored, as a full disk sends no signal)."""

    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (max_bytes, max_bytes))

    return limit


def test_a_real_short_write_of_metrics_csv(tmp_path):
    root = tmp_path / "runs"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gan_core",
            "train",
            *TINY_FLAGS,
            "--quiet",
            "--steps",
            "0",
            "--sample-every",
            "100000",
            "--checkpoint-every",
            "50",
            "--out",
            str(root),
            "--run-id",
            "capped",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_limited(64 * 1024),  # metrics.csv reaches it after ~200 rows; each other file is smaller
    )
    _, err = proc.communicate(timeout=TIMEOUT)
    run = root / "capped"
    assert proc.returncode == 1, err
    assert (
        err.strip()
        == "error: run failed: RunDirError: run 'capped': cannot write metrics.csv: File too large"
    )
    status = json.loads((run / "status.json").read_text())
    assert status["status"] == "failed" and status["error"].endswith(
        "cannot write metrics.csv: File too large"
    )
    raw = (run / "metrics.csv").read_bytes()
    assert raw.endswith(b"\n") and 100 < raw.count(b"\n") < 64 * 1024 // 100  # whole rows, none torn
    assert holder_pid(run) is None
    resumed = Runner.reopen(RunDir.from_path(run), {"steps": raw.count(b"\n") + 20}).start()
    assert resumed.wait(TIMEOUT) and resumed.status == "finished", resumed.error
    one_history(run)


_APPEND_EVENT = """
import resource, signal, sys
from gan_core.rundir import RunDir
run = RunDir.from_path(sys.argv[1]).claim("test")
size = (run.path / "events.csv").stat().st_size
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (size + 20, size + 20))  # room for 20 bytes of a longer line
run.append_event(7, "note", "x" * 200)
"""


def test_events_csv_is_repaired_before_every_append(tmp_path):
    run_path = stopped_run(tmp_path, "r")
    run = RunDir.from_path(run_path)
    before = run.read_events()

    # A real short write: the kernel writes 20 bytes of the line, then refuses the rest; the writer cuts
    # the 20 bytes back off and says which file failed and why.
    proc = subprocess.run(
        [sys.executable, "-c", _APPEND_EVENT, str(run_path)], cwd=ROOT, capture_output=True, text=True
    )
    assert proc.returncode == 1
    assert "RunDirError: run 'r': cannot write events.csv: File too large" in proc.stderr
    pd.testing.assert_frame_equal(run.read_events(), before)
    assert (run_path / "events.csv").read_bytes().endswith(b"\n")

    # A torn last line written by hand (a kill or a full disk of an earlier version): the next append
    # drops it and starts a line of its own, and every row reads back.
    with open(run_path / "events.csv", "ab") as f:
        f.write(b"11,2026-11-30T00:00:00.000+00:00,hparam,lr_g: 0.0")
    run.claim("test").append_event(12, "note", "after the torn line")
    run.release()
    after = run.read_events()
    assert len(after) == len(before) + 1
    assert after.iloc[-1][["step", "kind", "detail"]].tolist() == [12, "note", "after the torn line"]
    resumed = Runner.reopen(run, {"steps": 15}).start()  # and the run goes on
    assert resumed.wait(TIMEOUT) and resumed.status == "finished", resumed.error


def test_a_failed_append_leaves_no_partial_line(tmp_path, monkeypatch):
    run = RunDir.create(tmp_path, GANConfig(**TINY), "m")
    run.open_metrics(("step", "a"))
    run.append_record((1.0, 0.5))
    write = os.write

    def half(fd, data):
        write(fd, bytes(data)[:3])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(rundir_mod.os, "write", half)
    with pytest.raises(RunDirError, match="^run 'm': cannot write metrics.csv: No space left on device$"):
        run.append_record((2.0, 0.25))
    with pytest.raises(RunDirError, match="cannot write events.csv: No space left on device"):
        run.append_event(2, "note", "x")
    monkeypatch.setattr(rundir_mod.os, "write", write)
    run.append_record((2.0, 0.25))
    run.release()
    assert (run.path / "metrics.csv").read_text() == "step,a\n1,0.5\n2,0.25\n"
    assert run.read_events()["kind"].tolist() == []
    with pytest.raises(RunDirError, match="written without the folder's claim"):
        run.append_event(3, "note", "unclaimed")


# ---------------------------------------------------------------------------------------------- devices
def _tag_for_cuda(storage):
    """A storage location tagger for torch.save: every CPU tensor is written as living on cuda:0."""
    return "cuda:0" if storage.device.type == "cpu" else None


def cuda_trained(run: Path) -> None:
    """Make ``run`` a run trained on CUDA, as a GPU machine writes it: config and status say cuda, and
    every checkpoint's tensors are tagged for cuda:0 (torch.load without a map_location would put them
    there), its device is cuda and its RNG state is a CUDA generator's (16 bytes)."""
    registry_ = torch.serialization._package_registry
    for _, path in RunDir.from_path(run).checkpoints():
        state = torch.load(path, map_location="cpu", weights_only=True)
        state["config"]["device"] = "cuda"
        state["device"] = "cuda"
        state["rng"] = torch.zeros(16, dtype=torch.uint8)
        registry_.insert(0, (0, _tag_for_cuda, lambda obj, location: None))
        try:
            torch.save(state, path)
        finally:
            registry_.pop(0)
        with zipfile.ZipFile(path) as archive:
            pickled = archive.read(next(n for n in archive.namelist() if n.endswith("data.pkl")))
        assert b"cuda:0" in pickled and b"'cpu'" not in pickled
        if not torch.cuda.is_available():  # what a CPU machine makes of it without a map_location
            with pytest.raises(RuntimeError, match="deserialize object on a CUDA device"):
                torch.load(path, weights_only=True)
    config = json.loads((run / "config.json").read_text())
    (run / "config.json").write_text(json.dumps({**config, "device": "cuda"}))
    status = json.loads((run / "status.json").read_text())
    (run / "status.json").write_text(json.dumps({**status, "device": "cuda:0"}))


def test_a_cuda_trained_run_resumes_and_branches_on_the_cpu(tmp_path, cli):
    run = stopped_run(tmp_path, "gpu")
    cuda_trained(run)
    if not torch.cuda.is_available():
        # The refusal names only options that then work: auto and cpu (both used below).
        refused = cli("train", "--resume", str(run), "--device", "cuda", "--steps", "12", "--quiet")
        assert refused.returncode == 2
        assert refused.stderr == "error: device='cuda' is not available here: no CUDA GPU; use auto or cpu\n"
    resumed = cli("train", "--resume", str(run), "--steps", "15", "--quiet")  # device auto
    assert resumed.returncode == 0, resumed.stderr
    events = RunDir.from_path(run).read_events()
    moved = events[events["kind"] == "device"]
    here = "cuda" if torch.cuda.is_available() else "cpu"
    assert moved[["step", "detail"]].values.tolist() == (
        [] if here == "cuda" else [[11, "device: cuda -> cpu"]]
    )
    assert json.loads((run / "status.json").read_text())["device"].startswith(here)
    assert len(one_history(run)) == 15

    branched = cli(
        "train", "--rewind", str(run), "--from-step", "10", "--device", "cpu", "--steps", "14", "--quiet"
    )
    assert branched.returncode == 0, branched.stderr
    child = Path(branched.stdout.strip())
    assert json.loads((child / "status.json").read_text())["parent"] == "gpu"
    assert len(one_history(child)) == 14

    cuda_trained(run)  # the dashboard's way: the registry, device auto by default
    resumed = RunRegistry(tmp_path).resume("gpu", {"steps": 20})
    assert resumed.wait(TIMEOUT) and resumed.status == "finished", resumed.error
    assert resumed.device == here and len(one_history(run)) == 20


def test_the_runs_page_resumes_a_cuda_trained_run_on_the_device_it_names(tmp_path, monkeypatch):
    root = tmp_path / "runs"
    runner = Runner(GANConfig(**TINY, steps=0, checkpoint_every=5), root, "gpu").start()
    assert runner.wait_until(lambda r: len(r.store) > 0, TIMEOUT)
    runner.stop()
    assert runner.wait(TIMEOUT) and runner.status == "stopped"
    cuda_trained(root / "gpu")
    monkeypatch.setenv(RUNS_ENV, str(root))
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=TIMEOUT).run()
    at.switch_page("pages/1_Runs.py").run()
    assert at.selectbox(key="runs_device").value == "auto"
    at.selectbox(key="runs_device").select("cpu").run()
    at.button(key="runs_resume").click().run()
    assert not at.exception and not at.error
    runner = registry().runner("gpu")
    assert runner is not None and runner.wait_until(lambda r: r.device is not None, TIMEOUT)
    assert runner.device == "cpu" and runner.cfg.device == "cpu"
    runner.stop()
    assert runner.wait(TIMEOUT) and runner.status == "stopped"
    moved = [e["detail"] for e in runner.events if e["kind"] == "device"]
    assert moved == ([] if torch.cuda.is_available() else ["device: cuda -> cpu"])


def test_a_run_whose_last_row_could_not_be_written_keeps_no_checkpoint_past_its_rows(tmp_path, monkeypatch):
    """CI under load: the row still on its way at the end was the one a file size limit refused, and the
    final checkpoint was taken a step past the rows; the resume from it left that step without a row. A
    failed write now ends the run with its last checkpoint at or before its last row."""
    from gan_core.rundir import RunDirError

    written = []
    real_append = RunDir.append_record

    def append(self, record):
        if len(written) >= 37:
            raise RunDirError(f"run {self.run_id!r}: cannot write metrics.csv: File too large")
        written.append(record[0])
        real_append(self, record)

    monkeypatch.setattr(RunDir, "append_record", append)
    cfg = GANConfig(dataset="ring8", width=16, latent_dim=4, batch_size=16, device="cpu", steps=0,
                    checkpoint_every=10, sample_every=1000)  # fmt: skip
    runner = Runner(cfg, tmp_path, "capped").start()
    assert runner.wait(TIMEOUT) and runner.status == "failed" and "File too large" in runner.error
    run_dir = RunDir.open(tmp_path, "capped")
    last_row = run_dir.last_metrics_step()
    assert last_row == 37
    assert max(step for step, _ in run_dir.checkpoints()) <= last_row
    monkeypatch.setattr(RunDir, "append_record", real_append)
    resumed = Runner.reopen(RunDir.from_path(run_dir.path), {"steps": 50}).start()
    assert resumed.wait(TIMEOUT) and resumed.status == "finished", resumed.error
    one_history(run_dir.path)
