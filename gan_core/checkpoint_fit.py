"""Whether a checkpoint file is the run's own: the one check Resume, Branch and the probe make before they
build G and D from it.

A checkpoint names the config it was trained with, its sample shape and its classes, and `build_models`
sizes the networks from them. Built from a checkpoint's own values, weights of another run "fit" (and a
hand-edited ``sample_shape`` of [3, 1500, 1500] allocates gigabytes before anything fails); so the run's own
config (config.json) decides instead: `check_own_checkpoint` compares the checkpoint with it, field by
field, and only then are networks built, from values known to be the run's.
"""

from __future__ import annotations

from typing import Any

from gan_core.config import GANConfig
from gan_core.quoting import quoted
from gan_core.rundir import MAX_CLASSES, RunDirError

# The config fields that decide what G and D are and what they were trained on: a checkpoint whose values
# differ is another run's (none of them may change when a run continues: `runner.resume_changes`).
FIT_FIELDS = (
    "dataset",
    "image_size",
    "channels",
    "model",
    "latent_dim",
    "width",
    "spectral_norm",
    "conditioning",
    "loss",
)
IMAGE_CHANNELS = (1, 3)  # an image run's channels when its config leaves them to the data (channels 0)


def run_sample_shape(cfg: GANConfig) -> tuple[int | None, ...]:
    """The shape of one sample of a run of ``cfg``, known without loading its data: (2,) for 2D points,
    (C, S, S) for images, S from `GANConfig.resolved_image_size` and C from ``channels`` (None when the
    config leaves it to the data: then 1 or 3)."""
    if cfg.is_points:
        return (2,)
    size = cfg.resolved_image_size
    return (cfg.channels or None, size, size)


def _shape_text(shape: tuple[int | None, ...]) -> str:
    return (
        "("
        + ", ".join(" or ".join(map(str, IMAGE_CHANNELS)) if d is None else str(d) for d in shape)
        + (",)" if len(shape) == 1 else ")")
    )


def _whole(value: Any, low: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= low


def check_own_checkpoint(cfg: GANConfig, state: dict[str, Any], source: str) -> tuple[tuple[int, ...], int]:
    """The sample shape and the number of classes to build G and D with from checkpoint ``state`` of a run
    of ``cfg`` (the run's own config.json), once it is checked to be that run's; nothing is built here.

    `RunDirError`, naming ``source``, when the checkpoint is another run's: its config differs from the
    run's in a field of `FIT_FIELDS`, its ``sample_shape`` is not the run's (`run_sample_shape`), or its
    ``n_classes`` is not the run's (0 for an unconditional run; 2 to `MAX_CLASSES` for a conditional one).
    All differences are said in one message, each as the checkpoint's value against the run's. Whether
    its step is the one its name says is `check_checkpoint_step`'s check."""
    own = state.get("config")
    if not isinstance(own, dict):
        raise RunDirError(
            f"{source}: its config is {quoted(own)}, not an object of settings; allowed: a checkpoint this "
            "run saved"
        )
    differences = [
        f"{name} {quoted(own[name])} (the run's: {quoted(getattr(cfg, name))})"
        for name in FIT_FIELDS
        if name in own and own[name] != getattr(cfg, name)  # absent: an older checkpoint, the default
    ]
    raw_shape = state.get("sample_shape")
    expected = run_sample_shape(cfg)
    if not isinstance(raw_shape, (list, tuple)) or not all(_whole(d, 1) for d in raw_shape):
        differences.append(
            f"sample shape {quoted(raw_shape)}, not a list of whole numbers ≥ 1 (the run's: "
            f"{_shape_text(expected)})"
        )
        shape: tuple[int, ...] = ()
    else:
        shape = tuple(raw_shape)
        fits = len(shape) == len(expected) and all(
            d == e or (e is None and d in IMAGE_CHANNELS) for d, e in zip(shape, expected)
        )
        if not fits:
            differences.append(f"sample shape {_shape_text(shape)} (the run's: {_shape_text(expected)})")
    n_classes = state.get("n_classes", 0)  # absent: written before conditioning, unconditional
    if cfg.is_conditional:
        allowed, classes_fit = (
            f"2 to {MAX_CLASSES:,} classes",
            _whole(n_classes, 2) and n_classes <= MAX_CLASSES,
        )
    else:
        allowed, classes_fit = "0, as it is unconditional", _whole(n_classes, 0) and n_classes == 0
    if not classes_fit:
        differences.append(f"n_classes {quoted(n_classes)} (the run's: {allowed})")
    if differences:
        raise RunDirError(
            f"{source} is not this run's: it holds {', '.join(differences)}; refused, as G and D of this run "
            "cannot be rebuilt from it (a checkpoint of another run, or one edited by hand). Allowed: a "
            "checkpoint this run saved"
        )
    return shape, n_classes


def check_checkpoint_step(state: dict[str, Any], step: int, source: str, *, resuming: bool = False) -> None:
    """`RunDirError`, naming ``source``, unless checkpoint ``state`` holds ``step``, the step its file name
    says (``resuming``: the message says what going on from it would do)."""
    found = state.get("step")
    if found != step:
        if resuming:
            # Going on from it would restart the step count there: from a lower one, the rows, snapshots and
            # checkpoints recorded after it would be cut off as a stretch the run went back on.
            low = min(found, step) if _whole(found, 0) else step
            why = f"the run would go on from the wrong step (and drop what it recorded after step {low})"
        else:
            why = "its weights would be shown as those of another step"
        raise RunDirError(
            f"{source} holds step {quoted(found)}, but its name says step {step}; refused, as {why}. "
            "Allowed: a checkpoint whose step is the one in its name; pick another"
        )
