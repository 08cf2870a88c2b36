"""Compare: overlay chosen runs' metrics on shared axes with each run's flags, show their samples side by
side at a chosen step, list the config fields that differ, and show which runs were branched from which
(a branch shares its parent's curves up to the branch step)."""

from __future__ import annotations

import html
import os

import pandas as pd
import streamlit as st

from ui.starting import engine_loading, through_the_router

through_the_router()  # before anything is drawn: a first visit by the page's address
st.set_page_config(page_title="GAN dashboard — Compare", page_icon="⚔️", layout="wide")

with engine_loading():
    from gan_core.app import (
        ABSENT,
        EVAL_COLUMNS,
        HEADLINE_QUALITY,
        STEP_METRICS,
        SUMMARY_METRICS,
        RunDirError,
        RunView,
        charts,
        compare_csv_bytes,
        compare_summary,
        quoted,
        settings_tables,
        shared_rows_per_point,
        summary_settings,
    )
    from ui.common import (
        address_names,
        address_runs_problem,
        choose,
        kept_value,
        line_swatch,
        literal,
        open_view,
        readable_run_ids,
        registry,
        run_banners,
        run_column_width,
        steady_select_slider,
        table_height,
        text_column_width,
        theme_type,
    )
    from ui.live_chart import chart_grid_style, chart_key, live_chart

CHART_POINTS = 600
STEP_AXES = "compare_steps"  # the metric charts, zoomed together on steps (`live_chart`'s x_group)
ZOOM_KEY = "_cmp_zoom"  # (low, high): the steps they are zoomed on, drawn finer there; None: whole
# Against training time: zoomed together in its unit (`charts.TIME_UNITS`), a group and chart keys of its
# own for each, so that a range zoomed to on one axis is never applied to another (a step range to
# seconds, seconds to minutes): a chart of the other axis is a new element, which starts whole
TIME_AXES = "compare_time_{unit}"
CHART_KEYS = {"step": "cmp_chart", "time": "cmp_tchart_{unit}"}  # (each metric's: `chart_key`)
RUN_LEGENDS = "compare_runs"  # the metric charts' legends, a run shown and hidden in all (`live_chart`)
SAMPLES_GRID = "cmp_samples"  # the samples' container: one panel per run, as many columns as fit
SAMPLES_HEIGHT = 360
QUALITY_FORMAT = "%.4g"  # as the Runs page's value column (fd_cls 133.2 there read 133 here)
SETTINGS_ROWS = 25  # "Settings that differ": the rows in view at once (Streamlit's default showed ten)
DEFAULT_METRICS = ["d_loss", "g_loss", "d_acc_real", "d_acc_fake"]
DEFAULT_OWN_METRICS = 4  # the runs' own metrics drawn by default, at most (those every chosen run logged)
SAMPLE_STEP_KEY = "cmp_sample_kept"  # the samples' step last chosen (this page's own)
SAMPLE_RUNS_KEY = "cmp_sample_runs"  # the runs it was chosen among
ADDRESS_KEY = "cmp_address"  # the address' runs and metrics as this page last wrote them
ADDRESS_NOTE_KEY = "cmp_address_note"  # what a link's address got wrong, and the address its visit wrote

st.title("Compare runs")

run_ids = readable_run_ids()
if len(run_ids) < 1:
    st.info("No runs yet to compare.")
    st.stop()
# The comparison is in the address (``?runs=a,b,c&metrics=d_loss,fd_cls``, then ``&x=time`` when drawn
# against training time), kept up to date below, so that a reload or a shared link shows the same one. An
# address this page did not write (a link opened, a new tab, an address edited) chooses the runs, metrics
# and x axis; the runs among them that cannot be opened, the names that are no metric here (no
# metrics.csv column, nor a chosen run's own) and an x axis that is none are said in one line (filled once
# the runs are open), the others opened.
address_said = st.empty()
address = (st.query_params.get("runs"), st.query_params.get("metrics"), st.query_params.get("x"))
linked = address != st.session_state.get(ADDRESS_KEY) and address != (None, None, None)
named_runs = (address_names("runs") or []) if linked else []
if any(r in run_ids for r in named_runs):  # (none: the runs compared before, or the newest two)
    choose("cmp_runs", [r for r in named_runs if r in run_ids])
