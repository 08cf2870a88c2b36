"""The sidebar's hyperparameter form: one widget per GANConfig field, grouped as the config is.

Number fields are unbounded, the range the config allows in their help (`NUMBER_RANGES`, the ranges
GANConfig's check reads): a value out of range is sent as typed and refused by that check with its message,
as is anything else wrong (a path, an upload, a dcgan image size), shown as an error naming the field; a
number too long for a browser's number field, which the browser never sends, is reported by a watcher
element (`REFUSED_KEY`), its message stating the same range. Widget keys are ``cfg_<field>``.

The form's values outlive its widgets: Streamlit drops a widget's value after a script run that did not
draw it (a visit to another page, a field hidden for the chosen loss), so they are kept under FORM_KEY
and the widget keys are seeded from there (`_restore_widgets`). The form also remembers what it showed
for the run the session watches (FORM_BASE_KEY), so that Apply and Resume offer only what the user
changed (`edited_fields`), never a difference left by opening another run.

Above the form, one button per scenario preset (`gan_core.presets`) starts the preset in one click; the
form takes the preset's values once its run has started (a preset the server refuses leaves the form as it
was), and a caption then says which preset is loaded and what to watch for.

A form that makes no config the server will start says so where the problem is (a data_path problem under
data_path, in the Data section) and gives the Train view a line to show beside its disabled Start
(`FormCheck.start_note`); an upload is read when it arrives, by the loader a run uses, and a file that
would not load is refused then, its message saying which data the form still uses (an earlier upload).
"""

from __future__ import annotations

import dataclasses
import os
import secrets
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

import streamlit as st

from gan_core.app import (
    CONDITIONINGS,
    DATASET_SPECS,
    DATASETS,
    DEVICE_CHOICES,
    LOSSES,
    MAX_UPLOAD_BYTES,
    MODELS,
    MUTABLE_FIELDS,
    NUMBER_RANGES,
    PRESETS,
    RECORDING_FIELDS,
    ConfigError,
    DataError,
    GANConfig,
    UploadError,
    allowed_roots_text,
    check_data_contents,
    extract_images_zip,
    get_loss,
    get_preset,
    quoted,
    read_points_csv,
    save_points_upload,
)
from ui.common import acted, check_server_data_path, data_roots, literal

DEFAULTS = GANConfig()
FIELDS = tuple(f.name for f in dataclasses.fields(GANConfig))

# Session-state keys of the form, read by the Train view and by the pages that start runs (Guide).
FORM_KEY = "_form_values"  # field -> value: what the form holds, drawn or not
FORM_BASE_KEY = "_form_base"  # {"run_id", "values"}: what the form showed for the run the session watches
PRESET_KEY = "_preset"  # the preset last loaded into the form
AUTOSTART_KEY = "_autostart"  # a preset button's (name, start request): the Train view starts that preset
START_KEY = "_start_request"  # the id the next start click sends: one click starts at most one run
UPLOAD_DONE_KEY = "_upload_done"  # "<dataset>:<file id>" of the upload data_path was last set to
# The last upload refused: ("<dataset>:<file id>", message, the data_path in the form then, stale). Stale
# once a run has started or another data_path is typed (`forget_refused_upload`, `_upload`): its message,
# and the data it said the form still used, are no longer news.
UPLOAD_REFUSED_KEY = "_upload_refused"
UPLOADED_KEY = "_uploaded"  # (data_path, the file's name) of the upload data_path was last set to
LR_FORMAT = "%.1e"

