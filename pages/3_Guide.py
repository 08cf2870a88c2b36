"""Guide: how to read each chart, and what a healthy, a failing and a diverging GAN look like."""

from __future__ import annotations

import math

import streamlit as st

from ui.starting import engine_loading, through_the_router

through_the_router()  # before anything is drawn: a first visit by the page's address
st.set_page_config(page_title="GAN dashboard — Guide", page_icon="⚔️", layout="wide")

with engine_loading():
    from gan_core.app import (
        DATASET_SPECS,
        DEFAULT_PICTURE,
        MUTABLE_FIELDS,
        PRESETS,
        GANConfig,
        coverage_total,
        flags,
        read_pictures,
    )
    from gan_core.app import (
        LOSS_SPECS as LOSSES,
    )
    from ui.common import TRAIN_PAGE
    from ui.sidebar import start_preset, start_request

GOTO_TRAIN_KEY = "_goto_train"  # set by a preset's button: the next draw goes to the Train view
if st.session_state.pop(GOTO_TRAIN_KEY, False):  # a preset button was pressed: the Train view starts it
    st.switch_page(TRAIN_PAGE)
st.title("How to read the dashboard")


def _names(names) -> str:
    """``a``, ``b`` and ``c`` for the Guide's text."""
    *rest, last = (f"`{name}`" for name in names)
    return f"{', '.join(rest)} and {last}" if rest else last


# What the text says of each loss comes from the losses themselves (`gan_core.losses.LOSSES`).
EQUILIBRIUM_LOSSES = _names(name for name, loss in LOSSES.items() if loss.equilibrium_d_loss is not None)
MIDPOINT_LOSSES = _names(name for name, loss in LOSSES.items() if loss.midpoint is not None)
CRITICS = _names(name for name, loss in LOSSES.items() if loss.is_critic)
SMOOTHED_LOSSES = _names(name for name, loss in LOSSES.items() if loss.uses_label_smoothing)
SMOOTHED_RULE = LOSSES["nonsaturating"].smoothed(0.2).threshold_rule
SMOOTHED_LSGAN_RULE = LOSSES["lsgan"].smoothed(0.2).threshold_rule
SMOOTHED_EQUILIBRIUM = LOSSES["nonsaturating"].smoothed(0.2).equilibrium_d_loss
# What the text says of the flags comes from the flags module (`gan_core.flags`), so that it cannot drift
# from what raises them (tests/test_guide_text.py feeds a `flags.FlagMonitor` steady values either side of
# each threshold the text states)
D_OVERPOWERS_ACCURACY = flags.D_OVERPOWERS_ACCURACY
G_OVERPOWERS_ACCURACY = flags.G_OVERPOWERS_ACCURACY
VANISHING_ACCURACY = flags.VANISHING_ACCURACY
VANISHING_SHARE = flags.VANISHING_SHARE
CALM_LOW, CALM_HIGH = flags.CALM_ACCURACY
KEEP = flags.KEEP_MARGIN
CALM_ACCURACIES = f"{CALM_LOW * 100:.0f}-{CALM_HIGH:.0%}"  # equilibrium: both smoothed accuracies within
CALM_OUTPUTS = f"{0.5 - flags.CALM_OUTPUT:.1f}-{0.5 + flags.CALM_OUTPUT:.1f}"  # ... and D's outputs, at 0.5
KEPT_ACCURACIES = f"{(CALM_LOW - KEEP) * 100:.0f}-{CALM_HIGH + KEEP:.0%}"  # once up, it stays up within
KEPT_OUTPUT = f"{flags.CALM_OUTPUT + KEEP:.2f}"
KEPT_HQ_PCT = flags.QUALITY_HQ_PCT * (1 - flags.QUALITY_KEEP_SHARE)
DIGIT_CLASSES = coverage_total("digits")
# equilibrium's coverage floor on the digits: fewer classes than this is poor (`flags.quality_poor`)
EQUILIBRIUM_CLASSES = math.ceil(flags.QUALITY_COVERAGE_FRACTION * DIGIT_CLASSES)
COLLAPSE_MODES = math.floor(flags.COLLAPSE_COVERAGE_SHARE * coverage_total("ring8"))  # at or under: collapse
HELD = f"{flags.HOLD_STEPS} steps in a row"
AFTER_WARMUP = f"after the first {flags.BALANCE_WARMUP_STEPS} steps"
VERDICT_RULES = "\n".join(
    f"| `{name}` | {loss.threshold_rule} | {'none (unbounded scores)' if loss.midpoint is None else loss.midpoint} |"
    for name, loss in LOSSES.items()
)

