"""``python -m gan_core evaluate``: files of samples with known answers, and every kind of bad file."""

import json
import math

import numpy as np
import pytest
import torch

from gan_core.config import GANConfig
from gan_core.data import load_data
from gan_core.rundir import PICKLED_DATA


def evaluate(cli, *args):
    res = cli("evaluate", *args)
    assert res.returncode == 0, res.stderr
    # nothing on stderr but `feature_rows_warning`'s line, for fewer samples than the baseline's n, and
    # what was not measured (`unmeasured_notes`)
    said = ("warning: the feature-space", "note: not measured: ")
    assert [line for line in res.stderr.splitlines() if not line.startswith(said)] == []
    return json.loads(res.stdout)  # one JSON object and nothing else


@pytest.fixture(scope="module")
def ring8_points():
    # a fresh draw, not the reference examples themselves, so the grid divergences are small but honest
    return load_data(GANConfig(dataset="ring8")).sample(2500, torch.Generator().manual_seed(7)).numpy()


@pytest.fixture(scope="module")
def digits_01():
    """The real digits as `sample` writes images: (N, 1, 8, 8) in [0, 1]."""
    return (load_data(GANConfig(dataset="digits")).examples().numpy() + 1.0) / 2.0


def test_help_lists_evaluate_and_documents_each_flag(cli):
    top = cli("--help")
    assert top.returncode == 0 and "evaluate" in top.stdout
    help_text = cli("evaluate", "--help").stdout
    for flag in ("--dataset", "--samples", "--data-path", "--image-size", "--channels"):
        assert flag in help_text
    assert "ring8" in help_text and "values in [0, 1]" in help_text


@pytest.mark.parametrize("suffix", ["csv", "npy"])
def test_real_ring8_points_cover_every_mode(tmp_path, cli, ring8_points, suffix):
    path = tmp_path / f"ring.{suffix}"
    if suffix == "csv":
        np.savetxt(path, ring8_points, delimiter=",", header="x,y", comments="", fmt="%.7g")
    else:
        np.save(path, ring8_points)
    out = evaluate(cli, "--dataset", "ring8", "--samples", str(path))
    assert out["dataset"] == "ring8" and out["n_samples"] == 2500
    assert out["modes_covered"] == 8
    assert out["hq_pct"] == pytest.approx(98.9, abs=1.5)  # P(|N(0, I)| <= 3) in 2D = 1 - e^-4.5
    assert out["mode_kl"] == pytest.approx(0.0, abs=0.01)
    assert out["grid_js"] == pytest.approx(0.0, abs=0.01) and out["grid_kl"] == pytest.approx(0.0, abs=0.05)


def test_csv_without_header_reads_the_same(tmp_path, cli, ring8_points):
    np.savetxt(tmp_path / "a.csv", ring8_points, delimiter=",", fmt="%.7g")
    np.savetxt(tmp_path / "b.csv", ring8_points, delimiter=",", header="x,y", comments="", fmt="%.7g")
    a = evaluate(cli, "--dataset", "ring8", "--samples", str(tmp_path / "a.csv"))
    assert a == evaluate(cli, "--dataset", "ring8", "--samples", str(tmp_path / "b.csv"))


def test_points_collapsed_on_one_centre(tmp_path, cli):
    noise = np.random.default_rng(0).normal(0.0, 0.02, size=(500, 2))
    np.save(tmp_path / "one.npy", np.array([2.0, 0.0]) + noise)
    out = evaluate(cli, "--dataset", "ring8", "--samples", str(tmp_path / "one.npy"))
    assert out["modes_covered"] == 1
    assert out["mode_kl"] == pytest.approx(math.log(8), abs=1e-9)
    assert out["grid_js"] == pytest.approx(0.6, abs=0.1)  # near ln 2 = 0.69: 7 of 8 modes missing


def test_grid25_real_points(tmp_path, cli):
    points = load_data(GANConfig(dataset="grid25")).sample(5000, torch.Generator().manual_seed(3)).numpy()
    np.save(tmp_path / "g.npy", points)
    out = evaluate(cli, "--dataset", "grid25", "--samples", str(tmp_path / "g.npy"))
    assert out["modes_covered"] == 25 and out["hq_pct"] == pytest.approx(98.9, abs=1.5)