# A number typed beyond what a browser's number field holds (a whole number past ±(2**53 - 1), 16 digits
# and more; a float past ±1.8e308) never reaches the server: Streamlit outlines the field in red and keeps
# its last value, and Start trained that value without a word. This element draws nothing: in the browser
# it watches the sidebar's number fields for the ones Streamlit marks invalid (``aria-invalid``) and sends
# their labels (the field names) as its ``refused`` state, so that the form says so and Start refuses
# (`refused_numbers`). A click on Start, Resume or Apply while a field holds such a number is stopped in
# the browser before the button sends it (the click that takes the focus off the field may reach the
# server before the field is marked, and trained the last value), and the form is told instead. One
# observer and one click guard per form and browser tab (`watch_refused_numbers`: the Runs page's branch
# form has its own): the function runs again whenever ``data`` changes.
# (Every value a field does send is the form's, unbounded, and the config's check refuses it with its own
# message: see `_number`.)
REFUSED_KEY = "form_refused_numbers"
_REFUSED_JS = """
export default function(component) {
    const { setStateValue, data, parentElement } = component;
    // One watcher per form (``data.slot``): the sidebar's, the Runs page's branch form. Its fields are the
    // number inputs inside ``data.scope``, the element's own ancestor (the sidebar, a popover's body).
    const watches = (window.__ganRefusedNumbers ??= {});
    const watch = (watches[data?.slot ?? "form"] ??= { observer: null, sent: "[]", guard: null });
    watch.observer?.disconnect();
    watch.observer = null;
    const sidebar = parentElement?.closest(data?.scope ?? '[data-testid="stSidebar"]');
    if (!sidebar) return;
    watch.sent = JSON.stringify(data?.refused ?? []);  // what the server holds: only a change is sent
    const integers = new Set(data?.integers ?? []);
    // A field the browser will not send: marked invalid by Streamlit, or (before it is marked: the
    // click that takes the focus off the field comes first) a whole number past 2**53 - 1 typed in an
    // integer field, or a number past what a float holds.
    const refusedNow = () => Array.from(
        sidebar.querySelectorAll('input[data-testid="stNumberInputField"]'),
    ).filter((input) => {
        if (input.getAttribute("aria-invalid") === "true") return true;
        const text = input.value.trim();
        if (text === "") return false;
        const value = Number(text);
        if (Number.isNaN(value)) return false;
        if (!Number.isFinite(value)) return true;  // past what a float holds: Infinity
        const name = input.getAttribute("aria-label") || "";
        return integers.has(name) && Math.abs(value) > Number.MAX_SAFE_INTEGER;
    }).map((input) => input.getAttribute("aria-label") || "").sort();
    const report = (refused) => {
        const text = JSON.stringify(refused);
        if (text !== watch.sent) {
            watch.sent = text;
            setStateValue("refused", refused);
        }
    };
    const observer = new MutationObserver(() => report(refusedNow()));
    observer.observe(sidebar, {
        attributes: true, attributeFilter: ["aria-invalid"], subtree: true, childList: true,
    });
    watch.observer = observer;
    report(refusedNow());
    // Start, Resume and Apply train the form's values: a click on one while a field holds a number the
    // browser will not send is stopped here, before the button sends it (it would train the field's
    // last value), and the form is told instead. Capture phase on the document: before React's own.
    if (watch.guard) document.removeEventListener("click", watch.guard, true);
    watch.guard = (event) => {
        const target = event.target instanceof Element ? event.target : null;
        if (!target?.closest(data?.buttons ?? ".st-key-btn_start")) return;
        const refused = refusedNow();
        if (!refused.length) return;
        event.preventDefault();
        event.stopImmediatePropagation();
        report(refused);
    };
    document.addEventListener("click", watch.guard, true);
    return () => {
        if (watch.observer === observer) {
            observer.disconnect();
            watch.observer = null;
        }
    };
}
"""
_refused_numbers_element = st.components.v2.component(
    "gan_refused_numbers", js=_REFUSED_JS, isolate_styles=False
)

