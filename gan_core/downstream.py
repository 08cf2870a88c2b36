"""The two uses of a trained GAN: G as a source of labelled data, D as a classifier.

G as a data source (a class-conditional G, `conditioning` other than ``none``):

- **GAN-train** (Shmelkov et al., ECCV 2018, "How good is my GAN?"): a classifier trained on G's labelled
  samples alone, tested on held-out real images. Near the real-trained classifier's accuracy: G's
  samples carry what tells the classes apart (quality *and* diversity); far below: they do not.
- **GAN-test** (the same paper): the real-trained classifier tested on G's samples, each labelled with the
  class G was asked for. Near the real accuracy: G's samples look like their class (quality; a G that
  repeats one good image per class scores high here and low on GAN-train).
- **Augmentation**: a classifier trained on ``k`` real images per class, with and without G's samples
  added, tested on held-out real images: does G help when real data is scarce?

The classifier is the data's own kind (`gan_core.classifier.fit_classifier`: the RBF SVC on digits, the
MLP on mnist and fashion-mnist), on the split every classifier here uses (`classifier.split_indices`:
a stratified 20% held out), so every figure is comparable with the real-trained classifier's accuracy on
the same held-out images. An ``acgan`` run's G never trained on those images; a ``concat`` or
``projection`` run's G trained on all of the data, the held-out images included (its GAN-train is then
flattered by whatever G memorised of them: it is said in the result).

D as a classifier (``acgan``) is measured during training: the ``d_class_acc`` column.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from gan_core.classifier import CLASSIFIED_DATASETS, fit_classifier, get_classifier, split_indices
from gan_core.config import GANConfig
from gan_core.data import load_data
from gan_core.models import CONDITIONINGS, model_classes

AUGMENT_SEEDS = (0, 1, 2)
GENERATE_BATCH = 1000


def _in_words(names) -> str:
    names = list(names)
    return ", ".join(names[:-1]) + f" or {names[-1]}" if len(names) > 1 else "".join(names)


# What GAN-train, GAN-test and the augmentation probe need, in words (from the registries)
_CONDITIONAL = _in_words(name for name, c in CONDITIONINGS.items() if c.conditional)
_CLASSIFIED = _in_words(CLASSIFIED_DATASETS)
CONDITIONAL_RUN = f"a class-conditional run (conditioning {_CONDITIONAL}, on {_CLASSIFIED})"


def uses_problem(cfg: GANConfig, n_classes: int) -> str | None:
    """Why a run of ``cfg`` whose G draws ``n_classes`` classes (0: unconditional) cannot be measured
    here (GAN-train, GAN-test, the augmentation probe), in words, or None when it can: G must be
    class-conditional, on data the project has a classifier of (`CLASSIFIED_DATASETS`)."""
    if not n_classes:
        return f"These need G's samples labelled: {CONDITIONAL_RUN}."
    if cfg.dataset not in CLASSIFIED_DATASETS:
        return (
            f"These need a classifier of the data, which {_CLASSIFIED} have and {cfg.dataset!r} has not: "
            f"{CONDITIONAL_RUN}."
        )
    return None


class DownstreamError(ValueError):
    """The run cannot be used this way (an unconditional G, data without a classifier); the message says
    what is needed."""


@dataclass(frozen=True)
class _Split:
    images: np.ndarray  # (N, C, H, W) in [-1, 1], the run's image size
    labels: np.ndarray  # (N,) int64
    train: np.ndarray  # indices
    test: np.ndarray


def _split(cfg: GANConfig) -> _Split:
    data = load_data(cfg.replace(device="cpu"), "cpu")
    labels = data.labels.numpy()
    train, test = split_indices(labels)
    return _Split(data.examples().numpy(), labels, train, test)


def smallest_train_class(cfg: GANConfig) -> int:
    """Real images of the smallest class in the training split of ``cfg``'s data (a classified dataset):
    the most `augmentation_probe`'s ``k`` may be."""
    split = _split(cfg)
    return int(np.bincount(split.labels[split.train]).min())


def _check(cfg: GANConfig, G: nn.Module) -> int:
    if cfg.dataset not in CLASSIFIED_DATASETS:
        raise DownstreamError(
            f"GAN-train, GAN-test and augmentation need a classifier of the data: allowed datasets "
            f"{', '.join(CLASSIFIED_DATASETS)}, not {cfg.dataset!r}"
        )
    n_classes = model_classes(G)
    if n_classes < 2:
        raise DownstreamError(
            f"GAN-train, GAN-test and augmentation need G's samples labelled: {CONDITIONAL_RUN}, not an "
            "unconditional one"
        )
    return n_classes