st.markdown(
    f"""
A GAN is a contest between a forger and the police. The generator **G**, the forger, turns noise *z*
(a vector of random numbers) into forgeries G(z); the discriminator **D**, the police, scores each sample
as real or fake. Training succeeds when both improve together until D can no longer tell — and fails
when one side overpowers the other, or when G settles on a few kinds of output.

### Words used here

| word | what it means |
| --- | --- |
| **loss** (sidebar, Loss group) | the objective the two train on. `minimax`: the original game (Goodfellow et al. 2014), D learns to score real as 1 and fake as 0, G minimises log(1 − D(G(z))), whose push fades once D is sure. `nonsaturating`: the same D, G maximises log D(G(z)) instead, which keeps pushing G when D is sure (the usual choice). `lsgan`: squared distances to the targets instead of logs (Mao et al. 2017). `hinge`: D pushes real scores above +1 and fake ones below −1, G raises its fakes' score (Lim & Ye 2017; Miyato et al. 2018). `wgan`, `wgan-gp`, the Wasserstein losses: D is a *critic* whose score is unbounded: the gap between its mean real and fake scores estimates how far G's samples are from the data (Arjovsky et al. 2017); kept smooth by clipping its weights (`clip_value`) or by a gradient penalty (`gp_weight`, Gulrajani et al. 2017) |
| **D's output, accuracy** | D's output on a sample is its probability that the sample is real (a score for `hinge` and the critics); D calls a sample real above the loss's threshold (0.5 for a probability), and its accuracy is the share it gets right, on reals (`d_acc_real`) and on fakes (`d_acc_fake`) |
| **`d_steps`** | D's updates per G update (a critic's *n_critic*, 5 in the WGAN papers): more makes D stronger |
| **label smoothing** | D is trained to score reals 1 − s instead of 1 (one-sided, Salimans et al. 2016), so it is never rewarded for certainty: a gentler D. Only for losses with targets (`minimax`, `nonsaturating`, `lsgan`) |
| **instance noise** | Gaussian noise of that standard deviation added to every sample D sees, real and fake (Sønderby et al. 2017): it blurs the two sets into each other so that D cannot separate them perfectly, and its gradient for G stays informative |
| **spectral norm** | each of D's layers is rescaled so that it stretches no input by more than 1 (Miyato et al. 2018): D cannot become arbitrarily steep, which steadies training |
| **mode, mode collapse** | a mode is one cluster of the data (one of ring8's 8 blobs, one digit); G *collapses* when it draws only a few of them, or the same few samples for every noise |
| **equilibrium** | where D can no longer tell: its accuracies near 50% and its outputs near 0.5 while G's samples look like the data |

### The charts

| chart | what it shows | healthy |
| --- | --- | --- |
| **Losses** | `d_loss` (= `d_loss_real` + `d_loss_fake`) and `g_loss`. A loss below 0 is no error: with `minimax` G minimises log(1 − D(G(z))), the log of a number below 1, so `g_loss` is always negative (about −0.55 early in the healthy ring8 run, near ln 0.5 ≈ −0.69 once D cannot tell); with `hinge`, `wgan` and `wgan-gp` G's loss is minus D's score, which may have either sign | both level off and stay there; with {EQUILIBRIUM_LOSSES}, `d_loss` near 2·ln 2 ≈ {2 * math.log(2):.3f} |
| **D accuracy** (titled with the rule it judges by) | `d_acc_real`: share of real samples D calls real; `d_acc_fake`: share of fakes D calls fake | both near the dashed 50% line (D cannot tell); with `hinge`, whose D that cannot tell may settle on any score in [−1, 1], they may sit apart (one at 0.3, the other 0.8) while the samples are good: there read the samples and quality charts first |
| **D's output** (D(x) and D(G(z))) | `d_real`, `d_fake`: D's mean output on real and fake batches | both near 0.5 for the losses whose output has that midpoint ({MIDPOINT_LOSSES}) |
| **Gradient norms** | `d_grad_norm`, `g_grad_norm` (log scale) | steady; no collapse to ~0 and no runaway |
| **Coverage** | every `eval_every` steps: `modes_covered` (ring8, grid25: modes with a high-quality sample) or `classes_covered` (digits, mnist, fashion-mnist: classes a classifier finds among G's samples) | up at the dashed line of all the data's modes or classes (8, 25, 10), and staying there |
| **Sample quality** | `hq_pct`: % of 2,500 generated points within 3 standard deviations of a mode centre; or `diversity`: spread of G's fixed-noise samples over the real data's, within each class for a conditional G (dashed line: 1) | `hq_pct` high; `diversity` near 1 (→ 0 is collapse) |
| **KL divergence over modes or classes** | `mode_kl` (ring8, grid25) / `class_kl` (digits, mnist, fashion-mnist), in nats (the unit of a divergence measured with natural logarithms; 1 nat ≈ 1.44 bits): how unevenly G's samples fall over the data's K modes or classes; 0 = as evenly as the data, ln K (the dashed line: ln 8 ≈ 2.08, ln 10 ≈ 2.30) = every sample in one, the most it can be | falling from the ln K line towards 0; near the line is mode collapse |
| **KL divergence (2D grid)** (2D data) | `grid_kl`, in nats, 0 = matches: real and generated 2D densities on a grid of cells; unbounded (10+ when G collapses), so on a chart of its own | falling towards 0 |
| **Jensen-Shannon divergence (2D grid)** (2D data) | `grid_js`, the same two densities, in nats: 0 = matches, ln 2 ≈ 0.69 (the dashed line) = no overlap at all, the most it can be | falling from the ln 2 line towards 0 |
| **Fréchet distance (classifier features)**, **KID (classifier features)** (digits, mnist, fashion-mnist; **FID**, **KID (Inception features)** with Inception's weights) | every `eval_every` steps: `fd_cls`, `kid_cls`, how far G's samples are from real images in the feature space of a classifier trained on the real data (0 = matches; not comparable with the FIDs papers report, which are Inception's); `fid`, `kid` in Inception's space when its weights are given | falling toward the dashed "real vs real" line: the same measured between two halves of the real data |
| **PRDC (classifier features)**: precision, recall, density, coverage | `precision_cls`: share of G's samples inside the real data's neighbourhoods (fidelity); `recall_cls`: share of real images inside G's (diversity); `density_cls`, `coverage_cls`: the same, robust to outliers (density has no upper bound: above the line is not better than real, but G's samples packed where the reals are densest, as a G collapsed onto a few common digits can be) | rising toward their dashed lines (≈ 0.95), slowly: on the digits `recall_cls` stays at 0 for the first few thousand steps (see *Equilibrium* below); precision high with recall low is a collapse onto a few good samples, or a G that has learnt only a few digits yet (early in a run) |
| **Label fidelity** (class-conditional runs) | `label_fidelity`: share of G's samples the classifier reads as the class asked for (digits, mnist, fashion-mnist); `d_class_acc` (acgan): share of held-out real images whose class D's class head names, beside the standalone classifier's accuracy when at hand | `label_fidelity` near its dashed 1.0 line; `d_class_acc` rising toward the classifier's |
| **Per class / Per mode** | at each evaluation, under the quality charts: G's share of its evaluation samples per class (as the classifier names them) or per mode (its high-quality points there) as bars, the real data's share as a green line over each; red: a class or mode G under-represents (under half its real share; for a mode, judged on the share nearest it), which *Coverage* may still count, as it asks for one sample of a class, or one high-quality sample of a mode; for modes an outline: the share whose nearest mode it is, however far (modes numbered as the data lists them: ring8's counter-clockwise from (2, 0)); a conditional run adds the label fidelity of each class asked for. Scrub the snapshot slider back to see an earlier evaluation's | every bar near its green line, no red in the end; red bars can remain while the green `equilibrium` flag is up (see *Equilibrium* below) |
| **Samples** | G's output for the same fixed noise, every `sample_every` steps; for 2D data the generated points over D's decision heatmap (as GAN Lab draws it), optionally with arrows showing where G pushes its points (the negative of the gradient of its loss) and with G's map of its noise (a grid of lines over z drawn where G sends it: GAN Lab's manifold; a collapsing G squeezes it onto a few spots); snapshots also at a pause and after each single step | samples look like the real ones and cover all of their variety |

Vertical markers on every chart show hyperparameter changes (grey, dotted, labelled with the new value)
and failure flags: a solid red line where a flag was raised, a lighter dashed one where it cleared
(`d_leads`, worth watching, in blue; `equilibrium`, the healthy flag, in green and dash-dotted, its
clearing long-dash-dotted, so that it is told from a failure without its colour; a marker has a small
triangle at its top, a horizontal reference line none). A marker label too close
to a newer one is left out so that marker labels never print over each other; hover the small triangle at the marker's top for it. Values a chart cannot
place are pinned to its edge in the metric's colour rather than dropped: on a log scale a value of 0 or
below is a ▼ at the bottom (a gradient norm falling to exactly 0 shows as a row of them), and a NaN or an
infinity is a ✕ or an arrow at the top or bottom edge. The **EMA smoothing** slider (an exponential moving average: each plotted value is a weighted average of the values up to it, the newest weighing most) smooths the curves (the raw curve stays faint behind), and a faint band shows
the minimum and maximum hidden inside each plotted point, so spikes survive downsampling. Use the
**Snapshot at step** slider to scrub back through saved samples.

D's verdict, real or fake, as the accuracy charts count it, by loss (the Probe page's Ask D uses the same
fixed thresholds; for a critic, the D of the Wasserstein losses explained below the table, it compares a
score with half-way between D's mean scores on real data and on G's samples). To see a checkpoint's D
on many samples at once, the Probe page's Ask D → *Real against G's* draws its outputs on a batch of real
samples and one of G's as two histograms, with the ROC AUC of its scores: 0.5 when D cannot tell them
apart, 1 when it separates them completely, for every loss alike:

| loss | D calls a sample real when | D's output when it cannot tell |
| --- | --- | --- |
{VERDICT_RULES}

With **label smoothing** (`label_smoothing` = ls, D's real target t = 1 − ls; {SMOOTHED_LOSSES} only) a D
that cannot tell outputs t/2, not 0.5 (Salimans et al. 2016, §3.4), so the threshold and the midpoint line
move to t/2, and the equilibrium line of D's loss to D's loss at t/2. At ls = 0.2: minimax and
nonsaturating call a sample real when {SMOOTHED_RULE}, lsgan when {SMOOTHED_LSGAN_RULE}; the
equilibrium D loss of the first two is {SMOOTHED_EQUILIBRIUM:.3f}, not 2 ln 2 = 1.386.

For the Wasserstein losses ({CRITICS}) D is a *critic*: its scores are unbounded and adding a constant to
all of them changes nothing, so no fixed threshold means anything. There is no 0.5 line, and accuracy is
measured against the median of the batch's pooled scores (so it is still about 50% when D cannot tell and
100% when it separates real from fake perfectly). On real and fake batches of one size the two accuracies
are then the same number (as many reals above the median as fakes below it): one line hides the other.
A healthy critic keeps ranking the reals above the fakes (it is trained toward the best critic, and G still
gets its gradient from one that separates them), so a critic's run never shows `d_overpowers`, `d_leads` or
`equilibrium`; `g_overpowers` (the fakes ranked above the reals) still says the critic has fallen behind.

"""
)