@pytest.mark.parametrize("name", ["spiral", "moons", "gaussian"])
def test_other_2d_datasets_get_only_grid_divergences(tmp_path, cli, name):
    points = load_data(GANConfig(dataset=name)).sample(3000, torch.Generator().manual_seed(5)).numpy()
    np.save(tmp_path / "p.npy", points)
    out = evaluate(cli, "--dataset", name, "--samples", str(tmp_path / "p.npy"))
    assert set(out) == {"dataset", "n_samples", "grid_kl", "grid_js"}
    assert out["grid_js"] == pytest.approx(0.0, abs=0.1)


def test_user_points_need_their_csv(tmp_path, cli):
    real = np.random.default_rng(1).normal(size=(2000, 2))
    np.savetxt(tmp_path / "real.csv", real, delimiter=",")
    np.save(tmp_path / "fake.npy", np.random.default_rng(2).normal(size=(2000, 2)))
    args = ["--dataset", "points", "--samples", str(tmp_path / "fake.npy")]
    out = evaluate(cli, *args, "--data-path", str(tmp_path / "real.csv"))
    assert set(out) == {"dataset", "n_samples", "grid_kl", "grid_js"}
    assert out["grid_js"] == pytest.approx(0.0, abs=0.15)
    res = cli("evaluate", *args)
    assert res.returncode == 2 and "data_path" in res.stderr


@pytest.mark.parametrize("squeeze", [False, True], ids=["NxCxHxW", "NxHxW"])
def test_real_digits_are_diverse_and_cover_every_class(tmp_path, cli, digits_01, squeeze):
    np.save(tmp_path / "d.npy", digits_01[:, 0] if squeeze else digits_01)
    out = evaluate(cli, "--dataset", "digits", "--samples", str(tmp_path / "d.npy"))
    assert out["dataset"] == "digits" and out["n_samples"] == 1797
    assert out["diversity"] == pytest.approx(1.0, abs=0.1)
    assert out["classes_covered"] == 10 and out["class_kl"] == pytest.approx(0.0, abs=0.01)
    assert 0.95 <= out["classifier_accuracy"] <= 1.0
    # the space fd_cls is measured in is an MLP's, not the SVC's: its own accuracy, told apart
    assert 0.9 <= out["feature_network_accuracy"] < out["classifier_accuracy"]


def test_one_image_repeated_has_no_diversity(tmp_path, cli, digits_01):
    np.save(tmp_path / "same.npy", np.repeat(digits_01[:1], 200, axis=0).astype(np.float32))
    out = evaluate(cli, "--dataset", "digits", "--samples", str(tmp_path / "same.npy"))
    assert out["diversity"] == pytest.approx(0.0, abs=0.05)
    assert out["classes_covered"] == 1 and out["class_kl"] == pytest.approx(math.log(10), abs=1e-9)


def test_resized_images_with_the_run_size_and_channels(tmp_path, cli):
    real = load_data(GANConfig(dataset="digits", image_size=16, channels=3)).examples().numpy()
    np.save(tmp_path / "big.npy", (real + 1.0) / 2.0)
    args = ["--dataset", "digits", "--samples", str(tmp_path / "big.npy")]
    out = evaluate(cli, *args, "--image-size", "16", "--channels", "3")
    assert out["diversity"] == pytest.approx(1.0, abs=0.1) and out["classes_covered"] == 10
    res = cli("evaluate", *args)  # without the flags: the dataset's own 1 x 8 x 8
    assert res.returncode == 2
    assert "images are 3 x 16 x 16" in res.stderr and "--image-size and --channels" in res.stderr


