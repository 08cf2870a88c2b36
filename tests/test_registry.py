"""RunRegistry: live runs and runs on disk behind one RunView, the concurrency limit, delete, stop_all."""

import pytest

from gan_core.config import GANConfig
from gan_core.registry import RegistryError, RunRegistry
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
    with open(tmp_path / "c" / "metrics.csv", "a") as f:
        f.write(",".join(["11"] + ["0.5"] * 21) + "\n")
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
