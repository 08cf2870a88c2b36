"""Quality metrics of a training run, every ``eval_every`` steps, on a fixed evaluation sample.

`Evaluator` is built once per run (in the training thread): it fixes the evaluation noise (2,500 points
for 2D data, as the VEEGAN / PacGAN protocol uses; 1,000 images), the real reference sample, and for
digit-like images the classifier trained once on the real data. `Evaluator.evaluate(G)` returns the
`EVAL_COLUMNS` that apply to the data (the others stay blank).

Image quality in a feature space (`gan_core.feature_metrics`: the Fréchet distance, KID, precision,
recall, density and coverage) is measured on digits, mnist and fashion-mnist in the classifier's space
(the ``_cls`` columns). Sample sizes: the real data is split once, at random (the run's seed), into two
disjoint halves of ``n = min(1000, N // 2)`` images (898 for the 1,797 digits, 1,000 for mnist); ``n``
of G's evaluation samples, drawn at random, are measured against the first half, and the second half
against the first gives the *baseline* (`Evaluator.take_events`), what "as good as real" reads at this ``n``:
the Fréchet distance is biased upward at small ``n``, so a run's value is compared with its own
baseline, never with a figure measured at another ``n``. KID is the unbiased estimate on the whole
``n`` + ``n`` rows (no subsets).

Which classes or modes the averages hide (`share_fields`): each evaluation also gives a
``class_shares`` event (`Evaluator.take_events`), per class of the classifier (digit-like images) or per
mode centre (ring8, grid25), the share of G's evaluation samples there, the real data's share beside it
and, for a class-conditional G, the label fidelity of each class asked for.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import torch

from gan_core.classifier import CLASSIFIED_DATASETS, N_CLASSES, classifier_ready, get_classifier
from gan_core.config import GANConfig
from gan_core.data import DataError, DataSource, mode_count
from gan_core.diagnostics import (
    class_diversity,
    class_fidelities,
    class_metrics,
    class_shares,
    diversity,
    grid_divergences,
    label_fidelity,
    mode_metrics,
    mode_shares,
    nearest_mode_shares,
)
from gan_core.feature_metrics import NEAREST_K, ImageQuality
from gan_core.inception import InceptionError, InceptionFeatures, inception_weights
from gan_core.models import balanced_labels
from gan_core.tracking.schema import EVAL_COLUMNS, FEATURE_COLUMNS_BY_SPACE

__all__ = ["EVAL_COLUMNS", "Evaluator", "coverage_total", "share_fields"]

# The quality columns are named once, in the schema (re-exported here for older callers).


def coverage_total(dataset: str) -> int | None:
    """What full coverage is for ``dataset``: its modes (ring8 8, grid25 25) or classes (10 for the
    digit-like sets), or None where coverage is not measured."""
    return N_CLASSES if dataset in CLASSIFIED_DATASETS else mode_count(dataset)


EVAL_POINTS = 2500
EVAL_IMAGES = 1000
GRID_SAMPLES = 64  # the fixed-noise grid's size: the samples `diversity` is measured on here
# A ``class_shares`` event's shares to 0.01 %: one sample in 1,000 (or 2,500) still shows, and ten classes'
# three lists take about 300 bytes of events.csv an evaluation.
SHARE_DECIMALS = 4


def share_fields(
    per: str,
    names: list[str],
    share: np.ndarray,
    real_share: np.ndarray,
    samples: int,
    fidelity: np.ndarray | None = None,
    nearest: np.ndarray | None = None,
) -> dict[str, object]:
    """The fields of a ``class_shares`` event (`schema.EVENT_FIELDS`): ``per`` "class" or "mode";
    ``names`` (K,) one per class or mode; ``share`` (K,) the share (0-1) of G's ``samples`` evaluation
    samples the classifier names each class, or that are high quality at each mode (`mode_shares`);
    ``real_share`` (K,) the real data's; ``fidelity`` (a class-conditional G only) per class asked for,
    the share of its samples named that class (`class_fidelities`; NaN, written null, for a class never
    asked); ``nearest`` (modes only) the share whose nearest mode each is, however far
    (`nearest_mode_shares`). Shares rounded to `SHARE_DECIMALS`. ValueError for lists of other lengths
    than ``names``."""
    if len(share) != len(names) or len(real_share) != len(names):
        raise ValueError(
            f"share ({len(share)}) and real_share ({len(real_share)}) must have one value per name "
            f"({len(names)})"
        )

    def rounded(values: np.ndarray) -> list[float]:
        return [round(float(v), SHARE_DECIMALS) for v in np.asarray(values, dtype=np.float64)]

    fields: dict[str, object] = {
        "per": per,
        "names": [str(name) for name in names],
        "share": rounded(share),
        "real_share": rounded(real_share),
        "samples": int(samples),
    }
    if fidelity is not None:
        fields["fidelity"] = rounded(fidelity)
    if nearest is not None:
        fields["nearest"] = rounded(nearest)
    return fields


def feature_columns(space: str, measured: dict[str, float]) -> dict[str, float]:
    """`ImageQuality.measure`'s keys as the columns of ``space`` (`schema.FEATURE_COLUMNS_BY_SPACE`, in
    the order fd, kid, precision, recall, density, coverage): {"fd": 1.3, ...} -> {"fd_cls": 1.3, ...}."""
    keys = ("fd", "kid", "precision", "recall", "density", "coverage")
    return dict(zip(FEATURE_COLUMNS_BY_SPACE[space], (measured[k] for k in keys)))


def split_seed(seed: int) -> int:
    """The seed of a run's real split for the feature-space metrics (`RealSplitQuality`), from the
    run's seed: ``evaluate`` with the same seed measures against the same half."""
    return seed + 5


