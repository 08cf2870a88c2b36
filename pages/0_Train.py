"""Train view: configure a GAN in the sidebar, start it, and watch G and D contend, live.

The app's default page, at its root URL (``streamlit run dashboard.py``; dashboard.py names the pages).
The page is a thin view: runs are trained by gan_core runners
held in a server-wide registry; this page sends them commands and draws what their stores and
snapshots hold, refreshing every second or two in a fragment while a run trains or is paused (paced by the
browser: see `ui.live_chart.live_refresh`); once it has ended, only a look every few seconds whether it
was resumed or deleted elsewhere (`watch_ended`).
"""

from __future__ import annotations

import contextlib
import functools
import math

import streamlit as st

from ui.starting import engine_loading, through_the_router

through_the_router()  # before anything is drawn: a first visit by the page's address
st.set_page_config(page_title="GAN dashboard — Train", page_icon="⚔️", layout="wide")

with engine_loading():
    from gan_core.app import (
        ENDED,
        FLAGS,
        MUTABLE_FIELDS,
        ConfigError,
        DataError,
        GANConfig,
        RegistryError,
        RunDirError,
        RunLimitError,
        RunnerError,
        RunView,
        SampleRate,
        StepRate,
        charts,
        coverage_total,
        failures_first_words,
        get_preset,
        healthy_recipe_not_used,
        load_data,
        notes_line,
        resolve_device,
        row_samples,
        split_changes,
        trained_accuracy,
        trains_as_the_defaults,
    )
    from ui.common import (
        AWAITED_KEY,
        LOST_KEY,
        acted,
        data_roots,
        download_buttons,
        drawn,
        hparams_table,
        keep_focus,
        kept_value,
        literal,
        no_checkpoint_note,
        notes_popover,
        registry,
        resume_run,
        run_banners,
        runs_root,
        show_flash,
        stale_page,
        steady_select_slider,
        training_now_text,
        training_time,
        watch,
        watched_view,
        whole_seconds,
    )
    from ui.live_chart import chart_grid_style, chart_key, custom_chart_key, live_chart, live_refresh
    from ui.sidebar import (
        config_form,
        edited_fields,
        forget_refused_upload,
        form_baseline_run,
        form_inputs,
        form_preset,
        load_into_form,
        next_start_request,
        preset_request,
        rebase_form,
        refused_number_message,
        set_form_baseline,
        start_request,
    )

SOURCE_NAMES = {"api": "your own loop (gan_core.track)", "lightning": "Lightning (GANTrackingCallback)"}
REFRESH_SECONDS = 1.0
# How often a tab showing an ended run looks whether another tab, a terminal or the Runs page resumed or
# deleted it (`watch_ended`): a look at the run's status, nothing drawn.
ENDED_CHECK_SECONDS = 3.0
FIRST_POINT_WAIT = 3.0
RESUMABLE = ("stopped", "failed", "interrupted", "finished")
# A message for the next full draw of the page: (kind, text) or (kind, text, the status it holds for)
# (`show_flash`)
FLASH_KEY = "_flash"
# The sidebar's changes a toast last said were not applied yet (the Apply button's label), said once
APPLY_TOLD_KEY = "_apply_told"
# What Apply changes applied, said once in a toast by the next full draw: a message kept above the charts
# until the next click pushed them 72 px down for as long as the run went on (a review: 110 s and more),
# while the change is marked on every chart at its step
APPLIED_KEY = "_applied"
# The runs a Start refused at the run limit named (`RunLimitError.runs`): a Stop for each under the refusal,
# until the next click (a student clicking presets one after another had to find them on the Runs page)
AT_LIMIT_KEY = "_at_limit"
MAX_LIMIT_STOPS = 4  # Stop buttons under such a refusal, at most (GAN_DASHBOARD_MAX_RUNS may be larger)
STOP_WAIT_SECONDS = 30.0  # a Stop to make room waits for the run's checkpoint and files, at most
# What to do with a run that kept no checkpoint (`no_checkpoint_note`): the form shows its settings once
# the run is opened (`load_run_settings`).
NEW_RUN_INSTEAD = (
    "start a new run with its settings: the sidebar shows them; press Start (a lower checkpoint_every, in "
    "the sidebar's Run, saves checkpoints sooner)."
)
CHART_POINTS = 300
# The keys of the containers that flow the quality charts and the custom metrics into columns (and of
# the row groups whose plots the browser lines up)
QUALITY_GRID = "quality_charts"
CUSTOM_GRID = "custom_charts"  # (a group's: `chart_key(CUSTOM_GRID, group)`, styled by this prefix)
GROUP_KEY = "custom_group"  # a group of custom metrics' section, folded or not: `chart_key(GROUP_KEY, group)`
FOLDED_KEY = "_folded_groups"  # the custom metrics' groups the session folded away
POINTS_GRID = "points_view"  # the 2D view and its history: two columns where each gets POINTS_MIN_PX
POINTS_MIN_PX = 440  # the view's colour bar and its notes fit whole from about this width
STEP_AXES = "train_steps"  # the charts over steps, zoomed together (`live_chart`'s x_group)
MAX_HOSTS_SHOWN = 4  # a job's host names on the status line; beyond that, how many more
NOTES_SHOWN = 200  # characters of a run's notes under the status line (the Notes button: all of them)


@st.cache_resource(show_spinner=False)
def device_line() -> str:
    import torch

    device = resolve_device("auto")
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    return f"Device (auto): **{device}** — {name}"


# ---------------------------------------------------------------------------------------------- actions
def start_run(cfg: GANConfig, request: str, preset: str | None = None) -> None:
    """Start ``cfg`` as a new run and watch it; ``request`` is the click's id (`start_request`).
    ``preset``: the scenario preset ``cfg`` is, loaded into the form only once its run has started (a
    preset refused leaves the form as it was: no Apply of its values to the run the page watches).

    A browser can deliver one click twice: Streamlit's frontend marks a button clicked and sends that a
    moment later, and a fragment's auto-refresh timer firing in between (the live view refreshes once a
    second) sends the click too. The second message, a full rerun, starts a second script thread beside
    the first (runner.fastReruns), so this runs twice, at once. The registry starts one run per
    request: both watch that run, or show the one refusal."""
    refused = refused_number_message() if preset is None else None
    if refused is not None:  # typed just before the click: the form's value is not the one the field shows
        st.session_state[FLASH_KEY] = ("error", "Not started: " + literal(refused))
        return
    bar = None  # a progress bar while a folder's files are decoded (its load is seconds to minutes)

    def progress(done: int, total: int, what: str) -> None:
        nonlocal bar
        bar = bar or st.progress(0.0)
        bar.progress(
            done / total if total else 1.0, text=literal(f"Loading data: {what}, {done:,} of {total:,}")
        )

    try:
        registry().check_room()  # (before the data's load: seconds for a folder, to be refused after)
        device = resolve_device(cfg.device)
        # errors here leave no run folder behind; a folder's links are read only inside the allowed folders
        data = load_data(cfg, device, progress, allowed_roots=data_roots())
        runner = registry().start(cfg, data=data, name=preset or form_preset(cfg), request_id=request)
    except (DataError, RegistryError, ValueError) as exc:
        refused = (
            f"Preset “{get_preset(preset).title}” was not started (the form is as it was): " if preset else ""
        )
        st.session_state[FLASH_KEY] = ("error", refused + literal(exc))
        if isinstance(exc, RunLimitError):  # (with the refusal it goes with)
            st.session_state[AT_LIMIT_KEY] = (st.session_state[FLASH_KEY], exc.runs)
        return
    finally:
        next_start_request()  # a click after this one is a new request
        if bar is not None:
            bar.empty()
    # Files of a folder left out are said with the run, from its events (`data_note`), as long as it is
    # viewed; here only how long the load took, and whether a cache was built or reused.
    if bar is not None:
        how = f" ({'; '.join(data.notes)})" if data.notes else ""
        streamed = ", streamed from its cache file" if data.streamed else ""
        images = f"{data.num_examples:,} image{'s' * (data.num_examples != 1)}"
        said = f"Loaded {images} in {data.load_seconds:.1f} s{streamed}{how}."
        st.session_state[FLASH_KEY] = ("info", literal(said))
    watch(runner.run_id)
    forget_refused_upload()  # a run started: an upload refused before it is no longer news
    if preset is not None:  # the form shows the preset now, as the settings of its run
        load_into_form(cfg, runner.run_id, preset=preset)
    else:
        set_form_baseline(runner.run_id)  # the form holds the settings it started with
    st.session_state.pop("_rate", None)
    st.session_state.pop("_sample_rate", None)
    # Draw the first point in the rerun this click triggers, not a refresh later.
    runner.wait_until(lambda r: len(r.store) > 0 or r.status in ENDED, timeout=FIRST_POINT_WAIT)


