"""Runner: the background thread's commands, statuses, live changes, run folder and determinism."""

import math
import threading

import numpy as np
import pandas as pd
import pytest
import torch

import gan_core.classifier as classifier_module
from gan_core.config import ConfigError, GANConfig
from gan_core.evaluation import EVAL_COLUMNS, Evaluator
from gan_core.rundir import RunDir
from gan_core.runner import Runner, RunnerError
from gan_core.trainer import CSV_COLUMNS

TINY = dict(dataset="ring8", width=16, latent_dim=4, batch_size=16, device="cpu", sample_every=5)
TIMEOUT = 60


def paused_at(step):
    return lambda r: r.status == "paused" and r.current_step == step


def ended(r):
    return r.status in ("finished", "stopped", "failed")


def test_runs_to_the_end_and_writes_the_folder(tmp_path):
    runner = Runner(GANConfig(**TINY, steps=12, checkpoint_every=5), tmp_path, "done").start()
    assert runner.wait(TIMEOUT) and runner.status == "finished"
    run = RunDir.open(tmp_path, "done")
    metrics = run.read_metrics()
    assert list(metrics.columns) == list(CSV_COLUMNS)
    assert metrics["step"].tolist() == list(range(1, 13))
    assert metrics[["d_loss", "g_loss", "d_acc_real", "d_acc_fake"]].notna().all().all()
    assert run.read_status()["status"] == "finished" and run.read_status()["step"] == 12
    assert run.read_status()["device"] == "cpu"
    assert [s for s, _ in run.snapshot_steps()] == [0, 5, 10, 12]
    assert [s for s, _ in run.checkpoints()] == [5, 10, 12]
    events = run.read_events()
    assert events[events.kind == "status"].detail.tolist() == ["running", "finished"]
    assert len(runner.store) == 12 and runner.store.latest()["step"] == 12.0
    assert [s for s, _ in runner.snapshots] == [0, 5, 10, 12]


def test_pause_step_resume_stop(tmp_path):
    runner = Runner(GANConfig(**TINY, steps=0), tmp_path, "ctl").start(paused=True)
    assert runner.wait_until(lambda r: r.trainer is not None and len(r.snapshots) == 1, TIMEOUT)
    assert runner.status == "paused" and runner.current_step == 0
    runner.step()  # full step
    runner.step("g")
    runner.step("d")  # no record: D only
    assert runner.wait_until(lambda r: any(e["kind"] == "step_d" for e in r.events), TIMEOUT)
    assert runner.current_step == 2 and runner.status == "paused"
    kinds = [e["kind"] for e in runner.events]
    assert kinds.count("step_full") == 1 and kinds.count("step_g") == 1
    (d_only,) = [e for e in runner.events if e["kind"] == "step_d"]
    assert d_only["step"] == 2 and 0.0 <= d_only["fields"]["d_acc_real"] <= 1.0  # its metrics: no row
    runner.run_to(7)
    assert runner.wait_until(paused_at(7), TIMEOUT)
    runner.step("d")
    assert runner.wait_until(lambda r: [e["kind"] for e in r.events].count("step_d") == 2, TIMEOUT)
    runner.step("g")
    assert runner.wait_until(lambda r: r.current_step == 8, TIMEOUT)
    runner.resume()
    assert runner.wait_until(lambda r: r.status == "running", TIMEOUT)
    runner.pause()
    assert runner.wait_until(lambda r: r.status == "paused", TIMEOUT)
    at_pause = runner.current_step
    assert at_pause >= 7 and len(runner.store) == at_pause
    runner.stop()
    assert runner.wait(TIMEOUT) and runner.status == "stopped"
    assert runner.current_step == at_pause  # stop from pause trains nothing more
    assert RunDir.open(tmp_path, "ctl").read_metrics()["step"].tolist() == list(range(1, at_pause + 1))
    with pytest.raises(RunnerError, match="stopped"):
        runner.resume()


def test_stop_while_running_takes_effect_within_a_step(tmp_path):
    runner = Runner(GANConfig(**TINY, steps=0), tmp_path, "stop").start()
    runner.run_to(5)
    assert runner.wait_until(paused_at(5), TIMEOUT)
    runner.resume()
    runner.stop()
    assert runner.wait(TIMEOUT) and runner.status == "stopped"
    metrics = RunDir.open(tmp_path, "stop").read_metrics()
    assert len(metrics) == runner.current_step and metrics["step"].is_monotonic_increasing
    assert RunDir.open(tmp_path, "stop").latest_checkpoint() is not None  # checkpoint at stop


