"""Probe the networks: walk G's latent space, and ask D for its verdict on samples you choose.

A thin view over `gan_core.probe`, for the live weights of a run training in this server or for any of
a run's saved checkpoints.
"""

from __future__ import annotations

import html

import numpy as np
import streamlit as st

from ui.starting import engine_loading, through_the_router

through_the_router()  # before anything is drawn: a first visit by the page's address
st.set_page_config(page_title="GAN dashboard — Probe", page_icon="⚔️", layout="wide")

with engine_loading():
    from gan_core.app import (
        ENDED,
        IMAGE_EXTENSIONS,
        DataError,
        RegistryError,
        RunDir,
        RunDirError,
        RunnerError,
        charts,
        downstream,
        probe,
        validate_run_id,
    )
    from ui.common import (
        address_problem,
        address_run,
        checked_number,
        literal,
        open_view,
        readable_run_ids,
        registry,
        run_banners,
        table_height,
        watched_view,
    )

    # (a chart drawn through live_chart is fitted to its width in the browser: a long title is broken into
    # lines on a narrow screen, where st.plotly_chart cut it at the chart's right edge)
    from ui.live_chart import live_chart
    from ui.sidebar import refused_labels, watch_refused_numbers

CURRENT = "current"
# The page's copy of a live run's weights: (run id, training or ended, ProbeModels). Taken when the run is
# picked and then only on "Take the current weights again", not at every rerun (a seed changed, a tab
# opened), so that what is probed stays put while the run trains on.
LIVE_COPY = "probe_live_copy"
COPY_RESULT = "probe_copying"  # Does G copy?'s last result, with what it was asked of (`show_copying`)
LABELLED_POINTS = 50
WALK_POINTS_HEIGHT = 600  # px: a 2D walk alone on its row gets a plot of ~460 px square
# Ask D's table rows for images: tall enough to show each sample at about 64 px. The pictures are made
# twice that, in whole pixels (`probe.thumbnails`), so that the table only ever shrinks them: an 8x8 digit
# stays a sharp 8x8 of blocks rather than a blur.
THUMBNAIL_ROW_PX = 72
THUMBNAIL_ROWS_SHOWN = 10
MAX_PAGE_SEED = 2**31 - 1  # a browser number input is exact up to 2**53; a round limit is easier to read
# Errors that mean "this input or this checkpoint cannot be used": shown, never raised.
PROBE_ERRORS = (
    probe.ProbeError,
    DataError,
    RunDirError,
    RunnerError,
    RegistryError,
    downstream.DownstreamError,
)

# The page's whole-number fields whose typed value the browser may refuse to send (past 2**53): each says
# so and which value it uses (`checked_number`), as the sidebar's do, rather than Streamlit's red outline
# alone (a student review: a seed of 99999999999999999999)
PROBE_REFUSED_KEY = "probe_refused_numbers"
WHOLE_NUMBER_FIELDS = [
    "Seed A",
    "Seed B",
    "How many",
    "Seed",
    "Samples of each",
    "Seed of G's",
    "Real images per class (k)",
    "G's images per class added",
]
REFUSED = refused_labels(PROBE_REFUSED_KEY)

st.title("Probe the networks")
watch_refused_numbers(
    PROBE_REFUSED_KEY,
    scope='[data-testid="stMain"]',
    buttons=".st-key-uses_measure",
    integers=WHOLE_NUMBER_FIELDS,
)
st.caption(
    "Walk between two noise vectors and see what G makes along the way, or ask D what it makes of samples "
    "you choose — with the live weights of a run training here, or with any saved checkpoint."
)


# ----------------------------------------------------------------------------------------------- cached reads
@st.cache_resource(max_entries=8, show_spinner=False)
def checkpoint_models(root: str, run_id: str, step: int, name: str, mtime_ns: int) -> probe.ProbeModels:
    # Keyed by the file's mtime too: a checkpoint rewritten under the same name is read again. The
    # models are only ever run in eval mode under no_grad, so sessions can share them. ``step``: the one
    # its name says, which the checkpoint must hold (the Weights menu shows it).
    run_dir = RunDir.open(root, run_id)
    return probe.checkpoint_models(run_dir, run_dir.path / "checkpoints" / name, step)