def feature_networks(
    cfg: GANConfig | None, *, images: bool = True, inception: str | Path | None = None
) -> dict[str, torch.nn.Module]:
    """The feature spaces the data is measured in, by name (`schema.FEATURE_SPACES`): ``cls``, the
    classifier's (`DigitClassifier.feature_network`), for digits, mnist and fashion-mnist; ``inception``
    (`InceptionFeatures`) for any image data when ``inception`` names its weights file. `InceptionError`
    for a file that is not those weights."""
    networks: dict[str, torch.nn.Module] = {}
    if not images:
        return networks
    if cfg is not None and cfg.dataset in CLASSIFIED_DATASETS:
        networks["cls"] = get_classifier(cfg).feature_network()
    if inception is not None:
        networks["inception"] = inception_features(inception)
    return networks


_inception_cache: dict[tuple[str, int, int], InceptionFeatures] = {}
_inception_lock = threading.Lock()


def inception_features(weights: str | Path) -> InceptionFeatures:
    """`InceptionFeatures` of ``weights``, built once per process for one file (path, size, mtime): a
    run started after another reuses the network (1 s and a 96 MB copy to build)."""
    path = Path(weights)
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    with _inception_lock:
        if key not in _inception_cache:
            _inception_cache[key] = InceptionFeatures(path)
        return _inception_cache[key]


FAKE_SUBSET_STREAM = 1  # `RealSplitQuality.measure`'s seed, past the split's


