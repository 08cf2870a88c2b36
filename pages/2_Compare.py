"""Compare: overlay chosen runs' metrics on shared axes with each run's flags, show their samples side by
side at a chosen step, list the config fields that differ, and show which runs were branched from which
(a branch shares its parent's curves up to the branch step)."""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from ui.starting import engine_loading

st.set_page_config(page_title="GAN dashboard — Compare", page_icon="⚔️", layout="wide")

with engine_loading():
    from gan_core.app import (
        STEP_METRICS,
        RunDirError,
        RunView,
        charts,
    )
    from ui.common import literal, open_view, readable_run_ids, run_banners

CHART_POINTS = 600
SAMPLES_PER_ROW = 3
SAMPLES_HEIGHT = 360
DEFAULT_METRICS = ["d_loss", "g_loss", "d_acc_real", "d_acc_fake"]
ABSENT = "—"  # a config field one compared run has and another has not

st.title("Compare runs")

run_ids = readable_run_ids()
if len(run_ids) < 1:
    st.info("No runs yet to compare.")
    st.stop()
chosen = st.multiselect("Runs", run_ids, default=run_ids[: min(2, len(run_ids))], key="cmp_runs")
metrics_box = st.container()  # the picker offers the chosen runs' own metrics too: filled once they are open
opts = st.container(horizontal=True)
smoothing = opts.slider("EMA smoothing", 0.0, 0.99, 0.6, 0.01, key="cmp_smoothing", width=280)
log_y = opts.toggle("log scale", key="cmp_log")

views = {}
for run_id in chosen:
    view = open_view(run_id)
    if view is not None:
        views[run_id] = view
        run_banners(view, prefix=f"{literal(run_id)}: ", failed=False)
custom = list(dict.fromkeys(c for view in views.values() for c in view.custom_columns))
metrics = metrics_box.multiselect(
    "Metrics",
    [*STEP_METRICS, *custom],
    default=DEFAULT_METRICS,
    key="cmp_metrics",
    help="The schema's metrics, then the chosen runs' own (logged through gan_core.track)",
)
if not views:
    st.stop()

frames = {run_id: view.store.view(CHART_POINTS, nonfinite=True) for run_id, view in views.items()}
events = {run_id: view.events for run_id, view in views.items()}
for i, metric in enumerate(metrics):
    if i % 2 == 0:  # a row of two: charts side by side start level, whatever their legends' heights
        columns = st.columns(2)
    fig = charts.compare_figure(frames, metric, smoothing=smoothing, log_y=log_y, events=events)
    columns[i % 2].plotly_chart(fig, key=f"cmp_chart_{metric}")


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
            snap, view.real_view(), midpoint=midpoint, title=f"step {shown}", height=SAMPLES_HEIGHT
        )
    except ValueError as exc:
        return f"snapshot unreadable: the one at step {shown}: {exc}"


st.subheader("Samples at step")
snapshot_steps = sorted({step for view in views.values() for step in view.snapshot_steps()})
if not snapshot_steps:
    st.caption("No snapshots yet in the chosen runs.")
else:
    if st.session_state.get("cmp_sample_step") not in snapshot_steps:  # new runs chosen: the newest
        st.session_state["cmp_sample_step"] = snapshot_steps[-1]
    sample_step = (
        st.select_slider(
            "Samples at step",
            options=snapshot_steps,
            key="cmp_sample_step",
            help="Each run's saved snapshot nearest this step (runs save them every sample_every steps).",
        )
        if len(snapshot_steps) > 1
        else snapshot_steps[0]
    )
    for row_start in range(0, len(views), SAMPLES_PER_ROW):
        row = list(views.items())[row_start : row_start + SAMPLES_PER_ROW]
        for offset, (column, (run_id, view)) in enumerate(zip(st.columns(SAMPLES_PER_ROW), row)):
            column.caption(literal(run_id))
            figure = sample_figure(view, sample_step)
            if isinstance(figure, str):
                column.caption(figure)
            else:
                column.plotly_chart(figure, key=f"cmp_samples_{row_start + offset}")

st.subheader("Config fields that differ")
st.caption(
    "Each run's settings in force now: its config with the mid-run changes it applied or resumed with."
)
# Every run: who recorded it and its loss (run.json's, so a tracked run and a built-in one compare on
# the same rows); then a run the dashboard trained: its config with the changes in force (its loss is
# the row above); a user's own: its free-form hyperparameters.
configs = {
    run_id: {
        "(source)": view.meta.source,
        "(loss)": view.meta.loss,
        **(
            {k: v for k, v in {**view.cfg.to_dict(), **view.hparams}.items() if k != "loss"}
            if view.owned
            else view.meta.hparams
        ),
    }
    for run_id, view in views.items()
}
# Nested values as JSON text (a list or a dict in a user's config compares as its text), None as JSON's
# null, and a field a run does not have as ABSENT.
fields = list(dict.fromkeys(k for config in configs.values() for k in config))
table = pd.DataFrame(
    {
        run_id: [
            json.dumps(v) if isinstance(v, dict | list) or v is None else v
            for v in (config.get(k, ABSENT) for k in fields)
        ]
        for run_id, config in configs.items()
    },
    index=fields,
    dtype=object,
)
differing = table[table.nunique(axis=1, dropna=False) > 1] if len(views) > 1 else table.iloc[0:0]
if len(views) < 2:
    st.caption("Choose two or more runs to see what differs.")
elif differing.empty:
    st.caption("Same configuration (they may differ in mid-run changes: see each run's events).")
else:
    st.dataframe(differing.astype(str), key="cmp_diff")

lineage = pd.DataFrame(
    [
        {
            "run": run_id,
            "parent": view.parent or "",
            "parent_step": "" if view.parent_step is None else view.parent_step,
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
