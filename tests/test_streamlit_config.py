"""The settings the app's .streamlit/config.toml gives Streamlit, as Streamlit reads them: no message is
ever sent as a reference to a copy the tab may have dropped (a tab died of that: "Cached ForwardMsg MISS")."""

from __future__ import annotations

from pathlib import Path

import tomllib
from streamlit import config
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.runtime.forward_msg_cache import populate_hash_if_needed

CONFIG = Path(__file__).resolve().parents[1] / ".streamlit" / "config.toml"


def test_no_message_streamlit_can_send_is_cached_in_the_tab(monkeypatch):
    """minCachedMessageSize above the largest message the server sends (server.maxMessageSize, MB): no
    message is marked cacheable, so none is ever sent by reference. Checked through Streamlit's own
    marking of a large element under the file's value, and under Streamlit's default (which caches it)."""
    settings = tomllib.loads(CONFIG.read_text())
    min_size = settings["global"]["minCachedMessageSize"]
    largest = config.get_option("server.maxMessageSize") * 1e6  # bytes
    assert min_size > largest

    read = config.get_option

    def cacheable(under: float) -> bool:
        monkeypatch.setattr(
            config, "get_option", lambda name: under if name == "global.minCachedMessageSize" else read(name)
        )
        msg = ForwardMsg()
        msg.delta.new_element.markdown.body = "x" * 200_000  # a 200 kB element, a chart's size
        populate_hash_if_needed(msg)
        return msg.metadata.cacheable

    assert not cacheable(min_size)
    assert cacheable(10e3)  # Streamlit's default: the same element is cached, and may be sent by reference
