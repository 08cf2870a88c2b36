"""GANConfig: defaults, every validation error, unknown keys, types, the exact JSON round trip, and its
lists of names taken from the registries."""

import dataclasses

import pytest

from gan_core import data, losses, models
from gan_core.config import (
    DATASETS,
    IMAGE_DATASETS,
    LOSSES,
    MODELS,
    MUTABLE_FIELDS,
    POINT_DATASETS,
    ConfigError,
    GANConfig,
    field_docs,
    split_changes,
)


def test_defaults_are_valid_and_cover_the_issue_fields():
    cfg = GANConfig()
    names = {f.name for f in dataclasses.fields(cfg)}
    required = {
        "dataset", "data_path", "image_size", "model", "loss", "latent_dim", "width", "batch_size",
        "lr_g", "lr_d", "beta1", "beta2", "d_steps", "gp_weight", "clip_value", "label_smoothing",
        "instance_noise", "spectral_norm", "steps", "sample_every", "eval_every", "checkpoint_every",
        "seed", "device",
    }  # fmt: skip
    assert required <= names
    assert cfg.dataset == "digits" and cfg.resolved_image_size == 8


def test_every_field_is_documented():
    docs = field_docs()
    assert all(len(docs[f.name]) > 10 for f in dataclasses.fields(GANConfig))


def test_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        GANConfig().lr_g = 1.0


@pytest.mark.parametrize(
    "field,value,allowed",
    [
        ("dataset", "imagenet", "one of ring8"),
        ("model", "resnet", "mlp, dcgan"),
        ("loss", "l1", "minimax"),
        ("device", "tpu", "auto, cpu, cuda"),
        ("device", "cuda:x", "cuda:N"),
        ("image_size", 2, "[4, 128]"),
        ("image_size", 256, "[4, 128]"),
        ("channels", 2, "0 (dataset's own), 1 or 3"),
        ("latent_dim", 0, "[1, 1024]"),
        ("width", 3, "[4, 2048]"),
        ("gp_weight", -1.0, "[0.0, 1000.0]"),
        ("clip_value", 0.0, "(0.0, 10.0]"),
        ("label_smoothing", 0.5, "[0, 0.5)"),
        ("label_smoothing", -0.1, "[0, 0.5)"),
        ("instance_noise", -0.1, "[0.0, 10.0]"),
        ("batch_size", 0, "[1, 4096]"),
        ("batch_size", 5000, "[1, 4096]"),
        ("lr_g", 0.0, "(0.0, 1.0]"),
        ("lr_d", 1.5, "(0.0, 1.0]"),
        ("lr_g", float("nan"), "finite"),
        ("lr_d", float("inf"), "finite"),
        ("beta1", 1.0, "[0, 1)"),
        ("beta2", -0.1, "[0, 1)"),
        ("d_steps", 0, "[1, 100]"),
        ("d_steps", 101, "[1, 100]"),
        ("steps", -1, "[0, 1000000000]"),
        ("sample_every", 0, "[1, "),
        ("eval_every", 0, "[1, "),
        ("checkpoint_every", -1, "[0, "),
        ("keep_checkpoints", 0, "[1, 100]"),
        ("keep_snapshots", 1, "[2, 100000]"),
        ("keep_snapshots", 100_001, "[2, 100000]"),
        ("seed", -1, "[0, 2147483647]"),
    ],
)
def test_out_of_range_values_name_field_value_and_allowed(field, value, allowed):
    with pytest.raises(ConfigError) as info:
        GANConfig(**{field: value})
    err = info.value
    assert err.field == field
    assert repr(value) in str(err) or str(value) in str(err)
    assert allowed in str(err)


@pytest.mark.parametrize(
    "field,value",
    [("batch_size", 64.0), ("batch_size", "64"), ("batch_size", True), ("lr_g", "0.1"), ("spectral_norm", 1),
     ("dataset", 3), ("lr_d", None)],
)  # fmt: skip
def test_wrong_types_are_rejected(field, value):
    with pytest.raises(ConfigError, match=f"{field}=.*type"):
        GANConfig.from_dict({field: value})


def test_int_for_float_is_accepted_and_stored_as_float():
    cfg = GANConfig.from_dict({"lr_g": 1, "gp_weight": 5})
    assert isinstance(cfg.lr_g, float) and cfg.lr_g == 1.0
    assert isinstance(cfg.gp_weight, float)