# Number field -> (step, format) of its input: the +/- step and how the value is shown. No bounds: what a
# field allows is the config's range (`NUMBER_RANGES`), said in its help and checked by GANConfig; an
# input's own min/max would refuse in the browser what the config takes (lr 1e-7, beta1 0.995) and keep the
# last value without a word.
NUMBER_SPECS: dict[str, tuple[int | float, str | None]] = {
    "latent_dim": (1, None),
    "width": (4, None),
    "gp_weight": (1.0, "%.1f"),
    "clip_value": (0.005, "%.3f"),
    "instance_noise": (0.05, "%.2f"),
    "ms_weight": (0.05, "%.2f"),
    "batch_size": (16, None),
    "lr_g": (1e-5, LR_FORMAT),
    "lr_d": (1e-5, LR_FORMAT),
    "beta1": (0.05, "%.2f"),
    "beta2": (0.001, "%.4f"),
    "d_steps": (1, None),
    "label_smoothing": (0.05, "%.2f"),  # (a slider in the sidebar; a number on the Runs page)
    "steps": (500, None),
    "sample_every": (10, None),
    "eval_every": (100, None),
    "checkpoint_every": (100, None),
    "keep_checkpoints": (1, None),
    "keep_snapshots": (10, None),
    "seed": (1, None),
}
# The slider's end for label_smoothing: the last step of 0.05 below the config's end, 0.5, which is excluded.
LABEL_SMOOTHING_SLIDER_MAX = 0.45
GROUPS = ("Data", "Model", "Loss", "Optimizer", "Run")


def _help(name: str) -> str:
    """A field's help: its doc (which ends with the range the config allows, for a number field:
    `NUMBER_RANGES`) and whether it can change while a run trains."""
    doc = {f.name: f.metadata.get("doc", "") for f in dataclasses.fields(GANConfig)}[name]
    live = " Can change while a run trains." if name in MUTABLE_FIELDS else ""
    return doc + "." + live


def form_values() -> dict[str, Any]:
    """The form's values, field -> value (the defaults until the user or a run sets them)."""
    return st.session_state.setdefault(FORM_KEY, DEFAULTS.to_dict())


def form_inputs() -> tuple[str, str]:
    """What the user has entered in the form, comparable from one script run to the next: its values and
    the numbers the browser refused to send (`REFUSED_KEY`). A message about the form goes when they
    change (`ui.common.show_flash`)."""
    return repr(sorted(form_values().items())), repr(st.session_state.get(REFUSED_KEY))


def _restore_widgets() -> None:
    """Seed each widget key that Streamlit dropped (the widget was not drawn in the last script run) from
    the form's values, and take the value of every other one: a widget key holds the newest value (the
    user's edit, or one set by code). Streamlit's documented way to keep a widget's value across pages
    ("save your widget values into a separate key"); its preferred one, widgets in an `st.navigation`
    entrypoint, does not apply to an app of pages/ files."""
    values = form_values()
    for name in FIELDS:
        key = f"cfg_{name}"
        if key in st.session_state:
            values[name] = st.session_state[key]
        else:
            st.session_state[key] = values[name]


def load_into_form(cfg: GANConfig, run_id: str | None = None, preset: str | None = None) -> None:
    """Put a config's values into the form, before it is drawn (a callback, or the top of the Train view).
    With ``run_id`` they are that run's settings, shown as the session starts watching it: the baseline
    that Apply and Resume compare the form with (`edited_fields`). ``preset``: the preset they are (its
    caption is shown); otherwise the form holds no preset any more."""
    values = cfg.to_dict()
    st.session_state[FORM_KEY] = dict(values)
    for name, value in values.items():
        st.session_state[f"cfg_{name}"] = value
    if preset is None:
        st.session_state.pop(PRESET_KEY, None)
    else:
        st.session_state[PRESET_KEY] = preset
    if run_id is not None:
        set_form_baseline(run_id, values)


def set_form_baseline(run_id: str, values: dict[str, Any] | None = None) -> None:
    """Remember ``values`` (the form's own when None) as what the form showed for run ``run_id``."""
    st.session_state[FORM_BASE_KEY] = {"run_id": run_id, "values": dict(values or form_values())}


def form_baseline_run() -> str | None:
    """The run whose settings the form last showed, or None."""
    base = st.session_state.get(FORM_BASE_KEY)
    return base["run_id"] if base else None


def edited_fields(run_id: str) -> set[str]:
    """The fields the user changed in the form since it showed run ``run_id``'s settings (every field
    if it never did): what Apply and Resume may offer to change."""
    base = st.session_state.get(FORM_BASE_KEY)
    values = form_values()
    if not base or base["run_id"] != run_id:
        return set(values)
    return {name for name, value in values.items() if base["values"].get(name) != value}


