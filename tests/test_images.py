"""Images decoded as a viewer shows them: one picture stored in any of Pillow's modes and bit depths, with
its transparency stored in any of the ways PNG allows, decodes to the same array (`decode_image`), on the
way into training (the ``folder`` set, a ZIP upload) and into Ask D; hidden files and folders are not data."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from gan_core import probe
from gan_core.config import GANConfig
from gan_core.data import CACHE_ENV, DataError, decode_image, image_array, image_pixel_limit, load_data
from gan_core.export import extract_images_zip
from gan_core.models import build_models
from gan_core.trainer import Trainer
from tests.conftest import png_claiming, zip_of

SIDE = 16  # every picture is 16x16 and decoded at 16 px: no resampling, so lossless formats compare exactly
Y, X = np.mgrid[0:SIDE, 0:SIDE]
HOLE = (Y < 6) & (X >= 10)  # the transparent corner of the pictures below
OPAQUE = np.where(HOLE, 0, 255).astype(np.uint8)
SOFT = ((X + Y) * 8 + 10).astype(np.uint8)  # partial alpha, 10..250: every pixel its own alpha
# A colour gradient, every pixel its own colour (so a palette holds it exactly), no pure white.
COLOUR = np.stack([X * 16, Y * 16, (X + Y) * 7 + 10], axis=-1).astype(np.uint8)
# A gray gradient, 5..245: the value 0 is free to be a tRNS colour key, and so is (1, 2, 3) in COLOUR.
GRAY = (X * 15 + Y + 5).astype(np.uint8)
BINARY = ((X // 4 + Y // 4) % 2 == 0) | (X == Y)  # a 1-bit picture: checkerboard and a diagonal


def over_white(colour: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """The documented rule, written independently of the product: alpha-over-white, rounded."""
    a = alpha.astype(np.float64)[..., None] if colour.ndim == 3 else alpha.astype(np.float64)
    return np.rint((colour * a + 255.0 * (255.0 - a)) / 255.0).astype(np.uint8)


FLAT_COLOUR, FLAT_GRAY = over_white(COLOUR, OPAQUE), over_white(GRAY, OPAQUE)
SOFT_COLOUR, SOFT_GRAY = over_white(COLOUR, SOFT), over_white(GRAY, SOFT)


def save(image: Image.Image, path: Path, **options) -> Path:
    image.save(path, **options)
    return path


def decode(path: Path) -> np.ndarray:
    return decode_image(path, SIDE)


def palette_image(colour: np.ndarray, hole: np.ndarray | None = None) -> tuple[Image.Image, np.ndarray]:
    """``colour`` as a "P" image with one palette entry per colour (the last one, black, for ``hole``
    when given); also returns each pixel's palette index."""
    hole = np.zeros(colour.shape[:2], dtype=bool) if hole is None else hole
    table = np.unique(colour[~hole], axis=0)
    table = np.vstack([table, [[0, 0, 0]]]) if hole.any() else table
    # each pixel's row in the table; the hole's pixels the last (black) row
    index = np.where(hole, len(table) - 1, 0)
    for row, entry in enumerate(table[: len(table) - hole.any()]):
        index[(colour == entry).all(axis=-1) & ~hole] = row
    assert len(table) <= 256
    image = Image.fromarray(index.astype(np.uint8), "P")
    image.putpalette(table.astype(np.uint8).tobytes())
    return image, index


def png_header(path: Path) -> tuple[int, int]:
    """(bit depth, colour type) from a PNG's IHDR chunk, so a test knows what is really on disk."""
    data = path.read_bytes()
    assert data[12:16] == b"IHDR"
    return data[24], data[25]