def command(view: RunView, action: str, *args) -> None:
    """Send a command (`RunView.control`: to this server's runner, or through the command file of a run
    another process writes) and wait briefly until the run has acted on it, so that the rerun this click
    triggers draws the new state rather than the one before it."""
    try:
        acted = view.control(action, *args)
    except (RunnerError, RunDirError, ValueError) as exc:
        st.session_state[FLASH_KEY] = ("error", literal(exc))
        return
    if not acted:
        pending = f"{action} is still pending: the current step is slow."
        st.session_state[FLASH_KEY] = ("warning", pending, view.status)  # said until the status changes


def stop_to_make_room(run_id: str) -> None:
    runner = registry().runner(run_id)
    if runner is not None and runner.status not in ENDED:
        with contextlib.suppress(RunnerError):  # (it may have ended meanwhile: room all the same)
            runner.stop()
        runner.wait(STOP_WAIT_SECONDS)
    st.session_state.pop(AT_LIMIT_KEY, None)
    st.session_state[FLASH_KEY] = ("info", f"Stopped {literal(run_id)}: Start has room for a run now.")


def at_limit_stops() -> None:
    """Under a Start refused at the run limit: a Stop button for each run that filled it (still training
    or paused), until the next click."""
    refusal, named = st.session_state.get(AT_LIMIT_KEY) or (None, [])
    if not named or st.session_state.get(FLASH_KEY) != refusal:  # (drawn with the refusal, gone with it)
        st.session_state.pop(AT_LIMIT_KEY, None)
        return
    live = {r.run_id: r for r in registry().active()}
    row = st.container(horizontal=True, vertical_alignment="center")
    for run_id in [r for r in named if r in live][:MAX_LIMIT_STOPS]:
        step = live[run_id].current_step
        row.button(
            f"Stop {run_id}",
            key=f"btn_limit_stop:{run_id}",
            on_click=acted(stop_to_make_room),
            args=(run_id,),
            help=f"{'Paused' if live[run_id].status == 'paused' else 'Training'} at step {step:,}: stop it "
            "(checkpoint and files flushed; Resume on the Runs page goes on from it), then press Start again",
        )


def resume_clicked(view: RunView, changes: dict) -> None:
    if view.status == "paused":
        command(view, "resume")
        return
    refused = refused_number_message()
    if refused is not None:  # Resume trains the sidebar's settings: one of them is not what it shows
        st.session_state[FLASH_KEY] = ("error", "Not resumed: " + literal(refused))
        return
    in_force = {**view.hparams, **changes}  # read before the resume: then the view is the new runner's
    error = resume_run(view.run_id, changes)
    if error:
        st.session_state[FLASH_KEY] = ("error", error)
        return
    # The sidebar now shows the resumed run's settings as in force, not a pending change.
    load_run_settings(view, in_force)
    if changes:  # setdefault: an error loading the settings is the message to show
        applied = ", ".join(f"{k} = {v}" for k, v in changes.items())
        st.session_state.setdefault(FLASH_KEY, ("success", f"Resumed with: {applied}"))


def resume_help(view: RunView | None) -> str:
    """Resume's help for an ended run it can continue: the checkpoint it goes on from and the rows after
    it that are trained again (a review: a resume jumped from step 1,872 back to 1,601 unannounced)."""
    kept = view.checkpoint_steps() if view is not None else []
    if not kept:
        return "Continue this run from its latest checkpoint (the rows after it are replaced)"
    latest, redone = kept[-1], view.current_step - kept[-1]
    again = f": its {redone:,} rows after it are trained again" if redone > 0 else ""
    return f"Continue this run from its latest checkpoint, at step {latest:,}{again}"


def resume_plan(view: RunView | None, changes: dict, fixed: list[str]) -> tuple[bool, dict, str]:
    """For an ended run: whether Resume can continue it, the sidebar's mid-run changes it will apply,
    and a line that says so, given the sidebar's differences from the run (`split_changes`). The
    sidebar counts as this run's settings only when no ``fixed`` field (one a resume cannot change)
    differs; otherwise it holds another configuration and the run resumes as it was (Start trains the
    sidebar's)."""
    if view is None or view.status not in RESUMABLE:
        return False, {}, ""
    # A folder or a link named like a checkpoint is none; with only such entries, Resume stays on and,
    # clicked, says what each is (`Runner.reopen`), rather than going grey without a word.
    if not (view.checkpoint_steps() or view.run_dir.not_checkpoints()):  # said, not a grey button alone
        return False, {}, no_checkpoint_note(view, NEW_RUN_INSTEAD) or ""
    if fixed:
        named = ", ".join(fixed[:4]) + (", …" if len(fixed) > 4 else "")
        changes = {}
        note = (
            "Resume continues this run with its own settings; the sidebar holds another configuration "
            f"({named} {'differs' if len(fixed) == 1 else 'differ'}), which Start would train as a new run."
        )
    elif changes:
        note = "Resume applies the sidebar's changes: " + ", ".join(f"{k} → {v}" for k, v in changes.items())
    else:
        note = ""
    steps = changes.get("steps", view.hparams["steps"])
    if steps and view.current_step >= steps:  # it trained its steps: only more steps let it go on
        load = "load its settings (below), " if fixed else ""
        more = f"{load}raise steps in the sidebar (Run), or set 0 for open-ended, then Resume"
        return False, changes, f"This run has trained all its {steps} steps: to go on, {more}."
    return True, changes, note


def load_run_settings(view: RunView, in_force: dict | None = None) -> None:
    """The run's config with the hyperparameters in force (``in_force``, else read now) into the form, as
    what the form shows for this run (the baseline of `user_changes`); nothing for a user's own run,
    which has no built-in config."""
    if not view.owned:
        return
    try:
        load_into_form(view.cfg.replace(**(view.hparams if in_force is None else in_force)), view.run_id)
    except ConfigError as exc:  # a run folder edited by hand
        set_form_baseline(view.run_id)  # the form keeps its values; asked once, not on every rerun
        st.session_state[FLASH_KEY] = (
            "error",
            f"Cannot load the settings of {literal(view.run_id)}: {literal(exc)}",
        )


def user_changes(form: GANConfig, view: RunView, continuing: bool = False) -> tuple[dict, list[str]]:
    """How the form differs from run ``view`` (`split_changes`: mid-run changes, other fields), counting
    only the fields the user edited since the form showed this run's settings: a value another tab
    applied meanwhile is no change of this user's to undo."""
    edited = edited_fields(view.run_id)
    changes, fixed = split_changes(form, view.cfg, view.hparams, continuing=continuing)
    return {k: v for k, v in changes.items() if k in edited}, [k for k in fixed if k in edited]


def apply_changes(view: RunView, changes: dict) -> None:
    refused = refused_number_message()
    if refused is not None:  # a field shows a number the form does not hold: the changes may not be it
        st.session_state[FLASH_KEY] = ("error", "Not applied: " + literal(refused))
        return
    try:
        view.apply_changes(**changes)
        st.session_state[APPLIED_KEY] = "Applied: " + ", ".join(f"{k} = {v}" for k, v in changes.items())
        rebase_form(view.run_id, changes)  # the run's settings now, no longer a pending edit
    except (RunnerError, ValueError) as exc:
        st.session_state[FLASH_KEY] = ("error", literal(exc))