def test_live_hyperparameter_change_is_recorded_with_its_step(tmp_path):
    runner = Runner(GANConfig(**TINY, steps=0), tmp_path, "live").start(paused=True)
    runner.run_to(4)
    assert runner.wait_until(paused_at(4), TIMEOUT)
    runner.set_hparams(lr_g=1e-3, d_steps=2, label_smoothing=0.1)
    runner.run_to(8)
    assert runner.wait_until(paused_at(8), TIMEOUT)
    runner.stop()
    runner.wait(TIMEOUT)
    run = RunDir.open(tmp_path, "live")
    metrics = run.read_metrics().set_index("step")
    assert metrics.loc[4, "lr_g"] == pytest.approx(2e-4) and metrics.loc[5, "lr_g"] == pytest.approx(1e-3)
    assert metrics.loc[4, "d_steps"] == 1 and metrics.loc[5, "d_steps"] == 2
    assert metrics.loc[8, "label_smoothing"] == pytest.approx(0.1)
    hp = run.read_events().query("kind == 'hparam'")
    assert sorted(hp.detail) == ["d_steps: 1 -> 2", "label_smoothing: 0.0 -> 0.1", "lr_g: 0.0002 -> 0.001"]
    assert set(hp.step) == {5}


def test_bad_live_changes_are_refused_without_harm(tmp_path):
    runner = Runner(GANConfig(**TINY, steps=0), tmp_path, "bad").start(paused=True)
    with pytest.raises(ConfigError, match="lr_g"):
        runner.set_hparams(lr_g=5.0)
    with pytest.raises(ValueError, match="'width' cannot change mid-run"):
        runner.set_hparams(width=8)
    with pytest.raises(RunnerError, match="step mode 'x'"):
        runner.step("x")
    runner.run_to(2)
    assert runner.wait_until(paused_at(2), TIMEOUT)
    assert runner.hparams["lr_g"] == pytest.approx(2e-4)
    runner.stop()
    assert runner.wait(TIMEOUT) and runner.status == "stopped"


def test_failure_is_reported_and_records_kept(tmp_path, monkeypatch):
    from gan_core import trainer as trainer_mod

    original = trainer_mod.Trainer.step_async
    calls = {"n": 0}
    marked = 8675309  # this run's seed: a run another test left training in this process is not counted

    def flaky(self):
        if self.cfg.seed == marked:
            calls["n"] += 1
            if calls["n"] == 4:
                raise RuntimeError("boom")
        return original(self)

    monkeypatch.setattr(trainer_mod.Trainer, "step_async", flaky)
    runner = Runner(GANConfig(**{**TINY, "seed": marked}, steps=10), tmp_path, "fail").start()
    assert runner.wait(TIMEOUT) and runner.status == "failed"
    assert runner.error == "RuntimeError: boom"
    run = RunDir.open(tmp_path, "fail")
    assert run.read_status()["status"] == "failed" and "boom" in run.read_status()["error"]
    # step 3's record was still on its way (records lag a step) when step 4 failed: it is recorded too
    assert run.read_metrics()["step"].tolist() == [1, 2, 3]
    assert run.read_events().detail.iloc[-1] == "failed: RuntimeError: boom"


def test_a_failure_between_two_steps_keeps_a_checkpoint_of_the_last_row(tmp_path, monkeypatch):
    """Between two steps (a multi-process job's ranks vote there: another rank's end is seen as a broken
    collective) the networks are as the last row has them: the failed run keeps a final checkpoint at
    that row and resumes from it (only a failure inside a step's updates could not)."""
    runner = Runner(GANConfig(**TINY, steps=0, checkpoint_every=0), tmp_path, "boundary")
    polled = runner._poll_command_file

    def vote():  # the top of the loop, before the next step
        if runner.trainer is not None and runner.trainer.step_count >= 7:
            raise RuntimeError(
                "[/__w/gloo/pair.cc:545] Read error [127.0.0.1]:148: Connection reset by peer."
            )
        polled()

    monkeypatch.setattr(runner, "_poll_command_file", vote)
    runner.start()
    assert runner.wait(TIMEOUT) and runner.status == "failed"
    run = RunDir.open(tmp_path, "boundary")
    last = int(run.read_metrics()["step"].iloc[-1])
    assert last == 7
    assert [step for step, _ in run.checkpoints()] == [7]
    resumed = Runner.reopen(run, {"steps": 9})
    resumed.start()
    assert resumed.wait(TIMEOUT) and resumed.status == "finished"
    assert run.read_metrics()["step"].tolist() == list(range(1, 10))


