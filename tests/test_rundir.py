"""Run directory: id validation, containment, atomic files, CSV round trip, snapshots, checkpoints."""

import gc
import math
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
import torch

from gan_core import rundir
from gan_core.config import GANConfig
from gan_core.rundir import (
    RunDir,
    RunDirError,
    current_events,
    image_grid,
    list_runs,
    thinned,
    this_process,
    trained_elsewhere,
    validate_run_id,
)

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
    assert list(run.read_events().columns) == ["step", "time", "kind", "detail", "fields"]
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


def test_each_row_is_on_disk_as_a_whole_line_as_soon_as_it_is_appended(tmp_path):
    run = RunDir.create(tmp_path, CFG, "f")
    run.open_metrics(("step", "flags"))
    path = run.path / "metrics.csv"
    assert path.read_bytes() == b"step,flags\n"
    for step in range(1, 6):
        run.append_record((float(step), "a|b"))
        # read through a separate file handle, as a reader after a kill -9 would
        assert path.read_bytes() == b"step,flags\n" + b"".join(b"%d,a|b\n" % i for i in range(1, step + 1))
    run.append_record((6.0, "line\nbreak"))  # a newline in a cell never splits a row
    run.close()
    assert run.read_metrics()["step"].tolist() == list(range(1, 7))
    assert path.read_bytes().count(b"\n") == 7


def test_many_rows_in_one_append_are_the_lines_of_one_append_each(tmp_path):
    rows = [(1.0, 0.5, "a|b"), (2.0, float("nan"), ""), (3.0, 1e-4 / 3, "x\ny")]
    one, many = RunDir.create(tmp_path, CFG, "one"), RunDir.create(tmp_path, CFG, "many")
    for run in (one, many):
        run.open_metrics(("step", "a", "flags"))
    for r in rows:
        one.append_record(r)
    many.append_records(rows)
    many.append_records([])  # nothing to write: nothing written
    assert (many.path / "metrics.csv").read_bytes() == (one.path / "metrics.csv").read_bytes()
    assert (many.path / "metrics.csv").read_bytes().count(b"\n") == 4
    many.close()
    assert many.read_metrics()["step"].tolist() == [1, 2, 3]


def test_a_torn_last_line_is_never_read_and_is_cut_on_reopen(tmp_path):
    run = RunDir.create(tmp_path, CFG, "torn")
    run.open_metrics(("step", "a"))
    for step in (1, 2, 3):
        run.append_record((float(step), 0.5))
    run.close()
    path = run.path / "metrics.csv"
    with open(path, "ab") as f:
        f.write(b"4,0.")  # what a writer killed mid-row would leave
    with open(run.path / "events.csv", "ab") as f:
        f.write(b"9,2026-01-01,fla")
    assert run.read_metrics()["step"].tolist() == [1, 2, 3]
    assert len(run.read_events()) == 0
    run.open_metrics(("step", "a"))  # a resumed run's writer
    assert path.read_bytes() == b"step,a\n1,0.5\n2,0.5\n3,0.5\n"
    run.append_record((4.0, 0.25))
    run.close()
    assert run.read_metrics()["a"].tolist() == [0.5, 0.5, 0.5, 0.25]


def test_rewind_to_drops_later_rows_snapshots_checkpoints_and_temp_files(tmp_path):
    run = RunDir.create(tmp_path, CFG, "rw")
    run.open_metrics(("step", "a"))
    for step in range(1, 13):
        run.append_record((float(step), step / 10))
    run.close()
    for step in (0, 5, 10, 12):
        run.save_snapshot(step, {"points": np.zeros((3, 2))})
    for step in (5, 10, 12):
        run.save_checkpoint({"generator": {}, "discriminator": {}, "step": step, "config": {}}, keep=3)
    (run.path / "samples" / ".step_00000015.npz.x1.tmp").write_bytes(b"half")
    (run.path / ".status.json.x2.tmp").write_text("{")
    before = (run.path / "metrics.csv").stat().st_ino
    assert run.rewind_to(10) == 2
    assert run.read_metrics()["step"].tolist() == list(range(1, 11))
    assert (run.path / "metrics.csv").stat().st_ino != before  # a new file renamed over the old
    assert [s for s, _ in run.snapshot_steps()] == [0, 5, 10]
    assert [s for s, _ in run.checkpoints()] == [5, 10]
    assert not list(run.path.rglob("*.tmp"))
    assert run.rewind_to(10) == 0