# ---------------------------------------------------------------------------------------------- sidebar
# A preset button (sidebar or Guide) asks for its preset's run in one click: started here, before the form
# is drawn, so that the form's widgets show the preset once its run has started (and nothing changed when
# the server refused it).
asked = preset_request()
if asked is not None:
    preset_name, preset_cfg, preset_click = asked
    start_run(preset_cfg, preset_click, preset=preset_name)
view = watched_view()
if view is not None and st.query_params.get("run") != view.run_id:
    # The address names the watched run, so that a refresh or a bookmark keeps it: the sidebar's page
    # links drop it (st.navigation switches pages without the query).
    st.query_params["run"] = view.run_id
if view is not None and form_baseline_run() != view.run_id:
    # The session starts watching this run (opened, branched or resumed on the Runs page, a link, a second
    # tab joining it): the form shows its settings, and Apply and Resume offer what the user changes.
    load_run_settings(view)
with st.sidebar:
    st.session_state["_device_line"] = device_line()
    st.header("Hyperparameters")
    if view is not None and not view.owned:  # the form is not this run's: say so above it
        hparams = view.meta.hparams
        st.caption(
            f"Run {literal(view.run_id)} comes from "
            f"{SOURCE_NAMES.get(view.meta.source, literal(view.meta.source))}: "
            + (
                "its own settings are the table below."
                if hparams
                else "its loop recorded no settings of its own ("
                + (
                    "`self.save_hyperparameters()` in the LightningModule"
                    if view.meta.source == "lightning"
                    else "`track.init(..., config=...)`"
                )
                + ")."
            )
            + " This form starts a new run of the built-in trainer."
        )
        if hparams:
            with st.expander(f"Settings of run {literal(view.run_id)} ({len(hparams)})"):
                st.dataframe(hparams_table(hparams), hide_index=True, key="run_hparams")
    form_cfg, form_error, start_note = config_form(runs_root() / ".uploads")  # (errors shown where they are)

# ---------------------------------------------------------------------------------------------- header
st.title("Watch a GAN learn")
status = view.status if view is not None else "idle"
# The buttons, then what a click says, under them: a message that comes (or an Apply button that goes)
# moves nothing above it, so a second click lands on the button clicked, not on the next one down (a
# message drawn above the buttons put Pause under the pointer of a double-clicked Apply).
controls = st.container(horizontal=True)
with st.container():
    flash = show_flash(FLASH_KEY, status, form_inputs())  # until the next click or edit (`show_flash`)
applied = st.session_state.pop(APPLIED_KEY, None)
if applied:
    st.toast(applied, icon=":material/check_circle:")

live = view is not None and view.live and view.status not in ENDED  # trained by this server
external = view is not None and view.external  # written by another process, watched through its folder
# Pause/Resume/Stop reach it: trained here, or its writer reads the command file
controllable = view is not None and view.controllable
owned = view is not None and view.owned  # the product's own training: resume, single steps, changes
drawn(status, view.run_id if view is not None else None, flash)  # for the live part (`stale_page`)

# A run another process trains: Pause, Resume and Stop go to it through its command file, if it reads one.
trained_by = view.trained_by if external else None
sent_there = (
    f"Sent to {literal(trained_by)}, which trains this run, through the run's command file: it acts "
    "between two steps"
    if trained_by and controllable
    else None
)

start_disabled = form_cfg is None or bool(form_error)
# The red button is what goes on: Start, or Resume while the run shown is paused (a student pressed the red
# Start to go on, as GAN Lab's one play button does, and a new run took the page, the paused one unseen)
paused_here = status == "paused" and controllable
controls.button(
    "Start",
    key="btn_start",
    type="secondary" if paused_here else "primary",
    disabled=start_disabled,
    on_click=acted(start_run),
    args=(form_cfg, start_request()),
    help="Start a new run with the sidebar's settings",
)
controls.button(
    "Pause",
    key="btn_pause",
    disabled=status != "running" or not controllable,
    on_click=acted(command),
    args=(view, "pause"),
    help=sent_there,
)
# Resume continues a paused run, or an ended one from its latest checkpoint, with the sidebar's mid-run
# changes (a finished one only with more steps).
form_changes, form_fixed = {}, []  # how the sidebar differs from a run that has ended or is only on disk
if owned and not live and form_cfg is not None and not form_error:
    # (where it trains is the sidebar's to choose too: a run trained on a GPU goes on on this CPU)
    form_changes, form_fixed = user_changes(form_cfg, view, continuing=True)
resumable, resume_changes, resume_note = resume_plan(view, form_changes, form_fixed)
if view is not None and not owned:  # a user's loop: only the loop can go on from where it is
    resumable, resume_note = False, ""
controls.button(
    "Resume",
    key="btn_resume",
    type="primary" if paused_here else "secondary",
    disabled=not (status == "paused" and controllable or resumable),
    on_click=acted(resume_clicked),
    args=(view, resume_changes),
    help=(sent_there or "Continue the paused run")
    if status == "paused"
    # disabled for a reason (no checkpoint, its steps all trained): the reason, not what it would do
    else resume_note
    if resume_note and not resumable
    else resume_help(view if resumable else None),
)
controls.button(
    "Step",
    key="btn_step",
    disabled=status != "paused" or not live,
    on_click=acted(command),
    args=(view, "step", "full"),
    help="One full step: d_steps D updates, then one G update",
)
if status == "paused" and live:
    controls.button(
        "D step",
        key="btn_step_d",
        on_click=acted(command),
        args=(view, "step", "d"),
        help="One D update only",
    )
    controls.button(
        "G step",
        key="btn_step_g",
        on_click=acted(command),
        args=(view, "step", "g"),
        help="One G update only",
    )
controls.button(
    "Stop",
    key="btn_stop",
    disabled=not (live or external and controllable),
    on_click=acted(command),
    args=(view, "stop"),
    help=sent_there,
)
# What the controls' state says, under them, always in one container (empty when nothing is said): a
# note that comes or goes (the run ended: how to go on) would move every element after it to a new place
# in the page, and the browser draws an element at a new place afresh: at a run's end the live charts
# vanished for a moment, the page shrank, and the reader's scroll was clamped and lost.
with st.container(key="train_notes"):
    # why Start is disabled, and what to do, beside it (the sidebar's message may be out of view); mid-run
    # Apply changes is off for the same value (a review: "Start needs" while the run's Apply vanished)
    if start_note:
        if live and owned:
            start_note = start_note.replace("Start needs", "Start and Apply changes need", 1)
        st.caption(start_note)
    at_limit_stops()
    # A 2D dataset picked in the form of defaults: they are tuned for the 8x8 digits (on grid25 G's points
    # stay on a thin line), and the Guide's healthy recipe for it is one click away. (None while the form
    # holds a preset, whose own caption says what it shows, or settings of the user's own.)
    form_dataset_preset = (
        healthy_recipe_not_used(form_cfg)
        if form_cfg is not None
        and form_cfg.is_points
        and form_preset(form_cfg) is None
        and trains_as_the_defaults(form_cfg)
        else None
    )
    if form_dataset_preset is not None:
        st.caption(
            f"For a healthy {form_cfg.dataset} run, start the preset **{form_dataset_preset.title}** "
            f"(`{form_dataset_preset.name}`: the sidebar's Scenario presets, or the Guide): the defaults are "
            "tuned for the 8x8 digits."
        )
    if trained_by and not controllable and status in ("running", "paused"):  # why Pause and Stop are off
        st.caption(
            f"Pause and Stop cannot reach this run: {literal(trained_by)} trains it and does not read the "
            "run's command file (its status.json does not say it does: a dashboard or loop of an earlier "
            "version). Pause or stop it where it runs."
        )

    if live and owned and form_cfg is not None:
        changes, fixed = user_changes(form_cfg, view)
        if changes:
            label = "Apply changes: " + ", ".join(f"{k} → {v}" for k, v in changes.items())
            st.button(
                label, key="btn_apply", on_click=acted(apply_changes), args=(view, changes), type="primary"
            )
            # The form is in the sidebar and Apply up here: a reader scrolled down to the charts edited a
            # field and saw nothing happen. A toast, where the eyes are, once for each set of changes.
            if st.session_state.get(APPLY_TOLD_KEY) != label:
                st.session_state[APPLY_TOLD_KEY] = label
                pending = ", ".join(f"`{k}` → {v}" for k, v in changes.items())
                st.toast(
                    f"Not applied yet: {pending}. **Apply changes** is at the top of the page.",
                    icon=":material/tune:",
                )
        else:
            st.session_state.pop(APPLY_TOLD_KEY, None)
        if fixed:
            st.caption(
                "Changed in the sidebar: " + ", ".join(fixed) + " — these need a new run (press Start). "
                "Only " + ", ".join(MUTABLE_FIELDS) + " change mid-run."
            )
    elif live and owned:  # a value no run can take, typed to change this one: say what became of it
        st.caption(
            "Apply changes is off while the sidebar holds a value no run can take (its message says which "
            "and what is allowed): this run goes on with its own settings until the value is corrected."
        )

    if resume_note:
        st.caption(resume_note)
    if form_fixed:
        st.button(
            "Load this run's settings",
            key="btn_load_settings",
            on_click=acted(load_run_settings),
            args=(view,),
            help="Put this run's configuration, with the hyperparameters in force at its end, into the "
            "sidebar: to resume it with changes, or to start a run like it",
        )


