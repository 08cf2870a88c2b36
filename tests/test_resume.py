"""Resume and rewind: a run continued from a checkpoint is one history, identical to a run never stopped;
a branch records its parent and leaves it untouched; the Runs and Compare pages offer and show both."""

import ast
import functools
import hashlib
import threading
from pathlib import Path

import pandas as pd
import pytest
import torch
from streamlit.testing.v1 import AppTest

from gan_core import flags as flags_mod
from gan_core import runner as runner_mod
from gan_core.config import ConfigError, GANConfig
from gan_core.flags import FlagMonitor
from gan_core.registry import RegistryError, RunRegistry
from gan_core.rundir import RunBusyError, RunDir, RunDirError
from gan_core.runner import Runner, RunnerError
from tests.conftest import claimed_elsewhere
from ui.common import registry

APP_DIR = Path(__file__).resolve().parents[1]
TINY = dict(
    dataset="ring8", width=16, latent_dim=4, batch_size=16, device="cpu", sample_every=5, eval_every=4
)
TIMEOUT = 60
WALL_CLOCK = ["time_s", "samples_per_s"]  # the only columns allowed to differ between equal runs
RECORD_KEYS = (
    "d_loss",
    "g_loss",
    "d_grad_norm",
    "g_grad_norm",
    "d_acc_real",
    "d_acc_fake",
    "d_real",
    "d_fake",
)


@pytest.fixture(autouse=True)
def quick_flags(monkeypatch):
    """Flags that change within a tiny run (averages over 2 steps, hold 2 steps, 1 evaluation), so that
    the flags column is tested on real changes, and a monitor restarted from scratch would show."""
    monkeypatch.setattr(flags_mod, "SMOOTH_STEPS", 2)
    monkeypatch.setattr(flags_mod, "BALANCE_WARMUP_STEPS", 0)  # no warm-up: flags from the first steps
    monkeypatch.setattr(runner_mod, "FlagMonitor", functools.partial(FlagMonitor, hold_steps=2, hold_evals=1))


def metrics(root, run_id):
    return RunDir.open(root, run_id).read_metrics()


def flag_events(root, run_id, after):
    events = RunDir.open(root, run_id).read_events()
    flags = events[events.kind.isin(["flag", "flag_cleared"]) & (events.step > after)]
    return flags[["step", "kind", "detail"]].reset_index(drop=True)


def finished(runner):
    assert runner.wait(TIMEOUT), "the run did not end"
    assert runner.status == "finished", runner.error
    return runner


def stopped_at(root, run_id, step, **overrides):
    """A run of ``steps`` 24 stopped at ``step`` (final checkpoint there)."""
    runner = Runner(GANConfig(**{**TINY, "steps": 24, "seed": 3, **overrides}), root, run_id).start(
        paused=True
    )
    runner.run_to(step)
    assert runner.wait_until(lambda r: r.status == "paused" and r.current_step == step, TIMEOUT)
    runner.stop()
    assert runner.wait(TIMEOUT) and runner.status == "stopped"
    return runner


def folder_hashes(path):
    return {
        str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(path.rglob("*"))
        if p.is_file()
    }


# ---------------------------------------------------------------------------------------------- resume
def test_a_stopped_and_resumed_run_equals_an_unbroken_one(tmp_path):
    finished(Runner(GANConfig(**TINY, steps=24, seed=3), tmp_path, "unbroken").start())
    stopped_at(tmp_path, "broken", 10)
    assert len(metrics(tmp_path, "broken")) == 10
    resumed = Runner.reopen(RunDir.open(tmp_path, "broken"))
    assert resumed.start_step == 10 and resumed.current_step == 10
    finished(resumed.start())

    a, b = metrics(tmp_path, "unbroken"), metrics(tmp_path, "broken")
    assert b["step"].tolist() == list(range(1, 25))
    pd.testing.assert_frame_equal(a.drop(columns=WALL_CLOCK), b.drop(columns=WALL_CLOCK))  # exact
    after = b.set_index("step").loc[11:, "flags"].fillna("")
    assert (
        after.loc[11] != ""
    )  # a flag held over the stop: a fresh monitor could raise it at 12 at the soonest
    assert after.nunique() >= 2  # flags change after the resume, at the same steps as the unbroken run's
    pd.testing.assert_frame_equal(flag_events(tmp_path, "unbroken", 10), flag_events(tmp_path, "broken", 10))
    assert b["time_s"].is_monotonic_increasing  # one continuous clock across the stop
    events = RunDir.open(tmp_path, "broken").read_events()
    assert events.query("kind == 'resume'")[["step", "detail"]].values.tolist() == [
        [10, "from the checkpoint at step 10"]
    ]
    # one history in memory too: the store refilled from disk, snapshots kept
    assert len(resumed.store) == 24 and resumed.store.view(100)["step"].tolist() == list(range(1, 25))
    assert [s for s, _ in resumed.snapshots] == [0, 5, 10, 15, 20, 24]


