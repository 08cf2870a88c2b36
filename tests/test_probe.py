"""Probe: the latent walk, D's verdicts, the upload checks, a live run's weights, and the Probe page."""

from __future__ import annotations

import base64
import io
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from streamlit.runtime.state.common import user_key_from_element_id
from streamlit.testing.v1 import AppTest
from torch import nn

import gan_core.data as data_module
from gan_core import downstream, probe
from gan_core.config import GANConfig
from gan_core.data import load_data
from gan_core.losses import LOSSES, get_loss
from gan_core.models import build_models
from gan_core.rundir import RunDir, RunDirError
from gan_core.runner import Runner, RunnerError
from gan_core.trainer import Trainer
from tests.conftest import png_claiming
from ui.common import registry
from ui.live_chart import read_payload

APP_DIR = Path(__file__).resolve().parents[1]
PAGE = str(APP_DIR / "pages" / "4_Probe.py")
TIMEOUT = 60
TINY = dict(dataset="ring8", width=16, latent_dim=4, batch_size=16, device="cpu")


def tiny_models(**overrides) -> probe.ProbeModels:
    cfg = GANConfig(**{**TINY, **overrides})
    shape = (2,) if cfg.is_points else (1 if cfg.dataset == "digits" else 3, 8, 8)
    torch.manual_seed(0)
    G, D = build_models(cfg, shape)
    return probe.ProbeModels(cfg, G.eval(), D.eval(), shape, 0)


def finished_run(root: Path, run_id: str, **overrides) -> Runner:
    cfg = GANConfig(**{**TINY, "steps": 20, **overrides})
    runner = Runner(cfg, root, run_id).start()
    assert runner.wait(TIMEOUT) and runner.status == "finished"
    return runner


# ---------------------------------------------------------------------------------------------- latent walk
def test_latent_noise_is_decided_by_the_seed():
    torch.testing.assert_close(probe.latent(7, 4), probe.latent(7, 4), rtol=0, atol=0)
    assert not torch.equal(probe.latent(7, 4), probe.latent(8, 4))
    assert probe.latent(7, 4, n=3).shape == (3, 4)
    torch.testing.assert_close(probe.latent(7, 4, n=3)[0], probe.latent(7, 4)[0], rtol=0, atol=0)
    for bad in (-1, 2**63, 1.5, True, "3"):
        with pytest.raises(probe.ProbeError, match="seed"):
            probe.latent(bad, 4)


@pytest.mark.parametrize("mode", probe.WALK_MODES)
@pytest.mark.parametrize("dataset", ["ring8", "digits"])
def test_walk_starts_at_G_of_A_and_ends_at_G_of_B(mode, dataset):
    models = tiny_models(dataset=dataset)
    z_a, z_b = probe.latent(3, 4), probe.latent(11, 4)
    path = probe.latent_walk(models.G, z_a, z_b, 9, mode)
    assert path.shape == (9, *models.sample_shape)
    with torch.no_grad():
        torch.testing.assert_close(path[0], models.G(z_a)[0])
        torch.testing.assert_close(path[-1], models.G(z_b)[0])
        # the ones between are G's outputs too, not a blend of the two ends' outputs
        assert not torch.allclose(path[4], (path[0] + path[-1]) / 2, atol=1e-4)
    # the same seeds give the same walk
    np.testing.assert_array_equal(probe.walk(models, 3, 11, 9, mode), probe.walk(models, 3, 11, 9, mode))
    np.testing.assert_allclose(probe.walk(models, 3, 11, 9, mode), path.numpy(), rtol=1e-6, atol=1e-6)


def test_linear_and_slerp_paths():
    a, b = torch.tensor([[2.0, 0.0, 0.0]]), torch.tensor([[0.0, 2.0, 0.0]])
    linear = probe.interpolate(a, b, 5, "linear")
    slerp = probe.interpolate(a, b, 5, "slerp")
    assert linear.shape == slerp.shape == (5, 3)
    for path in (linear, slerp):
        torch.testing.assert_close(path[0], a[0], rtol=0, atol=0)
        torch.testing.assert_close(path[-1], b[0], rtol=0, atol=0)
    torch.testing.assert_close(linear[2], torch.tensor([1.0, 1.0, 0.0]))
    # slerp stays on the circle of radius 2 and turns by equal angles: the midpoint is at 45 degrees
    torch.testing.assert_close(slerp.norm(dim=1), torch.full((5,), 2.0))
    torch.testing.assert_close(slerp[2], torch.tensor([math.sqrt(2), math.sqrt(2), 0.0]))
    angles = torch.atan2(slerp[:, 1], slerp[:, 0])
    torch.testing.assert_close(angles.diff(), torch.full((4,), math.pi / 8))
    # different lengths: the length goes linearly from one to the other
    lengths = probe.interpolate(a, 3 * b, 5, "slerp").norm(dim=1)
    torch.testing.assert_close(lengths, torch.linspace(2.0, 6.0, 5))
    # parallel ends: the straight line
    torch.testing.assert_close(probe.interpolate(a, 2 * a, 3, "slerp")[1], torch.tensor([3.0, 0.0, 0.0]))


