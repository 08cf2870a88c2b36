"""gan_core.data: every toy's shape and statistics, points CSVs and their errors, digits, fake torchvision
files (MNIST, Fashion-MNIST, CIFAR-10), image folders, and sampling that uses only the given generator."""

import math
import os
import pickle
import struct
from pathlib import Path
from urllib.error import URLError

import numpy as np
import pytest
import torch
import torchvision.datasets.cifar
import torchvision.datasets.mnist
from PIL import Image
from sklearn.datasets import load_digits

from gan_core import data
from gan_core.config import GANConfig
from gan_core.data import DataError, DataSource, load_data

TOYS = ("ring8", "grid25", "spiral", "moons", "gaussian")


def _generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _spiral_moments() -> tuple[list[float], list[float]]:
    """Mean and std of the documented spiral by quadrature: t has density 2t on [0, 1], r = 2t, θ = 3πt."""
    t = np.linspace(0.0, 1.0, 200_001)
    density = 2 * t
    x, y = 2 * t * np.cos(3 * np.pi * t), 2 * t * np.sin(3 * np.pi * t)
    mean = [float(np.trapezoid(density * x, t)), float(np.trapezoid(density * y, t))]
    second = [float(np.trapezoid(density * v**2, t)) + 0.05**2 for v in (x, y)]
    return mean, [math.sqrt(s - m**2) for s, m in zip(second, mean)]


# ---------------------------------------------------------------------------------------------- toys
@pytest.mark.parametrize("name", TOYS)
def test_toy_batch_shape_dtype_device(name):
    source = load_data(GANConfig(dataset=name), "cpu")
    batch = source.sample(64, _generator(0))
    assert batch.shape == (64, 2) and batch.dtype == torch.float32 and batch.device.type == "cpu"
    assert source.kind == "points" and source.sample_shape == (2,) and source.name == name
    assert source.num_examples is None and source.labels is None
    assert source.device == torch.device("cpu")


@pytest.mark.parametrize("name", TOYS)
def test_toy_same_seed_same_batch_and_different_seed_different(name):
    source = load_data(GANConfig(dataset=name))
    torch.testing.assert_close(source.sample(256, _generator(7)), source.sample(256, _generator(7)))
    assert not torch.equal(source.sample(256, _generator(7)), source.sample(256, _generator(8)))


@pytest.mark.parametrize("name", (*TOYS, "digits"))
def test_sample_uses_only_the_given_generator(name):
    source = load_data(GANConfig(dataset=name))
    torch.manual_seed(1)
    global_state = torch.get_rng_state()
    first = source.sample(32, _generator(3))
    assert torch.equal(torch.get_rng_state(), global_state)  # the global generator was not touched
    torch.manual_seed(999)
    torch.testing.assert_close(source.sample(32, _generator(3)), first)


def test_ring8_centres_at_radius_two_and_angles_two_pi_k_over_eight():
    source = load_data(GANConfig(dataset="ring8"))
    centres = source.centers
    assert centres.shape == (8, 2) and centres.dtype == torch.float32 and centres.device.type == "cpu"
    torch.testing.assert_close(centres.norm(dim=1), torch.full((8,), 2.0))
    angles = torch.remainder(torch.atan2(centres[:, 1], centres[:, 0]), 2 * math.pi)
    expected = torch.arange(8, dtype=torch.float32) * (2 * math.pi / 8)
    torch.testing.assert_close(angles, expected, atol=1e-5, rtol=0)
    assert source.mode_std == pytest.approx(0.02)


def test_grid25_centres_cover_the_five_by_five_grid():
    source = load_data(GANConfig(dataset="grid25"))
    assert source.centers.shape == (25, 2) and source.mode_std == pytest.approx(0.05)
    got = {tuple(c) for c in source.centers.tolist()}
    assert got == {(float(x), float(y)) for x in (-4, -2, 0, 2, 4) for y in (-4, -2, 0, 2, 4)}


