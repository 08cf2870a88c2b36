"""Runs: every run in the runs folder, with its size and lineage; open one in the Train view, resume it,
branch a new run from one of its checkpoints (with other mid-run settings: "what if"), export it, or
delete it."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import streamlit as st

from ui.starting import engine_loading, through_the_router

through_the_router()  # before anything is drawn: a first visit by the page's address
st.set_page_config(page_title="GAN dashboard — Runs", page_icon="⚔️", layout="wide")

with engine_loading():
    from gan_core.app import (
        ABSENT,
        DEVICE_CHOICES,
        HEADLINE_QUALITY,
        MUTABLE_FIELDS,
        ConfigError,
        RegistryError,
        RunDirError,
        RunView,
        UploadsError,
        delete_upload,
        field_docs,
        filter_hint,
        filter_runs,
        get_loss,
        headline_evaluation,
        list_uploads,
        listing_settings,
        notes_line,
        upload_of,
    )
    from ui.common import (
        ACTED_KEY,
        COMPARE_PAGE,
        CONTINUE_ERRORS,
        acted,
        address_problem,
        address_run,
        download_buttons,
        environment_table,
        go_to_train,
        hparams_table,
        listing_changes_text,
        literal,
        misnamed_caption,
        no_checkpoint_note,
        notes_popover,
        open_view,
        registry,
        resume_run,
        run_banners,
        run_column_width,
        run_data,
        runs_root,
        setting_format,
        show_flash,
        table_height,
        text_column_width,
        theme_type,
        training_now_text,
        watch,
    )
    from ui.sidebar import form_values, number_step, refused_number_message, watch_refused_numbers


def delete_uploads(names: list[str]) -> None:
    """Remove the chosen uploads no run uses; the outcome is shown above the table."""
    freed, refused = 0, []
    for name in names:
        try:
            freed += delete_upload(runs_root(), name, keep=[form_values().get("data_path") or ""])
        except UploadsError as exc:
            refused.append(str(exc))
    done = len(names) - len(refused)
    text = f"Removed {done} upload{'s' if done != 1 else ''} ({size_text(freed)} freed)." if done else ""
    if refused:
        st.session_state["_runs_flash"] = ("error", literal(" ".join([text, *refused]).strip()))
    else:
        st.session_state["_runs_flash"] = ("success", text)


def size_text(size_bytes: int) -> str:
    """Bytes as people read them: 940 B, 4.7 kB, 12.3 MB, 1.2 GB (powers of 1,000)."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if size_bytes >= scale:
            return f"{size_bytes / scale:.1f} {unit}"
    return f"{size_bytes} B"


def uploads_section() -> None:
    """The data uploaded through the sidebar (runs folder/.uploads): each upload's size and the runs that
    use it, and the removal of those no run uses (`gan_core.uploads`)."""
    uploads = list_uploads(runs_root())
    if not uploads:
        return
    total = sum(u.size_bytes for u in uploads)
    unused = [u for u in uploads if not u.used_by]
    with st.expander(f"Uploaded data ({len(uploads)}, {size_text(total)}; {len(unused)} used by no run)"):
        st.caption(
            "Each CSV or ZIP sent through the sidebar is kept here: a run loads its data again to resume or "
            "branch. One no run uses can be removed; one a run uses is kept until the runs that use it are "
            "deleted (deleting a run leaves its upload here)."
        )
        table = pd.DataFrame(
            [
                {
                    "upload": u.name,
                    "kind": u.kind,
                    "files": u.files,
                    "size": size_text(u.size_bytes),
                    "uploaded": dt.datetime.fromtimestamp(u.modified).astimezone(),
                    "used_by": ", ".join(u.used_by),
                }
                for u in uploads
            ]
        )
        st.dataframe(table, hide_index=True, key="runs_uploads")
        held = [u.name for u in unused if u.name == upload_of(runs_root(), form_values().get("data_path"))]
        if held:
            st.caption(f"Kept: {literal(held[0])} is the data the sidebar's form uses now (data_path).")
        names = [u.name for u in unused if u.name not in held]
        if names:
            chosen = st.multiselect("Uploads to remove", names, key="runs_uploads_chosen")
            st.button(
                "Remove",
                key="runs_uploads_remove",
                disabled=not chosen,
                on_click=acted(delete_uploads),
                args=(chosen,),
                help="Removes the chosen uploads' files for good.",
            )


