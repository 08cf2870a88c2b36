"""Multi-process training on torch.distributed (gloo, CPU, 2 processes, tiny models): DDP's averaged updates
equal one process's on the same examples, one run folder written by rank 0, and every way of ending a job
(finished, Stop and Pause through the command file, SIGTERM to torchrun, an exception on rank 1) ends every
process and leaves the run resumable under another world size."""

from __future__ import annotations

import contextlib
import gc
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import weakref
from pathlib import Path

import pandas as pd
import pytest
import torch
import torch.distributed as dist

import gan_core.track as track
from gan_core.config import GANConfig
from gan_core.data import load_data
from gan_core.distributed import DistContext, current
from gan_core.rundir import RunDir
from gan_core.tracking.commands import send_command
from gan_core.tracking.schema import D_METRICS, G_METRICS
from gan_core.trainer import Trainer

APP_DIR = Path(__file__).resolve().parents[1]
FAULTY = APP_DIR / "tests" / "fixtures" / "faulty_train.py"
WORKER = APP_DIR / "tests" / "fixtures" / "ddp_worker.py"
B = 16  # per-process batch
JOB_TIMEOUT = 240  # seconds a whole torchrun job may take here before the test fails (it hangs otherwise)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cfg(batch: int) -> GANConfig:
    return GANConfig(
        dataset="ring8", model="mlp", loss="nonsaturating", batch_size=batch, steps=0, device="cpu"
    )


def _fixed_batches(sample_shape):
    """The 2B real examples and 2B latent vectors of the first step, the same in every process."""
    g = torch.Generator().manual_seed(123)
    real = torch.randn(2 * B, *sample_shape, generator=g)
    z = torch.randn(2 * B, _cfg(B).latent_dim, generator=g)
    return real, z


def _one_step(trainer: Trainer, rows: slice) -> dict:
    """One full step of ``trainer`` on rows ``rows`` of the fixed batches; its record and gradients."""
    real, z = _fixed_batches(trainer.data.sample_shape)
    trainer.data.sample = lambda n, rng: real[rows]
    trainer._latent = lambda n: z[rows]
    record = trainer.step()
    return {
        "record": record,
        "d_grads": [p.grad.clone() for p in trainer.d_params],
        "g_grads": [p.grad.clone() for p in trainer.g_params],
        "G": {k: v.clone() for k, v in trainer.G.state_dict().items()},
        "D": {k: v.clone() for k, v in trainer.D.state_dict().items()},
    }


def torchrun_command(*args: str | Path, nproc: int = 2) -> list[str]:
    """The command that runs ``args`` (a script and its arguments, or ``-m module ...``) on the ``nproc``
    ranks of one local job under torchrun (the launcher users run), on a free port."""
    return [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc-per-node",
        str(nproc),
        "--master-addr",
        "127.0.0.1",
        "--master-port",
        str(_free_port()),
        *map(str, args),
    ]


def _spawn_two(worker, tmp_path: Path, timeout: float = 120) -> None:
    """``worker(rank, port, str(tmp_path))`` on the two ranks of one gloo job started by torchrun
    (tests/fixtures/ddp_worker.py); fails the test if either raises or they are not done within
    ``timeout`` s."""
    command = torchrun_command(WORKER, worker.__name__, tmp_path)
    done = subprocess.run(command, cwd=APP_DIR, env=_env(), capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr[-3000:]


def _rank_main(rank: int, port: int, out: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=2)  # left by tests/fixtures/ddp_worker.py
    ctx = current()
    assert isinstance(ctx, DistContext) and ctx.world_size == 2
    trainer = Trainer(_cfg(B), load_data(_cfg(B)), ctx)
    own_batch = trainer.data.sample(B, trainer.rng)  # what this rank would train on first
    result = _one_step(trainer, slice(rank * B, (rank + 1) * B))
    result["own_batch"] = own_batch
    torch.save(result, Path(out) / f"rank{rank}.pt")


def test_two_processes_update_as_one_process_with_twice_the_batch(tmp_path):
    """World size 2, batch B each == one process, batch 2B, on the same examples: DDP averages the
    gradients, the step's scalars are averaged over the ranks (gradient norms: of the averaged gradients)."""
    _spawn_two(_rank_main, tmp_path)
    ranks = [torch.load(tmp_path / f"rank{r}.pt", weights_only=False) for r in range(2)]
    single = _one_step(Trainer(_cfg(2 * B), load_data(_cfg(2 * B))), slice(0, 2 * B))

    # Each rank draws its own batches (its own generator, from the seed and the rank); rank 0's stream is
    # the one a single process of the same seed draws.
    assert not torch.equal(ranks[0]["own_batch"], ranks[1]["own_batch"])
    alone = Trainer(_cfg(B), load_data(_cfg(B)))
    torch.testing.assert_close(ranks[0]["own_batch"], alone.data.sample(B, alone.rng), rtol=0, atol=0)

    for kind in ("d_grads", "g_grads"):
        for got0, got1, want in zip(ranks[0][kind], ranks[1][kind], single[kind], strict=True):
            torch.testing.assert_close(got0, got1, rtol=0, atol=0)  # DDP gives every rank the same
            torch.testing.assert_close(got0, want, rtol=1e-5, atol=1e-6)
    for net in ("G", "D"):
        for name, want in single[net].items():
            torch.testing.assert_close(ranks[0][net][name], want, rtol=1e-5, atol=1e-6, msg=f"{net}.{name}")
            torch.testing.assert_close(ranks[1][net][name], want, rtol=1e-5, atol=1e-6, msg=f"{net}.{name}")
    for column in D_METRICS + G_METRICS:
        want = single["record"][column]
        for r in range(2):
            assert ranks[r]["record"][column] == pytest.approx(want, rel=1e-5, abs=1e-6), column
    assert single["record"]["d_grad_norm"] > 0 and single["record"]["g_grad_norm"] > 0


# ---------------------------------------------------------------------- torchrun -m gan_core train


def _env() -> dict:
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(APP_DIR)}