def await_run(run_id: str) -> None:
    """Rerun the page once the runs folder holds ``run_id`` (checked every second): a link opened before
    the process that writes the run has started it; or once a click that came with this check needs the
    whole page (`stale_page`: a Start meanwhile)."""
    if registry().holds(run_id) or stale_page("idle", st.session_state.get("run_id") or None, FLASH_KEY):
        st.rerun(scope="app")


awaited = st.session_state.get(AWAITED_KEY) if view is None else None
if awaited is not None:
    st.info(  # (a valid run id, letters, digits and ._-, is shown as it is in code spans)
        f"Waiting for run `{awaited}`: the runs folder ({literal(str(registry().runs_root))}) holds no run "
        "of that name (not started yet, or deleted). This page opens it as soon as a process starts "
        f"writing it (your loop's `gan_core.track.init('{awaited}', ...)`, `python -m gan_core train "
        f"--run-id {awaited}`, a torchrun job); or press **Start**, or open another run on the **Runs** "
        "page. A loop or a command writes to `$GAN_DASHBOARD_RUNS`, else to `runs` in the folder it was "
        "started from, unless its `--out` or `root=` names another: if it is already training, it may be "
        f"writing elsewhere; start it with `GAN_DASHBOARD_RUNS` set to "
        f"{literal(str(registry().runs_root.resolve()))} and no `--out`, or pass that folder as `--out` or "
        "`root=`.",
        icon=":material/hourglass_empty:",
    )
    st.fragment(await_run, run_every=REFRESH_SECONDS)(awaited)
elif view is None and st.session_state.get(LOST_KEY):
    lost_id, lost_reason = st.session_state[LOST_KEY]
    st.error(  # (a run id, letters, digits and ._-, is shown as it is in code spans)
        f"Run `{lost_id}` cannot be shown any more: {literal(lost_reason)}. Its folder was deleted, moved "
        "or damaged while this page watched it; a process still training it fails at its next write. The "
        "other runs are as they were (the **Runs** page lists them). "
        + (
            "Start trains the sidebar's configuration once the sidebar has what it needs (the line under "
            "Start says what)."
            if start_disabled
            else "Press **Start** to train the sidebar's configuration."
        ),
        icon=":material/folder_off:",
    )
elif view is None:
    st.info(
        # Start disabled: the line beside it says what it needs; this box does not tell to press it
        "Start trains the sidebar's configuration once the sidebar has what it needs (the line under "
        "Start says what), or open an earlier run on the **Runs** page."
        if start_disabled
        else "Press **Start** to train the sidebar's configuration"
        + (
            f" ({form_cfg.dataset}: see the preset named above)"
            if form_dataset_preset is not None
            # (the digits' defaults said of a form of the user's own, on ring8 with lr_d raised: not theirs)
            else " (the default trains an MLP GAN on the 8x8 digits in under a minute on a CPU)"
            if form_cfg is None or form_cfg.dataset == GANConfig().dataset
            else ""
        )
        + ", or open an earlier run on the **Runs** page."
    )
    newest = registry().newest()  # (a tab opened after its run ended, or on a run a terminal trains)
    if newest is not None:
        st.button(
            f"Open the newest run, {literal(newest['run_id'])} ({newest['status']}, step {newest['step']:,})",
            key="btn_open_newest",
            on_click=acted(watch),
            args=(newest["run_id"],),
            help="the newest run in the runs folder, as the Runs page lists them first",
        )
if view is None:
    # The chart panels, empty until a run starts: the page keeps its layout, and the browser loads its
    # charting code now instead of when the first point arrives (measured: 4.6 s of a 7.5 s
    # Start-to-first-point on a loaded 2-core machine went to that first chart).
    live_chart(charts.training_figure(None), "idle_metrics")  # the metric charts' four empty panels
    st.stop()


# ---------------------------------------------------------------------------------------------- live part
def run_meter(key: str, run_id: str, make: type[StepRate] | type[SampleRate]) -> StepRate | SampleRate:
    """The session's meter under ``key`` for ``run_id``: a new one (``make()``) for another run."""
    held = st.session_state.get(key)
    if not isinstance(held, tuple) or held[0] != run_id:
        held = st.session_state[key] = (run_id, make())
    return held[1]


def progress_line(view: RunView) -> None:
    step, target = view.current_step, view.hparams["steps"]
    previous, latest = view.store.latest_two()  # (at once: another tab's refresh may append meanwhile)
    elapsed = latest["time_s"] if latest else 0.0
    # Steps per second of the run's own training clock over its last 20 s, from its rows (not from the
    # wall time between refreshes, which rows reach in lumps); its average in the first second. The time
    # left is read from a steadier, exponentially weighted rate (`StepRate.seconds_left`).
    meter = run_meter("_rate", view.run_id, StepRate)
    rate = meter.update(float(elapsed), float(latest["step"])) if latest else None
    if view.status == "running":
        rate_txt = f"{rate:.1f} steps/s" if rate else "— steps/s"
    else:  # nothing moves: how long it trained says more than a rate of 0
        rate_txt = f"{view.status}, {training_time(float(elapsed))} of training"
    # A multi-process job: its throughput per process (metrics.csv's samples_per_s is the ranks' average),
    # the samples trained over the same window of its clock as the steps/s (`SampleRate`), and for the
    # whole job; one process reads as it always did.
    throughput = view.throughput if view.world_size > 1 else None
    job_txt = ""
    if throughput is not None:
        samples = run_meter("_sample_rate", view.run_id, SampleRate)
        per_step = samples_per_step(view, latest, previous)
        per_process = (
            samples.update(float(elapsed), float(latest["step"]), throughput[0], per_step) or throughput[0]
        )
        in_all = per_process * view.world_size
        job_txt = f" · {per_process:,.0f} samples/s per process, {in_all:,.0f} in all"
    job_txt += evaluating_text(view)
    # Steps with thousands separators, as every other step the page names ("next evaluation at step
    # 134,000"); times past a minute in minutes ("about 3 h 20 min left", not "12000 s").
    if target:
        seconds = meter.seconds_left(step, target) if view.status == "running" else None
        left = f", about {whole_seconds(seconds)} left" if seconds is not None else ""
        st.progress(min(1.0, step / target), text=f"step {step:,} / {target:,} · {rate_txt}{left}{job_txt}")
    else:
        # (the run's own clock, time_s: pauses and evaluations left out, so not the wall clock's "elapsed")
        tail = f" · {whole_seconds(float(elapsed))} of training" if view.status == "running" else ""
        st.progress(0.0, text=f"step {step:,} (open-ended) · {rate_txt}{tail}{job_txt}")
    single = view.single_steps
    if single is not None:  # while paused: what each click did, a D-only update above all (it adds no row)
        st.caption(single_steps_text(single, latest))