def test_a_broken_collective_is_said_as_another_ranks_end_without_gloos_path():
    from gan_core.distributed import collective_failure

    gloo = RuntimeError(
        "[/__w/pytorch/pytorch/third_party/gloo/gloo/transport/tcp/pair.cc:545] Read error [127.0.0.1]:148: "
        "Connection reset by peer. This may indicate a possible application crash on rank 0. GLHF! \U0001f3d6"
    )
    assert collective_failure(gloo, 2, 336) == (
        "a collective of the 2-process job failed at step 336 (another rank most likely ended: its own "
        "output says why): RuntimeError: Read error [127.0.0.1]:148: Connection reset by peer"
    )
    assert collective_failure(RuntimeError("CUDA out of memory"), 2, 5) is None
    assert collective_failure(ValueError("Connection reset by peer"), 2, 5) is None


def test_same_seed_gives_identical_metrics_csv_apart_from_time(tmp_path):
    frames = []
    for name in ("a", "b"):
        Runner(GANConfig(**{**TINY, "dataset": "digits"}, steps=15, seed=5), tmp_path, name).start().wait(
            TIMEOUT
        )
        frames.append(RunDir.open(tmp_path, name).read_metrics().drop(columns=["time_s", "samples_per_s"]))
    pd.testing.assert_frame_equal(frames[0], frames[1])
    measured = [c for c in frames[0].columns if c not in (*EVAL_COLUMNS, "flags")]
    assert len(frames[0]) == 15 and not frames[0][measured].isna().any().any()


def test_evaluations_fill_quality_columns_every_eval_every_steps(tmp_path):
    runner = Runner(GANConfig(**TINY, steps=10, eval_every=4), tmp_path, "eval").start()
    assert runner.wait(TIMEOUT) and runner.status == "finished"
    metrics = RunDir.open(tmp_path, "eval").read_metrics().set_index("step")
    evaluated = metrics["modes_covered"].dropna()
    assert evaluated.index.tolist() == [4, 8]
    assert ((evaluated >= 0) & (evaluated <= 8)).all()
    assert metrics.loc[[4, 8], ["hq_pct", "mode_kl", "grid_kl", "grid_js"]].notna().all().all()
    assert metrics.loc[[4, 8], ["classes_covered", "diversity"]].isna().all().all()  # image metrics only
    assert runner.store.view(100)["modes_covered"].notna().sum() == 2


def test_divergence_stops_the_run_as_failed_and_keeps_records(tmp_path, monkeypatch):
    from gan_core import trainer as trainer_mod

    original = trainer_mod.Trainer.step_async

    def nan_at_six(self):
        pending = original(self)
        if pending.step == 6:
            pending.result()["d_loss"] = float("nan")  # the record the runner will read, a step later
        return pending

    monkeypatch.setattr(trainer_mod.Trainer, "step_async", nan_at_six)
    runner = Runner(GANConfig(**TINY, steps=20), tmp_path, "div").start()
    assert runner.wait(TIMEOUT) and runner.status == "failed"
    assert "diverged at step 6: d_loss not finite" in runner.error
    run = RunDir.open(tmp_path, "div")
    metrics = run.read_metrics()
    assert metrics["step"].tolist() == list(range(1, 7)) and metrics["flags"].iloc[-1] == "diverged"
    flags = run.read_events().query("kind == 'flag'")
    assert flags.detail.str.startswith("diverged").tolist() == [True] and flags.step.tolist() == [6]
    assert run.read_status()["flags"] == ["diverged"]
    # no checkpoint of the weights past the divergence (a review: the Divergence preset's run wrote one at
    # step 215, a step after the diverged row, and Resume went on from it to diverge again at once)
    assert run.checkpoints() == []


def test_commands_before_start_are_refused(tmp_path):
    runner = Runner(GANConfig(**TINY), tmp_path, "early")
    with pytest.raises(RunnerError, match="not been started"):
        runner.pause()
    runner.start(paused=True)
    with pytest.raises(RunnerError, match="already started"):
        runner.start()
    runner.stop()
    assert runner.wait(TIMEOUT)


