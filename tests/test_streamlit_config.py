"""The settings the app's .streamlit/config.toml gives Streamlit, as Streamlit reads them: no message is
ever sent as a reference to a copy the tab may have dropped (a tab died of that: "Cached ForwardMsg MISS"),
and the page keeps the light theme its charts are drawn for."""

from __future__ import annotations

from pathlib import Path

from streamlit import config
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.runtime.forward_msg_cache import populate_hash_if_needed

ROOT = Path(__file__).resolve().parents[1]
OPTION = "global.minCachedMessageSize"


def test_no_message_streamlit_can_send_is_cached_in_the_tab(monkeypatch):
    """Streamlit, reading its config where `streamlit run dashboard.py` does (the project's folder), takes
    minCachedMessageSize from the app's file, above the largest message the server sends
    (server.maxMessageSize, MB): no message is marked cacheable, so none is ever sent by reference.
    Checked through Streamlit's own marking of a large element, under the value read and under
    Streamlit's default (which caches it)."""
    monkeypatch.chdir(ROOT)
    config.get_config_options(force_reparse=True)
    assert Path(config.get_where_defined(OPTION)) == ROOT / ".streamlit" / "config.toml"
    assert config.get_option(OPTION) > config.get_option("server.maxMessageSize") * 1e6

    def cacheable() -> bool:
        msg = ForwardMsg()
        msg.delta.new_element.markdown.body = "x" * 200_000  # a 200 kB element, a chart's size
        populate_hash_if_needed(msg)
        return msg.metadata.cacheable

    assert not cacheable()
    read = config.get_option
    monkeypatch.setattr(config, "get_option", lambda name: 10e3 if name == OPTION else read(name))
    assert cacheable()  # Streamlit's default: the same element is cached, and may be sent by reference


def test_the_theme_is_light_whatever_the_system_prefers(monkeypatch):
    """Streamlit follows the system's dark mode unless a theme is set; the app's file sets the light base
    (the browser test in tests/e2e/test_narrow_browser.py opens it with a dark preference)."""
    monkeypatch.chdir(ROOT)
    config.get_config_options(force_reparse=True)
    assert Path(config.get_where_defined("theme.base")) == ROOT / ".streamlit" / "config.toml"
    assert config.get_option("theme.base") == "light"