def test_last_metrics_step(tmp_path):
    run = RunDir.create(tmp_path, CFG, "last")
    assert run.last_metrics_step() is None
    run.open_metrics(("step", "a"))
    assert run.last_metrics_step() is None  # the header only
    for step in range(1, 3001):
        run.append_record((float(step), 1e-3 * step))
    run.close()
    with open(run.path / "metrics.csv", "ab") as f:
        f.write(b"3001,0.")  # torn
    assert run.last_metrics_step() == 3000


def test_thinning_keeps_an_even_spread_and_the_newest():
    assert thinned(list(range(5)), 5) == ([0, 1, 2, 3, 4], 1)
    assert thinned(list(range(6)), 5) == ([0, 2, 4, 5], 2)
    assert thinned(list(range(101)), 10) == ([0, 16, 32, 48, 64, 80, 96, 100], 16)
    kept, stride = [0, 1, 2], 1
    for step in range(3, 1000):  # one at a time, as a run adds them
        kept, stride = thinned([*kept, step], 20, stride)
        assert 2 <= len(kept) <= 20 and kept[0] == 0 and kept[-1] == step
        assert all(s % stride == 0 for s in kept[:-1])  # evenly spread over the run, the newest aside
    assert stride == 64 and len(kept) == 17
    # steps that are multiples of a sample_every: the stride combines with it
    kept, stride = thinned([(s, "view") for s in range(0, 2100, 100)], 12)
    assert [s for s, _ in kept] == [0, 200, 400, 600, 800, 1000, 1200, 1400, 1600, 1800, 2000]


def test_thin_snapshots_on_disk(tmp_path):
    run = RunDir.create(tmp_path, CFG, "thin")
    stride = 1
    for step in [*range(0, 60, 5), 57]:  # 57: the snapshot a stop takes between two sample steps
        run.save_snapshot(step, {"points": np.zeros((3, 2))})
        stride = run.thin_snapshots(6, stride)
    assert [s for s, _ in run.snapshot_steps()] == [0, 20, 40, 57]
    run.save_snapshot("real", {"points": np.zeros((3, 2))})
    assert run.thin_snapshots(2, stride) == 16
    assert [s for s, _ in run.snapshot_steps()] == [0, 57]
    assert (run.path / "samples" / "real.npz").is_file()  # not a step: never thinned


def test_a_failing_snapshot_write_leaves_no_file(tmp_path, monkeypatch):
    run = RunDir.create(tmp_path, CFG, "atomic")

    def broken(file, **arrays):
        file.write(b"PK half an archive")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", broken)
    with pytest.raises(RunDirError, match="'atomic': cannot write samples/step_00000005.npz: disk full"):
        run.save_snapshot(5, {"points": np.zeros((3, 2))})
    assert list((run.path / "samples").iterdir()) == []


def test_a_write_into_a_deleted_run_folder_says_the_folder_is_gone(tmp_path):
    run = RunDir.create(tmp_path, CFG, "gone")
    run.write_status({"status": "running", "step": 1})
    shutil.rmtree(run.path)  # by hand, while the run trains
    for write in (
        lambda: run.write_status({"status": "running", "step": 2}),
        lambda: run.append_event(2, "hparam", "lr_g: 0.1 -> 0.2", {"field": "lr_g", "old": 0.1, "new": 0.2}),
        lambda: run.save_snapshot(2, {"points": np.zeros((3, 2))}),
    ):
        with pytest.raises(
            RunDirError, match=r"'gone': cannot write .*: its folder '.*gone' is gone \(deleted"
        ):
            write()
    assert not run.path.exists()  # nothing was made again in its place


def test_current_events_leave_out_a_stretch_gone_back_on():
    log = [
        {"step": 0, "kind": "status", "detail": "running"},
        {"step": 8, "kind": "flag", "detail": "x"},
        {"step": 12, "kind": "flag", "detail": "y"},
        {"step": 14, "kind": "status", "detail": "stopped"},
        {"step": 10, "kind": "resume", "detail": "from 10"},
        {"step": 12, "kind": "flag", "detail": "z"},
    ]
    assert [e["detail"] for e in current_events(log)] == ["running", "x", "from 10", "z"]
    assert current_events(log[:4]) == log[:4]


