"""A runs folder that cannot be used (a file, a folder that cannot be made) and arguments the dashboard
ignores: one clear message on every page that reads runs, never a traceback (a newcomer's review:
``GAN_DASHBOARD_RUNS=/etc/hostname`` stopped every page on FileExistsError from the registry)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from gan_core.files import runs_folder_problem
from gan_core.registry import RegistryError, RunRegistry
from gan_core.rundir import RUNS_ENV

APP_DIR = Path(__file__).resolve().parents[1]
TIMEOUT = 60


def test_runs_folder_problem_names_what_is_wrong(tmp_path):
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    assert runs_folder_problem(a_file) == f"{str(a_file)!r} is not a folder: it is a regular file"
    below = a_file / "runs"
    assert runs_folder_problem(below) == (
        f"{str(below)!r} is not a folder: its parent {str(a_file)!r} is a regular file"
    )
    # a folder where nothing can be made: the system's reason
    problem = runs_folder_problem("/proc/gan-dashboard-runs")
    assert problem is not None and problem.startswith("'/proc/gan-dashboard-runs' cannot be made (")
    # a folder missing is made, with its parents; one there is fine
    fresh = tmp_path / "new" / "runs"
    assert runs_folder_problem(fresh) is None and fresh.is_dir()
    assert runs_folder_problem(fresh) is None


def test_the_registry_refuses_a_runs_folder_it_cannot_use(tmp_path):
    a_file = tmp_path / "hostname"
    a_file.write_text("x")
    with pytest.raises(RegistryError, match=r"the runs folder cannot be used: .* is a regular file"):
        RunRegistry(a_file)


@pytest.mark.parametrize(
    "page", ["pages/0_Train.py", "pages/1_Runs.py", "pages/2_Compare.py", "pages/4_Probe.py"]
)
def test_every_page_that_reads_runs_says_the_runs_folder_cannot_be_used(tmp_path, monkeypatch, page):
    a_file = tmp_path / "hostname"
    a_file.write_text("x")
    monkeypatch.setenv(RUNS_ENV, str(a_file))
    at = AppTest.from_file(str(APP_DIR / "dashboard.py"), default_timeout=TIMEOUT).run()
    if page != "pages/0_Train.py":
        at.switch_page(page).run()
    assert not at.exception
    assert [e.value for e in at.error] == [
        f"The runs folder cannot be used: {str(a_file)!r} is not a folder: it is a regular file. Set "
        f"{RUNS_ENV} to a folder this server can write (or unset it for runs/ beside dashboard.py), then "
        "restart the dashboard."
    ]
    assert a_file.read_text() == "x"  # untouched


def test_the_guide_opens_whatever_the_runs_folder(tmp_path, monkeypatch):
    monkeypatch.setenv(RUNS_ENV, str(tmp_path / "hostname"))
    (tmp_path / "hostname").write_text("x")
    at = AppTest.from_file(str(APP_DIR / "dashboard.py"), default_timeout=TIMEOUT).run()
    at.switch_page("pages/3_Guide.py").run()
    assert not at.exception and not at.error
    assert at.title[0].value == "How to read the dashboard"


def test_arguments_after_the_script_are_said_to_be_ignored(runs_root, monkeypatch):
    dashboard = str(APP_DIR / "dashboard.py")
    monkeypatch.setattr(sys, "argv", [dashboard, "--runs", "/tmp/my runs"])
    at = AppTest.from_file(dashboard, default_timeout=TIMEOUT).run()
    assert not at.exception
    (warning,) = [w.value for w in at.warning if "takes no arguments" in w.value]
    assert "`--runs '/tmp/my runs'`" in warning and f"{RUNS_ENV}=DIR" in warning
    monkeypatch.setattr(sys, "argv", [dashboard])  # as `streamlit run dashboard.py` starts it
    at = AppTest.from_file(dashboard, default_timeout=TIMEOUT).run()
    assert not at.exception and not [w for w in at.warning if "takes no arguments" in w.value]
