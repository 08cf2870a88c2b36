"""Data at scale (issue 15): images held as uint8 give the batches float32 storage gave; a folder over the
memory budget is streamed from a cache file built once, reused, rebuilt when damaged; labels, seeds,
resume and a short training run through the command line all hold on the streamed path."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from gan_core import data, image_store
from gan_core.config import GANConfig
from gan_core.data import DataError, load_data
from gan_core.image_store import StreamedSource


def float32_reference(raw: torch.Tensor, scale: float, channels: int, size: int) -> torch.Tensor:
    """How image sets were held before issue 15: the whole set converted to float32 at load, this very
    code (gan_core.data.image_source before uint8 storage)."""
    own_channels = raw.shape[1]
    chunk = raw.to(dtype=torch.float32) / scale
    if channels == 1 and own_channels == 3:
        chunk = 0.299 * chunk[:, 0:1] + 0.587 * chunk[:, 1:2] + 0.114 * chunk[:, 2:3]
    if chunk.shape[-2:] != (size, size):
        chunk = F.interpolate(chunk, size=(size, size), mode="bilinear", antialias=True)
    if channels == 3 and own_channels == 1:
        chunk = chunk.expand(-1, 3, -1, -1)
    return (chunk * 2.0 - 1.0).clamp_(-1.0, 1.0)


def _generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _write_folder(root: Path, per_class: int = 6, side: int = 20) -> None:
    """Two class folders: a/ red images of rising brightness (red > 0), b/ green ones (red 0), plus one
    gray image in a/ and one unreadable file (skipped)."""
    for i in range(per_class):
        (root / "a").mkdir(parents=True, exist_ok=True)
        (root / "b").mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (side, side + 4), (50 + 40 * i, 10, 0)).save(root / "a" / f"{i}.png")
        Image.new("RGB", (side, side), (0, 40 * i, 10)).save(root / "b" / f"{i}.png")
    Image.new("L", (side, side), 200).save(root / "a" / "gray.png")
    (root / "b" / "broken.png").write_text("not an image")


@pytest.fixture
def streamed_env(tmp_path, monkeypatch):
    """A budget of 0 bytes (every folder streams) and a cache folder of this test's own."""
    monkeypatch.setenv(data.MEMORY_BUDGET_ENV, "0")
    monkeypatch.setenv(data.CACHE_ENV, str(tmp_path / "cache"))
    return tmp_path / "cache"


# ---------------------------------------------------------------------------------------- uint8 storage
@pytest.mark.parametrize("size,channels", [(0, 0), (28, 3), (16, 1)])
def test_digits_held_as_uint8_give_the_float32_batches(size, channels):
    from sklearn.datasets import load_digits

    cfg = GANConfig(dataset="digits", image_size=size, channels=channels)
    source = load_data(cfg)
    assert source._data.dtype == torch.uint8 and source.nbytes == source._data.numel()  # 1 byte a value
    assert source.nbytes == 1797 * 8 * 8  # held at its own size, whatever size it trains at
    reference = float32_reference(
        torch.from_numpy(load_digits().images).unsqueeze(1), 16.0, channels or 1, cfg.resolved_image_size
    )
    torch.testing.assert_close(source.examples(), reference, atol=1e-6, rtol=0)
    index = torch.randint(1797, (64,), generator=_generator(5))
    torch.testing.assert_close(source.sample(64, _generator(5)), reference[index], atol=1e-6, rtol=0)
    images, labels = source.sample_labelled(64, _generator(5))
    torch.testing.assert_close(images, reference[index], atol=1e-6, rtol=0)
    assert labels.tolist() == source.labels[index].tolist()
    torch.testing.assert_close(source.take(index), reference[index], atol=1e-6, rtol=0)


@pytest.mark.parametrize("channels", [0, 1])
def test_a_folder_held_as_uint8_gives_the_float32_batches(tmp_path, channels):
    _write_folder(tmp_path)
    cfg = GANConfig(dataset="folder", data_path=str(tmp_path), image_size=16, channels=channels)
    source = load_data(cfg)
    files = [p for p in data.image_files(tmp_path) if p.name != "broken.png"]
    decoded = [data.decode_image(p, 16) for p in files]
    raw = np.stack([np.repeat(a[:, :, None], 3, axis=2) if a.ndim == 2 else a for a in decoded])
    reference = float32_reference(torch.from_numpy(raw).permute(0, 3, 1, 2), 255.0, channels or 3, 16)
    assert not source.streamed and source._data.dtype == torch.uint8
    assert source.nbytes == len(files) * 3 * 16 * 16 and source.skipped_files == 1
    torch.testing.assert_close(source.examples(), reference, atol=1e-6, rtol=0)
    index = torch.randint(len(files), (32,), generator=_generator(1))
    torch.testing.assert_close(source.sample(32, _generator(1)), reference[index], atol=1e-6, rtol=0)


