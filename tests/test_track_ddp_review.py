"""The tracking API in a user's own DDP loop under torchrun (2 processes, gloo, CPU, a tiny GAN): a SIGTERM
to the launcher (what ``timeout``, Slurm and Kubernetes send; torchrun passes it on to every rank) ends the
run ``stopped`` at one step on every rank, running or paused, every row kept; ranks that log other names
at a step get a `TrackingError` saying so, at that step, on every rank (not gloo's "Received data size
doesn't match expected size"); a run resumed under another number of processes records a ``world_size``
event; a refused start ends every rank without an abort.

This file is also the ranks' script: ``torchrun ... tests/test_track_ddp_review.py WORKER ROOT``."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
JOB_TIMEOUT = 120  # seconds a job may take here before the test fails (it hangs otherwise)


# ---------------------------------------------------------------------- the ranks' side


def _setup():
    """The process group and a tiny GAN in DDP on this rank: (rank, G, D, G_ddp, D_ddp, opt_g, opt_d)."""
    import torch
    import torch.distributed as dist

    torch.set_num_threads(1)
    dist.init_process_group("gloo")
    torch.manual_seed(0)
    G = torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.ReLU(), torch.nn.Linear(16, 2))
    D = torch.nn.Sequential(torch.nn.Linear(2, 16), torch.nn.ReLU(), torch.nn.Linear(16, 1))
    G_ddp = torch.nn.parallel.DistributedDataParallel(G)
    D_ddp = torch.nn.parallel.DistributedDataParallel(D)
    opt_g, opt_d = torch.optim.Adam(G.parameters(), 1e-3), torch.optim.Adam(D.parameters(), 1e-3)
    return dist.get_rank(), G, D, G_ddp, D_ddp, opt_g, opt_d


def _train_step(run, rank, gen, G, D, G_ddp, D_ddp, opt_g, opt_d, log=None, d_step=True):
    """One step of the user's loop, as README's DDP example makes it; ``log``: what this rank logs;
    ``d_step`` False: D is updated, but not told to the run."""
    import torch

    bce = torch.nn.BCEWithLogitsLoss()
    real = torch.randn(32, 2, generator=gen) + 2.0
    fake = G_ddp(torch.randn(32, 4, generator=gen))
    real_logits, fake_logits = D_ddp(real), D_ddp(fake.detach())
    d_loss = bce(real_logits, torch.ones_like(real_logits)) + bce(fake_logits, torch.zeros_like(fake_logits))
    opt_d.zero_grad()
    d_loss.backward()
    opt_d.step()
    if d_step:
        run.d_step(real_logits, fake_logits, d_loss=d_loss, d_params=D)
    g_logits = D(fake)
    g_loss = bce(g_logits, torch.ones_like(g_logits))
    opt_g.zero_grad()
    g_loss.backward(inputs=list(G.parameters()))
    opt_g.step()
    if log is not None:
        run.log(log)
    return run.g_step(g_loss, g_params=G)


def sigterm_worker(root: str) -> None:
    """Trains until a signal ends it (a short sleep a step keeps the job slow enough to be caught);
    writes, on the way out, the step this rank reached and how it ended (rank<r>.json)."""
    import torch

    import gan_core.track as track

    rank, *nets = _setup()
    gen = torch.Generator().manual_seed(100 + rank)
    run = None
    try:
        run = track.init("job", root=root, loss="nonsaturating")
        with run:
            while not run.should_stop:
                time.sleep(0.02)
                _train_step(run, rank, gen, *nets, log={"my_metric": torch.tensor(float(rank))})
    except BaseException as exc:
        ended = type(exc).__name__
        raise
    else:
        ended = "returned"
    finally:
        (Path(root) / f"rank{rank}.json").write_text(
            json.dumps(
                {"step": run.step if run else None, "status": run.status if run else None, "ended": ended}
            )
        )


def mismatch_worker(root: str) -> None:
    """Steps 1-2: both ranks log ``a``; step 3: rank 0 also logs ``b`` (caught, said, taken again alike);
    steps 4-5 ``b`` then ``a`` on rank 1 and ``a`` then ``b`` on rank 0 (the order does not matter); step
    6: neither logs (a change both make); step 7: rank 0 alone logs the number ``lr``, uncaught."""
    import torch

    import gan_core.track as track
    from gan_core.tracking.track import TrackingError

    rank, *nets = _setup()
    gen = torch.Generator().manual_seed(100 + rank)
    said = []
    try:
        with track.init("mismatch", root=root, loss="nonsaturating", commit_every=60) as run:
            a = torch.tensor(float(rank))
            for _ in range(2):
                _train_step(run, rank, gen, *nets, log={"a": a})
            try:
                _train_step(run, rank, gen, *nets, log={"a": a, "b": a} if rank == 0 else {"a": a})
            except TrackingError as exc:
                said.append((run.step, str(exc)))
            _train_step(run, rank, gen, *nets, log={"a": a})  # step 3 again, alike
            pair = {"a": a, "b": a + 1} if rank == 0 else {"b": a + 1, "a": a}
            _train_step(run, rank, gen, *nets, log=pair)
            _train_step(run, rank, gen, *nets, log=pair)
            _train_step(run, rank, gen, *nets)
            try:
                _train_step(run, rank, gen, *nets, log={"lr": 0.1} if rank == 0 else None)
            except TrackingError as exc:
                said.append((run.step, str(exc)))
                raise
    finally:
        (Path(root) / f"said{rank}.json").write_text(json.dumps(said))


def d_step_worker(root: str) -> None:
    """Steps 1-2 alike; step 3: rank 1 calls no d_step (caught, said, taken again alike); then both ranks
    leave the loop after step 4 of their target 10 (rank 1's finish short of it is said)."""
    import torch

    import gan_core.track as track
    from gan_core.tracking.track import TrackingError

    rank, *nets = _setup()
    gen = torch.Generator().manual_seed(100 + rank)
    said = []
    try:
        with track.init("dskip", root=root, loss="nonsaturating", steps=10, commit_every=60) as run:
            for _ in range(2):
                _train_step(run, rank, gen, *nets)
            try:
                _train_step(run, rank, gen, *nets, d_step=rank == 0)
            except TrackingError as exc:
                said.append((run.step, str(exc)))
            for _ in range(2):
                _train_step(run, rank, gen, *nets)
    finally:
        (Path(root) / f"said{rank}.json").write_text(json.dumps(said))


def init_worker(root: str) -> None:
    """Rank 1 given half rank 0's steps and another loss."""
    import gan_core.track as track
    from gan_core.tracking.track import TrackingError

    rank, *_ = _setup()
    said = ""
    try:
        loss = "hinge" if rank else "nonsaturating"
        track.init("halves", root=root, steps=10 if rank == 0 else 5, loss=loss)
    except TrackingError as exc:
        said = str(exc)
    (Path(root) / f"said{rank}.json").write_text(json.dumps(said))


def refused_worker(root: str) -> None:
    """README's DDP example with a start that is refused (a loss that does not exist)."""
    import gan_core.track as track

    _setup()
    run = track.init("refused", root=root, loss="no-such-loss")
    run.finish()


# ---------------------------------------------------------------------- the test's side


def _torchrun(worker: str, root: Path) -> subprocess.Popen:
    from tests.test_distributed import torchrun_command  # (the test's side only: not in the ranks)

    command = torchrun_command(__file__, worker, root)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def _communicate(proc: subprocess.Popen) -> str:
    """The job's stderr once it ended; the whole process group killed if it hangs (and the test fails)."""
    try:
        return proc.communicate(timeout=JOB_TIMEOUT)[1]
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        raise AssertionError(f"the job hung:\n{proc.communicate()[1][-3000:]}") from None


def _wait_for(predicate, what: str, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + JOB_TIMEOUT
    while not predicate():
        if proc.poll() is not None:
            raise AssertionError(f"the job ended before {what}:\n{proc.communicate()[1][-3000:]}")
        if time.monotonic() > deadline:
            os.killpg(proc.pid, signal.SIGKILL)
            raise AssertionError(f"no {what} within {JOB_TIMEOUT} s")
        time.sleep(0.05)


def _rows(run: Path):
    from gan_core.rundir import RunDir

    return RunDir.from_path(run).read_metrics()


def _freed(root: Path) -> list[bool]:
    """Whether each rank's process group was freed by its `track.destroy_process_group` (what the ranks'
    script writes as it leaves): one still alive then is freed with its gloo threads during the
    interpreter's exit, which those threads can abort (pytorch#179291)."""
    return [json.loads((root / f"freed{r}.json").read_text()) for r in range(2)]


def _status(run: Path) -> dict:
    return json.loads((run / "status.json").read_text())


def _events(run: Path):
    from gan_core.rundir import RunDir

    return RunDir.from_path(run).read_events()


def _has_rows(run: Path, count: int) -> bool:
    try:
        return len(_rows(run)) >= count
    except Exception:
        return False


def _sigterm_job(root: Path, pause: bool) -> tuple[str, dict, list[dict]]:
    """Start the job, (pause it,) SIGTERM the launcher alone; (stderr, status.json, each rank's end)."""
    from gan_core.rundir import RunDir
    from gan_core.tracking.commands import send_command

    run = root / "job"
    proc = _torchrun("sigterm_worker", root)
    _wait_for(lambda: _has_rows(run, 5), "5 rows", proc)
    if pause:
        send_command(RunDir.from_path(run), "pause")
        _wait_for(lambda: _status(run)["status"] == "paused", "the pause", proc)
        time.sleep(0.5)  # the ranks meet in the pause's ticks
    proc.send_signal(signal.SIGTERM)  # to torchrun alone, as a scheduler does: it passes it on
    err = _communicate(proc)
    assert proc.returncode != 0  # torchrun reports the signal it got
    return err, _status(run), [json.loads((root / f"rank{r}.json").read_text()) for r in range(2)]


@pytest.mark.parametrize("pause", [False, True], ids=["running", "paused"])
def test_sigterm_to_torchrun_ends_an_own_loop_stopped_at_one_step_on_every_rank(tmp_path, pause):
    err, status, ranks = _sigterm_job(tmp_path, pause)
    run = tmp_path / "job"
    assert status["status"] == "stopped", (status, err[-3000:])
    assert status["error"] == "terminated (SIGTERM)"
    steps = _rows(run)["step"].astype(int).tolist()
    assert steps == list(range(1, len(steps) + 1)) and len(steps) >= 5  # every committed row kept
    assert status["step"] == steps[-1]  # the status says the step the rows end at
    # every rank unwound (Terminated, a SystemExit) at that same step: none was left in a collective
    assert [r["ended"] for r in ranks] == ["Terminated", "Terminated"], err[-3000:]
    assert [r["step"] for r in ranks] == [steps[-1], steps[-1]]
    assert [r["status"] for r in ranks] == ["stopped", "stopped"]
    assert "Received data size" not in err
    assert _freed(tmp_path) == [True, True], err[-3000:]
    last = _events(run).iloc[-1]
    assert (last["kind"], int(last["step"])) == ("status", steps[-1])
    if pause:  # paused, then stopped: the pause's ticks heard the signal
        kinds = _events(run)["kind"].tolist()
        assert "paused" in [f.get("status") for f in _events(run)["fields"] if isinstance(f, dict)]
        assert kinds[-1] == "status"
    else:
        # resumed in one process: a world_size event (2 -> 1) at the first new step, as a built-in run has
        import torch

        import gan_core.track as track

        with track.init("job", root=tmp_path, resume=True) as again:
            assert again.step == steps[-1]
            again.d_step(torch.randn(4, 1), torch.randn(4, 1), d_loss=torch.tensor(1.0))  # one step on
            again.g_step(torch.tensor(0.5))
        events = _events(run)
        change = events[events["kind"] == "world_size"]
        assert len(change) == 1, events[["step", "kind", "detail"]]
        assert int(change["step"].iloc[0]) == steps[-1] + 1
        assert change["fields"].iloc[0] == {"field": "world_size", "old": 2, "new": 1}
        assert change["detail"].iloc[0] == "world_size: 2 -> 1"
        assert _status(run)["world_size"] == 1
        steps_logged = events["step"].astype(int).tolist()
        assert steps_logged == sorted(steps_logged), events[["step", "kind", "detail"]]  # in step order


def test_ranks_logging_other_names_get_a_tracking_error_at_that_step_on_every_rank(tmp_path):
    proc = _torchrun("mismatch_worker", tmp_path)
    err = _communicate(proc)
    assert proc.returncode != 0 and "Received data size" not in err
    said = [json.loads((tmp_path / f"said{r}.json").read_text()) for r in range(2)]
    # step 3 (caught; run.step still 2 after it) and step 7, on both ranks at once
    assert [[s for s, _ in rank] for rank in said] == [[2, 6], [2, 6]]
    first0, first1 = said[0][0][1], said[1][0][1]
    assert first1.startswith("step 3 of the 2-process job: every rank must log the same names each step")
    assert "this rank (rank 1) logged ['a'], rank 0 ['a', 'b']" in first1
    assert "this rank (rank 0) logged ['a', 'b'], rank 1 ['a']" in first0
    assert "this rank (rank 1) logged [], rank 0 ['lr' (a number)]" in said[1][1][1]
    run = tmp_path / "mismatch"
    rows = _rows(run)
    assert rows["step"].astype(int).tolist() == [1, 2, 3, 4, 5, 6]  # no row of a refused step
    assert rows["a"].tolist() == pytest.approx([0.5] * 5 + [float("nan")], nan_ok=True)
    assert rows["b"].tolist()[3:5] == pytest.approx([1.5, 1.5])  # averaged in place, whatever the order
    status = _status(run)
    assert status["status"] == "failed" and status["step"] == 6  # the status says the rows' last step
    assert status["error"].startswith("TrackingError: step 7 of the 2-process job: every rank must log")


def test_a_rank_that_calls_no_d_step_gets_a_tracking_error_at_that_step_on_every_rank(tmp_path):
    """A review: rank 1 skipping d_step at one step sent NaN where rank 0's D values went; averaged, the
    row read NaN and the job failed "diverged" (advice: lower the learning rates); rank 0 skipping it left
    the row blank without a word. Then rank 1 finished short of its target, which said nothing."""
    proc = _torchrun("d_step_worker", tmp_path)
    err = _communicate(proc)
    assert proc.returncode == 0, err[-3000:]
    said = [json.loads((tmp_path / f"said{r}.json").read_text()) for r in range(2)]
    assert [[s for s, _ in rank] for rank in said] == [[2], [2]]
    assert said[1][0][1] == (
        "step 3 of the 2-process job: every rank must call d_step alike; this rank (rank 1) called no "
        "d_step before g_step, rank 0 did (D's losses, accuracies and gradient norm are averaged over the "
        "ranks): call d_step on every rank at a step, or on none"
    )
    assert "this rank (rank 0) called d_step before g_step, rank 1 did not" in said[0][0][1]
    rows = _rows(tmp_path / "dskip")
    assert rows["step"].astype(int).tolist() == [1, 2, 3, 4]
    assert rows["d_loss"].between(0.1, 5.0).all() and rows["d_steps"].tolist() == [1, 1, 1, 1]
    status = _status(tmp_path / "dskip")
    assert (status["status"], status["step"], "diverged" in json.dumps(status)) == ("stopped", 4, False)
    assert (
        "rank 1: the run was finished at step 4 of its target 10 before the job stopped: if the other ranks "
        "go on, they wait for this one at their next step and the run fails" in err
    )
    assert "rank 0: the run was finished" not in err  # (rank 0 writes the run: its status says so)


def test_ranks_given_other_steps_or_loss_are_refused_at_init_on_every_rank(tmp_path):
    """A review: rank 1 given half rank 0's steps ended the job at its own target, "finished" at step 100
    of 200."""
    proc = _torchrun("init_worker", tmp_path)
    err = _communicate(proc)
    assert proc.returncode == 0, err[-3000:]
    assert _freed(tmp_path) == [True, True]  # (a CI run: a rank aborted at exit while it was not)
    said = {json.loads((tmp_path / f"said{r}.json").read_text()) for r in range(2)}
    assert said == {
        "init: the 2 processes of the job were given other steps (rank 0 10, rank 1 5), loss (rank 0 "
        "'nonsaturating', rank 1 'hinge'): every rank must call init with the same steps, loss, "
        "label_smoothing (each rank stops at steps and measures D by the loss; rank 0 alone writes the "
        "run, with its own config and the rest)"
    }
    assert not (tmp_path / "halves").exists()


def test_a_rank_finished_short_of_its_target_on_purpose_says_nothing():
    """The review of that warning: ``run.finish("finished")`` (and Lightning's ``stopped`` at its
    max_epochs) ends the run on purpose on every rank; only a plain finish() short of it is said."""
    import warnings
    from types import SimpleNamespace

    from gan_core.tracking.track import RankRun, TrackingWarning

    def finished(*args):
        run = RankRun("job", 3, "nonsaturating", 10, SimpleNamespace(rank=1), (None, None))
        with warnings.catch_warnings(record=True) as said:
            warnings.simplefilter("always")
            run.finish(*args)
        return [str(w.message) for w in said if issubclass(w.category, TrackingWarning)]

    assert finished("finished") == finished("stopped", "max_epochs reached") == []
    (said,) = finished()
    assert said.startswith("rank 1: the run was finished at step 3 of its target 10 before the job stopped")


def test_a_name_logged_as_a_tensor_on_one_rank_and_a_number_on_another_is_said_as_such():
    """A review: "every rank must log the same names" of ranks that had logged the same names, ``rk`` a
    number on rank 0 and a tensor on rank 1."""
    from gan_core.tracking.track import _disagreement

    layouts = [
        [(("g_loss", "rkt"), 1, ("rk",), True)],  # rank 0: rk a number
        [(("g_loss", "rk", "rkt"), 1, (), True)],  # rank 1: rk a tensor
    ]
    assert _disagreement(layouts, 1, [5]) == (
        "step 5 of the 2-process job: every rank must log each name as the same kind, a tensor on every "
        "rank (averaged over the ranks) or a number (rank 0's); this rank (rank 1) logged ['rk', 'rkt'], "
        "rank 0 ['rk' (a number), 'rkt']"
    )
    other = [[(("g_loss", "rkt"), 1, (), True)], layouts[1]]  # rk on rank 1 only: other names
    assert "every rank must log the same names each step" in _disagreement(other, 1, [5])
    # the Lightning callback's run, a name self.logged on rank 0 alone: said in self.log's words (a
    # review: "call run.log with the same names", a call the Lightning user never made)
    assert _disagreement(other, 1, [5], lightning=True) == (
        "step 5 of the 2-process job: every rank must self.log the same names in training_step each step "
        "(the row holds their mean over the ranks); this rank (rank 1) logged ['rk', 'rkt'], rank 0 "
        "['rkt']: self.log each name on every rank, not under `if self.global_rank == 0` (with "
        "rank_zero_only=True too)"
    )


def test_a_refused_start_under_torchrun_ends_every_rank_with_its_error_and_no_abort(tmp_path):
    for _ in range(1):  # (the abort came on one start in a few without the finally)
        proc = _torchrun("refused_worker", tmp_path)
        err = _communicate(proc)
        assert proc.returncode != 0
        assert "loss='no-such-loss' is unknown" in err  # rank 0's error
        assert "rank 0 could not start the run" in err  # rank 1's
        assert _freed(tmp_path) == [True, True], err[-3000:]


if __name__ == "__main__":  # a rank of one of the jobs above, which leaves it as README's DDP example does
    import weakref

    import torch.distributed as dist

    import gan_core.track as track

    group = None
    try:
        globals()[sys.argv[1]](sys.argv[2])
    finally:
        if dist.is_initialized():
            group = weakref.ref(dist.group.WORLD)
        track.destroy_process_group()
        # (a group still alive here lives on, with gloo's threads, into the interpreter's exit, which they
        # can abort: pytorch#179291)
        freed = group is not None and group() is None
        (Path(sys.argv[2]) / f"freed{os.environ['RANK']}.json").write_text(json.dumps(freed))
