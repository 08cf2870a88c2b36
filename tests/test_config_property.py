"""Any config dictionary either is refused up front with an error that names the offending field, or
trains: hypothesis over mixes of valid values, wrong types, out-of-range numbers, NaN and inf, None,
strings and unknown keys.

For each dictionary exactly one of these holds:

- `GANConfig.from_dict` raises `ConfigError`, whose message names the field and what is allowed;
- loading the data raises `DataError` naming the data (a missing path, a folder without images), or
  picking the device raises a ValueError naming it (cuda or mps on a machine without one);
- the config builds its data and models and trains one step on the CPU, with finite losses.

Never a crash deep inside training. Derandomized, so CI sees the same examples on every run.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from PIL import Image

from gan_core.config import CONDITIONINGS, DATASETS, LOSSES, MODELS, ConfigError, GANConfig
from gan_core.data import DATASETS as DATASET_SPECS
from gan_core.data import DataError, load_data
from gan_core.trainer import RECORD_COLUMNS, Trainer, resolve_device

FIELDS = {f.name for f in dataclasses.fields(GANConfig)}
TORCHVISION_SETS = tuple(name for name, spec in DATASET_SPECS.items() if spec.downloads)
# data_path is drawn from these markers (replaced by real paths in the test) and a few hostile values
# that name nothing on disk: a free string could be "." or "/", and the folder dataset would then read
# every image under the working folder or the whole file system.
DATA_PATHS = ("<csv>", "<images>", "<missing>", "<no-images>", "", "   ", "a\x00b", "no/such/file.csv")

# Valid values that keep one step small: a network of width <= 24 on a batch of <= 16.
VALID = {
    "dataset": st.sampled_from(DATASETS),
    "data_path": st.sampled_from(DATA_PATHS),
    "download": st.just(False),  # never a network download in a test
    "image_size": st.sampled_from((0, 28, 32, 8)),  # dcgan takes 28, 32 (and 64)
    "channels": st.sampled_from((0, 1, 3)),
    "model": st.sampled_from(MODELS),
    "latent_dim": st.integers(1, 8),
    "width": st.integers(4, 24),
    "spectral_norm": st.booleans(),
    "conditioning": st.sampled_from(CONDITIONINGS),
    "loss": st.sampled_from(LOSSES),
    "gp_weight": st.floats(0.0, 1000.0),
    "clip_value": st.floats(1e-3, 10.0),
    "label_smoothing": st.floats(0.0, 0.49),
    "instance_noise": st.floats(0.0, 10.0),
    "ms_weight": st.floats(0.0, 100.0),
    "batch_size": st.integers(1, 16),
    "lr_g": st.floats(1e-6, 1.0),
    "lr_d": st.floats(1e-6, 1.0),
    "beta1": st.floats(0.0, 0.999),
    "beta2": st.floats(0.0, 0.999),
    "d_steps": st.integers(1, 3),
    "steps": st.integers(0, 10**9),
    "sample_every": st.integers(1, 10**9),
    "eval_every": st.integers(1, 10**9),
    "checkpoint_every": st.integers(0, 10**9),
    "keep_checkpoints": st.integers(1, 100),
    "keep_snapshots": st.integers(2, 100_000),
    "seed": st.integers(0, 2**31 - 1),
    "device": st.sampled_from(("cpu", "auto", "cuda", "cuda:1", "mps")),
}
assert set(VALID) == FIELDS, "a new config field needs a strategy here"
# Always given: the sizes (the defaults train slowly) and what decides the kind of run.
ALWAYS = (
    "latent_dim",
    "width",
    "batch_size",
    "d_steps",
    "dataset",
    "data_path",
    "model",
    "loss",
    "image_size",
)

HOSTILE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**30), 10**30),
    st.integers(-3, 3000),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(("", "cpu\n", "nan", "1e-3", "0x10", "cuda:99999999999999999999", "mlp ", "Digits")),
    st.lists(st.integers(0, 9), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=1),
)
SMALL = {"width": 8, "latent_dim": 4, "batch_size": 8, "device": "cpu"}
UNKNOWN_KEYS = st.one_of(
    st.text(min_size=1, max_size=12).filter(lambda k: k not in FIELDS), st.integers(), st.none()
)


@st.composite
def config_dicts(draw) -> dict:
    """Some fields with valid small values, then up to three of them hostile, sometimes unknown keys."""
    names = draw(st.lists(st.sampled_from(sorted(FIELDS - set(ALWAYS))), unique=True, max_size=10))
    data = {name: draw(VALID[name]) for name in (*ALWAYS, *names)}
    hostile = draw(st.lists(st.sampled_from(sorted(FIELDS)), unique=True, min_size=1, max_size=3))
    for name in hostile if draw(st.booleans()) else ():  # about half the dictionaries have none
        if name == "data_path":
            data[name] = draw(st.one_of(st.sampled_from(DATA_PATHS), st.none(), st.integers(), st.booleans()))
        else:
            data[name] = draw(HOSTILE)
    unknown = draw(st.lists(UNKNOWN_KEYS, unique=True, min_size=1, max_size=2))
    for key in unknown if draw(st.sampled_from((False, False, False, True))) else ():  # about one in four
        data[key] = draw(HOSTILE)
    return data


@pytest.fixture(scope="module")
def data_paths(tmp_path_factory) -> dict[str, str]:
    """The markers' real paths: a good CSV of points, a folder of 4 images, one without, a missing one."""
    root = tmp_path_factory.mktemp("property-data")
    rng = np.random.default_rng(0)
    csv = root / "points.csv"
    np.savetxt(csv, rng.normal(size=(64, 2)), delimiter=",", header="x,y", comments="")
    images = root / "images"
    images.mkdir()
    for i in range(4):
        Image.fromarray(rng.integers(0, 256, (12, 12, 3), dtype=np.uint8)).save(images / f"{i}.png")
    no_images = root / "no-images"
    no_images.mkdir()
    (no_images / "notes.txt").write_text("no images here")
    return {
        "<csv>": str(csv),
        "<images>": str(images),
        "<missing>": str(root / "missing"),
        "<no-images>": str(no_images),
    }


@settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(raw=config_dicts())
# Every kind of outcome, whatever the draws: image runs of both models, the user's data, missing data ...
@example(raw={**SMALL, "dataset": "digits", "model": "dcgan", "image_size": 28, "loss": "wgan-gp"})
@example(raw={**SMALL, "dataset": "folder", "data_path": "<images>", "model": "dcgan", "image_size": 32})
@example(raw={**SMALL, "dataset": "folder", "data_path": "<images>", "channels": 1, "loss": "hinge"})
# class-conditional: on digits with both models (a conditional critic's penalty), on data without labels
@example(raw={**SMALL, "dataset": "digits", "model": "dcgan", "image_size": 28, "conditioning": "projection",
              "loss": "wgan-gp"})  # fmt: skip
@example(raw={**SMALL, "dataset": "digits", "conditioning": "acgan", "d_steps": 2, "instance_noise": 0.1})
@example(raw={**SMALL, "dataset": "folder", "data_path": "<images>", "conditioning": "concat"})
@example(raw={**SMALL, "dataset": "ring8", "conditioning": "acgan"})
@example(raw={**SMALL, "dataset": "points", "data_path": "<csv>", "loss": "lsgan", "instance_noise": 0.5})
@example(raw={**SMALL, "dataset": "points", "data_path": "<missing>"})
@example(raw={**SMALL, "dataset": "folder", "data_path": "<no-images>"})
@example(raw={**SMALL, "dataset": "cifar10", "data_path": "<missing>"})
@example(raw={**SMALL, "device": "cuda:1"})
# ... and what once crashed past the config's checks: a device torch refuses, a float field given an
# integer too large for a float, a NUL in a path, keys of mixed types
@example(raw={**SMALL, "device": "cpu\n"})
@example(raw={**SMALL, "lr_g": 10**400})
@example(raw={**SMALL, "dataset": "points", "data_path": "a\x00b"})
@example(raw={**SMALL, 1: 2, "unknown": 3})
def test_a_config_dict_is_refused_with_its_field_named_or_trains(raw, data_paths):
    data = {k: data_paths.get(v, v) if k == "data_path" and isinstance(v, str) else v for k, v in raw.items()}
    if data.get("dataset") in TORCHVISION_SETS and not data.get("data_path"):
        # torchvision's default root is ./data: a copy of MNIST there would make this example load it
        data["data_path"] = data_paths["<missing>"]
    try:
        cfg = GANConfig.from_dict(data)
    except ConfigError as exc:
        message = str(exc)
        assert exc.field in data or exc.field in FIELDS, (exc.field, data)
        assert str(exc.field) in message or repr(exc.field) in message
        assert "allowed" in message or "known fields" in message
        assert "\n" not in message  # one line: values are quoted with repr
        event("refused: ConfigError")
        return

    try:
        device = resolve_device(cfg.device)
        source = load_data(cfg, device)
    except DataError as exc:
        message = str(exc)
        assert cfg.dataset in message or str(Path(cfg.data_path).expanduser()) in message, message
        assert "\n" not in message
        event("refused: DataError")
        return
    except ValueError as exc:  # the device: cuda or mps where there is none
        assert f"device={cfg.device!r}" in str(exc) and "\n" not in str(exc)
        event("refused: device")
        return

    record = Trainer(cfg, source).step()
    assert tuple(record) == RECORD_COLUMNS and record["step"] == 1
    for name in ("d_loss", "g_loss", "d_grad_norm", "g_grad_norm"):
        assert math.isfinite(record[name]), (name, cfg)
    event(f"trained: {cfg.dataset} {cfg.model}")
