"""GAN-train, GAN-test and the augmentation probe (gan_core.downstream), on generators whose answer is
known: an oracle that returns real training digits of the class asked, one that returns noise, and a
short class-conditional run; and through `python -m gan_core evaluate --run`."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torch import nn

from gan_core.classifier import fit_classifier, get_classifier, split_indices
from gan_core.config import GANConfig
from gan_core.data import load_data
from gan_core.downstream import DownstreamError, augmentation_probe, gan_train_test

DIGITS = GANConfig(dataset="digits", conditioning="acgan", device="cpu")


class OracleG(nn.Module):
    """A 'generator' that returns a real training image of each class asked (picked by the noise): GAN-train
    is then a classifier trained on real images, GAN-test the classifier on images it trained on."""

    n_classes = 10

    def __init__(self, cfg: GANConfig):
        super().__init__()
        data = load_data(cfg)
        labels = data.labels.numpy()
        train, _ = split_indices(labels)
        self.by_class = [data.examples()[train[labels[train] == c]] for c in range(10)]
        self.anchor = nn.Parameter(torch.zeros(1))  # a device to be on

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        labels = torch.arange(len(z)) % 10 if labels is None else labels
        picks = (z[:, 0].abs() * 1e4).long()
        return torch.stack(
            [self.by_class[c][i % len(self.by_class[c])] for c, i in zip(labels.tolist(), picks)]
        )


class NoiseG(nn.Module):
    """Uniform noise in the digits' shape, whatever the class asked."""

    n_classes = 10

    def __init__(self):
        super().__init__()
        self.anchor = nn.Parameter(torch.zeros(1))

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        generator = torch.Generator().manual_seed(int(z[0, 0].abs() * 1e6))
        return torch.rand(len(z), 1, 8, 8, generator=generator) * 2 - 1


def test_an_oracle_generator_scores_as_the_real_data_and_helps_a_starved_classifier():
    got = gan_train_test(DIGITS, OracleG(DIGITS))
    assert 0.98 <= got["real_accuracy"] <= 1.0  # the SVC on the 360 held-out digits
    assert got["gan_train"] >= got["real_accuracy"] - 0.03 and got["gan_train"] <= 1.0
    assert got["gan_test"] >= 0.99  # the real classifier on (its own) real training digits
    assert got["n_generated"] == 1437 and got["n_test"] == 360 and got["g_saw_test_images"] == "no"
    probe = augmentation_probe(DIGITS, OracleG(DIGITS), k=1, generated_per_class=50)
    assert len(probe["per_seed"]) == 3 and probe["seeds"] == [0, 1, 2]
    assert 0.4 <= probe["real_only"] <= 0.85  # one real digit per class
    assert probe["with_generated"] >= 0.9  # 50 more real digits per class
    assert probe["gain"] == pytest.approx(probe["with_generated"] - probe["real_only"])


def test_a_noise_generator_is_at_chance_and_helps_nothing():
    got = gan_train_test(DIGITS, NoiseG())
    assert got["gan_train"] <= 0.2 and got["gan_test"] <= 0.3  # chance is 0.1
    probe = augmentation_probe(DIGITS, NoiseG(), k=10, generated_per_class=20)
    assert 0.8 <= probe["real_only"] <= 0.97
    assert probe["gain"] <= 0.02  # noise labelled at random adds nothing (it may cost a little)


def test_real_only_matches_a_classifier_fitted_by_hand_on_the_same_picks():
    probe = augmentation_probe(DIGITS, NoiseG(), k=5, generated_per_class=1, seeds=(7,))
    data = load_data(DIGITS)
    images, labels = data.examples().numpy(), data.labels.numpy()
    train, test = split_indices(labels)
    rng = np.random.default_rng(7)
    picked = np.concatenate([rng.choice(train[labels[train] == c], size=5, replace=False) for c in range(10)])
    by_hand = fit_classifier("digits", images[picked], labels[picked], seed=7)
    assert probe["real_only"] == pytest.approx(float((by_hand.predict(images[test]) == labels[test]).mean()))


