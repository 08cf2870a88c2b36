"""Run directory: id validation, containment, atomic files, CSV round trip, snapshots, checkpoints."""

import math

import numpy as np
import pytest
import torch

from gan_core.config import GANConfig
from gan_core.rundir import RunDir, RunDirError, image_grid, list_runs, validate_run_id

CFG = GANConfig(dataset="ring8", width=16, latent_dim=4, device="cpu")


@pytest.mark.parametrize(
    "bad", ["", "..", "../x", "a/b", "/abs", "a..b", ".hidden", "x" * 101, "a b", "a\\b"]
)
def test_bad_run_ids_are_refused(bad, tmp_path):
    with pytest.raises(RunDirError, match="run id .* is invalid"):
        validate_run_id(bad)
    with pytest.raises(RunDirError):
        RunDir.create(tmp_path, CFG, bad)
    assert list(tmp_path.iterdir()) == []  # nothing written anywhere


def test_create_writes_config_status_events(tmp_path):
    run = RunDir.create(tmp_path / "runs", CFG, "r1")
    assert run.path == (tmp_path / "runs" / "r1").resolve()
    assert run.read_config() == CFG
    assert run.read_status()["status"] == "idle"
    assert list(run.read_events().columns) == ["step", "time", "kind", "detail"]
    assert (run.path / "samples").is_dir() and (run.path / "checkpoints").is_dir()
    with pytest.raises(RunDirError, match="already exists"):
        RunDir.create(tmp_path / "runs", CFG, "r1")
    assert [r.run_id for r in list_runs(tmp_path / "runs")] == ["r1"]
    assert RunDir.open(tmp_path / "runs", "r1").read_config() == CFG


def test_default_run_id_is_valid_and_unique(tmp_path):
    a, b = RunDir.create(tmp_path, CFG), RunDir.create(tmp_path, CFG)
    assert a.run_id != b.run_id and a.run_id.startswith("ring8-nonsaturating-")


def test_symlink_out_of_root_is_refused(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    root = tmp_path / "runs"
    root.mkdir()
    (root / "evil").symlink_to(outside)
    with pytest.raises(RunDirError, match="outside the runs folder"):
        RunDir.open(root, "evil")


def test_metrics_round_trip_with_blank_cells(tmp_path):
    run = RunDir.create(tmp_path, CFG, "m")
    run.open_metrics(("step", "a", "b"))
    rows = [(1.0, 0.5, float("nan")), (2.0, 1e-4 / 3, 2.0), (3.0, -7.25, float("nan"))]
    for r in rows:
        run.append_record(r)
    run.close()
    text = (run.path / "metrics.csv").read_text().splitlines()
    assert text[0] == "step,a,b" and text[1] == "1,0.5,"
    frame = run.read_metrics()
    assert frame["step"].tolist() == [1, 2, 3]
    assert frame["a"].tolist() == [0.5, 1e-4 / 3, -7.25]  # exact: repr round-trips floats
    assert math.isnan(frame["b"][0]) and frame["b"][1] == 2.0


def test_metrics_are_flushed_within_a_second(tmp_path, monkeypatch):
    import gan_core.rundir as rundir

    clock = iter([100.0, 100.2, 101.3, 101.4])
    monkeypatch.setattr(rundir.time, "monotonic", lambda: next(clock))
    run = RunDir.create(tmp_path, CFG, "f")
    run.open_metrics(("step",))  # t=100.0
    run.append_record((1.0,))  # t=100.2: still buffered
    assert (run.path / "metrics.csv").read_text() == "step\n"
    run.append_record((2.0,))  # t=101.3: flushed
    assert (run.path / "metrics.csv").read_text() == "step\n1\n2\n"


def test_events(tmp_path):
    run = RunDir.create(tmp_path, CFG, "e")
    run.append_event(5, "hparam", "lr_g: 0.0002 -> 0.001")
    events = run.read_events()
    assert events.iloc[-1].to_dict() | {"time": None} == {
        "step": 5, "time": None, "kind": "hparam", "detail": "lr_g: 0.0002 -> 0.001"
    }  # fmt: skip


def test_snapshots_points_and_images(tmp_path):
    run = RunDir.create(tmp_path, CFG, "s")
    rng = np.random.default_rng(0)
    points = {
        "points": rng.normal(size=(10, 2)),
        "heatmap": rng.uniform(size=(4, 4)),
        "grads": rng.normal(size=(10, 2)),
    }
    run.save_snapshot(100, points)
    grid = rng.integers(0, 256, size=(19, 19, 3), dtype=np.uint8)
    run.save_snapshot(200, {"grid": grid})
    run.save_snapshot("real", {"points": points["points"]})
    steps = run.snapshot_steps()
    assert [s for s, _ in steps] == [100, 200]  # "real" is not a step
    loaded = run.load_snapshot(steps[0][1])
    assert set(loaded) == {"points", "heatmap", "grads"}
    for key in loaded:
        np.testing.assert_allclose(loaded[key], points[key], rtol=1e-6)  # stored as float32
    np.testing.assert_array_equal(run.load_snapshot(steps[1][1])["grid"], grid)  # PNG is lossless
    np.testing.assert_allclose(run.load_snapshot("real")["points"], points["points"], rtol=1e-6)
    with pytest.raises(RunDirError, match="no sample view 'fake'"):
        run.load_snapshot("fake")


def test_image_grid_layout():
    grid = image_grid(np.zeros((4, 1, 8, 8), dtype=np.float32))
    assert grid.dtype == np.uint8 and grid.shape == (2 * 8 + 3, 2 * 8 + 3, 3)


def test_checkpoints_roll_and_load_weights_only(tmp_path):
    run = RunDir.create(tmp_path, CFG, "c")
    for step in (10, 20, 30, 40):
        state = {"generator": {"w": torch.full((2,), float(step))}, "discriminator": {}, "step": step,
                 "config": CFG.to_dict()}  # fmt: skip
        run.save_checkpoint(state, keep=2)
    assert [s for s, _ in run.checkpoints()] == [30, 40]
    state = run.load_checkpoint()
    assert state["step"] == 40 and torch.equal(state["generator"]["w"], torch.full((2,), 40.0))


class Evil:
    def __reduce__(self):
        return (print, ("pwned",))


@pytest.mark.parametrize(
    "content",
    [b"", b"not a checkpoint at all", "pickled code", "truncated", "foreign"],
)
def test_bad_checkpoints_are_refused(tmp_path, content):
    run = RunDir.create(tmp_path, CFG, "bad")
    path = run.path / "checkpoints" / "step_00000001.pt"
    if content == "pickled code":
        torch.save({"generator": Evil(), "discriminator": {}, "step": 1, "config": {}}, path)
    elif content == "truncated":
        torch.save(
            {"generator": {"w": torch.zeros(1000)}, "discriminator": {}, "step": 1, "config": {}}, path
        )
        path.write_bytes(path.read_bytes()[:500])
    elif content == "foreign":
        torch.save({"weights": torch.zeros(3)}, path)
    else:
        path.write_bytes(content)
    with pytest.raises(RunDirError, match="step_00000001.pt"):
        run.load_checkpoint()


def test_no_checkpoint_is_a_clear_error(tmp_path):
    with pytest.raises(RunDirError, match="no checkpoint yet"):
        RunDir.create(tmp_path, CFG, "empty").load_checkpoint()
