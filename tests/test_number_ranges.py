"""What the dashboard says a number field allows is what GANConfig takes: the range in each field's doc
(the CLI's --help, the Runs page's branch form), in the sidebar's help and in the message for a number the
browser would not send. Every stated range is read back from the text the user sees and tried against
GANConfig at its ends: the value at or just inside each end is taken, the value at or just outside it is
refused, with the same range in the refusal.

The sidebar's field widened its usual range (lr 1e-06 to 1) to a value set on the command line and said
"Allowed: 1e-06 to 1" while the config took 1e-07; the Runs page's branch form refused it outright.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest

# Imported now, in the main thread (see tests/test_train_controls.py: CPython gh-106905).
import torch._dynamo  # noqa: F401
from streamlit.testing.v1 import AppTest

from gan_core.config import FLOAT32_TINY, NUMBER_RANGES, ConfigError, GANConfig, NumberRange, field_docs
from tests.test_literal import shown
from tests.test_train_controls import stopped_run
from ui.common import registry
from ui.sidebar import NUMBER_SPECS, REFUSED_KEY

APP_DIR = Path(__file__).resolve().parents[1]
TIMEOUT = 60
STATED = re.compile(r"allowed:? a number in ([\[(])(-?[\d.e+-]+), (-?[\d.e+-]+)([\])])", re.IGNORECASE)


def stated_range(text: str) -> NumberRange:
    """The one range ``text`` states ("allowed a number in (0.0, 1.0]"), as numbers."""
    (found,) = STATED.findall(text)
    lo_bracket, lo, hi, hi_bracket = found
    number = int if re.fullmatch(r"-?\d+", lo) and re.fullmatch(r"-?\d+", hi) else float
    return NumberRange(number(lo), number(hi), lo_open=lo_bracket == "(", hi_open=hi_bracket == ")")


def is_integer(name: str) -> bool:
    return type(getattr(GANConfig(), name)) is int


def refusal(name: str, value) -> ConfigError | None:
    """GANConfig's refusal of ``name=value``, or None when it takes it."""
    try:
        GANConfig(**{name: value})
    except ConfigError as exc:
        assert exc.field == name, exc
        return exc
    return None


def ends(name: str, stated: NumberRange) -> list[tuple[str, int | float, bool]]:
    """(which, value, allowed?) at each end of ``stated`` for field ``name``: an included end itself and
    the nearest value beyond it (the next float64, or the next whole number); an excluded end itself and
    the nearest value inside it that training's float32 holds (the smallest normal float32 above an open
    0; the float32 just under an open 1)."""
    if is_integer(name):
        lo, hi = int(stated.lo), int(stated.hi)
        assert not (stated.lo_open or stated.hi_open)  # (a whole-number range is said with its ends)
        return [("lo", lo, True), ("below lo", lo - 1, False), ("hi", hi, True), ("above hi", hi + 1, False)]
    lo, hi = float(stated.lo), float(stated.hi)
    points = []
    if stated.lo_open:
        inside = FLOAT32_TINY if lo == 0 else float(np.nextafter(np.float32(lo), np.float32(math.inf)))
        points += [("lo", lo, False), ("just above lo", inside, True)]
    else:
        points += [("lo", lo, True), ("just below lo", float(np.nextafter(lo, -math.inf)), False)]
    if stated.hi_open:
        inside = float(np.nextafter(np.float32(hi), np.float32(-math.inf)))
        points += [("hi", hi, False), ("just below hi", inside, True)]
    else:
        points += [("hi", hi, True), ("just above hi", float(np.nextafter(hi, math.inf)), False)]
    return points


def assert_config_takes(name: str, stated: NumberRange) -> None:
    """GANConfig takes ``name``'s values at or just inside each end of ``stated`` and refuses those at or
    just beyond it; a refusal beyond an end states the same range."""
    for which, value, allowed in ends(name, stated):
        exc = refusal(name, value)
        assert (exc is None) is allowed, (name, which, value, exc)
        if exc is not None and which in ("below lo", "above hi", "just below lo", "just above hi"):
            assert stated_range(str(exc)) == stated, (name, which, str(exc))


def test_every_number_field_of_the_form_has_the_range_the_config_checks():
    assert set(NUMBER_SPECS) == set(NUMBER_RANGES)
    # every one of them is checked: its value beyond the range is refused
    for name, allowed in NUMBER_RANGES.items():
        beyond = allowed.hi + (1 if is_integer(name) else 1.0)
        assert refusal(name, beyond) is not None, name


@pytest.mark.parametrize("name", sorted(NUMBER_SPECS))
def test_the_range_in_a_fields_doc_is_what_the_config_takes(name):
    """The doc ends with the range (the CLI's --help and the Runs page show the doc as it is)."""
    doc = field_docs()[name]
    assert doc.endswith(f"; allowed {NUMBER_RANGES[name].allowed}")
    assert_config_takes(name, stated_range(doc))


@pytest.mark.parametrize(
    ("name", "inside", "outside"),
    [
        ("lr_g", 1e-7, 0.0),  # said "Allowed: 1e-06 to 1"
        ("lr_d", 1.0, 1.0000001),
        ("beta1", 0.995, 1.0),  # said 0 to 0.99
        ("beta2", 0.99995, 1.0),  # said 0 to 0.9999
        ("clip_value", 0.0005, 0.0),  # said 0.001 to 10
        ("label_smoothing", 0.49, 0.5),  # its doc said 0..0.5: 0.5 itself is refused
        ("seed", 2**31 - 1, 2**31),  # said 0 to 2.14748e+09
    ],
)
def test_values_the_old_texts_got_wrong(name, inside, outside):
    stated = stated_range(field_docs()[name])
    assert inside in stated and refusal(name, inside) is None
    assert outside not in stated and refusal(name, outside) is not None


