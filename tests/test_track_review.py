"""A review's misuse of the tracking API (`gan_core.track`), each one `TrackingError` (or a
`TrackingWarning`) that says what is wrong and what is allowed, raised before anything is written or the
run is marked failed: G's output in a shape no snapshot can draw (channels last, (N, H, W), flattened),
real images as (N, H, W) or channels last with no dataset named, labels that are no class indices, the
conditional watch's message naming the user's noise, and G's images of another size than real's."""

from __future__ import annotations

import importlib.util
import json
import os
import pydoc
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import gan_core.track as track
import gan_core.tracking.track
from gan_core.rundir import RunDir

IMAGES = "(N, C, H, W) images with C 1 or 3"


def real_images(n: int = 64, channels: int = 1, size: int = 8) -> torch.Tensor:
    torch.manual_seed(0)
    return torch.rand(n, channels, size, size) * 2 - 1


def generator(*shape: int) -> nn.Module:
    """G: (N, 16) noise -> (N, *shape) in [-1, 1]."""
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(16, int(torch.tensor(shape).prod())), nn.Tanh(), nn.Unflatten(1, shape))


def steps_drawn(root, run_id: str) -> list[int]:
    return [step for step, _ in RunDir.open(root, run_id).snapshot_steps()]


def status_of(root, run_id: str) -> dict:
    return json.loads((root / run_id / "status.json").read_text())


# ---------------------------------------------------------------------------- 1. G's output
@pytest.mark.parametrize(
    ("shape", "fix"),
    [
        ((8, 8, 1), " (channels last: return x.permute(0, 3, 1, 2) from G's forward)"),
        ((8, 8), " (one channel, (N, H, W): return x.unsqueeze(1) from G's forward)"),
        ((64,), " (flattened: watch nn.Sequential(G, nn.Unflatten(1, (1, 8, 8))))"),
        ((2, 8, 8), ""),  # two channels: a PNG of gray and alpha, not the images
    ],
    ids=["channels-last", "hw", "flat", "two-channels"],
)
def test_a_g_whose_images_no_snapshot_can_draw_is_refused_at_watch_and_snapshot(tmp_path, shape, fix):
    """Channels last failed in PIL ("Cannot handle this data type: (1, 1, 8), |u1") and, inside
    `with run:`, marked the run failed with that text; a flat G drew one strip of pixels."""
    G = generator(*shape)
    expected = (
        f"G's output has shape {(16, *shape)}, which no snapshot can draw: allowed {IMAGES}, as real's "
        f"(64, 1, 8, 8){fix}"
    )
    with track.init("nhwc", root=tmp_path, real=real_images(), steps=2) as run:
        with pytest.raises(track.TrackingError) as caught:
            run.watch(G, torch.randn(16, 16))
        assert str(caught.value) == f"watch: {expected}"
        with pytest.raises(track.TrackingError) as caught:
            run.snapshot(G, torch.randn(16, 16))
        assert str(caught.value) == expected
        assert steps_drawn(tmp_path, "nhwc") == []  # nothing drawn, nothing watched
        assert run.status == "running"  # the loop caught it: the run goes on
        run.watch(generator(1, 8, 8), torch.randn(16, 16))  # the fix: watched, the first snapshot drawn
    assert steps_drawn(tmp_path, "nhwc") == [0]
    assert status_of(tmp_path, "nhwc")["status"] == "stopped"  # short of its 2 steps, not failed


def test_a_points_g_of_other_than_two_numbers_is_refused_and_one_of_any_layout_of_two_taken(tmp_path):
    run = track.init("pts", root=tmp_path, real=torch.randn(100, 2))
    with pytest.raises(track.TrackingError) as caught:
        run.watch(generator(3), torch.randn(8, 16), D=nn.Linear(2, 1))
    assert str(caught.value) == (
        "watch: G's output has shape (8, 3), which no snapshot can draw: allowed (N, 2) points, as real's "
        "(100, 2)"
    )
    run.watch(generator(1, 2), torch.randn(8, 16), D=nn.Linear(2, 1))  # (N, 1, 2): drawn flattened
    run.finish()
    assert RunDir.open(tmp_path, "pts").load_snapshot("step_00000000")["points"].shape == (8, 2)