def test_registry_resume_after_a_crash_replaces_the_rows_after_the_checkpoint(tmp_path):
    stopped_at(tmp_path, "crash", 13, checkpoint_every=5, steps=0)
    run = RunDir.open(tmp_path, "crash")
    # What a kill -9 after step 13 leaves: the last checkpoint at 10, rows to 13, a status of running.
    run.checkpoints()[-1][1].unlink()
    run.claim("test").write_status({"status": "running"})
    run.release()
    (run.path / "samples" / ".step_00000015.npz.abc.tmp").write_bytes(b"half a file")
    registry = RunRegistry(tmp_path)  # a server started after the crash
    assert [r["status"] for r in registry.summaries()] == ["interrupted"]
    assert registry.view("crash").status == "interrupted"

    runner = registry.resume("crash", {"steps": 24})
    finished(runner)
    frame = metrics(tmp_path, "crash")
    assert frame["step"].tolist() == list(range(1, 25))  # 11..13 replaced, not duplicated
    stopped_at(tmp_path, "clean", 10, checkpoint_every=5)  # the same seed, stopped exactly at 10
    finished(Runner.reopen(RunDir.open(tmp_path, "clean")).start())
    pd.testing.assert_frame_equal(
        frame.drop(columns=WALL_CLOCK), metrics(tmp_path, "clean").drop(columns=WALL_CLOCK)
    )

    log = run.read_events()
    resume = log.query("kind == 'resume'")
    assert resume.step.tolist() == [10] and "3 rows logged after it replaced" in resume.detail.iloc[0]
    assert log.query("kind == 'hparam'")[["step", "detail"]].values.tolist() == [[11, "steps: 0 -> 24"]]
    view = registry.view("crash")
    assert view.live and len(view.store) == 24 and view.status == "finished"
    # The log keeps the stop at 13; the history the charts show goes from 10 straight on.
    assert 13 in log.query("kind == 'status'").step.tolist()
    assert 13 not in [e["step"] for e in view.events if e["kind"] == "status"]
    assert not list(run.path.rglob("*.tmp"))
    assert view.snapshot_steps() == [0, 5, 10, 15, 20, 24]  # the one at 13 (the stop) went with its rows


def test_resume_refuses_a_changed_config_and_records_mid_run_changes(tmp_path):
    stopped_at(tmp_path, "r", 6)
    before = folder_hashes(tmp_path / "r")
    registry = RunRegistry(tmp_path)
    with pytest.raises(ConfigError, match="width=32 cannot change when a run continues.*width=16") as info:
        registry.resume("r", {"width": 32, "lr_g": 1e-3})
    assert info.value.field == "width"
    with pytest.raises(ConfigError, match="lr_g"):
        registry.resume("r", {"lr_g": 5.0})
    with pytest.raises(ConfigError, match="unknown field 'learning_rate'"):
        registry.resume("r", {"learning_rate": 0.1})
    assert folder_hashes(tmp_path / "r") == before and registry.active() == []

    # A whole config (as the sidebar gives) with the same fixed fields: the mid-run ones are changes.
    cfg = GANConfig(**TINY, steps=12, seed=3, lr_g=1e-3, d_steps=2)
    finished(registry.resume("r", cfg))
    frame = metrics(tmp_path, "r").set_index("step")
    assert frame.loc[6, "lr_g"] == pytest.approx(2e-4) and frame.loc[7, "lr_g"] == pytest.approx(1e-3)
    assert frame.loc[6, "d_steps"] == 1 and frame.loc[12, "d_steps"] == 2
    hparams = RunDir.open(tmp_path, "r").read_events().query("kind == 'hparam'")
    assert sorted(hparams.detail) == ["d_steps: 1 -> 2", "lr_g: 0.0002 -> 0.001", "steps: 24 -> 12"]
    assert set(hparams.step) == {7}
    # the log in step order: resume and status at the checkpoint's step 6, then the changes from 7
    events = RunDir.open(tmp_path, "r").read_events()
    after = events.iloc[(events.kind == "resume").to_numpy().argmax() :]
    assert after.step.is_monotonic_increasing, after[["step", "kind"]]
    assert list(after.kind[:5]) == ["resume", "status", "hparam", "hparam", "hparam"]
    assert list(after.step[:5]) == [6, 6, 7, 7, 7]


