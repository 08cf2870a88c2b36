"""Datasets by name, held as tensors (images as uint8) or generated, so that a batch is a few tensor ops.

`load_data(cfg, device)` turns ``cfg.dataset`` into a `DataSource`, by the loader that `DATASETS` (the one
registry of dataset names: the config's choices, the sidebar's menu and the CLI come from it) holds for it:

- 2D toys, generated on the fly on the device (no stored set):

  * ``ring8``: 8 Gaussians, centres at radius 2 and angles 2πk/8, std 0.02 (the Unrolled-GAN benchmark);
  * ``grid25``: 25 Gaussians, centres {-4, -2, 0, 2, 4}², std 0.05;
  * ``spiral``: t = √u with u ~ U(0, 1), angle θ = 3πt (1.5 turns), radius r = 2t,
    x = r·(cos θ, sin θ) + 0.05·ε. Taking t = √u spreads points about evenly along the curve, whose
    arc length grows like t²;
  * ``moons``: sklearn's ``make_moons`` in torch: the upper half circle (cos θ, sin θ) and the lower one
    (1 - cos θ, 0.5 - sin θ), θ ~ U(0, π), one moon per point with probability 1/2, noise 0.05, shifted
    by (-0.5, -0.25) so the mean is the origin;
  * ``gaussian``: one Gaussian, mean (1, 1), covariance 0.25·[[1, 0.8], [0.8, 1]] (std 0.5 per axis,
    correlation 0.8).

- ``points``: the user's CSV of 2D points, held in memory.
- Images, held as one (N, C, H, W) uint8 tensor of their raw pixel values on the device (1 byte a value,
  a quarter of float32): ``digits`` (scikit-learn's bundled 8x8 digits), ``mnist``, ``fashion-mnist``,
  ``cifar10`` (torchvision files) and ``folder`` (a folder of image files; class subfolders give labels).
  Each batch is made float32 in [-1, 1] on the device by `ImagePrep` (scaling, channel conversion and
  resizing, the same operations in the same order as when whole sets were converted at load).
  A ``folder`` whose pixels would take more than `memory_budget` is *streamed* instead: decoded once
  into a cache file (`gan_core.image_store`, under `cache_root`) that later runs reuse, and read batch by
  batch by a `torch.utils.data.DataLoader`'s worker processes. A held folder of `CACHE_HELD_FROM` files
  or more goes through the same cache file, read whole.

`DataSource.sample` is the training hot path: it draws only from the generator it is given (so a seed
fixes the batches), makes no host syncs and runs no Python loop per sample. A streamed source draws its
indices from a stream of its own, seeded by that generator (`gan_core.image_store.StreamedSource`).

`check_data_path` keeps what a server reads inside the folders it allows (the dashboard calls it). A failed
torchvision download leaves nothing behind: what the attempt wrote is removed (`removed_if_failed`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import pickle
import re
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO
from urllib.error import URLError

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from gan_core.files import NotRegularFileError, open_regular
from gan_core.quoting import PATH_LIMIT, clipped, quoted

if TYPE_CHECKING:
    from PIL import Image  # imported where images are read: it takes a moment to import

    # For type hints only: gan_core.config imports this module to take its dataset names from `DATASETS`,
    # so importing the config here at run time would be a cycle.
    from gan_core.config import GANConfig

MAX_POINTS_ROWS = 500_000
# A folder whose pixels (files x 3 x side², in bytes, as uint8 colour) would take more than this is
# streamed from a cache file instead of held on the device; $GAN_DASHBOARD_DATA_BUDGET_MB overrides it.
MEMORY_BUDGET_BYTES = 2 * 2**30
MEMORY_BUDGET_ENV = "GAN_DASHBOARD_DATA_BUDGET_MB"
# Where folders' cache files live ($GAN_DASHBOARD_DATA_CACHE, else $XDG_CACHE_HOME or ~/.cache).
CACHE_ENV = "GAN_DASHBOARD_DATA_CACHE"
# A folder of this many files or more is decoded into a cache file even when it is held (its next load
# reads the file instead of decoding every image again); a smaller one decodes in a moment.
CACHE_HELD_FROM = 10_000
# `DataSource.examples` gives a held set whole up to this many images (every built-in set, and every folder
# the 50,000-image cap used to allow); a larger or streamed set gives a fixed sample of EXAMPLES_FOR_TOYS.
MAX_WHOLE_EXAMPLES = 60_000
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".bmp")
# Image formats the ``folder`` loader does not read: files of these types in a folder are counted in its
# left-out note (`DataSource.skipped_note`), not passed over without a word. Other files (a README, a
# labels.csv) are no images and go unmentioned.
OTHER_IMAGE_EXTENSIONS = (
    ".gif", ".tif", ".tiff", ".heic", ".heif", ".avif", ".jfif", ".jp2", ".jxl", ".ico", ".ppm", ".pgm",
    ".pbm", ".pnm", ".tga", ".svg", ".psd", ".exr", ".hdr", ".dng", ".cr2", ".nef", ".raw",
)  # fmt: skip
# Names of left-out files a note quotes (the rest are counted)
LEFT_OUT_NAMES = 3
EXAMPLES_FOR_TOYS = 10_000
EXAMPLES_SEED = 1234

# `DataSource.examples` converts a held image set in chunks, so that it never needs two float copies of it.
_CHUNK = 8192

Draw = Callable[[int, torch.Generator, torch.device], torch.Tensor]
# What a loader reports while it reads many files: (files done, files in all, what it is doing).
Progress = Callable[[int, int, str], None]


class DataError(ValueError):
    """Data cannot be loaded: message says what is wrong and what is allowed."""


@dataclass(frozen=True)
class LeftOut:
    """What a folder's loader left out besides the unreadable files' count (`DataSource.skipped_files`):
    ``names``, the first `LEFT_OUT_NAMES` of those files (paths below the folder, as text);
    ``outside``, linked files whose target lies outside the folders a browser's path may read
    (`load_data`'s ``allowed_roots``); ``other_types``, one extension per file of an image format the
    loader does not read (`OTHER_IMAGE_EXTENSIONS`), lower-case with its dot."""

    names: tuple[str, ...] = ()
    outside: int = 0
    other_types: tuple[str, ...] = ()


class DataSource:
    """One dataset ready for training: `sample` draws batches, `examples` gives the reference set.

    A finite set (``points`` and every image set) holds its examples in ``_data`` on ``device``; a toy
    holds a ``_draw(n, generator, device)`` function instead and has ``num_examples = None``. An image set
    holds its raw pixels (uint8) and a ``prepare`` function (`ImagePrep`) that makes a batch of them the
    float32 examples in [-1, 1] that `sample`, `take` and `examples` give.

    ``centers`` (ring8 / grid25 mode centres, for plots and mode counting) stays on the CPU whatever the
    device; everything `sample` and `examples` read moves with `to`.
    """

    def __init__(
        self,
        name: str,
        kind: str,
        sample_shape: tuple[int, ...],
        *,
        data: torch.Tensor | None = None,
        draw: Draw | None = None,
        labels: torch.Tensor | None = None,
        class_names: Sequence[str] | None = None,
        n_classes: int | None = None,
        centers: torch.Tensor | None = None,
        mode_std: float | None = None,
        bounds: tuple[float, float, float, float] | None = None,
        skipped_files: int = 0,
        device: torch.device | str = "cpu",
        prepare: Callable[[torch.Tensor], torch.Tensor] | None = None,
    ):
        if (data is None) == (draw is None):
            raise ValueError("a DataSource needs exactly one of data (finite set) or draw (generated toy)")
        self.name = name
        self.kind = kind
        self.sample_shape = sample_shape
        self.centers = centers
        self.mode_std = mode_std
        self.bounds = bounds
        self.labels = labels
        # Classes: labels.max() + 1 (counted once here, on the CPU side of any transfer), or given (a
        # subset keeps the whole set's count); 0 for data without labels.
        if labels is None or not len(labels):
            n_classes = 0
        elif n_classes is None:
            n_classes = int(labels.max()) + 1
        self.n_classes = n_classes
        # one name per class (digit, clothing kind, CIFAR class, subfolder), for pickers and captions
        self.class_names = (
            tuple(class_names) if class_names is not None else tuple(map(str, range(n_classes)))
        )
        # files found but unreadable (folder only), so a view can say "3 files skipped"; how many of them
        # were too large (`image_pixel_limit`), set by the folder loaders (`skipped_note` says both)
        self.skipped_files = skipped_files
        self.too_large_files = 0
        self.left_out = LeftOut()  # the unreadable files' names, links outside, other types: the loaders'
        self.num_examples = None if data is None else int(data.shape[0])
        self.device = torch.device("cpu")
        self._data = data
        self._draw = draw
        self._prepare = prepare
        self._toy_examples: torch.Tensor | None = None
        # How the load went, for the CLI and the dashboard to report (`load_data` sets them): seconds,
        # and notes such as a cache rebuilt or reused.
        self.load_seconds: float | None = None
        self.notes: list[str] = []
        self.to(device)

    def skipped_note(self) -> str | None:
        """The files of a folder left out, in one sentence, or None when every file was read: how many
        could not be read as an image (`skipped_files`; how many of them were too large, and the limit;
        the first few by name, quoted as text), how many linked files lay outside the allowed folders, and
        how many files of other image types were not read (their extensions, and the types read)."""
        said = []
        count, left_out = self.skipped_files, self.left_out
        if count:
            note = f"{plural_files(count)} that could not be read as an image {_were(count)} left out"
            if self.too_large_files:
                note += f" ({too_large_words(self.too_large_files, count)})"
            if left_out.names:
                more = f" and {count - len(left_out.names):,} more" if count > len(left_out.names) else ""
                note += ": " + ", ".join(quoted(name, 80) for name in left_out.names) + more
            said.append(note)
        if left_out.outside:
            files = f"{left_out.outside:,} linked file{'s' * (left_out.outside != 1)}"
            said.append(f"{files} outside the allowed folders {_were(left_out.outside)} left out")
        if left_out.other_types:
            other = len(left_out.other_types)
            types = ", ".join(sorted(set(left_out.other_types)))
            kinds = ", ".join(ext[1:] for ext in IMAGE_EXTENSIONS)
            said.append(
                f"{plural_files(other)} of other types ({types}) {_were(other)} not read (read: {kinds})"
            )
        return "; ".join(said) + "." if said else None

    def left_out_fields(self) -> dict[str, Any]:
        """What `skipped_note` says, as a ``data`` event's fields (`schema.EVENT_FIELDS`): ``count`` (files
        that could not be read), ``too_large`` (of them), ``names`` (the first few, below the folder),
        ``outside`` (linked files outside the allowed folders), ``other_types`` (one extension per file of
        an image type not read); {} when every file was read."""
        left_out = self.left_out
        if not (self.skipped_files or left_out.outside or left_out.other_types):
            return {}
        return {
            "count": self.skipped_files,
            "too_large": self.too_large_files,
            "names": list(left_out.names),
            "outside": left_out.outside,
            "other_types": list(left_out.other_types),
        }

    def __repr__(self) -> str:
        size = "generated" if self.num_examples is None else f"{self.num_examples} examples"
        return f"DataSource({self.name!r}, {self.kind}, shape={self.sample_shape}, {size}, {self.device})"

    def close(self) -> None:
        """Release what the data holds besides memory: a streamed folder's worker processes
        (`image_store.StreamedSource`); a held set has nothing to release."""

    def to(self, device: torch.device | str) -> DataSource:
        """Move the held tensors to ``device``; returns self."""
        self.device = torch.device(device)
        if self._data is not None:
            self._data = self._data.to(self.device)
        if self.labels is not None:
            self.labels = self.labels.to(self.device)
        if self._toy_examples is not None:
            self._toy_examples = self._toy_examples.to(self.device)
        return self

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """A batch (n, *sample_shape), float32 on ``self.device``, drawn only from ``generator``.

        The generator must live on ``self.device``. Finite sets draw indices uniformly with replacement.
        """
        if self._draw is not None:
            return self._draw(n, generator, self.device)
        index = torch.randint(self.num_examples, (n,), generator=generator, device=self.device)
        return self._prepared(self._data[index])

    def _prepared(self, raw: torch.Tensor) -> torch.Tensor:
        return raw if self._prepare is None else self._prepare(raw)

    @property
    def streamed(self) -> bool:
        """True when the examples are read from a file batch by batch, not held (`image_store`)."""
        return False

    @property
    def nbytes(self) -> int:
        """Bytes the held examples take on the device (0 for a toy or a streamed set)."""
        return 0 if self._data is None else self._data.numel() * self._data.element_size()

    def take(self, index: torch.Tensor | np.ndarray) -> torch.Tensor:
        """The examples at ``index`` (a finite set only), float32 on ``self.device``: a few examples without
        `examples` converting the whole set."""
        if self._data is None:
            raise ValueError(f"{self.name} is generated, not a finite set: it has no examples to take")
        index = torch.as_tensor(index, dtype=torch.int64, device=self.device)
        return self._prepared(self._data[index])

    def stream_state(self) -> dict[str, int] | None:
        """Where a streamed source's batches have got to, for a checkpoint; None for held data (whose
        batches the run's generator alone fixes)."""
        return None

    def load_stream_state(self, state: dict[str, int] | None) -> None:
        """Go on from `stream_state`'s position (a streamed source); nothing for held data."""

    def sample_labelled(self, n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """A batch and its class labels: ((n, *sample_shape) float32, (n,) int64), both on ``self.device``
        and drawn only from ``generator`` (one draw of indices, as `sample` makes). DataError for data
        without labels."""
        if self.labels is None:
            raise DataError(f"{self.name} has no class labels; labelled data: {LABELLED_DATA}")
        index = torch.randint(self.num_examples, (n,), generator=generator, device=self.device)
        return self._prepared(self._data[index]), self.labels[index]

    def subset(self, index: torch.Tensor | np.ndarray) -> DataSource:
        """The examples at ``index`` (a finite set only) as a source of their own, on the same device,
        with the same number of classes and class names."""
        if self._data is None:
            raise ValueError(f"{self.name} is generated, not a finite set: it has no subset")
        index = torch.as_tensor(index, dtype=torch.int64, device=self.device)
        subset = DataSource(
            self.name,
            self.kind,
            self.sample_shape,
            data=self._data[index],
            labels=None if self.labels is None else self.labels[index],
            class_names=self.class_names,
            n_classes=self.n_classes,
            centers=self.centers,
            mode_std=self.mode_std,
            bounds=self.bounds,
            skipped_files=self.skipped_files,
            device=self.device,
            prepare=self._prepare,
        )
        subset.too_large_files = self.too_large_files
        subset.left_out = self.left_out
        return subset

    def examples(self) -> torch.Tensor:
        """The reference set for plots and metrics, float32 on ``self.device``: the whole held set up to
        `MAX_WHOLE_EXAMPLES` examples (converted at each call: nothing float is kept); for a larger set a
        fixed sample of 10,000 examples (seed 1234, drawn without replacement, in index order), and for a
        toy a fixed 10,000-point sample (seed 1234)."""
        if self._data is not None:
            if self.num_examples > MAX_WHOLE_EXAMPLES:
                return self.take(reference_index(self.num_examples))
            if self._prepare is None:
                return self._data
            # chunk by chunk into one tensor: never two float copies of the set at once
            first = self._prepare(self._data[:_CHUNK])
            if self.num_examples <= _CHUNK:
                return first
            whole = torch.empty((self.num_examples, *first.shape[1:]), dtype=first.dtype, device=first.device)
            whole[:_CHUNK] = first
            for start in range(_CHUNK, self.num_examples, _CHUNK):
                whole[start : start + _CHUNK] = self._prepare(self._data[start : start + _CHUNK])
            return whole
        if self._toy_examples is None:
            # Drawn on the CPU so that the reference set is the same whatever device trains.
            generator = torch.Generator().manual_seed(EXAMPLES_SEED)
            points = self._draw(EXAMPLES_FOR_TOYS, generator, torch.device("cpu"))
            self._toy_examples = points.to(self.device)
        return self._toy_examples

    def example_labels(self) -> torch.Tensor | None:
        """The class labels of `examples`, row for row ((n,) int64 on ``self.device``), or None for data
        without labels."""
        if self.labels is None or self._data is None:
            return None
        if self.num_examples > MAX_WHOLE_EXAMPLES:
            return self.labels[reference_index(self.num_examples).to(self.labels.device)]
        return self.labels


def reference_index(count: int) -> torch.Tensor:
    """The fixed sample `DataSource.examples` gives of a large set: `EXAMPLES_FOR_TOYS` indices below
    ``count`` drawn without replacement (seed `EXAMPLES_SEED`), sorted (int64, CPU)."""
    order = torch.randperm(count, generator=torch.Generator().manual_seed(EXAMPLES_SEED))
    return order[:EXAMPLES_FOR_TOYS].sort().values


def load_data(
    cfg: GANConfig,
    device: torch.device | str = "cpu",
    progress: Progress | None = None,
    *,
    allowed_roots: Sequence[str | Path] | None = None,
) -> DataSource:
    """The dataset ``cfg.dataset`` on ``device``; raises `DataError` when it cannot be loaded, or has no
    class labels for a class-conditional config (`require_labels`). ``progress(done, total, what)`` is
    called as a folder's files are decoded (and once when a cache is reused); the source's
    ``load_seconds`` says how long the load took.

    ``allowed_roots``: for a data_path a browser named (`check_data_path` has checked the path itself),
    the folders the server may read: a folder's linked files whose targets lie outside them are left out
    (counted in `DataSource.skipped_note`). None (the command line, a user's own machine): links are
    followed wherever they lead."""
    started = time.perf_counter()
    source = DATASETS[cfg.dataset].load(cfg, torch.device(device), progress, allowed_roots)
    source.load_seconds = time.perf_counter() - started
    return require_labels(cfg, source)


def memory_budget() -> int:
    """Bytes of pixels a folder may take held on the device before it is streamed:
    $GAN_DASHBOARD_DATA_BUDGET_MB (MiB) when set, else `MEMORY_BUDGET_BYTES`."""
    value = os.environ.get(MEMORY_BUDGET_ENV, "").strip()
    if not value:
        return MEMORY_BUDGET_BYTES
    try:
        mib = float(value)
    except ValueError:
        mib = -1.0
    if not mib >= 0:  # NaN too
        raise DataError(
            f"${MEMORY_BUDGET_ENV}={value!r}: need a number of MiB, 0 or more (0 streams every folder)"
        )
    return int(mib * 2**20)


def cache_root() -> Path:
    """The folder of streamed folders' cache files: $GAN_DASHBOARD_DATA_CACHE, else
    $XDG_CACHE_HOME/gan-dashboard/data, else ~/.cache/gan-dashboard/data. Deleting it is always safe."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "gan-dashboard" / "data"


def require_labels(cfg: GANConfig, source: DataSource) -> DataSource:
    """``source``, or `DataError` when ``cfg.conditioning`` needs class labels and it has fewer than two
    classes (a folder of images without class subfolders): the message says which data have labels."""
    if not cfg.is_conditional or source.n_classes >= 2:
        return source
    what = (
        _unlabelled_folder_reason(Path(cfg.data_path).expanduser())
        if cfg.dataset == "folder"
        else "it has none"
    )
    where = f" {cfg.data_path}" if cfg.data_path else ""
    raise DataError(
        f"conditioning={cfg.conditioning!r} needs class labels, and the {cfg.dataset} data{where} has none "
        f"({what}): allowed labelled data: {LABELLED_DATA}; or conditioning='none'"
    )


def allowed_roots_text(allowed_roots: Sequence[str | Path]) -> str:
    """The folders data may be read from as a message lists them: resolved, each once (two roots can be
    one folder: the app's data/ when the server runs in the app's folder), "none" for none."""
    return (
        ", ".join(dict.fromkeys(str(Path(root).expanduser().resolve()) for root in allowed_roots)) or "none"
    )


def check_data_path(
    path: str | Path, allowed_roots: Sequence[str | Path], *, limit: int = PATH_LIMIT
) -> Path:
    """``path`` resolved (``~`` expanded, symlinks followed, relative to the working folder as the loaders
    read it), or `DataError` naming it and the allowed folders unless it lies inside one of
    ``allowed_roots``. For a server that must not read whatever a browser names; the command line, on
    the user's own machine, does not call it. The message quotes at most ``limit`` characters of the path
    as given and as resolved (`quoting.quoted`; a narrow sidebar asks for fewer than a terminal)."""
    listed = allowed_roots_text(allowed_roots)
    try:
        resolved = Path(path).expanduser().resolve()
    except (OSError, RuntimeError, ValueError) as exc:  # a symlink loop; a NUL character
        reason = clipped(str(exc), PATH_LIMIT)
        raise DataError(
            f"data_path {quoted(str(path), limit)} cannot be resolved ({reason}); allowed: a path "
            f"inside {listed}"
        ) from None
    for root in allowed_roots:
        root = Path(root).expanduser().resolve()
        if resolved == root or root in resolved.parents:
            return resolved
    shown = quoted(str(path), limit)
    if str(resolved) != str(path):
        shown += f" ({clipped(str(resolved), limit)})"
    raise DataError(
        f"data_path {shown} is outside the folders data may be read from; allowed: a path inside {listed}"
    )


# ---------------------------------------------------------------------------------------------- 2D toys
_RING8_ANGLES = torch.arange(8, dtype=torch.float32) * (2 * math.pi / 8)
_RING8_CENTRES = 2.0 * torch.stack((torch.cos(_RING8_ANGLES), torch.sin(_RING8_ANGLES)), dim=1)
_GRID25_CENTRES = torch.cartesian_prod(*[torch.arange(-4.0, 5.0, 2.0)] * 2)


def _mixture(centres: torch.Tensor, std: float) -> Draw:
    """Equal-weight Gaussians with the given centres and per-axis std: a centre plus std·noise."""
    tables: dict[torch.device, torch.Tensor] = {}  # centres copied to a device once, not once per batch

    def draw(n: int, generator: torch.Generator, device: torch.device) -> torch.Tensor:
        if device not in tables:
            tables[device] = centres.to(device)
        k = torch.randint(len(centres), (n,), generator=generator, device=device)
        noise = torch.randn(n, 2, generator=generator, device=device, dtype=torch.float32)
        return torch.add(tables[device][k], noise, alpha=std)

    return draw


def _draw_spiral(n: int, generator: torch.Generator, device: torch.device) -> torch.Tensor:
    t = torch.rand(n, generator=generator, device=device, dtype=torch.float32).sqrt()
    angle = 3 * math.pi * t
    radius = 2.0 * t
    curve = torch.stack((radius * torch.cos(angle), radius * torch.sin(angle)), dim=1)
    return curve + 0.05 * torch.randn(n, 2, generator=generator, device=device, dtype=torch.float32)


def _draw_moons(n: int, generator: torch.Generator, device: torch.device) -> torch.Tensor:
    u = torch.rand(n, 2, generator=generator, device=device, dtype=torch.float32)
    angle = math.pi * u[:, 0]
    lower = (u[:, 1] < 0.5).to(torch.float32)  # 0: upper moon (cos, sin); 1: lower (1 - cos, 0.5 - sin)
    sign = 1.0 - 2.0 * lower
    x = lower + sign * torch.cos(angle) - 0.5
    y = 0.5 * lower + sign * torch.sin(angle) - 0.25
    noise = torch.randn(n, 2, generator=generator, device=device, dtype=torch.float32)
    return torch.stack((x, y), dim=1) + 0.05 * noise


def _draw_gaussian(n: int, generator: torch.Generator, device: torch.device) -> torch.Tensor:
    z = torch.randn(n, 2, generator=generator, device=device, dtype=torch.float32)
    # x = mean + L z with L the Cholesky factor of 0.25·[[1, 0.8], [0.8, 1]]: 0.5·[[1, 0], [0.8, 0.6]].
    x = 1.0 + 0.5 * z[:, 0]
    y = 1.0 + 0.5 * (0.8 * z[:, 0] + 0.6 * z[:, 1])
    return torch.stack((x, y), dim=1)


# name -> (draw, plot window, mode centres or None, per-mode std or None)
_TOYS: dict[str, tuple[Draw, tuple[float, float, float, float], torch.Tensor | None, float | None]] = {
    "ring8": (_mixture(_RING8_CENTRES, 0.02), (-2.5, 2.5, -2.5, 2.5), _RING8_CENTRES, 0.02),
    "grid25": (_mixture(_GRID25_CENTRES, 0.05), (-5.0, 5.0, -5.0, 5.0), _GRID25_CENTRES, 0.05),
    "spiral": (_draw_spiral, (-2.5, 2.5, -2.5, 2.5), None, None),
    "moons": (_draw_moons, (-2.0, 2.0, -1.5, 1.5), None, None),
    "gaussian": (_draw_gaussian, (-1.0, 3.0, -1.0, 3.0), None, None),  # mean ± 4 std on each axis
}


_CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


def dataset_classes(dataset: str) -> tuple[str, ...] | None:
    """The class names of a built-in labelled dataset (`DatasetSpec.labelled`), index i being class i, as
    its loader names them, known without loading it (a conditional run read from disk labels its grid's
    rows with them); None for other data (a folder's classes are its subfolders, found by loading it)."""
    if dataset == "digits":
        return tuple(str(d) for d in range(10))
    if dataset == "cifar10":
        return _CIFAR10_CLASSES  # (torchvision reads them from the downloaded files)
    if dataset in ("mnist", "fashion-mnist"):
        from torchvision import datasets  # the names are class attributes: nothing is read or downloaded

        return tuple(getattr(datasets, _TORCHVISION_SETS[dataset][0]).classes)
    return None


def mode_count(dataset: str) -> int | None:
    """How many mode centres a 2D mixture has (ring8: 8, grid25: 25); None for other data."""
    centres = _TOYS.get(dataset, (None, None, None, None))[2]
    return None if centres is None else len(centres)


def _load_toy(
    cfg: GANConfig,
    device: torch.device,
    progress: Progress | None = None,
    allowed_roots: Sequence[str | Path] | None = None,
) -> DataSource:
    draw, bounds, centers, mode_std = _TOYS[cfg.dataset]
    return DataSource(
        cfg.dataset,
        "points",
        (2,),
        draw=draw,
        centers=None if centers is None else centers.clone(),
        mode_std=mode_std,
        bounds=bounds,
        device=device,
    )


# ---------------------------------------------------------------------------------------------- points CSV
def _load_points(
    cfg: GANConfig,
    device: torch.device,
    progress: Progress | None = None,
    allowed_roots: Sequence[str | Path] | None = None,
) -> DataSource:
    points = read_points_csv(Path(cfg.data_path).expanduser())
    low, high = points.min(dim=0).values, points.max(dim=0).values
    span = high - low
    margin = torch.where(span > 0, 0.1 * span, torch.ones_like(span))  # one point-wide axis: ±1 around it
    (xmin, ymin), (xmax, ymax) = (low - margin).tolist(), (high + margin).tolist()
    return DataSource("points", "points", (2,), data=points, bounds=(xmin, xmax, ymin, ymax), device=device)


def read_points_csv(
    path: Path, name: str | None = None, max_rows: int | None = None, min_rows: int = 2
) -> torch.Tensor:
    """A CSV of 2D points (two numeric columns x, y in data units; a header row is optional) as an (N, 2)
    float32 tensor on the CPU, ``min_rows`` <= N <= ``max_rows``.

    Every problem is a `DataError` naming the file (``name``, e.g. an upload's own name, else ``path``)
    and what is wrong: missing, not a regular file (a folder; a named pipe, refused at once rather than
    waited on: `open_regular`), unreadable or empty, not two columns, too few or too many rows, or the
    first bad cell (empty, text, NaN or infinite, or beyond float32) by column and row.
    ``max_rows`` (default `MAX_POINTS_ROWS`): the probe asks D about fewer points than training reads;
    ``min_rows`` (default 2, what training needs): the probe asks D about a single point too. A bad cell
    is named before too few rows are counted: a header and one bad row names the cell.
    """
    max_rows = MAX_POINTS_ROWS if max_rows is None else max_rows

    def fail(problem: str) -> DataError:
        allowed = (
            "need two numeric columns x,y (a header row is optional), "
            f"{min_rows} to {max_rows} rows of finite numbers"
        )
        return DataError(f"points CSV {name or path}: {problem}; {allowed}")

    try:
        file = os.fdopen(open_regular(path), "rb")
    except FileNotFoundError:
        raise fail("file not found") from None
    except NotRegularFileError as exc:
        raise fail(str(exc)) from None
    except OSError as exc:
        raise fail(f"cannot read it ({exc})") from None
    try:
        # Read as text: a bad cell can then be quoted back to the user as written. Reading two rows past
        # the limit (a header plus one too many) is enough to tell that the file is too long.
        with file:
            table = pd.read_csv(
                file,
                header=None,
                dtype=str,
                keep_default_na=False,
                skipinitialspace=True,
                nrows=max_rows + 2,
            )
    except pd.errors.EmptyDataError:
        raise fail("the file is empty") from None
    except pd.errors.ParserError as exc:
        raise fail(_csv_parse_problem(exc)) from None
    except UnicodeDecodeError as exc:
        # (pandas decodes in pieces: where the byte lies in the file is not known here)
        raise fail(f"it is not UTF-8 text (byte {exc.object[exc.start]:#04x} does not decode)") from None
    except OSError as exc:
        raise fail(f"cannot read it ({exc})") from None

    if table.shape[1] != 2:
        problem = f"it has {table.shape[1]} column{'s' if table.shape[1] != 1 else ''}"
        if table.shape[1] == 1:  # a semicolon- or tab-separated file (a spreadsheet's export in many locales)
            held = {"';'": ";", "a tab": "\t"}
            found = [name for name, char in held.items() if table[0].str.contains(char, regex=False).any()]
            if found:
                problem += f" (its rows hold {' and '.join(found)}: the separator must be a comma)"
        raise fail(problem)
    raw = table.fillna("").apply(lambda column: column.str.strip())
    values = raw.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64)
    blank = (raw == "").to_numpy()
    nan_word = raw.apply(lambda column: column.str.lower().isin(("nan", "+nan", "-nan"))).to_numpy()
    text = np.isnan(values) & ~blank & ~nan_word

    first_row = 0
    if text[0].all():  # no cell of the first row is a number: it is a header
        first_row = 1
    rows = table.shape[0] - first_row
    if rows > max_rows:
        raise fail(f"it has more than {max_rows} rows")
    with np.errstate(over="ignore"):  # a value beyond float32 becomes inf and is reported just below
        points = values[first_row:].astype(np.float32)
    bad = text[first_row:] | ~np.isfinite(points)  # float32 also catches values too large, like 1e300
    if bad.any():
        i, j = np.argwhere(bad)[0]
        cell = raw.iat[first_row + i, j]
        if cell == "":
            what = "an empty cell"
        elif text[first_row + i, j]:
            what = f"text {quoted(cell)}"
        elif nan_word[first_row + i, j] or cell.lower().lstrip("+-") in ("inf", "infinity"):
            what = f"non-finite value {quoted(cell)}"
        else:  # a finite number (1e300, or 1e400 beyond even float64) that float32 cannot hold
            what = f"value {quoted(cell)}, beyond float32's range (±{np.finfo(np.float32).max:.2g})"
        raise fail(f"column {j + 1} has {what} at row {first_row + i + 1}")
    if rows < min_rows:
        raise fail(f"it has {rows} data row{'s' if rows != 1 else ''}")
    return torch.from_numpy(points)


# pandas' C parser on a row longer than the first: "Error tokenizing data. C error: Expected 2 fields in line
# 3, saw 3" (its line numbers count from 1, the header included); on a quote never closed, "EOF inside string
# starting at row 1" (its rows count from 0).
_FIELDS_RE = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")
_OPEN_QUOTE_RE = re.compile(r"EOF inside string starting at row (\d+)")


def _csv_parse_problem(exc: pd.errors.ParserError) -> str:
    """What a CSV pandas cannot parse has wrong, in the product's words where pandas' are known."""
    words = " ".join(str(exc).split())
    if m := _FIELDS_RE.search(words):
        expected, line, saw = m.groups()
        return f"line {line} has {saw} cells, where the lines before it have {expected}"
    if m := _OPEN_QUOTE_RE.search(words):
        return f'a quote (") opened on line {int(m.group(1)) + 1} is never closed'
    return f"it cannot be read as CSV ({clipped(words, 200)})"


# ---------------------------------------------------------------------------------------------- images
@dataclass(frozen=True)
class ImagePrep:
    """Raw pixels (a batch (n, C, H, W) of any numeric dtype, values 0..``scale``) to the float32 examples
    in [-1, 1] that training sees, (n, ``channels``, ``size``, ``size``) on the batch's device.

    One rule for every image set, applied to each batch on the device: divide by ``scale`` (255 for 8-bit
    pixels, 16 for scikit-learn's digits); ``channels`` 1 from 3 takes luma (0.299 R + 0.587 G + 0.114
    B, before resizing: a third of the work); a side other than ``size`` is resized by antialiased
    bilinear interpolation; ``channels`` 3 from 1 repeats the gray channel; then x * 2 - 1, clipped to
    [-1, 1]. Every operation acts on each image alone, so a batch gets exactly the values its images had
    when whole sets were converted at load."""

    scale: float
    own_channels: int
    channels: int
    size: int

    def __call__(self, raw: torch.Tensor) -> torch.Tensor:
        batch = raw.to(dtype=torch.float32) / self.scale
        if self.channels == 1 and self.own_channels == 3:
            batch = 0.299 * batch[:, 0:1] + 0.587 * batch[:, 1:2] + 0.114 * batch[:, 2:3]
        if batch.shape[-2:] != (self.size, self.size):
            batch = F.interpolate(batch, size=(self.size, self.size), mode="bilinear", antialias=True)
        if self.channels == 3 and self.own_channels == 1:
            batch = batch.expand(-1, 3, -1, -1)
        return (batch * 2.0 - 1.0).clamp_(-1.0, 1.0)


def as_uint8(raw: torch.Tensor) -> torch.Tensor:
    """``raw`` as uint8 when that holds its values exactly (whole numbers 0..255: 8-bit pixels, the
    digits' 0..16), else as float32 (values a caller scaled itself: kept, at 4 bytes a value)."""
    if raw.dtype == torch.uint8:
        return raw
    if raw.numel() and not raw.is_floating_point() and raw.min() >= 0 and raw.max() <= 255:
        return raw.to(torch.uint8)
    if raw.numel() and raw.is_floating_point():
        whole = torch.isfinite(raw).all() and (raw == raw.round()).all()
        if whole and raw.min() >= 0 and raw.max() <= 255:
            return raw.to(torch.uint8)
    return raw.to(torch.float32)


def image_source(
    name: str,
    raw: torch.Tensor,
    scale: float,
    labels: torch.Tensor | None,
    cfg: GANConfig,
    device: torch.device | str,
    skipped_files: int = 0,
    class_names: Sequence[str] | None = None,
) -> DataSource:
    """Raw images as the training set ``name``: a `DataSource` holding them as uint8 (`as_uint8`) on
    ``device``, whose batches are (N, C', S, S) float32 in [-1, 1] made by `ImagePrep`: the way every
    image dataset (and the probe's uploads) is prepared.

    ``raw``: (N, C, H, W) with C 1 or 3, any numeric dtype, values 0..``scale`` (255 for 8-bit pixels,
    16 for scikit-learn's digits); values outside are clipped to [-1, 1] after scaling. ``labels``: (N,)
    int64 class indices, or None. ``cfg`` gives the side S (`GANConfig.resolved_image_size`) and the
    channels C': ``cfg.channels`` 0 keeps C; 1 takes luma; 3 repeats a gray channel. The raw pixels are
    held at their own size: a set made larger (digits' 8 px to 32) holds no more bytes for it.
    ``skipped_files``: unreadable files the caller left out, reported by `DataSource.skipped_files`. It
    makes no checks of its own (the loaders and the probe hand it well-formed arrays): a ``raw`` of
    another shape fails inside torch.
    """
    own_channels = raw.shape[1]
    channels = cfg.channels or own_channels
    size = cfg.resolved_image_size
    return DataSource(
        name,
        "image",
        (channels, size, size),
        data=as_uint8(raw),
        labels=labels,
        class_names=class_names,
        skipped_files=skipped_files,
        device=device,
        prepare=ImagePrep(float(scale), own_channels, channels, size),
    )


def _load_digits(
    cfg: GANConfig,
    device: torch.device,
    progress: Progress | None = None,
    allowed_roots: Sequence[str | Path] | None = None,
) -> DataSource:
    from sklearn.datasets import load_digits  # imported here: scikit-learn takes a second to import

    digits = load_digits()  # bundled with scikit-learn: 1797 images of 8x8, values 0..16
    raw = torch.from_numpy(digits.images).unsqueeze(1)
    labels = torch.from_numpy(digits.target).to(torch.int64)
    return image_source("digits", raw, 16.0, labels, cfg, device, class_names=[str(d) for d in range(10)])


# name -> (torchvision class name, where its files live under the root, what its download writes in the root)
_TORCHVISION_SETS = {
    "mnist": ("MNIST", "MNIST/raw/train-images-idx3-ubyte etc.", ("MNIST",)),
    "fashion-mnist": ("FashionMNIST", "FashionMNIST/raw/train-images-idx3-ubyte etc.", ("FashionMNIST",)),
    "cifar10": (
        "CIFAR10",
        "cifar-10-batches-py/data_batch_1 etc.",
        ("cifar-10-python.tar.gz", "cifar-10-batches-py"),
    ),
}
# The config field ``download`` as each way of setting it names it: the messages hold for all of them.
_DOWNLOAD_ON = (
    "tick download in the dashboard's sidebar, pass --download on the command line, or set download=True"
)
_DOWNLOAD_OFF = "untick download in the sidebar, pass --no-download, or set download=False"


def _load_torchvision(
    cfg: GANConfig,
    device: torch.device,
    progress: Progress | None = None,
    allowed_roots: Sequence[str | Path] | None = None,
) -> DataSource:
    import torchvision.datasets  # imported here: torchvision takes seconds to import

    class_name, files, written = _TORCHVISION_SETS[cfg.dataset]
    root = cfg.data_path or "data"
    try:
        # (torchvision expands ~ in a root given as a string; so does the clean-up)
        with removed_if_failed(Path(root).expanduser(), written):
            dataset = getattr(torchvision.datasets, class_name)(root=root, train=True, download=cfg.download)
    except (OSError, RuntimeError) as exc:  # URLError is an OSError; torchvision raises RuntimeError too
        if cfg.download:
            reason = clipped(" ".join(str(exc.reason if isinstance(exc, URLError) else exc).split()), 300)
            raise DataError(
                f"{cfg.dataset}: download into {quoted(root, PATH_LIMIT)} failed ({reason}); check the "
                f"network, or place the torchvision files there ({files}) and turn download off "
                f"({_DOWNLOAD_OFF})"
            ) from exc
        raise DataError(
            f"{cfg.dataset} not found under {quoted(root, PATH_LIMIT)}: place the torchvision files there "
            f"({files}), or let torchvision download them (needs a network): {_DOWNLOAD_ON}"
        ) from exc
    except (AssertionError, ValueError, TypeError, KeyError, EOFError, pickle.UnpicklingError) as exc:
        raise DataError(
            f"{cfg.dataset} files under {quoted(root, PATH_LIMIT)} cannot be read ({type(exc).__name__}: "
            f"{clipped(str(exc), 300)}); replace them with the original torchvision files"
        ) from exc

    # The raw arrays torchvision already holds: uint8 (N, 28, 28) tensor for MNIST-likes, uint8
    # (N, 32, 32, 3) numpy array for CIFAR-10. No per-image PIL round trip.
    data = torch.as_tensor(dataset.data)
    raw = data.unsqueeze(1) if data.ndim == 3 else data.permute(0, 3, 1, 2)
    labels = torch.as_tensor(dataset.targets, dtype=torch.int64)
    return image_source(cfg.dataset, raw, 255.0, labels, cfg, device, class_names=list(dataset.classes))


def _paths_under(root: Path, names: Sequence[str]) -> set[str]:
    """Every path that exists of ``root``/name for each of ``names``, and everything inside those that are
    folders (symlinked folders not entered)."""
    found: set[str] = set()
    for name in names:
        top = os.path.join(root, name)
        if not os.path.lexists(top):
            continue
        found.add(top)
        for folder, subfolders, filenames in os.walk(top):
            found.update(os.path.join(folder, entry) for entry in (*subfolders, *filenames))
    return found


@contextlib.contextmanager
def removed_if_failed(root: Path, names: Sequence[str]) -> Iterator[None]:
    """Remove what the block (a torchvision download into ``root``) created, when it raises, and only
    that: when ``root`` did not exist, the first folder made on the way to it (everything in it is new);
    else, of ``names`` in ``root`` (what the download writes: the dataset's folder, its archive), each one
    that was not there and each file or folder inside one that was not there. Other data in ``root`` and
    files that were there are left alone. (A second download of the same set into the same folder at the
    same moment could lose its new files to this one's failure; a retry downloads them again.)"""
    made = None  # the first missing folder on the way to root, if any
    path = root.absolute()
    while not os.path.lexists(path):
        made, path = path, path.parent
    before = set() if made is not None else _paths_under(root, names)
    try:
        yield
    except BaseException:
        if made is not None:
            shutil.rmtree(made, ignore_errors=True)
        else:
            # sorted: a folder comes before what is inside it, which goes with it
            for new in sorted(_paths_under(root, names) - before):
                if os.path.isdir(new) and not os.path.islink(new):
                    shutil.rmtree(new, ignore_errors=True)
                else:
                    with contextlib.suppress(OSError):  # (gone with its folder)
                        os.unlink(new)
        raise


# Pillow modes holding one gray channel: they decode to (H, W); every other mode decodes to RGB (H, W, 3).
GRAY_MODES = frozenset({"1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"})
# Modes whose samples are wider than 8 bits: scaled to 0..255 here, because Pillow's own conversion to "L"
# clips them (a 16-bit ramp 0..65535 would come out almost all white).
_WIDE_MODES = frozenset({"I", "I;16", "I;16B", "I;16L", "I;16N", "F"})


def is_hidden_name(name: str) -> bool:
    """Whether a file or folder name marks something that is not data: hidden ones (a leading ".":
    .ipynb_checkpoints, .Trash-1000, .git, macOS's ._name AppleDouble files) and ``__MACOSX``, the folder
    of ._ files that macOS puts into the ZIPs it makes. Both the ``folder`` loader and the ZIP upload
    (`gan_core.export.extract_images_zip`) skip every path part it flags, so a folder and its ZIP give
    the same training set."""
    return name.startswith(".") or name == "__MACOSX"


def _integer_top(image: Image.Image) -> int:
    """The largest value a mode "I" image's samples can hold, as its file declares it: a TIFF names its
    bits per sample and whether they are signed (Pillow reads 8-, 16- and 32-bit integer TIFFs into
    "I"); anything else in "I" (a 16-bit PNG, which older Pillow opened as "I") holds 16 bits."""
    tags = getattr(image, "tag_v2", None)
    if image.mode != "I" or tags is None:
        return 65535
    bits, sample_format = tags.get(258, (16,)), tags.get(339, (1,))
    bits = bits[0] if isinstance(bits, tuple) else bits
    signed = (sample_format[0] if isinstance(sample_format, tuple) else sample_format) == 2
    return 2 ** (int(bits) - signed) - 1


def image_array(image: Image.Image, integer_top: int | None = None) -> np.ndarray:
    """The decoding rule for every picture the product reads: a PIL image, in any mode and bit depth, as
    the 8-bit picture a viewer shows: (H, W) uint8 for the `GRAY_MODES`, else (H, W, 3).

    - Samples wider than 8 bits are scaled, never clipped: 16-bit ("I;16*", and "I" from a PNG) by
      v / 257 rounded, so 0..65535 spans 0..255; "I" from a TIFF by the range it declares (32-bit signed:
      0..2**31 - 1, negatives black; ``integer_top`` overrides it); float "F" is read as 0..1 (values
      outside clipped, NaN black).
    - 1-bit, palette, CMYK, YCbCr, LAB and HSV go through Pillow's own conversions to L or RGB, which
      scale correctly.
    - Transparency in any form PNG allows (an alpha channel, a palette's transparent index or tRNS alpha
      table, a tRNS colour key in gray, 16-bit gray or RGB) becomes white paper: each pixel is composited
      alpha-over-white, round((c * a + 255 * (255 - a)) / 255), one formula for every mode, so one
      picture stored any of these ways decodes to the same array.
    """
    mode, key = image.mode, image.info.get("transparency")
    alpha = None
    if mode in _WIDE_MODES:
        values = np.asarray(image).astype(np.float64)
        if mode == "F":
            level = np.nan_to_num(values, nan=0.0) * 255.0
        else:
            top = _integer_top(image) if integer_top is None else integer_top
            if top > 2**31 - 1:  # unsigned 32-bit samples: Pillow holds them as signed, wrapped
                values %= 2.0**32
            level = values * (255.0 / top)
        if isinstance(key, (int, float)):  # a 16-bit PNG's tRNS: the one gray value that is transparent
            alpha = np.where(values == key, 0, 255).astype(np.uint8)
        colour = np.clip(np.rint(level), 0, 255).astype(np.uint8)
    elif mode in GRAY_MODES:  # 1, L, LA, La
        if mode == "L" and key is None:
            return np.asarray(image, dtype=np.uint8)
        gray_alpha = np.asarray(image.convert("LA"))  # Pillow scales "1" to 0/255, applies L's tRNS key
        colour, alpha = gray_alpha[..., 0], gray_alpha[..., 1]
    elif "A" in mode or "a" in mode or key is not None:  # RGBA, RGBa, PA, P or RGB with transparency
        rgba = np.asarray(image.convert("RGBA"))
        colour, alpha = rgba[..., :3], rgba[..., 3]
    else:  # RGB, RGBX, P, CMYK, YCbCr, LAB, HSV
        return np.asarray(image if mode == "RGB" else image.convert("RGB"), dtype=np.uint8)
    if alpha is None:
        return colour
    # Transparent pixels hold arbitrary colour (often black); show them on white paper.
    a = alpha.astype(np.uint32)[..., None] if colour.ndim == 3 else alpha.astype(np.uint32)
    flat = (colour.astype(np.uint32) * a + 255 * (255 - a) + 127) // 255
    return flat.astype(np.uint8)


def decode_image(source: str | Path | BinaryIO, size: int) -> np.ndarray:
    """One image file (a path or a binary file object) as the ``folder`` dataset reads it: a (size, size)
    uint8 array for a gray image, (size, size, 3) for a colour one.

    Every mode and bit depth decodes by `image_array` (scaled, never clipped; transparent pixels white),
    then the centred square is cut out and resized (Lanczos). Raises what PIL raises for a file it cannot
    read (OSError, SyntaxError, ValueError, DecompressionBombError), and `NotRegularFileError` (an
    OSError) at once for a path that is no regular file: a named pipe put where the folder's listing
    found a file is never waited on. The Ask D probe reads uploaded images through this too, so they
    look exactly like training images.
    """
    from PIL import Image, ImageOps

    if isinstance(source, (str, Path)):
        with os.fdopen(open_regular(source), "rb") as file:
            return decode_image(file, size)
    with Image.open(source) as image:
        image.draft(image.mode, (size, size))  # JPEG: decode at a reduced scale, much faster
        integer_top = _integer_top(image)  # read from the file's tags, which exif_transpose's copy drops
        image = Image.fromarray(image_array(ImageOps.exif_transpose(image), integer_top))
        # Crop first, then resize: resizing with a crop box (ImageOps.fit) lets the filter reach past
        # the box and bleed cropped-off pixels into the edges.
        width, height = image.size
        side = min(width, height)
        left, top = (width - side) // 2, (height - side) // 2
        image = image.crop((left, top, left + side, top + side))
        image = image.resize((size, size), Image.Resampling.LANCZOS)
        return np.asarray(image, dtype=np.uint8)


def image_files(root: Path) -> list[Path]:
    """The files under ``root`` whose names end in one of `IMAGE_EXTENSIONS`, sorted by path, without
    any whose path below ``root`` has a hidden part (`is_hidden_name`): hidden folders are not entered.
    ``root`` itself may lie in a hidden folder (the dashboard's uploads live in ``.uploads``).

    A file is anything there but a folder: a named pipe, a device or a socket named ``x.png`` is listed
    too, so that the loader, which reads none of them (`decode_image`), counts it among the files it
    could not read (`DataSource.skipped_files`) instead of leaving it out without a word. A symlink is
    followed; one that leads nowhere is left out."""
    return [Path(path) for path in image_paths(root)]


def _walk_images(
    root: Path, others: list[str] | None = None, links: list[str] | None = None
) -> Iterator[str]:
    """The files `image_paths` lists, in the order the walk meets them (and ``others``, ``links`` as
    there): one walk for the loader and for the sidebar's check that a folder holds an image at all
    (`_holds_an_image`, which stops at the first)."""
    folders = [str(root)]
    while folders:  # os.walk's traversal (no symlinked folder entered, an unreadable one left out), but
        # with scandir's entries, whose file type needs no stat call: it matters for 200,000 files
        try:
            with os.scandir(folders.pop()) as entries:
                for entry in entries:
                    if is_hidden_name(entry.name):
                        continue
                    if entry.is_dir():
                        if not entry.is_symlink():
                            folders.append(entry.path)
                        continue
                    extension = os.path.splitext(entry.name)[1].lower()
                    if extension in IMAGE_EXTENSIONS and (
                        entry.is_file() or os.path.exists(entry.path)  # (a named pipe, a device)
                    ):
                        if links is not None and entry.is_symlink():
                            links.append(entry.path)
                        yield entry.path
                    elif others is not None and extension in OTHER_IMAGE_EXTENSIONS:
                        others.append(entry.path)
        except OSError:
            continue


def image_paths(root: Path, others: list[str] | None = None, links: list[str] | None = None) -> list[str]:
    """`image_files` as strings, in the same order: what the ``folder`` loader works with, since making
    and sorting 200,000 `Path` objects takes seconds of a load that reuses its cache. Given lists, it
    also appends to ``others`` the files of image types it does not list (`OTHER_IMAGE_EXTENSIONS`),
    and to ``links`` the files it lists that are symlinks (scandir knows both without a stat call)."""
    files = list(_walk_images(root, others, links))
    return sorted(files, key=lambda path: path.split(os.sep))  # the order of the paths' parts, as Path sorts


def links_outside(links: Sequence[str], allowed_roots: Sequence[str | Path]) -> set[str]:
    """The symlinks of ``links`` whose target (resolved, through every link) lies outside each of
    ``allowed_roots``, or cannot be resolved: files a path typed in a browser must not make the server
    read (`check_data_path` checks the folder itself; no symlinked folder is entered below it)."""
    roots = [Path(root).expanduser().resolve() for root in allowed_roots]
    outside = set()
    for link in links:
        try:
            target = Path(link).resolve(strict=True)
        except (OSError, RuntimeError):  # gone, or a loop
            outside.add(link)
            continue
        if not any(target == root or root in target.parents for root in roots):
            outside.add(link)
    return outside


def left_out_names(root: Path, files: Sequence[str | Path], kept: Sequence[str | Path]) -> tuple[str, ...]:
    """The first `LEFT_OUT_NAMES` of ``files`` (under ``root``) not among ``kept``, as paths below
    ``root`` (`LeftOut.names`)."""
    if len(kept) == len(files):
        return ()
    kept_set = {str(path) for path in kept}
    names = []
    for path in files:
        if str(path) not in kept_set:
            names.append("/".join(relative_parts(root, [path])[0]))
            if len(names) == LEFT_OUT_NAMES:
                break
    return tuple(names)


def relative_parts(root: Path, paths: Sequence[str | Path]) -> list[tuple[str, ...]]:
    """``path.relative_to(root).parts`` of each of ``paths``, by string slicing where a path is spelled
    under ``root`` (every path `image_paths` gives), which is many times faster for a large folder."""
    prefix = str(root).rstrip(os.sep) + os.sep
    cut = len(prefix)
    parts = []
    for path in paths:
        text = str(path)
        if text.startswith(prefix):
            parts.append(tuple(text[cut:].split(os.sep)))
        else:
            parts.append(Path(path).relative_to(root).parts)
    return parts


def check_data_contents(cfg: GANConfig) -> None:
    """`DataError` unless ``cfg``'s data_path holds data of the user's own that its loader could read, as
    far as a quick look tells (for a form to say before Start; the message is the loader's own): a
    points CSV is read by `read_points_csv`, as `load_data` reads it; a folder must exist and hold at
    least one file named like an image (`IMAGE_EXTENSIONS`; the look ends at the first, and whether it
    decodes is known at Start). Datasets without a data_path of the user's own pass (a torchvision root
    is made by its download)."""
    spec = DATASETS[cfg.dataset]
    if not spec.needs_data_path:
        return
    path = Path(cfg.data_path).expanduser()
    if spec.is_points:
        read_points_csv(path)
        return
    _check_folder(path)
    if not _holds_an_image(path):
        raise no_images_error(path, [])


def _check_folder(root: Path) -> None:
    """`DataError` unless ``root`` is a folder (the ``folder`` loader's first checks)."""
    kinds = ", ".join(ext[1:] for ext in IMAGE_EXTENSIONS)
    if not root.exists():
        raise DataError(f"image folder {root} not found; need a folder of images ({kinds})")
    if not root.is_dir():
        raise DataError(f"image folder {root} is not a folder; need a folder of images ({kinds})")


def _holds_an_image(root: Path) -> bool:
    """Whether `image_paths` would list a file under ``root``: the same walk, ended at the first one."""
    return next(_walk_images(root), None) is not None


def _load_folder(
    cfg: GANConfig,
    device: torch.device,
    progress: Progress | None = None,
    allowed_roots: Sequence[str | Path] | None = None,
) -> DataSource:
    from gan_core import image_store  # its DataLoader machinery is needed only for folders

    root = Path(cfg.data_path).expanduser()
    _check_folder(root)
    others: list[str] = []
    links: list[str] = []
    files = image_paths(root, others, links)
    outside = links_outside(links, allowed_roots) if allowed_roots is not None else set()
    if outside:
        files = [path for path in files if path not in outside]
    size = cfg.resolved_image_size
    if len(files) * 3 * size * size > memory_budget():  # as uint8 colour: what holding it could take
        source = image_store.streamed_folder(cfg, root, files, device, progress)
    elif len(files) >= CACHE_HELD_FROM:  # decoded once too, then read whole from the cache
        source = image_store.held_folder(cfg, root, files, device, progress)
    else:
        pixels, colour, kept, too_large = image_store.decode_files(files, size, progress)
        if not kept:
            raise no_images_error(root, files, too_large)
        # Any colour image makes the set RGB (gray ones were decoded into all three channels); else one
        # channel.
        raw = torch.from_numpy(pixels if colour else np.ascontiguousarray(pixels[:, :1]))
        labels, class_names = folder_labels(root, kept)
        skipped = len(files) - len(kept)
        source = image_source("folder", raw, 255.0, labels, cfg, device, skipped, class_names)
        source.too_large_files = too_large
        source.left_out = LeftOut(names=left_out_names(root, files, kept))
    extensions = tuple(os.path.splitext(path)[1].lower() for path in others)
    source.left_out = dataclasses.replace(source.left_out, outside=len(outside), other_types=extensions)
    return source


def plural_files(count: int) -> str:
    return f"{count:,} file{'' if count == 1 else 's'}"


def _were(count: int) -> str:
    return "was" if count == 1 else "were"


def image_pixel_limit() -> int | None:
    """The most pixels an image file may have for `decode_image` to read it (None: no limit): PIL refuses
    a larger one as a possible decompression bomb (twice `PIL.Image.MAX_IMAGE_PIXELS`; it warns above
    that number itself)."""
    from PIL import Image

    return None if Image.MAX_IMAGE_PIXELS is None else 2 * Image.MAX_IMAGE_PIXELS


def too_large_words(count: int, of: int) -> str:
    """That ``count`` of ``of`` image files have more pixels than `image_pixel_limit`, and the limit."""
    limit = image_pixel_limit() or 0  # (0: no limit, and then no file is too large)
    side = math.isqrt(limit)
    who = "it is" if of == 1 else f"{count:,} of them {'is' if count == 1 else 'are'}"
    return (
        f"{who} too large: over {limit:,} pixels, the most an image may have (about {side:,} x {side:,}); "
        f"scale {'it' if count == 1 else 'them'} down"
    )


def no_images_error(root: Path, files: Sequence[str | Path], too_large: int = 0) -> DataError:
    """The error of a folder in which no image could be read (``too_large`` of its files for their size)."""
    kinds = ", ".join(ext[1:] for ext in IMAGE_EXTENSIONS)
    unreadable = f": {len(files)} files with such a name could not be read" if files else ""
    if too_large:
        unreadable += f" ({too_large_words(too_large, len(files))})"
    return DataError(f"no images ({kinds}) found under {root}{unreadable}")


def folder_labels(root: Path, kept: Sequence[str | Path]) -> tuple[torch.Tensor | None, list[str] | None]:
    """(labels (N,) int64, class names) of the images ``kept`` under ``root``, or (None, None).

    Classes: images sorted into two or more subfolders, every image inside one of them. One folder
    wrapping them all is looked through (a ZIP made by "Compress" wraps the folder so), so a folder and
    its ZIP, wrapped or not, give the same labels; anything else has no labels."""
    folders = [parts[:-1] for parts in relative_parts(root, kept)]
    while all(folders) and len({parts[0] for parts in folders}) == 1:
        folders = [parts[1:] for parts in folders]
    if not all(folders):
        return None, None
    top = [parts[0] for parts in folders]
    class_names = sorted(set(top))
    class_index = {name: i for i, name in enumerate(class_names)}
    return torch.tensor([class_index[name] for name in top], dtype=torch.int64), class_names


def _unlabelled_folder_reason(root: Path) -> str:
    """Why the folder at ``root`` has no classes by `folder_labels`' rule, in words for `require_labels`:
    no subfolders, one only, or images lying outside the class subfolders (how many, the first few
    named). A review: a folder with cats/, dogs/ and 30 loose images was said to have no subfolders."""
    try:
        paths = image_paths(root, [], [])
    except (OSError, DataError):  # gone since it loaded: the rule, unchecked
        return "its images are not all sorted into two or more class subfolders"
    relative = relative_parts(root, paths)
    folders = [parts[:-1] for parts in relative]
    names = [parts[-1] for parts in relative]
    inner = None  # the innermost folder wrapping every image (a single class's, or a ZIP's wrapper)
    while folders and all(folders) and len({parts[0] for parts in folders}) == 1:
        inner = folders[0][0]
        folders = [parts[1:] for parts in folders]
    classes = sorted({parts[0] for parts in folders if parts})
    loose = [name for name, parts in zip(names, folders) if not parts]
    if not classes:
        if inner is not None:
            return f"its images are all in one subfolder, {inner}/: one class, where labels need two or more"
        return "its images are not sorted into class subfolders"
    shown = ", ".join(f"{name}/" for name in classes[:5]) + (", ..." if len(classes) > 5 else "")
    first = ", ".join(repr(name) for name in loose[:3]) + (", ..." if len(loose) > 3 else "")
    return (
        f"{len(loose):,} of its {len(paths):,} images lie outside its class subfolders ({shown}): {first}; "
        "every image must be inside one of them: move those into one, or out of the folder"
    )


# ---------------------------------------------------------------------------------------------- registry
@dataclass(frozen=True)
class DatasetSpec:
    """What the product knows of one dataset besides its loader, so that no caller tests dataset names."""

    # (cfg, device, progress, allowed_roots): see `load_data`
    load: Callable[[GANConfig, torch.device, Progress | None, Sequence[str | Path] | None], DataSource]
    is_points: bool  # 2D points (mlp only, drawn as a scatter over D's heatmap); else images
    image_size: int | None = None  # the images' own side in pixels (config image_size 0); None for points
    needs_data_path: bool = False  # the user's own data (a CSV, a folder): data_path must name it
    labelled: bool = False  # every example has a class label (`DataSource.labels`)
    labels_from_folders: bool = False  # labelled when its images lie in class subfolders (folder)
    reads_data_path: bool = False  # data_path is read (needed, or a torchvision root defaulting to ./data)
    downloads: bool = False  # torchvision can download it (config ``download``)
    generated: bool = False  # drawn afresh at every batch (the toys): no finite set of examples


_TORCHVISION = dict(load=_load_torchvision, is_points=False, reads_data_path=True, downloads=True)

# The one list of datasets, in menu order: gan_core.config takes its choices (DATASETS, POINT_DATASETS,
# IMAGE_DATASETS) from it, which the CLI offers; the sidebar reads it for its menu and for which fields to
# show. A new dataset is one loader and one entry.
DATASETS: dict[str, DatasetSpec] = {
    **{name: DatasetSpec(_load_toy, is_points=True, generated=True) for name in _TOYS},
    "points": DatasetSpec(_load_points, is_points=True, needs_data_path=True, reads_data_path=True),
    "digits": DatasetSpec(_load_digits, is_points=False, image_size=8, labelled=True),
    "mnist": DatasetSpec(**_TORCHVISION, image_size=28, labelled=True),
    "fashion-mnist": DatasetSpec(**_TORCHVISION, image_size=28, labelled=True),
    "cifar10": DatasetSpec(**_TORCHVISION, image_size=32, labelled=True),
    "folder": DatasetSpec(
        _load_folder,
        is_points=False,
        image_size=32,
        needs_data_path=True,
        reads_data_path=True,
        labels_from_folders=True,
    ),
}
# The data with class labels, in words, for help texts and errors (class-conditional runs need them).
LABELLED_DATA = ", ".join(name for name, spec in DATASETS.items() if spec.labelled) + "".join(
    f" or a {name} with class subfolders" for name, spec in DATASETS.items() if spec.labels_from_folders
)