def test_a_range_says_its_open_and_closed_ends_as_the_configs_errors_do():
    assert (
        str(NUMBER_RANGES["lr_g"]) == "(0.0, 1.0]"
        and NUMBER_RANGES["lr_g"].allowed == "a number in (0.0, 1.0]"
    )
    assert str(NUMBER_RANGES["beta2"]) == "[0, 1)" and str(NUMBER_RANGES["seed"]) == "[0, 2147483647]"
    assert str(refusal("lr_g", 0.0)) == "lr_g=0.0 is invalid: allowed a number in (0.0, 1.0]"
    assert str(refusal("beta1", 1.0)) == "beta1=1.0 is invalid: allowed a number in [0, 1)"
    assert str(refusal("beta1", math.nan)) == "beta1=nan is invalid: allowed a finite number in [0, 1)"
    assert 1.0 in NUMBER_RANGES["lr_g"] and 0.0 not in NUMBER_RANGES["lr_g"]
    assert 0.0 in NUMBER_RANGES["beta1"] and 1.0 not in NUMBER_RANGES["beta1"]
    assert math.nan not in NUMBER_RANGES["gp_weight"]


# ---------------------------------------------------------------------------------- what the app says
def app(**form) -> AppTest:
    at = AppTest.from_file(str(APP_DIR / "dashboard.py"), default_timeout=TIMEOUT)
    for name, value in form.items():
        at.session_state[f"cfg_{name}"] = value
    return at


def sidebar_helps(at: AppTest) -> dict[str, str]:
    """Label -> help of the sidebar's number inputs and sliders drawn."""
    widgets = [*at.sidebar.number_input, *at.sidebar.slider]
    return {w.label: w.help for w in widgets}


def test_the_sidebar_help_of_every_number_field_states_the_configs_range(runs_root):
    helps = {}
    for loss in ("nonsaturating", "wgan-gp", "wgan"):  # (gp_weight, clip_value, label_smoothing: by loss)
        at = app(loss=loss).run()
        assert not at.exception
        helps.update(sidebar_helps(at))
    assert set(NUMBER_SPECS) <= set(helps)
    # (no bounds on an input: the browser would refuse there, without a word, what the config takes)
    assert all(w.min is None and w.max is None for w in at.sidebar.number_input)
    for name in NUMBER_SPECS:
        stated = stated_range(helps[name])
        assert stated == NUMBER_RANGES[name], (name, helps[name])
        assert_config_takes(name, stated)
    # The slider offers less than the config allows (steps of 0.05 up to 0.45): said apart from "allowed".
    assert helps["label_smoothing"].endswith(
        "allowed a number in [0, 0.5). Can change while a run trains. "
        "The slider goes from 0 to 0.45 in steps of 0.05."
    )


def test_a_number_the_browser_would_not_send_is_refused_with_the_configs_range(runs_root):
    at = app().run()
    for name in NUMBER_SPECS:
        at.session_state[REFUSED_KEY] = {"refused": [name]}  # as the browser's watcher reports it
        at.run()
        assert not at.exception
        (message,) = [shown(e.value) for e in at.sidebar.error]
        assert message.startswith(f"{name}: the number typed is beyond what a number field can hold")
        assert message.endswith(f" Allowed: {NUMBER_RANGES[name].allowed}."), message
        assert_config_takes(name, stated_range(message))
        assert at.button(key="btn_start").disabled


def test_a_command_line_value_outside_the_old_usual_range_is_shown_and_kept(runs_root):
    """lr_g=1e-7 and beta1=0.995 (set on the command line): in the form as they are, Start enabled."""
    at = app(lr_g=1e-7, beta1=0.995, dataset="ring8", width=16, latent_dim=4, device="cpu").run()
    assert not at.exception and not at.error
    assert at.sidebar.number_input(key="cfg_lr_g").value == pytest.approx(1e-7, rel=1e-12)
    assert at.sidebar.number_input(key="cfg_beta1").value == pytest.approx(0.995, rel=1e-12)
    assert not at.button(key="btn_start").disabled


def test_the_runs_page_branch_takes_what_the_config_takes_and_says_what_it_refuses(runs_root):
    """The branch form's inputs were bounded by the usual ranges (lr 1e-06 to 1): lr_g=1e-7 could not be
    typed. Unbounded now, its help states the config's range, a value inside it branches and one outside
    it is refused at Branch with the config's message."""
    stopped_run(runs_root, "parent")
    at = app().run()
    at.switch_page("pages/1_Runs.py").run()
    lr_g = at.number_input(key="runs_branch_lr_g")
    assert lr_g.min is None and lr_g.max is None
    assert stated_range(lr_g.help) == NUMBER_RANGES["lr_g"]
    at.number_input(key="runs_branch_lr_g").set_value(5.0).run()
    assert not at.exception
    refused = "lr_g=5.0 is invalid: allowed a number in (0.0, 1.0]"  # as typed, Branch off until corrected
    assert [shown(e.value) for e in at.error] == [refused]  # (in the popover: tests/test_newcomer_review.py)
    assert at.button(key="runs_branch").disabled
    assert [r.run_id for r in registry().active()] == []
    at.number_input(key="runs_branch_lr_g").set_value(1e-7).run()
    at.button(key="runs_branch").click().run()
    assert not at.exception and not at.error
    runner = registry().runner("parent-at10")
    assert runner.wait_until(lambda r: r.current_step > 10, TIMEOUT)
    assert runner.hparams["lr_g"] == pytest.approx(1e-7, rel=1e-12)
    runner.stop()
    assert runner.wait(TIMEOUT)
