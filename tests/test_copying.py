"""The Probe's "Does G copy?" (`gan_core.probe.data_copying`): G's samples against the training set by
nearest neighbours, beside the training set's own leave-one-out distances. A G that returns training
examples reads as copies, one that draws fresh samples of the same distribution as the data, and one off
the data as apart; `evaluate --run` reports the same numbers."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torch import nn

from gan_core import probe
from gan_core.config import GANConfig
from gan_core.rundir import RunDir

LATENT = 4


class Copier(nn.Module):
    """Returns a training example for each noise vector: a G that memorised its data."""

    def __init__(self, training: np.ndarray):
        super().__init__()
        self.training = torch.as_tensor(training, dtype=torch.float32)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        index = (z[:, 0].abs() * 10_000).long() % len(self.training)
        return self.training[index]


class Fresh(nn.Module):
    """Draws new points from the data's own distribution (the noise's first two coordinates), scaled and
    moved by ``scale`` and ``shift``: a G that learnt the distribution, or one that is off it."""

    def __init__(self, scale: float = 1.0, shift: float = 0.0):
        super().__init__()
        self.scale, self.shift = scale, shift

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return z[:, :2] * self.scale + self.shift


def models_of(G: nn.Module, shape: tuple[int, ...] = (2,)) -> probe.ProbeModels:
    cfg = GANConfig(dataset="ring8", latent_dim=LATENT)
    return probe.ProbeModels(cfg=cfg, G=G, D=nn.Identity(), sample_shape=shape, step=7)


def gaussian_points(n: int = 2000, seed: int = 123) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n, 2)).astype(np.float32)


def test_a_g_that_returns_training_examples_reads_as_copies():
    training = gaussian_points()
    found = probe.data_copying(models_of(Copier(training)), training, seed=1, n=512)
    assert found.close_share == 1.0 and found.ratio == 0.0  # every sample on a training example
    assert np.all(found.fake_distance < 1e-3)
    np.testing.assert_array_equal(training[found.nearest], found.generated)
    assert found.reading == "copies"
    assert 0 < found.threshold < 0.1  # the 5% quantile of 2,000 Gaussian points' nearest-other distances


def test_a_g_that_draws_the_datas_distribution_afresh_reads_like_the_data():
    """Fresh N(0, I) points against 3,000 training ones: their nearest training point lies as far as a
    training point's nearest other, so about 5% fall under the baseline's 5% quantile (2-10% at n=2,048)
    and the medians agree (0.85-1.2). The baseline is taken over 1,000 of the 3,000."""
    training = gaussian_points(3000)
    found = probe.data_copying(models_of(Fresh()), training, seed=2, n=2048)
    assert 0.02 <= found.close_share <= 0.10
    assert 0.85 <= found.ratio <= 1.2
    assert found.reading == "like_the_data"
    assert len(found.real_distance) == probe.MAX_COPY_QUERIES and np.all(found.real_distance > 0)


def test_a_g_off_the_data_reads_as_apart():
    training = gaussian_points()
    found = probe.data_copying(models_of(Fresh(scale=0.1, shift=6.0)), training, seed=0, n=256)
    assert found.close_share == 0.0 and found.ratio > 10
    assert found.reading == "apart"


def test_the_closest_are_nearest_first_beside_their_training_example():
    training = gaussian_points(500)
    found = probe.data_copying(models_of(Fresh()), training, seed=3, n=64)
    samples, nearest, distances = found.closest(5)
    assert samples.shape == nearest.shape == (5, 2) and distances.shape == (5,)
    assert np.all(np.diff(distances) >= 0) and distances[0] == found.fake_distance.min()
    np.testing.assert_allclose(np.linalg.norm(samples - nearest, axis=1), distances, rtol=1e-4, atol=1e-5)
    # each is indeed the nearest of the whole training set
    whole = np.linalg.norm(samples[:, None, :] - training[None, :, :], axis=2).min(axis=1)
    np.testing.assert_allclose(whole, distances, rtol=1e-4, atol=1e-5)
    assert found.closest(0)[0].shape == (0, 2)


def test_pairs_lay_a_sample_above_its_training_example():
    top = np.full((3, 1, 4, 4), -1.0, dtype=np.float32)  # black
    bottom = np.full((3, 1, 4, 4), 1.0, dtype=np.float32)  # white
    grid = probe.pairs(top, bottom)
    assert grid.shape == (2 * 4 + 3, 3 * 4 + 4, 3) and grid.dtype == np.uint8
    assert grid[1:5, 1:5].max() == 0 and grid[6:10, 1:5].min() == 255  # (1 px of white padding between)
    with pytest.raises(ValueError, match="two rows alike"):
        probe.pairs(top, bottom[:2])


@pytest.mark.parametrize(
    ("kwargs", "said"),
    [
        ({"n": 0}, "n=0: the copying check draws 1 to 2,048"),
        ({"n": probe.MAX_COPY_SAMPLES + 1}, "n=2049"),
    ],
)
def test_a_number_of_samples_out_of_range_is_refused(kwargs, said):
    with pytest.raises(probe.ProbeError, match=said):
        probe.data_copying(models_of(Fresh()), gaussian_points(10), **kwargs)


def test_what_cannot_be_compared_is_refused_saying_why():
    with pytest.raises(probe.ProbeError, match="1 distinct training example: the copying check needs"):
        probe.data_copying(models_of(Fresh()), gaussian_points(1))
    with pytest.raises(probe.ProbeError, match="1 distinct training example"):
        probe.data_copying(models_of(Fresh()), np.repeat(gaussian_points(1), 5, axis=0))
    with pytest.raises(probe.ProbeError, match=r"shape \(1, 2\), G's samples \(2,\)"):
        probe.data_copying(models_of(Fresh()), gaussian_points(10)[:, None, :])
    with pytest.raises(probe.ProbeError, match="G's samples are not all finite"):
        probe.data_copying(models_of(Fresh(shift=float("nan"))), gaussian_points(10))


def test_the_training_set_is_the_runs_finite_data_and_generated_data_has_none(tmp_path):
    digits = probe.training_set(None, GANConfig(dataset="digits"))
    assert digits.shape == (1797, 1, 8, 8) and digits.dtype == np.float32
    assert -1.0 <= digits.min() < digits.max() <= 1.0
    with pytest.raises(probe.ProbeError, match="ring8 is drawn afresh at every batch: G has no training set"):
        probe.training_set(None, GANConfig(dataset="ring8"))
    csv = tmp_path / "pts.csv"
    csv.write_text("x,y\n" + "".join(f"{i},{-i}\n" for i in range(30)))
    points = probe.training_set(None, GANConfig(dataset="points", data_path=str(csv)))
    assert points.shape == (30, 2)


def test_evaluate_run_reports_the_copying_check_and_says_why_where_it_has_none(tmp_path, cli):
    tiny = ("--width", "16", "--latent-dim", "4", "--batch-size", "16", "--steps", "6", "--eval-every", "100")
    made = cli("train", "--dataset", "digits", "--out", str(tmp_path), "--run-id", "d", "--quiet", *tiny)
    assert made.returncode == 0, made.stderr
    scored = cli("evaluate", "--run", str(tmp_path / "d"))
    assert scored.returncode == 0, scored.stderr
    got = json.loads(scored.stdout)["data_copying"]
    run_dir = RunDir.open(tmp_path, "d")
    models = probe.checkpoint_models(run_dir, run_dir.latest_checkpoint())
    found = probe.data_copying(models, probe.training_set(run_dir, models.cfg))
    assert got == {
        "close_share": pytest.approx(found.close_share, abs=1e-12),
        "ratio": pytest.approx(found.ratio, rel=1e-9),
        "threshold": pytest.approx(found.threshold, rel=1e-9),
        "reading": found.reading,
        "p_value": pytest.approx(found.close_p_value, rel=1e-9),
        "samples": 512,
        "training_examples": 1797,
    }
    assert got["reading"] == "apart" and got["ratio"] > 1.25  # six steps: G's noise is far from any digit
    made = cli("train", "--dataset", "ring8", "--out", str(tmp_path), "--run-id", "r", "--quiet", *tiny)
    assert made.returncode == 0, made.stderr
    ring = cli("evaluate", "--run", str(tmp_path / "r"))
    assert ring.returncode == 0 and "data_copying" not in json.loads(ring.stdout)
    assert "note: data_copying not measured: ring8 is drawn afresh at every batch" in ring.stderr


# ---------------------------------------------------------------------------------------------- the page
def test_the_probe_page_compares_on_a_click_and_keeps_the_result_for_these_weights(runs_root):
    from tests.test_probe import charts_by_key, finished_run, page

    finished_run(runs_root, "dg", dataset="digits", latent_dim=8, steps=10, checkpoint_every=5)
    at = page("dg").run()
    assert not at.exception
    assert not [m for m in at.metric if m.label == "Near a training example"]  # nothing before the click
    at.number_input(key="copy_n").set_value(64)
    at.button(key="copy_measure").click().run()
    assert not at.exception and not at.error
    cards = {m.label: m.value for m in at.metric}
    run_dir = RunDir.open(runs_root, "dg")
    models = probe.checkpoint_models(run_dir, run_dir.latest_checkpoint())
    found = probe.data_copying(models, probe.training_set(run_dir, models.cfg), seed=0, n=64)
    assert cards["Near a training example"] == f"{found.close_share:.1%}"
    assert cards["Distance ratio"] == f"{found.ratio:.2f}" and cards["Training examples"] == "1,797"
    readings = [i.value for i in at.info if i.value[:-1] in probe.COPY_READINGS.values()]
    assert readings == [probe.COPY_READINGS["apart"] + "."]  # ten steps: far from any digit
    figures = charts_by_key(at)
    bars = [t for t in figures["probe_copying_chart"]["data"] if t["type"] == "bar"]
    assert [t["name"] for t in bars] == [
        "training examples, to their nearest other (1,000)",  # (the baseline's queries: 1,000 of 1,797)
        "G's samples, to their nearest training example (64)",
    ]
    assert {"probe_copying_pairs", "probe_copying_more"} <= set(figures)
    at.selectbox(key="probe_weights_dg").set_value(5).run()  # other weights: the result is not theirs
    assert not [m for m in at.metric if m.label == "Near a training example"]


def test_the_probe_page_says_why_a_toy_run_has_no_copying_check(runs_root):
    from tests.test_probe import finished_run, page

    finished_run(runs_root, "rg", steps=5)
    at = page("rg").run()
    assert not at.exception
    assert any("ring8 is drawn afresh at every batch" in i.value for i in at.info)
    assert not [b for b in at.button if b.key == "copy_measure"]


class PartCopier(nn.Module):
    """Copies a training example for a share of its noise vectors and draws something else for the rest:
    fresh points scaled by ``scale`` (off the data where it is far from 1)."""

    def __init__(self, training: np.ndarray, share: float, scale: float):
        super().__init__()
        self.copier, self.share, self.scale = Copier(training), share, scale

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        copy = (z[:, 1].abs() * 1e4).long() % 1000 < self.share * 1000
        return torch.where(copy[:, None], self.copier(z), z[:, 2:4] * self.scale)


@pytest.mark.parametrize(("share", "scale"), [(0.3, 8.0), (0.35, 1.6), (0.15, 1.0)])
def test_a_g_copying_part_of_its_samples_reads_as_copies_whatever_the_rest_does(share, scale):
    """A review: 29% copies and the rest off the data read "apart", 37% copies and the rest broader read
    "like the data": the median decided. The close share's binomial test now does."""
    training = gaussian_points(3000)
    found = probe.data_copying(models_of(PartCopier(training, share, scale)), training, seed=4, n=512)
    assert share - 0.07 <= found.close_share <= share + 0.12
    assert found.close_p_value < 1e-6 and found.reading == "copies"


def test_repeats_in_the_data_do_not_hide_exact_copies():
    """A review: with 10% of the rows twice, the baseline's 5% quantile was 0 and no copy was near."""
    unique = gaussian_points(2000)
    training = np.concatenate([unique, unique[:200]])
    found = probe.data_copying(models_of(Copier(unique)), training, seed=5, n=256)
    assert found.duplicates == 200 and len(found.training) == 2000 and found.threshold > 0
    assert found.close_share == 1.0 and found.reading == "copies"


def test_a_g_drawing_new_samples_seldom_reads_as_copies_even_on_few_samples():
    """The binomial test keeps false alarms rare at the page's smallest n (16): 0 or 1 in 100 seeds, where
    "15% near" alone raised one in twenty."""
    training = gaussian_points(2000)
    model = models_of(Fresh())
    readings = [probe.data_copying(model, training, seed=seed, n=16).reading for seed in range(100)]
    assert readings.count("copies") <= 1
    assert readings.count("like_the_data") >= 75  # (the rest "apart": a median of 16 is noisy)
