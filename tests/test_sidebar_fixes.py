"""The sidebar's form as a user met its rough edges, through `AppTest`: a preset the server refuses leaves
the form as it was (and offers no Apply to the run the page watches); a dataset without its data says so
beside Start and under data_path; an uploaded CSV is read when it arrives, by the reader a run uses, and a
bad one is refused then, with data_path left as it was.

Uploads go through the sidebar's own code with `st.file_uploader` stood in for (AppTest cannot upload a
file), as in tests/test_hostile.py. Each test gets its own runs folder, hence its own registry.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import streamlit as st

# Imported now, in the main thread (see tests/test_train_controls.py: CPython gh-106905).
import torch._dynamo  # noqa: F401
from streamlit.testing.v1 import AppTest

from gan_core.config import GANConfig
from gan_core.presets import get_preset
from gan_core.runner import Runner
from tests.test_hostile import Upload, png_bytes
from tests.test_literal import shown
from ui.common import data_roots, registry
from ui.sidebar import FIELDS, REFUSED_KEY, SHOWN_PATH_LIMIT

APP_DIR = Path(__file__).resolve().parents[1]
TIMEOUT = 60
TINY = dict(dataset="ring8", width=16, latent_dim=4, batch_size=16, device="cpu", steps=0, checkpoint_every=0)
CSV_ALLOWED = "need two numeric columns x,y (a header row is optional), 2 to 500000 rows of finite numbers"


def app(**form) -> AppTest:
    at = AppTest.from_file(str(APP_DIR / "dashboard.py"), default_timeout=TIMEOUT)
    for name, value in form.items():
        at.session_state[f"cfg_{name}"] = value
    return at


def form(at: AppTest) -> dict:
    return {name: at.session_state[f"cfg_{name}"] for name in FIELDS}


def watched(at: AppTest) -> str | None:
    return at.session_state["run_id"] if "run_id" in at.session_state else None  # noqa: SIM401


def paused_run(**overrides) -> Runner:
    """A run training in this server (its registry), paused at step 2."""
    runner = registry().start(GANConfig(**{**TINY, **overrides}), paused=True)
    runner.run_to(2)
    assert runner.wait_until(lambda r: r.status == "paused" and r.current_step == 2, TIMEOUT)
    return runner


def errors(at, where=None) -> list[str]:
    """The errors of the page (or of block ``where``) as a reader sees them (`literal`'s code spans)."""
    return [shown(e.value) for e in (where or at).error]


def data_expander(at: AppTest):
    (data,) = [e for e in at.sidebar.expander if e.label == "Data"]
    return data


def start_notes(at: AppTest) -> list[str]:
    """The captions of the main area (beside the controls), not the sidebar's, nor the healthy preset a 2D
    dataset's form names (TINY's ring8: tests/test_play2d.py tests it)."""
    return [c.value for c in at.main.caption if not c.value.startswith("For a healthy ")]


def uploading(monkeypatch, dataset: str, name: str, text: str) -> None:
    """From now on the sidebar's uploader for ``dataset`` holds file ``name`` with ``text``."""
    upload = Upload(name, text.encode())
    monkeypatch.setattr(
        st, "file_uploader", lambda *args, key=None, **kwargs: upload if key == f"upload_{dataset}" else None
    )


def uploads(root: Path) -> list[Path]:
    folder = root / ".uploads"
    return sorted(folder.iterdir()) if folder.is_dir() else []


# ---------------------------------------------------------------------------------------------- presets
def test_a_refused_preset_leaves_the_form_as_it_was_and_offers_no_apply(runs_root, monkeypatch):
    monkeypatch.setenv("GAN_DASHBOARD_MAX_RUNS", "2")
    first = paused_run()
    second = paused_run(seed=1, lr_g=5e-4)
    at = app().run()
    assert watched(at) == second.run_id and not at.exception  # the newest run, its settings in the form
    before = form(at)
    assert before["lr_g"] == 5e-4 and before["seed"] == 1
    preset = get_preset("g-outruns")
    at.button(key="preset_g-outruns").click().run()
    assert not at.exception
    (error,) = errors(at)
    assert error.startswith(f"Preset “{preset.title}” was not started (the form is as it was): ")
    assert "2 runs are already training" in error
    assert form(at) == before
    assert {b.key for b in at.button if b.key} >= {"btn_start", "btn_pause"}
    assert "btn_apply" not in {b.key for b in at.button}
    assert not [c for c in at.caption if c.value.startswith(("Preset:", "Changed in the sidebar"))]
    assert watched(at) == second.run_id
    assert sorted(r.run_id for r in registry().active()) == sorted((first.run_id, second.run_id))
    # and once a slot is free, the same button starts the preset, which the form then shows
    first.stop()
    assert first.wait(TIMEOUT)
    at.button(key="preset_g-outruns").click().run()
    assert not at.exception and not at.error
    started = registry().runner(watched(at))
    assert started.run_id not in (first.run_id, second.run_id) and started.cfg == preset.config()
    assert {name: at.session_state[f"cfg_{name}"] for name in preset.overrides} == dict(preset.overrides)
    assert [c.value for c in at.sidebar.caption if c.value.startswith("Preset:")] == [
        f"Preset: **{preset.title}**. Watch for: {preset.watch_for}"
    ]
    assert "btn_apply" not in {b.key for b in at.button}  # the form holds the new run's own settings
    started.stop()
    assert started.wait(TIMEOUT)


# ---------------------------------------------------------------------------------------------- data_path
def test_points_without_data_says_why_beside_start_and_under_data_path(runs_root):
    at = app(**{**TINY, "dataset": "points", "data_path": ""}).run()
    assert not at.exception
    assert at.button(key="btn_start").disabled
    assert start_notes(at) == [
        "Start needs the points data: upload a CSV of 2D points (x,y) in the sidebar (Data), or enter "
        "its path in data_path."
    ]
    # that message only: no red "data_path='' is invalid" before the user has typed anything
    assert errors(at) == []
    at.session_state["cfg_dataset"] = "folder"
    at.run()
    assert start_notes(at) == [
        "Start needs the folder data: upload a ZIP of images (png, jpg, webp, bmp) in the sidebar (Data), "
        "or enter its path in data_path."
    ]
    at.session_state["cfg_dataset"] = "ring8"  # data of its own: Start is on, nothing to say
    at.run()
    assert not at.button(key="btn_start").disabled and not at.error and start_notes(at) == []


def test_a_data_path_outside_the_allowed_folders_is_shown_at_data_path(runs_root):
    at = app(**{**TINY, "dataset": "points", "data_path": "/etc/passwd"}).run()
    (error,) = errors(at)
    assert errors(at, data_expander(at)) == [error]
    assert "is outside the folders data may be read from" in error
    # each allowed folder once (the app's data/ and the working folder's are one folder here)
    allowed = error.split("allowed: a path inside ", 1)[1].split(" (upload the data", 1)[0].split(", ")
    assert len(allowed) == len(set(allowed)) >= 2
    assert at.button(key="btn_start").disabled
    assert start_notes(at) == [
        "Start needs a data_path inside the folders data may be read from: see the message under "
        "data_path in the sidebar (Data)."
    ]


def test_another_form_error_is_named_beside_start(runs_root):
    at = app(**{**TINY, "dataset": "digits", "model": "dcgan", "image_size": 48}).run()
    (error,) = errors(at)
    assert at.button(key="btn_start").disabled
    assert start_notes(at) == ["Start needs a valid image_size: see the message in the sidebar."]
    assert "image_size" in error


# ---------------------------------------------------------------------------------------------- uploads
def test_a_bad_csv_is_refused_when_it_is_uploaded(runs_root, monkeypatch):
    uploading(monkeypatch, "points", "bad.csv", "x,y\n1,2\nfoo,3\nnan,4\n")
    at = app(**{**TINY, "dataset": "points"}).run()
    assert not at.exception and not at.success
    # the reader a run uses, naming the file the user sent (not the server's copy, which is gone)
    assert errors(at) == [f"points CSV bad.csv: column 1 has text 'foo' at row 3; {CSV_ALLOWED}"]
    assert at.session_state["cfg_data_path"] == "" and uploads(runs_root) == []
    assert at.button(key="btn_start").disabled
    refused = (
        "Start needs the points data: the uploaded file was refused (the sidebar's Data says why). "
        "Upload a CSV of 2D points (x,y), or enter its path in data_path."
    )
    assert start_notes(at) == [refused]  # not "upload a CSV", as if none had been
    at.run()  # a rerun neither reads the file again nor says it twice
    assert errors(at) == [f"points CSV bad.csv: column 1 has text 'foo' at row 3; {CSV_ALLOWED}"]
    assert start_notes(at) == [refused]
    assert uploads(runs_root) == []
    # a good file is taken; a bad one after it leaves data_path on the good one
    uploading(monkeypatch, "points", "good.csv", "x,y\n1,2\n3,4\n5,6\n")
    at.run()
    (folder,) = uploads(runs_root)
    good = str(folder / "points.csv")
    assert at.session_state["cfg_data_path"] == good and not at.error
    assert [shown(s.value) for s in at.success] == [f"Uploaded good.csv: data_path set to {good}"]
    assert not at.button(key="btn_start").disabled
    uploading(monkeypatch, "points", "worse.csv", "1,2\n3,nan\n")
    at.run()
    # the refusal says, in the same message, which data Start goes on training on
    still = (
        "Still using the earlier upload good.csv: Start trains on it. "
        "Upload a file that passes to replace it."
    )
    worse = f"points CSV worse.csv: column 2 has non-finite value 'nan' at row 2; {CSV_ALLOWED}"
    assert errors(at) == [f"{worse}\n\n{still}"]
    assert at.session_state["cfg_data_path"] == good and uploads(runs_root) == [folder]
    assert not at.button(key="btn_start").disabled
    at.run()  # said again at a rerun, as long as the refused file is in the uploader
    assert errors(at) == [f"{worse}\n\n{still}"]


def allowed_folder(tmp_path: Path, monkeypatch) -> Path:
    """A folder the dashboard may read (GAN_DASHBOARD_DATA), holding pics/ with one PNG and good.csv."""
    monkeypatch.setenv("GAN_DASHBOARD_DATA", str(tmp_path / "allowed"))
    (tmp_path / "allowed" / "pics").mkdir(parents=True)
    (tmp_path / "allowed" / "pics" / "a.png").write_bytes(png_bytes())
    (tmp_path / "allowed" / "good.csv").write_text("x,y\n1,2\n3,4\n")
    return tmp_path / "allowed"


def test_a_refused_zip_says_the_data_path_typed_is_still_used(runs_root, monkeypatch, tmp_path):
    """With no earlier upload, the data still in use is the path typed in data_path; with none, the
    refusal says only what is wrong, and Start says what it needs."""
    pics = str(allowed_folder(tmp_path, monkeypatch) / "pics")
    uploading(monkeypatch, "folder", "pics.zip", "not a zip archive")
    at = app(**{**TINY, "dataset": "folder", "data_path": pics}).run()
    assert not at.exception
    (refusal,) = [e for e in errors(at, data_expander(at)) if "pics.zip" in e]
    message, still = refusal.split("\n\n")
    assert message.startswith("pics.zip: ")  # (what is wrong with it: the loader's own words)
    assert still == (
        f"Still using data_path {pics!r}: Start trains on it. Upload a file that passes to replace it."
    )
    assert not at.button(key="btn_start").disabled
    at.session_state["cfg_data_path"] = ""
    at.run()
    (refusal,) = [e for e in errors(at, data_expander(at)) if "pics.zip" in e]
    assert refusal == message and at.button(key="btn_start").disabled
    assert start_notes(at) == [
        "Start needs the folder data: the uploaded file was refused (the sidebar's Data says why). Upload a "
        "ZIP of images (png, jpg, webp, bmp), or enter its path in data_path."
    ]


def test_each_number_says_its_allowed_range_in_its_help(runs_root):
    """The range the config allows is in the help beside each number field (tests/test_number_ranges.py
    checks every field's against GANConfig)."""
    at = app().run()
    assert not at.exception
    lr_d = at.sidebar.number_input(key="cfg_lr_d")
    assert lr_d.help == (
        "discriminator Adam learning rate; allowed a number in (0.0, 1.0]. Can change while a run trains."
    )
    batch = at.sidebar.number_input(key="cfg_batch_size")  # said once
    assert batch.help == "samples per batch; allowed a number in [1, 4096]."


@pytest.mark.parametrize(
    ("name", "value"), [("lr_g", 5.0), ("lr_d", -1.0), ("batch_size", 0), ("d_steps", 3000)]
)
def test_a_number_typed_outside_its_range_is_refused_and_start_says_why(runs_root, name, value):
    """Streamlit kept the last value within an input's bounds and outlined the typed one in red: Start
    trained with lr_g 3e-4 while the field read 5, and said nothing."""
    at = app().run()
    at.sidebar.number_input(key=f"cfg_{name}").set_value(value).run()
    assert not at.exception
    assert at.session_state[f"cfg_{name}"] == value  # the form holds what was typed
    (error,) = errors(at)
    assert error.startswith(f"{name}=") and "allowed" in error.lower()
    assert at.button(key="btn_start").disabled
    assert any(f"Start needs a valid {name}" in c.value for c in at.caption)
    at.sidebar.number_input(key=f"cfg_{name}").set_value(getattr(GANConfig(), name)).run()
    assert errors(at) == [] and not at.button(key="btn_start").disabled


def test_a_number_the_browser_would_not_send_is_said_and_nothing_starts_with_the_old_one(runs_root):
    """A number typed beyond what a browser's number field holds (steps = 10**16 + 1: past 2**53) is never
    sent: Streamlit outlines the field in red and keeps the form's last value, and Start trained that
    value without a word. The sidebar's watcher element reports the fields the browser refused (as it
    does in tests/e2e/test_hostile_browser.py); here its report is set as the browser sends it."""
    at = app(**TINY).run()
    assert not at.button(key="btn_start").disabled and not at.error
    # Typed, then Start clicked at once: the click's callback still holds the config of the last draw,
    # and the browser's report arrives with the click.
    at.session_state[REFUSED_KEY] = {"refused": ["steps"]}
    at.button(key="btn_start").click().run()
    assert not at.exception and watched(at) is None and registry().active() == []
    refused = (
        "steps: the number typed is beyond what a number field can hold, so the browser did not send it "
        "(the field is outlined in red) and the form still holds steps=0. Allowed: a number in "
        "[0, 1000000000]."
    )
    assert [shown(e.value) for e in at.main.error] == [f"Not started: {refused}"]
    assert errors(at, at.sidebar) == [refused]
    assert at.button(key="btn_start").disabled
    assert start_notes(at) == ["Start needs a valid steps: see the message in the sidebar."]
    at.session_state[REFUSED_KEY] = {"refused": []}  # the field corrected: the browser says so
    at.run()
    assert not at.error and not at.button(key="btn_start").disabled and start_notes(at) == []


def test_a_number_the_browser_would_not_send_over_an_invalid_one_is_said_not_the_old_error(runs_root):
    """batch_size 0 typed (refused by the config), then 99999999999999999999999 over it (never sent by
    the browser): the field showed the long number outlined in red while the only message still said
    "batch_size=0 is invalid". The message says what the field shows now, and the value the form holds."""
    at = app(**TINY).run()
    at.sidebar.number_input(key="cfg_batch_size").set_value(0).run()
    (error,) = errors(at, at.sidebar)
    assert error.startswith("batch_size=0 is invalid")
    at.session_state[REFUSED_KEY] = {"refused": ["batch_size"]}  # the long number typed over it
    at.run()
    assert not at.exception
    assert errors(at, at.sidebar) == [
        "batch_size: the number typed is beyond what a number field can hold, so the browser did not send "
        "it (the field is outlined in red) and the form still holds batch_size=0. Allowed: a number in "
        "[1, 4096]."
    ]
    assert at.button(key="btn_start").disabled
    assert start_notes(at) == ["Start needs a valid batch_size: see the message in the sidebar."]
    # another field's error is said once the number is corrected
    at.sidebar.number_input(key="cfg_lr_g").set_value(5.0).run()
    assert [e.split(":")[0] for e in errors(at, at.sidebar)] == ["batch_size"]
    at.session_state[REFUSED_KEY] = {"refused": []}
    at.sidebar.number_input(key="cfg_batch_size").set_value(64).run()
    (error,) = errors(at, at.sidebar)
    assert error.startswith("lr_g=5.0 is invalid")


@pytest.mark.parametrize(
    ("dataset", "name", "text"),
    [("points", "bad.csv", "x,y\n1,2\nfoo,3\n"), ("folder", "pics.zip", "no zip")],
)
def test_an_upload_refused_beside_a_refused_data_path_says_no_data_is_usable(
    runs_root, monkeypatch, tmp_path, dataset, name, text
):
    """A data_path outside the folders data may be read from, then a bad file uploaded: the refusal said
    "Still using data_path …: Start trains on it" while Start was off for that very path."""
    allowed = allowed_folder(tmp_path, monkeypatch)
    typed = "**bold** <img src=x onerror=alert(1)>"
    uploading(monkeypatch, dataset, name, text)
    at = app(**{**TINY, "dataset": dataset, "data_path": typed}).run()
    assert not at.exception
    (refusal,) = [e for e in errors(at, data_expander(at)) if name in e]
    message, instead = refusal.split("\n\n")
    assert message.startswith(f"{dataset} CSV {name}: " if dataset == "points" else f"{name}: ")
    roots = ", ".join(dict.fromkeys(str(Path(root).resolve()) for root in data_roots()))
    assert instead == (
        f"No data is usable yet: data_path {typed!r} is refused too (outside the folders data may be read "
        f"from: {roots}). Upload a file that passes, or correct data_path."
    )
    assert "Start trains on it" not in refusal
    (path_error,) = [e for e in errors(at, data_expander(at)) if name not in e]
    assert "is outside the folders data may be read from" in path_error
    assert at.button(key="btn_start").disabled
    # another path typed, inside the allowed folders, holding the data: the refusal of the file sent
    # before is stale (it said which data the form used then), and Start trains on the path
    good = str(allowed / ("good.csv" if dataset == "points" else "pics"))
    at.session_state["cfg_data_path"] = good
    at.run()
    assert not at.exception and errors(at) == []
    assert not at.button(key="btn_start").disabled and start_notes(at) == []


def test_a_long_data_path_is_quoted_short_in_the_sidebar(runs_root):
    """A data_path of 5,000 characters was quoted to 300 of them under data_path, as typed and resolved: a
    red box taller than the sidebar. It is quoted to `SHOWN_PATH_LIMIT`, with an ellipsis and its length;
    a real path (about 100 characters) is quoted whole, its file name included."""
    limit = SHOWN_PATH_LIMIT
    for typed in ("/nowhere/" + "a" * 4991, "b" * 5000):
        at = app(**{**TINY, "dataset": "points", "data_path": typed}).run()
        assert not at.exception
        (error,) = errors(at, data_expander(at))
        assert error.startswith(f"data_path {typed[: limit - 1] + '…'!r} (5,000 characters)")
        assert "is outside the folders data may be read from" in error
        assert len(error.split("; allowed: ")[0]) < 2 * limit + 100, error  # (the allowed folders follow)
        assert "a" * limit not in error and "b" * limit not in error
        if not typed.startswith("/"):  # the resolved path, cut the same way
            resolved = str(Path(typed).resolve())
            assert f"({resolved[: limit - 1]}… ({len(resolved):,} characters))" in error
    # a path of at most SHOWN_PATH_LIMIT characters is quoted whole
    whole = "/etc/" + "c" * (limit - 16) + "/points.csv"  # limit characters
    at = app(**{**TINY, "dataset": "points", "data_path": whole}).run()
    (error,) = errors(at, data_expander(at))
    assert error.startswith(f"data_path {whole!r} is outside")


# ---------------------------------------------------------------------------------------------- contents
FOLDER_KINDS = "png, jpg, jpeg, webp, bmp"
CONTENTS_NOTE = (
    "Start needs a data_path that holds the {} data: see the message under data_path in the sidebar (Data)."
)


@pytest.mark.parametrize(
    ("dataset", "where", "said"),
    [
        ("folder", "missing", "image folder {path} not found; need a folder of images ({kinds})"),
        ("folder", "empty", "no images ({kinds}) found under {path}"),
        ("folder", "no images", "no images ({kinds}) found under {path}"),
        ("points", "missing", "points CSV {path}: file not found; {allowed}"),
        ("points", "nan.csv", "points CSV {path}: column 2 has non-finite value 'nan' at row 3; {allowed}"),
    ],
)
def test_a_data_path_that_holds_no_usable_data_is_said_under_it_and_start_stays_off(
    runs_root, monkeypatch, tmp_path, dataset, where, said
):
    """Only where a typed data_path lies was checked: a path that does not exist, an empty folder or a
    CSV with NaNs got no word under the field, and Start, on, failed with a banner at the top."""
    allowed = allowed_folder(tmp_path, monkeypatch)
    path = allowed / where
    if where == "empty":
        path.mkdir()
    elif where == "no images":
        path.mkdir()
        (path / "notes.txt").write_text("no image here")
        (path / ".hidden.png").write_bytes(png_bytes())  # hidden: the loader would not read it either
    elif where.endswith(".csv"):
        path.write_text("x,y\n1,2\n3,nan\n")
    at = app(**{**TINY, "dataset": dataset, "data_path": str(path)}).run()
    assert not at.exception
    expected = said.format(path=path, kinds=FOLDER_KINDS, allowed=CSV_ALLOWED)
    assert errors(at, data_expander(at)) == [expected] and errors(at) == [expected]  # once, under the field
    assert at.button(key="btn_start").disabled
    assert start_notes(at) == [CONTENTS_NOTE.format(dataset)]
    # put right: the message goes and Start is on (the check is cached by the path's time and size)
    if dataset == "folder":
        path.mkdir(exist_ok=True)
        (path / "a.png").write_bytes(png_bytes())
    else:
        path.write_text("x,y\n1,2\n3,4\n")
    at.run()
    assert errors(at) == [] and not at.button(key="btn_start").disabled and start_notes(at) == []


def test_images_put_into_a_class_subfolder_later_are_found_by_the_sidebars_check(
    runs_root, monkeypatch, tmp_path
):
    """A folder's check was cached by the folder's own time and size, which images added to a class
    subfolder do not change: Start stayed off, saying no images, until the server restarted."""
    root = allowed_folder(tmp_path, monkeypatch) / "classes"
    (root / "cats").mkdir(parents=True)
    at = app(**{**TINY, "dataset": "folder", "data_path": str(root)}).run()
    assert not at.exception and at.button(key="btn_start").disabled
    stamp = root.stat().st_mtime_ns
    (root / "cats" / "a.png").write_bytes(png_bytes())
    assert root.stat().st_mtime_ns == stamp  # the folder itself did not change
    at.run()
    assert errors(at) == [] and not at.button(key="btn_start").disabled
    (root / "cats" / "a.png").unlink()  # and emptied again: said again
    at.run()
    assert at.button(key="btn_start").disabled


def test_a_refused_upload_beside_a_path_that_holds_no_data_says_no_data_is_usable(
    runs_root, monkeypatch, tmp_path
):
    """After a refused upload the sidebar said "Still using data_path …: Start trains on it" of a path
    that does not exist."""
    missing = str(allowed_folder(tmp_path, monkeypatch) / "nothing")
    uploading(monkeypatch, "folder", "pics.zip", "no zip")
    at = app(**{**TINY, "dataset": "folder", "data_path": missing}).run()
    assert not at.exception
    (refusal,) = [e for e in errors(at, data_expander(at)) if "pics.zip" in e]
    assert refusal.split("\n\n")[1] == (
        f"No data is usable yet: data_path {missing!r} is refused too (image folder {missing} not found; "
        f"need a folder of images ({FOLDER_KINDS})). Upload a file that passes, or correct data_path."
    )
    assert "Start trains on it" not in refusal and at.button(key="btn_start").disabled


def test_a_refused_upload_is_not_said_again_once_a_run_has_started(runs_root, monkeypatch, tmp_path):
    """The refusal of a file still in the uploader, and the data it said the form used, were repeated at
    every rerun after a run had started on that data."""
    pics = str(allowed_folder(tmp_path, monkeypatch) / "pics")
    uploading(monkeypatch, "folder", "pics.zip", "no zip")
    form = {**TINY, "dataset": "folder", "data_path": pics, "image_size": 8, "model": "mlp", "steps": 1}
    at = app(**form).run()
    assert [e for e in errors(at) if "pics.zip" in e]
    at.button(key="btn_start").click().run()
    assert not at.exception and watched(at) is not None
    assert not [e for e in errors(at) if "pics.zip" in e]
    at.run()  # nor at a later rerun, the file still in the uploader
    assert not [e for e in errors(at) if "pics.zip" in e] and uploads(runs_root) == []
    runner = registry().runner(watched(at))
    assert runner.wait(TIMEOUT)
