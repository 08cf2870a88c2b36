"""Every knob of a GAN run in one frozen, validated dataclass.

`GANConfig` is the single source of truth for a run: the command line builds one from flags, the
dashboard from sidebar widgets, a run folder stores one as ``config.json`` and every checkpoint carries
one. A config that exists is valid: construction checks every field and raises `ConfigError` naming the
field, the bad value and what is allowed. Unknown keys are rejected by `GANConfig.from_dict`.

Fields listed in `MUTABLE_FIELDS` may change while a run trains (the runner records each change as an
event); every other field needs a new run.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gan_core.data import DATASETS as _DATASET_REGISTRY
from gan_core.data import LABELLED_DATA
from gan_core.losses import LOSSES as _LOSS_REGISTRY
from gan_core.models import CONDITIONINGS as _CONDITIONING_REGISTRY
from gan_core.models import DCGAN_SIZES  # noqa: F401  (re-exported: importable from here as before)
from gan_core.models import MODELS as _MODEL_REGISTRY
from gan_core.quoting import json_error, quoted

# The most steps a run may take, and the largest step count any field holds (steps, sample_every, ...):
# run files naming a larger step are damaged (rundir), and the tracking API takes no more either.
MAX_STEPS = 10**9

# The lists of names are the keys of the registries that define them (gan_core.data.DATASETS,
# gan_core.models.MODELS, gan_core.losses.LOSSES), so a new dataset, model or loss is one entry there and
# validation, the CLI's choices and the sidebar's menus follow. The dependency runs one way: data and
# models name GANConfig only in type hints (under TYPE_CHECKING) and losses not at all, so importing them
# here makes no cycle. The cost: importing the config imports torch, as every user of it already does.
DATASETS: tuple[str, ...] = tuple(_DATASET_REGISTRY)
POINT_DATASETS: tuple[str, ...] = tuple(name for name, spec in _DATASET_REGISTRY.items() if spec.is_points)
IMAGE_DATASETS: tuple[str, ...] = tuple(
    name for name, spec in _DATASET_REGISTRY.items() if not spec.is_points
)
MODELS: tuple[str, ...] = tuple(_MODEL_REGISTRY)
LOSSES: tuple[str, ...] = tuple(_LOSS_REGISTRY)
CONDITIONINGS: tuple[str, ...] = tuple(_CONDITIONING_REGISTRY)
_OWN_IMAGE_SIZES = ", ".join(
    f"{name} {spec.image_size}" for name, spec in _DATASET_REGISTRY.items() if spec.image_size
)

# Fields a running run accepts without restarting; everything else is fixed at start.
MUTABLE_FIELDS = (
    "lr_g",
    "lr_d",
    "beta1",
    "beta2",
    "d_steps",
    "label_smoothing",
    "instance_noise",
    "gp_weight",
    "clip_value",
    "steps",
    "sample_every",
    "eval_every",
    "checkpoint_every",
)

# Fields that say how long a run trains and what it records, not how it trains (the sidebar's "Run" group,
# with the seed; Compare's summary shows them after the settings that shape training)
RECORDING_FIELDS = (
    "steps",
    "sample_every",
    "eval_every",
    "checkpoint_every",
    "keep_checkpoints",
    "keep_snapshots",
)

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")  # what a menu offers; cuda:N is allowed too
# Fields a run may take anew when it continues (resume, rewind) but not while it trains: where a run trains
# is not part of what the run is, so a run trained on a GPU goes on on a CPU and the reverse.
CONTINUE_FIELDS = ("device",)

_DEVICE_RE = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")
# The largest float32 (torch.finfo(torch.float32).max): training runs in float32, so a float field's value
# beyond it (1e300: finite, not "non-finite") is refused as that, with the field's range.
FLOAT32_MAX = 3.4028234663852886e38
# The smallest positive normal float32 (torch.finfo(torch.float32).tiny): a float field's value between 0
# and it is 0 in float32 (1e-50) or a subnormal that has lost its precision, so the run would train with
# another value than its config records (lr_g=1e-50 trains nothing); refused with the field's range.
FLOAT32_TINY = 1.1754943508222875e-38


class ConfigError(ValueError):
    """A config value is invalid; the message names the field, the value and what is allowed."""

    def __init__(self, field_name: str, value: Any, allowed: str, message: str | None = None):
        self.field = field_name
        self.value = value
        self.allowed = allowed
        super().__init__(message or f"{field_name}={quoted(value)} is invalid: allowed {allowed}")


class ConfigChangeError(ConfigError):
    """A field that a continued run (a resume, a rewind, a branch) cannot change was given another value:
    the value may be valid, the change is not (``allowed``: the value the run was trained with)."""


@dataclass(frozen=True)
class NumberRange:
    """The values a number field allows: from ``lo`` to ``hi``, an end included unless it is open.

    Said as `GANConfig`'s errors say it (``str``: ``(0.0, 1.0]``, ``[0, 1)``; ``allowed``: "a number in
    (0.0, 1.0]"), and the check that refuses a value outside it (`GANConfig._validate`) reads this same
    object, so what a help text says and what the config takes cannot drift apart. A float field's value
    must also stay in it as float32, the precision training runs in: a nonzero value below float32's
    smallest normal number (`FLOAT32_TINY`), or one that rounds to an open end, is refused with a message
    of its own.
    """

    lo: int | float
    hi: int | float
    lo_open: bool = False
    hi_open: bool = False

    def __str__(self) -> str:
        return f"{'(' if self.lo_open else '['}{self.lo}, {self.hi}{')' if self.hi_open else ']'}"

    @property
    def allowed(self) -> str:
        """What the config allows, as its errors end: ``a number in (0.0, 1.0]``."""
        return f"a number in {self}"

    def __contains__(self, value: Any) -> bool:
        """True for a number within the range (its ends as open or closed); False for NaN."""
        above = value > self.lo if self.lo_open else value >= self.lo
        below = value < self.hi if self.hi_open else value <= self.hi
        return bool(above and below)


# Ranges more than one field shares.
_LR_RANGE = NumberRange(0.0, 1.0, lo_open=True)
_BETA_RANGE = NumberRange(0, 1, hi_open=True)
_STEP_COUNT = NumberRange(0, MAX_STEPS)  # a step count where 0 means "none" (steps, checkpoint_every)
_STEP_EVERY = NumberRange(1, MAX_STEPS)
# image_size's range when it is not 0 (the dataset's own): checked only then, so not a field's ``range``.
IMAGE_SIZE_RANGE = NumberRange(4, 128)


def _doc(text: str, allowed: NumberRange | None = None, **extra: Any) -> dict[str, Any]:
    """A field's metadata: its ``doc``; with ``allowed``, the number range `GANConfig` checks it against
    (``range``), said at the end of the doc, so that every help (CLI, sidebar, Runs page) states it."""
    if allowed is None:
        return {"doc": text, **extra}
    return {"doc": f"{text}; allowed {allowed.allowed}", "range": allowed, **extra}


def _either(options) -> str:
    """``a, b or c`` for a help text or an error."""
    *rest, last = (str(option) for option in options)
    return f"{', '.join(rest)} or {last}" if rest else last


@dataclass(frozen=True)
class GANConfig:
    """All hyperparameters of one GAN run. See each field's ``doc`` metadata (shown by ``--help``)."""

    # --- Data ---
    dataset: str = field(
        default="digits",
        metadata=_doc("data by name: " + ", ".join(DATASETS), choices=DATASETS, group="Data"),
    )
    data_path: str = field(
        default="",
        metadata=_doc(
            "points: CSV file of 2D points; folder: folder of images; mnist/fashion-mnist/cifar10: "
            "torchvision root folder, empty for ./data",
            group="Data",
        ),
    )
    download: bool = field(
        default=False,
        metadata=_doc("let torchvision download mnist/fashion-mnist/cifar10 if missing", group="Data"),
    )
    image_size: int = field(
        default=0,
        metadata=_doc(
            f"image side in pixels: 0 = the dataset's own ({_OWN_IMAGE_SIZES}), otherwise "
            f"{IMAGE_SIZE_RANGE.allowed}; dcgan needs {_either(DCGAN_SIZES)}",
            group="Data",
        ),
    )
    channels: int = field(
        default=0,
        metadata=_doc("image channels: 0 = the dataset's own, 1 = grayscale, 3 = RGB", group="Data"),
    )
    # --- Model ---
    model: str = field(
        default="mlp",
        metadata=_doc(f"network family: {_either(MODELS)}", choices=MODELS, group="Model"),
    )
    latent_dim: int = field(
        default=32, metadata=_doc("size of the noise vector z", NumberRange(1, 1024), group="Model")
    )
    width: int = field(
        default=128,
        metadata=_doc("hidden units (mlp) or base channels (dcgan)", NumberRange(4, 2048), group="Model"),
    )
    # On by default: without it the MLP D soon wins outright on the 8x8 digits and G collapses onto
    # one digit (measured: 1 of 10 classes after 3000 steps; with it 7-9 of 10 over three seeds).
    spectral_norm: bool = field(
        default=True, metadata=_doc("spectral normalisation on D's layers", group="Model")
    )
    # Fixed for the run: it decides which networks are built. The number of classes comes from the data
    # and travels in every checkpoint (``n_classes``), so a checkpoint rebuilds the same networks.
    conditioning: str = field(
        default="none",
        metadata=_doc(
            "class-conditional G and D, for data with class labels ("
            + LABELLED_DATA
            + "): "
            + "; ".join(
                f"{name} ({spec.source}): {spec.doc}" if spec.source else name
                for name, spec in _CONDITIONING_REGISTRY.items()
            )
            + ". acgan keeps a held-out fifth of the data out of training, to score D's class head on",
            choices=CONDITIONINGS,
            group="Model",
        ),
    )
    # --- Loss ---
    loss: str = field(
        default="nonsaturating",
        metadata=_doc("GAN objective: " + ", ".join(LOSSES), choices=LOSSES, group="Loss"),
    )
    gp_weight: float = field(
        default=10.0,
        metadata=_doc("gradient-penalty weight for wgan-gp", NumberRange(0.0, 1000.0), group="Loss"),
    )
    clip_value: float = field(
        default=0.01,
        metadata=_doc("weight clipping bound for wgan", NumberRange(0.0, 10.0, lo_open=True), group="Loss"),
    )
    label_smoothing: float = field(
        default=0.0,
        metadata=_doc(
            "one-sided label smoothing: D's real target is 1 - value (minimax, nonsaturating and lsgan only)",
            NumberRange(0, 0.5, hi_open=True),
            group="Loss",
        ),
    )
    instance_noise: float = field(
        default=0.0,
        metadata=_doc(
            "std of Gaussian noise added to D's inputs, real and fake", NumberRange(0.0, 10.0), group="Loss"
        ),
    )
    # Fixed for the run. MSGAN's mode-seeking term: G's loss adds ms_weight / (mean |G(z1, y) - G(z2, y)|
    # / mean |z1 - z2|), over half a batch of noise pairs asked for the same classes (one more G forward
    # pass a step), which a G drawing one image per class pays for.
    ms_weight: float = field(
        default=0.0,
        metadata=_doc(
            "mode-seeking term's weight (MSGAN, Mao et al. 2019): G is pushed to draw different samples for "
            "different noise, of the same class in a conditional run; 0 = off",
            NumberRange(0.0, 100.0),
            group="Loss",
        ),
    )
    # --- Optimizer ---
    batch_size: int = field(
        default=64, metadata=_doc("samples per batch", NumberRange(1, 4096), group="Optimizer")
    )
    lr_g: float = field(
        default=2e-4, metadata=_doc("generator Adam learning rate", _LR_RANGE, group="Optimizer")
    )
    lr_d: float = field(
        default=2e-4, metadata=_doc("discriminator Adam learning rate", _LR_RANGE, group="Optimizer")
    )
    beta1: float = field(default=0.5, metadata=_doc("Adam beta1", _BETA_RANGE, group="Optimizer"))
    beta2: float = field(default=0.999, metadata=_doc("Adam beta2", _BETA_RANGE, group="Optimizer"))
    d_steps: int = field(
        default=1, metadata=_doc("D updates per G update", NumberRange(1, 100), group="Optimizer")
    )
    # --- Run ---
    steps: int = field(
        default=3000, metadata=_doc("G updates to train; 0 = until stopped", _STEP_COUNT, group="Run")
    )
    sample_every: int = field(
        default=100, metadata=_doc("fixed-noise snapshot every N steps", _STEP_EVERY, group="Run")
    )
    eval_every: int = field(
        default=500, metadata=_doc("quality metrics every N steps", _STEP_EVERY, group="Run")
    )
    checkpoint_every: int = field(
        default=1000,
        metadata=_doc(
            "checkpoint every N steps, and at a pause; 0 = only when the run ends or pauses",
            _STEP_COUNT,
            group="Run",
        ),
    )
    keep_checkpoints: int = field(
        default=3, metadata=_doc("rolling checkpoints kept per run", NumberRange(1, 100), group="Run")
    )
    # Bounds a run's disk use whatever its length (a 32 px RGB grid is ~150 KB, a 2D view ~25 KB).
    keep_snapshots: int = field(
        default=200,
        metadata=_doc(
            "sample snapshots kept on disk per run; beyond that older ones are thinned, keeping the first, "
            "the newest and a spread over the whole run",
            NumberRange(2, 100_000),
            group="Run",
        ),
    )
    seed: int = field(default=0, metadata=_doc("random seed", NumberRange(0, 2**31 - 1), group="Run"))
    device: str = field(
        default="auto",
        metadata=_doc("auto (cuda, then mps, then cpu), cpu, cuda, cuda:N or mps", group="Run"),
    )

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = _checked(f, getattr(self, f.name))
            # ints are accepted for float fields (JSON "lr_g": 1) but stored as float, so that a JSON
            # round trip gives back an equal config.
            object.__setattr__(self, f.name, value)
        self._validate()

    # ------------------------------------------------------------------ validation
    def _validate(self) -> None:
        def choice(name: str, options: tuple[str, ...]) -> None:
            if getattr(self, name) not in options:
                raise ConfigError(name, getattr(self, name), "one of " + ", ".join(options))

        def refused(name: str, allowed: str) -> ConfigError:
            """The error for ``name``'s value outside ``allowed``: for a float field, a finite value too
            large for float32 (or an integer too large for any float) is said to be that."""
            v = getattr(self, name)
            number = isinstance(v, int | float) and not isinstance(v, bool) and v == v  # (NaN: v != v)
            if name in _FLOAT_FIELDS and number and FLOAT32_MAX < abs(v) < math.inf:
                return ConfigError(
                    name,
                    v,
                    allowed,
                    f"{name}={quoted(v)} is beyond float32's range (±{FLOAT32_MAX:.2g}), the precision "
                    f"training runs in; allowed {allowed}",
                )
            return ConfigError(name, v, allowed)

        def in_range(name: str, allowed: NumberRange, zero: str = "") -> None:
            """``zero``: what 0 means for a field that also takes 0 outside ``allowed`` (said with it)."""
            v = getattr(self, name)
            also = f"0 ({zero}) or " if zero else ""
            if isinstance(v, float) and not math.isfinite(v):
                raise ConfigError(name, v, f"{also}a finite number in {allowed}")
            if v not in allowed:
                raise refused(name, also + allowed.allowed)
            if name in _FLOAT_FIELDS:
                held_in_float32(name, allowed)

        def held_in_float32(name: str, allowed: NumberRange) -> None:
            """A float field's value already in its range must stay in it as the float32 training runs
            in: not 0 there when it is not 0 (1e-50), nor ``hi`` when that is excluded (beta2=0.99999999
            is 1 in float32). Every float field's range starts at 0."""
            v = getattr(self, name)
            lo, hi, lo_open, hi_open = allowed.lo, allowed.hi, allowed.lo_open, allowed.hi_open
            close = ")" if hi_open else "]"
            if v != 0 and abs(v) < FLOAT32_TINY:
                said = f"{'' if lo_open else '0 or '}a number in [{FLOAT32_TINY:.3g}, {hi}{close}"
                raise ConfigError(
                    name,
                    v,
                    said,
                    f"{name}={quoted(v)} is below float32's smallest normal number ({FLOAT32_TINY:.3g}), "
                    f"the precision training runs in (it would train as 0 or imprecisely); allowed {said}",
                )
            if hi_open and float(np.float32(v)) >= hi:
                below = np.nextafter(np.float32(hi), np.float32(lo))  # the largest float32 under hi
                said = f"a number in [{lo}, {np.format_float_positional(below)}]"
                message = f"{name}={quoted(v)} is {hi} in float32, the precision training runs in"
                raise ConfigError(name, v, said, f"{message}; allowed {said}")

        choice("dataset", DATASETS)
        choice("model", MODELS)
        choice("loss", LOSSES)
        choice("conditioning", CONDITIONINGS)
        # fullmatch: ``$`` would also accept a trailing newline ("cpu\n"), which torch then refuses
        if not _DEVICE_RE.fullmatch(self.device):
            raise ConfigError("device", self.device, "auto, cpu, cuda, cuda:N or mps")
        if self.image_size != 0:
            in_range("image_size", IMAGE_SIZE_RANGE, zero="the dataset's own")
        if self.channels not in (0, 1, 3):
            raise ConfigError("channels", self.channels, "0 (dataset's own), 1 or 3")
        for name, allowed in NUMBER_RANGES.items():  # (in field order: the first bad field is said)
            in_range(name, allowed)
        if _DATASET_REGISTRY[self.dataset].needs_data_path and not self.data_path.strip():
            spec = _DATASET_REGISTRY[self.dataset]
            what = "a CSV file of 2D points" if spec.is_points else "a folder of images"
            raise ConfigError("data_path", self.data_path, f"the path of {what}")
        if "\x00" in self.data_path:  # no file system takes it; os calls would fail later, less clearly
            raise ConfigError("data_path", self.data_path, "a path without NUL characters")
        dataset = _DATASET_REGISTRY[self.dataset]
        if self.is_conditional and not (dataset.labelled or dataset.labels_from_folders):
            raise ConfigError(
                "conditioning",
                self.conditioning,
                f"none for dataset {self.dataset}",
                f"conditioning={self.conditioning!r} needs data with class labels, and dataset "
                f"{self.dataset} has none: allowed conditioning='none' for it, or labelled data "
                f"({LABELLED_DATA})",
            )
        model = _MODEL_REGISTRY[self.model]
        if self.is_points and not model.takes_points:
            for_points = _either([name for name, spec in _MODEL_REGISTRY.items() if spec.takes_points])
            raise ConfigError(
                "model", self.model, f"{for_points} for 2D point data ({self.model} is for images)"
            )
        if model.image_sizes is not None and self.resolved_image_size not in model.image_sizes:
            native = _DATASET_REGISTRY[self.dataset].image_size  # what image_size=0 means for it
            own = f"dataset {self.dataset} is {native} px" if native else f"dataset {self.dataset}'s size"
            resize = "" if self.image_size else "; set image_size to one of them and the images are resized"
            raise ConfigError(
                "image_size",
                self.image_size,
                f"{_either(model.image_sizes)} for {self.model} (0 takes the data's own size: {own}{resize})",
            )

    # ------------------------------------------------------------------ derived
    @property
    def is_points(self) -> bool:
        """True for 2D point data, False for images."""
        return self.dataset in POINT_DATASETS

    @property
    def is_conditional(self) -> bool:
        """True when G and D are class-conditional (``conditioning`` other than none)."""
        return _CONDITIONING_REGISTRY[self.conditioning].conditional

    @property
    def resolved_image_size(self) -> int:
        """The image side actually used (image_size, or the dataset's own when 0)."""
        # 32 for 2D points, which have no images: the value is never used for them
        return self.image_size or _DATASET_REGISTRY[self.dataset].image_size or 32

    # ------------------------------------------------------------------ (de)serialisation
    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GANConfig:
        """Build a config from a mapping; unknown keys and wrong types raise `ConfigError`."""
        if not isinstance(data, dict):
            raise ConfigError("config", type(data).__name__, "a JSON object of field: value")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known, key=repr)  # repr: keys that are not strings sort too
        if unknown:
            allowed = "known fields: " + ", ".join(sorted(known))
            raise ConfigError(
                unknown[0], data[unknown[0]], allowed, f"unknown field {quoted(unknown[0])}: {allowed}"
            )
        return cls(**data)

    @classmethod
    def from_json(cls, text: str) -> GANConfig:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError("config", text, f"valid JSON ({json_error(exc)})") from None
        return cls.from_dict(data)

    def replace(self, **changes: Any) -> GANConfig:
        """A validated copy with ``changes`` applied (unknown names raise `ConfigError`)."""
        return GANConfig.from_dict({**self.to_dict(), **changes})

    def diff(self, other: GANConfig) -> dict[str, tuple[Any, Any]]:
        """Fields whose values differ: name -> (self's, other's)."""
        a, b = self.to_dict(), other.to_dict()
        return {k: (a[k], b[k]) for k in a if a[k] != b[k]}


