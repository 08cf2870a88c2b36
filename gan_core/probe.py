"""The two networks as tools: walk G's latent space, and ask D for its verdict on chosen samples.

Works on the weights of any saved checkpoint (`RunDir.load_checkpoint`, ``weights_only=True``) or of a
live run (`Runner.models_state`, a copy taken between two steps): `load_models` rebuilds both networks,
in eval mode on the CPU, from either.

- Latent walk: `latent` turns a seed into a noise vector (the same seed, the same vector, so "the noise
  decides the output"), `interpolate` goes from one vector to another in a straight line or along the
  great circle (slerp), and `latent_walk` shows G's outputs along the way. `heatmap` is D's output over
  the 2D view, computed as the training snapshots compute it (`trainer.d_heatmap`).
- Ask D: `ask_d` gives each sample D's raw score, its output (a probability for minimax and
  nonsaturating) and a verdict, real or fake, by the rule the run's accuracy metrics use (see
  `gan_core.losses`): the loss's fixed threshold (`GANLoss.threshold`) where it has one. The Wasserstein
  critic's scores have no fixed zero: adding a constant to every score changes neither its loss nor G's,
  so no fixed threshold means anything. There the verdict compares a score with a reference measured on
  the same critic (`wasserstein_reference`): half-way between its mean score on a batch of real data and
  on a batch of G's samples. A sample above it looks to D more like the real data than like G's output
  now. (The training metrics use the median of a real-and-fake batch instead, which needs both batches
  at hand; when D separates the two batches, both thresholds fall in the gap between them.)
- Class-conditional runs (``conditioning`` other than ``none``): `generate`, `walk` and `ask_d` take the
  class to ask for (``label``, checked by `class_labels`; None: G's balanced default, every class in
  turn); `ProbeModels.class_names` names the classes for a picker. D is asked about a sample *as* that
  class where it reads labels (concat, projection: `ProbeModels.d_takes_class`); the Wasserstein
  reference asks it about real data under the real labels (`real_labelled`). An acgan D judges the
  sample alone: its real/fake score does not depend on the class, and its class head's answer is
  `class_answers`' columns (the class it names, with what probability, and its probability for the
  class picked); `d_class_accuracy` scores that head on the held-out real images, as the run's
  ``d_class_acc`` column does.
- User input for Ask D: `parse_points_upload` (a CSV of 2D points, read by the training data's own CSV
  reader) and `parse_image_uploads` (a few PNG/JPEG/WebP/BMP files, decoded, cropped, resized and
  converted to the run's channels exactly as the ``folder`` dataset reads training images;
  `read_image_uploads` keeps the readable ones of a batch and names the others). Every problem is a
  `ProbeError` naming the file and what is allowed.

No Streamlit here: pages/4_Probe.py shows what these functions return.
"""

from __future__ import annotations

import io
import math
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import Tensor, nn

from gan_core.checkpoint_fit import check_checkpoint_step, check_own_checkpoint
from gan_core.config import ConfigError, GANConfig
from gan_core.data import (
    DATASETS,
    IMAGE_EXTENSIONS,
    DataError,
    decode_image,
    image_pixel_limit,
    image_source,
    load_data,
    read_points_csv,
)
from gan_core.losses import GANLoss, get_loss
from gan_core.models import CONDITIONINGS, balanced_labels, build_models, model_classes
from gan_core.rundir import RunDir, RunDirError, image_grid
from gan_core.trainer import HEATMAP_RESOLUTION, d_heatmap

WALK_MODES = ("slerp", "linear")
MIN_WALK_STEPS, MAX_WALK_STEPS = 2, 32
MAX_SEED = 2**63 - 1  # torch.Generator.manual_seed's range
MAX_IMAGE_FILES = 16
MAX_IMAGE_BYTES = 10 * 2**20
MAX_IMAGE_PIXELS = 40_000_000  # checked from the header, before decoding: no decompression bombs
IMAGE_FORMATS = ("PNG", "JPEG", "WEBP", "BMP")  # what PIL must find inside, whatever the file's name
MAX_CSV_BYTES = 2**20
MAX_ASK_POINTS = 1000
# How far beyond the run's own 2D window (a share of its width or height, on each side) the view grows to
# hold a walk or asked points (`fit_bounds`); points farther out are pinned to the edge instead, so that
# one far-off point does not shrink the data to a corner.
MAX_VIEW_GROWTH = 0.5
MAX_ASK_GENERATED = 256
REFERENCE_BATCH = 256
THUMBNAIL_PX = 48


class ProbeError(ValueError):
    """Input the probe cannot use (an upload, a seed, a setting, a model); the message says what is
    wrong and what is allowed."""


# ---------------------------------------------------------------------------------------------- models
@dataclass(frozen=True)
class ProbeModels:
    """G and D of one run at one step, in eval mode on the CPU."""

    cfg: GANConfig
    G: nn.Module
    D: nn.Module
    sample_shape: tuple[int, ...]
    step: int
    n_classes: int = 0  # the classes G and D are conditioned on; 0 for an unconditional run
    class_names: tuple[str, ...] = ()  # one name per class (the checkpoint's, else "0", "1", ...)
    # the label smoothing in force at ``step`` (the checkpoint's hyperparameters, else the config's)
    label_smoothing: float | None = None

    @property
    def loss(self) -> GANLoss:
        """The run's objective under its label smoothing (`GANLoss.smoothed`: ``label_smoothing``, else
        ``cfg.label_smoothing``): its threshold and midpoint are D's "cannot tell" point t/2."""
        smoothing = self.cfg.label_smoothing if self.label_smoothing is None else self.label_smoothing
        return get_loss(self.cfg.loss).smoothed(smoothing)

    @property
    def is_points(self) -> bool:
        return self.sample_shape == (2,)

    @property
    def d_takes_class(self) -> bool:
        """D's real/fake score depends on the class it is asked about (concat, projection); False for an
        unconditional run and for acgan, whose D judges the sample alone."""
        return bool(self.n_classes) and CONDITIONINGS[self.cfg.conditioning].label_to_d

    @property
    def d_has_class_head(self) -> bool:
        """D names a class of its own (acgan's class head: `class_answers`, `d_class_accuracy`)."""
        return bool(self.n_classes) and CONDITIONINGS[self.cfg.conditioning].class_head


