"""The Guide's pictures (docs/guide, made by scripts/guide_pictures.py) are current for today's presets,
show what each preset is for, and are on the Guide page. A preset changed without its picture made again
fails here, with the command that makes it."""

from __future__ import annotations

import json
import shutil

import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from gan_core.flags import FAILURE_FLAGS
from gan_core.presets import (
    DEFAULT_PICTURE,
    PICTURES_MANIFEST,
    PRESETS,
    picture_fingerprint,
    read_pictures,
    stale_pictures,
)

PICTURE_WIDTH = 1100  # scripts/guide_pictures.py scales each to the Guide's column


def test_every_preset_and_the_defaults_have_a_current_picture():
    stale = stale_pictures()
    assert stale == [], (
        f"no current picture for {stale}: run python scripts/guide_pictures.py --presets {' '.join(stale)}"
    )


@pytest.mark.parametrize("name", [DEFAULT_PICTURE, *PRESETS])
def test_each_picture_is_a_train_view_of_a_run_that_showed_its_phenomenon(name):
    entry = read_pictures()[name]
    with Image.open(entry["file"]) as image:
        assert image.format == "PNG" and image.width == PICTURE_WIDTH
        assert 1.2 * PICTURE_WIDTH < image.height < 3.0 * PICTURE_WIDTH  # status line to charts, whole
    raised = entry["flags_raised"]
    failures = {flag for flag in raised if flag in FAILURE_FLAGS}
    if name == DEFAULT_PICTURE or PRESETS[name].healthy:
        assert failures == set() and entry["status"] == "finished"
    else:
        assert set(PRESETS[name].expected_flags) <= failures
    if name in ("healthy-ring8", "healthy-grid25"):
        assert "equilibrium" in raised and entry["quality"]["hq_pct"] >= 50
    if name == "mode-collapse":  # it ends collapsed: few modes, few points on any
        assert "equilibrium" not in raised and entry["quality"]["modes_covered"] <= 2


def test_a_stale_missing_or_broken_picture_is_left_out(tmp_path):
    folder = tmp_path / "guide"
    shutil.copytree(PICTURES_MANIFEST.parent, folder)
    manifest = folder / "manifest.json"
    data = json.loads(manifest.read_text(encoding="utf-8"))
    data["pictures"]["divergence"]["fingerprint"] = "0" * 64  # made from another divergence preset
    (folder / data["pictures"]["mode-collapse"]["file"]).unlink()
    data["pictures"]["no-such-preset"] = dict(data["pictures"]["default"])
    manifest.write_text(json.dumps(data), encoding="utf-8")
    assert set(read_pictures(manifest)) == {DEFAULT_PICTURE, *PRESETS} - {"divergence", "mode-collapse"}
    assert stale_pictures(manifest) == ["mode-collapse", "divergence"]
    manifest.write_text("{not json", encoding="utf-8")
    assert read_pictures(manifest) == {} and stale_pictures(manifest) == [DEFAULT_PICTURE, *PRESETS]


def test_a_fingerprint_follows_the_preset_config():
    assert len({picture_fingerprint(name) for name in (DEFAULT_PICTURE, *PRESETS)}) == len(PRESETS) + 1
    preset = PRESETS["mode-collapse"]
    assert preset.fingerprint() == picture_fingerprint("mode-collapse")
    changed = type(preset)(preset.name, preset.title, preset.watch_for, preset.expected_flags,
                           {**preset.overrides, "lr_g": 2e-3})  # fmt: skip
    assert changed.fingerprint() != preset.fingerprint()


def test_the_guide_shows_each_picture():
    at = AppTest.from_file(
        str(PICTURES_MANIFEST.parents[2] / "pages" / "3_Guide.py"), default_timeout=60
    ).run()
    assert not at.exception
    captions = [image.proto.imgs[0].caption for image in at.get("image")]
    assert len(captions) == len(PRESETS) + 1
    for name in PRESETS:
        assert sum(c.startswith(f"{PRESETS[name].title}, seed ") for c in captions) == 1
    assert any(c.startswith("the defaults") for c in captions)


def test_each_picture_has_a_text_alternative_saying_what_it_shows():
    # (a review: the ten pictures had no text for a screen reader) The alt text names the run, every flag
    # it raised and what to see in it; it is not the caption again.
    at = AppTest.from_file(
        str(PICTURES_MANIFEST.parents[2] / "pages" / "3_Guide.py"), default_timeout=60
    ).run()
    assert not at.exception
    images = {image.proto.imgs[0].caption: image.proto.imgs[0].alt for image in at.get("image")}
    assert len(images) == len(PRESETS) + 1
    pictures = read_pictures()
    for name in (DEFAULT_PICTURE, *PRESETS):
        title = PRESETS[name].title if name in PRESETS else "the defaults"
        start = f"{title}, seed " if name in PRESETS else title  # (the defaults say more: "(digits, ...)")
        ((caption, alt),) = [(c, a) for c, a in images.items() if c.startswith(start)]
        assert alt.strip() and alt != caption and alt.startswith("Screenshot of the Train view")
        assert title in alt and f"at step {pictures[name]['steps']:,}" in alt
        for flag, step in pictures[name]["flags_raised"].items():
            assert f"{flag} (" in alt and f"at step {step:,}" in alt
        if not pictures[name]["flags_raised"]:
            assert "No flag raised." in alt
        if name in PRESETS:
            assert PRESETS[name].watch_for in alt