SETTING_HELP = (
    "a setting that differs between the runs listed (the first few; any setting is found by the filter: "
    "lr_g=1e-3)"
)
LISTING_CHECK_SECONDS = 2.0  # how often the page looks for runs new, gone or moved on (`listing_changes`)

st.title("Runs")
st.caption(f"Runs folder: {literal(runs_root())} (set GAN_DASHBOARD_RUNS to use another)")
misnamed_caption()  # runs no page can open: said, not left out without a word

TO_TRAIN_KEY = "_runs_to_train"  # set by Resume and Branch: the next draw goes to the Train view
if st.session_state.pop(TO_TRAIN_KEY, False):  # a run was resumed or branched: watch it train
    go_to_train()
show_flash("_runs_flash")  # drawn until the next click (`show_flash`)
st.session_state.pop(ACTED_KEY, None)  # this run draws what every click so far did (`listing_changes`)


# (the address's run, the run shown in its place): the page says why while it shows that run
ADDRESS_INSTEAD_KEY = "_runs_address_instead"
# The table's rows in view at once (more scroll inside it)
RUNS_TABLE_ROWS = 14
STYLED_ROWS = 1_000  # the rows up to which the run ids are drawn darker (a Styler's cost grows with them)
# The run ids of the table last drawn, and how many times they changed in this session with the rows
# ticked in the table drawn for the last change (`picked`)
TABLE_IDS_KEY = "_runs_table_ids"
TABLE_GENERATION_KEY = "_runs_table_generation"


def listing_changes(shown: dict[str, str]) -> None:
    """What changed in the runs folder since the table was drawn (``shown``: run id -> status): runs
    new or gone (a script or a terminal started one), statuses that moved on, with a button that draws
    the list again. Checked every `LISTING_CHECK_SECONDS`; the table itself is not redrawn under the
    user's pointer (its ticked row would move with the rows). A click that came with this check (a
    Resume, a Branch, a Delete: `ui.common.acted`) gets the whole page drawn again, as it would have."""
    if st.session_state.get(ACTED_KEY):  # its callback ran, but only this check would be redrawn
        st.rerun(scope="app")
    now = registry().statuses()
    # The table's step column is as drawn; the runs training now move on, said here as they go.
    training = training_now_text(
        registry().steps_now(run_id for run_id, state in now.items() if state == "running")
    )
    said = listing_changes_text(shown, now)
    if said is None and training is None:
        return
    with st.container(horizontal=True, vertical_alignment="center"):
        # the button beside the words, not at the right edge, where the table's toolbar (shown while the
        # pointer is over the table) is drawn over it; offered while runs train too, whose steps in the
        # table stay those of when it was drawn (a newcomer read the two steps as a fault)
        with st.container(width="content"):
            if training:
                st.caption(training, width="content")
            if said:
                st.caption(said, width="content")
        if st.button(
            "Refresh the list",
            key="runs_refresh",
            icon=":material/refresh:",
            help="Draw the table again: its steps and statuses are those of when it was drawn",
        ):
            st.rerun(scope="app")


rows = registry().summaries(unreadable=True)
address_said = st.empty()  # why the run the address names is not the one shown (`address_problem`)
if not rows:
    problem = address_problem([])
    if problem:
        address_said.error(problem, icon=":material/link_off:")
    st.info("No runs yet: press Start in the Train view, or train one with `python -m gan_core train`.")
    st.fragment(listing_changes, run_every=LISTING_CHECK_SECONDS)({})
    uploads_section()
    st.stop()

st.fragment(listing_changes, run_every=LISTING_CHECK_SECONDS)({row["run_id"]: row["status"] for row in rows})
all_ids = [row["run_id"] for row in rows]
# A week of runs: the grid's own search only highlights; this keeps the runs that match, in the table and
# in the menu under it (a run the filter hides was shown below the table, which read as a bug: two reviews)
wanted = st.text_input(
    "Filter runs",
    key="runs_filter",
    placeholder="words in a run's id, status, dataset, model, loss, flags or notes, or settings: "
    "lr_g=1e-3 seed!=0 lr_d<1e-3 (all must match)",
)
shown_rows = filter_runs(rows, wanted)
if not shown_rows:  # (no table of every run under it: that read as the filter's result)
    st.warning(
        f"No run of the {len(rows)} matches {literal(wanted.strip())}. {literal(filter_hint(rows, wanted))}",
        icon=":material/filter_alt_off:",
    )
    uploads_section()
    st.stop()
