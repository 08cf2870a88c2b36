"""A checkpoint that is not the run's own (another run's file, a hand-edited sample shape or step) is refused
by Resume, Branch and the Probe alike, with one message, before any network is built or anything written;
the Probe page says when its address names a run the runs folder does not hold."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import torch
from streamlit.testing.v1 import AppTest

from gan_core import checkpoint_fit, probe
from gan_core import runner as runner_mod
from gan_core.config import GANConfig
from gan_core.rundir import RunDir, RunDirError
from gan_core.runner import Runner

APP_DIR = Path(__file__).resolve().parents[1]
TIMEOUT = 60
TINY = dict(width=16, latent_dim=4, batch_size=16, device="cpu", checkpoint_every=10, sample_every=10)


def stopped_run(root: Path, run_id: str, **overrides) -> RunDir:
    """A run of steps 40 stopped at step 20, with checkpoints at steps 10 and 20."""
    cfg = GANConfig(**{**TINY, "dataset": "ring8", "steps": 40, **overrides})
    runner = Runner(cfg, root, run_id).start(paused=True)
    runner.run_to(20)
    assert runner.wait_until(lambda r: r.status == "paused" and r.current_step == 20, TIMEOUT)
    runner.stop()
    assert runner.wait(TIMEOUT) and runner.status == "stopped"
    return RunDir.open(root, run_id)


def fingerprint(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def checkpoint(run_dir: RunDir, step: int) -> Path:
    return run_dir.path / "checkpoints" / f"step_{step:08d}.pt"


def edit(path: Path, **changes) -> None:
    state = torch.load(path, weights_only=True)
    torch.save({**state, **changes}, path)


@pytest.fixture
def ring_with_a_digits_checkpoint(runs_root) -> RunDir:
    """A ring8 run (2D points) whose newest checkpoint is a digits run's (both at step 20), in the app's
    runs folder."""
    ring = stopped_run(runs_root, "ring")
    digits = stopped_run(runs_root, "digits", dataset="digits")
    foreign = checkpoint(ring, 20)
    foreign.write_bytes(checkpoint(digits, 20).read_bytes())
    return ring


FOREIGN = (
    "checkpoint step_00000020.pt of run 'ring' is not this run's: it holds dataset 'digits' (the run's: "
    "'ring8'), sample shape (1, 8, 8) (the run's: (2,)); refused, as G and D of this run cannot be rebuilt "
    "from it (a checkpoint of another run, or one edited by hand). Allowed: a checkpoint this run saved"
)


# ---------------------------------------------------------------------------------------------- 1. resume
def test_resume_refuses_another_runs_checkpoint_before_anything_is_written(ring_with_a_digits_checkpoint):
    ring = ring_with_a_digits_checkpoint
    before = fingerprint(ring.path)
    for steps in ({"steps": 50}, None):  # with no steps: not "has trained its steps" of the digits run
        with pytest.raises(RunDirError) as refused:
            Runner.reopen(RunDir.open(ring.root, "ring"), steps)
        assert str(refused.value) == f"{FOREIGN}; older kept checkpoints: steps 10"
    with pytest.raises(RunDirError, match="is not this run's: it holds dataset 'digits'"):
        Runner.branch(RunDir.open(ring.root, "ring"), 20)
    assert fingerprint(ring.path) == before  # status.json still says stopped, with its reason
    assert RunDir.open(ring.root, "ring").read_status()["status"] == "stopped"
    assert sorted(p.name for p in ring.root.iterdir()) == ["digits", "ring"]  # no branch left behind


def test_the_cli_resume_says_the_same(ring_with_a_digits_checkpoint, cli):
    ring = ring_with_a_digits_checkpoint
    before = fingerprint(ring.path)
    result = cli("train", "--resume", str(ring.path), "--steps", "50")
    err = " ".join(result.stderr.split())
    assert result.returncode != 0 and FOREIGN in err and "older kept checkpoints: steps 10" in err
    assert "size mismatch" not in err and "Traceback" not in err
    assert fingerprint(ring.path) == before


# ---------------------------------------------------------------------------------------------- 2. shape
@pytest.mark.parametrize(
    "changes, said",
    [
        ({"sample_shape": [3, 1500, 1500]}, "sample shape (3, 1500, 1500) (the run's: (2,))"),
        ({"sample_shape": "2"}, "sample shape '2', not a list of whole numbers ≥ 1 (the run's: (2,))"),
        ({"n_classes": 10**9}, "n_classes 1000000000 (the run's: 0, as it is unconditional)"),
        ({"config": None}, "its config is None, not an object of settings"),
    ],
)
def test_an_edited_checkpoint_is_refused_before_any_network_is_built(tmp_path, monkeypatch, changes, said):
    ring = stopped_run(tmp_path, "ring")
    edit(checkpoint(ring, 20), **changes)

    def never(*args, **kwargs):
        raise AssertionError("a network was built from an edited checkpoint")

    monkeypatch.setattr(probe, "build_models", never)
    monkeypatch.setattr(runner_mod, "build_models", never)
    with pytest.raises(RunDirError, match="step_00000020.pt of run 'ring'") as refused:
        probe.checkpoint_models(ring, checkpoint(ring, 20))
    assert said in str(refused.value)
    with pytest.raises(RunDirError) as refused:
        Runner.reopen(RunDir.open(tmp_path, "ring"), {"steps": 50})
    assert said in str(refused.value) and str(refused.value).endswith("older kept checkpoints: steps 10")


def test_the_runs_own_image_shape_is_known_without_its_data():
    assert checkpoint_fit.run_sample_shape(GANConfig(dataset="ring8")) == (2,)
    assert checkpoint_fit.run_sample_shape(GANConfig(dataset="digits", model="mlp")) == (None, 8, 8)
    digits_rgb = GANConfig(dataset="digits", model="mlp", channels=3, image_size=16)
    assert checkpoint_fit.run_sample_shape(digits_rgb) == (3, 16, 16)


# ---------------------------------------------------------------------------------------------- 3. probe
def test_probe_refuses_another_runs_checkpoint_and_a_step_not_its_names(ring_with_a_digits_checkpoint):
    ring = ring_with_a_digits_checkpoint
    with pytest.raises(RunDirError) as refused:
        probe.checkpoint_models(ring, checkpoint(ring, 20))
    assert str(refused.value) == FOREIGN
    # its own checkpoint, renamed: the menu would say one step and the caption another
    checkpoint(ring, 10).rename(checkpoint(ring, 30))
    with pytest.raises(RunDirError) as refused:
        probe.checkpoint_models(ring, checkpoint(ring, 30))
    assert str(refused.value) == (
        "checkpoint step_00000030.pt of run 'ring' holds step 10, but its name says step 30; refused, as its "
        "weights would be shown as those of another step. Allowed: a checkpoint whose step is the one in its "
        "name; pick another"
    )


def test_probe_page_says_why_another_runs_checkpoint_cannot_be_probed(ring_with_a_digits_checkpoint):
    at = AppTest.from_file(str(APP_DIR / "pages" / "4_Probe.py"), default_timeout=TIMEOUT)
    at.session_state["probe_run"] = "ring"
    at.run()
    assert not at.exception
    assert at.selectbox(key="probe_weights_ring").value == 20
    assert [e.value for e in at.error] == [f"These weights cannot be probed: {FOREIGN}"]
    at.selectbox(key="probe_weights_ring").set_value(10).run()
    assert not at.exception and not at.error
    assert any(c.value.endswith("G and D at step 10") for c in at.caption)


# ---------------------------------------------------------------------------------------------- 4. address
def probe_page(address_run: str) -> AppTest:
    at = AppTest.from_file(str(APP_DIR / "pages" / "4_Probe.py"), default_timeout=TIMEOUT)
    at.query_params["run"] = address_run
    return at.run()


def test_probe_page_says_the_address_names_a_run_it_does_not_hold(runs_root):
    """/Probe?run=nonexistent showed the newest run without a word while the address named another."""
    stopped_run(runs_root, "older")
    stopped_run(runs_root, "newest")
    at = probe_page("nonexistent")
    assert not at.exception
    assert at.selectbox(key="probe_run").value == "newest"
    assert [e.value for e in at.error] == [
        "The address names run nonexistent, which the runs folder does not hold (not started yet, deleted "
        "or moved). Shown below: the newest run, newest."
    ]
    at.selectbox(key="probe_run").set_value("older").run()  # picked by hand: nothing more to say
    assert not at.exception and not at.error
    at = probe_page("older")  # a run it holds: shown, without a word
    assert not at.exception and not at.error and at.selectbox(key="probe_run").value == "older"