FLOAT32 = "beyond float32's range (±3.4e+38), the precision training runs in; allowed"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("lr_g", 1e300, f"lr_g=1e+300 is {FLOAT32} a number in (0.0, 1.0]"),
        ("lr_d", -1e39, f"lr_d=-1e+39 is {FLOAT32} a number in (0.0, 1.0]"),
        ("gp_weight", 1e39, f"gp_weight=1e+39 is {FLOAT32} a number in [0.0, 1000.0]"),
        ("beta1", 1e300, f"beta1=1e+300 is {FLOAT32} a number in [0, 1)"),
        ("label_smoothing", 1e300, f"label_smoothing=1e+300 is {FLOAT32} a number in [0, 0.5)"),
        # an integer too large for any float (JSON holds them): finite, and said so, not "non-finite"
        ("lr_g", 10**400, f"lr_g=1{'0' * 98}… (401 digits) is {FLOAT32} a number in (0.0, 1.0]"),
        pytest.param(
            "lr_g",
            10**5000,
            f"lr_g=a whole number of more than 4,300 digits is {FLOAT32} a number in (0.0, 1.0]",
            id="lr_g-10**5000",  # (too long for pytest to print as an id)
        ),
        # just inside float32, and non-finite values: as before
        ("lr_g", 3e38, "lr_g=3e+38 is invalid: allowed a number in (0.0, 1.0]"),
        ("lr_g", float("inf"), "lr_g=inf is invalid: allowed a finite number in (0.0, 1.0]"),
        # an int field is no float: its own range only
        ("seed", 10**40, f"seed=1{'0' * 40} is invalid: allowed a number in [0, 2147483647]"),
    ],
)
def test_a_value_beyond_float32_is_said_to_be_so_with_the_range(field, value, message):
    with pytest.raises(ConfigError) as info:
        GANConfig.from_dict({field: value})
    assert str(info.value) == message and info.value.field == field


def test_long_values_are_quoted_cut_short():
    with pytest.raises(ConfigError) as info:
        GANConfig(device="cuda" * 1250)
    assert str(info.value) == (
        f"device='{('cuda' * 25)[:99]}…' (5,000 characters) is invalid: allowed auto, cpu, cuda, cuda:N or "
        "mps"
    )
    with pytest.raises(ConfigError) as info:
        GANConfig.from_dict({"x" * 5000: 1})
    assert str(info.value).startswith(f"unknown field '{'x' * 99}…' (5,000 characters): known fields: ")
    with pytest.raises(ConfigError) as info:
        GANConfig.from_json("{" + "x" * 5000)
    assert str(info.value) == (
        f"config='{{{'x' * 98}…' (5,001 characters) is invalid: allowed valid JSON (Expecting property name "
        "enclosed in double quotes at line 1, column 2)"
    )


def test_unknown_keys_rejected_with_the_known_ones():
    with pytest.raises(ConfigError, match="unknown field 'learning_rate'.*lr_g"):
        GANConfig.from_dict({"learning_rate": 0.1})


def test_cross_field_rules():
    with pytest.raises(ConfigError, match="data_path"):
        GANConfig(dataset="points")
    with pytest.raises(ConfigError, match="data_path"):
        GANConfig(dataset="folder", data_path="  ")
    with pytest.raises(ConfigError, match="model='dcgan'.*mlp for 2D"):
        GANConfig(dataset="ring8", model="dcgan")
    with pytest.raises(ConfigError, match="28, 32 or 64 for dcgan .*dataset digits is 8 px"):
        GANConfig(dataset="digits", model="dcgan")
    # the data's own size, not the value asked for, whatever image_size was given
    with pytest.raises(ConfigError, match=r"image_size=17 .*dataset digits is 8 px\)$"):
        GANConfig(dataset="digits", model="dcgan", image_size=17)
    assert GANConfig(dataset="digits", model="dcgan", image_size=32).resolved_image_size == 32
    assert GANConfig(dataset="mnist", model="dcgan").resolved_image_size == 28


@pytest.mark.parametrize("dataset", [d for d in DATASETS if not data.DATASETS[d].needs_data_path])
@pytest.mark.parametrize("loss", LOSSES)
def test_json_round_trip_is_exact(dataset, loss):
    cfg = GANConfig(dataset=dataset, loss=loss, lr_g=1e-4 / 3, beta2=0.9, seed=7, spectral_norm=True)
    again = GANConfig.from_json(cfg.to_json())
    assert again == cfg
    assert again.to_json() == cfg.to_json()