def test_a_run_without_real_images_still_draws_a_flat_g_as_one_picture(tmp_path):
    """Data of another kind (no real given, flattened data): (N, D) is drawn as before, a row an example;
    (N, H, W) is refused as for an images run."""
    run = track.init("flat", root=tmp_path)
    run.watch(generator(64), torch.randn(16, 16))
    with pytest.raises(track.TrackingError, match=r"^G's output has shape \(16, 8, 8\), which no snapshot"):
        run.snapshot(generator(8, 8), torch.randn(16, 16))
    run.finish()
    grid = RunDir.open(tmp_path, "flat").load_snapshot("step_00000000")["grid"]
    assert grid.shape == (16, 64, 3)  # one picture: a row of 64 pixels for each of the 16


# ---------------------------------------------------------------------------- 2. real's layout
@pytest.mark.parametrize(
    ("shape", "layout", "fix"),
    [
        ((64, 8, 8, 1), "channels last", "channels first: real.permute(0, 3, 1, 2)"),
        ((64, 8, 8, 3), "channels last", "channels first: real.permute(0, 3, 1, 2)"),
        ((64, 8, 8), "as (N, H, W)", "one channel: real.unsqueeze(1)"),
    ],
)
def test_real_images_in_another_layout_are_refused_for_data_of_ones_own(tmp_path, shape, layout, fix):
    root = tmp_path / "runs"
    with pytest.raises(track.TrackingError) as caught:
        track.init("layout", root=root, real=torch.rand(shape) * 2 - 1, dataset="")
    assert str(caught.value) == (
        f"real of shape {shape} looks like images {layout}: allowed (N, 1 or 3, H, W) images ({fix}), "
        "(N, 2) points, or data_kind='other' for data that is neither (recorded as given, without a grid "
        "or quality metrics)"
    )
    assert not root.exists()
    said = track.init("said", root=root, real=torch.rand(shape), data_kind="other")  # data that is no images
    said.finish()
    assert said.meta.data_kind == "other"


def test_data_of_other_shapes_is_still_taken_as_other(tmp_path):
    for run_id, shape in (("flat", (64, 64)), ("channels", (64, 5, 8, 8)), ("wide", (64, 8, 8, 7))):
        run = track.init(run_id, root=tmp_path, real=torch.rand(shape) * 2 - 1)
        run.finish()
        assert run.meta.data_kind == "other" and run.status == "finished"


# ---------------------------------------------------------------------------- 3. labels
class ConditionalG(nn.Module):
    """G(z (N, 2), labels (N,)) -> (N, 2): what it was last asked for in ``asked``."""

    def __init__(self):
        super().__init__()
        self.embed, self.out = nn.Embedding(3, 2), nn.Linear(4, 2)
        self.asked: torch.Tensor | None = None

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        self.asked = labels
        return self.out(torch.cat([z, self.embed(labels)], 1))


