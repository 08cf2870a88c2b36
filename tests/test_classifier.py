"""The digits classifier behind classes_covered / class_kl, and the runner's image evaluations."""

import math

import numpy as np
import pytest

from gan_core.classifier import get_classifier
from gan_core.config import GANConfig
from gan_core.data import load_data
from gan_core.diagnostics import class_metrics


@pytest.fixture(scope="module")
def digits():
    cfg = GANConfig(dataset="digits", device="cpu")
    return cfg, get_classifier(cfg), load_data(cfg)


def test_held_out_accuracy_and_cache(digits):
    cfg, classifier, _ = digits
    assert 0.95 <= classifier.held_out_accuracy <= 1.0
    assert get_classifier(cfg) is classifier


def test_predicts_real_digits_and_scores_collapse(digits):
    _, classifier, data = digits
    images, labels = data.examples().numpy(), data.labels.numpy()
    assert (classifier.predict(images) == labels).mean() > 0.98  # mostly its training data
    same = classifier.predict((images + 1) / 2, value_range=(0.0, 1.0))
    np.testing.assert_array_equal(same, classifier.predict(images))
    sevens = images[labels == 7]
    metrics = class_metrics(classifier.predict(sevens))
    assert metrics["classes_covered"] <= 2 and metrics["class_kl"] == pytest.approx(math.log(10), abs=0.1)
    assert class_metrics(classifier.predict(images))["class_kl"] == pytest.approx(0.0, abs=0.01)


def test_other_datasets_are_refused():
    with pytest.raises(ValueError, match="no classifier for dataset 'ring8'"):
        get_classifier(GANConfig(dataset="ring8"))


def test_digits_run_evaluates_classes_and_diversity(tmp_path):
    from gan_core.rundir import RunDir
    from gan_core.runner import Runner

    cfg = GANConfig(
        dataset="digits", width=16, latent_dim=4, batch_size=16, steps=6, eval_every=3, device="cpu"
    )
    runner = Runner(cfg, tmp_path, "img").start()
    assert runner.wait(60) and runner.status == "finished"
    metrics = RunDir.open(tmp_path, "img").read_metrics().set_index("step")
    assert metrics["classes_covered"].dropna().index.tolist() == [3, 6]
    assert metrics.loc[[3, 6], "classes_covered"].between(1, 10).all()
    assert metrics.loc[[3, 6], "class_kl"].between(0, math.log(10) + 1e-9).all()
    assert metrics.loc[[3, 6], "diversity"].between(0.0, 3.0).all()
