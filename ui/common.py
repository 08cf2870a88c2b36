"""Streamlit glue shared by the pages: the server-wide run registry and which run a session watches.

Thin on purpose: everything a test of gan_core can cover lives in gan_core.
"""

from __future__ import annotations

import atexit
import functools
import importlib
import itertools
import json
import math
import os
import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import PIL.Image
import streamlit as st
import torch

from gan_core.app import (
    DATASET_SPECS,
    DEFAULT_MAX_ACTIVE,
    ENDED,
    MAX_NOTES_CHARS,
    RUN_ID_RULE,
    RUNS_ENV,
    DataError,
    DataSource,
    GANConfig,
    NotesChangedError,
    NotesPendingError,
    RegistryError,
    RunDirError,
    RunnerError,
    RunRegistry,
    RunView,
    UnusableCheckpointError,
    check_data_path,
    checked_notes,
    continue_device,
    environment_rows,
    load_data,
    metrics_csv_bytes,
    quoted,
    resolve_device,
    run_zip_bytes,
    validate_run_id,
)
from ui.starting import FLASH_KEYS, drop_flashes

APP_DIR = Path(__file__).resolve().parents[1]
MAX_RUNS_ENV = "GAN_DASHBOARD_MAX_RUNS"
DATA_ENV = "GAN_DASHBOARD_DATA"


# Text that is already literal Markdown: words of ASCII letters and digits joined by single spaces, '_' or
# '-' (no construct starts inside a word, and no text pattern of Streamlit's matches).
_PLAIN = re.compile(r"[A-Za-z0-9]+(?:[ _-][A-Za-z0-9]+)*")
# A word (text between spaces) that is literal Markdown in Streamlit wherever it stands in a line, but first:
# ASCII letters and digits and punctuation that starts nothing (no emphasis, link, image, HTML, entity,
# escape, code, maths, strikethrough, table cell, directive or arrow).
_WORD_CHARS = re.compile(r"""[A-Za-z0-9.,;()'"=+%/?_:-]+""")
# ...except: '-' and '_' other than between letters or digits ('--' is a dash, '_x_' emphasis); a ':' that
# starts the word or is followed by anything but a digit or the word's end (':red' is a colour directive
# even inside 'a:red', and ':material/', '://' follow one with a letter or '/'); two ':' (':100:' is an
# emoji); 'www.' (a link).
_WORD_UNSAFE = re.compile(
    r"(?<![A-Za-z0-9])[-_]|[-_](?![A-Za-z0-9])|^:|:(?![0-9]|$)|:.*:|www\.", re.IGNORECASE
)
# A first word that starts a block: an ordered list item ('1.', '2)'); any first word must start with a
# letter, digit, quote or '(' (so no '-', '+', '=', '#' or '>': lists, setext and ATX headings, quotes).
_LIST_ITEM = re.compile(r"[0-9]+[.)]")
_QUOTES = "'\""
# Unicode's bidirectional controls (marks, embeddings, overrides, isolates): invisible, they reorder the
# characters after them, so that an error "\u202eRTL" reads "LTR". `literal` shows each as its escape.
_BIDI_CONTROLS = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def literal(text: object) -> str:
    """``text`` as Markdown that Streamlit shows exactly as written: for every string that comes from a
    run file, an upload or an exception, wherever a message is Markdown (st.error, st.warning,
    st.markdown, st.caption, ...).

    Escaping Markdown's characters is not enough there: after parsing, Streamlit turns patterns in the
    text itself into elements (bare URLs and e-mail addresses into links, ``:streamlit:`` into an
    image, ``:smile:`` into an emoji, ``->`` into an arrow), and escapes do not stop those. So each line
    is cut at its spaces into words: a word that is literal Markdown wherever it stands (`_plain_word`)
    stays as it is, and every other word, and every run of spaces that is not one space between two
    words (a browser would merge or drop it), goes into a code span, which is never parsed; neighbours in
    code share one span, and a quote beside spaces in code joins them (``'   '`` shows whole). A span's
    fence is longer than any run of backticks inside; lines are joined by hard line breaks. The one
    pattern Streamlit rewrites before parsing, ``:material/``, is split around its ``/``. A bidirectional
    control (U+200E, U+200F, U+202A to U+202E, U+2066 to U+2069), which would silently reorder what
    follows it, is shown as its escape (``\\u202e``)."""
    text = _BIDI_CONTROLS.sub(lambda m: f"\\u{ord(m.group()):04x}", str(text))
    if _PLAIN.fullmatch(text):
        return text
    lines = re.split(r"\r\n|\r|\n", text)
    while len(lines) > 1 and not lines[-1]:  # a final line break shows nothing
        lines.pop()
    return "\\\n".join(_literal_line(line) for line in lines)


def _plain_word(word: str, first: bool) -> bool:
    """Whether ``word`` (no spaces) is literal Markdown as it stands, ``first`` in its line or not."""
    if not _WORD_CHARS.fullmatch(word) or _WORD_UNSAFE.search(word):
        return False
    return not first or (word[0].isalnum() or word[0] in _QUOTES + "(") and not _LIST_ITEM.fullmatch(word)


def _literal_line(line: str) -> str:
    """One line (no line breaks) of `literal`: plain words as they are, the rest in code spans."""
    parts = re.split(r"( +)", line)  # words at even indices (the first and last may be empty), spaces between
    pieces: list[list] = []  # [in code, text]
    for i, part in enumerate(parts):
        if i % 2:  # one space between two words shows as written; any other run of spaces only in code
            pieces.append([not (part == " " and parts[i - 1] and parts[i + 1]), part])
        elif part:
            pieces.append([not _plain_word(part, first=i == 0), part])
    # a plain word's quotes next to spaces in code join them: a quoted value shows whole, in one span
    cut: list[list] = []
    for j, (code, part) in enumerate(pieces):
        if code or part == " ":  # (a plain run of spaces is one space; a word has none)
            cut.append([code, part])
            continue
        start = len(part) - len(part.lstrip(_QUOTES)) if j and pieces[j - 1][0] else 0
        end = len(part.rstrip(_QUOTES)) if j + 1 < len(pieces) and pieces[j + 1][0] else len(part)
        core = part[start:end]
        if core and not _plain_word(core, first=j == 0 and not start):  # "1.'  x" would start a list
            start, end, core = len(part), len(part), ""
        cut += [
            piece
            for piece in ([True, part[:start]], [False, core], [True, part[max(start, end) :]])
            if piece[1]
        ]
    # one space between two pieces in code joins them, and neighbours in code share one span
    for j in range(1, len(cut) - 1):
        if cut[j][1] == " " and cut[j - 1][0] and cut[j + 1][0]:
            cut[j][0] = True
    return "".join(
        _code_line("".join(part for _, part in run)) if code else "".join(part for _, part in run)
        for code, run in itertools.groupby(cut, key=lambda piece: piece[0])
    )


