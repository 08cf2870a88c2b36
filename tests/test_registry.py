"""RunRegistry: live runs and runs on disk behind one RunView, the concurrency limit, delete, stop_all."""

import json
import socket

import pytest

from gan_core.config import GANConfig
from gan_core.registry import Job, RegistryError, RunRegistry, RunView, banner_order, read_job
from gan_core.rundir import RunDir
from gan_core.runner import Runner

TINY = dict(dataset="ring8", width=16, latent_dim=4, batch_size=16, device="cpu", sample_every=5)
TIMEOUT = 60


def finished_run(root, run_id, **overrides):
    runner = Runner(GANConfig(**{**TINY, "steps": 10, **overrides}), root, run_id).start()
    assert runner.wait(TIMEOUT) and runner.status == "finished"
    return runner


def test_disk_run_reads_like_a_live_one(tmp_path):
    live = finished_run(tmp_path, "done", instance_noise=0.1)
    view = RunRegistry(tmp_path).view("done")  # a fresh registry: this run is on disk only
    assert not view.live and view.status == "finished" and view.current_step == 10
    assert view.cfg == live.cfg and view.device == "cpu"
    assert len(view.store) == 10
    assert view.store.latest() == pytest.approx(live.store.latest(), nan_ok=True)
    assert view.snapshot_steps() == [0, 5, 10]
    step, snap = view.snapshot(7)
    assert step == 5 and snap["points"].shape == (1000, 2) and "heatmap" in snap
    assert view.snapshot()[0] == 10
    assert view.real_view()["points"].shape == (1000, 2)
    assert [e["kind"] for e in view.events][:1] == ["status"]
    assert view.hparams["instance_noise"] == pytest.approx(0.1)


def test_live_view_and_limit(tmp_path):
    registry = RunRegistry(tmp_path, max_active=1)
    runner = registry.start(GANConfig(**TINY, steps=0), run_id="live", paused=True)
    view = registry.view("live")
    assert view.live and view.runner is runner
    with pytest.raises(RegistryError, match="limit is 1"):
        registry.start(GANConfig(**TINY, steps=0))
    with pytest.raises(RegistryError, match="stop it before deleting"):
        registry.delete("live")
    assert [r.run_id for r in registry.active()] == ["live"]
    registry.stop_all(TIMEOUT)
    assert runner.status == "stopped" and registry.active() == []
    again = registry.start(GANConfig(**TINY, steps=3))  # room again once stopped
    assert again.wait(TIMEOUT) and again.status == "finished"


def test_interrupted_run_is_reported(tmp_path):
    run = Runner(GANConfig(**TINY, steps=0), tmp_path, "cut").start(paused=True)
    run.wait_until(lambda r: r.trainer is not None and len(r.snapshots) == 1, TIMEOUT)
    # another server (a fresh registry) sees a folder that says paused, held by a live writer: paused
    fresh = RunRegistry(tmp_path)
    assert fresh.view("cut").status == "paused"
    run.stop()
    run.wait(TIMEOUT)
    # the writer gone (as after a kill -9) and status.json still saying paused: cut off
    RunDir.open(tmp_path, "cut").claim("test").write_status({"status": "paused"})
    assert fresh.view("cut").status == "interrupted"
    assert [r["status"] for r in fresh.summaries()] == ["interrupted"]


def test_a_run_another_process_is_starting_is_watched_live(tmp_path):
    """A CLI run opened while it loaded its data (status idle, its writer holding the folder) was shown
    read-only at step 0 and never went live."""
    writer = RunDir.create(tmp_path, GANConfig(**TINY), "starting").claim("another process")
    writer.write_status({"status": "idle", "step": 0})
    view = RunRegistry(tmp_path).view("starting")
    assert (view.status, view.external, view.live) == ("idle", True, False)
    writer.release()  # the writer gone while still idle: cut off, nothing to watch
    view = RunRegistry(tmp_path).view("starting")
    assert (view.status, view.external) == ("interrupted", False)


def test_summaries_and_delete(tmp_path):
    finished_run(tmp_path, "a")
    finished_run(tmp_path, "b", loss="hinge")
    (tmp_path / "not-a-run").mkdir()
    registry = RunRegistry(tmp_path)
    rows = {r["run_id"]: r for r in registry.summaries()}
    assert set(rows) == {"a", "b"}
    assert rows["b"]["loss"] == "hinge" and rows["a"]["status"] == "finished" and rows["a"]["step"] == 10
    assert 0.0 < rows["a"]["size_mb"] < 50.0
    registry.delete("a")
    assert not (tmp_path / "a").exists() and [r["run_id"] for r in registry.summaries()] == ["b"]
    with pytest.raises(RegistryError, match="no run 'a'"):
        registry.delete("a")
    with pytest.raises(ValueError, match="run id"):
        registry.delete("../b")
    assert (tmp_path / "b").exists()


def test_run_ids_judge_folders_as_summaries_do(tmp_path):
    finished_run(tmp_path, "a")
    finished_run(tmp_path, "b")
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "config.json").write_text("{not json")
    (tmp_path / "linked").symlink_to(tmp_path / "a")  # never read through
    registry = RunRegistry(tmp_path)
    readable, unreadable = registry.run_ids()
    rows = registry.summaries(unreadable=True)
    assert readable == [r["run_id"] for r in rows if r["status"] != "unreadable"]
    assert unreadable == [r["run_id"] for r in rows if r["status"] == "unreadable"]
    assert sorted(readable) == ["a", "b"] and sorted(unreadable) == ["broken", "linked"]