def test_image_run_snapshots_are_grids(tmp_path):
    runner = Runner(GANConfig(**{**TINY, "dataset": "digits"}, steps=5), tmp_path, "img").start()
    assert runner.wait(TIMEOUT) and runner.status == "finished"
    step, view = runner.snapshots[-1]
    grid = view["grid"]
    assert step == 5 and grid.ndim == 3 and grid.shape[2] == 3 and grid.dtype.name == "uint8"
    assert runner.real_view["grid"].shape == grid.shape
    assert (runner.run_dir.path / "samples" / "real.png").is_file()
    latest = runner.store.latest()
    assert math.isfinite(latest["d_loss"])


def test_a_failing_evaluation_is_recorded_and_training_goes_on(tmp_path, monkeypatch):
    from gan_core import evaluation

    def broken(self, G, D=None):
        raise RuntimeError("classifier unavailable")

    monkeypatch.setattr(evaluation.Evaluator, "evaluate", broken)
    runner = Runner(GANConfig(**TINY, steps=8, eval_every=4), tmp_path, "evalfail").start()
    assert runner.wait(TIMEOUT) and runner.status == "finished"
    errors = RunDir.open(tmp_path, "evalfail").read_events().query("kind == 'eval_error'")
    assert errors.step.tolist() == [4, 8] and (errors.detail == "RuntimeError: classifier unavailable").all()


def test_records_are_read_back_a_step_late_and_exact_where_the_networks_are_read(tmp_path, monkeypatch):
    """Issue 15: step N's scalars are read while step N + 1 trains (the device never waits for the
    host); a step that is snapshotted, evaluated, checkpointed or the last is recorded at once."""
    from gan_core import trainer as trainer_mod

    original = trainer_mod.Trainer.step_async
    marked = 1234567
    rows_at_call: dict[int, int] = {}

    def watched(self):
        if self.cfg.seed == marked:
            rows_at_call[self.step_count + 1] = len(runner.store)
        return original(self)

    monkeypatch.setattr(trainer_mod.Trainer, "step_async", watched)
    cfg = GANConfig(**{**TINY, "seed": marked, "sample_every": 7}, steps=16, eval_every=1000)
    runner = Runner(cfg, tmp_path, "lagged").start()
    assert runner.wait(TIMEOUT) and runner.status == "finished"
    # when step N starts, step N - 2 is recorded (N - 1 is on its way), unless N - 1 was the first step
    # (the first point on the charts) or a snapshot step
    expected = {n: n - 1 if n - 1 in (0, 1) or (n - 1) % 7 == 0 else n - 2 for n in range(1, 17)}
    assert rows_at_call == expected
    metrics = RunDir.open(tmp_path, "lagged").read_metrics()
    assert metrics["step"].tolist() == list(range(1, 17))  # the last step too: nothing is left on its way
    # the records are the synchronous path's, value for value (same seed)
    twin = trainer_mod.Trainer(cfg)
    synchronous = [twin.step() for _ in range(16)]
    for column in ("d_loss", "g_loss", "d_acc_real", "d_fake", "g_grad_norm"):
        got = metrics[column].to_numpy()
        assert got == pytest.approx([r[column] for r in synchronous], rel=1e-6, abs=1e-7), column


def test_a_pause_records_every_trained_step_first(tmp_path):
    runner = Runner(GANConfig(**{**TINY, "sample_every": 1000}, eval_every=1000), tmp_path, "held").start()
    assert runner.wait_until(lambda r: len(r.store) >= 5, TIMEOUT)
    runner.pause()
    assert runner.wait_until(lambda r: r.status == "paused", TIMEOUT)
    # paused between two steps: the store holds every step trained, the last one included
    assert runner.store.latest()["step"] == float(runner.current_step)
    runner.stop()
    assert runner.wait(TIMEOUT)


def test_run_to_a_step_trained_but_not_yet_recorded_pauses_at_once(tmp_path):
    runner = Runner(GANConfig(**{**TINY, "sample_every": 1000}, eval_every=1000), tmp_path, "runto").start()
    assert runner.wait_until(lambda r: r.current_step >= 5, TIMEOUT)
    runner.run_to(runner.current_step + 1)  # while running, the trainer may be a step further already
    assert runner.wait_until(lambda r: r.status == "paused", TIMEOUT)
    paused_at_step = runner.current_step
    assert runner.store.latest()["step"] == float(paused_at_step)
    runner.stop()
    assert runner.wait(TIMEOUT)


