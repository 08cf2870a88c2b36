"""A class-conditional GAN of one's own through the tracking API: ``n_classes`` and ``real_labels`` at
`init`, G called ``G(noise, labels)``; its grid one row per class, label fidelity and diversity within each
class measured as for a built-in conditional run, and every bad argument one `TrackingError`."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

import gan_core.track as track
from gan_core.config import GANConfig
from gan_core.data import load_data
from gan_core.rundir import RunDir
from gan_core.trainer import GRID_COLUMNS
from tests.test_conditional import Prototypes


@pytest.fixture(scope="module")
def digits():
    data = load_data(GANConfig(dataset="digits"))
    return data.examples(), data.example_labels()


def tracked(root, digits, G, **options):
    """A 10-step run of ``G`` (no training: the measures read G's samples) evaluated at step 10."""
    real, labels = digits
    run = track.init("cond", root=root, real=real, dataset="digits", n_classes=10, eval_every=10,
                     sample_every=10, steps=10, **options)  # fmt: skip
    run.watch(G, torch.randn(64, 8))
    D = nn.Linear(64, 1)
    while not run.should_stop:
        x = real[:16].reshape(16, -1)
        logits = D(x)
        loss = logits.mean()
        loss.backward()
        run.d_step(logits, -logits.detach(), d_loss=loss, d_params=D)
        run.g_step(loss.detach(), g_grad_norm=1.0)
    run.finish()
    return RunDir.open(root, "cond")


def evaluated(folder: RunDir) -> dict:
    frame = folder.read_metrics()
    return frame[frame["step"] == 10].iloc[0].to_dict()


def test_a_conditional_loop_gets_the_class_grid_label_fidelity_and_diversity_within_classes(tmp_path, digits):
    real, labels = digits
    folder = tracked(tmp_path, digits, Prototypes(real, labels, varied=False), real_labels=labels)
    row = evaluated(folder)
    assert row["label_fidelity"] >= 0.9 and row["classes_covered"] == 10
    assert 0.0 <= row["diversity"] < 0.05  # one image per class: collapsed within each
    assert folder.read_meta().n_classes == 10
    grid = folder.load_snapshot(folder.snapshot_steps()[-1][1])["grid"]
    assert grid.shape == (10 * 9 + 1, GRID_COLUMNS * 9 + 1, 3)  # a row per class, a noise per column
    varied = tracked(tmp_path / "varied", digits, Prototypes(real, labels, varied=True), real_labels=labels)
    assert 0.85 <= evaluated(varied)["diversity"] <= 1.15


def test_without_real_labels_diversity_is_not_measured_and_the_rest_is(tmp_path, digits):
    real, labels = digits
    row = evaluated(tracked(tmp_path, digits, Prototypes(real, labels, varied=False)))
    assert math.isnan(row["diversity"])  # across classes it would say "varied": left blank
    assert row["label_fidelity"] >= 0.9 and row["classes_covered"] == 10


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"n_classes": -1},
            "n_classes=-1 is invalid: allowed 0 (unconditional) or a whole number from 2 to 100000",
        ),
        ({"n_classes": True}, "n_classes=True is invalid: allowed 0 (unconditional) or a whole number from"),
        # one class is no conditioning (a reviewer's n_classes=1 was taken)
        ({"n_classes": 1}, "n_classes=1 is invalid: allowed 0 (unconditional) or a whole number from 2 to"),
        (
            {"n_classes": 5, "dataset": "digits"},
            "n_classes=5 but dataset='digits' has 10 classes, which its "
            "classifier reads label fidelity by: allowed n_classes=10, or dataset='' for classes of your own",
        ),
        ({"real_labels": "labels"}, "real_labels are for a class-conditional run: pass n_classes too"),
        (
            {"n_classes": 3, "real_labels": "labels", "real": None},
            "real_labels name the class of each real example: pass real too",
        ),
        (
            {"n_classes": 3, "real_labels": "short"},
            "real_labels has 5 labels for 12 real examples: allowed one per example",
        ),
        (
            {"n_classes": 3, "real_labels": "float"},
            "real_labels of (12,) are invalid: allowed a (N,) integer tensor of classes",
        ),
        (
            {"n_classes": 3, "real_labels": "high"},
            "real_labels hold classes from 0 to 3: allowed 0 to 2 (n_classes=3)",
        ),
    ],
    ids=[
        "negative",
        "bool",
        "one",
        "not-the-datasets",
        "no-classes",
        "no-real",
        "short",
        "float",
        "out-of-range",
    ],
)
def test_bad_classes_are_refused_before_anything_is_written(tmp_path, options, message):
    labels = {
        "labels": torch.arange(12) % 3,
        "short": torch.arange(5) % 3,
        "float": (torch.arange(12) % 3).float(),
        "high": torch.arange(12) % 4,
    }
    options = dict(options)
    if "real_labels" in options:
        options["real_labels"] = labels[options["real_labels"]]
    options.setdefault("real", torch.rand(12, 1, 8, 8) * 2 - 1)
    root = tmp_path / "runs"
    with pytest.raises(track.TrackingError) as caught:
        track.init("bad", root=root, **options)
    assert str(caught.value).startswith(message)
    assert not root.exists()