def _code_line(line: str) -> str:
    pieces = line.split(":material/")
    return "\\/".join(_code(piece + ":material") for piece in pieces[:-1]) + (
        ("\\/" if len(pieces) > 1 else "") + _code(pieces[-1])
    )


def _code(text: str) -> str:
    """One code span showing ``text`` (no line breaks). CommonMark strips one space from each end of a
    span's content when both are spaces: the padding here, unless the text is only spaces."""
    if not text:
        return ""
    fence = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    pad = "" if not text.strip(" ") else " "
    return f"{fence}{pad}{text}{pad}{fence}"


def show_flash(key: str, status: str | None = None, inputs: object = None) -> tuple[str, ...] | None:
    """Draw the message an action's callback left in ``st.session_state[key]`` (``(kind, text)``: kind an
    ``st`` function name such as "error", text Markdown; or ``(kind, text, status)``, a message true only
    while the run is in that ``status``, such as a Pause still pending: dropped once the page is drawn
    for another) and return it, for `drawn`.

    The message stays, drawn by every full run of its page, until the user acts again: the next click
    of a button wrapped in `acted` (which drops it before its own callback may leave a newer one), a
    visit to another page (`ui.starting.on_page`, in the router), or an edit of the page's ``inputs``
    (any value that compares equal while they are unchanged: the sidebar's form, `ui.sidebar.form_inputs`)
    from what they were when the message was first drawn.

    It used to go once a run had drawn it to the end of the page, and a second full run that followed
    for another reason erased it from the browser: a click that came with the live view's refresh ran
    its callback in the fragment's rerun, which asked for a full run (`stale_page`), the click's own
    message brought another, and a refused Start at the run limit said nothing (an e2e test saw no
    refusal within 30 s, twice in CI). Two deliveries of one click (see pages/0_Train.py's `start_run`)
    each leave the message anew: the later is drawn."""
    flashes = st.session_state.setdefault(FLASH_KEYS, set())
    flashes.add(key)
    flash = st.session_state.get(key)
    if flash:
        first_drawn = st.session_state.get(f"{key}:inputs")
        if first_drawn is None or first_drawn[0] is not flash:  # a new message: drawn with these inputs
            st.session_state[f"{key}:inputs"] = first_drawn = (flash, inputs)
        if (len(flash) > 2 and flash[2] != status) or first_drawn[1] != inputs:
            del st.session_state[key]
            return None
        getattr(st, flash[0])(flash[1])
    return flash


ACTED_KEY = "_acted"  # a button's callback ran since the page was last drawn in full (`acted`)


def acted(callback):
    """``callback`` (a button's ``on_click``) that marks this session as having acted, for `stale_page`:
    what the click changes outside the live part (a run started, the sidebar's form loaded, a message)
    is drawn only by a full run of the page, which a click that came with a refresh does not get. The
    messages of earlier actions go first (`show_flash`): what the page says next is this click's."""

    @functools.wraps(callback)
    def run(*args, **kwargs):
        st.session_state[ACTED_KEY] = True
        drop_flashes()
        return callback(*args, **kwargs)

    return run


def drawn(status: str, run_id: str | None, flash: tuple[str, str] | None) -> None:
    """The page's full run is drawing the Train view's header and controls for run ``run_id`` in
    ``status``, with the message ``flash`` (`show_flash`), and every click's effect so far: remembered
    for `stale_page`."""
    st.session_state["_drawn"] = (status, run_id, flash)
    st.session_state.pop(ACTED_KEY, None)


def stale_page(status: str, run_id: str | None, flash_key: str) -> bool:
    """Whether a refresh of a part of the page (a fragment rerun: the live view's, or the one that waits
    for a run to appear) found what only a full rerun of the page draws: the run's status changed since
    the page was drawn (`drawn`: it ended, or another tab paused it), this session now watches another
    run, a button's callback ran (`acted`), or an action left a message in
    ``st.session_state[flash_key]`` other than the one the page drew.

    The last three come from a click that reached the server with the refresh: Streamlit's frontend
    sends a clicked button's trigger with its next message, and when a refresh timer fires first, that
    refresh carries it. The click's callback then runs (a Start starts its run or is refused, a preset
    asks for its run), but only the fragment is redrawn: a refused Start said nothing, and a preset's
    run was never started, until the page was next drawn in full. Within the full run itself nothing is
    stale: it drew the status, the run and the message it found."""
    drawn_status, drawn_run, drawn_flash = st.session_state.get("_drawn", (None, None, None))
    pending = st.session_state.get(flash_key)
    return (
        status != drawn_status
        or run_id != drawn_run
        or bool(st.session_state.get(ACTED_KEY))
        or (bool(pending) and pending is not drawn_flash)
    )


VIEW_CHOICES_KEY = "_view_choices"  # the display choices a page keeps across pages (`kept_value`)