@pytest.mark.parametrize("name,modes", [("ring8", 8), ("grid25", 25)])
def test_mixture_samples_sit_near_a_centre_and_hit_every_mode_evenly(name, modes):
    source = load_data(GANConfig(dataset=name))
    batch = source.sample(8000, _generator(0))
    distance, nearest = torch.cdist(batch, source.centers).min(dim=1)
    assert distance.max().item() < 5 * source.mode_std
    share = torch.bincount(nearest, minlength=modes).float() / len(batch)
    # ring8: each mode 8%..17% around the expected 12.5%; grid25: the same relative band around 4%.
    assert share.min().item() > 0.64 / modes and share.max().item() < 1.36 / modes
    # the spread inside a mode is the documented std
    assert (batch - source.centers[nearest]).std().item() == pytest.approx(source.mode_std, rel=0.05)


_SPIRAL_MEAN, _SPIRAL_STD = _spiral_moments()


@pytest.mark.parametrize(
    "name,mean,std",
    [
        ("ring8", [0.0, 0.0], [math.sqrt(2 + 0.02**2)] * 2),  # E[(2 cos θ)²] = 2
        ("grid25", [0.0, 0.0], [math.sqrt(8 + 0.05**2)] * 2),  # mean of {16, 4, 0, 4, 16} = 8
        # both moons: x² = (cos θ - 0.5)² -> 0.75; y² = (sin θ - 0.25)² -> 0.5625 - 1/π
        ("moons", [0.0, 0.0], [math.sqrt(0.75 + 0.05**2), math.sqrt(0.5625 - 1 / math.pi + 0.05**2)]),
        ("gaussian", [1.0, 1.0], [0.5, 0.5]),
        ("spiral", _SPIRAL_MEAN, _SPIRAL_STD),
    ],
)
def test_toy_mean_and_std_match_the_documented_formula(name, mean, std):
    batch = load_data(GANConfig(dataset=name)).sample(100_000, _generator(0))
    torch.testing.assert_close(batch.mean(dim=0), torch.tensor(mean), atol=0.03, rtol=0)
    torch.testing.assert_close(batch.std(dim=0), torch.tensor(std), atol=0.02, rtol=0.02)


def test_gaussian_correlation_is_0_8():
    batch = load_data(GANConfig(dataset="gaussian")).sample(100_000, _generator(0))
    assert torch.corrcoef(batch.T)[0, 1].item() == pytest.approx(0.8, abs=0.01)


@pytest.mark.parametrize("name", TOYS)
def test_toy_examples_are_a_fixed_sample_inside_the_bounds(name):
    source = load_data(GANConfig(dataset=name))
    examples = source.examples()
    assert examples.shape == (10_000, 2) and examples.dtype == torch.float32
    # fixed: seed 1234 on the CPU, the same for a new source
    torch.testing.assert_close(examples, source.sample(10_000, _generator(1234)))
    torch.testing.assert_close(load_data(GANConfig(dataset=name)).examples(), examples)
    xmin, xmax, ymin, ymax = source.bounds
    inside = (
        (examples[:, 0] >= xmin)
        & (examples[:, 0] <= xmax)
        & (examples[:, 1] >= ymin)
        & (examples[:, 1] <= ymax)
    )
    assert inside.float().mean().item() >= 0.99


def test_to_moves_held_tensors_and_returns_self():
    source = load_data(GANConfig(dataset="ring8"), torch.device("cpu"))
    examples = source.examples()
    assert source.to("meta") is source
    assert source.device.type == "meta" and source.examples().device.type == "meta"
    assert source.centers.device.type == "cpu"  # centres stay on the CPU for plotting
    assert source.examples().shape == examples.shape


def test_a_source_needs_exactly_one_of_data_or_draw():
    with pytest.raises(ValueError, match="exactly one"):
        DataSource("x", "points", (2,))


# ---------------------------------------------------------------------------------------------- points CSV
def _points(tmp_path: Path, text: str) -> DataSource:
    path = tmp_path / "points.csv"
    path.write_text(text)
    return load_data(GANConfig(dataset="points", data_path=str(path)))