# (the choices below outlive a visit to another page: `kept_value`; a run since deleted is left out, and
# said so once: the choice drawn without it, it is not among the runs kept next time)
kept_runs = kept_value("cmp_runs", run_ids[: min(2, len(run_ids))])
compared = [r for r in kept_runs if r in run_ids]
# (one that is there but cannot be read is named by `readable_run_ids` above)
gone = [r for r in kept_runs if r not in run_ids and not os.path.lexists(registry().runs_root / r)]
if gone:
    st.info(
        f"{'Run' if len(gone) == 1 else 'Runs'} {', '.join(literal(r) for r in gone)} "
        f"{'is' if len(gone) == 1 else 'are'} gone (deleted or moved): no longer compared.",
        icon=":material/folder_off:",
    )
chosen = st.multiselect("Runs", run_ids, default=compared, key="cmp_runs")
metrics_box = st.container()  # the picker offers the chosen runs' own metrics too: filled once they are open
opts = st.container(horizontal=True)
# The x axis: a link's (``x=step`` or ``x=time``; another value is said with the link's other problems,
# and the charts drawn against step), else the one chosen before
named_x = (st.query_params.get("x") or "").strip().rstrip("/") if linked else ""
if named_x:
    choose("cmp_x", named_x if named_x in charts.X_AXES else "step")
x_axis = opts.segmented_control(
    "x axis",
    charts.X_AXES,
    default=kept_value("cmp_x", "step"),
    required=True,
    format_func=charts.X_AXIS_NAMES.get,
    key="cmp_x",
    help="Draw every chart against the runs' steps, or against their training time (time_s: the seconds "
    "spent inside steps, pauses and evaluations left out): a run that costs more per step (more D steps, "
    "a larger batch, a bigger model, a slower device) reaches a step later. The hover says each run's "
    "step too.",
)
x_axis = x_axis if x_axis in charts.X_AXES else "step"
smoothing = opts.slider(
    "EMA smoothing", 0.0, 0.99, kept_value("cmp_smoothing", 0.6), 0.01, key="cmp_smoothing", width=280
)
log_y = opts.toggle(
    "log scale",
    kept_value("cmp_log", False),
    key="cmp_log",
    help="Gradient norms are on a log axis either way, as in the Train view",
)
# As TensorBoard's "ignore outliers in chart scaling", on unless this is: each chart's axis fits the runs'
# values without their outliers (a diverged run's 1e11 drew every other run flat at 0), which are marked
# at its edge and named under it (`charts.robust_yrange`)
fit_outliers = opts.toggle(
    "Fit the axis to outliers too",
    kept_value("cmp_fit_outliers", False),
    key="cmp_fit_outliers",
    help="Off: each chart's y axis fits the runs' values without their outliers, the values of a run that "
    "leapt orders of magnitude beyond its own (a diverging run's), each marked at the axis' edge with its "
    "value in the hover, the runs they belong to named under the chart. On: the axis fits every value.",
)

views = {}
for run_id in chosen:
    view = open_view(run_id)
    if view is not None:
        views[run_id] = view
        run_banners(view, prefix=f"{literal(run_id)}: ", failed=False)
# the runs' own metrics in their sections (`charts.custom_metric_groups`, as the Train view draws them):
# val/fid beside val/kid in the menu, whichever order the runs logged them in
custom = [
    name
    for _, names in charts.custom_metric_groups(
        list(dict.fromkeys(c for view in views.values() for c in view.custom_columns))
    )
    for name in names
]
# The address' metrics: the schema's, and the chosen runs' own; any other is said, not drawn.
named_metrics = (address_names("metrics") or []) if linked else []
unknown_metrics = [m for m in named_metrics if m not in STEP_METRICS and m not in custom]
if len(unknown_metrics) < len(named_metrics):
    choose("cmp_metrics", [m for m in named_metrics if m not in unknown_metrics])
