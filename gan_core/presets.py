"""Scenario presets: one click (or ``train --preset NAME``) to a run that shows one phenomenon.

`PRESETS` maps a short name to a `Preset`: a title, what a student should watch for, the failure flags
the run is expected to raise (none for the healthy ones) and the config fields it changes from the
`GANConfig` defaults. `preset_config(name, **overrides)` builds the validated config; the dashboard's
sidebar and Guide load it into the form, the command line starts from it.

Each preset was tuned to show its phenomenon, and raise its flag, on the CPU within about two minutes
(``python -m benchmarks.presets`` measures them all on several seeds; the table is in BENCHMARKS.md).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from types import MappingProxyType
from typing import Any

from gan_core.config import ConfigError, GANConfig
from gan_core.files import read_regular
from gan_core.flags import FAILURE_FLAGS

# Fields added to the config after pictures were made, at the value that trains a run exactly as before
# the field existed (an unconditional run is the run it was): left out of `Preset.fingerprint` at that
# value, so that adding such a field does not make every picture stale; at any other value they count.
NEUTRAL_DEFAULTS: Mapping[str, Any] = MappingProxyType({"conditioning": "none", "ms_weight": 0.0})


@dataclass(frozen=True)
class Preset:
    name: str  # short, for the command line: --preset NAME
    title: str
    watch_for: str  # one or two sentences a student understands
    expected_flags: tuple[str, ...]  # failure flags the run should raise; () for a healthy run
    overrides: Mapping[str, Any] = field(default_factory=dict)  # fields changed from GANConfig's defaults

    def __post_init__(self) -> None:
        # read-only, like the frozen config it describes: no caller can change a preset for the others
        object.__setattr__(self, "overrides", MappingProxyType(dict(self.overrides)))

    @property
    def healthy(self) -> bool:
        return not self.expected_flags

    def config(self, **overrides: Any) -> GANConfig:
        """The preset's config with ``overrides`` on top (validated: bad values raise `ConfigError`)."""
        return GANConfig.from_dict({**self.overrides, **overrides})

    def fingerprint(self) -> str:
        """SHA-256 (hex) of the preset's whole config (`GANConfig.to_dict`, keys sorted): it changes when
        the preset or a default it keeps changes, so a picture made from the preset can tell it is stale
        (``scripts/guide_pictures.py``). A field in `NEUTRAL_DEFAULTS` at that value is left out."""
        values = self.config().to_dict()
        for name, neutral in NEUTRAL_DEFAULTS.items():
            if values.get(name) == neutral:
                del values[name]
        text = json.dumps(values, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()


# The healthy ring8 recipe: 8/8 modes and >= 80% high-quality samples on seeds 0, 1 and 2 (measured
# 90.7 / 92.3 / 94.0% at 24,000 steps, 44-70 s on one CPU thread; BENCHMARKS.md). Each choice was
# measured against the alternative on the same seeds:
# - no spectral norm on D: it caps D's slope, so D cannot tell a cluster of std 0.02 from one three
#   times wider and the samples stay smeared (0.3% high quality at the defaults);
# - latent_dim 2: G maps a 2D noise plane onto the ring; with 32 dimensions (batch 256) it kept 1 mode;
# - batch 256: steadier coverage than 64;
# - the original (saturating) minimax loss, healthy while D is balanced: G's push fades where D is
#   sure, so G does not overshoot the clusters; the non-saturating loss lost modes on one seed in three
#   (4 of 8 modes at 10,000 steps);
# - width 64 and beta2 0.99: the high-quality share of a wider net or Adam's default beta2 rises as
#   fast but keeps dipping (to 30-70% for one evaluation) as G's clusters jolt; these damp the jolts and
#   make each step twice as fast.
_RING8_HEALTHY = dict(
    dataset="ring8",
    loss="minimax",
    spectral_norm=False,
    latent_dim=2,
    width=64,
    batch_size=256,
    lr_g=3e-4,
    lr_d=3e-4,
    beta2=0.99,
    steps=24000,
    sample_every=200,
    eval_every=500,
    checkpoint_every=500,  # (a run stopped early can go on: tiny models, a checkpoint costs ~1 ms)
)

PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset(
            "healthy-ring8",
            "Healthy equilibrium (ring8)",
            "D's accuracies settle near 50% and its outputs near 0.5 while G's points find all eight "
            "clusters of the ring and tighten onto them.",
            (),
            _RING8_HEALTHY,
        ),
        Preset(
            "healthy-grid25",
            "Healthy equilibrium (grid25)",
            "The ring8 recipe with a wider network and faster learning rates for 25 clusters: G's points "
            "spread over the whole 5x5 grid, then tighten onto every cluster. D stays ahead for thousands "
            "of steps (about 75% right on the reals) before it comes back toward 50%: equilibrium first "
            "raised at step 6,842 on seed 0.",
            (),
            # 25 clusters need the capacity: at width 64 the ring8 recipe covers 20-22 of them with 35%
            # of the samples high quality at 24,000 steps; width 128 at lr 5e-4 reaches 25 of 25.
            {**_RING8_HEALTHY, "dataset": "grid25", "width": 128, "lr_g": 5e-4, "lr_d": 5e-4, "steps": 16000},
        ),
        Preset(
            "healthy-digits",
            "Healthy digits",
            "The 8x8 digits sharpen out of noise and the grid shows most of the ten digits; D stays ahead "
            "on the fakes (d_leads, blue) without overpowering G: no failure flag. The quality metrics move "
            "slowly: fd_cls falls, but recall_cls stays near 0 for thousands of steps (0.75 at 30,000).",
            (),
            dict(dataset="digits", steps=4000, eval_every=500),
        ),
        Preset(
            "conditional-digits",
            "Conditional digits",
            "G is told which digit to draw (acgan: D also names the class): the grid shows one row per "
            "digit, 0 at the top, each column one noise vector. label_fidelity (the share of G's samples "
            "the classifier reads as the digit asked for) climbs to about 100% by step 1,000 and "
            "d_class_acc (D naming held-out real digits) to about 90%, while diversity, measured within "
            "each digit, climbs to the real digits' (1): the mode-seeking term (ms_weight 0.1) keeps G "
            "from drawing one image per class, as it does without it (set ms_weight to 0 to see "
            "mode_collapse raised).",
            (),
            # acgan, the defaults otherwise: label_fidelity 1.000 at every evaluation from step 250 to
            # 4,000 on seeds 0-2 (BENCHMARKS.md), fd_cls 30-36 against 59 for the unconditional
            # defaults. projection and concat reach 0.9-1.0 but drop a class now and then (0.72-0.90 at
            # some evaluations on seeds 0-2, at width 128 and 256): below the 90% target at one
            # evaluation in five. All three collapse within each class without the mode-seeking term
            # (diversity within the digits 0.05-0.3 at 3,000 steps); with ms_weight 0.1 acgan reaches
            # 1.03, label fidelity 0.96-0.99 from step 750 and fd_cls 15.5-17.3 on seeds 0-2
            # (BENCHMARKS.md, "Diversity within each class").
            dict(dataset="digits", conditioning="acgan", ms_weight=0.1, steps=3000, eval_every=250),
        ),
        Preset(
            "d-overpowers",
            "Discriminator overpowers",
            "D learns ten times faster and trains five times per G step, without spectral norm: its "
            "accuracy on real and fake climbs to 100%, D(x) goes to 1 and D(G(z)) to 0, and the digits stay "
            "blurred and few. G's non-saturating loss is steepest where D rejects the fakes, so G's "
            "gradient does not fade: g_grad_norm is the top line of the gradient chart (tens, peaking "
            "above 100), and it is G's gradient that raises exploding_gradients early in the run (step "
            "166 on seed 0, cleared by 724). G ends drawing nearly one digit, yet no mode_collapse flag "
            "comes: it is judged from step 2,000, where this run ends (the Coverage chart shows it).",
            ("d_overpowers",),
            dict(dataset="digits", spectral_norm=False, lr_d=2e-3, d_steps=5, steps=2000, eval_every=500),
        ),
        Preset(
            "g-outruns",
            "Generator outruns the discriminator",
            "The critic (wgan-gp) learns a hundred times slower than G and gets one step per G step: it "
            "scores G's fakes higher than the real digits (d_acc_fake far below 50%, D(G(z)) above D(x)), "
            "so G gets no useful guidance and its samples drift into a few smudges.",
            ("g_overpowers",),
            # WGAN-GP wants its critic trained more than G (5 critic steps per G step in the paper);
            # starving it instead shows G running ahead on every seed. With the BCE losses a slow D
            # only stays undecided (D(x) = D(G(z)) = 0.5, accuracies a coin toss): no contest to lose.
            dict(dataset="digits", loss="wgan-gp", lr_g=2e-3, lr_d=2e-5, steps=2000, eval_every=500),
        ),
        Preset(
            "mode-collapse",
            "Mode collapse",
            "The losses look calm (d_acc_fake swings as D catches up with G), but all the generated "
            "points sit in one small blob by one of the eight clusters; scrub the snapshots: the blob hops "
            "from cluster to cluster. The mode_collapse flag is judged from step 2,000 on two evaluations "
            "in a row (every 500 steps here): its banner comes at step 2,500 at the earliest, its marker on "
            "the second of the two, even when that evaluation is the run's best (still one cluster).",
            ("mode_collapse",),
            # G ten times faster than D: G piles every sample onto the point D rates most real before
            # D can answer; D then marks it fake and the whole blob jumps (measured: all 2,500
            # evaluation samples nearest one cluster, spread ~0.03-0.1, on seeds 0-2).
            dict(
                dataset="ring8",
                spectral_norm=False,
                batch_size=256,
                lr_g=1e-3,
                lr_d=1e-4,
                # (past ~5,000 steps G's points now spread out along the ring, collapsed no more: seed 0,
                # 7 of 8 modes at 6,000 with hq_pct 1.7; at 4,000 still a blob beside one cluster)
                steps=4000,
                sample_every=50,
                eval_every=500,
            ),
        ),
        Preset(
            "vanishing-gradients",
            "Vanishing gradients (saturating minimax loss)",
            "With the original minimax loss and a D that wins (d_overpowers, raised with it), G's loss "
            "log(1 - D(G(z))) goes flat: g_grad_norm falls by orders of magnitude (about 0.1 to 1e-7 on "
            "the chart's log axis) and G stops improving. D's own norm falls with it: a D that is sure "
            "of every example has nothing left to learn. The one digit G ends drawing raises no "
            "mode_collapse flag: it is judged from step 2,000, where this run ends.",
            ("vanishing_gradients",),
            dict(
                dataset="digits",
                loss="minimax",
                spectral_norm=False,
                lr_d=2e-3,
                d_steps=5,
                steps=2000,
                eval_every=500,
            ),
        ),
        Preset(
            "divergence",
            "Divergence",
            "Adam without its running average of squared gradients (beta2 0) takes huge steps whenever a "
            "gradient shrinks: gradient norms shoot above 100, a loss turns NaN within a few hundred steps "
            "and the run stops as failed, with every record up to that step kept. It checkpoints every 25 "
            "steps (the last three kept): branch from the earliest with beta2 0.99 and Adam's average "
            "tames it.",
            ("exploding_gradients", "diverged"),
            # Adam's step is its momentum over the root of its average squared gradient; with beta2 0
            # that average is the latest gradient alone, so the step is unbounded (NaN at steps 72-214
            # on seeds 0-2 even at lr 1e-4; huge learning rates alone do not get there: Adam caps each
            # step near lr, and ReLU units die first). sample_every 10: snapshots up to the end;
            # checkpoint_every 25: a step to branch from before it (a checkpoint of these models ~1 ms).
            dict(
                dataset="ring8",
                spectral_norm=False,
                lr_g=1e-4,
                lr_d=1e-4,
                beta1=0.9,
                beta2=0.0,
                steps=3000,
                sample_every=10,
                checkpoint_every=25,
            ),
        ),
    )
}