def rebase_form(run_id: str, applied: dict[str, Any]) -> None:
    """Changes applied to run ``run_id`` are what the form shows for it now, not pending edits."""
    base = st.session_state.get(FORM_BASE_KEY)
    if base and base["run_id"] == run_id:
        st.session_state[FORM_BASE_KEY] = {"run_id": run_id, "values": {**base["values"], **applied}}


def start_request() -> str:
    """The id the next click of a start button (Start, a preset) sends, bound into its callback's args
    as the button is drawn: every delivery of one click carries the same id, and the registry starts
    one run per id (`RunRegistry.start`). `next_start_request` makes the next click a new request."""
    return st.session_state.setdefault(START_KEY, secrets.token_hex(8))


def next_start_request() -> None:
    st.session_state[START_KEY] = secrets.token_hex(8)


def start_preset(name: str, request: str) -> None:
    """Ask the Train view to start preset ``name`` as start request ``request`` (a button callback, here
    or on the Guide). The form is left alone: the Train view loads the preset into it once the run has
    started (`preset_request`, `load_into_form`), so a preset the server refuses (the run limit reached)
    changes nothing in the form, and offers no Apply of its values to the run the page watches."""
    st.session_state[AUTOSTART_KEY] = (name, request)
    next_start_request()  # the buttons drawn next (before that start) carry a new request


def preset_request() -> tuple[str, GANConfig, str] | None:
    """The preset start a button asked for since the last script run, taken (at most once): (name, its
    config, the click's start request), or None."""
    asked = st.session_state.pop(AUTOSTART_KEY, None)
    if not asked:
        return None
    name, request = asked
    return name, get_preset(name).config(), request


def form_preset(cfg: GANConfig | None) -> str | None:
    """The preset the form holds: the one loaded last, unless the form was edited since (then it holds
    the user's own configuration)."""
    name = st.session_state.get(PRESET_KEY)
    if name in PRESETS and cfg is not None and cfg == PRESETS[name].config():
        return name
    return None


def _presets_part() -> None:
    with st.expander("Scenario presets", expanded=True):
        st.caption("One click starts a scenario and loads it into the form below.")
        request = start_request()
        for name, preset in PRESETS.items():
            st.button(
                preset.title,
                key=f"preset_{name}",
                help=preset.watch_for,
                on_click=acted(start_preset),
                args=(name, request),
                width="stretch",
            )


def _preset_caption(caption: Any, cfg: GANConfig | None) -> None:
    """Which preset the form holds and what to watch for; says so when the form has been edited since."""
    name = st.session_state.get(PRESET_KEY)
    if name not in PRESETS:
        return
    preset = PRESETS[name]
    edited = form_preset(cfg) != name
    caption.caption(
        f"Preset: **{preset.title}**{' (edited since)' if edited else ''}. Watch for: {preset.watch_for}"
    )


def _is_integer(name: str) -> bool:
    """Whether number field ``name`` holds whole numbers (the config's field is an int)."""
    return type(getattr(DEFAULTS, name)) is int


def number_step(name: str) -> tuple[int | float, str | None]:
    """(step, format) of field ``name``'s number input (`NUMBER_SPECS`): an int step for a whole-number
    field, so that Streamlit's input holds ints. The input takes no bounds: see `NUMBER_SPECS`."""
    step, fmt = NUMBER_SPECS[name]
    return (int(step) if _is_integer(name) else float(step)), fmt


def _number(name: str) -> Any:
    step, fmt = number_step(name)
    # The range is in the help (the config's, from its doc), not on the input: Streamlit outlines a value
    # typed outside an input's bounds in red and keeps the last one within them, so Start trained with a
    # value the field no longer showed. Unbounded, the value typed is the form's, and the config's check
    # refuses it with its message while Start says why it cannot start.
    return st.number_input(name, step=step, format=fmt, key=f"cfg_{name}", help=_help(name))


def refused_numbers(key: str = REFUSED_KEY) -> list[str]:
    """The number fields whose typed value the browser refused to send (see `REFUSED_KEY`), as the
    watcher element of ``key`` last said; [] outside a browser (or before it said anything)."""
    return [name for name in refused_labels(key) if name in NUMBER_SPECS]