problems = []
runs_problem = address_runs_problem(named_runs, run_ids)
if runs_problem:
    opened = [r for r in named_runs if r in views]
    problems.append(
        runs_problem
        + (" The others are compared." if opened else f" Compared instead: {literal(', '.join(views))}.")
    )
if named_x and named_x not in charts.X_AXES:
    problems.append(
        literal(
            f"The address names x axis {quoted(named_x)}, which is none of step, time "
            "(x=step: against the runs' steps; x=time: against their training time); drawn against step."
        )
    )
if unknown_metrics:
    names = ", ".join(map(quoted, unknown_metrics))
    problems.append(
        literal(
            f"The address names what is no metric here: {names} (a metric is a metrics.csv "
            "column or a chosen run's own metric); the others are drawn."
        )
    )
# A metric chosen stays offered when the run that logged it is taken out (its chart then says that none
# of the chosen runs logged it, or "no data yet" beside a live run): the choice is not dropped, and it is
# back when the run is.
# (by default the schema's four, then the runs' own metrics that every chosen run logged, the first
# `DEFAULT_OWN_METRICS` of them: a loop's own numbers are what its user came to compare, and were drawn only
# once picked in the menu, as W&B draws every key logged: a review)
shared_own = [m for m in custom if all(m in view.custom_columns for view in views.values())]
chosen_metrics = kept_value("cmp_metrics", [*DEFAULT_METRICS, *shared_own[:DEFAULT_OWN_METRICS]])
# The quality metrics some chosen run measured (a digits run has no modes_covered, none fid without
# Inception's weights), and every per-step one.
measured = {c for view in views.values() for c in view.store.exact_measured}
offered = [m for m in STEP_METRICS if m not in EVAL_COLUMNS or m in measured or not views]
kept = [m for m in chosen_metrics if m not in offered and m not in custom]
metrics = metrics_box.multiselect(
    "Metrics",
    [*offered, *custom, *kept],
    default=chosen_metrics,
    key="cmp_metrics",
    help="The schema's metrics, then the chosen runs' own (logged through gan_core.track)",
)
# The address says what is compared now (the runs in their order, then the metrics), and this page
# remembers what it wrote: an address it did not write is a link (above).
for name, chosen_names in (("runs", chosen), ("metrics", metrics)):
    if chosen_names:
        st.query_params[name] = ",".join(chosen_names)
    else:
        st.query_params.pop(name, None)
if x_axis == "step":  # (the default: an address without it, as every address before the choice)
    st.query_params.pop("x", None)
else:
    st.query_params["x"] = x_axis
st.session_state[ADDRESS_KEY] = written = (
    st.query_params.get("runs"),
    st.query_params.get("metrics"),
    st.query_params.get("x"),
)
# What the link got wrong, in one message, said until the comparison is changed (the address then is
# another than the one the link's visit wrote)
if linked:
    st.session_state[ADDRESS_NOTE_KEY] = (" ".join(problems), written)
note, note_address = st.session_state.get(ADDRESS_NOTE_KEY) or ("", None)
if note and note_address == written:
    address_said.warning(note, icon=":material/link_off:")
if not views:
    st.stop()
# (a callable: the runs' files are read when the button is clicked, not on every run of the page)
opts.download_button(
    "Download CSV",
    lambda: compare_csv_bytes(views),
    file_name="compare.csv",
    mime="text/csv",
    key="cmp_csv",
    icon=":material/download:",
    help="The chosen runs' metrics.csv rows in one table, each led by its run_id, source, loss, dataset and "
    "model, then the settings that differ between the runs (the README's metrics.csv columns say each)",
)

data_note = charts.compare_data_note({run_id: view.meta.data_name for run_id, view in views.items()})
if data_note:  # (data set names come from the runs' files: shown as text)
    st.info(literal(data_note), icon=":material/compare_arrows:")