@pytest.fixture
def conditional(tmp_path):
    torch.manual_seed(0)
    labels = torch.randint(3, (300,))
    run = track.init("cond", root=tmp_path, real=torch.randn(300, 2), n_classes=3, real_labels=labels)
    yield run
    run.finish()


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        (
            torch.zeros(8),
            "labels of (8,) are invalid: allowed a (N,) integer tensor of classes, got torch.float32 (class "
            "indices 0 to 2: .long() of whole numbers)",
        ),
        (
            torch.zeros(8, dtype=torch.bool),
            "labels of (8,) are invalid: allowed a (N,) integer tensor of classes",
        ),
        (torch.zeros(8, 1, dtype=torch.long), "labels of (8, 1) are invalid: allowed a (N,) integer tensor"),
        (torch.full((8,), 7), "labels hold classes from 7 to 7: allowed 0 to 2 (n_classes=3)"),
        (
            torch.tensor([0, 1, 2, -1, 0, 1, 2, 0]),
            "labels hold classes from -1 to 2: allowed 0 to 2 (n_classes=3)",
        ),
        (torch.zeros(5, dtype=torch.long), "labels has 5 labels for 8 noise rows: allowed one per noise row"),
    ],
    ids=["float", "bool", "2d", "too-high", "negative", "short"],
)
def test_snapshot_labels_that_are_no_class_indices_are_refused(conditional, tmp_path, labels, message):
    """Float labels raised torch's "Expected tensor for argument #1 'indices'", out of range ones an
    IndexError from the embedding."""
    with pytest.raises(track.TrackingError) as caught:
        conditional.snapshot(ConditionalG(), torch.randn(8, 2), labels=labels)
    assert str(caught.value).startswith(message)
    assert steps_drawn(tmp_path, "cond") == []


def test_snapshot_labels_of_any_integer_dtype_reach_g_as_int64(conditional, tmp_path):
    G = ConditionalG()
    conditional.snapshot(
        G, torch.randn(8, 2), labels=torch.tensor([0, 1, 2, 0, 1, 2, 0, 1], dtype=torch.int32)
    )
    assert G.asked.dtype == torch.int64 and G.asked.tolist() == [0, 1, 2, 0, 1, 2, 0, 1]
    assert steps_drawn(tmp_path, "cond") == [0]


def test_labels_for_an_unconditional_run_are_refused(tmp_path):
    run = track.init("plain", root=tmp_path, real=torch.randn(100, 2))
    with pytest.raises(
        track.TrackingError, match=r"labels are for a class-conditional run \(init's n_classes\)"
    ):
        run.snapshot(nn.Linear(2, 2), torch.randn(8, 2), labels=torch.zeros(8, dtype=torch.long))
    run.finish()


def test_real_labels_name_their_dtype_and_complex_ones_are_refused(tmp_path):
    root = tmp_path / "runs"
    for labels, got in (
        (torch.zeros(12), "torch.float32"),
        (torch.zeros(12, dtype=torch.cfloat), "torch.complex64"),
        # numpy's, as a tensor's are (they said "of ndarray", neither shape nor dtype)
        (np.zeros(12), "torch.float64"),
        (np.zeros(12, dtype=bool), "torch.bool"),
    ):
        with pytest.raises(track.TrackingError) as caught:
            track.init("bad", root=root, real=torch.randn(12, 2), n_classes=3, real_labels=labels)
        assert str(caught.value) == (
            f"real_labels of (12,) are invalid: allowed a (N,) integer tensor of classes, got {got} (class "
            "indices 0 to 2: .long() of whole numbers)"
        )
    assert not root.exists()


# ---------------------------------------------------------------------------- 4. the conditional watch
def test_a_conditional_watch_that_fails_names_the_users_noise(conditional):
    with pytest.raises(track.TrackingError) as caught:
        conditional.watch(ConditionalG(), torch.randn(16, 3))  # G takes (N, 2)
    message = str(caught.value)
    assert message.startswith(
        "watch: the snapshot G(noise, labels) (labels (N,) int64 classes) failed for fixed_noise of shape "
        "(16, 3) (torch.float32, on cpu; G was given its first 8 rows once for each of 3 classes: noise "
        "(24, 3), labels (24,)): RuntimeError: "
    )
    assert "fixed_noise of shape (24, 3)" not in message


