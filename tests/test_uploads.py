"""Uploaded data (runs folder/.uploads): which runs use each upload, and removing those no run uses, from
`gan_core.uploads` and from the Runs page."""

from __future__ import annotations

import os
import shutil
import types
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from gan_core import uploads
from gan_core.config import GANConfig
from gan_core.export import save_points_upload
from gan_core.runner import Runner
from gan_core.uploads import UploadsError, delete_upload, list_uploads, upload_of, uploads_root
from ui.sidebar import FORM_KEY

APP_DIR = Path(__file__).resolve().parents[1]
TIMEOUT = 60


def points_csv(n: int = 300, seed: int = 0) -> bytes:
    xy = np.random.default_rng(seed).normal(size=(n, 2))
    return ("x,y\n" + "".join(f"{x:.4f},{y:.4f}\n" for x, y in xy)).encode()


def trained_on(root: Path, run_id: str, data_path: Path) -> None:
    cfg = GANConfig(
        dataset="points", data_path=str(data_path), width=16, latent_dim=4, batch_size=16, steps=5,
        device="cpu", checkpoint_every=0, sample_every=5,
    )  # fmt: skip
    runner = Runner(cfg, root, run_id).start()
    assert runner.wait(TIMEOUT) and runner.status == "finished"


@pytest.fixture
def root(tmp_path):
    return tmp_path / "runs"


def test_an_upload_a_run_trained_on_is_used_and_kept(root):
    used = save_points_upload(points_csv(), "ring.csv", uploads_root(root))
    spare = save_points_upload(points_csv(seed=1), "other.csv", uploads_root(root))
    trained_on(root, "on-ring", used)
    listed = {u.name: u for u in list_uploads(root)}
    assert set(listed) == {used.parent.name, spare.parent.name}
    assert listed[used.parent.name].used_by == ("on-ring",) and listed[spare.parent.name].used_by == ()
    upload = listed[spare.parent.name]
    assert (upload.kind, upload.files) == ("points CSV", 1)
    assert upload.size_bytes == len(points_csv(seed=1))
    with pytest.raises(UploadsError) as refused:
        delete_upload(root, used.parent.name)
    assert str(refused.value) == (
        f"upload '{used.parent.name}' is used by run on-ring: they load it again to resume or branch; "
        "delete those runs first"
    )
    assert used.exists()
    assert delete_upload(root, spare.parent.name) == len(points_csv(seed=1))
    assert not spare.parent.exists() and [u.name for u in list_uploads(root)] == [used.parent.name]


def test_a_run_whose_config_cannot_be_read_keeps_every_upload(root):
    kept = save_points_upload(points_csv(), "a.csv", uploads_root(root))
    (root / "broken").mkdir()
    os.mkfifo(root / "broken" / "config.json")  # never read: it might name the upload
    (upload,) = list_uploads(root)
    assert upload.used_by == ("broken",)
    with pytest.raises(UploadsError, match="is used by run broken"):
        delete_upload(root, kept.parent.name)


def test_the_data_the_form_uses_is_kept(root):
    path = save_points_upload(points_csv(), "a.csv", uploads_root(root))
    assert upload_of(root, path) == path.parent.name
    assert upload_of(root, root / "elsewhere.csv") is None and upload_of(root, "") is None
    with pytest.raises(UploadsError) as refused:
        delete_upload(root, path.parent.name, keep=[str(path)])
    assert "is the data the sidebar's form uses now" in str(refused.value) and path.exists()


@pytest.mark.parametrize("name", ["..", ".", "a/b", "", "../runs"])
def test_a_name_that_is_no_upload_folder_is_refused(root, name):
    save_points_upload(points_csv(), "a.csv", uploads_root(root))
    with pytest.raises(UploadsError, match="is not an upload: give a folder name under"):
        delete_upload(root, name)
    assert len(list_uploads(root)) == 1


