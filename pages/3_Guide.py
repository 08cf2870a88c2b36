"""Guide: how to read each chart, and what a healthy, a failing and a diverging GAN look like."""

from __future__ import annotations

import math

import streamlit as st

from gan_core import flags

st.set_page_config(page_title="GAN dashboard — Guide", page_icon="⚔️", layout="wide")
st.title("How to read the dashboard")

st.markdown(
    f"""
A GAN is a contest. The generator **G** turns noise *z* into forgeries G(z); the discriminator **D** scores
each sample as real or fake. Training succeeds when both improve together until D can no longer tell —
and fails when one side overpowers the other, or when G settles on a few kinds of output.

### The charts

| chart | what it shows | healthy |
| --- | --- | --- |
| **Losses** | `d_loss` (= `d_loss_real` + `d_loss_fake`) and `g_loss` | both level off and stay there; with the minimax/non-saturating loss, `d_loss` near 2·ln 2 ≈ {2 * math.log(2):.3f} |
| **D accuracy** | `d_acc_real`: share of real samples D calls real; `d_acc_fake`: share of fakes D calls fake | both near the dashed 50% line (D cannot tell) |
| **D(x) and D(G(z))** | `d_real`, `d_fake`: D's mean output on real and fake batches | both near 0.5 when D's output is a probability (minimax, non-saturating, lsgan) |
| **Gradient norms** | `d_grad_norm`, `g_grad_norm` (log scale) | steady; no collapse to ~0 and no runaway |
| **Samples** | G's output for the same fixed noise, every `sample_every` steps; for 2D data the generated points over D's decision heatmap (as GAN Lab draws it), optionally with G's gradient arrows | samples look like the real ones and cover all of their variety |

Dotted vertical markers on every chart show hyperparameter changes, labelled with the new value. The
**EMA smoothing** slider smooths the curves (the raw curve stays faint behind), and a faint band shows
the minimum and maximum hidden inside each plotted point, so spikes survive downsampling. Use the
**Snapshot at step** slider to scrub back through saved samples.

For the Wasserstein and hinge losses D is a *critic* that outputs unbounded scores, not probabilities:
there is no 0.5 line, and accuracy is measured against the median of the batch's pooled scores (so it is
still about 50% when D cannot tell and 100% when it separates real from fake perfectly).

### What to look for

**Equilibrium (healthy).** Accuracies hover around 50%, D(x) and D(G(z)) around 0.5, `d_loss` near
2·ln 2 for the minimax family, and the samples improve steadily and cover every mode of the data.

**D overpowers G.** D's accuracy on real and fake climbs to ~100% and stays there, D(x) → 1 and
D(G(z)) → 0, `d_loss` → 0, and G's gradient fades (`g_grad_norm` falls) so G stops improving.
*Settings that tend to show it:* `lr_d` 10× `lr_g` with `d_steps` 5, or the saturating `minimax` loss (vanishing gradients: G's
loss log(1 - D(G(z))) is flat where D confidently rejects the fakes). *Remedies:* the non-saturating
loss, a lower `lr_d`, fewer `d_steps`, label smoothing, instance noise, spectral norm.

**G outruns D.** `d_acc_fake` falls below 50% and stays there: D is fooled, but it never learned the real
data, so G gets meaningless guidance and its samples drift. *Settings that tend to show it:* `lr_g` 10× `lr_d`. *Remedies:* more
`d_steps`, a lower `lr_g`.

**Mode collapse.** The losses can look fine, but the samples show only a few kinds of output: on
`ring8` the generated points sit on one or two of the eight clusters; on digits the grid shows the same
digit over and over. Scrub the snapshots: collapsed G often hops from mode to mode. *Remedies:*
`wgan-gp`, a lower learning rate, a larger batch.

**Divergence.** A loss shoots off, gradient norms explode (above ~100, as the GAN hacks advise
watching), then values turn NaN and the run fails. *Settings that tend to show it:* learning rates near 1e-2 with `beta1` 0.9.
*Remedies:* lower learning rates, gradient penalty, spectral norm.

### Stepping through training

Pause a run, then **Step** (one full step: `d_steps` D updates and one G update), **D step** (one D
update only: watch D's accuracy rise while G stands still) or **G step** (one G update only: watch
D(G(z)) rise as G chases D's current verdict). Change `lr_g`, `lr_d`, `d_steps`, label smoothing,
instance noise or the gradient-penalty weight while the run trains and press **Apply changes**; the change
is recorded with its step and drawn on every chart.
"""
)

st.subheader("Failure flags")
st.markdown(
    "The run watches itself and raises these flags — it never changes your settings; you decide. Each flag "
    "appears as a banner with a suggestion, as a red marker on every chart, in `events.csv` and in the "
    "`flags` column of the CSV. Signals are smoothed over about 50 steps and a flag changes only after its "
    "condition has held (or stopped holding) for 100 steps, or 2 evaluations for coverage, so flags do "
    "not flicker."
)
st.markdown(flags.__doc__.split("Thresholds (the Guide page shows the same):", 1)[1])
st.markdown(
    "| flag | what it means | what to try |\n| --- | --- | --- |\n"
    + "\n".join(
        f"| `{name}` | {info.explanation} | {info.suggestion} |" for name, info in flags.FLAGS.items()
    )
)
