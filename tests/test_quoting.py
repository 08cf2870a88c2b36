"""How much foreign text a message quotes (`gan_core.quoting`): short text whole, long text cut at the
limit with an ellipsis and its whole length, a number too long for Python to print by its digits."""

from __future__ import annotations

import pytest

from gan_core.quoting import PATH_LIMIT, QUOTE_LIMIT, clipped, quoted


def test_short_text_is_quoted_whole_as_repr_quotes_it():
    for text in ("", "d_loss", "a'b", "tab\there", "x" * QUOTE_LIMIT):
        assert quoted(text) == repr(text)
        assert clipped(text) == text
    assert quoted("cpu\n") == "'cpu\\n'"  # a control character shows as its escape, never as itself


def test_long_text_is_cut_at_the_limit_with_an_ellipsis_and_its_length():
    text = "x" * 5000
    assert quoted(text) == f"'{'x' * (QUOTE_LIMIT - 1)}…' (5,000 characters)"
    assert clipped(text) == f"{'x' * (QUOTE_LIMIT - 1)}… (5,000 characters)"
    assert quoted("y" * (QUOTE_LIMIT + 1), 10) == f"'{'y' * 9}…' ({QUOTE_LIMIT + 1:,} characters)"
    # the kept part is ``limit`` characters of the text, whatever it holds
    assert quoted("é" * 300, 20) == f"'{'é' * 19}…' (300 characters)"
    # ... as shown: escapes count as the characters they take (a binary header printed 500 of them)
    garbage = "\x0c\x03é" * 100
    said = quoted(garbage)
    assert len(said) - len(" (300 characters)") - 2 <= QUOTE_LIMIT and said.endswith("…' (300 characters)")
    assert said.startswith("'\\x0c\\x03é\\x0c") and len(said) >= QUOTE_LIMIT - 10 + len(" (300 characters)")
    assert quoted("\x00" * 30) == "'" + "\\x00" * 24 + "…' (30 characters)"  # short, but 120 shown
    path = "/data/" + "deep/" * 100
    assert quoted(path, PATH_LIMIT) == f"'{path[: PATH_LIMIT - 1]}…' ({len(path):,} characters)"


def test_numbers_are_quoted_as_python_writes_them_and_long_ones_by_their_digits():
    assert quoted(1e300) == "1e+300"
    assert quoted(-3) == "-3"
    assert quoted(True) == "True"
    assert quoted(None) == "None"
    big = 10**400
    assert quoted(big) == f"1{'0' * (QUOTE_LIMIT - 2)}… (401 digits)"
    assert quoted(-big) == f"-1{'0' * (QUOTE_LIMIT - 2)}… (401 digits)"
    # past sys.get_int_max_str_digits() (4300) Python refuses to print it at all
    assert quoted(10**5000) == "a whole number of more than 4,300 digits"
    assert quoted(-(10**5000)) == "a negative whole number of more than 4,300 digits"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ([1] * 100, f"{repr([1] * 100)[: QUOTE_LIMIT - 1]}… (300 characters)"),
        ({"k": "v"}, "{'k': 'v'}"),
        ([10**5000], "a list too long to print"),
    ],
    ids=["long-list", "short-dict", "unprintable"],
)
def test_other_values_are_their_repr_cut_alike(value, expected):
    assert quoted(value) == expected