# ---------------------------------------------------------------------------- 5. G's size against real's
@pytest.mark.parametrize(
    ("shape", "real_shape"),
    [((1, 16, 16), (1, 8, 8)), ((3, 8, 8), (1, 8, 8))],
    ids=["16x16-vs-8x8", "rgb-vs-gray"],
)
def test_g_images_of_another_size_than_reals_are_said_once_at_watch(tmp_path, shape, real_shape):
    """Snapshots take any size and Inception's space resizes (a progressively grown G draws small images
    first), so a warning, not a refusal; before, nothing was said and no quality metric compared them."""
    run = track.init("sizes", root=tmp_path, real=real_images(channels=real_shape[0]), dataset="")
    G = generator(*shape)
    with pytest.warns(track.TrackingWarning) as warned:
        run.watch(G, torch.randn(16, 16))
        run.watch(G, torch.randn(16, 16))  # once a run
    assert [str(w.message) for w in warned] == [
        f"G's output has shape {(16, *shape)}, images of {shape} (C, H, W), but real's are {real_shape}: the "
        "snapshots show them, but the quality metrics need G's output shape to match real's (the classifier "
        f"of a built-in dataset refuses others; diversity compares them as they are): make G's images "
        f"{real_shape}, or pass real at G's size"
    ]
    assert warned[0].filename == __file__  # pointed at the caller's line
    run.finish()
    assert steps_drawn(tmp_path, "sizes") == [0]


def test_g_images_the_size_of_reals_warn_nothing(tmp_path):
    run = track.init("same", root=tmp_path, real=real_images())
    with warnings.catch_warnings():
        warnings.simplefilter("error", track.TrackingWarning)
        run.watch(generator(1, 8, 8), torch.randn(16, 16))
    run.finish()


def test_a_norm_given_twice_is_refused_naming_both(tmp_path):
    """d_params and d_grad_norm (or g_params and g_grad_norm) together: which one the row holds was
    nowhere said (the given norm won, without a word); now one TrackingError, and the step is not
    recorded, so the loop can pass one and go on."""
    from gan_core import track

    torch.manual_seed(0)
    D, G = nn.Linear(2, 1), nn.Linear(2, 2)
    run = track.init("both", root=tmp_path, loss="nonsaturating", real=torch.randn(64, 2))
    real, fake = torch.randn(8, 2), G(torch.randn(8, 2))
    real_logits, fake_logits = D(real), D(fake.detach())
    d_loss = nn.functional.softplus(-real_logits).mean() + nn.functional.softplus(fake_logits).mean()
    d_loss.backward()
    with pytest.raises(track.TrackingError) as caught:
        run.d_step(real_logits, fake_logits, d_loss=d_loss, d_params=D, d_grad_norm=1.0)
    assert str(caught.value) == (
        "d_step got both d_params and d_grad_norm: allowed one of them, d_params (the total L2 norm of "
        "their gradients is measured) or d_grad_norm (a norm of your own, recorded as given)"
    )
    run.d_step(real_logits, fake_logits, d_loss=d_loss, d_grad_norm=1.5)  # one of them: taken
    g_loss = nn.functional.softplus(-D(fake)).mean()
    g_loss.backward()
    with pytest.raises(track.TrackingError, match="^g_step got both g_params and g_grad_norm: allowed one"):
        run.g_step(g_loss, g_params=G, g_grad_norm=2.0)
    assert run.step == 0  # the refused call recorded nothing
    row = run.g_step(g_loss, g_params=G)
    run.finish()
    row = row or run.store.latest()
    assert row["step"] == 1.0 and row["d_grad_norm"] == pytest.approx(1.5, rel=1e-6)
    expected = torch.linalg.vector_norm(torch.cat([p.grad.reshape(-1) for p in G.parameters()]))
    assert row["g_grad_norm"] == pytest.approx(float(expected), rel=1e-5)


# ---------------------------------------------------------------------------- 7. a second review
ROOT = Path(__file__).resolve().parents[1]