# ---------------------------------------------------------------------------------------------- one picture
def colour_files(tmp_path: Path) -> dict[str, Path]:
    """The colour picture with a fully transparent corner, stored every way that keeps it exactly."""
    files = {}
    rgba = np.dstack([np.where(HOLE[..., None], 0, COLOUR), OPAQUE])  # hidden pixels black, as often
    files["png RGBA"] = save(Image.fromarray(rgba, "RGBA"), tmp_path / "rgba.png")
    indexed, index = palette_image(COLOUR, HOLE)
    files["png P, transparency index"] = save(
        indexed, tmp_path / "p_index.png", transparency=int(index.max())
    )
    keyed = np.where(HOLE[..., None], np.array([1, 2, 3], dtype=np.uint8), COLOUR)
    files["png RGB, tRNS colour key"] = save(
        Image.fromarray(keyed), tmp_path / "key.png", transparency=(1, 2, 3)
    )
    files["webp RGBA lossless"] = save(Image.fromarray(rgba, "RGBA"), tmp_path / "rgba.webp", lossless=True)
    files["tiff RGBA"] = save(Image.fromarray(rgba, "RGBA"), tmp_path / "rgba.tif")
    pa = Image.merge("PA", [Image.fromarray(index.astype(np.uint8)), Image.fromarray(OPAQUE)])
    pa.putpalette(indexed.getpalette())
    files["tiff PA"] = save(pa, tmp_path / "pa.tif")  # Pillow writes PA only as TIFF
    # Formats without transparency hold the picture as it is shown: on white.
    files["png RGB"] = save(Image.fromarray(FLAT_COLOUR), tmp_path / "rgb.png")
    files["bmp RGB"] = save(Image.fromarray(FLAT_COLOUR), tmp_path / "rgb.bmp")
    files["tiff CMYK"] = save(Image.fromarray(FLAT_COLOUR).convert("CMYK"), tmp_path / "cmyk.tif")
    return files


def test_one_colour_picture_stored_every_lossless_way_decodes_the_same(tmp_path):
    files = colour_files(tmp_path)
    assert png_header(files["png P, transparency index"]) == (8, 3)  # really a palette PNG
    with Image.open(files["png RGB, tRNS colour key"]) as image:
        assert (image.mode, image.info["transparency"]) == ("RGB", (1, 2, 3))
    for how, path in files.items():
        # Lossless storage and a conversion that is exact in 8 bits (CMYK from RGB is 255 - c, k = 0):
        # no tolerance at all.
        np.testing.assert_array_equal(decode(path), FLAT_COLOUR, err_msg=how)


def test_one_colour_picture_with_partial_alpha_decodes_the_same(tmp_path):
    rgba = np.dstack([COLOUR, SOFT])
    files = {
        "png RGBA": save(Image.fromarray(rgba, "RGBA"), tmp_path / "soft.png"),
        "webp RGBA lossless": save(Image.fromarray(rgba, "RGBA"), tmp_path / "soft.webp", lossless=True),
        "tiff RGBA": save(Image.fromarray(rgba, "RGBA"), tmp_path / "soft.tif"),
    }
    # A palette with a tRNS alpha table: one entry per pixel, each with its own alpha.
    indexed, index = palette_image(COLOUR)
    alphas = np.zeros(256, dtype=np.uint8)
    alphas[index] = SOFT
    files["png P, tRNS alpha table"] = save(indexed, tmp_path / "table.png", transparency=alphas.tobytes())
    pa = Image.merge("PA", [Image.fromarray(index.astype(np.uint8)), Image.fromarray(SOFT)])
    pa.putpalette(indexed.getpalette())
    files["tiff PA"] = save(pa, tmp_path / "soft_pa.tif")
    with Image.open(files["png P, tRNS alpha table"]) as image:
        assert image.mode == "P" and isinstance(image.info["transparency"], bytes)
    for how, path in files.items():
        np.testing.assert_array_equal(decode(path), SOFT_COLOUR, err_msg=how)  # all lossless: exact