@st.cache_data(max_entries=8, show_spinner=False)
def real_set(
    root: str, run_id: str, n: int = probe.REFERENCE_BATCH, label: int | None = None
) -> tuple[np.ndarray, np.ndarray | None]:
    # n real samples (of class ``label``) and their labels, the same ones at every rerun: a critic's
    # reference (Ask D), the real side of D's separation
    run_dir = RunDir.open(root, run_id)
    return probe.real_labelled(run_dir, run_dir.read_config(), n, label=label)


@st.cache_resource(max_entries=2, show_spinner=False)
def training_examples(root: str, run_id: str) -> np.ndarray:
    # the examples the run trained on (a fixed 10,000 of a set over 60,000), for the copying check: one
    # read-only array shared by the sessions (cache_data would copy mnist's 188 MB at every rerun)
    run_dir = RunDir.open(root, run_id)
    return probe.training_set(run_dir, run_dir.read_config())


@st.cache_data(max_entries=8, show_spinner=False)
def view_bounds(root: str, run_id: str) -> tuple[float, float, float, float]:
    run_dir = RunDir.open(root, run_id)
    return probe.view_bounds(run_dir, run_dir.read_config())


# -------------------------------------------------------------------------------------------- run and weights
# Only the runs the dashboard trains have the checkpoints the probe reads G and D from.
run_ids = readable_run_ids(owned_only=True)
others = len(registry().run_ids()[0]) - len(run_ids)  # read again: its unreadable ones are named once
elsewhere = (
    f"{others} run{'s' if others != 1 else ''} recorded by a training loop outside the dashboard "
    "(gan_core.track, Lightning) cannot be probed: the probe reads G and D from the dashboard's own "
    "checkpoints. Their charts, flags and samples are in the Train view."
)
if not run_ids:
    st.info(
        "No run to probe yet: press Start in the Train view, or train one with `python -m gan_core train`."
        + (f" {elsewhere}" if others else "")
    )
    st.stop()
if others:
    st.caption(elsewhere)
# A run the address names that the runs folder does not hold, or holds as a run of a user's own loop, is
# said, not replaced by another without a word (an invalid id, or a run that cannot be read, is said by
# `watched_view` as the other pages say it).
named = address_run()
problem = None
if named is not None and named not in run_ids:
    if named in registry().run_ids()[0]:  # readable, so a run of a training loop outside the dashboard
        problem = literal(
            f"The address names run {named}, which cannot be probed: it was recorded by a training loop "
            "outside the dashboard, and the probe reads G and D from the dashboard's own checkpoints."
        )
    else:
        try:
            validate_run_id(named)
        except ValueError:
            pass  # no run may have this id: `watched_view` says so
        else:
            if not registry().holds(named):
                problem = address_problem(run_ids)
if problem:  # a run the address names that cannot be probed: said, not shown as if it were that run
    # (not `watched_view`, which would wait for it to appear as the Train view does)
    watched_id = st.session_state.get("run_id")
    instead = "the run the Train view watches" if watched_id in run_ids else "the newest run"
    default = watched_id if watched_id in run_ids else run_ids[0]
else:
    watched = watched_view()
    default = watched.run_id if watched is not None and watched.run_id in run_ids else run_ids[0]

pick = st.container(horizontal=True)
address_said = st.empty()  # below the menus: said while the run picked in the named one's place is shown
run_id = pick.selectbox("Run", run_ids, index=run_ids.index(default), key="probe_run", width=420)
if problem and run_id == default:
    address_said.error(f"{problem} Shown below: {instead}, {literal(run_id)}.", icon=":material/link_off:")
view = open_view(run_id)
if view is None:
    st.stop()
run_banners(view, failed=False)

if not view.owned:
    st.info(
        f"Run {literal(run_id)} was recorded by {literal(view.meta.source)} (a training loop outside the "
        "dashboard): the probe asks G and D from the dashboard's own checkpoints, which such a run does not "
        "have. Its charts, flags and samples are in the Train view."
    )
    st.stop()
root = str(registry().runs_root)
saved = {step: path for step, path in view.run_dir.checkpoints()}
training = view.live and view.status not in ENDED
# A run this server trained that has ended holds its last weights in memory: the final checkpoint saved
# at its end holds the same, and is offered as what it is. Only weights no checkpoint holds (a run that
# failed, whose last ones no checkpoint keeps) are offered from memory, named for what they are.
unsaved_end = view.live and not training and view.current_step not in saved
options = ([CURRENT] if training or unsaved_end else []) + sorted(saved, reverse=True)
refused = view.run_dir.not_checkpoints()  # entries named like a checkpoint that are not one
if not options and refused:
    st.error(f"These weights cannot be probed: {literal(refused[-1])}")
    st.stop()
