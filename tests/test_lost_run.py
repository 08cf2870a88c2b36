"""A run whose folder goes while the Train view watches it (deleted or moved by hand, or by another
program): the page says which run is gone and why, once, with the controls off, and keeps saying it
until another run is watched; the other runs are untouched. The live refresh's side of it (the run
trained by another process) is in tests/e2e/test_external_run.py."""

from __future__ import annotations

import shutil
from pathlib import Path

from streamlit.testing.v1 import AppTest

from gan_core.config import GANConfig
from gan_core.runner import Runner
from tests.test_literal import shown

APP_DIR = Path(__file__).resolve().parents[1]
TIMEOUT = 60
TINY = dict(
    dataset="ring8", width=16, latent_dim=4, batch_size=16, device="cpu", steps=10, checkpoint_every=0
)
GONE = "Run watched cannot be shown any more: its folder "


def test_the_train_view_says_a_watched_run_is_gone_until_another_is_watched(runs_root):
    for run_id in ("watched", "other"):
        runner = Runner(GANConfig(**TINY), runs_root, run_id).start()
        assert runner.wait(TIMEOUT) and runner.status == "finished"
    at = AppTest.from_file(str(APP_DIR / "dashboard.py"), default_timeout=TIMEOUT)
    at.query_params["run"] = "watched"
    at.run()
    assert not at.exception and not at.error
    assert at.session_state["run_id"] == "watched"

    shutil.rmtree(runs_root / "watched")
    at.run()  # any rerun (a click, a refresh of the page)
    assert not at.exception
    errors = [shown(e.value) for e in at.error]
    assert len(errors) == 1 and errors[0].startswith(GONE), errors
    assert "deleted, moved or damaged while this page watched it" in errors[0]
    # its folder named as gone, not with the lookup's hint for a mistyped id (a review: "(no folder of that
    # name: a run id as the Runs page or `python -m gan_core runs` lists it)" in a deletion's notice)
    assert errors[0].startswith(f"{GONE}{runs_root / 'watched'} is gone. ")
    assert "gan_core runs" not in errors[0]
    assert all(at.button(key=key).disabled for key in ("btn_pause", "btn_resume", "btn_step", "btn_stop"))
    assert "run" not in at.query_params
    at.run()  # and the next: still said
    assert [shown(e.value) for e in at.error] == errors

    at.selectbox(key="cfg_dataset").set_value("points").run()  # no data_path: Start cannot start
    assert at.button(key="btn_start").disabled
    (said,) = [shown(e.value) for e in at.error]
    assert (
        said.startswith(GONE)
        and "Press Start" not in said
        and said.endswith("(the line under Start says what).")
    )

    at.query_params["run"] = "other"  # another run watched: the message has done its work
    at.session_state["run_id"] = None
    at.run()
    assert not at.exception and not at.error
    assert at.session_state["run_id"] == "other" and (runs_root / "other" / "metrics.csv").is_file()