if len(shown_rows) < len(rows):
    st.caption(f"{len(shown_rows)} of {len(rows)} runs match.")
shown_ids = [row["run_id"] for row in shown_rows]
# (each run's latest row and evaluation in full are for programs: `python -m gan_core runs --json`)
table = pd.DataFrame(shown_rows)
# The latest evaluation's headline metric, its value (a number: a sweep's runs sort by it) and its step
names, values, steps = zip(*(headline_evaluation(row["last_eval"]) for row in shown_rows))
table["quality"] = list(names)
table["quality_value"] = pd.array(values, dtype="Float64")
table["quality_step"] = pd.array(steps, dtype="Int64")
table = table.drop(columns=["last", "last_eval", "settings"])
table["notes"] = [notes_line(notes) for notes in table["notes"]]  # (the run picked below: whole)
notes_column = ["notes"] if table["notes"].astype(bool).any() else []  # (a column of blanks: not drawn)
# Beside each run, the settings that differ between the runs listed (a sweep's lr_g, seed, ...: sortable,
# told apart without opening them; the filter narrows them to a sweep's), a setting named as one of the
# table's own columns (a loop's config "status") as "status (setting)"
swept = listing_settings(shown_rows)
swept = swept.rename(columns={c: f"{c} (setting)" for c in swept.columns if c in table.columns})
table = table.join(swept, on="run_id")
# When it was created, in this machine's time zone as the run ids are; a value that is no time is left blank.
created = pd.to_datetime(table["created"], utc=True, errors="coerce", format="ISO8601")
table["created"] = created.dt.tz_convert(dt.datetime.now().astimezone().tzinfo)
# a run that is no branch has no branch step: blank, not "None"
table["parent_step"] = [("" if pd.isna(v) else str(int(v))) for v in table["parent_step"]]


# The run ids darker: Streamlit draws a pinned column's text faded, its own grey at 3.9:1 on white (under
# the 4.5:1 WCAG AA asks of text), the faintest column and the one that names the runs; black, faded so,
# is drawn at (102, 102, 102), 5.7:1 (and white on the dark theme's background)
# (a Styler costs about 0.1 s a thousand rows at every draw: past `STYLED_ROWS` the ids stay as drawn)
run_text = "#ffffff" if theme_type() == "dark" else "#000000"
styled = table.style.map(lambda _: f"color: {run_text}", subset=["run_id"])
# Ticks are kept by run, not by row: Streamlit keeps a table's ticked row positions when its rows change,
# so a run made or deleted (then "Refresh the list") moved every tick onto another run, and the Compare
# link and the menu below with them. A list of other runs is a table of its own (its key's generation),
# its ticks those of the runs still in it.
run_ids = table["run_id"].tolist()
if st.session_state.get(TABLE_IDS_KEY) not in (None, run_ids):
    # (the ticks of the new table's first draw, fixed for it: a default that changed from one draw to the
    # next would make it another table at each tick)
    ticks = [run_ids.index(r) for r in st.session_state.get("_runs_ticked", []) if r in run_ids]
    generation = st.session_state.get(TABLE_GENERATION_KEY, (0, []))[0] + 1
    st.session_state[TABLE_GENERATION_KEY] = (generation, ticks)
