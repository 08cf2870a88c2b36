"""The classifier behind classes_covered / class_kl: trained once, honest about its accuracy, cached."""

import dataclasses
import math
import pickle
import struct
import threading
from pathlib import Path

import numpy as np
import pytest
import torch

import gan_core.classifier as classifier_module
from gan_core.classifier import get_classifier
from gan_core.config import GANConfig
from gan_core.data import load_data
from gan_core.diagnostics import class_metrics, image_metrics
from gan_core.feature_metrics import ImageQuality


@pytest.fixture(scope="module")
def digits():
    cfg = GANConfig(dataset="digits", device="cpu")
    return cfg, get_classifier(cfg), load_data(cfg)


def test_the_digits_feature_space_is_an_mlp_penultimate_layer_trained_once(digits):
    cfg, classifier, data = digits
    net = classifier.feature_network()
    assert net is classifier.feature_network()  # built once
    assert 0.95 <= net.held_out_accuracy <= 1.0  # the MLP's own, on the classifier's held-out fifth
    images = data.examples()[:50]
    rows = net(images)
    assert rows.shape == (50, net.num_features) == (50, classifier_module.MLP_HIDDEN)
    assert rows.dtype == torch.float32 and (rows >= 0).all()  # ReLU units
    again = classifier_module._train(cfg).feature_network()  # trained again: the same weights
    assert torch.equal(again(images), rows)
    for bad in (images[0], images[:, :, :4, :4], images[:, :, :, :7]):  # 3-D, smaller than 8x8, not square
        with pytest.raises(ValueError, match=r"allowed \(N, C, S, S\) with S >= 8"):
            net(bad)
    # copies of the classifier carry no feature network of the original (built again when asked for)
    copied = pickle.loads(pickle.dumps(classifier))
    assert torch.equal(copied.feature_network()(images), rows) and copied.feature_network() is not net
    assert dataclasses.replace(classifier, train_seconds=0.0).feature_network() is not net


def test_the_feature_space_tells_held_out_digits_from_noise_and_from_one_class(digits):
    _, classifier, data = digits
    net = classifier.feature_network()
    images, labels = data.examples(), data.labels.numpy()
    held_out = np.zeros(len(images), dtype=bool)
    held_out[classifier.held_out] = True
    quality = ImageQuality(net, images[~held_out], kid_subset_size=300)
    real = quality.measure(images[held_out])  # unseen real digits
    noise = quality.measure(torch.rand_like(images[held_out]) * 2 - 1)
    ones = quality.measure(images[torch.from_numpy(labels == 1)])  # a collapse onto one digit
    assert real["fd"] * 5 < ones["fd"] < noise["fd"]
    assert real["precision"] >= 0.8 and real["recall"] >= 0.8
    assert ones["recall"] <= 0.3 and ones["coverage"] <= 0.3  # one class of ten
    assert noise["precision"] <= 0.1


def test_held_out_accuracy_is_measured_on_a_stratified_fifth(digits):
    _, classifier, data = digits
    assert 0.95 <= classifier.held_out_accuracy <= 1.0
    assert classifier.n_classes == 10
    labels = data.labels.numpy()
    held_out = classifier.held_out
    assert len(held_out) == pytest.approx(0.2 * len(labels), abs=1)
    # stratified: every class holds out its share, give or take one image
    np.testing.assert_allclose(np.bincount(labels[held_out]), 0.2 * np.bincount(labels), atol=1)


def test_predicts_the_held_out_labels(digits):
    _, classifier, data = digits
    images, labels = data.examples().numpy(), data.labels.numpy()
    predicted = classifier.predict(images[classifier.held_out])
    assert predicted.dtype == np.int64
    accuracy = (predicted == labels[classifier.held_out]).mean()
    assert accuracy == pytest.approx(classifier.held_out_accuracy, abs=1e-12)
    assert class_metrics(classifier.predict(images))["class_kl"] == pytest.approx(0.0, abs=0.01)


def test_one_digit_repeated_is_one_class_through_image_metrics(digits):
    _, classifier, data = digits
    images, labels = data.examples().numpy(), data.labels.numpy()
    seven = images[classifier.held_out][labels[classifier.held_out] == 7][:1]
    assert classifier.predict(seven).tolist() == [7]
    metrics = image_metrics(np.repeat(seven, 50, axis=0), images, classifier)
    assert metrics["classes_covered"] == 1
    assert metrics["class_kl"] == pytest.approx(math.log(10), abs=1e-9)
    assert metrics["diversity"] == pytest.approx(0.0, abs=1e-6)
    healthy = image_metrics(images[::2], images[1::2], classifier)
    assert healthy["classes_covered"] == 10 and healthy["diversity"] == pytest.approx(1.0, abs=0.05)


