"""Make the Guide's pictures: the Train view at the end of each scenario preset's run, and of the defaults.

``python scripts/guide_pictures.py [--presets NAME ...] [--seed 0] [--threads 1]``

Each preset (and ``default``, the sidebar's defaults) is trained in full under a `Runner`, as Start does
(`benchmarks.presets.run_one`), into a throwaway runs folder. A ``streamlit run dashboard.py`` on that folder
then shows each finished run read-only (``?run=ID``) in headless Chromium (Debian's, as the browser tests
drive it), and the part of the Train view from the status line to the end of its samples and charts is saved
as ``docs/guide/NAME.png``. ``docs/guide/manifest.json`` records, per picture, the preset's fingerprint
(`Preset.fingerprint`: a hash of its whole config) and what the run did (steps, status, flags raised with
their first step, final quality metrics). The Guide shows a picture only while its fingerprint is current;
``tests/test_guide_pictures.py`` fails in CI when a preset changed and its picture was not made again. With
``--presets`` only those pictures are made; the others in the manifest are kept.

Takes about 15 minutes for all of them on 2 CPU cores (training is most of it).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script from anywhere: the project's packages first

import torch  # noqa: E402
from PIL import Image  # noqa: E402  (Pillow, torchvision's dependency)
from playwright.sync_api import sync_playwright  # noqa: E402

from benchmarks.dashboard import CHROMIUM_ARGS  # noqa: E402
from benchmarks.presets import run_one  # noqa: E402
from gan_core.config import GANConfig  # noqa: E402
from gan_core.presets import (  # noqa: E402
    DEFAULT_PICTURE,
    PICTURES_DIR,
    PICTURES_MANIFEST,
    PRESETS,
    picture_fingerprint,
)

CHROMIUM = "/usr/bin/chromium"
VIEWPORT = {"width": 1500, "height": 3400}  # tall enough for the whole Train view: nothing scrolls
PICTURE_WIDTH = 1100  # px, after scaling down: the Guide's column width, charts still legible
DRAWN_TIMEOUT_MS = 120_000
# The Train view's parts (pages/0_Train.py's containers): the picture spans them, from the status line
# to the lower of the samples and the charts (a 2D run's samples come first, an image run's last).
FIRST_PART, LAST_PARTS = ".st-key-live_status", (".st-key-live_samples", ".st-key-live_charts")
ALL_DRAWN = "() => [...document.querySelectorAll('.live-chart')].every(c => c.querySelector('.main-svg'))"


def train(names: list[str], seed: int, root: Path) -> dict[str, dict]:
    """Train each named preset (or the defaults) in full; name -> `run_one`'s row."""
    rows = {}
    for name in names:
        if name == DEFAULT_PICTURE:
            row = run_one(name, GANConfig(seed=seed, device="cpu"), (), root)
        else:
            preset = PRESETS[name]
            row = run_one(name, preset.config(seed=seed, device="cpu"), preset.expected_flags, root)
        print(
            f"{name}: {row['status']} at step {row['steps']} in {row['wall_s']:.0f} s, flags {row['raised']}"
        )
        rows[name] = row
    return rows


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def dashboard(runs_root: Path) -> Iterator[str]:
    """``streamlit run dashboard.py`` on ``runs_root`` until the block ends; yields its URL once healthy."""
    port = free_port()
    env = {**os.environ, "GAN_DASHBOARD_RUNS": str(runs_root), "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "streamlit", "run", "dashboard.py", f"--server.port={port}",
               "--server.address=127.0.0.1", "--server.headless=true", "--browser.gatherUsageStats=false",
               "--server.fileWatcherType=none"]  # fmt: skip
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r,
            ):
                if r.read().strip() == b"ok":
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the dashboard did not start (exit code {process.poll()})")
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(0.5)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()


def photograph(url: str, rows: dict[str, dict]) -> dict[str, bytes]:
    """Each run's Train view, read-only, from the status line to the end of its samples and charts: name ->
    PNG bytes."""
    pictures = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            for name, row in rows.items():
                page = browser.new_page(viewport=VIEWPORT)
                page.goto(f"{url}/?run={row['run_id']}")
                for selector in (".st-key-chart_metrics .main-svg", ".st-key-chart_samples .main-svg"):
                    page.locator(selector).first.wait_for(timeout=DRAWN_TIMEOUT_MS)
                # every chart of the view drawn (each live chart draws in a task of its own)
                page.wait_for_function(ALL_DRAWN, timeout=DRAWN_TIMEOUT_MS)
                page.wait_for_timeout(1500)  # plotly's last layout pass and the fonts: nothing to wait on
                top = page.locator(FIRST_PART).bounding_box()
                parts = [page.locator(part).bounding_box() for part in LAST_PARTS]
                bottom = max(part["y"] + part["height"] for part in parts)
                clip = {
                    "x": top["x"] - 8,
                    "y": top["y"] - 8,
                    "width": top["width"] + 16,
                    "height": bottom - top["y"] + 16,
                }
                pictures[name] = page.screenshot(clip=clip)
                page.close()
        finally:
            browser.close()
    return pictures


def scaled(png: bytes) -> bytes:
    """The screenshot at `PICTURE_WIDTH`, in 256 colours (charts have few: a third of the bytes)."""
    image = Image.open(io.BytesIO(png)).convert("RGB")
    if image.width != PICTURE_WIDTH:
        height = round(image.height * PICTURE_WIDTH / image.width)
        image = image.resize((PICTURE_WIDTH, height), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    image.quantize(colors=256).save(out, format="PNG", optimize=True)
    return out.getvalue()


def main(argv: list[str] | None = None) -> None:
    names = [DEFAULT_PICTURE, *PRESETS]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", nargs="+", default=names, choices=names, metavar="NAME",
                        help="pictures to make: " + ", ".join(names))  # fmt: skip
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (default 1)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "runs"
        rows = train(args.presets, args.seed, root)
        with dashboard(root) as url:
            pictures = photograph(url, rows)
    try:
        manifest = json.loads(PICTURES_MANIFEST.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        manifest = {}
    entries = manifest.get("pictures", {}) if isinstance(manifest.get("pictures"), dict) else {}
    PICTURES_DIR.mkdir(parents=True, exist_ok=True)
    for name, png in pictures.items():
        row = rows[name]
        (PICTURES_DIR / f"{name}.png").write_bytes(scaled(png))
        entries[name] = {
            "file": f"{name}.png",
            "fingerprint": picture_fingerprint(name),
            "seed": args.seed,
            "steps": row["steps"],
            "status": row["status"],
            "flags_raised": row["raised"],
            "quality": {
                k: row[k] for k in ("modes_covered", "hq_pct", "classes_covered", "diversity") if k in row
            },
        }
        print(f"wrote {PICTURES_DIR / f'{name}.png'}")
    manifest = {
        "about": "made by scripts/guide_pictures.py, checked by tests/test_guide_pictures.py",
        "pictures": {name: entries[name] for name in names if name in entries},
    }
    PICTURES_MANIFEST.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