def get_preset(name: str) -> Preset:
    """The preset called ``name``; an unknown name raises `ConfigError` listing the known ones."""
    try:
        return PRESETS[name]
    except KeyError:
        raise ConfigError("preset", name, "one of " + ", ".join(PRESETS)) from None


def healthy_preset_for(dataset: str) -> Preset | None:
    """The healthy preset that trains ``dataset`` (a dataset's name), or None when none does: the recipe
    to start from where the defaults, tuned for the 8x8 digits, do not fit (on grid25 they train a G
    whose points stay on a thin line)."""
    return next((p for p in PRESETS.values() if p.healthy and p.overrides.get("dataset") == dataset), None)


def healthy_recipe_not_used(cfg: GANConfig) -> Preset | None:
    """The healthy preset for ``cfg``'s dataset when ``cfg`` trains otherwise than it does, else None
    (no healthy preset for that dataset, or ``cfg`` is that preset's recipe). Only the fields that shape
    training count: those outside the config's "Run" group (the run's length, how often it records,
    its seed and device) may differ, so a preset run longer, or with other checkpoint or evaluation
    intervals, still is the preset."""
    preset = healthy_preset_for(cfg.dataset)
    if preset is None:
        return None
    recipe = preset.config()
    differs = any(
        getattr(cfg, f.name) != getattr(recipe, f.name)
        for f in fields(GANConfig)
        if f.metadata.get("group") != "Run"
    )
    return preset if differs else None


