"""`ui.common.literal`: text from run files, uploads and exceptions is shown as written, never as Markdown.

`shown` reads Markdown as CommonMark does for what `literal` writes (code spans, backslash escapes, hard
line breaks) and is the reader's view the other UI tests compare messages with. What Streamlit itself
draws is checked in a real browser by tests/e2e/test_literal_text.py.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ui.common import literal

CRAFTED = [
    "![x](http://evil.example/a.png)",
    "[link](http://evil.example)",
    "see http://evil.example/x.png now",
    "www.evil.example",
    "mail me@evil.example",
    '<img src="http://evil.example/b.png">',
    "<http://evil.example/c>",
    ":red[x] :small[y] :blue-badge[z]",
    ":material/home: :streamlit: :smile: :+1:",
    "$x$ and $$y$$",
    "`code` and ``double`` and ```",
    "back\\slash \\` \\\\ end\\",
    "*stars* _under_ ~~strike~~ **bold**",
    "# heading",
    "- item",
    "1. item",
    "> quote",
    "a | b\n--- | ---",
    "x -> y <- z <-> w -- v >= u <= t ~= s",
    "&lt;entity&gt; &amp; &#58;",
    "  leading and trailing  ",
    " ",
    "`",
    "`starts",
    "ends`",
    "line one\nline two\r\nline three\rfour",
    "blank\n\nline",
    "error: lr_g='fast' is invalid",
    "résumé ünïcode ✓",
]
# Text patterns Streamlit turns into elements after parsing (GFM's bare URLs and e-mail addresses, emoji
# and icon shortcodes, its typographic arrows), and what it rewrites before (":material/").
STREAMLIT_TEXT_PATTERNS = re.compile(
    r"https?://|www\.|@|:[\w+-]+:|:material/|(^|\s)(<->|->|<-|--|>=|<=|~=)(\s|$)", re.IGNORECASE
)
PLAIN = re.compile(r"[A-Za-z0-9]+(?:[ _-][A-Za-z0-9]+)*")  # words: already literal Markdown
# What may stand outside code spans: ASCII letters, digits, punctuation that starts no construct, spaces
# (one at a time, never at a line's ends) and line breaks ("/" also as ":material/"'s escaped "/").
PLAIN_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,;()'\"=+%/?_:- \n")
# Outside code, what would still make Markdown or a Streamlit element: '-' or '_' not between letters or
# digits (dashes, emphasis), a ':' before a letter or '/' (directives such as ':red', ':material/', URLs),
# two ':' in one word (emoji shortcodes such as ':100:'), 'www.', two spaces (a browser shows one).
ACTIVE_PLAIN = re.compile(
    r"(?<![A-Za-z0-9])[-_]|[-_](?![A-Za-z0-9])|:(?=[A-Za-z/])|:[^\s:]*:|www\.|  ", re.IGNORECASE
)
# How a line may begin: in a code span, with a hard line break, or a word that starts no block (a list
# item, heading, quote, thematic break, table row, setext underline or fence starts otherwise).
LINE_START = re.compile(r"`|\\$|$|(?![0-9]+[.)](?: |\\?$))[A-Za-z0-9'\"(]")
PUNCTUATION = r"""!"#$%&'()*+,-./:;<=>?@[\]^_`{|}~"""


def _spans(markdown: str) -> list[tuple[bool, str]]:
    """``markdown`` cut into (is code span, its text as shown) pieces, as CommonMark reads code spans,
    backslash escapes and hard line breaks; any other character stands for itself."""
    pieces: list[tuple[bool, str]] = []
    text, i = [], 0
    while i < len(markdown):
        char = markdown[i]
        if char == "\\" and i + 1 < len(markdown) and markdown[i + 1] in PUNCTUATION + "\n":
            text.append(markdown[i + 1])  # an escaped character, or a hard line break
            i += 2
            continue
        if char == "`":
            fence = re.match(r"`+", markdown[i:]).group()
            close = re.compile(rf"(?<!`){fence}(?!`)")
            end = close.search(markdown, i + len(fence))
            if end is None:  # no closing fence: the backticks are literal text
                text.append(fence)
                i += len(fence)
                continue
            content = markdown[i + len(fence) : end.start()].replace("\n", " ")
            if len(content) > 1 and content[0] == content[-1] == " " and content.strip(" "):
                content = content[1:-1]
            pieces.append((False, "".join(text)))
            pieces.append((True, content))
            text = []
            i = end.end()
            continue
        text.append(char)
        i += 1
    pieces.append((False, "".join(text)))
    return pieces


def shown(markdown: str) -> str:
    """The characters a reader sees of ``markdown`` written by `literal` (with plain text around it)."""
    return "".join(text for _, text in _spans(markdown))


def outside_code(markdown: str) -> str:
    """The Markdown source outside code spans: all that Streamlit's parser and text patterns work on."""
    return "".join(text for code, text in _spans(markdown) if not code)


def in_code(markdown: str) -> list[str]:
    """The text of each code span in ``markdown``."""
    return [text for code, text in _spans(markdown) if code]