def test_resume_refusals(tmp_path):
    registry = RunRegistry(tmp_path, max_active=1)
    live = registry.start(GANConfig(**TINY, steps=0), run_id="live", paused=True)
    with pytest.raises(RegistryError, match="'live' is paused here: it needs no resume"):
        registry.resume("live")
    live.stop()
    live.wait(TIMEOUT)

    finished(Runner(GANConfig(**TINY, steps=4), tmp_path, "done").start())  # trained all its steps
    with pytest.raises(RunnerError, match=r"has trained its steps=4: give a steps above 4 \(steps is the"):
        registry.resume("done")

    stopped_at(tmp_path, "bare", 4)
    for _, path in RunDir.open(tmp_path, "bare").checkpoints():
        path.unlink()
    with pytest.raises(RunDirError) as caught:
        registry.resume("bare")
    assert str(caught.value) == (  # (not "it ended before its first one": a stop writes one)
        "run 'bare' has no checkpoint to continue from (its checkpoints folder holds none, though it "
        "stopped at step 4 with checkpoint_every=1000: they were moved or deleted); start a new run"
    )

    # killed before its first: said so, with the step its rows reach (a review: a preset run killed at
    # step 686 of checkpoint_every 5000)
    def edit_status(fields):
        edited = RunDir.open(tmp_path, "bare").claim("editing it by hand")
        edited.write_status(fields)
        edited.release()

    edit_status({"status": "running", "step": 686})
    with pytest.raises(RunDirError) as caught:
        registry.resume("bare")
    assert "(it stopped at step 686, before its first one at step 1000 (checkpoint_every=1000))" in str(
        caught.value
    )
    edit_status({"status": "running", "step": 1500})
    with pytest.raises(RunDirError, match="though it reached step 1500 with checkpoint_every=1000: they"):
        registry.resume("bare")

    # A run whose folder another live process holds (as a CLI run training it would) is neither
    # interrupted nor resumable; once that process is gone it is interrupted.
    stopped_at(tmp_path, "elsewhere", 4)
    RunDir.open(tmp_path, "elsewhere").claim("test").write_status({"status": "running"})
    with claimed_elsewhere(tmp_path / "elsewhere") as holder:
        assert registry.view("elsewhere").status == "running"
        with pytest.raises(RunBusyError, match=f"'elsewhere' is in use by process {holder.pid} on "):
            registry.resume("elsewhere")
    assert registry.view("elsewhere").status == "interrupted"

    registry.start(GANConfig(**TINY, steps=0), paused=True)  # the limit of 1 is reached
    with pytest.raises(RegistryError, match="limit is 1"):
        registry.resume("done", {"steps": 30})
    registry.stop_all(TIMEOUT)


def test_resume_takes_the_latest_checkpoint_the_rows_reach(tmp_path):
    stopped_at(tmp_path, "gap", 13, checkpoint_every=5, steps=0)
    run = RunDir.open(tmp_path, "gap")
    assert [s for s, _ in run.checkpoints()] == [5, 10, 13]
    # rows lost after 12 (a folder from elsewhere): 13 would leave a gap
    run.claim("test").truncate_metrics(12)
    run.release()
    runner = Runner.reopen(run, {"steps": 15})
    assert runner.start_step == 10
    finished(runner.start())
    assert run.read_metrics()["step"].tolist() == list(range(1, 16))