def _torchrun(*args: str, script: Path | None = None, nproc: int = 2, **popen) -> subprocess.Popen:
    target = [str(script)] if script else ["-m", "gan_core"]
    command = torchrun_command(*target, "train", "--quiet", *args, nproc=nproc)
    options = dict(cwd=APP_DIR, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return subprocess.Popen(command, start_new_session=True, **{**options, **popen})


def _children(pid: int) -> set[int]:
    """The processes ``pid`` started (Linux /proc), recursively."""
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            kids = {int(k) for k in (task / "children").read_text().split()}
        except OSError:
            continue
        for kid in kids:
            found |= {kid, *_children(kid)}
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _wait_for(predicate, what: str, proc: subprocess.Popen, timeout: float = JOB_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if proc.poll() is not None:
            out, err = proc.communicate()
            raise AssertionError(f"the job ended (exit {proc.returncode}) before {what}:\n{err[-3000:]}")
        assert time.monotonic() < deadline, f"no {what} within {timeout} s"
        time.sleep(0.1)


def _finish(proc: subprocess.Popen, workers: set[int]) -> tuple[int, str]:
    """Wait for the job; every worker must be gone with it. Returns (exit status, stderr)."""
    try:
        out, err = proc.communicate(timeout=JOB_TIMEOUT)
    except subprocess.TimeoutExpired:
        # torchrun's ranks may be in sessions of their own: each is killed by its pid, then the launcher
        for pid in _children(proc.pid) | workers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        raise AssertionError(f"the job hung:\n{err[-3000:]}") from None
    deadline = time.monotonic() + 10
    while any(_alive(p) for p in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [p for p in workers if _alive(p)], "a rank outlived the job"
    return proc.returncode, err


def _rows(run: Path) -> pd.DataFrame:
    return RunDir.from_path(run).read_metrics()


def _status(run: Path) -> dict:
    return json.loads((run / "status.json").read_text())


def _events(run: Path) -> pd.DataFrame:
    return RunDir.from_path(run).read_events()


def _running_workers(proc: subprocess.Popen, run: Path) -> set[int]:
    """The job's worker processes, once rank 0 has written rows (the job is up)."""
    _wait_for(lambda: (run / "metrics.csv").exists() and len(_rows(run)) >= 3, "3 rows", proc)
    workers = _children(proc.pid)
    assert len(workers) >= 2, workers
    return workers


def _resume_single(run: Path, steps: int) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "gan_core", "train", "--resume", str(run), "--steps", str(steps), "--quiet"],
        cwd=APP_DIR,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=JOB_TIMEOUT,
    )


def _one_row_per_step(run: Path, last: int) -> None:
    steps = _rows(run)["step"].astype(int).tolist()
    assert steps == list(range(1, last + 1))


def test_torchrun_job_writes_one_run_then_resumes_on_one_process(tmp_path):
    proc = _torchrun("--dataset", "ring8", "--steps", "40", "--out", str(tmp_path), "--run-id", "job")
    code, err = _finish(proc, set())
    assert code == 0, err
    run = tmp_path / "job"
    assert [p.name for p in tmp_path.iterdir()] == ["job"]  # one folder: only rank 0 writes
    _one_row_per_step(run, 40)
    status = _status(run)
    assert status["status"] == "finished" and status["step"] == 40
    assert status["world_size"] == 2 and status["backend"] == "gloo" and len(status["hosts"]) == 1
    events = _events(run)
    job = events[events["kind"] == "job"]
    assert len(job) == 1 and job["fields"].iloc[0]["world_size"] == 2

    resumed = _resume_single(run, 50)  # the same run, now one process
    assert resumed.returncode == 0, resumed.stderr
    _one_row_per_step(run, 50)
    change = _events(run).query("kind == 'world_size'")
    assert len(change) == 1
    assert change["fields"].iloc[0] == {"field": "world_size", "old": 2, "new": 1}
    assert _status(run)["world_size"] == 1 and _status(run)["backend"] is None

    again = _torchrun("--resume", str(run), "--steps", "60")  # and back to two processes
    code, err = _finish(again, set())
    assert code == 0, err
    _one_row_per_step(run, 60)
    changes = [e["fields"] for e in _events(run).to_dict("records") if e["kind"] == "world_size"]
    assert [(c["old"], c["new"]) for c in changes] == [(2, 1), (1, 2)]
    assert _status(run)["world_size"] == 2


def test_a_job_stopped_and_resumed_records_what_the_unbroken_job_did(tmp_path):
    """A checkpoint holds rank 0's generator only: rank 1 went on with another stream, and every record
    after the resume differed from the unbroken job's (d_loss 1.35003 against 1.34829 at the first)."""
    common = ("--dataset", "ring8", "--seed", "3", "--checkpoint-every", "10", "--out", str(tmp_path))
    code, err = _finish(_torchrun(*common, "--steps", "30", "--run-id", "whole"), set())
    assert code == 0, err
    code, err = _finish(_torchrun(*common, "--steps", "20", "--run-id", "broken"), set())
    assert code == 0, err
    code, err = _finish(_torchrun("--resume", str(tmp_path / "broken"), "--steps", "30"), set())
    assert code == 0, err
    whole, broken = _rows(tmp_path / "whole"), _rows(tmp_path / "broken")
    clock = ["time_s", "samples_per_s", "steps"]  # (the run's clock, and its target: 20, then 30)
    kept = [c for c in whole.columns if c not in clock]
    assert broken["step"].tolist() == list(range(1, 31))
    pd.testing.assert_frame_equal(broken[kept], whole[kept], check_exact=False, rtol=1e-6, atol=1e-9)


def test_a_digits_job_measures_image_quality_on_rank_0_and_every_rank_goes_on(tmp_path):
    """Rank 0 alone evaluates; torchmetrics' Fréchet distance must not gather from the other ranks (it did:
    the job hung at its first evaluation)."""
    args = (
        "--dataset",
        "digits",
        "--steps",
        "30",
        "--eval-every",
        "15",
        "--out",
        str(tmp_path),
        "--run-id",
        "q",
    )
    code, err = _finish(_torchrun(*args), set())
    assert code == 0, err
    rows = _rows(tmp_path / "q")
    measured = rows.dropna(subset=["fd_cls"])
    assert measured["step"].astype(int).tolist() == [15, 30]
    assert (measured["fd_cls"] > 5).all() and (measured["recall_cls"].between(0, 1)).all()
    assert (_events(tmp_path / "q")["kind"] == "baseline").sum() == 1


def test_pause_and_stop_from_the_command_file_reach_every_rank(tmp_path):
    run = tmp_path / "cmd"
    proc = _torchrun("--dataset", "ring8", "--steps", "0", "--out", str(tmp_path), "--run-id", "cmd")
    workers = _running_workers(proc, run)
    send_command(RunDir.from_path(run), "pause")
    _wait_for(lambda: _status(run)["status"] == "paused", "pause", proc)
    held = len(_rows(run))
    time.sleep(1.0)  # paused means no new row: a second later still none (ranks tick, nobody steps)
    assert len(_rows(run)) == held
    send_command(RunDir.from_path(run), "resume")
    _wait_for(lambda: len(_rows(run)) > held + 3, "rows after Resume", proc)
    send_command(RunDir.from_path(run), "stop")
    code, err = _finish(proc, workers)
    assert code == 0, err
    status = _status(run)
    assert status["status"] == "stopped"
    last = int(_rows(run)["step"].iloc[-1])
    _one_row_per_step(run, last)
    assert RunDir.from_path(run).checkpoints()[-1][0] == last  # the final checkpoint, at the last row
    commands = _events(run).query("kind == 'command'")["detail"].tolist()
    assert [c.split()[0] for c in commands] == ["pause", "resume", "stop"]


def test_sigterm_to_torchrun_stops_every_rank_with_a_final_checkpoint(tmp_path):
    run = tmp_path / "term"
    proc = _torchrun("--dataset", "ring8", "--steps", "0", "--out", str(tmp_path), "--run-id", "term")
    workers = _running_workers(proc, run)
    proc.send_signal(signal.SIGTERM)  # to the launcher alone, as a scheduler does
    code, err = _finish(proc, workers)
    assert code != 0  # torchrun reports the signal it got
    status = _status(run)
    assert status["status"] == "stopped", status
    last = int(_rows(run)["step"].iloc[-1])
    _one_row_per_step(run, last)
    assert RunDir.from_path(run).checkpoints()[-1][0] == last
    resumed = _resume_single(run, last + 5)
    assert resumed.returncode == 0, resumed.stderr
    _one_row_per_step(run, last + 5)


def test_a_device_the_machine_lacks_is_one_line_on_each_rank_not_a_traceback(tmp_path):
    proc = _torchrun("--dataset", "ring8", "--steps", "5", "--device", "cuda", "--out", str(tmp_path))
    code, err = _finish(proc, set())
    if torch.cuda.is_available():  # (a machine with a GPU trains: nothing to refuse)
        assert code == 0, err
        return
    assert code != 0
    # the ranks share one stderr, so a line of one may run into a line of the other: count in the text
    assert err.count("error: device='cuda' is not available here") == 1, err  # rank 0
    assert err.count("rank 1: rank 0 could not start the run (its error above)") == 1, err
    # no rank's traceback through our code (torchrun's own report of a failed child follows, as always)
    assert "gan_core/" not in err, err[-2000:]


def test_an_exception_on_rank_1_ends_every_rank_and_the_run_resumes(tmp_path):
    run = tmp_path / "fault"
    proc = _torchrun(
        "--dataset",
        "ring8",
        "--steps",
        "0",
        "--checkpoint-every",
        "4",
        "--out",
        str(tmp_path),
        "--run-id",
        "fault",
        script=FAULTY,
        env={**_env(), "FAULT_STEP": "10"},
    )
    code, err = _finish(proc, set())
    assert code != 0
    assert "injected failure on rank 1 at step 10" in err  # rank 1's traceback, through torchrun
    status = _status(run)
    # rank 0 saw rank 1's end as a broken collective: said as such, gloo's own words cut to their first
    # sentence, without its source path
    assert status["status"] == "failed", status
    assert status["error"].startswith(
        "a collective of the 2-process job failed at step 10 (another rank most"
    )
    assert ".cc:" not in status["error"] and "GLHF" not in status["error"]
    assert int(_rows(run)["step"].iloc[-1]) == 9  # rank 0 wrote every step the job completed
    # periodic checkpoints at 4 and 8, and the final one: step 10 failed before any weight changed
    assert [step for step, _ in RunDir.from_path(run).checkpoints()][-2:] == [8, 9]
    resumed = _resume_single(run, 12)
    assert resumed.returncode == 0, resumed.stderr
    _one_row_per_step(run, 12)


# ---------------------------------------------------------------------- the tracking API in a user's DDP loop


# The loop's bound: far more steps than a poll interval (0.2 s) lasts, on a fast machine too (about
# 1 ms a step there); the Stop sent at step 6 must end the loop long before it.
MAX_TRACKED_STEPS = 3000


def _tracked_rank(rank: int, port: int, root: str) -> None:
    """A user's own DDP loop on rank ``rank``, tracked on every rank; rank 0 sends itself Stop at step 6
    (as the dashboard would) and every rank must end after that same step."""
    import gan_core.track as track
    from gan_core.tracking.track import RankRun, TrackedRun

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=2)  # left by tests/fixtures/ddp_worker.py
    torch.manual_seed(0)
    G = torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.ReLU(), torch.nn.Linear(16, 2))
    D = torch.nn.Sequential(torch.nn.Linear(2, 16), torch.nn.ReLU(), torch.nn.Linear(16, 1))
    G_ddp, D_ddp = (
        torch.nn.parallel.DistributedDataParallel(G),
        torch.nn.parallel.DistributedDataParallel(D),
    )
    opt_g, opt_d = torch.optim.Adam(G.parameters(), 1e-3), torch.optim.Adam(D.parameters(), 1e-3)
    bce = torch.nn.BCEWithLogitsLoss()
    gen = torch.Generator().manual_seed(100 + rank)  # each rank its own batches
    run = track.init("api-job", root=root, loss="nonsaturating", config={"rank_seeded": True})
    assert isinstance(run, TrackedRun if rank == 0 else RankRun)
    local = []
    for step in range(1, MAX_TRACKED_STEPS + 1):
        real = torch.randn(32, 2, generator=gen) + 2.0
        fake = G_ddp(torch.randn(32, 4, generator=gen))
        real_logits, fake_logits = D_ddp(real), D_ddp(fake.detach())
        d_loss = bce(real_logits, torch.ones_like(real_logits)) + bce(
            fake_logits, torch.zeros_like(fake_logits)
        )
        opt_d.zero_grad()
        d_loss.backward()
        opt_d.step()
        run.d_step(real_logits, fake_logits, d_loss=d_loss, d_params=D)
        g_logits = D(fake)  # D itself: no D gradient to reduce in G's update
        g_loss = bce(g_logits, torch.ones_like(g_logits))
        opt_g.zero_grad()
        g_loss.backward(inputs=list(G.parameters()))
        opt_g.step()
        run.log({"my_metric": torch.tensor(float(rank))})  # a tensor: averaged over the ranks
        row = run.g_step(g_loss, g_params=G)
        local.append({"step": step, "d_loss": d_loss.item(), "g_loss": g_loss.item(), "row": row})
        if rank == 0 and step == 6:
            send_command(run.run_dir, "stop")
        if run.should_stop:
            break
    run.finish()
    torch.save(local, Path(root) / f"local{rank}.pt")


