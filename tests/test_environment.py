"""What a run trained with (`gan_core.environment`): an ``environment`` event at each start of a built-in
or tracked run, the newest on the Runs page, and Compare's line when runs differ in it."""

from __future__ import annotations

import contextlib
from pathlib import Path

import torch
from streamlit.testing.v1 import AppTest

from gan_core import charts, track
from gan_core.config import GANConfig
from gan_core.environment import (
    ENVIRONMENT_FIELDS,
    REPRODUCIBILITY_FIELDS,
    differences,
    environment,
    environment_detail,
)
from gan_core.registry import RunRegistry
from gan_core.runner import Runner
from gan_core.tracking.schema import event_detail
from tests.test_track_power import Toy

APP_DIR = Path(__file__).resolve().parents[1]
TIMEOUT = 60
TINY = dict(dataset="ring8", width=16, latent_dim=4, batch_size=16, device="cpu", checkpoint_every=0)


@contextlib.contextmanager
def torch_threads(n: int):
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def environments(root: Path, run_id: str) -> list[dict]:
    return [e for e in RunRegistry(root).view(run_id).events if e["kind"] == "environment"]


def test_the_environment_says_versions_device_and_the_threads_in_force():
    with torch_threads(1):
        one = environment("cpu")
    with torch_threads(2):
        two = environment(torch.device("cpu"))
    assert tuple(one) == ENVIRONMENT_FIELDS
    assert (one["torch_threads"], two["torch_threads"]) == (1, 2)
    assert one["torch"] == torch.__version__ and one["device"] == "cpu" and one["cuda"] is None
    assert one["deterministic"] is False and one["python"].count(".") == 2
    assert environment_detail(one) == (
        f"torch {torch.__version__} on cpu, 1 CPU thread, Python {one['python']}, {one['platform']}"
    )
    assert event_detail("environment", two).startswith(f"torch {torch.__version__} on cpu, 2 CPU threads")


def test_a_cuda_device_is_named_with_its_gpu_and_cuda_version(monkeypatch):
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda index: f"Test GPU {index}")
    monkeypatch.setattr(torch.version, "cuda", "13.0")
    found = environment("cuda:1")
    assert found["device"] == "cuda:1 Test GPU 1" and found["cuda"] == "13.0"
    assert "on cuda:1 Test GPU 1, CUDA 13.0" in environment_detail(found)


def test_differences_name_the_fields_that_change_numbers_and_only_those():
    a = {**environment("cpu"), "torch_threads": 1, "python": "3.11.7"}
    b = {**a, "torch_threads": 2, "python": "3.12.1"}  # python: no numbers change with it
    assert differences({"a": a, "b": b, "old": None}) == {"torch_threads": {"a": 1, "b": 2}}
    assert differences({"a": a, "a2": dict(a)}) == {}
    assert differences({"a": a, "old": None}) == {}  # one run recorded one: nothing to compare
    assert set(REPRODUCIBILITY_FIELDS) < set(ENVIRONMENT_FIELDS)
    note = charts.compare_environment_note({"a": a, "b": b})
    assert note is not None and "(CPU threads (torch): a 1, b 2)" in note and "same settings and seed" in note
    assert charts.compare_environment_note({"a": a, "a2": a}) is None
    # one GPU model at another index computes alike: no difference; another model does
    gpu = {**a, "device": "cuda:0 Test GPU", "cuda": "13.0"}
    assert differences({"a": gpu, "b": {**gpu, "device": "cuda:1 Test GPU"}}) == {}
    assert list(differences({"a": gpu, "b": {**gpu, "device": "cuda:0 Other GPU"}})) == ["device"]
    assert list(differences({"a": gpu, "b": {**gpu, "matmul_precision": "high"}})) == ["matmul_precision"]


def test_each_start_of_a_built_in_run_records_its_environment(runs_root):
    with torch_threads(1):
        runner = Runner(GANConfig(**TINY, steps=10), runs_root, "built").start()
        assert runner.wait(TIMEOUT) and runner.status == "finished"
    (first,) = environments(runs_root, "built")
    assert first["step"] == 0 and first["fields"]["torch_threads"] == 1
    with torch_threads(2):  # resumed under other threads: a second start, at the step it goes on from
        registry = RunRegistry(runs_root)
        registry.resume("built", {"steps": 20})
        resumed = registry.runner("built")
        assert resumed.wait(TIMEOUT) and resumed.status == "finished"
    found = environments(runs_root, "built")
    assert [(e["step"], e["fields"]["torch_threads"]) for e in found] == [
        (0, 1),
        (11, 2),
    ]  # (a resume's changes: at its first new step)
    assert RunRegistry(runs_root).view("built").environment["torch_threads"] == 2  # the newest start's


def test_a_tracked_run_records_its_environment_at_the_loops_first_step(runs_root):
    toy = Toy()
    with torch_threads(1):
        run = track.init("tracked", root=runs_root, loss="nonsaturating", real=toy.real, steps=3)
        for _ in range(3):
            toy.step(run)
        run.finish()
    with torch_threads(2):
        run = track.init("tracked", root=runs_root, loss="nonsaturating", real=toy.real, steps=5, resume=True)
        for _ in range(2):
            toy.step(run)
        run.finish()
    found = environments(runs_root, "tracked")
    assert [(e["step"], e["fields"]["torch_threads"], e["fields"]["device"]) for e in found] == [
        (0, 1, "cpu"),
        (4, 2, "cpu"),  # (a resume's changes: at its first new step)
    ]


def test_a_loop_whose_first_call_is_a_g_step_records_its_environment_at_step_0(runs_root):
    toy = Toy()
    run = track.init("g-first", root=runs_root, loss="nonsaturating", real=toy.real, steps=3)
    run.g_step(torch.tensor(0.7))  # a G-only step first
    for _ in range(2):
        toy.step(run)
    run.finish()
    (found,) = environments(runs_root, "g-first")
    assert found["step"] == 0 and found["fields"]["device"] == "cpu"


def test_the_runs_page_shows_the_environment_and_compare_says_when_runs_differ(runs_root):
    toy = Toy()
    for run_id, threads in (("one-thread", 1), ("two-threads", 2)):
        with torch_threads(threads):
            run = track.init(run_id, root=runs_root, loss="nonsaturating", real=toy.real, steps=2)
            for _ in range(2):
                toy.step(run)
            run.finish()
    at = AppTest.from_file(str(APP_DIR / "pages/1_Runs.py"), default_timeout=TIMEOUT)
    at.query_params["run"] = "two-threads"
    at.run()
    assert not at.exception
    assert [e.label for e in at.expander].count("Environment") == 1
    frames = [d.value for d in at.dataframe]
    (env,) = [
        f for f in frames if list(f.columns) == ["name", "value"] and "CPU threads (torch)" in set(f["name"])
    ]
    shown = dict(zip(env["name"], env["value"]))
    assert shown["CPU threads (torch)"] == "2" and shown["CUDA"] == "— (not on CUDA)"
    assert shown["deterministic algorithms"] == "off"
    compare = AppTest.from_file(str(APP_DIR / "pages/2_Compare.py"), default_timeout=TIMEOUT).run()
    assert not compare.exception
    (note,) = [i.value for i in compare.info if "different environments" in i.value]
    assert "CPU threads (torch): " in note and "one-thread 1" in note and "two-threads 2" in note