def test_value_range_zero_one_and_three_dim_input_give_the_same_classes(digits):
    _, classifier, data = digits
    images = data.examples().numpy()[:300]
    expected = classifier.predict(images)
    np.testing.assert_array_equal(classifier.predict((images + 1) / 2, value_range=(0.0, 1.0)), expected)
    np.testing.assert_array_equal(classifier.predict(images[:, 0]), expected)  # (N, H, W)
    assert classifier.predict(images[:0]).shape == (0,)


def test_wrong_image_shape_is_a_value_error_naming_the_shapes(digits):
    _, classifier, _ = digits
    with pytest.raises(ValueError, match=r"\(5, 1, 28, 28\) given; allowed \(N, 1, 8, 8\) or \(N, 8, 8\)"):
        classifier.predict(np.zeros((5, 1, 28, 28), dtype=np.float32))


def test_other_datasets_are_refused():
    for name in ("ring8", "cifar10"):
        with pytest.raises(ValueError, match=f"no classifier for dataset '{name}': allowed digits, mnist"):
            get_classifier(GANConfig(dataset=name))


def test_cached_per_data_and_size(digits):
    cfg, classifier, _ = digits
    assert get_classifier(cfg) is classifier
    assert get_classifier(cfg.replace(data_path="elsewhere", loss="hinge")) is classifier  # digits: no path
    bigger = get_classifier(cfg.replace(image_size=16, channels=3))
    assert bigger is not classifier and bigger.sample_shape == (3, 16, 16)
    assert bigger.held_out_accuracy >= 0.95


def test_threads_asking_at_once_share_one_training(monkeypatch):
    calls = []
    train = classifier_module._train

    def counting(cfg):
        calls.append(cfg)
        return train(cfg)

    monkeypatch.setattr(classifier_module, "_train", counting)
    cfg = GANConfig(dataset="digits", image_size=12, device="cpu")  # a size no other test uses
    results = []
    threads = [threading.Thread(target=lambda: results.append(get_classifier(cfg))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1 and len(results) == 4 and all(r is results[0] for r in results)


# ---------------------------------------------------------------------------------------------- mnist
def _write_idx(path: Path, array: np.ndarray) -> None:
    """The idx format torchvision reads (as in test_data): magic, dims, big-endian sizes, uint8 data."""
    path.write_bytes(
        struct.pack(">I", 0x0800 | array.ndim)
        + struct.pack(f">{array.ndim}I", *array.shape)
        + array.tobytes()
    )


def _bars(labels: np.ndarray, seed: int) -> np.ndarray:
    """28x28 uint8 images: class k is a bright bar on rows 2k+4 and 2k+5 over dim noise."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 60, size=(len(labels), 28, 28), dtype=np.uint8)
    for i, k in enumerate(labels):
        images[i, 2 * k + 4 : 2 * k + 6, 3:25] = 255
    return images


@pytest.fixture(scope="module")
def fake_mnist(tmp_path_factory):
    root = tmp_path_factory.mktemp("mnist")
    labels = np.repeat(np.arange(10, dtype=np.uint8), 30)  # 30 per class: 6 of each held out
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for split in ("train", "t10k"):  # torchvision wants both splits
        _write_idx(raw / f"{split}-images-idx3-ubyte", _bars(labels, seed=0))
        _write_idx(raw / f"{split}-labels-idx1-ubyte", labels)
    cfg = GANConfig(dataset="mnist", data_path=str(root), device="cpu")
    return cfg, get_classifier(cfg)


def test_mnist_classifier_learns_the_classes_of_the_files(fake_mnist):
    cfg, classifier = fake_mnist
    assert classifier.dataset == "mnist" and classifier.sample_shape == (1, 28, 28)
    assert classifier.held_out_accuracy == pytest.approx(1.0, abs=0.02)
    assert len(classifier.held_out) == 60
    fresh_labels = np.tile(np.arange(10), 5)
    fresh = _bars(fresh_labels, seed=1).astype(np.float32)[:, None] / 255.0  # new noise, in [0, 1]
    assert (classifier.predict(fresh, value_range=(0.0, 1.0)) == fresh_labels).mean() >= 0.95
    assert get_classifier(cfg) is classifier


def test_mnist_at_another_size_pools_back_to_28(fake_mnist):
    cfg, _ = fake_mnist
    classifier = get_classifier(cfg.replace(image_size=56, channels=3))
    assert classifier.sample_shape == (3, 56, 56)
    assert classifier.held_out_accuracy == pytest.approx(1.0, abs=0.02)


def test_missing_mnist_files_are_a_data_error(tmp_path):
    from gan_core.data import DataError

    with pytest.raises(DataError, match="mnist not found under"):
        get_classifier(GANConfig(dataset="mnist", data_path=str(tmp_path)))


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