st.session_state[TABLE_IDS_KEY] = run_ids
generation, kept_ticks = st.session_state.get(TABLE_GENERATION_KEY, (0, []))
picked = st.dataframe(
    styled if len(table) <= STYLED_ROWS else table,
    key=f"runs_table-{generation}" if generation else "runs_table",
    hide_index=True,
    placeholder=ABSENT,  # "—" for a run not evaluated yet (Streamlit's default says "None")
    on_select="rerun",
    selection_default={"selection": {"rows": kept_ticks}} if kept_ticks else None,
    # ticked rows: the last one ticked is the run shown below; two or more are compared with one click
    selection_mode="multi-row",
    # a week's runs in view (the default showed 10 rows of 31 in a 400 px box over an empty half screen)
    height=table_height(len(table), RUNS_TABLE_ROWS),
    # What tells runs apart first, seen without scrolling at 1,440 px: the id, how it stands and its flags
    # up (before the quality and a sweep's settings, which pushed them out of view: a newcomer's review),
    # then when it was made; lineage, size and config after; the long texts last (the run picked below
    # shows its error and problems in full).
    column_order=[
        "run_id",
        "status",
        "step",
        "flags",
        *notes_column,
        "quality",
        "quality_value",
        "quality_step",
        *swept.columns,
        "flags_raised",
        "created",
        "steps",
        "parent",
        "parent_step",
        "size_mb",
        "dataset",
        "model",
        "loss",
        "source",
        "error",
        "problems",
    ],  # fmt: skip
    column_config={
        **{
            name: (
                st.column_config.NumberColumn(name, format=setting_format(swept[name]), help=SETTING_HELP)
                if pd.api.types.is_numeric_dtype(swept[name])
                else st.column_config.TextColumn(name, help=SETTING_HELP)
            )
            for name in swept.columns
        },
        # pinned: a row scrolled sideways to its loss or size still says which run it is (as on Compare)
        "run_id": st.column_config.TextColumn(
            "run", width=run_column_width(table["run_id"].tolist()), pinned=True
        ),
        "status": st.column_config.TextColumn("status", width=80),
        "step": st.column_config.NumberColumn(
            "step",
            # thousands separated (in the browser's locale), as the line above and every page writes a step
            format="localized",
            width=text_column_width((f"{int(step):,}" for step in table["step"] if pd.notna(step)), 55, 120),
            help="the step reached when the table was drawn; a run training now moves on in the line above",
        ),
        "quality": st.column_config.TextColumn(
            "quality",
            width=text_column_width(table["quality"], 60, 120),
            help="the latest evaluation's headline metric: the first measured of "
            + ", ".join(HEADLINE_QUALITY),
        ),
        "quality_value": st.column_config.NumberColumn(
            "value",
            format="%.4g",
            width=70,
            help="its value at that evaluation (lower is better for fid, fd_cls and grid_js; higher for "
            f"the others); a click on the header sorts the runs by it; {ABSENT}: no evaluation yet",
        ),
        "quality_step": st.column_config.NumberColumn(
            "@ step", format="localized", width=65, help="the step of that evaluation"
        ),
        # as wide as their longest list, within bounds ("d_overpowers, vanishin..." was cut at 190 px)
        "flags": st.column_config.TextColumn(
            "flags up",
            width=text_column_width(table["flags"].astype(str), 90, 320),
            help="flags up now, or when the run ended",
        ),
        "notes": st.column_config.TextColumn(
            "notes",
            width=text_column_width(table["notes"], 60, 280),
            help="your notes on the run, their first line (the run picked below shows them whole, and its "
            "Notes button edits them); the filter finds their words",
        ),
        "flags_raised": st.column_config.TextColumn(
            "flags raised",
            width=text_column_width(table["flags_raised"].astype(str), 110, 360),
            help="every flag raised during the run, cleared since or not",
        ),
        "created": st.column_config.DatetimeColumn("created", width=105, format="MMM D HH:mm"),
        "steps": st.column_config.NumberColumn(
            "of steps", format="localized", width=70, help="target steps; 0 = until stopped"
        ),
        "size_mb": st.column_config.NumberColumn("MB", format="%.2f", width=60, help="size on disk"),
        "parent": st.column_config.TextColumn("parent", help="the run this one was branched from"),
        "parent_step": st.column_config.TextColumn("at step", help="the parent's step it branched at"),
        "source": st.column_config.TextColumn(
            "source", help="who trained it: trainer (the dashboard or the CLI), api (your loop), lightning"
        ),
        "problems": st.column_config.TextColumn(
            "problems",
            help="what its files have wrong: a status.json field (the run is shown without it), "
            "metrics.csv rows short of the step status.json says it reached, its header (a column named "
            "twice, misnamed or missing) or events.csv; damage inside its rows is said when it is opened",
        ),
    },
)
selected_rows = picked.selection.rows if picked is not None else []
before = st.session_state.get("_runs_ticked", [])
# the runs ticked: those the filter hides now stay ticked (for Compare), then the table's
ticked = [r for r in before if r in all_ids and r not in run_ids]
ticked += [run_ids[row] for row in selected_rows if row < len(run_ids)]
# A row ticked in the table picks its run below (the menu keeps its own state once drawn, so it is set
# here, before it is drawn); untick it and the menu stays where it is. A run that left the folder (a
# delete) gives way to the newest. (Rows ticked all at once, by the header's box, leave it too.)
newly = [run_id for run_id in ticked if run_id not in before]
if len(newly) == 1:
    st.session_state["runs_pick"] = newly[0]