def test_a_short_conditional_run_already_draws_its_classes(tmp_path, cli):
    result = cli(
        "train",
        "--preset",
        "conditional-digits",
        "--steps",
        "300",
        "--ms-weight",  # acgan alone names the digits by step 250; with the preset's mode-seeking term
        "0",  # it takes about 750 steps (BENCHMARKS.md), and this checks the commands, not the term
        "--out",
        str(tmp_path),
        "--run-id",
        "cd",
        "--quiet",
    )
    assert result.returncode == 0, result.stderr
    result = cli("evaluate", "--run", str(tmp_path / "cd"), "--augment-k", "2", "--augment-generated", "20")
    assert result.returncode == 0, result.stderr
    got = json.loads(result.stdout)
    assert got["dataset"] == "digits" and got["n_samples"] == 1000
    assert 0.8 <= got["gan_train_test"]["gan_test"] <= 1.0  # G draws the digit asked for
    assert 0.2 <= got["gan_train_test"]["gan_train"] <= got["gan_train_test"]["real_accuracy"]
    assert got["augmentation"]["k"] == 2 and len(got["augmentation"]["per_seed"]) == 3
    assert got["fd_cls"] > got["baseline"]["fd_cls"]
    # sample --label: every sample of the class asked for, as the classifier reads them
    out = tmp_path / "threes.npy"
    result = cli("sample", "--run", str(tmp_path / "cd"), "--label", "3", "--n", "200", "--out", str(out))
    assert result.returncode == 0 and "of class 3" in result.stdout, result.stderr
    images = np.load(out)
    assert images.shape == (200, 1, 8, 8) and images.min() >= 0.0 and images.max() <= 1.0
    predicted = get_classifier(GANConfig(dataset="digits")).predict(images * 2 - 1)
    assert 0.8 <= (predicted == 3).mean() <= 1.0
    refused = cli("sample", "--run", str(tmp_path / "cd"), "--label", "10", "--out", str(out))
    assert refused.returncode == 2 and refused.stderr == (
        "error: --label '10' is not one of this run's classes: 0, 1, 2, 3, 4, 5, 6, 7, 8, 9 "
        "(a name, or an index 0..9)\n"
    )
    # an unconditional run is scored without them
    cli("train", "--steps", "20", "--out", str(tmp_path), "--run-id", "plain", "--quiet")
    plain = json.loads(cli("evaluate", "--run", str(tmp_path / "plain")).stdout)
    assert "gan_train_test" not in plain and "augmentation" not in plain and "fd_cls" in plain
    refused = cli("sample", "--run", str(tmp_path / "plain"), "--label", "0", "--out", str(out))
    assert refused.returncode == 2 and "is not class-conditional" in refused.stderr


@pytest.mark.parametrize(
    ("cfg", "G", "kwargs", "words"),
    [
        (GANConfig(dataset="digits"), nn.Linear(2, 2), {}, "a class-conditional run"),
        (GANConfig(dataset="ring8"), NoiseG(), {}, "allowed datasets digits, mnist, fashion-mnist"),
        (DIGITS, NoiseG(), {"k": 500}, "k=500 real images per class"),
        (DIGITS, NoiseG(), {"k": 0}, "k must be an int >= 1"),
        (DIGITS, NoiseG(), {"generated_per_class": 2.5}, "generated_per_class must be an int >= 1"),
    ],
)
def test_what_cannot_be_probed_is_refused_with_what_is_needed(cfg, G, kwargs, words):
    with pytest.raises(DownstreamError, match=words):
        augmentation_probe(cfg, G, **kwargs)


def test_evaluate_run_refuses_bad_combinations_in_one_line(tmp_path, cli):
    for args, words in (
        (["--run", str(tmp_path / "nope")], "no such run folder"),
        (["--samples", "x.npy"], "--samples needs --dataset"),
        (
            ["--samples", "x.npy", "--dataset", "digits", "--checkpoint", "c.pt"],
            "--checkpoint goes with --run",
        ),
    ):
        result = cli("evaluate", *args)
        assert (
            result.returncode == 2 and words in result.stderr and len(result.stderr.strip().splitlines()) == 1
        )


def test_what_cannot_be_measured_is_said_before_a_button_offers_it():
    """The Probe page offered Measure for a conditional run on a folder of images, which then failed: no
    classifier of that data. `uses_problem` says it first, and nothing for a run that can be measured."""
    from gan_core.downstream import uses_problem

    assert uses_problem(GANConfig(dataset="digits", conditioning="acgan"), 10) is None
    unconditional = uses_problem(GANConfig(dataset="digits"), 0)
    assert unconditional.startswith("These need G's samples labelled: a class-conditional run")
    folder = uses_problem(GANConfig(dataset="folder", data_path="x", conditioning="concat"), 3)
    assert folder.startswith("These need a classifier of the data, which digits, mnist or fashion-mnist have")
    assert "'folder' has not" in folder