def test_flag_monitor_state_round_trips_through_a_checkpoint(tmp_path):
    def record(step):
        acc = 0.99 if 25 <= step < 40 else 0.5  # D overpowers, then balance
        norm = 500.0 if 20 <= step < 34 else 1.0  # gradients explode for a while
        return dict(d_loss=1.0, g_loss=1.0, d_grad_norm=norm, g_grad_norm=1.0,
                    d_acc_real=acc, d_acc_fake=acc, d_real=0.5, d_fake=0.5)  # fmt: skip

    records = [record(step) for step in range(60)]
    whole, first = FlagMonitor(hold_steps=3), FlagMonitor(hold_steps=3)
    expected = [whole.update(r) for r in records]
    got = [first.update(r) for r in records[:30]]
    torch.save({"flags": first.state_dict()}, tmp_path / "c.pt")
    second = FlagMonitor(hold_steps=3)
    second.load_state_dict(torch.load(tmp_path / "c.pt", weights_only=True)["flags"])
    # (D ahead from step 25: d_leads first, superseded by d_overpowers after the checkpoint)
    assert second.active == first.active == {"exploding_gradients", "d_leads"}
    assert isinstance(second.active, set)
    got += [second.update(r) for r in records[30:]]
    assert got == expected and any(expected[30:])  # the same changes at the same steps, and some happen
    second.load_state_dict({"a_field_of_another_version": 1})  # ignored, not an error
    assert not hasattr(second, "a_field_of_another_version")


def test_a_checkpoint_without_the_monitors_step_count_resumes_past_the_warm_ups(tmp_path):
    # Checkpoints saved before the monitor counted its steps: the warm-ups are over where they stopped,
    # not restarted (which would clear the flags raised before and hold mode collapse back 2,000 steps).
    stopped_at(tmp_path, "old", 12, checkpoint_every=12)
    path = RunDir.open(tmp_path, "old").latest_checkpoint()
    state = torch.load(path, weights_only=True)
    assert state["flags"].pop("steps_seen") == 12
    torch.save(state, path)
    runner = Runner.reopen(RunDir.open(tmp_path, "old")).start(paused=True)
    assert runner.wait_until(lambda r: r.status == "paused" and r.trainer is not None, TIMEOUT)
    assert runner.monitor.steps_seen == 12
    runner.stop()
    assert runner.wait(TIMEOUT)


def test_a_conditional_checkpoint_from_before_within_class_diversity_forgets_its_best_diversity(tmp_path):
    # Before diversity was measured within each class, a conditional digits run's best (~1.2) was
    # measured across the classes: as a reference for the new measure it would raise mode_collapse at
    # the first evaluation of a healthy run. A checkpoint that says it measured within classes keeps it.
    digits = dict(
        dataset="digits", width=16, latent_dim=4, batch_size=16, eval_every=4, conditioning="concat"
    )

    def resumed_best(run_id, within):
        stopped_at(tmp_path, run_id, 8, checkpoint_every=8, **digits)
        path = RunDir.open(tmp_path, run_id).latest_checkpoint()
        state = torch.load(path, weights_only=True)
        assert state["flags"]["diversity_within_classes"] is True  # what this version writes
        if within:
            state["flags"]["_best"]["diversity"] = 0.7
        else:  # as checkpointed before: no such field, the best across the classes
            del state["flags"]["diversity_within_classes"]
            state["flags"]["_best"]["diversity"] = 1.2
        torch.save(state, path)
        runner = Runner.reopen(RunDir.open(tmp_path, run_id)).start(paused=True)
        assert runner.wait_until(lambda r: r.status == "paused" and r.trainer is not None, TIMEOUT)
        best = runner.monitor.state_dict()["_best"]
        assert runner.monitor.diversity_within_classes is True
        runner.stop()
        assert runner.wait(TIMEOUT)
        return best

    assert "diversity" not in resumed_best("before", within=False)
    assert resumed_best("after", within=True)["diversity"] == 0.7
    # an unconditional run measures diversity across its samples, as it always did
    stopped_at(tmp_path, "plain", 8, checkpoint_every=8, **{**digits, "conditioning": "none"})
    state = torch.load(RunDir.open(tmp_path, "plain").latest_checkpoint(), weights_only=True)
    assert state["flags"]["diversity_within_classes"] is False