st.subheader("What to look for")
st.caption(
    "Each scenario links its preset: the button loads it into the Train view's form and starts it. "
    "Every preset shows its phenomenon, and raises its flag, within about two minutes on a 2-core CPU."
)


def run_preset(name: str, request: str) -> None:
    """Button callback: load the preset into the Train view's form and ask that view to start it (as
    start request ``request``: one click starts one run)."""
    start_preset(name, request)
    st.session_state[GOTO_TRAIN_KEY] = True


@st.cache_data(show_spinner=False)
def pictures() -> dict[str, dict]:
    return read_pictures()  # docs/guide: made by scripts/guide_pictures.py, current for each preset


# What a student sees in the defaults' picture (the presets say it in their own `watch_for`)
DEFAULT_WATCH_FOR = (
    "The 8x8 digits sharpen out of noise and the grid shows most of the ten digits; D stays ahead on the "
    "fakes (d_leads, blue) without overpowering G: no failure flag."
)
FLAG_COLOURS = {"failure": "red, a failure", "watch": "blue, worth watching", "healthy": "green, healthy"}


def _finite(value: object) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)


def picture_alt(name: str, title: str, entry: dict) -> str:
    """The picture's text for a screen reader: the run it shows, its flags and what to see in it (the
    visible caption is the short record; this says what the picture holds)."""
    cfg = PRESETS[name].config() if name in PRESETS else GANConfig()
    raised = [
        f"{flag} ({FLAG_COLOURS[flags.FLAGS[flag].severity]}) at step {step:,}"
        for flag, step in entry["flags_raised"].items()
        if flag in flags.FLAGS
    ]
    quality, total = entry.get("quality", {}), coverage_total(cfg.dataset)
    measured = []
    for key, kind in (("modes_covered", "modes"), ("classes_covered", "classes")):
        if _finite(quality.get(key)):
            measured.append(f"{quality[key]:g} of {total} {kind} covered" if total else f"{kind} covered")
    if _finite(quality.get("hq_pct")):
        measured.append(f"{quality['hq_pct']:.0f}% of G's points high quality")
    if _finite(quality.get("diversity")):
        measured.append(f"diversity {quality['diversity']:.2f}")
    banners = "a banner for each flag still up at its end, " if entry["flags_raised"] else ""
    bars = "Per mode" if "modes_covered" in quality else "Per class"
    charts = "the charts, with a marker where each flag was raised: losses, D's accuracy and outputs, " + (
        f"gradient norms, coverage and sample quality, and the {bars} bars" if measured else "gradient norms"
    )
    if DATASET_SPECS[cfg.dataset].is_points:  # the Train view draws a 2D run's samples first
        points = "G's points over D's decision heatmap, earlier snapshots beside them"
        parts = f"the snapshot slider, {points}, {charts}"
    else:
        parts = f"{charts}, the snapshot slider and G's samples beside real ones"
    run = title if cfg.dataset in title else f"{title} on {cfg.dataset}"
    return " ".join(
        [
            f"Screenshot of the Train view at the end of a run of {run}, seed {entry['seed']}: "
            f"{entry['status']} at step {entry['steps']:,} of {cfg.steps:,}. From the top: the status line, "
            f"{banners}the progress bar, {parts}.",
            f"Flags raised: {'; '.join(raised)}." if raised else "No flag raised.",
            f"At the last evaluation: {', '.join(measured)}."
            if measured
            else "No evaluation before it ended.",
            "What to see: " + (PRESETS[name].watch_for if name in PRESETS else DEFAULT_WATCH_FOR),
        ]
    )