def test_tracking_api_under_ddp_averages_over_ranks_and_stops_every_rank_together(tmp_path):
    _spawn_two(_tracked_rank, tmp_path)
    local = [torch.load(tmp_path / f"local{r}.pt", weights_only=False) for r in range(2)]
    # Stop sent at step 6 is read by rank 0 within a poll interval: every rank ends after the same step
    assert len(local[0]) == len(local[1])
    assert 6 <= len(local[0]) < MAX_TRACKED_STEPS
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_dir()) == ["api-job"]  # rank 0 alone wrote
    rows = RunDir.from_path(tmp_path / "api-job").read_metrics()
    assert rows["step"].astype(int).tolist() == list(range(1, len(local[0]) + 1))
    # g_step returns the row it committed: under ddp every step is sent at once (the ranks' collective),
    # and on the CPU its values are there at once, so each call returns its own step's row
    seen = {int(e["row"]["step"]): e["row"] for e in local[1] if e["row"] is not None}
    assert sorted(seen) == list(range(1, len(local[1]) + 1))
    for i, row in rows.iterrows():
        for column in ("d_loss", "g_loss"):
            mean = (local[0][i][column] + local[1][i][column]) / 2
            assert row[column] == pytest.approx(mean, rel=1e-5), (i, column)
            if i + 1 in seen:  # rank 1 sees the row rank 0 writes
                assert seen[i + 1][column] == pytest.approx(row[column], rel=1e-6)
        assert row["my_metric"] == pytest.approx(0.5, abs=1e-7)
        assert 0.0 <= row["d_acc_real"] <= 1.0 and row["d_grad_norm"] > 0
    status = _status(tmp_path / "api-job")
    assert status["status"] == "stopped" and status["world_size"] == 2
    job = _events(tmp_path / "api-job").query("kind == 'job'")  # marked as a built-in job is
    assert job["step"].tolist() == [0] and job["fields"].iloc[0]["world_size"] == 2