def test_recorded_step_is_the_step_the_record_ends_at_after_a_divergence_found_late(tmp_path):
    """Step 5's NaN lands with its batch at step 10: run.step (the loop's g_step calls) says 10, while
    status.json, the status event and the error say 5; `recorded_step` says 5 as they do. No snapshot is
    taken past the diverged row at finish (G is past it, and NaN)."""
    run = track.init("late", root=tmp_path, real=real_images(), commit_every=60.0, sample_every=20)
    run.watch(generator(1, 8, 8), torch.randn(8, 16))
    for step in range(1, 11):
        run.d_step(torch.randn(4), torch.randn(4), d_grad_norm=1.0)
        run.g_step(torch.tensor(float("nan") if step == 5 else 0.5), g_grad_norm=1.0)
        assert run.recorded_step == step  # no divergence known yet: the loop's step
    run.finish()
    assert (run.step, run.recorded_step, run.status) == (10, 5, "failed")
    assert status_of(tmp_path, "late")["step"] == 5 and run.error.startswith("diverged at step 5")
    assert max(steps_drawn(tmp_path, "late")) <= 5


def test_the_example_prints_the_step_its_run_ended_at(tmp_path, monkeypatch, capsys):
    """examples/own_dcgan.py printed run.step, "failed at step 100", for a run whose record (status.json,
    the Runs page, the banner) ends at its diverged row 41."""

    class NaNAfter(nn.BCEWithLogitsLoss):  # three calls a step: D's loss is NaN from step 41 on
        calls = 0

        def forward(self, logits, target):
            NaNAfter.calls += 1
            loss = super().forward(logits, target)
            return loss * float("nan") if NaNAfter.calls > 3 * 40 else loss

    init = track.init  # a batch that waits for the step-100 snapshot: the NaN lands there, 59 steps late
    monkeypatch.setattr(track, "init", lambda *a, **k: init(*a, **k, commit_every=60.0))
    monkeypatch.setattr(nn, "BCEWithLogitsLoss", NaNAfter)
    monkeypatch.setattr("sys.argv", ["own_dcgan.py", "--out", str(tmp_path), "--run-id", "nan"])
    spec = importlib.util.spec_from_file_location("own_dcgan_example", ROOT / "examples" / "own_dcgan.py")
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    example.main()
    assert capsys.readouterr().out.startswith("run nan: failed at step 41 in ")
    assert status_of(tmp_path, "nan")["step"] == 41 and status_of(tmp_path, "nan")["status"] == "failed"


def test_help_documents_the_attributes_model_source_and_metric_names():
    """help(TrackedRun) listed no attributes; init's docstring left model= and source= out; log's named an
    internal function for the metric names; RankRun, named by init's docstring, was not exported."""
    documented = track.TrackedRun.__doc__
    for name in ("run_id", "step", "recorded_step", "steps", "status", "error", "should_stop", "stop_reason"):
        assert f"``{name}``" in documented, name
    assert "``model``: a name of your own" in track.init.__doc__
    assert "``source``: who trains the run" in track.init.__doc__
    assert "schema." not in track.TrackedRun.log.__doc__
    assert "letters, digits and ``_ . / -``, not starting with a digit" in track.TrackedRun.log.__doc__
    assert (
        "``_nonfinite``" in track.TrackedRun.log.__doc__ and "built-in column" in track.TrackedRun.log.__doc__
    )
    assert track.RankRun is gan_core.tracking.track.RankRun and "RankRun" in track.__all__
    assert "recorded_step" in pydoc.render_doc(track.TrackedRun, renderer=pydoc.plaintext)


def test_a_model_name_that_is_no_text_is_refused_before_anything_is_written(tmp_path):
    """model=3 was written into run.json, whose reader then refused the folder ("model is 3, not text")."""
    with pytest.raises(
        track.TrackingError, match=r"^model=3 is invalid: allowed a name as text, or '' for none$"
    ):
        track.init("m", root=tmp_path, model=3)
    assert not (tmp_path / "m").exists()