def picture(name: str, title: str) -> None:
    """The Train view at the end of a run of preset ``name`` (or the defaults), in an expander."""
    entry = pictures().get(name)
    if entry is None:  # no current picture (tests/test_guide_pictures.py keeps them current)
        return
    raised = ", ".join(f"{flag} at step {step:,}" for flag, step in entry["flags_raised"].items())
    with st.expander(f"See it: the Train view at the end of a run of {title}"):
        st.image(
            str(entry["file"]),
            caption=f"{title}, seed {entry['seed']}: {entry['status']} at step {entry['steps']:,}; "
            f"flags raised: {raised or 'none'}.",
            alt=picture_alt(name, title, entry),
        )


def scenario(text: str, *names: str) -> None:
    """One scenario: its description, then for each preset the settings it uses, a button and a
    picture of the Train view at the end of its run."""
    st.markdown(text)
    if "healthy-digits" in names:
        picture(DEFAULT_PICTURE, "the defaults (digits, 3,000 steps)")
    for name in names:
        preset = PRESETS[name]
        settings = ", ".join(f"`{k}` {_value(v)}" for k, v in preset.overrides.items())
        flags_text = ", ".join(f"`{f}`" for f in preset.expected_flags) or "no failure flag"
        st.caption(f"Preset **{preset.title}** (`--preset {name}`): {settings}. Expected: {flags_text}.")
        st.button(
            f"Run preset: {preset.title}",
            key=f"guide_preset_{name}",
            help=preset.watch_for,
            on_click=run_preset,
            args=(name, start_request()),
        )
        picture(name, preset.title)


