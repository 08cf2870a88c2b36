"""gan_core.feature_metrics: Fréchet distance and KID (torchmetrics), precision, recall, density and coverage
(prdc), against closed forms and hand-computed values."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from gan_core.feature_metrics import QUALITY_KEYS, FeatureRows, ImageQuality, real_baseline


def gaussian(n: int, mean, std, seed: int) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    return torch.from_numpy(rng.normal(mean, std, size=(n, len(mean))))


def test_a_set_against_itself_is_at_zero_distance_and_fully_covered():
    rows = gaussian(800, [0.0] * 4, [1.0] * 4, seed=0)
    quality = ImageQuality(FeatureRows(4), rows, kid_subset_size=200)
    got = quality.measure(rows)
    assert set(got) == set(QUALITY_KEYS)
    assert abs(got["fd"]) < 1e-6
    assert abs(got["kid"]) <= 3 * got["kid_std"]  # subsets of one set: the unbiased MMD scatters around 0
    # every generated row is a real row, inside its own ball and covering it
    assert got["precision"] == got["recall"] == got["coverage"] == 1.0


def test_frechet_distance_of_two_gaussians_matches_the_closed_form():
    # N(0, I) against N(mu, diag(s^2)): |mu|^2 + sum(1 + s^2 - 2 s)
    mean, std = np.array([1.0, -0.5, 0.0, 2.0]), np.array([1.0, 2.0, 0.5, 1.5])
    closed = float((mean**2).sum() + (1 + std**2 - 2 * std).sum())  # 6.25 + 1.5 = 7.75
    real = gaussian(5000, [0.0] * 4, [1.0] * 4, seed=1)
    fake = gaussian(5000, mean, std, seed=2)
    got = ImageQuality(FeatureRows(4), real, kid_subset_size=500, kid_subsets=10).measure(fake)
    assert closed * 0.97 <= got["fd"] <= closed * 1.03, (got["fd"], closed)


def test_kid_is_about_zero_for_one_distribution_and_positive_for_two():
    real = gaussian(2000, [0.0] * 3, [1.0] * 3, seed=3)
    same = gaussian(2000, [0.0] * 3, [1.0] * 3, seed=4)
    shifted = gaussian(2000, [1.0, 0.0, 0.0], [1.0] * 3, seed=5)
    quality = ImageQuality(FeatureRows(3), real, kid_subset_size=500)
    near, far = quality.measure(same), quality.measure(shifted)
    assert abs(near["kid"]) <= 3 * near["kid_std"] + 1e-3
    assert far["kid"] > 10 * max(abs(near["kid"]), near["kid_std"])
    assert far["fd"] == pytest.approx(1.0, rel=0.1)  # a unit shift of the mean


def test_precision_recall_density_coverage_on_a_constructed_set():
    # Real 0, 1, 2, 3, 4 on a line, k = 1: every real ball has radius 1 (the nearest other point).
    # Generated 0.5, 10 and 20: balls of radius 9.5, 9.5 and 10 (the nearest other generated point).
    # precision: 0.5 is inside the balls of 0 and 1, 10 and 20 in none -> 1/3
    # recall: every real point is within 9.5 of 0.5 -> 1
    # density: (2 balls + 0 + 0) / (k = 1) / 3 generated -> 2/3
    # coverage: 0 and 1 have a generated point inside their ball, 2, 3 and 4 do not -> 2/5
    real = torch.tensor([[0.0], [1.0], [2.0], [3.0], [4.0]])
    fake = torch.tensor([[0.5], [10.0], [20.0]])
    got = ImageQuality(FeatureRows(1), real, nearest_k=1, kid_subset_size=2).measure(fake)
    assert got["precision"] == pytest.approx(1 / 3)
    assert got["recall"] == 1.0
    assert got["density"] == pytest.approx(2 / 3)
    assert got["coverage"] == pytest.approx(0.4)


def test_a_collapsed_generator_keeps_precision_and_loses_recall_and_coverage():
    # Real: four clusters; generated: all near one of them (a mode collapse)
    rng = np.random.default_rng(6)
    centres = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0], [10.0, 10.0]])
    real = torch.from_numpy(centres[rng.integers(0, 4, 2000)] + rng.normal(0, 0.5, (2000, 2)))
    collapsed = torch.from_numpy(centres[0] + rng.normal(0, 0.5, (2000, 2)))
    got = ImageQuality(FeatureRows(2), real, kid_subset_size=500).measure(collapsed)
    assert got["precision"] >= 0.9
    assert 0.15 <= got["recall"] <= 0.35  # one cluster of four
    assert 0.15 <= got["coverage"] <= 0.35


def test_the_real_baseline_of_one_distribution_reads_as_real():
    real = gaussian(4000, [0.0] * 4, [1.0] * 4, seed=7)
    baseline = real_baseline(FeatureRows(4), real, kid_subset_size=500)
    far = ImageQuality(FeatureRows(4), real[:2000], kid_subset_size=500).measure(real[2000:] + 1.0)
    assert 0.0 < baseline["fd"] < 0.05 < far["fd"]
    assert abs(baseline["kid"]) < 5e-3
    for key in ("precision", "recall", "coverage"):
        assert 0.85 <= baseline[key] <= 1.0, (key, baseline[key])
    assert 0.8 <= baseline["density"] <= 1.2


def test_measuring_is_reproducible_and_leaves_torchs_random_stream_alone():
    real = gaussian(1000, [0.0] * 2, [1.0] * 2, seed=8)
    fake = gaussian(1000, [0.5] * 2, [1.0] * 2, seed=9)
    quality = ImageQuality(FeatureRows(2), real, kid_subset_size=200)
    torch.manual_seed(123)
    state = torch.get_rng_state()
    first = quality.measure(fake)
    assert torch.equal(torch.get_rng_state(), state)
    assert quality.measure(fake) == first


def test_a_feature_network_is_used_on_the_images_themselves():
    # Images (N, 1, 2, 2) through a network of 2 features: the mean and the spread of each image
    class MeanSpread(torch.nn.Module):
        num_features = 2

        def forward(self, images: torch.Tensor) -> torch.Tensor:
            flat = images.flatten(1)
            return torch.stack([flat.mean(1), flat.std(1)], dim=1)

    rng = np.random.default_rng(10)
    real = torch.from_numpy(rng.normal(0, 1, (500, 1, 2, 2)))
    quality = ImageQuality(MeanSpread(), real, kid_subset_size=100, batch_size=64)
    assert quality.real_features.shape == (500, 2)
    assert quality.measure(real)["fd"] == pytest.approx(0.0, abs=1e-6)
    assert quality.measure(real + 3.0)["fd"] == pytest.approx(9.0, rel=0.05)  # the means move by 3


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda q: q.measure(torch.zeros(1, 2)), "at least 2 needed"),
        (lambda q: q.measure(torch.zeros(6, 2)), "at least nearest_k [+] 2 = 7 needed"),
        (lambda q: q.measure(torch.zeros(10, 3)), r"allowed \(N, 2\)"),
        (lambda q: q.measure(torch.full((10, 2), float("nan"))), "non-finite"),
    ],
)
def test_bad_batches_are_refused_with_what_is_allowed(make, message):
    quality = ImageQuality(FeatureRows(2), gaussian(100, [0.0] * 2, [1.0] * 2, seed=11), kid_subset_size=50)
    with pytest.raises(ValueError, match=message):
        make(quality)


def test_the_feature_network_is_run_in_eval_mode_and_left_as_it_was():
    class Modes(torch.nn.Module):
        num_features = 1

        def __init__(self):
            super().__init__()
            self.seen = set()

        def forward(self, rows: torch.Tensor) -> torch.Tensor:
            self.seen.add(self.training)
            return rows[:, :1]

    net = Modes().train()
    quality = ImageQuality(net, gaussian(50, [0.0], [1.0], seed=13), kid_subset_size=20)
    quality.measure(gaussian(50, [0.0], [1.0], seed=14))
    assert net.seen == {False} and net.training  # measured in eval mode, handed back in train mode


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"batch_size": 0}, "batch_size must be an int >= 1"),
        ({"nearest_k": 0}, "nearest_k must be an int >= 1"),
        ({"kid_subsets": 1.5}, "kid_subsets must be an int >= 1"),
        ({"kid_subset_size": 1}, "kid_subset_size must be an int >= 2"),
    ],
)
def test_bad_settings_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ImageQuality(FeatureRows(2), gaussian(100, [0.0] * 2, [1.0] * 2, seed=12), **kwargs)
    with pytest.raises(ValueError, match="num_features must be an int >= 1"):
        FeatureRows(0)
    with pytest.raises(ValueError, match="feature needs an int num_features"):
        ImageQuality(torch.nn.Identity(), gaussian(100, [0.0] * 2, [1.0] * 2, seed=12))


def test_kid_from_the_whole_kernels_equals_torchmetrics_poly_mmd_on_each_subset():
    """KID's subsets are read out of kernel matrices computed once: the same estimate as torchmetrics'
    poly_mmd on each subset's rows, drawn from the same generator; with the whole sets as the subset
    size, one estimate of the whole sets and no spread."""
    from torchmetrics.image.kid import poly_mmd

    real, fake = gaussian(300, [0.0] * 5, [1.0] * 5, seed=21), gaussian(240, [0.3] * 5, [1.2] * 5, seed=22)
    got = ImageQuality(FeatureRows(5), real, kid_subsets=7, kid_subset_size=100, seed=3).measure(fake)
    generator = torch.Generator().manual_seed(3)
    r, f = real.double(), fake.double()
    scores = torch.stack(
        [
            poly_mmd(
                r[torch.randperm(300, generator=generator)[:100]],
                f[torch.randperm(240, generator=generator)[:100]],
            )
            for _ in range(7)
        ]
    )
    assert got["kid"] == pytest.approx(float(scores.mean()), rel=1e-9, abs=1e-12)
    assert got["kid_std"] == pytest.approx(float(scores.std(unbiased=False)), rel=1e-9, abs=1e-12)
    whole = ImageQuality(FeatureRows(5), real[:240], kid_subset_size=240).measure(fake)
    assert whole["kid"] == pytest.approx(float(poly_mmd(r[:240], f)), rel=1e-9, abs=1e-12)
    assert whole["kid_std"] == 0.0


class _MeanPool(torch.nn.Module):
    """Images (N, C, H, W) to their channel means and spreads: a tiny feature network."""

    num_features = 2

    def forward(self, x):
        return torch.stack([x.mean(dim=(1, 2, 3)), x.std(dim=(1, 2, 3))], dim=1)


def test_generated_images_in_another_range_than_the_real_ones_are_warned_once():
    """A review: real images in [0, 1], G's samples in [-1, 1] (G's tanh), precision 0.92 read 0.19 with
    no word. Warned once an instance; the same range, or rows of features, says nothing."""
    generator = torch.Generator().manual_seed(0)
    real = torch.rand(64, 1, 8, 8, generator=generator)
    fake = torch.rand(64, 1, 8, 8, generator=generator)
    quality = ImageQuality(_MeanPool(), real, kid_subset_size=32)
    said = (
        r"^the generated images' values range over \[-1\.00, 1\.00\], the real images' over "
        r"\[0\.00, 1\.00\]: pass both in one range \(G's tanh output is in \[-1, 1\]; \(G\(z\) \+ 1\) / 2 "
        r"for real images in \[0, 1\]\), or the metrics compare the ranges, not the images$"
    )
    with pytest.warns(UserWarning, match=said) as caught:
        quality.measure(fake * 2 - 1)
    assert len(caught) == 1 and caught[0].filename == __file__
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        quality.measure(fake * 2 - 1)  # (once an instance)
        ImageQuality(_MeanPool(), real, kid_subset_size=32).measure(fake)  # one range
        ImageQuality(_MeanPool(), real, kid_subset_size=32).measure(fake * 1.2)  # within a quarter of it
        ImageQuality(FeatureRows(4), gaussian(100, [0.0] * 4, [1.0] * 4, 0)).measure(
            gaussian(100, [0.0] * 4, [4.0] * 4, 1)
        )  # rows of features: no images to range over