def test_trained_elsewhere_tells_a_live_process_from_a_gone_one():
    assert not trained_elsewhere(this_process())  # this process: not "elsewhere"
    assert not trained_elsewhere({})
    child = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    try:
        start = Path(f"/proc/{child.pid}/stat").read_text().rpartition(")")[2].split()[19]
        assert trained_elsewhere({"pid": child.pid, "pid_start": start})
        assert not trained_elsewhere({"pid": child.pid, "pid_start": "1"})  # the pid, reused
    finally:
        child.communicate(b"")
    assert not trained_elsewhere({"pid": child.pid, "pid_start": start})  # it has exited


def test_events(tmp_path):
    run = RunDir.create(tmp_path, CFG, "e")
    change = {"field": "lr_g", "old": 0.0002, "new": 0.001}
    run.append_event(5, "hparam", "lr_g: 0.0002 -> 0.001", change)
    run.append_event(6, "step_d", "d_loss=nan", {"d_loss": float("nan"), "d_acc_real": np.float32(0.5)})
    events = run.read_events()
    assert events.iloc[-2].to_dict() | {"time": None} == {
        "step": 5, "time": None, "kind": "hparam", "detail": "lr_g: 0.0002 -> 0.001", "fields": change
    }  # fmt: skip
    assert events.iloc[-1]["fields"] == {"d_loss": None, "d_acc_real": 0.5}  # strict JSON: NaN as null
    line = (run.path / "events.csv").read_text().splitlines()[-2]
    assert line.endswith(',"{""field"":""lr_g"",""new"":0.001,""old"":0.0002}"')


def test_events_of_the_older_four_columns_get_their_fields_from_the_detail(tmp_path):
    """Run folders written before events had fields keep opening: their fields are derived once, by
    `legacy_event_fields`, from the detail that version wrote."""
    run = RunDir.create(tmp_path, CFG, "old")
    (run.path / "events.csv").write_text(
        "step,time,kind,detail\n"
        "5,t,hparam,lr_g: 0.0002 -> 0.001\n"
        "7,t,hparam,steps: 3000 -> 4000\n"
        "9,t,flag,mode_collapse: 2 of 8 modes covered\n"
        "12,t,flag_cleared,mode_collapse\n"
        "13,t,status,failed: RuntimeError: x\n"
        '14,t,step_d,"d_loss=1.2, d_acc_real=0.5"\n'
    )
    events, problems = run.read_events_checked()
    assert problems == []
    assert events["fields"].tolist() == [
        {"field": "lr_g", "old": 0.0002, "new": 0.001},
        {"field": "steps", "old": 3000, "new": 4000},
        {"flag": "mode_collapse"},
        {"flag": "mode_collapse"},
        {"status": "failed"},
        {},
    ]


def test_a_writer_appending_to_events_of_the_older_four_columns_upgrades_them_first(tmp_path):
    # A run of the previous version resumed by this one: its new events have five columns, so the file is
    # rewritten in five first (else each new row read as malformed, its fields glued onto its detail).
    run = RunDir.create(tmp_path, CFG, "old")
    (run.path / "events.csv").write_text(
        "step,time,kind,detail\n5,t,hparam,lr_g: 0.0002 -> 0.001\n9,t,flag,mode_collapse: 2 of 8\n"
    )
    change = {"field": "lr_d", "old": 0.0002, "new": 0.0005}
    run.append_event(12, "hparam", "lr_d: 0.0002 -> 0.0005", change)
    run.append_event(13, "status", "running")
    events, problems = run.read_events_checked()
    assert problems == []
    assert events["fields"].tolist() == [
        {"field": "lr_g", "old": 0.0002, "new": 0.001},
        {"flag": "mode_collapse"},
        change,
        {},
    ]
    assert events["detail"].tolist()[2] == "lr_d: 0.0002 -> 0.0005"
    assert (run.path / "events.csv").read_text().splitlines()[0] == "step,time,kind,detail,fields"


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


