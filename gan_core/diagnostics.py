"""Quality metrics of generated samples: is G covering the data, or collapsing?

Pure functions on numpy arrays, so they score samples from any model (``python -m gan_core evaluate``)
with the same yardstick the runner applies every ``eval_every`` steps:

- 2D mixtures (ring8, grid25), with the published definitions (VEEGAN, Srivastava et al. 2017; PacGAN,
  Lin et al. 2018): a generated point is *high quality* if it lies within 3 standard deviations of its
  nearest mode centre; a mode is *covered* if it is the nearest centre of at least one high-quality point.
  `mode_metrics` gives ``modes_covered``, ``hq_pct`` and ``mode_kl`` = KL(histogram of high-quality
  points over modes ‖ uniform), which catches modes "covered" by a stray point;
  `mode_shares` says which modes: the share of the points that are high quality at each.
- Any 2D data: `grid_divergences` gives ``grid_kl`` = KL(real ‖ generated) and ``grid_js`` between the
  two densities histogrammed on a grid over the data's window (as GAN Lab does).
- Images: `diversity` = mean pairwise distance among generated samples over the same among real
  samples (≈ 1 healthy, → 0 for collapse); `class_metrics` gives ``classes_covered`` and ``class_kl``
  = KL(generated class histogram ‖ uniform) from a classifier's labels (0 for all ten classes equally,
  ln 10 for one class); `class_shares` says which classes: the share of the samples named each.
  `image_metrics` puts the two together for a set of images.
- Class-conditional G: `label_fidelity`, the share of samples the classifier puts in the class asked for
  (1 = every sample shows its class; 1 / n_classes for a G that ignores the label; `class_fidelities`
  gives it class by class), and
  `class_diversity`, the diversity within each class asked for against the real images of that class,
  averaged: a G that draws one image per class covers every class and has a high diversity across them,
  yet has collapsed (the within-class diversity of conditional GANs, as ACGAN's authors measured it with
  MS-SSIM per class: Odena et al. 2017, "Conditional Image Synthesis with Auxiliary Classifier GANs").
"""

from __future__ import annotations

import math

import numpy as np

# Samples of each side that `image_metrics` compares for diversity. On the digits, real against real, the
# ratio from 1,000 varies by std 0.003 between random draws (0.015 from 64), for a 1000 x 1000 matrix.
DIVERSITY_SAMPLES = 1000
# Samples of each side per class that `class_diversity` compares: the 100 of each digit an evaluation asks
# for; with two classes of large images, 500 a class made a 500 x 500 matrix of 200k-pixel rows per class.
CLASS_DIVERSITY_SAMPLES = 100

GRID_BINS = 50
# Added to every histogram cell before normalising, so KL stays finite where one density is empty.
GRID_EPS = 1e-6


def _kl_to_uniform(counts: np.ndarray) -> float:
    """KL(p ‖ uniform) of a histogram; ln(K) (the value for a single occupied bin) when it is empty."""
    k = len(counts)
    total = counts.sum()
    if total == 0:
        return math.log(k)
    p = counts[counts > 0] / total
    return float(np.sum(p * np.log(p * k)))


def _mode_counts(points: np.ndarray, centers: np.ndarray, std: float) -> tuple[np.ndarray, int]:
    """The high-quality points at each mode ((K,) counts; a point counts at its nearest centre when within
    3 ``std`` of it) and how many points there are (non-finite ones included, never high quality)."""
    points = np.asarray(points, dtype=np.float64)
    centers = np.asarray(centers, dtype=np.float64)
    finite = np.isfinite(points).all(axis=1)
    distances = np.linalg.norm(points[:, None, :] - centers[None, :, :], axis=2)
    nearest = distances.argmin(axis=1)
    high_quality = finite & (np.nan_to_num(distances.min(axis=1), nan=np.inf) <= 3.0 * std)
    return np.bincount(nearest[high_quality], minlength=len(centers)), len(points)


def mode_metrics(points: np.ndarray, centers: np.ndarray, std: float) -> dict[str, float]:
    """``modes_covered``, ``hq_pct`` (0-100) and ``mode_kl`` of generated 2D points against mode centres."""
    counts, total = _mode_counts(points, centers, std)
    return {
        "modes_covered": float((counts > 0).sum()),
        # the count times 100 over the total: exact for a whole percentage (55.0, where 100 * mean gave
        # 55.00000000000001)
        "hq_pct": 100.0 * int(counts.sum()) / total if total else 0.0,
        "mode_kl": _kl_to_uniform(counts),
    }


def mode_shares(points: np.ndarray, centers: np.ndarray, std: float) -> np.ndarray:
    """Per mode, the share (0-1) of all generated ``points`` ((N, 2)) that are high quality there (within
    3 ``std`` of that nearest centre; ``centers`` (K, 2)): (K,) floats summing to ``hq_pct`` / 100 of
    `mode_metrics`, greater than 0 at exactly its ``modes_covered`` modes; zeros for no points."""
    counts, total = _mode_counts(points, centers, std)
    return counts / total if total else np.zeros(len(counts))


