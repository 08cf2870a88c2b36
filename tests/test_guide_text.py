"""The Guide page's text, as a beginner reads it: what it says each preset shows is what the preset shows
(tests/test_presets.py trains them), every term is explained where it is first used, and no internal
constant names or developer notes reach the page."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from gan_core.flags import FLAGS
from gan_core.presets import PRESETS

GUIDE = Path(__file__).resolve().parents[1] / "pages" / "3_Guide.py"


@pytest.fixture(scope="module")
def guide_text() -> str:
    """Everything the Guide shows in words (markdown, captions, headings, buttons' help), whitespace
    folded."""
    at = AppTest.from_file(str(GUIDE), default_timeout=60).run()
    assert not at.exception
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption] + [h.value for h in at.subheader]
    parts += [b.help or "" for b in at.button]
    return " ".join(" ".join(parts).split())


def paragraph(text: str, start: str) -> str:
    """The scenario paragraph of ``text`` that opens with ``start`` (up to the next bold heading)."""
    begin = text.index(start)
    end = text.find(" **", begin + len(start))
    return text[begin : end if end > 0 else None]


def test_the_guide_shows_no_internal_constant_names(guide_text):
    # BALANCE_WARMUP_STEPS and its kind: a user reads "after the first 200 steps", not a constant's name
    constants = re.findall(r"\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b", guide_text)
    assert constants == []


@pytest.mark.parametrize("note", ["40 seeds", "187 steps", "widths 64 and 128", "ganhacks"])
def test_the_guide_shows_no_developer_notes(guide_text, note):
    assert note not in guide_text


# Each term a beginner meets, and words of its explanation found within a sentence or two of its first use
TERMS = {
    "BCE": "binary cross-entropy",
    "nats": "natural logarithms",
    "critic": "Wasserstein",
    "EMA": "exponential moving average",
    "MSGAN": "noise vectors",
    "GAN hacks": "training tips",
    "PRDC": "precision, recall, density, coverage",
}


@pytest.mark.parametrize(("term", "explanation"), TERMS.items())
def test_each_term_is_explained_where_it_is_first_used(guide_text, term, explanation):
    first = re.search(rf"\b{re.escape(term)}\b", guide_text).start()
    nearby = guide_text[max(first - 60, 0) : first + 200]
    assert explanation.lower() in nearby.lower(), nearby


def test_the_police_of_the_d_leads_banner_are_introduced(guide_text):
    assert "police" in FLAGS["d_leads"].explanation
    intro = guide_text[: guide_text.index("### The charts")]
    assert "forger" in intro and "police" in intro


def test_the_losses_row_says_why_g_loss_may_be_negative(guide_text):
    (row,) = [line for line in guide_text.split("| **") if line.startswith("Losses**")]
    assert "below 0" in row and "minimax" in row and "log(1 − D(G(z)))" in row


def test_d_overpowers_says_gs_gradient_stays_high_with_the_non_saturating_loss(guide_text):
    text = paragraph(guide_text, "**D overpowers G.**")
    assert "g_grad_norm` falls" not in text and "G stops improving" not in text
    assert "non-saturating" in text and "top line" in text and "exploding_gradients" in text
    assert "minimax" in text  # the fading gradient: the saturating loss's failure, the next scenario
    watch_for = PRESETS["d-overpowers"].watch_for
    assert "D's own gradient norm may explode" not in watch_for and "exploding_gradients" in watch_for


def test_mode_collapse_says_where_its_marker_lands(guide_text):
    text = paragraph(guide_text, "**Mode collapse.**")
    assert "two evaluations" not in text or "in a row" in text
    assert "second collapsed evaluation in a row" in text and "2,500" in text and "half" in text


def test_stepping_says_a_single_steps_values_are_noisy_and_what_moves(guide_text):
    text = guide_text[guide_text.index("### Stepping through training") :]
    assert "watch D's accuracy rise" not in text
    assert "one batch" in text and "several steps in a row" in text
    assert "`d_fake` rises at every press" in text