def test_walk_settings_are_checked():
    a, b = probe.latent(0, 4), probe.latent(1, 4)
    with pytest.raises(probe.ProbeError, match="mode='cubic' is invalid: allowed slerp, linear"):
        probe.interpolate(a, b, 5, "cubic")
    for n in (1, probe.MAX_WALK_STEPS + 1):
        with pytest.raises(probe.ProbeError, match=f"steps={n} is invalid: allowed a whole number from 2"):
            probe.interpolate(a, b, n)
    with pytest.raises(probe.ProbeError, match="differ in size"):
        probe.interpolate(a, probe.latent(1, 5), 5)


def test_heatmap_is_the_training_snapshots_heatmap():
    trainer = Trainer(GANConfig(**TINY))
    trainer.step()
    models = probe.ProbeModels(trainer.cfg, trainer.G.eval(), trainer.D.eval(), (2,), 1)
    np.testing.assert_array_equal(probe.heatmap(models, trainer.data.bounds), trainer.snapshot()["heatmap"])
    with pytest.raises(probe.ProbeError, match="2D points"):
        probe.heatmap(tiny_models(dataset="digits"), (0, 1, 0, 1))


def test_fit_bounds_grows_the_window_to_hold_the_points_near_it():
    bounds = (-2.0, 2.0, -1.0, 1.0)
    assert probe.fit_bounds(bounds, np.array([[0.0, 0.0], [1.5, -0.5]])) == bounds
    assert probe.fit_bounds(bounds, np.zeros((0, 2))) == bounds
    grown = probe.fit_bounds(bounds, np.array([[-3.0, 0.0], [0.0, 1.5], [np.nan, 9.0]]))
    assert grown == pytest.approx((-3.0 - 0.05 * 4, 2.0, -1.0, 1.5 + 0.05 * 2))
    # a point far off leaves it as it is: the page pins it to the edge (test_probe_review.py)
    assert probe.fit_bounds(bounds, np.array([[100.0, 100.0]])) == bounds


# ---------------------------------------------------------------------------------------------- ask D
class FirstCoordinate(nn.Module):
    """A constructed D: its logit is the sample's first coordinate."""

    def forward(self, x):
        return x.flatten(1)[:, 0]


class ConstantG(nn.Module):
    """A constructed G: every sample is the point (-1, 0)."""

    def forward(self, z):
        return torch.tensor([-1.0, 0.0]).expand(z.shape[0], 2)


POINTS = np.column_stack([np.linspace(-1.5, 1.5, 31), np.zeros(31)]).astype(np.float32)


@pytest.mark.parametrize("loss_name", [name for name, loss in LOSSES.items() if not loss.is_critic])
def test_ask_d_follows_the_losses_accuracy_rule(loss_name):
    loss = get_loss(loss_name)
    verdicts = probe.ask_d(FirstCoordinate(), loss_name, POINTS)
    assert (verdicts.threshold, verdicts.rule) == (loss.threshold, loss.threshold_rule)
    np.testing.assert_allclose(verdicts.scores, POINTS[:, 0], rtol=0, atol=0)
    np.testing.assert_allclose(
        verdicts.outputs, loss.output(torch.from_numpy(POINTS[:, 0])).numpy(), rtol=1e-6
    )
    # the training metrics' rule, one sample at a time: acc_real is 1 exactly when D calls it real
    scores = torch.from_numpy(POINTS[:, 0])
    expected = [bool(loss.accuracy(scores[i : i + 1], scores[:0])[0] == 1.0) for i in range(len(POINTS))]
    assert verdicts.real.tolist() == expected
    assert 0 < verdicts.real.sum() < len(POINTS)  # the threshold lies inside the range tried
    table = verdicts.table()
    assert list(table.columns) == ["d_score", "d_output", "verdict"]
    assert table["verdict"].tolist() == ["real" if r else "fake" for r in expected]


def test_ask_d_counts_its_coin_tosses():
    """A review: at equilibrium Ask D called 0.4877 "fake" and 0.5109 "real", "D calls 4 of 8 real", as
    firm as 0.01 and 0.99: verdicts within CLOSE_CALL of D's midpoint are counted as coin tosses."""
    points = np.array([[-0.04, 0], [0.04, 0], [2.2, 0], [-3.0, 0]], dtype=np.float32)
    verdicts = probe.ask_d(FirstCoordinate(), "nonsaturating", points)  # outputs 0.49, 0.51, 0.90, 0.05
    assert verdicts.midpoint == 0.5 and verdicts.close_calls == 2
    smoothed = probe.ask_d(FirstCoordinate(), get_loss("nonsaturating").smoothed(0.2), points)
    assert smoothed.midpoint == pytest.approx(0.4) and smoothed.close_calls == 0  # its midpoint is t/2
    assert probe.ask_d(FirstCoordinate(), "hinge", points).close_calls == 0  # raw scores: no midpoint


