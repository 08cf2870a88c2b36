"""A conditional-GAN review's findings: a sample grid's rows labelled from the classes the snapshot was made
of (saved with it), a built-in conditional run labelled the same from disk as live, Compare's grids
labelled as the Train view's, and a run described as conditional, with its classes, everywhere."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from PIL.PngImagePlugin import PngInfo
from streamlit.runtime.state.common import user_key_from_element_id
from streamlit.testing.v1 import AppTest
from torch import nn

import gan_core.track as track
from gan_core.config import GANConfig
from gan_core.data import dataset_classes, load_data
from gan_core.registry import RunRegistry
from gan_core.rundir import GRID_LABELS_CHUNK, RunDir
from gan_core.runner import Runner
from gan_core.trainer import real_view
from ui.live_chart import read_payload

APP_DIR = Path(__file__).resolve().parents[1]
TIMEOUT = 60
TINY_COND = dict(
    dataset="digits", width=16, latent_dim=8, batch_size=32, device="cpu", conditioning="projection"
)


class CondG(nn.Module):
    """G(z, labels) of 8x8 images, for 10 classes."""

    def __init__(self, nz: int = 4):
        super().__init__()
        self.embed = nn.Embedding(10, nz)
        self.out = nn.Linear(2 * nz, 64)

    def forward(self, z, labels):
        return torch.tanh(self.out(torch.cat([z, self.embed(labels)], 1))).view(-1, 1, 8, 8)


def sevens_run(root: Path, run_id: str = "sevens") -> None:
    """A tracked 10-class run whose one snapshot asks G for class 7 sixteen times (two rows of 8)."""
    run = track.init(run_id, root=root, real=torch.rand(64, 1, 8, 8) * 2 - 1, n_classes=10, steps=1)
    run.snapshot(CondG(), torch.randn(16, 4), labels=torch.full((16,), 7))
    run.finish()


def chart_figure(at: AppTest, key: str) -> dict:
    (chart,) = [c for c in at.get("bidi_component") if user_key_from_element_id(c.proto.id) == key]
    return read_payload(chart.proto.bytes)["figure"]


def row_annotations(figure: dict) -> list[str]:
    return [a["text"] for a in figure["layout"].get("annotations", []) if a.get("xref") == "x"]


# ---------------------------------------------------------------------------------------------- 1
def test_a_snapshot_keeps_its_classes_and_its_rows_are_labelled_with_them(tmp_path):
    """`snapshot(G, noise, labels=7s)` of a 10-class run was drawn with rows 0-9 over two rows of 7s,
    titled "a row per class, class 0 at the top"."""
    sevens_run(tmp_path)
    folder = RunDir.open(tmp_path, "sevens")
    ((step, path),) = folder.snapshot_steps()
    saved = folder.load_snapshot(path)
    assert saved["grid"].shape == (2 * 9 + 1, 8 * 9 + 1, 3)
    assert saved["labels"].tolist() == [7] * 16 and int(saved["columns"]) == 8
    view = RunRegistry(tmp_path).view("sevens")
    grid = view.grid_labels(view.snapshot(step)[1])
    assert grid.rows == ["7", "7"]
    assert grid.title(step) == f"G(z, class): each row's class at its left, step {step}"


def test_rows_of_mixed_classes_claim_no_class_and_an_old_snapshot_is_checked_against_the_class_grid(tmp_path):
    run = track.init("mixed", root=tmp_path, real=torch.rand(64, 1, 8, 8) * 2 - 1, n_classes=10, steps=1)
    run.snapshot(CondG(), torch.randn(16, 4), labels=torch.arange(16) % 10)
    run.finish()
    view = RunRegistry(tmp_path).view("mixed")
    step = view.snapshot_steps()[-1]
    grid = view.grid_labels(view.snapshot(step)[1])
    assert grid.rows == [] and "a row per class" not in grid.title(step)
    assert grid.title(step) == f"G(z, class): the classes asked for, step {step}"
    # snapshots from before grids kept their classes (no text chunk): the class grid's layout where the
    # picture has its rows (10 rows of 8 square tiles), none where it has not (2 rows of 8)
    old_grid = np.full((10 * 9 + 1, 8 * 9 + 1, 3), 99, np.uint8)
    assert view.grid_labels({"grid": old_grid}).rows == [str(c) for c in range(10)]
    other = view.grid_labels({"grid": old_grid[:19]})
    assert other.rows == [] and other.title(5) == "G(z, class): the classes asked for, step 5"
    # an unconditional run's grid
    track.init("plain", root=tmp_path, real=torch.rand(64, 1, 8, 8) * 2 - 1, steps=1).finish()
    plain = RunRegistry(tmp_path).view("plain").grid_labels({"grid": old_grid[:73]})
    assert plain.rows == [] and plain.title(3) == "G(z), fixed noise, step 3"


def test_a_damaged_record_of_a_grids_classes_is_no_claim(tmp_path):
    cfg = GANConfig(**TINY_COND)
    folder = RunDir.create(tmp_path, cfg, "damaged").claim("test")
    grid = np.zeros((19, 73, 3), np.uint8)
    path = folder.save_snapshot(3, {"grid": grid, "labels": np.full(16, 7), "columns": np.array(8)})
    with Image.open(path) as im:
        assert json.loads(im.info[GRID_LABELS_CHUNK]) == {"labels": [7] * 16, "columns": 8}
    for text in ("not json", '{"labels": [1, -2], "columns": 8}', '{"labels": [1], "columns": 0}', "[]"):
        image = Image.fromarray(grid)
        info = PngInfo()
        info.add_text(GRID_LABELS_CHUNK, text)
        image.save(path, pnginfo=info)
        assert set(folder.load_snapshot(path)) == {"grid"}, text
    folder.release()


def test_the_train_view_labels_a_snapshots_rows_with_its_own_classes(runs_root):
    sevens_run(runs_root)
    at = AppTest.from_file(str(APP_DIR / "dashboard.py"), default_timeout=TIMEOUT)
    at.query_params["run"] = "sevens"
    at.run()
    assert not at.exception
    figure = chart_figure(at, "chart_samples")
    assert figure["layout"]["title"]["text"] == "G(z, class): each row's class at its left, step 0"
    assert row_annotations(figure) == ["7", "7"]


# ---------------------------------------------------------------------------------------------- 2
def test_a_built_in_conditional_run_read_from_disk_names_its_classes_as_live(tmp_path):
    """A built-in conditional run opened from disk (a CLI run, a server restarted) had no row labels."""
    runner = Runner(GANConfig(**TINY_COND, steps=4, sample_every=2), tmp_path, "cond").start()
    assert runner.wait(TIMEOUT) and runner.status == "finished"
    view = RunRegistry(tmp_path).view("cond")
    assert not view.live
    assert view.grid_classes == [str(c) for c in range(10)]
    # a snapshot saved before grids kept their classes: labelled from the config's classes, as live
    assert view.grid_labels({"grid": np.zeros((91, 73, 3), np.uint8)}).rows == [str(c) for c in range(10)]
    assert dataset_classes("fashion-mnist")[:2] == ("T-shirt/top", "Trouser")
    assert dataset_classes("cifar10")[9] == "truck" and dataset_classes("ring8") is None


# ---------------------------------------------------------------------------------------------- 3
def test_compare_labels_a_conditional_grids_rows_as_the_train_view_and_names_its_step_once(runs_root):
    """Compare drew conditional grids without row labels, under "Samples at step" said twice."""
    sevens_run(runs_root)
    run = track.init("grid", root=runs_root, real=torch.rand(64, 1, 8, 8) * 2 - 1, n_classes=10, steps=1)
    run.watch(CondG(), torch.randn(8, 4))
    run.finish()
    at = AppTest.from_file(str(APP_DIR / "pages/2_Compare.py"), default_timeout=TIMEOUT).run()
    assert not at.exception
    figures = {
        user_key_from_element_id(c.proto.id): read_payload(c.proto.bytes)["figure"]
        for c in at.get("bidi_component")
    }
    order = at.multiselect(key="cmp_runs").value
    rows = {run_id: row_annotations(figures[f"cmp_samples_{i}"]) for i, run_id in enumerate(order)}
    assert rows == {"sevens": ["7", "7"], "grid": [str(c) for c in range(10)]}
    # a second snapshot step draws the slider, which names the step: the heading does not say it again
    with track.init(
        "later", root=runs_root, real=torch.rand(64, 1, 8, 8) * 2 - 1, n_classes=10, steps=2
    ) as run:
        run.watch(CondG(), torch.randn(8, 4))
        while not run.should_stop:
            run.d_step(torch.zeros(4), torch.zeros(4), d_loss=torch.tensor(1.0))
            run.g_step(torch.tensor(0.5))
    at = AppTest.from_file(str(APP_DIR / "pages/2_Compare.py"), default_timeout=TIMEOUT).run()
    assert [s.label for s in at.select_slider if s.key == "cmp_sample_step"] == ["Samples at step"]
    assert [h.value for h in at.subheader if h.value.startswith("Samples")] == ["Samples"]


# ---------------------------------------------------------------------------------------------- 4
def test_a_conditional_run_is_said_to_be_one_with_its_classes_wherever_it_is_described(runs_root, capsys):
    """An own loop's conditional run was nowhere said to be conditional (Compare's `conditioning —`, the
    status line, `python -m gan_core runs`), and the runs listing hid a built-in run's conditioning too."""
    from gan_core.__main__ import main

    sevens_run(runs_root)
    runner = Runner(GANConfig(**TINY_COND, steps=2), runs_root, "builtin").start()
    assert runner.wait(TIMEOUT) and runner.status == "finished"
    registry = RunRegistry(runs_root)
    own, builtin = registry.view("sevens"), registry.view("builtin")
    assert own.conditioning == "conditional, 10 classes"
    assert builtin.conditioning == "projection-conditional, 10 classes"
    settings = own.settings()
    assert settings["conditioning"] == "conditional, 10 classes" and settings["n_classes"] == 10
    # the Train view's status line
    at = AppTest.from_file(str(APP_DIR / "dashboard.py"), default_timeout=TIMEOUT)
    at.query_params["run"] = "sevens"
    at.run()
    (line,) = [m.value for m in at.markdown if m.value.startswith("**Status:**")]
    assert "conditional, 10 classes" in line
    # the runs listing
    main(["runs", str(runs_root)])
    listing = capsys.readouterr().out
    assert "data · model · conditioning · loss" in listing
    rows = {line.split()[0]: line for line in listing.splitlines()[1:]}
    assert "conditional, 10 classes" in rows["sevens"]
    assert "digits · mlp · projection-conditional, 10 classes · nonsaturating" in rows["builtin"]


