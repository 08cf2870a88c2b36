"""Image quality in a feature space: Fréchet distance, KID, precision, recall, density and coverage.

Each compares G's samples with real data through a feature network (an ``nn.Module`` mapping a batch of
images to ``(N, num_features)`` rows), and each is computed by the library researchers use for it:

- Fréchet distance (Heusel et al. 2017, "GANs trained by a two time-scale update rule converge to a
  local Nash equilibrium"): the distance between two Gaussians fitted to the features,
  ``|mu_r - mu_g|^2 + Tr(S_r + S_g - 2 (S_r S_g)^(1/2))``; torchmetrics' `FrechetInceptionDistance`,
  which takes any feature network. Named FID only in Inception's feature space: in another it is a
  Fréchet distance in that space, to be named after it.
- KID (Bińkowski et al. 2018, "Demystifying MMD GANs"): the unbiased squared MMD with the cubic
  polynomial kernel, averaged over random subsets (mean and standard deviation); torchmetrics'
  `poly_mmd` (the kernel and estimator of its `KernelInceptionDistance`), on subsets drawn here from a
  local generator. Unlike the Fréchet distance it has no bias in the sample size, and a set against
  another drawn from the same distribution gives about 0 (slightly negative values occur).
- Precision and recall (Kynkäänniemi et al. 2019, "Improved precision and recall metric for assessing
  generative models"), density and coverage (Naeem et al. 2020, "Reliable fidelity and diversity
  metrics for generative models"): k-nearest-neighbour balls around each real and each generated
  feature row; the `prdc` package (NAVER's reference code of the 2020 paper), its own print of the
  two set sizes silenced.

`ImageQuality` holds the real side once (a run measures the same real set at every evaluation) and
measures generated batches against it. Sample sizes: the Fréchet distance needs more rows than features
for a full-rank covariance and is biased upward at small N (compare values at one N only);
KID's subsets are ``kid_subset_size`` rows (at most the smaller set; when that is the whole of both sets
every subset is the same and ``kid_std`` is 0); precision, recall, density and coverage (prdc computes
the real rows' radii again at each call) cost O((N_real + N_fake)^2) time and float64 memory, 32 MB at
1,000 + 1,000 rows and 3.2 GB at 20,000 real rows, and ``nearest_k`` (5 in both papers) sets the balls.
Batches go to the feature network as given (on its device, if it does not move them itself).
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Mapping

import numpy as np
import torch
from torch import nn

# torchmetrics and prdc are imported where used: both pull in heavy dependencies (scipy, scikit-learn)
# that a process which never measures image quality should not pay for.

NEAREST_K = 5  # as in Kynkäänniemi et al. 2019 and Naeem et al. 2020
KID_SUBSETS = 50
KID_SUBSET_SIZE = 500
QUALITY_KEYS = ("fd", "kid", "kid_std", "precision", "recall", "density", "coverage")


class FeatureRows(nn.Module):
    """A feature network for rows already extracted: (N, num_features) in, the same out. For measuring
    features computed elsewhere (a classifier's penultimate layer evaluated once, say)."""

    def __init__(self, num_features: int):
        super().__init__()
        if isinstance(num_features, bool) or not isinstance(num_features, int) or num_features < 1:
            raise ValueError(f"num_features must be an int >= 1, got {num_features!r}")
        self.num_features = num_features

    def forward(self, rows: torch.Tensor) -> torch.Tensor:
        if rows.ndim != 2 or rows.shape[1] != self.num_features:
            raise ValueError(f"feature rows of shape {tuple(rows.shape)}; allowed (N, {self.num_features})")
        return rows


def _value_range(batch: torch.Tensor) -> tuple[float, float] | None:
    """(lowest, highest) finite value of a floating batch of images, (N, C, H, W); None for another
    (integer pixels, rows of features, empty)."""
    batch = torch.as_tensor(batch)
    if not batch.is_floating_point() or batch.ndim != 4 or batch.numel() == 0:
        return None
    finite = batch[torch.isfinite(batch)]
    return (float(finite.min()), float(finite.max())) if finite.numel() else None


class ImageQuality:
    """Quality of generated images against one fixed real set, in ``feature``'s space.

    ``feature``: an ``nn.Module`` with an int ``num_features`` attribute, mapping a batch (N, ...) to
    (N, num_features) float rows. ``real``: the real batch, (N, ...) as ``feature`` takes it; at least 2
    rows, and at least ``nearest_k`` + 2. The real side is computed once, here. ``seed`` draws KID's
    subsets (the same ones at every call, without touching torch's global random stream).

    `measure(fake)` gives ``fd``, ``kid``, ``kid_std``, ``precision``, ``recall``, ``density`` and
    ``coverage`` (floats; see the module docstring for the papers and libraries). ``ValueError`` for a
    batch too small, or whose features are not (N, num_features) or not finite. Calls on one instance
    from several threads take turns. The feature network is run in eval mode, and left in the mode it
    was in.
    """

    def __init__(
        self,
        feature: nn.Module,
        real: torch.Tensor,
        *,
        nearest_k: int = NEAREST_K,
        kid_subsets: int = KID_SUBSETS,
        kid_subset_size: int = KID_SUBSET_SIZE,
        batch_size: int = 1000,
        seed: int = 0,
    ):
        from torchmetrics.image.fid import FrechetInceptionDistance

        num_features = getattr(feature, "num_features", None)
        if isinstance(num_features, bool) or not isinstance(num_features, int) or num_features < 1:
            raise ValueError(f"feature needs an int num_features >= 1, got {num_features!r}")
        for name, value in (
            ("nearest_k", nearest_k),
            ("kid_subsets", kid_subsets),
            ("batch_size", batch_size),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be an int >= 1, got {value!r}")
        if isinstance(kid_subset_size, bool) or not isinstance(kid_subset_size, int) or kid_subset_size < 2:
            raise ValueError(f"kid_subset_size must be an int >= 2, got {kid_subset_size!r}")
        self.feature = feature
        self.num_features = num_features
        self.nearest_k = nearest_k
        self.kid_subsets = kid_subsets
        self.kid_subset_size = kid_subset_size
        self.batch_size = batch_size
        self.seed = seed
        self._lock = threading.Lock()
        self._real_range = _value_range(real)  # (lowest, highest) pixel value, for `_check_range`
        self._range_said = False
        self.real_features = self._features(real, "real")
        self._k_real: torch.Tensor | None = None  # KID's real-real kernel, made at the first measure
        n_real = len(self.real_features)
        if n_real < nearest_k + 2:  # each row's k-th neighbour other than itself, in prdc
            raise ValueError(f"real: {n_real} rows; at least nearest_k + 2 = {nearest_k + 2} needed")
        # reset_real_features=False: reset() clears the generated side only, the real statistics stay.
        # sync_on_compute=False: this process's rows alone. Under torch.distributed (a torchrun job, whose
        # rank 0 alone evaluates) torchmetrics would otherwise gather the state from every rank at
        # compute(), a collective the other ranks never join: the job hung at its first evaluation.
        self._fd = FrechetInceptionDistance(
            feature=FeatureRows(num_features), reset_real_features=False, sync_on_compute=False
        )
        self._fd.update(torch.from_numpy(self.real_features), real=True)

    @torch.no_grad()
    def _features(self, batch: torch.Tensor, name: str) -> np.ndarray:
        batch = torch.as_tensor(batch)
        if len(batch) < 2:
            raise ValueError(f"{name}: {len(batch)} rows; at least 2 needed")
        training = self.feature.training
        self.feature.eval()
        try:
            chunks = [
                self.feature(batch[i : i + self.batch_size]) for i in range(0, len(batch), self.batch_size)
            ]
        finally:
            self.feature.train(training)
        rows = torch.cat(chunks).detach().to("cpu", torch.float64)
        if rows.ndim != 2 or rows.shape[1] != self.num_features:
            raise ValueError(
                f"{name}: the feature network gave shape {tuple(rows.shape)}; allowed "
                f"(N, {self.num_features})"
            )
        if not torch.isfinite(rows).all():
            raise ValueError(f"{name}: the feature network gave non-finite values")
        return rows.numpy()

    def _check_range(self, fake: torch.Tensor) -> None:
        """Warn once when ``fake``'s values lie more than a quarter of the real range outside it."""
        ranges = (self._real_range, _value_range(fake))
        if self._range_said or None in ranges:
            return
        (low, high), (fake_low, fake_high) = ranges
        margin = 0.25 * max(high - low, 1e-6)
        if fake_low < low - margin or fake_high > high + margin:
            self._range_said = True
            warnings.warn(
                f"the generated images' values range over [{fake_low:.2f}, {fake_high:.2f}], the real "
                f"images' over [{low:.2f}, {high:.2f}]: pass both in one range (G's tanh output is in "
                "[-1, 1]; (G(z) + 1) / 2 for real images in [0, 1]), or the metrics compare the ranges, "
                "not the images",
                stacklevel=3,
            )

    def _kid(self, fake_features: np.ndarray) -> tuple[float, float]:
        """KID's mean and standard deviation over ``kid_subsets`` random subsets, as torchmetrics'
        `KernelInceptionDistance.compute` draws them, from a generator of this instance's own seed: the
        same subsets at every call, and torch's global random stream (training threads') untouched.

        The kernel matrices are torchmetrics' `poly_kernel` over the whole sets, computed once (the real
        one at construction), and each subset's estimate torchmetrics' `maximum_mean_discrepancy` on
        their rows and columns: the same numbers as its `poly_mmd` on each subset (the kernel is
        elementwise in the rows' dot products), at a fifth of the cost (0.09 against 0.45 s for 50
        subsets of 500 among 898 rows of 256 features, on one core)."""
        from torchmetrics.image.kid import maximum_mean_discrepancy, poly_kernel

        real, fake = torch.from_numpy(self.real_features), torch.from_numpy(fake_features)
        if self._k_real is None:
            self._k_real = poly_kernel(real, real)
        k_fake, k_cross = poly_kernel(fake, fake), poly_kernel(real, fake)
        size = min(self.kid_subset_size, len(real), len(fake))
        if size == len(real) == len(fake):  # every subset is both whole sets: one estimate, no spread
            return float(maximum_mean_discrepancy(self._k_real, k_cross, k_fake)), 0.0
        generator = torch.Generator().manual_seed(self.seed)
        scores = []
        for _ in range(self.kid_subsets):
            r = torch.randperm(len(real), generator=generator)[:size]
            f = torch.randperm(len(fake), generator=generator)[:size]
            scores.append(
                maximum_mean_discrepancy(
                    self._k_real.index_select(0, r).index_select(1, r),
                    k_cross.index_select(0, r).index_select(1, f),
                    k_fake.index_select(0, f).index_select(1, f),
                )
            )
        values = torch.stack(scores)
        return float(values.mean()), float(values.std(unbiased=False))

    def measure(self, fake: torch.Tensor) -> dict[str, float]:
        """The seven measurements of ``fake`` (N, ...) against the real set; N >= nearest_k + 2. A
        `UserWarning` (once an instance) where ``fake``'s values reach well outside the real set's range
        (G's tanh output in [-1, 1] beside real images in [0, 1]: the feature network reads them as other
        images, and every metric moves)."""
        self._check_range(fake)
        fake_features = self._features(fake, "fake")
        if len(fake_features) < self.nearest_k + 2:
            raise ValueError(
                f"fake: {len(fake_features)} rows; at least nearest_k + 2 = {self.nearest_k + 2} needed"
            )
        with self._lock:
            self._fd.reset()
            self._fd.update(torch.from_numpy(fake_features), real=False)
            fd = float(self._fd.compute())
            kid, kid_std = self._kid(fake_features)
        # float32, the dtype prdc documents (about twice as fast as float64); its distances (scikit-learn's
        # pairwise_distances, asked for n_jobs=8) in this thread: joblib's sequential backend (a setting
        # of this thread only), not 8 threads started for each of its three calls, which cost more than
        # the distances (0.045 against 0.11 s at 898 + 898 rows of 256 on two cores)
        import joblib

        with joblib.parallel_config(backend="sequential"):
            prdc = _compute_prdc()(
                self.real_features.astype(np.float32),
                fake_features.astype(np.float32),
                nearest_k=self.nearest_k,
            )
        return {
            "fd": fd,
            "kid": kid,
            "kid_std": kid_std,
            **{key: float(prdc[key]) for key in ("precision", "recall", "density", "coverage")},
        }


def _compute_prdc():
    """prdc's `compute_prdc`, with the print of the two set sizes it makes at every call silenced in
    its own module (not by redirecting the process's stdout, which other threads write to)."""
    import prdc.prdc

    vars(prdc.prdc)["print"] = _silent
    return prdc.prdc.compute_prdc


def _silent(*args: object, **kwargs: object) -> None:
    pass


def real_baseline(
    feature: nn.Module, real: torch.Tensor, *, seed: int = 0, **options: int
) -> Mapping[str, float]:
    """The measurements between two disjoint random halves of ``real`` (N, ...): what "as good as real
    data" reads as at half the sample size, the line a run's curves are drawn against. ``options`` go to
    `ImageQuality`; ``seed`` draws the split (a ``numpy`` generator)."""
    real = torch.as_tensor(real)
    order = torch.from_numpy(np.random.default_rng(seed).permutation(len(real)))
    half = len(real) // 2
    return ImageQuality(feature, real[order[:half]], **options).measure(real[order[half : 2 * half]])
