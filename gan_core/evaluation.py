"""Quality metrics of a training run, every ``eval_every`` steps, on a fixed evaluation sample.

`Evaluator` is built once per run (in the training thread): it fixes the evaluation noise (2,500 points
for 2D data, as the VEEGAN / PacGAN protocol uses; 1,000 images), the real reference sample, and for
digit-like images the classifier trained once on the real data. `Evaluator.evaluate(G)` returns the
`EVAL_COLUMNS` that apply to the data (the others stay blank).
"""

from __future__ import annotations

import numpy as np
import torch

from gan_core.classifier import CLASSIFIED_DATASETS, N_CLASSES, get_classifier
from gan_core.config import GANConfig
from gan_core.data import DataSource, mode_count
from gan_core.diagnostics import class_metrics, diversity, grid_divergences, mode_metrics
from gan_core.tracking.schema import EVAL_COLUMNS

__all__ = ["EVAL_COLUMNS", "Evaluator", "coverage_total"]

# The quality columns are named once, in the schema (re-exported here for older callers).


def coverage_total(dataset: str) -> int | None:
    """What full coverage is for ``dataset``: its modes (ring8 8, grid25 25) or classes (10 for the
    digit-like sets), or None where coverage is not measured."""
    return N_CLASSES if dataset in CLASSIFIED_DATASETS else mode_count(dataset)


EVAL_POINTS = 2500
EVAL_IMAGES = 1000
DIVERSITY_SAMPLES = 64  # the fixed-noise grid's size


class Evaluator:
    """Quality metrics of one run's G against ``data``'s examples.

    ``fixed_noise``: (N, *latent_shape) on G's device: the evaluation noise has its shape, and its first 64
    rows are the diversity grid's. ``cfg``: the run's config, whose dataset picks the classifier for the
    class metrics (digits, mnist, fashion-mnist); None for a run without one (a user's loop through
    `gan_core.track`: then ``seed`` fixes the evaluation sample and only data-free metrics are measured
    unless it names a classified dataset)."""

    def __init__(
        self, cfg: GANConfig | None, data: DataSource, fixed_noise: torch.Tensor, seed: int | None = None
    ):
        self.cfg = cfg
        self.data = data
        self.points = data.kind == "points"
        rng = torch.Generator().manual_seed((cfg.seed if cfg is not None else seed or 0) + 3)
        n = EVAL_POINTS if self.points else EVAL_IMAGES
        self.noise = torch.randn((n, *fixed_noise.shape[1:]), generator=rng).to(fixed_noise.device)
        self.fixed_noise = fixed_noise[:DIVERSITY_SAMPLES]
        examples = data.examples()
        pick = torch.randint(0, examples.shape[0], (min(n, examples.shape[0]),), generator=rng)
        self.real = examples[pick.to(examples.device)].float().cpu().numpy()
        self._classifier = None

    def _classify(self, images: np.ndarray) -> np.ndarray | None:
        if self.cfg is None or self.cfg.dataset not in CLASSIFIED_DATASETS:
            return None
        if self._classifier is None:
            self._classifier = get_classifier(self.cfg)
        return self._classifier.predict(images)

    @torch.no_grad()
    def evaluate(self, G: torch.nn.Module) -> dict[str, float]:
        was_training = G.training
        G.eval()
        try:
            fake = G(self.noise).float().cpu().numpy()
            grid = G(self.fixed_noise).float().cpu().numpy() if not self.points else None
        finally:
            G.train(was_training)
        metrics: dict[str, float] = {}
        if self.points:
            if self.data.centers is not None:
                metrics.update(mode_metrics(fake, self.data.centers.numpy(), self.data.mode_std))
            metrics.update(grid_divergences(self.real, fake, self.data.bounds))
        else:
            metrics["diversity"] = diversity(grid, self.real[:DIVERSITY_SAMPLES])
            labels = self._classify(fake)
            if labels is not None:
                metrics.update(class_metrics(labels))
        return metrics