st.session_state["_runs_ticked"] = ticked
if len(ticked) >= 2:  # (Compare's address names the runs it compares)
    hidden = len(set(ticked) - set(run_ids))
    st.page_link(
        COMPARE_PAGE,
        label=f"Compare the {len(ticked)} ticked runs"
        + (f" ({hidden} of them hidden by the filter)" if hidden else ""),
        icon=":material/compare_arrows:",
        query_params={"runs": ",".join(ticked)},
    )
else:
    st.caption(
        "Tick a run to show it below (or pick it in the menu); tick two or more to compare them. By "
        "keyboard: Tab into the table, the arrow keys to a run's row, Shift+Space ticks it (or unticks it)."
    )
if st.session_state.get("runs_pick") not in shown_ids:  # drawn first: the run the address or the Train
    # view names (a user who watches a run and comes here to branch or export it), else the newest shown
    named = (address_run(), st.session_state.get("run_id"))
    st.session_state["runs_pick"] = next((r for r in named if r in shown_ids), shown_ids[0])
    st.session_state[ADDRESS_INSTEAD_KEY] = (address_run(), st.session_state["runs_pick"])
run_id = st.selectbox("Run", shown_ids, key="runs_pick")
problem = address_problem(all_ids)
if problem and st.session_state.get(ADDRESS_INSTEAD_KEY) == (address_run(), run_id):
    # said above the table while the page shows the run it picked in the named one's place
    watched = run_id == st.session_state.get("run_id")
    instead = "the run the Train view watches" if watched else "the newest run"
    address_said.error(f"{problem} Shown below: {instead}, {literal(run_id)}.", icon=":material/link_off:")


NOTES_INLINE_LINES = 8  # lines of a run's notes shown under its buttons; the rest in an expander


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
        st.session_state[TO_TRAIN_KEY] = True


# The branch form's watcher of numbers its fields hold but the browser will not send (ui.sidebar's
# `REFUSED_KEY` explains): Branch would have made the run with the field's last value, without a word.
BRANCH_REFUSED_KEY = "runs_branch_refused_numbers"


def branch_fields_held() -> dict[str, Any]:
    """The branch form's values as the server has them (field -> value)."""
    return {name: st.session_state.get(f"runs_branch_{name}") for name in MUTABLE_FIELDS}


# Why Branch was refused, shown right under it in the popover (`branch_form`) as a flash (`show_flash`):
# the popover stays open after the click, over the top of the page, where the message went unseen.
BRANCH_FLASH = "_runs_branch_flash"


def branch(run_id: str, step: int, in_force: dict[str, Any]) -> None:
    """Branch from the checkpoint at ``step`` with the settings the user changed from those ``in_force``
    there (only those are passed), on the device menu's device. A refusal is said beside Branch; the
    form keeps its values, to be corrected."""
    refused = refused_number_message(BRANCH_REFUSED_KEY, branch_fields_held())
    if refused:  # (the browser stops the click too; one that reached the server first lands here)
        st.session_state[BRANCH_FLASH] = ("error", f"Not branched: {refused}")
        return
    wanted = {name: st.session_state.get(f"runs_branch_{name}", in_force[name]) for name in MUTABLE_FIELDS}
    changes = {name: value for name, value in wanted.items() if value != in_force[name]}
    changes.update(chosen_device())
    try:
        runner = registry().branch(run_id, step, changes, data=run_data(run_id, changes))
    except CONTINUE_ERRORS as exc:
        st.session_state[BRANCH_FLASH] = ("error", f"Not branched: {literal(exc)}")
        return
    watch(runner.run_id)
    st.session_state[TO_TRAIN_KEY] = True


def delete_popover_key(run_id: str) -> str:
    """The delete confirmation's key: one per run, so that a confirmation opened for one run is never
    shown for another (after a delete the page shows the next run in the same place)."""
    return f"runs_delete_pop:{run_id}"


def delete(run_id: str) -> None:
    """Delete ``run_id``, the run its confirmation was opened for, and close that confirmation whatever
    came of it (the outcome is shown above the table)."""
    st.session_state[delete_popover_key(run_id)] = False
    try:
        registry().delete(run_id)
        st.session_state["_runs_flash"] = ("success", f"Deleted run {literal(run_id)}.")
        if st.session_state.get("run_id") == run_id:
            watch(None)
        if st.query_params.get("run") == run_id:  # the address no longer names a run: not said missing
            st.query_params.pop("run", None)
    except (RegistryError, RunDirError) as exc:
        st.session_state["_runs_flash"] = ("error", literal(exc))


