"""Compare: overlay chosen runs' metrics on shared axes, list the config fields that differ, and show
which runs were branched from which (a branch shares its parent's curves up to the branch step)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from gan_core import charts
from gan_core.registry import RegistryError
from gan_core.rundir import RunDirError
from gan_core.trainer import RECORD_COLUMNS
from ui.common import literal, readable_run_ids, registry

CHART_POINTS = 600
DEFAULT_METRICS = ["d_loss", "g_loss", "d_acc_real", "d_acc_fake"]

st.set_page_config(page_title="GAN dashboard — Compare", page_icon="⚔️", layout="wide")
st.title("Compare runs")

run_ids = readable_run_ids()
if len(run_ids) < 1:
    st.info("No runs yet to compare.")
    st.stop()
chosen = st.multiselect("Runs", run_ids, default=run_ids[: min(2, len(run_ids))], key="cmp_runs")
metrics = st.multiselect(
    "Metrics", [c for c in RECORD_COLUMNS if c != "step"], default=DEFAULT_METRICS, key="cmp_metrics"
)
opts = st.container(horizontal=True)
smoothing = opts.slider("EMA smoothing", 0.0, 0.99, 0.6, 0.01, key="cmp_smoothing", width=280)
log_y = opts.toggle("log scale", key="cmp_log")

views = {}
for run_id in chosen:
    try:
        views[run_id] = registry().view(run_id)
    except (RunDirError, RegistryError) as exc:
        st.error(f"Run {literal(repr(run_id))} cannot be opened: {literal(exc)}")
        continue
    for problem in views[run_id].problems:  # what its files have wrong: the run is shown without it
        st.warning(f"{literal(run_id)}: {literal(problem)}", icon="⚠️")
if not views:
    st.stop()

frames = {run_id: view.store.view(CHART_POINTS) for run_id, view in views.items()}
columns = st.columns(2)
for i, metric in enumerate(metrics):
    fig = charts.compare_figure(frames, metric, smoothing=smoothing, log_y=log_y)
    columns[i % 2].plotly_chart(fig, key=f"cmp_chart_{metric}")

st.subheader("Config fields that differ")
configs = {run_id: view.cfg.to_dict() for run_id, view in views.items()}
table = pd.DataFrame(configs)
differing = table[table.nunique(axis=1, dropna=False) > 1] if len(views) > 1 else table.iloc[0:0]
if len(views) < 2:
    st.caption("Choose two or more runs to see what differs.")
elif differing.empty:
    st.caption("Same configuration (they may differ in mid-run changes: see each run's events).")
else:
    st.dataframe(differing.astype(str), key="cmp_diff")

lineage = pd.DataFrame(
    [
        {"run": run_id, "parent": view.parent or "", "parent_step": view.parent_step}
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
        column_config={"parent_step": st.column_config.NumberColumn("from step")},
    )