def load_models(state: dict[str, Any], source: str = "checkpoint") -> ProbeModels:
    """Both networks from a checkpoint dict (`RunDir.load_checkpoint`'s, whose step it checked, or
    `Runner.models_state`'s copy); ``source`` names it in errors. A state that does not fit its own
    config, or weights holding NaN or inf, is a ProbeError."""
    missing = [k for k in ("generator", "discriminator", "config", "sample_shape", "step") if k not in state]
    if missing:
        raise ProbeError(f"{source} lacks {', '.join(missing)}: not a checkpoint of this dashboard")
    try:
        cfg = GANConfig.from_dict(state["config"])
        sample_shape = tuple(int(v) for v in state["sample_shape"])
        n_classes = int(state.get("n_classes", 0))  # absent: written before conditioning, unconditional
        names = [str(name) for name in state.get("class_names") or ()]
        G, D = build_models(cfg, sample_shape, n_classes)
        G.load_state_dict(state["generator"])
        D.load_state_dict(state["discriminator"])
    except (ConfigError, ValueError, TypeError, RuntimeError, KeyError) as exc:
        reason = " ".join(str(exc).split())[:300]
        raise ProbeError(f"{source} cannot be rebuilt into G and D ({reason})") from None
    for name, net in (("G", G), ("D", D)):
        if not all(torch.isfinite(t).all() for t in net.state_dict().values() if t.is_floating_point()):
            raise ProbeError(
                f"{source}: {name}'s weights hold NaN or inf (the run diverged); pick an earlier checkpoint"
            )
    n_classes = model_classes(G)
    if len(names) != n_classes:
        names = [str(i) for i in range(n_classes)]
    step = state["step"]  # a whole number: `RunDir.load_checkpoint` (or the runner's own copy) says so
    smoothing = (state.get("hparams") or {}).get("label_smoothing", cfg.label_smoothing)
    if isinstance(smoothing, bool) or not isinstance(smoothing, (int, float)) or not 0 <= smoothing < 1:
        smoothing = cfg.label_smoothing  # a damaged value: the config's, which it validated
    return ProbeModels(cfg, G.eval(), D.eval(), sample_shape, step, n_classes, tuple(names), float(smoothing))


def class_labels(models: ProbeModels, label: int | None, n: int) -> Tensor | None:
    """The labels (n,) int64 that ask a conditional G (or D) for class ``label``; None for G's balanced
    default (``label`` None) or an unconditional run, where ``label`` must be None. A class outside
    0..n_classes-1 is a ProbeError."""
    if label is None:
        return None
    if not models.n_classes:
        raise ProbeError(f"label={label!r}: this run is not class-conditional; allowed only no label")
    if (
        isinstance(label, bool)
        or not isinstance(label, (int, np.integer))
        or not 0 <= label < models.n_classes
    ):
        raise ProbeError(
            f"label={label!r} is invalid: allowed a class from 0 to {models.n_classes - 1} "
            f"({', '.join(models.class_names)})"
        )
    return torch.full((n,), int(label), dtype=torch.int64)


def _generated(G: nn.Module, z: Tensor, labels: Tensor | None) -> Tensor:
    # G(z) alone where there is no label: a generator of one's own need not take one
    return G(z) if labels is None else G(z, labels)


def checkpoint_models(run_dir: RunDir, path: Path, step: int | None = None) -> ProbeModels:
    """A saved checkpoint's networks, ``step`` being the step its file name says (None: read from the
    run's list of checkpoints). RunDirError if the file cannot be loaded (corrupt, foreign), is not the
    run's own (its config, sample shape or classes differ from the run's config.json:
    `check_own_checkpoint`, checked before any network is built), or holds another step than its name
    says (`check_checkpoint_step`): the checks Resume makes."""
    source = f"checkpoint {path.name} of run {run_dir.run_id!r}"
    state = run_dir.load_checkpoint(path)
    check_own_checkpoint(run_dir.read_config(), state, source)
    models = load_models(state, source=source)
    if step is None:
        step = next((s for s, kept in run_dir.checkpoints() if kept.name == path.name), None)
    if step is not None:  # (a file not named step_NNNNNNNN.pt says no step)
        check_checkpoint_step(state, step, source)
    return models


