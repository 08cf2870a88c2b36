"""Runs: every run in the runs folder, with its size and lineage; open one in the Train view, resume it,
branch a new run from one of its checkpoints, export it, or delete it."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from gan_core.config import DEVICE_CHOICES
from gan_core.registry import RegistryError
from gan_core.rundir import RunDirError
from ui.common import (
    CONTINUE_ERRORS,
    download_buttons,
    literal,
    registry,
    resume_run,
    run_data,
    runs_root,
    watch,
)

st.set_page_config(page_title="GAN dashboard — Runs", page_icon="⚔️", layout="wide")
st.title("Runs")
st.caption(f"Runs folder: {literal(runs_root())} (set GAN_DASHBOARD_RUNS to use another)")

if st.session_state.pop("_runs_to_train", False):  # a run was resumed or branched: watch it train
    st.switch_page("dashboard.py")
flash = st.session_state.pop("_runs_flash", None)
if flash:
    getattr(st, flash[0])(flash[1])

rows = registry().summaries(unreadable=True)
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
    # lineage and size up front, where they are seen without scrolling
    column_order=[
        "run_id",
        "status",
        "step",
        "steps",
        "parent",
        "parent_step",
        "size_mb",
        "dataset",
        "model",
        "loss",
        "flags",
        "flags_raised",
        "error",
        "problems",
        "created",
    ],  # fmt: skip
    column_config={
        "size_mb": st.column_config.NumberColumn("size (MB)", format="%.2f"),
        "step": st.column_config.NumberColumn("step"),
        "steps": st.column_config.NumberColumn("target steps", help="0 = until stopped"),
        "parent": st.column_config.TextColumn("parent", help="the run this one was branched from"),
        "parent_step": st.column_config.NumberColumn("from step", help="the parent's step it branched at"),
        "flags": st.column_config.TextColumn("flags up", help="flags up now, or when the run ended"),
        "flags_raised": st.column_config.TextColumn(
            "flags raised", help="every flag raised during the run, cleared since or not"
        ),
        "problems": st.column_config.TextColumn(
            "problems", help="what its status.json has wrong: the run is shown without it"
        ),
    },
)
selected_rows = picked.selection.rows if picked is not None else []
run_ids = table["run_id"].tolist()
default = run_ids[selected_rows[0]] if selected_rows else run_ids[0]
run_id = st.selectbox("Run", run_ids, index=run_ids.index(default), key="runs_pick")


def open_in_train(run_id: str) -> None:
    watch(run_id)


def chosen_device() -> dict[str, str]:
    """Where Resume and Rewind train: this page's device menu (auto by default, whatever the run trained
    on before: a run trained on a GPU goes on on a CPU)."""
    return {"device": st.session_state.get("runs_device", "auto")}


def resume(run_id: str) -> None:
    error = resume_run(run_id, chosen_device())
    if error:
        st.session_state["_runs_flash"] = ("error", error)
    else:
        st.session_state["_runs_to_train"] = True


def branch(run_id: str) -> None:
    step, steps = st.session_state["runs_branch_step"], st.session_state["runs_branch_steps"]
    try:
        changes = {"steps": int(steps), **chosen_device()}
        runner = registry().branch(run_id, step, changes, data=run_data(run_id, changes))
    except CONTINUE_ERRORS as exc:
        st.session_state["_runs_flash"] = (
            "error",
            f"Cannot branch {literal(run_id)} at step {step}: {literal(exc)}",
        )
        return
    watch(runner.run_id)
    st.session_state["_runs_to_train"] = True


def delete(run_id: str) -> None:
    try:
        registry().delete(run_id)
        st.session_state["_runs_flash"] = ("success", f"Deleted run {literal(run_id)}.")
        if st.session_state.get("run_id") == run_id:
            watch(None)
    except (RegistryError, RunDirError) as exc:
        st.session_state["_runs_flash"] = ("error", literal(exc))


def delete_popover(where) -> None:
    with where.popover("Delete", key="runs_delete_pop"):
        st.write(f"Delete run **{literal(run_id)}** and all its files? This cannot be undone.")
        st.button("Delete for good", key="runs_delete", type="primary", on_click=delete, args=(run_id,))


try:
    view = registry().view(run_id)
except (RunDirError, RegistryError) as exc:
    st.error(f"Run {literal(repr(run_id))} cannot be opened: {literal(exc)}")
    delete_popover(st)  # an unreadable folder can still be removed from here
    st.stop()
if view.status == "failed" and view.error:
    st.error(f"The run failed: {literal(view.error)}")
for problem in view.problems:  # what its files have wrong: the run is shown without it
    st.warning(literal(problem), icon="⚠️")

actions = st.container(horizontal=True)
if actions.button(
    "Open in Train view", key="runs_open", type="primary", on_click=open_in_train, args=(run_id,)
):
    st.switch_page("dashboard.py")
if view.status in ("interrupted", "stopped", "failed"):
    actions.button(
        "Resume",
        key="runs_resume",
        on_click=resume,
        args=(run_id,),
        disabled=not view.checkpoint_steps(),
        help="Continue this run from its latest checkpoint; the rows after it are replaced"
        if view.checkpoint_steps()
        else "This run has no checkpoint to continue from",
    )
kept = view.checkpoint_steps()
with actions.popover("Rewind / branch", key="runs_branch_pop", disabled=not kept):
    st.write(
        f"Start a new run from a kept checkpoint of **{literal(run_id)}**, with its history up to there. "
        "This run stays as it is."
    )
    st.selectbox(
        "From the checkpoint at", kept[::-1], key="runs_branch_step", format_func=lambda s: f"step {s}"
    )
    st.number_input(
        "steps",
        min_value=0,
        value=view.cfg.steps,
        step=500,
        key="runs_branch_steps",
        help="G updates the new run trains to; 0 = until stopped",
    )
    st.button("Branch", key="runs_branch", type="primary", on_click=branch, args=(run_id,))
actions.selectbox(
    "device",
    DEVICE_CHOICES,
    key="runs_device",
    label_visibility="collapsed",
    format_func=lambda device: f"device: {device}",
    width=150,
    help="Where Resume and Rewind / branch train this run: auto (a GPU if there is one), or a device named. "
    "A run trained on one device goes on on any other.",
)
download_buttons(actions, view, "runs_dl_")
delete_popover(actions)

if view.parent:
    st.markdown(f"Branched from **{literal(view.parent)}** at step {view.parent_step}.")
children = [r for r in rows if r["parent"] == run_id]
if children:
    st.markdown(
        "Branches: " + ", ".join(f"**{literal(r['run_id'])}** at step {r['parent_step']}" for r in children)
    )
with st.expander("Configuration"):
    st.json(view.cfg.to_dict(), expanded=False)
events = pd.DataFrame(view.events)
if len(events):
    with st.expander(f"Events ({len(events)})"):
        st.dataframe(events, hide_index=True, key="runs_events")