def test_a_conditional_watch_needs_a_row_of_noise_and_a_snapshot_needs_labels(tmp_path, digits):
    real, labels = digits
    G = Prototypes(real, labels, varied=False)
    run = track.init("cond", root=tmp_path, real=real[:64], n_classes=10)
    with pytest.raises(track.TrackingError, match=r"fixed_noise has 4 rows: .* allowed: 8 rows or more"):
        run.watch(G, torch.randn(4, 8))
    run.watch(G, torch.randn(8, 8))
    with pytest.raises(track.TrackingError, match="needs labels"):
        run.snapshot(G, torch.randn(8, 8))
    run.snapshot(G, torch.randn(8, 8), labels=torch.arange(8))
    run.finish()


def test_a_run_goes_on_with_the_classes_it_began_with_and_dcgan_noise_draws_its_grid(tmp_path, digits):
    real, labels = digits
    track.init("kept", root=tmp_path, real=real[:64], n_classes=10).finish()
    with pytest.raises(Exception, match=r"recorded with n_classes=10, not 0: a run goes on as it began"):
        track.init("kept", root=tmp_path, real=real[:64], resume=True)
    # (N, nz, 1, 1) noise, as a DCGAN's G takes it: the grid repeats it whatever its shape
    G = Prototypes(real, labels, varied=False)
    run = track.init("dcgan", root=tmp_path, real=real[:64], n_classes=10)
    run.watch(G, torch.randn(8, 8, 1, 1))
    run.finish()
    folder = RunDir.open(tmp_path, "dcgan")
    assert folder.load_snapshot(folder.snapshot_steps()[-1][1])["grid"].shape == (91, 73, 3)


def test_n_classes_as_a_numpy_integer_is_taken(tmp_path):
    import numpy as np

    run = track.init("np", root=tmp_path, n_classes=np.int64(10))
    run.finish()
    assert RunDir.open(tmp_path, "np").read_meta().n_classes == 10


def test_a_conditional_grids_rows_are_labelled_with_their_classes(tmp_path, digits):
    """The Train view's grid said only "a row per class from the top": each row now names its class, from
    run.json's n_classes for a tracked run, and with the data's class names for a run this server trains."""
    from gan_core.config import GANConfig as Config
    from gan_core.registry import RunRegistry

    real, _ = digits
    track.init("cond", root=tmp_path, real=real[:64], n_classes=10).finish()
    track.init("plain", root=tmp_path, real=real[:64]).finish()
    registry = RunRegistry(tmp_path)
    assert registry.view("cond").grid_classes == [str(c) for c in range(10)]
    assert registry.view("plain").grid_classes == []
    runner = registry.start(Config(conditioning="projection", steps=1, width=16, batch_size=16))
    try:
        runner.wait_until(lambda r: r.trainer is not None, timeout=60)
        assert registry.view(runner.run_id).grid_classes == [str(c) for c in range(10)]
    finally:
        registry.stop_all()


def test_a_conditional_runs_real_grid_is_a_row_per_class_as_gs(tmp_path, digits):
    """A review: the real grid beside a tracked conditional run's G grid was 64 random digits, unlabelled,
    though the README says it is laid out as G's, a row of real images of each class."""
    from gan_core.registry import RunRegistry

    real, labels = digits
    track.init("cond", root=tmp_path, real=real, real_labels=labels, n_classes=10).finish()
    track.init("plain", root=tmp_path, real=real).finish()
    registry = RunRegistry(tmp_path)
    shown = registry.view("cond").real_view()
    assert shown["grid"].shape == (10 * 9 + 1, GRID_COLUMNS * 9 + 1, 3)
    assert shown["labels"].tolist() == [c for c in range(10) for _ in range(GRID_COLUMNS)]
    assert "labels" not in registry.view("plain").real_view()  # unconditional: the 8 x 8 square as before
    assert registry.view("plain").real_view()["grid"].shape == (73, 73, 3)


