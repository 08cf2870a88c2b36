"""`pip install .`: what the wheel holds and declares, and the installed ``gan-dashboard`` command serving the
app from another folder.

The wheel is built from a copy of the checkout (pip builds in the source folder, leaving build/ and an
.egg-info behind) without build isolation, so nothing is downloaded. It goes into a fresh venv that borrows
this interpreter's packages (torch, streamlit, ...) rather than installing them again, and everything the
venv runs starts in a folder outside the checkout, without PYTHONPATH, so only the installed copy can answer.
"""

from __future__ import annotations

import configparser
import email.parser
import os
import shutil
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement

import launch
from gan_core.rundir import RUNS_ENV

ROOT = Path(__file__).resolve().parents[1]
APP_PACKAGE = "gan_dashboard_app"  # the folder the app is installed as (pyproject.toml)
EXTRAS = {"lightning": "lightning", "tensorboard": "tensorboard"}  # extra -> the package it brings
# Never part of a build: version control, environments, caches, build output and the runs / data folders.
NOT_COPIED = {".git", ".venv", "build", "runs", "data", ".pytest_cache", ".ruff_cache", ".hypothesis"}
NOT_COPIED |= {".benchmarks", ".whl", ".gl", ".device"}
# pip, offline: the package alone, nothing fetched from an index
PIP_OFFLINE = ("--no-deps", "--no-index", "--disable-pip-version-check", "-q")
DEADLINE = 90  # seconds for the server to answer (the machine is small and shared)


def run(*command: str | Path, cwd: Path | None = None, timeout: float = 120, **kwargs) -> str:
    """Run a command; its output, or a failure that shows it."""
    done = subprocess.run(
        [str(c) for c in command], cwd=cwd, capture_output=True, text=True, timeout=timeout, **kwargs
    )
    assert done.returncode == 0, f"{command} exited with {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without PYTHONPATH (which could lead an import back to the checkout)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return {**env, **extra}


# ---------------------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("build")

    def not_copied(folder: str, names: list[str]) -> list[str]:
        top = Path(folder) == ROOT
        return [
            n for n in names if n == "__pycache__" or n.endswith(".egg-info") or (top and n in NOT_COPIED)
        ]

    source = work / "source"
    shutil.copytree(ROOT, source, ignore=not_copied)
    out = work / "dist"
    run(sys.executable, "-m", "pip", "wheel", source, "-w", out, "--no-build-isolation", *PIP_OFFLINE)
    (built,) = out.glob("gan_dashboard-*.whl")
    return built


@pytest.fixture(scope="module")
def venv(wheel, tmp_path_factory) -> Path:
    """A venv with the wheel installed (no dependencies): the folder that holds its python."""
    home = tmp_path_factory.mktemp("venv") / "venv"
    run(sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", home)
    bin_dir = home / "bin"
    python = bin_dir / "python"
    # A venv's system site-packages are those of the base interpreter. When the tests run in a venv
    # themselves (the README's .venv), the runtime is in this interpreter's site-packages: borrow those.
    # They come after the new venv's own, so the installed gan_core is the one imported.
    site_packages = Path(run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))").strip())
    borrowed = dict.fromkeys([sysconfig.get_path("purelib"), sysconfig.get_path("platlib")])
    (site_packages / "_borrowed_from_test_interpreter.pth").write_text("\n".join(borrowed) + "\n")
    # (pip too is borrowed: the venv was made without one of its own, which is quicker)
    run(python, "-m", "pip", "install", wheel, "--ignore-installed", *PIP_OFFLINE, env=clean_env())
    return bin_dir


@pytest.fixture
def elsewhere(tmp_path) -> Path:
    """A working folder outside the checkout, with no gan_core, ui or pages of its own."""
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    return folder


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(url: str, timeout: float = 5) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.status, response.read().decode("utf-8", "replace")


# --------------------------------------------------------------------------------------- the launcher


def test_launcher_passes_arguments_to_streamlit_run():
    command, _ = launch.streamlit_command(["--server.port", "8600", "--server.headless", "true"], {}, ROOT)
    assert command == [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(ROOT / "dashboard.py"),
        "--server.port",
        "8600",
        "--server.headless",
        "true",
    ]


def test_launcher_keeps_the_runs_folder_it_is_given(tmp_path):
    _, env = launch.streamlit_command([], {RUNS_ENV: "/srv/gan-runs", "HOME": "/home/x"}, tmp_path)
    assert env == {RUNS_ENV: "/srv/gan-runs", "HOME": "/home/x"}


@pytest.mark.parametrize("environ", [{}, {RUNS_ENV: ""}], ids=["unset", "empty"])
def test_launcher_runs_folder_defaults_to_the_working_folder(environ, tmp_path):
    """As for ``python -m gan_core``: never the app's own default, which would be inside site-packages."""
    _, env = launch.streamlit_command([], environ, tmp_path)
    assert env[RUNS_ENV] == str(tmp_path.resolve() / "runs")