def _value(v: object) -> str:
    if isinstance(v, bool):
        return "on" if v else "off"
    return f"{v:g}" if isinstance(v, float) else str(v)


scenario(
    f"""**Equilibrium (healthy).** Accuracies hover around 50%, D(x) and D(G(z)) around 0.5, `d_loss` near
2·ln 2 for the BCE losses (binary cross-entropy, the loss of a yes/no classifier: `minimax` and
`nonsaturating` alike, whose D's loss is the same), and the samples improve steadily and cover every mode of
the data.

*What the green `equilibrium` flag checks, and no more:* {AFTER_WARMUP}, for {HELD}, that D cannot tell (both
smoothed accuracies within {CALM_ACCURACIES}, and D(x) and D(G(z)) within {CALM_OUTPUTS} for the losses whose
midpoint is 0.5) while no failure flag is up; and that the last evaluation passed a floor: at least half the
modes or classes covered ({EQUILIBRIUM_CLASSES} of the digits' {DIGIT_CLASSES}, a class counting as covered
once the classifier finds a single sample of it), `hq_pct` at least {flags.QUALITY_HQ_PCT:g}, `diversity` at
least {flags.QUALITY_DIVERSITY:g} and `grid_js` at most {flags.QUALITY_GRID_JS:g}, each where it is measured
(a G collapsed onto one cluster fools D just as well, so balance alone is not enough). Once up, it stays up
while the accuracies are within {KEPT_ACCURACIES}, the outputs within {KEPT_OUTPUT} of the midpoint and each
evaluation passes floors {flags.QUALITY_KEEP_SHARE:.0%} laxer (`hq_pct` {KEPT_HQ_PCT:g}, not
{flags.QUALITY_HQ_PCT:g}); an evaluation below those drops it at once. It never reads the *Per class* chart,
so it can be up while that chart shows red classes, even one at 0% (a default digits run left to train on
raised it with three classes red, one of them at 0%). D judges each sample on its own, so it cannot see that G
draws too few of one digit: the flag says the contest is balanced and the samples pass a floor, not that G has
learnt every class. Read red bars under a green flag as work left: keep training and scrub the snapshot slider
to see whether they fill. Red that stays evaluation after evaluation is G dropping those classes, a partial
collapse that `mode_collapse` (raised only when G covers at most half the classes) does not flag; `class_kl`
says how unevenly G's samples fall over the classes.

**The defaults on the digits do not get there:** G learns to draw most digits (8 to 10 of the 10 classes by
step 3,000), though the quality metrics still call its samples rough: `fd_cls` about 60 against a real-vs-real
line near 1, `precision_cls` about 0.3 and `recall_cls` 0 (no real image lies inside the generated samples'
neighbourhoods yet); they take about ten times as long (at 30,000 steps `fd_cls` about 4, precision 0.87,
recall 0.75, coverage 0.82, all ten classes). And D stays ahead on the fakes: over the default run's last
1,000 steps D caught about 97% of fakes and called 81% of reals real, with D(x) about 0.6 and D(G(z)) about
0.4. The charts show it as the blue `d_leads` flag, worth watching but no failure: the samples keep improving.
The eight tight clusters of `ring8` take more: a D without spectral norm (it caps D's slope, so D cannot see
how tight each cluster is), a 2D noise vector, a batch of 256, and equal, modest learning rates; with those,
the original minimax loss reaches all eight modes with over 90% of the samples on them.""",
    "healthy-ring8",
    "healthy-grid25",
    "healthy-digits",
)
scenario(
    f"""**D overpowers G.** D's accuracy on real and fake climbs to ~100% and stays there, D(x) → 1 and
D(G(z)) → 0, `d_loss` → 0 (the red `d_overpowers` flag: both smoothed accuracies above
{D_OVERPOWERS_ACCURACY:.0%} for {HELD}, {AFTER_WARMUP}). What G's gradient does depends on G's loss. This
preset uses the non-saturating loss, −log D(G(z)), which is steepest exactly where D rejects the fakes:
`g_loss` sits at about 5 to 8 and `g_grad_norm` is the top line of the gradient chart all run (measured on
seeds 0 and 1: a median of 25 to 78 over each 500 steps, peaks of 223 and 132, above `d_grad_norm` at every
step but one, while D's own norm has a median of 0.07-0.5 with brief spikes, 55 at most). So G is not starved:
it is pushed hard, but D, learning ten times faster with five updates per G step, rejects each new forgery at
once, and the digits stay blurred and few (seed 0: 3, 5, 5 and 2 of the 10 classes at steps 500 to 2,000,
nearly every sample a 1 at the end). The red `exploding_gradients` flag that comes first (step 166 on seed 0)
is G's gradient above {flags.EXPLODING_NORM:g} for {flags.EXPLODING_RAISE_STEPS} steps in a row (223 against
D's 42 at its peak on seed 0); it clears by step 750. A fading G gradient is the failure of the saturating
`minimax` loss, next. *Settings that tend to show it:* `lr_d` 10× `lr_g` with `d_steps` 5 and no spectral
norm. Raising `lr_d` ten times alone, mid-run, on a healthy 2D run is not the same experiment: on
healthy-grid25 (lr_d 5e-4 → 5e-3) Adam's larger steps overshot, `d_loss` spiked to 35, `hq_pct` fell from 69%
to 2%, and D then flattened to an output near 0.5 everywhere with its gradient near 0: a D that has stopped
learning, not one that wins, which the accuracies alone read as calm. *Remedies:* a lower `lr_d`, fewer
`d_steps`, label smoothing, instance noise, spectral norm.""",
    "d-overpowers",
)
scenario(
    f"""**Vanishing gradients.** The saturating `minimax` loss with a D that wins: G's loss log(1 - D(G(z)))
is flat where D confidently rejects the fakes, so `g_grad_norm` falls far below its peak (the flag: smoothed
`g_grad_norm` below {VANISHING_SHARE:.0%} of its peak while both smoothed accuracies are above
{VANISHING_ACCURACY:.0%}, for {HELD}; measured on seeds 0 and 1: from about 0.4 at step 2 to 1e-5 to 1e-4 at
step 300 and below 1e-7 by step 2,000) and G stops learning while D's accuracies sit near 100%: its samples
stay what they were at step 500 (1 to 3 of the 10 classes: the *Per class* chart says which; `mode_collapse`
is judged from step {flags.COLLAPSE_WARMUP_STEPS:,} on, where this preset ends, so it never raises that flag).
*Settings that tend to show it:* `minimax` with the strong D above. *Remedies:* the non-saturating loss (same
fixed point, strong gradients where D wins), or a weaker D.""",
    "vanishing-gradients",
)
scenario(
    f"""**G outruns D.** `d_acc_fake` falls far below chance (50%), to 0 for most of the run: D is fooled (the
red `g_overpowers` flag waits for more: smoothed `d_acc_fake` below {G_OVERPOWERS_ACCURACY:.0%} for {HELD},
{AFTER_WARMUP}; well under a coin toss, so that an undecided D near 50% does not raise it), but it never
learned the real data, so G gets meaningless guidance and its samples drift, often to one image over and over
(the *Per class* chart puts nearly every sample in one class; `mode_collapse` is judged from step
{flags.COLLAPSE_WARMUP_STEPS:,} on, where this preset ends, so the flag does not come). *Settings that tend to
show it:* a critic that learns far slower than G: `wgan-gp` with `lr_d` 100× below `lr_g` and one critic step
per G step (WGAN-GP wants five). The critic then scores the fakes above the real data. *Remedies:* more
`d_steps`, a higher `lr_d` or a lower `lr_g`.""",
    "g-outruns",
)
scenario(
    f"""**Mode collapse.** The losses can look fine, but the samples show only a few kinds of output: on
`ring8` the generated points sit on one or two of the eight clusters; on digits the grid shows the same digit
over and over. Scrub the snapshots: collapsed G often hops from mode to mode. *Settings that tend to show it:*
a G that learns 10× faster than D on `ring8`: G piles every sample onto the point D currently rates most real,
D marks it fake, and the whole blob jumps to the next cluster. *Remedies:* balanced learning rates together
with a smaller noise vector, as the healthy ring8 preset has (measured on this preset, seed 0: `lr_g` 1e-4 =
`lr_d` and `latent_dim` 2 cover all 8 modes from step 2,000; either alone, at most 1 mode; `wgan-gp`, 1 mode).
The *Per mode* chart shows where the blob sits: it is too wide to count as high quality at any mode, so every
bar is low or empty, and every mode but the one it sits by is red (judged on the points nearest each mode,
high quality or not): the outline over that one holds nearly all of G's samples. *How the flag decides:* at
each evaluation (every `eval_every` steps) it counts the modes or classes G covers; an evaluation counts as
collapsed when G covers at most half the data's modes ({COLLAPSE_MODES} of ring8's {coverage_total("ring8")}),
at most half the most it ever covered, or at most {flags.COLLAPSE_FLOORS["modes_covered"]:g}, or when
`diversity` falls to half its best or to {flags.COLLAPSE_FLOORS["diversity"]:g}. It judges evaluations from
step {flags.COLLAPSE_WARMUP_STEPS:,} on (before that G may simply not have found the modes yet) and is raised
at the second collapsed evaluation in a row, so its red marker sits on that second one, whatever else it
shows: on this preset that is step 2,500, on seed 0 the run's best evaluation (`hq_pct` 24%, all of it on 1
mode, against 0-4% at every other; `hq_pct` counts samples near any mode, so a blob sitting on one cluster
scores well while covering one mode of eight).""",
    "mode-collapse",
)
scenario(
    f"""**Divergence.** A loss shoots off, gradient norms explode (above {flags.EXPLODING_NORM:g}, the warning
sign given by "GAN hacks", a widely shared list of GAN training tips, where `exploding_gradients` is raised
after {flags.EXPLODING_RAISE_STEPS} steps), then values turn NaN and the run fails. *Settings that tend to
show it:* learning rates far too high, or Adam without its average of squared gradients (`beta2` 0 with
`beta1` 0.9): each step divides a long average of gradients by the latest gradient alone, so a small gradient
makes a huge step. *Remedies:* lower learning rates, Adam's usual `beta2` (0.99-0.999), gradient penalty,
spectral norm.""",
    "divergence",
)
scenario(
    """**Conditional generation.** With class-labelled data, `conditioning` tells G which class to draw:
the sample grid turns into one row per class (0 at the top), each column one noise vector, so what
changes down a column is the class alone. `label_fidelity` says how often the classifier reads a sample
as the class asked for (0.1 for a G that ignores the label). With `acgan` D also names each image's class,
and `d_class_acc` scores that on real images it never trained on. *What to watch:* label fidelity at 1.0
while the rows stay varied. A conditional G can cover every class and still collapse inside each, one
image per class whatever its noise: `diversity` is then measured within each class (against the real
images of that class), so a row that repeats one image pulls it toward 0 and raises `mode_collapse`.
On these digits every conditioning does that unless `ms_weight` (the mode-seeking term of MSGAN, Mao et al. 2019: a
penalty that grows when two different noise vectors give nearly the same image) makes G pay for it: the preset below sets 0.1; set it to 0 to watch the collapse. `projection` and `concat` may also
lose a class for a while. The Probe page draws or asks D about one class.""",
    "conditional-digits",
)

