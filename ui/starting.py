"""What a page shows while the engine's modules load on a fresh server.

Importing `gan_core.app` (torch, torchvision, pandas, scikit-learn, plotly) takes about 4 s on the 2-core
test machine, and a page whose first lines import it shows nothing at all meanwhile: the first page a
new user opens was blank for 5 s or more. This module needs only Streamlit, so a page imports it first
and loads the engine inside `engine_loading`, which says what is happening until the imports are done.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st

ENGINE = "gan_core.app"
MESSAGE = (
    "Starting the dashboard: loading torch and its libraries. This takes a few seconds on the first "
    "page a new server shows, and no time after that."
)


@contextmanager
def engine_loading() -> Iterator[None]:
    """Show `MESSAGE` in the page's first slot while the ``with`` block runs (the page's engine imports),
    unless the engine is loaded already (every page after the server's first). The slot is there, empty,
    either way, so the page's elements keep their places from one run to the next."""
    loaded = ENGINE in sys.modules
    note = st.empty()
    if not loaded:
        note.info(MESSAGE, icon=":material/hourglass_top:")
    try:
        yield
    finally:
        if not loaded:
            note.empty()
