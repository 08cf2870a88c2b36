"""Hostile and broken input, one test per case, through both surfaces a user touches.

The command line refuses each case with exit status 2 and one line ``error: ...`` that names what is wrong
and what is allowed. The dashboard shows a clear message and stays up: its pages run in-process through
`AppTest`; uploads go through the sidebar's own upload code with `st.file_uploader` stood in for (AppTest
cannot drive a file uploader; tests/e2e/test_hostile_browser.py uploads in a real browser).

Every test starts from the same runs folder: ``bystander``, a finished run, and ``target``, a stopped
run that can be resumed. No case may touch another run: the bystander's files are hashed before and after,
byte for byte, and no run folder appears or goes.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import stat
import zipfile
from pathlib import Path

import numpy as np
import pytest
import streamlit as st
import torch
from PIL import Image
from streamlit.testing.v1 import AppTest

from gan_core.config import GANConfig
from gan_core.data import MAX_POINTS_ROWS
from gan_core.models import build_models
from gan_core.runner import Runner
from tests.test_literal import shown
from ui.common import DATA_ENV, RUNS_ENV, registry

APP_DIR = Path(__file__).resolve().parents[1]
TIMEOUT = 60  # seconds: generous, the test machine is slow and shared
TINY = dict(dataset="ring8", width=16, latent_dim=4, batch_size=16, device="cpu")
TINY_FLAGS = ["--width", "16", "--latent-dim", "4", "--batch-size", "16", "--device", "cpu", "--quiet"]
RUNS = {"bystander", "target"}
CSV_ALLOWED = "need two numeric columns x,y"


# ---------------------------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """A runs folder trained once per module: ``bystander`` finished, ``target`` stopped (resumable)."""
    root = tmp_path_factory.mktemp("template") / "runs"
    bystander = Runner(GANConfig(**TINY, steps=20, checkpoint_every=10), root, "bystander").start()
    assert bystander.wait(TIMEOUT) and bystander.status == "finished"
    target = Runner(GANConfig(**TINY, steps=0, sample_every=5, checkpoint_every=0), root, "target").start()
    assert target.wait_until(lambda r: len(r.store) >= 5, TIMEOUT)
    target.stop()
    assert target.wait(TIMEOUT) and target.status == "stopped"
    return root


@pytest.fixture
def runs_root(template, tmp_path, monkeypatch) -> Path:
    """A copy of the template as this test's runs folder (hence its own registry); at the end no run is
    left training, the bystander is byte for byte as it was and no run folder appeared or went."""
    root = tmp_path / "runs"
    shutil.copytree(template, root)
    monkeypatch.setenv(RUNS_ENV, str(root))
    monkeypatch.delenv(DATA_ENV, raising=False)
    before = fingerprint(root / "bystander")
    yield root
    reg = registry()
    reg.stop_all(timeout=TIMEOUT)
    assert not reg.active(), "a run outlived its test"
    assert fingerprint(root / "bystander") == before, "the bystander run was touched"
    assert run_ids(root) == RUNS, "a run folder appeared or went"


def fingerprint(folder: Path) -> dict[str, str]:
    """Relative path -> SHA-256 of every file under ``folder``."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def run_ids(root: Path) -> set[str]:
    return {p.parent.name for p in root.glob("*/config.json")}


# ---------------------------------------------------------------------------------------------- the CLI
@pytest.fixture
def cli(cli, capsys):
    """conftest's ``cli``, judging only the command's own output: what the pages logged before is drained."""

    def run(*args):
        capsys.readouterr()
        return cli(*args)

    return run