st.markdown(
    f"""
### Stepping through training

Pause a run, then **Step** (one full step: `d_steps` D updates and one G update), **D step** (one D
update only, G stands still) or **G step** (one G update only, D stands still). Each single step is drawn
on the loss, accuracy, D output and gradient charts as its own point in the metric's colour: a ◆ for a
D-only step (the values of that D update, just after the step it followed), a ■ for a G-only step, a ●
for a full step. A step's values are measured on one batch, just before its update, so they can jump from
one step to the next by more than one update changes them: judge a trend over several steps in a row, never one.

*Try it* on the healthy digits (the defaults, or the **Healthy digits** preset above), paused near step 1,000,
while D is ahead. Press **D step** five times: D(G(z)) (`d_fake`) falls a little at every press and
`d_loss` falls with it (measured on seeds 0-2: `d_fake` 0.40 → 0.36, 0.44 → 0.37 and 0.41 → 0.37;
`d_loss` down by 0.09-0.16), while `d_acc_fake`, already about 100%, cannot rise and `d_acc_real` jumps
about (0.70, 0.61, 0.55, 0.67, 0.72 on seed 1). Then press **G step** five times: `d_fake` rises at
every press as G chases D's current verdict (0.36 → 0.39, 0.37 → 0.45 and 0.36 → 0.39) and `g_loss`
falls. Keep pressing **G step**: after five to ten presses `d_acc_fake` drops from 100%, and fast (on
seed 1 to 3% by the ninth): G's fakes now fool the D that stood still. Closer to balance the same
presses show little: on the healthy ring8 preset paused at step 1,700, neither ten D steps nor ten G
steps moved any value by more than its batch-to-batch noise (`d_acc_real` went 0.99, 0.73, 0.71 over
three D steps while `d_acc_fake` rose, on seed 0): at equilibrium each side is already close to its
best answer to the other.

Change any mid-run setting ({", ".join(f"`{name}`" for name in MUTABLE_FIELDS)}) while the run trains and press
**Apply changes**; the change is recorded with its step and drawn on every chart.
"""
)