@pytest.mark.parametrize("text", ["x,y\n1,2\n3,4\n5,6\n", "1,2\n3,4\n5,6\n", "1, 2\n3, 4\n\n5 , 6\n"])
def test_points_csv_with_or_without_header(tmp_path, text):
    source = _points(tmp_path, text)
    expected = torch.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    torch.testing.assert_close(source.examples(), expected)
    assert source.num_examples == 3 and source.kind == "points" and source.sample_shape == (2,)
    assert source.centers is None and source.labels is None
    # min/max with a 10% margin of the span (4 on each axis)
    assert source.bounds == pytest.approx((0.6, 5.4, 1.6, 6.4))
    batch = source.sample(500, _generator(0))
    assert batch.shape == (500, 2) and batch.dtype == torch.float32
    matches = (batch[:, None, :] == expected[None]).all(dim=2)
    assert matches.any(dim=1).all()  # every sample is one of the rows
    assert matches.sum(dim=0).min().item() > 100  # drawn uniformly: each row about a third


@pytest.mark.parametrize(
    "text,problem",
    [
        ("1,2\n3,abc\n5,6\n", "column 2 has text 'abc' at row 2"),
        ("x,y\n1,2\nhello,4\n", "column 1 has text 'hello' at row 3"),
        ("1,2\nnan,4\n5,6\n", "column 1 has non-finite value 'nan' at row 2"),
        ("1,2\n3,inf\n5,6\n", "column 2 has non-finite value 'inf' at row 2"),
        ("1,2\n3,1e300\n", "column 2 has value '1e300', beyond float32's range (±3.4e+38) at row 2"),
        ("1,2\n3,-1e400\n", "column 2 has value '-1e400', beyond float32's range (±3.4e+38) at row 2"),
        ("1,2\n-Infinity,4\n", "column 1 has non-finite value '-Infinity' at row 2"),
        ("1,2\nx" + "7" * 4999 + ",4\n", f"column 1 has text 'x{'7' * 98}…' (5,000 characters) at row 2"),
        ("1,2\n3,\n5,6\n", "column 2 has an empty cell at row 2"),
        ("1\n2\n3\n", "it has 1 column; need"),
        ("x;y\n1;2\n3;4\n", "it has 1 column (its rows hold ';': the separator must be a comma); need"),
        ("1\t2\n3\t4\n", "it has 1 column (its rows hold a tab: the separator must be a comma); need"),
        ("1;2\t3\n4;5\t6\n", "(its rows hold ';' and a tab: the separator must be a comma)"),
        ("1,2,3\n4,5,6\n", "it has 3 columns"),
        ("1,2\n3,4,5\n", "line 2 has 3 cells, where the lines before it have 2"),
        ("", "the file is empty"),
        ("x,y\n", "it has 0 data rows"),
        ("1,2\n", "it has 1 data row"),
    ],
)
def test_points_csv_errors_name_the_path_the_problem_and_what_is_allowed(tmp_path, text, problem):
    with pytest.raises(DataError) as info:
        _points(tmp_path, text)
    message = str(info.value)
    assert str(tmp_path / "points.csv") in message
    assert problem in message
    assert "need two numeric columns x,y" in message


def test_points_csv_row_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "MAX_POINTS_ROWS", 5)
    rows = "".join(f"{i},{i}\n" for i in range(5))
    assert _points(tmp_path, "x,y\n" + rows).num_examples == 5
    assert _points(tmp_path, rows).num_examples == 5
    with pytest.raises(DataError, match="more than 5 rows.*2 to 5 rows"):
        _points(tmp_path, rows + "5,5\n")
    with pytest.raises(DataError, match="more than 5 rows"):
        _points(tmp_path, "x,y\n" + rows + "5,5\n")


def test_points_csv_missing_file_or_a_folder(tmp_path):
    missing = tmp_path / "nope.csv"
    with pytest.raises(DataError, match=f"points CSV {missing}: file not found; need two numeric"):
        load_data(GANConfig(dataset="points", data_path=str(missing)))
    with pytest.raises(
        DataError, match=f"points CSV {tmp_path}: not a regular file: a folder; need two numeric"
    ):
        load_data(GANConfig(dataset="points", data_path=str(tmp_path)))


# ---------------------------------------------------------------------------------------------- digits
@pytest.fixture(scope="module")
def digits() -> DataSource:
    return load_data(GANConfig(dataset="digits"))