def gray_files(tmp_path: Path) -> dict[str, Path]:
    """The gray picture with a fully transparent corner, stored every way that keeps it exactly."""
    files = {}
    keyed = np.where(HOLE, 0, GRAY).astype(np.uint8)
    files["png L, tRNS gray key"] = save(Image.fromarray(keyed), tmp_path / "l_key.png", transparency=0)
    la = Image.merge("LA", [Image.fromarray(keyed), Image.fromarray(OPAQUE)])
    files["png LA"] = save(la, tmp_path / "la.png")
    files["tiff LA"] = save(la, tmp_path / "la.tif")
    # 16 bits: v * 257 spans 0..65535 exactly as v spans 0..255, and decodes back by / 257.
    deep = Image.fromarray(keyed.astype(np.uint16) * 257)
    assert deep.mode == "I;16"
    files["png 16-bit gray, tRNS key"] = save(deep, tmp_path / "deep_key.png", transparency=0)
    flat16 = FLAT_GRAY.astype(np.uint16) * 257
    files["png 16-bit gray"] = save(Image.fromarray(flat16), tmp_path / "deep.png")
    files["tiff I;16"] = save(Image.fromarray(flat16), tmp_path / "deep.tif")
    # big-endian 16 bits (Pillow's convert("I;16B") clips to 255, so the bytes are written directly)
    big = Image.frombytes("I;16B", (SIDE, SIDE), flat16.astype(">u2").tobytes())
    files["tiff I;16B"] = save(big, tmp_path / "deep_b.tif")
    # 32-bit signed integers span 0..2**31 - 1; Pillow writes mode I only as TIFF.
    flat32 = np.rint(FLAT_GRAY / 255.0 * (2**31 - 1)).astype(np.int32)
    files["tiff I 32-bit"] = save(Image.fromarray(flat32), tmp_path / "int32.tif")
    files["tiff F 0..1"] = save(Image.fromarray((FLAT_GRAY / 255.0).astype(np.float32)), tmp_path / "f.tif")
    files["png L"] = save(Image.fromarray(FLAT_GRAY), tmp_path / "l.png")
    files["bmp L"] = save(Image.fromarray(FLAT_GRAY), tmp_path / "l.bmp")
    return files


def test_one_gray_picture_stored_every_lossless_way_decodes_the_same(tmp_path):
    files = gray_files(tmp_path)
    # What is on disk is what the test says: 16-bit gray with a tRNS chunk, 16-bit gray, 8-bit gray + alpha.
    assert png_header(files["png 16-bit gray, tRNS key"]) == (16, 0)
    assert b"tRNS" in files["png 16-bit gray, tRNS key"].read_bytes()
    assert png_header(files["png 16-bit gray"]) == (16, 0)
    assert png_header(files["png LA"]) == (8, 4)
    with Image.open(files["tiff I 32-bit"]) as image, Image.open(files["tiff F 0..1"]) as floats:
        assert (image.mode, floats.mode) == ("I", "F")
    for how, path in files.items():
        # Every one lossless, and the scalings (/ 257, * 255 / (2**31 - 1), * 255) land back on the 8-bit
        # values exactly: no tolerance.
        np.testing.assert_array_equal(decode(path), FLAT_GRAY, err_msg=how)


def test_gray_with_partial_alpha_and_gray_in_colour_modes(tmp_path):
    la = Image.merge("LA", [Image.fromarray(GRAY), Image.fromarray(SOFT)])
    for path in (save(la, tmp_path / "soft.png"), save(la, tmp_path / "soft.tif")):
        np.testing.assert_array_equal(decode(path), SOFT_GRAY)
    # Gray stays one channel and colour three (the mode decides, as the folder set's channels always
    # have); the same gray picture in a colour mode is that gray in each of R, G and B.
    rgba = np.dstack([np.repeat(GRAY[..., None], 3, axis=2), SOFT])
    colour = decode(save(Image.fromarray(rgba, "RGBA"), tmp_path / "gray_rgba.png"))
    np.testing.assert_array_equal(colour, np.repeat(SOFT_GRAY[..., None], 3, axis=2))


def test_a_one_bit_picture_stored_every_way_decodes_the_same(tmp_path):
    picture = np.where(BINARY, 255, 0).astype(np.uint8)
    one_bit = Image.fromarray(BINARY)
    assert one_bit.mode == "1"
    png = save(one_bit, tmp_path / "one.png")
    assert png_header(png) == (1, 0)
    files = [png, save(one_bit, tmp_path / "one.bmp"), save(one_bit, tmp_path / "one.tif")]
    files.append(save(Image.fromarray(picture), tmp_path / "eight.png"))
    for path in files:
        np.testing.assert_array_equal(decode(path), picture, err_msg=path.name)
    # 1-bit with a tRNS key (black transparent): black shows as white paper, so all is white.
    keyed = save(one_bit, tmp_path / "one_key.png", transparency=0)
    np.testing.assert_array_equal(decode(keyed), np.full((SIDE, SIDE), 255, dtype=np.uint8))