st.subheader("Failure flags")
st.markdown(
    "The run watches itself and raises these flags — it never changes your settings; you decide. Each flag "
    "appears as a banner with a suggestion, as a marker on every chart (solid where it was raised, dashed "
    "where it cleared; red for a failure, blue for `d_leads`, worth watching; `equilibrium` green and "
    "dash-dotted, long-dash-dotted where it cleared; on Compare, in the run's colour, dotted where it was "
    "raised), in "
    "`events.csv` and in the `flags` column of the CSV. Signals are smoothed over "
    f"about {flags.SMOOTH_STEPS} steps and a flag changes only after its condition has held (or stopped "
    f"holding) for {flags.HOLD_STEPS} steps, or {flags.HOLD_EVALS} evaluations for coverage, so flags do not "
    f"flicker; `exploding_gradients` alone is raised after {flags.EXPLODING_RAISE_STEPS} steps, a warning "
    f"before a NaN ends the run, and clears after {flags.HOLD_STEPS}. `equilibrium` and `d_leads`, whose "
    f"measures a healthy run can hold right at a bound, clear only {flags.KEEP_MARGIN:g} beyond the bound "
    "that raised them."
)
st.markdown(flags.__doc__.split("Thresholds (the Guide page shows the same):", 1)[1])
st.markdown(
    "| flag | what it means | what to try |\n| --- | --- | --- |\n"
    + "\n".join(
        f"| `{name}` | {info.explanation} | {info.suggestion} |" for name, info in flags.FLAGS.items()
    )
)