def _linear_critic_job(rank: int, port: int) -> tuple[torch.nn.Module, torch.optim.Optimizer]:
    """Rank ``rank`` of a two-process gloo job, with a one-layer D in DDP and its SGD: the smallest loop
    whose ranks meet in collectives."""
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=2)
    torch.manual_seed(0)
    D = torch.nn.parallel.DistributedDataParallel(torch.nn.Linear(2, 1))
    return D, torch.optim.SGD(D.parameters(), 1e-2)


def _tracked_rank_diverges(rank: int, port: int, root: str) -> None:
    """A user's own DDP loop, tracked, whose rank 1 alone passes a NaN g_loss at step 5: the job's row is
    not finite, rank 0's run diverges there, and every rank ends with its reason and status."""
    import gan_core.track as track

    D, opt_d = _linear_critic_job(rank, port)
    run = track.init("nan-job", root=root, loss="nonsaturating")
    for step in range(1, MAX_TRACKED_STEPS + 1):
        real_logits, fake_logits = D(torch.randn(8, 2) + 2), D(torch.randn(8, 2))
        d_loss = (
            torch.nn.functional.softplus(-real_logits).mean()
            + torch.nn.functional.softplus(fake_logits).mean()
        )
        opt_d.zero_grad()
        d_loss.backward()
        opt_d.step()
        run.d_step(real_logits, fake_logits, d_loss=d_loss, d_params=D)
        run.g_step(torch.tensor(float("nan") if rank == 1 and step == 5 else 0.7))
        if run.should_stop:
            break
    run.finish()
    ended = {"step": run.step, "status": run.status, "reason": run.stop_reason, "error": run.error}
    (Path(root) / f"ended{rank}.json").write_text(json.dumps(ended))