def trains_as_the_defaults(cfg: GANConfig) -> bool:
    """Whether ``cfg`` trains as the defaults do on its dataset: every field that shapes training (those
    outside the config's "Run" group, but the dataset and its path) at its default. The sidebar's
    defaults with a 2D dataset picked are tuned for the 8x8 digits, and the Train view names the
    dataset's healthy preset then (`healthy_recipe_not_used`), not for settings a user chose (a preset's
    run with ``lr_d`` raised ten times to see D overpower: "the defaults are tuned for the digits" was
    shown under it, untrue, and the preset named the one running)."""
    defaults = GANConfig()
    return all(
        getattr(cfg, f.name) == getattr(defaults, f.name)
        for f in fields(GANConfig)
        if f.metadata.get("group") != "Run" and f.name not in ("dataset", "data_path")
    )


def preset_config(name: str, **overrides: Any) -> GANConfig:
    """The config of preset ``name`` with ``overrides`` on top."""
    return get_preset(name).config(**overrides)


# The Guide's picture of each preset (and of the defaults): the Train view at the end of a run, made by
# scripts/guide_pictures.py, with a manifest of what each was made from.
PICTURES_DIR = Path(__file__).resolve().parents[1] / "docs" / "guide"
PICTURES_MANIFEST = PICTURES_DIR / "manifest.json"
DEFAULT_PICTURE = "default"  # the sidebar's defaults, pictured beside the presets


