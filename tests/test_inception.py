"""Inception's feature space from weights on disk: finding, checking and (when asked) downloading the
weights, the features, and the fid/kid columns in the evaluate command and in a run's evaluation.

The real FID weights are a 91 MB download these machines cannot make; the tests use the same network
with random weights, written as a state dict like the real file: every path is the real one, only the
numbers differ."""

from __future__ import annotations

import json
import math
import pickle
from unittest import mock

import numpy as np
import pytest
import torch
from PIL import Image

from gan_core import inception
from gan_core.config import GANConfig
from gan_core.data import load_data
from gan_core.evaluation import Evaluator, RealSplitQuality, feature_networks
from gan_core.inception import INCEPTION_ENV, InceptionError, InceptionFeatures, inception_weights
from gan_core.tracking.schema import FEATURE_COLUMNS_BY_SPACE
from gan_core.trainer import Trainer

INCEPTION_COLUMNS = FEATURE_COLUMNS_BY_SPACE["inception"]
CLS_COLUMNS = FEATURE_COLUMNS_BY_SPACE["cls"]


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    """Inception-v3 (torch-fidelity's layout) with random He-initialised weights, saved as the real
    weights file is: a state dict of tensors."""
    import torch_fidelity.feature_extractor_inceptionv3 as tf

    with (
        mock.patch.object(tf, "load_state_dict_from_url", lambda *a, **k: {}),
        mock.patch.object(tf.FeatureExtractorInceptionV3, "load_state_dict", lambda self, *a, **k: None),
    ):
        net = tf.FeatureExtractorInceptionV3("inception-v3-compat", ["2048"])
    generator = torch.Generator().manual_seed(0)
    state = {}
    for key, value in net.state_dict().items():
        if value.is_floating_point() and value.dim() > 1:  # conv and linear weights
            value = torch.randn(value.shape, generator=generator) * (2.0 / value[0].numel()) ** 0.5
        state[key] = value
    path = tmp_path_factory.mktemp("inception") / inception.INCEPTION_FILE
    torch.save(state, path)
    return path


@pytest.fixture
def no_weights_anywhere(tmp_path, monkeypatch):
    monkeypatch.delenv(INCEPTION_ENV, raising=False)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))  # an empty hub cache


def test_features_are_2048_per_image_for_grey_and_colour_images_of_any_side(weights):
    features = InceptionFeatures(weights)
    grey = torch.rand(2, 1, 8, 8, generator=torch.Generator().manual_seed(1)) * 2 - 1
    got = features(grey)
    assert got.shape == (2, 2048) and got.dtype == torch.float32 and torch.isfinite(got).all()
    # a grey image is its RGB copy (the channels repeated, not averaged away); deterministic (eval mode)
    assert torch.allclose(features(grey.expand(-1, 3, -1, -1)), got)
    assert (got[0] - got[1]).abs().max() > 1e-3  # the pixels matter
    colour = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(2)) * 2 - 1
    assert features(colour).shape == (1, 2048)
    with pytest.raises(ValueError, match=r"allowed \(N, 1 or 3, H, W\)"):
        features(torch.zeros(2, 2, 8, 8))


def test_images_are_resized_as_the_original_fid_did_not_antialiased(weights, monkeypatch):
    # Heusel et al.'s FID (and torch-fidelity's, pytorch-fid's) resizes with TensorFlow 1.x's bilinear;
    # torchmetrics' default antialiased resize gives other features (up to 160/255 a pixel on a digit)
    import torchmetrics.image.fid as tm_fid

    resized = []
    original = tm_fid.interpolate_bilinear_2d_like_tensorflow1x

    def spy(x, *args, **kwargs):
        resized.append(tuple(x.shape))
        return original(x, *args, **kwargs)

    monkeypatch.setattr(tm_fid, "interpolate_bilinear_2d_like_tensorflow1x", spy)
    features = InceptionFeatures(weights)
    features(torch.zeros(2, 1, 28, 28))
    assert resized == [(2, 3, 28, 28)]


def _pickled_code(path):
    class Boom:
        def __reduce__(self):
            return (print, ("code ran",))

    path.write_bytes(pickle.dumps({"w": Boom()}))


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda p: p.write_bytes(b"not a torch file"), "cannot be read as tensors"),
        (_pickled_code, "cannot be read as tensors"),  # weights_only refuses code
        (lambda p: torch.save([torch.zeros(2)], p), "holds no state dict of tensors"),
        (lambda p: torch.save({"fc.weight": torch.zeros(3, 3)}, p), "does not fit Inception-v3"),
    ],
)
def test_a_file_that_is_not_the_weights_gets_one_clear_error(tmp_path, make, words, capsys):
    path = tmp_path / "weights.pth"
    make(path)
    with pytest.raises(InceptionError, match=words) as caught:
        InceptionFeatures(path)
    assert "allowed" in str(caught.value) and str(path) in str(caught.value)
    assert "code ran" not in capsys.readouterr().out


def test_the_weights_are_found_from_a_path_the_environment_or_the_hub_cache(
    tmp_path, weights, monkeypatch, no_weights_anywhere
):
    assert inception_weights() is None  # nothing set, nothing cached: nothing measured, no download
    assert inception_weights(weights) == weights
    monkeypatch.setenv(INCEPTION_ENV, str(weights))
    assert inception_weights() == weights
    monkeypatch.setenv(INCEPTION_ENV, str(tmp_path / "missing.pth"))
    with pytest.raises(InceptionError, match=rf"\${INCEPTION_ENV} names .*missing.pth.*not a file"):
        inception_weights()
    monkeypatch.delenv(INCEPTION_ENV)
    cached = inception.cached_weights_path()
    cached.parent.mkdir(parents=True)
    cached.write_bytes(weights.read_bytes())
    assert inception_weights() == cached
    assert inception_weights(search_cache=False) is None  # a run's choice: the cache alone does not opt in