def refused_labels(key: str) -> list[str]:
    """The labels of the number fields whose typed value the browser refused to send, as the watcher
    element of ``key`` (`watch_refused_numbers`) last said; [] outside a browser."""
    state = st.session_state.get(key)
    refused = state.get("refused") if hasattr(state, "get") else None
    return [label for label in refused or () if isinstance(label, str)]


def refused_number_message(key: str = REFUSED_KEY, held: Mapping[str, Any] | None = None) -> str | None:
    """Why a form cannot be used while the browser refuses a number typed in it (`refused_numbers` of
    ``key``): the field, what the form still holds (``held``: field -> value, by default the sidebar's
    form) and what the config allows (`NUMBER_RANGES`, as its errors say it); None when it refuses none."""
    refused = refused_numbers(key)
    if not refused:
        return None
    name = refused[0]
    more = f" (and {', '.join(refused[1:])})" if len(refused) > 1 else ""
    value = (form_values() if held is None else held).get(name)
    return (
        f"{name}{more}: the number typed is beyond what a number field can hold, so the browser did not "
        f"send it (the field is outlined in red) and the form still holds {name}={value}. "
        f"Allowed: {NUMBER_RANGES[name].allowed}."
    )


def watch_refused_numbers(
    key: str = REFUSED_KEY,
    scope: str = '[data-testid="stSidebar"]',
    buttons: str = ".st-key-btn_start, .st-key-btn_resume, .st-key-btn_apply",
    integers: list[str] | None = None,
) -> None:
    """Mount the element that reports the refused numbers of one form (`REFUSED_KEY`: the sidebar's) as
    session state ``key`` (read by `refused_numbers`, or `refused_labels` for fields of another page):
    the number fields inside ``scope`` (a CSS selector of the element's own ancestor: the sidebar,
    ``[data-testid="stPopoverBody"]`` for a form in a popover), a click on ``buttons`` (CSS selectors)
    stopped while one is refused. ``integers``: the labels of its whole-number fields (default: the
    sidebar's). It takes no room."""
    st.html(f"<style>.st-key-{key} {{display: none;}}</style>")
    _refused_numbers_element(
        key=key,
        data={
            "refused": refused_labels(key) if integers is not None else refused_numbers(key),
            "integers": integers if integers is not None else [n for n in NUMBER_SPECS if _is_integer(n)],
            "slot": key,
            "scope": scope,
            "buttons": buttons,
        },
        default={"refused": []},
        on_refused_change=lambda: None,  # (a change reruns the page: the form says so at once)
    )


def _choices(name: str, options: tuple) -> tuple:
    """A menu's options, with the form's value added when it is not one of them (cuda:1, a 48 px size)."""
    value = st.session_state.get(f"cfg_{name}")
    return options if value in options or value is None else (*options, value)


class FormCheck(NamedTuple):
    """What the form holds: ``cfg``, its config (None for values that make none); ``error``, why the
    server will not start it (shown in the sidebar already), None when it will; ``start_note``, a line
    for beside the disabled Start that says what is missing and where to fix it."""

    cfg: GANConfig | None
    error: str | None
    start_note: str | None


def _upload_what(dataset: str) -> str:
    """What the upload for ``dataset`` takes, in words."""
    return (
        "a CSV of 2D points (x,y)"
        if DATASET_SPECS[dataset].is_points
        else "a ZIP of images (png, jpg, webp, bmp)"
    )