def delete_popover(where, run_id: str, busy: str | None = None, branches: tuple[str, ...] = ()) -> None:
    """Delete's confirmation; off with ``busy`` (why: the run trains now), which the registry would refuse
    only after "This cannot be undone". ``branches``: the runs branched from it, named (they keep their
    rows, and their lineage names a run that is gone)."""
    # The popover keeps its open state on the server (on_change="rerun") so that `delete` can close it.
    with where.popover(
        "Delete", key=delete_popover_key(run_id), on_change="rerun", disabled=busy is not None, help=busy
    ):
        st.write(f"Delete run **{literal(run_id)}** and all its files? This cannot be undone.")
        if branches:  # (a review: a parent deleted without a word of its branches)
            named = ", ".join(f"**{literal(branch)}**" for branch in branches)
            st.write(
                f"Branched from it: {named}. They keep their own rows (the parent's up to their branch "
                "step included); Compare can no longer set them beside it."
            )
        st.button(
            "Delete for good", key="runs_delete", type="primary", on_click=acted(delete), args=(run_id,)
        )


view = open_view(run_id)
if view is None:
    delete_popover(st, run_id)  # an unreadable folder can still be removed from here
    uploads_section()
    st.stop()
run_banners(view)

actions = st.container(horizontal=True, vertical_alignment="bottom")  # buttons level with the menu
if actions.button(
    "Open in Train view", key="runs_open", type="primary", on_click=acted(open_in_train), args=(run_id,)
):
    go_to_train()
# Resume and Rewind / branch disabled for want of a checkpoint: why, and what to do (under the buttons)
no_checkpoint = no_checkpoint_note(
    view,
    "open it in the Train view, where the sidebar shows its settings, and press Start for a new run with "
    "them (a lower checkpoint_every, in the sidebar's Run, saves checkpoints sooner).",
)
if view.owned and view.status in ("interrupted", "stopped", "failed"):
    actions.button(
        "Resume",
        key="runs_resume",
        on_click=acted(resume),
        args=(run_id,),
        # Entries named like a checkpoint but none (a link, a folder): Resume stays on and, clicked, says
        # what each is, as the Train view's does, rather than going grey without a word.
        disabled=not (view.checkpoint_steps() or view.run_dir.not_checkpoints()),
        help="Continue this run from its latest checkpoint; the rows after it are replaced"
        if view.checkpoint_steps() or view.run_dir.not_checkpoints()
        else no_checkpoint or "This run has no checkpoint to continue from",
    )


@st.cache_data(max_entries=64, show_spinner=False)
def _hparams_at(root: str, run_id: str, step: int, stamp: tuple[int, int]) -> dict[str, Any]:
    """`RunView.hparams_at`, read once per checkpoint file (``stamp``: its mtime and size)."""
    return registry().view(run_id).hparams_at(step)


def hparams_at(view: RunView, step: int) -> dict[str, Any]:
    path = dict(view.run_dir.checkpoints()).get(step)
    info = path.stat() if path is not None else None
    stamp = (info.st_mtime_ns, info.st_size) if info is not None else (0, 0)
    return _hparams_at(str(runs_root()), view.run_id, step, stamp)


def branch_fields(loss_name: str) -> list[str]:
    """The mid-run fields a branch can change, without those this run's loss does not use."""
    unused = get_loss(loss_name).unused_fields
    return [name for name in MUTABLE_FIELDS if name not in unused]


def own_loop_continued(view: RunView) -> tuple[str, str] | None:
    """How a run of the user's own loop (source ``api`` or ``lightning``) that no process writes now goes
    on: (a sentence, the call that continues it, ``resume=True`` in the same runs folder, its rows going on
    from its last step, or from the checkpoint's step with ``resume_from``); None for a run a process
    writes now, or of another source."""
    if view.external:
        return None
    root = str(runs_root().resolve())  # (the same folder from wherever the loop runs)
    if view.meta.source == "api":
        call = f"gan_core.track.init({view.run_id!r}, root={root!r}, ..., resume=True)"
        where = (
            "your loop, started with this call (its networks and optimizers from your own checkpoint; add "
            "`resume_from=` that checkpoint's step, and the rows logged after it are replaced)"
        )
    elif view.meta.source == "lightning":
        call = f"GANTrackingCallback({view.run_id!r}, root={root!r}, ..., resume=True)"
        where = (
            "your Lightning Trainer, with this callback (gan_core.tracking.lightning) in its callbacks (the "
            "module and optimizers from your own checkpoint: `trainer.fit(..., ckpt_path=...)`)"
        )
    else:
        return None
    return f"this run goes on in {where}:", call