def split_changes(
    wanted: GANConfig, running: GANConfig, hparams: dict[str, Any], *, continuing: bool = False
) -> tuple[dict[str, Any], list[str]]:
    """What it takes to get from a run to ``wanted``: (mid-run changes the run can apply now, given its
    ``hparams`` in force; names of other changed fields, which need a new run). ``continuing``: the run
    has ended and would continue from its checkpoint, which may also change `CONTINUE_FIELDS` (where it
    trains): those count as changes, not as another configuration."""
    changeable = MUTABLE_FIELDS + (CONTINUE_FIELDS if continuing else ())
    live = {k: getattr(wanted, k) for k in MUTABLE_FIELDS if getattr(wanted, k) != hparams.get(k)}
    fixed = []
    for k in wanted.diff(running):
        if k not in changeable:
            fixed.append(k)
        elif k not in MUTABLE_FIELDS:
            live[k] = getattr(wanted, k)
    return live, fixed


def field_docs() -> dict[str, str]:
    """Field name -> one-line documentation."""
    return {f.name: f.metadata.get("doc", "") for f in dataclasses.fields(GANConfig)}


# Field -> the range `GANConfig` checks it against (each field's ``range`` metadata, said in its doc): what
# a help or a message about a number field states as allowed reads it from here.
NUMBER_RANGES: dict[str, NumberRange] = {
    f.name: f.metadata["range"] for f in dataclasses.fields(GANConfig) if "range" in f.metadata
}

_TYPES = {"str": str, "int": int, "float": float, "bool": bool}
_FLOAT_FIELDS = frozenset(f.name for f in dataclasses.fields(GANConfig) if f.type in (float, "float"))


def _checked(f: dataclasses.Field, value: Any) -> Any:
    expected = f.type if isinstance(f.type, type) else _TYPES[f.type]
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        try:
            return float(value)
        except OverflowError:  # a JSON integer of hundreds of digits: refused by its range check, as
            return value  # too large for float32 (every float field has one, in `GANConfig._validate`)
    if isinstance(value, expected) and not (expected is int and isinstance(value, bool)):
        return value
    raise ConfigError(f.name, value, f"a value of type {expected.__name__}")