def test_snapshot_labels_need_noise_and_may_be_numpy_as_inits(tmp_path, digits):
    """A review: snapshot(labels=...) without noise drew the watched grid, the labels dropped unsaid; numpy
    classes, taken by init's real_labels, were refused by snapshot."""
    import numpy as np

    real, labels = digits
    G = Prototypes(real, labels, varied=False)
    run = track.init("cond", root=tmp_path, real=real[:64], n_classes=10)
    run.watch(G, torch.randn(8, 8))
    with pytest.raises(track.TrackingError, match=r"without noise: .* allowed: snapshot\(G, noise, labels"):
        run.snapshot(labels=torch.full((80,), 3))
    run.step = 1  # (a later step's picture: the one at step 0 is the watched one)
    run.snapshot(G, torch.randn(16, 8), labels=np.full(16, 3))
    run.finish()
    folder = RunDir.open(tmp_path, "cond")
    steps = folder.snapshot_steps()
    assert [step for step, _ in steps] == [0, 1]
    picture = folder.load_snapshot(steps[-1][1])
    assert picture["labels"].tolist() == [3] * 16
    with pytest.raises(track.TrackingError, match=r"labels of \(16,\) are invalid: .*, got torch.float64"):
        track.init("again", root=tmp_path, real=real[:64], n_classes=10).watch(G, torch.randn(8, 8)).snapshot(
            G, torch.randn(16, 8), labels=np.full(16, 3.0)
        )


class ConditionalPointsG(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(8, 2)

    def forward(self, z, labels):
        return z[:, :2] + self.embed(labels)


class ConditionalPointsD(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear, self.embed = nn.Linear(2, 1), nn.Embedding(8, 2)

    def forward(self, x, y):
        return self.linear(x).flatten() + (self.embed(y) * x).sum(1)


def test_a_conditional_d_on_points_is_said_as_ds_failure_not_gs(tmp_path):
    """A review: watch(G, noise, D=a projection D) on 2D points said G(noise, labels) failed, naming G's
    noise; the heatmap had called D(x) without labels."""
    points = torch.randn(256, 2)
    classes = torch.randint(0, 8, (256,))
    run = track.init("pts", root=tmp_path, real=points, real_labels=classes, n_classes=8)
    with pytest.raises(track.TrackingError, match=r"watch: D failed on the 2D view's points") as said:
        run.watch(ConditionalPointsG(), torch.randn(16, 2), D=ConditionalPointsD())
    assert "missing 1 required positional argument" in str(said.value) and "D=None" in str(said.value)
    assert "G(noise, labels) (labels" not in str(said.value)
    run.watch(ConditionalPointsG(), torch.randn(16, 2))  # without D: G's points, as the message offers
    run.finish()
    # a G that fails is still said as G's, D given or not
    run = track.init("pts2", root=tmp_path, real=points, real_labels=classes, n_classes=8)
    with pytest.raises(track.TrackingError, match=r"the snapshot G\(noise, labels\)"):
        run.watch(ConditionalPointsG(), torch.randn(16, 5, 3), D=ConditionalPointsD())
    run.finish()


def test_a_resume_from_an_earlier_step_drops_what_the_replaced_rows_raised_and_recorded(tmp_path, digits):
    """A review: a Lightning run resumed from a checkpoint before its first evaluation never drew its
    feature spaces' baselines again (the replaced rows' ``baseline`` event counted as recorded), and the
    Runs page listed a flag only the replaced rows had raised."""
    real, labels = digits
    G = Prototypes(real, labels, varied=True)
    D = nn.Linear(64, 1)

    def train(run, until):
        run.watch(G, torch.randn(64, 8))
        while run.step < until:
            logits = D(real[:16].reshape(16, -1))
            run.d_step(logits, -logits.detach(), d_loss=logits.mean(), d_grad_norm=1.0)
            run.g_step(logits.mean().detach(), g_grad_norm=1.0)

    options = {"root": tmp_path, "real": real, "dataset": "digits", "eval_every": 6, "sample_every": 6}
    with track.init("back", **options) as run:
        train(run, 8)
    folder = RunDir.open(tmp_path, "back").claim("test")
    folder.append_event(7, "flag", "d_leads raised", {"flag": "d_leads"})  # raised by rows 6-8 only
    folder.release()
    assert list(folder.read_events().query("kind == 'baseline'")["step"]) == [6]
    with track.init("back", resume=True, resume_from=3, **options) as run:
        train(run, 8)
    events = RunDir.open(tmp_path, "back").read_events()
    resumed = events.index[events["kind"] == "resume"][0]
    assert list(events.loc[resumed:].query("kind == 'baseline'")["step"]) == [6]  # recorded again
    assert "d_leads" not in RunDir.open(tmp_path, "back").read_status()["flags_raised"]
    # a resume from the last row keeps what its rows raised and recorded
    folder = RunDir.open(tmp_path, "back").claim("test")
    folder.append_event(8, "flag", "d_leads raised", {"flag": "d_leads"})
    folder.release()
    with track.init("back", resume=True, steps=9, **options) as run:
        train(run, 9)
    events = RunDir.open(tmp_path, "back").read_events()
    assert (events["kind"] == "baseline").sum() == 2
    assert "d_leads" in RunDir.open(tmp_path, "back").read_status()["flags_raised"]