def picture_fingerprint(name: str) -> str:
    """What a picture of preset ``name`` (or of `DEFAULT_PICTURE`, the defaults) is current for."""
    if name == DEFAULT_PICTURE:
        return Preset(DEFAULT_PICTURE, "Defaults", "", ()).fingerprint()
    return get_preset(name).fingerprint()


def read_pictures(manifest: Path = PICTURES_MANIFEST) -> dict[str, dict[str, Any]]:
    """The manifest's pictures that are current: name -> its entry (``file``, an absolute path; the run's
    ``steps``, ``status``, ``seed``, ``flags_raised`` {flag: first step} and ``quality`` {metric: value}).
    A picture whose preset changed since it was made, whose file is missing, or a manifest that cannot be
    read, is left out; `stale_pictures` names them."""
    try:
        # (`read_regular`: a named pipe in its place is no manifest, and is never waited on)
        entries = json.loads(read_regular(manifest).decode("utf-8"))["pictures"]
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    current = {}
    for name, entry in entries.items() if isinstance(entries, dict) else ():
        if (name not in PRESETS and name != DEFAULT_PICTURE) or not isinstance(entry, dict):
            continue
        path = manifest.parent / str(entry.get("file", ""))
        if entry.get("fingerprint") == picture_fingerprint(name) and path.is_file():
            current[name] = {**entry, "file": path}
    return current


def stale_pictures(manifest: Path = PICTURES_MANIFEST) -> list[str]:
    """The presets (and `DEFAULT_PICTURE`) without a current picture: run
    ``python scripts/guide_pictures.py --presets NAME ...`` for them."""
    current = read_pictures(manifest)
    return [name for name in (DEFAULT_PICTURE, *PRESETS) if name not in current]


def _check() -> None:
    for preset in PRESETS.values():
        preset.config()  # a misspelt or invalid field fails at import, naming the field
        unknown = [f for f in preset.expected_flags if f not in FAILURE_FLAGS]
        if unknown:  # a typo here would make the tests and the benchmark look for a flag never raised
            raise ValueError(f"preset {preset.name}: {unknown[0]!r} is not a failure flag")


_check()