def test_a_large_held_set_gives_a_fixed_sample_as_its_examples(monkeypatch):
    monkeypatch.setattr(data, "MAX_WHOLE_EXAMPLES", 1000)
    monkeypatch.setattr(data, "EXAMPLES_FOR_TOYS", 300)
    source = load_data(GANConfig(dataset="digits"))
    examples = source.examples()
    index = data.reference_index(1797)
    assert examples.shape == (300, 1, 8, 8) and len(set(index.tolist())) == 300
    torch.testing.assert_close(examples, source.take(index), atol=0, rtol=0)
    torch.testing.assert_close(source.examples(), examples, atol=0, rtol=0)  # the same sample each time
    assert source.example_labels().tolist() == source.labels[index].tolist()  # the labels of that sample


def test_whole_numbers_are_held_as_uint8_and_other_values_as_float32():
    assert data.as_uint8(torch.tensor([[0.0, 16.0]], dtype=torch.float64)).dtype == torch.uint8
    assert data.as_uint8(torch.tensor([[0, 255]], dtype=torch.int32)).dtype == torch.uint8
    assert data.as_uint8(torch.tensor([[0.5, 1.0]])).dtype == torch.float32
    assert data.as_uint8(torch.tensor([[0.0, 256.0]])).dtype == torch.float32


def test_the_memory_budget_is_read_from_the_environment(monkeypatch):
    monkeypatch.delenv(data.MEMORY_BUDGET_ENV, raising=False)
    assert data.memory_budget() == data.MEMORY_BUDGET_BYTES == 2 * 2**30
    monkeypatch.setenv(data.MEMORY_BUDGET_ENV, "1.5")
    assert data.memory_budget() == int(1.5 * 2**20)
    monkeypatch.setenv(data.MEMORY_BUDGET_ENV, "lots")
    with pytest.raises(DataError, match="GAN_DASHBOARD_DATA_BUDGET_MB='lots': need a number of MiB"):
        data.memory_budget()


# ------------------------------------------------------------------------------------ streamed folders
def test_a_folder_over_the_budget_streams_from_a_cache_built_once(tmp_path, streamed_env):
    _write_folder(tmp_path / "images")
    cfg = GANConfig(dataset="folder", data_path=str(tmp_path / "images"), image_size=16)
    reports = []
    before = image_store.decoded_files
    first = load_data(cfg, progress=lambda done, total, what: reports.append((done, total, what)))
    assert isinstance(first, StreamedSource) and first.streamed and first.nbytes == 0
    assert image_store.decoded_files - before == 14  # every file decoded once, the broken one too
    assert reports[0] == (0, 14, "decoding into the cache") and reports[-1] == (
        14,
        14,
        "decoding into the cache",
    )
    assert first.num_examples == 13 and first.skipped_files == 1 and first.sample_shape == (3, 16, 16)
    assert first.load_seconds > 0 and "decoded 14 files into the data cache" in first.notes[0]
    assert sorted(p.suffix for p in streamed_env.iterdir()) == [".json", ".lock", ".u8"]
    assert not list((tmp_path / "images").rglob("*.u8"))  # nothing written into the user's folder

    before = image_store.decoded_files
    second = load_data(cfg)
    assert image_store.decoded_files == before  # reused: nothing decoded again
    assert "reused the data cache" in second.notes[0]
    torch.testing.assert_close(second.examples(), first.examples(), atol=0, rtol=0)


def test_a_large_held_folder_is_read_from_its_cache(tmp_path, monkeypatch):
    _write_folder(tmp_path / "images")
    monkeypatch.setenv(data.CACHE_ENV, str(tmp_path / "cache"))
    cfg = GANConfig(dataset="folder", data_path=str(tmp_path / "images"), image_size=16)
    direct = load_data(cfg)
    assert not direct.notes and not list((tmp_path / "cache").glob("*"))  # a small folder: no cache
    monkeypatch.setattr(data, "CACHE_HELD_FROM", 10)
    built = load_data(cfg)
    before = image_store.decoded_files
    reused = load_data(cfg)
    assert image_store.decoded_files == before and "reused the data cache" in reused.notes[0]
    for source in (built, reused):
        assert not source.streamed and source._data.dtype == torch.uint8 and source.skipped_files == 1
        assert source.labels.tolist() == direct.labels.tolist()
        torch.testing.assert_close(source.examples(), direct.examples(), atol=0, rtol=0)


