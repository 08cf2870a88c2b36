"""A conditional G's samples scored from a file: `sample --labels-out` writes the class each sample was
drawn for and `evaluate --samples ... --labels` measures diversity within each class (and label_fidelity),
as the run records them. A review found `evaluate --samples` reading a G collapsed in every class (0.12
within classes, as its run said) as diverse (0.75 across the file), with no way to say the classes."""

import json

import numpy as np
import pytest

import gan_core.__main__ as cli_module
from tests.test_cli_run_ids import one_line_error, train

FORMAT = ".npy (N,) integers, or .csv of one integer column (header optional)"


@pytest.fixture
def fast_probes(monkeypatch):
    """evaluate --run without GAN-train/test and the augmentation probe (tested elsewhere; minutes)."""
    monkeypatch.setattr(cli_module, "gan_train_test", lambda *a, **k: {"skipped": True})
    monkeypatch.setattr(cli_module, "augmentation_probe", lambda *a, **k: {"skipped": True})


@pytest.mark.parametrize("suffix", [".npy", ".csv"])
def test_sample_writes_each_samples_class_in_turn_across_its_chunks(
    conditional_digits, cli, tmp_path, suffix
):
    labels = tmp_path / f"labels{suffix}"
    res = cli(
        "sample", "--run", str(conditional_digits), "--n", "1100", "--out", str(tmp_path / "s.npy"),
        "--labels-out", str(labels),
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert res.stdout.splitlines()[-1] == f"wrote their 1100 class labels to {labels}"
    got = np.load(labels) if suffix == ".npy" else np.loadtxt(labels, skiprows=1, dtype=np.int64)
    # in turn over the whole file: 1024 % 10 = 4, so the second chunk of G's draws goes on at 4, not 0
    assert got.dtype == np.int64 and got.tolist() == [i % 10 for i in range(1100)]
    if suffix == ".csv":
        assert labels.read_text().splitlines()[:3] == ["label", "0", "1"]


def test_sample_of_one_class_writes_that_class(conditional_digits, cli, tmp_path):
    res = cli(
        "sample", "--run", str(conditional_digits), "--n", "7", "--label", "3",
        "--out", str(tmp_path / "s.png"), "--labels-out", str(tmp_path / "l.npy"),
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert np.load(tmp_path / "l.npy").tolist() == [3] * 7


def test_a_file_of_samples_with_its_labels_scores_as_the_run_does(
    conditional_digits, cli, tmp_path, fast_probes
):
    """The same 1,000 draws (seed 0, classes in turn) from the file and from the run: the same diversity
    within classes and label_fidelity; without --labels, diversity across the file differs."""
    res = cli(
        "sample", "--run", str(conditional_digits), "--n", "1000", "--out", str(tmp_path / "s.npy"),
        "--labels-out", str(tmp_path / "l.csv"),
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    run = json.loads(cli("evaluate", "--run", str(conditional_digits)).stdout)
    seed = str(json.loads((conditional_digits / "config.json").read_text())["seed"])
    scored = cli(
        "evaluate", "--dataset", "digits", "--samples", str(tmp_path / "s.npy"),
        "--labels", str(tmp_path / "l.csv"), "--seed", seed,
    )  # fmt: skip
    assert scored.returncode == 0, scored.stderr
    got = json.loads(scored.stdout)
    assert got["diversity"] == pytest.approx(run["diversity"], rel=1e-4)
    assert got["label_fidelity"] == pytest.approx(run["label_fidelity"], abs=0.002)  # (a float32 round trip)
    assert got["fd_cls"] == pytest.approx(run["fd_cls"], rel=1e-3)
    across = json.loads(
        cli("evaluate", "--dataset", "digits", "--samples", str(tmp_path / "s.npy"), "--seed", seed).stdout
    )
    assert "label_fidelity" not in across
    assert abs(across["diversity"] - got["diversity"]) > 1e-3


def _labels_file(tmp_path, name, content):
    path = tmp_path / name
    if isinstance(content, np.ndarray):
        np.save(path, content)
    else:
        path.write_text(content)
    return path


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("l.npy", np.zeros(20), f"holds float64 values of shape 20; allowed {FORMAT}"),
        ("l.npy", np.zeros((20, 1), dtype=int), f"holds int64 values of shape 20 x 1; allowed {FORMAT}"),
        ("l.npy", np.zeros(19, dtype=int), "has 19 labels for 20 samples; allowed one per sample"),
        ("l.npy", np.full(20, -1), "label -1 is negative; allowed class indices 0, 1, ..."),
        ("l.csv", "label\n" + "1\n" * 10 + "1.5\n" + "1\n" * 9,
         f"line 12 holds '1.5', not one whole number; allowed {FORMAT}"),
        ("l.csv", "1,2\n" * 20, f"line 2 holds '1,2', not one whole number; allowed {FORMAT}"),
        ("l.txt", "1\n" * 20, f"unknown format .txt; allowed {FORMAT}"),
        ("l.npy", "not numpy", "cannot read it"),
    ],
)  # fmt: skip
def test_a_bad_labels_file_is_one_line_naming_what_is_allowed(tmp_path, cli, name, content, message):
    np.save(tmp_path / "s.npy", np.full((20, 1, 8, 8), 0.5, dtype=np.float32))
    path = _labels_file(tmp_path, name, content)
    res = cli("evaluate", "--dataset", "digits", "--samples", str(tmp_path / "s.npy"), "--labels", str(path))
    assert res.returncode == 2
    assert one_line_error(res).startswith(f"error: --labels {path}: {message}")


def test_labels_beyond_the_datasets_classes_are_refused(tmp_path, cli):
    np.save(tmp_path / "s.npy", np.full((20, 1, 8, 8), 0.5, dtype=np.float32))
    np.save(tmp_path / "l.npy", np.arange(20))
    res = cli(
        "evaluate",
        "--dataset",
        "digits",
        "--samples",
        str(tmp_path / "s.npy"),
        "--labels",
        str(tmp_path / "l.npy"),
    )
    assert (
        one_line_error(res)
        == "error: --labels: label 19 is out of range; dataset digits has 10 classes, 0..9"
    )


def test_labels_where_they_cannot_apply_are_refused(cli, conditional_digits, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    ring8 = train(cli, tmp_path / "runs", "ring8", steps=2)
    np.save(tmp_path / "l.npy", np.zeros(5, dtype=int))
    res = cli(
        "sample", "--run", str(ring8), "--n", "5", "--out", "s.csv", "--labels-out", str(tmp_path / "l2.npy")
    )
    assert one_line_error(res).startswith(
        f"error: --labels-out {tmp_path / 'l2.npy'}: {ring8.resolve()} is not class-conditional"
    )
    assert not (tmp_path / "l2.npy").exists() and not (tmp_path / "s.csv").exists()
    res = cli("evaluate", "--run", str(conditional_digits), "--labels", str(tmp_path / "l.npy"))
    assert one_line_error(res).startswith("error: --labels goes with --samples;")
    np.savetxt(tmp_path / "p.csv", np.zeros((5, 2)), delimiter=",")
    res = cli(
        "evaluate",
        "--dataset",
        "ring8",
        "--samples",
        str(tmp_path / "p.csv"),
        "--labels",
        str(tmp_path / "l.npy"),
    )
    assert one_line_error(res) == "error: --labels: dataset ring8 holds 2D points, which have no classes"


def test_labels_out_is_refused_inside_a_run_folder_and_on_the_samples_file(conditional_digits, cli, tmp_path):
    inside = conditional_digits / "labels.npy"
    res = cli(
        "sample",
        "--run",
        str(conditional_digits),
        "--n",
        "5",
        "--out",
        str(tmp_path / "s.npy"),
        "--labels-out",
        str(inside),
    )
    assert one_line_error(res).startswith(f"error: --labels-out {inside}: inside the folder of run 'cd'")
    assert not inside.exists()
    same = tmp_path / "s.npy"
    res = cli(
        "sample", "--run", str(conditional_digits), "--n", "5", "--out", str(same), "--labels-out", str(same)
    )
    assert (
        one_line_error(res)
        == f"error: --labels-out {same} is --out's file: give the labels a file of their own"
    )