def test_digits_are_sklearns_images_scaled_to_minus_one_one(digits):
    examples = digits.examples()
    assert digits.kind == "image" and digits.num_examples == 1797 and digits.sample_shape == (1, 8, 8)
    assert examples.shape == (1797, 1, 8, 8) and examples.dtype == torch.float32
    assert examples.min().item() == pytest.approx(-1.0) and examples.max().item() == pytest.approx(1.0)
    reference = load_digits()
    expected = torch.from_numpy(reference.images).float().unsqueeze(1) / 8.0 - 1.0
    torch.testing.assert_close(examples, expected)
    assert digits.labels.dtype == torch.int64 and digits.labels.shape == (1797,)
    assert digits.labels.tolist() == reference.target.tolist()
    assert set(digits.labels.tolist()) == set(range(10))
    assert digits.bounds is None and digits.centers is None


def test_digits_resized_and_as_three_channels():
    source = load_data(GANConfig(dataset="digits", image_size=28, channels=3))
    examples = source.examples()
    assert source.sample_shape == (3, 28, 28) and examples.shape == (1797, 3, 28, 28)
    assert examples.min().item() >= -1.0 and examples.max().item() <= 1.0
    torch.testing.assert_close(examples[:, 0], examples[:, 2])  # gray repeated into R, G and B
    # resizing keeps the picture: the mean brightness of each image barely moves
    native = load_data(GANConfig(dataset="digits")).examples()
    torch.testing.assert_close(examples.mean(dim=(1, 2, 3)), native.mean(dim=(1, 2, 3)), atol=0.05, rtol=0)


def test_image_batches_are_members_of_the_set_in_range_and_seeded(digits):
    batch = digits.sample(64, _generator(5))
    assert batch.shape == (64, 1, 8, 8) and batch.dtype == torch.float32
    assert batch.min().item() >= -1.0 and batch.max().item() <= 1.0
    flat_set, flat_batch = digits.examples().flatten(1), batch.flatten(1)
    assert (torch.cdist(flat_batch, flat_set).min(dim=1).values == 0).all()
    torch.testing.assert_close(digits.sample(64, _generator(5)), batch)
    assert not torch.equal(digits.sample(64, _generator(6)), batch)


def test_image_source_moves_data_and_labels():
    source = load_data(GANConfig(dataset="digits"), "cpu").to("meta")
    assert source.examples().device.type == "meta" and source.labels.device.type == "meta"


# ---------------------------------------------------------------------------------------------- torchvision
def _write_idx(path: Path, array: np.ndarray) -> None:
    """The idx format torchvision reads: magic 0x08 (uint8) and the number of dims, then big-endian sizes."""
    path.write_bytes(
        struct.pack(">I", 0x0800 | array.ndim)
        + struct.pack(f">{array.ndim}I", *array.shape)
        + array.tobytes()
    )


def _write_mnist(root: Path, folder: str, count: int = 12) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(count, 28, 28), dtype=np.uint8)
    images[0] = 0
    images[1] = 255
    labels = (np.arange(count) % 10).astype(np.uint8)
    raw = root / folder / "raw"
    raw.mkdir(parents=True)
    for split in ("train", "t10k"):  # _check_exists wants both splits
        _write_idx(raw / f"{split}-images-idx3-ubyte", images)
        _write_idx(raw / f"{split}-labels-idx1-ubyte", labels)
    return images, labels


@pytest.mark.parametrize("name,folder", [("mnist", "MNIST"), ("fashion-mnist", "FashionMNIST")])
def test_mnist_likes_load_from_torchvision_files(tmp_path, name, folder):
    images, labels = _write_mnist(tmp_path, folder)
    source = load_data(GANConfig(dataset=name, data_path=str(tmp_path)))
    assert source.sample_shape == (1, 28, 28) and source.num_examples == len(images)
    expected = torch.from_numpy(images).float().unsqueeze(1) / 127.5 - 1.0
    torch.testing.assert_close(source.examples(), expected)
    assert source.examples()[0].max().item() == -1.0 and source.examples()[1].min().item() == 1.0
    assert source.labels.dtype == torch.int64 and source.labels.tolist() == labels.tolist()


def test_mnist_resized_to_32_and_three_channels(tmp_path):
    _write_mnist(tmp_path, "MNIST")
    source = load_data(GANConfig(dataset="mnist", data_path=str(tmp_path), image_size=32, channels=3))
    assert source.sample_shape == (3, 32, 32) and source.examples().shape == (12, 3, 32, 32)
    assert source.sample(4, _generator(0)).shape == (4, 3, 32, 32)