class RealSplitQuality:
    """The real data split once, at random (``seed``), into two disjoint halves of ``rows`` = min(1000,
    N // 2) images; an `ImageQuality` per feature space on the first half (``spaces``), and the
    ``baselines``: the second half measured against the first, as columns. No spaces (and no baselines)
    when ``networks`` is empty or ``rows`` < 7 (``nearest_k`` + 2). ``examples``: (N, C, H, W) in
    [-1, 1]. KID is the unbiased estimate on the whole ``rows`` + ``rows`` (Bińkowski et al.'s subsets
    serve its spread, which a column does not show; one estimate costs 0.003 against 0.09 s for 50
    subsets at 898 rows)."""

    def __init__(self, networks: dict[str, torch.nn.Module], examples: torch.Tensor, seed: int):
        self.rows = min(EVAL_IMAGES, len(examples) // 2)
        self.seed = seed
        self.spaces: dict[str, ImageQuality] = {}
        self.baselines: dict[str, float] = {}
        if not networks or self.rows < NEAREST_K + 2:
            self.rows = 0
            return
        order = torch.randperm(len(examples), generator=torch.Generator().manual_seed(seed))
        order = order.to(examples.device)
        first = examples[order[: self.rows]].float()
        second = examples[order[self.rows : 2 * self.rows]].float()
        for space, network in networks.items():
            self.spaces[space] = ImageQuality(network, first, kid_subset_size=self.rows, seed=seed)
            self.baselines.update(feature_columns(space, self.spaces[space].measure(second)))

    def measure(self, fake: torch.Tensor) -> dict[str, float]:
        """The feature columns of ``fake`` (N, C, H, W) in [-1, 1]: ``rows`` of them are measured, the
        sample size of the baselines (the Fréchet distance's bias depends on it), drawn at random
        (``seed``) where there are more, so that the order of a file of samples does not matter (a
        conditional G's saved class by class: its first 898 held 5 of the 10 digits, and scored
        ``fd_cls`` 15 where the same images shuffled scored 1.1). All of them where there are fewer.
        ValueError for fewer than 7 images."""
        fake = torch.as_tensor(fake)
        if len(fake) > self.rows:
            # a stream of its own: the split's would pick, from the real data scored as a file of samples
            # (all of it, in its order), its first half, the reference itself (fd_cls 0, every PRDC 1)
            stream = torch.Generator().manual_seed(self.seed + FAKE_SUBSET_STREAM)
            chosen = torch.randperm(len(fake), generator=stream)[: self.rows]
            fake = fake[chosen.sort().values.to(fake.device)]
        metrics: dict[str, float] = {}
        for space, quality in self.spaces.items():
            metrics.update(feature_columns(space, quality.measure(fake)))
        return metrics


class Evaluator:
    """Quality metrics of one run's G against ``data``'s examples.

    ``fixed_noise``: (N, *latent_shape) on G's device: the evaluation noise has its shape, device and
    (floating) dtype, and its first 64 rows are the diversity grid's. ``cfg``: the run's config, whose
    dataset picks the classifier for the class metrics (digits, mnist, fashion-mnist); None for a run
    without one (a user's loop through `gan_core.track`: then ``seed`` fixes the evaluation sample and
    only data-free metrics are measured unless it names a classified dataset)."""

    def __init__(
        self,
        cfg: GANConfig | None,
        data: DataSource,
        fixed_noise: torch.Tensor,
        seed: int | None = None,
        held_out: tuple[torch.Tensor, torch.Tensor] | None = None,
        n_classes: int | None = None,
    ):
        """``held_out``: (images, labels) D never trained on (`Trainer.held_out`, acgan runs), on which
        ``d_class_acc`` scores D's class head. ``n_classes``: a class-conditional G's classes, called
        ``G(z, labels)``, for a run without a config that says so (a user's loop); None: ``cfg``'s."""
        self.cfg = cfg
        self.data = data
        self.points = data.kind == "points"
        rng = torch.Generator().manual_seed((cfg.seed if cfg is not None else seed or 0) + 3)
        n = EVAL_POINTS if self.points else EVAL_IMAGES
        # in the fixed noise's dtype (a float64 G takes float64 noise), drawn as float32: the same sample
        dtype = fixed_noise.dtype if fixed_noise.is_floating_point() else None
        self.noise = torch.randn((n, *fixed_noise.shape[1:]), generator=rng).to(fixed_noise.device, dtype)
        self.fixed_noise = fixed_noise[:GRID_SAMPLES]
        # A class-conditional G is asked for every class in turn (`balanced_labels`), which label_fidelity
        # checks against the classifier; None for an unconditional run.
        if n_classes is None:
            n_classes = data.n_classes if cfg is not None and cfg.is_conditional else 0
        conditional = n_classes > 0
        self.n_classes = n_classes  # a conditional G's classes (0: unconditional)
        self.asked = balanced_labels(n, n_classes, fixed_noise.device) if conditional else None
        self.held_out = held_out
        examples = data.examples()
        pick = torch.randint(0, examples.shape[0], (min(n, examples.shape[0]),), generator=rng)
        self.real = examples[pick.to(examples.device)].float().cpu().numpy()
        labels = data.example_labels() if conditional else None
        # a conditional run's diversity is measured within each class (`class_diversity`)
        self.real_labels = labels[pick.to(labels.device)].cpu().numpy() if labels is not None else None
        # diversity is measured within each class asked for (a conditional G against labelled real images)
        self.within_classes = self.asked is not None and self.real_labels is not None
        self._classifier = None
        self._no_classifier = False  # its dataset's classifier cannot be trained here (`_classify`)
        self._split_seed = split_seed(cfg.seed if cfg is not None else seed or 0)
        self._split: RealSplitQuality | None = None  # the feature spaces, built at the first evaluation
        self._events: list[tuple[str, dict[str, object]]] = []  # to record once (`take_events`)
        self._real_class_share: np.ndarray | None = None  # per class of the classifier (`_class_shares`)

    @property
    def trains_classifier(self) -> bool:
        """True when the next `evaluate` trains this data's classifier first (the first evaluation of
        digit-like images in a process: seconds, more on a busy machine), so that a page can say why it
        takes that long. Cheap: nothing is trained or read."""
        return (
            not self.points
            and self.cfg is not None
            and self.cfg.dataset in CLASSIFIED_DATASETS
            and not self._no_classifier
            and not classifier_ready(self.cfg)
        )

    @property
    def feature_rows(self) -> int:
        """n: the images per side of the feature-space metrics (0 before the first evaluation)."""
        return self._split.rows if self._split is not None else 0

    def _feature_split(self) -> RealSplitQuality:
        """The feature spaces and their baselines, built at the first call (the classifier's feature
        network may be trained then, 1 to 8 s)."""
        if self._split is None:
            images = not self.points
            try:
                # Inception's space only when $GAN_DASHBOARD_INCEPTION_WEIGHTS names the file: minutes an
                # evaluation on a CPU, so never from a cached download alone
                weights = inception_weights(search_cache=False) if images else None
                networks = self._networks(images, weights)
            except InceptionError as exc:  # measured without it; said once (`take_events`)
                self._events.append(("eval_error", {"error": str(exc)}))
                networks = self._networks(images, None)
            self._split = RealSplitQuality(networks, self.data.examples(), self._split_seed)
            if self._split.baselines:  # the charts' "real vs real" lines, and n, which they depend on
                self._events.insert(0, ("baseline", {**self._split.baselines, "rows": self._split.rows}))
        return self._split

    def _networks(self, images: bool, weights: str | Path | None) -> dict[str, torch.nn.Module]:
        """`feature_networks` of this run, without the classifier's space where it cannot be trained."""
        cfg = None if self._no_classifier else self.cfg
        try:
            return feature_networks(cfg, images=images, inception=weights)
        except DataError as exc:
            self._classifier_missing(exc)
            return feature_networks(None, images=images, inception=weights)

    def take_events(self) -> list[tuple[str, dict[str, object]]]:
        """What the last evaluation has to record once, as (event kind, fields): the ``baseline`` event
        after the evaluation that measured the baselines, an ``eval_error`` for a feature space left
        out (Inception's weights unreadable), and after every evaluation that labelled G's samples by
        class or mode a ``class_shares`` event (`share_fields`). Each is given once; then ``[]``."""
        events, self._events = self._events, []
        return events

    def _classify(self, images: np.ndarray) -> np.ndarray | None:
        if self.cfg is None or self.cfg.dataset not in CLASSIFIED_DATASETS or self._no_classifier:
            return None
        if self._classifier is None:
            try:
                self._classifier = get_classifier(self.cfg)
            except DataError as exc:  # its data cannot load here: the other metrics go on without it
                self._classifier_missing(exc)
                return None
        return self._classifier.predict(images)

    def _classifier_missing(self, exc: DataError) -> None:
        """No classifier for this run's dataset (it trains on the dataset's own files, absent here, as for
        a loop of one's own that names mnist): its class and feature metrics are left out from now on,
        said once (`take_events`)."""
        if not self._no_classifier:
            self._no_classifier = True
            reason = f"the {self.cfg.dataset} classifier cannot be trained here ({exc})"
            self._events.append(("eval_error", {"error": f"class metrics left out: {reason}"}))

    @torch.no_grad()
    def d_class_accuracy(self, D: torch.nn.Module) -> float:
        """The share (0-1) of the held-out real images whose class D's class head names (acgan), D in
        eval mode (its spectral norm's estimate left as it is)."""
        images, labels = self.held_out
        if not len(labels):
            return float("nan")
        was_training = D.training
        D.eval()
        try:
            chunks = range(0, len(labels), EVAL_IMAGES)
            named = [D(images[i : i + EVAL_IMAGES], with_class_logits=True)[1].argmax(dim=1) for i in chunks]
        finally:
            D.train(was_training)
        return float((torch.cat(named) == labels).float().mean())  # one host transfer

    def _class_shares(self, predicted: np.ndarray) -> dict[str, object]:
        """The ``class_shares`` fields of G's samples the classifier named ``predicted`` ((N,) indices):
        per class of the classifier, named as the data names them; the real share from the data's labels
        (all of them, counted once), or 1 / K without labels; with a class-conditional G, each class's
        fidelity."""
        classes = self._classifier.n_classes
        if self._real_class_share is None:
            labels = self.data.labels
            known = labels is not None and len(labels) and int(labels.min()) >= 0
            known = known and int(labels.max()) < classes
            self._real_class_share = (
                class_shares(labels.cpu().numpy(), classes) if known else np.full(classes, 1.0 / classes)
            )
        names = self.data.class_names
        names = list(names) if len(names) == classes else [str(c) for c in range(classes)]
        fidelity = None
        if self.asked is not None:
            fidelity = class_fidelities(predicted, self.asked.cpu().numpy(), self.n_classes)
        share = class_shares(predicted, classes)
        return share_fields("class", names, share, self._real_class_share, len(predicted), fidelity)

    @torch.no_grad()
    def evaluate(self, G: torch.nn.Module, D: torch.nn.Module | None = None) -> dict[str, float]:
        """The quality columns for G now; with ``D`` and `held_out` (acgan) also ``d_class_acc``.
        ValueError, saying how many, where G's samples hold NaN or infinite values."""
        was_training = G.training
        G.eval()
        try:
            fake = (G(self.noise) if self.asked is None else G(self.noise, self.asked)).float().cpu().numpy()
            spread = not self.points and self.asked is None  # the diversity of the grid's samples
            grid = G(self.fixed_noise).float().cpu().numpy() if spread else None
        finally:
            G.train(was_training)
        for samples in (fake, grid) if grid is not None else (fake,):
            bad = int((~np.isfinite(samples.reshape(len(samples), -1)).all(axis=1)).sum())
            if bad:  # (scikit-learn's classifier answered in 700 characters of advice on imputers)
                raise ValueError(
                    f"G's samples hold NaN or infinite values ({bad:,} of {len(samples):,} samples): no "
                    "quality metric is measured of them (G's weights or inputs went non-finite?)"
                )
        metrics: dict[str, float] = {}
        if self.points:
            if self.data.centers is not None:
                centers = self.data.centers.numpy()
                metrics.update(mode_metrics(fake, centers, self.data.mode_std))
                modes = len(centers)  # a mixture of equally weighted modes: each real share 1 / K
                shares = mode_shares(fake, centers, self.data.mode_std)
                names = [str(mode) for mode in range(modes)]
                uniform = np.full(modes, 1.0 / modes)
                nearest = nearest_mode_shares(fake, centers)
                fields = share_fields("mode", names, shares, uniform, len(fake), nearest=nearest)
                self._events.append(("class_shares", fields))
            metrics.update(grid_divergences(self.real, fake, self.data.bounds))
        else:
            if self.within_classes:  # a conditional G: within each class asked for
                asked = self.asked.cpu().numpy()
                metrics["diversity"] = class_diversity(fake, asked, self.real, self.real_labels)
            elif spread:  # (a conditional G against real images without labels: not measured)
                metrics["diversity"] = diversity(grid, self.real[:GRID_SAMPLES])
            labels = self._classify(fake)
            if labels is not None:
                metrics.update(class_metrics(labels))
                if self.asked is not None:
                    metrics["label_fidelity"] = label_fidelity(labels, self.asked.cpu().numpy())
                self._events.append(("class_shares", self._class_shares(labels)))
            if D is not None and self.held_out is not None:
                metrics["d_class_acc"] = self.d_class_accuracy(D)
            metrics.update(self._feature_split().measure(torch.from_numpy(fake)))
        return metrics