def test_ask_d_wasserstein_compares_with_the_midpoint_of_real_and_fake():
    cfg = GANConfig(**{**TINY, "loss": "wgan-gp"})
    models = probe.ProbeModels(cfg, ConstantG(), FirstCoordinate(), (2,), 0)
    real = np.tile(np.array([[2.0, 0.0]], dtype=np.float32), (10, 1))
    reference = probe.wasserstein_reference(models, real)
    assert reference.mean_real == pytest.approx(2.0) and reference.mean_fake == pytest.approx(-1.0)
    assert reference.value == pytest.approx(0.5)
    verdicts = probe.ask_d(models.D, "wgan-gp", POINTS, reference)
    assert verdicts.real.tolist() == (POINTS[:, 0] > 0.5).tolist()
    assert verdicts.threshold == pytest.approx(0.5)
    assert "half-way" in verdicts.rule
    # a real and a fake batch that D separates: every real one is called real, every fake one fake,
    # as the training metric (median rule) finds too
    fake = probe.generate(models, 0, 10)
    assert probe.ask_d(models.D, "wgan", real, reference).real.all()
    assert not probe.ask_d(models.D, "wgan", fake, reference).real.any()
    acc_real, acc_fake = get_loss("wgan").accuracy(torch.full((10,), 2.0), torch.full((10,), -1.0))
    assert acc_real == acc_fake == 1.0
    with pytest.raises(probe.ProbeError, match="no fixed threshold"):
        probe.ask_d(models.D, "wgan", POINTS)


def test_ask_d_marks_a_non_finite_score():
    points = np.array([[0.5, 0.0], [np.nan, 0.0]], dtype=np.float32)
    table = probe.ask_d(FirstCoordinate(), "minimax", points).table()
    assert table["verdict"].tolist() == ["real", "none (score not finite)"]


def mann_whitney_auc(real: np.ndarray, fake: np.ndarray) -> float:
    """The ROC AUC by its definition: the share of (real, fake) pairs where real scores higher, ties half."""
    above = (real[:, None] > fake[None, :]).sum() + 0.5 * (real[:, None] == fake[None, :]).sum()
    return float(above / (len(real) * len(fake)))


@pytest.mark.parametrize("loss_name", ["nonsaturating", "hinge", "wgan-gp"])
def test_separation_measures_how_well_d_tells_real_from_g(loss_name):
    """G's samples all score -1 (the point (-1, 0)); the real ones spread from -3 to 3."""
    cfg = GANConfig(**{**TINY, "loss": loss_name})
    models = probe.ProbeModels(cfg, ConstantG(), FirstCoordinate(), (2,), 0)
    real = np.column_stack([np.linspace(-3.0, 3.0, 13), np.zeros(13)]).astype(np.float32)
    found = probe.separation(models, real)
    assert found.auc == pytest.approx(mann_whitney_auc(real[:, 0], np.full(13, -1.0)), abs=1e-12)
    assert 0.6 < found.auc < 0.9  # 9 of 13 above -1, one tied
    np.testing.assert_allclose(found.real.scores, real[:, 0], rtol=0, atol=0)
    np.testing.assert_allclose(found.fake.scores, np.full(13, -1.0), rtol=0, atol=0)
    loss = get_loss(loss_name)
    # the accuracies are the run's own d_acc_real and d_acc_fake of these two batches
    pair = torch.from_numpy(real[:, 0]).double(), torch.full((13,), -1.0, dtype=torch.float64)
    expected = [float(a) for a in loss.accuracy(*pair)]
    assert [found.acc_real, found.acc_fake] == pytest.approx(expected, abs=1e-6)  # (float32 means)
    if loss.is_critic:  # the pooled scores' (lower) median, as a critic's accuracies take it: -1
        assert found.real.threshold == -1.0 and found.output_threshold == -1.0
        assert "median of the 26 pooled scores" in found.real.rule
        assert found.acc_real == 8 / 13 and found.acc_fake == 1.0  # -0.5 to 3 above -1 (k/n exactly)
        assert found.real.real.sum() == 8 and not found.fake.real.any()
    else:  # the loss's own threshold, as the training accuracies use it
        assert found.real.threshold == loss.threshold == 0.0
        expected = float(loss.output(torch.tensor(0.0, dtype=torch.float64)))
        assert found.output_threshold == pytest.approx(expected)
        assert found.acc_real == pytest.approx(6 / 13) and found.acc_fake == 1.0
    # D separates them completely: AUC 1; G's above the real ones: AUC 0
    assert probe.separation(models, real[real[:, 0] > -1]).auc == 1.0
    assert probe.separation(models, real[real[:, 0] < -1]).auc == 0.0


class FirstNoise(nn.Module):
    """A constructed G: the point (z_0, 0), so that D = `FirstCoordinate` scores each sample z_0."""

    def forward(self, z):
        return torch.stack([z[:, 0], torch.zeros_like(z[:, 0])], dim=1)


def test_separation_shows_the_samples_d_accepts_and_rejects_most():
    models = probe.ProbeModels(GANConfig(**TINY), FirstNoise(), FirstCoordinate(), (2,), 0)
    real = np.zeros((20, 2), dtype=np.float32)
    found = probe.separation(models, real, seed=3)
    z0 = probe.latent(3, TINY["latent_dim"], 20)[:, 0].numpy()
    np.testing.assert_array_equal(found.generated[:, 0], z0)
    accepted, rejected = found.extremes(5)
    np.testing.assert_array_equal(accepted[:, 0], np.sort(z0)[::-1][:5])  # highest first
    np.testing.assert_array_equal(rejected[:, 0], np.sort(z0)[:5])  # lowest first
    assert [len(x) for x in found.extremes(50)] == [20, 20] and [len(x) for x in found.extremes(0)] == [0, 0]
    # ties keep the samples' order at both ends (a review: the lowest came reversed)
    scores = np.array([1.0, 0.0, 0.0, 0.0, 2.0])
    verdicts = probe.Verdicts(scores, scores, scores > 0.5, 0.5, "rule")
    tied = probe.Separation(verdicts, verdicts, 0.5, 0.5, np.arange(5), 0.5, 0.5)
    assert [x.tolist() for x in tied.extremes(3)] == [[4, 0, 1], [1, 2, 3]]
    # more samples than Ask D's generate() gives at once: G is asked in chunks, the same noise throughout
    many = probe.separation(models, np.zeros((probe.MAX_SEPARATION_SAMPLES, 2), dtype=np.float32), seed=3)
    z0 = probe.latent(3, TINY["latent_dim"], probe.MAX_SEPARATION_SAMPLES)[:, 0].numpy()
    np.testing.assert_array_equal(many.generated[:, 0], z0)
    np.testing.assert_array_equal(many.fake.scores, z0.astype(np.float64))