def test_lossy_and_converted_storage_stays_close(tmp_path):
    flat = Image.fromarray(FLAT_COLOUR)
    cases = {
        # JPEG at quality 95 without chroma subsampling: its DCT quantisation moves the smooth gradient
        # by about a level on average (measured 0.3..1.0), and rings by up to 14 levels beside the white
        # corner's hard edge.
        "jpeg RGB": (save(flat, tmp_path / "rgb.jpg", quality=95, subsampling=0), FLAT_COLOUR, 1.5, 16),
        "jpeg CMYK": (save(flat.convert("CMYK"), tmp_path / "cmyk.jpg", quality=95), FLAT_COLOUR, 1.5, 16),
        "jpeg L": (save(Image.fromarray(FLAT_GRAY), tmp_path / "l.jpg", quality=95), FLAT_GRAY, 1.5, 16),
        # YCbCr in 8 bits rounds a round trip by up to 3 levels per channel (measured mean 1.0).
        "tiff YCbCr": (save(flat.convert("YCbCr"), tmp_path / "ycbcr.tif"), FLAT_COLOUR, 1.5, 3),
        # 8-bit Lab: a level on average, but one step of a or b moves a saturated colour's channel that
        # sits near 0 by up to 27 levels (measured), where sRGB's curve is steepest.
        "tiff LAB": (save(flat.convert("LAB"), tmp_path / "lab.tif"), FLAT_COLOUR, 1.5, 32),
    }
    for how, (path, expected, mean_limit, max_limit) in cases.items():
        with Image.open(path) as image:  # stored in the mode the case names
            assert image.mode == how.split()[1] or (how == "jpeg L" and image.mode == "L")
        diff = np.abs(decode(path).astype(np.int64) - expected)
        assert diff.mean() < mean_limit and diff.max() <= max_limit, (how, diff.mean(), diff.max())


def test_modes_no_file_format_here_writes_go_through_the_same_rule():
    """HSV, premultiplied alpha and an "I" image without file tags (a 16-bit PNG as older Pillow opened
    it) cannot be written to a file the product reads; `image_array` is the rule `decode_image` applies."""
    rgba = Image.fromarray(np.dstack([COLOUR, OPAQUE]), "RGBA")
    np.testing.assert_array_equal(image_array(rgba.convert("RGBa")), FLAT_COLOUR)  # alpha 0/255: exact
    la = Image.merge("LA", [Image.fromarray(GRAY), Image.fromarray(OPAQUE)])
    np.testing.assert_array_equal(image_array(la.convert("La")), FLAT_GRAY)
    as_int = Image.fromarray(FLAT_GRAY.astype(np.uint16) * 257).convert("I")
    assert as_int.mode == "I"
    np.testing.assert_array_equal(image_array(as_int), FLAT_GRAY)
    # HSV in 8 bits quantises hue to 256 steps: under a level on average (measured 0.3), 4 at most.
    diff = np.abs(image_array(Image.fromarray(FLAT_COLOUR).convert("HSV")).astype(np.int64) - FLAT_COLOUR)
    assert diff.mean() < 1.0 and diff.max() <= 5, (diff.mean(), diff.max())
    # Floats read as 0..1: below 0 is black, above 1 white, NaN black.
    floats = Image.fromarray(np.array([[-0.5, 0.5, 2.0, np.nan]], dtype=np.float32))
    np.testing.assert_array_equal(image_array(floats), [[0, 128, 255, 0]])


# ---------------------------------------------------------------------------------------------- 16 bits
RAMP = np.rint(np.linspace(0, 65535, SIDE * SIDE)).astype(np.uint16).reshape(SIDE, SIDE)


def ramp_png(path: Path) -> Path:
    save(Image.fromarray(RAMP), path)
    assert png_header(path) == (16, 0)  # 16-bit gray on disk
    return path