def test_image_dataset_without_a_classifier_gets_diversity_only(tmp_path, cli):
    from PIL import Image

    rng = np.random.default_rng(0)
    folder = tmp_path / "imgs"
    folder.mkdir()
    for i in range(6):
        Image.fromarray(rng.integers(0, 256, (8, 8), dtype=np.uint8)).save(folder / f"{i}.png")
    np.save(tmp_path / "f.npy", rng.uniform(0, 1, size=(20, 1, 8, 8)))
    args = ["--dataset", "folder", "--data-path", str(folder), "--image-size", "8"]
    out = evaluate(cli, *args, "--samples", str(tmp_path / "f.npy"))
    assert set(out) == {"dataset", "n_samples", "diversity"}
    assert out["diversity"] == pytest.approx(1.0, abs=0.3)  # uniform noise against uniform noise
    # what was not, and what would measure it, said on stderr as the dashboard says it under its chart (a
    # review: diversity alone, without a word, where the run's page named what was missing)
    assert cli("evaluate", *args, "--samples", str(tmp_path / "f.npy")).stderr.splitlines() == [
        "note: not measured: FID, KID and Inception-space precision and recall; add --inception "
        "(Inception's weights: $GAN_DASHBOARD_INCEPTION_WEIGHTS, --inception-weights PATH, or --download "
        "to fetch them)",
        "note: not measured: the classifier-space metrics (fd_cls, kid_cls, precision_cls, ...), measured "
        "on digits, mnist, fashion-mnist only, whose classifier the dashboard trains",
    ]
    digits = cli("evaluate", "--dataset", "digits", "--samples", str(tmp_path / "f.npy"))
    assert [line for line in digits.stderr.splitlines() if line.startswith("note: ")] == [
        "note: not measured: FID, KID and Inception-space precision and recall; add --inception "
        "(Inception's weights: $GAN_DASHBOARD_INCEPTION_WEIGHTS, --inception-weights PATH, or --download "
        "to fetch them)"
    ]
    np.savetxt(tmp_path / "p.csv", rng.normal(size=(50, 2)), delimiter=",")
    assert "note:" not in cli("evaluate", "--dataset", "ring8", "--samples", str(tmp_path / "p.csv")).stderr


# ---------------------------------------------------------------------------------------------- bad input
def _save(path, array):
    np.save(path, np.asarray(array))
    return path


def _bad_files(tmp):
    """name -> (dataset, samples path, words the one-line error must contain)."""
    rng = np.random.default_rng(0)
    points = rng.normal(size=(50, 2))
    images = rng.uniform(0, 1, size=(20, 1, 8, 8))
    nan_points, nan_images, wide = points.copy(), images.copy(), images * 2 - 1
    nan_points[3, 1] = np.nan
    nan_images[2, 0, 4, 4] = np.inf
    (tmp / "bad.csv").write_text("x,y\n1,2\n3,oops\n")
    (tmp / "s.txt").write_text("1,2\n")
    (tmp / "junk.npy").write_bytes(b"not a numpy file at all")
    np.savez(tmp / "z.npz", a=points)
    (tmp / "z.npz").rename(tmp / "archive.npy")
    return {
        "missing file": ("ring8", tmp / "nope.npy", "no such file"),
        "unknown extension": ("ring8", tmp / "s.txt", "unknown format .txt; allowed .csv or .npy"),
        "no extension": ("digits", tmp / "s", "unknown format (none)"),
        "a folder": ("ring8", _folder(tmp / "dir.npy"), "not a regular file: a folder"),
        "points of 3 columns": ("ring8", _save(tmp / "p3.npy", rng.normal(size=(9, 3))), "shape 9 x 3"),
        "images for points": ("ring8", _save(tmp / "i.npy", images), "holds images of shape 20 x 1 x 8 x 8"),
        "points .npy for images": ("digits", _save(tmp / "p.npy", points), "holds 2D points (shape 50 x 2)"),
        "points .csv for images": ("mnist", tmp / "bad.csv", "a .csv holds 2D points; dataset mnist takes"),
        "NaN in points": ("ring8", _save(tmp / "n.npy", nan_points), "1 non-finite value (NaN or inf)"),
        "inf in images": ("digits", _save(tmp / "ni.npy", nan_images), "index (2, 0, 4, 4)"),
        "bad csv cell": ("ring8", tmp / "bad.csv", "column 2 has text 'oops' at row 3"),
        "images in [-1, 1]": ("digits", _save(tmp / "w.npy", wide), "allowed [0, 1]"),
        "flat images": ("digits", _save(tmp / "flat.npy", rng.uniform(size=(20, 64))), "shape 20 x 64"),
        "wrong size": ("digits", _save(tmp / "s28.npy", np.zeros((4, 28, 28))), "images are 28 x 28"),
        "wrong channels": ("digits", _save(tmp / "c3.npy", np.zeros((4, 3, 8, 8))), "takes N x 1 x 8 x 8"),
        "one image": ("digits", _save(tmp / "one.npy", images[:1]), "has 1 image; allowed 2 to"),
        "text values": (
            "ring8",
            _save(tmp / "t.npy", np.array([["a", "b"], ["c", "d"]])),
            "not real numbers",
        ),
        "not npy": ("ring8", tmp / "junk.npy", "not a .npy file (no .npy header)"),
        "empty file": ("digits", _empty(tmp / "empty.npy"), "not a .npy file"),
        "truncated npy": ("ring8", _truncated(tmp / "cut.npy"), "cannot read it"),
        "npz archive": ("ring8", tmp / "archive.npy", "an .npz archive"),
        "pickled objects": ("ring8", _pickled(tmp / "obj.npy"), f"{PICKLED_DATA}; allowed 2D points"),
    }


