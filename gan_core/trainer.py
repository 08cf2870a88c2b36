"""One GAN training step and its metrics: no threads, no files, no UI.

`Trainer` owns the data source, G, D, their Adam optimizers and the run's random generator. A *full*
step is ``d_steps`` discriminator updates followed by one generator update and yields one record (a
dict of named values, `RECORD_COLUMNS`). `d_step` and `g_step` do one update of one network, for
single-stepping from the dashboard. Host syncs are deliberate: each update gathers its scalars into one
tensor, and a step moves them to the host in one transfer.

A class-conditional run (``conditioning`` other than ``none``; see `gan_core.models`) draws each real
batch's labels with its images (one draw of indices) and G's labels uniformly, all from the run's one
generator, so a seed still fixes the whole run. With ``acgan`` both losses add the class head's
cross-entropy (Odena et al. 2017): D's on real and fake images (the class each was drawn with), G's on
its fakes for the class asked; ``d_loss`` and ``g_loss`` stay the adversarial part, as every loss
reports it. An acgan run trains on the data less the classifier's held-out split (`held_out`), on which
the evaluation scores D's class head.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from gan_core.config import MUTABLE_FIELDS, GANConfig
from gan_core.data import DataSource, load_data, require_labels
from gan_core.distributed import DistContext
from gan_core.losses import GANLoss, get_loss, gradient_penalty
from gan_core.models import CONDITIONINGS, build_models
from gan_core.rundir import grid_columns, image_grid
from gan_core.tracking.measures import GradNorms, d_metrics
from gan_core.tracking.readback import LaggedReadback, PendingRow, PendingValues
from gan_core.tracking.schema import CSV_COLUMNS, D_METRICS, EVAL_COLUMNS, G_METRICS, RECORD_COLUMNS

__all__ = [
    "CSV_COLUMNS",
    "RECORD_COLUMNS",
    "Trainer",
    "d_heatmap",
    "real_view",
    "resolve_device",
    "snapshot_view",
]

# Column names live in the schema (`gan_core.tracking.schema`); re-exported here for older callers.
_NO_EVAL = dict.fromkeys(EVAL_COLUMNS, math.nan)
FIXED_NOISE_IMAGES = 64  # an 8 x 8 grid
FIXED_NOISE_POINTS = 1000
HEATMAP_RESOLUTION = 48
# A class-conditional run's grid: one row per class (the first MAX_GRID_CLASSES of a folder with more),
# GRID_COLUMNS columns, each column one fixed noise vector.
GRID_COLUMNS = 8
MS_EPS = 1e-5  # MSGAN's epsilon: the mode-seeking loss of a G whose pairs coincide stays finite
MAX_GRID_CLASSES = 32


def class_grid(noise: Tensor, n_classes: int, columns: int = GRID_COLUMNS) -> tuple[Tensor, Tensor]:
    """The inputs of a class-conditional sample grid: (noise (R * columns, *latent_shape), labels
    (R * columns,) int64) for R = min(n_classes, `MAX_GRID_CLASSES`) rows, row r all class r, column c
    all ``noise[c]``: what changes down a column is the class alone. ``noise``: at least ``columns`` rows."""
    rows = min(n_classes, MAX_GRID_CLASSES)
    grid_noise = noise[:columns].repeat(rows, *([1] * (noise.dim() - 1)))  # (N, nz) or (N, nz, 1, 1)
    labels = torch.arange(rows, device=noise.device).repeat_interleave(columns)
    return grid_noise, labels


def rank_seed(seed: int, rank: int) -> int:
    """The seed of rank ``rank``'s random generator in a run seeded ``seed``: ``seed`` itself on rank 0
    (one process trains as rank 0 of one), a different stream on every other rank."""
    return seed if rank == 0 else (seed + 1_000_003 * rank) % (2**63)


def rank_step_seed(seed: int, rank: int, step: int) -> int:
    """The seed rank ``rank`` (not 0) of a multi-process job draws step ``step`` from: a function of the
    run's seed, the rank and the step alone. A checkpoint holds rank 0's generator only (rank 0 writes
    it, and no step gathers the others'), so the other ranks seed each step afresh: a job resumed from
    a checkpoint draws on every rank what the unbroken job drew (same world size; a streamed folder's
    place in its batches is rank 0's alone)."""
    return (rank_seed(seed, rank) * 2_654_435_761 + step) % (2**63)


def generator_from_checkpoint(
    state: dict[str, Any], device: str | torch.device = "cpu", source: str = "the checkpoint"
) -> tuple[GANConfig, Any]:
    """(config, G in eval mode) rebuilt from a checkpoint dict, without loading the data.

    A state that does not rebuild (a foreign or damaged checkpoint that has the right keys) is a
    ValueError naming ``source`` and the reason, not a KeyError or a size mismatch from torch."""
    try:
        cfg = GANConfig.from_dict(state["config"])
        shape = tuple(int(v) for v in state["sample_shape"])
        G, _ = build_models(cfg, shape, int(state.get("n_classes", 0)))  # 0: written unconditional
        G.load_state_dict(state["generator"])
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:  # ConfigError is a ValueError
        # torch lists every mismatched tensor, one a line: the first says enough
        lines = f"{type(exc).__name__}: {exc}".strip().splitlines()
        reason = " ".join(" ".join(lines[:2]).split())[:300] + (" ..." if len(lines) > 2 else "")
        raise ValueError(
            f"{source} cannot be rebuilt into G ({reason}); allowed: a checkpoint saved by this dashboard"
        ) from None
    return cfg, G.to(device).eval()


@torch.no_grad()
def d_heatmap(
    D: torch.nn.Module, loss: GANLoss, bounds: tuple[float, float, float, float], resolution: int
) -> Tensor:
    """D's output (`GANLoss.output`) on a ``resolution`` x ``resolution`` grid over ``bounds`` = (xmin, xmax,
    ymin, ymax), rows = y, on D's device and in its parameters' dtype (a float64 D gets a float64 grid).
    The 2D view's background, for `Trainer.snapshot` and the probe."""
    parameter = next(D.parameters())
    device, dtype = parameter.device, parameter.dtype if parameter.is_floating_point() else None
    xmin, xmax, ymin, ymax = bounds
    xs = torch.linspace(xmin, xmax, resolution, device=device, dtype=dtype)
    ys = torch.linspace(ymin, ymax, resolution, device=device, dtype=dtype)
    grid = torch.stack(torch.meshgrid(ys, xs, indexing="ij")[::-1], dim=-1).reshape(-1, 2)
    return loss.output(D(grid)).reshape(resolution, resolution)


MESH_LINES = 11  # lines each way across the noise plane (G's map of it: `noise_mesh`)
MESH_POINTS = 41  # points along each line
MESH_QUANTILES = (0.02, 0.98)  # the plane's span: where the fixed noise lies (±2.05 for N(0, 1))


def noise_mesh(noise: Tensor, lines: int = MESH_LINES, points: int = MESH_POINTS) -> Tensor | None:
    """A grid of lines in the plane of z's first two coordinates, for drawing G's map of its noise space as
    GAN Lab draws its "manifold" (Kahng et al. 2019, "GAN Lab: Understanding Complex Deep Generative
    Models using Interactive Visual Experimentation"): shape (L, ``points``, latent), L = 2 x ``lines``
    (lines of constant z1, then of constant z2; 1 line along z1 for a 1-D latent). Each coordinate of the
    plane spans the fixed ``noise``'s 2nd to 98th percentile, whatever its distribution (±2.05 for a
    standard normal, ±0.96 for uniform(-1, 1)); the other coordinates sit at the noise's median (about 0:
    the plane through the prior's centre; with a 2-D latent, the whole noise space). On ``noise``'s device
    and in its dtype. None for noise that is not (N, latent) floats with N >= 2 (a DCGAN's (N, nz, 1, 1):
    no plane to draw on a 2D view)."""
    if noise.dim() != 2 or noise.shape[0] < 2 or not noise.is_floating_point():
        return None
    latent = noise.shape[1]
    # (torch.quantile takes float32 and float64: half noise is measured in float32)
    values = noise.detach() if noise.dtype in (torch.float32, torch.float64) else noise.detach().float()
    where = {"device": noise.device, "dtype": values.dtype}
    spans = torch.quantile(values[:, : min(latent, 2)], torch.tensor(MESH_QUANTILES, **where), dim=0)
    centre = values.median(dim=0).values
    along = torch.linspace(0.0, 1.0, points, **where)
    across = torch.linspace(0.0, 1.0, lines, **where)

    def coordinate(axis: int, at: Tensor) -> Tensor:  # at in [0, 1] -> the span of z_axis
        return spans[0, axis] + at * (spans[1, axis] - spans[0, axis])

    if latent == 1:
        mesh = centre.expand(1, points, 1).clone()
        mesh[0, :, 0] = coordinate(0, along)
        return mesh.to(noise.dtype)
    mesh = centre.expand(2 * lines, points, latent).clone()
    mesh[:lines, :, 0] = coordinate(0, across)[:, None]  # constant z1, z2 along the line
    mesh[:lines, :, 1] = coordinate(1, along)[None, :]
    mesh[lines:, :, 0] = coordinate(0, along)[None, :]  # constant z2, z1 along the line
    mesh[lines:, :, 1] = coordinate(1, across)[:, None]
    return mesh.to(noise.dtype)


def resolve_device(name: str) -> torch.device:
    """`auto` picks CUDA, then MPS, then the CPU; an unavailable explicit device is an error."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ValueError(f"device={name!r} is not available here: no CUDA GPU; use auto or cpu")
        index = int(name.split(":")[1]) if ":" in name else 0
        if index >= torch.cuda.device_count():
            raise ValueError(f"device={name!r}: only {torch.cuda.device_count()} CUDA device(s) here")
    if name == "mps" and not torch.backends.mps.is_available():
        raise ValueError("device='mps' is not available here; use auto or cpu")
    return torch.device(name)


def snapshot_view(
    G: torch.nn.Module,
    noise: Tensor,
    kind: str,
    D: torch.nn.Module | None = None,
    loss: GANLoss | None = None,
    bounds: tuple[float, float, float, float] | None = None,
    resolution: int = HEATMAP_RESOLUTION,
    labels: Tensor | None = None,
    columns: int | None = None,
    check: Callable[[Any], None] | None = None,
) -> dict[str, np.ndarray]:
    """What G makes of ``noise`` (and D's verdict around it), as the Train view draws it.

    ``kind`` ``images``: ``{"grid": (H, W, 3) uint8}`` from G's (N, C, H, W) output in [-1, 1], ``columns``
    images a row (default: a square); ``labels`` (N,) the classes a conditional G is asked for
    (`class_grid`), kept with the grid as ``"labels"`` ((N,) int64) and ``"columns"`` (() int64, the images
    a row), so that a reader labels each row with its own classes (`RunView.grid_labels`).
    ``points``, as GAN Lab draws them: ``{"points": (N, 2) generated}``, and with ``D``, ``loss`` and
    ``bounds`` (xmin, xmax, ymin, ymax) also ``"heatmap"``: (R, R) D's output on a grid over the bounds
    (row = y), ``"grads"``: (N, 2) the direction in which G's loss falls at each generated point, and
    ``"bounds"``: (4,); with ``bounds`` and no ``labels``, also ``"mesh"``: (L, P, 2) G's map of a plane
    of its noise space (G of `noise_mesh`'s lines, L lines of P points each) and ``"mesh_dims"``: () the
    latent size (2: the plane is the whole noise space), left out where `noise_mesh` has no plane for
    ``noise`` or G cannot take the mesh's batch. G and D run in eval mode so that the view changes nothing
    (spectral norm's power iteration, BatchNorm statistics); their modes are restored after. ``check``:
    called with G's output before anything is drawn of it (it may raise: a shape no view can draw,
    `gan_core.track`). D gets G's points in D's parameters' dtype (a float64 model pair stays float64);
    what is returned is float32."""
    was_training = G.training, D.training if D is not None else False
    G.eval()
    if D is not None:
        D.eval()
    try:
        with torch.no_grad():
            fake = G(noise) if labels is None else G(noise, labels)
        if check is not None:
            check(fake)
        if kind != "points":
            grid = image_grid(fake.float().cpu().numpy(), nrow=columns)
            if labels is None:
                return {"grid": grid}
            across = grid_columns(len(labels), columns)
            return {
                "grid": grid,
                "labels": labels.cpu().numpy().astype(np.int64),
                "columns": np.array(across, dtype=np.int64),
            }
        fake = fake.reshape(fake.shape[0], -1)
        shown = fake.float().cpu().numpy()  # recorded as float32, whatever G computes in
        if bounds is None:
            return {"points": shown}
        mesh = _mapped_mesh(G, noise) if labels is None else {}
        if D is None or loss is None:  # the points in their window, without D's verdict around them
            return {"points": shown, "bounds": np.array(bounds, dtype=np.float32), **mesh}
        heatmap = d_heatmap(D, loss, bounds, resolution)
        parameter = next(D.parameters(), None)
        if parameter is not None and parameter.is_floating_point():  # D's dtype (G's may be half, D's not)
            fake = fake.to(parameter.dtype)
        points = fake.detach().requires_grad_(True)
        with torch.enable_grad():
            # Summed, not averaged, so each point's arrow does not shrink with the batch size.
            g_loss = loss.g(D(points)) * points.shape[0]
            (grads,) = torch.autograd.grad(g_loss, points)
        return {
            "points": shown,
            "heatmap": heatmap.float().cpu().numpy(),
            "grads": (-grads).float().cpu().numpy(),
            "bounds": np.array(bounds, dtype=np.float32),
            **mesh,
        }
    finally:
        G.train(was_training[0])
        if D is not None:
            D.train(was_training[1])


def _mapped_mesh(G: torch.nn.Module, noise: Tensor) -> dict[str, np.ndarray]:
    """``{"mesh": (L, P, 2), "mesh_dims": ()}``: G (in eval mode, no grad: `snapshot_view`'s) applied to
    `noise_mesh` of ``noise``; {} where there is no plane, or G does not take a batch of the mesh's size
    or gives no 2D point per noise vector (a user's G that assumes its batch size): the view is drawn
    without it."""
    mesh = noise_mesh(noise)
    if mesh is None:
        return {}
    lines, points, latent = mesh.shape
    try:
        with torch.no_grad():
            mapped = G(mesh.reshape(lines * points, latent))
    except Exception:  # an optional layer of the view: G's own failures are the snapshot's to report
        return {}
    if not isinstance(mapped, Tensor) or mapped.numel() != lines * points * 2:
        return {}
    return {
        "mesh": mapped.reshape(lines, points, 2).float().cpu().numpy(),
        "mesh_dims": np.array(latent, dtype=np.int64),
    }


def real_view(
    examples: Tensor, kind: str, seed: int, labels: Tensor | None = None, n_classes: int = 0
) -> dict[str, np.ndarray]:
    """Real data to show beside G's output, fixed by ``seed``: ``{"points": (1000, 2)}`` or ``{"grid"}`` of
    64 images, drawn with replacement from ``examples`` ((N, 2) points or (N, C, H, W) images in [-1, 1]).
    For a class-conditional run's images (``labels``, (N,) the examples' classes, and ``n_classes`` ≥ 2)
    the grid is laid out as G's (`class_grid`): a row per class, `GRID_COLUMNS` real images of that class
    each, with ``"labels"`` and ``"columns"`` as `snapshot_view` keeps them, so that row r of G's grid is
    read against row r of the real one (a class without examples among them, a rare one of a large folder
    sampled: a blank row, still labelled, the others' labels kept)."""
    rng = torch.Generator().manual_seed(seed + 2)
    if kind != "points" and labels is not None and n_classes >= 2:
        classes = labels.cpu()
        tiles = []
        for row in range(min(n_classes, MAX_GRID_CLASSES)):
            pool = torch.nonzero(classes == row).flatten()
            if len(pool):
                pick = pool[torch.randint(0, len(pool), (GRID_COLUMNS,), generator=rng)]
                tiles.append(examples[pick.to(examples.device)].float().cpu())
            else:  # (black, as the lowest value: nothing drawn)
                tiles.append(torch.full((GRID_COLUMNS, *examples.shape[1:]), -1.0))
        rows = len(tiles)
        return {
            "grid": image_grid(torch.cat(tiles).numpy(), nrow=GRID_COLUMNS),
            "labels": np.repeat(np.arange(rows, dtype=np.int64), GRID_COLUMNS),
            "columns": np.array(GRID_COLUMNS, dtype=np.int64),
        }
    n = FIXED_NOISE_POINTS if kind == "points" else FIXED_NOISE_IMAGES
    idx = torch.randint(0, examples.shape[0], (n,), generator=rng, device="cpu").to(examples.device)
    chosen = examples[idx].float().cpu().numpy()
    return {"points": chosen} if kind == "points" else {"grid": image_grid(chosen)}


_MEASURED = D_METRICS + G_METRICS  # the device's scalars, in the order `step_async` stacks them


class Trainer:
    """G, D, optimizers and data for one run; call `step()` to train."""

    def __init__(self, cfg: GANConfig, data: DataSource | None = None, dist: DistContext | None = None):
        """``dist``: this process's place in a multi-process job (`gan_core.distributed`): G and D are then
        each wrapped in `DistributedDataParallel` on their own (one module holding both would make DDP
        fail on the parameters a G update leaves unused), the rank draws its own batches from its own
        generator (`rank_seed`), and each step's scalars are averaged over the ranks in one collective."""
        self.cfg = cfg
        self.dist = dist
        self.device = dist.device(cfg.device) if dist is not None else resolve_device(cfg.device)
        self.data = require_labels(cfg, (data or load_data(cfg, self.device)).to(self.device))
        self.loss: GANLoss = get_loss(cfg.loss)
        self.conditioning = CONDITIONINGS[cfg.conditioning]
        # The data's classes (0 unconditional): the networks are built for them, and checkpoints keep
        # the count, so that a checkpoint rebuilds the same networks without loading the data.
        self.n_classes = self.data.n_classes if self.conditioning.conditional else 0
        # (images, labels) on the device that D's class head is scored on, never trained on (acgan only)
        self.held_out: tuple[Tensor, Tensor] | None = None
        if self.conditioning.class_head:
            from gan_core.classifier import split_indices  # scikit-learn: imported only when needed

            _, held = split_indices(self.data.labels.cpu().numpy())
            keep = np.setdiff1d(np.arange(self.data.num_examples), held)
            held = torch.as_tensor(np.sort(held), device=self.device)
            self.held_out = (self.data.take(held), self.data.labels[held])
            self.data = self.data.subset(keep)
        torch.manual_seed(cfg.seed)  # model initialisation: the same on every rank
        G, D = build_models(cfg, self.data.sample_shape, self.n_classes)
        self.G, self.D = G.to(self.device), D.to(self.device)
        # What the updates call: the modules themselves, or their DDP wrappers, which average the
        # gradients over the ranks in backward(). D's forward inside G's update takes D itself: it
        # computes no D gradient, so D's wrapper must not wait for one.
        self.G_train: torch.nn.Module = self.G
        self.D_train: torch.nn.Module = self.D
        if dist is not None:
            from torch.nn.parallel import DistributedDataParallel as DDP

            ids = [self.device.index] if self.device.type == "cuda" else None
            self.G_train, self.D_train = DDP(self.G, device_ids=ids), DDP(self.D, device_ids=ids)
        self.g_params = [p for p in self.G.parameters() if p.requires_grad]
        self.d_params = [p for p in self.D.parameters() if p.requires_grad]
        self._d_norms, self._g_norms = GradNorms(self.d_params), GradNorms(self.g_params)  # checked once
        self.opt_g = torch.optim.Adam(self.g_params, lr=cfg.lr_g, betas=(cfg.beta1, cfg.beta2))
        self.opt_d = torch.optim.Adam(self.d_params, lr=cfg.lr_d, betas=(cfg.beta1, cfg.beta2))
        # One generator for every random draw of training (data, z, penalty mixing, instance noise), on
        # the device, so a seed fixes the whole run; each rank its own (different batches on each).
        self.rng = torch.Generator(device=self.device).manual_seed(rank_seed(cfg.seed, self.rank))
        n_fixed = FIXED_NOISE_POINTS if self.data.kind == "points" else FIXED_NOISE_IMAGES
        fixed_rng = torch.Generator().manual_seed(cfg.seed + 1)
        self.fixed_noise = torch.randn(n_fixed, cfg.latent_dim, generator=fixed_rng).to(self.device)
        # The snapshots' input: the fixed noise, or for a conditional run one row per class (`class_grid`).
        self.grid_labels: Tensor | None = None
        self.grid_noise = self.fixed_noise
        if self.n_classes:
            self.grid_noise, self.grid_labels = class_grid(self.fixed_noise, self.n_classes)
        self.hparams: dict[str, Any] = {k: getattr(cfg, k) for k in MUTABLE_FIELDS}
        self.step_count = 0  # generator updates done
        # Whether the step under way has changed a weight yet: a step that failed before its first
        # optimizer update left the networks as the last step did (a checkpoint of them is sound).
        self.updated = False
        self.train_seconds = 0.0  # time spent inside steps (pauses excluded)
        self._readback = LaggedReadback()  # each step's scalars to the host without a wait (issue 15)

    # ------------------------------------------------------------------ hyperparameters
    def set_hparams(self, **changes: Any) -> dict[str, tuple[Any, Any]]:
        """Apply mid-run changes (validated through the config); returns name -> (old, new)."""
        unknown = [k for k in changes if k not in MUTABLE_FIELDS]
        if unknown:
            raise ValueError(f"{unknown[0]!r} cannot change mid-run: allowed {', '.join(MUTABLE_FIELDS)}")
        checked = self.cfg.replace(**{**self.hparams, **changes})
        applied = {}
        for k in changes:
            new = getattr(checked, k)
            if new != self.hparams[k]:
                applied[k] = (self.hparams[k], new)
                self.hparams[k] = new
        for group in self.opt_g.param_groups:
            group["lr"], group["betas"] = self.hparams["lr_g"], (self.hparams["beta1"], self.hparams["beta2"])
        for group in self.opt_d.param_groups:
            group["lr"], group["betas"] = self.hparams["lr_d"], (self.hparams["beta1"], self.hparams["beta2"])
        return applied

    # ------------------------------------------------------------------ updates
    def _noisy(self, x: Tensor, std: float) -> Tensor:
        if std <= 0:
            return x
        return x + std * torch.randn(x.shape, device=x.device, generator=self.rng)

    @property
    def rank(self) -> int:
        return self.dist.rank if self.dist is not None else 0

    @property
    def world_size(self) -> int:
        return self.dist.world_size if self.dist is not None else 1

    @property
    def finished(self) -> bool:
        """True once the steps in force (``steps`` > 0) are trained."""
        steps = self.hparams["steps"]
        return steps > 0 and self.step_count >= steps

    def _latent(self, n: int) -> Tensor:
        return torch.randn(n, self.cfg.latent_dim, device=self.device, generator=self.rng)

    def _real(self, n: int) -> tuple[Tensor, Tensor | None]:
        """A real batch and, in a conditional run, its labels (None otherwise: the draw is as it was)."""
        if not self.n_classes:
            return self.data.sample(n, self.rng), None
        return self.data.sample_labelled(n, self.rng)

    def _fake_labels(self, n: int) -> Tensor | None:
        """The classes G is asked for: uniform over the data's classes (conditional runs), else None."""
        if not self.n_classes:
            return None
        return torch.randint(self.n_classes, (n,), device=self.device, generator=self.rng)

    def _judge(self, D: torch.nn.Module, x: Tensor, labels: Tensor | None) -> tuple[Tensor, Tensor | None]:
        """D's logits on ``x`` (asked about ``labels`` where D reads them) and, for acgan, its class
        logits from the same forward pass."""
        if self.conditioning.class_head:
            return D(x, labels, with_class_logits=True)
        return D(x, labels), None

    def step_loss(self) -> GANLoss:
        """The objective with the label smoothing in force (`GANLoss.smoothed`: D's real target, its
        verdict threshold and midpoint t/2), read from the hyperparameters once per step, so a mid-run
        change applies from the next step. Memoised: a dict lookup."""
        return self.loss.smoothed(self.hparams["label_smoothing"])

    def _d_update(
        self, loss: GANLoss, keep_fake: bool = False
    ) -> tuple[Tensor, tuple[Tensor, Tensor | None] | None]:
        """One D update under ``loss`` (`step_loss`: its real target for D's loss, its threshold for the
        accuracies); returns its scalars (`D_METRICS` order) as one device tensor, and with
        ``keep_fake`` the fake batch still attached to G's graph with the labels it was asked for, for
        the G update that follows (the textbook loop's reuse: one G forward per step instead of two)."""
        hp = self.hparams
        batch = self.cfg.batch_size
        real, real_labels = self._real(batch)
        fake_labels = self._fake_labels(batch)
        with torch.set_grad_enabled(keep_fake):
            fake_graph = self.G_train(self._latent(batch), fake_labels)
        fake = fake_graph.detach()
        real_in, fake_in = self._noisy(real, hp["instance_noise"]), self._noisy(fake, hp["instance_noise"])
        real_logits, real_classes = self._judge(self.D_train, real_in, real_labels)
        fake_logits, fake_classes = self._judge(self.D_train, fake_in, fake_labels)
        loss_real, loss_fake = loss.d(real_logits, fake_logits, loss.real_target)
        d_loss = loss_real + loss_fake
        # acgan: D learns to name the class of real images and of fakes (the class G was asked for)
        objective = d_loss
        if real_classes is not None:  # no extra op in the hot path of a run without a class head
            objective = objective + F.cross_entropy(real_classes, real_labels)
            objective = objective + F.cross_entropy(fake_classes, fake_labels)
        if loss.gradient_penalty and hp["gp_weight"] > 0:
            # A conditional critic is asked about the interpolates under the real batch's labels (as
            # StudioGAN does): the penalty constrains D's slope in x for a fixed class.
            critic = self.D if real_labels is None else (lambda x: self.D(x, real_labels))
            objective = objective + hp["gp_weight"] * gradient_penalty(critic, real_in, fake_in, self.rng)
        self.opt_d.zero_grad(set_to_none=True)
        objective.backward()
        d_norm = self._d_norms()
        self.updated = True
        self.opt_d.step()
        if loss.clips_weights:
            with torch.no_grad():
                torch._foreach_clamp_min_(self.d_params, -hp["clip_value"])
                torch._foreach_clamp_max_(self.d_params, hp["clip_value"])
        metrics = d_metrics(loss, real_logits, fake_logits, loss_real, loss_fake, d_norm, d_loss)
        return metrics, ((fake_graph, fake_labels) if keep_fake else None)

    def _g_update(self, fake: tuple[Tensor, Tensor | None] | None = None) -> Tensor:
        """One G update (on ``fake`` = (batch, its labels) from the last D update, or a fresh batch);
        returns (g_loss, g_grad_norm) as one device tensor."""
        if fake is None:
            labels = self._fake_labels(self.cfg.batch_size)
            fake = self.G_train(self._latent(self.cfg.batch_size), labels), labels
        fake, labels = fake
        fake = self._noisy(fake, self.hparams["instance_noise"])
        fake_logits, fake_classes = self._judge(self.D, fake, labels)
        g_loss = self.loss.g(fake_logits)
        # acgan: G is also trained to make D's class head name the class it was asked for
        objective = g_loss if fake_classes is None else g_loss + F.cross_entropy(fake_classes, labels)
        if self.cfg.ms_weight > 0:
            objective = objective + self.cfg.ms_weight / (self._mode_seeking(labels) + MS_EPS)
        self.opt_g.zero_grad(set_to_none=True)
        # Only G's weights need gradients here: skipping D's weight gradients saves work.
        objective.backward(inputs=self.g_params)
        g_norm = self._g_norms()
        self.updated = True
        self.opt_g.step()
        return torch.stack([g_loss.detach(), g_norm])

    def _mode_seeking(self, labels: Tensor | None) -> Tensor:
        """MSGAN's ratio (Mao et al. 2019, "Mode Seeking Generative Adversarial Networks for Diverse
        Image Synthesis", eq. 3 with the L1 distance): mean |G(z1, y) - G(z2, y)| / mean |z1 - z2| over
        half a batch of noise pairs, each pair asked for the same class ``y`` (the G update's first
        labels; none in an unconditional run). Both means over the whole half batch, as the paper's code
        computes it (HelenMao/MSGAN: ``torch.mean(torch.abs(fake2 - fake1)) / torch.mean(torch.abs(z2 -
        z1))``), not a mean of each pair's ratio, which a pair of nearby noises blows up (with
        latent_dim 2, |z1 - z2| near 0 is common). A G that ignores its noise scores 0, and its loss's
        ``ms_weight / (ratio + eps)`` grows without bound as it does: the gradient pushes the pairs apart."""
        n = max(self.cfg.batch_size // 2, 1)
        z1, z2 = self._latent(n), self._latent(n)
        asked = labels[:n] if labels is not None else None
        apart = (self.G_train(z1, asked) - self.G_train(z2, asked)).abs().mean()
        return apart / (z1 - z2).abs().mean()

    def step(self) -> dict[str, float]:
        """A full step: d_steps D updates, then one G update. Returns the record: `RECORD_COLUMNS` -> value
        (the evaluation columns NaN: the runner measures them). Reads the step's scalars at once (on
        CUDA a wait for the step's kernels); `step_async` reads them later."""
        return self.step_async().result()

    def step_async(self) -> PendingRow:
        """A full step, as `step`, whose scalars are still on their way to the host: the copy is started
        (`LaggedReadback`) and nothing waits for the device. ``.result()`` gives `step`'s record; the
        runner calls it one step later, when the next step's kernels are queued (issue 15). The pending
        record must be read before the second-next step starts."""
        started = time.perf_counter()
        self.updated = False
        self._seed_step()
        self.G.train()
        self.D.train()
        d_steps, loss = self.hparams["d_steps"], self.step_loss()
        for i in range(d_steps):
            d_values, fake = self._d_update(loss, keep_fake=i == d_steps - 1)
        g_values = self._g_update(fake)
        # The step's one host transfer, started here and read by `PendingRow.result`.
        values = self._readback.start(self._reduced(torch.cat([d_values, g_values])))
        return self._record(values, started, d_steps)

    def _reduced(self, values: Tensor) -> Tensor:
        """A step's scalars averaged over the ranks (one collective; `DistContext.reduce_mean`): losses,
        accuracies and D's outputs as means; the gradient norms are those of the averaged gradients DDP
        applied, the same on every rank. Unchanged in one process."""
        return values if self.dist is None else self.dist.reduce_mean(values)

    def _seed_step(self) -> None:
        """On a rank other than 0: this step's own stream (`rank_step_seed`), before its first draw."""
        if self.rank:
            self.rng.manual_seed(rank_step_seed(self.cfg.seed, self.rank, self.step_count + 1))

    def g_step(self) -> dict[str, float]:
        """One G update alone (D unchanged); D's columns are D's verdict on the same kind of batch."""
        started = time.perf_counter()
        self.updated = False
        self._seed_step()
        with torch.no_grad():
            d_values = self.evaluate_d()
        g_values = self._g_update()
        values = self._readback.start(self._reduced(torch.cat([d_values, g_values])))
        return self._record(values, started, 0).result()

    def d_step(self) -> dict[str, float]:
        """One D update alone; it does not advance the generator step, so it yields no record."""
        started = time.perf_counter()
        self.updated = False
        values = self._reduced(self._d_update(self.step_loss())[0]).tolist()
        self.train_seconds += time.perf_counter() - started
        return dict(zip(D_METRICS, values))

    @torch.no_grad()
    def evaluate_d(self) -> Tensor:
        """D's metrics on a fresh real and fake batch without updating anything (`D_METRICS` order), under
        the label smoothing in force (`step_loss`)."""
        hp, loss = self.hparams, self.step_loss()
        batch = self.cfg.batch_size
        real, real_labels = self._real(batch)
        fake_labels = self._fake_labels(batch)
        real = self._noisy(real, hp["instance_noise"])
        fake = self._noisy(self.G(self._latent(batch), fake_labels), hp["instance_noise"])
        real_logits, fake_logits = self.D(real, real_labels), self.D(fake, fake_labels)
        loss_real, loss_fake = loss.d(real_logits, fake_logits, loss.real_target)
        nan = torch.tensor(float("nan"), device=self.device)
        return d_metrics(loss, real_logits, fake_logits, loss_real, loss_fake, nan)

    def _record(self, values: PendingValues, started: float, d_updates: int) -> PendingRow:
        """The step's record: what the host knows now (step, time, hyperparameters in force) and the
        device's scalars when they arrive."""
        self.step_count += 1
        elapsed = time.perf_counter() - started
        self.train_seconds += elapsed
        hp = self.hparams
        known = dict.fromkeys(RECORD_COLUMNS, math.nan)  # the record's columns in their order
        known |= {
            "step": float(self.step_count),
            "time_s": self.train_seconds,
            **{k: float(hp[k]) for k in ("lr_g", "lr_d", "d_steps")},
            "samples_per_s": self.cfg.batch_size * d_updates / elapsed if elapsed > 0 else 0.0,
            **{k: float(hp[k]) for k in ("beta1", "beta2", "label_smoothing", "instance_noise")},
            **{k: float(hp[k]) for k in ("gp_weight", "clip_value")},
            **_NO_EVAL,
        }
        return PendingRow(self.step_count, known, _MEASURED, values)

    # ------------------------------------------------------------------ views for the UI
    def snapshot(self, resolution: int = HEATMAP_RESOLUTION) -> dict[str, np.ndarray]:
        """What the UI shows of G and D now, from the run's fixed noise (see `snapshot_view`); for a
        conditional run the grid has one row per class, one fixed noise vector per column."""
        bounds = self.data.bounds if self.data.kind == "points" else None
        columns = GRID_COLUMNS if self.grid_labels is not None else None
        return snapshot_view(
            self.G,
            self.grid_noise,
            self.data.kind,
            self.D,
            self.loss,
            bounds,
            resolution,
            labels=self.grid_labels,
            columns=columns,
        )

    def real_view(self) -> dict[str, np.ndarray]:
        """Real data to show beside G's output: 1000 points or a 64-image grid (fixed per run); for a
        class-conditional run a row per class, as G's grid (`real_view`)."""
        labels = self.data.example_labels() if self.n_classes >= 2 else None
        return real_view(self.data.examples(), self.data.kind, self.cfg.seed, labels, self.n_classes)

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue exactly: weights, optimizers, step, config, hparams, RNG (rank 0's
        in a multi-process job; the weights are the modules', not DDP's, so any world size loads them)."""
        return {
            "generator": self.G.state_dict(),
            "discriminator": self.D.state_dict(),
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
            "step": self.step_count,
            "train_seconds": self.train_seconds,
            "config": self.cfg.to_dict(),
            "sample_shape": list(self.data.sample_shape),
            **self.class_state(),
            "hparams": dict(self.hparams),
            "rng": self.rng.get_state(),
            "data_stream": self.data.stream_state(),  # a streamed folder's place in its batches, else None
            "device": self.device.type,
            "torch_rng": torch.get_rng_state(),
            "world_size": self.world_size,
        }

    def class_state(self) -> dict[str, Any]:
        """What a checkpoint keeps of the classes: ``n_classes`` (0 unconditional: the networks are built
        for it) and ``class_names`` (their names, for the probe's class picker)."""
        names = list(self.data.class_names[: self.n_classes]) if self.n_classes else []
        return {"n_classes": self.n_classes, "class_names": names}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Go on from a checkpoint's ``state`` (`state_dict`'s keys; a checkpoint read with
        ``weights_only=True``): both networks and optimizers, the step count, the training time, the
        hyperparameters in force then, and the random streams (the data generator's on the same kind of
        device only; another rank seeds each step afresh, `rank_step_seed`). KeyError for a state without
        the networks, optimizers or step; a network's load_state_dict error for weights of another shape."""
        self.G.load_state_dict(state["generator"])
        self.D.load_state_dict(state["discriminator"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        self.step_count = int(state["step"])
        self.train_seconds = float(state.get("train_seconds", 0.0))
        self.set_hparams(**state.get("hparams", {}))
        # The generator's state is device-specific: a run moved to another kind of device goes on with
        # the stream its seed gives there (same weights and step; later records differ from an unmoved run's).
        if "rng" in state and state.get("device", self.device.type) == self.device.type and self.rank == 0:
            self.rng.set_state(state["rng"])
        if self.rank == 0:  # a streamed folder goes on from its place (held data: the generator's state)
            self.data.load_stream_state(state.get("data_stream"))
        # (a checkpoint holds rank 0's stream: another rank seeds each step afresh, `rank_step_seed`)
        if "torch_rng" in state:
            torch.set_rng_state(state["torch_rng"])
