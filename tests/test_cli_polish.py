"""A float field too small for float32 (training's precision), or its excluded upper end there, is
refused with the range float32 holds, not trained as 0 (or as 1)."""

import pytest
import torch

from gan_core.config import FLOAT32_TINY, ConfigError, GANConfig

TINY = ["--width", "16", "--latent-dim", "4", "--batch-size", "16", "--device", "cpu", "--quiet"]


BELOW = (
    "is below float32's smallest normal number (1.18e-38), the precision training runs in (it would train "
)
BELOW += "as 0 or imprecisely); allowed"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("lr_g", 1e-50, f"lr_g=1e-50 {BELOW} a number in [1.18e-38, 1.0]"),
        ("lr_d", 1e-39, f"lr_d=1e-39 {BELOW} a number in [1.18e-38, 1.0]"),  # a float32 subnormal
        ("clip_value", 5e-324, f"clip_value=5e-324 {BELOW} a number in [1.18e-38, 10.0]"),
        ("gp_weight", 1e-50, f"gp_weight=1e-50 {BELOW} 0 or a number in [1.18e-38, 1000.0]"),
        ("instance_noise", 1e-40, f"instance_noise=1e-40 {BELOW} 0 or a number in [1.18e-38, 10.0]"),
        ("ms_weight", 1e-300, f"ms_weight=1e-300 {BELOW} 0 or a number in [1.18e-38, 100.0]"),
        ("beta1", 1e-45, f"beta1=1e-45 {BELOW} 0 or a number in [1.18e-38, 1)"),
        ("label_smoothing", 1e-39, f"label_smoothing=1e-39 {BELOW} 0 or a number in [1.18e-38, 0.5)"),
        # below the excluded upper end, but that end in float32
        (
            "beta2",
            0.99999999,
            "beta2=0.99999999 is 1 in float32, the precision training runs in; allowed a "
            "number in [0, 0.99999994]",
        ),  # fmt: skip
        (
            "label_smoothing",
            0.49999999999,
            "label_smoothing=0.49999999999 is 0.5 in float32, the precision "
            "training runs in; allowed a number in [0, 0.49999997]",
        ),  # fmt: skip
    ],
)
def test_a_float_field_float32_cannot_hold_is_refused_with_the_range(field, value, message):
    assert torch.tensor(value, dtype=torch.float32).item() != value  # (what float32 makes of it differs)
    with pytest.raises(ConfigError) as info:
        GANConfig.from_dict({field: value})
    assert str(info.value) == message and info.value.field == field


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("lr_g", FLOAT32_TINY),
        ("lr_g", 1.18e-38),  # the bound the message states
        ("lr_d", 1e-30),
        ("gp_weight", 0.0),
        ("beta1", 0.0),
        ("beta2", 0.99999994),
        ("label_smoothing", 0.49999997),
        ("clip_value", 1e-37),
    ],
)
def test_a_float_field_float32_holds_is_accepted_and_trains_as_itself(field, value):
    cfg = GANConfig.from_dict({field: value})
    as32 = torch.tensor(getattr(cfg, field), dtype=torch.float32).item()
    assert as32 == pytest.approx(value, rel=1e-7, abs=0.0) and (as32 != 0) == (value != 0)
    high = {"beta1": 1.0, "beta2": 1.0, "label_smoothing": 0.5}.get(field)
    assert high is None or as32 < high


def test_train_refuses_a_learning_rate_that_is_0_in_float32_and_makes_nothing(tmp_path, cli):
    res = cli("train", "--lr-g", "1e-50", "--out", str(tmp_path / "runs"), "--run-id", "r", *TINY)
    assert res.returncode == 2 and res.stdout == ""
    assert res.stderr == f"error: lr_g=1e-50 {BELOW} a number in [1.18e-38, 1.0]\n"
    assert not (tmp_path / "runs").exists()
