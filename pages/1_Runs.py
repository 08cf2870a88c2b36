"""Runs: every run in the runs folder; open one in the Train view, export it, or delete it."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from gan_core.registry import RegistryError
from gan_core.rundir import RunDirError
from ui.common import download_buttons, registry, runs_root, watch

st.set_page_config(page_title="GAN dashboard — Runs", page_icon="⚔️", layout="wide")
st.title("Runs")
st.caption(f"Runs folder: `{runs_root()}` (set GAN_DASHBOARD_RUNS to use another)")

flash = st.session_state.pop("_runs_flash", None)
if flash:
    getattr(st, flash[0])(flash[1])

rows = registry().summaries()
if not rows:
    st.info("No runs yet: press Start in the Train view, or train one with `python -m gan_core train`.")
    st.stop()

table = pd.DataFrame(rows)
picked = st.dataframe(
    table,
    key="runs_table",
    hide_index=True,
    on_select="rerun",
    selection_mode="single-row",
    column_config={
        "size_mb": st.column_config.NumberColumn("size (MB)", format="%.2f"),
        "step": st.column_config.NumberColumn("step"),
        "steps": st.column_config.NumberColumn("target steps", help="0 = until stopped"),
    },
)
selected_rows = picked.selection.rows if picked is not None else []
run_ids = table["run_id"].tolist()
default = run_ids[selected_rows[0]] if selected_rows else run_ids[0]
run_id = st.selectbox("Run", run_ids, index=run_ids.index(default), key="runs_pick")


def open_in_train(run_id: str) -> None:
    watch(run_id)


def delete(run_id: str) -> None:
    try:
        registry().delete(run_id)
        st.session_state["_runs_flash"] = ("success", f"Deleted run {run_id}.")
        if st.session_state.get("run_id") == run_id:
            watch(None)
    except (RegistryError, RunDirError) as exc:
        st.session_state["_runs_flash"] = ("error", str(exc))


try:
    view = registry().view(run_id)
except (RunDirError, RegistryError) as exc:
    st.error(f"Run {run_id!r} cannot be opened: {exc}")
    st.stop()

actions = st.container(horizontal=True)
if actions.button(
    "Open in Train view", key="runs_open", type="primary", on_click=open_in_train, args=(run_id,)
):
    st.switch_page("dashboard.py")
download_buttons(actions, view, "runs_dl_")
with actions.popover("Delete", key="runs_delete_pop"):
    st.write(f"Delete run **{run_id}** and all its files? This cannot be undone.")
    st.button("Delete for good", key="runs_delete", type="primary", on_click=delete, args=(run_id,))

with st.expander("Configuration"):
    st.json(view.cfg.to_dict(), expanded=False)
events = pd.DataFrame(view.events)
if len(events):
    with st.expander(f"Events ({len(events)})"):
        st.dataframe(events, hide_index=True, key="runs_events")