def test_an_evaluation_under_way_says_its_step_and_whether_it_trains_the_classifier(tmp_path, monkeypatch):
    """`Runner.evaluating` is what a page reads while the steps stand still for an evaluation: the first
    one of digit images in a process trains the classifier first (seconds), the next does not; None
    between evaluations and once the run has ended."""
    monkeypatch.setattr(classifier_module, "_cache", {})  # this process has trained no classifier yet
    seen, entered, release = [], threading.Event(), threading.Event()
    measure = Evaluator.evaluate

    def held(self, G, D=None):  # the real evaluation, the first one held until the test has looked
        seen.append(runner.evaluating)
        entered.set()
        assert release.wait(TIMEOUT)
        return measure(self, G, D)

    monkeypatch.setattr(Evaluator, "evaluate", held)
    runner = Runner(GANConfig(**{**TINY, "dataset": "digits"}, steps=4, eval_every=2), tmp_path, "evals")
    assert runner.evaluating is None
    runner.start()
    assert entered.wait(TIMEOUT)
    during = runner.evaluating
    release.set()
    assert during is not None and (during.step, during.trains_classifier) == (2, True)
    assert runner.wait(TIMEOUT) and runner.status == "finished", runner.error
    assert [(e.step, e.trains_classifier) for e in seen] == [(2, True), (4, False)]
    assert runner.evaluating is None
    assert math.isfinite(runner.store.latest()["classes_covered"])  # the evaluations measured for real


def test_points_evaluations_train_no_classifier(tmp_path, monkeypatch):
    monkeypatch.setattr(classifier_module, "_cache", {})
    seen = []
    measure = Evaluator.evaluate

    def watched(self, G, D=None):
        seen.append(runner.evaluating)
        return measure(self, G, D)

    monkeypatch.setattr(Evaluator, "evaluate", watched)
    runner = Runner(GANConfig(**TINY, steps=4, eval_every=2), tmp_path, "points")
    runner.start()
    assert runner.wait(TIMEOUT) and runner.status == "finished", runner.error
    assert [(e.step, e.trains_classifier) for e in seen] == [(2, False), (4, False)]


def test_a_divergence_on_a_g_only_step_names_the_columns_it_measured(tmp_path):
    """A G-only step leaves d_grad_norm blank: the error named it among the columns not finite."""
    runner = Runner(GANConfig(**TINY, steps=0), tmp_path, "g-only").start(paused=True)
    assert runner.wait_until(lambda r: r.trainer is not None and len(r.snapshots) == 1, TIMEOUT)
    runner.step()
    assert runner.wait_until(lambda r: any(e["kind"] == "step_full" for e in r.events), TIMEOUT)
    with torch.no_grad():
        for p in runner.trainer.G.parameters():
            p.fill_(float("nan"))
    runner.step("g")
    assert runner.wait_until(ended, TIMEOUT) and runner.status == "failed"
    error = runner.error
    assert error.startswith("DivergedError: diverged at step 2: ") and "d_grad_norm" not in error
    assert "g_loss" in error
    (flag,) = [e for e in runner.events if e["kind"] == "flag" and e["fields"]["flag"] == "diverged"]
    assert "d_grad_norm" in flag["fields"]["unmeasured"] and "g_loss" in flag["fields"]["columns"]
    # The pause after step 1 checkpointed it; the step that diverged is in no checkpoint (its weights are
    # NaN): a resume goes on from step 1's finite weights
    ((step, path),) = RunDir.open(tmp_path, "g-only").checkpoints()
    assert step == 1
    state = torch.load(path, weights_only=True)
    assert all(torch.isfinite(t).all() for t in state["generator"].values())


def test_a_command_to_an_ended_run_says_resume_continues_it(tmp_path):
    """Pause in a tab that still showed the run training, after Stop in another, said "start a new run"
    while Resume, right there, continues it."""
    runner = Runner(GANConfig(**TINY, steps=0), tmp_path, "ended").start()
    assert runner.wait_until(lambda r: r.current_step >= 1, TIMEOUT)
    runner.stop()
    assert runner.wait_until(ended, TIMEOUT) and runner.status == "stopped"
    with pytest.raises(RunnerError, match=r"^run ended is stopped: Resume continues it .*, or Start trains"):
        runner.pause()