def test_a_16_bit_ramp_is_scaled_not_clipped(tmp_path):
    decoded = decode(ramp_png(tmp_path / "ramp.png"))
    # Clipping to 255 made it ~254; scaling by / 257 gives the ramp's own mean, 127.5.
    assert decoded.mean() == pytest.approx(127.5, abs=0.5)
    np.testing.assert_array_equal(decoded, np.rint(RAMP / 257.0).astype(np.uint8))


def test_the_16_bit_ramp_reaches_training_and_the_real_view_scaled(tmp_path):
    folder = tmp_path / "ramp"
    folder.mkdir()
    ramp_png(folder / "ramp.png")
    cfg = GANConfig(dataset="folder", data_path=str(folder), image_size=SIDE, device="cpu", width=16)
    examples = load_data(cfg).examples()
    assert examples.shape == (1, 1, SIDE, SIDE)
    expected = torch.from_numpy(np.rint(RAMP / 257.0) / 127.5 - 1.0).float()
    torch.testing.assert_close(examples[0, 0], expected, atol=1e-6, rtol=0)
    assert examples.mean().item() == pytest.approx(0.0, abs=0.005)  # mid-gray, not white (+1)
    # samples/real.png is this grid: one 1-px white border, then the first image.
    grid = Trainer(cfg).real_view()["grid"]
    tile = grid[1 : 1 + SIDE, 1 : 1 + SIDE, 0].astype(np.int64)
    # [-1, 1] -> [0, 255] again, rounded: at most one level off the decoded ramp
    assert np.abs(tile - np.rint(RAMP / 257.0)).max() <= 1
    assert tile.mean() == pytest.approx(127.5, abs=1.0)


def test_ask_d_reads_a_16_bit_upload_as_training_does(tmp_path):
    folder = tmp_path / "ramp"
    folder.mkdir()
    data = ramp_png(folder / "ramp.png").read_bytes()
    cfg = GANConfig(
        dataset="folder", data_path=str(folder), image_size=SIDE, channels=1, device="cpu", width=16
    )
    G, D = build_models(cfg, (1, SIDE, SIDE))
    models = probe.ProbeModels(cfg, G.eval(), D.eval(), (1, SIDE, SIDE), 0)
    uploaded = probe.parse_image_uploads([("ramp.png", data)], models)
    assert uploaded.mean() == pytest.approx(0.0, abs=0.005)  # mid-gray, as in training
    np.testing.assert_allclose(uploaded, load_data(cfg).examples().numpy(), rtol=0, atol=1e-6)


# ---------------------------------------------------------------------------------------------- hidden files
APPLE_DOUBLE = b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        " + bytes(40)  # a macOS ._name file


def png(colour: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (SIDE, SIDE), colour).save(buffer, format="PNG")
    return buffer.getvalue()


RED, BLUE, GREEN = png((255, 0, 0)), png((0, 0, 255)), png((0, 255, 0))


def tree(apple_double: bytes) -> dict[str, bytes]:
    """Two classes a and c, one image each, among what notebooks, macOS and desktops leave behind."""
    return {
        "a/one.png": RED,
        "c/two.png": BLUE,
        ".ipynb_checkpoints/one-checkpoint.png": GREEN,
        "a/._one.png": apple_double,
        ".Trash-1000/x.png": GREEN,
        "b/.hidden/y.png": GREEN,
    }


def write_tree(root: Path, entries: dict[str, bytes]) -> Path:
    for name, data in entries.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return root


def training_set(folder: Path):
    source = load_data(GANConfig(dataset="folder", data_path=str(folder), image_size=SIDE, device="cpu"))
    return source.examples(), source.labels, source.skipped_files


@pytest.mark.parametrize("apple_double", [APPLE_DOUBLE, GREEN], ids=["apple-double", "valid-png"])
def test_hidden_files_and_folders_are_not_data_in_a_folder_or_its_zip(tmp_path, apple_double):
    entries = tree(apple_double)
    folder_set = training_set(write_tree(tmp_path / "folder", entries))
    macos = {"__MACOSX/a/._one.png": apple_double, "__MACOSX/c/._two.png": GREEN}
    extracted = extract_images_zip(zip_of({**entries, **macos}), "set.zip", tmp_path / "uploads")
    assert sorted(p.relative_to(extracted).as_posix() for p in extracted.rglob("*") if p.is_file()) == [
        "a/one.png",
        "c/two.png",
    ]
    zip_set = training_set(extracted)
    # Exactly a/one.png (red, class 0) and c/two.png (blue, class 1); a hidden file is not "skipped".
    red, blue = torch.tensor([1.0, -1.0, -1.0]), torch.tensor([-1.0, -1.0, 1.0])
    for examples, labels, skipped in (folder_set, zip_set):
        torch.testing.assert_close(examples.mean(dim=(2, 3)), torch.stack([red, blue]), atol=1e-6, rtol=0)
        assert labels.tolist() == [0, 1] and skipped == 0