def test_streamed_examples_are_those_of_the_held_folder_and_batches_are_seeded(tmp_path, monkeypatch):
    _write_folder(tmp_path / "images")
    monkeypatch.setenv(data.CACHE_ENV, str(tmp_path / "cache"))
    cfg = GANConfig(dataset="folder", data_path=str(tmp_path / "images"), image_size=16, channels=1)
    held = load_data(cfg)
    monkeypatch.setenv(data.MEMORY_BUDGET_ENV, "0")
    streamed = load_data(cfg)
    assert streamed.streamed and not held.streamed and streamed.sample_shape == held.sample_shape
    torch.testing.assert_close(streamed.examples(), held.examples(), atol=1e-6, rtol=0)
    assert streamed.labels.tolist() == held.labels.tolist() == [0] * 7 + [1] * 6

    flat_set = held.examples().flatten(1)
    batches = [streamed.sample(16, _generator(7)) for _ in range(3)]
    for batch in batches:  # every image of a batch is one of the set's
        assert batch.shape == (16, 1, 16, 16) and batch.dtype == torch.float32
        assert (torch.cdist(batch.flatten(1), flat_set).min(dim=1).values < 1e-5).all()
    again = load_data(cfg)
    for batch in batches:  # the same seed, the same stream
        torch.testing.assert_close(again.sample(16, _generator(7)), batch, atol=0, rtol=0)
    other = load_data(cfg)
    assert not torch.equal(other.sample(16, _generator(8)), batches[0])


def test_streamed_labels_match_their_images_and_subfolders(tmp_path, streamed_env):
    _write_folder(tmp_path / "images")
    source = load_data(GANConfig(dataset="folder", data_path=str(tmp_path / "images"), image_size=16))
    assert source.class_names == ("a", "b") and source.n_classes == 2
    images, labels = source.sample_labelled(64, _generator(3))
    assert set(labels.tolist()) == {0, 1}
    no_red = images[:, 0].amax(dim=(1, 2)) == -1.0  # b/ images have no red; a/ ones (red or gray) do
    assert no_red.tolist() == (labels == 1).tolist()
    part = source.subset(torch.tensor([7, 8, 9]))  # three of b/
    assert part.streamed and part.num_examples == 3 and part.labels.tolist() == [1, 1, 1]
    torch.testing.assert_close(part.examples(), source.take([7, 8, 9]), atol=0, rtol=0)
    sub_images, sub_labels = part.sample_labelled(8, _generator(4))
    assert sub_labels.tolist() == [1] * 8 and sub_images.shape == (8, 3, 16, 16)


def test_a_streamed_sets_example_labels_are_those_of_its_examples(tmp_path, streamed_env, monkeypatch):
    """Over EXAMPLES_FOR_TOYS images the examples are a fixed sample: their labels were the whole set's,
    and a conditional run's diversity compared each class with others."""
    monkeypatch.setattr(image_store, "EXAMPLES_FOR_TOYS", 6)
    monkeypatch.setattr(data, "EXAMPLES_FOR_TOYS", 6)  # (the size of `reference_index`'s sample)
    _write_folder(tmp_path / "images")
    source = load_data(GANConfig(dataset="folder", data_path=str(tmp_path / "images"), image_size=16))
    examples, labels = source.examples(), source.example_labels()
    assert len(examples) == len(labels) == 6 < source.num_examples
    no_red = examples[:, 0].amax(dim=(1, 2)) == -1.0  # b/ images have no red
    assert no_red.tolist() == (labels == 1).tolist()


def test_a_stream_goes_on_from_its_state_and_workers_read_the_same_batches(tmp_path, streamed_env):
    _write_folder(tmp_path / "images")
    cfg = GANConfig(dataset="folder", data_path=str(tmp_path / "images"), image_size=16)
    in_process = load_data(cfg)
    in_process.workers = 0
    whole = [in_process.sample(8, _generator(11)) for _ in range(5)]
    assert in_process.stream_state() == {"seed": 11, "position": 5}

    with_workers = load_data(cfg)
    with_workers.workers = 2  # the DataLoader's worker processes read batch k as this process would
    for expected in whole[:2]:
        torch.testing.assert_close(with_workers.sample(8, _generator(11)), expected, atol=0, rtol=0)
    state = with_workers.stream_state()
    with_workers.close()

    resumed = load_data(cfg)
    resumed.workers = 0
    resumed.load_stream_state(state)
    for expected in whole[2:]:  # the generator given does not reseed a stream that goes on
        torch.testing.assert_close(resumed.sample(8, _generator(99)), expected, atol=0, rtol=0)