def same_weights(saved: dict, module: torch.nn.Module) -> bool:
    live = module.state_dict()
    return saved.keys() == live.keys() and all(torch.equal(saved[k], live[k]) for k in live)


def test_a_paused_run_is_checkpointed_as_it_stands_at_the_pause_and_after_each_single_step(tmp_path):
    """A paused run can be left for hours: a server killed meanwhile lost every step since the last
    checkpoint_every (here none: 0), single steps included. The pause checkpoints the networks as they
    stand, a D-only step rewrites that step's checkpoint with the new D, a G step adds its own; a resume
    after a crash (the newest checkpoint metrics.csv reaches) goes on from the last single step."""
    from gan_core.runner import newest_checkpoint

    cfg = GANConfig(**{**TINY, "sample_every": 1000}, eval_every=1000, checkpoint_every=0, steps=0)
    runner = Runner(cfg, tmp_path, "kept").start()
    assert runner.wait_until(lambda r: r.current_step >= 3, TIMEOUT)
    runner.pause()
    assert runner.wait_until(lambda r: r.status == "paused", TIMEOUT)
    paused = runner.current_step
    run_dir = RunDir.open(tmp_path, "kept")

    def newest() -> tuple[int, dict]:
        step, path = newest_checkpoint(run_dir)
        return step, torch.load(path, weights_only=True)

    step, state = newest()
    assert [s for s, _ in run_dir.checkpoints()] == [paused] and step == paused
    assert same_weights(state["generator"], runner.trainer.G) and same_weights(
        state["discriminator"], runner.trainer.D
    )
    runner.step("d")
    assert runner.wait_until(lambda r: any(e["kind"] == "step_d" for e in r.events), TIMEOUT)
    step, after_d = newest()
    assert step == paused and same_weights(after_d["discriminator"], runner.trainer.D)
    assert not same_weights(state["discriminator"], runner.trainer.D)  # D's update is in it
    runner.step("g")
    assert runner.wait_until(lambda r: any(e["kind"] == "step_g" for e in r.events), TIMEOUT)
    step, after_g = newest()
    assert step == paused + 1 and after_g["step"] == paused + 1
    assert same_weights(after_g["generator"], runner.trainer.G)
    # one checkpoint a pause: the single step's replaced the pause's (stepping pushes none of the kept
    # ones out, the checkpoint_every ones a rewind goes back to)
    assert [s for s, _ in run_dir.checkpoints()] == [paused + 1]
    runner.step()
    assert runner.wait_until(lambda r: any(e["kind"] == "step_full" for e in r.events), TIMEOUT)
    assert [s for s, _ in run_dir.checkpoints()] == [paused + 2]
    runner.resume()
    assert runner.wait_until(lambda r: r.current_step >= paused + 5, TIMEOUT)
    runner.pause()  # a later pause keeps the earlier one's: a point the run went on from
    assert runner.wait_until(lambda r: r.status == "paused", TIMEOUT)
    second = runner.current_step
    assert [s for s, _ in run_dir.checkpoints()] == [paused + 2, second]
    runner.step("g")
    assert runner.wait_until(lambda r: r.current_step == second + 1, TIMEOUT)
    assert runner.wait_until(lambda r: [e["kind"] for e in r.events].count("step_g") == 2, TIMEOUT)
    assert [s for s, _ in run_dir.checkpoints()] == [paused + 2, second + 1]
    runner.stop()
    assert runner.wait(TIMEOUT) and runner.status == "stopped"
    assert run_dir.checkpoints()[-1][0] == runner.current_step  # the run's end: its final one, as before