def test_a_zip_wrapped_in_its_folder_gives_the_folders_training_set(tmp_path):
    """macOS's Compress (and Windows' Send to ZIP) put the folder itself into the ZIP: set/a/one.png."""
    entries = tree(APPLE_DOUBLE)
    folder_set = training_set(write_tree(tmp_path / "outer" / "set", entries))
    wrapped = {f"set/{name}": data for name, data in entries.items()}
    wrapped["__MACOSX/set/a/._one.png"] = APPLE_DOUBLE
    zip_set = training_set(extract_images_zip(zip_of(wrapped), "set.zip", tmp_path / "uploads"))
    torch.testing.assert_close(zip_set[0], folder_set[0], atol=0, rtol=0)
    assert zip_set[1].tolist() == folder_set[1].tolist() == [0, 1]
    # and a folder given one level up, around the class folders, is the same set too
    up_set = training_set(tmp_path / "outer")
    torch.testing.assert_close(up_set[0], folder_set[0], atol=0, rtol=0)
    assert up_set[1].tolist() == [0, 1]


def test_a_hidden_data_root_is_still_read(tmp_path):
    """Only parts below the data root count: the dashboard's uploads live in <runs>/.uploads/."""
    root = write_tree(tmp_path / ".uploads" / "set-1234", {"a/one.png": RED, "c/two.png": BLUE})
    examples, labels, _ = training_set(root)
    assert examples.shape == (2, 3, SIDE, SIDE) and labels.tolist() == [0, 1]


# ---------------------------------------------------------------------------------------------- too large
TOO_LARGE = (
    "too large: over 178,956,970 pixels, the most an image may have (about 13,377 x 13,377); scale it down"
)


def test_an_image_too_large_to_decode_is_left_out_and_said_to_be_too_large(tmp_path, monkeypatch):
    assert image_pixel_limit() == 2 * Image.MAX_IMAGE_PIXELS == 178_956_970  # PIL's own limit
    folder = write_tree(
        tmp_path / "images",
        {"a/one.png": RED, "c/two.png": BLUE, "a/vast.png": png_claiming(20_000, 10_000), "c/x.png": b"junk"},
    )
    note = (
        f"2 files that could not be read as an image were left out (1 of them is {TOO_LARGE}): "
        "'a/vast.png', 'c/x.png'."
    )
    examples, labels, skipped = training_set(folder)
    assert len(examples) == 2 and labels.tolist() == [0, 1] and skipped == 2  # the two images are read
    cfg = GANConfig(dataset="folder", data_path=str(folder), image_size=SIDE, device="cpu")
    assert load_data(cfg).skipped_note() == note
    # A folder read through its cache file (built, then reused) says the same: the count is in its record.
    monkeypatch.setattr("gan_core.data.CACHE_HELD_FROM", 2)
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    built, reused = load_data(cfg), load_data(cfg)
    assert any(n.startswith("decoded 4 files into the data cache") for n in built.notes)
    assert any(n.startswith("reused the data cache") for n in reused.notes)
    assert built.skipped_note() == reused.skipped_note() == note
    # A folder of that one image only: no images, and why.
    alone = write_tree(tmp_path / "alone", {"vast.png": png_claiming(20_000, 10_000)})
    with pytest.raises(DataError) as refused:
        load_data(cfg.replace(data_path=str(alone)))
    assert str(refused.value) == (
        f"no images (png, jpg, jpeg, webp, bmp) found under {alone}: 1 files with such a name could not be "
        f"read (it is {TOO_LARGE})"
    )