# ---------------------------------------------------------------------------------------------- 6
@pytest.mark.parametrize(
    ("G", "raised"),
    [(CondG, "IndexError"), (lambda: nn.Sequential(nn.Linear(4, 64), nn.Tanh()), "TypeError")],
)
def test_a_g_that_fails_a_conditional_runs_call_is_told_how_the_tracker_calls_it(tmp_path, G, raised):
    """watch(G, noise) of a 10-class run whose G takes 5 classes (IndexError) or noise alone (TypeError)
    said "allowed: noise that G takes as its input"."""
    model = G()
    if isinstance(model, CondG):
        model.embed = nn.Embedding(5, 4)
    run = track.init("bad", root=tmp_path, real=torch.rand(64, 1, 8, 8) * 2 - 1, n_classes=10)
    with pytest.raises(track.TrackingError) as caught:
        run.watch(model, torch.randn(8, 4))
    message = str(caught.value)
    assert raised in message
    assert "with n_classes=10 the tracker calls G(noise, labels) with labels in 0..9" in message
    assert "init's n_classes=0 for an unconditional G" in message
    assert "allowed: noise that G takes" not in message
    run.finish()


# ---------------------------------------------------------------------------------------------- 7
def test_real_labels_as_a_numpy_integer_array_are_taken(tmp_path):
    real = torch.rand(64, 1, 8, 8) * 2 - 1
    labels = np.arange(64) % 10
    run = track.init("np", root=tmp_path, real=real, n_classes=np.int64(10), real_labels=labels)
    assert torch.equal(run._real_labels.cpu(), torch.as_tensor(labels))
    run.finish()
    with pytest.raises(track.TrackingError, match="real_labels of .* are invalid"):
        track.init("floats", root=tmp_path, real=real, n_classes=10, real_labels=labels.astype(float))