def test_every_rank_of_a_job_draws_its_own_stream(tmp_path, streamed_env):
    from gan_core.trainer import rank_seed

    _write_folder(tmp_path / "images")
    cfg = GANConfig(dataset="folder", data_path=str(tmp_path / "images"), image_size=16)
    ranks = [load_data(cfg) for _ in range(2)]
    for source in ranks:
        source.workers = 0
    batches = [source.sample(16, _generator(rank_seed(5, rank))) for rank, source in enumerate(ranks)]
    assert not torch.equal(batches[0], batches[1])


def test_a_resumed_trainer_goes_on_with_the_stream_as_if_never_stopped(tmp_path, streamed_env):
    from gan_core.trainer import Trainer

    _write_folder(tmp_path / "images")
    cfg = GANConfig(
        dataset="folder", data_path=str(tmp_path / "images"), image_size=16, model="mlp", width=16,
        latent_dim=4, batch_size=8, device="cpu", seed=2,
    )  # fmt: skip
    straight = Trainer(cfg, load_data(cfg))
    assert straight.data.streamed
    expected = [straight.step() for _ in range(6)]
    first = Trainer(cfg, load_data(cfg))
    for _ in range(3):
        first.step()
    state = first.state_dict()
    assert state["data_stream"] == {"seed": 2, "position": 3}
    resumed = Trainer(cfg, load_data(cfg))
    resumed.load_state_dict(state)
    for record in expected[3:]:
        got = resumed.step()
        for name in ("d_loss", "g_loss", "d_acc_real", "d_acc_fake"):
            assert got[name] == pytest.approx(record[name], rel=1e-6, abs=1e-7)


@pytest.mark.parametrize("damage", ["flip", "truncate", "record", "no-record"])
def test_a_damaged_cache_is_found_said_and_rebuilt(tmp_path, streamed_env, damage):
    _write_folder(tmp_path / "images")
    cfg = GANConfig(dataset="folder", data_path=str(tmp_path / "images"), image_size=16)
    good = load_data(cfg).examples()
    (data_file,) = streamed_env.glob("*.u8")
    record_file = data_file.with_suffix(".json")
    if damage == "flip":
        raw = bytearray(data_file.read_bytes())
        raw[len(raw) // 2] ^= 0xFF
        data_file.write_bytes(bytes(raw))
    elif damage == "truncate":  # a build killed midway, its temporary file left behind
        data_file.write_bytes(data_file.read_bytes()[:1000])
        data_file.with_name(f"{data_file.name}.99999.partial").write_bytes(b"half")
    elif damage == "record":
        record_file.write_text("{not json")
    else:
        record_file.unlink()
    before = image_store.decoded_files
    rebuilt = load_data(cfg)
    assert image_store.decoded_files - before == 14
    assert "was damaged or incomplete" in rebuilt.notes[0] and "rebuilt" in rebuilt.notes[0]
    torch.testing.assert_close(rebuilt.examples(), good, atol=0, rtol=0)
    assert json.loads(record_file.read_text())["count"] == 13
    assert not list(streamed_env.glob("*.partial"))
    before = image_store.decoded_files
    assert "reused" in load_data(cfg).notes[0] and image_store.decoded_files == before


def test_a_changed_file_makes_a_new_cache(tmp_path, streamed_env):
    _write_folder(tmp_path / "images")
    cfg = GANConfig(dataset="folder", data_path=str(tmp_path / "images"), image_size=16)
    load_data(cfg)
    Image.new("RGB", (20, 20), (255, 255, 255)).save(tmp_path / "images" / "b" / "new.png")
    source = load_data(cfg)
    assert "decoded 15 files" in source.notes[0] and source.num_examples == 14
    assert len(list(streamed_env.glob("*.u8"))) == 2


def test_a_streamed_folder_without_readable_images_is_a_data_error(tmp_path, streamed_env):
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "broken.png").write_text("no")
    cfg = GANConfig(dataset="folder", data_path=str(tmp_path / "images"), image_size=16)
    with pytest.raises(DataError, match="no images .* 1 files with such a name could not be read"):
        load_data(cfg)