if not options:
    st.info(
        f"Run {literal(run_id)} has no saved checkpoint yet and is not training in this server: nothing to "
        "probe. "
        "Checkpoints are saved every checkpoint_every steps and when a run stops."
    )
    st.stop()


def weights_label(option) -> str:
    # The menu keeps its choice when this label changes as the run ends (a keyed widget's identity is
    # its key), as it would not with a step or status in it that changes at every rerun.
    if option != CURRENT:
        return f"checkpoint at step {option:,}"
    return "current (live weights)" if training else "its last weights (in memory only)"


held = st.session_state.get(f"probe_weights_{run_id}")
if held is not None and held != CURRENT and held not in options:
    # the checkpoint picked is gone (keep_checkpoints thinned it away as the run went on, or a delete):
    # the menu falls back to its first entry, said here, not swapped in without a word
    st.info(
        f"The checkpoint at step {literal(held)} is no longer in the run's folder (the run keeps only its "
        "newest keep_checkpoints, and a paused run's single step replaces the pause's checkpoint): the "
        "weights below are the menu's first entry."
    )
weights = pick.selectbox(
    "Weights", options, format_func=weights_label, key=f"probe_weights_{run_id}", width=300
)
again = False
if weights == CURRENT and training:  # an ended run's weights change no more
    again = pick.button(
        "Take the current weights again", key="probe_refresh", help="Copies G and D as they are now"
    )

try:
    if weights == CURRENT:
        copy = st.session_state.get(LIVE_COPY)
        # taken again for another run, on the button, or once when the run ends (its last weights)
        if again or copy is None or copy[:2] != (run_id, training):
            what = "the live weights" if training else "the last weights in memory"
            copy = (
                run_id,
                training,
                probe.load_models(view.models_state(), source=f"{what} of run {run_id}"),
            )
            st.session_state[LIVE_COPY] = copy
        models = copy[2]
    else:
        path = saved[weights]
        try:
            stamp = path.stat().st_mtime_ns
        except FileNotFoundError:  # removed since the menu was listed (a single step while paused): again
            st.rerun()
        models = checkpoint_models(root, run_id, weights, path.name, stamp)
except (*PROBE_ERRORS, OSError) as exc:
    st.error(f"These weights cannot be probed: {literal(exc)}")
    st.stop()

cfg, loss = models.cfg, models.loss
conditional = f" · {cfg.conditioning} conditioning, {models.n_classes} classes" if models.n_classes else ""
st.caption(
    f"`{run_id}` ({view.status}) · {cfg.dataset} · {cfg.model} · {cfg.loss} · latent_dim {cfg.latent_dim}"
    f"{conditional} · G and D at step {models.step:,}"
)
CLASS_KEYS = (f"probe_walk_class_{run_id}", f"probe_ask_class_{run_id}")  # one choice, shown in two tabs
if models.d_takes_class:
    D_AND_CLASS = (
        f'D ({cfg.conditioning}) is asked about this class: its score answers "is this a real one of this '
        'class?"'
    )
elif models.d_has_class_head:
    D_AND_CLASS = (
        "D's real/fake score does not depend on it: an acgan D judges the sample alone. Its class head's "
        "answer is shown beside the score: the class it names, with what probability, and its probability "
        "for this class"
    )
else:
    D_AND_CLASS = ""


def say_refused(*messages: str | None) -> None:
    """Under a row of number fields: each of its numbers out of range, and the value used instead
    (`checked_number`'s messages; None: in range)."""
    for message in messages:
        if message:
            st.error(message, icon=":material/pin:")


def class_menu(key: str, help_text: str) -> int | None:
    """The Class menu of a tab where the class acts (class-conditional runs; None otherwise). The two
    tabs' menus hold one choice: a change in one is copied to the other."""
    if not models.n_classes:
        return None
    other = CLASS_KEYS[1 - CLASS_KEYS.index(key)]
    if key not in st.session_state and other in st.session_state:  # the other tab's choice, kept
        st.session_state[key] = st.session_state[other]

    def copy_to_other():
        st.session_state[other] = st.session_state[key]

    return st.selectbox(
        "Class",
        range(models.n_classes),
        format_func=lambda i: f"{i}: {models.class_names[i]}" if models.class_names[i] != str(i) else str(i),
        key=key,
        on_change=copy_to_other,
        help=help_text,
        width=260,
    )