def assert_inert(markdown: str) -> None:
    """Nothing in ``markdown`` outside code spans makes Markdown or a Streamlit element, and it shows
    every space: the guarantee `literal` gives, whatever it keeps as plain text."""
    for code, text in _spans(markdown):
        if not code:
            assert set(text) <= PLAIN_CHARS, (markdown, text)
            assert not ACTIVE_PLAIN.search(text), (markdown, text)
            assert not STREAMLIT_TEXT_PATTERNS.search(text), (markdown, text)
    for line in markdown.split("\n"):
        assert LINE_START.match(line), (markdown, line)
        assert not line.startswith(" ") and not re.search(r" \\?$", line), (markdown, line)


def as_written(text: str) -> str:
    """``text`` as `literal` promises to show it: line breaks as one kind, a final one dropped, a
    bidirectional control as its escape."""
    text = re.sub("[\u200e\u200f\u202a-\u202e\u2066-\u2069]", lambda m: f"\\u{ord(m.group()):04x}", text)
    return re.sub(r"\r\n|\r", "\n", text).rstrip("\n")


@pytest.mark.parametrize(
    "control",
    [
        "\u202e",
        "\u202a",
        "\u202b",
        "\u202c",
        "\u202d",
        "\u2066",
        "\u2067",
        "\u2068",
        "\u2069",
        "\u200e",
        "\u200f",
    ],
)
def test_bidirectional_controls_are_shown_as_escapes_not_obeyed(control):
    """status.json's error "\u202eRTL" showed as "LTR"."""
    markdown = literal(f"error: {control}RTL done")
    assert shown(markdown) == f"error: \\u{ord(control):04x}RTL done"
    assert control not in markdown
    assert_inert(markdown)


@pytest.mark.parametrize("text", CRAFTED)
def test_crafted_text_is_shown_exactly_and_nothing_outside_code_is_active(text):
    markdown = literal(text)
    assert shown(markdown) == as_written(text)
    assert_inert(markdown)


def test_plain_words_stay_as_they_are_and_everything_else_is_code():
    for plain in (
        "r1",
        "bystander",
        "healthy-ring8-20250101-120000-ab12",
        "a_b",
        "two words",
        "x.y",
        "it's: bad",
    ):
        assert literal(plain) == plain
    for code in ("www.evil.example", "-lead", "trail-", "a--b", "a:b", "_x_", "->", ":smile:", "1:100:2"):
        assert literal(code) == f"` {code} `"
    assert literal("") == ""
    assert literal(ValueError("it's: bad, <b>")) == "it's: bad, ` <b> `"
    # a fence longer than any run of backticks inside; content padded so that its own spaces stay
    assert literal("a ``b`` c") == "a ``` ``b`` ``` c"
    assert literal(":material/home:") == "` :material `\\/` home: `"


def test_a_config_error_shows_its_words_plain_and_only_the_quoted_spaces_in_code():
    text = "data_path='   ' is invalid: allowed the path of a CSV file of 2D points"
    markdown = literal(text)
    assert shown(markdown) == text
    assert in_code(markdown) == ["'   '"]
    assert_inert(markdown)


def test_a_range_keeps_its_bracket_in_code_and_the_rest_plain():
    text = "lr_d=7.0 is invalid: allowed a number in (0.0, 1.0]"
    markdown = literal(text)
    assert shown(markdown) == text
    assert in_code(markdown) == ["1.0]"]
    assert markdown.startswith("lr_d=7.0 is invalid: allowed a number in (0.0, ")
    assert_inert(markdown)


@pytest.mark.parametrize(
    ("text", "codes"),
    [
        ("see http://evil.example/x.png for details", ["http://evil.example/x.png"]),
        ("mirror at www.evil.example or me@evil.example", ["www.evil.example", "me@evil.example"]),
        ("x -> y", ["->"]),
        ("a  b", ["  "]),  # two spaces: a browser shows one outside code
        ("  indented", ["  "]),
        ("1. first\n- second\n# third\n> fourth\n=== fifth", ["1.", "-", "#", ">", "==="]),
        ("at 12:30 on a:red or :100: or 1:100:2", ["a:red", ":100:", "1:100:2"]),
        ("run limit reached (2 of 2): stop one first", []),
        ("quoted '   ' and 'x'", ["'   '"]),
        ("<b>bold</b> and **bold** `tick`", ["<b>bold</b>", "**bold** `tick`"]),
    ],
)
def test_only_the_unsafe_words_go_into_code(text, codes):
    markdown = literal(text)
    assert shown(markdown) == text
    assert in_code(markdown) == codes
    assert_inert(markdown)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",))))
def test_any_text_is_shown_as_written(text):
    markdown = literal(text)
    assert shown(markdown) == as_written(text)
    assert_inert(markdown)
    if PLAIN.fullmatch(text):
        assert markdown == text


# Mostly the characters plain words are made of, with the ones that make Markdown or Streamlit elements
# among them: the cases where a word is kept plain or not, next to spaces, quotes, line starts and ends.
NEAR_PLAIN = st.text(alphabet=st.sampled_from(list("aZ09 .,;()'\"=+%/?_:-\n`*[]<>#|~$&@\\!w")), max_size=40)


@settings(max_examples=500, deadline=None)
@given(NEAR_PLAIN)
def test_text_near_plain_is_shown_as_written_and_nothing_outside_code_is_active(text):
    markdown = literal(text)
    assert shown(markdown) == as_written(text)
    assert_inert(markdown)