def _folder(path):
    path.mkdir()
    return path


def _empty(path):
    path.write_bytes(b"")
    return path


def _truncated(path):
    np.save(path, np.zeros((100, 2)))
    path.write_bytes(path.read_bytes()[:300])
    return path


def _pickled(path):
    np.save(path, np.array([{"x": 1}, None], dtype=object), allow_pickle=True)
    return path


BAD_CASES = [
    "missing file", "unknown extension", "no extension", "a folder", "points of 3 columns",
    "images for points", "points .npy for images", "points .csv for images", "NaN in points",
    "inf in images", "bad csv cell", "images in [-1, 1]", "flat images", "wrong size", "wrong channels",
    "one image", "text values", "not npy", "empty file", "truncated npy", "npz archive", "pickled objects",
]  # fmt: skip


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory):
    return _bad_files(tmp_path_factory.mktemp("bad"))


def test_every_bad_case_is_listed(bad_files):
    assert sorted(bad_files) == sorted(BAD_CASES)


@pytest.mark.parametrize("case", BAD_CASES)
def test_bad_samples_exit_2_with_one_line(cli, bad_files, case):
    dataset, path, words = bad_files[case]
    res = cli("evaluate", "--dataset", dataset, "--samples", str(path))
    assert res.returncode == 2 and res.stdout == ""
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and words in lines[0], res.stderr


@pytest.mark.parametrize(
    "args,words",
    [
        (["--channels", "2"], "channels=2 is invalid: allowed 0 (dataset's own), 1 or 3"),
        (["--image-size", "3"], "image_size=3 is invalid"),
        (["--data-path", "/nowhere"], "mnist not found under '/nowhere'"),
    ],
)
def test_bad_flags_exit_2_with_one_line(tmp_path, cli, digits_01, args, words):
    np.save(tmp_path / "d.npy", digits_01[:10])
    dataset = "mnist" if "--data-path" in args else "digits"
    res = cli("evaluate", "--dataset", dataset, "--samples", str(tmp_path / "d.npy"), *args)
    lines = res.stderr.strip().splitlines()
    assert res.returncode == 2 and len(lines) == 1 and words in lines[0], res.stderr


def test_unknown_dataset_is_refused_by_argparse(cli):
    res = cli("evaluate", "--dataset", "imagenet", "--samples", "x.npy")
    assert res.returncode == 2 and "invalid choice: 'imagenet'" in res.stderr


def test_fewer_samples_than_the_baselines_n_are_scored_with_a_warning(tmp_path, cli, digits_01):
    """50 real digits scored fd_cls 13.5 beside a baseline of 1.03 at n = 898, and recall 0.999, with
    nothing saying the two are not comparable (a reviewer's). The JSON on stdout stays one object."""
    np.save(tmp_path / "few.npy", digits_01[:50])
    res = cli("evaluate", "--dataset", "digits", "--samples", str(tmp_path / "few.npy"))
    assert res.returncode == 0, res.stderr
    got = json.loads(res.stdout)
    assert got["feature_rows"] == {"real": 898, "generated": 50}
    (warning,) = [line for line in res.stderr.splitlines() if line.startswith("warning:")]
    assert "50 generated images against 898 real" in warning and "at least 898" in warning
    np.save(tmp_path / "enough.npy", digits_01[:900])
    res = cli("evaluate", "--dataset", "digits", "--samples", str(tmp_path / "enough.npy"))
    assert res.returncode == 0 and json.loads(res.stdout)["feature_rows"]["generated"] == 898
    assert "warning:" not in res.stderr