def real_points() -> np.ndarray:
    real = view.real_view()
    return real["points"] if real is not None and "points" in real else np.zeros((0, 2))


def show_separation(label: int | None) -> None:
    """Ask D's "Real against G's": D's outputs on a batch of real samples and on as many of G's, as two
    histograms, with the ROC AUC of its scores and its accuracies by the run's rule (`probe.separation`)."""
    row = st.container(horizontal=True)
    n, refused_n = checked_number(
        row, "Samples of each", 16, probe.MAX_SEPARATION_SAMPLES, 256, 16, key="sep_n", refused=REFUSED,
        width=150, help="Real samples, and as many of G's",
    )  # fmt: skip
    seed, refused_seed = checked_number(
        row, "Seed of G's", 0, MAX_PAGE_SEED, 0, 1, key="sep_seed", refused=REFUSED, width=150
    )
    say_refused(refused_n, refused_seed)
    real, real_labels = real_set(root, run_id, n, label)
    if len(real) == 0:
        st.info("The real data hold no sample of this class.")
        return
    found = probe.separation(models, real, real_labels, seed, label)
    fewer = f" (the class has {len(real):,})" if len(real) < n else ""
    st.markdown(
        f"**ROC AUC {found.auc:.3f}** over {len(real):,} real samples and as many of G's{fewer}: the chance "
        "that D scores a random real sample above a random one of G's. 0.5: D cannot tell them apart "
        "(the equilibrium); 1: it separates them completely; under 0.5: it scores G's above the real "
        f"ones. By the run's rule D calls **{found.acc_real:.0%}** of the real samples real and "
        f"**{found.acc_fake:.0%}** of G's fake (`d_acc_real`, `d_acc_fake`)."
    )
    fig = charts.verdicts_figure(
        found.real.outputs,
        found.fake.outputs,
        found.output_threshold,
        probability=loss.probability_output,
        x_title="D's output, sigmoid(score)" if loss.probability_output else "D's score",
        title=f"D's verdicts at step {models.step:,}: real against G's samples",
    )
    live_chart(fig, "probe_separation_chart")
    if not models.is_points:  # which of G's images D accepts, and which give G away (2D: the heatmap)
        accepted, rejected = found.extremes()
        left, right = st.columns(2)
        for column, images, key, title in (
            (left, accepted, "probe_separation_accepted", "G's samples D scores highest (most real to it)"),
            (right, rejected, "probe_separation_rejected", "G's samples D scores lowest (it rejects most)"),
        ):
            with column:
                live_chart(charts.image_grid_figure(probe.strip(images), title=title), key)
    st.caption(
        f"Rule for {cfg.loss}: {found.real.rule}. Two humps apart: D tells real from G's (early training, or "
        "a D that overpowers G). Humps on top of each other around the threshold: it cannot (the "
        "equilibrium). The real samples are the run's training data; D is in eval mode, as in every probe."
    )