def test_view_cache_follows_the_files(tmp_path):
    finished_run(tmp_path, "c")
    registry = RunRegistry(tmp_path)
    first = registry.view("c")
    assert registry.view("c") is first  # unchanged files: cached
    width = (tmp_path / "c" / "metrics.csv").read_text().partition("\n")[0].count(",") + 1
    with open(tmp_path / "c" / "metrics.csv", "a") as f:
        f.write(",".join(["11"] + ["0.5"] * (width - 1)) + "\n")  # a whole row: one field per column
    import os

    os.utime(tmp_path / "c" / "metrics.csv", (1e9, 2e9))
    assert len(registry.view("c").store) == 11


def test_bad_max_active():
    with pytest.raises(ValueError, match="max_active=0"):
        RunRegistry("/tmp", max_active=0)


def test_nearest_snapshot_step(tmp_path):
    finished_run(tmp_path, "snaps", steps=12)  # snapshots at 0, 5, 10 and the last step, 12
    view = RunRegistry(tmp_path).view("snaps")
    assert view.snapshot_steps() == [0, 5, 10, 12]
    assert [view.nearest_snapshot_step(x) for x in (-3, 2, 2.5, 3, 7.9, 11, 11.5, 400)] == [
        0,
        0,
        0,
        5,
        10,
        10,
        12,
        12,
    ]


def say_job(run_dir, **fields):
    """Rewrite the run's status.json as a multi-process job's rank 0 writes it (``None``: leave it out)."""
    path = run_dir / "status.json"
    status = json.loads(path.read_text())
    status.update(fields)
    path.write_text(json.dumps({k: v for k, v in status.items() if v is not None}))


def test_a_run_of_two_processes_reads_as_a_job_with_its_throughput(tmp_path):
    finished_run(tmp_path, "job")
    say_job(tmp_path / "job", world_size=2, backend="gloo", hosts=["node-a", "node-b"])
    view = RunRegistry(tmp_path).view("job")
    assert view.job == Job(2, "gloo", ("node-a", "node-b")) and view.job.distributed
    assert view.world_size == 2 and view.problems == []
    per_process = view.store.latest()["samples_per_s"]
    assert per_process > 0  # samples_per_s in metrics.csv is the ranks' average: the job's is twice that
    assert view.throughput == pytest.approx((per_process, 2 * per_process), rel=1e-12)


def test_one_process_and_an_older_run_read_as_one_process(tmp_path):
    live = finished_run(tmp_path, "one")
    # what the runner writes for one process: world_size 1, no backend, this host
    assert json.loads((tmp_path / "one" / "status.json").read_text())["world_size"] == 1
    view = RunRegistry(tmp_path).view("one")
    assert view.job == Job(1, None, (socket.gethostname(),)) and not view.job.distributed
    per_process = view.store.latest()["samples_per_s"]
    assert view.throughput == pytest.approx((per_process, per_process), rel=1e-12)
    # the live view of the same runner: one process on this host
    live_view = RunView(live.run_id, live.cfg, live.run_dir, live.store, live)
    assert live_view.job == Job(1, None, (socket.gethostname(),)) and live_view.world_size == 1
    # a run written before multi-process jobs: none of the fields, one process
    say_job(tmp_path / "one", world_size=None, backend=None, hosts=None)
    older = RunRegistry(tmp_path).view("one")
    assert older.job == Job() and older.world_size == 1 and older.problems == []


def test_job_fields_of_the_wrong_type_are_named_and_left_out(tmp_path):
    finished_run(tmp_path, "odd")
    say_job(tmp_path / "odd", world_size="2", backend=3, hosts="node-a")
    view = RunRegistry(tmp_path).view("odd")
    assert view.job == Job() and view.world_size == 1
    assert view.problems == [
        "status.json: field 'world_size' is the text '2'; expected an integer ≥ 1",
        "status.json: field 'backend' is 3; expected a text or null",
        "status.json: field 'hosts' is the text 'node-a'; expected a list of host names (texts)",
    ]
    for bad in (0, True, -2):
        assert read_job({"world_size": bad, "hosts": ["a", 1]})[0] == Job()
    assert read_job({"world_size": 8, "backend": "nccl", "hosts": ["a", "b"]}) == (
        Job(8, "nccl", ("a", "b")),
        [],
    )


def test_banners_put_the_runs_end_first_then_failures_then_what_to_watch_and_the_healthy_signature():
    """A run that diverged showed its three banners alphabetically: ``diverged``, the run's end, between
    ``d_overpowers`` and ``vanishing_gradients``."""
    raised = ["vanishing_gradients", "equilibrium", "d_leads", "diverged", "d_overpowers", "flag_of_v9"]
    assert banner_order(raised) == [
        "diverged",
        "d_overpowers",
        "vanishing_gradients",
        "d_leads",
        "equilibrium",
        "flag_of_v9",  # a flag this version does not know: last
    ]
    assert banner_order(["d_leads", "d_leads"]) == ["d_leads"] and banner_order([]) == []
