"""Fixtures for the browser tests: a real ``streamlit run`` server and Debian's headless Chromium.

Each server trains into its own temporary runs folder (GAN_DASHBOARD_RUNS) and is always shut down:
SIGTERM first (the app stops its live runs cleanly on the way out), SIGKILL only if it hangs.
Playwright's own browser download is not used; scripts/test.sh installs /usr/bin/chromium.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright
from playwright.sync_api import Error as PlaywrightError

REPO_ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# What Streamlit's frontend logs when a message from the server breaks the tab: it closes the connection
# and shows "Connection error" for good (buttons disabled, no refresh) until the page is reloaded. A test
# that then waits for something sees only a timeout; `no_dead_tab` names the cause (a cached-message miss
# did this, 4 runs in 29 of a test under load, until .streamlit/config.toml turned the message cache off).
DEAD_TAB = "Failed to process a Websocket message"
HEALTH_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0


@dataclass
class Server:
    url: str
    runs_root: Path
    process: subprocess.Popen
    log_path: Path

    def log_tail(self, chars: int = 3000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:]

    def stop(self) -> int:
        """SIGTERM and wait; SIGKILL if it has not exited within STOP_TIMEOUT. Returns the exit code."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(STOP_TIMEOUT)
        return self.process.returncode


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
            return response.read().strip() == b"ok"
    except OSError:
        return False


@contextlib.contextmanager
def serve(runs_root: Path, log_path: Path) -> Iterator[Server]:
    """Run the dashboard on a free port until the block ends; yields once /_stcore/health says ok."""
    port = _free_port()
    env = {
        **os.environ,
        "GAN_DASHBOARD_RUNS": str(runs_root),
        # On a small shared machine torch's intra-op pool spins against busy cores and a tiny step
        # takes 100x longer; one thread keeps the test runs at a few milliseconds a step.
        "OMP_NUM_THREADS": "1",
    }
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        "dashboard.py",
        f"--server.port={port}",
        "--server.address=127.0.0.1",
        "--server.headless=true",
        "--browser.gatherUsageStats=false",
        "--server.fileWatcherType=none",
    ]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    server = Server(f"http://127.0.0.1:{port}", runs_root, process, log_path)
    try:
        deadline = time.monotonic() + HEALTH_TIMEOUT
        while not _healthy(server.url):
            if time.monotonic() > deadline:
                pytest.fail(
                    f"streamlit did not report healthy within {HEALTH_TIMEOUT:.0f} s:\n{server.log_tail()}"
                )
            with contextlib.suppress(subprocess.TimeoutExpired):
                # doubles as the pause between polls, and notices a server that died on start
                process.wait(0.25)
                pytest.fail(f"streamlit exited with {process.returncode} on start:\n{server.log_tail()}")
        yield server
    finally:
        server.stop()


WARM_UP_TIMEOUT_MS = 240_000


def warm_up(server: Server, browser: Browser) -> None:
    """Open the server's Train view once, until its Start button is enabled: a fresh server's first page
    imports the training engine (torch, scikit-learn, torchvision: 30 to 90 s on a loaded 2-core machine,
    "Starting the dashboard: preparing the training engine"), once for all its sessions. Done here, the
    module's first test is timed like the others (in CI the first test of 3 modules in 15 ran out of its
    30 s waiting for this page, and nothing else)."""
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(server.url, timeout=WARM_UP_TIMEOUT_MS)
        start = page.get_by_role("button", name="Start", exact=True)
        try:
            start.wait_for(state="visible", timeout=WARM_UP_TIMEOUT_MS)
        except PlaywrightError as error:
            pytest.fail(
                f"the first page did not load in {WARM_UP_TIMEOUT_MS / 1000:.0f} s: {error}\n"
                f"{server.log_tail()}"
            )
    finally:
        context.close()


@pytest.fixture(scope="module")
def streamlit_server(tmp_path_factory, browser: Browser) -> Iterator[Server]:
    """One server shared by a module's tests, with its own runs folder, warmed up (`warm_up`)."""
    folder = tmp_path_factory.mktemp("e2e-server")
    with serve(folder / "runs", folder / "streamlit.log") as server:
        warm_up(server, browser)
        yield server


@pytest.fixture
def start_server(tmp_path, browser: Browser) -> Iterator[Callable[..., Server]]:
    """A factory for dedicated servers (e.g. one a test shuts down itself), each warmed up (`warm_up`)
    unless ``start(warm=False)`` (a test of a fresh server's first session); all stopped at the end."""
    numbers = itertools.count()
    with contextlib.ExitStack() as stack:

        def start(warm: bool = True) -> Server:
            folder = tmp_path / f"server{next(numbers)}"
            folder.mkdir()
            server = stack.enter_context(serve(folder / "runs", folder / "streamlit.log"))
            if warm:
                warm_up(server, browser)
            return server

        yield start


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.is_file():
        pytest.fail(
            f"{CHROMIUM} is missing: the browser tests drive Debian's Chromium "
            "(run scripts/test.sh, or `apt-get install chromium`)"
        )
    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        dead_tabs: list[str] = []
        new_context = chromium.new_context

        def watched_context(**kwargs) -> BrowserContext:
            """`Browser.new_context`, with every page's console watched for a tab that died."""
            context = new_context(**kwargs)
            context.on(
                "console",
                lambda m: dead_tabs.append(m.text) if m.type == "error" and DEAD_TAB in m.text else None,
            )
            return context

        # Every context a test opens, the `page` fixture's too. (`Browser.new_page` makes its context
        # without this attribute: a test opens pages through a context.)
        chromium.new_context = watched_context
        chromium.dead_tabs = dead_tabs
        try:
            yield chromium
        finally:
            chromium.close()
    finally:
        playwright.stop()


@pytest.fixture(autouse=True)
def no_dead_tab(request) -> Iterator[None]:
    """An error at the teardown of a browser test in which a tab died (`DEAD_TAB`), saying why, whatever
    else the test saw (a timeout, typically)."""
    yield
    if "browser" in request.fixturenames:
        dead = request.getfixturevalue("browser").dead_tabs
        said, dead[:] = list(dead), []
        if said:
            pytest.fail(f"a tab died (Streamlit's frontend closed its connection): {said[0][:300]}")


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[pytest.TestReport]:
    """Keep each phase's report on the test (``item.rep_call``): `page` reads whether the test failed."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


STOP_AFTER_FAILURE_MS = 15_000


def stop_what_it_trains(page: Page) -> None:
    """After a failed test, press its page's Stop if a run is training there: a test that failed half way
    left its open-ended run training in the module's shared server, and the next tests, slowed by it on
    2 cores, timed out in turn (one failure read as two in CI). Best effort: a page that cannot do it
    (closed, another page, no run) is left as it is."""
    stop = page.get_by_role("button", name="Stop", exact=True)
    try:
        if stop.count() == 1 and stop.is_enabled():
            stop.click(timeout=STOP_AFTER_FAILURE_MS)
            page.get_by_test_id("stMarkdown").filter(has_text="Status: stopped").wait_for(
                timeout=STOP_AFTER_FAILURE_MS
            )
    except Exception:  # noqa: BLE001 (the test's own failure is what is reported)
        pass


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    try:
        page = context.new_page()
        page.set_default_timeout(30_000)
        yield page
        report = getattr(request.node, "rep_call", None)
        if report is not None and report.failed:
            stop_what_it_trains(page)
    finally:
        context.close()