# ---------------------------------------------------------------------------------------------- rewind
def test_branch_records_its_parent_and_leaves_it_untouched(tmp_path):
    finished(Runner(GANConfig(**TINY, steps=20, seed=3, checkpoint_every=5), tmp_path, "parent").start())
    parent = tmp_path / "parent"
    before = folder_hashes(parent)
    registry = RunRegistry(tmp_path)
    assert registry.view("parent").checkpoint_steps() == [10, 15, 20]  # keep_checkpoints=3

    with pytest.raises(RunDirError, match="no checkpoint at step 5: kept steps 10, 15, 20"):
        registry.branch("parent", 5)
    with pytest.raises(ConfigError, match="loss='hinge' cannot change"):
        registry.branch("parent", 10, {"loss": "hinge"})
    # a steps it is past, said of the run branched from (it named the branch's id, a folder never made)
    with pytest.raises(RunnerError, match=r"^a branch of run parent from step 15 is at step 15, past the "):
        registry.branch("parent", 15, {"steps": 12})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["parent"]  # refused before any folder is made

    same = finished(registry.branch("parent", 10))
    other = finished(registry.branch("parent", 10, {"lr_g": 1e-3}, new_run_id="faster"))
    assert same.run_id == "parent-at10" and other.run_id == "faster"
    assert folder_hashes(parent) == before  # byte for byte

    a, b, c = metrics(tmp_path, "parent"), metrics(tmp_path, "parent-at10"), metrics(tmp_path, "faster")
    assert b["step"].tolist() == c["step"].tolist() == list(range(1, 21))
    pd.testing.assert_frame_equal(a.iloc[:10], c.iloc[:10])  # the history up to the branch, as it was
    pd.testing.assert_frame_equal(a.drop(columns=WALL_CLOCK), b.drop(columns=WALL_CLOCK))  # same road
    assert (c.loc[c.step > 10, "lr_g"] == 1e-3).all() and (a["lr_g"] == 2e-4).all()
    assert not torch.equal(torch.tensor(a["g_loss"].values[10:]), torch.tensor(c["g_loss"].values[10:]))

    rows = {r["run_id"]: r for r in registry.summaries()}
    assert (rows["faster"]["parent"], rows["faster"]["parent_step"]) == ("parent", 10)
    assert (rows["parent"]["parent"], rows["parent"]["parent_step"]) == ("", None)
    view = registry.view("faster")
    assert (view.parent, view.parent_step) == ("parent", 10)
    disk = RunRegistry(tmp_path).view("faster")
    assert (disk.parent, disk.parent_step, disk.status) == ("parent", 10, "finished")
    branched = [(e["step"], e["detail"]) for e in disk.events if e["kind"] == "branch"]
    assert branched == [(10, "from run parent at step 10")]
    assert [e["step"] for e in disk.events if e["kind"] == "hparam"] == [11]
    assert max(e["step"] for e in disk.events if e["kind"] == "status" and e["detail"] == "running") == 10
    assert disk.snapshot_steps() == [0, 5, 10, 15, 20]
    # a branch of a finished run's last checkpoint must be given more steps to train
    with pytest.raises(RunnerError, match="has trained its steps=20: give a steps above 20"):
        registry.branch("parent", 20)
    assert not (tmp_path / "parent-at20").exists()
    finished(registry.branch("parent", 20, {"steps": 22}))
    assert metrics(tmp_path, "parent-at20")["step"].tolist() == list(range(1, 23))


def test_snapshots_on_disk_stay_within_keep_snapshots(tmp_path):
    runner = finished(
        Runner(GANConfig(**{**TINY, "sample_every": 1}, steps=60, keep_snapshots=8), tmp_path, "s").start()
    )
    on_disk = [s for s, _ in RunDir.open(tmp_path, "s").snapshot_steps()]
    # 0..56 every 8 and the newest would be 9: every 16 th step, and the newest
    assert on_disk == [0, 16, 32, 48, 60]
    assert [s for s, _ in runner.snapshots] == on_disk
    assert RunRegistry(tmp_path).view("s").snapshot_steps() == on_disk


# ---------------------------------------------------------------------------------------------- pages


def page(path):
    """``path`` opened as a user gets there: the app starts at the Train view, then switches page."""
    at = AppTest.from_file(str(APP_DIR / "dashboard.py"), default_timeout=TIMEOUT).run()
    return at.switch_page(path)