@torch.no_grad()
def generate(G: nn.Module, labels: np.ndarray, latent_dim: int, seed: int) -> np.ndarray:
    """G's samples for class ``labels`` (N,), from noise drawn with ``seed`` (its own generator), in eval
    mode, batches of 1,000; (N, ...) float32 numpy on the CPU."""
    device = next(G.parameters()).device
    generator = torch.Generator().manual_seed(seed)
    was_training = G.training
    G.eval()
    try:
        out = []
        for start in range(0, len(labels), GENERATE_BATCH):
            y = torch.as_tensor(labels[start : start + GENERATE_BATCH], dtype=torch.int64)
            z = torch.randn(len(y), latent_dim, generator=generator)
            out.append(G(z.to(device), y.to(device)).float().cpu())
    finally:
        G.train(was_training)
    return torch.cat(out).numpy()


def _balanced(n: int, n_classes: int) -> np.ndarray:
    return np.arange(n, dtype=np.int64) % n_classes


def gan_train_test(cfg: GANConfig, G: nn.Module, *, seed: int = 0) -> dict[str, float | int | str]:
    """GAN-train and GAN-test of a class-conditional ``G`` trained with ``cfg`` (module docstring), as
    fractions correct on held-out real images and on G's samples, with ``real_accuracy``, the real-trained
    classifier's on the same held-out images (the yardstick of both), ``n_generated`` (as many as the real
    training split, every class equally) and ``n_test``. `DownstreamError` for an unconditional G or data
    without a classifier."""
    n_classes = _check(cfg, G)
    split = _split(cfg)
    real = get_classifier(cfg)  # trained on split.train, scored on split.test
    asked = _balanced(len(split.train), n_classes)
    fake = generate(G, asked, cfg.latent_dim, seed)
    trained_on_fake = fit_classifier(cfg.dataset, fake, asked, seed=seed)
    test_images, test_labels = split.images[split.test], split.labels[split.test]
    return {
        "real_accuracy": real.held_out_accuracy,
        "gan_train": float((trained_on_fake.predict(test_images) == test_labels).mean()),
        "gan_test": float((real.predict(fake) == asked).mean()),
        "n_generated": len(asked),
        "n_test": len(test_labels),
        "g_saw_test_images": "no" if cfg.conditioning == "acgan" else "yes",
    }


def augmentation_probe(
    cfg: GANConfig,
    G: nn.Module,
    *,
    k: int = 10,
    generated_per_class: int = 100,
    seeds: tuple[int, ...] = AUGMENT_SEEDS,
) -> dict[str, object]:
    """A classifier trained on ``k`` real images per class (drawn from the training split with each of
    ``seeds``), with and without ``generated_per_class`` of G's samples per class added, tested on the
    held-out real images: ``real_only`` and ``with_generated`` (fractions correct, mean over seeds),
    ``gain`` (their difference), ``per_seed`` [(real_only, with_generated)], and the settings.
    `DownstreamError` for an unconditional G, data without a classifier, or a ``k`` that the smallest
    class of the training split does not have."""
    n_classes = _check(cfg, G)
    for name, value in (("k", k), ("generated_per_class", generated_per_class)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise DownstreamError(f"{name} must be an int >= 1, got {value!r}")
    split = _split(cfg)
    train_labels = split.labels[split.train]
    smallest = int(np.bincount(train_labels, minlength=n_classes).min())
    if k > smallest:
        raise DownstreamError(
            f"k={k} real images per class: the training split has {smallest} of its smallest class"
        )
    test_images, test_labels = split.images[split.test], split.labels[split.test]
    per_seed = []
    for seed in seeds:
        rng = np.random.default_rng(seed)
        picked = np.concatenate(
            [rng.choice(split.train[train_labels == c], size=k, replace=False) for c in range(n_classes)]
        )
        images, labels = split.images[picked], split.labels[picked]
        alone = fit_classifier(cfg.dataset, images, labels, seed=seed)
        asked = _balanced(generated_per_class * n_classes, n_classes)
        fake = generate(G, asked, cfg.latent_dim, seed)
        mixed = fit_classifier(
            cfg.dataset, np.concatenate([images, fake]), np.concatenate([labels, asked]), seed=seed
        )
        per_seed.append(
            (
                float((alone.predict(test_images) == test_labels).mean()),
                float((mixed.predict(test_images) == test_labels).mean()),
            )
        )
    real_only = float(np.mean([a for a, _ in per_seed]))
    with_generated = float(np.mean([b for _, b in per_seed]))
    return {
        "k": k,
        "generated_per_class": generated_per_class,
        "seeds": list(seeds),
        "real_only": real_only,
        "with_generated": with_generated,
        "gain": with_generated - real_only,
        "per_seed": per_seed,
        "n_test": len(test_labels),
    }