def kept_value(key: str, default: Any) -> Any:
    """The ``value`` (or ``default``) to give the widget of ``key`` so that a display choice (the EMA
    smoothing, a log scale, the runs compared) outlives a visit to another page: Streamlit drops a
    widget's value after a script run that did not draw it, and the widget came back at its default.
    Kept under `VIEW_CHOICES_KEY`, Streamlit's documented way ("save your widget values into a separate
    key"); passed as the widget's ``value`` rather than written to its key, so the browser's default is
    the value too (see `steady_select_slider`). ``default`` until the user chose."""
    kept = st.session_state.setdefault(VIEW_CHOICES_KEY, {})
    if key in st.session_state:  # drawn in the last run (the user's newest choice, if any)
        kept[key] = st.session_state[key]
    return kept.get(key, default)


def choose(key: str, value: Any) -> None:
    """Make ``value`` the display choice of ``key`` (`kept_value`) from outside its widget (a link's
    address): its widget, drawn after this in the script run, starts at it. The widget's own state is
    dropped rather than written (Streamlit warns about a widget given a default whose state was also set
    through the Session State API), so it takes the value `kept_value` gives it."""
    st.session_state.setdefault(VIEW_CHOICES_KEY, {})[key] = value
    st.session_state.pop(key, None)


def steady_select_slider(
    label: str, options: list, key: str, *, reset_to: Any, move_to: Any = None, **kwargs
) -> Any:
    """``st.select_slider(label, options, key=..., **kwargs)`` whose default in the browser is its value,
    and which the code can move without the browser moving it back.

    Streamlit sends a keyed widget's ``value`` argument to the browser as its default (for ``None``, the
    first option), and the browser falls back to that default when it draws the widget without a value
    of its own, then sends it back as though chosen. The Train page's snapshot slider, left at newest,
    jumped to step 0 that way in 3 of 13 live views on a loaded machine, and the view froze on step 0.
    So its value is passed as ``value`` on each run: Streamlit starts the widget there (its first draw)
    and puts it back there when the value it kept is not in ``options``: ``reset_to`` then, or
    ``reset_to(kept)`` when it is a function (``kept``: the value gone, None on a first draw).

    ``move_to`` (a value in ``options``, e.g. a chart click's step) moves it there: as a new widget (its
    key ``key`` then ``key:1``, ``key:2`` ...) started at that value: written into the old widget's key,
    a move can be undone by a refresh the browser sent before the move reached it (its request carries
    the old value, which Streamlit takes for the user's choice), while a value sent for a widget no
    longer drawn is dropped. The target is kept until that widget is drawn (a run that a refresh cut
    short draws none). Returns the value chosen."""
    state = st.session_state
    moves_key, moved_key = f"_moves_{key}", f"_moved_to_{key}"
    moves = state.get(moves_key, 0)
    current = state.get(f"{key}:{moves}" if moves else key)
    if move_to is not None and move_to in options and move_to != current:
        moves = state[moves_key] = moves + 1
        state[moved_key] = move_to  # until the new widget is drawn: a run cut short by a refresh draws none
        current = None
    elif current is not None:
        state.pop(moved_key, None)
    moved = state.get(moved_key)
    if current in options:
        value = current
    elif moved in options:
        value = moved
    else:  # its first draw, or its value gone from the options
        value = reset_to(current) if callable(reset_to) else reset_to
    widget_key = f"{key}:{moves}" if moves else key
    return st.select_slider(label, options=options, key=widget_key, value=value, **kwargs)


def runs_root() -> Path:
    return Path(os.environ.get(RUNS_ENV) or APP_DIR / "runs")


def data_roots() -> list[Path]:
    """The folders the dashboard may read data from: uploads (runs folder / .uploads), ``data/`` beside the
    app and in the working folder, and the folders listed in GAN_DASHBOARD_DATA (separated by
    os.pathsep). A browser must not make the server read any other file on its machine."""
    listed = os.environ.get(DATA_ENV, "").split(os.pathsep)
    # data/ beside the app, and data/ where the server was started (torchvision's default path is
    # relative to the working folder)
    defaults = [APP_DIR / "data", Path.cwd() / "data"]
    return [runs_root() / ".uploads", *defaults, *(Path(p) for p in listed if p.strip())]