MORE_STEPS = 1000  # a branch from the step a run ended at trains this many more unless changed


def branch_steps_problem(step: int, steps: float) -> str | None:
    """What Branch would refuse of ``steps`` (the total to reach) for a branch from ``step``: one at or
    below it trains nothing. Said as it is typed, as a value the config refuses is (a review: refused
    only after the click, naming the branch's own id)."""
    if steps and steps <= step:
        return (
            f"steps={steps:,} is at or below step {step:,}, where the branch starts: steps is the total to "
            f"reach, counted from the run's start; give more than {step:,}, or 0 to train until stopped"
        )
    return None


def branch_form(view: RunView, kept: list[int]) -> None:
    """The popover's form: a checkpoint, then the mid-run settings, prefilled with those in force at that
    checkpoint; the ones the user changes are what the branch asks ("what if D learned slower from here?").
    A refused Branch click is said under the button (`show_flash`)."""
    # A menu of its own per run: one key for all showed the last run's pick (step 300) while it returned
    # another (200), and the branch was made at the step not shown.
    step = st.selectbox(
        "From the checkpoint at",
        kept[::-1],
        key=f"runs_branch_step:{view.run_id}",
        format_func=lambda s: f"step {s}",
    )
    try:
        in_force = hparams_at(view, step)
    except (RunDirError, OSError) as exc:
        st.warning(f"The checkpoint at step {step} cannot be read: {literal(exc)}")
        return None
    keys = {name: f"runs_branch_{name}" for name in branch_fields(view.cfg.loss)}
    trained_out = 0 < in_force["steps"] <= step
    # Prefilled when another run or checkpoint is picked, and again after a visit to another page (which
    # drops the widgets' values).
    if st.session_state.get("_runs_branch_from") != (view.run_id, step) or any(
        key not in st.session_state for key in keys.values()
    ):
        for name, key in keys.items():
            st.session_state[key] = in_force[name]
        if trained_out:  # a branch that trained nothing would be refused: offer more steps
            st.session_state[keys["steps"]] = step + MORE_STEPS
        st.session_state["_runs_branch_from"] = (view.run_id, step)
    st.caption(
        f"A new run from there, with **{literal(view.run_id)}**'s history up to step {step} (that run stays "
        "as it is) and its settings at that step: change any to ask what if. It trains on the device "
        f"chosen beside ({literal(chosen_device()['device'])})."
        + (
            f" The run had trained all its {in_force['steps']:,} steps there: `steps`, the total to reach, "
            f"is set to {step + MORE_STEPS:,} ({MORE_STEPS:,} more)."
            if trained_out
            else ""
        )
    )
    docs = field_docs()
    columns = st.columns(4)
    for i, (name, key) in enumerate(keys.items()):
        # Unbounded, as in the sidebar: the help says the range the config allows, and Branch refuses a
        # value outside it with the config's message. Bounds on the input refused values the config takes
        # (lr 1e-7) and, outlined in red, branched with the last value shown before.
        increment, fmt = number_step(name)
        columns[i % 4].number_input(name, step=increment, format=fmt, key=key, help=docs[name])
    watch_refused_numbers(BRANCH_REFUSED_KEY, '[data-testid="stPopoverBody"]', ".st-key-runs_branch")
    refused = refused_number_message(BRANCH_REFUSED_KEY, branch_fields_held())
    if refused is None:  # what Branch would refuse, said as it is typed (as the sidebar says it for Start)
        wanted = {name: st.session_state.get(key, in_force[name]) for name, key in keys.items()}
        try:  # on the settings at that checkpoint, as Branch takes them
            view.cfg.replace(**{**in_force, **wanted})
        except ConfigError as exc:
            refused = literal(exc)
        else:
            refused = branch_steps_problem(step, wanted["steps"])
    if refused:
        st.error(refused)
    st.button(
        "Branch",
        key="runs_branch",
        type="primary",
        on_click=acted(branch),
        args=(view.run_id, step, in_force),
        disabled=bool(refused),
    )
    show_flash(BRANCH_FLASH, inputs=repr(branch_fields_held()))  # until a click or an edit of the form


