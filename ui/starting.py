"""What a page shows while the engine's modules load on a fresh server.

Importing `gan_core.app` (torch, torchvision, pandas, scikit-learn, plotly) takes about 4 s on the 2-core
test machine, and a page whose first lines import it shows nothing at all meanwhile: the first page a
new user opens was blank for 5 s or more (the whole first page, with the registry's warm-up after this,
takes about 15 s there). This module needs only Streamlit, so a page imports it first and loads the
engine inside `engine_loading`, which says what is happening until the imports are done.
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import streamlit as st
from streamlit.navigation.page import StreamlitPage

MESSAGE = (
    "Starting the dashboard: loading torch and its libraries. This takes a few seconds on the first "
    "page a new server shows, and no time after that."
)


_loaded = False  # a block of `engine_loading` has completed in this process


@contextmanager
def engine_loading() -> Iterator[None]:
    """Show `MESSAGE` in the page's first slot while the ``with`` block runs (the page's engine imports),
    until one such block has completed in this server (then every page's imports are done at once). A
    page opened while another is still importing shows it too: it waits on the same imports (Python puts
    a module in ``sys.modules`` when its import starts, so that is no sign of a finished one). The slot
    is there, empty, either way, so the page's elements keep their places from one run to the next."""
    global _loaded
    loaded = _loaded
    note = st.empty()
    if not loaded:
        note.info(MESSAGE, icon=":material/hourglass_top:")
    try:
        yield
        _loaded = True
    finally:
        if not loaded:
            note.empty()


def through_the_router() -> None:
    """Make sure this page runs under dashboard.py's `st.navigation` (its menu: Train, Runs, Compare,
    Guide, Probe, with icons, the Train view at the root URL); call it first in every page.

    Streamlit (1.67: `script_runner._mpa_v1`, `PagesManager.uses_pages_directory`) runs every session of
    a server whose main script has a pages/ folder beside it as a multipage app of the old kind, the
    folder's scripts listed as they are ("dashboard" first, no icons), until some script run calls
    `st.navigation`. A fresh server whose first visitor opened ``/Runs`` or ``/Compare`` by its address
    (a bookmark) never ran dashboard.py, and showed that menu from then on. Such a run turns the old
    kind off, as `st.navigation` itself does, and reruns at once: through the router, on the same page,
    the address and the session's state kept. Once per session at most: a rerun drops a click that
    came with the run (Streamlit's AppTest starts every run of its own in the old kind)."""
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory and not st.session_state.get(_ROUTED_KEY):
        st.session_state[_ROUTED_KEY] = True
        PagesManager.uses_pages_directory = False
        st.rerun()
    st.session_state[_ROUTED_KEY] = True


_ROUTED_KEY = "_through_the_router"  # `through_the_router` has looked at this session's runs


FLASH_KEYS = "_flash_keys"  # the session-state keys of the messages pages have drawn (`ui.common.show_flash`)
_PAGE_KEY = "_page"  # the page this session's last run showed (`on_page`)


def drop_flashes() -> None:
    """Drop every message `ui.common.show_flash` has drawn in this session: the user acted again."""
    for key in st.session_state.get(FLASH_KEYS, ()):
        st.session_state.pop(key, None)


def on_page(page: StreamlitPage) -> None:
    """The router's note of the page it is about to run (dashboard.py): on a visit to another page the
    messages earlier pages drew (`ui.common.show_flash`) go, being about what was done there. A message
    stays while its own page is shown, until the next click."""
    if st.session_state.get(_PAGE_KEY) != page.url_path:
        st.session_state[_PAGE_KEY] = page.url_path
        drop_flashes()


def ignored_arguments_note() -> None:
    """A warning where the dashboard was started with arguments for its script (``streamlit run
    dashboard.py -- --runs DIR``): it reads none, and they were silently ignored (a newcomer's review)."""
    # (``streamlit run`` makes sys.argv the script and its arguments; anything else, pytest's AppTest,
    # runs it with its own)
    given = sys.argv[1:] if Path(sys.argv[0]).name == "dashboard.py" else []
    if given:
        from gan_core.app import RUNS_ENV  # (the engine's import: only for a server started so)

        st.warning(
            f"The dashboard takes no arguments after `--` and ignored these: `{shlex.join(given)}`. Choose "
            f"the runs folder with the environment variable {RUNS_ENV} (`{RUNS_ENV}=DIR streamlit run "
            "dashboard.py`); the README lists the others.",
            icon=":material/warning:",
        )