def test_a_divergence_ends_every_rank_failed_with_its_reason(tmp_path):
    """A NaN on rank 1 made the job's row diverge on rank 0 (failed), while rank 1's run read "stopped"
    with stop_reason "stop", as if someone had pressed Stop."""
    _spawn_two(_tracked_rank_diverges, tmp_path)
    ended = [json.loads((tmp_path / f"ended{r}.json").read_text()) for r in range(2)]
    assert [(e["step"], e["status"], e["reason"]) for e in ended] == [(5, "failed", "diverged")] * 2
    assert ended[0]["error"] == "diverged at step 5: g_loss not finite"
    assert ended[1]["error"] == "diverged at step 5: rank 0's row of the job's values is not finite"
    assert _status(tmp_path / "nan-job")["status"] == "failed"


def _tracked_rank_fails(rank: int, port: int, root: str, before_g_step: bool = False) -> None:
    """A user's own DDP loop, tracked, in which rank 1 raises at step 5: before its update (rank 0 then
    fails in the loss's all-reduce inside DDP's backward), or ``before_g_step`` (rank 0 then fails in
    its `g_step`, in the collective that averages the step's values)."""
    import gan_core.track as track

    D, opt_d = _linear_critic_job(rank, port)
    with track.init("broken", root=root, loss="nonsaturating") as run:
        for step in range(1, MAX_TRACKED_STEPS + 1):
            if rank == 1 and step == 5 and not before_g_step:
                raise ValueError("injected failure on rank 1 at step 5")
            real_logits, fake_logits = D(torch.randn(8, 2) + 2), D(torch.randn(8, 2))
            d_loss = real_logits.mean() - fake_logits.mean()
            opt_d.zero_grad()
            d_loss.backward()
            opt_d.step()
            run.d_step(real_logits, fake_logits, d_loss=d_loss, d_params=D)
            if rank == 1 and step == 5:
                raise ValueError("injected failure on rank 1 at step 5")
            run.g_step(d_loss.detach())


