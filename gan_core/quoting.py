"""Foreign text in messages: the one rule for how much of it an error or a warning quotes.

A message quotes what it refuses (a run id from a URL, a column name or header from a hand-edited
metrics.csv, a config value, a cell of an uploaded file, an exception's text that repeats a file's bytes)
so that the reader can find it. Such text can be thousands of characters long; a message quotes at most
`QUOTE_LIMIT` characters of it, then an ellipsis and how long the whole is, so that it stays one readable
line in a banner, a terminal or a log. Imports nothing of gan_core: every module may use it.
"""

from __future__ import annotations

import sys
from typing import Any

QUOTE_LIMIT = 100  # characters of a piece of foreign text a message quotes; longer text is cut
# ... of a path: its end names the file, and real ones run past 100 characters (a project's data folder
# deep in a home folder); the system allows 4096, and a message quoting that many is no longer read.
PATH_LIMIT = 300


def clipped(text: str, limit: int = QUOTE_LIMIT) -> str:
    """``text`` as a message shows it unquoted (an exception's words): whole when it has at most ``limit``
    characters, else its first ``limit - 1``, "…" and its length: ``abc… (5,000 characters)``."""
    if len(text) <= limit:
        return text
    return f"{text[: limit - 1]}… ({len(text):,} characters)"


def quoted(value: Any, limit: int = QUOTE_LIMIT) -> str:
    """``value`` as a message quotes it: ``repr`` (a text in quotes, its control characters escaped), cut
    as `clipped` cuts, at ``limit`` characters as shown between the quotes (escapes included): ``'abc…'
    (5,000 characters)``; a whole number too long for it, by its digits."""
    if isinstance(value, str):
        shown = repr(value)
        if len(shown) <= limit + 2:  # (its quotes)
            return shown
        # ``limit`` characters as shown: an escape (a control byte's \x0c, 4 of them) counts as what it
        # takes on the line, so that a header of binary garbage is no longer than one of letters
        cut = value[: limit - 1]
        while len(repr(cut)) - 2 > limit - 1:
            cut = cut[:-1]
        return f"{cut + '…'!r} ({len(value):,} characters)"
    if isinstance(value, int) and not isinstance(value, bool):
        sign = "-" if value < 0 else ""
        try:
            digits = str(abs(value))
        except ValueError:  # more than sys.get_int_max_str_digits() digits (4300): Python will not print it
            cap = getattr(sys, "get_int_max_str_digits", lambda: 4300)()
            return f"a{' negative' if sign else ''} whole number of more than {cap:,} digits"
        if len(digits) <= limit:
            return repr(value)
        return f"{sign}{digits[: limit - 1]}… ({len(digits):,} digits)"
    try:
        text = repr(value)
    except ValueError:  # a container holding an int too long to print
        return f"a {type(value).__name__} too long to print"
    return clipped(text, limit)


def json_error(exc: Any) -> str:
    """A `json.JSONDecodeError` in words for a message: what json found and where, "Expecting value at
    line 1, column 4". (Its ``msg`` alone may end in "at", as "Invalid control character at", where
    ``str(exc)`` goes on with ": line 1 column 9 (char 8)": read with "at line 1" after it, "at at".)"""
    return f"{exc.msg.removesuffix(' at')} at line {exc.lineno}, column {exc.colno}"