@pytest.mark.parametrize(
    "damage, reason",
    [
        (
            "random_bytes",
            "no .npz (zip) header",
        ),  # numpy would try them as a pickle and advise an unsafe load
        ("object_array", rundir.PICKLED_DATA),
    ],
)
def test_a_damaged_npz_snapshot_says_what_is_allowed_never_to_load_it_unsafely(tmp_path, damage, reason):
    run = RunDir.create(tmp_path, CFG, "s")
    path = run.save_snapshot(20, {"points": np.zeros((3, 2))})
    if damage == "random_bytes":
        path.write_bytes(np.random.default_rng(0).bytes(300))
    else:
        with path.open("wb") as f:
            np.savez(f, points=np.array([{"x": 1}, None], dtype=object))
    with pytest.raises(RunDirError) as caught:
        run.load_snapshot(path)
    assert str(caught.value) == (
        "samples/step_00000020.npz of run 's' is not a readable .npz snapshot written by this tool "
        f"({reason}); allowed a .npz of numeric arrays, as this tool writes them; no pickled objects"
    )


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


def test_a_generated_run_id_that_clashes_is_drawn_again(tmp_path, monkeypatch):
    import gan_core.rundir as rundir

    ids = iter(["same", "same", "other"])
    monkeypatch.setattr(rundir, "new_run_id", lambda cfg, name=None: next(ids))
    assert RunDir.create(tmp_path, CFG).run_id == "same"
    assert RunDir.create(tmp_path, CFG).run_id == "other"  # "same" again was taken: drawn anew
    with pytest.raises(RunDirError, match="'same' already exists"):
        RunDir.create(tmp_path, CFG, "same")  # a chosen id is never changed


def test_atomic_files_get_the_usual_permissions(tmp_path):
    previous = os.umask(0o022)
    try:
        run = RunDir.create(tmp_path, CFG, "perm")
        run.save_snapshot(0, {"points": np.zeros((3, 2))})
        run.save_checkpoint({"generator": {}, "discriminator": {}, "step": 1, "config": {}}, keep=1)
    finally:
        os.umask(previous)
    for path in (run.path / "status.json", run.path / "config.json", *run.path.glob("*/step_*")):
        assert path.stat().st_mode & 0o777 == 0o644, path  # not mkstemp's private 0600


class _Finalised:
    """Garbage whose collection runs Python code: what lets another thread in during a parse."""

    def __del__(self):
        sum(range(20))


