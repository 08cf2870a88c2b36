"""Fixtures shared by the test modules."""

import contextlib
import io
import struct
import subprocess
import sys
import threading
import zipfile
import zlib
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from gan_core.__main__ import main
from gan_core.rundir import RUNS_ENV

APP_DIR = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session", autouse=True)
def one_torch_thread():
    """One intra-op thread for every test: on a small shared machine torch's pool spins against busy
    cores and a tiny step takes 100x longer (the dashboard gives torch half the cores for the same
    reason). Processes a test starts choose their own."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


_LEFT_TRAINING: list[tuple[str, list[str]]] = []  # (test, runs still training after it), for the summary


@pytest.fixture(autouse=True)
def note_runs_left_training(request):
    """After each test, the training threads (``gan-run-<run id>``) that test left alive; listed at the
    end of the session. A run left training shares the process with the tests after it: a test that
    patches the trainer, or parses a script while the run imports, can then fail for another's run."""
    before = {t.ident for t in threading.enumerate()}
    yield
    left = [t.name for t in threading.enumerate() if t.name.startswith("gan-run-") and t.ident not in before]
    if left:
        _LEFT_TRAINING.append((request.node.nodeid, left))


@pytest.fixture(autouse=True)
def tables_arrow_takes(monkeypatch):
    """Every table a page draws is one Arrow converts as it is: Streamlit otherwise logs the conversion's
    error with its traceback on each draw and mends the columns behind it (`dataframe_util`: a column of
    "" and ints, say), which a test through AppTest never saw."""
    import streamlit.dataframe_util as dataframe_util

    mended: list[str] = []
    logger = dataframe_util._LOGGER
    info = logger.info

    def noted(message, *args, **kwargs):
        if str(message).startswith("Serialization of dataframe to Arrow table was unsuccessful"):
            exc = kwargs.get("exc_info")
            mended.append(f"{type(exc).__name__}: {exc}" if isinstance(exc, BaseException) else str(message))
        return info(message, *args, **kwargs)

    monkeypatch.setattr(logger, "info", noted)
    yield
    if mended:
        pytest.fail(f"a table Arrow could not take as it was (Streamlit mended it): {mended[0]}")


def pytest_terminal_summary(terminalreporter):
    if _LEFT_TRAINING:
        terminalreporter.section("runs left training by a test")
        for test, names in _LEFT_TRAINING:
            terminalreporter.write_line(f"{test}: {', '.join(names)}")


@pytest.fixture
def runs_root(tmp_path, monkeypatch):
    """A fresh runs folder for the app (GAN_DASHBOARD_RUNS, hence a fresh registry); every run still
    live at the end is stopped. (Modules whose runs folder starts from a template define their own.)"""
    from ui.common import registry  # (imports streamlit: only for the tests that use the app)

    root = tmp_path / "runs"
    monkeypatch.setenv(RUNS_ENV, str(root))
    yield root
    reg = registry()
    reg.stop_all(timeout=60)
    assert not [r.run_id for r in reg.active()], "a run outlived its test"


@pytest.fixture
def cli(capsys):
    """The command line in-process: cli(*argv) -> result with returncode, stdout, stderr."""

    def run(*args):
        try:
            code = main(list(args))
        except SystemExit as exc:  # argparse's own errors and --help
            code = exc.code
        out = capsys.readouterr()
        return SimpleNamespace(returncode=code, stdout=out.out, stderr=out.err)

    return run


_HOLD = """
import sys
from gan_core.rundir import RunDir
held = RunDir.from_path(sys.argv[1]).claim("training it")  # kept: dropping it releases the claim
print("held", flush=True)
sys.stdin.read()
"""


@contextlib.contextmanager
def claimed_elsewhere(folder: Path):
    """Another process holds ``folder``'s claim (`RunLock`) while the block runs, as a CLI run training
    it would; yields that process. Its claim goes when the block ends (its stdin closes, it exits)."""
    proc = subprocess.Popen(
        [sys.executable, "-c", _HOLD, str(folder)],
        cwd=APP_DIR,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout.readline().strip() == "held"
        yield proc
    finally:
        proc.stdin.close()
        proc.wait(timeout=60)


def zip_of(entries: dict[str, bytes]) -> bytes:
    """A ZIP archive (deflated) holding ``entries``: {name inside the archive: bytes}."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    """A PNG whose header declares ``width`` x ``height`` gray pixels and that holds no pixel data: all a
    reader sees before it decodes, so an image "too large" costs 57 bytes here, not gigabytes."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit gray, no interlace
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b"")


@pytest.fixture(scope="module")
def conditional_digits(tmp_path_factory):
    """A tiny class-conditional (acgan) digits run, 4 steps, trained once per test module: its folder."""
    from tests.test_cli import TINY

    runs = tmp_path_factory.mktemp("conditional") / "runs"
    res = subprocess.run(
        [sys.executable, "-m", "gan_core", "train", "--dataset", "digits", "--conditioning", "acgan",
         "--steps", "4", "--checkpoint-every", "2", "--out", str(runs), "--run-id", "cd", *TINY],
        cwd=Path(__file__).resolve().parents[1], capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    return runs / "cd"