def test_separation_refuses_what_it_cannot_measure():
    models = probe.ProbeModels(GANConfig(**TINY), ConstantG(), FirstCoordinate(), (2,), 0)
    with pytest.raises(probe.ProbeError, match="needs 1 to 1,024"):
        probe.separation(models, np.zeros((0, 2), dtype=np.float32))
    with pytest.raises(probe.ProbeError, match="needs 1 to 1,024"):
        probe.separation(models, np.zeros((probe.MAX_SEPARATION_SAMPLES + 1, 2), dtype=np.float32))
    real = np.array([[np.inf, 0.0], [1.0, 0.0]], dtype=np.float32)
    with pytest.raises(probe.ProbeError, match="not finite on 1 of the 4 samples"):
        probe.separation(models, real)
    cfg = GANConfig(**{**TINY, "dataset": "digits", "conditioning": "projection"})
    G, D = build_models(cfg, (1, 8, 8), 10)
    conditional = probe.ProbeModels(cfg, G.eval(), D.eval(), (1, 8, 8), 0, 10, tuple("0123456789"))
    with pytest.raises(probe.ProbeError, match="under their labels"):
        probe.separation(conditional, np.zeros((4, 1, 8, 8), dtype=np.float32))


def test_separation_of_a_conditional_d_asks_each_sample_under_its_class(tmp_path, monkeypatch):
    runner = finished_run(tmp_path, "cond", dataset="digits", conditioning="projection")
    run_dir, cfg = runner.run_dir, runner.cfg
    models = probe.checkpoint_models(run_dir, run_dir.latest_checkpoint())
    real, labels = probe.real_labelled(run_dir, cfg, 64, label=3)
    assert 0 < len(real) <= 64 and labels.tolist() == [3] * len(real)
    found = probe.separation(models, real, labels, seed=1, label=3)
    fake = probe.generate(models, 1, len(real), 3)
    threes = torch.full((len(real),), 3)
    np.testing.assert_allclose(found.real.scores, probe.d_scores(models.D, real, threes), rtol=1e-12)
    np.testing.assert_allclose(found.fake.scores, probe.d_scores(models.D, fake, threes), rtol=1e-12)
    assert found.auc == pytest.approx(mann_whitney_auc(found.real.scores, found.fake.scores), abs=1e-12)
    # the labels are the images' own where the examples are a subsample of a large set (a review: they
    # were the first labels of the whole set, and D was asked about each real 3 under another class)
    monkeypatch.setattr(data_module, "MAX_WHOLE_EXAMPLES", 1000)
    monkeypatch.setattr(data_module, "EXAMPLES_FOR_TOYS", 900)
    data = load_data(cfg)
    assert len(data.examples()) == 900 < len(data.labels)  # (the subsample)
    real, labels = probe.real_labelled(run_dir, cfg, 64, label=3)
    assert len(real) > 40 and labels.tolist() == [3] * len(real)
    pixels = data.examples().reshape(900, -1).numpy()
    rows = [int(np.flatnonzero((pixels == image.reshape(1, -1)).all(axis=1))[0]) for image in real]
    assert data.example_labels()[rows].tolist() == [3] * len(real)  # each image is a 3
    # 2D points read from the run's folder have no labels to pick a class by
    points = finished_run(tmp_path, "pts")
    # ... and are drawn with replacement there: each distinct point counts once (a review: a 100-point
    # CSV's samples/real.npz held 1,000, and D's separation said 512 real samples of 100)
    held = points.run_dir.load_snapshot("real")["points"]
    repeated = RunDir.open(tmp_path, "pts").claim("editing it by hand")
    repeated.save_snapshot("real", {"points": np.repeat(held[:100], 10, axis=0)})
    repeated.release()
    real, _ = probe.real_labelled(RunDir.open(tmp_path, "pts"), points.cfg, 512)
    distinct = len(np.unique(held[:100], axis=0))
    assert len(real) == distinct and 90 <= distinct <= 100
    with pytest.raises(probe.ProbeError, match="no class labels"):
        probe.real_labelled(points.run_dir, points.cfg, 64, label=0)


# ---------------------------------------------------------------------------------------------- uploads
def png_bytes(array: np.ndarray, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format=fmt)
    return buffer.getvalue()


RED = np.zeros((10, 20, 3), dtype=np.uint8)
RED[..., 0] = 255