def nearest_mode_shares(points: np.ndarray, centers: np.ndarray) -> np.ndarray:
    """Per mode, the share (0-1) of all generated ``points`` ((N, 2)) whose nearest centre (``centers``
    (K, 2)) it is, however far: where G's mass goes, high quality or not (a collapsed G's blob beside one
    cluster, wider than `mode_shares`' 3 std, is all there). (K,) floats summing to the finite points'
    share; zeros for no points."""
    points = np.asarray(points, dtype=np.float64)
    centers = np.asarray(centers, dtype=np.float64)
    if not len(points):
        return np.zeros(len(centers))
    finite = np.isfinite(points).all(axis=1)
    distances = np.linalg.norm(points[finite][:, None, :] - centers[None, :, :], axis=2)
    return np.bincount(distances.argmin(axis=1), minlength=len(centers)) / len(points)


def grid_divergences(
    real: np.ndarray, fake: np.ndarray, bounds: tuple[float, float, float, float], bins: int = GRID_BINS
) -> dict[str, float]:
    """``grid_kl`` = KL(real ‖ generated) and ``grid_js`` (nats, at most ln 2) on a bins x bins grid."""
    xmin, xmax, ymin, ymax = bounds
    edges = (np.linspace(xmin, xmax, bins + 1), np.linspace(ymin, ymax, bins + 1))

    def density(points: np.ndarray) -> np.ndarray:
        points = np.asarray(points, dtype=np.float64)
        points = points[np.isfinite(points).all(axis=1)]
        hist, _, _ = np.histogram2d(points[:, 0], points[:, 1], bins=edges)
        hist = hist + GRID_EPS
        return hist / hist.sum()

    p, q = density(real), density(fake)
    m = 0.5 * (p + q)
    kl = float(np.sum(p * np.log(p / q)))
    js = float(0.5 * np.sum(p * np.log(p / m)) + 0.5 * np.sum(q * np.log(q / m)))
    return {"grid_kl": kl, "grid_js": js}


def mean_pairwise_distance(samples: np.ndarray) -> float:
    """The mean Euclidean distance over every pair of ``samples`` ((N, ...) flattened to (N, D), in their
    own units); 0.0 for fewer than two. O(N²) memory: the callers pass at most a few thousand."""
    x = np.asarray(samples, dtype=np.float64).reshape(len(samples), -1)
    if len(x) < 2:
        return 0.0
    sq = np.sum(x * x, axis=1)
    d2 = np.maximum(sq[:, None] + sq[None, :] - 2.0 * x @ x.T, 0.0)
    n = len(x)
    return float(np.sqrt(d2)[np.triu_indices(n, k=1)].mean())


def diversity(fake: np.ndarray, real: np.ndarray) -> float:
    """Mean pairwise distance among ``fake`` over the same among ``real`` (≈ 1 healthy, → 0 collapsed)."""
    reference = mean_pairwise_distance(real)
    return mean_pairwise_distance(fake) / reference if reference > 0 else float("nan")


def class_diversity(
    fake: np.ndarray,
    fake_labels: np.ndarray,
    real: np.ndarray,
    real_labels: np.ndarray,
    per_class: int = CLASS_DIVERSITY_SAMPLES,
) -> float:
    """`diversity` within each class, averaged over the classes: for each class with at least two samples
    on both sides, the mean pairwise distance among ``fake`` asked for it over the same among ``real`` of
    it (``fake`` (N, ...) with ``fake_labels`` (N,), ``real`` (M, ...) with ``real_labels`` (M,), class
    indices), each side's first ``per_class`` samples of the class (a bound on the cost: a pairwise
    matrix per class). ≈ 1 when each class varies as much as the real class does, → 0 when G draws one
    image per class; NaN when no class has two samples on both sides (more classes than half the
    samples). ``ValueError`` when a side's labels are not one per sample."""
    fake, real = np.asarray(fake), np.asarray(real)
    fake_labels, real_labels = np.asarray(fake_labels).reshape(-1), np.asarray(real_labels).reshape(-1)
    if len(fake_labels) != len(fake) or len(real_labels) != len(real):
        raise ValueError(
            f"labels must be one per sample: fake {len(fake)} with {len(fake_labels)} labels, real "
            f"{len(real)} with {len(real_labels)}"
        )
    ratios = []
    for label in np.unique(fake_labels):
        ours, theirs = fake[fake_labels == label][:per_class], real[real_labels == label][:per_class]
        if len(ours) >= 2 and len(theirs) >= 2:
            ratio = diversity(ours, theirs)
            if math.isfinite(ratio):
                ratios.append(ratio)
    return float(np.mean(ratios)) if ratios else float("nan")


