"""Exports (CSV, ZIP) and uploads (points CSV, images ZIP) with their limits and refusals."""

import io
import stat
import subprocess
import zipfile
import zlib

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from gan_core import export
from gan_core.config import GANConfig
from gan_core.data import load_data
from gan_core.export import (
    UploadError,
    extract_images_zip,
    metrics_csv_bytes,
    run_zip_bytes,
    save_points_upload,
)
from gan_core.rundir import RunDir
from gan_core.runner import Runner
from gan_core.trainer import CSV_COLUMNS


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    cfg = GANConfig(
        dataset="ring8", width=16, latent_dim=4, batch_size=16, steps=12, sample_every=5, device="cpu"
    )
    runner = Runner(cfg, tmp_path_factory.mktemp("runs"), "r").start()
    assert runner.wait(60) and runner.status == "finished"
    return runner.run_dir


def test_csv_export_has_every_step_and_column(run):
    frame = pd.read_csv(io.BytesIO(metrics_csv_bytes(run)))
    assert list(frame.columns) == list(CSV_COLUMNS)
    assert frame["step"].tolist() == list(range(1, 13))


def test_csv_export_cuts_a_torn_last_line(run, tmp_path):
    torn = (run.path / "metrics.csv").read_bytes() + b"13,0.1,0.2"
    fake = RunDir(tmp_path, tmp_path.parent)  # a folder holding only that metrics.csv
    (tmp_path / "metrics.csv").write_bytes(torn)
    frame = pd.read_csv(io.BytesIO(metrics_csv_bytes(fake)))
    assert frame["step"].iloc[-1] == 12


def test_zip_export_holds_the_folder(run):
    with zipfile.ZipFile(io.BytesIO(run_zip_bytes(run))) as zf:
        names = set(zf.namelist())
    assert {"r/config.json", "r/metrics.csv", "r/events.csv", "r/status.json", "r/samples/real.npz"} <= names
    assert "r/checkpoints/step_00000012.pt" in names
    # the writer's claim file says who trained it (pid, host, command): not part of the run
    assert (run.path / ".lock").exists() and "r/.lock" not in names


def png_bytes(color=(255, 0, 0), size=(12, 10)):
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="PNG")
    return buffer.getvalue()


def make_zip(entries, symlink=None):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
        if symlink:
            info = zipfile.ZipInfo(symlink)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, "/etc/passwd")
    return buffer.getvalue()


def test_images_zip_is_extracted_and_loads(tmp_path):
    data = make_zip({"cats/a.png": png_bytes(), "dogs/b.png": png_bytes((0, 255, 0)), "notes.txt": b"hi"})
    folder = extract_images_zip(data, "pets.zip", tmp_path)
    assert folder.parent == tmp_path and sorted(p.name for p in folder.rglob("*.png")) == ["a.png", "b.png"]
    assert not list(folder.rglob("*.txt"))  # non-images are left out
    source = load_data(GANConfig(dataset="folder", data_path=str(folder), image_size=8))
    assert source.num_examples == 2 and source.labels is not None


@pytest.mark.parametrize(
    "entries,symlink,message",
    [
        ({"../evil.png": png_bytes()}, None, "outside the archive"),
        ({"/abs/evil.png": png_bytes()}, None, "outside the archive"),
        ({"ok.png": png_bytes()}, "link.png", "symbolic link"),
        ({"bomb.png": b"\0" * 5_000_000}, None, "compressed"),
        ({"readme.txt": b"no images"}, None, "no images"),
    ],
)
def test_hostile_zips_are_refused(tmp_path, entries, symlink, message):
    with pytest.raises(UploadError, match=message):
        extract_images_zip(make_zip(entries, symlink), "x.zip", tmp_path / "up")
    assert not (tmp_path / "up").exists() or not any((tmp_path / "up").rglob("*.png"))


def test_a_zip_whose_images_none_decodes_is_refused_at_once(tmp_path):
    """It was accepted, and Start then failed naming the server's upload folder."""
    entries = {f"{i}.png": b"garbage " * (i + 1) for i in range(5)}
    with pytest.raises(UploadError) as refused:
        extract_images_zip(make_zip(entries), "allbad.zip", tmp_path / "up")
    said = str(refused.value)
    assert said == (
        "allbad.zip: none of its 5 image files can be read as an image ('0.png', '1.png', '2.png' and 2 "
        "more; the first: not an image file of a format Pillow reads); allowed: a ZIP holding at least one "
        "readable image (.png, .jpg, .jpeg, .webp, .bmp)"
    )
    assert "/up" not in said and not any((tmp_path / "up").rglob("*.png"))  # nothing left behind
    # one readable image among garbage is enough (the folder's reader skips and counts the others)
    folder = extract_images_zip(make_zip({**entries, "z.png": png_bytes()}), "some.zip", tmp_path / "up")
    assert len(list(folder.rglob("*.png"))) == 6


# ---------------------------------------------------------------------------------------------- names
def unflagged_utf8_zip(names: dict[str, str]) -> bytes:
    """A ZIP whose entries are named in UTF-8 without the UTF-8 flag, as Info-ZIP's ``zip`` on Linux
    writes them: written under ASCII stand-ins of the same byte length (``names``: stand-in -> name),
    whose bytes are then swapped for the name's (zipfile itself flags every non-ASCII name)."""
    data = make_zip({stand_in: png_bytes() for stand_in in names})
    for stand_in, name in names.items():
        assert len(stand_in.encode()) == len(name.encode())
        data = data.replace(stand_in.encode(), name.encode())
    return data