def refused(result, *needles: str) -> str:
    """The CLI's one line for bad input: exit 2, ``error: ...`` holding every needle."""
    assert result.returncode == 2, (result.returncode, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for needle in needles:
        assert needle in lines[0], f"{needle!r} not in {lines[0]!r}"
    return lines[0]


def cli_sample(cli, root: Path, checkpoint: str | Path, tmp_path: Path, run: str = "target"):
    return cli(
        "sample", "--run", str(root / run), "--checkpoint", str(checkpoint), "--out", str(tmp_path / "s.csv")
    )


def cli_train(cli, root: Path, *args: str):
    return cli("train", "--steps", "2", "--out", str(root), *TINY_FLAGS, *args)


# ---------------------------------------------------------------------------------------------- the dashboard
def app(page: str = "dashboard.py", run: str | None = None, **form) -> AppTest:
    at = AppTest.from_file(str(APP_DIR / page), default_timeout=TIMEOUT)
    for field, value in form.items():
        at.session_state[f"cfg_{field}"] = value
    if run is not None:
        at.query_params["run"] = run
    return at


def still_up(at: AppTest, title: str = "Watch a GAN learn") -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert [t.value for t in at.title] == [title]


def errors(at: AppTest) -> list[str]:
    """The page's errors as a reader sees them (text from files and exceptions is in code spans)."""
    return [shown(e.value) for e in at.error]


def trains_afterwards(at: AppTest) -> None:
    """The app keeps working: with a toy dataset, Start trains a run (stopped again at once)."""
    for field, value in {**TINY, "steps": 0, "checkpoint_every": 0}.items():
        at.session_state[f"cfg_{field}"] = value
    at.run()
    assert not at.button(key="btn_start").disabled
    at.button(key="btn_start").click().run()
    still_up(at)
    runner = registry().runner(at.session_state["run_id"])
    assert runner is not None and runner.wait_until(lambda r: len(r.store) >= 1, TIMEOUT)
    runner.stop()
    assert runner.wait(TIMEOUT) and runner.status == "stopped"
    shutil.rmtree(runner.run_dir.path)  # the runs folder holds the two runs again


class Upload:
    """What st.file_uploader returns for one file."""

    def __init__(self, name: str, data: bytes):
        self.name, self._data = name, data
        self.file_id = hashlib.sha256(name.encode() + data).hexdigest()[:16]

    def getvalue(self) -> bytes:
        return self._data


def upload_in_sidebar(monkeypatch, dataset: str, name: str, data: bytes) -> AppTest:
    """The Train view after ``name`` was uploaded through the sidebar's uploader for ``dataset``."""
    upload = Upload(name, data)
    monkeypatch.setattr(
        st, "file_uploader", lambda *args, key=None, **kwargs: upload if key == f"upload_{dataset}" else None
    )
    at = app(dataset=dataset).run()
    still_up(at)
    return at


def uploads(root: Path) -> list[Path]:
    folder = root / ".uploads"
    return sorted(folder.iterdir()) if folder.is_dir() else []


# ---------------------------------------------------------------------------------------------- checkpoints
def target_checkpoint(root: Path) -> Path:
    (path,) = (root / "target" / "checkpoints").glob("step_*.pt")  # checkpoint_every=0: the final one
    return path


def ui_refuses_checkpoint(root: Path, *needles: str) -> None:
    """The Probe page on the target's (only) checkpoint and the Train view's Resume both refuse it."""
    path = target_checkpoint(root)
    before = fingerprint(root / "target")
    at = app("pages/4_Probe.py", run="target").run()
    still_up(at, "Probe the networks")
    (message,) = errors(at)
    assert message.startswith("These weights cannot be probed: ")
    for needle in (path.name, *needles):
        assert needle in message
    at = app(run="target").run()
    still_up(at)
    assert not at.button(key="btn_resume").disabled
    at.button(key="btn_resume").click().run()
    still_up(at)
    (message,) = errors(at)
    assert message.startswith("Cannot resume target: ")
    for needle in (path.name, *needles):
        assert needle in message
    assert registry().active() == []
    assert fingerprint(root / "target") == before  # refused before anything was written


def test_corrupt_checkpoint(runs_root, cli, tmp_path):
    path = target_checkpoint(runs_root)
    path.write_bytes(np.random.default_rng(0).bytes(4096))
    refused(cli_sample(cli, runs_root, path, tmp_path), path.name, "is not a PyTorch checkpoint")
    assert not (tmp_path / "s.csv").exists()
    ui_refuses_checkpoint(runs_root, "is not a PyTorch checkpoint")


def test_truncated_checkpoint(runs_root, cli, tmp_path):
    path = target_checkpoint(runs_root)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    refused(cli_sample(cli, runs_root, path, tmp_path), path.name, "is not a PyTorch checkpoint")
    ui_refuses_checkpoint(runs_root, "is not a PyTorch checkpoint")


def test_foreign_checkpoint(runs_root, cli, tmp_path):
    path = target_checkpoint(runs_root)
    # another project's checkpoint: loadable, but none of the keys a GAN checkpoint needs
    torch.save({"model": {"fc.weight": torch.zeros(2, 2)}, "optimizer": {}, "epoch": 3}, path)
    refused(
        cli_sample(cli, runs_root, path, tmp_path),
        path.name,
        "is not a GAN checkpoint (needs config, discriminator, generator, step)",
    )
    ui_refuses_checkpoint(runs_root, "is not a GAN checkpoint")
    # the right keys, weights of another network: named, not a KeyError or a size mismatch traceback
    state = torch.load(runs_root / "bystander" / "checkpoints" / "step_00000020.pt", weights_only=True)
    other = GANConfig(**{**TINY, "width": 32})
    G, D = build_models(other, (2,))
    torch.save({**state, "generator": G.state_dict(), "discriminator": D.state_dict()}, path)
    line = refused(cli_sample(cli, runs_root, path, tmp_path), path.name, "cannot be rebuilt into G")
    assert "size mismatch" in line and "allowed: a checkpoint saved by this dashboard" in line
    # Resume refuses it too, before a thread starts (not as a failed run)
    ui_refuses_checkpoint(runs_root, "cannot be rebuilt into G and D")


class PickledCode:
    """Unpickling this runs ``touch <marker>``: what a malicious checkpoint would do, harmlessly."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_missing_checkpoint(runs_root, cli, tmp_path):
    path = target_checkpoint(runs_root)
    gone = path.with_name("step_00000099.pt")
    refused(cli_sample(cli, runs_root, gone, tmp_path), f"{gone.name} of run 'target' does not exist; kept: ")


def test_checkpoint_carrying_pickled_code_other_than_os(runs_root, cli, tmp_path):
    # torch words the refusal differently for modules it blocks outright (os) and for any other global
    path = target_checkpoint(runs_root)
    marker = tmp_path / "code-ran"
    state = torch.load(path, weights_only=True)
    torch.save({**state, "generator": CopyingCode(marker)}, path)
    line = refused(cli_sample(cli, runs_root, path, tmp_path), "it would call shutil.copyfile")
    assert "\x1b" not in line and "never run pickled code" in line
    assert not marker.exists(), "the pickled code ran"


class CopyingCode:
    """Unpickling this copies this file to ``marker`` through shutil.copyfile."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (shutil.copyfile, (__file__, str(self.marker)))


def test_checkpoint_carrying_pickled_code(runs_root, cli, tmp_path):
    path = target_checkpoint(runs_root)
    marker = tmp_path / "code-ran"
    state = torch.load(path, weights_only=True)
    torch.save({**state, "generator": PickledCode(marker)}, path)
    line = refused(cli_sample(cli, runs_root, path, tmp_path), path.name, "holds objects other than tensors")
    assert "posix.system" in line or "nt.system" in line  # names the code it refused to run
    assert "never run pickled code" in line
    ui_refuses_checkpoint(runs_root, "holds objects other than tensors", "system")
    assert not marker.exists(), "the pickled code ran"


# ---------------------------------------------------------------------------------------------- ZIP uploads
def png_bytes(size: int = 8) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.full((size, size), 128, dtype=np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def make_zip(entries: dict[str, bytes], symlinks: dict[str, str] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
        for name, target in (symlinks or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, target)
    return buffer.getvalue()


def ui_refuses_zip(monkeypatch, root: Path, data: bytes, *needles: str) -> AppTest:
    at = upload_in_sidebar(monkeypatch, "folder", "images.zip", data)
    upload_errors = [e for e in errors(at) if e.startswith("images.zip: ")]
    assert len(upload_errors) == 1, errors(at)
    for needle in needles:
        assert needle in upload_errors[0]
    assert at.session_state["cfg_data_path"] == ""  # not pointed at anything
    assert uploads(root) == []  # nothing extracted, not even half
    assert at.button(key="btn_start").disabled  # folder without a data_path: nothing to start
    return at


def test_zip_with_path_traversal(runs_root, monkeypatch):
    for name in ("../../escape.png", "/abs/escape.png", "C:/escape.png", "..\\escape.png"):
        data = make_zip({"ok.png": png_bytes(), name: png_bytes()})
        at = ui_refuses_zip(monkeypatch, runs_root, data, repr(name), "points outside the archive; refused")
    assert not list(runs_root.parent.rglob("escape.png"))
    trains_afterwards(at)


def test_zip_with_symlinks(runs_root, monkeypatch):
    data = make_zip({"ok.png": png_bytes()}, symlinks={"passwd.png": "/etc/passwd"})
    trains_afterwards(
        ui_refuses_zip(monkeypatch, runs_root, data, "'passwd.png' is a symbolic link; refused")
    )


def test_zip_of_non_images(runs_root, monkeypatch):
    data = make_zip({"notes.txt": b"hello", "run.sh": b"#!/bin/sh\n", "nested.zip": make_zip({"a.txt": b""})})
    ui_refuses_zip(monkeypatch, runs_root, data, "no images (.png, .jpg, .jpeg, .webp, .bmp) inside")
    # files named like images that are not: refused at once, not at Start (nothing extracted)
    at = ui_refuses_zip(
        monkeypatch, runs_root, make_zip({"a.png": b"text", "b.jpg": b"x"}), "none of its 2 image files"
    )
    still_up(at)
    trains_afterwards(at)


def test_zip_encrypted_or_in_an_unusual_compression(runs_root, monkeypatch):
    # the "encrypted" bit, in the local header and the central directory: zipfile would ask for a
    # password while reading (zipfile itself cannot write an encrypted entry)
    secret = bytearray(make_zip({"secret.png": png_bytes()}))
    secret[6] |= 0x1
    secret[secret.find(b"PK\x01\x02") + 8] |= 0x1
    ui_refuses_zip(monkeypatch, runs_root, bytes(secret), "'secret.png' is encrypted")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_BZIP2) as zf:
        zf.writestr("b.png", png_bytes())
    ui_refuses_zip(monkeypatch, runs_root, buffer.getvalue(), "compression method 12", "stored or deflated")


def test_zip_with_a_file_and_a_folder_of_one_name(runs_root, monkeypatch):
    data = make_zip({"a.png": png_bytes(), "a.png/b.png": png_bytes()})
    trains_afterwards(ui_refuses_zip(monkeypatch, runs_root, data, "'a.png/b.png' cannot be written"))


def test_zip_decompression_bomb(runs_root, monkeypatch):
    # 100 MiB of zeros in about 100 KB: far beyond any image's compression ratio
    bomb = make_zip({"ok.png": png_bytes(), "bomb.png": b"\0" * (100 * 2**20)})
    assert len(bomb) < 1_000_000
    ui_refuses_zip(monkeypatch, runs_root, bomb, "'bomb.png' is compressed", "x; allowed up to 200x an entry")
    # a bomb whose header lies about its size: cut off at the declared size, then refused
    lying = bytearray(make_zip({"bomb.png": b"\0" * 2**20}))
    lying[22:26] = (64).to_bytes(4, "little")  # the local header's uncompressed size
    central = lying.find(b"PK\x01\x02")
    lying[central + 24 : central + 28] = (64).to_bytes(4, "little")  # and the central directory's
    at = ui_refuses_zip(
        monkeypatch, runs_root, bytes(lying), "'bomb.png' is damaged or not what its header says"
    )
    trains_afterwards(at)


# ---------------------------------------------------------------------------------------------- points CSV
def csv_refused(cli, monkeypatch, root: Path, tmp_path: Path, text: str | bytes, problem: str) -> None:
    """The CLI (train --dataset points --data-path) and the sidebar's CSV upload both refuse the file."""
    data = text.encode() if isinstance(text, str) else text
    path = tmp_path / "points.csv"
    path.write_bytes(data)
    line = refused(
        cli_train(cli, root, "--dataset", "points", "--data-path", str(path)),
        f"points CSV {path}: {problem}",
        CSV_ALLOWED,
    )
    assert len(line) < 400
    at = upload_in_sidebar(monkeypatch, "points", "points.csv", data)
    # read when it arrives, by the reader Start uses: refused then, named as uploaded, nothing kept
    still_up(at)
    assert errors(at) == [line.removeprefix("error: ").replace(str(path), "points.csv")]
    assert at.session_state["cfg_data_path"] == "" and uploads(root) == []
    assert at.button(key="btn_start").disabled
    assert "run_id" not in at.session_state and registry().active() == []
    trains_afterwards(at)


def test_points_csv_with_text(runs_root, cli, monkeypatch, tmp_path):
    csv_refused(
        cli, monkeypatch, runs_root, tmp_path, "x,y\n1,2\n3,abc\n5,6\n", "column 2 has text 'abc' at row 3"
    )


def test_points_csv_with_nan(runs_root, cli, monkeypatch, tmp_path):
    csv_refused(
        cli,
        monkeypatch,
        runs_root,
        tmp_path,
        "1,2\nNaN,4\n5,6\n",
        "column 1 has non-finite value 'NaN' at row 2",
    )


def test_points_csv_with_one_column(runs_root, cli, monkeypatch, tmp_path):
    csv_refused(cli, monkeypatch, runs_root, tmp_path, "x\n1\n2\n3\n", "it has 1 column")


def test_points_csv_with_a_million_rows(runs_root, cli, monkeypatch, tmp_path):
    assert MAX_POINTS_ROWS < 1_000_000
    text = b"x,y\n" + b"0.5,1.5\n" * 1_000_000
    csv_refused(cli, monkeypatch, runs_root, tmp_path, text, f"it has more than {MAX_POINTS_ROWS} rows")


# ---------------------------------------------------------------------------------------------- image folder
def test_folder_without_images(runs_root, cli, monkeypatch, tmp_path):
    allowed = tmp_path / "data"
    empty = allowed / "no-images"
    empty.mkdir(parents=True)
    (empty / "notes.txt").write_text("no images here")
    (empty / "sub").mkdir()
    expected = f"no images (png, jpg, jpeg, webp, bmp) found under {empty}"
    line = refused(cli_train(cli, runs_root, "--dataset", "folder", "--data-path", str(empty)), expected)
    assert line == f"error: {expected}"
    monkeypatch.setenv(DATA_ENV, str(allowed))  # a folder the dashboard may read
    at = app(dataset="folder", data_path=str(empty)).run()
    still_up(at)
    # said under data_path before Start (the loader's own words), and Start stays off until it is put right
    assert errors(at) == [expected] and at.button(key="btn_start").disabled
    assert "run_id" not in at.session_state and registry().active() == []
    trains_afterwards(at)


# ------------------------------------------------------------------------------------- run ids and paths
RUN_ID_ALLOWED = (
    "use 1-100 ASCII letters, digits, '.', '_' or '-', starting with a letter or digit, without '..'"
)


def cli_refuses_run_id(cli, root: Path, run_id: str) -> None:
    refused(cli_train(cli, root, "--dataset", "ring8", "--run-id", run_id), f"run id {run_id!r} is invalid")


def ui_refuses_run_id(run_id: str) -> None:
    """``?run=`` naming ``run_id`` on the Train view and the Probe page: an error, then the page as usual."""
    for page, title in (("dashboard.py", "Watch a GAN learn"), ("pages/4_Probe.py", "Probe the networks")):
        at = app(page, run=run_id).run()
        still_up(at, title)
        (message,) = errors(at)
        assert message.startswith(f"Run {run_id!r} cannot be shown: run id {run_id!r} is invalid: ")
        assert RUN_ID_ALLOWED in message
        assert "run" not in at.query_params  # the bad id is dropped from the URL
        if page == "dashboard.py":
            assert not at.button(key="btn_start").disabled


def ui_refuses_data_path(root: Path, data_path: str, needle: str) -> None:
    at = app(dataset="points", data_path=data_path).run()
    still_up(at)
    (message,) = errors(at)
    assert f"data_path {data_path!r}" in message and needle in message
    assert f"allowed: a path inside {(root / '.uploads').resolve()}, {APP_DIR / 'data'}" in message
    assert message.endswith(f"(upload the data, or list its folder in {DATA_ENV})")
    assert at.button(key="btn_start").disabled


def test_run_ids_and_paths_with_dot_dot(runs_root, cli, tmp_path):
    for run_id in ("..", "../escape", "a..b", "target/../bystander"):
        cli_refuses_run_id(cli, runs_root, run_id)
        ui_refuses_run_id(run_id)
    assert not (runs_root.parent / "escape").exists()
    # a checkpoint path that climbs out of its run into another one
    other = (
        runs_root / "target" / "checkpoints" / ".." / ".." / "bystander" / "checkpoints" / "step_00000020.pt"
    )
    refused(cli_sample(cli, runs_root, other, tmp_path), "is outside", str((runs_root / "target").resolve()))
    # a data_path that climbs out of the uploads folder
    ui_refuses_data_path(runs_root, str(runs_root / ".uploads" / ".." / ".." / "secret.csv"), "is outside")


def test_run_ids_with_slashes(runs_root, cli):
    for run_id in ("a/b", "bystander/checkpoints", "a\\b", "target/"):
        cli_refuses_run_id(cli, runs_root, run_id)
        if run_id != "target/":
            ui_refuses_run_id(run_id)
    assert not (runs_root / "a").exists()
    # a link's slash at its end is left out (``?run=target/``, pasted): the page opens run target
    for page, title in (("dashboard.py", "Watch a GAN learn"), ("pages/4_Probe.py", "Probe the networks")):
        at = app(page, run="target/").run()
        still_up(at, title)
        assert not errors(at) and at.session_state["run_id"] == "target"
    ui_refuses_run_id("/")  # slashes alone: no id left to strip down to, refused as before


def test_absolute_paths(runs_root, cli, tmp_path):
    outside = str(tmp_path / "elsewhere")
    for run_id in (outside, "/etc"):
        cli_refuses_run_id(cli, runs_root, run_id)
        ui_refuses_run_id(run_id)
    assert not Path(outside).exists()
    refused(cli_sample(cli, runs_root, "/etc/passwd", tmp_path), "path '/etc/passwd' is outside")
    refused(
        cli("sample", "--run", "/etc", "--out", str(tmp_path / "s.csv")),
        "no run 'etc'",
        "config.json missing",
    )
    ui_refuses_data_path(runs_root, "/etc/passwd", "is outside the folders data may be read from")


def test_data_path_through_a_symlink_out_of_the_allowed_folders(runs_root, cli, monkeypatch, tmp_path):
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "points.csv").write_text("x,y\n0,1\n2,3\n")
    (runs_root / ".uploads").mkdir()
    link = runs_root / ".uploads" / "innocent"
    link.symlink_to(secret, target_is_directory=True)
    ui_refuses_data_path(runs_root, str(link / "points.csv"), f"({secret / 'points.csv'}) is outside")
    # the dashboard reads what lies inside GAN_DASHBOARD_DATA; the CLI, on the user's own machine, any path
    monkeypatch.setenv(DATA_ENV, os.pathsep.join(["", str(secret)]))  # an empty entry is skipped
    at = app(dataset="points", data_path=str(secret / "points.csv")).run()
    still_up(at)
    assert errors(at) == [] and not at.button(key="btn_start").disabled
    res = cli_train(
        cli, tmp_path / "cli-runs", "--dataset", "points", "--data-path", str(secret / "points.csv")
    )
    assert res.returncode == 0, res.stderr


# ---------------------------------------------------------------------------------------------- config JSON
WRONG_TYPES = [
    ('{"lr_g": "fast"}', "lr_g='fast' is invalid: allowed a value of type float"),
    ('{"steps": 1.5}', "steps=1.5 is invalid: allowed a value of type int"),
    ('{"steps": true}', "steps=True is invalid: allowed a value of type int"),
    ('{"spectral_norm": "yes"}', "spectral_norm='yes' is invalid: allowed a value of type bool"),
    ('{"width": [64]}', "width=[64] is invalid: allowed a value of type int"),
    ('{"dataset": 3}', "dataset=3 is invalid: allowed a value of type str"),
    ('{"lr_g": null}', "lr_g=None is invalid: allowed a value of type float"),
    ('{"lr_g": NaN}', "lr_g=nan is invalid: allowed a finite number in (0.0, 1.0]"),
    ('{"lr_d": 1e999}', "lr_d=inf is invalid: allowed a finite number in (0.0, 1.0]"),
    (
        '{"lr_d": 1' + "0" * 400 + "}",
        f"lr_d=1{'0' * 98}… (401 digits) is beyond float32's range (±3.4e+38), the precision training runs "
        "in; allowed a number in (0.0, 1.0]",
    ),
    ('{"device": "cpu\\n"}', "device='cpu\\n' is invalid: allowed auto, cpu, cuda, cuda:N or mps"),
    ('{"data_path": "a\\u0000b", "dataset": "points"}', "data_path='a\\x00b' is invalid"),
    ('{"lr": 0.1}', "unknown field 'lr': known fields: batch_size, beta1"),
    ("[1, 2]", "must hold a JSON object of config fields"),
    (
        '{"lr_g": 0.001,}',
        "not valid JSON (Expecting property name enclosed in double quotes at line 1, column 16)",
    ),
]


def test_config_json_with_wrong_types(runs_root, cli, tmp_path):
    config = tmp_path / "config.json"
    for text, message in WRONG_TYPES:
        config.write_text(text)
        # no other flag: flags win over the file's values
        refused(cli("train", "--config", str(config), "--out", str(runs_root), "--quiet"), message)
    # In the dashboard config JSON arrives as a run folder's config.json: one edited by hand is shown as
    # unreadable, and every page stays up with the other runs.
    shutil.copytree(runs_root / "bystander", runs_root / "edited")
    (runs_root / "edited" / "config.json").write_text('{"lr_g": "fast"}')
    at = app(run="edited").run()
    still_up(at)
    assert errors(at) == [
        "Run 'edited' cannot be shown: run 'edited': unreadable config.json: lr_g='fast' is invalid: "
        "allowed a value of type float"
    ]
    at = app("pages/4_Probe.py", run="edited").run()
    still_up(at, "Probe the networks")
    assert len(errors(at)) == 1 and "unreadable config.json: lr_g='fast'" in errors(at)[0]
    (runs_root / "edited" / "config.json").write_text("[1, 2]")
    at = app(run="edited").run()
    still_up(at)
    assert errors(at) == [
        "Run 'edited' cannot be shown: run 'edited': unreadable config.json: config='list' is invalid: "
        "allowed a JSON object of field: value"
    ]
    # The Runs page lists it as unreadable, with the reason, and can delete it
    at = app("pages/1_Runs.py").run()
    still_up(at, "Runs")
    table = at.dataframe[0].value.set_index("run_id")
    assert sorted(table.index) == ["bystander", "edited", "target"]
    assert table.loc["edited", "status"] == "unreadable"
    assert "config='list' is invalid" in table.loc["edited", "error"]
    assert set(table.loc[["bystander", "target"], "status"]) == {"finished", "stopped"}
    at.selectbox(key="runs_pick").set_value("edited").run()
    still_up(at, "Runs")
    assert len(errors(at)) == 1 and errors(at)[0].startswith("Run 'edited' cannot be opened: ")
    at.button(key="runs_delete").click().run()
    still_up(at, "Runs")
    assert not (runs_root / "edited").exists()
    assert sorted(at.dataframe[0].value["run_id"]) == ["bystander", "target"]
    json.loads((runs_root / "bystander" / "config.json").read_text())  # the runs around it: as they were


# ------------------------------------------------------------------ long text, large numbers, odd checkpoints
LONG_ID = "x" * 5000
LONG_ID_QUOTED = f"'{'x' * 99}…' (5,000 characters)"  # as every message quotes it: cut short, its length said


def test_a_run_id_of_5000_characters_is_quoted_cut_short(runs_root, cli):
    invalid = f"run id {LONG_ID_QUOTED} is invalid: {RUN_ID_ALLOWED} or slashes"
    line = refused(cli_train(cli, runs_root, "--dataset", "ring8", "--run-id", LONG_ID))
    assert line == f"error: {invalid}"
    for page, title in (("dashboard.py", "Watch a GAN learn"), ("pages/4_Probe.py", "Probe the networks")):
        at = app(page, run=LONG_ID).run()
        still_up(at, title)
        assert errors(at) == [f"Run {LONG_ID_QUOTED} cannot be shown: {invalid}"]
        assert "run" not in at.query_params  # the bad id is dropped from the URL
    trains_afterwards(app(run=LONG_ID).run())


def test_a_float_beyond_float32_is_said_to_be_so(runs_root, cli, monkeypatch, tmp_path):
    message = (
        "lr_g=1e+300 is beyond float32's range (±3.4e+38), the precision training runs in; allowed a number "
        "in (0.0, 1.0]"
    )
    said = f"error: {message} (set with --lr-g)"  # (the command line names its option)
    assert refused(cli_train(cli, runs_root, "--lr-g", "1e300")) == said
    config = tmp_path / "config.json"
    config.write_text('{"lr_g": 1e300}')
    assert refused(cli("train", "--config", str(config), "--out", str(runs_root))) == said
    at = app(lr_g=1e300).run()  # typed into the sidebar
    still_up(at)
    assert errors(at) == [message]
    assert at.button(key="btn_start").disabled
    # and a CSV of points: a cell float32 cannot hold is no "non-finite value"
    csv_refused(
        cli,
        monkeypatch,
        runs_root,
        tmp_path,
        "1,2\n3,1e300\n5,6\n",
        "column 2 has value '1e300', beyond float32's range (±3.4e+38) at row 2",
    )


def test_a_checkpoint_that_is_a_symlink_or_a_folder_is_said_to_be_one(runs_root, cli, tmp_path):
    path = target_checkpoint(runs_root)
    # A link to the run's own checkpoint, inside its folder: refused (a link can be repointed), as a link.
    kept = path.with_name("kept.pt")
    path.rename(kept)
    path.symlink_to(kept.name)
    symlink = (
        f"checkpoint {path.name} of run 'target' is a symlink; checkpoints are read only as regular files "
        "inside the run's folder (its checkpoints/), never through a link"
    )
    assert refused(cli_sample(cli, runs_root, path, tmp_path)) == f"error: {symlink}"
    ui_refuses_checkpoint(runs_root, "is a symlink; checkpoints are read only as regular files")
    # A folder under a checkpoint's name: a folder, not "does not exist".
    path.unlink()
    path.mkdir()
    folder = (
        f"checkpoint {path.name} of run 'target' is a folder, not a file; allowed: a checkpoint file the run "
        "saved (step_NNNNNNNN.pt)"
    )
    assert refused(cli_sample(cli, runs_root, path, tmp_path)) == f"error: {folder}"
    ui_refuses_checkpoint(runs_root, "is a folder, not a file")
    assert not (tmp_path / "s.csv").exists()
