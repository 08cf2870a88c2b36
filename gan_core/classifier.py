"""A classifier trained once on the real data, to tell which classes G's digit-like samples show.

`get_classifier(cfg)` trains on the data exactly as the run sees it (``load_data`` with the run's image
size and channels) and keeps the result for the life of the process, one per (dataset, data path, image
size, channels); concurrent callers wait for one training rather than each starting their own. Its
held-out accuracy (on a stratified 20% split it never trained on) travels with it, so users can see how
far to trust ``classes_covered`` and ``class_kl``.

Models:

- ``digits`` (1,797 images): an RBF `SVC` on the 64 pixels: 99.4% of the 360 held out, trained in 0.1 s.
- ``mnist`` / ``fashion-mnist``: a one-hidden-layer MLP in torch on up to 20,000 training images (a
  stratified subset). On the real Fashion-MNIST, two CPU cores: 86.8% of 5,000 held out, 4.5 s with
  loading; a small CNN reached 87.1% in twice the time, so the MLP stays.

Training is deterministic: fixed split seeds, and the MLP draws its weights and batch order from its own
`torch.Generator`, never the global RNG (a run seeds that for its own models, maybe in another thread).

`DigitClassifier.feature_network()` is the space `gan_core.feature_metrics` measures image quality in (the
Fréchet distance, KID, precision and recall "in the classifier's space"): the
penultimate layer of the classifier's MLP, its 256 ReLU units. The digits' SVC has no such layer, so
for digits the same MLP is trained on the same split when the space is first asked for (2 to 8 s on two cores;
its own held-out accuracy is `ClassifierFeatures.held_out_accuracy`) and the SVC still names classes.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from gan_core.config import GANConfig
from gan_core.data import load_data

CLASSIFIED_DATASETS = ("digits", "mnist", "fashion-mnist")
N_CLASSES = 10  # each of them: ten digits, or ten kinds of clothing
# The sets' own image side. Larger (resized) images are average-pooled back to it before classifying:
# upscaling adds no information, and the fit then costs the same at image_size 64 as at 28.
NATIVE_SIZE = {"digits": 8, "mnist": 28, "fashion-mnist": 28}
MAX_TRAIN = 20_000
HELD_OUT_FRACTION = 0.2
SEED = 0

MLP_HIDDEN = 256
MLP_EPOCHS = 10
# A small set (a user's few hundred images) gets more passes, so that it is not judged on an MLP that
# took a few dozen steps.
MLP_MIN_STEPS = 500
MLP_BATCH = 128
MLP_LR = 1e-3
_PREDICT_CHUNK = 4096


class _Model(Protocol):
    def fit(self, x: np.ndarray, y: np.ndarray) -> object: ...
    def predict(self, x: np.ndarray) -> np.ndarray: ...


class ClassifierFeatures(nn.Module):
    """A classifier MLP's penultimate layer as a feature network: (N, C, H, W) images with values in
    [-1, 1] (C of 1 or the set's channels) -> (N, 256) float32 ReLU activations, the images prepared as
    for classifying (channels averaged, sides above the set's own average-pooled down to it). For
    `gan_core.feature_metrics`, which reads ``num_features``. ``held_out_accuracy``: the MLP's, on the
    classifier's held-out split."""

    def __init__(self, hidden: nn.Sequential, native: int, held_out_accuracy: float):
        super().__init__()
        self.hidden = hidden
        self.native = native
        self.held_out_accuracy = held_out_accuracy
        self.num_features = hidden[0].out_features

    @torch.no_grad()
    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Images on any device (moved to the network's); ValueError for a shape it cannot take."""
        device = self.hidden[0].weight.device
        x = torch.as_tensor(images).to(device, torch.float32)
        if x.ndim != 4 or x.shape[-1] < self.native or x.shape[-1] != x.shape[-2]:
            raise ValueError(
                f"images of shape {tuple(x.shape)}; allowed (N, C, S, S) with S >= {self.native}"
            )
        x = x.mean(dim=1, keepdim=True)
        if x.shape[-1] > self.native:
            x = F.adaptive_avg_pool2d(x, self.native)
        return self.hidden(x.reshape(len(x), -1))


@dataclass(frozen=True)
class DigitClassifier:
    """A trained classifier of (N, C, H, W) images; `predict` gives class indices 0..n_classes-1."""

    dataset: str
    sample_shape: tuple[int, int, int]  # (C, H, W) of the images it was trained on
    model: _Model
    held_out_accuracy: float  # fraction correct on the held-out split
    held_out: np.ndarray  # indices into the loaded data's examples() of that split, never trained on
    train_seconds: float
    n_classes: int = N_CLASSES
    # (digits) the training split's classifier rows and labels, for the feature network's MLP
    train_rows: np.ndarray | None = None
    train_labels: np.ndarray | None = None
    test_rows: np.ndarray | None = None
    test_labels: np.ndarray | None = None
    # the feature network, built on first use; not copied by dataclasses.replace, not pickled
    _features_cache: dict = field(init=False, compare=False, repr=False)
    _features_lock: threading.Lock = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_features_cache", {})
        object.__setattr__(self, "_features_lock", threading.Lock())

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        del state["_features_cache"], state["_features_lock"]
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self.__post_init__()

    def feature_network(self) -> ClassifierFeatures:
        """The classifier's feature space (see the module docstring), built once per classifier; the
        digits' MLP is trained on first call (deterministic: the same weights every time)."""
        with self._features_lock:
            if "net" not in self._features_cache:
                if isinstance(self.model, _MLP):
                    mlp, accuracy = self.model, self.held_out_accuracy
                else:  # the digits' SVC: the same MLP on the same split
                    mlp = _MLP(seed=SEED).fit(self.train_rows, self.train_labels)
                    accuracy = float((mlp.predict(self.test_rows) == self.test_labels).mean())
                native = NATIVE_SIZE[self.dataset]
                self._features_cache["net"] = ClassifierFeatures(mlp.net[:2], native, accuracy)
            return self._features_cache["net"]

    def predict(self, images: np.ndarray, value_range: tuple[float, float] = (-1.0, 1.0)) -> np.ndarray:
        """Class of each image, (N, C, H, W) or (N, H, W) with values in ``value_range``; int64 (N,)."""
        x = np.asarray(images, dtype=np.float32)
        if x.ndim == 3:
            x = x[:, None]
        channels, height, width = self.sample_shape
        if x.ndim != 4 or x.shape[2:] != (height, width) or x.shape[1] not in (1, channels):
            raise ValueError(
                f"{self.dataset} classifier: images of shape {tuple(np.shape(images))} given; allowed "
                f"(N, {channels}, {height}, {width}) or (N, {height}, {width})"
            )
        lo, hi = value_range
        x = (x - lo) * (2.0 / (hi - lo)) - 1.0  # to [-1, 1], as trained
        if len(x) == 0:
            return np.zeros(0, dtype=np.int64)
        return np.asarray(self.model.predict(_features(x, NATIVE_SIZE[self.dataset])), dtype=np.int64)


_cache: dict[tuple, DigitClassifier] = {}
_key_locks: dict[tuple, threading.Lock] = {}
_registry_lock = threading.Lock()


def get_classifier(cfg: GANConfig) -> DigitClassifier:
    """The classifier for ``cfg``'s data, trained on first use; `DataError` if the data cannot load."""
    if cfg.dataset not in CLASSIFIED_DATASETS:
        raise ValueError(
            f"no classifier for dataset {cfg.dataset!r}: allowed {', '.join(CLASSIFIED_DATASETS)}"
        )
    key = _key(cfg)
    with _registry_lock:
        lock = _key_locks.setdefault(key, threading.Lock())
    # One lock per key: a second caller for the same data waits for the first training; other data
    # trains in parallel. A failed load caches nothing, so the next call tries again.
    with lock:
        if key not in _cache:
            _cache[key] = _train(cfg)
        return _cache[key]


def classifier_ready(cfg: GANConfig) -> bool:
    """True when this process has trained ``cfg``'s classifier already: its next use takes no training
    (the first takes seconds, `get_classifier`). Never trains."""
    return _key(cfg) in _cache


def trained_accuracy(cfg: GANConfig) -> float | None:
    """The held-out accuracy of ``cfg``'s classifier if this process has already trained it (the run's
    evaluations do), else None: never trains, so a page may ask it on every refresh."""
    if cfg.dataset not in CLASSIFIED_DATASETS:
        return None
    classifier = _cache.get(_key(cfg))
    return None if classifier is None else classifier.held_out_accuracy


def _key(cfg: GANConfig) -> tuple:
    # digits ignores data_path; the torchvision sets read it, "" meaning ./data
    where = "" if cfg.dataset == "digits" else str(Path(cfg.data_path or "data").expanduser().resolve())
    return (cfg.dataset, where, cfg.resolved_image_size, cfg.channels or 1)  # all three sets are grayscale


def _features(images: np.ndarray, native: int) -> np.ndarray:
    """(N, C, H, W) in [-1, 1] -> (N, F): channels averaged (these sets are gray, so 3 channels are one
    gray repeated), sides above the set's own size average-pooled back down to it."""
    x = torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32)).mean(dim=1, keepdim=True)
    if x.shape[-1] > native:
        x = F.adaptive_avg_pool2d(x, native)
    return x.reshape(len(x), -1).numpy()


def split_indices(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(train, held_out): indices into a labelled set's examples ((N,) class ``labels``), the split every
    classifier here is trained and scored on. A stratified `HELD_OUT_FRACTION` (20%) is held out, from a
    stratified subset of 25,000 for larger sets (so at most 20,000 to train on and 5,000 held out), with
    fixed seeds: the same labels give the same split in every process. A class too small to stratify
    (fewer than two examples, in a user's folder) makes both splits plain random ones.

    A class-conditional ``acgan`` run trains on everything but ``held_out``, so that D's class head and
    the classifier are scored on the same images, neither having trained on them (``d_class_acc``)."""
    from sklearn.model_selection import train_test_split  # imported here: scikit-learn is slow to import

    def stratifiable(classes: np.ndarray) -> bool:
        return len(classes) > 0 and np.unique(classes, return_counts=True)[1].min() >= 2

    labels = np.asarray(labels)
    index = np.arange(len(labels))
    stratified = stratifiable(labels)
    limit = int(MAX_TRAIN / (1.0 - HELD_OUT_FRACTION))
    if len(index) > limit:  # a stratified subset: 20k to train on, 5k held out
        index = train_test_split(
            index, train_size=limit, stratify=labels if stratified else None, random_state=SEED
        )[0]
    stratified = stratified and stratifiable(labels[index])
    return train_test_split(
        index,
        test_size=HELD_OUT_FRACTION,
        stratify=labels[index] if stratified else None,
        random_state=SEED,
    )


def _train(cfg: GANConfig) -> DigitClassifier:

    started = time.perf_counter()
    data = load_data(cfg.replace(device="cpu"), "cpu")
    images = data.examples().numpy()
    labels = data.labels.numpy()
    train, test = split_indices(labels)
    native = NATIVE_SIZE[cfg.dataset]
    digits = cfg.dataset == "digits"
    model = _new_model(cfg.dataset, SEED)
    train_rows, test_rows = _features(images[train], native), _features(images[test], native)
    model.fit(train_rows, labels[train])
    accuracy = float((model.predict(test_rows) == labels[test]).mean())
    kept = {}
    if digits:  # 1,437 rows of 64: kept for the feature network's MLP (`feature_network`)
        kept = dict(
            train_rows=train_rows, train_labels=labels[train], test_rows=test_rows, test_labels=labels[test]
        )
    return DigitClassifier(
        cfg.dataset,
        data.sample_shape,
        model,
        accuracy,
        np.sort(test),
        time.perf_counter() - started,
        n_classes=N_CLASSES,
        **kept,
    )


@dataclass(frozen=True)
class FittedClassifier:
    """A classifier of one data set's images fitted on images given (`fit_classifier`)."""

    dataset: str
    model: _Model

    def predict(self, images: np.ndarray) -> np.ndarray:
        """Class of each image, (N, C, H, W) in [-1, 1] (any side at least the set's own); int64 (N,)."""
        rows = _features(np.asarray(images, dtype=np.float32), NATIVE_SIZE[self.dataset])
        return np.asarray(self.model.predict(rows), dtype=np.int64)


def fit_classifier(
    dataset: str, images: np.ndarray, labels: np.ndarray, seed: int = SEED
) -> FittedClassifier:
    """The kind of classifier `get_classifier` trains for ``dataset`` (digits: the RBF SVC on the 64
    pixels; mnist, fashion-mnist: the MLP), fitted on ``images`` (N, C, H, W) in [-1, 1] with class
    ``labels`` (N,): for GAN-train and the augmentation probe (`gan_core.downstream`), whose figures are
    then comparable with the real-trained classifier's. ``seed`` draws the MLP's weights and batches.
    ValueError for an unknown dataset or mismatched lengths."""

    if dataset not in CLASSIFIED_DATASETS:
        raise ValueError(f"no classifier for dataset {dataset!r}: allowed {', '.join(CLASSIFIED_DATASETS)}")
    images, labels = np.asarray(images, dtype=np.float32), np.asarray(labels, dtype=np.int64)
    if images.ndim != 4 or len(images) != len(labels) or len(images) == 0:
        raise ValueError(
            f"images {images.shape} and labels {labels.shape}: allowed (N, C, H, W) and (N,), N >= 1"
        )
    model = _new_model(dataset, seed)
    model.fit(_features(images, NATIVE_SIZE[dataset]), labels)
    return FittedClassifier(dataset, model)


def _new_model(dataset: str, seed: int) -> _Model:
    """digits: an RBF SVC on the 64 pixels; the larger sets: the MLP."""
    from sklearn.svm import SVC  # imported here: scikit-learn is slow to import

    return SVC(C=10.0, gamma="scale") if dataset == "digits" else _MLP(seed=seed)


class _MLP:
    """A one-hidden-layer MLP with an sklearn-like fit / predict on float32 feature rows."""

    def __init__(self, seed: int, n_classes: int = N_CLASSES):
        self.seed = seed
        self.n_classes = n_classes
        self.net: nn.Sequential | None = None

    @torch.enable_grad()  # also when asked for under no_grad (a run's evaluation, which trains it lazily)
    def fit(self, x: np.ndarray, y: np.ndarray) -> _MLP:
        generator = torch.Generator().manual_seed(self.seed)
        net = nn.Sequential(
            nn.Linear(x.shape[1], MLP_HIDDEN), nn.ReLU(), nn.Linear(MLP_HIDDEN, self.n_classes)
        )
        # nn.Linear's own initialisation (Kaiming-uniform weights, uniform biases) redrawn from our generator
        for layer in (net[0], net[2]):
            bound = 1.0 / layer.in_features**0.5
            nn.init.kaiming_uniform_(layer.weight, a=5**0.5, generator=generator)
            nn.init.uniform_(layer.bias, -bound, bound, generator=generator)
        inputs = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
        targets = torch.from_numpy(np.asarray(y, dtype=np.int64))
        optimizer = torch.optim.Adam(net.parameters(), lr=MLP_LR)
        epochs = max(MLP_EPOCHS, math.ceil(MLP_MIN_STEPS / math.ceil(len(inputs) / MLP_BATCH)))
        for _ in range(epochs):
            order = torch.randperm(len(inputs), generator=generator)
            for start in range(0, len(inputs), MLP_BATCH):
                batch = order[start : start + MLP_BATCH]
                loss = F.cross_entropy(net(inputs[batch]), targets[batch])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
        self.net = net.eval()
        return self

    @torch.no_grad()
    def predict(self, x: np.ndarray) -> np.ndarray:
        inputs = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
        chunks = [
            self.net(inputs[i : i + _PREDICT_CHUNK]).argmax(dim=1)
            for i in range(0, len(inputs), _PREDICT_CHUNK)
        ]
        return torch.cat(chunks).numpy()
