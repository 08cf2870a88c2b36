"""Quality metrics on constructed samples with known answers."""

import math

import numpy as np
import pytest

from gan_core.config import GANConfig
from gan_core.data import load_data
from gan_core.diagnostics import (
    class_diversity,
    class_metrics,
    diversity,
    grid_divergences,
    mean_pairwise_distance,
    mode_metrics,
)
from gan_core.evaluation import coverage_total

RING = load_data(GANConfig(dataset="ring8"))
CENTERS, STD = RING.centers.numpy(), RING.mode_std


def test_real_ring8_samples_cover_every_mode_with_high_quality():
    real = RING.examples().numpy()[:2500]
    m = mode_metrics(real, CENTERS, STD)
    assert m["modes_covered"] == 8
    assert m["hq_pct"] == pytest.approx(98.9, abs=1.0)  # P(|N(0, I)| <= 3) in 2D is 1 - e^-4.5 = 98.9%
    assert m["mode_kl"] == pytest.approx(0.0, abs=0.01)


def test_collapsed_onto_one_mode():
    rng = np.random.default_rng(0)
    points = CENTERS[3] + STD * rng.normal(size=(2500, 2))
    m = mode_metrics(points, CENTERS, STD)
    assert m["modes_covered"] == 1 and m["mode_kl"] == pytest.approx(math.log(8), rel=1e-9)


def test_stray_point_covers_a_mode_but_kl_sees_it():
    rng = np.random.default_rng(1)
    points = np.concatenate([CENTERS[0] + STD * rng.normal(size=(2499, 2)), CENTERS[5:6]])
    m = mode_metrics(points, CENTERS, STD)
    assert m["modes_covered"] == 2
    assert m["mode_kl"] > 0.95 * math.log(8)


def test_low_quality_points_count_for_nothing():
    points = np.zeros((100, 2))  # the centre of the ring: far from every mode
    points[:10] = np.nan
    m = mode_metrics(points, CENTERS, STD)
    assert m == {"modes_covered": 0.0, "hq_pct": 0.0, "mode_kl": pytest.approx(math.log(8))}


def test_grid_divergences():
    real = RING.examples().numpy()
    same = grid_divergences(real[:5000], real[5000:], RING.bounds)
    assert same["grid_kl"] == pytest.approx(0.0, abs=0.15) and same["grid_js"] == pytest.approx(0.0, abs=0.05)
    collapsed = CENTERS[0] + STD * np.random.default_rng(2).normal(size=(5000, 2))
    far = grid_divergences(real, collapsed, RING.bounds)
    assert far["grid_js"] > 0.5 and far["grid_js"] <= math.log(2) + 1e-9
    assert far["grid_kl"] > 5.0


def test_diversity():
    rng = np.random.default_rng(3)
    real = rng.uniform(-1, 1, size=(64, 1, 8, 8))
    assert diversity(rng.uniform(-1, 1, size=(64, 1, 8, 8)), real) == pytest.approx(1.0, abs=0.05)
    collapsed = np.repeat(real[:1], 64, axis=0) + 0.01 * rng.normal(size=(64, 1, 8, 8))
    assert diversity(collapsed, real) < 0.05
    assert mean_pairwise_distance(np.array([[0.0, 0.0], [3.0, 4.0]])) == pytest.approx(5.0)


def test_class_diversity_sees_a_g_that_draws_one_image_per_class():
    """Ten classes far apart: one image per class spreads as widely as the real set across classes
    (`diversity` ~1.3 here), yet within each class it is collapsed."""
    rng = np.random.default_rng(4)
    centres = rng.uniform(-1, 1, size=(10, 64)) * 3
    real_labels = np.repeat(np.arange(10), 50)
    real = centres[real_labels] + rng.normal(scale=0.3, size=(500, 64))
    asked = np.tile(np.arange(10), 40)
    varied = centres[asked] + rng.normal(scale=0.3, size=(400, 64))
    one_each = centres[asked] + rng.normal(scale=0.003, size=(400, 64))
    assert diversity(one_each, real) > 0.9  # the spread across classes hides the collapse
    assert class_diversity(one_each, asked, real, real_labels) < 0.02
    assert class_diversity(varied, asked, real, real_labels) == pytest.approx(1.0, abs=0.05)
    # a class with under two samples on a side is left out; none left: NaN
    assert math.isnan(class_diversity(varied[:10], asked[:10], real, real_labels))
    half = np.where((asked < 5)[:, None], varied, one_each)  # five classes collapsed, five not
    assert class_diversity(half, asked, real, real_labels) == pytest.approx(0.5, abs=0.05)
    with pytest.raises(ValueError, match="labels must be one per sample"):
        class_diversity(varied, asked[:-1], real, real_labels)


def test_class_metrics():
    uniform = class_metrics(np.repeat(np.arange(10), 100))
    assert uniform == {"classes_covered": 10.0, "class_kl": pytest.approx(0.0, abs=1e-12)}
    one = class_metrics(np.full(500, 7))
    assert one == {"classes_covered": 1.0, "class_kl": pytest.approx(math.log(10))}
    two = class_metrics(np.array([0] * 50 + [1] * 50))
    assert two["classes_covered"] == 2 and two["class_kl"] == pytest.approx(math.log(5))


@pytest.mark.parametrize(
    ("dataset", "total"),
    [("ring8", 8), ("grid25", 25), ("digits", 10), ("mnist", 10), ("fashion-mnist", 10), ("moons", None),
     ("points", None), ("cifar10", None), ("folder", None)],
)  # fmt: skip
def test_coverage_total_is_the_datas_modes_or_classes(dataset, total):
    assert coverage_total(dataset) == total
    if dataset in ("ring8", "grid25"):  # the same centres the mode metrics count against
        assert len(load_data(GANConfig(dataset=dataset)).centers) == total