@pytest.mark.parametrize("name", ["mnist", "fashion-mnist", "cifar10"])
def test_missing_torchvision_files_without_download(tmp_path, name):
    with pytest.raises(DataError, match=f"{name} not found under '{tmp_path}'.*download=True"):
        load_data(GANConfig(dataset=name, data_path=str(tmp_path)))


def test_missing_files_default_to_the_data_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    message = "mnist not found under 'data': place the torchvision files there"
    with pytest.raises(DataError, match=message):
        load_data(GANConfig(dataset="mnist"))


def test_download_without_network_is_a_data_error(tmp_path, monkeypatch):
    def offline(*args, **kwargs):
        raise URLError("no network")

    monkeypatch.setattr(torchvision.datasets.mnist, "download_and_extract_archive", offline)
    monkeypatch.setattr(torchvision.datasets.cifar, "download_and_extract_archive", offline)
    for name in ("mnist", "cifar10"):
        with pytest.raises(DataError, match=f"{name}: download into .* failed .*no network"):
            load_data(GANConfig(dataset=name, data_path=str(tmp_path), download=True))


def _offline_after_a_partial_file(monkeypatch) -> None:
    """torchvision's downloads fail as they do without a network, after writing part of a file (its
    folders made, as torchvision makes them)."""

    def partial(url, download_root, filename=None, md5=None, **kwargs):
        Path(download_root).mkdir(parents=True, exist_ok=True)
        (Path(download_root) / (filename or "download")).write_bytes(b"\x1f\x8b partial")
        raise URLError("no network")

    monkeypatch.setattr(torchvision.datasets.mnist, "download_and_extract_archive", partial)
    monkeypatch.setattr(torchvision.datasets.cifar, "download_and_extract_archive", partial)


def _tree(root: Path) -> dict[str, bytes | None]:
    """Every path under ``root``, relative, with a file's bytes (None for a folder)."""
    return {
        path.relative_to(root).as_posix(): None if path.is_dir() else path.read_bytes()
        for path in sorted(root.rglob("*"))
    }


@pytest.mark.parametrize("name", ["mnist", "fashion-mnist", "cifar10"])
def test_a_failed_download_into_the_default_folder_leaves_nothing_behind(tmp_path, monkeypatch, name):
    _offline_after_a_partial_file(monkeypatch)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DataError, match=f"{name}: download into 'data' failed .*no network"):
        load_data(GANConfig(dataset=name, download=True))
    assert list(tmp_path.iterdir()) == []  # no data/, no data/MNIST/raw/, no partial archive
    nested = tmp_path / "new" / "deeper" / "root"  # every folder made on the way goes too
    with pytest.raises(DataError, match="download into .* failed"):
        load_data(GANConfig(dataset=name, data_path=str(nested), download=True))
    assert list(tmp_path.iterdir()) == []


def test_a_failed_download_removes_only_what_it_wrote(tmp_path, monkeypatch):
    _offline_after_a_partial_file(monkeypatch)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "keep.csv").write_text("1,2\n")
    (tmp_path / "MNIST" / "raw").mkdir(parents=True)  # a set the user began to place by hand
    (tmp_path / "MNIST" / "raw" / "train-labels-idx1-ubyte").write_bytes(b"labels")
    (tmp_path / "cifar-10-batches-py").mkdir()
    (tmp_path / "cifar-10-batches-py" / "batches.meta").write_bytes(b"meta")
    before = _tree(tmp_path)
    for name in ("mnist", "fashion-mnist", "cifar10"):
        with pytest.raises(DataError, match="download into .* failed"):
            load_data(GANConfig(dataset=name, data_path=str(tmp_path), download=True))
        assert _tree(tmp_path) == before


def test_missing_files_say_how_to_download_them_wherever_download_is_set(tmp_path, monkeypatch):
    with pytest.raises(DataError) as missing:
        load_data(GANConfig(dataset="mnist", data_path=str(tmp_path)))
    assert str(missing.value) == (
        f"mnist not found under '{tmp_path}': place the torchvision files there (MNIST/raw/"
        "train-images-idx3-ubyte etc.), or let torchvision download them (needs a network): tick "
        "download in the dashboard's sidebar, pass --download on the command line, or set download=True"
    )
    _offline_after_a_partial_file(monkeypatch)
    with pytest.raises(DataError) as failed:
        load_data(GANConfig(dataset="cifar10", data_path=str(tmp_path), download=True))
    assert str(failed.value).endswith(
        "; check the network, or place the torchvision files there (cifar-10-batches-py/data_batch_1 "
        "etc.) and turn download off (untick download in the sidebar, pass --no-download, or set "
        "download=False)"
    )