environments = {run_id: view.environment for run_id, view in views.items()}
environment_note = charts.compare_environment_note(environments)
if environment_note:  # (versions and device names come from the runs' files: shown as text)
    st.info(literal(environment_note), icon=":material/memory:")
# A run still training is drawn as it was when the page ran (it did not say so, while the Train view moves
# on every second): named, with the step shown, and a button to draw it again.
statuses = {run_id: view.status for run_id, view in views.items()}  # (each probes the run's lock: once)
training = {
    run_id: view.current_step for run_id, view in views.items() if statuses[run_id] in ("running", "paused")
}
if training:
    note = st.container(horizontal=True, vertical_alignment="center")
    note.caption(
        "Still training: "
        + ", ".join(f"{literal(run_id)} (shown to step {step:,})" for run_id, step in training.items())
        + ". This page shows the runs as they were when it was drawn."
    )
    note.button("Refresh", key="cmp_refresh", icon=":material/refresh:", help="Draw the runs as they are now")
# Each run keeps its line style (a colour; past eight runs the colours again, dashed, then dotted) while it
# stays chosen (adding or removing another restyles none).
styles = st.session_state["cmp_styles"] = charts.run_styles(list(views), st.session_state.get("cmp_styles"))
colors = {run_id: color for run_id, (color, _) in styles.items()}
dashes = {run_id: dash for run_id, (_, dash) in styles.items()}

# The runs at a glance, above their charts: one row each, in their colours' order, the run's cell tinted with
# its charts' colour (its text black: a pinned column's text is faded, and coloured text read at 2.3:1),
# pinned while the table scrolls sideways.
summary = compare_summary(views)
# Beside each run's results, the settings that differ between the runs (a sweep's lr_d, seed, ...: which
# setting won), the first few; all of them under the charts, in "Settings that differ"
differing, partial = settings_tables(views)
swept = summary_settings(differing, skip=summary.columns)
summary = summary.join(swept, on="run")
run_width = run_column_width(summary["run"].tolist(), least=80)  # (a default id whole)
newest_help = (
    "its newest value (newest @: where that is not of the run's last row, a diverged run's last finite one)"
)
setting_help = (
    "a setting that differs between these runs (all of them: Settings that differ, under the charts)"
)
theme = theme_type()
notes_column = ["notes"] if summary["notes"].astype(bool).any() else []  # (a column of blanks: not drawn)
st.dataframe(
    summary.style.apply(lambda runs: [charts.run_cell_style(colors[r], theme) for r in runs], subset=["run"]),
    key="cmp_summary",
    hide_index=True,
    placeholder=ABSENT,  # "—" before a run's first evaluation (Streamlit's default says "None")
    # what tells the runs apart first, seen without scrolling on a 768 px window: how far each got and how
    # good it is, its newest losses and the flags it raised; what it is (also in "Settings that differ") last
    column_order=[
        "run",
        "status",
        "step",
        *notes_column,
        "quality",
        "latest",
        "latest @",
        "best",
        "best @",
        *swept.columns,
        *SUMMARY_METRICS,
        "newest @",
        "flags raised",
        "loss",
        "dataset",
        "source",
    ],
    column_config={
        "run": st.column_config.TextColumn("run", width=run_width, pinned=True),
        "status": st.column_config.TextColumn("status", width=70),
        "step": st.column_config.TextColumn(
            "step",
            width=text_column_width(summary["step"], 115, 240),
            help="reached, of the steps it trains to",
        ),
        "source": st.column_config.TextColumn(
            "source",
            width=65,
            help="who trained it: trainer (the dashboard or the CLI), api (your loop), lightning",
        ),
        "loss": st.column_config.TextColumn("loss", width=100),
        "dataset": st.column_config.TextColumn("dataset", width=75),
        "notes": st.column_config.TextColumn(
            "notes",
            width=text_column_width(summary["notes"], 60, 260),
            help="your notes on the run, their first line (the Runs page and the Train view show them whole)",
        ),
        **{
            m: st.column_config.NumberColumn(m, format="%.3g", width=80, help=newest_help)
            for m in SUMMARY_METRICS
        },
        "newest @": st.column_config.TextColumn(
            "newest @",
            width=text_column_width(summary["newest @"], 80, 200),
            help="the values left of this that are not of the run's last row (a diverged run's last finite "
            "g_loss), with the step each is of",
        ),
        "quality": st.column_config.TextColumn(
            "quality",
            width=110,
            help="the run's headline quality metric, as the Runs page picks it: the first it measured of "
            + ", ".join(HEADLINE_QUALITY),
        ),
        "latest": st.column_config.NumberColumn(
            "latest", format=QUALITY_FORMAT, width=70, help="its latest evaluation (its step: latest @)"
        ),
        "latest @": st.column_config.NumberColumn("@ step", format="localized", width=70),
        "best": st.column_config.NumberColumn(
            "best",
            format=QUALITY_FORMAT,
            width=70,
            help="its best evaluation (its step: best @): the lowest fid, fd_cls or grid_js, the most modes "
            "or classes covered, the diversity nearest the real data's 1.0",
        ),
        "best @": st.column_config.NumberColumn("@ step", format="localized", width=70),
        "flags raised": st.column_config.TextColumn(
            "flags raised", width=200, help="every flag raised during the run, cleared since or not"
        ),
        **{
            field: (
                st.column_config.NumberColumn(
                    field, format="%.6g", width=text_column_width([field], 60, 160), help=setting_help
                )
                if pd.api.types.is_float_dtype(summary[field])
                else st.column_config.TextColumn(
                    field,
                    width=text_column_width([field, *summary[field].astype(str)], 60, 160),
                    help=setting_help,
                )
            )
            for field in swept.columns
        },
    },
)
restyled = [run_id for run_id, dash in dashes.items() if dash != "solid"]
if restyled:  # a colour named twice in the table: which of the two is which line
    st.caption(
        f"More runs than colours ({len(charts.PALETTE)}): their lines take the colours again, "
        + ", ".join(f"{literal(run_id)} {dashes[run_id]}" for run_id in restyled)
        + " (as in the charts' legends)."
    )