def config_form(uploads_root: Path) -> FormCheck:
    """Draw the form, with what is wrong in it; return the config it makes and why the server would not
    start it (`FormCheck`): values that make no config, or a config whose data_path lies outside the
    folders data may be read from. A data_path problem is shown under data_path, any other at the foot
    of the form."""
    _restore_widgets()
    device_line = st.session_state.get("_device_line")
    if device_line:
        st.caption(device_line)
    _presets_part()
    caption = st.empty()  # which preset is loaded: filled once the form's values are known
    at_data_path = None  # where a data_path problem is shown: right under the field
    upload_refused = False
    with st.expander("Data", expanded=True):
        dataset = st.selectbox("dataset", DATASETS, key="cfg_dataset", help=_help("dataset"))
        spec = DATASET_SPECS[dataset]
        if spec.needs_data_path:
            upload_refused = _upload(dataset, uploads_root)
            st.text_input("data_path", key="cfg_data_path", help=_help("data_path"))
            at_data_path = st.empty()
        elif spec.downloads:
            st.text_input("data_path", key="cfg_data_path", placeholder="data", help=_help("data_path"))
            at_data_path = st.empty()
            st.checkbox("download", key="cfg_download", help=_help("download"))
        if not spec.is_points:
            st.selectbox(
                "image_size",
                _choices("image_size", (0, 8, 16, 28, 32, 64)),
                key="cfg_image_size",
                format_func=lambda v: "dataset's own" if v == 0 else f"{v} px",
                help=_help("image_size"),
            )
            # the size "its own" is, said (a review: a folder of 64 px images trained at 32 unsaid); a
            # caption, not the option's label: a label that changed with the dataset made the menu a new
            # widget, its value reset and Start left off
            if spec.image_size and not st.session_state.get("cfg_image_size"):
                st.caption(f"dataset's own: {spec.image_size} px")
            st.selectbox(
                "channels",
                (0, 1, 3),
                key="cfg_channels",
                format_func=lambda v: {0: "dataset's own", 1: "grayscale", 3: "RGB"}[v],
                help=_help("channels"),
            )
    with st.expander("Model"):
        st.selectbox("model", MODELS, key="cfg_model", help=_help("model"))
        _number("latent_dim")
        _number("width")
        st.checkbox("spectral_norm", key="cfg_spectral_norm", help=_help("spectral_norm"))
        # Shown for every dataset, so that a conditioning left on from labelled data can be set back:
        # on data without labels the config refuses it with one message naming the data that have them.
        st.selectbox("conditioning", CONDITIONINGS, key="cfg_conditioning", help=_help("conditioning"))
    with st.expander("Loss"):
        loss = st.selectbox("loss", LOSSES, key="cfg_loss", help=_help("loss"))
        unused = get_loss(loss).unused_fields
        if "gp_weight" not in unused:
            _number("gp_weight")
        if "clip_value" not in unused:
            _number("clip_value")
        if "label_smoothing" not in unused:
            step, _ = number_step("label_smoothing")
            st.slider(
                "label_smoothing",
                0.0,
                max(LABEL_SMOOTHING_SLIDER_MAX, st.session_state["cfg_label_smoothing"]),  # (a CLI run's)
                step=step,
                key="cfg_label_smoothing",
                help=_help("label_smoothing")
                + f" The slider goes from 0 to {LABEL_SMOOTHING_SLIDER_MAX} in steps of {step}.",
            )
        _number("instance_noise")
        _number("ms_weight")
    with st.expander("Optimizer"):
        for name in ("batch_size", "lr_g", "lr_d", "beta1", "beta2", "d_steps"):
            _number(name)
    with st.expander("Run"):
        for name in (*RECORDING_FIELDS, "seed"):
            _number(name)
        st.selectbox(
            "device",
            _choices("device", DEVICE_CHOICES),
            key="cfg_device",
            help=_help("device") + " A stopped run resumes on the device chosen here (auto by default).",
        )
    watch_refused_numbers()
    values = form_values()
    values.update({name: st.session_state[f"cfg_{name}"] for name in FIELDS})  # an upload sets data_path
    cfg, error, field, note = None, None, None, None
    missing = spec.needs_data_path and not str(values["data_path"]).strip()  # no data given yet
    refused = refused_number_message()
    try:
        cfg = GANConfig.from_dict(values)
    except ConfigError as exc:
        error, field = str(exc), exc.field
        if field == "data_path" and missing and upload_refused:
            note = (
                f"Start needs the {dataset} data: the uploaded file was refused (the sidebar's Data says "
                f"why). Upload {_upload_what(dataset)}, or enter its path in data_path."
            )
        elif field == "data_path" and missing:
            note = (
                f"Start needs the {dataset} data: upload {_upload_what(dataset)} in the sidebar (Data), "
                "or enter its path in data_path."
            )
    if refused:
        # The form holds a value the field no longer shows: no config from it, for Start, Apply or Resume.
        # Said instead of any config error (one message at a time): that error may be about the value the
        # field no longer shows (batch_size=0, then a number too long typed over it), and the refusal
        # names the value the form still holds and the range allowed; another field's error follows once
        # the number is corrected (as the Runs page's branch form does).
        cfg, error, field, note = None, refused, refused_numbers()[0], None
    if cfg is not None:
        # The config stays (the running run's Apply changes needs it); the error keeps Start disabled.
        try:
            check_server_data_path(cfg, limit=SHOWN_PATH_LIMIT)
        except DataError as exc:
            error, field = str(exc), "data_path"
            note = (
                "Start needs a data_path inside the folders data may be read from: see the message under "
                "data_path in the sidebar (Data)."
            )
        else:
            problem = data_contents_problem(cfg.dataset, cfg.data_path)
            if problem:
                error, field = problem, "data_path"
                note = (
                    f"Start needs a data_path that holds the {dataset} data: see the message under "
                    "data_path in the sidebar (Data)."
                )
    if error and field == "data_path" and at_data_path is not None:
        # No data given yet is no mistake to show in red before the user has typed anything: the note
        # beside Start says what it needs (upload or path). When a file was refused, its refusal, just
        # above, says why.
        if not missing:
            at_data_path.error(literal(error))
        note = note or "Start needs a valid data_path: see the message under data_path in the sidebar (Data)."
    elif error:
        st.error(literal(error))
        note = f"Start needs a valid {field}: see the message in the sidebar."
    _preset_caption(caption, cfg)
    return FormCheck(cfg, error, note)