def test_launcher_help_says_what_it_serves_and_where_runs_go_before_streamlits_help(tmp_path):
    """`gan-dashboard --help` printed Streamlit's help alone, which speaks of a TARGET script to give and
    says nothing of the dashboard or its runs folder."""
    _, env = launch.streamlit_command(["--help"], {}, tmp_path)
    text = launch.usage(env)
    assert text.startswith("gan-dashboard: serve the GAN training dashboard")
    assert f"Runs folder: {tmp_path.resolve() / 'runs'} (GAN_DASHBOARD_RUNS" in text
    for flag in ("--help", "-h"):  # (`streamlit run` itself refuses -h: "No such option")
        done = subprocess.run(
            [sys.executable, str(ROOT / "launch.py"), flag],
            cwd=tmp_path,
            env={**os.environ, RUNS_ENV: str(tmp_path / "mine")},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        ours, _, theirs = done.stdout.partition("\n\n")
        assert ours + "\n" == launch.usage({RUNS_ENV: str(tmp_path / "mine")})
        assert "Usage: streamlit run" in theirs and "No such option" not in done.stdout + done.stderr


def test_launcher_reads_the_engines_runs_variable():
    assert launch.RUNS_ENV == RUNS_ENV


# ------------------------------------------------------------------------------------------- the wheel


def test_wheel_declares_the_runtime_and_the_extras(wheel):
    with zipfile.ZipFile(wheel) as archive:
        (metadata,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        meta = email.parser.Parser().parsestr(archive.read(metadata).decode())
        (entry_points,) = [n for n in archive.namelist() if n.endswith(".dist-info/entry_points.txt")]
        scripts = configparser.ConfigParser()
        scripts.read_string(archive.read(entry_points).decode())

    declared = [Requirement(line) for line in meta.get_all("Requires-Dist")]
    runtime = {str(r) for r in declared if r.marker is None}
    lines = (line.split("#")[0].strip() for line in (ROOT / "requirements.txt").read_text().splitlines())
    assert runtime == {str(Requirement(line)) for line in lines if line}
    assert all(s.operator not in ("==", "===") for r in declared for s in r.specifier), "ranges, not pins"

    assert set(meta.get_all("Provides-Extra")) == set(EXTRAS)
    for extra, package in EXTRAS.items():
        brought = [r for r in declared if r.marker is not None and r.marker.evaluate({"extra": extra})]
        assert [r.name for r in brought] == [package], extra
        assert brought[0].specifier, f"{extra}: a range, not any version"

    assert scripts["console_scripts"]["gan-dashboard"] == f"{APP_PACKAGE}.launch:main"


def test_wheel_holds_the_engine_and_the_app_under_two_names(wheel):
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    top_level = {name.split("/")[0] for name in names if ".dist-info/" not in name}
    assert top_level == {"gan_core", APP_PACKAGE}, "no top-level ui, pages or tests in site-packages"

    engine = {p.relative_to(ROOT).as_posix() for p in (ROOT / "gan_core").rglob("*.py")}
    missing = sorted(engine - names)
    assert not missing, f"{missing}: list their package under [tool.setuptools] packages in pyproject.toml"

    app = [
        "dashboard.py",
        "launch.py",
        ".streamlit/config.toml",
        *sorted(
            p.relative_to(ROOT).as_posix() for folder in ("pages", "ui") for p in (ROOT / folder).glob("*.py")
        ),
    ]
    assert sorted(f"{APP_PACKAGE}/{name}" for name in app if f"{APP_PACKAGE}/{name}" not in names) == []


# ----------------------------------------------------------------------------------- installed, elsewhere


def test_installed_engine_imports_from_another_folder(venv, elsewhere):
    location = run(
        venv / "python", "-c", "import gan_core; print(gan_core.__file__)", cwd=elsewhere, env=clean_env()
    )
    assert Path(location.strip()).is_relative_to(venv.parent), location
    usage = run(venv / "python", "-m", "gan_core", "--help", cwd=elsewhere, env=clean_env())
    assert "train" in usage


def test_gan_dashboard_serves_the_app_from_another_folder(venv, elsewhere, tmp_path):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log_path = tmp_path / "server.log"
    env = clean_env(**{RUNS_ENV: str(tmp_path / "runs")})
    command = [
        venv / "gan-dashboard",
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        "--server.scriptHealthCheckEnabled",
        "true",
    ]
    with log_path.open("w") as log:
        server = subprocess.Popen(command, cwd=elsewhere, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + DEADLINE
        health = None
        while health != "ok":
            assert server.poll() is None, (
                f"gan-dashboard exited ({server.returncode}):\n{log_path.read_text()}"
            )
            assert time.monotonic() < deadline, (
                f"no answer on {base} in {DEADLINE} s:\n{log_path.read_text()}"
            )
            try:
                health = get(f"{base}/_stcore/health", timeout=2)[1]
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.2)

        status, page = get(base + "/")
        assert status == 200 and 'id="root"' in page and "streamlit" in page.lower(), page[:500]
        # Streamlit runs dashboard.py in a session of its own and answers "ok" only if it ran to the end:
        # the installed app found ui/, gan_core and everything it imports.
        status, script = get(f"{base}/_stcore/script-health-check", timeout=DEADLINE)
        assert (status, script) == (200, "ok"), log_path.read_text()
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()

    # The app's .streamlit/config.toml (installed beside dashboard.py) was in force, though the server was
    # started elsewhere: it listens on 127.0.0.1 only, and collects no usage statistics.
    printed = log_path.read_text()
    assert "Network URL" not in printed and "usage statistics" not in printed, printed