def test_a_file_a_link_or_a_missing_name_is_refused(root, tmp_path):
    path = save_points_upload(points_csv(), "a.csv", uploads_root(root))
    (uploads_root(root) / "note.txt").write_text("x")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.csv").write_text("x,y\n")
    (uploads_root(root) / "link").symlink_to(outside)
    for name in ("note.txt", "link"):
        with pytest.raises(UploadsError, match="is not an upload folder"):
            delete_upload(root, name)
    with pytest.raises(UploadsError, match="does not exist"):
        delete_upload(root, "gone-1234")
    assert (outside / "keep.csv").exists() and (uploads_root(root) / "note.txt").exists()
    assert [u.name for u in list_uploads(root)] == [path.parent.name]  # the file and the link: no uploads


def test_no_uploads_folder_lists_nothing(root):
    assert list_uploads(root) == []


def test_the_runs_page_lists_uploads_and_removes_the_unused(runs_root):
    used = save_points_upload(points_csv(), "ring.csv", uploads_root(runs_root))
    spare = save_points_upload(points_csv(seed=1), "spare.csv", uploads_root(runs_root))
    trained_on(runs_root, "on-ring", used)
    at = AppTest.from_file(str(APP_DIR / "pages/1_Runs.py"), default_timeout=TIMEOUT).run()
    assert not at.exception
    (expander,) = [e for e in at.expander if e.label.startswith("Uploaded data")]
    assert expander.label.startswith("Uploaded data (2, ") and expander.label.endswith("1 used by no run)")
    (table,) = [d.value for d in at.dataframe if "upload" in d.value.columns]
    assert dict(zip(table["upload"], table["used_by"])) == {
        used.parent.name: "on-ring",
        spare.parent.name: "",
    }
    # only the unused one is offered
    chosen = at.multiselect(key="runs_uploads_chosen")
    assert chosen.options == [spare.parent.name] and chosen.value == []  # none chosen for the user
    assert at.button(key="runs_uploads_remove").disabled
    chosen.set_value([spare.parent.name]).run()
    at.button(key="runs_uploads_remove").click().run()
    assert not at.exception and not spare.parent.exists() and used.exists()
    assert [s.value for s in at.success] == [
        f"Removed 1 upload ({len(points_csv(seed=1)) / 1e3:.1f} kB freed)."
    ]
    assert [e.label for e in at.expander if e.label.startswith("Uploaded data")] == [
        f"Uploaded data (1, {len(points_csv()) / 1e3:.1f} kB; 0 used by no run)"
    ]


def test_the_runs_page_keeps_the_upload_the_form_uses(runs_root):
    path = save_points_upload(points_csv(), "mine.csv", uploads_root(runs_root))
    at = AppTest.from_file(str(APP_DIR / "pages/1_Runs.py"), default_timeout=TIMEOUT)
    at.session_state[FORM_KEY] = {**GANConfig().to_dict(), "data_path": str(path)}
    at.run()
    assert not at.exception
    assert any(
        f"Kept: {path.parent.name} is the data the sidebar's form uses now" in c.value for c in at.caption
    )
    assert not [m for m in at.multiselect if m.key == "runs_uploads_chosen"]


def test_a_hand_renamed_run_folder_keeps_its_upload(root):
    """A run folder renamed to a name no run id may have ("my run (copy)": no page lists it) still needs
    its data: its upload is used."""
    path = save_points_upload(points_csv(), "a.csv", uploads_root(root))
    trained_on(root, "first", path)
    (root / "first").rename(root / "my run (copy)")
    (upload,) = list_uploads(root)
    assert upload.used_by == ("my run (copy)",)
    with pytest.raises(UploadsError, match=r"is used by run my run \(copy\)"):
        delete_upload(root, path.parent.name)
    assert path.exists()


def test_an_upload_removed_meanwhile_is_said_to_be(root, monkeypatch):
    """Two tabs (or one click delivered twice) remove one upload: the second is told, not an OSError."""
    path = save_points_upload(points_csv(), "a.csv", uploads_root(root))

    def removed_by_another(folder: Path) -> None:
        shutil.rmtree(folder)  # the other's removal, just before this one's
        shutil.rmtree(folder)

    monkeypatch.setattr(uploads, "shutil", types.SimpleNamespace(rmtree=removed_by_another))
    with pytest.raises(UploadsError) as refused:
        delete_upload(root, path.parent.name)
    assert str(refused.value) == f"upload '{path.parent.name}' does not exist (removed already?)"