def test_allowed_folders_are_listed_once(tmp_path):
    data_dir = tmp_path / "data"
    with pytest.raises(DataError) as refused:
        data.check_data_path("/etc/passwd", [tmp_path / "uploads", data_dir, tmp_path / "." / "data"])
    assert str(refused.value).endswith(f"allowed: a path inside {tmp_path / 'uploads'}, {data_dir}")


def test_corrupt_mnist_file_is_a_data_error(tmp_path):
    _write_mnist(tmp_path, "MNIST")
    (tmp_path / "MNIST" / "raw" / "train-images-idx3-ubyte").write_bytes(b"\x00\x00\x08\x07broken")
    with pytest.raises(DataError, match="mnist files under .* cannot be read"):
        load_data(GANConfig(dataset="mnist", data_path=str(tmp_path)))


def _write_cifar(root: Path, per_batch: int = 3) -> tuple[np.ndarray, list[int]]:
    """Pickled batches as torchvision reads them: rows of 3072 bytes (R, G, B planes of 32x32) + labels."""
    folder = root / "cifar-10-batches-py"
    folder.mkdir()
    rng = np.random.default_rng(1)
    rows, labels = [], []
    for i, name in enumerate(
        ["data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5"]
    ):
        batch = rng.integers(0, 256, size=(per_batch, 3072), dtype=np.uint8)
        batch_labels = [(i * per_batch + j) % 10 for j in range(per_batch)]
        (folder / name).write_bytes(pickle.dumps({"data": batch, "labels": batch_labels}))
        rows.append(batch)
        labels += batch_labels
    (folder / "test_batch").write_bytes(pickle.dumps({"data": rows[0], "labels": labels[:per_batch]}))
    (folder / "batches.meta").write_bytes(pickle.dumps({"label_names": [f"class{k}" for k in range(10)]}))
    return np.concatenate(rows).reshape(-1, 3, 32, 32), labels


@pytest.fixture
def fake_cifar_checksums(monkeypatch):
    # The real check compares md5s of the real files, for the batches and for batches.meta; a file that
    # exists is enough here.
    monkeypatch.setattr(
        torchvision.datasets.cifar, "check_integrity", lambda path, md5=None: os.path.isfile(path)
    )


def test_cifar10_loads_from_pickled_batches(tmp_path, fake_cifar_checksums):
    images, labels = _write_cifar(tmp_path)
    source = load_data(GANConfig(dataset="cifar10", data_path=str(tmp_path)))
    assert source.sample_shape == (3, 32, 32) and source.num_examples == 15
    torch.testing.assert_close(source.examples(), torch.from_numpy(images).float() / 127.5 - 1.0)
    assert source.labels.dtype == torch.int64 and source.labels.tolist() == labels


def test_cifar10_as_grayscale_uses_luma_weights(tmp_path, fake_cifar_checksums):
    images, _ = _write_cifar(tmp_path)
    source = load_data(GANConfig(dataset="cifar10", data_path=str(tmp_path), channels=1))
    rgb = torch.from_numpy(images).float() / 255.0
    luma = 0.299 * rgb[:, 0] + 0.587 * rgb[:, 1] + 0.114 * rgb[:, 2]
    assert source.sample_shape == (1, 32, 32)
    torch.testing.assert_close(source.examples()[:, 0], luma * 2 - 1)


# ---------------------------------------------------------------------------------------------- folder
def _folder(path: Path, **overrides) -> DataSource:
    return load_data(GANConfig(dataset="folder", data_path=str(path), **overrides))


def _save(path: Path, mode: str, size: tuple[int, int], color) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, color).save(path)