def keep_zoom(steps: tuple[float, float] | None) -> None:
    st.session_state[ZOOM_KEY] = steps


# Zoomed on a range of steps (the step charts report it: `live_chart`'s on_zoom), that range drawn from as
# many points as the whole, as finely as each run's summary keeps it (the time axis draws the whole)
zoomed = st.session_state.get(ZOOM_KEY) if x_axis == "step" else None
# One resolution for the runs (`shared_rows_per_point`): a branch's rows shared with its parent drawn as
# the same points as the parent's
rows_per_point = shared_rows_per_point({run_id: view.store for run_id, view in views.items()}, CHART_POINTS)
downsampled = {
    run_id: view.store.view(CHART_POINTS, nonfinite=True, steps=zoomed, rows_per_point=rows_per_point[run_id])
    for run_id, view in views.items()
}
events = {run_id: view.events for run_id, view in views.items()}
losses = {run_id: view.loss for run_id, view in views.items()}  # smoothed as each run trains
# class-conditional: a built-in run's conditioning, a loop's n_classes (some metrics mean another thing)
conditional = {
    run_id: view.cfg.is_conditional if view.cfg is not None else view.meta.n_classes > 0
    for run_id, view in views.items()
}
# Against training time: each run's clock from the view its per-step metrics are drawn from, one unit
# for every chart (they zoom together)
time_axis = None
if x_axis == "time":
    time_axis = charts.compare_time_axis(
        {run_id: charts.compare_clock(view.store, downsampled[run_id]) for run_id, view in views.items()}
    )