def show_copying() -> None:
    """ "Does G copy?": G's samples against the training set by nearest neighbours (`probe.data_copying`):
    how near each of G's samples lies to a training example, beside how near the data's own examples lie
    to one another, and G's samples nearest a training example beside it. Measured on a click (a few
    seconds on 28 px images); the result is kept for these weights and settings."""
    st.caption(
        "A GAN can learn to reproduce its training examples rather than the distribution they come from "
        "(memorisation). For each of G's samples this finds the nearest training example, and compares that "
        "distance with how near the data's own examples lie to one another: a sample from the data's "
        "distribution lies about that near, a copy much nearer (after Meehan et al. 2020's data-copying "
        "test, with the training set's own examples, left out one at a time, as the reference)."
    )
    try:
        training = training_examples(root, run_id)
    except PROBE_ERRORS as exc:
        st.info(literal(exc))
        return
    row = st.container(horizontal=True, vertical_alignment="bottom")
    n, refused_n = checked_number(
        row, "G's samples", 16, probe.MAX_COPY_SAMPLES, probe.COPY_SAMPLES, 16, key="copy_n", refused=REFUSED,
        width=150, help="Each is compared with every training example",
    )  # fmt: skip
    seed, refused_seed = checked_number(
        row, "Seed of G's", 0, MAX_PAGE_SEED, 0, 1, key="copy_seed", refused=REFUSED, width=150
    )
    say_refused(refused_n, refused_seed)
    asked = (run_id, models.step, weights, int(n), int(seed))
    if row.button("Compare with the training set", key="copy_measure", type="primary"):
        try:
            with st.spinner(f"Comparing with {len(training):,} training examples…"):
                st.session_state[COPY_RESULT] = (
                    asked,
                    probe.data_copying(models, training, int(seed), int(n)),
                )
        except PROBE_ERRORS as exc:
            st.error(literal(exc))
            return
    shown = st.session_state.get(COPY_RESULT)
    if shown is None or shown[0] != asked:
        st.caption(f"The training set: {len(training):,} examples of shape {tuple(training.shape[1:])}.")
        return
    found = shown[1]
    cards = st.columns(3)
    cards[0].metric(
        "Near a training example",
        f"{found.close_share:.1%}",
        border=True,
        help=f"The share of G's samples nearer a training example than {1 - probe.COPY_QUANTILE:.0%} of the "
        f"training examples lie to any other ({found.threshold:.3g}); about {probe.COPY_QUANTILE:.0%} when "
        f"G does not copy (this many or more by chance: p = {found.close_p_value:.2g}, a one-sided binomial "
        "test)",
    )
    cards[1].metric(
        "Distance ratio",
        f"{found.ratio:.2f}",
        border=True,
        help="The median distance of G's samples to their nearest training example, over the median distance "
        "of a training example to its nearest other: under 1, nearer than the data's own; over 1, farther",
    )
    repeats = f"; {found.duplicates:,} repeats of another example left out" if found.duplicates else ""
    cards[2].metric(
        "Training examples",
        f"{len(found.training):,}",
        border=True,
        help=f"The distinct examples G's samples are compared with, all of them{repeats}",
    )
    say = {"copies": st.warning, "apart": st.info, "like_the_data": st.success}[found.reading]
    say(probe.COPY_READINGS[found.reading] + ".")
    units = "2D coordinates" if models.is_points else "pixels in [-1, 1]"
    fig = charts.verdicts_figure(
        found.real_distance,
        found.fake_distance,
        found.threshold,
        x_title=f"distance to the nearest training example (Euclidean, {units})",
        title=f"Nearest training example at step {models.step:,}: G's samples against the data's own",
        names=("training examples, to their nearest other", "G's samples, to their nearest training example"),
        threshold_name=f"{probe.COPY_QUANTILE:.0%} of training examples nearer than",
    )
    live_chart(fig, "probe_copying_chart")
    if not models.is_points:  # (2D: the distances say it; the Train view's scatter shows where they lie)
        samples, nearest, distances = found.closest()
        half = (len(samples) + 1) // 2
        for column, part, key in zip(
            st.columns(2), (slice(0, half), slice(half, None)), ("probe_copying_pairs", "probe_copying_more")
        ):
            if len(samples[part]):
                shown = ", ".join(f"{d:.3g}" for d in distances[part])
                title = f"G's samples nearest a training example (top) and it (bottom): {shown}"
                with column:
                    live_chart(
                        charts.image_grid_figure(probe.pairs(samples[part], nearest[part]), title), key
                    )
        st.caption(
            "Nearest first, with their distances. A copy looks like its training example pixel for pixel; a "
            "sample that only shares its digit, its pose or its colours does not."
        )


walk_tab, ask_tab, copy_tab, uses_tab = st.tabs(["Latent walk", "Ask D", "Does G copy?", "G and D as tools"])