def _tracked_rank_fails_before_g_step(rank: int, port: int, root: str) -> None:
    _tracked_rank_fails(rank, port, root, before_g_step=True)


@pytest.mark.parametrize(
    "worker", [_tracked_rank_fails, _tracked_rank_fails_before_g_step], ids=["in-backward", "in-g_step"]
)
def test_an_exception_on_another_rank_reads_as_that_not_as_a_network_fault(tmp_path, worker):
    """Rank 1 ends at step 5; rank 0's collective of that step breaks, in DDP's backward or in `g_step`'s
    averaging: the run is failed at step 4, its last row, and says the job failed at step 5 (a step
    counted before its collective broke read 5 in status.json beside rows ending at 4, and "step 6")."""
    # The two ranks started directly, not by torchrun: its agent SIGTERMs rank 0 when rank 1 fails, which
    # may come before rank 0's collective breaks (the run then reads interrupted, not this message).
    port = str(_free_port())
    procs = [
        subprocess.Popen(
            [sys.executable, str(WORKER), worker.__name__, str(tmp_path)],
            cwd=APP_DIR,
            env={**_env(), "RANK": str(rank), "WORLD_SIZE": "2", "MASTER_PORT": port},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for rank in range(2)
    ]
    errors = [proc.communicate(timeout=120)[1] for proc in procs]
    assert procs[1].returncode != 0 and "injected failure on rank 1 at step 5" in errors[1]
    assert procs[0].returncode != 0, errors[0][-2000:]  # failed in a collective: its status below
    status = _status(tmp_path / "broken")
    rows = RunDir.from_path(tmp_path / "broken").read_metrics()
    assert rows["step"].astype(int).tolist() == [1, 2, 3, 4]
    assert status["status"] == "failed" and status["step"] == 4, status
    assert status["error"].startswith("a collective of the 2-process job failed at step 5 (another rank most")
    assert "ValueError" not in status["error"]  # rank 0's own error follows: rank 1's is in its output
    # gloo's words for it, without its source path and advice
    said = r": RuntimeError: Connection (closed|reset) by peer \[127\.0\.0\.1\]:\d+$"
    assert re.search(said, status["error"]), status["error"]
    assert "pair.cc" not in status["error"] and "GLHF" not in status["error"]


def test_lightning_example_under_torchrun_ddp_writes_one_averaged_run(tmp_path):
    """examples/lightning_gan.py --devices 2 under torchrun: Lightning's ddp, the callback on every rank,
    rank 0 alone writing one row per G step."""
    command = torchrun_command(
        APP_DIR / "examples" / "lightning_gan.py",
        *("--steps", "6", "--out", tmp_path, "--run-id", "lit-ddp", "--devices", "2"),
    )
    done = subprocess.run(
        command, cwd=APP_DIR, env=_env(), capture_output=True, text=True, timeout=JOB_TIMEOUT
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert [p.name for p in tmp_path.iterdir()] == ["lit-ddp"]
    run = tmp_path / "lit-ddp"
    _one_row_per_step(run, 6)
    status = _status(run)
    assert status["status"] == "finished" and status["world_size"] == 2
    rows = _rows(run)
    assert rows["d_grad_norm"].gt(0).all() and rows["g_grad_norm"].gt(0).all()
    assert rows["d_acc_real"].between(0, 1).all()
    assert done.stdout.count("finished at step 6") == 1  # said once, by rank 0 (both ranks exited 0)


def test_lightning_validation_under_ddp_records_rank_0s_values_and_no_rank_waits(tmp_path):
    """Every rank validates; a name one rank logs and another does not would make the ranks' rows differ
    (the tracker's collective refuses that: `_RanksDisagree`). Rank 0's values, as Lightning's own loggers
    record them, go to every rank: the synced mean, rank 0's own unsynced value, nothing of a name only
    rank 1 logged; after G step 3 into row 4, after the last (6) into row 6. The same for what the
    module's own on_train_epoch_end logs."""
    command = torchrun_command(APP_DIR / "tests" / "fixtures" / "lightning_ddp.py", tmp_path)
    done = subprocess.run(
        command, cwd=APP_DIR, env=_env(), capture_output=True, text=True, timeout=JOB_TIMEOUT
    )
    assert done.returncode == 0, done.stderr[-3000:]
    run = tmp_path / "ddp-val"
    _one_row_per_step(run, 6)
    assert _status(run)["status"] == "finished" and _status(run)["world_size"] == 2
    rows = _rows(run).set_index("step")
    assert rows["val/optimizer_steps"].dropna().to_dict() == {4: 6.0, 6: 12.0}
    assert rows["val/rank_mean"].dropna().to_dict() == {4: 0.5, 6: 0.5}
    assert rows["val/rank"].dropna().to_dict() == {4: 0.0, 6: 0.0}
    assert "val/rank_1_only" not in rows.columns
    # training_step's self.log: the mean over the ranks, a Python number as a tensor (a number was rank
    # 0's own, 0.0, where its tensor read 0.5)
    assert rows["train/rank"].tolist() == [0.5] * 6 and rows["train/rank_t"].tolist() == [0.5] * 6
    # the module's own on_train_batch_end: each batch's row, as training_step's; its on_train_epoch_end:
    # as a validation's, the epoch's only one into the last row
    assert rows["train/batch_end_rank"].tolist() == [0.5] * 6
    assert rows["train/epoch_end_rank"].dropna().to_dict() == {6: 0.0}
    assert rows["train/epoch_end_rank_mean"].dropna().to_dict() == {6: 0.5}
    assert rows["train/epoch_end_rank0_only"].dropna().to_dict() == {6: 7.0}


def test_a_lightning_rank_that_fails_reads_as_that_in_rank_0s_run_not_as_gloos_words(tmp_path):
    """Rank 1's training_step raises at G step 4: rank 0's run is failed at step 3, its last row, saying
    the job's collective failed at step 4 because another rank most likely ended, as a loop of one's own
    says it (it recorded gloo's raw "[.../pair.cc:561] Connection closed by peer ... GLHF!"). The ranks
    started directly, as torchrun starts them (its agent may SIGTERM rank 0 first)."""
    port = str(_free_port())
    procs = [
        subprocess.Popen(
            [sys.executable, str(APP_DIR / "tests" / "fixtures" / "lightning_ddp.py"), tmp_path, "crash"],
            cwd=APP_DIR,
            env={
                **_env(),
                "RANK": str(rank),
                "LOCAL_RANK": str(rank),
                "WORLD_SIZE": "2",
                "LOCAL_WORLD_SIZE": "2",
                "GROUP_RANK": "0",
                "MASTER_ADDR": "127.0.0.1",
                "MASTER_PORT": port,
                "TORCHELASTIC_RUN_ID": "test",
            },  # fmt: skip
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for rank in range(2)
    ]
    errors = [proc.communicate(timeout=JOB_TIMEOUT)[1] for proc in procs]
    assert procs[1].returncode != 0 and "injected failure on rank 1 at step 4" in errors[1]
    assert procs[0].returncode != 0, errors[0][-2000:]
    status = _status(tmp_path / "ddp-crash")
    assert status["status"] == "failed" and status["step"] == 3, status
    assert _rows(tmp_path / "ddp-crash")["step"].tolist() == [1, 2, 3]
    assert status["error"].startswith("a collective of the 2-process job failed at step 4 (another rank most")
    said = r": RuntimeError: Connection (closed|reset) by peer \[127\.0\.0\.1\]:\d+$"
    assert re.search(said, status["error"]), status["error"]


# ---------------------------------------------------------------------- leaving the job


@pytest.fixture
def gloo_world_of_one(tmp_path, monkeypatch):
    """A gloo process group of one rank in this process (a file store: no port), and what was still
    alive each time `torch.distributed.destroy_process_group` was called (a list the test fills with
    weak references to watch)."""
    watched, alive_at_destroy = [], []
    destroy = dist.destroy_process_group

    def spy(*args, **kwargs):
        alive_at_destroy.append([ref() is not None for ref in watched])
        destroy(*args, **kwargs)

    monkeypatch.setattr(dist, "destroy_process_group", spy)
    dist.init_process_group("gloo", init_method=f"file://{tmp_path / 'store'}", rank=0, world_size=1)
    try:
        yield watched, alive_at_destroy
    finally:
        if dist.is_initialized():
            destroy()


def test_destroy_process_group_frees_the_ddp_wrappers_a_raising_main_left_in_its_traceback(gloo_world_of_one):
    """gloo aborts the process at exit when a group outlives destroy_process_group (pytorch#179291): 4 of
    20 2-rank torchrun jobs whose main() raised did with torch's call alone; the wrappers a raising main()
    holds in its traceback's frames are freed before the group is destroyed, and the error still says
    where it came from."""
    watched, alive_at_destroy = gloo_world_of_one

    def main():
        ddp = torch.nn.parallel.DistributedDataParallel(torch.nn.Linear(2, 1))
        watched.append(weakref.ref(ddp))
        ddp(torch.randn(4, 2)).sum().backward()
        raise RuntimeError("a user's bug")

    with pytest.raises(RuntimeError, match="a user's bug") as raised:
        try:
            main()
        finally:
            track.destroy_process_group()
    assert alive_at_destroy == [[False]]
    assert not dist.is_initialized()
    assert [entry.name for entry in raised.traceback][-1] == "main"  # the traceback kept, its locals not


# A fresh process, as a rank is: DDP's constructor imports torch._dynamo, which imports
# torch.distributed.nn.functional, whose signatures take the group as a default at that import.
_GROUP_AFTER_DESTROY = """
import gc, os, sys, weakref
import torch, torch.distributed as dist
import gan_core.track as track
dist.init_process_group("gloo", init_method="file://" + sys.argv[1], rank=0, world_size=1)
ddp = torch.nn.parallel.DistributedDataParallel(torch.nn.Linear(2, 1))
ddp(torch.randn(4, 2)).sum().backward()
group = weakref.ref(dist.group.WORLD)
from torch.distributed.optim.zero_redundancy_optimizer import _broadcast_object  # (the same way)
del ddp
track.destroy_process_group()
from torch.distributed.nn.functional import all_reduce
print(group() is not None, all_reduce.__defaults__[-1], _broadcast_object.__defaults__[0])
"""


def test_destroy_process_group_frees_the_group_that_torch_distributed_nn_took_as_a_default(tmp_path):
    """CI: a 2-rank job aborted at exit ("terminate called without an active exception") after a clean
    finish: the group, held by torch.distributed.nn.functional's default arguments since DDP imported it,
    outlived destroy_process_group with its gloo threads, until the interpreter's own teardown. It is freed
    at the call now, and those functions default to None again (the default group, at call time), as does
    ZeroRedundancyOptimizer's module, which takes it the same way."""
    done = subprocess.run(
        [sys.executable, "-c", _GROUP_AFTER_DESTROY, str(tmp_path / "store")],
        cwd=APP_DIR,
        env={**os.environ, "PYTHONPATH": str(APP_DIR), "OMP_NUM_THREADS": "1"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split() == ["False", "None", "None"]


def test_destroy_process_group_frees_the_ddp_wrappers_of_a_main_that_returned(gloo_world_of_one):
    """A DDP wrapper in a reference cycle outlives the main() that made it until a collection (a process's
    first DDP step leaves one; 12 of 20 2-rank jobs aborted with torch's call alone): it is collected
    before the group is destroyed."""
    watched, alive_at_destroy = gloo_world_of_one

    class Trainer:  # a user's trainer object, whose callback refers back to it: a reference cycle
        def __init__(self):
            self.ddp = torch.nn.parallel.DistributedDataParallel(torch.nn.Linear(2, 1))
            self.on_step = lambda: self.ddp

    def main():
        trainer = Trainer()
        watched.append(weakref.ref(trainer.ddp))
        trainer.ddp(torch.randn(4, 2)).sum().backward()

    gc.disable()  # no collection by chance between main() and the call
    try:
        main()
        assert watched[0]() is not None
        track.destroy_process_group()
    finally:
        gc.enable()
    assert alive_at_destroy == [[False]]
    track.destroy_process_group()  # no group: nothing to do, no error
    assert alive_at_destroy == [[False]]
