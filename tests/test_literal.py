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


def as_written(text: str) -> str:
    """``text`` as `literal` promises to show it: line breaks as one kind, a final one dropped."""
    return re.sub(r"\r\n|\r", "\n", text).rstrip("\n")


@pytest.mark.parametrize("text", CRAFTED)
def test_crafted_text_is_shown_exactly_and_nothing_outside_code_is_active(text):
    markdown = literal(text)
    assert shown(markdown) == as_written(text)
    rest = outside_code(markdown)
    # outside code spans only the escaped "/" of ":material/" and hard line breaks ("\" + newline)
    assert set(rest) <= {"/", "\n"}, (markdown, rest)
    assert not STREAMLIT_TEXT_PATTERNS.search(rest)
    assert "](" not in rest and "<" not in rest and "$" not in rest


def test_plain_words_stay_as_they_are_and_everything_else_is_code():
    for plain in ("r1", "bystander", "healthy-ring8-20250101-120000-ab12", "a_b", "two words"):
        assert literal(plain) == plain
    for code in ("www.evil.example", "-lead", "trail-", "a--b", "a  b", "x.y", "a:b", ""):
        assert literal(code) != code or code == ""
    assert literal("") == ""
    assert literal(ValueError("it's: bad")) == "` it's: bad `"
    # a fence longer than any run of backticks inside; content padded so that its own spaces stay
    assert literal("a ``b`` c") == "``` a ``b`` c ```"
    assert literal(":material/home:") == "` :material `\\/` home: `"


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",))))
def test_any_text_is_shown_as_written(text):
    markdown = literal(text)
    assert shown(markdown) == as_written(text)
    rest = outside_code(markdown)
    assert rest == markdown if PLAIN.fullmatch(text) else set(rest) <= {"/", "\n"}
    assert not STREAMLIT_TEXT_PATTERNS.search(rest)