# ------------------------------------------------------------------------------------------------ latent walk
with walk_tab:
    st.caption(
        "Each seed fixes one noise vector z ~ N(0, I): the same seed always gives G the same input. The walk "
        "goes from seed A's vector to seed B's, in a straight line (linear) or along the great circle "
        "(slerp, which keeps z as long as a typical noise vector)."
    )
    label = class_menu(CLASS_KEYS[0], "The class G draws all along the walk")
    row = st.container(horizontal=True)
    seed_a, refused_a = checked_number(
        row, "Seed A", 0, MAX_PAGE_SEED, 0, 1, key="walk_seed_a", refused=REFUSED, width=150
    )
    seed_b, refused_b = checked_number(
        row, "Seed B", 0, MAX_PAGE_SEED, 1, 1, key="walk_seed_b", refused=REFUSED, width=150
    )
    steps = row.slider("Steps", probe.MIN_WALK_STEPS, probe.MAX_WALK_STEPS, 10, key="walk_steps", width=280)
    mode = row.radio("Path", probe.WALK_MODES, key="walk_mode", horizontal=True)
    say_refused(refused_a, refused_b)
    try:
        samples = probe.walk(models, int(seed_a), int(seed_b), int(steps), mode, label)
        if models.is_points:
            bounds = probe.fit_bounds(view_bounds(root, run_id), samples)
            fig = charts.points_figure(
                real_points(),
                np.zeros((0, 2)),
                bounds=bounds,
                heatmap=probe.heatmap(models, bounds),
                midpoint=loss.midpoint,
                threshold=loss.threshold,
                path=samples,
                title=f"G along the {mode} path from seed {seed_a} (A) to seed {seed_b} (B), over D's output",
                # the page's width is the chart's: at the Train view's 420 px the square plot took a third
                height=WALK_POINTS_HEIGHT,
            )
        else:
            fig = charts.image_grid_figure(
                probe.strip(samples),
                title=f"G along the {mode} path: seed {seed_a} (left) to {seed_b} (right)"
                # a class name is a folder's name: text, not the HTML plotly draws a title as
                + (f", class {html.escape(models.class_names[label])}" if label is not None else ""),
            )
        live_chart(fig, "probe_walk_chart")
    except PROBE_ERRORS as exc:
        st.error(literal(exc))