# ---------------------------------------------------------------------------------------------- training
def test_a_short_run_trains_on_a_streamed_folder_from_the_command_line(tmp_path, streamed_env, cli):
    _write_folder(tmp_path / "images")
    args = ["train", "--dataset", "folder", "--data-path", str(tmp_path / "images"), "--image-size", "16",
            "--model", "mlp", "--width", "16", "--latent-dim", "4", "--batch-size", "8", "--device", "cpu",
            "--out", str(tmp_path / "runs"), "--seed", "3"]  # fmt: skip
    first = cli(*args, "--steps", "4", "--run-id", "a")
    assert first.returncode == 0, first.stderr
    assert "loaded 13 images in" in first.stderr and "streamed" in first.stderr
    assert "each one's centred square at 16 px" in first.stderr  # (a review: the crop and size unsaid)
    assert "decoding into the cache" in first.stderr  # the progress bar
    second = cli(*args, "--steps", "4", "--run-id", "b", "--quiet")
    assert second.returncode == 0, second.stderr
    rows = [(tmp_path / "runs" / run / "metrics.csv").read_text().splitlines() for run in ("a", "b")]
    assert len(rows[0]) == 5
    # one seed, one stream: the second run (from the reused cache) trains exactly as the first
    header = rows[0][0].split(",")
    keep = [i for i, name in enumerate(header) if name not in ("time_s", "samples_per_s")]
    assert [[r.split(",")[i] for i in keep] for r in rows[0]] == [
        [r.split(",")[i] for i in keep] for r in rows[1]
    ]


def test_the_dashboard_says_how_a_streamed_folder_loaded(tmp_path, streamed_env, runs_root, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from ui.common import registry

    _write_folder(tmp_path / "images")
    monkeypatch.setenv("GAN_DASHBOARD_DATA", str(tmp_path / "images"))  # a folder the dashboard may read
    at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "dashboard.py"), default_timeout=60)
    form = dict(dataset="folder", data_path=str(tmp_path / "images"), image_size=16, model="mlp", width=16)
    # open-ended: a run that ended within the click's rerun would rerun the page past the message
    form.update(latent_dim=4, batch_size=8, device="cpu", steps=0, sample_every=5, checkpoint_every=0)
    for field, value in form.items():
        at.session_state[f"cfg_{field}"] = value
    at.run()
    at.button(key="btn_start").click().run()
    assert not at.exception and not at.error
    (shown,) = [info.value for info in at.info if "Loaded 13 images in" in info.value]
    assert "streamed from its cache file" in shown and "decoded 14 files into the data cache" in shown
    # (one of the folder's 14 files is no image: left out, and said so with the run, by name)
    assert [w.value for w in at.warning if w.value.startswith("Data (")] == [
        "Data (when the run started): 1 file that could not be read as an image was left out: 'b/broken.png'."
    ]
    (runner,) = registry().active()  # it trains from the stream
    assert runner.wait_until(lambda r: len(r.store) >= 3, 60) and runner.status == "running"
    runner.stop()
    assert runner.wait(60) and runner.status == "stopped"


def test_ctrl_c_stops_a_streamed_cli_run_cleanly(tmp_path, streamed_env):
    """The terminal sends SIGINT to every process of the job, the stream's workers too: they leave it to
    the command line, which stops the run at a step boundary with a last checkpoint."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from gan_core.rundir import RunDir

    _write_folder(tmp_path / "images")
    root = tmp_path / "runs"
    args = [sys.executable, "-m", "gan_core", "train", "--dataset", "folder", "--data-path",
            str(tmp_path / "images"), "--image-size", "16", "--model", "mlp", "--width", "16", "--latent-dim",
            "4", "--batch-size", "8", "--device", "cpu", "--quiet", "--steps", "0", "--out", str(root),
            "--run-id", "r"]  # fmt: skip
    proc = subprocess.Popen(
        args, cwd=Path(__file__).resolve().parents[1], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, start_new_session=True, env={**os.environ, "OMP_NUM_THREADS": "1"},
    )  # fmt: skip
    metrics = root / "r" / "metrics.csv"
    deadline = time.monotonic() + 120
    while not (metrics.exists() and metrics.read_bytes().count(b"\n") > 3):  # a poll of the run's file
        assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read()
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGINT)  # as Ctrl-C in a terminal: the whole process group
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signal.SIGINT, err
    status = RunDir.open(root, "r").read_status()
    assert status["status"] == "stopped" and RunDir.open(root, "r").checkpoints()[-1][0] == status["step"]


def test_a_streamed_runs_workers_end_with_the_run(tmp_path, streamed_env):
    from gan_core.runner import Runner

    _write_folder(tmp_path / "images")
    cfg = GANConfig(
        dataset="folder", data_path=str(tmp_path / "images"), image_size=16, width=8, batch_size=4, steps=3
    )
    runner = Runner(cfg, tmp_path / "runs", "streamed").start()
    assert runner.wait(120) and runner.status == "finished", runner.error
    source = runner.trainer.data
    assert isinstance(source, StreamedSource) and source._batches is None  # its DataLoader let go