def test_from_json_errors():
    with pytest.raises(ConfigError, match="valid JSON"):
        GANConfig.from_json("{not json")
    with pytest.raises(ConfigError, match="JSON object"):
        GANConfig.from_json("[1, 2]")


def test_replace_validates_and_diff_lists_changes():
    cfg = GANConfig()
    new = cfg.replace(lr_g=1e-3, d_steps=5)
    assert new.diff(cfg) == {"lr_g": (1e-3, cfg.lr_g), "d_steps": (5, 1)}
    with pytest.raises(ConfigError, match="d_steps"):
        cfg.replace(d_steps=0)
    with pytest.raises(ConfigError, match="unknown field"):
        cfg.replace(nope=1)


def test_mutable_fields_are_config_fields():
    names = {f.name for f in dataclasses.fields(GANConfig)}
    assert set(MUTABLE_FIELDS) <= names
    assert {"lr_g", "lr_d", "d_steps", "label_smoothing", "instance_noise", "gp_weight"} <= set(
        MUTABLE_FIELDS
    )


def test_split_changes_counts_the_device_as_a_change_only_when_a_run_continues():
    run = GANConfig(device="cuda")
    hparams = {k: getattr(run, k) for k in MUTABLE_FIELDS}
    wanted = run.replace(device="cpu", lr_g=1e-3, width=32)
    assert split_changes(wanted, run, hparams) == ({"lr_g": 1e-3}, ["width", "device"])
    live, fixed = split_changes(wanted, run, hparams, continuing=True)
    assert live == {"lr_g": 1e-3, "device": "cpu"} and fixed == ["width"]


def test_the_configs_choices_are_the_registries_keys():
    assert tuple(data.DATASETS) == DATASETS
    assert tuple(name for name, spec in data.DATASETS.items() if spec.is_points) == POINT_DATASETS
    assert tuple(name for name, spec in data.DATASETS.items() if not spec.is_points) == IMAGE_DATASETS
    assert set(POINT_DATASETS) | set(IMAGE_DATASETS) == set(DATASETS)
    assert tuple(models.MODELS) == MODELS
    assert tuple(losses.LOSSES) == LOSSES
    # what --help and the CLI's choices show
    choices = {f.name: f.metadata.get("choices") for f in dataclasses.fields(GANConfig)}
    assert (choices["dataset"], choices["model"], choices["loss"]) == (DATASETS, MODELS, LOSSES)
    with pytest.raises(ConfigError, match="allowed one of " + ", ".join(LOSSES)):
        GANConfig(loss="bogus")


@pytest.mark.parametrize("dataset", DATASETS)
def test_each_dataset_says_what_it_is_and_needs(dataset):
    spec = data.DATASETS[dataset]
    path = {"data_path": "somewhere"} if spec.needs_data_path else {}
    cfg = GANConfig(dataset=dataset, **path)
    assert cfg.is_points == spec.is_points == (dataset in POINT_DATASETS)
    if spec.is_points:
        assert spec.image_size is None
    else:
        assert cfg.resolved_image_size == spec.image_size
        assert GANConfig(dataset=dataset, image_size=16, **path).resolved_image_size == 16
    if spec.needs_data_path:
        assert spec.reads_data_path
        with pytest.raises(ConfigError, match="data_path"):
            GANConfig(dataset=dataset)
    assert not (spec.downloads and spec.needs_data_path)  # a download goes to a root with a default


def test_a_dcgan_on_small_data_is_told_to_set_image_size():
    """image_size=0 (the data's own, 8 px for digits) with dcgan: the message says what to set, since
    the user never typed the 0 it refuses; a size typed is refused without that advice."""
    with pytest.raises(ConfigError) as refused:
        GANConfig(dataset="digits", model="dcgan")
    assert str(refused.value) == (
        "image_size=0 is invalid: allowed 28, 32 or 64 for dcgan (0 takes the data's own size: dataset "
        "digits is 8 px; set image_size to one of them and the images are resized)"
    )
    with pytest.raises(ConfigError) as refused:
        GANConfig(dataset="digits", model="dcgan", image_size=16)
    assert "set image_size" not in str(refused.value) and "image_size=16 is invalid" in str(refused.value)