# ------------------------------------------------------------------------------------------------------ ask D
with ask_tab:
    label = class_menu(
        CLASS_KEYS[1],
        "The class G draws for its samples (G's samples from a seed). "
        + D_AND_CLASS
        + ("." if D_AND_CLASS else ""),
    )
    upload_label = "Upload a CSV of points" if models.is_points else "Upload images"
    # points of one's own, typed (GAN Lab's "what does D say here?"), beside a CSV for many
    sources = {"generated": "G's samples from a seed", "upload": upload_label}
    if models.is_points:
        sources = {"generated": sources["generated"], "typed": "Points you type", "upload": upload_label}
    sources["separation"] = "Real against G's: can D tell?"
    source = st.radio("Samples", list(sources), key="ask_source", horizontal=True, format_func=sources.get)
    samples = None
    names = None  # the uploaded files read, one per image
    try:
        if source == "generated":
            row = st.container(horizontal=True)
            n, refused_n = checked_number(
                row, "How many", 1, 64, 8, 1, key="ask_n", refused=REFUSED, width=150
            )
            seed, refused_seed = checked_number(
                row, "Seed", 0, MAX_PAGE_SEED, 0, 1, key="ask_seed", refused=REFUSED, width=150
            )
            say_refused(refused_n, refused_seed)
            samples = probe.generate(models, seed, n, label)
        elif source == "typed":
            typed = st.text_input(
                "Points x, y",
                value=probe.TYPED_POINTS_EXAMPLE,
                key="ask_typed",
                help=f"Pairs separated by ';' (or one per line), up to {probe.MAX_ASK_POINTS:,}: where the "
                "training data lies, between its clusters, far away",
            )
            samples = probe.parse_typed_points(typed)
        elif source == "separation":
            show_separation(label)
        elif models.is_points:
            file = st.file_uploader(
                "CSV of 2D points: two numeric columns x,y, header optional",
                type=["csv"],
                key="ask_csv",
                help=f"Up to {probe.MAX_ASK_POINTS} points, {probe.MAX_CSV_BYTES // 2**20} MiB",
            )
            if file is not None:
                samples = probe.parse_points_upload(file.getvalue(), file.name)
        else:
            files = st.file_uploader(
                "Images (shown to D as the run's training images: centre square, resized, its channels)",
                type=[ext[1:] for ext in IMAGE_EXTENSIONS],
                accept_multiple_files=True,
                key="ask_images",
                help=f"Up to {probe.MAX_IMAGE_FILES} files of {probe.MAX_IMAGE_BYTES // 2**20} MiB each",
            )
            if files:
                read = probe.read_image_uploads([(f.name, f.getvalue()) for f in files], models)
                samples, names = read.images, read.names
                if read.refused:  # the readable ones are asked about all the same
                    st.warning(
                        f"{len(read.refused)} of {len(files)} files not read, left out below: "
                        + literal(" | ".join(read.refused))
                    )
        if samples is None and source != "separation":
            st.caption("Upload a file to see D's verdict on it.")
        elif samples is not None:
            reference = None
            if loss.is_critic:  # no fixed threshold: D's verdict needs a reference score
                real, real_labels = real_set(root, run_id)
                reference = probe.wasserstein_reference(models, real, real_labels=real_labels, label=label)
            asked = probe.class_labels(models, label, len(samples))
            verdicts = probe.ask_d(models.D, loss, samples, reference, asked)
            table = verdicts.table()
            table.insert(0, "#", np.arange(1, len(table) + 1))
            answers = probe.class_answers(models, samples, label)
            for column in answers.columns:  # what D says about the class, after its verdict
                table[column] = answers[column].to_numpy()
            column_config = {
                "d_score": st.column_config.NumberColumn("D's score", format="%.4f"),
                "d_output": st.column_config.NumberColumn(
                    "D's output",
                    format="%.4f",
                    help="sigmoid(score) for minimax/nonsaturating, else the score",
                ),
            }
            if label is not None:
                class_name = models.class_names[label]
                column_config["asked_as"] = st.column_config.TextColumn(
                    "D asked about", help="The class D's score asks about: is this a real one of it?"
                )
                column_config["d_class"] = st.column_config.TextColumn(
                    "D's class", help="The class D's class head names (acgan)"
                )
                column_config["d_class_prob"] = st.column_config.NumberColumn(
                    "its probability", format="%.3f", help="The class head's softmax probability for it"
                )
                column_config["p_label"] = st.column_config.NumberColumn(
                    f"P(class {class_name})",
                    format="%.3f",
                    help="The class head's probability for the class picked",
                )
            if names is not None:
                table.insert(1, "file", list(names))
            if models.is_points:
                table.insert(1, "x", samples[:, 0])
                table.insert(2, "y", samples[:, 1])
            else:
                pictures = probe.thumbnails(samples, px=2 * THUMBNAIL_ROW_PX)
                table.insert(1, "sample", [charts.png_data_uri(p) for p in pictures])
                column_config["sample"] = st.column_config.ImageColumn("sample")
            called_real, close = int(verdicts.real.sum()), verdicts.close_calls
            unsure = (
                f" {close} of the {len(table)} are coin tosses: D's output within {probe.CLOSE_CALL} of "
                f"{verdicts.midpoint:.3g}, where it cannot tell."
                if close
                else ""
            )
            said = f"D calls **{called_real} of {len(table)}** real. Rule for {cfg.loss}: {verdicts.rule}."
            st.markdown(said + unsure)
            chosen = literal(models.class_names[label]) if label is not None else ""
            if models.d_has_class_head:
                st.caption(
                    "An acgan D's real/fake score does not depend on the class picked: it judges the sample "
                    f"alone. Its class head names a class for each; P(class {chosen}) is its probability for "
                    "the class picked."
                )
            elif models.d_takes_class:
                st.caption(
                    f"D ({cfg.conditioning}) scores each sample as the class in *D asked about*: is this a "
                    f"real {chosen}?"
                )
            if models.is_points:  # the table beside the picture, numbered alike
                # (halves: the table's six columns whole at 1280 px, where 2/5 cut D's score and output)
                left, right = st.columns(2)
                # the verdict beside the number, where a narrow column shows it without scrolling sideways
                order = ["#", "verdict", *(c for c in table.columns if c not in ("#", "verdict"))]
                narrow = {
                    "#": st.column_config.NumberColumn("#", width=40),
                    "x": st.column_config.NumberColumn("x", format="%.3f", width=65),
                    "y": st.column_config.NumberColumn("y", format="%.3f", width=65),
                }
                left.dataframe(
                    table,
                    key="ask_table",
                    hide_index=True,
                    column_config={**column_config, **narrow},
                    column_order=order,
                )
                bounds = probe.fit_bounds(view_bounds(root, run_id), samples)
                fig = charts.points_figure(
                    real_points(),
                    samples,
                    bounds=bounds,
                    heatmap=probe.heatmap(models, bounds),
                    midpoint=loss.midpoint,
                    threshold=loss.threshold,
                    fake_name="asked",
                    # numbers beside a few points; beyond that they would hide the points
                    fake_labels=[str(i) for i in table["#"]] if len(table) <= LABELLED_POINTS else None,
                    title="The asked points (numbered as in the table) over D's output",
                )
                with right:
                    live_chart(fig, "probe_ask_chart")
            else:
                st.dataframe(
                    table,
                    key="ask_table",
                    hide_index=True,
                    column_config=column_config,
                    row_height=THUMBNAIL_ROW_PX,
                    # every row in view up to THUMBNAIL_ROWS_SHOWN, then a scrolling table
                    height=table_height(len(table), THUMBNAIL_ROWS_SHOWN, THUMBNAIL_ROW_PX),
                )
    except PROBE_ERRORS as exc:
        st.error(literal(exc))