kept = view.checkpoint_steps() if view.owned else []
branch_help = no_checkpoint
if not kept and view.owned and not view.ended and view.cfg is not None:  # training, none saved yet
    every = view.cfg.checkpoint_every
    first = f"its first at step {every:,} (checkpoint_every) or a pause"
    saves = first if every else "one only when it ends or pauses (checkpoint_every=0)"
    branch_help = f"No checkpoint yet: Rewind / branch starts from one, and this run saves {saves}"
with actions.popover("Rewind / branch", key="runs_branch_pop", disabled=not kept, help=branch_help):
    if kept:
        branch_form(view, kept)
if kept:  # Resume and branch need a checkpoint of ours: without one the device has nothing to choose for
    actions.selectbox(
        "Resume / branch on",
        DEVICE_CHOICES,
        key="runs_device",
        width=150,
        help="Where Resume and Rewind / branch train this run: auto (a GPU if there is one), or a device "
        "named. A run trained on one device goes on on any other.",
    )
download_buttons(actions, view, "runs_dl_")
# (a run that trains now: its writer holds the folder, and the registry refuses to delete it)
busy = None
if view.status in ("running", "paused", "idle") and (view.runner is not None or view.external):
    who = f"{view.trained_by} trains it" if view.external else "this server trains it"
    busy = f"{view.status.capitalize()}: {who}. Stop it first, then delete it."
children = [r for r in rows if r["parent"] == run_id]
notes_popover(actions, view, "runs_")
delete_popover(actions, run_id, busy, tuple(r["run_id"] for r in children))
if no_checkpoint:
    st.caption(no_checkpoint)
notes = view.notes
if notes:  # (text from a file: shown as written, `literal`)
    lines = notes.splitlines()
    if len(lines) <= NOTES_INLINE_LINES:
        st.markdown("**Notes**  \n" + literal(notes))
    else:  # a page of notes would push the run's configuration and events far down
        st.markdown("**Notes**  \n" + literal("\n".join(lines[:NOTES_INLINE_LINES])))
        with st.expander(f"All {len(lines)} lines of the notes"):
            st.markdown(literal(notes))

if view.parent:
    gone = "" if view.parent in all_ids else " (deleted since: its rows up to then are this run's own)"
    st.markdown(f"Branched from **{literal(view.parent)}** at step {view.parent_step}{gone}.")
if children:
    st.markdown(
        "Branches: " + ", ".join(f"**{literal(r['run_id'])}** at step {r['parent_step']}" for r in children)
    )
if view.owned:
    with st.expander("Configuration"):
        st.json(view.cfg.to_dict(), expanded=True)  # one click shows every field, not a folded {...}
else:  # a user's own run: where it came from, and their hyperparameters as a table
    meta = view.meta
    how = own_loop_continued(view)
    st.markdown(
        f"Recorded by **{literal(meta.source)}** · loss **{literal(meta.loss or 'unknown')}** · data "
        f"**{literal(meta.dataset or meta.data_kind)}**"
        + (f" · model **{literal(meta.model)}**" if meta.model else "")
        + (f" · conditional, **{meta.n_classes}** classes" if meta.n_classes else "")
        + ". Resume and branching here are for runs the dashboard trains; "
        + (how[0] if how else "this run goes on only in its own loop.")
    )
    if how:
        st.code(how[1], language="python")
    with st.expander(f"Hyperparameters ({len(meta.hparams)})", expanded=True):
        st.dataframe(hparams_table(meta.hparams), hide_index=True, key="runs_hparams")
environment = view.environment
if environment:  # what its newest start trained with: the same settings and seed give the same run only here
    with st.expander("Environment"):
        st.caption(
            "What the run's newest start trained with. GAN training is chaotic: the same settings and seed "
            "repeat a run only with the same torch, device and CPU threads (the dashboard trains with half "
            "the cores, a terminal with torch's default of all of them, or what OMP_NUM_THREADS says)."
        )
        st.dataframe(environment_table(environment), hide_index=True, key="runs_environment")
events = pd.DataFrame(view.events)
if len(events):
    with st.expander(f"Events ({len(events)})"):
        st.dataframe(events, hide_index=True, key="runs_events")
uploads_section()