def test_images_are_read_as_the_training_data_reads_them(tmp_path):
    rng = np.random.default_rng(0)
    photo = rng.integers(0, 256, size=(30, 50, 3), dtype=np.uint8)
    folder = tmp_path / "imgs"
    folder.mkdir()
    (folder / "a.png").write_bytes(png_bytes(photo))
    for channels in (1, 3):
        cfg = GANConfig(
            **{**TINY, "dataset": "folder", "data_path": str(folder), "image_size": 8, "channels": channels}
        )
        G, D = build_models(cfg, (channels, 8, 8))
        models = probe.ProbeModels(cfg, G, D, (channels, 8, 8), 0)
        uploaded = probe.parse_image_uploads([("a.png", png_bytes(photo))], models)
        training = load_data(cfg).examples().numpy()
        assert uploaded.shape == training.shape == (1, channels, 8, 8)
        np.testing.assert_allclose(uploaded, training, rtol=0, atol=1e-6)


def test_images_get_the_runs_channels_and_size():
    gray_run = tiny_models(dataset="digits")  # (1, 8, 8)
    red, gray = png_bytes(RED), png_bytes(np.full((12, 12), 64, dtype=np.uint8))
    images = probe.parse_image_uploads([("red.png", red), ("gray.bmp", png_bytes(RED, "BMP"))], gray_run)
    assert images.shape == (2, 1, 8, 8)
    # pure red -> luma 0.299 -> 2 * 0.299 - 1 in [-1, 1]
    np.testing.assert_allclose(images, 2 * 0.299 - 1, atol=1e-3)
    colour_run = tiny_models(dataset="cifar10")  # (3, 8, 8)
    (image,) = probe.parse_image_uploads([("gray.png", gray)], colour_run)
    np.testing.assert_allclose(image, 2 * 64 / 255 - 1, atol=1e-3)  # gray repeated into R, G, B