def _upload(dataset: str, uploads_root: Path) -> bool:
    """The uploader of ``dataset``'s own data; a file that arrives is saved under ``uploads_root`` and
    checked (a CSV read as a run will read it, `_check_points`), and only a file that passes becomes
    data_path. Returns whether the file in the uploader was refused (its message is shown, as long as it
    stays there; read once, not at every rerun)."""
    points = DATASET_SPECS[dataset].is_points
    kind = "csv" if points else "zip"
    file = st.file_uploader(
        f"Upload {_upload_what(dataset)}",
        type=[kind],
        key=f"upload_{dataset}",
        max_upload_size=MAX_UPLOAD_BYTES // 2**20,
        help=f"Up to {MAX_UPLOAD_BYTES // 2**20} MiB; saved under {uploads_root} and used as data_path.",
    )
    if file is None:
        return False
    marker = f"{dataset}:{file.file_id}"
    if st.session_state.get(UPLOAD_DONE_KEY) == marker:
        return False
    refused = st.session_state.get(UPLOAD_REFUSED_KEY)
    if refused and refused[0] == marker:
        in_use = str(st.session_state.get("cfg_data_path") or "").strip()
        if in_use and in_use != refused[2]:  # another path typed since: the refusal is stale
            st.session_state[UPLOAD_REFUSED_KEY] = refused = (*refused[:3], True)
        if refused[3]:
            return False
        _refused(refused[1], dataset)
        return True
    try:
        data = file.getvalue()
        if points:
            path = save_points_upload(data, file.name, uploads_root)
            _check_points(path, file.name)
        else:
            path = extract_images_zip(data, file.name, uploads_root)
    except UploadError as exc:
        in_use = str(st.session_state.get("cfg_data_path") or "").strip()
        st.session_state[UPLOAD_REFUSED_KEY] = (marker, str(exc), in_use, False)
        _refused(str(exc), dataset)
        return True
    st.session_state[UPLOAD_DONE_KEY] = marker
    st.session_state[UPLOADED_KEY] = (str(path), file.name)
    st.session_state["cfg_data_path"] = str(path)
    st.success(f"Uploaded {literal(file.name)}: data_path set to {literal(path)}")
    return False