def test_download_without_a_network_says_what_to_do(tmp_path, monkeypatch, no_weights_anywhere):
    monkeypatch.setattr(inception, "INCEPTION_URL", "http://127.0.0.1:9/weights.pth")  # nothing listens
    with pytest.raises(InceptionError, match="cannot download") as caught:
        inception.download_inception_weights(tmp_path / "w.pth")
    assert "copy the file" in str(caught.value) and INCEPTION_ENV in str(caught.value)
    assert not (tmp_path / "w.pth").exists()
    (tmp_path / "w.pth").write_bytes(b"already here")  # on disk already: nothing fetched
    assert inception.download_inception_weights(tmp_path / "w.pth") == tmp_path / "w.pth"


@pytest.fixture
def small_folder(tmp_path):
    """14 greyscale 8 x 8 images in a folder: 7 per real half, the fewest precision and recall take
    (nearest_k + 2; Inception costs about 0.2 s an image here)."""
    folder = tmp_path / "imgs"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(14):
        Image.fromarray((rng.random((8, 8)) * 255).astype(np.uint8), mode="L").save(folder / f"{i}.png")
    return folder


def test_evaluate_measures_fid_and_kid_in_inception_space_with_a_baseline(
    tmp_path, cli, weights, small_folder
):
    samples = tmp_path / "fake.npy"
    np.save(samples, np.full((7, 1, 8, 8), 0.5, dtype=np.float32))  # one flat grey image, 7 times
    args = ["--dataset", "folder", "--data-path", str(small_folder), "--image-size", "8", "--channels", "1"]
    result = cli("evaluate", "--samples", str(samples), *args, "--inception-weights", str(weights))
    assert result.returncode == 0, result.stderr
    got = json.loads(result.stdout)
    assert got["feature_rows"] == {"real": 7, "generated": 7}
    assert set(INCEPTION_COLUMNS) <= set(got) and set(got["baseline"]) == set(INCEPTION_COLUMNS)
    assert "fd_cls" not in got  # no classifier for a folder
    assert got["fid"] > got["baseline"]["fid"] > 0  # a constant image is further than the other real half
    assert got["recall_inception"] == 0.0  # 7 copies of one image cover no real neighbourhood


def test_evaluate_inception_without_weights_is_one_line(tmp_path, cli, small_folder, no_weights_anywhere):
    samples = tmp_path / "fake.npy"
    np.save(samples, np.zeros((7, 1, 8, 8), dtype=np.float32))
    args = ["--dataset", "folder", "--data-path", str(small_folder), "--image-size", "8", "--channels", "1"]
    result = cli("evaluate", "--samples", str(samples), *args, "--inception")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "no Inception weights on disk" in lines[0] and "--download" in lines[0]


def test_a_run_measures_inception_space_when_the_environment_names_the_weights(
    monkeypatch, weights, small_folder
):
    monkeypatch.setenv(INCEPTION_ENV, str(weights))
    cfg = GANConfig(dataset="folder", data_path=str(small_folder), image_size=8, channels=1, device="cpu")
    trainer = Trainer(cfg, load_data(cfg))
    evaluator = Evaluator(cfg, trainer.data, trainer.fixed_noise)
    metrics = evaluator.evaluate(trainer.G)
    assert all(math.isfinite(metrics[c]) for c in INCEPTION_COLUMNS)
    assert evaluator.feature_rows == 7
    ((kind, fields),) = evaluator.take_events()
    assert kind == "baseline" and set(fields) == {*INCEPTION_COLUMNS, "rows"} and fields["rows"] == 7
    assert evaluator.take_events() == []


def test_unreadable_weights_in_the_environment_leave_the_classifier_space_measured(tmp_path, monkeypatch):
    bad = tmp_path / "bad.pth"
    bad.write_bytes(b"garbage")
    monkeypatch.setenv(INCEPTION_ENV, str(bad))
    cfg = GANConfig(dataset="digits", device="cpu")
    trainer = Trainer(cfg, load_data(cfg))
    evaluator = Evaluator(cfg, trainer.data, trainer.fixed_noise)
    metrics = evaluator.evaluate(trainer.G)
    assert math.isfinite(metrics["fd_cls"]) and "fid" not in metrics
    events = dict(evaluator.take_events())
    assert set(events) == {"baseline", "eval_error", "class_shares"}  # (the shares: every evaluation's)
    assert set(events["baseline"]) == {*CLS_COLUMNS, "rows"}
    assert "cannot be read as tensors" in events["eval_error"]["error"]
    evaluator.evaluate(trainer.G)
    assert [kind for kind, _ in evaluator.take_events()] == ["class_shares"]  # the error said once


def test_feature_networks_for_each_kind_of_data(weights):
    digits = GANConfig(dataset="digits")
    assert set(feature_networks(digits)) == {"cls"}
    assert set(feature_networks(digits, inception=weights)) == {"cls", "inception"}
    assert set(feature_networks(GANConfig(dataset="cifar10"), inception=weights)) == {"inception"}
    assert feature_networks(GANConfig(dataset="ring8"), images=False, inception=weights) == {}
    # one network per weights file in a process
    assert (
        feature_networks(None, inception=weights)["inception"]
        is feature_networks(None, inception=weights)["inception"]
    )
    assert RealSplitQuality({}, torch.zeros(4, 1, 8, 8), 0).rows == 0