def samples_per_step(
    view: RunView, latest: dict[str, float], previous: dict[str, float] | None
) -> float | None:
    """The real samples one process's step trains in the run's newest row: its batch size (a built-in
    run's config: each process trains ``batch_size`` a D update) times that row's ``d_steps``; for a loop
    of one's own, whose batch size the run does not record (its free-form config may name the whole
    job's), what the row's own rate and time give with ``previous``, the row before it (`row_samples`).
    None for a row without them."""
    d_steps = latest.get("d_steps", 0.0)
    if view.cfg is None:
        return row_samples(latest, previous)
    if not 0 < d_steps < float("inf"):  # (False for NaN)
        return None
    return float(view.cfg.batch_size * d_steps)


# What the line under the progress bar says of the newest G-only or full single step (its metrics row):
# G's side of a G-only update (D is not updated: its verdict on the fakes G was pushed against), both
# sides of a full one
SINGLE_STEP_COLUMNS = {
    "g": ("g_loss", "d_fake", "g_grad_norm"),
    "full": ("d_loss", "g_loss", "d_acc_real", "d_acc_fake"),
}


def single_steps_text(single: dict, latest: dict | None = None) -> str:
    """The line under the progress bar for `RunView.single_steps`; ``latest``, the run's newest metrics
    row: a G-only or full single step's values when it is the newest single step (it wrote that row)."""
    counts = [
        f"{n} {name}"
        for name, n in (("D-only", single["d"]), ("G-only", single["g"]), ("full", single["full"]))
        if n
    ]
    said = f"Single steps since the pause: {', '.join(counts)} (on the charts: ◆ D-only, ■ G-only, ● full)"
    last_d = single["last_d"]
    if last_d:
        values = ", ".join(
            f"{k} {last_d[k]:.4g}"  # as the charts' hover writes it (1.002, not 1)
            for k in ("d_loss", "d_acc_real", "d_acc_fake", "d_real", "d_fake")
            if k in last_d
        )
        said += (
            f". The last D-only update: {values}; it trains D alone, so the step count (G updates) "
            "stays where it is"
        )
    newest = single.get("newest")
    if newest in SINGLE_STEP_COLUMNS and latest:
        values = ", ".join(
            f"{k} {latest[k]:.4g}"
            for k in SINGLE_STEP_COLUMNS[newest]
            if isinstance(latest.get(k), int | float) and math.isfinite(latest[k])
        )
        if values:
            name = "G-only update" if newest == "g" else "full step"
            said += f". The last {name} (step {int(latest['step']):,}): {values}"
    return said + "."