unit = time_axis.unit if time_axis is not None else ""
x_group = STEP_AXES if time_axis is None else TIME_AXES.format(unit=unit)
chart_prefix = CHART_KEYS[x_axis].format(unit=unit)
for i, metric in enumerate(metrics):
    if i % 2 == 0:  # a row of two: charts side by side start level, whatever their legends' heights
        columns = st.columns(2)
    # a quality metric from each run's evaluations at their own steps, the others from the run's view
    frames = {
        run_id: charts.compare_view(view.store, metric, downsampled[run_id]) for run_id, view in views.items()
    }
    fig = charts.compare_figure(
        frames,
        metric,
        smoothing=smoothing,
        log_y=charts.compare_log_y(metric, log_y),
        events=events,
        colors=colors,
        dashes=dashes,
        statuses=statuses,
        fit_outliers=fit_outliers,
        time_axis=time_axis,
    )
    with columns[i % 2]:
        # drawn as the Train view's charts are (`live_chart`): the legend's rows and the title fitted to
        # the width the chart is drawn at, the chart an image to a screen reader, its newest values said;
        # the key the metric's own (a run's own metric may be named anything `gan_core.track` takes)
        # a zoom on steps (or times) in one chart zooms them all to those (a double-click: all whole again)
        live_chart(
            fig,
            chart_key(chart_prefix, metric),
            x_group=x_group,
            on_zoom=keep_zoom if time_axis is None else None,
            zoomed=zoomed is not None,
            legend_group=RUN_LEGENDS,  # a run hidden in one chart's legend is hidden in all of them
        )
        off_axis = charts.compare_off_axis_note(fig)  # (run ids are folder names: shown as text)
        untimed = charts.compare_untimed_note(fig)
        sizes = charts.compare_sample_size_note(metric, events)  # (names runs: as text too)
        for note in (
            literal(off_axis) if off_axis else None,
            literal(untimed) if untimed else None,
            charts.compare_scale_note(metric, losses),
            literal(sizes) if sizes else None,
            # (of the runs that measured it: one "(not measured)" in the legend is no part of it)
            charts.compare_conditioning_note(metric, conditional, frames),
        ):
            if note:
                st.caption(note)


def sample_figure(view: RunView, step: int):
    """The run's snapshot nearest ``step`` as the Train view draws it, or a line saying why there is none."""
    nearest = view.nearest_snapshot_step(step)
    if nearest is None:
        return "no snapshot yet"
    try:
        found = view.snapshot(nearest)
    except RunDirError as exc:  # a damaged file: this run's picture cannot be shown, the others can
        return f"snapshot unreadable: {literal(exc)}"
    if found is None:
        return "no snapshot yet"
    shown, snap = found
    midpoint = view.midpoint
    try:
        return charts.snapshot_figure(
            snap,
            view.real_view(),
            midpoint=midpoint,
            threshold=view.threshold,
            title=f"step {shown}",
            height=SAMPLES_HEIGHT,
            row_labels=view.grid_labels(snap).rows if "grid" in snap else None,
        )
    except ValueError as exc:
        return f"snapshot unreadable: the one at step {shown}: {exc}"


st.subheader("Samples")
snapshot_steps = sorted({step for view in views.values() for step in view.snapshot_steps()})
if not snapshot_steps:
    st.caption("No snapshots yet in the chosen runs.")