def _refused(message: str, dataset: str) -> None:
    """An upload's refusal, and in the same message the data the form goes on using instead (an earlier
    upload, or a path typed in data_path): a refused file changes nothing, and Start would train on that
    data, which the user may not expect after sending another file. When that data_path is refused too
    (outside the folders data may be read from), the message says no data is usable yet instead."""
    text = literal(message)
    in_use = str(st.session_state.get("cfg_data_path") or "").strip()
    if in_use:
        earlier = st.session_state.get(UPLOADED_KEY)
        what = (
            f"the earlier upload {literal(earlier[1])}"
            if earlier and earlier[0] == in_use
            else f"data_path {literal(quoted(in_use, SHOWN_PATH_LIMIT))}"
        )
        refused = _data_path_refused(dataset, in_use)
        if refused:  # (said here whole: the message under data_path waits while another field is wrong)
            text += (
                f"\n\nNo data is usable yet: {what} is refused too ({literal(refused)}). Upload a file "
                "that passes, or correct data_path."
            )
        else:
            text += f"\n\nStill using {what}: Start trains on it. Upload a file that passes to replace it."
    st.error(text)


def forget_refused_upload() -> None:
    """A run has started: the last upload's refusal, and the data it said the form still used, are no
    longer news; not said again while its file stays in the uploader (nor read again)."""
    refused = st.session_state.get(UPLOAD_REFUSED_KEY)
    if refused:
        st.session_state[UPLOAD_REFUSED_KEY] = (*refused[:3], True)


def _data_path_refused(dataset: str, data_path: str) -> str | None:
    """Why the server refuses ``data_path`` for ``dataset`` whatever the other fields hold, in a few words
    (the config's check of the path, a path outside the folders data may be read from:
    `check_server_data_path`, or what it holds: `data_contents_problem`), or None."""
    try:
        check_server_data_path(GANConfig(dataset=dataset, data_path=data_path))
    except ConfigError as exc:
        return str(exc) if exc.field == "data_path" else None
    except DataError:
        return f"outside the folders data may be read from: {allowed_roots_text(data_roots())}"
    return data_contents_problem(dataset, data_path)


def data_contents_problem(dataset: str, data_path: str) -> str | None:
    """What is wrong with what ``data_path`` holds for ``dataset`` (`check_data_contents`: missing, an
    empty folder, a CSV the loader would refuse), or None. A file (a points CSV, parsed whole) is read
    once per version of it (its modification time and size), not at every rerun; a folder is looked at
    each time (the walk ends at its first image: cheap), since images added to or removed from a class
    subfolder change nothing of the folder's own time or size."""
    path = os.path.expanduser(data_path)
    try:
        stat = os.stat(path)
        stamp = (stat.st_mtime_ns, stat.st_size)
    except (OSError, ValueError):  # missing (said by the check), a NUL character
        stamp = None
    if os.path.isdir(path):
        return _contents_problem_now(dataset, data_path)
    return _contents_problem(dataset, data_path, stamp)


@st.cache_data(max_entries=64, show_spinner=False)
def _contents_problem(dataset: str, data_path: str, stamp: tuple[int, int] | None) -> str | None:
    """`_contents_problem_now`, cached by ``stamp`` (the file's modification time and size)."""
    return _contents_problem_now(dataset, data_path)


def _contents_problem_now(dataset: str, data_path: str) -> str | None:
    """`check_data_contents`'s message for ``data_path``, or None."""
    try:
        check_data_contents(GANConfig(dataset=dataset, data_path=data_path))
    except (DataError, ConfigError) as exc:
        return str(exc)
    return None


# Characters of a data_path the sidebar's messages quote (`check_data_path`'s ``limit``): its column is
# narrow, and a path of thousands of characters, quoted to the engine's limit for a path (300, for a
# terminal or a log) as typed and as resolved, made a red box taller than the screen. Real paths (a data
# folder deep in a home folder: about 100 characters) are still quoted whole, their file name included.
SHOWN_PATH_LIMIT = 160


def _check_points(path: Path, name: str) -> None:
    """`UploadError` unless the CSV saved at ``path`` reads as a run's data would (`read_points_csv`, the
    reader Start's `load_data` uses): the message names the file as the user sent it (``name``), and the
    saved copy (the upload's own folder, made for it by `save_points_upload`) is removed."""
    try:
        read_points_csv(path, name=name)
    except DataError as exc:
        shutil.rmtree(path.parent, ignore_errors=True)
        raise UploadError(str(exc)) from None