def test_two_threads_read_snapshots_at_once_while_garbage_is_collected(tmp_path):
    # CPython 3.11 shares the AST converter's recursion counter between threads (gh-106905) and numpy
    # parses every .npy header with ast.literal_eval: without rundir's read lock, two threads reading
    # .npz views at once (a run resuming while a page shows its pictures) fail with a SystemError.
    run = RunDir.create(tmp_path, CFG, "s")
    rng = np.random.default_rng(0)
    view = {
        "points": rng.normal(size=(6, 2)),
        "heatmap": rng.uniform(size=(3, 3)),
        "grads": rng.normal(size=(6, 2)),
    }
    run.save_snapshot(10, view)
    path = run.snapshot_steps()[0][1]
    failures: list[str] = []

    def read(times: int) -> None:
        for _ in range(times):
            a = _Finalised()
            a.cycle = _Finalised()
            a.cycle.cycle = a  # only the cyclic collector frees these: it runs at an allocation
            try:
                run.load_snapshot(path)
            except RunDirError as exc:
                failures.append(str(exc))

    threshold, interval = gc.get_threshold(), sys.getswitchinterval()
    gc.set_threshold(20)  # a collection every few allocations,
    sys.setswitchinterval(1e-6)  # and a thread switch at every chance
    try:
        threads = [threading.Thread(target=read, args=(150,)) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        gc.set_threshold(*threshold)
        sys.setswitchinterval(interval)
    assert failures == []
    assert set(run.load_snapshot(path)) == {"points", "heatmap", "grads"}


def test_last_metrics_reads_the_last_whole_row_of_any_length_of_file(tmp_path):
    run = RunDir.create(tmp_path, CFG, "long")
    run.open_metrics(("step", "d_loss", "flags"))
    run.append_records([(s, s / 7, "mode_collapse" if s % 2 else "") for s in range(1, 6001)])  # ~100 kB
    run.close()
    path = run.path / "metrics.csv"
    assert path.stat().st_size > 2 * 64 * 1024  # the tail read starts inside a row
    assert run.last_metrics() == {"step": 6000.0, "d_loss": pytest.approx(6000 / 7, rel=1e-6)}
    with open(path, "ab") as f:
        f.write(b"6001,85")  # a row a kill cut short: not a row yet
    assert run.last_metrics()["step"] == 6000.0
    with open(path, "ab") as f:
        f.write(b"7.1,x\n6002,,\n")  # then whole rows, a cell that is no number and a blank one: NaN
    last = run.last_metrics()
    assert last["step"] == 6002.0 and math.isnan(last["d_loss"])
    path.write_bytes(b"step,d_loss\n")  # a header, no row
    assert run.last_metrics() == {}
    path.unlink()
    assert run.last_metrics() == {}


def test_last_measured_finds_the_latest_evaluation_reading_back_from_the_end(tmp_path, monkeypatch):
    run = RunDir.create(tmp_path, CFG, "evals")
    run.open_metrics(("step", "d_loss", "fd_cls", "modes_covered", "flags"))
    nan = float("nan")
    rows = []
    for s in range(1, 20001):  # ~600 kB: the evaluation at 19,500 is 500 rows, several blocks, back
        measured = s % 500 == 0
        rows.append(
            (s, s / 7, s / 3 if measured else nan, 8.0 if s % 1000 == 0 else nan, "a, b" if s % 3 else "")
        )
    run.append_records(rows)
    run.close()
    assert run.last_measured(("fd_cls", "modes_covered")) == (
        20000,
        {"fd_cls": pytest.approx(20000 / 3), "modes_covered": 8.0},
    )
    step, values = run.last_measured(("fd_cls", "mode_kl"))  # a column the file lacks is left out
    assert step == 20000 and set(values) == {"fd_cls"}
    path = run.path / "metrics.csv"
    data = path.read_bytes()
    path.write_bytes(data[: data.rindex(b"\n20000,")] + b"\n20000,1.5,12")  # its last row torn: no row
    step, values = run.last_measured(("fd_cls", "modes_covered"))
    assert step == 19500 and values["fd_cls"] == pytest.approx(6500) and math.isnan(values["modes_covered"])
    assert run.last_measured(("fd_cls",), max_bytes=1000) is None  # not within the bytes it may read
    for block in (7, 100, 4096):  # blocks of any size: rows (and the quoted flags' commas) across edges
        monkeypatch.setattr(rundir, "_TAIL_BLOCK", block)
        assert run.last_measured(("fd_cls", "modes_covered"), max_bytes=20_000)[0] == 19500
    monkeypatch.undo()
    assert run.last_measured(("no_such_column",)) is None
    path.write_bytes(b"step,fd_cls\n1,\n2,\n")
    assert run.last_measured(("fd_cls",)) is None
    path.write_bytes(b"step,fd_cls\n1,4.5\n")  # the only row, right after the header
    assert run.last_measured(("fd_cls",)) == (1, {"fd_cls": 4.5})
    path.unlink()
    assert run.last_measured(("fd_cls",)) is None


@pytest.mark.parametrize("columns", [None, ("step", "d_loss")])
@pytest.mark.parametrize("damage", ["no_header_line", "binary"])
def test_a_metrics_csv_without_a_step_column_is_refused_by_every_reader_and_writer(tmp_path, damage, columns):
    run = RunDir.create(tmp_path, CFG, "c")
    run.open_metrics(("step", "d_loss", "flags"))
    run.append_records([(s, 0.4517 + s, "") for s in range(1, 6)])
    run.close()
    path = tmp_path / "c" / "metrics.csv"
    if damage == "no_header_line":
        path.write_bytes(path.read_bytes().partition(b"\n")[2])
        header = "'1,1.4517,'"
    else:
        path.write_bytes(np.random.default_rng(3).bytes(2000) + b"\n")  # (a reader reads whole lines only)
        header = "'"
    said = f"run 'c': metrics.csv has no 'step' column (its header: {header}"
    with pytest.raises(RunDirError) as read:
        run.read_metrics_checked(columns)
    assert str(read.value).startswith(said)
    assert str(read.value).endswith(
        "allowed: a first line naming the columns, 'step' among them (as this tool writes it)"
    )
    with pytest.raises(RunDirError) as written:  # a resume checks the file before it writes
        run.check_metrics_writable(("step", "d_loss", "flags"))
    assert str(written.value) == str(read.value)