else:
    # The step chosen outlives a run that does not draw the slider (no runs chosen, one snapshot), whose
    # state Streamlit then drops: given back to it when drawn again (kept under a key of the page's own,
    # as the slider's key changes when the page moves it: `steady_select_slider`). Other runs chosen: the
    # newest step (a longer run added, the slider stayed where it was, short of the new run's end).
    kept = st.session_state.get(SAMPLE_STEP_KEY)
    runs_before = st.session_state.get(SAMPLE_RUNS_KEY)
    st.session_state[SAMPLE_RUNS_KEY] = sorted(views)
    if len(snapshot_steps) > 1:
        sample_step = steady_select_slider(
            "Samples at step",
            snapshot_steps,
            "cmp_sample_step",
            reset_to=kept if kept in snapshot_steps else snapshot_steps[-1],
            move_to=snapshot_steps[-1] if runs_before not in (None, sorted(views)) else None,
            help="Each run's saved snapshot nearest this step (runs save them every sample_every steps).",
        )
        st.session_state[SAMPLE_STEP_KEY] = sample_step
    else:
        sample_step = snapshot_steps[0]
    # One panel per run in as many equal columns as the page's width fits (`chart_grid_style`, as the Train
    # view lays out its quality charts), each wide enough for a snapshot's fixed texts
    # (`charts.SAMPLE_PANEL_MIN_PX`): three to a row at 1440 px as before, never squeezed to the width a
    # fixed three columns left them at 1024 or 768 px (the colour bar's title and the notes under the plot
    # cut, the legend reading "gen"); their plots lined up.
    box = st.container(horizontal=True, key=SAMPLES_GRID)
    for i, (run_id, view) in enumerate(views.items()):
        panel = box.container(key=f"cmp_sample_panel_{i}")
        # the run's name in its charts' colour (a run id is letters, digits, . _ -), on one line: a long
        # id is cut short with an ellipsis (whole on hover), so that every run's samples start level
        name = html.escape(run_id)
        panel.markdown(
            f'<div title="{name}" style="white-space:nowrap;overflow:hidden;text-overflow:ellipsis">'
            f"{line_swatch(*styles[run_id])} {name}</div>",
            unsafe_allow_html=True,
        )
        figure = sample_figure(view, sample_step)
        if isinstance(figure, str):
            panel.caption(figure)
        else:
            with panel:
                live_chart(figure, f"cmp_samples_{i}", row_group=SAMPLES_GRID)
    st.html(f"<style>{chart_grid_style(SAMPLES_GRID, charts.SAMPLE_PANEL_MIN_PX)}</style>")

st.subheader("Settings that differ")
st.caption(
    "Each run's settings in force now: a run the dashboard trains, its config with the mid-run changes it "
    "applied or resumed with; your own loop's run, what it recorded (the optimizer settings of its last "
    "step; steps, sample_every, eval_every and seed given to gan_core.track), then the hyperparameters it "
    "was given (config.NAME: one that says otherwise than what was recorded). A setting that differs "
    f"between the runs that have it is listed here, {ABSENT} where a run has none; each run's (status) "
    "leads when the runs' differ or one has not finished."
)
# The field names whole (the index column is as narrow as a value otherwise), at 7.5 px a character.
field_width = min(
    max(int(max((len(k) for k in [*differing.index, *partial.index]), default=5) * 7.5) + 24, 80), 320
)
# pinned: ten runs' columns scroll sideways past it
field_column = {"_index": st.column_config.TextColumn("field", width=field_width, pinned=True)}


if len(views) < 2:
    st.caption("Choose two or more runs to see what differs.")
elif differing.empty:
    st.caption(
        "No setting differs between the runs that have it (they may differ in mid-run changes: see each "
        "run's events)."
    )
else:
    st.dataframe(
        differing,
        key="cmp_diff",
        column_config=field_column,
        height=table_height(len(differing), SETTINGS_ROWS),
    )
if len(views) >= 2 and not partial.empty:
    with st.expander(f"Settings only some of these runs have ({len(partial)})"):
        st.caption(
            f"The same wherever set, {ABSENT} where a run has no such setting (a built-in run's and your own "
            "loop's differ)."
        )
        st.dataframe(
            partial,
            key="cmp_partial",
            column_config=field_column,
            height=table_height(len(partial), SETTINGS_ROWS),
        )

lineage = pd.DataFrame(
    [
        {
            "run": run_id,
            "parent": view.parent or "",
            # text, blank for a run that is no branch (a column of "" and ints fails Arrow's conversion)
            "parent_step": "" if view.parent_step is None else str(view.parent_step),
        }
        for run_id, view in views.items()
    ]
)
if (lineage["parent"] != "").any():
    st.subheader("Lineage")
    st.caption("A branch's curves are its parent's up to the step it was branched at.")
    st.dataframe(
        lineage,
        key="cmp_lineage",
        hide_index=True,
        column_config={"parent_step": st.column_config.TextColumn("from step")},
    )