# A fresh server's first page waits here for the slow lazy imports of a first run (several seconds on a
# small CPU, after the engine's own: ui/starting.py): said, not a blank page.
@st.cache_resource(show_spinner="Starting the dashboard: preparing the training engine (first page only)")
def _registry(root: str, max_active: int) -> RunRegistry:
    registry = RunRegistry(root, max_active)
    # Training shares this machine with the server and the browsers that watch it. Torch's default of
    # one intra-op thread per core makes every op wait on all cores; when the UI takes one, OpenMP's
    # barriers stall (measured: 13x slower steps while watched on 2 cores). Half the cores for torch.
    torch.set_num_threads(max(1, (os.cpu_count() or 2) // 2))
    # The slow lazy imports of a first run — torch's compiler stack (the first optimizer: ~3 s on a small
    # CPU), scikit-learn (the default data, the digit classifier) and torchvision's image grid — are made
    # here, in the script's thread, never in a training or warm-up thread beside a page: their imports
    # parse source (typing's forward references, torch.jit's overloads, some 300 compile() calls), and
    # on Python 3.11 the AST state is shared by threads, so a page script compiled meanwhile failed at
    # random with "SystemError: AST constructor recursion depth mismatch" (CPython gh-106905; seen in
    # the tests with the imports in a warm-up thread, then with the classifier's in a training thread).
    for module in WARM_IMPORTS:
        importlib.import_module(module)
    PIL.Image.init()  # Pillow's format plugins, imported on the first snapshot saved otherwise
    weight = torch.zeros(1, requires_grad=True)  # an optimizer's first step: a type hint it evaluates once
    weight.sum().backward()
    torch.optim.Adam([weight]).step()
    # Reading the default data (no imports left to make) is paid in the background, not at Start.
    threading.Thread(target=_warm_up, name="warm-up", daemon=True).start()
    # Streamlit stops its server on SIGTERM / SIGINT and the interpreter then exits normally, which
    # runs this hook: every live run stops cleanly (final checkpoint, files flushed, status written).
    atexit.register(registry.stop_all)
    return registry


WARM_IMPORTS = (
    "torch._dynamo",
    "torch.utils.serialization.config",  # the first checkpoint's
    "torchvision.utils",
    "sklearn.datasets",
    "sklearn.svm",
    "sklearn.model_selection",
)


def _warm_up() -> None:
    from sklearn.datasets import load_digits

    load_digits()


def registry() -> RunRegistry:
    """The one registry of this server (shared by every session and page)."""
    try:
        max_active = int(os.environ.get(MAX_RUNS_ENV, DEFAULT_MAX_ACTIVE))
    except ValueError:
        max_active = DEFAULT_MAX_ACTIVE
    try:
        return _registry(str(runs_root().resolve()), max(1, max_active))
    except RegistryError as exc:  # the runs folder is a file, or cannot be made: said, not a traceback
        st.error(
            f"{literal(str(exc)[:1].upper() + str(exc)[1:])}. Set {RUNS_ENV} to a folder this server can "
            "write (or unset it for runs/ beside dashboard.py), then restart the dashboard.",
            icon=":material/folder_off:",
        )
        st.stop()


# The run the address names (``?run=ID``, a valid id) that the runs folder does not hold yet: a link opened
# before the loop or CLI run that writes it starts. The Train view says so and opens it once it appears.
AWAITED_KEY = "_awaited_run"
# The run this session watched until its folder could no longer be opened (deleted or moved while it was
# watched, by hand or by another program), and why: the Train view says so until another run is watched.
LOST_KEY = "_lost_run"


def watched_view() -> RunView | None:
    """The run this browser session watches, or None (shows an error if it vanished).

    A new session (a page refresh, a second tab) has no session state: it takes the run named in the
    URL (``?run=ID``, which `watch` keeps current), else the newest run training in this server."""
    # (a slash a link picked up at its end, ``?run=mine/``, is no part of any run id: left out; a link of
    # slashes alone stays as it is, to be refused as the invalid id it is)
    # (a run waited for is still waited for after a visit to another page, whose links drop ?run=)
    linked = st.query_params.get("run") or st.session_state.get(AWAITED_KEY) or ""
    run_id = st.session_state.get("run_id") or linked.rstrip("/") or linked
    if not run_id and "run_id" not in st.session_state:
        active = registry().active()
        run_id = active[-1].run_id if active else None
    st.session_state.pop(AWAITED_KEY, None)
    if not run_id:
        return None
    if not st.session_state.get("run_id"):
        try:
            validate_run_id(run_id)
        except ValueError:  # no run may have this id: said below
            pass
        else:
            if not registry().holds(run_id):  # a link to a run not started yet: waited for (`AWAITED_KEY`)
                st.session_state[AWAITED_KEY] = run_id
                st.query_params["run"] = run_id
                return None
    if st.session_state.get("run_id") == run_id:  # watched until now: gone, it is said by the page
        try:
            view = registry().view(run_id)
        except (RunDirError, RegistryError, ValueError) as exc:
            folder = registry().runs_root / run_id
            # a folder gone is said as that, not with the lookup's hint for a mistyped id (a review)
            gone = f"its folder {folder} is gone" if not os.path.lexists(folder) else str(exc)
            st.session_state[LOST_KEY] = (run_id, gone)
            view = None
    else:
        view = open_view(run_id, to="shown")
    if view is None:
        watch(None)
        return None
    st.session_state.pop(LOST_KEY, None)
    st.session_state.run_id = run_id
    return view


def address_run() -> str | None:
    """The run the page's address names (``?run=ID``), or None; a slash a link picked up at its end is no
    part of any run id and is left out, as the Train view leaves it out (`watched_view`)."""
    linked = st.query_params.get("run")
    return (linked.rstrip("/") or linked) if linked else None


def address_problem(run_ids: list[str]) -> str | None:
    """Why the run the address names cannot be shown (no run may have that id, or the runs folder holds
    none of it), as Markdown that shows the id as typed; None when it names none or a run in ``run_ids``.
    The Runs and Probe pages say it above the run they show in its place."""
    named = address_run()
    if named is None or named in run_ids:
        return None
    try:
        validate_run_id(named)
    except ValueError as exc:
        return literal(f"The address names run {quoted(named)}, which cannot be shown: {exc}.")
    return literal(
        f"The address names run {named}, which the runs folder does not hold (not started yet, deleted or "
        "moved)."
    )


def address_names(name: str) -> list[str] | None:
    """The names the page's address gives the query parameter ``name`` as a comma-separated list
    (``?runs=a,b,c``), each once, in order, blanks left out and a slash a link picked up at the end dropped
    (as `address_run` drops it); None when the address has no such parameter, or an empty one."""
    given = st.query_params.get(name)
    if not given:
        return None
    names = [part.strip() for part in given.rstrip("/").split(",")]
    return list(dict.fromkeys(n for n in names if n)) or None


def address_runs_problem(named: list[str], run_ids: list[str]) -> str | None:
    """Why some of the runs the address names (``named``, `address_names`) cannot be opened, in one line
    of Markdown that shows each id as typed: those no run may have (`validate_run_id`) and those the runs
    folder does not hold among ``run_ids`` (the readable runs: one there that cannot be read is said so).
    None when every one is in ``run_ids``. `address_problem` says it for a page of one run."""
    malformed, missing, unreadable = [], [], []
    for run_id in named:
        if run_id in run_ids:
            continue
        try:
            validate_run_id(run_id)
        except ValueError:
            malformed.append(run_id)
            continue
        (unreadable if os.path.lexists(registry().runs_root / run_id) else missing).append(run_id)
    parts = []
    if malformed:
        parts.append(
            f"{', '.join(quoted(r) for r in malformed)} (no run may have such an id: a run id is "
            f"{RUN_ID_RULE} or slashes)"
        )
    if missing:
        parts.append(
            f"{', '.join(missing)} (the runs folder does not hold {'it' if len(missing) == 1 else 'them'}: "
            "not started yet, deleted or moved)"
        )
    if unreadable:
        parts.append(f"{', '.join(unreadable)} (cannot be read: see the Runs page)")
    if not parts:
        return None
    return literal(f"The address names runs that cannot be opened: {'; '.join(parts)}.")


def open_view(run_id: str, *, to: str = "opened") -> RunView | None:
    """`RunRegistry.view` of ``run_id``, or None after an error that says why it cannot be ``to``."""
    try:
        return registry().view(run_id)
    except (RunDirError, RegistryError, ValueError) as exc:
        st.error(f"Run {literal(quoted(run_id))} cannot be {to}: {literal(exc)}")
        return None


def run_banners(view: RunView, *, prefix: str = "", failed: bool = True) -> None:
    """What a page says about a run before showing it: that it failed, and with what error, or why it
    stopped when that was recorded (a SIGTERM, Ctrl-C, a loop's `finish()` short of its target) (both
    with ``failed``), and what its files have wrong (the run is shown without it), each line after
    ``prefix``."""
    if failed and view.status == "failed":
        st.error(f"{prefix}The run failed: {literal(view.error) if view.error else 'no error was recorded'}")
    elif failed and view.status == "stopped" and view.error:  # a Stop click records none: nothing to say
        st.info(f"{prefix}The run stopped: {literal(view.error)}", icon=":material/stop_circle:")
    for problem in view.problems:
        st.warning(prefix + literal(problem), icon=":material/warning:")


MAX_CHANGES_SHOWN = 5  # runs `listing_changes_text` names per kind of change; beyond them, how many more


def listing_changes_text(shown: dict[str, str], now: dict[str, str]) -> str | None:
    """What changed in a runs folder between the listing a page drew (``shown``: run id -> status) and
    ``now`` (`RunRegistry.statuses`), as one Markdown line: the runs new, gone, and whose status moved
    on (at most `MAX_CHANGES_SHOWN` named per kind, then how many more); None when nothing changed."""
    new = [literal(run_id) for run_id in now if run_id not in shown]
    gone = [literal(run_id) for run_id in shown if run_id not in now]
    moved = [
        f"{literal(run_id)} {shown[run_id]} → {state}"
        for run_id, state in now.items()
        if shown.get(run_id, state) != state
    ]
    said = []
    for what, names in (("new", new), ("gone", gone), ("status", moved)):
        if names:
            listed = ", ".join(names[:MAX_CHANGES_SHOWN])
            more = f" and {len(names) - MAX_CHANGES_SHOWN} more" if len(names) > MAX_CHANGES_SHOWN else ""
            said.append(f"{what}: {listed}{more}")
    return "Since this list was drawn: " + "; ".join(said) if said else None


_KEEP_FOCUS_JS = """
(() => {
  const next = %s;
  const keeper = window.__ganKeepFocus || (window.__ganKeepFocus = {next: {}, pressed: null, until: 0});
  keeper.next = next;  // (the page drawn last: its buttons)
  if (keeper.installed) return;
  keeper.installed = true;
  document.addEventListener("click", (event) => {
    const box = event.target.closest && event.target.closest("[class*='st-key-']");
    const key = box && [...box.classList].find((name) => name.startsWith("st-key-"));
    keeper.pressed = key && keeper.next[key.slice(7)] ? key.slice(7) : null;
    keeper.until = performance.now() + %d;
  }, true);
  setInterval(() => {
    if (!keeper.pressed) return;
    if (performance.now() > keeper.until) { keeper.pressed = null; return; }
    const active = document.activeElement;
    if (active && active !== document.body && active.isConnected && !active.disabled) return;
    for (const key of keeper.next[keeper.pressed] || []) {
      const button = document.querySelector(`.st-key-${key} button`);
      if (button && !button.disabled) { button.focus(); keeper.pressed = null; return; }
    }
  }, 150);
})();
"""
KEEP_FOCUS_MS = 10_000  # how long after a press its button's focus is looked after (a slow rerun included)


def keep_focus(key: str, next_of: Mapping[str, list[str]]) -> None:
    """Keep the keyboard's focus among a page's buttons: when the button of key K (a key of ``next_of``)
    is pressed, by click or by key, and then goes disabled or away (Pause while paused, Apply once
    applied), so that the browser drops the focus to the page's start, the first enabled one of
    ``next_of[K]`` takes it (Pause -> Resume), within `KEEP_FOCUS_MS`. Focus the user has moved elsewhere
    meanwhile is left where it is. One script for the page (`st.html`'s JavaScript, ours alone: no text
    from a user in it), in a hidden container of ``key``."""
    script = _KEEP_FOCUS_JS % (json.dumps({k: list(v) for k, v in next_of.items()}), KEEP_FOCUS_MS)
    with st.container(key=key):
        st.html(
            f"<style>.st-key-{key} {{display: none;}}</style><script>{script}</script>",
            unsafe_allow_javascript=True,
        )


def training_now_text(
    steps: dict[str, int], lead: str = "Training now", paused: Iterable[str] = ()
) -> str | None:
    """The runs training now and the step each has reached (``steps``: run id -> step,
    `RunRegistry.steps_now`), as one Markdown line after ``lead``, ids as text, at most `MAX_CHANGES_SHOWN`
    named then how many more; those in ``paused`` said "paused at step"; None when none trains."""
    if not steps:
        return None
    paused = set(paused)
    named = [
        f"{literal(run_id)} {'paused ' if run_id in paused else ''}at step {step:,}"
        for run_id, step in list(steps.items())[:MAX_CHANGES_SHOWN]
    ]
    more = f" and {len(steps) - MAX_CHANGES_SHOWN} more" if len(steps) > MAX_CHANGES_SHOWN else ""
    return f"{lead}: " + ", ".join(named) + more


def misnamed_caption() -> None:
    """A caption for the folders of the runs folder that hold a run under a name no run id may have
    (`RunRegistry.misnamed_note`: how many are left out of the listing, why, the first few names, and how
    to list them), the names shown as text."""
    note = registry().misnamed_note(literal)
    if note:
        st.caption(note)


def readable_run_ids(owned_only: bool = False) -> list[str]:
    """The ids of the runs a page can open, newest first (``owned_only``: of those the dashboard trains,
    `RunRegistry.run_ids`); the unreadable ones are named in a caption (the Runs page says why, and can
    delete them)."""
    readable, left_out = registry().run_ids(owned_only)
    if left_out:
        names = ", ".join(literal(run_id) for run_id in left_out)
        st.caption(f"Left out, as they cannot be read: {names} (see the Runs page).")
    return readable


def watch(run_id: str | None) -> None:
    """Watch ``run_id`` in this session, and name it in the URL so a refresh keeps it."""
    st.session_state.run_id = run_id
    if run_id:
        st.query_params["run"] = run_id
    else:
        st.query_params.pop("run", None)


# The Train view's script, as dashboard.py registers it (`st.switch_page` takes a page's path from the app's
# folder, not the entry script's: dashboard.py only names the pages).
TRAIN_PAGE = "pages/0_Train.py"
COMPARE_PAGE = "pages/2_Compare.py"  # (its address names the runs it compares: ``?runs=a,b``)


def go_to_train() -> None:
    """Leave this page for the Train view, on the run this session watches: named in the URL there
    (``?run=ID``), so that a refresh or a bookmark keeps it (`st.switch_page` drops the query
    parameters it is not given)."""
    run_id = st.session_state.get("run_id")
    st.switch_page(TRAIN_PAGE, query_params={"run": run_id} if run_id else None)


# What can refuse a resume or a branch: the registry (limit, live here), the folder (no checkpoint), the
# runner (trained elsewhere, steps done), the data (gone) and the config (a fixed field changed).
CONTINUE_ERRORS = (RegistryError, RunDirError, RunnerError, DataError, ValueError)


def check_server_data_path(cfg: GANConfig, *, limit: int | None = None) -> None:
    """`DataError` unless ``cfg``'s data_path (for a dataset that reads one; empty: torchvision's default,
    data/ in the working folder) lies inside `data_roots`: the server reads data only there, never
    wherever a browser, or a run folder's config.json, names. The message says how to allow a folder, and
    quotes at most ``limit`` characters of the path (the engine's limit for a path by default)."""
    spec = DATASET_SPECS[cfg.dataset]
    if not spec.reads_data_path:
        return
    try:
        quoting = {} if limit is None else {"limit": limit}
        check_data_path(cfg.data_path or "data", data_roots(), **quoting)
    except DataError as exc:
        how = "upload the data, or " if spec.needs_data_path else ""
        raise DataError(f"{exc} ({how}list its folder in {DATA_ENV})") from None


def run_data(run_id: str, changes: dict[str, Any] | None = None) -> DataSource:
    """A run's data, loaded before anything starts (missing data is an error now, not a failed run), on
    the device the continued run will train on (`continue_device`: ``changes``' device, else auto).
    `DataError` for a data_path outside `data_roots` (`check_server_data_path`)."""
    cfg = registry().view(run_id).cfg
    check_server_data_path(cfg)
    return load_data(cfg, resolve_device(continue_device(changes)), allowed_roots=data_roots())


def resume_run(run_id: str, changes: dict[str, Any] | None = None) -> str | None:
    """Resume ``run_id`` from its latest checkpoint, with mid-run ``changes``, and watch it; returns
    what went wrong, or None."""
    try:
        registry().resume(run_id, changes, data=run_data(run_id, changes))
    except UnusableCheckpointError as exc:
        instead = " Branch a new run from one: Runs page, Rewind / branch, From the checkpoint at."
        return f"Cannot resume {literal(run_id)}: {literal(exc)}." + (instead if exc.older else "")
    except CONTINUE_ERRORS as exc:
        return f"Cannot resume {literal(run_id)}: {literal(exc)}"
    watch(run_id)
    return None


def no_checkpoint_note(view: RunView, instead: str) -> str | None:
    """Why an ended run of ours cannot be continued when it kept no checkpoint (a kill -9 before its
    first one): Resume and Rewind / branch are disabled then, and a disabled button says nothing by
    itself. ``instead``: what to do, where the note is shown. None when the run has a checkpoint, entries
    named like one (Resume then says what each is), still trains, or is a user's loop's (it keeps none of
    ours). A run whose checkpoints is no folder (a file of that name) gets what is wrong with it instead,
    never that it saved none."""
    if not view.owned or view.status not in (*ENDED, "interrupted"):
        return None
    problem = view.run_dir.checkpoints_folder_problem()  # checkpoints is a file: not for want of saving
    if problem is not None:
        return (
            "This run cannot be continued: Resume and Rewind / branch start from a checkpoint, and "
            f"{literal(problem)}."
        )
    if view.checkpoint_steps() or view.run_dir.not_checkpoints():
        return None
    every = view.cfg.checkpoint_every
    due = (
        "checkpoint_every=0 saves one only when a run ends cleanly"
        if not every
        else f"checkpoint_every={every}: the first was due at step {every}"
        if view.current_step < every
        else f"checkpoint_every={every}"
    )
    return (
        f"No checkpoint was saved before this run ended at step {view.current_step} ({due}), so it cannot "
        f"be continued: Resume and Rewind / branch start from a checkpoint. Instead, {instead}"
    )


def download_buttons(container, view: RunView, key_prefix: str) -> None:
    """Download CSV (every step, every column) and Download ZIP (the run folder), built on click."""
    container.download_button(
        "Download CSV",
        data=lambda: metrics_csv_bytes(view.run_dir),
        file_name=f"{view.run_id}.csv",
        mime="text/csv",
        key=f"{key_prefix}csv",
        on_click="ignore",
        help="Every step, every column, with the hyperparameters in force at each step",
    )
    container.download_button(
        "Download ZIP",
        data=lambda: run_zip_bytes(view.run_dir),
        file_name=f"{view.run_id}.zip",
        mime="application/zip",
        key=f"{key_prefix}zip",
        on_click="ignore",
        help="The whole run folder: config, metrics, events, samples, checkpoints",
    )


NOTES_PLACEHOLDER = (
    "What this run tries and what you saw, e.g. 'lr_d halved: does D still lead? G collapsed onto 3 modes "
    "at step 1,200'. Found by the Runs page's filter."
)


def _save_notes(run_id: str, area_key: str, said_key: str) -> None:
    """Save's callback: the text area's notes written (`RunRegistry.set_notes`), if the run's notes are
    still those the edit began from (``area_key:base``); what came of it is said under the area
    (`notes_popover`) and, saved, in a toast. Notes changed elsewhere meanwhile are not overwritten:
    said, with them, and a second Save replaces them."""
    base_key = f"{area_key}:base"
    try:
        kept = registry().set_notes(
            run_id, st.session_state.get(area_key, ""), expected=st.session_state.get(base_key)
        )
    except NotesChangedError as exc:
        st.session_state[base_key] = exc.current  # (the next Save replaces these)
        now = f" They now read: {literal(exc.current)}" if exc.current else " There are none now."
        st.session_state[said_key] = (
            "warning",
            f"{literal(exc)}.{now}  \nSave again to replace them with yours.",
        )
        return
    except NotesPendingError as exc:  # (they may land later: then they are the edit's base)
        st.session_state[base_key] = checked_notes(st.session_state.get(area_key, ""))
        st.session_state[said_key] = ("warning", literal(exc))
        return
    except (RegistryError, RunDirError) as exc:
        st.session_state[said_key] = ("error", literal(exc))
        return
    st.session_state[area_key] = st.session_state[base_key] = kept  # (as kept: trimmed)
    st.session_state.pop(said_key, None)
    st.toast(
        f"Notes of {literal(run_id)} saved." if kept else f"Notes of {literal(run_id)} removed.",
        icon=":material/edit_note:",
    )


def notes_popover(where, view: RunView, key_prefix: str) -> None:
    """A "Notes" popover in ``where`` (a page's row of buttons): run ``view``'s notes in a text area, and
    Save (`RunRegistry.set_notes`, under the folder's claim: two processes never write one folder).

    The area starts from the notes in the folder, kept as the edit's base (``:base``), and follows them
    while the user has not edited it (notes saved meanwhile from another tab or ``python -m gan_core
    notes``); what the user typed is kept across the page's reruns. An area Streamlit dropped (the popover
    not drawn for a while: another run or page shown) starts again from the folder, never empty. Save
    writes only over the notes the edit began from (`_save_notes`). For a run another process writes
    (a terminal's train, a user's loop) they are sent to it, which writes them (`RunView.notes_writable`);
    Save is off only where that process takes none (an older version's): the help says where its notes
    are set. A refusal (text not allowed, the run taken meanwhile, no answer in time) is said
    under the area, the text kept to be corrected."""
    notes, problem = view.notes_read()
    area_key = f"{key_prefix}notes:{view.run_id}"
    base_key, said_key = f"{area_key}:base", f"{area_key}:said"
    base = st.session_state.get(base_key)
    if area_key not in st.session_state or (notes != base and st.session_state[area_key] == base):
        st.session_state[area_key] = st.session_state[base_key] = notes  # (new, or not edited)
        st.session_state.pop(said_key, None)
    elsewhere = not view.notes_writable  # (its writer holds the folder and takes no notes from here)
    count = len(notes.splitlines())
    label = f"Notes ({count} line{'s' if count > 1 else ''})" if notes else "Notes"
    with where.popover(label, icon=":material/edit_note:", key=f"{area_key}:pop"):
        if problem:
            st.warning(f"{literal(problem)}.")
        st.text_area(
            f"Notes of run {view.run_id}",
            key=area_key,
            max_chars=MAX_NOTES_CHARS,
            height=180,
            placeholder=NOTES_PLACEHOLDER,
            label_visibility="collapsed",
            disabled=elsewhere,
        )
        st.button(
            "Save notes",
            key=f"{area_key}:save",
            type="primary",
            disabled=elsewhere,
            on_click=acted(_save_notes),
            args=(view.run_id, area_key, said_key),
            help=(
                f"{literal(view.trained_by)} writes this run and takes no notes from here (an older "
                "version): set them there, or here once it ends"
            )
            if elsewhere
            else "Keep these notes in the run's folder (notes.txt): shown on the Runs page, the Train "
            "view and Compare, and found by the Runs page's filter"
            + (
                f"; {literal(view.trained_by)}, which writes this run, writes them between two steps"
                if view.external
                else ""
            ),
        )
        said = st.session_state.get(said_key)
        if said:
            getattr(st, said[0])(said[1])


def hparams_table(hparams: dict[str, Any]) -> pd.DataFrame:
    """A user's free-form hyperparameters as a two-column table of text (nested values as JSON)."""
    return pd.DataFrame(
        {
            "name": list(hparams),
            "value": [json.dumps(v) if isinstance(v, dict | list) else str(v) for v in hparams.values()],
        }
    )


def environment_table(environment: dict[str, Any]) -> pd.DataFrame:
    """What a run trained with (`RunView.environment`) as `hparams_table` draws a run's settings: each
    field's name and value in words (`gan_core.environment.environment_rows`)."""
    return hparams_table(dict(environment_rows(environment)))


# Streamlit's grid (st.dataframe): its header row and borders, and a row of one line of text, in pixels
TABLE_HEADER_PX = 37
TABLE_ROW_PX = 35


def theme_type() -> str:
    """The theme, "light" or "dark": the server's (``theme.base``, .streamlit/config.toml's "light" unless
    started with --theme.base dark; the minimal toolbar has no menu to change it in the tab), else the
    tab's (`st.context.theme`), which is unknown on a page's first run and says "light" on a fresh tab's
    (Streamlit's issue 11920): the Runs page's run ids were drawn black on the dark background there."""
    base = st.get_option("theme.base")  # (or a theme file's path or URL: then the tab's word)
    return base if base in ("light", "dark") else st.context.theme.type or "light"


def table_height(rows: int, most: int, row_px: int = TABLE_ROW_PX) -> int:
    """Pixels of an st.dataframe that show ``rows`` rows whole, ``most`` at most (more scroll inside it;
    Streamlit's default shows ten), each ``row_px`` tall (its ``row_height``)."""
    return TABLE_HEADER_PX + row_px * min(rows, most)


def run_column_width(run_ids: list[str], least: int = 120, most: int = 340) -> int:
    """Pixels of a table's run column that show the longest id whole, so that what tells a branch from its
    parent (its "-at2000" end) is never cut, and no more (`text_column_width`); at least ``least`` (the
    header's width), at most ``most`` (340: a default 41-character id whole, where 260 cut its last
    character; one id of 98 characters at 520 left the Runs page's table at 1280 px only its status, step
    and quality beside it: a longer id is cut, whole in the Runs page's menu of runs)."""
    return text_column_width(run_ids, least, most)


def text_column_width(texts: Iterable[str], least: int, most: int) -> int:
    """Pixels of a table's text column that show its longest text whole (a step past 100,000 with "(until
    stopped)", a value "@100,000"), and no more: 7.5 px a character at the table's 14 px (Chromium draws
    an id at 6.6 px a character in Source Sans, and at 7.2 in the sans-serif it uses until that font has
    loaded), plus the cell's padding; at least ``least`` (the header's width), at most ``most``."""
    return min(max(int(max(map(len, texts), default=0) * 7.5) + 24, least), most)


def whole_seconds(seconds: float) -> str:
    """A time to come or gone by, as the progress line says it: whole seconds under a minute (``7 s``, not
    `training_time`'s ``7.3 s``, which an estimate does not have), then as `training_time` says it."""
    if math.isfinite(seconds) and 0 <= round(seconds) < 60:
        return f"{seconds:.0f} s"
    return training_time(seconds)


def training_time(seconds: float) -> str:
    """How long a run trained, as the progress line says it: ``0.4 s`` under 10 s (an 80-step run's "0 s"
    said it never trained), ``42 s``, then ``12 min 5 s`` and ``3 h 20 min``."""
    if not math.isfinite(seconds) or seconds < 0:
        return "— s"
    if round(seconds, 1) < 10:
        return f"{seconds:.1f} s"
    if round(seconds) < 60:
        return f"{seconds:.0f} s"
    whole = round(seconds)  # (59.6 s is "1 min 0 s", not "60 s")
    if whole < 3600:
        return f"{whole // 60} min {whole % 60} s"
    minutes = round(seconds / 60)
    return f"{minutes // 60} h {minutes % 60} min"


# A plotly line dash as an SVG stroke-dasharray, in a 2 px line's units (plotly draws "dash" 9 px on, 9 off)
SWATCH_DASHES = {"solid": "", "dash": "6,4", "dot": "2,3", "dashdot": "6,3,2,3"}


def line_swatch(color: str, dash: str = "solid") -> str:
    """A short line in ``color`` ("#rrggbb") and plotly ``dash`` (`SWATCH_DASHES`' names) as inline SVG
    markup, as a legend draws a run's line: what names a run beside its samples on Compare. Decoration,
    hidden from assistive technology (``aria-hidden``): the run's name beside it says which run it is (a
    screen reader said "line" before every run's name)."""
    if dash not in SWATCH_DASHES:
        raise ValueError(f"dash {dash!r} is unknown: allowed {', '.join(SWATCH_DASHES)}")
    if not re.fullmatch(r"#[0-9a-fA-F]{6}", color):
        raise ValueError(f"color {color!r} is not #rrggbb")
    pattern = f' stroke-dasharray="{SWATCH_DASHES[dash]}"' if SWATCH_DASHES[dash] else ""
    return (
        '<svg width="24" height="10" aria-hidden="true" focusable="false" style="vertical-align:middle">'
        f'<line x1="1" y1="5" x2="23" y2="5" stroke="{color}" stroke-width="3"{pattern}/></svg>'
    )


def checked_number(
    where: Any,
    label: str,
    low: int,
    high: int,
    default: int,
    step: int,
    key: str,
    refused: Sequence[str] = (),
    **kwargs: Any,
) -> tuple[int, str | None]:
    """A whole-number field that allows ``low`` to ``high``, and the value to use: the one typed when it is
    in range, else the last one that was (at first ``default``), with a message that says so (None when
    the typed one is used). Drawn in ``where`` (a container, or ``st``) with ``kwargs`` (width, help).
    ``refused``: the labels of the fields whose number the browser would not send (`ui.sidebar.
    refused_labels`: past 2**53, 16 digits and more), said as out of range too.

    The field has no min/max of its own: Streamlit's number input, given them, keeps a value typed past
    them in the field, outlined in red, while the page goes on with the last value without a word (a
    seed of 3,000,000,000 on the Probe page). The sidebar's fields refuse their values the same way
    (`ui.sidebar`'s ``NUMBER_SPECS``)."""
    kept = f"_{key}_in_range"
    value = where.number_input(label, value=default, step=step, key=key, **kwargs)
    if label not in refused and value is not None and low <= value <= high:
        st.session_state[kept] = int(value)
        return int(value), None
    used = int(st.session_state.get(kept, default))
    if label in refused:  # (the field still holds its last value sent: said, not used as if typed)
        return used, (
            f"{label}: the number typed is beyond what a number field can hold, so the browser did not send "
            f"it (the field is outlined in red): allowed {low:,} to {high:,}. Used: {used:,}."
        )
    typed = "empty" if value is None else f"{int(value):,}"
    return used, f"{label} {typed} is out of range: allowed {low:,} to {high:,}. Used: {used:,}."


def setting_format(values: pd.Series) -> str:
    """A settings column's number format: whole numbers whole (a seed of 123456, which "%.4g" wrote
    1.235e+05, its neighbours alike), others to 6 significant digits, as Compare's settings."""
    finite = values[np.isfinite(values)]
    whole = bool(len(finite)) and bool((finite == finite.round()).all()) and bool(finite.abs().lt(1e15).all())
    return "%d" if whole else "%.6g"