def class_metrics(predicted: np.ndarray, n_classes: int = 10) -> dict[str, float]:
    """``classes_covered`` (classes predicted at least once) and ``class_kl`` (‖ uniform)."""
    counts = np.bincount(np.asarray(predicted, dtype=np.int64), minlength=n_classes)[:n_classes]
    return {"classes_covered": float((counts > 0).sum()), "class_kl": _kl_to_uniform(counts)}


def label_fidelity(predicted: np.ndarray, asked: np.ndarray) -> float:
    """The share (0-1) of a class-conditional G's samples that a classifier assigns to the class each was
    asked for: ``predicted`` and ``asked`` are (N,) class indices; NaN for none."""
    predicted, asked = np.asarray(predicted), np.asarray(asked)
    if predicted.shape != asked.shape:
        raise ValueError(f"predicted {predicted.shape} and asked {asked.shape}: allowed two (N,) arrays")
    return float((predicted == asked).mean()) if len(asked) else float("nan")


def class_shares(predicted: np.ndarray, n_classes: int) -> np.ndarray:
    """Per class, the share (0-1) of samples a classifier names it: ``predicted`` (N,) class indices in
    0..n_classes-1; (n_classes,) floats, each a count over all N, so they sum to 1 when every index is
    in range (an index outside it counts in N and in no class: the shares then sum to less); zeros for
    no samples."""
    predicted = np.asarray(predicted, dtype=np.int64).reshape(-1)
    kept = predicted[(predicted >= 0) & (predicted < n_classes)]
    counts = np.bincount(kept, minlength=n_classes)
    return counts / len(predicted) if len(predicted) else np.zeros(n_classes)


# A class or mode G misses: it gets under this fraction of its real share of G's samples (a 10-class set's
# class under 5 %, a ring8 mode under 6.25 %).
MISSED_FRACTION = 0.5


def missed(share: np.ndarray, real_share: np.ndarray, nearest: np.ndarray | None = None) -> np.ndarray:
    """Which classes or modes G misses: (K,) bools, True where ``share`` (K,) is under `MISSED_FRACTION`
    of ``real_share`` (K,), the real data's share there (never where either is unknown, NaN, or the real
    share is 0). For modes, with ``nearest`` (`nearest_mode_shares`), judged on it instead: where G's
    samples go, high quality or not, so that a G spread evenly over the ring but not yet tight on its
    clusters (low ``hq_pct``, every mode covered) misses none, and a collapsed G's blob beside one cluster
    misses all but that one."""
    if nearest is not None and len(nearest) == len(share):
        share = nearest
    share, real_share = np.asarray(share, dtype=np.float64), np.asarray(real_share, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        return (real_share > 0) & (share < MISSED_FRACTION * real_share)


def class_fidelities(predicted: np.ndarray, asked: np.ndarray, n_classes: int) -> np.ndarray:
    """`label_fidelity` class by class: per class c in 0..n_classes-1, the share (0-1) of the samples asked
    for c that the classifier names c; NaN for a class none was asked for. ``predicted`` and ``asked``:
    (N,) class indices. With each class asked equally often (`models.balanced_labels`) their mean is
    `label_fidelity`. ValueError for arrays of two shapes."""
    predicted, asked = np.asarray(predicted).reshape(-1), np.asarray(asked)
    if predicted.shape != asked.shape:
        raise ValueError(f"predicted {predicted.shape} and asked {asked.shape}: allowed two (N,) arrays")
    asked = asked.astype(np.int64)
    kept = (asked >= 0) & (asked < n_classes)
    times = np.bincount(asked[kept], minlength=n_classes)
    named = np.bincount(asked[kept & (predicted == asked)], minlength=n_classes)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(times > 0, named / np.maximum(times, 1), np.nan)


def image_metrics(
    fake: np.ndarray,
    real: np.ndarray,
    classifier=None,
    diversity_samples: int = DIVERSITY_SAMPLES,
    seed: int = 0,
) -> dict[str, float]:
    """``diversity`` of generated images against real ones, both in the same value range, plus
    `class_metrics` of every fake image's predicted class when a classifier (``.predict(images)``,
    ``.n_classes``, images in [-1, 1]) is given.

    Diversity compares a random subset of at most ``diversity_samples`` of each side, drawn with
    ``seed``, so that a set scores the same every time and a large set costs no more than 1000 x 1000.
    """
    rng = np.random.default_rng(seed)

    def subset(images: np.ndarray) -> np.ndarray:
        if len(images) <= diversity_samples:
            return images
        return images[np.sort(rng.choice(len(images), diversity_samples, replace=False))]

    metrics = {"diversity": diversity(subset(fake), subset(real))}
    if classifier is not None:
        metrics.update(class_metrics(classifier.predict(fake), classifier.n_classes))
    return metrics