def evaluating_text(view: RunView) -> str:
    """What the progress line adds: the step of the next quality evaluation while the run trains toward it
    (every ``eval_every`` steps, `RunView.eval_every`), or while the run measures it (`RunView.evaluating`):
    the steps stand still meanwhile, and the first evaluation of digit-like images in this server trains the
    classifier its metrics are measured with, seconds (more on a busy machine). In the progress line's
    text, not a line of its own: nothing moves on the page as an evaluation comes and goes."""
    evaluating = view.evaluating
    if evaluating is None:
        # when the next one comes (the quality charts change only then), while the run trains on toward it
        every = view.eval_every
        # (a loop of one's own evaluates only a G it watches, whose first snapshot `watch` takes at once,
        # against the real batch given to init, kept as the run's real view)
        evaluates = view.owned or (view.snapshot_steps() and view.real_view() is not None)
        if view.status != "running" or every is None or not evaluates:
            return ""
        upcoming = (view.current_step // every + 1) * every
        target = view.hparams.get("steps") or 0
        return "" if target and upcoming > target else f" · next evaluation at step {upcoming:,}"
    why = (
        " (the first evaluation trains the feature classifier: a few seconds, longer on a busy machine)"
        if evaluating.trains_classifier
        else ""
    )
    return f" · evaluating step {evaluating.step}{why}"


def status_line(view: RunView) -> None:
    meta = view.meta
    what = " · ".join(
        literal(v) for v in (meta.dataset or meta.data_kind, meta.model, view.conditioning, meta.loss) if v
    )
    text = f"**Status:** `{view.status}` · run `{view.run_id}` · {what}"
    if view.device:
        text += f" · on {literal(view.device)}"
    job = view.job
    if job.distributed:  # backend and host names come from status.json: shown as text
        text += f" · {job.world_size} processes"
        if job.backend:
            text += f" ({literal(job.backend)})"
        if job.hosts:
            shown = ", ".join(literal(host) for host in job.hosts[:MAX_HOSTS_SHOWN])
            more = len(job.hosts) - MAX_HOSTS_SHOWN
            text += f" on {shown}" + (f" and {more} more" if more > 0 else "")
    if not meta.owned:
        text += f" · recorded by {SOURCE_NAMES.get(meta.source, literal(meta.source))}"
    if view.external:
        text += " · written by another process, watched live"
    elif not view.live:
        text += " · shown from its folder"  # (not trained here now: Resume, where offered, goes on)
    st.markdown(text)
    contended = view.cores_contended  # (a run on this machine's CPU whose torch takes every core)
    if contended:
        st.caption(f":material/speed: {contended}")
    notes = view.notes  # (read each refresh: notes saved in another tab or a terminal are seen)
    if notes:  # a line of them; the Notes button under the charts shows them whole and edits them
        st.caption(f"**Notes:** {literal(notes_line(notes, NOTES_SHOWN))}")
    # The banners, as many as there are flags, in one container: the progress line after it keeps its
    # place when a flag is raised or cleared (else, until the refresh ended, the page showed the new
    # progress line above the old one).
    with st.container():
        run_banners(view)
        # What the tracking API found wrong in the loop's calls, next to the flags it can make wrong (logits
        # passed after a sigmoid read as a D calling every fake real: g_overpowers' banner gave the fix for
        # a GAN that was not failing). Text from the run's events.csv: shown as text.
        for warning in view.warnings:
            st.warning(
                f"**{literal(warning['check'] or 'warning')}** (your loop's calls, step {warning['step']}) — "
                f"{literal(warning['detail'])}",
                icon=":material/report:",
            )
        # A folder's files left out when the run started or, newer, resumed (its ``data`` events, written by
        # the runner for the dashboard and the command line alike): the newest said for as long as the run
        # is viewed, as text.
        loads = [event for event in view.events if event.get("kind") == "data"]
        if loads:
            at = loads[-1].get("step")
            when = "when the run started" if not at else f"when the run resumed at step {at}"
            detail = literal(loads[-1].get("detail") or "")
            st.warning(f"Data ({when}): {detail}", icon=":material/folder_off:")
        for name in view.flags:
            info = FLAGS.get(name)
            if info is None:  # a flag of another version, from status.json: named, as text
                st.info(f"Flag {literal(name)}: not one this version knows.")
                continue
            # (Material icons ship with Streamlit: drawn the same on every machine, with or without emoji
            # fonts)
            show, icon = {
                "healthy": (st.success, ":material/check_circle:"),
                "watch": (st.info, ":material/visibility:"),
            }.get(info.severity, (st.warning, ":material/warning:"))
            # (a run that has ended: the flags it ended with, not a contest going on: "while G still learns")
            when = " (up when the run ended)" if view.status in ENDED else ""
            meaning = info.explanation_for(view.loss)
            remedy = info.suggestion_for(
                view.loss,
                conditional=bool(view.conditioning),
                ms_weight=view.cfg.ms_weight if view.cfg is not None else None,
            )
            first = failures_first_words(name, view.flags)  # (their banners are above it)
            remedy += f" {first}" if first else ""
            show(f"**{name}**{when} — {meaning} *Suggestion:* {remedy}", icon=icon)


# The snapshot slider's last stop. Not a step: at this stop the view follows each new snapshot while the
# slider's value stays the same (see `snapshot_slider`).
NEWEST = "newest"
POINTS_VIEW_HEIGHT = 560  # the 2D view, square: about as wide as half the page
HISTORY_VIEWS = 4  # earlier snapshots beside the 2D view, two by two
HISTORY_HEIGHT = POINTS_VIEW_HEIGHT // 2 - 8  # (the gap between the two rows)
# Points drawn of each set in an earlier snapshot: enough to see where G's points were, at a quarter of
# the bytes of a thousand (four such views are sent on every refresh).
HISTORY_POINTS = 250


def nearest_stop(steps: list[int], held: int) -> int | str:
    """The slider's stop nearest step ``held`` among the snapshot ``steps`` (the earlier on a tie), the
    newest as `NEWEST`."""
    nearest = min(steps, key=lambda step: (abs(step - held), step))
    return NEWEST if nearest == steps[-1] else nearest


def snapshot_slider(view: RunView, steps: list[int], picked: int | str | None = None) -> int:
    """The snapshot step to show: the newest, unless the user moved the slider (or clicked a chart) back;
    ``picked``: a stop a click on a chart asked for (`show_picked_snapshot`).

    The slider's stops are the saved steps with the newest replaced by `NEWEST`. Following the newest
    snapshot is that stop, so new snapshots change the slider's stops but never its value: only the user
    stops the following, and only the user resumes it. (When the script wrote the newest step into the
    slider at every refresh, it raced the browser: a rerun request carries the value the browser last
    showed, Streamlit took that older step for a move of the user's, and the view froze on it. The
    browser's own default is the value too: `steady_select_slider`.)"""
    chosen = steady_select_slider(
        "Snapshot at step",
        [*steps[:-1], NEWEST],
        f"snap_step_{view.run_id}",
        # its first draw: the newest; a step since thinned away (the run keeps fewer old snapshots as it
        # goes on): the nearest kept, not the newest (the view held there jumped to the live end)
        reset_to=lambda held: NEWEST if not isinstance(held, int) else nearest_stop(steps, held),
        move_to=picked,
        help="Scrub back through the saved snapshots, or click a point on any chart above to show the "
        "snapshot nearest that step. At the last stop, newest, the view follows each new snapshot.",
    )
    return steps[-1] if chosen == NEWEST else chosen


def sample_panel(view: RunView) -> int | None:
    """The snapshots' pictures and their slider; returns the step the user scrubbed back to, or None when
    the view follows the newest (or has none)."""
    steps = view.snapshot_steps()
    controls = st.container(key="sample_controls")  # the pictures below stay put whatever this holds
    if not steps:
        controls.caption(
            "No snapshot: its loop watched no G (`run.watch(G, fixed_noise)`, or the Lightning callback's "
            "`fixed_noise`), so there are no pictures and no quality metrics."
            if view.unwatched
            else "No snapshot yet."
        )
        return None
    picked = st.session_state.pop(f"snap_pick_{view.run_id}", None)  # a click on a chart, just now
    with controls:
        # (a slider needs two stops; with one snapshot there is nothing to scrub)
        wanted = snapshot_slider(view, steps, picked) if len(steps) > 1 else steps[-1]
    try:
        found = view.snapshot(wanted)
    except RunDirError as exc:  # a damaged file: that step cannot be shown, the others can
        st.warning(f"Snapshot unreadable: {literal(exc)}")
        return None
    if found is None:
        return None
    step, snap = found
    if "grid" in snap:
        image_samples(view, step, snap)
    elif "bounds" not in snap or "points" not in snap:
        st.warning(f"Snapshot unreadable: the one at step {step} has no points or no bounds.")
    else:
        arrows = controls.toggle(
            charts.ARROW_NAME,
            key="show_arrows",
            value=False,
            help="An arrow on each of 200 generated points: the way G's next update moves it (minus the "
            "gradient of G's loss), longer where the push is stronger.",
        )
        # (drawn whether or not this snapshot has the map, so that scrubbing back to one from before it
        # was recorded keeps the toggle's state: off there, and on again further on)
        has_mesh = charts.snapshot_has_mesh(snap)
        mesh_on = controls.toggle(
            charts.MESH_TOGGLE,
            key="show_mesh",
            value=False,
            disabled=not has_mesh,
            help="A grid of lines laid over G's noise (z1 and z2, each over where the fixed noise lies; "
            "with more than 2 noise dimensions, the plane through its centre), drawn where G sends it, as "
            "GAN Lab draws G's manifold: how G stretches and folds the noise onto the data. A healthy G "
            "spreads the grid over every cluster; a collapsing one squeezes it onto a few spots."
            + ("" if has_mesh else " This snapshot was recorded before the map was."),
        )
        mesh = has_mesh and mesh_on
        points_samples(view, steps, step, snap, arrows, mesh)
    return None if wanted == steps[-1] else step


def image_samples(view: RunView, step: int, snap: dict) -> None:
    """G's grid beside the real one, drawn the same size: one height for both, in columns of one width,
    each grid fitted into that box whatever its pixels or its number of tiles."""
    height = charts.IMAGE_MAX_HEIGHT
    left, right = st.columns(2)
    with left:
        grid = view.grid_labels(snap)  # each row's class, from the classes the snapshot was made of
        title, rows = grid.title(step), grid.rows
        # (built only when the grid or its title changed: see live_chart's version)
        generated = lambda: charts.image_grid_figure(snap["grid"], title=title, row_labels=rows or None)  # noqa: E731
        version = charts.inputs_digest(snap["grid"], title, rows)
        live_chart(generated, "chart_samples", height=height, version=version)
    real = view.real_view()
    if real is not None and "grid" in real:
        with right:
            # a conditional run's real grid has a row per class, as G's (labelled where it says its classes)
            real_rows = view.grid_labels(real).rows if "labels" in real else []
            real_title = "real: a row per class, as G's" if real_rows else "real"
            real_grid = functools.partial(
                charts.image_grid_figure, real["grid"], title=real_title, row_labels=real_rows or None
            )
            version = charts.inputs_digest(real["grid"], real_title, real_rows)
            live_chart(real_grid, "chart_real", height=height, version=version)


def points_samples(
    view: RunView, steps: list[int], step: int, snap: dict, arrows: bool, mesh: bool = False
) -> None:
    """The 2D view, square and as wide as half the page, and beside it `HISTORY_VIEWS` earlier snapshots
    evenly spaced from the first: where G's points were on the way (a mode collapse shows as points
    leaving clusters they had found, an equilibrium as a picture that settles)."""
    real = view.real_view()
    midpoint = view.midpoint
    earlier = [s for s in steps if s < step]
    last = len(earlier) - 1
    picked = (
        sorted({earlier[round(i * last / (HISTORY_VIEWS - 1))] for i in range(HISTORY_VIEWS)})
        if earlier
        else []
    )
    shown: list[tuple[int, dict]] = []  # the earlier snapshots drawn beside it
    for earlier_step in picked:
        try:
            found = view.snapshot(earlier_step)
        except RunDirError:  # a damaged file: left out here, named when it is the one shown
            continue
        if found is not None and "points" in found[1] and "bounds" in found[1]:
            shown.append(found)
    # One colour scale for the view and its history (a critic's, a hinge loss's): a colour is one score
    # in all five, and does not jump from one snapshot to the next.
    half_range = charts.heatmap_half_range(
        [s.get("heatmap") for s in (snap, *(v for _, v in shown))], view.loss
    )
    # side by side where both fit (`POINTS_GRID`), the history under the view on a narrow page: two fixed
    # columns left an 800 px window a 170 px view, its colour bar's title and notes cut (a review)
    with st.container(horizontal=True, key=POINTS_GRID):
        main, history = st.container(), st.container()
    with main:
        title = f"step {step}: real vs generated over D's verdict"
        options = {
            "midpoint": midpoint,
            "threshold": view.threshold,
            "half_range": half_range,
            "title": title,
            "grads": arrows,
            "mesh": mesh,
            "height": POINTS_VIEW_HEIGHT,
        }
        live_chart(
            lambda: charts.snapshot_figure(snap, real, **options),
            "chart_samples",
            version=charts.inputs_digest(snap, real, options),
        )
        st.caption(points_view_caption(view.loss))
    if not earlier:
        history.caption(
            "No earlier snapshot: this is the run's first."
            if steps and step == steps[0] and len(steps) > 1
            else "Earlier snapshots appear here as the run goes on."
        )
        return
    cells = history.columns(2) + history.columns(2)
    for i, (cell, (earlier_step, earlier_snap)) in enumerate(zip(cells, shown)):
        options = {
            "midpoint": midpoint,
            "threshold": view.threshold,
            "half_range": half_range,
            "title": f"step {earlier_step}",
            "height": HISTORY_HEIGHT,
            "mesh": mesh,  # (how G unfolded its noise, snapshot by snapshot)
            "legend": False,
            "max_points": HISTORY_POINTS,
        }
        try:
            with cell:  # each earlier snapshot drawn once, then sent again as it was (live_chart's version)
                live_chart(
                    lambda snap=earlier_snap, options=options: charts.snapshot_figure(snap, real, **options),
                    f"chart_history_{i}",
                    version=charts.inputs_digest(earlier_snap, real, options),
                )
        except ValueError:  # a damaged file (arrays of the wrong shapes): left out here
            continue


def points_view_caption(loss) -> str:
    """What a student should expect to see in the 2D view, in one line: where G's points go, and what D
    looks like at equilibrium under this run's loss (``loss``: `RunView.loss`, None when unknown)."""
    if loss is not None and loss.is_critic:
        calm = "a critic's scores only rank points: at equilibrium they are about flat over the data"
    elif loss is not None and loss.midpoint is not None:
        calm = f"at equilibrium D says about {loss.midpoint:.2g} over the data (white): it cannot tell"
    elif loss is not None and loss.threshold is not None:
        calm = f"at equilibrium D's score is about {loss.threshold:.2g} over the data (white): it cannot tell"
    else:
        calm = "at equilibrium D is pale over the data: it cannot tell"
    return f'G\'s points are pushed toward where D says "real" (green); {calm}.'


def show_picked_snapshot(step: float, at_end: bool = False) -> None:
    """A click on a metric chart shows the snapshot nearest the clicked step (a callback, before the
    rerun). The newest is the slider's last stop: a click there, or at the end of the chart's lines
    (``at_end``: "now", though snapshots newer than the chart drawn may have come since), follows new
    snapshots again."""
    run_id = st.session_state.get("run_id")
    if not run_id:
        return
    try:
        view = registry().view(run_id)
        steps = view.snapshot_steps()
        nearest = view.nearest_snapshot_step(step)
    except (RunDirError, RegistryError, ValueError):
        return
    if nearest is not None:  # the slider moves there as it is drawn (`snapshot_slider`)
        st.session_state[f"snap_pick_{run_id}"] = NEWEST if at_end or nearest == steps[-1] else nearest


ZOOM_KEY = "_train_zoom"  # (run id, (low, high)): the steps the view's step charts are zoomed on


def zoomed_steps(run_id: str) -> tuple[float, float] | None:
    """The step range this session's view of ``run_id`` is zoomed on (None: whole)."""
    held = st.session_state.get(ZOOM_KEY)
    return held[1] if isinstance(held, tuple) and held[0] == run_id else None


def metric_chart(
    container, figure, key: str, *, run_id: str, version: str | None = None, row_group: str | None = None
) -> None:
    """A chart over steps of run ``run_id``: a click picks the snapshot nearest the step, and a zoom on
    steps zooms every other step chart of the view to the same steps (`live_chart`'s ``x_group``) and is
    kept for the run (`zoomed_steps`): the charts drawn from the run's downsampled rows are drawn finer
    there."""

    def zoom(steps: tuple[float, float] | None) -> None:
        st.session_state[ZOOM_KEY] = (run_id, steps)

    with container:
        live_chart(
            figure,
            key,
            on_pick=show_picked_snapshot,
            version=version,
            row_group=row_group,
            x_group=STEP_AXES,
            on_zoom=zoom,
            zoomed=zoomed_steps(run_id) is not None,
        )


def charts_panel(view: RunView, picked: int | None = None) -> None:
    """The training panels, the quality charts and the per-class (per-mode) shares at the newest
    evaluation, or at the one at or before ``picked``, the snapshot step the user scrubbed back to."""
    smoothing = st.session_state.get("smoothing", 0.6)
    log_y = st.session_state.get("log_y", False)
    fit_outliers = st.session_state.get("fit_outliers", False)
    # The columns the charts draw, not every column of the store (learning rates, samples/s...), NaN and
    # inf shown as such, not as gaps; the quality metrics from the rows that measured them.
    store = view.store
    # Zoomed on a range of steps: that range drawn from as many points as the whole (finer where the store
    # keeps it finer: a long run's view otherwise showed the same few points however far one zoomed in)
    frame = charts.metric_view(store, CHART_POINTS, view.custom_columns, zoomed_steps(view.run_id))
    events = view.events
    midpoint = view.midpoint
    # The four metric charts as the panels of one figure: one draw in the browser at each refresh, not
    # four (each draw's cost is mostly fixed), and a zoom on steps in one panel applies to all.
    figure = charts.training_figure(
        frame, events, smoothing, log_y=log_y, midpoint=midpoint, loss=view.loss, fit_outliers=fit_outliers
    )
    metric_chart(st.container(), figure, "chart_metrics", run_id=view.run_id)
    # (always one element: a note that comes and goes would move everything under it)
    st.caption(charts.training_off_axis_note(figure) or "")
    # The quality groups measured so far, in as many columns as fit (`chart_grid_style`), each chart keyed
    # by its place: the "no evaluation yet" placeholder turns into the first quality chart, in place.
    total = coverage_total(view.dataset) if view.dataset else None
    # The standalone classifier's held-out accuracy beside D's class head (acgan), when this server has
    # it at hand (it trained it for the run's evaluations): never trained here for a page.
    accuracy = trained_accuracy(view.cfg) if view.cfg is not None else None
    references = {"d_class_acc": (accuracy, "classifier, held out")} if accuracy is not None else None
    # Measured every eval_every steps: between two evaluations the charts are the same, and are neither
    # built nor encoded again (live_chart's version; building them was half of a refresh's time).
    ended = view.status in ENDED  # before a first evaluation: "yet", or that the run ended before it
    unwatched = view.unwatched
    version = charts.inputs_digest(store.exact_version, events, total, references, ended, unwatched)

    @functools.cache
    def quality() -> list:
        measured = charts.evaluations(store)
        figures = charts.quality_figures(
            measured, events, coverage_total=total, references=references, ended=ended, unwatched=unwatched
        )
        return list(figures.values())

    known = st.session_state.get("_quality_charts")
    if known is None or known[0] != version:
        known = st.session_state["_quality_charts"] = (version, len(quality()))
    # One container for all the charts, each at its index in it: what follows (the custom metrics) keeps
    # its place in the page's element tree when a chart is added, so Streamlit does not remount (and
    # blank) those charts; the browser flows them into rows.
    box = st.container(horizontal=True, key=QUALITY_GRID)
    for i in range(known[1]):
        metric_chart(
            box,
            lambda i=i: quality()[i],
            f"chart_quality_{i}",
            version=version,
            row_group=QUALITY_GRID,
            run_id=view.run_id,
        )
    # What the quality charts leave out and why (an Inception weights file that is not one; no FID
    # without one): the errors in full, the gaps in one line, always drawn (a line that came and went
    # would move what follows)
    errors, gaps = charts.quality_notes(events, store.exact_measured, view.data_kind, view.dataset)
    for error in errors:  # (from the run's events.csv: as text)
        st.warning(literal(error), icon=":material/warning:")
    st.caption(gaps)
    # Which classes or modes G's samples fell in (not a metric over steps: a click picks no snapshot), in
    # a container drawn whether or not there is one yet, so that the custom metrics keep their place
    shares, share_box = view.class_shares(picked), st.container()
    if shares is not None:
        with share_box:
            figure = lambda: charts.class_share_figure(shares)  # noqa: E731
            live_chart(figure, "chart_class_shares", version=charts.inputs_digest(shares))
    custom = view.custom_columns
    if custom:  # the run's own metrics (logged through gan_core.track), in as many columns as fit
        st.subheader(charts.CUSTOM_TITLE)
        custom_metrics(view, frame, events, smoothing)


def custom_metrics(view: RunView, frame: charts.View, events: charts.Events, smoothing: float) -> None:
    """A run's own metrics in as many columns as fit: those with no ``group/`` in their names first, then
    one section a group (`charts.custom_metric_groups`: ``val/fid`` under "val"), each a stateful expander
    the reader folds away, its charts then neither built nor sent at the refreshes (a loop logging 30
    metrics drew 30 charts in one grid). Folded stays folded over the session: from one run to the next
    (a section's key is its group's name) and after a visit to another page (`FOLDED_KEY`)."""
    folded = st.session_state.setdefault(FOLDED_KEY, set())
    sections = []  # (group, its metrics, its section's key or None, whether it is open)
    for group, names in charts.custom_metric_groups(view.custom_columns):
        key = chart_key(GROUP_KEY, group) if group else None
        if key and key not in st.session_state and group in folded:  # (a widget not drawn last run)
            st.session_state[key] = False
        sections.append((group, names, key, key is None or st.session_state.get(key, True)))
    shown = [name for _, names, _, drawn in sections if drawn for name in names]
    figures = charts.custom_metric_figures(frame, shown, events, smoothing=smoothing)
    for group, names, key, drawn in sections:
        # (the label is the section's identity with its key: a count in it would unfold the section
        # whenever a metric joined it)
        section = (
            st.expander(f"{group}/", expanded=True, key=key, on_change=folded_changed, args=(key, group))
            if key
            else st.container()
        )
        if not drawn:
            continue
        grid = chart_key(CUSTOM_GRID, group) if group else CUSTOM_GRID
        box = section.container(horizontal=True, key=grid)
        for name in names:
            metric_chart(box, figures[name], custom_chart_key(name), row_group=grid, run_id=view.run_id)


def folded_changed(key: str, group: str) -> None:
    """A custom metrics section unfolded or folded: remembered for the session (`custom_metrics`)."""
    folded = st.session_state.setdefault(FOLDED_KEY, set())
    if st.session_state.get(key, True):
        folded.discard(group)
    else:
        folded.add(group)


def live_body() -> None:
    try:
        live_parts()
    finally:  # last, and whatever happened above: a refresh that raised does not end the refreshing
        if refreshing:  # the browser asks for the next refresh once it has drawn this one
            live_refresh("live_refresh", REFRESH_SECONDS)


def watch_ended() -> None:
    """For a tab showing an ended run, which does not refresh: the run resumed elsewhere (another tab, a
    terminal's --resume) or deleted is found here, and one full rerun shows it (`stale_page`); until then
    nothing is drawn."""
    current = watched_view()
    if current is None:
        if st.session_state.get(LOST_KEY):
            st.rerun(scope="app")
        return
    if stale_page(current.status, current.run_id, FLASH_KEY):
        st.rerun(scope="app")


def live_parts() -> None:
    current = watched_view()
    if current is None:
        if st.session_state.get(LOST_KEY):  # the run watched is gone: the whole page says so, idle
            st.rerun(scope="app")
        return
    # Each part in a container of its own key: a message that comes or goes in one (a flag raised, a
    # file warning, the slider's first appearance) moves nothing in the others. The samples are drawn
    # right after the progress line, before the slower charts: the browser gets the newest snapshot with
    # the step count, not a chart-drawing later. On the page a 2D run's view comes first, above the
    # charts (it is what a 2D run is watched for: under the charts it was two screens down); an image
    # run's grid stays under them.
    status_box = st.container(key="live_status")
    if current.data_kind == "points":
        samples_box = st.container(key="live_samples")
        charts_box = st.container(key="live_charts")
    else:
        charts_box = st.container(key="live_charts")
        samples_box = st.container(key="live_samples")
    with status_box:
        status_line(current)
        progress_line(current)
        # The other runs this server trains: Stop stops only the run shown, and a second Start left the
        # first training unseen (a newcomer stopped "everything" while it went on).
        others = {r.run_id: r.current_step for r in registry().active() if r.status in ("running", "paused")}
        others.pop(current.run_id, None)
        paused = {r.run_id for r in registry().active() if r.status == "paused"} & set(others)
        lead = "Also on this server" if paused else "Also training on this server"
        also = training_now_text(others, lead=lead, paused=paused)
        if also:
            st.caption(also + " (the Runs page opens them)")
    with samples_box:
        picked = sample_panel(current)
    with charts_box:
        charts_panel(current, picked)
    # The status changed since the page was drawn (the run ended, or another tab paused it), or a click
    # that came with this refresh started another run or left a message: one full rerun redraws the
    # controls, says it, and turns the refresh on or off.
    if stale_page(current.status, current.run_id, FLASH_KEY):
        st.rerun(scope="app")


opts = st.container(horizontal=True)
opts.slider("EMA smoothing", 0.0, 0.99, kept_value("smoothing", 0.6), 0.01, key="smoothing", width=280)
opts.toggle("log scale (losses)", kept_value("log_y", False), key="log_y")
opts.toggle(
    "Fit the losses to outliers too",
    kept_value("fit_outliers", False),
    key="fit_outliers",
    help="Off: the losses' axis fits their values without those that leap more than ten times past the "
    "rest (one step's d_loss of 35 beside losses near 1.4), marked at its edge and named under the charts. "
    "The log scale draws every value.",
)

# Streamlit dims an element while its refresh is pending ("stale"). The live part refreshes every second
# and its charts are updated in place, so on a busy machine (two runs training on 2 cores) the dimming
# faded the charts for much of each second while saying nothing the progress line does not: not here.
st.html(
    "<style>.st-key-live_status [data-stale='true'], .st-key-live_charts [data-stale='true'], "
    ".st-key-live_samples [data-stale='true'] {opacity: 1 !important; transition: none !important;} "
    # the refresh pacer draws nothing: no gap in the page for it either
    ".st-key-live_refresh {display: none;} "
    # the quality charts and the custom metrics in as many columns as fit
    + chart_grid_style(QUALITY_GRID, charts.SMALL_CHART_MIN_PX)
    # (each group's too, and a lone chart one column wide as the others)
    + chart_grid_style(CUSTOM_GRID, charts.SMALL_CHART_MIN_PX, prefix=True, keep_columns=True)
    + chart_grid_style(POINTS_GRID, POINTS_MIN_PX)
    + "</style>"
)
# Keyboard focus kept on the controls: a button pressed goes disabled or away (Pause, Resume, Apply, Stop),
# and the browser put the focus back on the page's start, 18 Tabs from the next control (`keep_focus`).
keep_focus(
    "train_focus",
    {
        "btn_pause": ["btn_resume", "btn_step"],
        "btn_resume": ["btn_pause"],
        "btn_apply": ["btn_pause", "btn_resume"],
        "btn_stop": ["btn_resume", "btn_start"],
        "btn_start": ["btn_pause", "btn_stop"],
    },
)
# A run that moves on, or may at any moment: one written elsewhere, and a paused one, which another tab
# can resume (this tab, not refreshing while paused, went on showing "paused" as the run trained on).
refreshing = status in ("running", "paused") or external
st.fragment(live_body)()
if view is not None and not refreshing:  # an ended run another tab or a terminal may resume or delete
    st.fragment(watch_ended, run_every=ENDED_CHECK_SECONDS)()

bottom_row = st.container(horizontal=True)
download_buttons(bottom_row, view, "dl_")
notes_popover(bottom_row, view, "train_")