def test_flat_folder_of_mixed_images(tmp_path):
    _save(tmp_path / "a_red.png", "RGB", (40, 30), (255, 0, 0))
    _save(tmp_path / "b_gray.jpg", "L", (200, 500), 128)  # big enough for JPEG draft mode
    _save(tmp_path / "c_clear.webp", "RGBA", (64, 64), (0, 0, 0, 0))
    _save(tmp_path / "D_BLUE.PNG", "RGB", (33, 33), (0, 0, 255))  # upper-case extension counts
    (tmp_path / "e_broken.png").write_text("not an image")
    (tmp_path / "notes.txt").write_text("ignored: not an image extension")
    source = _folder(tmp_path)
    examples = source.examples()
    # any colour image makes the set RGB; the default folder size is 32
    assert source.sample_shape == (3, 32, 32) and examples.shape == (4, 3, 32, 32)
    assert source.num_examples == 4 and source.skipped_files == 1 and source.labels is None
    assert examples.min().item() >= -1.0 and examples.max().item() <= 1.0
    # sorted by path: D_BLUE.PNG, a_red, b_gray, c_clear
    mean = examples.mean(dim=(2, 3))
    torch.testing.assert_close(mean[0], torch.tensor([-1.0, -1.0, 1.0]), atol=0.01, rtol=0)
    torch.testing.assert_close(mean[1], torch.tensor([1.0, -1.0, -1.0]), atol=0.01, rtol=0)
    torch.testing.assert_close(mean[2], torch.full((3,), 128 / 127.5 - 1), atol=0.02, rtol=0)
    torch.testing.assert_close(mean[3], torch.ones(3), atol=0.01, rtol=0)  # transparent shows as white


def test_folder_of_grayscale_images_has_one_channel_and_sizes_apply(tmp_path):
    _save(tmp_path / "a.png", "L", (10, 10), 0)
    _save(tmp_path / "b.bmp", "L", (50, 20), 255)
    source = _folder(tmp_path, image_size=28)
    assert source.sample_shape == (1, 28, 28)
    assert source.examples()[0].max().item() == pytest.approx(-1.0)
    assert source.examples()[1].min().item() == pytest.approx(1.0)
    assert _folder(tmp_path, channels=3).sample_shape == (3, 32, 32)


def test_folder_images_are_centre_cropped(tmp_path):
    image = Image.new("RGB", (60, 20), (0, 0, 0))
    image.paste((255, 255, 255), (20, 0, 40, 20))  # white middle square, black sides
    image.save(tmp_path / "wide.png")
    source = _folder(tmp_path, image_size=16, channels=1)
    assert source.sample_shape == (1, 16, 16)
    assert source.examples().min().item() == pytest.approx(1.0, abs=0.01)


def test_nested_class_folders_give_labels(tmp_path):
    _save(tmp_path / "cat" / "x.png", "RGB", (32, 32), (10, 20, 30))
    _save(tmp_path / "cat" / "y.jpg", "RGB", (32, 32), (10, 20, 30))
    _save(tmp_path / "dog" / "deep" / "w.png", "RGB", (32, 32), (10, 20, 30))
    _save(tmp_path / "dog" / "z.png", "RGB", (32, 32), (10, 20, 30))
    source = _folder(tmp_path)
    assert source.num_examples == 4
    assert source.labels.dtype == torch.int64 and source.labels.tolist() == [0, 0, 1, 1]


def test_one_subfolder_or_loose_files_give_no_labels(tmp_path):
    _save(tmp_path / "only" / "x.png", "RGB", (8, 8), (0, 0, 0))
    _save(tmp_path / "only" / "y.png", "RGB", (8, 8), (0, 0, 0))
    assert _folder(tmp_path).labels is None
    _save(tmp_path / "other" / "z.png", "RGB", (8, 8), (0, 0, 0))
    _save(tmp_path / "loose.png", "RGB", (8, 8), (0, 0, 0))
    assert _folder(tmp_path).labels is None


def test_folder_errors(tmp_path):
    with pytest.raises(DataError, match=r"no images \(png, jpg, jpeg, webp, bmp\) found under"):
        _folder(tmp_path)
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8 not really")
    with pytest.raises(DataError, match="no images .* 1 files with such a name could not be read"):
        _folder(tmp_path)
    with pytest.raises(DataError, match="not found"):
        _folder(tmp_path / "missing")
    with pytest.raises(DataError, match="is not a folder"):
        _folder(tmp_path / "broken.jpg")