def test_runs_page_resumes_a_stopped_run_and_branches_a_new_one(runs_root):
    stopped_at(runs_root, "r1", 6, checkpoint_every=3, steps=0)
    at = page("pages/1_Runs.py").run()
    assert not at.exception
    table = at.dataframe[0].value
    assert {"parent", "parent_step", "size_mb"} <= set(table.columns)
    assert table.loc[0, "size_mb"] > 0
    at.button(key="runs_resume").click().run()
    assert not at.exception
    runner = registry().runner("r1")
    assert (
        runner is not None and runner.status in ("running", "paused") and at.session_state["run_id"] == "r1"
    )
    runner.stop()
    runner.wait(TIMEOUT)

    at = page("pages/1_Runs.py").run()
    pick = at.selectbox(key="runs_branch_step:r1")
    kept = RunDir.open(runs_root, "r1").checkpoints()
    assert pick.options == [f"step {s}" for s, _ in reversed(kept)]
    pick.select(kept[0][0]).run()
    at.button(key="runs_branch").click().run()
    assert not at.exception
    child = at.session_state["run_id"]
    assert child != "r1" and registry().view(child).parent == "r1"
    registry().runner(child).stop()
    registry().runner(child).wait(TIMEOUT)

    at = page("pages/1_Runs.py").run()
    at.selectbox(key="runs_pick").select(child).run()
    assert any(f"Branched from **r1** at step {kept[0][0]}" in c.value for c in at.markdown)
    at.selectbox(key="runs_pick").select("r1").run()
    assert any(f"Branches: **{child}**" in c.value for c in at.markdown)

    cmp = page("pages/2_Compare.py").run()
    cmp.multiselect(key="cmp_runs").set_value(["r1", child]).run()
    assert not cmp.exception
    (lineage,) = [d.value for d in cmp.dataframe if "parent" in d.value.columns]
    assert lineage.set_index("run")["parent"].to_dict() == {"r1": "", child: "r1"}

    # A review: the parent deleted without a word of its branch, which then named it as if it were there
    at = page("pages/1_Runs.py").run()
    at.selectbox(key="runs_pick").select("r1").run()
    assert any(f"Branched from it: **{child}**" in m.value for m in at.markdown)
    at.button(key="runs_delete").click().run()
    assert not at.exception and "r1" not in registry().statuses()
    at = page("pages/1_Runs.py").run()
    at.selectbox(key="runs_pick").select(child).run()
    assert any(f"Branched from **r1** at step {kept[0][0]} (deleted since" in m.value for m in at.markdown)


def test_a_training_thread_never_parses_python_source_as_it_resumes_or_fails(tmp_path, monkeypatch):
    # numpy reads every .npy header with ast.literal_eval, and a traceback is formatted with ast.parse;
    # on CPython 3.11 a parse in a training thread while a page is compiled in Streamlit's script thread
    # can fail in either with "AST constructor recursion depth mismatch" (gh-106905). So a resume reads
    # its pictures in the thread that reopens the run, and a failed run's traceback is formatted when read.
    stopped_at(tmp_path, "r", 10)
    parsed_in: list[str] = []
    parse = ast.parse

    def recording(*args, **kwargs):
        parsed_in.append(threading.current_thread().name)
        return parse(*args, **kwargs)

    monkeypatch.setattr(ast, "parse", recording)  # ast.literal_eval calls it too
    runner = Runner.reopen(RunDir.open(tmp_path, "r"), {"steps": 14})
    assert parsed_in and set(parsed_in) == {threading.current_thread().name}  # the snapshots, read here
    parsed_in.clear()
    finished(runner.start())
    assert [s for s, _ in runner.snapshots] == [0, 5, 10, 14]  # those read, then the last step's
    assert runner.real_view is not None and runner.real_view["points"].shape[1] == 2
    assert parsed_in == []
    assert len(metrics(tmp_path, "r")) == 14

    def boom(*args, **kwargs):
        raise RuntimeError("injected failure")

    monkeypatch.setattr(runner_mod.Trainer, "step_async", boom)
    failed = Runner.reopen(RunDir.open(tmp_path, "r"), {"steps": 20})
    parsed_in.clear()
    failed.start()
    assert failed.wait(TIMEOUT) and failed.status == "failed"
    assert failed.error == "RuntimeError: injected failure" and parsed_in == []
    text = failed.traceback  # formatted now, in this thread
    assert text.startswith("Traceback (most recent call last):") and "in boom" in text
    assert text.rstrip().endswith("RuntimeError: injected failure")