def test_bad_image_uploads_give_clear_errors():
    models = tiny_models(dataset="digits")
    good = png_bytes(RED)
    cases = {
        "broken.png": (
            good[: len(good) // 2],
            r"broken\.png: not a readable image; allowed PNG, JPEG, WEBP, BMP",
        ),
        "notes.png": (b"just some text, not an image\n" * 10, r"notes\.png: not a readable image"),
        "huge.png": (
            good + b"\0" * probe.MAX_IMAGE_BYTES,
            r"huge\.png: .* MiB is too large; allowed up to 10 MiB",
        ),
        "anim.png": (png_bytes(RED, "GIF"), r"anim\.png: a GIF image inside; allowed PNG, JPEG, WEBP, BMP"),
        # too many pixels for this page (40 megapixels), and for PIL itself (which refuses it unopened)
        "wide.png": (png_claiming(7000, 7000), r"^wide\.png: 7000x7000 pixels is too large; allowed up to"),
        "vast.png": (
            png_claiming(20_000, 10_000),
            r"^vast\.png: 200,000,000 pixels is too large; allowed up to 40 megapixels$",
        ),
        "notes.txt": (good, r"notes\.txt: not an image file name; allowed png, jpg, jpeg, webp, bmp"),
    }
    for name, (data, message) in cases.items():
        with pytest.raises(probe.ProbeError, match=message):
            probe.parse_image_uploads([("fine.png", good), (name, data)], models)
    with pytest.raises(probe.ProbeError, match="17 images uploaded; allowed up to 16"):
        probe.parse_image_uploads([("a.png", good)] * 17, models)
    with pytest.raises(probe.ProbeError, match="no image uploaded"):
        probe.parse_image_uploads([], models)
    with pytest.raises(probe.ProbeError, match="2D points: upload a CSV"):
        probe.parse_image_uploads([("a.png", good)], tiny_models())


def test_points_upload():
    points = probe.parse_points_upload(b"x,y\n1,2\n-3.5,4e-1\n", "mine.csv")
    np.testing.assert_array_equal(points, np.array([[1, 2], [-3.5, 0.4]], dtype=np.float32))
    cases = {
        "text.csv": (b"1,2\n3,abc\n", r"points CSV text\.csv: column 2 has text 'abc' at row 2; need two"),
        "one.csv": (b"1\n2\n3\n", r"points CSV one\.csv: it has 1 column; need two numeric columns"),
        "nan.csv": (b"1,2\n3,nan\n", r"nan\.csv: column 2 has non-finite value 'nan'"),
        "empty.csv": (b"", r"empty\.csv: the file is empty"),
        "big.csv": (
            b"1,2\n" * (probe.MAX_CSV_BYTES // 4 + 1),
            r"big\.csv: .* too large; allowed up to 1 MiB",
        ),
        "many.csv": (
            b"1,2\n" * (probe.MAX_ASK_POINTS + 1),
            r"many\.csv: it has more than 1000 rows; need two numeric columns .* 1 to 1000 rows",
        ),
        "pts.txt": (b"1,2\n3,4\n", r"pts\.txt: points must come as a \.csv file"),
        # in the product's words, not pandas' ("Error tokenizing data. C error: Expected 2 fields ...")
        "wide.csv": (
            b"x,y\n1,2\n3,4,5\n",
            r"^points CSV wide\.csv: line 3 has 3 cells, where the lines before it have 2; need two numeric "
            r"columns x,y \(a header row is optional\), 1 to 1000 rows of finite numbers$",
        ),
        "quote.csv": (
            b'1,2\n"3,4\n',
            r"^points CSV quote\.csv: a quote \(\"\) opened on line 2 is never closed; need",
        ),
        "latin.csv": (
            b"\xff\xfe1,2\n",
            r"^points CSV latin\.csv: it is not UTF-8 text \(byte 0xff does not decode\); need",
        ),
    }
    for name, (data, message) in cases.items():
        with pytest.raises(probe.ProbeError, match=message):
            probe.parse_points_upload(data, name)


# ---------------------------------------------------------------------------------------------- weights
def test_models_state_is_a_detached_copy_taken_between_steps(tmp_path):
    runner = Runner(GANConfig(**TINY, steps=0, sample_every=5, checkpoint_every=0), tmp_path, "live")
    with pytest.raises(RunnerError, match="not been started"):
        runner.models_state()
    runner.start()
    try:
        assert runner.wait_until(lambda r: len(r.store) >= 3, TIMEOUT)
        state = runner.models_state(timeout=TIMEOUT)  # while it trains
        keys = {
            "generator",
            "discriminator",
            "config",
            "hparams",
            "sample_shape",
            "n_classes",
            "class_names",
            "step",
        }
        assert set(state) == keys
        assert state["n_classes"] == 0 and state["class_names"] == []  # an unconditional run
        assert state["config"] == runner.cfg.to_dict() and state["sample_shape"] == [2]
        assert state["step"] >= 3
        live = {id(t.untyped_storage()) for t in runner.trainer.G.state_dict().values()}
        assert all(t.device.type == "cpu" for t in state["generator"].values())
        assert not live & {id(t.untyped_storage()) for t in state["generator"].values()}
        assert probe.load_models(state).step == state["step"]
        # it keeps training after the hand-over
        assert runner.wait_until(lambda r: len(r.store) >= state["step"] + 5, TIMEOUT)

        runner.pause()
        assert runner.wait_until(lambda r: r.status == "paused", TIMEOUT)
        paused = runner.models_state(timeout=TIMEOUT)
        assert paused["step"] == runner.current_step
        for name, net in (("generator", runner.trainer.G), ("discriminator", runner.trainer.D)):
            for key, value in net.state_dict().items():
                torch.testing.assert_close(paused[name][key], value, rtol=0, atol=0)
                assert paused[name][key].data_ptr() != value.data_ptr()
        first = next(iter(paused["generator"]))
        before = runner.trainer.G.state_dict()[first].clone()
        paused["generator"][first].fill_(7.0)  # the copy is the page's to change
        torch.testing.assert_close(runner.trainer.G.state_dict()[first], before, rtol=0, atol=0)
    finally:
        runner.stop()
        assert runner.wait(TIMEOUT)
    # once ended, the copy is the final weights, the same as the final checkpoint
    ended = runner.models_state()
    saved = runner.run_dir.load_checkpoint()
    assert ended["step"] == saved["step"] == runner.current_step
    for key, value in saved["discriminator"].items():
        torch.testing.assert_close(ended["discriminator"][key], value, rtol=0, atol=0)


def test_bad_checkpoints_are_refused(tmp_path):
    runner = finished_run(tmp_path, "r")
    run_dir = RunDir.open(tmp_path, "r")
    path = run_dir.latest_checkpoint()
    assert probe.checkpoint_models(run_dir, path).step == 20
    state = run_dir.load_checkpoint(path)

    corrupt = path.parent / "step_00000021.pt"
    corrupt.write_bytes(path.read_bytes()[:500])
    not_torch = r"checkpoint step_00000021\.pt of run 'r' is not a PyTorch checkpoint"
    with pytest.raises(RunDirError, match=not_torch):
        probe.checkpoint_models(run_dir, corrupt)

    with pytest.raises(probe.ProbeError, match="lacks sample_shape"):
        probe.load_models({k: v for k, v in state.items() if k != "sample_shape"}, "ckpt")
    with pytest.raises(probe.ProbeError, match="ckpt cannot be rebuilt into G and D"):
        probe.load_models({**state, "sample_shape": [3]}, "ckpt")
    broken = {**state, "discriminator": dict(state["discriminator"])}
    key = next(iter(broken["discriminator"]))
    broken["discriminator"][key] = torch.full_like(broken["discriminator"][key], float("nan"))
    with pytest.raises(probe.ProbeError, match="D's weights hold NaN or inf"):
        probe.load_models(broken, "ckpt")
    assert runner.status == "finished"


# ---------------------------------------------------------------------------------------------- the page


def page(run_id: str | None = None) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT)
    if run_id:
        at.session_state["probe_run"] = run_id
    return at


def charts_by_key(at: AppTest) -> dict[str, dict]:
    """The page's figures by key: its charts are live charts (ui/live_chart.py), their figures in the
    element's bytes."""
    components = {user_key_from_element_id(c.proto.id): c for c in at.get("bidi_component")}
    return {
        key: read_payload(c.proto.bytes)["figure"]
        for key, c in components.items()
        if key != "probe_refused_numbers"  # (the watcher of numbers the browser refused: no chart)
    }


def trace_xy(spec: dict, name: str) -> np.ndarray:
    (trace,) = [t for t in spec["data"] if t.get("name") == name]

    def values(v):  # plotly sends numpy arrays as typed base64 ({"dtype", "bdata"})
        if isinstance(v, dict):
            return np.frombuffer(base64.b64decode(v["bdata"]), dtype=np.dtype(v["dtype"])).astype(np.float64)
        return np.asarray(v, dtype=np.float64)

    return np.column_stack([values(trace["x"]), values(trace["y"])])


def test_page_without_runs(runs_root):
    at = page().run()
    assert not at.exception
    assert at.title[0].value == "Probe the networks"
    assert "No run to probe yet" in at.info[0].value


def test_page_offers_only_the_runs_it_can_probe(runs_root):
    """A run recorded by a user's own loop has no checkpoints: the page does not open on it (it did, the
    newest, as a page of one message) nor offer it, and says why it is not there."""
    from gan_core import track

    with track.init("mine", root=runs_root, loss="nonsaturating") as run:
        run.d_step(torch.randn(8), torch.randn(8), d_loss=torch.tensor(1.0))
        run.g_step(torch.tensor(0.7))
    at = page().run()
    assert not at.exception
    assert (
        "No run to probe yet" in at.info[0].value and "1 run recorded by a training loop" in at.info[0].value
    )

    finished_run(runs_root, "pts")
    with track.init("mine2", root=runs_root, loss="nonsaturating") as run:  # the newest
        run.d_step(torch.randn(8), torch.randn(8), d_loss=torch.tensor(1.0))
        run.g_step(torch.tensor(0.7))
    at = page().run()
    assert not at.exception and not any("recorded by" in i.value for i in at.info)
    assert at.selectbox(key="probe_run").options == ["pts"] and at.selectbox(key="probe_run").value == "pts"
    assert any("2 runs recorded by a training loop" in c.value for c in at.caption)


def test_page_walks_and_asks_d_on_a_finished_2d_run(runs_root):
    finished_run(runs_root, "pts", loss="wgan-gp")
    at = page("pts").run()
    assert not at.exception and not at.error
    assert at.selectbox(key="probe_weights_pts").value == 20  # the newest checkpoint
    at.number_input(key="walk_seed_b").set_value(5)
    at.slider(key="walk_steps").set_value(6)
    at.run()
    assert not at.exception and not at.error
    figures = charts_by_key(at)
    assert set(figures) == {"probe_walk_chart", "probe_ask_chart"}
    run_dir = RunDir.open(runs_root, "pts")
    models = probe.checkpoint_models(run_dir, run_dir.latest_checkpoint())
    expected = probe.walk(models, 0, 5, 6, "slerp")
    np.testing.assert_allclose(
        trace_xy(figures["probe_walk_chart"], "latent walk"), expected, rtol=1e-5, atol=1e-6
    )
    # Ask D on G's samples from seed 0: the table is D's verdict, by the wgan reference rule
    table = at.dataframe[0].value
    samples = probe.generate(models, 0, 8)
    assert table["#"].tolist() == list(range(1, 9))
    np.testing.assert_allclose(table[["x", "y"]].to_numpy(), samples, rtol=1e-5, atol=1e-6)
    reference = probe.wasserstein_reference(models, probe.real_samples(run_dir, models.cfg))
    verdicts = probe.ask_d(models.D, "wgan-gp", samples, reference)
    np.testing.assert_allclose(table["d_score"].to_numpy(), verdicts.scores, rtol=1e-5, atol=1e-6)
    assert table["verdict"].tolist() == verdicts.table()["verdict"].tolist()
    np.testing.assert_allclose(trace_xy(figures["probe_ask_chart"], "asked"), samples, rtol=1e-5, atol=1e-6)
    assert any("half-way" in m.value for m in at.markdown)


def test_page_shows_whether_d_can_tell_real_from_g(runs_root):
    finished_run(runs_root, "pts", loss="nonsaturating")
    at = page("pts").run()
    at.radio(key="ask_source").set_value("separation").run()
    assert not at.exception and not at.error
    at.number_input(key="sep_n").set_value(128).run()
    assert not at.exception and not at.error
    figures = charts_by_key(at)
    figure = figures["probe_separation_chart"]
    assert "probe_separation_accepted" not in figures  # (2D: D's heatmap shows where it accepts)
    run_dir = RunDir.open(runs_root, "pts")
    models = probe.checkpoint_models(run_dir, run_dir.latest_checkpoint())
    real, _ = probe.real_labelled(run_dir, models.cfg, 128)
    found = probe.separation(models, real)
    assert any(f"ROC AUC {found.auc:.3f}** over 128 real samples" in m.value for m in at.markdown)
    shares = {name: trace_xy(figure, name)[:, 1] for name in ("real (128)", "G's samples (128)")}
    for name, share in shares.items():  # each batch's histogram, in shares of its own 128
        assert share.sum() == pytest.approx(1.0, abs=1e-9), name
    assert trace_xy(figure, "threshold 0.5")[:, 0].tolist() == [0.5, 0.5]
    assert not np.array_equal(shares["real (128)"], shares["G's samples (128)"])


def test_page_on_an_image_run_and_a_corrupt_checkpoint(runs_root):
    finished_run(runs_root, "img", dataset="digits")
    at = page("img").run()
    assert not at.exception and not at.error
    assert set(charts_by_key(at)) == {"probe_walk_chart"}
    table = at.dataframe[0].value
    assert len(table) == 8 and set(table["verdict"]) <= {"real", "fake"}
    assert table["sample"].str.startswith("data:image/png;base64,").all()
    # a checkpoint that cannot be read: an error on the page, the page stays up
    checkpoints = runs_root / "img" / "checkpoints"
    (checkpoints / "step_00000030.pt").write_bytes(b"not a checkpoint")
    at = page("img").run()
    assert not at.exception
    assert at.selectbox(key="probe_weights_img").value == 30
    assert (
        len(at.error) == 1
        and "step_00000030.pt" in at.error[0].value
        and "is not a PyTorch checkpoint" in at.error[0].value
    )
    at.selectbox(key="probe_weights_img").set_value(20).run()
    assert not at.exception and not at.error and len(at.dataframe) == 1
    # the checkpoint picked is thinned away (keep_checkpoints) while the page is open: said, not swapped
    (checkpoints / "step_00000020.pt").unlink()
    at.run()
    assert not at.exception
    assert any("checkpoint at step 20 is no longer in the run's folder" in i.value for i in at.info)


def test_page_probes_the_current_weights_of_a_live_run(runs_root):
    runner = registry().start(GANConfig(**TINY, steps=0, sample_every=5, checkpoint_every=0), paused=True)
    assert runner.wait_until(lambda r: len(r.snapshots) == 1, TIMEOUT)
    runner.run_to(4)
    assert runner.wait_until(lambda r: r.status == "paused" and r.current_step == 4, TIMEOUT)
    at = page(runner.run_id).run()
    assert not at.exception and not at.error
    weights = at.selectbox(key=f"probe_weights_{runner.run_id}")
    # checkpoint_every=0, and the pause's checkpoint of step 4 (a paused run's weights are kept)
    assert weights.options == ["current (live weights)", "checkpoint at step 4"]
    assert any("G and D at step 4" in c.value for c in at.caption)
    models = probe.load_models(runner.models_state())
    expected = probe.walk(models, 0, 1, 10, "slerp")
    walk = trace_xy(charts_by_key(at)["probe_walk_chart"], "latent walk")
    np.testing.assert_allclose(walk, expected, rtol=1e-5, atol=1e-6)
    # while it trains: the page takes the weights again, between two steps, at a later step, when asked
    runner.resume()
    # (a snapshot every 5 steps, and the pause's at step 4)
    assert runner.wait_until(lambda r: r.snapshots[-1][0] >= 10, TIMEOUT)
    at.button(key="probe_refresh").click().run()
    assert not at.exception and not at.error
    (line,) = [c.value for c in at.caption if "G and D at step" in c.value]
    assert int(line.rsplit(" ", 1)[1]) >= 10
    assert len(at.dataframe) == 1 and len(at.dataframe[0].value) == 8
    assert "probe_refresh" in [b.key for b in at.button]  # its weights move: they can be taken again
    runner.stop()  # ended, its weights are those of its last step: nothing to take again
    assert runner.wait(TIMEOUT) and runner.status == "stopped"
    at.run()
    assert not at.exception and "probe_refresh" not in [b.key for b in at.button]
    # no longer live: its last weights are offered as what holds them, the final checkpoint
    weights = at.selectbox(key=f"probe_weights_{runner.run_id}")
    assert (
        weights.value == runner.current_step and weights.options[0] == f"checkpoint at step {weights.value}"
    )
    assert "current (live weights)" not in weights.options


def test_page_measures_g_and_d_as_tools_for_a_conditional_run_only(runs_root):
    finished_run(runs_root, "cond", dataset="digits", conditioning="acgan", eval_every=10)
    at = page("cond").run()
    assert not at.exception and not at.error
    at.number_input(key="uses_k").set_value(2)
    at.number_input(key="uses_m").set_value(20)
    at.button(key="uses_measure").click().run()
    assert not at.exception and not at.error
    shown = {m.label: m.value for m in at.metric}
    run_dir = RunDir.open(runs_root, "cond")
    models = probe.checkpoint_models(run_dir, run_dir.latest_checkpoint())
    expected = downstream.gan_train_test(models.cfg, models.G)
    augment = downstream.augmentation_probe(models.cfg, models.G, k=2, generated_per_class=20)
    assert shown["Real-trained classifier"] == f"{expected['real_accuracy']:.1%}"
    assert (
        shown["GAN-train"] == f"{expected['gan_train']:.1%}"
        and shown["GAN-test"] == f"{expected['gan_test']:.1%}"
    )
    assert shown["2 real per class"] == f"{augment['real_only']:.1%}"
    assert shown["+ 20 of G's per class"] == f"{augment['with_generated']:.1%}"
    d_class = run_dir.read_metrics()["d_class_acc"].dropna()
    assert shown["D as a classifier (d_class_acc)"] == f"{d_class.iloc[-1]:.1%}"
    # an unconditional run: said, nothing measured
    finished_run(runs_root, "plain", dataset="digits")
    at = page("plain").run()
    assert not at.exception and any("class-conditional run" in i.value for i in at.info)
    assert "uses_measure" not in [b.key for b in at.button]


def test_steps_are_written_with_thousands_separators_as_on_the_other_pages(runs_root):
    """Probe wrote "checkpoint at step 13499" where the Train view writes "13,499" (a review)."""
    finished_run(runs_root, "long", steps=1001, checkpoint_every=1000, sample_every=1000, eval_every=1000)
    at = page("long").run()
    assert not at.exception
    weights = at.selectbox(key="probe_weights_long")
    assert weights.options == ["checkpoint at step 1,001", "checkpoint at step 1,000"]  # (as shown)
    assert any(c.value.endswith("G and D at step 1,001") for c in at.caption)