# ------------------------------------------------------------------------------ the uses of a trained GAN
with copy_tab:
    show_copying()

with uses_tab:
    st.caption(
        "A trained class-conditional G is a source of labelled data; an acgan D is a classifier. Scored on "
        "the held-out real images every classifier here is scored on, beside the classifier trained on the "
        "real ones (Shmelkov et al. 2018's GAN-train and GAN-test, and an augmentation probe)."
    )
    unmeasurable = downstream.uses_problem(cfg, models.n_classes)
    if unmeasurable:  # (the data set's name comes from the run's config: shown as text)
        st.info(literal(unmeasurable))
    else:
        row = st.container(horizontal=True)
        k, refused_k = checked_number(
            row, "Real images per class (k)", 1, 100, 10, 1, key="uses_k", refused=REFUSED, width=200,
            help="The augmentation probe's classifier is trained on k real images per class, then on the "
            "same plus G's",
        )  # fmt: skip
        m, refused_m = checked_number(
            row, "G's images per class added", 1, 1000, 100, 10, key="uses_m", refused=REFUSED, width=200,
        )  # fmt: skip
        say_refused(refused_k, refused_m)
        if row.button("Measure", key="uses_measure", help="A few seconds on digits, up to a minute on mnist"):
            try:
                with st.spinner("Training the classifiers…"):
                    result = downstream.gan_train_test(cfg, models.G)
                    augment = downstream.augmentation_probe(
                        cfg, models.G, k=int(k), generated_per_class=int(m)
                    )
                # D as a classifier (acgan): its class head scored for these weights, on the same
                # held-out images (the run's d_class_acc at its evaluations, which need not fall here)
                d_class = probe.d_class_accuracy(models) if models.d_has_class_head else None
                st.session_state["uses_result"] = (run_id, models.step, result, augment, d_class)
            except PROBE_ERRORS as exc:
                st.error(literal(exc))
        shown = st.session_state.get("uses_result")
        if shown is not None and shown[:2] == (run_id, models.step):
            _, _, result, augment, d_class = shown
            cards = st.columns(3)
            cards[0].metric("Real-trained classifier", f"{result['real_accuracy']:.1%}", border=True)
            cards[1].metric(
                "GAN-train", f"{result['gan_train']:.1%}", border=True,
                help="A classifier trained on G's samples alone, tested on the held-out real images",
            )  # fmt: skip
            cards[2].metric(
                "GAN-test", f"{result['gan_test']:.1%}", border=True,
                help="The real-trained classifier on G's samples, against the class asked for",
            )  # fmt: skip
            cards = st.columns(3)
            cards[0].metric(f"{augment['k']} real per class", f"{augment['real_only']:.1%}", border=True)
            cards[1].metric(
                f"+ {augment['generated_per_class']} of G's per class",
                f"{augment['with_generated']:.1%}",
                f"{augment['gain'] * 100:+.1f} points",
                border=True,
            )
            if d_class is not None:  # acgan: D's class head on the held-out images, for D at this step
                accuracy, n_images = d_class
                cards[2].metric(
                    "D as a classifier (d_class_acc)",
                    f"{accuracy:.1%}",
                    f"D at step {models.step:,}",
                    delta_color="off",
                    delta_arrow="off",
                    border=True,
                    help=f"The share of the {n_images} held-out real images whose class D's class head "
                    f"names, measured for the weights probed (step {models.step:,}): what the run's "
                    "d_class_acc column records at its evaluations",
                )
            st.caption(
                f"{result['n_test']} held-out real images; GAN-train trained on {result['n_generated']} of "
                f"G's samples; augmentation: the mean over {len(augment['seeds'])} draws of the real images. "
                + (
                    "G never trained on the held-out images (acgan)."
                    if result["g_saw_test_images"] == "no"
                    else "G trained on all of the data, the held-out images included: GAN-train is flattered "
                    "by what G memorised of them."
                )
            )