def test_a_zip_named_in_utf8_without_the_flag_keeps_its_names(tmp_path):
    """'猫/0.png' became 'τî½/0.png' (the UTF-8 bytes read as cp437): the class folder and the names
    shown are the ones the user gave."""
    data = unflagged_utf8_zip({"uni/XYZ/0.png": "uni/猫/0.png", "uni/dog/0.png": "uni/dog/0.png"})
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        info = archive.getinfo("uni/τî½/0.png")  # as zipfile reads it: no flag, so cp437
        assert not info.flag_bits & 0x800
        assert export.entry_name(info) == "uni/猫/0.png"
    folder = extract_images_zip(data, "uni.zip", tmp_path / "up")
    assert sorted(p.parent.name for p in folder.rglob("*.png")) == ["dog", "猫"]
    source = load_data(GANConfig(dataset="folder", data_path=str(folder), image_size=8))
    assert source.class_names == ("dog", "猫")


def test_a_zip_entry_with_a_unicode_path_field_takes_its_name_from_it(tmp_path):
    """Info-ZIP's Unicode Path extra field (0x7075): version 1, the CRC-32 of the header's name, the name
    in UTF-8; a field whose CRC does not match the header's name (renamed since) is ignored."""

    def with_field(header: str, meant: str, crc_of: str) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(header)
        field = b"\x01" + zlib.crc32(crc_of.encode("cp437")).to_bytes(4, "little") + meant.encode()
        info.extra = (0x7075).to_bytes(2, "little") + len(field).to_bytes(2, "little") + field
        return info

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(with_field("neko.png", "猫.png", crc_of="neko.png"), png_bytes())
        archive.writestr(with_field("inu.png", "犬.png", crc_of="other.png"), png_bytes())
    folder = extract_images_zip(buffer.getvalue(), "field.zip", tmp_path / "up")
    assert sorted(p.name for p in folder.rglob("*.png")) == ["inu.png", "猫.png"]
    # a NUL inside the field's name is cut there, as zipfile cuts a header's name (it reached open(): a
    # ValueError, not the upload's refusal): here "a", no image, so the ZIP holds none
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(with_field("b.png", "a\0b.png", crc_of="b.png"), png_bytes())
    with pytest.raises(UploadError, match="no images"):
        extract_images_zip(buffer.getvalue(), "nul.zip", tmp_path / "nul")
    assert not (tmp_path / "nul").exists() or not any((tmp_path / "nul").rglob("*.png"))


def test_a_zip_named_in_cp437_keeps_its_cp437_names(tmp_path):
    """Bytes that are no UTF-8 (an old DOS tool's 'é' is 0x82) stay as zipfile reads them."""
    data = make_zip({"caf_.png": png_bytes()}).replace(b"caf_.png", "café.png".encode("cp437"))
    folder = extract_images_zip(data, "dos.zip", tmp_path / "up")
    assert [p.name for p in folder.rglob("*.png")] == ["café.png"]


def test_a_zip_made_by_info_zip_keeps_its_utf8_names(tmp_path):  # (scripts/test.sh installs zip)
    source = tmp_path / "uni"
    for name in ("猫", "chien"):
        (source / name).mkdir(parents=True)
        (source / name / "0.png").write_bytes(png_bytes())
    subprocess.run(
        ["zip", "-qr", str(tmp_path / "uni.zip"), "uni"], cwd=tmp_path, check=True, env={"LANG": "C.UTF-8"}
    )
    folder = extract_images_zip((tmp_path / "uni.zip").read_bytes(), "uni.zip", tmp_path / "up")
    assert sorted(p.parent.name for p in folder.rglob("*.png")) == ["chien", "猫"]


def test_zip_limits(tmp_path, monkeypatch):
    with pytest.raises(UploadError, match="not a readable ZIP"):
        extract_images_zip(b"PK\x03\x04broken", "x.zip", tmp_path)
    monkeypatch.setattr(export, "MAX_ZIP_ENTRIES", 2)
    with pytest.raises(UploadError, match="allowed up to 2"):
        extract_images_zip(make_zip({f"{i}.png": png_bytes() for i in range(3)}), "x.zip", tmp_path)
    monkeypatch.setattr(export, "MAX_ZIP_ENTRIES", 50_000)
    with pytest.raises(UploadError) as bomb:  # what is allowed is said, as for every other limit
        extract_images_zip(make_zip({"big.png": b"\0" * 2**20}), "x.zip", tmp_path)
    assert str(bomb.value) == (
        "x.zip: entry 'big.png' is compressed 1015x; allowed up to 200x an entry (no image compresses more: "
        "a decompression bomb is refused)"
    )
    monkeypatch.setattr(export, "MAX_ZIP_UNCOMPRESSED", 2**20)
    with pytest.raises(UploadError) as expands:
        extract_images_zip(make_zip({"a.png": png_bytes(), "b.png": b"\1" * 2**20}), "x.zip", tmp_path)
    assert (
        str(expands.value)
        == "x.zip: expands beyond 1 MiB; allowed up to 1 MiB unpacked, all entries together"
    )
    monkeypatch.setattr(export, "MAX_UPLOAD_BYTES", 10)
    with pytest.raises(UploadError, match="too large"):
        extract_images_zip(make_zip({"a.png": png_bytes()}), "x.zip", tmp_path)


def test_points_upload(tmp_path):
    path = save_points_upload(b"x,y\n0,1\n2,3\n", "my pts.csv", tmp_path)
    assert path.read_bytes() == b"x,y\n0,1\n2,3\n" and path.is_relative_to(tmp_path)
    source = load_data(GANConfig(dataset="points", data_path=str(path)))
    np.testing.assert_allclose(source.examples().numpy(), [[0, 1], [2, 3]])
    with pytest.raises(UploadError, match=r"\.csv"):
        save_points_upload(b"x", "pts.txt", tmp_path)