def test_single_steps_never_push_the_periodic_checkpoints_out(tmp_path):
    """With keep_checkpoints=2 and a checkpoint every 4 steps, a pause at step 8 (checkpointed already)
    saves none; a D step there rewrites step 8's with the new D; three full steps then take one place
    of the two, not three: step 8's stays beside the newest single step's (it is no pause's own, though
    rewritten), and only step 4's, the oldest, makes room, as a pause's or a stop's checkpoint would."""
    cfg = GANConfig(**{**TINY, "sample_every": 1000}, eval_every=1000, checkpoint_every=4, keep_checkpoints=2)
    runner = Runner(cfg, tmp_path, "periodic").start(paused=True)
    runner.run_to(8)
    assert runner.wait_until(paused_at(8), TIMEOUT)
    run_dir = RunDir.open(tmp_path, "periodic")
    assert [s for s, _ in run_dir.checkpoints()] == [4, 8]
    runner.step("d")
    assert runner.wait_until(lambda r: any(e["kind"] == "step_d" for e in r.events), TIMEOUT)
    assert [s for s, _ in run_dir.checkpoints()] == [4, 8]
    for n in range(1, 4):
        runner.step()
        assert runner.wait_until(
            lambda r, n=n: [e["kind"] for e in r.events].count("step_full") == n, TIMEOUT
        )
    assert [s for s, _ in run_dir.checkpoints()] == [8, 11]
    runner.stop()
    assert runner.wait(TIMEOUT)


def test_a_pause_and_each_single_step_are_snapshotted(tmp_path):
    """GAN Lab's exercise: pause, update D and see its verdict move, update G and see its points move. The
    snapshot at the paused step exists; a D-only step (no G step) replaces it with D's new verdict, a G
    step adds one with G's new points; memory and folder hold one snapshot per step."""
    cfg = GANConfig(**{**TINY, "sample_every": 1000}, eval_every=1000)
    runner = Runner(cfg, tmp_path, "exercise").start()
    assert runner.wait_until(lambda r: r.current_step >= 3, TIMEOUT)
    runner.pause()
    assert runner.wait_until(lambda r: r.status == "paused", TIMEOUT)
    paused = runner.current_step
    step, before = runner.snapshots[-1]
    assert step == paused  # not step 0, the last one at sample_every
    runner.step("d")
    assert runner.wait_until(lambda r: any(e["kind"] == "step_d" for e in r.events), TIMEOUT)
    step, after_d = runner.snapshots[-1]
    assert step == paused and [s for s, _ in runner.snapshots].count(paused) == 1
    assert not np.allclose(after_d["heatmap"], before["heatmap"])  # D moved
    np.testing.assert_array_equal(after_d["points"], before["points"])  # G did not
    on_disk = dict(RunDir.open(tmp_path, "exercise").snapshot_steps())
    np.testing.assert_array_equal(np.load(on_disk[paused])["heatmap"], after_d["heatmap"])
    runner.step("g")
    assert runner.wait_until(lambda r: any(e["kind"] == "step_g" for e in r.events), TIMEOUT)
    step, after_g = runner.snapshots[-1]
    assert step == paused + 1
    assert not np.allclose(after_g["points"], after_d["points"])  # G moved its points
    runner.step()
    assert runner.wait_until(lambda r: any(e["kind"] == "step_full" for e in r.events), TIMEOUT)
    assert [s for s, _ in runner.snapshots][-3:] == [paused, paused + 1, paused + 2]
    assert [s for s, _ in RunDir.open(tmp_path, "exercise").snapshot_steps()] == [
        0,
        paused,
        paused + 1,
        paused + 2,
    ]
    runner.stop()
    assert runner.wait(TIMEOUT) and runner.status == "stopped"


def test_a_single_step_onto_a_periodic_checkpoint_leaves_keep_checkpoints_as_it_is(tmp_path):
    """A review: a single step that reached a checkpoint_every step saved it with keep_checkpoints kept,
    which pushed the pause's own out; the next step still counted on removing that one and saved with
    one more kept: two checkpoints where keep_checkpoints=1."""
    cfg = GANConfig(**{**TINY, "sample_every": 1000}, eval_every=1000, checkpoint_every=4, keep_checkpoints=1)
    runner = Runner(cfg, tmp_path, "one").start(paused=True)
    runner.run_to(5)
    assert runner.wait_until(paused_at(5), TIMEOUT)
    run_dir = RunDir.open(tmp_path, "one")
    assert [s for s, _ in run_dir.checkpoints()] == [5]  # the pause's (step 4's made room: keep 1)
    for n, kept in zip(range(1, 5), ([6], [7], [8], [9]), strict=True):
        runner.step()
        assert runner.wait_until(
            lambda r, n=n: [e["kind"] for e in r.events].count("step_full") == n, TIMEOUT
        )
        assert [s for s, _ in run_dir.checkpoints()] == kept
    runner.stop()
    assert runner.wait(TIMEOUT)