# ---------------------------------------------------------------------------------------------- latent walk
def latent(seed: int, latent_dim: int, n: int = 1) -> Tensor:
    """``n`` noise vectors z ~ N(0, I) drawn from ``seed`` alone: (n, latent_dim), float32 on the CPU."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed <= MAX_SEED:
        raise ProbeError(f"seed={seed!r} is invalid: allowed a whole number from 0 to {MAX_SEED}")
    generator = torch.Generator().manual_seed(int(seed))
    return torch.randn(n, latent_dim, generator=generator)


def interpolate(z_start: Tensor, z_end: Tensor, n: int, mode: str = "slerp") -> Tensor:
    """``n`` points from ``z_start`` to ``z_end`` (both (latent_dim,) or (1, latent_dim)), ends included
    exactly: (n, latent_dim).

    ``linear``: the straight line. ``slerp``: the great circle (White 2016, "Sampling generative
    networks"), with the length interpolated linearly. A Gaussian vector's length stays near
    sqrt(latent_dim), and the straight line's midpoints are shorter, so slerp keeps G on the kind of
    noise it was trained on. Nearly parallel ends fall back to the straight line.
    """
    if mode not in WALK_MODES:
        raise ProbeError(f"mode={mode!r} is invalid: allowed {', '.join(WALK_MODES)}")
    if isinstance(n, bool) or not isinstance(n, int) or not MIN_WALK_STEPS <= n <= MAX_WALK_STEPS:
        raise ProbeError(
            f"steps={n!r} is invalid: allowed a whole number from {MIN_WALK_STEPS} to {MAX_WALK_STEPS}"
        )
    a, b = z_start.reshape(-1).double(), z_end.reshape(-1).double()
    if a.shape != b.shape:
        raise ProbeError(
            f"the two ends differ in size ({a.numel()} and {b.numel()}): both need latent_dim values"
        )
    t = torch.linspace(0.0, 1.0, n, dtype=torch.float64)[:, None]  # exactly 0 and 1 at the ends
    if mode == "linear":
        path = (1 - t) * a + t * b
    else:
        norm_a, norm_b = a.norm(), b.norm()
        cos = torch.dot(a, b) / (norm_a * norm_b).clamp_min(1e-12)
        omega = torch.arccos(cos.clamp(-1.0, 1.0))
        if omega.abs() < 1e-6:
            path = (1 - t) * a + t * b
        else:
            direction_a, direction_b = a / norm_a, b / norm_b
            on_sphere = (
                torch.sin((1 - t) * omega) * direction_a + torch.sin(t * omega) * direction_b
            ) / torch.sin(omega)
            path = on_sphere * ((1 - t) * norm_a + t * norm_b)
        path[0], path[-1] = a, b  # the ends exactly, not up to rounding
    return path.to(z_start.dtype)


@torch.no_grad()
def latent_walk(
    G: nn.Module, z_start: Tensor, z_end: Tensor, n: int, mode: str = "slerp", labels: Tensor | None = None
) -> Tensor:
    """G's outputs along `interpolate`'s path: (n, *sample_shape), float32 on the CPU; the first is
    G(z_start) and the last G(z_end). ``labels`` (n,): the classes a conditional G is asked for."""
    return _generated(G, interpolate(z_start, z_end, n, mode), labels).float().cpu()


def walk(
    models: ProbeModels, seed_start: int, seed_end: int, n: int, mode: str = "slerp", label: int | None = None
) -> np.ndarray:
    """The walk between the noise of two seeds: (n, 2) points or (n, C, H, W) images in [-1, 1]; a
    conditional run's whole walk asks for class ``label`` (None: G's balanced default)."""
    z_start = latent(seed_start, models.cfg.latent_dim)
    z_end = latent(seed_end, models.cfg.latent_dim)
    path = interpolate(z_start, z_end, n, mode)  # checks n and mode
    with torch.no_grad():
        return _generated(models.G, path, class_labels(models, label, n)).float().cpu().numpy()


def strip(images: np.ndarray) -> np.ndarray:
    """Images (N, C, H, W) in [-1, 1] as one row: an (H', W', 3) uint8 grid."""
    return image_grid(images, nrow=len(images))


def pairs(top: np.ndarray, bottom: np.ndarray) -> np.ndarray:
    """Two rows of as many images each ((N, C, H, W) in [-1, 1]: ``top`` over ``bottom``, column by
    column) as an (H', W', 3) uint8 grid: a sample above what it is compared with."""
    if top.shape != bottom.shape:
        raise ValueError(f"pairs of images need two rows alike, got {top.shape} and {bottom.shape}")
    return image_grid(np.concatenate([top, bottom]), nrow=max(len(top), 1))


@torch.no_grad()
def generate(models: ProbeModels, seed: int, n: int, label: int | None = None) -> np.ndarray:
    """``n`` samples of G from the noise of ``seed``, for "pick generated ones"; a conditional run's all
    of class ``label`` (None: G's balanced default, every class in turn)."""
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_ASK_GENERATED:
        raise ProbeError(f"n={n!r} is invalid: allowed a whole number from 1 to {MAX_ASK_GENERATED}")
    labels = class_labels(models, label, n)
    return _generated(models.G, latent(seed, models.cfg.latent_dim, n), labels).float().numpy()


def heatmap(models: ProbeModels, bounds: Sequence[float], resolution: int = HEATMAP_RESOLUTION) -> np.ndarray:
    """D's output over the 2D view (rows = y), as the training snapshots draw it."""
    if not models.is_points:
        raise ProbeError("a heatmap of D needs a run on 2D points; this run's samples are images")
    bounds = tuple(float(v) for v in bounds)
    return d_heatmap(models.D, models.loss, bounds, resolution).float().numpy()


def fit_bounds(
    bounds: Sequence[float], points: np.ndarray, margin: float = 0.05, growth: float = MAX_VIEW_GROWTH
) -> tuple[float, ...]:
    """``bounds`` (xmin, xmax, ymin, ymax) grown to hold the finite points of ``points`` (N, 2) that lie
    near it, with a ``margin`` (a fraction of the window's size) around those outside: a walk or an
    asked point just off the run's usual window is drawn where it is, over D's output computed there.

    The window grows by at most ``growth`` of its width (height) on each side, so that the data keep
    their place in the view: a point farther out is left beyond the returned bounds, for
    `charts.points_figure` to pin at the edge with its coordinates in the hover and its count in the
    off-view note (as the Train view does with its fixed window)."""
    xmin, xmax, ymin, ymax = (float(v) for v in bounds)
    width, height = xmax - xmin, ymax - ymin
    points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    points = points[np.isfinite(points).all(axis=1)]
    near = (
        (points[:, 0] >= xmin - growth * width)
        & (points[:, 0] <= xmax + growth * width)
        & (points[:, 1] >= ymin - growth * height)
        & (points[:, 1] <= ymax + growth * height)
    )
    points = points[near]
    if not len(points):
        return xmin, xmax, ymin, ymax
    pad_x, pad_y = margin * width, margin * height
    low, high = points.min(axis=0), points.max(axis=0)
    return (
        max(float(low[0] - pad_x), xmin - growth * width) if low[0] < xmin else xmin,
        min(float(high[0] + pad_x), xmax + growth * width) if high[0] > xmax else xmax,
        max(float(low[1] - pad_y), ymin - growth * height) if low[1] < ymin else ymin,
        min(float(high[1] + pad_y), ymax + growth * height) if high[1] > ymax else ymax,
    )


def view_bounds(run_dir: RunDir, cfg: GANConfig) -> tuple[float, float, float, float]:
    """The 2D window the run's own snapshots use: from its newest readable saved snapshot, else from its
    data."""
    for _, path in reversed(run_dir.snapshot_steps()):
        if path.suffix == ".npz":
            try:
                snap = run_dir.load_snapshot(path)
            except RunDirError:  # a damaged file: an older snapshot has the same window
                continue
            if "bounds" in snap:
                return tuple(float(v) for v in snap["bounds"])
    bounds = load_data(cfg).bounds
    if bounds is None:
        raise ProbeError(f"run {run_dir.run_id!r} has no 2D view: its data are not points")
    return bounds


def real_samples(run_dir: RunDir, cfg: GANConfig, n: int = REFERENCE_BATCH, seed: int = 0) -> np.ndarray:
    """``n`` real samples of the run's data (fewer if the set is smaller), chosen by ``seed``.

    2D runs read the real points the run saved beside its snapshots (samples/real.npz) when they are
    there; images (and 2D runs without that file) load the data again: `DataError` if it is gone."""
    return real_labelled(run_dir, cfg, n, seed)[0]


def real_labelled(
    run_dir: RunDir, cfg: GANConfig, n: int = REFERENCE_BATCH, seed: int = 0, label: int | None = None
) -> tuple[np.ndarray, np.ndarray | None]:
    """`real_samples` and their class labels ((n,) int64; None for data without labels, or 2D points
    read from the run's folder); with ``label``, only samples of that class (fewer than ``n`` where the
    class has fewer; a ProbeError for data without labels)."""
    examples: Tensor | None = None
    labels: Tensor | None = None
    if cfg.is_points:
        try:
            examples = torch.as_tensor(run_dir.load_snapshot("real")["points"], dtype=torch.float32)
            # (drawn with replacement: a 100-point CSV's 1,000 hold each point 10 times; a review)
            examples = torch.unique(examples, dim=0)
        except (RunDirError, KeyError, OSError, ValueError):
            examples = None
    if examples is None:
        data = load_data(cfg)
        # (the labels of `examples` row for row: a large set's examples are a fixed subsample of it)
        examples, labels = data.examples(), data.example_labels()
    generator = torch.Generator().manual_seed(seed)
    chosen = torch.randperm(examples.shape[0], generator=generator)
    if label is not None:
        if labels is None:
            raise ProbeError(f"run {run_dir.run_id!r}'s real data have no class labels to pick {label} by")
        chosen = chosen[labels.cpu()[chosen] == int(label)]
    chosen = chosen[: min(n, len(chosen))]
    return examples[chosen].float().cpu().numpy(), None if labels is None else labels[chosen].cpu().numpy()


# ---------------------------------------------------------------------------------------------- ask D
@dataclass(frozen=True)
class Reference:
    """The threshold a Wasserstein critic's verdict compares with, and the two means it lies between."""

    value: float
    mean_real: float
    mean_fake: float


@torch.no_grad()
def d_scores(
    D: nn.Module, samples: np.ndarray | Tensor, labels: np.ndarray | Tensor | None = None
) -> np.ndarray:
    """D's raw score (logit) per sample, float64; ``labels`` (N,): the class a conditional D is asked
    about for each (None: D(x) alone)."""
    x = torch.as_tensor(np.asarray(samples, dtype=np.float32))
    y = None if labels is None else torch.as_tensor(np.asarray(labels), dtype=torch.int64)
    scores = [
        (D(x[i : i + 1024]) if y is None else D(x[i : i + 1024], y[i : i + 1024])).double()
        for i in range(0, x.shape[0], 1024)
    ]
    return torch.cat(scores).numpy() if scores else np.zeros(0)


def wasserstein_reference(
    models: ProbeModels,
    real: np.ndarray,
    seed: int = 0,
    real_labels: np.ndarray | None = None,
    label: int | None = None,
) -> Reference:
    """Half-way between D's mean score on ``real`` samples (a conditional D asked about each under its
    own class, ``real_labels``) and on as many of G's samples (from ``seed``; of class ``label``)."""
    if len(real) == 0:
        raise ProbeError("the reference needs at least one real sample")
    if models.n_classes and real_labels is None:
        raise ProbeError("a class-conditional critic's reference needs the real samples' labels")
    mean_real = float(d_scores(models.D, real, real_labels if models.n_classes else None).mean())
    n = min(len(real), MAX_ASK_GENERATED)
    fake = generate(models, seed, n, label)
    asked = class_labels(models, label, n)
    if models.n_classes and asked is None:  # G's balanced default, asked of D alike
        asked = balanced_labels(n, models.n_classes)
    mean_fake = float(d_scores(models.D, fake, asked).mean())
    return Reference((mean_real + mean_fake) / 2.0, mean_real, mean_fake)


# D's output this close to its midpoint is a coin toss, not a verdict (`Verdicts.close_calls`)
CLOSE_CALL = 0.05


@dataclass(frozen=True)
class Verdicts:
    """D's view of each sample: raw score, output (`GANLoss.output`), verdict (True = real); ``midpoint``:
    D's output at "cannot tell" (`GANLoss.midpoint`: 0.5, t/2 under label smoothing), None for a loss
    whose scores have none (hinge, a critic)."""

    scores: np.ndarray
    outputs: np.ndarray
    real: np.ndarray
    threshold: float
    rule: str
    midpoint: float | None = None

    @property
    def close_calls(self) -> int:
        """How many verdicts are coin tosses: an output within `CLOSE_CALL` of the midpoint (a D at
        equilibrium gives 0.49 and 0.51, "fake" and "real", as firm-looking as 0.01 and 0.99; a review).
        0 without a midpoint."""
        if self.midpoint is None:
            return 0
        return int((np.abs(self.outputs - self.midpoint) < CLOSE_CALL).sum())

    def table(self) -> pd.DataFrame:
        verdict = np.where(self.real, "real", "fake").astype(object)
        verdict[~np.isfinite(self.scores)] = "none (score not finite)"
        return pd.DataFrame({"d_score": self.scores, "d_output": self.outputs, "verdict": verdict})


def ask_d(
    D: nn.Module,
    loss_name: str | GANLoss,
    samples: np.ndarray | Tensor,
    reference: Reference | float | None = None,
    labels: np.ndarray | Tensor | None = None,
) -> Verdicts:
    """D's verdict on each sample (points (N, 2) or images (N, C, H, W) in [-1, 1]); ``labels`` (N,): the
    class a conditional D is asked about for each ("is this a real 3?"; `class_labels`).

    ``loss_name``: the run's loss (`ProbeModels.loss`, smoothed by its label smoothing: threshold at D's
    output t/2) or a loss's name (unsmoothed). A loss with a fixed threshold (`GANLoss.threshold`, the one its
    accuracy metric uses) is judged by it; ``reference`` is ignored there. For a Wasserstein critic
    (`GANLoss.is_critic`) the threshold is ``reference`` (see `wasserstein_reference` and this module's
    docstring): without one it is a ProbeError.
    """
    loss = loss_name if isinstance(loss_name, GANLoss) else get_loss(loss_name)
    scores = d_scores(D, samples, labels)
    return _verdicts(loss, scores, reference)


def _verdicts(
    loss: GANLoss, scores: np.ndarray, reference: Reference | float | None, rule: str | None = None
) -> Verdicts:
    # ``rule``: a critic's threshold in words, where ``reference`` is a float taken otherwise than half-way
    outputs = loss.output(torch.from_numpy(scores)).numpy()
    if loss.threshold is not None:
        threshold, rule = loss.threshold, loss.threshold_rule
    else:
        if reference is None:
            raise ProbeError(
                f"{loss.name} has no fixed threshold: a verdict needs a reference score "
                "(wasserstein_reference: half-way between D's mean score on real data and on G's samples)"
            )
        threshold = float(reference.value if isinstance(reference, Reference) else reference)
        rule = (
            rule
            or f"score > {threshold:.4g}, half-way between D's mean score on real data and on G's samples"
        )
        if isinstance(reference, Reference):
            rule += f" ({reference.mean_real:.4g} and {reference.mean_fake:.4g})"
            if reference.mean_fake > reference.mean_real:
                rule += "; D now scores G's samples above the real data, so G fools it on average"
        if not math.isfinite(threshold):
            raise ProbeError(f"the reference score is {threshold}: D's scores are not finite")
    return Verdicts(scores, outputs, scores > threshold, threshold, rule, loss.midpoint)


MAX_SEPARATION_SAMPLES = 1024  # per side: real and G's, for `separation`
EXTREME_SAMPLES = 8  # G's samples shown at each end of D's verdicts (`Separation.extremes`)


@dataclass(frozen=True)
class Separation:
    """D's verdicts on a batch of real samples and on as many of G's (`separation`).

    ``real`` and ``fake``: D's `Verdicts` on each, by the rule of the run's accuracy metrics
    (`GANLoss.accuracy`): the loss's fixed threshold, or for a critic the median of the two batches'
    pooled scores (`losses.median_accuracy`), so that ``acc_real`` and ``acc_fake`` are what the run's
    ``d_acc_real`` and ``d_acc_fake`` would say of these batches. ``auc``: the ROC AUC of D's score as
    a test of "real" (`sklearn.metrics.roc_auc_score`; the chance that a random real sample scores above
    a random one of G's, ties counting half): 0.5 D cannot tell them apart, 1 it separates them
    completely, under 0.5 it scores G's samples above the real ones. Unlike an accuracy it needs no
    threshold, so it means the same for every loss, a critic's included."""

    real: Verdicts
    fake: Verdicts
    auc: float
    output_threshold: float  # the threshold as D's output (`GANLoss.output` of the score threshold)
    generated: np.ndarray  # G's samples D was asked about, in ``fake``'s order: (N, 2) or (N, C, H, W)
    acc_real: float  # the share (0-1) of the real samples D calls real: `GANLoss.accuracy`, as d_acc_real
    acc_fake: float  # the share (0-1) of G's samples D calls fake, as d_acc_fake

    def extremes(self, k: int = EXTREME_SAMPLES) -> tuple[np.ndarray, np.ndarray]:
        """G's ``k`` samples D scores highest (the most real-looking to it, highest first) and its ``k``
        lowest (the ones it rejects most, lowest first): what D accepts and what gives G away. Fewer
        where there are fewer samples (under 2k, the two share samples); ties keep the samples' order."""
        k = max(0, min(k, len(self.generated)))
        highest = np.argsort(-self.fake.scores, kind="stable")[:k]
        lowest = np.argsort(self.fake.scores, kind="stable")[:k]
        return self.generated[highest], self.generated[lowest]


def separation(
    models: ProbeModels,
    real: np.ndarray,
    real_labels: np.ndarray | None = None,
    seed: int = 0,
    label: int | None = None,
) -> Separation:
    """How well D tells ``real`` samples ((N, 2) points or (N, C, H, W) images in [-1, 1], as
    `real_labelled` gives them; at most `MAX_SEPARATION_SAMPLES`) from as many of G's, drawn from
    ``seed`` (of class ``label``; None: G's balanced default, every class in turn).

    A conditional D that reads labels is asked about each real sample under its own class
    (``real_labels`` (N,), required there) and about each of G's under the class G was asked for. A
    ProbeError for no real samples, too many, missing labels, or scores that are not finite (D's weights
    are finite, `load_models`, but its output can still overflow)."""
    from sklearn.metrics import roc_auc_score  # imported here: scikit-learn takes a second to import

    n = len(real)
    if not 1 <= n <= MAX_SEPARATION_SAMPLES:
        raise ProbeError(
            f"{n} real samples: D's separation needs 1 to {MAX_SEPARATION_SAMPLES:,} (and as many of G's)"
        )
    if models.d_takes_class and real_labels is None:
        raise ProbeError("a class-conditional D is asked about real samples under their labels: none given")
    asked = class_labels(models, label, n)
    if models.n_classes and asked is None:  # G's balanced default, asked of G and D explicitly
        asked = balanced_labels(n, models.n_classes)
    z = latent(seed, models.cfg.latent_dim, n)
    chunks = []
    with torch.no_grad():  # (in chunks of `generate`'s most, as `d_scores` asks D in chunks)
        for i in range(0, n, MAX_ASK_GENERATED):
            part = None if asked is None else asked[i : i + MAX_ASK_GENERATED]
            chunks.append(_generated(models.G, z[i : i + MAX_ASK_GENERATED], part).float())
    fake = torch.cat(chunks).numpy()
    loss = models.loss
    real_scores = d_scores(models.D, real, real_labels if models.d_takes_class else None)
    fake_scores = d_scores(models.D, fake, asked if models.d_takes_class else None)
    bad = int((~np.isfinite(real_scores)).sum() + (~np.isfinite(fake_scores)).sum())
    if bad:
        raise ProbeError(f"D's score is not finite on {bad} of the {2 * n} samples: no separation to measure")
    pair = torch.from_numpy(real_scores), torch.from_numpy(fake_scores)
    # (shares of n, k/n exactly: `accuracy`'s float32 mean wrote 0.11999999731779099 for 0.12)
    acc_real, acc_fake = (round(float(a) * n) / n for a in loss.accuracy(*pair))
    reference, rule = None, None
    if loss.is_critic:  # the run's own rule for a critic: the pooled scores' median (`median_accuracy`)
        reference = float(torch.cat(pair).median())
        rule = (
            f"score > {reference:.4g}, the median of the {2 * n:,} pooled scores, as a critic's d_acc_real "
            "and d_acc_fake are taken (its scores have no fixed zero)"
        )
    judged = [_verdicts(loss, scores, reference, rule) for scores in (real_scores, fake_scores)]
    truth = np.concatenate([np.ones(n), np.zeros(n)])
    auc = float(roc_auc_score(truth, np.concatenate([real_scores, fake_scores])))
    at = float(loss.output(torch.tensor(judged[0].threshold, dtype=torch.float64)))
    return Separation(judged[0], judged[1], auc, at, fake, acc_real, acc_fake)


# ---------------------------------------------------------------------------------------------- copying
COPY_SAMPLES = 512  # G's samples `data_copying` draws by default
MAX_COPY_SAMPLES = 2_048
MAX_COPY_QUERIES = 1_000  # training examples whose nearest other example makes the baseline
COPY_QUANTILE = 0.05  # the baseline's share "close": G's close share is about this when G does not copy
CLOSEST_SHOWN = 8  # G's samples nearest a training example, shown beside it (`Copying.closest`)
COPY_P_VALUE = 0.001  # a close share this unlikely for a G drawing new samples reads as copies
APART_RATIO = 1.25  # G's median distance over the data's own beyond which G's samples lie apart from it
COPY_READINGS = {
    "copies": "Signs of copying (memorisation): more of G's samples sit close to a training example than new "
    "samples of the data would. A G crowding into the data's densest part (mode collapse) can read so too: "
    "look at the pairs below, where a copy matches its training example pixel for pixel",
    "apart": "No sign of copying: G's samples lie farther from every training example than the data's own "
    "examples lie from one another (new samples, not yet as near the data as its own: a matter of quality)",
    "like_the_data": "No sign of copying: G's samples lie about as near the training examples as the data's "
    "own examples lie to one another, as new samples of the data would",
}


@dataclass(frozen=True)
class Copying:
    """Whether G reproduces examples of its training set (data copying, memorisation), by nearest
    neighbours in the data's own space (`data_copying`).

    ``fake_distance`` (N,): each of G's samples' Euclidean distance to its nearest training example
    (``nearest``: that example's index in ``training``); ``real_distance`` (Q,): the distance of each of Q
    training examples to its nearest *other* training example (leave-one-out), the baseline: how close
    the data's own examples lie to one another, which is how close a new sample from the data's
    distribution lies to the training set. ``threshold``: the baseline's `COPY_QUANTILE` quantile (5%);
    ``close_share``: the share (0-1) of G's samples nearer a training example than that. A G that draws
    from the data's distribution without copying has about 5% of its samples there; a G that reproduces
    training examples has far more, with ``ratio`` (the median of ``fake_distance`` over the median of
    ``real_distance``) well under 1. A ratio well over 1 says the opposite: G's samples lie farther from
    every training example than the data's own do (off the data, not copies).

    After Meehan, Chaudhuri and Dasgupta, "A Non-Parametric Test to Detect Data-Copying in Generative
    Models" (AISTATS 2020), which compares the same two distances with held-out data, cell by cell of a
    partition of the space. Here a run keeps no held-out set, so the baseline is leave-one-out within the
    training set (each distinct example once: ``duplicates`` left out), and the comparison is global:
    a G crowding into the data's densest part (mode collapse, or one class of many) lies near training
    examples without copying them, and can read as copies too (`COPY_READINGS` says so). Distances are
    in the data's units: 2D coordinates, or images as vectors of pixels in [-1, 1]."""

    generated: np.ndarray  # G's samples: (N, 2) or (N, C, H, W), in [-1, 1]
    fake_distance: np.ndarray  # (N,) float64
    nearest: np.ndarray  # (N,) int64, indices into ``training``
    real_distance: np.ndarray  # (Q,) float64
    training: np.ndarray  # (M, ...) the distinct training examples compared with
    threshold: float
    close_share: float
    ratio: float
    duplicates: int = 0  # training examples left out as repeats of an earlier one

    @property
    def close_p_value(self) -> float:
        """The chance of at least this many of G's samples near a training example if each were so with
        the baseline's `COPY_QUANTILE` (5%) chance, as a G drawing new samples of the data's distribution
        would be: the one-sided binomial test (`scipy.stats.binomtest`)."""
        from scipy.stats import binomtest  # (scikit-learn's own dependency)

        k = int(round(self.close_share * len(self.fake_distance)))
        return float(binomtest(k, len(self.fake_distance), COPY_QUANTILE, alternative="greater").pvalue)

    @property
    def reading(self) -> str:
        """What the two distances say, one of `COPY_READINGS`: ``"copies"`` where more of G's samples lie
        near a training example than a G drawing new samples would put there by chance (`close_p_value`
        under `COPY_P_VALUE`, whatever the median says: a G copying a third of its samples and missing
        the data with the rest is still copying); else ``"apart"`` where G's samples lie farther from the
        training set than its own examples do (``ratio`` > `APART_RATIO`, 1.25), ``"like_the_data"``
        between."""
        if self.close_p_value < COPY_P_VALUE:
            return "copies"
        return "apart" if self.ratio > APART_RATIO else "like_the_data"

    def closest(self, k: int = CLOSEST_SHOWN) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """G's ``k`` samples nearest a training example (nearest first; ties keep their order), the
        training example nearest each, and their distances: where copies would show."""
        order = np.argsort(self.fake_distance, kind="stable")[: max(0, k)]
        return self.generated[order], self.training[self.nearest[order]], self.fake_distance[order]


def training_set(run_dir: RunDir, cfg: GANConfig) -> np.ndarray:
    """The examples run ``cfg`` trained on, float32 on the CPU, as `DataSource.examples` gives them: the
    whole set up to its `MAX_WHOLE_EXAMPLES`, a fixed sample of 10,000 of a larger one. A `ProbeError`
    for generated data (ring8, grid25, ...: drawn afresh at every batch, so there is no set to copy);
    `DataError` where the data are gone (a folder moved since)."""
    if DATASETS[cfg.dataset].generated:
        raise ProbeError(
            f"{cfg.dataset} is drawn afresh at every batch: G has no training set to copy (the check applies "
            "to a finite set: images, or 2D points from a CSV)"
        )
    return load_data(cfg).examples().float().cpu().numpy()


def data_copying(
    models: ProbeModels,
    training: np.ndarray,
    seed: int = 0,
    n: int = COPY_SAMPLES,
    label: int | None = None,
) -> Copying:
    """Compare ``n`` of G's samples (drawn from ``seed``; of class ``label``, None: G's balanced default)
    with ``training`` ((M, 2) points or (M, C, H, W) images in [-1, 1], `training_set`): `Copying`.

    Nearest neighbours by exhaustive search (`sklearn.neighbors.NearestNeighbors`, ``algorithm="brute"``,
    Euclidean) over the whole of ``training``; the baseline over `MAX_COPY_QUERIES` of its examples
    (chosen by ``seed``). A ProbeError for fewer than two training examples (no baseline), an ``n``
    outside 1 to `MAX_COPY_SAMPLES`, samples whose shape is not the training set's, or G's samples that
    are not finite."""
    from sklearn.neighbors import NearestNeighbors  # imported here: scikit-learn takes a second to import

    if not 1 <= n <= MAX_COPY_SAMPLES:
        raise ProbeError(f"n={n}: the copying check draws 1 to {MAX_COPY_SAMPLES:,} of G's samples")
    training = np.asarray(training, dtype=np.float32)
    # Each distinct example once: a duplicate's nearest other lies at 0, which made the baseline's 5%
    # threshold 0 and an exact copy "not near" (a review); the first of each, in the set's order.
    if len(training):
        first = np.unique(training.reshape(len(training), -1), axis=0, return_index=True)[1]
        duplicates = len(training) - len(first)
        training = training[np.sort(first)]
    else:
        duplicates = 0
    m = len(training)
    if m < 2:
        raise ProbeError(
            f"{m} distinct training example: the copying check needs at least 2 (to compare each with)"
        )
    if training.shape[1:] != tuple(models.sample_shape):
        raise ProbeError(
            f"the training examples have shape {training.shape[1:]}, G's samples "
            f"{tuple(models.sample_shape)}: they cannot be compared"
        )
    asked = class_labels(models, label, n)
    if models.n_classes and asked is None:
        asked = balanced_labels(n, models.n_classes)
    z = latent(seed, models.cfg.latent_dim, n)
    chunks = []
    with torch.no_grad():
        for i in range(0, n, MAX_ASK_GENERATED):
            part = None if asked is None else asked[i : i + MAX_ASK_GENERATED]
            chunks.append(_generated(models.G, z[i : i + MAX_ASK_GENERATED], part).float())
    fake = torch.cat(chunks).numpy()
    if not np.isfinite(fake).all():
        raise ProbeError("G's samples are not all finite: there is nothing to compare")
    flat = training.reshape(m, -1)
    search = NearestNeighbors(n_neighbors=1, algorithm="brute").fit(flat)
    fake_distance, nearest = search.kneighbors(fake.reshape(n, -1), n_neighbors=1)
    generator = np.random.default_rng(seed)
    queries = np.sort(generator.choice(m, size=min(m, MAX_COPY_QUERIES), replace=False))
    # (the nearest of a training example is itself, at 0; the second its nearest other: a duplicate at 0)
    real_distance = search.kneighbors(flat[queries], n_neighbors=2)[0][:, 1]
    fake_distance, real_distance = fake_distance[:, 0].astype(np.float64), real_distance.astype(np.float64)
    threshold = float(np.quantile(real_distance, COPY_QUANTILE))
    baseline = float(np.median(real_distance))
    return Copying(
        generated=fake,
        fake_distance=fake_distance,
        nearest=nearest[:, 0].astype(np.int64),
        real_distance=real_distance,
        training=training,
        threshold=threshold,
        close_share=float(np.mean(fake_distance < threshold)),
        duplicates=duplicates,
        ratio=float(np.median(fake_distance)) / baseline if baseline > 0 else math.inf,
    )


@torch.no_grad()
def class_answers(
    models: ProbeModels, samples: np.ndarray | Tensor, label: int | None = None
) -> pd.DataFrame:
    """What D says about each sample's class, as columns for Ask D's table (N rows, in order).

    acgan (`ProbeModels.d_has_class_head`): ``d_class``, the class its head names (its name), with
    ``d_class_prob``, the head's softmax probability for it, and, for a ``label`` picked, ``p_label``,
    the probability the head gives that class. concat and projection (`ProbeModels.d_takes_class`):
    ``asked_as``, the class D's score asks about ("is this a real 7?"; G's balanced default, every class
    in turn, for ``label`` None). An unconditional run: no columns. A bad ``label`` is a ProbeError."""
    n = len(samples)
    labels = class_labels(models, label, n) if models.n_classes else None
    if models.d_has_class_head:
        x = torch.as_tensor(np.asarray(samples, dtype=np.float32))
        chunks = [models.D(x[i : i + 1024], with_class_logits=True)[1] for i in range(0, n, 1024)]
        probs = torch.cat(chunks).double().softmax(dim=1) if chunks else torch.zeros(0, models.n_classes)
        named = probs.argmax(dim=1).numpy() if n else np.zeros(0, dtype=np.int64)
        columns = {
            "d_class": [models.class_names[i] for i in named],
            "d_class_prob": probs.max(dim=1).values.numpy() if n else np.zeros(0),
        }
        if labels is not None:
            columns["p_label"] = probs[:, int(label)].numpy()
        return pd.DataFrame(columns)
    if models.d_takes_class:
        asked = labels if labels is not None else balanced_labels(n, models.n_classes)
        return pd.DataFrame({"asked_as": [models.class_names[i] for i in asked.tolist()]})
    return pd.DataFrame(index=range(n))


@torch.no_grad()
def d_class_accuracy(models: ProbeModels) -> tuple[float, int]:
    """The share (0-1) of the held-out real images (`classifier.split_indices`, the images an acgan run
    never trains on) whose class D's class head names, for these weights, and how many images that is:
    the run's ``d_class_acc`` column measures the same at its evaluations. A ProbeError for a D without
    a class head; `DataError` if the run's data cannot be loaded here."""
    if not models.d_has_class_head:
        raise ProbeError(
            f"D as a classifier needs an acgan run (its D has a class head); this run's conditioning is "
            f"{models.cfg.conditioning!r}"
        )
    from gan_core.classifier import split_indices  # scikit-learn: imported only when needed

    data = load_data(models.cfg.replace(device="cpu"), "cpu")
    _, held = split_indices(data.labels.cpu().numpy())
    held = torch.as_tensor(np.sort(held))
    images, labels = data.take(held).float(), data.labels[held]
    if not len(labels):
        return float("nan"), 0
    named = torch.cat(
        [
            models.D(images[i : i + 1024], with_class_logits=True)[1].argmax(dim=1)
            for i in range(0, len(labels), 1024)
        ]
    )
    return float((named == labels).float().mean()), len(labels)


# ---------------------------------------------------------------------------------------------- uploads
def parse_points_upload(data: bytes, name: str) -> np.ndarray:
    """An uploaded CSV of 2D points, checked by the training data's CSV reader: (N, 2) float32, 1 <= N <=
    `MAX_ASK_POINTS` (D can be asked about one point; training needs two)."""
    if not name.lower().endswith(".csv"):
        raise ProbeError(f"{name}: points must come as a .csv file of two numeric columns x,y")
    if len(data) > MAX_CSV_BYTES:
        raise ProbeError(
            f"{name}: {len(data) / 2**20:.1f} MiB is too large; allowed up to {MAX_CSV_BYTES // 2**20} MiB"
        )
    with tempfile.TemporaryDirectory(prefix="gan-probe-") as folder:
        path = Path(folder) / "points.csv"
        path.write_bytes(data)
        try:
            return read_points_csv(path, name=name, min_rows=1, max_rows=MAX_ASK_POINTS).numpy()
        except DataError as exc:
            raise ProbeError(str(exc)) from None


TYPED_POINTS_EXAMPLE = "0, 0; 1.5, -2"
MAX_TYPED_CHARS = 20_000  # a few hundred points typed or pasted; more come as a CSV upload


def parse_typed_points(text: str) -> np.ndarray:
    """Points typed by hand to ask D about: pairs separated by ``;`` or line breaks, x and y by a comma or
    spaces (``"0, 0; 1.5, -2"``), as (N, 2) float32, 1 <= N <= `MAX_ASK_POINTS`. `ProbeError` naming the
    first pair that is not two finite numbers (within float32), or the count, with what is allowed."""
    allowed = f"allowed pairs x, y separated by ';' (e.g. {TYPED_POINTS_EXAMPLE!r})"
    if len(text) > MAX_TYPED_CHARS:
        raise ProbeError(
            f"{len(text):,} characters typed: allowed up to {MAX_TYPED_CHARS:,} (more points: upload a CSV)"
        )
    pairs = [part.strip() for part in re.split(r"[;\n]", text) if part.strip()]
    if not pairs:
        raise ProbeError(f"no point typed: {allowed}")
    if len(pairs) > MAX_ASK_POINTS:
        raise ProbeError(f"{len(pairs):,} points typed: allowed up to {MAX_ASK_POINTS:,}")
    limit = float(np.finfo(np.float32).max)
    points = []
    for number, pair in enumerate(pairs, start=1):
        fields = [f for f in re.split(r"[,\s]+", pair) if f]
        try:
            values = [float(f) for f in fields]
        except ValueError:
            values = []
        if len(values) != 2 or not all(math.isfinite(v) and abs(v) <= limit for v in values):
            raise ProbeError(f"point {number} ({pair[:40]!r}) is not two finite numbers x, y: {allowed}")
        points.append(values)
    return np.asarray(points, dtype=np.float32)


@dataclass(frozen=True)
class ImageUploads:
    """The readable files of an upload batch and why the others were not read."""

    images: np.ndarray  # (N, C, H, W) float32 in [-1, 1], the run's training images' shape
    names: tuple[str, ...]  # the N files read, in upload order
    refused: tuple[str, ...]  # one message per file not read, naming it and what is allowed


def parse_image_uploads(files: Sequence[tuple[str, bytes]], models: ProbeModels) -> np.ndarray:
    """Uploaded image files as the run's training images: (N, C, H, W) float32 in [-1, 1], every file
    read or a ProbeError naming the first that is not (`read_image_uploads` keeps the readable ones)."""
    read = read_image_uploads(files, models)
    if read.refused:
        raise ProbeError(read.refused[0])
    return read.images


def read_image_uploads(files: Sequence[tuple[str, bytes]], models: ProbeModels) -> ImageUploads:
    """The readable files of an upload batch, (name, bytes) each, as the run's training images, with a
    message for each file that is not one (its name, what is wrong and what is allowed).

    Each file is decoded, centre-cropped and resized as the ``folder`` dataset reads images
    (`gan_core.data.decode_image`), then scaled and given the run's channels (luma for gray, gray
    repeated for colour) by the same code that prepares every training set (`gan_core.data.image_source`).
    A ProbeError for a 2D run, a batch of none or more than `MAX_IMAGE_FILES`, or one of which no file
    could be read (its message names every file and why).
    """
    if models.is_points:
        raise ProbeError("this run's samples are 2D points: upload a CSV of points, not images")
    kinds = ", ".join(ext[1:] for ext in IMAGE_EXTENSIONS)
    if not files:
        raise ProbeError(f"no image uploaded: allowed 1 to {MAX_IMAGE_FILES} files ({kinds})")
    if len(files) > MAX_IMAGE_FILES:
        raise ProbeError(f"{len(files)} images uploaded; allowed up to {MAX_IMAGE_FILES} at once")
    channels, size = models.sample_shape[0], models.sample_shape[1]
    # The run's own config, pinned to the shape its models were built for.
    cfg = models.cfg.replace(channels=channels, image_size=size)
    images, names, refused = [], [], []
    for name, data in files:
        try:
            raw = _decode_upload(name, data, size, kinds)
        except ProbeError as exc:
            refused.append(str(exc))
            continue
        # torch.tensor copies: PIL's array is read-only
        raw = torch.tensor(raw[None, None] if raw.ndim == 2 else raw.transpose(2, 0, 1)[None])
        images.append(image_source("upload", raw, 255.0, None, cfg, "cpu").examples())
        names.append(name)
    if not images:
        if len(refused) == 1:
            raise ProbeError(refused[0])
        raise ProbeError(f"none of the {len(refused)} files could be read: " + " | ".join(refused))
    return ImageUploads(torch.cat(images).numpy(), tuple(names), tuple(refused))


def _decode_upload(name: str, data: bytes, size: int, kinds: str) -> np.ndarray:
    from PIL import Image

    if Path(name).suffix.lower() not in IMAGE_EXTENSIONS:
        raise ProbeError(f"{name}: not an image file name; allowed {kinds}")
    if len(data) > MAX_IMAGE_BYTES:
        raise ProbeError(
            f"{name}: {len(data) / 2**20:.1f} MiB is too large; allowed up to {MAX_IMAGE_BYTES // 2**20} MiB"
        )
    unreadable = f"{name}: not a readable image; allowed {', '.join(IMAGE_FORMATS)} files"
    too_large = f"is too large; allowed up to {MAX_IMAGE_PIXELS // 10**6} megapixels"
    try:
        with Image.open(io.BytesIO(data)) as image:  # reads the header only
            found, (width, height) = image.format, image.size
    except Image.DecompressionBombError as exc:  # PIL's own limit, far above ours: its header said so
        said = re.search(r"\((\d+) pixels\)", str(exc))
        pixels = f"{int(said.group(1)):,} pixels" if said else f"more than {image_pixel_limit():,} pixels"
        raise ProbeError(f"{name}: {pixels} {too_large}") from None
    except (OSError, SyntaxError, ValueError):
        raise ProbeError(unreadable) from None
    if found not in IMAGE_FORMATS:
        raise ProbeError(f"{name}: a {found} image inside; allowed {', '.join(IMAGE_FORMATS)} files")
    if width * height > MAX_IMAGE_PIXELS:
        raise ProbeError(f"{name}: {width}x{height} pixels {too_large}")
    try:
        return decode_image(io.BytesIO(data), size)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:  # a truncated file
        reason = " ".join(str(exc).split())[:200]
        raise ProbeError(f"{unreadable} ({reason})") from None


def thumbnails(images: np.ndarray, px: int = THUMBNAIL_PX) -> list[np.ndarray]:
    """Each image (C, H, W) in [-1, 1] as an (H', W', 3) uint8 picture about ``px`` wide (whole-pixel
    upscaling, so small images stay crisp), for a table column."""
    pictures = []
    for image in np.asarray(images):
        picture = image_grid(image[None], nrow=1)
        factor = max(1, px // picture.shape[1])
        pictures.append(np.repeat(np.repeat(picture, factor, axis=0), factor, axis=1))
    return pictures
