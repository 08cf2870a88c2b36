"""What a data folder's loader leaves out is said, wherever the run is trained or opened, and a folder a
browser names is read only inside the folders the server may read.

- Unreadable files (a truncated PNG, text named .png, an empty file) were counted only in the one tab that
  pressed Start: the command line said "loaded 20 images", and a reopened run said nothing. The note names
  the first few, is printed by the command line and is kept in the run as a ``data`` event at step 0,
  which the Train view shows for as long as the run is viewed.
- A symlinked image in a folder typed in the browser that points outside every allowed folder was read
  (and trained on); the command line (the user's own machine) still follows links.
- Files of image types the loader does not read (.gif, .tif) were passed over without a word.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Imported now, in the main thread (see tests/test_train_controls.py: CPython gh-106905).
import torch._dynamo  # noqa: F401
from PIL import Image

from gan_core.config import GANConfig
from gan_core.data import load_data
from gan_core.rundir import RunDir
from tests.test_literal import shown

APP_DIR = Path(__file__).resolve().parents[1]
UNREADABLE = "3 files that could not be read as an image were left out: 'text.png', 'trunc.png', 'zero.png'."


def write_images(root: Path, count: int = 4) -> None:
    root.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        Image.new("L", (12, 12), 40 + 40 * i).save(root / f"ok{i}.png")


def write_unreadable(root: Path) -> None:
    """A truncated PNG, text named .png and a zero-byte .png: what a copy gone wrong leaves."""
    whole = (root / "ok0.png").read_bytes()
    (root / "trunc.png").write_bytes(whole[: len(whole) // 2])
    (root / "text.png").write_text("not an image")
    (root / "zero.png").write_bytes(b"")


def folder_cfg(path: Path) -> GANConfig:
    return GANConfig(dataset="folder", data_path=str(path), image_size=8, device="cpu")


# ---------------------------------------------------------------------------------------------- unreadable
def test_the_command_line_names_the_files_left_out_and_the_run_keeps_the_note(tmp_path, cli):
    images = tmp_path / "images"
    write_images(images)
    write_unreadable(images)
    res = cli(
        "train", "--dataset", "folder", "--data-path", str(images), "--image-size", "8", "--steps", "1",
        "--device", "cpu", "--out", str(tmp_path / "runs"), "--run-id", "r", "--quiet",
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert f"warning: {UNREADABLE}\n" in res.stderr
    # kept in the run: an event at step 0, with the count and the names for programs
    (event,) = [
        e
        for e in RunDir(tmp_path / "runs" / "r", tmp_path / "runs").read_events().to_dict("records")
        if e["kind"] == "data"
    ]
    assert event["step"] == 0 and event["detail"] == UNREADABLE
    assert event["fields"] == {
        "count": 3,
        "too_large": 0,
        "names": ["text.png", "trunc.png", "zero.png"],
        "outside": 0,
        "other_types": [],
    }


def test_a_reopened_run_shows_its_left_out_note_as_text(tmp_path, runs_root, cli):
    """A command-line run opened in the dashboard: the note, from its events, as a warning; a file's
    name with Markdown in it is shown as typed."""
    from streamlit.testing.v1 import AppTest

    images = tmp_path / "images"
    write_images(images)
    (images / "**bold** [x](y).png").write_text("no image")
    res = cli(
        "train", "--dataset", "folder", "--data-path", str(images), "--image-size", "8", "--steps", "1",
        "--device", "cpu", "--out", str(runs_root), "--run-id", "cli-run", "--quiet",
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    at = AppTest.from_file(str(APP_DIR / "dashboard.py"), default_timeout=60)
    at.session_state["run_id"] = "cli-run"
    at.run()
    assert not at.exception
    notes = [shown(w.value) for w in at.warning if w.value.startswith("Data (")]
    assert notes == [
        "Data (when the run started): 1 file that could not be read as an image was left out: "
        "'**bold** [x](y).png'."
    ]
    at.run()  # and at every draw, not only once
    assert [shown(w.value) for w in at.warning if w.value.startswith("Data (")] == notes
    # resumed on the folder as it is now: what this load left out is said, the newest only
    (images / "zero.png").write_bytes(b"")
    res = cli("train", "--resume", str(runs_root / "cli-run"), "--steps", "2", "--quiet")
    assert res.returncode == 0, res.stderr
    at.run()
    assert [shown(w.value) for w in at.warning if w.value.startswith("Data (")] == [
        "Data (when the run resumed at step 1): 2 files that could not be read as an image were left out: "
        "'**bold** [x](y).png', 'zero.png'."
    ]


def test_a_folder_read_whole_names_no_file_left_out(tmp_path):
    images = tmp_path / "images"
    write_images(images)
    source = load_data(folder_cfg(images))
    assert source.skipped_note() is None and source.left_out_fields() == {}


@pytest.mark.parametrize("how", ["held", "held from the cache", "streamed"])
def test_the_names_left_out_are_the_same_however_the_folder_is_read(tmp_path, monkeypatch, how):
    images = tmp_path / "images"
    write_images(images)
    write_unreadable(images)
    (images / "more.png").write_text("no")  # four unreadable: three named, then how many more
    monkeypatch.setenv("GAN_DASHBOARD_DATA_CACHE", str(tmp_path / "cache"))
    if how == "held from the cache":
        monkeypatch.setattr("gan_core.data.CACHE_HELD_FROM", 1)
    elif how == "streamed":
        monkeypatch.setenv("GAN_DASHBOARD_DATA_BUDGET_MB", "0")
    source = load_data(folder_cfg(images))
    try:
        assert source.skipped_note() == (
            "4 files that could not be read as an image were left out: 'more.png', 'text.png', 'trunc.png' "
            "and 1 more."
        )
        assert source.subset([0, 1]).skipped_note() == source.skipped_note()  # (acgan's held-out split)
    finally:
        source.close()


# ---------------------------------------------------------------------------------------------- links
def test_a_link_out_of_the_allowed_folders_is_left_out_for_a_browsers_path_only(tmp_path):
    allowed, outside = tmp_path / "allowed", tmp_path / "outside"
    images = allowed / "images"
    write_images(images, 2)
    write_images(outside, 1)
    os.symlink(outside / "ok0.png", images / "secret.png")
    os.symlink(images / "ok1.png", images / "inside.png")  # a link within the allowed folders: read
    os.symlink(tmp_path / "gone.png", images / "dangling.png")  # leads nowhere: left out by the listing
    browser = load_data(folder_cfg(images), allowed_roots=[allowed])
    assert browser.num_examples == 3  # ok0, ok1, inside
    assert browser.skipped_note() == "1 linked file outside the allowed folders was left out."
    assert browser.left_out_fields()["outside"] == 1
    # the command line (the user's own machine): links are followed wherever they lead
    terminal = load_data(folder_cfg(images))
    assert terminal.num_examples == 4 and terminal.skipped_note() is None


def test_the_dashboard_does_not_train_on_a_link_out_of_the_allowed_folders(tmp_path, runs_root, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from ui.common import registry

    allowed, outside = tmp_path / "allowed", tmp_path / "outside"
    images = allowed / "images"
    write_images(images, 2)
    write_images(outside, 1)
    os.symlink(outside / "ok0.png", images / "secret.png")
    monkeypatch.setenv("GAN_DASHBOARD_DATA", str(allowed))
    at = AppTest.from_file(str(APP_DIR / "dashboard.py"), default_timeout=60)
    form = dict(dataset="folder", data_path=str(images), image_size=8, model="mlp", width=16, latent_dim=4)
    form.update(batch_size=4, device="cpu", steps=1, checkpoint_every=0)
    for field, value in form.items():
        at.session_state[f"cfg_{field}"] = value
    at.run()
    at.button(key="btn_start").click().run()
    assert not at.exception
    (runner,) = [registry().runner(at.session_state["run_id"])]
    assert runner.wait(60)
    (event,) = [e for e in runner.events if e["kind"] == "data"]
    assert event["fields"]["outside"] == 1
    assert event["detail"] == "1 linked file outside the allowed folders was left out."


# ---------------------------------------------------------------------------------------------- other types
def test_files_of_other_image_types_are_counted_not_passed_over(tmp_path):
    images = tmp_path / "images"
    write_images(images, 2)
    Image.new("L", (12, 12), 9).save(images / "anim.gif")
    Image.new("L", (12, 12), 9).save(images / "scan.TIF")
    (images / "README.txt").write_text("no image, and not said to be one")
    source = load_data(folder_cfg(images))
    assert source.num_examples == 2
    assert source.skipped_note() == (
        "2 files of other types (.gif, .tif) were not read (read: png, jpg, jpeg, webp, bmp)."
    )
    assert source.left_out_fields()["other_types"] == [".gif", ".tif"]


def test_the_cache_note_counts_files_with_a_thousands_separator(tmp_path, monkeypatch):
    """ "decoded 1000 files into the data cache": every other count the load says has its separator."""
    images = tmp_path / "images"
    images.mkdir()
    one = images / "0000.png"
    Image.new("L", (2, 2), 9).save(one)
    for i in range(1, 1000):
        os.link(one, images / f"{i:04d}.png")
    monkeypatch.setattr("gan_core.data.CACHE_HELD_FROM", 1)
    monkeypatch.setenv("GAN_DASHBOARD_DATA_CACHE", str(tmp_path / "cache"))
    source = load_data(folder_cfg(images))
    assert any(note.startswith("decoded 1,000 files into the data cache ") for note in source.notes)
