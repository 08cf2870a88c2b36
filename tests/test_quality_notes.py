"""What a run's quality evaluation left out, said where the user looks: the Train view (`quality_notes`)
and the CLI's terminal. A review: a mistyped $GAN_DASHBOARD_INCEPTION_WEIGHTS was said in events.csv only,
and a folder run's lone `diversity` chart never said why FID and the classifier's metrics were absent."""

from pathlib import Path

import pandas as pd
from streamlit.testing.v1 import AppTest

from gan_core.charts import QUALITY_ERRORS_SHOWN, quality_notes
from gan_core.config import GANConfig
from gan_core.inception import INCEPTION_ENV
from gan_core.rundir import RunDir
from gan_core.runner import Runner
from tests.test_literal import shown
from ui.common import RUNS_ENV

APP_DIR = Path(__file__).resolve().parents[1]


def _error(step, text):
    return {"step": step, "kind": "eval_error", "detail": text, "fields": {"error": text}}


def test_each_evaluation_error_once_at_its_newest_step_and_the_newest_few():
    events = [
        _error(50, "Inception weights: not a file"),
        {"step": 60, "kind": "hparam", "fields": {"field": "lr_g", "old": 1, "new": 2}},
        _error(100, "class metrics left out: no data"),
        _error(150, "Inception weights: not a file"),
        {"step": 160, "kind": "eval_error", "fields": {}},  # no error: nothing to say
    ]
    errors, _ = quality_notes(events, ["diversity"], "images", "folder")
    assert errors == [
        "Quality evaluation at step 100: class metrics left out: no data",
        "Quality evaluation at step 150: Inception weights: not a file",
    ]
    many = [_error(i, f"error {i}") for i in range(1, 8)]
    errors, _ = quality_notes(pd.DataFrame(many), [], "points", None)  # events.csv's frame too
    assert len(errors) == QUALITY_ERRORS_SHOWN and errors[-1] == "Quality evaluation at step 7: error 7"


def test_the_feature_spaces_an_image_run_was_not_measured_in_are_named_with_what_measures_them():
    _, folder = quality_notes([], ["diversity"], "images", "folder")
    assert f"${INCEPTION_ENV}" in folder and "No FID, KID" in folder
    assert "No classifier-space metrics" in folder and "digits, mnist, fashion-mnist" in folder
    _, digits = quality_notes([], ["diversity", "fd_cls", "kid_cls"], "images", "digits")
    assert "No FID, KID" in digits and "classifier-space" not in digits
    _, both = quality_notes([], ["fid", "fd_cls"], "images", "mnist")
    assert both == ""
    _, folder_fid = quality_notes([], ["fid", "diversity"], "images", "folder")
    assert "FID" not in folder_fid and "No classifier-space metrics" in folder_fid
    # nothing evaluated yet, or no images: nothing to say
    assert quality_notes([], [], "images", "folder") == ([], "")
    assert quality_notes([], ["grid_js", "modes_covered"], "points", "ring8") == ([], "")


def test_the_cli_says_an_unusable_inception_weights_file_in_the_terminal_once(cli, tmp_path, monkeypatch):
    monkeypatch.setenv(INCEPTION_ENV, str(tmp_path / "mistyped.pth"))
    out = cli(
        "train", "--dataset", "digits", "--steps", "6", "--eval-every", "2", "--out", str(tmp_path),
        "--run-id", "r", "--width", "16", "--latent-dim", "4", "--batch-size", "16", "--device", "cpu",
        "--quiet",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    said = [line for line in out.stderr.splitlines() if line.startswith("warning: quality evaluation")]
    assert len(said) == 1 and "mistyped.pth" in said[0] and "at step 2:" in said[0]
    events = RunDir.open(tmp_path, "r").read_events()
    assert (events["kind"] == "eval_error").sum() == 1  # recorded too, as before


def test_the_train_view_says_the_error_and_what_was_not_measured(tmp_path, monkeypatch):
    monkeypatch.setenv(INCEPTION_ENV, str(tmp_path / "mistyped.pth"))
    monkeypatch.setenv(RUNS_ENV, str(tmp_path))
    cfg = GANConfig(
        dataset="digits", steps=4, eval_every=2, width=16, latent_dim=4, batch_size=16, device="cpu"
    )
    runner = Runner(cfg, tmp_path, "r").start()
    assert runner.wait(60) and runner.status == "finished", runner.error
    at = AppTest.from_file(str(APP_DIR / "dashboard.py"), default_timeout=60)
    at.query_params["run"] = "r"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    warnings = [shown(w.value) for w in at.warning if "Quality evaluation" in shown(w.value)]
    assert len(warnings) == 1 and "at step 2:" in warnings[0] and "mistyped.pth" in warnings[0]
    captions = [shown(c.value) for c in at.caption if "No FID" in shown(c.value)]
    assert len(captions) == 1 and INCEPTION_ENV in captions[0] and "classifier-space" not in captions[0]