def test_a_resume_past_its_steps_target_says_so_once(tmp_path):
    """resume=True with steps=3 on a run at step 5 took no step and ended finished, with only an hparam
    event; now a TrackingWarning at the user's line and a warning event say the step reached and what
    to pass. A resume at its target exactly, or below it, says nothing."""
    with track.init("r", root=tmp_path, steps=5, commit_every=0.0) as run:
        while not run.should_stop:
            run.d_step(torch.randn(4), torch.randn(4), d_grad_norm=1.0)
            run.g_step(0.5, g_grad_norm=1.0)
    expected = (
        "resume=True: run 'r' is at step 5, past steps=3: should_stop is True at once, the loop takes no "
        "step and the run ends at step 5; to train on, pass steps larger than 5 (the total to reach, not "
        "the steps to add), or steps=0 for open-ended"
    )
    with pytest.warns(track.TrackingWarning) as caught:
        run = track.init("r", root=tmp_path, steps=3, resume=True)
    assert [str(w.message) for w in caught] == [expected] and caught[0].filename == __file__
    assert run.should_stop and run.stop_reason == "steps"
    run.finish()
    events = RunDir.open(tmp_path, "r").read_events()
    warned = events[events["kind"] == "warning"]
    assert warned["detail"].tolist() == [expected] and warned["step"].tolist() == [5]
    assert warned["fields"].tolist() == [{"check": "steps_passed", "reached": 5, "steps": 3}]
    with warnings.catch_warnings():
        warnings.simplefilter("error", track.TrackingWarning)
        track.init("r", root=tmp_path, steps=5, resume=True).finish()
        track.init("r", root=tmp_path, steps=0, resume=True).finish()


def test_the_lightning_example_without_lightning_says_how_to_install_it(tmp_path):
    """examples/lightning_gan.py, run in the environment the README's first command makes (no Lightning:
    an optional extra), stopped with a traceback from its first import."""
    hidden = (
        "import runpy, sys\n"
        "class Uninstalled:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.partition('.')[0] == 'lightning':\n"
        "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
        "sys.meta_path.insert(0, Uninstalled())\n"
        "sys.argv = ['lightning_gan.py', '--steps', '1']\n"
        f"runpy.run_path({str(ROOT / 'examples' / 'lightning_gan.py')!r}, run_name='__main__')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", hidden], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    remedy = "pip install lightning, or pip install '/path/to/checkout[lightning]'"
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == f"error: No module named 'lightning': {remedy}\n"
    assert not any(tmp_path.iterdir())  # stopped before it wrote anything


def test_the_example_copied_out_of_the_checkout_says_how_to_import_gan_core(tmp_path):
    """A copy of examples/own_dcgan.py in a project of one's own failed with a bare ModuleNotFoundError;
    it says how to make gan_core importable, as the README's "Watch your own GAN" does."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    shutil.copy(ROOT / "examples" / "own_dcgan.py", tmp_path / "own_dcgan.py")
    # A gan_core installed into this environment (`pip install .`) is hidden, as it is from a user who
    # has not installed it: the import fails as Python's own does ("No module named 'gan_core'").
    hidden = (
        "import runpy, sys\n"
        "class Uninstalled:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.partition('.')[0] == 'gan_core':\n"
        "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
        "sys.meta_path.insert(0, Uninstalled())\n"
        "sys.argv = ['own_dcgan.py', '--steps', '1']\n"
        "runpy.run_path('own_dcgan.py', run_name='__main__')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", hidden], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    remedy = "pip install /path/to/checkout, or PYTHONPATH=/path/to/checkout"
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == f"error: No module named 'gan_core': {remedy}\n"
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Watch your own GAN", 1)[1].split("\n## ", 1)[0]
    assert "pip install /path/to/checkout" in section and "PYTHONPATH=/path/to/checkout" in section
    assert "No module named 'gan_core'" in section