def test_resuming_a_conditional_run_without_its_classes_says_how_to_continue_it(tmp_path):
    track.init("cond10", root=tmp_path, n_classes=10).finish()
    with pytest.raises(Exception, match="pass n_classes=10 to continue it, or choose another run id"):
        track.init("cond10", root=tmp_path, resume=True)


# ---------------------------------------------------------------------------------------------- 9
def test_a_conditional_runs_real_grid_has_a_row_per_class_as_gs(runs_root):
    """A reviewer could not read row 3 of G's grid against real 3s: the real grid was 64 digits at random.
    It is laid out as G's now, a row per class of real images of that class, labelled in the Train view."""
    runner = Runner(GANConfig(**TINY_COND, steps=2, sample_every=2), runs_root, "cond").start()
    assert runner.wait(TIMEOUT) and runner.status == "finished"
    real = RunRegistry(runs_root).view("cond").real_view()  # (read back from its folder)
    assert real["labels"].tolist() == [c for c in range(10) for _ in range(8)] and int(real["columns"]) == 8
    assert real["grid"].shape == (10 * 9 + 1, 8 * 9 + 1, 3)  # 10 rows of 8 tiles, as G's grid
    # each tile is a real digit of its row's class: the same pixels as one of that class's examples
    data = load_data(GANConfig(**TINY_COND))
    examples, labels = data.examples().numpy(), np.asarray(data.labels)
    tiles = (
        torch.as_tensor(real["grid"][1:, 1:, 0]).unfold(0, 8, 9).unfold(1, 8, 9)
    )  # (10, 8, 8, 8), past the padding
    for row in (0, 3, 9):
        tile = tiles[row, 2].float().numpy()
        of_class = (examples[labels == row, 0] + 1) * 127.5
        assert np.abs(of_class - tile[None]).max(axis=(1, 2)).min() <= 1.0
    at = AppTest.from_file(str(APP_DIR / "dashboard.py"), default_timeout=TIMEOUT)
    at.query_params["run"] = "cond"
    at.run()
    assert not at.exception
    real_figure = chart_figure(at, "chart_real")
    assert row_annotations(real_figure) == [str(c) for c in range(10)]
    assert real_figure["layout"]["title"]["text"] == "real: a row per class, as G's"
    # a class missing from the examples (a rare one of a large folder, sampled): its row blank, the others
    # labelled still (its row filled with other classes' images took every row's label away)
    few = labels.copy()
    few[few == 3] = 4
    missing = real_view(data.examples(), "images", 0, torch.as_tensor(few), 10)
    assert missing["labels"].tolist() == [c for c in range(10) for _ in range(8)]
    blank = torch.as_tensor(missing["grid"][1:, 1:, 0]).unfold(0, 8, 9).unfold(1, 8, 9)[3]
    assert (blank == 0).all() and (tiles[4] > 0).any()  # row 3: black tiles; row 4 digits
    assert RunRegistry(runs_root).view("cond").grid_labels(missing).rows == [str(c) for c in range(10)]
    # an unconditional run's real grid is as before: 64 at random, no rows labelled
    runner = Runner(GANConfig(**{**TINY_COND, "conditioning": "none"}, steps=2), runs_root, "plain").start()
    assert runner.wait(TIMEOUT)
    plain = RunRegistry(runs_root).view("plain").real_view()
    assert set(plain) == {"grid"} and plain["grid"].shape == (8 * 9 + 1, 8 * 9 + 1, 3)
